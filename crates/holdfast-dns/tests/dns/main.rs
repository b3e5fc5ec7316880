//! holdfast-dns's integration tests, one binary: zone files, publishing by dynamic update to real
//! Knot DNS and BIND 9 servers, and the embedded authoritative server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod publish;
mod server;
mod zonefile;
