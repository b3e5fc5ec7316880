//! Security Response Waiver requests through the API, on both databases: a draft says what it
//! lacks, an incomplete request cannot be submitted, a complete one starts the review clocks in
//! business days of the reviewers' (Los Angeles) calendar, and each side sees only what it may.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::FakeClock;
use holdfast_http::{AppState, router};
use holdfast_model::org::{OrgKind, Role};
use holdfast_service::{NewOrganisation, NewUserRequest, Service};
use holdfast_store::Backend;
use holdfast_store::testing::TestStore;
use jiff::Timestamp;
use serde_json::{Value, json};

#[tokio::test]
async fn a_request_is_drafted_checked_submitted_and_reviewed_on_business_days() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestStore::new(backend).await;
        let service = Service::new(db.store.clone());
        // Friday 27 November 2026, 16:00 in Los Angeles (the day after Thanksgiving).
        let now: Timestamp = "2026-11-28T00:00:00Z".parse().unwrap();
        let admin = service.bootstrap(now).await.unwrap().unwrap().token;
        let admin = service.authenticate(&admin, now).await.unwrap();
        let mut tokens = Vec::new();
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
            let org = service.create_organisation(&admin, org, now).await.unwrap();
            let user = NewUserRequest {
                email: format!("staff@{}.example", org.id),
                display_name: name.into(),
                role: kind.role(),
                password: None,
                reason: String::new(),
            };
            let user = service
                .create_user(&admin, org.id, user, now)
                .await
                .unwrap();
            let token = service.issue_token(&admin, user.id, "t", None, now).await;
            tokens.push(token.unwrap().token);
        }
        assert_eq!(Role::Reviewer, OrgKind::Reviewer.role());
        let clock = Arc::new(FakeClock(Mutex::new(now)));
        let router = router(AppState::new(service, clock));
        let call = |method: Method, path: String, token: usize, body: Option<Value>| {
            let router = router.clone();
            let token = tokens[token].clone();
            async move { common::call(&router, method, &path, Some(&token), body).await }
        };
        let (registry, other, reviewer, registrar) = (0, 1, 2, 3);

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
            (reviewer, json!({ "step": "ask_information" })),
        ] {
            let (status, body) = call(Method::POST, review.clone(), token, Some(step)).await;
            assert_eq!(status, StatusCode::OK, "{backend:?} {body}");
        }
        let answer = json!({ "step": "answer_information" });
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
