//! Zone files: parsing tables, errors with their line numbers, the round trip through the writer,
//! BIND's `named-checkzone` on written zones, and a generated zone of 10,000 delegations.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;

use holdfast_dns::{ZoneRecord, parse, write_zone};
use holdfast_model::{Delegation, DomainName, DsRecord, Glue, Soa};

fn n(name: &str) -> DomainName {
    DomainName::parse(name).unwrap()
}

fn demo() -> DomainName {
    n("demo")
}

fn soa(serial: u32) -> ZoneRecord {
    ZoneRecord::Soa(Soa {
        mname: n("a.nic.demo"),
        rname: n("hostmaster.nic.demo"),
        serial,
        refresh: 7200,
        retry: 900,
        expire: 1_209_600,
        minimum: 300,
    })
}

fn delegation(name: &str, host: &str) -> ZoneRecord {
    ZoneRecord::Delegation {
        name: n(name),
        host: n(host),
    }
}

fn ds(name: &str, key_tag: u16, digest: &str) -> ZoneRecord {
    ZoneRecord::Ds {
        name: n(name),
        ds: DsRecord {
            key_tag,
            algorithm: 13,
            digest_type: 2,
            digest: digest.to_owned(),
        },
    }
}

fn glue(host: &str, address: &str) -> ZoneRecord {
    ZoneRecord::Glue {
        host: n(host),
        address: address.parse().unwrap(),
    }
}

/// All records of `text`, panicking on the first error; and the skipped count.
fn records(text: &str) -> (Vec<ZoneRecord>, u64) {
    let mut parser = parse(&demo(), text.as_bytes());
    let records = parser
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|error| panic!("{error}\nin:\n{text}"));
    (records, parser.skipped())
}

fn check(text: &str, expected: &[ZoneRecord], expected_skipped: u64) {
    let (records, skipped) = records(text);
    assert_eq!(records, expected, "in:\n{text}");
    assert_eq!(skipped, expected_skipped, "skipped, in:\n{text}");
}

const DIGEST: &str = "2BB183AF5F22588179A53B0A98631FAD1A292118";

#[test]
fn parses_each_form_of_record() {
    let cases: &[(&str, &[ZoneRecord], u64)] = &[
        // Relative names with the TLD as the initial origin, no $ORIGIN needed.
        (
            "shop IN NS ns1.shop\n",
            &[delegation("shop.demo", "ns1.shop.demo")],
            0,
        ),
        // Absolute names, no class, explicit TTL.
        (
            "shop.demo. 3600 NS ns.example.net.\n",
            &[delegation("shop.demo", "ns.example.net")],
            0,
        ),
        // Class and TTL in either order, any case.
        (
            "Shop.DEMO. in 300 ns NS1.Example.NET.\nbar 300 IN Ns ns2.example.net.\n",
            &[
                delegation("shop.demo", "ns1.example.net"),
                delegation("bar.demo", "ns2.example.net"),
            ],
            0,
        ),
        // $ORIGIN, $TTL, @, multi-line SOA with comments, blank owners.
        (
            "$ORIGIN demo.\n$TTL 3600\n; the apex\n@ IN SOA a.nic hostmaster.nic. ( ; primary\n  \
             2024010101 ; serial\n  7200 900\n  1209600\n  300 )\n\n  IN NS a.nic\n  IN NS \
             b.nic.demo.\n",
            &[
                ZoneRecord::Soa(Soa {
                    mname: n("a.nic.demo"),
                    rname: n("hostmaster.nic"),
                    serial: 2_024_010_101,
                    refresh: 7200,
                    retry: 900,
                    expire: 1_209_600,
                    minimum: 300,
                }),
                ZoneRecord::ApexNs(n("a.nic.demo")),
                ZoneRecord::ApexNs(n("b.nic.demo")),
            ],
            0,
        ),
        // A relative $ORIGIN below the TLD; DS digest in lower case, split, in parentheses.
        (
            "$ORIGIN shop.demo.\n@ NS ns1\n  DS 12345 13 2 ( 2bb183af5f22588179a5\n \
             3b0a98631fad1a292118 )\nns1 A 192.0.2.1\nns1 AAAA 2001:DB8::1\n",
            &[
                delegation("shop.demo", "ns1.shop.demo"),
                ds("shop.demo", 12345, DIGEST),
                glue("ns1.shop.demo", "192.0.2.1"),
                glue("ns1.shop.demo", "2001:db8::1"),
            ],
            0,
        ),
        // A DNSSEC-signed zone: DNSKEY, RRSIG, NSEC, NSEC3PARAM, TXT are skipped and counted.
        (
            "@ SOA a.nic.demo. hostmaster.nic.demo. 1 7200 900 1209600 300\n\
             @ DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n\
             @ RRSIG SOA 13 1 300 20250101000000 20240101000000 12345 demo. \
             TJxB5LcAWtq6vnS+EV8nQ6IQ8jRDSYo0HCaYo1xxl1c5oyl+yJWXAUBsCiQbHzKnUrX53dp4F5Sz0V9cESqDUQ==\n\
             @ NSEC shop.demo. NS SOA RRSIG NSEC DNSKEY\n\
             @ NSEC3PARAM 1 0 0 -\n\
             @ TXT \"hello; (not a comment)\" \"two\"\n\
             @ NS a.nic.demo.\n",
            &[soa(1), ZoneRecord::ApexNs(n("a.nic.demo"))],
            5,
        ),
        // Parentheses and semicolons inside quotes do not open groups or comments.
        (
            "shop TXT ( \"one ) ;\" ; a comment (\n \"two (\" )\nshop NS ns.example.net.\n",
            &[delegation("shop.demo", "ns.example.net")],
            1,
        ),
        // A/AAAA/DS at the apex are not glue or delegations: skipped.
        ("@ A 192.0.2.1\n@ AAAA ::1\n@ DS 1 13 2 00\n", &[], 3),
        // Windows line endings, no final newline, tabs.
        (
            "shop\tIN\tNS\tns.example.net.\r\nbar IN NS ns.example.net.",
            &[
                delegation("shop.demo", "ns.example.net"),
                delegation("bar.demo", "ns.example.net"),
            ],
            0,
        ),
        // A-labels stay A-labels, lower-cased.
        (
            "XN--BCHER-KVA NS ns.example.net.\n",
            &[delegation("xn--bcher-kva.demo", "ns.example.net")],
            0,
        ),
        // Nothing but comments and blanks.
        ("; nothing\n\n   \n\t; still nothing\n", &[], 0),
        // Glue deeper than the delegation point is fine.
        (
            "a.ns.shop A 198.51.100.7\n",
            &[glue("a.ns.shop.demo", "198.51.100.7")],
            0,
        ),
    ];
    for (text, expected, skipped) in cases {
        check(text, expected, *skipped);
    }
}

/// The first error of `text` with its line, and whether the parser went on afterwards.
fn first_error(text: &str) -> (String, bool) {
    let mut parser = parse(&demo(), text.as_bytes());
    let error = parser
        .by_ref()
        .find_map(Result::err)
        .unwrap_or_else(|| panic!("no error in:\n{text}"));
    let fatal = error.kind.is_fatal();
    let went_on = parser.next().is_some();
    assert!(
        !(fatal && went_on),
        "fatal error but the parser went on: {error}"
    );
    (error.to_string(), went_on)
}

#[test]
fn errors_name_the_line_where_the_record_starts() {
    let cases: &[(&str, &str)] = &[
        (
            "shop NS ns.example.net.\n\n\n\n\n\n\n\n\n\n\na.b.example.org. NS ns.example.net.\n",
            "line 12: owner 'a.b.example.org' is outside the zone 'demo'",
        ),
        (
            "; comment\n\nxn-- NS ns.example.net.\n",
            "line 3: 'xn--.demo' is not a valid name: label 'xn--' starts with 'xn--' but is \
             not valid Punycode",
        ),
        (
            "shop NS ns.example.net.\nwww.shop NS ns.example.net.\n",
            "line 2: NS record at 'www.shop.demo' is more than one label below the zone 'demo'; \
             a TLD zone delegates only second-level names",
        ),
        (
            "www.shop DS 1 13 2 00\n",
            "line 1: DS record at 'www.shop.demo' is more than one label below the zone 'demo'; \
             a TLD zone delegates only second-level names",
        ),
        (
            "\nshop SOA a.nic.demo. h.nic.demo. 1 2 3 4 5\n",
            "line 2: SOA record at 'shop.demo' is not at the apex of the zone 'demo'",
        ),
        (
            "shop NS -bad-.example.net.\n",
            "line 1: '-bad-.example.net' is not a valid name: label '-bad-' starts with a hyphen",
        ),
        (
            "$INCLUDE other.zone\n",
            "line 1: $INCLUDE 'other.zone' is not supported; import a single file",
        ),
        (
            "shop NS ns.example.net.\nshop CH NS ns.example.net.\n",
            "line 2: cannot parse 'shop CH NS ns.example.net.': different class",
        ),
        // The record starts on line 2 although the scanner trips on line 4.
        (
            "shop NS ns.example.net.\n@ SOA a.nic.demo. h.nic.demo. (\n 1 2 3\n 4 five )\n",
            "line 2: cannot parse '@ SOA a.nic.demo. h.nic.demo. (': ",
        ),
        (
            "shop NS ns.example.net.\nshop BOGUS x\n",
            "line 2: cannot parse 'shop BOGUS x': expected rtype",
        ),
        (
            "shop A 192.0.2.300\n",
            "line 1: cannot parse 'shop A 192.0.2.300': ",
        ),
        (
            "shop NS ns.example.net. )\n",
            "line 1: cannot parse 'shop NS ns.example.net. )': unbalanced parens",
        ),
        (
            "ok NS ns.example.net.\nshop NS ( ns.example.net.\n\nbar NS ns.example.net.\n",
            "line 2: a parenthesis or quote opened in 'shop NS ( ns.example.net.' is never closed",
        ),
        (
            "shop NS ns.example.net.\nbar TXT \"open\n",
            "line 2: a parenthesis or quote opened in 'bar TXT \"open' is never closed",
        ),
    ];
    for (text, expected) in cases {
        let (error, _) = first_error(text);
        assert!(
            error.starts_with(expected),
            "got:      {error}\nexpected: {expected}…\nin:\n{text}"
        );
    }
}

#[test]
fn the_parser_goes_on_after_a_bad_record_and_stops_after_a_syntax_error() {
    let text = "a.b.example.org. NS ns.example.net.\nshop NS ns.example.net.\nx!y NS ns.\n\
                bar NS ns.example.net.\nbar BOGUS\nafter NS ns.example.net.\n";
    let outcomes: Vec<String> = parse(&demo(), text.as_bytes())
        .map(|outcome| match outcome {
            Ok(record) => format!("{record:?}"),
            Err(error) => error.to_string(),
        })
        .collect();
    assert_eq!(outcomes.len(), 5, "{outcomes:#?}");
    assert!(outcomes[0].starts_with("line 1: owner"), "{outcomes:#?}");
    assert!(outcomes[1].starts_with("Delegation"), "{outcomes:#?}");
    assert!(
        outcomes[2].starts_with("line 3: 'x!y.demo' is not a valid name"),
        "{outcomes:#?}"
    );
    assert!(outcomes[3].starts_with("Delegation"), "{outcomes:#?}");
    assert!(
        outcomes[4].starts_with("line 5: cannot parse 'bar BOGUS'"),
        "{outcomes:#?}"
    );
}

/// Groups parsed records the way the store holds them, in first-seen order.
struct Grouped {
    soa: Soa,
    apex_ns: Vec<DomainName>,
    delegations: Vec<Delegation>,
    glue: Vec<Glue>,
}

fn group(records: &[ZoneRecord]) -> Grouped {
    let mut soa = None;
    let mut apex_ns = Vec::new();
    let mut delegations: Vec<Delegation> = Vec::new();
    let mut delegation_index = BTreeMap::new();
    let mut glue: Vec<Glue> = Vec::new();
    let mut glue_index = BTreeMap::new();
    for record in records {
        match record {
            ZoneRecord::Soa(record) => soa = Some(record.clone()),
            ZoneRecord::ApexNs(host) => apex_ns.push(host.clone()),
            ZoneRecord::Delegation { name, .. } | ZoneRecord::Ds { name, .. } => {
                let index = *delegation_index.entry(name.clone()).or_insert_with(|| {
                    delegations.push(Delegation {
                        name: name.clone(),
                        nameservers: Vec::new(),
                        ds: Vec::new(),
                    });
                    delegations.len() - 1
                });
                match record {
                    ZoneRecord::Delegation { host, .. } => {
                        delegations[index].nameservers.push(host.clone());
                    }
                    ZoneRecord::Ds { ds, .. } => delegations[index].ds.push(ds.clone()),
                    _ => unreachable!(),
                }
            }
            ZoneRecord::Glue { host, address } => {
                let index = *glue_index.entry(host.clone()).or_insert_with(|| {
                    glue.push(Glue {
                        host: host.clone(),
                        addresses: Vec::new(),
                    });
                    glue.len() - 1
                });
                glue[index].addresses.push(*address);
            }
        }
    }
    Grouped {
        soa: soa.expect("an SOA"),
        apex_ns,
        delegations,
        glue,
    }
}

fn write(grouped: Grouped) -> String {
    let mut out = Vec::new();
    write_zone(
        &mut out,
        &demo(),
        &grouped.soa,
        &grouped.apex_ns,
        grouped.delegations,
        grouped.glue,
        3600,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

fn sorted(records: &[ZoneRecord]) -> Vec<String> {
    let mut shown: Vec<String> = records.iter().map(|record| format!("{record:?}")).collect();
    shown.sort();
    shown
}

const SIGNED_ZONE: &str = "\
$ORIGIN demo.
$TTL 86400
@ IN SOA a.nic hostmaster.nic ( 2024010101 7200 900 1209600 300 )
@ IN NS a.nic
@ IN NS b.nic.demo.
@ IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
a.nic IN A 192.0.2.53
b.nic IN AAAA 2001:db8::53
shop IN NS ns1.shop
shop IN NS ns.example.net.
shop IN DS 12345 13 2 2bb183af5f22588179a53b0a98631fad1a292118 2bb183af5f22588179a53b0a
shop IN DS 54321 8 1 0123456789ABCDEF0123456789ABCDEF01234567
ns1.shop IN A 198.51.100.1
ns1.shop IN AAAA 2001:db8:1::1
xn--bcher-kva IN NS ns.example.net.
bar IN NS ns1.bar
ns1.bar IN A 198.51.100.2
";

#[test]
fn parse_write_parse_gives_the_same_records() {
    let (first, _) = records(SIGNED_ZONE);
    assert_eq!(first.len(), 14);
    let written = write(group(&first));
    let (second, skipped) = records(&written);
    assert_eq!(skipped, 0, "{written}");
    assert_eq!(sorted(&first), sorted(&second), "{written}");
    assert!(
        written.starts_with("$ORIGIN demo.\n$TTL 3600\n"),
        "{written}"
    );
    assert!(written.contains("\nshop.demo. IN DS 12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A2921182BB183AF5F22588179A53B0A\n"));
    assert!(written.contains("\nns1.shop.demo. IN A 198.51.100.1\n"));
}

#[test]
fn a_delegation_without_name_servers_is_left_out() {
    let written = write(Grouped {
        soa: match soa(7) {
            ZoneRecord::Soa(soa) => soa,
            _ => unreachable!(),
        },
        apex_ns: vec![n("a.nic.demo")],
        delegations: vec![Delegation {
            name: n("held.demo"),
            nameservers: Vec::new(),
            ds: vec![DsRecord {
                key_tag: 1,
                algorithm: 13,
                digest_type: 2,
                digest: "00".to_owned(),
            }],
        }],
        glue: Vec::new(),
    });
    assert_eq!(
        written,
        "$ORIGIN demo.\n$TTL 3600\ndemo. IN SOA a.nic.demo. hostmaster.nic.demo. 7 7200 900 \
         1209600 300\ndemo. IN NS a.nic.demo.\n"
    );
}

/// Runs BIND's `named-checkzone` on `text` as the zone `demo`; panics with its output on failure.
fn named_checkzone(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.zone");
    std::fs::write(&path, text).unwrap();
    let output = Command::new("named-checkzone")
        .args(["-i", "full", "-k", "fail", "-n", "fail"])
        .arg("demo")
        .arg(&path)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run named-checkzone ({error}): install the Debian package bind9-utils \
                 (apt-get install -y bind9-utils)"
            )
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "named-checkzone refused the zone:\n{report}\n{text}"
    );
    assert!(report.contains("OK"), "{report}");
}

#[test]
fn written_zones_pass_named_checkzone() {
    let (records, _) = records(SIGNED_ZONE);
    named_checkzone(&write(group(&records)));
    let (records, _) = records_of_generated(200);
    named_checkzone(&write(group(&records)));
}

/// A generated zone of `count` delegations: two NS each, a DS for every third, glue (A and AAAA)
/// for every fifth.
fn generated(count: u32) -> String {
    let mut text = String::from(
        "$ORIGIN demo.\n$TTL 3600\n@ SOA a.nic hostmaster.nic 1 7200 900 1209600 300\n\
         @ NS a.nic\n@ NS b.nic\na.nic A 192.0.2.1\nb.nic A 192.0.2.2\n",
    );
    for index in 0..count {
        if index % 5 == 0 {
            text += &format!("name{index} NS ns1.name{index}\n NS ns.example.net.\n");
        } else {
            text += &format!("name{index} NS ns1.example.net.\n NS ns2.example.net.\n");
        }
        if index % 3 == 0 {
            let digest = u128::from(index) * 7919;
            text += &format!(" DS {} 13 2 {digest:032x}{digest:032X}\n", index % 65536);
        }
        if index % 5 == 0 {
            text += &format!(
                "ns1.name{index} A 10.{}.{}.{}\n AAAA 2001:db8::{:x}\n",
                index >> 16 & 0xff,
                index >> 8 & 0xff,
                index & 0xff,
                index
            );
        }
    }
    text
}

fn records_of_generated(count: u32) -> (Vec<ZoneRecord>, u64) {
    records(&generated(count))
}

#[test]
fn a_generated_zone_of_10000_delegations_parses_with_the_expected_counts() {
    let count = 10_000;
    let (records, skipped) = records_of_generated(count);
    let mut counts = BTreeMap::new();
    for record in &records {
        let kind = match record {
            ZoneRecord::Soa(_) => "soa",
            ZoneRecord::ApexNs(_) => "apex ns",
            ZoneRecord::Delegation { .. } => "ns",
            ZoneRecord::Ds { .. } => "ds",
            ZoneRecord::Glue { .. } => "glue",
        };
        *counts.entry(kind).or_insert(0u32) += 1;
    }
    let expected = BTreeMap::from([
        ("soa", 1),
        ("apex ns", 2),
        ("ns", 2 * count),
        ("ds", count.div_ceil(3)),
        // Two per fifth delegation, plus the two apex name servers' addresses.
        ("glue", 2 * count.div_ceil(5) + 2),
    ]);
    assert_eq!(counts, expected);
    assert_eq!(skipped, 0);
    let first_glue = records
        .iter()
        .find(|record| matches!(record, ZoneRecord::Glue { host, .. } if host.as_str() == "ns1.name5.demo"))
        .unwrap();
    assert_eq!(
        first_glue,
        &ZoneRecord::Glue {
            host: n("ns1.name5.demo"),
            address: IpAddr::from([10, 0, 0, 5]),
        }
    );
}
