//! What a use case can refuse or fail with; the HTTP layer maps each to one status code.

use holdfast_store::StoreError;

/// Why a use case did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No valid credentials.
    #[error("authentication required: send a valid API token or sign in")]
    Unauthenticated,
    /// Valid credentials, but the role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// The thing does not exist, or belongs to an organisation the actor may not see.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// A field of the request is wrong.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// The request conflicts with what exists (a taken name, say).
    #[error("{what}")]
    Conflict { what: String },
    /// Something the server needs is not working (no randomness, say).
    #[error("internal error: {what}")]
    Internal { what: String },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl ServiceError {
    /// A refusal naming the field and the reason.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ServiceError {
        ServiceError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> ServiceError {
        match error {
            StoreError::Conflict { what } => ServiceError::Conflict {
                what: format!("{what} already exists"),
            },
            other => ServiceError::Store(other),
        }
    }
}
