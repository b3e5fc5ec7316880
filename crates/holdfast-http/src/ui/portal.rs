//! The reporter portal: a signed-in reporter's own reports, where each stands and the answers
//! the desk sent about it; reports are filed with the public form, which files them under the
//! signed-in reporter's name, with the evidence files sent (SHA-256, download).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use holdfast_service::Direction;
use serde::Deserialize;

use super::format::{size, time, words};
use super::{Chrome, Notice, Session, error_page, render};
use crate::AppState;

/// An answer the desk sent about a report.
pub struct AnswerRow {
    pub subject: String,
    pub body: String,
    pub at: String,
}

/// One of the reporter's reports.
pub struct ReportRow {
    pub id: i64,
    pub received: String,
    pub threat: String,
    pub names: String,
    pub status: String,
    pub answers: Vec<AnswerRow>,
    /// The evidence files sent with it: id, name, size, SHA-256.
    pub evidence: Vec<(i64, String, String, String)>,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct Portal {
    chrome: Chrome,
    reports: Vec<ReportRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortalQuery {
    filed: String,
    done: String,
}

/// Reports shown, newest first.
const REPORTS_SHOWN: usize = 100;

/// `GET /portal`.
pub async fn reports(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PortalQuery>,
) -> Response {
    let actor = &session.actor;
    let mine = match state.service.my_reports(actor).await {
        Ok(reports) => reports,
        Err(error) => return error_page(&session, &error),
    };
    let mut reports = Vec::new();
    for report in mine.iter().take(REPORTS_SHOWN) {
        let view = match state.service.report(actor, report.id).await {
            Ok(view) => view,
            Err(error) => return error_page(&session, &error),
        };
        reports.push(ReportRow {
            id: report.id,
            received: time(report.received_at),
            threat: words(report.threat_type.as_str()),
            names: format!(
                "{} names, {} in the registry's TLDs",
                report.name_count, report.ours_count
            ),
            status: view
                .case_state
                .map_or_else(|| "received".to_owned(), |state| words(state.as_str())),
            answers: view
                .answers
                .iter()
                .filter(|message| message.direction == Direction::Out)
                .map(|message| AnswerRow {
                    subject: message.subject.clone(),
                    body: message.body.clone(),
                    at: time(message.created_at),
                })
                .collect(),
            evidence: view
                .evidence
                .iter()
                .map(|file| {
                    (
                        file.id,
                        file.filename.clone(),
                        size(file.size),
                        file.sha256.clone(),
                    )
                })
                .collect(),
        });
    }
    let notice = query.filed.parse::<i64>().ok().and_then(|id| {
        Notice::done(format!(
            "Report {id} is filed. The desk's answers appear here."
        ))
    });
    render(
        StatusCode::OK,
        &Portal {
            chrome: Chrome::new(&session, "My reports", "/portal").with_notice(notice),
            reports,
        },
    )
}
