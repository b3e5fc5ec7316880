//! The case desk's rules (SPEC A1–A3): threat types, sources, priorities, the life cycle of a case
//! and its clocks, as pure functions of the case and `now`.
//!
//! A case moves `new → acknowledged → assessed → action decided → mitigated → closed`, or ends as
//! `closed with no action`; [`CaseState::after`] says whether a step fits. Three clocks run on a
//! case: acknowledge (from the first report), assess (24 hours from the acknowledgment) and the
//! registrar's referral deadline. [`Clock::schedule`] computes when a clock is due and when staff
//! are reminded; a clock that passes its due time undone is a breach, recorded and counted.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{Calendar, DeadlineKind};

/// Declares a closed enum with one wire spelling per variant: `ALL`, `as_str`, `FromStr`
/// (naming the accepted values on error), `Display` and serde in that spelling.
macro_rules! spelled {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(text: &str) -> Result<$name, UnknownValue> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| UnknownValue {
                        what: $what,
                        given: text.chars().take(64).collect(),
                        expected: $name::ALL.iter().map(|value| value.as_str()).collect(),
                    })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use spelled;

/// A value that is not one of an enumeration's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {given:?} is not one of {}", expected.join(", "))]
pub struct UnknownValue {
    /// What was being read, e.g. "threat type".
    pub what: &'static str,
    /// The text given (at most 64 characters of it).
    pub given: String,
    /// The accepted spellings.
    pub expected: Vec<&'static str>,
}

spelled! {
    /// What the reported abuse is: the DNS Abuse set plus child sexual abuse material and other.
    ThreatType, "threat type" {
        /// Malicious software distributed through the name.
        Malware = "malware",
        /// A botnet's command-and-control.
        BotnetCc = "botnet_cc",
        /// Phishing.
        Phishing = "phishing",
        /// Pharming.
        Pharming = "pharming",
        /// Spam that delivers one of the threats above.
        Spam = "spam",
        /// Child sexual abuse material.
        Csam = "csam",
        /// Anything else.
        Other = "other",
    }
}

spelled! {
    /// The class of a report's source: weight, not outcome.
    SourceClass, "source class" {
        /// Law enforcement, from an account an admin has verified.
        Lea = "lea",
        /// A source the registry recognises (a CERT, a security firm).
        Recognised = "recognised",
        /// Anyone else; still answered.
        Other = "other",
    }
}

spelled! {
    /// How a report reached the desk.
    Channel, "channel" {
        /// The JSON API or the command line, by a signed-in user.
        Api = "api",
        /// The public web form, without an account.
        WebForm = "web_form",
        /// E-mail to one of the desk's addresses.
        Email = "email",
    }
}

spelled! {
    /// A case's priority (SPEC A2).
    Priority, "priority" {
        /// Imminent threat to human life, critical infrastructure or child exploitation, or a
        /// significant threat of disruption to the DNS.
        High = "high",
        /// Everything else, handled under the anti-abuse policy.
        Standard = "standard",
    }
}

spelled! {
    /// Who should act on the abuse.
    ResponsibleParty, "responsible party" {
        /// The registrar or reseller (abusive registrations).
        Registrar = "registrar",
        /// The registrant or hosting provider (compromised sites).
        Registrant = "registrant",
        /// The registry itself (large threats across many registrars).
        Registry = "registry",
    }
}

spelled! {
    /// Where a case stands.
    CaseState, "case state" {
        /// Received, not yet acknowledged.
        New = "new",
        /// The reporters were told it was received.
        Acknowledged = "acknowledged",
        /// Priority, threat and responsible party decided; the course of action told.
        Assessed = "assessed",
        /// An action on the names was decided.
        ActionDecided = "action_decided",
        /// The decided action took effect.
        Mitigated = "mitigated",
        /// Done.
        Closed = "closed",
        /// Done without acting; the reporters were told why.
        ClosedNoAction = "closed_no_action",
    }
}

spelled! {
    /// A step staff (or the action engine) take on a case.
    CaseStep, "case step" {
        /// Tell the reporters the report was received.
        Acknowledge = "acknowledge",
        /// Record priority, threat, responsible party and course of action.
        Assess = "assess",
        /// An action was decided from the case.
        DecideAction = "decide_action",
        /// The decided action took effect.
        Mitigate = "mitigate",
        /// Close after acting.
        Close = "close",
        /// Close without acting (with the reason).
        CloseNoAction = "close_no_action",
    }
}

spelled! {
    /// A deadline running on a case.
    Clock, "clock" {
        /// Acknowledge receipt (registry's target, default one hour).
        Acknowledge = "acknowledge",
        /// Assessment and course of action, 24 hours from the acknowledgment.
        Assess = "assess",
        /// The registrar's answer to a referral (default two business days).
        Referral = "referral",
    }
}

spelled! {
    /// What a message of the desk is about: one template each.
    MessageEvent, "message event" {
        /// The report was received.
        Acknowledgment = "acknowledgment",
        /// The assessment and course of action.
        Assessment = "assessment",
        /// The registrar is asked to act.
        Referral = "referral",
        /// No action, and why.
        NoAction = "no_action",
        /// The case is closed.
        Closure = "closure",
        /// A deadline is near (to staff).
        Reminder = "reminder",
        /// A deadline passed (to staff).
        Breach = "breach",
        /// A reply arrived (to staff).
        ReplyAlert = "reply_alert",
    }
}

/// A step that does not fit the case's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a case that is {state} cannot take the step {step}")]
pub struct StepRefused {
    /// The case's state.
    pub state: CaseState,
    /// The step asked for.
    pub step: CaseStep,
}

impl CaseState {
    /// The state after `step`, or why the step does not fit. Assessing again and deciding more
    /// actions are allowed; nothing moves a closed case.
    pub fn after(self, step: CaseStep) -> Result<CaseState, StepRefused> {
        use CaseState as S;
        let next = match (step, self) {
            (CaseStep::Acknowledge, S::New) => S::Acknowledged,
            (CaseStep::Assess, S::Acknowledged | S::Assessed) => S::Assessed,
            (CaseStep::DecideAction, S::Assessed | S::ActionDecided | S::Mitigated) => {
                S::ActionDecided
            }
            (CaseStep::Mitigate, S::ActionDecided) => S::Mitigated,
            (CaseStep::Close, S::ActionDecided | S::Mitigated) => S::Closed,
            (CaseStep::CloseNoAction, S::Acknowledged | S::Assessed) => S::ClosedNoAction,
            _ => return Err(StepRefused { state: self, step }),
        };
        Ok(next)
    }

    /// Whether the case is over.
    pub fn is_closed(self) -> bool {
        matches!(self, CaseState::Closed | CaseState::ClosedNoAction)
    }
}

/// The registry's clock targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockTargets {
    /// Minutes from receipt to acknowledgment.
    pub acknowledge_minutes: u32,
    /// Hours from acknowledgment to assessment.
    pub assess_hours: u32,
    /// Business days a registrar has to answer a referral.
    pub referral_business_days: u32,
}

impl Default for ClockTargets {
    fn default() -> ClockTargets {
        ClockTargets {
            acknowledge_minutes: 60,
            assess_hours: 24,
            referral_business_days: 2,
        }
    }
}

/// When a clock falls due, and when staff are reminded of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockTimes {
    /// When the clock started.
    pub start: Timestamp,
    /// When it falls due; done at exactly this instant is on time.
    pub due: Timestamp,
    /// When staff are reminded: a quarter of the span before `due`, at most four hours before.
    pub remind_at: Timestamp,
}

/// The most a reminder comes before its deadline.
const MAX_WARNING: SignedDuration = SignedDuration::from_hours(4);

impl Clock {
    /// The clock's deadline kind under `targets`.
    pub fn kind(self, targets: &ClockTargets) -> DeadlineKind {
        match self {
            Clock::Acknowledge => DeadlineKind::Minutes(targets.acknowledge_minutes),
            Clock::Assess => DeadlineKind::Hours(targets.assess_hours),
            Clock::Referral => DeadlineKind::BusinessDays(targets.referral_business_days),
        }
    }

    /// When this clock, started at `start`, falls due on `calendar` and when to remind.
    pub fn schedule(
        self,
        calendar: &Calendar,
        start: Timestamp,
        targets: &ClockTargets,
    ) -> ClockTimes {
        let due = calendar.deadline(start, self.kind(targets)).due;
        ClockTimes::until(start, due)
    }
}

impl ClockTimes {
    /// A clock from `start` to a given `due` (e.g. a referral deadline chosen by the decider).
    pub fn until(start: Timestamp, due: Timestamp) -> ClockTimes {
        let span = due.duration_since(start).max(SignedDuration::ZERO);
        let warning = (span / 4).min(MAX_WARNING);
        let remind_at = due.checked_sub(warning).unwrap_or(due);
        ClockTimes {
            start,
            due,
            remind_at,
        }
    }
}

/// Where a clock stands, for display: done on time, done late, running, due soon, breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStanding {
    /// Done by its due time.
    Met,
    /// Done after its due time.
    MetLate,
    /// Running; not yet in the reminder window.
    Running,
    /// Running and in the reminder window.
    DueSoon,
    /// Running past its due time.
    Breached,
}

/// Where a clock due at `due`, reminded from `remind_at`, done at `done_at`, stands at `now`.
pub fn clock_standing(
    times: &ClockTimes,
    done_at: Option<Timestamp>,
    now: Timestamp,
) -> ClockStanding {
    match done_at {
        Some(done) if done <= times.due => ClockStanding::Met,
        Some(_) => ClockStanding::MetLate,
        None if now > times.due => ClockStanding::Breached,
        None if now >= times.remind_at => ClockStanding::DueSoon,
        None => ClockStanding::Running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Date, Weekday};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn calendar(holidays: &[Date]) -> Calendar {
        Calendar::new(
            "Europe/Brussels",
            Calendar::DEFAULT_WEEKEND,
            holidays.iter().copied(),
        )
        .unwrap()
    }

    #[test]
    fn spellings_round_trip_and_errors_name_the_choices() {
        for threat in ThreatType::ALL {
            assert_eq!(threat.as_str().parse::<ThreatType>(), Ok(*threat));
        }
        let error = "worm".parse::<ThreatType>().unwrap_err().to_string();
        assert!(error.contains("threat type \"worm\""), "{error}");
        assert!(error.contains("botnet_cc"), "{error}");
        let json: ThreatType = serde_json::from_str("\"phishing\"").unwrap();
        assert_eq!(json, ThreatType::Phishing);
        assert!(serde_json::from_str::<Priority>("\"urgent\"").is_err());
    }

    #[test]
    fn the_life_cycle_allows_only_its_steps() {
        use CaseState as S;
        use CaseStep as T;
        let check = |state: S, step: T, expect: Option<S>| {
            assert_eq!(state.after(step).ok(), expect, "{state} + {step}");
        };
        check(S::New, T::Acknowledge, Some(S::Acknowledged));
        check(S::New, T::Assess, None);
        check(S::New, T::CloseNoAction, None);
        check(S::Acknowledged, T::Acknowledge, None);
        check(S::Acknowledged, T::Assess, Some(S::Assessed));
        check(S::Assessed, T::Assess, Some(S::Assessed));
        check(S::Acknowledged, T::DecideAction, None);
        check(S::Assessed, T::DecideAction, Some(S::ActionDecided));
        check(S::ActionDecided, T::Mitigate, Some(S::Mitigated));
        check(S::Mitigated, T::DecideAction, Some(S::ActionDecided));
        check(S::Mitigated, T::Close, Some(S::Closed));
        check(S::Assessed, T::Close, None);
        check(S::Assessed, T::CloseNoAction, Some(S::ClosedNoAction));
        check(S::ActionDecided, T::CloseNoAction, None);
        for step in CaseStep::ALL {
            check(S::Closed, *step, None);
            check(S::ClosedNoAction, *step, None);
        }
    }

    #[test]
    fn acknowledgment_counts_elapsed_minutes_even_on_a_weekend() {
        // Saturday 23:30 Brussels time; the one-hour target ignores weekends.
        let start = at("2026-11-28T22:30:00Z");
        let times = Clock::Acknowledge.schedule(&calendar(&[]), start, &ClockTargets::default());
        assert_eq!(times.due, at("2026-11-28T23:30:00Z"));
        assert_eq!(times.remind_at, at("2026-11-28T23:15:00Z"));
    }

    #[test]
    fn referral_counts_business_days_across_weekend_and_holiday() {
        // Friday 24 December 2027, 10:00 Brussels; the 27th is a holiday: due Wednesday the 29th.
        let holiday = Date::new(2027, 12, 27).unwrap();
        assert_eq!(holiday.weekday(), Weekday::Monday);
        let start = at("2027-12-24T09:00:00Z");
        let times =
            Clock::Referral.schedule(&calendar(&[holiday]), start, &ClockTargets::default());
        assert_eq!(times.due, at("2027-12-29T09:00:00Z"));
        assert_eq!(times.remind_at, at("2027-12-29T05:00:00Z"));
    }

    #[test]
    fn standing_follows_done_due_and_reminder() {
        let times = ClockTimes::until(at("2026-11-23T08:00:00Z"), at("2026-11-24T08:00:00Z"));
        assert_eq!(times.remind_at, at("2026-11-24T04:00:00Z"));
        let check = |done: Option<&str>, now: &str, expect: ClockStanding| {
            assert_eq!(
                clock_standing(&times, done.map(at), at(now)),
                expect,
                "{done:?} {now}"
            );
        };
        check(None, "2026-11-23T09:00:00Z", ClockStanding::Running);
        check(None, "2026-11-24T04:00:00Z", ClockStanding::DueSoon);
        check(None, "2026-11-24T08:00:00Z", ClockStanding::DueSoon);
        check(None, "2026-11-24T08:00:01Z", ClockStanding::Breached);
        check(
            Some("2026-11-24T08:00:00Z"),
            "2026-11-25T00:00:00Z",
            ClockStanding::Met,
        );
        check(
            Some("2026-11-24T09:00:00Z"),
            "2026-11-25T00:00:00Z",
            ClockStanding::MetLate,
        );
    }
}
