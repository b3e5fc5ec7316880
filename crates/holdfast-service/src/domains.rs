//! The registry's own operations on one domain, as a registrar would call them: the registration
//! guard (check, create) and update, transfer, delete, each refused when the name's statuses
//! prohibit it (RFC 5731 section 2.3) — a locked name stays locked here too.

use holdfast_model::org::{Actor, Permission, Role};
use holdfast_model::{DomainName, EppStatusSet, NameState, Registration};
use holdfast_store::{BlockOrigin, StateChange, Tx};
use jiff::Timestamp;
use serde_json::json;

use crate::{Change, Result, Service, ServiceError, record, require};

/// What the registry says of a name a registrar wants to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Nobody holds it; it may be created.
    Available,
    /// It is registered.
    Registered,
    /// It is reserved until `until`, for `reason`; only a create action can register it.
    Blocked { reason: String, until: Timestamp },
    /// It is not in a TLD this registry runs.
    NotOurs,
}

/// The answer of the registration guard for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCheck {
    pub name: DomainName,
    pub availability: Availability,
}

/// A registered domain, as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainView {
    pub name: DomainName,
    pub registration: Registration,
}

/// A change of one registered domain through the registry's operations.
#[derive(Debug, Clone)]
pub enum DomainOperation {
    /// Replace the name servers.
    Update { nameservers: Vec<String> },
    /// Move sponsorship.
    Transfer { to_registrar: i64 },
    /// Remove the name.
    Delete,
}

impl DomainOperation {
    /// The audit action, the past participle for refusals, and the status word of the
    /// prohibition (`clientXProhibited` / `serverXProhibited`).
    fn words(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            DomainOperation::Update { .. } => ("domain.update", "updated", "Update"),
            DomainOperation::Transfer { .. } => ("domain.transfer", "transferred", "Transfer"),
            DomainOperation::Delete => ("domain.delete", "deleted", "Delete"),
        }
    }
}

fn parse_name(field: &str, name: &str) -> Result<DomainName> {
    DomainName::parse(name).map_err(|error| ServiceError::invalid(field, error.to_string()))
}

/// Name server hosts (the request's `field`): at most 13, each a domain name; sorted, once each.
pub(crate) fn parse_nameservers(field: &str, hosts: &[String]) -> Result<Vec<DomainName>> {
    if hosts.len() > 13 {
        return Err(ServiceError::invalid(field, "at most 13 name servers"));
    }
    let mut parsed: Vec<DomainName> = hosts
        .iter()
        .map(|host| {
            DomainName::parse(host)
                .map_err(|error| ServiceError::invalid(field, format!("{host:?}: {error}")))
        })
        .collect::<Result<_>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

/// The TLD of `name`, which must be one the registry runs and `name` directly below it.
async fn tld_of(tx: &mut Tx, name: &DomainName) -> Result<Option<i64>> {
    Ok(tx
        .tld_settings()
        .await?
        .into_iter()
        .find(|tld| {
            name.registrable_under(&tld.name) && name.label_count() == tld.name.label_count() + 1
        })
        .map(|tld| tld.id))
}

/// Refuses unless a registrar's staff acts for that registrar (registry staff and admins act
/// for any).
async fn sponsors(tx: &mut Tx, actor: &Actor, registrar_id: Option<i64>) -> Result<()> {
    if actor.role != Role::RegistrarStaff {
        return Ok(());
    }
    let own = tx.registrars().await?.into_iter().any(|registrar| {
        Some(registrar.id) == registrar_id && registrar.org_id == Some(actor.org_id)
    });
    if own {
        Ok(())
    } else {
        Err(ServiceError::NotFound { what: "domain" })
    }
}

impl Service {
    /// The registration guard: whether `name` can be created.
    pub async fn check_name(&self, actor: &Actor, name: &str, now: Timestamp) -> Result<NameCheck> {
        require(actor, Permission::OperateRegistry)?;
        let name = parse_name("name", name)?;
        let mut tx = self.store.read().await?;
        let availability = availability(&mut tx, &name, now).await?;
        Ok(NameCheck { name, availability })
    }

    /// A registered domain.
    pub async fn domain(&self, actor: &Actor, name: &str, now: Timestamp) -> Result<DomainView> {
        require(actor, Permission::OperateRegistry)?;
        let name = parse_name("name", name)?;
        let mut tx = self.store.read().await?;
        let registration = registered(&mut tx, actor, &name, now).await?;
        Ok(DomainView { name, registration })
    }

    /// Registers `name` for a registrar, through the registration guard: a blocked name is
    /// refused with the block's reason and end.
    pub async fn create_domain(
        &self,
        actor: &Actor,
        name: &str,
        registrar_id: i64,
        nameservers: &[String],
        now: Timestamp,
    ) -> Result<DomainView> {
        require(actor, Permission::OperateRegistry)?;
        let name = parse_name("name", name)?;
        let nameservers = parse_nameservers("nameservers", nameservers)?;
        let mut tx = self.store.write().await?;
        tx.lock_registry().await?;
        sponsors(&mut tx, actor, Some(registrar_id)).await?;
        if !tx.registrar_exists(registrar_id).await? {
            return Err(ServiceError::invalid(
                "registrar",
                format!("no registrar has id {registrar_id}"),
            ));
        }
        let tld_id = match availability(&mut tx, &name, now).await? {
            Availability::Available => {
                tld_of(&mut tx, &name)
                    .await?
                    .ok_or(ServiceError::Internal {
                        what: "an available name has no TLD".to_owned(),
                    })?
            }
            Availability::Registered => {
                return Err(ServiceError::Conflict {
                    what: format!("{name} is already registered"),
                });
            }
            Availability::Blocked { reason, until } => {
                return Err(ServiceError::Conflict {
                    what: format!("{name} is blocked until {until}: {reason}"),
                });
            }
            Availability::NotOurs => {
                return Err(ServiceError::invalid(
                    "name",
                    format!("{name} is not directly below a TLD this registry runs"),
                ));
            }
        };
        let after = NameState {
            registration: Some(Registration {
                registrar_id: Some(registrar_id),
                statuses: EppStatusSet::OK,
                nameservers,
                ds: Vec::new(),
                created_at: now,
                expires_at: None,
            }),
            blocked_until: None,
        };
        write_one(&mut tx, &name, tld_id, &NameState::default(), &after, now).await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: "domain.create",
            subject: format!("domain:{name}"),
            reason: "",
            details: json!({ "registrar": registrar_id }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        let registration = after
            .registration
            .ok_or(ServiceError::NotFound { what: "domain" })?;
        Ok(DomainView { name, registration })
    }

    /// Updates, transfers or deletes a registered domain, unless its statuses prohibit it.
    pub async fn operate_domain(
        &self,
        actor: &Actor,
        name: &str,
        operation: DomainOperation,
        now: Timestamp,
    ) -> Result<Option<DomainView>> {
        require(actor, Permission::OperateRegistry)?;
        let name = parse_name("name", name)?;
        let mut tx = self.store.write().await?;
        tx.lock_registry().await?;
        let before = registered(&mut tx, actor, &name, now).await?;
        let prohibited = match &operation {
            DomainOperation::Update { .. } => before.statuses.prohibits_update(),
            DomainOperation::Transfer { .. } => before.statuses.prohibits_transfer(),
            DomainOperation::Delete => before.statuses.prohibits_delete(),
        };
        let (audit, verb, status) = operation.words();
        if prohibited {
            return Err(ServiceError::Conflict {
                what: format!(
                    "{name} cannot be {verb}: its statuses include client{status}Prohibited or \
                     server{status}Prohibited"
                ),
            });
        }
        let mut after = before.clone();
        match &operation {
            DomainOperation::Update { nameservers } => {
                after.nameservers = parse_nameservers("nameservers", nameservers)?;
            }
            DomainOperation::Transfer { to_registrar } => {
                if !tx.registrar_exists(*to_registrar).await? {
                    return Err(ServiceError::invalid(
                        "to_registrar",
                        format!("no registrar has id {to_registrar}"),
                    ));
                }
                after.registrar_id = Some(*to_registrar);
            }
            DomainOperation::Delete => {}
        }
        let tld_id = tld_of(&mut tx, &name)
            .await?
            .ok_or(ServiceError::NotFound { what: "domain" })?;
        let before_state = NameState {
            registration: Some(before),
            blocked_until: None,
        };
        let after_state = NameState {
            registration: (!matches!(operation, DomainOperation::Delete)).then_some(after),
            blocked_until: None,
        };
        write_one(&mut tx, &name, tld_id, &before_state, &after_state, now).await?;
        let change = Change {
            org_id: Some(actor.org_id),
            action: audit,
            subject: format!("domain:{name}"),
            reason: "",
            details: json!({}),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        self.names_changed();
        Ok(after_state
            .registration
            .map(|registration| DomainView { name, registration }))
    }
}

async fn availability(tx: &mut Tx, name: &DomainName, now: Timestamp) -> Result<Availability> {
    if tld_of(tx, name).await?.is_none() {
        return Ok(Availability::NotOurs);
    }
    let state = tx
        .name_states(std::slice::from_ref(name), now)
        .await?
        .remove(name)
        .unwrap_or_default();
    if state.registration.is_some() {
        return Ok(Availability::Registered);
    }
    Ok(match tx.active_block(name, now).await? {
        Some(block) => Availability::Blocked {
            reason: block.reason,
            until: block.ends_at,
        },
        None => Availability::Available,
    })
}

/// The registration of `name`, if the actor may see it (registrar staff: their own names).
async fn registered(
    tx: &mut Tx,
    actor: &Actor,
    name: &DomainName,
    now: Timestamp,
) -> Result<Registration> {
    let registration = tx
        .name_states(std::slice::from_ref(name), now)
        .await?
        .remove(name)
        .and_then(|state| state.registration)
        .ok_or(ServiceError::NotFound { what: "domain" })?;
    sponsors(tx, actor, registration.registrar_id).await?;
    Ok(registration)
}

async fn write_one(
    tx: &mut Tx,
    name: &DomainName,
    tld_id: i64,
    before: &NameState,
    after: &NameState,
    now: Timestamp,
) -> Result<()> {
    let change = StateChange {
        name,
        tld_id,
        before,
        after,
    };
    let origin = BlockOrigin {
        action_id: None,
        reason: "",
        requested_by: "",
    };
    Ok(tx.write_states(&[change], origin, now).await?)
}
