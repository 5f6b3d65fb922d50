//! Row and table checksums. A row hashes to 128 bits from its canonical encoding; a
//! table's checksum is the wrapping sum of its row hashes plus the row count, so it
//! does not depend on row order and source and target compare without sorting.

use std::fmt;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::rowcodec::encode_row;
use crate::value::Value;

/// Hash one row. NaN payloads are canonicalised; everything else is hashed exactly
/// (`1.50` and `1.5` differ, as do `0.0` and `-0.0`).
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

    #[test]
    fn ranges_split_on_bounds() {
        let r = RangeChecksums::with_bounds(vec![b"m".to_vec()]);
        assert_eq!(r.range_of(b"a"), 0);
        assert_eq!(r.range_of(b"m"), 1);
        assert_eq!(r.range_of(b"z"), 1);
    }
}
