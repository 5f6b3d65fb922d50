//! COPY's text format: one row a line, fields split by tabs, `\N` for NULL and
//! backslash escapes. The server's `COPY ... TO STDOUT` and a pg_dump script's
//! `COPY ... FROM stdin` blocks both use it.

/// Why a line is not a valid COPY text row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTextError(pub String);

impl std::fmt::Display for CopyTextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Split one line (without its `\n`) into `out`, decoding escapes.
pub fn split_fields(line: &[u8], out: &mut Vec<Option<String>>) -> Result<(), CopyTextError> {
    out.clear();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    for raw in line.split(|&b| b == b'\t') {
        out.push(field(raw)?);
    }
    Ok(())
}

fn field(raw: &[u8]) -> Result<Option<String>, CopyTextError> {
    if raw == b"\\N" {
        return Ok(None);
    }
    let text = if !raw.contains(&b'\\') {
        raw.to_vec()
    } else {
        unescape(raw)?
    };
    String::from_utf8(text)
        .map(Some)
        .map_err(|e| CopyTextError(format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to())))
}

fn unescape(raw: &[u8]) -> Result<Vec<u8>, CopyTextError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&c) = raw.get(i + 1) else {
            return Err(CopyTextError("a backslash ends the line".into()));
        };
        i += 2;
        match c {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
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
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 {
                    match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v * 16 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == 0 {
                    out.push(b'x');
                } else {
                    out.push(v as u8);
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Escape a field the way COPY writes it (for tests and the stream tools).
pub fn escape_field(v: Option<&str>, out: &mut String) {
    let Some(s) = v else {
        out.push_str("\\N");
        return;
    };
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_and_nulls() {
        let mut f = Vec::new();
        split_fields(b"1\t\\N\t\ta\\tb\\\\c\\n\t\\101\\x42\\q\t\xc3\xbc", &mut f).unwrap();
        assert_eq!(
            f,
            vec![
                Some("1".into()),
                None,
                Some(String::new()),
                Some("a\tb\\c\n".into()),
                Some("ABq".into()),
                Some("ü".into())
            ]
        );
        assert!(split_fields(b"\xff", &mut f).is_err());
    }

    proptest! {
        #[test]
        fn escaped_rows_split_back(row in proptest::collection::vec(proptest::option::of("\\PC*"), 1..6)) {
            let mut line = String::new();
            for (i, v) in row.iter().enumerate() {
                if i > 0 { line.push('\t'); }
                escape_field(v.as_deref(), &mut line);
            }
            let mut f = Vec::new();
            split_fields(line.as_bytes(), &mut f).unwrap();
            prop_assert_eq!(f, row);
        }
    }
}
