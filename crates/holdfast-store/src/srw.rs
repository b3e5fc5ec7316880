//! Security Response Waiver requests: the draft as the requester writes it and, once complete,
//! the submitted request and its review, each kept as the model's JSON.

use holdfast_model::srw::{RequesterKind, Review, SrwRequestDraft, SubmittedRequest};
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
    i64,
    i64,
);

const SRW_COLUMNS: &str =
    "id, org_id, requester_kind, created_by, draft, submitted, review, created_at, updated_at";

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
    let (id, org_id, kind, created_by, draft, submitted, review, created_at, updated_at) = row;
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
        let submitted_at = record.submitted.as_ref().map(|s| micros(s.submitted_at));
        on!(self, |conn| sqlx::query(
            "UPDATE srw_requests SET draft = $2, submitted = $3, review = $4, updated_at = $5, \
             submitted_at = $6 WHERE id = $1"
        )
        .bind(record.id)
        .bind(&draft)
        .bind(submitted.as_deref())
        .bind(review.as_deref())
        .bind(micros(now))
        .bind(submitted_at)
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
