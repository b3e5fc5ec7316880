//! First start: the installation's admin, and on request a demo installation with every role.

use holdfast_model::org::{Actor, OrgKind, Role};
use holdfast_store::{NewUser, Tx};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::secret::{hash_password, new_token};
use crate::{Change, IssuedToken, Result, Service, record};

/// The password of every demo user (the demo is for trying Holdfast out, never for production).
pub const DEMO_PASSWORD: &str = "holdfast-demo-password";

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
        for (name, kind, email) in DEMO_ORGS {
            let org_id =
                create_org_with_user(&mut tx, now, (name, kind, email), Some(&password_hash))
                    .await?;
            if kind == OrgKind::Registry {
                tx.insert_tld("demo", org_id, now).await?;
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
        let admin = tx
            .user_by_email(ADMIN_EMAIL)
            .await?
            .ok_or(crate::ServiceError::NotFound { what: "admin user" })?;
        let admin_token = system_token(&mut tx, admin.id, admin.org_id, "demo", now).await?;
        tx.set_meta(DEMO_KEY, &now.to_string()).await?;
        tx.commit().await?;
        Ok(Some(DemoInstall { admin_token, users }))
    }
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
