//! How fast dynamic updates take effect on a real primary holding a TLD of 1,000,000
//! delegations: 100,000 removals in one `publish`, timed until the server no longer publishes the
//! last name; then the time to effect of one name's update, over 50 trials. Runs against Knot DNS
//! and BIND 9. Run with `cargo bench -p holdfast-dns --bench publish` (`-- knot` or `-- bind` for
//! one server only).

use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use holdfast_dns::testing::{BindServer, KnotServer};
use holdfast_dns::{DelegationUpdate, Primary, TsigKey, publish, query_delegation};
use holdfast_model::DomainName;

const DELEGATIONS: u32 = 1_000_000;
const REMOVALS: u32 = 100_000;
const TRIALS: usize = 50;
const TIMEOUT: Duration = Duration::from_secs(5);

type Error = Box<dyn std::error::Error>;

fn name(index: u32) -> Result<DomainName, Error> {
    Ok(DomainName::parse(&format!("dom{index:07}.demo"))?)
}

/// Two NS per delegation, a DS for every fourth.
fn write_zone_file(path: &Path) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "$ORIGIN demo.\n$TTL 3600")?;
    writeln!(
        out,
        "@ IN SOA a.nic hostmaster.nic 2026010101 7200 900 1209600 300\n@ IN NS a.nic\na.nic IN A 192.0.2.1"
    )?;
    for index in 0..DELEGATIONS {
        writeln!(
            out,
            "dom{index:07} IN NS ns1.example.net.\ndom{index:07} IN NS ns2.example.net."
        )?;
        if index.is_multiple_of(4) {
            let digest = u128::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            writeln!(
                out,
                "dom{index:07} IN DS {} 13 2 {digest:064X}",
                index % 65536
            )?;
        }
    }
    out.flush()
}

/// Polls `name` until the server no longer delegates it; returns when it saw that.
async fn wait_until_gone(server: SocketAddr, name: &DomainName) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while query_delegation(server, name, TIMEOUT).await?.is_some() {
        if Instant::now() > deadline {
            return Err(format!("{name} still delegated after 600 s").into());
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index]
}

async fn run(label: &str, server: SocketAddr, key: &TsigKey) -> Result<(), Error> {
    let primary = Primary {
        server,
        zone: DomainName::parse("demo")?,
        key: Some(key.clone()),
        ttl: 3600,
    };

    // 100,000 removals, every tenth name, in one call.
    let updates = (0..REMOVALS)
        .map(|index| {
            Ok(DelegationUpdate {
                name: name(index * 10)?,
                delegation: None,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let last = name((REMOVALS - 1) * 10)?;
    let started = Instant::now();
    let report = publish(&primary, &updates).await?;
    let sent = started.elapsed();
    wait_until_gone(server, &last).await?;
    let effect = started.elapsed();
    println!(
        "{label}: {REMOVALS} removals: publish returned after {:.2} s, last name gone after {:.2} s \
         ({:.0} names/s); {} messages, {:.0} names each, largest {} octets",
        sent.as_secs_f64(),
        effect.as_secs_f64(),
        f64::from(REMOVALS) / effect.as_secs_f64(),
        report.messages,
        f64::from(REMOVALS) / report.messages as f64,
        report.largest_message,
    );

    // One name at a time: publish, then poll until the server stops delegating it.
    let mut to_return = Vec::with_capacity(TRIALS);
    let mut to_effect = Vec::with_capacity(TRIALS);
    for trial in 0..TRIALS {
        let index = u32::try_from(trial)? * 10 + 5;
        let target = name(index)?;
        let started = Instant::now();
        publish(
            &primary,
            &[DelegationUpdate {
                name: target.clone(),
                delegation: None,
            }],
        )
        .await?;
        to_return.push(started.elapsed());
        wait_until_gone(server, &target).await?;
        to_effect.push(started.elapsed());
    }
    to_return.sort();
    to_effect.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "{label}: one name, {TRIALS} trials: publish returned p50 {:.1} ms; time to effect p50 {:.1} ms, \
         p90 {:.1} ms, max {:.1} ms",
        ms(percentile(&to_return, 0.5)),
        ms(percentile(&to_effect, 0.5)),
        ms(percentile(&to_effect, 0.9)),
        ms(*to_effect.last().ok_or("no trials")?),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `cargo bench` passes `--bench`; a server name narrows the run.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let wanted = |server: &str| only.is_empty() || only.iter().any(|arg| arg == server);

    let dir = tempfile::tempdir()?;
    let zone_file = dir.path().join("demo.zone");
    let started = Instant::now();
    write_zone_file(&zone_file)?;
    println!(
        "zone of {DELEGATIONS} delegations written in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let demo = DomainName::parse("demo")?;
    let key = TsigKey::from_base64(
        DomainName::parse("holdfast-bench")?,
        "q1WZ3+0vW3hR0B8lYjXl5yJ7oV0m2kqv0b0Zb5r2C7Q=",
    )?;

    if wanted("knot") {
        let started = Instant::now();
        let knot = KnotServer::start(&demo, &zone_file, &key)?;
        println!(
            "knot: serving after {:.2} s",
            started.elapsed().as_secs_f64()
        );
        run("knot", knot.addr(), &key).await?;
    }
    if wanted("bind") {
        let started = Instant::now();
        let bind = BindServer::start(&demo, &zone_file, &key)?;
        println!(
            "bind: serving after {:.2} s",
            started.elapsed().as_secs_f64()
        );
        run("bind", bind.addr(), &key).await?;
    }
    Ok(())
}
