//! A small PDF writer for published text documents: A4 pages of Helvetica (the standard font
//! every reader has, so nothing is embedded), headings in bold, lines wrapped at word
//! boundaries. Text outside Windows-1252 is shown as `?`. Streams are not compressed.

use std::fmt::Write as _;

const PAGE_WIDTH: u32 = 595;
const PAGE_HEIGHT: u32 = 842;
const MARGIN: u32 = 56;
const BODY_SIZE: u32 = 11;
const LEADING: u32 = 15;
/// Characters per line: Helvetica at 11 pt averages about 5.5 pt a character on 483 pt.
const LINE_CHARS: usize = 84;

/// A line of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A heading, in bold.
    Heading(String),
    /// Body text (wrapped).
    Text(String),
    /// An empty line.
    Blank,
}

/// The byte a character has in Windows-1252, or `?`.
fn win_ansi(c: char) -> u8 {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    match u32::from(c) {
        0x20..=0x7E | 0xA0..=0xFF => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        _ => HIGH
            .iter()
            .find(|(from, _)| *from == c)
            .map_or(b'?', |(_, byte)| *byte),
    }
}

/// A PDF string literal of `text`.
fn literal(text: &str, out: &mut Vec<u8>) {
    out.push(b'(');
    for c in text.chars() {
        let byte = win_ansi(if c == '\t' { ' ' } else { c });
        if matches!(byte, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out.push(b')');
}

/// `text` cut into lines of at most [`LINE_CHARS`] characters, at spaces where it can be.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_owned();
        while word.chars().count() > LINE_CHARS {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let cut: String = word.chars().take(LINE_CHARS).collect();
            word = word.chars().skip(LINE_CHARS).collect();
            lines.push(cut);
        }
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > LINE_CHARS && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    lines.push(line);
    lines
}

/// The document's pages, each a list of (bold, text) lines.
fn paginate(lines: &[Line]) -> Vec<Vec<(bool, String)>> {
    let per_page = usize::try_from((PAGE_HEIGHT - 2 * MARGIN) / LEADING).unwrap_or(1);
    let mut flat = Vec::new();
    for line in lines {
        match line {
            Line::Heading(text) => flat.push((true, text.clone())),
            Line::Text(text) => flat.extend(wrap(text).into_iter().map(|l| (false, l))),
            Line::Blank => flat.push((false, String::new())),
        }
    }
    let mut pages: Vec<Vec<(bool, String)>> =
        flat.chunks(per_page.max(1)).map(<[_]>::to_vec).collect();
    if pages.is_empty() {
        pages.push(Vec::new());
    }
    pages
}

/// The PDF of `lines` under `title` (the document's metadata title and its first heading).
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let mut all = vec![Line::Heading(title.to_owned()), Line::Blank];
    all.extend_from_slice(lines);
    let pages = paginate(&all);
    // Objects: 1 catalog, 2 page tree, 3 regular font, 4 bold font, 5 info, then per page its
    // page object and its content stream.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: String = (0..pages.len())
        .map(|i| format!("{} 0 R ", 6 + 2 * i))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(format!("<< /Type /Pages /Kids [{kids}] /Count {} >>", pages.len()).into_bytes());
    for font in ["Helvetica", "Helvetica-Bold"] {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding /WinAnsiEncoding >>"
            )
            .into_bytes(),
        );
    }
    let mut info = b"<< /Producer (Holdfast) /Title ".to_vec();
    literal(title, &mut info);
    info.extend_from_slice(b" >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        let mut content = Vec::new();
        let top = PAGE_HEIGHT - MARGIN;
        content.extend_from_slice(format!("BT {LEADING} TL {MARGIN} {top} Td\n").as_bytes());
        for (bold, text) in page {
            let font = if *bold { "F2" } else { "F1" };
            content.extend_from_slice(format!("/{font} {BODY_SIZE} Tf ").as_bytes());
            literal(text, &mut content);
            content.extend_from_slice(b" Tj T*\n");
        }
        content.extend_from_slice(b"ET\n");
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                7 + 2 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(&content);
        stream.extend_from_slice(b"endstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", n + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_at_spaces_and_long_words_are_cut() {
        let text = "word ".repeat(40);
        let lines = wrap(text.trim_end());
        assert!(lines.iter().all(|line| line.chars().count() <= LINE_CHARS));
        assert_eq!(lines.join(" "), text.trim_end());
        let long = "x".repeat(200);
        assert_eq!(wrap(&long).concat(), long);
    }

    #[test]
    fn strings_escape_delimiters_and_map_to_windows_1252() {
        let mut out = Vec::new();
        literal("a(b)\\ é € 中", &mut out);
        assert_eq!(out, b"(a\\(b\\)\\\\ \xE9 \x80 ?)");
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let pdf = document("Title", &[Line::Text("hello".into())]);
        let text = String::from_utf8_lossy(&pdf);
        let xref_at: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|tail| tail.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[xref_at..].starts_with(b"xref"));
        // The binary comment on line 2 is not UTF-8: read the table from its own bytes.
        let table = String::from_utf8_lossy(&pdf[xref_at..]);
        for (n, line) in table.lines().skip(3).take(7).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", n + 1).as_bytes()),
                "object {}",
                n + 1
            );
        }
    }
}
