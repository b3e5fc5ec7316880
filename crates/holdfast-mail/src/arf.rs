//! ARF (RFC 5965): the machine-readable `message/feedback-report` part of a
//! `multipart/report; report-type=feedback-report` message, as fields.

/// The fields of an ARF feedback report, as written (values unfolded and trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArfReport {
    /// The MIME part that held the `message/feedback-report`, e.g. `2`.
    pub part: String,
    pub feedback_type: String,
    pub user_agent: String,
    pub version: String,
    pub source_ip: Option<String>,
    pub arrival_date: Option<String>,
    pub original_mail_from: Option<String>,
    pub original_rcpt_to: Vec<String>,
    pub reporting_mta: Option<String>,
    pub incidents: Option<String>,
    pub reported_domains: Vec<String>,
    pub reported_uris: Vec<String>,
    /// Every field in order, the ones above included.
    pub fields: Vec<(String, String)>,
}

/// Parses the body of a `message/feedback-report` part. The error says which line or field.
pub(crate) fn parse_feedback_report(part: &str, text: &str) -> Result<ArfReport, String> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match fields.last_mut() {
                Some((_, value)) => {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                None => {
                    return Err(format!(
                        "line {}: a continuation before any field",
                        number + 1
                    ));
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("line {}: not a field (no colon)", number + 1));
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("line {}: bad field name {name:?}", number + 1));
        }
        fields.push((name.to_owned(), value.trim().to_owned()));
    }
    let all = |wanted: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.clone())
            .collect()
    };
    let one = |wanted: &str| all(wanted).into_iter().next();
    let required =
        |wanted: &str| one(wanted).ok_or(format!("the required field {wanted} is missing"));
    Ok(ArfReport {
        part: part.to_owned(),
        feedback_type: required("Feedback-Type")?,
        user_agent: required("User-Agent")?,
        version: required("Version")?,
        source_ip: one("Source-IP"),
        arrival_date: one("Arrival-Date").or_else(|| one("Received-Date")),
        original_mail_from: one("Original-Mail-From"),
        original_rcpt_to: all("Original-Rcpt-To"),
        reporting_mta: one("Reporting-MTA"),
        incidents: one("Incidents"),
        reported_domains: all("Reported-Domain"),
        reported_uris: all("Reported-URI"),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unfolded_and_repeated_ones_kept() {
        let report = parse_feedback_report(
            "2",
            "Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\n\
             Reported-Domain: a.example\r\nReported-Domain: b.example\r\n\
             Authentication-Results: mail.example;\r\n  spf=fail\r\n",
        )
        .unwrap();
        assert_eq!(report.feedback_type, "abuse");
        assert_eq!(report.reported_domains, ["a.example", "b.example"]);
        assert_eq!(
            report.fields.last().unwrap(),
            &(
                "Authentication-Results".to_owned(),
                "mail.example; spf=fail".to_owned()
            )
        );
    }

    #[test]
    fn errors_name_the_line_or_field() {
        for (text, error) in [
            (
                "User-Agent: x\nVersion: 1\n",
                "the required field Feedback-Type is missing",
            ),
            (
                "Feedback-Type: abuse\nnonsense\n",
                "line 2: not a field (no colon)",
            ),
            ("  folded\n", "line 1: a continuation before any field"),
        ] {
            assert_eq!(parse_feedback_report("2", text).unwrap_err(), error);
        }
    }
}
