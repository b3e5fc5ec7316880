//! Actions on names through the API, on both databases: every action's effect on the registry,
//! exact undo, bulk results per name, the registration guard, status enforcement, and the waiver
//! gate on creates in a gTLD.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{Method, StatusCode};
use common::FakeClock;
use holdfast_http::{AppState, router};
use holdfast_model::org::{OrgKind, Role};
use holdfast_model::srw::{Coverage, Period, RequesterKind, SrwRequestDraft, WaiverTerms};
use holdfast_model::{ActionKind, DomainName, DsRecord, EppStatus, EppStatusSet};
use holdfast_service::{
    Clock, NewOrganisation, NewRegistrarRequest, NewTld, NewUserRequest, Service,
};
use holdfast_store::Backend;
use holdfast_store::testing::TestStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// A registry running `test` with 50 names `name0.test` … `name49.test` (each with two name
/// servers; the even ones with a DS record), sponsored by `Registrar A`; a second registrar; the
/// operator's internal registrar; two registry analysts; a registrar user.
struct Desk {
    router: Router,
    clock: Arc<FakeClock>,
    db: TestStore,
    tld: i64,
    analyst: String,
    second_analyst: String,
    registrar_user: String,
    registrar_a: i64,
    registrar_b: i64,
    /// The registry operator's own registrar.
    internal: i64,
}

fn name(text: &str) -> DomainName {
    DomainName::parse(text).unwrap()
}

impl Desk {
    async fn new(backend: Backend) -> Desk {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        let now = Timestamp::from_second(1_795_000_000).unwrap();
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let admin = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin = service.authenticate(&admin, now).await.unwrap();
        let org = |name: &str, kind| NewOrganisation {
            name: name.into(),
            kind,
            reason: String::new(),
        };
        let registry = service
            .create_organisation(&admin, org("Registry", OrgKind::Registry), now)
            .await
            .unwrap();
        let registrar_org = service
            .create_organisation(&admin, org("Registrar A Inc", OrgKind::Registrar), now)
            .await
            .unwrap();
        let mut tokens = Vec::new();
        for (org_id, email, role) in [
            (registry.id, "analyst@registry.example", Role::RegistryStaff),
            (registry.id, "second@registry.example", Role::RegistryStaff),
            (
                registrar_org.id,
                "staff@registrar.example",
                Role::RegistrarStaff,
            ),
        ] {
            let user = service
                .create_user(
                    &admin,
                    org_id,
                    NewUserRequest {
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
            tokens.push(
                service
                    .issue_token(&admin, user.id, "test", None, now)
                    .await
                    .unwrap()
                    .token,
            );
        }
        let tld = service
            .create_tld(
                &admin,
                NewTld {
                    name: "test".into(),
                    org_id: registry.id,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        service
            .set_sinkhole(
                &admin,
                tld.id,
                &["ns2.sinkhole.example".into(), "ns1.sinkhole.example".into()],
                "",
                now,
            )
            .await
            .unwrap();
        let mut registrars = Vec::new();
        for (name, org_id, internal) in [
            ("Registrar A", Some(registrar_org.id), false),
            ("Registrar B", None, false),
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
        let names: Vec<DomainName> = (0..50).map(|i| name(&format!("name{i}.test"))).collect();
        let mut tx = db.store.write().await.unwrap();
        tx.insert_domains(tld.id, &names, Some(registrars[0]), EppStatusSet::OK, now)
            .await
            .unwrap();
        let hosts: Vec<(DomainName, DomainName)> = names
            .iter()
            .flat_map(|n| {
                [
                    (n.clone(), name("ns1.host.example")),
                    (n.clone(), name("ns2.host.example")),
                ]
            })
            .collect();
        tx.insert_nameservers(&hosts).await.unwrap();
        let ds: Vec<(DomainName, DsRecord)> = names
            .iter()
            .step_by(2)
            .map(|n| {
                (
                    n.clone(),
                    DsRecord {
                        key_tag: 4242,
                        algorithm: 13,
                        digest_type: 2,
                        digest: "AB".repeat(32),
                    },
                )
            })
            .collect();
        tx.insert_ds(&ds).await.unwrap();
        tx.commit().await.unwrap();
        let state = AppState::new(service, clock.clone());
        Desk {
            router: router(state),
            clock,
            db,
            tld: tld.id,
            analyst: tokens[0].clone(),
            second_analyst: tokens[1].clone(),
            registrar_user: tokens[2].clone(),
            registrar_a: registrars[0],
            registrar_b: registrars[1],
            internal: registrars[2],
        }
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

    /// Decides an action as the analyst and waits until it is applied; returns it.
    async fn act(&self, body: Value) -> Value {
        let (status, action) = self
            .call(
                Method::POST,
                "/api/v1/actions",
                &self.analyst,
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body} → {action}");
        self.settle(action["id"].as_i64().unwrap()).await
    }

    /// Waits until the action is neither applying nor undoing.
    async fn settle(&self, id: i64) -> Value {
        common::settle(&self.router, &self.analyst, id, false).await
    }

    async fn undo(&self, id: i64) -> Value {
        let (status, action) = self
            .call(
                Method::POST,
                &format!("/api/v1/actions/{id}/undo"),
                &self.analyst,
                Some(json!({ "reason": "mistake" })),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{action}");
        self.settle(id).await
    }

    async fn domain(&self, name: &str) -> Value {
        let (status, domain) = self
            .call(
                Method::GET,
                &format!("/api/v1/domains/{name}"),
                &self.analyst,
                None,
            )
            .await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{domain}"
        );
        domain
    }

    async fn names(&self, id: i64) -> Vec<Value> {
        let (_, names) = self
            .call(
                Method::GET,
                &format!("/api/v1/actions/{id}/names?limit=1000"),
                &self.analyst,
                None,
            )
            .await;
        names.as_array().unwrap().clone()
    }

    async fn check(&self, name: &str) -> Value {
        let (status, check) = self
            .call(
                Method::GET,
                &format!("/api/v1/check/{name}"),
                &self.registrar_user,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{check}");
        check
    }
}

fn count(action: &Value, result: &str) -> i64 {
    action["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["result"] == result)
        .map_or(0, |r| r["count"].as_i64().unwrap())
}

fn statuses(domain: &Value) -> Vec<&str> {
    domain["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn lock_and_its_undo_keep_the_statuses_that_were_there() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let locked = desk
            .act(json!({ "kind": "lock", "names": ["name1.test"], "reason": "phishing" }))
            .await;
        assert_eq!(count(&locked, "applied"), 1, "{backend:?} {locked}");
        let mut domain = desk.domain("name1.test").await;
        assert!(statuses(&domain).contains(&"serverUpdateProhibited"));
        desk.undo(locked["id"].as_i64().unwrap()).await;
        domain = desk.domain("name1.test").await;
        assert_eq!(statuses(&domain), ["ok"], "{backend:?}");

        // A name that already had clientTransferProhibited and serverUpdateProhibited keeps both.
        let wanted = ["clientTransferProhibited", "serverUpdateProhibited"];
        set_statuses(&desk, "name2.test", &wanted).await;
        let locked = desk
            .act(json!({ "kind": "lock", "names": ["name2.test"], "reason": "botnet C2" }))
            .await;
        assert_eq!(count(&locked, "applied"), 1);
        desk.undo(locked["id"].as_i64().unwrap()).await;
        let domain = desk.domain("name2.test").await;
        assert_eq!(statuses(&domain), wanted, "{backend:?}");
    }
}

/// Gives a domain statuses as a registrar's EPP session would have: the API has no call that
/// sets client statuses, so the fixture writes them to the store.
async fn set_statuses(desk: &Desk, domain: &str, wanted: &[&str]) {
    let db = &desk.db;
    let mut tx = db.store.write().await.unwrap();
    let name = name(domain);
    let states = tx
        .name_states(
            std::slice::from_ref(&name),
            Timestamp::from_second(1_795_000_000).unwrap(),
        )
        .await
        .unwrap();
    let before = states.get(&name).unwrap().clone();
    let mut after = before.clone();
    let registration = after.registration.as_mut().unwrap();
    registration.statuses =
        EppStatusSet::new(wanted.iter().map(|s| s.parse::<EppStatus>().unwrap())).unwrap();
    let change = holdfast_store::StateChange {
        name: &name,
        tld_id: desk.tld,
        before: &before,
        after: &after,
    };
    let origin = holdfast_store::BlockOrigin {
        action_id: None,
        reason: "",
        requested_by: "",
    };
    tx.write_states(
        &[change],
        origin,
        Timestamp::from_second(1_795_000_000).unwrap(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn every_registered_name_action_changes_the_registry_and_undo_restores_it() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let original = desk.domain("name0.test").await;
        assert_eq!(original["ds"].as_array().unwrap().len(), 1);

        let held = desk
            .act(json!({ "kind": "hold", "names": ["name0.test"], "reason": "malware" }))
            .await;
        assert!(statuses(&desk.domain("name0.test").await).contains(&"serverHold"));
        desk.undo(held["id"].as_i64().unwrap()).await;
        assert_eq!(
            desk.domain("name0.test").await,
            original,
            "{backend:?} hold undo"
        );

        let redirected = desk
            .act(json!({ "kind": "redirect", "names": ["name0.test"], "reason": "sinkhole" }))
            .await;
        let domain = desk.domain("name0.test").await;
        assert_eq!(
            domain["nameservers"],
            json!(["ns1.sinkhole.example", "ns2.sinkhole.example"])
        );
        assert_eq!(domain["ds"], json!([]));
        desk.undo(redirected["id"].as_i64().unwrap()).await;
        assert_eq!(
            desk.domain("name0.test").await,
            original,
            "{backend:?} redirect undo"
        );

        let transferred = desk
            .act(json!({ "kind": "transfer", "names": ["name0.test"], "reason": "court order", "to_registrar": desk.registrar_b }))
            .await;
        assert_eq!(
            desk.domain("name0.test").await["registrar"],
            json!(desk.registrar_b)
        );
        desk.undo(transferred["id"].as_i64().unwrap()).await;
        assert_eq!(
            desk.domain("name0.test").await,
            original,
            "{backend:?} transfer undo"
        );

        // Delete: refused without a legal direction, waits for a second approver, who must be
        // someone else.
        let (status, refused) = desk
            .call(
                Method::POST,
                "/api/v1/actions",
                &desk.analyst,
                Some(json!({ "kind": "delete", "names": ["name0.test"], "reason": "x" })),
            )
            .await;
        assert_eq!(
            (status, refused["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("legal_direction"))
        );
        let (_, proposed) = desk
            .call(Method::POST, "/api/v1/actions", &desk.analyst, Some(json!({ "kind": "delete", "names": ["name0.test"], "reason": "x", "legal_direction": "Order 2026/17 of the court" })))
            .await;
        assert_eq!(proposed["state"], "proposed");
        let id = proposed["id"].as_i64().unwrap();
        let approve = format!("/api/v1/actions/{id}/approve");
        let (status, _) = desk.call(Method::POST, &approve, &desk.analyst, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "the decider cannot approve");
        assert_eq!(
            desk.domain("name0.test").await,
            original,
            "nothing happens before approval"
        );
        let (status, _) = desk
            .call(Method::POST, &approve, &desk.second_analyst, None)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let deleted = desk.settle(id).await;
        assert_eq!(count(&deleted, "applied"), 1);
        assert_eq!(
            desk.domain("name0.test").await["error"]["code"],
            "not_found"
        );
        desk.undo(id).await;
        assert_eq!(
            desk.domain("name0.test").await,
            original,
            "{backend:?} delete undo"
        );
    }
}

#[tokio::test]
async fn a_list_gets_one_result_per_name() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        desk.act(json!({ "kind": "hold", "names": ["name3.test"], "reason": "first" }))
            .await;
        let mut names: Vec<String> = (0..10).map(|i| format!("NAME{i}.test.")).collect();
        names.extend([
            "www.name4.test".into(),    // stands for name4.test, already listed
            "name5.test".into(),        // duplicate
            "unregistered.test".into(), // refused: not registered
            "example.com".into(),       // not ours
            "bad..name".into(),         // invalid
        ]);
        let action = desk
            .act(json!({ "kind": "hold", "names": names, "reason": "botnet" }))
            .await;
        assert_eq!(action["state"], "applied");
        assert_eq!(action["total"], 13, "{backend:?} {action}");
        assert_eq!(count(&action, "applied"), 9);
        assert_eq!(count(&action, "already"), 1);
        assert_eq!(count(&action, "refused"), 1);
        assert_eq!(count(&action, "not-ours"), 1);
        assert_eq!(count(&action, "invalid"), 1);
        let results = desk.names(action["id"].as_i64().unwrap()).await;
        let of = |name: &str| results.iter().find(|r| r["name"] == name).unwrap().clone();
        assert_eq!(of("name3.test")["result"], "already");
        assert!(
            of("unregistered.test")["detail"]
                .as_str()
                .unwrap()
                .contains("not registered")
        );
        assert!(
            of("bad..name")["detail"]
                .as_str()
                .unwrap()
                .contains("empty")
        );
        // Undo releases the nine it held and leaves name3, held by the first action, held.
        desk.undo(action["id"].as_i64().unwrap()).await;
        assert!(statuses(&desk.domain("name3.test").await).contains(&"serverHold"));
        assert_eq!(statuses(&desk.domain("name4.test").await), ["ok"]);
    }
}

#[tokio::test]
async fn a_locked_name_refuses_update_transfer_and_delete() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        desk.act(json!({ "kind": "lock", "names": ["name6.test"], "reason": "seized" }))
            .await;
        for (method, path, body) in [
            (
                Method::PUT,
                "/api/v1/domains/name6.test/nameservers",
                Some(json!({ "nameservers": ["ns.evil.example"] })),
            ),
            (
                Method::POST,
                "/api/v1/domains/name6.test/transfer",
                Some(json!({ "to_registrar": desk.registrar_b })),
            ),
            (Method::DELETE, "/api/v1/domains/name6.test", None),
        ] {
            let (status, error) = desk
                .call(method.clone(), path, &desk.registrar_user, body)
                .await;
            assert_eq!(
                status,
                StatusCode::CONFLICT,
                "{backend:?} {method} {path}: {error}"
            );
            assert!(
                error["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("Prohibited"),
                "{error}"
            );
        }
        // Registry-side actions respect the lock too; the domain still resolves (no hold).
        let redirect = desk
            .act(json!({ "kind": "redirect", "names": ["name6.test"], "reason": "x" }))
            .await;
        assert_eq!(count(&redirect, "refused"), 1);
        let domain = desk.domain("name6.test").await;
        assert_eq!(
            domain["nameservers"],
            json!(["ns1.host.example", "ns2.host.example"])
        );
        assert_eq!(domain["registrar"], json!(desk.registrar_a));
    }
}

#[tokio::test]
async fn blocks_guard_registration_until_they_lift_and_create_goes_to_the_sinkhole() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let now = desk.clock.now();
        let until = now + SignedDuration::from_hours(24 * 30);
        let (status, past) = desk
            .call(Method::POST, "/api/v1/actions", &desk.analyst, Some(json!({ "kind": "block", "names": ["dga1.test"], "reason": "x", "until": now - SignedDuration::from_hours(1) })))
            .await;
        assert_eq!(
            (status, past["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("until"))
        );

        let block = desk
            .act(json!({ "kind": "block", "names": ["dga1.test", "dga2.test", "name7.test"], "reason": "Avalanche DGA", "until": until }))
            .await;
        assert_eq!(
            (count(&block, "applied"), count(&block, "refused")),
            (2, 1),
            "{backend:?} {block}"
        );
        let check = desk.check("dga1.test").await;
        assert_eq!(check["status"], "blocked");
        assert_eq!(check["reason"], "Avalanche DGA");
        assert_eq!(check["until"], json!(until));
        assert_eq!(desk.check("name7.test").await["status"], "registered");
        assert_eq!(desk.check("fresh.test").await["status"], "available");
        assert_eq!(desk.check("fresh.example").await["status"], "not-ours");

        let register = |name: &str| json!({ "name": name, "registrar": desk.registrar_a, "nameservers": ["ns1.host.example"] });
        let (status, refused) = desk
            .call(
                Method::POST,
                "/api/v1/domains",
                &desk.registrar_user,
                Some(register("dga1.test")),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Avalanche DGA")
        );

        // Create registers a blocked name to the internal registrar, delegated to the sinkhole
        // — on a gTLD only under a waiver, or in an emergency that opens a retroactive request.
        let create =
            json!({ "kind": "create", "names": ["dga2.test"], "reason": "sinkhole the C2" });
        let (status, refused) = desk
            .call(
                Method::POST,
                "/api/v1/actions",
                &desk.analyst,
                Some(create.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["field"], "names");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("no valid waiver covers create of dga2.test")
                && message.contains("emergency"),
            "{message}"
        );
        assert_eq!(desk.check("dga2.test").await["status"], "blocked");
        let mut emergency = create.clone();
        emergency["emergency"] = json!(true);
        let created = desk.act(emergency).await;
        assert_eq!(count(&created, "applied"), 1);
        let waiver = created["waiver"].as_str().unwrap();
        let request = waiver.strip_prefix("emergency, srw:").unwrap();
        let (status, request) = desk
            .call(
                Method::GET,
                &format!("/api/v1/srw/{request}"),
                &desk.analyst,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{request}");
        assert_eq!(request["state"], "draft");
        assert_eq!(request["draft"]["action_taken"], true);
        assert_eq!(request["draft"]["names"], json!(["dga2.test"]));
        assert_eq!(request["draft"]["tlds"], json!(["test"]));
        let missing = request["missing"].to_string();
        assert!(
            missing.contains("urgency") && missing.contains("provisions"),
            "{missing}"
        );

        // A waiver of the registry covering the name, the action and today lets a create act,
        // and the action names it; a name it does not list is still refused, saying why.
        let (_, me) = desk
            .call(Method::GET, "/api/v1/me", &desk.analyst, None)
            .await;
        let (org, user) = (me["org_id"].as_i64().unwrap(), me["id"].as_i64().unwrap());
        let now = desk.clock.0.lock().unwrap().to_owned();
        let terms = WaiverTerms {
            tlds: vec![name("test")],
            provisions: vec!["Specification 6".into()],
            actions: vec![ActionKind::Create],
            coverage: Coverage::Names([name("dga3.test")].into()),
            valid: Period {
                start: now - SignedDuration::from_hours(1),
                end: now + SignedDuration::from_hours(24 * 30),
            },
            conditions: Vec::new(),
        };
        let mut tx = desk.db.store.write().await.unwrap();
        let draft = SrwRequestDraft::default();
        let request = tx
            .insert_srw_draft(org, RequesterKind::Registry, user, &draft, now)
            .await
            .unwrap();
        let waiver = tx
            .insert_waiver(org, request, &terms, user, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let covered = desk
            .act(json!({ "kind": "create", "names": ["dga3.test"], "reason": "waiver" }))
            .await;
        assert_eq!(count(&covered, "applied"), 1);
        assert_eq!(covered["waiver"], format!("waiver:{waiver} v1"));
        let (status, refused) = desk
            .call(
                Method::POST,
                "/api/v1/actions",
                &desk.analyst,
                Some(json!({ "kind": "create", "names": ["dga4.test"], "reason": "waiver" })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "waiver {waiver}: dga4.test is not among the waiver's names"
            )),
            "{message}"
        );
        // Taking a name over to the registry's own registrar needs a waiver too; a transfer
        // to another registrar does not.
        let transfer = |to: i64| json!({ "kind": "transfer", "names": ["name5.test"], "to_registrar": to, "reason": "seized" });
        let (status, refused) = desk
            .call(
                Method::POST,
                "/api/v1/actions",
                &desk.analyst,
                Some(transfer(desk.internal)),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no valid waiver covers transfer of name5.test"),
            "{refused}"
        );
        let moved = desk.act(transfer(desk.registrar_b)).await;
        assert_eq!(count(&moved, "applied"), 1);
        assert_eq!(moved["waiver"], Value::Null);
        let domain = desk.domain("dga2.test").await;
        assert_eq!(
            domain["nameservers"],
            json!(["ns1.sinkhole.example", "ns2.sinkhole.example"])
        );

        // The end date passes: the block lifts by itself, and the name can be registered.
        *desk.clock.0.lock().unwrap() = until + SignedDuration::from_secs(1);
        assert_eq!(desk.check("dga1.test").await["status"], "available");
        let (status, created) = desk
            .call(
                Method::POST,
                "/api/v1/domains",
                &desk.registrar_user,
                Some(register("dga1.test")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?} {created}");
    }
}

#[tokio::test]
async fn a_block_passes_over_blocked_and_registered_names_and_renews_an_ended_one() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let now = desk.clock.now();
        let days = |n: i64| now + SignedDuration::from_hours(24 * n);
        let first = desk
            .act(json!({ "kind": "block", "names": ["dga1.test"], "reason": "first", "until": days(10) }))
            .await;
        assert_eq!(count(&first, "applied"), 1, "{backend:?} {first}");

        // New names are blocked; one blocked already keeps its block; a registered one is
        // refused — in one list.
        let second = desk
            .act(json!({ "kind": "block", "names": ["dga1.test", "dga5.test", "name7.test", "dga6.test"], "reason": "second", "until": days(20) }))
            .await;
        assert_eq!(
            (
                count(&second, "applied"),
                count(&second, "already"),
                count(&second, "refused")
            ),
            (2, 1, 1),
            "{backend:?} {second}"
        );
        let dga1 = desk.check("dga1.test").await;
        assert_eq!(
            (dga1["reason"].as_str(), &dga1["until"]),
            (Some("first"), &json!(days(10)))
        );
        let dga5 = desk.check("dga5.test").await;
        assert_eq!(
            (dga5["reason"].as_str(), &dga5["until"]),
            (Some("second"), &json!(days(20)))
        );

        // The first block ends (and is not lifted yet): blocking the name again replaces it.
        *desk.clock.0.lock().unwrap() = days(11);
        assert_eq!(desk.check("dga1.test").await["status"], "available");
        let third = desk
            .act(json!({ "kind": "block", "names": ["dga1.test", "dga7.test"], "reason": "third", "until": days(30) }))
            .await;
        assert_eq!(count(&third, "applied"), 2, "{backend:?} {third}");
        let dga1 = desk.check("dga1.test").await;
        assert_eq!(
            (dga1["reason"].as_str(), &dga1["until"]),
            (Some("third"), &json!(days(30)))
        );

        // Undo takes off only what each action blocked.
        desk.undo(second["id"].as_i64().unwrap()).await;
        assert_eq!(desk.check("dga5.test").await["status"], "available");
        assert_eq!(desk.check("dga1.test").await["status"], "blocked");
        desk.undo(third["id"].as_i64().unwrap()).await;
        for name in ["dga1.test", "dga7.test"] {
            assert_eq!(
                desk.check(name).await["status"],
                "available",
                "{backend:?} {name}"
            );
        }
    }
}

/// The audit log's length, as the analyst sees it.
async fn audit_len(desk: &Desk) -> usize {
    let (status, entries) = desk
        .call(Method::GET, "/api/v1/audit?limit=1000", &desk.analyst, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().len()
}

async fn preview(desk: &Desk, body: Value) -> Value {
    let (status, preview) = desk
        .call(
            Method::POST,
            "/api/v1/actions/preview",
            &desk.analyst,
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body} → {preview}");
    preview
}

fn preview_count(preview: &Value, result: &str) -> i64 {
    count(preview, result)
}

#[tokio::test]
async fn a_preview_shows_each_names_effect_and_the_approvals_and_changes_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        set_statuses(
            &desk,
            "name2.test",
            &["clientTransferProhibited", "serverTransferProhibited"],
        )
        .await;
        let before = desk.domain("name2.test").await;
        let audited = audit_len(&desk).await;

        // A lock on a name that has a transfer lock already: only the statuses it adds.
        let lock = preview(
            &desk,
            json!({ "kind": "lock", "names": ["name2.test", "NAME2.test.", "www.name2.test"], "reason": "seized" }),
        )
        .await;
        assert_eq!(lock["total"], 1, "{lock}");
        assert_eq!(lock["names"][0]["result"], "changes");
        let mut added: Vec<&str> = lock["names"][0]["effect"]["added_statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        added.sort_unstable();
        assert_eq!(
            added,
            ["serverDeleteProhibited", "serverUpdateProhibited"],
            "{backend:?}"
        );
        assert_eq!(lock["approvals"], json!([]));
        assert_eq!(lock["problems"], json!([]));
        // Nothing changed: the name, the audit log, the actions.
        assert_eq!(desk.domain("name2.test").await, before);
        assert_eq!(audit_len(&desk).await, audited);
        let (_, actions) = desk
            .call(Method::GET, "/api/v1/actions", &desk.analyst, None)
            .await;
        assert_eq!(actions, json!([]));

        // A redirect: old → sinkhole name servers, the DS removed; another TLD is not ours,
        // a locked name is refused with the reason, nonsense is invalid.
        set_statuses(&desk, "name3.test", &["serverUpdateProhibited"]).await;
        let redirect = preview(
            &desk,
            json!({ "kind": "redirect", "names": ["name4.test", "evil.example", "name3.test", "-bad-"], "reason": "C2" }),
        )
        .await;
        let names = redirect["names"].as_array().unwrap();
        assert_eq!(names[0]["name"], "name4.test");
        assert_eq!(
            names[0]["effect"]["nameservers"],
            json!({ "before": ["ns1.host.example", "ns2.host.example"], "after": ["ns1.sinkhole.example", "ns2.sinkhole.example"] })
        );
        assert_eq!(names[0]["effect"]["ds"]["after"], json!([]));
        assert_eq!(names[0]["effect"]["ds"]["before"][0]["key_tag"], 4242);
        assert_eq!(names[1]["name"], "evil.example");
        assert_eq!(names[1]["result"], "not-ours");
        assert!(
            names[1]["detail"]
                .as_str()
                .unwrap()
                .contains(".example is not one you run")
        );
        assert_eq!(names[2]["result"], "refused");
        assert!(
            names[2]["detail"]
                .as_str()
                .unwrap()
                .contains("locked (serverUpdateProhibited)"),
            "{redirect}"
        );
        assert_eq!(names[3]["result"], "invalid");
        for (result, n) in [
            ("changes", 1),
            ("not-ours", 1),
            ("refused", 1),
            ("invalid", 1),
            ("already", 0),
        ] {
            assert_eq!(preview_count(&redirect, result), n, "{result}: {redirect}");
        }

        // A delete needs a second approver and a documented direction.
        let delete = preview(
            &desk,
            json!({ "kind": "delete", "names": ["name6.test"], "reason": "court" }),
        )
        .await;
        let needs: Vec<(&str, bool)> = delete["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["need"].as_str().unwrap(), a["met"].as_bool().unwrap()))
            .collect();
        assert_eq!(
            needs,
            [("second-approver", false), ("legal-direction", false)]
        );
        assert_eq!(delete["problems"][0]["field"], "legal_direction");
        let delete = preview(
            &desk,
            json!({ "kind": "delete", "names": ["name6.test"], "reason": "court", "legal_direction": "Order 17/2026" }),
        )
        .await;
        assert_eq!(delete["approvals"][1]["met"], true);
        assert_eq!(delete["problems"], json!([]));
        assert!(delete["names"][0]["effect"]["deleted"].is_object());

        // A create in the gTLD .test without a waiver: deciding would be refused, and why.
        let create = preview(
            &desk,
            json!({ "kind": "create", "names": ["dga9.test"], "reason": "DGA" }),
        )
        .await;
        assert_eq!(create["approvals"][0]["need"], "waiver");
        assert_eq!(create["approvals"][0]["met"], false);
        assert_eq!(create["problems"][0]["field"], "names");
        let why = create["problems"][0]["message"].as_str().unwrap();
        assert!(
            why.contains("no valid waiver covers create of dga9.test in the gTLD .test")
                && why.contains("the registry holds no waiver"),
            "{why}"
        );
        // A bad choice is refused as deciding would refuse it, naming the field.
        let (status, refused) = desk
            .call(
                Method::POST,
                "/api/v1/actions/preview",
                &desk.analyst,
                Some(json!({ "kind": "block", "names": ["x.test"], "reason": "x" })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused["error"]["field"], "until");
        // A registrar may not preview what it may not decide.
        let (status, _) = desk
            .call(
                Method::POST,
                "/api/v1/actions/preview",
                &desk.registrar_user,
                Some(json!({ "kind": "hold", "names": ["name1.test"], "reason": "x" })),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(desk.domain("name2.test").await, before);
        assert_eq!(audit_len(&desk).await, audited);
    }
}

/// A page's status, `Location` and HTML, signed in as `token`, with a form body if any.
async fn page(
    desk: &Desk,
    path: &str,
    token: &str,
    form: Option<&str>,
) -> (StatusCode, String, String) {
    common::form_page(&desk.router, path, token, form).await
}

/// The value of hidden field `name` in the part of `html` from `from` on.
fn hidden_after(html: &str, from: &str, name: &str) -> String {
    let html = &html[html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in {html}"))..];
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_bulk_page_previews_then_decides_once_however_often_the_form_is_sent() {
    let desk = Desk::new(Backend::Sqlite).await;
    let (_, _, html) = page(&desk, "/desk/actions", &desk.analyst, None).await;
    assert!(html.contains("action=\"/desk/actions/preview\""));
    let csrf = hidden_after(&html, "<form", "csrf");
    let audited = audit_len(&desk).await;
    let form = format!(
        "csrf={csrf}&once=&kind=redirect&reason=C2+%3Cb%3E&names=name8.test%0Aevil.example%0A%3Cscript%3E.test"
    );
    let (status, _, html) = page(&desk, "/desk/actions/preview", &desk.analyst, Some(&form)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(
            "<p id=\"preview-counts\">3 names: 1 would change, 1 not ours, 1 invalid</p>"
        ),
        "{html}"
    );
    assert!(html.contains(
        "name servers: ns1.host.example, ns2.host.example → ns1.sinkhole.example, ns2.sinkhole.example<br>DS removed: key tag 4242 (algorithm 13)"
    ), "{html}");
    assert!(html.contains("<td>evil.example</td><td>not ours</td>"));
    assert!(!html.contains("<script>") && html.contains("&#60;script&#62;.test"));
    // The form below keeps what was typed; the preview decided nothing.
    assert!(html.contains("C2 &#60;b&#62;</textarea>"));
    assert_eq!(audit_len(&desk).await, audited);
    assert_eq!(
        desk.domain("name8.test").await["nameservers"][0],
        "ns1.host.example"
    );
    // A forged preview is refused.
    let (status, _, _) = page(
        &desk,
        "/desk/actions/preview",
        &desk.analyst,
        Some("csrf=x&kind=hold&names=name8.test&reason=x"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Decide sends the same fields under a fresh one-time token; sent again, it does nothing.
    let start = html
        .find("<form method=\"post\" action=\"/desk/actions\">")
        .expect("a Decide form");
    let decide_form = &html[start..start + html[start..].find("</form>").unwrap()];
    assert!(decide_form.contains("<button type=\"submit\">Decide</button>"));
    let fields: Vec<(String, String)> = decide_form
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once("\" value=\"").unwrap();
            let value = rest.split('"').next().unwrap();
            let value = value
                .replace("&#60;", "<")
                .replace("&#62;", ">")
                .replace("&#10;", "\n")
                .replace("&#38;", "&")
                .replace("&#34;", "\"")
                .replace("&#39;", "'");
            (name.to_owned(), value)
        })
        .collect();
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let (status, location, _) = page(&desk, "/desk/actions", &desk.analyst, Some(&body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(location.starts_with("/desk/actions/"), "{location}");
    let (status, again, _) = page(&desk, "/desk/actions", &desk.analyst, Some(&body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(again, "/desk/actions?done=repeat");
    let (_, actions) = desk
        .call(Method::GET, "/api/v1/actions", &desk.analyst, None)
        .await;
    let actions = actions.as_array().unwrap();
    assert_eq!(
        actions.len(),
        1,
        "one action however often the form is sent"
    );
    assert_eq!(actions[0]["reason"], "C2 <b>");
    assert_eq!(actions[0]["total"], 3);
    let done = desk.settle(actions[0]["id"].as_i64().unwrap()).await;
    assert_eq!(count(&done, "applied"), 1);
    assert_eq!(
        desk.domain("name8.test").await["nameservers"][0],
        "ns1.sinkhole.example"
    );
}
