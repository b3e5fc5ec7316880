//! Hostile and malformed content: script payloads come out of `parse_message` as the same
//! literal text; broken MIME is an error naming the part, while the sink still got the raw bytes.

use holdfast_mail::{BodyKind, Limits, ParseError, PartProblem, parse_message};
use serde_json::json;

use crate::common::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

#[tokio::test]
async fn script_payloads_in_subject_body_and_filename_stay_literal_text() {
    let server = Server::start(|_| {}).await;
    let message = crlf(&format!(
        "From: \"{SCRIPT}\" <attacker@evil.example>\n\
         To: abuse@registry.example\n\
         Subject: {SCRIPT} {IMG}\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"xx\"\n\
         \n\
         --xx\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         {SCRIPT}\n\
         {IMG}\n\
         --xx\n\
         Content-Type: text/plain\n\
         Content-Disposition: attachment;\n\
         \x20filename*=UTF-8''%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\n\
         \n\
         {SCRIPT}\n\
         --xx--\n"
    ));
    let result = smtplib(server.addr, "attacker@evil.example", &[CASE_DESK], &message).await;
    assert_eq!(result, json!({"ok": true, "refused": {}}));
    let (_, raw) = &server.received()[0];
    assert_eq!(raw, &message);

    let inbound = parse_message(raw, &Limits::default()).unwrap();
    assert_eq!(
        inbound.subject.as_deref(),
        Some(format!("{SCRIPT} {IMG}").as_str())
    );
    assert_eq!(inbound.from.unwrap().name.as_deref(), Some(SCRIPT));
    assert_eq!(inbound.body.kind, BodyKind::Text);
    assert_eq!(inbound.body.text, format!("{SCRIPT}\r\n{IMG}"));
    assert_eq!(inbound.attachments.len(), 1);
    let attachment = &inbound.attachments[0];
    assert_eq!(
        attachment.filename.as_deref(),
        Some(format!("{IMG}.txt").as_str())
    );
    assert_eq!(attachment.bytes, SCRIPT.as_bytes());
    server.stop().await;
}

#[test]
fn encoded_payloads_decode_to_the_same_literal_text_and_html_stays_html() {
    // RFC 2047 in the subject, quoted-printable HTML in the body.
    let raw = crlf(
        "From: a@evil.example\n\
         Subject: =?UTF-8?B?PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==?=\n\
         MIME-Version: 1.0\n\
         Content-Type: text/html; charset=utf-8\n\
         Content-Transfer-Encoding: quoted-printable\n\
         \n\
         <p>Click <a href=3D\"https://login.evil.example/\">here</a></p><script>alert(1)</script>\n",
    );
    let inbound = parse_message(&raw, &Limits::default()).unwrap();
    assert_eq!(inbound.subject.as_deref(), Some(SCRIPT));
    assert_eq!(inbound.body.kind, BodyKind::Html);
    assert_eq!(
        inbound.body.text,
        "<p>Click <a href=\"https://login.evil.example/\">here</a></p><script>alert(1)</script>\r\n"
    );
    assert_eq!(inbound.names.urls, ["https://login.evil.example/"]);
}

fn part_error(raw: &[u8]) -> (String, String, PartProblem) {
    match parse_message(raw, &Limits::default()) {
        Err(ParseError::Part {
            part,
            content_type,
            problem,
        }) => (part, content_type, problem),
        other => panic!("expected a MIME part error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_mime_is_an_error_naming_the_part_and_the_raw_bytes_are_kept() {
    let server = Server::start(|_| {}).await;
    let broken_boundary = crlf(
        "From: a@reporter.example\n\
         To: abuse@registry.example\n\
         Subject: broken boundary\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"declared\"\n\
         \n\
         --actual\n\
         Content-Type: text/plain\n\
         \n\
         evil.example\n\
         --actual--\n",
    );
    let bad_base64 = crlf(
        "From: a@reporter.example\n\
         To: abuse@registry.example\n\
         Subject: bad base64\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\
         \n\
         --b\n\
         Content-Type: text/plain\n\
         \n\
         see attachment\n\
         --b\n\
         Content-Type: application/pdf\n\
         Content-Disposition: attachment; filename=\"evidence.pdf\"\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         JVBERi0xLjQK!!!not*base64###\n\
         --b--\n",
    );
    for message in [&broken_boundary, &bad_base64] {
        let result = smtplib(server.addr, "a@reporter.example", &[CASE_DESK], message).await;
        assert_eq!(
            result["ok"], true,
            "the server accepts what it cannot parse: {result}"
        );
    }
    let received = server.received();
    assert_eq!(received[0].1, broken_boundary);
    assert_eq!(received[1].1, bad_base64);

    assert_eq!(
        part_error(&received[0].1),
        (
            "root".to_owned(),
            "multipart/mixed".to_owned(),
            PartProblem::BoundaryNotFound("declared".to_owned())
        )
    );
    let error = parse_message(&received[0].1, &Limits::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "MIME part root (multipart/mixed): the boundary \"declared\" does not occur in the body"
    );
    assert_eq!(
        part_error(&received[1].1),
        (
            "2".to_owned(),
            "application/pdf".to_owned(),
            PartProblem::Undecodable("base64")
        )
    );
    server.stop().await;
}

#[test]
fn more_malformed_messages_and_the_error_each_gives() {
    for (raw, error) in [
        (
            "Subject: x\nContent-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
            "MIME part root (multipart/mixed): multipart without a boundary parameter",
        ),
        (
            "Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n",
            "MIME part root (multipart/mixed): the closing boundary \"--b--\" is missing",
        ),
        (
            "Subject: x\nThis is no header\n\nbody\n",
            "header line 2 (\"This is no header\"): not a header field (no colon)",
        ),
        (
            "\nonly a body\n",
            "not an e-mail message: it has no header fields",
        ),
        (
            "Subject: x\nContent-Type: multipart/report; report-type=feedback-report; boundary=r\n\n\
             --r\nContent-Type: text/plain\n\nhuman\n--r\nContent-Type: message/feedback-report\n\n\
             User-Agent: x\nVersion: 1\n--r--\n",
            "ARF report in MIME part 2: the required field Feedback-Type is missing",
        ),
        (
            "Subject: x\nContent-Type: application/json\n\n\
             {\"xarf_version\": \"4.0.0\", \"reporter\": {\"org\": \"o\"}, \"category\": \"content\", \"type\": \"phishing\"}\n",
            "XARF report in MIME part root: reporter.contact is missing or not of the right type",
        ),
        (
            "Subject: x\nContent-Type: application/json\n\n\
             {\"xarf_version\": \"4.0.0\", \"reporter\": {\"org\": \"o\", \"contact\": \"c@o.example\"}, \
             \"category\": \"content\", \"type\": \"phishing\", \"evidence\": [{\"content_type\": \"text/plain\", \"payload\": \"%%%\"}]}\n",
            "XARF report in MIME part root: evidence[0].payload is not base64: Invalid symbol 37, offset 0.",
        ),
    ] {
        let got = parse_message(&crlf(raw), &Limits::default()).unwrap_err();
        assert_eq!(got.to_string(), error, "{raw}");
    }
}
