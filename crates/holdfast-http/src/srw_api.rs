//! Security Response Waiver requests over HTTP: drafts with their completeness check,
//! submission, the requester's list and the reviewers' queue with business-day deadlines.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use holdfast_model::srw::{
    Decision, DecisionKind, ReviewCommand, Section, SrwRequestDraft, ThreadMessage, WaiverTerms,
    YearTable,
};
use holdfast_service::{
    AfterActionView, ReportEdit, ReviewInput, SrwView, StoredFile, WaiverRecord,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, Uploaded, download};

/// A deadline of a review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewDeadlineOut {
    /// `confirm`, `discuss` or `answer`.
    pub clock: String,
    pub due: Timestamp,
}

/// A waiver request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SrwOut {
    pub id: i64,
    /// The requesting organisation.
    pub org_id: i64,
    /// `registry` or `registrar`.
    pub requester: String,
    /// `draft`, or the review's state once submitted.
    pub state: String,
    #[schema(value_type = Object)]
    pub draft: SrwRequestDraft,
    /// What is missing or wrong, each as `field: why` (a draft; empty once complete).
    pub missing: Vec<String>,
    /// The complete request, once submitted.
    #[schema(value_type = Option<Object>)]
    pub submitted: Option<serde_json::Value>,
    /// The review: reviewer, step times, decision.
    #[schema(value_type = Option<Object>)]
    pub review: Option<serde_json::Value>,
    /// The review's deadlines on the reviewers' calendar.
    pub deadlines: Vec<ReviewDeadlineOut>,
    /// Questions, answers and notes between the sides: `at`, `party`, `author`, `text`.
    #[schema(value_type = Vec<Object>)]
    pub thread: Vec<ThreadMessage>,
    /// Per review clock, when the reviewers were reminded and when a breach was recorded.
    #[schema(value_type = Object)]
    pub marks: serde_json::Value,
    /// The waiver versions the decision issued (one request's view; empty in lists).
    pub issued: Vec<WaiverOut>,
    /// The files attached (one request's view; empty in lists).
    pub files: Vec<AttachmentOut>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<SrwView> for SrwOut {
    fn from(view: SrwView) -> SrwOut {
        let record = view.record;
        SrwOut {
            id: record.id,
            org_id: record.org_id,
            requester: record.requester.as_str().to_owned(),
            state: record.review.as_ref().map_or_else(
                || "draft".to_owned(),
                |review| review.state.as_str().to_owned(),
            ),
            draft: record.draft,
            missing: view.missing.into_iter().map(str::to_owned).collect(),
            submitted: record
                .submitted
                .and_then(|submitted| serde_json::to_value(submitted).ok()),
            review: record
                .review
                .and_then(|review| serde_json::to_value(review).ok()),
            deadlines: view
                .deadlines
                .into_iter()
                .map(|(clock, deadline)| ReviewDeadlineOut {
                    clock: clock.as_str().to_owned(),
                    due: deadline.due,
                })
                .collect(),
            marks: serde_json::to_value(&record.marks).unwrap_or_default(),
            thread: record.thread,
            issued: view.issued.into_iter().map(Into::into).collect(),
            files: view.files.into_iter().map(Into::into).collect(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// One version of a waiver.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaiverOut {
    /// The waiver's id, the same across its versions.
    pub id: i64,
    /// 1 when issued, one more per update.
    pub version: u32,
    /// The organisation holding it.
    pub holder_org: i64,
    /// The request whose decision issued this version.
    pub request_id: i64,
    pub issued_by: i64,
    pub issued_at: Timestamp,
    /// TLDs, provisions, actions, coverage (names or DGA family and days), validity, conditions.
    #[schema(value_type = Object)]
    pub terms: WaiverTerms,
}

impl From<WaiverRecord> for WaiverOut {
    fn from(record: WaiverRecord) -> WaiverOut {
        WaiverOut {
            id: record.waiver.id,
            version: record.waiver.version,
            holder_org: record.waiver.holder_org,
            request_id: record.request_id,
            issued_by: record.issued_by,
            issued_at: record.issued_at,
            terms: record.waiver.terms,
        }
    }
}

/// Starts a waiver request (registry or registrar staff); any field may still be missing.
#[utoipa::path(post, path = "/api/v1/srw", tag = "srw", security(("bearer" = [])),
    request_body(content = Object, description = "The draft: incident_type, description, tlds, names or name_count, dga_family and dga_dates, action_taken, response, urgency, expedited, provisions, period, contacts, attachments, case_ids"),
    responses((status = 201, description = "The draft, with what it still lacks", body = SrwOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "A field is malformed; the error names it", body = ErrorEnvelope)))]
pub async fn create_srw(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(draft): ApiJson<SrwRequestDraft>,
) -> Result<(StatusCode, Json<SrwOut>), ApiError> {
    let view = state
        .service
        .create_srw_draft(&actor, draft, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// Rewrites a draft.
#[utoipa::path(put, path = "/api/v1/srw/{id}", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body(content = Object, description = "The whole draft"),
    responses((status = 200, description = "The draft, with what it still lacks", body = SrwOut),
        (status = 404, description = "No such request of yours", body = ErrorEnvelope),
        (status = 409, description = "Already submitted", body = ErrorEnvelope)))]
pub async fn update_srw(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(draft): ApiJson<SrwRequestDraft>,
) -> Result<Json<SrwOut>, ApiError> {
    let view = state
        .service
        .update_srw_draft(&actor, id, draft, state.clock.now())
        .await?;
    Ok(Json(view.into()))
}

/// Submits a complete draft; the review clocks start. An incomplete one is refused, naming
/// every missing field.
#[utoipa::path(post, path = "/api/v1/srw/{id}/submit", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "Submitted, with the review's deadlines", body = SrwOut),
        (status = 404, description = "No such request of yours", body = ErrorEnvelope),
        (status = 409, description = "Already submitted", body = ErrorEnvelope),
        (status = 422, description = "Incomplete: the message lists every missing field", body = ErrorEnvelope)))]
pub async fn submit_srw(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SrwOut>, ApiError> {
    let view = state
        .service
        .submit_srw(&actor, id, state.clock.now())
        .await?;
    Ok(Json(view.into()))
}

/// Waiver requests: the requester's own, or for reviewers every submitted one.
#[utoipa::path(get, path = "/api/v1/srw", tag = "srw", security(("bearer" = [])),
    responses((status = 200, description = "The requests, newest first", body = Vec<SrwOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_srw(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Vec<SrwOut>>, ApiError> {
    let views = state.service.srw_requests(&actor).await?;
    Ok(Json(views.into_iter().map(Into::into).collect()))
}

/// One waiver request, with what it lacks or its deadlines.
#[utoipa::path(get, path = "/api/v1/srw/{id}", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = SrwOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such request, or not yours", body = ErrorEnvelope)))]
pub async fn get_srw(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<SrwOut>, ApiError> {
    Ok(Json(state.service.srw_request(&actor, id).await?.into()))
}

/// A review step. Each may carry a `message` for the request's thread: the question when asking
/// for information and the answer when giving it (both required), a note otherwise.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewIn {
    /// Name the reviewer who keeps contact for the whole incident (reviewers).
    AssignReviewer {
        reviewer: String,
        #[serde(default)]
        message: Option<String>,
    },
    /// Contact made, incident confirmed (reviewers).
    ConfirmIncident {
        #[serde(default)]
        message: Option<String>,
    },
    /// More information asked for (reviewers); `message` is the question.
    AskInformation {
        #[serde(default)]
        message: Option<String>,
    },
    /// The information given (the requester); `message` is the answer (files: attachments).
    AnswerInformation {
        #[serde(default)]
        message: Option<String>,
    },
    /// The team discussed the request (reviewers).
    Discuss {
        #[serde(default)]
        message: Option<String>,
    },
    /// The written answer (reviewers): `"new_waiver"`, `{"updated_waiver": {"waiver_id": 3}}`,
    /// `{"in_scope_of_existing": {"waiver_id": 3}}` or `{"not_granted": {"reason": "…"}}`.
    /// A new or updated waiver carries its `terms`.
    Decide {
        #[schema(value_type = Object)]
        decision: Decision,
        #[serde(default)]
        #[schema(value_type = Option<Object>)]
        terms: Option<WaiverTerms>,
        #[serde(default)]
        message: Option<String>,
    },
}

impl From<ReviewIn> for ReviewInput {
    fn from(step: ReviewIn) -> ReviewInput {
        let (command, terms, message) = match step {
            ReviewIn::AssignReviewer { reviewer, message } => {
                (ReviewCommand::AssignReviewer(reviewer), None, message)
            }
            ReviewIn::ConfirmIncident { message } => {
                (ReviewCommand::ConfirmIncident, None, message)
            }
            ReviewIn::AskInformation { message } => (ReviewCommand::AskInformation, None, message),
            ReviewIn::AnswerInformation { message } => {
                (ReviewCommand::AnswerInformation, None, message)
            }
            ReviewIn::Discuss { message } => (ReviewCommand::Discuss, None, message),
            ReviewIn::Decide {
                decision,
                terms,
                message,
            } => (ReviewCommand::Decide(decision), terms, message),
        };
        ReviewInput {
            command,
            terms,
            message,
        }
    }
}

/// Takes a review step; steps out of order are refused with the reason.
#[utoipa::path(post, path = "/api/v1/srw/{id}/review", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body = ReviewIn,
    responses((status = 200, description = "The request after the step, with its deadlines", body = SrwOut),
        (status = 403, description = "The role may not take this step", body = ErrorEnvelope),
        (status = 404, description = "No such request, or not visible", body = ErrorEnvelope),
        (status = 409, description = "The step does not fit the review's state", body = ErrorEnvelope)))]
pub async fn review_srw(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(step): ApiJson<ReviewIn>,
) -> Result<Json<SrwOut>, ApiError> {
    let view = state
        .service
        .review_srw(&actor, id, step.into(), state.clock.now())
        .await?;
    Ok(Json(view.into()))
}

/// A message for a request's thread.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    pub text: String,
}

/// Writes to a submitted request's thread (its requester's staff or the reviewers).
#[utoipa::path(post, path = "/api/v1/srw/{id}/messages", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body = MessageIn,
    responses((status = 200, description = "The request with its thread", body = SrwOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such request, or not visible", body = ErrorEnvelope),
        (status = 409, description = "Still a draft", body = ErrorEnvelope)))]
pub async fn post_message(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(message): ApiJson<MessageIn>,
) -> Result<Json<SrwOut>, ApiError> {
    let view = state
        .service
        .post_srw_message(&actor, id, &message.text, state.clock.now())
        .await?;
    Ok(Json(view.into()))
}

/// Waivers: the holder's own, or every one for reviewers; each version a row.
#[utoipa::path(get, path = "/api/v1/waivers", tag = "srw", security(("bearer" = [])),
    responses((status = 200, description = "Every version, by waiver and version", body = Vec<WaiverOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_waivers(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Vec<WaiverOut>>, ApiError> {
    let waivers = state.service.waivers(&actor).await?;
    Ok(Json(waivers.into_iter().map(Into::into).collect()))
}

/// One waiver's versions, oldest first.
#[utoipa::path(get, path = "/api/v1/waivers/{id}", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Waiver id")),
    responses((status = 200, description = "Its versions", body = Vec<WaiverOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such waiver, or not yours", body = ErrorEnvelope)))]
pub async fn get_waiver(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<WaiverOut>>, ApiError> {
    let versions = state.service.waiver(&actor, id).await?;
    Ok(Json(versions.into_iter().map(Into::into).collect()))
}

/// A passage marked confidential.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedactionOut {
    /// Its place in the report's list (to remove it).
    pub index: usize,
    pub section: String,
    /// The passage itself (only the two sides see it).
    pub passage: String,
    pub reason: String,
    /// `reviewer` or `requester`.
    pub by: String,
}

/// An after-action report as its two sides see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AfterActionOut {
    pub request_id: i64,
    /// Each section's text: timeline, actions, outcome, lessons.
    pub sections: std::collections::BTreeMap<String, String>,
    pub redactions: Vec<RedactionOut>,
    /// The sides that approved the text and redactions as they are.
    pub approved_by: Vec<String>,
    /// The text as it would be published now.
    pub preview: String,
    /// Whether both sides approved: the redacted text is published.
    pub published: bool,
}

impl From<AfterActionView> for AfterActionOut {
    fn from(view: AfterActionView) -> AfterActionOut {
        let report = &view.report;
        AfterActionOut {
            request_id: view.request_id,
            sections: Section::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), report.section(*s).to_owned()))
                .collect(),
            redactions: report
                .redactions()
                .iter()
                .enumerate()
                .map(|(index, r)| RedactionOut {
                    index,
                    section: r.section.as_str().to_owned(),
                    passage: report
                        .section(r.section)
                        .get(r.range.clone())
                        .unwrap_or_default()
                        .to_owned(),
                    reason: r.reason.clone(),
                    by: r.by.as_str().to_owned(),
                })
                .collect(),
            approved_by: holdfast_model::srw::Party::ALL
                .iter()
                .filter(|party| report.is_approved_by(**party))
                .map(|party| party.as_str().to_owned())
                .collect(),
            preview: view.preview,
            published: view.published,
        }
    }
}

/// The after-action report of a request (its requester's staff and the reviewers).
#[utoipa::path(get, path = "/api/v1/srw/{id}/report", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "The report, its redactions and the published preview", body = AfterActionOut),
        (status = 403, description = "Not a side of this report", body = ErrorEnvelope),
        (status = 404, description = "No such request, or not visible", body = ErrorEnvelope)))]
pub async fn get_srw_report(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AfterActionOut>, ApiError> {
    Ok(Json(state.service.srw_report(&actor, id).await?.into()))
}

/// A change to an after-action report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "edit", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReportEditIn {
    /// (Re)write a section (refused while it has redactions).
    Write {
        #[schema(value_type = String)]
        section: Section,
        text: String,
    },
    /// Mark a passage confidential: its exact text, and which appearance (1 when absent).
    Redact {
        #[schema(value_type = String)]
        section: Section,
        passage: String,
        #[serde(default)]
        occurrence: Option<usize>,
        reason: String,
    },
    /// Remove a redaction by its index.
    Unredact { index: usize },
    /// Approve the text and redactions as they are (for the caller's side).
    Approve,
}

/// Changes the after-action report (the request must be answered); any change withdraws both
/// approvals.
#[utoipa::path(post, path = "/api/v1/srw/{id}/report", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id")),
    request_body = ReportEditIn,
    responses((status = 200, description = "The report after the change", body = AfterActionOut),
        (status = 403, description = "Not a side of this report", body = ErrorEnvelope),
        (status = 404, description = "No such request, or not visible", body = ErrorEnvelope),
        (status = 409, description = "The request is not answered yet", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn edit_srw_report(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(edit): ApiJson<ReportEditIn>,
) -> Result<Json<AfterActionOut>, ApiError> {
    let edit = match edit {
        ReportEditIn::Write { section, text } => ReportEdit::Write { section, text },
        ReportEditIn::Redact {
            section,
            passage,
            occurrence,
            reason,
        } => ReportEdit::Redact {
            section,
            passage,
            occurrence: occurrence.unwrap_or(1),
            reason,
        },
        ReportEditIn::Unredact { index } => ReportEdit::Unredact { index },
        ReportEditIn::Approve => ReportEdit::Approve,
    };
    let view = state
        .service
        .edit_srw_report(&actor, id, edit, state.clock.now())
        .await?;
    Ok(Json(view.into()))
}

/// One year of the published figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct YearFiguresOut {
    pub year: i16,
    /// Requests received (completely submitted) in the year.
    pub requests: u32,
    /// Distinct gTLDs the requests covered.
    pub tlds_covered: u32,
    pub new_waivers: u32,
    pub not_granted: u32,
    pub in_scope_of_existing: u32,
    pub updated_waivers: u32,
    /// Names subject to the requests, to the nearest hundred.
    pub approximate_names: u64,
    pub before_action: u32,
    pub after_action: u32,
    /// Mean business days from complete submission to answer, per outcome (absent: none).
    pub average_business_days: std::collections::BTreeMap<String, u32>,
}

/// The figures per year, as the API gives them.
pub(crate) fn figures_out(table: &YearTable) -> Vec<YearFiguresOut> {
    table
        .years
        .iter()
        .map(|(year, y)| YearFiguresOut {
            year: *year,
            requests: y.requests,
            tlds_covered: y.tlds_covered,
            new_waivers: y.count(DecisionKind::NewWaiver),
            not_granted: y.count(DecisionKind::NotGranted),
            in_scope_of_existing: y.count(DecisionKind::InScopeOfExisting),
            updated_waivers: y.count(DecisionKind::UpdatedWaiver),
            approximate_names: y.approximate_names,
            before_action: y.before_action,
            after_action: y.after_action,
            average_business_days: y
                .average_business_days
                .iter()
                .map(|(outcome, days)| (outcome.as_str().to_owned(), *days))
                .collect(),
        })
        .collect()
}

/// The published yearly figures of the waiver process (public). The same as HTML at
/// `/published/srw/figures` and as open-data CSV at `/published/srw/figures.csv`.
#[utoipa::path(get, path = "/api/v1/srw/figures", tag = "srw",
    responses((status = 200, description = "One row per year of complete submission", body = Vec<YearFiguresOut>)))]
pub async fn srw_figures(
    State(state): State<AppState>,
) -> Result<Json<Vec<YearFiguresOut>>, ApiError> {
    Ok(Json(figures_out(&state.service.srw_figures().await?)))
}

/// A file attached to a waiver request.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: i64,
    pub request_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

impl From<StoredFile> for AttachmentOut {
    fn from(file: StoredFile) -> AttachmentOut {
        AttachmentOut {
            id: file.id,
            request_id: file.owner_id,
            filename: file.filename,
            content_type: file.content_type,
            size: file.size,
            sha256: file.sha256,
            created_at: file.created_at,
        }
    }
}

/// The name of an uploaded file.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AttachmentQuery {
    pub filename: String,
}

/// Attaches a file (the body, at most 10 MiB) to a waiver request: its requester's staff, or the
/// reviewers once it is submitted. A draft lists it among its attachments.
#[utoipa::path(post, path = "/api/v1/srw/{id}/attachments", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Request id"), AttachmentQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored, with its SHA-256", body = AttachmentOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such request, or not visible", body = ErrorEnvelope),
        (status = 413, description = "Too large", body = ErrorEnvelope)))]
pub async fn add_attachment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<AttachmentQuery>,
    file: Uploaded,
) -> Result<(StatusCode, Json<AttachmentOut>), ApiError> {
    let file = state
        .service
        .add_srw_attachment(
            &actor,
            id,
            &query.filename,
            &file.content_type,
            &file.content,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(file.into())))
}

/// Downloads an attachment (always as `application/octet-stream`).
#[utoipa::path(get, path = "/api/v1/srw/attachments/{id}", tag = "srw", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Attachment id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, description = "No such attachment, or not visible", body = ErrorEnvelope)))]
pub async fn attachment_file(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::response::Response, ApiError> {
    let (filename, content) = state.service.srw_attachment(&actor, id).await?;
    Ok(download(&filename, content))
}
