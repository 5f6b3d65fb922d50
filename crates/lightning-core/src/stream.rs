//! The line-delimited JSON stream that chains the tools, in the Singer message
//! convention: `SCHEMA` (with the exact Lightning schema), `RECORD`, `STATE`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde_json::{json, Map, Value as Json};

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

/// A JSON-Schema description of a Lightning type, for Singer consumers. Formats
/// are named only where the text really is in that format; the exact type is in
/// `lightning_schema`.
fn json_schema_of(ty: LightningType, nullable: bool) -> Json {
    let (mut types, format): (Vec<&str>, Option<&str>) = match ty {
        LightningType::Boolean => (vec!["boolean"], None),
        LightningType::SmallInt | LightningType::Integer | LightningType::BigInt => {
            (vec!["integer"], None)
        }
        // NaN and the infinities travel as strings.
        LightningType::Float | LightningType::Double => (vec!["number", "string"], None),
        LightningType::Decimal(_) => (vec!["string"], None),
        LightningType::Blob => (vec!["string"], Some("base64")),
        LightningType::Date => (vec!["string"], None),
        LightningType::Uuid => (vec!["string"], Some("uuid")),
        LightningType::Text
        | LightningType::Json
        | LightningType::Time
        | LightningType::Timestamp
        | LightningType::TimestampTz => (vec!["string"], None),
    };
    if nullable {
        types.push("null");
    }
    let mut o = json!({ "type": types });
    if let Some(f) = format {
        o["format"] = json!(f);
    }
    o
}

pub fn schema_message(t: &TableSchema) -> Json {
    let props: Map<String, Json> = t
        .columns
        .iter()
        .map(|c| (c.name.clone(), json_schema_of(c.ty, c.nullable)))
        .collect();
    json!({
        "type": "SCHEMA",
        "stream": t.name,
        "schema": { "type": "object", "properties": props },
        "key_properties": t.primary_key,
        "lightning_schema": t,
    })
}

/// A RECORD message. Rows of a table without a primary key carry their row id
/// (`rowid`, outside the record) so that a store rebuilt from the stream keys
/// them as the source did.
pub fn record_message(t: &TableSchema, row: &Row, rowid: Option<i64>) -> Json {
    let rec: Map<String, Json> = t
        .columns
        .iter()
        .zip(row)
        .map(|(c, v)| (c.name.clone(), v.to_json()))
        .collect();
    let mut msg = json!({ "type": "RECORD", "stream": t.name, "record": rec });
    if let (Some(id), true) = (rowid, t.primary_key.is_empty()) {
        msg["rowid"] = json!(id);
    }
    msg
}

pub fn state_message(checkpoints: &BTreeMap<String, Checkpoint>) -> Json {
    json!({ "type": "STATE", "value": { "bookmarks": checkpoints } })
}

/// Writes stream messages, one JSON object per line.
pub struct StreamWriter<W: Write> {
    out: W,
}

impl<W: Write> StreamWriter<W> {
    pub fn new(out: W) -> Self {
        StreamWriter { out }
    }

    pub fn write(&mut self, msg: &Json) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, msg)?;
        self.out.write_all(b"\n")
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
    State(BTreeMap<String, Checkpoint>),
}

/// Reads a stream, checking each record against its stream's schema.
pub struct StreamReader<R: BufRead> {
    input: R,
    line: u64,
    schemas: BTreeMap<String, TableSchema>,
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
        self.schemas.get(stream)
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
            let msg: Json = serde_json::from_str(&self.buf)
                .map_err(|e| self.malformed(format!("not JSON: {e}")))?;
            let kind = msg.get("type").and_then(Json::as_str).unwrap_or("");
            match kind {
                "SCHEMA" => return self.schema_msg(&msg).map(Some),
                "RECORD" => return self.record_msg(msg).map(Some),
                "STATE" => {
                    let marks = msg
                        .pointer("/value/bookmarks")
                        .cloned()
                        .unwrap_or(Json::Null);
                    if marks.is_null() {
                        continue; // a state this tool did not write: nothing to resume from
                    }
                    let parsed = serde_json::from_value(marks)
                        .map_err(|e| self.malformed(format!("bad STATE: {e}")))?;
                    return Ok(Some(Message::State(parsed)));
                }
                "ACTIVATE_VERSION" | "BATCH" => continue,
                other => return Err(self.malformed(format!("unknown message type `{other}`"))),
            }
        }
    }

    fn schema_msg(&mut self, msg: &Json) -> Result<Message, StreamError> {
        let schema: TableSchema = match msg.get("lightning_schema") {
            Some(s) => serde_json::from_value(s.clone())
                .map_err(|e| self.malformed(format!("bad lightning_schema: {e}")))?,
            None => self.schema_from_json_schema(msg)?,
        };
        schema
            .validate()
            .map_err(|e| self.malformed(format!("bad SCHEMA: {e}")))?;
        self.schemas.insert(schema.name.clone(), schema.clone());
        Ok(Message::Schema(schema))
    }

    /// A plain Singer SCHEMA (from another tap): map JSON-Schema types conservatively.
    fn schema_from_json_schema(&self, msg: &Json) -> Result<TableSchema, StreamError> {
        let stream = msg
            .get("stream")
            .and_then(Json::as_str)
            .ok_or_else(|| self.malformed("SCHEMA without stream"))?;
        let props = msg
            .pointer("/schema/properties")
            .and_then(Json::as_object)
            .ok_or_else(|| self.malformed("SCHEMA without properties"))?;
        let mut t = TableSchema::new(stream);
        for (name, p) in props {
            let types: Vec<&str> = match p.get("type") {
                Some(Json::String(s)) => vec![s.as_str()],
                Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
                _ => vec![],
            };
            let format = p.get("format").and_then(Json::as_str);
            let ty = if types.contains(&"integer") {
                LightningType::BigInt
            } else if types.contains(&"number") {
                LightningType::Double
            } else if types.contains(&"boolean") {
                LightningType::Boolean
            } else if types.contains(&"object") || types.contains(&"array") {
                LightningType::Json
            } else {
                match format {
                    Some("date-time") => LightningType::TimestampTz,
                    Some("date") => LightningType::Date,
                    _ => LightningType::Text,
                }
            };
            let mut c = crate::schema::ColumnSchema::new(name.clone(), ty);
            c.nullable = types.is_empty() || types.contains(&"null");
            t.columns.push(c);
        }
        if let Some(keys) = msg.get("key_properties").and_then(Json::as_array) {
            t.primary_key = keys
                .iter()
                .filter_map(Json::as_str)
                .map(String::from)
                .collect();
        }
        Ok(t)
    }

    fn record_msg(&mut self, msg: Json) -> Result<Message, StreamError> {
        let stream = msg
            .get("stream")
            .and_then(Json::as_str)
            .ok_or_else(|| self.malformed("RECORD without stream"))?
            .to_string();
        let Some(schema) = self.schemas.get(&stream) else {
            return Err(StreamError::NoSchema {
                line: self.line,
                stream,
            });
        };
        let rec = msg
            .get("record")
            .and_then(Json::as_object)
            .ok_or_else(|| self.malformed("RECORD without record object"))?;
        let mut row = Vec::with_capacity(schema.columns.len());
        for c in &schema.columns {
            let j = rec.get(&c.name).unwrap_or(&Json::Null);
            let v = match (c.ty, j) {
                (LightningType::Json, Json::Object(_) | Json::Array(_)) => {
                    Value::Json(j.to_string())
                }
                _ => Value::from_json(c.ty, j).map_err(|source| StreamError::BadValue {
                    line: self.line,
                    stream: stream.clone(),
                    column: c.name.clone(),
                    error: source,
                })?,
            };
            row.push(v);
        }
        let rowid = msg.get("rowid").and_then(Json::as_i64);
        Ok(Message::Record { stream, row, rowid })
    }
}
