//! The registry's speed targets (issue 3), measured end to end through the API on SQLite:
//! importing a 1,000,000-delegation zone; blocking a list of 1,000,000 names; holding 100,000
//! names of a 1,000,000-name TLD until all are gone from Knot; one action's time to effect on
//! Knot. Run: `cargo bench -p holdfast-http --bench registry` (add `import`, `block`, `hold` or
//! `effect` to run one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use holdfast_dns::testing::KnotServer;
use holdfast_dns::{TsigKey, query_delegation, write_zone};
use holdfast_http::{AppState, router};
use holdfast_model::{Delegation, DomainName, DsRecord, Glue, Soa};
use holdfast_service::{Clock, NewTld, PrimaryRequest, Service};
use holdfast_store::Store;
use jiff::Timestamp;
use serde_json::{Value, json};
use tower::ServiceExt;

const NAMES: usize = 1_000_000;
const SECRET: &str = "8FLwXUmBFBV3CbJ3ZxgfuP0gt5j5Ffo9dSlz7OJpU1I=";

struct Fixed(Timestamp);

impl Clock for Fixed {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn n(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn name(index: usize) -> String {
    format!("site{index:07}.bench")
}

/// 1,000,000 delegations: two NS each, a DS for every fourth, in-zone NS with glue every tenth.
fn zone_file(path: &std::path::Path) {
    let soa = Soa {
        mname: n("ns1.nic.bench"),
        rname: n("hostmaster.nic.bench"),
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 604_800,
        minimum: 60,
    };
    let delegations = (0..NAMES).map(|index| Delegation {
        name: n(&name(index)),
        nameservers: if index % 10 == 0 {
            vec![n(&format!("ns1.{}", name(index))), n("ns2.hosting.example")]
        } else {
            vec![n("ns1.hosting.example"), n("ns2.hosting.example")]
        },
        ds: if index % 4 == 0 {
            vec![DsRecord {
                key_tag: u16::try_from(index % 65_536).unwrap(),
                algorithm: 13,
                digest_type: 2,
                digest: format!("{:064X}", index + 1),
            }]
        } else {
            Vec::new()
        },
    });
    let glue = (0..NAMES).step_by(10).map(|index| Glue {
        host: n(&format!("ns1.{}", name(index))),
        addresses: vec![std::net::IpAddr::from([
            10,
            0,
            (index / 2560 % 256) as u8,
            (index / 10 % 256) as u8,
        ])],
    });
    let file = std::fs::File::create(path).unwrap();
    write_zone(
        file,
        &n("bench"),
        &soa,
        &[n("ns1.nic.bench")],
        delegations,
        glue,
        300,
    )
    .unwrap();
}

fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

/// Holdfast on a fresh SQLite file with the TLD `bench` (empty), an admin token, the router.
struct Bench {
    router: Router,
    service: Service,
    token: String,
    tld: i64,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_data_dir(dir.path()).await.unwrap();
        let service = Service::new(store);
        let now = Timestamp::from_second(1_795_000_000).unwrap();
        let token = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin = service.authenticate(&token, now).await.unwrap();
        let org = service
            .create_organisation(
                &admin,
                holdfast_service::NewOrganisation {
                    name: "Registry".into(),
                    kind: holdfast_model::org::OrgKind::Registry,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        let tld = service
            .create_tld(
                &admin,
                NewTld {
                    name: "bench".into(),
                    org_id: org.id,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        service
            .set_sinkhole(&admin, tld.id, &["ns1.sinkhole.example".into()], "", now)
            .await
            .unwrap();
        let state = AppState::new(service.clone(), Arc::new(Fixed(now)));
        Bench {
            router: router(state),
            service,
            token,
            tld: tld.id,
            _dir: dir,
        }
    }

    async fn send(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> Value {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// Imports the zone as the API does once it has spooled the upload to a file.
    async fn import(&self, zone: &std::path::Path) -> (Duration, holdfast_service::ZoneImport) {
        let admin = self
            .service
            .authenticate(&self.token, Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
        let file = std::fs::File::open(zone).unwrap();
        let started = Instant::now();
        let import = self
            .service
            .import_zone(&admin, self.tld, file, "bench", Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
        (started.elapsed(), import)
    }

    /// Decides an action through the API and waits until every name has its result.
    async fn act(&self, body: Vec<u8>) -> Value {
        let action = self
            .send(Method::POST, "/api/v1/actions", "application/json", body)
            .await;
        let id = action["id"].as_i64().unwrap();
        loop {
            let action = self
                .service
                .action(
                    &self
                        .service
                        .authenticate(&self.token, Timestamp::UNIX_EPOCH)
                        .await
                        .unwrap(),
                    id,
                )
                .await
                .unwrap();
            if action.state != holdfast_service::ActionState::Applying {
                return self
                    .send(
                        Method::GET,
                        &format!("/api/v1/actions/{id}"),
                        "application/json",
                        Vec::new(),
                    )
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn import_bench(zone: &std::path::Path) {
    let bench = Bench::new().await;
    let before = peak_memory_mib();
    let (took, import) = bench.import(zone).await;
    println!(
        "import: {} delegations, {} NS, {} DS, {} glue in {:.2} s; peak memory {:.0} MiB (before import {:.0} MiB)",
        import.domains,
        import.nameservers,
        import.ds,
        import.glue,
        took.as_secs_f64(),
        peak_memory_mib(),
        before
    );
}

async fn block_bench(zone: &std::path::Path) {
    let bench = Bench::new().await;
    bench.import(zone).await;
    // A DGA list as it comes: mostly unregistered names, some registered, some of other TLDs,
    // some invalid, some repeated, in mixed case.
    let names: Vec<String> = (0..NAMES)
        .map(|i| match i % 100 {
            0 => name(i),                           // registered: refused
            1 => format!("dga{i:07}.example"),      // not ours
            2 => format!("bad_{i}..bench"),         // invalid
            3 => format!("DGA{:07}.Bench.", i + 1), // the next name, spelt otherwise
            _ => format!("dga{i:07}.bench"),
        })
        .collect();
    // The request is made before the clock starts (as the hold's): its time is the client's.
    let body = json!({ "kind": "block", "names": names, "reason": "DGA", "until": "2099-01-01T00:00:00Z" })
        .to_string()
        .into_bytes();
    let started = Instant::now();
    let action = bench.act(body).await;
    println!(
        "block: {} names in {:.2} s: {}",
        NAMES,
        started.elapsed().as_secs_f64(),
        action["results"]
    );
}

async fn with_knot(zone: &std::path::Path) -> (Bench, KnotServer, tokio::task::JoinHandle<()>) {
    let key = TsigKey::from_base64(n("holdfast-key"), SECRET).unwrap();
    let started = Instant::now();
    let knot = KnotServer::start(&n("bench"), zone, &key).unwrap();
    eprintln!(
        "Knot serves the zone after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let bench = Bench::new().await;
    bench.import(zone).await;
    eprintln!(
        "imported into Holdfast after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let admin = bench
        .service
        .authenticate(&bench.token, Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let primary = PrimaryRequest {
        server: knot.addr().to_string(),
        tsig_name: "holdfast-key".into(),
        tsig_secret: SECRET.into(),
    };
    bench
        .service
        .set_dns_primary(&admin, bench.tld, Some(primary), "", Timestamp::UNIX_EPOCH)
        .await
        .unwrap();
    let publisher = bench.service.clone();
    let task = tokio::spawn(async move { publisher.run_publisher().await });
    (bench, knot, task)
}

async fn gone(server: SocketAddr, name: &str) -> bool {
    query_delegation(server, &n(name), Duration::from_secs(5))
        .await
        .unwrap()
        .is_none()
}

async fn hold_bench(zone: &std::path::Path) {
    let (bench, knot, publisher) = with_knot(zone).await;
    let names: Vec<String> = (0..100_000).map(|i| name(i * 10 + 1)).collect();
    let last = names.last().unwrap().clone();
    let body = json!({ "kind": "hold", "names": names, "reason": "botnet takedown" })
        .to_string()
        .into_bytes();
    let started = Instant::now();
    let action = bench
        .send(Method::POST, "/api/v1/actions", "application/json", body)
        .await;
    while !gone(knot.addr(), &last).await {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let visible = started.elapsed();
    assert!(gone(knot.addr(), &names[0]).await && gone(knot.addr(), &names[50_000]).await);
    println!(
        "hold: 100,000 of 1,000,000 names, API call to all gone on Knot: {:.2} s (action {})",
        visible.as_secs_f64(),
        action["id"]
    );
    publisher.abort();
}

async fn effect_bench(zone: &std::path::Path) {
    let (bench, _knot, publisher) = with_knot(zone).await;
    let mut times = Vec::new();
    for trial in 0..50 {
        let target = name(trial * 7 + 3);
        let action = bench
            .act(
                json!({ "kind": "hold", "names": [target], "reason": "trial" })
                    .to_string()
                    .into_bytes(),
            )
            .await;
        let id = action["id"].as_i64().unwrap();
        let measured = loop {
            let action = bench
                .send(
                    Method::GET,
                    &format!("/api/v1/actions/{id}"),
                    "application/json",
                    Vec::new(),
                )
                .await;
            if let Some(ms) = action["effect_ms"].as_i64() {
                break ms;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        times.push(measured);
    }
    times.sort_unstable();
    println!(
        "time to effect on Knot, 50 single-name holds: p50 {} ms, p90 {} ms, max {} ms",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1]
    );
    publisher.abort();
}

fn main() {
    // `RUST_LOG=holdfast_service=debug` shows where the time goes (transactions, publishing
    // rounds) with timestamps.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|arg| arg == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("bench.zone");
    zone_file(&zone);
    runtime.block_on(async {
        if wanted("import") {
            import_bench(&zone).await;
        }
        if wanted("block") {
            block_bench(&zone).await;
        }
        if wanted("hold") {
            hold_bench(&zone).await;
        }
        if wanted("effect") {
            effect_bench(&zone).await;
        }
    });
}
