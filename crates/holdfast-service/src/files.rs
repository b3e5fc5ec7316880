//! Files people upload — a report's evidence, a waiver request's attachments: size limit, a
//! file name that is only a name, a content type kept only when plain, and the SHA-256.

use holdfast_store::NewFile;
use sha2::{Digest, Sha256};

use crate::cases::{MAX_EVIDENCE_BYTES, safe_filename};
use crate::{Result, ServiceError};

/// An upload checked and ready to store.
#[derive(Debug, Clone)]
pub(crate) struct Upload<'a> {
    pub filename: String,
    pub content_type: &'a str,
    pub sha256: String,
    pub content: &'a [u8],
}

impl<'a> Upload<'a> {
    /// Checks `content` against the size limit and cleans the name and type it came with.
    pub(crate) fn new(filename: &str, content_type: &'a str, content: &'a [u8]) -> Result<Self> {
        if content.len() > MAX_EVIDENCE_BYTES {
            return Err(ServiceError::invalid(
                "file",
                format!("files are at most {MAX_EVIDENCE_BYTES} bytes"),
            ));
        }
        let content_type = if content_type.len() <= 100 && content_type.is_ascii() {
            content_type
        } else {
            "application/octet-stream"
        };
        Ok(Upload {
            filename: safe_filename(filename),
            content_type,
            sha256: hex::encode(Sha256::digest(content)),
            content,
        })
    }

    /// The upload as the store takes it.
    pub(crate) fn stored(&self) -> NewFile<'_> {
        NewFile {
            filename: &self.filename,
            content_type: self.content_type,
            sha256: &self.sha256,
            content: self.content,
        }
    }
}
