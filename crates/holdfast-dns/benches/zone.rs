//! How fast a TLD zone of 1,000,000 delegations is parsed and written, and how much memory that
//! takes. Run with `cargo bench -p holdfast-dns --bench zone`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use holdfast_dns::{ZoneRecord, parse, write_zone};
use holdfast_model::{Delegation, DomainName, Glue};

const DELEGATIONS: u32 = 1_000_000;

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| {
                    value
                        .trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Two NS per delegation; a DS for every fourth; in-zone name servers with A and AAAA glue for
/// every tenth.
fn generate(path: &std::path::Path) -> std::io::Result<u64> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(out, "$ORIGIN demo.\n$TTL 3600")?;
    writeln!(
        out,
        "@ IN SOA a.nic hostmaster.nic ( 2024010101 7200 900 1209600 300 )"
    )?;
    writeln!(
        out,
        "@ IN NS a.nic\n@ IN NS b.nic\na.nic IN A 192.0.2.1\nb.nic IN A 192.0.2.2"
    )?;
    for index in 0..DELEGATIONS {
        if index % 10 == 0 {
            writeln!(
                out,
                "dom{index:07} IN NS ns1.dom{index:07}\n IN NS ns2.example.net."
            )?;
        } else {
            writeln!(
                out,
                "dom{index:07} IN NS ns1.example.net.\n IN NS ns2.example.net."
            )?;
        }
        if index % 4 == 0 {
            let digest = u128::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            writeln!(
                out,
                " IN DS {} 13 2 {digest:032X}{digest:032X}",
                index % 65_536
            )?;
        }
        if index % 10 == 0 {
            let [_, b, c, d] = index.to_be_bytes();
            let (high, low) = (index >> 16, index & 0xffff);
            writeln!(out, "ns1.dom{index:07} IN A 10.{b}.{c}.{d}")?;
            writeln!(out, " IN AAAA 2001:db8::{high:x}:{low:x}")?;
        }
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let source = dir.path().join("demo.zone");
    let tld = DomainName::parse("demo")?;

    let start = Instant::now();
    let bytes = generate(&source)?;
    println!(
        "generated {DELEGATIONS} delegations, {:.1} MiB, in {:.2} s",
        bytes as f64 / (1024.0 * 1024.0),
        start.elapsed().as_secs_f64()
    );

    // Streaming: what an import does before the database.
    let start = Instant::now();
    let mut parser = parse(&tld, File::open(&source)?);
    let (mut ns, mut ds, mut glue) = (0u64, 0u64, 0u64);
    let mut total = 0u64;
    for record in parser.by_ref() {
        match record? {
            ZoneRecord::Delegation { .. } => ns += 1,
            ZoneRecord::Ds { .. } => ds += 1,
            ZoneRecord::Glue { .. } => glue += 1,
            ZoneRecord::Soa(_) | ZoneRecord::ApexNs(_) => {}
        }
        total += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "parse (streaming)   {total} records ({ns} NS, {ds} DS, {glue} glue, {} skipped) in \
         {elapsed:.2} s = {:.0} records/s; peak RSS so far {:.1} MiB",
        parser.skipped(),
        total as f64 / elapsed,
        peak_rss_mib()
    );

    // Parse again into delegations and glue in memory, then write them back.
    let start = Instant::now();
    let mut soa = None;
    let mut apex_ns = Vec::new();
    let mut delegations: Vec<Delegation> = Vec::with_capacity(DELEGATIONS as usize);
    let mut glues: Vec<Glue> = Vec::new();
    for record in parse(&tld, File::open(&source)?) {
        match record? {
            ZoneRecord::Soa(record) => soa = Some(record),
            ZoneRecord::ApexNs(host) => apex_ns.push(host),
            ZoneRecord::Delegation { name, host } => match delegations.last_mut() {
                Some(last) if last.name == name => last.nameservers.push(host),
                _ => delegations.push(Delegation {
                    name,
                    nameservers: vec![host],
                    ds: Vec::new(),
                }),
            },
            ZoneRecord::Ds { name, ds } => match delegations.last_mut() {
                Some(last) if last.name == name => last.ds.push(ds),
                _ => return Err(format!("DS of {name} apart from its NS").into()),
            },
            ZoneRecord::Glue { host, address } => match glues.last_mut() {
                Some(last) if last.host == host => last.addresses.push(address),
                _ => glues.push(Glue {
                    host,
                    addresses: vec![address],
                }),
            },
        }
    }
    let soa = soa.ok_or("no SOA")?;
    println!(
        "parse into memory   {} delegations, {} glue hosts in {:.2} s; peak RSS so far {:.1} MiB",
        delegations.len(),
        glues.len(),
        start.elapsed().as_secs_f64(),
        peak_rss_mib()
    );

    let target = dir.path().join("written.zone");
    let start = Instant::now();
    write_zone(
        File::create(&target)?,
        &tld,
        &soa,
        &apex_ns,
        delegations,
        glues,
        3600,
    )?;
    println!(
        "write               {:.1} MiB in {:.3} s; peak RSS {:.1} MiB",
        std::fs::metadata(&target)?.len() as f64 / (1024.0 * 1024.0),
        start.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    Ok(())
}
