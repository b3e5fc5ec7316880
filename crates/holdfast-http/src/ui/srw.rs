//! The waiver process in the browser: the requests a side may see (for the reviewers, the queue
//! with each business-day clock, nearest deadline first, breaches marked), one request with its
//! deadlines, thread, files and the waivers its decision issued, and its review steps (the
//! reviewers' steps and decision, the requester's answer) taken in place; files either side
//! attaches (a `multipart/form-data` form) and their downloads.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::DomainName;
use holdfast_model::UnknownValue;
use holdfast_model::org::Permission;
use holdfast_model::srw::{
    Contact, Coverage, DateRange, Decision, Party, Period, ReviewCommand, Section, SrwRequestDraft,
    WaiverTerms,
};
use holdfast_service::{ReportEdit, ReviewInput, ServiceError, SrwView};
use jiff::Timestamp;
use serde::Deserialize;

use super::desk::FormState;
use super::format::{countdown, time, words};
use super::session::{Fields, with_done};
use super::upload::{FilePart, UploadForm, limit_text};
use super::{Chrome, Notice, Session, error_page, file_download, render};
use crate::AppState;

/// One clock of a request's review.
pub struct ClockRow {
    pub clock: String,
    pub due: String,
    pub countdown: String,
    pub done: bool,
    pub breached: bool,
    pub reminded: bool,
}

/// A request in a list.
pub struct RequestRow {
    pub id: i64,
    pub state: String,
    pub tlds: String,
    pub missing: usize,
    pub next: Option<ClockRow>,
    pub breaches: usize,
}

#[derive(Template)]
#[template(path = "waivers.html")]
struct Requests {
    chrome: Chrome,
    rows: Vec<RequestRow>,
    /// Whether the reader may start a request.
    can_request: bool,
}

/// A message of the thread.
pub struct MessageRow {
    pub at: String,
    pub party: String,
    pub author: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "waiver_request.html")]
struct RequestPage {
    chrome: Chrome,
    id: i64,
    state: String,
    requester: String,
    facts: Vec<(&'static str, String)>,
    missing: Vec<String>,
    clocks: Vec<ClockRow>,
    thread: Vec<MessageRow>,
    /// Attachments: id, name, size, SHA-256.
    files: Vec<(i64, String, String, String)>,
    /// Whether the reader may attach files, and the size limit.
    attaches: bool,
    limit: String,
    waivers: Vec<(i64, u32, String)>,
    decision: String,
    /// Whether the reader takes the reviewers' steps, or answers as the requester.
    reviewer: bool,
    answers: bool,
    /// Whether the reader may edit the draft.
    editable: bool,
    form: FormState,
}

/// The fields of the review form, where an error can be shown.
const REVIEW_FIELDS: &[&str] = &[
    "step",
    "reviewer",
    "message",
    "decision",
    "waiver_id",
    "reason",
    "terms",
];

fn state_of(view: &SrwView) -> String {
    view.record
        .review
        .as_ref()
        .map_or("draft".to_owned(), |review| words(review.state.as_str()))
}

fn clocks(view: &SrwView, now: Timestamp) -> Vec<ClockRow> {
    let review = view.record.review.as_ref();
    view.deadlines
        .iter()
        .map(|(clock, deadline)| {
            let marks = view.record.marks.get(clock).copied().unwrap_or_default();
            let done = review.is_some_and(|review| review.done_at(*clock).is_some());
            ClockRow {
                clock: words(clock.as_str()),
                due: time(deadline.due),
                countdown: countdown(deadline.due, now),
                done,
                breached: marks.breached_at.is_some() || (!done && deadline.due < now),
                reminded: marks.reminded_at.is_some(),
            }
        })
        .collect()
}

fn tlds(view: &SrwView) -> String {
    let tlds = match &view.record.submitted {
        Some(submitted) => &submitted.tlds,
        None => &view.record.draft.tlds,
    };
    tlds.iter()
        .map(|tld| format!(".{}", tld.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /waivers`: the requests the signed-in side may see, those with the nearest open
/// deadline first.
pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    let now = state.clock.now();
    let views = match state.service.srw_requests(&session.actor).await {
        Ok(views) => views,
        Err(error) => return error_page(&session, &error),
    };
    let mut rows: Vec<(Option<Timestamp>, RequestRow)> = views
        .iter()
        .map(|view| {
            let decided = view
                .record
                .review
                .as_ref()
                .is_some_and(|review| review.decided_at.is_some());
            let open: Vec<(Timestamp, ClockRow)> = view
                .deadlines
                .iter()
                .map(|(_, deadline)| deadline.due)
                .zip(clocks(view, now))
                .filter(|(_, row)| !row.done && !decided)
                .collect();
            let breaches = view
                .record
                .marks
                .values()
                .filter(|marks| marks.breached_at.is_some())
                .count();
            let next = open.into_iter().min_by_key(|(due, _)| *due);
            let row = RequestRow {
                id: view.record.id,
                state: state_of(view),
                tlds: tlds(view),
                missing: view.missing.len(),
                breaches,
                next: next.as_ref().map(|(_, row)| ClockRow {
                    clock: row.clock.clone(),
                    due: row.due.clone(),
                    countdown: row.countdown.clone(),
                    done: row.done,
                    breached: row.breached,
                    reminded: row.reminded,
                }),
            };
            (next.map(|(due, _)| due), row)
        })
        .collect();
    rows.sort_by_key(|(due, row)| (due.is_none(), *due, std::cmp::Reverse(row.id)));
    render(
        StatusCode::OK,
        &Requests {
            chrome: Chrome::new(&session, "Waiver requests", "/waivers"),
            rows: rows.into_iter().map(|(_, row)| row).collect(),
            can_request: session.actor.role.may(Permission::RequestWaivers),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

/// `GET /waivers/{id}`: one request as its reader may see it.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = match query.done.as_str() {
        "step" => Notice::done("Done: the review step is recorded."),
        "attached" => Notice::done("The file is attached; its SHA-256 is in the files table."),
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        _ => None,
    };
    request_page(
        &state,
        &session,
        id,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

async fn request_page(
    state: &AppState,
    session: &Session,
    id: i64,
    form: FormState,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let now = state.clock.now();
    let view = match state.service.srw_request(&session.actor, id).await {
        Ok(view) => view,
        Err(error) => return error_page(session, &error),
    };
    let record = &view.record;
    let draft = &record.draft;
    let mut facts = vec![
        ("TLDs", tlds(&view)),
        (
            "Incident",
            draft
                .incident_type
                .map(|incident| words(incident.as_str()))
                .unwrap_or_default(),
        ),
        ("Description", draft.description.clone().unwrap_or_default()),
        ("Response", draft.response.clone().unwrap_or_default()),
    ];
    if let Some(submitted) = &record.submitted {
        facts.push(("Names", submitted.names.count().to_string()));
        facts.push((
            "Action already taken",
            if submitted.retroactive { "yes" } else { "no" }.to_owned(),
        ));
        facts.push(("Submitted", time(submitted.submitted_at)));
    }
    if let Some(reviewer) = record.review.as_ref().and_then(|r| r.reviewer.clone()) {
        facts.push(("Reviewer", reviewer));
    }
    let open = record
        .review
        .as_ref()
        .is_some_and(|review| review.decided_at.is_none());
    let decision = record
        .review
        .as_ref()
        .and_then(|review| review.decision.as_ref())
        .map(|decision| words(decision.outcome().as_str()))
        .unwrap_or_default();
    let role = session.actor.role;
    let page = RequestPage {
        chrome: Chrome::new(session, format!("Waiver request {id}"), "/waivers")
            .with_notice(notice),
        id,
        state: state_of(&view),
        requester: words(record.requester.as_str()),
        facts,
        missing: view.missing.iter().map(|m| (*m).to_owned()).collect(),
        clocks: clocks(&view, now),
        thread: record
            .thread
            .iter()
            .map(|message| MessageRow {
                at: time(message.at),
                party: message.party.as_str().to_owned(),
                author: message.author.clone(),
                text: message.text.clone(),
            })
            .collect(),
        files: view
            .files
            .iter()
            .map(|file| {
                (
                    file.id,
                    file.filename.clone(),
                    file.size.to_string(),
                    file.sha256.clone(),
                )
            })
            .collect(),
        attaches: role.may(Permission::ReviewWaivers)
            || (role.may(Permission::RequestWaivers) && record.org_id == session.actor.org_id),
        limit: limit_text(),
        waivers: view
            .issued
            .iter()
            .map(|record| {
                let tlds = record
                    .waiver
                    .terms
                    .tlds
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>();
                (record.waiver.id, record.waiver.version, tlds.join(", "))
            })
            .collect(),
        decision,
        reviewer: open && role.may(Permission::ReviewWaivers),
        answers: open
            && role.may(Permission::RequestWaivers)
            && record.org_id == session.actor.org_id,
        editable: record.submitted.is_none()
            && role.may(Permission::RequestWaivers)
            && record.org_id == session.actor.org_id,
        form,
    };
    render(status, &page)
}

/// The review step a form describes, or the field at fault.
fn review_input(fields: &Fields) -> Result<ReviewInput, ServiceError> {
    let text = |name: &str| {
        let value = fields.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let waiver_id = || {
        fields
            .get("waiver_id")
            .trim()
            .parse::<i64>()
            .map_err(|_| ServiceError::invalid("waiver_id", "give the waiver's number"))
    };
    let command = match fields.get("step") {
        "assign_reviewer" => ReviewCommand::AssignReviewer(text("reviewer").unwrap_or_default()),
        "confirm_incident" => ReviewCommand::ConfirmIncident,
        "ask_information" => ReviewCommand::AskInformation,
        "answer_information" => ReviewCommand::AnswerInformation,
        "discuss" => ReviewCommand::Discuss,
        "decide" => ReviewCommand::Decide(match fields.get("decision") {
            "new_waiver" => Decision::NewWaiver,
            "updated_waiver" => Decision::UpdatedWaiver {
                waiver_id: waiver_id()?,
            },
            "in_scope_of_existing" => Decision::InScopeOfExisting {
                waiver_id: waiver_id()?,
            },
            "not_granted" => Decision::NotGranted {
                reason: text("reason").unwrap_or_default(),
            },
            _ => return Err(ServiceError::invalid("decision", "choose the answer")),
        }),
        _ => return Err(ServiceError::invalid("step", "choose a step")),
    };
    let terms = text("terms")
        .map(|json| {
            serde_json::from_str::<WaiverTerms>(&json).map_err(|error| {
                ServiceError::invalid("terms", format!("not valid terms: {error}"))
            })
        })
        .transpose()?;
    Ok(ReviewInput {
        command,
        terms,
        message: text("message"),
    })
}

/// `POST /waivers/{id}/review`: a review step through the same service call as the API.
pub async fn review(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let role = session.actor.role;
    if !(role.may(Permission::ReviewWaivers) || role.may(Permission::RequestWaivers)) {
        return error_page(&session, &ServiceError::Forbidden);
    }
    let back = format!("/waivers/{id}");
    let fields = match session.form(&state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match review_input(&fields) {
        Ok(input) => {
            state
                .service
                .review_srw(&session.actor, id, input, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done(&back, "step")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = FormState::refused(fields, &error, REVIEW_FIELDS);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            request_page(&state, &session, id, form, None, status).await
        }
        Err(error @ ServiceError::Conflict { .. }) => {
            let notice = Notice::problem(format!("Not done: {error}"));
            let form = FormState {
                fields,
                error: None,
            };
            request_page(&state, &session, id, form, notice, StatusCode::CONFLICT).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /waivers/{id}/attachments`: either side attaches a file to a request it may see
/// (the same service call, size limit and SHA-256 as the API's upload).
pub async fn attach(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    upload: UploadForm,
) -> Response {
    let role = session.actor.role;
    if !(role.may(Permission::ReviewWaivers) || role.may(Permission::RequestWaivers)) {
        return error_page(&session, &ServiceError::Forbidden);
    }
    let back = format!("/waivers/{id}");
    let UploadForm { fields, file } = upload;
    let fields = match session.checked(&state, fields, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match &file {
        FilePart::TooLarge => Err(ServiceError::invalid("attachment", UploadForm::too_large())),
        FilePart::Empty => Err(ServiceError::invalid("attachment", "choose a file")),
        FilePart::Received(received) => state
            .service
            .add_srw_attachment(
                &session.actor,
                id,
                &received.filename,
                &received.content_type,
                &received.content,
                state.clock.now(),
            )
            .await
            .map_err(|error| match error {
                ServiceError::Invalid { reason, .. } => ServiceError::invalid("attachment", reason),
                other => other,
            }),
    };
    match result {
        Ok(_) => Redirect::to(&format!("{back}?done=attached#files")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let status = if matches!(file, FilePart::TooLarge) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let form = FormState::refused(fields, &error, &["attachment"]);
            let notice = Notice::problem(format!("Not attached: {error}"));
            request_page(&state, &session, id, form, notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `GET /waivers/attachments/{id}`: an attachment, for either side of its request — always an
/// `application/octet-stream` attachment, never shown in the browser.
pub async fn attachment(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    match state.service.srw_attachment(&session.actor, id).await {
        Ok((filename, content)) => file_download(&filename, content),
        Err(error) => error_page(&session, &error),
    }
}

/// The after-action report's editor: each section, the passages marked, the published preview.
#[derive(Template)]
#[template(path = "waiver_report.html")]
struct ReportPage {
    chrome: Chrome,
    id: i64,
    sections: Vec<(&'static str, String)>,
    redactions: Vec<(usize, String, String, String, String)>,
    approved_by: Vec<&'static str>,
    preview: String,
    published: bool,
    form: FormState,
}

const REPORT_FIELDS: &[&str] = &["section", "text", "passage", "reason", "index"];

async fn report_page(
    state: &AppState,
    session: &Session,
    id: i64,
    form: FormState,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let view = match state.service.srw_report(&session.actor, id).await {
        Ok(view) => view,
        Err(error) => return error_page(session, &error),
    };
    let report = &view.report;
    let page = ReportPage {
        chrome: Chrome::new(
            session,
            format!("After-action report, request {id}"),
            "/waivers",
        )
        .with_notice(notice),
        id,
        sections: Section::ALL
            .iter()
            .map(|section| (section.as_str(), report.section(*section).to_owned()))
            .collect(),
        redactions: report
            .redactions()
            .iter()
            .enumerate()
            .map(|(index, r)| {
                let passage = report
                    .section(r.section)
                    .get(r.range.clone())
                    .unwrap_or_default()
                    .to_owned();
                let by = r.by.as_str().to_owned();
                (
                    index,
                    r.section.as_str().to_owned(),
                    passage,
                    r.reason.clone(),
                    by,
                )
            })
            .collect(),
        approved_by: Party::ALL
            .iter()
            .filter(|party| report.is_approved_by(**party))
            .map(|party| party.as_str())
            .collect(),
        preview: view.preview.clone(),
        published: view.published,
        form,
    };
    render(status, &page)
}

/// `GET /waivers/{id}/report`.
pub async fn report(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = match query.done.as_str() {
        "edit" => Notice::done("Done. Any change withdraws both approvals."),
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        _ => None,
    };
    report_page(
        &state,
        &session,
        id,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// The edit a report form describes, or the field at fault.
fn report_edit(fields: &Fields) -> Result<ReportEdit, ServiceError> {
    let section = || {
        fields
            .get("section")
            .parse::<Section>()
            .map_err(|error| ServiceError::invalid("section", error.to_string()))
    };
    Ok(match fields.get("edit") {
        "write" => ReportEdit::Write {
            section: section()?,
            text: fields.get("text").to_owned(),
        },
        "redact" => ReportEdit::Redact {
            section: section()?,
            passage: fields.get("passage").to_owned(),
            occurrence: 1,
            reason: fields.get("reason").to_owned(),
        },
        "unredact" => ReportEdit::Unredact {
            index: fields
                .get("index")
                .parse()
                .map_err(|_| ServiceError::invalid("index", "name the passage"))?,
        },
        "approve" => ReportEdit::Approve,
        _ => return Err(ServiceError::invalid("form", "choose what to do")),
    })
}

/// `POST /waivers/{id}/report`: writes a section, marks or unmarks a passage, approves.
pub async fn edit_report(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let role = session.actor.role;
    if !(role.may(Permission::ReviewWaivers) || role.may(Permission::RequestWaivers)) {
        return error_page(&session, &ServiceError::Forbidden);
    }
    let back = format!("/waivers/{id}/report");
    let fields = match session.form(&state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match report_edit(&fields) {
        Ok(edit) => {
            state
                .service
                .edit_srw_report(&session.actor, id, edit, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done(&back, "edit")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = FormState::refused(fields, &error, REPORT_FIELDS);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            report_page(&state, &session, id, form, None, status).await
        }
        Err(error @ ServiceError::Conflict { .. }) => {
            let notice = Notice::problem(format!("Not done: {error}"));
            let status = StatusCode::CONFLICT;
            report_page(&state, &session, id, FormState::default(), notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// The request form: every field of SPEC B1, with what the completeness check says beside its
/// field.
#[derive(Template)]
#[template(path = "waiver_draft.html")]
struct DraftPage {
    chrome: Chrome,
    /// The draft's id, or `None` for a new one.
    id: Option<i64>,
    form: FormState,
    /// What the completeness check says, by field.
    missing: Vec<(String, String)>,
}

impl DraftPage {
    /// What the completeness check says about `field`, if anything.
    fn missing_at(&self, field: &str) -> Option<&str> {
        self.missing
            .iter()
            .find(|(at, _)| at == field)
            .map(|(_, why)| why.as_str())
    }
}

const DRAFT_FIELDS: &[&str] = &[
    "incident_type",
    "description",
    "tlds",
    "names",
    "name_count",
    "dga_family",
    "dga_dates",
    "action_taken",
    "response",
    "urgency",
    "expedited",
    "provisions",
    "period",
    "contacts",
    "case_ids",
];

/// The form's text for a stored draft.
fn draft_fields(draft: &SrwRequestDraft) -> Fields {
    let lines = |items: Vec<String>| items.join("\n");
    let fields = vec![
        (
            "incident_type",
            draft
                .incident_type
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ("description", draft.description.clone().unwrap_or_default()),
        (
            "tlds",
            lines(draft.tlds.iter().map(|t| t.as_str().to_owned()).collect()),
        ),
        (
            "names",
            lines(draft.names.iter().map(|n| n.as_str().to_owned()).collect()),
        ),
        (
            "name_count",
            draft.name_count.map(|n| n.to_string()).unwrap_or_default(),
        ),
        ("dga_family", draft.dga_family.clone().unwrap_or_default()),
        (
            "dga_first",
            draft
                .dga_dates
                .map(|d| d.first.to_string())
                .unwrap_or_default(),
        ),
        (
            "dga_last",
            draft
                .dga_dates
                .map(|d| d.last.to_string())
                .unwrap_or_default(),
        ),
        (
            "action_taken",
            draft
                .action_taken
                .map(|t| if t { "yes" } else { "no" }.to_owned())
                .unwrap_or_default(),
        ),
        ("response", draft.response.clone().unwrap_or_default()),
        (
            "urgency",
            draft
                .urgency
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "expedited",
            draft
                .expedited
                .map(|t| if t { "yes" } else { "no" }.to_owned())
                .unwrap_or_default(),
        ),
        ("provisions", lines(draft.provisions.clone())),
        (
            "period_start",
            draft
                .period
                .map(|p| p.start.to_string())
                .unwrap_or_default(),
        ),
        (
            "period_end",
            draft.period.map(|p| p.end.to_string()).unwrap_or_default(),
        ),
        (
            "contacts",
            lines(
                draft
                    .contacts
                    .iter()
                    .map(|c| format!("{} <{}>", c.name, c.email))
                    .collect(),
            ),
        ),
        (
            "case_ids",
            lines(draft.case_ids.iter().map(i64::to_string).collect()),
        ),
    ];
    Fields::from_pairs(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The draft a form describes, or the field that cannot be read.
fn draft_from(fields: &Fields) -> Result<SrwRequestDraft, ServiceError> {
    let text = |name: &str| {
        let value = fields.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    };
    let items = |name: &str| -> Vec<String> {
        fields
            .get(name)
            .split(['\n', ','])
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let names = |name: &str| -> Result<Vec<DomainName>, ServiceError> {
        items(name)
            .iter()
            .map(|item| {
                DomainName::parse(item.trim_start_matches('.'))
                    .map_err(|error| ServiceError::invalid(name, format!("{item}: {error}")))
            })
            .collect()
    };
    let parsed = |name: &str| -> Result<Option<Timestamp>, ServiceError> {
        text(name)
            .map(|value| {
                value
                    .parse::<Timestamp>()
                    .or_else(|_| {
                        value
                            .parse::<jiff::civil::Date>()
                            .map_err(|_| ())
                            .and_then(|date| {
                                date.to_zoned(jiff::tz::TimeZone::UTC)
                                    .map(|z| z.timestamp())
                                    .map_err(|_| ())
                            })
                    })
                    .map_err(|()| {
                        ServiceError::invalid("period", format!("{value} is not a date or time"))
                    })
            })
            .transpose()
    };
    let date = |name: &str| -> Result<Option<jiff::civil::Date>, ServiceError> {
        text(name)
            .map(|value| {
                value.parse().map_err(|_| {
                    ServiceError::invalid("dga_dates", format!("{value} is not a date"))
                })
            })
            .transpose()
    };
    let yes_no = |name: &str| match fields.get(name) {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let spelled = |name: &str| text(name).filter(|value| !value.is_empty());
    let dga_dates = match (date("dga_first")?, date("dga_last")?) {
        (Some(first), Some(last)) => Some(DateRange { first, last }),
        (None, None) => None,
        _ => {
            return Err(ServiceError::invalid(
                "dga_dates",
                "give the first and the last day",
            ));
        }
    };
    let period = match (parsed("period_start")?, parsed("period_end")?) {
        (Some(start), Some(end)) => Some(Period { start, end }),
        (None, None) => None,
        _ => {
            return Err(ServiceError::invalid(
                "period",
                "give the start and the end",
            ));
        }
    };
    let contacts = items("contacts")
        .iter()
        .map(|line| match line.split_once('<') {
            Some((name, email)) => Contact {
                name: name.trim().to_owned(),
                email: email.trim_end_matches('>').trim().to_owned(),
            },
            None => Contact {
                name: line.clone(),
                email: line.clone(),
            },
        })
        .collect();
    Ok(SrwRequestDraft {
        incident_type: spelled("incident_type")
            .map(|value| {
                value.parse().map_err(|e: UnknownValue| {
                    ServiceError::invalid("incident_type", e.to_string())
                })
            })
            .transpose()?,
        description: text("description"),
        tlds: names("tlds")?,
        names: names("names")?,
        name_count: text("name_count")
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| ServiceError::invalid("name_count", "give a whole number"))
            })
            .transpose()?,
        dga_family: text("dga_family"),
        dga_dates,
        action_taken: yes_no("action_taken"),
        response: text("response"),
        urgency: spelled("urgency")
            .map(|value| {
                value
                    .parse()
                    .map_err(|e: UnknownValue| ServiceError::invalid("urgency", e.to_string()))
            })
            .transpose()?,
        expedited: yes_no("expedited"),
        provisions: items("provisions"),
        period,
        contacts,
        attachments: Vec::new(),
        case_ids: items("case_ids")
            .iter()
            .map(|id| {
                id.parse().map_err(|_| {
                    ServiceError::invalid("case_ids", format!("{id} is not a case number"))
                })
            })
            .collect::<Result<_, _>>()?,
    })
}

async fn draft_page(
    state: &AppState,
    session: &Session,
    id: Option<i64>,
    form: Option<FormState>,
    status: StatusCode,
) -> Response {
    let (form, missing) = match id {
        Some(id) => match state.service.srw_request(&session.actor, id).await {
            Ok(view) => {
                let missing = view
                    .missing
                    .iter()
                    .filter_map(|m| m.split_once(": "))
                    .map(|(field, why)| (field.to_owned(), why.to_owned()))
                    .collect();
                let form = form.unwrap_or_else(|| FormState {
                    fields: draft_fields(&view.record.draft),
                    error: None,
                });
                (form, missing)
            }
            Err(error) => return error_page(session, &error),
        },
        None => (form.unwrap_or_default(), Vec::new()),
    };
    let title = id.map_or("New waiver request".to_owned(), |id| {
        format!("Waiver request {id} (draft)")
    });
    render(
        status,
        &DraftPage {
            chrome: Chrome::new(session, title, "/waivers"),
            id,
            form,
            missing,
        },
    )
}

/// `GET /waivers/new` and `GET /waivers/{id}/edit`: the request form.
pub async fn new_draft(State(state): State<AppState>, session: Session) -> Response {
    if let Err(refused) = super::require(&session, Permission::RequestWaivers) {
        return *refused;
    }
    draft_page(&state, &session, None, None, StatusCode::OK).await
}

/// `GET /waivers/{id}/edit`.
pub async fn edit_draft(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    if let Err(refused) = super::require(&session, Permission::RequestWaivers) {
        return *refused;
    }
    draft_page(&state, &session, Some(id), None, StatusCode::OK).await
}

/// `POST /waivers/new` and `POST /waivers/{id}/edit`: saves the draft, and submits it when
/// asked (`submit=yes`); what is missing is shown beside its field.
pub async fn save_draft(
    State(state): State<AppState>,
    session: Session,
    id: Option<Path<i64>>,
    body: Bytes,
) -> Response {
    if let Err(refused) = super::require(&session, Permission::RequestWaivers) {
        return *refused;
    }
    let id = id.map(|Path(id)| id);
    let back = id.map_or("/waivers/new".to_owned(), |id| {
        format!("/waivers/{id}/edit")
    });
    let fields = match session.form(&state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let now = state.clock.now();
    let saved = match draft_from(&fields) {
        Ok(draft) => match id {
            Some(id) => {
                state
                    .service
                    .update_srw_draft(&session.actor, id, draft, now)
                    .await
            }
            None => {
                state
                    .service
                    .create_srw_draft(&session.actor, draft, now)
                    .await
            }
        },
        Err(error) => Err(error),
    };
    let saved = match saved {
        Ok(view) => view.record.id,
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = FormState::refused(fields, &error, DRAFT_FIELDS);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return draft_page(&state, &session, id, Some(form), status).await;
        }
        Err(error) => return error_page(&session, &error),
    };
    if fields.get("submit") != "yes" {
        return Redirect::to(&format!("/waivers/{saved}/edit")).into_response();
    }
    match state.service.submit_srw(&session.actor, saved, now).await {
        Ok(_) => Redirect::to(&format!("/waivers/{saved}")).into_response(),
        Err(ServiceError::Invalid { .. }) => {
            draft_page(
                &state,
                &session,
                Some(saved),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// One version of a waiver.
pub struct WaiverRow {
    pub id: i64,
    pub version: u32,
    pub holder: i64,
    pub request: i64,
    pub tlds: String,
    pub actions: String,
    pub coverage: String,
    pub valid: String,
    pub conditions: String,
    pub issued: String,
}

#[derive(Template)]
#[template(path = "waivers_issued.html")]
struct Issued {
    chrome: Chrome,
    rows: Vec<WaiverRow>,
}

/// `GET /waivers/issued`: every version of the waivers the reader may see, newest first.
pub async fn issued(State(state): State<AppState>, session: Session) -> Response {
    let waivers = match state.service.waivers(&session.actor).await {
        Ok(waivers) => waivers,
        Err(error) => return error_page(&session, &error),
    };
    let mut rows: Vec<WaiverRow> = waivers
        .into_iter()
        .map(|record| {
            let terms = &record.waiver.terms;
            let coverage = match &terms.coverage {
                Coverage::Names(names) => format!("{} listed names", names.len()),
                Coverage::Dga(dga) => format!(
                    "DGA {} from {} to {}",
                    dga.family, dga.dates.first, dga.dates.last
                ),
            };
            WaiverRow {
                id: record.waiver.id,
                version: record.waiver.version,
                holder: record.waiver.holder_org,
                request: record.request_id,
                tlds: terms
                    .tlds
                    .iter()
                    .map(|t| format!(".{}", t.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
                actions: terms
                    .actions
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                coverage,
                valid: format!("{} – {}", time(terms.valid.start), time(terms.valid.end)),
                conditions: terms.conditions.join("; "),
                issued: time(record.issued_at),
            }
        })
        .collect();
    rows.sort_by_key(|row| (std::cmp::Reverse(row.id), std::cmp::Reverse(row.version)));
    render(
        StatusCode::OK,
        &Issued {
            chrome: Chrome::new(&session, "Waivers", "/waivers"),
            rows,
        },
    )
}
