//! The desk around the cases: its settings and calendar, recognised sources and verified law
//! enforcement, message templates and the outgoing queue, referrals and the registrar's answer,
//! and the clock worker's tick (reminders, breaches, mitigation).

use holdfast_model::org::{Actor, OrgKind, Permission, Role};
use holdfast_model::{
    Calendar, CaseState, CaseStep, Clock, ClockTargets, DomainName, MessageEvent as Event,
    UnknownValue,
};
use holdfast_store::{
    Action, Case, DeskSettings, Direction, FileOwner, NewMessage, RecognisedSource, Referral, Tx,
};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::accounts::text;
use crate::cases::free_text;
use crate::{Change, Result, Service, ServiceError, organisation_of_kind, record, require};

/// The sender of the desk's messages when the registry has not set an address.
pub const DEFAULT_DESK_ADDRESS: &str = "abuse-desk@holdfast.invalid";

/// A registry's desk as the clocks and messages need it.
#[derive(Debug, Clone)]
pub(crate) struct Desk {
    pub calendar: Calendar,
    pub targets: ClockTargets,
    pub address: String,
}

/// The desk of registry `org_id`: its calendar (Monday to Friday, UTC, when none is set), its
/// clock targets (the defaults when none are set) and its address.
pub(crate) async fn desk_of(tx: &mut Tx, org_id: i64) -> Result<Desk> {
    let (calendar, settings) = tx.desk_settings(org_id).await?;
    let calendar = match calendar {
        Some(json) => stored_calendar(org_id, &json)?,
        None => utc_calendar()?,
    };
    Ok(Desk {
        calendar,
        targets: settings.as_ref().map(|s| s.targets).unwrap_or_default(),
        address: settings
            .and_then(|s| s.desk_address)
            .unwrap_or_else(|| DEFAULT_DESK_ADDRESS.to_owned()),
    })
}

/// An organisation's calendar as stored (JSON).
pub(crate) fn stored_calendar(org_id: i64, json: &str) -> Result<Calendar> {
    serde_json::from_str(json).map_err(|error| ServiceError::Internal {
        what: format!("stored calendar of organisation {org_id}: {error}"),
    })
}

/// Monday to Friday in UTC, without holidays.
pub(crate) fn utc_calendar() -> Result<Calendar> {
    Calendar::new("UTC", Calendar::DEFAULT_WEEKEND, []).map_err(|error| ServiceError::Internal {
        what: format!("the UTC calendar: {error}"),
    })
}

/// The address replies about case `case_id` go to: `local+case-N@domain` of the desk's address.
pub fn case_address(desk_address: &str, case_id: i64) -> String {
    match desk_address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+case-{case_id}@{domain}"),
        None => desk_address.to_owned(),
    }
}

/// The case a desk address with a `+case-N` tag names.
pub fn case_in_address(address: &str) -> Option<i64> {
    let (local, _) = address.rsplit_once('@')?;
    local.split_once("+case-")?.1.parse().ok()
}

/// The built-in wording of the desk's messages.
pub trait DefaultText {
    /// The built-in subject and body.
    fn default_text(self) -> (&'static str, &'static str);
}

impl DefaultText for Event {
    /// `{placeholders}` are filled when the message is made.
    fn default_text(self) -> (&'static str, &'static str) {
        match self {
            Event::Acknowledgment => (
                "[case {case}] We received your report",
                "We received your report {report} about {names}.\n\
                 It is case {case}. We will assess it and tell you what we will do by {assess_due}.\n",
            ),
            Event::Assessment => (
                "[case {case}] Our assessment",
                "We assessed case {case} ({threat_type}, priority {priority}).\n\n\
                 What we will do: {course_of_action}\nWhen: {timeline}\n",
            ),
            Event::Referral => (
                "[case {case}] Referral: abuse on names you sponsor",
                "The registry refers abuse ({threat_type}) on these names you sponsor:\n{names}\n\n\
                 Evidence:\n{evidence}\n\nPlease act and answer by {due}. If you do not, the \
                 registry may act itself.\n",
            ),
            Event::NoAction => (
                "[case {case}] No action on your report",
                "We looked at case {case} and will not act on it.\nWhy: {reason}\n",
            ),
            Event::Closure => (
                "[case {case}] Case closed",
                "Case {case} is closed. {note}\nThank you for your report.\n",
            ),
            Event::Reminder => (
                "[case {case}] Due soon: {clock}",
                "The {clock} deadline of case {case} falls due at {due}.\n",
            ),
            Event::Breach => (
                "[case {case}] Deadline missed: {clock}",
                "The {clock} deadline of case {case} passed at {due}. The breach is recorded.\n",
            ),
            Event::ReplyAlert => (
                "[case {case}] New reply from {from}",
                "A reply to case {case} arrived from {from}:\n\n{subject}\n",
            ),
        }
    }
}

/// Fills `{key}` placeholders; unknown placeholders stay as written. Values are inserted as
/// plain text (the messages are text/plain), never re-scanned for placeholders.
pub(crate) fn render(template: &str, fill: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let key = &after[..close];
            fill.iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| (close, value))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One message of a registry's desk as its staff see it: the wording in use (the registry's
/// own, or the built-in one) and the placeholders it may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateView {
    pub event: Event,
    pub subject: String,
    pub body: String,
    /// Whether the registry set its own wording.
    pub own: bool,
    pub placeholders: Vec<&'static str>,
}

/// The placeholders every message fills.
const COMMON_PLACEHOLDERS: [&str; 3] = ["case", "threat_type", "desk"];

/// The placeholders a message of `event` fills: those of every message and those its built-in
/// wording uses.
fn placeholders(event: Event) -> Vec<&'static str> {
    let (subject, body) = event.default_text();
    let mut found: Vec<&'static str> = COMMON_PLACEHOLDERS.to_vec();
    for text in [subject, body] {
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                break;
            };
            let key = &after[..close];
            if !found.contains(&key) {
                found.push(key);
            }
            rest = &after[close + 1..];
        }
    }
    found
}

/// An example value of a placeholder, for the preview of a wording.
fn example(key: &str) -> String {
    match key {
        "case" => "1234",
        "threat_type" => "phishing",
        "desk" => "abuse@registry.example",
        "report" => "5678",
        "names" => "login-bank.example, secure-pay.example",
        "assess_due" | "due" => "2026-12-01T10:00:00Z",
        "priority" => "high",
        "course_of_action" => "hold the names",
        "timeline" => "within 24 hours",
        "evidence" => "- URL: http://login-bank.example/",
        "reason" => "the site is not harmful",
        "note" => "The names are held.",
        "clock" => "assess",
        "from" => "reporter@example.net",
        "subject" => "Re: [case 1234] Our assessment",
        other => other,
    }
    .to_owned()
}

/// A wording of `event` as a message would read, its placeholders filled with example values.
pub fn template_preview(event: Event, subject: &str, body: &str) -> (String, String) {
    let fill: Vec<(&str, String)> = placeholders(event)
        .into_iter()
        .map(|key| (key, example(key)))
        .collect();
    (render(subject, &fill), render(body, &fill))
}

/// The first names of a list for a message: at most 20, then how many more.
fn names_line(names: &[String]) -> String {
    let mut line = names
        .iter()
        .take(20)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 20 {
        line.push_str(&format!(" and {} more", names.len() - 20));
    }
    line
}

/// Where one message goes: about which case, report or referral, to whom.
struct Addressee<'a> {
    case: &'a Case,
    report_id: Option<i64>,
    referral_id: Option<i64>,
    recipient: &'a str,
}

/// Queues one message of `event` from `desk`, in the registry's wording when it has one.
async fn queue(
    tx: &mut Tx,
    desk: &Desk,
    to: Addressee<'_>,
    event: Event,
    fill: &[(&str, String)],
    now: Timestamp,
) -> Result<()> {
    let Addressee {
        case,
        report_id,
        referral_id,
        recipient,
    } = to;
    let (subject, body) = match tx.message_template(case.org_id, event.as_str()).await? {
        Some(own) => own,
        None => {
            let (subject, body) = event.default_text();
            (subject.to_owned(), body.to_owned())
        }
    };
    let mut values: Vec<(&str, String)> = vec![
        ("case", case.id.to_string()),
        ("threat_type", case.threat_type.as_str().to_owned()),
        ("desk", desk.address.clone()),
    ];
    values.extend(fill.iter().cloned());
    let subject: String = render(&subject, &values)
        .chars()
        .filter(|c| !c.is_control())
        .take(250)
        .collect();
    let body = render(&body, &values);
    tx.insert_message(&NewMessage {
        case_id: Some(case.id),
        report_id,
        referral_id,
        direction: Direction::Out,
        event: event.as_str(),
        sender: &desk.address,
        recipient,
        subject: &subject,
        body: &body,
        mail_id: None,
        created_at: now,
    })
    .await?;
    Ok(())
}

/// Queues `event` to the reporter of each report of `case` (or only of `only_report`) that left
/// a contact address; the portal shows it to signed-in reporters either way.
pub(crate) async fn queue_to_reporters(
    tx: &mut Tx,
    case: &Case,
    only_report: Option<i64>,
    event: Event,
    fill: &[(&str, String)],
    now: Timestamp,
) -> Result<()> {
    let desk = desk_of(tx, case.org_id).await?;
    let clocks = tx.case_clocks(case.id).await?;
    let assess_due = clocks
        .iter()
        .find(|clock| clock.clock == Clock::Assess)
        .map_or_else(
            || "within 24 hours".to_owned(),
            |clock| clock.times.due.to_string(),
        );
    for report in tx.case_reports(case.id).await? {
        if only_report.is_some_and(|id| id != report.id) {
            continue;
        }
        let names: Vec<String> = tx
            .report_names(report.id, "", 21)
            .await?
            .into_iter()
            .map(|name| name.name)
            .collect();
        let mut values = vec![
            ("report", report.id.to_string()),
            ("names", names_line(&names)),
            ("assess_due", assess_due.clone()),
        ];
        values.extend(fill.iter().cloned());
        let to = Addressee {
            case,
            report_id: Some(report.id),
            referral_id: None,
            recipient: report.reporter_email.as_deref().unwrap_or(""),
        };
        queue(tx, &desk, to, event, &values, now).await?;
    }
    Ok(())
}

/// Queues `event` to the case's assigned staff member, or to the desk address.
pub(crate) async fn queue_to_staff(
    tx: &mut Tx,
    case: &Case,
    event: Event,
    fill: &[(&str, String)],
    now: Timestamp,
) -> Result<()> {
    let desk = desk_of(tx, case.org_id).await?;
    let assigned = match case.assigned_to {
        Some(user_id) => tx.user(user_id).await?.map(|user| user.email),
        None => None,
    };
    let to = Addressee {
        case,
        report_id: None,
        referral_id: None,
        recipient: assigned.as_deref().unwrap_or(&desk.address),
    };
    queue(tx, &desk, to, event, fill, now).await
}

/// Records a referral per sponsoring registrar of a refer action's names, each with the
/// evidence, and queues the notice to the registrar's abuse address.
pub(crate) async fn refer(
    tx: &mut Tx,
    case: &Case,
    action: &Action,
    due: Timestamp,
    now: Timestamp,
) -> Result<()> {
    let mut evidence = Vec::new();
    for report in tx.case_reports(case.id).await? {
        if !report.description.is_empty() {
            evidence.push(format!("- report {}: {}", report.id, report.description));
        }
        for url in &report.urls {
            evidence.push(format!("- URL: {url}"));
        }
        for file in tx.files(FileOwner::Report, report.id).await? {
            evidence.push(format!(
                "- file {} ({} bytes, SHA-256 {})",
                file.filename, file.size, file.sha256
            ));
        }
    }
    let evidence = if evidence.is_empty() {
        "(none attached)".to_owned()
    } else {
        evidence.join("\n")
    };
    let mut names = Vec::new();
    let mut after = -1;
    loop {
        let page = tx.action_items(action.id, after, 10_000).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
        names.extend(page.into_iter().map(|item| item.name));
    }
    let sponsored = tx.sponsors_of(&names).await?;
    let desk = desk_of(tx, case.org_id).await?;
    for group in sponsored.chunk_by(|a, b| a.0 == b.0) {
        let registrar_id = group[0].0;
        let names: Vec<String> = group.iter().map(|(_, name)| name.clone()).collect();
        let referral_id = tx
            .insert_referral(case.id, action.id, registrar_id, &names, due)
            .await?;
        let Some((_, abuse_email)) = tx.registrar_contact(registrar_id).await? else {
            continue;
        };
        let fill = [
            ("names", names.join("\n")),
            ("evidence", evidence.clone()),
            ("due", due.to_string()),
        ];
        let to = Addressee {
            case,
            report_id: None,
            referral_id: Some(referral_id),
            recipient: &abuse_email,
        };
        queue(tx, &desk, to, Event::Referral, &fill, now).await?;
    }
    Ok(())
}

/// A registry's desk settings as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeskView {
    pub org_id: i64,
    pub targets: ClockTargets,
    pub desk_address: String,
    pub calendar: Calendar,
    pub breaches: i64,
}

/// What the clock worker did in one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub reminded: usize,
    pub breached: usize,
    pub mitigated: usize,
    /// Waiver review clocks reminded of and found breached.
    pub review: crate::ReviewMarks,
    /// When the next reminder or breach falls due.
    pub next: Option<Timestamp>,
}

/// The registry organisation an actor configures: their own, or any for admins (`org_id`).
fn desk_org(actor: &Actor, org_id: i64) -> Result<i64> {
    require(actor, Permission::WorkCases)?;
    if actor.may_see_org(org_id) {
        Ok(org_id)
    } else {
        Err(ServiceError::NotFound {
            what: "organisation",
        })
    }
}

impl Service {
    /// A registry's desk: clock targets, address, calendar, breach count.
    pub async fn desk(&self, actor: &Actor, org_id: i64) -> Result<DeskView> {
        let org_id = desk_org(actor, org_id)?;
        let mut tx = self.store.read().await?;
        organisation_of_kind(&mut tx, org_id, OrgKind::Registry).await?;
        let desk = desk_of(&mut tx, org_id).await?;
        Ok(DeskView {
            org_id,
            targets: desk.targets,
            desk_address: desk.address,
            calendar: desk.calendar,
            breaches: tx.breach_count(org_id).await?,
        })
    }

    /// Sets a registry's clock targets and desk address (its staff, or admins).
    pub async fn set_desk(
        &self,
        actor: &Actor,
        org_id: i64,
        targets: ClockTargets,
        desk_address: Option<&str>,
        now: Timestamp,
    ) -> Result<DeskView> {
        let org_id = desk_org(actor, org_id)?;
        if targets.acknowledge_minutes == 0 || targets.acknowledge_minutes > 7 * 24 * 60 {
            return Err(ServiceError::invalid(
                "acknowledge_minutes",
                "must be 1 to 10080 (a week)",
            ));
        }
        if targets.assess_hours == 0 || targets.assess_hours > 24 * 30 {
            return Err(ServiceError::invalid("assess_hours", "must be 1 to 720"));
        }
        if targets.referral_business_days == 0 || targets.referral_business_days > 60 {
            return Err(ServiceError::invalid(
                "referral_business_days",
                "must be 1 to 60",
            ));
        }
        let desk_address = desk_address
            .map(|address| crate::accounts::email("desk_address", address))
            .transpose()?;
        if desk_address.as_deref().is_some_and(|a| a.contains('+')) {
            return Err(ServiceError::invalid(
                "desk_address",
                "must not contain +: case addresses add +case-N to it",
            ));
        }
        let mut tx = self.store.write().await?;
        organisation_of_kind(&mut tx, org_id, OrgKind::Registry).await?;
        tx.set_desk_settings(
            org_id,
            &DeskSettings {
                targets,
                desk_address: desk_address.clone(),
            },
        )
        .await
        .map_err(|error| match error {
            holdfast_store::StoreError::Conflict { .. } => ServiceError::Conflict {
                what: "another desk uses this address".to_owned(),
            },
            other => other.into(),
        })?;
        let change = Change {
            org_id: Some(org_id),
            action: "desk.settings",
            subject: format!("org:{org_id}"),
            reason: "",
            details: json!({ "targets": targets, "desk_address": desk_address }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        self.desks_changed.notify_one();
        self.desk(actor, org_id).await
    }

    /// Sets an organisation's calendar: its own staff (registry, reviewer) or admins.
    pub async fn set_calendar(
        &self,
        actor: &Actor,
        org_id: i64,
        calendar: &Calendar,
        now: Timestamp,
    ) -> Result<()> {
        let allowed = actor.role == Role::Admin
            || (actor.org_id == org_id
                && matches!(actor.role, Role::RegistryStaff | Role::Reviewer));
        if !allowed {
            return Err(ServiceError::Forbidden);
        }
        let json = serde_json::to_string(calendar).map_err(|error| ServiceError::Internal {
            what: error.to_string(),
        })?;
        let mut tx = self.store.write().await?;
        tx.organisation(org_id)
            .await?
            .ok_or(ServiceError::NotFound {
                what: "organisation",
            })?;
        tx.set_org_calendar(org_id, &json).await?;
        let change = Change {
            org_id: Some(org_id),
            action: "org.calendar",
            subject: format!("org:{org_id}"),
            reason: "",
            details: serde_json::from_str(&json).unwrap_or_default(),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(())
    }

    /// Records that a reporter organisation is law enforcement, verified by an admin: its
    /// users' reports then carry the LEA class.
    pub async fn verify_lea(
        &self,
        actor: &Actor,
        org_id: i64,
        why: &str,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Permission::ManageAccounts)?;
        let why = text("reason", why, 2000).map_err(|_| {
            ServiceError::invalid("reason", "say how the organisation was verified")
        })?;
        let mut tx = self.store.write().await?;
        organisation_of_kind(&mut tx, org_id, OrgKind::Reporter).await?;
        tx.set_lea_verified(org_id, actor.user_id, now).await?;
        let change = Change {
            org_id: Some(org_id),
            action: "org.verify_lea",
            subject: format!("org:{org_id}"),
            reason: &why,
            details: json!({}),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(())
    }

    /// Adds a source the actor's registry recognises: an e-mail domain or a reporter
    /// organisation.
    pub async fn add_recognised_source(
        &self,
        actor: &Actor,
        email_domain: Option<&str>,
        reporter_org_id: Option<i64>,
        label: &str,
        now: Timestamp,
    ) -> Result<i64> {
        require(actor, Permission::WorkCases)?;
        let label = text("label", label, 200)?;
        let domain = email_domain
            .map(|domain| {
                DomainName::parse(domain)
                    .map(|name| name.as_str().to_owned())
                    .map_err(|error| ServiceError::invalid("email_domain", error.to_string()))
            })
            .transpose()?;
        if domain.is_none() && reporter_org_id.is_none() {
            return Err(ServiceError::invalid(
                "email_domain",
                "name an e-mail domain or a reporter organisation",
            ));
        }
        let mut tx = self.store.write().await?;
        if let Some(org_id) = reporter_org_id {
            organisation_of_kind(&mut tx, org_id, OrgKind::Reporter).await?;
        }
        let id = tx
            .insert_recognised_source(
                actor.org_id,
                domain.as_deref(),
                reporter_org_id,
                &label,
                now,
            )
            .await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: "desk.recognise",
            subject: format!("recognised_source:{id}"),
            reason: "",
            details: json!({ "email_domain": domain, "reporter_org": reporter_org_id,
                             "label": label }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(id)
    }

    /// The wording of every message of the actor's registry: its own or the built-in one.
    pub async fn templates(&self, actor: &Actor) -> Result<Vec<TemplateView>> {
        require(actor, Permission::WorkCases)?;
        let mut tx = self.store.read().await?;
        let mut views = Vec::new();
        for event in Event::ALL {
            let own = tx.message_template(actor.org_id, event.as_str()).await?;
            let (subject, body) = match &own {
                Some((subject, body)) => (subject.clone(), body.clone()),
                None => {
                    let (subject, body) = event.default_text();
                    (subject.to_owned(), body.to_owned())
                }
            };
            views.push(TemplateView {
                event: *event,
                subject,
                body,
                own: own.is_some(),
                placeholders: placeholders(*event),
            });
        }
        Ok(views)
    }

    /// The sources the actor's registry recognises.
    pub async fn recognised_sources(&self, actor: &Actor) -> Result<Vec<RecognisedSource>> {
        require(actor, Permission::WorkCases)?;
        let mut tx = self.store.read().await?;
        Ok(tx.recognised_sources(actor.org_id).await?)
    }

    /// Who verified a reporter organisation as law enforcement, and when (admins see every
    /// organisation, everyone else their own).
    pub async fn lea_verification(
        &self,
        actor: &Actor,
        org_id: i64,
    ) -> Result<Option<(String, Timestamp)>> {
        if !actor.may_see_org(org_id) {
            return Err(ServiceError::NotFound {
                what: "organisation",
            });
        }
        let mut tx = self.store.read().await?;
        Ok(tx.lea_verified(org_id).await?)
    }

    /// Sets the registry's own wording of one message.
    pub async fn set_template(
        &self,
        actor: &Actor,
        event: &str,
        subject: &str,
        body: &str,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Permission::WorkCases)?;
        let event: Event = event
            .parse()
            .map_err(|error: UnknownValue| ServiceError::invalid("event", error.to_string()))?;
        let subject = text("subject", subject, 250)?;
        let body = free_text("body", body, 20_000)?;
        let mut tx = self.store.write().await?;
        tx.set_message_template(actor.org_id, event.as_str(), &subject, &body)
            .await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: "desk.template",
            subject: format!("template:{}", event.as_str()),
            reason: "",
            details: json!({ "subject": subject }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The referrals to a registrar organisation's registrars (its staff), newest first.
    pub async fn referrals(&self, actor: &Actor) -> Result<Vec<Referral>> {
        require(actor, Permission::AnswerReferrals)?;
        let mut tx = self.store.read().await?;
        Ok(tx.referrals_for_registrar_org(actor.org_id).await?)
    }

    /// A registrar's answer to a referral. When every referral of the case is answered, the
    /// referral clock stops; the registry may act whatever the answer.
    pub async fn answer_referral(
        &self,
        actor: &Actor,
        id: i64,
        answer: &str,
        now: Timestamp,
    ) -> Result<Referral> {
        require(actor, Permission::AnswerReferrals)?;
        let answer = free_text("answer", answer, 5000)?;
        if answer.trim().is_empty() {
            return Err(ServiceError::invalid("answer", "must not be empty"));
        }
        let mut tx = self.store.write().await?;
        let referral = tx
            .referrals_for_registrar_org(actor.org_id)
            .await?
            .into_iter()
            .find(|referral| referral.id == id)
            .ok_or(ServiceError::NotFound { what: "referral" })?;
        if referral.answered_at.is_some() {
            return Err(ServiceError::Conflict {
                what: format!("referral {id} is already answered"),
            });
        }
        tx.answer_referral(id, &answer, actor.user_id, now).await?;
        let all_answered = tx
            .case_referrals(referral.case_id)
            .await?
            .iter()
            .all(|other| other.id == id || other.answered_at.is_some());
        if all_answered {
            tx.stop_clock(referral.case_id, Clock::Referral, now)
                .await?;
        }
        if let Some(case) = tx.case(referral.case_id).await? {
            let desk = desk_of(&mut tx, case.org_id).await?;
            tx.insert_message(&NewMessage {
                case_id: Some(case.id),
                report_id: None,
                referral_id: Some(id),
                direction: Direction::In,
                event: "referral_answer",
                sender: &actor.email,
                recipient: &desk.address,
                subject: &format!("[case {}] Answer to referral {id}", case.id),
                body: &answer,
                mail_id: None,
                created_at: now,
            })
            .await?;
        }
        let change = Change {
            org_id: Some(actor.org_id),
            action: "referral.answer",
            subject: format!("referral:{id}"),
            reason: "",
            details: json!({ "case": referral.case_id, "answer": answer }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let answered = tx
            .referral(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "referral" })?;
        tx.commit().await?;
        Ok(answered)
    }

    /// One pass of the clock worker at `now`: reminds staff of clocks in their reminder
    /// window, records breaches of clocks past due, marks cases mitigated whose actions all
    /// took effect. Returns what it did and when to wake next.
    pub async fn tick(&self, now: Timestamp) -> Result<TickReport> {
        let mut report = TickReport::default();
        let mut tx = self.store.write().await?;
        for clock in tx.clocks_to_handle(now).await? {
            let Some(case) = tx.case(clock.case_id).await? else {
                continue;
            };
            let fill = [
                ("clock", clock.clock.as_str().to_owned()),
                ("due", clock.times.due.to_string()),
            ];
            if clock.reminded_at.is_none() {
                queue_to_staff(&mut tx, &case, Event::Reminder, &fill, now).await?;
                tx.mark_reminded(case.id, clock.clock, now).await?;
                report.reminded += 1;
            }
            if clock.times.due < now {
                queue_to_staff(&mut tx, &case, Event::Breach, &fill, now).await?;
                tx.mark_breached(case.id, clock.clock, now).await?;
                let change = Change {
                    org_id: Some(case.org_id),
                    action: "case.breach",
                    subject: format!("case:{}", case.id),
                    reason: "",
                    details: json!({ "clock": clock.clock.as_str(), "due": clock.times.due }),
                };
                record(&mut tx, None, now, change).await?;
                report.breached += 1;
            }
        }
        for case_id in tx.cases_to_mark_mitigated().await? {
            let Some(mut case) = tx.case(case_id).await? else {
                continue;
            };
            if let Ok(next) = case.state.after(CaseStep::Mitigate) {
                case.state = next;
                case.updated_at = now;
                tx.update_case(&case).await?;
                let change = Change {
                    org_id: Some(case.org_id),
                    action: "case.step",
                    subject: format!("case:{case_id}"),
                    reason: "the case's actions took effect",
                    details: json!({ "state": CaseState::Mitigated.as_str() }),
                };
                record(&mut tx, None, now, change).await?;
                report.mitigated += 1;
            }
        }
        report.review = crate::srw::mark_review_clocks(&mut tx, now).await?;
        report.next = tx.next_clock_event().await?;
        tx.commit().await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_once_and_unknown_ones_stay() {
        let fill = [("case", "7".to_owned()), ("names", "{case}".to_owned())];
        assert_eq!(
            render("[case {case}] {names} {x} {", &fill),
            "[case 7] {case} {x} {"
        );
    }

    #[test]
    fn case_addresses_round_trip() {
        let address = case_address("abuse@registry.example", 42);
        assert_eq!(address, "abuse+case-42@registry.example");
        assert_eq!(case_in_address(&address), Some(42));
        assert_eq!(case_in_address("abuse@registry.example"), None);
    }
}
