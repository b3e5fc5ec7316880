//! The case desk's statistics over HTTP: `GET /api/v1/statistics` (JSON) and
//! `/api/v1/statistics.csv` (or `format=csv`: open data, one line per period × TLD × measure ×
//! key). The query is read here, once, into the service's `StatsRequest`; the web page reads
//! its form with the same function.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use holdfast_model::stats::{PeriodKind, last_twelve_months};
use holdfast_service::{Statistics, StatsRequest};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{ApiQuery, Auth};

/// The filters of the figures. Empty values count as absent (an HTML form sends them).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// The first day, `YYYY-MM-DD` (UTC). Default: the first day of the month eleven months
    /// before `to`.
    #[serde(default)]
    pub from: Option<String>,
    /// The last day, included, `YYYY-MM-DD` (UTC). Default: today.
    #[serde(default)]
    pub to: Option<String>,
    /// One TLD, by name (`demo`); default: every TLD the caller may see.
    #[serde(default)]
    pub tld: Option<String>,
    /// `week`, `month` (default), `quarter` or `year`.
    #[serde(default)]
    pub period: Option<String>,
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// The request a query stands for on `today`, or the field at fault and why.
pub fn stats_request(
    query: &StatsQuery,
    today: Date,
) -> Result<StatsRequest, (&'static str, String)> {
    let day = |field: &'static str, value: &Option<String>| -> Result<Option<Date>, _> {
        given(value)
            .map(|text| {
                text.parse::<Date>()
                    .map_err(|_| (field, format!("{text:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    };
    let to = day("to", &query.to)?.unwrap_or(today);
    let from = day("from", &query.from)?.unwrap_or_else(|| last_twelve_months(to).0);
    let period = given(&query.period)
        .map(|text| {
            text.parse::<PeriodKind>()
                .map_err(|error| ("period", error.to_string()))
        })
        .transpose()?
        .unwrap_or(PeriodKind::Month);
    let tld = given(&query.tld).map(|text| text.trim_start_matches('.').to_ascii_lowercase());
    Ok(StatsRequest {
        from,
        to,
        period,
        tld,
    })
}

/// Today's date in UTC at the state's clock.
pub fn today(state: &AppState) -> Date {
    state.clock.now().to_zoned(TimeZone::UTC).date()
}

/// A count of one key of a measure in one period and TLD.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountOut {
    /// The period's label: `2026-12`, `2026-W49`, `2026-Q4` or `2026`.
    pub period: String,
    /// The TLD; `null` for all TLDs together (where something in two TLDs counts once).
    pub tld: Option<String>,
    /// `reports_by_threat_type`, `reports_by_source`, `cases_by_threat_type`,
    /// `actions_by_kind` or `action_names_by_result`.
    pub measure: String,
    /// The threat type, source class, action kind or result counted.
    pub key: String,
    pub value: i64,
}

/// How long the desk took, in one period and TLD.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimeOut {
    pub period: String,
    /// The TLD; `null` for all TLDs together.
    pub tld: Option<String>,
    /// `time_to_acknowledge`, `time_to_assess` (their clocks, from start to done) or
    /// `time_to_mitigate` (from the case's opening to its last registry action taking effect).
    pub measure: String,
    /// How many were done.
    pub count: i64,
    pub median_seconds: Option<i64>,
    pub average_seconds: Option<i64>,
    /// Clocks done after their due time or breached (0 for `time_to_mitigate`, which has no
    /// target).
    pub breached: i64,
    /// Clocks still running.
    pub running: i64,
}

/// The case desk's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatisticsOut {
    pub from: String,
    pub to: String,
    pub period: String,
    pub tld: Option<String>,
    /// The periods' labels, in order.
    pub periods: Vec<String>,
    /// The TLDs in the figures.
    pub tlds: Vec<String>,
    /// Zero counts are left out.
    pub counts: Vec<CountOut>,
    /// Periods in which nothing was timed are left out.
    pub times: Vec<TimeOut>,
}

impl From<Statistics> for StatisticsOut {
    fn from(stats: Statistics) -> StatisticsOut {
        StatisticsOut {
            from: stats.from.to_string(),
            to: stats.to.to_string(),
            period: stats.period.as_str().to_owned(),
            tld: stats.tld,
            periods: stats.periods,
            tlds: stats.tlds,
            counts: stats
                .counts
                .into_iter()
                .map(|figure| CountOut {
                    period: figure.period,
                    tld: figure.tld,
                    measure: figure.measure.as_str().to_owned(),
                    key: figure.key,
                    value: figure.value,
                })
                .collect(),
            times: stats
                .times
                .into_iter()
                .map(|figure| TimeOut {
                    period: figure.period,
                    tld: figure.tld,
                    measure: figure.measure.as_str().to_owned(),
                    count: figure.summary.count,
                    median_seconds: figure.summary.median_seconds,
                    average_seconds: figure.summary.average_seconds,
                    breached: figure.breached,
                    running: figure.running,
                })
                .collect(),
        }
    }
}

/// What stands for all TLDs together in the CSV's `tld` column (no TLD has parentheses).
pub const ALL_TLDS: &str = "(all)";

/// The figures as open-data CSV: a header line, then one line per period × TLD × measure ×
/// key.
pub fn stats_csv(stats: &Statistics) -> String {
    let mut csv = String::from("period,tld,measure,key,value\r\n");
    for (period, tld, measure, key, value) in stats.lines() {
        let fields = [
            period,
            tld.unwrap_or(ALL_TLDS),
            measure.as_str(),
            key,
            &value.to_string(),
        ]
        .map(csv_field);
        csv.push_str(&fields.join(","));
        csv.push_str("\r\n");
    }
    csv
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The CSV as a download.
pub fn csv_response(stats: &Statistics) -> Response {
    crate::published::file(
        stats_csv(stats),
        "text/csv; charset=utf-8",
        &format!(
            "attachment; filename=\"holdfast-statistics-{}-{}.csv\"",
            stats.from, stats.to
        ),
    )
}

async fn figures(
    state: &AppState,
    actor: &holdfast_model::org::Actor,
    query: &StatsQuery,
) -> Result<Statistics, ApiError> {
    let request = stats_request(query, today(state)).map_err(|(field, reason)| {
        ApiError::field(StatusCode::BAD_REQUEST, "invalid", field, reason)
    })?;
    state
        .service
        .statistics(actor, &request)
        .await
        .map_err(ApiError::from_query)
}

/// The case desk's figures per period and TLD: threats by type and source, actions taken and
/// their names' results, times to acknowledge, assess and mitigate. Registry staff get their
/// registry's, admins every registry's.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "statistics", security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, description = "The figures (JSON, or CSV with format=csv)", body = StatisticsOut),
        (status = 400, description = "A query value is not valid; the field is named", body = ErrorEnvelope),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn statistics(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    let csv = match given(&query.format) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "invalid",
                "format",
                format!("format {other:?} is not one of json, csv"),
            ));
        }
    };
    let stats = figures(&state, &actor, &query).await?;
    if csv {
        Ok(csv_response(&stats))
    } else {
        Ok(Json(StatisticsOut::from(stats)).into_response())
    }
}

/// The same figures as open-data CSV: `period,tld,measure,key,value`, one line per period ×
/// TLD × measure × key; `tld` is `(all)` for all TLDs together; times in seconds.
#[utoipa::path(get, path = "/api/v1/statistics.csv", tag = "statistics", security(("bearer" = [])),
    params(StatsQuery),
    responses((status = 200, description = "The figures as CSV", content_type = "text/csv", body = String),
        (status = 400, description = "A query value is not valid; the field is named", body = ErrorEnvelope),
        (status = 403, description = "The role may not do this", body = ErrorEnvelope)))]
pub async fn statistics_csv(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    if let Some(other) = given(&query.format).filter(|format| *format != "csv") {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid",
            "format",
            format!("this address answers CSV only, not {other:?}"),
        ));
    }
    let stats = figures(&state, &actor, &query).await?;
    Ok(csv_response(&stats))
}
