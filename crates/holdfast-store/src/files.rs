//! Files kept with what they belong to — a report's evidence, a waiver request's attachments —
//! each with its SHA-256, in one shape and one set of statements per owning table.

use jiff::Timestamp;

use crate::{Result, Tx, insert_error, micros, on, timestamp};

/// What a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOwner {
    /// A report's evidence (`evidence.report_id`).
    Report,
    /// A waiver request's attachment (`srw_attachments.request_id`).
    WaiverRequest,
}

impl FileOwner {
    /// The table and its owner column.
    const fn table(self) -> (&'static str, &'static str) {
        match self {
            FileOwner::Report => ("evidence", "report_id"),
            FileOwner::WaiverRequest => ("srw_attachments", "request_id"),
        }
    }

    const fn what(self) -> &'static str {
        match self {
            FileOwner::Report => "evidence",
            FileOwner::WaiverRequest => "attachment",
        }
    }
}

/// A stored file, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: i64,
    /// The report or request it belongs to.
    pub owner_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: Timestamp,
}

/// A file to store.
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub content: &'a [u8],
}

impl Tx {
    /// Stores a file of `owner_id`; returns its id.
    pub async fn insert_file(
        &mut self,
        owner: FileOwner,
        owner_id: i64,
        file: NewFile<'_>,
        now: Timestamp,
    ) -> Result<i64> {
        let (table, column) = owner.table();
        let size = i64::try_from(file.content.len()).unwrap_or(i64::MAX);
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} ({column}, filename, content_type, size, sha256, content, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        ));
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(sql)
            .bind(owner_id)
            .bind(file.filename)
            .bind(file.content_type)
            .bind(size)
            .bind(file.sha256)
            .bind(file.content)
            .bind(micros(now))
            .fetch_one(conn)
            .await)
        .map_err(insert_error(owner.what()))?;
        Ok(id)
    }

    /// The files of `owner_id`, without content, oldest first.
    pub async fn files(&mut self, owner: FileOwner, owner_id: i64) -> Result<Vec<StoredFile>> {
        let (table, column) = owner.table();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT id, {column}, filename, content_type, size, sha256, created_at \
             FROM {table} WHERE {column} = $1 ORDER BY id"
        ));
        let rows: Vec<(i64, i64, String, String, i64, String, i64)> =
            on!(self, |conn| sqlx::query_as(sql)
                .bind(owner_id)
                .fetch_all(conn)
                .await)?;
        rows.into_iter()
            .map(|(id, owner_id, filename, content_type, size, sha256, at)| {
                Ok(StoredFile {
                    id,
                    owner_id,
                    filename,
                    content_type,
                    size,
                    sha256,
                    created_at: timestamp(owner.what(), at)?,
                })
            })
            .collect()
    }

    /// A file with its content: (owner id, filename, content).
    pub async fn file_content(
        &mut self,
        owner: FileOwner,
        id: i64,
    ) -> Result<Option<(i64, String, Vec<u8>)>> {
        let (table, column) = owner.table();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {column}, filename, content FROM {table} WHERE id = $1"
        ));
        let row: Option<(i64, String, Vec<u8>)> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        Ok(row)
    }
}
