//! The line-delimited JSON stream that chains the tools, in the Singer message
//! convention: `SCHEMA` (with the exact Lightning schema), `RECORD`, `STATE`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};

use serde_json::value::RawValue;
use serde_json::{json, Value as Json};

use crate::schema::TableSchema;
use crate::store::Checkpoint;
use crate::types::LightningType;
use crate::value::{ParseValueError, Row, Value};

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("stream line {line}: {message}")]
    Malformed { line: u64, message: String },
    #[error("stream line {line}: RECORD for stream `{stream}` before its SCHEMA message")]
    NoSchema { line: u64, stream: String },
    #[error("stream line {line}, stream `{stream}`, column `{column}`: {error}")]
    BadValue {
        line: u64,
        stream: String,
        column: String,
        error: ParseValueError,
    },
    #[error("stream I/O: {0}")]
    Io(#[from] std::io::Error),
}

mod singer;

pub use singer::{property_of, Kinds};

pub fn schema_message(t: &TableSchema) -> Json {
    json!({
        "type": "SCHEMA",
        "stream": t.name,
        "schema": { "type": "object", "properties": singer::properties_of(t) },
        "key_properties": t.primary_key,
        "lightning_schema": t,
    })
}

/// A RECORD message, as the line it is written as. Rows of a table without a
/// primary key carry their row id (`rowid`, outside the record) so that a store
/// rebuilt from the stream keys them as the source did.
pub fn record_message(t: &TableSchema, row: &Row, rowid: Option<i64>) -> RecordMessage {
    let mut out = Vec::with_capacity(64 + 16 * row.len());
    out.extend_from_slice(b"{\"record\":{");
    for (i, (c, v)) in t.columns.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &c.name).expect("a string serializes");
        out.push(b':');
        write_value(&mut out, v);
    }
    out.push(b'}');
    if let (Some(id), true) = (rowid, t.primary_key.is_empty()) {
        out.extend_from_slice(format!(",\"rowid\":{id}").as_bytes());
    }
    out.extend_from_slice(b",\"stream\":");
    serde_json::to_writer(&mut out, &t.name).expect("a string serializes");
    out.extend_from_slice(b",\"type\":\"RECORD\"}");
    RecordMessage(out)
}

/// A value in a RECORD. Finite decimals are JSON numbers with every digit (JSON
/// numbers are decimal text; Singer targets read them as decimals). A JSON
/// document is embedded as it is when it is an object, array, number or
/// boolean on one line; a string or `null` document, or one with line breaks,
/// travels as its text in a string (see docs/stream.md).
fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Decimal(d) if !d.is_special() => out.extend_from_slice(d.as_str().as_bytes()),
        Value::Json(text) if embeddable(text) => out.extend_from_slice(text.trim().as_bytes()),
        Value::Timestamp(_) | Value::TimestampTz(_) => {
            let text = v.to_text().unwrap_or_default();
            serde_json::to_writer(out, &rfc3339(text)).expect("a string serializes")
        }
        other => serde_json::to_writer(out, &other.to_json()).expect("a value serializes"),
    }
}

/// A timestamp as RFC 3339 writes it (`T`, an offset) when its year has four
/// digits, as Singer targets and checkers want: TIMESTAMP is written at `+00:00`,
/// as taps write timestamps without a time zone. Others keep their text.
fn rfc3339(text: String) -> String {
    let b = text.as_bytes();
    let plain_year = b.len() >= 19 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    if !plain_year || b[10] != b' ' {
        return text;
    }
    let mut out = text.replacen(' ', "T", 1);
    if !out.ends_with("+00:00") {
        out.push_str("+00:00");
    }
    out
}

fn embeddable(text: &str) -> bool {
    let first = text.trim_start().as_bytes().first().copied();
    matches!(first, Some(b'{' | b'[' | b't' | b'f' | b'-' | b'0'..=b'9'))
        && !text.bytes().any(|b| b == b'\n' || b == b'\r')
}

/// A RECORD message's line (without its line break).
pub struct RecordMessage(Vec<u8>);

impl RecordMessage {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

pub fn state_message(checkpoints: &BTreeMap<String, Checkpoint>) -> Json {
    json!({ "type": "STATE", "value": { "bookmarks": checkpoints } })
}

/// What a stream line can be written from.
pub trait Line {
    fn write_line(&self, out: &mut dyn Write) -> std::io::Result<()>;
}

impl Line for Json {
    fn write_line(&self, out: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")
    }
}

impl Line for RecordMessage {
    fn write_line(&self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(&self.0)?;
        out.write_all(b"\n")
    }
}

/// Writes stream messages, one JSON object per line.
pub struct StreamWriter<W: Write> {
    out: W,
}

impl<W: Write> StreamWriter<W> {
    pub fn new(out: W) -> Self {
        StreamWriter { out }
    }

    pub fn write(&mut self, msg: &dyn Line) -> std::io::Result<()> {
        msg.write_line(&mut self.out)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// One message read from a stream.
#[derive(Debug)]
pub enum Message {
    Schema(TableSchema),
    Record {
        stream: String,
        row: Row,
        rowid: Option<i64>,
    },
    /// A STATE message: its `value` as given (for an orchestrator), and our
    /// bookmarks when it holds them (another tap's state holds none).
    State {
        value: Json,
        bookmarks: Option<BTreeMap<String, Checkpoint>>,
    },
}

/// The fields of a message line that are read at once; the rest stays raw.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    record: Option<&'a RawValue>,
    #[serde(default)]
    rowid: Option<i64>,
}

/// A stream's table, as the reader knows it.
struct Known {
    schema: TableSchema,
    /// For a foreign SCHEMA: the JSON kinds each column's values may take.
    kinds: Option<Vec<Kinds>>,
}

/// Reads a stream, checking each record against its stream's schema.
pub struct StreamReader<R: BufRead> {
    input: R,
    line: u64,
    schemas: BTreeMap<String, Known>,
    buf: String,
}

impl<R: BufRead> StreamReader<R> {
    pub fn new(input: R) -> Self {
        StreamReader {
            input,
            line: 0,
            schemas: BTreeMap::new(),
            buf: String::new(),
        }
    }

    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn schema(&self, stream: &str) -> Option<&TableSchema> {
        self.schemas.get(stream).map(|k| &k.schema)
    }

    /// Whether the stream's SCHEMA was a plain Singer one (no `lightning_schema`).
    pub fn is_foreign(&self, stream: &str) -> bool {
        self.schemas.get(stream).is_some_and(|k| k.kinds.is_some())
    }

    fn malformed(&self, m: impl Into<String>) -> StreamError {
        StreamError::Malformed {
            line: self.line,
            message: m.into(),
        }
    }

    /// The next message, or `None` at the end of the stream.
    pub fn next_message(&mut self) -> Result<Option<Message>, StreamError> {
        loop {
            self.buf.clear();
            if self.input.read_line(&mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.trim().is_empty() {
                continue;
            }
            let raw = std::mem::take(&mut self.buf);
            // Python taps write NaN and ±Infinity as bare words, which JSON lacks.
            let mut fixed = String::new();
            let env: Envelope<'_> = match serde_json::from_str(&raw) {
                Ok(env) => env,
                Err(e) => {
                    let not_json = || self.malformed(format!("not JSON: {e}"));
                    fixed = python_literals(&raw).ok_or_else(not_json)?;
                    serde_json::from_str(&fixed).map_err(|_| not_json())?
                }
            };
            let text: &str = if fixed.is_empty() { &raw } else { &fixed };
            let kind = env.kind.as_deref().unwrap_or("");
            let msg = match kind {
                "SCHEMA" => Some(self.schema_msg(text)?),
                "RECORD" => Some(self.record_msg(&env)?),
                "STATE" => {
                    let mut all: Json = serde_json::from_str(text)
                        .map_err(|e| self.malformed(format!("bad STATE: {e}")))?;
                    let value = all.get_mut("value").map(Json::take).unwrap_or(Json::Null);
                    // Our bookmarks become checkpoints; any other state passes through.
                    let bookmarks = value
                        .get("bookmarks")
                        .and_then(|b| serde_json::from_value(b.clone()).ok());
                    Some(Message::State { value, bookmarks })
                }
                "ACTIVATE_VERSION" | "BATCH" => None,
                "" => return Err(self.malformed("a message without `type`")),
                other => return Err(self.malformed(format!("unknown message type `{other}`"))),
            };
            drop(env);
            self.buf = raw;
            if let Some(m) = msg {
                return Ok(Some(m));
            }
        }
    }

    fn schema_msg(&mut self, text: &str) -> Result<Message, StreamError> {
        let msg: Json =
            serde_json::from_str(text).map_err(|e| self.malformed(format!("not JSON: {e}")))?;
        let (schema, kinds) = match msg.get("lightning_schema") {
            Some(s) => (
                serde_json::from_value(s.clone())
                    .map_err(|e| self.malformed(format!("bad lightning_schema: {e}")))?,
                None,
            ),
            None => {
                let (t, kinds) = singer::read_schema(&msg).map_err(|e| self.malformed(e))?;
                (t, Some(kinds))
            }
        };
        schema
            .validate()
            .map_err(|e| self.malformed(format!("bad SCHEMA: {e}")))?;
        self.schemas.insert(
            schema.name.clone(),
            Known {
                schema: schema.clone(),
                kinds,
            },
        );
        Ok(Message::Schema(schema))
    }

    fn record_msg(&self, env: &Envelope<'_>) -> Result<Message, StreamError> {
        let stream = env
            .stream
            .as_deref()
            .ok_or_else(|| self.malformed("RECORD without stream"))?;
        let Some(known) = self.schemas.get(stream) else {
            return Err(StreamError::NoSchema {
                line: self.line,
                stream: stream.to_string(),
            });
        };
        let rec: HashMap<Cow<'_, str>, &RawValue> = env
            .record
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .ok_or_else(|| self.malformed("RECORD without record object"))?;
        let mut row = Vec::with_capacity(known.schema.columns.len());
        for (i, c) in known.schema.columns.iter().enumerate() {
            let kinds = known.kinds.as_ref().map(|k| k[i]);
            let v =
                read_value(c.ty, kinds, rec.get(c.name.as_str()).copied()).map_err(|error| {
                    StreamError::BadValue {
                        line: self.line,
                        stream: stream.to_string(),
                        column: c.name.clone(),
                        error,
                    }
                })?;
            row.push(v);
        }
        Ok(Message::Record {
            stream: stream.to_string(),
            row,
            rowid: env.rowid,
        })
    }
}

/// A record's value for a column. `kinds` is given for a foreign stream: there a
/// JSON column holds the value itself, and a value of a kind the schema does not
/// allow is refused. In our own streams a JSON column's string is the JSON text.
fn read_value(
    ty: LightningType,
    kinds: Option<Kinds>,
    raw: Option<&RawValue>,
) -> Result<Value, ParseValueError> {
    let Some(raw) = raw else {
        return Ok(Value::Null);
    };
    let text = raw.get();
    let bad = |why: String| ParseValueError {
        text: text.chars().take(80).collect(),
        ty,
        why,
    };
    let kind = Kinds::of_raw(text);
    // A bare NaN or Infinity the tap wrote (see `python_literals`).
    let bare = text
        .strip_prefix("\"\\u0000")
        .and_then(|t| t.strip_suffix('"'));
    if let Some(allowed) = kinds {
        // A foreign JSON column holds any value: taps declare them loosely.
        let any = ty == LightningType::Json && kind != Kinds::NULL;
        let number = bare.is_some() && allowed.has(Kinds::NUMBER);
        if !allowed.allows(kind) && !any && !number {
            return Err(bad(format!(
                "a {} where the SCHEMA allows {}",
                kind.describe(),
                allowed.describe()
            )));
        }
    }
    if let Some(word) = bare {
        return match ty {
            LightningType::Float | LightningType::Double | LightningType::Decimal(_) => {
                Value::from_text(ty, word)
            }
            _ => Err(bad(format!("a bare {word}, which is not JSON"))),
        };
    }
    if ty == LightningType::Json && text.contains("\\u0000") && python_marked(text) {
        return Err(bad(
            "a document holding a bare NaN or Infinity, which is not JSON (a number the writer could not print): it cannot be stored as it was".into(),
        ));
    }
    if kind == Kinds::NULL {
        return Ok(Value::Null);
    }
    match ty {
        LightningType::Json if kinds.is_some() || kind != Kinds::STRING => {
            Ok(Value::Json(text.to_string()))
        }
        // A number's text, every digit of it.
        LightningType::Decimal(_) if kind == Kinds::INTEGER || kind == Kinds::NUMBER => {
            Value::from_text(ty, text)
        }
        _ => {
            let j: Json = serde_json::from_str(text).map_err(|e| {
                bad(if e.to_string().contains("out of range") {
                    "a number beyond a 64-bit float".to_string()
                } else {
                    e.to_string()
                })
            })?;
            Value::from_json(ty, &j)
        }
    }
}

/// What a bare word becomes: a string no JSON writer produces (it starts with
/// NUL), so that it is never taken for text.
const MARK: &str = "\\u0000";

/// Whether a JSON text holds a string made by `python_literals`.
fn python_marked(text: &str) -> bool {
    ["NaN", "Infinity", "-Infinity"]
        .iter()
        .any(|w| text.contains(&format!("\"{MARK}{w}\"")))
}

/// The line with bare `NaN`, `Infinity` and `-Infinity` (outside strings) made
/// marked strings, or `None` when it has none. Python's JSON writer prints them.
fn python_literals(line: &str) -> Option<String> {
    let mut out = String::with_capacity(line.len() + 16);
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(word) = ["NaN", "Infinity", "-Infinity"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push('"');
            out.push_str(MARK);
            out.push_str(word);
            out.push('"');
            rest = &rest[word.len()..];
            changed = true;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> Vec<Result<Message, String>> {
        let text = lines.join("\n");
        let mut r = StreamReader::new(text.as_bytes());
        let mut out = Vec::new();
        loop {
            match r.next_message() {
                Ok(Some(m)) => out.push(Ok(m)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        out
    }

    const TAP_SCHEMA: &str = r#"{"type":"SCHEMA","stream":"t","key_properties":["id"],"schema":{"properties":{"id":{"type":["integer"]},"amount":{"type":["null","number"],"multipleOf":1e-9,"maximum":1e29},"doc":{"type":["null","string","number","integer","array","object","boolean"]},"ratio":{"type":["null","number"]}}}}"#;

    fn record(m: &Result<Message, String>) -> Vec<Value> {
        match m {
            Ok(Message::Record { row, .. }) => row.clone(),
            other => panic!("not a record: {other:?}"),
        }
    }

    #[test]
    fn a_taps_values_are_read_exactly() {
        let got = read(&[
            TAP_SCHEMA,
            r#"{"type":"RECORD","stream":"t","record":{"id":1,"amount":12345678901234567890.123456789,"doc":{"n":1E+400},"ratio":NaN}}"#,
            r#"{"type":"RECORD","stream":"t","record":{"id":2,"doc":"str"}}"#,
        ]);
        let r1 = record(&got[1]);
        assert_eq!(r1[1].to_text().unwrap(), "12345678901234567890.123456789");
        assert_eq!(r1[2], Value::Json(r#"{"n":1E+400}"#.into()));
        assert_eq!(r1[3].to_text().unwrap(), "NaN");
        let r2 = record(&got[2]);
        assert_eq!(r2[2], Value::Json(r#""str""#.into()));
        assert_eq!(r2[1], Value::Null);
    }

    #[test]
    fn a_document_with_a_bare_infinity_is_refused_not_changed() {
        let got = read(&[
            TAP_SCHEMA,
            r#"{"type":"RECORD","stream":"t","record":{"id":1,"doc":{"big":Infinity}}}"#,
        ]);
        let err = got[1].as_ref().unwrap_err();
        assert!(err.contains("bare NaN or Infinity"), "{err}");
    }

    #[test]
    fn a_value_the_schema_does_not_allow_is_refused() {
        let got = read(&[
            TAP_SCHEMA,
            r#"{"type":"RECORD","stream":"t","record":{"id":"x"}}"#,
        ]);
        let err = got[1].as_ref().unwrap_err();
        assert!(
            err.contains("a string where the SCHEMA allows integer"),
            "{err}"
        );
    }

    #[test]
    fn foreign_state_passes_through() {
        let got = read(&[
            r#"{"type":"STATE","value":{"bookmarks":{"public-t":{"version":1,"last_replication_method":"FULL_TABLE"}}}}"#,
        ]);
        match &got[0] {
            Ok(Message::State { value, bookmarks }) => {
                assert!(bookmarks.is_none());
                assert_eq!(value["bookmarks"]["public-t"]["version"], 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn our_json_text_must_be_json() {
        let t = TableSchema {
            columns: vec![crate::schema::ColumnSchema::new("j", LightningType::Json)],
            ..TableSchema::new("j")
        };
        let schema = schema_message(&t).to_string();
        let got = read(&[
            &schema,
            r#"{"type":"RECORD","stream":"j","record":{"j":"{not json"}}"#,
        ]);
        assert!(got[1].as_ref().unwrap_err().contains("not JSON"));
    }

    #[test]
    fn records_read_back_as_written() {
        let mut t = TableSchema::new("w");
        for (n, ty) in [
            ("d", LightningType::Decimal(Some((12, 3)))),
            ("j", LightningType::Json),
            ("k", LightningType::Json),
            ("f", LightningType::Double),
        ] {
            t.columns.push(crate::schema::ColumnSchema::new(n, ty));
        }
        let row = vec![
            Value::Decimal(crate::value::Decimal::parse("1.500").unwrap()),
            Value::Json("[1, 2.50]".into()),
            Value::Json("\"s\"".into()),
            Value::Double(f64::NEG_INFINITY),
        ];
        let line = record_message(&t, &row, None);
        let text = String::from_utf8(line.as_bytes().to_vec()).unwrap();
        assert!(text.contains(r#""d":1.500"#), "{text}");
        assert!(text.contains(r#""j":[1, 2.50]"#), "{text}");
        let schema = schema_message(&t).to_string();
        let got = read(&[&schema, &text]);
        assert_eq!(record(&got[1]), row);
    }

    #[test]
    fn python_literals_become_strings_outside_strings_only() {
        assert_eq!(
            python_literals(r#"{"a":NaN,"b":"NaN Infinity","c":-Infinity}"#).as_deref(),
            Some(r#"{"a":"\u0000NaN","b":"NaN Infinity","c":"\u0000-Infinity"}"#)
        );
        assert_eq!(python_literals(r#"{"a":1}"#), None);
    }
}
