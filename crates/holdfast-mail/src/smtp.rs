//! The receiving SMTP server (RFC 5321): one small state machine per connection on tokio, handing
//! each accepted message to the caller's sink. It answers 250 only after the sink said Ok; a sink
//! error is a 451 (the sender keeps the message and retries), so nothing accepted is lost.
//!
//! No TLS and no AUTH: run it behind the organisation's MTA (which does both) or on a private
//! network. It adds no `Received:` field (that needs the time, which the caller has): the sink
//! gets the bytes exactly as the client sent them (dot-unstuffed) and the `Envelope`.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// What the server accepts, and its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The name in the greeting and the HELO/EHLO reply.
    pub hostname: String,
    /// Addresses mail is accepted for (compared without regard to case); a clone of the handle
    /// replaces them while the server runs.
    pub recipients: Recipients,
    /// Whether `local+tag@domain` is accepted when `local@domain` is (case addresses such as
    /// `abuse+case-42@registry.example`).
    pub subaddresses: Subaddresses,
    /// The largest message accepted (advertised as SIZE); larger ones get 552.
    pub max_message_bytes: usize,
    pub max_recipients: usize,
    /// Connections served at once; one more is told 421 and closed.
    pub max_connections: usize,
    /// How long a client may stay silent before it is told 421 and disconnected.
    pub idle_timeout: Duration,
}

impl SmtpConfig {
    /// A configuration with subaddresses accepted and the usual bounds: 25 MiB messages, 100
    /// recipients, 64 connections, five minutes of silence (RFC 5321 §4.5.3.2.7).
    pub fn new(hostname: impl Into<String>, recipients: Vec<String>) -> Self {
        Self {
            hostname: hostname.into(),
            recipients: Recipients::new(recipients),
            subaddresses: Subaddresses::Accepted,
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 64,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// The addresses a running server accepts mail for, shared with whoever changes them.
#[derive(Debug, Clone, Default)]
pub struct Recipients(Arc<RwLock<HashSet<String>>>);

impl PartialEq for Recipients {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.read() == *other.read()
    }
}

impl Eq for Recipients {}

impl Recipients {
    /// These addresses, compared without regard to case.
    pub fn new(addresses: impl IntoIterator<Item = String>) -> Self {
        let recipients = Recipients::default();
        recipients.replace(addresses);
        recipients
    }

    /// Accepts exactly `addresses` from now on.
    pub fn replace(&self, addresses: impl IntoIterator<Item = String>) {
        let lowered = addresses
            .into_iter()
            .map(|address| address.to_ascii_lowercase())
            .collect();
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = lowered;
    }

    /// How many addresses are accepted.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no address is accepted.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn contains(&self, lowered: &str) -> bool {
        self.read().contains(lowered)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashSet<String>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether a recipient's subaddresses (`local+tag@domain`) are accepted with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subaddresses {
    Accepted,
    Refused,
}

/// The SMTP envelope of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// What the client said in HELO/EHLO.
    pub helo: String,
    /// The reverse path; empty for the null sender `<>` (bounces, many ARF reports).
    pub mail_from: String,
    /// Accepted recipients, as the client wrote them.
    pub rcpt_to: Vec<String>,
    pub peer: SocketAddr,
}

/// Longest command line read (RFC 5321 says 512 with CRLF; extensions make MAIL longer).
const MAX_COMMAND_LINE: usize = 2048;
/// Message data is read in chunks of at most this many bytes (long lines are fine).
const DATA_CHUNK: usize = 8192;
/// Failed commands after which the client is disconnected.
const MAX_ERRORS: usize = 20;

/// Serves SMTP on `listener` until `shutdown` completes, then lets the sessions finish (a message
/// being delivered is delivered; idle sessions are told 421) and returns.
pub async fn serve<S, F>(
    listener: TcpListener,
    config: SmtpConfig,
    sink: S,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Fn(Envelope, Vec<u8>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let shared = Arc::new(Shared { config, sink });
    let permits = Arc::new(Semaphore::new(shared.config.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "smtp: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while sessions.try_join_next().is_some() {}
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let shared = shared.clone();
                let stopped = stopped.clone();
                sessions.spawn(async move {
                    let result = Session::new(stream, peer, shared, stopped).run().await;
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "smtp: session ended");
                    }
                    drop(permit);
                });
            }
            Err(_) => {
                sessions.spawn(async move {
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"421 4.3.2 Too many connections, try again later\r\n")
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        }
    }
    let _ = stop.send(true);
    while sessions.join_next().await.is_some() {}
    Ok(())
}

struct Shared<S> {
    config: SmtpConfig,
    sink: S,
}

impl<S> Shared<S> {
    fn accepts(&self, recipient: &str) -> bool {
        let recipient = recipient.to_ascii_lowercase();
        let accepted = &self.config.recipients;
        if accepted.contains(&recipient) {
            return true;
        }
        if self.config.subaddresses == Subaddresses::Refused {
            return false;
        }
        let Some((local, domain)) = recipient.rsplit_once('@') else {
            return false;
        };
        match local.split_once('+') {
            Some((base, tag)) if !base.is_empty() && !tag.is_empty() => {
                accepted.contains(&format!("{base}@{domain}"))
            }
            _ => false,
        }
    }
}

/// How a read of one line (or of a chunk of a long line) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Up to and including a line feed.
    Line,
    /// The limit was reached before a line feed.
    Partial,
    /// The client closed the connection.
    Eof,
}

enum Failure {
    Io(std::io::Error),
    /// The client went quiet, hung up, or must go; the session ends.
    Closed(&'static str),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Io(error)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Io(error) => write!(f, "{error}"),
            Failure::Closed(why) => f.write_str(why),
        }
    }
}

struct Session<S> {
    reader: BufReader<OwnedReadHalf>,
    writer: BufWriter<OwnedWriteHalf>,
    peer: SocketAddr,
    shared: Arc<Shared<S>>,
    stopped: watch::Receiver<bool>,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    errors: usize,
    line: Vec<u8>,
}

impl<S, F> Session<S>
where
    S: Fn(Envelope, Vec<u8>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        shared: Arc<Shared<S>>,
        stopped: watch::Receiver<bool>,
    ) -> Self {
        let (read, write) = stream.into_split();
        Self {
            reader: BufReader::new(read),
            writer: BufWriter::new(write),
            peer,
            shared,
            stopped,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            errors: 0,
            line: Vec::with_capacity(512),
        }
    }

    async fn run(mut self) -> Result<(), Failure> {
        let greeting = format!("220 {} ESMTP Holdfast", self.shared.config.hostname);
        self.reply(&greeting).await?;
        let result = self.commands().await;
        if let Err(Failure::Closed(why)) = &result {
            let _ = self.reply(why).await;
            let _ = self.writer.flush().await;
        }
        let _ = self.writer.shutdown().await;
        match result {
            Err(Failure::Closed(_)) | Ok(()) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn commands(&mut self) -> Result<(), Failure> {
        loop {
            if self.errors >= MAX_ERRORS {
                return Err(Failure::Closed("421 4.7.0 Too many errors, closing"));
            }
            match self.read_command().await? {
                Chunk::Eof => return Ok(()),
                Chunk::Partial => {
                    // Skip the rest of the line, then refuse it.
                    let idle = self.shared.config.idle_timeout;
                    while tokio::time::timeout(idle, self.read_chunk(MAX_COMMAND_LINE))
                        .await
                        .map_err(|_| Failure::Closed("421 4.4.2 Idle timeout, closing"))??
                        == Chunk::Partial
                    {}
                    self.errors += 1;
                    self.reply("500 5.5.2 Line too long").await?;
                    continue;
                }
                Chunk::Line => {}
            }
            let line = String::from_utf8_lossy(&self.line).trim_end().to_owned();
            let (verb, argument) = match line.split_once(' ') {
                Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.trim()),
                None => (line.to_ascii_uppercase(), ""),
            };
            match verb.as_str() {
                "HELO" | "EHLO" => self.hello(&verb, argument).await?,
                "MAIL" => self.mail(argument).await?,
                "RCPT" => self.rcpt(argument).await?,
                "DATA" => self.data(argument).await?,
                "RSET" => {
                    self.reset();
                    self.reply("250 2.0.0 OK").await?;
                }
                "NOOP" => self.reply("250 2.0.0 OK").await?,
                "QUIT" => {
                    self.reply("221 2.0.0 Bye").await?;
                    self.writer.flush().await?;
                    return Ok(());
                }
                "VRFY" => {
                    self.reply("252 2.5.0 Cannot VRFY, but will accept the message")
                        .await?;
                }
                "HELP" => self.reply("214 2.0.0 See RFC 5321").await?,
                "EXPN" | "STARTTLS" | "AUTH" | "BDAT" | "ETRN" | "TURN" => {
                    self.errors += 1;
                    self.reply("502 5.5.1 Command not implemented").await?;
                }
                _ => {
                    self.errors += 1;
                    self.reply("500 5.5.2 Command not recognized").await?;
                }
            }
        }
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }

    async fn refuse(&mut self, reply: &str) -> Result<(), Failure> {
        self.errors += 1;
        self.reply(reply).await
    }

    async fn hello(&mut self, verb: &str, argument: &str) -> Result<(), Failure> {
        if argument.is_empty() || argument.contains(char::is_whitespace) {
            return self.refuse("501 5.5.4 Syntax: HELO/EHLO domain").await;
        }
        self.reset();
        self.helo = Some(argument.to_owned());
        let hostname = &self.shared.config.hostname;
        let reply = if verb == "EHLO" {
            format!(
                "250-{hostname}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES",
                self.shared.config.max_message_bytes
            )
        } else {
            format!("250 {hostname}")
        };
        self.reply(&reply).await
    }

    async fn mail(&mut self, argument: &str) -> Result<(), Failure> {
        if self.helo.is_none() {
            return self.refuse("503 5.5.1 Send HELO/EHLO first").await;
        }
        if self.mail_from.is_some() {
            return self.refuse("503 5.5.1 Nested MAIL command").await;
        }
        let Some((path, parameters)) = prefixed(argument, "FROM:").and_then(path) else {
            return self.refuse("501 5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        if !path.is_empty() && !is_mailbox(&path) {
            return self.refuse("501 5.1.7 Bad sender address syntax").await;
        }
        for parameter in parameters.split_whitespace() {
            let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<u64>() {
                    Ok(size) if size > self.shared.config.max_message_bytes as u64 => {
                        return self
                            .reply("552 5.3.4 Message size exceeds fixed maximum message size")
                            .await;
                    }
                    Ok(_) => {}
                    Err(_) => return self.refuse("501 5.5.4 Bad SIZE parameter").await,
                },
                "BODY"
                    if ["7BIT", "8BITMIME"]
                        .iter()
                        .any(|b| b.eq_ignore_ascii_case(value)) => {}
                _ => return self.refuse("555 5.5.4 Unsupported parameter").await,
            }
        }
        self.mail_from = Some(path);
        self.reply("250 2.1.0 OK").await
    }

    async fn rcpt(&mut self, argument: &str) -> Result<(), Failure> {
        if self.mail_from.is_none() {
            return self.refuse("503 5.5.1 Need MAIL before RCPT").await;
        }
        let Some((path, parameters)) = prefixed(argument, "TO:").and_then(path) else {
            return self.refuse("501 5.5.4 Syntax: RCPT TO:<address>").await;
        };
        if !parameters.trim().is_empty() {
            return self.refuse("555 5.5.4 Unsupported parameter").await;
        }
        if self.rcpt_to.len() >= self.shared.config.max_recipients {
            return self.reply("452 4.5.3 Too many recipients").await;
        }
        if !is_mailbox(&path) || !self.shared.accepts(&path) {
            return self
                .refuse("550 5.1.1 No such recipient here: mailbox unavailable")
                .await;
        }
        self.rcpt_to.push(path);
        self.reply("250 2.1.5 OK").await
    }

    async fn data(&mut self, argument: &str) -> Result<(), Failure> {
        if !argument.is_empty() {
            return self.refuse("501 5.5.4 Syntax: DATA").await;
        }
        let Some(mail_from) = self.mail_from.clone() else {
            return self.refuse("503 5.5.1 Need MAIL first").await;
        };
        if self.rcpt_to.is_empty() {
            return self.refuse("503 5.5.1 Need RCPT first").await;
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let max = self.shared.config.max_message_bytes;
        let mut message = Vec::new();
        let mut too_large = false;
        let mut at_line_start = true;
        let mut after_cr = false;
        loop {
            self.flush_if_idle().await?;
            let idle = self.shared.config.idle_timeout;
            let chunk = tokio::time::timeout(idle, self.read_chunk(DATA_CHUNK))
                .await
                .map_err(|_| Failure::Closed("421 4.4.2 Idle timeout, closing"))??;
            if chunk == Chunk::Eof {
                return Err(Failure::Closed("421 4.4.2 Connection lost in DATA"));
            }
            let line = &self.line[..];
            // Only CRLF "." CRLF ends the data: a bare LF never does (no SMTP smuggling).
            if at_line_start && line == b".\r\n" {
                break;
            }
            let content = match line.strip_prefix(b".") {
                Some(rest) if at_line_start => rest,
                _ => line,
            };
            if !too_large {
                if message.len() + content.len() > max {
                    too_large = true;
                    message = Vec::new();
                } else {
                    message.extend_from_slice(content);
                }
            }
            // A CRLF may be split between two chunks.
            at_line_start =
                chunk == Chunk::Line && (line.ends_with(b"\r\n") || (line == b"\n" && after_cr));
            after_cr = line.ends_with(b"\r");
        }
        let envelope = Envelope {
            helo: self.helo.clone().unwrap_or_default(),
            mail_from,
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            peer: self.peer,
        };
        self.reset();
        if too_large {
            return self
                .reply("552 5.3.4 Message size exceeds fixed maximum message size")
                .await;
        }
        let size = message.len();
        match (self.shared.sink)(envelope, message).await {
            Ok(()) => {
                tracing::debug!(peer = %self.peer, size, "smtp: message accepted");
                self.reply("250 2.0.0 Message accepted").await
            }
            Err(error) => {
                tracing::warn!(peer = %self.peer, size, %error, "smtp: sink failed; told the client to retry");
                self.reply("451 4.3.0 Temporary failure storing the message, try again later")
                    .await
            }
        }
    }

    async fn reply(&mut self, reply: &str) -> Result<(), Failure> {
        self.writer.write_all(reply.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        Ok(())
    }

    /// Pipelining (RFC 2920): replies are sent once the client has nothing more queued.
    async fn flush_if_idle(&mut self) -> Result<(), Failure> {
        if self.reader.buffer().is_empty() {
            let idle = self.shared.config.idle_timeout;
            tokio::time::timeout(idle, self.writer.flush())
                .await
                .map_err(|_| Failure::Closed("421 4.4.2 Timeout, closing"))??;
        }
        Ok(())
    }

    async fn read_command(&mut self) -> Result<Chunk, Failure> {
        self.flush_if_idle().await?;
        let idle = self.shared.config.idle_timeout;
        let mut stopped = self.stopped.clone();
        if *stopped.borrow() {
            return Err(Failure::Closed("421 4.3.2 Shutting down"));
        }
        tokio::select! {
            read = tokio::time::timeout(idle, self.read_chunk(MAX_COMMAND_LINE)) => match read {
                Ok(chunk) => chunk,
                Err(_) => Err(Failure::Closed("421 4.4.2 Idle timeout, closing")),
            },
            _ = stopped.changed() => Err(Failure::Closed("421 4.3.2 Shutting down")),
        }
    }

    /// Reads into `self.line` up to and including the next line feed, or `max` bytes.
    async fn read_chunk(&mut self, max: usize) -> Result<Chunk, Failure> {
        self.line.clear();
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(Chunk::Eof);
            }
            let room = max - self.line.len();
            let window = &available[..available.len().min(room)];
            if let Some(at) = window.iter().position(|&b| b == b'\n') {
                self.line.extend_from_slice(&window[..=at]);
                self.reader.consume(at + 1);
                return Ok(Chunk::Line);
            }
            let taken = window.len();
            self.line.extend_from_slice(window);
            self.reader.consume(taken);
            if self.line.len() >= max {
                return Ok(Chunk::Partial);
            }
        }
    }
}

/// The argument after a keyword such as `FROM:` (any case, optional spaces after the colon).
fn prefixed<'a>(argument: &'a str, keyword: &str) -> Option<&'a str> {
    let head = argument.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| argument[keyword.len()..].trim_start())
}

/// `<path> parameters`: the address inside the brackets (a source route dropped), the rest.
fn path(argument: &str) -> Option<(String, &str)> {
    let rest = argument.strip_prefix('<')?;
    let close = rest.find('>')?;
    let inner = &rest[..close];
    let address = match inner.split_once(':') {
        Some((route, address)) if route.starts_with('@') => address,
        _ => inner,
    };
    Some((address.to_owned(), &rest[close + 1..]))
}

/// A plausible `local@domain`: no spaces or controls, one non-empty domain after the last `@`.
fn is_mailbox(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains(['<', '>', '[', ']'].as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for (argument, expect) in [
            ("<a@b.example>", Some(("a@b.example", ""))),
            ("<> SIZE=10", Some(("", " SIZE=10"))),
            ("<@relay.example:a@b.example>", Some(("a@b.example", ""))),
            ("a@b.example", None),
            ("<a@b.example", None),
        ] {
            let got = path(argument);
            assert_eq!(
                got.as_ref().map(|(a, rest)| (a.as_str(), *rest)),
                expect,
                "{argument}"
            );
        }
    }

    #[test]
    fn recipients_and_subaddresses() {
        let mut shared = Shared {
            config: SmtpConfig::new("mx.example", vec!["Abuse@registry.example".to_owned()]),
            sink: (),
        };
        for (recipient, accepted) in [
            ("abuse@registry.example", true),
            ("Abuse@Registry.Example", true),
            ("abuse+case-42@registry.example", true),
            ("abuse+@registry.example", false),
            ("+x@registry.example", false),
            ("abuse@other.example", false),
            ("security@registry.example", false),
            ("abuse+case-42@other.example", false),
        ] {
            assert_eq!(shared.accepts(recipient), accepted, "{recipient}");
        }
        shared.config.subaddresses = Subaddresses::Refused;
        assert!(shared.accepts("abuse@registry.example"));
        assert!(!shared.accepts("abuse+case-42@registry.example"));
        // A handle replaces the addresses of the running server.
        let handle = shared.config.recipients.clone();
        handle.replace(["security@registry.example".to_owned()]);
        assert!(shared.accepts("security@registry.example"));
        assert!(!shared.accepts("abuse@registry.example"));
    }
}
