//! Holdfast's business core: checked value types and pure rules. No I/O, no clock, no async.

pub mod action;
pub mod audit;
pub mod calendar;
pub mod case;
pub mod name;
pub mod org;
pub mod registry;
pub mod srw;
pub mod stats;
pub mod status;

pub use action::{ActionKind, ActionParams, Effect, NameState, Outcome, Registration, Replaced};
pub use calendar::{Calendar, CalendarError, Deadline, DeadlineKind, DeadlineState};
pub use case::{
    CaseState, CaseStep, Channel, Clock, ClockStanding, ClockTargets, ClockTimes, MessageEvent,
    Priority, ResponsibleParty, SourceClass, ThreatType, UnknownValue,
};
pub use name::{DomainName, NameError};
pub use registry::{Delegation, DsRecord, Glue, Soa};
pub use srw::{
    AfterActionReport, ClosedRequest, Decision, DecisionKind, IncidentType, RequesterKind, Review,
    ReviewClock, ReviewState, ReviewStep, SrwRequestDraft, SubmittedRequest, Urgency, Waiver,
    WaiverTerms, YearTable,
};
pub use status::{EppStatus, EppStatusSet, Side, StatusError};
