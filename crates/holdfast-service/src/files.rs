//! Files people upload — a report's evidence, a waiver request's attachments: size limit, a
//! file name that is only a name, a content type kept only when plain, and the SHA-256.

use holdfast_store::NewFile;
use sha2::{Digest, Sha256};

use crate::cases::MAX_EVIDENCE_BYTES;
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
        Ok(Upload::received(filename, content_type, content))
    }

    /// A file that arrived inside something already bounded (an e-mail's attachment): the
    /// name and type cleaned, no size limit of its own.
    pub(crate) fn received(filename: &str, content_type: &'a str, content: &'a [u8]) -> Self {
        let content_type = if content_type.len() <= 100 && content_type.is_ascii() {
            content_type
        } else {
            "application/octet-stream"
        };
        Upload {
            filename: safe_filename(filename),
            content_type,
            sha256: hex::encode(Sha256::digest(content)),
            content,
        }
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

/// A file name safe to show and to offer as a download name: no path, no control characters,
/// at most 200 characters. The text stays as given otherwise (it is escaped where shown).
fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if cleaned.trim().is_empty() || cleaned == "." || cleaned == ".." {
        "evidence".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\x\\a\u{0}b.png"), "ab.png");
        assert_eq!(safe_filename(".."), "evidence");
        assert_eq!(
            safe_filename("<img src=x onerror=alert(1)>.png"),
            "<img src=x onerror=alert(1)>.png",
            "kept as text: it is escaped wherever it is shown"
        );
    }
}
