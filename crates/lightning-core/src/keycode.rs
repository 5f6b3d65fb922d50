//! Order-preserving encoding of key values: comparing encoded keys byte by byte
//! gives the same order as comparing the values. Used for primary keys and
//! secondary index entries.

use crate::types::LightningType;
use crate::value::{Decimal, Value};

fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
}

fn push_f64(out: &mut Vec<u8>, v: f64) {
    // All NaNs compare equal and above +Infinity.
    let bits = if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        (v + 0.0).to_bits()
    };
    let enc = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    out.extend_from_slice(&enc.to_be_bytes());
}

fn push_decimal(out: &mut Vec<u8>, normalized: &str) {
    match normalized {
        "-Infinity" => return out.push(1),
        "Infinity" => return out.push(5),
        "NaN" => return out.push(6),
        "0" => return out.push(3),
        _ => {}
    }
    let neg = normalized.starts_with('-');
    let body = normalized.trim_start_matches('-');
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let (exp, digits): (i32, String) = if int != "0" {
        (int.len() as i32, format!("{int}{frac}"))
    } else {
        let lead = frac.len() - frac.trim_start_matches('0').len();
        (-(lead as i32), frac.trim_start_matches('0').to_string())
    };
    let digits = digits.trim_end_matches('0');
    let exp_bytes = ((exp as u32) ^ (1 << 31)).to_be_bytes();
    if neg {
        out.push(2);
        out.extend(exp_bytes.iter().map(|b| !b));
        out.extend(digits.bytes().map(|d| !d));
        out.push(0xFF);
    } else {
        out.push(4);
        out.extend_from_slice(&exp_bytes);
        out.extend(digits.bytes());
        out.push(0);
    }
}

/// Append the order-preserving encoding of one value.
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    if let Value::Null = v {
        out.push(0);
        return;
    }
    out.push(1);
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(*b as u8),
        Value::Int(i) | Value::Time(i) | Value::Timestamp(i) | Value::TimestampTz(i) => {
            push_i64(out, *i)
        }
        Value::Date(d) => out.extend_from_slice(&((*d as u32) ^ (1 << 31)).to_be_bytes()),
        Value::Float(f) => push_f64(out, *f as f64),
        Value::Double(f) => push_f64(out, *f),
        Value::Decimal(d) => push_decimal(out, &d.normalized()),
        Value::Text(s) | Value::Json(s) => push_escaped(out, s.as_bytes()),
        Value::Blob(b) => push_escaped(out, b),
        Value::Uuid(u) => out.extend_from_slice(u),
    }
}

/// Encode a composite key.
pub fn encode_key<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for v in values {
        encode_value(&mut out, v);
    }
    out
}

/// Key of a row in a table without a primary key.
pub fn encode_rowid(id: i64) -> Vec<u8> {
    ((id as u64) ^ (1 << 63)).to_be_bytes().to_vec()
}

/// The row id of a key made by `encode_rowid`.
pub fn decode_rowid(key: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = key.try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// The values of a key made by `encode_key` for columns of these types; `None` when
/// the bytes are not such a key. A DECIMAL comes back normalized (`1.5` for `1.50`):
/// equal in value, and put at a column's scale with `Decimal::with_scale`.
pub fn decode_key(mut key: &[u8], types: &[LightningType]) -> Option<Vec<Value>> {
    let mut out = Vec::with_capacity(types.len());
    for &ty in types {
        let (&tag, rest) = key.split_first()?;
        key = rest;
        if tag == 0 {
            out.push(Value::Null);
            continue;
        }
        let (v, rest) = decode_value(key, ty)?;
        out.push(v);
        key = rest;
    }
    key.is_empty().then_some(out)
}

fn take<const N: usize>(key: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, rest) = key.split_at_checked(N)?;
    Some((head.try_into().ok()?, rest))
}

fn decode_value(key: &[u8], ty: LightningType) -> Option<(Value, &[u8])> {
    use LightningType as T;
    let i64_of = |b: [u8; 8]| (u64::from_be_bytes(b) ^ (1 << 63)) as i64;
    Some(match ty {
        T::Boolean => {
            let (&b, rest) = key.split_first()?;
            (Value::Bool(b != 0), rest)
        }
        T::SmallInt | T::Integer | T::BigInt => {
            let (b, rest) = take::<8>(key)?;
            (Value::Int(i64_of(b)), rest)
        }
        T::Time => {
            let (b, rest) = take::<8>(key)?;
            (Value::Time(i64_of(b)), rest)
        }
        T::Timestamp => {
            let (b, rest) = take::<8>(key)?;
            (Value::Timestamp(i64_of(b)), rest)
        }
        T::TimestampTz => {
            let (b, rest) = take::<8>(key)?;
            (Value::TimestampTz(i64_of(b)), rest)
        }
        T::Date => {
            let (b, rest) = take::<4>(key)?;
            (
                Value::Date((u32::from_be_bytes(b) ^ (1 << 31)) as i32),
                rest,
            )
        }
        T::Float | T::Double => {
            let (b, rest) = take::<8>(key)?;
            let enc = u64::from_be_bytes(b);
            let bits = if enc >> 63 == 1 {
                enc ^ (1 << 63)
            } else {
                !enc
            };
            let f = f64::from_bits(bits);
            let v = if ty == T::Float {
                Value::Float(f as f32)
            } else {
                Value::Double(f)
            };
            (v, rest)
        }
        T::Decimal(_) => {
            let (text, rest) = decode_decimal(key)?;
            (Value::Decimal(Decimal::parse(&text).ok()?), rest)
        }
        T::Text | T::Json | T::Blob => {
            let mut bytes = Vec::new();
            let mut i = 0;
            loop {
                let b = *key.get(i)?;
                if b == 0 {
                    match *key.get(i + 1)? {
                        0 => break,
                        0xFF => bytes.push(0),
                        _ => return None,
                    }
                    i += 2;
                } else {
                    bytes.push(b);
                    i += 1;
                }
            }
            let rest = &key[i + 2..];
            let v = match ty {
                T::Blob => Value::Blob(bytes),
                T::Json => Value::Json(String::from_utf8(bytes).ok()?),
                _ => Value::Text(String::from_utf8(bytes).ok()?),
            };
            (v, rest)
        }
        T::Uuid => {
            let (b, rest) = take::<16>(key)?;
            (Value::Uuid(b), rest)
        }
    })
}

/// A DECIMAL's normalized text back from `push_decimal`.
fn decode_decimal(key: &[u8]) -> Option<(String, &[u8])> {
    let (&tag, rest) = key.split_first()?;
    let special = match tag {
        1 => Some("-Infinity"),
        3 => Some("0"),
        5 => Some("Infinity"),
        6 => Some("NaN"),
        _ => None,
    };
    if let Some(s) = special {
        return Some((s.to_string(), rest));
    }
    let neg = match tag {
        2 => true,
        4 => false,
        _ => return None,
    };
    let (mut exp_bytes, rest) = take::<4>(rest)?;
    if neg {
        exp_bytes = exp_bytes.map(|b| !b);
    }
    let exp = (u32::from_be_bytes(exp_bytes) ^ (1 << 31)) as i32;
    let end = if neg { 0xFF } else { 0 };
    let len = rest.iter().position(|&b| b == end)?;
    let digits: String = rest[..len]
        .iter()
        .map(|&b| char::from(if neg { !b } else { b }))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = if exp > 0 {
        let e = exp as usize;
        if digits.len() <= e {
            format!("{digits}{}", "0".repeat(e - digits.len()))
        } else {
            format!("{}.{}", &digits[..e], &digits[e..])
        }
    } else {
        format!("0.{}{digits}", "0".repeat((-exp) as usize))
    };
    Some((
        if neg { format!("-{text}") } else { text },
        &rest[len + 1..],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_decode_to_their_values() {
        use LightningType as T;
        let types = [
            T::Boolean,
            T::BigInt,
            T::Double,
            T::Decimal(None),
            T::Text,
            T::Blob,
            T::Date,
            T::Time,
            T::Timestamp,
            T::TimestampTz,
            T::Uuid,
            T::Float,
            T::Json,
            T::Decimal(None),
        ];
        let cases = [
            vec![
                Value::Bool(true),
                Value::Int(-5),
                Value::Double(-2.5),
                dec("-1234.5"),
                Value::Text("a\0b\u{0}".into()),
                Value::Blob(vec![0, 255, 0, 0]),
                Value::Date(-800_000),
                Value::Time(86_400_000_000),
                Value::Timestamp(i64::MIN),
                Value::TimestampTz(1),
                Value::Uuid([7; 16]),
                Value::Float(1.5),
                Value::Json("{}".into()),
                dec("0.00012"),
            ],
            vec![
                Value::Null,
                Value::Int(i64::MAX),
                Value::Double(f64::INFINITY),
                dec("NaN"),
                Value::Text(String::new()),
                Value::Blob(Vec::new()),
                Value::Date(i32::MAX),
                Value::Time(-1),
                Value::Timestamp(0),
                Value::Null,
                Value::Null,
                Value::Float(-0.25),
                Value::Null,
                dec("120000"),
            ],
        ];
        for values in cases {
            let key = encode_key(&values);
            assert_eq!(decode_key(&key, &types), Some(values.clone()), "{values:?}");
            assert_eq!(decode_key(&key[..key.len() - 1], &types), None);
        }
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(Decimal::parse(s).unwrap())
    }

    #[test]
    fn decimals_sort_numerically() {
        let sorted = [
            "-Infinity",
            "-1000",
            "-1.25",
            "-1.2",
            "-0.001",
            "0",
            "0.0001",
            "0.5",
            "1.2",
            "1.25",
            "10",
            "99.9",
            "100",
            "Infinity",
            "NaN",
        ];
        let keys: Vec<Vec<u8>> = sorted.iter().map(|s| encode_key([&dec(s)])).collect();
        for w in keys.windows(2) {
            assert!(w[0] < w[1]);
        }
        assert_eq!(encode_key([&dec("1.50")]), encode_key([&dec("1.5")]));
    }

    proptest! {
        #[test]
        fn decimals_decode_to_equal_values(a in -1_000_000_000i64..1_000_000_000, scale in 0u32..12) {
            let d = Decimal::parse(&format!("{:.*}", scale as usize, a as f64 / 10f64.powi(scale as i32))).unwrap();
            let key = encode_key([&Value::Decimal(d.clone())]);
            let back = decode_key(&key, &[LightningType::Decimal(None)]).unwrap();
            let Value::Decimal(b) = &back[0] else { panic!() };
            prop_assert_eq!(b.normalized(), d.normalized());
        }

        #[test]
        fn ints_keep_order(a: i64, b: i64) {
            prop_assert_eq!(a.cmp(&b), encode_key([&Value::Int(a)]).cmp(&encode_key([&Value::Int(b)])));
        }

        #[test]
        fn doubles_keep_order(a: f64, b: f64) {
            prop_assume!(!(a.is_nan() || b.is_nan() || (a == 0.0 && b == 0.0)));
            prop_assert_eq!(a.partial_cmp(&b).unwrap(), encode_key([&Value::Double(a)]).cmp(&encode_key([&Value::Double(b)])));
        }

        #[test]
        fn text_pairs_keep_order(a: String, b: String, c: i64, d: i64) {
            let ka = encode_key([&Value::Text(a.clone()), &Value::Int(c)]);
            let kb = encode_key([&Value::Text(b.clone()), &Value::Int(d)]);
            prop_assert_eq!((a.as_bytes(), c).cmp(&(b.as_bytes(), d)), ka.cmp(&kb));
        }

        #[test]
        fn decimals_keep_order(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000, sa in 0u32..5, sb in 0u32..5) {
            let da = a as f64 / 10f64.powi(sa as i32);
            let db = b as f64 / 10f64.powi(sb as i32);
            prop_assume!(da != db);
            let ta = format!("{:.*}", sa as usize, da);
            let tb = format!("{:.*}", sb as usize, db);
            prop_assert_eq!(da.partial_cmp(&db).unwrap(), encode_key([&dec(&ta)]).cmp(&encode_key([&dec(&tb)])));
        }
    }
}
