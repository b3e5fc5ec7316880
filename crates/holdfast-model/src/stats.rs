//! The case desk's statistics (SPEC A8) as pure rules: the measures, the periods figures are
//! grouped by (calendar weeks, months, quarters or years in UTC, cut to the dates asked for),
//! the default range (the last twelve months) and the median and average of durations.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::case::{UnknownValue, spelled};

spelled! {
    /// How figures are grouped in time.
    PeriodKind, "period" {
        /// ISO weeks, Monday to Sunday (`2026-W49`).
        Week = "week",
        /// Calendar months (`2026-12`).
        Month = "month",
        /// Calendar quarters (`2026-Q4`).
        Quarter = "quarter",
        /// Calendar years (`2026`).
        Year = "year",
    }
}

spelled! {
    /// What a figure counts or times.
    Measure, "measure" {
        /// Reports received, by threat type.
        ReportsByThreatType = "reports_by_threat_type",
        /// Reports received, by the class of their source.
        ReportsBySource = "reports_by_source",
        /// Cases opened, by their (assessed) threat type.
        CasesByThreatType = "cases_by_threat_type",
        /// Actions taken (decided and not waiting for approval), by kind.
        ActionsByKind = "actions_by_kind",
        /// The names of those actions, by result.
        ActionNamesByResult = "action_names_by_result",
        /// The acknowledge clock: from the first report to the acknowledgment.
        TimeToAcknowledge = "time_to_acknowledge",
        /// The assess clock: from the acknowledgment to the assessment.
        TimeToAssess = "time_to_assess",
        /// From the case's opening to the last of its actions that changed the registry taking
        /// effect, for mitigated (or since closed) cases.
        TimeToMitigate = "time_to_mitigate",
    }
}

impl Measure {
    /// The measures that count things by a key.
    pub const COUNTS: [Measure; 5] = [
        Measure::ReportsByThreatType,
        Measure::ReportsBySource,
        Measure::CasesByThreatType,
        Measure::ActionsByKind,
        Measure::ActionNamesByResult,
    ];

    /// The measures that time the desk.
    pub const TIMES: [Measure; 3] = [
        Measure::TimeToAcknowledge,
        Measure::TimeToAssess,
        Measure::TimeToMitigate,
    ];

    /// How a person reads the measure.
    pub const fn title(self) -> &'static str {
        match self {
            Measure::ReportsByThreatType => "Reports by threat type",
            Measure::ReportsBySource => "Reports by source",
            Measure::CasesByThreatType => "Cases by threat type",
            Measure::ActionsByKind => "Actions taken by kind",
            Measure::ActionNamesByResult => "Names acted on by result",
            Measure::TimeToAcknowledge => "Time to acknowledge",
            Measure::TimeToAssess => "Time to assess",
            Measure::TimeToMitigate => "Time to mitigate",
        }
    }
}

/// The most periods one request may ask for (ten years of weeks).
pub const MAX_PERIODS: usize = 530;

/// One period of a range: its label and the instants it covers, `start` included, `end` not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Why a range cannot be cut into periods; `field` is the request field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RangeError {
    pub field: &'static str,
    pub reason: String,
}

/// The default range on `today`: the first day of the month eleven months back to `today`
/// (twelve calendar months, the current one so far).
pub fn last_twelve_months(today: Date) -> (Date, Date) {
    let first = today.first_of_month();
    let from = first.checked_sub(11.months()).unwrap_or(first);
    (from, today)
}

/// The periods of `kind` from `from` to `to` (both days included, UTC), the first and last cut
/// to the range.
pub fn periods(kind: PeriodKind, from: Date, to: Date) -> Result<Vec<Period>, RangeError> {
    if from > to {
        return Err(RangeError {
            field: "from",
            reason: format!("{from} is after the end of the range, {to}"),
        });
    }
    let end = midnight(to.tomorrow().map_err(|_| RangeError {
        field: "to",
        reason: format!("{to} is too far in the future"),
    })?)?;
    let mut periods = Vec::new();
    let mut start = from;
    loop {
        let next = period_end(kind, start);
        let stop = next.map_or(end, |next| midnight(next).unwrap_or(end).min(end));
        periods.push(Period {
            label: label(kind, start),
            start: midnight(start)?,
            end: stop,
        });
        if periods.len() > MAX_PERIODS {
            return Err(RangeError {
                field: "period",
                reason: format!(
                    "more than {MAX_PERIODS} periods from {from} to {to}: choose a longer period \
                     or a shorter range"
                ),
            });
        }
        match next {
            Some(next) if next <= to => start = next,
            _ => break,
        }
    }
    Ok(periods)
}

/// The first day of the period after the one holding `day` (`None` past the calendar's end).
fn period_end(kind: PeriodKind, day: Date) -> Option<Date> {
    let next = match kind {
        PeriodKind::Week => {
            let back = i64::from(day.weekday().to_monday_zero_offset());
            day.checked_add((7 - back).days())
        }
        PeriodKind::Month => day.first_of_month().checked_add(1.month()),
        PeriodKind::Quarter => {
            let month = (day.month() - 1) / 3 * 3 + 1;
            Date::new(day.year(), month, 1).and_then(|first| first.checked_add(3.months()))
        }
        PeriodKind::Year => {
            Date::new(day.year(), 1, 1).and_then(|first| first.checked_add(1.year()))
        }
    };
    next.ok()
}

/// The label of the period holding `day`.
fn label(kind: PeriodKind, day: Date) -> String {
    match kind {
        PeriodKind::Week => {
            let week = day.iso_week_date();
            format!("{:04}-W{:02}", week.year(), week.week())
        }
        PeriodKind::Month => format!("{:04}-{:02}", day.year(), day.month()),
        PeriodKind::Quarter => format!("{:04}-Q{}", day.year(), (day.month() - 1) / 3 + 1),
        PeriodKind::Year => format!("{:04}", day.year()),
    }
}

fn midnight(day: Date) -> Result<Timestamp, RangeError> {
    day.to_zoned(TimeZone::UTC)
        .map(|zoned| zoned.timestamp())
        .map_err(|_| RangeError {
            field: "to",
            reason: format!("{day} is out of range"),
        })
}

/// Durations in seconds summed up: how many were done, the median and the average (rounded
/// half up to the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DurationSummary {
    pub count: i64,
    pub median_seconds: Option<i64>,
    pub average_seconds: Option<i64>,
}

impl DurationSummary {
    /// The summary of `seconds` (any order).
    pub fn of(seconds: &[i64]) -> DurationSummary {
        let mut sorted = seconds.to_vec();
        sorted.sort_unstable();
        let count = sorted.len();
        let half_up = |sum: i128, by: i128| -> i64 {
            i64::try_from((2 * sum + by).div_euclid(2 * by)).unwrap_or(i64::MAX)
        };
        let median = match count {
            0 => None,
            n if n % 2 == 1 => sorted.get(n / 2).copied(),
            n => match (sorted.get(n / 2 - 1), sorted.get(n / 2)) {
                (Some(low), Some(high)) => Some(half_up(i128::from(*low) + i128::from(*high), 2)),
                _ => None,
            },
        };
        let sum: i128 = sorted.iter().map(|value| i128::from(*value)).sum();
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        DurationSummary {
            count,
            median_seconds: median,
            average_seconds: (count > 0).then(|| half_up(sum, i128::from(count))),
        }
    }
}

/// A duration in seconds as a person reads it: `45 s`, `12 min`, `3 h 05 min`, `2 d 04 h`.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", (seconds + 30) / 60),
        3_600..86_400 => format!("{} h {:02} min", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{} d {:02} h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: PeriodKind, from: &str, to: &str, expect: &[(&str, &str, &str)]) {
        let got = periods(kind, from.parse().unwrap(), to.parse().unwrap()).unwrap();
        let got: Vec<(String, String, String)> = got
            .into_iter()
            .map(|p| (p.label, p.start.to_string(), p.end.to_string()))
            .collect();
        let expect: Vec<(String, String, String)> = expect
            .iter()
            .map(|(l, s, e)| ((*l).to_owned(), (*s).to_owned(), (*e).to_owned()))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn periods_are_cut_to_the_range() {
        check(
            PeriodKind::Month,
            "2026-11-15",
            "2027-01-10",
            &[
                ("2026-11", "2026-11-15T00:00:00Z", "2026-12-01T00:00:00Z"),
                ("2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
                ("2027-01", "2027-01-01T00:00:00Z", "2027-01-11T00:00:00Z"),
            ],
        );
        check(
            PeriodKind::Week,
            "2026-12-31",
            "2027-01-05",
            &[
                ("2026-W53", "2026-12-31T00:00:00Z", "2027-01-04T00:00:00Z"),
                ("2027-W01", "2027-01-04T00:00:00Z", "2027-01-06T00:00:00Z"),
            ],
        );
        check(
            PeriodKind::Quarter,
            "2026-02-01",
            "2026-04-01",
            &[
                ("2026-Q1", "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z"),
                ("2026-Q2", "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z"),
            ],
        );
        check(
            PeriodKind::Year,
            "2026-06-01",
            "2026-06-01",
            &[("2026", "2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z")],
        );
    }

    #[test]
    fn ranges_backwards_or_too_long_name_their_field() {
        let day = |text: &str| -> Date { text.parse().unwrap() };
        let error = periods(PeriodKind::Month, day("2026-02-01"), day("2026-01-01")).unwrap_err();
        assert_eq!(error.field, "from");
        let error = periods(PeriodKind::Week, day("2000-01-01"), day("2026-01-01")).unwrap_err();
        assert_eq!(error.field, "period");
        assert!(periods(PeriodKind::Year, day("2000-01-01"), day("2026-01-01")).is_ok());
    }

    #[test]
    fn the_default_range_is_twelve_calendar_months() {
        let (from, to) = last_twelve_months("2026-12-04".parse().unwrap());
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-01-01".into(), "2026-12-04".into())
        );
        let months = periods(PeriodKind::Month, from, to).unwrap();
        assert_eq!(months.len(), 12);
    }

    #[test]
    fn medians_and_averages_round_half_up() {
        let check = |values: &[i64], count, median, average| {
            assert_eq!(
                DurationSummary::of(values),
                DurationSummary {
                    count,
                    median_seconds: median,
                    average_seconds: average
                },
                "{values:?}"
            );
        };
        check(&[], 0, None, None);
        check(&[30], 1, Some(30), Some(30));
        check(&[90, 10, 30], 3, Some(30), Some(43));
        check(&[1, 2], 2, Some(2), Some(2));
        check(&[10, 20, 40, 100], 4, Some(30), Some(43));
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(3_630), "1 h 00 min");
        assert_eq!(human_duration(75 * 60), "1 h 15 min");
        assert_eq!(human_duration(20 * 60), "20 min");
        assert_eq!(human_duration(2 * 86_400 + 4 * 3_600), "2 d 04 h");
    }
}
