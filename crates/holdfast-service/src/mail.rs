//! E-mail in and out of the desk: every message the SMTP listener accepts is kept whole first,
//! then read as a report (plain text, ARF, XARF) or as a reply to a case; the outgoing queue is
//! sent through the configured relay.

use holdfast_mail::{Format, Inbound, Limits, Outbound, SmtpRelay, parse_message};
use holdfast_model::ThreatType;
use holdfast_store::{Direction, FileOwner, NewMail, NewMessage};
use jiff::Timestamp;
use serde_json::json;

use crate::cases::{MAX_DESCRIPTION, MAX_EVIDENCE_BYTES, MAX_REPORT_NAMES, free_text};
use crate::desk::{case_address, case_in_address, queue_to_staff};
use crate::files::Upload;
use crate::{
    Change, ReportReceipt, ReportRequest, Result, Service, ServiceError, Submitter, record,
};
use holdfast_model::MessageEvent as Event;

/// The largest e-mail the desk reads.
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// Sending attempts before a message is left for staff to look at.
const MAX_ATTEMPTS: i64 = 5;

/// What became of an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    /// It was a report (perhaps one that could not be parsed: see its `parse_error`).
    Report(ReportReceipt),
    /// It was a reply to a case; the case's staff were alerted.
    Reply { case_id: i64, message_id: i64 },
}

/// The threat a report's own words name, if any.
fn threat_named(words: &str) -> Option<ThreatType> {
    let words = words.to_lowercase();
    let table = [
        ("phish", ThreatType::Phishing),
        ("fraud", ThreatType::Phishing),
        ("pharm", ThreatType::Pharming),
        ("botnet", ThreatType::BotnetCc),
        ("c2", ThreatType::BotnetCc),
        ("command", ThreatType::BotnetCc),
        ("malware", ThreatType::Malware),
        ("virus", ThreatType::Malware),
        ("infected", ThreatType::Malware),
        ("csam", ThreatType::Csam),
        ("child", ThreatType::Csam),
        ("spam", ThreatType::Spam),
        ("abuse", ThreatType::Spam),
    ];
    table
        .into_iter()
        .find(|(word, _)| words.contains(word))
        .map(|(_, threat)| threat)
}

fn threat_of(inbound: &Inbound) -> ThreatType {
    let named = match &inbound.format {
        Format::Xarf(xarf) => threat_named(&format!("{} {}", xarf.report_type, xarf.category)),
        Format::Arf(arf) => threat_named(&arf.feedback_type),
        Format::PlainText => None,
    };
    named
        .or_else(|| threat_named(inbound.subject.as_deref().unwrap_or_default()))
        .unwrap_or(ThreatType::Other)
}

/// The local part and domain of an address without its `+tag`.
fn without_tag(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{local}@{domain}").to_lowercase()
        }
        None => address.to_lowercase(),
    }
}

/// The case a reply's subject names: `[case N]`.
fn case_in_subject(subject: &str) -> Option<i64> {
    let start = subject.find("[case ")? + "[case ".len();
    let rest = &subject[start..];
    rest[..rest.find(']')?].trim().parse().ok()
}

/// A message's text for staff: the subject, then the body, within the description's size.
fn description_of(inbound: &Inbound) -> String {
    let mut text = inbound.subject.clone().unwrap_or_default();
    if !inbound.body.text.is_empty() {
        text.push_str("\n\n");
        text.push_str(&inbound.body.text);
    }
    text.chars().take(MAX_DESCRIPTION).collect()
}

impl Service {
    /// Waits until a desk's address may have changed (set through this service).
    pub async fn desk_addresses_changed(&self) {
        self.desks_changed.notified().await;
    }

    /// The addresses reports and replies come to: every desk's address.
    pub async fn desk_addresses(&self) -> Result<Vec<String>> {
        let mut tx = self.store.read().await?;
        Ok(tx.desk_addresses().await?)
    }

    /// Takes one e-mail the SMTP listener accepted: keeps it whole, then files it as a report
    /// for the desk it was sent to, or attaches it to the case it answers. A message that
    /// cannot be parsed becomes a report that says so, so staff read it as received.
    pub async fn receive_mail(
        &self,
        mail_from: &str,
        rcpt_to: &[String],
        peer: &str,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<MailOutcome> {
        let mut tx = self.store.write().await?;
        let mail_id = tx
            .insert_mail(&NewMail {
                received_at: now,
                mail_from,
                rcpt_to,
                peer,
                raw,
            })
            .await?;
        let mut registry = None;
        for rcpt in rcpt_to {
            if let Some(org_id) = tx.desk_by_address(&without_tag(rcpt)).await? {
                registry = Some((org_id, rcpt.clone()));
                break;
            }
        }
        tx.commit().await?;
        let Some((registry, rcpt)) = registry else {
            return Err(ServiceError::invalid(
                "rcpt_to",
                "no desk has this address; the message is kept",
            ));
        };
        let limits = Limits {
            max_message_bytes: MAX_MAIL_BYTES,
            max_attachment_bytes: MAX_EVIDENCE_BYTES,
            max_names: MAX_REPORT_NAMES,
        };
        let parsed = parse_message(raw, &limits);
        let from = match &parsed {
            Ok(inbound) => inbound.from.as_ref().map(|from| from.address.clone()),
            Err(_) => None,
        }
        .filter(|address| !address.is_empty())
        .unwrap_or_else(|| mail_from.to_owned());
        let from: String = from.chars().filter(|c| !c.is_control()).take(254).collect();

        if let Ok(inbound) = &parsed {
            let case_id = case_in_address(&rcpt)
                .or_else(|| inbound.subject.as_deref().and_then(case_in_subject));
            if let Some(case_id) = case_id
                && let Some(outcome) = self
                    .attach_reply(registry, case_id, mail_id, &from, inbound, now)
                    .await?
            {
                return Ok(outcome);
            }
        }

        let request = match &parsed {
            Ok(inbound) => ReportRequest {
                registry: Some(registry),
                threat_type: Some(threat_of(inbound)),
                description: description_of(inbound),
                names: inbound.names.domains.clone(),
                urls: inbound
                    .names
                    .urls
                    .iter()
                    .take(crate::cases::MAX_URLS)
                    .filter(|url| url.len() <= 2048)
                    .cloned()
                    .collect(),
                reporter_name: inbound.from.as_ref().and_then(|from| from.name.clone()),
                ..ReportRequest::default()
            },
            Err(error) => ReportRequest {
                registry: Some(registry),
                threat_type: Some(ThreatType::Other),
                description: "The e-mail could not be read; staff see it as received.".to_owned(),
                parse_error: Some(error.to_string()),
                ..ReportRequest::default()
            },
        };
        let submitter = Submitter::Email {
            mail_id,
            from: from.clone(),
        };
        let receipt = self.submit_report(submitter, request, now).await?;
        let mut tx = self.store.write().await?;
        match &parsed {
            Ok(inbound) => {
                for file in &inbound.attachments {
                    let name = file.filename.as_deref().unwrap_or("attachment");
                    let upload = Upload::received(name, &file.content_type, &file.bytes);
                    tx.insert_file(FileOwner::Report, receipt.report_id, upload.stored(), now)
                        .await?;
                }
            }
            Err(error) => tx.set_mail_parse_error(mail_id, &error.to_string()).await?,
        }
        tx.commit().await?;
        Ok(MailOutcome::Report(receipt))
    }

    /// Files an e-mail as a reply on case `case_id` of `registry`, and alerts its staff; `None`
    /// when there is no such case at that desk (the e-mail is then read as a report).
    async fn attach_reply(
        &self,
        registry: i64,
        case_id: i64,
        mail_id: i64,
        from: &str,
        inbound: &Inbound,
        now: Timestamp,
    ) -> Result<Option<MailOutcome>> {
        let mut tx = self.store.write().await?;
        let Some(case) = tx
            .case(case_id)
            .await?
            .filter(|case| case.org_id == registry)
        else {
            return Ok(None);
        };
        let subject: String = inbound
            .subject
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(250)
            .collect();
        let body = free_text(
            "body",
            &inbound.body.text.chars().take(100_000).collect::<String>(),
            100_000,
        )?;
        let desk = crate::desk::desk_of(&mut tx, registry).await?;
        let message_id = tx
            .insert_message(&NewMessage {
                case_id: Some(case_id),
                report_id: None,
                referral_id: None,
                direction: Direction::In,
                event: "reply",
                sender: from,
                recipient: &desk.address,
                subject: &subject,
                body: &body,
                mail_id: Some(mail_id),
                created_at: now,
            })
            .await?;
        let fill = [("from", from.to_owned()), ("subject", subject.clone())];
        queue_to_staff(&mut tx, &case, Event::ReplyAlert, &fill, now).await?;
        let change = Change {
            org_id: Some(registry),
            action: "case.reply",
            subject: format!("case:{case_id}"),
            reason: "",
            details: json!({ "mail": mail_id, "from": from }),
        };
        record(&mut tx, None, now, change).await?;
        tx.commit().await?;
        Ok(Some(MailOutcome::Reply {
            case_id,
            message_id,
        }))
    }

    /// Sends the queued outgoing messages through `relay`; each is marked sent, or its error is
    /// kept and it is tried again later (at most five times). Messages without an address
    /// (a reporter who left none) stay in the portal only. Returns how many were sent.
    pub async fn send_pending(&self, relay: &SmtpRelay, now: Timestamp) -> Result<usize> {
        let pending = {
            let mut tx = self.store.read().await?;
            tx.unsent_messages(MAX_ATTEMPTS).await?
        };
        let mut sent = 0;
        for message in pending {
            let domain = message
                .sender
                .rsplit_once('@')
                .map_or("holdfast.invalid", |(_, domain)| domain);
            let outbound = Outbound {
                from: message.sender.clone(),
                to: vec![message.recipient.clone()],
                reply_to: message
                    .case_id
                    .map(|case_id| case_address(&message.sender, case_id)),
                subject: message.subject.clone(),
                text: message.body.clone(),
                message_id: format!("holdfast-{}@{domain}", message.id),
                in_reply_to: None,
                references: Vec::new(),
                date: now,
                headers: vec![
                    ("Auto-Submitted".to_owned(), "auto-generated".to_owned()),
                    (
                        "X-Holdfast-Case".to_owned(),
                        message
                            .case_id
                            .map_or_else(String::new, |id| id.to_string()),
                    ),
                ],
            };
            let result = holdfast_mail::send(relay, &outbound).await;
            let mut tx = self.store.write().await?;
            match &result {
                Ok(()) => {
                    tx.message_attempt(message.id, Ok(now)).await?;
                    sent += 1;
                }
                Err(error) => {
                    tracing::warn!(message = message.id, %error, "sending a message failed");
                    tx.message_attempt(message.id, Err(&error.to_string()))
                        .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_name_their_case() {
        assert_eq!(
            case_in_subject("Re: [case 42] We received your report"),
            Some(42)
        );
        assert_eq!(case_in_subject("[case x]"), None);
        assert_eq!(
            without_tag("Abuse+case-42@Registry.example"),
            "abuse@registry.example"
        );
    }

    #[test]
    fn threats_are_read_from_the_report_words() {
        assert_eq!(threat_named("Phishing site"), Some(ThreatType::Phishing));
        assert_eq!(
            threat_named("malware distribution"),
            Some(ThreatType::Malware)
        );
        assert_eq!(threat_named("hello"), None);
    }
}
