//! Row and table checksums. A table's rows hash to 128 bits each through its
//! `RowHasher`: the values taken in the byte order of their columns' names, the
//! hash seeded by those names, so it does not depend on the order of the columns.
//! A table's checksum is the wrapping sum of its row hashes plus the row count, so
//! it does not depend on row order and source and target compare without sorting.

use std::fmt;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_128, xxh3_128_with_seed, xxh3_64};

use crate::rowcodec::{self, encode_row};
use crate::schema::TableSchema;
use crate::value::Value;

/// Hash one row as it is laid out, column by column in its own order. NaN payloads
/// are canonicalised; everything else is hashed exactly (`1.50` and `1.5` differ,
/// as do `0.0` and `-0.0`). For comparing two versions of a row of the same table;
/// table checksums hash rows with a `RowHasher`, which does not depend on the
/// order of the columns.
pub fn row_hash(row: &[Value], buf: &mut Vec<u8>) -> u128 {
    buf.clear();
    if row.iter().any(|v| {
        matches!(v, Value::Float(f) if f.is_nan()) || matches!(v, Value::Double(f) if f.is_nan())
    }) {
        let canon: Vec<Value> = row
            .iter()
            .map(|v| match v {
                Value::Float(f) if f.is_nan() => Value::Float(f32::NAN),
                Value::Double(f) if f.is_nan() => Value::Double(f64::NAN),
                other => other.clone(),
            })
            .collect();
        encode_row(&canon, buf);
    } else {
        encode_row(row, buf);
    }
    xxh3_128(buf)
}

/// How the rows of one table are hashed for its checksums: the 128-bit xxh3 of the
/// row encoding of the row's values taken in the byte order of their columns'
/// names, seeded with the 64-bit xxh3 of the row encoding of those names (as text
/// values, in that order). So each value is hashed with its column's name: the
/// same names and values in another column order hash the same; another name or
/// another value does not. NaN payloads are canonicalised, everything else is
/// exact (`1.50` and `1.5` differ, as do `0.0` and `-0.0`). Built once per table
/// from the schema its rows are laid out by; `hash` allocates nothing beyond the
/// buffer it is given.
#[derive(Debug, Clone)]
pub struct RowHasher {
    /// Row positions of the columns, in the byte order of their names.
    order: Vec<usize>,
    /// The 64-bit xxh3 of the names in that order, each encoded as a text value.
    seed: u64,
}

impl RowHasher {
    /// The hasher of rows laid out as `schema`'s columns.
    pub fn new(schema: &TableSchema) -> Self {
        Self::for_columns(schema.columns.iter().map(|c| c.name.as_str()))
    }

    /// The hasher of rows whose values are those of the columns `names`, in order.
    pub fn for_columns<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut by_name: Vec<(usize, &str)> = names.into_iter().enumerate().collect();
        // Byte order (what `str` compares by); stable, so even a name given twice
        // hashes the same way every time.
        by_name.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
        let mut names = Vec::new();
        for (_, name) in &by_name {
            encode_value(&Value::Text((*name).to_string()), &mut names);
        }
        RowHasher {
            order: by_name.into_iter().map(|(pos, _)| pos).collect(),
            seed: xxh3_64(&names),
        }
    }

    /// Hash one row (`buf` is scratch space, reused from row to row).
    pub fn hash(&self, row: &[Value], buf: &mut Vec<u8>) -> u128 {
        buf.clear();
        for &pos in &self.order {
            // A row shorter than its schema (never stored) hashes what it has.
            if let Some(v) = row.get(pos) {
                encode_value(v, buf);
            }
        }
        // Values beyond the schema's columns (never stored) still count.
        for v in row.get(self.order.len()..).unwrap_or_default() {
            encode_value(v, buf);
        }
        xxh3_128_with_seed(buf, self.seed)
    }
}

/// One value's row encoding, NaN payloads made one.
#[inline(always)]
fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Float(f) if f.is_nan() => rowcodec::encode_value(&Value::Float(f32::NAN), out),
        Value::Double(f) if f.is_nan() => rowcodec::encode_value(&Value::Double(f64::NAN), out),
        other => rowcodec::encode_value(other, out),
    }
}

/// Order-independent checksum of a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChecksum {
    pub rows: u64,
    #[serde(with = "hex_u128")]
    pub sum: u128,
}

impl TableChecksum {
    pub fn add(&mut self, hash: u128) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(hash);
    }

    pub fn merge(&mut self, other: &TableChecksum) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
    }
}

impl fmt::Display for TableChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x} ({} rows)", self.sum, self.rows)
    }
}

mod hex_u128 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:032x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        u128::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

/// Checksums of consecutive key ranges. `bounds[i]` is the first key of range
/// `i + 1`; range 0 starts at the lowest key, the last range ends at the highest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeChecksums {
    pub bounds: Vec<Vec<u8>>,
    pub ranges: Vec<TableChecksum>,
}

impl RangeChecksums {
    pub fn with_bounds(bounds: Vec<Vec<u8>>) -> Self {
        let n = bounds.len() + 1;
        RangeChecksums {
            bounds,
            ranges: vec![TableChecksum::default(); n],
        }
    }

    /// Which range a key falls in.
    pub fn range_of(&self, key: &[u8]) -> usize {
        self.bounds.partition_point(|b| b.as_slice() <= key)
    }

    pub fn add(&mut self, key: &[u8], hash: u128) {
        let i = self.range_of(key);
        self.ranges[i].add(hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnSchema;
    use crate::types::LightningType;

    #[test]
    fn table_checksum_ignores_order_but_not_values() {
        let rows = [
            vec![Value::Int(1), Value::Text("a".into())],
            vec![Value::Int(2), Value::Null],
        ];
        let mut buf = Vec::new();
        let (mut a, mut b) = (TableChecksum::default(), TableChecksum::default());
        a.add(row_hash(&rows[0], &mut buf));
        a.add(row_hash(&rows[1], &mut buf));
        b.add(row_hash(&rows[1], &mut buf));
        b.add(row_hash(&rows[0], &mut buf));
        assert_eq!(a, b);
        let mut c = TableChecksum::default();
        c.add(row_hash(&rows[0], &mut buf));
        c.add(row_hash(
            &[Value::Int(2), Value::Text(String::new())],
            &mut buf,
        ));
        assert_ne!(a, c, "NULL and empty string must differ");
        assert_eq!(
            row_hash(&[Value::Double(f64::NAN)], &mut buf),
            row_hash(&[Value::Double(-f64::NAN)], &mut buf)
        );
    }

    fn schema(columns: &[(&str, LightningType)]) -> TableSchema {
        let mut t = TableSchema::new("t");
        t.columns = columns
            .iter()
            .map(|(n, ty)| ColumnSchema::new(*n, *ty))
            .collect();
        t
    }

    fn checksum(hasher: &RowHasher, rows: &[Vec<Value>]) -> TableChecksum {
        let mut buf = Vec::new();
        let mut sum = TableChecksum::default();
        for r in rows {
            sum.add(hasher.hash(r, &mut buf));
        }
        sum
    }

    #[test]
    fn row_hashes_follow_column_names_not_column_order() {
        use LightningType::{BigInt, Double, Text};
        let a = RowHasher::new(&schema(&[
            ("id", BigInt),
            ("name", Text),
            ("score", Double),
        ]));
        let b = RowHasher::new(&schema(&[
            ("score", Double),
            ("id", BigInt),
            ("name", Text),
        ]));
        let rows_a = [
            vec![Value::Int(1), Value::Text("x".into()), Value::Double(2.5)],
            vec![Value::Int(2), Value::Null, Value::Double(f64::NAN)],
        ];
        // The same rows, laid out as `b`'s columns (and a NaN of another payload).
        let rows_b = [
            vec![Value::Double(2.5), Value::Int(1), Value::Text("x".into())],
            vec![Value::Double(-f64::NAN), Value::Int(2), Value::Null],
        ];
        assert_eq!(checksum(&a, &rows_a), checksum(&b, &rows_b));
        let mut buf = Vec::new();
        assert_eq!(a.hash(&rows_a[0], &mut buf), b.hash(&rows_b[0], &mut buf));

        // Another value differs.
        let mut changed = rows_b.clone();
        changed[0][2] = Value::Text("y".into());
        assert_ne!(checksum(&a, &rows_a), checksum(&b, &changed));
        // A renamed column differs, though the values are the same.
        let renamed = RowHasher::new(&schema(&[
            ("id", BigInt),
            ("title", Text),
            ("score", Double),
        ]));
        assert_ne!(checksum(&a, &rows_a), checksum(&renamed, &rows_a));
        // Values swapped between columns differ: a value is hashed with its name.
        let ab = RowHasher::for_columns(["a", "b"]);
        let ba = RowHasher::for_columns(["b", "a"]);
        let (one, two) = (Value::Int(1), Value::Int(2));
        assert_ne!(
            ab.hash(&[one.clone(), two.clone()], &mut buf),
            ab.hash(&[two.clone(), one.clone()], &mut buf)
        );
        assert_eq!(
            ab.hash(&[one.clone(), two.clone()], &mut buf),
            ba.hash(&[two.clone(), one.clone()], &mut buf)
        );
        // Names and values cannot run into each other.
        let text = |s: &str| Value::Text(s.into());
        assert_ne!(
            RowHasher::for_columns(["a", "b"]).hash(&[text("b"), text("")], &mut buf),
            RowHasher::for_columns(["a", "bb"]).hash(&[text(""), text("")], &mut buf)
        );
        // Any names, in any layout.
        let names = ["é", "a", "B"];
        let values = [Value::Int(3), Value::Int(2), Value::Int(1)];
        let h = RowHasher::for_columns(names).hash(&values, &mut buf);
        assert_eq!(
            RowHasher::for_columns(["B", "a", "é"])
                .hash(&[Value::Int(1), Value::Int(2), Value::Int(3)], &mut buf),
            h
        );
        // NULL and the empty string still differ; 0.0 and -0.0 too.
        let one_col = RowHasher::for_columns(["v"]);
        assert_ne!(
            one_col.hash(&[Value::Null], &mut buf),
            one_col.hash(&[text("")], &mut buf)
        );
        assert_ne!(
            one_col.hash(&[Value::Double(0.0)], &mut buf),
            one_col.hash(&[Value::Double(-0.0)], &mut buf)
        );
        assert_eq!(
            one_col.hash(&[Value::Float(f32::NAN)], &mut buf),
            one_col.hash(&[Value::Float(-f32::NAN)], &mut buf)
        );
    }

    #[test]
    fn values_are_hashed_in_their_row_encoding() {
        let values = vec![
            Value::Null,
            Value::Bool(false),
            Value::Bool(true),
            Value::Int(0),
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Float(-0.0),
            Value::Float(f32::NAN),
            Value::Double(1e308),
            Value::Double(f64::NAN),
            Value::Decimal(crate::value::Decimal::parse("-12.50").unwrap()),
            Value::Text("é".repeat(100)),
            Value::Blob(vec![0, 255]),
            Value::Date(-719_162),
            Value::Time(-1),
            Value::Timestamp(i64::MAX),
            Value::TimestampTz(i64::MIN),
            Value::Json("{\"a\":1}".into()),
            Value::Uuid([7; 16]),
        ];
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for v in &values {
            encode_value(v, &mut ours);
        }
        encode_row(&values, &mut theirs);
        assert_eq!(ours, theirs);
        // Which is what a hasher of columns already in name order hashes.
        let names: Vec<String> = (0..values.len()).map(|i| format!("c{i:02}")).collect();
        let mut name_bytes = Vec::new();
        encode_row(
            &names
                .iter()
                .map(|n| Value::Text(n.clone()))
                .collect::<Vec<_>>(),
            &mut name_bytes,
        );
        let hasher = RowHasher::for_columns(names.iter().map(|n| n.as_str()));
        assert_eq!(
            hasher.hash(&values, &mut Vec::new()),
            xxh3_128_with_seed(&theirs, xxh3_64(&name_bytes))
        );
    }

    #[test]
    fn ranges_split_on_bounds() {
        let r = RangeChecksums::with_bounds(vec![b"m".to_vec()]);
        assert_eq!(r.range_of(b"a"), 0);
        assert_eq!(r.range_of(b"m"), 1);
        assert_eq!(r.range_of(b"z"), 1);
    }
}
