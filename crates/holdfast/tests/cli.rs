//! The binary as people run it: `holdfast serve --demo` on a fresh data directory, then the
//! client subcommands against it, as the README says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod mail;
mod srw;
mod tidy;
mod ui;

const BIN: &str = env!("CARGO_BIN_EXE_holdfast");

struct Server {
    child: Child,
    url: String,
    stdout: Vec<String>,
}

impl Server {
    /// Starts `holdfast serve --demo` and waits until it says it listens.
    fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts `holdfast serve --demo` with more arguments, on a port the server picks itself
    /// (one picked here and released could be taken by another test before the server binds
    /// it); the server's standard error goes to a file in `data`, shown if it stops early.
    fn start_with(data: &Path, extra: &[&str]) -> Server {
        let log_path = data.join("server-stderr.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--demo",
                "--listen",
                "127.0.0.1:0",
                "--dns-listen",
                "127.0.0.1:0",
                "--smtp-listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(data)
            .args(extra)
            .env_remove("HOLDFAST_TOKEN")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            assert!(
                Instant::now() < deadline,
                "server did not start: {stdout:?}"
            );
            let Some(line) = lines.next() else {
                let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("server exited early: {stdout:?}\n{stderr}");
            };
            let line = line.unwrap();
            let url = line
                .strip_prefix("Holdfast listening on ")
                .map(str::to_owned);
            stdout.push(line);
            if let Some(url) = url {
                break url;
            }
        };
        Server { child, url, stdout }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent.get(format!("{}{path}", self.url)).call().unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    }

    fn cli(&self, token: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("HOLDFAST_URL", &self.url)
            .env("HOLDFAST_TOKEN", token)
            .output()
            .unwrap()
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "graceful shutdown: {status:?}");
    }
}

/// A test that fails leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_demo_answers_and_the_client_commands_work() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());

    let printed = server
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix("Admin API token: "))
        .expect("the admin token is printed")
        .to_owned();
    let written = std::fs::read_to_string(data.path().join("demo-token")).unwrap();
    assert_eq!(written.trim(), printed);
    let token = printed;

    assert_eq!(server.get("/health").0, 200);
    assert_eq!(server.get("/ready").0, 200);
    let (status, doc) = server.get("/api/openapi.json");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/health"]["get"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let doc_file = data.path().join("openapi.json");
    std::fs::write(&doc_file, doc.to_string()).unwrap();
    let validation = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&doc_file)
        .output()
        .unwrap();
    assert!(
        validation.status.success(),
        "the OpenAPI document does not validate (scripts/test installs openapi-spec-validator): {}",
        text(&validation)
    );

    let tlds = server.cli(&token, &["tld", "list"]);
    assert!(tlds.status.success(), "{}", text(&tlds));
    assert!(text(&tlds).contains("\"demo\""), "{}", text(&tlds));

    let orgs: serde_json::Value =
        serde_json::from_slice(&server.cli(&token, &["org", "list"]).stdout).unwrap();
    let kinds: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["operator", "registry", "registrar", "reviewer", "reporter"]
    );

    let registrar = server.cli(
        &token,
        &[
            "registrar",
            "create",
            "Another Registrar",
            "--iana-id",
            "4242",
            "--abuse-email",
            "abuse@nic.demo",
            "--abuse-phone",
            "+1.5555550100",
        ],
    );
    assert!(registrar.status.success(), "{}", text(&registrar));
    let listed = server.cli(&token, &["registrar", "list"]);
    assert!(
        text(&listed).contains("\"internal\": true"),
        "{}",
        text(&listed)
    );

    let refused = server.cli(&token, &["org", "create", "Bank", "--kind", "bank"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused).contains("kind"), "{}", text(&refused));

    let anonymous = server.cli("hf_wrong", &["whoami"]);
    assert_eq!(anonymous.status.code(), Some(2));
    assert!(
        text(&anonymous).contains("unauthenticated"),
        "{}",
        text(&anonymous)
    );

    let tokenless = Command::new(BIN)
        .arg("whoami")
        .env("HOLDFAST_URL", &server.url)
        .env_remove("HOLDFAST_TOKEN")
        .output()
        .unwrap();
    assert_eq!(tokenless.status.code(), Some(2));
    assert!(
        text(&tokenless).contains("HOLDFAST_TOKEN"),
        "{}",
        text(&tokenless)
    );

    let verified = server.cli(&token, &["audit", "verify"]);
    assert!(verified.status.success(), "{}", text(&verified));
    assert!(text(&verified).contains("audit chain verified"));

    // Someone with access to the database file rewrites history.
    let db = format!("sqlite:{}", data.path().join("holdfast.db").display());
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let broken = server.cli(&token, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(text(&broken).contains("entry 3"), "{}", text(&broken));

    server.stop();

    // A second start keeps the demo and its token.
    let again = Server::start(data.path());
    assert!(
        again.stdout.iter().any(|l| l.contains("already present")),
        "{:?}",
        again.stdout
    );
    let whoami = again.cli(&token, &["whoami"]);
    assert!(
        text(&whoami).contains("admin@localhost"),
        "{}",
        text(&whoami)
    );
    again.stop();
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("not JSON: {}", text(output)))
}

fn count(action: &serde_json::Value, result: &str) -> i64 {
    action["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["result"] == result)
        .map_or(0, |r| r["count"].as_i64().unwrap())
}

/// Runs `named-checkzone` on a zone file of `tld`; panics with its report if it refuses it.
fn named_checkzone(tld: &str, path: &Path) {
    let output = Command::new("named-checkzone")
        .args(["-i", "local", "-k", "fail", tld])
        .arg(path)
        .output()
        .expect("named-checkzone (Debian bind9-utils; scripts/test installs it)");
    assert!(
        output.status.success(),
        "named-checkzone: {}",
        text(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_registry_commands_act_undo_guard_import_and_export() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let token = std::fs::read_to_string(data.path().join("demo-token")).unwrap();
    let token = token.trim();

    assert_eq!(
        json(&server.cli(token, &["check", "shop0.demo"]))["status"],
        "registered"
    );
    assert_eq!(
        json(&server.cli(token, &["check", "Fresh.DEMO."]))["status"],
        "available"
    );

    let zone = data.path().join("demo.zone");
    let exported = server.cli(
        token,
        &[
            "zone",
            "export",
            "--tld",
            "demo",
            "-o",
            zone.to_str().unwrap(),
        ],
    );
    assert!(exported.status.success(), "{}", text(&exported));
    named_checkzone("demo", &zone);
    let before = std::fs::read_to_string(&zone).unwrap();
    assert_eq!(
        before.matches(" NS ").count(),
        2 + 2 * 1000,
        "apex and 1,000 delegations"
    );
    assert!(before.contains("shop0.demo."));

    // Hold two names (one given as a subdomain): they leave the zone; undo brings them back.
    let names = data.path().join("names.txt");
    std::fs::write(
        &names,
        "# reported by CERT\nwww.shop0.demo, phishing\nbank1.demo\n\n",
    )
    .unwrap();
    let held = json(&server.cli(
        token,
        &[
            "act",
            "hold",
            "--from-file",
            names.to_str().unwrap(),
            "--reason",
            "phishing kit",
            "--case",
            "CASE-1",
        ],
    ));
    assert_eq!(
        (held["state"].as_str(), count(&held, "applied")),
        (Some("applied"), 2),
        "{held}"
    );
    server.cli(
        token,
        &[
            "zone",
            "export",
            "--tld",
            "demo",
            "-o",
            zone.to_str().unwrap(),
        ],
    );
    let after = std::fs::read_to_string(&zone).unwrap();
    assert!(
        !after.contains("\nshop0.demo.") && !after.contains("\nbank1.demo."),
        "held names leave the zone"
    );
    named_checkzone("demo", &zone);
    let id = held["id"].to_string();
    let undone = json(&server.cli(token, &["act", "undo", &id, "--reason", "wrong case"]));
    assert_eq!(
        (undone["state"].as_str(), undone["undone"].as_i64()),
        (Some("undone"), Some(2))
    );
    server.cli(
        token,
        &[
            "zone",
            "export",
            "--tld",
            "demo",
            "-o",
            zone.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&zone).unwrap(), before);

    // Bad input is refused naming the field.
    let refused = server.cli(
        token,
        &[
            "act",
            "block",
            "dga.demo",
            "--reason",
            "x",
            "--until",
            "2001-01-01",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused).contains("until"), "{}", text(&refused));

    // A new TLD from a zone file; a wrong line is named.
    let orgs = json(&server.cli(token, &["org", "list"]));
    let registry = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "registry")
        .unwrap()["id"]
        .to_string();
    json(&server.cli(token, &["tld", "create", "lab", "--org", &registry]));
    let lab = data.path().join("lab.zone");
    std::fs::write(&lab, "$ORIGIN lab.\n$TTL 3600\n@ SOA ns1.nic.lab. hostmaster.nic.lab. 1 3600 600 604800 300\n@ NS ns1.nic.lab.\nns1.nic.lab. A 192.0.2.53\nalpha NS ns1.host.example.\nbeta NS ns1.beta\nns1.beta A 192.0.2.1\nbeta DS 12345 13 2 ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789\ngamma NS ns1.host.example. (\n").unwrap();
    let bad = server.cli(
        token,
        &["import", "zone", "--tld", "lab", lab.to_str().unwrap()],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("line 10"), "{}", text(&bad));
    assert_eq!(
        json(&server.cli(token, &["check", "alpha.lab"]))["status"],
        "available",
        "nothing half-imported"
    );
    let good = std::fs::read_to_string(&lab).unwrap().replace(" (\n", "\n");
    std::fs::write(&lab, good).unwrap();
    let imported = json(&server.cli(
        token,
        &["import", "zone", "--tld", "lab", lab.to_str().unwrap()],
    ));
    assert_eq!(
        (
            imported["domains"].as_i64(),
            imported["ds"].as_i64(),
            imported["glue"].as_i64()
        ),
        (Some(3), Some(1), Some(2)),
        "{imported}"
    );
    let csv = data.path().join("sponsors.csv");
    std::fs::write(
        &csv,
        "name,registrar\nalpha.lab,9995\nbeta.lab,Demo Registrar\n",
    )
    .unwrap();
    assert_eq!(
        json(&server.cli(
            token,
            &["import", "sponsors", "--tld", "lab", csv.to_str().unwrap()]
        ))["changed"],
        2
    );
    std::fs::write(&csv, "alpha.lab,9995\nbeta.lab,Nobody\n").unwrap();
    let wrong = server.cli(
        token,
        &["import", "sponsors", "--tld", "lab", csv.to_str().unwrap()],
    );
    assert!(text(&wrong).contains("line 2"), "{}", text(&wrong));
    let lab_out = data.path().join("lab.out");
    server.cli(
        token,
        &[
            "zone",
            "export",
            "--tld",
            "lab",
            "-o",
            lab_out.to_str().unwrap(),
        ],
    );
    named_checkzone("lab", &lab_out);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_action_killed_halfway_finishes_after_restart() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let token = std::fs::read_to_string(data.path().join("demo-token")).unwrap();
    let token = token.trim().to_owned();
    let names = data.path().join("dga.txt");
    let list: String = (0..100_000).map(|i| format!("dga{i:06}.demo\n")).collect();
    std::fs::write(&names, list).unwrap();
    let decided = json(&server.cli(
        &token,
        &[
            "act",
            "block",
            "--from-file",
            names.to_str().unwrap(),
            "--reason",
            "DGA",
            "--until",
            "2099-01-01",
            "--no-wait",
        ],
    ));
    let id = decided["id"].as_i64().unwrap();
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let store = holdfast_store::Store::open_data_dir(data.path())
        .await
        .unwrap();
    let halfway = store
        .read()
        .await
        .unwrap()
        .action(id)
        .await
        .unwrap()
        .unwrap();
    store.close().await;
    let pending = halfway
        .counts
        .iter()
        .find(|(r, _)| *r == holdfast_store::ItemResult::Pending)
        .map_or(0, |(_, n)| *n);
    assert!(
        pending > 0,
        "the kill came after the action finished; nothing to resume: {halfway:?}"
    );
    assert_eq!(halfway.total, 100_000);

    let again = Server::start(data.path());
    let mut action = serde_json::Value::Null;
    for _ in 0..600 {
        action = json(&again.cli(&token, &["act", "show", &id.to_string()]));
        if action["state"] == "applied" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(action["state"], "applied", "{action}");
    assert_eq!(count(&action, "applied"), 100_000, "{action}");
    assert_eq!(
        json(&again.cli(&token, &["check", "dga099999.demo"]))["status"],
        "blocked"
    );
    again.stop();
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data.path(), &["--trusted-proxy", "127.0.0.1"]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let report = |client: &str| {
        agent
            .post(format!("{}/api/v1/public/reports", server.url))
            .header("x-forwarded-for", format!("198.51.100.99, {client}"))
            .send_json(
                serde_json::json!({ "threat_type": "phishing", "names": ["shop1.demo"],
                                           "reporter_email": "someone@example.net" }),
            )
            .unwrap()
            .status()
            .as_u16()
    };
    let statuses: Vec<u16> = (0..11).map(|_| report("203.0.113.1")).collect();
    assert_eq!(statuses[..10], [201; 10], "{statuses:?}");
    assert_eq!(
        statuses[10], 429,
        "the eleventh report from one client in ten minutes"
    );
    assert_eq!(
        report("203.0.113.2"),
        201,
        "another client behind the same proxy"
    );
}
