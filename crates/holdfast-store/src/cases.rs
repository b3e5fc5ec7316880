//! The case desk's rows: desk settings and calendars, recognised sources, reports with their names
//! and evidence, cases with their clocks and actions, referrals, messages and e-mail as received.
//!
//! A report is stored with all its names in one transaction, so an accepted report is never
//! half there. Names are kept as A-labels (the raw text when invalid) with their TLD when ours;
//! a case is found for a new report by the names it shares with open cases of the same registry.

use std::str::FromStr;

use holdfast_model::{
    CaseState, Channel, Clock, ClockTargets, ClockTimes, Priority, ResponsibleParty, SourceClass,
    ThreatType,
};
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::bulk::{BULK, Bind, Col};
use crate::{Result, StoreError, Tx, insert_error, micros, on, timestamp};

/// A row of `recognised_sources`: id, e-mail domain, reporter organisation, label, created.
type SourceRow = (i64, Option<String>, Option<i64>, String, i64);

/// A source a registry recognises: an e-mail domain or a reporter organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognisedSource {
    pub id: i64,
    pub email_domain: Option<String>,
    pub reporter_org_id: Option<i64>,
    pub label: String,
    pub created_at: Timestamp,
}

/// A registry's desk: clock targets and the address reports and replies come to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSettings {
    pub targets: ClockTargets,
    /// E.g. `abuse@registry.example`; replies to a case go to `abuse+case-N@registry.example`.
    pub desk_address: Option<String>,
}

/// A report as received, before it has an id.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub registry_org_id: i64,
    /// The case it joins, when known as it is stored.
    pub case_id: Option<i64>,
    pub channel: Channel,
    pub source_class: SourceClass,
    /// How the reporter's identity was established.
    pub origin: &'a str,
    pub reporter_user_id: Option<i64>,
    pub reporter_org_id: Option<i64>,
    pub reporter_name: &'a str,
    pub reporter_email: Option<&'a str>,
    pub threat_type: ThreatType,
    pub description: &'a str,
    pub requested_action: Option<&'a str>,
    pub claimed_urgency: Option<Priority>,
    pub legal_basis: Option<&'a str>,
    pub urls: &'a [String],
    pub mail_id: Option<i64>,
    pub parse_error: Option<&'a str>,
    pub received_at: Timestamp,
}

/// One name of a report: the A-label (or the raw text when invalid), the TLD when it is one of
/// the registry's, and what is wrong with it when it is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportName {
    pub name: String,
    pub tld_id: Option<i64>,
    pub problem: Option<String>,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    pub registry_org_id: i64,
    pub case_id: Option<i64>,
    pub channel: Channel,
    pub source_class: SourceClass,
    pub origin: String,
    pub reporter_user_id: Option<i64>,
    pub reporter_org_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_email: Option<String>,
    pub threat_type: ThreatType,
    pub description: String,
    pub requested_action: Option<String>,
    pub claimed_urgency: Option<Priority>,
    pub legal_basis: Option<String>,
    pub urls: Vec<String>,
    pub name_count: i64,
    pub ours_count: i64,
    pub invalid_count: i64,
    pub mail_id: Option<i64>,
    pub parse_error: Option<String>,
    pub received_at: Timestamp,
}

/// A case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: i64,
    pub org_id: i64,
    pub state: CaseState,
    pub threat_type: ThreatType,
    pub priority: Option<Priority>,
    pub priority_rationale: Option<String>,
    pub responsible_party: Option<ResponsibleParty>,
    pub course_of_action: Option<String>,
    pub no_action_reason: Option<String>,
    pub assigned_to: Option<i64>,
    pub merged_into: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

/// A clock of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseClock {
    pub case_id: i64,
    pub clock: Clock,
    pub times: ClockTimes,
    pub done_at: Option<Timestamp>,
    pub reminded_at: Option<Timestamp>,
    pub breached_at: Option<Timestamp>,
}

/// A refer action's notice to one registrar, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    pub id: i64,
    pub case_id: i64,
    pub action_id: i64,
    pub registrar_id: i64,
    pub names: Vec<String>,
    pub due: Timestamp,
    pub answer: Option<String>,
    pub answered_by: Option<i64>,
    pub answered_at: Option<Timestamp>,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the desk.
    Out,
    /// To the desk.
    In,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }
}

/// A message before it is stored.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub case_id: Option<i64>,
    pub report_id: Option<i64>,
    pub referral_id: Option<i64>,
    pub direction: Direction,
    pub event: &'a str,
    pub sender: &'a str,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub mail_id: Option<i64>,
    pub created_at: Timestamp,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub case_id: Option<i64>,
    pub report_id: Option<i64>,
    pub referral_id: Option<i64>,
    pub direction: Direction,
    pub event: String,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// An e-mail as the SMTP listener accepted it.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    pub received_at: Timestamp,
    pub mail_from: &'a str,
    pub rcpt_to: &'a [String],
    pub peer: &'a str,
    pub raw: &'a [u8],
}

/// Which cases a list shows.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub priority: Option<Priority>,
    pub threat_type: Option<ThreatType>,
    pub source_class: Option<SourceClass>,
    pub tld_id: Option<i64>,
    /// Include closed and merged cases.
    pub include_closed: bool,
}

/// A case in a queue: the case, its nearest open deadline and its breach count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedCase {
    pub case: Case,
    pub next_due: Option<Timestamp>,
    pub breaches: i64,
    pub reports: i64,
}

fn parse<T: FromStr>(what: &'static str, text: &str) -> Result<T> {
    text.parse().map_err(|_| StoreError::Corrupt {
        what,
        value: text.to_owned(),
    })
}

fn parse_opt<T: FromStr>(what: &'static str, text: Option<String>) -> Result<Option<T>> {
    text.map(|text| parse(what, &text)).transpose()
}

fn stamp_opt(what: &'static str, value: Option<i64>) -> Result<Option<Timestamp>> {
    value.map(|value| timestamp(what, value)).transpose()
}

fn json_list(what: &'static str, text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        what,
        value: text.chars().take(100).collect(),
    })
}

fn to_json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

const REPORT_COLUMNS: &str = "id, registry_org_id, case_id, channel, source_class, origin, \
     reporter_user_id, reporter_org_id, reporter_name, reporter_email, threat_type, description, \
     requested_action, claimed_urgency, legal_basis, urls, name_count, ours_count, invalid_count, \
     mail_id, parse_error, received_at";

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    registry_org_id: i64,
    case_id: Option<i64>,
    channel: String,
    source_class: String,
    origin: String,
    reporter_user_id: Option<i64>,
    reporter_org_id: Option<i64>,
    reporter_name: String,
    reporter_email: Option<String>,
    threat_type: String,
    description: String,
    requested_action: Option<String>,
    claimed_urgency: Option<String>,
    legal_basis: Option<String>,
    urls: String,
    name_count: i64,
    ours_count: i64,
    invalid_count: i64,
    mail_id: Option<i64>,
    parse_error: Option<String>,
    received_at: i64,
}

impl TryFrom<ReportRow> for Report {
    type Error = StoreError;
    fn try_from(row: ReportRow) -> Result<Report> {
        Ok(Report {
            id: row.id,
            registry_org_id: row.registry_org_id,
            case_id: row.case_id,
            channel: parse("report channel", &row.channel)?,
            source_class: parse("source class", &row.source_class)?,
            origin: row.origin,
            reporter_user_id: row.reporter_user_id,
            reporter_org_id: row.reporter_org_id,
            reporter_name: row.reporter_name,
            reporter_email: row.reporter_email,
            threat_type: parse("threat type", &row.threat_type)?,
            description: row.description,
            requested_action: row.requested_action,
            claimed_urgency: parse_opt("claimed urgency", row.claimed_urgency)?,
            legal_basis: row.legal_basis,
            urls: json_list("report URLs", &row.urls)?,
            name_count: row.name_count,
            ours_count: row.ours_count,
            invalid_count: row.invalid_count,
            mail_id: row.mail_id,
            parse_error: row.parse_error,
            received_at: timestamp("report received", row.received_at)?,
        })
    }
}

const CASE_COLUMNS: &str = "c.id, c.org_id, c.state, c.threat_type, c.priority, \
     c.priority_rationale, c.responsible_party, c.course_of_action, c.no_action_reason, \
     c.assigned_to, c.merged_into, c.created_at, c.updated_at, c.closed_at";

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    org_id: i64,
    state: String,
    threat_type: String,
    priority: Option<String>,
    priority_rationale: Option<String>,
    responsible_party: Option<String>,
    course_of_action: Option<String>,
    no_action_reason: Option<String>,
    assigned_to: Option<i64>,
    merged_into: Option<i64>,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
}

impl TryFrom<CaseRow> for Case {
    type Error = StoreError;
    fn try_from(row: CaseRow) -> Result<Case> {
        Ok(Case {
            id: row.id,
            org_id: row.org_id,
            state: parse("case state", &row.state)?,
            threat_type: parse("threat type", &row.threat_type)?,
            priority: parse_opt("priority", row.priority)?,
            priority_rationale: row.priority_rationale,
            responsible_party: parse_opt("responsible party", row.responsible_party)?,
            course_of_action: row.course_of_action,
            no_action_reason: row.no_action_reason,
            assigned_to: row.assigned_to,
            merged_into: row.merged_into,
            created_at: timestamp("case created", row.created_at)?,
            updated_at: timestamp("case updated", row.updated_at)?,
            closed_at: stamp_opt("case closed", row.closed_at)?,
        })
    }
}

type ClockRow = (
    i64,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn clock_row(row: ClockRow) -> Result<CaseClock> {
    let (case_id, clock, started, due, remind, done, reminded, breached) = row;
    Ok(CaseClock {
        case_id,
        clock: parse("clock", &clock)?,
        times: ClockTimes {
            start: timestamp("clock start", started)?,
            due: timestamp("clock due", due)?,
            remind_at: timestamp("clock reminder", remind)?,
        },
        done_at: stamp_opt("clock done", done)?,
        reminded_at: stamp_opt("clock reminded", reminded)?,
        breached_at: stamp_opt("clock breached", breached)?,
    })
}

const CLOCK_COLUMNS: &str =
    "case_id, clock, started_at, due, remind_at, done_at, reminded_at, breached_at";

type MessageRow = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<String>,
);

const MESSAGE_COLUMNS: &str = "id, case_id, report_id, referral_id, direction, event, sender, \
     recipient, subject, body, created_at, sent_at, attempts, last_error";

fn message_row(row: MessageRow) -> Result<Message> {
    let (id, case_id, report_id, referral_id, direction, event, sender, recipient, subject, body) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9,
    );
    let direction = match direction.as_str() {
        "out" => Direction::Out,
        "in" => Direction::In,
        other => {
            return Err(StoreError::Corrupt {
                what: "message direction",
                value: other.to_owned(),
            });
        }
    };
    Ok(Message {
        id,
        case_id,
        report_id,
        referral_id,
        direction,
        event,
        sender,
        recipient,
        subject,
        body,
        created_at: timestamp("message created", row.10)?,
        sent_at: stamp_opt("message sent", row.11)?,
        attempts: row.12,
        last_error: row.13,
    })
}

type ReferralRow = (
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

const REFERRAL_COLUMNS: &str = "r.id, r.case_id, r.action_id, r.registrar_id, r.names, r.due, r.answer, r.answered_by, \
     r.answered_at";

fn referral_row(row: ReferralRow) -> Result<Referral> {
    Ok(Referral {
        id: row.0,
        case_id: row.1,
        action_id: row.2,
        registrar_id: row.3,
        names: json_list("referral names", &row.4)?,
        due: timestamp("referral due", row.5)?,
        answer: row.6,
        answered_by: row.7,
        answered_at: stamp_opt("referral answered", row.8)?,
    })
}

impl Tx {
    /// Runs `sql` (one `$1` parameter, `value`) and converts each row.
    async fn rows_where<R, T>(
        &mut self,
        sql: String,
        value: i64,
        convert: impl Fn(R) -> Result<T>,
    ) -> Result<Vec<T>>
    where
        R: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let sql = sqlx::AssertSqlSafe(sql);
        let rows: Vec<R> = on!(self, |conn| sqlx::query_as(sql)
            .bind(value)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(convert).collect()
    }

    // --- desk settings, calendars, sources ---------------------------------------------------

    /// An organisation's calendar as stored (JSON, if it has one) and its desk settings (if it
    /// has set any), in one query.
    pub async fn desk_settings(
        &mut self,
        org_id: i64,
    ) -> Result<(Option<String>, Option<DeskSettings>)> {
        type Row = (
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let row: Option<Row> = on!(self, |conn| sqlx::query_as(
            "SELECT o.calendar, d.acknowledge_minutes, d.assess_hours, \
             d.referral_business_days, d.desk_address FROM organisations o \
             LEFT JOIN desk_settings d ON d.org_id = o.id WHERE o.id = $1"
        )
        .bind(org_id)
        .fetch_optional(conn)
        .await)?;
        let Some((calendar, ack, assess, referral, desk_address)) = row else {
            return Ok((None, None));
        };
        let number = |value: i64| {
            u32::try_from(value).map_err(|_| StoreError::Corrupt {
                what: "clock target",
                value: value.to_string(),
            })
        };
        let settings = match (ack, assess, referral) {
            (Some(ack), Some(assess), Some(referral)) => Some(DeskSettings {
                targets: ClockTargets {
                    acknowledge_minutes: number(ack)?,
                    assess_hours: number(assess)?,
                    referral_business_days: number(referral)?,
                },
                desk_address,
            }),
            _ => None,
        };
        Ok((calendar, settings))
    }

    /// Sets a registry's desk settings.
    pub async fn set_desk_settings(&mut self, org_id: i64, settings: &DeskSettings) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "INSERT INTO desk_settings (org_id, acknowledge_minutes, assess_hours, \
             referral_business_days, desk_address) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (org_id) DO UPDATE SET acknowledge_minutes = excluded.acknowledge_minutes, \
             assess_hours = excluded.assess_hours, \
             referral_business_days = excluded.referral_business_days, \
             desk_address = excluded.desk_address"
        )
        .bind(org_id)
        .bind(i64::from(settings.targets.acknowledge_minutes))
        .bind(i64::from(settings.targets.assess_hours))
        .bind(i64::from(settings.targets.referral_business_days))
        .bind(settings.desk_address.as_deref())
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
        .map_err(insert_error("desk address"))?;
        Ok(())
    }

    /// The registry whose desk address is `address` (compared without case).
    pub async fn desk_by_address(&mut self, address: &str) -> Result<Option<i64>> {
        let row: Option<(i64,)> = on!(self, |conn| sqlx::query_as(
            "SELECT org_id FROM desk_settings WHERE lower(desk_address) = lower($1)"
        )
        .bind(address)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Every configured desk address.
    pub async fn desk_addresses(&mut self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on!(self, |conn| sqlx::query_as(
            "SELECT desk_address FROM desk_settings WHERE desk_address IS NOT NULL"
        )
        .fetch_all(conn)
        .await)?;
        Ok(rows.into_iter().map(|(address,)| address).collect())
    }

    /// Sets an organisation's calendar (JSON).
    pub async fn set_org_calendar(&mut self, org_id: i64, calendar: &str) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE organisations SET calendar = $2 WHERE id = $1"
        )
        .bind(org_id)
        .bind(calendar)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Records that an admin verified a reporter organisation as law enforcement.
    pub async fn set_lea_verified(&mut self, org_id: i64, by: i64, at: Timestamp) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE organisations SET lea_verified_by = $2, lea_verified_at = $3 WHERE id = $1"
        )
        .bind(org_id)
        .bind(by)
        .bind(micros(at))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Who verified an organisation as law enforcement, and when; `None` if nobody did.
    pub async fn lea_verified(&mut self, org_id: i64) -> Result<Option<(String, Timestamp)>> {
        let row: Option<(String, i64)> = on!(self, |conn| sqlx::query_as(
            "SELECT u.email, o.lea_verified_at FROM organisations o \
             JOIN users u ON u.id = o.lea_verified_by WHERE o.id = $1"
        )
        .bind(org_id)
        .fetch_optional(conn)
        .await)?;
        row.map(|(email, at)| Ok((email, timestamp("LEA verified", at)?)))
            .transpose()
    }

    /// Adds a source a registry recognises: an e-mail domain or a reporter organisation.
    pub async fn insert_recognised_source(
        &mut self,
        registry_org_id: i64,
        email_domain: Option<&str>,
        reporter_org_id: Option<i64>,
        label: &str,
        now: Timestamp,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO recognised_sources (registry_org_id, email_domain, reporter_org_id, \
             label, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(registry_org_id)
        .bind(email_domain)
        .bind(reporter_org_id)
        .bind(label)
        .bind(micros(now))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("recognised source"))?;
        Ok(id)
    }

    /// The sources a registry recognises, oldest first.
    pub async fn recognised_sources(
        &mut self,
        registry_org_id: i64,
    ) -> Result<Vec<RecognisedSource>> {
        let rows: Vec<SourceRow> = on!(self, |conn| sqlx::query_as(
            "SELECT id, email_domain, reporter_org_id, label, created_at \
                 FROM recognised_sources WHERE registry_org_id = $1 ORDER BY id"
        )
        .bind(registry_org_id)
        .fetch_all(conn)
        .await)?;
        rows.into_iter()
            .map(|(id, email_domain, reporter_org_id, label, created_at)| {
                Ok(RecognisedSource {
                    id,
                    email_domain,
                    reporter_org_id,
                    label,
                    created_at: timestamp("recognised source", created_at)?,
                })
            })
            .collect()
    }

    /// The label of the recognised source matching an e-mail domain or a reporter organisation.
    pub async fn recognised_source(
        &mut self,
        registry_org_id: i64,
        email_domain: Option<&str>,
        reporter_org_id: Option<i64>,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = on!(self, |conn| sqlx::query_as(
            "SELECT label FROM recognised_sources WHERE registry_org_id = $1 \
             AND (lower(email_domain) = lower($2) OR reporter_org_id = $3) ORDER BY id LIMIT 1"
        )
        .bind(registry_org_id)
        .bind(email_domain)
        .bind(reporter_org_id)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(|(label,)| label))
    }

    // --- reports ------------------------------------------------------------------------------

    /// Stores a report with all its names; returns its id.
    pub async fn insert_report(
        &mut self,
        new: &NewReport<'_>,
        names: &[ReportName],
    ) -> Result<i64> {
        let count = |predicate: fn(&ReportName) -> bool| {
            i64::try_from(names.iter().filter(|name| predicate(name)).count()).unwrap_or(i64::MAX)
        };
        let ours = count(|name| name.tld_id.is_some());
        let invalid = count(|name| name.problem.is_some());
        let total = i64::try_from(names.len()).unwrap_or(i64::MAX);
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO reports (registry_org_id, channel, source_class, origin, \
             reporter_user_id, reporter_org_id, reporter_name, reporter_email, threat_type, \
             description, requested_action, claimed_urgency, legal_basis, urls, name_count, \
             ours_count, invalid_count, mail_id, parse_error, received_at, case_id) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21) RETURNING id"
        )
        .bind(new.registry_org_id)
        .bind(new.channel.as_str())
        .bind(new.source_class.as_str())
        .bind(new.origin)
        .bind(new.reporter_user_id)
        .bind(new.reporter_org_id)
        .bind(new.reporter_name)
        .bind(new.reporter_email)
        .bind(new.threat_type.as_str())
        .bind(new.description)
        .bind(new.requested_action)
        .bind(new.claimed_urgency.map(Priority::as_str))
        .bind(new.legal_basis)
        .bind(to_json_list(new.urls))
        .bind(total)
        .bind(ours)
        .bind(invalid)
        .bind(new.mail_id)
        .bind(new.parse_error)
        .bind(micros(new.received_at))
        .bind(new.case_id)
        .fetch_one(conn)
        .await)
        .map_err(insert_error("report"))?;
        let rows: Vec<(&str, Option<i64>, Option<&str>)> = names
            .iter()
            .map(|name| (name.name.as_str(), name.tld_id, name.problem.as_deref()))
            .collect();
        self.bulk_execute(
            "INSERT INTO report_names (report_id, name, tld_id, problem) \
             SELECT $2, column1, column2, column3 FROM {rows} AS v WHERE true",
            &[Col::Text, Col::Int, Col::Text],
            &rows,
            &[Bind::Int(Some(id))],
        )
        .await
        .map_err(insert_error("name of a report"))?;
        Ok(id)
    }

    /// One report.
    pub async fn report(&mut self, id: i64) -> Result<Option<Report>> {
        self.reports_where("id = $1", id)
            .await
            .map(|mut found| found.pop())
    }

    /// The reports a user filed, newest first.
    pub async fn reports_by_user(&mut self, user_id: i64) -> Result<Vec<Report>> {
        self.reports_where("reporter_user_id = $1 ORDER BY id DESC", user_id)
            .await
    }

    /// The reports of a case, oldest first.
    pub async fn case_reports(&mut self, case_id: i64) -> Result<Vec<Report>> {
        self.reports_where("case_id = $1 ORDER BY id", case_id)
            .await
    }

    async fn reports_where(&mut self, condition: &str, value: i64) -> Result<Vec<Report>> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE {condition}");
        self.rows_where::<ReportRow, _>(sql, value, Report::try_from)
            .await
    }

    /// The names of a report in name order, from after `after` on, `limit` at most.
    pub async fn report_names(
        &mut self,
        report_id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<ReportName>> {
        let rows: Vec<(String, Option<i64>, Option<String>)> = on!(self, |conn| sqlx::query_as(
            "SELECT name, tld_id, problem FROM report_names WHERE report_id = $1 AND name > $2 \
             ORDER BY name LIMIT $3"
        )
        .bind(report_id)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(name, tld_id, problem)| ReportName {
                name,
                tld_id,
                problem,
            })
            .collect())
    }

    /// The distinct names (ours, valid) of the reports of a case, in name order.
    pub async fn case_names(&mut self, case_id: i64, limit: i64) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = on!(self, |conn| sqlx::query_as(
            "SELECT DISTINCT n.name, n.tld_id FROM report_names n \
             JOIN reports r ON r.id = n.report_id \
             WHERE r.case_id = $1 AND n.tld_id IS NOT NULL ORDER BY n.name LIMIT $2"
        )
        .bind(case_id)
        .bind(limit)
        .fetch_all(conn)
        .await)?;
        Ok(rows)
    }

    /// The first open case of `org_id` whose reports list one of `names` (a new report's names
    /// that are ours), and its state. The query walks the given names and looks each up by the
    /// `name` index (on SQLite `CROSS JOIN` keeps that order: joined the other way round it scanned
    /// every stored name); a new report is grouped before it is stored, so it is stored with its
    /// case at once.
    pub async fn case_sharing(
        &mut self,
        org_id: i64,
        names: &[&str],
    ) -> Result<Option<(i64, CaseState)>> {
        if names.is_empty() {
            return Ok(None);
        }
        let mut found: Vec<(i64, String)> = Vec::new();
        for chunk in names.chunks(BULK) {
            let mut page: Vec<(i64, String)> = self
                .bulk_fetch(
                    "SELECT c.id, c.state FROM {rows} AS v CROSS JOIN report_names m \
                     JOIN reports r ON r.id = m.report_id JOIN cases c ON c.id = r.case_id \
                     WHERE m.name = v.column1 AND c.org_id = $2 \
                     AND c.state NOT IN ('closed', 'closed_no_action') \
                     AND c.merged_into IS NULL ORDER BY c.id LIMIT 1",
                    &[Col::Text],
                    chunk,
                    &[Bind::Int(Some(org_id))],
                )
                .await?;
            found.append(&mut page);
        }
        found
            .into_iter()
            .min_by_key(|(id, _)| *id)
            .map(|(id, state)| Ok((id, parse("case state", &state)?)))
            .transpose()
    }

    /// Moves reports to a case.
    pub async fn set_reports_case(&mut self, report_ids: &[i64], case_id: i64) -> Result<()> {
        for report_id in report_ids {
            on!(self, |conn| sqlx::query(
                "UPDATE reports SET case_id = $2 WHERE id = $1"
            )
            .bind(report_id)
            .bind(case_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }

    // --- cases --------------------------------------------------------------------------------

    /// Opens a case; returns its id.
    pub async fn insert_case(
        &mut self,
        org_id: i64,
        threat_type: ThreatType,
        now: Timestamp,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO cases (org_id, state, threat_type, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id"
        )
        .bind(org_id)
        .bind(CaseState::New.as_str())
        .bind(threat_type.as_str())
        .bind(micros(now))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("case"))?;
        Ok(id)
    }

    /// One case.
    pub async fn case(&mut self, id: i64) -> Result<Option<Case>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = $1"
        ));
        let row: Option<CaseRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        row.map(Case::try_from).transpose()
    }

    /// Writes every changeable field of a case.
    pub async fn update_case(&mut self, case: &Case) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE cases SET state = $2, threat_type = $3, priority = $4, \
             priority_rationale = $5, responsible_party = $6, course_of_action = $7, \
             no_action_reason = $8, assigned_to = $9, merged_into = $10, updated_at = $11, \
             closed_at = $12 WHERE id = $1"
        )
        .bind(case.id)
        .bind(case.state.as_str())
        .bind(case.threat_type.as_str())
        .bind(case.priority.map(Priority::as_str))
        .bind(case.priority_rationale.as_deref())
        .bind(case.responsible_party.map(ResponsibleParty::as_str))
        .bind(case.course_of_action.as_deref())
        .bind(case.no_action_reason.as_deref())
        .bind(case.assigned_to)
        .bind(case.merged_into)
        .bind(micros(case.updated_at))
        .bind(case.closed_at.map(micros))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
        .map_err(insert_error("case"))?;
        Ok(())
    }

    /// A registry's cases (every registry's: `None`) matching `filter`, nearest open deadline
    /// first (cases without one last, newest first among them).
    pub async fn cases(
        &mut self,
        org_id: Option<i64>,
        filter: &CaseFilter,
    ) -> Result<Vec<QueuedCase>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT * FROM (SELECT {CASE_COLUMNS}, \
             (SELECT MIN(k.due) FROM case_clocks k WHERE k.case_id = c.id AND k.done_at IS NULL) \
                 AS next_due, \
             (SELECT COUNT(*) FROM case_clocks k WHERE k.case_id = c.id \
                 AND k.breached_at IS NOT NULL) AS breaches, \
             (SELECT COUNT(*) FROM reports r WHERE r.case_id = c.id) AS reports \
             FROM cases c WHERE ($1 IS NULL OR c.org_id = $1) \
             AND ($2 IS NULL OR c.state = $2) AND ($3 IS NULL OR c.priority = $3) \
             AND ($4 IS NULL OR c.threat_type = $4) \
             AND ($5 IS NULL OR EXISTS (SELECT 1 FROM reports r WHERE r.case_id = c.id \
                 AND r.source_class = $5)) \
             AND ($6 IS NULL OR EXISTS (SELECT 1 FROM reports r JOIN report_names n \
                 ON n.report_id = r.id WHERE r.case_id = c.id AND n.tld_id = $6)) \
             AND ($7 OR (c.state NOT IN ('closed', 'closed_no_action') \
                 AND c.merged_into IS NULL))) q \
             ORDER BY q.next_due IS NULL, q.next_due, q.id DESC LIMIT 1000"
        ));
        let rows: Vec<QueueRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(org_id)
            .bind(filter.state.map(CaseState::as_str))
            .bind(filter.priority.map(Priority::as_str))
            .bind(filter.threat_type.map(ThreatType::as_str))
            .bind(filter.source_class.map(SourceClass::as_str))
            .bind(filter.tld_id)
            .bind(filter.include_closed)
            .fetch_all(conn)
            .await)?;
        rows.into_iter()
            .map(|row| {
                Ok(QueuedCase {
                    case: Case::try_from(row.case)?,
                    next_due: stamp_opt("next deadline", row.next_due)?,
                    breaches: row.breaches,
                    reports: row.reports,
                })
            })
            .collect()
    }

    // --- clocks -------------------------------------------------------------------------------

    /// Starts (or restarts) a clock of a case.
    pub async fn start_clock(
        &mut self,
        case_id: i64,
        clock: Clock,
        times: &ClockTimes,
    ) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "INSERT INTO case_clocks (case_id, clock, started_at, due, remind_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, clock) DO UPDATE SET \
             started_at = excluded.started_at, due = excluded.due, remind_at = excluded.remind_at, \
             done_at = NULL, reminded_at = NULL"
        )
        .bind(case_id)
        .bind(clock.as_str())
        .bind(micros(times.start))
        .bind(micros(times.due))
        .bind(micros(times.remind_at))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Stops a running clock of a case at `now`; a clock already stopped keeps its time.
    pub async fn stop_clock(&mut self, case_id: i64, clock: Clock, now: Timestamp) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE case_clocks SET done_at = $3 WHERE case_id = $1 AND clock = $2 \
             AND done_at IS NULL"
        )
        .bind(case_id)
        .bind(clock.as_str())
        .bind(micros(now))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The clocks of a case.
    pub async fn case_clocks(&mut self, case_id: i64) -> Result<Vec<CaseClock>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CLOCK_COLUMNS} FROM case_clocks WHERE case_id = $1 ORDER BY started_at, clock"
        ));
        let rows: Vec<ClockRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(case_id)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(clock_row).collect()
    }

    /// Running clocks that need a reminder or a breach recorded at `now`.
    pub async fn clocks_to_handle(&mut self, now: Timestamp) -> Result<Vec<CaseClock>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CLOCK_COLUMNS} FROM case_clocks WHERE done_at IS NULL AND remind_at <= $1 \
             AND (reminded_at IS NULL OR (due < $1 AND breached_at IS NULL)) \
             ORDER BY due LIMIT 1000"
        ));
        let rows: Vec<ClockRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(micros(now))
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(clock_row).collect()
    }

    /// The next instant a running clock needs a reminder or a breach recorded.
    pub async fn next_clock_event(&mut self) -> Result<Option<Timestamp>> {
        let row: (Option<i64>,) = on!(self, |conn| sqlx::query_as(
            "SELECT MIN(CASE WHEN reminded_at IS NULL THEN remind_at ELSE due + 1 END) \
             FROM case_clocks WHERE done_at IS NULL AND breached_at IS NULL"
        )
        .fetch_one(conn)
        .await)?;
        stamp_opt("next clock event", row.0)
    }

    /// Records that staff were reminded of a clock.
    pub async fn mark_reminded(
        &mut self,
        case_id: i64,
        clock: Clock,
        now: Timestamp,
    ) -> Result<()> {
        self.mark_clock(case_id, clock, "reminded_at", now).await
    }

    /// Records that a clock passed its due time undone.
    pub async fn mark_breached(
        &mut self,
        case_id: i64,
        clock: Clock,
        now: Timestamp,
    ) -> Result<()> {
        self.mark_clock(case_id, clock, "breached_at", now).await
    }

    async fn mark_clock(
        &mut self,
        case_id: i64,
        clock: Clock,
        column: &'static str,
        now: Timestamp,
    ) -> Result<()> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE case_clocks SET {column} = $3 WHERE case_id = $1 AND clock = $2"
        ));
        on!(self, |conn| sqlx::query(sql)
            .bind(case_id)
            .bind(clock.as_str())
            .bind(micros(now))
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// How many clock breaches a registry's cases have had (met late or still running late).
    pub async fn breach_count(&mut self, org_id: i64) -> Result<i64> {
        let (count,): (i64,) = on!(self, |conn| sqlx::query_as(
            "SELECT COUNT(*) FROM case_clocks k JOIN cases c ON c.id = k.case_id \
             WHERE c.org_id = $1 AND k.breached_at IS NOT NULL"
        )
        .bind(org_id)
        .fetch_one(conn)
        .await)?;
        Ok(count)
    }

    // --- actions and referrals ----------------------------------------------------------------

    /// The ids of the actions decided from a case (their `case_ref` is `case:ID`).
    pub async fn case_action_ids(&mut self, case_id: i64) -> Result<Vec<i64>> {
        let case_ref = format!("case:{case_id}");
        let rows: Vec<(i64,)> = on!(self, |conn| sqlx::query_as(
            "SELECT id FROM actions WHERE case_ref = $1 ORDER BY id"
        )
        .bind(&case_ref)
        .fetch_all(conn)
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Cases in `action_decided` whose actions that change the registry are all applied.
    pub async fn cases_to_mark_mitigated(&mut self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = on!(self, |conn| sqlx::query_as(
            "SELECT c.id FROM cases c WHERE c.state = 'action_decided' \
             AND EXISTS (SELECT 1 FROM actions a WHERE a.case_ref = 'case:' || c.id \
                 AND a.kind NOT IN ('refer', 'no-action') AND a.state = 'applied') \
             AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.case_ref = 'case:' || c.id \
                 AND a.kind NOT IN ('refer', 'no-action') \
                 AND a.state IN ('proposed', 'applying'))"
        )
        .fetch_all(conn)
        .await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The sponsoring registrar of each of `names` that is registered: (registrar id, name),
    /// by registrar then name.
    pub async fn sponsors_of(&mut self, names: &[String]) -> Result<Vec<(i64, String)>> {
        let mut found: Vec<(i64, String)> = self
            .bulk_fetch(
                "SELECT d.registrar_id, d.name FROM {rows} AS v \
                 JOIN domains d ON d.name = v.column1 WHERE d.registrar_id IS NOT NULL",
                &[Col::Text],
                names,
                &[],
            )
            .await?;
        found.sort_unstable();
        Ok(found)
    }

    /// Records a referral to one registrar; returns its id.
    pub async fn insert_referral(
        &mut self,
        case_id: i64,
        action_id: i64,
        registrar_id: i64,
        names: &[String],
        due: Timestamp,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO referrals (case_id, action_id, registrar_id, names, due) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(case_id)
        .bind(action_id)
        .bind(registrar_id)
        .bind(to_json_list(names))
        .bind(micros(due))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("referral"))?;
        Ok(id)
    }

    /// One referral.
    pub async fn referral(&mut self, id: i64) -> Result<Option<Referral>> {
        self.referrals_where("r.id = $1", id)
            .await
            .map(|mut found| found.pop())
    }

    /// The referrals of a case.
    pub async fn case_referrals(&mut self, case_id: i64) -> Result<Vec<Referral>> {
        self.referrals_where("r.case_id = $1 ORDER BY r.id", case_id)
            .await
    }

    /// The referrals to the registrars of a registrar organisation, newest first.
    pub async fn referrals_for_registrar_org(&mut self, org_id: i64) -> Result<Vec<Referral>> {
        self.referrals_where(
            "r.registrar_id IN (SELECT id FROM registrars WHERE org_id = $1) ORDER BY r.id DESC",
            org_id,
        )
        .await
    }

    async fn referrals_where(&mut self, condition: &str, value: i64) -> Result<Vec<Referral>> {
        let sql = format!("SELECT {REFERRAL_COLUMNS} FROM referrals r WHERE {condition}");
        self.rows_where::<ReferralRow, _>(sql, value, referral_row)
            .await
    }

    /// Records a registrar's answer to a referral.
    pub async fn answer_referral(
        &mut self,
        id: i64,
        answer: &str,
        by: i64,
        now: Timestamp,
    ) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE referrals SET answer = $2, answered_by = $3, answered_at = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(answer)
        .bind(by)
        .bind(micros(now))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The registrar organisation of a registrar, if it has one, and its abuse address.
    pub async fn registrar_contact(
        &mut self,
        registrar_id: i64,
    ) -> Result<Option<(String, String)>> {
        let row: Option<(String, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT name, abuse_email FROM registrars WHERE id = $1"
        )
        .bind(registrar_id)
        .fetch_optional(conn)
        .await)?;
        Ok(row)
    }

    // --- messages and mail --------------------------------------------------------------------

    /// Stores a message (an outgoing one waits to be sent); returns its id.
    pub async fn insert_message(&mut self, new: &NewMessage<'_>) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO messages (case_id, report_id, referral_id, direction, event, sender, \
             recipient, subject, body, mail_id, created_at, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0) RETURNING id"
        )
        .bind(new.case_id)
        .bind(new.report_id)
        .bind(new.referral_id)
        .bind(new.direction.as_str())
        .bind(new.event)
        .bind(new.sender)
        .bind(new.recipient)
        .bind(new.subject)
        .bind(new.body)
        .bind(new.mail_id)
        .bind(micros(new.created_at))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("message"))?;
        Ok(id)
    }

    /// The messages of a case, oldest first.
    pub async fn case_messages(&mut self, case_id: i64) -> Result<Vec<Message>> {
        self.messages_where("case_id = $1 ORDER BY id", case_id)
            .await
    }

    /// The messages sent about one report (to its reporter), oldest first.
    pub async fn report_messages(&mut self, report_id: i64) -> Result<Vec<Message>> {
        self.messages_where("report_id = $1 ORDER BY id", report_id)
            .await
    }

    /// Outgoing messages not yet sent, oldest first; those that failed `max_attempts` times
    /// are left for staff, those without an address (a reporter who left none) stay in the
    /// portal only.
    pub async fn unsent_messages(&mut self, max_attempts: i64) -> Result<Vec<Message>> {
        self.messages_where(
            "direction = 'out' AND sent_at IS NULL AND attempts < $1 AND recipient <> '' \
             ORDER BY id LIMIT 100",
            max_attempts,
        )
        .await
    }

    async fn messages_where(&mut self, condition: &str, value: i64) -> Result<Vec<Message>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE {condition}");
        self.rows_where::<MessageRow, _>(sql, value, message_row)
            .await
    }

    /// Records a message as sent, or a failed attempt with its error.
    pub async fn message_attempt(
        &mut self,
        id: i64,
        outcome: std::result::Result<Timestamp, &str>,
    ) -> Result<()> {
        let (sent_at, error) = match outcome {
            Ok(at) => (Some(micros(at)), None),
            Err(error) => (None, Some(error)),
        };
        on!(self, |conn| sqlx::query(
            "UPDATE messages SET attempts = attempts + 1, sent_at = $2, last_error = $3 \
             WHERE id = $1"
        )
        .bind(id)
        .bind(sent_at)
        .bind(error)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// A registry's own wording of a message: (subject, body).
    pub async fn message_template(
        &mut self,
        org_id: i64,
        event: &str,
    ) -> Result<Option<(String, String)>> {
        let row: Option<(String, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT subject, body FROM message_templates WHERE org_id = $1 AND event = $2"
        )
        .bind(org_id)
        .bind(event)
        .fetch_optional(conn)
        .await)?;
        Ok(row)
    }

    /// Sets a registry's own wording of a message.
    pub async fn set_message_template(
        &mut self,
        org_id: i64,
        event: &str,
        subject: &str,
        body: &str,
    ) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "INSERT INTO message_templates (org_id, event, subject, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (org_id, event) DO UPDATE SET subject = excluded.subject, \
             body = excluded.body"
        )
        .bind(org_id)
        .bind(event)
        .bind(subject)
        .bind(body)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Keeps an e-mail as received; returns its id.
    pub async fn insert_mail(&mut self, mail: &NewMail<'_>) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO inbound_mail (received_at, mail_from, rcpt_to, peer, raw) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(micros(mail.received_at))
        .bind(mail.mail_from)
        .bind(to_json_list(mail.rcpt_to))
        .bind(mail.peer)
        .bind(mail.raw)
        .fetch_one(conn)
        .await)
        .map_err(insert_error("mail"))?;
        Ok(id)
    }

    /// Records why an e-mail could not be parsed.
    pub async fn set_mail_parse_error(&mut self, id: i64, error: &str) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE inbound_mail SET parse_error = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(error)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// An e-mail as received.
    pub async fn mail_raw(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = on!(self, |conn| sqlx::query_as(
            "SELECT raw FROM inbound_mail WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(|(raw,)| raw))
    }
}

#[derive(sqlx::FromRow)]
struct QueueRow {
    #[sqlx(flatten)]
    case: CaseRow,
    next_due: Option<i64>,
    breaches: i64,
    reports: i64,
}
