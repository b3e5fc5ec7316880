//! Conversions between the model's types and hickory's wire types: names, DS records, response
//! codes by their IANA mnemonics, and the hexadecimal and base64 text that carries binary fields.

use hickory_proto::ProtoError;
use hickory_proto::dnssec::rdata::DS;
use hickory_proto::dnssec::{Algorithm, DigestType};
use hickory_proto::rr::Name;
use holdfast_model::{DomainName, DsRecord};

/// The absolute wire name of `name`.
pub(crate) fn to_name(name: &DomainName) -> Result<Name, ProtoError> {
    let mut wire = Name::from_ascii(name.as_str())?;
    wire.set_fqdn(true);
    Ok(wire)
}

/// `name` as a model name, or `None` when it is not one (the root, an underscore label, a label
/// with characters a host name cannot have).
pub(crate) fn from_name(name: &Name) -> Option<DomainName> {
    if name.is_root() {
        return None;
    }
    DomainName::parse(&name.to_ascii()).ok()
}

/// The DS RDATA of `ds`, or `None` when its digest is not hexadecimal.
pub(crate) fn to_ds(ds: &DsRecord) -> Option<DS> {
    Some(DS::new(
        ds.key_tag,
        Algorithm::from_u8(ds.algorithm),
        DigestType::from(ds.digest_type),
        hex_decode(&ds.digest)?,
    ))
}

/// The model's form of a DS RDATA: the digest in upper-case hexadecimal.
pub(crate) fn from_ds(ds: &DS) -> DsRecord {
    DsRecord {
        key_tag: ds.key_tag(),
        algorithm: u8::from(ds.algorithm()),
        digest_type: u8::from(ds.digest_type()),
        digest: hex_encode_upper(ds.digest()),
    }
}

/// The IANA mnemonic of a response code (RFC 6895 §2.3, the TSIG codes of RFC 8945), such as
/// `NOTAUTH` or `BADSIG`; `RCODE42` for one without a name.
pub(crate) fn rcode_name(code: u16) -> String {
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return format!("RCODE{code}"),
    };
    name.to_owned()
}

/// Bytes from hexadecimal text (either case); `None` for an odd length or another character.
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks_exact(2)
        .map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

pub(crate) fn hex_encode_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Bytes from base64 text (RFC 4648 §4, the standard alphabet), as key files and configuration
/// carry TSIG secrets. Whitespace is ignored and the `=` padding is optional; any other character,
/// padding before the end, or a length no encoder produces is refused with `None`.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut symbols: Vec<u8> = text
        .bytes()
        .filter(|byte| !byte.is_ascii_whitespace())
        .collect();
    while symbols.last() == Some(&b'=') {
        symbols.pop();
    }
    // A final group of one symbol carries 6 bits: no encoder writes that.
    if symbols.len() % 4 == 1 {
        return None;
    }
    let mut bytes = Vec::with_capacity(symbols.len() * 3 / 4);
    for group in symbols.chunks(4) {
        let mut bits: u32 = 0;
        for (index, symbol) in group.iter().enumerate() {
            bits |= u32::from(base64_value(*symbol)?) << (18 - 6 * index);
        }
        let [_, first, second, third] = bits.to_be_bytes();
        bytes.push(first);
        if group.len() > 2 {
            bytes.push(second);
        }
        if group.len() > 3 {
            bytes.push(third);
        }
    }
    Some(bytes)
}

/// Base64 text (RFC 4648 §4, with padding) of `bytes`.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let mut bits: u32 = 0;
        for (index, byte) in group.iter().enumerate() {
            bits |= u32::from(*byte) << (16 - 8 * index);
        }
        for index in 0..4 {
            if index <= group.len() {
                let symbol = (bits >> (18 - 6 * index)) & 0x3f;
                text.push(char::from(ALPHABET[symbol as usize]));
            } else {
                text.push('=');
            }
        }
    }
    text
}

fn base64_value(symbol: u8) -> Option<u8> {
    match symbol {
        b'A'..=b'Z' => Some(symbol - b'A'),
        b'a'..=b'z' => Some(symbol - b'a' + 26),
        b'0'..=b'9' => Some(symbol - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_rfc4648_vectors() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(b"")),
            ("Zg==", Some(b"f")),
            ("Zm8=", Some(b"fo")),
            ("Zm9v", Some(b"foo")),
            ("Zm9vYg==", Some(b"foob")),
            ("Zm9vYmE=", Some(b"fooba")),
            ("Zm9vYmFy", Some(b"foobar")),
            ("Zm9vYmFy\n", Some(b"foobar")),
            ("Zm9v Yg", Some(b"foob")),
            ("+/+/", Some(&[0xfb, 0xff, 0xbf])),
            ("Zm9vY", None),
            ("Zm=9v", None),
            ("Zm9v-_", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                base64_decode(text).as_deref(),
                *expected,
                "decoding {text:?}"
            );
        }
    }

    #[test]
    fn base64_encodes_rfc4648_vectors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (bytes, text) in cases {
            assert_eq!(base64_encode(bytes), *text);
            assert_eq!(base64_decode(text).as_deref(), Some(*bytes));
        }
    }

    #[test]
    fn hex_round_trips_and_refuses_bad_digits() {
        assert_eq!(
            hex_decode("00ff7A").as_deref(),
            Some(&[0x00, 0xff, 0x7a][..])
        );
        assert_eq!(hex_encode_upper(&[0x00, 0xff, 0x7a]), "00FF7A");
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_decode("zz"), None);
    }

    #[test]
    fn rcodes_have_their_mnemonics() {
        assert_eq!(rcode_name(9), "NOTAUTH");
        assert_eq!(rcode_name(16), "BADSIG");
        assert_eq!(rcode_name(42), "RCODE42");
    }
}
