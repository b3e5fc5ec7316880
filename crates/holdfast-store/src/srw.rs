//! Security Response Waiver requests: the draft as the requester writes it and, once complete,
//! the submitted request and its review, each kept as the model's JSON.

use std::collections::BTreeMap;

use holdfast_model::srw::{
    AfterActionReport, ClockMarks, RequesterKind, Review, ReviewClock, SrwRequestDraft,
    SubmittedRequest, ThreadMessage, Waiver, WaiverTerms,
};
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Result, StoreError, Tx, insert_error, micros, on, timestamp};

/// Which waiver requests a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrwScope {
    /// One requesting organisation's, drafts included.
    Organisation(i64),
    /// Every submitted one (the reviewers' queue).
    Submitted,
    /// Every one (admins).
    All,
}

/// A stored waiver request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrwRecord {
    pub id: i64,
    /// The requesting registry or registrar.
    pub org_id: i64,
    pub requester: RequesterKind,
    pub created_by: i64,
    pub draft: SrwRequestDraft,
    /// Once complete.
    pub submitted: Option<SubmittedRequest>,
    pub review: Option<Review>,
    /// The after-action report, once begun.
    pub report: Option<AfterActionReport>,
    /// Reminders and breaches recorded per review clock.
    pub marks: BTreeMap<ReviewClock, ClockMarks>,
    /// Questions, answers and notes between the two sides, oldest first.
    pub thread: Vec<ThreadMessage>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

type SrwRow = (
    i64,
    i64,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

const SRW_COLUMNS: &str = "id, org_id, requester_kind, created_by, draft, submitted, review, \
     report, marks, thread, created_at, updated_at";

fn json<T: Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt {
        what,
        value: error.to_string(),
    })
}

fn from_json<T: DeserializeOwned>(what: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        what,
        value: error.to_string(),
    })
}

fn srw_row(row: SrwRow) -> Result<SrwRecord> {
    let (
        id,
        org_id,
        kind,
        created_by,
        draft,
        submitted,
        review,
        report,
        marks,
        thread,
        created_at,
        updated_at,
    ) = row;
    Ok(SrwRecord {
        id,
        org_id,
        requester: kind.parse().map_err(|_| StoreError::Corrupt {
            what: "requester kind",
            value: kind.clone(),
        })?,
        created_by,
        draft: from_json("waiver request draft", &draft)?,
        submitted: submitted
            .map(|text| from_json("submitted waiver request", &text))
            .transpose()?,
        review: review
            .map(|text| from_json("waiver request review", &text))
            .transpose()?,
        report: report
            .map(|text| from_json("after-action report", &text))
            .transpose()?,
        marks: marks
            .map(|text| from_json("review clock marks", &text))
            .transpose()?
            .unwrap_or_default(),
        thread: thread
            .map(|text| from_json("waiver request thread", &text))
            .transpose()?
            .unwrap_or_default(),
        created_at: timestamp("waiver request created", created_at)?,
        updated_at: timestamp("waiver request updated", updated_at)?,
    })
}

impl Tx {
    /// Stores a new draft; returns its id.
    pub async fn insert_srw_draft(
        &mut self,
        org_id: i64,
        requester: RequesterKind,
        created_by: i64,
        draft: &SrwRequestDraft,
        now: Timestamp,
    ) -> Result<i64> {
        let draft = json("waiver request draft", draft)?;
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO srw_requests (org_id, requester_kind, created_by, draft, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
        )
        .bind(org_id)
        .bind(requester.as_str())
        .bind(created_by)
        .bind(&draft)
        .bind(micros(now))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("waiver request"))?;
        Ok(id)
    }

    /// Rewrites a request: its draft, and its submitted form and review once there are some.
    pub async fn update_srw(&mut self, record: &SrwRecord, now: Timestamp) -> Result<()> {
        let draft = json("waiver request draft", &record.draft)?;
        let submitted = record
            .submitted
            .as_ref()
            .map(|submitted| json("submitted waiver request", submitted))
            .transpose()?;
        let review = record
            .review
            .as_ref()
            .map(|review| json("waiver request review", review))
            .transpose()?;
        let report = record
            .report
            .as_ref()
            .map(|report| json("after-action report", report))
            .transpose()?;
        let marks = json("review clock marks", &record.marks)?;
        let thread = json("waiver request thread", &record.thread)?;
        let submitted_at = record.submitted.as_ref().map(|s| micros(s.submitted_at));
        on!(self, |conn| sqlx::query(
            "UPDATE srw_requests SET draft = $2, submitted = $3, review = $4, updated_at = $5, \
             submitted_at = $6, report = $7, marks = $8, thread = $9 WHERE id = $1"
        )
        .bind(record.id)
        .bind(&draft)
        .bind(submitted.as_deref())
        .bind(review.as_deref())
        .bind(micros(now))
        .bind(submitted_at)
        .bind(report.as_deref())
        .bind(&marks)
        .bind(&thread)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// One request.
    pub async fn srw_request(&mut self, id: i64) -> Result<Option<SrwRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SRW_COLUMNS} FROM srw_requests WHERE id = $1"
        ));
        let row: Option<SrwRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        row.map(srw_row).transpose()
    }

    /// The requests in `scope`, newest first.
    pub async fn srw_requests(&mut self, scope: SrwScope) -> Result<Vec<SrwRecord>> {
        let (condition, org_id) = match scope {
            SrwScope::Organisation(org_id) => ("org_id = $1", Some(org_id)),
            SrwScope::Submitted => ("submitted IS NOT NULL AND $1 IS NULL", None),
            SrwScope::All => ("$1 IS NULL", None),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SRW_COLUMNS} FROM srw_requests WHERE {condition} ORDER BY id DESC"
        ));
        let rows: Vec<SrwRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(org_id)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(srw_row).collect()
    }
}

/// A version of a waiver, with the request whose decision issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverRecord {
    pub waiver: Waiver,
    /// The request whose decision issued this version.
    pub request_id: i64,
    pub issued_by: i64,
    pub issued_at: Timestamp,
}

type WaiverRow = (i64, i64, i64, i64, String, i64, i64);

fn waiver_row(row: WaiverRow) -> Result<WaiverRecord> {
    let (id, holder_org, version, request_id, terms, issued_by, issued_at) = row;
    Ok(WaiverRecord {
        waiver: Waiver {
            id,
            version: u32::try_from(version).map_err(|_| StoreError::Corrupt {
                what: "waiver version",
                value: version.to_string(),
            })?,
            holder_org,
            terms: from_json("waiver terms", &terms)?,
        },
        request_id,
        issued_by,
        issued_at: timestamp("waiver issued", issued_at)?,
    })
}

impl Tx {
    /// Stores a new waiver for `holder_org` with its first version; returns its id.
    pub async fn insert_waiver(
        &mut self,
        holder_org: i64,
        request_id: i64,
        terms: &WaiverTerms,
        issued_by: i64,
        now: Timestamp,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO waivers (holder_org, created_at) VALUES ($1, $2) RETURNING id"
        )
        .bind(holder_org)
        .bind(micros(now))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("waiver"))?;
        self.insert_waiver_version(id, 1, request_id, terms, issued_by, now)
            .await?;
        Ok(id)
    }

    /// Stores `version` of waiver `waiver_id`.
    pub async fn insert_waiver_version(
        &mut self,
        waiver_id: i64,
        version: u32,
        request_id: i64,
        terms: &WaiverTerms,
        issued_by: i64,
        now: Timestamp,
    ) -> Result<()> {
        let terms = json("waiver terms", terms)?;
        on!(self, |conn| sqlx::query(
            "INSERT INTO waiver_versions (waiver_id, version, request_id, terms, issued_by, \
             issued_at) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(waiver_id)
        .bind(i64::from(version))
        .bind(request_id)
        .bind(&terms)
        .bind(issued_by)
        .bind(micros(now))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
        .map_err(insert_error("waiver version"))?;
        Ok(())
    }

    /// Every version of the waivers held by `holder_org` (all holders when `None`), by waiver
    /// and version.
    pub async fn waivers(&mut self, holder_org: Option<i64>) -> Result<Vec<WaiverRecord>> {
        self.waivers_where("$1 IS NULL OR w.holder_org = $1", holder_org)
            .await
    }

    /// The waiver versions the decision on request `request_id` issued.
    pub async fn waivers_issued_by(&mut self, request_id: i64) -> Result<Vec<WaiverRecord>> {
        self.waivers_where("v.request_id = $1", Some(request_id))
            .await
    }

    /// Every version of waiver `id`, oldest first (empty when there is none).
    pub async fn waiver(&mut self, id: i64) -> Result<Vec<WaiverRecord>> {
        self.waivers_where("w.id = $1", Some(id)).await
    }

    async fn waivers_where(
        &mut self,
        condition: &str,
        value: Option<i64>,
    ) -> Result<Vec<WaiverRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT w.id, w.holder_org, v.version, v.request_id, v.terms, v.issued_by, \
             v.issued_at FROM waivers w JOIN waiver_versions v ON v.waiver_id = w.id \
             WHERE {condition} ORDER BY w.id, v.version"
        ));
        let rows: Vec<WaiverRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(value)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(waiver_row).collect()
    }
}
