//! Sending: `send` hands an `Outbound` to a real SMTP server (Python's aiosmtpd, a subprocess),
//! which writes what it received to files; the message is checked there, parsed back.

use std::path::Path;
use std::process::Stdio;

use holdfast_mail::{Limits, Outbound, SendError, SmtpRelay, build_message, parse_message, send};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const RECEIVER: &str = r#"
import asyncio, json, os, sys
from aiosmtpd.smtp import SMTP
out = sys.argv[1]
class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(out) if f.endswith(".json")])
        base = os.path.join(out, str(n))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "helo": session.host_name}, f)
        os.rename(base + ".tmp", base + ".json")
        return "250 OK"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler()), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"#;

/// aiosmtpd on a free port, writing each message to `DIR/N.eml` (and its envelope to `N.json`)
/// before it answers 250.
async fn aiosmtpd(dir: &Path) -> (Child, u16) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(RECEIVER)
        .arg(dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await.unwrap();
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("aiosmtpd said {line:?}"));
    (child, port)
}

fn answer() -> Outbound {
    Outbound {
        from: "Registry Abuse Desk <abuse+case-42@registry.example>".into(),
        to: vec!["Jane Reporter <jane@cert.example>".into(), "soc@cert.example".into()],
        reply_to: Some("abuse+case-42@registry.example".into()),
        subject: "Réponse : cas 42 — évaluation ✓ <script>".into(),
        text: "Bonjour,\n\nwe suspended evil-shop.example (server hold).\n.\nA line with only a dot, above.\n".into(),
        message_id: "case-42.2@registry.example".into(),
        in_reply_to: Some("r1@cert.example".into()),
        references: vec!["case-42.1@registry.example".into(), "r1@cert.example".into()],
        date: "2026-11-29T15:30:00Z".parse().unwrap(),
        headers: vec![
            ("Auto-Submitted".into(), "auto-replied".into()),
            ("X-Holdfast-Case".into(), "42".into()),
        ],
    }
}

#[tokio::test]
async fn send_delivers_a_proper_message_to_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let (mut receiver, port) = aiosmtpd(dir.path()).await;
    let relay = SmtpRelay::new("127.0.0.1", port, "desk.registry.example");
    let outbound = answer();
    send(&relay, &outbound).await.unwrap();

    let envelope: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("0.json")).unwrap()).unwrap();
    assert_eq!(
        envelope,
        serde_json::json!({
            "mail_from": "abuse+case-42@registry.example",
            "rcpt_tos": ["jane@cert.example", "soc@cert.example"],
            "helo": "desk.registry.example",
        })
    );
    let raw = std::fs::read(dir.path().join("0.eml")).unwrap();
    let text = String::from_utf8(raw.clone()).unwrap();
    assert!(
        text.contains("Subject: =?utf-8?"),
        "the UTF-8 subject is encoded:\n{text}"
    );
    assert!(
        text.contains("\r\nAuto-Submitted: auto-replied\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nX-Holdfast-Case: 42\r\n"), "{text}");
    assert!(text.contains("\r\nMIME-Version: 1.0\r\n"), "{text}");
    assert!(
        text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\nDate: Sun, 29 Nov 2026 15:30:00 +0000\r\n"),
        "{text}"
    );

    let inbound = parse_message(&raw, &Limits::default()).unwrap();
    assert_eq!(inbound.subject.as_deref(), Some(outbound.subject.as_str()));
    let from = inbound.from.unwrap();
    assert_eq!(from.name.as_deref(), Some("Registry Abuse Desk"));
    assert_eq!(from.address, "abuse+case-42@registry.example");
    let to: Vec<_> = inbound.to.iter().map(|m| m.address.as_str()).collect();
    assert_eq!(to, ["jane@cert.example", "soc@cert.example"]);
    assert_eq!(
        inbound.reply_to.unwrap().address,
        "abuse+case-42@registry.example"
    );
    assert_eq!(
        inbound.message_id.as_deref(),
        Some("case-42.2@registry.example")
    );
    assert_eq!(inbound.in_reply_to, ["r1@cert.example"]);
    assert_eq!(
        inbound.references,
        ["case-42.1@registry.example", "r1@cert.example"]
    );
    assert_eq!(inbound.date, Some(outbound.date));
    assert_eq!(
        inbound.body.text.replace("\r\n", "\n").trim_end(),
        outbound.text.trim_end(),
        "the body, dot line and accents included"
    );
    receiver.kill().await.unwrap();
}

#[test]
fn header_injection_and_bad_addresses_are_refused_before_sending() {
    type Change = fn(&mut Outbound);
    let cases: [(Change, &str); 6] = [
        (
            |o| o.subject = "hi\r\nBcc: everyone@victim.example".into(),
            "header \"Subject\": a header value cannot contain a line break",
        ),
        (
            |o| {
                o.headers
                    .push(("X-Note".into(), "a\nBcc: x@y.example".into()))
            },
            "header \"X-Note\": a header value cannot contain a line break",
        ),
        (
            |o| o.headers.push(("Bcc".into(), "x@y.example".into())),
            "header \"Bcc\": set by the message itself, not as an extra header",
        ),
        (
            |o| o.headers.push(("Bad Name".into(), "x".into())),
            "header \"Bad Name\": not a header field name (printable ASCII, no colon)",
        ),
        (|o| o.to.clear(), "the message has no recipient"),
        (
            |o| o.message_id = "no-at-sign".into(),
            "header \"Message-ID\": not a message id (printable ASCII with an @, no brackets inside)",
        ),
    ];
    for (change, error) in cases {
        let mut outbound = answer();
        change(&mut outbound);
        assert_eq!(build_message(&outbound).unwrap_err().to_string(), error);
    }
    let mut outbound = answer();
    outbound.to = vec!["not an address".into()];
    assert!(matches!(
        build_message(&outbound),
        Err(SendError::Address { field: "to", .. })
    ));
}

#[tokio::test]
async fn a_relay_that_is_not_there_is_a_relay_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let relay = SmtpRelay::new("127.0.0.1", port, "desk.registry.example");
    let error = send(&relay, &answer()).await.unwrap_err();
    assert!(matches!(error, SendError::Relay { .. }), "{error}");
}
