//! What the waiver process publishes, for anyone: the yearly figures as HTML and open-data CSV,
//! and each after-action report both sides approved, as HTML and PDF. Every output is rendered
//! from the approved redacted text only (`srw::published_text`), so a redacted passage cannot
//! reach it.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use holdfast_service::PublishedReport;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::pdf::{self, Line};
use crate::public_form::{escape, page};

/// The published text's lines: `## ` starts a heading.
fn lines(text: &str) -> Vec<Line> {
    text.lines()
        .map(|line| match line.strip_prefix("## ") {
            Some(heading) => Line::Heading(heading.to_owned()),
            None if line.trim().is_empty() => Line::Blank,
            None => Line::Text(line.to_owned()),
        })
        .collect()
}

fn title(report: &PublishedReport) -> String {
    format!(
        "After-action report: Security Response Waiver request {}",
        report.request_id
    )
}

fn subtitle(report: &PublishedReport) -> String {
    let tlds: Vec<String> = report.tlds.iter().map(|tld| format!(".{tld}")).collect();
    let answered = report
        .decided_at
        .map(|at| format!("; answered {}", at.strftime("%Y-%m-%d")))
        .unwrap_or_default();
    format!("TLDs {}{answered}", tlds.join(", "))
}

/// The approved, redacted after-action report of request `id` as a page.
pub async fn report_html(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let report = state.service.published_srw_report(id).await?;
    let mut body = format!("<p>{}</p>\n", escape(&subtitle(&report)));
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, body: &mut String| {
        if !paragraph.is_empty() {
            body.push_str(&format!("<p>{}</p>\n", escape(paragraph.trim_end())));
            paragraph.clear();
        }
    };
    for line in lines(&report.text) {
        match line {
            Line::Heading(heading) => {
                flush(&mut paragraph, &mut body);
                body.push_str(&format!("<h2>{}</h2>\n", escape(&heading)));
            }
            Line::Blank => flush(&mut paragraph, &mut body),
            Line::Text(text) => {
                paragraph.push_str(&text);
                paragraph.push('\n');
            }
        }
    }
    flush(&mut paragraph, &mut body);
    body.push_str(&format!(
        "<p><a href=\"/published/srw/{id}/report.pdf\">PDF</a></p>\n"
    ));
    Ok(page(StatusCode::OK, &title(&report), &body))
}

/// The approved, redacted after-action report of request `id` as a PDF.
pub async fn report_pdf(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let report = state.service.published_srw_report(id).await?;
    let mut content = vec![Line::Text(subtitle(&report)), Line::Blank];
    content.extend(lines(&report.text));
    let bytes = pdf::document(&title(&report), &content);
    let disposition = format!("inline; filename=\"srw-{id}-after-action-report.pdf\"");
    Ok(file(bytes, "application/pdf", &disposition))
}

/// A document answer: its bytes, type and `Content-Disposition`.
pub(crate) fn file(
    bytes: impl IntoResponse,
    content_type: &'static str,
    disposition: &str,
) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

const FIGURES_TITLE: &str = "Security Response Waivers: summary of requests";

/// The yearly figures as three tables, in the shape ICANN publishes.
pub async fn figures_html(State(state): State<AppState>) -> Result<Response, ApiError> {
    let table = state.service.srw_figures().await?;
    let mut body = String::new();
    if table.years.is_empty() {
        body.push_str("<p>No request has been answered yet.</p>\n");
        return Ok(page(StatusCode::OK, FIGURES_TITLE, &body));
    }
    let years: String = table
        .years
        .keys()
        .map(|year| format!("<th scope=\"col\">{year}</th>"))
        .collect();
    for figures in table.tables() {
        body.push_str(&format!(
            "<table>\n<caption>{}</caption>\n<thead><tr><th scope=\"col\">{}</th>{years}</tr></thead>\n<tbody>\n",
            escape(figures.title),
            escape(figures.title)
        ));
        for (label, cells) in figures.rows {
            let cells: String = cells
                .iter()
                .map(|cell| format!("<td>{}</td>", escape(cell)))
                .collect();
            body.push_str(&format!(
                "<tr><th scope=\"row\">{}</th>{cells}</tr>\n",
                escape(label)
            ));
        }
        body.push_str("</tbody>\n</table>\n");
    }
    body.push_str(
        "<p>* Rounded to the nearest hundred. Business days are the reviewers' (Los Angeles \
         time). <a href=\"/published/srw/figures.csv\">Open data (CSV)</a></p>\n",
    );
    Ok(page(StatusCode::OK, FIGURES_TITLE, &body))
}

/// The yearly figures as open-data CSV, one row per year.
pub async fn figures_csv(State(state): State<AppState>) -> Result<Response, ApiError> {
    let table = state.service.srw_figures().await?;
    Ok(file(
        table.to_csv(),
        "text/csv; charset=utf-8",
        "attachment; filename=\"srw-figures.csv\"",
    ))
}
