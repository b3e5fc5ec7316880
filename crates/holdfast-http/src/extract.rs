//! Request extractors whose every refusal is the API's error envelope, naming the field.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use holdfast_model::org::Actor;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;

/// A JSON body: `Content-Type: application/json`, within the size limit, well-formed, of the
/// right shape (unknown fields are refused where the type says so).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "the body is larger than this endpoint accepts",
                    )
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document, naming the path of the field at fault. (The path is tracked only
/// when the document fails: tracking it made parsing a million-name list a fifth slower.)
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        json_error(path, error.into_inner())
    })?;
    deserializer
        .end()
        .map_err(|error| json_error(".".to_owned(), error))?;
    Ok(value)
}

fn json_error(path: String, error: serde_json::Error) -> ApiError {
    let message = error.to_string();
    match error.classify() {
        serde_json::error::Category::Data => {
            let field = match unknown_field(&message) {
                Some(name) if path == "." => name.to_owned(),
                Some(name) if !path.ends_with(name) => format!("{path}.{name}"),
                _ => path,
            };
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid", field, message)
        }
        _ => ApiError::field(
            StatusCode::BAD_REQUEST,
            "malformed",
            if path == "." || path == "?" {
                "body".to_owned()
            } else {
                path
            },
            format!("the body is not well-formed JSON: {message}"),
        ),
    }
}

/// The name in serde's "unknown field `name`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    message.strip_prefix("unknown field `")?.split('`').next()
}

/// Path parameters; a value of the wrong type is refused naming the parameter.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let field = match error.kind() {
                    axum::extract::path::ErrorKind::ParseErrorAtKey { key, .. }
                    | axum::extract::path::ErrorKind::InvalidUtf8InPathParam { key } => key.clone(),
                    _ => only_parameter(parts, state)
                        .await
                        .unwrap_or_else(|| "path".to_owned()),
                };
                Err(ApiError::field(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    field,
                    error.body_text(),
                ))
            }
            Err(other) => Err(ApiError::new(
                other.status(),
                "malformed",
                other.body_text(),
            )),
        }
    }
}

/// The name of the route's one path parameter, when it has exactly one.
async fn only_parameter<S: Send + Sync>(parts: &mut Parts, state: &S) -> Option<String> {
    let params = axum::extract::RawPathParams::from_request_parts(parts, state)
        .await
        .ok()?;
    let mut names = params.iter().map(|(name, _)| name.to_owned());
    let name = names.next()?;
    names.next().is_none().then_some(name)
}

/// Query parameters; refused naming the parameter at fault.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(ApiQuery)
            .map_err(|error| {
                let field = error.path().to_string();
                let message = error.into_inner().to_string();
                let field = unknown_field(&message).map_or(field, str::to_owned);
                ApiError::field(StatusCode::BAD_REQUEST, "malformed", field, message)
            })
    }
}

/// The authenticated actor, from `Authorization: Bearer TOKEN`.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::from(
                holdfast_service::ServiceError::Unauthenticated,
            ))?;
        let actor = state.service.authenticate(token, state.clock.now()).await?;
        Ok(Auth(actor))
    }
}

/// The answer to a request body that failed while it was read: 413 when it passed the
/// endpoint's size limit, 400 otherwise.
pub fn body_read_error(error: &axum::Error) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.is::<http_body_util::LengthLimitError>() {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than this endpoint accepts",
            );
        }
        cause = current.source();
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed",
        format!("reading the body failed: {error}"),
    )
}

/// An uploaded file: the body as sent (at most `holdfast_service::MAX_EVIDENCE_BYTES`; a larger
/// one is refused with 413) and the content type it claims (`application/octet-stream` when
/// none).
pub struct Uploaded {
    pub content_type: String,
    pub content: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Uploaded {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        use http_body_util::BodyExt as _;
        let max = holdfast_service::MAX_EVIDENCE_BYTES;
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let content = http_body_util::Limited::new(request.into_body(), max)
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("files are at most {max} bytes"),
                )
            })?;
        Ok(Uploaded {
            content_type,
            content,
        })
    }
}

/// A stored file as a download: always `application/octet-stream` and an attachment, whatever
/// it claims to be, so a browser never renders hostile content; the name reduced to safe
/// ASCII.
pub fn download(filename: &str, content: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\""),
            ),
        ],
        content,
    )
        .into_response()
}
