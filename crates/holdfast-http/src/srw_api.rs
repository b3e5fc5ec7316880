//! Security Response Waiver requests over HTTP: drafts with their completeness check,
//! submission, the requester's list and the reviewers' queue with business-day deadlines.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use holdfast_model::srw::{Decision, ReviewCommand, SrwRequestDraft};
use holdfast_service::SrwView;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, Auth};

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
            created_at: record.created_at,
            updated_at: record.updated_at,
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

/// A review step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewIn {
    /// Name the reviewer who keeps contact for the whole incident (reviewers).
    AssignReviewer { reviewer: String },
    /// Contact made, incident confirmed (reviewers).
    ConfirmIncident,
    /// More information asked for (reviewers).
    AskInformation,
    /// The information given (the requester).
    AnswerInformation,
    /// The team discussed the request (reviewers).
    Discuss,
    /// The written answer (reviewers): `"new_waiver"`, `{"updated_waiver": {"waiver_id": 3}}`,
    /// `{"in_scope_of_existing": {"waiver_id": 3}}` or `{"not_granted": {"reason": "…"}}`.
    Decide {
        #[schema(value_type = Object)]
        decision: Decision,
    },
}

impl From<ReviewIn> for ReviewCommand {
    fn from(step: ReviewIn) -> ReviewCommand {
        match step {
            ReviewIn::AssignReviewer { reviewer } => ReviewCommand::AssignReviewer(reviewer),
            ReviewIn::ConfirmIncident => ReviewCommand::ConfirmIncident,
            ReviewIn::AskInformation => ReviewCommand::AskInformation,
            ReviewIn::AnswerInformation => ReviewCommand::AnswerInformation,
            ReviewIn::Discuss => ReviewCommand::Discuss,
            ReviewIn::Decide { decision } => ReviewCommand::Decide(decision),
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
