//! Group commit of reports: one writer task per service takes the reports waiting to be stored
//! and writes them in one transaction — each grouped into a case, with its clock and audit
//! entry — then answers each submitter after the commit. A report whose write fails does not
//! take the others down: the batch is rolled back and each report is written again on its own.
//!
//! Everything that can be checked before the write lock (fields, names, the registry, the
//! source) is checked by the submitter's own task, so a batch is only the writes.

use holdfast_model::org::Actor;
use holdfast_model::{CaseState, Channel, Clock, ClockTimes, SourceClass, ThreatType};
use holdfast_model::{MessageEvent as Event, Priority};
use holdfast_store::{NewReport, ReportName, Store};
use jiff::Timestamp;
use serde_json::json;
use std::sync::{Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};

use crate::desk::queue_to_reporters;
use crate::{Change, Result, ServiceError, audit_event};

/// The most reports written in one transaction.
const MAX_BATCH: usize = 64;
/// A batch takes no further report once it holds this many names (a large report is written
/// alone, as before).
const MAX_BATCH_NAMES: usize = 20_000;
/// Reports waiting for the writer; a submitter waits for room beyond this.
const QUEUE: usize = 1_024;

/// A report ready to be stored: checked, normalised, its registry, source and first clock
/// settled.
#[derive(Debug)]
pub(crate) struct Draft {
    pub registry: i64,
    pub submitter: Option<Actor>,
    pub channel: Channel,
    pub source_class: SourceClass,
    pub origin: String,
    pub reporter_user_id: Option<i64>,
    pub reporter_org_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_email: Option<String>,
    pub threat_type: ThreatType,
    pub description: String,
    pub requested_action: Option<&'static str>,
    pub claimed_urgency: Option<Priority>,
    pub legal_basis: Option<String>,
    pub urls: Vec<String>,
    pub mail_id: Option<i64>,
    pub parse_error: Option<String>,
    /// Every name: with its TLD when ours, with the problem when invalid.
    pub names: Vec<ReportName>,
    /// The acknowledgment clock of the case, if the report opens one.
    pub acknowledge: ClockTimes,
    pub now: Timestamp,
}

/// Where a report was stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored {
    pub report_id: i64,
    pub case_id: i64,
}

struct Job {
    draft: Draft,
    answer: oneshot::Sender<Result<Stored>>,
}

/// The way to the writer task, started on first use (and again if the runtime that ran it is
/// gone).
#[derive(Debug, Default)]
pub(crate) struct Intake {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Intake {
    fn sender(&self, store: &Store) -> mpsc::Sender<Job> {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some(sender) if !sender.is_closed() => sender.clone(),
            _ => {
                let (sender, receiver) = mpsc::channel(QUEUE);
                tokio::spawn(run(store.clone(), receiver));
                *slot = Some(sender.clone());
                sender
            }
        }
    }

    /// Stores `draft` with the reports waiting alongside it; answers once it is committed.
    pub(crate) async fn store(&self, store: &Store, draft: Draft) -> Result<Stored> {
        let (answer, answered) = oneshot::channel();
        let mut job = Job { draft, answer };
        // A writer whose runtime stopped has dropped its receiver: start another once.
        for _ in 0..2 {
            match self.sender(store).send(job).await {
                Ok(()) => {
                    return answered.await.map_err(|_| ServiceError::Internal {
                        what: "the report writer stopped before answering".to_owned(),
                    })?;
                }
                Err(mpsc::error::SendError(returned)) => job = returned,
            }
        }
        Err(ServiceError::Internal {
            what: "the report writer is not running".to_owned(),
        })
    }
}

/// The writer: takes what waits (up to a batch), writes it, answers, and again.
async fn run(store: Store, mut receiver: mpsc::Receiver<Job>) {
    while let Some(first) = receiver.recv().await {
        let mut names = first.draft.names.len();
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH && names < MAX_BATCH_NAMES {
            match receiver.try_recv() {
                Ok(job) => {
                    names += job.draft.names.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // A submitter that gave up (its request was dropped) gets nothing stored.
        jobs.retain(|job| !job.answer.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let drafts: Vec<&Draft> = jobs.iter().map(|job| &job.draft).collect();
        match write(&store, &drafts).await {
            Ok(stored) => {
                for (job, stored) in jobs.into_iter().zip(stored) {
                    // The submitter may have gone meanwhile; the report is stored all the same.
                    let _ = job.answer.send(Ok(stored));
                }
            }
            Err(error) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    let _ = job.answer.send(Err(error));
                }
            }
            Err(_) => {
                // One of them (or the database) failed: each on its own, with its own answer.
                for job in jobs {
                    let result = write(&store, &[&job.draft]).await.and_then(|stored| {
                        stored.into_iter().next().ok_or(ServiceError::Internal {
                            what: "a report written alone was not stored".to_owned(),
                        })
                    });
                    let _ = job.answer.send(result);
                }
            }
        }
    }
}

/// Writes reports in one transaction, in order; each joins an open case sharing one of its
/// names (one stored before it in the same batch included) or opens one with its
/// acknowledgment clock.
async fn write(store: &Store, drafts: &[&Draft]) -> Result<Vec<Stored>> {
    let mut tx = store.write().await?;
    // On PostgreSQL, another server's intake waits here: the cases a report may join cannot
    // change between the look-up and the commit.
    tx.lock_audit_chain().await?;
    let mut stored = Vec::with_capacity(drafts.len());
    let mut events = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let ours: Vec<&str> = draft
            .names
            .iter()
            .filter(|name| name.tld_id.is_some())
            .map(|name| name.name.as_str())
            .collect();
        let shared = tx.case_sharing(draft.registry, &ours).await?;
        let case_id = match shared {
            Some((case_id, _)) => case_id,
            None => {
                let case_id = tx
                    .insert_case(draft.registry, draft.threat_type, draft.now)
                    .await?;
                tx.start_clock(case_id, Clock::Acknowledge, &draft.acknowledge)
                    .await?;
                case_id
            }
        };
        let new = NewReport {
            registry_org_id: draft.registry,
            case_id: Some(case_id),
            channel: draft.channel,
            source_class: draft.source_class,
            origin: &draft.origin,
            reporter_user_id: draft.reporter_user_id,
            reporter_org_id: draft.reporter_org_id,
            reporter_name: &draft.reporter_name,
            reporter_email: draft.reporter_email.as_deref(),
            threat_type: draft.threat_type,
            description: &draft.description,
            requested_action: draft.requested_action,
            claimed_urgency: draft.claimed_urgency,
            legal_basis: draft.legal_basis.as_deref(),
            urls: &draft.urls,
            mail_id: draft.mail_id,
            parse_error: draft.parse_error.as_deref(),
            received_at: draft.now,
        };
        let report_id = tx.insert_report(&new, &draft.names).await?;
        if shared.is_some_and(|(_, state)| state != CaseState::New) {
            // The desk already acknowledged this case: acknowledge the new report at once.
            let case = tx
                .case(case_id)
                .await?
                .ok_or(ServiceError::NotFound { what: "case" })?;
            queue_to_reporters(
                &mut tx,
                &case,
                Some(report_id),
                Event::Acknowledgment,
                &[],
                draft.now,
            )
            .await?;
        }
        let ours = draft.names.iter().filter(|n| n.tld_id.is_some()).count();
        let invalid = draft.names.iter().filter(|n| n.problem.is_some()).count();
        let change = Change {
            org_id: Some(draft.registry),
            action: "report.receive",
            subject: format!("report:{report_id}"),
            reason: "",
            details: json!({
                "channel": draft.channel.as_str(), "source_class": draft.source_class.as_str(),
                "origin": draft.origin, "case": case_id, "names": draft.names.len(),
                "ours": ours, "invalid": invalid,
            }),
        };
        events.push((draft.now, audit_event(draft.submitter.as_ref(), change)));
        stored.push(Stored { report_id, case_id });
    }
    tx.append_audits(events).await?;
    tx.commit().await?;
    Ok(stored)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use holdfast_model::org::OrgKind;
    use holdfast_store::Backend;
    use holdfast_store::testing::TestStore;

    use super::*;
    use crate::{NewOrganisation, NewTld, Service};

    fn draft(registry: i64, tld: i64, names: &[&str], now: Timestamp) -> Draft {
        Draft {
            registry,
            submitter: None,
            channel: Channel::WebForm,
            source_class: SourceClass::Other,
            origin: "a test".to_owned(),
            reporter_user_id: None,
            reporter_org_id: None,
            reporter_name: "anonymous".to_owned(),
            reporter_email: None,
            threat_type: ThreatType::Phishing,
            description: "kit".to_owned(),
            requested_action: None,
            claimed_urgency: None,
            legal_basis: None,
            urls: Vec::new(),
            mail_id: None,
            parse_error: None,
            names: names
                .iter()
                .map(|name| ReportName {
                    name: (*name).to_owned(),
                    tld_id: Some(tld),
                    problem: None,
                })
                .collect(),
            acknowledge: ClockTimes {
                start: now,
                due: now,
                remind_at: now,
            },
            now,
        }
    }

    /// Three reports wait together (the test's runtime runs the writer only once all three
    /// are queued), so they are one batch; the second cannot be stored (no such registry).
    #[tokio::test]
    async fn a_report_that_cannot_be_stored_fails_alone_and_the_others_of_its_batch_are_kept() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestStore::new(backend).await;
            let service = Service::new(db.store.clone());
            let now = Timestamp::from_second(1_795_000_000).unwrap();
            let token = service.bootstrap(now).await.unwrap().unwrap().token;
            let admin = service.authenticate(&token, now).await.unwrap();
            let registry = NewOrganisation {
                name: "Registry".into(),
                kind: OrgKind::Registry,
                reason: String::new(),
            };
            let registry = service
                .create_organisation(&admin, registry, now)
                .await
                .unwrap()
                .id;
            let tld = NewTld {
                name: "test".into(),
                org_id: registry,
                reason: String::new(),
            };
            let tld = service.create_tld(&admin, tld, now).await.unwrap().id;

            let intake = Intake::default();
            let store = &db.store;
            let (first, bad, third) = tokio::join!(
                intake.store(store, draft(registry, tld, &["shared.test"], now)),
                intake.store(store, draft(999_999, tld, &["other.test"], now)),
                intake.store(
                    store,
                    draft(registry, tld, &["more.test", "shared.test"], now)
                ),
            );
            let (first, third) = (first.unwrap(), third.unwrap());
            assert!(
                matches!(bad, Err(ServiceError::Store(_))),
                "{backend:?} {bad:?}"
            );
            assert_ne!(first.report_id, third.report_id);
            assert_eq!(
                first.case_id, third.case_id,
                "{backend:?}: they share a name"
            );
            let mut tx = store.read().await.unwrap();
            let clocks = tx.case_clocks(first.case_id).await.unwrap();
            assert_eq!(clocks.len(), 1, "{backend:?}: one acknowledgment clock");
            let reports = tx.case_reports(first.case_id).await.unwrap();
            assert_eq!(reports.len(), 2, "{backend:?}");
            drop(tx);
            let verification = service.verify_audit(&admin).await.unwrap();
            assert!(verification.error.is_none(), "{backend:?} {verification:?}");
        }
    }
}
