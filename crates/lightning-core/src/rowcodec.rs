//! The stored form of a row: a self-describing sequence of tagged values
//! (layout in docs/format.md).

use crate::value::{Row, Value, ValueRef};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt row encoding at byte {0}")]
pub struct CorruptRow(pub usize);

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

pub fn encode_row(row: &[Value], out: &mut Vec<u8>) {
    for v in row {
        encode_value(v, out);
    }
}

/// One value's encoding (the checksum hashes values one by one).
#[inline(always)]
pub fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(false) => out.push(1),
        Value::Bool(true) => out.push(2),
        Value::Int(i) => {
            out.push(3);
            put_varint(out, zigzag(*i));
        }
        Value::Float(f) => {
            out.push(4);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Double(f) => {
            out.push(5);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Decimal(d) => {
            out.push(6);
            put_bytes(out, d.as_str().as_bytes());
        }
        Value::Text(s) => {
            out.push(7);
            put_bytes(out, s.as_bytes());
        }
        Value::Blob(b) => {
            out.push(8);
            put_bytes(out, b);
        }
        Value::Date(d) => {
            out.push(9);
            put_varint(out, zigzag(*d as i64));
        }
        Value::Time(t) => {
            out.push(10);
            put_varint(out, zigzag(*t));
        }
        Value::Timestamp(t) => {
            out.push(11);
            put_varint(out, zigzag(*t));
        }
        Value::TimestampTz(t) => {
            out.push(12);
            put_varint(out, zigzag(*t));
        }
        Value::Json(s) => {
            out.push(13);
            put_bytes(out, s.as_bytes());
        }
        Value::Uuid(u) => {
            out.push(14);
            out.extend_from_slice(u);
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CorruptRow> {
        let b = *self.buf.get(self.pos).ok_or(CorruptRow(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, CorruptRow> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= ((b & 0x7F) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(CorruptRow(self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CorruptRow> {
        let end = self.pos.checked_add(n).ok_or(CorruptRow(self.pos))?;
        let buf: &'a [u8] = self.buf;
        let s = buf.get(self.pos..end).ok_or(CorruptRow(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn bytes(&mut self) -> Result<&'a [u8], CorruptRow> {
        let n = self.varint()? as usize;
        self.take(n)
    }
}

pub fn decode_row(buf: &[u8]) -> Result<Row, CorruptRow> {
    decode_row_columns(buf, None)
}

/// Decode a row, with `Value::Null` in place of the columns `wanted` leaves out
/// (their bytes are skipped, not converted): what a query that reads a few
/// columns of a wide table needs.
pub fn decode_row_columns(buf: &[u8], wanted: Option<&[bool]>) -> Result<Row, CorruptRow> {
    let mut r = Reader { buf, pos: 0 };
    let mut row = Vec::with_capacity(wanted.map_or(8, <[bool]>::len));
    while r.pos < buf.len() {
        if skipped(wanted, row.len()) {
            r.skip()?;
            row.push(Value::Null);
            continue;
        }
        let at = r.pos;
        row.push(r.value()?.to_value().ok_or(CorruptRow(at))?);
    }
    Ok(row)
}

/// Whether `wanted` leaves column `c` out (columns past its end are wanted).
fn skipped(wanted: Option<&[bool]>, c: usize) -> bool {
    wanted.is_some_and(|w| !w.get(c).copied().unwrap_or(true))
}

impl<'a> Reader<'a> {
    fn str(&mut self) -> Result<&'a str, CorruptRow> {
        let at = self.pos;
        std::str::from_utf8(self.bytes()?).map_err(|_| CorruptRow(at))
    }

    /// Step over one value.
    fn skip(&mut self) -> Result<(), CorruptRow> {
        let at = self.pos;
        match self.byte()? {
            0..=2 => {}
            3 | 9..=12 => {
                self.varint()?;
            }
            4 => {
                self.take(4)?;
            }
            5 => {
                self.take(8)?;
            }
            6..=8 | 13 => {
                self.bytes()?;
            }
            14 => {
                self.take(16)?;
            }
            _ => return Err(CorruptRow(at)),
        }
        Ok(())
    }

    fn value(&mut self) -> Result<ValueRef<'a>, CorruptRow> {
        let at = self.pos;
        Ok(match self.byte()? {
            0 => ValueRef::Null,
            1 => ValueRef::Bool(false),
            2 => ValueRef::Bool(true),
            3 => ValueRef::Int(unzigzag(self.varint()?)),
            4 => ValueRef::Float(f32::from_bits(u32::from_le_bytes(
                self.take(4)?.try_into().map_err(|_| CorruptRow(at))?,
            ))),
            5 => ValueRef::Double(f64::from_bits(u64::from_le_bytes(
                self.take(8)?.try_into().map_err(|_| CorruptRow(at))?,
            ))),
            6 => ValueRef::Decimal(self.str()?),
            7 => ValueRef::Text(self.str()?),
            8 => ValueRef::Blob(self.bytes()?),
            9 => ValueRef::Date(unzigzag(self.varint()?) as i32),
            10 => ValueRef::Time(unzigzag(self.varint()?)),
            11 => ValueRef::Timestamp(unzigzag(self.varint()?)),
            12 => ValueRef::TimestampTz(unzigzag(self.varint()?)),
            13 => ValueRef::Json(self.str()?),
            14 => ValueRef::Uuid(self.take(16)?.try_into().map_err(|_| CorruptRow(at))?),
            _ => return Err(CorruptRow(at)),
        })
    }
}

/// Hand each value of an encoded row that `wanted` asks for (all when `None`) to
/// `each` with its column number, borrowed: no copy of text or bytes. Columns
/// past the row's end are not visited.
pub fn visit_row<'a, E: From<CorruptRow>>(
    buf: &'a [u8],
    wanted: Option<&[bool]>,
    mut each: impl FnMut(usize, ValueRef<'a>) -> Result<(), E>,
) -> Result<(), E> {
    let mut r = Reader { buf, pos: 0 };
    let mut c = 0;
    while r.pos < buf.len() {
        if skipped(wanted, c) {
            r.skip()?;
        } else {
            each(c, r.value()?)?;
        }
        c += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Decimal;

    #[test]
    fn rows_round_trip() {
        let row = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::Float(f32::NAN),
            Value::Double(-0.0),
            Value::Decimal(Decimal::parse("-12.340").unwrap()),
            Value::Text(String::new()),
            Value::Blob(vec![0, 255, 0]),
            Value::Date(i32::MIN),
            Value::Time(-1),
            Value::Timestamp(i64::MAX),
            Value::TimestampTz(123),
            Value::Json("{\"a\": [1, 2.50]}".into()),
            Value::Uuid([7; 16]),
        ];
        let mut buf = Vec::new();
        encode_row(&row, &mut buf);
        let back = decode_row(&buf).unwrap();
        assert_eq!(format!("{row:?}"), format!("{back:?}"));
        assert!(decode_row(&buf[..buf.len() - 3]).is_err());
        // Every other column skipped: NULL in its place, the rest as decoded.
        let wanted: Vec<bool> = (0..row.len()).map(|i| i % 2 == 0).collect();
        let some = decode_row_columns(&buf, Some(&wanted)).unwrap();
        for (i, v) in some.iter().enumerate() {
            let want = if wanted[i] { &row[i] } else { &Value::Null };
            assert_eq!(format!("{v:?}"), format!("{want:?}"), "column {i}");
        }
        let none = vec![false; row.len()];
        assert!(decode_row_columns(&buf[..buf.len() - 3], Some(&none)).is_err());
    }
}
