//! Actions take effect in real DNS: a TLD of 10,000 delegations imported into Holdfast and
//! loaded by Knot DNS (and once by BIND 9); every action goes through the API, and its effect is
//! checked by asking the server over the network. Also the embedded server, answering from the
//! store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use common::FakeClock;
use holdfast_dns::testing::{BindServer, KnotServer};
use holdfast_dns::{TsigKey, query_delegation, write_zone};
use holdfast_http::{AppState, router};
use holdfast_model::org::{Actor, OrgKind};
use holdfast_model::{Delegation, DomainName, DsRecord, Glue, Soa};
use holdfast_service::{
    Clock, NewOrganisation, NewRegistrarRequest, NewTld, PrimaryRequest, Service,
};
use holdfast_store::Backend;
use holdfast_store::testing::TestStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

const DELEGATIONS: usize = 10_000;
const SECRET: &str = "8FLwXUmBFBV3CbJ3ZxgfuP0gt5j5Ffo9dSlz7OJpU1I=";

fn n(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

fn ds(index: usize) -> DsRecord {
    DsRecord {
        key_tag: u16::try_from(index).unwrap(),
        algorithm: 13,
        digest_type: 2,
        digest: format!("{:064X}", index * 7919 + 1),
    }
}

/// `web00000.test` … : two name servers each, every fourth with a DS record.
fn delegation(index: usize) -> Delegation {
    Delegation {
        name: n(&format!("web{index:05}.test")),
        nameservers: vec![n("ns1.hosting.example"), n("ns2.hosting.example")],
        ds: if index.is_multiple_of(4) {
            vec![ds(index)]
        } else {
            Vec::new()
        },
    }
}

fn zone_file(dir: &std::path::Path) -> std::path::PathBuf {
    let soa = Soa {
        mname: n("ns1.nic.test"),
        rname: n("hostmaster.nic.test"),
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 604_800,
        minimum: 60,
    };
    let glue = [Glue {
        host: n("ns1.nic.test"),
        addresses: vec!["127.0.0.1".parse().unwrap()],
    }];
    let path = dir.join("test.zone");
    let file = std::fs::File::create(&path).unwrap();
    write_zone(
        file,
        &n("test"),
        &soa,
        &[n("ns1.nic.test")],
        (0..DELEGATIONS).map(delegation),
        glue,
        300,
    )
    .unwrap();
    path
}

/// Holdfast with the TLD `test` imported from the same zone file the DNS server loaded.
struct Desk {
    router: Router,
    clock: Arc<FakeClock>,
    analyst: String,
    registrar_token: String,
    registrar: i64,
    _db: TestStore,
}

impl Desk {
    async fn new(
        backend: Backend,
        zone: &std::path::Path,
        primary: Option<SocketAddr>,
    ) -> (Desk, Service) {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        let now = Timestamp::from_second(1_795_000_000).unwrap();
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let admin = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin = service.authenticate(&admin, now).await.unwrap();
        let registry = org(&service, &admin, "Registry", OrgKind::Registry, now).await;
        let registrar_org = org(&service, &admin, "Registrar", OrgKind::Registrar, now).await;
        let tld = service
            .create_tld(
                &admin,
                NewTld {
                    name: "test".into(),
                    org_id: registry,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        let import = service
            .import_zone(
                &admin,
                tld.id,
                std::fs::File::open(zone).unwrap(),
                "test zone",
                now,
            )
            .await
            .unwrap();
        assert_eq!(import.domains, DELEGATIONS as u64);
        service
            .set_sinkhole(
                &admin,
                tld.id,
                &[
                    "sinkhole1.holdfast.example".into(),
                    "sinkhole2.holdfast.example".into(),
                ],
                "",
                now,
            )
            .await
            .unwrap();
        if let Some(server) = primary {
            let request = PrimaryRequest {
                server: server.to_string(),
                tsig_name: "holdfast-key".into(),
                tsig_secret: SECRET.into(),
            };
            service
                .set_dns_primary(&admin, tld.id, Some(request), "", now)
                .await
                .unwrap();
        }
        let mut registrars = Vec::new();
        for (name, org_id, internal) in [
            ("Registrar", Some(registrar_org), false),
            ("Registry's own", None, true),
        ] {
            let registrar = service
                .create_registrar(
                    &admin,
                    NewRegistrarRequest {
                        name: name.into(),
                        iana_id: None,
                        org_id,
                        abuse_email: "abuse@registrar.example".into(),
                        abuse_phone: "+1.5555550100".into(),
                        internal,
                        reason: String::new(),
                    },
                    now,
                )
                .await
                .unwrap();
            registrars.push(registrar.id);
        }
        let csv: String = (0..DELEGATIONS)
            .map(|i| format!("web{i:05}.test,Registrar\n"))
            .collect();
        service
            .assign_sponsors(&admin, tld.id, &csv, "", now)
            .await
            .unwrap();
        let analyst = user(
            &service,
            &admin,
            registry,
            "analyst@registry.example",
            holdfast_model::org::Role::RegistryStaff,
            now,
        )
        .await;
        let registrar_token = user(
            &service,
            &admin,
            registrar_org,
            "staff@registrar.example",
            holdfast_model::org::Role::RegistrarStaff,
            now,
        )
        .await;
        let state = AppState::new(service.clone(), clock.clone());
        let desk = Desk {
            router: router(state),
            clock,
            analyst,
            registrar_token,
            registrar: registrars[0],
            _db: db,
        };
        (desk, service)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::call(&self.router, method, path, Some(token), body).await
    }

    /// Acts and waits until the action is applied and its time to effect measured.
    async fn act(&self, body: Value) -> Value {
        let (status, action) = self
            .call(Method::POST, "/api/v1/actions", &self.analyst, Some(body))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{action}");
        self.settle(action["id"].as_i64().unwrap()).await
    }

    async fn undo(&self, id: &Value) -> Value {
        let path = format!("/api/v1/actions/{id}/undo");
        let (status, action) = self
            .call(
                Method::POST,
                &path,
                &self.analyst,
                Some(json!({ "reason": "undo" })),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{action}");
        self.settle(action["id"].as_i64().unwrap()).await
    }

    async fn settle(&self, id: i64) -> Value {
        common::settle(&self.router, &self.analyst, id, true).await
    }
}

async fn org(service: &Service, admin: &Actor, name: &str, kind: OrgKind, now: Timestamp) -> i64 {
    service
        .create_organisation(
            admin,
            NewOrganisation {
                name: name.into(),
                kind,
                reason: String::new(),
            },
            now,
        )
        .await
        .unwrap()
        .id
}

async fn user(
    service: &Service,
    admin: &Actor,
    org_id: i64,
    email: &str,
    role: holdfast_model::org::Role,
    now: Timestamp,
) -> String {
    let user = service
        .create_user(
            admin,
            org_id,
            holdfast_service::NewUserRequest {
                email: email.into(),
                display_name: email.into(),
                role,
                password: None,
                reason: String::new(),
            },
            now,
        )
        .await
        .unwrap();
    service
        .issue_token(admin, user.id, "test", None, now)
        .await
        .unwrap()
        .token
}

/// What the server publishes for `name` now.
async fn published(server: SocketAddr, name: &str) -> Option<(Vec<DomainName>, Vec<DsRecord>)> {
    query_delegation(server, &n(name), Duration::from_secs(5))
        .await
        .unwrap()
}

fn original(index: usize) -> Option<(Vec<DomainName>, Vec<DsRecord>)> {
    let delegation = delegation(index);
    Some((delegation.nameservers, delegation.ds))
}

fn sinkhole() -> Vec<DomainName> {
    vec![
        n("sinkhole1.holdfast.example"),
        n("sinkhole2.holdfast.example"),
    ]
}

/// The scenario of the issue, against the server at `server` that publishes `test`.
async fn scenario(desk: &Desk, server: SocketAddr) {
    assert_eq!(published(server, "web00004.test").await, original(4));

    // Hold: the delegation disappears.
    let held = desk
        .act(json!({ "kind": "hold", "names": ["web00001.test"], "reason": "malware" }))
        .await;
    assert_eq!(published(server, "web00001.test").await, None);
    assert!(held["effect_ms"].as_i64().unwrap() >= 0);

    // Redirect: sinkhole NS, no DS, in one change; undo brings the original NS and DS back.
    let redirected = desk
        .act(json!({ "kind": "redirect", "names": ["web00004.test"], "reason": "C2" }))
        .await;
    assert_eq!(
        published(server, "web00004.test").await,
        Some((sinkhole(), Vec::new()))
    );
    desk.undo(&redirected["id"]).await;
    assert_eq!(published(server, "web00004.test").await, original(4));

    // Lock: still resolves, while update, transfer and delete are refused.
    desk.act(json!({ "kind": "lock", "names": ["web00008.test"], "reason": "seize" }))
        .await;
    assert_eq!(published(server, "web00008.test").await, original(8));
    for (method, path, body) in [
        (
            Method::PUT,
            "/api/v1/domains/web00008.test/nameservers",
            Some(json!({ "nameservers": ["ns.evil.example"] })),
        ),
        (
            Method::POST,
            "/api/v1/domains/web00008.test/transfer",
            Some(json!({ "to_registrar": desk.registrar })),
        ),
        (Method::DELETE, "/api/v1/domains/web00008.test", None),
    ] {
        let (status, _) = desk.call(method, path, &desk.registrar_token, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}");
    }
    assert_eq!(published(server, "web00008.test").await, original(8));

    // Undo of the hold publishes the delegation again.
    desk.undo(&held["id"]).await;
    assert_eq!(published(server, "web00001.test").await, original(1));

    // Block: check says blocked and creation is refused, until the end date passes.
    let until = desk.clock.now() + SignedDuration::from_hours(24 * 7);
    desk.act(json!({ "kind": "block", "names": ["dga-a1.test"], "reason": "Conficker DGA", "until": until })).await
        .get("id")
        .unwrap();
    let (_, check) = desk
        .call(
            Method::GET,
            "/api/v1/check/dga-a1.test",
            &desk.registrar_token,
            None,
        )
        .await;
    assert_eq!(
        (check["status"].as_str(), check["reason"].as_str()),
        (Some("blocked"), Some("Conficker DGA"))
    );
    let register = json!({ "name": "dga-a1.test", "registrar": desk.registrar, "nameservers": ["ns1.hosting.example"] });
    let (status, _) = desk
        .call(
            Method::POST,
            "/api/v1/domains",
            &desk.registrar_token,
            Some(register.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    *desk.clock.0.lock().unwrap() = until + SignedDuration::from_secs(1);
    let (_, check) = desk
        .call(
            Method::GET,
            "/api/v1/check/dga-a1.test",
            &desk.registrar_token,
            None,
        )
        .await;
    assert_eq!(check["status"], "available");

    // Create: a delegation to the sinkhole appears.
    assert_eq!(published(server, "dga-b2.test").await, None);
    desk.act(json!({ "kind": "create", "names": ["dga-b2.test"], "reason": "sinkhole the DGA", "emergency": true }))
        .await;
    assert_eq!(
        published(server, "dga-b2.test").await,
        Some((sinkhole(), Vec::new()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_take_effect_on_knot_on_both_databases() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_file(dir.path());
    let key = TsigKey::from_base64(n("holdfast-key"), SECRET).unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let knot = KnotServer::start(&n("test"), &zone, &key).unwrap();
        let (desk, service) = Desk::new(backend, &zone, Some(knot.addr())).await;
        let publisher = tokio::spawn(async move { service.run_publisher().await });
        scenario(&desk, knot.addr()).await;
        publisher.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_take_effect_on_bind() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_file(dir.path());
    let key = TsigKey::from_base64(n("holdfast-key"), SECRET).unwrap();
    let bind = BindServer::start(&n("test"), &zone, &key).unwrap();
    let (desk, service) = Desk::new(Backend::Sqlite, &zone, Some(bind.addr())).await;
    let publisher = tokio::spawn(async move { service.run_publisher().await });
    scenario(&desk, bind.addr()).await;
    publisher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_server_answers_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let zone = zone_file(dir.path());
    let (desk, service) = Desk::new(Backend::Sqlite, &zone, None).await;
    let (udp, tcp) = holdfast_dns::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let address = udp.local_addr().unwrap();
    service.set_embedded_dns(address);
    let zones = Arc::new(service.zone_data());
    let server = tokio::spawn(holdfast_dns::serve(udp, tcp, zones, std::future::pending()));
    scenario(&desk, address).await;
    server.abort();
}
