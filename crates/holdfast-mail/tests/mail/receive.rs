//! Receiving: smtplib sends reports to `serve`; the sink gets the raw bytes and `parse_message`
//! reads them — plain text, ARF (RFC 5965), XARF as the body and as an attachment — and the
//! server's refusals: unknown recipients, oversized messages, a failing sink, the SMTP verbs.

use holdfast_mail::{BodyKind, Format, Limits, parse_message};
use serde_json::json;

use crate::common::*;

const PLAIN: &str = "\
From: Jane Reporter <jane@cert.example>
To: abuse+case-42@registry.example
Subject: Phishing on evil-shop.example
Message-ID: <r1@cert.example>
In-Reply-To: <case-42.1@registry.example>
References: <case-42.0@registry.example> <case-42.1@registry.example>
Date: Sun, 29 Nov 2026 10:00:00 +0100

Hello,

the domain evil-shop.example hosts a phishing kit:
https://evil-shop.example/paypal/login.php.
Defanged: hxxp://second-shop[.]example/x
.a line that starts with a dot survives dot-stuffing
Contact me at jane@cert.example.
";

#[tokio::test]
async fn a_plain_report_to_a_case_subaddress_arrives_whole_and_names_its_domains() {
    let server = Server::start(|_| {}).await;
    let message = crlf(PLAIN);
    let result = smtplib(
        server.addr,
        "jane@cert.example",
        &["abuse+case-42@registry.example"],
        &message,
    )
    .await;
    assert_eq!(result, json!({"ok": true, "refused": {}}));

    let received = server.received();
    assert_eq!(received.len(), 1);
    let (envelope, raw) = &received[0];
    assert_eq!(
        raw, &message,
        "the sink gets the bytes as sent, dot-unstuffed"
    );
    assert_eq!(envelope.mail_from, "jane@cert.example");
    assert_eq!(envelope.rcpt_to, ["abuse+case-42@registry.example"]);
    assert_eq!(envelope.helo, "reporter.example");
    assert!(envelope.peer.ip().is_loopback());

    let inbound = parse_message(raw, &Limits::default()).unwrap();
    assert_eq!(inbound.format, Format::PlainText);
    let from = inbound.from.unwrap();
    assert_eq!(
        (from.name.as_deref(), from.address.as_str()),
        (Some("Jane Reporter"), "jane@cert.example")
    );
    assert_eq!(inbound.to[0].address, "abuse+case-42@registry.example");
    assert_eq!(
        inbound.subject.as_deref(),
        Some("Phishing on evil-shop.example")
    );
    assert_eq!(inbound.message_id.as_deref(), Some("r1@cert.example"));
    assert_eq!(inbound.in_reply_to, ["case-42.1@registry.example"]);
    assert_eq!(
        inbound.references,
        ["case-42.0@registry.example", "case-42.1@registry.example"]
    );
    assert_eq!(
        inbound.date.unwrap().to_string(),
        "2026-11-29T09:00:00Z",
        "the date in UTC"
    );
    assert_eq!(inbound.body.kind, BodyKind::Text);
    assert!(inbound.body.text.contains(".a line that starts with a dot"));
    assert_eq!(
        inbound.names.domains,
        ["evil-shop.example", "second-shop.example"]
    );
    assert_eq!(
        inbound.names.urls,
        [
            "https://evil-shop.example/paypal/login.php",
            "http://second-shop.example/x"
        ]
    );
    assert!(inbound.attachments.is_empty());
    server.stop().await;
}

/// An RFC 5965 report as a mailbox provider sends it (after the RFC's own example).
const ARF: &str = r#"From: <abusedesk@mailprovider.example>
Date: Sun, 29 Nov 2026 08:40:36 -0500
Subject: FW: Earn money
To: <abuse@registry.example>
Message-ID: <arf-1@mailprovider.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Sun, 29 Nov 2026 14:00:00 +0100.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <somespammer@spam-sender.example>
Original-Rcpt-To: <user@mailprovider.example>
Arrival-Date: Sun, 29 Nov 2026 14:00:00 +0100
Reporting-MTA: dns; mail.mailprovider.example
Source-IP: 192.0.2.1
Authentication-Results: mail.mailprovider.example;
               spf=fail smtp.mail=somespammer@spam-sender.example
Reported-Domain: phish-bank.example
Reported-Uri: http://phish-bank.example/login.html
Reported-Uri: mailto:user@mailprovider.example
Removal-Recipient: user@mailprovider.example

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: <somespammer@spam-sender.example>
Received: from mailserver.spam-sender.example (mailserver.spam-sender.example
        [192.0.2.1]) by mail.mailprovider.example with ESMTP id M63d4137594e46;
        Sun, 29 Nov 2026 14:00:00 +0100
To: <Undisclosed Recipients>
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@spam-sender.example
Date: Sun, 29 Nov 2026 12:31:03 +0100

Log in at http://phish-bank.example/login.html now,
or at hxxps://second-phish[.]example/x
--part1_13d.2e68ed54_boundary--
"#;

#[tokio::test]
async fn an_arf_report_gives_its_fields_names_and_the_reported_message() {
    let server = Server::start(|_| {}).await;
    let message = crlf(ARF);
    let result = smtplib(server.addr, "", &[CASE_DESK], &message).await;
    assert_eq!(result, json!({"ok": true, "refused": {}}));
    let received = server.received();
    let (envelope, raw) = &received[0];
    assert_eq!(envelope.mail_from, "", "the null sender is accepted");
    assert_eq!(raw, &message);

    let inbound = parse_message(raw, &Limits::default()).unwrap();
    let Format::Arf(arf) = &inbound.format else {
        panic!("not ARF: {:?}", inbound.format);
    };
    assert_eq!(arf.part, "2");
    assert_eq!(arf.feedback_type, "abuse");
    assert_eq!(arf.user_agent, "SomeGenerator/1.0");
    assert_eq!(arf.version, "1");
    assert_eq!(arf.source_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(
        arf.arrival_date.as_deref(),
        Some("Sun, 29 Nov 2026 14:00:00 +0100")
    );
    assert_eq!(arf.original_rcpt_to, ["<user@mailprovider.example>"]);
    assert_eq!(arf.reported_domains, ["phish-bank.example"]);
    assert_eq!(
        arf.reported_uris,
        [
            "http://phish-bank.example/login.html",
            "mailto:user@mailprovider.example"
        ]
    );
    assert!(arf.fields.iter().any(|(name, value)| name == "Authentication-Results"
        && value == "mail.mailprovider.example; spf=fail smtp.mail=somespammer@spam-sender.example"));

    assert_eq!(
        inbound.names.domains,
        ["phish-bank.example", "second-phish.example"]
    );
    assert_eq!(
        inbound.names.urls,
        [
            "http://phish-bank.example/login.html",
            "https://second-phish.example/x"
        ]
    );
    assert!(
        inbound
            .body
            .text
            .starts_with("This is an email abuse report")
    );
    let parts: Vec<_> = inbound
        .attachments
        .iter()
        .map(|a| (a.part.as_str(), a.content_type.as_str()))
        .collect();
    assert_eq!(
        parts,
        [("2", "message/feedback-report"), ("3", "message/rfc822")]
    );
    let reported = &inbound.attachments[1];
    assert!(
        reported
            .bytes
            .starts_with(b"From: <somespammer@spam-sender.example>\r\n")
    );
    assert_eq!(reported.sha256, sha256_hex(&reported.bytes));
    server.stop().await;
}

fn xarf_document(evidence: &[u8]) -> serde_json::Value {
    json!({
        "xarf_version": "4.0.0",
        "report_id": "b2c3d4e5-f6a7-4901-bcde-f23456789012",
        "timestamp": "2026-11-29T15:15:24Z",
        "reporter": {"org": "Phishing Detection Service", "contact": "reports@antiphishing.example", "domain": "antiphishing.example"},
        "sender": {"org": "Phishing Detection Service", "contact": "reports@antiphishing.example", "domain": "antiphishing.example"},
        "source_identifier": "203.0.113.45",
        "category": "content",
        "type": "phishing",
        "evidence_source": "crawler",
        "url": "https://secure-banking-login.phish.example/auth",
        "cloned_site": "https://www.majorbank.example",
        "redirect_chain": ["http://short.example/abc", "https://secure-banking-login.phish.example/auth"],
        "evidence": [{
            "content_type": "text/html",
            "description": "the phishing page",
            "payload": base64_lines(evidence).replace("\r\n", ""),
        }],
    })
}

#[tokio::test]
async fn an_xarf_report_as_the_body_gives_its_fields_and_evidence() {
    let server = Server::start(|_| {}).await;
    let page = b"<html><form action=/steal><input name=password></form></html>";
    let document = serde_json::to_string_pretty(&xarf_document(page)).unwrap();
    let message = crlf(&format!(
        "From: reports@antiphishing.example\n\
         To: abuse@registry.example\n\
         Subject: XARF report\n\
         MIME-Version: 1.0\n\
         Content-Type: application/json\n\
         \n\
         {document}\n"
    ));
    let result = smtplib(
        server.addr,
        "reports@antiphishing.example",
        &[CASE_DESK],
        &message,
    )
    .await;
    assert_eq!(result, json!({"ok": true, "refused": {}}));
    let (_, raw) = &server.received()[0];
    assert_eq!(raw, &message);

    let inbound = parse_message(raw, &Limits::default()).unwrap();
    let Format::Xarf(xarf) = &inbound.format else {
        panic!("not XARF: {:?}", inbound.format);
    };
    assert_eq!(xarf.part, "root");
    assert_eq!(xarf.version, "4.0.0");
    assert_eq!(xarf.reporter.org, "Phishing Detection Service");
    assert_eq!(xarf.reporter.contact, "reports@antiphishing.example");
    assert_eq!(
        xarf.reporter.domain.as_deref(),
        Some("antiphishing.example")
    );
    assert_eq!(
        (xarf.category.as_str(), xarf.report_type.as_str()),
        ("content", "phishing")
    );
    assert_eq!(xarf.source_identifier.as_deref(), Some("203.0.113.45"));
    assert_eq!(
        xarf.url.as_deref(),
        Some("https://secure-banking-login.phish.example/auth")
    );
    assert_eq!(xarf.evidence.len(), 1);
    assert_eq!(xarf.evidence[0].bytes, page);
    assert_eq!(xarf.evidence[0].sha256, sha256_hex(page));
    assert_eq!(xarf.evidence[0].content_type, "text/html");
    assert_eq!(
        xarf.document["cloned_site"],
        "https://www.majorbank.example"
    );
    // The reported names, not the reporter's domain or the impersonated site.
    assert_eq!(
        inbound.names.domains,
        ["secure-banking-login.phish.example", "short.example"]
    );
    assert_eq!(
        inbound.names.urls,
        [
            "https://secure-banking-login.phish.example/auth",
            "http://short.example/abc"
        ]
    );
    assert!(inbound.body.text.contains("\"xarf_version\""));
    assert!(inbound.attachments.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn an_xarf_report_as_an_attachment_beside_a_screenshot() {
    let server = Server::start(|_| {}).await;
    let document = json!({
        "xarf_version": "4.0.0",
        "report_id": "6a0c8f52-3f0e-4d8e-9d0c-5d2f0a6c9b11",
        "timestamp": "2026-11-29T11:00:00Z",
        "reporter": {"org": "Malware Hunters", "contact": "abuse@hunters.example", "domain": "hunters.example"},
        "sender": {"org": "Malware Hunters", "contact": "abuse@hunters.example", "domain": "hunters.example"},
        "source_identifier": "malware-drop.example",
        "category": "content",
        "type": "malware",
        "url": "http://malware-drop.example/payload.exe",
    });
    let json_bytes = serde_json::to_vec(&document).unwrap();
    let screenshot: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let message = crlf(&format!(
        "From: abuse@hunters.example\n\
         To: abuse@registry.example\n\
         Subject: Malware distribution\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         Please find attached an XARF report about malware-drop.example.\n\
         --b1\n\
         Content-Type: application/json\n\
         Content-Disposition: attachment; filename=\"report.json\"\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         {}--b1\n\
         Content-Type: image/png\n\
         Content-Disposition: attachment; filename=\"screenshot.png\"\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         {}--b1--\n",
        base64_lines(&json_bytes),
        base64_lines(&screenshot)
    ));
    let result = smtplib(server.addr, "abuse@hunters.example", &[CASE_DESK], &message).await;
    assert_eq!(result, json!({"ok": true, "refused": {}}));
    let (_, raw) = &server.received()[0];
    assert_eq!(raw, &message);

    let inbound = parse_message(raw, &Limits::default()).unwrap();
    let Format::Xarf(xarf) = &inbound.format else {
        panic!("not XARF: {:?}", inbound.format);
    };
    assert_eq!(xarf.part, "2");
    assert_eq!(xarf.report_type, "malware");
    assert_eq!(inbound.names.domains, ["malware-drop.example"]);
    assert_eq!(
        inbound.names.urls,
        ["http://malware-drop.example/payload.exe"]
    );
    let attachments: Vec<_> = inbound
        .attachments
        .iter()
        .map(|a| {
            (
                a.part.as_str(),
                a.filename.as_deref(),
                a.content_type.as_str(),
                a.sha256.as_str(),
            )
        })
        .collect();
    let (json_sha, png_sha) = (sha256_hex(&json_bytes), sha256_hex(&screenshot));
    assert_eq!(
        attachments,
        [
            (
                "2",
                Some("report.json"),
                "application/json",
                json_sha.as_str()
            ),
            ("3", Some("screenshot.png"), "image/png", png_sha.as_str()),
        ]
    );
    assert_eq!(inbound.attachments[1].bytes, screenshot);
    server.stop().await;
}

#[test]
fn names_listed_in_a_text_or_csv_attachment_are_read() {
    let message = crlf(
        "From: soc@cert.example\n\
         To: abuse@registry.example\n\
         Subject: Botnet C2 list\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/plain\n\
         \n\
         See the attached lists.\n\
         --b1\n\
         Content-Type: text/csv\n\
         Content-Disposition: attachment; filename=\"c2.csv\"\n\
         \n\
         domain,first_seen\n\
         c2-one.example,2026-11-28\n\
         c2-two[.]example,2026-11-29\n\
         --b1\n\
         Content-Type: application/octet-stream\n\
         Content-Disposition: attachment; filename=\"more.TXT\"\n\
         \n\
         c2-three.example\n\
         --b1\n\
         Content-Type: application/pdf\n\
         Content-Disposition: attachment; filename=\"letter.pdf\"\n\
         \n\
         not-a-list.example\n\
         --b1--\n",
    );
    let inbound = parse_message(&message, &Limits::default()).unwrap();
    assert_eq!(
        inbound.names.domains,
        ["c2-one.example", "c2-two.example", "c2-three.example"]
    );
    assert_eq!(inbound.attachments.len(), 3, "kept as evidence too");
}

#[tokio::test]
async fn unknown_recipients_get_550_and_known_ones_still_get_the_message() {
    let server = Server::start(|_| {}).await;
    let message = crlf(PLAIN);
    let result = smtplib(
        server.addr,
        "jane@cert.example",
        &["ceo@registry.example"],
        &message,
    )
    .await;
    assert_eq!(result["error"], "SMTPRecipientsRefused");
    assert_eq!(result["refused"]["ceo@registry.example"][0], 550);
    assert!(server.received().is_empty());

    let result = smtplib(
        server.addr,
        "jane@cert.example",
        &["ceo@registry.example", "ABUSE@registry.example"],
        &message,
    )
    .await;
    assert_eq!(result["ok"], true);
    assert_eq!(result["refused"]["ceo@registry.example"][0], 550);
    assert_eq!(server.received()[0].0.rcpt_to, ["ABUSE@registry.example"]);
    server.stop().await;
}

#[tokio::test]
async fn oversized_messages_get_552_at_mail_from_or_after_data() {
    let server = Server::start(|config| config.max_message_bytes = 4096).await;
    let mut message = crlf(PLAIN);
    message.extend(b"padding padding padding padding\r\n".repeat(200));
    let result = smtplib(server.addr, "jane@cert.example", &[CASE_DESK], &message).await;
    assert_eq!(result["error"], "SMTPSenderRefused", "{result}");
    assert_eq!(result["code"], 552);

    let result =
        smtplib_without_size(server.addr, "jane@cert.example", &[CASE_DESK], &message).await;
    assert_eq!(result["error"], "SMTPDataError", "{result}");
    assert_eq!(result["code"], 552);
    assert!(server.received().is_empty());

    // The session goes on after a refusal: a small message still arrives.
    let result = smtplib(server.addr, "jane@cert.example", &[CASE_DESK], &crlf(PLAIN)).await;
    assert_eq!(result["ok"], true);
    server.stop().await;
}

#[tokio::test]
async fn a_failing_sink_gives_451_so_the_sender_retries() {
    let server = Server::start(|_| {}).await;
    let result = smtplib(server.addr, FAILING_SENDER, &[CASE_DESK], &crlf(PLAIN)).await;
    assert_eq!(result["error"], "SMTPDataError", "{result}");
    assert_eq!(result["code"], 451);
    assert!(server.received().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_smtp_verbs_answer_as_rfc_5321_says() {
    let server = Server::start(|config| config.max_message_bytes = 10_000).await;
    let (mut smtp, greeting) = Conversation::open(server.addr).await;
    assert_eq!(greeting, "220 mx.registry.example ESMTP Holdfast");
    for (command, reply) in [
        ("MAIL FROM:<a@b.example>", "503 5.5.1 Send HELO/EHLO first"),
        ("HELO", "501 5.5.4 Syntax: HELO/EHLO domain"),
        (
            "EHLO client.example",
            "250-mx.registry.example\n250-SIZE 10000\n250-8BITMIME\n250-PIPELINING\n250 ENHANCEDSTATUSCODES",
        ),
        ("NOOP", "250 2.0.0 OK"),
        (
            "VRFY abuse",
            "252 2.5.0 Cannot VRFY, but will accept the message",
        ),
        ("FROB", "500 5.5.2 Command not recognized"),
        ("STARTTLS", "502 5.5.1 Command not implemented"),
        (
            "RCPT TO:<abuse@registry.example>",
            "503 5.5.1 Need MAIL before RCPT",
        ),
        ("DATA", "503 5.5.1 Need MAIL first"),
        (
            "MAIL FROM:<a@b.example> SIZE=10001",
            "552 5.3.4 Message size exceeds fixed maximum message size",
        ),
        (
            "MAIL FROM:<a@b.example> SMTPUTF8",
            "555 5.5.4 Unsupported parameter",
        ),
        (
            "MAIL FROM:a@b.example",
            "501 5.5.4 Syntax: MAIL FROM:<address>",
        ),
        (
            "mail from: <a@b.example> SIZE=100 BODY=8BITMIME",
            "250 2.1.0 OK",
        ),
        ("MAIL FROM:<a@b.example>", "503 5.5.1 Nested MAIL command"),
        ("DATA", "503 5.5.1 Need RCPT first"),
        (
            "RCPT TO:<nobody@registry.example>",
            "550 5.1.1 No such recipient here: mailbox unavailable",
        ),
        ("RSET", "250 2.0.0 OK"),
        (
            "RCPT TO:<abuse@registry.example>",
            "503 5.5.1 Need MAIL before RCPT",
        ),
    ] {
        assert_eq!(smtp.command(command).await, reply, "{command}");
    }
    let long = format!("NOOP {}", "x".repeat(5000));
    assert_eq!(smtp.command(&long).await, "500 5.5.2 Line too long");

    // Pipelining: the whole transaction in one write, the replies in order.
    smtp.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<abuse+case-7@registry.example>\r\nDATA\r\n")
        .await;
    assert_eq!(smtp.reply().await, "250 2.1.0 OK");
    assert_eq!(smtp.reply().await, "250 2.1.5 OK");
    assert_eq!(smtp.reply().await, "354 End data with <CR><LF>.<CR><LF>");
    // A bare LF "." LF does not end the data (no SMTP smuggling); ".." is unstuffed.
    smtp.send(b"Subject: t\r\n\r\nbody\n.\nstill body\r\n..dot\r\n.\r\n")
        .await;
    assert_eq!(smtp.reply().await, "250 2.0.0 Message accepted");
    assert_eq!(smtp.command("QUIT").await, "221 2.0.0 Bye");
    let received = server.received();
    assert_eq!(
        received[0].1,
        b"Subject: t\r\n\r\nbody\n.\nstill body\r\n.dot\r\n"
    );
    assert_eq!(received[0].0.rcpt_to, ["abuse+case-7@registry.example"]);
    server.stop().await;
}

#[tokio::test]
async fn one_connection_too_many_is_told_421() {
    let server = Server::start(|config| config.max_connections = 1).await;
    let (mut first, greeting) = Conversation::open(server.addr).await;
    assert!(greeting.starts_with("220 "));
    let result = smtplib(server.addr, "jane@cert.example", &[CASE_DESK], &crlf(PLAIN)).await;
    assert_eq!(result["error"], "SMTPConnectError", "{result}");
    assert_eq!(result["code"], 421);
    assert_eq!(first.command("QUIT").await, "221 2.0.0 Bye");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_tells_idle_sessions_421_and_serve_returns() {
    let server = Server::start(|_| {}).await;
    let (mut idle, _) = Conversation::open(server.addr).await;
    assert!(
        idle.command("EHLO client.example")
            .await
            .starts_with("250-")
    );
    let stopping = tokio::spawn(server.stop());
    assert_eq!(idle.reply().await, "421 4.3.2 Shutting down");
    stopping.await.unwrap();
}

#[tokio::test]
async fn limits_are_errors_naming_the_limit() {
    let raw = crlf(PLAIN);
    let limits = Limits {
        max_message_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        parse_message(&raw, &limits).unwrap_err().to_string(),
        format!(
            "the message is {} bytes, over the limit max_message_bytes = 100",
            raw.len()
        )
    );
    let limits = Limits {
        max_names: 1,
        ..Limits::default()
    };
    assert_eq!(
        parse_message(&raw, &limits).unwrap_err().to_string(),
        "the message names more than max_names = 1 distinct domain names or URLs"
    );
    let arf = crlf(ARF);
    let limits = Limits {
        max_attachment_bytes: 100,
        ..Limits::default()
    };
    let error = parse_message(&arf, &limits).unwrap_err().to_string();
    assert!(
        error.starts_with("MIME part 2 is ")
            && error.ends_with("over the limit max_attachment_bytes = 100"),
        "{error}"
    );
}

#[tokio::test]
async fn long_lines_arrive_whole_and_dots_are_unstuffed_only_at_line_starts() {
    let server = Server::start(|_| {}).await;
    let (mut smtp, _) = Conversation::open(server.addr).await;
    for command in [
        "EHLO client.example",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<abuse@registry.example>",
        "DATA",
    ] {
        smtp.command(command).await;
    }
    // A 20,000-byte line is read in chunks of 8,192: the "." that opens the second chunk and
    // the ".." after it are content, not the start of a line.
    let mut long = "x".repeat(8192);
    long.push_str(".y..z");
    long.push_str(&"w".repeat(20_000 - long.len()));
    let data = format!("Subject: long\r\n\r\n{long}\r\n..next\r\n.\r\n");
    smtp.send(data.as_bytes()).await;
    assert_eq!(smtp.reply().await, "250 2.0.0 Message accepted");
    let expected = format!("Subject: long\r\n\r\n{long}\r\n.next\r\n");
    assert_eq!(server.received()[0].1, expected.as_bytes());
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_is_told_421_and_disconnected() {
    let server = Server::start(|config| {
        config.idle_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let (mut silent, _) = Conversation::open(server.addr).await;
    assert_eq!(silent.reply().await, "421 4.4.2 Idle timeout, closing");
    assert_eq!(
        silent.reply().await,
        "",
        "then the server closes the connection"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_crlf_split_between_read_chunks_still_ends_the_line() {
    let server = Server::start(|_| {}).await;
    let (mut smtp, _) = Conversation::open(server.addr).await;
    for command in [
        "EHLO client.example",
        "MAIL FROM:<a@b.example>",
        "RCPT TO:<abuse@registry.example>",
        "DATA",
    ] {
        smtp.command(command).await;
    }
    // 8,191 bytes and CR fill one chunk; the LF comes in the next, and then the final dot.
    let line = "y".repeat(8191);
    smtp.send(format!("{line}\r\n.\r\n").as_bytes()).await;
    assert_eq!(smtp.reply().await, "250 2.0.0 Message accepted");
    assert_eq!(server.received()[0].1, format!("{line}\r\n").as_bytes());
    server.stop().await;
}
