//! COPY's text format: one row a line, fields split by tabs, `\N` for NULL and
//! backslash escapes. The server's `COPY ... TO STDOUT` and a pg_dump script's
//! `COPY ... FROM stdin` blocks both use it, and both are read here.

use crate::model::QualifiedName;

/// Why one COPY line is not valid.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineError {
    /// An escape (`\NNN`, `\xHH`) in field `n` (1-based) decodes to bytes that are not UTF-8.
    Utf8(usize),
    /// An escape in field `n` decodes to a NUL byte, which PostgreSQL text cannot hold.
    Nul(usize),
    /// The line ends with a lone backslash.
    TrailingBackslash,
}

impl LineError {
    pub(crate) fn describe(&self, table: &QualifiedName) -> String {
        match self {
            LineError::Utf8(f) => format!(
                "field {f} of a row of {table} has an escape that decodes to invalid UTF-8: \
                 the dump is damaged or not UTF-8 (dump with `pg_dump -E UTF8`)"
            ),
            LineError::Nul(f) => format!(
                "field {f} of a row of {table} has an escape that decodes to a NUL byte, \
                 which PostgreSQL text cannot hold: the dump is damaged"
            ),
            LineError::TrailingBackslash => format!(
                "a row of {table} ends with a lone backslash: the dump is damaged \
                 (pg_dump writes a newline inside a value as \\n)"
            ),
        }
    }
}

/// The line without its line end.
pub(crate) fn strip_eol(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The position of the next tab or backslash in `b` from `from`, eight bytes at a
/// time: the data path spends most of its time here.
fn next_special(b: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let tab = w ^ (LO * u64::from(b'\t'));
        let backslash = w ^ (LO * u64::from(b'\\'));
        // A byte is flagged where it is zero; the lowest flag is always exact.
        let found =
            ((tab.wrapping_sub(LO) & !tab) | (backslash.wrapping_sub(LO) & !backslash)) & HI;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&c| c == b'\t' || c == b'\\')
        .map(|k| i + k)
}

/// Count the fields of a COPY text line and check its escapes, building strings
/// only for fields with byte escapes (which must decode to UTF-8).
pub(crate) fn check_copy_line(line: &[u8], scratch: &mut Vec<u8>) -> Result<usize, LineError> {
    let mut fields = 1;
    let mut start = 0;
    let mut byte_escapes = false;
    let mut i = 0;
    while let Some(at) = next_special(line, i) {
        if line[at] == b'\t' {
            if byte_escapes {
                check_field(&line[start..at], fields, scratch)?;
                byte_escapes = false;
            }
            fields += 1;
            start = at + 1;
            i = at + 1;
        } else {
            let Some(&c) = line.get(at + 1) else {
                return Err(LineError::TrailingBackslash);
            };
            byte_escapes |= c == b'x' || (b'0'..=b'7').contains(&c);
            i = at + 2;
        }
    }
    if byte_escapes {
        check_field(&line[start..], fields, scratch)?;
    }
    Ok(fields)
}

fn check_field(raw: &[u8], field: usize, scratch: &mut Vec<u8>) -> Result<(), LineError> {
    scratch.clear();
    decode_copy(raw, scratch, field)?;
    std::str::from_utf8(scratch)
        .map(|_| ())
        .map_err(|_| LineError::Utf8(field))
}

/// Split a COPY text line (without its line end) into `out`: `\N` is NULL, escapes
/// are decoded. The Strings already in `out` are reused for the new values, which
/// saves an allocation per field on the data path.
pub(crate) fn parse_copy_line(line: &str, out: &mut Vec<Option<String>>) -> Result<(), LineError> {
    let b = line.as_bytes();
    let mut n = 0;
    let mut start = 0;
    let mut escaped = false;
    let mut i = 0;
    loop {
        let at = next_special(b, i);
        if let Some(at) = at.filter(|&at| b[at] == b'\\') {
            if at + 1 >= b.len() {
                out.truncate(n);
                return Err(LineError::TrailingBackslash);
            }
            escaped = true;
            i = at + 2;
            continue;
        }
        // A tab or the end: tabs are ASCII, so these are character boundaries.
        let end = at.unwrap_or(b.len());
        n += 1;
        if out.len() < n {
            out.push(None);
        }
        if let Err(e) = copy_field(&line[start..end], escaped, n, &mut out[n - 1]) {
            out.truncate(n - 1);
            return Err(e);
        }
        if at.is_none() {
            out.truncate(n);
            return Ok(());
        }
        start = end + 1;
        escaped = false;
        i = end + 1;
    }
}

/// Buffers larger than this are not kept for the next row.
const KEEP: usize = 1 << 16;

/// Set `slot` to field number `field` of a line, reusing its String.
fn copy_field(
    raw: &str,
    escaped: bool,
    field: usize,
    slot: &mut Option<String>,
) -> Result<(), LineError> {
    if escaped && raw == "\\N" {
        *slot = None;
        return Ok(());
    }
    let mut s = slot
        .take()
        .filter(|s| s.capacity() <= KEEP)
        .unwrap_or_default();
    s.clear();
    if !escaped {
        s.push_str(raw);
    } else {
        let mut bytes = s.into_bytes();
        decode_copy(raw.as_bytes(), &mut bytes, field)?;
        s = String::from_utf8(bytes).map_err(|_| LineError::Utf8(field))?;
    }
    *slot = Some(s);
    Ok(())
}

/// Decode COPY text escapes as PostgreSQL does: `\b \f \n \r \t \v`, `\NNN` octal,
/// `\xH[H]` hex, and any other `\c` is `c`.
fn decode_copy(raw: &[u8], out: &mut Vec<u8>, field: usize) -> Result<(), LineError> {
    let mut i = 0;
    while let Some(k) = raw[i..].iter().position(|&c| c == b'\\') {
        let at = i + k;
        out.extend_from_slice(&raw[i..at]);
        let Some(&c) = raw.get(at + 1) else {
            return Err(LineError::TrailingBackslash);
        };
        i = at + 2;
        let byte = match c {
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match raw.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                nonzero((v & 0xff) as u8, field)?
            }
            b'x' => match raw.get(i).and_then(|&d| hex(d)) {
                Some(high) => {
                    i += 1;
                    let mut v = high;
                    if let Some(low) = raw.get(i).and_then(|&d| hex(d)) {
                        v = v * 16 + low;
                        i += 1;
                    }
                    nonzero(v, field)?
                }
                None => b'x',
            },
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 11,
            other => other,
        };
        out.push(byte);
    }
    out.extend_from_slice(&raw[i..]);
    Ok(())
}

fn nonzero(b: u8, field: usize) -> Result<u8, LineError> {
    if b == 0 {
        Err(LineError::Nul(field))
    } else {
        Ok(b)
    }
}

fn hex(d: u8) -> Option<u8> {
    (d as char).to_digit(16).map(|v| v as u8)
}

#[cfg(test)]
pub(crate) fn escape_copy(row: &[Option<String>]) -> String {
    let mut out = String::new();
    for (i, f) in row.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match f {
            None => out.push_str("\\N"),
            Some(s) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\u{8}' => out.push_str("\\b"),
                        '\u{c}' => out.push_str("\\f"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        '\u{b}' => out.push_str("\\v"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(line: &str) -> Result<Vec<Option<String>>, LineError> {
        let mut out = Vec::new();
        parse_copy_line(line, &mut out)?;
        let mut scratch = Vec::new();
        assert_eq!(check_copy_line(line.as_bytes(), &mut scratch)?, out.len());
        Ok(out)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    #[test]
    fn copy_escapes() {
        let line = "a\\tb\t\\\\\t\\N\t\t\\b\\f\\n\\r\\t\\v\t\\101\\x41\\x4\t\\303\\251\\xc3\\xA9\t\\q\\x\t\
                    üñ 😀\ta\\Nb\t\\.";
        assert_eq!(
            parse(line).unwrap(),
            [
                s("a\tb"),
                s("\\"),
                None,
                s(""),
                s("\u{8}\u{c}\n\r\t\u{b}"),
                s("AA\u{4}"),
                s("éé"),
                s("qx"),
                s("üñ 😀"),
                s("aNb"),
                s(".")
            ]
        );
        // A backslash before a tab makes the tab data, not a separator.
        assert_eq!(parse("a\\\tb\tc").unwrap(), [s("a\tb"), s("c")]);
        assert_eq!(parse("").unwrap(), [s("")]);
        assert_eq!(parse("\\N").unwrap(), [None]);
    }

    #[test]
    fn copy_escape_errors() {
        assert_eq!(parse("ok\t\\xff"), Err(LineError::Utf8(2)));
        assert_eq!(parse("\\303"), Err(LineError::Utf8(1)));
        assert_eq!(parse("a\t\\000"), Err(LineError::Nul(2)));
        assert_eq!(parse("a\t\\x0"), Err(LineError::Nul(2)));
        assert_eq!(parse("a\tb\\"), Err(LineError::TrailingBackslash));
        let t = QualifiedName::new("public", "t");
        assert!(LineError::Utf8(2)
            .describe(&t)
            .contains("field 2 of a row of public.t"));
    }

    proptest! {
        #[test]
        fn copy_text_round_trips(
            first in prop::collection::vec(prop::option::of("[^\u{0}]{0,12}"), 1..8),
            row in prop::collection::vec(prop::option::of("[^\u{0}]{0,12}"), 1..8),
        ) {
            // The second row reuses the Strings of the first.
            let mut out = Vec::new();
            parse_copy_line(&escape_copy(&first), &mut out).unwrap();
            prop_assert_eq!(&out, &first);
            let line = escape_copy(&row);
            parse_copy_line(&line, &mut out).unwrap();
            prop_assert_eq!(&out, &row);
            let mut scratch = Vec::new();
            prop_assert_eq!(check_copy_line(line.as_bytes(), &mut scratch).unwrap(), row.len());
        }
    }

    #[test]
    fn special_bytes_found_at_every_position() {
        for len in 0..24 {
            for at in 0..len {
                for c in [b'\t', b'\\'] {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    // Bytes that differ from a tab or backslash by one bit.
                    if at + 1 < len {
                        b[at + 1] = 0x08;
                    }
                    for from in 0..=at {
                        assert_eq!(next_special(&b, from), Some(at), "{len} {at} {from}");
                    }
                    assert_eq!(next_special(&b, at + 1), None);
                }
            }
        }
        let mut b = "é\u{2028}😀x".repeat(5).into_bytes();
        assert_eq!(next_special(&b, 0), None);
        b.push(b'\t');
        assert_eq!(next_special(&b, 3), Some(b.len() - 1));
    }

    #[test]
    fn errors_leave_no_stale_fields() {
        let mut out = vec![s("old"), s("old"), s("old")];
        assert_eq!(
            parse_copy_line("a\t\\xff\tc", &mut out),
            Err(LineError::Utf8(2))
        );
        assert_eq!(out, [s("a")]);
    }
}
