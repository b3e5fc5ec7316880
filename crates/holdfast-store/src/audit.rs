//! The audit log: append-only rows, each chained to the one before by its hash.

use holdfast_model::audit::{AuditEntry, AuditEvent, GENESIS_HASH};
use jiff::Timestamp;

use crate::bulk::Col;
use crate::{Result, StoreError, Tx, insert_error, micros, on, timestamp};

type AuditRow = (
    i64,
    i64,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    String,
);

fn entry(row: AuditRow) -> Result<AuditEntry> {
    let (seq, at, actor, actor_user_id, org_id, action, subject, reason, details, prev, hash) = row;
    let details = serde_json::from_str(&details).map_err(|_| StoreError::Corrupt {
        what: "audit details",
        value: format!("entry {seq}"),
    })?;
    Ok(AuditEntry {
        seq,
        at: timestamp("audit at", at)?,
        event: AuditEvent {
            actor,
            actor_user_id,
            org_id,
            action,
            subject,
            reason,
            details,
        },
        prev_hash: prev,
        hash,
    })
}

impl Tx {
    /// Appends an entry at the end of the chain. Appenders are serialised: on SQLite by the write
    /// transaction, on PostgreSQL by a table lock held until commit, so the chain never forks.
    pub async fn append_audit(&mut self, at: Timestamp, event: AuditEvent) -> Result<AuditEntry> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE")
                .execute(&mut **tx)
                .await?;
        }
        let last: Option<(i64, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        )
        .fetch_optional(conn)
        .await)?;
        let (prev_seq, prev_hash) = last.unwrap_or((0, GENESIS_HASH.to_owned()));
        let entry = AuditEntry::chain(prev_seq, &prev_hash, at, event);
        let details = entry.event.details.to_string();
        on!(self, |conn| {
            sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, actor_user_id, org_id, action, subject, \
             reason, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(entry.seq)
        .bind(micros(entry.at))
        .bind(&entry.event.actor)
        .bind(entry.event.actor_user_id)
        .bind(entry.event.org_id)
        .bind(&entry.event.action)
        .bind(&entry.event.subject)
        .bind(&entry.event.reason)
        .bind(&details)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(entry)
    }

    /// Takes the chain's lock now rather than at the first append: on PostgreSQL a table lock
    /// held until commit, so that whatever the transaction reads before appending (the open
    /// cases a new report may join, say) cannot change under it in another process. On SQLite
    /// the write transaction already holds the database's one write lock.
    pub async fn lock_audit_chain(&mut self) -> Result<()> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Appends entries at the end of the chain, in order, in one statement (group commit of
    /// reports: one entry per report). Serialised as [`Tx::append_audit`] is.
    pub async fn append_audits(
        &mut self,
        events: Vec<(Timestamp, AuditEvent)>,
    ) -> Result<Vec<AuditEntry>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.lock_audit_chain().await?;
        let last: Option<(i64, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        )
        .fetch_optional(conn)
        .await)?;
        let (mut seq, mut hash) = last.unwrap_or((0, GENESIS_HASH.to_owned()));
        let mut entries = Vec::with_capacity(events.len());
        for (at, event) in events {
            let entry = AuditEntry::chain(seq, &hash, at, event);
            seq = entry.seq;
            hash.clone_from(&entry.hash);
            entries.push(entry);
        }
        type Row<'a> = (
            i64,
            i64,
            &'a str,
            Option<i64>,
            Option<i64>,
            &'a str,
            &'a str,
            &'a str,
            String,
            &'a str,
            &'a str,
        );
        let rows: Vec<Row<'_>> = entries
            .iter()
            .map(|entry| {
                (
                    entry.seq,
                    micros(entry.at),
                    entry.event.actor.as_str(),
                    entry.event.actor_user_id,
                    entry.event.org_id,
                    entry.event.action.as_str(),
                    entry.event.subject.as_str(),
                    entry.event.reason.as_str(),
                    entry.event.details.to_string(),
                    entry.prev_hash.as_str(),
                    entry.hash.as_str(),
                )
            })
            .collect();
        use Col::{Int, Text};
        self.bulk_execute(
            "INSERT INTO audit_log (seq, at, actor, actor_user_id, org_id, action, subject, \
             reason, details, prev_hash, hash) SELECT column1, column2, column3, column4, \
             column5, column6, column7, column8, column9, column10, column11 FROM {rows} AS v \
             WHERE true",
            &[Int, Int, Text, Int, Int, Text, Text, Text, Text, Text, Text],
            &rows,
            &[],
        )
        .await
        .map_err(insert_error("audit entry"))?;
        Ok(entries)
    }

    /// Up to `limit` entries after `after_seq`, in order; only those of `org_id` when given.
    pub async fn audit_entries(
        &mut self,
        after_seq: i64,
        limit: i64,
        org_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>> {
        let sql = "SELECT seq, at, actor, actor_user_id, org_id, action, subject, reason, details, \
                   prev_hash, hash FROM audit_log WHERE seq > $1 AND ($3 IS NULL OR org_id = $3) \
                   ORDER BY seq LIMIT $2";
        let rows: Vec<AuditRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(after_seq)
            .bind(limit)
            .bind(org_id)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(entry).collect()
    }
}
