//! Holdfast's use cases. Each takes the acting user and `now`, checks authorisation, runs in one
//! store transaction, and records every change in the audit log inside that same transaction.

mod accounts;
mod actions;
mod audit;
mod cache;
mod cases;
mod demo;
mod desk;
mod dns;
mod domains;
mod error;
mod files;
mod intake;
mod mail;
mod preview;
mod registry;
mod secret;
mod srw;
mod srw_report;
mod stats;
mod waivers;
mod zone;

pub use accounts::{IssuedToken, NewOrganisation, NewTld, NewUserRequest, UserView};
pub use actions::{ActionRequest, LIFTING_SOON};
pub use audit::AuditVerification;
pub use cases::{
    CaseCommand, CaseView, ClockView, EvidenceFile, MAX_EVIDENCE_BYTES, MAX_REPORT_NAMES,
    ReportReceipt, ReportRequest, ReportView, Submitter,
};
pub use demo::{DEMO_DESK_ADDRESS, DEMO_PASSWORD, DemoInstall};
pub use desk::{DEFAULT_DESK_ADDRESS, DeskView, TickReport, case_address, case_in_address};
pub use desk::{TemplateView, template_preview};
pub use dns::{PrimaryRequest, StoreZones};
pub use domains::{Availability, DomainOperation, DomainView, NameCheck};
pub use error::ServiceError;
pub use holdfast_store::{Action, ActionItem, ActionState, BlockList, ItemResult, ListedBlock};
pub use holdfast_store::{ApiToken, Organisation, Registrar, Tld};
pub use holdfast_store::{
    Case, CaseFilter, Direction, Message, QueuedCase, Referral, Report, ReportName,
};
pub use holdfast_store::{RecognisedSource, TldSettings};
pub use holdfast_store::{SrwRecord, StoredFile, WaiverRecord};
pub use mail::{MAX_MAIL_BYTES, MailOutcome};
pub use preview::{ActionPreview, Approval, NamePreview, Need, PREVIEW_NAMES, PreviewResult};
pub use registry::NewRegistrarRequest;
pub use srw::{ReviewInput, ReviewMarks, SrwView};
pub use srw_report::{AfterActionView, PublishedReport, ReportEdit};
pub use stats::{CountFigure, Statistics, StatsLine, StatsRequest, TimeFigure};
pub use zone::{EXPORT_TTL, ZoneImport};

use holdfast_model::audit::AuditEvent;
use holdfast_model::org::{Actor, OrgKind, Permission};
use holdfast_store::{Store, Tx};
use jiff::Timestamp;

/// Result of a use case.
pub type Result<T> = std::result::Result<T, ServiceError>;

/// The use cases over one store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    store: Store,
    /// Actions being applied or undone by this process.
    running: actions::Running,
    /// The names of the action last decided, for its runner.
    decided: actions::Handoff,
    /// Publishing to DNS.
    dns: dns::SharedDns,
    /// Rung when a desk's e-mail address changed (the SMTP listener reloads them).
    desks_changed: std::sync::Arc<tokio::sync::Notify>,
    /// What every request reads and almost nothing writes.
    caches: std::sync::Arc<Caches>,
    /// The writer of reports: several at a time in one transaction (group commit).
    intake: std::sync::Arc<intake::Intake>,
}

/// The service's caches (see `cache`). Whoever changes what one holds invalidates it after the
/// commit.
#[derive(Debug, Default)]
pub(crate) struct Caches {
    /// The user an API token stands for, by the token's hash, with the token's expiry. Revoking
    /// a token empties it.
    tokens: cache::Cache<String, (Actor, Option<Timestamp>)>,
    /// Intake's reference data: the TLDs run here …
    tlds: cache::Cache<(), std::sync::Arc<cases::TldMap>>,
    /// … each registry's desk (calendar, clock targets) …
    desks: cache::Cache<i64, desk::Desk>,
    /// … and the source class and origin of a signed-in reporter, by registry, organisation
    /// and e-mail address.
    sources: cache::Cache<(i64, i64, String), (holdfast_model::SourceClass, String)>,
}

impl Caches {
    /// After a commit that changed organisations, TLDs, desk settings, calendars, verified law
    /// enforcement or recognised sources.
    fn reference_changed(&self) {
        self.tlds.invalidate();
        self.desks.invalidate();
        self.sources.invalidate();
    }
}

impl Service {
    /// Use cases over `store`.
    pub fn new(store: Store) -> Service {
        Service {
            store,
            running: actions::Running::default(),
            decided: actions::Handoff::default(),
            dns: dns::SharedDns::default(),
            desks_changed: std::sync::Arc::default(),
            caches: std::sync::Arc::default(),
            intake: std::sync::Arc::default(),
        }
    }

    /// The store underneath, for readiness checks.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Refuses unless `actor`'s role has `permission`.
fn require(actor: &Actor, permission: Permission) -> Result<()> {
    if actor.role.may(permission) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// The organisation `org_id` (the request's field `org_id`), which must be of `kind`.
async fn organisation_of_kind(tx: &mut Tx, org_id: i64, kind: OrgKind) -> Result<Organisation> {
    let organisation = tx
        .organisation(org_id)
        .await?
        .ok_or(ServiceError::NotFound {
            what: "organisation",
        })?;
    if organisation.kind != kind {
        return Err(ServiceError::invalid(
            "org_id",
            format!(
                "{} is not a {} organisation",
                organisation.name,
                kind.as_str()
            ),
        ));
    }
    Ok(organisation)
}

/// The TLD `tld_id`, with its sinkhole hosts.
async fn tld_by_id(tx: &mut Tx, tld_id: i64) -> Result<holdfast_store::TldSettings> {
    tx.tld_settings()
        .await?
        .into_iter()
        .find(|tld| tld.id == tld_id)
        .ok_or(ServiceError::NotFound { what: "TLD" })
}

/// One audit record of a change, written in the change's own transaction.
struct Change<'a> {
    org_id: Option<i64>,
    action: &'a str,
    subject: String,
    reason: &'a str,
    details: serde_json::Value,
}

async fn record(
    tx: &mut Tx,
    actor: Option<&Actor>,
    now: Timestamp,
    change: Change<'_>,
) -> Result<()> {
    tx.append_audit(now, audit_event(actor, change)).await?;
    Ok(())
}

/// The audit event of a change by `actor` (`system` when none).
fn audit_event(actor: Option<&Actor>, change: Change<'_>) -> AuditEvent {
    AuditEvent {
        actor: actor.map_or_else(|| "system".to_owned(), |a| a.email.clone()),
        actor_user_id: actor.map(|a| a.user_id),
        org_id: change.org_id,
        action: change.action.to_owned(),
        subject: change.subject,
        reason: change.reason.to_owned(),
        details: change.details,
    }
}

/// The source of `now` for the servers and workers. Only the binary reads the system clock; tests
/// pass a clock they move themselves.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}
