//! First start: the installation's admin, and on request a demo installation with every role.

use std::net::IpAddr;

use holdfast_model::org::{Actor, OrgKind, Role};
use holdfast_model::{DomainName, DsRecord, EppStatusSet, Soa};
use holdfast_store::{NewRegistrar, NewUser, Tx};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::secret::{hash_password, new_token};
use crate::{Change, IssuedToken, Result, Service, record};

/// The password of every demo user (the demo is for trying Holdfast out, never for production).
pub const DEMO_PASSWORD: &str = "holdfast-demo-password";

/// The demo registry's desk address: reports and replies e-mailed here reach its desk.
pub const DEMO_DESK_ADDRESS: &str = "abuse@registry.demo.example";

/// The bootstrap administrator's e-mail address.
pub const ADMIN_EMAIL: &str = "admin@localhost";

const DEMO_KEY: &str = "demo_installed";

/// What the demo created: an admin token and the demo users' sign-in names.
#[derive(Debug, Clone, Serialize)]
pub struct DemoInstall {
    pub admin_token: IssuedToken,
    pub users: Vec<(Role, String)>,
}

/// The demo's organisations: name, kind, the one user's e-mail address.
const DEMO_ORGS: [(&str, OrgKind, &str); 4] = [
    ("Demo Registry", OrgKind::Registry, "registry@demo.example"),
    (
        "Demo Registrar",
        OrgKind::Registrar,
        "registrar@demo.example",
    ),
    (
        "ICANN Security Response Team (demo)",
        OrgKind::Reviewer,
        "reviewer@demo.example",
    ),
    ("Demo Reporter", OrgKind::Reporter, "reporter@demo.example"),
];

impl Service {
    /// On an empty installation, creates the operator organisation and its admin and returns
    /// the admin's first API token; on any other, does nothing and returns `None`.
    pub async fn bootstrap(&self, now: Timestamp) -> Result<Option<IssuedToken>> {
        let mut tx = self.store.write().await?;
        if !tx.organisations().await?.is_empty() {
            return Ok(None);
        }
        let org_id = create_org_with_user(
            &mut tx,
            now,
            ("Operator", OrgKind::Operator, ADMIN_EMAIL),
            None,
        )
        .await?;
        let admin = tx.users_of_organisation(org_id).await?;
        let admin_id = admin.first().map_or(0, |u| u.id);
        let token = system_token(&mut tx, admin_id, org_id, "bootstrap", now).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(Some(token))
    }

    /// Creates the demo installation once (after [`Service::bootstrap`]): a registry with the TLD
    /// `demo`, a registrar, a reviewer organisation and a reporter, each with one user whose
    /// password is [`DEMO_PASSWORD`], and a fresh admin token. Returns `None` if it exists.
    pub async fn install_demo(&self, now: Timestamp) -> Result<Option<DemoInstall>> {
        let mut tx = self.store.write().await?;
        if tx.meta(DEMO_KEY).await?.is_some() {
            return Ok(None);
        }
        let password_hash = hash_password(DEMO_PASSWORD)?;
        let mut users = Vec::new();
        let mut tld_id = None;
        let mut registrar_org = None;
        for (name, kind, email) in DEMO_ORGS {
            let org_id =
                create_org_with_user(&mut tx, now, (name, kind, email), Some(&password_hash))
                    .await?;
            if kind == OrgKind::Registrar {
                registrar_org = Some(org_id);
            }
            if kind == OrgKind::Registry {
                tld_id = Some(tx.insert_tld("demo", org_id, now).await?);
                let desk = holdfast_store::DeskSettings {
                    targets: holdfast_model::ClockTargets::default(),
                    desk_address: Some(DEMO_DESK_ADDRESS.to_owned()),
                };
                tx.set_desk_settings(org_id, &desk).await?;
                let change = Change {
                    org_id: Some(org_id),
                    action: "tld.create",
                    subject: "tld:demo".to_owned(),
                    reason: "demo installation",
                    details: json!({ "name": "demo", "org_id": org_id }),
                };
                record(&mut tx, None, now, change).await?;
            }
            users.push((kind.role(), email.to_owned()));
        }
        if let Some(tld_id) = tld_id {
            fill_demo_tld(&mut tx, tld_id, registrar_org, now).await?;
        }
        let admin = tx
            .user_by_email(ADMIN_EMAIL)
            .await?
            .ok_or(crate::ServiceError::NotFound { what: "admin user" })?;
        let admin_token = system_token(&mut tx, admin.id, admin.org_id, "demo", now).await?;
        tx.set_meta(DEMO_KEY, &now.to_string()).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(Some(DemoInstall { admin_token, users }))
    }
}

/// How many names the demo TLD holds.
pub const DEMO_NAMES: usize = 1000;

/// The demo's sinkhole hosts (outside the TLD: no glue needed).
pub const DEMO_SINKHOLE: [&str; 2] = [
    "ns1.sinkhole.holdfast.example",
    "ns2.sinkhole.holdfast.example",
];

fn demo_name(text: &str) -> Result<DomainName> {
    DomainName::parse(text).map_err(|error| crate::ServiceError::Internal {
        what: format!("demo name {text}: {error}"),
    })
}

/// Fills the demo TLD: its apex, [`DEMO_NAMES`] delegated names (every fifth with a DS record,
/// every tenth served by its own name servers with glue) sponsored by the demo registrar, an
/// internal registrar for created names, and the sinkhole hosts.
async fn fill_demo_tld(
    tx: &mut Tx,
    tld_id: i64,
    registrar_org: Option<i64>,
    now: Timestamp,
) -> Result<()> {
    let registrar = |name, iana_id, org_id, internal| NewRegistrar {
        name,
        iana_id,
        org_id,
        abuse_email: "abuse@registrar.demo.example",
        abuse_phone: "+1.5555550100",
        internal,
        created_at: now,
    };
    let sponsor = tx
        .insert_registrar(&registrar(
            "Demo Registrar",
            Some(9995),
            registrar_org,
            false,
        ))
        .await?;
    tx.insert_registrar(&registrar(
        "Demo Registry's own registrar",
        None,
        None,
        true,
    ))
    .await?;
    let soa = Soa {
        mname: demo_name("ns1.nic.demo")?,
        rname: demo_name("hostmaster.nic.demo")?,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 604_800,
        minimum: 300,
    };
    let apex_ns = [demo_name("ns1.nic.demo")?, demo_name("ns2.nic.demo")?];
    tx.set_tld_apex(tld_id, &soa, &apex_ns).await?;
    let sinkhole = DEMO_SINKHOLE
        .iter()
        .map(|host| demo_name(host))
        .collect::<Result<Vec<_>>>()?;
    tx.set_tld_sinkhole(tld_id, &sinkhole).await?;
    const WORDS: [&str; 8] = [
        "shop", "bank", "mail", "cloud", "news", "pay", "login", "photo",
    ];
    let external = [
        demo_name("ns1.dns-host.example")?,
        demo_name("ns2.dns-host.example")?,
    ];
    let mut names = Vec::with_capacity(DEMO_NAMES);
    let mut nameservers = Vec::with_capacity(DEMO_NAMES * 2);
    let mut ds = Vec::new();
    let mut glue = vec![
        (apex_ns[0].clone(), IpAddr::from([127, 0, 0, 1])),
        (apex_ns[1].clone(), IpAddr::from([127, 0, 0, 2])),
    ];
    for index in 0..DEMO_NAMES {
        let name = demo_name(&format!("{}{index}.demo", WORDS[index % WORDS.len()]))?;
        if index % 10 == 0 {
            for (number, host) in ["ns1", "ns2"].into_iter().enumerate() {
                let host = demo_name(&format!("{host}.{name}"))?;
                let octet = u8::try_from(index % 250).unwrap_or(0);
                glue.push((
                    host.clone(),
                    IpAddr::from([192, 0, 2 + u8::from(number == 1), octet]),
                ));
                nameservers.push((name.clone(), host));
            }
        } else {
            nameservers.extend(external.iter().map(|host| (name.clone(), host.clone())));
        }
        if index % 5 == 0 {
            let key_tag = u16::try_from(index).unwrap_or(0);
            ds.push((
                name.clone(),
                DsRecord {
                    key_tag,
                    algorithm: 13,
                    digest_type: 2,
                    digest: format!("{:064X}", index + 1),
                },
            ));
        }
        names.push(name);
    }
    tx.insert_domains(tld_id, &names, Some(sponsor), EppStatusSet::OK, now)
        .await?;
    tx.insert_nameservers(&nameservers).await?;
    tx.insert_ds(&ds).await?;
    tx.insert_glue(tld_id, &glue).await?;
    let change = Change {
        org_id: None,
        action: "tld.demo_fill",
        subject: "tld:demo".to_owned(),
        reason: "demo installation",
        details: json!({ "names": DEMO_NAMES, "ds": ds.len(), "sinkhole": DEMO_SINKHOLE }),
    };
    record(tx, None, now, change).await
}

async fn create_org_with_user(
    tx: &mut Tx,
    now: Timestamp,
    (name, kind, email): (&str, OrgKind, &str),
    password_hash: Option<&str>,
) -> Result<i64> {
    let org_id = tx.insert_organisation(name, kind, now).await?;
    let change = Change {
        org_id: Some(org_id),
        action: "organisation.create",
        subject: format!("organisation:{org_id}"),
        reason: "first start",
        details: json!({ "name": name, "kind": kind }),
    };
    record(tx, None, now, change).await?;
    let role = kind.role();
    let user_id = tx
        .insert_user(&NewUser {
            org_id,
            email,
            display_name: name,
            role,
            password_hash,
            created_at: now,
        })
        .await?;
    let change = Change {
        org_id: Some(org_id),
        action: "user.create",
        subject: format!("user:{user_id}"),
        reason: "first start",
        details: json!({ "email": email, "role": role, "password_set": password_hash.is_some() }),
    };
    record(tx, None, now, change).await?;
    Ok(org_id)
}

async fn system_token(
    tx: &mut Tx,
    user_id: i64,
    org_id: i64,
    label: &str,
    now: Timestamp,
) -> Result<IssuedToken> {
    let (token, hash) = new_token()?;
    let id = tx.insert_token(user_id, &hash, label, now, None).await?;
    let change = Change {
        org_id: Some(org_id),
        action: "token.issue",
        subject: format!("token:{id}"),
        reason: "first start",
        details: json!({ "user_id": user_id, "label": label }),
    };
    record(tx, None::<&Actor>, now, change).await?;
    Ok(IssuedToken {
        id,
        token,
        expires_at: None,
    })
}
