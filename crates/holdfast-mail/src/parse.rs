//! `parse_message`: one raw RFC 5322 message to an `Inbound` — header facts, the report format
//! (plain text, ARF, XARF), candidate names and URLs, the text body and the attachments.
//!
//! Contract: the caller keeps the raw bytes it passed in, whatever the outcome. A `ParseError`
//! names the header line or the MIME part at fault (parts are numbered as IMAP does: `root` is the
//! message itself, `1`, `2`, `2.1` … its parts), so a person can look at the raw message there.
//! Content is data: it is decoded and copied, never interpreted; HTML is kept as HTML and marked.

use mail_parser::{Address, HeaderValue, MessageParser, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::arf::{ArfReport, parse_feedback_report};
use crate::names::{Collector, Names, TooMany};
use crate::xarf::{XarfError, XarfReport, is_xarf, parse_xarf};

/// Bounds on what one message may hold; exceeding one is an error naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole raw message.
    pub max_message_bytes: usize,
    /// One decoded attachment (or one XARF evidence item).
    pub max_attachment_bytes: usize,
    /// Distinct candidate domain names, and separately distinct URLs.
    pub max_names: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 25 * 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_names: 100_000,
        }
    }
}

/// An address from a header: `"Display Name" <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// Whether the body is plain text or HTML kept as written (render it escaped, never as HTML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Text,
    Html,
}

/// The message's readable body: its text/plain parts, or else its text/html parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub kind: BodyKind,
    pub text: String,
}

/// A file that came with the report: an attachment, or an XARF evidence item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Where it was: the MIME part (`2`, `1.3`), for XARF evidence also the field.
    pub part: String,
    /// As the sender named it: untrusted, never use it as a path.
    pub filename: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lowercase hex.
    pub sha256: String,
}

impl Evidence {
    pub(crate) fn new(
        part: String,
        filename: Option<String>,
        content_type: String,
        bytes: Vec<u8>,
    ) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Self {
            part,
            filename,
            content_type,
            bytes,
            sha256,
        }
    }
}

/// What kind of report the message is.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    PlainText,
    /// RFC 5965 `multipart/report; report-type=feedback-report`.
    Arf(Box<ArfReport>),
    /// An XARF JSON document, as the body or as an attachment.
    Xarf(Box<XarfReport>),
}

/// An incoming message, read. Header facts are what the message says, not the SMTP envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub subject: Option<String>,
    /// Without angle brackets, as are `in_reply_to` and `references`.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub date: Option<jiff::Timestamp>,
    pub format: Format,
    /// Candidate names and URLs from the subject, the body, an ARF report (its fields and the
    /// reported message's text) or an XARF report's fields.
    pub names: Names,
    pub body: Body,
    pub attachments: Vec<Evidence>,
}

/// Why a message could not be read; the caller still has (and keeps) the raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is {size} bytes, over the limit max_message_bytes = {max}")]
    MessageTooLarge { size: usize, max: usize },
    #[error("MIME part {part} is {size} bytes, over the limit max_attachment_bytes = {max}")]
    AttachmentTooLarge {
        part: String,
        size: usize,
        max: usize,
    },
    #[error("the message names more than max_names = {max} distinct domain names or URLs")]
    TooManyNames { max: usize },
    #[error("not an e-mail message: it has no header fields")]
    NoHeaders,
    #[error("header line {line} ({text:?}): {problem}")]
    Header {
        line: usize,
        text: String,
        problem: &'static str,
    },
    #[error("MIME part {part} ({content_type}): {problem}")]
    Part {
        part: String,
        content_type: String,
        problem: PartProblem,
    },
    #[error("ARF report in MIME part {part}: {problem}")]
    Arf { part: String, problem: String },
    #[error("XARF report in MIME part {part}: {problem}")]
    Xarf { part: String, problem: String },
}

/// What is wrong with a MIME part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartProblem {
    #[error("multipart without a boundary parameter")]
    NoBoundary,
    #[error("the boundary {0:?} does not occur in the body")]
    BoundaryNotFound(String),
    #[error("the closing boundary \"--{0}--\" is missing")]
    NotClosed(String),
    #[error("the {0} content cannot be decoded")]
    Undecodable(&'static str),
    #[error("the enclosed message cannot be read")]
    BadEnclosedMessage,
}

/// Reads one raw message. See the module documentation for the contract.
pub fn parse_message(raw: &[u8], limits: &Limits) -> Result<Inbound, ParseError> {
    if raw.len() > limits.max_message_bytes {
        return Err(ParseError::MessageTooLarge {
            size: raw.len(),
            max: limits.max_message_bytes,
        });
    }
    check_header_section(raw)?;
    let message = MessageParser::new()
        .parse(raw)
        .ok_or(ParseError::NoHeaders)?;
    let paths = part_paths(&message, "root");
    check_parts(&message, &paths)?;

    let (body, root_is_body) = body(&message);
    let mut attachments = Vec::new();
    for &id in &message.attachments {
        if id == 0 && root_is_body {
            continue;
        }
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let part_name = path(&paths, id);
        let bytes = part_bytes(&message, part);
        if bytes.len() > limits.max_attachment_bytes {
            return Err(ParseError::AttachmentTooLarge {
                part: part_name,
                size: bytes.len(),
                max: limits.max_attachment_bytes,
            });
        }
        attachments.push(Evidence::new(
            part_name,
            part.attachment_name().map(str::to_owned),
            content_type(part),
            bytes,
        ));
    }

    let too_many = |_: TooMany| ParseError::TooManyNames {
        max: limits.max_names,
    };
    let mut names = Collector::new(limits.max_names);
    if let Some(subject) = message.subject() {
        names.text(subject).map_err(too_many)?;
    }
    let format = if let Some(arf) = arf(&message, &paths)? {
        for domain in &arf.reported_domains {
            names.domain(domain).map_err(too_many)?;
        }
        for uri in &arf.reported_uris {
            names.url(uri).map_err(too_many)?;
        }
        for part in &message.parts {
            if let PartType::Message(reported) = &part.body {
                if let Some(subject) = reported.subject() {
                    names.text(subject).map_err(too_many)?;
                }
                for text in reported.text_bodies().chain(reported.html_bodies()) {
                    names
                        .text(&String::from_utf8_lossy(text.contents()))
                        .map_err(too_many)?;
                }
            }
        }
        names.text(&body.text).map_err(too_many)?;
        Format::Arf(Box::new(arf))
    } else if let Some((xarf, fields)) = xarf(&message, &paths, &body, root_is_body, limits)? {
        for field in &fields {
            names.field(field).map_err(too_many)?;
        }
        if xarf.part != "root" {
            names.text(&body.text).map_err(too_many)?;
        }
        Format::Xarf(Box::new(xarf))
    } else {
        names.text(&body.text).map_err(too_many)?;
        Format::PlainText
    };

    // Reporters often attach their list of names as a text or CSV file.
    for attachment in attachments.iter().filter(|a| is_name_list(a)) {
        names
            .text(&String::from_utf8_lossy(&attachment.bytes))
            .map_err(too_many)?;
    }

    Ok(Inbound {
        from: message.from().and_then(first_mailbox),
        to: message.to().map(mailboxes).unwrap_or_default(),
        reply_to: message.reply_to().and_then(first_mailbox),
        subject: message.subject().map(str::to_owned),
        message_id: message.message_id().map(str::to_owned),
        in_reply_to: texts(message.in_reply_to()),
        references: texts(message.references()),
        date: message
            .date()
            .and_then(|date| jiff::Timestamp::from_second(date.to_timestamp()).ok()),
        format,
        names: names.finish(),
        body,
        attachments,
    })
}

/// Every line of the header section is a field (`Name: value`) or continues one.
fn check_header_section(raw: &[u8]) -> Result<(), ParseError> {
    let mut fields = 0;
    for (index, line) in raw.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let problem = if line[0] == b' ' || line[0] == b'\t' {
            (fields == 0).then_some("a continuation line before any header field")
        } else {
            match line.iter().position(|&b| b == b':') {
                None => Some("not a header field (no colon)"),
                Some(colon)
                    if colon == 0 || !line[..colon].iter().all(|b| (33..=126).contains(b)) =>
                {
                    Some("the field name is empty or has characters a field name cannot have")
                }
                Some(_) => None,
            }
        };
        if let Some(problem) = problem {
            let text: String = String::from_utf8_lossy(line).chars().take(80).collect();
            return Err(ParseError::Header {
                line: index + 1,
                text,
                problem,
            });
        }
        fields += 1;
    }
    if fields == 0 {
        return Err(ParseError::NoHeaders);
    }
    Ok(())
}

/// IMAP-style part numbers, indexed by part id: `root`, then `1`, `2`, `2.1` …
fn part_paths(message: &mail_parser::Message<'_>, root: &str) -> Vec<String> {
    let mut paths = vec![String::new(); message.parts.len()];
    let mut stack = vec![(0_usize, root.to_owned())];
    while let Some((id, name)) = stack.pop() {
        let Some(part) = message.parts.get(id) else {
            continue;
        };
        if let PartType::Multipart(children) = &part.body {
            for (index, &child) in children.iter().enumerate() {
                let child = child as usize;
                if child > id {
                    let child_name = if name == "root" {
                        format!("{}", index + 1)
                    } else {
                        format!("{name}.{}", index + 1)
                    };
                    stack.push((child, child_name));
                }
            }
        }
        if let Some(slot) = paths.get_mut(id) {
            *slot = name;
        }
    }
    paths
}

fn path(paths: &[String], id: u32) -> String {
    paths
        .get(id as usize)
        .cloned()
        .unwrap_or_else(|| format!("#{id}"))
}

fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => "text/plain".to_owned(),
    }
}

/// mail-parser reads broken MIME as best it can; Holdfast refuses it instead, naming the part.
fn check_parts(message: &mail_parser::Message<'_>, paths: &[String]) -> Result<(), ParseError> {
    let raw = message.raw_message();
    for (id, part) in message.parts.iter().enumerate() {
        let name = paths.get(id).cloned().unwrap_or_else(|| format!("#{id}"));
        let refuse = |problem| ParseError::Part {
            part: name.clone(),
            content_type: content_type(part),
            problem,
        };
        if let Some(ct) = part.content_type()
            && ct.ctype().eq_ignore_ascii_case("multipart")
        {
            let Some(boundary) = ct.attribute("boundary") else {
                return Err(refuse(PartProblem::NoBoundary));
            };
            let body = raw.get(part.offset_body as usize..).unwrap_or_default();
            let delimiter = format!("--{boundary}");
            if !contains(body, delimiter.as_bytes()) {
                return Err(refuse(PartProblem::BoundaryNotFound(boundary.to_owned())));
            }
            if !contains(body, format!("{delimiter}--").as_bytes()) {
                return Err(refuse(PartProblem::NotClosed(boundary.to_owned())));
            }
        }
        let has_body = (part.offset_body as usize) < raw.len();
        if part.is_encoding_problem && has_body {
            let problem = match (part.encoding, &part.body) {
                (mail_parser::Encoding::Base64, _) => PartProblem::Undecodable("base64"),
                (mail_parser::Encoding::QuotedPrintable, _) => {
                    PartProblem::Undecodable("quoted-printable")
                }
                (_, PartType::Message(_) | PartType::Binary(_))
                    if content_type(part).starts_with("message/") =>
                {
                    PartProblem::BadEnclosedMessage
                }
                _ => match part.content_transfer_encoding() {
                    Some(cte) if cte.eq_ignore_ascii_case("base64") => {
                        PartProblem::Undecodable("base64")
                    }
                    Some(cte) if cte.eq_ignore_ascii_case("quoted-printable") => {
                        PartProblem::Undecodable("quoted-printable")
                    }
                    _ => PartProblem::Undecodable("MIME"),
                },
            };
            return Err(refuse(problem));
        }
        if let PartType::Message(enclosed) = &part.body {
            check_parts(enclosed, &part_paths(enclosed, &name))?;
        }
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The decoded bytes of a leaf part; an enclosed message as it was written.
fn part_bytes(message: &mail_parser::Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    match &part.body {
        PartType::Message(enclosed) if part.encoding == mail_parser::Encoding::None => message
            .raw_message()
            .get(part.offset_body as usize..part.offset_end as usize)
            .unwrap_or_else(|| enclosed.raw_message())
            .to_vec(),
        _ => part.contents().to_vec(),
    }
}

/// The body, and whether it is the root part itself when that is not text (a JSON body).
fn body(message: &mail_parser::Message<'_>) -> (Body, bool) {
    let collect = |ids: &[u32], want_html: bool| -> Vec<String> {
        ids.iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .filter_map(|part| match (&part.body, want_html) {
                (PartType::Text(text), false) | (PartType::Html(text), true) => {
                    Some(text.to_string())
                }
                _ => None,
            })
            .collect()
    };
    let texts = collect(&message.text_body, false);
    if !texts.is_empty() {
        return (
            Body {
                kind: BodyKind::Text,
                text: texts.join("\n"),
            },
            false,
        );
    }
    let mut htmls = collect(&message.text_body, true);
    if htmls.is_empty() {
        htmls = collect(&message.html_body, true);
    }
    if !htmls.is_empty() {
        return (
            Body {
                kind: BodyKind::Html,
                text: htmls.join("\n"),
            },
            false,
        );
    }
    let empty = Body {
        kind: BodyKind::Text,
        text: String::new(),
    };
    match message.parts.first() {
        Some(root) if content_type(root) == "application/json" => (
            Body {
                kind: BodyKind::Text,
                text: String::from_utf8_lossy(root.contents()).into_owned(),
            },
            true,
        ),
        _ => (empty, false),
    }
}

/// The ARF report, if the message is `multipart/report; report-type=feedback-report`.
fn arf(
    message: &mail_parser::Message<'_>,
    paths: &[String],
) -> Result<Option<ArfReport>, ParseError> {
    let Some(root) = message.parts.first() else {
        return Ok(None);
    };
    let is_feedback_report = root.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("feedback-report"))
    });
    if !is_feedback_report {
        return Ok(None);
    }
    let found = message
        .parts
        .iter()
        .enumerate()
        .find(|(_, part)| content_type(part) == "message/feedback-report");
    let Some((id, part)) = found else {
        return Err(ParseError::Arf {
            part: "root".into(),
            problem: "no message/feedback-report part".into(),
        });
    };
    let name = path(paths, id as u32);
    parse_feedback_report(&name, &String::from_utf8_lossy(part.contents()))
        .map(Some)
        .map_err(|problem| ParseError::Arf {
            part: name,
            problem,
        })
}

/// The XARF report: the JSON body, or the first JSON attachment that says it is XARF.
fn xarf(
    message: &mail_parser::Message<'_>,
    paths: &[String],
    body: &Body,
    root_is_body: bool,
    limits: &Limits,
) -> Result<Option<(XarfReport, Vec<String>)>, ParseError> {
    let mut candidates: Vec<(String, Vec<u8>)> = Vec::new();
    let body_is_json = body.kind == BodyKind::Text && body.text.trim_start().starts_with('{');
    if body_is_json && (root_is_body || message.parts.len() == 1) {
        candidates.push(("root".into(), body.text.as_bytes().to_vec()));
    }
    for &id in &message.attachments {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        let json_type = content_type(part) == "application/json";
        let json_name = part
            .attachment_name()
            .is_some_and(|n| n.to_ascii_lowercase().ends_with(".json"));
        if (json_type || json_name) && !(id == 0 && root_is_body) {
            candidates.push((path(paths, id), part.contents().to_vec()));
        }
    }
    for (part, bytes) in candidates {
        let Ok(document) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        if !is_xarf(&document) {
            continue;
        }
        return match parse_xarf(&part, document, limits.max_attachment_bytes) {
            Ok(found) => Ok(Some(found)),
            Err(XarfError::Field(problem)) => Err(ParseError::Xarf { part, problem }),
            Err(XarfError::TooLarge { field, size }) => Err(ParseError::AttachmentTooLarge {
                part: format!("{part} {field}"),
                size,
                max: limits.max_attachment_bytes,
            }),
        };
    }
    Ok(None)
}

fn first_mailbox(address: &Address<'_>) -> Option<Mailbox> {
    mailboxes(address).into_iter().next()
}

fn mailboxes(address: &Address<'_>) -> Vec<Mailbox> {
    address
        .iter()
        .filter_map(|addr| {
            Some(Mailbox {
                name: addr.name().map(str::to_owned),
                address: addr.address()?.to_owned(),
            })
        })
        .collect()
}

fn texts(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(text) => vec![text.to_string()],
        HeaderValue::TextList(list) => list.iter().map(|text| text.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Whether an attachment is text to read for names: `text/plain` or `text/csv`, or a file named
/// `.txt` or `.csv` sent as something generic.
fn is_name_list(attachment: &Evidence) -> bool {
    let media = attachment
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let named = attachment.filename.as_deref().is_some_and(|name| {
        let name = name.to_ascii_lowercase();
        name.ends_with(".txt") || name.ends_with(".csv")
    });
    matches!(media.as_str(), "text/plain" | "text/csv")
        || (named && matches!(media.as_str(), "application/octet-stream" | ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_headers(raw: &str, expect: Result<(), (usize, &str)>) {
        let got = check_header_section(raw.as_bytes()).map_err(|error| match error {
            ParseError::Header { line, problem, .. } => (line, problem),
            other => panic!("{other}"),
        });
        assert_eq!(got, expect, "{raw:?}");
    }

    #[test]
    fn header_sections() {
        check_headers(
            "Subject: x\r\n folded\r\nFrom: a@b\r\n\r\nbody: no check",
            Ok(()),
        );
        check_headers(
            "Subject: x\nBroken line\n\n",
            Err((2, "not a header field (no colon)")),
        );
        check_headers(
            " leading\n\n",
            Err((1, "a continuation line before any header field")),
        );
        check_headers(
            "Bad Name: x\n\n",
            Err((
                1,
                "the field name is empty or has characters a field name cannot have",
            )),
        );
    }
}
