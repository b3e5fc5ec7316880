//! A per-client-address limit for endpoints open to anyone (the public report form, password
//! sign-in): at most
//! `per_window` requests per address in each window, counted on the caller's clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};

use crate::error::ApiError;

/// Addresses remembered before old windows are forgotten.
const FORGET_AFTER: usize = 100_000;

/// Counts requests per client address in fixed windows.
#[derive(Debug)]
pub struct RateLimit {
    per_window: u32,
    window: SignedDuration,
    seen: Mutex<HashMap<IpAddr, (Timestamp, u32)>>,
}

impl RateLimit {
    /// At most `per_window` requests per address per `window`.
    pub fn new(per_window: u32, window: SignedDuration) -> RateLimit {
        RateLimit {
            per_window,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `client` at `now`; refuses with 429 once the window is full.
    pub fn check(&self, client: IpAddr, now: Timestamp) -> Result<(), ApiError> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= FORGET_AFTER {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            let retry = self.window - now.duration_since(entry.0);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests from your address; try again in {} seconds",
                    retry.as_secs().max(1)
                ),
            ));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The client's address: from the connection (`ConnectInfo`), or the unspecified address when
/// the router runs without one (in-process tests), so that such callers share one count.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let address = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Ok(ClientAddr(address))
    }
}
