//! Writing to stdout: a locked, buffered writer, a broken pipe treated as a normal
//! end, aligned columns, JSON objects in column order, and CSV quoting.

use std::io::{self, BufWriter, StdoutLock, Write};

use lightning_core::{TableSchema, Value};

/// Buffered, locked stdout. Data goes here; human messages go to stderr.
pub type Out = BufWriter<StdoutLock<'static>>;

pub fn stdout() -> Out {
    BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// Whether an error comes from writing into a closed pipe (`lightning scan | head`).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().map(io::Error::kind) == Some(io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(io::ErrorKind::BrokenPipe)
    })
}

/// Write rows of cells as aligned columns: text columns padded on the right, the
/// columns flagged in `right` padded on the left (numbers). The last column is not
/// padded when it is left-aligned.
pub fn write_aligned(out: &mut impl Write, rows: &[Vec<String>], right: &[bool]) -> io::Result<()> {
    // Names and values came from a source: a control character in one must not
    // drive the terminal.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| lightning_core::text::for_terminal(c).into_owned())
                .collect()
        })
        .collect();
    let rows = &rows;
    let ncols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            let last = c + 1 == r.len();
            if right.get(c).copied().unwrap_or(false) {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if !last {
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// One row as a JSON object whose keys come in column order (a `serde_json::Map`
/// would sort them). A JSON column's value is written as the JSON it holds, as
/// stored (numbers keep every digit), so that `jq` reads it as a document.
pub fn write_json_row(out: &mut impl Write, t: &TableSchema, row: &[Value]) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (c, v)) in t.columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &c.name)?;
        out.write_all(b":")?;
        match v {
            // A raw line break in valid JSON is only ever whitespace: made a
            // space, the row stays one NDJSON line.
            Value::Json(text) if is_one_json_document(text) => {
                out.write_all(text.trim().replace(['\n', '\r'], " ").as_bytes())?
            }
            v => serde_json::to_writer(&mut *out, &v.to_json())?,
        }
    }
    out.write_all(b"}")
}

/// Whether `text` is exactly one JSON value (checked without converting numbers,
/// which may be beyond a double's range).
fn is_one_json_document(text: &str) -> bool {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(text);
    serde::de::IgnoredAny::deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// One CSV field, quoted as RFC 4180 asks: when it holds a comma, a double quote,
/// a line break, or is empty (so that an empty string differs from NULL, which is
/// written as an empty unquoted field).
pub fn csv_field(out: &mut String, text: &str) {
    let needs_quotes = text.is_empty() || text.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// The CSV header line of a table: its column names.
pub fn csv_header(t: &TableSchema) -> String {
    let mut line = String::new();
    for (i, c) in t.columns.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        csv_field(&mut line, &c.name);
    }
    line.push('\n');
    line
}

/// One row as a CSV line: canonical text forms, NULL as an empty unquoted field.
pub fn csv_row(line: &mut String, row: &[Value]) {
    line.clear();
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        if let Some(text) = v.to_text() {
            csv_field(line, &text);
        }
    }
    line.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_columns_are_written_as_json() {
        let mut t = TableSchema::new("t");
        t.columns = vec![
            lightning_core::ColumnSchema::new("j", lightning_core::LightningType::Json),
            lightning_core::ColumnSchema::new("s", lightning_core::LightningType::Text),
        ];
        let mut out = Vec::new();
        let big = r#"{"a": [1, 2.50, null], "n": 1E+400}"#;
        write_json_row(
            &mut out,
            &t,
            &[Value::Json(big.into()), Value::Text("{}".into())],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"j":{"a": [1, 2.50, null], "n": 1E+400},"s":"{}"}"#
        );
        let mut out = Vec::new();
        write_json_row(
            &mut out,
            &t,
            &[Value::Json("{not json".into()), Value::Null],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"j":"{not json","s":null}"#
        );
        let mut out = Vec::new();
        write_json_row(
            &mut out,
            &t,
            &[Value::Json("{\n\"a\": 1\n}".into()), Value::Null],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"j\":{ \"a\": 1 },\"s\":null}"
        );
    }

    fn field(s: &str) -> String {
        let mut out = String::new();
        csv_field(&mut out, s);
        out
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "\"\"");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\r"), "\"cr\r\"");
        assert_eq!(field("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn null_and_empty_differ() {
        let mut line = String::new();
        csv_row(
            &mut line,
            &[Value::Null, Value::Text(String::new()), Value::Int(1)],
        );
        assert_eq!(line, ",\"\",1\n");
    }

    #[test]
    fn alignment() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["users".to_string(), "3".to_string()],
            vec!["ev".to_string(), "1200".to_string()],
        ];
        write_aligned(&mut out, &rows, &[false, true]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "users     3\nev     1200\n"
        );
    }
}
