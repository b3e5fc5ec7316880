//! Security Response Waiver requests (SPEC B1–B2), the requester's side and the reviewers'
//! queue: drafts that say what is missing, submission that starts the clocks, and the review
//! deadlines in business days of the reviewer's calendar.

use holdfast_model::org::{Actor, OrgKind, Permission, Role};
use holdfast_model::srw::{
    self, Party, RequesterKind, ReviewClock, SrwRequestDraft, ThreadMessage, WaiverTerms,
    missing_fields, reviewer_calendar,
};
use holdfast_model::{Calendar, Deadline};
use holdfast_store::{FileOwner, SrwRecord, SrwScope, StoredFile, Tx, WaiverRecord};
use jiff::Timestamp;
use serde_json::json;

use crate::files::Upload;
use crate::{Change, Result, Service, ServiceError, record, require};

/// A waiver request as its reader sees it.
#[derive(Debug, Clone)]
pub struct SrwView {
    pub record: SrwRecord,
    /// A draft's missing or invalid fields, each as `field: why` (empty once complete).
    pub missing: Vec<&'static str>,
    /// A submitted request's deadlines on the reviewer's calendar.
    pub deadlines: Vec<(ReviewClock, Deadline)>,
    /// The waiver versions its decision issued (shown for one request, not in lists).
    pub issued: Vec<WaiverRecord>,
    /// The files attached (shown for one request, not in lists).
    pub files: Vec<StoredFile>,
}

fn requester_kind(actor: &Actor) -> Result<RequesterKind> {
    require(actor, Permission::RequestWaivers)?;
    Ok(match actor.role {
        Role::RegistrarStaff => RequesterKind::Registrar,
        _ => RequesterKind::Registry,
    })
}

/// The side of the waiver process `actor` is on: the reviewers, or a requesting registry's or
/// registrar's staff; no other role takes part.
pub(crate) fn side(actor: &Actor) -> Result<Party> {
    if actor.role.may(Permission::ReviewWaivers) {
        Ok(Party::Reviewer)
    } else if actor.role.may(Permission::RequestWaivers) {
        Ok(Party::Requester)
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// The reviewers' calendar: the reviewer organisation's own, or Los Angeles time without
/// holidays when it has set none.
pub(crate) async fn review_calendar(tx: &mut Tx) -> Result<Calendar> {
    for organisation in tx.organisations().await? {
        if organisation.kind == OrgKind::Reviewer
            && let (Some(json), _) = tx.desk_settings(organisation.id).await?
        {
            return crate::desk::stored_calendar(organisation.id, &json);
        }
    }
    reviewer_calendar([]).map_err(|error| ServiceError::Internal {
        what: format!("the reviewers' calendar: {error}"),
    })
}

/// A request with what it lacks (a draft) or its deadlines on `calendar` (submitted).
fn view_of(record: SrwRecord, calendar: &Calendar) -> SrwView {
    let missing = if record.submitted.is_none() {
        missing_fields(&record.draft, record.requester)
    } else {
        Vec::new()
    };
    let deadlines = record
        .review
        .as_ref()
        .map(|review| srw::deadlines(review, calendar))
        .unwrap_or_default();
    SrwView {
        record,
        missing,
        deadlines,
        issued: Vec::new(),
        files: Vec::new(),
    }
}

/// The request `id` if `actor` may see it: its organisation (admins: any), or reviewers once
/// it is submitted.
pub(crate) async fn visible_request(tx: &mut Tx, actor: &Actor, id: i64) -> Result<SrwRecord> {
    let record = tx.srw_request(id).await?.ok_or(ServiceError::NotFound {
        what: "waiver request",
    })?;
    let visible = match actor.role {
        Role::Reviewer => record.submitted.is_some(),
        Role::RegistryStaff | Role::RegistrarStaff | Role::Admin => {
            actor.may_see_org(record.org_id)
        }
        Role::Reporter => false,
    };
    if visible {
        Ok(record)
    } else {
        Err(ServiceError::NotFound {
            what: "waiver request",
        })
    }
}

/// The request `id` of the actor's own organisation, still a draft.
async fn own_draft(tx: &mut Tx, actor: &Actor, id: i64) -> Result<SrwRecord> {
    let record = tx
        .srw_request(id)
        .await?
        .filter(|record| record.org_id == actor.org_id)
        .ok_or(ServiceError::NotFound {
            what: "waiver request",
        })?;
    if record.submitted.is_some() {
        return Err(ServiceError::Conflict {
            what: format!("waiver request {id} is already submitted"),
        });
    }
    Ok(record)
}

impl Service {
    /// Starts a waiver request for the actor's registry or registrar.
    pub async fn create_srw_draft(
        &self,
        actor: &Actor,
        draft: SrwRequestDraft,
        now: Timestamp,
    ) -> Result<SrwView> {
        let kind = requester_kind(actor)?;
        let mut tx = self.store.write().await?;
        let id = tx
            .insert_srw_draft(actor.org_id, kind, actor.user_id, &draft, now)
            .await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: "srw.draft",
            subject: format!("srw:{id}"),
            reason: "",
            details: json!({ "requester": kind.as_str() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let view = self.view(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Rewrites a draft (its organisation's staff, until it is submitted).
    pub async fn update_srw_draft(
        &self,
        actor: &Actor,
        id: i64,
        draft: SrwRequestDraft,
        now: Timestamp,
    ) -> Result<SrwView> {
        requester_kind(actor)?;
        let mut tx = self.store.write().await?;
        let mut request = own_draft(&mut tx, actor, id).await?;
        request.draft = draft;
        // Files uploaded to the request stay among its attachments whatever the new text says.
        for file in tx.files(FileOwner::WaiverRequest, id).await? {
            let file = file.id.to_string();
            if !request.draft.attachments.contains(&file) {
                request.draft.attachments.push(file);
            }
        }
        tx.update_srw(&request, now).await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: "srw.edit",
            subject: format!("srw:{id}"),
            reason: "",
            details: json!({}),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let view = self.view(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Submits a complete draft: the review clocks start now. An incomplete one is refused
    /// with every missing field.
    pub async fn submit_srw(&self, actor: &Actor, id: i64, now: Timestamp) -> Result<SrwView> {
        let kind = requester_kind(actor)?;
        let mut tx = self.store.write().await?;
        let mut request = own_draft(&mut tx, actor, id).await?;
        let submitted = srw::complete(request.draft.clone(), kind, now).map_err(|missing| {
            let field = missing
                .first()
                .and_then(|first| first.split(':').next())
                .unwrap_or("draft");
            ServiceError::invalid(field, format!("incomplete: {}", missing.join("; ")))
        })?;
        request.review = Some(srw::Review::start(&submitted));
        request.submitted = Some(submitted);
        tx.update_srw(&request, now).await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: "srw.submit",
            subject: format!("srw:{id}"),
            reason: "",
            details: json!({ "retroactive": request.review.as_ref().map(|r| r.retroactive) }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let view = self.view(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The waiver requests the actor may see, each with what it lacks or its deadlines: their
    /// organisation's (admins: all), or for reviewers every submitted one.
    pub async fn srw_requests(&self, actor: &Actor) -> Result<Vec<SrwView>> {
        let scope = match actor.role {
            Role::Reviewer => SrwScope::Submitted,
            Role::Admin => SrwScope::All,
            _ => {
                require(actor, Permission::RequestWaivers)?;
                SrwScope::Organisation(actor.org_id)
            }
        };
        let mut tx = self.store.read().await?;
        let calendar = review_calendar(&mut tx).await?;
        Ok(tx
            .srw_requests(scope)
            .await?
            .into_iter()
            .map(|record| view_of(record, &calendar))
            .collect())
    }

    /// One waiver request with what it lacks (a draft) or its deadlines (submitted).
    pub async fn srw_request(&self, actor: &Actor, id: i64) -> Result<SrwView> {
        if actor.role != Role::Admin {
            side(actor)?;
        }
        let mut tx = self.store.read().await?;
        self.view(&mut tx, actor, id).await
    }

    async fn view(&self, tx: &mut Tx, actor: &Actor, id: i64) -> Result<SrwView> {
        let record = visible_request(tx, actor, id).await?;
        let mut view = view_of(record, &review_calendar(tx).await?);
        view.issued = tx.waivers_issued_by(id).await?;
        view.files = tx.files(FileOwner::WaiverRequest, id).await?;
        Ok(view)
    }
}

impl Service {
    /// Attaches a file to request `id`: its requester's staff or, once it is submitted, the
    /// reviewers. A draft also lists it among its attachments.
    pub async fn add_srw_attachment(
        &self,
        actor: &Actor,
        id: i64,
        filename: &str,
        content_type: &str,
        content: &[u8],
        now: Timestamp,
    ) -> Result<StoredFile> {
        side(actor)?;
        let upload = Upload::new(filename, content_type, content)?;
        let mut tx = self.store.write().await?;
        let mut request = visible_request(&mut tx, actor, id).await?;
        let file_id = tx
            .insert_file(FileOwner::WaiverRequest, id, upload.stored(), now)
            .await?;
        if request.submitted.is_none() {
            request.draft.attachments.push(file_id.to_string());
            tx.update_srw(&request, now).await?;
        }
        let change = Change {
            org_id: Some(request.org_id),
            action: "srw.attach",
            subject: format!("srw:{id}"),
            reason: "",
            details: json!({ "attachment": file_id, "filename": upload.filename,
                             "sha256": upload.sha256, "size": content.len() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let stored = tx
            .files(FileOwner::WaiverRequest, id)
            .await?
            .into_iter()
            .find(|file| file.id == file_id)
            .ok_or(ServiceError::NotFound { what: "attachment" })?;
        tx.commit().await?;
        Ok(stored)
    }

    /// An attachment's name and content, for those who may see its request.
    pub async fn srw_attachment(&self, actor: &Actor, id: i64) -> Result<(String, Vec<u8>)> {
        let mut tx = self.store.read().await?;
        let (request_id, filename, content) = tx
            .file_content(FileOwner::WaiverRequest, id)
            .await?
            .ok_or(ServiceError::NotFound { what: "attachment" })?;
        visible_request(&mut tx, actor, request_id).await?;
        Ok((filename, content))
    }
}

/// A review step as a side takes it.
#[derive(Debug, Clone)]
pub struct ReviewInput {
    pub command: srw::ReviewCommand,
    /// A new or updated waiver's terms (decide).
    pub terms: Option<WaiverTerms>,
    /// The question (ask), the answer (answer), or a note (any other step).
    pub message: Option<String>,
}

/// The longest message in a request's thread, in characters.
const MAX_MESSAGE_CHARS: usize = 20_000;

/// A thread message's text: not blank, bounded, no control characters but line breaks and tabs.
fn thread_text(field: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

impl Service {
    /// Writes to the thread of submitted request `id`: the requester's staff or the reviewers.
    pub async fn post_srw_message(
        &self,
        actor: &Actor,
        id: i64,
        text: &str,
        now: Timestamp,
    ) -> Result<SrwView> {
        let party = side(actor)?;
        let text = thread_text("text", text)?;
        let mut tx = self.store.write().await?;
        let mut request = visible_request(&mut tx, actor, id).await?;
        if party == Party::Requester && request.org_id != actor.org_id {
            return Err(ServiceError::NotFound {
                what: "waiver request",
            });
        }
        if request.submitted.is_none() {
            return Err(ServiceError::Conflict {
                what: format!("waiver request {id} is a draft: submit it first"),
            });
        }
        request.thread.push(ThreadMessage {
            at: now,
            party,
            author: actor.email.clone(),
            text,
        });
        tx.update_srw(&request, now).await?;
        let change = Change {
            org_id: Some(request.org_id),
            action: "srw.message",
            subject: format!("srw:{id}"),
            reason: "",
            details: json!({ "party": party.as_str() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let view = self.view(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(view)
    }
}

impl Service {
    /// Takes a review step: the reviewers take every step but one, the requester answers the
    /// information asked for. Steps out of order are refused with the reason. A question and its
    /// answer carry their text, any other step may carry a note; they join the request's thread.
    /// A decision that issues or updates a waiver carries its `terms`; the waiver (or its new
    /// version) is stored with the decision, in the same transaction.
    pub async fn review_srw(
        &self,
        actor: &Actor,
        id: i64,
        step: ReviewInput,
        now: Timestamp,
    ) -> Result<SrwView> {
        let ReviewInput {
            command,
            terms,
            message,
        } = step;
        let message = message
            .as_deref()
            .map(|text| thread_text("message", text))
            .transpose()?;
        let needs_text = match command.step() {
            srw::ReviewStep::AskInformation => Some("say what information is needed"),
            srw::ReviewStep::AnswerInformation => Some("give the information asked for"),
            _ => None,
        };
        if let (Some(why), None) = (needs_text, &message) {
            return Err(ServiceError::invalid("message", why));
        }
        let requester_step = command.step() == srw::ReviewStep::AnswerInformation;
        if requester_step {
            require(actor, Permission::RequestWaivers)?;
        } else {
            require(actor, Permission::ReviewWaivers)?;
        }
        let mut tx = self.store.write().await?;
        let mut request = visible_request(&mut tx, actor, id).await?;
        if requester_step && request.org_id != actor.org_id {
            return Err(ServiceError::NotFound {
                what: "waiver request",
            });
        }
        let Some(review) = &request.review else {
            return Err(ServiceError::Conflict {
                what: format!("waiver request {id} is not submitted yet"),
            });
        };
        let step = command.step();
        let decision = match &command {
            srw::ReviewCommand::Decide(decision) => Some(decision.clone()),
            _ => None,
        };
        let mut details = match &command {
            srw::ReviewCommand::AssignReviewer(reviewer) => json!({ "reviewer": reviewer }),
            srw::ReviewCommand::Decide(decision) => json!({ "decision": decision }),
            _ => json!({}),
        };
        if decision.is_none() && terms.is_some() {
            return Err(ServiceError::invalid(
                "terms",
                "only a decision issuing or updating a waiver has terms",
            ));
        }
        let next = review
            .apply(command, now)
            .map_err(|refused| ServiceError::Conflict {
                what: refused.to_string(),
            })?;
        if let Some(decision) = decision {
            let issued =
                crate::waivers::issue_for(&mut tx, actor, &request, &decision, terms, now).await?;
            if let Some((waiver_id, version)) = issued {
                details["waiver"] = json!({ "id": waiver_id, "version": version });
            }
        }
        request.review = Some(next);
        if let Some(text) = message {
            request.thread.push(ThreadMessage {
                at: now,
                party: if requester_step {
                    Party::Requester
                } else {
                    Party::Reviewer
                },
                author: actor.email.clone(),
                text,
            });
        }
        tx.update_srw(&request, now).await?;
        let change = Change {
            org_id: Some(request.org_id),
            action: "srw.review",
            subject: format!("srw:{id}"),
            reason: step.as_str(),
            details,
        };
        record(&mut tx, Some(actor), now, change).await?;
        let view = self.view(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(view)
    }
}

/// How many review clocks a tick reminded the reviewers of, and how many it found breached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReviewMarks {
    pub reminded: usize,
    pub breached: usize,
}

/// Records the reminders and breaches of the review clocks due at `now`, each once, on the
/// request and in the audit log (SPEC B2: deadlines, reminders and breaches are recorded).
pub(crate) async fn mark_review_clocks(tx: &mut Tx, now: Timestamp) -> Result<ReviewMarks> {
    let calendar = review_calendar(tx).await?;
    let mut counted = ReviewMarks::default();
    for mut request in tx.srw_requests(SrwScope::Submitted).await? {
        let Some(review) = &request.review else {
            continue;
        };
        let due = srw::due_marks(review, &calendar, &request.marks, now);
        if due.is_empty() {
            continue;
        }
        for mark in due {
            let (clock, deadline, action) = match mark {
                srw::ClockMark::Remind(clock, deadline) => {
                    request.marks.entry(clock).or_default().reminded_at = Some(now);
                    counted.reminded += 1;
                    (clock, deadline, "srw.reminder")
                }
                srw::ClockMark::Breach(clock, deadline) => {
                    request.marks.entry(clock).or_default().breached_at = Some(now);
                    counted.breached += 1;
                    (clock, deadline, "srw.breach")
                }
            };
            let change = Change {
                org_id: Some(request.org_id),
                action,
                subject: format!("srw:{}", request.id),
                reason: "",
                details: json!({ "clock": clock.as_str(), "due": deadline.due }),
            };
            record(tx, None, now, change).await?;
        }
        let updated_at = request.updated_at;
        tx.update_srw(&request, updated_at).await?;
    }
    Ok(counted)
}
