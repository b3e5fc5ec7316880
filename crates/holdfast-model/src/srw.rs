//! The Security Response Waiver process (SPEC Part B) as pure rules: the request and when it is
//! complete, the reviewer's business-day clocks and the order of review steps, decisions and
//! versioned waivers, the jointly redacted after-action report and the yearly published figures.
//!
//! A request is a [`SrwRequestDraft`] until [`complete`] accepts it; its clocks start then. The
//! review moves `submitted → assigned → contacted → (information asked → answered)* → discussed
//! → decided`; [`ReviewState::after`] says whether a step fits and [`deadlines`] computes the
//! three clocks (confirm 1, discuss 2, answer 3 or — retroactive — 10 business days) from the
//! times the review recorded. [`Waiver::covers`] is the question the action engine asks before a
//! create or transfer. [`yearly_figures`] gives the tables ICANN publishes (`seeds/001_*`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use crate::case::{UnknownValue, spelled};
use crate::{ActionKind, Calendar, CalendarError, Deadline, DeadlineKind, DomainName};

/// The time zone of ICANN's Security Response Team, the default reviewer calendar's.
pub const REVIEWER_ZONE: &str = "America/Los_Angeles";

/// The default reviewer calendar: Los Angeles time, Saturday and Sunday off, and `holidays`.
pub fn reviewer_calendar(
    holidays: impl IntoIterator<Item = Date>,
) -> Result<Calendar, CalendarError> {
    Calendar::new(REVIEWER_ZONE, Calendar::DEFAULT_WEEKEND, holidays)
}

spelled! {
    /// Who files a waiver request: a gTLD registry operator or (since August 2021) a registrar.
    RequesterKind, "requester kind" {
        /// A gTLD registry operator.
        Registry = "registry",
        /// An ICANN-accredited registrar.
        Registrar = "registrar",
    }
}

spelled! {
    /// What the incident is (SPEC B1). The first three are the registry's; a registrar may use
    /// every one.
    IncidentType, "incident type" {
        /// Malicious DNS activity of a scale and severity that threatens a TLD or the DNS.
        MaliciousDnsActivity = "malicious_dns_activity",
        /// Unauthorised access to, disclosure, alteration, insertion or destruction of registry
        /// data.
        RegistryDataCompromise = "registry_data_compromise",
        /// A possible temporary or long-term failure of critical registry functions.
        CriticalFunctionFailure = "critical_function_failure",
        /// A threat to registrations at the registrar (registrars only).
        RegistrationThreat = "registration_threat",
        /// A court order requiring action (registrars only).
        CourtOrder = "court_order",
    }
}

impl IncidentType {
    /// Whether a requester of `kind` may file a request of this type.
    pub const fn allowed_for(self, kind: RequesterKind) -> bool {
        match kind {
            RequesterKind::Registrar => true,
            RequesterKind::Registry => !matches!(
                self,
                IncidentType::RegistrationThreat | IncidentType::CourtOrder
            ),
        }
    }
}

spelled! {
    /// How urgent the requester says the incident is.
    Urgency, "urgency" {
        /// Can wait for the ordinary clocks.
        Low = "low",
        /// Ordinary.
        Medium = "medium",
        /// Harm is imminent.
        High = "high",
        /// Harm is happening now.
        Critical = "critical",
    }
}

/// An inclusive range of dates, e.g. the days a DGA generates names for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DateRange {
    /// The first day.
    pub first: Date,
    /// The last day (inclusive); not before `first`.
    pub last: Date,
}

impl DateRange {
    /// Whether `date` is in the range.
    pub fn contains(&self, date: Date) -> bool {
        self.first <= date && date <= self.last
    }
}

/// A span of time `[start, end)`, e.g. a waiver's validity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    /// When it begins.
    pub start: Timestamp,
    /// When it ends (exclusive); after `start`.
    pub end: Timestamp,
}

/// Someone to talk to about the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Their name.
    pub name: String,
    /// Their e-mail address.
    pub email: String,
}

/// A request being written (SPEC B1). Everything the requester must give is an `Option` or a
/// list here, so that [`missing_fields`] can name every gap at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SrwRequestDraft {
    /// What the incident is.
    pub incident_type: Option<IncidentType>,
    /// What happened.
    pub description: Option<String>,
    /// The TLDs affected (zones, e.g. `example`).
    pub tlds: Vec<DomainName>,
    /// The names, when listed.
    pub names: Vec<DomainName>,
    /// How many names, when only counted (e.g. a DGA's output).
    pub name_count: Option<u64>,
    /// The DGA family that generates the names, if any.
    pub dga_family: Option<String>,
    /// The days the DGA generates names for; needed with a family.
    pub dga_dates: Option<DateRange>,
    /// Whether action was already taken (a retroactive request).
    pub action_taken: Option<bool>,
    /// How the requester will respond or has responded.
    pub response: Option<String>,
    /// How urgent the requester says it is.
    pub urgency: Option<Urgency>,
    /// Whether an expedited answer is needed.
    pub expedited: Option<bool>,
    /// The contract provisions to be waived.
    pub provisions: Vec<String>,
    /// For how long the waiver is wanted.
    pub period: Option<Period>,
    /// Who to talk to; at least one.
    pub contacts: Vec<Contact>,
    /// Attachments, by their ids (optional).
    pub attachments: Vec<String>,
    /// The cases this request comes from (optional).
    pub case_ids: Vec<i64>,
}

/// The names a request or waiver is about: a list, or only how many there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Names {
    /// The names themselves.
    Listed(Vec<DomainName>),
    /// Only their number.
    Counted(u64),
}

impl Names {
    /// How many names.
    pub fn count(&self) -> u64 {
        match self {
            Names::Listed(names) => u64::try_from(names.len()).unwrap_or(u64::MAX),
            Names::Counted(count) => *count,
        }
    }
}

/// A DGA family and the days it generates names for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dga {
    /// The family's name, e.g. `conficker.c`.
    pub family: String,
    /// The days covered.
    pub dates: DateRange,
}

/// A complete request: every required field is there and consistent. Its clocks start at
/// `submitted_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedRequest {
    /// Registry or registrar.
    pub requester: RequesterKind,
    /// What the incident is.
    pub incident_type: IncidentType,
    /// What happened.
    pub description: String,
    /// The TLDs affected.
    pub tlds: Vec<DomainName>,
    /// The names.
    pub names: Names,
    /// The DGA family, if any.
    pub dga: Option<Dga>,
    /// Whether action was already taken: the request is retroactive.
    pub retroactive: bool,
    /// How the requester will respond or has responded.
    pub response: String,
    /// How urgent.
    pub urgency: Urgency,
    /// Whether an expedited answer is needed.
    pub expedited: bool,
    /// The provisions to be waived.
    pub provisions: Vec<String>,
    /// For how long.
    pub period: Period,
    /// Who to talk to.
    pub contacts: Vec<Contact>,
    /// Attachment ids.
    pub attachments: Vec<String>,
    /// Linked cases.
    pub case_ids: Vec<i64>,
    /// The complete submission: the clocks start here.
    pub submitted_at: Timestamp,
}

fn blank(text: Option<&String>) -> bool {
    text.is_none_or(|text| text.trim().is_empty())
}

/// Every missing or invalid field of `draft` for a requester of `kind`, each as
/// `"field: why"`, in the order of SPEC B1. Empty when the request is complete.
pub fn missing_fields(draft: &SrwRequestDraft, kind: RequesterKind) -> Vec<&'static str> {
    let mut missing = Vec::new();
    match draft.incident_type {
        None => missing.push("incident_type: say what the incident is"),
        Some(incident) if !incident.allowed_for(kind) => missing.push(
            "incident_type: a registry may request only for malicious DNS activity, registry data \
             compromise or critical function failure",
        ),
        Some(_) => {}
    }
    if blank(draft.description.as_ref()) {
        missing.push("description: describe the incident");
    }
    if draft.tlds.is_empty() {
        missing.push("tlds: name at least one affected TLD");
    }
    match (draft.names.is_empty(), draft.name_count) {
        (true, None) => missing.push("names: give either a list of names or their count"),
        (true, Some(0)) => missing.push("name_count: the count must be at least 1"),
        (false, Some(count)) if Some(count) != u64::try_from(draft.names.len()).ok() => {
            missing.push("name_count: does not match the number of names listed")
        }
        _ => {}
    }
    if !draft.tlds.is_empty()
        && draft
            .names
            .iter()
            .any(|name| !draft.tlds.iter().any(|tld| name.is_subdomain_of(tld)))
    {
        missing.push("names: every name must be under one of the affected TLDs");
    }
    match (&draft.dga_family, draft.dga_dates) {
        (Some(family), _) if family.trim().is_empty() => {
            missing.push("dga_family: name the family or leave it out")
        }
        (Some(_), None) => missing.push("dga_dates: a DGA family needs a date range"),
        (None, Some(_)) => missing.push("dga_family: a date range needs a DGA family"),
        _ => {}
    }
    if draft
        .dga_dates
        .is_some_and(|dates| dates.last < dates.first)
    {
        missing.push("dga_dates: the last day is before the first");
    }
    if draft.action_taken.is_none() {
        missing.push("action_taken: say whether action was already taken");
    }
    if blank(draft.response.as_ref()) {
        missing.push("response: say how you will respond or have responded");
    }
    if draft.urgency.is_none() {
        missing.push("urgency: give the urgency level");
    }
    if draft.expedited.is_none() {
        missing.push("expedited: say whether an expedited answer is needed");
    }
    if draft.provisions.is_empty() {
        missing.push("provisions: name the provisions to be waived");
    } else if draft.provisions.iter().any(|text| text.trim().is_empty()) {
        missing.push("provisions: a provision is blank");
    }
    match draft.period {
        None => missing.push("period: give the period the waiver is needed for"),
        Some(period) if period.end <= period.start => {
            missing.push("period: the end must be after the start")
        }
        Some(_) => {}
    }
    if draft.contacts.is_empty() {
        missing.push("contacts: give at least one contact");
    } else if draft
        .contacts
        .iter()
        .any(|contact| contact.name.trim().is_empty() || !contact.email.contains('@'))
    {
        missing.push("contacts: every contact needs a name and an e-mail address");
    }
    if draft.attachments.iter().any(|id| id.trim().is_empty()) {
        missing.push("attachments: an attachment id is blank");
    }
    missing
}

/// Accepts a complete draft as submitted at `now` (the clocks start then), or names every
/// missing or invalid field.
pub fn complete(
    draft: SrwRequestDraft,
    kind: RequesterKind,
    now: Timestamp,
) -> Result<SubmittedRequest, Vec<&'static str>> {
    let missing = missing_fields(&draft, kind);
    let (
        Some(incident_type),
        Some(description),
        Some(action_taken),
        Some(response),
        Some(urgency),
        Some(expedited),
        Some(period),
        true,
    ) = (
        draft.incident_type,
        draft.description,
        draft.action_taken,
        draft.response,
        draft.urgency,
        draft.expedited,
        draft.period,
        missing.is_empty(),
    )
    else {
        return Err(missing);
    };
    let names = match draft.name_count {
        Some(count) if draft.names.is_empty() => Names::Counted(count),
        _ => Names::Listed(draft.names),
    };
    let dga = match (draft.dga_family, draft.dga_dates) {
        (Some(family), Some(dates)) => Some(Dga {
            family: family.trim().to_owned(),
            dates,
        }),
        _ => None,
    };
    Ok(SubmittedRequest {
        requester: kind,
        incident_type,
        description,
        tlds: draft.tlds,
        names,
        dga,
        retroactive: action_taken,
        response,
        urgency,
        expedited,
        provisions: draft.provisions,
        period,
        contacts: draft.contacts,
        attachments: draft.attachments,
        case_ids: draft.case_ids,
        submitted_at: now,
    })
}

spelled! {
    /// Where a review stands.
    ReviewState, "review state" {
        /// Complete and submitted; no reviewer yet.
        Submitted = "submitted",
        /// A named reviewer has it.
        Assigned = "assigned",
        /// The reviewer contacted the requester and confirmed the incident.
        Contacted = "contacted",
        /// More information was asked for and not yet given.
        InformationAsked = "information_asked",
        /// The information asked for was given.
        InformationAnswered = "information_answered",
        /// The Security Response Team discussed the request.
        Discussed = "discussed",
        /// The written answer was sent.
        Decided = "decided",
    }
}

spelled! {
    /// A step of the review.
    ReviewStep, "review step" {
        /// Name the reviewer who keeps contact for the whole incident.
        AssignReviewer = "assign_reviewer",
        /// Contact the requester and confirm the incident.
        ConfirmIncident = "confirm_incident",
        /// Ask the requester for more information.
        AskInformation = "ask_information",
        /// The requester gives the information asked for.
        AnswerInformation = "answer_information",
        /// The team discusses the request.
        Discuss = "discuss",
        /// The written answer (a [`Decision`]).
        Decide = "decide",
    }
}

/// A review step that does not fit, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a review that is {state} cannot take the step {step}: {reason}")]
pub struct StepRefused {
    /// The review's state.
    pub state: ReviewState,
    /// The step asked for.
    pub step: ReviewStep,
    /// Why not.
    pub reason: &'static str,
}

impl ReviewState {
    /// The state after `step`, or why the step does not fit.
    pub fn after(self, step: ReviewStep) -> Result<ReviewState, StepRefused> {
        use ReviewState as S;
        use ReviewStep as T;
        let refuse = |reason| {
            Err(StepRefused {
                state: self,
                step,
                reason,
            })
        };
        match (step, self) {
            (_, S::Decided) => refuse("the request is decided"),
            (T::AssignReviewer, S::Submitted) => Ok(S::Assigned),
            (T::AssignReviewer, _) => refuse("one named reviewer keeps contact for the incident"),
            (_, S::Submitted) => refuse("assign a reviewer first"),
            (T::ConfirmIncident, S::Assigned) => Ok(S::Contacted),
            (T::ConfirmIncident, _) => refuse("the incident is already confirmed"),
            (_, S::Assigned) => refuse("contact the requester to confirm the incident first"),
            (T::AskInformation, S::InformationAsked) => {
                refuse("information was asked for and not yet given")
            }
            (T::AskInformation, _) => Ok(S::InformationAsked),
            (T::AnswerInformation, S::InformationAsked) => Ok(S::InformationAnswered),
            (T::AnswerInformation, _) => refuse("no information was asked for"),
            (T::Discuss, S::InformationAsked) => refuse("wait for the information asked for"),
            (T::Discuss, _) => Ok(S::Discussed),
            (T::Decide, S::Discussed) => Ok(S::Decided),
            (T::Decide, S::InformationAsked) => refuse("wait for the information asked for"),
            (T::Decide, _) => refuse("discuss the request first"),
        }
    }
}

spelled! {
    /// A review deadline (SPEC B2).
    ReviewClock, "review clock" {
        /// Contact the requester to confirm the incident: 1 business day from submission.
        Confirm = "confirm",
        /// Discuss: 2 business days from receiving the request and any information asked for.
        Discuss = "discuss",
        /// Answer in writing: 3 business days from submission, 10 when retroactive.
        Answer = "answer",
    }
}

impl ReviewClock {
    /// The clock's length in business days.
    pub const fn business_days(self, retroactive: bool) -> u32 {
        match self {
            ReviewClock::Confirm => 1,
            ReviewClock::Discuss => 2,
            ReviewClock::Answer if retroactive => 10,
            ReviewClock::Answer => 3,
        }
    }
}

/// A review: its state and the times of its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Where it stands.
    pub state: ReviewState,
    /// The complete submission.
    pub submitted_at: Timestamp,
    /// Whether action was already taken.
    pub retroactive: bool,
    /// The named reviewer.
    pub reviewer: Option<String>,
    /// When the reviewer confirmed the incident with the requester.
    pub contacted_at: Option<Timestamp>,
    /// When information was last asked for.
    pub information_asked_at: Option<Timestamp>,
    /// When the information last asked for was given.
    pub information_answered_at: Option<Timestamp>,
    /// When the team last discussed the request.
    pub discussed_at: Option<Timestamp>,
    /// When the written answer was sent.
    pub decided_at: Option<Timestamp>,
    /// The answer.
    pub decision: Option<Decision>,
}

/// A step to apply to a [`Review`], with what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewCommand {
    /// Name the reviewer.
    AssignReviewer(String),
    /// Contact made, incident confirmed.
    ConfirmIncident,
    /// More information asked for.
    AskInformation,
    /// The information given.
    AnswerInformation,
    /// The team discussed it.
    Discuss,
    /// The written answer.
    Decide(Decision),
}

impl ReviewCommand {
    /// The step this command takes.
    pub fn step(&self) -> ReviewStep {
        match self {
            ReviewCommand::AssignReviewer(_) => ReviewStep::AssignReviewer,
            ReviewCommand::ConfirmIncident => ReviewStep::ConfirmIncident,
            ReviewCommand::AskInformation => ReviewStep::AskInformation,
            ReviewCommand::AnswerInformation => ReviewStep::AnswerInformation,
            ReviewCommand::Discuss => ReviewStep::Discuss,
            ReviewCommand::Decide(_) => ReviewStep::Decide,
        }
    }
}

impl Review {
    /// A review of `request`, starting at its complete submission.
    pub fn start(request: &SubmittedRequest) -> Review {
        Review {
            state: ReviewState::Submitted,
            submitted_at: request.submitted_at,
            retroactive: request.retroactive,
            reviewer: None,
            contacted_at: None,
            information_asked_at: None,
            information_answered_at: None,
            discussed_at: None,
            decided_at: None,
            decision: None,
        }
    }

    /// The review after `command` taken at `now`, or why not: out of order, a blank reviewer,
    /// or a time before the previous step.
    pub fn apply(&self, command: ReviewCommand, now: Timestamp) -> Result<Review, StepRefused> {
        let step = command.step();
        let state = self.state.after(step)?;
        let refuse = |reason| StepRefused {
            state: self.state,
            step,
            reason,
        };
        if now < self.last_step_at() {
            return Err(refuse("its time is before the previous step"));
        }
        let mut review = self.clone();
        review.state = state;
        match command {
            ReviewCommand::AssignReviewer(reviewer) => {
                if reviewer.trim().is_empty() {
                    return Err(refuse("name the reviewer"));
                }
                review.reviewer = Some(reviewer);
            }
            ReviewCommand::ConfirmIncident => review.contacted_at = Some(now),
            ReviewCommand::AskInformation => {
                review.information_asked_at = Some(now);
                review.information_answered_at = None;
            }
            ReviewCommand::AnswerInformation => review.information_answered_at = Some(now),
            ReviewCommand::Discuss => review.discussed_at = Some(now),
            ReviewCommand::Decide(decision) => {
                if let Decision::NotGranted { reason } = &decision
                    && reason.trim().is_empty()
                {
                    return Err(refuse("say why the waiver is not granted"));
                }
                review.decided_at = Some(now);
                review.decision = Some(decision);
            }
        }
        Ok(review)
    }

    fn last_step_at(&self) -> Timestamp {
        [
            Some(self.submitted_at),
            self.contacted_at,
            self.information_asked_at,
            self.information_answered_at,
            self.discussed_at,
            self.decided_at,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(self.submitted_at)
    }

    /// When the review had both the request and every piece of information asked for; `None`
    /// while information asked for is outstanding.
    pub fn complete_information_at(&self) -> Option<Timestamp> {
        match (self.information_asked_at, self.information_answered_at) {
            (Some(_), None) => None,
            (_, Some(answered)) => Some(answered.max(self.submitted_at)),
            (None, None) => Some(self.submitted_at),
        }
    }

    /// When `clock` was satisfied, if it was. The discussion counts only when it followed the
    /// information last asked for.
    pub fn done_at(&self, clock: ReviewClock) -> Option<Timestamp> {
        match clock {
            ReviewClock::Confirm => self.contacted_at,
            ReviewClock::Discuss => {
                let discussed = self.discussed_at?;
                (discussed >= self.complete_information_at()?).then_some(discussed)
            }
            ReviewClock::Answer => self.decided_at,
        }
    }
}

/// The review's deadlines on the reviewer's `calendar`, computed from the recorded times. The
/// discussion clock is absent while information asked for is outstanding (it restarts when the
/// information arrives).
pub fn deadlines(review: &Review, calendar: &Calendar) -> Vec<(ReviewClock, Deadline)> {
    let retroactive = review.retroactive;
    let deadline = |clock: ReviewClock, start| {
        let kind = DeadlineKind::BusinessDays(clock.business_days(retroactive));
        (clock, calendar.deadline(start, kind))
    };
    let mut clocks = vec![deadline(ReviewClock::Confirm, review.submitted_at)];
    if let Some(start) = review.complete_information_at() {
        clocks.push(deadline(ReviewClock::Discuss, start));
    }
    clocks.push(deadline(ReviewClock::Answer, review.submitted_at));
    clocks
}

/// How long before a review deadline the reviewers are reminded.
pub const REVIEW_REMINDER: jiff::SignedDuration = jiff::SignedDuration::from_hours(4);

/// What was recorded about one review clock: when the reviewers were reminded of it and when it
/// was breached. A breach stays recorded even after the step is taken late.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockMarks {
    /// When the reviewers were reminded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminded_at: Option<Timestamp>,
    /// When the breach was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_at: Option<Timestamp>,
}

/// A mark a review clock has earned at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMark {
    /// Due within [`REVIEW_REMINDER`] and not yet reminded.
    Remind(ReviewClock, Deadline),
    /// Past due, step not taken, not yet recorded.
    Breach(ReviewClock, Deadline),
}

/// The reminders and breaches `review` earns at `now` beyond those already in `marks`. A decided
/// review earns none.
pub fn due_marks(
    review: &Review,
    calendar: &Calendar,
    marks: &BTreeMap<ReviewClock, ClockMarks>,
    now: Timestamp,
) -> Vec<ClockMark> {
    if review.decided_at.is_some() {
        return Vec::new();
    }
    let mut due = Vec::new();
    for (clock, deadline) in deadlines(review, calendar) {
        if review.done_at(clock).is_some() {
            continue;
        }
        let marked = marks.get(&clock).copied().unwrap_or_default();
        if now > deadline.due {
            if marked.breached_at.is_none() {
                due.push(ClockMark::Breach(clock, deadline));
            }
        } else if deadline.due.duration_since(now) <= REVIEW_REMINDER
            && marked.reminded_at.is_none()
        {
            due.push(ClockMark::Remind(clock, deadline));
        }
    }
    due
}

/// Whether `tld` is a generic TLD, whose registry needs a waiver to create or take over names
/// (SPEC B3). Country-code TLDs are the two-letter ASCII ones (ISO 3166-1); an IDN ccTLD
/// (`xn--…`) cannot be told from its name and counts as generic, the cautious answer.
pub fn is_generic_tld(tld: &str) -> bool {
    !(tld.len() == 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

spelled! {
    /// The kind of answer, as counted in the published figures.
    DecisionKind, "decision kind" {
        /// A new waiver was issued.
        NewWaiver = "new_waiver",
        /// The request was not granted.
        NotGranted = "not_granted",
        /// The request was in scope of an existing waiver.
        InScopeOfExisting = "in_scope_of_existing",
        /// An existing waiver was updated.
        UpdatedWaiver = "updated_waiver",
    }
}

/// The written answer to a request (SPEC B3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A new waiver is issued.
    NewWaiver,
    /// An existing waiver is updated (to a new version).
    UpdatedWaiver {
        /// The waiver updated.
        waiver_id: i64,
    },
    /// The request is in scope of an existing waiver.
    InScopeOfExisting {
        /// The waiver that covers it.
        waiver_id: i64,
    },
    /// Not granted.
    NotGranted {
        /// Why.
        reason: String,
    },
}

impl Decision {
    /// The kind of answer.
    pub fn outcome(&self) -> DecisionKind {
        match self {
            Decision::NewWaiver => DecisionKind::NewWaiver,
            Decision::UpdatedWaiver { .. } => DecisionKind::UpdatedWaiver,
            Decision::InScopeOfExisting { .. } => DecisionKind::InScopeOfExisting,
            Decision::NotGranted { .. } => DecisionKind::NotGranted,
        }
    }
}

/// What a waiver covers: listed names, or the names a DGA family generates for a date range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Exactly these names.
    Names(BTreeSet<DomainName>),
    /// Names of this DGA family for these days (UTC). That a name belongs to the family is the
    /// holder's attestation, recorded with its action; the waiver checks TLD and day.
    Dga(Dga),
}

/// The terms of a waiver: everything but its identity, holder and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverTerms {
    /// The TLDs (zones) covered.
    pub tlds: Vec<DomainName>,
    /// The provisions waived.
    pub provisions: Vec<String>,
    /// The actions permitted.
    pub actions: Vec<ActionKind>,
    /// The names covered.
    pub coverage: Coverage,
    /// When it is valid.
    pub valid: Period,
    /// Conditions the holder must meet.
    pub conditions: Vec<String>,
}

impl WaiverTerms {
    /// Every missing or invalid term, as `"field: why"`.
    pub fn problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        if self.tlds.is_empty() {
            problems.push("tlds: a waiver covers at least one TLD");
        }
        if self.provisions.is_empty() || self.provisions.iter().any(|p| p.trim().is_empty()) {
            problems.push("provisions: name every provision waived");
        }
        if self.actions.is_empty() {
            problems.push("actions: permit at least one action");
        }
        match &self.coverage {
            Coverage::Names(names) if names.is_empty() => {
                problems.push("coverage: list at least one name")
            }
            Coverage::Names(names)
                if names
                    .iter()
                    .any(|name| !self.tlds.iter().any(|tld| name.is_subdomain_of(tld))) =>
            {
                problems.push("coverage: every name must be under one of the TLDs")
            }
            Coverage::Dga(dga) if dga.family.trim().is_empty() => {
                problems.push("coverage: name the DGA family")
            }
            Coverage::Dga(dga) if dga.dates.last < dga.dates.first => {
                problems.push("coverage: the DGA's last day is before its first")
            }
            _ => {}
        }
        if self.valid.end <= self.valid.start {
            problems.push("valid: the end must be after the start");
        }
        problems
    }
}

/// A waiver: an exemption from contract provisions for named actions on named names (SPEC B3).
/// Updating gives a new version with the same id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// The waiver's id, the same across versions.
    pub id: i64,
    /// 1 when issued, one more per update.
    pub version: u32,
    /// The organisation holding it.
    pub holder_org: i64,
    /// What it waives and covers.
    pub terms: WaiverTerms,
}

/// Why an action on a name is not covered by a waiver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCovered {
    /// The waiver does not permit the action.
    #[error("the waiver does not permit {}", .0.as_str())]
    Action(ActionKind),
    /// The name is not under any of the waiver's TLDs.
    #[error("{0} is not under any TLD of the waiver")]
    Tld(DomainName),
    /// The waiver is not yet valid.
    #[error("the waiver is valid only from {0}")]
    NotYet(Timestamp),
    /// The waiver has expired.
    #[error("the waiver expired at {0}")]
    Expired(Timestamp),
    /// The name is not among the waiver's names.
    #[error("{0} is not among the waiver's names")]
    NotListed(DomainName),
    /// The day is outside the DGA's date range.
    #[error("{0} is outside the days of the waiver's DGA family")]
    OutsideDgaDates(Date),
}

impl Waiver {
    /// Issues version 1 of a waiver, or names every problem with its terms.
    pub fn issue(
        id: i64,
        holder_org: i64,
        terms: WaiverTerms,
    ) -> Result<Waiver, Vec<&'static str>> {
        let problems = terms.problems();
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Waiver {
            id,
            version: 1,
            holder_org,
            terms,
        })
    }

    /// The next version of this waiver with new `terms`: same id and holder.
    pub fn update(&self, terms: WaiverTerms) -> Result<Waiver, Vec<&'static str>> {
        let problems = terms.problems();
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Waiver {
            id: self.id,
            version: self.version.saturating_add(1),
            holder_org: self.holder_org,
            terms,
        })
    }

    /// Whether `action` on `name` at `at` is covered, or the first reason it is not.
    pub fn covers(
        &self,
        name: &DomainName,
        action: ActionKind,
        at: Timestamp,
    ) -> Result<(), NotCovered> {
        let terms = &self.terms;
        if !terms.actions.contains(&action) {
            return Err(NotCovered::Action(action));
        }
        if !terms.tlds.iter().any(|tld| name.is_subdomain_of(tld)) {
            return Err(NotCovered::Tld(name.clone()));
        }
        if at < terms.valid.start {
            return Err(NotCovered::NotYet(terms.valid.start));
        }
        if at >= terms.valid.end {
            return Err(NotCovered::Expired(terms.valid.end));
        }
        match &terms.coverage {
            Coverage::Names(names) if names.contains(name) => Ok(()),
            Coverage::Names(_) => Err(NotCovered::NotListed(name.clone())),
            Coverage::Dga(dga) => {
                let day = TimeZone::UTC.to_datetime(at).date();
                if dga.dates.contains(day) {
                    Ok(())
                } else {
                    Err(NotCovered::OutsideDgaDates(day))
                }
            }
        }
    }
}

/// Whether `action` needs a waiver before a gTLD registry takes it (SPEC B3): registering a
/// name itself (create) or moving its sponsorship (transfer).
pub const fn needs_waiver(action: ActionKind) -> bool {
    matches!(action, ActionKind::Create | ActionKind::Transfer)
}

/// The waiver of `holder_org` that covers `action` on `name` at `at`, looking only at the latest
/// version of each waiver (an update supersedes its earlier versions). `Err` gives, per latest
/// version, why it does not cover; empty when the holder has no waiver at all — either way an
/// action taken now needs a retroactive request.
pub fn covering<'a>(
    waivers: &'a [Waiver],
    holder_org: i64,
    name: &DomainName,
    action: ActionKind,
    at: Timestamp,
) -> Result<&'a Waiver, Vec<(i64, NotCovered)>> {
    let mut latest: BTreeMap<i64, &Waiver> = BTreeMap::new();
    for waiver in waivers.iter().filter(|w| w.holder_org == holder_org) {
        let entry = latest.entry(waiver.id).or_insert(waiver);
        if waiver.version > entry.version {
            *entry = waiver;
        }
    }
    let mut refusals = Vec::new();
    for waiver in latest.into_values() {
        match waiver.covers(name, action, at) {
            Ok(()) => return Ok(waiver),
            Err(why) => refusals.push((waiver.id, why)),
        }
    }
    Err(refusals)
}

spelled! {
    /// A section of an after-action report.
    Section, "report section" {
        /// What happened when.
        Timeline = "timeline",
        /// What was done.
        Actions = "actions",
        /// How it ended.
        Outcome = "outcome",
        /// What was learnt.
        Lessons = "lessons",
    }
}

spelled! {
    /// A side of the after-action report.
    Party, "party" {
        /// ICANN's reviewer.
        Reviewer = "reviewer",
        /// The registry or registrar that requested the waiver.
        Requester = "requester",
    }
}

/// A message in a request's thread: the reviewer's questions and notes of contact, the
/// requester's answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadMessage {
    /// When it was written.
    pub at: Timestamp,
    /// Which side wrote it.
    pub party: Party,
    /// Who wrote it (their e-mail address).
    pub author: String,
    /// What it says (text, shown escaped).
    pub text: String,
}

/// A passage marked confidential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The section it is in.
    pub section: Section,
    /// Its byte range in the section's text.
    pub range: Range<usize>,
    /// Why it is confidential.
    pub reason: String,
    /// Who marked it.
    pub by: Party,
}

/// Why a report change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// The range is empty, past the end of the text or splits a character.
    #[error("range: {start}..{end} is not a passage of the {section} section")]
    BadRange {
        /// The section.
        section: Section,
        /// The range's start.
        start: usize,
        /// The range's end.
        end: usize,
    },
    /// A redaction needs a reason.
    #[error("reason: say why the passage is confidential")]
    NoReason,
    /// The section has redactions, whose ranges the new text would move.
    #[error("text: the {0} section has redactions; remove them before rewriting it")]
    SectionRedacted(Section),
}

/// The report cannot be published yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the redactions are not approved by {}", .missing.iter().map(|party| party.as_str()).collect::<Vec<_>>().join(" and "))]
pub struct NotApproved {
    /// The sides that have not approved the current redactions.
    pub missing: Vec<Party>,
}

/// The after-action report reviewer and requester write together (SPEC B4). Any change to the
/// text or the redactions withdraws both approvals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterActionReport {
    sections: BTreeMap<Section, String>,
    redactions: Vec<Redaction>,
    approved_by: BTreeSet<Party>,
}

/// What replaces a redacted passage in the published text.
pub const REDACTED: &str = "[redacted]";

impl AfterActionReport {
    /// The text of `section` (empty when unwritten).
    pub fn section(&self, section: Section) -> &str {
        self.sections.get(&section).map_or("", String::as_str)
    }

    /// The passages marked.
    pub fn redactions(&self) -> &[Redaction] {
        &self.redactions
    }

    /// Writes `section`; refused while it has redactions.
    pub fn write(&mut self, section: Section, text: String) -> Result<(), ReportError> {
        if self.redactions.iter().any(|r| r.section == section) {
            return Err(ReportError::SectionRedacted(section));
        }
        self.sections.insert(section, text);
        self.approved_by.clear();
        Ok(())
    }

    /// Marks a passage confidential.
    pub fn redact(&mut self, redaction: Redaction) -> Result<(), ReportError> {
        let text = self.section(redaction.section);
        let Range { start, end } = redaction.range;
        if start >= end
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            return Err(ReportError::BadRange {
                section: redaction.section,
                start,
                end,
            });
        }
        if redaction.reason.trim().is_empty() {
            return Err(ReportError::NoReason);
        }
        self.redactions.push(redaction);
        self.approved_by.clear();
        Ok(())
    }

    /// Removes the redaction at `index` of [`AfterActionReport::redactions`], if any.
    pub fn unredact(&mut self, index: usize) -> Option<Redaction> {
        (index < self.redactions.len()).then(|| {
            self.approved_by.clear();
            self.redactions.remove(index)
        })
    }

    /// `party` approves the text and redactions as they are now.
    pub fn approve(&mut self, party: Party) {
        self.approved_by.insert(party);
    }

    /// Whether `party` approved the current text and redactions.
    pub fn is_approved_by(&self, party: Party) -> bool {
        self.approved_by.contains(&party)
    }
}

/// The text to publish: each written section under its title, every redacted passage (merged
/// where they overlap) replaced by `[redacted]`; refused until both sides approved.
pub fn published_text(report: &AfterActionReport) -> Result<String, NotApproved> {
    let missing: Vec<Party> = Party::ALL
        .iter()
        .copied()
        .filter(|party| !report.is_approved_by(*party))
        .collect();
    if !missing.is_empty() {
        return Err(NotApproved { missing });
    }
    Ok(redacted_text(report))
}

/// The text as it would be published now, approved or not: each written section under its
/// title, every redacted passage replaced by `[redacted]` (the preview both sides approve).
pub fn redacted_text(report: &AfterActionReport) -> String {
    let mut out = String::new();
    for section in Section::ALL {
        let text = report.section(*section);
        if text.is_empty() {
            continue;
        }
        let mut ranges: Vec<Range<usize>> = report
            .redactions
            .iter()
            .filter(|r| r.section == *section)
            .map(|r| r.range.clone())
            .collect();
        ranges.sort_by_key(|range| (range.start, range.end));
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("## {}\n\n", section_title(*section)));
        let mut merged: Vec<Range<usize>> = Vec::new();
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let mut at = 0;
        for range in merged {
            out.push_str(text.get(at..range.start).unwrap_or(""));
            out.push_str(REDACTED);
            at = range.end;
        }
        out.push_str(text.get(at..).unwrap_or(""));
        out.push('\n');
    }
    out
}

fn section_title(section: Section) -> &'static str {
    match section {
        Section::Timeline => "Timeline",
        Section::Actions => "Actions",
        Section::Outcome => "Outcome",
        Section::Lessons => "Lessons",
    }
}

/// A request whose answer was sent: what the yearly figures count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedRequest {
    /// The complete submission.
    pub submitted_at: Timestamp,
    /// When the requester received the answer.
    pub answered_at: Timestamp,
    /// The kind of answer.
    pub outcome: DecisionKind,
    /// The TLDs the request covered.
    pub tlds: Vec<DomainName>,
    /// How many names it was about.
    pub name_count: u64,
    /// Whether it came after action was taken.
    pub retroactive: bool,
}

impl ClosedRequest {
    /// The closed form of `request` answered with `decision` at `answered_at`.
    pub fn new(
        request: &SubmittedRequest,
        decision: &Decision,
        answered_at: Timestamp,
    ) -> ClosedRequest {
        ClosedRequest {
            submitted_at: request.submitted_at,
            answered_at,
            outcome: decision.outcome(),
            tlds: request.tlds.clone(),
            name_count: request.names.count(),
            retroactive: request.retroactive,
        }
    }
}

/// One year's published figures (SPEC B5, `seeds/001_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct YearFigures {
    /// Requests received (completely submitted) in the year.
    pub requests: u32,
    /// Distinct TLDs covered by those requests.
    pub tlds_covered: u32,
    /// Requests per outcome.
    pub outcomes: BTreeMap<DecisionKind, u32>,
    /// Names subject to the requests, rounded to the nearest hundred.
    pub approximate_names: u64,
    /// Requests made before action was taken.
    pub before_action: u32,
    /// Requests made after action was taken.
    pub after_action: u32,
    /// Mean business days from complete submission to answer per outcome, rounded to the
    /// nearest whole day (halves up); absent when no request had that outcome ("N/A").
    pub average_business_days: BTreeMap<DecisionKind, u32>,
}

impl YearFigures {
    /// Requests with `outcome`.
    pub fn count(&self, outcome: DecisionKind) -> u32 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }
}

/// One published table: its title and rows, each a label and a cell per year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureTable {
    /// The table's title.
    pub title: &'static str,
    /// Each row's label and cells, one per year in order.
    pub rows: Vec<(&'static str, Vec<String>)>,
}

/// The published figures per year of complete submission, in the reviewer calendar's zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct YearTable {
    /// Figures per year.
    pub years: BTreeMap<i16, YearFigures>,
}

/// Counts `requests` per year of their complete submission (in `calendar`'s zone) and
/// measures answer times in `calendar`'s business days.
pub fn yearly_figures(requests: &[ClosedRequest], calendar: &Calendar) -> YearTable {
    let mut grouped: BTreeMap<i16, Vec<&ClosedRequest>> = BTreeMap::new();
    for request in requests {
        let year = Zoned::new(request.submitted_at, calendar.zone().clone()).year();
        grouped.entry(year).or_default().push(request);
    }
    let years = grouped
        .into_iter()
        .map(|(year, requests)| (year, figures(&requests, calendar)))
        .collect();
    YearTable { years }
}

fn count<T>(items: impl IntoIterator<Item = T>) -> u32 {
    u32::try_from(items.into_iter().count()).unwrap_or(u32::MAX)
}

fn figures(requests: &[&ClosedRequest], calendar: &Calendar) -> YearFigures {
    let tlds: BTreeSet<&DomainName> = requests.iter().flat_map(|r| &r.tlds).collect();
    let names: u64 = requests.iter().map(|r| r.name_count).sum();
    let mut outcomes = BTreeMap::new();
    let mut days: BTreeMap<DecisionKind, (i64, i64)> = BTreeMap::new();
    for request in requests {
        *outcomes.entry(request.outcome).or_insert(0) += 1;
        let taken = calendar.business_days_between(request.submitted_at, request.answered_at);
        let (sum, n) = days.entry(request.outcome).or_insert((0, 0));
        *sum += taken;
        *n += 1;
    }
    let average_business_days = days
        .into_iter()
        .map(|(outcome, (sum, n))| {
            let rounded = (2 * sum + n) / (2 * n);
            (outcome, u32::try_from(rounded).unwrap_or(u32::MAX))
        })
        .collect();
    YearFigures {
        requests: count(requests.iter()),
        tlds_covered: count(tlds),
        outcomes,
        approximate_names: names.saturating_add(50) / 100 * 100,
        before_action: count(requests.iter().filter(|r| !r.retroactive)),
        after_action: count(requests.iter().filter(|r| r.retroactive)),
        average_business_days,
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn days_text(days: Option<u32>) -> String {
    match days {
        None => "N/A".to_owned(),
        Some(1) => "1 business day".to_owned(),
        Some(days) => format!("{days} business days"),
    }
}

impl YearTable {
    /// The three published tables, in the wording of ICANN's "Summary Analysis of Requests":
    /// each a title and its rows, a row a label and one cell per year.
    pub fn tables(&self) -> Vec<FigureTable> {
        let years: Vec<&YearFigures> = self.years.values().collect();
        let row = |label: &'static str, cell: &dyn Fn(&YearFigures) -> String| {
            (label, years.iter().map(|y| cell(y)).collect::<Vec<_>>())
        };
        let mut issued = vec![
            row("Total number of requests received", &|y| {
                y.requests.to_string()
            }),
            row(
                "Number of generic top-level domains (gTLDs) covered by requests",
                &|y| y.tlds_covered.to_string(),
            ),
        ];
        for (label, outcome) in [
            ("Number of new waivers issued", DecisionKind::NewWaiver),
            ("Number of waivers not granted", DecisionKind::NotGranted),
            (
                "Number of requests deemed in scope of an existing waiver",
                DecisionKind::InScopeOfExisting,
            ),
            (
                "Number of requests resulted in an update to an existing waiver",
                DecisionKind::UpdatedWaiver,
            ),
        ] {
            issued.push(row(label, &|y| y.count(outcome).to_string()));
        }
        let metrics = vec![
            row(
                "Approximate number of domain names subject to the request*",
                &|y| format!("{} domain names", thousands(y.approximate_names)),
            ),
            row(
                "Number of requests made in advance of action taken on the domain names",
                &|y| y.before_action.to_string(),
            ),
            row(
                "Number of requests made after action was taken on the domain names",
                &|y| y.after_action.to_string(),
            ),
        ];
        let response = [
            ("Issuance of the waiver", DecisionKind::NewWaiver),
            (
                "Notification the waiver is not granted",
                DecisionKind::NotGranted,
            ),
            (
                "Notification the request in scope of an existing waiver",
                DecisionKind::InScopeOfExisting,
            ),
            (
                "Issuance of updated existing waiver",
                DecisionKind::UpdatedWaiver,
            ),
        ]
        .into_iter()
        .map(|(label, outcome)| {
            row(label, &|y| {
                days_text(y.average_business_days.get(&outcome).copied())
            })
        })
        .collect();
        vec![
            FigureTable {
                title: "Waivers Issued",
                rows: issued,
            },
            FigureTable {
                title: "Metrics",
                rows: metrics,
            },
            FigureTable {
                title: "Waiver Response",
                rows: response,
            },
        ]
    }

    /// The three published tables as text, one row a line, columns separated by a space.
    pub fn render(&self) -> String {
        let header: String = self.years.keys().map(|year| format!(" {year}")).collect();
        let mut out = String::new();
        for (n, table) in self.tables().into_iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            out.push_str(&format!("{}{header}\n", table.title));
            for (label, cells) in table.rows {
                let cells: String = cells.iter().map(|cell| format!(" {cell}")).collect();
                out.push_str(&format!("{label}{cells}\n"));
            }
        }
        out
    }

    /// The figures as open-data CSV: one row per year.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "year,requests,tlds_covered,new_waivers,not_granted,in_scope_of_existing,\
             updated_waivers,approximate_names,before_action,after_action,\
             days_new_waiver,days_not_granted,days_in_scope_of_existing,days_updated_waiver\n",
        );
        for (year, y) in &self.years {
            let days = |outcome| {
                y.average_business_days
                    .get(&outcome)
                    .map_or(String::new(), |days: &u32| days.to_string())
            };
            out.push_str(&format!(
                "{year},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                y.requests,
                y.tlds_covered,
                y.count(DecisionKind::NewWaiver),
                y.count(DecisionKind::NotGranted),
                y.count(DecisionKind::InScopeOfExisting),
                y.count(DecisionKind::UpdatedWaiver),
                y.approximate_names,
                y.before_action,
                y.after_action,
                days(DecisionKind::NewWaiver),
                days(DecisionKind::NotGranted),
                days(DecisionKind::InScopeOfExisting),
                days(DecisionKind::UpdatedWaiver),
            ));
        }
        out
    }
}

impl fmt::Display for YearTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn name(text: &str) -> DomainName {
        DomainName::parse(text).unwrap()
    }

    fn names(texts: &[&str]) -> Vec<DomainName> {
        texts.iter().map(|text| name(text)).collect()
    }

    /// A complete registry request for a DGA sinkhole under `alpha`.
    fn draft() -> SrwRequestDraft {
        SrwRequestDraft {
            incident_type: Some(IncidentType::MaliciousDnsActivity),
            description: Some("botnet C2 generated by a DGA".to_owned()),
            tlds: names(&["alpha"]),
            names: Vec::new(),
            name_count: Some(1200),
            dga_family: Some("conficker.c".to_owned()),
            dga_dates: Some(DateRange {
                first: date(2026, 12, 1),
                last: date(2026, 12, 31),
            }),
            action_taken: Some(false),
            response: Some("create the names at our internal registrar, sinkholed".to_owned()),
            urgency: Some(Urgency::High),
            expedited: Some(true),
            provisions: vec!["Specification 9 (Registry Operator Code of Conduct)".to_owned()],
            period: Some(Period {
                start: at("2026-12-01T00:00:00Z"),
                end: at("2027-01-01T00:00:00Z"),
            }),
            contacts: vec![Contact {
                name: "Abuse desk".to_owned(),
                email: "abuse@nic.alpha".to_owned(),
            }],
            attachments: vec!["evidence-1".to_owned()],
            case_ids: vec![42],
        }
    }

    fn fields(problems: &[&'static str]) -> Vec<&'static str> {
        problems
            .iter()
            .map(|problem| problem.split_once(':').map_or(*problem, |(field, _)| field))
            .collect()
    }

    #[test]
    fn completeness_names_every_missing_or_invalid_field() {
        let check = |edit: &dyn Fn(&mut SrwRequestDraft), kind: RequesterKind, expect: &[&str]| {
            let mut request = draft();
            edit(&mut request);
            let problems = missing_fields(&request, kind);
            assert_eq!(fields(&problems), expect, "{problems:?}");
        };
        use RequesterKind::{Registrar, Registry};
        check(&|_| {}, Registry, &[]);
        check(&|_| {}, Registrar, &[]);
        check(
            &|d| *d = SrwRequestDraft::default(),
            Registry,
            &[
                "incident_type",
                "description",
                "tlds",
                "names",
                "action_taken",
                "response",
                "urgency",
                "expedited",
                "provisions",
                "period",
                "contacts",
            ],
        );
        check(
            &|d| d.incident_type = Some(IncidentType::CourtOrder),
            Registry,
            &["incident_type"],
        );
        check(
            &|d| d.incident_type = Some(IncidentType::CourtOrder),
            Registrar,
            &[],
        );
        check(
            &|d| d.incident_type = Some(IncidentType::RegistrationThreat),
            Registry,
            &["incident_type"],
        );
        check(
            &|d| d.description = Some("  ".to_owned()),
            Registry,
            &["description"],
        );
        // A list instead of a count; a list and a count that agree; a count that does not.
        check(
            &|d| {
                d.name_count = None;
                d.names = names(&["a1.alpha", "b2.alpha"]);
            },
            Registry,
            &[],
        );
        check(
            &|d| {
                d.name_count = Some(2);
                d.names = names(&["a1.alpha", "b2.alpha"]);
            },
            Registry,
            &[],
        );
        check(
            &|d| d.names = names(&["a1.alpha", "b2.alpha"]),
            Registry,
            &["name_count"],
        );
        check(&|d| d.name_count = Some(0), Registry, &["name_count"]);
        check(
            &|d| {
                d.name_count = None;
                d.names = names(&["a1.alpha", "b2.bravo"]);
            },
            Registry,
            &["names"],
        );
        check(&|d| d.dga_dates = None, Registry, &["dga_dates"]);
        check(&|d| d.dga_family = None, Registry, &["dga_family"]);
        check(
            &|d| {
                d.dga_family = None;
                d.dga_dates = None;
            },
            Registry,
            &[],
        );
        check(
            &|d| {
                d.dga_dates = Some(DateRange {
                    first: date(2026, 12, 31),
                    last: date(2026, 12, 1),
                })
            },
            Registry,
            &["dga_dates"],
        );
        check(
            &|d| {
                d.period = Some(Period {
                    start: at("2027-01-01T00:00:00Z"),
                    end: at("2027-01-01T00:00:00Z"),
                })
            },
            Registry,
            &["period"],
        );
        check(
            &|d| d.provisions = vec![" ".to_owned()],
            Registry,
            &["provisions"],
        );
        check(
            &|d| d.contacts[0].email = "nobody".to_owned(),
            Registry,
            &["contacts"],
        );
        check(
            &|d| d.attachments.push(String::new()),
            Registry,
            &["attachments"],
        );
        check(
            &|d| {
                d.attachments.clear();
                d.case_ids.clear();
            },
            Registry,
            &[],
        );
    }

    #[test]
    fn the_clock_starts_at_the_complete_submission() {
        let now = at("2026-12-01T18:00:00Z");
        let mut incomplete = draft();
        incomplete.action_taken = None;
        incomplete.urgency = None;
        assert_eq!(
            fields(&complete(incomplete, RequesterKind::Registry, now).unwrap_err()),
            ["action_taken", "urgency"]
        );
        let request = complete(draft(), RequesterKind::Registry, now).unwrap();
        assert_eq!(request.submitted_at, now);
        assert!(!request.retroactive);
        assert_eq!(request.names, Names::Counted(1200));
        assert_eq!(
            request.dga.as_ref().map(|dga| dga.family.as_str()),
            Some("conficker.c")
        );
        let mut taken = draft();
        taken.action_taken = Some(true);
        assert!(
            complete(taken, RequesterKind::Registry, now)
                .unwrap()
                .retroactive
        );
    }

    #[test]
    fn spellings_and_incident_types_per_requester() {
        assert_eq!("court_order".parse(), Ok(IncidentType::CourtOrder));
        let error = "flood".parse::<IncidentType>().unwrap_err().to_string();
        assert!(error.contains("incident type \"flood\""), "{error}");
        let allowed = |kind| {
            IncidentType::ALL
                .iter()
                .filter(|incident| incident.allowed_for(kind))
                .count()
        };
        assert_eq!(allowed(RequesterKind::Registry), 3);
        assert_eq!(allowed(RequesterKind::Registrar), 5);
        assert_eq!(
            serde_json::to_string(&Urgency::Critical).unwrap(),
            "\"critical\""
        );
    }

    #[test]
    fn review_steps_come_in_order() {
        use ReviewState as S;
        use ReviewStep as T;
        let check = |state: S, step: T, expect: Result<S, &str>| {
            let got = state.after(step).map_err(|refused| refused.reason);
            assert_eq!(got, expect, "{state} + {step}");
        };
        check(S::Submitted, T::AssignReviewer, Ok(S::Assigned));
        check(S::Submitted, T::Decide, Err("assign a reviewer first"));
        check(
            S::Assigned,
            T::Decide,
            Err("contact the requester to confirm the incident first"),
        );
        check(
            S::Assigned,
            T::AskInformation,
            Err("contact the requester to confirm the incident first"),
        );
        check(S::Assigned, T::ConfirmIncident, Ok(S::Contacted));
        check(
            S::Contacted,
            T::AssignReviewer,
            Err("one named reviewer keeps contact for the incident"),
        );
        check(
            S::Contacted,
            T::AnswerInformation,
            Err("no information was asked for"),
        );
        check(S::Contacted, T::Decide, Err("discuss the request first"));
        check(S::Contacted, T::AskInformation, Ok(S::InformationAsked));
        check(
            S::InformationAsked,
            T::AskInformation,
            Err("information was asked for and not yet given"),
        );
        check(
            S::InformationAsked,
            T::Discuss,
            Err("wait for the information asked for"),
        );
        check(
            S::InformationAsked,
            T::Decide,
            Err("wait for the information asked for"),
        );
        check(
            S::InformationAsked,
            T::AnswerInformation,
            Ok(S::InformationAnswered),
        );
        check(
            S::InformationAnswered,
            T::AnswerInformation,
            Err("no information was asked for"),
        );
        check(
            S::InformationAnswered,
            T::AskInformation,
            Ok(S::InformationAsked),
        );
        check(S::InformationAnswered, T::Discuss, Ok(S::Discussed));
        check(S::Contacted, T::Discuss, Ok(S::Discussed));
        check(S::Discussed, T::Discuss, Ok(S::Discussed));
        check(S::Discussed, T::AskInformation, Ok(S::InformationAsked));
        check(S::Discussed, T::Decide, Ok(S::Decided));
        check(
            S::Discussed,
            T::ConfirmIncident,
            Err("the incident is already confirmed"),
        );
        for step in ReviewStep::ALL {
            check(S::Decided, *step, Err("the request is decided"));
        }
    }

    /// The reviewer's calendar with the US holidays ICANN observes in 2019, 2020 and 2026.
    fn la() -> Calendar {
        reviewer_calendar([
            date(2019, 1, 1),
            date(2019, 1, 21),
            date(2019, 2, 18),
            date(2019, 5, 27),
            date(2019, 7, 4),
            date(2019, 9, 2),
            date(2019, 11, 28),
            date(2019, 11, 29),
            date(2019, 12, 25),
            date(2020, 1, 1),
            date(2020, 1, 20),
            date(2020, 2, 17),
            date(2020, 5, 25),
            date(2020, 7, 3),
            date(2020, 9, 7),
            date(2020, 11, 26),
            date(2020, 11, 27),
            date(2020, 12, 25),
            date(2026, 11, 26),
            date(2026, 11, 27),
            date(2026, 12, 25),
        ])
        .unwrap()
    }

    fn review_from(submitted: &str, retroactive: bool) -> Review {
        let mut request = complete(draft(), RequesterKind::Registry, at(submitted)).unwrap();
        request.retroactive = retroactive;
        Review::start(&request)
    }

    fn run(review: Review, steps: &[(ReviewCommand, &str)]) -> Review {
        steps.iter().fold(review, |review, (command, when)| {
            review.apply(command.clone(), at(when)).unwrap()
        })
    }

    #[test]
    fn deadlines_count_business_days_in_los_angeles() {
        let calendar = la();
        let check = |review: &Review, expect: &[(ReviewClock, &str)]| {
            let got: Vec<(ReviewClock, Timestamp)> = deadlines(review, &calendar)
                .into_iter()
                .map(|(clock, deadline)| (clock, deadline.due))
                .collect();
            let expect: Vec<(ReviewClock, Timestamp)> = expect
                .iter()
                .map(|(clock, due)| (*clock, at(due)))
                .collect();
            assert_eq!(got, expect);
        };
        use ReviewClock::{Answer, Confirm, Discuss};
        // Wednesday 25 November 2026, 10:00 PST; Thanksgiving and the Friday after are holidays.
        let wednesday = "2026-11-25T18:00:00Z";
        check(
            &review_from(wednesday, false),
            &[
                (Confirm, "2026-11-30T18:00:00Z"),
                (Discuss, "2026-12-01T18:00:00Z"),
                (Answer, "2026-12-02T18:00:00Z"),
            ],
        );
        // Retroactive: ten business days.
        check(
            &review_from(wednesday, true),
            &[
                (Confirm, "2026-11-30T18:00:00Z"),
                (Discuss, "2026-12-01T18:00:00Z"),
                (Answer, "2026-12-11T18:00:00Z"),
            ],
        );
        // Submitted on a Saturday: counted from Monday 00:00 PST, so due at the end of Monday.
        check(
            &review_from("2026-11-28T20:00:00Z", false),
            &[
                (Confirm, "2026-12-01T08:00:00Z"),
                (Discuss, "2026-12-02T08:00:00Z"),
                (Answer, "2026-12-03T08:00:00Z"),
            ],
        );
        // Across the end of daylight saving time (1 November 2026): 09:00 PDT Friday, 09:00
        // PST Monday.
        check(
            &review_from("2026-10-30T16:00:00Z", false),
            &[
                (Confirm, "2026-11-02T17:00:00Z"),
                (Discuss, "2026-11-03T17:00:00Z"),
                (Answer, "2026-11-04T17:00:00Z"),
            ],
        );
        // Information asked for: no discussion clock until it arrives, then two business days
        // from its arrival (Friday 4 December 16:00 PST, already Saturday in UTC).
        let monday = run(
            review_from("2026-11-30T18:00:00Z", false),
            &[
                (
                    ReviewCommand::AssignReviewer("R. Viewer".to_owned()),
                    "2026-11-30T19:00:00Z",
                ),
                (ReviewCommand::ConfirmIncident, "2026-11-30T20:00:00Z"),
                (ReviewCommand::AskInformation, "2026-12-01T17:00:00Z"),
            ],
        );
        check(
            &monday,
            &[
                (Confirm, "2026-12-01T18:00:00Z"),
                (Answer, "2026-12-03T18:00:00Z"),
            ],
        );
        let answered = run(
            monday,
            &[(ReviewCommand::AnswerInformation, "2026-12-05T00:00:00Z")],
        );
        check(
            &answered,
            &[
                (Confirm, "2026-12-01T18:00:00Z"),
                (Discuss, "2026-12-09T00:00:00Z"),
                (Answer, "2026-12-03T18:00:00Z"),
            ],
        );
        assert_eq!(answered.done_at(Confirm), Some(at("2026-11-30T20:00:00Z")));
        assert_eq!(answered.done_at(Discuss), None);
        // Christmas Friday: a request on Thursday 24 December is confirmed by Monday 28th.
        check(
            &review_from("2026-12-24T17:00:00Z", false),
            &[
                (Confirm, "2026-12-28T17:00:00Z"),
                (Discuss, "2026-12-29T17:00:00Z"),
                (Answer, "2026-12-30T17:00:00Z"),
            ],
        );
    }

    #[test]
    fn a_review_refuses_blank_reviewers_and_steps_back_in_time() {
        let review = review_from("2026-11-30T18:00:00Z", false);
        let refused = review
            .apply(
                ReviewCommand::AssignReviewer(" ".to_owned()),
                at("2026-11-30T19:00:00Z"),
            )
            .unwrap_err();
        assert_eq!(refused.reason, "name the reviewer");
        let refused = review
            .apply(
                ReviewCommand::AssignReviewer("R. Viewer".to_owned()),
                at("2026-11-30T17:00:00Z"),
            )
            .unwrap_err();
        assert_eq!(refused.reason, "its time is before the previous step");
        let discussed = run(
            review.clone(),
            &[
                (
                    ReviewCommand::AssignReviewer("R. Viewer".to_owned()),
                    "2026-11-30T19:00:00Z",
                ),
                (ReviewCommand::ConfirmIncident, "2026-11-30T20:00:00Z"),
                (ReviewCommand::Discuss, "2026-12-01T17:00:00Z"),
            ],
        );
        let unexplained = Decision::NotGranted {
            reason: " ".to_owned(),
        };
        let refused = discussed
            .apply(
                ReviewCommand::Decide(unexplained),
                at("2026-12-02T17:00:00Z"),
            )
            .unwrap_err();
        assert_eq!(refused.reason, "say why the waiver is not granted");
        let refused = review
            .apply(ReviewCommand::AnswerInformation, at("2026-11-30T19:00:00Z"))
            .unwrap_err();
        assert!(
            refused.to_string().contains("cannot take the step"),
            "{refused}"
        );
        let decided = run(
            review,
            &[
                (
                    ReviewCommand::AssignReviewer("R. Viewer".to_owned()),
                    "2026-11-30T19:00:00Z",
                ),
                (ReviewCommand::ConfirmIncident, "2026-11-30T20:00:00Z"),
                (ReviewCommand::Discuss, "2026-12-01T17:00:00Z"),
                (
                    ReviewCommand::Decide(Decision::NewWaiver),
                    "2026-12-02T17:00:00Z",
                ),
            ],
        );
        assert_eq!(decided.state, ReviewState::Decided);
        assert_eq!(decided.reviewer.as_deref(), Some("R. Viewer"));
        assert_eq!(
            decided.done_at(ReviewClock::Answer),
            Some(at("2026-12-02T17:00:00Z"))
        );
        assert_eq!(
            decided.decision.map(|d| d.outcome()),
            Some(DecisionKind::NewWaiver)
        );
    }

    fn terms(coverage: Coverage) -> WaiverTerms {
        WaiverTerms {
            tlds: names(&["alpha", "bravo"]),
            provisions: vec!["Specification 9".to_owned()],
            actions: vec![ActionKind::Create, ActionKind::Block],
            coverage,
            valid: Period {
                start: at("2026-12-01T00:00:00Z"),
                end: at("2027-01-01T00:00:00Z"),
            },
            conditions: vec!["sinkhole data shared with the CERT".to_owned()],
        }
    }

    #[test]
    fn waivers_cover_their_names_actions_and_period() {
        let listed = Waiver::issue(
            7,
            3,
            terms(Coverage::Names(
                names(&["c2.alpha", "c3.bravo"]).into_iter().collect(),
            )),
        )
        .unwrap();
        let dga = Waiver::issue(
            8,
            3,
            terms(Coverage::Dga(Dga {
                family: "necurs".to_owned(),
                dates: DateRange {
                    first: date(2026, 12, 10),
                    last: date(2026, 12, 20),
                },
            })),
        )
        .unwrap();
        let check =
            |waiver: &Waiver, domain: &str, action, when: &str, expect: Result<(), &str>| {
                let got = waiver
                    .covers(&name(domain), action, at(when))
                    .map_err(|why| why.to_string());
                assert_eq!(
                    got,
                    expect.map_err(str::to_owned),
                    "{domain} {action:?} {when}"
                );
            };
        use ActionKind::{Block, Create, Transfer};
        let mid = "2026-12-15T12:00:00Z";
        check(&listed, "c2.alpha", Create, mid, Ok(()));
        check(&listed, "c3.bravo", Block, mid, Ok(()));
        check(
            &listed,
            "c2.alpha",
            Transfer,
            mid,
            Err("the waiver does not permit transfer"),
        );
        check(
            &listed,
            "c4.alpha",
            Create,
            mid,
            Err("c4.alpha is not among the waiver's names"),
        );
        check(
            &listed,
            "c2.charlie",
            Create,
            mid,
            Err("c2.charlie is not under any TLD of the waiver"),
        );
        check(
            &listed,
            "c2.alpha",
            Create,
            "2026-11-30T23:59:59Z",
            Err("the waiver is valid only from 2026-12-01T00:00:00Z"),
        );
        check(
            &listed,
            "c2.alpha",
            Create,
            "2027-01-01T00:00:00Z",
            Err("the waiver expired at 2027-01-01T00:00:00Z"),
        );
        check(&dga, "qxkzvbwp.bravo", Create, mid, Ok(()));
        check(
            &dga,
            "qxkzvbwp.bravo",
            Create,
            "2026-12-20T23:59:59Z",
            Ok(()),
        );
        check(
            &dga,
            "qxkzvbwp.bravo",
            Create,
            "2026-12-21T00:00:00Z",
            Err("2026-12-21 is outside the days of the waiver's DGA family"),
        );
        // An update is a new version of the same waiver.
        let mut wider = listed.terms.clone();
        wider.actions.push(Transfer);
        let updated = listed.update(wider).unwrap();
        assert_eq!((updated.id, updated.version, updated.holder_org), (7, 2, 3));
        check(&updated, "c2.alpha", Transfer, mid, Ok(()));
        // The engine looks at the latest version of each of the holder's waivers.
        let all = [listed.clone(), dga.clone(), updated.clone()];
        let found = covering(&all, 3, &name("c2.alpha"), Transfer, at(mid));
        assert_eq!(found.map(|w| (w.id, w.version)), Ok((7, 2)));
        let refused = covering(&all, 3, &name("c9.alpha"), Transfer, at(mid)).unwrap_err();
        assert_eq!(
            refused,
            [
                (7, NotCovered::NotListed(name("c9.alpha"))),
                (8, NotCovered::Action(Transfer))
            ]
        );
        assert_eq!(
            covering(&all, 4, &name("c2.alpha"), Create, at(mid)).unwrap_err(),
            []
        );
        assert!(needs_waiver(Create) && needs_waiver(Transfer) && !needs_waiver(Block));
        let mut broken = listed.terms.clone();
        broken.actions.clear();
        broken.coverage = Coverage::Names(names(&["c2.charlie"]).into_iter().collect());
        assert_eq!(
            fields(&listed.update(broken).unwrap_err()),
            ["actions", "coverage"]
        );
    }

    #[test]
    fn only_the_approved_redacted_text_is_published() {
        let mut report = AfterActionReport::default();
        report
            .write(
                Section::Timeline,
                "Day 1: LEA contact J. Smith called.".to_owned(),
            )
            .unwrap();
        report
            .write(
                Section::Lessons,
                "Pre-register the DGA names earlier.".to_owned(),
            )
            .unwrap();
        let mark = |report: &mut AfterActionReport, section, range: Range<usize>, by| {
            report.redact(Redaction {
                section,
                range,
                reason: "personal data".to_owned(),
                by,
            })
        };
        let check = |report: &AfterActionReport, expect: Result<&str, &[Party]>| {
            let got = published_text(report).map_err(|refused| refused.missing);
            assert_eq!(got, expect.map(str::to_owned).map_err(<[Party]>::to_vec));
        };
        check(&report, Err(&[Party::Reviewer, Party::Requester]));
        // "J. Smith" and an overlapping mark from the other side.
        mark(&mut report, Section::Timeline, 19..27, Party::Requester).unwrap();
        mark(&mut report, Section::Timeline, 18..22, Party::Reviewer).unwrap();
        report.approve(Party::Reviewer);
        check(&report, Err(&[Party::Requester]));
        report.approve(Party::Requester);
        check(
            &report,
            Ok(
                "## Timeline\n\nDay 1: LEA contact[redacted] called.\n\n## Lessons\n\n\
                Pre-register the DGA names earlier.\n",
            ),
        );
        // A new mark withdraws both approvals.
        mark(&mut report, Section::Lessons, 0..12, Party::Reviewer).unwrap();
        check(&report, Err(&[Party::Reviewer, Party::Requester]));
        report.approve(Party::Requester);
        report.approve(Party::Reviewer);
        check(
            &report,
            Ok(
                "## Timeline\n\nDay 1: LEA contact[redacted] called.\n\n## Lessons\n\n\
                [redacted] the DGA names earlier.\n",
            ),
        );
        // Bad ranges, a missing reason, rewriting a redacted section.
        report.write(Section::Outcome, "Über".to_owned()).unwrap();
        assert!(mark(&mut report, Section::Outcome, 0..1, Party::Reviewer).is_err());
        assert!(mark(&mut report, Section::Outcome, 2..2, Party::Reviewer).is_err());
        assert!(mark(&mut report, Section::Outcome, 2..9, Party::Reviewer).is_err());
        assert!(mark(&mut report, Section::Actions, 0..1, Party::Reviewer).is_err());
        let no_reason = report.redact(Redaction {
            section: Section::Outcome,
            range: 0..2,
            reason: " ".to_owned(),
            by: Party::Requester,
        });
        assert_eq!(no_reason, Err(ReportError::NoReason));
        assert_eq!(
            report.write(Section::Timeline, "rewritten".to_owned()),
            Err(ReportError::SectionRedacted(Section::Timeline))
        );
        assert!(report.unredact(0).is_some());
        assert!(!report.is_approved_by(Party::Reviewer));
    }

    /// One request of the published years, taken through the whole process: drafted,
    /// completed, reviewed and answered.
    struct Past {
        submitted: &'static str,
        answered: &'static str,
        tlds: &'static [&'static str],
        names: u64,
        retroactive: bool,
        decision: Decision,
    }

    fn closed(past: &Past) -> ClosedRequest {
        let tlds = names(past.tlds);
        let mut request = draft();
        request.tlds = tlds.clone();
        request.dga_family = None;
        request.dga_dates = None;
        // One request in each year lists its names; the others count them.
        if past.names < 300 {
            request.name_count = None;
            request.names = (0..past.names)
                .map(|i| name(&format!("c2-{i:04}.{}", past.tlds[0])))
                .collect();
        } else {
            request.name_count = Some(past.names);
        }
        request.action_taken = Some(past.retroactive);
        let request = complete(request, RequesterKind::Registry, at(past.submitted)).unwrap();
        let submitted = request.submitted_at;
        let answered = at(past.answered);
        let minutes = |n: i64| submitted + jiff::SignedDuration::from_mins(n);
        let review = Review::start(&request);
        let review = [
            (
                ReviewCommand::AssignReviewer("R. Viewer".to_owned()),
                minutes(10),
            ),
            (ReviewCommand::ConfirmIncident, minutes(60)),
            (ReviewCommand::Discuss, minutes(120)),
            (ReviewCommand::Decide(past.decision.clone()), answered),
        ]
        .into_iter()
        .fold(review, |review, (command, when)| {
            review.apply(command, when).unwrap()
        });
        let decision = review.decision.clone().unwrap();
        ClosedRequest::new(&request, &decision, review.decided_at.unwrap())
    }

    /// Invented requests whose aggregates are ICANN's published 2019 and 2020 figures. Times
    /// are Los Angeles local (PST -08:00, PDT -07:00).
    fn published_years() -> Vec<ClosedRequest> {
        let scope = |waiver_id| Decision::InScopeOfExisting { waiver_id };
        [
            // 2019: eight gTLDs, one new waiver (2 business days), three in scope of it
            // (1, 1 and 2 business days: 1.33 rounds to 1), all before action, 5,580 names (to the nearest hundred:
            // 5,600; rounding down would give 5,500).
            Past {
                submitted: "2019-03-06T10:00:00-08:00",
                answered: "2019-03-08T15:00:00-08:00",
                tlds: &["alpha", "bravo", "charlie"],
                names: 2400,
                retroactive: false,
                decision: Decision::NewWaiver,
            },
            Past {
                // Wednesday before Independence Day, answered Friday: 1 business day.
                submitted: "2019-07-03T09:00:00-07:00",
                answered: "2019-07-05T14:00:00-07:00",
                tlds: &["alpha", "delta"],
                names: 1250,
                retroactive: false,
                decision: scope(1),
            },
            Past {
                // Friday afternoon, answered Monday: 1 business day.
                submitted: "2019-09-27T15:00:00-07:00",
                answered: "2019-09-30T11:00:00-07:00",
                tlds: &["echo", "foxtrot", "golf"],
                names: 1380,
                retroactive: false,
                decision: scope(1),
            },
            Past {
                // Tuesday before Thanksgiving, answered the Monday after: 2 business days.
                submitted: "2019-11-26T16:00:00-08:00",
                answered: "2019-12-02T10:00:00-08:00",
                tlds: &["golf", "hotel"],
                names: 550,
                retroactive: false,
                decision: scope(1),
            },
            // 2020: six gTLDs, four new waivers (4, 3, 5 and 3 business days: 3.75 rounds to
            // 4), one after action, 1,617 names (1,600; rounding up would give 1,700).
            Past {
                submitted: "2020-02-10T09:00:00-08:00",
                answered: "2020-02-14T17:00:00-08:00",
                tlds: &["alpha", "bravo"],
                names: 640,
                retroactive: false,
                decision: Decision::NewWaiver,
            },
            Past {
                submitted: "2020-04-02T13:00:00-07:00",
                answered: "2020-04-07T09:00:00-07:00",
                tlds: &["charlie"],
                names: 310,
                retroactive: false,
                decision: Decision::NewWaiver,
            },
            Past {
                // Across the observed Independence Day (Friday 3 July): 5 business days.
                submitted: "2020-07-01T11:00:00-07:00",
                answered: "2020-07-09T16:00:00-07:00",
                tlds: &["delta", "echo"],
                names: 455,
                retroactive: false,
                decision: Decision::NewWaiver,
            },
            Past {
                submitted: "2020-11-19T08:30:00-08:00",
                answered: "2020-11-24T12:00:00-08:00",
                tlds: &["echo", "foxtrot"],
                names: 212,
                retroactive: true,
                decision: Decision::NewWaiver,
            },
        ]
        .iter()
        .map(closed)
        .collect()
    }

    /// The three tables of ICANN's "Summary Analysis of Requests: 2019-2020", as published.
    const PUBLISHED: &str = "\
Waivers Issued 2019 2020
Total number of requests received 4 4
Number of generic top-level domains (gTLDs) covered by requests 8 6
Number of new waivers issued 1 4
Number of waivers not granted 0 0
Number of requests deemed in scope of an existing waiver 3 0
Number of requests resulted in an update to an existing waiver 0 0

Metrics 2019 2020
Approximate number of domain names subject to the request* 5,600 domain names 1,600 domain names
Number of requests made in advance of action taken on the domain names 4 3
Number of requests made after action was taken on the domain names 0 1

Waiver Response 2019 2020
Issuance of the waiver 2 business days 4 business days
Notification the waiver is not granted N/A N/A
Notification the request in scope of an existing waiver 1 business day N/A
Issuance of updated existing waiver N/A N/A
";

    #[test]
    fn the_published_2019_and_2020_tables_are_reproduced() {
        let table = yearly_figures(&published_years(), &la());
        assert_eq!(table.render(), PUBLISHED);
        let check = |year: i16, expect: YearFigures| {
            assert_eq!(table.years.get(&year), Some(&expect), "{year}");
        };
        check(
            2019,
            YearFigures {
                requests: 4,
                tlds_covered: 8,
                outcomes: [
                    (DecisionKind::NewWaiver, 1),
                    (DecisionKind::InScopeOfExisting, 3),
                ]
                .into(),
                approximate_names: 5600,
                before_action: 4,
                after_action: 0,
                average_business_days: [
                    (DecisionKind::NewWaiver, 2),
                    (DecisionKind::InScopeOfExisting, 1),
                ]
                .into(),
            },
        );
        check(
            2020,
            YearFigures {
                requests: 4,
                tlds_covered: 6,
                outcomes: [(DecisionKind::NewWaiver, 4)].into(),
                approximate_names: 1600,
                before_action: 3,
                after_action: 1,
                average_business_days: [(DecisionKind::NewWaiver, 4)].into(),
            },
        );
        assert_eq!(
            table.to_csv().lines().skip(1).collect::<Vec<_>>(),
            [
                "2019,4,8,1,0,3,0,5600,4,0,2,,1,",
                "2020,4,6,4,0,0,0,1600,3,1,4,,,"
            ]
        );
    }

    #[test]
    fn averages_round_half_up_and_years_follow_the_reviewer_zone() {
        let calendar = la();
        let request = |submitted: &str, answered: &str, outcome| ClosedRequest {
            submitted_at: at(submitted),
            answered_at: at(answered),
            outcome,
            tlds: names(&["alpha"]),
            name_count: 49,
            retroactive: false,
        };
        // New Year's Eve 20:00 PST is already 2021 in UTC but 2020 for the reviewer; answered
        // Monday 4 January 2021 after the holiday: 1 business day. The other takes 2: 1.5 → 2.
        let table = yearly_figures(
            &[
                request(
                    "2021-01-01T04:00:00Z",
                    "2021-01-04T18:00:00Z",
                    DecisionKind::NotGranted,
                ),
                request(
                    "2020-12-01T18:00:00Z",
                    "2020-12-03T18:00:00Z",
                    DecisionKind::NotGranted,
                ),
            ],
            &calendar,
        );
        let year = &table.years[&2020];
        assert_eq!(table.years.len(), 1);
        assert_eq!(year.average_business_days[&DecisionKind::NotGranted], 2);
        assert_eq!(year.approximate_names, 100);
        assert_eq!(year.tlds_covered, 1);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn reviewers_are_reminded_then_a_missed_clock_is_recorded_once() {
        let calendar = la();
        // Monday 2 December 2019, 10:00 in Los Angeles: confirm by Tuesday 10:00.
        let request = complete(draft(), RequesterKind::Registry, at("2019-12-02T18:00:00Z"));
        let review = Review::start(&request.unwrap());
        let mut marks = BTreeMap::new();
        assert_eq!(
            due_marks(&review, &calendar, &marks, at("2019-12-03T12:00:00Z")),
            []
        );
        let soon = due_marks(&review, &calendar, &marks, at("2019-12-03T15:00:00Z"));
        assert!(
            matches!(soon.as_slice(), [ClockMark::Remind(ReviewClock::Confirm, d)]
                if d.due == at("2019-12-03T18:00:00Z")),
            "{soon:?}"
        );
        marks.insert(
            ReviewClock::Confirm,
            ClockMarks {
                reminded_at: Some(at("2019-12-03T15:00:00Z")),
                breached_at: None,
            },
        );
        assert_eq!(
            due_marks(&review, &calendar, &marks, at("2019-12-03T16:00:00Z")),
            []
        );
        let late = due_marks(&review, &calendar, &marks, at("2019-12-03T18:00:01Z"));
        assert!(
            matches!(
                late.as_slice(),
                [ClockMark::Breach(ReviewClock::Confirm, _)]
            ),
            "{late:?}"
        );
        // Once contact is made the confirm clock earns nothing more; a decision ends them all.
        let review = review
            .apply(
                ReviewCommand::AssignReviewer("R. Viewer".to_owned()),
                at("2019-12-03T19:00:00Z"),
            )
            .unwrap()
            .apply(ReviewCommand::ConfirmIncident, at("2019-12-03T19:30:00Z"))
            .unwrap();
        let later = at("2019-12-04T16:00:00Z");
        assert!(
            due_marks(&review, &calendar, &marks, later)
                .iter()
                .all(|mark| !matches!(
                    mark,
                    ClockMark::Breach(ReviewClock::Confirm, _)
                        | ClockMark::Remind(ReviewClock::Confirm, _)
                ))
        );
        let review = review
            .apply(ReviewCommand::Discuss, at("2019-12-04T17:00:00Z"))
            .unwrap()
            .apply(
                ReviewCommand::Decide(Decision::NewWaiver),
                at("2019-12-04T18:00:00Z"),
            )
            .unwrap();
        assert_eq!(
            due_marks(
                &review,
                &calendar,
                &BTreeMap::new(),
                at("2020-01-30T00:00:00Z")
            ),
            []
        );
    }

    #[test]
    fn two_letter_tlds_are_country_codes_and_need_no_waiver() {
        assert!(!is_generic_tld("be"));
        assert!(is_generic_tld("example"));
        assert!(is_generic_tld("xn--p1ai"));
        assert!(is_generic_tld("demo"));
    }
}
