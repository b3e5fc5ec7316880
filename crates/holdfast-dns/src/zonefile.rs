//! Streaming parser for the RFC 1035 master file of a TLD zone: records in, [`ZoneRecord`]s out,
//! each error naming the line where its record starts.
//!
//! The `domain` crate's scanner does the RFC 1035 syntax (`$ORIGIN`, `$TTL`, `@`, relative names,
//! parentheses, comments, quoting, class and TTL in either order, every record type). It keeps its
//! input in one buffer and gives no line number for a record it accepted, so this module reads the
//! file itself, one *entry* at a time (a line, or the lines up to the one that closes its
//! parentheses), notes the line that entry starts on, and hands the scanner just that entry. Memory
//! stays bounded by the longest entry, whatever the size of the zone.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::net::IpAddr;

use domain::base::iana::Class;
use domain::base::name::{Name, ToName};
use domain::rdata::ZoneRecordData;
use domain::zonefile::inplace::{Entry, ScannedRecord, Zonefile};
use holdfast_model::{DomainName, DsRecord, NameError, Soa};

/// One record of a TLD zone that Holdfast keeps, in file order.
///
/// Records of other types (TXT, DNSKEY, RRSIG, NSEC, NSEC3PARAM, …) are skipped and counted by
/// [`ZoneParser::skipped`]; the registry re-creates what it needs of them when it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneRecord {
    /// The SOA at the apex.
    Soa(Soa),
    /// A name server of the TLD itself (NS at the apex).
    ApexNs(DomainName),
    /// One name server of a delegated second-level name.
    Delegation {
        /// The delegated name, one label below the TLD.
        name: DomainName,
        /// The name server.
        host: DomainName,
    },
    /// One DS record of a delegated second-level name.
    Ds {
        /// The delegated name, one label below the TLD.
        name: DomainName,
        /// The DS record; its digest is upper-case hexadecimal.
        ds: DsRecord,
    },
    /// One address of a name server inside the TLD (an A or AAAA record below the apex).
    Glue {
        /// The name server.
        host: DomainName,
        /// One of its addresses.
        address: IpAddr,
    },
}

/// A record, or the reading of the file, failed. Always names the 1-based line of the file where
/// the record at fault starts.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct ZoneError {
    /// The 1-based line where the record at fault starts (for a read error, the line being read).
    pub line: usize,
    /// What is wrong.
    pub kind: ZoneErrorKind,
}

/// What is wrong with a record of a zone file.
#[derive(Debug, thiserror::Error)]
pub enum ZoneErrorKind {
    /// The reader failed. Ends the iteration.
    #[error("cannot read the zone file: {0}")]
    Io(#[source] io::Error),
    /// The entry is not RFC 1035 master-file syntax (reported by the `domain` scanner). Ends the
    /// iteration: the scanner cannot go on after such an error.
    #[error("cannot parse '{text}': {message}")]
    Syntax {
        /// The first line of the entry, trimmed (and shortened if very long).
        text: String,
        /// The scanner's description of the problem.
        message: String,
    },
    /// A parenthesis or quote opened in the entry is still open at the end of the file. Ends the
    /// iteration.
    #[error("a parenthesis or quote opened in '{text}' is never closed")]
    Unclosed {
        /// The first line of the entry, trimmed (and shortened if very long).
        text: String,
    },
    /// A name (owner or record data) is not a valid domain name for Holdfast.
    #[error("'{text}' is not a valid name: {source}")]
    Name {
        /// The name as the scanner read it, without the trailing dot.
        text: String,
        /// Why it is refused.
        #[source]
        source: NameError,
    },
    /// The owner is neither the TLD nor below it.
    #[error("owner '{owner}' is outside the zone '{zone}'")]
    OutsideZone {
        /// The owner name.
        owner: DomainName,
        /// The TLD.
        zone: DomainName,
    },
    /// An NS or DS record more than one label below the TLD: a registry zone delegates only
    /// second-level names.
    #[error(
        "{rtype} record at '{owner}' is more than one label below the zone '{zone}'; \
         a TLD zone delegates only second-level names"
    )]
    TooDeep {
        /// The record type (`NS` or `DS`).
        rtype: String,
        /// The owner name.
        owner: DomainName,
        /// The TLD.
        zone: DomainName,
    },
    /// An SOA record below the apex.
    #[error("SOA record at '{owner}' is not at the apex of the zone '{zone}'")]
    SoaBelowApex {
        /// The owner name.
        owner: DomainName,
        /// The TLD.
        zone: DomainName,
    },
    /// A record of a class other than IN.
    #[error("class {class} is not supported; a TLD zone is class IN")]
    Class {
        /// The class as written by the scanner.
        class: String,
    },
    /// An `$INCLUDE` directive: a zone is imported from one file.
    #[error("$INCLUDE '{path}' is not supported; import a single file")]
    Include {
        /// The file named by the directive.
        path: String,
    },
}

impl ZoneErrorKind {
    /// Whether the parser stops after this error (read, syntax and unclosed-entry errors) or goes
    /// on with the next record (every other error).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ZoneErrorKind::Io(_) | ZoneErrorKind::Syntax { .. } | ZoneErrorKind::Unclosed { .. }
        )
    }
}

/// Parses the master file of the zone of `tld` from `reader`, one record at a time.
///
/// The origin starts as `tld`, so relative names need no `$ORIGIN`; the class defaults to IN.
/// See [`ZoneParser`] for what happens after an error.
pub fn parse<R: Read>(tld: &DomainName, reader: R) -> ZoneParser<R> {
    let mut scanner = Zonefile::new();
    scanner.set_default_class(Class::IN);
    // A `DomainName` is always a valid presentation-form name; should the scanner ever refuse
    // one, relative names fail with the scanner's "missing origin" error.
    if let Ok(origin) = Name::bytes_from_str(&format!("{}.", tld.as_str())) {
        scanner.set_origin(origin);
    }
    ZoneParser {
        tld: tld.clone(),
        reader: BufReader::with_capacity(64 * 1024, reader),
        scanner,
        entry: Vec::with_capacity(256),
        line: 0,
        entry_line: 0,
        skipped: 0,
        name_text: String::with_capacity(64),
        state: State::Running,
    }
}

/// The iterator [`parse`] returns: yields [`ZoneRecord`]s in file order.
///
/// After an error in one record (a bad name, an owner outside the zone, an NS too deep, …) the
/// parser yields the error and goes on with the next record, so a caller may collect every error
/// of a file. After a read error, a syntax error or an entry left open at the end of the file
/// ([`ZoneErrorKind::is_fatal`]) it yields that error and then ends: the scanner's position inside
/// the entry is lost.
pub struct ZoneParser<R> {
    tld: DomainName,
    reader: BufReader<R>,
    scanner: Zonefile,
    /// The bytes of the entry being read.
    entry: Vec<u8>,
    /// Lines read so far.
    line: usize,
    /// The line the entry given to the scanner starts on.
    entry_line: usize,
    skipped: u64,
    /// Scratch space for names on their way to `DomainName::parse`.
    name_text: String,
    state: State,
}

/// What [`ZoneParser::read_entry`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A complete entry.
    Entry,
    /// The end of the file, between entries.
    EndOfFile,
    /// The end of the file inside an entry.
    Unclosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Finished,
}

impl<R> fmt::Debug for ZoneParser<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneParser")
            .field("tld", &self.tld)
            .field("line", &self.line)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl<R: Read> ZoneParser<R> {
    /// How many records of types Holdfast does not keep (and apex A/AAAA/DS records) were
    /// skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// How many lines were read so far.
    pub fn lines(&self) -> usize {
        self.line
    }

    /// Reads the next entry that holds something other than blanks and comments into
    /// `self.entry`.
    fn read_entry(&mut self) -> io::Result<Found> {
        self.entry.clear();
        let mut lexer = Lexer::default();
        loop {
            let start = self.entry.len();
            let read = self.reader.read_until(b'\n', &mut self.entry)?;
            if read == 0 {
                if self.entry.is_empty() {
                    return Ok(Found::EndOfFile);
                }
                return Ok(Found::Unclosed);
            }
            self.line += 1;
            if start == 0 {
                self.entry_line = self.line;
            }
            if self.entry.last() != Some(&b'\n') {
                self.entry.push(b'\n');
            }
            lexer.line(&self.entry[start..]);
            if lexer.is_complete() {
                if lexer.has_token {
                    return Ok(Found::Entry);
                }
                self.entry.clear();
            }
        }
    }

    fn error(&self, kind: ZoneErrorKind) -> ZoneError {
        ZoneError {
            line: self.entry_line,
            kind,
        }
    }

    /// The first line of the entry, trimmed and shortened, to show in an error.
    fn entry_text(&self) -> String {
        let first_line = self.entry.split(|&b| b == b'\n').next().unwrap_or(&[]);
        shorten(String::from_utf8_lossy(first_line).trim(), 120)
    }

    fn syntax_error(&self, error: &domain::zonefile::inplace::Error) -> ZoneError {
        // The scanner's message reads "LINE:COLUMN: what"; its line counts only the entries it
        // was given, so keep just the "what".
        let shown = error.to_string();
        let message = shown
            .split_once(": ")
            .map_or(shown.as_str(), |(_, message)| message)
            .to_owned();
        self.error(ZoneErrorKind::Syntax {
            text: self.entry_text(),
            message,
        })
    }

    /// Turns one scanned record into what Holdfast keeps; `Ok(None)` for a skipped record.
    fn convert(&mut self, record: &ScannedRecord) -> Result<Option<ZoneRecord>, ZoneErrorKind> {
        if record.class() != Class::IN {
            return Err(ZoneErrorKind::Class {
                class: record.class().to_string(),
            });
        }
        let owner = self.name(record.owner())?;
        let at_apex = owner == self.tld;
        if !at_apex && !owner.is_subdomain_of(&self.tld) {
            return Err(ZoneErrorKind::OutsideZone {
                owner,
                zone: self.tld.clone(),
            });
        }
        let zone_record = match record.data() {
            ZoneRecordData::Soa(soa) if at_apex => ZoneRecord::Soa(Soa {
                mname: self.name(soa.mname())?,
                rname: self.name(soa.rname())?,
                serial: soa.serial().into_int(),
                refresh: soa.refresh().as_secs(),
                retry: soa.retry().as_secs(),
                expire: soa.expire().as_secs(),
                minimum: soa.minimum().as_secs(),
            }),
            ZoneRecordData::Soa(_) => {
                return Err(ZoneErrorKind::SoaBelowApex {
                    owner,
                    zone: self.tld.clone(),
                });
            }
            ZoneRecordData::Ns(ns) if at_apex => ZoneRecord::ApexNs(self.name(ns.nsdname())?),
            ZoneRecordData::Ns(ns) => {
                self.check_delegation_point(&owner, "NS")?;
                ZoneRecord::Delegation {
                    host: self.name(ns.nsdname())?,
                    name: owner,
                }
            }
            ZoneRecordData::Ds(ds) if !at_apex => {
                self.check_delegation_point(&owner, "DS")?;
                ZoneRecord::Ds {
                    name: owner,
                    ds: DsRecord {
                        key_tag: ds.key_tag(),
                        algorithm: ds.algorithm().to_int(),
                        digest_type: ds.digest_type().to_int(),
                        digest: upper_hex(ds.digest()),
                    },
                }
            }
            ZoneRecordData::A(a) if !at_apex => ZoneRecord::Glue {
                host: owner,
                address: IpAddr::V4(a.addr()),
            },
            ZoneRecordData::Aaaa(aaaa) if !at_apex => ZoneRecord::Glue {
                host: owner,
                address: IpAddr::V6(aaaa.addr()),
            },
            _ => return Ok(None),
        };
        Ok(Some(zone_record))
    }

    fn check_delegation_point(&self, owner: &DomainName, rtype: &str) -> Result<(), ZoneErrorKind> {
        if owner.registrable_under(&self.tld) {
            Ok(())
        } else {
            Err(ZoneErrorKind::TooDeep {
                rtype: rtype.to_owned(),
                owner: owner.clone(),
                zone: self.tld.clone(),
            })
        }
    }

    /// A scanned (absolute) name as a `DomainName`.
    fn name(&mut self, name: &impl ToName) -> Result<DomainName, ZoneErrorKind> {
        presentation(name, &mut self.name_text);
        DomainName::parse(&self.name_text).map_err(|source| ZoneErrorKind::Name {
            text: if self.name_text.is_empty() {
                ".".to_owned()
            } else {
                self.name_text.clone()
            },
            source,
        })
    }
}

impl<R: Read> Iterator for ZoneParser<R> {
    type Item = Result<ZoneRecord, ZoneError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.state == State::Finished {
                return None;
            }
            match self.scanner.next_entry() {
                Ok(Some(Entry::Record(record))) => match self.convert(&record) {
                    Ok(Some(zone_record)) => return Some(Ok(zone_record)),
                    Ok(None) => self.skipped += 1,
                    Err(kind) => return Some(Err(self.error(kind))),
                },
                Ok(Some(Entry::Include { path, .. })) => {
                    let path = path.to_string();
                    return Some(Err(self.error(ZoneErrorKind::Include { path })));
                }
                // The scanner has used up the entry it was given: give it the next one.
                Ok(None) => match self.read_entry() {
                    Ok(Found::Entry) => self.scanner.extend_from_slice(&self.entry),
                    Ok(Found::EndOfFile) => self.state = State::Finished,
                    Ok(Found::Unclosed) => {
                        self.state = State::Finished;
                        let text = self.entry_text();
                        return Some(Err(self.error(ZoneErrorKind::Unclosed { text })));
                    }
                    Err(error) => {
                        self.state = State::Finished;
                        return Some(Err(ZoneError {
                            line: self.line + 1,
                            kind: ZoneErrorKind::Io(error),
                        }));
                    }
                },
                Err(error) => {
                    self.state = State::Finished;
                    return Some(Err(self.syntax_error(&error)));
                }
            }
        }
    }
}

/// Finds where an entry ends: tracks parentheses, quotes, escapes and comments line by line, the
/// way RFC 1035 §5.1 reads them.
#[derive(Debug, Default)]
struct Lexer {
    parens: usize,
    in_quotes: bool,
    /// Whether the entry has anything but blanks and comments.
    has_token: bool,
}

impl Lexer {
    fn line(&mut self, line: &[u8]) {
        let mut bytes = line.iter();
        while let Some(&byte) = bytes.next() {
            if self.in_quotes {
                match byte {
                    b'\\' => {
                        bytes.next();
                    }
                    b'"' => self.in_quotes = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b';' => break,
                b'(' => self.parens += 1,
                b')' => self.parens = self.parens.saturating_sub(1),
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b'"' => {
                    self.in_quotes = true;
                    self.has_token = true;
                }
                b'\\' => {
                    bytes.next();
                    self.has_token = true;
                }
                _ => self.has_token = true,
            }
        }
    }

    fn is_complete(&self) -> bool {
        self.parens == 0 && !self.in_quotes
    }
}

/// Writes `name` in presentation form without the trailing dot into `out` (empty for the root),
/// escaping what RFC 1035 §5.1 escapes.
fn presentation(name: &impl ToName, out: &mut String) {
    out.clear();
    for label in name.iter_labels() {
        if label.is_root() {
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        for &byte in label.as_slice() {
            match byte {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' => {
                    out.push('\\');
                    out.push(char::from(byte));
                }
                0x21..=0x7e => out.push(char::from(byte)),
                _ => {
                    out.push('\\');
                    out.push(char::from(b'0' + byte / 100));
                    out.push(char::from(b'0' + byte / 10 % 10));
                    out.push(char::from(b'0' + byte % 10));
                }
            }
        }
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// `text`, cut to at most `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
