//! JSON Schema, as Singer taps and targets speak it: what we declare for each
//! Lightning type, and the Lightning type we choose for a foreign property.

use serde_json::{json, Map, Value as Json};

use crate::schema::{ColumnSchema, TableSchema};
use crate::types::LightningType;

/// The JSON kinds a property allows (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kinds(u8);

impl Kinds {
    pub const NULL: Kinds = Kinds(1);
    pub const BOOLEAN: Kinds = Kinds(2);
    pub const INTEGER: Kinds = Kinds(4);
    pub const NUMBER: Kinds = Kinds(8);
    pub const STRING: Kinds = Kinds(16);
    pub const OBJECT: Kinds = Kinds(32);
    pub const ARRAY: Kinds = Kinds(64);
    pub const ANY: Kinds = Kinds(127);

    fn of_name(name: &str) -> Kinds {
        match name {
            "null" => Kinds::NULL,
            "boolean" => Kinds::BOOLEAN,
            "integer" => Kinds::INTEGER,
            "number" => Kinds::NUMBER,
            "string" => Kinds::STRING,
            "object" => Kinds::OBJECT,
            "array" => Kinds::ARRAY,
            _ => Kinds::default(),
        }
    }

    pub fn has(self, k: Kinds) -> bool {
        self.0 & k.0 != 0
    }

    fn with(self, k: Kinds) -> Kinds {
        Kinds(self.0 | k.0)
    }

    fn without(self, k: Kinds) -> Kinds {
        Kinds(self.0 & !k.0)
    }

    /// The kind of a JSON value, from the first character of its text.
    pub fn of_raw(raw: &str) -> Kinds {
        match raw.as_bytes().first() {
            Some(b'n') => Kinds::NULL,
            Some(b't' | b'f') => Kinds::BOOLEAN,
            Some(b'"') => Kinds::STRING,
            Some(b'{') => Kinds::OBJECT,
            Some(b'[') => Kinds::ARRAY,
            _ if raw.bytes().all(|b| b.is_ascii_digit() || b == b'-') => Kinds::INTEGER,
            _ => Kinds::NUMBER,
        }
    }

    /// Whether a value of kind `k` is allowed (an integer is also a number).
    pub fn allows(self, k: Kinds) -> bool {
        self.has(k) || (k == Kinds::INTEGER && self.has(Kinds::NUMBER))
    }

    pub fn describe(self) -> String {
        let names = [
            "null", "boolean", "integer", "number", "string", "object", "array",
        ];
        names
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The JSON Schema we declare for a Lightning column: typed so that Singer
/// targets create a matching column. The exact type is in `lightning_schema`.
pub fn property_of(ty: LightningType, nullable: bool) -> Json {
    let (kinds, extra): (&[&str], Json) = match ty {
        LightningType::Boolean => (&["boolean"], json!({})),
        LightningType::SmallInt => (
            &["integer"],
            json!({"minimum": i16::MIN, "maximum": i16::MAX}),
        ),
        LightningType::Integer => (
            &["integer"],
            json!({"minimum": i32::MIN, "maximum": i32::MAX}),
        ),
        LightningType::BigInt => (
            &["integer"],
            json!({"minimum": i64::MIN, "maximum": i64::MAX}),
        ),
        LightningType::Float | LightningType::Double => (&["number"], json!({})),
        // No `multipleOf`: a validator dividing a long decimal by it fails
        // (Python's decimals hold 28 digits), and no target types by it.
        LightningType::Decimal(_) => (&["number"], json!({})),
        LightningType::Text => (&["string"], json!({})),
        LightningType::Blob => (&["string"], json!({"contentEncoding": "base64"})),
        LightningType::Date => (&["string"], json!({"format": "date"})),
        LightningType::Time => (&["string"], json!({"format": "time"})),
        LightningType::Timestamp | LightningType::TimestampTz => {
            (&["string"], json!({"format": "date-time"}))
        }
        LightningType::Uuid => (&["string"], json!({"format": "uuid"})),
        LightningType::Json => (
            &["object", "array", "string", "number", "boolean"],
            json!({}),
        ),
    };
    let mut types: Vec<&str> = kinds.to_vec();
    if nullable {
        types.push("null");
    }
    let mut o = extra;
    o["type"] = json!(types);
    o
}

/// A property of a foreign SCHEMA, read: the column, and the JSON kinds its
/// values may take.
pub struct Property {
    pub column: ColumnSchema,
    pub kinds: Kinds,
}

/// Every alternative a property allows: its `type` list, and the branches of
/// `anyOf`/`oneOf`, each with its own format and multipleOf.
fn alternatives<'a>(p: &'a Json, out: &mut Vec<(Kinds, &'a Json)>) {
    match p.get("type") {
        Some(Json::String(s)) => out.push((Kinds::of_name(s), p)),
        Some(Json::Array(a)) => {
            for t in a.iter().filter_map(Json::as_str) {
                out.push((Kinds::of_name(t), p));
            }
        }
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = p.get(key).and_then(Json::as_array) {
            for b in branches {
                alternatives(b, out);
            }
        }
    }
}

/// The decimal places of a `multipleOf` of the form 10^-s (0.01 → 2, 1 → 0).
fn decimal_places(step: &Json) -> Option<u32> {
    let text = step.to_string();
    let d = crate::value::Decimal::parse(&text).ok()?;
    let s = d.as_str();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    match (int, frac) {
        ("1", "") => Some(0),
        ("0", f) if f.ends_with('1') && f[..f.len() - 1].bytes().all(|b| b == b'0') => {
            Some(f.len() as u32)
        }
        _ => None,
    }
}

/// k for a `maximum` of 10^k.
fn power_of_ten(max: &Json) -> Option<u32> {
    let d = crate::value::Decimal::parse(&max.to_string()).ok()?;
    let s = d.normalized();
    let zeros = s.strip_prefix('1')?;
    zeros
        .bytes()
        .all(|b| b == b'0')
        .then_some(zeros.len() as u32)
}

/// The Lightning type that holds every value a property allows: exact where the
/// schema says enough, JSON for a mix of kinds, never a silently weaker type.
pub fn read_property(name: &str, p: &Json, required: bool) -> Property {
    let mut alts = Vec::new();
    alternatives(p, &mut alts);
    let declared = alts.iter().fold(Kinds::default(), |k, (a, _)| k.with(*a));
    // No type at all: any JSON value.
    let kinds = if declared == Kinds::default() {
        Kinds::ANY
    } else {
        declared
    };
    let values = kinds.without(Kinds::NULL);
    let string_alt = alts.iter().find(|(k, _)| *k == Kinds::STRING).map(|a| a.1);
    let number_alt = alts.iter().find(|(k, _)| *k == Kinds::NUMBER).map(|a| a.1);
    let ty = if values == Kinds::BOOLEAN {
        LightningType::Boolean
    } else if values == Kinds::INTEGER {
        // The declared range, when it is exactly a narrower type's (as we and
        // taps declare SMALLINT and INTEGER columns).
        let alt = alts
            .iter()
            .find(|(k, _)| *k == Kinds::INTEGER)
            .map_or(p, |a| a.1);
        let range = (
            alt.get("minimum").and_then(Json::as_i64),
            alt.get("maximum").and_then(Json::as_i64),
        );
        match range {
            (Some(lo), Some(hi)) if (lo, hi) == (i16::MIN.into(), i16::MAX.into()) => {
                LightningType::SmallInt
            }
            (Some(lo), Some(hi)) if (lo, hi) == (i32::MIN.into(), i32::MAX.into()) => {
                LightningType::Integer
            }
            _ => LightningType::BigInt,
        }
    } else if values == Kinds::NUMBER || values == Kinds::NUMBER.with(Kinds::INTEGER) {
        // A JSON number is decimal text: DECIMAL keeps every digit.
        // With `multipleOf` 10^-s and `maximum` 10^k (as taps declare NUMERIC(p,s)):
        // DECIMAL(k+s, s); else DECIMAL of any precision.
        let n = number_alt.unwrap_or(p);
        let places = n.get("multipleOf").and_then(decimal_places);
        let int_digits = n.get("maximum").and_then(power_of_ten);
        match (places, int_digits) {
            (Some(s), Some(k)) if k + s > 0 && k + s <= 1000 => {
                LightningType::Decimal(Some((k + s, s)))
            }
            _ => LightningType::Decimal(None),
        }
    } else if values == Kinds::STRING {
        let alt = string_alt.unwrap_or(p);
        let format = alt.get("format").and_then(Json::as_str);
        let encoding = alt.get("contentEncoding").and_then(Json::as_str);
        match (format, encoding) {
            (_, Some("base64")) | (Some("base64"), _) => LightningType::Blob,
            (Some("date-time"), _) => LightningType::TimestampTz,
            (Some("date"), _) => LightningType::Date,
            (Some("time"), _) => LightningType::Time,
            (Some("uuid"), _) => LightningType::Uuid,
            (Some("decimal" | "x-singer.decimal" | "singer.decimal"), _) => {
                LightningType::Decimal(None)
            }
            _ => LightningType::Text,
        }
    } else {
        LightningType::Json
    };
    let mut column = ColumnSchema::new(name, ty);
    // Singer: a property may be left out of a record unless it is required.
    column.nullable = !required;
    Property { column, kinds }
}

/// A table from a foreign SCHEMA message, with each column's allowed kinds.
pub fn read_schema(msg: &Json) -> Result<(TableSchema, Vec<Kinds>), String> {
    let stream = msg
        .get("stream")
        .and_then(Json::as_str)
        .ok_or("SCHEMA without stream")?;
    let props = msg
        .pointer("/schema/properties")
        .and_then(Json::as_object)
        .ok_or("SCHEMA without schema.properties")?;
    let keys: Vec<String> = msg
        .get("key_properties")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let required: Vec<&str> = msg
        .pointer("/schema/required")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    let mut t = TableSchema::new(stream);
    let mut kinds = Vec::with_capacity(props.len());
    for (name, p) in props {
        let needed = keys.contains(name) || required.contains(&name.as_str());
        let prop = read_property(name, p, needed);
        t.columns.push(prop.column);
        kinds.push(prop.kinds);
    }
    t.primary_key = keys;
    Ok((t, kinds))
}

/// The `properties` object of the JSON Schema we declare for a table.
pub fn properties_of(t: &TableSchema) -> Map<String, Json> {
    t.columns
        .iter()
        .map(|c| (c.name.clone(), property_of(c.ty, c.nullable)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(p: Json) -> LightningType {
        read_property("c", &p, false).column.ty
    }

    #[test]
    fn foreign_properties_get_a_type_that_holds_every_value() {
        let all =
            json!({"type": ["string", "number", "integer", "array", "object", "boolean", "null"]});
        assert_eq!(ty(all), LightningType::Json);
        assert_eq!(
            ty(json!({"anyOf": [{"type": "integer"}, {"type": "null"}]})),
            LightningType::BigInt
        );
        assert_eq!(
            ty(
                json!({"type": ["null", "number"], "multipleOf": 1e-9, "maximum": 1e29,
                "exclusiveMaximum": true})
            ),
            LightningType::Decimal(Some((38, 9)))
        );
        assert_eq!(
            ty(json!({"type": ["number"], "multipleOf": 0.01})),
            LightningType::Decimal(None)
        );
        assert_eq!(ty(json!({"type": "number"})), LightningType::Decimal(None));
        assert_eq!(
            ty(json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]})),
            LightningType::TimestampTz
        );
        assert_eq!(
            ty(json!({"type": ["string", "integer"]})),
            LightningType::Json
        );
        assert_eq!(ty(json!({})), LightningType::Json);
        assert_eq!(
            ty(json!({"type": "string", "contentEncoding": "base64"})),
            LightningType::Blob
        );
    }

    #[test]
    fn absent_is_allowed_unless_required() {
        let msg = json!({"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
            "schema": {"properties": {"id": {"type": "integer"}, "a": {"type": "string"},
            "b": {"type": "string"}}, "required": ["b"]}});
        let (t, kinds) = read_schema(&msg).unwrap();
        let nullable: Vec<bool> = t.columns.iter().map(|c| c.nullable).collect();
        assert_eq!(nullable, [false, true, false]);
        assert!(!kinds[1].allows(Kinds::NULL));
        assert!(kinds[0].allows(Kinds::INTEGER) && !kinds[0].allows(Kinds::NUMBER));
    }

    #[test]
    fn declared_schemas_read_back_to_the_same_kind_of_type() {
        for t in [
            LightningType::Boolean,
            LightningType::SmallInt,
            LightningType::Integer,
            LightningType::BigInt,
            LightningType::Decimal(None),
            LightningType::Text,
            LightningType::Blob,
            LightningType::Date,
            LightningType::Time,
            LightningType::TimestampTz,
            LightningType::Uuid,
            LightningType::Json,
        ] {
            assert_eq!(ty(property_of(t, true)), t, "{t}");
        }
        assert_eq!(
            ty(property_of(LightningType::Decimal(Some((10, 2))), true)),
            LightningType::Decimal(None)
        );
    }
}
