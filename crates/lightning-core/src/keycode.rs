//! Order-preserving encoding of key values: comparing encoded keys byte by byte
//! gives the same order as comparing the values. Used for primary keys and
//! secondary index entries.

use crate::value::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Decimal;
    use proptest::prelude::*;

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
