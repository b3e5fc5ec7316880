//! Security Response Waiver requests through the API, on both databases: a draft says what it
//! lacks, an incomplete request cannot be submitted, a complete one starts the review clocks in
//! business days of the reviewers' (Los Angeles) calendar, and each side sees only what it may.
//! Decisions issue and update waivers; the clocks remind and record breaches; the after-action
//! report is published only redacted (HTML and PDF, checked with poppler's `pdftoppm` and
//! `pdftotext`); the published yearly figures of 2019 and 2020 are rebuilt from requests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::FakeClock;
use holdfast_http::{AppState, router};
use holdfast_model::org::{OrgKind, Role};
use holdfast_service::{NewOrganisation, NewUserRequest, Service};
use holdfast_store::Backend;
use holdfast_store::testing::TestStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Who calls: an index into [`World::tokens`].
const REGISTRY: usize = 0;
const OTHER: usize = 1;
const REVIEWER: usize = 2;
const REGISTRAR: usize = 3;
const ADMIN: usize = 4;

/// A registry, another registry, ICANN's reviewers and a registrar, each with a token, and an
/// admin; the API on a store of `backend` with a clock the test moves.
struct World {
    router: Router,
    service: Service,
    clock: Arc<FakeClock>,
    tokens: Vec<String>,
    orgs: Vec<i64>,
    _db: TestStore,
}

impl World {
    async fn new(backend: Backend, now: Timestamp) -> World {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        let admin = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin_actor = service.authenticate(&admin, now).await.unwrap();
        let mut tokens = Vec::new();
        let mut orgs = Vec::new();
        for (name, kind) in [
            ("Registry", OrgKind::Registry),
            ("Other Registry", OrgKind::Registry),
            ("ICANN SRT", OrgKind::Reviewer),
            ("Registrar", OrgKind::Registrar),
        ] {
            let org = NewOrganisation {
                name: name.into(),
                kind,
                reason: String::new(),
            };
            let org = service
                .create_organisation(&admin_actor, org, now)
                .await
                .unwrap();
            let user = NewUserRequest {
                email: format!("staff@{}.example", org.id),
                display_name: name.into(),
                role: kind.role(),
                password: None,
                reason: String::new(),
            };
            let user = service
                .create_user(&admin_actor, org.id, user, now)
                .await
                .unwrap();
            let token = service
                .issue_token(&admin_actor, user.id, "t", None, now)
                .await;
            tokens.push(token.unwrap().token);
            orgs.push(org.id);
        }
        tokens.push(admin);
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let router = router(AppState::new(service.clone(), clock.clone()));
        World {
            router,
            service,
            clock,
            tokens,
            orgs,
            _db: db,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: impl AsRef<str>,
        who: usize,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::call(
            &self.router,
            method,
            path.as_ref(),
            Some(&self.tokens[who]),
            body,
        )
        .await
    }

    /// A public page or file: its status, content type and bytes.
    async fn public(&self, path: &str) -> (StatusCode, String, Vec<u8>) {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, content_type, bytes.to_vec())
    }

    /// A page of the web interface as `who` sees it: status and HTML.
    async fn page(&self, path: &str, who: usize) -> (StatusCode, Value) {
        let request = Request::get(path)
            .header("cookie", format!("holdfast_session=0.{}", self.tokens[who]))
            .body(Body::empty())
            .unwrap();
        common::send(&self.router, request).await
    }

    /// Sends a form of the page at `page` to `action` as `who`, with the page's CSRF and
    /// one-time tokens and `fields` (URL-encoded).
    async fn submit_form(
        &self,
        who: usize,
        page: &str,
        action: &str,
        fields: &str,
    ) -> (StatusCode, Value) {
        let (_, html) = self.page(page, who).await;
        let html = html.as_str().unwrap().to_owned();
        let hidden = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            let start = html.find(&marker).unwrap() + marker.len();
            html[start..start + html[start..].find('"').unwrap()].to_owned()
        };
        let body = format!("csrf={}&once={}&{fields}", hidden("csrf"), hidden("once"));
        let request = Request::post(action)
            .header("cookie", format!("holdfast_session=0.{}", self.tokens[who]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        common::send(&self.router, request).await
    }

    fn set_now(&self, at: Timestamp) {
        *self.clock.0.lock().unwrap() = at;
    }

    /// Drafts and submits a complete request as `who`; its id.
    async fn submit(&self, who: usize, request: Value) -> i64 {
        let (status, created) = self
            .call(Method::POST, "/api/v1/srw", who, Some(request))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        let (status, submitted) = self
            .call(Method::POST, format!("/api/v1/srw/{id}/submit"), who, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{submitted}");
        id
    }

    /// Takes review `step` on request `id` as `who`, which must succeed; the request after it.
    async fn step(&self, id: i64, who: usize, step: Value) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                format!("/api/v1/srw/{id}/review"),
                who,
                Some(step),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Assigns, confirms and discusses request `id` at `at` plus 10, 60 and 120 minutes.
    async fn review_until_discussed(&self, id: i64, at: Timestamp) {
        for (minutes, step) in [
            (
                10,
                json!({ "step": "assign_reviewer", "reviewer": "Jane Reviewer" }),
            ),
            (60, json!({ "step": "confirm_incident" })),
            (120, json!({ "step": "discuss" })),
        ] {
            self.set_now(at + SignedDuration::from_mins(minutes));
            self.step(id, REVIEWER, step).await;
        }
    }
}

/// A complete request about `count` names in `tlds`.
fn request(tlds: &[&str], count: u64, action_taken: bool) -> Value {
    json!({
        "incident_type": "malicious_dns_activity",
        "description": "a botnet's DGA registers command-and-control names",
        "tlds": tlds, "name_count": count, "action_taken": action_taken,
        "response": "register the DGA names to our own registrar, delegated to the sinkhole",
        "urgency": "high", "expedited": false, "provisions": ["Specification 6, section 1.1"],
        "period": { "start": "2019-01-01T00:00:00Z", "end": "2031-01-01T00:00:00Z" },
        "contacts": [{ "name": "Desk", "email": "abuse@registry.example" }]
    })
}

/// The terms of a waiver for the DGA names of `tlds` in December 2026.
fn terms(tlds: &[&str]) -> Value {
    json!({
        "tlds": tlds, "provisions": ["Specification 6, section 1.1"], "actions": ["create"],
        "coverage": { "dga": { "family": "conficker.c",
                                "dates": { "first": "2026-12-01", "last": "2026-12-31" } } },
        "valid": { "start": "2026-11-01T00:00:00Z", "end": "2027-02-01T00:00:00Z" },
        "conditions": ["delegate only to the registry's sinkhole"]
    })
}

#[tokio::test]
async fn a_request_is_drafted_checked_submitted_and_reviewed_on_business_days() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // Friday 27 November 2026, 16:00 in Los Angeles (the day after Thanksgiving).
        let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let world = World::new(backend, now).await;
        assert_eq!(Role::Reviewer, OrgKind::Reviewer.role());
        let call = |method: Method, path: String, who: usize, body: Option<Value>| {
            world.call(method, path, who, body)
        };
        let (registry, other, reviewer, registrar) = (REGISTRY, OTHER, REVIEWER, REGISTRAR);

        let draft = json!({ "incident_type": "malicious_dns_activity",
                            "description": "Conficker-like DGA registering in .alpha" });
        let (status, created) =
            call(Method::POST, "/api/v1/srw".into(), registry, Some(draft)).await;
        assert_eq!(status, StatusCode::CREATED, "{backend:?} {created}");
        assert_eq!(created["state"], "draft");
        let missing: Vec<&str> = created["missing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().split(':').next().unwrap())
            .collect();
        for field in [
            "tlds",
            "names",
            "action_taken",
            "response",
            "urgency",
            "provisions",
            "period",
            "contacts",
        ] {
            assert!(missing.contains(&field), "{field} not in {missing:?}");
        }
        let id = created["id"].as_i64().unwrap();
        // A file attached to the draft is listed with its hash; its name cannot climb paths.
        let request = Request::post(format!(
            "/api/v1/srw/{id}/attachments?filename=..%2Fcourt-order.pdf"
        ))
        .header(
            "authorization",
            format!("Bearer {}", world.tokens[REGISTRY]),
        )
        .header("content-type", "application/pdf")
        .body(Body::from(&b"%PDF-1.4 court order"[..]))
        .unwrap();
        let (status, attached) = common::send(&world.router, request).await;
        assert_eq!(status, StatusCode::CREATED, "{attached}");
        assert_eq!(attached["filename"], "court-order.pdf");
        assert_eq!(attached["sha256"], sha256_hex(b"%PDF-1.4 court order"));
        let file = attached["id"].as_i64().unwrap();
        let (status, error) = call(
            Method::POST,
            format!("/api/v1/srw/{id}/submit"),
            registry,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("tlds") && message.contains("contacts"),
            "{message}"
        );
        // A typo in a field name is refused by name, not ignored.
        let (status, error) = call(
            Method::PUT,
            format!("/api/v1/srw/{id}"),
            registry,
            Some(json!({ "tld": ["alpha"] })),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

        // Reviewers do not see drafts; other requesters never see it.
        let (status, _) = call(Method::GET, format!("/api/v1/srw/{id}"), reviewer, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(Method::GET, format!("/api/v1/srw/{id}"), other, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let complete = json!({
            "incident_type": "malicious_dns_activity",
            "description": "Conficker-like DGA registering in .alpha",
            "tlds": ["alpha"], "name_count": 50000, "dga_family": "conficker.c",
            "dga_dates": { "first": "2026-12-01", "last": "2026-12-31" },
            "action_taken": false, "response": "register the DGA names to our own registrar",
            "urgency": "high", "expedited": true, "provisions": ["Specification 6"],
            "period": { "start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z" },
            "contacts": [{ "name": "Desk", "email": "abuse@registry.example" }]
        });
        let (status, edited) = call(
            Method::PUT,
            format!("/api/v1/srw/{id}"),
            registry,
            Some(complete),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["missing"], json!([]), "{edited}");
        let (status, submitted) = call(
            Method::POST,
            format!("/api/v1/srw/{id}/submit"),
            registry,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{submitted}");
        assert_eq!(submitted["state"], "submitted");
        let (_, shown) = call(Method::GET, format!("/api/v1/srw/{id}"), reviewer, None).await;
        assert_eq!(shown["files"][0]["id"], file, "{shown}");
        assert_eq!(shown["submitted"]["attachments"], json!([file.to_string()]));
        let (status, content) = call(
            Method::GET,
            format!("/api/v1/srw/attachments/{file}"),
            reviewer,
            None,
        )
        .await;
        assert_eq!(
            (status, content),
            (StatusCode::OK, json!("%PDF-1.4 court order"))
        );
        let (status, _) = call(
            Method::GET,
            format!("/api/v1/srw/attachments/{file}"),
            other,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Submitted late on Friday in Los Angeles: confirm by Monday, answer by Wednesday.
        let due = |clock: &str| -> String {
            let deadline = submitted["deadlines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["clock"] == clock)
                .unwrap_or_else(|| panic!("no {clock} in {submitted}"));
            let at: Timestamp = deadline["due"].as_str().unwrap().parse().unwrap();
            at.in_tz("America/Los_Angeles").unwrap().date().to_string()
        };
        assert_eq!(due("confirm"), "2026-11-30");
        assert_eq!(due("answer"), "2026-12-02");
        let (status, _) = call(
            Method::PUT,
            format!("/api/v1/srw/{id}"),
            registry,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "a submitted request is not a draft"
        );

        let (status, queue) = call(Method::GET, "/api/v1/srw".into(), reviewer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(queue.as_array().unwrap().len(), 1);
        let (_, theirs) = call(Method::GET, "/api/v1/srw".into(), other, None).await;
        assert_eq!(theirs, json!([]));
        let (status, _) = call(Method::GET, format!("/api/v1/srw/{id}"), registrar, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The review: out of order is refused with the reason; the requester answers in place.
        let review = format!("/api/v1/srw/{id}/review");
        let decide = json!({ "step": "decide", "decision": { "not_granted": { "reason": "x" } } });
        let (status, error) = call(Method::POST, review.clone(), reviewer, Some(decide)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        for (token, step) in [
            (
                reviewer,
                json!({ "step": "assign_reviewer", "reviewer": "Jane Reviewer" }),
            ),
            (reviewer, json!({ "step": "confirm_incident" })),
            (
                reviewer,
                json!({ "step": "ask_information", "message": "Which registrars sponsor the names?" }),
            ),
        ] {
            let (status, body) = call(Method::POST, review.clone(), token, Some(step)).await;
            assert_eq!(status, StatusCode::OK, "{backend:?} {body}");
        }
        let (status, error) = call(
            Method::POST,
            review.clone(),
            registry,
            Some(json!({ "step": "answer_information" })),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "an answer says something"
        );
        assert_eq!(error["error"]["field"], "message");
        let answer = json!({ "step": "answer_information",
                             "message": "None: the names are not registered yet. <b>DGA</b>" });
        let (status, _) = call(Method::POST, review.clone(), reviewer, Some(answer.clone())).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the requester answers, not the reviewer"
        );
        let (status, _) = call(Method::POST, review.clone(), other, Some(answer.clone())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, answered) = call(Method::POST, review.clone(), registry, Some(answer)).await;
        assert_eq!(status, StatusCode::OK, "{answered}");
        assert_eq!(answered["state"], "information_answered");
        let thread: Vec<(&str, &str)> = answered["thread"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["party"].as_str().unwrap(), m["text"].as_str().unwrap()))
            .collect();
        assert_eq!(
            thread,
            [
                ("reviewer", "Which registrars sponsor the names?"),
                (
                    "requester",
                    "None: the names are not registered yet. <b>DGA</b>"
                )
            ]
        );
        let note = json!({ "text": "We will call you tomorrow." });
        let (status, _) = call(
            Method::POST,
            format!("/api/v1/srw/{id}/messages"),
            other,
            Some(note.clone()),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "another registry is no side of it"
        );
        let (status, noted) = call(
            Method::POST,
            format!("/api/v1/srw/{id}/messages"),
            reviewer,
            Some(note),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(noted["thread"][2]["text"], "We will call you tomorrow.");
        // The same in the browser: the reviewers' queue and the request's page, text escaped.
        let world = &world;
        let page = |path: String, who: usize| async move { world.page(&path, who).await };
        let (status, queue) = page("/waivers".into(), REVIEWER).await;
        assert_eq!(status, StatusCode::OK);
        let queue = queue.as_str().unwrap();
        assert!(
            queue.contains(&format!("href=\"/waivers/{id}\"")),
            "{queue}"
        );
        let (status, shown) = page(format!("/waivers/{id}"), REGISTRY).await;
        assert_eq!(status, StatusCode::OK);
        let shown = shown.as_str().unwrap();
        assert!(
            shown.contains("Which registrars sponsor the names?"),
            "{shown}"
        );
        assert!(!shown.contains("<b>DGA"), "{shown}");
        assert!(shown.contains("&#60;b&#62;DGA"), "{shown}");
        assert!(shown.contains("court-order.pdf"), "{shown}");
        let (status, _) = page(format!("/waivers/{id}"), OTHER).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A review step taken in the page: refused without its question (the field says why,
        // what was typed stays), then asked; the requester answers in the same thread.
        let post = |who: usize, fields: String| async move {
            let path = format!("/waivers/{id}");
            world
                .submit_form(who, &path, &format!("{path}/review"), &fields)
                .await
        };
        let (status, refused) = post(REVIEWER, "step=ask_information&reviewer=kept".into()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let refused = refused.as_str().unwrap();
        assert!(refused.contains("id=\"message-error\""), "{refused}");
        assert!(refused.contains("value=\"kept\""), "{refused}");
        let (status, _) = post(
            REVIEWER,
            "step=ask_information&message=Since+when+does+the+DGA+run%3F".into(),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _) = post(
            REGISTRY,
            "step=answer_information&message=Since+1+December".into(),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, shown) = page(format!("/waivers/{id}"), REVIEWER).await;
        let shown = shown.as_str().unwrap();
        assert!(
            shown.contains("Since when does the DGA run?") && shown.contains("Since 1 December"),
            "{shown}"
        );
        for step in [
            json!({ "step": "discuss" }),
            json!({ "step": "decide", "decision": { "not_granted": { "reason": "no threat to the DNS shown" } } }),
        ] {
            let (status, body) = call(Method::POST, review.clone(), reviewer, Some(step)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (_, decided) = call(Method::GET, format!("/api/v1/srw/{id}"), registry, None).await;
        assert_eq!(decided["state"], "decided");
        assert_eq!(decided["review"]["reviewer"], "Jane Reviewer");
        assert_eq!(
            decided["review"]["decision"]["not_granted"]["reason"],
            "no threat to the DNS shown"
        );
    }
}

#[tokio::test]
async fn decisions_issue_and_update_waivers_and_refuse_waivers_that_are_not_there() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let now: Timestamp = "2026-11-30T18:00:00Z".parse().unwrap();
        let w = World::new(backend, now).await;
        let first = w.submit(REGISTRY, request(&["alpha"], 5000, false)).await;
        w.review_until_discussed(first, now).await;
        let review = format!("/api/v1/srw/{first}/review");
        let new_waiver = |terms: Option<Value>| {
            let mut step = json!({ "step": "decide", "decision": "new_waiver" });
            if let Some(terms) = terms {
                step["terms"] = terms;
            }
            step
        };
        let (status, error) = w
            .call(Method::POST, &review, REVIEWER, Some(new_waiver(None)))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["field"], "terms");
        let mut bad = terms(&["alpha"]);
        bad["tlds"] = json!([]);
        bad["actions"] = json!([]);
        let (status, error) = w
            .call(Method::POST, &review, REVIEWER, Some(new_waiver(Some(bad))))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("tlds:") && message.contains("actions:"),
            "{message}"
        );
        let decided = w
            .step(first, REVIEWER, new_waiver(Some(terms(&["alpha"]))))
            .await;
        assert_eq!(decided["state"], "decided");
        let waiver = decided["issued"][0]["id"].as_i64().unwrap();
        assert_eq!(decided["issued"][0]["version"], 1);
        assert_eq!(decided["issued"][0]["holder_org"], w.orgs[REGISTRY]);

        // Updating a waiver that does not exist, or one another organisation holds, is refused.
        let second = w
            .submit(REGISTRY, request(&["alpha", "bravo"], 800, false))
            .await;
        let other = w.submit(OTHER, request(&["charlie"], 100, false)).await;
        for id in [second, other] {
            w.review_until_discussed(id, now + SignedDuration::from_hours(3))
                .await;
        }
        let update = |waiver_id: i64| {
            json!({ "step": "decide", "decision": { "updated_waiver": { "waiver_id": waiver_id } },
                    "terms": terms(&["alpha", "bravo"]) })
        };
        let (status, error) = w
            .call(
                Method::POST,
                format!("/api/v1/srw/{second}/review"),
                REVIEWER,
                Some(update(waiver + 1000)),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("does not exist")
        );
        let in_scope = json!({ "step": "decide",
                               "decision": { "in_scope_of_existing": { "waiver_id": waiver } } });
        let (status, error) = w
            .call(
                Method::POST,
                format!("/api/v1/srw/{other}/review"),
                REVIEWER,
                Some(in_scope),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("another organisation"),
            "{error}"
        );
        let updated = w.step(second, REVIEWER, update(waiver)).await;
        assert_eq!(updated["issued"][0]["id"], waiver);
        assert_eq!(updated["issued"][0]["version"], 2);

        let (status, versions) = w
            .call(
                Method::GET,
                format!("/api/v1/waivers/{waiver}"),
                REGISTRY,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let tlds: Vec<&Value> = versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| &v["terms"]["tlds"])
            .collect();
        assert_eq!(tlds, [&json!(["alpha"]), &json!(["alpha", "bravo"])]);
        let (status, _) = w
            .call(
                Method::GET,
                format!("/api/v1/waivers/{waiver}"),
                OTHER,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, theirs) = w.call(Method::GET, "/api/v1/waivers", OTHER, None).await;
        assert_eq!(theirs, json!([]));
        let (_, all) = w.call(Method::GET, "/api/v1/waivers", REVIEWER, None).await;
        assert_eq!(all.as_array().unwrap().len(), 2);
        let (status, page) = w.page("/waivers/issued", REGISTRY).await;
        assert_eq!(status, StatusCode::OK);
        let page = page.as_str().unwrap();
        assert!(
            page.contains(&format!("{waiver} v2")) && page.contains(&format!("{waiver} v1")),
            "{page}"
        );
        assert!(
            page.contains("DGA conficker.c from 2026-12-01 to 2026-12-31"),
            "{page}"
        );
        let (_, theirs) = w.page("/waivers/issued", OTHER).await;
        assert!(!theirs.as_str().unwrap().contains("conficker"));
    }
}

#[tokio::test]
async fn reviewers_are_reminded_before_a_deadline_and_a_breach_is_recorded_once() {
    // Monday 30 November 2026, 10:00 in Los Angeles: confirm by Tuesday 10:00.
    let now: Timestamp = "2026-11-30T18:00:00Z".parse().unwrap();
    let w = World::new(Backend::Sqlite, now).await;
    let id = w.submit(REGISTRY, request(&["alpha"], 10, false)).await;
    let early = w
        .service
        .tick("2026-12-01T12:00:00Z".parse().unwrap())
        .await;
    assert_eq!(early.unwrap().review.reminded, 0);
    let soon = w
        .service
        .tick("2026-12-01T15:00:00Z".parse().unwrap())
        .await;
    assert_eq!(
        soon.unwrap().review.reminded,
        1,
        "confirm is due in 3 hours"
    );
    let late: Timestamp = "2026-12-01T18:00:01Z".parse().unwrap();
    let breached = w.service.tick(late).await.unwrap();
    assert_eq!(breached.review.breached, 1);
    assert_eq!(w.service.tick(late).await.unwrap().review.breached, 0);
    let (_, shown) = w
        .call(Method::GET, format!("/api/v1/srw/{id}"), REVIEWER, None)
        .await;
    assert_eq!(shown["marks"]["confirm"]["breached_at"], json!(late));
    assert_eq!(
        shown["marks"]["confirm"]["reminded_at"],
        json!("2026-12-01T15:00:00Z")
    );
    let (_, audit) = w.call(Method::GET, "/api/v1/audit", ADMIN, None).await;
    let breaches = audit
        .as_array()
        .or_else(|| audit["entries"].as_array())
        .unwrap()
        .iter()
        .filter(|entry| entry["action"] == "srw.breach")
        .count();
    assert_eq!(breaches, 1, "{audit}");
}

/// Runs a poppler tool on `pdf` with `args` before the file and `after` it; its standard output.
fn poppler(tool: &str, args: &[&str], pdf: &[u8], after: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let output = std::process::Command::new(tool)
        .args(args)
        .arg(&file)
        .args(after)
        .output()
        .unwrap_or_else(|error| panic!("{tool} (Debian poppler-utils) must run: {error}"));
    assert!(output.status.success(), "{tool}: {output:?}");
    output.stdout
}

#[tokio::test]
async fn the_after_action_report_is_published_only_as_its_approved_redacted_text() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let now: Timestamp = "2026-11-30T18:00:00Z".parse().unwrap();
        let w = World::new(backend, now).await;
        let id = w.submit(REGISTRY, request(&["alpha"], 40, true)).await;
        let report = format!("/api/v1/srw/{id}/report");
        let edit = |who: usize, edit: Value| {
            let path = report.clone();
            let w = &w;
            async move { w.call(Method::POST, path, who, Some(edit)).await }
        };
        let timeline = "30 Nov: the registry sinkholed 40 names. Informant Jane Doe at \
                        +1 555 0100 named the C2. 1 Dec: ICANN confirmed the incident.";
        let write = json!({ "edit": "write", "section": "timeline", "text": timeline });
        let (status, error) = edit(REGISTRY, write.clone()).await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "the report follows the answer: {error}"
        );
        w.review_until_discussed(id, now).await;
        w.step(
            id,
            REVIEWER,
            json!({ "step": "decide", "decision": { "not_granted": { "reason": "no waiver needed for a ccTLD-like case" } } }),
        )
        .await;

        let (status, body) = edit(REGISTRY, write).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let actions = "Held <script>alert('x')</script> names; lessons follow.";
        let (status, _) = edit(
            REVIEWER,
            json!({ "edit": "write", "section": "actions", "text": actions }),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, error) = edit(
            REVIEWER,
            json!({ "edit": "redact", "section": "timeline", "passage": "Jane Smith", "reason": "x" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["error"]["field"], "passage");
        let secret = "Jane Doe at +1 555 0100";
        let (status, marked) = edit(
            REQUESTER_SIDE,
            json!({ "edit": "redact", "section": "timeline", "passage": secret,
                    "reason": "personal data of an informant" }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{marked}");
        assert_eq!(marked["redactions"][0]["passage"], secret);
        assert!(!marked["preview"].as_str().unwrap().contains(secret));
        // A redacted section cannot be rewritten under its redactions.
        let (status, error) = edit(
            REVIEWER,
            json!({ "edit": "write", "section": "timeline", "text": "x" }),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        let (status, _) = edit(OTHER, json!({ "edit": "approve" })).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "another registry is no side of it"
        );

        // Nothing is published until both sides approved the redactions as they are.
        let html = format!("/published/srw/{id}/report");
        let pdf = format!("/published/srw/{id}/report.pdf");
        let (status, _) = edit(REVIEWER, json!({ "edit": "approve" })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(w.public(&html).await.0, StatusCode::NOT_FOUND);
        let (_, approved) = edit(REGISTRY, json!({ "edit": "approve" })).await;
        assert_eq!(approved["published"], true, "{approved}");
        assert_eq!(approved["approved_by"], json!(["reviewer", "requester"]));

        let (status, content_type, page) = w.public(&html).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/html"));
        let page = String::from_utf8(page).unwrap();
        assert!(page.contains("the registry sinkholed 40 names"), "{page}");
        assert!(page.contains("[redacted]"));
        assert!(
            !page.contains("Jane Doe") && !page.contains("555 0100"),
            "{page}"
        );
        assert!(page.contains("Held &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; names"));
        assert!(!page.contains("<script>"));

        let (status, content_type, file) = w.public(&pdf).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/pdf");
        assert!(file.starts_with(b"%PDF-"));
        let text = String::from_utf8(poppler("pdftotext", &["-layout"], &file, &["-"])).unwrap();
        assert!(text.contains("the registry sinkholed 40 names"), "{text}");
        assert!(
            text.contains("[redacted]") && text.contains("Timeline"),
            "{text}"
        );
        assert!(
            !text.contains("Jane Doe") && !text.contains("555 0100"),
            "{text}"
        );
        assert!(!file.windows(8).any(|w| w == b"Jane Doe"));
        // Rendered to an image, the first page carries text: dark pixels on white.
        let image = poppler(
            "pdftoppm",
            &["-gray", "-r", "40", "-f", "1", "-l", "1"],
            &file,
            &[],
        );
        let pixels = pgm_pixels(&image);
        let dark = pixels.iter().filter(|&&p| p < 128).count();
        assert!(
            pixels.len() > 10_000 && dark > 100,
            "{} pixels, {dark} dark",
            pixels.len()
        );

        // The editor in the browser: the sides see the passage they marked, the preview does
        // not; a passage that is not there is refused at its field with the input kept.
        let editor = format!("/waivers/{id}/report");
        let (status, shown) = w.page(&editor, REVIEWER).await;
        assert_eq!(status, StatusCode::OK);
        let shown = shown.as_str().unwrap();
        let preview = &shown[shown.find("Preview of the published text").unwrap()..];
        assert!(
            preview.contains("[redacted]") && !preview.contains("Jane Doe"),
            "{preview}"
        );
        assert!(shown.contains("personal data of an informant"), "{shown}");
        let (status, refused) = w
            .submit_form(
                REGISTRY,
                &editor,
                &editor,
                "edit=redact&section=outcome&passage=nowhere&reason=x",
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let refused = refused.as_str().unwrap();
        assert!(refused.contains("id=\"passage-error\"") && refused.contains("value=\"nowhere\""));
        assert_eq!(w.page(&editor, OTHER).await.0, StatusCode::NOT_FOUND);

        // Any change withdraws both approvals and the publication with them.
        edit(
            REVIEWER,
            json!({ "edit": "write", "section": "lessons", "text": "Ask earlier." }),
        )
        .await;
        assert_eq!(w.public(&html).await.0, StatusCode::NOT_FOUND);
        assert_eq!(w.public(&pdf).await.0, StatusCode::NOT_FOUND);
    }
}

/// The requester's side writes as the registry's staff.
const REQUESTER_SIDE: usize = REGISTRY;

/// The pixels of a binary PGM (`P5`) image.
fn pgm_pixels(image: &[u8]) -> Vec<u8> {
    assert!(image.starts_with(b"P5"), "not a PGM image");
    // Header: magic, width, height, maximum value, each followed by whitespace.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 {
        while image[at].is_ascii_whitespace() {
            at += 1;
        }
        while !image[at].is_ascii_whitespace() {
            at += 1;
        }
        fields += 1;
    }
    image[at + 1..].to_vec()
}

/// One past request behind ICANN's published tables (`seeds/001_*`): Los Angeles times.
struct Past {
    submitted: &'static str,
    answered: &'static str,
    tlds: &'static [&'static str],
    names: u64,
    retroactive: bool,
    /// `new`, or `scope` of the year's first waiver.
    outcome: &'static str,
}

#[rustfmt::skip]
const PAST: [Past; 8] = [
    Past { submitted: "2019-03-06T10:00:00-08:00", answered: "2019-03-08T15:00:00-08:00",
           tlds: &["alpha", "bravo", "charlie"], names: 2400, retroactive: false, outcome: "new" },
    Past { submitted: "2019-07-03T09:00:00-07:00", answered: "2019-07-05T14:00:00-07:00",
           tlds: &["alpha", "delta"], names: 1250, retroactive: false, outcome: "scope" },
    Past { submitted: "2019-09-27T15:00:00-07:00", answered: "2019-09-30T11:00:00-07:00",
           tlds: &["echo", "foxtrot", "golf"], names: 1380, retroactive: false, outcome: "scope" },
    Past { submitted: "2019-11-26T16:00:00-08:00", answered: "2019-12-02T10:00:00-08:00",
           tlds: &["golf", "hotel"], names: 550, retroactive: false, outcome: "scope" },
    Past { submitted: "2020-02-10T09:00:00-08:00", answered: "2020-02-14T17:00:00-08:00",
           tlds: &["alpha", "bravo"], names: 640, retroactive: false, outcome: "new" },
    Past { submitted: "2020-04-02T13:00:00-07:00", answered: "2020-04-07T09:00:00-07:00",
           tlds: &["charlie"], names: 310, retroactive: false, outcome: "new" },
    Past { submitted: "2020-07-01T11:00:00-07:00", answered: "2020-07-09T16:00:00-07:00",
           tlds: &["delta", "echo"], names: 455, retroactive: false, outcome: "new" },
    Past { submitted: "2020-11-19T08:30:00-08:00", answered: "2020-11-24T12:00:00-08:00",
           tlds: &["echo", "foxtrot"], names: 212, retroactive: true, outcome: "new" },
];

/// US federal holidays of 2019 and 2020 as the reviewers observed them.
#[rustfmt::skip]
const HOLIDAYS: [&str; 18] = [
    "2019-01-01", "2019-01-21", "2019-02-18", "2019-05-27", "2019-07-04", "2019-09-02",
    "2019-11-28", "2019-11-29", "2019-12-25", "2020-01-01", "2020-01-20", "2020-02-17",
    "2020-05-25", "2020-07-03", "2020-09-07", "2020-11-26", "2020-11-27", "2020-12-25",
];

#[tokio::test]
async fn the_published_2019_and_2020_tables_are_rebuilt_from_requests_made_through_the_api() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let w = World::new(backend, "2019-01-02T00:00:00Z".parse().unwrap()).await;
        let calendar = json!({ "time_zone": "America/Los_Angeles", "holidays": HOLIDAYS });
        let (status, body) = w
            .call(
                Method::PUT,
                format!("/api/v1/organisations/{}/calendar", w.orgs[REVIEWER]),
                ADMIN,
                Some(calendar),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let mut first_waiver = None;
        for past in &PAST {
            let submitted: Timestamp = past.submitted.parse().unwrap();
            w.set_now(submitted);
            let id = w
                .submit(REGISTRY, request(past.tlds, past.names, past.retroactive))
                .await;
            w.review_until_discussed(id, submitted).await;
            w.set_now(past.answered.parse().unwrap());
            let decide = match (past.outcome, first_waiver) {
                ("scope", Some(waiver)) => json!({ "step": "decide",
                    "decision": { "in_scope_of_existing": { "waiver_id": waiver } } }),
                _ => {
                    json!({ "step": "decide", "decision": "new_waiver", "terms": terms(past.tlds) })
                }
            };
            let decided = w.step(id, REVIEWER, decide).await;
            if past.outcome == "new" && past.submitted.starts_with("2019") {
                first_waiver = decided["issued"][0]["id"].as_i64();
            }
        }

        let (status, figures) = w
            .call(Method::GET, "/api/v1/srw/figures", REGISTRAR, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            figures,
            json!([
                { "year": 2019, "requests": 4, "tlds_covered": 8, "new_waivers": 1,
                  "not_granted": 0, "in_scope_of_existing": 3, "updated_waivers": 0,
                  "approximate_names": 5600, "before_action": 4, "after_action": 0,
                  "average_business_days": { "new_waiver": 2, "in_scope_of_existing": 1 } },
                { "year": 2020, "requests": 4, "tlds_covered": 6, "new_waivers": 4,
                  "not_granted": 0, "in_scope_of_existing": 0, "updated_waivers": 0,
                  "approximate_names": 1600, "before_action": 3, "after_action": 1,
                  "average_business_days": { "new_waiver": 4 } }
            ])
        );
        let (status, content_type, csv) = w.public("/published/srw/figures.csv").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/csv"));
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(
            csv.lines().skip(1).collect::<Vec<_>>(),
            [
                "2019,4,8,1,0,3,0,5600,4,0,2,,1,",
                "2020,4,6,4,0,0,0,1600,3,1,4,,,"
            ]
        );
        let (status, _, page) = w.public("/published/srw/figures").await;
        assert_eq!(status, StatusCode::OK);
        let page = String::from_utf8(page).unwrap();
        for row in [
            "<tr><th scope=\"row\">Total number of requests received</th><td>4</td><td>4</td></tr>",
            "<tr><th scope=\"row\">Number of generic top-level domains (gTLDs) covered by requests</th><td>8</td><td>6</td></tr>",
            "<tr><th scope=\"row\">Approximate number of domain names subject to the request*</th><td>5,600 domain names</td><td>1,600 domain names</td></tr>",
            "<tr><th scope=\"row\">Number of requests made after action was taken on the domain names</th><td>0</td><td>1</td></tr>",
            "<tr><th scope=\"row\">Issuance of the waiver</th><td>2 business days</td><td>4 business days</td></tr>",
            "<tr><th scope=\"row\">Notification the request in scope of an existing waiver</th><td>1 business day</td><td>N/A</td></tr>",
        ] {
            assert!(page.contains(row), "{row} not in {page}");
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn the_request_form_shows_what_is_missing_beside_each_field_and_submits_when_complete() {
    let w = World::new(Backend::Sqlite, "2026-11-30T18:00:00Z".parse().unwrap()).await;
    let (status, _) = w.page("/waivers/new", REVIEWER).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "reviewers do not request waivers"
    );
    let (status, refused) = w
        .submit_form(
            REGISTRY,
            "/waivers/new",
            "/waivers/new",
            "incident_type=malicious_dns_activity&tlds=bad..tld",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.as_str().unwrap();
    assert!(
        refused.contains("id=\"tlds-error\"") && refused.contains("bad..tld"),
        "{refused}"
    );
    let (status, _) = w
        .submit_form(
            REGISTRY,
            "/waivers/new",
            "/waivers/new",
            "incident_type=malicious_dns_activity&tlds=alpha",
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, list) = w.call(Method::GET, "/api/v1/srw", REGISTRY, None).await;
    let id = list[0]["id"].as_i64().unwrap();
    let edit = format!("/waivers/{id}/edit");
    let (status, shown) = w.page(&edit, REGISTRY).await;
    assert_eq!(status, StatusCode::OK);
    let shown = shown.as_str().unwrap();
    for field in ["description", "urgency", "provisions", "period", "contacts"] {
        assert!(
            shown.contains(&format!("id=\"{field}-missing\"")),
            "{field}: {shown}"
        );
    }
    assert!(!shown.contains("id=\"tlds-missing\""), "the TLD is given");
    let (status, still) = w
        .submit_form(
            REGISTRY,
            &edit,
            &edit,
            "incident_type=malicious_dns_activity&tlds=alpha&submit=yes",
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "incomplete: not submitted"
    );
    assert!(still.as_str().unwrap().contains("id=\"urgency-missing\""));
    let complete = "incident_type=malicious_dns_activity&tlds=alpha&description=DGA+C2\
        &name_count=400&action_taken=no&response=register+them&urgency=high&expedited=no\
        &provisions=Specification+6&period_start=2026-12-01&period_end=2027-01-01\
        &contacts=Desk+%3Cabuse%40registry.example%3E&submit=yes";
    let (status, _) = w.submit_form(REGISTRY, &edit, &edit, complete).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, submitted) = w
        .call(Method::GET, format!("/api/v1/srw/{id}"), REGISTRY, None)
        .await;
    assert_eq!(submitted["state"], "submitted", "{submitted}");
    assert_eq!(
        submitted["submitted"]["contacts"][0]["email"],
        "abuse@registry.example"
    );
}

#[tokio::test]
async fn an_attachment_through_the_request_page_is_listed_and_downloaded_by_both_sides_only() {
    use common::{hidden_value, multipart, page_raw};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let w = World::new(backend, "2026-11-30T18:00:00Z".parse().unwrap()).await;
        let id = w.submit(REGISTRY, request(&["alpha"], 400, false)).await;
        let page_path = format!("/waivers/{id}");
        let action = format!("/waivers/{id}/attachments");
        let content = b"%PDF-1.4 the court order".to_vec();
        let (_, _, page) = page_raw(&w.router, &page_path, Some(&w.tokens[REGISTRY]), None).await;
        let page = String::from_utf8_lossy(&page).into_owned();
        assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
        let (csrf, once) = (hidden_value(&page, "csrf"), hidden_value(&page, "once"));
        let fields = [("csrf", csrf.as_str()), ("once", once.as_str())];
        let forged = multipart(&fields[1..], Some(("attachment", "order.pdf", &content)));
        let (status, _, _) =
            page_raw(&w.router, &action, Some(&w.tokens[REGISTRY]), Some(forged)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let body = multipart(&fields, Some(("attachment", "order<b>.pdf", &content)));
        let (status, headers, _) = page_raw(
            &w.router,
            &action,
            Some(&w.tokens[REGISTRY]),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .contains("done=attached")
        );
        let (status, headers, _) =
            page_raw(&w.router, &action, Some(&w.tokens[REGISTRY]), Some(body)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .contains("done=repeat")
        );
        let (_, view) = w
            .call(Method::GET, format!("/api/v1/srw/{id}"), REGISTRY, None)
            .await;
        let files = view["files"].as_array().unwrap();
        assert_eq!(files.len(), 1, "stored once: {view}");
        let file_id = files[0]["id"].as_i64().unwrap();

        // Both sides see it listed with its size and hash, escaped, and download it.
        for who in [REGISTRY, REVIEWER] {
            let (_, _, page) = page_raw(&w.router, &page_path, Some(&w.tokens[who]), None).await;
            let page = String::from_utf8_lossy(&page).into_owned();
            assert!(page.contains(&sha256_hex(&content)), "{page}");
            assert!(page.contains("order&#60;b&#62;.pdf") && !page.contains("<b>.pdf"));
            assert!(page.contains(&format!("/waivers/attachments/{file_id}")));
            let (status, headers, bytes) = page_raw(
                &w.router,
                &format!("/waivers/attachments/{file_id}"),
                Some(&w.tokens[who]),
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(bytes, content);
            assert_eq!(headers["content-type"], "application/octet-stream");
            assert_eq!(
                headers["content-disposition"],
                "attachment; filename=\"order_b_.pdf\""
            );
        }
        // Another requester neither downloads it nor attaches to the request.
        let (status, _, _) = page_raw(
            &w.router,
            &format!("/waivers/attachments/{file_id}"),
            Some(&w.tokens[OTHER]),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The reviewer attaches too; a file too large is named at the field.
        let (_, _, page) = page_raw(&w.router, &page_path, Some(&w.tokens[REVIEWER]), None).await;
        let page = String::from_utf8_lossy(&page).into_owned();
        let (csrf, once) = (hidden_value(&page, "csrf"), hidden_value(&page, "once"));
        let fields = [("csrf", csrf.as_str()), ("once", once.as_str())];
        let big = vec![0u8; holdfast_service::MAX_EVIDENCE_BYTES + 1];
        let body = multipart(&fields, Some(("attachment", "big.bin", &big)));
        let (status, _, page) =
            page_raw(&w.router, &action, Some(&w.tokens[REVIEWER]), Some(body)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(String::from_utf8_lossy(&page).contains("id=\"attachment-error\""));
        let (_, _, page) = page_raw(&w.router, &page_path, Some(&w.tokens[REVIEWER]), None).await;
        let page = String::from_utf8_lossy(&page).into_owned();
        let (csrf, once) = (hidden_value(&page, "csrf"), hidden_value(&page, "once"));
        let fields = [("csrf", csrf.as_str()), ("once", once.as_str())];
        let body = multipart(
            &fields,
            Some(("attachment", "notes.txt", b"reviewer notes")),
        );
        let (status, _, _) =
            page_raw(&w.router, &action, Some(&w.tokens[REVIEWER]), Some(body)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, view) = w
            .call(Method::GET, format!("/api/v1/srw/{id}"), REGISTRY, None)
            .await;
        assert_eq!(view["files"].as_array().unwrap().len(), 2, "{view}");
    }
}
