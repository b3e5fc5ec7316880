//! The web interface: server-rendered pages (askama templates, HTML-escaped by default) over the
//! service layer — the same use cases and permission checks as the API, never HTTP to itself.
//! Every page works without JavaScript; htmx (vendored, served from `/assets/`) only refreshes
//! the queue. Sessions, CSRF and one-time form tokens live in `session`.

mod actions;
mod admin;
mod admin_desk;
mod assets;
mod blocks;
mod chart;
mod desk;
mod domain;
mod format;
mod portal;
mod preview;
mod registrar;
mod session;
mod srw;
mod stats;
mod upload;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use holdfast_model::org::{Permission, Role};
use holdfast_service::ServiceError;

use crate::AppState;

pub use session::{Fields, FormTokens, OptionalSession, SESSION_COOKIE, Session};
pub use upload::{FilePart, MAX_UPLOAD_FORM_BYTES, UploadForm, limit_text};

/// The content security policy of every page: only Holdfast's own stylesheet and script, no
/// inline code, no frames, forms only to Holdfast.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The pages and their form handlers.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/signin", get(session::show_signin).post(session::sign_in))
        .route("/signout", post(session::sign_out))
        .route(assets::CSS_PATH, get(assets::css))
        .route(assets::HTMX_PATH, get(assets::htmx))
        .route(assets::ICON_PATH, get(assets::icon))
        .route("/desk", get(desk::queue))
        .route("/desk/cases/{id}", get(desk::case_page))
        .route("/desk/cases/{id}/steps", post(desk::step))
        .route("/desk/cases/{id}/actions", post(desk::decide))
        .route("/desk/cases/{id}/actions/preview", post(desk::preview))
        .route("/desk/cases/{id}/merge", post(desk::merge))
        .route("/desk/cases/{id}/split", post(desk::split))
        .route(
            "/desk/cases/{id}/evidence",
            post(desk::add_evidence.layer(DefaultBodyLimit::max(upload::MAX_UPLOAD_FORM_BYTES))),
        )
        .route(
            "/desk/actions",
            get(actions::list).post(actions::decide.layer(DefaultBodyLimit::max(
                crate::registry_api::MAX_ACTION_BODY_BYTES,
            ))),
        )
        .route(
            "/desk/actions/preview",
            post(actions::preview.layer(DefaultBodyLimit::max(
                crate::registry_api::MAX_ACTION_BODY_BYTES,
            ))),
        )
        .route("/desk/actions/{id}", get(actions::page))
        .route("/desk/blocks", get(blocks::list))
        .route("/statistics", get(stats::page))
        .route("/statistics.csv", get(stats::csv))
        .route("/desk/actions/{id}/undo", post(desk::undo))
        .route("/desk/actions/{id}/approve", post(desk::approve))
        .route("/evidence/{id}", get(desk::evidence))
        .route("/portal", get(portal::reports))
        .route("/registrar", get(registrar::referrals))
        .route("/registrar/referrals/{id}/answer", post(registrar::answer))
        .route("/domains", get(domain::lookup))
        .route("/domains/{name}", get(domain::page))
        .route("/waivers", get(srw::list))
        .route("/waivers/issued", get(srw::issued))
        .route("/waivers/new", get(srw::new_draft).post(srw::save_draft))
        .route(
            "/waivers/{id}/edit",
            get(srw::edit_draft).post(srw::save_draft),
        )
        .route("/waivers/{id}", get(srw::page))
        .route("/waivers/{id}/review", post(srw::review))
        .route(
            "/waivers/{id}/attachments",
            post(srw::attach.layer(DefaultBodyLimit::max(upload::MAX_UPLOAD_FORM_BYTES))),
        )
        .route("/waivers/attachments/{id}", get(srw::attachment))
        .route(
            "/waivers/{id}/report",
            get(srw::report).post(srw::edit_report),
        )
        .route("/admin", get(admin::index))
        .route("/admin/organisations", post(admin::create_organisation))
        .route("/admin/organisations/{id}", get(admin::organisation))
        .route("/admin/organisations/{id}/users", post(admin::create_user))
        .route("/admin/users/{id}/disabled", post(admin::set_user_disabled))
        .route(
            "/admin/organisations/{id}/verify-lea",
            post(admin::verify_lea),
        )
        .route("/admin/tokens", get(admin::tokens).post(admin::issue_token))
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/admin/tlds", get(admin::tlds).post(admin::create_tld))
        .route("/admin/tlds/{id}/sinkhole", post(admin::set_sinkhole))
        .route(
            "/admin/registrars",
            get(admin::registrars).post(admin::create_registrar),
        )
        .route(
            "/admin/desks/{org}",
            get(admin_desk::desk).post(admin_desk::set_desk),
        )
        .route(
            "/admin/desks/{org}/calendar",
            post(admin_desk::set_calendar),
        )
        .route("/admin/desks/{org}/holidays", post(admin_desk::add_holiday))
        .route(
            "/admin/desks/{org}/holidays/remove",
            post(admin_desk::remove_holiday),
        )
        .route("/admin/templates", get(admin_desk::templates))
        .route(
            "/admin/templates/{event}",
            get(admin_desk::template).post(admin_desk::set_template),
        )
        .route(
            "/admin/sources",
            get(admin_desk::sources).post(admin_desk::add_source),
        )
}

/// A link of the main navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The main navigation: each entry shown to the roles whose permission it needs. Later parts
/// (waivers, statistics, administration) add their rows here.
const NAV: &[(&str, &str, Option<Permission>)] = &[
    ("/", "Home", None),
    ("/desk", "Queue", Some(Permission::WorkCases)),
    ("/desk/actions", "Actions", Some(Permission::TakeAction)),
    ("/desk/blocks", "Blocks", Some(Permission::TakeAction)),
    ("/statistics", "Statistics", Some(Permission::WorkCases)),
    ("/registrar", "Referrals", Some(Permission::AnswerReferrals)),
    ("/domains", "Domains", Some(Permission::OperateRegistry)),
    ("/waivers", "Waivers", Some(Permission::RequestWaivers)),
    (
        "/waivers",
        "Waiver reviews",
        Some(Permission::ReviewWaivers),
    ),
    ("/portal", "My reports", Some(Permission::FileReports)),
    ("/report", "Report abuse", Some(Permission::FileReports)),
    ("/admin", "Admin", Some(Permission::WorkCases)),
];

/// A line at the top of a page after something happened (or failed).
pub struct Notice {
    pub text: String,
    pub problem: bool,
}

impl Notice {
    pub fn done(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            text: text.into(),
            problem: false,
        })
    }

    pub fn problem(text: impl Into<String>) -> Option<Notice> {
        Some(Notice {
            text: text.into(),
            problem: true,
        })
    }
}

/// What every page around its content shows: title, navigation for the role, who is signed
/// in, the sign-out form's CSRF token, and a notice.
pub struct Chrome {
    pub title: String,
    pub nav: Vec<NavLink>,
    pub who: Option<String>,
    pub role: &'static str,
    pub csrf: String,
    pub notice: Option<Notice>,
}

impl Chrome {
    /// The frame of a page for the signed-in `session`, `current` being the navigation entry.
    pub fn new(session: &Session, title: impl Into<String>, current: &str) -> Chrome {
        let role = session.actor.role;
        let nav = NAV
            .iter()
            .filter(|(_, _, needs)| needs.is_none_or(|permission| role.may(permission)))
            .map(|(href, label, _)| NavLink {
                href,
                label,
                current: *href == current,
            })
            .collect();
        Chrome {
            title: title.into(),
            nav,
            who: Some(session.actor.email.clone()),
            role: role_label(role),
            csrf: session.csrf.clone(),
            notice: None,
        }
    }

    /// The frame of a page for someone not signed in.
    pub fn anonymous(title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            nav: Vec::new(),
            who: None,
            role: "",
            csrf: String::new(),
            notice: None,
        }
    }

    /// A fresh one-time token for one form on the page: a second submit of that form is
    /// recognised and not acted on.
    pub fn once(&self) -> String {
        fresh_once()
    }

    pub fn with_notice(mut self, notice: Option<Notice>) -> Chrome {
        self.notice = notice;
        self
    }
}

/// A stored file as a download for a page: always `application/octet-stream` and an
/// attachment under a name reduced to safe ASCII (`extract::download`), never cached.
pub fn file_download(filename: &str, content: Vec<u8>) -> Response {
    let mut response = crate::extract::download(filename, content);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A fresh one-time form token (empty, and so refused when sent, if no randomness is
/// available).
pub fn fresh_once() -> String {
    session::random_hex().unwrap_or_default()
}

/// Refuses a form of a role that may not act there at all, before its fields are read (the
/// service checks again, and checks the organisation).
pub fn require(session: &Session, permission: Permission) -> Result<(), Box<Response>> {
    if session.actor.role.may(permission) {
        Ok(())
    } else {
        Err(Box::new(error_page(session, &ServiceError::Forbidden)))
    }
}

/// How a role is named on the page.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "administrator",
        Role::RegistryStaff => "registry desk",
        Role::RegistrarStaff => "registrar",
        Role::Reviewer => "reviewer",
        Role::Reporter => "reporter",
    }
}

/// Sets the headers every page carries.
pub fn page_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A rendered page with `status`.
pub fn render<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            page_headers(&mut response);
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown; the failure is logged.",
            )
        }
    }
}

/// A minimal page for failures that happen before a template can be filled.
fn plain_error(status: StatusCode, message: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Holdfast</title>\
         <link rel=\"stylesheet\" href=\"{}\"></head><body><main><h1>Holdfast</h1>\
         <p class=\"notice problem\">{}</p><p><a href=\"/\">Home</a></p></main></body></html>\n",
        assets::CSS_PATH,
        crate::public_form::escape(message)
    );
    let mut response = (status, html).into_response();
    page_headers(&mut response);
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    message: String,
}

/// The page for a refusal or failure of a use case that has no form to show it on.
pub fn error_page(session: &Session, error: &ServiceError) -> Response {
    let (status, message) = match error {
        ServiceError::Unauthenticated => return session::to_signin("/"),
        ServiceError::Forbidden => (
            StatusCode::FORBIDDEN,
            "Your role may not see or do this.".to_owned(),
        ),
        ServiceError::NotFound { what } => (
            StatusCode::NOT_FOUND,
            format!("There is no such {what} that you may see."),
        ),
        ServiceError::Invalid { field, reason } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {reason}"),
        ),
        ServiceError::Conflict { what } => (StatusCode::CONFLICT, what.clone()),
        ServiceError::Internal { .. } | ServiceError::Store(_) => {
            tracing::error!(%error, "a page failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Holdfast could not do this now; the failure is logged. Please try again."
                    .to_owned(),
            )
        }
    };
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        _ => "Not done",
    };
    render(
        status,
        &ErrorPage {
            chrome: Chrome::new(session, title, ""),
            message,
        },
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
    display: &'static str,
    show_queue: bool,
    queue: Vec<desk::QueueRow>,
    show_reports: bool,
    reports: usize,
    show_referrals: bool,
    referrals_open: usize,
    show_domains: bool,
}

/// `GET /`: the signed-in user's landing page, showing only what the role may see; the
/// sign-in page for everyone else.
async fn landing(State(state): State<AppState>, session: OptionalSession) -> Response {
    let Some(session) = session.0 else {
        return Redirect::to("/signin").into_response();
    };
    let actor = &session.actor;
    let now = state.clock.now();
    let mut home = Home {
        chrome: Chrome::new(&session, "Home", "/"),
        display: role_label(actor.role),
        show_queue: actor.role.may(Permission::WorkCases),
        queue: Vec::new(),
        show_reports: actor.role == Role::Reporter,
        reports: 0,
        show_referrals: actor.role.may(Permission::AnswerReferrals),
        referrals_open: 0,
        show_domains: actor.role.may(Permission::OperateRegistry),
    };
    if home.show_queue {
        match state
            .service
            .cases(actor, &holdfast_service::CaseFilter::default())
            .await
        {
            Ok(cases) => {
                home.queue = cases
                    .iter()
                    .take(5)
                    .map(|queued| desk::QueueRow::new(queued, now))
                    .collect();
            }
            Err(error) => return error_page(&session, &error),
        }
    }
    if home.show_reports {
        match state.service.my_reports(actor).await {
            Ok(reports) => home.reports = reports.len(),
            Err(error) => return error_page(&session, &error),
        }
    }
    if home.show_referrals {
        match state.service.referrals(actor).await {
            Ok(referrals) => {
                home.referrals_open = referrals.iter().filter(|r| r.answered_at.is_none()).count();
            }
            Err(error) => return error_page(&session, &error),
        }
    }
    render(StatusCode::OK, &home)
}

/// The status of a page showing a refused form: 409 for a conflict, 422 for bad input.
pub fn refused_status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::Conflict { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}
