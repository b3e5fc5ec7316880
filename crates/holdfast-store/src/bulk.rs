//! Statements over many rows with a single parameter: the rows travel as one JSON array of
//! arrays (`$1`; one column, the commonest case — a list of names — as a flat array of values,
//! which SQLite reads without extracting a column from each row) and the database unpacks them
//! into a derived table — SQLite with `jsonb_each`, PostgreSQL with `jsonb_array_elements`.
//! Binding one parameter per value instead costs sqlx microseconds per value, more the larger
//! the statement: a million-name import took a minute.

use serde::Serialize;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::{Result, StoreError, Tx, on};

/// Rows per statement.
pub(crate) const BULK: usize = 20_000;

/// The type of a column of the derived table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Col {
    Text,
    Int,
}

/// A value bound after the rows, as `$2`, `$3`, …
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bind<'a> {
    Int(Option<i64>),
    Text(&'a str),
}

/// `$query` with each of `$binds` (a slice of [`Bind`]) bound after what it has.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match *bind {
                $crate::bulk::Bind::Int(value) => query.bind(value),
                $crate::bulk::Bind::Text(value) => query.bind(value),
            };
        }
        query
    }};
}
pub(crate) use bind_all;

impl Tx {
    /// `(SELECT … AS column1, … AS columnN FROM <the JSON rows in $1>)` for this backend. One
    /// column travels as a flat array of values, more as an array of arrays.
    fn derived_table(&self, cols: &[Col]) -> String {
        let single = cols.len() == 1;
        let columns: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(index, col)| {
                let value = match self {
                    _ if single => "value".to_owned(),
                    Tx::Sqlite(_) => format!("value ->> {index}"),
                    Tx::Postgres(_) => format!("(value->>{index})"),
                };
                let cast = match (self, col) {
                    (Tx::Sqlite(_), _) => "",
                    (Tx::Postgres(_), Col::Text) => "::text",
                    (Tx::Postgres(_), Col::Int) => "::bigint",
                };
                format!("{value}{cast} AS column{}", index + 1)
            })
            .collect();
        let source = match (self, single) {
            // JSONB: the text is parsed once per statement, and each row is a binary value
            // whose columns are read without parsing it again.
            (Tx::Sqlite(_), _) => "jsonb_each($1)",
            (Tx::Postgres(_), true) => "jsonb_array_elements_text($1::jsonb)",
            (Tx::Postgres(_), false) => "jsonb_array_elements($1::jsonb)",
        };
        format!("(SELECT {} FROM {source})", columns.join(", "))
    }

    /// `sql` with `{rows}` replaced by the derived table.
    fn bulk_sql(&self, sql: &str, cols: &[Col]) -> String {
        sql.replace("{rows}", &self.derived_table(cols))
    }

    /// Runs `sql` (where `{rows}` stands for the rows as a table with columns `column1`…) over
    /// `rows`, each row a tuple serialised as a JSON array — or, with one column, a plain value
    /// (`&str`, `i64`; a 1-tuple would be read as an array); returns the rows affected.
    pub(crate) async fn bulk_execute<T: Serialize>(
        &mut self,
        sql: &str,
        cols: &[Col],
        rows: &[T],
        binds: &[Bind<'_>],
    ) -> std::result::Result<u64, sqlx::Error> {
        let sql = self.bulk_sql(sql, cols);
        let mut affected = 0;
        for chunk in rows.chunks(BULK) {
            let json =
                rows_json(chunk, cols).map_err(|error| sqlx::Error::Protocol(error.to_string()))?;
            affected += on!(self, |conn| {
                bind_all!(
                    sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(json),
                    binds
                )
                .execute(conn)
                .await
                .map(|done| done.rows_affected())
            })?;
        }
        Ok(affected)
    }

    /// Fetches the rows `sql` selects over `rows` (see [`Tx::bulk_execute`]).
    pub(crate) async fn bulk_fetch<T, R>(
        &mut self,
        sql: &str,
        cols: &[Col],
        rows: &[T],
        binds: &[Bind<'_>],
    ) -> Result<Vec<R>>
    where
        T: Serialize,
        R: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        let sql = self.bulk_sql(sql, cols);
        let mut fetched = Vec::new();
        for chunk in rows.chunks(BULK) {
            let json = rows_json(chunk, cols)?;
            let mut page: Vec<R> = on!(self, |conn| {
                bind_all!(
                    sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(json),
                    binds
                )
                .fetch_all(conn)
                .await
            })?;
            fetched.append(&mut page);
        }
        Ok(fetched)
    }

    /// [`Tx::bulk_fetch`] for many result rows: `SELECT columns from` (`from` naming `{rows}`),
    /// with the rows packed by the database into one JSON array per statement and read in one
    /// go — not row by row, which costs sqlx's SQLite driver microseconds a row.
    pub(crate) async fn bulk_fetch_packed<T, R>(
        &mut self,
        columns: &str,
        from: &str,
        cols: &[Col],
        rows: &[T],
        binds: &[Bind<'_>],
    ) -> Result<Vec<R>>
    where
        T: Serialize,
        R: serde::de::DeserializeOwned,
    {
        let packed = match self {
            Tx::Sqlite(_) => format!(
                "SELECT CAST(COALESCE(json_group_array(json_array({columns})), '[]') AS TEXT) \
                 {from}"
            ),
            Tx::Postgres(_) => {
                format!("SELECT COALESCE(json_agg(json_build_array({columns})), '[]')::text {from}")
            }
        };
        let pages: Vec<(String,)> = self.bulk_fetch(&packed, cols, rows, binds).await?;
        let mut fetched = Vec::new();
        for (json,) in pages {
            let mut page: Vec<R> =
                serde_json::from_str(&json).map_err(|error| StoreError::Corrupt {
                    what: "bulk rows",
                    value: error.to_string(),
                })?;
            fetched.append(&mut page);
        }
        Ok(fetched)
    }
}

/// The JSON of one chunk of rows, made just before its statement runs (not all chunks at once:
/// a million names' JSON is tens of megabytes).
fn rows_json<T: Serialize>(chunk: &[T], cols: &[Col]) -> Result<String> {
    let json = serde_json::to_string(chunk).map_err(|error| StoreError::Corrupt {
        what: "bulk rows",
        value: error.to_string(),
    })?;
    if cols.len() == 1 && json.starts_with("[[") {
        return Err(StoreError::Corrupt {
            what: "bulk rows",
            value: "one column travels as plain values, not as 1-tuples".to_owned(),
        });
    }
    Ok(json)
}
