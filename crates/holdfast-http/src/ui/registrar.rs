//! The registrar's view: referrals of its own names with their deadlines, answered in place.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_service::ServiceError;
use serde::Deserialize;

use super::format::{countdown, time};
use super::session::with_done;
use super::{Chrome, Notice, Session, error_page, render};
use crate::AppState;
use holdfast_model::org::Permission;

/// One referral.
pub struct ReferralRow {
    pub id: i64,
    pub case_id: i64,
    pub names: Vec<String>,
    pub due: String,
    pub countdown: String,
    pub overdue: bool,
    pub answer: Option<String>,
    pub answered: String,
    /// What was typed when an answer was refused, and why.
    pub draft: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "registrar.html")]
struct Referrals {
    chrome: Chrome,
    open: Vec<ReferralRow>,
    answered: Vec<ReferralRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

async fn page(
    state: &AppState,
    session: &Session,
    refused: Option<(i64, String, String)>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let now = state.clock.now();
    let referrals = match state.service.referrals(&session.actor).await {
        Ok(referrals) => referrals,
        Err(error) => return error_page(session, &error),
    };
    let (mut open, mut answered) = (Vec::new(), Vec::new());
    for referral in referrals {
        let (draft, error) = match &refused {
            Some((id, draft, error)) if *id == referral.id => (draft.clone(), Some(error.clone())),
            _ => (String::new(), None),
        };
        let row = ReferralRow {
            id: referral.id,
            case_id: referral.case_id,
            names: referral.names.clone(),
            due: time(referral.due),
            countdown: countdown(referral.due, now),
            overdue: referral.due < now && referral.answered_at.is_none(),
            answered: referral.answered_at.map(time).unwrap_or_default(),
            answer: referral.answer.clone(),
            draft,
            error,
        };
        if referral.answered_at.is_some() {
            answered.push(row);
        } else {
            open.push(row);
        }
    }
    open.sort_by(|a, b| a.due.cmp(&b.due));
    render(
        status,
        &Referrals {
            chrome: Chrome::new(session, "Referrals", "/registrar").with_notice(notice),
            open,
            answered,
        },
    )
}

/// `GET /registrar`.
pub async fn referrals(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = match query.done.as_str() {
        "answered" => Notice::done("Your answer is sent to the registry's desk."),
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        _ => None,
    };
    page(&state, &session, None, notice, StatusCode::OK).await
}

/// `POST /registrar/referrals/{id}/answer`.
pub async fn answer(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let fields = match session.form_as(Permission::AnswerReferrals, &state, &body, "/registrar") {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let text = fields.get("answer");
    match state
        .service
        .answer_referral(&session.actor, id, text, state.clock.now())
        .await
    {
        Ok(_) => Redirect::to(&with_done("/registrar", "answered")).into_response(),
        Err(ServiceError::Invalid { reason, .. }) => {
            let refused = Some((id, text.to_owned(), reason));
            page(
                &state,
                &session,
                refused,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error @ ServiceError::Conflict { .. }) => {
            let notice = Notice::problem(format!("Not done: {error}"));
            page(&state, &session, None, notice, StatusCode::CONFLICT).await
        }
        Err(error) => error_page(&session, &error),
    }
}
