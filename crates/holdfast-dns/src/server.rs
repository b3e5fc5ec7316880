//! The embedded authoritative server for single-label TLD zones (hickory-server over UDP and
//! TCP), answering every query from a [`ZoneData`] the caller provides, so the store stays the one
//! source of truth and nothing is copied into a zone held here.
//!
//! What it answers, as a TLD's authoritative server should (RFC 1034 §4.3.2):
//!
//! - outside every served TLD: REFUSED;
//! - the TLD itself: its SOA, its NS (with the addresses of in-zone name servers), both for ANY,
//!   authoritatively; other types NODATA with the SOA;
//! - a name at or below a delegated name: a referral, not authoritative, the delegation's NS in
//!   the authority section and glue in the additional section; except DS for the delegated name
//!   itself, which the TLD answers authoritatively (RFC 4035 §3.1.4.1), or NODATA;
//! - an in-zone name server of the apex (`a.nic.demo`): its addresses, authoritatively, and NODATA
//!   for the names between it and the TLD;
//! - anything else: NXDOMAIN with the SOA.
//!
//! The zone is not signed: no RRSIG, NSEC or DNSKEY. A failure of the data source is SERVFAIL.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_net::runtime::Time;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Header, HeaderCounts, LowerQuery, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_server::Server;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use holdfast_model::{Delegation, DomainName, Soa};
use tokio::net::{TcpListener, UdpSocket};

use crate::wire::{from_name, to_ds, to_name};

/// A failure of the data source; the server answers SERVFAIL and logs it.
pub type DataError = Box<dyn std::error::Error + Send + Sync>;

/// How long a TCP connection may stay idle before the server closes it.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers queued per TCP connection.
const TCP_RESPONSE_BUFFER: usize = 32;

/// The apex of a served TLD zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apex {
    pub soa: Soa,
    /// The zone's own name servers.
    pub nameservers: Vec<DomainName>,
    /// The TTL of every record served from the zone (negative answers use the smaller of this
    /// and the SOA minimum, RFC 2308 §3).
    pub ttl: u32,
}

/// Where the server reads the zones it serves. Each query makes one to a few calls; answer from
/// memory or a fast store.
pub trait ZoneData: Send + Sync + 'static {
    /// The apex of the zone `tld` (a single label), or `None` when it is not served.
    fn apex(
        &self,
        tld: &DomainName,
    ) -> impl Future<Output = Result<Option<Apex>, DataError>> + Send;

    /// The published delegation of `name`, a name directly below a served TLD: `None` when it is
    /// held, deleted or not registered. A delegation without name servers counts as none.
    fn delegation(
        &self,
        name: &DomainName,
    ) -> impl Future<Output = Result<Option<Delegation>, DataError>> + Send;

    /// The glue addresses of `host`, a name server inside a served TLD; empty when it has none.
    fn glue(
        &self,
        host: &DomainName,
    ) -> impl Future<Output = Result<Vec<IpAddr>, DataError>> + Send;
}

/// Binds a UDP socket and a TCP listener on the same address for [`serve`]. With port 0 the
/// system picks the UDP port, whose TCP twin may already be taken by another program: another
/// pair is then tried, a few times, instead of failing.
pub async fn bind(
    address: std::net::SocketAddr,
) -> io::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    let mut attempts = 0;
    loop {
        let udp = tokio::net::UdpSocket::bind(address).await?;
        match tokio::net::TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error)
                if address.port() == 0
                    && error.kind() == io::ErrorKind::AddrInUse
                    && attempts < 20 =>
            {
                attempts += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Serves the zones of `data` on `udp` and `tcp` until `shutdown` completes, then stops accepting
/// and returns once the open connections are done.
///
/// Bind the sockets first (port 53 needs the privilege, a test takes port 0). An error is a
/// socket that failed for good.
pub async fn serve<D: ZoneData>(
    udp: UdpSocket,
    tcp: TcpListener,
    data: Arc<D>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut server = Server::new(Handler { data });
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);
    let token = server.shutdown_token().clone();
    let done = server.block_until_done();
    tokio::pin!(done);
    let result = tokio::select! {
        result = &mut done => result,
        () = shutdown => {
            token.cancel();
            done.await
        }
    };
    result.map_err(io::Error::other)
}

/// hickory-server's request handler over a [`ZoneData`].
struct Handler<D> {
    data: Arc<D>,
}

#[async_trait::async_trait]
impl<D: ZoneData> RequestHandler for Handler<D> {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        // RFC 6891 §7: answer EDNS with EDNS; version 0 is the only one.
        let response_edns = request.edns.as_ref().map(|edns| {
            let mut response = Edns::new();
            response.set_max_payload(edns.max_payload().max(512));
            response.set_version(0);
            response
        });
        let answer = if request.edns.as_ref().is_some_and(|edns| edns.version() > 0) {
            Answer::error(ResponseCode::BADVERS)
        } else {
            self.answer(request).await
        };

        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = answer.authoritative;
        metadata.response_code = answer.rcode;
        let response = MessageResponseBuilder::new(&request.queries, response_edns.as_ref()).build(
            metadata,
            answer.answers.iter(),
            answer.authorities.iter(),
            std::iter::empty(),
            answer.additionals.iter(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(%error, "could not send a DNS response");
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

impl<D: ZoneData> Handler<D> {
    async fn answer(&self, request: &Request) -> Answer {
        if request.metadata.op_code != OpCode::Query {
            return Answer::error(ResponseCode::NotImp);
        }
        let [query] = request.queries.queries() else {
            return Answer::error(ResponseCode::FormErr);
        };
        match answer_query(&*self.data, query).await {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(query = %query.name(), %error, "zone data failed; answering SERVFAIL");
                Answer::error(ResponseCode::ServFail)
            }
        }
    }
}

/// A response's code, flag and sections.
struct Answer {
    rcode: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    additionals: Vec<Record>,
}

impl Answer {
    fn error(rcode: ResponseCode) -> Answer {
        Answer {
            rcode,
            authoritative: false,
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    fn authoritative(answers: Vec<Record>) -> Answer {
        Answer {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers,
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// NOERROR or NXDOMAIN with no answer and the SOA in the authority section (RFC 2308 §2).
    fn negative(rcode: ResponseCode, zone: &Zone) -> Answer {
        Answer {
            rcode,
            authoritative: true,
            answers: Vec::new(),
            authorities: vec![zone.negative_soa()],
            additionals: Vec::new(),
        }
    }
}

/// A served zone while one query is answered: its name (wire and model form) and apex.
struct Zone {
    name: Name,
    tld: DomainName,
    apex: Apex,
}

impl Zone {
    fn record(&self, owner: &Name, rdata: RData) -> Record {
        Record::from_rdata(owner.clone(), self.apex.ttl, rdata)
    }

    fn soa(&self, ttl: u32) -> Record {
        let soa = &self.apex.soa;
        let rdata = SOA::new(
            wire_name(&soa.mname),
            wire_name(&soa.rname),
            soa.serial,
            as_i32(soa.refresh),
            as_i32(soa.retry),
            as_i32(soa.expire),
            soa.minimum,
        );
        Record::from_rdata(self.name.clone(), ttl, RData::SOA(rdata))
    }

    /// The SOA of a negative answer, whose TTL says how long to cache the denial (RFC 2308 §3).
    fn negative_soa(&self) -> Record {
        self.soa(self.apex.ttl.min(self.apex.soa.minimum))
    }

    fn ns_records(&self, owner: &Name, hosts: &[DomainName]) -> Vec<Record> {
        hosts
            .iter()
            .map(|host| self.record(owner, RData::NS(NS(wire_name(host)))))
            .collect()
    }

    /// Address records of `host` of the type asked (A, AAAA, or both for ANY and for glue).
    async fn addresses<D: ZoneData>(
        &self,
        data: &D,
        host: &DomainName,
        record_type: RecordType,
    ) -> Result<Vec<Record>, DataError> {
        if !host.is_subdomain_of(&self.tld) {
            return Ok(Vec::new());
        }
        let owner = wire_name(host);
        let addresses = data.glue(host).await?;
        Ok(addresses
            .into_iter()
            .filter_map(|address| match (address, record_type) {
                (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => Some(RData::A(A(v4))),
                (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => Some(RData::AAAA(AAAA(v6))),
                _ => None,
            })
            .map(|rdata| self.record(&owner, rdata))
            .collect())
    }

    /// Glue for a set of name servers: the addresses of those inside the zone.
    async fn glue<D: ZoneData>(
        &self,
        data: &D,
        hosts: &[DomainName],
    ) -> Result<Vec<Record>, DataError> {
        let mut glue = Vec::new();
        for host in hosts {
            glue.extend(self.addresses(data, host, RecordType::ANY).await?);
        }
        Ok(glue)
    }
}

/// The answer to one query of class IN.
async fn answer_query<D: ZoneData>(data: &D, query: &LowerQuery) -> Result<Answer, DataError> {
    if query.query_class() != DNSClass::IN {
        return Ok(Answer::error(ResponseCode::Refused));
    }
    let record_type = query.query_type();
    if matches!(record_type, RecordType::AXFR | RecordType::IXFR) {
        return Ok(Answer::error(ResponseCode::Refused));
    }
    let qname = Name::from(query.name().clone());
    let labels = usize::from(qname.num_labels());
    let Some(tld) = (labels > 0)
        .then(|| qname.trim_to(1))
        .as_ref()
        .and_then(from_name)
    else {
        return Ok(Answer::error(ResponseCode::Refused));
    };
    let Some(apex) = data.apex(&tld).await? else {
        return Ok(Answer::error(ResponseCode::Refused));
    };
    let zone = Zone {
        name: wire_name(&tld),
        tld,
        apex,
    };
    if labels == 1 {
        return apex_answer(data, &zone, record_type).await;
    }

    let registered = from_name(&qname.trim_to(2));
    let delegation = match &registered {
        Some(name) => data
            .delegation(name)
            .await?
            .filter(|delegation| !delegation.nameservers.is_empty()),
        None => None,
    };
    if let Some(delegation) = delegation {
        if labels == 2 && record_type == RecordType::DS {
            return Ok(ds_answer(&zone, &delegation));
        }
        return referral(data, &zone, &delegation).await;
    }

    // Not delegated: only the apex's own in-zone name servers (and the names above them) exist.
    let Some(name) = from_name(&qname) else {
        return Ok(Answer::negative(ResponseCode::NXDomain, &zone));
    };
    if zone.apex.nameservers.contains(&name) {
        let addresses = zone.addresses(data, &name, record_type).await?;
        if addresses.is_empty() {
            return Ok(Answer::negative(ResponseCode::NoError, &zone));
        }
        return Ok(Answer::authoritative(addresses));
    }
    if zone
        .apex
        .nameservers
        .iter()
        .any(|host| host.is_subdomain_of(&name))
    {
        return Ok(Answer::negative(ResponseCode::NoError, &zone));
    }
    Ok(Answer::negative(ResponseCode::NXDomain, &zone))
}

/// The TLD's own SOA and NS, authoritatively.
async fn apex_answer<D: ZoneData>(
    data: &D,
    zone: &Zone,
    record_type: RecordType,
) -> Result<Answer, DataError> {
    let soa = || zone.soa(zone.apex.ttl);
    let ns = || zone.ns_records(&zone.name, &zone.apex.nameservers);
    let mut answer = match record_type {
        RecordType::SOA => Answer::authoritative(vec![soa()]),
        RecordType::NS => Answer::authoritative(ns()),
        RecordType::ANY => {
            let mut records = vec![soa()];
            records.extend(ns());
            Answer::authoritative(records)
        }
        _ => return Ok(Answer::negative(ResponseCode::NoError, zone)),
    };
    if record_type != RecordType::SOA {
        answer.additionals = zone.glue(data, &zone.apex.nameservers).await?;
    }
    Ok(answer)
}

/// The DS set of a delegated name, from the parent side, or NODATA.
fn ds_answer(zone: &Zone, delegation: &Delegation) -> Answer {
    let owner = wire_name(&delegation.name);
    let records: Vec<Record> = delegation
        .ds
        .iter()
        .filter_map(to_ds)
        .map(|ds| zone.record(&owner, RData::DNSSEC(DNSSECRData::DS(ds))))
        .collect();
    if records.is_empty() {
        return Answer::negative(ResponseCode::NoError, zone);
    }
    Answer::authoritative(records)
}

/// A referral to the delegation's name servers, with their glue.
async fn referral<D: ZoneData>(
    data: &D,
    zone: &Zone,
    delegation: &Delegation,
) -> Result<Answer, DataError> {
    let owner = wire_name(&delegation.name);
    Ok(Answer {
        rcode: ResponseCode::NoError,
        authoritative: false,
        answers: Vec::new(),
        authorities: zone.ns_records(&owner, &delegation.nameservers),
        additionals: zone.glue(data, &delegation.nameservers).await?,
    })
}

/// The wire form of a model name. Every model name is a valid wire name (at most 253 octets,
/// labels of at most 63 LDH octets); the root stands in should hickory ever disagree.
fn wire_name(name: &DomainName) -> Name {
    to_name(name).unwrap_or_else(|_| Name::root())
}

/// SOA timers are unsigned in the model and signed in hickory; values above `i32::MAX` (68
/// years) are clamped.
fn as_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
