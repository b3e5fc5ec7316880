//! Outbound mail: an `Outbound` built into an RFC 5322 message (lettre's builder: UTF-8 subjects
//! and names encoded per RFC 2047, the body as UTF-8 text) and handed to an SMTP relay.
//!
//! The relay is expected on loopback or a private network — the organisation's MTA, which signs,
//! encrypts and delivers onwards — so this speaks plain SMTP without TLS or AUTH.

use std::time::Duration;

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder, SinglePart};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One message to send. Message ids are written without angle brackets (as `parse_message`
/// gives them); the builder adds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// `address` or `Display Name <address>`.
    pub from: String,
    pub to: Vec<String>,
    pub reply_to: Option<String>,
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The `Date:` field: time is an input, the caller's clock says when.
    pub date: jiff::Timestamp,
    /// More header fields, e.g. `Auto-Submitted: auto-replied` or `X-Holdfast-Case: 42`. The
    /// fields this type sets itself (and MIME's) are refused here.
    pub headers: Vec<(String, String)>,
}

/// Where outbound mail goes: an SMTP relay, reached without TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpRelay {
    pub host: String,
    pub port: u16,
    /// The name this side gives in EHLO.
    pub hello_name: String,
    /// For each step of the SMTP exchange.
    pub timeout: Duration,
}

impl SmtpRelay {
    /// A relay with a one-minute timeout per step.
    pub fn new(host: impl Into<String>, port: u16, hello_name: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port,
            hello_name: hello_name.into(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// Why a message was not built or not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{field}: {value:?} is not an e-mail address ({reason})")]
    Address {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("header {name:?}: {reason}")]
    Header { name: String, reason: &'static str },
    #[error("the message has no recipient")]
    NoRecipient,
    #[error("the message cannot be built: {0}")]
    Build(String),
    #[error("the relay {relay} refused or failed: {reason}")]
    Relay { relay: String, reason: String },
}

/// Fields `Outbound` sets itself, or that belong to MIME: not allowed in `headers`.
const OWN_FIELDS: [&str; 12] = [
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "sender",
];

/// Builds the RFC 5322 message and returns its bytes (e.g. to keep a copy of what was sent).
pub fn build_message(outbound: &Outbound) -> Result<Vec<u8>, SendError> {
    Ok(message(outbound)?.formatted())
}

/// Builds the message and sends it through the relay.
pub async fn send(relay: &SmtpRelay, outbound: &Outbound) -> Result<(), SendError> {
    let message = message(outbound)?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host.clone())
        .port(relay.port)
        .hello_name(ClientId::Domain(relay.hello_name.clone()))
        .timeout(Some(relay.timeout))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| SendError::Relay {
            relay: format!("{}:{}", relay.host, relay.port),
            reason: error.to_string(),
        })
}

fn mailbox(field: &'static str, value: &str) -> Result<Mailbox, SendError> {
    value
        .parse()
        .map_err(|error: lettre::address::AddressError| SendError::Address {
            field,
            value: value.to_owned(),
            reason: error.to_string(),
        })
}

/// A message id as `<id>`; refuses what would break the field.
fn message_id(name: &str, id: &str) -> Result<String, SendError> {
    let id = id.trim_start_matches('<').trim_end_matches('>');
    let ok = !id.is_empty()
        && id.contains('@')
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>'));
    if ok {
        Ok(format!("<{id}>"))
    } else {
        Err(SendError::Header {
            name: name.to_owned(),
            reason: "not a message id (printable ASCII with an @, no brackets inside)",
        })
    }
}

fn no_line_breaks(name: &str, value: &str) -> Result<(), SendError> {
    if value.contains(['\r', '\n']) {
        return Err(SendError::Header {
            name: name.to_owned(),
            reason: "a header value cannot contain a line break",
        });
    }
    Ok(())
}

fn message(outbound: &Outbound) -> Result<Message, SendError> {
    no_line_breaks("Subject", &outbound.subject)?;
    let mut builder: MessageBuilder = Message::builder()
        .from(mailbox("from", &outbound.from)?)
        .subject(outbound.subject.clone())
        .date(outbound.date.into())
        .message_id(Some(message_id("Message-ID", &outbound.message_id)?));
    if outbound.to.is_empty() {
        return Err(SendError::NoRecipient);
    }
    for to in &outbound.to {
        builder = builder.to(mailbox("to", to)?);
    }
    if let Some(reply_to) = &outbound.reply_to {
        builder = builder.reply_to(mailbox("reply_to", reply_to)?);
    }
    if let Some(in_reply_to) = &outbound.in_reply_to {
        builder = builder.in_reply_to(message_id("In-Reply-To", in_reply_to)?);
    }
    if !outbound.references.is_empty() {
        let references = outbound
            .references
            .iter()
            .map(|id| message_id("References", id))
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.references(references.join(" "));
    }
    for (name, value) in &outbound.headers {
        let lower = name.to_ascii_lowercase();
        if OWN_FIELDS.contains(&lower.as_str()) || lower.starts_with("content-") {
            return Err(SendError::Header {
                name: name.clone(),
                reason: "set by the message itself, not as an extra header",
            });
        }
        no_line_breaks(name, value)?;
        let valid_name =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        let header_name = HeaderName::new_from_ascii(name.clone())
            .ok()
            .filter(|_| valid_name)
            .ok_or_else(|| SendError::Header {
                name: name.clone(),
                reason: "not a header field name (printable ASCII, no colon)",
            })?;
        builder = builder.raw_header(HeaderValue::new(header_name, value.clone()));
    }
    // `singlepart` also writes MIME-Version (RFC 2045 §4), which `body` leaves out.
    builder
        .singlepart(SinglePart::plain(outbound.text.clone()))
        .map_err(|error| SendError::Build(error.to_string()))
}
