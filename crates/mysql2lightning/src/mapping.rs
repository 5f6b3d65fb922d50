//! How MySQL types and values become Lightning types and values: the default cast
//! rules (`--print-casts`), the kind of each column, and the conversion of one value.
//!
//! Values arrive as `mysql::Value`s: from the server through the binary protocol,
//! and from a dump through `dump::insert`, which turns each literal into the value
//! the server would have sent. One conversion serves both, so a server migration
//! and a dump migration of the same database hold the same values.

use std::collections::BTreeMap;
use std::sync::Mutex;

use lightning_core::cast::{coerce, CastRule, CastRules, Resolved, SourceType, GEOMETRY_TYPES};
use lightning_core::value::{date_from_ymd, timestamp_from_parts, Decimal, Value};
use lightning_core::LightningType as T;
use mysql::Value as MyValue;

/// What to do with a zero date (`0000-00-00`, `2020-00-15`: a month or day of 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ZeroDates {
    /// Stop with an error naming the row (the default).
    #[default]
    Error,
    /// Carry it as NULL (the column becomes nullable).
    Null,
    /// Carry it as `-infinity`, a value no MySQL date can hold.
    Sentinel,
}

/// The family of a MySQL column type: it decides how its values are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bit,
    Decimal,
    Float,
    Double,
    /// Character data (already UTF-8 when it reaches the conversion).
    Text,
    Binary,
    Enum(Vec<String>),
    Set(Vec<String>),
    Date,
    DateTime,
    Timestamp,
    Time,
    Year,
    Json,
    Spatial,
    Unknown,
}

impl Kind {
    pub fn of(column_type: &str) -> Kind {
        let st = SourceType::parse(column_type);
        match st.name.as_str() {
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" | "bool"
            | "boolean" => Kind::Int,
            "bit" => Kind::Bit,
            "decimal" | "numeric" | "dec" | "fixed" => Kind::Decimal,
            "float" => Kind::Float,
            "double" | "double precision" | "real" => Kind::Double,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "inet4"
            | "inet6" | "uuid" => Kind::Text,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                Kind::Binary
            }
            "enum" => Kind::Enum(crate::model::enum_values(column_type)),
            "set" => Kind::Set(crate::model::enum_values(column_type)),
            "date" => Kind::Date,
            "datetime" => Kind::DateTime,
            "timestamp" => Kind::Timestamp,
            "time" => Kind::Time,
            "year" => Kind::Year,
            "json" => Kind::Json,
            n if GEOMETRY_TYPES.contains(&n) => Kind::Spatial,
            _ => Kind::Unknown,
        }
    }

    /// Whether values of this kind are character data (decoded from the dump's
    /// character set) rather than bytes.
    pub fn is_character(&self) -> bool {
        matches!(
            self,
            Kind::Text | Kind::Enum(_) | Kind::Set(_) | Kind::Json | Kind::Decimal | Kind::Unknown
        )
    }
}

/// The default rules of mysql2lightning (shown by `--print-casts`).
pub fn default_rules() -> CastRules {
    let r = CastRule::default_for;
    let text = "UTF-8 text (other character sets are converted; latin1 is read as Windows-1252)";
    let blob = "bytes as stored";
    let spatial = "WKB bytes (the 4-byte SRID MySQL keeps in front is dropped)";
    let dec = "exact decimal with the declared precision and scale";
    let mut rules = vec![
        r("tinyint(1)", T::Boolean, "MySQL's BOOL; 0 and 1 become false and true, any other value is refused (cast to SMALLINT to carry it)"),
        r("bool", T::Boolean, "MySQL's BOOL; 0 and 1 become false and true"),
        r("boolean", T::Boolean, "MySQL's BOOL; 0 and 1 become false and true"),
        r("tinyint", T::SmallInt, "-128..127 and 0..255 fit SMALLINT"),
        r("smallint unsigned", T::Integer, "0..65535 needs INTEGER"),
        r("smallint", T::SmallInt, "same range"),
        r("mediumint", T::Integer, "24-bit integers fit INTEGER"),
        r("int unsigned", T::BigInt, "0..4294967295 needs BIGINT"),
        r("int", T::Integer, "same range"),
        r("integer unsigned", T::BigInt, "0..4294967295 needs BIGINT"),
        r("integer", T::Integer, "same range"),
        r("bigint unsigned", T::Decimal(Some((20, 0))), "0..18446744073709551615 does not fit BIGINT: carried exactly as DECIMAL(20,0)"),
        r("bigint", T::BigInt, "same range"),
        r("bit(1)", T::Boolean, "a single bit"),
        r("bit(64)", T::Decimal(Some((20, 0))), "64 bits do not fit BIGINT: the unsigned value as DECIMAL(20,0)"),
        r("bit", T::BigInt, "the bits as an unsigned integer"),
        r("serial", T::Decimal(Some((20, 0))), "SERIAL is BIGINT UNSIGNED"),
    ];
    for n in ["decimal", "numeric", "dec", "fixed"] {
        rules.push(r(n, T::Decimal(None), dec));
    }
    rules.push(r("float", T::Float, "32-bit IEEE float, exact"));
    for n in ["double", "double precision", "real"] {
        rules.push(r(n, T::Double, "64-bit IEEE float, exact"));
    }
    for n in [
        "char",
        "varchar",
        "tinytext",
        "text",
        "mediumtext",
        "longtext",
    ] {
        rules.push(r(n, T::Text, text));
    }
    for n in [
        "binary",
        "varbinary",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
    ] {
        rules.push(r(n, T::Blob, blob));
    }
    rules.push(r(
        "enum",
        T::Text,
        "the member's text, with a CHECK listing the members",
    ));
    rules.push(r(
        "set",
        T::Text,
        "comma-separated members as MySQL prints them (cast to JSON for an array)",
    ));
    rules.push(r(
        "date",
        T::Date,
        "exact; zero dates as --zero-dates decides",
    ));
    rules.push(r(
        "datetime",
        T::Timestamp,
        "exact to the microsecond, no time zone",
    ));
    rules.push(r(
        "timestamp",
        T::TimestampTz,
        "an instant, read in UTC (session time_zone '+00:00')",
    ));
    rules.push(r(
        "time",
        T::Time,
        "a duration: negative and over 24 hours kept (-838:59:59..838:59:59)",
    ));
    rules.push(r(
        "year",
        T::SmallInt,
        "the year as a number (0 or 1901..2155)",
    ));
    rules.push(r("json", T::Json, "the document's text"));
    for n in GEOMETRY_TYPES {
        rules.push(r(n, T::Blob, spatial));
    }
    rules.push(r("uuid", T::Uuid, "MariaDB's UUID type"));
    rules.push(r("inet4", T::Text, "the address as text"));
    rules.push(r("inet6", T::Text, "the address as text"));
    CastRules::new(rules)
}

/// The decision for one column: its kind and its resolved rule.
#[derive(Debug, Clone)]
pub struct ColMap {
    pub kind: Kind,
    /// What the MySQL column can hold: an integer range, or a length in characters.
    pub limit: Limit,
    pub resolved: Resolved,
    /// `table.column`, for counters and messages.
    pub object: String,
    pub column_type: String,
}

impl ColMap {
    /// A DATE, DATETIME or TIMESTAMP column carried as a date or time: its zero
    /// dates need a decision (`--zero-dates`).
    pub fn takes_zero_dates(&self) -> bool {
        matches!(self.kind, Kind::Date | Kind::DateTime | Kind::Timestamp)
            && self.resolved.target != T::Text
    }
}

/// The bound MySQL puts on a column's values (a dump may hold values the column
/// could never have held: they are refused, naming the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    None,
    Int(i128, i128),
    Chars(u32),
}

impl Limit {
    pub fn of(column_type: &str) -> Limit {
        let st = SourceType::parse(column_type);
        let bits = match st.name.as_str() {
            "tinyint" | "bool" | "boolean" => 8,
            "smallint" => 16,
            "mediumint" => 24,
            "int" | "integer" => 32,
            "bigint" => 64,
            "char" | "varchar" => {
                return st.params.first().map_or(Limit::None, |n| Limit::Chars(*n))
            }
            _ => return Limit::None,
        };
        if st.unsigned {
            Limit::Int(0, (1i128 << bits) - 1)
        } else {
            Limit::Int(-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        }
    }

    fn check(self, v: &MyValue, column_type: &str) -> Result<(), String> {
        let out = |x: &dyn std::fmt::Display| {
            Err(format!(
                "{x} does not fit the column's type `{column_type}`"
            ))
        };
        match (self, v) {
            (Limit::Int(lo, hi), MyValue::Int(i)) if i128::from(*i) < lo || i128::from(*i) > hi => {
                out(i)
            }
            (Limit::Int(lo, hi), MyValue::UInt(u))
                if i128::from(*u) < lo || i128::from(*u) > hi =>
            {
                out(u)
            }
            (Limit::Chars(n), MyValue::Bytes(b)) if b.len() > n as usize => {
                let chars = std::str::from_utf8(b).map_or(b.len(), |s| s.chars().count());
                if chars > n as usize {
                    return Err(format!("a text of {chars} characters does not fit the column's type `{column_type}`"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Resolve a column's rules. `None` when no rule knows the type.
pub fn resolve(rules: &CastRules, table: &str, column: &str, column_type: &str) -> Resolved {
    let st = SourceType::parse(column_type);
    if let Some(mut r) = rules.resolve(table, column, &st) {
        if r.target == T::Decimal(None) && !r.user_rule {
            match st.params[..] {
                [p, s] if p > 0 && s <= p => r.target = T::Decimal(Some((p, s))),
                [p] if p > 0 => r.target = T::Decimal(Some((p, 0))),
                [] => r.target = T::Decimal(Some((10, 0))),
                _ => {}
            }
        }
        return r;
    }
    Resolved {
        target: T::Text,
        transform: rules.transform_for(table, column, &st),
        rule: "unknown type".into(),
        reason: Some(format!(
            "no rule knows `{column_type}`: its values are carried as the server prints them"
        )),
        user_rule: false,
    }
}

/// Per-value decisions worth reporting after a run (zero dates), by `table.column`.
#[derive(Debug, Default)]
pub struct Counters {
    pub zero_dates: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub fn forget(&self) {
        self.zero_dates.lock().expect("counters").clear();
    }

    fn zero_date(&self, object: &str) {
        *self
            .zero_dates
            .lock()
            .expect("counters")
            .entry(object.to_string())
            .or_default() += 1;
    }

    /// Lines for the end of a run: `t.c: 3 zero dates carried as NULL`.
    pub fn summary(&self, policy: ZeroDates) -> Vec<String> {
        let how = match policy {
            ZeroDates::Null => "carried as NULL",
            ZeroDates::Sentinel => "carried as -infinity",
            ZeroDates::Error => "refused",
        };
        self.zero_dates
            .lock()
            .expect("counters")
            .iter()
            .map(|(k, n)| format!("{k}: {n} zero dates {how}"))
            .collect()
    }
}

/// What the conversion of a value needs besides the value.
pub struct Ctx<'a> {
    pub zero_dates: ZeroDates,
    pub counters: &'a Counters,
}

fn be_uint(b: &[u8]) -> Result<u64, String> {
    if b.len() > 8 {
        return Err(format!("a BIT value of {} bytes", b.len()));
    }
    Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
}

fn uint_value(u: u64) -> Value {
    if u <= i64::MAX as u64 {
        Value::Int(u as i64)
    } else {
        Value::Decimal(Decimal::parse(&u.to_string()).expect("digits"))
    }
}

/// MySQL's text form of a date and time (`2020-00-15`, `0000-00-00 00:00:00`).
#[allow(clippy::too_many_arguments)] // the seven parts of a MySQL date value
fn mysql_datetime_text(kind: &Kind, y: u16, m: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> String {
    let mut t = format!("{y:04}-{m:02}-{d:02}");
    if *kind != Kind::Date {
        t.push_str(&format!(" {h:02}:{mi:02}:{s:02}"));
        if us != 0 {
            t.push_str(&format!(".{us:06}"));
        }
    }
    t
}

/// Parse MySQL's text form of a DATE / DATETIME / TIMESTAMP value. Zero parts are
/// allowed (they are MySQL's zero dates).
pub fn parse_datetime(s: &str) -> Option<MyValue> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: u16 = dp.next()?.parse().ok()?;
    let m: u8 = dp.next()?.parse().ok()?;
    let d: u8 = dp.next()?.parse().ok()?;
    if dp.next().is_some() || m > 12 || d > 31 {
        return None;
    }
    let (mut h, mut mi, mut sec, mut us) = (0u8, 0u8, 0u8, 0u32);
    if let Some(t) = time {
        let (hms, frac) = match t.split_once('.') {
            Some((a, f)) => (a, Some(f)),
            None => (t, None),
        };
        let mut tp = hms.split(':');
        h = tp.next()?.parse().ok()?;
        mi = tp.next()?.parse().ok()?;
        sec = tp.next().map_or(Some(0), |x| x.parse().ok())?;
        if tp.next().is_some() || h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 6 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            us = format!("{f:0<6}").parse().ok()?;
        }
    }
    Some(MyValue::Date(y, m, d, h, mi, sec, us))
}

/// Parse MySQL's text form of a TIME value: `[-][D ]HHH:MM:SS[.ffffff]`.
pub fn parse_time(s: &str) -> Option<MyValue> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let (days, body) = match body.split_once(' ') {
        Some((d, rest)) => (d.parse::<u32>().ok()?, rest),
        None => (0, body),
    };
    let (hms, frac) = match body.split_once('.') {
        Some((a, f)) => (a, Some(f)),
        None => (body, None),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let (h, m, sec): (u32, u8, u8) = match parts[..] {
        [h, m, s] => (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?),
        [h, m] => (h.parse().ok()?, m.parse().ok()?, 0),
        _ => return None,
    };
    if m > 59 || sec > 59 {
        return None;
    }
    let us = match frac {
        Some(f) if !f.is_empty() && f.len() <= 6 && f.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{f:0<6}").parse().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    let total_h = days * 24 + h;
    Some(MyValue::Time(
        neg,
        total_h / 24,
        (total_h % 24) as u8,
        m,
        sec,
        us,
    ))
}

/// The natural Lightning value of a MySQL value of kind `kind`, before the column's
/// cast. Zero dates are decided here.
fn natural(col: &ColMap, v: MyValue, ctx: &Ctx<'_>) -> Result<Value, String> {
    let target = col.resolved.target;
    Ok(match v {
        MyValue::NULL => Value::Null,
        MyValue::Int(i) => Value::Int(i),
        MyValue::UInt(u) => uint_value(u),
        MyValue::Float(f) => Value::Float(f),
        MyValue::Double(f) => Value::Double(f),
        MyValue::Bytes(b) => match &col.kind {
            Kind::Binary => Value::Blob(b),
            Kind::Bit => uint_value(be_uint(&b)?),
            Kind::Spatial => {
                if b.len() < 5 {
                    return Err(format!(
                        "a geometry value of {} bytes (expected a 4-byte SRID and WKB)",
                        b.len()
                    ));
                }
                Value::Blob(b[4..].to_vec())
            }
            Kind::Date | Kind::DateTime | Kind::Timestamp | Kind::Time => {
                let s = String::from_utf8(b).map_err(|_| "a date that is not text".to_string())?;
                let parsed = if col.kind == Kind::Time {
                    parse_time(&s)
                } else {
                    parse_datetime(&s)
                };
                match parsed {
                    Some(p) => return natural(col, p, ctx),
                    None => {
                        return Err(format!("`{s}` is not a valid MySQL {}", kind_name(&col.kind)))
                    }
                }
            }
            Kind::Set(_) if target == T::Json => {
                let s = String::from_utf8(b).map_err(|_| "a SET value that is not UTF-8")?;
                let items: Vec<&str> = if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',').collect()
                };
                Value::Json(serde_json::to_string(&items).expect("strings serialise"))
            }
            Kind::Int | Kind::Year | Kind::Float | Kind::Double => {
                // Text protocol or a quoted number in a dump.
                let s = String::from_utf8(b).map_err(|_| "a number that is not text")?;
                let t = s.trim();
                match col.kind {
                    Kind::Float => Value::Float(
                        t.parse()
                            .map_err(|_| format!("`{t}` is not a FLOAT"))?,
                    ),
                    Kind::Double => Value::Double(
                        t.parse()
                            .map_err(|_| format!("`{t}` is not a DOUBLE"))?,
                    ),
                    _ => match t.parse::<i64>() {
                        Ok(i) => Value::Int(i),
                        Err(_) => uint_value(
                            t.parse::<u64>()
                                .map_err(|_| format!("`{t}` is not an integer"))?,
                        ),
                    },
                }
            }
            _ => match String::from_utf8(b) {
                Ok(s) => Value::Text(s),
                Err(e) => {
                    return Err(format!(
                        "text that is not valid UTF-8 (byte {}); cast the column to BLOB to carry its bytes",
                        e.utf8_error().valid_up_to()
                    ))
                }
            },
        },
        MyValue::Date(y, m, d, h, mi, s, us) => {
            if target == T::Text {
                return Ok(Value::Text(mysql_datetime_text(
                    &col.kind, y, m, d, h, mi, s, us,
                )));
            }
            if m == 0 || d == 0 {
                ctx.counters.zero_date(&col.object);
                let shown = mysql_datetime_text(&col.kind, y, m, d, h, mi, s, us);
                return match ctx.zero_dates {
                    ZeroDates::Null => Ok(Value::Null),
                    ZeroDates::Sentinel => Ok(match target {
                        T::Date => Value::Date(i32::MIN),
                        T::TimestampTz => Value::TimestampTz(i64::MIN),
                        _ => Value::Timestamp(i64::MIN),
                    }),
                    ZeroDates::Error => Err(format!(
                        "zero date `{shown}`; choose what to do with zero dates: --zero-dates null or --zero-dates sentinel (-infinity)"
                    )),
                };
            }
            let days = date_from_ymd(i32::from(y), u32::from(m), u32::from(d))
                .ok_or_else(|| format!("no such day: {y:04}-{m:02}-{d:02}"))?;
            match col.kind {
                Kind::Date => Value::Date(days),
                _ => {
                    let micros = timestamp_from_parts(
                        days,
                        u32::from(h),
                        u32::from(mi),
                        u32::from(s),
                        us,
                    )
                    .ok_or_else(|| format!("out of range: {y:04}-{m:02}-{d:02}"))?;
                    if col.kind == Kind::Timestamp {
                        Value::TimestampTz(micros)
                    } else {
                        Value::Timestamp(micros)
                    }
                }
            }
        }
        MyValue::Time(neg, days, h, m, s, us) => {
            let micros = ((i64::from(days) * 24 + i64::from(h)) * 3600
                + i64::from(m) * 60
                + i64::from(s))
                * 1_000_000
                + i64::from(us);
            Value::Time(if neg { -micros } else { micros })
        }
    })
}

fn kind_name(k: &Kind) -> &'static str {
    match k {
        Kind::Date => "DATE",
        Kind::DateTime => "DATETIME",
        Kind::Timestamp => "TIMESTAMP",
        Kind::Time => "TIME",
        _ => "value",
    }
}

/// Convert one MySQL value for a column: exactly, or an error saying why.
pub fn convert(col: &ColMap, v: MyValue, ctx: &Ctx<'_>) -> Result<Value, String> {
    if col.limit != Limit::None {
        col.limit.check(&v, &col.column_type)?;
    }
    let mut value = natural(col, v, ctx)?;
    if let Some(t) = col.resolved.transform {
        value = t.apply(value);
    }
    let target = col.resolved.target;
    // A BIT(1) or TINYINT(1) value other than 0/1 says what would carry it.
    coerce(value, target).map_err(|e| {
        if target == T::Boolean {
            format!(
                "{e}; carry such values with --cast 'column:{} => SMALLINT'",
                col.object
            )
        } else {
            e
        }
    })
}

/// The value as it was read, for reject files and messages.
pub fn raw_value(v: &MyValue) -> Value {
    match v {
        MyValue::NULL => Value::Null,
        MyValue::Int(i) => Value::Int(*i),
        MyValue::UInt(u) => uint_value(*u),
        MyValue::Float(f) => Value::Float(*f),
        MyValue::Double(f) => Value::Double(*f),
        MyValue::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Blob(b.clone()),
        },
        other => Value::Text(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: &str) -> ColMap {
        let rules = default_rules();
        ColMap {
            kind: Kind::of(ty),
            limit: Limit::of(ty),
            resolved: resolve(&rules, "t", "c", ty),
            object: "t.c".into(),
            column_type: ty.into(),
        }
    }

    #[test]
    fn integer_widths_and_signs() {
        let c = |t: &str| col(t).resolved.target;
        assert_eq!(c("tinyint(1)"), T::Boolean);
        assert_eq!(c("tinyint(4)"), T::SmallInt);
        assert_eq!(c("tinyint(3) unsigned"), T::SmallInt);
        assert_eq!(c("smallint(5) unsigned"), T::Integer);
        assert_eq!(c("int(10) unsigned"), T::BigInt);
        assert_eq!(c("int(11)"), T::Integer);
        assert_eq!(c("bigint(20) unsigned"), T::Decimal(Some((20, 0))));
        assert_eq!(c("decimal(10,3)"), T::Decimal(Some((10, 3))));
        assert_eq!(c("bit(1)"), T::Boolean);
        assert_eq!(c("bit(5)"), T::BigInt);
        assert_eq!(c("bit(64)"), T::Decimal(Some((20, 0))));
        assert_eq!(c("timestamp(3)"), T::TimestampTz);
    }

    #[test]
    fn values_convert_exactly() {
        let counters = Counters::default();
        let ctx = Ctx {
            zero_dates: ZeroDates::Error,
            counters: &counters,
        };
        let u = col("bigint(20) unsigned");
        assert_eq!(
            convert(&u, MyValue::UInt(u64::MAX), &ctx).unwrap(),
            Value::Decimal(Decimal::parse("18446744073709551615").unwrap())
        );
        let b = col("bit(64)");
        assert_eq!(
            convert(&b, MyValue::Bytes(vec![0xff; 8]), &ctx).unwrap(),
            Value::Decimal(Decimal::parse("18446744073709551615").unwrap())
        );
        let t = col("time");
        assert_eq!(
            convert(&t, parse_time("-838:59:59").unwrap(), &ctx).unwrap(),
            Value::Time(-(838 * 3600 + 59 * 60 + 59) * 1_000_000)
        );
        let d = col("date");
        assert!(convert(&d, parse_datetime("2020-00-15").unwrap(), &ctx)
            .unwrap_err()
            .contains("--zero-dates"));
        assert_eq!(
            convert(&d, parse_datetime("0009-12-04").unwrap(), &ctx).unwrap(),
            Value::Date(date_from_ymd(9, 12, 4).unwrap())
        );
        let null_ctx = Ctx {
            zero_dates: ZeroDates::Null,
            counters: &counters,
        };
        assert_eq!(
            convert(&d, parse_datetime("0000-00-00").unwrap(), &null_ctx).unwrap(),
            Value::Null
        );
        assert_eq!(counters.zero_dates.lock().unwrap()["t.c"], 2);
        let mut s = col("set('a','b')");
        s.resolved.target = T::Json;
        assert_eq!(
            convert(&s, MyValue::Bytes(b"a,b".to_vec()), &ctx).unwrap(),
            Value::Json("[\"a\",\"b\"]".into())
        );
        let g = col("geometry");
        assert_eq!(
            convert(&g, MyValue::Bytes(vec![0, 0, 0, 0, 1, 2]), &ctx).unwrap(),
            Value::Blob(vec![1, 2])
        );
        assert!(convert(&col("tinyint(4)"), MyValue::Int(300), &ctx)
            .unwrap_err()
            .contains("does not fit"));
        assert!(convert(&col("varchar(2)"), MyValue::Bytes("éé".into()), &ctx).is_ok());
        assert!(convert(&col("varchar(2)"), MyValue::Bytes("abc".into()), &ctx).is_err());
        let bool_col = col("tinyint(1)");
        assert!(convert(&bool_col, MyValue::Int(5), &ctx)
            .unwrap_err()
            .contains("SMALLINT"));
    }

    #[test]
    fn time_text_parses_days_and_fractions() {
        assert_eq!(
            parse_time("100:00:00.5"),
            Some(MyValue::Time(false, 4, 4, 0, 0, 500_000))
        );
        assert_eq!(parse_time("12:60:00"), None);
        assert_eq!(
            parse_datetime("2021-06-01 12:00:00.5"),
            Some(MyValue::Date(2021, 6, 1, 12, 0, 0, 500_000))
        );
    }
}
