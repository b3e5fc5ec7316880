//! How times, countdowns and sizes read on the pages.

use holdfast_model::ClockStanding;
use jiff::{Timestamp, Unit};

/// A time as people read it: `2026-11-29 19:05 UTC`.
pub fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional time, or a dash.
pub fn maybe_time(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "—".to_owned(), time)
}

/// A span in days, hours and minutes: `2 d 3 h`, `3 h 12 min`, `12 min`.
fn span(seconds: i64) -> String {
    let minutes = seconds.unsigned_abs() / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else {
        format!("{minutes} min")
    }
}

/// How long until `due` at `now`: `in 3 h 12 min`, or `5 min overdue`.
pub fn countdown(due: Timestamp, now: Timestamp) -> String {
    let seconds = due
        .since((Unit::Second, now))
        .map_or(0, |span| span.get_seconds());
    if seconds >= 0 {
        format!("in {}", span(seconds))
    } else {
        format!("{} overdue", span(seconds))
    }
}

/// A clock's standing in words, and its CSS class.
pub fn standing(standing: ClockStanding) -> (&'static str, &'static str) {
    match standing {
        ClockStanding::Met => ("met", "met"),
        ClockStanding::MetLate => ("met late", "due_soon"),
        ClockStanding::Running => ("running", "running"),
        ClockStanding::DueSoon => ("due soon", "due_soon"),
        ClockStanding::Breached => ("breached", "breached"),
    }
}

/// A size in bytes as people read it.
pub fn size(bytes: i64) -> String {
    if bytes < 10 * 1024 {
        format!("{bytes} bytes")
    } else if bytes < 10 * 1024 * 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{} MiB", bytes / 1024 / 1024)
    }
}

/// A spelled value (`botnet_cc`, `action_decided`) as words.
pub fn words(spelled: &str) -> String {
    match spelled {
        "botnet_cc" => "botnet command and control".to_owned(),
        "csam" => "child sexual abuse material".to_owned(),
        "lea" => "law enforcement".to_owned(),
        "web_form" => "web form".to_owned(),
        "api" => "signed-in user".to_owned(),
        other => other.replace(['_', '-'], " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_as_people_say_them() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let at = |seconds: i64| Timestamp::from_second(1_800_000_000 + seconds).unwrap();
        assert_eq!(countdown(at(3 * 3600 + 12 * 60 + 5), now), "in 3 h 12 min");
        assert_eq!(countdown(at(-5 * 60), now), "5 min overdue");
        assert_eq!(countdown(at(2 * 86400 + 3 * 3600), now), "in 2 d 3 h");
        assert_eq!(time(now), "2027-01-15 08:00 UTC");
    }
}
