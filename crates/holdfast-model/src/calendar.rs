//! Business calendars and deadlines: a time zone, a weekend and holidays, and the arithmetic
//! that turns "within N business days" or "within N hours" into an instant.

use std::collections::BTreeSet;
use std::ops::Bound;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

/// Why a [`Calendar`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The time zone name is not in the IANA time zone database.
    #[error("unknown time zone {0:?}: expected an IANA name such as \"America/Los_Angeles\"")]
    UnknownTimeZone(String),
    /// The weekend covers all seven days, so no day could ever be a business day.
    #[error("the weekend covers all seven days of the week, leaving no business days")]
    NoBusinessDays,
}

/// A business calendar: the time zone in which days are counted, the weekdays that are never
/// business days, and the dates that are holidays.
///
/// A business day is a local date that is neither a weekend day nor a holiday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarWire", into = "CalendarWire")]
pub struct Calendar {
    zone: TimeZone,
    zone_name: String,
    /// Sorted Monday first, without duplicates, never all seven days.
    weekend: Vec<Weekday>,
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// The usual weekend: Saturday and Sunday.
    pub const DEFAULT_WEEKEND: [Weekday; 2] = [Weekday::Saturday, Weekday::Sunday];

    /// Builds a calendar from an IANA time zone name (e.g. `"Europe/Brussels"`), the weekdays
    /// that form the weekend (usually [`Calendar::DEFAULT_WEEKEND`]) and the holidays.
    ///
    /// Duplicates are ignored. Holidays that fall on a weekend are kept but change nothing.
    pub fn new(
        zone_name: &str,
        weekend: impl IntoIterator<Item = Weekday>,
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Calendar, CalendarError> {
        let zone = TimeZone::get(zone_name)
            .map_err(|_| CalendarError::UnknownTimeZone(zone_name.to_owned()))?;
        let mut weekend: Vec<Weekday> = weekend.into_iter().collect();
        weekend.sort_by_key(|weekday| weekday.to_monday_zero_offset());
        weekend.dedup();
        if weekend.len() >= 7 {
            return Err(CalendarError::NoBusinessDays);
        }
        let zone_name = zone.iana_name().unwrap_or(zone_name).to_owned();
        Ok(Calendar {
            zone,
            zone_name,
            weekend,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// The IANA name of the calendar's time zone, in the database's spelling.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The calendar's time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The weekend days, Monday first.
    pub fn weekend(&self) -> &[Weekday] {
        &self.weekend
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> &BTreeSet<Date> {
        &self.holidays
    }

    /// Whether `date` is a business day: not a weekend day and not a holiday.
    pub fn is_business_day(&self, date: Date) -> bool {
        !self.is_weekend(date.weekday()) && !self.holidays.contains(&date)
    }

    /// The local date of `t` in the calendar's time zone.
    pub fn local_date(&self, t: Timestamp) -> Date {
        self.zone.to_datetime(t).date()
    }

    /// "N business days after `t`".
    ///
    /// The rule, with dates and times local to the calendar's time zone:
    ///
    /// - If `t` falls on a business day, the result is the same wall-clock time on the `n`-th
    ///   following business day. `n == 0` returns `t` itself.
    /// - If `t` falls on a weekend or holiday, it is first moved to 00:00 of the next business
    ///   day, and the rule above applies from there. So a request received on Saturday with
    ///   `n == 1` is due Tuesday 00:00, that is at the end of Monday; with `n == 0` it is due
    ///   Monday 00:00.
    ///
    /// Daylight-saving transitions:
    ///
    /// - A wall-clock time that does not exist on the due date (spring-forward gap) resolves to
    ///   the instant the gap ends: 02:30 on a day that jumps from 02:00 to 03:00 becomes 03:00.
    ///   (jiff's "compatible" rule would give 03:30, which would make a request received at
    ///   02:30 due later than one received at 03:00.)
    /// - A wall-clock time that exists twice on the due date (fall-back fold) resolves to the
    ///   earlier instant.
    /// - If `t` itself lies in the second pass of a repeated hour, its wall-clock time counts as
    ///   the end of the repeated hour (02:00 when clocks go from 02:00 back to 01:00), so that a
    ///   later `t` never gets an earlier due time.
    ///
    /// The result is never earlier than `t`, never earlier for a larger `n` or a later `t`, and
    /// saturates at [`Timestamp::MAX`] when it would fall past the end of jiff's range.
    pub fn add_business_days(&self, t: Timestamp, n: u32) -> Timestamp {
        if n == 0 && self.is_business_day(self.local_date(t)) {
            return t;
        }
        let due = self
            .counting_start(t)
            .and_then(|start| {
                let date = self.nth_business_day_after(start.date(), n)?;
                self.resolve(date.to_datetime(start.time()))
            })
            .unwrap_or(Timestamp::MAX);
        // A safety net for zones whose clocks once went back by a day or more: the rules
        // above keep the result at or after `t` for every zone with ordinary transitions.
        due.max(t)
    }

    /// The number of business days `d` with `local_date(a) < d <= local_date(b)`.
    ///
    /// This is the figure published as "answered in N business days": submitted Monday and
    /// answered Wednesday is 2, submitted Friday and answered Monday is 1, answered the same
    /// day is 0. It is 0, never negative, when `b` is before `a`.
    pub fn business_days_between(&self, a: Timestamp, b: Timestamp) -> i64 {
        if b < a {
            return 0;
        }
        self.count_business_days_after(self.local_date(a), self.local_date(b))
    }

    /// "`hours` hours after `t`": elapsed time, not wall-clock time, so across a daylight-saving
    /// change 24 hours after 09:00 is 08:00 or 10:00 local. Saturates at [`Timestamp::MAX`] and
    /// [`Timestamp::MIN`].
    pub fn add_hours(&self, t: Timestamp, hours: i64) -> Timestamp {
        let saturated = if hours < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        };
        SignedDuration::try_from_hours(hours)
            .and_then(|duration| t.checked_add(duration).ok())
            .unwrap_or(saturated)
    }

    /// The deadline of kind `kind` for something that started at `start`.
    pub fn deadline(&self, start: Timestamp, kind: DeadlineKind) -> Deadline {
        let due = match kind {
            DeadlineKind::BusinessDays(days) => self.add_business_days(start, days),
            DeadlineKind::Hours(hours) => self.add_hours(start, i64::from(hours)),
            DeadlineKind::Minutes(minutes) => SignedDuration::try_from_mins(i64::from(minutes))
                .and_then(|duration| start.checked_add(duration).ok())
                .unwrap_or(Timestamp::MAX),
        };
        Deadline { kind, due }
    }

    fn is_weekend(&self, weekday: Weekday) -> bool {
        self.weekend.contains(&weekday)
    }

    /// Business days in a week: 1 to 7.
    fn business_days_per_week(&self) -> i64 {
        7 - self.weekend.len() as i64
    }

    /// The local wall-clock time from which `t` counts: its own, except in the second pass of
    /// a repeated hour, where it is the end of the repeated hour.
    fn wall_clock(&self, t: Timestamp) -> DateTime {
        let local = self.zone.to_datetime(t);
        let AmbiguousOffset::Fold { before, after } =
            self.zone.to_ambiguous_timestamp(local).offset()
        else {
            return local;
        };
        if self.zone.to_offset(t) != after {
            return local;
        }
        // The first pass of this wall-clock time came before the transition that repeats it;
        // the repeated hour ends where the old offset would have put that transition.
        let first_pass = before.to_timestamp(local).ok();
        match first_pass.and_then(|first| self.zone.following(first).next()) {
            Some(transition) => before.to_datetime(transition.timestamp()),
            None => local,
        }
    }

    /// The local date and time from which business days are counted: `t`'s wall clock on a
    /// business day, otherwise 00:00 of the next business day.
    fn counting_start(&self, t: Timestamp) -> Option<DateTime> {
        let local = self.wall_clock(t);
        if self.is_business_day(local.date()) {
            Some(local)
        } else {
            let date = self.next_business_day(local.date())?;
            Some(date.to_datetime(Time::midnight()))
        }
    }

    /// The first business day after `date`; `None` past the end of jiff's range.
    fn next_business_day(&self, date: Date) -> Option<Date> {
        let mut date = date.tomorrow().ok()?;
        while !self.is_business_day(date) {
            date = date.tomorrow().ok()?;
        }
        Some(date)
    }

    /// The `n`-th business day after `date` (`date` itself for `n == 0`); `None` past the end
    /// of jiff's range. Jumps whole weeks, so a large `n` costs no more than a small one.
    fn nth_business_day_after(&self, date: Date, n: u32) -> Option<Date> {
        let per_week = self.business_days_per_week();
        let mut date = date;
        let mut remaining = i64::from(n);
        while remaining > per_week {
            // Leave at least one day to step to, so that the result is a business day.
            let weeks = (remaining - 1) / per_week;
            let next = date
                .checked_add(Span::new().try_days(weeks * 7).ok()?)
                .ok()?;
            let lost = self.business_holidays_after(date, next);
            remaining -= weeks * per_week - lost;
            date = next;
        }
        for _ in 0..remaining {
            date = self.next_business_day(date)?;
        }
        Some(date)
    }

    /// The number of business days `d` with `first < d <= last`.
    fn count_business_days_after(&self, first: Date, last: Date) -> i64 {
        if last <= first {
            return 0;
        }
        let days = first.duration_until(last).as_hours() / 24;
        let mut count = days / 7 * self.business_days_per_week();
        let mut weekday = first.weekday();
        for _ in 0..days % 7 {
            weekday = weekday.next();
            if !self.is_weekend(weekday) {
                count += 1;
            }
        }
        count - self.business_holidays_after(first, last)
    }

    /// The number of holidays `d` with `first < d <= last` that fall on a weekday outside the
    /// weekend, i.e. the business days those holidays remove.
    fn business_holidays_after(&self, first: Date, last: Date) -> i64 {
        if last <= first {
            return 0;
        }
        let removed = self
            .holidays
            .range((Bound::Excluded(first), Bound::Included(last)))
            .filter(|holiday| !self.is_weekend(holiday.weekday()))
            .count();
        i64::try_from(removed).unwrap_or(i64::MAX)
    }

    /// The instant of a local date-time: a time in a gap becomes the end of the gap, a time in
    /// a fold the earlier instant. `None` past the ends of jiff's range.
    fn resolve(&self, local: DateTime) -> Option<Timestamp> {
        match self.zone.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
            AmbiguousOffset::Gap { before, after } => {
                // Read with the offset in force after the gap, `local` names an instant just
                // before the transition; the next transition is the end of the gap.
                let before_gap = after.to_timestamp(local).ok()?;
                match self.zone.following(before_gap).next() {
                    Some(transition) => Some(transition.timestamp()),
                    None => before.to_timestamp(local).ok(),
                }
            }
        }
    }
}

/// The serialised form of a [`Calendar`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarWire {
    time_zone: String,
    #[serde(default = "default_weekend")]
    weekend: Vec<WeekdayName>,
    #[serde(default)]
    holidays: Vec<Date>,
}

fn default_weekend() -> Vec<WeekdayName> {
    Calendar::DEFAULT_WEEKEND
        .into_iter()
        .map(WeekdayName::from)
        .collect()
}

impl TryFrom<CalendarWire> for Calendar {
    type Error = CalendarError;

    fn try_from(wire: CalendarWire) -> Result<Calendar, CalendarError> {
        Calendar::new(
            &wire.time_zone,
            wire.weekend.into_iter().map(Weekday::from),
            wire.holidays,
        )
    }
}

impl From<Calendar> for CalendarWire {
    fn from(calendar: Calendar) -> CalendarWire {
        CalendarWire {
            time_zone: calendar.zone_name,
            weekend: calendar
                .weekend
                .into_iter()
                .map(WeekdayName::from)
                .collect(),
            holidays: calendar.holidays.into_iter().collect(),
        }
    }
}

/// The wire spelling of a weekday: `"monday"` … `"sunday"`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WeekdayName {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<Weekday> for WeekdayName {
    fn from(weekday: Weekday) -> WeekdayName {
        match weekday {
            Weekday::Monday => WeekdayName::Monday,
            Weekday::Tuesday => WeekdayName::Tuesday,
            Weekday::Wednesday => WeekdayName::Wednesday,
            Weekday::Thursday => WeekdayName::Thursday,
            Weekday::Friday => WeekdayName::Friday,
            Weekday::Saturday => WeekdayName::Saturday,
            Weekday::Sunday => WeekdayName::Sunday,
        }
    }
}

impl From<WeekdayName> for Weekday {
    fn from(name: WeekdayName) -> Weekday {
        match name {
            WeekdayName::Monday => Weekday::Monday,
            WeekdayName::Tuesday => Weekday::Tuesday,
            WeekdayName::Wednesday => Weekday::Wednesday,
            WeekdayName::Thursday => Weekday::Thursday,
            WeekdayName::Friday => Weekday::Friday,
            WeekdayName::Saturday => Weekday::Saturday,
            WeekdayName::Sunday => Weekday::Sunday,
        }
    }
}

/// How a deadline is measured from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// N business days, by [`Calendar::add_business_days`].
    BusinessDays(u32),
    /// N elapsed hours, by [`Calendar::add_hours`].
    Hours(u32),
    /// N elapsed minutes (an acknowledgment target may be shorter than an hour).
    Minutes(u32),
}

/// A computed deadline: what it was measured in and the instant it falls due.
///
/// Serialised as `{"kind": {"business_days": 2}, "due": "2026-11-27T18:00:00Z"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// How the deadline was measured.
    pub kind: DeadlineKind,
    /// The instant it falls due; acting at exactly this instant is still on time.
    pub due: Timestamp,
}

/// Where a [`Deadline`] stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineState {
    /// More than the warning period is left.
    Pending {
        /// Time left until the deadline.
        remaining: SignedDuration,
    },
    /// The deadline is at most the warning period away, or is right now.
    DueSoon {
        /// Time left until the deadline; zero at the deadline itself.
        remaining: SignedDuration,
    },
    /// The deadline has passed.
    Breached {
        /// How long ago the deadline passed; always positive.
        overdue: SignedDuration,
    },
}

impl Deadline {
    /// Where this deadline stands at `now`: breached once `now` is after `due`, due soon when
    /// at most `warn_before` is left, pending otherwise.
    pub fn state(&self, now: Timestamp, warn_before: SignedDuration) -> DeadlineState {
        if now > self.due {
            return DeadlineState::Breached {
                overdue: now.duration_since(self.due),
            };
        }
        let remaining = self.due.duration_since(now);
        if remaining <= warn_before {
            DeadlineState::DueSoon { remaining }
        } else {
            DeadlineState::Pending { remaining }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const LA: &str = "America/Los_Angeles";
    const BRUSSELS: &str = "Europe/Brussels";
    const RIYADH: &str = "Asia/Riyadh";
    const FRIDAY_SATURDAY: [Weekday; 2] = [Weekday::Friday, Weekday::Saturday];

    fn us() -> Calendar {
        let holidays = [
            date(2026, 1, 1),
            date(2026, 5, 25),
            date(2026, 7, 3),
            date(2026, 9, 7),
            date(2026, 11, 26),
            date(2026, 12, 25),
        ];
        Calendar::new(LA, Calendar::DEFAULT_WEEKEND, holidays).unwrap()
    }

    fn belgium() -> Calendar {
        let holidays = [date(2026, 11, 11), date(2026, 12, 25)];
        Calendar::new(BRUSSELS, Calendar::DEFAULT_WEEKEND, holidays).unwrap()
    }

    fn saudi() -> Calendar {
        Calendar::new(RIYADH, FRIDAY_SATURDAY, [date(2026, 3, 19)]).unwrap()
    }

    /// A Sunday-to-Thursday week in a zone with daylight saving, so that due dates land on the
    /// days the clocks change.
    fn la_sunday_to_thursday() -> Calendar {
        Calendar::new(LA, FRIDAY_SATURDAY, []).unwrap()
    }

    /// An instant written either with an offset (`2026-11-01 01:30-08:00`) or as an
    /// unambiguous wall-clock time in the calendar's zone (`2026-10-16 17:00`).
    fn at(calendar: &Calendar, text: &str) -> Timestamp {
        if let Ok(t) = text.parse::<Timestamp>() {
            return t;
        }
        let local: DateTime = text.parse().unwrap();
        calendar
            .zone()
            .to_ambiguous_timestamp(local)
            .unambiguous()
            .unwrap()
    }

    /// An instant shown as wall-clock time and offset in the calendar's zone.
    fn show(calendar: &Calendar, t: Timestamp) -> String {
        t.to_zoned(calendar.zone().clone())
            .strftime("%Y-%m-%d %a %H:%M%:z")
            .to_string()
    }

    fn check_business_days(calendar: &Calendar, start: &str, n: u32, expect: &str) {
        let due = calendar.add_business_days(at(calendar, start), n);
        assert_eq!(show(calendar, due), expect, "{start} + {n} business days");
    }

    fn check_hours(calendar: &Calendar, start: &str, hours: i64, expect: &str) {
        let due = calendar.add_hours(at(calendar, start), hours);
        assert_eq!(show(calendar, due), expect, "{start} + {hours} hours");
    }

    fn check_between(calendar: &Calendar, a: &str, b: &str, expect: i64) {
        let days = calendar.business_days_between(at(calendar, a), at(calendar, b));
        assert_eq!(days, expect, "business days from {a} to {b}");
    }

    #[test]
    fn business_days_in_the_us() {
        let us = us();
        let check = |start, n, expect| check_business_days(&us, start, n, expect);
        check("2026-10-16 17:00", 1, "2026-10-19 Mon 17:00-07:00");
        check("2026-10-19 09:00", 0, "2026-10-19 Mon 09:00-07:00");
        check("2026-10-19 09:00", 4, "2026-10-23 Fri 09:00-07:00");
        check("2026-10-19 09:00", 5, "2026-10-26 Mon 09:00-07:00");
        check("2026-10-19 09:00", 10, "2026-11-02 Mon 09:00-08:00");
        // Thanksgiving is skipped.
        check("2026-11-25 10:00", 1, "2026-11-27 Fri 10:00-08:00");
        check("2026-11-23 12:00", 5, "2026-12-01 Tue 12:00-08:00");
        // Saturday counts from Monday 00:00: one business day is the end of Monday.
        check("2026-10-17 11:00", 1, "2026-10-20 Tue 00:00-07:00");
        check("2026-10-17 11:00", 0, "2026-10-19 Mon 00:00-07:00");
        check("2026-10-18 23:59", 1, "2026-10-20 Tue 00:00-07:00");
        // On a holiday: counted from 00:00 of the next business day.
        check("2026-11-26 09:00", 1, "2026-11-30 Mon 00:00-08:00");
        check("2026-12-24 16:00", 1, "2026-12-28 Mon 16:00-08:00");
        // Daylight saving ends Sunday 2026-11-01 and starts Sunday 2026-03-08: the wall-clock
        // time is kept.
        check("2026-10-30 09:00", 1, "2026-11-02 Mon 09:00-08:00");
        check("2026-03-06 09:00", 1, "2026-03-09 Mon 09:00-07:00");
        // Just before midnight stays on its day.
        check(
            "2026-10-16 23:59:59.999999999",
            1,
            "2026-10-19 Mon 23:59-07:00",
        );
    }

    #[test]
    fn business_days_in_belgium() {
        let belgium = belgium();
        let check = |start, n, expect| check_business_days(&belgium, start, n, expect);
        // Armistice Day, Wednesday 2026-11-11.
        check("2026-11-10 10:00", 1, "2026-11-12 Thu 10:00+01:00");
        check("2026-11-10 10:00", 3, "2026-11-16 Mon 10:00+01:00");
        // Daylight saving ends Sunday 2026-10-25 and starts Sunday 2026-03-29.
        check("2026-10-23 15:00", 1, "2026-10-26 Mon 15:00+01:00");
        check("2026-03-27 15:00", 1, "2026-03-30 Mon 15:00+02:00");
    }

    #[test]
    fn business_days_with_a_friday_saturday_weekend() {
        let saudi = saudi();
        let check = |start, n, expect| check_business_days(&saudi, start, n, expect);
        check("2026-10-15 17:00", 1, "2026-10-18 Sun 17:00+03:00");
        check("2026-10-16 17:00", 1, "2026-10-19 Mon 00:00+03:00");
        check("2026-10-17 17:00", 0, "2026-10-18 Sun 00:00+03:00");
        check("2026-10-18 09:00", 1, "2026-10-19 Mon 09:00+03:00");
        check("2026-10-18 09:00", 5, "2026-10-25 Sun 09:00+03:00");
        // A holiday on Thursday 2026-03-19.
        check("2026-03-18 09:00", 1, "2026-03-22 Sun 09:00+03:00");
    }

    #[test]
    fn business_days_landing_on_a_daylight_saving_change() {
        let calendar = la_sunday_to_thursday();
        let check = |start, n, expect| check_business_days(&calendar, start, n, expect);
        // Sunday 2026-03-08 has no 02:00–03:00: the gap resolves to its end, 03:00, so that
        // 02:30 is not due after 03:00 is.
        check("2026-03-05 02:30", 1, "2026-03-08 Sun 03:00-07:00");
        check("2026-03-05 02:00", 1, "2026-03-08 Sun 03:00-07:00");
        check("2026-03-05 03:00", 1, "2026-03-08 Sun 03:00-07:00");
        check("2026-03-05 01:59", 1, "2026-03-08 Sun 01:59-08:00");
        // Sunday 2026-11-01 has 01:00–02:00 twice: the earlier instant is chosen.
        check("2026-10-29 01:30", 1, "2026-11-01 Sun 01:30-07:00");
        // A start in the first pass of the repeated hour keeps its wall-clock time; one in
        // the second pass counts from the end of the repeated hour.
        check("2026-11-01T01:45-07:00", 1, "2026-11-02 Mon 01:45-08:00");
        check("2026-11-01T01:00-08:00", 1, "2026-11-02 Mon 02:00-08:00");
        check("2026-11-01T01:30-08:00", 1, "2026-11-02 Mon 02:00-08:00");
        check("2026-11-01T02:00-08:00", 1, "2026-11-02 Mon 02:00-08:00");
        check("2026-11-01T01:30-08:00", 0, "2026-11-01 Sun 01:30-08:00");
    }

    #[test]
    fn hours_are_elapsed_time() {
        let us = us();
        // 24 hours across the end of daylight saving is 08:00, across the start 10:00.
        check_hours(&us, "2026-10-31 09:00", 24, "2026-11-01 Sun 08:00-08:00");
        check_hours(&us, "2026-03-07 09:00", 24, "2026-03-08 Sun 10:00-07:00");
        check_hours(&us, "2026-10-16 17:00", 72, "2026-10-19 Mon 17:00-07:00");
        check_hours(&us, "2026-10-16 17:00", -1, "2026-10-16 Fri 16:00-07:00");
        check_hours(&us, "2026-10-16 17:00", 0, "2026-10-16 Fri 17:00-07:00");
        let belgium = belgium();
        check_hours(
            &belgium,
            "2026-10-24 09:00",
            24,
            "2026-10-25 Sun 08:00+01:00",
        );
        check_hours(
            &belgium,
            "2026-03-28 09:00",
            24,
            "2026-03-29 Sun 10:00+02:00",
        );
        // Business days keep the wall-clock time where hours do not.
        let friday = at(&us, "2026-10-30 09:00");
        let monday = us.add_business_days(friday, 1);
        assert_eq!(
            monday.duration_since(friday),
            SignedDuration::from_hours(73)
        );
    }

    #[test]
    fn business_days_between_local_dates() {
        let us = us();
        let check = |a, b, expect| check_between(&us, a, b, expect);
        check("2026-10-19 09:00", "2026-10-21 17:00", 2);
        check("2026-10-16 17:00", "2026-10-19 08:00", 1);
        check("2026-10-19 09:00", "2026-10-19 23:00", 0);
        check("2026-10-19 09:00", "2026-10-19 08:00", 0);
        check("2026-10-21 09:00", "2026-10-19 09:00", 0);
        check("2026-10-17 09:00", "2026-10-19 09:00", 1);
        check("2026-10-17 09:00", "2026-10-18 09:00", 0);
        check("2026-11-25 09:00", "2026-11-27 09:00", 1);
        check("2026-11-20 09:00", "2026-12-01 09:00", 6);
        check("2026-01-01 09:00", "2027-01-01 09:00", 261 - 5);
        let saudi = saudi();
        check_between(&saudi, "2026-10-15 17:00", "2026-10-18 09:00", 1);
        check_between(&saudi, "2026-10-15 17:00", "2026-10-22 09:00", 5);
    }

    #[test]
    fn extreme_instants_saturate() {
        let us = us();
        let start = at(&us, "2026-10-19 09:00");
        assert_eq!(us.add_business_days(start, u32::MAX), Timestamp::MAX);
        assert_eq!(us.add_business_days(Timestamp::MAX, 1), Timestamp::MAX);
        assert_eq!(us.add_business_days(Timestamp::MAX, 0), Timestamp::MAX);
        assert!(us.add_business_days(Timestamp::MIN, 0) >= Timestamp::MIN);
        assert!(us.add_business_days(Timestamp::MIN, 3) > Timestamp::MIN);
        assert_eq!(us.add_hours(Timestamp::MAX, 1), Timestamp::MAX);
        assert_eq!(us.add_hours(Timestamp::MIN, -1), Timestamp::MIN);
        assert_eq!(us.add_hours(start, i64::MAX), Timestamp::MAX);
        assert_eq!(us.add_hours(start, i64::MIN), Timestamp::MIN);
        assert!(us.business_days_between(Timestamp::MIN, Timestamp::MAX) > 5_000_000);
        assert_eq!(us.business_days_between(Timestamp::MAX, Timestamp::MIN), 0);
        // The last business days of the range are holidays.
        let last_days = (27..=31).map(|day| date(9999, 12, day));
        let end = Calendar::new("Asia/Tokyo", [], last_days).unwrap();
        let late = at(&end, "9999-12-26 09:00");
        assert_eq!(end.add_business_days(late, 0), late);
        assert_eq!(end.add_business_days(late, 1), Timestamp::MAX);
        for zone in [LA, BRUSSELS, RIYADH, "Pacific/Kiritimati", "Pacific/Niue"] {
            let calendar = Calendar::new(zone, FRIDAY_SATURDAY, []).unwrap();
            for t in [Timestamp::MIN, Timestamp::MAX] {
                for n in [0, 1, 7, 1_000, u32::MAX] {
                    assert!(calendar.add_business_days(t, n) >= t);
                }
            }
        }
    }

    #[test]
    fn calendar_errors_name_the_input() {
        let error = Calendar::new("Mars/Olympus_Mons", [], []).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown time zone \"Mars/Olympus_Mons\": expected an IANA name such as \
             \"America/Los_Angeles\""
        );
        let every_day = Weekday::Monday.cycle_forward().take(7);
        assert_eq!(
            Calendar::new(LA, every_day, []).unwrap_err(),
            CalendarError::NoBusinessDays
        );
        assert_eq!(
            Calendar::new("america/los_angeles", [], [])
                .unwrap()
                .zone_name(),
            LA
        );
        let six_days = Weekday::Monday.cycle_forward().take(6);
        let sunday_only = Calendar::new(LA, six_days, []).unwrap();
        assert_eq!(sunday_only.weekend().len(), 6);
        assert!(sunday_only.is_business_day(date(2026, 10, 18)));
    }

    #[test]
    fn calendar_serialises_as_plain_json() {
        let json = serde_json::to_string(&us()).unwrap();
        assert_eq!(
            json,
            r#"{"time_zone":"America/Los_Angeles","weekend":["saturday","sunday"],"holidays":["2026-01-01","2026-05-25","2026-07-03","2026-09-07","2026-11-26","2026-12-25"]}"#
        );
        assert_eq!(serde_json::from_str::<Calendar>(&json).unwrap(), us());
        let saudi: Calendar = serde_json::from_str(
            r#"{"time_zone":"Asia/Riyadh","weekend":["saturday","friday","friday"],"holidays":["2026-03-19"]}"#,
        )
        .unwrap();
        assert_eq!(saudi, self::saudi());
        let defaults: Calendar =
            serde_json::from_str(r#"{"time_zone":"Europe/Brussels"}"#).unwrap();
        assert_eq!(defaults.weekend(), Calendar::DEFAULT_WEEKEND);
        assert!(defaults.holidays().is_empty());
        for (json, expect) in [
            (
                r#"{"time_zone":"Nowhere/City"}"#,
                "unknown time zone \"Nowhere/City\"",
            ),
            (r#"{"time_zone":"UTC","extra":1}"#, "unknown field `extra`"),
            (
                r#"{"time_zone":"UTC","weekend":["caturday"]}"#,
                "unknown variant `caturday`",
            ),
            (
                r#"{"time_zone":"UTC","holidays":["2026-02-30"]}"#,
                "date is not valid",
            ),
            (
                r#"{"time_zone":"UTC","weekend":["monday","tuesday","wednesday","thursday","friday","saturday","sunday"]}"#,
                "leaving no business days",
            ),
        ] {
            let error = serde_json::from_str::<Calendar>(json)
                .unwrap_err()
                .to_string();
            assert!(error.contains(expect), "{json}: {error}");
        }
    }

    #[test]
    fn deadlines_serialise_and_report_their_state() {
        let us = us();
        let start = at(&us, "2026-11-25 10:00");
        let deadline = us.deadline(start, DeadlineKind::BusinessDays(1));
        assert_eq!(
            serde_json::to_string(&deadline).unwrap(),
            r#"{"kind":{"business_days":1},"due":"2026-11-27T18:00:00Z"}"#
        );
        let hours = us.deadline(start, DeadlineKind::Hours(24));
        assert_eq!(
            serde_json::to_string(&hours).unwrap(),
            r#"{"kind":{"hours":24},"due":"2026-11-26T18:00:00Z"}"#
        );
        let parsed: Deadline =
            serde_json::from_str(r#"{"kind":{"hours":24},"due":"2026-11-26T10:00:00-08:00"}"#)
                .unwrap();
        assert_eq!(parsed, hours);

        let warn = SignedDuration::from_hours(1);
        let minutes = SignedDuration::from_mins;
        let check = |now: &str, expect: DeadlineState| {
            assert_eq!(hours.state(at(&us, now), warn), expect, "at {now}");
        };
        check(
            "2026-11-26 08:59",
            DeadlineState::Pending {
                remaining: minutes(61),
            },
        );
        check(
            "2026-11-26 09:00",
            DeadlineState::DueSoon {
                remaining: minutes(60),
            },
        );
        check(
            "2026-11-26 10:00",
            DeadlineState::DueSoon {
                remaining: SignedDuration::ZERO,
            },
        );
        check(
            "2026-11-26 10:05",
            DeadlineState::Breached {
                overdue: minutes(5),
            },
        );
        let just_after = hours
            .due
            .checked_add(SignedDuration::from_nanos(1))
            .unwrap();
        assert_eq!(
            hours.state(just_after, warn),
            DeadlineState::Breached {
                overdue: SignedDuration::from_nanos(1)
            }
        );
    }

    /// Slow, obviously right versions of the week-jumping arithmetic.
    fn nth_business_day_by_steps(calendar: &Calendar, date: Date, n: u32) -> Date {
        let mut date = date;
        for _ in 0..n {
            date = date.tomorrow().unwrap();
            while !calendar.is_business_day(date) {
                date = date.tomorrow().unwrap();
            }
        }
        date
    }

    fn count_by_steps(calendar: &Calendar, first: Date, last: Date) -> i64 {
        let mut count = 0;
        let mut date = first;
        while date < last {
            date = date.tomorrow().unwrap();
            if calendar.is_business_day(date) {
                count += 1;
            }
        }
        count
    }

    const ZONES: [&str; 3] = [LA, BRUSSELS, RIYADH];
    const WEEKENDS: [&[Weekday]; 5] = [
        &[Weekday::Saturday, Weekday::Sunday],
        &[Weekday::Friday, Weekday::Saturday],
        &[Weekday::Sunday],
        &[],
        &[
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
        ],
    ];

    /// Seconds from 2000-01-01 to 2100-01-01.
    const YEAR_2000: i64 = 946_684_800;
    const YEAR_2100: i64 = 4_102_444_800;

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        (YEAR_2000..YEAR_2100, 0..1_000_000_000i32)
            .prop_map(|(seconds, nanos)| Timestamp::new(seconds, nanos).unwrap())
    }

    /// A calendar in one of the zones above, with holidays scattered over the 60 days after
    /// `near`.
    fn calendar_near() -> impl Strategy<Value = (usize, usize, Vec<i64>)> {
        (
            0..ZONES.len(),
            0..WEEKENDS.len(),
            proptest::collection::vec(0..60i64, 0..20),
        )
    }

    fn build(near: Timestamp, (zone, weekend, offsets): (usize, usize, Vec<i64>)) -> Calendar {
        let first = near.to_zoned(TimeZone::get(ZONES[zone]).unwrap()).date();
        let holidays = offsets
            .into_iter()
            .map(|offset| first.checked_add(Span::new().days(offset)).unwrap());
        Calendar::new(ZONES[zone], WEEKENDS[weekend].iter().copied(), holidays).unwrap()
    }

    proptest! {
        #[test]
        fn due_is_a_later_business_day(
            t in timestamp(),
            n in 0..30u32,
            shape in calendar_near(),
        ) {
            let calendar = build(t, shape);
            let due = calendar.add_business_days(t, n);
            prop_assert!(due >= t);
            prop_assert!(calendar.is_business_day(calendar.local_date(due)));
            if n == 0 && calendar.is_business_day(calendar.local_date(t)) {
                prop_assert_eq!(due, t);
            }
            if calendar.is_business_day(calendar.local_date(t)) {
                prop_assert_eq!(calendar.business_days_between(t, due), i64::from(n));
            }
        }

        #[test]
        fn due_grows_with_n(
            t in timestamp(),
            n1 in 0..30u32,
            n2 in 0..30u32,
            shape in calendar_near(),
        ) {
            let calendar = build(t, shape);
            let (n1, n2) = (n1.min(n2), n1.max(n2));
            prop_assert!(calendar.add_business_days(t, n1) <= calendar.add_business_days(t, n2));
        }

        #[test]
        fn due_grows_with_t(
            t1 in timestamp(),
            t2 in timestamp(),
            nearby in 0..(3 * 86_400i64),
            n in 0..30u32,
            shape in calendar_near(),
        ) {
            let calendar = build(t1, shape);
            let near = t1.checked_add(SignedDuration::from_secs(nearby)).unwrap();
            for t2 in [t2, near] {
                let (t1, t2) = (t1.min(t2), t1.max(t2));
                prop_assert!(
                    calendar.add_business_days(t1, n) <= calendar.add_business_days(t2, n),
                    "{} then {}", t1, t2
                );
            }
        }

        #[test]
        fn hours_are_exact(t in timestamp(), hours in -1_000_000..1_000_000i64, zone in 0..ZONES.len()) {
            let calendar = Calendar::new(ZONES[zone], Calendar::DEFAULT_WEEKEND, []).unwrap();
            let later = calendar.add_hours(t, hours);
            prop_assert_eq!(later.duration_since(t), SignedDuration::from_hours(hours));
        }

        #[test]
        fn week_jumps_match_day_steps(
            t in timestamp(),
            n in 0..400u32,
            days in 0..800i64,
            shape in calendar_near(),
        ) {
            let calendar = build(t, shape);
            let first = calendar.local_date(t);
            prop_assert_eq!(
                calendar.nth_business_day_after(first, n),
                Some(nth_business_day_by_steps(&calendar, first, n))
            );
            let last = first.checked_add(Span::new().days(days)).unwrap();
            prop_assert_eq!(
                calendar.count_business_days_after(first, last),
                count_by_steps(&calendar, first, last)
            );
        }
    }

    proptest! {
        // Gaps and folds are an hour a year: more cases, so that the rare ones are reached.
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Starts on and a few days before a clock change, so that both `t` and its due time
        /// fall in and around gaps and folds.
        #[test]
        fn due_grows_with_t_across_clock_changes(
            t in timestamp(),
            which in 0..2usize,
            days_before in 0..3i64,
            around in -7_200..7_200i64,
            later_by in 0..7_200i64,
            n in 0..3u32,
            shape in calendar_near(),
        ) {
            let calendar = build(t, shape);
            // Riyadh has had no clock changes since 1947.
            let Some(change) = calendar.zone().following(t).nth(which) else {
                return Ok(());
            };
            let offset = SignedDuration::from_secs(around - days_before * 86_400);
            let t1 = change.timestamp().checked_add(offset).unwrap();
            let t2 = t1.checked_add(SignedDuration::from_secs(later_by)).unwrap();
            let due1 = calendar.add_business_days(t1, n);
            let due2 = calendar.add_business_days(t2, n);
            prop_assert!(t1 <= due1 && due1 <= due2, "{} then {}: {} then {}", t1, t2, due1, due2);
            prop_assert!(calendar.is_business_day(calendar.local_date(due1)));
        }
    }
}
