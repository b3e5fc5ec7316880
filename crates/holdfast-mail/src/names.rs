//! Candidate domain names and URLs pulled out of report text: raw strings, deduplicated in the
//! order first seen. Checking and normalising them (IDNA, "ours or not") is the caller's job.

use std::collections::HashSet;
use std::net::IpAddr;

/// What a report names: the domain names (including every URL's host) and the URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Domain names as written (after undoing common defanging such as `evil[.]example`).
    pub domains: Vec<String>,
    /// `http`, `https` and `ftp` URLs as written (defanging undone).
    pub urls: Vec<String>,
}

/// More distinct names or URLs than the limit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooMany;

/// Collects names and URLs, refusing to grow past `max` of either.
#[derive(Debug)]
pub(crate) struct Collector {
    names: Names,
    seen_domains: HashSet<String>,
    seen_urls: HashSet<String>,
    max: usize,
}

impl Collector {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            names: Names::default(),
            seen_domains: HashSet::new(),
            seen_urls: HashSet::new(),
            max,
        }
    }

    pub(crate) fn finish(self) -> Names {
        self.names
    }

    pub(crate) fn domain(&mut self, domain: &str) -> Result<(), TooMany> {
        let domain = domain.trim().trim_end_matches(is_dot);
        if domain.is_empty() || domain.parse::<IpAddr>().is_ok() {
            return Ok(());
        }
        if self.seen_domains.contains(domain) {
            return Ok(());
        }
        if self.names.domains.len() >= self.max {
            return Err(TooMany);
        }
        self.seen_domains.insert(domain.to_owned());
        self.names.domains.push(domain.to_owned());
        Ok(())
    }

    pub(crate) fn url(&mut self, url: &str) -> Result<(), TooMany> {
        let url = url.trim();
        if !known_scheme(url) {
            return Ok(());
        }
        if let Some(host) = url_host(url) {
            self.domain(host)?;
        }
        if self.seen_urls.contains(url) {
            return Ok(());
        }
        if self.names.urls.len() >= self.max {
            return Err(TooMany);
        }
        self.seen_urls.insert(url.to_owned());
        self.names.urls.push(url.to_owned());
        Ok(())
    }

    /// A structured field that holds a URL, a domain name or an IP address.
    pub(crate) fn field(&mut self, value: &str) -> Result<(), TooMany> {
        if value.contains("://") {
            self.url(value)
        } else {
            self.domain(value)
        }
    }

    /// Free text: URLs first, then bare domain names outside them. E-mail addresses are
    /// contacts, not targets: their domains are not collected.
    pub(crate) fn text(&mut self, text: &str) -> Result<(), TooMany> {
        let text = refang(text);
        let mut rest = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end) in url_spans(&text) {
            self.url(&text[start..end])?;
            rest.push_str(&text[last..start]);
            rest.push(' ');
            last = end;
        }
        rest.push_str(&text[last..]);
        for domain in bare_domains(&rest) {
            self.domain(domain)?;
        }
        Ok(())
    }
}

fn is_dot(c: char) -> bool {
    // The full stop and the dots UTS #46 maps to it.
    matches!(c, '.' | '\u{3002}' | '\u{FF0E}' | '\u{FF61}')
}

/// Undoes the usual ways reporters defang names: `hxxp://`, `evil[.]example`, `evil(dot)example`.
fn refang(text: &str) -> String {
    let mut out = text.to_owned();
    for (from, to) in [
        ("[.]", "."),
        ("(.)", "."),
        ("{.}", "."),
        ("[dot]", "."),
        ("(dot)", "."),
        ("[:]", ":"),
        ("[://]", "://"),
        ("hxxp", "http"),
        ("hXXp", "http"),
        ("HXXP", "HTTP"),
    ] {
        if out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out
}

fn url_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let sep = from + found;
        let mut start = sep;
        while start > 0 && bytes[start - 1].is_ascii_alphabetic() {
            start -= 1;
        }
        let mut end = sep + 3;
        while end < bytes.len() && !ends_url(bytes[end]) {
            end += 1;
        }
        // Trailing punctuation belongs to the sentence, and a closing bracket to the text
        // around the URL unless the URL opened it.
        while end > sep + 3 {
            let last = bytes[end - 1];
            let unbalanced = |open: u8, close: u8| {
                last == close
                    && bytes[start..end].iter().filter(|&&b| b == open).count()
                        < bytes[start..end].iter().filter(|&&b| b == close).count()
            };
            if matches!(last, b'.' | b',' | b';' | b':' | b'!' | b'?')
                || unbalanced(b'(', b')')
                || unbalanced(b'[', b']')
            {
                end -= 1;
            } else {
                break;
            }
        }
        if known_scheme(&text[start..end]) && end > sep + 3 {
            spans.push((start, end));
        }
        from = end.max(sep + 3);
    }
    spans
}

fn ends_url(b: u8) -> bool {
    b.is_ascii_whitespace()
        || b.is_ascii_control()
        || matches!(
            b,
            b'<' | b'>' | b'"' | b'\'' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^'
        )
}

fn known_scheme(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| {
        ["http", "https", "ftp"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
    })
}

/// The host of an `http`, `https` or `ftp` URL, if it is a name (not an IP literal).
pub(crate) fn url_host(url: &str) -> Option<&str> {
    if !known_scheme(url) {
        return None;
    }
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    if host_port.starts_with('[') {
        return None;
    }
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    };
    let host = host.trim_end_matches(is_dot);
    (!host.is_empty() && host.parse::<IpAddr>().is_err()).then_some(host)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || is_dot(c)
}

/// Tokens of the text that look like domain names: two or more labels, the last one letters
/// (or an A-label), not part of an e-mail address.
fn bare_domains(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !is_name_char(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(at, next)) = chars.peek() {
            if !is_name_char(next) {
                break;
            }
            end = at + next.len_utf8();
            chars.next();
        }
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if before == Some('@') || after == Some('@') {
            continue;
        }
        let token = text[start..end].trim_matches(|c: char| is_dot(c) || c == '-');
        if looks_like_domain(token) {
            found.push(token);
        }
    }
    found
}

fn looks_like_domain(token: &str) -> bool {
    if token.chars().count() > 253 {
        return false;
    }
    let labels: Vec<&str> = token.split(is_dot).collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && label.chars().count() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let tld = labels.last().copied().unwrap_or_default();
    let tld_ok = if tld.len() > 4 && tld[..4].eq_ignore_ascii_case("xn--") {
        tld.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    } else {
        tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
    };
    labels_ok && tld_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, domains: &[&str], urls: &[&str]) {
        let mut collector = Collector::new(100);
        collector.text(text).unwrap();
        let names = collector.finish();
        assert_eq!(names.domains, domains, "domains of {text:?}");
        assert_eq!(names.urls, urls, "urls of {text:?}");
    }

    #[test]
    fn names_and_urls_in_text() {
        check("nothing here, e.g. i.e. 3.14", &[], &[]);
        check(
            "Phishing at evil.example and EVIL.example.",
            &["evil.example", "EVIL.example"],
            &[],
        );
        check(
            "see https://login.bank.example/x?a=1, then (http://user@a.example:8080/p).",
            &["login.bank.example", "a.example"],
            &[
                "https://login.bank.example/x?a=1",
                "http://user@a.example:8080/p",
            ],
        );
        check(
            "defanged: hxxps://bad[.]example/kit and bad2(dot)example",
            &["bad.example", "bad2.example"],
            &["https://bad.example/kit"],
        );
        check("mail abuse@registrar.example please", &[], &[]);
        check(
            "IP http://192.0.2.1/x and http://[2001:db8::1]/y",
            &[],
            &["http://192.0.2.1/x", "http://[2001:db8::1]/y"],
        );
        check(
            "<a href=\"http://x.example/a\">http://x.example/a</a>",
            &["x.example"],
            &["http://x.example/a"],
        );
        check(
            "idn: bücher.example and xn--bcher-kva.example; javascript://no.example",
            &["bücher.example", "xn--bcher-kva.example", "no.example"],
            &[],
        );
        check(
            "https://wiki.example/A_(b)",
            &["wiki.example"],
            &["https://wiki.example/A_(b)"],
        );
    }

    #[test]
    fn the_limit_counts_distinct_names() {
        let mut collector = Collector::new(2);
        collector.text("a.example a.example b.example").unwrap();
        assert_eq!(collector.text("c.example"), Err(TooMany));
    }

    #[test]
    fn url_hosts() {
        for (url, host) in [
            ("http://a.example", Some("a.example")),
            ("HTTPS://A.example:443/", Some("A.example")),
            ("ftp://u:p@f.example/file", Some("f.example")),
            ("mailto:x@y.example", None),
            ("http://10.0.0.1/", None),
            ("http://[::1]/", None),
        ] {
            assert_eq!(url_host(url), host, "{url}");
        }
    }
}
