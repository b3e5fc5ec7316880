//! Registry data use cases: registrars.

use holdfast_model::DomainName;
use holdfast_model::org::{Actor, OrgKind, Permission, Role};
use holdfast_store::{NewRegistrar, TldSettings};
use jiff::Timestamp;
use serde_json::json;

use crate::accounts::{email, reason, text};
use crate::{
    Change, Registrar, Result, Service, ServiceError, organisation_of_kind, record, require,
    tld_by_id,
};

/// A request to create a registrar.
#[derive(Debug, Clone)]
pub struct NewRegistrarRequest {
    pub name: String,
    /// The IANA Registrar ID; `None` for a registry's own registrar or a non-accredited one.
    pub iana_id: Option<i64>,
    /// The registrar's organisation in Holdfast, whose staff then see its referrals.
    pub org_id: Option<i64>,
    pub abuse_email: String,
    pub abuse_phone: String,
    /// Whether this is the registry operator's own registrar (at most one).
    pub internal: bool,
    pub reason: String,
}

impl Service {
    /// Creates a registrar (admins).
    pub async fn create_registrar(
        &self,
        actor: &Actor,
        new: NewRegistrarRequest,
        now: Timestamp,
    ) -> Result<Registrar> {
        require(actor, Permission::ManageRegistrars)?;
        let name = text("name", &new.name, 200)?;
        let abuse_email = email("abuse_email", &new.abuse_email)?;
        let abuse_phone = text("abuse_phone", &new.abuse_phone, 50)?;
        let why = reason(&new.reason)?;
        if new.iana_id.is_some_and(|id| id <= 0) {
            return Err(ServiceError::invalid(
                "iana_id",
                "must be a positive number",
            ));
        }
        let mut tx = self.store.write().await?;
        if let Some(org_id) = new.org_id {
            organisation_of_kind(&mut tx, org_id, OrgKind::Registrar).await?;
        }
        let id = tx
            .insert_registrar(&NewRegistrar {
                name: &name,
                iana_id: new.iana_id,
                org_id: new.org_id,
                abuse_email: &abuse_email,
                abuse_phone: &abuse_phone,
                internal: new.internal,
                created_at: now,
            })
            .await
            .map_err(|error| match error {
                holdfast_store::StoreError::Conflict { .. } => ServiceError::Conflict {
                    what: "a registrar with this name or IANA ID exists, or there is already an \
                           internal registrar"
                        .to_owned(),
                },
                other => other.into(),
            })?;
        let change = Change {
            org_id: new.org_id,
            action: "registrar.create",
            subject: format!("registrar:{id}"),
            reason: why,
            details: json!({ "name": name, "iana_id": new.iana_id, "internal": new.internal,
                             "abuse_email": abuse_email }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let registrar = tx
            .registrars()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(ServiceError::NotFound { what: "registrar" })?;
        tx.commit().await?;
        Ok(registrar)
    }

    /// Registrars: all for admins and registry staff, their own for registrar staff.
    pub async fn registrars(&self, actor: &Actor) -> Result<Vec<Registrar>> {
        require(actor, Permission::ReadRegistrars)?;
        let mut tx = self.store.read().await?;
        let all = tx.registrars().await?;
        Ok(all
            .into_iter()
            .filter(|r| actor.role != Role::RegistrarStaff || r.org_id == Some(actor.org_id))
            .collect())
    }
}

impl Service {
    /// The TLDs the actor may see with their sinkhole hosts: all for admins, their registry's
    /// for registry staff.
    pub async fn sinkholes(&self, actor: &Actor) -> Result<Vec<TldSettings>> {
        require(actor, Permission::ReadTlds)?;
        let mut tx = self.store.read().await?;
        let all = tx.tld_settings().await?;
        Ok(all
            .into_iter()
            .filter(|tld| actor.may_see_org(tld.org_id))
            .collect())
    }

    /// Sets the sinkhole hosts of a TLD, where redirect and create delegate names (admins).
    pub async fn set_sinkhole(
        &self,
        actor: &Actor,
        tld_id: i64,
        hosts: &[String],
        why: &str,
        now: Timestamp,
    ) -> Result<Vec<DomainName>> {
        require(actor, Permission::ManageTlds)?;
        let why = reason(why)?;
        if hosts.is_empty() {
            return Err(ServiceError::invalid(
                "hosts",
                "name 1 to 13 sinkhole hosts",
            ));
        }
        let parsed = crate::domains::parse_nameservers("hosts", hosts)?;
        let mut tx = self.store.write().await?;
        let tld = tld_by_id(&mut tx, tld_id).await?;
        tx.set_tld_sinkhole(tld_id, &parsed).await?;
        let change = Change {
            org_id: Some(tld.org_id),
            action: "tld.sinkhole",
            subject: format!("tld:{}", tld.name),
            reason: why,
            details: json!({ "hosts": parsed.iter().map(DomainName::as_str).collect::<Vec<_>>() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(parsed)
    }
}
