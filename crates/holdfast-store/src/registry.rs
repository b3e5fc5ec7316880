//! Registry data: registrars, TLD apexes, domains with name servers and DS records, and glue.
//! Writes of many rows go through [`crate::bulk`]: one JSON parameter per statement.

use std::net::IpAddr;
use std::str::FromStr;

use holdfast_model::{Delegation, DomainName, DsRecord, EppStatus, EppStatusSet, Glue, Soa};
use jiff::Timestamp;

use crate::bulk::{Bind, Col};
use crate::{Result, StoreError, Tx, insert_error, micros, on, timestamp};

/// A registrar as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    pub id: i64,
    pub name: String,
    pub iana_id: Option<i64>,
    pub org_id: Option<i64>,
    pub abuse_email: String,
    pub abuse_phone: String,
    /// The registry operator's own registrar (used by the create action); at most one.
    pub internal: bool,
    pub created_at: Timestamp,
}

/// What it takes to create a registrar.
#[derive(Debug, Clone)]
pub struct NewRegistrar<'a> {
    pub name: &'a str,
    pub iana_id: Option<i64>,
    pub org_id: Option<i64>,
    pub abuse_email: &'a str,
    pub abuse_phone: &'a str,
    pub internal: bool,
    pub created_at: Timestamp,
}

/// A registered domain with everything the registry holds about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: DomainName,
    pub tld_id: i64,
    pub registrar_id: Option<i64>,
    pub statuses: EppStatusSet,
    pub nameservers: Vec<DomainName>,
    pub ds: Vec<DsRecord>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

type RegistrarRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
    bool,
    i64,
);
type DomainRow = (String, i64, Option<i64>, String, i64, Option<i64>, i64);

fn registrar(row: RegistrarRow) -> Result<Registrar> {
    let (id, name, iana_id, org_id, abuse_email, abuse_phone, internal, created_at) = row;
    Ok(Registrar {
        id,
        name,
        iana_id,
        org_id,
        abuse_email,
        abuse_phone,
        internal,
        created_at: timestamp("registrar created_at", created_at)?,
    })
}

/// The stored form of a status set: RFC 5731 names separated by spaces.
pub(crate) fn statuses_text(statuses: EppStatusSet) -> String {
    let names: Vec<&str> = statuses.iter().map(EppStatus::as_str).collect();
    names.join(" ")
}

pub(crate) fn statuses(text: &str) -> Result<EppStatusSet> {
    let corrupt = || StoreError::Corrupt {
        what: "domain statuses",
        value: text.to_owned(),
    };
    let parsed: std::result::Result<Vec<EppStatus>, _> =
        text.split_whitespace().map(EppStatus::from_str).collect();
    EppStatusSet::new(parsed.map_err(|_| corrupt())?).map_err(|_| corrupt())
}

pub(crate) fn name(what: &'static str, text: &str) -> Result<DomainName> {
    DomainName::parse(text).map_err(|_| StoreError::Corrupt {
        what,
        value: text.to_owned(),
    })
}

fn small(what: &'static str, value: i64) -> Result<u8> {
    u8::try_from(value).map_err(|_| StoreError::Corrupt {
        what,
        value: value.to_string(),
    })
}

/// A DS record read back from its columns.
pub(crate) fn ds_record(
    key_tag: i64,
    algorithm: i64,
    digest_type: i64,
    digest: String,
) -> Result<DsRecord> {
    Ok(DsRecord {
        key_tag: u16::try_from(key_tag).map_err(|_| StoreError::Corrupt {
            what: "DS key tag",
            value: key_tag.to_string(),
        })?,
        algorithm: small("DS algorithm", algorithm)?,
        digest_type: small("DS digest type", digest_type)?,
        digest,
    })
}

/// The secondary indexes a bulk load into a nearly empty registry drops and creates again
/// (migration 0002), by name.
const LOAD_INDEXES: [(&str, &str); 1] =
    [("domains_tld", "CREATE INDEX domains_tld ON domains(tld_id)")];

/// A bulk load rebuilds the indexes only while fewer names than this are registered.
const REBUILD_BELOW: i64 = 100_000;

impl Tx {
    /// Creates a registrar and returns its id.
    pub async fn insert_registrar(&mut self, new: &NewRegistrar<'_>) -> Result<i64> {
        let (id,): (i64,) = on!(self, |conn| {
            sqlx::query_as(
            "INSERT INTO registrars (name, iana_id, org_id, abuse_email, abuse_phone, internal, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        )
        .bind(new.name)
        .bind(new.iana_id)
        .bind(new.org_id)
        .bind(new.abuse_email)
        .bind(new.abuse_phone)
        .bind(new.internal)
        .bind(micros(new.created_at))
        .fetch_one(conn)
        .await
        })
        .map_err(insert_error("registrar"))?;
        Ok(id)
    }

    /// Every registrar, by name.
    pub async fn registrars(&mut self) -> Result<Vec<Registrar>> {
        let sql = "SELECT id, name, iana_id, org_id, abuse_email, abuse_phone, internal, \
                   created_at FROM registrars ORDER BY name";
        let rows: Vec<RegistrarRow> = on!(self, |conn| sqlx::query_as(sql).fetch_all(conn).await)?;
        rows.into_iter().map(registrar).collect()
    }

    /// Sets a TLD's SOA and apex name servers.
    pub async fn set_tld_apex(
        &mut self,
        tld_id: i64,
        soa: &Soa,
        apex_ns: &[DomainName],
    ) -> Result<()> {
        let soa = serde_json::to_string(soa).map_err(|e| StoreError::Corrupt {
            what: "SOA",
            value: e.to_string(),
        })?;
        let hosts: Vec<&str> = apex_ns.iter().map(DomainName::as_str).collect();
        on!(self, |conn| sqlx::query(
            "UPDATE tlds SET soa = $2, apex_ns = $3 WHERE id = $1"
        )
        .bind(tld_id)
        .bind(&soa)
        .bind(hosts.join(" "))
        .execute(conn)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(())
    }

    /// A TLD's SOA and apex name servers, once set.
    pub async fn tld_apex(&mut self, tld_id: i64) -> Result<Option<(Soa, Vec<DomainName>)>> {
        let row: Option<(Option<String>, Option<String>)> = on!(self, |conn| sqlx::query_as(
            "SELECT soa, apex_ns FROM tlds WHERE id = $1"
        )
        .bind(tld_id)
        .fetch_optional(conn)
        .await)?;
        let Some((Some(soa), Some(hosts))) = row else {
            return Ok(None);
        };
        let soa = serde_json::from_str(&soa).map_err(|_| StoreError::Corrupt {
            what: "SOA",
            value: soa.clone(),
        })?;
        let hosts = hosts
            .split_whitespace()
            .map(|host| name("apex name server", host))
            .collect::<Result<_>>()?;
        Ok(Some((soa, hosts)))
    }

    /// Prepares a bulk load (a zone import) into a registry that holds few names: on SQLite,
    /// drops the secondary index of `domains` (not unique, so no constraint goes with it), so
    /// that each domain loaded goes into one B-tree instead of two; [`Tx::end_bulk_load`]
    /// creates it again, in one sort (0.3 s for a million names, against 1 s more for the
    /// load with it in place). DDL is transactional
    /// in SQLite: a load that fails rolls the drop back with everything else, and other
    /// connections never see the tables without their indexes. With many names already stored,
    /// rebuilding would cost more than it saves, and PostgreSQL keeps its indexes either way
    /// (dropping one locks the table against readers until the commit). Returns whether the
    /// indexes were dropped.
    pub async fn begin_bulk_load(&mut self) -> Result<bool> {
        let Tx::Sqlite(conn) = self else {
            return Ok(false);
        };
        let (stored,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM (SELECT 1 FROM domains LIMIT $1)")
                .bind(REBUILD_BELOW)
                .fetch_one(&mut **conn)
                .await?;
        if stored >= REBUILD_BELOW {
            return Ok(false);
        }
        for (index, _) in LOAD_INDEXES {
            let sql = format!("DROP INDEX {index}");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut **conn)
                .await?;
        }
        Ok(true)
    }

    /// Creates the indexes [`Tx::begin_bulk_load`] dropped, as the migrations define them.
    pub async fn end_bulk_load(&mut self) -> Result<()> {
        for (_, create) in LOAD_INDEXES {
            on!(self, |conn| sqlx::query(create)
                .execute(conn)
                .await
                .map(|done| done.rows_affected()))?;
        }
        Ok(())
    }

    /// Registers `names` in a TLD with `statuses`; names already registered are left as they
    /// are. Returns how many were new.
    pub async fn insert_domains(
        &mut self,
        tld_id: i64,
        names: &[DomainName],
        registrar_id: Option<i64>,
        statuses: EppStatusSet,
        at: Timestamp,
    ) -> Result<u64> {
        let statuses = statuses_text(statuses);
        let rows: Vec<&str> = names.iter().map(DomainName::as_str).collect();
        self.bulk_execute(
            "INSERT INTO domains (name, tld_id, registrar_id, statuses, created_at, updated_at) \
             SELECT column1, $2, $3, $4, $5, $5 FROM {rows} AS v WHERE true \
             ON CONFLICT (name) DO NOTHING",
            &[Col::Text],
            &rows,
            &[
                Bind::Int(Some(tld_id)),
                Bind::Int(registrar_id),
                Bind::Text(&statuses),
                Bind::Int(Some(micros(at))),
            ],
        )
        .await
        .map_err(insert_error("domain"))
    }

    /// Adds name servers to registered domains; pairs already present are skipped.
    pub async fn insert_nameservers(&mut self, pairs: &[(DomainName, DomainName)]) -> Result<u64> {
        let rows: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(domain, host)| (domain.as_str(), host.as_str()))
            .collect();
        self.bulk_execute(
            "INSERT INTO domain_ns (domain, host) SELECT column1, column2 FROM {rows} AS v \
             WHERE true ON CONFLICT DO NOTHING",
            &[Col::Text, Col::Text],
            &rows,
            &[],
        )
        .await
        .map_err(insert_error("name server of a domain"))
    }

    /// Adds DS records to registered domains; records already present are skipped. A record
    /// of a name that is not registered is refused ([`StoreError::MissingReference`]), also in
    /// a transaction that does not enforce foreign keys ([`crate::Store::write_unchecked`]).
    pub async fn insert_ds(&mut self, records: &[(DomainName, DsRecord)]) -> Result<u64> {
        let names: Vec<&str> = records.iter().map(|(domain, _)| domain.as_str()).collect();
        let orphans: Vec<(String,)> = self
            .bulk_fetch(
                "SELECT v.column1 FROM {rows} AS v \
                 WHERE NOT EXISTS (SELECT 1 FROM domains d WHERE d.name = v.column1) LIMIT 1",
                &[Col::Text],
                &names,
                &[],
            )
            .await?;
        if !orphans.is_empty() {
            return Err(StoreError::MissingReference {
                what: "DS record of a domain",
            });
        }
        let rows: Vec<(&str, u16, u8, u8, &str)> = records
            .iter()
            .map(|(domain, ds)| {
                (
                    domain.as_str(),
                    ds.key_tag,
                    ds.algorithm,
                    ds.digest_type,
                    ds.digest.as_str(),
                )
            })
            .collect();
        self.bulk_execute(
            "INSERT INTO domain_ds (domain, key_tag, algorithm, digest_type, digest) \
             SELECT column1, column2, column3, column4, column5 FROM {rows} AS v \
             WHERE true ON CONFLICT DO NOTHING",
            &[Col::Text, Col::Int, Col::Int, Col::Int, Col::Text],
            &rows,
            &[],
        )
        .await
        .map_err(insert_error("DS record of a domain"))
    }

    /// Adds glue addresses of name servers inside a TLD; addresses already present are skipped.
    pub async fn insert_glue(&mut self, tld_id: i64, glue: &[(DomainName, IpAddr)]) -> Result<u64> {
        let rows: Vec<(&str, String)> = glue
            .iter()
            .map(|(host, address)| (host.as_str(), address.to_string()))
            .collect();
        self.bulk_execute(
            "INSERT INTO glue (host, tld_id, address) SELECT column1, $2, column2 \
             FROM {rows} AS v WHERE true ON CONFLICT DO NOTHING",
            &[Col::Text, Col::Text],
            &rows,
            &[Bind::Int(Some(tld_id))],
        )
        .await
        .map_err(insert_error("glue"))
    }

    /// One registered domain with its name servers and DS records.
    pub async fn domain(&mut self, domain: &DomainName) -> Result<Option<Domain>> {
        let row: Option<DomainRow> = on!(self, |conn| sqlx::query_as(
            "SELECT name, tld_id, registrar_id, statuses, created_at, expires_at, updated_at \
             FROM domains WHERE name = $1"
        )
        .bind(domain.as_str())
        .fetch_optional(conn)
        .await)?;
        let Some((_, tld_id, registrar_id, status_text, created_at, expires_at, updated_at)) = row
        else {
            return Ok(None);
        };
        let hosts: Vec<(String,)> = on!(self, |conn| sqlx::query_as(
            "SELECT host FROM domain_ns WHERE domain = $1 ORDER BY host"
        )
        .bind(domain.as_str())
        .fetch_all(conn)
        .await)?;
        let ds_rows: Vec<(i64, i64, i64, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT key_tag, algorithm, digest_type, digest FROM domain_ds WHERE domain = $1 \
             ORDER BY key_tag, algorithm, digest_type, digest"
        )
        .bind(domain.as_str())
        .fetch_all(conn)
        .await)?;
        let ds = ds_rows
            .into_iter()
            .map(|(key_tag, algorithm, digest_type, digest)| {
                ds_record(key_tag, algorithm, digest_type, digest)
            })
            .collect::<Result<_>>()?;
        Ok(Some(Domain {
            name: domain.clone(),
            tld_id,
            registrar_id,
            statuses: statuses(&status_text)?,
            nameservers: hosts
                .iter()
                .map(|(host,)| name("name server", host))
                .collect::<Result<_>>()?,
            ds,
            created_at: timestamp("domain created_at", created_at)?,
            expires_at: expires_at
                .map(|at| timestamp("domain expires_at", at))
                .transpose()?,
            updated_at: timestamp("domain updated_at", updated_at)?,
        }))
    }

    /// How many domains a TLD has.
    pub async fn count_domains(&mut self, tld_id: i64) -> Result<i64> {
        let (count,): (i64,) = on!(self, |conn| sqlx::query_as(
            "SELECT COUNT(*) FROM domains WHERE tld_id = $1"
        )
        .bind(tld_id)
        .fetch_one(conn)
        .await)?;
        Ok(count)
    }

    /// Glue addresses of a host.
    pub async fn glue(&mut self, host: &DomainName) -> Result<Vec<IpAddr>> {
        let rows: Vec<(String,)> = on!(self, |conn| sqlx::query_as(
            "SELECT address FROM glue WHERE host = $1 ORDER BY address"
        )
        .bind(host.as_str())
        .fetch_all(conn)
        .await)?;
        rows.into_iter()
            .map(|(address,)| {
                address.parse().map_err(|_| StoreError::Corrupt {
                    what: "glue address",
                    value: address.clone(),
                })
            })
            .collect()
    }
}

impl Tx {
    /// Every delegation a TLD publishes (registered names not on hold, with name servers), by
    /// name, with their DS records.
    pub async fn published_delegations(&mut self, tld_id: i64) -> Result<Vec<Delegation>> {
        let hosts: Vec<(String, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT n.domain, n.host FROM domain_ns n JOIN domains d ON d.name = n.domain \
             WHERE d.tld_id = $1 AND d.statuses NOT LIKE '%Hold%' ORDER BY n.domain, n.host"
        )
        .bind(tld_id)
        .fetch_all(conn)
        .await)?;
        let records: Vec<(String, i64, i64, i64, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT s.domain, s.key_tag, s.algorithm, s.digest_type, s.digest FROM domain_ds s \
             JOIN domains d ON d.name = s.domain \
             WHERE d.tld_id = $1 AND d.statuses NOT LIKE '%Hold%' \
             ORDER BY s.domain, s.key_tag, s.algorithm, s.digest_type, s.digest"
        )
        .bind(tld_id)
        .fetch_all(conn)
        .await)?;
        let mut delegations: Vec<Delegation> = Vec::new();
        for (domain, host) in hosts {
            let host = name("name server", &host)?;
            match delegations.last_mut() {
                Some(last) if last.name.as_str() == domain => last.nameservers.push(host),
                _ => delegations.push(Delegation {
                    name: name("domain", &domain)?,
                    nameservers: vec![host],
                    ds: Vec::new(),
                }),
            }
        }
        let mut by_domain: std::collections::HashMap<String, Vec<DsRecord>> =
            std::collections::HashMap::new();
        for (domain, key_tag, algorithm, digest_type, digest) in records {
            by_domain.entry(domain).or_default().push(ds_record(
                key_tag,
                algorithm,
                digest_type,
                digest,
            )?);
        }
        for delegation in &mut delegations {
            if let Some(ds) = by_domain.remove(delegation.name.as_str()) {
                delegation.ds = ds;
            }
        }
        Ok(delegations)
    }

    /// Every glue host of a TLD with its addresses, by host.
    pub async fn tld_glue(&mut self, tld_id: i64) -> Result<Vec<Glue>> {
        let rows: Vec<(String, String)> = on!(self, |conn| sqlx::query_as(
            "SELECT host, address FROM glue WHERE tld_id = $1 ORDER BY host, address"
        )
        .bind(tld_id)
        .fetch_all(conn)
        .await)?;
        let mut glue: Vec<Glue> = Vec::new();
        for (host, address) in rows {
            let address = address.parse().map_err(|_| StoreError::Corrupt {
                what: "glue address",
                value: address.clone(),
            })?;
            match glue.last_mut() {
                Some(last) if last.host.as_str() == host => last.addresses.push(address),
                _ => glue.push(Glue {
                    host: name("glue host", &host)?,
                    addresses: vec![address],
                }),
            }
        }
        Ok(glue)
    }
}

impl Tx {
    /// Sets the sponsoring registrar of registered names of a TLD; returns how many changed.
    /// Names not registered in the TLD are left out (the caller checks them first).
    pub async fn set_sponsors(
        &mut self,
        tld_id: i64,
        sponsors: &[(DomainName, i64)],
    ) -> Result<u64> {
        let known: Vec<&str> = sponsors.iter().map(|(name, _)| name.as_str()).collect();
        let registered: Vec<(String,)> = self
            .bulk_fetch(
                "SELECT name FROM domains WHERE tld_id = $2 \
                 AND name IN (SELECT column1 FROM {rows} AS v)",
                &[Col::Text],
                &known,
                &[Bind::Int(Some(tld_id))],
            )
            .await?;
        let registered: std::collections::HashSet<String> =
            registered.into_iter().map(|(name,)| name).collect();
        let rows: Vec<(&str, i64)> = sponsors
            .iter()
            .filter(|(name, _)| registered.contains(name.as_str()))
            .map(|(name, registrar)| (name.as_str(), *registrar))
            .collect();
        // An upsert on names that are registered, so that the rows drive the join (SQLite's
        // UPDATE … FROM scans the whole table for every row).
        let changed = self
            .bulk_execute(
                "INSERT INTO domains (name, registrar_id, tld_id, statuses, created_at, updated_at) \
                 SELECT column1, column2, $2, 'ok', 0, 0 FROM {rows} AS v WHERE true \
                 ON CONFLICT (name) DO UPDATE SET registrar_id = excluded.registrar_id",
                &[Col::Text, Col::Int],
                &rows,
                &[Bind::Int(Some(tld_id))],
            )
            .await?;
        Ok(changed)
    }
}
