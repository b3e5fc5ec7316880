//! The waiver process from the command line, as the README shows it: the demo registry drafts a
//! request from a file and learns what is missing, completes and submits it; the demo reviewer
//! takes the review steps and issues a waiver; both write and redact the after-action report,
//! which is then published without the redacted passage; the figures count the request.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{BIN, Server, json, text};

/// Signs in as `email` with the demo password; the session token.
fn login(server: &Server, email: &str) -> String {
    let mut child = Command::new(BIN)
        .args(["login", "--email", email])
        .env("HOLDFAST_URL", &server.url)
        .env_remove("HOLDFAST_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", holdfast_service::DEMO_PASSWORD).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    json(&output)["token"].as_str().unwrap().to_owned()
}

#[test]
fn a_waiver_request_goes_from_draft_to_published_report_and_figures() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let registry = login(&server, "registry@demo.example");
    let reviewer = login(&server, "reviewer@demo.example");
    let file = |name: &str, content: &str| {
        let path = data.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    };

    let partial = file(
        "draft.json",
        r#"{ "incident_type": "malicious_dns_activity", "tlds": ["demo"] }"#,
    );
    let draft = json(&server.cli(&registry, &["srw", "draft", "--file", &partial]));
    let missing = draft["missing"].to_string();
    assert!(
        missing.contains("description") && missing.contains("urgency"),
        "{missing}"
    );
    let id = draft["id"].to_string();
    let order = file("court-order.txt", "Order of the court, 1 December 2026");
    let attached = json(&server.cli(&registry, &["srw", "attach", &id, &order]));
    assert_eq!(attached["filename"], "court-order.txt");
    assert_eq!(attached["size"], 35);
    let refused = server.cli(&registry, &["srw", "submit", &id]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("provisions"), "{}", text(&refused));

    let complete = file(
        "request.json",
        r#"{ "incident_type": "malicious_dns_activity", "tlds": ["demo"],
             "description": "a DGA registers C2 names in .demo", "name_count": 4000,
             "dga_family": "conficker.c", "dga_dates": { "first": "2026-12-01", "last": "2026-12-31" },
             "action_taken": false, "response": "register the DGA's names to our own registrar",
             "urgency": "high", "expedited": true, "provisions": ["Specification 6, section 1.1"],
             "period": { "start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z" },
             "contacts": [{ "name": "Desk", "email": "abuse@registry.demo.example" }] }"#,
    );
    json(&server.cli(&registry, &["srw", "edit", &id, "--file", &complete]));
    let submitted = json(&server.cli(&registry, &["srw", "submit", &id]));
    assert_eq!(submitted["state"], "submitted");
    assert_eq!(submitted["deadlines"].as_array().unwrap().len(), 3);

    let review = |args: &[&str]| {
        let mut all = vec!["srw", "review", &id];
        all.extend_from_slice(args);
        json(&server.cli(&reviewer, &all))
    };
    review(&["assign-reviewer", "--reviewer", "Jane Reviewer"]);
    let confirmed = review(&[
        "confirm-incident",
        "--message",
        "Called the desk: confirmed.",
    ]);
    assert_eq!(
        confirmed["thread"][0]["text"],
        "Called the desk: confirmed."
    );
    review(&["discuss"]);
    let terms = file(
        "terms.json",
        r#"{ "tlds": ["demo"], "provisions": ["Specification 6, section 1.1"],
             "actions": ["create"],
             "coverage": { "dga": { "family": "conficker.c",
                                     "dates": { "first": "2026-12-01", "last": "2026-12-31" } } },
             "valid": { "start": "2026-11-01T00:00:00Z", "end": "2027-02-01T00:00:00Z" },
             "conditions": [] }"#,
    );
    let decided = review(&["decide", "--decision", "new-waiver", "--terms", &terms]);
    assert_eq!(decided["state"], "decided");
    let waiver = decided["issued"][0]["id"].to_string();
    let versions = json(&server.cli(&registry, &["srw", "waivers", &waiver]));
    assert_eq!(
        versions[0]["terms"]["coverage"]["dga"]["family"],
        "conficker.c"
    );

    let timeline = file(
        "timeline.txt",
        "1 Dec: the DGA's names were registered. Source: analyst Sam Roe of CERT-X.",
    );
    json(&server.cli(
        &registry,
        &[
            "srw", "report", "write", &id, "timeline", "--file", &timeline,
        ],
    ));
    json(&server.cli(
        &reviewer,
        &[
            "srw",
            "report",
            "redact",
            &id,
            "timeline",
            "--passage",
            "Sam Roe of CERT-X",
            "--reason",
            "the source asked not to be named",
        ],
    ));
    json(&server.cli(&registry, &["srw", "report", "approve", &id]));
    let approved = json(&server.cli(&reviewer, &["srw", "report", "approve", &id]));
    assert_eq!(approved["published"], true);
    let (status, page) = server.get(&format!("/published/srw/{id}/report"));
    assert_eq!(status, 200);
    assert!(
        page.contains("the DGA&#39;s names were registered"),
        "{page}"
    );
    assert!(
        page.contains("[redacted]") && !page.contains("Sam Roe"),
        "{page}"
    );

    let figures = server.cli(&reviewer, &["srw", "figures", "--csv"]);
    assert!(figures.status.success(), "{}", text(&figures));
    let csv = String::from_utf8(figures.stdout).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 1, "{csv}");
    // One request, one gTLD, one new waiver, answered before any action.
    assert_eq!(&rows[0][1..5], ["1", "1", "1", "0"], "{csv}");
    assert_eq!(rows[0][8], "1", "{csv}");
}
