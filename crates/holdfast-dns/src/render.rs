//! Writes a TLD zone as an RFC 1035 master file: `$ORIGIN` and `$TTL`, then one record per line
//! with absolute names, streamed from the caller's iterators.

use std::io::{self, BufWriter, Write};
use std::net::IpAddr;

use holdfast_model::{Delegation, DomainName, DsRecord, Glue, Soa};

/// Writes the zone of `tld` to `out`: the SOA, the apex NS records, each delegation's NS and DS
/// records, then the glue addresses, every record with the zone's `ttl` (from `$TTL`).
///
/// Delegations and glue are written as the iterators yield them, through a `BufWriter`, so a
/// million delegations are never held in memory here. A delegation without name servers is left
/// out with its DS records: a name with no NS is not in the DNS. The caller passes names inside the
/// zone (the registry checked them when they were stored); they are written as given.
pub fn write_zone<W: Write>(
    out: W,
    tld: &DomainName,
    soa: &Soa,
    apex_ns: &[DomainName],
    delegations: impl IntoIterator<Item = Delegation>,
    glue: impl IntoIterator<Item = Glue>,
    ttl: u32,
) -> io::Result<()> {
    let mut writer = ZoneWriter {
        out: BufWriter::with_capacity(256 * 1024, out),
        numbers: itoa::Buffer::new(),
    };
    writer.header(tld, ttl)?;
    writer.soa(tld, soa)?;
    for host in apex_ns {
        writer.ns(tld, host)?;
    }
    for delegation in delegations {
        if delegation.nameservers.is_empty() {
            continue;
        }
        for host in &delegation.nameservers {
            writer.ns(&delegation.name, host)?;
        }
        for ds in &delegation.ds {
            writer.ds(&delegation.name, ds)?;
        }
    }
    for glue in glue {
        for address in &glue.addresses {
            writer.address(&glue.host, address)?;
        }
    }
    writer.out.flush()
}

struct ZoneWriter<W: Write> {
    out: BufWriter<W>,
    numbers: itoa::Buffer,
}

impl<W: Write> ZoneWriter<W> {
    fn header(&mut self, tld: &DomainName, ttl: u32) -> io::Result<()> {
        self.out.write_all(b"$ORIGIN ")?;
        self.name(tld)?;
        self.out.write_all(b"\n$TTL ")?;
        self.number(ttl)?;
        self.out.write_all(b"\n")
    }

    fn soa(&mut self, tld: &DomainName, soa: &Soa) -> io::Result<()> {
        self.name(tld)?;
        self.out.write_all(b" IN SOA ")?;
        self.name(&soa.mname)?;
        self.out.write_all(b" ")?;
        self.name(&soa.rname)?;
        for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
            self.out.write_all(b" ")?;
            self.number(value)?;
        }
        self.out.write_all(b"\n")
    }

    fn ns(&mut self, owner: &DomainName, host: &DomainName) -> io::Result<()> {
        self.name(owner)?;
        self.out.write_all(b" IN NS ")?;
        self.name(host)?;
        self.out.write_all(b"\n")
    }

    fn ds(&mut self, owner: &DomainName, ds: &DsRecord) -> io::Result<()> {
        self.name(owner)?;
        self.out.write_all(b" IN DS ")?;
        self.number(u32::from(ds.key_tag))?;
        self.out.write_all(b" ")?;
        self.number(u32::from(ds.algorithm))?;
        self.out.write_all(b" ")?;
        self.number(u32::from(ds.digest_type))?;
        self.out.write_all(b" ")?;
        self.out.write_all(ds.digest.as_bytes())?;
        self.out.write_all(b"\n")
    }

    fn address(&mut self, host: &DomainName, address: &IpAddr) -> io::Result<()> {
        self.name(host)?;
        match address {
            IpAddr::V4(v4) => {
                self.out.write_all(b" IN A ")?;
                for (index, octet) in v4.octets().into_iter().enumerate() {
                    if index > 0 {
                        self.out.write_all(b".")?;
                    }
                    self.number(u32::from(octet))?;
                }
            }
            IpAddr::V6(v6) => write!(self.out, " IN AAAA {v6}")?,
        }
        self.out.write_all(b"\n")
    }

    /// An absolute name: the canonical form and the root's dot.
    fn name(&mut self, name: &DomainName) -> io::Result<()> {
        self.out.write_all(name.as_str().as_bytes())?;
        self.out.write_all(b".")
    }

    fn number(&mut self, value: u32) -> io::Result<()> {
        self.out.write_all(self.numbers.format(value).as_bytes())
    }
}
