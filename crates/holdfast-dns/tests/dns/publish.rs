//! Publishing by dynamic update to real servers: one scenario (remove, redirect to a sinkhole,
//! add, restore, repeat, batches of thousands, refusals) run against Knot DNS and BIND 9, each
//! effect checked by asking the server over the network.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use holdfast_dns::testing::{BindServer, KnotServer};
use holdfast_dns::{
    DelegationUpdate, Primary, TsigKey, UpdateError, publish, query_delegation, write_zone,
};
use holdfast_model::{Delegation, DomainName, DsRecord, Glue, Soa};

const DELEGATIONS: u32 = 10_000;
const TIMEOUT: Duration = Duration::from_secs(5);

fn n(name: &str) -> DomainName {
    DomainName::parse(name).unwrap()
}

fn demo() -> DomainName {
    n("demo")
}

fn key() -> TsigKey {
    TsigKey::from_base64(
        n("holdfast-update"),
        "q1WZ3+0vW3hR0B8lYjXl5yJ7oV0m2kqv0b0Zb5r2C7Q=",
    )
    .unwrap()
}

fn ds(key_tag: u16) -> DsRecord {
    DsRecord {
        key_tag,
        algorithm: 13,
        digest_type: 2,
        digest: format!("{:064X}", u128::from(key_tag) * 0x9E37_79B9_7F4A_7C15),
    }
}

fn label(index: u32) -> String {
    format!("dom{index:05}.demo")
}

/// The delegation the generated zone gives `index`: two NS, in-zone with glue for every tenth,
/// and a DS for every fourth.
fn generated(index: u32) -> Delegation {
    let first = if index.is_multiple_of(10) {
        n(&format!("ns1.dom{index:05}.demo"))
    } else {
        n("ns1.example.net")
    };
    Delegation {
        name: n(&label(index)),
        nameservers: vec![first, n("ns2.example.net")],
        ds: if index.is_multiple_of(4) {
            vec![ds(u16::try_from(index).unwrap())]
        } else {
            Vec::new()
        },
    }
}

/// Writes the zone of `demo` with [`DELEGATIONS`] delegations, as a registry would render it.
fn write_demo_zone(path: &Path) {
    let soa = Soa {
        mname: n("a.nic.demo"),
        rname: n("hostmaster.nic.demo"),
        serial: 2026010101,
        refresh: 7200,
        retry: 900,
        expire: 1_209_600,
        minimum: 300,
    };
    let glue = (0..DELEGATIONS)
        .filter(|index| index.is_multiple_of(10))
        .map(|index| Glue {
            host: n(&format!("ns1.dom{index:05}.demo")),
            addresses: vec![IpAddr::from([
                192,
                0,
                2,
                u8::try_from(index % 250).unwrap(),
            ])],
        })
        .chain([Glue {
            host: n("a.nic.demo"),
            addresses: vec![IpAddr::from([192, 0, 2, 1])],
        }]);
    let file = std::fs::File::create(path).unwrap();
    write_zone(
        file,
        &demo(),
        &soa,
        &[n("a.nic.demo")],
        (0..DELEGATIONS).map(generated),
        glue,
        3600,
    )
    .unwrap();
}

/// The state of `delegation` as `query_delegation` reports it: both sets sorted.
fn published(delegation: &Delegation) -> Option<(Vec<DomainName>, Vec<DsRecord>)> {
    let mut nameservers = delegation.nameservers.clone();
    nameservers.sort();
    let mut ds = delegation.ds.clone();
    ds.sort();
    Some((nameservers, ds))
}

fn restore(delegation: &Delegation) -> DelegationUpdate {
    DelegationUpdate {
        name: delegation.name.clone(),
        delegation: Some((delegation.nameservers.clone(), delegation.ds.clone())),
    }
}

fn remove(name: &DomainName) -> DelegationUpdate {
    DelegationUpdate {
        name: name.clone(),
        delegation: None,
    }
}

async fn check(
    server: SocketAddr,
    name: &DomainName,
    expected: Option<(Vec<DomainName>, Vec<DsRecord>)>,
) {
    let actual = query_delegation(server, name, TIMEOUT).await.unwrap();
    assert_eq!(actual, expected, "{name} as {server} publishes it");
}

/// The scenario both servers go through. `log` gives the server's log for a failure's message.
async fn scenario(server: SocketAddr, log: impl Fn() -> String) {
    let primary = Primary {
        server,
        zone: demo(),
        key: Some(key()),
        ttl: 3600,
    };
    let held = generated(1);
    let redirected = generated(4);
    let in_zone = generated(10);
    let added = Delegation {
        name: n("brand-new.demo"),
        nameservers: vec![n("ns1.hosting.example"), n("ns2.hosting.example")],
        ds: vec![ds(4242), ds(4243)],
    };
    let sinkhole = vec![
        n("sinkhole-a.holdfast.example"),
        n("sinkhole-b.holdfast.example"),
    ];

    // What the zone file published.
    check(server, &held.name, published(&held)).await;
    check(server, &redirected.name, published(&redirected)).await;
    check(server, &in_zone.name, published(&in_zone)).await;
    check(server, &added.name, None).await;

    // Hold one name, send another to the sinkhole dropping its DS (one atomic change), add one.
    let report = publish(
        &primary,
        &[
            remove(&held.name),
            DelegationUpdate {
                name: redirected.name.clone(),
                delegation: Some((sinkhole.clone(), Vec::new())),
            },
            restore(&added),
        ],
    )
    .await
    .unwrap_or_else(|error| panic!("{error}\n{}", log()));
    assert_eq!((report.names, report.messages), (3, 1));
    check(server, &held.name, None).await;
    check(
        server,
        &redirected.name,
        published(&Delegation {
            name: redirected.name.clone(),
            nameservers: sinkhole.clone(),
            ds: Vec::new(),
        }),
    )
    .await;
    check(server, &added.name, published(&added)).await;
    // Names below a held name are gone too; a neighbour is untouched.
    check(server, &n("www.dom00001.demo"), None).await;
    check(server, &generated(2).name, published(&generated(2))).await;

    // The same states again change nothing.
    publish(&primary, &[remove(&held.name), restore(&added)])
        .await
        .unwrap();
    check(server, &held.name, None).await;
    check(server, &added.name, published(&added)).await;

    // Restore the originals (in-zone name server with glue included) and remove the new name.
    let report = publish(
        &primary,
        &[
            restore(&held),
            restore(&redirected),
            remove(&added.name),
            restore(&in_zone),
        ],
    )
    .await
    .unwrap();
    assert_eq!(report.names, 4);
    check(server, &held.name, published(&held)).await;
    check(server, &redirected.name, published(&redirected)).await;
    check(server, &added.name, None).await;
    check(server, &in_zone.name, published(&in_zone)).await;

    // Thousands of names: many messages, none split, every name applied.
    let many: Vec<DomainName> = (1000..4000).map(|index| n(&label(index))).collect();
    let removals: Vec<DelegationUpdate> = many.iter().map(remove).collect();
    let report = publish(&primary, &removals).await.unwrap();
    assert_eq!(report.names, 3000);
    assert!(report.messages > 1, "{report:?}");
    assert!(report.largest_message < 65_535, "{report:?}");
    for name in [&many[0], &many[1499], &many[2999]] {
        check(server, name, None).await;
    }
    let restores: Vec<DelegationUpdate> = (1000..4000)
        .map(|index| restore(&generated(index)))
        .collect();
    let report = publish(&primary, &restores).await.unwrap();
    assert!(report.messages > 1, "{report:?}");
    for index in [1000, 1004, 2500, 3999] {
        check(server, &n(&label(index)), published(&generated(index))).await;
    }

    // A wrong secret: refused, naming the server and the response code, and nothing changes.
    let wrong_secret = Primary {
        key: Some(TsigKey {
            name: key().name,
            secret: b"not the secret at all, 32 bytes".to_vec(),
        }),
        ..primary.clone()
    };
    let error = publish(&wrong_secret, &[remove(&held.name)])
        .await
        .unwrap_err();
    let UpdateError::Rejected(rejection) = &error else {
        panic!("expected a rejection, got {error}");
    };
    assert_eq!(rejection.rcode, "NOTAUTH, TSIG error BADSIG", "{error}");
    assert_eq!((rejection.names, rejection.applied), (1, 0));
    let message = error.to_string();
    assert!(message.contains(&server.to_string()), "{message}");
    assert!(message.contains("NOTAUTH"), "{message}");
    // Many messages in flight: the first refusal is reported, none applied.
    let error = publish(&wrong_secret, &removals).await.unwrap_err();
    let UpdateError::Rejected(rejection) = &error else {
        panic!("expected a rejection, got {error}");
    };
    assert_eq!(rejection.applied, 0, "{error}");
    assert!(rejection.names > 1, "{error}");
    check(server, &many[0], published(&generated(1000))).await;
    let message = error.to_string();
    assert!(message.contains(&server.to_string()), "{message}");
    assert!(message.contains("NOTAUTH"), "{message}");
    check(server, &held.name, published(&held)).await;

    // A key the server does not know.
    let unknown_key = Primary {
        key: Some(TsigKey {
            name: n("nobody"),
            secret: key().secret,
        }),
        ..primary.clone()
    };
    let error = publish(&unknown_key, &[remove(&held.name)])
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("NOTAUTH, TSIG error BADKEY"),
        "{error}"
    );

    // No key at all: refused too (Knot says NOTAUTH, BIND REFUSED).
    let unsigned = Primary {
        key: None,
        ..primary.clone()
    };
    let error = publish(&unsigned, &[remove(&held.name)]).await.unwrap_err();
    let UpdateError::Rejected(rejection) = &error else {
        panic!("expected a rejection, got {error}");
    };
    assert!(
        ["NOTAUTH", "REFUSED"].contains(&rejection.rcode.as_str()),
        "{error}"
    );
    check(server, &held.name, published(&held)).await;

    // A name outside the zone is refused before anything is sent.
    let error = publish(&primary, &[remove(&held.name), remove(&n("shop.example"))])
        .await
        .unwrap_err();
    assert!(matches!(error, UpdateError::NotInZone { .. }), "{error}");
    check(server, &held.name, published(&held)).await;
}

#[tokio::test]
async fn knot_applies_each_update_and_refuses_a_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let zone_file = dir.path().join("demo.zone");
    write_demo_zone(&zone_file);
    let knot = KnotServer::start(&demo(), &zone_file, &key()).unwrap();
    scenario(knot.addr(), || knot.log()).await;
}

#[tokio::test]
async fn bind_applies_each_update_and_refuses_a_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let zone_file = dir.path().join("demo.zone");
    write_demo_zone(&zone_file);
    let bind = BindServer::start(&demo(), &zone_file, &key()).unwrap();
    scenario(bind.addr(), || bind.log()).await;
}

#[tokio::test]
async fn an_unreachable_primary_is_named_in_the_error() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let primary = Primary {
        server: SocketAddr::from(([127, 0, 0, 1], port)),
        zone: demo(),
        key: Some(key()),
        ttl: 3600,
    };
    let error = publish(&primary, &[remove(&n("shop.demo"))])
        .await
        .unwrap_err();
    assert!(matches!(error, UpdateError::Connect { .. }), "{error}");
    assert!(
        error.to_string().contains(&primary.server.to_string()),
        "{error}"
    );
    // Nothing to send connects to nothing.
    let report = publish(&primary, &[]).await.unwrap();
    assert_eq!(report.messages, 0);
}

#[test]
fn a_secret_must_be_base64() {
    assert!(TsigKey::from_base64(n("k"), "c2VjcmV0").is_ok());
    for bad in ["", "not base64!", "c2VjcmV0=x"] {
        let error = TsigKey::from_base64(n("k"), bad).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the secret of TSIG key k is not base64 text"
        );
    }
    // The secret stays out of debug output.
    assert!(!format!("{:?}", key()).contains("q1WZ"));
}
