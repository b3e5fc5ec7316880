//! The web interface in a real browser: `holdfast serve --demo` on free ports, then
//! `tests/e2e/story.js` drives Debian's chromium with playwright-core through the story of
//! issue 6 (a reporter's report, the desk's steps, a hold and a block, the hold undone, the
//! reporter's answer; then a waiver request filed, information asked and given, a waiver
//! issued, and the after-action report published with a passage redacted that the published
//! page never shows); this side answers its DNS checks by asking the server's embedded DNS
//! listener. Screenshots land in `target/tmp/e2e-screenshots/` (the path is printed).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use holdfast_dns::query_delegation;
use holdfast_model::DomainName;

use super::Server;

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

/// The embedded DNS server's address, as `serve` printed it.
fn dns_address(server: &Server) -> std::net::SocketAddr {
    server
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix("DNS (embedded, authoritative) on udp+tcp "))
        .expect("serve prints its DNS address")
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_story_in_a_real_browser() {
    let e2e = e2e_dir();
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: scripts/test runs `npm ci` in {} (and installs \
         Debian's chromium)",
        e2e.display()
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: scripts/test installs Debian's chromium"
    );
    let started = Instant::now();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dns = dns_address(&server);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots");
    let _ = std::fs::remove_dir_all(&artifacts);
    let profile = tempfile::tempdir().unwrap();
    println!("screenshots go to {}", artifacts.display());

    let mut node = Command::new("node")
        .arg(e2e.join("story.js"))
        .current_dir(&e2e)
        .env("HOLDFAST_URL", &server.url)
        .env("E2E_ARTIFACTS", &artifacts)
        .env("E2E_PROFILE", profile.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test installs it with npm)");
    let mut stdin = node.stdin.take().unwrap();
    let stdout = BufReader::new(node.stdout.take().unwrap());
    let mut said = Vec::new();
    let mut dns_checks = 0;
    for line in stdout.lines() {
        let line = line.unwrap();
        println!("story: {line}");
        if let Some(name) = line.strip_prefix("DNS-CHECK ") {
            let name = DomainName::parse(name).unwrap();
            let published = query_delegation(dns, &name, Duration::from_secs(5))
                .await
                .unwrap();
            // A name that is still delegated answers with its name servers; check that the
            // server answers for its neighbours, so that "gone" is not a dead server.
            let neighbour = query_delegation(
                dns,
                &DomainName::parse("shop0.demo").unwrap(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            assert!(neighbour.is_some(), "shop0.demo is still delegated");
            let answer = if published.is_none() {
                "gone"
            } else {
                "present"
            };
            writeln!(stdin, "{answer}").unwrap();
            dns_checks += 1;
        }
        said.push(line);
    }
    let output = node.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.iter().any(|line| line == "STORY PASSED"),
        "the browser story failed ({}); screenshots in {}:\n{}\n{stderr}",
        output.status,
        artifacts.display(),
        said.join("\n"),
    );
    assert_eq!(dns_checks, 2, "the story asked for both DNS checks");
    let screenshots = std::fs::read_dir(&artifacts).unwrap().count();
    assert!(screenshots >= 13, "{screenshots} screenshots");
    println!(
        "the browser story passed in {:.1} s; {screenshots} screenshots in {}",
        started.elapsed().as_secs_f64(),
        artifacts.display()
    );
    server.stop();
}
