//! Query results as text, in the forms PostgreSQL prints them (`t`/`f`,
//! `2024-05-01 10:00:00+00`, `\x0102` for bytes), so `lightning query` and a
//! client of `lightning serve` read the same values; and as JSON, exactly.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use lightning_core::Value;
use serde_json::Value as Json;

use crate::arrow_types::{decimal_from_i128, from_unix_micros};

/// The text of row `i` of a column, or `None` for NULL.
pub fn cell(a: &ArrayRef, i: usize) -> Result<Option<String>, ArrowError> {
    if a.is_null(i) {
        return Ok(None);
    }
    let ts = from_unix_micros;
    Ok(Some(match a.data_type() {
        DataType::Boolean => (if a.as_boolean().value(i) { "t" } else { "f" }).to_string(),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).to_string(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).to_string(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Float32 => float(a.as_primitive::<Float32Type>().value(i) as f64, true),
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i), false),
        DataType::Decimal128(_, s) => {
            decimal_from_i128(a.as_primitive::<Decimal128Type>().value(i), *s as u32)
                .as_str()
                .to_string()
        }
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
        DataType::Utf8View => a.as_string_view().value(i).to_string(),
        DataType::Binary => hex_bytes(a.as_binary::<i32>().value(i)),
        DataType::LargeBinary => hex_bytes(a.as_binary::<i64>().value(i)),
        DataType::Date32 => Value::Date(a.as_primitive::<Date32Type>().value(i))
            .to_text()
            .unwrap_or_default(),
        DataType::Time64(TimeUnit::Microsecond) => short_fraction(
            Value::Time(a.as_primitive::<Time64MicrosecondType>().value(i))
                .to_text()
                .unwrap_or_default(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, None) => short_fraction(
            Value::Timestamp(ts(a.as_primitive::<TimestampMicrosecondType>().value(i)))
                .to_text()
                .unwrap_or_default(),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if is_utc(tz) => {
            let t = short_fraction(
                Value::Timestamp(ts(a.as_primitive::<TimestampMicrosecondType>().value(i)))
                    .to_text()
                    .unwrap_or_default(),
            );
            if t.ends_with("infinity") {
                t
            } else {
                t + "+00"
            }
        }
        _ => {
            let f = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())?;
            f.value(i).to_string()
        }
    }))
}

/// Seconds as PostgreSQL prints them: `12.5`, not `12.500000`.
fn short_fraction(mut t: String) -> String {
    if let Some(dot) = t.rfind('.') {
        if t[dot + 1..].bytes().all(|b| b.is_ascii_digit()) {
            let keep = t.trim_end_matches('0').len();
            t.truncate(keep);
        }
    }
    t
}

fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "+00:00" | "Z" | "Etc/UTC")
}

/// Shortest text that reads back the same number; PostgreSQL's names for the rest.
fn float(v: f64, single: bool) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        (if v > 0.0 { "Infinity" } else { "-Infinity" }).into()
    } else if single {
        (v as f32).to_string()
    } else {
        v.to_string()
    }
}

fn hex_bytes(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("\\x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// The JSON value of row `i` of a column: numbers for integers and finite
/// floats, strings for decimals (exact) and everything else, null for NULL.
pub fn json_cell(a: &ArrayRef, i: usize) -> Result<Json, ArrowError> {
    if a.is_null(i) {
        return Ok(Json::Null);
    }
    Ok(match a.data_type() {
        DataType::Boolean => Json::Bool(a.as_boolean().value(i)),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let text = cell(a, i)?.unwrap_or_default();
            Json::from(text.parse::<i64>().unwrap_or_default())
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            let text = cell(a, i)?.unwrap_or_default();
            Json::from(text.parse::<u64>().unwrap_or_default())
        }
        DataType::Float32 | DataType::Float64 => {
            let v = match a.data_type() {
                DataType::Float32 => a.as_primitive::<Float32Type>().value(i) as f64,
                _ => a.as_primitive::<Float64Type>().value(i),
            };
            match serde_json::Number::from_f64(v) {
                Some(n) if a.data_type() == &DataType::Float64 => Json::Number(n),
                _ => Json::String(cell(a, i)?.unwrap_or_default()),
            }
        }
        _ => Json::String(cell(a, i)?.unwrap_or_default()),
    })
}
