//! Reports in and cases worked (SPEC A1–A3): intake from every channel, normalised names, source
//! class and origin, grouping into cases, the case's steps, merge and split, actions decided from
//! a case, and what each role may see of it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use holdfast_model::org::{Actor, OrgKind, Permission, Role};
use holdfast_model::{
    ActionKind, CaseState, CaseStep, Channel, Clock, ClockStanding, ClockTimes, DomainName,
    Priority, ResponsibleParty, SourceClass, ThreatType, case::clock_standing,
};
use holdfast_store::{
    Action, Case, CaseClock, CaseFilter, FileOwner, Message, QueuedCase, Referral, Report,
    ReportName, Store, StoredFile, Tx,
};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::accounts::{email, text};
use crate::desk::{Desk, desk_of, queue_to_reporters};
use crate::files::Upload;
use crate::intake::Draft;
use crate::{ActionRequest, Change, Result, Service, ServiceError, record, require};
use holdfast_model::MessageEvent as Event;

/// The most names one report may list.
pub const MAX_REPORT_NAMES: usize = 2_000_000;
/// The most characters of a report's description.
pub const MAX_DESCRIPTION: usize = 20_000;
/// The most URLs one report may list, and the longest URL.
pub const MAX_URLS: usize = 1_000;
pub(crate) const MAX_URL: usize = 2_048;
/// Below this many names and URLs a report is normalised in place, not on a blocking thread.
const INLINE_NAMES: usize = 1_000;
/// The largest evidence file.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

/// Who is submitting a report.
#[derive(Debug, Clone)]
pub enum Submitter {
    /// A signed-in user (API, CLI).
    User(Actor),
    /// The public web form, from a client address.
    WebForm { client: IpAddr },
    /// An e-mail the desk received (kept whole as `mail_id`).
    Email { mail_id: i64, from: String },
}

impl Submitter {
    /// How the report arrives.
    fn channel(&self) -> Channel {
        match self {
            Submitter::User(_) => Channel::Api,
            Submitter::WebForm { .. } => Channel::WebForm,
            Submitter::Email { .. } => Channel::Email,
        }
    }

    /// The signed-in user, if it is one.
    fn actor(&self) -> Option<&Actor> {
        match self {
            Submitter::User(actor) => Some(actor),
            _ => None,
        }
    }
}

/// An optional text field, when it says anything.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.trim().is_empty())
}

/// A report as submitted.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    /// The registry the report is for; found from the names' TLDs when not given.
    pub registry: Option<i64>,
    pub threat_type: Option<ThreatType>,
    pub description: String,
    pub names: Vec<String>,
    pub urls: Vec<String>,
    pub requested_action: Option<ActionKind>,
    pub claimed_urgency: Option<Priority>,
    pub legal_basis: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_email: Option<String>,
    /// Registry staff entering a report for someone (a phone call) may set its class.
    pub source_class: Option<SourceClass>,
    /// Why an e-mail report could not be parsed: the report keeps the whole message.
    pub parse_error: Option<String>,
}

/// A file sent with a report (a web form's evidence field).
#[derive(Debug, Clone, Copy)]
pub struct EvidenceFile<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
}

/// What the desk answers when a report is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportReceipt {
    pub report_id: i64,
    pub case_id: i64,
    pub source_class: SourceClass,
    pub names: i64,
    pub ours: i64,
    pub not_ours: i64,
    pub invalid: i64,
}

/// A step on a case, with what the step needs.
#[derive(Debug, Clone)]
pub enum CaseCommand {
    Acknowledge,
    Assess {
        priority: Priority,
        priority_rationale: String,
        threat_type: ThreatType,
        responsible_party: ResponsibleParty,
        course_of_action: String,
        /// When the reporter can expect what (told in the assessment).
        timeline: Option<String>,
    },
    Mitigate,
    Close {
        note: Option<String>,
    },
    CloseNoAction {
        reason: String,
    },
    Assign {
        user_id: i64,
    },
}

/// A clock of a case and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView {
    pub clock: Clock,
    pub started_at: Timestamp,
    pub due: Timestamp,
    pub remind_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub breached_at: Option<Timestamp>,
    pub standing: ClockStanding,
}

/// Everything staff see of a case.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case: Case,
    pub reports: Vec<Report>,
    pub evidence: Vec<StoredFile>,
    pub clocks: Vec<ClockView>,
    pub actions: Vec<Action>,
    pub referrals: Vec<Referral>,
    pub messages: Vec<Message>,
    /// The first names of the case (ours), with their TLD id.
    pub names: Vec<String>,
}

/// What a reporter sees of their report: the report, where its case stands, and the answers.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub report: Report,
    pub case_state: Option<CaseState>,
    pub evidence: Vec<StoredFile>,
    pub answers: Vec<Message>,
}

/// The TLDs run here, by name: id, registry and the name.
pub(crate) type TldMap = HashMap<String, (i64, i64, DomainName)>;

/// The names a report gives, each normalised once, with its TLD when a registry of this
/// installation runs it. Names under a registered name (`www.shop.tld`) stand for it.
struct Normalised {
    names: Vec<(DomainName, Option<(i64, i64)>)>,
    invalid: Vec<ReportName>,
}

fn normalise(given: &[String], urls: &[String], tlds: &TldMap) -> Normalised {
    let raws: Vec<&str> = given
        .iter()
        .map(String::as_str)
        .chain(urls.iter().filter_map(|url| url_host(url)))
        .map(str::trim)
        .filter(|raw| !raw.is_empty())
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let parts: Vec<Normalised> = if raws.len() < PARALLEL_NAMES || threads < 2 {
        vec![normalise_some(&raws, tlds)]
    } else {
        let size = raws.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = raws
                .chunks(size)
                .map(|chunk| scope.spawn(move || normalise_some(chunk, tlds)))
                .collect();
            workers
                .into_iter()
                .filter_map(|worker| worker.join().ok())
                .collect()
        })
    };
    let mut names = Vec::with_capacity(raws.len());
    let mut invalid = Vec::new();
    for part in parts {
        names.extend(part.names);
        invalid.extend(part.invalid);
    }
    // Sorting then dropping repeats costs no allocation per name, unlike a set of seen names.
    names.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    names.dedup_by(|a, b| a.0 == b.0);
    invalid.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    invalid.dedup_by(|a, b| a.name == b.name);
    Normalised { names, invalid }
}

/// Reports at least this long are normalised on every core.
const PARALLEL_NAMES: usize = 50_000;

/// Normalises some of a report's names: each checked once, names below a registered name of a
/// TLD run here replaced by it; invalid ones kept with the reason.
fn normalise_some(raws: &[&str], tlds: &TldMap) -> Normalised {
    let mut names = Vec::with_capacity(raws.len());
    let mut invalid = Vec::new();
    for raw in raws {
        match DomainName::parse(raw) {
            Ok(parsed) => {
                let owned = tlds.get(parsed.tld()).and_then(|(id, org, apex)| {
                    Some((parsed.registrable_name(apex)?, (*id, *org)))
                });
                names.push(match owned {
                    Some((registrable, owner)) => (registrable, Some(owner)),
                    None => (parsed, None),
                });
            }
            Err(error) => invalid.push(ReportName {
                // Kept as given but without control characters (PostgreSQL refuses NUL in text).
                name: raw.chars().filter(|c| !c.is_control()).take(300).collect(),
                tld_id: None,
                problem: Some(error.to_string()),
            }),
        }
    }
    Normalised { names, invalid }
}

/// The host of a URL (`hxxp://` and `[.]` defanging undone), if it has one.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = host.split(':').next()?;
    (!host.is_empty() && !host.starts_with('[')).then_some(host)
}

/// Keeps at most `max` characters of hostile free text, without control characters except
/// line breaks and tabs.
pub(crate) fn free_text(field: &str, value: &str, max: usize) -> Result<String> {
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect())
}

fn view_clock(clock: &CaseClock, now: Timestamp) -> ClockView {
    ClockView {
        clock: clock.clock,
        started_at: clock.times.start,
        due: clock.times.due,
        remind_at: clock.times.remind_at,
        done_at: clock.done_at,
        breached_at: clock.breached_at,
        standing: clock_standing(&clock.times, clock.done_at, now),
    }
}

/// The case `id` if `actor` works its registry's desk.
pub(crate) async fn staff_case(tx: &mut Tx, actor: &Actor, id: i64) -> Result<Case> {
    require(actor, Permission::WorkCases)?;
    tx.case(id)
        .await?
        .filter(|case| actor.may_see_org(case.org_id))
        .ok_or(ServiceError::NotFound { what: "case" })
}

impl Service {
    /// Accepts a report from any channel: normalises its names, classifies its source, stores
    /// it with every name and groups it into a case (one sharing a name, or a new one).
    pub async fn submit_report(
        &self,
        submitter: Submitter,
        request: ReportRequest,
        now: Timestamp,
    ) -> Result<ReportReceipt> {
        if let Some(actor) = submitter.actor() {
            require(actor, Permission::FileReports)?;
        }
        let desk_staff = submitter
            .actor()
            .is_some_and(|actor| matches!(actor.role, Role::RegistryStaff | Role::Admin));
        if request.source_class.is_some() && !desk_staff {
            return Err(ServiceError::invalid(
                "source_class",
                "the desk decides a source's class; leave it out",
            ));
        }
        let threat_type = request
            .threat_type
            .ok_or_else(|| ServiceError::invalid("threat_type", "say what the threat is"))?;
        let description = free_text("description", &request.description, MAX_DESCRIPTION)?;
        if request.names.len() > MAX_REPORT_NAMES {
            return Err(ServiceError::invalid(
                "names",
                format!("at most {MAX_REPORT_NAMES} names per report"),
            ));
        }
        if request.urls.len() > MAX_URLS {
            return Err(ServiceError::invalid(
                "urls",
                format!("at most {MAX_URLS} URLs per report"),
            ));
        }
        if let Some(index) = request.urls.iter().position(|url| url.len() > MAX_URL) {
            return Err(ServiceError::invalid(
                format!("urls[{index}]"),
                format!("at most {MAX_URL} characters"),
            ));
        }
        let urls: Vec<String> = request
            .urls
            .iter()
            .map(|url| url.chars().filter(|c| !c.is_control()).collect())
            .collect();
        let by_email = matches!(submitter, Submitter::Email { .. });
        if request.names.is_empty() && urls.is_empty() && !by_email {
            return Err(ServiceError::invalid(
                "names",
                "name at least one domain name or URL",
            ));
        }
        let legal_basis = given(&request.legal_basis)
            .map(|value| free_text("legal_basis", value, 2000))
            .transpose()?;
        let reporter_email = given(&request.reporter_email)
            .map(|value| email("reporter_email", value))
            .transpose()?;
        let reporter_name = given(&request.reporter_name)
            .map(|value| text("reporter_name", value, 200))
            .transpose()?;

        // What only reads is settled here, before the writer: from the caches when they hold
        // it, else from one read transaction opened when first needed.
        let mut reader: Option<Tx> = None;
        let tlds = self.tld_map(&mut reader, now).await?;
        let names = request.names;
        let normalised = if names.len() + urls.len() < INLINE_NAMES {
            normalise(&names, &urls, &tlds)
        } else {
            let hosts = urls.clone();
            tokio::task::spawn_blocking(move || normalise(&names, &hosts, &tlds))
                .await
                .map_err(|error| ServiceError::Internal {
                    what: format!("normalising names: {error}"),
                })?
        };
        let registry = match request.registry {
            Some(org_id) => {
                let tx = read_tx(&self.store, &mut reader).await?;
                crate::organisation_of_kind(tx, org_id, OrgKind::Registry).await?;
                org_id
            }
            None => match busiest_registry(&normalised) {
                Some(org_id) => org_id,
                None => only_registry(read_tx(&self.store, &mut reader).await?).await?,
            },
        };
        let desk = self.cached_desk(&mut reader, registry, now).await?;
        let (source_class, origin, user, reporter_org, name, contact) = match &submitter {
            Submitter::User(actor) => {
                let (class, origin) = self
                    .user_source(&mut reader, actor, registry, request.source_class, now)
                    .await?;
                let on_behalf = matches!(actor.role, Role::RegistryStaff | Role::Admin);
                let contact = if on_behalf {
                    reporter_email.clone()
                } else {
                    Some(actor.email.clone())
                };
                (
                    class,
                    origin,
                    (!on_behalf).then_some(actor.user_id),
                    (!on_behalf).then_some(actor.org_id),
                    reporter_name.clone().unwrap_or_else(|| actor.email.clone()),
                    contact,
                )
            }
            Submitter::WebForm { client } => (
                SourceClass::Other,
                format!("public web form from {client}; the contact address was not verified"),
                None,
                None,
                reporter_name
                    .clone()
                    .unwrap_or_else(|| "anonymous".to_owned()),
                reporter_email.clone(),
            ),
            Submitter::Email { mail_id, from } => {
                let domain = from.rsplit_once('@').map(|(_, domain)| domain.to_owned());
                let recognised = read_tx(&self.store, &mut reader)
                    .await?
                    .recognised_source(registry, domain.as_deref(), None)
                    .await?;
                let (class, origin) = match recognised {
                    Some(label) => (
                        SourceClass::Recognised,
                        format!(
                            "e-mail #{mail_id} from {from}, a domain of recognised source \
                             {label}; the sender address is as the message states it"
                        ),
                    ),
                    None => (
                        SourceClass::Other,
                        format!("e-mail #{mail_id} from {from}; the sender was not verified"),
                    ),
                };
                (
                    class,
                    origin,
                    None,
                    None,
                    reporter_name.clone().unwrap_or_else(|| from.clone()),
                    Some(from.clone()),
                )
            }
        };
        drop(reader);
        let mut rows: Vec<ReportName> = normalised
            .names
            .into_iter()
            .map(|(name, owner)| ReportName {
                name: name.as_str().to_owned(),
                tld_id: owner.filter(|(_, org)| *org == registry).map(|(id, _)| id),
                problem: None,
            })
            .collect();
        rows.extend(normalised.invalid);
        let ours = rows.iter().filter(|row| row.tld_id.is_some()).count();
        let invalid = rows.iter().filter(|row| row.problem.is_some()).count();
        let total = rows.len();
        let draft = Draft {
            registry,
            submitter: submitter.actor().cloned(),
            channel: submitter.channel(),
            source_class,
            origin,
            reporter_user_id: user,
            reporter_org_id: reporter_org,
            reporter_name: name,
            reporter_email: contact,
            threat_type,
            description,
            requested_action: request.requested_action.map(ActionKind::as_str),
            claimed_urgency: request.claimed_urgency,
            legal_basis,
            urls,
            mail_id: match &submitter {
                Submitter::Email { mail_id, .. } => Some(*mail_id),
                _ => None,
            },
            parse_error: request.parse_error,
            names: rows,
            acknowledge: Clock::Acknowledge.schedule(&desk.calendar, now, &desk.targets),
            now,
        };
        let stored = self.intake.store(&self.store, draft).await?;
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        Ok(ReportReceipt {
            report_id: stored.report_id,
            case_id: stored.case_id,
            source_class,
            names: count(total),
            ours: count(ours),
            not_ours: count(total - ours - invalid),
            invalid: count(invalid),
        })
    }

    /// The TLDs run here by name: id, registry and the name (cached).
    async fn tld_map(&self, reader: &mut Option<Tx>, now: Timestamp) -> Result<Arc<TldMap>> {
        let cache = &self.caches.tlds;
        if let Some(tlds) = cache.get(&(), now) {
            return Ok(tlds);
        }
        let generation = cache.generation();
        let tlds: TldMap = read_tx(&self.store, reader)
            .await?
            .tld_settings()
            .await?
            .into_iter()
            .map(|tld| (tld.name.as_str().to_owned(), (tld.id, tld.org_id, tld.name)))
            .collect();
        let tlds = Arc::new(tlds);
        cache.put(generation, (), tlds.clone(), now);
        Ok(tlds)
    }

    /// A registry's desk (cached).
    async fn cached_desk(
        &self,
        reader: &mut Option<Tx>,
        registry: i64,
        now: Timestamp,
    ) -> Result<Desk> {
        let cache = &self.caches.desks;
        if let Some(desk) = cache.get(&registry, now) {
            return Ok(desk);
        }
        let generation = cache.generation();
        let desk = desk_of(read_tx(&self.store, reader).await?, registry).await?;
        cache.put(generation, registry, desk.clone(), now);
        Ok(desk)
    }

    /// The source class and origin of a report from a signed-in user (a reporter's is cached).
    async fn user_source(
        &self,
        reader: &mut Option<Tx>,
        actor: &Actor,
        registry: i64,
        claimed: Option<SourceClass>,
        now: Timestamp,
    ) -> Result<(SourceClass, String)> {
        if matches!(actor.role, Role::RegistryStaff | Role::Admin) {
            let class = claimed.unwrap_or(SourceClass::Other);
            return Ok((
                class,
                format!("entered by desk staff {} for the reporter", actor.email),
            ));
        }
        let cache = &self.caches.sources;
        let key = (registry, actor.org_id, actor.email.clone());
        if let Some(source) = cache.get(&key, now) {
            return Ok(source);
        }
        let generation = cache.generation();
        let source = reporter_source(read_tx(&self.store, reader).await?, actor, registry).await?;
        cache.put(generation, key, source.clone(), now);
        Ok(source)
    }

    /// Attaches an evidence file to a report: by the reporter who filed it or the registry's
    /// staff. The SHA-256 is computed here; the size is limited.
    pub async fn add_evidence(
        &self,
        actor: &Actor,
        report_id: i64,
        filename: &str,
        content_type: &str,
        content: &[u8],
        now: Timestamp,
    ) -> Result<StoredFile> {
        let upload = Upload::new(filename, content_type, content)?;
        let mut tx = self.store.write().await?;
        let report = visible_report(&mut tx, actor, report_id).await?;
        let id = tx
            .insert_file(FileOwner::Report, report.id, upload.stored(), now)
            .await?;
        let change = Change {
            org_id: Some(report.registry_org_id),
            action: "evidence.add",
            subject: format!("report:{report_id}"),
            reason: "",
            details: json!({ "evidence": id, "filename": upload.filename,
                             "sha256": upload.sha256, "size": content.len() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let stored = tx
            .files(FileOwner::Report, report.id)
            .await?
            .into_iter()
            .find(|evidence| evidence.id == id)
            .ok_or(ServiceError::NotFound { what: "evidence" })?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Files a report with evidence files (a web form with a file): each file is checked
    /// before the report is filed — a file over the limit is refused at `evidence` and nothing
    /// is stored — then the report is filed and its files stored just after it, as an
    /// e-mail's attachments are. Gives the report's stored files with their SHA-256.
    pub async fn submit_report_with_evidence(
        &self,
        submitter: Submitter,
        request: ReportRequest,
        evidence: &[EvidenceFile<'_>],
        now: Timestamp,
    ) -> Result<(ReportReceipt, Vec<StoredFile>)> {
        let uploads = evidence
            .iter()
            .map(|file| {
                Upload::new(file.filename, file.content_type, file.content).map_err(|error| {
                    match error {
                        ServiceError::Invalid { reason, .. } => {
                            ServiceError::invalid("evidence", reason)
                        }
                        other => other,
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let receipt = self.submit_report(submitter.clone(), request, now).await?;
        if uploads.is_empty() {
            return Ok((receipt, Vec::new()));
        }
        let mut tx = self.store.write().await?;
        let report = tx
            .report(receipt.report_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "report" })?;
        for upload in &uploads {
            let id = tx
                .insert_file(FileOwner::Report, report.id, upload.stored(), now)
                .await?;
            let change = Change {
                org_id: Some(report.registry_org_id),
                action: "evidence.add",
                subject: format!("report:{}", report.id),
                reason: "",
                details: json!({ "evidence": id, "filename": upload.filename,
                                 "sha256": upload.sha256, "size": upload.content.len() }),
            };
            record(&mut tx, submitter.actor(), now, change).await?;
        }
        let stored = tx.files(FileOwner::Report, report.id).await?;
        tx.commit().await?;
        Ok((receipt, stored))
    }

    /// An evidence file's name and content, for those who may see its report.
    pub async fn evidence_file(&self, actor: &Actor, id: i64) -> Result<(String, Vec<u8>)> {
        let mut tx = self.store.read().await?;
        let (report_id, filename, content) = tx
            .file_content(FileOwner::Report, id)
            .await?
            .ok_or(ServiceError::NotFound { what: "evidence" })?;
        visible_report(&mut tx, actor, report_id).await?;
        Ok((filename, content))
    }

    /// The reports a reporter filed (reporters), newest first.
    pub async fn my_reports(&self, actor: &Actor) -> Result<Vec<Report>> {
        require(actor, Permission::FileReports)?;
        let mut tx = self.store.read().await?;
        Ok(tx.reports_by_user(actor.user_id).await?)
    }

    /// One report with where its case stands and the answers sent about it.
    pub async fn report(&self, actor: &Actor, id: i64) -> Result<ReportView> {
        let mut tx = self.store.read().await?;
        let report = visible_report(&mut tx, actor, id).await?;
        let case_state = match report.case_id {
            Some(case_id) => tx.case(case_id).await?.map(|case| case.state),
            None => None,
        };
        let evidence = tx.files(FileOwner::Report, id).await?;
        let answers = tx.report_messages(id).await?;
        Ok(ReportView {
            report,
            case_state,
            evidence,
            answers,
        })
    }

    /// The names of a report, in name order after `after`.
    pub async fn report_names(
        &self,
        actor: &Actor,
        id: i64,
        after: &str,
        limit: i64,
    ) -> Result<Vec<ReportName>> {
        let mut tx = self.store.read().await?;
        visible_report(&mut tx, actor, id).await?;
        Ok(tx.report_names(id, after, limit.clamp(1, 10_000)).await?)
    }

    /// A registry's queue: open cases (or all), nearest deadline first.
    pub async fn cases(&self, actor: &Actor, filter: &CaseFilter) -> Result<Vec<QueuedCase>> {
        require(actor, Permission::WorkCases)?;
        let mut tx = self.store.read().await?;
        let org_id = (actor.role != Role::Admin).then_some(actor.org_id);
        Ok(tx.cases(org_id, filter).await?)
    }

    /// Everything staff see of a case.
    pub async fn case(&self, actor: &Actor, id: i64, now: Timestamp) -> Result<CaseView> {
        let mut tx = self.store.read().await?;
        let case = staff_case(&mut tx, actor, id).await?;
        let reports = tx.case_reports(id).await?;
        let mut evidence = Vec::new();
        for report in &reports {
            evidence.extend(tx.files(FileOwner::Report, report.id).await?);
        }
        let clocks = tx
            .case_clocks(id)
            .await?
            .iter()
            .map(|clock| view_clock(clock, now))
            .collect();
        let mut actions = Vec::new();
        for action_id in tx.case_action_ids(id).await? {
            if let Some(action) = tx.action(action_id).await? {
                actions.push(action);
            }
        }
        let referrals = tx.case_referrals(id).await?;
        let messages = tx.case_messages(id).await?;
        let names = tx
            .case_names(id, 1_000)
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        Ok(CaseView {
            case,
            reports,
            evidence,
            clocks,
            actions,
            referrals,
            messages,
            names,
        })
    }

    /// Takes a step on a case: the state moves, clocks stop and start, and the reporters get
    /// the message the step calls for.
    pub async fn case_step(
        &self,
        actor: &Actor,
        id: i64,
        command: CaseCommand,
        now: Timestamp,
    ) -> Result<Case> {
        let mut tx = self.store.write().await?;
        let mut case = staff_case(&mut tx, actor, id).await?;
        if case.merged_into.is_some() {
            return Err(ServiceError::Conflict {
                what: format!("case {id} was merged into another case"),
            });
        }
        let step = match &command {
            CaseCommand::Acknowledge => Some(CaseStep::Acknowledge),
            CaseCommand::Assess { .. } => Some(CaseStep::Assess),
            CaseCommand::Mitigate => Some(CaseStep::Mitigate),
            CaseCommand::Close { .. } => Some(CaseStep::Close),
            CaseCommand::CloseNoAction { .. } => Some(CaseStep::CloseNoAction),
            CaseCommand::Assign { .. } => None,
        };
        if let Some(step) = step {
            case.state = case
                .state
                .after(step)
                .map_err(|refused| ServiceError::Conflict {
                    what: refused.to_string(),
                })?;
        }
        let desk = desk_of(&mut tx, case.org_id).await?;
        let mut details = json!({ "state": case.state.as_str() });
        let mut event = None;
        let mut fill: Vec<(&'static str, String)> = Vec::new();
        match command {
            CaseCommand::Acknowledge => {
                tx.stop_clock(id, Clock::Acknowledge, now).await?;
                let times = Clock::Assess.schedule(&desk.calendar, now, &desk.targets);
                tx.start_clock(id, Clock::Assess, &times).await?;
                fill.push(("assess_due", times.due.to_string()));
                event = Some(Event::Acknowledgment);
            }
            CaseCommand::Assess {
                priority,
                priority_rationale,
                threat_type,
                responsible_party,
                course_of_action,
                timeline,
            } => {
                // The decider records why, for High and Standard alike (SPEC A2): `text`
                // refuses a blank rationale, naming the field.
                let rationale = text("priority_rationale", &priority_rationale, 2000)?;
                let course = free_text("course_of_action", &course_of_action, 5000)?;
                if course.trim().is_empty() {
                    return Err(ServiceError::invalid(
                        "course_of_action",
                        "say what the desk will do (or why nothing)",
                    ));
                }
                let timeline = timeline
                    .map(|value| free_text("timeline", &value, 2000))
                    .transpose()?;
                tx.stop_clock(id, Clock::Assess, now).await?;
                details = json!({ "state": case.state.as_str(), "priority": priority.as_str(),
                    "priority_rationale": rationale, "threat_type": threat_type.as_str(),
                    "responsible_party": responsible_party.as_str(), "course_of_action": course });
                fill.push(("priority", priority.as_str().to_owned()));
                fill.push(("course_of_action", course.clone()));
                fill.push((
                    "timeline",
                    timeline.unwrap_or_else(|| "we will tell you when it is done".to_owned()),
                ));
                case.priority = Some(priority);
                case.priority_rationale = Some(rationale);
                case.threat_type = threat_type;
                case.responsible_party = Some(responsible_party);
                case.course_of_action = Some(course);
                event = Some(Event::Assessment);
            }
            CaseCommand::Mitigate => {}
            CaseCommand::Close { note } => {
                let note = note
                    .map(|value| free_text("note", &value, 2000))
                    .transpose()?
                    .unwrap_or_default();
                close_clocks(&mut tx, id, now).await?;
                case.closed_at = Some(now);
                fill.push(("note", note));
                event = Some(Event::Closure);
            }
            CaseCommand::CloseNoAction { reason } => {
                let reason = text("reason", &reason, 2000)?;
                close_clocks(&mut tx, id, now).await?;
                case.closed_at = Some(now);
                fill.push(("reason", reason.clone()));
                details = json!({ "state": case.state.as_str(), "reason": reason });
                case.no_action_reason = Some(reason);
                event = Some(Event::NoAction);
            }
            CaseCommand::Assign { user_id } => {
                let user = tx
                    .user(user_id)
                    .await?
                    .filter(|user| user.org_id == case.org_id && user.disabled_at.is_none())
                    .ok_or_else(|| {
                        ServiceError::invalid("user_id", "not an active member of this desk")
                    })?;
                case.assigned_to = Some(user.id);
                details = json!({ "assigned_to": user.email });
            }
        }
        case.updated_at = now;
        tx.update_case(&case).await?;
        if let Some(event) = event {
            queue_to_reporters(&mut tx, &case, None, event, &fill, now).await?;
        }
        let change = Change {
            org_id: Some(case.org_id),
            action: "case.step",
            subject: format!("case:{id}"),
            reason: "",
            details,
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Merges case `from` into case `into`: its reports move, it is closed as merged.
    pub async fn merge_cases(
        &self,
        actor: &Actor,
        into: i64,
        from: i64,
        now: Timestamp,
    ) -> Result<Case> {
        if into == from {
            return Err(ServiceError::invalid(
                "from",
                "a case cannot be merged into itself",
            ));
        }
        let mut tx = self.store.write().await?;
        let mut target = staff_case(&mut tx, actor, into).await?;
        let mut source = staff_case(&mut tx, actor, from).await?;
        for case in [&target, &source] {
            if case.state.is_closed() || case.merged_into.is_some() {
                return Err(ServiceError::Conflict {
                    what: format!("case {} is closed", case.id),
                });
            }
        }
        if source.org_id != target.org_id {
            return Err(ServiceError::invalid(
                "from",
                "both cases must belong to one desk",
            ));
        }
        let reports: Vec<i64> = tx.case_reports(from).await?.iter().map(|r| r.id).collect();
        tx.set_reports_case(&reports, into).await?;
        close_clocks(&mut tx, from, now).await?;
        source.merged_into = Some(into);
        source.closed_at = Some(now);
        source.updated_at = now;
        tx.update_case(&source).await?;
        target.updated_at = now;
        tx.update_case(&target).await?;
        let change = Change {
            org_id: Some(target.org_id),
            action: "case.merge",
            subject: format!("case:{into}"),
            reason: "",
            details: json!({ "merged": from, "reports": reports }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(target)
    }

    /// Splits reports off a case into a new case that starts where the old one stands.
    pub async fn split_case(
        &self,
        actor: &Actor,
        id: i64,
        report_ids: &[i64],
        now: Timestamp,
    ) -> Result<Case> {
        let mut tx = self.store.write().await?;
        let case = staff_case(&mut tx, actor, id).await?;
        if case.state.is_closed() || case.merged_into.is_some() {
            return Err(ServiceError::Conflict {
                what: format!("case {id} is closed"),
            });
        }
        let reports: HashSet<i64> = tx.case_reports(id).await?.iter().map(|r| r.id).collect();
        if report_ids.is_empty() || report_ids.len() >= reports.len() {
            return Err(ServiceError::invalid(
                "reports",
                "name some, but not all, of the case's reports",
            ));
        }
        if let Some(stranger) = report_ids.iter().find(|r| !reports.contains(r)) {
            return Err(ServiceError::invalid(
                "reports",
                format!("report {stranger} is not in case {id}"),
            ));
        }
        let new_id = tx.insert_case(case.org_id, case.threat_type, now).await?;
        let mut split = Case {
            id: new_id,
            created_at: now,
            updated_at: now,
            merged_into: None,
            closed_at: None,
            ..case.clone()
        };
        tx.update_case(&split).await?;
        for clock in tx.case_clocks(id).await? {
            tx.start_clock(new_id, clock.clock, &clock.times).await?;
            if let Some(done) = clock.done_at {
                tx.stop_clock(new_id, clock.clock, done).await?;
            }
        }
        tx.set_reports_case(report_ids, new_id).await?;
        split = tx
            .case(new_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "case" })?;
        let change = Change {
            org_id: Some(case.org_id),
            action: "case.split",
            subject: format!("case:{id}"),
            reason: "",
            details: json!({ "new_case": new_id, "reports": report_ids }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(split)
    }

    /// What deciding `request` on case `case_id` would do ([`Service::preview_action`]), with
    /// the same checks of the case as [`Service::decide_case_action`]: no names means every
    /// name of the case. Reads only.
    pub async fn preview_case_action(
        &self,
        actor: &Actor,
        case_id: i64,
        mut request: ActionRequest,
        now: Timestamp,
    ) -> Result<crate::ActionPreview> {
        let mut tx = self.store.read().await?;
        case_for_action(&mut tx, actor, case_id, &mut request).await?;
        drop(tx);
        self.preview_action(actor, &request, now).await
    }

    /// Decides an action on names from a case (all the case's names when none are given). A
    /// referral notifies each sponsoring registrar with the evidence and starts the referral
    /// clock on the registry's calendar.
    pub async fn decide_case_action(
        &self,
        actor: &Actor,
        case_id: i64,
        mut request: ActionRequest,
        now: Timestamp,
    ) -> Result<Action> {
        let (case, desk) = {
            let mut tx = self.store.read().await?;
            let case = case_for_action(&mut tx, actor, case_id, &mut request).await?;
            let desk = desk_of(&mut tx, case.org_id).await?;
            (case, desk)
        };
        if request.kind == ActionKind::Refer && request.deadline.is_none() {
            let times = Clock::Referral.schedule(&desk.calendar, now, &desk.targets);
            request.deadline = Some(times.due);
        }
        let action = self.decide_action(actor, request, now).await?;
        let mut tx = self.store.write().await?;
        let mut case = tx
            .case(case.id)
            .await?
            .ok_or(ServiceError::NotFound { what: "case" })?;
        case.state = case
            .state
            .after(CaseStep::DecideAction)
            .map_err(|refused| ServiceError::Conflict {
                what: refused.to_string(),
            })?;
        case.updated_at = now;
        tx.update_case(&case).await?;
        if action.kind == ActionKind::Refer
            && let Some(due) = action.deadline
        {
            crate::desk::refer(&mut tx, &case, &action, due, now).await?;
            tx.start_clock(case.id, Clock::Referral, &ClockTimes::until(now, due))
                .await?;
        }
        let change = Change {
            org_id: Some(case.org_id),
            action: "case.action",
            subject: format!("case:{case_id}"),
            reason: &action.reason,
            details: json!({ "action": action.id, "kind": action.kind.as_str() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(action)
    }
}

/// Stops every running clock of a case (it closed or merged).
async fn close_clocks(tx: &mut Tx, case_id: i64, now: Timestamp) -> Result<()> {
    for clock in Clock::ALL {
        tx.stop_clock(case_id, *clock, now).await?;
    }
    Ok(())
}

/// The registry most of the names belong to.
fn busiest_registry(normalised: &Normalised) -> Option<i64> {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for (_, owner) in &normalised.names {
        if let Some((_, org)) = owner {
            *counts.entry(*org).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(org, count)| (*count, std::cmp::Reverse(*org)))
        .map(|(org, _)| org)
}

/// The read transaction of `slot`, begun now if it was not yet.
async fn read_tx<'a>(store: &Store, slot: &'a mut Option<Tx>) -> Result<&'a mut Tx> {
    if slot.is_none() {
        *slot = Some(store.read().await?);
    }
    slot.as_mut().ok_or(ServiceError::Internal {
        what: "no read transaction".to_owned(),
    })
}

/// The installation's one registry, when none of the names says which.
async fn only_registry(tx: &mut Tx) -> Result<i64> {
    let registries: Vec<i64> = tx
        .organisations()
        .await?
        .into_iter()
        .filter(|org| org.kind == OrgKind::Registry)
        .map(|org| org.id)
        .collect();
    match registries.as_slice() {
        [only] => Ok(*only),
        [] => Err(ServiceError::invalid(
            "registry",
            "this installation has no registry to report to",
        )),
        _ => Err(ServiceError::invalid(
            "registry",
            "none of the names is in a TLD run here: say which registry the report is for",
        )),
    }
}

/// The source class and origin of a report from a signed-in reporter: verified law enforcement,
/// a recognised source of the registry, or other.
async fn reporter_source(
    tx: &mut Tx,
    actor: &Actor,
    registry: i64,
) -> Result<(SourceClass, String)> {
    if let Some((verifier, at)) = tx.lea_verified(actor.org_id).await? {
        return Ok((
            SourceClass::Lea,
            format!(
                "signed-in account {} of an organisation verified as law enforcement by {verifier} \
                 on {at}",
                actor.email
            ),
        ));
    }
    let domain = actor.email.rsplit_once('@').map(|(_, domain)| domain);
    if let Some(label) = tx
        .recognised_source(registry, domain, Some(actor.org_id))
        .await?
    {
        return Ok((
            SourceClass::Recognised,
            format!(
                "signed-in account {} of recognised source {label}",
                actor.email
            ),
        ));
    }
    Ok((
        SourceClass::Other,
        format!("signed-in account {}", actor.email),
    ))
}

/// The report `id` if `actor` may see it: its reporter, or staff of its registry.
async fn visible_report(tx: &mut Tx, actor: &Actor, id: i64) -> Result<Report> {
    let report = tx
        .report(id)
        .await?
        .ok_or(ServiceError::NotFound { what: "report" })?;
    let visible = match actor.role {
        Role::Admin => true,
        Role::RegistryStaff => report.registry_org_id == actor.org_id,
        _ => report.reporter_user_id == Some(actor.user_id),
    };
    if visible {
        Ok(report)
    } else {
        Err(ServiceError::NotFound { what: "report" })
    }
}

/// The case an action is decided from, checked as deciding needs (staff of its registry, a
/// state that allows it), and `request` made the case's: its reference, and every name of the
/// case when it names none.
async fn case_for_action(
    tx: &mut Tx,
    actor: &Actor,
    case_id: i64,
    request: &mut ActionRequest,
) -> Result<Case> {
    let case = staff_case(tx, actor, case_id).await?;
    case.state
        .after(CaseStep::DecideAction)
        .map_err(|refused| ServiceError::Conflict {
            what: refused.to_string(),
        })?;
    if request.names.is_empty() {
        request.names = tx
            .case_names(case_id, 2_000_000)
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
    }
    request.case_ref = Some(format!("case:{case_id}"));
    Ok(case)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        let check = |url: &str, expect: Option<&str>| assert_eq!(url_host(url), expect, "{url}");
        check("https://login.bank.example/x?y", Some("login.bank.example"));
        check("http://user:pw@evil.example:8080/", Some("evil.example"));
        check("evil.example/path", Some("evil.example"));
        check("http://[2001:db8::1]/", None);
        check("", None);
    }
}
