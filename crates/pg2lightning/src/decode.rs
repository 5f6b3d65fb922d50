//! PostgreSQL's text form of a value → a Lightning value.
//!
//! The server is read with `COPY ... TO STDOUT` in text format, the same form a
//! pg_dump script holds, so one decoder serves both inputs and a migration from the
//! server and one from a dump of it give identical rows.

use lightning_core::value::{parse_date, parse_time, parse_timestamp, parse_uuid, Decimal};
use lightning_core::Value;

/// How a column's text is read: the natural Lightning value of its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgKind {
    Bool,
    Int,
    Float4,
    Float8,
    Numeric,
    /// `money`, read as `numeric` from the server; a dump holds the locale's form.
    Money,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    /// Any type whose text form is carried as it is (varchar, enums, interval, inet, ...).
    Text,
    /// An array, carried as a JSON array of its elements. `delim` is `;` for `box`.
    Array {
        elem: Box<PgKind>,
        delim: u8,
    },
    /// A composite value, carried as a JSON object.
    Composite(Vec<(String, PgKind)>),
}

/// Why a text could not be read as its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(kind: &str, text: &str, why: impl std::fmt::Display) -> DecodeError {
    let shown: String = text.chars().take(60).collect();
    DecodeError(format!("`{shown}` is not a valid {kind}: {why}"))
}

impl PgKind {
    /// Decode one non-NULL field.
    pub fn decode(&self, text: &str) -> Result<Value, DecodeError> {
        Ok(match self {
            PgKind::Bool => match text {
                "t" | "true" => Value::Bool(true),
                "f" | "false" => Value::Bool(false),
                _ => return Err(bad("boolean", text, "expected t or f")),
            },
            PgKind::Int => Value::Int(text.parse().map_err(|e| bad("integer", text, e))?),
            PgKind::Float4 => Value::Float(parse_float(text).map_err(|e| bad("real", text, e))?),
            PgKind::Float8 => {
                Value::Double(parse_float(text).map_err(|e| bad("double precision", text, e))?)
            }
            PgKind::Numeric => {
                Value::Decimal(Decimal::parse(text).map_err(|e| bad("numeric", text, e))?)
            }
            PgKind::Money => Value::Decimal(parse_money(text)?),
            PgKind::Bytea => Value::Blob(parse_bytea(text)?),
            PgKind::Date => Value::Date(parse_date(text).map_err(|e| bad("date", text, e))?),
            PgKind::Time => Value::Time(parse_time(text).map_err(|e| bad("time", text, e))?),
            PgKind::Timestamp => {
                Value::Timestamp(parse_timestamp(text).map_err(|e| bad("timestamp", text, e))?)
            }
            PgKind::TimestampTz => Value::TimestampTz(parse_timestamptz(text)?),
            PgKind::Uuid => Value::Uuid(parse_uuid(text).map_err(|e| bad("uuid", text, e))?),
            PgKind::Json => Value::Json(text.to_string()),
            PgKind::Text => Value::Text(text.to_string()),
            PgKind::Array { elem, delim } => {
                let mut out = String::with_capacity(text.len() + 2);
                array_to_json(text, elem, *delim, &mut out)?;
                Value::Json(out)
            }
            PgKind::Composite(fields) => {
                let mut out = String::with_capacity(text.len() + 16);
                record_to_json(text, fields, &mut out)?;
                Value::Json(out)
            }
        })
    }

    /// The element as a JSON value (inside arrays and composites).
    fn write_json(&self, text: &str, out: &mut String) -> Result<(), DecodeError> {
        match self {
            PgKind::Bool => out.push_str(match self.decode(text)? {
                Value::Bool(true) => "true",
                _ => "false",
            }),
            PgKind::Int => {
                self.decode(text)?;
                out.push_str(text);
            }
            PgKind::Float4 | PgKind::Float8 | PgKind::Numeric | PgKind::Money => {
                // JSON has no NaN or Infinity: those stay strings.
                let finite = text.bytes().any(|b| b.is_ascii_digit())
                    && !text.contains("Infinity")
                    && !text.contains('$');
                if finite && !matches!(self, PgKind::Money) {
                    self.decode(text)?;
                    out.push_str(text);
                } else {
                    json_string(text, out);
                }
            }
            PgKind::Json => out.push_str(text),
            PgKind::Array { elem, delim } => array_to_json(text, elem, *delim, out)?,
            PgKind::Composite(fields) => record_to_json(text, fields, out)?,
            _ => {
                // Checked for validity, carried as PostgreSQL prints it.
                self.decode(text)?;
                json_string(text, out);
            }
        }
        Ok(())
    }
}

fn parse_float<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    let t = match text {
        "Infinity" => "inf",
        "-Infinity" => "-inf",
        "NaN" => "NaN",
        other => other,
    };
    t.parse().map_err(|_| "expected a number".to_string())
}

/// `$1,234.56`, `-$0.50` (the locale's form, as a dump holds it) or `1234.56`.
fn parse_money(text: &str) -> Result<Decimal, DecodeError> {
    let neg = text.starts_with('-') || (text.starts_with('(') && text.ends_with(')'));
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    // A locale whose decimal mark is not `.` would be misread: insist on the
    // two-digit fraction every `.` locale prints.
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    let frac_ok = digits.split_once('.').is_some_and(|(_, f)| f.len() == 2);
    if digits.is_empty() || (!plain && !frac_ok) {
        return Err(bad(
            "money",
            text,
            "unknown currency format (set lc_monetary to a locale with `.` as the decimal mark)",
        ));
    }
    let s = if neg { format!("-{digits}") } else { digits };
    Decimal::parse(&s).map_err(|e| bad("money", text, e))
}

/// `\x0a0b` (hex output) or the older escape output (`a\000\\b`).
fn parse_bytea(text: &str) -> Result<Vec<u8>, DecodeError> {
    if let Some(hex) = text.strip_prefix("\\x") {
        return lightning_core::value::decode_hex(hex)
            .ok_or_else(|| bad("bytea", text, "bad hex digits"));
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = b
                .get(i + 1..i + 4)
                .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)))
                .ok_or_else(|| bad("bytea", text, "bad escape"))?;
            let v = oct.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
            out.push(u8::try_from(v).map_err(|_| bad("bytea", text, "bad escape"))?);
            i += 4;
        }
    }
    Ok(out)
}

/// `2022-01-01 10:00:00.5+05:30`, with offsets to the second (`+00:53:28`, local
/// mean time of old dates) and `BC` after the offset.
pub fn parse_timestamptz(text: &str) -> Result<i64, DecodeError> {
    match text {
        "infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let (body, bc) = match text.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (text, false),
    };
    let time_start = body.find(' ').map_or(body.len(), |i| i + 1);
    let off_at = body[time_start..]
        .rfind(['+', '-'])
        .map(|i| i + time_start)
        .ok_or_else(|| bad("timestamp with time zone", text, "no UTC offset"))?;
    let sign = if body.as_bytes()[off_at] == b'-' {
        -1
    } else {
        1
    };
    let mut secs = 0i64;
    let parts: Vec<&str> = body[off_at + 1..].split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad("timestamp with time zone", text, "bad UTC offset"));
    }
    for (p, unit) in parts.iter().zip([3600, 60, 1]) {
        let v: i64 = p
            .parse()
            .map_err(|_| bad("timestamp with time zone", text, "bad UTC offset"))?;
        secs += v * unit;
    }
    let local = &body[..off_at];
    let micros = if bc {
        parse_timestamp(&format!("{local} BC"))
    } else {
        parse_timestamp(local)
    }
    .map_err(|e| bad("timestamp with time zone", text, e))?;
    micros
        .checked_sub(sign * secs * 1_000_000)
        .filter(|&t| t != i64::MAX && t != i64::MIN)
        .ok_or_else(|| bad("timestamp with time zone", text, "out of range"))
}

pub fn json_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One element of an array or record literal: its text (unquoted) or `None` for NULL.
struct Elements<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Elements<'_> {
    /// Read a quoted or bare item up to (not including) one of `stops`.
    fn item(&mut self, stops: &[u8], null_word: bool) -> Result<Option<String>, String> {
        let s = self.s;
        if s.get(self.pos) == Some(&b'"') {
            self.pos += 1;
            let mut out = Vec::new();
            loop {
                match s.get(self.pos) {
                    None => return Err("unterminated quoted element".into()),
                    Some(b'\\') => {
                        let c = *s.get(self.pos + 1).ok_or("dangling backslash")?;
                        out.push(c);
                        self.pos += 2;
                    }
                    Some(b'"') if s.get(self.pos + 1) == Some(&b'"') && !null_word => {
                        // Record literals double their quotes.
                        out.push(b'"');
                        self.pos += 2;
                    }
                    Some(b'"') => {
                        self.pos += 1;
                        break;
                    }
                    Some(&c) => {
                        out.push(c);
                        self.pos += 1;
                    }
                }
            }
            return String::from_utf8(out)
                .map(Some)
                .map_err(|_| "invalid UTF-8".into());
        }
        let start = self.pos;
        let mut out = Vec::new();
        while let Some(&c) = s.get(self.pos) {
            if stops.contains(&c) {
                break;
            }
            if c == b'\\' {
                out.push(*s.get(self.pos + 1).ok_or("dangling backslash")?);
                self.pos += 2;
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        let raw = &s[start..self.pos];
        if null_word && raw.eq_ignore_ascii_case(b"NULL") {
            return Ok(None);
        }
        if !null_word && raw.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8(out).map_err(|_| "invalid UTF-8")?;
        Ok(Some(if null_word {
            text.trim().to_string()
        } else {
            text
        }))
    }
}

/// `{1,2,NULL}`, `{{a,b},{c,d}}`, `{"x y","q\"r"}` → a JSON array.
fn array_to_json(
    text: &str,
    elem: &PgKind,
    delim: u8,
    out: &mut String,
) -> Result<(), DecodeError> {
    if text.starts_with('[') {
        return Err(bad(
            "array",
            text,
            "arrays with explicit bounds cannot be carried as JSON",
        ));
    }
    let mut e = Elements {
        s: text.as_bytes(),
        pos: 0,
    };
    write_array(&mut e, elem, delim, out).map_err(|why| bad("array", text, why))?;
    if e.pos != e.s.len() {
        return Err(bad("array", text, "text after the closing brace"));
    }
    Ok(())
}

fn write_array(
    e: &mut Elements<'_>,
    elem: &PgKind,
    delim: u8,
    out: &mut String,
) -> Result<(), String> {
    if e.s.get(e.pos) != Some(&b'{') {
        return Err("expected `{`".into());
    }
    e.pos += 1;
    out.push('[');
    if e.s.get(e.pos) == Some(&b'}') {
        e.pos += 1;
        out.push(']');
        return Ok(());
    }
    loop {
        if e.s.get(e.pos) == Some(&b'{') {
            write_array(e, elem, delim, out)?;
        } else {
            match e.item(&[delim, b'}'], true)? {
                None => out.push_str("null"),
                Some(t) => elem.write_json(&t, out).map_err(|x| x.0)?,
            }
        }
        match e.s.get(e.pos) {
            Some(&c) if c == delim => {
                e.pos += 1;
                out.push(',');
            }
            Some(b'}') => {
                e.pos += 1;
                out.push(']');
                return Ok(());
            }
            _ => return Err("expected a delimiter or `}`".into()),
        }
    }
}

/// `(1,"a b",)` → `{"f1":1,"f2":"a b","f3":null}`.
fn record_to_json(
    text: &str,
    fields: &[(String, PgKind)],
    out: &mut String,
) -> Result<(), DecodeError> {
    let b = text.as_bytes();
    if b.first() != Some(&b'(') || b.last() != Some(&b')') {
        return Err(bad("composite value", text, "expected `(...)`"));
    }
    let mut e = Elements {
        s: &b[..b.len() - 1],
        pos: 1,
    };
    out.push('{');
    for (i, (name, kind)) in fields.iter().enumerate() {
        if i > 0 {
            if e.s.get(e.pos) != Some(&b',') {
                return Err(bad("composite value", text, "too few fields"));
            }
            e.pos += 1;
            out.push(',');
        }
        json_string(name, out);
        out.push(':');
        match e
            .item(b",", false)
            .map_err(|w| bad("composite value", text, w))?
        {
            None => out.push_str("null"),
            Some(t) => kind.write_json(&t, out)?,
        }
    }
    if e.pos != e.s.len() {
        return Err(bad("composite value", text, "too many fields"));
    }
    out.push('}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_decode_exactly() {
        assert_eq!(PgKind::Bool.decode("t").unwrap(), Value::Bool(true));
        assert_eq!(
            PgKind::Int.decode("-9223372036854775808").unwrap(),
            Value::Int(i64::MIN)
        );
        assert!(matches!(PgKind::Float8.decode("NaN").unwrap(), Value::Double(f) if f.is_nan()));
        assert_eq!(
            PgKind::Float8.decode("-Infinity").unwrap(),
            Value::Double(f64::NEG_INFINITY)
        );
        assert_eq!(PgKind::Float4.decode("1.1").unwrap(), Value::Float(1.1f32));
        assert_eq!(
            PgKind::Money.decode("-$1,234.50").unwrap(),
            Value::Decimal(Decimal::parse("-1234.50").unwrap())
        );
        assert!(PgKind::Money.decode("1.234,50 €").is_err());
        assert_eq!(
            PgKind::Bytea.decode("\\x00ff").unwrap(),
            Value::Blob(vec![0, 255])
        );
        assert_eq!(
            PgKind::Bytea.decode("a\\000\\\\").unwrap(),
            Value::Blob(vec![b'a', 0, b'\\'])
        );
        assert_eq!(
            PgKind::Date.decode("0044-03-15 BC").unwrap(),
            Value::Date(lightning_core::value::date_from_ymd(-43, 3, 15).unwrap())
        );
        assert_eq!(
            PgKind::Date.decode("infinity").unwrap(),
            Value::Date(i32::MAX)
        );
    }

    #[test]
    fn offsets_to_the_second_and_bc_instants() {
        let utc = parse_timestamptz("2022-01-01 10:00:00+00").unwrap();
        assert_eq!(parse_timestamptz("2022-01-01 15:30:00+05:30").unwrap(), utc);
        assert_eq!(parse_timestamptz("2022-01-01 07:00:00-03").unwrap(), utc);
        let lmt = parse_timestamptz("1850-01-01 00:00:00+00:53:28").unwrap();
        assert_eq!(lmt, parse_timestamptz("1849-12-31 23:06:32+00").unwrap());
        assert!(parse_timestamptz("0044-03-15 12:00:00+00 BC").unwrap() < 0);
        assert_eq!(parse_timestamptz("-infinity").unwrap(), i64::MIN);
    }

    #[test]
    fn the_first_and_last_finite_values_decode() {
        // PostgreSQL's END_TIMESTAMP - 1 and MIN_TIMESTAMP: the same count from 2000.
        let last = 9_223_371_331_199_999_999;
        assert_eq!(
            PgKind::Timestamp
                .decode("294276-12-31 23:59:59.999999")
                .unwrap(),
            Value::Timestamp(last)
        );
        assert_eq!(
            parse_timestamptz("294276-12-31 23:59:59.999999+00").unwrap(),
            last
        );
        assert_eq!(
            parse_timestamptz("294277-01-01 13:59:59.999999+14").unwrap(),
            last
        );
        assert_eq!(
            parse_timestamptz("4714-11-24 00:00:00+00 BC").unwrap(),
            -211_813_488_000_000_000
        );
        assert_eq!(
            PgKind::Date.decode("5874897-12-31").unwrap(),
            Value::Date(lightning_core::value::date_from_ymd(5_874_897, 12, 31).unwrap())
        );
        assert_eq!(
            PgKind::Date.decode("4714-11-24 BC").unwrap(),
            Value::Date(lightning_core::value::date_from_ymd(-4713, 11, 24).unwrap())
        );
    }

    #[test]
    fn arrays_and_records_become_json() {
        let ints = PgKind::Array {
            elem: Box::new(PgKind::Int),
            delim: b',',
        };
        assert_eq!(
            ints.decode("{{1,2},{NULL,-4}}").unwrap(),
            Value::Json("[[1,2],[null,-4]]".into())
        );
        let texts = PgKind::Array {
            elem: Box::new(PgKind::Text),
            delim: b',',
        };
        assert_eq!(
            texts.decode(r#"{"a b","q\"r",NULL,"NULL",ü}"#).unwrap(),
            Value::Json(r#"["a b","q\"r",null,"NULL","ü"]"#.into())
        );
        assert_eq!(texts.decode("{}").unwrap(), Value::Json("[]".into()));
        assert!(ints.decode("[0:1]={1,2}").is_err());
        let floats = PgKind::Array {
            elem: Box::new(PgKind::Float8),
            delim: b',',
        };
        assert_eq!(
            floats.decode("{1.5,NaN,-Infinity}").unwrap(),
            Value::Json(r#"[1.5,"NaN","-Infinity"]"#.into())
        );
        let rec = PgKind::Composite(vec![
            ("n".into(), PgKind::Int),
            ("s".into(), PgKind::Text),
            ("z".into(), PgKind::Text),
        ]);
        assert_eq!(
            rec.decode(r#"(1,"a ""b"", c",)"#).unwrap(),
            Value::Json(r#"{"n":1,"s":"a \"b\", c","z":null}"#.into())
        );
        assert!(rec.decode("(1,2)").is_err());
    }

    proptest::proptest! {
        // Whatever text arrives, decoding answers with a value or an error.
        #[test]
        fn decoders_never_panic(text in "[{}()\\[\\]\",\\\\ a-z0-9:.+-]{0,40}") {
            let kinds = [
                PgKind::Array { elem: Box::new(PgKind::Int), delim: b',' },
                PgKind::Array { elem: Box::new(PgKind::Text), delim: b',' },
                PgKind::Composite(vec![("a".into(), PgKind::Float8), ("b".into(), PgKind::Text)]),
                PgKind::TimestampTz, PgKind::Money, PgKind::Bytea, PgKind::Date, PgKind::Time,
            ];
            for k in &kinds {
                let _ = k.decode(&text);
            }
        }
    }
}
