//! Registry data as the DNS sees it: a TLD's apex, delegations with their DS records, and glue.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::DomainName;

/// A DS record (RFC 4034 §5) of a delegated name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DsRecord {
    /// The key tag of the DNSKEY it refers to.
    pub key_tag: u16,
    /// The DNSKEY's algorithm number.
    pub algorithm: u8,
    /// The digest algorithm number.
    pub digest_type: u8,
    /// The digest, upper-case hexadecimal.
    pub digest: String,
}

/// The SOA of a TLD's zone (RFC 1035 §3.3.13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Soa {
    /// The primary name server.
    pub mname: DomainName,
    /// The mailbox of the person responsible, in domain-name form.
    pub rname: DomainName,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    /// The negative-caching TTL (RFC 2308).
    pub minimum: u32,
}

/// A delegation of a name below the TLD: its name servers and DS records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub name: DomainName,
    pub nameservers: Vec<DomainName>,
    pub ds: Vec<DsRecord>,
}

/// Addresses of a name server inside the TLD, published as glue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Glue {
    pub host: DomainName,
    pub addresses: Vec<IpAddr>,
}
