//! What the HTTP test files share: a clock the test moves, calling the router in process, and
//! waiting for an action to finish.

// Each test file uses part of this module.
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use holdfast_service::Clock;
use jiff::Timestamp;
use serde_json::Value;
use tower::ServiceExt;

/// A clock that stands still until the test moves it.
pub struct FakeClock(pub Mutex<Timestamp>);

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Sends `request` to the router; the answer's status and JSON body (`Null` when empty; a
/// string when the answer is not JSON, such as a downloaded file).
pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let json = response
        .headers()
        .get("content-type")
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else if !json {
        Value::String(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, value)
}

/// Calls `method path` with a bearer token (if any) and a JSON body (if any).
pub async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    send(router, request.unwrap()).await
}

/// Waits until action `id` is neither applying nor undoing — and, with `measured`, until its
/// time to effect is recorded — and returns it.
pub async fn settle(router: &Router, token: &str, id: i64, measured: bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let path = format!("/api/v1/actions/{id}");
        let (_, action) = call(router, Method::GET, &path, Some(token), None).await;
        let running = ["applying", "undoing"].contains(&action["state"].as_str().unwrap());
        if !running && (!measured || !action["effect_ms"].is_null()) {
            return action;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("action {id} did not finish");
}

/// A `multipart/form-data` body of text `fields` then, if any, one file `(field, filename,
/// content)` — the file last, as the pages' forms send it; the content type and the body.
pub fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----holdfast-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, filename, content)) = file {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A request to the pages as a browser sends it: `host`, a `Cookie` header (if any) and a
/// body with its content type (if any); the status, headers and bytes.
pub async fn browse(
    router: &Router,
    method: Method,
    path: &str,
    host: &str,
    cookie: Option<&str>,
    body: Option<(String, Vec<u8>)>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let request = match body {
        Some((content_type, body)) => request
            .header("content-type", content_type)
            .body(Body::from(body)),
        None => request.body(Body::empty()),
    };
    let response = router.clone().oneshot(request.unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

/// An URL-encoded form body for [`browse`].
pub fn urlencoded(form: &str) -> (String, Vec<u8>) {
    (
        "application/x-www-form-urlencoded".to_owned(),
        form.as_bytes().to_vec(),
    )
}

/// A page request signed in with `token` as the session (if any): GET without a body, POST
/// with `(content type, body)`; the status, headers and bytes.
pub async fn page_raw(
    router: &Router,
    path: &str,
    token: Option<&str>,
    body: Option<(String, Vec<u8>)>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let method = if body.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    let cookie = token.map(|token| format!("holdfast_session=0.{token}"));
    browse(router, method, path, "127.0.0.1", cookie.as_deref(), body).await
}

/// A page signed in as `token`, with an URL-encoded form body if any: the status, the
/// `Location` header and the HTML.
pub async fn form_page(
    router: &Router,
    path: &str,
    token: &str,
    form: Option<&str>,
) -> (StatusCode, String, String) {
    let (status, headers, bytes) = page_raw(router, path, Some(token), form.map(urlencoded)).await;
    let location = headers
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The value of the first hidden input `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The SHA-256 of `bytes` in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
