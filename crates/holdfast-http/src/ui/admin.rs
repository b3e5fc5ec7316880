//! Administration in the browser: organisations and their users, API tokens (the secret shown
//! once), TLDs with their sinkhole hosts, and registrars. Every page and form calls the same
//! service use cases as the API, which decide who may see and do what; a registry's staff see
//! their own organisation, admins every one. The desk's settings, calendar, templates and
//! sources are in `admin_desk`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::org::{OrgKind, Permission, Role};
use holdfast_service::{
    IssuedToken, NewOrganisation, NewRegistrarRequest, NewTld, NewUserRequest, ServiceError,
};
use jiff::Timestamp;
use serde::Deserialize;

use super::desk::FormState;
use super::format::{maybe_time, time};
use super::session::{Fields, with_done};
use super::{Chrome, Notice, Session, error_page, refused_status, render, require, role_label};
use crate::AppState;

/// The form of a page that was refused, with what was typed and the error at its field.
/// Pages with several forms name which one (`which`): only that form shows the input and the
/// error.
#[derive(Default)]
pub struct AdminForm {
    which: String,
    state: FormState,
}

impl AdminForm {
    /// Form `which` refused with `error`; `known` are its fields that can show an error.
    pub fn refused(which: &str, fields: Fields, error: &ServiceError, known: &[&str]) -> AdminForm {
        AdminForm {
            which: which.to_owned(),
            state: FormState::refused(fields, error, known),
        }
    }

    /// What was typed into `name` of form `which` (empty for the other forms).
    pub fn value(&self, which: &str, name: &str) -> &str {
        if self.which == which {
            self.state.value(name)
        } else {
            ""
        }
    }

    /// The error at field `name` of form `which`.
    pub fn error(&self, which: &str, name: &str) -> Option<&str> {
        if self.which == which {
            self.state.error_at(name)
        } else {
            None
        }
    }

    pub fn invalid(&self, which: &str, name: &str) -> bool {
        self.error(which, name).is_some()
    }

    /// Whether `name` of form `which` was sent with `value` (a choice kept).
    pub fn has(&self, which: &str, name: &str, value: &str) -> bool {
        self.which == which && self.state.has(name, value)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DoneQuery {
    pub done: String,
}

/// The notice after a redirect that says what was done.
pub fn done_notice(code: &str) -> Option<Notice> {
    match code {
        "" => None,
        "repeat" => Notice::problem("That form was already sent; it was not acted on twice."),
        "organisation" => Notice::done("The organisation is created."),
        "user" => Notice::done("The user is created."),
        "disabled" => {
            Notice::done("The user is disabled: their sessions and tokens no longer work.")
        }
        "enabled" => Notice::done("The user is enabled again."),
        "lea" => Notice::done("The organisation is recorded as verified law enforcement."),
        "revoked" => Notice::done("The token is revoked."),
        "tld" => Notice::done("The TLD is created."),
        "sinkhole" => Notice::done("The sinkhole hosts are set."),
        "registrar" => Notice::done("The registrar is created."),
        "desk" => Notice::done("The desk settings are saved."),
        "calendar" => Notice::done("The calendar is saved."),
        "holiday" => Notice::done("The holiday is added."),
        "unholiday" => Notice::done("The holiday is removed."),
        "template" => Notice::done("The wording is saved."),
        "source" => Notice::done("The source is recognised."),
        _ => None,
    }
}

/// A whole number typed into `field`, or the error at that field.
pub fn number<T: std::str::FromStr>(fields: &Fields, field: &str) -> Result<T, ServiceError> {
    fields
        .get(field)
        .trim()
        .parse()
        .map_err(|_| ServiceError::invalid(field, "must be a whole number"))
}

/// An optional whole number: empty is `None`.
fn optional_number(fields: &Fields, field: &str) -> Result<Option<i64>, ServiceError> {
    if fields.get(field).trim().is_empty() {
        Ok(None)
    } else {
        number(fields, field).map(Some)
    }
}

// --- organisations ---------------------------------------------------------------------------

pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub created: String,
    pub registry: bool,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct Index {
    chrome: Chrome,
    organisations: Vec<OrgRow>,
    kinds: Vec<&'static str>,
    manage: bool,
    /// The reader's registry, whose desk they configure.
    own_desk: Option<i64>,
    work_cases: bool,
    read_tlds: bool,
    read_registrars: bool,
    form: AdminForm,
}

const ORGANISATION_FIELDS: &[&str] = &["name", "kind", "reason"];

async fn index_page(
    state: &AppState,
    session: &Session,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let organisations = match state.service.organisations(&session.actor).await {
        Ok(organisations) => organisations,
        Err(error) => return error_page(session, &error),
    };
    let role = session.actor.role;
    let page = Index {
        chrome: Chrome::new(session, "Administration", "/admin").with_notice(notice),
        organisations: organisations
            .into_iter()
            .map(|organisation| OrgRow {
                id: organisation.id,
                name: organisation.name,
                kind: organisation.kind.as_str(),
                created: time(organisation.created_at),
                registry: organisation.kind == OrgKind::Registry,
            })
            .collect(),
        kinds: OrgKind::ALL.iter().map(|kind| kind.as_str()).collect(),
        manage: role.may(Permission::ManageAccounts),
        own_desk: (role == Role::RegistryStaff).then_some(session.actor.org_id),
        work_cases: role.may(Permission::WorkCases),
        read_tlds: role.may(Permission::ReadTlds),
        read_registrars: role.may(Permission::ReadRegistrars),
        form,
    };
    render(status, &page)
}

/// `GET /admin`: the organisations the reader may see (admins: every one, and a form to add
/// one) and the other parts of the administration.
pub async fn index(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    index_page(
        &state,
        &session,
        AdminForm::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/organisations`.
pub async fn create_organisation(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> Response {
    let fields = match session.form_as(Permission::ManageAccounts, &state, &body, "/admin") {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match OrgKind::parse(fields.get("kind")) {
        Some(kind) => {
            let new = NewOrganisation {
                name: fields.get("name").to_owned(),
                kind,
                reason: fields.get("reason").to_owned(),
            };
            state
                .service
                .create_organisation(&session.actor, new, state.clock.now())
                .await
        }
        None => Err(ServiceError::invalid("kind", "choose the kind")),
    };
    match result {
        Ok(organisation) => Redirect::to(&with_done(
            &format!("/admin/organisations/{}", organisation.id),
            "organisation",
        ))
        .into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = AdminForm::refused("organisation", fields, &error, ORGANISATION_FIELDS);
            index_page(
                &state,
                &session,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: &'static str,
    pub created: String,
    pub disabled: bool,
    /// Whether the reader may see and issue this user's tokens.
    pub tokens: bool,
}

#[derive(Template)]
#[template(path = "admin_organisation.html")]
struct OrganisationPage {
    chrome: Chrome,
    id: i64,
    name: String,
    kind: &'static str,
    created: String,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    manage: bool,
    reporter: bool,
    lea: Option<(String, String)>,
    desk: bool,
    form: AdminForm,
}

const USER_FIELDS: &[&str] = &["email", "display_name", "role", "password", "reason"];

async fn organisation_page(
    state: &AppState,
    session: &Session,
    id: i64,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let actor = &session.actor;
    let organisation = match state.service.organisation(actor, id).await {
        Ok(organisation) => organisation,
        Err(error) => return error_page(session, &error),
    };
    let users = match state.service.users(actor, id).await {
        Ok(users) => users,
        Err(error) => return error_page(session, &error),
    };
    let reporter = organisation.kind == OrgKind::Reporter;
    let lea = if reporter {
        match state.service.lea_verification(actor, id).await {
            Ok(lea) => lea.map(|(by, at)| (by, time(at))),
            Err(error) => return error_page(session, &error),
        }
    } else {
        None
    };
    let manage = actor.role.may(Permission::ManageAccounts);
    let registry = organisation.kind == OrgKind::Registry;
    let page = OrganisationPage {
        chrome: Chrome::new(
            session,
            format!("Organisation {}", organisation.name),
            "/admin",
        )
        .with_notice(notice),
        id,
        kind: organisation.kind.as_str(),
        created: time(organisation.created_at),
        name: organisation.name,
        users: users
            .into_iter()
            .map(|user| UserRow {
                tokens: manage || user.id == actor.user_id,
                id: user.id,
                email: user.email,
                display_name: user.display_name,
                role: role_label(user.role),
                created: time(user.created_at),
                disabled: user.disabled,
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .filter(|role| role.org_kind() == organisation.kind)
            .map(|role| (role.as_str(), role_label(*role)))
            .collect(),
        manage,
        reporter,
        lea,
        desk: registry && actor.role.may(Permission::WorkCases),
        form,
    };
    render(status, &page)
}

/// `GET /admin/organisations/{id}`: an organisation with its users (admins add users here and
/// verify law enforcement).
pub async fn organisation(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    organisation_page(
        &state,
        &session,
        id,
        AdminForm::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/organisations/{id}/users`.
pub async fn create_user(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/admin/organisations/{id}");
    let fields = match session.form_as(Permission::ManageAccounts, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match Role::parse(fields.get("role")) {
        Some(role) => {
            let password = fields.get("password");
            let new = NewUserRequest {
                email: fields.get("email").to_owned(),
                display_name: fields.get("display_name").to_owned(),
                role,
                password: (!password.is_empty()).then(|| password.to_owned()),
                reason: fields.get("reason").to_owned(),
            };
            state
                .service
                .create_user(&session.actor, id, new, state.clock.now())
                .await
        }
        None => Err(ServiceError::invalid("role", "choose the role")),
    };
    match result {
        Ok(_) => Redirect::to(&with_done(&back, "user")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            // The password is never sent back into the page.
            let kept = Fields::from_pairs(
                ["email", "display_name", "role", "reason"]
                    .iter()
                    .map(|name| ((*name).to_owned(), fields.get(name).to_owned()))
                    .collect(),
            );
            let form = AdminForm::refused("user", kept, &error, USER_FIELDS);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            organisation_page(&state, &session, id, form, None, status).await
        }
        Err(error @ ServiceError::Conflict { .. }) => {
            let notice = Notice::problem(format!("Not done: {error}"));
            organisation_page(
                &state,
                &session,
                id,
                AdminForm::default(),
                notice,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /admin/users/{id}/disabled`: disables a user (`disabled=true`) or enables them again;
/// answers on the page of the organisation named by the form's `org`.
pub async fn set_user_disabled(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Err(refused) = require(&session, Permission::ManageAccounts) {
        return *refused;
    }
    let org: i64 = Fields::parse(&body)
        .get("org")
        .parse()
        .unwrap_or(session.actor.org_id);
    let back = format!("/admin/organisations/{org}");
    let fields = match session.form(&state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let disabled = fields.get("disabled") == "true";
    let result = state
        .service
        .set_user_disabled(
            &session.actor,
            id,
            disabled,
            fields.get("reason"),
            state.clock.now(),
        )
        .await;
    match result {
        Ok(_) => {
            let done = if disabled { "disabled" } else { "enabled" };
            Redirect::to(&with_done(&back, done)).into_response()
        }
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = AdminForm::refused("disable", fields, &error, &["disabled", "reason"]);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            organisation_page(&state, &session, org, form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /admin/organisations/{id}/verify-lea`.
pub async fn verify_lea(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let back = format!("/admin/organisations/{id}");
    let fields = match session.form_as(Permission::ManageAccounts, &state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = state
        .service
        .verify_lea(&session.actor, id, fields.get("reason"), state.clock.now())
        .await;
    match result {
        Ok(()) => Redirect::to(&with_done(&back, "lea")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = AdminForm::refused("lea", fields, &error, &["reason"]);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            organisation_page(&state, &session, id, form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

// --- tokens ----------------------------------------------------------------------------------

pub struct TokenRow {
    pub id: i64,
    pub label: String,
    pub created: String,
    pub expires: String,
    pub revoked: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    chrome: Chrome,
    user_id: i64,
    email: String,
    own: bool,
    tokens: Vec<TokenRow>,
    issued: Option<IssuedToken>,
    form: AdminForm,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokensQuery {
    user: Option<i64>,
    done: String,
}

async fn tokens_page(
    state: &AppState,
    session: &Session,
    user_id: i64,
    issued: Option<IssuedToken>,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let now = state.clock.now();
    let (user, tokens) = match state.service.user_tokens(&session.actor, user_id).await {
        Ok(found) => found,
        Err(error) => return error_page(session, &error),
    };
    let page = TokensPage {
        chrome: Chrome::new(session, "API tokens", "/admin").with_notice(notice),
        user_id,
        own: user_id == session.actor.user_id,
        email: user.email,
        tokens: tokens
            .into_iter()
            .map(|token| TokenRow {
                id: token.id,
                active: token.revoked_at.is_none()
                    && token.expires_at.is_none_or(|expires| now < expires),
                label: token.label,
                created: time(token.created_at),
                expires: maybe_time(token.expires_at),
                revoked: maybe_time(token.revoked_at),
            })
            .collect(),
        issued,
        form,
    };
    render(status, &page)
}

/// `GET /admin/tokens?user=ID`: a user's tokens (one's own without `user`; anyone's for admins).
pub async fn tokens(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<TokensQuery>,
) -> Response {
    let user_id = query.user.unwrap_or(session.actor.user_id);
    let notice = done_notice(&query.done);
    let form = AdminForm::default();
    tokens_page(
        &state,
        &session,
        user_id,
        None,
        form,
        notice,
        StatusCode::OK,
    )
    .await
}

/// The expiry typed into a token form: a date (the token ends at its start, UTC) or nothing.
fn expiry(fields: &Fields) -> Result<Option<Timestamp>, ServiceError> {
    let text = fields.get("expires").trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| ServiceError::invalid("expires", "give a date as YYYY-MM-DD"))?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|zoned| Some(zoned.timestamp()))
        .map_err(|_| ServiceError::invalid("expires", "give a date as YYYY-MM-DD"))
}

/// `POST /admin/tokens`: issues a token; the page shows its secret this once.
pub async fn issue_token(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let user_id = Fields::parse(&body)
        .get("user")
        .parse()
        .unwrap_or(session.actor.user_id);
    let back = format!("/admin/tokens?user={user_id}");
    let fields = match session.form(&state, &body, &back) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let now = state.clock.now();
    let result = match expiry(&fields) {
        Ok(expires_at) => {
            state
                .service
                .issue_token(
                    &session.actor,
                    user_id,
                    fields.get("label"),
                    expires_at,
                    now,
                )
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(issued) => {
            let notice = Notice::done(
                "The token is issued. Copy it now: Holdfast keeps only its hash and cannot show \
                 it again.",
            );
            let form = AdminForm::default();
            let status = StatusCode::OK;
            tokens_page(
                &state,
                &session,
                user_id,
                Some(issued),
                form,
                notice,
                status,
            )
            .await
        }
        Err(error @ ServiceError::Invalid { .. }) => {
            let form = AdminForm::refused("token", fields, &error, &["label", "expires"]);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            tokens_page(&state, &session, user_id, None, form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let user_id: i64 = Fields::parse(&body)
        .get("user")
        .parse()
        .unwrap_or(session.actor.user_id);
    let back = format!("/admin/tokens?user={user_id}");
    if let Err(response) = session.form(&state, &body, &back) {
        return *response;
    }
    match state
        .service
        .revoke_token(&session.actor, id, state.clock.now())
        .await
    {
        Ok(()) => Redirect::to(&with_done(&back, "revoked")).into_response(),
        Err(error) => error_page(&session, &error),
    }
}

// --- TLDs and registrars ---------------------------------------------------------------------

pub struct TldRow {
    pub id: i64,
    pub name: String,
    pub org: String,
    pub sinkhole: String,
    /// The id of its sinkhole form.
    pub form_id: String,
}

#[derive(Template)]
#[template(path = "admin_tlds.html")]
struct TldsPage {
    chrome: Chrome,
    tlds: Vec<TldRow>,
    registries: Vec<(i64, String)>,
    manage: bool,
    form: AdminForm,
}

async fn tlds_page(
    state: &AppState,
    session: &Session,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let actor = &session.actor;
    let tlds = match state.service.sinkholes(actor).await {
        Ok(tlds) => tlds,
        Err(error) => return error_page(session, &error),
    };
    let organisations = match state.service.organisations(actor).await {
        Ok(organisations) => organisations,
        Err(error) => return error_page(session, &error),
    };
    let org_name = |id: i64| {
        organisations
            .iter()
            .find(|organisation| organisation.id == id)
            .map_or_else(|| id.to_string(), |organisation| organisation.name.clone())
    };
    let page = TldsPage {
        chrome: Chrome::new(session, "TLDs", "/admin").with_notice(notice),
        tlds: tlds
            .iter()
            .map(|tld| TldRow {
                id: tld.id,
                name: tld.name.as_str().to_owned(),
                org: org_name(tld.org_id),
                sinkhole: tld
                    .sinkhole
                    .iter()
                    .map(|host| host.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                form_id: format!("sinkhole-{}", tld.id),
            })
            .collect(),
        registries: organisations
            .iter()
            .filter(|organisation| organisation.kind == OrgKind::Registry)
            .map(|organisation| (organisation.id, organisation.name.clone()))
            .collect(),
        manage: actor.role.may(Permission::ManageTlds),
        form,
    };
    render(status, &page)
}

/// `GET /admin/tlds`: the TLDs with their registry and sinkhole hosts.
pub async fn tlds(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    tlds_page(
        &state,
        &session,
        AdminForm::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/tlds`.
pub async fn create_tld(State(state): State<AppState>, session: Session, body: Bytes) -> Response {
    let fields = match session.form_as(Permission::ManageTlds, &state, &body, "/admin/tlds") {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let result = match number(&fields, "org_id") {
        Ok(org_id) => {
            let new = NewTld {
                name: fields.get("name").to_owned(),
                org_id,
                reason: fields.get("reason").to_owned(),
            };
            state
                .service
                .create_tld(&session.actor, new, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done("/admin/tlds", "tld")).into_response(),
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let form = AdminForm::refused("tld", fields, &error, &["name", "org_id", "reason"]);
            tlds_page(&state, &session, form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}

/// `POST /admin/tlds/{id}/sinkhole`: the hosts, one per line or separated by spaces.
pub async fn set_sinkhole(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let fields = match session.form_as(Permission::ManageTlds, &state, &body, "/admin/tlds") {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let hosts: Vec<String> = fields
        .get("hosts")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let result = state
        .service
        .set_sinkhole(
            &session.actor,
            id,
            &hosts,
            fields.get("reason"),
            state.clock.now(),
        )
        .await;
    match result {
        Ok(_) => Redirect::to(&with_done("/admin/tlds", "sinkhole")).into_response(),
        Err(error @ ServiceError::Invalid { .. }) => {
            let which = format!("sinkhole-{id}");
            let form = AdminForm::refused(&which, fields, &error, &["hosts", "reason"]);
            tlds_page(
                &state,
                &session,
                form,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&session, &error),
    }
}

pub struct RegistrarRow {
    pub name: String,
    pub iana_id: String,
    pub org: String,
    pub abuse_email: String,
    pub abuse_phone: String,
    pub internal: bool,
}

#[derive(Template)]
#[template(path = "admin_registrars.html")]
struct RegistrarsPage {
    chrome: Chrome,
    registrars: Vec<RegistrarRow>,
    organisations: Vec<(i64, String)>,
    manage: bool,
    form: AdminForm,
}

const REGISTRAR_FIELDS: &[&str] = &[
    "name",
    "iana_id",
    "org_id",
    "abuse_email",
    "abuse_phone",
    "internal",
    "reason",
];

async fn registrars_page(
    state: &AppState,
    session: &Session,
    form: AdminForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let actor = &session.actor;
    let registrars = match state.service.registrars(actor).await {
        Ok(registrars) => registrars,
        Err(error) => return error_page(session, &error),
    };
    let organisations = match state.service.organisations(actor).await {
        Ok(organisations) => organisations,
        Err(error) => return error_page(session, &error),
    };
    let org_name = |id: i64| {
        organisations
            .iter()
            .find(|organisation| organisation.id == id)
            .map_or_else(|| id.to_string(), |organisation| organisation.name.clone())
    };
    let page = RegistrarsPage {
        chrome: Chrome::new(session, "Registrars", "/admin").with_notice(notice),
        registrars: registrars
            .into_iter()
            .map(|registrar| RegistrarRow {
                iana_id: registrar
                    .iana_id
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                org: registrar.org_id.map(org_name).unwrap_or_default(),
                name: registrar.name,
                abuse_email: registrar.abuse_email,
                abuse_phone: registrar.abuse_phone,
                internal: registrar.internal,
            })
            .collect(),
        organisations: organisations
            .iter()
            .filter(|organisation| organisation.kind == OrgKind::Registrar)
            .map(|organisation| (organisation.id, organisation.name.clone()))
            .collect(),
        manage: actor.role.may(Permission::ManageRegistrars),
        form,
    };
    render(status, &page)
}

/// `GET /admin/registrars`.
pub async fn registrars(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<DoneQuery>,
) -> Response {
    let notice = done_notice(&query.done);
    registrars_page(
        &state,
        &session,
        AdminForm::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/registrars`.
pub async fn create_registrar(
    State(state): State<AppState>,
    session: Session,
    body: Bytes,
) -> Response {
    let fields = match session.form_as(
        Permission::ManageRegistrars,
        &state,
        &body,
        "/admin/registrars",
    ) {
        Ok(fields) => fields,
        Err(response) => return *response,
    };
    let numbers = optional_number(&fields, "iana_id")
        .and_then(|iana_id| Ok((iana_id, optional_number(&fields, "org_id")?)));
    let result = match numbers {
        Ok((iana_id, org_id)) => {
            let new = NewRegistrarRequest {
                name: fields.get("name").to_owned(),
                iana_id,
                org_id,
                abuse_email: fields.get("abuse_email").to_owned(),
                abuse_phone: fields.get("abuse_phone").to_owned(),
                internal: fields.has("internal", "yes"),
                reason: fields.get("reason").to_owned(),
            };
            state
                .service
                .create_registrar(&session.actor, new, state.clock.now())
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(_) => Redirect::to(&with_done("/admin/registrars", "registrar")).into_response(),
        Err(error @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
            let status = refused_status(&error);
            let form = AdminForm::refused("registrar", fields, &error, REGISTRAR_FIELDS);
            registrars_page(&state, &session, form, None, status).await
        }
        Err(error) => error_page(&session, &error),
    }
}
