//! The embedded authoritative server over an in-memory zone, asked over UDP and TCP with
//! hickory's client and with `query_delegation`: apex, referral with glue, DS, NXDOMAIN, NODATA,
//! REFUSED, SERVFAIL, truncation, and shutdown.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::{DnsHandle, FirstAnswer};
use hickory_proto::op::{DnsRequestOptions, DnsResponse, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use holdfast_dns::{Apex, DataError, ZoneData, query_delegation, serve};
use holdfast_model::{Delegation, DomainName, DsRecord, Soa};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TIMEOUT: Duration = Duration::from_secs(5);

fn n(name: &str) -> DomainName {
    DomainName::parse(name).unwrap()
}

fn ds(key_tag: u16) -> DsRecord {
    DsRecord {
        key_tag,
        algorithm: 13,
        digest_type: 2,
        digest: "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".to_owned(),
    }
}

/// A registry in memory: TLDs, delegations, glue.
#[derive(Default)]
struct Memory {
    apex: HashMap<DomainName, Apex>,
    delegations: HashMap<DomainName, Delegation>,
    glue: HashMap<DomainName, Vec<IpAddr>>,
}

impl ZoneData for Memory {
    async fn apex(&self, tld: &DomainName) -> Result<Option<Apex>, DataError> {
        Ok(self.apex.get(tld).cloned())
    }

    async fn delegation(&self, name: &DomainName) -> Result<Option<Delegation>, DataError> {
        Ok(self.delegations.get(name).cloned())
    }

    async fn glue(&self, host: &DomainName) -> Result<Vec<IpAddr>, DataError> {
        Ok(self.glue.get(host).cloned().unwrap_or_default())
    }
}

fn delegate(memory: &mut Memory, name: &str, hosts: &[&str], ds: Vec<DsRecord>) {
    memory.delegations.insert(
        n(name),
        Delegation {
            name: n(name),
            nameservers: hosts.iter().map(|host| n(host)).collect(),
            ds,
        },
    );
}

/// The zone `demo` with its apex on `a.nic.demo`, `shop.demo` delegated in-zone with glue and a
/// DS, `plain.demo` delegated out of zone without DS, and `wide.demo` with 40 long NS names, more
/// than a UDP answer holds.
fn memory() -> Memory {
    let mut memory = Memory::default();
    memory.apex.insert(
        n("demo"),
        Apex {
            soa: Soa {
                mname: n("a.nic.demo"),
                rname: n("hostmaster.nic.demo"),
                serial: 7,
                refresh: 7200,
                retry: 900,
                expire: 1_209_600,
                minimum: 300,
            },
            nameservers: vec![n("a.nic.demo"), n("b.nic.example")],
            ttl: 3600,
        },
    );
    memory.glue.insert(
        n("a.nic.demo"),
        vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
    );
    delegate(
        &mut memory,
        "shop.demo",
        &["ns1.shop.demo", "ns.hoster.example"],
        vec![ds(31337)],
    );
    memory
        .glue
        .insert(n("ns1.shop.demo"), vec!["198.51.100.7".parse().unwrap()]);
    delegate(
        &mut memory,
        "plain.demo",
        &["ns.hoster.example"],
        Vec::new(),
    );
    let wide: Vec<String> = (0..40)
        .map(|index| format!("name-server-number-{index:02}.some-long-hosting-provider.example"))
        .collect();
    let wide: Vec<&str> = wide.iter().map(String::as_str).collect();
    delegate(&mut memory, "wide.demo", &wide, Vec::new());
    memory
}

/// A data source that always fails.
struct Broken;

impl ZoneData for Broken {
    async fn apex(&self, _: &DomainName) -> Result<Option<Apex>, DataError> {
        Err("the store is down".into())
    }

    async fn delegation(&self, _: &DomainName) -> Result<Option<Delegation>, DataError> {
        Err("the store is down".into())
    }

    async fn glue(&self, _: &DomainName) -> Result<Vec<IpAddr>, DataError> {
        Err("the store is down".into())
    }
}

/// A server on one port of 127.0.0.1 (UDP and TCP), stopped by `stop`.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start<D: ZoneData>(data: D) -> Running {
    let (udp, tcp) = holdfast_dns::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = udp.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(udp, tcp, Arc::new(data), async {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

#[derive(Clone, Copy, Debug)]
enum Transport {
    Udp,
    Tcp,
}

async fn ask(
    addr: SocketAddr,
    transport: Transport,
    name: &str,
    record_type: RecordType,
) -> DnsResponse {
    let query = Query::query(Name::from_ascii(name).unwrap(), record_type);
    let mut options = DnsRequestOptions::default();
    options.recursion_desired = false;
    // The provider owns the exchange's background task: keep it until the answer is in.
    let provider = TokioRuntimeProvider::new();
    let response = match transport {
        Transport::Udp => {
            UdpClientStream::builder(addr, provider.clone())
                .with_timeout(Some(TIMEOUT))
                .exchange()
                .lookup(query, options)
                .first_answer()
                .await
        }
        Transport::Tcp => {
            TcpClientStream::exchange(addr, None, TIMEOUT, None, provider.clone())
                .await
                .unwrap()
                .lookup(query, options)
                .first_answer()
                .await
        }
    };
    drop(provider);
    response.unwrap_or_else(|error| panic!("{record_type} {name} over {transport:?}: {error}"))
}

/// A section as sorted text lines, `owner TTL TYPE RDATA`.
fn lines(records: &[Record]) -> Vec<String> {
    let mut lines: Vec<String> = records
        .iter()
        .map(|record| {
            format!(
                "{} {} {} {}",
                record.name,
                record.ttl,
                record.record_type(),
                record.data
            )
        })
        .collect();
    lines.sort();
    lines
}

/// What a response should hold: code, AA flag, and the three sections as lines.
struct Expect {
    rcode: ResponseCode,
    authoritative: bool,
    answers: &'static [&'static str],
    authorities: &'static [&'static str],
    additionals: &'static [&'static str],
}

async fn check(addr: SocketAddr, name: &str, record_type: RecordType, expect: Expect) {
    for transport in [Transport::Udp, Transport::Tcp] {
        let response = ask(addr, transport, name, record_type).await;
        let context = format!("{record_type} {name} over {transport:?}");
        assert_eq!(response.metadata.response_code, expect.rcode, "{context}");
        assert_eq!(
            response.metadata.authoritative, expect.authoritative,
            "{context}"
        );
        assert!(!response.metadata.truncation, "{context}");
        assert_eq!(
            lines(&response.answers),
            expect.answers,
            "answers of {context}"
        );
        assert_eq!(
            lines(&response.authorities),
            expect.authorities,
            "authorities of {context}"
        );
        assert_eq!(
            lines(&response.additionals),
            expect.additionals,
            "additionals of {context}"
        );
    }
}

const SOA: &str = "demo. 3600 SOA a.nic.demo. hostmaster.nic.demo. 7 7200 900 1209600 300";
/// The SOA of a negative answer: its TTL is the SOA minimum.
const NEGATIVE_SOA: &str = "demo. 300 SOA a.nic.demo. hostmaster.nic.demo. 7 7200 900 1209600 300";

#[tokio::test]
async fn answers_as_a_tld_authoritative_server() {
    let server = start(memory()).await;
    let addr = server.addr;
    let no: &[&str] = &[];

    // The apex: SOA and NS, authoritative, in-zone name server addresses as additional data.
    check(
        addr,
        "demo.",
        RecordType::SOA,
        Expect {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: &[SOA],
            authorities: no,
            additionals: no,
        },
    )
    .await;
    check(
        addr,
        "DEMO.",
        RecordType::NS,
        Expect {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: &["demo. 3600 NS a.nic.demo.", "demo. 3600 NS b.nic.example."],
            authorities: no,
            additionals: &[
                "a.nic.demo. 3600 A 192.0.2.1",
                "a.nic.demo. 3600 AAAA 2001:db8::1",
            ],
        },
    )
    .await;
    check(
        addr,
        "demo.",
        RecordType::MX,
        Expect {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: no,
            authorities: &[NEGATIVE_SOA],
            additionals: no,
        },
    )
    .await;

    // At and below a delegated name: a referral with glue, not authoritative.
    for (name, record_type) in [
        ("shop.demo.", RecordType::NS),
        ("shop.demo.", RecordType::A),
        ("www.Shop.demo.", RecordType::A),
        ("deep.www.shop.demo.", RecordType::DS),
        ("ns1.shop.demo.", RecordType::A),
    ] {
        check(
            addr,
            name,
            record_type,
            Expect {
                rcode: ResponseCode::NoError,
                authoritative: false,
                answers: no,
                authorities: &[
                    "shop.demo. 3600 NS ns.hoster.example.",
                    "shop.demo. 3600 NS ns1.shop.demo.",
                ],
                additionals: &["ns1.shop.demo. 3600 A 198.51.100.7"],
            },
        )
        .await;
    }

    // DS of the delegated name: the TLD's own data, authoritative; NODATA when there is none.
    check(addr, "shop.demo.", RecordType::DS, Expect {
        rcode: ResponseCode::NoError,
        authoritative: true,
        answers: &["shop.demo. 3600 DS 31337 13 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766"],
        authorities: no,
        additionals: no,
    })
    .await;
    check(
        addr,
        "plain.demo.",
        RecordType::DS,
        Expect {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: no,
            authorities: &[NEGATIVE_SOA],
            additionals: no,
        },
    )
    .await;

    // Not delegated: NXDOMAIN with the SOA, below it too.
    for name in [
        "unregistered.demo.",
        "www.unregistered.demo.",
        "under_score.demo.",
    ] {
        check(
            addr,
            name,
            RecordType::A,
            Expect {
                rcode: ResponseCode::NXDomain,
                authoritative: true,
                answers: no,
                authorities: &[NEGATIVE_SOA],
                additionals: no,
            },
        )
        .await;
    }

    // The apex's in-zone name server: its addresses; the name between it and the TLD: NODATA.
    check(
        addr,
        "a.nic.demo.",
        RecordType::A,
        Expect {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: &["a.nic.demo. 3600 A 192.0.2.1"],
            authorities: no,
            additionals: no,
        },
    )
    .await;
    check(
        addr,
        "nic.demo.",
        RecordType::A,
        Expect {
            rcode: ResponseCode::NoError,
            authoritative: true,
            answers: no,
            authorities: &[NEGATIVE_SOA],
            additionals: no,
        },
    )
    .await;

    // Outside the served TLDs: REFUSED, without data.
    for name in ["shop.example.", "example.", "."] {
        check(
            addr,
            name,
            RecordType::A,
            Expect {
                rcode: ResponseCode::Refused,
                authoritative: false,
                answers: no,
                authorities: no,
                additionals: no,
            },
        )
        .await;
    }

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn query_delegation_reads_the_embedded_server() {
    let memory = memory();
    let wide = memory.delegations[&n("wide.demo")].clone();
    let server = start(memory).await;

    let shop = query_delegation(server.addr, &n("shop.demo"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        shop,
        Some((
            vec![n("ns.hoster.example"), n("ns1.shop.demo")],
            vec![ds(31337)]
        ))
    );
    let plain = query_delegation(server.addr, &n("plain.demo"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(plain, Some((vec![n("ns.hoster.example")], Vec::new())));
    let none = query_delegation(server.addr, &n("unregistered.demo"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(none, None);

    // Forty long NS names do not fit a UDP answer: truncated, then asked again over TCP.
    let udp = ask(server.addr, Transport::Udp, "wide.demo.", RecordType::NS).await;
    assert!(udp.metadata.truncation, "{udp:?}");
    let (nameservers, ds) = query_delegation(server.addr, &n("wide.demo"), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    let mut expected = wide.nameservers;
    expected.sort();
    assert_eq!((nameservers, ds), (expected, Vec::new()));

    // A name outside the server's TLDs is an error naming the server and the code.
    let error = query_delegation(server.addr, &n("shop.example"), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} answered REFUSED to NS shop.example", server.addr)
    );
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_failing_data_source_is_servfail() {
    let server = start(Broken).await;
    for transport in [Transport::Udp, Transport::Tcp] {
        let response = ask(server.addr, transport, "shop.demo.", RecordType::NS).await;
        assert_eq!(
            response.metadata.response_code,
            ResponseCode::ServFail,
            "{transport:?}"
        );
    }
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_ds_answer_round_trips_through_the_wire() {
    // Every DS field survives: an unknown algorithm and digest type, a short digest.
    let mut memory = memory();
    let odd = DsRecord {
        key_tag: 65535,
        algorithm: 250,
        digest_type: 99,
        digest: "00FF".to_owned(),
    };
    delegate(
        &mut memory,
        "odd.demo",
        &["ns.hoster.example"],
        vec![odd.clone()],
    );
    let server = start(memory).await;
    let published = query_delegation(server.addr, &n("odd.demo"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(published, Some((vec![n("ns.hoster.example")], vec![odd])));
    let response = ask(server.addr, Transport::Udp, "odd.demo.", RecordType::DS).await;
    assert!(matches!(response.answers[0].data, RData::DNSSEC(_)));
    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}
