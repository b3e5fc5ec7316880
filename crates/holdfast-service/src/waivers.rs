//! Waivers (SPEC B3): issued or updated by a decision on a request, listed with their versions,
//! and asked before a create — or a transfer to the operator's own registrar — on a gTLD (the
//! waiver gate). An emergency action without a waiver goes ahead, is marked so, and opens a
//! retroactive request for the requester to complete.

use std::collections::{BTreeSet, HashMap};

use holdfast_model::org::{Actor, Permission, Role};
use holdfast_model::srw::{
    self, Contact, Decision, IncidentType, RequesterKind, SrwRequestDraft, Waiver, WaiverTerms,
    is_generic_tld, needs_waiver,
};
use holdfast_model::{ActionKind, DomainName};
use holdfast_store::{ItemResult, NewItem, SrwRecord, TldSettings, Tx, WaiverRecord};
use jiff::Timestamp;
use serde_json::json;

use crate::{Change, Result, Service, ServiceError, record, require};

/// Listed names above this many are only counted in an emergency's retroactive request.
const LISTED_NAMES: usize = 10_000;

fn terms_problems(problems: Vec<&'static str>) -> ServiceError {
    ServiceError::invalid("terms", problems.join("; "))
}

fn no_terms(decision: &str) -> ServiceError {
    ServiceError::invalid(
        "terms",
        format!("a decision that the request is {decision} changes no waiver terms"),
    )
}

/// The latest version of waiver `id`, which must be held by `holder`.
async fn held_waiver(tx: &mut Tx, holder: i64, id: i64) -> Result<Waiver> {
    let Some(latest) = tx.waiver(id).await?.pop() else {
        return Err(ServiceError::Conflict {
            what: format!("waiver {id} does not exist"),
        });
    };
    if latest.waiver.holder_org != holder {
        return Err(ServiceError::Conflict {
            what: format!("waiver {id} is held by another organisation than the requester"),
        });
    }
    Ok(latest.waiver)
}

/// Stores what `decision` on `request` issues: a new waiver, or a new version of an existing
/// one; checks that a waiver the decision names exists and is the requester's. Returns the
/// waiver and version written, if any.
pub(crate) async fn issue_for(
    tx: &mut Tx,
    actor: &Actor,
    request: &SrwRecord,
    decision: &Decision,
    terms: Option<WaiverTerms>,
    now: Timestamp,
) -> Result<Option<(i64, u32)>> {
    let needs_terms = || {
        ServiceError::invalid(
            "terms",
            "give the waiver's terms: tlds, provisions, actions, coverage, valid, conditions",
        )
    };
    match decision {
        Decision::NewWaiver => {
            let terms = terms.ok_or_else(needs_terms)?;
            let problems = terms.problems();
            if !problems.is_empty() {
                return Err(terms_problems(problems));
            }
            let id = tx
                .insert_waiver(request.org_id, request.id, &terms, actor.user_id, now)
                .await?;
            Ok(Some((id, 1)))
        }
        Decision::UpdatedWaiver { waiver_id } => {
            let latest = held_waiver(tx, request.org_id, *waiver_id).await?;
            let updated = latest
                .update(terms.ok_or_else(needs_terms)?)
                .map_err(terms_problems)?;
            tx.insert_waiver_version(
                updated.id,
                updated.version,
                request.id,
                &updated.terms,
                actor.user_id,
                now,
            )
            .await?;
            Ok(Some((updated.id, updated.version)))
        }
        Decision::InScopeOfExisting { waiver_id } => {
            if terms.is_some() {
                return Err(no_terms("in scope of an existing waiver"));
            }
            held_waiver(tx, request.org_id, *waiver_id).await?;
            Ok(None)
        }
        Decision::NotGranted { .. } => {
            if terms.is_some() {
                return Err(no_terms("not granted"));
            }
            Ok(None)
        }
    }
}

/// What the waiver gate decided for an action.
pub(crate) struct Gate {
    /// Stored with the action: the waivers that let it act, or the emergency's request.
    pub waiver_ref: Option<String>,
    /// The retroactive request an emergency opened.
    pub emergency_request: Option<i64>,
}

/// An action about to be decided, as the gate sees it.
pub(crate) struct GateInput<'a> {
    pub kind: ActionKind,
    pub to_registrar: Option<i64>,
    pub items: &'a [NewItem],
    pub tlds: &'a HashMap<String, TldSettings>,
    pub emergency: bool,
    pub reason: &'a str,
    pub case_ref: Option<&'a str>,
}

/// What the waivers of the TLDs' registries say about an action's names: whether the gate
/// applies at all, the waiver versions that cover the names, and the names none covers with
/// each waiver's reason.
pub(crate) struct Coverage {
    /// Names the gate asks about (pending names in a gTLD, for a create or a transfer to the
    /// internal registrar); empty when the gate does not apply.
    pub gated: Vec<(DomainName, i64)>,
    pub used: BTreeSet<(i64, u32)>,
    pub uncovered: Vec<(DomainName, Vec<(i64, srw::NotCovered)>)>,
}

impl Coverage {
    /// The waivers used, as stored with the action: `waiver:ID vVERSION, …`.
    pub fn waiver_ref(&self) -> String {
        self.used
            .iter()
            .map(|(id, version)| format!("waiver:{id} v{version}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Why the action may not act without an emergency: the first uncovered name and each
    /// waiver's reason. `None` when every gated name is covered.
    pub fn refusal(&self, kind: ActionKind) -> Option<String> {
        let (name, reasons) = self.uncovered.first()?;
        let why = if reasons.is_empty() {
            "the registry holds no waiver".to_owned()
        } else {
            reasons
                .iter()
                .map(|(id, why)| format!("waiver {id}: {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let more = match self.uncovered.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more names)"),
        };
        Some(format!(
            "no valid waiver covers {} of {name} in the gTLD .{}: {why}{more}; ask for a \
             Security Response Waiver, or mark the action an emergency to act now and \
             request the waiver retroactively",
            kind.as_str(),
            name.tld()
        ))
    }
}

/// Which of `items` the waiver gate asks about and which waivers cover them at `now`. Reads
/// only: the preview of an action and the gate both ask it.
pub(crate) async fn coverage(
    tx: &mut Tx,
    kind: ActionKind,
    to_registrar: Option<i64>,
    items: &[NewItem],
    tlds: &HashMap<String, TldSettings>,
    now: Timestamp,
) -> Result<Coverage> {
    let mut coverage = Coverage {
        gated: Vec::new(),
        used: BTreeSet::new(),
        uncovered: Vec::new(),
    };
    if !needs_waiver(kind) {
        return Ok(coverage);
    }
    if kind == ActionKind::Transfer && to_registrar != tx.internal_registrar().await? {
        return Ok(coverage);
    }
    coverage.gated = items
        .iter()
        .filter(|item| item.result == ItemResult::Pending)
        .filter_map(|item| {
            let name = DomainName::parse(&item.name).ok()?;
            let tld = tlds.get(name.tld())?;
            is_generic_tld(name.tld()).then_some((name, tld.org_id))
        })
        .collect();
    if coverage.gated.is_empty() {
        return Ok(coverage);
    }
    let holders: BTreeSet<i64> = coverage.gated.iter().map(|(_, org)| *org).collect();
    let mut waivers: Vec<Waiver> = Vec::new();
    for holder in holders {
        let held = tx.waivers(Some(holder)).await?;
        waivers.extend(held.into_iter().map(|record| record.waiver));
    }
    for (name, holder) in &coverage.gated {
        match srw::covering(&waivers, *holder, name, kind, now) {
            Ok(waiver) => {
                coverage.used.insert((waiver.id, waiver.version));
            }
            Err(reasons) => coverage.uncovered.push((name.clone(), reasons)),
        }
    }
    Ok(coverage)
}

/// The waiver gate (SPEC B3): a create, or a transfer to the operator's internal registrar, of
/// a name in a gTLD needs a valid waiver of the TLD's registry covering the name, the action and
/// `now`. Without one the action is refused naming the first names and why — unless it is an
/// emergency, which is recorded and opens a retroactive request pre-filled from the action.
pub(crate) async fn gate(
    tx: &mut Tx,
    actor: &Actor,
    input: GateInput<'_>,
    now: Timestamp,
) -> Result<Gate> {
    let open = Gate {
        waiver_ref: None,
        emergency_request: None,
    };
    let coverage = coverage(
        tx,
        input.kind,
        input.to_registrar,
        input.items,
        input.tlds,
        now,
    )
    .await?;
    if coverage.gated.is_empty() {
        return Ok(open);
    }
    let Some(refusal) = coverage.refusal(input.kind) else {
        return Ok(Gate {
            waiver_ref: Some(coverage.waiver_ref()),
            emergency_request: None,
        });
    };
    if !input.emergency {
        return Err(ServiceError::invalid("names", refusal));
    }
    let org_id = coverage.gated[0].1;
    let names: Vec<DomainName> = coverage
        .uncovered
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let request = emergency_request(tx, actor, org_id, &input, names, now).await?;
    Ok(Gate {
        waiver_ref: Some(format!("emergency, srw:{request}")),
        emergency_request: Some(request),
    })
}

/// Opens the retroactive request for an emergency action on `names`, pre-filled with what the
/// action says; the requester completes the rest (urgency, provisions, period) and submits it.
async fn emergency_request(
    tx: &mut Tx,
    actor: &Actor,
    org_id: i64,
    input: &GateInput<'_>,
    names: Vec<DomainName>,
    now: Timestamp,
) -> Result<i64> {
    let count = names.len();
    let tlds: BTreeSet<DomainName> = names
        .iter()
        .filter_map(|name| DomainName::parse(name.tld()).ok())
        .collect();
    let case_ids: Vec<i64> = input
        .case_ref
        .and_then(|reference| reference.strip_prefix("case:"))
        .and_then(|id| id.parse().ok())
        .into_iter()
        .collect();
    let (names, name_count) = if count <= LISTED_NAMES {
        (names, None)
    } else {
        (Vec::new(), Some(u64::try_from(count).unwrap_or(u64::MAX)))
    };
    let kind = input.kind.as_str();
    let draft = SrwRequestDraft {
        incident_type: Some(IncidentType::MaliciousDnsActivity),
        description: Some(format!(
            "{kind} of {count} names taken in an emergency without a waiver: {}",
            input.reason
        )),
        tlds: tlds.into_iter().collect(),
        names,
        name_count,
        action_taken: Some(true),
        response: Some(format!(
            "{kind} of {count} names on {now}: {}",
            input.reason
        )),
        contacts: vec![Contact {
            name: actor.email.clone(),
            email: actor.email.clone(),
        }],
        case_ids,
        ..SrwRequestDraft::default()
    };
    let id = tx
        .insert_srw_draft(org_id, RequesterKind::Registry, actor.user_id, &draft, now)
        .await?;
    let change = Change {
        org_id: Some(org_id),
        action: "srw.draft",
        subject: format!("srw:{id}"),
        reason: "an emergency action without a waiver",
        details: json!({ "requester": "registry", "emergency": kind, "names": count }),
    };
    record(tx, Some(actor), now, change).await?;
    Ok(id)
}

impl Service {
    /// Every version of the waivers the actor may see: their organisation's, or all for
    /// reviewers and admins; by waiver and version.
    pub async fn waivers(&self, actor: &Actor) -> Result<Vec<WaiverRecord>> {
        let holder = match actor.role {
            Role::Reviewer | Role::Admin => None,
            _ => {
                require(actor, Permission::RequestWaivers)?;
                Some(actor.org_id)
            }
        };
        let mut tx = self.store.read().await?;
        Ok(tx.waivers(holder).await?)
    }

    /// Every version of waiver `id`, oldest first, if the actor may see it.
    pub async fn waiver(&self, actor: &Actor, id: i64) -> Result<Vec<WaiverRecord>> {
        if !matches!(actor.role, Role::Reviewer | Role::Admin) {
            require(actor, Permission::RequestWaivers)?;
        }
        let mut tx = self.store.read().await?;
        let versions = tx.waiver(id).await?;
        match versions.first() {
            Some(first)
                if matches!(actor.role, Role::Reviewer)
                    || actor.may_see_org(first.waiver.holder_org) =>
            {
                Ok(versions)
            }
            _ => Err(ServiceError::NotFound { what: "waiver" }),
        }
    }
}
