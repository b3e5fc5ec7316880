//! Actions: the decision, every name with its result, and the registry writes an action makes.
//!
//! An action is stored with all its names (result `pending`) before anything is applied, so an
//! accepted decision is never lost. The names are kept in batches of [`BATCH`] consecutive names:
//! the names of a batch in one row of `action_names` (a JSON array), written once, and their
//! results in one row of `action_batches` (runs of names with the same result, and the batch's
//! counts): a million-name action is a hundred rows of each, not a million. It is then applied
//! a batch at a time, each one transaction that writes the names' new registry state and the
//! batch's results together: after a crash, the batches with pending names are exactly those
//! still to do. Undo works the same way on the names' undo results.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use holdfast_model::{ActionKind, DomainName, DsRecord, Effect, NameState, Registration};
use jiff::Timestamp;

use crate::bulk::{Bind, Col, bind_all};
use crate::registry::{ds_record, name, statuses, statuses_text};
use crate::{Result, StoreError, Tx, insert_error, micros, on, timestamp};

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionState {
    /// Waits for a second approver (delete).
    Proposed,
    /// Being applied; resumes after a restart.
    Applying,
    /// Every name has its result.
    Applied,
    /// Being undone; resumes after a restart.
    Undoing,
    /// Undone.
    Undone,
}

impl ActionState {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActionState::Proposed => "proposed",
            ActionState::Applying => "applying",
            ActionState::Applied => "applied",
            ActionState::Undoing => "undoing",
            ActionState::Undone => "undone",
        }
    }

    fn parse(text: &str) -> Result<ActionState> {
        [
            ActionState::Proposed,
            ActionState::Applying,
            ActionState::Applied,
            ActionState::Undoing,
            ActionState::Undone,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| corrupt("action state", text))
    }
}

/// What happened to one name of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemResult {
    /// Not yet applied.
    Pending,
    /// The registry changed.
    Applied,
    /// The name was already as the action would make it, or the action only records a decision.
    Already,
    /// The name is not in a TLD the deciding organisation runs.
    NotOurs,
    /// The action does not fit the name's state (the detail says why).
    Refused,
    /// Not a valid domain name (the detail says why).
    Invalid,
}

impl ItemResult {
    /// Every result.
    pub const ALL: [ItemResult; 6] = [
        ItemResult::Pending,
        ItemResult::Applied,
        ItemResult::Already,
        ItemResult::NotOurs,
        ItemResult::Refused,
        ItemResult::Invalid,
    ];

    /// The stored and wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ItemResult::Pending => "pending",
            ItemResult::Applied => "applied",
            ItemResult::Already => "already",
            ItemResult::NotOurs => "not-ours",
            ItemResult::Refused => "refused",
            ItemResult::Invalid => "invalid",
        }
    }

    fn parse(text: &str) -> Result<ItemResult> {
        ItemResult::ALL
            .into_iter()
            .find(|result| result.as_str() == text)
            .ok_or_else(|| corrupt("action result", text))
    }
}

/// What undo did to one name: `Some(true)` undone, `Some(false)` refused (see the detail).
pub type UndoResult = Option<bool>;

/// A new action, as decided.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub org_id: i64,
    pub kind: ActionKind,
    pub state: ActionState,
    pub reason: &'a str,
    pub case_ref: Option<&'a str>,
    pub requested_by: &'a str,
    pub decided_by: i64,
    pub legal_direction: Option<&'a str>,
    pub to_registrar_id: Option<i64>,
    pub until: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    /// The waiver that lets a create or transfer act (`waiver:ID v VERSION`), or that it was
    /// taken in an emergency without one (`emergency, srw:ID`: the retroactive request).
    pub waiver_ref: Option<&'a str>,
    pub created_at: Timestamp,
}

/// A stored action with how many of its names have each result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub id: i64,
    pub org_id: i64,
    pub kind: ActionKind,
    pub state: ActionState,
    pub reason: String,
    pub case_ref: Option<String>,
    pub requested_by: String,
    pub decided_by: i64,
    pub approved_by: Option<i64>,
    pub legal_direction: Option<String>,
    pub to_registrar_id: Option<i64>,
    pub until: Option<Timestamp>,
    pub deadline: Option<Timestamp>,
    pub waiver_ref: Option<String>,
    pub total: i64,
    pub created_at: Timestamp,
    pub applied_at: Option<Timestamp>,
    pub undone_by: Option<i64>,
    pub undone_at: Option<Timestamp>,
    /// Milliseconds from the last change being committed to it being visible in DNS: of the
    /// apply, or (reset when undo starts) of the undo.
    pub effect_ms: Option<i64>,
    /// How many names have each result.
    pub counts: Vec<(ItemResult, i64)>,
    /// How many names undo restored, and how many it refused.
    pub undone: i64,
    pub undo_refused: i64,
}

/// One name of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    pub seq: i64,
    pub name: String,
    pub result: ItemResult,
    pub detail: Option<String>,
    /// Boxed: most names of a large action carry one, and an unboxed `Effect` made each item
    /// four times larger to move.
    pub effect: Option<Box<Effect>>,
    pub undo: UndoResult,
    pub undo_detail: Option<String>,
}

/// One name of a new action, with its result so far (`pending`, or known at once: `invalid`,
/// `not-ours`).
#[derive(Debug, Clone)]
pub struct NewItem {
    pub name: String,
    pub result: ItemResult,
    pub detail: Option<String>,
}

/// A TLD with what actions need to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TldSettings {
    pub id: i64,
    pub name: DomainName,
    pub org_id: i64,
    pub sinkhole: Vec<DomainName>,
}

/// A change of one name's registry state, made by an action.
#[derive(Debug, Clone)]
pub struct StateChange<'a> {
    pub name: &'a DomainName,
    pub tld_id: i64,
    pub before: &'a NameState,
    pub after: &'a NameState,
}

/// Who a block made by an action is recorded for.
#[derive(Debug, Clone, Copy)]
pub struct BlockOrigin<'a> {
    /// The action that made the block, if an action did.
    pub action_id: Option<i64>,
    pub reason: &'a str,
    pub requested_by: &'a str,
}

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        value: value.to_owned(),
    }
}

#[derive(sqlx::FromRow)]
struct ActionRow {
    id: i64,
    org_id: i64,
    kind: String,
    state: String,
    reason: String,
    case_ref: Option<String>,
    requested_by: String,
    decided_by: i64,
    approved_by: Option<i64>,
    legal_direction: Option<String>,
    to_registrar_id: Option<i64>,
    until: Option<i64>,
    deadline: Option<i64>,
    waiver_ref: Option<String>,
    total: i64,
    created_at: i64,
    applied_at: Option<i64>,
    undone_by: Option<i64>,
    undone_at: Option<i64>,
    effect_ms: Option<i64>,
}

/// Names per stored batch. The runner applies a few batches per transaction (the service's
/// `BATCHES_PER_TRANSACTION`), so a stop loses at most that much work, which is redone.
pub const BATCH: usize = 10_000;

/// A run of a batch's names that share their results, as stored: how many, result, detail,
/// effect, undo, undo_detail.
type Run = (
    usize,
    String,
    Option<String>,
    Option<Box<Effect>>,
    Option<String>,
    Option<String>,
);

/// [`Run`], borrowed for writing.
type RunRef<'a> = (
    usize,
    &'a str,
    Option<&'a str>,
    Option<&'a Effect>,
    Option<&'a str>,
    Option<&'a str>,
);

/// How many names of a batch (or an action) have each result.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    pending: i64,
    applied: i64,
    already: i64,
    not_ours: i64,
    refused: i64,
    invalid: i64,
    undone: i64,
    undo_refused: i64,
    /// Applied names without an undo result.
    undo_pending: i64,
}

impl Counts {
    fn add(&mut self, result: ItemResult, undo: UndoResult) {
        *match result {
            ItemResult::Pending => &mut self.pending,
            ItemResult::Applied => &mut self.applied,
            ItemResult::Already => &mut self.already,
            ItemResult::NotOurs => &mut self.not_ours,
            ItemResult::Refused => &mut self.refused,
            ItemResult::Invalid => &mut self.invalid,
        } += 1;
        match (result, undo) {
            (_, Some(true)) => self.undone += 1,
            (_, Some(false)) => self.undo_refused += 1,
            (ItemResult::Applied, None) => self.undo_pending += 1,
            _ => {}
        }
    }

    fn by_result(&self) -> Vec<(ItemResult, i64)> {
        [
            (ItemResult::Pending, self.pending),
            (ItemResult::Applied, self.applied),
            (ItemResult::Already, self.already),
            (ItemResult::NotOurs, self.not_ours),
            (ItemResult::Refused, self.refused),
            (ItemResult::Invalid, self.invalid),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .collect()
    }
}

fn undo_text(undo: UndoResult) -> Option<&'static str> {
    undo.map(|undone| if undone { "undone" } else { "refused" })
}

/// A stored batch's names with their results, numbered from `first_seq`.
fn decode(first_seq: i64, names: &str, results: &str) -> Result<Vec<ActionItem>> {
    let names: Vec<String> =
        serde_json::from_str(names).map_err(|error| corrupt("action names", &error.to_string()))?;
    let runs: Vec<Run> = serde_json::from_str(results)
        .map_err(|error| corrupt("action results", &error.to_string()))?;
    if runs.iter().map(|run| run.0).sum::<usize>() != names.len() {
        return Err(corrupt("action results", "not one result per name"));
    }
    let mut items = Vec::with_capacity(names.len());
    let mut names = (first_seq..).zip(names);
    for (count, result, detail, effect, undo, undo_detail) in runs {
        let result = ItemResult::parse(&result)?;
        let undo = match undo.as_deref() {
            None => None,
            Some("undone") => Some(true),
            Some("refused") => Some(false),
            Some(other) => return Err(corrupt("undo result", other)),
        };
        items.extend(names.by_ref().take(count).map(|(seq, name)| ActionItem {
            seq,
            name,
            result,
            detail: detail.clone(),
            effect: effect.clone(),
            undo,
            undo_detail: undo_detail.clone(),
        }));
    }
    Ok(items)
}

/// The results of a batch of an action's names, encoded for [`Tx::write_batch`] — apart from
/// writing, so that it can be done while another statement runs.
#[derive(Debug)]
pub struct EncodedBatch {
    first_seq: i64,
    size: i64,
    counts: Counts,
    results: String,
}

/// One name's results, borrowed for encoding: result, detail, effect, undo, undo_detail.
type ResultsRef<'a> = (
    ItemResult,
    Option<&'a str>,
    Option<&'a Effect>,
    UndoResult,
    Option<&'a str>,
);

impl EncodedBatch {
    /// `items`, a whole batch as [`Tx::next_batches`] gave it; `None` when empty.
    pub fn of(items: &[ActionItem]) -> Result<Option<EncodedBatch>> {
        let Some(first) = items.first() else {
            return Ok(None);
        };
        let results = items.iter().map(|item| {
            (
                item.result,
                item.detail.as_deref(),
                item.effect.as_deref(),
                item.undo,
                item.undo_detail.as_deref(),
            )
        });
        EncodedBatch::new(first.seq, results).map(Some)
    }

    /// The batch of names from `first_seq` with these results: its size, its counts, and its
    /// results as runs of consecutive names with the same ones.
    fn new<'a>(
        first_seq: i64,
        results: impl Iterator<Item = ResultsRef<'a>>,
    ) -> Result<EncodedBatch> {
        let mut counts = Counts::default();
        let mut runs: Vec<RunRef<'a>> = Vec::new();
        for (result, detail, effect, undo, undo_detail) in results {
            counts.add(result, undo);
            let (result, undo) = (result.as_str(), undo_text(undo));
            match runs.last_mut() {
                Some(run)
                    if (run.1, run.2, run.3, run.4, run.5)
                        == (result, detail, effect, undo, undo_detail) =>
                {
                    run.0 += 1;
                }
                _ => runs.push((1, result, detail, effect, undo, undo_detail)),
            }
        }
        let size = runs.iter().map(|run| run.0).sum::<usize>();
        Ok(EncodedBatch {
            first_seq,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            counts,
            results: serde_json::to_string(&runs)
                .map_err(|error| corrupt("action results", &error.to_string()))?,
        })
    }
}

/// name, tld_id, registrar_id, statuses, created_at, expires_at
type NewDomainRow<'a> = (&'a str, i64, Option<i64>, String, i64, Option<i64>);

/// name, registrar_id, statuses, created_at, expires_at
type DomainRow = (String, Option<i64>, String, i64, Option<i64>);

const ACTION_COLUMNS: &str = "id, org_id, kind, state, reason, case_ref, requested_by, \
    decided_by, approved_by, legal_direction, to_registrar_id, until, deadline, waiver_ref, \
    total, created_at, applied_at, undone_by, undone_at, effect_ms";

fn optional_time(what: &'static str, value: Option<i64>) -> Result<Option<Timestamp>> {
    value.map(|at| timestamp(what, at)).transpose()
}

fn action(row: ActionRow) -> Result<Action> {
    let ActionRow {
        id,
        org_id,
        kind,
        state,
        reason,
        case_ref,
        requested_by,
        decided_by,
        approved_by,
        legal_direction,
        to_registrar_id,
        until,
        deadline,
        waiver_ref,
        total,
        created_at,
        applied_at,
        undone_by,
        undone_at,
        effect_ms,
    } = row;
    Ok(Action {
        id,
        org_id,
        kind: ActionKind::from_str(&kind).map_err(|_| corrupt("action kind", &kind))?,
        state: ActionState::parse(&state)?,
        reason,
        case_ref,
        requested_by,
        decided_by,
        approved_by,
        legal_direction,
        to_registrar_id,
        until: optional_time("action until", until)?,
        deadline: optional_time("action deadline", deadline)?,
        waiver_ref,
        total,
        created_at: timestamp("action created_at", created_at)?,
        applied_at: optional_time("action applied_at", applied_at)?,
        undone_by,
        undone_at: optional_time("action undone_at", undone_at)?,
        effect_ms,
        counts: Vec::new(),
        undone: 0,
        undo_refused: 0,
    })
}

impl Tx {
    /// Serialises registry writes made by actions: on PostgreSQL a transaction-scoped advisory
    /// lock (SQLite's write transactions are serial already).
    pub async fn lock_registry(&mut self) -> Result<()> {
        if let Tx::Postgres(tx) = self {
            sqlx::query("SELECT pg_advisory_xact_lock(4242)")
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Every TLD with its sinkhole hosts.
    pub async fn tld_settings(&mut self) -> Result<Vec<TldSettings>> {
        let rows: Vec<(i64, String, i64, Option<String>)> = on!(self, |conn| sqlx::query_as(
            "SELECT id, name, org_id, sinkhole_ns FROM tlds ORDER BY name"
        )
        .fetch_all(conn)
        .await)?;
        rows.into_iter()
            .map(|(id, tld, org_id, sinkhole)| {
                Ok(TldSettings {
                    id,
                    name: name("TLD", &tld)?,
                    org_id,
                    sinkhole: sinkhole
                        .unwrap_or_default()
                        .split_whitespace()
                        .map(|host| name("sinkhole host", host))
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    }

    /// Sets the sinkhole hosts of a TLD (redirect and create delegate to them).
    pub async fn set_tld_sinkhole(&mut self, tld_id: i64, hosts: &[DomainName]) -> Result<()> {
        let hosts: Vec<&str> = hosts.iter().map(DomainName::as_str).collect();
        on!(self, |conn| sqlx::query(
            "UPDATE tlds SET sinkhole_ns = $2 WHERE id = $1"
        )
        .bind(tld_id)
        .bind(hosts.join(" "))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// The operator's internal registrar, if one is set up.
    pub async fn internal_registrar(&mut self) -> Result<Option<i64>> {
        let row: Option<(i64,)> = on!(self, |conn| sqlx::query_as(
            "SELECT id FROM registrars WHERE internal"
        )
        .fetch_optional(conn)
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Whether a registrar exists.
    pub async fn registrar_exists(&mut self, id: i64) -> Result<bool> {
        let row: Option<(i64,)> = on!(self, |conn| sqlx::query_as(
            "SELECT id FROM registrars WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(conn)
        .await)?;
        Ok(row.is_some())
    }

    /// Stores a decided action with its names (each with its result so far: `pending`, or
    /// `invalid` / `not-ours` with the reason) in batches of [`BATCH`], and returns its id.
    pub async fn insert_action(&mut self, new: &NewAction<'_>, items: &[NewItem]) -> Result<i64> {
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let (id,): (i64,) = on!(self, |conn| {
            sqlx::query_as(
            "INSERT INTO actions (org_id, kind, state, reason, case_ref, requested_by, decided_by, \
             legal_direction, to_registrar_id, until, deadline, total, created_at, waiver_ref) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id"
        )
        .bind(new.org_id)
        .bind(new.kind.as_str())
        .bind(new.state.as_str())
        .bind(new.reason)
        .bind(new.case_ref)
        .bind(new.requested_by)
        .bind(new.decided_by)
        .bind(new.legal_direction)
        .bind(new.to_registrar_id)
        .bind(new.until.map(micros))
        .bind(new.deadline.map(micros))
        .bind(total)
        .bind(micros(new.created_at))
        .bind(new.waiver_ref)
        .fetch_one(conn)
        .await
        })
        .map_err(insert_error("action"))?;
        for (first_seq, batch) in (0_i64..).step_by(BATCH).zip(items.chunks(BATCH)) {
            let names: Vec<&str> = batch.iter().map(|item| item.name.as_str()).collect();
            let names = serde_json::to_string(&names)
                .map_err(|error| corrupt("action names", &error.to_string()))?;
            on!(self, |conn| sqlx::query(
                "INSERT INTO action_names (action_id, first_seq, names) VALUES ($1, $2, $3)"
            )
            .bind(id)
            .bind(first_seq)
            .bind(&names)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))
            .map_err(insert_error("names of an action"))?;
            let results = batch
                .iter()
                .map(|item| (item.result, item.detail.as_deref(), None, None, None));
            self.write_batch(id, &EncodedBatch::new(first_seq, results)?)
                .await?;
        }
        Ok(id)
    }

    /// Writes the results and counts of a batch of an action's names: new (as decided), or
    /// back as [`Tx::next_batches`] gave it. (The names themselves are written once, when the
    /// action is decided.)
    pub async fn write_batch(&mut self, action_id: i64, batch: &EncodedBatch) -> Result<()> {
        let EncodedBatch {
            first_seq,
            size,
            counts,
            results,
        } = batch;
        on!(self, |conn| sqlx::query(
            "INSERT INTO action_batches (action_id, first_seq, size, pending, applied, already, \
             not_ours, refused, invalid, undone, undo_refused, undo_pending, results) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (action_id, first_seq) DO UPDATE SET pending = excluded.pending, \
             applied = excluded.applied, already = excluded.already, \
             not_ours = excluded.not_ours, refused = excluded.refused, \
             invalid = excluded.invalid, undone = excluded.undone, \
             undo_refused = excluded.undo_refused, undo_pending = excluded.undo_pending, \
             results = excluded.results"
        )
        .bind(action_id)
        .bind(first_seq)
        .bind(size)
        .bind(counts.pending)
        .bind(counts.applied)
        .bind(counts.already)
        .bind(counts.not_ours)
        .bind(counts.refused)
        .bind(counts.invalid)
        .bind(counts.undone)
        .bind(counts.undo_refused)
        .bind(counts.undo_pending)
        .bind(results)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))
        .map_err(insert_error("results of an action"))?;
        Ok(())
    }

    /// One action with its result counts.
    pub async fn action(&mut self, id: i64) -> Result<Option<Action>> {
        let Some(mut action) = self.action_without_counts(id).await? else {
            return Ok(None);
        };
        self.count_results(&mut action).await?;
        Ok(Some(action))
    }

    /// Fills in how many of an action's names have each result (a sum over its batches).
    async fn count_results(&mut self, action: &mut Action) -> Result<()> {
        let id = action.id;
        let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64) = on!(self, |conn| {
            sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(pending), 0) AS BIGINT), \
             CAST(COALESCE(SUM(applied), 0) AS BIGINT), CAST(COALESCE(SUM(already), 0) AS BIGINT), \
             CAST(COALESCE(SUM(not_ours), 0) AS BIGINT), CAST(COALESCE(SUM(refused), 0) AS BIGINT), \
             CAST(COALESCE(SUM(invalid), 0) AS BIGINT), CAST(COALESCE(SUM(undone), 0) AS BIGINT), \
             CAST(COALESCE(SUM(undo_refused), 0) AS BIGINT), \
             CAST(COALESCE(SUM(undo_pending), 0) AS BIGINT) \
             FROM action_batches WHERE action_id = $1"
        )
        .bind(id)
        .fetch_one(conn)
        .await
        })?;
        let (
            pending,
            applied,
            already,
            not_ours,
            refused,
            invalid,
            undone,
            undo_refused,
            undo_pending,
        ) = row;
        let counts = Counts {
            pending,
            applied,
            already,
            not_ours,
            refused,
            invalid,
            undone,
            undo_refused,
            undo_pending,
        };
        action.counts = counts.by_result();
        action.undone = counts.undone;
        action.undo_refused = counts.undo_refused;
        Ok(())
    }

    /// One action without its result counts: for the runner, which reads it once per batch.
    pub async fn action_without_counts(&mut self, id: i64) -> Result<Option<Action>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM actions WHERE id = $1"
        ));
        let row: Option<ActionRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        row.map(action).transpose()
    }

    /// The newest actions, of one organisation or of all, with their result counts.
    pub async fn actions(&mut self, org_id: Option<i64>, limit: i64) -> Result<Vec<Action>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM actions WHERE ($1 IS NULL OR org_id = $1) \
             ORDER BY id DESC LIMIT $2"
        ));
        let rows: Vec<ActionRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(org_id)
            .bind(limit)
            .fetch_all(conn)
            .await)?;
        let mut actions = rows.into_iter().map(action).collect::<Result<Vec<_>>>()?;
        for listed in &mut actions {
            self.count_results(listed).await?;
        }
        Ok(actions)
    }

    /// The actions (of one organisation, or of all) that listed `name`, newest first, with the
    /// name's result in each: a domain's history. `name` is canonical (letters, digits, hyphens
    /// and dots), so it is found in the batches' JSON text as a whole string.
    pub async fn actions_naming(
        &mut self,
        org_id: Option<i64>,
        name: &str,
        limit: i64,
    ) -> Result<Vec<(Action, ActionItem)>> {
        let pattern = format!("%\"{name}\"%");
        let batches = self
            .named_batches(
                "JOIN actions a ON a.id = b.action_id \
                 WHERE ($1 IS NULL OR a.org_id = $1) AND n.names LIKE $2 \
                 ORDER BY b.action_id DESC, b.first_seq LIMIT $3",
                &[
                    Bind::Int(org_id),
                    Bind::Text(&pattern),
                    Bind::Int(Some(limit)),
                ],
            )
            .await?;
        let mut history = Vec::new();
        for (action_id, batch) in batches {
            let Some(item) = batch.into_iter().find(|item| item.name == name) else {
                continue;
            };
            if let Some(action) = self.action(action_id).await? {
                history.push((action, item));
            }
        }
        Ok(history)
    }

    /// The names of an action from `after_seq` on, `limit` at most.
    pub async fn action_items(
        &mut self,
        action_id: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ActionItem>> {
        let wanted = usize::try_from(limit).unwrap_or(0);
        let mut items: Vec<ActionItem> = Vec::new();
        let mut after = after_seq;
        while items.len() < wanted {
            let next = self
                .named_batches(
                    "WHERE b.action_id = $1 AND b.first_seq + b.size - 1 > $2 \
                     ORDER BY b.first_seq LIMIT 1",
                    &[Bind::Int(Some(action_id)), Bind::Int(Some(after))],
                )
                .await?
                .pop();
            let Some((_, batch)) = next else {
                break;
            };
            after = batch.last().map_or(after, |item| item.seq);
            let room = wanted - items.len();
            items.extend(
                batch
                    .into_iter()
                    .filter(|item| item.seq > after_seq)
                    .take(room),
            );
        }
        Ok(items)
    }

    /// The first `limit` batches of an action's names with some still to apply (or, `undoing`,
    /// still to undo: applied, without an undo result), in order, each whole; the caller gives
    /// those names their results and writes each back with [`Tx::write_batch`]. Empty when
    /// nothing is left.
    pub async fn next_batches(
        &mut self,
        action_id: i64,
        undoing: bool,
        limit: i64,
    ) -> Result<Vec<Vec<ActionItem>>> {
        let to_do = if undoing { "undo_pending" } else { "pending" };
        let filter =
            format!("WHERE b.action_id = $1 AND b.{to_do} > 0 ORDER BY b.first_seq LIMIT $2");
        let batches = self
            .named_batches(
                &filter,
                &[Bind::Int(Some(action_id)), Bind::Int(Some(limit))],
            )
            .await?;
        Ok(batches.into_iter().map(|(_, batch)| batch).collect())
    }

    /// The batches `filter` picks (what follows `FROM action_batches b JOIN action_names n`:
    /// joins, `WHERE`, `ORDER BY`, `LIMIT`, over `binds`), each with its action, its names
    /// decoded with their results.
    async fn named_batches(
        &mut self,
        filter: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<(i64, Vec<ActionItem>)>> {
        let sql = format!(
            "SELECT b.action_id, b.first_seq, n.names, b.results FROM action_batches b \
             JOIN action_names n ON n.action_id = b.action_id AND n.first_seq = b.first_seq \
             {filter}"
        );
        let rows: Vec<(i64, i64, String, String)> = on!(self, |conn| bind_all!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())),
            binds
        )
        .fetch_all(conn)
        .await)?;
        rows.into_iter()
            .map(|(action_id, first_seq, names, results)| {
                Ok((action_id, decode(first_seq, &names, &results)?))
            })
            .collect()
    }

    /// Where the first `limit` batches of an action with names still to apply start, in
    /// order: what [`Tx::next_batches`] would give, without the names.
    pub async fn pending_batch_starts(&mut self, action_id: i64, limit: i64) -> Result<Vec<i64>> {
        Ok(on!(self, |conn| sqlx::query_scalar(
            "SELECT first_seq FROM action_batches WHERE action_id = $1 AND pending > 0 \
             ORDER BY first_seq LIMIT $2"
        )
        .bind(action_id)
        .bind(limit)
        .fetch_all(conn)
        .await)?)
    }

    /// How many applied names of an action an undo has to reach.
    pub async fn names_to_undo(&mut self, action_id: i64) -> Result<i64> {
        let (count,): (i64,) = on!(self, |conn| sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(undo_pending), 0) AS BIGINT) FROM action_batches \
             WHERE action_id = $1"
        )
        .bind(action_id)
        .fetch_one(conn)
        .await)?;
        Ok(count)
    }

    /// Moves an action to `state`. `by` is the approver (to `Applying`) or the user who undoes
    /// it (to `Undoing`); `at` stamps `applied_at` (to `Applied`) or `undone_at` (to `Undone`).
    pub async fn set_action_state(
        &mut self,
        id: i64,
        state: ActionState,
        by: Option<i64>,
        at: Timestamp,
    ) -> Result<()> {
        let (set, value) = match state {
            ActionState::Applying => ("approved_by = COALESCE($3, approved_by)", by),
            ActionState::Undoing => ("undone_by = $3, effect_ms = NULL", by),
            ActionState::Applied => ("applied_at = $3", Some(micros(at))),
            ActionState::Undone => ("undone_at = $3", Some(micros(at))),
            ActionState::Proposed => ("approved_by = NULL, applied_at = $3", None),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE actions SET state = $2, {set} WHERE id = $1"
        ));
        on!(self, |conn| sqlx::query(sql)
            .bind(id)
            .bind(state.as_str())
            .bind(value)
            .execute(conn)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Records how long the action took to be visible in DNS.
    pub async fn set_effect_ms(&mut self, id: i64, effect_ms: i64) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE actions SET effect_ms = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(effect_ms)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Actions left half-done by a stop: applying or undoing.
    pub async fn unfinished_actions(&mut self) -> Result<Vec<(i64, ActionState)>> {
        let rows: Vec<(i64, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT id, state FROM actions WHERE state IN ('applying', 'undoing') ORDER BY id"
        )
        .fetch_all(conn)
        .await)?;
        rows.into_iter()
            .map(|(id, state)| Ok((id, ActionState::parse(&state)?)))
            .collect()
    }

    /// The registry state of `names` (registration and active block) at `now`; names with
    /// neither are left out (their state is the default).
    pub async fn name_states(
        &mut self,
        names: &[DomainName],
        now: Timestamp,
    ) -> Result<HashMap<DomainName, NameState>> {
        self.name_states_with(names, now, true).await
    }

    /// The registry state of `names`; without `delegations`, registrations come without their
    /// name servers and DS records (enough to tell registered from not, for create and block).
    pub async fn name_states_with(
        &mut self,
        names: &[DomainName],
        now: Timestamp,
        delegations: bool,
    ) -> Result<HashMap<DomainName, NameState>> {
        // Each lookup walks the given names and finds each by its key: on SQLite `CROSS JOIN`
        // keeps that order (joined the other way round, a lookup with name servers took ~30 µs
        // per name instead of ~2).
        let mut states: HashMap<DomainName, NameState> = HashMap::with_capacity(names.len());
        let keys: Vec<&str> = names.iter().map(DomainName::as_str).collect();
        let rows: Vec<DomainRow> = self
            .bulk_fetch_packed(
                "d.name, d.registrar_id, d.statuses, d.created_at, d.expires_at",
                "FROM {rows} AS v CROSS JOIN domains d WHERE d.name = v.column1",
                &[Col::Text],
                &keys,
                &[],
            )
            .await?;
        for (domain, registrar_id, status_text, created_at, expires_at) in rows {
            states.insert(
                name("domain", &domain)?,
                NameState {
                    registration: Some(Registration {
                        registrar_id,
                        statuses: statuses(&status_text)?,
                        nameservers: Vec::new(),
                        ds: Vec::new(),
                        created_at: timestamp("domain created_at", created_at)?,
                        expires_at: optional_time("domain expires_at", expires_at)?,
                    }),
                    blocked_until: None,
                },
            );
        }
        let none: &[&str] = &[];
        let delegated = if delegations { keys.as_slice() } else { none };
        let hosts: Vec<(String, String)> = self
            .bulk_fetch_packed(
                "n.domain, n.host",
                "FROM {rows} AS v CROSS JOIN domain_ns n WHERE n.domain = v.column1",
                &[Col::Text],
                delegated,
                &[],
            )
            .await?;
        for (domain, host) in hosts {
            if let Some(registration) = registration_of(&mut states, &domain) {
                registration.nameservers.push(name("name server", &host)?);
            }
        }
        let records: Vec<(String, i64, i64, i64, String)> = self
            .bulk_fetch_packed(
                "s.domain, s.key_tag, s.algorithm, s.digest_type, s.digest",
                "FROM {rows} AS v CROSS JOIN domain_ds s WHERE s.domain = v.column1",
                &[Col::Text],
                delegated,
                &[],
            )
            .await?;
        for (domain, key_tag, algorithm, digest_type, digest) in records {
            if let Some(registration) = registration_of(&mut states, &domain) {
                registration
                    .ds
                    .push(ds_record(key_tag, algorithm, digest_type, digest)?);
            }
        }
        let blocks: Vec<(String, i64)> = self
            .bulk_fetch(
                "SELECT b.name, o.ends_at FROM {rows} AS v CROSS JOIN blocked_names b \
                 JOIN block_orders o ON o.id = b.order_id \
                 WHERE b.name = v.column1 AND o.ends_at > $2",
                &[Col::Text],
                &keys,
                &[Bind::Int(Some(micros(now)))],
            )
            .await?;
        for (blocked, ends_at) in blocks {
            states
                .entry(name("blocked name", &blocked)?)
                .or_default()
                .blocked_until = Some(timestamp("block ends_at", ends_at)?);
        }
        for state in states.values_mut() {
            if let Some(registration) = &mut state.registration {
                registration.nameservers.sort();
                registration.ds.sort();
            }
        }
        Ok(states)
    }

    /// Writes the difference between each change's `before` and `after` state, in bulk, and
    /// queues every name whose delegation changed for publishing to DNS.
    pub async fn write_states(
        &mut self,
        changes: &[StateChange<'_>],
        origin: BlockOrigin<'_>,
        now: Timestamp,
    ) -> Result<()> {
        let mut removed = Vec::new();
        let mut added = Vec::new();
        let mut updated = Vec::new();
        let mut new_hosts = Vec::new();
        let mut new_ds = Vec::new();
        let mut replace_ns = Vec::new();
        let mut replace_ds = Vec::new();
        let mut blocked = Vec::new();
        let mut unblocked = Vec::new();
        let mut published = Vec::new();
        for change in changes {
            match (&change.before.registration, &change.after.registration) {
                (Some(_), None) => removed.push(change.name),
                (None, Some(after)) => {
                    added.push((change, after));
                    new_hosts.extend(after.nameservers.iter().map(|host| (change.name, host)));
                    new_ds.extend(after.ds.iter().map(|ds| (change.name, ds)));
                }
                (Some(before), Some(after)) => {
                    if before.statuses != after.statuses
                        || before.registrar_id != after.registrar_id
                    {
                        updated.push((change.name, after));
                    }
                    if before.nameservers != after.nameservers {
                        replace_ns.push(change.name);
                        new_hosts.extend(after.nameservers.iter().map(|host| (change.name, host)));
                    }
                    if before.ds != after.ds {
                        replace_ds.push(change.name);
                        new_ds.extend(after.ds.iter().map(|ds| (change.name, ds)));
                    }
                }
                (None, None) => {}
            }
            if change.before.delegation() != change.after.delegation() {
                published.push((change.tld_id, change.name));
            }
            match (change.before.blocked_until, change.after.blocked_until) {
                (None, Some(until)) => blocked.push((change, until)),
                (Some(_), None) => unblocked.push(change.name),
                _ => {}
            }
        }
        let at = micros(now);
        fn keys<'a>(names: &[&'a DomainName]) -> Vec<&'a str> {
            names.iter().map(|name| name.as_str()).collect()
        }
        for (table, column, names) in [
            ("domains", "name", &removed),
            ("domain_ns", "domain", &replace_ns),
            ("domain_ds", "domain", &replace_ds),
        ] {
            let sql = format!(
                "DELETE FROM {table} WHERE {column} IN (SELECT column1 FROM {{rows}} AS v)"
            );
            self.bulk_execute(&sql, &[Col::Text], &keys(names), &[])
                .await?;
        }
        let rows: Vec<NewDomainRow> = added
            .iter()
            .map(|(change, after)| {
                (
                    change.name.as_str(),
                    change.tld_id,
                    after.registrar_id,
                    statuses_text(after.statuses),
                    micros(after.created_at),
                    after.expires_at.map(micros),
                )
            })
            .collect();
        self.bulk_execute(
            "INSERT INTO domains (name, tld_id, registrar_id, statuses, created_at, expires_at, \
             updated_at) SELECT column1, column2, column3, column4, column5, column6, $2 \
             FROM {rows} AS v",
            &[Col::Text, Col::Int, Col::Int, Col::Text, Col::Int, Col::Int],
            &rows,
            &[Bind::Int(Some(at))],
        )
        .await
        .map_err(insert_error("domain"))?;
        // An upsert on names that are registered (under the registry lock), so that the rows
        // drive the statement: SQLite's UPDATE … FROM scanned the whole table instead. The
        // insert never happens; were a name missing, the foreign key refuses TLD 0.
        let rows: Vec<(&str, String, Option<i64>, i64)> = updated
            .iter()
            .map(|(name, after)| {
                (
                    name.as_str(),
                    statuses_text(after.statuses),
                    after.registrar_id,
                    micros(after.created_at),
                )
            })
            .collect();
        self.bulk_execute(
            "INSERT INTO domains (name, statuses, registrar_id, created_at, tld_id, updated_at) \
             SELECT column1, column2, column3, column4, 0, $2 FROM {rows} AS v WHERE true \
             ON CONFLICT (name) DO UPDATE SET statuses = excluded.statuses, \
             registrar_id = excluded.registrar_id, updated_at = excluded.updated_at",
            &[Col::Text, Col::Text, Col::Int, Col::Int],
            &rows,
            &[Bind::Int(Some(at))],
        )
        .await?;
        let hosts: Vec<(DomainName, DomainName)> = new_hosts
            .into_iter()
            .map(|(name, host)| (name.clone(), host.clone()))
            .collect();
        self.insert_nameservers(&hosts).await?;
        let records: Vec<(DomainName, DsRecord)> = new_ds
            .into_iter()
            .map(|(name, ds)| (name.clone(), ds.clone()))
            .collect();
        self.insert_ds(&records).await?;
        self.bulk_execute(
            "DELETE FROM blocked_names WHERE name IN (SELECT column1 FROM {rows} AS v)",
            &[Col::Text],
            &keys(&unblocked),
            &[],
        )
        .await?;
        // One order for the names of a TLD blocked until the same date (an action's names
        // all are); a name whose block ended but was not lifted yet is blocked again (its row
        // replaced). The names name the order just made: `blocked_names` has no foreign key
        // to check it (migration 0011).
        let mut by_order: BTreeMap<(Timestamp, i64), Vec<&str>> = BTreeMap::new();
        for (change, until) in &blocked {
            by_order
                .entry((*until, change.tld_id))
                .or_default()
                .push(change.name.as_str());
        }
        for ((until, tld_id), names) in by_order {
            let order_id = self
                .insert_block_order(origin, tld_id, at, micros(until))
                .await?;
            self.bulk_execute(
                "INSERT INTO blocked_names (name, order_id) \
                 SELECT column1, $2 FROM {rows} AS v WHERE true \
                 ON CONFLICT (name) DO UPDATE SET order_id = excluded.order_id",
                &[Col::Text],
                &names,
                &[Bind::Int(Some(order_id))],
            )
            .await
            .map_err(insert_error("block"))?;
        }
        let rows: Vec<(i64, &str)> = published
            .iter()
            .map(|(tld_id, name)| (*tld_id, name.as_str()))
            .collect();
        self.bulk_execute(
            "INSERT INTO dns_changes (tld_id, name) SELECT column1, column2 FROM {rows} AS v",
            &[Col::Int, Col::Text],
            &rows,
            &[],
        )
        .await?;
        Ok(())
    }
}

fn registration_of<'a>(
    states: &'a mut HashMap<DomainName, NameState>,
    domain: &str,
) -> Option<&'a mut Registration> {
    states
        .get_mut(domain)
        .and_then(|state| state.registration.as_mut())
}

/// An active block of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveBlock {
    pub reason: String,
    pub requested_by: String,
    pub ends_at: Timestamp,
    pub action_id: Option<i64>,
}

/// A block in force, as the blocks list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlock {
    pub name: String,
    pub reason: String,
    pub requested_by: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub action_id: Option<i64>,
}

/// The blocks in force: how many, how many lift by a time, and the first of them by end date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockList {
    pub total: i64,
    pub lifting_soon: i64,
    pub first: Vec<ListedBlock>,
}

impl Tx {
    /// The blocks in force at `now` in the TLDs of `org_id` (all, when `None`): their number,
    /// how many lift before `soon`, and the first `limit` by end date.
    pub async fn blocks_in_force(
        &mut self,
        org_id: Option<i64>,
        now: Timestamp,
        soon: Timestamp,
        limit: i64,
    ) -> Result<BlockList> {
        let (total, lifting_soon): (i64, i64) = on!(self, |conn| sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN o.ends_at <= $3 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM blocked_names b JOIN block_orders o ON o.id = b.order_id \
             JOIN tlds t ON t.id = o.tld_id \
             WHERE ($1 IS NULL OR t.org_id = $1) AND o.ends_at > $2"
        )
        .bind(org_id)
        .bind(micros(now))
        .bind(micros(soon))
        .fetch_one(conn)
        .await)?;
        let rows: Vec<(String, String, String, i64, i64, Option<i64>)> =
            on!(self, |conn| sqlx::query_as(
                "SELECT b.name, o.reason, o.requested_by, o.starts_at, o.ends_at, o.action_id \
                 FROM blocked_names b JOIN block_orders o ON o.id = b.order_id \
                 JOIN tlds t ON t.id = o.tld_id \
                 WHERE ($1 IS NULL OR t.org_id = $1) AND o.ends_at > $2 \
                 ORDER BY o.ends_at, b.name LIMIT $3"
            )
            .bind(org_id)
            .bind(micros(now))
            .bind(limit)
            .fetch_all(conn)
            .await)?;
        let first = rows
            .into_iter()
            .map(
                |(name, reason, requested_by, starts_at, ends_at, action_id)| {
                    Ok(ListedBlock {
                        name,
                        reason,
                        requested_by,
                        starts_at: timestamp("block starts_at", starts_at)?,
                        ends_at: timestamp("block ends_at", ends_at)?,
                        action_id,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        Ok(BlockList {
            total,
            lifting_soon,
            first,
        })
    }

    /// Records what a block decision says in a TLD (its names follow in `blocked_names`);
    /// returns its id.
    async fn insert_block_order(
        &mut self,
        origin: BlockOrigin<'_>,
        tld_id: i64,
        starts_at: i64,
        ends_at: i64,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO block_orders (tld_id, reason, requested_by, starts_at, ends_at, \
             action_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(tld_id)
        .bind(origin.reason)
        .bind(origin.requested_by)
        .bind(starts_at)
        .bind(ends_at)
        .bind(origin.action_id)
        .fetch_one(conn)
        .await)
        .map_err(insert_error("block"))?;
        Ok(id)
    }

    /// The block on `name` in force at `now`, if any.
    pub async fn active_block(
        &mut self,
        name: &DomainName,
        now: Timestamp,
    ) -> Result<Option<ActiveBlock>> {
        let row: Option<(String, String, i64, Option<i64>)> = on!(self, |conn| sqlx::query_as(
            "SELECT o.reason, o.requested_by, o.ends_at, o.action_id FROM blocked_names b \
             JOIN block_orders o ON o.id = b.order_id WHERE b.name = $1 AND o.ends_at > $2"
        )
        .bind(name.as_str())
        .bind(micros(now))
        .fetch_optional(conn)
        .await)?;
        row.map(|(reason, requested_by, ends_at, action_id)| {
            Ok(ActiveBlock {
                reason,
                requested_by,
                ends_at: timestamp("block ends_at", ends_at)?,
                action_id,
            })
        })
        .transpose()
    }

    /// Lifts the blocks whose end date has passed (their orders marked lifted at their end
    /// date, their names taken off); returns the names.
    pub async fn lift_expired_blocks(&mut self, now: Timestamp) -> Result<Vec<String>> {
        let orders: Vec<i64> = on!(self, |conn| sqlx::query_scalar(
            "UPDATE block_orders SET lifted_at = ends_at \
             WHERE lifted_at IS NULL AND ends_at <= $1 RETURNING id"
        )
        .bind(micros(now))
        .fetch_all(conn)
        .await)?;
        // Orders end rarely (this runs every minute and finds none most times): their names
        // are found by reading the table rather than by an index every block would write to.
        let names: Vec<(String,)> = self
            .bulk_fetch(
                "DELETE FROM blocked_names \
                 WHERE order_id IN (SELECT column1 FROM {rows} AS v) RETURNING name",
                &[Col::Int],
                &orders,
                &[],
            )
            .await?;
        Ok(names.into_iter().map(|(name,)| name).collect())
    }
}

/// Where a TLD's DNS is published, when not by the embedded server: an RFC 2136 primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsPrimary {
    /// `host:port`.
    pub server: String,
    pub tsig_name: String,
    /// Base64, as in the DNS servers' own configuration.
    pub tsig_secret: String,
}

/// A name whose delegation changed and must be published again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsChange {
    pub seq: i64,
    pub tld_id: i64,
    pub name: String,
}

impl Tx {
    /// Sets (or, with `None`, clears: the embedded server publishes) a TLD's RFC 2136 primary.
    pub async fn set_dns_primary(
        &mut self,
        tld_id: i64,
        primary: Option<&DnsPrimary>,
    ) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE tlds SET dns_primary = $2, tsig_name = $3, tsig_secret = $4 WHERE id = $1"
        )
        .bind(tld_id)
        .bind(primary.map(|p| p.server.as_str()))
        .bind(primary.map(|p| p.tsig_name.as_str()))
        .bind(primary.map(|p| p.tsig_secret.as_str()))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// A TLD's RFC 2136 primary, if it has one.
    pub async fn dns_primary(&mut self, tld_id: i64) -> Result<Option<DnsPrimary>> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = on!(self, |conn| {
            sqlx::query_as("SELECT dns_primary, tsig_name, tsig_secret FROM tlds WHERE id = $1")
                .bind(tld_id)
                .fetch_optional(conn)
                .await
        })?;
        Ok(match row {
            Some((Some(server), Some(tsig_name), Some(tsig_secret))) => Some(DnsPrimary {
                server,
                tsig_name,
                tsig_secret,
            }),
            _ => None,
        })
    }

    /// The oldest names waiting to be published, `limit` at most.
    pub async fn dns_changes(&mut self, limit: i64) -> Result<Vec<DnsChange>> {
        let rows: Vec<(i64, i64, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT seq, tld_id, name FROM dns_changes ORDER BY seq LIMIT $1"
        )
        .bind(limit)
        .fetch_all(conn)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(seq, tld_id, name)| DnsChange { seq, tld_id, name })
            .collect())
    }

    /// Forgets the changes of a TLD up to `seq`, once published.
    pub async fn published(&mut self, tld_id: i64, seq: i64) -> Result<u64> {
        Ok(on!(self, |conn| sqlx::query(
            "DELETE FROM dns_changes WHERE tld_id = $1 AND seq <= $2"
        )
        .bind(tld_id)
        .bind(seq)
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?)
    }
}

impl Tx {
    /// The last name an action changed (or, `undoing`, restored), to check in DNS.
    pub async fn last_changed_name(
        &mut self,
        action_id: i64,
        undoing: bool,
    ) -> Result<Option<String>> {
        let changed = if undoing { "undone" } else { "applied" };
        let filter =
            format!("WHERE b.action_id = $1 AND b.{changed} > 0 ORDER BY b.first_seq DESC LIMIT 1");
        let last = self
            .named_batches(&filter, &[Bind::Int(Some(action_id))])
            .await?
            .pop();
        let Some((_, batch)) = last else {
            return Ok(None);
        };
        Ok(batch
            .into_iter()
            .rev()
            .find(|item| {
                if undoing {
                    item.undo == Some(true)
                } else {
                    item.result == ItemResult::Applied
                }
            })
            .map(|item| item.name))
    }
}
