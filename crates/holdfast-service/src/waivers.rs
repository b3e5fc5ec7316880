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
    if !needs_waiver(input.kind) {
        return Ok(open);
    }
    if input.kind == ActionKind::Transfer && input.to_registrar != tx.internal_registrar().await? {
        return Ok(open);
    }
    let gated: Vec<(DomainName, &TldSettings)> = input
        .items
        .iter()
        .filter(|item| item.result == ItemResult::Pending)
        .filter_map(|item| {
            let name = DomainName::parse(&item.name).ok()?;
            let tld = input.tlds.get(name.tld())?;
            is_generic_tld(name.tld()).then_some((name, tld))
        })
        .collect();
    if gated.is_empty() {
        return Ok(open);
    }
    let holders: BTreeSet<i64> = gated.iter().map(|(_, tld)| tld.org_id).collect();
    let mut waivers: Vec<Waiver> = Vec::new();
    for holder in holders {
        let held = tx.waivers(Some(holder)).await?;
        waivers.extend(held.into_iter().map(|record| record.waiver));
    }
    let mut used = BTreeSet::new();
    let mut uncovered = Vec::new();
    for (name, tld) in &gated {
        match srw::covering(&waivers, tld.org_id, name, input.kind, now) {
            Ok(waiver) => {
                used.insert((waiver.id, waiver.version));
            }
            Err(reasons) => uncovered.push((name, reasons)),
        }
    }
    if uncovered.is_empty() {
        let used: Vec<String> = used
            .iter()
            .map(|(id, version)| format!("waiver:{id} v{version}"))
            .collect();
        return Ok(Gate {
            waiver_ref: Some(used.join(", ")),
            emergency_request: None,
        });
    }
    if !input.emergency {
        let (name, reasons) = &uncovered[0];
        let why = if reasons.is_empty() {
            "the registry holds no waiver".to_owned()
        } else {
            reasons
                .iter()
                .map(|(id, why)| format!("waiver {id}: {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let more = match uncovered.len() - 1 {
            0 => String::new(),
            n => format!(" (and {n} more names)"),
        };
        return Err(ServiceError::invalid(
            "names",
            format!(
                "no valid waiver covers {} of {name} in the gTLD .{}: {why}{more}; ask for a \
                 Security Response Waiver, or mark the action an emergency to act now and \
                 request the waiver retroactively",
                input.kind.as_str(),
                name.tld()
            ),
        ));
    }
    let names: Vec<DomainName> = uncovered.iter().map(|(name, _)| (*name).clone()).collect();
    let org_id = gated[0].1.org_id;
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
