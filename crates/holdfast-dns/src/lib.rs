//! Holdfast's DNS: TLD zone files (a streaming parser and a writer); later publishing and the
//! sinkhole server.

pub mod render;
pub mod zonefile;

pub use render::write_zone;
pub use zonefile::{ZoneError, ZoneErrorKind, ZoneParser, ZoneRecord, parse};
