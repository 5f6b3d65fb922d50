//! Lightning types as Arrow types, and rows as record batches and back, exactly.
//!
//! DECIMAL(p,s) with p ≤ 38 is Decimal128(p,s); wider or unconstrained DECIMAL,
//! JSON and UUID are text (Arrow has no exact type the wire protocol carries for
//! them). TIMESTAMP is microseconds without a time zone, TIMESTAMPTZ microseconds
//! in UTC; both move from the store's 2000-01-01 epoch to Arrow's 1970 one.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Schema, SchemaRef, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;
use lightning_core::value::{parse_uuid, Decimal};
use lightning_core::{LightningType, Row, TableSchema, Value};

/// Microseconds from 1970-01-01 to 2000-01-01, the store's timestamp epoch.
const EPOCH_SHIFT_MICROS: i64 = 946_684_800_000_000;

/// The widest DECIMAL that Decimal128 holds.
const DECIMAL128_MAX_PRECISION: u32 = 38;

/// The Arrow type a Lightning column is read and written as.
pub fn arrow_type(ty: LightningType) -> DataType {
    match ty {
        LightningType::Boolean => DataType::Boolean,
        LightningType::SmallInt => DataType::Int16,
        LightningType::Integer => DataType::Int32,
        LightningType::BigInt => DataType::Int64,
        LightningType::Float => DataType::Float32,
        LightningType::Double => DataType::Float64,
        LightningType::Decimal(Some((p, s))) if p <= DECIMAL128_MAX_PRECISION => {
            DataType::Decimal128(p as u8, s as i8)
        }
        LightningType::Decimal(_) | LightningType::Text => DataType::Utf8,
        LightningType::Json | LightningType::Uuid => DataType::Utf8,
        LightningType::Blob => DataType::Binary,
        LightningType::Date => DataType::Date32,
        LightningType::Time => DataType::Time64(TimeUnit::Microsecond),
        LightningType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        LightningType::TimestampTz => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
        }
    }
}

/// The Arrow schema of a table: its columns in order, nullable as declared.
pub fn arrow_schema(t: &TableSchema) -> SchemaRef {
    Arc::new(Schema::new(
        t.columns
            .iter()
            .map(|c| Field::new(&c.name, arrow_type(c.ty), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Rows (whole rows of `table`) as a batch of the columns in `projection`.
pub fn rows_to_batch(
    table: &TableSchema,
    schema: &SchemaRef,
    projection: &[usize],
    rows: &[Row],
) -> Result<RecordBatch, ArrowError> {
    let columns = projection
        .iter()
        .map(|&c| column_array(table, c, rows))
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )
}

fn mismatch(table: &TableSchema, c: usize, v: &Value) -> ArrowError {
    ArrowError::InvalidArgumentError(format!(
        "table `{}` column `{}` ({}) holds a {} value; run `lightning check` on the store",
        table.name,
        table.columns[c].name,
        table.columns[c].ty,
        v.kind()
    ))
}

macro_rules! build {
    ($builder:expr, $rows:expr, $c:expr, $table:expr, $pat:pat => $val:expr) => {{
        let mut b = $builder;
        for row in $rows {
            match &row[$c] {
                Value::Null => b.append_null(),
                $pat => b.append_value($val),
                other => return Err(mismatch($table, $c, other)),
            }
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

fn column_array(table: &TableSchema, c: usize, rows: &[Row]) -> Result<ArrayRef, ArrowError> {
    let n = rows.len();
    let ty = table.columns[c].ty;
    Ok(match (ty, arrow_type(ty)) {
        (LightningType::Boolean, _) => {
            build!(BooleanBuilder::with_capacity(n), rows, c, table, Value::Bool(b) => *b)
        }
        (LightningType::SmallInt, _) => {
            build!(Int16Builder::with_capacity(n), rows, c, table, Value::Int(i) => *i as i16)
        }
        (LightningType::Integer, _) => {
            build!(Int32Builder::with_capacity(n), rows, c, table, Value::Int(i) => *i as i32)
        }
        (LightningType::BigInt, _) => {
            build!(Int64Builder::with_capacity(n), rows, c, table, Value::Int(i) => *i)
        }
        (LightningType::Float, _) => {
            build!(Float32Builder::with_capacity(n), rows, c, table, Value::Float(f) => *f)
        }
        (LightningType::Double, _) => {
            build!(Float64Builder::with_capacity(n), rows, c, table, Value::Double(f) => *f)
        }
        (LightningType::Decimal(_), DataType::Decimal128(p, s)) => {
            let mut b = Decimal128Builder::with_capacity(n);
            for row in rows {
                match &row[c] {
                    Value::Null => b.append_null(),
                    Value::Decimal(d) => {
                        b.append_value(decimal_to_i128(d, s as u32).ok_or_else(|| {
                            ArrowError::InvalidArgumentError(format!(
                                "table `{}` column `{}`: {} does not fit DECIMAL({p},{s})",
                                table.name,
                                table.columns[c].name,
                                d.as_str()
                            ))
                        })?)
                    }
                    other => return Err(mismatch(table, c, other)),
                }
            }
            Arc::new(b.finish().with_precision_and_scale(p, s)?)
        }
        (LightningType::Blob, _) => {
            build!(BinaryBuilder::with_capacity(n, n * 16), rows, c, table, Value::Blob(b) => b)
        }
        (LightningType::Date, _) => {
            build!(Date32Builder::with_capacity(n), rows, c, table, Value::Date(d) => *d)
        }
        (LightningType::Time, _) => {
            build!(Time64MicrosecondBuilder::with_capacity(n), rows, c, table, Value::Time(t) => *t)
        }
        (LightningType::Timestamp, _) => {
            build!(TimestampMicrosecondBuilder::with_capacity(n), rows, c, table, Value::Timestamp(t) => to_unix_micros(*t))
        }
        (LightningType::TimestampTz, _) => {
            let b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
            build!(b, rows, c, table, Value::TimestampTz(t) => to_unix_micros(*t))
        }
        // Text of every other kind: DECIMAL beyond Decimal128, JSON, UUID.
        _ => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for row in rows {
                match &row[c] {
                    Value::Null => b.append_null(),
                    Value::Text(s) | Value::Json(s) => b.append_value(s),
                    v @ (Value::Decimal(_) | Value::Uuid(_)) => {
                        b.append_value(v.to_text().unwrap_or_default())
                    }
                    other => return Err(mismatch(table, c, other)),
                }
            }
            Arc::new(b.finish())
        }
    })
}

/// Store microseconds (from 2000) to Unix microseconds; the infinities stay at the ends.
fn to_unix_micros(t: i64) -> i64 {
    match t {
        i64::MAX | i64::MIN => t,
        _ => t.saturating_add(EPOCH_SHIFT_MICROS),
    }
}

/// Unix microseconds to the store's (from 2000); the infinities stay at the ends.
pub(crate) fn from_unix_micros(t: i64) -> i64 {
    match t {
        i64::MAX | i64::MIN => t,
        _ => t.saturating_sub(EPOCH_SHIFT_MICROS),
    }
}

/// A decimal as an integer of `scale` fraction digits, when it fits in 38 digits.
pub fn decimal_to_i128(d: &Decimal, scale: u32) -> Option<i128> {
    let s = d.as_str();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > scale as usize || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut all = String::with_capacity(int.len() + scale as usize);
    all.push_str(int);
    all.push_str(frac);
    all.extend(std::iter::repeat_n('0', scale as usize - frac.len()));
    let v: i128 = all.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// An integer of `scale` fraction digits as a decimal with exactly that scale.
pub fn decimal_from_i128(v: i128, scale: u32) -> Decimal {
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    let sign = if v < 0 { "-" } else { "" };
    let text = if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    };
    Decimal::parse(&text).expect("digits make a decimal")
}

/// The rows of a batch whose columns are those of `table`, in order, as values.
pub fn batch_to_rows(table: &TableSchema, batch: &RecordBatch) -> Result<Vec<Row>, String> {
    let mut rows: Vec<Row> = (0..batch.num_rows())
        .map(|_| Vec::with_capacity(table.columns.len()))
        .collect();
    for (c, col) in table.columns.iter().enumerate() {
        let array = batch.column(c);
        for (i, row) in rows.iter_mut().enumerate() {
            let v = value_at(col.ty, array, i)
                .map_err(|why| format!("column `{}` row {}: {why}", col.name, i + 1))?;
            row.push(v);
        }
    }
    Ok(rows)
}

/// The value at `i` of an array of the column's Arrow type.
pub fn value_at(ty: LightningType, a: &ArrayRef, i: usize) -> Result<Value, String> {
    if a.is_null(i) {
        return Ok(Value::Null);
    }
    Ok(match (ty, a.data_type()) {
        (LightningType::Boolean, DataType::Boolean) => Value::Bool(a.as_boolean().value(i)),
        (_, DataType::Int16) => Value::Int(a.as_primitive::<Int16Type>().value(i) as i64),
        (_, DataType::Int32) => Value::Int(a.as_primitive::<Int32Type>().value(i) as i64),
        (_, DataType::Int64) => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        (_, DataType::Float32) => Value::Float(a.as_primitive::<Float32Type>().value(i)),
        (_, DataType::Float64) => Value::Double(a.as_primitive::<Float64Type>().value(i)),
        (_, DataType::Decimal128(_, s)) => Value::Decimal(decimal_from_i128(
            a.as_primitive::<Decimal128Type>().value(i),
            *s as u32,
        )),
        (_, DataType::Binary) => Value::Blob(a.as_binary::<i32>().value(i).to_vec()),
        (_, DataType::Date32) => Value::Date(a.as_primitive::<Date32Type>().value(i)),
        (_, DataType::Time64(TimeUnit::Microsecond)) => {
            Value::Time(a.as_primitive::<Time64MicrosecondType>().value(i))
        }
        (LightningType::TimestampTz, DataType::Timestamp(TimeUnit::Microsecond, _)) => {
            Value::TimestampTz(from_unix_micros(
                a.as_primitive::<TimestampMicrosecondType>().value(i),
            ))
        }
        (_, DataType::Timestamp(TimeUnit::Microsecond, _)) => Value::Timestamp(from_unix_micros(
            a.as_primitive::<TimestampMicrosecondType>().value(i),
        )),
        (_, DataType::Utf8) => {
            let s = a.as_string::<i32>().value(i);
            match ty {
                LightningType::Text => Value::Text(s.to_string()),
                LightningType::Uuid => Value::Uuid(parse_uuid(s).map_err(|e| e.why)?),
                _ => Value::from_text(ty, s).map_err(|e| e.why)?,
            }
        }
        (_, other) => return Err(format!("a {other} value cannot be stored as {ty}")),
    })
}
