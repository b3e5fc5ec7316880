//! The case desk's statistics: counts and durations per period and TLD, counted by the database.
//!
//! The periods travel as one JSON parameter (`bulk.rs`: index, start, end in microseconds) and
//! each statement joins what it counts to them. Every figure comes twice: once per TLD (a report
//! is in a TLD when one of its names is; a case or an action decided from it, when one of its
//! reports' names is) and once for all TLDs together (`tld` NULL), where something in two TLDs
//! counts once — so the TLDs' figures need not add up to the total. Actions decided outside a
//! case have no TLD: they count in the totals only.

use holdfast_model::stats::Measure;
use jiff::Timestamp;

use crate::bulk::{Bind, Col};
use crate::{Result, Tx, micros};

/// Whose figures: a registry's (`None`: every registry's), and one of its TLDs or all.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsScope {
    pub org_id: Option<i64>,
    pub tld_id: Option<i64>,
}

/// A count of one key in one period (its index) and TLD (`None`: all together).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CountRow {
    pub period: i64,
    pub tld: Option<String>,
    pub key: String,
    pub value: i64,
}

/// One timed thing in one period and TLD: its duration in seconds when done, and whether it
/// was late (done after its due time, or a breach recorded).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DurationRow {
    pub period: i64,
    pub tld: Option<String>,
    pub seconds: Option<i64>,
    pub late: i64,
}

/// What a measure counts: the rows (`FROM` and joins), the instant that puts one in a period,
/// its registry, its key and value, and when it is in the TLD `t`.
struct Source {
    from: &'static str,
    filter: &'static str,
    at: &'static str,
    org: &'static str,
    key: &'static str,
    value: &'static str,
    in_tld: &'static str,
}

/// A case `c` is in TLD `t` when one of its reports names a name there.
const CASE_IN_TLD: &str = "EXISTS (SELECT 1 FROM reports r2 JOIN report_names n \
     ON n.report_id = r2.id WHERE r2.case_id = c.id AND n.tld_id = t.id)";

fn source(measure: Measure) -> Source {
    let reports = Source {
        from: "reports r",
        filter: "1 = 1",
        at: "r.received_at",
        org: "r.registry_org_id",
        key: "r.threat_type",
        value: "COUNT(*)",
        in_tld: "EXISTS (SELECT 1 FROM report_names n WHERE n.report_id = r.id \
                 AND n.tld_id = t.id)",
    };
    let action_in_tld = "EXISTS (SELECT 1 FROM cases c JOIN reports r2 ON r2.case_id = c.id \
         JOIN report_names n ON n.report_id = r2.id WHERE c.org_id = a.org_id \
         AND a.case_ref = 'case:' || c.id AND n.tld_id = t.id)";
    let clock = |filter| Source {
        from: "case_clocks k JOIN cases c ON c.id = k.case_id",
        filter,
        at: "k.started_at",
        org: "c.org_id",
        key: "''",
        value: "CASE WHEN k.done_at IS NULL THEN NULL ELSE (k.done_at - k.started_at) / 1000000 END",
        in_tld: CASE_IN_TLD,
    };
    match measure {
        Measure::ReportsByThreatType => reports,
        Measure::ReportsBySource => Source {
            key: "r.source_class",
            ..reports
        },
        Measure::CasesByThreatType => Source {
            from: "cases c",
            filter: "c.merged_into IS NULL",
            at: "c.created_at",
            org: "c.org_id",
            key: "c.threat_type",
            value: "COUNT(*)",
            in_tld: CASE_IN_TLD,
        },
        Measure::ActionsByKind => Source {
            from: "actions a",
            filter: "a.state <> 'proposed'",
            at: "a.created_at",
            org: "a.org_id",
            key: "a.kind",
            value: "COUNT(*)",
            in_tld: action_in_tld,
        },
        Measure::ActionNamesByResult => Source {
            from: "actions a JOIN action_batches b ON b.action_id = a.id CROSS JOIN \
                   (SELECT 'applied' AS result UNION ALL SELECT 'already' \
                   UNION ALL SELECT 'not-ours' UNION ALL SELECT 'refused' \
                   UNION ALL SELECT 'invalid' UNION ALL SELECT 'undone' \
                   UNION ALL SELECT 'undo-refused') x",
            filter: "a.state <> 'proposed'",
            at: "a.created_at",
            org: "a.org_id",
            key: "x.result",
            value: "CAST(SUM(CASE x.result WHEN 'applied' THEN b.applied \
                    WHEN 'already' THEN b.already WHEN 'not-ours' THEN b.not_ours \
                    WHEN 'refused' THEN b.refused WHEN 'invalid' THEN b.invalid \
                    WHEN 'undone' THEN b.undone ELSE b.undo_refused END) AS BIGINT)",
            in_tld: action_in_tld,
        },
        Measure::TimeToAcknowledge => clock("k.clock = 'acknowledge' AND c.merged_into IS NULL"),
        Measure::TimeToAssess => clock("k.clock = 'assess' AND c.merged_into IS NULL"),
        Measure::TimeToMitigate => Source {
            from: "cases c",
            filter: "c.merged_into IS NULL AND c.state IN ('mitigated', 'closed') \
                     AND EXISTS (SELECT 1 FROM actions a WHERE a.case_ref = 'case:' || c.id \
                     AND a.kind NOT IN ('refer', 'no-action') AND a.applied_at IS NOT NULL)",
            at: "c.created_at",
            org: "c.org_id",
            key: "''",
            value: "((SELECT MAX(a.applied_at) FROM actions a WHERE a.case_ref = 'case:' || c.id \
                    AND a.kind NOT IN ('refer', 'no-action') AND a.applied_at IS NOT NULL) \
                    - c.created_at) / 1000000",
            in_tld: CASE_IN_TLD,
        },
    }
}

/// `SELECT` over the periods `{rows}` (`p.column1` index, `column2` start, `column3` end),
/// once per TLD and once for all together; `$2` the registry, `$3` the TLD (either NULL).
fn statement(source: &Source, columns: &str, group: bool) -> String {
    let Source {
        from,
        filter,
        at,
        org,
        key,
        in_tld,
        ..
    } = source;
    let per_tld_group = if group {
        format!(" GROUP BY p.column1, t.name, {key}")
    } else {
        String::new()
    };
    let all_group = if group {
        format!(" GROUP BY p.column1, {key}")
    } else {
        String::new()
    };
    let within = format!("{at} >= p.column2 AND {at} < p.column3");
    format!(
        "SELECT p.column1 AS period, t.name AS tld, {columns} FROM {{rows}} p, {from} \
         JOIN tlds t ON t.org_id = {org} AND ($3 IS NULL OR t.id = $3) \
         WHERE {within} AND {filter} AND ($2 IS NULL OR {org} = $2) AND {in_tld}{per_tld_group} \
         UNION ALL \
         SELECT p.column1 AS period, CAST(NULL AS TEXT) AS tld, {columns} FROM {{rows}} p, {from} \
         WHERE {within} AND {filter} AND ($2 IS NULL OR {org} = $2) \
         AND ($3 IS NULL OR EXISTS (SELECT 1 FROM tlds t WHERE t.id = $3 AND {in_tld})){all_group}"
    )
}

const PERIOD_COLUMNS: [Col; 3] = [Col::Int, Col::Int, Col::Int];

fn period_rows(periods: &[(Timestamp, Timestamp)]) -> Vec<(i64, i64, i64)> {
    periods
        .iter()
        .zip(0..)
        .map(|((start, end), index)| (index, micros(*start), micros(*end)))
        .collect()
}

impl Tx {
    /// The counts of a counting measure per period (by index into `periods`) and TLD.
    pub async fn stat_counts(
        &mut self,
        measure: Measure,
        periods: &[(Timestamp, Timestamp)],
        scope: StatsScope,
    ) -> Result<Vec<CountRow>> {
        let source = source(measure);
        let columns = format!(
            "CAST({} AS TEXT) AS key, {} AS value",
            source.key, source.value
        );
        let sql = statement(&source, &columns, true);
        let rows: Vec<CountRow> = self
            .bulk_fetch(
                &sql,
                &PERIOD_COLUMNS,
                &period_rows(periods),
                &[Bind::Int(scope.org_id), Bind::Int(scope.tld_id)],
            )
            .await?;
        Ok(rows.into_iter().filter(|row| row.value != 0).collect())
    }

    /// The durations of a timing measure, one row per timed thing, per period and TLD.
    pub async fn stat_durations(
        &mut self,
        measure: Measure,
        periods: &[(Timestamp, Timestamp)],
        scope: StatsScope,
    ) -> Result<Vec<DurationRow>> {
        let source = source(measure);
        let late = if source.from.starts_with("case_clocks") {
            "CASE WHEN k.breached_at IS NOT NULL OR k.done_at > k.due THEN 1 ELSE 0 END"
        } else {
            "0"
        };
        let columns = format!(
            "CAST({} AS BIGINT) AS seconds, CAST({late} AS BIGINT) AS late",
            source.value
        );
        let sql = statement(&source, &columns, false);
        self.bulk_fetch(
            &sql,
            &PERIOD_COLUMNS,
            &period_rows(periods),
            &[Bind::Int(scope.org_id), Bind::Int(scope.tld_id)],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_measure_has_a_statement() {
        for measure in Measure::ALL {
            let sql = statement(&source(*measure), "1", true);
            assert!(sql.contains("{rows}") && sql.contains("$3"), "{sql}");
        }
    }
}
