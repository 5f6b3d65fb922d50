//! How CQL types become Lightning types, and what the report says of them.

use lightning_core::cast::{CastRule, CastRules, SourceType};
use lightning_core::report::Severity;
use lightning_core::LightningType as T;

use crate::cql::types::CqlType;

/// The default rules of cassandra2lightning (shown by `--print-casts`).
pub fn default_rules() -> CastRules {
    let r = CastRule::default_for;
    let json = "a JSON document: lists and sets as arrays, maps as objects (keys as text)";
    CastRules::new(vec![
        r("ascii", T::Text, "US-ASCII text"),
        r("text", T::Text, "UTF-8 text"),
        r("varchar", T::Text, "UTF-8 text"),
        r(
            "tinyint",
            T::SmallInt,
            "8-bit integer: SMALLINT holds every value",
        ),
        r("smallint", T::SmallInt, "16-bit integer"),
        r("int", T::Integer, "32-bit integer"),
        r("bigint", T::BigInt, "64-bit integer"),
        r(
            "counter",
            T::BigInt,
            "the counter's value, a 64-bit integer",
        ),
        r(
            "varint",
            T::Decimal(None),
            "an integer of any size: exact as an unconstrained DECIMAL",
        ),
        r(
            "decimal",
            T::Decimal(None),
            "exact decimal of any precision and scale",
        ),
        r("float", T::Float, "32-bit IEEE float"),
        r("double", T::Double, "64-bit IEEE float"),
        r("boolean", T::Boolean, "true and false"),
        r("blob", T::Blob, "bytes as stored"),
        r(
            "date",
            T::Date,
            "a day; days outside Lightning's range are refused",
        ),
        r(
            "time",
            T::Time,
            "time of day to the microsecond; a value with nanoseconds is refused",
        ),
        r(
            "timestamp",
            T::TimestampTz,
            "an instant to the millisecond, exact in microseconds",
        ),
        r(
            "duration",
            T::Text,
            "its text: months, days and nanoseconds (`1mo2d3h`)",
        ),
        r("uuid", T::Uuid, "16 bytes"),
        r("timeuuid", T::Uuid, "16 bytes"),
        r("inet", T::Text, "the address as text"),
        r("list", T::Json, json),
        r("set", T::Json, json),
        r("map", T::Json, json),
        r("tuple", T::Json, "a JSON array of its fields"),
        r("udt", T::Json, "a JSON object of its fields"),
        r("vector", T::Json, "a JSON array of its elements"),
    ])
}

/// The type the cast rules see: the rule name, with the declaration as written.
pub fn source_type(ty: &CqlType) -> SourceType {
    SourceType {
        name: ty.rule_name().to_string(),
        params: Vec::new(),
        unsigned: false,
        raw: ty.to_string(),
    }
}

/// What the report says of a column of this type, when something is worth saying.
pub fn note(ty: &CqlType, target: T) -> Option<(Severity, String)> {
    let raw = ty.to_string();
    Some(match (ty.rule_name(), target) {
        ("time", T::Time) => (
            Severity::Loss,
            "time: Cassandra keeps nanoseconds, Lightning microseconds. A value with nanoseconds is refused for its row (a rule `column:TABLE.COLUMN => TEXT` keeps every digit)".into(),
        ),
        ("float" | "double", T::Float | T::Double) => (
            Severity::Warning,
            format!(
                "{raw}: the file holds what COPY TO wrote, which is rounded (to as few as {} significant digits) unless it was given {}; a rounded value is carried as written",
                if raw == "float" { 2 } else { 9 },
                if raw == "float" { "FLOATPRECISION = 20" } else { "DOUBLEPRECISION = 20" }
            ),
        ),
        ("counter", T::BigInt) => (
            Severity::Warning,
            "counter: the value is copied as a plain BIGINT; Lightning has no counter type, so increments become updates in the application".into(),
        ),
        ("duration", T::Text) => (
            Severity::Warning,
            "duration: carried as its text (`1mo2d3h4m`); Lightning has no interval type".into(),
        ),
        ("timeuuid", T::Uuid) => (
            Severity::Info,
            "timeuuid: the 16 bytes are kept; Lightning orders UUIDs by their bytes, not by the time inside them".into(),
        ),
        ("inet", T::Text) => (
            Severity::Info,
            "inet: carried as the address's text".into(),
        ),
        (_, T::Json) if ty.is_composite() => (
            Severity::Warning,
            format!(
                "{raw}: carried as a JSON document{}; queries on its elements are JSON queries{}",
                match ty.thawed() {
                    CqlType::Map(k, _) if !matches!(k.rule_name(), "text" | "ascii" | "varchar") =>
                        ", the map's keys as text",
                    CqlType::Set(_) => ", the set as an array in Cassandra's order",
                    _ => "",
                },
                if raw.contains("float") || raw.contains("double") {
                    ". COPY TO writes the numbers inside it with FLOATPRECISION digits (5 unless it was given FLOATPRECISION = 20): a rounded number is carried as written"
                } else {
                    ""
                }
            ),
        ),
        _ => return None,
    })
}
