//! The case desk over HTTP: reports in (JSON, bulk name files, evidence, the public endpoint),
//! the queue and the case (steps, merge, split, actions), desk settings, and referrals.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use holdfast_model::{
    ActionKind, Calendar, CaseState, ClockStanding, ClockTargets, Priority, ResponsibleParty,
    SourceClass, ThreatType,
};
use holdfast_service::{
    ActionRequest, Case, CaseCommand, CaseFilter, CaseView, ClockView, DeskView, Message,
    QueuedCase, Referral, Report, ReportName, ReportReceipt, ReportRequest, ReportView, StoredFile,
    Submitter,
};
use http_body_util::BodyExt;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Auth, Uploaded, body_read_error, download};
use crate::limit::ClientAddr;
use crate::registry_api::{ActionOut, spawn_run};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The largest JSON report (about a million names) and the largest bulk name file.
pub const MAX_REPORT_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The longest line of a bulk name file.
const MAX_LINE: usize = 1024;

/// A report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    /// The registry (organisation id) the report is for; found from the names when absent.
    #[serde(default)]
    pub registry: Option<i64>,
    /// `malware`, `botnet_cc`, `phishing`, `pharming`, `spam`, `csam` or `other`.
    #[schema(value_type = String)]
    pub threat_type: ThreatType,
    #[serde(default)]
    pub description: String,
    /// The domain names, any number (U-labels, any case; `www.x.tld` stands for `x.tld`).
    #[serde(default)]
    pub names: Vec<String>,
    /// URLs; their hosts count as names too.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The action the reporter asks for (`hold`, `redirect`, …).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub requested_action: Option<ActionKind>,
    /// `high` or `standard`, as the reporter sees it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub claimed_urgency: Option<Priority>,
    /// A court order or other legal basis.
    #[serde(default)]
    pub legal_basis: Option<String>,
    #[serde(default)]
    pub reporter_name: Option<String>,
    /// Where answers go (for staff entering a report for someone, and the public endpoint).
    #[serde(default)]
    pub reporter_email: Option<String>,
    /// Desk staff entering a report for someone may set the class: `lea`, `recognised`,
    /// `other`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub source_class: Option<SourceClass>,
}

impl From<ReportIn> for ReportRequest {
    fn from(report: ReportIn) -> ReportRequest {
        ReportRequest {
            registry: report.registry,
            threat_type: Some(report.threat_type),
            description: report.description,
            names: report.names,
            urls: report.urls,
            requested_action: report.requested_action,
            claimed_urgency: report.claimed_urgency,
            legal_basis: report.legal_basis,
            reporter_name: report.reporter_name,
            reporter_email: report.reporter_email,
            source_class: report.source_class,
            parse_error: None,
        }
    }
}

/// What the desk answers when it accepts a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptOut {
    pub report_id: i64,
    pub case_id: i64,
    /// `lea`, `recognised` or `other`.
    pub source_class: String,
    /// Distinct names (URL hosts included), and how many are the registry's, not its, invalid.
    pub names: i64,
    pub ours: i64,
    pub not_ours: i64,
    pub invalid: i64,
}

impl From<ReportReceipt> for ReceiptOut {
    fn from(receipt: ReportReceipt) -> ReceiptOut {
        ReceiptOut {
            report_id: receipt.report_id,
            case_id: receipt.case_id,
            source_class: receipt.source_class.as_str().to_owned(),
            names: receipt.names,
            ours: receipt.ours,
            not_ours: receipt.not_ours,
            invalid: receipt.invalid,
        }
    }
}

/// A report as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    pub id: i64,
    pub registry: i64,
    pub case_id: Option<i64>,
    /// `api`, `web_form` or `email`.
    pub channel: String,
    pub source_class: String,
    /// How the reporter's identity was established.
    pub origin: String,
    pub reporter_name: String,
    pub reporter_email: Option<String>,
    pub threat_type: String,
    pub description: String,
    pub requested_action: Option<String>,
    pub claimed_urgency: Option<String>,
    pub legal_basis: Option<String>,
    pub urls: Vec<String>,
    pub names: i64,
    pub ours: i64,
    pub invalid: i64,
    /// The e-mail the report came from, kept whole.
    pub mail_id: Option<i64>,
    /// Why the e-mail could not be parsed: staff read the message itself.
    pub parse_error: Option<String>,
    pub received_at: Timestamp,
}

impl From<Report> for ReportOut {
    fn from(report: Report) -> ReportOut {
        ReportOut {
            id: report.id,
            registry: report.registry_org_id,
            case_id: report.case_id,
            channel: report.channel.as_str().to_owned(),
            source_class: report.source_class.as_str().to_owned(),
            origin: report.origin,
            reporter_name: report.reporter_name,
            reporter_email: report.reporter_email,
            threat_type: report.threat_type.as_str().to_owned(),
            description: report.description,
            requested_action: report.requested_action,
            claimed_urgency: report.claimed_urgency.map(|p| p.as_str().to_owned()),
            legal_basis: report.legal_basis,
            urls: report.urls,
            names: report.name_count,
            ours: report.ours_count,
            invalid: report.invalid_count,
            mail_id: report.mail_id,
            parse_error: report.parse_error,
            received_at: report.received_at,
        }
    }
}

/// An evidence file (its content at `/api/v1/evidence/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceOut {
    pub id: i64,
    pub report_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

impl From<StoredFile> for EvidenceOut {
    fn from(evidence: StoredFile) -> EvidenceOut {
        EvidenceOut {
            id: evidence.id,
            report_id: evidence.owner_id,
            filename: evidence.filename,
            content_type: evidence.content_type,
            size: evidence.size,
            sha256: evidence.sha256,
            created_at: evidence.created_at,
        }
    }
}

/// A message of a case or report.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub id: i64,
    pub case_id: Option<i64>,
    pub report_id: Option<i64>,
    pub referral_id: Option<i64>,
    /// `out` (from the desk) or `in`.
    pub direction: String,
    /// `acknowledgment`, `assessment`, `referral`, `no_action`, `closure`, `reminder`,
    /// `breach`, `reply`, `reply_alert`, `referral_answer`.
    pub event: String,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

impl From<Message> for MessageOut {
    fn from(message: Message) -> MessageOut {
        MessageOut {
            id: message.id,
            case_id: message.case_id,
            report_id: message.report_id,
            referral_id: message.referral_id,
            direction: match message.direction {
                holdfast_service::Direction::Out => "out",
                holdfast_service::Direction::In => "in",
            }
            .to_owned(),
            event: message.event,
            sender: message.sender,
            recipient: message.recipient,
            subject: message.subject,
            body: message.body,
            created_at: message.created_at,
            sent_at: message.sent_at,
            last_error: message.last_error,
        }
    }
}

/// What a reporter sees of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportViewOut {
    pub report: ReportOut,
    /// Where its case stands.
    pub case_state: Option<String>,
    pub evidence: Vec<EvidenceOut>,
    /// The desk's messages about this report.
    pub answers: Vec<MessageOut>,
}

impl From<ReportView> for ReportViewOut {
    fn from(view: ReportView) -> ReportViewOut {
        ReportViewOut {
            report: view.report.into(),
            case_state: view.case_state.map(|state| state.as_str().to_owned()),
            evidence: view.evidence.into_iter().map(Into::into).collect(),
            answers: view.answers.into_iter().map(Into::into).collect(),
        }
    }
}

/// One name of a report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportNameOut {
    pub name: String,
    /// `ours`, `not-ours` or `invalid`.
    pub status: String,
    pub tld_id: Option<i64>,
    pub problem: Option<String>,
}

impl From<ReportName> for ReportNameOut {
    fn from(name: ReportName) -> ReportNameOut {
        let status = match (&name.problem, name.tld_id) {
            (Some(_), _) => "invalid",
            (None, Some(_)) => "ours",
            (None, None) => "not-ours",
        };
        ReportNameOut {
            name: name.name,
            status: status.to_owned(),
            tld_id: name.tld_id,
            problem: name.problem,
        }
    }
}

/// A case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOut {
    pub id: i64,
    pub registry: i64,
    /// `new`, `acknowledged`, `assessed`, `action_decided`, `mitigated`, `closed`,
    /// `closed_no_action`.
    pub state: String,
    pub threat_type: String,
    pub priority: Option<String>,
    pub priority_rationale: Option<String>,
    /// `registrar`, `registrant` or `registry`.
    pub responsible_party: Option<String>,
    pub course_of_action: Option<String>,
    pub no_action_reason: Option<String>,
    pub assigned_to: Option<i64>,
    pub merged_into: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_at: Option<Timestamp>,
}

impl From<Case> for CaseOut {
    fn from(case: Case) -> CaseOut {
        CaseOut {
            id: case.id,
            registry: case.org_id,
            state: case.state.as_str().to_owned(),
            threat_type: case.threat_type.as_str().to_owned(),
            priority: case.priority.map(|p| p.as_str().to_owned()),
            priority_rationale: case.priority_rationale,
            responsible_party: case.responsible_party.map(|p| p.as_str().to_owned()),
            course_of_action: case.course_of_action,
            no_action_reason: case.no_action_reason,
            assigned_to: case.assigned_to,
            merged_into: case.merged_into,
            created_at: case.created_at,
            updated_at: case.updated_at,
            closed_at: case.closed_at,
        }
    }
}

/// A case in the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedCaseOut {
    pub case: CaseOut,
    /// The nearest running deadline.
    pub next_due: Option<Timestamp>,
    /// Deadlines of this case that were breached.
    pub breaches: i64,
    pub reports: i64,
}

impl From<QueuedCase> for QueuedCaseOut {
    fn from(queued: QueuedCase) -> QueuedCaseOut {
        QueuedCaseOut {
            case: queued.case.into(),
            next_due: queued.next_due,
            breaches: queued.breaches,
            reports: queued.reports,
        }
    }
}

/// A clock of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClockOut {
    /// `acknowledge`, `assess` or `referral`.
    pub clock: String,
    pub started_at: Timestamp,
    pub due: Timestamp,
    pub remind_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub breached_at: Option<Timestamp>,
    /// `met`, `met_late`, `running`, `due_soon` or `breached`.
    pub standing: String,
}

impl From<ClockView> for ClockOut {
    fn from(clock: ClockView) -> ClockOut {
        let standing = match clock.standing {
            ClockStanding::Met => "met",
            ClockStanding::MetLate => "met_late",
            ClockStanding::Running => "running",
            ClockStanding::DueSoon => "due_soon",
            ClockStanding::Breached => "breached",
        };
        ClockOut {
            clock: clock.clock.as_str().to_owned(),
            started_at: clock.started_at,
            due: clock.due,
            remind_at: clock.remind_at,
            done_at: clock.done_at,
            breached_at: clock.breached_at,
            standing: standing.to_owned(),
        }
    }
}

/// A referral to a registrar.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralOut {
    pub id: i64,
    pub case_id: i64,
    pub action_id: i64,
    pub registrar_id: i64,
    pub names: Vec<String>,
    pub due: Timestamp,
    pub answer: Option<String>,
    pub answered_by: Option<i64>,
    pub answered_at: Option<Timestamp>,
}

impl From<Referral> for ReferralOut {
    fn from(referral: Referral) -> ReferralOut {
        ReferralOut {
            id: referral.id,
            case_id: referral.case_id,
            action_id: referral.action_id,
            registrar_id: referral.registrar_id,
            names: referral.names,
            due: referral.due,
            answer: referral.answer,
            answered_by: referral.answered_by,
            answered_at: referral.answered_at,
        }
    }
}

/// Everything staff see of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseViewOut {
    pub case: CaseOut,
    pub reports: Vec<ReportOut>,
    pub evidence: Vec<EvidenceOut>,
    pub clocks: Vec<ClockOut>,
    /// The actions decided from the case, with their time to effect and undo.
    pub actions: Vec<ActionOut>,
    pub referrals: Vec<ReferralOut>,
    pub messages: Vec<MessageOut>,
    /// The case's names in the registry's TLDs (the first thousand).
    pub names: Vec<String>,
}

impl From<CaseView> for CaseViewOut {
    fn from(view: CaseView) -> CaseViewOut {
        CaseViewOut {
            case: view.case.into(),
            reports: view.reports.into_iter().map(Into::into).collect(),
            evidence: view.evidence.into_iter().map(Into::into).collect(),
            clocks: view.clocks.into_iter().map(Into::into).collect(),
            actions: view.actions.into_iter().map(Into::into).collect(),
            referrals: view.referrals.into_iter().map(Into::into).collect(),
            messages: view.messages.into_iter().map(Into::into).collect(),
            names: view.names,
        }
    }
}

/// A step on a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum StepIn {
    Acknowledge,
    Assess {
        #[schema(value_type = String)]
        priority: Priority,
        priority_rationale: String,
        #[schema(value_type = String)]
        threat_type: ThreatType,
        #[schema(value_type = String)]
        responsible_party: ResponsibleParty,
        course_of_action: String,
        #[serde(default)]
        timeline: Option<String>,
    },
    Mitigate,
    Close {
        #[serde(default)]
        note: Option<String>,
    },
    CloseNoAction {
        reason: String,
    },
    Assign {
        user_id: i64,
    },
}

impl From<StepIn> for CaseCommand {
    fn from(step: StepIn) -> CaseCommand {
        match step {
            StepIn::Acknowledge => CaseCommand::Acknowledge,
            StepIn::Assess {
                priority,
                priority_rationale,
                threat_type,
                responsible_party,
                course_of_action,
                timeline,
            } => CaseCommand::Assess {
                priority,
                priority_rationale,
                threat_type,
                responsible_party,
                course_of_action,
                timeline,
            },
            StepIn::Mitigate => CaseCommand::Mitigate,
            StepIn::Close { note } => CaseCommand::Close { note },
            StepIn::CloseNoAction { reason } => CaseCommand::CloseNoAction { reason },
            StepIn::Assign { user_id } => CaseCommand::Assign { user_id },
        }
    }
}

/// The case to merge into this one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIn {
    pub from: i64,
}

/// The reports to split off into a new case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitIn {
    pub reports: Vec<i64>,
}

/// An action decided from a case; without names it acts on all the case's names.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseActionIn {
    #[schema(value_type = String)]
    pub kind: ActionKind,
    #[serde(default)]
    pub names: Vec<String>,
    pub reason: String,
    #[serde(default)]
    pub requested_by: Option<String>,
    #[serde(default)]
    pub to_registrar: Option<i64>,
    #[serde(default)]
    pub until: Option<Timestamp>,
    #[serde(default)]
    pub deadline: Option<Timestamp>,
    #[serde(default)]
    pub legal_direction: Option<String>,
    /// Act now although no waiver covers a create on a gTLD (see the actions API).
    #[serde(default)]
    pub emergency: bool,
}

/// Filters of the queue.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    #[param(value_type = Option<String>)]
    pub state: Option<CaseState>,
    #[param(value_type = Option<String>)]
    pub priority: Option<Priority>,
    #[param(value_type = Option<String>)]
    pub threat_type: Option<ThreatType>,
    #[param(value_type = Option<String>)]
    pub source_class: Option<SourceClass>,
    /// A TLD id.
    pub tld: Option<i64>,
    /// Include closed and merged cases.
    #[serde(default)]
    pub all: bool,
}

/// Metadata of a bulk name file (the body is the file).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BulkQuery {
    #[param(value_type = String)]
    pub threat_type: ThreatType,
    #[serde(default)]
    pub description: String,
    pub registry: Option<i64>,
    #[param(value_type = Option<String>)]
    pub requested_action: Option<ActionKind>,
    #[param(value_type = Option<String>)]
    pub claimed_urgency: Option<Priority>,
    pub legal_basis: Option<String>,
}

/// The file name of an uploaded evidence file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    pub filename: String,
}

/// A page of a report's names.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportNamesQuery {
    /// Names after this one, in name order.
    #[serde(default)]
    pub after: String,
    /// At most this many (1–10000, default 100).
    #[serde(default = "hundred")]
    pub limit: i64,
}

fn hundred() -> i64 {
    100
}

/// A registry desk's settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeskIn {
    /// Minutes from receipt to acknowledgment (default 60).
    #[serde(default = "default_ack")]
    pub acknowledge_minutes: u32,
    /// Hours from acknowledgment to assessment (default 24).
    #[serde(default = "default_assess")]
    pub assess_hours: u32,
    /// Business days a registrar has to answer a referral (default 2).
    #[serde(default = "default_referral")]
    pub referral_business_days: u32,
    /// The address reports and replies come to, e.g. `abuse@registry.example`.
    #[serde(default)]
    pub desk_address: Option<String>,
}

fn default_ack() -> u32 {
    ClockTargets::default().acknowledge_minutes
}
fn default_assess() -> u32 {
    ClockTargets::default().assess_hours
}
fn default_referral() -> u32 {
    ClockTargets::default().referral_business_days
}

/// A registry desk's settings as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeskOut {
    pub registry: i64,
    pub acknowledge_minutes: u32,
    pub assess_hours: u32,
    pub referral_business_days: u32,
    pub desk_address: String,
    /// `{"time_zone", "weekend", "holidays"}`.
    #[schema(value_type = Object)]
    pub calendar: Calendar,
    /// Deadlines breached on this desk's cases, ever.
    pub breaches: i64,
}

impl From<DeskView> for DeskOut {
    fn from(view: DeskView) -> DeskOut {
        DeskOut {
            registry: view.org_id,
            acknowledge_minutes: view.targets.acknowledge_minutes,
            assess_hours: view.targets.assess_hours,
            referral_business_days: view.targets.referral_business_days,
            desk_address: view.desk_address,
            calendar: view.calendar,
            breaches: view.breaches,
        }
    }
}

/// A source the registry recognises.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceIn {
    #[serde(default)]
    pub email_domain: Option<String>,
    #[serde(default)]
    pub reporter_org: Option<i64>,
    pub label: String,
}

/// The id of what was created.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdOut {
    pub id: i64,
}

/// The registry's wording of one message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    pub subject: String,
    /// Placeholders such as `{case}`, `{names}`, `{course_of_action}` are filled in.
    pub body: String,
}

/// How an organisation was verified as law enforcement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    pub reason: String,
}

/// A registrar's answer to a referral.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    pub answer: String,
}

fn created<T>(value: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(value))
}

/// Files a report (any signed-in user but reviewers).
#[utoipa::path(post, path = "/api/v1/reports", tag = "cases", security(("bearer" = [])),
    request_body = ReportIn,
    responses((status = 201, description = "Accepted, with the case it joined", body = ReceiptOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn submit_report(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(report): ApiJson<ReportIn>,
) -> Result<(StatusCode, Json<ReceiptOut>), ApiError> {
    let receipt = state
        .service
        .submit_report(Submitter::User(actor), report.into(), state.clock.now())
        .await?;
    Ok(created(receipt.into()))
}

/// Files a report whose names come as a file: CSV (the first column; a `name` or `domain`
/// header line is skipped) or one name per line. Streamed; a million names are fine.
#[utoipa::path(post, path = "/api/v1/reports/bulk", tag = "cases", security(("bearer" = [])),
    params(BulkQuery),
    request_body(content = String, content_type = "text/csv", description = "The names"),
    responses((status = 201, description = "Accepted", body = ReceiptOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "The file is wrong; the error names the line", body = ErrorEnvelope)))]
pub async fn submit_bulk_report(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<BulkQuery>,
    body: Body,
) -> Result<(StatusCode, Json<ReceiptOut>), ApiError> {
    let names = name_lines(body).await?;
    let request = ReportRequest {
        registry: query.registry,
        threat_type: Some(query.threat_type),
        description: query.description,
        names,
        requested_action: query.requested_action,
        claimed_urgency: query.claimed_urgency,
        legal_basis: query.legal_basis,
        ..ReportRequest::default()
    };
    let receipt = state
        .service
        .submit_report(Submitter::User(actor), request, state.clock.now())
        .await?;
    Ok(created(receipt.into()))
}

/// Reads a bulk name file as it arrives: one name per line, or CSV whose first column is the
/// name. Blank lines and `#` comments are skipped.
async fn name_lines(body: Body) -> Result<Vec<String>, ApiError> {
    let mut names = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut line_number = 0usize;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| body_read_error(&error))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(offset) = pending[start..].iter().position(|&b| b == b'\n') {
            line_number += 1;
            take_line(&pending[start..start + offset], line_number, &mut names)?;
            start += offset + 1;
        }
        pending.drain(..start);
        if pending.len() > MAX_LINE {
            return Err(line_error(line_number + 1, "is longer than 1024 bytes"));
        }
    }
    if !pending.is_empty() {
        take_line(&pending, line_number + 1, &mut names)?;
    }
    Ok(names)
}

fn take_line(line: &[u8], number: usize, names: &mut Vec<String>) -> Result<(), ApiError> {
    if line.len() > MAX_LINE {
        return Err(line_error(number, "is longer than 1024 bytes"));
    }
    let text = std::str::from_utf8(line).map_err(|_| line_error(number, "is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(());
    }
    let first = match text.strip_prefix('"') {
        Some(quoted) => match quoted.split_once('"') {
            Some((field, _)) => field,
            None => return Err(line_error(number, "has a quote that is not closed")),
        },
        None => text.split([',', ';', '\t']).next().unwrap_or_default(),
    }
    .trim();
    let header = names.is_empty()
        && ["name", "domain", "domain_name", "domainname", "fqdn"]
            .iter()
            .any(|word| first.eq_ignore_ascii_case(word));
    if !header && !first.is_empty() {
        names.push(first.to_owned());
    }
    Ok(())
}

fn line_error(line: usize, what: &str) -> ApiError {
    ApiError::field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
        format!("line {line}"),
        format!("line {line} {what}"),
    )
}

/// Attaches an evidence file to a report (its reporter, or the registry's staff). The body is
/// the file; its SHA-256 is computed on arrival.
#[utoipa::path(post, path = "/api/v1/reports/{id}/evidence", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Report id"), EvidenceQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file"),
    responses((status = 201, description = "Stored", body = EvidenceOut),
        (status = 404, description = "No such report, or not yours", body = ErrorEnvelope),
        (status = 413, description = "The file is too large", body = ErrorEnvelope)))]
pub async fn add_evidence(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<EvidenceQuery>,
    file: Uploaded,
) -> Result<(StatusCode, Json<EvidenceOut>), ApiError> {
    let evidence = state
        .service
        .add_evidence(
            &actor,
            id,
            &query.filename,
            &file.content_type,
            &file.content,
            state.clock.now(),
        )
        .await?;
    Ok(created(evidence.into()))
}

/// Downloads an evidence file: always as an attachment of type `application/octet-stream`, so
/// that a hostile file is never rendered by the browser.
#[utoipa::path(get, path = "/api/v1/evidence/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Evidence id")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "No such evidence, or not yours", body = ErrorEnvelope)))]
pub async fn evidence_file(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (filename, content) = state.service.evidence_file(&actor, id).await?;
    Ok(download(&filename, content))
}

/// The reports the caller filed, newest first.
#[utoipa::path(get, path = "/api/v1/reports", tag = "cases", security(("bearer" = [])),
    responses((status = 200, description = "Your reports", body = Vec<ReportOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn my_reports(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Vec<ReportOut>> {
    let reports = state.service.my_reports(&actor).await?;
    Ok(Json(reports.into_iter().map(Into::into).collect()))
}

/// One report, where its case stands, and the desk's answers (its reporter, or staff).
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Report id")),
    responses((status = 200, description = "The report", body = ReportViewOut),
        (status = 404, description = "No such report, or not yours", body = ErrorEnvelope)))]
pub async fn get_report(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<ReportViewOut> {
    Ok(Json(state.service.report(&actor, id).await?.into()))
}

/// A page of a report's names with their status.
#[utoipa::path(get, path = "/api/v1/reports/{id}/names", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Report id"), ReportNamesQuery),
    responses((status = 200, description = "The names", body = Vec<ReportNameOut>),
        (status = 404, description = "No such report, or not yours", body = ErrorEnvelope)))]
pub async fn report_names(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ReportNamesQuery>,
) -> ApiResult<Vec<ReportNameOut>> {
    let names = state
        .service
        .report_names(&actor, id, &query.after, query.limit)
        .await?;
    Ok(Json(names.into_iter().map(Into::into).collect()))
}

/// The desk's queue: open cases, nearest deadline first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", security(("bearer" = [])),
    params(CasesQuery),
    responses((status = 200, description = "The queue", body = Vec<QueuedCaseOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_cases(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<CasesQuery>,
) -> ApiResult<Vec<QueuedCaseOut>> {
    let filter = CaseFilter {
        state: query.state,
        priority: query.priority,
        threat_type: query.threat_type,
        source_class: query.source_class,
        tld_id: query.tld,
        include_closed: query.all,
    };
    let cases = state.service.cases(&actor, &filter).await?;
    Ok(Json(cases.into_iter().map(Into::into).collect()))
}

/// A case with its reports, evidence, clocks, actions, referrals and messages.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id")),
    responses((status = 200, description = "The case", body = CaseViewOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 404, description = "No such case", body = ErrorEnvelope)))]
pub async fn get_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<CaseViewOut> {
    Ok(Json(
        state
            .service
            .case(&actor, id, state.clock.now())
            .await?
            .into(),
    ))
}

/// Takes a step on a case: acknowledge, assess, mitigate, close, close_no_action, assign.
#[utoipa::path(post, path = "/api/v1/cases/{id}/steps", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id")),
    request_body = StepIn,
    responses((status = 200, description = "The case after the step", body = CaseOut),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "The step does not fit the case's state", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn case_step(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(step): ApiJson<StepIn>,
) -> ApiResult<CaseOut> {
    let case = state
        .service
        .case_step(&actor, id, step.into(), state.clock.now())
        .await?;
    Ok(Json(case.into()))
}

/// Merges another case into this one.
#[utoipa::path(post, path = "/api/v1/cases/{id}/merge", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The case that stays")),
    request_body = MergeIn,
    responses((status = 200, description = "The case that stays", body = CaseOut),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "A case is closed", body = ErrorEnvelope)))]
pub async fn merge_cases(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(merge): ApiJson<MergeIn>,
) -> ApiResult<CaseOut> {
    let case = state
        .service
        .merge_cases(&actor, id, merge.from, state.clock.now())
        .await?;
    Ok(Json(case.into()))
}

/// Splits reports off a case into a new case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/split", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id")),
    request_body = SplitIn,
    responses((status = 201, description = "The new case", body = CaseOut),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 422, description = "The reports are not some of the case's", body = ErrorEnvelope)))]
pub async fn split_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(split): ApiJson<SplitIn>,
) -> Result<(StatusCode, Json<CaseOut>), ApiError> {
    let case = state
        .service
        .split_case(&actor, id, &split.reports, state.clock.now())
        .await?;
    Ok(created(case.into()))
}

/// Decides an action from a case (on all its names when none are given); applied in the
/// background like any action.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Case id")),
    request_body = CaseActionIn,
    responses((status = 202, description = "Accepted; follow the action", body = ActionOut),
        (status = 404, description = "No such case", body = ErrorEnvelope),
        (status = 409, description = "The case is not assessed yet, or closed", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn case_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(action): ApiJson<CaseActionIn>,
) -> Result<(StatusCode, Json<ActionOut>), ApiError> {
    let request = ActionRequest {
        kind: action.kind,
        names: action.names,
        reason: action.reason,
        case_ref: None,
        requested_by: action.requested_by,
        to_registrar: action.to_registrar,
        until: action.until,
        deadline: action.deadline,
        legal_direction: action.legal_direction,
        emergency: action.emergency,
    };
    let action = state
        .service
        .decide_case_action(&actor, id, request, state.clock.now())
        .await?;
    spawn_run(&state, action.id);
    Ok((StatusCode::ACCEPTED, Json(action.into())))
}

/// A registry desk's settings (its staff, admins).
#[utoipa::path(get, path = "/api/v1/desks/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Registry organisation id")),
    responses((status = 200, description = "The desk", body = DeskOut),
        (status = 404, description = "No such registry", body = ErrorEnvelope)))]
pub async fn get_desk(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<DeskOut> {
    Ok(Json(state.service.desk(&actor, id).await?.into()))
}

/// Sets a registry desk's clock targets and address.
#[utoipa::path(put, path = "/api/v1/desks/{id}", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Registry organisation id")),
    request_body = DeskIn,
    responses((status = 200, description = "The desk", body = DeskOut),
        (status = 404, description = "No such registry", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn set_desk(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(desk): ApiJson<DeskIn>,
) -> ApiResult<DeskOut> {
    let targets = ClockTargets {
        acknowledge_minutes: desk.acknowledge_minutes,
        assess_hours: desk.assess_hours,
        referral_business_days: desk.referral_business_days,
    };
    let view = state
        .service
        .set_desk(
            &actor,
            id,
            targets,
            desk.desk_address.as_deref(),
            state.clock.now(),
        )
        .await?;
    Ok(Json(view.into()))
}

/// Sets an organisation's calendar: time zone, weekend days, holidays.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/calendar", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Organisation id")),
    request_body(content = Object, description = "`{\"time_zone\": \"Europe/Brussels\", \"weekend\": [\"saturday\", \"sunday\"], \"holidays\": [\"2026-12-25\"]}`"),
    responses((status = 204, description = "Set"),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "The calendar is invalid", body = ErrorEnvelope)))]
pub async fn set_calendar(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(calendar): ApiJson<Calendar>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .set_calendar(&actor, id, &calendar, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records that a reporter organisation is verified law enforcement (admins).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/verify-lea", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Reporter organisation id")),
    request_body = VerifyIn,
    responses((status = 204, description = "Verified"),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "Not a reporter organisation, or no reason", body = ErrorEnvelope)))]
pub async fn verify_lea(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(verify): ApiJson<VerifyIn>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .verify_lea(&actor, id, &verify.reason, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a source the caller's registry recognises.
#[utoipa::path(post, path = "/api/v1/sources", tag = "cases", security(("bearer" = [])),
    request_body = SourceIn,
    responses((status = 201, description = "Added", body = IdOut),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope)))]
pub async fn add_source(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(source): ApiJson<SourceIn>,
) -> Result<(StatusCode, Json<IdOut>), ApiError> {
    let id = state
        .service
        .add_recognised_source(
            &actor,
            source.email_domain.as_deref(),
            source.reporter_org,
            &source.label,
            state.clock.now(),
        )
        .await?;
    Ok(created(IdOut { id }))
}

/// Sets the caller's registry's wording of one message.
#[utoipa::path(put, path = "/api/v1/templates/{event}", tag = "cases", security(("bearer" = [])),
    params(("event" = String, Path, description = "acknowledgment, assessment, referral, no_action, closure, reminder, breach, reply_alert")),
    request_body = TemplateIn,
    responses((status = 204, description = "Set"),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope),
        (status = 422, description = "Unknown event or invalid text", body = ErrorEnvelope)))]
pub async fn set_template(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(event): ApiPath<String>,
    ApiJson(template): ApiJson<TemplateIn>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .set_template(
            &actor,
            &event,
            &template.subject,
            &template.body,
            state.clock.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Referrals to the caller's registrar, newest first (registrar staff).
#[utoipa::path(get, path = "/api/v1/referrals", tag = "cases", security(("bearer" = [])),
    responses((status = 200, description = "The referrals", body = Vec<ReferralOut>),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn list_referrals(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Vec<ReferralOut>> {
    let referrals = state.service.referrals(&actor).await?;
    Ok(Json(referrals.into_iter().map(Into::into).collect()))
}

/// Answers a referral (registrar staff): what the registrar did, or why not.
#[utoipa::path(post, path = "/api/v1/referrals/{id}/answer", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Referral id")),
    request_body = AnswerIn,
    responses((status = 200, description = "Answered", body = ReferralOut),
        (status = 404, description = "No such referral to your registrar", body = ErrorEnvelope),
        (status = 409, description = "Already answered", body = ErrorEnvelope)))]
pub async fn answer_referral(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(answer): ApiJson<AnswerIn>,
) -> ApiResult<ReferralOut> {
    let referral = state
        .service
        .answer_referral(&actor, id, &answer.answer, state.clock.now())
        .await?;
    Ok(Json(referral.into()))
}

/// Files a report without an account; limited per client address.
#[utoipa::path(post, path = "/api/v1/public/reports", tag = "cases",
    request_body = ReportIn,
    responses((status = 201, description = "Accepted", body = ReceiptOut),
        (status = 422, description = "A field is invalid; the error names it", body = ErrorEnvelope),
        (status = 429, description = "Too many reports from this address; try later", body = ErrorEnvelope)))]
pub async fn public_report(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(report): ApiJson<ReportIn>,
) -> Result<(StatusCode, Json<ReceiptOut>), ApiError> {
    let now = state.clock.now();
    state.public_limit.check(client, now)?;
    let receipt = state
        .service
        .submit_report(Submitter::WebForm { client }, report.into(), now)
        .await?;
    Ok(created(receipt.into()))
}
