//! The registry's hands over HTTP: actions on names (decide, approve, undo, follow), the
//! registration guard, the registry's own domain operations, and sinkhole hosts.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use holdfast_model::{ActionKind, DomainName, DsRecord, EppStatusSet};
use holdfast_service::{
    Action, ActionItem, ActionPreview, ActionRequest, Availability, DomainOperation, DomainView,
    NameCheck, PrimaryRequest, ZoneImport,
};
use http_body_util::BodyExt;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, body_read_error};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The largest list of names one action takes, in bytes of JSON (about a million names).
pub const MAX_ACTION_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A decision to act on names.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionIn {
    /// `refer`, `hold`, `lock`, `redirect`, `transfer`, `delete`, `no-action`, `create` or
    /// `block`.
    #[schema(value_type = String)]
    pub kind: ActionKind,
    /// The names, any number; `www.example.tld` stands for `example.tld`.
    pub names: Vec<String>,
    /// Why: shown with the action and in the audit log.
    pub reason: String,
    #[serde(default)]
    pub case_ref: Option<String>,
    /// Who asked (a reporter, a court order); the deciding user when absent.
    #[serde(default)]
    pub requested_by: Option<String>,
    /// The gaining registrar's id (transfer).
    #[serde(default)]
    pub to_registrar: Option<i64>,
    /// When the block lifts (block).
    #[serde(default)]
    pub until: Option<Timestamp>,
    /// The registrar's deadline (refer; two business days when absent).
    #[serde(default)]
    pub deadline: Option<Timestamp>,
    /// The documented direction a delete acts on (required for delete).
    #[serde(default)]
    pub legal_direction: Option<String>,
    /// Act now although no waiver covers a create (or a transfer to the internal registrar) on
    /// a gTLD: recorded, and a retroactive waiver request is opened as a draft.
    #[serde(default)]
    pub emergency: bool,
}

/// How many names have one result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultCount {
    /// `pending`, `applied`, `already`, `not-ours`, `refused` or `invalid`.
    pub result: String,
    pub count: i64,
}

/// An action and how far it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionOut {
    pub id: i64,
    pub org_id: i64,
    pub kind: String,
    /// `proposed` (waits for a second approver), `applying`, `applied`, `undoing` or `undone`.
    pub state: String,
    pub reason: String,
    pub case_ref: Option<String>,
    pub requested_by: String,
    pub decided_by: i64,
    pub approved_by: Option<i64>,
    pub legal_direction: Option<String>,
    pub to_registrar: Option<i64>,
    pub until: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    /// The waivers that let a create or transfer on a gTLD act (`waiver:ID vVERSION`), or
    /// `emergency, srw:ID` — taken without one; `srw:ID` is the retroactive request.
    pub waiver: Option<String>,
    /// How many names the action has.
    pub total: i64,
    pub results: Vec<ResultCount>,
    /// Names undo restored, and names it could not (see each name's `undo_detail`).
    pub undone: i64,
    pub undo_refused: i64,
    pub created_at: Timestamp,
    pub applied_at: Option<Timestamp>,
    pub undone_by: Option<i64>,
    pub undone_at: Option<Timestamp>,
    /// Milliseconds from applied (or, once undone, from undone) to visible on the
    /// authoritative DNS server; absent until measured.
    pub effect_ms: Option<i64>,
}

impl From<Action> for ActionOut {
    fn from(action: Action) -> ActionOut {
        ActionOut {
            id: action.id,
            org_id: action.org_id,
            kind: action.kind.as_str().to_owned(),
            state: action.state.as_str().to_owned(),
            reason: action.reason,
            case_ref: action.case_ref,
            requested_by: action.requested_by,
            decided_by: action.decided_by,
            approved_by: action.approved_by,
            legal_direction: action.legal_direction,
            to_registrar: action.to_registrar_id,
            until: action.until,
            deadline: action.deadline,
            waiver: action.waiver_ref,
            total: action.total,
            results: action
                .counts
                .into_iter()
                .map(|(result, count)| ResultCount {
                    result: result.as_str().to_owned(),
                    count,
                })
                .collect(),
            undone: action.undone,
            undo_refused: action.undo_refused,
            created_at: action.created_at,
            applied_at: action.applied_at,
            undone_by: action.undone_by,
            undone_at: action.undone_at,
            effect_ms: action.effect_ms,
        }
    }
}

/// One name of an action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionNameOut {
    pub seq: i64,
    pub name: String,
    /// `pending`, `applied`, `already`, `not-ours`, `refused` or `invalid`.
    pub result: String,
    /// Why the name was refused or is invalid.
    pub detail: Option<String>,
    /// What the action changed on this name, as undo will restore it.
    #[schema(value_type = Option<Object>)]
    pub effect: Option<serde_json::Value>,
    /// `undone` or `refused` once undo reached the name.
    pub undo: Option<String>,
    pub undo_detail: Option<String>,
}

impl From<ActionItem> for ActionNameOut {
    fn from(item: ActionItem) -> ActionNameOut {
        ActionNameOut {
            seq: item.seq,
            name: item.name,
            result: item.result.as_str().to_owned(),
            detail: item.detail,
            effect: item
                .effect
                .and_then(|effect| serde_json::to_value(effect).ok()),
            undo: item
                .undo
                .map(|undone| if undone { "undone" } else { "refused" }.to_owned()),
            undo_detail: item.undo_detail,
        }
    }
}

/// A page of an action's names.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NamesQuery {
    /// Names after this sequence number (default -1: from the first, which is 0).
    #[serde(default = "before_first")]
    pub after: i64,
    /// At most this many (1–1000, default 100).
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn before_first() -> i64 {
    -1
}

fn default_limit() -> i64 {
    100
}

/// A page of actions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionsQuery {
    /// At most this many, newest first (1–1000, default 100).
    #[serde(default = "default_limit")]
    pub limit: i64,
}

/// Why an action is undone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoIn {
    pub reason: String,
}

/// Whether a name can be registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct NameCheckOut {
    pub name: String,
    /// `available`, `registered`, `blocked` or `not-ours`.
    pub status: String,
    /// Why the name is blocked.
    pub reason: Option<String>,
    /// When the block lifts.
    pub until: Option<Timestamp>,
}

impl From<NameCheck> for NameCheckOut {
    fn from(check: NameCheck) -> NameCheckOut {
        let name = check.name.as_str().to_owned();
        let (status, reason, until) = match check.availability {
            Availability::Available => ("available", None, None),
            Availability::Registered => ("registered", None, None),
            Availability::Blocked { reason, until } => ("blocked", Some(reason), Some(until)),
            Availability::NotOurs => ("not-ours", None, None),
        };
        NameCheckOut {
            name,
            status: status.to_owned(),
            reason,
            until,
        }
    }
}

/// A registered domain.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainOut {
    pub name: String,
    pub registrar: Option<i64>,
    /// RFC 5731 statuses.
    #[schema(value_type = Vec<String>)]
    pub statuses: EppStatusSet,
    #[schema(value_type = Vec<String>)]
    pub nameservers: Vec<DomainName>,
    #[schema(value_type = Vec<Object>)]
    pub ds: Vec<DsRecord>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl From<DomainView> for DomainOut {
    fn from(view: DomainView) -> DomainOut {
        DomainOut {
            name: view.name.as_str().to_owned(),
            registrar: view.registration.registrar_id,
            statuses: view.registration.statuses,
            nameservers: view.registration.nameservers,
            ds: view.registration.ds,
            created_at: view.registration.created_at,
            expires_at: view.registration.expires_at,
        }
    }
}

/// A name to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainIn {
    pub name: String,
    /// The sponsoring registrar's id.
    pub registrar: i64,
    #[serde(default)]
    pub nameservers: Vec<String>,
}

/// New name servers of a domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameserversIn {
    pub nameservers: Vec<String>,
}

/// The gaining registrar of a transfer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferIn {
    pub to_registrar: i64,
}

/// A TLD's sinkhole hosts.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SinkholeIn {
    pub hosts: Vec<String>,
    #[serde(default)]
    pub reason: String,
}

/// Decides an action on names; it is applied in the background (a delete once approved).
#[utoipa::path(post, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])),
    request_body = ActionIn,
    responses((status = 202, description = "Accepted: every name has a result row; follow the action", body = ActionOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn decide_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(request): ApiJson<ActionIn>,
) -> Result<(StatusCode, Json<ActionOut>), ApiError> {
    let action = state
        .service
        .decide_action(&actor, request.into(), state.clock.now())
        .await?;
    spawn_run(&state, action.id);
    Ok((StatusCode::ACCEPTED, Json(action.into())))
}

impl From<ActionIn> for ActionRequest {
    fn from(request: ActionIn) -> ActionRequest {
        ActionRequest {
            kind: request.kind,
            names: request.names,
            reason: request.reason,
            case_ref: request.case_ref,
            requested_by: request.requested_by,
            to_registrar: request.to_registrar,
            until: request.until,
            deadline: request.deadline,
            legal_direction: request.legal_direction,
            emergency: request.emergency,
        }
    }
}

/// One name of a preview.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewNameOut {
    pub name: String,
    /// `changes`, `already`, `refused`, `not-ours` or `invalid`.
    pub result: String,
    /// Why the name is refused, not ours or invalid.
    pub detail: Option<String>,
    /// What would change, in the shape an applied name's `effect` has.
    #[schema(value_type = Option<Object>)]
    pub effect: Option<serde_json::Value>,
}

/// A need of the decision besides the deciding user.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalOut {
    /// `second-approver`, `legal-direction` or `waiver`.
    pub need: String,
    /// Whether the request as it stands meets it (a second approver: never before deciding).
    pub met: bool,
    pub detail: String,
}

/// A field the decision would be refused for as it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemOut {
    pub field: String,
    pub message: String,
}

/// What deciding an action would do; nothing is decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionPreviewOut {
    pub kind: String,
    /// Names after normalising (duplicates dropped, `www.x.tld` as `x.tld`).
    pub total: usize,
    /// How many names have each result (`changes`, `already`, `refused`, `not-ours`,
    /// `invalid`), over every name.
    pub results: Vec<ResultCount>,
    /// The first 100 names in the order given.
    pub names: Vec<PreviewNameOut>,
    pub approvals: Vec<ApprovalOut>,
    /// Why deciding it as it stands would be refused; empty when it would be accepted.
    pub problems: Vec<ProblemOut>,
}

impl From<ActionPreview> for ActionPreviewOut {
    fn from(preview: ActionPreview) -> ActionPreviewOut {
        ActionPreviewOut {
            kind: preview.kind.as_str().to_owned(),
            total: preview.total,
            results: preview
                .counts
                .iter()
                .map(|(result, count)| ResultCount {
                    result: result.as_str().to_owned(),
                    count: i64::try_from(*count).unwrap_or(i64::MAX),
                })
                .collect(),
            names: preview
                .names
                .into_iter()
                .map(|name| PreviewNameOut {
                    name: name.name,
                    result: name.result.as_str().to_owned(),
                    detail: name.detail,
                    effect: name
                        .effect
                        .and_then(|effect| serde_json::to_value(effect).ok()),
                })
                .collect(),
            approvals: preview
                .approvals
                .into_iter()
                .map(|approval| ApprovalOut {
                    need: approval.need.as_str().to_owned(),
                    met: approval.met,
                    detail: approval.detail,
                })
                .collect(),
            problems: preview
                .problems
                .into_iter()
                .map(|(field, message)| ProblemOut { field, message })
                .collect(),
        }
    }
}

/// What deciding this action would do to each name now, and the approvals it needs; decides
/// nothing and records nothing.
#[utoipa::path(post, path = "/api/v1/actions/preview", tag = "actions", security(("bearer" = [])),
    request_body = ActionIn,
    responses((status = 200, description = "The preview", body = ActionPreviewOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn preview_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(request): ApiJson<ActionIn>,
) -> ApiResult<ActionPreviewOut> {
    let request: ActionRequest = request.into();
    let preview = state
        .service
        .preview_action(&actor, &request, state.clock.now())
        .await?;
    Ok(Json(preview.into()))
}

/// Applies or undoes an action in the background; a stop leaves it to resume at start-up.
pub(crate) fn spawn_run(state: &AppState, id: i64) {
    let service = state.service.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        if let Err(error) = service.run_action(id, clock.as_ref()).await {
            tracing::error!(action = id, %error, "applying an action failed; it resumes at the next start");
        }
    });
}

/// The newest actions of the organisation (all, for admins).
#[utoipa::path(get, path = "/api/v1/actions", tag = "actions", security(("bearer" = [])),
    params(ActionsQuery),
    responses((status = 200, description = "Done", body = Vec<ActionOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_actions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<ActionsQuery>,
) -> ApiResult<Vec<ActionOut>> {
    let actions = state.service.actions(&actor, query.limit).await?;
    Ok(Json(actions.into_iter().map(Into::into).collect()))
}

/// One action with its result counts.
#[utoipa::path(get, path = "/api/v1/actions/{id}", tag = "actions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Action id")),
    responses((status = 200, description = "Done", body = ActionOut),
        (status = 404, description = "No such action the caller may see", body = ErrorEnvelope)))]
pub async fn get_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ActionOut> {
    Ok(Json(state.service.action(&actor, id).await?.into()))
}

/// The names of an action with their results, in the order given.
#[utoipa::path(get, path = "/api/v1/actions/{id}/names", tag = "actions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Action id"), NamesQuery),
    responses((status = 200, description = "Done", body = Vec<ActionNameOut>),
        (status = 404, description = "No such action the caller may see", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn action_names(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<NamesQuery>,
) -> ApiResult<Vec<ActionNameOut>> {
    let items = state
        .service
        .action_items(&actor, id, query.after, query.limit)
        .await?;
    Ok(Json(items.into_iter().map(Into::into).collect()))
}

/// Approves a proposed delete as the second approver; it is then applied.
#[utoipa::path(post, path = "/api/v1/actions/{id}/approve", tag = "actions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Action id")),
    responses((status = 202, description = "Approved; being applied", body = ActionOut),
        (status = 404, description = "No such action the caller may see", body = ErrorEnvelope),
        (status = 409, description = "Not waiting for approval, or the approver decided it", body = ErrorEnvelope)))]
pub async fn approve_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<ActionOut>), ApiError> {
    let action = state
        .service
        .approve_action(&actor, id, state.clock.now())
        .await?;
    spawn_run(&state, id);
    Ok((StatusCode::ACCEPTED, Json(action.into())))
}

/// Undoes an applied action: restores exactly what it changed, removes only what it added.
#[utoipa::path(post, path = "/api/v1/actions/{id}/undo", tag = "actions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Action id")),
    request_body = UndoIn,
    responses((status = 202, description = "Being undone", body = ActionOut),
        (status = 404, description = "No such action the caller may see", body = ErrorEnvelope),
        (status = 409, description = "Not applied, or nothing to undo", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn undo_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UndoIn>,
) -> Result<(StatusCode, Json<ActionOut>), ApiError> {
    let action = state
        .service
        .undo_action(&actor, id, &request.reason, state.clock.now())
        .await?;
    spawn_run(&state, id);
    Ok((StatusCode::ACCEPTED, Json(action.into())))
}

/// The registration guard: whether a name is available, registered, blocked or not ours.
#[utoipa::path(get, path = "/api/v1/check/{name}", tag = "registry", security(("bearer" = [])),
    params(("name" = String, Path, description = "Domain name")),
    responses((status = 200, description = "Done", body = NameCheckOut),
        (status = 422, description = "Not a domain name", body = ErrorEnvelope)))]
pub async fn check_name(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<NameCheckOut> {
    let check = state
        .service
        .check_name(&actor, &name, state.clock.now())
        .await?;
    Ok(Json(check.into()))
}

/// A registered domain (registrar staff: their own).
#[utoipa::path(get, path = "/api/v1/domains/{name}", tag = "registry", security(("bearer" = [])),
    params(("name" = String, Path, description = "Domain name")),
    responses((status = 200, description = "Done", body = DomainOut),
        (status = 404, description = "Not registered, or not the caller's", body = ErrorEnvelope)))]
pub async fn get_domain(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<DomainOut> {
    let view = state
        .service
        .domain(&actor, &name, state.clock.now())
        .await?;
    Ok(Json(view.into()))
}

/// Registers a name, through the registration guard.
#[utoipa::path(post, path = "/api/v1/domains", tag = "registry", security(("bearer" = [])),
    request_body = DomainIn,
    responses((status = 201, description = "Created", body = DomainOut),
        (status = 409, description = "Registered already, or blocked (with the reason and end)", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn create_domain(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(request): ApiJson<DomainIn>,
) -> Result<(StatusCode, Json<DomainOut>), ApiError> {
    let view = state
        .service
        .create_domain(
            &actor,
            &request.name,
            request.registrar,
            &request.nameservers,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

async fn operate(
    state: &AppState,
    actor: &holdfast_model::org::Actor,
    name: &str,
    operation: DomainOperation,
) -> Result<Option<DomainView>, ApiError> {
    Ok(state
        .service
        .operate_domain(actor, name, operation, state.clock.now())
        .await?)
}

/// Replaces a domain's name servers, unless its statuses prohibit updates.
#[utoipa::path(put, path = "/api/v1/domains/{name}/nameservers", tag = "registry", security(("bearer" = [])),
    params(("name" = String, Path, description = "Domain name")),
    request_body = NameserversIn,
    responses((status = 200, description = "Done", body = DomainOut),
        (status = 404, description = "Not registered, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The statuses prohibit it", body = ErrorEnvelope)))]
pub async fn update_nameservers(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<NameserversIn>,
) -> Result<Json<DomainOut>, ApiError> {
    let operation = DomainOperation::Update {
        nameservers: request.nameservers,
    };
    let view = operate(&state, &actor, &name, operation).await?;
    view.map(|view| Json(view.into()))
        .ok_or_else(ApiError::not_found)
}

/// Transfers a domain to another registrar, unless its statuses prohibit transfers.
#[utoipa::path(post, path = "/api/v1/domains/{name}/transfer", tag = "registry", security(("bearer" = [])),
    params(("name" = String, Path, description = "Domain name")),
    request_body = TransferIn,
    responses((status = 200, description = "Done", body = DomainOut),
        (status = 404, description = "Not registered, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The statuses prohibit it", body = ErrorEnvelope)))]
pub async fn transfer_domain(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<TransferIn>,
) -> Result<Json<DomainOut>, ApiError> {
    let operation = DomainOperation::Transfer {
        to_registrar: request.to_registrar,
    };
    let view = operate(&state, &actor, &name, operation).await?;
    view.map(|view| Json(view.into()))
        .ok_or_else(ApiError::not_found)
}

/// Deletes a domain, unless its statuses prohibit deletion.
#[utoipa::path(delete, path = "/api/v1/domains/{name}", tag = "registry", security(("bearer" = [])),
    params(("name" = String, Path, description = "Domain name")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "Not registered, or not the caller's", body = ErrorEnvelope),
        (status = 409, description = "The statuses prohibit it", body = ErrorEnvelope)))]
pub async fn delete_domain(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    operate(&state, &actor, &name, DomainOperation::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets a TLD's sinkhole hosts (admins).
#[utoipa::path(put, path = "/api/v1/tlds/{id}/sinkhole", tag = "registry", security(("bearer" = [])),
    params(("id" = i64, Path, description = "TLD id")),
    request_body = SinkholeIn,
    responses((status = 200, description = "Done", body = SinkholeIn),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such TLD", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn set_sinkhole(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SinkholeIn>,
) -> ApiResult<SinkholeIn> {
    let hosts = state
        .service
        .set_sinkhole(
            &actor,
            id,
            &request.hosts,
            &request.reason,
            state.clock.now(),
        )
        .await?;
    Ok(Json(SinkholeIn {
        hosts: hosts.iter().map(|host| host.as_str().to_owned()).collect(),
        reason: request.reason,
    }))
}

/// The largest zone file an import takes.
pub const MAX_ZONE_BODY_BYTES: usize = 1024 * 1024 * 1024;

/// What a zone import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneImportOut {
    pub tld: String,
    pub lines: usize,
    /// Names newly registered; names already registered keep what they have.
    pub domains: u64,
    pub nameservers: u64,
    pub ds: u64,
    pub glue: u64,
    /// Records that are not delegation data and were skipped.
    pub skipped: u64,
    /// The first skipped records, each with its line.
    pub warnings: Vec<String>,
}

impl From<ZoneImport> for ZoneImportOut {
    fn from(import: ZoneImport) -> ZoneImportOut {
        ZoneImportOut {
            tld: import.tld.as_str().to_owned(),
            lines: import.lines,
            domains: import.domains,
            nameservers: import.nameservers,
            ds: import.ds,
            glue: import.glue,
            skipped: import.skipped,
            warnings: import.warnings,
        }
    }
}

/// Why a zone is imported.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ZoneQuery {
    #[serde(default)]
    pub reason: String,
}

/// Imports an RFC 1035 zone file into a TLD (admins): delegations, DS, glue, apex. All or
/// nothing; an error names the line.
#[utoipa::path(post, path = "/api/v1/tlds/{id}/zone", tag = "registry", security(("bearer" = [])),
    params(("id" = i64, Path, description = "TLD id"), ZoneQuery),
    request_body(content = String, content_type = "text/dns", description = "The zone file"),
    responses((status = 200, description = "Imported", body = ZoneImportOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such TLD", body = ErrorEnvelope),
        (status = 422, description = "The zone file is wrong; the error names the line", body = ErrorEnvelope)))]
pub async fn import_zone(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ZoneQuery>,
    body: Body,
) -> ApiResult<ZoneImportOut> {
    let spooled = spool(body).await?;
    let import = state
        .service
        .import_zone(&actor, id, spooled, &query.reason, state.clock.now())
        .await?;
    Ok(Json(import.into()))
}

/// Writes a request body to an unnamed temporary file, so that a long import reads it at disk
/// speed and the client is not held to the database's pace.
async fn spool(body: Body) -> Result<std::fs::File, ApiError> {
    let failed = |error: std::io::Error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("spooling the upload failed: {error}"),
        )
    };
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|error| failed(std::io::Error::other(error)))?
        .map_err(failed)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_read_error(&error))?;
        if let Ok(chunk) = frame.into_data() {
            file.write_all(&chunk).await.map_err(failed)?;
        }
    }
    file.flush().await.map_err(failed)?;
    let mut file = file.into_std().await;
    std::io::Seek::rewind(&mut file).map_err(failed)?;
    Ok(file)
}

/// The zone a TLD publishes now, in RFC 1035 form.
#[utoipa::path(get, path = "/api/v1/tlds/{id}/zone", tag = "registry", security(("bearer" = [])),
    params(("id" = i64, Path, description = "TLD id")),
    responses((status = 200, description = "The zone file", body = String, content_type = "text/dns"),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such TLD the caller may see", body = ErrorEnvelope),
        (status = 409, description = "No zone imported yet", body = ErrorEnvelope)))]
pub async fn export_zone(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let zone = state.service.export_zone(&actor, id).await?;
    Ok(([(header::CONTENT_TYPE, "text/dns")], zone).into_response())
}

/// How many names changed sponsor.
#[derive(Debug, Serialize, ToSchema)]
pub struct SponsorsOut {
    pub changed: u64,
}

/// Assigns sponsoring registrars from a CSV of `name,registrar` (IANA id or exact name) to
/// names of a TLD (admins). All or nothing; an error names the line.
#[utoipa::path(post, path = "/api/v1/tlds/{id}/sponsors", tag = "registry", security(("bearer" = [])),
    params(("id" = i64, Path, description = "TLD id"), ZoneQuery),
    request_body(content = String, content_type = "text/csv", description = "name,registrar lines"),
    responses((status = 200, description = "Assigned", body = SponsorsOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such TLD", body = ErrorEnvelope),
        (status = 422, description = "A line is wrong; the error names it", body = ErrorEnvelope)))]
pub async fn assign_sponsors(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ZoneQuery>,
    body: axum::body::Bytes,
) -> ApiResult<SponsorsOut> {
    let csv = std::str::from_utf8(&body).map_err(|_| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "csv",
            "must be UTF-8 text",
        )
    })?;
    let changed = state
        .service
        .assign_sponsors(&actor, id, csv, &query.reason, state.clock.now())
        .await?;
    Ok(Json(SponsorsOut { changed }))
}

/// Where a TLD is published: an RFC 2136 primary with its TSIG key, or (all fields absent) the
/// embedded server.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsIn {
    /// `ip:port` of the primary; absent for the embedded server.
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub tsig_name: Option<String>,
    /// The hmac-sha256 secret, base64.
    #[serde(default)]
    pub tsig_secret: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// Sets where a TLD's DNS is published (admins). One mechanism per TLD: a primary that also
/// reloads the zone from a file loses the updates.
#[utoipa::path(put, path = "/api/v1/tlds/{id}/dns", tag = "registry", security(("bearer" = [])),
    params(("id" = i64, Path, description = "TLD id")),
    request_body = DnsIn,
    responses((status = 204, description = "Set"),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such TLD", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn set_dns(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<DnsIn>,
) -> Result<StatusCode, ApiError> {
    let primary = match (request.server, request.tsig_name, request.tsig_secret) {
        (None, None, None) => None,
        (Some(server), Some(tsig_name), Some(tsig_secret)) => Some(PrimaryRequest {
            server,
            tsig_name,
            tsig_secret,
        }),
        (server, name, _) => {
            let missing = if server.is_none() {
                "server"
            } else if name.is_none() {
                "tsig_name"
            } else {
                "tsig_secret"
            };
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                missing,
                "a primary needs server, tsig_name and tsig_secret together",
            ));
        }
    };
    state
        .service
        .set_dns_primary(&actor, id, primary, &request.reason, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
