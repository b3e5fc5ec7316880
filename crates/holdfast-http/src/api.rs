//! The JSON API under `/api/v1`: wire types, handlers, and their OpenAPI descriptions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use holdfast_model::audit::{AuditEntry, ChainError};
use holdfast_model::org::{OrgKind, Role};
use holdfast_service::{
    ApiToken, AuditVerification, IssuedToken, NewOrganisation, NewRegistrarRequest, NewTld,
    NewUserRequest, Organisation, Registrar, Tld, UserView,
};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use crate::limit::ClientAddr;

type ApiResult<T> = Result<Json<T>, ApiError>;

/// Password sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A token, shown only once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenIssued {
    pub id: i64,
    /// The secret: send it as `Authorization: Bearer TOKEN`. It is not stored and cannot be shown again.
    pub token: String,
    pub expires_at: Option<Timestamp>,
}

impl From<IssuedToken> for TokenIssued {
    fn from(issued: IssuedToken) -> TokenIssued {
        TokenIssued {
            id: issued.id,
            token: issued.token,
            expires_at: issued.expires_at,
        }
    }
}

/// An organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationOut {
    pub id: i64,
    pub name: String,
    /// `operator`, `registry`, `registrar`, `reviewer` or `reporter`.
    #[schema(value_type = String)]
    pub kind: OrgKind,
    pub created_at: Timestamp,
}

impl From<Organisation> for OrganisationOut {
    fn from(org: Organisation) -> OrganisationOut {
        OrganisationOut {
            id: org.id,
            name: org.name,
            kind: org.kind,
            created_at: org.created_at,
        }
    }
}

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationIn {
    pub name: String,
    /// `operator`, `registry`, `registrar`, `reviewer` or `reporter`.
    #[schema(value_type = String)]
    pub kind: OrgKind,
    /// Why it is created, for the audit log.
    #[serde(default)]
    pub reason: String,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    pub display_name: String,
    /// `admin`, `registry_staff`, `registrar_staff`, `reviewer` or `reporter`.
    #[schema(value_type = String)]
    pub role: Role,
    pub created_at: Timestamp,
    pub disabled: bool,
}

impl From<UserView> for UserOut {
    fn from(user: UserView) -> UserOut {
        UserOut {
            id: user.id,
            org_id: user.org_id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            created_at: user.created_at,
            disabled: user.disabled,
        }
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    pub email: String,
    pub display_name: String,
    /// Must fit the organisation's kind: `admin` (operator), `registry_staff` (registry),
    /// `registrar_staff` (registrar), `reviewer` (reviewer), `reporter` (reporter).
    #[schema(value_type = String)]
    pub role: Role,
    /// At least 12 characters; without one the user signs in only with tokens.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub reason: String,
}

/// A request for a new API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    pub label: String,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}

/// An API token's record (never the secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl From<ApiToken> for TokenOut {
    fn from(token: ApiToken) -> TokenOut {
        TokenOut {
            id: token.id,
            user_id: token.user_id,
            label: token.label,
            created_at: token.created_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// A TLD.
#[derive(Debug, Serialize, ToSchema)]
pub struct TldOut {
    pub id: i64,
    /// The A-label.
    pub name: String,
    pub org_id: i64,
    pub created_at: Timestamp,
}

impl From<Tld> for TldOut {
    fn from(tld: Tld) -> TldOut {
        TldOut {
            id: tld.id,
            name: tld.name,
            org_id: tld.org_id,
            created_at: tld.created_at,
        }
    }
}

/// A new TLD.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TldIn {
    /// One label, as U-label or A-label.
    pub name: String,
    /// The registry organisation that runs it.
    pub org_id: i64,
    #[serde(default)]
    pub reason: String,
}

/// A registrar.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrarOut {
    pub id: i64,
    pub name: String,
    pub iana_id: Option<i64>,
    pub org_id: Option<i64>,
    pub abuse_email: String,
    pub abuse_phone: String,
    /// The registry operator's own registrar.
    pub internal: bool,
    pub created_at: Timestamp,
}

impl From<Registrar> for RegistrarOut {
    fn from(registrar: Registrar) -> RegistrarOut {
        RegistrarOut {
            id: registrar.id,
            name: registrar.name,
            iana_id: registrar.iana_id,
            org_id: registrar.org_id,
            abuse_email: registrar.abuse_email,
            abuse_phone: registrar.abuse_phone,
            internal: registrar.internal,
            created_at: registrar.created_at,
        }
    }
}

/// A new registrar.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrarIn {
    pub name: String,
    /// The IANA Registrar ID, if accredited.
    #[serde(default)]
    pub iana_id: Option<i64>,
    /// The registrar's organisation in Holdfast, if it has one.
    #[serde(default)]
    pub org_id: Option<i64>,
    pub abuse_email: String,
    pub abuse_phone: String,
    /// The registry operator's own registrar (at most one).
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub reason: String,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub reason: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryOut {
    fn from(entry: AuditEntry) -> AuditEntryOut {
        AuditEntryOut {
            seq: entry.seq,
            at: entry.at,
            actor: entry.event.actor,
            actor_user_id: entry.event.actor_user_id,
            org_id: entry.event.org_id,
            action: entry.event.action,
            subject: entry.event.subject,
            reason: entry.event.reason,
            details: entry.event.details,
            prev_hash: entry.prev_hash,
            hash: entry.hash,
        }
    }
}

/// Which audit entries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// List entries after this sequence number (default 0: from the start).
    #[serde(default)]
    pub after: i64,
    /// At most this many (1–1000, default 100).
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// The result of verifying the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerifyOut {
    /// True when every entry verified.
    pub ok: bool,
    /// How many entries verified, from the first.
    pub verified: i64,
    /// The entry at fault, if any.
    pub bad_entry: Option<i64>,
    /// What is wrong with it.
    pub problem: Option<String>,
}

impl From<AuditVerification> for AuditVerifyOut {
    fn from(verification: AuditVerification) -> AuditVerifyOut {
        let bad_entry = verification.error.as_ref().map(ChainError::entry);
        AuditVerifyOut {
            ok: verification.error.is_none(),
            verified: verification.verified,
            bad_entry,
            problem: verification.error.map(|e| e.to_string()),
        }
    }
}

/// Liveness and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    pub status: &'static str,
}

/// The server is running.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "Done", body = HealthOut)))]
pub async fn health() -> Json<HealthOut> {
    Json(HealthOut { status: "ok" })
}

/// The server can reach its database.
#[utoipa::path(get, path = "/ready", tag = "service",
    responses((status = 200, description = "Done", body = HealthOut), (status = 503, description = "The database does not answer", body = ErrorEnvelope)))]
pub async fn ready(State(state): State<AppState>) -> ApiResult<HealthOut> {
    match state.service.store().ping().await {
        Ok(()) => Ok(Json(HealthOut { status: "ready" })),
        Err(error) => {
            tracing::warn!(%error, "not ready");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database does not answer",
            ))
        }
    }
}

/// Signs in with e-mail and password; returns a session token valid for 12 hours.
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, description = "Done", body = TokenIssued), (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts from this address; try later", body = ErrorEnvelope)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<TokenIssued> {
    state.login_limit.check(client, state.clock.now())?;
    let issued = state
        .service
        .login(&request.email, &request.password, state.clock.now())
        .await?;
    Ok(Json(issued.into()))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Done", body = UserOut), (status = 401, description = "No valid token", body = ErrorEnvelope)))]
pub async fn me(State(state): State<AppState>, Auth(actor): Auth) -> ApiResult<UserOut> {
    Ok(Json(state.service.me(&actor).await?.into()))
}

/// Organisations the caller may see: all for admins, their own for everyone else.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Done", body = Vec<OrganisationOut>), (status = 401, description = "No valid token", body = ErrorEnvelope)))]
pub async fn list_organisations(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Vec<OrganisationOut>> {
    let organisations = state.service.organisations(&actor).await?;
    Ok(Json(organisations.into_iter().map(Into::into).collect()))
}

/// Creates an organisation (admins).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "accounts", security(("bearer" = [])),
    request_body = OrganisationIn,
    responses((status = 201, description = "Created", body = OrganisationOut), (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with what exists", body = ErrorEnvelope), (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn create_organisation(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(request): ApiJson<OrganisationIn>,
) -> Result<(StatusCode, Json<OrganisationOut>), ApiError> {
    let new = NewOrganisation {
        name: request.name,
        kind: request.kind,
        reason: request.reason,
    };
    let organisation = state
        .service
        .create_organisation(&actor, new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(organisation.into())))
}

/// One organisation, if the caller may see it.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, description = "Done", body = OrganisationOut), (status = 404, description = "Not found, or not visible to the caller", body = ErrorEnvelope)))]
pub async fn get_organisation(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<OrganisationOut> {
    Ok(Json(state.service.organisation(&actor, id).await?.into()))
}

/// Members of an organisation (a reporter sees only themselves).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/users", tag = "accounts",
    security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "Done", body = Vec<UserOut>), (status = 404, description = "Not found, or not visible to the caller", body = ErrorEnvelope)))]
pub async fn list_users(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Vec<UserOut>> {
    let users = state.service.users(&actor, id).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

/// Creates a user in an organisation (admins).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/users", tag = "accounts",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = UserIn,
    responses((status = 201, description = "Created", body = UserOut), (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with what exists", body = ErrorEnvelope), (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn create_user(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UserIn>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    let new = NewUserRequest {
        email: request.email,
        display_name: request.display_name,
        role: request.role,
        password: request.password,
        reason: request.reason,
    };
    let user = state
        .service
        .create_user(&actor, id, new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Whether a user is disabled.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDisabledIn {
    /// `true` disables the user (no sign-in; their tokens and sessions stop working),
    /// `false` enables them again.
    pub disabled: bool,
    #[serde(default)]
    pub reason: String,
}

/// Disables a user, or enables them again (admins; not oneself).
#[utoipa::path(put, path = "/api/v1/users/{id}/disabled", tag = "accounts",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = UserDisabledIn,
    responses((status = 200, description = "Done", body = UserOut), (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "Not found, or not visible to the caller", body = ErrorEnvelope), (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn set_user_disabled(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UserDisabledIn>,
) -> ApiResult<UserOut> {
    let user = state
        .service
        .set_user_disabled(
            &actor,
            id,
            request.disabled,
            &request.reason,
            state.clock.now(),
        )
        .await?;
    Ok(Json(user.into()))
}

/// Issues an API token for a user: oneself, or anyone for admins.
#[utoipa::path(post, path = "/api/v1/users/{id}/tokens", tag = "accounts",
    security(("bearer" = [])), params(("id" = i64, Path)), request_body = TokenIn,
    responses((status = 201, description = "Created", body = TokenIssued), (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "Not found, or not visible to the caller", body = ErrorEnvelope)))]
pub async fn issue_token(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<TokenIn>,
) -> Result<(StatusCode, Json<TokenIssued>), ApiError> {
    let issued = state
        .service
        .issue_token(
            &actor,
            id,
            &request.label,
            request.expires_at,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// The caller's own tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Done", body = Vec<TokenOut>), (status = 401, description = "No valid token", body = ErrorEnvelope)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Vec<TokenOut>> {
    let tokens = state.service.tokens(&actor).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

/// Revokes a token: one's own, or any for admins.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204, description = "Done; no content"), (status = 404, description = "Not found, or not visible to the caller", body = ErrorEnvelope)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .revoke_token(&actor, id, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// TLDs the caller may see (admins all, registry staff their own).
#[utoipa::path(get, path = "/api/v1/tlds", tag = "registry", security(("bearer" = [])),
    responses((status = 200, description = "Done", body = Vec<TldOut>), (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_tlds(State(state): State<AppState>, Auth(actor): Auth) -> ApiResult<Vec<TldOut>> {
    let tlds = state.service.tlds(&actor).await?;
    Ok(Json(tlds.into_iter().map(Into::into).collect()))
}

/// Creates a TLD for a registry organisation (admins).
#[utoipa::path(post, path = "/api/v1/tlds", tag = "registry", security(("bearer" = [])),
    request_body = TldIn,
    responses((status = 201, description = "Created", body = TldOut), (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with what exists", body = ErrorEnvelope), (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn create_tld(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(request): ApiJson<TldIn>,
) -> Result<(StatusCode, Json<TldOut>), ApiError> {
    let new = NewTld {
        name: request.name,
        org_id: request.org_id,
        reason: request.reason,
    };
    let tld = state
        .service
        .create_tld(&actor, new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(tld.into())))
}

/// Registrars: all for admins and registry staff, their own for registrar staff.
#[utoipa::path(get, path = "/api/v1/registrars", tag = "registry", security(("bearer" = [])),
    responses((status = 200, description = "Done", body = Vec<RegistrarOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_registrars(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Vec<RegistrarOut>> {
    let registrars = state.service.registrars(&actor).await?;
    Ok(Json(registrars.into_iter().map(Into::into).collect()))
}

/// Creates a registrar (admins).
#[utoipa::path(post, path = "/api/v1/registrars", tag = "registry", security(("bearer" = [])),
    request_body = RegistrarIn,
    responses((status = 201, description = "Created", body = RegistrarOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 409, description = "Conflicts with what exists", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn create_registrar(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(request): ApiJson<RegistrarIn>,
) -> Result<(StatusCode, Json<RegistrarOut>), ApiError> {
    let new = NewRegistrarRequest {
        name: request.name,
        iana_id: request.iana_id,
        org_id: request.org_id,
        abuse_email: request.abuse_email,
        abuse_phone: request.abuse_phone,
        internal: request.internal,
        reason: request.reason,
    };
    let registrar = state
        .service
        .create_registrar(&actor, new, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(registrar.into())))
}

/// Audit entries: all for admins, those of their organisation for staff.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, description = "Done", body = Vec<AuditEntryOut>), (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Vec<AuditEntryOut>> {
    let entries = state
        .service
        .audit_entries(&actor, query.after, query.limit)
        .await?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// Verifies the whole audit chain and names the first entry at fault (admins).
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "Done", body = AuditVerifyOut), (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn verify_audit(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<AuditVerifyOut> {
    Ok(Json(state.service.verify_audit(&actor).await?.into()))
}
