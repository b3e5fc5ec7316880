//! The statistics page: the case desk's figures for a period and TLD (a form that works without
//! JavaScript), each measure as an SVG chart beside a table of the same numbers, the CSV
//! download with the same filters, and the published yearly SRW tables.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use holdfast_model::srw::FigureTable;
use holdfast_model::stats::{Measure, PeriodKind, human_duration};
use holdfast_service::{ServiceError, Statistics};
use serde::Deserialize;

use super::chart::{Bar, bar_chart};
use super::desk::Choice;
use super::format::words;
use super::{Chrome, Session, error_page, render};
use crate::AppState;
use crate::stats_api::{StatsQuery, csv_response, stats_request, today};

/// The filters, as the form sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    from: String,
    to: String,
    tld: String,
    period: String,
}

impl PageQuery {
    fn api(&self) -> StatsQuery {
        StatsQuery {
            from: Some(self.from.clone()),
            to: Some(self.to.clone()),
            tld: Some(self.tld.clone()),
            period: Some(self.period.clone()),
            format: None,
        }
    }
}

/// A counting measure: its chart of totals over the range, and its table key × period.
pub struct CountSection {
    pub id: &'static str,
    pub title: &'static str,
    pub chart: String,
    pub rows: Vec<(String, Vec<i64>, i64)>,
}

/// One period of a timing measure.
pub struct TimeRow {
    pub period: String,
    pub count: i64,
    pub median: String,
    pub average: String,
    pub breached: i64,
    pub running: i64,
}

/// A timing measure: its chart of medians per period, and its table.
pub struct TimeSection {
    pub id: &'static str,
    pub title: &'static str,
    pub clock: bool,
    pub chart: String,
    pub rows: Vec<TimeRow>,
}

/// One TLD's totals over the range.
pub struct TldRow {
    pub tld: String,
    pub reports: i64,
    pub cases: i64,
    pub actions: i64,
    pub acknowledged: i64,
    pub breached: i64,
}

/// The published SRW tables: the years, then each table's title and rows.
pub struct SrwTables {
    pub years: Vec<String>,
    pub tables: Vec<FigureTable>,
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatsPage {
    chrome: Chrome,
    from: String,
    to: String,
    periods: Vec<Choice>,
    tlds: Vec<Choice>,
    errors: BTreeMap<&'static str, String>,
    csv_href: String,
    scope: String,
    period_labels: Vec<String>,
    counts: Vec<CountSection>,
    times: Vec<TimeSection>,
    per_tld: Vec<TldRow>,
    srw: SrwTables,
}

impl StatsPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

fn section_id(measure: Measure) -> &'static str {
    match measure {
        Measure::ReportsByThreatType => "reports-by-threat",
        Measure::ReportsBySource => "reports-by-source",
        Measure::CasesByThreatType => "cases-by-threat",
        Measure::ActionsByKind => "actions-by-kind",
        Measure::ActionNamesByResult => "names-by-result",
        Measure::TimeToAcknowledge => "time-to-acknowledge",
        Measure::TimeToAssess => "time-to-assess",
        Measure::TimeToMitigate => "time-to-mitigate",
    }
}

fn count_sections(stats: &Statistics) -> Vec<CountSection> {
    Measure::COUNTS
        .iter()
        .map(|measure| {
            let mut by_key: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for figure in stats
                .counts
                .iter()
                .filter(|f| f.measure == *measure && f.tld.is_none())
            {
                let cells = by_key
                    .entry(figure.key.as_str())
                    .or_insert_with(|| vec![0; stats.periods.len()]);
                if let Some(index) = stats.periods.iter().position(|p| *p == figure.period)
                    && let Some(cell) = cells.get_mut(index)
                {
                    *cell += figure.value;
                }
            }
            let rows: Vec<(String, Vec<i64>, i64)> = by_key
                .into_iter()
                .map(|(key, cells)| {
                    let total = cells.iter().sum();
                    (words(key), cells, total)
                })
                .collect();
            let bars: Vec<Bar> = rows
                .iter()
                .map(|(label, _, total)| Bar {
                    label: label.clone(),
                    value: *total,
                    shown: total.to_string(),
                })
                .collect();
            let id = section_id(*measure);
            CountSection {
                id,
                title: measure.title(),
                chart: bar_chart(&format!("{id}-chart"), measure.title(), &bars),
                rows,
            }
        })
        .collect()
}

fn time_sections(stats: &Statistics) -> Vec<TimeSection> {
    Measure::TIMES
        .iter()
        .map(|measure| {
            let rows: Vec<TimeRow> = stats
                .times
                .iter()
                .filter(|f| f.measure == *measure && f.tld.is_none())
                .map(|figure| TimeRow {
                    period: figure.period.clone(),
                    count: figure.summary.count,
                    median: figure
                        .summary
                        .median_seconds
                        .map_or_else(|| "—".to_owned(), human_duration),
                    average: figure
                        .summary
                        .average_seconds
                        .map_or_else(|| "—".to_owned(), human_duration),
                    breached: figure.breached,
                    running: figure.running,
                })
                .collect();
            let bars: Vec<Bar> = stats
                .times
                .iter()
                .filter(|f| f.measure == *measure && f.tld.is_none())
                .filter_map(|figure| {
                    let median = figure.summary.median_seconds?;
                    Some(Bar {
                        label: figure.period.clone(),
                        value: median,
                        shown: human_duration(median),
                    })
                })
                .collect();
            let id = section_id(*measure);
            let title = format!("{} (median per period)", measure.title());
            TimeSection {
                id,
                title: measure.title(),
                clock: *measure != Measure::TimeToMitigate,
                chart: bar_chart(&format!("{id}-chart"), &title, &bars),
                rows,
            }
        })
        .collect()
}

fn per_tld(stats: &Statistics) -> Vec<TldRow> {
    stats
        .tlds
        .iter()
        .map(|tld| {
            let count = |measure: Measure| -> i64 {
                stats
                    .counts
                    .iter()
                    .filter(|f| f.measure == measure && f.tld.as_deref() == Some(tld.as_str()))
                    .map(|f| f.value)
                    .sum()
            };
            let acknowledge = stats.times.iter().filter(|f| {
                f.measure == Measure::TimeToAcknowledge && f.tld.as_deref() == Some(tld.as_str())
            });
            TldRow {
                tld: tld.clone(),
                reports: count(Measure::ReportsByThreatType),
                cases: count(Measure::CasesByThreatType),
                actions: count(Measure::ActionsByKind),
                acknowledged: acknowledge.clone().map(|f| f.summary.count).sum(),
                breached: acknowledge.map(|f| f.breached).sum(),
            }
        })
        .collect()
}

fn choices(values: Vec<(String, String)>, selected: &str) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

/// `GET /statistics`: the figures for the filters; a filter that is not valid is named next to
/// its field, with what was typed kept.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Response {
    let actor = &session.actor;
    let tld_list = match state.service.tlds(actor).await {
        Ok(tlds) => tlds,
        Err(error) => return error_page(&session, &error),
    };
    let srw = match state.service.srw_figures().await {
        Ok(table) => SrwTables {
            years: table.years.keys().map(ToString::to_string).collect(),
            tables: table.tables(),
        },
        Err(error) => return error_page(&session, &error),
    };
    let mut errors = BTreeMap::new();
    let mut stats = None;
    let mut status = StatusCode::OK;
    match stats_request(&query.api(), today(&state)) {
        Err((field, reason)) => {
            errors.insert(field, reason);
        }
        Ok(request) => match state.service.statistics(actor, &request).await {
            Ok(figures) => stats = Some(figures),
            Err(ServiceError::Invalid { field, reason }) => {
                let field = match field.as_str() {
                    "from" => "from",
                    "to" => "to",
                    "period" => "period",
                    _ => "tld",
                };
                errors.insert(field, reason);
            }
            Err(error) => return error_page(&session, &error),
        },
    }
    if !errors.is_empty() {
        status = StatusCode::BAD_REQUEST;
    }
    let (from, to, period, tld) = match &stats {
        Some(stats) => (
            stats.from.to_string(),
            stats.to.to_string(),
            stats.period.as_str().to_owned(),
            stats.tld.clone().unwrap_or_default(),
        ),
        None => (
            query.from.clone(),
            query.to.clone(),
            query.period.clone(),
            query.tld.clone(),
        ),
    };
    let csv_href = format!(
        "/statistics.csv?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("from", &from)
            .append_pair("to", &to)
            .append_pair("tld", &tld)
            .append_pair("period", &period)
            .finish()
    );
    let mut tlds = vec![(String::new(), "every TLD".to_owned())];
    tlds.extend(
        tld_list
            .iter()
            .map(|t| (t.name.clone(), format!(".{}", t.name))),
    );
    let periods = PeriodKind::ALL
        .iter()
        .map(|kind| (kind.as_str().to_owned(), words(kind.as_str())))
        .collect();
    let scope = if tld.is_empty() {
        "every TLD".to_owned()
    } else {
        format!(".{tld}")
    };
    let page = StatsPage {
        chrome: Chrome::new(&session, "Statistics", "/statistics"),
        periods: choices(periods, if period.is_empty() { "month" } else { &period }),
        tlds: choices(tlds, &tld),
        from,
        to,
        errors,
        csv_href,
        scope,
        period_labels: stats
            .as_ref()
            .map(|s| s.periods.clone())
            .unwrap_or_default(),
        counts: stats.as_ref().map(count_sections).unwrap_or_default(),
        times: stats.as_ref().map(time_sections).unwrap_or_default(),
        per_tld: stats.as_ref().map(per_tld).unwrap_or_default(),
        srw,
    };
    render(status, &page)
}

/// `GET /statistics.csv`: the page's figures as open-data CSV, same filters.
pub async fn csv(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<PageQuery>,
) -> Response {
    let request = match stats_request(&query.api(), today(&state)) {
        Ok(request) => request,
        Err((field, reason)) => {
            return error_page(&session, &ServiceError::invalid(field, reason));
        }
    };
    match state.service.statistics(&session.actor, &request).await {
        Ok(stats) => csv_response(&stats),
        Err(error) => error_page(&session, &error),
    }
}
