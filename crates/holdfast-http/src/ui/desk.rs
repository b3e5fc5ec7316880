//! The registry desk's pages: the queue (nearest deadline first, countdowns, breach marks,
//! filters) and the case page (reports, evidence, names with their registry state, clocks,
//! steps, actions with time to effect and undo, the message thread), evidence added by staff
//! (a `multipart/form-data` form) and evidence downloads.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::{
    ActionKind, CaseState, CaseStep, Priority, ResponsibleParty, SourceClass, ThreatType,
};
use holdfast_service::{
    Action, ActionRequest, ActionState, Availability, CaseCommand, CaseFilter, CaseView, Direction,
    QueuedCase, ServiceError,
};
use jiff::Timestamp;
use serde::Deserialize;

use super::format::{countdown, maybe_time, size, standing, time, words};
use super::preview::PreviewView;
use super::session::{Fields, with_done};
use super::upload::{FilePart, UploadForm, limit_text};
use super::{Chrome, Notice, Session, error_page, file_download, refused_status, render, require};
use crate::AppState;
use crate::registry_api::spawn_run;
use holdfast_model::org::Permission;

/// One row of the queue.
pub struct QueueRow {
    pub id: i64,
    pub state: String,
    pub threat: String,
    pub priority: String,
    pub high: bool,
    pub reports: i64,
    pub due: String,
    pub countdown: String,
    pub overdue: bool,
    pub breaches: i64,
    pub opened: String,
}

impl QueueRow {
    pub fn new(queued: &QueuedCase, now: Timestamp) -> QueueRow {
        let case = &queued.case;
        QueueRow {
            id: case.id,
            state: words(case.state.as_str()),
            threat: words(case.threat_type.as_str()),
            priority: case
                .priority
                .map_or_else(|| "not set".to_owned(), |p| p.as_str().to_owned()),
            high: case.priority == Some(Priority::High),
            reports: queued.reports,
            due: maybe_time(queued.next_due),
            countdown: queued
                .next_due
                .map(|due| countdown(due, now))
                .unwrap_or_default(),
            overdue: queued.next_due.is_some_and(|due| due < now),
            breaches: queued.breaches,
            opened: time(case.created_at),
        }
    }
}

/// A choice in a select list.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(values: impl IntoIterator<Item = (&'a str, String)>, selected: &str) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value: value.to_owned(),
            label,
        })
        .collect()
}

fn spelled<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, String)> {
    values
        .into_iter()
        .map(|value| (value, words(value)))
        .collect()
}

/// The queue's filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    state: String,
    priority: String,
    threat_type: String,
    source: String,
    tld: String,
    done: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    states: Vec<Choice>,
    priorities: Vec<Choice>,
    threats: Vec<Choice>,
    sources: Vec<Choice>,
    tlds: Vec<Choice>,
    error: Option<String>,
    refresh: String,
    now: String,
}

fn parse_filter<T: std::str::FromStr>(
    field: &str,
    text: &str,
    error: &mut Option<String>,
) -> Option<T> {
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse().ok();
    if parsed.is_none() && error.is_none() {
        *error = Some(format!("{field}: {text:?} is not one of the choices"));
    }
    parsed
}

/// `GET /desk`: the queue, nearest deadline first.
pub async fn queue(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<QueueQuery>,
) -> Response {
    let actor = &session.actor;
    let now = state.clock.now();
    let mut error = None;
    let include_closed = query.state == "all";
    let filter = CaseFilter {
        state: if include_closed {
            None
        } else {
            parse_filter::<CaseState>("state", &query.state, &mut error)
        },
        priority: parse_filter("priority", &query.priority, &mut error),
        threat_type: parse_filter("threat type", &query.threat_type, &mut error),
        source_class: parse_filter("source", &query.source, &mut error),
        tld_id: parse_filter("TLD", &query.tld, &mut error),
        include_closed: include_closed
            || query.state == CaseState::Closed.as_str()
            || query.state == CaseState::ClosedNoAction.as_str(),
    };
    let cases = match state.service.cases(actor, &filter).await {
        Ok(cases) => cases,
        Err(error) => return error_page(&session, &error),
    };
    let tlds = match state.service.tlds(actor).await {
        Ok(tlds) => tlds,
        Err(error) => return error_page(&session, &error),
    };
    let mut states = vec![
        ("", "open cases".to_owned()),
        ("all", "all, with closed".to_owned()),
    ];
    states.extend(spelled(CaseState::ALL.iter().map(|s| s.as_str())));
    let refresh: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &query.state)
        .append_pair("priority", &query.priority)
        .append_pair("threat_type", &query.threat_type)
        .append_pair("source", &query.source)
        .append_pair("tld", &query.tld)
        .finish();
    let any = || ("", "any".to_owned());
    let tld_ids: Vec<(String, String)> = tlds
        .iter()
        .map(|tld| (tld.id.to_string(), format!(".{}", tld.name)))
        .collect();
    let page = QueuePage {
        chrome: Chrome::new(&session, "Queue", "/desk").with_notice(match query.done.as_str() {
            "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
            _ => None,
        }),
        rows: cases
            .iter()
            .map(|queued| QueueRow::new(queued, now))
            .collect(),
        states: choices(states, &query.state),
        priorities: choices(
            std::iter::once(any()).chain(spelled(Priority::ALL.iter().map(|p| p.as_str()))),
            &query.priority,
        ),
        threats: choices(
            std::iter::once(any()).chain(spelled(ThreatType::ALL.iter().map(|t| t.as_str()))),
            &query.threat_type,
        ),
        sources: choices(
            std::iter::once(any()).chain(spelled(SourceClass::ALL.iter().map(|s| s.as_str()))),
            &query.source,
        ),
        tlds: choices(
            std::iter::once(any())
                .chain(tld_ids.iter().map(|(id, name)| (id.as_str(), name.clone()))),
            &query.tld,
        ),
        error,
        refresh,
        now: time(now),
    };
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(status, &page)
}

/// A form on a page: what was typed (kept when refused) and the error at its field.
#[derive(Default)]
pub struct FormState {
    pub fields: Fields,
    pub error: Option<(String, String)>,
}

impl FormState {
    pub(super) fn refused(fields: Fields, error: &ServiceError, known: &[&str]) -> FormState {
        let (field, message) = match error {
            ServiceError::Invalid { field, reason } => {
                let base = field.split(['[', '.']).next().unwrap_or_default();
                if known.contains(&base) {
                    (base.to_owned(), reason.clone())
                } else {
                    ("form".to_owned(), format!("{field}: {reason}"))
                }
            }
            other => ("form".to_owned(), other.to_string()),
        };
        FormState {
            fields,
            error: Some((field, message)),
        }
    }

    /// What was typed into `name`.
    pub fn value(&self, name: &str) -> &str {
        self.fields.get(name)
    }

    /// The error at `name`, if that is where it is.
    pub fn error_at(&self, name: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(at, _)| at == name)
            .map(|(_, message)| message.as_str())
    }

    pub fn invalid(&self, name: &str) -> bool {
        self.error_at(name).is_some()
    }

    pub fn has(&self, name: &str, value: &str) -> bool {
        self.fields.has(name, value)
    }

    /// Whether the form was sent at all (refused), so checkboxes keep what was ticked.
    pub fn sent(&self) -> bool {
        self.error.is_some()
    }
}

/// A name of the case and where it stands in the registry.
pub struct NameRow {
    pub name: String,
    pub state: String,
    /// In a TLD of this registry: it has a domain page.
    pub ours: bool,
}

/// A clock of the case.
pub struct ClockRow {
    pub clock: String,
    pub started: String,
    pub due: String,
    pub countdown: String,
    pub standing: &'static str,
    pub class: &'static str,
    pub done: String,
}

/// An action of the case.
pub struct ActionRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub reason: String,
    pub results: String,
    pub names: Vec<(String, String)>,
    pub decided: String,
    pub until: String,
    pub effect: String,
    pub undoable: bool,
    /// A delete waiting for a second approver.
    pub approvable: bool,
    pub running: bool,
}

pub struct ReportRow {
    pub id: i64,
    pub channel: String,
    pub source: String,
    pub origin: String,
    pub reporter: String,
    pub received: String,
    pub threat: String,
    pub description: String,
    pub urls: Vec<String>,
    pub names: String,
}

pub struct EvidenceRow {
    pub id: i64,
    pub filename: String,
    pub size: String,
    pub sha256: String,
    pub report: i64,
}

pub struct MessageRow {
    pub incoming: bool,
    pub event: String,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub at: String,
    pub sent: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    id: i64,
    state: String,
    threat: String,
    priority: String,
    high: bool,
    rationale: String,
    responsible: String,
    course: String,
    no_action: String,
    clocks: Vec<ClockRow>,
    names: Vec<NameRow>,
    more_names: bool,
    actions: Vec<ActionRow>,
    running: bool,
    reports: Vec<ReportRow>,
    evidence: Vec<EvidenceRow>,
    messages: Vec<MessageRow>,
    may_acknowledge: bool,
    may_assess: bool,
    may_decide: bool,
    may_close: bool,
    may_close_no_action: bool,
    assess: FormState,
    priorities: Vec<Choice>,
    threats: Vec<Choice>,
    parties: Vec<Choice>,
    act: FormState,
    kinds: Vec<Choice>,
    close: FormState,
    preview: Option<PreviewView>,
    /// Assign, merge and split: the form sent and its error.
    manage: FormState,
    assignee: String,
    staff: Vec<Choice>,
    report_ids: Vec<i64>,
    may_manage: bool,
    /// The evidence form sent and its error (at `report` or `evidence`).
    upload: FormState,
    limit: String,
}

/// The names shown in the case's names table.
const NAMES_SHOWN: usize = 200;
/// The names of each action listed under it.
const ACTION_NAMES_SHOWN: i64 = 50;

fn action_results(action: &Action) -> String {
    let counts: Vec<String> = action
        .counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(result, count)| format!("{count} {}", result.as_str()))
        .collect();
    let mut text = counts.join(", ");
    if action.undone > 0 || action.undo_refused > 0 {
        text.push_str(&format!(
            "; undo: {} restored, {} refused",
            action.undone, action.undo_refused
        ));
    }
    text
}

pub(super) fn effect_text(action: &Action) -> String {
    match (action.effect_ms, action.state) {
        (Some(ms), _) => format!("visible in DNS after {}.{:03} s", ms / 1000, ms % 1000),
        (None, ActionState::Applying | ActionState::Undoing) => "being applied".to_owned(),
        (None, ActionState::Proposed) => "waits for a second approver".to_owned(),
        (None, _) if changes_dns(action.kind) => "measuring".to_owned(),
        (None, _) => "no DNS change".to_owned(),
    }
}

/// A status set as its RFC 5731 names.
pub fn statuses_text(statuses: &holdfast_model::EppStatusSet) -> String {
    statuses
        .iter()
        .map(|status| status.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether an action of `kind` changes what DNS publishes (so its time to effect is measured).
fn changes_dns(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::Hold | ActionKind::Redirect | ActionKind::Delete | ActionKind::Create
    )
}

async fn case_page_response(
    state: &AppState,
    session: &Session,
    id: i64,
    forms: (FormState, FormState, FormState),
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let manage = FormState::default();
    case_page_with(state, session, id, (forms, manage), None, notice, status).await
}

async fn case_page_with(
    state: &AppState,
    session: &Session,
    id: i64,
    (forms, manage): ((FormState, FormState, FormState), FormState),
    preview: Option<PreviewView>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    // The manage forms and the evidence form share the page's second form slot: an error at
    // the evidence form's fields belongs to it.
    let (manage, upload) = match &manage.error {
        Some((field, _)) if UPLOAD_FIELDS.contains(&field.as_str()) => {
            (FormState::default(), manage)
        }
        _ => (manage, FormState::default()),
    };
    let actor = &session.actor;
    let now = state.clock.now();
    let view: CaseView = match state.service.case(actor, id, now).await {
        Ok(view) => view,
        Err(error) => return error_page(session, &error),
    };
    let case = &view.case;
    let mut names = Vec::new();
    for name in view.names.iter().take(NAMES_SHOWN) {
        let registry_state = match state.service.check_name(actor, name, now).await {
            Ok(check) => match check.availability {
                Availability::Registered => match state.service.domain(actor, name, now).await {
                    Ok(domain) => {
                        let statuses = statuses_text(&domain.registration.statuses);
                        (format!("registered; {statuses}"), true)
                    }
                    Err(_) => ("registered".to_owned(), true),
                },
                Availability::Blocked { reason, until } => {
                    (format!("blocked until {} ({reason})", time(until)), true)
                }
                Availability::Available => ("not registered".to_owned(), true),
                Availability::NotOurs => ("not in this registry's TLDs".to_owned(), false),
            },
            Err(error) => (error.to_string(), false),
        };
        names.push(NameRow {
            name: name.clone(),
            state: registry_state.0,
            ours: registry_state.1,
        });
    }
    let mut actions = Vec::new();
    for action in &view.actions {
        let items = state
            .service
            .action_items(actor, action.id, -1, ACTION_NAMES_SHOWN)
            .await
            .unwrap_or_default();
        actions.push(ActionRow {
            id: action.id,
            kind: action.kind.as_str().to_owned(),
            state: action.state.as_str().to_owned(),
            reason: action.reason.clone(),
            results: action_results(action),
            names: items
                .into_iter()
                .map(|item| {
                    let mut result = item.result.as_str().to_owned();
                    if let Some(detail) = item.detail {
                        result.push_str(&format!(" ({detail})"));
                    }
                    if let Some(undone) = item.undo {
                        result.push_str(if undone { "; undone" } else { "; undo refused" });
                    }
                    (item.name, result)
                })
                .collect(),
            decided: time(action.created_at),
            until: action.until.map(time).unwrap_or_default(),
            effect: effect_text(action),
            undoable: action.state == ActionState::Applied,
            approvable: action.state == ActionState::Proposed,
            running: matches!(action.state, ActionState::Applying | ActionState::Undoing),
        });
    }
    let reports = view
        .reports
        .iter()
        .map(|report| ReportRow {
            id: report.id,
            channel: words(report.channel.as_str()),
            source: words(report.source_class.as_str()),
            origin: report.origin.clone(),
            reporter: match &report.reporter_email {
                Some(email) => format!("{} <{email}>", report.reporter_name),
                None => report.reporter_name.clone(),
            },
            received: time(report.received_at),
            threat: words(report.threat_type.as_str()),
            description: report.description.clone(),
            urls: report.urls.clone(),
            names: format!(
                "{} names, {} in this registry, {} invalid",
                report.name_count, report.ours_count, report.invalid_count
            ),
        })
        .collect();
    let evidence = view
        .evidence
        .iter()
        .map(|file| EvidenceRow {
            id: file.id,
            filename: file.filename.clone(),
            size: size(file.size),
            sha256: file.sha256.clone(),
            report: file.owner_id,
        })
        .collect();
    let messages = view
        .messages
        .iter()
        .map(|message| MessageRow {
            incoming: message.direction == Direction::In,
            event: words(&message.event),
            sender: message.sender.clone(),
            recipient: message.recipient.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
            at: time(message.created_at),
            sent: match (message.direction, message.sent_at) {
                (Direction::In, _) => "received".to_owned(),
                (Direction::Out, Some(at)) => format!("sent {}", time(at)),
                (Direction::Out, None) if message.recipient.is_empty() => {
                    "in the portal only (no address)".to_owned()
                }
                (Direction::Out, None) => "waiting to be sent".to_owned(),
            },
        })
        .collect();
    let clocks = view
        .clocks
        .iter()
        .map(|clock| {
            let (standing, class) = standing(clock.standing);
            ClockRow {
                clock: words(clock.clock.as_str()),
                started: time(clock.started_at),
                due: time(clock.due),
                countdown: if clock.done_at.is_none() {
                    countdown(clock.due, now)
                } else {
                    String::new()
                },
                standing,
                class,
                done: maybe_time(clock.done_at),
            }
        })
        .collect();
    let (assess, act, close) = forms;
    let threat_selected = if assess.sent() {
        assess.value("threat_type").to_owned()
    } else {
        case.threat_type.as_str().to_owned()
    };
    let priority_selected = assess.value("priority").to_owned();
    let party_selected = assess.value("responsible_party").to_owned();
    let kind_selected = act.value("kind").to_owned();
    let running = actions.iter().any(|action| action.running);
    let users = state
        .service
        .users(actor, case.org_id)
        .await
        .unwrap_or_default();
    let assignee = case
        .assigned_to
        .and_then(|assigned| users.iter().find(|user| user.id == assigned))
        .map_or_else(
            || "nobody".to_owned(),
            |user| format!("{} <{}>", user.display_name, user.email),
        );
    let assign_selected = match manage.value("user_id") {
        "" => case
            .assigned_to
            .map(|id| id.to_string())
            .unwrap_or_default(),
        typed => typed.to_owned(),
    };
    let staff_ids: Vec<(String, String)> = users
        .iter()
        .filter(|user| !user.disabled && user.role.may(Permission::WorkCases))
        .map(|user| {
            (
                user.id.to_string(),
                format!("{} <{}>", user.display_name, user.email),
            )
        })
        .collect();
    let staff = choices(
        std::iter::once(("", "choose".to_owned())).chain(
            staff_ids
                .iter()
                .map(|(id, label)| (id.as_str(), label.clone())),
        ),
        &assign_selected,
    );
    let page = CasePage {
        chrome: Chrome::new(session, format!("Case {id}"), "/desk").with_notice(notice),
        id,
        state: words(case.state.as_str()),
        threat: words(case.threat_type.as_str()),
        priority: case
            .priority
            .map_or_else(|| "not set".to_owned(), |p| p.as_str().to_owned()),
        high: case.priority == Some(Priority::High),
        rationale: case.priority_rationale.clone().unwrap_or_default(),
        responsible: case
            .responsible_party
            .map(|party| party.as_str().to_owned())
            .unwrap_or_default(),
        course: case.course_of_action.clone().unwrap_or_default(),
        no_action: case.no_action_reason.clone().unwrap_or_default(),
        clocks,
        more_names: view.names.len() > NAMES_SHOWN,
        names,
        actions,
        running,
        reports,
        evidence,
        messages,
        may_acknowledge: case.state.after(CaseStep::Acknowledge).is_ok(),
        may_assess: case.state.after(CaseStep::Assess).is_ok(),
        may_decide: case.state.after(CaseStep::DecideAction).is_ok(),
        may_close: case.state.after(CaseStep::Close).is_ok(),
        may_close_no_action: case.state.after(CaseStep::CloseNoAction).is_ok(),
        assess,
        priorities: choices(
            std::iter::once(("", "choose".to_owned()))
                .chain(spelled(Priority::ALL.iter().map(|p| p.as_str()))),
            &priority_selected,
        ),
        threats: choices(
            spelled(ThreatType::ALL.iter().map(|t| t.as_str())),
            &threat_selected,
        ),
        parties: choices(
            std::iter::once(("", "choose".to_owned()))
                .chain(spelled(ResponsibleParty::ALL.iter().map(|p| p.as_str()))),
            &party_selected,
        ),
        act,
        kinds: kind_choices(&kind_selected),
        close,
        preview,
        manage,
        assignee,
        staff,
        report_ids: view.reports.iter().map(|report| report.id).collect(),
        may_manage: !case.state.is_closed() && case.merged_into.is_none(),
        upload,
        limit: limit_text(),
    };
    render(status, &page)
}

/// The actions to choose from, `selected` chosen.
pub(super) fn kind_choices(selected: &str) -> Vec<Choice> {
    choices(
        std::iter::once(("", "choose".to_owned())).chain(
            ActionKind::ALL
                .iter()
                .map(|kind| (kind.as_str(), kind_label(*kind).to_owned())),
        ),
        selected,
    )
}

fn kind_label(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Refer => "refer to the registrar",
        ActionKind::Hold => "hold (serverHold: leaves the zone)",
        ActionKind::Lock => "lock (server update/transfer/delete prohibited)",
        ActionKind::Redirect => "redirect to the sinkhole",
        ActionKind::Transfer => "transfer to another registrar",
        ActionKind::Delete => "delete (needs a second approver)",
        ActionKind::NoAction => "no action (recorded)",
        ActionKind::Create => "create (register to the sinkhole)",
        ActionKind::Block => "block until a date (unregistered names)",
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
    /// The evidence file just stored, and its report (`done=evidence`).
    report: String,
    file: String,
}

fn done_notice(code: &str) -> Option<Notice> {
    match code {
        "acknowledge" => Notice::done("The case is acknowledged; the reporters are told."),
        "assess" => Notice::done("The assessment is recorded; the reporters are told."),
        "close" => Notice::done("The case is closed; the reporters are told."),
        "close_no_action" => {
            Notice::done("The case is closed with no action; the reporters are told why.")
        }
        "action" => Notice::done("The action is decided and being applied."),
        "undo" => Notice::done("The action is being undone."),
        "approve" => Notice::done("The action is approved and being applied."),
        "assign" => Notice::done("The case is assigned."),
        "merge" => Notice::done("The other case is merged into this one; its reports are here."),
        "split" => Notice::done("This case is split off with the reports chosen."),
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        _ => None,
    }
}

/// `GET /desk/cases/{id}`.
pub async fn case_page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = if query.done == "evidence" {
        stored_notice(&state, &session, &query).await
    } else {
        done_notice(&query.done)
    };
    case_page_response(
        &state,
        &session,
        id,
        Default::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// What was stored, with its size and SHA-256, after the evidence form.
async fn stored_notice(state: &AppState, session: &Session, query: &DoneQuery) -> Option<Notice> {
    let report = query.report.parse::<i64>().ok()?;
    let file = query.file.parse::<i64>().ok()?;
    let view = state.service.report(&session.actor, report).await.ok()?;
    let stored = view.evidence.iter().find(|evidence| evidence.id == file)?;
    Notice::done(format!(
        "Evidence stored with report {report}: {}, {} bytes, SHA-256 {}.",
        stored.filename, stored.size, stored.sha256
    ))
}

/// The evidence form's fields, where its errors are shown.
const UPLOAD_FIELDS: &[&str] = &["report", "evidence"];

/// `POST /desk/cases/{id}/evidence`: staff add an evidence file to one of the case's reports
/// (`multipart/form-data`, the same checks and audit entry as the API's upload).
pub async fn add_evidence(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    upload: UploadForm,
) -> Response {
    if let Err(refused) = require(&session, Permission::WorkCases) {
        return *refused;
    }
    let back = format!("/desk/cases/{id}");
    let UploadForm { fields, file } = upload;
    let fields = match session.checked(&state, fields, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let report = fields.get("report").trim().parse::<i64>();
    let result = match (&file, report) {
        (FilePart::TooLarge, _) => Err(ServiceError::invalid("evidence", UploadForm::too_large())),
        (FilePart::Empty, _) => Err(ServiceError::invalid("evidence", "choose a file")),
        (_, Err(_)) => Err(ServiceError::invalid(
            "report",
            "choose a report of this case",
        )),
        (FilePart::Received(received), Ok(report)) => {
            match state.service.report(&session.actor, report).await {
                Ok(view) if view.report.case_id == Some(id) => state
                    .service
                    .add_evidence(
                        &session.actor,
                        report,
                        &received.filename,
                        &received.content_type,
                        &received.content,
                        state.clock.now(),
                    )
                    .await
                    .map_err(|error| match error {
                        ServiceError::Invalid { reason, .. } => {
                            ServiceError::invalid("evidence", reason)
                        }
                        other => other,
                    }),
                Ok(_) | Err(ServiceError::NotFound { .. }) => Err(ServiceError::invalid(
                    "report",
                    "choose a report of this case",
                )),
                Err(error) => Err(error),
            }
        }
    };
    match result {
        Ok(stored) => Redirect::to(&format!(
            "{back}?done=evidence&report={}&file={}#evidence",
            stored.owner_id, stored.id
        ))
        .into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let status = if matches!(file, FilePart::TooLarge) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let notice = Notice::problem(format!("Not stored: {error}"));
            let forms = (
                Default::default(),
                FormState::refused(fields, &error, UPLOAD_FIELDS),
            );
            case_page_with(&state, &session, id, forms, None, notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

const ASSESS_FIELDS: &[&str] = &[
    "priority",
    "priority_rationale",
    "threat_type",
    "responsible_party",
    "course_of_action",
    "timeline",
];
const CLOSE_FIELDS: &[&str] = &["note", "reason"];

fn pick<T: std::str::FromStr>(field: &str, text: &str, what: &str) -> Result<T, ServiceError> {
    if text.is_empty() {
        return Err(ServiceError::invalid(field, format!("choose {what}")));
    }
    text.parse()
        .map_err(|_| ServiceError::invalid(field, format!("{text:?} is not one of the choices")))
}

fn step_command(fields: &Fields) -> Result<CaseCommand, ServiceError> {
    let optional = |name: &str| {
        let value = fields.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    Ok(match fields.get("step") {
        "acknowledge" => CaseCommand::Acknowledge,
        "assess" => CaseCommand::Assess {
            priority: pick("priority", fields.get("priority"), "a priority")?,
            priority_rationale: fields.get("priority_rationale").to_owned(),
            threat_type: pick("threat_type", fields.get("threat_type"), "the threat type")?,
            responsible_party: pick(
                "responsible_party",
                fields.get("responsible_party"),
                "who is responsible",
            )?,
            course_of_action: fields.get("course_of_action").to_owned(),
            timeline: optional("timeline"),
        },
        "close" => CaseCommand::Close {
            note: optional("note"),
        },
        "close_no_action" => CaseCommand::CloseNoAction {
            reason: fields.get("reason").to_owned(),
        },
        "assign" => CaseCommand::Assign {
            user_id: pick("user_id", fields.get("user_id"), "a staff user")?,
        },
        other => {
            return Err(ServiceError::invalid(
                "step",
                format!("{other:?} is not a step of this page"),
            ));
        }
    })
}

/// `POST /desk/cases/{id}/steps`: acknowledge, assess, close, close with no action.
pub async fn step(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/desk/cases/{id}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let step = fields.get("step").to_owned();
    let result = match step_command(&fields) {
        Ok(command) => {
            state
                .service
                .case_step(&session.actor, id, command, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done(&back, &step)).into_response(),
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let notice = Notice::problem(format!("Not done: {error}"));
            if step == "assign" {
                let forms = (
                    Default::default(),
                    FormState::refused(fields, &error, MANAGE_FIELDS),
                );
                return case_page_with(&state, &session, id, forms, None, notice, status).await;
            }
            let forms = if step == "assess" {
                (
                    FormState::refused(fields, &error, ASSESS_FIELDS),
                    FormState::default(),
                    FormState::default(),
                )
            } else if step.starts_with("close") {
                (
                    FormState::default(),
                    FormState::default(),
                    FormState::refused(fields, &error, CLOSE_FIELDS),
                )
            } else {
                (
                    FormState::default(),
                    FormState::default(),
                    FormState::default(),
                )
            };
            case_page_response(&state, &session, id, forms, notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

const ACTION_FIELDS: &[&str] = &[
    "kind",
    "names",
    "reason",
    "until",
    "requested_by",
    "legal_direction",
    "to_registrar",
    "emergency",
];

/// A date (`2027-06-30`, the start of that day in UTC) or an RFC 3339 time.
fn moment(field: &str, text: &str) -> Result<Option<Timestamp>, ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(Some(at));
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| ServiceError::invalid(field, "give a date such as 2027-06-30"))?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| Some(zoned.timestamp()))
        .map_err(|error| ServiceError::invalid(field, error.to_string()))
}

fn action_request(fields: &Fields) -> Result<ActionRequest, ServiceError> {
    action_request_from(fields, fields.all("names"))
}

/// The decision a form describes, on `names`.
pub(super) fn action_request_from(
    fields: &Fields,
    names: Vec<String>,
) -> Result<ActionRequest, ServiceError> {
    let kind: ActionKind = pick("kind", fields.get("kind"), "an action")?;
    if names.is_empty() {
        return Err(ServiceError::invalid(
            "names",
            "give at least one name to act on",
        ));
    }
    let optional = |name: &str| {
        let value = fields.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let until = moment("until", fields.get("until"))?;
    if kind == ActionKind::Block && until.is_none() {
        return Err(ServiceError::invalid(
            "until",
            "a block needs the date it lifts",
        ));
    }
    let to_registrar = optional("to_registrar")
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| ServiceError::invalid("to_registrar", "give the registrar's number"))
        })
        .transpose()?;
    Ok(ActionRequest {
        kind,
        names,
        reason: fields.get("reason").to_owned(),
        case_ref: None,
        requested_by: optional("requested_by"),
        to_registrar,
        until,
        deadline: None,
        legal_direction: optional("legal_direction"),
        emergency: fields.get("emergency") == "yes",
    })
}

/// `POST /desk/cases/{id}/actions`: decides an action on ticked names of the case through the
/// same service call as the API; it is applied in the background.
pub async fn decide(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/desk/cases/{id}");
    let fields = match session.form_as(Permission::TakeAction, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match action_request(&fields) {
        Ok(request) => {
            state
                .service
                .decide_case_action(&session.actor, id, request, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(action) => {
            spawn_run(&state, action.id);
            Redirect::to(&with_done(&back, "action")).into_response()
        }
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let forms = (
                FormState::default(),
                FormState::refused(fields, &error, ACTION_FIELDS),
                FormState::default(),
            );
            let notice = Notice::problem(format!("Not done: {error}"));
            case_page_response(&state, &session, id, forms, notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /desk/cases/{id}/actions/preview`: what the action the form describes would do to
/// each ticked name and the approvals it needs, above the form kept as typed, with a Decide
/// form that sends the same fields under a fresh one-time token. Decides nothing.
pub async fn preview(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(refused) = require(&session, Permission::TakeAction) {
        return *refused;
    }
    let fields = match session.read_form(&body) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match action_request(&fields) {
        Ok(request) => {
            state
                .service
                .preview_case_action(&session.actor, id, request, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(preview) => {
            let view = PreviewView::new(&preview, &fields, format!("/desk/cases/{id}/actions"));
            let act = FormState {
                fields,
                error: None,
            };
            let forms = (
                (FormState::default(), act, FormState::default()),
                FormState::default(),
            );
            case_page_with(
                &state,
                &session,
                id,
                forms,
                Some(view),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let forms = (
                FormState::default(),
                FormState::refused(fields, &error, ACTION_FIELDS),
                FormState::default(),
            );
            let notice = Notice::problem(format!("No preview: {error}"));
            case_page_response(&state, &session, id, forms, notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

const MANAGE_FIELDS: &[&str] = &["user_id", "from", "reports"];

/// The case page again with the manage form's error at its field (a case the user may not see
/// is named at the field, like one that does not exist).
async fn manage_refused(
    state: &AppState,
    session: &Session,
    id: i64,
    fields: Fields,
    error: ServiceError,
    field: &str,
) -> Response {
    let (error, status) = match error {
        ServiceError::NotFound { .. } => (
            ServiceError::invalid(field, "no such open case on this desk"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        error @ ServiceError::Conflict { .. } => {
            let reason = error.to_string();
            (ServiceError::invalid(field, reason), StatusCode::CONFLICT)
        }
        error => (error, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let notice = Notice::problem(format!("Not done: {error}"));
    let forms = (
        Default::default(),
        FormState::refused(fields, &error, MANAGE_FIELDS),
    );
    case_page_with(state, session, id, forms, None, notice, status).await
}

/// `POST /desk/cases/{id}/merge`: merges the case numbered in `from` into this one.
pub async fn merge(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/desk/cases/{id}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let from = fields.get("from").trim().trim_start_matches('#');
    let result = match from.parse::<i64>() {
        Ok(from) => {
            state
                .service
                .merge_cases(&session.actor, id, from, state.clock.now())
                .await
        }
        Err(_) => Err(ServiceError::invalid(
            "from",
            "give the other case's number",
        )),
    };
    match result {
        Ok(_) => Redirect::to(&with_done(&back, "merge")).into_response(),
        Err(ServiceError::NotFound { what: "case" }) if from.parse::<i64>().is_ok() => {
            let error = ServiceError::NotFound { what: "case" };
            manage_refused(&state, &session, id, fields, error, "from").await
        }
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            manage_refused(&state, &session, id, fields, error, "from").await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /desk/cases/{id}/split`: the ticked reports become a new case, which opens.
pub async fn split(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/desk/cases/{id}");
    let fields = match session.form_as(Permission::WorkCases, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let reports: Result<Vec<i64>, ServiceError> = fields
        .all("reports")
        .iter()
        .map(|report| {
            report
                .parse()
                .map_err(|_| ServiceError::invalid("reports", "choose reports of this case"))
        })
        .collect();
    let result = match reports {
        Ok(reports) => {
            state
                .service
                .split_case(&session.actor, id, &reports, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(new) => Redirect::to(&format!("/desk/cases/{}?done=split", new.id)).into_response(),
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            manage_refused(&state, &session, id, fields, error, "reports").await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// Where an action's form came from: its case's page, or the action's own page.
fn back_of(body: &[u8], action: i64) -> (Option<i64>, String) {
    let raw = Fields::parse(body);
    let case_id: Option<i64> = raw.get("case").parse().ok();
    let back = match case_id {
        Some(case) => format!("/desk/cases/{case}"),
        None => format!("/desk/actions/{action}"),
    };
    (case_id, back)
}

/// `POST /desk/actions/{id}/undo`: undoes an applied action, back to the case it came from.
pub async fn undo(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(refused) = require(&session, Permission::TakeAction) {
        return *refused;
    }
    let (case_id, back) = back_of(&body, id);
    let fields = match session.form(&state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    match state
        .service
        .undo_action(&session.actor, id, fields.get("reason"), state.clock.now())
        .await
    {
        Ok(_) => {
            spawn_run(&state, id);
            Redirect::to(&with_done(&back, "undo")).into_response()
        }
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            match case_id {
                Some(case) => {
                    let notice = Notice::problem(format!("Undo of action {id} not done: {error}"));
                    case_page_response(
                        &state,
                        &session,
                        case,
                        Default::default(),
                        notice,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                None => error_page(&session, &error),
            }
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /desk/actions/{id}/approve`: the second approver of a delete; it is then applied.
pub async fn approve(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(refused) = require(&session, Permission::TakeAction) {
        return *refused;
    }
    let (case_id, back) = back_of(&body, id);
    if let Err(response) = session.form(&state, &body, &back) {
        return *response;
    }
    match state
        .service
        .approve_action(&session.actor, id, state.clock.now())
        .await
    {
        Ok(_) => {
            spawn_run(&state, id);
            Redirect::to(&with_done(&back, "approve")).into_response()
        }
        Err(error @ ServiceError::Conflict { .. }) if case_id.is_some() => {
            let notice = Notice::problem(format!("Action {id} not approved: {error}"));
            let case = case_id.unwrap_or_default();
            case_page_response(
                &state,
                &session,
                case,
                Default::default(),
                notice,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `GET /evidence/{id}`: an evidence file, for whoever may see its report — always as an
/// attachment of type `application/octet-stream`, never shown in the browser.
pub async fn evidence(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    match state.service.evidence_file(&session.actor, id).await {
        Ok((filename, content)) => file_download(&filename, content),
        Err(error) => error_page(&session, &error),
    }
}
