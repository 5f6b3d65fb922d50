//! How SQL Server types and script values become Lightning types and values.

use lightning_core::cast::{coerce, CastRule, CastRules, Resolved, SourceType};
use lightning_core::report::Severity;
use lightning_core::value::Value;
use lightning_core::LightningType as T;

use crate::script::Literal;

/// The default rules of mssql2lightning (shown by `--print-casts`).
pub fn default_rules() -> CastRules {
    let r = CastRule::default_for;
    let text = "Unicode text; the declared length is not enforced";
    let padded = "Unicode text; values keep the padding SQL Server gave them";
    let bytes = "bytes as stored";
    let stamp = "date and time of day, no time zone; fractions to the microsecond";
    CastRules::new(vec![
        r("bit", T::Boolean, "0 and 1"),
        r(
            "tinyint",
            T::SmallInt,
            "0 to 255: SMALLINT holds every value",
        ),
        r("smallint", T::SmallInt, "16-bit integer"),
        r("int", T::Integer, "32-bit integer"),
        r("bigint", T::BigInt, "64-bit integer"),
        r(
            "decimal",
            T::Decimal(None),
            "exact decimal; precision and scale kept (18,0 when not declared)",
        ),
        r(
            "numeric",
            T::Decimal(None),
            "exact decimal; precision and scale kept (18,0 when not declared)",
        ),
        r(
            "money",
            T::Decimal(Some((19, 4))),
            "exact: money is a 64-bit count of ten-thousandths",
        ),
        r(
            "smallmoney",
            T::Decimal(Some((10, 4))),
            "exact: smallmoney is a 32-bit count of ten-thousandths",
        ),
        r("real", T::Float, "32-bit IEEE float"),
        r(
            "float",
            T::Double,
            "64-bit IEEE float (float(1) to float(24) are 32-bit: FLOAT)",
        ),
        r("double precision", T::Double, "64-bit IEEE float"),
        r("char", T::Text, padded),
        r("nchar", T::Text, padded),
        r("character", T::Text, padded),
        r("national character", T::Text, padded),
        r("national char", T::Text, padded),
        r("varchar", T::Text, text),
        r("nvarchar", T::Text, text),
        r("char varying", T::Text, text),
        r("character varying", T::Text, text),
        r("national character varying", T::Text, text),
        r("national char varying", T::Text, text),
        r("text", T::Text, text),
        r("ntext", T::Text, text),
        r("sysname", T::Text, text),
        r("binary", T::Blob, bytes),
        r("varbinary", T::Blob, bytes),
        r("binary varying", T::Blob, bytes),
        r("image", T::Blob, bytes),
        r("date", T::Date, "0001-01-01 to 9999-12-31, exact"),
        r(
            "time",
            T::Time,
            "time of day to the microsecond; a value with a seventh fractional digit is refused",
        ),
        r(
            "datetime",
            T::Timestamp,
            "1/300 s steps, every one exact in microseconds",
        ),
        r("datetime2", T::Timestamp, stamp),
        r("smalldatetime", T::Timestamp, "to the minute, exact"),
        r(
            "datetimeoffset",
            T::TimestampTz,
            "the instant, to the microsecond; the offset is not kept",
        ),
        r(
            "uniqueidentifier",
            T::Uuid,
            "16 bytes, in the text order SQL Server prints",
        ),
        r("xml", T::Text, "the document as text"),
        r(
            "sql_variant",
            T::Text,
            "each value as its text; its base type is not kept",
        ),
        r(
            "hierarchyid",
            T::Blob,
            "SQL Server's binary form, as scripted",
        ),
        r("geometry", T::Blob, "SQL Server's binary form, as scripted"),
        r(
            "geography",
            T::Blob,
            "SQL Server's binary form, as scripted",
        ),
        r("rowversion", T::Blob, "the 8 bytes of the row version"),
        r(
            "timestamp",
            T::Blob,
            "SQL Server's timestamp is a row version: its 8 bytes",
        ),
    ])
}

/// Digits of a fraction of a second a temporal type keeps: 7 unless declared.
fn fraction_digits(st: &SourceType) -> u32 {
    st.params.first().copied().unwrap_or(7)
}

/// The type a default rule gives, with what SQL Server's declaration adds.
pub fn refine(st: &SourceType, r: &mut Resolved) {
    if r.user_rule {
        return;
    }
    match st.name.as_str() {
        "decimal" | "numeric" if st.params.is_empty() => r.target = T::Decimal(Some((18, 0))),
        "float" if st.params.first().is_some_and(|&n| n <= 24) => r.target = T::Float,
        _ => r.keep_declared_precision(st),
    }
}

/// What the report says of a column of this type, when something is worth saying.
pub fn note(st: &SourceType, target: T) -> Option<(Severity, String)> {
    let seven = fraction_digits(st) > 6;
    Some(match (st.name.as_str(), target) {
        ("time" | "datetime2", T::Time | T::Timestamp) if seven => (
            Severity::Loss,
            format!(
                "{}: SQL Server keeps 100 ns; Lightning keeps microseconds. A value with a seventh fractional digit is refused for its row (a rule `column:TABLE.COLUMN => TEXT` keeps every digit)",
                st.raw
            ),
        ),
        ("datetimeoffset", T::TimestampTz) => (
            Severity::Loss,
            format!(
                "{}: the instant is kept, its offset from UTC is not{}",
                st.raw,
                if seven { "; a value with a seventh fractional digit is refused for its row" } else { "" }
            ),
        ),
        ("sql_variant", T::Text) => (
            Severity::Loss,
            "sql_variant: each value is carried as its text; its base type is lost".into(),
        ),
        ("hierarchyid" | "geometry" | "geography", T::Blob) => (
            Severity::Loss,
            format!(
                "{}: carried as SQL Server's binary form; Lightning has no such type, so its methods and indexes are not carried",
                st.name
            ),
        ),
        ("rowversion" | "timestamp", T::Blob) => (
            Severity::Warning,
            format!(
                "{}: SQL Server makes row versions and a script carries none, so the column is NULL (its bytes when a script has them); Lightning does not advance them",
                st.name
            ),
        ),
        ("xml", T::Text) => (
            Severity::Warning,
            "xml: carried as text; XML indexes and schema collections are not".into(),
        ),
        _ => return None,
    })
}

/// SQL Server stores a uniqueidentifier's first three groups little-endian: the
/// bytes of a `0x` literal in the order its text form prints them.
fn uuid_from_sql_server(b: &[u8]) -> Option<Vec<u8>> {
    (b.len() == 16).then(|| {
        [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
            .iter()
            .map(|&i| b[i])
            .collect()
    })
}

/// A script value in a column of `st`, converted exactly to `r.target` or refused.
pub fn convert(lit: &Literal, st: &SourceType, r: &Resolved) -> Result<Value, String> {
    let v = match lit {
        Literal::Null => return Ok(Value::Null),
        Literal::Num(n) => match r.target {
            T::Text | T::Json => Value::Text(n.clone()),
            // SQL Server reads any number other than 0 as 1 in a bit.
            T::Boolean if st.name == "bit" => match n.parse::<f64>() {
                Ok(0.0) => Value::Bool(false),
                Ok(_) => Value::Bool(true),
                Err(_) => return Err(format!("`{n}` is not a number")),
            },
            _ => Value::Text(n.clone()),
        },
        Literal::Str(s) => match r.target {
            T::Blob => Value::Blob(s.clone().into_bytes()),
            _ => Value::Text(s.clone()),
        },
        Literal::Bin(b) => match (st.name.as_str(), r.target) {
            ("uniqueidentifier", T::Uuid) => {
                Value::Blob(uuid_from_sql_server(b).ok_or_else(|| {
                    format!("a uniqueidentifier of {} bytes (16 expected)", b.len())
                })?)
            }
            _ => Value::Blob(b.clone()),
        },
    };
    let v = match r.transform {
        Some(t) => t.apply(v),
        None => v,
    };
    coerce(v, r.target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(ty: &str, lit: Literal) -> Result<Value, String> {
        let st = SourceType::parse(ty);
        let mut r = default_rules().resolve("t", "c", &st).expect("a rule");
        refine(&st, &mut r);
        convert(&lit, &st, &r)
    }

    fn s(x: &str) -> Literal {
        Literal::Str(x.into())
    }

    fn n(x: &str) -> Literal {
        Literal::Num(x.into())
    }

    #[test]
    fn edge_values_are_exact_or_refused() {
        assert_eq!(conv("tinyint", n("255")), Ok(Value::Int(255)));
        assert!(conv("int", n("2147483648")).is_err());
        assert_eq!(conv("bit", n("1")), Ok(Value::Bool(true)));
        assert_eq!(
            conv("money", n("-922337203685477.5808")).map(|v| v.to_text()),
            Ok(Some("-922337203685477.5808".into()))
        );
        assert!(conv("decimal", n("1.5")).is_err(), "decimal is (18,0)");
        assert_eq!(conv("float(24)", n("0.1")), Ok(Value::Float(0.1)));
        assert_eq!(
            conv("float", n("1.7976931348623157E+308")),
            Ok(Value::Double(f64::MAX))
        );
        assert!(conv("time(7)", s("23:59:59.9999999"))
            .unwrap_err()
            .contains("more precise"));
        assert_eq!(
            conv("time(7)", s("23:59:59.9999990")),
            Ok(Value::Time(86_399_999_999))
        );
        assert!(conv("datetime2", s("9999-12-31T23:59:59.9999999")).is_err());
        assert_eq!(
            conv("datetimeoffset(0)", s("2000-01-01T05:30:00+05:30")),
            Ok(Value::TimestampTz(0))
        );
        assert_eq!(
            conv("uniqueidentifier", Literal::Bin((0..16).collect())),
            Ok(Value::Uuid([
                3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15
            ]))
        );
        assert_eq!(
            conv("varbinary(max)", Literal::Bin(vec![])),
            Ok(Value::Blob(vec![]))
        );
    }
}
