//! Organisations, users, API tokens and TLDs.

use holdfast_model::org::{OrgKind, Role};
use jiff::Timestamp;

use crate::{Result, StoreError, Tx, insert_error, micros, on, timestamp};

/// An organisation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: i64,
    pub name: String,
    pub kind: OrgKind,
    pub created_at: Timestamp,
}

/// A user as stored. The password hash never leaves the store except for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub org_id: i64,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
    pub created_at: Timestamp,
}

/// An API token's record; the token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A top-level domain run by a registry organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tld {
    pub id: i64,
    pub name: String,
    pub org_id: i64,
    pub created_at: Timestamp,
}

type OrgRow = (i64, String, String, i64);
type UserRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);
type TokenRow = (i64, i64, String, i64, Option<i64>, Option<i64>);
type TldRow = (i64, String, i64, i64);

fn organisation(row: OrgRow) -> Result<Organisation> {
    let (id, name, kind, created_at) = row;
    Ok(Organisation {
        id,
        kind: OrgKind::parse(&kind).ok_or(StoreError::Corrupt {
            what: "organisation kind",
            value: kind,
        })?,
        name,
        created_at: timestamp("organisation created_at", created_at)?,
    })
}

fn user(row: UserRow) -> Result<User> {
    let (id, org_id, email, display_name, role, password_hash, created_at, disabled_at) = row;
    Ok(User {
        id,
        org_id,
        email,
        display_name,
        role: Role::parse(&role).ok_or(StoreError::Corrupt {
            what: "user role",
            value: role,
        })?,
        password_hash,
        created_at: timestamp("user created_at", created_at)?,
        disabled_at: disabled_at
            .map(|at| timestamp("user disabled_at", at))
            .transpose()?,
    })
}

fn token(row: TokenRow) -> Result<ApiToken> {
    let (id, user_id, label, created_at, expires_at, revoked_at) = row;
    Ok(ApiToken {
        id,
        user_id,
        label,
        created_at: timestamp("token created_at", created_at)?,
        expires_at: expires_at
            .map(|at| timestamp("token expires_at", at))
            .transpose()?,
        revoked_at: revoked_at
            .map(|at| timestamp("token revoked_at", at))
            .transpose()?,
    })
}

fn tld(row: TldRow) -> Result<Tld> {
    let (id, name, org_id, created_at) = row;
    Ok(Tld {
        id,
        name,
        org_id,
        created_at: timestamp("tld created_at", created_at)?,
    })
}

impl Tx {
    /// Creates an organisation and returns its id.
    pub async fn insert_organisation(
        &mut self,
        name: &str,
        kind: OrgKind,
        created_at: Timestamp,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| {
            sqlx::query_as(
            "INSERT INTO organisations (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id"
        )
        .bind(name)
        .bind(kind.as_str())
        .bind(micros(created_at))
        .fetch_one(conn)
        .await
        })
        .map_err(insert_error("organisation"))?;
        Ok(id)
    }

    /// One organisation.
    pub async fn organisation(&mut self, id: i64) -> Result<Option<Organisation>> {
        let sql = "SELECT id, name, kind, created_at FROM organisations WHERE id = $1";
        let row: Option<OrgRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        row.map(organisation).transpose()
    }

    /// Every organisation, by id.
    pub async fn organisations(&mut self) -> Result<Vec<Organisation>> {
        let sql = "SELECT id, name, kind, created_at FROM organisations ORDER BY id";
        let rows: Vec<OrgRow> = on!(self, |conn| sqlx::query_as(sql).fetch_all(conn).await)?;
        rows.into_iter().map(organisation).collect()
    }

    /// Creates a user and returns its id.
    pub async fn insert_user(&mut self, new: &NewUser<'_>) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO users (org_id, email, display_name, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(new.org_id)
        .bind(new.email)
        .bind(new.display_name)
        .bind(new.role.as_str())
        .bind(new.password_hash)
        .bind(micros(new.created_at))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("user"))?;
        Ok(id)
    }

    /// One user by id.
    pub async fn user(&mut self, id: i64) -> Result<Option<User>> {
        let sql = "SELECT id, org_id, email, display_name, role, password_hash, created_at, \
                   disabled_at FROM users WHERE id = $1";
        let row: Option<UserRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        row.map(user).transpose()
    }

    /// One user by e-mail address (exact, as stored: addresses are stored lower-case).
    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        let sql = "SELECT id, org_id, email, display_name, role, password_hash, created_at, \
                   disabled_at FROM users WHERE email = $1";
        let row: Option<UserRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(email)
            .fetch_optional(conn)
            .await)?;
        row.map(user).transpose()
    }

    /// The members of an organisation, by id.
    pub async fn users_of_organisation(&mut self, org_id: i64) -> Result<Vec<User>> {
        let sql = "SELECT id, org_id, email, display_name, role, password_hash, created_at, \
                   disabled_at FROM users WHERE org_id = $1 ORDER BY id";
        let rows: Vec<UserRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(org_id)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(user).collect()
    }

    /// Stores a new API token (as its hash) and returns its id.
    pub async fn insert_token(
        &mut self,
        user_id: i64,
        token_hash: &str,
        label: &str,
        created_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO api_tokens (user_id, token_hash, label, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id"
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(label)
        .bind(micros(created_at))
        .bind(expires_at.map(micros))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("token"))?;
        Ok(id)
    }

    /// The enabled user owning a token that is neither revoked nor expired at `now`.
    pub async fn user_by_token(
        &mut self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<User>> {
        Ok(self
            .token_holder(token_hash, now)
            .await?
            .map(|(user, _)| user))
    }

    /// [`Tx::user_by_token`], with when the token expires.
    pub async fn token_holder(
        &mut self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(User, Option<Timestamp>)>> {
        let sql = "SELECT u.id, u.org_id, u.email, u.display_name, u.role, u.password_hash, \
                   u.created_at, u.disabled_at, t.expires_at FROM api_tokens t \
                   JOIN users u ON u.id = t.user_id \
                   WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
                   AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL";
        type Row = (
            i64,
            i64,
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<i64>,
            Option<i64>,
        );
        let row: Option<Row> = on!(self, |conn| sqlx::query_as(sql)
            .bind(token_hash)
            .bind(micros(now))
            .fetch_optional(conn)
            .await)?;
        let Some((id, org_id, email, name, role, password, created, disabled, expires)) = row
        else {
            return Ok(None);
        };
        let holder = user((id, org_id, email, name, role, password, created, disabled))?;
        let expires_at = expires
            .map(|at| timestamp("token expires_at", at))
            .transpose()?;
        Ok(Some((holder, expires_at)))
    }

    /// One token's record.
    pub async fn token(&mut self, id: i64) -> Result<Option<ApiToken>> {
        let sql = "SELECT id, user_id, label, created_at, expires_at, revoked_at \
                   FROM api_tokens WHERE id = $1";
        let row: Option<TokenRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        row.map(token).transpose()
    }

    /// A user's tokens, by id.
    pub async fn tokens_of_user(&mut self, user_id: i64) -> Result<Vec<ApiToken>> {
        let sql = "SELECT id, user_id, label, created_at, expires_at, revoked_at \
                   FROM api_tokens WHERE user_id = $1 ORDER BY id";
        let rows: Vec<TokenRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(user_id)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(token).collect()
    }

    /// Revokes a token; a token already revoked keeps its first revocation time.
    pub async fn revoke_token(&mut self, id: i64, at: Timestamp) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
        )
        .bind(id)
        .bind(micros(at))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Disables a user from `at` (`None` enables them again).
    pub async fn set_user_disabled(&mut self, id: i64, at: Option<Timestamp>) -> Result<()> {
        on!(self, |conn| sqlx::query(
            "UPDATE users SET disabled_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(at.map(micros))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// Creates a TLD run by a registry organisation and returns its id.
    pub async fn insert_tld(
        &mut self,
        name: &str,
        org_id: i64,
        created_at: Timestamp,
    ) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| sqlx::query_as(
            "INSERT INTO tlds (name, org_id, created_at) VALUES ($1, $2, $3) RETURNING id"
        )
        .bind(name)
        .bind(org_id)
        .bind(micros(created_at))
        .fetch_one(conn)
        .await)
        .map_err(insert_error("tld"))?;
        Ok(id)
    }

    /// TLDs, by name; only those of `org_id` when given.
    pub async fn tlds(&mut self, org_id: Option<i64>) -> Result<Vec<Tld>> {
        let sql = "SELECT id, name, org_id, created_at FROM tlds \
                   WHERE $1 IS NULL OR org_id = $1 ORDER BY name";
        let rows: Vec<TldRow> = on!(self, |conn| sqlx::query_as(sql)
            .bind(org_id)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(tld).collect()
    }
}
