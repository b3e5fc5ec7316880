//! What follows a decision on a waiver request: the after-action report both sides write and
//! redact (SPEC B4), published only as its approved redacted text, and the yearly figures of
//! every answered request (SPEC B5).

use holdfast_model::org::Actor;
use holdfast_model::srw::{
    self, AfterActionReport, ClosedRequest, Party, Redaction, Section, YearTable,
};
use jiff::Timestamp;
use serde_json::json;

use crate::srw::{review_calendar, side, visible_request};
use crate::{Change, Result, Service, ServiceError, record};

/// The longest section, in characters.
const MAX_SECTION_CHARS: usize = 100_000;

/// A change to an after-action report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportEdit {
    /// (Re)write a section; refused while it has redactions.
    Write { section: Section, text: String },
    /// Mark the `occurrence`-th (1 = first) appearance of `passage` in `section` confidential.
    Redact {
        section: Section,
        passage: String,
        occurrence: usize,
        reason: String,
    },
    /// Remove the redaction at `index` of the report's list.
    Unredact { index: usize },
    /// Approve the text and redactions as they are now.
    Approve,
}

impl ReportEdit {
    fn name(&self) -> &'static str {
        match self {
            ReportEdit::Write { .. } => "write",
            ReportEdit::Redact { .. } => "redact",
            ReportEdit::Unredact { .. } => "unredact",
            ReportEdit::Approve => "approve",
        }
    }
}

/// An after-action report as one of its sides sees it.
#[derive(Debug, Clone)]
pub struct AfterActionView {
    pub request_id: i64,
    pub report: AfterActionReport,
    /// The text as it would be published now.
    pub preview: String,
    /// Whether both sides approved: the redacted text is published.
    pub published: bool,
}

/// A published after-action report: only its redacted text.
#[derive(Debug, Clone)]
pub struct PublishedReport {
    pub request_id: i64,
    /// The TLDs of the request.
    pub tlds: Vec<String>,
    /// When the request was answered.
    pub decided_at: Option<Timestamp>,
    pub text: String,
}

/// Which side of the report `actor` writes for on a request of `requester_org`: the reviewers,
/// or the requesting organisation's own staff.
fn party(actor: &Actor, requester_org: i64) -> Result<Party> {
    match side(actor)? {
        Party::Requester if actor.org_id != requester_org => Err(ServiceError::Forbidden),
        party => Ok(party),
    }
}

fn section_text(text: String) -> Result<String> {
    if text.chars().count() > MAX_SECTION_CHARS {
        return Err(ServiceError::invalid(
            "text",
            format!("must be at most {MAX_SECTION_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ServiceError::invalid(
            "text",
            "must not contain control characters",
        ));
    }
    Ok(text)
}

/// The byte range of the `occurrence`-th appearance of `passage` in `text`.
fn find_passage(text: &str, passage: &str, occurrence: usize) -> Option<std::ops::Range<usize>> {
    if passage.is_empty() || occurrence == 0 {
        return None;
    }
    let start = text
        .match_indices(passage)
        .nth(occurrence - 1)
        .map(|(at, _)| at)?;
    Some(start..start + passage.len())
}

fn view_of(request_id: i64, report: AfterActionReport) -> AfterActionView {
    AfterActionView {
        request_id,
        preview: srw::redacted_text(&report),
        published: srw::published_text(&report).is_ok(),
        report,
    }
}

impl Service {
    /// The after-action report of request `id` as its sides see it (the requester's staff and
    /// the reviewers), with the preview of its published form.
    pub async fn srw_report(&self, actor: &Actor, id: i64) -> Result<AfterActionView> {
        side(actor)?;
        let mut tx = self.store.read().await?;
        let request = visible_request(&mut tx, actor, id).await?;
        party(actor, request.org_id)?;
        Ok(view_of(id, request.report.unwrap_or_default()))
    }

    /// Changes the after-action report of request `id`, which must be answered. Any change
    /// withdraws both approvals; approving records the actor's side.
    pub async fn edit_srw_report(
        &self,
        actor: &Actor,
        id: i64,
        edit: ReportEdit,
        now: Timestamp,
    ) -> Result<AfterActionView> {
        side(actor)?;
        let mut tx = self.store.write().await?;
        let mut request = visible_request(&mut tx, actor, id).await?;
        let party = party(actor, request.org_id)?;
        if request
            .review
            .as_ref()
            .is_none_or(|review| review.decided_at.is_none())
        {
            return Err(ServiceError::Conflict {
                what: format!(
                    "waiver request {id} is not answered yet: the after-action report follows \
                     the response"
                ),
            });
        }
        let mut report = request.report.take().unwrap_or_default();
        let refused = |error: srw::ReportError| {
            let text = error.to_string();
            let (field, reason) = text.split_once(": ").unwrap_or(("report", &text));
            ServiceError::invalid(field, reason)
        };
        let name = edit.name();
        let mut details = json!({ "edit": name, "party": party.as_str() });
        match edit {
            ReportEdit::Write { section, text } => {
                details["section"] = json!(section.as_str());
                report
                    .write(section, section_text(text)?)
                    .map_err(refused)?;
            }
            ReportEdit::Redact {
                section,
                passage,
                occurrence,
                reason,
            } => {
                let range = find_passage(report.section(section), &passage, occurrence)
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "passage",
                            format!(
                                "appearance {occurrence} of the passage is not in the {} section",
                                section.as_str()
                            ),
                        )
                    })?;
                details["section"] = json!(section.as_str());
                details["reason"] = json!(reason);
                let redaction = Redaction {
                    section,
                    range,
                    reason,
                    by: party,
                };
                report.redact(redaction).map_err(refused)?;
            }
            ReportEdit::Unredact { index } => {
                if report.unredact(index).is_none() {
                    return Err(ServiceError::invalid(
                        "index",
                        format!("the report has no redaction {index}"),
                    ));
                }
            }
            ReportEdit::Approve => report.approve(party),
        }
        request.report = Some(report.clone());
        tx.update_srw(&request, now).await?;
        let change = Change {
            org_id: Some(request.org_id),
            action: "srw.report",
            subject: format!("srw:{id}"),
            reason: name,
            details,
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(view_of(id, report))
    }

    /// The published after-action report of request `id`: its redacted text once both sides
    /// approved it. Public; anything else is "not found", so nothing unpublished is revealed.
    pub async fn published_srw_report(&self, id: i64) -> Result<PublishedReport> {
        let not_found = || ServiceError::NotFound {
            what: "published after-action report",
        };
        let mut tx = self.store.read().await?;
        let request = tx.srw_request(id).await?.ok_or_else(not_found)?;
        let report = request.report.as_ref().ok_or_else(not_found)?;
        let text = srw::published_text(report).map_err(|_| not_found())?;
        Ok(PublishedReport {
            request_id: id,
            tlds: request
                .submitted
                .map(|submitted| {
                    submitted
                        .tlds
                        .iter()
                        .map(|t| t.as_str().to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            decided_at: request.review.and_then(|review| review.decided_at),
            text,
        })
    }

    /// The published figures (SPEC B5) of every answered request, per year of complete
    /// submission on the reviewers' calendar. Public: they are aggregates.
    pub async fn srw_figures(&self) -> Result<YearTable> {
        let mut tx = self.store.read().await?;
        let calendar = review_calendar(&mut tx).await?;
        let closed: Vec<ClosedRequest> = tx
            .srw_requests(holdfast_store::SrwScope::Submitted)
            .await?
            .iter()
            .filter_map(|request| {
                let review = request.review.as_ref()?;
                Some(ClosedRequest::new(
                    request.submitted.as_ref()?,
                    review.decision.as_ref()?,
                    review.decided_at?,
                ))
            })
            .collect();
        Ok(srw::yearly_figures(&closed, &calendar))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passages_are_found_by_appearance() {
        let text = "call Ann, then call Ann again";
        assert_eq!(find_passage(text, "Ann", 1), Some(5..8));
        assert_eq!(find_passage(text, "Ann", 2), Some(20..23));
        assert_eq!(find_passage(text, "Ann", 3), None);
        assert_eq!(find_passage(text, "", 1), None);
        assert_eq!(find_passage(text, "Ann", 0), None);
    }
}
