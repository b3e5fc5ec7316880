//! The case desk's statistics (SPEC A8): threats by type and source, actions taken and their
//! names' results, and the times to acknowledge, assess and mitigate, per TLD and period.
//! Registry staff see their own registry's figures, admins every registry's.

use std::collections::BTreeMap;

use holdfast_model::org::{Actor, Permission, Role};
use holdfast_model::stats::{DurationSummary, Measure, PeriodKind, periods};
use holdfast_store::StatsScope;
use jiff::civil::Date;
use serde::Serialize;

use crate::{Result, Service, ServiceError, require};

/// What figures to compute: the days (both included, UTC), how to group them, and one TLD (by
/// name) or all the actor may see.
#[derive(Debug, Clone)]
pub struct StatsRequest {
    pub from: Date,
    pub to: Date,
    pub period: PeriodKind,
    pub tld: Option<String>,
}

/// A count: in one period (its label) and TLD (`None`: all TLDs together), of one key of a
/// counting measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountFigure {
    pub period: String,
    pub tld: Option<String>,
    pub measure: Measure,
    pub key: String,
    pub value: i64,
}

/// A timing measure in one period and TLD: how many were done, the median and average in
/// seconds, how many were late (clocks only) and how many are still running (clocks only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeFigure {
    pub period: String,
    pub tld: Option<String>,
    pub measure: Measure,
    #[serde(flatten)]
    pub summary: DurationSummary,
    pub breached: i64,
    pub running: i64,
}

/// The figures asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    pub from: Date,
    pub to: Date,
    pub period: PeriodKind,
    pub tld: Option<String>,
    /// The periods' labels, in order.
    pub periods: Vec<String>,
    /// The TLDs the figures may name, by name.
    pub tlds: Vec<String>,
    /// Counts, by measure, period, TLD (all together first) and key; zero counts left out.
    pub counts: Vec<CountFigure>,
    /// Times, by measure, period and TLD (all together first); periods with nothing timed
    /// left out.
    pub times: Vec<TimeFigure>,
}

/// What was timed in one period and TLD: the durations done, how many late, how many running.
type Timed = (Vec<i64>, i64, i64);

/// One line of the open-data form: period, TLD (`None`: all), measure, key, value.
pub type StatsLine<'a> = (&'a str, Option<&'a str>, Measure, &'a str, i64);

impl Statistics {
    /// Every figure as one line: counts by their key; times as `count`, `median_seconds`,
    /// `average_seconds` (when anything was done), `breached` and `running`.
    pub fn lines(&self) -> Vec<StatsLine<'_>> {
        let mut lines = Vec::new();
        for figure in &self.counts {
            lines.push((
                figure.period.as_str(),
                figure.tld.as_deref(),
                figure.measure,
                figure.key.as_str(),
                figure.value,
            ));
        }
        for figure in &self.times {
            let line = |key, value| {
                (
                    figure.period.as_str(),
                    figure.tld.as_deref(),
                    figure.measure,
                    key,
                    value,
                )
            };
            lines.push(line("count", figure.summary.count));
            if let Some(median) = figure.summary.median_seconds {
                lines.push(line("median_seconds", median));
            }
            if let Some(average) = figure.summary.average_seconds {
                lines.push(line("average_seconds", average));
            }
            if figure.measure != Measure::TimeToMitigate {
                lines.push(line("breached", figure.breached));
                lines.push(line("running", figure.running));
            }
        }
        lines
    }
}

impl Service {
    /// The case desk's figures for `request`: a registry's own (staff), or every registry's
    /// (admins). A TLD the actor may not see is refused as `tld`; a range that cannot be cut
    /// into periods names `from`, `to` or `period`.
    pub async fn statistics(&self, actor: &Actor, request: &StatsRequest) -> Result<Statistics> {
        require(actor, Permission::WorkCases)?;
        let cut = periods(request.period, request.from, request.to)
            .map_err(|error| ServiceError::invalid(error.field, error.reason))?;
        let bounds: Vec<_> = cut
            .iter()
            .map(|period| (period.start, period.end))
            .collect();
        let org_id = (actor.role != Role::Admin).then_some(actor.org_id);
        let mut tx = self.store.read().await?;
        let tlds = tx.tlds(org_id).await?;
        let tld_id = match &request.tld {
            None => None,
            Some(name) => Some(
                tlds.iter()
                    .find(|tld| tld.name == *name)
                    .map(|tld| tld.id)
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "tld",
                            format!("{name:?} is not a TLD whose figures you may see"),
                        )
                    })?,
            ),
        };
        let scope = StatsScope { org_id, tld_id };
        let label = |index: i64| -> String {
            usize::try_from(index)
                .ok()
                .and_then(|index| cut.get(index))
                .map(|period| period.label.clone())
                .unwrap_or_default()
        };
        // Sorted: all TLDs together (None) before each TLD, periods in order.
        let mut counts: BTreeMap<(Measure, i64, Option<String>, String), i64> = BTreeMap::new();
        for measure in Measure::COUNTS {
            for row in tx.stat_counts(measure, &bounds, scope).await? {
                *counts
                    .entry((measure, row.period, row.tld, row.key))
                    .or_default() += row.value;
            }
        }
        let mut timed: BTreeMap<(Measure, i64, Option<String>), Timed> = BTreeMap::new();
        for measure in Measure::TIMES {
            for row in tx.stat_durations(measure, &bounds, scope).await? {
                let entry = timed.entry((measure, row.period, row.tld)).or_default();
                match row.seconds {
                    Some(seconds) => entry.0.push(seconds),
                    None => entry.2 += 1,
                }
                entry.1 += row.late;
            }
        }
        Ok(Statistics {
            from: request.from,
            to: request.to,
            period: request.period,
            tld: request.tld.clone(),
            periods: cut.iter().map(|period| period.label.clone()).collect(),
            tlds: tlds
                .into_iter()
                .filter(|tld| tld_id.is_none_or(|id| id == tld.id))
                .map(|tld| tld.name)
                .collect(),
            counts: counts
                .into_iter()
                .map(|((measure, period, tld, key), value)| CountFigure {
                    period: label(period),
                    tld,
                    measure,
                    key,
                    value,
                })
                .collect(),
            times: timed
                .into_iter()
                .map(
                    |((measure, period, tld), (seconds, breached, running))| TimeFigure {
                        period: label(period),
                        tld,
                        measure,
                        summary: DurationSummary::of(&seconds),
                        breached,
                        running,
                    },
                )
                .collect(),
        })
    }
}
