//! The HTTP API end to end, in process: the authorisation matrix, bad input, the audit chain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::FakeClock;
use holdfast_http::{AppState, router};
use holdfast_model::org::{OrgKind, Role};
use holdfast_model::{ActionKind, ThreatType};
use holdfast_service::{
    ActionRequest, NewOrganisation, NewRegistrarRequest, NewTld, NewUserRequest, ReportRequest,
    Service, ServiceError, Submitter,
};
use holdfast_store::testing::TestStore;
use holdfast_store::{Backend, Store};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// One user per role, each with a token, in organisations of their own; plus a second registry.
struct App {
    router: Router,
    service: Service,
    db: TestStore,
    admin: String,
    tokens: Vec<(Role, String)>,
    registry: i64,
    other_registry: i64,
    registry_user: i64,
    /// The TLD `matrix`, run by `registry`, with `example.matrix` registered through the
    /// registrar of the registrar organisation.
    tld: i64,
    registrar: i64,
    /// A delete decided by the registry user, waiting for a second approver.
    action: i64,
    /// A report on `example.matrix` filed by the reporter, in `case`, with `evidence`.
    report: i64,
    case: i64,
    evidence: i64,
    /// A second report by the reporter (on another name), alone in `other_case`.
    other_report: i64,
    other_case: i64,
    reporter_org: i64,
    /// A waiver request drafted by the registry user, not yet complete.
    srw: i64,
    /// A file attached to it.
    srw_file: i64,
}

impl App {
    async fn new(backend: Backend) -> App {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        let now = Timestamp::from_second(1_795_000_000).unwrap();
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let admin = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin_actor = service.authenticate(&admin, now).await.unwrap();
        let mut tokens = vec![(Role::Admin, admin.clone())];
        let mut orgs = Vec::new();
        let mut registry_user = 0;
        for (i, kind) in [
            OrgKind::Registry,
            OrgKind::Registrar,
            OrgKind::Reviewer,
            OrgKind::Reporter,
            OrgKind::Registry,
        ]
        .into_iter()
        .enumerate()
        {
            let org = service
                .create_organisation(
                    &admin_actor,
                    NewOrganisation {
                        name: format!("Org {i}"),
                        kind,
                        reason: String::new(),
                    },
                    now,
                )
                .await
                .unwrap();
            let role = kind.role();
            let user = service
                .create_user(
                    &admin_actor,
                    org.id,
                    NewUserRequest {
                        email: format!("user{i}@org{i}.example"),
                        display_name: format!("User {i}"),
                        role,
                        password: Some("a long enough password".into()),
                        reason: String::new(),
                    },
                    now,
                )
                .await
                .unwrap();
            let token = service
                .issue_token(&admin_actor, user.id, "test", None, now)
                .await
                .unwrap()
                .token;
            if i < 4 {
                tokens.push((role, token));
            }
            if i == 0 {
                registry_user = user.id;
            }
            orgs.push(org.id);
        }
        let tld = service
            .create_tld(
                &admin_actor,
                NewTld {
                    name: "matrix".into(),
                    org_id: orgs[0],
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap()
            .id;
        let registrar = service
            .create_registrar(
                &admin_actor,
                NewRegistrarRequest {
                    name: "Matrix Registrar".into(),
                    iana_id: Some(9999),
                    org_id: Some(orgs[1]),
                    abuse_email: "abuse@registrar.example".into(),
                    abuse_phone: "+1.5555550100".into(),
                    internal: false,
                    reason: String::new(),
                },
                now,
            )
            .await
            .unwrap()
            .id;
        service
            .create_domain(
                &admin_actor,
                "example.matrix",
                registrar,
                &["ns1.example.net".into()],
                now,
            )
            .await
            .unwrap();
        let registry_actor = service.authenticate(&tokens[1].1, now).await.unwrap();
        let action = service
            .decide_action(
                &registry_actor,
                ActionRequest {
                    kind: ActionKind::Delete,
                    names: vec!["unregistered.matrix".into()],
                    reason: "matrix".into(),
                    case_ref: None,
                    requested_by: None,
                    to_registrar: None,
                    until: None,
                    deadline: None,
                    legal_direction: Some("court order 1".into()),
                    emergency: false,
                },
                now,
            )
            .await
            .unwrap()
            .id;
        let reporter = service.authenticate(&tokens[4].1, now).await.unwrap();
        let mut filed = Vec::new();
        for name in ["example.matrix", "other.matrix"] {
            let request = ReportRequest {
                threat_type: Some(ThreatType::Phishing),
                names: vec![name.into()],
                ..ReportRequest::default()
            };
            let receipt = service
                .submit_report(Submitter::User(reporter.clone()), request, now)
                .await
                .unwrap();
            filed.push((receipt.report_id, receipt.case_id));
        }
        let evidence = service
            .add_evidence(&reporter, filed[0].0, "shot.png", "image/png", b"png", now)
            .await
            .unwrap()
            .id;
        let srw = service
            .create_srw_draft(&registry_actor, Default::default(), now)
            .await
            .unwrap()
            .record
            .id;
        let srw_file = service
            .add_srw_attachment(
                &registry_actor,
                srw,
                "order.pdf",
                "application/pdf",
                b"%PDF",
                now,
            )
            .await
            .unwrap()
            .id;
        let state = AppState::new(service.clone(), clock);
        App {
            srw,
            srw_file,
            report: filed[0].0,
            case: filed[0].1,
            evidence,
            other_report: filed[1].0,
            other_case: filed[1].1,
            reporter_org: orgs[3],
            router: router(state),
            service,
            db,
            admin,
            tokens,
            registry: orgs[0],
            other_registry: orgs[4],
            registry_user,
            tld,
            registrar,
            action,
        }
    }

    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        common::send(&self.router, request).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::call(&self.router, method, path, token, body).await
    }
}

/// The answer each caller gets, in the order admin, registry staff, registrar staff, reviewer,
/// reporter, and no token at all.
type Row = (Method, &'static str, [u16; 6]);

#[rustfmt::skip]
fn matrix() -> Vec<Row> {
    vec![
        (Method::GET,    "/api/v1/me",                             [200, 200, 200, 200, 200, 401]),
        (Method::GET,    "/api/v1/organisations",                  [200, 200, 200, 200, 200, 401]),
        (Method::POST,   "/api/v1/organisations",                  [201, 403, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/organisations/{registry}",       [200, 200, 404, 404, 404, 401]),
        (Method::GET,    "/api/v1/organisations/{registry}/users", [200, 200, 404, 404, 404, 401]),
        (Method::POST,   "/api/v1/organisations/{registry}/users", [201, 403, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/users/{registry_user}/tokens",   [201, 201, 403, 403, 403, 401]),
        (Method::PUT,    "/api/v1/users/{registry_user}/disabled", [200, 403, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/tokens",                         [200, 200, 200, 200, 200, 401]),
        (Method::DELETE, "/api/v1/tokens/{registry_token}",        [204, 204, 404, 404, 404, 401]),
        (Method::GET,    "/api/v1/tlds",                           [200, 200, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/tlds",                           [201, 403, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/registrars",                     [200, 200, 200, 403, 403, 401]),
        (Method::POST,   "/api/v1/registrars",                     [201, 403, 403, 403, 403, 401]),
        (Method::PUT,    "/api/v1/tlds/{tld}/sinkhole",            [200, 403, 403, 403, 403, 401]),
        (Method::PUT,    "/api/v1/tlds/{tld}/dns",                 [204, 403, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/tlds/{tld}/zone",                [422, 403, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/tlds/{tld}/zone",                [409, 409, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/tlds/{tld}/sponsors",            [422, 403, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/actions",                        [202, 202, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/actions",                        [200, 200, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/actions/preview",                [200, 200, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/actions/{action}",               [200, 200, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/actions/{action}/names",         [200, 200, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/actions/{action}/approve",       [202, 409, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/actions/{action}/undo",          [409, 409, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/check/{domain}",                 [200, 200, 200, 403, 403, 401]),
        (Method::POST,   "/api/v1/domains",                        [201, 201, 201, 403, 403, 401]),
        (Method::GET,    "/api/v1/domains/{domain}",               [200, 200, 200, 403, 403, 401]),
        (Method::PUT,    "/api/v1/domains/{domain}/nameservers",   [200, 200, 200, 403, 403, 401]),
        (Method::POST,   "/api/v1/domains/{domain}/transfer",      [200, 200, 200, 403, 403, 401]),
        (Method::DELETE, "/api/v1/domains/{fresh_domain}",         [204, 204, 204, 403, 403, 401]),
        (Method::POST,   "/api/v1/reports",                        [201, 201, 201, 403, 201, 401]),
        (Method::GET,    "/api/v1/reports",                        [200, 200, 200, 403, 200, 401]),
        (Method::POST,   "/api/v1/reports/bulk?threat_type=spam&registry={registry}", [201, 201, 201, 403, 201, 401]),
        (Method::GET,    "/api/v1/reports/{report}",               [200, 200, 404, 404, 200, 401]),
        (Method::GET,    "/api/v1/reports/{report}/names",         [200, 200, 404, 404, 200, 401]),
        (Method::POST,   "/api/v1/reports/{report}/evidence?filename=a.txt", [201, 201, 404, 404, 201, 401]),
        (Method::GET,    "/api/v1/evidence/{evidence}",            [200, 200, 404, 404, 200, 401]),
        (Method::POST,   "/api/v1/public/reports",                 [201, 201, 201, 201, 201, 201]),
        (Method::GET,    "/api/v1/cases",                          [200, 200, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/cases/{case}",                   [200, 200, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/cases/{case}/steps",             [200, 200, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/cases/{case}/merge",             [200, 409, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/cases/{case}/split",             [201, 422, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/cases/{case}/actions",           [409, 409, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/desks/{registry}",               [200, 200, 403, 403, 403, 401]),
        (Method::PUT,    "/api/v1/desks/{registry}",               [200, 200, 403, 403, 403, 401]),
        (Method::PUT,    "/api/v1/organisations/{registry}/calendar", [204, 204, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/organisations/{reporter_org}/verify-lea", [204, 403, 403, 403, 403, 401]),
        (Method::POST,   "/api/v1/sources",                        [201, 201, 403, 403, 403, 401]),
        (Method::PUT,    "/api/v1/templates/{event}",              [204, 204, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/referrals",                      [403, 403, 200, 403, 403, 401]),
        (Method::POST,   "/api/v1/referrals/{referral}/answer",    [403, 403, 404, 403, 403, 401]),
        (Method::POST,   "/api/v1/srw",                            [403, 201, 201, 403, 403, 401]),
        (Method::GET,    "/api/v1/srw",                            [200, 200, 200, 200, 403, 401]),
        (Method::GET,    "/api/v1/srw/{srw}",                      [200, 200, 404, 404, 403, 401]),
        (Method::PUT,    "/api/v1/srw/{srw}",                      [403, 200, 404, 403, 403, 401]),
        (Method::POST,   "/api/v1/srw/{srw}/submit",               [403, 422, 404, 403, 403, 401]),
        (Method::POST,   "/api/v1/srw/{srw}/review",               [403, 403, 403, 404, 403, 401]),
        (Method::GET,    "/api/v1/srw/{srw}/report",               [403, 200, 404, 404, 403, 401]),
        (Method::POST,   "/api/v1/srw/{srw}/report",               [403, 409, 404, 404, 403, 401]),
        (Method::GET,    "/api/v1/srw/figures",                    [200, 200, 200, 200, 200, 200]),
        (Method::POST,   "/api/v1/srw/{srw}/attachments?filename=a.txt", [403, 201, 404, 404, 403, 401]),
        (Method::GET,    "/api/v1/srw/attachments/{srw_file}",     [200, 200, 404, 404, 404, 401]),
        (Method::POST,   "/api/v1/srw/{srw}/messages",             [403, 409, 404, 404, 403, 401]),
        (Method::GET,    "/api/v1/waivers",                        [200, 200, 200, 200, 403, 401]),
        (Method::GET,    "/api/v1/waivers/{waiver}",               [404, 404, 404, 404, 403, 401]),
        (Method::GET,    "/api/v1/statistics",                     [200, 200, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/statistics.csv",                 [200, 200, 403, 403, 403, 401]),
        (Method::GET,    "/api/v1/audit",                          [200, 200, 200, 200, 403, 401]),
        (Method::POST,   "/api/v1/audit/verify",                   [200, 403, 403, 403, 403, 401]),
    ]
}

fn body_for(method: &Method, path: &str, n: usize, app: &App) -> Option<Value> {
    let registry = app.registry;
    if *method == Method::PUT {
        return Some(
            if path.ends_with("/dns") || path.contains("/desks/") || path.contains("/srw/") {
                json!({})
            } else if path.ends_with("/calendar") {
                json!({ "time_zone": "UTC" })
            } else if path.contains("/templates/") {
                json!({ "subject": "[case {case}] Received", "body": "Thanks." })
            } else if path.ends_with("/disabled") {
                json!({ "disabled": false, "reason": "matrix" })
            } else if path.ends_with("/sinkhole") {
                json!({ "hosts": ["ns1.sinkhole.example"] })
            } else {
                json!({ "nameservers": [format!("ns{n}.example.net")] })
            },
        );
    }
    if *method != Method::POST {
        return None;
    }
    let path = path.split('?').next().unwrap_or_default();
    Some(if path.ends_with("/reports") {
        json!({ "threat_type": "phishing", "names": ["example.matrix"] })
    } else if path.ends_with("/steps") {
        json!({ "step": "assign", "user_id": app.registry_user })
    } else if path.ends_with("/merge") {
        json!({ "from": app.other_case })
    } else if path.ends_with("/split") {
        json!({ "reports": [app.other_report] })
    } else if path.ends_with("/verify-lea") {
        json!({ "reason": "checked by phone" })
    } else if path.ends_with("/sources") {
        json!({ "email_domain": "cert.example", "label": "CERT" })
    } else if path.ends_with("/messages") {
        json!({ "text": "matrix" })
    } else if path.ends_with("/report") {
        json!({ "edit": "approve" })
    } else if path.ends_with("/review") {
        json!({ "step": "assign_reviewer", "reviewer": "Jane Reviewer" })
    } else if path.ends_with("/srw") {
        json!({ "description": "draft" })
    } else if path.ends_with("/answer") {
        json!({ "answer": "done" })
    } else if path.ends_with("/actions") || path.ends_with("/actions/preview") {
        json!({ "kind": "no-action", "names": ["example.matrix"], "reason": "matrix" })
    } else if path.ends_with("/undo") {
        json!({ "reason": "matrix" })
    } else if path.ends_with("/domains") {
        json!({ "name": format!("new{n}.matrix"), "registrar": app.registrar })
    } else if path.ends_with("/transfer") {
        json!({ "to_registrar": app.registrar })
    } else if path.ends_with("/organisations") {
        json!({ "name": format!("New org {n}"), "kind": "registrar" })
    } else if path.ends_with("/users") {
        json!({ "email": format!("new{n}@example.net"), "display_name": "New", "role": "registry_staff" })
    } else if path.ends_with("/tokens") {
        json!({ "label": "matrix" })
    } else if path.ends_with("/registrars") {
        json!({ "name": format!("Registrar {n}"), "iana_id": n, "abuse_email": "abuse@registrar.example", "abuse_phone": "+1.5555550100" })
    } else if path.ends_with("/tlds") {
        json!({ "name": format!("tld{n}"), "org_id": registry })
    } else {
        json!({})
    })
}

#[tokio::test]
async fn every_role_gets_exactly_its_answer_from_every_endpoint() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = App::new(backend).await;
        let failures = walk_matrix(&app).await;
        assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
    }
}

/// Calls every endpoint of the matrix as every caller; returns the answers that differ.
async fn walk_matrix(app: &App) -> Vec<String> {
    let callers: Vec<Option<String>> = Role::ALL
        .into_iter()
        .map(|role| Some(app.token(role).to_owned()))
        .chain([None])
        .collect();
    let mut n = 0;
    let mut failures = Vec::new();
    for (method, template, expected) in matrix() {
        for (caller, want) in callers.iter().zip(expected) {
            n += 1;
            // A fresh token of the registry user for each revocation attempt.
            let registry_token = app
                .service
                .issue_token(
                    &app.service
                        .authenticate(&app.admin, Timestamp::from_second(1_795_000_000).unwrap())
                        .await
                        .unwrap(),
                    app.registry_user,
                    "to revoke",
                    None,
                    Timestamp::from_second(1_795_000_000).unwrap(),
                )
                .await
                .unwrap()
                .id;
            let fresh_domain = format!("fresh{n}.matrix");
            if template.contains("{fresh_domain}") {
                let admin = app
                    .service
                    .authenticate(&app.admin, Timestamp::from_second(1_795_000_000).unwrap())
                    .await
                    .unwrap();
                app.service
                    .create_domain(
                        &admin,
                        &fresh_domain,
                        app.registrar,
                        &[],
                        Timestamp::from_second(1_795_000_000).unwrap(),
                    )
                    .await
                    .unwrap();
            }
            let path = template
                .replace("{fresh_domain}", &fresh_domain)
                .replace("{domain}", "example.matrix")
                .replace("{tld}", &app.tld.to_string())
                .replace("{action}", &app.action.to_string())
                .replace("{registry}", &app.registry.to_string())
                .replace("{registry_user}", &app.registry_user.to_string())
                .replace("{registry_token}", &registry_token.to_string())
                .replace("{reporter_org}", &app.reporter_org.to_string())
                .replace("{report}", &app.report.to_string())
                .replace("{evidence}", &app.evidence.to_string())
                .replace("{other_case}", &app.other_case.to_string())
                .replace("{case}", &app.case.to_string())
                .replace("{event}", "acknowledgment")
                .replace("{referral}", "999999")
                .replace("{waiver}", "999999")
                .replace("{srw_file}", &app.srw_file.to_string())
                .replace("{srw}", &app.srw.to_string());
            let body = body_for(&method, &path, n, app);
            let (status, value) = app
                .call(method.clone(), &path, caller.as_deref(), body)
                .await;
            if status.as_u16() != want {
                failures.push(format!(
                    "{method} {path} as {caller:?}: want {want}, got {status} {value}"
                ));
            }
            if !status.is_success() {
                assert!(
                    value["error"]["code"].is_string(),
                    "{method} {path}: {value}"
                );
            }
        }
    }
    failures
}

#[tokio::test]
async fn the_matrix_covers_every_documented_endpoint() {
    let app = App::new(Backend::Sqlite).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let covered: Vec<(String, String)> = matrix()
        .into_iter()
        .map(|(method, path, _)| {
            let path = path
                .replace("{fresh_domain}", "{name}")
                .replace("{domain}", "{name}")
                .replace("{tld}", "{id}")
                .replace("{action}", "{id}")
                .replace("{registry}", "{id}")
                .replace("{registry_user}", "{id}")
                .replace("{registry_token}", "{id}")
                .replace("{reporter_org}", "{id}")
                .replace("{report}", "{id}")
                .replace("{evidence}", "{id}")
                .replace("{case}", "{id}")
                .replace("{referral}", "{id}")
                .replace("{waiver}", "{id}")
                .replace("{srw_file}", "{id}")
                .replace("{srw}", "{id}");
            let path = path.split('?').next().unwrap_or_default().to_owned();
            (method.as_str().to_lowercase(), path)
        })
        .collect();
    let mut documented = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let public = ["/health", "/ready", "/api/v1/login"].contains(&path.as_str());
            if !public {
                documented.push((method.clone(), path.clone()));
            }
            assert!(
                operations[method]["responses"].is_object(),
                "{method} {path} documents its responses"
            );
        }
    }
    for endpoint in &documented {
        assert!(
            covered.contains(endpoint),
            "{endpoint:?} is not in the authorisation matrix"
        );
    }
    assert_eq!(documented.len(), covered.len());
}

#[tokio::test]
async fn one_organisation_never_sees_another() {
    let app = App::new(Backend::Sqlite).await;
    let admin = app
        .service
        .authenticate(&app.admin, Timestamp::from_second(1_795_000_000).unwrap())
        .await
        .unwrap();
    for (org, name) in [(app.registry, "alpha"), (app.other_registry, "beta")] {
        app.service
            .create_tld(
                &admin,
                holdfast_service::NewTld {
                    name: name.into(),
                    org_id: org,
                    reason: String::new(),
                },
                Timestamp::from_second(1_795_000_000).unwrap(),
            )
            .await
            .unwrap();
    }
    let registry = app.token(Role::RegistryStaff);
    let (_, tlds) = app
        .call(Method::GET, "/api/v1/tlds", Some(registry), None)
        .await;
    let names: Vec<&str> = tlds
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "matrix"]);

    let (_, orgs) = app
        .call(Method::GET, "/api/v1/organisations", Some(registry), None)
        .await;
    let ids: Vec<i64> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [app.registry]);

    let path = format!("/api/v1/organisations/{}/users", app.other_registry);
    let (status, _) = app.call(Method::GET, &path, Some(registry), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, audit) = app
        .call(
            Method::GET,
            "/api/v1/audit?limit=1000",
            Some(registry),
            None,
        )
        .await;
    let entries = audit.as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["org_id"] == json!(app.registry)),
        "{audit}"
    );
    let (_, all) = app
        .call(
            Method::GET,
            "/api/v1/audit?limit=1000",
            Some(&app.admin),
            None,
        )
        .await;
    assert!(all.as_array().unwrap().len() > entries.len());
}

#[tokio::test]
async fn a_reporter_sees_only_themselves_among_members() {
    let app = App::new(Backend::Sqlite).await;
    let reporter = app.token(Role::Reporter);
    let (_, me) = app
        .call(Method::GET, "/api/v1/me", Some(reporter), None)
        .await;
    let org = me["org_id"].as_i64().unwrap();
    let admin = app
        .service
        .authenticate(&app.admin, Timestamp::from_second(1_795_000_000).unwrap())
        .await
        .unwrap();
    app.service
        .create_user(
            &admin,
            org,
            NewUserRequest {
                email: "someone-else@public.example".into(),
                display_name: "Another member of the public".into(),
                role: Role::Reporter,
                password: None,
                reason: String::new(),
            },
            Timestamp::from_second(1_795_000_000).unwrap(),
        )
        .await
        .unwrap();
    let (status, users) = app
        .call(
            Method::GET,
            &format!("/api/v1/organisations/{org}/users"),
            Some(reporter),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], me["id"]);
}

/// Sends a raw request body and returns status and envelope.
async fn raw(
    app: &App,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {}", app.admin))
        .header("content-type", content_type)
        .body(body.into())
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn bad_input_gets_one_error_shape_naming_the_field() {
    let app = App::new(Backend::Sqlite).await;
    let orgs = "/api/v1/organisations";
    let json = "application/json";
    type Case = ((StatusCode, Value), u16, &'static str, Option<&'static str>);
    let cases: Vec<Case> = vec![
        (raw(&app, orgs, json, r#"{"name": "x", "kind": "#).await, 400, "malformed", Some("kind")),
        (raw(&app, orgs, json, r#"{"name": "x", "kind": "registry"} trailing"#).await, 400, "malformed", Some("body")),
        (raw(&app, orgs, json, r#"{"name": "x", "kind": "registry", "colour": 1}"#).await, 422, "invalid", Some("colour")),
        (raw(&app, orgs, json, r#"{"name": 7, "kind": "registry"}"#).await, 422, "invalid", Some("name")),
        (raw(&app, orgs, json, r#"{"name": "x", "kind": "bank"}"#).await, 422, "invalid", Some("kind")),
        (raw(&app, orgs, json, r#"{"kind": "registry"}"#).await, 422, "invalid", None),
        (raw(&app, orgs, json, r#"{"name": "   ", "kind": "registry"}"#).await, 422, "invalid", Some("name")),
        (raw(&app, orgs, json, r#"{"name": "a\u0007b", "kind": "registry"}"#).await, 422, "invalid", Some("name")),
        (raw(&app, orgs, "text/plain", r#"{"name": "x", "kind": "registry"}"#).await, 415, "unsupported_media_type", None),
        (raw(&app, orgs, json, vec![b' '; holdfast_http::MAX_BODY_BYTES + 1]).await, 413, "payload_too_large", None),
        (raw(&app, "/api/v1/tlds", json, format!(r#"{{"name": "-bad-", "org_id": {}}}"#, app.registry)).await, 422, "invalid", Some("name")),
        (raw(&app, "/api/v1/tlds", json, format!(r#"{{"name": "two.labels", "org_id": {}}}"#, app.registry)).await, 422, "invalid", Some("name")),
        (raw(&app, "/api/v1/tlds", json, r#"{"name": "ok", "org_id": "one"}"#).await, 422, "invalid", Some("org_id")),
        (raw(&app, &format!("/api/v1/organisations/{}/users", app.registry), json,
            r#"{"email": "x@example.net", "display_name": "X", "role": "admin"}"#).await, 422, "invalid", Some("role")),
        (raw(&app, &format!("/api/v1/organisations/{}/users", app.registry), json,
            r#"{"email": "not-an-address", "display_name": "X", "role": "registry_staff"}"#).await, 422, "invalid", Some("email")),
        (raw(&app, &format!("/api/v1/organisations/{}/users", app.registry), json,
            r#"{"email": "a@example.net", "display_name": "X", "role": "registry_staff", "password": "short"}"#).await, 422, "invalid", Some("password")),
        (raw(&app, "/api/v1/organisations/abc/users", json, "{}").await, 400, "malformed", Some("id")),
        (app.call(Method::GET, "/api/v1/audit?limit=many", Some(&app.admin), None).await, 400, "malformed", Some("limit")),
        (app.call(Method::GET, "/api/v1/audit?colour=red", Some(&app.admin), None).await, 400, "malformed", Some("colour")),
        (app.call(Method::GET, "/api/v1/audit?limit=0", Some(&app.admin), None).await, 422, "invalid", Some("limit")),
        (app.call(Method::GET, "/api/v1/nowhere", Some(&app.admin), None).await, 404, "not_found", None),
        (app.call(Method::PUT, "/api/v1/tlds", Some(&app.admin), None).await, 405, "method_not_allowed", None),
        (app.call(Method::GET, "/api/v1/me", Some("hf_not-a-token"), None).await, 401, "unauthenticated", None),
        (app.call(Method::POST, "/api/v1/login", None, Some(json!({"email": "user0@org0.example", "password": "wrong password"}))).await, 401, "unauthenticated", None),
    ];
    for (i, ((status, value), want_status, want_code, want_field)) in cases.into_iter().enumerate()
    {
        assert_eq!(status.as_u16(), want_status, "case {i}: {value}");
        let error = &value["error"];
        assert_eq!(error["code"], want_code, "case {i}: {value}");
        assert!(!error["message"].as_str().unwrap().is_empty(), "case {i}");
        if let Some(field) = want_field {
            assert_eq!(error["field"], field, "case {i}: {value}");
        }
    }
    let (status, _) = app
        .call(Method::GET, "/api/v1/organisations", Some(&app.admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "nothing above broke the server");
}

#[tokio::test]
async fn sign_in_with_a_password_gives_a_working_token() {
    let app = App::new(Backend::Sqlite).await;
    let (status, issued) = app
        .call(
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({"email": "USER0@org0.example", "password": "a long enough password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let token = issued["token"].as_str().unwrap();
    let (_, me) = app.call(Method::GET, "/api/v1/me", Some(token), None).await;
    assert_eq!(me["email"], "user0@org0.example");
    assert_eq!(me["role"], "registry_staff");

    // Guessing is limited per client address (the first attempt above counts too).
    let guess = json!({"email": "user0@org0.example", "password": "wrong password guess"});
    for _ in 1..holdfast_http::LOGINS_PER_WINDOW {
        let (status, _) = app
            .call(Method::POST, "/api/v1/login", None, Some(guess.clone()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, refused) = app
        .call(Method::POST, "/api/v1/login", None, Some(guess))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"]["code"], "rate_limited");
}

/// Token checks are cached for a moment: revoking a token must still refuse it at once, and a
/// token must not outlive its expiry.
#[tokio::test]
async fn a_token_just_used_is_refused_once_revoked_or_expired() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = App::new(backend).await;
        let now = Timestamp::from_second(1_795_000_000).unwrap();
        let admin = app.service.authenticate(&app.admin, now).await.unwrap();
        let issued = app
            .service
            .issue_token(&admin, app.registry_user, "revoked soon", None, now)
            .await
            .unwrap();
        let (status, me) = app
            .call(Method::GET, "/api/v1/me", Some(&issued.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {me}");
        let path = format!("/api/v1/tokens/{}", issued.id);
        let (status, body) = app
            .call(Method::DELETE, &path, Some(&app.admin), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, refused) = app
            .call(Method::GET, "/api/v1/me", Some(&issued.token), None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{backend:?} {refused}");

        let expires_at = now.checked_add(SignedDuration::from_millis(10)).unwrap();
        let brief = app
            .service
            .issue_token(&admin, app.registry_user, "brief", Some(expires_at), now)
            .await
            .unwrap();
        assert!(app.service.authenticate(&brief.token, now).await.is_ok());
        let refused = app.service.authenticate(&brief.token, expires_at).await;
        assert!(
            matches!(refused, Err(ServiceError::Unauthenticated)),
            "{backend:?} {refused:?}"
        );
    }
}

/// A disabled user is shut out at once — sign-in, and every token and session they already
/// hold — and let in again when enabled; an admin cannot shut themselves out.
#[tokio::test]
async fn a_disabled_user_is_shut_out_at_once_and_let_in_again_when_enabled() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = App::new(backend).await;
        let login = json!({"email": "user0@org0.example", "password": "a long enough password"});
        let (status, session) = app
            .call(Method::POST, "/api/v1/login", None, Some(login.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {session}");
        let session = session["token"].as_str().unwrap().to_owned();
        let (_, me) = app
            .call(Method::GET, "/api/v1/me", Some(&session), None)
            .await;
        let user = me["id"].as_i64().unwrap();
        let path = format!("/api/v1/users/{user}/disabled");

        let (status, body) = app
            .call(
                Method::PUT,
                &path,
                Some(&app.admin),
                Some(json!({"disabled": true, "reason": "left the registry"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {body}");
        assert_eq!(body["disabled"], true);
        let (status, _) = app
            .call(Method::GET, "/api/v1/me", Some(&session), None)
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{backend:?}: the session still works"
        );
        let (status, _) = app
            .call(Method::POST, "/api/v1/login", None, Some(login.clone()))
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{backend:?}: sign-in still works"
        );
        let (_, audit) = app
            .call(Method::GET, "/api/v1/audit", Some(&app.admin), None)
            .await;
        let entries = audit.as_array().unwrap();
        assert!(
            entries.iter().any(|entry| entry["action"] == "user.disable"
                && entry["subject"] == format!("user:{user}")
                && entry["reason"] == "left the registry"),
            "{backend:?} {audit}"
        );

        let (_, admin) = app
            .call(Method::GET, "/api/v1/me", Some(&app.admin), None)
            .await;
        let own = format!("/api/v1/users/{}/disabled", admin["id"]);
        let (status, refused) = app
            .call(
                Method::PUT,
                &own,
                Some(&app.admin),
                Some(json!({"disabled": true})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{backend:?} {refused}"
        );
        assert_eq!(refused["error"]["field"], "disabled");

        let (status, body) = app
            .call(
                Method::PUT,
                &path,
                Some(&app.admin),
                Some(json!({"disabled": false})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {body}");
        assert_eq!(body["disabled"], false);
        let (status, session) = app
            .call(Method::POST, "/api/v1/login", None, Some(login))
            .await;
        assert_eq!(status, StatusCode::OK, "{backend:?} {session}");
    }
}

/// What someone with write access to the database does: lift the append-only guard, rewrite.
async fn tamper(store: &Store, seq: i64) {
    let rewrite = format!("UPDATE audit_log SET reason = 'nothing happened' WHERE seq = {seq}");
    match store {
        Store::Sqlite { writer: pool, .. } => {
            for sql in ["DROP TRIGGER audit_log_no_update".to_owned(), rewrite] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        Store::Postgres(pool) => {
            let unguard = "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only".to_owned();
            for sql in [unguard, rewrite] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn audit_verification_names_the_altered_entry_on_both_databases() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = App::new(backend).await;
        let (status, before) = app
            .call(Method::POST, "/api/v1/audit/verify", Some(&app.admin), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(before["ok"], true, "{before}");
        let total = before["verified"].as_i64().unwrap();
        assert!(total > 10);

        let (_, entries) = app
            .call(
                Method::GET,
                "/api/v1/audit?after=4&limit=1",
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(entries[0]["seq"], 5);
        assert!(entries[0]["actor"].is_string() && entries[0]["action"].is_string());

        tamper(&app.db.store, 5).await;
        let (_, after) = app
            .call(Method::POST, "/api/v1/audit/verify", Some(&app.admin), None)
            .await;
        assert_eq!(after["ok"], false, "{backend:?}: {after}");
        assert_eq!(after["bad_entry"], 5, "{after}");
        assert_eq!(after["verified"], 4);
        assert!(
            after["problem"].as_str().unwrap().contains("entry 5"),
            "{after}"
        );
    }
}

/// A small deterministic generator, so a failure names a reproducible case.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Hostile-looking JSON for a request: right and wrong types, odd strings, odd shapes.
fn garbage(rng: &mut XorShift) -> String {
    let keys = [
        "name",
        "kind",
        "email",
        "display_name",
        "role",
        "password",
        "label",
        "expires_at",
        "org_id",
        "reason",
        "x",
    ];
    let values = [
        "null",
        "true",
        "0",
        "-1",
        "9223372036854775807",
        "1e400",
        "\"\"",
        "\"registry\"",
        "\"admin\"",
        "\"<script>alert(1)</script>\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"xn--\"",
        "\"a@b\"",
        "[]",
        "{}",
        "\"2026-13-45T99:00:00Z\"",
        "\"ünïcödé.例え\"",
        "[1,2,3]",
        "{\"a\":{\"b\":[]}}",
    ];
    match rng.next() % 4 {
        0 => {
            let bytes: Vec<u8> = (0..rng.next() % 64)
                .map(|_| (rng.next() % 256) as u8)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        1 => rng.pick(&values).to_owned(),
        _ => {
            let fields: Vec<String> = (0..rng.next() % 6)
                .map(|_| format!("\"{}\": {}", rng.pick(&keys), rng.pick(&values)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

#[tokio::test]
async fn no_input_makes_the_server_fail() {
    let app = App::new(Backend::Sqlite).await;
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let targets = [
        "/api/v1/login",
        "/api/v1/organisations",
        "/api/v1/organisations/{registry}/users",
        "/api/v1/users/{registry_user}/tokens",
        "/api/v1/tlds",
    ];
    let mut statuses = std::collections::BTreeSet::new();
    for case in 0..600 {
        let target = targets[case % targets.len()]
            .replace("{registry}", &app.registry.to_string())
            .replace("{registry_user}", &app.registry_user.to_string());
        let body = garbage(&mut rng);
        let (status, value) = raw(&app, &target, "application/json", body.clone()).await;
        assert!(
            status.as_u16() < 500,
            "case {case}: POST {target} {body:?} -> {status} {value}"
        );
        if !status.is_success() {
            assert!(
                value["error"]["message"].is_string(),
                "case {case}: {value}"
            );
        }
        statuses.insert(status.as_u16());
    }
    let odd_paths = [
        "/api/v1/organisations/-1",
        "/api/v1/organisations/99999999999999999999",
        "/api/v1/organisations/%00",
        "/api/v1/tokens/1.5",
        "/api/v1/audit?after=-5&limit=1000",
        "/api/v1/audit?after=99999999999999999999",
        "/api/v1/organisations/1/users/../../tlds",
    ];
    for path in odd_paths {
        let (status, value) = app.call(Method::GET, path, Some(&app.admin), None).await;
        assert!(status.as_u16() < 500, "GET {path} -> {status} {value}");
    }
    assert!(
        statuses.contains(&400) && statuses.contains(&422),
        "the inputs reach both the parser and the checks: {statuses:?}"
    );
}

#[tokio::test]
async fn registrars_are_shared_by_registries_and_private_to_their_own_staff() {
    let app = App::new(Backend::Sqlite).await;
    let (_, me) = app
        .call(
            Method::GET,
            "/api/v1/me",
            Some(app.token(Role::RegistrarStaff)),
            None,
        )
        .await;
    let registrar_org = me["org_id"].as_i64().unwrap();
    let create = |body: Value| {
        app.call(
            Method::POST,
            "/api/v1/registrars",
            Some(&app.admin),
            Some(body),
        )
    };
    let (status, own) = create(json!({"name": "Registry's own", "internal": true,
        "abuse_email": "abuse@nic.demo", "abuse_phone": "+1.5555550100"}))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let (status, linked) = create(json!({"name": "Linked Registrar", "iana_id": 1234,
        "org_id": registrar_org, "abuse_email": "Abuse@Linked.example", "abuse_phone": "+1.5555550101"})).await;
    assert_eq!(status, StatusCode::CREATED, "{linked}");
    assert_eq!(linked["abuse_email"], "abuse@linked.example");

    let (status, second_internal) = create(json!({"name": "Another own", "internal": true,
        "abuse_email": "abuse@nic.demo", "abuse_phone": "+1"}))
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{second_internal}");
    let (status, wrong_org) = create(json!({"name": "Wrong org", "org_id": app.registry,
        "abuse_email": "abuse@x.example", "abuse_phone": "+1"}))
    .await;
    assert_eq!(
        (status, &wrong_org["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("org_id"))
    );
    let (status, bad_mail) = create(json!({"name": "No mail", "abuse_email": "nobody",
        "abuse_phone": "+1"}))
    .await;
    assert_eq!(
        (status, &bad_mail["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("abuse_email"))
    );

    let names = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, seen_by_registry) = app
        .call(
            Method::GET,
            "/api/v1/registrars",
            Some(app.token(Role::RegistryStaff)),
            None,
        )
        .await;
    assert_eq!(
        names(&seen_by_registry),
        ["Linked Registrar", "Matrix Registrar", "Registry's own"]
    );
    let (_, seen_by_registrar) = app
        .call(
            Method::GET,
            "/api/v1/registrars",
            Some(app.token(Role::RegistrarStaff)),
            None,
        )
        .await;
    assert_eq!(
        names(&seen_by_registrar),
        ["Linked Registrar", "Matrix Registrar"]
    );
}

// --- The web interface: the same permissions through the pages, sessions, CSRF, escaping ---

/// A page's answer: status, headers, and the HTML.
async fn page(
    app: &App,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    host: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let body = form.map(common::urlencoded);
    let (status, headers, bytes) =
        common::browse(&app.router, method, path, host, cookie, body).await;
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The value of the first hidden field `name` of a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A fresh one-time form token.
fn once(n: usize) -> String {
    format!("{n:032x}")
}

/// The pages' answers, callers in the matrix's order; without a session a page sends the
/// browser to sign in (303).
#[rustfmt::skip]
fn page_matrix() -> Vec<Row> {
    vec![
        (Method::GET,  "/",                               [200, 200, 200, 200, 200, 303]),
        (Method::GET,  "/signin",                         [303, 303, 303, 303, 303, 200]),
        // Without the cookie paired with the sign-in form, nobody signs in.
        (Method::POST, "/signin",                         [403, 403, 403, 403, 403, 403]),
        (Method::GET,  "/desk",                           [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/desk?threat_type=phishing&state=all", [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/desk/cases/{case}",              [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/desk/cases/{other_case}/steps",  [303, 409, 403, 403, 403, 303]),
        (Method::POST, "/desk/cases/{case}/actions",      [409, 409, 403, 403, 403, 303]),
        (Method::POST, "/desk/cases/{case}/actions/preview", [409, 409, 403, 403, 403, 303]),
        (Method::POST, "/desk/cases/{case}/merge",        [422, 422, 403, 403, 403, 303]),
        (Method::POST, "/desk/cases/{case}/split",        [422, 422, 403, 403, 403, 303]),
        // No file in the matrix's form: refused at the file field.
        (Method::POST, "/desk/cases/{case}/evidence",     [422, 422, 403, 403, 403, 303]),
        (Method::GET,  "/desk/actions",                   [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/desk/actions",                   [303, 303, 403, 403, 403, 303]),
        (Method::POST, "/desk/actions/preview",           [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/desk/actions/{action}",          [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/desk/blocks",                    [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/statistics",                     [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/statistics?period=week&from=2026-01-01&tld=", [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/statistics?from=2026-13-01",     [400, 400, 403, 403, 403, 303]),
        (Method::GET,  "/statistics.csv?period=quarter",  [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/desk/actions/{action}/undo",     [409, 409, 403, 403, 403, 303]),
        (Method::POST, "/desk/actions/{action}/approve",  [303, 409, 403, 403, 403, 303]),
        (Method::GET,  "/evidence/{evidence}",            [200, 200, 404, 404, 200, 303]),
        (Method::GET,  "/portal",                         [200, 200, 200, 403, 200, 303]),
        (Method::GET,  "/registrar",                      [403, 403, 200, 403, 403, 303]),
        (Method::POST, "/registrar/referrals/{referral}/answer", [403, 403, 404, 403, 403, 303]),
        (Method::GET,  "/domains",                        [200, 200, 200, 403, 403, 303]),
        (Method::GET,  "/domains/{domain}",               [200, 200, 200, 403, 403, 303]),
        (Method::GET,  "/waivers",                        [200, 200, 200, 200, 403, 303]),
        (Method::GET,  "/waivers/new",                    [403, 200, 200, 403, 403, 303]),
        (Method::GET,  "/waivers/issued",                 [200, 200, 200, 200, 403, 303]),
        (Method::POST, "/waivers/new",                    [403, 303, 303, 403, 403, 303]),
        (Method::GET,  "/waivers/{srw}/edit",             [403, 200, 404, 403, 403, 303]),
        (Method::POST, "/waivers/{srw}/edit",             [403, 303, 404, 403, 403, 303]),
        (Method::GET,  "/waivers/{srw}",                  [200, 200, 404, 404, 403, 303]),
        (Method::POST, "/waivers/{srw}/review",           [403, 422, 404, 404, 403, 303]),
        (Method::POST, "/waivers/{srw}/attachments",      [403, 422, 404, 404, 403, 303]),
        (Method::GET,  "/waivers/attachments/{attachment}", [404, 404, 404, 404, 404, 303]),
        (Method::GET,  "/waivers/{srw}/report",           [403, 200, 404, 404, 403, 303]),
        (Method::POST, "/waivers/{srw}/report",           [403, 422, 404, 404, 403, 303]),
        (Method::GET,  "/report",                         [200, 200, 200, 200, 200, 200]),
        (Method::GET,  "/admin",                          [200, 200, 200, 200, 200, 303]),
        (Method::POST, "/admin/organisations",            [422, 403, 403, 403, 403, 303]),
        (Method::GET,  "/admin/organisations/{registry}", [200, 200, 404, 404, 404, 303]),
        (Method::POST, "/admin/organisations/{registry}/users", [422, 403, 403, 403, 403, 303]),
        // Without `disabled=true` the form enables the (enabled) user: nothing changes.
        (Method::POST, "/admin/users/{registry_user}/disabled", [303, 403, 403, 403, 403, 303]),
        (Method::POST, "/admin/organisations/{reporter_org}/verify-lea", [303, 403, 403, 403, 403, 303]),
        (Method::GET,  "/admin/tokens",                   [200, 200, 200, 200, 200, 303]),
        (Method::POST, "/admin/tokens",                   [422, 422, 422, 422, 422, 303]),
        (Method::POST, "/admin/tokens/{token}/revoke",    [404, 404, 404, 404, 404, 303]),
        (Method::GET,  "/admin/tlds",                     [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/admin/tlds",                     [422, 403, 403, 403, 403, 303]),
        (Method::POST, "/admin/tlds/{tld}/sinkhole",      [422, 403, 403, 403, 403, 303]),
        (Method::GET,  "/admin/registrars",               [200, 200, 200, 403, 403, 303]),
        (Method::POST, "/admin/registrars",               [422, 403, 403, 403, 403, 303]),
        (Method::GET,  "/admin/desks/{registry}",         [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/admin/desks/{registry}",         [422, 422, 403, 403, 403, 303]),
        (Method::POST, "/admin/desks/{registry}/calendar", [422, 422, 403, 403, 403, 303]),
        (Method::POST, "/admin/desks/{registry}/holidays", [422, 422, 403, 403, 403, 303]),
        (Method::POST, "/admin/desks/{registry}/holidays/remove", [422, 422, 403, 403, 403, 303]),
        (Method::GET,  "/admin/templates",                [200, 200, 403, 403, 403, 303]),
        (Method::GET,  "/admin/templates/{event}",        [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/admin/templates/{event}",        [422, 422, 403, 403, 403, 303]),
        (Method::GET,  "/admin/sources",                  [200, 200, 403, 403, 403, 303]),
        (Method::POST, "/admin/sources",                  [422, 422, 403, 403, 403, 303]),
        (Method::POST, "/signout",                        [303, 303, 303, 303, 303, 303]),
    ]
}

#[tokio::test]
async fn every_role_gets_exactly_its_answer_from_every_page() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = App::new(backend).await;
        let mut failures = Vec::new();
        let mut n = 0;
        for (method, template, expected) in page_matrix() {
            let path = template
                .replace("{referral}", "999999")
                .replace("{domain}", "example.matrix")
                .replace("{case}", &app.case.to_string())
                .replace("{other_case}", &app.other_case.to_string())
                .replace("{action}", &app.action.to_string())
                .replace("{evidence}", &app.evidence.to_string())
                .replace("{srw}", &app.srw.to_string())
                .replace("{registry}", &app.registry.to_string())
                .replace("{reporter_org}", &app.reporter_org.to_string())
                .replace("{registry_user}", &app.registry_user.to_string())
                .replace("{tld}", &app.tld.to_string())
                .replace("{token}", "999999")
                .replace("{attachment}", "999999")
                .replace("{event}", "acknowledgment");
            let callers: Vec<Option<String>> = Role::ALL
                .into_iter()
                .map(|role| Some(format!("holdfast_session=0.{}", app.token(role))))
                .chain([None])
                .collect();
            for (cookie, want) in callers.iter().zip(expected) {
                n += 1;
                let form = match (&method, cookie) {
                    (&Method::POST, Some(cookie)) => {
                        let (_, _, home) =
                            page(&app, Method::GET, "/", Some(cookie), None, "127.0.0.1").await;
                        let csrf = hidden(&home, "csrf");
                        Some(format!(
                            "csrf={csrf}&once={}&step=acknowledge&kind=no-action&names=example.matrix\
                             &reason=matrix&answer=done",
                            once(n)
                        ))
                    }
                    (&Method::POST, None) => Some("step=acknowledge".to_owned()),
                    _ => None,
                };
                let (status, headers, html) = page(
                    &app,
                    method.clone(),
                    &path,
                    cookie.as_deref(),
                    form.as_deref(),
                    "127.0.0.1",
                )
                .await;
                if status.as_u16() != want {
                    failures.push(format!(
                        "{method} {path} as {cookie:?}: want {want}, got {status}"
                    ));
                }
                let download = path.starts_with("/evidence") || path.contains(".csv");
                if status == StatusCode::OK && !download {
                    let csp = headers["content-security-policy"].to_str().unwrap();
                    assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
                    assert!(html.starts_with("<!doctype html>"), "{path}");
                }
            }
        }
        assert!(failures.is_empty(), "{backend:?}:\n{}", failures.join("\n"));
        // Without a session, a page sends the browser to sign in and back.
        let (_, headers, _) = page(&app, Method::GET, "/portal", None, None, "x").await;
        assert_eq!(headers["location"], "/signin?next=%2Fportal");
    }
}

#[tokio::test]
async fn the_pages_sign_in_protect_their_forms_and_escape_what_reporters_wrote() {
    let app = App::new(Backend::Sqlite).await;
    // Sign-in: the form pairs with a cookie; a wrong password keeps the address typed.
    let (status, headers, html) = page(&app, Method::GET, "/signin", None, None, "127.0.0.1").await;
    assert_eq!(status, StatusCode::OK);
    let pairing = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(pairing.starts_with("holdfast_signin=") && pairing.contains("SameSite=Strict"));
    let signin_cookie = pairing.split(';').next().unwrap().to_owned();
    let csrf = hidden(&html, "csrf");
    let unpaired =
        format!("csrf={csrf}&email=user0%40org0.example&password=a+long+enough+password");
    let (status, _, _) = page(
        &app,
        Method::POST,
        "/signin",
        None,
        Some(&unpaired),
        "127.0.0.1",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a sign-in without the form's cookie is refused"
    );
    let wrong = format!("csrf={csrf}&email=user0%40org0.example&password=wrong+password+1");
    let (status, _, html) = page(
        &app,
        Method::POST,
        "/signin",
        Some(&signin_cookie),
        Some(&wrong),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("value=\"user0@org0.example\"") && html.contains("password is wrong"));
    let right = format!("{unpaired}&next=%2Fdesk");
    let (status, headers, _) = page(
        &app,
        Method::POST,
        "/signin",
        Some(&signin_cookie),
        Some(&right),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/desk");
    let set = headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("holdfast_session="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && !set.contains("Secure"));
    let session = set.split(';').next().unwrap().to_owned();
    // Served under a real host name (behind the TLS proxy) the cookie is Secure.
    let (_, headers, _) = page(
        &app,
        Method::POST,
        "/signin",
        Some(&signin_cookie),
        Some(&right),
        "desk.example",
    )
    .await;
    assert!(headers["set-cookie"].to_str().unwrap().contains("; Secure"));

    // A report with hostile text: shown as text on the case page.
    let reporter = app
        .service
        .authenticate(
            app.token(Role::Reporter),
            Timestamp::from_second(1_795_000_000).unwrap(),
        )
        .await
        .unwrap();
    let hostile = ReportRequest {
        threat_type: Some(ThreatType::Malware),
        names: vec!["example.matrix".into()],
        description: "<script>alert(1)</script><img src=x onerror=alert(2)>".into(),
        ..ReportRequest::default()
    };
    app.service
        .submit_report(
            Submitter::User(reporter),
            hostile,
            Timestamp::from_second(1_795_000_000).unwrap(),
        )
        .await
        .unwrap();
    let case = format!("/desk/cases/{}", app.case);
    let (status, _, html) = page(&app, Method::GET, &case, Some(&session), None, "127.0.0.1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x"),
        "{html}"
    );
    assert!(!html.contains("<script>alert") && !html.contains("<img src=x"));
    let csrf = hidden(&html, "csrf");

    // A forged form (no or another session's token) does nothing.
    let steps = format!("{case}/steps");
    let forged = format!("csrf=0123&once={}&step=acknowledge", once(1));
    let (status, _, _) = page(
        &app,
        Method::POST,
        &steps,
        Some(&session),
        Some(&forged),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, html) = page(&app, Method::GET, &case, Some(&session), None, "127.0.0.1").await;
    assert!(html.contains("<dd id=\"case-state\"><strong>new</strong>"));

    // Acknowledge; the same form again is recognised.
    let acknowledge = format!("csrf={csrf}&once={}&step=acknowledge", once(2));
    let (status, headers, _) = page(
        &app,
        Method::POST,
        &steps,
        Some(&session),
        Some(&acknowledge),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], format!("{case}?done=acknowledge"));
    let (status, headers, _) = page(
        &app,
        Method::POST,
        &steps,
        Some(&session),
        Some(&acknowledge),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], format!("{case}?done=repeat"));

    // An assessment without a rationale: the error at the field, the input kept.
    let assess = format!(
        "csrf={csrf}&once={}&step=assess&priority=high&threat_type=phishing\
         &responsible_party=registrar&course_of_action=Hold+%3Cb%3Eit%3C%2Fb%3E",
        once(3)
    );
    let (status, _, html) = page(
        &app,
        Method::POST,
        &steps,
        Some(&session),
        Some(&assess),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("<p class=\"error\" id=\"priority_rationale-error\">must not be empty</p>"),
        "{html}"
    );
    assert!(
        html.contains(">Hold &#60;b&#62;it&#60;/b&#62;</textarea>"),
        "the input is kept, escaped"
    );
    assert!(html.contains("<option value=\"high\" selected>"));
    let assess = format!(
        "{}&priority_rationale=live+kit",
        assess.replace(&once(3), &once(4))
    );
    let (status, _, _) = page(
        &app,
        Method::POST,
        &steps,
        Some(&session),
        Some(&assess),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // An action decided twice with the same form acts once.
    let decide = format!(
        "csrf={csrf}&once={}&kind=no-action&names=example.matrix&reason=nothing+to+do",
        once(5)
    );
    let actions = format!("{case}/actions");
    for _ in 0..2 {
        let (status, _, _) = page(
            &app,
            Method::POST,
            &actions,
            Some(&session),
            Some(&decide),
            "127.0.0.1",
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let registry = app
        .service
        .authenticate(
            app.token(Role::RegistryStaff),
            Timestamp::from_second(1_795_000_000).unwrap(),
        )
        .await
        .unwrap();
    let view = app
        .service
        .case(
            &registry,
            app.case,
            Timestamp::from_second(1_795_000_000).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(view.actions.len(), 1, "one action, not two");

    // Signing out ends the session for good.
    let signout = format!("csrf={csrf}");
    let (status, headers, _) = page(
        &app,
        Method::POST,
        "/signout",
        Some(&session),
        Some(&signout),
        "127.0.0.1",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, headers, _) =
        page(&app, Method::GET, &case, Some(&session), None, "127.0.0.1").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().starts_with("/signin"));
}

#[tokio::test]
async fn a_registrar_answers_its_referral_in_place() {
    use holdfast_model::{Priority, ResponsibleParty};
    use holdfast_service::CaseCommand;
    let app = App::new(Backend::Sqlite).await;
    let now = Timestamp::from_second(1_795_000_000).unwrap();
    let registry = app
        .service
        .authenticate(app.token(Role::RegistryStaff), now)
        .await
        .unwrap();
    app.service
        .case_step(&registry, app.case, CaseCommand::Acknowledge, now)
        .await
        .unwrap();
    let assess = CaseCommand::Assess {
        priority: Priority::Standard,
        priority_rationale: "a phishing page".into(),
        threat_type: ThreatType::Phishing,
        responsible_party: ResponsibleParty::Registrar,
        course_of_action: "refer to the registrar".into(),
        timeline: None,
    };
    app.service
        .case_step(&registry, app.case, assess, now)
        .await
        .unwrap();
    let refer = ActionRequest {
        kind: ActionKind::Refer,
        names: vec!["example.matrix".into()],
        reason: "please suspend".into(),
        case_ref: None,
        requested_by: None,
        to_registrar: None,
        until: None,
        deadline: None,
        legal_direction: None,
        emergency: false,
    };
    app.service
        .decide_case_action(&registry, app.case, refer, now)
        .await
        .unwrap();

    let cookie = format!("holdfast_session=0.{}", app.token(Role::RegistrarStaff));
    let (status, _, html) = page(&app, Method::GET, "/registrar", Some(&cookie), None, "h").await;
    assert_eq!(status, StatusCode::OK);
    let marker = "action=\"/registrar/referrals/";
    let start = html.find(marker).expect("an open referral with its form") + marker.len();
    let id: i64 = html[start..].split('/').next().unwrap().parse().unwrap();
    assert!(html.contains(&format!("Referral {id} (case {})", app.case)));
    assert!(html.contains("<a href=\"/domains/example.matrix\">example.matrix</a>"));
    assert!(
        html.contains("Deadline</dt><dd>") && html.contains(" — in "),
        "{html}"
    );
    let csrf = hidden(&html, "csrf");

    let answer = format!("/registrar/referrals/{id}/answer");
    let blank = format!("csrf={csrf}&once={}&answer=+", once(1));
    let (status, _, html) = page(
        &app,
        Method::POST,
        &answer,
        Some(&cookie),
        Some(&blank),
        "h",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(&format!(
            "<p class=\"error\" id=\"answer-{id}-error\">must not be empty</p>"
        )),
        "{html}"
    );
    let done = format!("csrf={csrf}&once={}&answer=Suspended+%3Cnow%3E", once(2));
    let (status, headers, _) =
        page(&app, Method::POST, &answer, Some(&cookie), Some(&done), "h").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/registrar?done=answered");
    let (_, _, html) = page(
        &app,
        Method::GET,
        "/registrar?done=answered",
        Some(&cookie),
        None,
        "h",
    )
    .await;
    assert!(html.contains("Your answer is sent"));
    assert!(html.contains("Suspended &#60;now&#62;"), "{html}");
    assert!(
        !html.contains(marker),
        "nothing waits for an answer any more"
    );

    // The desk sees the answer in the case's thread.
    let desk = format!("holdfast_session=0.{}", app.token(Role::RegistryStaff));
    let (_, _, html) = page(
        &app,
        Method::GET,
        &format!("/desk/cases/{}", app.case),
        Some(&desk),
        None,
        "h",
    )
    .await;
    assert!(
        html.contains(&format!("In: [case {}] Answer to referral {id}", app.case)),
        "{html}"
    );
}

/// The page routes as `ui::routes` declares them: method and path, parameters as `{}`.
fn declared_pages() -> Vec<(String, String)> {
    let source = include_str!("../src/ui/mod.rs");
    let start = source.find("pub fn routes()").unwrap();
    let end = start + source[start..].find("\n}\n").unwrap();
    let mut declared = Vec::new();
    for chunk in source[start..end].split(".route(").skip(1) {
        let Some(path) = chunk
            .strip_prefix('"')
            .and_then(|rest| rest.split('"').next())
        else {
            continue; // the assets, served to anyone
        };
        for (call, method) in [("get(", "GET"), ("post(", "POST")] {
            if chunk.contains(call) {
                declared.push((method.to_owned(), normalised(path)));
            }
        }
    }
    declared
}

/// A path with its parameters as `{}` and without its query.
fn normalised(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_parameter = true;
                out.push_str("{}");
            }
            '}' => in_parameter = false,
            _ if in_parameter => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn the_page_matrix_covers_every_page() {
    let covered: Vec<(String, String)> = page_matrix()
        .into_iter()
        .map(|(method, path, _)| (method.as_str().to_owned(), normalised(path)))
        .collect();
    let declared = declared_pages();
    assert!(declared.len() >= 15, "{declared:?}");
    for page in &declared {
        assert!(covered.contains(page), "{page:?} is not in the page matrix");
    }
}

#[tokio::test]
async fn a_bulk_action_from_the_pages_shows_its_progress_every_name_and_the_blocks_list() {
    let app = App::new(Backend::Sqlite).await;
    let cookie = format!("holdfast_session=0.{}", app.token(Role::RegistryStaff));
    let (_, _, html) = page(&app, Method::GET, "/desk/actions", Some(&cookie), None, "h").await;
    let csrf = hidden(&html, "csrf");
    let names: String = (0..2_500).map(|i| format!("dga{i}.matrix\n")).collect();
    let encoded: String =
        form_urlencoded::byte_serialize(format!("# the DGA's names\n{names}").as_bytes()).collect();

    // A block without its end date: the error at the field, the 2,500 names kept.
    let form = format!(
        "csrf={csrf}&once={}&kind=block&reason=DGA&names={encoded}",
        once(1)
    );
    let (status, _, html) = page(
        &app,
        Method::POST,
        "/desk/actions",
        Some(&cookie),
        Some(&form),
        "h",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("<p class=\"error\" id=\"until-error\">a block needs the date it lifts</p>")
    );
    assert!(html.contains("dga2499.matrix\n</textarea>"));

    let form = format!(
        "csrf={csrf}&once={}&kind=block&reason=DGA&until=2030-01-31&names={encoded}",
        once(2)
    );
    let (status, headers, _) = page(
        &app,
        Method::POST,
        "/desk/actions",
        Some(&cookie),
        Some(&form),
        "h",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_owned();
    let id: i64 = location
        .strip_prefix("/desk/actions/")
        .and_then(|rest| rest.split('?').next())
        .unwrap()
        .parse()
        .unwrap();
    common::settle(&app.router, app.token(Role::RegistryStaff), id, false).await;
    let (status, _, html) = page(&app, Method::GET, &location, Some(&cookie), None, "h").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<progress max=\"2500\" value=\"2500\""),
        "{html}"
    );
    assert!(html.contains("2500 of 2500 names") && html.contains("2500 applied"));
    assert!(html.contains("<td>dga199.matrix</td>") && !html.contains("<td>dga200.matrix</td>"));
    let next = format!("/desk/actions/{id}?after=");
    let start = html.find(&next).expect("a link to the next names") + next.len();
    let after: i64 = html[start..].split('"').next().unwrap().parse().unwrap();
    let (_, _, html) = page(
        &app,
        Method::GET,
        &format!("{next}{after}"),
        Some(&cookie),
        None,
        "h",
    )
    .await;
    // Names are kept in the order given; the 201st name given is dga200.
    assert!(
        html.contains("<td>dga200.matrix</td><td>applied</td>"),
        "{html}"
    );
    // The list shows it finished.
    let (_, _, html) = page(&app, Method::GET, "/desk/actions", Some(&cookie), None, "h").await;
    assert!(html.contains(&format!(
        "<a href=\"/desk/actions/{id}\">Action {id}</a>: block"
    )));

    // One more block that lifts in two days: the blocks list puts it first and marks it.
    let form = format!(
        "csrf={csrf}&once={}&kind=block&reason=look-alike&until=2026-11-20&names=soon.matrix",
        once(3)
    );
    let (status, headers, _) = page(
        &app,
        Method::POST,
        "/desk/actions",
        Some(&cookie),
        Some(&form),
        "h",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "now is 2026-11-18");
    let soon: i64 = headers["location"].to_str().unwrap()["/desk/actions/".len()..]
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    common::settle(&app.router, app.token(Role::RegistryStaff), soon, false).await;
    let (status, _, html) = page(&app, Method::GET, "/desk/blocks", Some(&cookie), None, "h").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(
            "<strong>2501</strong> name(s) blocked; <strong>1</strong> lift within 7 days"
        ),
        "{html}"
    );
    let first = html.find("<a href=\"/domains/soon.matrix\">").unwrap();
    assert!(first < html.find("<a href=\"/domains/dga0.matrix\">").unwrap());
    assert!(
        html[first..].contains("<span class=\"badge due_soon\">lifts in 1 d"),
        "{html}"
    );
    // Registrars do not see the registry's blocks.
    let registrar = format!("holdfast_session=0.{}", app.token(Role::RegistrarStaff));
    let (status, _, _) = page(
        &app,
        Method::GET,
        "/desk/blocks",
        Some(&registrar),
        None,
        "h",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
