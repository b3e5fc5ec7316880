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

use crate::AppState;
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

/// The client's address: the connection's peer — or, when the peer is one of the `trusted`
/// reverse proxies, the rightmost address in `X-Forwarded-For` that is not itself a trusted
/// proxy (the one the nearest trusted proxy saw; anything left of it the client could have
/// written). A header from an untrusted peer is ignored, and so is one that does not parse.
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(address) if trusted.contains(&address) => client = address,
            Ok(address) => return address,
            Err(_) => return client,
        }
    }
    client
}

/// The client's address (see [`client_address`]): from the connection (`ConnectInfo`), or the
/// unspecified address when the router runs without one (in-process tests), so that such
/// callers share one count.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok());
        Ok(ClientAddr(client_address(
            peer,
            forwarded,
            &state.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy = [ip("10.0.0.1"), ip("10.0.0.2")];
        let header = Some("198.51.100.7, 203.0.113.9, 10.0.0.2");
        // The nearest untrusted hop is the client; what it claims further left is not believed.
        assert_eq!(
            client_address(ip("10.0.0.1"), header, &proxy),
            ip("203.0.113.9")
        );
        // Without a trusted peer the header is anyone's text.
        assert_eq!(
            client_address(ip("192.0.2.1"), header, &proxy),
            ip("192.0.2.1")
        );
        assert_eq!(client_address(ip("10.0.0.1"), None, &proxy), ip("10.0.0.1"));
        assert_eq!(
            client_address(ip("10.0.0.1"), Some("garbage, 10.0.0.2"), &proxy),
            ip("10.0.0.2")
        );
        assert_eq!(client_address(ip("10.0.0.1"), header, &[]), ip("10.0.0.1"));
    }
}
