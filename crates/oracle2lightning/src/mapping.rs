//! How Oracle types and script values become Lightning types and values.

use lightning_core::cast::{coerce, CastRule, CastRules, Resolved, SourceType};
use lightning_core::report::Severity;
use lightning_core::value::{Decimal, Value};
use lightning_core::LightningType as T;

use crate::script::Literal;

/// The default rules of oracle2lightning (shown by `--print-casts`).
pub fn default_rules() -> CastRules {
    let r = CastRule::default_for;
    let number = "exact: NUMBER(p) of up to 18 digits is an integer type, NUMBER(p,s) is DECIMAL(p,s), NUMBER is any decimal";
    let text = "Unicode text; the declared length is not enforced";
    let padded = "Unicode text; values keep the padding Oracle gave them";
    let bytes = "bytes as stored";
    CastRules::new(vec![
        r("number", T::Decimal(None), number),
        r("decimal", T::Decimal(None), number),
        r("numeric", T::Decimal(None), number),
        r(
            "integer",
            T::Decimal(Some((38, 0))),
            "Oracle's INTEGER is NUMBER(38)",
        ),
        r(
            "int",
            T::Decimal(Some((38, 0))),
            "Oracle's INT is NUMBER(38)",
        ),
        r(
            "smallint",
            T::Decimal(Some((38, 0))),
            "Oracle's SMALLINT is NUMBER(38)",
        ),
        r(
            "float",
            T::Decimal(None),
            "FLOAT(b) is a NUMBER of b binary digits: an exact decimal",
        ),
        r(
            "real",
            T::Decimal(None),
            "REAL is FLOAT(63): an exact decimal",
        ),
        r(
            "double precision",
            T::Decimal(None),
            "DOUBLE PRECISION is FLOAT(126): an exact decimal",
        ),
        r(
            "binary_float",
            T::Float,
            "32-bit IEEE float, NaN and infinities",
        ),
        r(
            "binary_double",
            T::Double,
            "64-bit IEEE float, NaN and infinities",
        ),
        r("varchar2", T::Text, text),
        r("nvarchar2", T::Text, text),
        r("varchar", T::Text, text),
        r("char varying", T::Text, text),
        r("character varying", T::Text, text),
        r("char", T::Text, padded),
        r("character", T::Text, padded),
        r("nchar", T::Text, padded),
        r("clob", T::Text, text),
        r("nclob", T::Text, text),
        r("long", T::Text, text),
        r("blob", T::Blob, bytes),
        r("raw", T::Blob, bytes),
        r("long raw", T::Blob, bytes),
        r(
            "date",
            T::Timestamp,
            "Oracle's DATE holds a time of day to the second: TIMESTAMP",
        ),
        r(
            "timestamp",
            T::Timestamp,
            "date and time of day; fractions to the microsecond",
        ),
        r(
            "timestamp with time zone",
            T::TimestampTz,
            "the instant, to the microsecond; the offset is not kept",
        ),
        r(
            "timestamp with local time zone",
            T::Timestamp,
            "the time as the export wrote it, in the exporting session's time zone",
        ),
        r(
            "interval year to month",
            T::Text,
            "Lightning has no interval type: the interval as written",
        ),
        r(
            "interval day to second",
            T::Text,
            "Lightning has no interval type: the interval as written",
        ),
        r("rowid", T::Text, "a row address, as text"),
        r("urowid", T::Text, "a row address, as text"),
        r("xmltype", T::Text, "the document as text"),
        r("json", T::Json, "the document, checked to be JSON"),
        r("boolean", T::Boolean, "TRUE and FALSE"),
    ])
}

/// NUMBER's declared precision and scale: `None` for NUMBER alone, the scale 0
/// when not declared. The scale may be negative.
fn precision_scale(st: &SourceType) -> Option<(i64, i64)> {
    let inner = st.raw.split_once('(')?.1.trim_end_matches(')');
    let mut it = inner.split(',').map(|p| p.trim().parse::<i64>());
    let p = it.next()?.ok()?;
    let s = it.next().transpose().ok()?.unwrap_or(0);
    Some((p, s))
}

/// The type a default rule gives, with what Oracle's declaration adds.
pub fn refine(st: &SourceType, r: &mut Resolved) {
    if r.user_rule {
        return;
    }
    if matches!(st.name.as_str(), "number" | "decimal" | "numeric") {
        let Some((p, s)) = precision_scale(st) else {
            return;
        };
        // A negative scale rounds to tens, hundreds...: integers of p - s digits.
        let (digits, scale) = if s <= 0 { (p - s, 0) } else { (p.max(s), s) };
        r.target = match (digits, scale) {
            (1..=4, 0) => T::SmallInt,
            (5..=9, 0) => T::Integer,
            (10..=18, 0) => T::BigInt,
            (d, s) => T::Decimal(Some((d as u32, s as u32))),
        };
    }
}

fn fraction_digits(st: &SourceType) -> u32 {
    st.params.first().copied().unwrap_or(6)
}

/// What the report says of a column of this type, when something is worth saying.
pub fn note(st: &SourceType, target: T) -> Option<(Severity, String)> {
    let nine = fraction_digits(st) > 6;
    let past_micro = "a value with a digit past the microsecond is refused for its row (a rule `column:TABLE.COLUMN => TEXT` keeps every digit)";
    Some(match (st.name.as_str(), target) {
        ("timestamp", T::Timestamp) if nine => (
            Severity::Loss,
            format!("{}: Oracle keeps up to nanoseconds; Lightning keeps microseconds: {past_micro}", st.raw),
        ),
        ("timestamp with time zone", T::TimestampTz) => (
            Severity::Loss,
            format!(
                "{}: the instant is kept, its offset or region is not{}",
                st.raw,
                if nine { format!("; {past_micro}") } else { String::new() }
            ),
        ),
        ("timestamp with local time zone", T::Timestamp) => (
            Severity::Warning,
            format!(
                "{}: the export writes these in the exporting session's time zone and does not say which; they are carried as written, without a zone{}",
                st.raw,
                if nine { format!("; {past_micro}") } else { String::new() }
            ),
        ),
        ("interval year to month" | "interval day to second", T::Text) => (
            Severity::Loss,
            format!("{}: Lightning has no interval type; each value is carried as the text the export wrote", st.raw),
        ),
        ("rowid" | "urowid", T::Text) => (
            Severity::Warning,
            format!("{}: addresses of rows in the Oracle database; they mean nothing in Lightning", st.name),
        ),
        ("xmltype", T::Text) => (
            Severity::Warning,
            "XMLTYPE: carried as text; XML indexes and schemas are not".into(),
        ),
        ("number" | "decimal" | "numeric", _) if precision_scale(st).is_some_and(|(_, s)| s < 0) => (
            Severity::Info,
            format!("{}: a negative scale: Oracle rounds values to its tens; they are carried as the integers they are", st.raw),
        ),
        _ => return None,
    })
}

fn binary_float(st: &SourceType) -> bool {
    matches!(st.name.as_str(), "binary_float" | "binary_double")
}

/// A number as written, for its column: Oracle stored a BINARY_FLOAT or
/// BINARY_DOUBLE literal as the nearest float, which is what reading it gives;
/// any other number must fit its type exactly.
fn number(n: &str, st: &SourceType, r: &Resolved) -> Result<Value, String> {
    let v = match r.target {
        T::Float if binary_float(st) => {
            return n
                .parse::<f32>()
                .map(Value::Float)
                .map_err(|_| format!("`{n}` is not a number"))
        }
        T::Double if binary_float(st) => {
            return n
                .parse::<f64>()
                .map(Value::Double)
                .map_err(|_| format!("`{n}` is not a number"))
        }
        T::Text | T::Json => Value::Text(n.to_string()),
        _ => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            // NUMBER keeps no scale of its own: `1.50` is the number 1.5.
            Err(_) => Value::Decimal(
                Decimal::parse(n)
                    .and_then(|d| Decimal::parse(&d.normalized()))
                    .map_err(|e| e.to_string())?,
            ),
        },
    };
    let v = match r.transform {
        Some(t) => t.apply(v),
        None => v,
    };
    coerce(v, r.target)
}

/// A script value in a column of `st`, converted exactly to `r.target` or refused.
pub fn convert(lit: &Literal, st: &SourceType, r: &Resolved) -> Result<Value, String> {
    let v = match lit {
        Literal::Null => return Ok(Value::Null),
        Literal::Invalid { why, .. } => return Err(why.clone()),
        Literal::Num(n) => return number(n, st, r),
        // Oracle reads text given for RAW as hexadecimal.
        Literal::Str(s) if matches!(st.name.as_str(), "raw" | "long raw" | "blob") => {
            let padded = if s.len() % 2 == 1 {
                format!("0{s}")
            } else {
                s.clone()
            };
            Value::Blob(
                lightning_core::value::decode_hex(&padded)
                    .ok_or_else(|| format!("`{s}` is not hexadecimal bytes"))?,
            )
        }
        Literal::Str(s) => match r.target {
            T::Date | T::Timestamp | T::TimestampTz => {
                let stamp = crate::script::mask::iso().read(s).map_err(|why| {
                    format!("{why} (a date written as text without TO_DATE is read as YYYY-MM-DD HH24:MI:SS: the export's NLS format is not in the script)")
                })?;
                return timestamp(stamp, s, r.target);
            }
            T::SmallInt | T::Integer | T::BigInt | T::Decimal(_) | T::Float | T::Double => {
                return number(s.trim(), st, r)
            }
            _ => Value::Text(s.clone()),
        },
        Literal::Bin(b) => Value::Blob(b.clone()),
        Literal::Stamp(stamp, text) => match r.target {
            T::Text => Value::Text(text.clone()),
            t => return timestamp(*stamp, text, t),
        },
    };
    let v = match r.transform {
        Some(t) => t.apply(v),
        None => v,
    };
    coerce(v, r.target)
}

/// A date or time, exactly as its column keeps it or refused.
fn timestamp(s: crate::script::mask::Stamp, text: &str, target: T) -> Result<Value, String> {
    if s.nanos != 0 {
        return Err(format!(
            "`{text}` is more precise than a microsecond: Lightning keeps microseconds"
        ));
    }
    match (target, s.offset) {
        (T::TimestampTz, Some(off)) => s
            .local
            .checked_sub(i64::from(off) * 1_000_000)
            .map(Value::TimestampTz)
            .ok_or_else(|| format!("`{text}` is out of range")),
        (T::TimestampTz, None) => Err(format!(
            "`{text}` has no offset from UTC: the instant it names is not known (write it with TO_TIMESTAMP_TZ and TZH:TZM)"
        )),
        (_, Some(_)) => Err(format!(
            "`{text}` has a time zone, and the column keeps none: the wall-clock time would depend on a zone (a rule `column:TABLE.COLUMN => TIMESTAMPTZ` keeps the instant)"
        )),
        (t, None) => coerce(Value::Timestamp(s.local), t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::mask::Mask;

    fn conv(ty: &str, lit: Literal) -> Result<Value, String> {
        let st = SourceType::parse(ty);
        let mut r = default_rules().resolve("t", "c", &st).expect("a rule");
        refine(&st, &mut r);
        convert(&lit, &st, &r)
    }

    fn target(ty: &str) -> T {
        let st = SourceType::parse(ty);
        let mut r = default_rules().resolve("t", "c", &st).expect("a rule");
        refine(&st, &mut r);
        r.target
    }

    fn n(x: &str) -> Literal {
        Literal::Num(x.into())
    }

    #[test]
    fn number_declarations_give_exact_types() {
        assert_eq!(target("number"), T::Decimal(None));
        assert_eq!(target("number(4)"), T::SmallInt);
        assert_eq!(target("number(9,0)"), T::Integer);
        assert_eq!(target("number(18)"), T::BigInt);
        assert_eq!(target("number(19)"), T::Decimal(Some((19, 0))));
        assert_eq!(target("number(38,0)"), T::Decimal(Some((38, 0))));
        assert_eq!(target("number(10,2)"), T::Decimal(Some((10, 2))));
        assert_eq!(target("number(5,-2)"), T::Integer);
        assert_eq!(target("number(2,5)"), T::Decimal(Some((5, 5))));
        assert_eq!(target("number(1)"), T::SmallInt, "not guessed as a boolean");
        assert_eq!(target("float(126)"), T::Decimal(None));
    }

    #[test]
    fn edge_values_are_exact_or_refused() {
        assert_eq!(conv("number(4)", n("-9999")), Ok(Value::Int(-9999)));
        assert!(conv("number(4)", n("1.5")).is_err());
        assert_eq!(
            conv("number", n("1E+125")).map(|v| v.to_text().unwrap().len()),
            Ok(126)
        );
        assert_eq!(
            conv("number(10,2)", n("-.5")).map(|v| v.to_text()),
            Ok(Some("-0.50".into()))
        );
        assert_eq!(
            conv("binary_float", n("3.40282347E+038")),
            Ok(Value::Float(f32::MAX))
        );
        assert_eq!(
            conv("binary_double", n("-Infinity")),
            Ok(Value::Double(f64::NEG_INFINITY))
        );
        assert!(matches!(conv("binary_double", n("NaN")), Ok(Value::Double(f)) if f.is_nan()));
        assert_eq!(
            conv("raw(4)", Literal::Str("DEADBEEF".into())),
            Ok(Value::Blob(vec![0xde, 0xad, 0xbe, 0xef]))
        );
        let m = Mask::parse("YYYY-MM-DD HH24:MI:SS.FF9").unwrap();
        let fine = m.read("2024-01-01 00:00:00.123456000").unwrap();
        let nano = m.read("2024-01-01 00:00:00.123456789").unwrap();
        assert!(conv("timestamp(9)", Literal::Stamp(fine, String::new())).is_ok());
        assert!(conv("timestamp(9)", Literal::Stamp(nano, "x".into()))
            .unwrap_err()
            .contains("more precise than a microsecond"));
        let tz = Mask::parse("YYYY-MM-DD HH24:MI TZH:TZM")
            .unwrap()
            .read("2000-01-01 05:30 +05:30")
            .unwrap();
        assert_eq!(
            conv(
                "timestamp with time zone(6)",
                Literal::Stamp(tz, String::new())
            ),
            Ok(Value::TimestampTz(0))
        );
        assert!(conv("timestamp(6)", Literal::Stamp(tz, String::new())).is_err());
        assert!(conv("date", Literal::Str("17-JUN-03".into())).is_err());
    }
}
