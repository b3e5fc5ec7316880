//! The case desk through the API, on both databases: reports from each kind of source grouped
//! into cases, clocks on the registry's calendar with reminders and breaches (fake clock across
//! a weekend), the case's steps and messages, referrals answered by the registrar, actions from
//! a case, merge and split, bulk name files, evidence, hostile content and the public limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::FakeClock;
use holdfast_http::{AppState, router};
use holdfast_model::org::{OrgKind, Role};
use holdfast_model::{DomainName, EppStatusSet};
use holdfast_service::{
    Clock, NewOrganisation, NewRegistrarRequest, NewTld, NewUserRequest, Service,
};
use holdfast_store::Backend;
use holdfast_store::testing::TestStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A registry running `test` (names `name0.test` … `name19.test`, sponsored by Registrar A,
/// whose organisation has a user), with a desk on the Brussels calendar; a reporter from
/// verified law enforcement and one from the public.
struct Desk {
    router: Router,
    service: Service,
    clock: Arc<FakeClock>,
    _db: TestStore,
    registry: i64,
    tld: i64,
    admin: String,
    analyst: String,
    registrar_user: String,
    police: String,
    citizen: String,
}

/// Friday 4 December 2026, 10:00 in Brussels.
fn friday() -> Timestamp {
    "2026-12-04T09:00:00Z".parse().unwrap()
}

impl Desk {
    async fn new(backend: Backend) -> Desk {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        let now = friday();
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let admin = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin = service.authenticate(&admin, now).await.unwrap();
        let org = |name: &str, kind| NewOrganisation {
            name: name.into(),
            kind,
            reason: String::new(),
        };
        let mut orgs = Vec::new();
        for (name, kind) in [
            ("Registry", OrgKind::Registry),
            ("Registrar A Inc", OrgKind::Registrar),
            ("Federal Police", OrgKind::Reporter),
            ("Public", OrgKind::Reporter),
        ] {
            orgs.push(
                service
                    .create_organisation(&admin, org(name, kind), now)
                    .await
                    .unwrap()
                    .id,
            );
        }
        let mut tokens = Vec::new();
        for (org_id, email, role) in [
            (orgs[0], "analyst@registry.example", Role::RegistryStaff),
            (orgs[1], "staff@registrar.example", Role::RegistrarStaff),
            (orgs[2], "officer@police.example", Role::Reporter),
            (orgs[3], "citizen@mail.example", Role::Reporter),
        ] {
            let request = NewUserRequest {
                email: email.into(),
                display_name: email.into(),
                role,
                password: None,
                reason: String::new(),
            };
            let user = service
                .create_user(&admin, org_id, request, now)
                .await
                .unwrap();
            let token = service
                .issue_token(&admin, user.id, "test", None, now)
                .await;
            tokens.push(token.unwrap().token);
        }
        let tld = service
            .create_tld(
                &admin,
                NewTld {
                    name: "test".into(),
                    org_id: orgs[0],
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        let registrar = service
            .create_registrar(
                &admin,
                NewRegistrarRequest {
                    name: "Registrar A".into(),
                    iana_id: Some(9001),
                    org_id: Some(orgs[1]),
                    abuse_email: "abuse@registrar.example".into(),
                    abuse_phone: "+1.5555550100".into(),
                    internal: false,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        let names: Vec<DomainName> = (0..20)
            .map(|i| DomainName::parse(&format!("name{i}.test")).unwrap())
            .collect();
        let mut tx = db.store.write().await.unwrap();
        tx.insert_domains(tld.id, &names, Some(registrar.id), EppStatusSet::OK, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let state = AppState::new(service.clone(), clock.clone());
        let mut desk = Desk {
            router: router(state),
            service,
            clock,
            _db: db,
            registry: orgs[0],
            tld: tld.id,
            admin: String::new(),
            analyst: tokens[0].clone(),
            registrar_user: tokens[1].clone(),
            police: tokens[2].clone(),
            citizen: tokens[3].clone(),
        };
        let admin_token = desk
            .service
            .issue_token(&admin, admin.user_id, "test", None, now)
            .await
            .unwrap()
            .token;
        desk.admin = admin_token.clone();
        let verify = json!({ "reason": "liaison officer's call, badge checked" });
        let path = format!("/api/v1/organisations/{}/verify-lea", orgs[2]);
        let (status, body) = desk
            .call(Method::POST, &path, &admin_token, Some(verify))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let calendar = json!({ "time_zone": "Europe/Brussels", "holidays": ["2026-12-25"] });
        let path = format!("/api/v1/organisations/{}/calendar", orgs[0]);
        let (status, body) = desk
            .call(Method::PUT, &path, &desk.analyst, Some(calendar))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let settings =
            json!({ "acknowledge_minutes": 60, "desk_address": "abuse@registry.example" });
        let path = format!("/api/v1/desks/{}", orgs[0]);
        let (status, body) = desk
            .call(Method::PUT, &path, &desk.analyst, Some(settings))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        desk
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

    /// Files a report as `token` and returns the receipt.
    async fn report(&self, token: &str, body: Value) -> Value {
        let (status, receipt) = self
            .call(Method::POST, "/api/v1/reports", token, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body} → {receipt}");
        receipt
    }

    async fn case(&self, id: i64) -> Value {
        let path = format!("/api/v1/cases/{id}");
        let (status, case) = self.call(Method::GET, &path, &self.analyst, None).await;
        assert_eq!(status, StatusCode::OK, "{case}");
        case
    }

    async fn step(&self, id: i64, body: Value) -> (StatusCode, Value) {
        let path = format!("/api/v1/cases/{id}/steps");
        self.call(Method::POST, &path, &self.analyst, Some(body))
            .await
    }

    fn advance(&self, by: SignedDuration) -> Timestamp {
        let mut now = self.clock.0.lock().unwrap();
        *now = now.checked_add(by).unwrap();
        *now
    }
}

fn clock<'a>(case: &'a Value, name: &str) -> &'a Value {
    case["clocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|clock| clock["clock"] == name)
        .unwrap_or_else(|| panic!("no {name} clock in {case}"))
}

fn events(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["event"].as_str().unwrap(),
                m["recipient"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_case_from_reports_to_closure_on_the_registry_calendar() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let received = desk.clock.now();

        // Law enforcement reports: names normalised, URL hosts counted, strangers kept.
        let receipt = desk
            .report(
                &desk.police,
                json!({ "threat_type": "phishing", "description": "bank phishing kit",
                        "names": ["Name1.TEST", "www.name2.test", "evil.other", "bad..name"],
                        "urls": ["https://name3.test/login?x=1"],
                        "requested_action": "hold", "claimed_urgency": "high" }),
            )
            .await;
        assert_eq!(receipt["source_class"], "lea", "{backend:?} {receipt}");
        assert_eq!(
            (receipt["names"].as_i64(), receipt["ours"].as_i64()),
            (Some(5), Some(3))
        );
        assert_eq!(receipt["not_ours"], 1);
        assert_eq!(receipt["invalid"], 1);
        let case_id = receipt["case_id"].as_i64().unwrap();
        let police_report = receipt["report_id"].as_i64().unwrap();

        // A second report on a shared name joins the case; another name opens a new one.
        let joined = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "phishing", "names": ["name2.test"] }),
            )
            .await;
        assert_eq!(joined["case_id"], case_id);
        assert_eq!(joined["source_class"], "other");
        let other = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "malware", "names": ["name9.test"] }),
            )
            .await;
        assert_ne!(other["case_id"], case_id);

        // Reporters see only their own reports; they cannot see the queue.
        let path = format!("/api/v1/reports/{police_report}");
        let (status, _) = desk.call(Method::GET, &path, &desk.citizen, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = desk
            .call(Method::GET, "/api/v1/cases", &desk.police, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, mine) = desk
            .call(Method::GET, "/api/v1/reports", &desk.citizen, None)
            .await;
        assert_eq!(mine.as_array().unwrap().len(), 2);

        // The acknowledgment clock: one hour, elapsed. Reminder at 45 minutes, breach after.
        let case = desk.case(case_id).await;
        let ack = clock(&case, "acknowledge");
        let due: Timestamp = ack["due"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            due,
            received.checked_add(SignedDuration::from_hours(1)).unwrap()
        );
        desk.advance(SignedDuration::from_mins(46));
        let tick = desk.service.tick(desk.clock.now()).await.unwrap();
        assert_eq!((tick.reminded, tick.breached), (2, 0), "{backend:?}");
        // The deadlines live in the database: a new service over the same store (a restart)
        // finds the breach.
        desk.advance(SignedDuration::from_mins(15));
        let restarted = Service::new(desk._db.store.clone());
        let tick = restarted.tick(desk.clock.now()).await.unwrap();
        assert_eq!(tick.breached, 2, "{backend:?}");
        let case = desk.case(case_id).await;
        assert_eq!(clock(&case, "acknowledge")["standing"], "breached");
        let (_, queue) = desk
            .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
            .await;
        assert_eq!(queue.as_array().unwrap().len(), 2);
        let path = format!("/api/v1/cases?tld={}&threat_type=malware", desk.tld);
        let (_, filtered) = desk.call(Method::GET, &path, &desk.analyst, None).await;
        assert_eq!(filtered.as_array().unwrap().len(), 1, "{filtered}");
        assert_eq!(filtered[0]["case"]["id"], other["case_id"]);
        assert!(
            queue.as_array().unwrap().iter().all(|c| c["breaches"] == 1),
            "{queue}"
        );
        let (_, settings) = desk
            .call(
                Method::GET,
                &format!("/api/v1/desks/{}", desk.registry),
                &desk.analyst,
                None,
            )
            .await;
        assert_eq!(settings["breaches"], 2);

        // Acknowledge: the clock is met late (the breach stays counted); both reporters are told.
        let (status, acked) = desk.step(case_id, json!({ "step": "acknowledge" })).await;
        assert_eq!(status, StatusCode::OK, "{acked}");
        let (status, again) = desk.step(case_id, json!({ "step": "acknowledge" })).await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        let case = desk.case(case_id).await;
        assert_eq!(clock(&case, "acknowledge")["standing"], "met_late");
        let assess_due: Timestamp = clock(&case, "assess")["due"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            assess_due,
            desk.clock
                .now()
                .checked_add(SignedDuration::from_hours(24))
                .unwrap()
        );
        let sent = events(&case["messages"]);
        for expected in [
            "reminder:abuse@registry.example",
            "breach:abuse@registry.example",
            "acknowledgment:officer@police.example",
            "acknowledgment:citizen@mail.example",
        ] {
            assert!(
                sent.iter().any(|e| e == expected),
                "{expected} not in {sent:?}"
            );
        }

        // Assess: the rationale is required, and named when missing.
        let assess = json!({ "step": "assess", "priority": "high", "priority_rationale": " ",
            "threat_type": "phishing", "responsible_party": "registrar",
            "course_of_action": "refer to the registrar, hold if no answer",
            "timeline": "within two business days" });
        let (status, error) = desk.step(case_id, assess.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["error"]["field"], "priority_rationale", "{error}");
        let mut assess = assess;
        assess["priority_rationale"] = json!("customers of a national bank are phished now");
        let (status, assessed) = desk.step(case_id, assess).await;
        assert_eq!(status, StatusCode::OK, "{assessed}");
        assert_eq!(assessed["priority"], "high");

        // The reporter sees the state and the answers, in their own report.
        let path = format!("/api/v1/reports/{police_report}");
        let (status, view) = desk.call(Method::GET, &path, &desk.police, None).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        assert_eq!(view["case_state"], "assessed");
        let answers: Vec<&str> = view["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["event"].as_str().unwrap())
            .collect();
        assert_eq!(answers, ["acknowledgment", "assessment"]);
        let assessment = &view["answers"][1]["body"];
        assert!(
            assessment
                .as_str()
                .unwrap()
                .contains("within two business days")
        );

        // Refer from the case, on a Friday: the registrar has until Tuesday, same time.
        let path = format!("/api/v1/cases/{case_id}/actions");
        let refer = json!({ "kind": "refer", "reason": "registrar's customer" });
        let (status, action) = desk
            .call(Method::POST, &path, &desk.analyst, Some(refer))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{action}");
        let refer_at = desk.clock.now();
        let (_, referrals) = desk
            .call(Method::GET, "/api/v1/referrals", &desk.registrar_user, None)
            .await;
        let referral = &referrals[0];
        let mut names: Vec<&str> = referral["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["name1.test", "name2.test", "name3.test"],
            "{backend:?}"
        );
        let due: Timestamp = referral["due"].as_str().unwrap().parse().unwrap();
        let local = refer_at.in_tz("Europe/Brussels").unwrap();
        assert_eq!(local.weekday(), jiff::civil::Weekday::Friday);
        assert_eq!(
            due.in_tz("Europe/Brussels").unwrap().date(),
            jiff::civil::date(2026, 12, 8),
            "two business days from Friday is Tuesday"
        );
        let case = desk.case(case_id).await;
        assert_eq!(case["case"]["state"], "action_decided");
        let referral_mail = case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["event"] == "referral")
            .unwrap();
        assert_eq!(referral_mail["recipient"], "abuse@registrar.example");
        assert!(
            referral_mail["body"]
                .as_str()
                .unwrap()
                .contains("bank phishing kit")
        );
        // Other registrars and other roles see nothing of it.
        let (status, _) = desk
            .call(Method::GET, "/api/v1/referrals", &desk.police, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The registrar answers in place; the referral clock stops.
        let path = format!("/api/v1/referrals/{}/answer", referral["id"]);
        let answer = json!({ "answer": "suspended name1 and name2; name3 is a compromised site" });
        let (status, answered) = desk
            .call(Method::POST, &path, &desk.registrar_user, Some(answer))
            .await;
        assert_eq!(status, StatusCode::OK, "{answered}");
        let case = desk.case(case_id).await;
        assert_eq!(clock(&case, "referral")["standing"], "met");

        // The registry acts anyway on one name; the worker marks the case mitigated.
        let path = format!("/api/v1/cases/{case_id}/actions");
        let hold = json!({ "kind": "hold", "names": ["name3.test"], "reason": "still phishing" });
        let (status, action) = desk
            .call(Method::POST, &path, &desk.analyst, Some(hold))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{action}");
        common::settle(
            &desk.router,
            &desk.analyst,
            action["id"].as_i64().unwrap(),
            false,
        )
        .await;
        let tick = desk.service.tick(desk.clock.now()).await.unwrap();
        assert_eq!(tick.mitigated, 1, "{backend:?}");
        let case = desk.case(case_id).await;
        assert_eq!(case["case"]["state"], "mitigated");
        assert_eq!(case["actions"].as_array().unwrap().len(), 2);
        assert_eq!(case["actions"][1]["kind"], "hold");

        let (status, closed) = desk
            .step(case_id, json!({ "step": "close", "note": "done" }))
            .await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        let case = desk.case(case_id).await;
        let closures = events(&case["messages"])
            .into_iter()
            .filter(|e| e.starts_with("closure:"))
            .count();
        assert_eq!(closures, 2);
        // Closed cases leave the queue but stay listed with all=true.
        let (_, queue) = desk
            .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
            .await;
        assert!(
            queue
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["case"]["id"] != case_id)
        );
        let (_, all) = desk
            .call(Method::GET, "/api/v1/cases?all=true", &desk.analyst, None)
            .await;
        assert!(
            all.as_array()
                .unwrap()
                .iter()
                .any(|c| c["case"]["id"] == case_id)
        );
    }
}

#[tokio::test]
async fn merge_split_and_closing_without_action() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let first = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "malware", "names": ["name4.test"] }),
            )
            .await;
        let second = desk
            .report(
                &desk.police,
                json!({ "threat_type": "malware", "names": ["name5.test"] }),
            )
            .await;
        let (a, b) = (
            first["case_id"].as_i64().unwrap(),
            second["case_id"].as_i64().unwrap(),
        );
        assert_ne!(a, b);
        let (status, merged) = desk
            .call(
                Method::POST,
                &format!("/api/v1/cases/{a}/merge"),
                &desk.analyst,
                Some(json!({ "from": b })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {merged}");
        let case = desk.case(a).await;
        assert_eq!(case["reports"].as_array().unwrap().len(), 2);
        assert_eq!(desk.case(b).await["case"]["merged_into"], a);
        let (status, _) = desk.step(b, json!({ "step": "acknowledge" })).await;
        assert_eq!(status, StatusCode::CONFLICT, "a merged case takes no steps");

        let split_body = json!({ "reports": [second["report_id"]] });
        let (status, split) = desk
            .call(
                Method::POST,
                &format!("/api/v1/cases/{a}/split"),
                &desk.analyst,
                Some(split_body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{split}");
        let c = split["id"].as_i64().unwrap();
        assert_eq!(desk.case(c).await["reports"][0]["id"], second["report_id"]);
        assert_eq!(
            clock(&desk.case(c).await, "acknowledge")["standing"],
            "running"
        );

        // Steps out of order are refused with the reason; closing without action tells why.
        let (status, error) = desk
            .step(
                a,
                json!({ "step": "close_no_action", "reason": "not abuse" }),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            error["error"]["message"].as_str().unwrap().contains("new"),
            "{error}"
        );
        desk.step(a, json!({ "step": "acknowledge" })).await;
        let (status, closed) = desk
            .step(
                a,
                json!({ "step": "close_no_action", "reason": "the site was cleaned by its owner" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        let path = format!("/api/v1/reports/{}", first["report_id"]);
        let (_, view) = desk.call(Method::GET, &path, &desk.citizen, None).await;
        assert_eq!(view["case_state"], "closed_no_action");
        let answer = view["answers"].as_array().unwrap().last().unwrap();
        assert_eq!(answer["event"], "no_action");
        assert!(
            answer["body"]
                .as_str()
                .unwrap()
                .contains("cleaned by its owner")
        );
    }
}

/// Sends a raw body with a content type.
async fn upload(
    desk: &Desk,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    common::send(&desk.router, request).await
}

/// Reports that arrive together are written together (group commit): each still gets its own
/// report, those sharing a name land in one case, and a bad one is refused on its own.
#[tokio::test]
async fn reports_arriving_together_each_get_a_receipt_and_join_by_shared_names() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..40_usize {
            let router = desk.router.clone();
            let token = if i % 2 == 0 {
                desk.citizen.clone()
            } else {
                desk.police.clone()
            };
            let body = if i == 7 {
                json!({ "threat_type": "phishing", "description": "no names at all" })
            } else {
                json!({ "threat_type": "phishing", "description": format!("wave {i}"),
                        "names": [format!("wave{}.test", i % 4), format!("alone{i}.test")] })
            };
            calls.spawn(async move {
                let path = "/api/v1/reports";
                let answer = common::call(&router, Method::POST, path, Some(&token), Some(body));
                (i, answer.await)
            });
        }
        let mut cases = std::collections::BTreeMap::new();
        let mut reports = std::collections::BTreeSet::new();
        while let Some(joined) = calls.join_next().await {
            let (i, (status, receipt)) = joined.unwrap();
            if i == 7 {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{receipt}");
                continue;
            }
            assert_eq!(status, StatusCode::CREATED, "{backend:?} {i}: {receipt}");
            let class = if i % 2 == 0 { "other" } else { "lea" };
            assert_eq!(receipt["source_class"], class, "{backend:?} {i}");
            assert!(reports.insert(receipt["report_id"].as_i64().unwrap()));
            let case = receipt["case_id"].as_i64().unwrap();
            let group = cases.entry(i % 4).or_insert(case);
            assert_eq!(
                *group,
                case,
                "{backend:?}: report {i} shares wave{}.test",
                i % 4
            );
        }
        assert_eq!(reports.len(), 39);
        let distinct: std::collections::BTreeSet<_> = cases.values().collect();
        assert_eq!(distinct.len(), 4, "{backend:?} {cases:?}");
        for (group, case) in &cases {
            let case = desk.case(*case).await;
            // Report 7, refused, was of group 3.
            let filed = if *group == 3 { 9 } else { 10 };
            assert_eq!(case["reports"].as_array().unwrap().len(), filed, "{case}");
            assert_eq!(clock(&case, "acknowledge")["standing"], "running", "{case}");
        }
    }
}

#[tokio::test]
async fn bulk_files_evidence_and_hostile_content() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        // A CSV with a header, 5,000 names of which 20 are ours, a comment and an invalid line.
        let mut csv = String::from("domain,first_seen\n# exported by a sandbox\n");
        for i in 0..5_000 {
            let name = if i < 20 {
                format!("dga{i}x.test")
            } else {
                format!("dga{i}x.sub.example")
            };
            csv.push_str(&format!("{name},2026-11-01\n"));
        }
        csv.push_str("\"not a name\",x\n");
        let path = "/api/v1/reports/bulk?threat_type=botnet_cc&description=DGA";
        let (status, receipt) =
            upload(&desk, path, &desk.police, "text/csv", csv.into_bytes()).await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?} {receipt}");
        assert_eq!(receipt["names"], 5_001);
        assert_eq!(receipt["ours"], 20);
        assert_eq!(receipt["invalid"], 1);
        let names_path = format!("/api/v1/reports/{}/names?limit=3", receipt["report_id"]);
        let (_, names) = desk
            .call(Method::GET, &names_path, &desk.police, None)
            .await;
        assert_eq!(names.as_array().unwrap().len(), 3);

        // A line too long is named; nothing is stored.
        let long = format!("ok.test\n{}\n", "a".repeat(2000));
        let (status, error) =
            upload(&desk, path, &desk.police, "text/plain", long.into_bytes()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["error"]["field"], "line 2", "{error}");

        // Hostile content is stored and returned as the same inert text.
        let script = "<script>alert(1)</script>";
        let img = "\"><img src=x onerror=alert(1)>";
        let receipt = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "phishing", "description": format!("{script}{img}"),
                        "names": ["name7.test", script, "nul\u{0}byte"],
                        "reporter_name": img }),
            )
            .await;
        let report_id = receipt["report_id"].as_i64().unwrap();
        let evidence_path = format!(
            "/api/v1/reports/{report_id}/evidence?filename={}",
            urlencode(&format!("{img}.html"))
        );
        let content = format!("<html>{script}</html>").into_bytes();
        let (status, evidence) = upload(
            &desk,
            &evidence_path,
            &desk.citizen,
            "text/html",
            content.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{evidence}");
        assert_eq!(evidence["filename"], format!("{img}.html"));
        let expected = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&content))
        };
        assert_eq!(evidence["sha256"], expected);
        let (_, view) = desk
            .call(
                Method::GET,
                &format!("/api/v1/reports/{report_id}"),
                &desk.citizen,
                None,
            )
            .await;
        assert_eq!(view["report"]["description"], format!("{script}{img}"));
        assert_eq!(view["report"]["reporter_name"], img);
        let (_, names) = desk
            .call(
                Method::GET,
                &format!("/api/v1/reports/{report_id}/names"),
                &desk.citizen,
                None,
            )
            .await;
        assert!(
            names
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["name"] == script && n["status"] == "invalid")
        );
        // Control characters are dropped from what is kept of a name that is not one.
        assert!(
            names
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["name"] == "nulbyte" && n["status"] == "invalid"),
            "{backend:?} {names}"
        );
        // The download is an attachment of an inert type, whatever was uploaded.
        let request = Request::builder()
            .uri(format!("/api/v1/evidence/{}", evidence["id"]))
            .header("authorization", format!("Bearer {}", desk.analyst))
            .body(Body::empty())
            .unwrap();
        let response = desk.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let disposition = response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            disposition.starts_with("attachment;") && !disposition.contains('<'),
            "{disposition}"
        );
        // Another reporter cannot fetch it.
        let path = format!("/api/v1/evidence/{}", evidence["id"]);
        let (status, _) = desk.call(Method::GET, &path, &desk.police, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Too large is refused with the limit.
        let big = vec![0u8; holdfast_service::MAX_EVIDENCE_BYTES + 1];
        let (status, _) =
            upload(&desk, &evidence_path, &desk.citizen, "application/pdf", big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_public_endpoint_needs_no_account_and_is_limited_per_address() {
    let desk = Desk::new(Backend::Sqlite).await;
    let report = json!({ "threat_type": "phishing", "names": ["name8.test"],
                         "reporter_email": "someone@mail.example" });
    for _ in 0..holdfast_http::PUBLIC_REPORTS_PER_WINDOW {
        let (status, receipt) = common::call(
            &desk.router,
            Method::POST,
            "/api/v1/public/reports",
            None,
            Some(report.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
        assert_eq!(receipt["source_class"], "other");
    }
    let (status, error) = common::call(
        &desk.router,
        Method::POST,
        "/api/v1/public/reports",
        None,
        Some(report.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    desk.advance(holdfast_http::PUBLIC_REPORT_WINDOW);
    let (status, _) = common::call(
        &desk.router,
        Method::POST,
        "/api/v1/public/reports",
        None,
        Some(report.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Claiming a class is refused, naming the field; a bad address is named too.
    let mut claimed = report.clone();
    claimed["source_class"] = json!("lea");
    let (status, error) = common::call(
        &desk.router,
        Method::POST,
        "/api/v1/public/reports",
        None,
        Some(claimed),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "source_class");
    let mut bad = report;
    bad["reporter_email"] = json!("nobody");
    let (status, error) = common::call(
        &desk.router,
        Method::POST,
        "/api/v1/public/reports",
        None,
        Some(bad),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["field"], "reporter_email");
    // The origin says how the reporter was (not) established.
    let (_, queue) = desk
        .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
        .await;
    let case = desk.case(queue[0]["case"]["id"].as_i64().unwrap()).await;
    let origin = case["reports"][0]["origin"].as_str().unwrap();
    assert!(origin.contains("public web form"), "{origin}");
}

/// Posts the public HTML form; the status and the page.
async fn post_form(desk: &Desk, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let request = Request::builder()
        .method(Method::POST)
        .uri("/report")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let response = desk.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap(), policy)
}

#[tokio::test]
async fn the_public_form_keeps_input_shows_errors_by_the_field_and_never_echoes_markup() {
    let desk = Desk::new(Backend::Sqlite).await;
    let request = Request::builder()
        .uri("/report")
        .body(Body::empty())
        .unwrap();
    let response = desk.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let page = String::from_utf8(page.to_vec()).unwrap();
    let page_without_session = page.clone();
    assert!(
        page.contains("<form method=\"post\" action=\"/report\" enctype=\"multipart/form-data\">"),
        "{page}"
    );
    assert!(page.contains("<label for=\"names\">"), "{page}");

    let script = "<script>alert(1)</script>";
    let fields = [
        ("threat_type", "phishing"),
        ("names", "name8.test\n\"><img src=x onerror=alert(1)>"),
        ("description", script),
        ("reporter_email", "not-an-address"),
    ];
    let (status, page, policy) = post_form(&desk, &fields).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(page.contains("id=\"reporter_email-error\""), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the input is kept"
    );
    assert!(!page.contains(script) && !page.contains("<img"), "{page}");

    let mut fields = fields;
    fields[3].1 = "visitor@mail.example";
    let (status, page, _) = post_form(&desk, &fields).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(page.contains("Report received"), "{page}");
    let (_, queue) = desk
        .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
        .await;
    let case = desk.case(queue[0]["case"]["id"].as_i64().unwrap()).await;
    assert_eq!(
        case["reports"][0]["description"], script,
        "stored as the data it is"
    );
    assert_eq!(case["reports"][0]["channel"], "web_form");

    // The page's one-time token: the same form sent twice files one report.
    let marker = "name=\"once\" value=\"";
    let start = page_without_session
        .find(marker)
        .expect("the form has a one-time token")
        + marker.len();
    let once = &page_without_session[start..start + 32];
    let fields = [
        ("threat_type", "malware"),
        ("names", "name9.test"),
        ("once", once),
    ];
    let (status, page, _) = post_form(&desk, &fields).await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    let filed = all_reports(&desk).await;
    let (status, page, _) = post_form(&desk, &fields).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("already sent"), "{page}");
    assert_eq!(all_reports(&desk).await, filed, "the replay filed nothing");
}

/// How many reports the desk's cases hold.
async fn all_reports(desk: &Desk) -> usize {
    let (_, queue) = desk
        .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
        .await;
    let mut count = 0;
    for item in queue.as_array().unwrap() {
        let case = desk.case(item["case"]["id"].as_i64().unwrap()).await;
        count += case["reports"].as_array().unwrap().len();
    }
    count
}

#[tokio::test]
async fn recognised_sources_and_the_registrys_own_wording() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let source = json!({ "email_domain": "Mail.Example", "label": "National CERT" });
        let (status, added) = desk
            .call(Method::POST, "/api/v1/sources", &desk.analyst, Some(source))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?} {added}");
        let (status, error) = desk
            .call(
                Method::POST,
                "/api/v1/sources",
                &desk.analyst,
                Some(json!({ "label": "x" })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["error"]["field"], "email_domain");

        let template = json!({ "subject": "Registry desk: case {case} opened",
                               "body": "Dear reporter, case {case} covers {names}." });
        let (status, _) = desk
            .call(
                Method::PUT,
                "/api/v1/templates/acknowledgment",
                &desk.analyst,
                Some(template),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, error) = desk
            .call(
                Method::PUT,
                "/api/v1/templates/thanks",
                &desk.analyst,
                Some(json!({ "subject": "s", "body": "b" })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("acknowledgment"),
            "{error}"
        );

        let receipt = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "pharming", "names": ["name11.test"] }),
            )
            .await;
        assert_eq!(receipt["source_class"], "recognised", "{backend:?}");
        let case_id = receipt["case_id"].as_i64().unwrap();
        let case = desk.case(case_id).await;
        assert!(
            case["reports"][0]["origin"]
                .as_str()
                .unwrap()
                .contains("National CERT")
        );
        desk.step(case_id, json!({ "step": "acknowledge" })).await;
        let case = desk.case(case_id).await;
        let ack = case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["event"] == "acknowledgment")
            .unwrap();
        assert_eq!(
            ack["subject"],
            format!("Registry desk: case {case_id} opened")
        );
        assert_eq!(
            ack["body"],
            format!("Dear reporter, case {case_id} covers name11.test.")
        );
        assert_eq!(ack["sender"], "abuse@registry.example");
    }
}

/// The CSV's lines as a set of `period,tld,measure,key,value`, header first.
fn csv_lines(body: &Value) -> Vec<String> {
    body.as_str().unwrap().lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn statistics_count_threats_sources_actions_and_times_per_tld_and_period() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let now = desk.clock.now();

        // Another registry with its own TLD and staff: its figures are its own.
        let admin = desk.service.authenticate(&desk.admin, now).await.unwrap();
        let other = desk
            .service
            .create_organisation(
                &admin,
                NewOrganisation {
                    name: "Other Registry".into(),
                    kind: OrgKind::Registry,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap()
            .id;
        let new_tld = NewTld {
            name: "other".into(),
            org_id: other,
            reason: String::new(),
        };
        desk.service.create_tld(&admin, new_tld, now).await.unwrap();
        let other_staff = desk
            .service
            .create_user(
                &admin,
                other,
                NewUserRequest {
                    email: "staff@other.example".into(),
                    display_name: "Other staff".into(),
                    role: Role::RegistryStaff,
                    password: None,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap();
        let other_staff = desk
            .service
            .issue_token(&admin, other_staff.id, "test", None, now)
            .await
            .unwrap()
            .token;

        // t = 0: three reports, three cases: phishing (law enforcement), malware and phishing
        // (the public); and one for the other registry.
        let lea = desk
            .report(
                &desk.police,
                json!({ "threat_type": "phishing", "names": ["name1.test"] }),
            )
            .await;
        let malware = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "malware", "names": ["name9.test"] }),
            )
            .await;
        desk.report(
            &desk.citizen,
            json!({ "threat_type": "phishing", "names": ["name5.test"] }),
        )
        .await;
        desk.report(
            &desk.citizen,
            json!({ "threat_type": "spam", "names": ["spam.other"] }),
        )
        .await;
        let first = lea["case_id"].as_i64().unwrap();
        let second = malware["case_id"].as_i64().unwrap();

        // t = 30 min: the first case acknowledged in time. t = 90 min: the others breached
        // (recorded by the worker); the second acknowledged late, the third still running.
        desk.advance(SignedDuration::from_mins(30));
        let (status, body) = desk.step(first, json!({ "step": "acknowledge" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        desk.advance(SignedDuration::from_mins(60));
        let tick = desk.service.tick(desk.clock.now()).await.unwrap();
        assert_eq!(
            tick.breached, 3,
            "{backend:?} (two here, one at the other registry)"
        );
        let (status, body) = desk.step(second, json!({ "step": "acknowledge" })).await;
        assert_eq!(status, StatusCode::OK, "{body}");

        // The first case assessed an hour after its acknowledgment, one name held; the
        // worker marks it mitigated, 90 minutes after it opened.
        let assess = json!({ "step": "assess", "priority": "high",
            "priority_rationale": "a bank's customers", "threat_type": "phishing",
            "responsible_party": "registry", "course_of_action": "hold the name" });
        let (status, body) = desk.step(first, assess).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let path = format!("/api/v1/cases/{first}/actions");
        let hold = json!({ "kind": "hold", "names": ["name1.test"], "reason": "phishing kit" });
        let (status, action) = desk
            .call(Method::POST, &path, &desk.analyst, Some(hold))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{action}");
        let id = action["id"].as_i64().unwrap();
        common::settle(&desk.router, &desk.analyst, id, false).await;
        let tick = desk.service.tick(desk.clock.now()).await.unwrap();
        assert_eq!(tick.mitigated, 1, "{backend:?}");
        let december = "/api/v1/statistics?from=2026-12-01&to=2026-12-31&period=month";
        let (status, stats) = desk.call(Method::GET, december, &desk.analyst, None).await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {stats}");
        assert_eq!(stats["periods"], json!(["2026-12"]));
        assert_eq!(
            stats["tlds"],
            json!(["test"]),
            "staff see their own TLDs only"
        );
        let count = |tld: Option<&str>, measure: &str, key: &str| -> Option<i64> {
            stats["counts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["tld"].as_str() == tld && c["measure"] == measure && c["key"] == key)
                .map(|c| c["value"].as_i64().unwrap())
        };
        for tld in [None, Some("test")] {
            assert_eq!(count(tld, "reports_by_threat_type", "phishing"), Some(2));
            assert_eq!(count(tld, "reports_by_threat_type", "malware"), Some(1));
            assert_eq!(
                count(tld, "reports_by_threat_type", "spam"),
                None,
                "the other's"
            );
            assert_eq!(count(tld, "reports_by_source", "lea"), Some(1));
            assert_eq!(count(tld, "reports_by_source", "other"), Some(2));
            assert_eq!(count(tld, "cases_by_threat_type", "phishing"), Some(2));
            assert_eq!(count(tld, "actions_by_kind", "hold"), Some(1));
            assert_eq!(count(tld, "action_names_by_result", "applied"), Some(1));
        }
        let time = |measure: &str| -> &Value {
            stats["times"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["tld"].is_null() && t["measure"] == measure)
                .unwrap_or_else(|| panic!("no {measure} in {stats}"))
        };
        let ack = time("time_to_acknowledge");
        // 30 and 90 minutes: median and average an hour; late: the second (met late) and the
        // third (breached, still running).
        assert_eq!(
            (
                &ack["count"],
                &ack["median_seconds"],
                &ack["average_seconds"]
            ),
            (&json!(2), &json!(3600), &json!(3600)),
            "{backend:?} {ack}"
        );
        assert_eq!((&ack["breached"], &ack["running"]), (&json!(2), &json!(1)));
        let assessed = time("time_to_assess");
        assert_eq!(
            (
                &assessed["count"],
                &assessed["median_seconds"],
                &assessed["running"]
            ),
            (&json!(1), &json!(3600), &json!(1)),
            "{assessed}"
        );
        let mitigated = time("time_to_mitigate");
        assert_eq!(
            (&mitigated["count"], &mitigated["median_seconds"]),
            (&json!(1), &json!(5400)),
            "{mitigated}"
        );

        // The same as CSV: one header, one line per period × TLD × measure × key.
        let csv_path = december.replace("/statistics?", "/statistics.csv?");
        let (status, csv) = desk.call(Method::GET, &csv_path, &desk.analyst, None).await;
        assert_eq!(status, StatusCode::OK, "{csv}");
        let lines = csv_lines(&csv);
        assert_eq!(lines[0], "period,tld,measure,key,value");
        for expected in [
            "2026-12,(all),reports_by_threat_type,phishing,2",
            "2026-12,test,reports_by_source,lea,1",
            "2026-12,(all),actions_by_kind,hold,1",
            "2026-12,(all),time_to_acknowledge,count,2",
            "2026-12,(all),time_to_acknowledge,median_seconds,3600",
            "2026-12,(all),time_to_acknowledge,breached,2",
            "2026-12,test,time_to_mitigate,median_seconds,5400",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "{expected} not in {lines:#?}"
            );
        }
        let (_, same) = desk
            .call(
                Method::GET,
                &format!("{december}&format=csv"),
                &desk.analyst,
                None,
            )
            .await;
        assert_eq!(same, csv);

        // The default range is the last twelve months, by month; a TLD narrows it.
        let (status, default) = desk
            .call(
                Method::GET,
                "/api/v1/statistics?tld=.TEST",
                &desk.analyst,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{default}");
        assert_eq!(
            (&default["from"], &default["to"]),
            (&json!("2026-01-01"), &json!("2026-12-04"))
        );
        assert_eq!(default["periods"].as_array().unwrap().len(), 12);
        assert_eq!(default["tld"], "test");

        // The other registry sees its own report only; the admin sees both registries.
        let (_, theirs) = desk.call(Method::GET, december, &other_staff, None).await;
        assert_eq!(theirs["tlds"], json!(["other"]));
        let theirs: Vec<(&Value, &Value)> = theirs["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["measure"] == "reports_by_threat_type")
            .map(|c| (&c["key"], &c["value"]))
            .collect();
        assert_eq!(
            theirs,
            [(&json!("spam"), &json!(1)), (&json!("spam"), &json!(1))]
        );
        let (status, all) = desk.call(Method::GET, december, &desk.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{all}");
        assert_eq!(all["tlds"], json!(["other", "test"]));
        let reports: i64 = all["counts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["tld"].is_null() && c["measure"] == "reports_by_threat_type")
            .map(|c| c["value"].as_i64().unwrap())
            .sum();
        assert_eq!(reports, 4);

        // Roles: reporters and registrars may not; another registry's TLD is named as bad.
        for token in [&desk.police, &desk.registrar_user] {
            let (status, body) = desk.call(Method::GET, december, token, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            let (status, _) = desk.call(Method::GET, &csv_path, token, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        for (query, field) in [
            ("tld=other", "tld"),
            ("from=2026-13-01", "from"),
            ("to=yesterday", "to"),
            ("from=2026-12-05&to=2026-12-01", "from"),
            ("period=fortnight", "period"),
            ("period=week&from=2000-01-01", "period"),
            ("format=xml", "format"),
            ("colour=red", "colour"),
        ] {
            let path = format!("/api/v1/statistics?{query}");
            let (status, error) = desk.call(Method::GET, &path, &desk.analyst, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {error}");
            assert_eq!(error["error"]["field"], field, "{query}: {error}");
        }
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

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_case_page_assigns_merges_and_splits_with_errors_at_their_field() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let first = desk
            .report(
                &desk.citizen,
                json!({ "threat_type": "malware", "names": ["name4.test"] }),
            )
            .await;
        let second = desk
            .report(
                &desk.police,
                json!({ "threat_type": "malware", "names": ["name5.test"] }),
            )
            .await;
        let (a, b) = (
            first["case_id"].as_i64().unwrap(),
            second["case_id"].as_i64().unwrap(),
        );
        let case_a = format!("/desk/cases/{a}");
        let (status, _, html) = page(&desk, &case_a, &desk.analyst, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Assigned to <strong id=\"case-assignee\">nobody</strong>"));
        let csrf = csrf_of(&html);
        let (_, me) = desk
            .call(Method::GET, "/api/v1/me", &desk.analyst, None)
            .await;
        let me = me["id"].as_i64().unwrap();

        // Assign to the analyst: the API shows it.
        let form = format!("csrf={csrf}&once={:032x}&step=assign&user_id={me}", 1);
        let (status, location, _) = page(
            &desk,
            &format!("{case_a}/steps"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, format!("{case_a}?done=assign"));
        assert_eq!(desk.case(a).await["case"]["assigned_to"], me, "{backend:?}");

        // Merging a case that does not exist, or the case itself: the error at the field.
        let form = format!("csrf={csrf}&once={:032x}&from=999999", 2);
        let (status, _, html) = page(
            &desk,
            &format!("{case_a}/merge"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains(
                "<p class=\"error\" id=\"from-error\">no such open case on this desk</p>"
            ),
            "{html}"
        );
        assert!(html.contains("value=\"999999\""), "the input is kept");
        let form = format!("csrf={csrf}&once={:032x}&from={a}", 3);
        let (_, _, html) = page(
            &desk,
            &format!("{case_a}/merge"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert!(html.contains(
            "<p class=\"error\" id=\"from-error\">a case cannot be merged into itself</p>"
        ));

        // Merge b into a; the same form again does nothing more.
        let form = format!("csrf={csrf}&once={:032x}&from={b}", 4);
        let (status, location, _) = page(
            &desk,
            &format!("{case_a}/merge"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, format!("{case_a}?done=merge"));
        let (_, again, _) = page(
            &desk,
            &format!("{case_a}/merge"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(again, format!("{case_a}?done=repeat"));
        assert_eq!(desk.case(a).await["reports"].as_array().unwrap().len(), 2);
        assert_eq!(desk.case(b).await["case"]["merged_into"], a);

        // Split: all the reports is refused at the field; one of them opens a new case.
        let (first_id, second_id) = (
            first["report_id"].as_i64().unwrap(),
            second["report_id"].as_i64().unwrap(),
        );
        let (_, _, html) = page(&desk, &case_a, &desk.analyst, None).await;
        assert!(html.contains(&format!("name=\"reports\" value=\"{second_id}\"")));
        let form = format!(
            "csrf={csrf}&once={:032x}&reports={first_id}&reports={second_id}",
            5
        );
        let (status, _, html) = page(
            &desk,
            &format!("{case_a}/split"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("<p class=\"error\" id=\"reports-error\">name some, but not all, of the case&#39;s reports</p>"), "{html}");
        let form = format!("csrf={csrf}&once={:032x}&reports={second_id}", 6);
        let (status, location, _) = page(
            &desk,
            &format!("{case_a}/split"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let c: i64 = location
            .strip_prefix("/desk/cases/")
            .and_then(|rest| rest.strip_suffix("?done=split"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(desk.case(c).await["reports"][0]["id"], second_id);
        assert_eq!(desk.case(a).await["reports"].as_array().unwrap().len(), 1);
        let (_, again, _) = page(
            &desk,
            &format!("{case_a}/split"),
            &desk.analyst,
            Some(&form),
        )
        .await;
        assert_eq!(again, format!("{case_a}?done=repeat"));
        // A reporter has no such forms.
        let (status, _, _) = page(
            &desk,
            &format!("{case_a}/merge"),
            &desk.citizen,
            Some(&form),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

/// Reads a page's HTML.
fn html(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn evidence_through_the_report_form_and_the_case_page_is_stored_once_hashed_and_escaped() {
    use common::{hidden_value, multipart, page_raw, sha256_hex};
    // The service keeps a name's last path segment only: `script>.txt` is what is stored.
    let hostile = "<script>alert(1)</script>.txt";
    let escaped = "script&gt;.txt";
    let markup = "<img src=x onerror=alert(1)>.txt";
    // The pages' templates escape with numeric references.
    let page_escaped = "script&#62;.txt";
    let markup_escaped = "&#60;img src=x onerror=alert(1)&#62;.txt";
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let desk = Desk::new(backend).await;
        let router = &desk.router;

        // Anonymous: the file is stored with the report and its SHA-256 shown, name escaped.
        let content = b"phishing kit screenshot\x00\xff bytes".to_vec();
        let fields = [
            ("threat_type", "phishing"),
            ("names", "name9.test"),
            ("description", "kit on name9"),
        ];
        let body = multipart(&fields, Some(("evidence", hostile, &content)));
        let (status, _, page) = page_raw(router, "/report", None, Some(body)).await;
        let page = html(&page);
        assert_eq!(status, StatusCode::CREATED, "{page}");
        assert!(page.contains(&sha256_hex(&content)), "{page}");
        assert!(
            page.contains(escaped) && !page.contains("script>.txt"),
            "{page}"
        );
        let (_, queue) = desk
            .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
            .await;
        let case_id = queue[0]["case"]["id"].as_i64().unwrap();
        let case = desk.case(case_id).await;
        let evidence = case["evidence"].as_array().unwrap();
        assert_eq!(evidence.len(), 1, "{case}");
        assert_eq!(evidence[0]["sha256"], sha256_hex(&content));
        let report_id = case["reports"][0]["id"].as_i64().unwrap();

        // Staff see it on the case page, escaped, and download the same bytes, safely named.
        let case_path = format!("/desk/cases/{case_id}");
        let (_, _, page) = page_raw(router, &case_path, Some(&desk.analyst), None).await;
        let page = html(&page);
        assert!(
            page.contains(page_escaped) && !page.contains("script>.txt"),
            "{page}"
        );
        assert!(page.contains(&sha256_hex(&content)), "{page}");
        let file_id = evidence[0]["id"].as_i64().unwrap();
        let (status, headers, bytes) = page_raw(
            router,
            &format!("/evidence/{file_id}"),
            Some(&desk.analyst),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, content);
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"script_.txt\""
        );

        // Too large: refused at the file field, the other input kept, nothing filed.
        let big = vec![b'x'; holdfast_service::MAX_EVIDENCE_BYTES + 1];
        let fields = [
            ("threat_type", "malware"),
            ("names", "name10.test"),
            ("description", "keep this description"),
        ];
        let body = multipart(&fields, Some(("evidence", "big.bin", &big)));
        let (status, _, page) = page_raw(router, "/report", None, Some(body)).await;
        let page = html(&page);
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(page.contains("id=\"evidence-error\""), "{page}");
        assert!(page.contains("keep this description") && page.contains("name10.test"));
        let (_, queue) = desk
            .call(Method::GET, "/api/v1/cases", &desk.analyst, None)
            .await;
        assert_eq!(queue.as_array().unwrap().len(), 1, "nothing filed: {queue}");

        // Signed in: CSRF checked, a replay does not file twice, the portal shows the hash.
        let (_, _, form) = page_raw(router, "/report", Some(&desk.citizen), None).await;
        let form = html(&form);
        let (csrf, once) = (hidden_value(&form, "csrf"), hidden_value(&form, "once"));
        let mine = b"citizen's evidence".to_vec();
        let fields = [
            ("csrf", csrf.as_str()),
            ("once", once.as_str()),
            ("threat_type", "phishing"),
            ("names", "name11.test"),
            ("description", "seen in a mail"),
        ];
        let forged = multipart(&fields[2..], Some(("evidence", "a.txt", &mine)));
        let (status, _, _) = page_raw(router, "/report", Some(&desk.citizen), Some(forged)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
        let body = multipart(&fields, Some(("evidence", "a.txt", &mine)));
        let (status, headers, _) =
            page_raw(router, "/report", Some(&desk.citizen), Some(body.clone())).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/portal?filed=")
        );
        let (status, headers, _) =
            page_raw(router, "/report", Some(&desk.citizen), Some(body)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers["location"], "/portal?done=repeat");
        let (_, reports) = desk
            .call(Method::GET, "/api/v1/reports", &desk.citizen, None)
            .await;
        assert_eq!(
            reports.as_array().unwrap().len(),
            1,
            "filed once: {reports}"
        );
        let (_, _, portal) = page_raw(router, "/portal", Some(&desk.citizen), None).await;
        assert!(html(&portal).contains(&sha256_hex(&mine)));

        // The case page's evidence form: stored once, hash shown, errors at the file field.
        let (_, _, page) = page_raw(router, &case_path, Some(&desk.analyst), None).await;
        let page = html(&page);
        assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
        let csrf = hidden_value(&page, "csrf");
        let once = hidden_value(&page, "once");
        let report = report_id.to_string();
        let staff_file = b"registry's own capture".to_vec();
        let fields = [
            ("csrf", csrf.as_str()),
            ("once", once.as_str()),
            ("report", report.as_str()),
        ];
        let action = format!("{case_path}/evidence");
        let forged = multipart(&fields[2..], Some(("evidence", "c.txt", &staff_file)));
        let (status, _, _) = page_raw(router, &action, Some(&desk.analyst), Some(forged)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
        let body = multipart(&fields, Some(("evidence", markup, &staff_file)));
        let (status, headers, _) =
            page_raw(router, &action, Some(&desk.analyst), Some(body.clone())).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let location = headers["location"].to_str().unwrap().to_owned();
        assert!(location.contains("done=evidence"), "{location}");
        let (_, _, shown) = page_raw(router, &location, Some(&desk.analyst), None).await;
        let shown = html(&shown);
        assert!(
            shown.contains(&format!("SHA-256 {}", sha256_hex(&staff_file))),
            "{shown}"
        );
        assert!(
            shown.contains(markup_escaped) && !shown.contains("<img"),
            "{shown}"
        );
        let (status, headers, _) = page_raw(router, &action, Some(&desk.analyst), Some(body)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .contains("done=repeat")
        );
        let case = desk.case(case_id).await;
        assert_eq!(case["evidence"].as_array().unwrap().len(), 2, "stored once");
        let stored = case["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|file| file["filename"] == markup)
            .unwrap();
        let (_, headers, bytes) = page_raw(
            router,
            &format!("/evidence/{}", stored["id"]),
            Some(&desk.analyst),
            None,
        )
        .await;
        assert_eq!(bytes, staff_file);
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"_img_src_x_onerror_alert_1__.txt\""
        );

        let (_, _, page) = page_raw(router, &case_path, Some(&desk.analyst), None).await;
        let page = html(&page);
        let once = hidden_value(&page, "once");
        let fields = [
            ("csrf", csrf.as_str()),
            ("once", once.as_str()),
            ("report", report.as_str()),
        ];
        let body = multipart(&fields, Some(("evidence", "big.bin", &big)));
        let (status, _, page) = page_raw(router, &action, Some(&desk.analyst), Some(body)).await;
        let page = html(&page);
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(page.contains("id=\"evidence-file-error\""), "{page}");
        assert!(
            page.contains(&format!("<option value=\"{report}\" selected>")),
            "the report chosen is kept"
        );
        let case = desk.case(case_id).await;
        assert_eq!(case["evidence"].as_array().unwrap().len(), 2);
    }
}
