//! E-mail through the running server, over real SMTP on 127.0.0.1: a report sent by Python's
//! smtplib becomes a case with its hostile text kept inert, the acknowledgment reaches a real
//! receiving server (aiosmtpd) with the case's reply address, a reply attaches to the case, and
//! a message that cannot be parsed is kept and shown as such; the report and case commands as the
//! README shows them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Server, json};

/// A receiving SMTP server writing each message to DIR/N.eml.
const RECEIVER: &str = r#"
import asyncio, os, sys
from aiosmtpd.smtp import SMTP
out = sys.argv[1]
class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(out))
        with open(os.path.join(out, f"{n}.tmp"), "wb") as f:
            f.write(envelope.original_content)
        os.rename(os.path.join(out, f"{n}.tmp"), os.path.join(out, f"{n}.eml"))
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"#;

/// Sends a raw message from a file with smtplib; prints the refused recipients as JSON.
const SENDER: &str = r#"
import smtplib, sys
host, port, sender, rcpt, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
with smtplib.SMTP(host, port) as client:
    client.sendmail(sender, [rcpt], open(path, "rb").read())
"#;

struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn receiver(dir: &Path) -> (Receiver, u16) {
    let mut child = Command::new("python3")
        .args(["-c", RECEIVER])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("aiosmtpd said {line:?}"));
    (Receiver(child), port)
}

fn send_mail(port: u16, from: &str, rcpt: &str, raw: &str, dir: &Path) {
    let path = dir.join("outgoing.eml");
    std::fs::write(&path, raw.replace('\n', "\r\n")).unwrap();
    let output = Command::new("python3")
        .args(["-c", SENDER, "127.0.0.1", &port.to_string(), from, rcpt])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "smtplib: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits for a received message containing `needle`; returns it.
fn received(dir: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "eml") {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text.contains(needle) {
                    return text;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no message with {needle:?} arrived"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn smtp_port(server: &Server) -> u16 {
    let line = server
        .stdout
        .iter()
        .find(|line| line.starts_with("SMTP for"))
        .unwrap_or_else(|| panic!("no SMTP line in {:?}", server.stdout));
    line.rsplit(':').next().unwrap().parse().unwrap()
}

/// The newest case whose reports came by e-mail.
fn email_cases(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let queue = json(&server.cli(token, &["case", "list", "--all"]));
    let mut found = Vec::new();
    for queued in queue.as_array().unwrap() {
        let id = queued["case"]["id"].to_string();
        let case = json(&server.cli(token, &["case", "show", &id]));
        if case["reports"][0]["channel"] == "email" {
            found.push(case);
        }
    }
    found
}

#[test]
fn reports_and_replies_arrive_by_smtp_and_answers_leave_by_smtp() {
    let data = tempfile::tempdir().unwrap();
    let mailbox = tempfile::tempdir().unwrap();
    let (_receiver, relay_port) = receiver(mailbox.path());
    let relay = format!("127.0.0.1:{relay_port}");
    let server = Server::start_with(data.path(), &["--smtp-relay", &relay]);
    let token = std::fs::read_to_string(data.path().join("demo-token")).unwrap();
    let token = token.trim();
    let port = smtp_port(&server);
    let desk = holdfast_service::DEMO_DESK_ADDRESS;

    let report = format!(
        "From: SOC <soc@cert.example>\nTo: {desk}\nSubject: Phishing <script>alert(1)</script>\n\
         Message-ID: <r1@cert.example>\n\nPlease act on shop3.demo and hxxp://shop4[.]demo/login\n\
         <img src=x onerror=alert(1)>\n"
    );
    send_mail(port, "soc@cert.example", desk, &report, data.path());
    let cases = email_cases(&server, token);
    assert_eq!(cases.len(), 1, "{cases:?}");
    let case = &cases[0];
    let filed = &case["reports"][0];
    assert_eq!(filed["threat_type"], "phishing");
    assert_eq!(filed["source_class"], "other");
    assert!(
        filed["origin"].as_str().unwrap().contains("e-mail"),
        "{filed}"
    );
    let description = filed["description"].as_str().unwrap();
    assert!(
        description.contains("Phishing <script>alert(1)</script>"),
        "{description}"
    );
    assert!(
        description.contains("<img src=x onerror=alert(1)>"),
        "{description}"
    );
    assert_eq!(
        case["names"],
        serde_json::json!(["shop3.demo", "shop4.demo"])
    );

    // The acknowledgment goes out through the relay, answering to the case's own address.
    let id = case["case"]["id"].to_string();
    json(&server.cli(token, &["case", "acknowledge", &id]));
    let acknowledgment = received(
        mailbox.path(),
        &format!("[case {id}] We received your report"),
    );
    assert!(
        acknowledgment.contains("To: soc@cert.example"),
        "{acknowledgment}"
    );
    let reply_to = format!("abuse+case-{id}@registry.demo.example");
    assert!(acknowledgment.contains(&reply_to), "{acknowledgment}");

    // A reply to that address attaches to the case and alerts the desk.
    let reply = format!(
        "From: soc@cert.example\nTo: {reply_to}\nSubject: Re: [case {id}] We received your report\n\n\
         The kit also sits on shop5.demo.\n"
    );
    send_mail(port, "soc@cert.example", &reply_to, &reply, data.path());
    let case = json(&server.cli(token, &["case", "show", &id]));
    let events: Vec<(&str, &str)> = case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["event"].as_str().unwrap(),
                m["direction"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(events.contains(&("reply", "in")), "{events:?}");
    assert!(events.contains(&("reply_alert", "out")), "{events:?}");
    assert_eq!(
        case["reports"].as_array().unwrap().len(),
        1,
        "a reply is not a new report"
    );

    // A message that cannot be parsed is kept and shown to staff as such.
    let broken = format!(
        "From: x@mail.example\nTo: {desk}\nSubject: attached\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"never-there\"\n\nno parts at all\n"
    );
    send_mail(port, "x@mail.example", desk, &broken, data.path());
    let cases = email_cases(&server, token);
    let unread = cases
        .iter()
        .map(|case| &case["reports"][0])
        .find(|report| !report["parse_error"].is_null());
    let unread = unread.unwrap_or_else(|| panic!("no unparsed report in {cases:?}"));
    assert!(unread["mail_id"].is_i64(), "{unread}");
    server.stop();
}

#[test]
fn the_report_and_case_commands_work_as_the_readme_shows() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let token = std::fs::read_to_string(data.path().join("demo-token")).unwrap();
    let token = token.trim();
    let shot = data.path().join("screenshot.png");
    std::fs::write(&shot, b"\x89PNG not really").unwrap();
    let receipt = json(&server.cli(
        token,
        &[
            "report",
            "submit",
            "shop7.demo",
            "www.shop8.demo",
            "evil.example",
            "--threat-type",
            "phishing",
            "--description",
            "bank phishing kit",
            "--abuse-url",
            "https://shop7.demo/login",
            "--evidence",
            shot.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        (receipt["ours"].as_i64(), receipt["not_ours"].as_i64()),
        (Some(2), Some(1)),
        "{receipt}"
    );
    let id = receipt["report_id"].to_string();
    let shown = json(&server.cli(token, &["report", "show", &id]));
    assert_eq!(shown["evidence"][0]["filename"], "screenshot.png");
    assert_eq!(shown["evidence"][0]["size"], 15);

    let csv = data.path().join("dga-names.csv");
    let names: String = (0..2_000)
        .map(|i| format!("dga{i}.demo,2026-11-29\n"))
        .collect();
    std::fs::write(&csv, format!("domain,seen\n{names}")).unwrap();
    let bulk = json(&server.cli(
        token,
        &[
            "report",
            "submit",
            "--from-file",
            csv.to_str().unwrap(),
            "--threat-type",
            "botnet_cc",
        ],
    ));
    assert_eq!(bulk["names"], 2_000, "{bulk}");
    let queue = json(&server.cli(token, &["case", "list"]));
    assert_eq!(queue.as_array().unwrap().len(), 2, "{queue}");
    let case = queue[0]["case"]["id"].to_string();
    let closed = json(&server.cli(token, &["case", "acknowledge", &case]));
    assert_eq!(closed["state"], "acknowledged");
    let closed = json(&server.cli(
        token,
        &[
            "case",
            "close-no-action",
            &case,
            "--reason",
            "sinkholed elsewhere",
        ],
    ));
    assert_eq!(closed["state"], "closed_no_action");
    server.stop();
}

/// Sends a short report to `rcpt`; whether the server took it.
fn try_send(port: u16, rcpt: &str, dir: &Path) -> bool {
    let path = dir.join("probe.eml");
    let raw =
        format!("From: soc@cert.example\r\nTo: {rcpt}\r\nSubject: phishing\r\n\r\nshop1.demo\r\n");
    std::fs::write(&path, raw).unwrap();
    Command::new("python3")
        .args([
            "-c",
            SENDER,
            "127.0.0.1",
            &port.to_string(),
            "soc@cert.example",
            rcpt,
        ])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_desk_address_changed_while_running_takes_mail_without_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let token = std::fs::read_to_string(data.path().join("demo-token")).unwrap();
    let token = token.trim();
    let port = smtp_port(&server);
    let new_address = "security@registry.demo.example";
    assert!(!try_send(port, new_address, data.path()), "not a desk yet");
    let organisations = json(&server.cli(token, &["org", "list"]));
    let registry = organisations
        .as_array()
        .unwrap()
        .iter()
        .find(|org| org["kind"] == "registry")
        .unwrap()["id"]
        .clone();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .put(format!("{}/api/v1/desks/{registry}", server.url))
        .header("authorization", format!("Bearer {token}"))
        .send_json(serde_json::json!({ "desk_address": new_address }))
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // The listener reloads its addresses when told; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !try_send(port, new_address, data.path()) {
        assert!(Instant::now() < deadline, "{new_address} is still refused");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !try_send(port, holdfast_service::DEMO_DESK_ADDRESS, data.path()),
        "the old address is no desk's any more"
    );
}
