//! Lightning types as Arrow types, and rows as record batches and back, exactly.
//!
//! DECIMAL(p,s) with p ≤ 38 is Decimal128(p,s); wider or unconstrained DECIMAL,
//! JSON and UUID are text (Arrow has no exact type the wire protocol carries for
//! them). TIMESTAMP is microseconds without a time zone, TIMESTAMPTZ microseconds
//! in UTC; both move from the store's 2000-01-01 epoch to Arrow's 1970 one.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Schema, SchemaRef, Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::error::ArrowError;
use lightning_core::rowcodec::{visit_row, CorruptRow};
use lightning_core::value::ValueRef;
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
    let mut b = BatchBuilder::new(table, schema.clone(), projection, rows.len());
    for row in rows {
        b.append_values(row)?;
    }
    b.finish()
}

/// A batch of some of a table's columns, built a row at a time from stored
/// (encoded) rows or from values, with no value made twice.
pub struct BatchBuilder {
    table: Arc<str>,
    names: Vec<(String, LightningType)>,
    schema: SchemaRef,
    columns: Vec<Column>,
    /// For each table column, the builder it goes to, if it is projected.
    slot: Vec<Option<usize>>,
    wanted: Vec<bool>,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(table: &TableSchema, schema: SchemaRef, projection: &[usize], n: usize) -> Self {
        let mut slot = vec![None; table.columns.len()];
        let mut wanted = vec![false; table.columns.len()];
        for (i, &c) in projection.iter().enumerate() {
            slot[c] = Some(i);
            wanted[c] = true;
        }
        BatchBuilder {
            table: Arc::from(table.name.as_str()),
            names: projection
                .iter()
                .map(|&c| (table.columns[c].name.clone(), table.columns[c].ty))
                .collect(),
            schema,
            columns: projection
                .iter()
                .map(|&c| Column::new(table.columns[c].ty, n))
                .collect(),
            slot,
            wanted,
            rows: 0,
        }
    }

    /// Rows appended since the last batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Append one stored row.
    pub fn append_encoded(&mut self, encoded: &[u8]) -> Result<(), ArrowError> {
        if self.columns.is_empty() {
            self.rows += 1; // count(*) reads no values
            return Ok(());
        }
        let (slot, columns, names, table) =
            (&self.slot, &mut self.columns, &self.names, &self.table);
        visit_row(encoded, Some(&self.wanted), |c, v| {
            if let Some(Some(i)) = slot.get(c) {
                columns[*i]
                    .append(v)
                    .map_err(|kind| RowError::Arrow(mismatch(table, &names[*i], kind)))?;
            }
            Ok::<_, RowError>(())
        })
        .map_err(|e| match e {
            RowError::Arrow(e) => e,
            RowError::Corrupt(c) => ArrowError::ExternalError(Box::new(c)),
        })?;
        self.end_row();
        Ok(())
    }

    /// Append one row of values (a whole row of the table).
    pub fn append_values(&mut self, row: &[Value]) -> Result<(), ArrowError> {
        for (c, v) in row.iter().enumerate() {
            if let Some(Some(i)) = self.slot.get(c) {
                self.columns[*i]
                    .append(v.as_ref())
                    .map_err(|kind| mismatch(&self.table, &self.names[*i], kind))?;
            }
        }
        self.end_row();
        Ok(())
    }

    /// Columns a short row (one stored before columns were added) lacks are NULL.
    fn end_row(&mut self) {
        self.rows += 1;
        for col in &mut self.columns {
            if col.len() < self.rows {
                col.append_null();
            }
        }
    }

    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns = self
            .columns
            .iter_mut()
            .map(Column::finish)
            .collect::<Result<Vec<_>, _>>()?;
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(self.rows)),
        );
        self.rows = 0;
        batch
    }
}

enum RowError {
    Arrow(ArrowError),
    Corrupt(CorruptRow),
}

impl From<CorruptRow> for RowError {
    fn from(c: CorruptRow) -> Self {
        RowError::Corrupt(c)
    }
}

/// Why a value does not go into its column.
enum Unfit {
    /// A value of another kind (the store was written wrongly).
    Kind(&'static str),
    /// A decimal beyond the column's Decimal128.
    Decimal(String, u8, i8),
}

fn mismatch(table: &str, (name, ty): &(String, LightningType), unfit: Unfit) -> ArrowError {
    ArrowError::InvalidArgumentError(match unfit {
        Unfit::Kind(kind) => format!(
            "table `{table}` column `{name}` ({ty}) holds a {kind} value; run `lightning check` on the store"
        ),
        Unfit::Decimal(d, p, s) => {
            format!("table `{table}` column `{name}`: {d} does not fit DECIMAL({p},{s})")
        }
    })
}

/// One column's builder, by Arrow type.
enum Column {
    Bool(BooleanBuilder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, u8, i8),
    Bin(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Ts(TimestampMicrosecondBuilder, bool),
    /// Text of every other kind: DECIMAL beyond Decimal128, JSON, UUID.
    Str(StringBuilder),
}

impl Column {
    fn new(ty: LightningType, n: usize) -> Column {
        match (ty, arrow_type(ty)) {
            (LightningType::Boolean, _) => Column::Bool(BooleanBuilder::with_capacity(n)),
            (LightningType::SmallInt, _) => Column::I16(Int16Builder::with_capacity(n)),
            (LightningType::Integer, _) => Column::I32(Int32Builder::with_capacity(n)),
            (LightningType::BigInt, _) => Column::I64(Int64Builder::with_capacity(n)),
            (LightningType::Float, _) => Column::F32(Float32Builder::with_capacity(n)),
            (LightningType::Double, _) => Column::F64(Float64Builder::with_capacity(n)),
            (LightningType::Decimal(_), DataType::Decimal128(p, s)) => {
                Column::Dec(Decimal128Builder::with_capacity(n), p, s)
            }
            (LightningType::Blob, _) => Column::Bin(BinaryBuilder::with_capacity(n, n * 16)),
            (LightningType::Date, _) => Column::Date(Date32Builder::with_capacity(n)),
            (LightningType::Time, _) => Column::Time(Time64MicrosecondBuilder::with_capacity(n)),
            (LightningType::Timestamp, _) => {
                Column::Ts(TimestampMicrosecondBuilder::with_capacity(n), false)
            }
            (LightningType::TimestampTz, _) => {
                Column::Ts(TimestampMicrosecondBuilder::with_capacity(n), true)
            }
            _ => Column::Str(StringBuilder::with_capacity(n, n * 16)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Bool(b) => b.len(),
            Column::I16(b) => b.len(),
            Column::I32(b) => b.len(),
            Column::I64(b) => b.len(),
            Column::F32(b) => b.len(),
            Column::F64(b) => b.len(),
            Column::Dec(b, ..) => b.len(),
            Column::Bin(b) => b.len(),
            Column::Date(b) => b.len(),
            Column::Time(b) => b.len(),
            Column::Ts(b, _) => b.len(),
            Column::Str(b) => b.len(),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Bool(b) => b.append_null(),
            Column::I16(b) => b.append_null(),
            Column::I32(b) => b.append_null(),
            Column::I64(b) => b.append_null(),
            Column::F32(b) => b.append_null(),
            Column::F64(b) => b.append_null(),
            Column::Dec(b, ..) => b.append_null(),
            Column::Bin(b) => b.append_null(),
            Column::Date(b) => b.append_null(),
            Column::Time(b) => b.append_null(),
            Column::Ts(b, _) => b.append_null(),
            Column::Str(b) => b.append_null(),
        }
    }

    fn append(&mut self, v: ValueRef<'_>) -> Result<(), Unfit> {
        match (self, v) {
            (col, ValueRef::Null) => col.append_null(),
            (Column::Bool(b), ValueRef::Bool(x)) => b.append_value(x),
            (Column::I16(b), ValueRef::Int(i)) => b.append_value(i as i16),
            (Column::I32(b), ValueRef::Int(i)) => b.append_value(i as i32),
            (Column::I64(b), ValueRef::Int(i)) => b.append_value(i),
            (Column::F32(b), ValueRef::Float(f)) => b.append_value(f),
            (Column::F64(b), ValueRef::Double(f)) => b.append_value(f),
            (Column::Dec(b, p, s), ValueRef::Decimal(d)) => match decimal_to_i128(d, *s as u32) {
                Some(v) => b.append_value(v),
                None => return Err(Unfit::Decimal(d.to_string(), *p, *s)),
            },
            (Column::Bin(b), ValueRef::Blob(x)) => b.append_value(x),
            (Column::Date(b), ValueRef::Date(d)) => b.append_value(d),
            (Column::Time(b), ValueRef::Time(t)) => b.append_value(t),
            (Column::Ts(b, false), ValueRef::Timestamp(t)) => b.append_value(to_unix_micros(t)),
            (Column::Ts(b, true), ValueRef::TimestampTz(t)) => b.append_value(to_unix_micros(t)),
            (Column::Str(b), ValueRef::Text(s) | ValueRef::Json(s) | ValueRef::Decimal(s)) => {
                b.append_value(s)
            }
            (Column::Str(b), ValueRef::Uuid(u)) => {
                b.append_value(Value::Uuid(*u).to_text().unwrap_or_default())
            }
            (_, other) => return Err(Unfit::Kind(other.kind())),
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Column::Bool(b) => Arc::new(b.finish()),
            Column::I16(b) => Arc::new(b.finish()),
            Column::I32(b) => Arc::new(b.finish()),
            Column::I64(b) => Arc::new(b.finish()),
            Column::F32(b) => Arc::new(b.finish()),
            Column::F64(b) => Arc::new(b.finish()),
            Column::Dec(b, p, s) => Arc::new(b.finish().with_precision_and_scale(*p, *s)?),
            Column::Bin(b) => Arc::new(b.finish()),
            Column::Date(b) => Arc::new(b.finish()),
            Column::Time(b) => Arc::new(b.finish()),
            Column::Ts(b, false) => Arc::new(b.finish()),
            Column::Ts(b, true) => Arc::new(b.finish().with_timezone("UTC")),
            Column::Str(b) => Arc::new(b.finish()),
        })
    }
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

/// A decimal's text as an integer of `scale` fraction digits, when it fits in
/// 38 digits.
pub fn decimal_to_i128(s: &str, scale: u32) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if frac.len() > scale as usize {
        return None;
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    for _ in frac.len()..scale as usize {
        v = v.checked_mul(10)?;
    }
    if v >= 10i128.pow(DECIMAL128_MAX_PRECISION) {
        return None;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use lightning_core::ddl::parse_schema;
    use lightning_core::rowcodec::encode_row;

    #[test]
    fn decimal_text_to_integer_of_scale() {
        assert_eq!(decimal_to_i128("12.5", 2), Some(1250));
        assert_eq!(decimal_to_i128("-0.01", 2), Some(-1));
        assert_eq!(decimal_to_i128("7", 0), Some(7));
        assert_eq!(decimal_to_i128("1.234", 2), None);
        assert_eq!(
            decimal_to_i128(&"9".repeat(38), 0),
            Some(10i128.pow(38) - 1)
        );
        assert_eq!(decimal_to_i128(&"9".repeat(38), 1), None);
        assert_eq!(decimal_to_i128("1e5", 0), None);
    }

    #[test]
    fn stored_rows_and_values_give_the_same_batch() {
        let t = &parse_schema(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, ok BOOLEAN, s SMALLINT, i INTEGER, \
             f FLOAT, d DOUBLE, m DECIMAL(12,2), w DECIMAL, b BLOB, dt DATE, tm TIME, \
             ts TIMESTAMP, tz TIMESTAMPTZ, j JSON, u UUID, x TEXT);",
        )
        .unwrap()[0];
        let full: Row = vec![
            Value::Int(1),
            Value::Bool(true),
            Value::Int(-3),
            Value::Int(70000),
            Value::Float(1.5),
            Value::Double(-2.25),
            Value::Decimal(Decimal::parse("-1234.05").unwrap()),
            Value::Decimal(Decimal::parse("123456789012345678901234567890.5").unwrap()),
            Value::Blob(vec![0, 255]),
            Value::Date(-1),
            Value::Time(1),
            Value::Timestamp(-5),
            Value::TimestampTz(5),
            Value::Json("{\"a\":[1]}".into()),
            Value::Uuid([7; 16]),
            Value::Text("Zoë".into()),
        ];
        let nulls: Row = (0..full.len())
            .map(|c| if c == 0 { Value::Int(2) } else { Value::Null })
            .collect();
        // A row stored before its last columns were added.
        let short: Row = full[..3].to_vec();
        let projection: Vec<usize> = (0..full.len()).rev().collect();
        let schema = Arc::new(arrow_schema(t).project(&projection).unwrap());
        let mut from_values = BatchBuilder::new(t, schema.clone(), &projection, 3);
        let mut from_stored = BatchBuilder::new(t, schema, &projection, 3);
        for row in [&full, &nulls, &short] {
            let mut padded = row.clone();
            padded.resize(full.len(), Value::Null);
            from_values.append_values(&padded).unwrap();
            let mut buf = Vec::new();
            encode_row(row, &mut buf);
            from_stored.append_encoded(&buf).unwrap();
        }
        let (a, b) = (from_values.finish().unwrap(), from_stored.finish().unwrap());
        assert_eq!(a, b);
        assert_eq!(b.num_rows(), 3);
        let back = batch_to_rows(
            t,
            &b.project(&(0..full.len()).rev().collect::<Vec<_>>())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(back[0], full);
        assert_eq!(back[1], nulls);
        assert_eq!(back[2][..3], short[..]);
        assert!(back[2][3..].iter().all(|v| *v == Value::Null));
    }

    #[test]
    fn a_value_of_another_kind_names_table_and_column() {
        let t = &parse_schema("CREATE TABLE t (id BIGINT PRIMARY KEY, n INTEGER);").unwrap()[0];
        let mut b = BatchBuilder::new(t, arrow_schema(t), &[0, 1], 1);
        let err = b
            .append_values(&[Value::Int(1), Value::Text("x".into())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("table `t` column `n`") && err.contains("text"),
            "{err}"
        );
    }
}
