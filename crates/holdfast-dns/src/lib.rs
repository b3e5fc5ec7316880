//! Holdfast's DNS: TLD zone files (a streaming parser and a writer), publishing delegations by
//! RFC 2136 dynamic update with TSIG, and an embedded authoritative server that answers from the
//! caller's data.

pub mod render;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;
pub mod update;
mod wire;
pub mod zonefile;

pub use render::write_zone;
pub use server::{Apex, DataError, ZoneData, bind, serve};
pub use update::{
    DelegationUpdate, Primary, PublishReport, Rejection, TsigKey, UpdateError, publish,
    query_delegation,
};
pub use zonefile::{ZoneError, ZoneErrorKind, ZoneParser, ZoneRecord, parse};
