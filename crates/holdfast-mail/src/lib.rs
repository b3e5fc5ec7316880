//! Holdfast's e-mail for the case desk: parsing incoming reports (plain text, ARF, XARF), a
//! receiving SMTP server, and sending through a relay. No database: the caller stores.
//!
//! - [`parse_message`] turns one raw RFC 5322 message into an [`Inbound`]: header facts, the
//!   report [`Format`], candidate domain names and URLs, the text body and the attachments as
//!   [`Evidence`]. **Contract:** the caller keeps the raw bytes it was given whatever happens;
//!   a [`ParseError`] names the header line or MIME part at fault so a person can look at them.
//! - [`smtp::serve`] accepts mail for configured addresses (and their `local+tag@domain`
//!   subaddresses) and hands each message to a sink; it answers 250 only after the sink said Ok.
//!   No TLS, no AUTH: it is meant to run behind the organisation's MTA, which does both.
//! - [`send::send`] builds an [`Outbound`] into an RFC 5322 message and hands it to an SMTP relay
//!   (a local MTA on loopback) over plain SMTP.
//!
//! All content is hostile data: it is decoded and copied, never interpreted or rendered.

mod arf;
mod names;
pub mod parse;
pub mod send;
pub mod smtp;
mod xarf;

pub use arf::ArfReport;
pub use names::Names;
pub use parse::{
    Body, BodyKind, Evidence, Format, Inbound, Limits, Mailbox, ParseError, PartProblem,
    parse_message,
};
pub use send::{Outbound, SendError, SmtpRelay, build_message, send};
pub use smtp::{Envelope, Recipients, SmtpConfig, Subaddresses, serve};
pub use xarf::{XarfContact, XarfReport};
