//! holdfast-mail's integration tests, one binary: real SMTP exchanges on 127.0.0.1 — Python's
//! smtplib against `serve`, `send` against Python's aiosmtpd — and reports parsed from what was
//! received: plain text, ARF, XARF (body and attachment), hostile and malformed messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod hostile;
mod receive;
mod send;
