//! Organisations, users, tokens, sign-in and TLDs.

use holdfast_model::DomainName;
use holdfast_model::org::{Actor, OrgKind, Permission, Role};
use holdfast_store::{ApiToken, NewUser, Organisation, Tld, User};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;

use crate::secret::{decoy_hash, hash_password, new_token, password_matches, token_hash};
use crate::{Change, Result, Service, ServiceError, organisation_of_kind, record, require};

/// How long a token from password sign-in stays valid.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// A request to create an organisation.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: OrgKind,
    pub reason: String,
}

/// A request to create a user.
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password: Option<String>,
    pub reason: String,
}

/// A request to create a TLD.
#[derive(Debug, Clone)]
pub struct NewTld {
    pub name: String,
    pub org_id: i64,
    pub reason: String,
}

/// A user as others may see them: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub disabled: bool,
}

impl From<User> for UserView {
    fn from(user: User) -> UserView {
        UserView {
            id: user.id,
            org_id: user.org_id,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            created_at: user.created_at,
            disabled: user.disabled_at.is_some(),
        }
    }
}

/// A token just issued: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
    pub expires_at: Option<Timestamp>,
}

fn actor_of(user: User) -> Actor {
    Actor {
        user_id: user.id,
        org_id: user.org_id,
        role: user.role,
        email: user.email,
    }
}

/// Checks a free-text field: trimmed, 1..=max characters, no control characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Checks the optional reason given for a change.
pub(crate) fn reason(value: &str) -> Result<&str> {
    if value.chars().count() > 2000 {
        return Err(ServiceError::invalid(
            "reason",
            "must be at most 2000 characters",
        ));
    }
    Ok(value)
}

/// Checks an e-mail address enough to route mail and to be a unique sign-in name.
pub(crate) fn email(field: &str, value: &str) -> Result<String> {
    let value = value.trim().to_lowercase();
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err(ServiceError::invalid(field, "must contain an @"));
    };
    if local.is_empty() || value.len() > 254 {
        return Err(ServiceError::invalid(
            field,
            "must have a local part and be at most 254 octets",
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ServiceError::invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    DomainName::parse(domain)
        .map_err(|e| ServiceError::invalid(field, format!("domain part: {e}")))?;
    Ok(value)
}

impl Service {
    /// The actor behind an API token, if the token is valid at `now`.
    pub async fn authenticate(&self, token: &str, now: Timestamp) -> Result<Actor> {
        let hash = token_hash(token);
        let tokens = &self.caches.tokens;
        if let Some((actor, expires_at)) = tokens.get(&hash, now)
            && expires_at.is_none_or(|expires_at| now < expires_at)
        {
            return Ok(actor);
        }
        let generation = tokens.generation();
        let mut tx = self.store.read().await?;
        let (user, expires_at) = tx
            .token_holder(&hash, now)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let actor = actor_of(user);
        tokens.put(generation, hash, (actor.clone(), expires_at), now);
        Ok(actor)
    }

    /// Password sign-in: a session token valid for [`SESSION_LIFETIME`]. Wrong e-mail and wrong
    /// password are refused alike.
    pub async fn login(&self, email: &str, password: &str, now: Timestamp) -> Result<IssuedToken> {
        let mut tx = self.store.write().await?;
        let user = tx
            .user_by_email(&email.trim().to_lowercase())
            .await?
            .filter(|user| user.disabled_at.is_none());
        // Without a stored hash, check against a decoy so that an unknown address takes as long
        // to refuse as a wrong password and sign-in does not reveal who has an account.
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let matches = password_matches(password, stored.as_deref().unwrap_or(decoy_hash()));
        let user = user
            .filter(|_| matches && stored.is_some())
            .ok_or(ServiceError::Unauthenticated)?;
        let expires_at = now.saturating_add(SESSION_LIFETIME).ok();
        let (token, hash) = new_token()?;
        let id = tx
            .insert_token(user.id, &hash, "sign-in", now, expires_at)
            .await?;
        let actor = actor_of(user);
        let change = Change {
            org_id: Some(actor.org_id),
            action: "user.login",
            subject: format!("user:{}", actor.user_id),
            reason: "",
            details: json!({ "token_id": id }),
        };
        record(&mut tx, Some(&actor), now, change).await?;
        tx.commit().await?;
        Ok(IssuedToken {
            id,
            token,
            expires_at,
        })
    }

    /// Creates an organisation (admins only).
    pub async fn create_organisation(
        &self,
        actor: &Actor,
        new: NewOrganisation,
        now: Timestamp,
    ) -> Result<Organisation> {
        require(actor, Permission::ManageAccounts)?;
        let name = text("name", &new.name, 200)?;
        let why = reason(&new.reason)?;
        let mut tx = self.store.write().await?;
        let id = tx.insert_organisation(&name, new.kind, now).await?;
        let change = Change {
            org_id: Some(id),
            action: "organisation.create",
            subject: format!("organisation:{id}"),
            reason: why,
            details: json!({ "name": name, "kind": new.kind }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let organisation = tx.organisation(id).await?.ok_or(ServiceError::NotFound {
            what: "organisation",
        })?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(organisation)
    }

    /// The organisations the actor may see: all for admins, their own for everyone else.
    pub async fn organisations(&self, actor: &Actor) -> Result<Vec<Organisation>> {
        let mut tx = self.store.read().await?;
        let all = tx.organisations().await?;
        Ok(all
            .into_iter()
            .filter(|o| actor.may_see_org(o.id))
            .collect())
    }

    /// One organisation, if the actor may see it.
    pub async fn organisation(&self, actor: &Actor, id: i64) -> Result<Organisation> {
        if !actor.may_see_org(id) {
            return Err(ServiceError::NotFound {
                what: "organisation",
            });
        }
        let mut tx = self.store.read().await?;
        tx.organisation(id).await?.ok_or(ServiceError::NotFound {
            what: "organisation",
        })
    }

    /// Creates a user in an organisation (admins only). The role must fit the organisation.
    pub async fn create_user(
        &self,
        actor: &Actor,
        org_id: i64,
        new: NewUserRequest,
        now: Timestamp,
    ) -> Result<UserView> {
        require(actor, Permission::ManageAccounts)?;
        let email = email("email", &new.email)?;
        let display_name = text("display_name", &new.display_name, 200)?;
        let why = reason(&new.reason)?;
        let password_hash = match new.password.as_deref() {
            Some(password) if password.chars().count() < 12 => {
                return Err(ServiceError::invalid(
                    "password",
                    "must be at least 12 characters",
                ));
            }
            Some(password) if password.len() > 1024 => {
                return Err(ServiceError::invalid(
                    "password",
                    "must be at most 1024 octets",
                ));
            }
            Some(password) => Some(hash_password(password)?),
            None => None,
        };
        let mut tx = self.store.write().await?;
        let organisation = tx
            .organisation(org_id)
            .await?
            .ok_or(ServiceError::NotFound {
                what: "organisation",
            })?;
        if new.role.org_kind() != organisation.kind {
            return Err(ServiceError::invalid(
                "role",
                format!(
                    "a {} belongs to an organisation of kind {}, and {} is of kind {}",
                    new.role.as_str(),
                    new.role.org_kind().as_str(),
                    organisation.name,
                    organisation.kind.as_str()
                ),
            ));
        }
        let id = tx
            .insert_user(&NewUser {
                org_id,
                email: &email,
                display_name: &display_name,
                role: new.role,
                password_hash: password_hash.as_deref(),
                created_at: now,
            })
            .await?;
        let change = Change {
            org_id: Some(org_id),
            action: "user.create",
            subject: format!("user:{id}"),
            reason: why,
            details: json!({ "email": email, "role": new.role, "password_set": password_hash.is_some() }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        let user = tx
            .user(id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        tx.commit().await?;
        Ok(user.into())
    }

    /// The members of an organisation the actor may see; a reporter sees only themselves.
    pub async fn users(&self, actor: &Actor, org_id: i64) -> Result<Vec<UserView>> {
        if !actor.may_see_org(org_id) {
            return Err(ServiceError::NotFound {
                what: "organisation",
            });
        }
        let mut tx = self.store.read().await?;
        let members = tx.users_of_organisation(org_id).await?;
        let visible = members
            .into_iter()
            .filter(|u| actor.role.may(Permission::ListMembers) || u.id == actor.user_id);
        Ok(visible.map(UserView::from).collect())
    }

    /// The acting user's own record.
    pub async fn me(&self, actor: &Actor) -> Result<UserView> {
        let mut tx = self.store.read().await?;
        let user = tx
            .user(actor.user_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        Ok(user.into())
    }

    /// Issues an API token for `user_id`: for oneself, or by an admin for anyone.
    pub async fn issue_token(
        &self,
        actor: &Actor,
        user_id: i64,
        label: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<IssuedToken> {
        if user_id != actor.user_id {
            require(actor, Permission::ManageAccounts)?;
        }
        let label = text("label", label, 100)?;
        if expires_at.is_some_and(|at| at <= now) {
            return Err(ServiceError::invalid("expires_at", "must be in the future"));
        }
        let mut tx = self.store.write().await?;
        let user = tx
            .user(user_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        let (token, hash) = new_token()?;
        let id = tx
            .insert_token(user.id, &hash, &label, now, expires_at)
            .await?;
        let change = Change {
            org_id: Some(user.org_id),
            action: "token.issue",
            subject: format!("token:{id}"),
            reason: "",
            details: json!({ "user_id": user.id, "label": label, "expires_at": expires_at }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(IssuedToken {
            id,
            token,
            expires_at,
        })
    }

    /// The acting user's own tokens (never their secrets).
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        let mut tx = self.store.read().await?;
        Ok(tx.tokens_of_user(actor.user_id).await?)
    }

    /// A user's tokens (never their secrets): one's own, or anyone's as an admin.
    pub async fn user_tokens(
        &self,
        actor: &Actor,
        user_id: i64,
    ) -> Result<(UserView, Vec<ApiToken>)> {
        if user_id != actor.user_id {
            require(actor, Permission::ManageAccounts)?;
        }
        let mut tx = self.store.read().await?;
        let user = tx
            .user(user_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        let tokens = tx.tokens_of_user(user_id).await?;
        Ok((user.into(), tokens))
    }

    /// Revokes a token: one's own, or any as an admin.
    pub async fn revoke_token(&self, actor: &Actor, token_id: i64, now: Timestamp) -> Result<()> {
        let mut tx = self.store.write().await?;
        let token = tx
            .token(token_id)
            .await?
            .filter(|t| t.user_id == actor.user_id || actor.role.may(Permission::ManageAccounts))
            .ok_or(ServiceError::NotFound { what: "token" })?;
        let owner = tx
            .user(token.user_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        tx.revoke_token(token.id, now).await?;
        let change = Change {
            org_id: Some(owner.org_id),
            action: "token.revoke",
            subject: format!("token:{}", token.id),
            reason: "",
            details: json!({ "user_id": owner.id }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        // From now on no request is let in on a cached check of the revoked token.
        self.caches.tokens.invalidate();
        Ok(())
    }

    /// Disables a user (admins), or enables them again: a disabled user cannot sign in, and
    /// every token and session they hold stops working at once. Admins cannot disable
    /// themselves, so that an operator always keeps one way in.
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        user_id: i64,
        disabled: bool,
        why: &str,
        now: Timestamp,
    ) -> Result<UserView> {
        require(actor, Permission::ManageAccounts)?;
        let why = reason(why)?;
        if disabled && user_id == actor.user_id {
            return Err(ServiceError::invalid(
                "disabled",
                "you cannot disable yourself; another admin can",
            ));
        }
        let mut tx = self.store.write().await?;
        let mut user = tx
            .user(user_id)
            .await?
            .ok_or(ServiceError::NotFound { what: "user" })?;
        if user.disabled_at.is_some() != disabled {
            user.disabled_at = disabled.then_some(now);
            tx.set_user_disabled(user_id, user.disabled_at).await?;
            let change = Change {
                org_id: Some(user.org_id),
                action: if disabled {
                    "user.disable"
                } else {
                    "user.enable"
                },
                subject: format!("user:{user_id}"),
                reason: why,
                details: json!({ "email": user.email }),
            };
            record(&mut tx, Some(actor), now, change).await?;
        }
        tx.commit().await?;
        // No request is let in on a cached check of the disabled user's tokens.
        self.caches.tokens.invalidate();
        Ok(user.into())
    }

    /// Creates a TLD run by a registry organisation (admins only).
    pub async fn create_tld(&self, actor: &Actor, new: NewTld, now: Timestamp) -> Result<Tld> {
        require(actor, Permission::ManageTlds)?;
        let name = DomainName::parse(&new.name)
            .map_err(|e| ServiceError::invalid("name", e.to_string()))?;
        if name.label_count() != 1 {
            return Err(ServiceError::invalid("name", "a TLD is a single label"));
        }
        let why = reason(&new.reason)?;
        let mut tx = self.store.write().await?;
        let organisation = organisation_of_kind(&mut tx, new.org_id, OrgKind::Registry).await?;
        let id = tx.insert_tld(name.as_str(), organisation.id, now).await?;
        let change = Change {
            org_id: Some(organisation.id),
            action: "tld.create",
            subject: format!("tld:{}", name.as_str()),
            reason: why,
            details: json!({ "name": name.as_str(), "org_id": organisation.id }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        self.caches.reference_changed();
        Ok(Tld {
            id,
            name: name.as_str().to_owned(),
            org_id: organisation.id,
            created_at: now,
        })
    }

    /// TLDs the actor may see: all for admins, their registry's for registry staff.
    pub async fn tlds(&self, actor: &Actor) -> Result<Vec<Tld>> {
        require(actor, Permission::ReadTlds)?;
        let scope = (actor.role != Role::Admin).then_some(actor.org_id);
        let mut tx = self.store.read().await?;
        Ok(tx.tlds(scope).await?)
    }
}
