//! The desk's actions outside a case: the list with each action's progress, a bulk decision on
//! any number of pasted names, and one action's page — its progress (refreshed by htmx while it
//! runs; a reload does the same without JavaScript), result counts, names page by page, approve
//! and undo.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::ActionKind;
use holdfast_model::org::Permission;
use holdfast_service::{Action, ActionState, ItemResult, ServiceError};
use serde::Deserialize;

use super::desk::{Choice, FormState, action_request_from, kind_choices};
use super::format::{maybe_time, time};
use super::preview::PreviewView;
use super::session::Fields;
use super::{Chrome, Notice, Session, error_page, refused_status, render, require};
use crate::AppState;
use crate::registry_api::spawn_run;

/// Actions listed, newest first.
const ACTIONS_SHOWN: i64 = 100;
/// Names of an action shown per page.
const NAMES_PER_PAGE: i64 = 200;

/// How far an action is.
pub struct Progress {
    pub done: i64,
    pub of: i64,
    pub words: String,
}

fn progress(action: &Action) -> Progress {
    let count = |wanted: ItemResult| {
        action
            .counts
            .iter()
            .find(|(result, _)| *result == wanted)
            .map_or(0, |(_, count)| *count)
    };
    match action.state {
        ActionState::Undoing | ActionState::Undone => {
            let applied = count(ItemResult::Applied);
            let done = action.undone + action.undo_refused;
            Progress {
                done,
                of: applied,
                words: format!("{done} of {applied} names undone or refused"),
            }
        }
        _ => {
            let done = action.total - count(ItemResult::Pending);
            Progress {
                done,
                of: action.total,
                words: format!("{done} of {} names", action.total),
            }
        }
    }
}

fn results(action: &Action) -> String {
    action
        .counts
        .iter()
        .filter(|(_, count)| *count > 0)
        .map(|(result, count)| format!("{count} {}", result.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn case_of(action: &Action) -> Option<i64> {
    action
        .case_ref
        .as_deref()
        .and_then(|reference| reference.strip_prefix("case:"))
        .and_then(|id| id.parse().ok())
}

/// One action in the list.
pub struct ActionLine {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub progress: Progress,
    pub results: String,
    pub reason: String,
    pub case_id: Option<i64>,
    pub decided: String,
}

#[derive(Template)]
#[template(path = "actions.html")]
struct ActionsPage {
    chrome: Chrome,
    actions: Vec<ActionLine>,
    form: FormState,
    kinds: Vec<Choice>,
    preview: Option<PreviewView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
    /// Names after this sequence number (the first page when absent).
    after: Option<i64>,
}

async fn list_page(
    state: &AppState,
    session: &Session,
    form: FormState,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    list_page_with(state, session, form, None, notice, status).await
}

async fn list_page_with(
    state: &AppState,
    session: &Session,
    form: FormState,
    preview: Option<PreviewView>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let listed = match state.service.actions(&session.actor, ACTIONS_SHOWN).await {
        Ok(actions) => actions,
        Err(error) => return error_page(session, &error),
    };
    let kind = form.value("kind").to_owned();
    render(
        status,
        &ActionsPage {
            chrome: Chrome::new(session, "Actions", "/desk/actions").with_notice(notice),
            actions: listed
                .iter()
                .map(|action| ActionLine {
                    id: action.id,
                    kind: action.kind.as_str().to_owned(),
                    state: action.state.as_str().to_owned(),
                    progress: progress(action),
                    results: results(action),
                    reason: action.reason.clone(),
                    case_id: case_of(action),
                    decided: time(action.created_at),
                })
                .collect(),
            form,
            kinds: kind_choices(&kind),
            preview,
        },
    )
}

/// `GET /desk/actions`.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = match query.done.as_str() {
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        _ => None,
    };
    list_page(
        &state,
        &session,
        FormState::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

const BULK_FIELDS: &[&str] = &[
    "kind",
    "names",
    "reason",
    "until",
    "requested_by",
    "legal_direction",
    "to_registrar",
    "emergency",
    "case_ref",
];

/// The pasted names: one per line, `#` comments and blank lines skipped.
fn pasted_names(fields: &Fields) -> Vec<String> {
    fields
        .get("names")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `POST /desk/actions/preview`: what the bulk decision would do (the first names listed, every
/// name counted) and the approvals it needs, above the form as typed, with a Decide form that
/// sends the same fields under a fresh one-time token. Decides nothing.
pub async fn preview(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    if let Err(refused) = require(&session, Permission::TakeAction) {
        return *refused;
    }
    let fields = match session.read_form(&body) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match action_request_from(&fields, pasted_names(&fields)) {
        Ok(mut request) => {
            let reference = fields.get("case_ref").trim();
            request.case_ref = (!reference.is_empty()).then(|| reference.to_owned());
            state
                .service
                .preview_action(&session.actor, &request, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(preview) => {
            let view = PreviewView::new(&preview, &fields, "/desk/actions".to_owned());
            let form = FormState {
                fields,
                error: None,
            };
            list_page_with(&state, &session, form, Some(view), None, StatusCode::OK).await
        }
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let form = FormState::refused(fields, &error, BULK_FIELDS);
            let notice = Notice::problem(format!("No preview: {error}"));
            list_page(
                &state,
                &session,
                form,
                notice,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /desk/actions`: one decision on every pasted name (one per line; `#` comments and
/// blank lines skipped), applied in the background like any action.
pub async fn decide(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let fields = match session.form_as(Permission::TakeAction, &state, &body, "/desk/actions") {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let names = pasted_names(&fields);
    let result = match action_request_from(&fields, names) {
        Ok(mut request) => {
            let reference = fields.get("case_ref").trim();
            request.case_ref = (!reference.is_empty()).then(|| reference.to_owned());
            state
                .service
                .decide_action(&session.actor, request, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(action) => {
            spawn_run(&state, action.id);
            Redirect::to(&format!("/desk/actions/{}?done=decided", action.id)).into_response()
        }
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let form = FormState::refused(fields, &error, BULK_FIELDS);
            let notice = Notice::problem(format!("Not done: {error}"));
            list_page(&state, &session, form, notice, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

#[derive(Template)]
#[template(path = "action.html")]
struct ActionPage {
    chrome: Chrome,
    id: i64,
    kind: String,
    state: String,
    reason: String,
    requested_by: String,
    legal_direction: String,
    case_id: Option<i64>,
    case_ref: String,
    decided: String,
    applied: String,
    undone: String,
    until: String,
    deadline: String,
    effect: String,
    progress: Progress,
    results: String,
    running: bool,
    undoable: bool,
    approvable: bool,
    names: Vec<(i64, String, String)>,
    after: i64,
    next_after: Option<i64>,
}

/// `GET /desk/actions/{id}`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let actor = &session.actor;
    let action = match state.service.action(actor, id).await {
        Ok(action) => action,
        Err(error) => return error_page(&session, &error),
    };
    let after = query.after.unwrap_or(-1).max(-1);
    let items = match state
        .service
        .action_items(actor, id, after, NAMES_PER_PAGE)
        .await
    {
        Ok(items) => items,
        Err(error) => return error_page(&session, &error),
    };
    let next_after = (items.len() as i64 == NAMES_PER_PAGE)
        .then(|| items.last().map(|item| item.seq))
        .flatten();
    let notice = match query.done.as_str() {
        "decided" => Notice::done("The action is decided and being applied."),
        "undo" => Notice::done("The action is being undone."),
        "approve" => Notice::done("The action is approved and being applied."),
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        _ => None,
    };
    let page = ActionPage {
        chrome: Chrome::new(&session, format!("Action {id}"), "/desk/actions").with_notice(notice),
        id,
        kind: action.kind.as_str().to_owned(),
        state: action.state.as_str().to_owned(),
        reason: action.reason.clone(),
        requested_by: action.requested_by.clone(),
        legal_direction: action.legal_direction.clone().unwrap_or_default(),
        case_id: case_of(&action),
        case_ref: action.case_ref.clone().unwrap_or_default(),
        decided: time(action.created_at),
        applied: maybe_time(action.applied_at),
        undone: action.undone_at.map(time).unwrap_or_default(),
        until: action.until.map(time).unwrap_or_default(),
        deadline: action.deadline.map(time).unwrap_or_default(),
        effect: super::desk::effect_text(&action),
        progress: progress(&action),
        results: results(&action),
        running: matches!(action.state, ActionState::Applying | ActionState::Undoing),
        undoable: action.state == ActionState::Applied && action.kind != ActionKind::NoAction,
        approvable: action.state == ActionState::Proposed,
        names: items
            .into_iter()
            .map(|item| {
                let mut result = item.result.as_str().to_owned();
                if let Some(detail) = item.detail {
                    result.push_str(&format!(" ({detail})"));
                }
                if let Some(undone) = item.undo {
                    result.push_str(if undone { "; undone" } else { "; undo refused" });
                    if let Some(detail) = item.undo_detail {
                        result.push_str(&format!(" ({detail})"));
                    }
                }
                (item.seq, item.name, result)
            })
            .collect(),
        after,
        next_after,
    };
    render(StatusCode::OK, &page)
}
