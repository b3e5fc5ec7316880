//! XARF (JSON abuse reports): the v4 document (`xarf_version`, `reporter`, `category`, `type`,
//! `source_identifier`, `url`, `evidence` …) and the older `Version`/`ReporterInfo`/`Report`
//! shape (XARF v3 and early v4 drafts), read into one `XarfReport`.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::parse::Evidence;

/// Who reported or sent an XARF report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XarfContact {
    pub org: String,
    /// An e-mail address.
    pub contact: String,
    pub domain: Option<String>,
}

/// An XARF report, the fields Holdfast uses; `document` keeps the whole JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct XarfReport {
    /// The MIME part that held the JSON, e.g. `root` (the body) or `2` (an attachment).
    pub part: String,
    /// `xarf_version` (`4.0.0`) or the older `Version` (`3`).
    pub version: String,
    pub report_id: Option<String>,
    /// When the abuse happened (`timestamp`, older `Report.Date`), as written.
    pub timestamp: Option<String>,
    pub reporter: XarfContact,
    pub sender: Option<XarfContact>,
    /// `category` (v4: messaging, content, …) or the older `Report.ReportClass`.
    pub category: String,
    /// `type` (v4: phishing, malware, …) or the older `Report.ReportType`.
    pub report_type: String,
    pub source_identifier: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
    /// `evidence[].payload` (older: `Report.Samples[].Payload`), decoded.
    pub evidence: Vec<Evidence>,
    pub document: Value,
}

/// Why a JSON document that says it is XARF is not a usable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XarfError {
    Field(String),
    TooLarge { field: String, size: usize },
}

/// Fields that name what is reported (not the reporter, not the impersonated site).
const NAME_FIELDS: [&str; 8] = [
    "source_identifier",
    "url",
    "urls",
    "domain",
    "domains",
    "submission_url",
    "redirect_chain",
    "destination_url",
];
const OLD_NAME_FIELDS: [&str; 5] = [
    "Url",
    "Source",
    "SourceIdentifier",
    "Domain",
    "SourceDomain",
];

/// Whether a JSON document claims to be XARF.
pub(crate) fn is_xarf(document: &Value) -> bool {
    document.get("xarf_version").is_some()
        || (document.get("Version").is_some()
            && document.get("ReporterInfo").is_some()
            && document.get("Report").is_some())
}

/// Reads an XARF document; also gives the raw values of its name fields.
pub(crate) fn parse_xarf(
    part: &str,
    document: Value,
    max_evidence_bytes: usize,
) -> Result<(XarfReport, Vec<String>), XarfError> {
    let Some(object) = document.as_object() else {
        return Err(XarfError::Field("the document is not a JSON object".into()));
    };
    let (report, names) = if object.contains_key("xarf_version") {
        current(part, object, max_evidence_bytes)?
    } else {
        older(part, object, max_evidence_bytes)?
    };
    Ok((XarfReport { document, ..report }, names))
}

fn current(
    part: &str,
    object: &Map<String, Value>,
    max_evidence_bytes: usize,
) -> Result<(XarfReport, Vec<String>), XarfError> {
    let reporter = object
        .get("reporter")
        .and_then(Value::as_object)
        .ok_or_else(|| missing("reporter"))?;
    let sender = match object.get("sender").and_then(Value::as_object) {
        Some(sender) => Some(contact(sender, "sender", "org", "contact", "domain")?),
        None => None,
    };
    let mut evidence = Vec::new();
    for (index, item) in array(object, "evidence").iter().enumerate() {
        let field = format!("evidence[{index}]");
        evidence.push(evidence_item(
            part,
            &field,
            item,
            ("content_type", "payload"),
            max_evidence_bytes,
        )?);
    }
    let report = XarfReport {
        part: part.to_owned(),
        version: required(object, "xarf_version", "xarf_version")?,
        report_id: optional(object, "report_id"),
        timestamp: optional(object, "timestamp"),
        reporter: contact(reporter, "reporter", "org", "contact", "domain")?,
        sender,
        category: required(object, "category", "category")?,
        report_type: required(object, "type", "type")?,
        source_identifier: optional(object, "source_identifier"),
        url: optional(object, "url"),
        description: optional(object, "description"),
        evidence,
        document: Value::Null,
    };
    Ok((report, strings(object, &NAME_FIELDS)))
}

fn older(
    part: &str,
    object: &Map<String, Value>,
    max_evidence_bytes: usize,
) -> Result<(XarfReport, Vec<String>), XarfError> {
    let info = object
        .get("ReporterInfo")
        .and_then(Value::as_object)
        .ok_or_else(|| missing("ReporterInfo"))?;
    let report = object
        .get("Report")
        .and_then(Value::as_object)
        .ok_or_else(|| missing("Report"))?;
    let version = match object.get("Version") {
        Some(Value::String(version)) => version.clone(),
        Some(Value::Number(version)) => version.to_string(),
        _ => return Err(missing("Version")),
    };
    let mut evidence = Vec::new();
    for (index, item) in array(report, "Samples").iter().enumerate() {
        let field = format!("Report.Samples[{index}]");
        evidence.push(evidence_item(
            part,
            &field,
            item,
            ("ContentType", "Payload"),
            max_evidence_bytes,
        )?);
    }
    let parsed = XarfReport {
        part: part.to_owned(),
        version,
        report_id: optional(report, "ReportId").or_else(|| optional(object, "ReportId")),
        timestamp: optional(report, "Date"),
        reporter: contact(
            info,
            "ReporterInfo",
            "ReporterOrg",
            "ReporterOrgEmail",
            "ReporterOrgDomain",
        )?,
        sender: None,
        category: required(report, "ReportClass", "Report.ReportClass")?,
        report_type: required(report, "ReportType", "Report.ReportType")?,
        source_identifier: optional(report, "SourceIdentifier")
            .or_else(|| optional(report, "Source"))
            .or_else(|| optional(report, "SourceIp")),
        url: optional(report, "Url"),
        description: optional(report, "AttackDescription")
            .or_else(|| optional(report, "Description")),
        evidence,
        document: Value::Null,
    };
    Ok((parsed, strings(report, &OLD_NAME_FIELDS)))
}

fn missing(field: &str) -> XarfError {
    XarfError::Field(format!("{field} is missing or not of the right type"))
}

fn required(object: &Map<String, Value>, key: &str, field: &str) -> Result<String, XarfError> {
    optional(object, key).ok_or_else(|| missing(field))
}

fn optional(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn array<'a>(object: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    object
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The string values of these keys, and the strings in arrays under them.
fn strings(object: &Map<String, Value>, keys: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for key in keys {
        match object.get(*key) {
            Some(Value::String(value)) => found.push(value.clone()),
            Some(Value::Array(values)) => {
                found.extend(values.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            _ => {}
        }
    }
    found
}

fn contact(
    object: &Map<String, Value>,
    field: &str,
    org: &str,
    email: &str,
    domain: &str,
) -> Result<XarfContact, XarfError> {
    Ok(XarfContact {
        org: required(object, org, &format!("{field}.{org}"))?,
        contact: required(object, email, &format!("{field}.{email}"))?,
        domain: optional(object, domain),
    })
}

fn evidence_item(
    part: &str,
    field: &str,
    item: &Value,
    (content_type, payload): (&str, &str),
    max_bytes: usize,
) -> Result<Evidence, XarfError> {
    let Some(item) = item.as_object() else {
        return Err(XarfError::Field(format!("{field} is not an object")));
    };
    let encoded = item
        .get(payload)
        .and_then(Value::as_str)
        .ok_or_else(|| missing(&format!("{field}.{payload}")))?;
    let compact: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() / 4 * 3 > max_bytes {
        return Err(XarfError::TooLarge {
            field: format!("{field}.{payload}"),
            size: compact.len() / 4 * 3,
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|error| XarfError::Field(format!("{field}.{payload} is not base64: {error}")))?;
    Ok(Evidence::new(
        format!("{part} {field}"),
        None,
        optional(item, content_type).unwrap_or_else(|| "application/octet-stream".into()),
        bytes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_shape_reads_into_the_same_report() {
        let document = serde_json::json!({
            "Version": "3",
            "ReporterInfo": {"ReporterOrg": "Example Security", "ReporterOrgEmail": "abuse@sec.example"},
            "Report": {
                "ReportClass": "Activity",
                "ReportType": "Phishing",
                "Date": "2026-11-29T12:00:00Z",
                "SourceIp": "192.0.2.1",
                "Url": "http://phish.example/login",
                "Samples": [{"ContentType": "text/plain", "Payload": "aGVsbG8=", "Description": "x"}]
            }
        });
        let (report, names) = parse_xarf("2", document, 1000).unwrap();
        assert_eq!(report.version, "3");
        assert_eq!(report.reporter.contact, "abuse@sec.example");
        assert_eq!(
            (report.category.as_str(), report.report_type.as_str()),
            ("Activity", "Phishing")
        );
        assert_eq!(report.source_identifier.as_deref(), Some("192.0.2.1"));
        assert_eq!(report.evidence[0].bytes, b"hello");
        assert_eq!(report.evidence[0].part, "2 Report.Samples[0]");
        assert_eq!(names, ["http://phish.example/login"]);
    }

    #[test]
    fn oversized_evidence_names_its_field() {
        let document = serde_json::json!({
            "xarf_version": "4.0.0",
            "reporter": {"org": "o", "contact": "c@o.example"},
            "category": "content", "type": "malware",
            "evidence": [{"content_type": "application/zip", "payload": "QUJD".repeat(100)}]
        });
        assert_eq!(
            parse_xarf("root", document, 10).unwrap_err(),
            XarfError::TooLarge {
                field: "evidence[0].payload".into(),
                size: 300
            }
        );
    }
}
