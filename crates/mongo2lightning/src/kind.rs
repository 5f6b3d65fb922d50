//! BSON values and the Lightning columns that hold them: which column type a BSON
//! type becomes, and the conversion both ways. A conversion that would not give
//! back the same BSON value refuses (`None`): the value is then kept elsewhere
//! (the row's `_extra`), never changed.

use std::fmt;
use std::str::FromStr;

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Decimal128, Timestamp};
use lightning_core::value::{Decimal, Value, TIMESTAMP_EPOCH_DAYS};
use lightning_core::LightningType;
use serde::{Deserialize, Serialize};

/// What a column holds: one BSON type, or any value as Extended JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "objectId")]
    ObjectId,
    #[serde(rename = "string")]
    String,
    #[serde(rename = "int")]
    Int,
    #[serde(rename = "long")]
    Long,
    #[serde(rename = "double")]
    Double,
    #[serde(rename = "decimal")]
    Decimal,
    #[serde(rename = "bool")]
    Bool,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "timestamp")]
    Timestamp,
    /// Binary of subtype 4 (UUID), 16 bytes.
    #[serde(rename = "uuid")]
    Uuid,
    /// Binary of subtype 0 (generic).
    #[serde(rename = "binData")]
    BinData,
    /// Any value, as Extended JSON (relaxed where that reads back the same value,
    /// canonical otherwise).
    #[serde(rename = "json")]
    Json,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::ObjectId,
        Kind::String,
        Kind::Int,
        Kind::Long,
        Kind::Double,
        Kind::Decimal,
        Kind::Bool,
        Kind::Date,
        Kind::Timestamp,
        Kind::Uuid,
        Kind::BinData,
        Kind::Json,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::ObjectId => "objectId",
            Kind::String => "string",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Double => "double",
            Kind::Decimal => "decimal",
            Kind::Bool => "bool",
            Kind::Date => "date",
            Kind::Timestamp => "timestamp",
            Kind::Uuid => "uuid",
            Kind::BinData => "binData",
            Kind::Json => "json",
        }
    }

    /// The Lightning column type that holds this kind exactly.
    pub fn column_type(self) -> LightningType {
        match self {
            Kind::ObjectId | Kind::String => LightningType::Text,
            Kind::Int => LightningType::Integer,
            Kind::Long | Kind::Timestamp => LightningType::BigInt,
            Kind::Double => LightningType::Double,
            Kind::Decimal => LightningType::Decimal(None),
            Kind::Bool => LightningType::Boolean,
            Kind::Date => LightningType::TimestampTz,
            Kind::Uuid => LightningType::Uuid,
            Kind::BinData => LightningType::Blob,
            Kind::Json => LightningType::Json,
        }
    }

    /// The value for a column of this kind, when it holds `b` exactly.
    pub fn to_value(self, b: &Bson) -> Option<Value> {
        Some(match (self, b) {
            (Kind::Json, b) => Value::Json(json_text(b)),
            (Kind::ObjectId, Bson::ObjectId(o)) => Value::Text(o.to_hex()),
            (Kind::String, Bson::String(s)) => Value::Text(s.clone()),
            (Kind::Int, Bson::Int32(i)) => Value::Int(*i as i64),
            (Kind::Long, Bson::Int64(i)) => Value::Int(*i),
            (Kind::Double, Bson::Double(f)) => Value::Double(*f),
            (Kind::Decimal, Bson::Decimal128(d)) => {
                let dec = Decimal::parse(&d.to_string()).ok()?;
                // `1E+3` and `-0` have no DECIMAL form that reads back the same.
                let back = Decimal128::from_str(dec.as_str()).ok()?;
                if back.bytes() != d.bytes() {
                    return None;
                }
                Value::Decimal(dec)
            }
            (Kind::Bool, Bson::Boolean(v)) => Value::Bool(*v),
            (Kind::Date, Bson::DateTime(d)) => {
                let micros = d.timestamp_millis().checked_mul(1000)?;
                Value::TimestampTz(micros.checked_sub(EPOCH_2000_MICROS)?)
            }
            (Kind::Timestamp, Bson::Timestamp(t)) => {
                Value::Int((((t.time as u64) << 32) | t.increment as u64) as i64)
            }
            (Kind::Uuid, Bson::Binary(bin))
                if bin.subtype == BinarySubtype::Uuid && bin.bytes.len() == 16 =>
            {
                Value::Uuid(bin.bytes.as_slice().try_into().ok()?)
            }
            (Kind::BinData, Bson::Binary(bin)) if bin.subtype == BinarySubtype::Generic => {
                Value::Blob(bin.bytes.clone())
            }
            _ => return None,
        })
    }

    /// The BSON value a column of this kind holds (the inverse of `to_value`).
    pub fn to_bson(self, v: &Value) -> Result<Bson, String> {
        let bad = || format!("a {} column holds {}", self.name(), v.kind());
        Ok(match (self, v) {
            (Kind::Json, Value::Json(text)) => parse_json_text(text)?,
            (Kind::ObjectId, Value::Text(hex)) => {
                Bson::ObjectId(bson::oid::ObjectId::parse_str(hex).map_err(|e| format!("{e}"))?)
            }
            (Kind::String, Value::Text(s)) => Bson::String(s.clone()),
            (Kind::Int, Value::Int(i)) => {
                Bson::Int32(i32::try_from(*i).map_err(|_| format!("{i} is not an int"))?)
            }
            (Kind::Long, Value::Int(i)) => Bson::Int64(*i),
            (Kind::Double, Value::Double(f)) => Bson::Double(*f),
            (Kind::Decimal, Value::Decimal(d)) => {
                Bson::Decimal128(Decimal128::from_str(d.as_str()).map_err(|e| format!("{e}"))?)
            }
            (Kind::Bool, Value::Bool(b)) => Bson::Boolean(*b),
            (Kind::Date, Value::TimestampTz(us)) => {
                let ms = (*us + EPOCH_2000_MICROS).div_euclid(1000);
                Bson::DateTime(bson::DateTime::from_millis(ms))
            }
            (Kind::Timestamp, Value::Int(i)) => {
                let u = *i as u64;
                Bson::Timestamp(Timestamp {
                    time: (u >> 32) as u32,
                    increment: u as u32,
                })
            }
            (Kind::Uuid, Value::Uuid(b)) => Bson::Binary(Binary {
                subtype: BinarySubtype::Uuid,
                bytes: b.to_vec(),
            }),
            (Kind::BinData, Value::Blob(b)) => Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: b.clone(),
            }),
            _ => return Err(bad()),
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Microseconds from 1970-01-01 to 2000-01-01, the zero of Lightning timestamps.
const EPOCH_2000_MICROS: i64 = TIMESTAMP_EPOCH_DAYS * 86_400_000_000;

/// The BSON type name of any value, as MongoDB's `$type` names it.
pub fn type_name(b: &Bson) -> &'static str {
    match b {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Array(_) => "array",
        Bson::Document(_) => "object",
        Bson::Boolean(_) => "bool",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Int64(_) => "long",
        Bson::Timestamp(_) => "timestamp",
        Bson::Binary(b) if b.subtype == BinarySubtype::Uuid && b.bytes.len() == 16 => "uuid",
        Bson::Binary(b) if b.subtype == BinarySubtype::Generic => "binData",
        // Other subtypes (MD5, encrypted, user-defined, old UUIDs) keep their
        // subtype only in JSON.
        Bson::Binary(_) => "binary",
        Bson::ObjectId(_) => "objectId",
        Bson::DateTime(_) => "date",
        Bson::Symbol(_) => "symbol",
        Bson::Decimal128(_) => "decimal",
        Bson::Undefined => "undefined",
        Bson::MaxKey => "maxKey",
        Bson::MinKey => "minKey",
        Bson::DbPointer(_) => "dbPointer",
    }
}

/// A value as Extended JSON text: each value relaxed where that reads back as the
/// same value (`{"a": 1, "d": {"$date": "2024-01-01T00:00:00Z"}}`), canonical where
/// it would not (a long that an int could hold: `{"$numberLong": "1"}`).
pub fn json_text(b: &Bson) -> String {
    readable_json(b).to_string()
}

fn readable_json(b: &Bson) -> serde_json::Value {
    match b {
        Bson::Document(d) => serde_json::Value::Object(
            d.iter()
                .map(|(k, v)| (k.clone(), readable_json(v)))
                .collect(),
        ),
        Bson::Array(items) => serde_json::Value::Array(items.iter().map(readable_json).collect()),
        // Relaxed, it would read back as an int.
        Bson::Int64(i) if i32::try_from(*i).is_ok() => b.clone().into_canonical_extjson(),
        // Relaxed dates, NaN and infinities fall back to canonical forms by themselves.
        other => other.clone().into_relaxed_extjson(),
    }
}

/// Extended JSON text (relaxed or canonical) back to its value.
pub fn parse_json_text(text: &str) -> Result<Bson, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    Bson::try_from(json).map_err(|e| format!("not Extended JSON ({e})"))
}

/// A document's identity for comparisons: canonical Extended JSON with the fields
/// of every document in name order (field order is not carried by tables).
pub fn canonical_text(b: &Bson) -> String {
    fn sorted(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let mut fields: Vec<(String, serde_json::Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k, sorted(v))).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(sorted).collect())
            }
            other => other,
        }
    }
    sorted(b.clone().into_canonical_extjson()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn round_trip(kind: Kind, b: Bson) {
        let v = kind
            .to_value(&b)
            .unwrap_or_else(|| panic!("{kind} holds {b:?}"));
        assert_eq!(
            canonical_text(&kind.to_bson(&v).unwrap()),
            canonical_text(&b)
        );
    }

    #[test]
    fn every_kind_gives_back_its_value() {
        round_trip(Kind::ObjectId, Bson::ObjectId(bson::oid::ObjectId::new()));
        round_trip(Kind::String, Bson::String("héllo\0".into()));
        round_trip(Kind::Int, Bson::Int32(i32::MIN));
        round_trip(Kind::Long, Bson::Int64(i64::MAX));
        for f in [
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
        ] {
            round_trip(Kind::Double, Bson::Double(f));
        }
        for d in [
            "1.50",
            "NaN",
            "-Infinity",
            "123456789012345678901234567890.1234",
            "1E-30",
        ] {
            round_trip(Kind::Decimal, Bson::Decimal128(d.parse().unwrap()));
        }
        for ms in [-62_135_596_800_000, 0, 253_402_300_799_999, -1] {
            round_trip(Kind::Date, Bson::DateTime(bson::DateTime::from_millis(ms)));
        }
        round_trip(
            Kind::Timestamp,
            Bson::Timestamp(Timestamp {
                time: u32::MAX,
                increment: 7,
            }),
        );
        round_trip(
            Kind::Json,
            Bson::Document(
                doc! {"a": 1_i64, "b": [1, 2.5], "r": bson::Regex { pattern: "^a".to_string().try_into().unwrap(), options: "i".to_string().try_into().unwrap() }},
            ),
        );
    }

    #[test]
    fn values_without_an_exact_column_form_are_refused() {
        for d in ["-0", "1E+3", "-0.00"] {
            let b = Bson::Decimal128(d.parse().unwrap());
            assert_eq!(Kind::Decimal.to_value(&b), None, "{d}");
        }
        assert_eq!(
            Kind::Date.to_value(&Bson::DateTime(bson::DateTime::from_millis(i64::MAX))),
            None
        );
        assert_eq!(Kind::Int.to_value(&Bson::Int64(1)), None);
    }

    #[test]
    fn json_text_is_relaxed_only_where_it_reads_back_the_same() {
        assert_eq!(json_text(&Bson::Document(doc! {"a": 1})), r#"{"a":1}"#);
        assert_eq!(json_text(&Bson::Int64(1)), r#"{"$numberLong":"1"}"#);
        assert_eq!(json_text(&Bson::Int64(1 << 40)), "1099511627776");
        assert_eq!(json_text(&Bson::Double(1.0)), "1.0");
        let mixed = Bson::Document(doc! {
            "n": 1_i64,
            "d": bson::DateTime::from_millis(0),
            "old": bson::DateTime::from_millis(-1),
            "x": [f64::NAN, -0.0, 1e300],
        });
        assert_eq!(
            json_text(&mixed),
            r#"{"n":{"$numberLong":"1"},"d":{"$date":"1970-01-01T00:00:00Z"},"old":{"$date":{"$numberLong":"-1"}},"x":[{"$numberDouble":"NaN"},-0.0,1e+300]}"#
        );
        // Fields keep their order: documents that differ only in it stay apart.
        let ab = json_text(&Bson::Document(doc! {"a": 1, "b": 2}));
        assert_eq!(ab, r#"{"a":1,"b":2}"#);
        assert_eq!(json_text(&parse_json_text(&ab).unwrap()), ab);
        assert_eq!(
            json_text(&Bson::Document(doc! {"b": 2, "a": 1})),
            r#"{"b":2,"a":1}"#
        );
        // Every value reads back as itself.
        let back = parse_json_text(&json_text(&mixed)).unwrap();
        assert_eq!(canonical_text(&back), canonical_text(&mixed));
    }
}
