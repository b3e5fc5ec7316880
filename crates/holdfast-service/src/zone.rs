//! A TLD's zone in and out: importing an RFC 1035 zone file (delegations, DS, glue, apex) as one
//! transaction, parsed on a blocking thread while batches are written; exporting the zone the
//! registry publishes now.

use std::io::Read;
use std::net::IpAddr;

use holdfast_dns::{ZoneRecord, parse, write_zone};
use holdfast_model::org::{Actor, Permission};
use holdfast_model::{DomainName, DsRecord, EppStatusSet, Soa};
use holdfast_store::{StoreError, TldSettings};
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::mpsc;

use crate::accounts::reason;
use crate::{Change, Result, Service, ServiceError, record, require, tld_by_id};

/// Records per batch handed from the parser to the writer.
const BATCH: usize = 20_000;

/// Skipped records reported back, at most.
const WARNINGS: usize = 100;

/// The TTL of delegation records in an exported zone.
pub const EXPORT_TTL: u32 = 3600;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneImport {
    pub tld: DomainName,
    /// Lines read.
    pub lines: usize,
    /// Names newly registered (names already registered are left as they are).
    pub domains: u64,
    pub nameservers: u64,
    pub ds: u64,
    pub glue: u64,
    /// Records skipped (not part of a TLD's delegation data), the first of them with the line.
    pub skipped: u64,
    pub warnings: Vec<String>,
}

#[derive(Default)]
struct Batch {
    names: Vec<DomainName>,
    nameservers: Vec<(DomainName, DomainName)>,
    ds: Vec<(DomainName, DsRecord)>,
    glue: Vec<(DomainName, IpAddr)>,
    soa: Option<Soa>,
    apex_ns: Vec<DomainName>,
}

impl Batch {
    fn len(&self) -> usize {
        self.nameservers.len() + self.ds.len() + self.glue.len()
    }
}

/// What the parser thread says at the end.
struct Finished {
    lines: usize,
    skipped: u64,
    warnings: Vec<String>,
}

enum Message {
    Batch(Batch),
    Failed(String),
    Finished(Finished),
}

/// Parses `reader` and sends batches until the end or the first fatal error.
fn parse_into(tld: &DomainName, reader: impl Read, sender: &mpsc::Sender<Message>) {
    let mut parser = parse(tld, reader);
    let mut batch = Batch::default();
    let mut warnings = Vec::new();
    for record in parser.by_ref() {
        match record {
            Ok(ZoneRecord::Soa(soa)) => batch.soa = Some(soa),
            Ok(ZoneRecord::ApexNs(host)) => batch.apex_ns.push(host),
            Ok(ZoneRecord::Delegation { name, host }) => {
                if batch.names.last() != Some(&name) {
                    batch.names.push(name.clone());
                }
                batch.nameservers.push((name, host));
            }
            Ok(ZoneRecord::Ds { name, ds }) => batch.ds.push((name, ds)),
            Ok(ZoneRecord::Glue { host, address }) => batch.glue.push((host, address)),
            Err(error) if error.kind.is_fatal() => {
                let _ = sender.blocking_send(Message::Failed(error.to_string()));
                return;
            }
            Err(error) => {
                if warnings.len() < WARNINGS {
                    warnings.push(error.to_string());
                }
            }
        }
        if batch.len() >= BATCH {
            let full = std::mem::take(&mut batch);
            if sender.blocking_send(Message::Batch(full)).is_err() {
                return;
            }
        }
    }
    let _ = sender.blocking_send(Message::Batch(batch));
    let _ = sender.blocking_send(Message::Finished(Finished {
        lines: parser.lines(),
        skipped: parser.skipped() + u64::try_from(warnings.len()).unwrap_or(0),
        warnings,
    }));
}

impl Service {
    /// Loads a zone file into a TLD (admins): all of it in one transaction, or nothing if a line
    /// is wrong (the error names it). Names already registered keep what they have.
    pub async fn import_zone<R: Read + Send + 'static>(
        &self,
        actor: &Actor,
        tld_id: i64,
        reader: R,
        why: &str,
        now: Timestamp,
    ) -> Result<ZoneImport> {
        require(actor, Permission::ManageTlds)?;
        let why = reason(why)?;
        let tld = self.tld_settings(tld_id).await?;
        let (sender, mut receiver) = mpsc::channel(2);
        let origin = tld.name.clone();
        let parser = tokio::task::spawn_blocking(move || parse_into(&origin, reader, &sender));
        // References are guaranteed without the database's checks: every name server row's
        // domain is inserted in the same batch (the parser lists a delegation's name before its
        // NS records), the TLD exists, and insert_ds checks DS owners itself.
        let mut tx = self.store.write_unchecked().await?;
        let rebuild = tx.begin_bulk_load().await?;
        let mut import = ZoneImport {
            tld: tld.name.clone(),
            lines: 0,
            domains: 0,
            nameservers: 0,
            ds: 0,
            glue: 0,
            skipped: 0,
            warnings: Vec::new(),
        };
        let mut soa = None;
        let mut apex_ns = Vec::new();
        while let Some(message) = receiver.recv().await {
            match message {
                Message::Batch(batch) => {
                    import.domains += tx
                        .insert_domains(tld.id, &batch.names, None, EppStatusSet::OK, now)
                        .await?;
                    import.nameservers += tx.insert_nameservers(&batch.nameservers).await?;
                    import.ds += tx.insert_ds(&batch.ds).await.map_err(|error| match error {
                        StoreError::MissingReference { .. } => ServiceError::invalid(
                            "zone",
                            "a DS record is for a name with no NS record before it",
                        ),
                        other => other.into(),
                    })?;
                    import.glue += tx.insert_glue(tld.id, &batch.glue).await?;
                    soa = batch.soa.or(soa);
                    apex_ns.extend(batch.apex_ns);
                }
                Message::Failed(error) => return Err(ServiceError::invalid("zone", error)),
                Message::Finished(finished) => {
                    import.lines = finished.lines;
                    import.skipped = finished.skipped;
                    import.warnings = finished.warnings;
                }
            }
        }
        parser.await.map_err(|error| ServiceError::Internal {
            what: format!("the zone parser stopped: {error}"),
        })?;
        let Some(soa) = soa else {
            return Err(ServiceError::invalid(
                "zone",
                "the zone file has no SOA record",
            ));
        };
        apex_ns.sort();
        apex_ns.dedup();
        if rebuild {
            tx.end_bulk_load().await?;
        }
        tx.set_tld_apex(tld.id, &soa, &apex_ns).await?;
        let change = Change {
            org_id: Some(tld.org_id),
            action: "tld.import_zone",
            subject: format!("tld:{}", tld.name),
            reason: why,
            details: json!({
                "lines": import.lines, "domains": import.domains,
                "nameservers": import.nameservers, "ds": import.ds, "glue": import.glue,
                "skipped": import.skipped,
            }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(import)
    }

    /// The zone the registry publishes for a TLD now, in RFC 1035 form (admins and the TLD's
    /// registry staff).
    pub async fn export_zone(&self, actor: &Actor, tld_id: i64) -> Result<Vec<u8>> {
        require(actor, Permission::ReadTlds)?;
        let tld = self.tld_settings(tld_id).await?;
        if !actor.may_see_org(tld.org_id) {
            return Err(ServiceError::NotFound { what: "TLD" });
        }
        let mut tx = self.store.read().await?;
        let Some((soa, apex_ns)) = tx.tld_apex(tld.id).await? else {
            return Err(ServiceError::Conflict {
                what: format!(
                    "the TLD .{} has no SOA yet: import its zone first",
                    tld.name
                ),
            });
        };
        let delegations = tx.published_delegations(tld.id).await?;
        let glue = tx.tld_glue(tld.id).await?;
        drop(tx);
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(delegations.len() * 64);
            write_zone(
                &mut out,
                &tld.name,
                &soa,
                &apex_ns,
                delegations,
                glue,
                EXPORT_TTL,
            )
            .map(|()| out)
        })
        .await
        .map_err(|error| ServiceError::Internal {
            what: format!("the zone writer stopped: {error}"),
        })?
        .map_err(|error| ServiceError::Internal {
            what: format!("writing the zone failed: {error}"),
        })
    }

    async fn tld_settings(&self, tld_id: i64) -> Result<TldSettings> {
        tld_by_id(&mut self.store.read().await?, tld_id).await
    }
}

/// Registrars by IANA id and by name, for reading sponsor lists.
fn registrar_index(registrars: &[crate::Registrar]) -> std::collections::HashMap<String, i64> {
    let mut index = std::collections::HashMap::new();
    for registrar in registrars {
        index.insert(registrar.name.clone(), registrar.id);
        if let Some(iana_id) = registrar.iana_id {
            index.insert(iana_id.to_string(), registrar.id);
        }
    }
    index
}

impl Service {
    /// Assigns sponsoring registrars from a CSV of `name,registrar` lines (the registrar by IANA
    /// id or exact name; a header line and blank lines are skipped) to names of a TLD (admins).
    /// All or nothing: the first wrong line is named.
    pub async fn assign_sponsors(
        &self,
        actor: &Actor,
        tld_id: i64,
        csv: &str,
        why: &str,
        now: Timestamp,
    ) -> Result<u64> {
        require(actor, Permission::ManageTlds)?;
        let why = reason(why)?;
        let tld = self.tld_settings(tld_id).await?;
        let mut tx = self.store.write().await?;
        let registrars = registrar_index(&tx.registrars().await?);
        let mut sponsors = Vec::new();
        let mut lines = Vec::new();
        for (index, line) in csv.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || (number == 1 && line.eq_ignore_ascii_case("name,registrar")) {
                continue;
            }
            let wrong = |why: String| ServiceError::invalid("csv", format!("line {number}: {why}"));
            let Some((name, registrar)) = line.split_once(',') else {
                return Err(wrong("expected name,registrar".to_owned()));
            };
            let name = DomainName::parse(name.trim()).map_err(|error| wrong(error.to_string()))?;
            if !name.registrable_under(&tld.name) || name.label_count() != 2 {
                return Err(wrong(format!(
                    "{name} is not a name directly below .{}",
                    tld.name
                )));
            }
            let registrar = registrar.trim().trim_matches('"');
            let Some(&id) = registrars.get(registrar) else {
                return Err(wrong(format!(
                    "no registrar has IANA id or name {registrar:?}"
                )));
            };
            sponsors.push((name, id));
            lines.push(number);
        }
        let names: Vec<DomainName> = sponsors.iter().map(|(name, _)| name.clone()).collect();
        let states = tx.name_states(&names, now).await?;
        if let Some(((name, _), line)) = sponsors.iter().zip(&lines).find(|((name, _), _)| {
            states
                .get(name)
                .is_none_or(|state| state.registration.is_none())
        }) {
            return Err(ServiceError::invalid(
                "csv",
                format!("line {line}: {name} is not registered"),
            ));
        }
        let changed = tx.set_sponsors(tld.id, &sponsors).await?;
        let change = Change {
            org_id: Some(tld.org_id),
            action: "tld.assign_sponsors",
            subject: format!("tld:{}", tld.name),
            reason: why,
            details: json!({ "names": sponsors.len(), "changed": changed }),
        };
        record(&mut tx, Some(actor), now, change).await?;
        tx.commit().await?;
        Ok(changed)
    }
}
