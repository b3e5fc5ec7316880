//! The only SQL in Holdfast: one `Store` API over SQLite (embedded default) and PostgreSQL.
//!
//! Queries are written once, with `$N` placeholders that both drivers bind by number, and run on
//! whichever backend the store was opened with. Rows come back as tuples and are converted to
//! records here, so callers never see a database type.

mod accounts;
mod actions;
mod audit;
mod bulk;
mod cases;
mod files;
mod registry;
mod srw;
mod stats;
#[cfg(feature = "testing")]
pub mod testing;

pub use accounts::{ApiToken, NewUser, Organisation, Tld, User};
pub use actions::{
    Action, ActionItem, ActionState, ActiveBlock, BATCH, BlockList, BlockOrigin, DnsChange,
    DnsPrimary, EncodedBatch, ItemResult, ListedBlock, NewAction, NewItem, StateChange,
    TldSettings, UndoResult,
};
pub use cases::{
    Case, CaseClock, CaseFilter, DeskSettings, Direction, Message, NewMail, NewMessage, NewReport,
    QueuedCase, RecognisedSource, Referral, Report, ReportName,
};
pub use files::{FileOwner, NewFile, StoredFile};
pub use registry::{Domain, NewRegistrar, Registrar};
pub use srw::{SrwRecord, SrwScope, WaiverRecord};
pub use stats::{CountRow, DurationRow, StatsScope};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Postgres, Sqlite};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is already taken (e.g. an organisation name or e-mail address).
    #[error("{what} already exists")]
    Conflict { what: &'static str },
    /// A row refers to something that does not exist.
    #[error("{what} refers to something that does not exist")]
    MissingReference { what: &'static str },
    /// A stored value cannot be read back as what it should be.
    #[error("stored {what} is not valid: {value}")]
    Corrupt { what: &'static str, value: String },
    /// The database URL is not one Holdfast understands.
    #[error("database URL must start with sqlite: or postgres:, got {0:?}")]
    UnsupportedUrl(String),
    /// Applying the schema migrations failed.
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file: the embedded default.
    Sqlite,
    /// A PostgreSQL server: production, many instances.
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite, one file. Writes go through a pool of one connection, so that writers wait
    /// their turn in order instead of polling SQLite's lock (its busy handler sleeps up to
    /// 100 ms at a time, which made a loaded desk's slowest answers slow); reads have their own
    /// connections and never wait for a writer (WAL).
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
    },
    /// PostgreSQL.
    Postgres(PgPool),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How often the checkpointer copies what the SQLite log holds into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the SQLite log into the database file, passively (never waiting for or blocking a
/// reader or the writer), every [`CHECKPOINT_EVERY`] until the store is closed. One connection
/// of the readers' pool does it, so the writer's commits never include a checkpoint; a failed
/// round is tried again at the next tick (a checkpoint only ever moves committed pages).
async fn checkpointer(readers: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if readers.is_closed() {
            return;
        }
        let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&readers)
            .await;
        if let Err(error) = done {
            if readers.is_closed() {
                return;
            }
            tracing::warn!(%error, "checkpoint of the SQLite log failed; trying again");
        }
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database `holdfast.db` in `data_dir`, and migrates it.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Store> {
        Store::open_sqlite_file(&data_dir.join("holdfast.db")).await
    }

    /// Opens (creating if needed) an SQLite database file, and migrates it.
    pub async fn open_sqlite_file(path: &Path) -> Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Store::open_sqlite(options).await
    }

    /// Opens a database by URL (`sqlite:PATH` or `postgres://…`), and migrates it.
    pub async fn open(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
            Store::open_sqlite(options).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect_with(options)
                .await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> Result<Store> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        // A file on this machine: pinging a connection before handing it out (sqlx's default)
        // only cost a round trip to its worker thread on every transaction.
        // The writer never checkpoints: SQLite's own checkpoint would copy the log into the
        // database file inside the commit that crossed its threshold (0.6–1.2 s at the end of a
        // million-name zone import); the checkpointer does it beside the writer instead.
        let writer_options = options.clone().pragma("wal_autocheckpoint", "0");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(300))
            .connect_with(writer_options)
            .await?;
        SQLITE_MIGRATIONS.run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        tokio::spawn(checkpointer(readers.clone()));
        Ok(Store::Sqlite { writer, readers })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite { .. } => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once, so that
    /// it never fails half-way for want of an upgrade.
    pub async fn write(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a write transaction for loading many rows whose references the caller guarantees
    /// or checks itself (a zone import): on SQLite, foreign keys are not enforced in it — the
    /// lookup each row's reference costs is a large part of a million-row load — and its page
    /// cache is 64 MiB instead of 2 (the growing edges of four tables stay in it: a million
    /// delegations in 4.0–4.3 s instead of 4.6–4.8 s); its connection is closed afterwards, with
    /// its cache, instead of going back to the pool. On PostgreSQL it is [`Store::write`].
    pub async fn write_unchecked(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { writer, .. } => {
                let mut conn = writer.acquire().await?;
                conn.close_on_drop();
                for pragma in ["PRAGMA foreign_keys = OFF", "PRAGMA cache_size = -65536"] {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
                let begin = sqlx::SqlSafeStr::into_sql_str("BEGIN IMMEDIATE");
                Tx::Sqlite(sqlx::Transaction::begin(conn, Some(begin)).await?)
            }
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a transaction that only reads: a consistent snapshot.
    pub async fn read(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite { readers, .. } => Tx::Sqlite(readers.begin().await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Store::Sqlite { readers, .. } => sqlx::query("SELECT 1")
                .execute(readers)
                .await?
                .rows_affected(),
            Store::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await?.rows_affected(),
        };
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Store::Sqlite { writer, readers } => {
                readers.close().await;
                writer.close().await;
            }
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

/// A transaction; every read and write of the store goes through one. Dropped without
/// [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub enum Tx {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection, whichever the backend: the
/// body is written once and compiled for each driver.
macro_rules! on {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(tx) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *tx;
                $body
            }
            $crate::Tx::Postgres(tx) => {
                let $conn: &mut sqlx::PgConnection = &mut *tx;
                $body
            }
        }
    };
}
pub(crate) use on;

impl Tx {
    /// Makes every change of this transaction durable.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    /// Reads a value of the installation's own bookkeeping (e.g. whether the demo was created).
    pub async fn meta(&mut self, key: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = on!(self, |conn| sqlx::query_as(
            "SELECT value FROM meta WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(|(value,)| value))
    }

    /// Sets a value of the installation's own bookkeeping.
    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        )
        .bind(key)
        .bind(value)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }
}

/// Stored form of a timestamp: microseconds since the Unix epoch.
pub(crate) fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

/// Reads a stored timestamp back.
pub(crate) fn timestamp(what: &'static str, value: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(value).map_err(|_| StoreError::Corrupt {
        what,
        value: value.to_string(),
    })
}

/// Maps a failed insert to [`StoreError::Conflict`] or [`StoreError::MissingReference`] where
/// the database says so.
pub(crate) fn insert_error(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what },
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference { what }
        }
        _ => StoreError::Database(error),
    }
}
