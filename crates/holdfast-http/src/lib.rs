//! Holdfast's HTTP face: the JSON API and its OpenAPI document, and the web interface (`ui`).
//! The one place that knows status codes; everything it does is a call into `holdfast-service`.

pub mod api;
pub mod case_api;
pub mod error;
pub mod extract;
pub mod limit;
mod pdf;
pub mod public_form;
mod published;
pub mod registry_api;
pub mod srw_api;
pub mod stats_api;
pub mod ui;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use holdfast_service::{Clock, Service};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;

/// The largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub service: Service,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see `limit::client_address`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// The limit on reports filed without an account, per client address.
    pub public_limit: Arc<limit::RateLimit>,
    /// The limit on password sign-in attempts, per client address.
    pub login_limit: Arc<limit::RateLimit>,
    /// The pages' one-time form tokens already used.
    pub forms: Arc<ui::FormTokens>,
}

/// Password sign-in attempts one client address may make per [`LOGIN_WINDOW`].
pub const LOGINS_PER_WINDOW: u32 = 30;
/// The window of [`LOGINS_PER_WINDOW`].
pub const LOGIN_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// Reports one client address may file without an account per window.
pub const PUBLIC_REPORTS_PER_WINDOW: u32 = 10;
/// The window of [`PUBLIC_REPORTS_PER_WINDOW`].
pub const PUBLIC_REPORT_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

impl AppState {
    /// The state for `service`, reading `now` from `clock`, with the default public limit.
    pub fn new(service: Service, clock: Arc<dyn Clock>) -> AppState {
        AppState {
            service,
            clock,
            trusted_proxies: Arc::new([]),
            public_limit: Arc::new(limit::RateLimit::new(
                PUBLIC_REPORTS_PER_WINDOW,
                PUBLIC_REPORT_WINDOW,
            )),
            login_limit: Arc::new(limit::RateLimit::new(LOGINS_PER_WINDOW, LOGIN_WINDOW)),
            forms: Arc::new(ui::FormTokens::default()),
        }
    }

    /// The same state, believing `X-Forwarded-For` from these reverse proxies.
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> AppState {
        self.trusted_proxies = proxies.into();
        self
    }
}

/// The OpenAPI description of the API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Holdfast API", description = "The security-threat response desk for the domain name industry."),
    paths(
        api::health, api::ready, api::login, api::me,
        api::list_organisations, api::create_organisation, api::get_organisation,
        api::list_users, api::create_user, api::set_user_disabled, api::issue_token, api::list_tokens, api::revoke_token,
        api::list_tlds, api::create_tld, api::list_registrars, api::create_registrar,
        api::list_audit, api::verify_audit,
        registry_api::set_sinkhole, registry_api::import_zone, registry_api::export_zone,
        registry_api::assign_sponsors, registry_api::set_dns,
        registry_api::decide_action, registry_api::preview_action, registry_api::list_actions, registry_api::get_action,
        registry_api::action_names, registry_api::approve_action, registry_api::undo_action,
        registry_api::check_name, registry_api::get_domain, registry_api::create_domain,
        registry_api::update_nameservers, registry_api::transfer_domain,
        registry_api::delete_domain,
        case_api::submit_report, case_api::submit_bulk_report, case_api::add_evidence,
        case_api::evidence_file, case_api::my_reports, case_api::get_report,
        case_api::report_names, case_api::list_cases, case_api::get_case, case_api::case_step,
        case_api::merge_cases, case_api::split_case, case_api::case_action, case_api::get_desk,
        case_api::set_desk, case_api::set_calendar, case_api::verify_lea, case_api::add_source,
        case_api::set_template, case_api::list_referrals, case_api::answer_referral,
        case_api::public_report,
        srw_api::create_srw, srw_api::list_srw, srw_api::get_srw, srw_api::update_srw,
        srw_api::submit_srw, srw_api::review_srw, srw_api::list_waivers, srw_api::get_waiver,
        srw_api::get_srw_report, srw_api::edit_srw_report, srw_api::srw_figures,
        srw_api::add_attachment, srw_api::attachment_file, srw_api::post_message,
        stats_api::statistics, stats_api::statistics_csv,
    ),
    components(schemas(error::ErrorEnvelope)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi_json() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the OpenAPI document could not be written: {error}"),
        )
        .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed here",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed; the failure is logged",
    )
    .into_response()
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/login", post(api::login))
        .route("/me", get(api::me))
        .route(
            "/organisations",
            get(api::list_organisations).post(api::create_organisation),
        )
        .route("/organisations/{id}", get(api::get_organisation))
        .route(
            "/organisations/{id}/users",
            get(api::list_users).post(api::create_user),
        )
        .route("/users/{id}/tokens", post(api::issue_token))
        .route("/users/{id}/disabled", put(api::set_user_disabled))
        .route("/tokens", get(api::list_tokens))
        .route("/tokens/{id}", delete(api::revoke_token))
        .route("/tlds", get(api::list_tlds).post(api::create_tld))
        .route(
            "/registrars",
            get(api::list_registrars).post(api::create_registrar),
        )
        .route("/tlds/{id}/sinkhole", put(registry_api::set_sinkhole))
        .route("/tlds/{id}/dns", put(registry_api::set_dns))
        .route(
            "/tlds/{id}/sponsors",
            post(
                registry_api::assign_sponsors
                    .layer(DefaultBodyLimit::max(registry_api::MAX_ACTION_BODY_BYTES)),
            ),
        )
        .route(
            "/tlds/{id}/zone",
            get(registry_api::export_zone).post(
                registry_api::import_zone
                    .layer(DefaultBodyLimit::max(registry_api::MAX_ZONE_BODY_BYTES)),
            ),
        )
        .route(
            "/actions",
            get(registry_api::list_actions).post(
                registry_api::decide_action
                    .layer(DefaultBodyLimit::max(registry_api::MAX_ACTION_BODY_BYTES)),
            ),
        )
        .route(
            "/actions/preview",
            post(
                registry_api::preview_action
                    .layer(DefaultBodyLimit::max(registry_api::MAX_ACTION_BODY_BYTES)),
            ),
        )
        .route("/actions/{id}", get(registry_api::get_action))
        .route("/actions/{id}/names", get(registry_api::action_names))
        .route("/actions/{id}/approve", post(registry_api::approve_action))
        .route("/actions/{id}/undo", post(registry_api::undo_action))
        .route("/check/{name}", get(registry_api::check_name))
        .route("/domains", post(registry_api::create_domain))
        .route(
            "/domains/{name}",
            get(registry_api::get_domain).delete(registry_api::delete_domain),
        )
        .route(
            "/domains/{name}/nameservers",
            put(registry_api::update_nameservers),
        )
        .route(
            "/domains/{name}/transfer",
            post(registry_api::transfer_domain),
        )
        .route(
            "/reports",
            get(case_api::my_reports).post(
                case_api::submit_report
                    .layer(DefaultBodyLimit::max(case_api::MAX_REPORT_BODY_BYTES)),
            ),
        )
        .route(
            "/reports/bulk",
            post(
                case_api::submit_bulk_report
                    .layer(DefaultBodyLimit::max(case_api::MAX_REPORT_BODY_BYTES)),
            ),
        )
        .route("/reports/{id}", get(case_api::get_report))
        .route("/reports/{id}/names", get(case_api::report_names))
        .route(
            "/reports/{id}/evidence",
            post(case_api::add_evidence.layer(DefaultBodyLimit::disable())),
        )
        .route("/evidence/{id}", get(case_api::evidence_file))
        .route("/public/reports", post(case_api::public_report))
        .route("/cases", get(case_api::list_cases))
        .route("/cases/{id}", get(case_api::get_case))
        .route("/cases/{id}/steps", post(case_api::case_step))
        .route("/cases/{id}/merge", post(case_api::merge_cases))
        .route("/cases/{id}/split", post(case_api::split_case))
        .route(
            "/cases/{id}/actions",
            post(
                case_api::case_action
                    .layer(DefaultBodyLimit::max(registry_api::MAX_ACTION_BODY_BYTES)),
            ),
        )
        .route(
            "/desks/{id}",
            get(case_api::get_desk).put(case_api::set_desk),
        )
        .route("/organisations/{id}/calendar", put(case_api::set_calendar))
        .route("/organisations/{id}/verify-lea", post(case_api::verify_lea))
        .route("/sources", post(case_api::add_source))
        .route("/templates/{event}", put(case_api::set_template))
        .route("/referrals", get(case_api::list_referrals))
        .route("/referrals/{id}/answer", post(case_api::answer_referral))
        .route("/srw", get(srw_api::list_srw).post(srw_api::create_srw))
        .route("/srw/{id}", get(srw_api::get_srw).put(srw_api::update_srw))
        .route("/srw/{id}/submit", post(srw_api::submit_srw))
        .route("/srw/{id}/review", post(srw_api::review_srw))
        .route(
            "/srw/{id}/report",
            get(srw_api::get_srw_report).post(srw_api::edit_srw_report),
        )
        .route("/srw/figures", get(srw_api::srw_figures))
        .route("/srw/{id}/attachments", post(srw_api::add_attachment))
        .route("/srw/{id}/messages", post(srw_api::post_message))
        .route("/srw/attachments/{id}", get(srw_api::attachment_file))
        .route("/waivers", get(srw_api::list_waivers))
        .route("/waivers/{id}", get(srw_api::get_waiver))
        .route("/statistics", get(stats_api::statistics))
        .route("/statistics.csv", get(stats_api::statistics_csv))
        .route("/audit", get(api::list_audit))
        .route("/audit/verify", post(api::verify_audit));
    Router::new()
        .route("/health", get(api::health))
        .route("/ready", get(api::ready))
        .route("/api/openapi.json", get(openapi_json))
        .route(
            "/report",
            get(public_form::show_form).post(
                public_form::submit_form.layer(DefaultBodyLimit::max(ui::MAX_UPLOAD_FORM_BYTES)),
            ),
        )
        .route("/published/srw/figures", get(published::figures_html))
        .route("/published/srw/figures.csv", get(published::figures_csv))
        .route("/published/srw/{id}/report", get(published::report_html))
        .route("/published/srw/{id}/report.pdf", get(published::report_pdf))
        .nest("/api/v1", api)
        .merge(ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

/// Serves the application on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
