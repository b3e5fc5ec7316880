//! The one error envelope of the API, and the one place that maps failures to status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use holdfast_service::ServiceError;
use serde::Serialize;
use utoipa::ToSchema;

/// Every error response has this shape: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// What went wrong, for people and programs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code: `invalid`, `malformed`, `unauthenticated`, `forbidden`,
    /// `not_found`, `conflict`, `payload_too_large`, `unsupported_media_type`,
    /// `method_not_allowed`, `internal`, `unavailable`.
    pub code: &'static str,
    /// The request field at fault (a JSON path such as `name` or `users[2].email`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    field: Option<String>,
    message: String,
}

impl ApiError {
    /// What is wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// An error without a field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// An error about one field.
    pub fn field(
        status: StatusCode,
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A use case's refusal of a query's values: a value that is not valid is the client's
    /// malformed request (400, naming the field), not a refused change (422).
    pub fn from_query(error: ServiceError) -> ApiError {
        match error {
            ServiceError::Invalid { field, reason } => {
                ApiError::field(StatusCode::BAD_REQUEST, "invalid", field, reason)
            }
            other => ApiError::from(other),
        }
    }

    /// No route here.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> ApiError {
        let message = error.to_string();
        match error {
            ServiceError::Unauthenticated => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
            }
            ServiceError::Forbidden => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
            ServiceError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            ServiceError::Invalid { field, reason } => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid", field, reason)
            }
            ServiceError::Conflict { what } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", what)
            }
            ServiceError::Internal { .. } | ServiceError::Store(_) => {
                tracing::error!(%error, "request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed; the failure is logged",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorEnvelope {
                error: ErrorBody {
                    code: self.code,
                    field: self.field,
                    message: self.message,
                },
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
