//! Security Response Waiver requests (SPEC B1–B2), the requester's side and the reviewers'
//! queue: drafts that say what is missing, submission that starts the clocks, and the review
//! deadlines in business days of the reviewer's calendar.

use holdfast_model::org::{Actor, OrgKind, Permission, Role};
use holdfast_model::srw::{
    self, RequesterKind, ReviewClock, SrwRequestDraft, missing_fields, reviewer_calendar,
};
use holdfast_model::{Calendar, Deadline};
use holdfast_store::{SrwRecord, SrwScope, Tx};
use jiff::Timestamp;
use serde_json::json;

use crate::{Change, Result, Service, ServiceError, record, require};

/// A waiver request as its reader sees it.
#[derive(Debug, Clone)]
pub struct SrwView {
    pub record: SrwRecord,
    /// A draft's missing or invalid fields, each as `field: why` (empty once complete).
    pub missing: Vec<&'static str>,
    /// A submitted request's deadlines on the reviewer's calendar.
    pub deadlines: Vec<(ReviewClock, Deadline)>,
}

fn requester_kind(actor: &Actor) -> Result<RequesterKind> {
    require(actor, Permission::RequestWaivers)?;
    Ok(match actor.role {
        Role::RegistrarStaff => RequesterKind::Registrar,
        _ => RequesterKind::Registry,
    })
}

/// The reviewers' calendar: the reviewer organisation's own, or Los Angeles time without
/// holidays when it has set none.
async fn review_calendar(tx: &mut Tx) -> Result<Calendar> {
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
    }
}

/// The request `id` if `actor` may see it: its organisation (admins: any), or reviewers once
/// it is submitted.
async fn visible_request(tx: &mut Tx, actor: &Actor, id: i64) -> Result<SrwRecord> {
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
        if !(actor.role.may(Permission::RequestWaivers)
            || actor.role.may(Permission::ReviewWaivers)
            || actor.role == Role::Admin)
        {
            return Err(ServiceError::Forbidden);
        }
        let mut tx = self.store.read().await?;
        self.view(&mut tx, actor, id).await
    }

    async fn view(&self, tx: &mut Tx, actor: &Actor, id: i64) -> Result<SrwView> {
        let record = visible_request(tx, actor, id).await?;
        Ok(view_of(record, &review_calendar(tx).await?))
    }
}

impl Service {
    /// Takes a review step: the reviewers take every step but one, the requester answers the
    /// information asked for. Steps out of order are refused with the reason. (Decisions are
    /// recorded; the waivers they issue are not stored yet.)
    pub async fn review_srw(
        &self,
        actor: &Actor,
        id: i64,
        command: srw::ReviewCommand,
        now: Timestamp,
    ) -> Result<SrwView> {
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
        let details = match &command {
            srw::ReviewCommand::AssignReviewer(reviewer) => json!({ "reviewer": reviewer }),
            srw::ReviewCommand::Decide(decision) => json!({ "decision": decision }),
            _ => json!({}),
        };
        let next = review
            .apply(command, now)
            .map_err(|refused| ServiceError::Conflict {
                what: refused.to_string(),
            })?;
        request.review = Some(next);
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
