//! Publishing the registry to DNS, with the store as the one source of truth: the embedded
//! server answers from the store itself; a TLD with an RFC 2136 primary gets every changed
//! name's delegation pushed to it (state, not steps: safe to send again); and each action's time
//! to effect is measured by asking the authoritative server until it shows the change.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use holdfast_dns::{
    Apex, DataError, DelegationUpdate, Primary, TsigKey, ZoneData, publish, query_delegation,
};
use holdfast_model::org::{Actor, Permission};
use holdfast_model::{Delegation, DomainName, DsRecord, NameState};
use holdfast_store::{DnsPrimary, Store, Tx};
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::Notify;

use crate::accounts::reason;
use crate::zone::EXPORT_TTL;
use crate::{Change, Result, Service, ServiceError, record, require, tld_by_id};

/// Changed names published per round.
const ROUND: i64 = 50_000;

/// How long an action's effect is awaited before its time to effect is left unknown.
const EFFECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Shared between clones of the service: where the embedded server listens, and the bell that
/// wakes the publisher when names changed.
#[derive(Debug, Default)]
pub(crate) struct Dns {
    embedded: OnceLock<SocketAddr>,
    changed: Notify,
}

/// What a TLD should publish for a name now (the store gives name servers and DS sorted).
fn published(state: &NameState) -> Option<(Vec<DomainName>, Vec<DsRecord>)> {
    state
        .delegation()
        .map(|(nameservers, ds)| (nameservers.to_vec(), ds.to_vec()))
}

/// The primary of a TLD as the DNS client wants it.
fn primary(zone: &DomainName, stored: &DnsPrimary) -> Result<Primary> {
    let server = stored.server.parse().map_err(|_| ServiceError::Internal {
        what: format!(
            "the stored primary {:?} of .{zone} is not host:port",
            stored.server
        ),
    })?;
    let key_name =
        DomainName::parse(&stored.tsig_name).map_err(|error| ServiceError::Internal {
            what: format!("the stored TSIG key name of .{zone}: {error}"),
        })?;
    let key = TsigKey::from_base64(key_name, &stored.tsig_secret).map_err(|error| {
        ServiceError::Internal {
            what: error.to_string(),
        }
    })?;
    Ok(Primary {
        server,
        zone: zone.clone(),
        key: Some(key),
        ttl: EXPORT_TTL,
    })
}

/// A TLD's publishing target, as an admin sets it.
#[derive(Debug, Clone)]
pub struct PrimaryRequest {
    /// `host:port` of the primary (an IP address).
    pub server: String,
    pub tsig_name: String,
    /// The hmac-sha256 secret in base64.
    pub tsig_secret: String,
}

impl Service {
    /// Tells the service where the embedded DNS server listens, so that time to effect is
    /// measured against it for TLDs without a primary. Set once.
    pub fn set_embedded_dns(&self, address: SocketAddr) {
        let _ = self.dns.embedded.set(address);
    }

    /// The zones as the embedded server reads them: straight from the store.
    pub fn zone_data(&self) -> StoreZones {
        StoreZones {
            store: self.store.clone(),
        }
    }

    /// Rings the publisher: names changed.
    pub(crate) fn names_changed(&self) {
        self.dns.changed.notify_one();
    }

    /// Sets where a TLD is published (admins): an RFC 2136 primary with its TSIG key, or `None`
    /// for Holdfast's embedded server. Pick one mechanism per TLD: a primary that also reloads
    /// its zone from a file loses these updates (Knot does so silently).
    pub async fn set_dns_primary(
        &self,
        actor: &Actor,
        tld_id: i64,
        request: Option<PrimaryRequest>,
        why: &str,
        now: Timestamp,
    ) -> Result<()> {
        require(actor, Permission::ManageTlds)?;
        let why = reason(why)?;
        let stored = match request {
            None => None,
            Some(request) => {
                if request.server.parse::<SocketAddr>().is_err() {
                    return Err(ServiceError::invalid(
                        "server",
                        "must be an IP address and port, as 192.0.2.53:53",
                    ));
                }
                let key_name = DomainName::parse(&request.tsig_name)
                    .map_err(|error| ServiceError::invalid("tsig_name", error.to_string()))?;
                TsigKey::from_base64(key_name.clone(), &request.tsig_secret)
                    .map_err(|error| ServiceError::invalid("tsig_secret", error.to_string()))?;
                Some(DnsPrimary {
                    server: request.server,
                    tsig_name: key_name.as_str().to_owned(),
                    tsig_secret: request.tsig_secret.trim().to_owned(),
                })
            }
        };
        let mut tx = self.store.write().await?;
        let tld = tld_by_id(&mut tx, tld_id).await?;
        tx.set_dns_primary(tld_id, stored.as_ref()).await?;
        let change = Change {
            org_id: Some(tld.org_id),
            action: "tld.dns",
            subject: format!("tld:{}", tld.name),
            reason: why,
            details: json!({
                "primary": stored.as_ref().map(|primary| &primary.server),
                "tsig_name": stored.as_ref().map(|primary| &primary.tsig_name),
            }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publishes the names changed since the last round to their TLDs' primaries (names of
    /// TLDs the embedded server publishes need nothing). Returns how many changes it took; a
    /// failure leaves them queued for the next round.
    pub async fn publish_changes(&self) -> Result<usize> {
        let changes = self.store.read().await?.dns_changes(ROUND).await?;
        let mut by_tld: BTreeMap<i64, (i64, Vec<String>)> = BTreeMap::new();
        for change in &changes {
            let entry = by_tld.entry(change.tld_id).or_default();
            entry.0 = entry.0.max(change.seq);
            entry.1.push(change.name.clone());
        }
        let tlds = self.store.read().await?.tld_settings().await?;
        for (tld_id, (last_seq, mut names)) in by_tld {
            names.sort();
            names.dedup();
            let mut tx = self.store.read().await?;
            let stored = tx.dns_primary(tld_id).await?;
            if let (Some(stored), Some(tld)) = (stored, tlds.iter().find(|tld| tld.id == tld_id)) {
                let target = primary(&tld.name, &stored)?;
                let started = Instant::now();
                let updates = desired(&mut tx, &names).await?;
                drop(tx);
                let read = started.elapsed();
                publish(&target, &updates)
                    .await
                    .map_err(|error| ServiceError::Internal {
                        what: format!("publishing .{} failed: {error}", tld.name),
                    })?;
                tracing::debug!(
                    tld = %tld.name,
                    names = names.len(),
                    read_ms = read.as_millis(),
                    publish_ms = (started.elapsed() - read).as_millis(),
                    "published a round of changes"
                );
            } else {
                drop(tx);
            }
            let mut tx = self.store.write().await?;
            tx.published(tld_id, last_seq).await?;
            tx.commit().await?;
        }
        Ok(changes.len())
    }

    /// Publishes changes as they come, until the process ends; a failed round is retried.
    pub async fn run_publisher(&self) {
        loop {
            match self.publish_changes().await {
                Ok(0) => {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), self.dns.changed.notified())
                            .await;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(%error, "publishing to DNS failed; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// Measures how long after `since` the authoritative server shows `sample`'s delegation as
    /// the store has it, and records it with the action. Without a server to ask, does nothing.
    pub(crate) async fn measure_effect(
        &self,
        action_id: i64,
        sample: &DomainName,
        since: Instant,
    ) -> Result<()> {
        let tlds = self.store.read().await?.tld_settings().await?;
        let Some(tld) = tlds.iter().find(|tld| sample.registrable_under(&tld.name)) else {
            return Ok(());
        };
        let mut tx = self.store.read().await?;
        let server = match tx.dns_primary(tld.id).await? {
            Some(stored) => Some(primary(&tld.name, &stored)?.server),
            None => self.dns.embedded.get().copied(),
        };
        let Some(server) = server else {
            return Ok(());
        };
        let expected = desired(&mut tx, &[sample.as_str().to_owned()])
            .await?
            .pop()
            .and_then(|update| update.delegation);
        drop(tx);
        let deadline = since + EFFECT_TIMEOUT;
        loop {
            let seen = query_delegation(server, sample, Duration::from_secs(2)).await;
            if matches!(&seen, Ok(seen) if *seen == expected) {
                break;
            }
            if Instant::now() > deadline {
                tracing::warn!(action = action_id, %server, name = %sample, "the change was not visible in DNS in time");
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let effect_ms = i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.store.write().await?;
        tx.set_effect_ms(action_id, effect_ms).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The delegation each of `names` should have now.
async fn desired(tx: &mut Tx, names: &[String]) -> Result<Vec<DelegationUpdate>> {
    let names: Vec<DomainName> = names
        .iter()
        .filter_map(|name| DomainName::parse(name).ok())
        .collect();
    let states = tx.name_states(&names, Timestamp::UNIX_EPOCH).await?;
    Ok(names
        .into_iter()
        .map(|name| {
            let delegation = states.get(&name).and_then(published);
            DelegationUpdate { name, delegation }
        })
        .collect())
}

/// The store as the embedded DNS server's zone data.
#[derive(Debug, Clone)]
pub struct StoreZones {
    store: Store,
}

fn data_error(error: impl std::error::Error + Send + Sync + 'static) -> DataError {
    Box::new(error)
}

impl ZoneData for StoreZones {
    async fn apex(&self, tld: &DomainName) -> std::result::Result<Option<Apex>, DataError> {
        let mut tx = self.store.read().await.map_err(data_error)?;
        let Some(settings) = tx
            .tld_settings()
            .await
            .map_err(data_error)?
            .into_iter()
            .find(|settings| settings.name == *tld)
        else {
            return Ok(None);
        };
        Ok(tx
            .tld_apex(settings.id)
            .await
            .map_err(data_error)?
            .map(|(soa, nameservers)| Apex {
                soa,
                nameservers,
                ttl: EXPORT_TTL,
            }))
    }

    async fn delegation(
        &self,
        name: &DomainName,
    ) -> std::result::Result<Option<Delegation>, DataError> {
        let mut tx = self.store.read().await.map_err(data_error)?;
        let states = tx
            .name_states(std::slice::from_ref(name), Timestamp::UNIX_EPOCH)
            .await
            .map_err(data_error)?;
        Ok(states
            .get(name)
            .and_then(published)
            .map(|(nameservers, ds)| Delegation {
                name: name.clone(),
                nameservers,
                ds,
            }))
    }

    async fn glue(&self, host: &DomainName) -> std::result::Result<Vec<IpAddr>, DataError> {
        let mut tx = self.store.read().await.map_err(data_error)?;
        tx.glue(host).await.map_err(data_error)
    }
}

/// Keeps [`Dns`] cheap to share.
pub(crate) type SharedDns = Arc<Dns>;
