//! Actions on names (SPEC A4): a decision on a list of any size, applied in chunks that each
//! commit the names' new state and results together, resumable after a stop, and undone exactly.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Instant;

use holdfast_model::org::{Actor, Permission, Role};
use holdfast_model::{ActionKind, ActionParams, Calendar, DomainName, NameState, Outcome};
use holdfast_store::{
    Action, ActionItem, ActionState, BATCH, BlockOrigin, EncodedBatch, ItemResult, NewAction,
    NewItem, StateChange, TldSettings, Tx,
};
use jiff::Timestamp;
use serde_json::json;

use crate::accounts::text;
use crate::waivers::{self, GateInput};
use crate::{Change, Clock, Result, Service, ServiceError, record, require};

/// Stored batches (of `holdfast_store::BATCH` names) the runner applies in one transaction:
/// the fixed cost of a transaction (its reads of the action and TLDs, a statement per kind of
/// row, the commit) is paid once per 50,000 names instead of once per 10,000.
const BATCHES_PER_TRANSACTION: i64 = 5;

/// Blocks that end within this span are "lifting soon" in the blocks list.
pub const LIFTING_SOON: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// Business days a registrar gets to answer a referral when the decision gives no deadline.
const REFERRAL_BUSINESS_DAYS: u32 = 2;

/// A decision to act on names.
#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub kind: ActionKind,
    /// The names as given: any case, U-labels, trailing dots; names below a registered name
    /// (`www.example.tld`) stand for it.
    pub names: Vec<String>,
    pub reason: String,
    pub case_ref: Option<String>,
    /// Who asked: a reporter, a court order; the deciding user when not given.
    pub requested_by: Option<String>,
    /// The gaining registrar (transfer).
    pub to_registrar: Option<i64>,
    /// The end of a block.
    pub until: Option<Timestamp>,
    /// The registrar's deadline (refer).
    pub deadline: Option<Timestamp>,
    /// The documented direction a delete acts on (a court order, say).
    pub legal_direction: Option<String>,
    /// Act now although no waiver covers a create or transfer on a gTLD: recorded, and a
    /// retroactive waiver request is opened.
    pub emergency: bool,
}

/// The names a request gives, each canonical and once, with the result known before applying.
pub(crate) struct Classified {
    pub(crate) items: Vec<NewItem>,
    pub(crate) pending: usize,
}

/// The TLDs an actor may act in, by name.
pub(crate) fn tlds_of(actor: &Actor, tlds: Vec<TldSettings>) -> HashMap<String, TldSettings> {
    tlds.into_iter()
        .filter(|tld| actor.role == Role::Admin || tld.org_id == actor.org_id)
        .map(|tld| (tld.name.as_str().to_owned(), tld))
        .collect()
}

/// Lists at least this long are checked on every core.
const PARALLEL_NAMES: usize = 50_000;

/// Each given name, checked: its registrable name in a TLD the actor may act in (pending),
/// a name of another TLD (not ours, why), or invalid (the input, cut short, and why).
fn check_some(names: &[String], tlds: &HashMap<String, TldSettings>) -> Vec<NewItem> {
    names
        .iter()
        .map(|given| {
            let parsed = match DomainName::parse(given) {
                Ok(parsed) => parsed,
                Err(error) => {
                    return NewItem {
                        name: given.chars().take(300).collect(),
                        result: ItemResult::Invalid,
                        detail: Some(error.to_string()),
                    };
                }
            };
            let tld = tlds.get(parsed.tld());
            // Most lists name registrable names themselves: those are kept without a copy.
            let registrable = match tld {
                Some(tld) if parsed.registrable_under(&tld.name) => Ok(parsed),
                Some(tld) => parsed.registrable_name(&tld.name).ok_or(parsed),
                None => Err(parsed),
            };
            match registrable {
                Ok(registrable) => NewItem {
                    name: registrable.into_string(),
                    result: ItemResult::Pending,
                    detail: None,
                },
                Err(parsed) => {
                    let detail = if tld.is_some() {
                        "is a TLD itself, not a name in it".to_owned()
                    } else {
                        format!("the TLD .{} is not one you run", parsed.tld())
                    };
                    NewItem {
                        name: parsed.into_string(),
                        result: ItemResult::NotOurs,
                        detail: Some(detail),
                    }
                }
            }
        })
        .collect()
}

/// The given names checked, in order, each valid name once (its first place in the list).
pub(crate) fn classify(names: &[String], tlds: &HashMap<String, TldSettings>) -> Classified {
    // Each name's hash (foldhash, seeded at random so that a list cannot be made to collide;
    // several times faster than SipHash on a short name) is taken as it is checked.
    let hasher = foldhash::fast::RandomState::default();
    let check = |names: &[String]| {
        let items = check_some(names, tlds);
        let hashes: Vec<u64> = items
            .iter()
            .map(|item| hasher.hash_one(item.name.as_str()))
            .collect();
        (items, hashes)
    };
    // Checking a name (IDNA) is most of the work and independent per name: a long list is cut
    // into one piece per core, checked in parallel and put back in order.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let parallel = names.len() >= PARALLEL_NAMES && threads > 1;
    let pieces: Vec<&[String]> = names.chunks(names.len().div_ceil(threads).max(1)).collect();
    let mut items = Vec::with_capacity(names.len());
    let mut hashes = Vec::with_capacity(names.len());
    for (some, their_hashes) in each_on_a_core(&pieces, parallel, |piece| check(piece)) {
        items.extend(some);
        hashes.extend(their_hashes);
    }
    // Repeats are found by their hashes in two halves (by one bit of the hash), each on a
    // core of its own when the list is long; then dropped in place: no name is copied.
    let repeats = each_on_a_core(&[0, 1], parallel, |&half| repeats_in(&items, &hashes, half));
    if repeats.iter().any(|half| !half.is_empty()) {
        let mut keep = vec![true; items.len()];
        for index in repeats.into_iter().flatten() {
            keep[index] = false;
        }
        let mut keep = keep.into_iter();
        items.retain(|_| keep.next().unwrap_or(true));
    }
    let pending = items
        .iter()
        .filter(|item| item.result == ItemResult::Pending)
        .count();
    Classified { items, pending }
}

/// `work` done on each of `pieces`, in order: each on a core of its own (a scoped thread) when
/// `parallel`, here one after the other otherwise. A piece whose thread failed is done again
/// here: none goes missing.
fn each_on_a_core<P: Sync, R: Send>(
    pieces: &[P],
    parallel: bool,
    work: impl Fn(&P) -> R + Sync,
) -> Vec<R> {
    if !parallel {
        return pieces.iter().map(&work).collect();
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = pieces
            .iter()
            .map(|piece| (piece, scope.spawn(|| work(piece))))
            .collect();
        workers
            .into_iter()
            .map(|(piece, worker)| worker.join().unwrap_or_else(|_| work(piece)))
            .collect()
    })
}

/// Where the valid names repeat an earlier one, among those whose hash has bit 40 = `half`
/// (a bit the hash table uses neither to place an entry nor to tag it). Invalid inputs are
/// all kept.
fn repeats_in(items: &[NewItem], hashes: &[u64], half: u64) -> Vec<usize> {
    let mut seen: hashbrown::HashTable<usize> =
        hashbrown::HashTable::with_capacity(items.len() / 2);
    let mut repeats = Vec::new();
    for (index, (item, &hash)) in items.iter().zip(hashes).enumerate() {
        if item.result == ItemResult::Invalid || (hash >> 40) & 1 != half {
            continue;
        }
        let same = |&earlier: &usize| items[earlier].name == item.name;
        match seen.entry(hash, same, |&earlier| hashes[earlier]) {
            hashbrown::hash_table::Entry::Occupied(_) => repeats.push(index),
            hashbrown::hash_table::Entry::Vacant(place) => {
                place.insert(index);
            }
        }
    }
    repeats
}

pub(crate) fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>> {
    value
        .filter(|value| !value.trim().is_empty())
        .map(|value| text(field, value, max))
        .transpose()
}

/// The block's end and the referral's deadline a request gives, checked against its kind and
/// `now` (a referral without one gets two business days).
pub(crate) fn timing(
    request: &ActionRequest,
    now: Timestamp,
) -> Result<(Option<Timestamp>, Option<Timestamp>)> {
    let kind = request.kind;
    if kind != ActionKind::Transfer && request.to_registrar.is_some() {
        return Err(ServiceError::invalid(
            "to_registrar",
            "only a transfer has one",
        ));
    }
    if kind != ActionKind::Block && request.until.is_some() {
        return Err(ServiceError::invalid(
            "until",
            "only a block has an end date",
        ));
    }
    if kind != ActionKind::Refer && request.deadline.is_some() {
        return Err(ServiceError::invalid(
            "deadline",
            "only a referral has a deadline",
        ));
    }
    let until = match (kind, request.until) {
        (ActionKind::Block, None) => {
            return Err(ServiceError::invalid("until", "a block needs an end date"));
        }
        (_, Some(until)) if until <= now => {
            return Err(ServiceError::invalid(
                "until",
                format!("{until} is not in the future"),
            ));
        }
        (_, until) => until,
    };
    let deadline = match (kind, request.deadline) {
        (_, Some(deadline)) if deadline <= now => {
            return Err(ServiceError::invalid(
                "deadline",
                format!("{deadline} is not in the future"),
            ));
        }
        (ActionKind::Refer, None) => {
            Some(referral_calendar()?.add_business_days(now, REFERRAL_BUSINESS_DAYS))
        }
        (_, deadline) => deadline,
    };
    Ok((until, deadline))
}

/// A transfer names a gaining registrar that exists.
pub(crate) async fn check_gaining(tx: &mut Tx, request: &ActionRequest) -> Result<()> {
    if request.kind == ActionKind::Transfer {
        let Some(to) = request.to_registrar else {
            return Err(ServiceError::invalid(
                "to_registrar",
                "a transfer needs the gaining registrar",
            ));
        };
        if !tx.registrar_exists(to).await? {
            return Err(ServiceError::invalid(
                "to_registrar",
                format!("no registrar has id {to}"),
            ));
        }
    }
    Ok(())
}

impl Service {
    /// Records a decision to act on names. Every name gets a result row at once; the action is
    /// then applied by [`Service::run_action`] (a delete only once a second user approves it).
    pub async fn decide_action(
        &self,
        actor: &Actor,
        request: ActionRequest,
        now: Timestamp,
    ) -> Result<Action> {
        require(actor, Permission::TakeAction)?;
        let reason = text("reason", &request.reason, 2000)?;
        let case_ref = optional_text("case_ref", request.case_ref.as_deref(), 100)?;
        let requested_by = optional_text("requested_by", request.requested_by.as_deref(), 300)?
            .unwrap_or_else(|| actor.email.clone());
        let legal_direction =
            optional_text("legal_direction", request.legal_direction.as_deref(), 2000)?;
        if request.names.is_empty() {
            return Err(ServiceError::invalid("names", "name at least one domain"));
        }
        let kind = request.kind;
        if kind == ActionKind::Delete && legal_direction.is_none() {
            return Err(ServiceError::invalid(
                "legal_direction",
                "a delete needs the documented direction it acts on (a court order, say)",
            ));
        }
        let (until, deadline) = timing(&request, now)?;
        let mut tx = self.store.write().await?;
        check_gaining(&mut tx, &request).await?;
        let tlds = tlds_of(actor, tx.tld_settings().await?);
        let started = Instant::now();
        let classified = classify(&request.names, &tlds);
        tracing::debug!(
            names = request.names.len(),
            ms = started.elapsed().as_millis(),
            "classified the names of a decision"
        );
        let gate = GateInput {
            kind,
            to_registrar: request.to_registrar,
            items: &classified.items,
            tlds: &tlds,
            emergency: request.emergency,
            reason: &reason,
            case_ref: case_ref.as_deref(),
        };
        let gate = waivers::gate(&mut tx, actor, gate, now).await?;
        let state = if kind == ActionKind::Delete {
            ActionState::Proposed
        } else {
            ActionState::Applying
        };
        let new = NewAction {
            org_id: actor.org_id,
            kind,
            state,
            reason: &reason,
            case_ref: case_ref.as_deref(),
            requested_by: &requested_by,
            decided_by: actor.user_id,
            legal_direction: legal_direction.as_deref(),
            to_registrar_id: request.to_registrar,
            until,
            deadline,
            waiver_ref: gate.waiver_ref.as_deref(),
            created_at: now,
        };
        let started = Instant::now();
        let id = tx.insert_action(&new, &classified.items).await?;
        tracing::debug!(
            action = id,
            ms = started.elapsed().as_millis(),
            "stored the names of a decision"
        );
        let change = Change {
            org_id: Some(actor.org_id),
            action: "action.decide",
            subject: format!("action:{id}"),
            reason: &reason,
            details: json!({
                "kind": kind.as_str(),
                "names": classified.items.len(),
                "to_apply": classified.pending,
                "first_names": classified.items.iter().take(20).map(|item| &item.name).collect::<Vec<_>>(),
                "case_ref": case_ref,
                "requested_by": requested_by,
                "legal_direction": legal_direction,
                "to_registrar": request.to_registrar,
                "until": until,
                "deadline": deadline,
                "waiver": gate.waiver_ref,
                "emergency_request": gate.emergency_request,
            }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let action = visible_action(&mut tx, actor, id).await?;
        tx.commit().await?;
        if state == ActionState::Applying {
            self.decided.put(id, classified.items);
        }
        Ok(action)
    }

    /// Approves a proposed delete: the second approver must be another user allowed to act for
    /// the same organisation.
    pub async fn approve_action(&self, actor: &Actor, id: i64, now: Timestamp) -> Result<Action> {
        require(actor, Permission::TakeAction)?;
        let mut tx = self.store.write().await?;
        let action = visible_action(&mut tx, actor, id).await?;
        if action.state != ActionState::Proposed {
            return Err(ServiceError::Conflict {
                what: format!(
                    "action {id} is {}, not waiting for approval",
                    action.state.as_str()
                ),
            });
        }
        if action.decided_by == actor.user_id {
            return Err(ServiceError::Conflict {
                what: "the second approver must be someone other than the user who decided"
                    .to_owned(),
            });
        }
        tx.set_action_state(id, ActionState::Applying, Some(actor.user_id), now)
            .await?;
        let change = Change {
            org_id: Some(action.org_id),
            action: "action.approve",
            subject: format!("action:{id}"),
            reason: &action.reason,
            details: json!({ "kind": action.kind.as_str(), "names": action.total }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let action = visible_action(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// Starts undoing an applied action: every name it changed goes back to what it was, as far
    /// as nothing changed it since. Undo then runs in [`Service::run_action`].
    pub async fn undo_action(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
        now: Timestamp,
    ) -> Result<Action> {
        require(actor, Permission::TakeAction)?;
        let reason = text("reason", reason, 2000)?;
        let mut tx = self.store.write().await?;
        let action = visible_action(&mut tx, actor, id).await?;
        if !action.kind.changes_registry() {
            return Err(ServiceError::Conflict {
                what: format!(
                    "a {} changes nothing in the registry; there is nothing to undo",
                    action.kind
                ),
            });
        }
        if action.state != ActionState::Applied {
            return Err(ServiceError::Conflict {
                what: format!(
                    "action {id} is {}; only an applied action can be undone",
                    action.state.as_str()
                ),
            });
        }
        let queued = tx.names_to_undo(id).await?;
        if queued == 0 {
            return Err(ServiceError::Conflict {
                what: format!("action {id} changed no name; there is nothing to undo"),
            });
        }
        tx.set_action_state(id, ActionState::Undoing, Some(actor.user_id), now)
            .await?;
        let change = Change {
            org_id: Some(action.org_id),
            action: "action.undo",
            subject: format!("action:{id}"),
            reason: &reason,
            details: json!({ "kind": action.kind.as_str(), "names": queued }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let action = visible_action(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(action)
    }

    /// One action, if the actor may see it.
    pub async fn action(&self, actor: &Actor, id: i64) -> Result<Action> {
        require(actor, Permission::TakeAction)?;
        let mut tx = self.store.read().await?;
        visible_action(&mut tx, actor, id).await
    }

    /// The newest actions the actor may see.
    pub async fn actions(&self, actor: &Actor, limit: i64) -> Result<Vec<Action>> {
        require(actor, Permission::TakeAction)?;
        crate::audit::check_limit(limit)?;
        let org = (actor.role != Role::Admin).then_some(actor.org_id);
        let mut tx = self.store.read().await?;
        Ok(tx.actions(org, limit).await?)
    }

    /// The blocks in force at `now` in the actor's TLDs (all, for admins): their number, how
    /// many lift within [`LIFTING_SOON`], and the first `limit` by end date.
    pub async fn blocks(
        &self,
        actor: &Actor,
        now: Timestamp,
        limit: i64,
    ) -> Result<holdfast_store::BlockList> {
        require(actor, Permission::TakeAction)?;
        crate::audit::check_limit(limit)?;
        let org = (actor.role != Role::Admin).then_some(actor.org_id);
        let soon = now.saturating_add(LIFTING_SOON).unwrap_or(now);
        let mut tx = self.store.read().await?;
        Ok(tx.blocks_in_force(org, now, soon, limit).await?)
    }

    /// Every action the actor may see that listed `name` (at most 200, newest first), with
    /// the name's result in it: the history of a domain.
    pub async fn name_history(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<Vec<(Action, ActionItem)>> {
        require(actor, Permission::TakeAction)?;
        let name = DomainName::parse(name)
            .map_err(|error| ServiceError::invalid("name", error.to_string()))?;
        let org = (actor.role != Role::Admin).then_some(actor.org_id);
        let mut tx = self.store.read().await?;
        Ok(tx.actions_naming(org, name.as_str(), 200).await?)
    }

    /// The names of an action with their results, `limit` at most, after sequence `after`.
    pub async fn action_items(
        &self,
        actor: &Actor,
        id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ActionItem>> {
        require(actor, Permission::TakeAction)?;
        crate::audit::check_limit(limit)?;
        let mut tx = self.store.read().await?;
        visible_action(&mut tx, actor, id).await?;
        Ok(tx.action_items(id, after, limit).await?)
    }

    /// Applies (or undoes) an action, a few stored batches of names per transaction, until every name
    /// has its result. Safe to call again after a
    /// stop, and while another call runs: a second runner of the same action returns at once.
    pub async fn run_action(&self, id: i64, clock: &dyn Clock) -> Result<()> {
        loop {
            let Some(claim) = self.running.claim(id) else {
                return Ok(());
            };
            self.run_claimed(id, clock).await?;
            drop(claim);
            // A step taken while this runner held the claim (an undo decided as the apply
            // finished, while its effect was being measured) found the claim taken and left the
            // work here: look again now that the claim is free.
            let mut tx = self.store.read().await?;
            let state = tx
                .action_without_counts(id)
                .await?
                .map(|action| action.state);
            drop(tx);
            if !matches!(state, Some(ActionState::Applying | ActionState::Undoing)) {
                return Ok(());
            }
        }
    }

    /// Applies or undoes action `id` until every name has its result; the caller holds its claim.
    async fn run_claimed(&self, id: i64, clock: &dyn Clock) -> Result<()> {
        let mut last_commit = Instant::now();
        let mut decided = self.decided.take(id);
        loop {
            let now = clock.now();
            let mut tx = self.store.write().await?;
            tx.lock_registry().await?;
            let action = tx
                .action_without_counts(id)
                .await?
                .ok_or(ServiceError::NotFound { what: "action" })?;
            let undoing = match action.state {
                ActionState::Applying => false,
                ActionState::Undoing => true,
                ActionState::Proposed | ActionState::Applied | ActionState::Undone => return Ok(()),
            };
            let mut batches = match decided.as_mut() {
                Some(decided) if !undoing => decided.next_batches(&mut tx, id).await?,
                _ => {
                    tx.next_batches(id, undoing, BATCHES_PER_TRANSACTION)
                        .await?
                }
            };
            if batches.is_empty() {
                finish(&mut tx, &action, undoing, now).await?;
                let sample = tx.last_changed_name(id, undoing).await?;
                tx.commit().await?;
                if let Some(sample) = sample.and_then(|name| DomainName::parse(&name).ok()) {
                    self.measure_effect(id, &sample, last_commit).await?;
                }
                return Ok(());
            }
            let started = Instant::now();
            let names: usize = batches.iter().map(Vec::len).sum();
            let encoded = if undoing {
                undo_chunk(&mut tx, &action, &mut batches, now).await?
            } else {
                apply_chunk(&mut tx, &action, &mut batches, now).await?
            };
            for batch in &encoded {
                tx.write_batch(id, batch).await?;
            }
            tx.commit().await?;
            tracing::debug!(
                action = id,
                names,
                ms = started.elapsed().as_millis(),
                "applied a transaction of names"
            );
            last_commit = Instant::now();
            self.names_changed();
        }
    }

    /// Marks blocks whose end date has passed as lifted, with an audit entry; returns how many.
    /// (A passed block stops guarding registration at its end date whether or not this ran.)
    pub async fn lift_expired_blocks(&self, now: Timestamp) -> Result<usize> {
        let mut tx = self.store.write().await?;
        let names = tx.lift_expired_blocks(now).await?;
        if !names.is_empty() {
            let change = Change {
                org_id: None,
                action: "block.lift",
                subject: format!("blocks:{}", names.len()),
                reason: "the end date passed",
                details: json!({ "names": names.len(), "first_names": names.iter().take(20).collect::<Vec<_>>() }),
            };
            record(&mut tx, None, now, change).await?;
        }
        tx.commit().await?;
        Ok(names.len())
    }

    /// Runs every action a stop left half-done, one after the other.
    pub async fn resume_actions(&self, clock: &dyn Clock) -> Result<usize> {
        let unfinished = self.store.read().await?.unfinished_actions().await?;
        for (id, _) in &unfinished {
            self.run_action(*id, clock).await?;
        }
        Ok(unfinished.len())
    }
}

/// The calendar referral deadlines count on when a decision gives none: Monday to Friday, UTC.
fn referral_calendar() -> Result<Calendar> {
    Calendar::new("UTC", Calendar::DEFAULT_WEEKEND, []).map_err(|error| ServiceError::Internal {
        what: format!("the referral calendar: {error}"),
    })
}

/// The action, if it exists and the actor's organisation made it (admins see all).
async fn visible_action(tx: &mut Tx, actor: &Actor, id: i64) -> Result<Action> {
    tx.action(id)
        .await?
        .filter(|action| actor.role == Role::Admin || action.org_id == actor.org_id)
        .ok_or(ServiceError::NotFound { what: "action" })
}

async fn finish(tx: &mut Tx, action: &Action, undoing: bool, now: Timestamp) -> Result<()> {
    let (state, audit) = if undoing {
        (ActionState::Undone, "action.undone")
    } else {
        (ActionState::Applied, "action.applied")
    };
    tx.set_action_state(action.id, state, None, now).await?;
    let done = tx
        .action(action.id)
        .await?
        .ok_or(ServiceError::NotFound { what: "action" })?;
    let counts: serde_json::Map<String, serde_json::Value> = done
        .counts
        .iter()
        .map(|(result, count)| (result.as_str().to_owned(), json!(count)))
        .collect();
    let change = Change {
        org_id: Some(action.org_id),
        action: audit,
        subject: format!("action:{}", action.id),
        reason: &action.reason,
        details: json!({
            "kind": action.kind.as_str(),
            "results": counts,
            "undone": done.undone,
            "undo_refused": done.undo_refused,
        }),
    };
    record(tx, None, now, change).await
}

/// The names of `items`, which the store holds in canonical form.
fn item_names<'a>(items: impl Iterator<Item = &'a ActionItem>) -> Result<Vec<DomainName>> {
    items
        .map(|item| {
            DomainName::parse(&item.name).map_err(|_| ServiceError::Internal {
                what: format!("stored name {:?} of an action is not valid", item.name),
            })
        })
        .collect()
}

/// Each TLD's id and the parameters an action with these choices plans with there.
pub(crate) fn params_by_tld(
    tlds: &HashMap<String, TldSettings>,
    to_registrar: Option<i64>,
    internal_registrar: Option<i64>,
    until: Option<Timestamp>,
    now: Timestamp,
) -> HashMap<&str, (i64, ActionParams)> {
    tlds.iter()
        .map(|(tld_name, tld)| {
            let params = ActionParams {
                sinkhole: tld.sinkhole.clone(),
                to_registrar,
                internal_registrar,
                until,
                now,
            };
            (tld_name.as_str(), (tld.id, params))
        })
        .collect()
}

/// Applies the pending names of a transaction's batches, gives each its result, and returns
/// the batches encoded for writing back. Batch by batch, the names are looked up while the
/// previous batch is planned and the next one's names are parsed: the async side's work is done
/// while SQLite's thread looks up, not between its statements.
async fn apply_chunk(
    tx: &mut Tx,
    action: &Action,
    batches: &mut [Vec<ActionItem>],
    now: Timestamp,
) -> Result<Vec<EncodedBatch>> {
    let tlds: HashMap<String, TldSettings> = tx
        .tld_settings()
        .await?
        .into_iter()
        .map(|tld| (tld.name.as_str().to_owned(), tld))
        .collect();
    let internal_registrar = tx.internal_registrar().await?;
    let params = params_by_tld(
        &tlds,
        action.to_registrar_id,
        internal_registrar,
        action.until,
        now,
    );
    let delegations = !action.kind.on_unregistered();
    // Per batch, the names of its pending items, in order.
    let mut names: Vec<Vec<DomainName>> = Vec::with_capacity(batches.len());
    if let Some(first) = batches.first() {
        names.push(pending_names(first)?);
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut looked_up: Option<HashMap<DomainName, NameState>> = None;
    // Step `at` looks up batch `at` (while there is one) as it plans batch `at - 1` and
    // parses the names of batch `at + 1`.
    for at in 0..=batches.len() {
        let lookup = async {
            match names.get(at) {
                Some(names) => tx.name_states_with(names, now, delegations).await.map(Some),
                None => Ok(None),
            }
        };
        let (states, next) = tokio::join!(lookup, async {
            if let Some(states) = looked_up.take() {
                let batch = at - 1;
                let changes =
                    plan_batch(action, &params, &mut batches[batch], &names[batch], states);
                planned.extend(changes.map(|(place, change)| ((batch, place), change)));
            }
            batches
                .get(at + 1)
                .map(|batch| pending_names(batch))
                .transpose()
        });
        looked_up = states?;
        names.extend(next?);
    }
    write_planned(tx, action, &planned, &names, batches, now).await
}

/// The names of a batch's pending items, which the store holds in canonical form.
fn pending_names(batch: &[ActionItem]) -> Result<Vec<DomainName>> {
    item_names(
        batch
            .iter()
            .filter(|item| item.result == ItemResult::Pending),
    )
}

/// Plans the action on a batch's pending items (named `names`, in `states` as looked up):
/// each gets its result; gives the changes, each with its name's place in `names`.
fn plan_batch<'a>(
    action: &'a Action,
    params: &'a HashMap<&str, (i64, ActionParams)>,
    batch: &'a mut [ActionItem],
    names: &'a [DomainName],
    mut states: HashMap<DomainName, NameState>,
) -> impl Iterator<Item = (usize, NameChange)> + 'a {
    let pending = batch
        .iter_mut()
        .filter(|item| item.result == ItemResult::Pending);
    pending
        .zip(names)
        .enumerate()
        .filter_map(move |(place, (item, name))| {
            let Some((tld_id, params)) = params.get(name.tld()) else {
                item.result = ItemResult::NotOurs;
                item.detail = Some(format!("the TLD .{} is no longer served", name.tld()));
                return None;
            };
            // A name is once in an action: its state is taken, not copied.
            let before = states.remove(name).unwrap_or_default();
            match holdfast_model::action::plan(action.kind, params, &before) {
                Outcome::Applied { after, effect } => {
                    item.result = ItemResult::Applied;
                    item.effect = Some(Box::new(effect));
                    return Some((place, (*tld_id, before, after)));
                }
                Outcome::Already => item.result = ItemResult::Already,
                Outcome::Refused(why) => {
                    item.result = ItemResult::Refused;
                    item.detail = Some(why);
                }
            }
            None
        })
}

/// Undoes the applied names of a transaction's batches that have no undo result yet, gives
/// each one, and returns the batches encoded for writing back.
async fn undo_chunk(
    tx: &mut Tx,
    action: &Action,
    batches: &mut [Vec<ActionItem>],
    now: Timestamp,
) -> Result<Vec<EncodedBatch>> {
    let mut todo: Vec<&mut ActionItem> = batches
        .iter_mut()
        .flatten()
        .filter(|item| item.result == ItemResult::Applied && item.undo.is_none())
        .collect();
    let names = item_names(todo.iter().map(|item| &**item))?;
    let mut states = tx.name_states(&names, now).await?;
    let tlds: HashMap<String, i64> = tx
        .tld_settings()
        .await?
        .into_iter()
        .map(|tld| (tld.name.as_str().to_owned(), tld.id))
        .collect();
    let mut planned = Vec::with_capacity(names.len());
    for (index, (item, name)) in todo.iter_mut().zip(&names).enumerate() {
        let now_state = states.remove(name).unwrap_or_default();
        let restored = match (&item.effect, tlds.get(name.tld())) {
            (Some(effect), Some(&tld_id)) => {
                holdfast_model::action::undo(effect, &now_state).map(|restored| (tld_id, restored))
            }
            (None, _) => Err("the action recorded no change for this name".to_owned()),
            (_, None) => Err(format!("the TLD .{} is no longer served", name.tld())),
        };
        match restored {
            Ok((tld_id, restored)) => {
                item.undo = Some(true);
                planned.push(((0, index), (tld_id, now_state, restored)));
            }
            Err(why) => {
                item.undo = Some(false);
                item.undo_detail = Some(why);
            }
        }
    }
    write_planned(tx, action, &planned, &[names], batches, now).await
}

/// A name's change: its TLD, and its state before (as read) and after.
type NameChange = (i64, NameState, NameState);

/// A change a chunk plans, with where its name lies among the chunk's names (list, place).
type Planned = ((usize, usize), NameChange);

/// Writes the states a chunk planned (blocks it makes are recorded as the action's) and,
/// meanwhile, encodes its batches for writing back.
async fn write_planned(
    tx: &mut Tx,
    action: &Action,
    planned: &[Planned],
    names: &[Vec<DomainName>],
    batches: &[Vec<ActionItem>],
    now: Timestamp,
) -> Result<Vec<EncodedBatch>> {
    let changes: Vec<StateChange<'_>> = planned
        .iter()
        .map(|((list, place), (tld_id, before, after))| StateChange {
            name: &names[*list][*place],
            tld_id: *tld_id,
            before,
            after,
        })
        .collect();
    let origin = BlockOrigin {
        action_id: Some(action.id),
        reason: &action.reason,
        requested_by: &action.requested_by,
    };
    let (written, encoded) = tokio::join!(
        tx.write_states(&changes, origin, now),
        encode_batches(batches)
    );
    written?;
    encoded
}

/// Each batch encoded, yielding after each: beside the registry writes, the encoding runs
/// while SQLite's thread works on a statement.
async fn encode_batches(batches: &[Vec<ActionItem>]) -> Result<Vec<EncodedBatch>> {
    let mut encoded = Vec::with_capacity(batches.len());
    for batch in batches {
        encoded.extend(EncodedBatch::of(batch)?);
        tokio::task::yield_now().await;
    }
    Ok(encoded)
}

/// The names of the action last decided in this process, as decided: its runner takes them
/// instead of reading back and decoding the batches the decision has just stored. Which batches
/// are still to apply is read from the store all the same (a batch with names still pending is
/// exactly as stored, since a batch's results are written all at once), so a second runner —
/// another process resuming the action — changes nothing. One decision at a time: memory holds
/// at most the names of the last one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Handoff(Arc<std::sync::Mutex<Option<Decided>>>);

/// A decided action's names, taken batch by batch in order.
#[derive(Debug)]
pub(crate) struct Decided {
    id: i64,
    /// The seq of the next name `items` gives.
    next_seq: i64,
    items: std::vec::IntoIter<NewItem>,
}

impl Handoff {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Decided>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn put(&self, id: i64, items: Vec<NewItem>) {
        *self.slot() = Some(Decided {
            id,
            next_seq: 0,
            items: items.into_iter(),
        });
    }

    /// The names of action `id`, if they are the last decided.
    fn take(&self, id: i64) -> Option<Decided> {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|decided| decided.id == id) {
            slot.take()
        } else {
            None
        }
    }
}

impl Decided {
    /// The batches [`Tx::next_batches`] would give (applying), made from the decided names;
    /// read from the store after all should the names not reach (never expected).
    async fn next_batches(&mut self, tx: &mut Tx, id: i64) -> Result<Vec<Vec<ActionItem>>> {
        let starts = tx.pending_batch_starts(id, BATCHES_PER_TRANSACTION).await?;
        let mut batches = Vec::with_capacity(starts.len());
        for first_seq in starts {
            match self.batch(first_seq) {
                Some(batch) => batches.push(batch),
                None => {
                    return Ok(tx.next_batches(id, false, BATCHES_PER_TRANSACTION).await?);
                }
            }
        }
        Ok(batches)
    }

    /// The stored batch starting at `first_seq`, as stored: every name still pending (or
    /// known invalid or not ours at once).
    fn batch(&mut self, first_seq: i64) -> Option<Vec<ActionItem>> {
        let skip = usize::try_from(first_seq.checked_sub(self.next_seq)?).ok()?;
        let batch: Vec<ActionItem> = (first_seq..)
            .zip(self.items.by_ref().skip(skip).take(BATCH))
            .map(|(seq, item)| ActionItem {
                seq,
                name: item.name,
                result: item.result,
                detail: item.detail,
                effect: None,
                undo: None,
                undo_detail: None,
            })
            .collect();
        self.next_seq = first_seq + i64::try_from(batch.len()).ok()?;
        (!batch.is_empty()).then_some(batch)
    }
}

/// The set of actions being run in this process, so that each runs once at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Running(Arc<std::sync::Mutex<HashSet<i64>>>);

/// Holds an action's place in [`Running`] until dropped.
pub(crate) struct Claim {
    running: Running,
    id: i64,
}

impl Running {
    fn claim(&self, id: i64) -> Option<Claim> {
        let mut ids = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.insert(id).then(|| Claim {
            running: self.clone(),
            id,
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut ids = self
            .running
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list long enough to be checked and searched for repeats on several cores keeps each
    /// valid name once, at its first place, in order; every invalid input stays.
    #[test]
    fn a_long_list_keeps_each_name_once_at_its_first_place() {
        let tld = TldSettings {
            id: 1,
            name: DomainName::parse("test").unwrap(),
            org_id: 1,
            sinkhole: Vec::new(),
        };
        let tlds = HashMap::from([("test".to_owned(), tld)]);
        let count = PARALLEL_NAMES * 2;
        // The second half repeats the first in other spellings (and a subdomain stands for its
        // registrable name); every tenth input is the same invalid one.
        let names: Vec<String> = (0..count)
            .map(|i| match (i % 10, i < count / 2) {
                (0, _) => "bad..test".to_owned(),
                (_, true) => format!("n{i}.test"),
                (1, false) => format!("N{}.Test.", i - count / 2),
                (_, false) => format!("www.n{}.test", i - count / 2),
            })
            .collect();
        let classified = classify(&names, &tlds);
        let expected: Vec<&str> = names[..count / 2]
            .iter()
            .map(String::as_str)
            .chain(std::iter::repeat_n("bad..test", count / 20))
            .collect();
        let got: Vec<&str> = classified
            .items
            .iter()
            .map(|item| item.name.as_str())
            .collect();
        assert_eq!(got, expected);
        assert_eq!(classified.pending, count / 2 - count / 20);
    }
}
