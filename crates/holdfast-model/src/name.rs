//! `DomainName`: a pasted domain name checked once and kept in canonical lowercase A-label form,
//! and `NameError`, which says why a name was refused.
//!
//! Processing is UTS #46 non-transitional (the `idna` crate) with UseSTD3ASCIIRules, CheckHyphens,
//! CheckBidi, CheckJoiners and the DNS length limits, plus two registry rules of our own: the input
//! may be at most [`DomainName::MAX_INPUT_OCTETS`] bytes and the last label must not be all digits.
//! The `idna` crate only says *that* a name is invalid; `diagnose` works out *why*, label by label.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::iter;
use std::str::FromStr;

use idna::uts46::{AsciiDenyList, ErrorPolicy, Hyphens, ProcessingSuccess, Uts46};
use idna_adapter::{
    Adapter, FIRST_BC_MASK, LAST_LTR_MASK, LAST_RTL_MASK, LEFT_OR_DUAL_JOINING_MASK,
    MIDDLE_LTR_MASK, MIDDLE_RTL_MASK, RIGHT_OR_DUAL_JOINING_MASK, RTL_MASK,
};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The UTS #46 processor; its data is compiled in, so it is free to build.
static UTS46: Uts46 = Uts46::new();

const ZERO_WIDTH_NON_JOINER: char = '\u{200C}';
const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// A fully-qualified domain name in canonical form: lowercase A-labels (`xn--…` for
/// internationalised labels), no trailing dot.
///
/// Built only by [`DomainName::parse`] (or `FromStr`, or deserialisation, which both call it).
/// Accepts what people paste: U-labels, A-labels, mixed case, a trailing dot, and the ideographic
/// and full-width dots U+3002, U+FF0E and U+FF61. A single label (a TLD) is a `DomainName` too;
/// callers that need a certain depth check [`DomainName::label_count`].
///
/// The U-label form for display is computed at parse time and stored, only when it differs from
/// the A-label form (the name has an `xn--` label): an all-ASCII name costs one allocation.
///
/// Equality, hashing and ordering use the A-label form. The order is plain byte order of that
/// string, not the DNSSEC canonical order (which compares labels from the right).
#[derive(Clone)]
pub struct DomainName {
    /// Lowercase A-label form, without the trailing dot.
    ascii: Box<str>,
    /// U-label form, when it differs from `ascii`.
    unicode: Option<Box<str>>,
}

/// Why a string is not a domain name. Messages are written for an abuse analyst who pasted it.
///
/// `label` fields hold the label as written in the input for code point and Punycode problems,
/// the label's Unicode form (after case folding and mapping, decoded if it was an A-label) for the
/// other UTS #46 validity rules, and the A-label for length problems.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left once a trailing dot (and any characters UTS #46 ignores) are removed.
    #[error("the name is empty")]
    Empty,
    /// The input is longer than [`DomainName::MAX_INPUT_OCTETS`]; it was not processed.
    #[error(
        "the input is {octets} bytes long, more than the {} bytes any real domain name needs; \
         it was not processed",
        DomainName::MAX_INPUT_OCTETS
    )]
    InputTooLong {
        /// Length of the input in bytes.
        octets: usize,
    },
    /// A label is empty: two dots in a row, or a dot at the start.
    #[error("label {position} is empty (two dots in a row, or a dot at the start)")]
    EmptyLabel {
        /// 1-based position of the empty label, counted from the left.
        position: usize,
    },
    /// A label is longer than 63 octets in A-label form (RFC 1035 section 2.3.4).
    #[error(
        "label '{}' is {octets} octets long in A-label form; the limit is {}",
        .label.escape_debug(),
        DomainName::MAX_LABEL_OCTETS
    )]
    LabelTooLong {
        /// The label in A-label form.
        label: String,
        /// Its length in octets.
        octets: usize,
    },
    /// The name is longer than 253 octets in A-label form, not counting the trailing dot.
    #[error(
        "the name is {octets} octets long in A-label form (without the trailing dot); \
         the limit is {}",
        DomainName::MAX_OCTETS
    )]
    NameTooLong {
        /// Length of the A-label form in octets.
        octets: usize,
    },
    /// The last label is all digits. Registry rule: a top-level domain is never numeric
    /// (RFC 3696 section 2), and such input is usually an IPv4 address.
    #[error(
        "the last label '{}' is all digits: a top-level domain is never numeric \
         (RFC 3696 section 2), so this looks like an IP address, not a domain name",
        .label.escape_debug()
    )]
    NumericTld {
        /// The last label.
        label: String,
    },
    /// A label starts with a hyphen (UTS #46 CheckHyphens; RFC 5891 section 4.2.3.1).
    #[error("label '{}' starts with a hyphen", .label.escape_debug())]
    LeadingHyphen {
        /// The label, in Unicode form.
        label: String,
    },
    /// A label ends with a hyphen (UTS #46 CheckHyphens; RFC 5891 section 4.2.3.1).
    #[error("label '{}' ends with a hyphen", .label.escape_debug())]
    TrailingHyphen {
        /// The label, in Unicode form.
        label: String,
    },
    /// A label that is not an A-label has `--` in positions 3 and 4, which RFC 5891 section
    /// 4.2.3.1 reserves for encoded labels (UTS #46 CheckHyphens).
    #[error(
        "label '{}' has '--' in positions 3 and 4, reserved for encoded labels",
        .label.escape_debug()
    )]
    HyphensAtPosition3And4 {
        /// The label, in Unicode form.
        label: String,
    },
    /// A character that may not appear in a domain name: disallowed by the UTS #46 mapping
    /// table, or outside letters, digits and hyphen after mapping (STD3 rules), or not in
    /// canonical form inside an A-label.
    #[error(
        "label '{}' contains {}, which is not allowed in domain names",
        .label.escape_debug(),
        CodePoint(*.code_point)
    )]
    DisallowedCodePoint {
        /// The label as written.
        label: String,
        /// The offending character.
        code_point: char,
    },
    /// A label starts with a combining mark (UTS #46 validity criterion 6; RFC 5891 section
    /// 4.2.3.2).
    #[error(
        "label '{}' starts with the combining mark {}, which must follow a letter",
        .label.escape_debug(),
        CodePoint(*.code_point)
    )]
    LeadingCombiningMark {
        /// The label, in Unicode form.
        label: String,
        /// The mark.
        code_point: char,
    },
    /// A zero width joiner or non-joiner where the CONTEXTJ rules of RFC 5892 appendix A.1 and
    /// A.2 do not allow it (UTS #46 CheckJoiners).
    #[error(
        "label '{}' contains {} where the joining rules of RFC 5892 appendix A do not allow it",
        .label.escape_debug(),
        CodePoint(*.code_point)
    )]
    Joiner {
        /// The label, in Unicode form.
        label: String,
        /// U+200C or U+200D.
        code_point: char,
    },
    /// The name contains right-to-left characters and a label breaks a rule of RFC 5893
    /// section 2 (UTS #46 CheckBidi).
    #[error(
        "label '{}' breaks the right-to-left rules of RFC 5893, {rule}",
        .label.escape_debug()
    )]
    Bidi {
        /// The label, in Unicode form.
        label: String,
        /// The rule it breaks.
        rule: BidiRule,
    },
    /// A label starts with `xn--` but is not valid Punycode, or decodes to nothing or to plain
    /// ASCII.
    #[error("label '{}' starts with 'xn--' but is not valid Punycode", .label.escape_debug())]
    Punycode {
        /// The label as written.
        label: String,
    },
    /// An A-label whose decoded form is not in Unicode normalization form C (UTS #46 validity
    /// criterion 1).
    #[error(
        "label '{}' is an A-label whose Unicode form is not in normalization form C",
        .label.escape_debug()
    )]
    NotNormalized {
        /// The label as written.
        label: String,
    },
    /// UTS #46 processing refused the name for a reason none of the other variants describe.
    #[error(
        "'{}' is not a valid internationalised domain name (refused by UTS #46 processing)",
        .input.escape_debug()
    )]
    Idna {
        /// The whole input.
        input: String,
    },
}

/// A rule of RFC 5893 section 2. The rules apply to every label of a name that contains a
/// right-to-left character (bidi class R, AL or AN) anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BidiRule {
    /// Rule 1: the first character must have bidi class L, R or AL.
    FirstCharacter,
    /// Rule 2: a right-to-left label may contain only characters of bidi class R, AL, AN, EN,
    /// ES, CS, ET, ON, BN and NSM.
    RtlCharacters,
    /// Rule 3: a right-to-left label must end with R, AL, EN or AN, followed only by NSM.
    RtlEnd,
    /// Rule 4: a right-to-left label must not contain both EN and AN digits.
    RtlMixedDigits,
    /// Rule 5: a left-to-right label may contain only characters of bidi class L, EN, ES, CS,
    /// ET, ON, BN and NSM.
    LtrCharacters,
    /// Rule 6: a left-to-right label must end with L or EN, followed only by NSM.
    LtrEnd,
}

impl BidiRule {
    /// The rule's number in RFC 5893 section 2.
    pub const fn number(self) -> u8 {
        match self {
            BidiRule::FirstCharacter => 1,
            BidiRule::RtlCharacters => 2,
            BidiRule::RtlEnd => 3,
            BidiRule::RtlMixedDigits => 4,
            BidiRule::LtrCharacters => 5,
            BidiRule::LtrEnd => 6,
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            BidiRule::FirstCharacter => "a label must start with a letter, not a digit or a mark",
            BidiRule::RtlCharacters => {
                "a right-to-left label may contain only right-to-left letters, digits and \
                 neutral punctuation"
            }
            BidiRule::RtlEnd => {
                "a right-to-left label must end with a right-to-left letter or a digit"
            }
            BidiRule::RtlMixedDigits => {
                "a right-to-left label must not mix European and Arabic-Indic digits"
            }
            BidiRule::LtrCharacters => {
                "in a name with right-to-left labels, a left-to-right label may not contain \
                 right-to-left characters"
            }
            BidiRule::LtrEnd => {
                "in a name with right-to-left labels, a left-to-right label must end with a \
                 letter or a European digit"
            }
        }
    }
}

impl fmt::Display for BidiRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {}", self.number(), self.explanation())
    }
}

/// Shows a character as `U+00E4 'ä'`, leaving out the glyph when it is invisible or would
/// confuse (controls, spaces, format characters, marks).
struct CodePoint(char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        write!(f, "U+{:04X}", u32::from(c))?;
        match c {
            ZERO_WIDTH_NON_JOINER => f.write_str(" (ZERO WIDTH NON-JOINER)"),
            ZERO_WIDTH_JOINER => f.write_str(" (ZERO WIDTH JOINER)"),
            _ => {
                let mut escaped = c.escape_debug();
                let printable = escaped.next() == Some(c) && escaped.next().is_none();
                if printable && !c.is_whitespace() {
                    write!(f, " '{c}'")?;
                }
                Ok(())
            }
        }
    }
}

impl DomainName {
    /// Longest name in octets, A-label form, without the trailing dot (RFC 1035 section 2.3.4
    /// allows 255 octets on the wire, which is 253 in text).
    pub const MAX_OCTETS: usize = 253;
    /// Longest label in octets, A-label form (RFC 1035 section 2.3.4).
    pub const MAX_LABEL_OCTETS: usize = 63;
    /// Longest input [`DomainName::parse`] processes, in bytes. A name of 253 octets can take
    /// about 1,015 bytes to write (four-byte characters that map to one letter each, and
    /// three-byte ideographic dots); anything longer is refused unread.
    pub const MAX_INPUT_OCTETS: usize = 1024;

    /// Parses a name as pasted and returns its canonical form, or the reason it is refused.
    ///
    /// Plain ASCII letters, digits, hyphens and dots take a fast path that allocates only the
    /// result; everything else goes through full UTS #46 processing. Both give the same answer.
    pub fn parse(input: &str) -> Result<DomainName, NameError> {
        match parse_ldh(input) {
            Some(name) => Ok(name),
            None => parse_uts46(input),
        }
    }

    /// The canonical A-label form, without the trailing dot.
    pub fn as_str(&self) -> &str {
        &self.ascii
    }

    /// The canonical A-label form, without the trailing dot, taken out without a copy.
    pub fn into_string(self) -> String {
        self.ascii.into_string()
    }

    /// The U-label form for display (the same as [`DomainName::as_str`] when no label is an
    /// A-label). Use the A-label form for storage, comparison and DNS.
    pub fn unicode(&self) -> &str {
        self.unicode.as_deref().unwrap_or(&self.ascii)
    }

    /// Whether any label is an internationalised (`xn--`) label.
    pub fn is_idn(&self) -> bool {
        self.unicode.is_some()
    }

    /// The labels in A-label form, from the left (`www`, `example`, `com`). Reversible.
    pub fn labels(&self) -> std::str::Split<'_, char> {
        self.ascii.split('.')
    }

    /// The number of labels (1 for a TLD).
    pub fn label_count(&self) -> usize {
        self.ascii.bytes().filter(|&b| b == b'.').count() + 1
    }

    /// The last label, in A-label form.
    pub fn tld(&self) -> &str {
        last_labels(&self.ascii, 1)
    }

    /// The name without its first label, or `None` for a TLD.
    pub fn parent(&self) -> Option<DomainName> {
        let count = self.label_count();
        (count > 1).then(|| self.suffix(count - 1))
    }

    /// Whether `self` is strictly below `ancestor` (`a.b.example` is a subdomain of `example`;
    /// a name is not a subdomain of itself).
    pub fn is_subdomain_of(&self, ancestor: &DomainName) -> bool {
        self.ascii.len() > ancestor.ascii.len()
            && self
                .ascii
                .strip_suffix(&*ancestor.ascii)
                .is_some_and(|head| head.ends_with('.'))
    }

    /// Whether `self` is directly one label below `zone`, as a registration is below the TLD
    /// (or below a registry's second-level zone such as `co.uk`): `shop.example` is registrable
    /// under `example`, `www.shop.example` is not.
    pub fn registrable_under(&self, zone: &DomainName) -> bool {
        self.ascii
            .split_once('.')
            .is_some_and(|(_, rest)| rest == &*zone.ascii)
    }

    /// The name registered under `zone` that `self` is at or below: `shop.example` for
    /// `login.shop.example` under `example`. `None` when `self` is not below `zone`.
    pub fn registrable_name(&self, zone: &DomainName) -> Option<DomainName> {
        self.is_subdomain_of(zone)
            .then(|| self.suffix(zone.label_count() + 1))
    }

    /// The last `count` labels (1 ≤ `count` ≤ `label_count()`) as a name of their own.
    fn suffix(&self, count: usize) -> DomainName {
        let ascii = last_labels(&self.ascii, count);
        let unicode = self
            .unicode
            .as_deref()
            .map(|unicode| last_labels(unicode, count))
            .filter(|unicode| *unicode != ascii)
            .map(Box::from);
        DomainName {
            ascii: Box::from(ascii),
            unicode,
        }
    }
}

/// The last `count` dot-separated labels of `name` (all of it when it has fewer).
fn last_labels(name: &str, count: usize) -> &str {
    // Bytes, not chars: a dot is one byte in UTF-8, and a byte search is several times faster
    // than `rfind` on names this short (it runs for every name of a list, more than once).
    let bytes = name.as_bytes();
    let mut start = name.len();
    for _ in 0..count {
        match bytes[..start].iter().rposition(|&b| b == b'.') {
            Some(dot) => start = dot,
            None => return name,
        }
    }
    &name[start + 1..]
}

/// The fast path: ASCII letters (either case), digits, hyphens and dots that need no UTS #46
/// mapping and pass every check. `None` sends the input to full processing, which also
/// produces the error for refused input.
fn parse_ldh(input: &str) -> Option<DomainName> {
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() || name.len() > DomainName::MAX_OCTETS {
        return None;
    }
    if !name
        .as_bytes()
        .split(|&b| b == b'.')
        .all(is_plain_ldh_label)
    {
        return None;
    }
    if is_numeric(last_labels(name, 1)) {
        return None;
    }
    let mut ascii = String::from(name);
    ascii.make_ascii_lowercase();
    Some(DomainName {
        ascii: ascii.into_boxed_str(),
        unicode: None,
    })
}

/// A label UTS #46 passes through unchanged apart from case: 1 to 63 letters, digits and
/// hyphens, no hyphen at either end, and no `--` in positions 3 and 4 (which also sends every
/// `xn--` label to full processing).
fn is_plain_ldh_label(label: &[u8]) -> bool {
    match label {
        [] | [b'-', ..] | [.., b'-'] | [_, _, b'-', b'-', ..] => false,
        _ => {
            label.len() <= DomainName::MAX_LABEL_OCTETS
                && label
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        }
    }
}

fn is_numeric(label: &str) -> bool {
    label.bytes().all(|b| b.is_ascii_digit())
}

/// Full processing: UTS #46, then the length and TLD rules on the A-label form.
fn parse_uts46(input: &str) -> Result<DomainName, NameError> {
    if input.len() > DomainName::MAX_INPUT_OCTETS {
        return Err(NameError::InputTooLong {
            octets: input.len(),
        });
    }
    let Some(processed) = uts46(input) else {
        return Err(diagnose(input));
    };
    let ascii = without_root(processed.ascii);
    check_lengths(&ascii)?;
    check_tld(&ascii)?;
    let unicode = processed
        .unicode
        .map(|unicode| without_root(Cow::Owned(unicode)));
    Ok(DomainName {
        ascii: ascii.into_owned().into_boxed_str(),
        unicode: unicode.map(|unicode| unicode.into_owned().into_boxed_str()),
    })
}

/// The result of UTS #46 processing, before the DNS length and registry rules.
#[derive(Debug)]
struct Processed<'a> {
    /// ToASCII output; keeps a trailing dot if the input had one.
    ascii: Cow<'a, str>,
    /// ToUnicode output when it differs from `ascii`.
    unicode: Option<String>,
}

/// UTS #46 non-transitional processing with UseSTD3ASCIIRules, CheckHyphens, CheckBidi and
/// CheckJoiners, computing ToASCII and ToUnicode in one pass. `None` if the input is invalid.
fn uts46(input: &str) -> Option<Processed<'_>> {
    let mut unicode = String::new();
    let mut ascii = String::new();
    let outcome = UTS46.process(
        input.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Check,
        ErrorPolicy::FailFast,
        |_, _, _| true,
        &mut unicode,
        Some(&mut ascii),
    );
    match outcome {
        Ok(ProcessingSuccess::Passthrough) => Some(Processed {
            ascii: Cow::Borrowed(input),
            unicode: None,
        }),
        // Nothing went to the ASCII sink: no label needed Punycode, so both forms are the same.
        Ok(ProcessingSuccess::WroteToSink) if ascii.is_empty() => Some(Processed {
            ascii: Cow::Owned(unicode),
            unicode: None,
        }),
        Ok(ProcessingSuccess::WroteToSink) => Some(Processed {
            ascii: Cow::Owned(ascii),
            unicode: Some(unicode),
        }),
        Err(_) => None,
    }
}

/// Removes one trailing dot (the root label).
fn without_root(name: Cow<'_, str>) -> Cow<'_, str> {
    match name {
        Cow::Borrowed(name) => Cow::Borrowed(name.strip_suffix('.').unwrap_or(name)),
        Cow::Owned(mut name) => {
            if name.ends_with('.') {
                name.pop();
            }
            Cow::Owned(name)
        }
    }
}

/// The DNS length rules (UTS #46 VerifyDnsLength) on an A-label name without the root dot.
fn check_lengths(ascii: &str) -> Result<(), NameError> {
    if ascii.is_empty() {
        return Err(NameError::Empty);
    }
    for (index, label) in ascii.split('.').enumerate() {
        if label.is_empty() {
            return Err(NameError::EmptyLabel {
                position: index + 1,
            });
        }
        if label.len() > DomainName::MAX_LABEL_OCTETS {
            return Err(NameError::LabelTooLong {
                label: label.to_owned(),
                octets: label.len(),
            });
        }
    }
    if ascii.len() > DomainName::MAX_OCTETS {
        return Err(NameError::NameTooLong {
            octets: ascii.len(),
        });
    }
    Ok(())
}

/// Registry rule: the last label is not all digits.
fn check_tld(ascii: &str) -> Result<(), NameError> {
    let tld = last_labels(ascii, 1);
    if is_numeric(tld) {
        return Err(NameError::NumericTld {
            label: tld.to_owned(),
        });
    }
    Ok(())
}

/// The characters UTS #46 treats as label separators: they all map to U+002E.
fn is_label_separator(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Explains why UTS #46 processing refused `input`. It repeats the checks of UTS #46 section 4
/// one label at a time, reporting the first problem found from the left, then the checks that
/// span labels (bidi) and the implementation limits of the `idna` crate.
fn diagnose(input: &str) -> NameError {
    let adapter = Adapter::new();
    let mut labels: Vec<String> = Vec::new();
    for written in input.split(is_label_separator) {
        let mapped: String = adapter.map_normalize(written.chars()).collect();
        if let Some(code_point) = disallowed_code_point(&adapter, written, &mapped) {
            return NameError::DisallowedCodePoint {
                label: written.to_owned(),
                code_point,
            };
        }
        for label in mapped.split('.').filter(|label| !label.is_empty()) {
            let unicode = if label.starts_with("xn--") {
                match decode_a_label(&adapter, written, label) {
                    Ok(unicode) => unicode,
                    Err(error) => return error,
                }
            } else {
                label.to_owned()
            };
            if let Some(error) = label_problem(&adapter, &unicode) {
                return error;
            }
            labels.push(unicode);
        }
    }
    if let Some(error) = bidi_problem(&adapter, &labels) {
        return error;
    }
    if let Some(error) = encoded_length_problem(&labels) {
        return error;
    }
    NameError::Idna {
        input: input.to_owned(),
    }
}

/// The character of `written` that the UTS #46 mapping step (with UseSTD3ASCIIRules) refuses,
/// given `mapped`, the label after mapping and normalization. A character is refused when it is
/// disallowed (it maps to U+FFFD) or maps to ASCII other than letters, digits, hyphen and dot.
///
/// Characters are judged one at a time, but a refused one counts only if what it maps to is
/// still in `mapped`: normalization composes `=`, `<` and `>` with a following U+0338 into the
/// valid `≠`, `≮` and `≯`.
fn disallowed_code_point(adapter: &Adapter, written: &str, mapped: &str) -> Option<char> {
    let refused = |c: char| c == '\u{FFFD}' || (c.is_ascii() && !is_ldh_or_dot(c));
    if !mapped.chars().any(refused) {
        return None;
    }
    written.chars().find(|&c| {
        let mut culprits = adapter.map_normalize(iter::once(c)).filter(|&m| refused(m));
        culprits.next().is_some_and(|m| mapped.contains(m))
    })
}

fn is_ldh_or_dot(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
}

/// Decodes an `xn--` label (already mapped to lowercase) and checks that its Unicode form is
/// one UTS #46 would itself produce. `written` is the label as written, for messages.
fn decode_a_label(adapter: &Adapter, written: &str, label: &str) -> Result<String, NameError> {
    let punycode = || NameError::Punycode {
        label: written.to_owned(),
    };
    let encoded = label.strip_prefix("xn--").ok_or_else(punycode)?;
    if !encoded.is_ascii() || encoded.ends_with('-') {
        return Err(punycode());
    }
    let decoded = idna::punycode::decode_to_string(encoded).ok_or_else(punycode)?;
    if decoded.is_ascii() {
        return Err(punycode());
    }
    for c in decoded.chars() {
        let canonical = if c.is_ascii() {
            c != '.' && is_ldh_or_dot(c)
        } else {
            let mut mapped = adapter.normalize_validate(iter::once(c));
            mapped.next() == Some(c) && mapped.next().is_none()
        };
        if !canonical {
            return Err(NameError::DisallowedCodePoint {
                label: written.to_owned(),
                code_point: c,
            });
        }
    }
    if !adapter
        .normalize_validate(decoded.chars())
        .eq(decoded.chars())
    {
        return Err(NameError::NotNormalized {
            label: written.to_owned(),
        });
    }
    Ok(decoded)
}

/// The UTS #46 validity criteria that concern one label on its own: hyphens (CheckHyphens), a
/// leading combining mark, and the joiner contexts (CheckJoiners).
fn label_problem(adapter: &Adapter, label: &str) -> Option<NameError> {
    let chars: Vec<char> = label.chars().collect();
    let owned = || label.to_owned();
    match chars.as_slice() {
        ['-', ..] => return Some(NameError::LeadingHyphen { label: owned() }),
        [.., '-'] => return Some(NameError::TrailingHyphen { label: owned() }),
        [_, _, '-', '-', ..] => return Some(NameError::HyphensAtPosition3And4 { label: owned() }),
        [first, ..] if adapter.is_mark(*first) => {
            return Some(NameError::LeadingCombiningMark {
                label: owned(),
                code_point: *first,
            });
        }
        _ => {}
    }
    for (index, &c) in chars.iter().enumerate() {
        if (c == ZERO_WIDTH_NON_JOINER || c == ZERO_WIDTH_JOINER)
            && !joiner_allowed(adapter, &chars, index)
        {
            return Some(NameError::Joiner {
                label: owned(),
                code_point: c,
            });
        }
    }
    None
}

/// RFC 5892 appendix A.1 (ZERO WIDTH NON-JOINER) and A.2 (ZERO WIDTH JOINER) for the joiner at
/// `chars[index]`.
fn joiner_allowed(adapter: &Adapter, chars: &[char], index: usize) -> bool {
    let (before, after) = (&chars[..index], &chars[index + 1..]);
    let Some(&previous) = before.last() else {
        return false;
    };
    if adapter.is_virama(previous) {
        return true;
    }
    if chars[index] == ZERO_WIDTH_JOINER {
        return false;
    }
    // (Joining_Type:{L,D})(Joining_Type:T)* ZWNJ (Joining_Type:T)*(Joining_Type:{R,D})
    let joins = |neighbours: &mut dyn Iterator<Item = &char>, wanted| {
        neighbours
            .map(|&c| adapter.joining_type(c))
            .find(|joining| !joining.is_transparent())
            .is_some_and(|joining| joining.to_mask().intersects(wanted))
    };
    joins(&mut before.iter().rev(), LEFT_OR_DUAL_JOINING_MASK)
        && joins(&mut after.iter(), RIGHT_OR_DUAL_JOINING_MASK)
}

/// CheckBidi: if any label has a right-to-left character, every label must meet RFC 5893.
fn bidi_problem(adapter: &Adapter, labels: &[String]) -> Option<NameError> {
    let is_bidi = labels
        .iter()
        .flat_map(|label| label.chars())
        .any(|c| RTL_MASK.intersects(adapter.bidi_class(c).to_mask()));
    if !is_bidi {
        return None;
    }
    labels.iter().find_map(|label| {
        broken_bidi_rule(adapter, label).map(|rule| NameError::Bidi {
            label: label.clone(),
            rule,
        })
    })
}

/// The first rule of RFC 5893 section 2 that `label` breaks, if any.
fn broken_bidi_rule(adapter: &Adapter, label: &str) -> Option<BidiRule> {
    let chars: Vec<char> = label.chars().collect();
    let (&first, rest) = chars.split_first()?;
    let first_class = adapter.bidi_class(first);
    if !FIRST_BC_MASK.intersects(first_class.to_mask()) {
        return Some(BidiRule::FirstCharacter);
    }
    let mut end = rest.len();
    while end > 0 && adapter.bidi_class(rest[end - 1]).is_nonspacing_mark() {
        end -= 1;
    }
    let (&last, middle) = rest[..end].split_last()?;
    let last_class = adapter.bidi_class(last);
    if first_class.is_ltr() {
        if middle
            .iter()
            .any(|&c| !MIDDLE_LTR_MASK.intersects(adapter.bidi_class(c).to_mask()))
        {
            return Some(BidiRule::LtrCharacters);
        }
        if !LAST_LTR_MASK.intersects(last_class.to_mask()) {
            return Some(BidiRule::LtrEnd);
        }
        return None;
    }
    let mut european = false;
    let mut arabic = false;
    for &c in middle {
        let class = adapter.bidi_class(c);
        if !MIDDLE_RTL_MASK.intersects(class.to_mask()) {
            return Some(BidiRule::RtlCharacters);
        }
        european |= class.is_european_number();
        arabic |= class.is_arabic_number();
    }
    if !LAST_RTL_MASK.intersects(last_class.to_mask()) {
        return Some(BidiRule::RtlEnd);
    }
    european |= last_class.is_european_number();
    arabic |= last_class.is_arabic_number();
    if european && arabic {
        return Some(BidiRule::RtlMixedDigits);
    }
    None
}

/// The `idna` crate refuses labels of more than 1,000 characters before encoding them; such a
/// label is far over the DNS limit, which is what the analyst needs to hear.
fn encoded_length_problem(labels: &[String]) -> Option<NameError> {
    labels.iter().find_map(|label| {
        let a_label = if label.is_ascii() {
            label.clone()
        } else {
            format!("xn--{}", idna::punycode::encode_str(label)?)
        };
        let octets = a_label.len();
        (octets > DomainName::MAX_LABEL_OCTETS).then_some(NameError::LabelTooLong {
            label: a_label,
            octets,
        })
    })
}

impl fmt::Display for DomainName {
    /// The A-label form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ascii)
    }
}

impl fmt::Debug for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DomainName").field(&self.ascii).finish()
    }
}

impl FromStr for DomainName {
    type Err = NameError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        DomainName::parse(input)
    }
}

impl AsRef<str> for DomainName {
    fn as_ref(&self) -> &str {
        &self.ascii
    }
}

/// A map keyed by names can be searched with the A-label form (equality and hashing are those
/// of that string).
impl std::borrow::Borrow<str> for DomainName {
    fn borrow(&self) -> &str {
        &self.ascii
    }
}

impl PartialEq for DomainName {
    fn eq(&self, other: &Self) -> bool {
        self.ascii == other.ascii
    }
}

impl Eq for DomainName {}

impl Hash for DomainName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.ascii.hash(state);
    }
}

impl PartialOrd for DomainName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DomainName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ascii.cmp(&other.ascii)
    }
}

impl Serialize for DomainName {
    /// The A-label form, as a string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.ascii)
    }
}

impl<'de> Deserialize<'de> for DomainName {
    /// Any form [`DomainName::parse`] accepts; a refused name fails with the reason.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(DomainNameVisitor)
    }
}

struct DomainNameVisitor;

impl Visitor<'_> for DomainNameVisitor {
    type Value = DomainName;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a domain name")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<DomainName, E> {
        DomainName::parse(value).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Expected outcome of parsing one input.
    enum Expect {
        /// Accepted, with this A-label form and this U-label form.
        Name(&'static str, &'static str),
        /// Refused with this error and exactly this message.
        Refused(NameError, &'static str),
    }
    use Expect::{Name, Refused};

    fn check(input: &str, expect: Expect) {
        let parsed = DomainName::parse(input);
        match expect {
            Name(ascii, unicode) => {
                let name = parsed.unwrap_or_else(|e| panic!("{input:?} refused: {e}"));
                assert_eq!(name.as_str(), ascii, "A-label form of {input:?}");
                assert_eq!(name.unicode(), unicode, "U-label form of {input:?}");
                assert_eq!(name.is_idn(), ascii != unicode, "is_idn of {input:?}");
            }
            Refused(error, message) => {
                let got = parsed.expect_err(input);
                assert_eq!(got, error, "error for {input:?}");
                assert_eq!(got.to_string(), message, "message for {input:?}");
            }
        }
        // The fast path, where it applies, agrees with full processing.
        if let Some(fast) = parse_ldh(input) {
            let full = parse_uts46(input).expect("fast path accepted it");
            assert_eq!(fast.as_str(), full.as_str(), "{input:?}");
            assert_eq!(fast.unicode(), full.unicode(), "{input:?}");
        }
    }

    fn label(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn accepted_forms() {
        let bucher = Name("xn--bcher-kva.example", "bücher.example");
        check("example.com", Name("example.com", "example.com"));
        check("EXAMPLE.Com", Name("example.com", "example.com"));
        check("example.com.", Name("example.com", "example.com"));
        check("Bücher.Example。", bucher);
        check(
            "bücher.example",
            Name("xn--bcher-kva.example", "bücher.example"),
        );
        check(
            "BÜCHER．EXAMPLE",
            Name("xn--bcher-kva.example", "bücher.example"),
        );
        check(
            "bücher｡example｡",
            Name("xn--bcher-kva.example", "bücher.example"),
        );
        check(
            "xn--bcher-kva.example",
            Name("xn--bcher-kva.example", "bücher.example"),
        );
        check(
            "XN--BCHER-KVA.EXAMPLE.",
            Name("xn--bcher-kva.example", "bücher.example"),
        );
        check("ｅｘａｍｐｌｅ．ｃｏｍ", Name("example.com", "example.com"));
        check("faß.de", Name("xn--fa-hia.de", "faß.de"));
        check(
            "例え。テスト",
            Name("xn--r8jz45g.xn--zckzah", "例え.テスト"),
        );
        check(
            "мой-сайт.рф",
            Name("xn----8sbzclmxk.xn--p1ai", "мой-сайт.рф"),
        );
        check(
            "עברית.example",
            Name("xn--5dbqzzl.example", "עברית.example"),
        );
        check("shop.xn--p1ai", Name("shop.xn--p1ai", "shop.рф"));
        check("com", Name("com", "com"));
        check("COM.", Name("com", "com"));
        check("1.example", Name("1.example", "1.example"));
        check(
            "a-b.c-d.example",
            Name("a-b.c-d.example", "a-b.c-d.example"),
        );
        check(
            "soft\u{00AD}hyphen.example",
            Name("softhyphen.example", "softhyphen.example"),
        );
        let longest_label = "a".repeat(63);
        let name = format!("{longest_label}.example");
        assert_eq!(DomainName::parse(&name).map(|n| n.to_string()), Ok(name));
        let longest_name = [
            &*"a".repeat(63),
            &"b".repeat(63),
            &"c".repeat(63),
            &"d".repeat(61),
        ]
        .join(".");
        assert_eq!(longest_name.len(), 253);
        assert_eq!(
            DomainName::parse(&longest_name).map(|n| n.to_string()),
            Ok(longest_name)
        );
    }

    #[test]
    fn refusals() {
        check("", Refused(NameError::Empty, "the name is empty"));
        check(".", Refused(NameError::Empty, "the name is empty"));
        check("。", Refused(NameError::Empty, "the name is empty"));
        check("\u{00AD}", Refused(NameError::Empty, "the name is empty"));
        check(
            "a..example",
            Refused(
                NameError::EmptyLabel { position: 2 },
                "label 2 is empty (two dots in a row, or a dot at the start)",
            ),
        );
        check(
            ".example",
            Refused(
                NameError::EmptyLabel { position: 1 },
                "label 1 is empty (two dots in a row, or a dot at the start)",
            ),
        );
        check(
            "example.com..",
            Refused(
                NameError::EmptyLabel { position: 3 },
                "label 3 is empty (two dots in a row, or a dot at the start)",
            ),
        );
        let long = "a".repeat(64);
        check(
            &format!("{long}.example"),
            Refused(
                NameError::LabelTooLong {
                    label: long.clone(),
                    octets: 64,
                },
                "label 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is 64 \
                 octets long in A-label form; the limit is 63",
            ),
        );
        // 60 characters that need Punycode: within the limit as Unicode, over it as an A-label.
        let wide = "ü".repeat(60);
        let wide_a_label = format!("xn--{}", idna::punycode::encode_str(&wide).unwrap());
        let error = DomainName::parse(&format!("{wide}.example")).unwrap_err();
        assert_eq!(
            error,
            NameError::LabelTooLong {
                octets: wide_a_label.len(),
                label: wide_a_label
            }
        );
        let too_long = [
            &*"a".repeat(63),
            &"b".repeat(63),
            &"c".repeat(63),
            &"d".repeat(62),
        ]
        .join(".");
        check(
            &too_long,
            Refused(
                NameError::NameTooLong { octets: 254 },
                "the name is 254 octets long in A-label form (without the trailing dot); \
                 the limit is 253",
            ),
        );
        check(
            &"a".repeat(1025),
            Refused(
                NameError::InputTooLong { octets: 1025 },
                "the input is 1025 bytes long, more than the 1024 bytes any real domain name \
                 needs; it was not processed",
            ),
        );
        check(
            "192.0.2.1",
            Refused(
                NameError::NumericTld { label: label("1") },
                "the last label '1' is all digits: a top-level domain is never numeric \
                 (RFC 3696 section 2), so this looks like an IP address, not a domain name",
            ),
        );
        check(
            "１９２．０．２．１",
            Refused(
                NameError::NumericTld { label: label("1") },
                "the last label '1' is all digits: a top-level domain is never numeric \
                 (RFC 3696 section 2), so this looks like an IP address, not a domain name",
            ),
        );
        check(
            "-shop.example",
            Refused(
                NameError::LeadingHyphen {
                    label: label("-shop"),
                },
                "label '-shop' starts with a hyphen",
            ),
        );
        check(
            "shop-.example",
            Refused(
                NameError::TrailingHyphen {
                    label: label("shop-"),
                },
                "label 'shop-' ends with a hyphen",
            ),
        );
        check(
            "Ab--Cd.example",
            Refused(
                NameError::HyphensAtPosition3And4 {
                    label: label("ab--cd"),
                },
                "label 'ab--cd' has '--' in positions 3 and 4, reserved for encoded labels",
            ),
        );
        check(
            "ab--cd.example",
            Refused(
                NameError::HyphensAtPosition3And4 {
                    label: label("ab--cd"),
                },
                "label 'ab--cd' has '--' in positions 3 and 4, reserved for encoded labels",
            ),
        );
        check(
            "_dmarc.example",
            Refused(
                NameError::DisallowedCodePoint {
                    label: label("_dmarc"),
                    code_point: '_',
                },
                "label '_dmarc' contains U+005F '_', which is not allowed in domain names",
            ),
        );
        check(
            "www.exa mple.com",
            Refused(
                NameError::DisallowedCodePoint {
                    label: label("exa mple"),
                    code_point: ' ',
                },
                "label 'exa mple' contains U+0020, which is not allowed in domain names",
            ),
        );
        check(
            "http://example.com/",
            Refused(
                NameError::DisallowedCodePoint {
                    label: label("http://example"),
                    code_point: ':',
                },
                "label 'http://example' contains U+003A ':', which is not allowed in domain names",
            ),
        );
        check(
            "⑷.four",
            Refused(
                NameError::DisallowedCodePoint {
                    label: label("⑷"),
                    code_point: '⑷',
                },
                "label '⑷' contains U+2477 '⑷', which is not allowed in domain names",
            ),
        );
        check(
            "pay\u{200E}pal.example",
            Refused(
                NameError::DisallowedCodePoint {
                    label: label("pay\u{200E}pal"),
                    code_point: '\u{200E}',
                },
                "label 'pay\\u{200e}pal' contains U+200E, which is not allowed in domain names",
            ),
        );
        check(
            "\u{0308}a.example",
            Refused(
                NameError::LeadingCombiningMark {
                    label: label("\u{0308}a"),
                    code_point: '\u{0308}',
                },
                "label '\\u{308}a' starts with the combining mark U+0308, which must follow a \
                 letter",
            ),
        );
        check(
            "a\u{200D}b.example",
            Refused(
                NameError::Joiner {
                    label: label("a\u{200D}b"),
                    code_point: '\u{200D}',
                },
                "label 'a\\u{200d}b' contains U+200D (ZERO WIDTH JOINER) where the joining \
                 rules of RFC 5892 appendix A do not allow it",
            ),
        );
        check(
            "a\u{200C}b.example",
            Refused(
                NameError::Joiner {
                    label: label("a\u{200C}b"),
                    code_point: '\u{200C}',
                },
                "label 'a\\u{200c}b' contains U+200C (ZERO WIDTH NON-JOINER) where the joining \
                 rules of RFC 5892 appendix A do not allow it",
            ),
        );
        check(
            "0à.\u{05D0}",
            Refused(
                NameError::Bidi {
                    label: label("0à"),
                    rule: BidiRule::FirstCharacter,
                },
                "label '0à' breaks the right-to-left rules of RFC 5893, rule 1: a label must \
                 start with a letter, not a digit or a mark",
            ),
        );
        check(
            "\u{05D0}a.example",
            Refused(
                NameError::Bidi {
                    label: label("\u{05D0}a"),
                    rule: BidiRule::RtlEnd,
                },
                "label 'אa' breaks the right-to-left rules of RFC 5893, rule 3: a right-to-left \
                 label must end with a right-to-left letter or a digit",
            ),
        );
        check(
            "xn--abc-.example",
            Refused(
                NameError::Punycode {
                    label: label("xn--abc-"),
                },
                "label 'xn--abc-' starts with 'xn--' but is not valid Punycode",
            ),
        );
        check(
            "XN--A-Ä.example",
            Refused(
                NameError::Punycode {
                    label: label("XN--A-Ä"),
                },
                "label 'XN--A-Ä' starts with 'xn--' but is not valid Punycode",
            ),
        );
        check(
            "xn--u-ccb.example",
            Refused(
                NameError::NotNormalized {
                    label: label("xn--u-ccb"),
                },
                "label 'xn--u-ccb' is an A-label whose Unicode form is not in normalization \
                 form C",
            ),
        );
        check(
            "a\u{FFFD}b.example",
            Refused(
                NameError::DisallowedCodePoint {
                    label: label("a\u{FFFD}b"),
                    code_point: '\u{FFFD}',
                },
                "label 'a\u{FFFD}b' contains U+FFFD '\u{FFFD}', which is not allowed in domain \
                 names",
            ),
        );
        // Each ㌀ maps to four katakana: 1,200 characters, over the `idna` crate's own limit.
        let squares = "㌀".repeat(300);
        let error = DomainName::parse(&format!("{squares}.example")).unwrap_err();
        assert!(
            matches!(&error, NameError::LabelTooLong { octets, .. } if *octets > 1000),
            "{error:?}"
        );
    }

    #[test]
    fn registry_helpers() {
        let name = |s: &str| DomainName::parse(s).unwrap();
        let login = name("login.shop.Bücher.example");
        let zone = name("example");
        assert_eq!(login.tld(), "example");
        assert_eq!(login.label_count(), 4);
        assert_eq!(
            login.labels().collect::<Vec<_>>(),
            ["login", "shop", "xn--bcher-kva", "example"]
        );
        assert_eq!(login.labels().next_back(), Some("example"));
        let parent = login.parent().unwrap();
        assert_eq!(parent.as_str(), "shop.xn--bcher-kva.example");
        assert_eq!(parent.unicode(), "shop.bücher.example");
        assert_eq!(zone.parent(), None);
        assert_eq!(zone.tld(), "example");
        assert!(login.is_subdomain_of(&zone));
        assert!(login.is_subdomain_of(&name("bücher.example")));
        assert!(!login.is_subdomain_of(&login));
        assert!(!name("notexample").is_subdomain_of(&zone));
        assert!(!zone.is_subdomain_of(&login));
        let registered = login.registrable_name(&zone).unwrap();
        assert_eq!(registered.as_str(), "xn--bcher-kva.example");
        assert_eq!(registered.unicode(), "bücher.example");
        assert!(registered.is_idn());
        assert!(registered.registrable_under(&zone));
        assert!(!login.registrable_under(&zone));
        assert!(!zone.registrable_under(&zone));
        assert_eq!(zone.registrable_name(&zone), None);
        assert_eq!(
            name("a.example").registrable_name(&zone),
            Some(name("a.example"))
        );
        let co_uk = name("co.uk");
        let shop = name("www.shop.co.uk");
        assert_eq!(shop.registrable_name(&co_uk), Some(name("shop.co.uk")));
        assert!(name("shop.co.uk").registrable_under(&co_uk));
        let plain = name("www.bücher.example").registrable_name(&name("bücher.example"));
        assert_eq!(plain.as_ref().map(DomainName::is_idn), Some(true));
        let ascii_parent = name("bücher.example").parent().unwrap();
        assert!(!ascii_parent.is_idn());
    }

    #[test]
    fn traits() {
        let a: DomainName = "Bücher.example".parse().unwrap();
        let b = DomainName::parse("xn--bcher-kva.EXAMPLE.").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "xn--bcher-kva.example");
        assert_eq!(format!("{a:?}"), "DomainName(\"xn--bcher-kva.example\")");
        let set: std::collections::HashSet<DomainName> = [a.clone(), b].into_iter().collect();
        assert_eq!(set.len(), 1);
        let mut sorted = [DomainName::parse("b.example").unwrap(), a.clone()];
        sorted.sort();
        assert_eq!(sorted[0], DomainName::parse("b.example").unwrap());
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            "\"xn--bcher-kva.example\""
        );
        let back: DomainName = serde_json::from_str("\"BÜCHER.example.\"").unwrap();
        assert_eq!(back, a);
        let error = serde_json::from_str::<DomainName>("\"ab--cd.example\"").unwrap_err();
        assert!(
            error.to_string().starts_with(
                "label 'ab--cd' has '--' in positions 3 and 4, reserved for encoded labels"
            ),
            "{error}"
        );
        assert!(serde_json::from_str::<DomainName>("42").is_err());
    }

    // ---- UTS #46 conformance: every line of IdnaTestV2.txt -------------------------------

    /// One test line: a column value, where blank means `default` and `""` the empty string.
    fn column(raw: &str, default: &str) -> String {
        match raw {
            "" => default.to_owned(),
            "\"\"" => String::new(),
            _ => unescape(raw),
        }
    }

    /// A status column: blank means `default`, `[]` no errors, else `[A, B]`.
    fn status_column(raw: &str, default: &[String]) -> Vec<String> {
        match raw {
            "" => default.to_vec(),
            "[]" => Vec::new(),
            _ => raw
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .unwrap_or_else(|| panic!("bad status column {raw:?}"))
                .split(',')
                .map(|code| code.trim().to_owned())
                .collect(),
        }
    }

    /// Undoes the file's `\uXXXX` and `\x{X…}` escapes. A lone surrogate cannot be held in a
    /// Rust string; it becomes U+FFFD, which is what decoding the ill-formed input would give.
    /// U+FFFD is disallowed, so every such line still expects an error.
    fn unescape(raw: &str) -> String {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(at) = rest.find('\\') {
            out.push_str(&rest[..at]);
            let escape = &rest[at..];
            let (hex, len) = if let Some(tail) = escape.strip_prefix("\\u") {
                (&tail[..4], 6)
            } else if let Some(tail) = escape.strip_prefix("\\x{") {
                let close = tail.find('}').expect("closing brace");
                (&tail[..close], close + 4)
            } else {
                panic!("unknown escape in {raw:?}")
            };
            let value = u32::from_str_radix(hex, 16).expect("hex digits");
            out.push(char::from_u32(value).unwrap_or('\u{FFFD}'));
            rest = &escape[len..];
        }
        out.push_str(rest);
        out
    }

    /// ToUnicode's empty-label error X4_2: an empty label other than the root (a trailing
    /// dot), or an empty name.
    fn has_empty_non_root_label(unicode: &str) -> bool {
        unicode.is_empty() || unicode.split('.').rev().skip(1).any(str::is_empty)
    }

    /// The file's status codes a diagnosis stands for (UTS #46 section 4 and the file header).
    fn status_codes(error: &NameError) -> Vec<String> {
        let codes: &[&str] = match error {
            // U1 for a written character that maps to ASCII other than letters, digits and
            // hyphen; V7 for a disallowed one, or one inside an A-label that is not canonical.
            NameError::DisallowedCodePoint { label, code_point } => {
                let to_ascii = Adapter::new()
                    .map_normalize(iter::once(*code_point))
                    .any(|c| c.is_ascii());
                if to_ascii && label.contains(*code_point) {
                    &["U1"]
                } else {
                    &["V7"]
                }
            }
            NameError::Punycode { .. } => &["P4"],
            NameError::NotNormalized { .. } => &["V1"],
            NameError::HyphensAtPosition3And4 { .. } => &["V2"],
            NameError::LeadingHyphen { .. } | NameError::TrailingHyphen { .. } => &["V3"],
            NameError::LeadingCombiningMark { .. } => &["V6"],
            NameError::Joiner {
                code_point: ZERO_WIDTH_NON_JOINER,
                ..
            } => &["C1"],
            NameError::Joiner { .. } => &["C2"],
            NameError::Bidi { rule, .. } => return vec![format!("B{}", rule.number())],
            _ => &[],
        };
        codes.iter().map(|&code| code.to_owned()).collect()
    }

    fn variant_name(error: &NameError) -> String {
        let debug = format!("{error:?}");
        debug
            .split([' ', '{'])
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    fn is_registry_rule(error: &NameError) -> bool {
        matches!(
            error,
            NameError::Empty
                | NameError::EmptyLabel { .. }
                | NameError::LabelTooLong { .. }
                | NameError::NameTooLong { .. }
                | NameError::NumericTld { .. }
                | NameError::InputTooLong { .. }
        )
    }

    /// Every data line of Unicode's UTS #46 conformance file (version 16.0.0, as shipped in the
    /// `idna` 1.1.0 package), none skipped.
    ///
    /// Column defaults follow the file header: a blank toUnicode is the source, a blank
    /// toUnicodeStatus is `[]`, a blank toAsciiN is the toUnicode value, a blank toAsciiNStatus
    /// is the toUnicodeStatus; `""` is the empty string and `[]` explicitly no error. We run
    /// with every flag on (UseSTD3ASCIIRules, CheckHyphens, CheckBidi, CheckJoiners, and
    /// VerifyDnsLength for ToASCII), so the header's table ignores no status code: an error is
    /// expected exactly when the status column is non-empty, and otherwise the output must
    /// match. ToUnicode's X4_2 (an empty label other than the root) is checked here, since the
    /// `idna` crate leaves empty labels to the caller; for ToASCII, VerifyDnsLength counts a
    /// trailing root dot as an empty label. The transitional columns (toAsciiT) are not ours.
    ///
    /// Then `DomainName::parse` must agree: accept with the same forms (less a trailing dot)
    /// where UTS #46 accepts, unless a registry rule refuses (and a length refusal must be one
    /// VerifyDnsLength makes too); refuse where UTS #46 refuses, with a diagnosis whose status
    /// code is among the line's toAsciiN codes.
    #[test]
    fn idna_test_v2_conformance() {
        let data = include_str!("../tests/data/IdnaTestV2.txt");
        let mut failures: Vec<String> = Vec::new();
        let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
        let (mut lines, mut accepted, mut refused_by_registry, mut diagnosed) = (0, 0, 0, 0);
        for (index, raw_line) in data.lines().enumerate() {
            let line_number = index + 1;
            let line = raw_line
                .find('#')
                .map_or(raw_line, |hash| &raw_line[..hash])
                .trim();
            if line.is_empty() {
                continue;
            }
            lines += 1;
            let columns: Vec<&str> = line.split(';').map(str::trim).collect();
            assert!(columns.len() >= 5, "line {line_number}: too few columns");
            let source = column(columns[0], "");
            let to_unicode = column(columns[1], &source);
            let to_unicode_status = status_column(columns[2], &[]);
            let to_ascii_n = column(columns[3], &to_unicode);
            let to_ascii_n_status = status_column(columns[4], &to_unicode_status);
            let mut fail = |what: String| failures.push(format!("line {line_number}: {what}"));

            let processed = uts46(&source);
            // ToUnicode: all flags on; no status code is ignored.
            let unicode_result = processed
                .as_ref()
                .map(|p| p.unicode.clone().unwrap_or_else(|| p.ascii.to_string()))
                .filter(|unicode| !has_empty_non_root_label(unicode));
            match (&unicode_result, to_unicode_status.is_empty()) {
                (Some(got), true) if *got != to_unicode => {
                    fail(format!("toUnicode {got:?}, expected {to_unicode:?}"))
                }
                (None, true) => fail(format!("toUnicode refused {source:?}")),
                (Some(got), false) => fail(format!(
                    "toUnicode gave {got:?}, expected {to_unicode_status:?}"
                )),
                _ => {}
            }
            // ToASCII, non-transitional, VerifyDnsLength: the root label counts as empty.
            let ascii_result = processed
                .as_ref()
                .map(|p| p.ascii.to_string())
                .filter(|ascii| !ascii.ends_with('.') && check_lengths(ascii).is_ok());
            match (&ascii_result, to_ascii_n_status.is_empty()) {
                (Some(got), true) if *got != to_ascii_n => {
                    fail(format!("toAsciiN {got:?}, expected {to_ascii_n:?}"))
                }
                (None, true) => fail(format!("toAsciiN refused {source:?}")),
                (Some(got), false) => fail(format!(
                    "toAsciiN gave {got:?}, expected {to_ascii_n_status:?}"
                )),
                _ => {}
            }
            // DomainName agrees with UTS #46, except where a registry rule refuses the name.
            match (&processed, DomainName::parse(&source)) {
                (Some(p), Ok(name)) => {
                    accepted += 1;
                    let ascii = without_root(p.ascii.clone());
                    let unicode = without_root(Cow::Owned(
                        p.unicode.clone().unwrap_or_else(|| p.ascii.to_string()),
                    ));
                    if name.as_str() != ascii || name.unicode() != unicode {
                        fail(format!("parse gave {name:?} / {:?}", name.unicode()));
                    }
                }
                (Some(_), Err(error)) if is_registry_rule(&error) => {
                    refused_by_registry += 1;
                    // A length refusal must be one VerifyDnsLength makes too.
                    let codes: &[&str] = match error {
                        NameError::Empty => &["A4_1", "A4_2"],
                        NameError::EmptyLabel { .. } | NameError::LabelTooLong { .. } => &["A4_2"],
                        NameError::NameTooLong { .. } => &["A4_1"],
                        _ => &[],
                    };
                    if !codes.is_empty()
                        && !codes
                            .iter()
                            .any(|&c| to_ascii_n_status.contains(&c.to_owned()))
                    {
                        fail(format!(
                            "parse refused with {error:?}, toAsciiN has {to_ascii_n_status:?}"
                        ));
                    }
                    *reasons.entry(variant_name(&error)).or_default() += 1;
                }
                (Some(_), Err(error)) => fail(format!("parse refused with {error:?}")),
                (None, Ok(name)) => fail(format!("parse accepted {name:?}")),
                (None, Err(error)) => {
                    diagnosed += 1;
                    *reasons.entry(variant_name(&error)).or_default() += 1;
                    let codes = status_codes(&error);
                    if !codes.iter().any(|code| to_ascii_n_status.contains(code)) {
                        fail(format!(
                            "diagnosis {error:?} ({codes:?}) not in {to_ascii_n_status:?}"
                        ));
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures
                .iter()
                .take(60)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        eprintln!(
            "IdnaTestV2: {lines} lines; parse accepted {accepted}, refused {refused_by_registry} \
             by registry rules, diagnosed {diagnosed} UTS #46 refusals; reasons: {reasons:?}"
        );
        assert_eq!(lines, 6389);
        assert_eq!(accepted + refused_by_registry + diagnosed, lines);
    }

    // ---- Properties -----------------------------------------------------------------------

    /// Labels from a mix of ASCII (both cases), Latin, Greek, Cyrillic, CJK, Hebrew and Arabic
    /// letters, hyphens, digits and a few troublemakers (joiners, a combining mark, `ß`).
    fn label_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9][a-zA-Z0-9-]{0,12}[a-zA-Z0-9]",
            2 => "[a-zäöüßéçñ0-9-]{1,12}",
            1 => "[αβγδεζηθ]{1,8}",
            1 => "[абвгдежзий]{1,8}",
            1 => "[例え字中文テスト]{1,6}",
            1 => "[אבגדה]{1,6}[0-9]?",
            1 => "[بتثجحخ]{1,6}",
            1 => "[a-z\u{200C}\u{200D}\u{0301}\u{094D}क]{1,8}",
            1 => "xn--[a-z0-9]{1,10}",
        ]
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(label_strategy(), 1..5),
            prop_oneof![Just("."), Just("。"), Just("．"), Just("｡")],
            prop_oneof![Just(""), Just(".")],
        )
            .prop_map(|(labels, dot, root)| format!("{}{root}", labels.join(dot)))
    }

    /// Most generated names are valid, so the properties below are not checked vacuously.
    #[test]
    fn strategy_yields_names() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = name_strategy();
        let total = 2000;
        let ok = (0..total)
            .filter(|_| {
                let input = strategy.new_tree(&mut runner).unwrap().current();
                DomainName::parse(&input).is_ok()
            })
            .count();
        assert!(ok * 2 > total, "only {ok} of {total} generated names parse");
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(input in name_strategy()) {
            if let Ok(name) = DomainName::parse(&input) {
                let again = DomainName::parse(name.as_str()).expect("A-label form parses");
                prop_assert_eq!(&again, &name);
                prop_assert_eq!(again.unicode(), name.unicode());
                let from_unicode = DomainName::parse(name.unicode()).expect("U-label form parses");
                prop_assert_eq!(&from_unicode, &name);
                prop_assert_eq!(from_unicode.unicode(), name.unicode());
            }
        }

        #[test]
        fn fast_path_agrees(
            input in prop_oneof![
                "[a-zA-Z0-9.-]{0,70}",
                "([a-zA-Z0-9]{1,6}-{0,2}[a-zA-Z0-9]{1,6}[.]){0,4}[a-zA-Z0-9]{1,6}[.]?",
            ]
        ) {
            if let Some(fast) = parse_ldh(&input) {
                let full = parse_uts46(&input).expect("full processing accepts it");
                prop_assert_eq!(fast.as_str(), full.as_str());
                prop_assert_eq!(fast.unicode(), full.unicode());
            }
        }

        #[test]
        fn never_panics(input in any::<String>()) {
            let _ = DomainName::parse(&input);
        }
    }
}
