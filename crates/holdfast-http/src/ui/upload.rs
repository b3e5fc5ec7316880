//! Forms that carry a file (`multipart/form-data`, no JavaScript): the text fields as `Fields`
//! for the usual CSRF and one-time checks, and the file bounded by the evidence limit. A file
//! over the limit is read to its end and dropped, so the page can name the file field and keep
//! every other input; forms put the file field last, so even a body past the route's limit
//! has its text fields read. A plain urlencoded body is read as a form without a file.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use holdfast_service::MAX_EVIDENCE_BYTES;

use super::session::Fields;

/// The most a form with a file may send: the file's limit, room for the text fields, and as
/// much again so a file somewhat over the limit is still answered with the form and its error.
pub const MAX_UPLOAD_FORM_BYTES: usize = 2 * MAX_EVIDENCE_BYTES + 1024 * 1024;

/// The file limit as people read it.
pub fn limit_text() -> String {
    super::format::size(i64::try_from(MAX_EVIDENCE_BYTES).unwrap_or(i64::MAX))
}

/// A file as received: its name and type as the browser sent them (the service cleans both).
pub struct FileField {
    pub filename: String,
    pub content_type: String,
    pub content: Bytes,
}

/// What a form's file field brought.
pub enum FilePart {
    /// No file chosen.
    Empty,
    Received(FileField),
    /// Over `MAX_EVIDENCE_BYTES`: not kept.
    TooLarge,
}

/// A submitted form that may carry a file.
pub struct UploadForm {
    pub fields: Fields,
    pub file: FilePart,
}

impl UploadForm {
    /// The error a too-large file earns, at the file field.
    pub fn too_large() -> String {
        format!(
            "files are at most {} ({MAX_EVIDENCE_BYTES} bytes); this one is larger",
            limit_text()
        )
    }
}

impl<S: Send + Sync> FromRequest<S> for UploadForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !multipart {
            let body = Bytes::from_request(request, state)
                .await
                .map_err(|_| unreadable())?;
            return Ok(UploadForm {
                fields: Fields::parse(&body),
                file: FilePart::Empty,
            });
        }
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|_| unreadable())?;
        let mut pairs = Vec::new();
        let mut file = FilePart::Empty;
        loop {
            let mut field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                // Past the route's limit: what was read stands, the file is too large.
                Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    file = FilePart::TooLarge;
                    break;
                }
                Err(_) => return Err(unreadable()),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let Some(filename) = field.file_name().map(str::to_owned) else {
                match field.text().await {
                    Ok(value) => pairs.push((name, value)),
                    Err(_) => return Err(unreadable()),
                }
                continue;
            };
            let content_type = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let mut content = Vec::new();
            let mut too_large = false;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if content.len() + chunk.len() > MAX_EVIDENCE_BYTES {
                            too_large = true;
                            content = Vec::new();
                        } else if !too_large {
                            content.extend_from_slice(&chunk);
                        }
                    }
                    Ok(None) => break,
                    Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        too_large = true;
                        break;
                    }
                    Err(_) => return Err(unreadable()),
                }
            }
            if too_large {
                file = FilePart::TooLarge;
            } else if matches!(file, FilePart::Empty)
                && !(filename.is_empty() && content.is_empty())
            {
                file = FilePart::Received(FileField {
                    filename,
                    content_type,
                    content: Bytes::from(content),
                });
            }
        }
        Ok(UploadForm {
            fields: Fields::from_pairs(pairs),
            file,
        })
    }
}

fn unreadable() -> Response {
    super::plain_error(
        StatusCode::BAD_REQUEST,
        "The form could not be read. Nothing was done. Reload the page and try again.",
    )
}
