//! The case desk's speed targets (issue 4), on SQLite:
//! - `names`: one report listing 1,000,000 names, sent as a bulk file through the API: accepted,
//!   normalised, classified by TLD and stored; time and peak memory of the process.
//! - `intake`: reports per second over real HTTP from a load generator (`wrk`, Debian package
//!   `wrk`) on the same machine, one small report per request, with its latency percentiles.
//!
//! Run: `cargo bench -p holdfast-http --bench desk` (add `names` or `intake` to run one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request};
use holdfast_http::{AppState, router};
use holdfast_model::org::{OrgKind, Role};
use holdfast_service::{Clock, NewOrganisation, NewTld, NewUserRequest, Service};
use holdfast_store::Store;
use jiff::Timestamp;
use tower::ServiceExt;

const NAMES: usize = 1_000_000;

/// The system clock: the intake bench runs in real time.
struct Wall;

impl Clock for Wall {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
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

/// A registry with the TLDs `bench` and `test`, and a reporter's token.
async fn desk(dir: &std::path::Path) -> (Service, String) {
    let store = Store::open_data_dir(dir).await.unwrap();
    let service = Service::new(store);
    let now = Wall.now();
    let token = service.bootstrap(now).await.unwrap().unwrap().token;
    let admin = service.authenticate(&token, now).await.unwrap();
    let mut orgs = Vec::new();
    for (name, kind) in [("Registry", OrgKind::Registry), ("CERT", OrgKind::Reporter)] {
        let org = NewOrganisation {
            name: name.into(),
            kind,
            reason: String::new(),
        };
        orgs.push(
            service
                .create_organisation(&admin, org, now)
                .await
                .unwrap()
                .id,
        );
    }
    for tld in ["bench", "test"] {
        let new = NewTld {
            name: tld.into(),
            org_id: orgs[0],
            reason: String::new(),
        };
        service.create_tld(&admin, new, now).await.unwrap();
    }
    let user = NewUserRequest {
        email: "soc@cert.example".into(),
        display_name: "SOC".into(),
        role: Role::Reporter,
        password: None,
        reason: String::new(),
    };
    let user = service
        .create_user(&admin, orgs[1], user, now)
        .await
        .unwrap();
    let token = service
        .issue_token(&admin, user.id, "bench", None, now)
        .await;
    (service, token.unwrap().token)
}

async fn names_bench() {
    let dir = tempfile::tempdir().unwrap();
    let (service, token) = desk(dir.path()).await;
    let router = router(AppState::new(service, Arc::new(Wall)));
    // 90% in the registry's TLDs (some as U-labels or with www.), 9% elsewhere, 1% invalid.
    let mut file = String::with_capacity(NAMES * 24);
    for index in 0..NAMES {
        let line = match index % 100 {
            0 => format!("bad..name{index}\n"),
            1..=9 => format!("dga{index:07}.example.org\n"),
            10..=14 => format!("www.DGA{index:07}.Bench.\n"),
            15 => format!("bücher{index:07}.test\n"),
            _ => format!("dga{index:07}.bench\n"),
        };
        file.push_str(&line);
    }
    let before = peak_memory_mib();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/reports/bulk?threat_type=botnet_cc&description=DGA")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/plain")
        .body(Body::from(file))
        .unwrap();
    let started = Instant::now();
    let response = router.oneshot(request).await.unwrap();
    let took = started.elapsed();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(
        status.is_success(),
        "{status} {}",
        String::from_utf8_lossy(&bytes)
    );
    println!(
        "names: a report of {NAMES} names accepted in {:.2} s: {}; peak memory {:.0} MiB \
         (before the request {before:.0} MiB, the file itself included)",
        took.as_secs_f64(),
        String::from_utf8_lossy(&bytes),
        peak_memory_mib(),
    );
}

const WRK_SCRIPT: &str = r#"
counter = 0
request = function()
  counter = counter + 1
  local name = "phish-" .. counter .. "-" .. math.random(1, 1000000000) .. ".bench"
  local body = '{"threat_type":"phishing","description":"kit","names":["' .. name .. '"],"urls":["https://' .. name .. '/login"]}'
  return wrk.format("POST", "/api/v1/reports", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer TOKEN"}, body)
end
"#;

async fn intake_bench() {
    if Command::new("wrk").arg("--version").output().is_err() {
        println!("intake: skipped — install the load generator: apt-get install wrk");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (service, token) = desk(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let state = AppState::new(service.clone(), Arc::new(Wall));
    tokio::spawn(holdfast_http::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let script = dir.path().join("report.lua");
    std::fs::write(&script, WRK_SCRIPT.replace("TOKEN", &token)).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t2", "-c16", "-d15s", "--latency", "-s"])
            .arg(&script)
            .arg(format!("http://{address}"))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = |prefix: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(prefix))
            .map_or_else(
                || format!("({prefix} missing)"),
                |line| line.trim().to_owned(),
            )
    };
    println!(
        "intake: wrk -t2 -c16 -d15s, one report per request: {}; latency {} {} {}; {}",
        line("Requests/sec:"),
        line("50%"),
        line("90%"),
        line("99%"),
        line("Non-2xx").replace("Non-2xx or 3xx responses:", "non-2xx:")
    );
    let reporter = service.authenticate(&token, Wall.now()).await.unwrap();
    let stored = service.my_reports(&reporter).await.unwrap().len();
    println!("intake: {stored} reports stored");
}

fn main() {
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|arg| arg == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if wanted("names") {
            names_bench().await;
        }
        if wanted("intake") {
            intake_bench().await;
        }
    });
}
