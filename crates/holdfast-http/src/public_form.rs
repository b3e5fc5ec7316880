//! The public report form: a plain HTML page that needs no account and no JavaScript, limited
//! per client address. Everything a visitor typed comes back escaped; an error is shown next to
//! the field at fault, with the input kept. A signed-in user (the pages' session) files under
//! their own name, with the pages' CSRF and one-time tokens, and finds the report in the portal.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use holdfast_model::ThreatType;
use holdfast_service::{EvidenceFile, ReportRequest, ServiceError, Submitter};

use crate::AppState;
use crate::limit::ClientAddr;
use crate::ui::{Fields, FilePart, OptionalSession, Session, UploadForm};

/// What the form sends (its evidence file apart).
#[derive(Debug, Default)]
struct FormIn {
    threat_type: String,
    names: String,
    urls: String,
    description: String,
    reporter_name: String,
    reporter_email: String,
}

impl FormIn {
    fn from_fields(fields: &Fields) -> FormIn {
        let text = |name: &str| fields.get(name).to_owned();
        FormIn {
            threat_type: text("threat_type"),
            names: text("names"),
            urls: text("urls"),
            description: text("description"),
            reporter_name: text("reporter_name"),
            reporter_email: text("reporter_email"),
        }
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const THREATS: [(&str, &str); 7] = [
    ("phishing", "Phishing"),
    ("malware", "Malware"),
    ("botnet_cc", "Botnet command and control"),
    ("pharming", "Pharming"),
    ("spam", "Spam delivering one of these"),
    ("csam", "Child sexual abuse material"),
    ("other", "Other"),
];

/// A standalone page: escaped title, `body` as given, a policy that allows no script.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title></head><body><main>\n<h1>{}</h1>\n{body}\n</main></body></html>\n",
        escape(title),
        escape(title)
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The form, filled with `form` and with `error` (field, message) shown next to its field.
fn form_page(
    status: StatusCode,
    session: Option<&Session>,
    form: &FormIn,
    error: Option<(&str, &str)>,
) -> Response {
    let note = |field: &str| match error {
        Some((at, message)) if at == field => {
            format!(
                "<p id=\"{field}-error\" role=\"alert\"><strong>{}</strong></p>",
                escape(message)
            )
        }
        _ => String::new(),
    };
    let described = |field: &str| match error {
        Some((at, _)) if at == field => {
            format!(" aria-invalid=\"true\" aria-describedby=\"{field}-error\"")
        }
        _ => String::new(),
    };
    let options: String = THREATS
        .iter()
        .map(|(value, label)| {
            let selected = if form.threat_type == *value {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{value}\"{selected}>{label}</option>")
        })
        .collect();
    let other = error
        .filter(|(at, _)| {
            ![
                "threat_type",
                "names",
                "description",
                "reporter_name",
                "reporter_email",
                "evidence",
            ]
            .contains(at)
        })
        .map(|(_, message)| format!("<p role=\"alert\"><strong>{}</strong></p>", escape(message)))
        .unwrap_or_default();
    let (intro, tokens) = match session {
        Some(session) => (
            format!(
                "<p>Signed in as <strong>{}</strong>: the report is filed under your name and \
                 its answers appear in <a href=\"/portal\">your reports</a>.</p>\n",
                escape(&session.actor.email)
            ),
            format!(
                "<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <input type=\"hidden\" name=\"once\" value=\"{}\">\n",
                escape(&session.csrf),
                crate::ui::fresh_once()
            ),
        ),
        // Without a session there is no CSRF to check (the form files a report as anyone may),
        // but a second submit of the same form (a double click, a reload) files nothing more.
        None => (
            String::new(),
            format!(
                "<input type=\"hidden\" name=\"once\" value=\"{}\">\n",
                crate::ui::fresh_once()
            ),
        ),
    };
    let body = format!(
        "<p>Report a domain name used for phishing, malware, a botnet or other abuse. No account \
         is needed. Give an e-mail address if you want an answer.</p>\n{intro}{other}\
         <form method=\"post\" action=\"/report\" enctype=\"multipart/form-data\">\n{tokens}\
         <p><label for=\"threat_type\">What is the threat?</label><br>\
         <select id=\"threat_type\" name=\"threat_type\"{}>{options}</select></p>{}\n\
         <p><label for=\"names\">Domain names, one per line</label><br>\
         <textarea id=\"names\" name=\"names\" rows=\"6\" cols=\"60\"{}>{}</textarea></p>{}\n\
         <p><label for=\"urls\">URLs (optional), one per line</label><br>\
         <textarea id=\"urls\" name=\"urls\" rows=\"3\" cols=\"60\">{}</textarea></p>\n\
         <p><label for=\"description\">What did you see?</label><br>\
         <textarea id=\"description\" name=\"description\" rows=\"6\" cols=\"60\"{}>{}</textarea></p>{}\n\
         <p><label for=\"reporter_name\">Your name (optional)</label><br>\
         <input id=\"reporter_name\" name=\"reporter_name\" value=\"{}\"{}></p>{}\n\
         <p><label for=\"reporter_email\">Your e-mail address (optional)</label><br>\
         <input id=\"reporter_email\" name=\"reporter_email\" type=\"email\" value=\"{}\"{}></p>{}\n\
         <p><label for=\"evidence\">Evidence file (optional): a screenshot, a saved page, an \
         e-mail; at most {}. Its SHA-256 is shown once it is stored.</label><br>\
         <input id=\"evidence\" name=\"evidence\" type=\"file\"{}></p>{}\n\
         <p><button type=\"submit\">Send the report</button></p>\n</form>",
        described("threat_type"),
        note("threat_type"),
        described("names"),
        escape(&form.names),
        note("names"),
        escape(&form.urls),
        described("description"),
        escape(&form.description),
        note("description"),
        escape(&form.reporter_name),
        described("reporter_name"),
        note("reporter_name"),
        escape(&form.reporter_email),
        described("reporter_email"),
        note("reporter_email"),
        crate::ui::limit_text(),
        described("evidence"),
        note("evidence"),
    );
    page(status, "Report abuse of a domain name", &body)
}

/// `GET /report`: the empty form.
pub async fn show_form(session: OptionalSession) -> Response {
    form_page(StatusCode::OK, session.0.as_ref(), &FormIn::default(), None)
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /report`: files the report with its evidence file, or shows the form again with the
/// error (a file over the limit is named at its field, the other input kept).
pub async fn submit_form(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    session: OptionalSession,
    upload: UploadForm,
) -> Response {
    let session = session.0;
    let session = session.as_ref();
    let UploadForm { fields, file } = upload;
    let form = FormIn::from_fields(&fields);
    if let Some(session) = session {
        if let Err(refused) = session.checked(&state, fields, "/portal") {
            return *refused;
        }
    } else {
        // A form from this page carries a one-time token; a post without one (a script) is
        // limited per address like every other.
        let once = fields.get("once");
        if !once.is_empty() && !state.forms.first_use(once, state.clock.now()) {
            return form_page(
                StatusCode::CONFLICT,
                None,
                &FormIn::default(),
                Some((
                    "form",
                    "This form was already sent: the report was filed once, not again.",
                )),
            );
        }
    }
    if matches!(file, FilePart::TooLarge) {
        let message = UploadForm::too_large();
        return form_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            session,
            &form,
            Some(("evidence", &message)),
        );
    }
    let now = state.clock.now();
    if let Err(error) = state.public_limit.check(client, now) {
        let message = error.message().to_owned();
        return form_page(
            StatusCode::TOO_MANY_REQUESTS,
            session,
            &form,
            Some(("form", &message)),
        );
    }
    let threat_type = match form.threat_type.parse::<ThreatType>() {
        Ok(threat) => threat,
        Err(_) => {
            return form_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                session,
                &form,
                Some(("threat_type", "choose what the threat is")),
            );
        }
    };
    let request = ReportRequest {
        threat_type: Some(threat_type),
        description: form.description.clone(),
        names: lines(&form.names),
        urls: lines(&form.urls),
        reporter_name: Some(form.reporter_name.clone()),
        reporter_email: Some(form.reporter_email.clone()),
        ..ReportRequest::default()
    };
    let submitter = match session {
        Some(session) => Submitter::User(session.actor.clone()),
        None => Submitter::WebForm { client },
    };
    let evidence: Vec<EvidenceFile<'_>> = match &file {
        FilePart::Received(received) => vec![EvidenceFile {
            filename: &received.filename,
            content_type: &received.content_type,
            content: &received.content,
        }],
        FilePart::Empty | FilePart::TooLarge => Vec::new(),
    };
    let filed = state
        .service
        .submit_report_with_evidence(submitter, request, &evidence, now)
        .await;
    match filed {
        Ok((receipt, _)) if session.is_some() => {
            // Staff entering a report for someone go to its case; everyone else to their reports.
            let staff = session.is_some_and(|session| {
                session
                    .actor
                    .role
                    .may(holdfast_model::org::Permission::WorkCases)
            });
            let next = if staff {
                format!("/desk/cases/{}", receipt.case_id)
            } else {
                format!("/portal?filed={}", receipt.report_id)
            };
            axum::response::Redirect::to(&next).into_response()
        }
        Ok((receipt, stored)) => {
            let files: String = stored
                .iter()
                .map(|file| {
                    format!(
                        "<p>Evidence stored: <strong>{}</strong>, {} bytes, SHA-256 \
                         <code class=\"sha256\">{}</code>.</p>",
                        escape(&file.filename),
                        file.size,
                        escape(&file.sha256)
                    )
                })
                .collect();
            let body = format!(
                "<p>Thank you. Your report is number {} and is in case {}.</p>\
                 <p>It lists {} name(s): {} in this registry's TLDs, {} elsewhere, {} not valid.</p>\
                 {files}<p><a href=\"/report\">Send another report</a></p>",
                receipt.report_id,
                receipt.case_id,
                receipt.names,
                receipt.ours,
                receipt.not_ours,
                receipt.invalid
            );
            page(StatusCode::CREATED, "Report received", &body)
        }
        Err(ServiceError::Invalid { field, reason }) => {
            let field = if field == "urls" || field.starts_with("urls[") {
                "names".to_owned()
            } else {
                field
            };
            form_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                session,
                &form,
                Some((&field, &reason)),
            )
        }
        Err(ServiceError::Forbidden) => form_page(
            StatusCode::FORBIDDEN,
            session,
            &form,
            Some(("form", "your role may not file reports")),
        ),
        Err(error) => {
            tracing::error!(%error, "the public report form failed");
            form_page(
                StatusCode::SERVICE_UNAVAILABLE,
                session,
                &form,
                Some((
                    "form",
                    "the report could not be stored now; please try again later",
                )),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>\"&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;"
        );
    }
}
