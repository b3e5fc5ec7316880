//! Publishing delegations to a primary server by RFC 2136 dynamic update, signed with TSIG
//! (RFC 8945, hmac-sha256), and asking an authoritative server what it publishes for a name.
//!
//! [`publish`] is state-based: for each name it sends "delete the NS set, delete the DS set, add
//! these NS, add these DS" in one UPDATE message, so a redirect never shows a merged or empty
//! delegation halfway, and sending the same state twice changes nothing. Many names share a
//! message; the messages go in order over one TCP connection, a few ahead of the answers.
//! [`query_delegation`] asks over UDP (TCP when the answer is truncated) and is how tests and the
//! "time to effect" measurement see what the server really serves.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_net::NetError;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::{DnsHandle, FirstAnswer};
use hickory_proto::ProtoError;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{
    DnsRequestOptions, DnsResponse, Message, OpCode, Query, ResponseCode, UpdateMessage,
};
use hickory_proto::rr::rdata::NS;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigVerifier, TSigner};
use holdfast_model::{DomainName, DsRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wire::{base64_decode, from_ds, from_name, rcode_name, to_ds, to_name};

/// How long [`publish`] waits to connect, and then for each answer. A batch of a few hundred
/// names takes Knot or BIND milliseconds; this only bounds a hung server.
pub const UPDATE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many UPDATE messages [`publish`] sends ahead of the answers. Knot applies the updates
/// queued while it works as one transaction, so a window makes a bulk publish several times
/// faster there (64 instead of 8 took a 100,000-name hold on a million-name zone from 9.7 s to
/// 6.6 s under the same load); BIND applies them one by one either way.
const WINDOW: usize = 64;

/// The TSIG fudge: how far apart the two clocks may be, in seconds (RFC 8945 §10 recommends 300).
const TSIG_FUDGE: u16 = 300;

/// The most an UPDATE message may take, counted without name compression, before a batch is
/// closed: three quarters of the 65,535 octets a TCP message can carry, leaving room for the
/// zone section and the TSIG record. hickory compresses only the first 64 names of a message, so
/// the count is close to the real size. Measured (the unit tests print it): 909 bare removals of
/// `dom0000000.demo`-sized names per message (48,037 octets), 303 of names with a 63-octet label,
/// 238 names with two NS and a DS each, 13 with thirteen long NS and four DS.
const MESSAGE_BUDGET: usize = 48 * 1024;

/// A TSIG key (RFC 8945) for hmac-sha256: its name, which the server knows it by, and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    pub name: DomainName,
    pub secret: Vec<u8>,
}

impl TsigKey {
    /// A key whose secret is written in base64, as in a Knot `key` section, a BIND `key`
    /// statement or a `tsig-keygen` file. Whitespace is ignored, padding is optional.
    pub fn from_base64(name: DomainName, secret: &str) -> Result<TsigKey, UpdateError> {
        match base64_decode(secret) {
            Some(secret) if !secret.is_empty() => Ok(TsigKey { name, secret }),
            _ => Err(UpdateError::BadSecret { key: name }),
        }
    }

    /// The secret in base64, for writing a server's configuration.
    pub fn secret_base64(&self) -> String {
        crate::wire::base64_encode(&self.secret)
    }

    fn signer(&self) -> Result<TSigner, UpdateError> {
        let name = to_name(&self.name).map_err(UpdateError::Encode)?;
        TSigner::new(
            self.secret.clone(),
            TsigAlgorithm::HmacSha256,
            name,
            TSIG_FUDGE,
        )
        .map_err(|error| UpdateError::Encode(ProtoError::from(error.to_string())))
    }
}

impl fmt::Debug for TsigKey {
    /// The name only: a secret has no place in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The primary server of a zone, where updates go.
#[derive(Debug, Clone)]
pub struct Primary {
    /// Address and port of the server (updates go over TCP).
    pub server: SocketAddr,
    /// The zone the names are in (the TLD).
    pub zone: DomainName,
    /// The key that signs each update; `None` sends them unsigned (a server should refuse that).
    pub key: Option<TsigKey>,
    /// The TTL of the records added.
    pub ttl: u32,
}

/// The desired state of one name's delegation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegationUpdate {
    /// A name below the zone.
    pub name: DomainName,
    /// `Some`: exactly these NS and DS records. `None`: no delegation (held, deleted). An empty
    /// NS list is the same as `None`: a name without NS is not in the DNS, and its DS go with it.
    pub delegation: Option<(Vec<DomainName>, Vec<DsRecord>)>,
}

/// What [`publish`] sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Names updated.
    pub names: usize,
    /// UPDATE messages sent (and answered NOERROR).
    pub messages: usize,
    /// The largest message sent, in octets, TSIG included.
    pub largest_message: usize,
}

/// Why an update was not applied, or a query not answered. Each names the server.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("the secret of TSIG key {key} is not base64 text")]
    BadSecret { key: DomainName },
    #[error("{name} is not below zone {zone}, so an update of that zone cannot change it")]
    NotInZone { name: DomainName, zone: DomainName },
    #[error("the DS digest {digest:?} of {name} is not hexadecimal")]
    BadDigest { name: DomainName, digest: String },
    #[error("the update of {name} alone takes {octets} octets, more than one message can carry")]
    TooLarge { name: DomainName, octets: usize },
    #[error("cannot encode a DNS message: {0}")]
    Encode(ProtoError),
    #[error("cannot connect to {server} over TCP: {source}")]
    Connect {
        server: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("lost the TCP connection to {server}: {source}")]
    Io {
        server: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("{server} did not answer within {timeout:?}")]
    Timeout {
        server: SocketAddr,
        timeout: Duration,
    },
    #[error("the answer from {server} is malformed: {reason}")]
    Malformed { server: SocketAddr, reason: String },
    /// The server refused a message; see [`Rejection`].
    #[error("{0}")]
    Rejected(Box<Rejection>),
    #[error("{server} answered NOERROR but its TSIG signature does not verify: {reason}")]
    Unverified { server: SocketAddr, reason: String },
    #[error("{server} answered {rcode} to {record_type} {name}")]
    QueryFailed {
        server: SocketAddr,
        name: DomainName,
        record_type: RecordType,
        rcode: String,
    },
    #[error("asking {server} for {record_type} {name}: {source}")]
    Query {
        server: SocketAddr,
        name: DomainName,
        record_type: RecordType,
        #[source]
        source: Box<NetError>,
    },
}

/// A primary's refusal of one UPDATE message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{server} answered {rcode} to the update of zone {zone} for {names} names \
     ({first} to {last}); {applied} names in messages answered before it were applied"
)]
pub struct Rejection {
    pub server: SocketAddr,
    pub zone: DomainName,
    /// The response code's mnemonic, with the TSIG error when there is one
    /// (`NOTAUTH, TSIG error BADSIG`).
    pub rcode: String,
    /// The first and last name of the refused message, and how many it held.
    pub first: DomainName,
    pub last: DomainName,
    pub names: usize,
    /// Names in messages the server answered NOERROR before this one.
    pub applied: usize,
}

/// Makes the primary publish exactly the given delegations, by dynamic update over TCP.
///
/// Each name's change (delete its NS set and DS set, add the desired NS and DS) is one unit
/// inside one message, so the server applies it atomically; names are batched until a message
/// reaches about 48 KiB (a few hundred names), and the messages, each signed with the primary's
/// key, go in order over one connection, up to eight ahead of the answers (Knot then applies the
/// queued ones as one transaction). A name listed twice is sent once, in its last state. Glue is
/// not touched.
///
/// Every name is checked (below the zone, DS digests in hexadecimal) before anything is sent. The
/// first answer other than NOERROR stops the run with [`UpdateError::Rejected`], which says how
/// many names the messages answered before it applied (messages sent after it may have been
/// applied too); since updates are states, not steps, sending the whole list again is safe.
///
/// The TSIG time is read from the system clock: it is the wall clock the server compares with its
/// own within the fudge, not the business time the rest of Holdfast takes as an input.
pub async fn publish(
    primary: &Primary,
    updates: &[DelegationUpdate],
) -> Result<PublishReport, UpdateError> {
    let batches = batches(primary, updates)?;
    let mut report = PublishReport::default();
    if batches.is_empty() {
        return Ok(report);
    }
    let signer = primary.key.as_ref().map(TsigKey::signer).transpose()?;
    let mut connection = Connection::open(primary.server).await?;
    let mut in_flight: VecDeque<Sent> = VecDeque::with_capacity(WINDOW);
    for mut batch in batches {
        // Ids tell the answers apart: none twice among those in flight.
        while in_flight
            .iter()
            .any(|sent| sent.id == batch.message.metadata.id)
        {
            batch.message.metadata.id = batch.message.metadata.id.wrapping_add(1);
        }
        let verifier = match &signer {
            Some(signer) => batch
                .message
                .finalize(signer, tsig_time())
                .map_err(UpdateError::Encode)?,
            None => None,
        };
        let request = batch.message.to_vec().map_err(UpdateError::Encode)?;
        connection.send(&request).await?;
        report.largest_message = report.largest_message.max(request.len());
        in_flight.push_back(Sent {
            id: batch.message.metadata.id,
            batch,
            verifier,
        });
        if in_flight.len() == WINDOW {
            settle_one(primary, &mut connection, &mut in_flight, &mut report).await?;
        }
    }
    while !in_flight.is_empty() {
        settle_one(primary, &mut connection, &mut in_flight, &mut report).await?;
    }
    Ok(report)
}

/// A message sent and not yet answered.
struct Sent {
    id: u16,
    batch: Batch,
    verifier: Option<TSigVerifier>,
}

/// Reads the next answer, matches it to the message it answers and checks it.
async fn settle_one(
    primary: &Primary,
    connection: &mut Connection,
    in_flight: &mut VecDeque<Sent>,
    report: &mut PublishReport,
) -> Result<(), UpdateError> {
    let answer = connection.receive().await?;
    let id = answer.first_chunk::<2>().map(|id| u16::from_be_bytes(*id));
    let sent = in_flight
        .iter()
        .position(|sent| Some(sent.id) == id)
        .and_then(|position| in_flight.remove(position))
        .ok_or_else(|| UpdateError::Malformed {
            server: primary.server,
            reason: format!("an answer with id {id:?} matches no update sent"),
        })?;
    check_answer(primary, &sent.batch, report.names, &answer, sent.verifier)?;
    report.names += sent.batch.names;
    report.messages += 1;
    Ok(())
}

/// What `server` publishes for `name` now: `Some((NS, DS))` when the name is delegated, both sets
/// sorted, or `None` when the server says the name does not exist or has no NS there.
///
/// Two queries without recursion: NS (a TLD server answers with a referral) then DS (answered by
/// the parent, authoritatively). Each goes over UDP and again over TCP when the answer comes back
/// truncated; `timeout` bounds each query. An answer other than NOERROR or NXDOMAIN is
/// [`UpdateError::QueryFailed`], naming the response code.
pub async fn query_delegation(
    server: SocketAddr,
    name: &DomainName,
    timeout: Duration,
) -> Result<Option<(Vec<DomainName>, Vec<DsRecord>)>, UpdateError> {
    let ns = query(server, name, RecordType::NS, timeout).await?;
    if ns.metadata.response_code == ResponseCode::NXDomain {
        return Ok(None);
    }
    let mut nameservers: Vec<DomainName> = ns
        .answers
        .iter()
        .chain(&ns.authorities)
        .filter(|record| owned_by(record, name))
        .filter_map(|record| match &record.data {
            RData::NS(host) => from_name(&host.0),
            _ => None,
        })
        .collect();
    if nameservers.is_empty() {
        return Ok(None);
    }
    nameservers.sort();
    nameservers.dedup();

    let ds = query(server, name, RecordType::DS, timeout).await?;
    if ds.metadata.response_code == ResponseCode::NXDomain {
        return Ok(None);
    }
    let mut ds_records: Vec<DsRecord> = ds
        .answers
        .iter()
        .filter(|record| owned_by(record, name))
        .filter_map(|record| match &record.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => Some(from_ds(ds)),
            _ => None,
        })
        .collect();
    ds_records.sort();
    ds_records.dedup();
    Ok(Some((nameservers, ds_records)))
}

/// One UPDATE message, unsigned, and what it holds.
struct Batch {
    message: Message,
    names: usize,
    first: DomainName,
    last: DomainName,
}

/// Cuts `updates` into messages of at most [`MESSAGE_BUDGET`] octets (uncompressed), never
/// splitting one name, and keeping only the last state of a name listed twice.
fn batches(primary: &Primary, updates: &[DelegationUpdate]) -> Result<Vec<Batch>, UpdateError> {
    let zone = to_name(&primary.zone).map_err(UpdateError::Encode)?;
    let last_of: HashMap<&DomainName, usize> = updates
        .iter()
        .enumerate()
        .map(|(index, update)| (&update.name, index))
        .collect();
    let mut batches = Vec::new();
    let mut current: Option<(Batch, usize)> = None;
    for (index, update) in updates.iter().enumerate() {
        if last_of.get(&update.name) != Some(&index) {
            continue;
        }
        let records = update_records(primary, update)?;
        let octets: usize = records.iter().map(uncompressed_octets).sum();
        if octets > MESSAGE_BUDGET {
            return Err(UpdateError::TooLarge {
                name: update.name.clone(),
                octets,
            });
        }
        if current
            .as_ref()
            .is_some_and(|(_, used)| used + octets > MESSAGE_BUDGET)
        {
            batches.extend(current.take().map(|(batch, _)| batch));
        }
        let (batch, used) = current.get_or_insert_with(|| {
            let batch = Batch {
                message: new_update_message(zone.clone()),
                names: 0,
                first: update.name.clone(),
                last: update.name.clone(),
            };
            (batch, 0)
        });
        batch.message.add_updates(records);
        batch.names += 1;
        batch.last = update.name.clone();
        *used += octets;
    }
    batches.extend(current.map(|(batch, _)| batch));
    Ok(batches)
}

fn new_update_message(zone: Name) -> Message {
    let mut message = Message::query();
    message.metadata.op_code = OpCode::Update;
    message.metadata.recursion_desired = false;
    let mut zone_section = Query::query(zone, RecordType::SOA);
    zone_section.set_query_class(DNSClass::IN);
    message.add_zone(zone_section);
    message
}

/// The update section records of one name: delete its NS set, delete its DS set (RFC 2136
/// §2.5.2: class ANY, TTL 0, no RDATA), then add each desired record.
fn update_records(
    primary: &Primary,
    update: &DelegationUpdate,
) -> Result<Vec<Record>, UpdateError> {
    if !update.name.is_subdomain_of(&primary.zone) {
        return Err(UpdateError::NotInZone {
            name: update.name.clone(),
            zone: primary.zone.clone(),
        });
    }
    let owner = to_name(&update.name).map_err(UpdateError::Encode)?;
    let mut records = Vec::with_capacity(4);
    for record_type in [RecordType::NS, RecordType::DS] {
        let mut delete = Record::update0(owner.clone(), 0, record_type);
        delete.dns_class = DNSClass::ANY;
        records.push(delete);
    }
    let Some((nameservers, ds_records)) = &update.delegation else {
        return Ok(records);
    };
    if nameservers.is_empty() {
        return Ok(records);
    }
    for host in nameservers {
        let host = to_name(host).map_err(UpdateError::Encode)?;
        records.push(Record::from_rdata(
            owner.clone(),
            primary.ttl,
            RData::NS(NS(host)),
        ));
    }
    for ds in ds_records {
        let rdata = to_ds(ds).ok_or_else(|| UpdateError::BadDigest {
            name: update.name.clone(),
            digest: ds.digest.clone(),
        })?;
        records.push(Record::from_rdata(
            owner.clone(),
            primary.ttl,
            RData::DNSSEC(DNSSECRData::DS(rdata)),
        ));
    }
    Ok(records)
}

/// The octets `record` takes on the wire with its owner written out in full: owner, type, class,
/// TTL and RDATA length (10), RDATA. An upper bound, since the encoder compresses names.
fn uncompressed_octets(record: &Record) -> usize {
    let rdata = match &record.data {
        RData::NS(host) => host.0.len() + 1,
        RData::DNSSEC(DNSSECRData::DS(ds)) => 4 + ds.digest().len(),
        _ => 0,
    };
    record.name.len() + 1 + 10 + rdata
}

/// The seconds since 1970 that go into a TSIG record.
fn tsig_time() -> u64 {
    #[allow(clippy::disallowed_methods)] // TSIG's clock is the wall clock; see `publish`.
    let now = SystemTime::now();
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Checks the server's answer to one batch: NOERROR, and a valid signature when the request was
/// signed. A refusal is reported with its response code even when unsigned, as servers answer a
/// bad signature (RFC 8945 §5.3.2): such an answer cannot be trusted, but it is a failure either way.
fn check_answer(
    primary: &Primary,
    batch: &Batch,
    applied: usize,
    answer: &[u8],
    verifier: Option<TSigVerifier>,
) -> Result<(), UpdateError> {
    let message = Message::from_vec(answer).map_err(|error| UpdateError::Malformed {
        server: primary.server,
        reason: error.to_string(),
    })?;
    let rcode = message.metadata.response_code;
    let tsig_error = message
        .signature()
        .and_then(|signature| signature.data.error)
        .map(u16::from);
    if rcode != ResponseCode::NoError || tsig_error.is_some() {
        let mut rcode = rcode_name(u16::from(rcode));
        if let Some(tsig_error) = tsig_error {
            rcode.push_str(", TSIG error ");
            rcode.push_str(&rcode_name(tsig_error));
        }
        return Err(UpdateError::Rejected(Box::new(Rejection {
            server: primary.server,
            zone: primary.zone.clone(),
            rcode,
            first: batch.first.clone(),
            last: batch.last.clone(),
            names: batch.names,
            applied,
        })));
    }
    if let Some(mut verifier) = verifier {
        verifier
            .verify(answer)
            .map_err(|error| UpdateError::Unverified {
                server: primary.server,
                reason: error.to_string(),
            })?;
    }
    Ok(())
}

/// A TCP connection to a primary (RFC 1035 §4.2.2 framing: a two-octet length, then the
/// message), on which requests and answers are sent and read separately.
///
/// hickory-net has a TCP client, but its TSIG check turns the unsigned NOTAUTH a server sends for
/// a bad key into an opaque verification error, losing the response code; framing by hand keeps
/// the answer whole.
struct Connection {
    server: SocketAddr,
    stream: TcpStream,
}

impl Connection {
    async fn open(server: SocketAddr) -> Result<Connection, UpdateError> {
        let stream = tokio::time::timeout(UPDATE_TIMEOUT, TcpStream::connect(server))
            .await
            .map_err(|_| UpdateError::Timeout {
                server,
                timeout: UPDATE_TIMEOUT,
            })?
            .map_err(|source| UpdateError::Connect { server, source })?;
        stream
            .set_nodelay(true)
            .map_err(|source| UpdateError::Connect { server, source })?;
        Ok(Connection { server, stream })
    }

    /// Sends one message.
    async fn send(&mut self, request: &[u8]) -> Result<(), UpdateError> {
        let server = self.server;
        let length = u16::try_from(request.len()).map_err(|_| UpdateError::Malformed {
            server,
            reason: format!(
                "a request of {} octets does not fit TCP framing",
                request.len()
            ),
        })?;
        let mut framed = Vec::with_capacity(request.len() + 2);
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(request);
        tokio::time::timeout(UPDATE_TIMEOUT, self.stream.write_all(&framed))
            .await
            .map_err(|_| UpdateError::Timeout {
                server,
                timeout: UPDATE_TIMEOUT,
            })?
            .map_err(|source| UpdateError::Io { server, source })
    }

    /// Receives one message.
    async fn receive(&mut self) -> Result<Vec<u8>, UpdateError> {
        let server = self.server;
        let io = |source| UpdateError::Io { server, source };
        tokio::time::timeout(UPDATE_TIMEOUT, async {
            let mut length = [0; 2];
            self.stream.read_exact(&mut length).await.map_err(io)?;
            let mut answer = vec![0; usize::from(u16::from_be_bytes(length))];
            self.stream.read_exact(&mut answer).await.map_err(io)?;
            Ok(answer)
        })
        .await
        .map_err(|_| UpdateError::Timeout {
            server,
            timeout: UPDATE_TIMEOUT,
        })?
    }
}

/// One query without recursion, over UDP, then TCP when the answer is truncated. NOERROR and
/// NXDOMAIN are answers; any other response code is an error.
async fn query(
    server: SocketAddr,
    name: &DomainName,
    record_type: RecordType,
    timeout: Duration,
) -> Result<DnsResponse, UpdateError> {
    let network = |source| UpdateError::Query {
        server,
        name: name.clone(),
        record_type,
        source: Box::new(source),
    };
    let question = Query::query(to_name(name).map_err(UpdateError::Encode)?, record_type);
    let mut options = DnsRequestOptions::default();
    options.recursion_desired = false;

    // The provider owns the tasks that drive the exchanges: they are aborted when its last clone
    // is dropped, so this one lives until the answer is in.
    let provider = TokioRuntimeProvider::new();
    let exchange = async {
        let udp = UdpClientStream::builder(server, provider.clone())
            .with_timeout(Some(timeout))
            .exchange();
        let response = udp
            .lookup(question.clone(), options)
            .first_answer()
            .await
            .map_err(network)?;
        if !response.metadata.truncation {
            return Ok(response);
        }
        let tcp = TcpClientStream::exchange(server, None, timeout, None, provider.clone())
            .await
            .map_err(network)?;
        tcp.lookup(question, options)
            .first_answer()
            .await
            .map_err(network)
    };
    let response = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| UpdateError::Timeout { server, timeout })??;
    drop(provider);
    match response.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(response),
        rcode => Err(UpdateError::QueryFailed {
            server,
            name: name.clone(),
            record_type,
            rcode: rcode_name(u16::from(rcode)),
        }),
    }
}

/// Whether `record` belongs to `name` (compared as model names, so case does not matter).
fn owned_by(record: &Record, name: &DomainName) -> bool {
    from_name(&record.name).is_some_and(|owner| owner == *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(name: &str) -> DomainName {
        DomainName::parse(name).unwrap()
    }

    fn primary() -> Primary {
        Primary {
            server: SocketAddr::from(([127, 0, 0, 1], 53)),
            zone: n("demo"),
            key: None,
            ttl: 3600,
        }
    }

    fn ds(key_tag: u16) -> DsRecord {
        DsRecord {
            key_tag,
            algorithm: 13,
            digest_type: 2,
            digest: "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".to_owned(),
        }
    }

    /// Batches `updates`, checks that they hold every name once, in order, each message under
    /// the TCP limit with room for TSIG; returns (messages, largest encoded size).
    fn check_batches(updates: &[DelegationUpdate]) -> (usize, usize) {
        let batches = batches(&primary(), updates).unwrap();
        let mut names = Vec::new();
        let mut largest = 0;
        for batch in &batches {
            let octets = batch.message.to_vec().unwrap().len();
            assert!(octets + 200 < 65_535, "{octets} octets");
            largest = largest.max(octets);
            let mut owners: Vec<DomainName> = Vec::new();
            for record in batch.message.updates() {
                let owner = from_name(&record.name).unwrap();
                if owners.last() != Some(&owner) {
                    owners.push(owner);
                }
            }
            assert_eq!(owners.len(), batch.names);
            assert_eq!(owners.first(), Some(&batch.first));
            assert_eq!(owners.last(), Some(&batch.last));
            names.extend(owners);
        }
        let expected: Vec<DomainName> = updates.iter().map(|update| update.name.clone()).collect();
        assert_eq!(names, expected, "every name once, in order, never split");
        (batches.len(), largest)
    }

    #[test]
    fn batches_stay_under_the_tcp_limit_and_never_split_a_name() {
        let long = "a".repeat(63);
        // Bare removals, short and longest labels.
        let short: Vec<DelegationUpdate> = (0..10_000)
            .map(|index| DelegationUpdate {
                name: n(&format!("dom{index:07}.demo")),
                delegation: None,
            })
            .collect();
        let longest: Vec<DelegationUpdate> = (0..10_000)
            .map(|index| DelegationUpdate {
                name: n(&format!("{index:05}{}.demo", &long[5..])),
                delegation: None,
            })
            .collect();
        // Full delegations: two NS and a DS, then thirteen long NS and four DS.
        let typical: Vec<DelegationUpdate> = (0..10_000)
            .map(|index| DelegationUpdate {
                name: n(&format!("dom{index:07}.demo")),
                delegation: Some((
                    vec![n("ns1.example.net"), n("ns2.example.net")],
                    vec![ds(1)],
                )),
            })
            .collect();
        let heavy: Vec<DelegationUpdate> = (0..2_000)
            .map(|index| DelegationUpdate {
                name: n(&format!("{index:05}{}.demo", &long[5..])),
                delegation: Some((
                    (0..13)
                        .map(|ns| n(&format!("ns{ns}.{long}.{long}.example")))
                        .collect(),
                    (0..4).map(ds).collect(),
                )),
            })
            .collect();
        for (label, updates) in [
            ("short removals", &short),
            ("longest removals", &longest),
            ("two NS and a DS", &typical),
            ("13 long NS and 4 DS", &heavy),
        ] {
            let (messages, largest) = check_batches(updates);
            println!(
                "{label}: {} names per message, largest {largest} octets",
                updates.len() / messages
            );
        }
    }

    #[test]
    fn a_redirect_is_one_delete_and_add_in_one_message() {
        let update = DelegationUpdate {
            name: n("shop.demo"),
            delegation: Some((vec![n("sinkhole.holdfast.example")], Vec::new())),
        };
        let batches = batches(&primary(), &[update]).unwrap();
        let [batch] = batches.as_slice() else {
            panic!("{} messages", batches.len());
        };
        let records: Vec<String> = batch
            .message
            .updates()
            .iter()
            .map(|record| {
                format!(
                    "{} {} {} {} {}",
                    record.name,
                    record.ttl,
                    record.dns_class,
                    record.record_type(),
                    record.data
                )
            })
            .collect();
        assert_eq!(
            records,
            [
                "shop.demo. 0 ANY NS UPDATE",
                "shop.demo. 0 ANY DS UPDATE",
                "shop.demo. 3600 IN NS sinkhole.holdfast.example.",
            ]
        );
        assert_eq!(batch.message.queries[0].to_string(), "demo. IN SOA");
    }

    #[test]
    fn a_name_listed_twice_is_sent_once_in_its_last_state() {
        let state = |name: &str, host: Option<&str>| DelegationUpdate {
            name: n(name),
            delegation: host.map(|host| (vec![n(host)], Vec::new())),
        };
        let updates = [
            state("a.demo", None),
            state("b.demo", Some("ns.b.example")),
            state("a.demo", Some("ns.a.example")),
        ];
        let batches = batches(&primary(), &updates).unwrap();
        let [batch] = batches.as_slice() else {
            panic!("{} messages", batches.len());
        };
        assert_eq!(
            (batch.names, &batch.first, &batch.last),
            (2, &n("b.demo"), &n("a.demo"))
        );
        let added: Vec<String> = batch
            .message
            .updates()
            .iter()
            .filter(|record| record.dns_class == DNSClass::IN)
            .map(|record| format!("{} {}", record.name, record.data))
            .collect();
        assert_eq!(added, ["b.demo. ns.b.example.", "a.demo. ns.a.example."]);
    }

    #[test]
    fn bad_input_is_refused_before_sending() {
        let outside = DelegationUpdate {
            name: n("shop.example"),
            delegation: None,
        };
        assert!(matches!(
            batches(&primary(), &[outside]),
            Err(UpdateError::NotInZone { .. })
        ));
        let mut bad_ds = ds(1);
        bad_ds.digest = "XYZ".to_owned();
        let bad_digest = DelegationUpdate {
            name: n("shop.demo"),
            delegation: Some((vec![n("ns.example")], vec![bad_ds])),
        };
        let error = batches(&primary(), &[bad_digest]).err().unwrap();
        assert_eq!(
            error.to_string(),
            "the DS digest \"XYZ\" of shop.demo is not hexadecimal"
        );
    }
}
