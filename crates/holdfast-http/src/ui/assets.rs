//! The stylesheet, the icon and htmx, compiled into the binary and served by Holdfast (no CDN). Their
//! names carry a version, so browsers may keep them for a year.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Where the stylesheet is served.
pub const CSS_PATH: &str = "/assets/holdfast-1.css";
/// Where htmx is served (the npm package `htmx.org` 2.0.11, BSD Zero-Clause; see
/// `assets/README.md`).
pub const HTMX_PATH: &str = "/assets/htmx-2.0.11.min.js";

/// Where the icon is served.
pub const ICON_PATH: &str = "/assets/holdfast-icon-1.svg";

const ICON: &[u8] = include_bytes!("../../assets/holdfast-icon.svg");
const CSS: &[u8] = include_bytes!("../../assets/holdfast.css");
const HTMX: &[u8] = include_bytes!("../../assets/htmx-2.0.11.min.js");

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// `GET /assets/holdfast-1.css`.
pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /assets/htmx-2.0.11.min.js`.
pub async fn htmx() -> Response {
    asset("text/javascript; charset=utf-8", HTMX)
}

/// `GET /assets/holdfast-icon-1.svg`.
pub async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}
