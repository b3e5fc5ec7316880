//! The actions of SPEC A4 as pure rules: what an action does to one name's registry state, what it
//! must remember to be undone exactly, and why it refuses a name.
//!
//! An action never writes directly: [`plan`] takes the name's state before and gives the state
//! after plus an [`Effect`], the record of what changed. [`undo`] takes the state now and that
//! effect and gives the state to restore. The store writes the difference between two states.
//! Undo removes only what the action added: statuses that were already there before a lock stay
//! after its undo.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{DomainName, DsRecord, EppStatus, EppStatusSet};

/// One of the actions of SPEC A4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Registered name: the registrar is asked to act, by a deadline. No registry change.
    Refer,
    /// Registered name: `serverHold`; the name leaves the zone.
    Hold,
    /// Registered name: `serverTransferProhibited`, `serverDeleteProhibited`,
    /// `serverUpdateProhibited`.
    Lock,
    /// Registered name: name servers replaced by the sinkhole hosts; DS records dropped.
    Redirect,
    /// Registered name: sponsorship moves to another registrar.
    Transfer,
    /// Registered name: removed from the registry.
    Delete,
    /// Registered name: nothing changes; the decision is recorded.
    NoAction,
    /// Unregistered name: registered to the internal registrar, delegated to the sinkhole.
    Create,
    /// Unregistered name: reserved so nobody can register it, until an end date.
    Block,
}

impl ActionKind {
    /// Every action, in the order of SPEC A4.
    pub const ALL: [ActionKind; 9] = [
        ActionKind::Refer,
        ActionKind::Hold,
        ActionKind::Lock,
        ActionKind::Redirect,
        ActionKind::Transfer,
        ActionKind::Delete,
        ActionKind::NoAction,
        ActionKind::Create,
        ActionKind::Block,
    ];

    /// The name used on the command line, in the API and in the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            ActionKind::Refer => "refer",
            ActionKind::Hold => "hold",
            ActionKind::Lock => "lock",
            ActionKind::Redirect => "redirect",
            ActionKind::Transfer => "transfer",
            ActionKind::Delete => "delete",
            ActionKind::NoAction => "no-action",
            ActionKind::Create => "create",
            ActionKind::Block => "block",
        }
    }

    /// Whether the action is taken on unregistered names (create, block) rather than registered
    /// ones.
    pub const fn on_unregistered(self) -> bool {
        matches!(self, ActionKind::Create | ActionKind::Block)
    }

    /// Whether the action changes registry state (and so can be undone).
    pub const fn changes_registry(self) -> bool {
        !matches!(self, ActionKind::Refer | ActionKind::NoAction)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not an action's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown action {0:?}; the actions are: refer, hold, lock, redirect, transfer, delete, no-action, create, block"
)]
pub struct UnknownAction(pub String);

impl FromStr for ActionKind {
    type Err = UnknownAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| UnknownAction(text.to_owned()))
    }
}

/// A registered name as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The sponsoring registrar, when known (an imported zone may not say).
    pub registrar_id: Option<i64>,
    pub statuses: EppStatusSet,
    pub nameservers: Vec<DomainName>,
    pub ds: Vec<DsRecord>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// Everything an action can change about one name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameState {
    /// `None` when the name is not registered.
    pub registration: Option<Registration>,
    /// The end of the name's active block, if it is blocked.
    pub blocked_until: Option<Timestamp>,
}

impl NameState {
    /// A name neither registered nor blocked (the default), as a constant to borrow.
    pub const UNREGISTERED: NameState = NameState {
        registration: None,
        blocked_until: None,
    };

    /// What the TLD's zone publishes for the name: its name servers and DS records, or `None`
    /// when it is not registered, is on hold, or has no name servers.
    pub fn delegation(&self) -> Option<(&[DomainName], &[DsRecord])> {
        self.registration
            .as_ref()
            .filter(|registration| {
                !registration.statuses.is_held() && !registration.nameservers.is_empty()
            })
            .map(|registration| {
                (
                    registration.nameservers.as_slice(),
                    registration.ds.as_slice(),
                )
            })
    }
}

/// What the action needs beyond the name: chosen once for the whole decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionParams {
    /// The operator's sinkhole hosts (redirect, create).
    pub sinkhole: Vec<DomainName>,
    /// The gaining registrar (transfer).
    pub to_registrar: Option<i64>,
    /// The operator's internal registrar (create).
    pub internal_registrar: Option<i64>,
    /// The block's end (block).
    pub until: Option<Timestamp>,
    /// When the action is applied.
    pub now: Timestamp,
}

/// A value the action replaced, before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced<T> {
    pub before: T,
    pub after: T,
}

/// What an action changed on one name: exactly enough to undo it. Stored with the name's result.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Effect {
    /// Statuses the action added (not those that were already there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_statuses: Vec<EppStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nameservers: Option<Replaced<Vec<DomainName>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ds: Option<Replaced<Vec<DsRecord>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrar: Option<Replaced<Option<i64>>>,
    /// The registration a delete removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Registration>,
    /// The action registered the name (create).
    #[serde(default, skip_serializing_if = "is_false")]
    pub created: bool,
    /// The action blocked the name until this time (block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Timestamp>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// What an action does to one name. (Short-lived: consumed as soon as it is made, so the size
/// of `Applied` costs nothing worth a box.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The name changes to `after`; `effect` records how.
    Applied { after: NameState, effect: Effect },
    /// The name is already as the action would make it (or the action records a decision only).
    Already,
    /// The action does not fit the name's state; the text says why, for the analyst.
    Refused(String),
}

/// The sinkhole hosts in the order they are stored: sorted, so comparisons do not depend on the
/// order they were configured in.
fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

/// What `kind` does to a name in `state`.
pub fn plan(kind: ActionKind, params: &ActionParams, state: &NameState) -> Outcome {
    if kind.on_unregistered() {
        if state.registration.is_some() {
            return Outcome::Refused(format!(
                "the name is registered; {kind} is for unregistered names (use hold, lock, \
                 redirect, transfer or delete)"
            ));
        }
        return match kind {
            ActionKind::Create => create(params, state),
            _ => block(params, state),
        };
    }
    let Some(before) = &state.registration else {
        return Outcome::Refused(format!(
            "the name is not registered; {kind} is for registered names (use create or block)"
        ));
    };
    let mut after = before.clone();
    let mut effect = Effect::default();
    match kind {
        ActionKind::Refer | ActionKind::NoAction => return Outcome::Already,
        ActionKind::Hold => {
            if let Err(why) = add_statuses(&mut after, &mut effect, &[EppStatus::ServerHold]) {
                return Outcome::Refused(why);
            }
        }
        ActionKind::Lock => {
            let lock = [
                EppStatus::ServerTransferProhibited,
                EppStatus::ServerDeleteProhibited,
                EppStatus::ServerUpdateProhibited,
            ];
            if let Err(why) = add_statuses(&mut after, &mut effect, &lock) {
                return Outcome::Refused(why);
            }
        }
        ActionKind::Redirect => {
            if before.statuses.contains(EppStatus::ServerUpdateProhibited) {
                return locked("redirected", "serverUpdateProhibited");
            }
            if params.sinkhole.is_empty() {
                return Outcome::Refused(
                    "no sinkhole hosts are configured for this TLD".to_owned(),
                );
            }
            let sinkhole = sorted(&params.sinkhole);
            if sorted(&before.nameservers) != sinkhole {
                effect.nameservers = Some(Replaced {
                    before: before.nameservers.clone(),
                    after: sinkhole.clone(),
                });
                after.nameservers = sinkhole;
            }
            if !before.ds.is_empty() {
                effect.ds = Some(Replaced {
                    before: before.ds.clone(),
                    after: Vec::new(),
                });
                after.ds.clear();
            }
        }
        ActionKind::Transfer => {
            let Some(to) = params.to_registrar else {
                return Outcome::Refused("a transfer needs the gaining registrar".to_owned());
            };
            if before
                .statuses
                .contains(EppStatus::ServerTransferProhibited)
            {
                return locked("transferred", "serverTransferProhibited");
            }
            if before.registrar_id != Some(to) {
                effect.registrar = Some(Replaced {
                    before: before.registrar_id,
                    after: Some(to),
                });
                after.registrar_id = Some(to);
            }
        }
        ActionKind::Delete => {
            if before.statuses.contains(EppStatus::ServerDeleteProhibited) {
                return locked("deleted", "serverDeleteProhibited");
            }
            return Outcome::Applied {
                after: NameState {
                    registration: None,
                    blocked_until: state.blocked_until,
                },
                effect: Effect {
                    deleted: Some(before.clone()),
                    ..Effect::default()
                },
            };
        }
        ActionKind::Create | ActionKind::Block => {}
    }
    if effect == Effect::default() {
        return Outcome::Already;
    }
    Outcome::Applied {
        after: NameState {
            registration: Some(after),
            blocked_until: state.blocked_until,
        },
        effect,
    }
}

fn locked(verb: &str, status: &str) -> Outcome {
    Outcome::Refused(format!(
        "the name is locked ({status}) and cannot be {verb}; undo the lock first"
    ))
}

/// Adds `statuses` to `after`, recording in `effect` those that were not there.
fn add_statuses(
    after: &mut Registration,
    effect: &mut Effect,
    statuses: &[EppStatus],
) -> Result<(), String> {
    for &status in statuses {
        match after.statuses.insert(status) {
            Ok(true) => effect.added_statuses.push(status),
            Ok(false) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(())
}

fn create(params: &ActionParams, state: &NameState) -> Outcome {
    let Some(registrar) = params.internal_registrar else {
        return Outcome::Refused(
            "no internal registrar is configured to sponsor created names".to_owned(),
        );
    };
    if params.sinkhole.is_empty() {
        return Outcome::Refused("no sinkhole hosts are configured for this TLD".to_owned());
    }
    Outcome::Applied {
        after: NameState {
            registration: Some(Registration {
                registrar_id: Some(registrar),
                statuses: EppStatusSet::OK,
                nameservers: sorted(&params.sinkhole),
                ds: Vec::new(),
                created_at: params.now,
                expires_at: None,
            }),
            blocked_until: state.blocked_until,
        },
        effect: Effect {
            created: true,
            ..Effect::default()
        },
    }
}

fn block(params: &ActionParams, state: &NameState) -> Outcome {
    let Some(until) = params.until else {
        return Outcome::Refused("a block needs an end date".to_owned());
    };
    if state.blocked_until.is_some() {
        return Outcome::Already;
    }
    Outcome::Applied {
        after: NameState {
            registration: None,
            blocked_until: Some(until),
        },
        effect: Effect {
            blocked_until: Some(until),
            ..Effect::default()
        },
    }
}

/// The state that undoes `effect` on a name now in `now`, or why it cannot be undone: undo
/// refuses a name that changed since the action in a way undo would overwrite.
pub fn undo(effect: &Effect, now: &NameState) -> Result<NameState, String> {
    let mut restored = now.clone();
    if let Some(until) = effect.blocked_until {
        if now.blocked_until == Some(until) {
            restored.blocked_until = None;
        }
        return Ok(restored);
    }
    if effect.created {
        if now.registration.is_none() {
            return Err("the name is no longer registered".to_owned());
        }
        restored.registration = None;
        return Ok(restored);
    }
    if let Some(deleted) = &effect.deleted {
        if now.registration.is_some() {
            return Err("the name was registered again since it was deleted".to_owned());
        }
        restored.registration = Some(deleted.clone());
        return Ok(restored);
    }
    let Some(registration) = &mut restored.registration else {
        return Err("the name is no longer registered".to_owned());
    };
    if let Some(replaced) = &effect.nameservers {
        if sorted(&registration.nameservers) != sorted(&replaced.after) {
            return Err("its name servers changed since the action".to_owned());
        }
        registration.nameservers = replaced.before.clone();
    }
    if let Some(replaced) = &effect.ds {
        if sorted(&registration.ds) != sorted(&replaced.after) {
            return Err("its DS records changed since the action".to_owned());
        }
        registration.ds = replaced.before.clone();
    }
    if let Some(replaced) = &effect.registrar {
        if registration.registrar_id != replaced.after {
            return Err("its registrar changed since the action".to_owned());
        }
        registration.registrar_id = replaced.before;
    }
    for &status in &effect.added_statuses {
        registration.statuses.remove(status);
    }
    Ok(restored)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn name(text: &str) -> DomainName {
        DomainName::parse(text).unwrap()
    }

    fn params() -> ActionParams {
        ActionParams {
            sinkhole: vec![name("ns2.sinkhole.example"), name("ns1.sinkhole.example")],
            to_registrar: Some(7),
            internal_registrar: Some(1),
            until: Some("2027-01-01T00:00:00Z".parse().unwrap()),
            now: "2026-11-23T00:00:00Z".parse().unwrap(),
        }
    }

    fn registered(statuses: &[EppStatus]) -> NameState {
        NameState {
            registration: Some(Registration {
                registrar_id: Some(3),
                statuses: EppStatusSet::new(statuses.iter().copied()).unwrap(),
                nameservers: vec![name("ns1.example.net"), name("ns2.example.net")],
                ds: vec![DsRecord {
                    key_tag: 12345,
                    algorithm: 13,
                    digest_type: 2,
                    digest: "AB".repeat(32),
                }],
                created_at: "2020-01-01T00:00:00Z".parse().unwrap(),
                expires_at: None,
            }),
            blocked_until: None,
        }
    }

    fn apply(kind: ActionKind, state: &NameState) -> (NameState, Effect) {
        match plan(kind, &params(), state) {
            Outcome::Applied { after, effect } => (after, effect),
            other => panic!("{kind} did not apply: {other:?}"),
        }
    }

    #[test]
    fn every_registry_change_is_undone_exactly() {
        let before = registered(&[
            EppStatus::ClientTransferProhibited,
            EppStatus::ServerUpdateProhibited,
        ]);
        for kind in [
            ActionKind::Hold,
            ActionKind::Lock,
            ActionKind::Transfer,
            ActionKind::Delete,
        ] {
            let (after, effect) = apply(kind, &before);
            assert_ne!(after, before, "{kind}");
            assert_eq!(undo(&effect, &after).unwrap(), before, "{kind}");
        }
        let unlocked = registered(&[EppStatus::ClientTransferProhibited]);
        let (after, effect) = apply(ActionKind::Redirect, &unlocked);
        assert_eq!(undo(&effect, &after).unwrap(), unlocked);
        for kind in [ActionKind::Create, ActionKind::Block] {
            let (after, effect) = apply(kind, &NameState::default());
            assert_eq!(
                undo(&effect, &after).unwrap(),
                NameState::default(),
                "{kind}"
            );
        }
    }

    #[test]
    fn lock_keeps_the_statuses_that_were_already_there_after_undo() {
        let before = registered(&[
            EppStatus::ClientTransferProhibited,
            EppStatus::ServerUpdateProhibited,
        ]);
        let (after, effect) = apply(ActionKind::Lock, &before);
        assert_eq!(
            effect.added_statuses,
            [
                EppStatus::ServerTransferProhibited,
                EppStatus::ServerDeleteProhibited
            ]
        );
        let restored = undo(&effect, &after).unwrap().registration.unwrap();
        assert!(
            restored
                .statuses
                .contains(EppStatus::ClientTransferProhibited)
        );
        assert!(
            restored
                .statuses
                .contains(EppStatus::ServerUpdateProhibited)
        );
        assert!(
            !restored
                .statuses
                .contains(EppStatus::ServerDeleteProhibited)
        );
    }

    #[test]
    fn redirect_points_at_the_sinkhole_and_drops_ds_in_one_change() {
        let (after, effect) = apply(ActionKind::Redirect, &registered(&[]));
        let registration = after.registration.unwrap();
        assert_eq!(
            registration.nameservers,
            [name("ns1.sinkhole.example"), name("ns2.sinkhole.example")]
        );
        assert!(registration.ds.is_empty());
        assert_eq!(effect.ds.unwrap().before.len(), 1);
    }

    #[test]
    fn a_second_identical_action_is_already_so() {
        for kind in [
            ActionKind::Hold,
            ActionKind::Lock,
            ActionKind::Redirect,
            ActionKind::Transfer,
        ] {
            let (after, _) = apply(kind, &registered(&[]));
            assert_eq!(plan(kind, &params(), &after), Outcome::Already, "{kind}");
        }
        let (blocked, _) = apply(ActionKind::Block, &NameState::default());
        assert_eq!(
            plan(ActionKind::Block, &params(), &blocked),
            Outcome::Already
        );
    }

    #[test]
    fn actions_that_do_not_fit_the_state_are_refused_with_the_reason() {
        let locked = apply(ActionKind::Lock, &registered(&[])).0;
        for (kind, status) in [
            (ActionKind::Redirect, "serverUpdateProhibited"),
            (ActionKind::Transfer, "serverTransferProhibited"),
            (ActionKind::Delete, "serverDeleteProhibited"),
        ] {
            let Outcome::Refused(why) = plan(kind, &params(), &locked) else {
                panic!("{kind} on a locked name was not refused");
            };
            assert!(why.contains(status), "{why}");
        }
        let Outcome::Refused(why) = plan(
            ActionKind::Lock,
            &params(),
            &registered(&[EppStatus::PendingDelete]),
        ) else {
            panic!("lock on pendingDelete was not refused");
        };
        assert!(why.contains("pendingDelete"), "{why}");
        assert!(
            matches!(plan(ActionKind::Hold, &params(), &NameState::default()), Outcome::Refused(why) if why.contains("not registered"))
        );
        assert!(
            matches!(plan(ActionKind::Block, &params(), &registered(&[])), Outcome::Refused(why) if why.contains("is registered"))
        );
    }

    #[test]
    fn undo_refuses_a_name_changed_since_the_action() {
        let (mut after, effect) = apply(ActionKind::Redirect, &registered(&[]));
        if let Some(registration) = &mut after.registration {
            registration.nameservers = vec![name("ns.elsewhere.example")];
        }
        assert!(undo(&effect, &after).unwrap_err().contains("name servers"));
    }

    #[test]
    fn effects_round_trip_through_json() {
        for kind in [
            ActionKind::Lock,
            ActionKind::Redirect,
            ActionKind::Transfer,
            ActionKind::Delete,
        ] {
            let (_, effect) = apply(kind, &registered(&[]));
            let json = serde_json::to_string(&effect).unwrap();
            assert_eq!(
                serde_json::from_str::<Effect>(&json).unwrap(),
                effect,
                "{json}"
            );
        }
    }

    #[test]
    fn action_names_round_trip() {
        for kind in ActionKind::ALL {
            assert_eq!(kind.as_str().parse::<ActionKind>().unwrap(), kind);
        }
        assert!(
            "seize"
                .parse::<ActionKind>()
                .unwrap_err()
                .to_string()
                .contains("redirect")
        );
    }
}
