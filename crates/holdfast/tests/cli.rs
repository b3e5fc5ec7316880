//! The binary as people run it: `holdfast serve --demo` on a fresh data directory, then the
//! client subcommands against it, as the README says.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod tidy;

const BIN: &str = env!("CARGO_BIN_EXE_holdfast");

struct Server {
    child: Child,
    url: String,
    stdout: Vec<String>,
}

impl Server {
    /// Starts `holdfast serve --demo` and waits until it says it listens.
    fn start(data: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data",
            ])
            .arg(data)
            .env_remove("HOLDFAST_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "server did not start: {stdout:?}"
            );
            let line = lines.next().expect("server exited early").unwrap();
            let listening = line.starts_with("Holdfast listening on");
            stdout.push(line);
            if listening {
                break;
            }
        }
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            stdout,
        }
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
            "Demo Own Registrar",
            "--internal",
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
