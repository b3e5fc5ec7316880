//! Sign-in, sessions and form protection for the pages.
//!
//! A session is the service's own 12-hour sign-in token (`Service::login`, the same as
//! `POST /api/v1/login`, rate-limited alike), kept in the cookie `holdfast_session` as
//! `ID.TOKEN`: `HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` except when the page is
//! asked for by a loopback host name (`localhost`, `127.0.0.1`, `[::1]`) — Holdfast speaks
//! plain HTTP and runs behind a TLS proxy in production, where every host name is not loopback
//! and the cookie is only ever sent over TLS; on the demo's `http://127.0.0.1:8080` a `Secure`
//! cookie would never come back. Signing out revokes the token.
//!
//! Every form carries `csrf`, derived from the session token (SHA-256 with a label: an
//! attacker's page can neither read nor compute it), checked on every POST. The sign-in form,
//! before any session, carries a random value that must equal a `SameSite=Strict` cookie set
//! with the form. Forms that act also carry `once`, a random token that is accepted once:
//! a second submit of the same form (a double click, a reload, the back button) is recognised
//! and does nothing. Used tokens are remembered in this process for the session lifetime.

use std::collections::HashMap;
use std::sync::Mutex;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_model::org::{Actor, Permission};
use holdfast_service::ServiceError;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Chrome, Notice, render};
use crate::AppState;
use crate::limit::ClientAddr;

/// The session cookie.
pub const SESSION_COOKIE: &str = "holdfast_session";
/// The cookie that pairs with the sign-in form's hidden value (login CSRF).
const SIGNIN_COOKIE: &str = "holdfast_signin";
/// How long a session cookie lives in the browser: the token's own lifetime.
const SESSION_SECONDS: i64 = 12 * 3600;
/// How long a used one-time form token is remembered.
const ONCE_MEMORY: SignedDuration = SignedDuration::from_hours(12);
/// Used form tokens remembered before the oldest are forgotten.
const ONCE_CAPACITY: usize = 200_000;

/// 16 random bytes as hex.
pub fn random_hex() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| ServiceError::Internal {
        what: format!("no randomness available: {error}"),
    })?;
    Ok(hex::encode(bytes))
}

/// The CSRF token of a session: bound to its secret, useless without it.
fn csrf_of(token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"holdfast page form\0");
    hasher.update(token.as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One-time form tokens already used, in this process.
#[derive(Debug, Default)]
pub struct FormTokens {
    used: Mutex<HashMap<String, Timestamp>>,
}

impl FormTokens {
    /// True the first time `token` is presented; false for every later time and for anything
    /// that is not a token Holdfast could have issued.
    pub fn first_use(&self, token: &str, now: Timestamp) -> bool {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.len() >= ONCE_CAPACITY {
            used.retain(|_, at| now.duration_since(*at) < ONCE_MEMORY);
            if used.len() >= ONCE_CAPACITY {
                used.clear();
            }
        }
        used.insert(token.to_owned(), now).is_none()
    }
}

/// A signed-in user of the pages.
pub struct Session {
    pub actor: Actor,
    /// The sign-in token's id, revoked at sign-out.
    token_id: i64,
    /// The form token of this session.
    pub csrf: String,
}

/// The session, if the request has a valid one.
pub struct OptionalSession(pub Option<Session>);

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

async fn session_of(parts: &Parts, state: &AppState) -> Option<Session> {
    let value = cookie(&parts.headers, SESSION_COOKIE)?;
    let (id, token) = value.split_once('.')?;
    let token_id = id.parse().ok()?;
    let actor = state
        .service
        .authenticate(token, state.clock.now())
        .await
        .ok()?;
    Some(Session {
        actor,
        token_id,
        csrf: csrf_of(token),
    })
}

impl FromRequestParts<AppState> for OptionalSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(OptionalSession(session_of(parts, state).await))
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(parts, state).await {
            Some(session) => Ok(session),
            None => {
                let next = parts.uri.path_and_query().map_or("/", |path| path.as_str());
                Err(to_signin(if parts.method == axum::http::Method::GET {
                    next
                } else {
                    "/"
                }))
            }
        }
    }
}

/// The answer to a page request without a session: the sign-in page, coming back to `next`.
pub fn to_signin(next: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Redirect::to(&format!("/signin?next={next}")).into_response()
}

/// The fields of a submitted form, in order (a field may repeat: checkboxes).
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Fields with these values (a stored thing shown in its form).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Fields {
        Fields(pairs)
    }

    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Fields {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// Every field, in the order sent.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Whether `name` was sent with `value`.
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0
            .iter()
            .any(|(key, given)| key == name && given == value)
    }
}

impl Session {
    /// Reads a submitted form after checking its CSRF token and its one-time token. A form
    /// sent a second time answers with the page at `back`, saying so.
    pub fn form(&self, state: &AppState, body: &[u8], back: &str) -> Result<Fields, Box<Response>> {
        self.checked(state, Fields::parse(body), back)
    }

    /// [`Session::form`] of a form only roles with `permission` may send: anyone else is
    /// refused before the fields are read (the service checks again).
    pub fn form_as(
        &self,
        permission: Permission,
        state: &AppState,
        body: &[u8],
        back: &str,
    ) -> Result<Fields, Box<Response>> {
        super::require(self, permission)?;
        self.form(state, body, back)
    }

    /// Checks the CSRF and one-time tokens of fields already read (a form with a file).
    pub fn checked(
        &self,
        state: &AppState,
        fields: Fields,
        back: &str,
    ) -> Result<Fields, Box<Response>> {
        if !same_secret(fields.get("csrf"), &self.csrf) {
            return Err(Box::new(forged()));
        }
        if !state.forms.first_use(fields.get("once"), state.clock.now()) {
            return Err(Box::new(
                Redirect::to(&with_done(back, "repeat")).into_response(),
            ));
        }
        Ok(fields)
    }
}

impl Session {
    /// Reads a submitted form that only reads (a preview) after checking its CSRF token; its
    /// one-time token is left for the form that acts.
    pub fn read_form(&self, body: &[u8]) -> Result<Fields, Box<Response>> {
        let fields = Fields::parse(body);
        if !same_secret(fields.get("csrf"), &self.csrf) {
            return Err(Box::new(forged()));
        }
        Ok(fields)
    }
}

/// `path` with `done=code` added to its query.
pub fn with_done(path: &str, code: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}done={code}")
}

fn forged() -> Response {
    let mut response = (
        StatusCode::FORBIDDEN,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Holdfast</title>\
         </head><body><main><h1>Not done</h1><p>This form did not come from your current \
         session (or your session ended). Nothing was done. Reload the page and try again.</p>\
         <p><a href=\"/\">Home</a></p></main></body></html>\n",
    )
        .into_response();
    super::page_headers(&mut response);
    response
}

/// Whether the request names a loopback host, where plain HTTP is the norm and a `Secure`
/// cookie would be dropped.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// A `Set-Cookie` value with the attributes every Holdfast cookie has.
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if loopback_host(headers) {
        ""
    } else {
        "; Secure"
    };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Where a sign-in goes back to: a path on this site only.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if local { next } else { "/" }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignIn {
    chrome: Chrome,
    email: String,
    next: String,
    csrf: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInQuery {
    next: String,
    done: String,
}

fn signin_page(
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    next: &str,
    error: Option<String>,
    notice: Option<Notice>,
) -> Response {
    let csrf = match random_hex() {
        Ok(value) => value,
        Err(error) => {
            tracing::error!(%error, "sign-in page");
            return super::plain_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is not possible now.",
            );
        }
    };
    let mut response = render(
        status,
        &SignIn {
            chrome: Chrome::anonymous("Sign in").with_notice(notice),
            email,
            next: safe_next(next).to_owned(),
            csrf: csrf.clone(),
            error,
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(headers, SIGNIN_COOKIE, &csrf, 3600),
    );
    response
}

/// `GET /signin`.
pub async fn show_signin(
    headers: HeaderMap,
    session: OptionalSession,
    Query(query): Query<SignInQuery>,
) -> Response {
    if session.0.is_some() {
        return Redirect::to(safe_next(&query.next)).into_response();
    }
    let notice = match query.done.as_str() {
        "signed_out" => Notice::done("You are signed out."),
        _ => None,
    };
    signin_page(
        &headers,
        StatusCode::OK,
        String::new(),
        &query.next,
        None,
        notice,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    email: String,
    password: String,
    next: String,
    csrf: String,
}

/// `POST /signin`: checks the password through the service (rate-limited per address like the
/// API's sign-in) and starts a session.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: SignInForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let paired =
        cookie(&headers, SIGNIN_COOKIE).is_some_and(|value| same_secret(value, &form.csrf));
    if !paired {
        return signin_page(
            &headers,
            StatusCode::FORBIDDEN,
            form.email,
            &form.next,
            None,
            Notice::problem("The sign-in form had expired. Please sign in again."),
        );
    }
    let now = state.clock.now();
    if let Err(error) = state.login_limit.check(client, now) {
        return signin_page(
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            form.email,
            &form.next,
            Some(error.message().to_owned()),
            None,
        );
    }
    match state.service.login(&form.email, &form.password, now).await {
        Ok(issued) => {
            let mut response = Redirect::to(safe_next(&form.next)).into_response();
            let value = format!("{}.{}", issued.id, issued.token);
            let headers_out = response.headers_mut();
            headers_out.append(
                header::SET_COOKIE,
                set_cookie(&headers, SESSION_COOKIE, &value, SESSION_SECONDS),
            );
            headers_out.append(
                header::SET_COOKIE,
                set_cookie(&headers, SIGNIN_COOKIE, "", 0),
            );
            response
        }
        Err(ServiceError::Unauthenticated) => signin_page(
            &headers,
            StatusCode::UNAUTHORIZED,
            form.email,
            &form.next,
            Some("The e-mail address or the password is wrong.".to_owned()),
            None,
        ),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            signin_page(
                &headers,
                StatusCode::SERVICE_UNAVAILABLE,
                form.email,
                &form.next,
                Some("Sign-in is not possible now; please try again.".to_owned()),
                None,
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignOutForm {
    csrf: String,
}

/// `POST /signout`: revokes the session's token and drops the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Session,
    body: Bytes,
) -> Response {
    let form: SignOutForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    if !same_secret(&form.csrf, &session.csrf) {
        return forged();
    }
    if let Err(error) = state
        .service
        .revoke_token(&session.actor, session.token_id, state.clock.now())
        .await
    {
        tracing::warn!(%error, "revoking a session token at sign-out");
    }
    let mut response = Redirect::to("/signin?done=signed_out").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", 0),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_token_is_accepted_once() {
        let tokens = FormTokens::default();
        let now = Timestamp::UNIX_EPOCH;
        let token = random_hex().unwrap();
        assert!(tokens.first_use(&token, now));
        assert!(!tokens.first_use(&token, now));
        assert!(!tokens.first_use("not-a-token", now));
    }

    #[test]
    fn cookies_are_secure_except_on_loopback_hosts() {
        for (host, secure) in [
            ("127.0.0.1:8080", false),
            ("localhost:8080", false),
            ("[::1]:8080", false),
            ("desk.registry.example", true),
            ("192.0.2.7:8080", true),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static(host));
            let value = set_cookie(&headers, SESSION_COOKIE, "1.x", 60);
            let text = value.to_str().unwrap();
            assert!(text.contains("HttpOnly") && text.contains("SameSite=Strict"));
            assert_eq!(text.ends_with("; Secure"), secure, "{host}: {text}");
        }
    }

    #[test]
    fn sign_in_returns_only_to_local_paths() {
        assert_eq!(safe_next("/desk/cases/3"), "/desk/cases/3");
        for hostile in ["//evil.example/", "https://evil.example/", "/\\evil", ""] {
            assert_eq!(safe_next(hostile), "/");
        }
    }
}
