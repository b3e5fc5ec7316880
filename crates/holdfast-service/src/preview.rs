//! The preview of an action before it is decided: what it would do to each name (the model's
//! `plan` over the names' state now), which names are not ours, invalid or refused and why, and
//! the approvals the decision needs. It only reads: nothing is stored and nothing audited.

use holdfast_model::org::{Actor, Permission};
use holdfast_model::{ActionKind, DomainName, Effect, Outcome};
use holdfast_store::ItemResult;
use jiff::Timestamp;

use crate::accounts::text;
use crate::actions::{
    ActionRequest, check_gaining, classify, optional_text, params_by_tld, timing, tlds_of,
};
use crate::{Result, Service, ServiceError, require, waivers};

/// The names a preview lists one by one, in the order given; the rest are only counted.
pub const PREVIEW_NAMES: usize = 100;

/// Names whose state is read in one statement while planning.
const PLAN_CHUNK: usize = 10_000;

/// What the action would do to one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PreviewResult {
    /// The registry would change as the effect says.
    Changes,
    /// The name is already as the action would make it, or the action changes no registry
    /// state (refer, no action).
    Already,
    /// The action does not fit the name's state (the detail says why).
    Refused,
    /// The name is not in a TLD the actor's registry runs.
    NotOurs,
    /// Not a valid domain name.
    Invalid,
}

impl PreviewResult {
    /// Every result, in the order a preview counts them.
    pub const ALL: [PreviewResult; 5] = [
        PreviewResult::Changes,
        PreviewResult::Already,
        PreviewResult::Refused,
        PreviewResult::NotOurs,
        PreviewResult::Invalid,
    ];

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            PreviewResult::Changes => "changes",
            PreviewResult::Already => "already",
            PreviewResult::Refused => "refused",
            PreviewResult::NotOurs => "not-ours",
            PreviewResult::Invalid => "invalid",
        }
    }
}

/// One name of a preview.
#[derive(Debug, Clone)]
pub struct NamePreview {
    pub name: String,
    pub result: PreviewResult,
    /// Why the name is refused, not ours or invalid; what a refer or no-action records.
    pub detail: Option<String>,
    /// What would change (statuses added, name servers and DS before and after, …).
    pub effect: Option<Effect>,
}

/// Something the decision needs besides the deciding user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A delete waits for another user of the registry to approve it.
    SecondApprover,
    /// A delete acts on a documented direction (a court order, say).
    LegalDirection,
    /// A create, or a transfer to the internal registrar, in a gTLD needs a covering waiver.
    Waiver,
}

impl Need {
    pub const fn as_str(self) -> &'static str {
        match self {
            Need::SecondApprover => "second-approver",
            Need::LegalDirection => "legal-direction",
            Need::Waiver => "waiver",
        }
    }
}

/// A need and whether the request meets it now.
#[derive(Debug, Clone)]
pub struct Approval {
    pub need: Need,
    /// Met by the request as it stands (a second approver is never met before the decision).
    pub met: bool,
    pub detail: String,
}

/// What deciding the request would do, before anything is decided.
#[derive(Debug, Clone)]
pub struct ActionPreview {
    pub kind: ActionKind,
    /// The names after normalising (duplicates dropped, `www.x.tld` as `x.tld`).
    pub total: usize,
    /// How many names have each result, for every name.
    pub counts: Vec<(PreviewResult, usize)>,
    /// The first [`PREVIEW_NAMES`] names.
    pub names: Vec<NamePreview>,
    pub approvals: Vec<Approval>,
    /// Why deciding the request as it stands would be refused: field and reason.
    pub problems: Vec<(String, String)>,
}

impl ActionPreview {
    /// How many names have `result`.
    pub fn count(&self, result: PreviewResult) -> usize {
        self.counts
            .iter()
            .find(|(counted, _)| *counted == result)
            .map_or(0, |(_, count)| *count)
    }
}

fn problem(error: ServiceError) -> Option<(String, String)> {
    match error {
        ServiceError::Invalid { field, reason } => Some((field, reason)),
        _ => None,
    }
}

impl Service {
    /// What deciding `request` would do now: each name's planned outcome over its current
    /// state, the counts, the approvals it needs. Same authorisation and the same checks of
    /// the choices (block end, gaining registrar, …) as [`Service::decide_action`]; a missing
    /// reason, direction or waiver is reported as a problem instead of refused. Reads only.
    pub async fn preview_action(
        &self,
        actor: &Actor,
        request: &ActionRequest,
        now: Timestamp,
    ) -> Result<ActionPreview> {
        require(actor, Permission::TakeAction)?;
        if request.names.is_empty() {
            return Err(ServiceError::invalid("names", "name at least one domain"));
        }
        let kind = request.kind;
        let (until, _) = timing(request, now)?;
        let mut problems = Vec::new();
        if let Err(error) = text("reason", &request.reason, 2000) {
            problems.extend(problem(error));
        }
        let legal_direction =
            optional_text("legal_direction", request.legal_direction.as_deref(), 2000)?;
        let mut tx = self.store.read().await?;
        check_gaining(&mut tx, request).await?;
        let tlds = tlds_of(actor, tx.tld_settings().await?);
        let classified = classify(&request.names, &tlds);
        let internal_registrar = tx.internal_registrar().await?;
        let params = params_by_tld(&tlds, request.to_registrar, internal_registrar, until, now);

        let mut counts: Vec<(PreviewResult, usize)> = PreviewResult::ALL
            .iter()
            .map(|result| (*result, 0))
            .collect();
        // The names shown, each in the place it was given (not ours and invalid names are
        // known at once, the others once their state is read).
        let mut shown: Vec<Option<NamePreview>> =
            vec![None; classified.items.len().min(PREVIEW_NAMES)];
        let mut pending: Vec<(usize, DomainName)> = Vec::new();
        for (index, item) in classified.items.iter().enumerate() {
            let result = match item.result {
                ItemResult::NotOurs => PreviewResult::NotOurs,
                ItemResult::Invalid => PreviewResult::Invalid,
                _ => match DomainName::parse(&item.name) {
                    Ok(name) => {
                        pending.push((index, name));
                        continue;
                    }
                    Err(error) => {
                        return Err(ServiceError::Internal {
                            what: format!("a checked name did not parse again: {error}"),
                        });
                    }
                },
            };
            if let Some(slot) = shown.get_mut(index) {
                *slot = Some(NamePreview {
                    name: item.name.clone(),
                    result,
                    detail: item.detail.clone(),
                    effect: None,
                });
            }
            bump(&mut counts, result);
        }
        let recorded_only = match kind {
            ActionKind::Refer => {
                Some("no registry change: the sponsoring registrar is asked to act")
            }
            ActionKind::NoAction => Some("no registry change: the decision is recorded"),
            _ => None,
        };
        for chunk in pending.chunks(PLAN_CHUNK) {
            let names: Vec<DomainName> = chunk.iter().map(|(_, name)| name.clone()).collect();
            let states = tx
                .name_states_with(&names, now, !kind.on_unregistered())
                .await?;
            for (index, name) in chunk {
                let (result, detail, effect) = match params.get(name.tld()) {
                    None => (
                        PreviewResult::NotOurs,
                        Some(format!("the TLD .{} is not one you run", name.tld())),
                        None,
                    ),
                    Some((_, params)) => {
                        let before = states.get(name).cloned().unwrap_or_default();
                        match holdfast_model::action::plan(kind, params, &before) {
                            Outcome::Applied { effect, .. } => {
                                (PreviewResult::Changes, None, Some(effect))
                            }
                            Outcome::Already => (
                                PreviewResult::Already,
                                recorded_only.map(str::to_owned),
                                None,
                            ),
                            Outcome::Refused(why) => (PreviewResult::Refused, Some(why), None),
                        }
                    }
                };
                if let Some(slot) = shown.get_mut(*index) {
                    *slot = Some(NamePreview {
                        name: name.as_str().to_owned(),
                        result,
                        detail,
                        effect,
                    });
                }
                bump(&mut counts, result);
            }
        }

        let mut approvals = Vec::new();
        if kind == ActionKind::Delete {
            approvals.push(Approval {
                need: Need::SecondApprover,
                met: false,
                detail: "another user of the registry approves the delete before anything \
                         changes; whoever decides it cannot approve it"
                    .to_owned(),
            });
            let direction = match &legal_direction {
                Some(direction) => Approval {
                    need: Need::LegalDirection,
                    met: true,
                    detail: direction.clone(),
                },
                None => {
                    let why = "a delete needs the documented direction it acts on (a court \
                               order, say)";
                    problems.push(("legal_direction".to_owned(), why.to_owned()));
                    Approval {
                        need: Need::LegalDirection,
                        met: false,
                        detail: why.to_owned(),
                    }
                }
            };
            approvals.push(direction);
        }
        let coverage = waivers::coverage(
            &mut tx,
            kind,
            request.to_registrar,
            &classified.items,
            &tlds,
            now,
        )
        .await?;
        if !coverage.gated.is_empty() {
            let approval = match coverage.refusal(kind) {
                None => Approval {
                    need: Need::Waiver,
                    met: true,
                    detail: format!("covered by {}", coverage.waiver_ref()),
                },
                Some(refusal) if request.emergency => Approval {
                    need: Need::Waiver,
                    met: false,
                    detail: format!(
                        "{refusal}. As an emergency the action is taken now and a \
                         retroactive waiver request is opened as a draft"
                    ),
                },
                Some(refusal) => {
                    problems.push(("names".to_owned(), refusal.clone()));
                    Approval {
                        need: Need::Waiver,
                        met: false,
                        detail: refusal,
                    }
                }
            };
            approvals.push(approval);
        }
        Ok(ActionPreview {
            kind,
            total: classified.items.len(),
            counts,
            names: shown.into_iter().flatten().collect(),
            approvals,
            problems,
        })
    }
}

fn bump(counts: &mut [(PreviewResult, usize)], result: PreviewResult) {
    if let Some((_, count)) = counts.iter_mut().find(|(counted, _)| *counted == result) {
        *count += 1;
    }
}
