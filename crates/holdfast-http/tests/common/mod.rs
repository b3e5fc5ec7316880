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
