//! Exact Lightning values and their canonical text forms.

use std::fmt;

use base64::Engine as _;
use serde_json::Value as Json;

use crate::types::LightningType;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;
/// 2000-01-01, the zero of TIMESTAMP and TIMESTAMPTZ, as a day number. PostgreSQL's
/// epoch: from it an `i64` of microseconds reaches every finite PostgreSQL timestamp
/// (294276 AD), which from 1970 it would not.
pub const TIMESTAMP_EPOCH_DAYS: i64 = 10_957;

/// One value of a row. Dates and times are integers so that they stay exact and
/// order-preserving; `Date(i32::MAX)` / `Date(i32::MIN)` and the `i64` extremes of the
/// timestamp types stand for `infinity` / `-infinity`. Finite dates reach past
/// 5874897 AD and timestamps past 294276 AD both ways, beyond PostgreSQL's ranges.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// SMALLINT, INTEGER and BIGINT.
    Int(i64),
    Float(f32),
    Double(f64),
    Decimal(Decimal),
    Text(String),
    Blob(Vec<u8>),
    /// Days since 1970-01-01 (proleptic Gregorian, astronomical years).
    Date(i32),
    /// Microseconds; may be negative or beyond one day.
    Time(i64),
    /// Microseconds since 2000-01-01 00:00:00, no time zone.
    Timestamp(i64),
    /// Microseconds since 2000-01-01 00:00:00 UTC.
    TimestampTz(i64),
    /// JSON text, kept byte for byte.
    Json(String),
    Uuid([u8; 16]),
}

pub type Row = Vec<Value>;

/// An exact decimal number in canonical text form: `-?digits(.digits)?`, or `NaN`,
/// `Infinity`, `-Infinity`. Trailing zeros after the point are kept: `1.50` has scale 2.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a decimal number")]
pub struct BadDecimal(pub String);

impl Decimal {
    pub fn parse(s: &str) -> Result<Decimal, BadDecimal> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "nan" => return Ok(Decimal("NaN".into())),
            "infinity" | "+infinity" | "inf" => return Ok(Decimal("Infinity".into())),
            "-infinity" | "-inf" => return Ok(Decimal("-Infinity".into())),
            _ => {}
        }
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (mantissa, exp) = match body.find(['e', 'E']) {
            Some(i) => {
                let e: i64 = body[i + 1..].parse().map_err(|_| BadDecimal(s.into()))?;
                (&body[..i], e)
            }
            None => (body, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || exp.abs() > 100_000
        {
            return Err(BadDecimal(s.into()));
        }
        let mut digits: String = format!("{int}{frac}");
        let mut scale = frac.len() as i64 - exp;
        if scale < 0 {
            digits.extend(std::iter::repeat_n('0', (-scale) as usize));
            scale = 0;
        }
        let scale = scale as usize;
        if digits.len() <= scale {
            let pad = scale + 1 - digits.len();
            digits.insert_str(0, &"0".repeat(pad));
        }
        let split = digits.len() - scale;
        let int_part = digits[..split].trim_start_matches('0');
        let int_part = if int_part.is_empty() { "0" } else { int_part };
        let frac_part = &digits[split..];
        let is_zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
        let mut out = String::with_capacity(digits.len() + 2);
        if neg && !is_zero {
            out.push('-');
        }
        out.push_str(int_part);
        if !frac_part.is_empty() {
            out.push('.');
            out.push_str(frac_part);
        }
        Ok(Decimal(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_special(&self) -> bool {
        matches!(self.0.as_str(), "NaN" | "Infinity" | "-Infinity")
    }

    /// (digits before the point, digits after the point), for finite values.
    pub fn digits(&self) -> Option<(u32, u32)> {
        if self.is_special() {
            return None;
        }
        let body = self.0.trim_start_matches('-');
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let int_digits = if int == "0" { 0 } else { int.len() as u32 };
        Some((int_digits, frac.len() as u32))
    }

    /// Whether this value fits DECIMAL(p,s) exactly (no rounding needed).
    pub fn fits(&self, precision: u32, scale: u32) -> bool {
        match self.digits() {
            None => false,
            Some((int, frac)) => {
                let significant_frac = {
                    let body = self.0.trim_start_matches('-');
                    let frac = body.split_once('.').map(|x| x.1).unwrap_or("");
                    frac.trim_end_matches('0').len() as u32
                };
                let _ = frac;
                significant_frac <= scale && int <= precision - scale
            }
        }
    }

    /// The same number written with exactly `scale` digits after the point (zeros
    /// added or dropped); `None` when that would drop a non-zero digit, and for NaN
    /// and the infinities.
    pub fn with_scale(&self, scale: u32) -> Option<Decimal> {
        if self.is_special() {
            return None;
        }
        let (int, frac) = self.0.split_once('.').unwrap_or((&self.0, ""));
        let scale = scale as usize;
        if frac.len() > scale && frac.as_bytes()[scale..].iter().any(|&b| b != b'0') {
            return None;
        }
        let kept = &frac[..frac.len().min(scale)];
        let mut out = String::with_capacity(int.len() + scale + 1);
        out.push_str(int);
        if scale > 0 {
            out.push('.');
            out.push_str(kept);
            out.extend(std::iter::repeat_n('0', scale - kept.len()));
        }
        Some(Decimal(out))
    }

    /// Canonical numeric form, equal for equal numbers (`1.50` and `1.5` alike).
    pub fn normalized(&self) -> String {
        if self.is_special() {
            return self.0.clone();
        }
        let s = self.0.as_str();
        if s.contains('.') {
            let t = s.trim_end_matches('0').trim_end_matches('.');
            if t == "-0" {
                "0".into()
            } else {
                t.to_string()
            }
        } else {
            s.to_string()
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that does not parse as the type it was declared with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {ty}: {why}")]
pub struct ParseValueError {
    pub text: String,
    pub ty: LightningType,
    pub why: String,
}

fn perr(text: &str, ty: LightningType, why: impl Into<String>) -> ParseValueError {
    ParseValueError {
        text: text.chars().take(80).collect(),
        ty,
        why: why.into(),
    }
}

/// Days from 1970-01-01 to `y-m-d` (proleptic Gregorian, astronomical years), for any
/// year: Howard Hinnant's `days_from_civil`, exact where chrono's calendar stops.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of `days_from_civil`: (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// The day number of a calendar date; `None` for no such day, or one outside the
/// finite range (`i32::MIN` and `i32::MAX` are the infinities).
fn day_number(y: i64, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || y.abs() > 100_000_000 {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d))
        .ok()
        .filter(|&n| n != i32::MIN && n != i32::MAX)
}

pub fn date_from_ymd(y: i32, m: u32, d: u32) -> Option<i32> {
    day_number(i64::from(y), m, d)
}

fn write_date(out: &mut String, days: i32) {
    match days {
        i32::MAX => out.push_str("infinity"),
        i32::MIN => out.push_str("-infinity"),
        _ => write_civil(out, i64::from(days)),
    }
}

/// `YYYY-MM-DD`; years outside 0..=9999 carry a sign and at least 4 digits.
fn write_civil(out: &mut String, days: i64) {
    use fmt::Write;
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    } else {
        let _ = write!(out, "{y:+05}-{m:02}-{d:02}");
    }
}

fn write_time_of_day(out: &mut String, micros: i64) {
    use fmt::Write;
    let neg = micros < 0;
    let m = micros.unsigned_abs();
    let (secs, frac) = (m / 1_000_000, m % 1_000_000);
    if neg {
        out.push('-');
    }
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

fn write_timestamp(out: &mut String, micros: i64) {
    match micros {
        i64::MAX => out.push_str("infinity"),
        i64::MIN => out.push_str("-infinity"),
        _ => {
            let (days, tod) = timestamp_parts(micros);
            write_civil(out, days);
            out.push(' ');
            write_time_of_day(out, tod);
        }
    }
}

/// (day number, microseconds into the day) of a finite timestamp.
pub fn timestamp_parts(micros: i64) -> (i64, i64) {
    (
        micros.div_euclid(MICROS_PER_DAY) + TIMESTAMP_EPOCH_DAYS,
        micros.rem_euclid(MICROS_PER_DAY),
    )
}

/// The timestamp of a day number (days since 1970-01-01) and a time of day;
/// `None` outside the finite range (`i64::MIN` and `i64::MAX` are the infinities).
pub fn timestamp_from_days(days: i64, micros_of_day: i64) -> Option<i64> {
    days.checked_sub(TIMESTAMP_EPOCH_DAYS)?
        .checked_mul(MICROS_PER_DAY)?
        .checked_add(micros_of_day)
        .filter(|&t| t != i64::MAX && t != i64::MIN)
}

/// Parse a date written as `YYYY-MM-DD`, `+YYYYY-MM-DD`, `-YYYY-MM-DD`, or
/// `YYYY-MM-DD BC` (years of any length), or `infinity` / `-infinity`.
pub fn parse_date(s: &str) -> Result<i32, ParseValueError> {
    match s.trim() {
        "infinity" | "+infinity" => Ok(i32::MAX),
        "-infinity" => Ok(i32::MIN),
        t => parse_finite_date(t).map_err(|why| perr(s, LightningType::Date, why)),
    }
}

fn parse_finite_date(t: &str) -> Result<i32, &'static str> {
    const SHAPE: &str = "expected YYYY-MM-DD";
    let (body, bc) = match t.strip_suffix(" BC") {
        Some(b) => (b.trim(), true),
        None => (t, false),
    };
    let (neg, rest) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let mut parts = rest.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SHAPE);
    };
    let number = |x: &str, max_len: usize| -> Result<i64, &'static str> {
        if x.is_empty() || x.len() > max_len || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SHAPE);
        }
        x.parse().map_err(|_| SHAPE)
    };
    // Nine digits reach far past the last day an i32 can number.
    let mut year = number(y, 9)?;
    let (month, day) = (number(m, 2)? as u32, number(d, 2)? as u32);
    if neg {
        year = -year;
    }
    if bc {
        year = 1 - year;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err("no such day");
    }
    day_number(year, month, day).ok_or("out of range")
}

/// Parse `[-]HH:MM:SS[.ffffff]`, hours may exceed 23.
pub fn parse_time(s: &str) -> Result<i64, ParseValueError> {
    let t = s.trim();
    let bad = || perr(s, LightningType::Time, "expected HH:MM:SS[.ffffff]");
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let (hms, frac) = body.split_once('.').unwrap_or((body, ""));
    let mut it = hms.split(':');
    let h: i64 = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let m: i64 = it.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let sec: i64 = match it.next() {
        Some(x) => x.parse().map_err(|_| bad())?,
        None => 0,
    };
    // A leap second (:60) has no exact place in microseconds since midnight: refused.
    if it.next().is_some() || h < 0 || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return Err(bad());
    }
    let micros = parse_fraction(frac).map_err(|why| perr(s, LightningType::Time, why))?;
    let total = h
        .checked_mul(3600)
        .and_then(|x| x.checked_add(m * 60 + sec))
        .and_then(|x| x.checked_mul(1_000_000))
        .and_then(|x| x.checked_add(micros))
        .ok_or_else(|| perr(s, LightningType::Time, "out of range"))?;
    Ok(if neg { -total } else { total })
}

/// Microseconds of a fraction of a second. Digits beyond the sixth are taken
/// when they are zeros; others would be rounded away, and are refused.
fn parse_fraction(frac: &str) -> Result<i64, &'static str> {
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected HH:MM:SS[.ffffff]");
    }
    let (micros, beyond) = frac.split_at(frac.len().min(6));
    if beyond.bytes().any(|b| b != b'0') {
        return Err("more precise than a microsecond: Lightning keeps microseconds, and rounding would change the value");
    }
    if micros.is_empty() {
        return Ok(0);
    }
    let v: i64 = micros.parse().map_err(|_| "expected HH:MM:SS[.ffffff]")?;
    Ok(v * 10_i64.pow(6 - micros.len() as u32))
}

/// Parse `DATE[ T]TIME[.ffffff]` (and the infinities) to microseconds.
pub fn parse_timestamp(s: &str) -> Result<i64, ParseValueError> {
    let t = s.trim();
    match t {
        "infinity" | "+infinity" => return Ok(i64::MAX),
        "-infinity" => return Ok(i64::MIN),
        _ => {}
    }
    let (body, bc) = match t.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (t, false),
    };
    let split = body
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == ' ' || *c == 'T')
        .map(|(i, _)| i);
    let (date, time) = match split {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, "00:00:00"),
    };
    let date = if bc {
        format!("{date} BC")
    } else {
        date.into()
    };
    let days = parse_finite_date(&date).map_err(|why| {
        perr(
            s,
            LightningType::Timestamp,
            format!("bad date part ({why})"),
        )
    })?;
    let tod = parse_time(time).map_err(|e| {
        let why = if e.why.starts_with("more precise") {
            e.why
        } else {
            "bad time part".into()
        };
        perr(s, LightningType::Timestamp, why)
    })?;
    if !(0..MICROS_PER_DAY).contains(&tod) {
        return Err(perr(
            s,
            LightningType::Timestamp,
            "time of day out of range",
        ));
    }
    timestamp_from_days(i64::from(days), tod)
        .ok_or_else(|| perr(s, LightningType::Timestamp, "out of range"))
}

/// Parse an instant with an offset (`Z`, `+HH`, `+HH:MM`); no offset means UTC.
pub fn parse_timestamptz(s: &str) -> Result<i64, ParseValueError> {
    let t = s.trim();
    let bad = |why: &str| perr(s, LightningType::TimestampTz, why);
    let (t2, zulu) = match t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        Some(x) => (x, true),
        None => (t, false),
    };
    // An offset sign after the time part: `+HH`, `+HH:MM` or `+HHMM`.
    let time_start = t2.find([' ', 'T']).map(|i| i + 1).unwrap_or(t2.len());
    let off_pos = (!zulu)
        .then(|| t2[time_start..].rfind(['+', '-']).map(|i| i + time_start))
        .flatten();
    let (local, offset_secs) = match off_pos {
        Some(p) => {
            let off = &t2[p + 1..];
            let sign = if &t2[p..p + 1] == "-" { -1 } else { 1 };
            let (h, m) = match (off.split_once(':'), off.len()) {
                (Some((h, m)), _) => (h, m),
                (None, 4) => off.split_at(2),
                (None, _) => (off, "00"),
            };
            let two_digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
            if !two_digits(h) || !two_digits(m) {
                return Err(bad("bad offset (expected +HH, +HH:MM or +HHMM)"));
            }
            let (h, m): (i64, i64) = (h.parse().unwrap_or(99), m.parse().unwrap_or(99));
            if h > 15 || m > 59 {
                return Err(bad("offset out of range"));
            }
            (&t2[..p], sign * (h * 3600 + m * 60))
        }
        None => (t2, 0),
    };
    let micros = parse_timestamp(local).map_err(|e| bad(&e.why))?;
    if micros == i64::MAX || micros == i64::MIN {
        return Ok(micros);
    }
    micros
        .checked_sub(offset_secs * 1_000_000)
        .filter(|&t| t != i64::MAX && t != i64::MIN)
        .ok_or_else(|| bad("out of range"))
}

pub fn parse_uuid(s: &str) -> Result<[u8; 16], ParseValueError> {
    uuid::Uuid::parse_str(s.trim())
        .map(|u| *u.as_bytes())
        .map_err(|e| perr(s, LightningType::Uuid, e.to_string()))
}

fn format_f64(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        // Rust's shortest round-trip representation.
        format!("{v:?}")
    }
}

fn format_f32(v: f32) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v:?}")
    }
}

fn parse_f64(s: &str) -> Option<f64> {
    match s.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        t => t.parse().ok(),
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Canonical text form (what `lightning scan` and CSV export print); `None` for NULL.
    /// BLOBs print as `\x` followed by hex.
    pub fn to_text(&self) -> Option<String> {
        let mut out = String::new();
        match self {
            Value::Null => return None,
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format_f32(*f)),
            Value::Double(f) => out.push_str(&format_f64(*f)),
            Value::Decimal(d) => out.push_str(d.as_str()),
            Value::Text(s) | Value::Json(s) => out.push_str(s),
            Value::Blob(b) => {
                out.push_str("\\x");
                for byte in b {
                    out.push_str(&format!("{byte:02x}"));
                }
            }
            Value::Date(d) => write_date(&mut out, *d),
            Value::Time(t) => write_time_of_day(&mut out, *t),
            Value::Timestamp(t) => write_timestamp(&mut out, *t),
            Value::TimestampTz(t) => {
                write_timestamp(&mut out, *t);
                if *t != i64::MAX && *t != i64::MIN {
                    out.push_str("+00:00");
                }
            }
            Value::Uuid(u) => out.push_str(&uuid::Uuid::from_bytes(*u).to_string()),
        }
        Some(out)
    }

    /// Parse the canonical text form of `ty` (the inverse of `to_text`).
    pub fn from_text(ty: LightningType, s: &str) -> Result<Value, ParseValueError> {
        let bad = |why: &str| perr(s, ty, why);
        Ok(match ty {
            LightningType::Boolean => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" | "on" => Value::Bool(true),
                "false" | "f" | "0" | "no" | "off" => Value::Bool(false),
                _ => return Err(bad("expected true or false")),
            },
            LightningType::SmallInt | LightningType::Integer | LightningType::BigInt => {
                let v: i64 = s.trim().parse().map_err(|_| bad("not an integer"))?;
                let (lo, hi) = ty.int_range().unwrap_or((i64::MIN, i64::MAX));
                if v < lo || v > hi {
                    return Err(bad("out of range"));
                }
                Value::Int(v)
            }
            LightningType::Float => {
                Value::Float(parse_f64(s).ok_or_else(|| bad("not a number"))? as f32)
            }
            LightningType::Double => {
                Value::Double(parse_f64(s).ok_or_else(|| bad("not a number"))?)
            }
            LightningType::Decimal(limit) => {
                let d = Decimal::parse(s).map_err(|_| bad("not a decimal number"))?;
                match limit {
                    // DECIMAL(p,s) values are written at scale s.
                    Some((p, scale)) => Value::Decimal(
                        d.with_scale(scale)
                            .filter(|_| d.fits(p, scale))
                            .ok_or_else(|| bad(&format!("does not fit {ty} without rounding")))?,
                    ),
                    None => Value::Decimal(d),
                }
            }
            LightningType::Text => Value::Text(s.to_string()),
            LightningType::Json => {
                serde_json::from_str::<serde::de::IgnoredAny>(s)
                    .map_err(|e| bad(&format!("not JSON: {e}")))?;
                Value::Json(s.to_string())
            }
            LightningType::Blob => {
                let hex = s
                    .strip_prefix("\\x")
                    .ok_or_else(|| bad("expected \\x followed by hex"))?;
                Value::Blob(decode_hex(hex).ok_or_else(|| bad("bad hex"))?)
            }
            LightningType::Date => Value::Date(parse_date(s)?),
            LightningType::Time => Value::Time(parse_time(s)?),
            LightningType::Timestamp => Value::Timestamp(parse_timestamp(s)?),
            LightningType::TimestampTz => Value::TimestampTz(parse_timestamptz(s)?),
            LightningType::Uuid => Value::Uuid(parse_uuid(s)?),
        })
    }

    /// JSON form used by the stream: exact for every type (decimals, blobs and
    /// special floats travel as strings).
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Double(f) if f.is_finite() => Json::from(*f),
            Value::Float(f) if f.is_finite() => {
                // Print the f32's shortest form so it parses back to the same f32.
                serde_json::from_str(&format_f32(*f)).unwrap_or(Json::Null)
            }
            Value::Blob(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
            other => Json::String(other.to_text().unwrap_or_default()),
        }
    }

    /// Inverse of `to_json` for a column of type `ty`.
    pub fn from_json(ty: LightningType, j: &Json) -> Result<Value, ParseValueError> {
        let text_of = |j: &Json| -> String {
            match j {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            }
        };
        Ok(match (ty, j) {
            (_, Json::Null) => Value::Null,
            (LightningType::Boolean, Json::Bool(b)) => Value::Bool(*b),
            (t, Json::Number(n)) if t.is_integer() => {
                let v = n
                    .as_i64()
                    .ok_or_else(|| perr(&n.to_string(), t, "not an integer"))?;
                Value::from_text(t, &v.to_string())?
            }
            (LightningType::Blob, Json::String(s)) => Value::Blob(
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| perr(s, ty, format!("bad base64: {e}")))?,
            ),
            (LightningType::Text, Json::String(s)) => Value::Text(s.clone()),
            // The stream writes a timestamp without time zone at UTC (RFC 3339).
            (LightningType::Timestamp, Json::String(s)) => {
                let local = s
                    .strip_suffix("+00:00")
                    .or_else(|| s.strip_suffix('Z'))
                    .unwrap_or(s);
                Value::from_text(ty, local)?
            }
            (t, other) => Value::from_text(t, &text_of(other))?,
        })
    }

    /// Whether this value is of a kind a column of `ty` can hold as it is.
    pub fn fits_type(&self, ty: LightningType) -> Result<(), String> {
        match (self, ty) {
            (Value::Null, _) => Ok(()),
            (Value::Bool(_), LightningType::Boolean) => Ok(()),
            (Value::Int(v), t) if t.is_integer() => {
                let (lo, hi) = t.int_range().unwrap_or((i64::MIN, i64::MAX));
                if *v < lo || *v > hi {
                    Err(format!("{v} is out of range for {t}"))
                } else {
                    Ok(())
                }
            }
            (Value::Float(_), LightningType::Float) => Ok(()),
            (Value::Double(_), LightningType::Double) => Ok(()),
            (Value::Decimal(d), LightningType::Decimal(limit)) => match limit {
                Some((p, s)) if !d.fits(p, s) => Err(format!(
                    "{d} does not fit DECIMAL({p},{s}) without rounding"
                )),
                Some((p, s)) if d.digits().map(|x| x.1) != Some(s) => Err(format!(
                    "{d} is not written with the {s} fraction digits of DECIMAL({p},{s})"
                )),
                _ => Ok(()),
            },
            (Value::Text(_), LightningType::Text) => Ok(()),
            (Value::Blob(_), LightningType::Blob) => Ok(()),
            (Value::Date(_), LightningType::Date) => Ok(()),
            (Value::Time(_), LightningType::Time) => Ok(()),
            (Value::Timestamp(_), LightningType::Timestamp) => Ok(()),
            (Value::TimestampTz(_), LightningType::TimestampTz) => Ok(()),
            (Value::Json(_), LightningType::Json) => Ok(()),
            (Value::Uuid(_), LightningType::Uuid) => Ok(()),
            (v, t) => Err(format!(
                "a {} value cannot be stored in a {t} column",
                v.kind()
            )),
        }
    }

    /// A short name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Double(_) => "double",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamptz",
            Value::Json(_) => "json",
            Value::Uuid(_) => "uuid",
        }
    }

    /// Approximate heap size, for memory accounting of batches.
    pub fn size_hint(&self) -> usize {
        match self {
            Value::Text(s) | Value::Json(s) => s.len() + 24,
            Value::Blob(b) => b.len() + 24,
            Value::Decimal(d) => d.as_str().len() + 24,
            _ => 16,
        }
    }
}

pub fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Build a timestamp from calendar parts (used by sources); `None` out of range.
pub fn timestamp_from_parts(date_days: i32, h: u32, m: u32, s: u32, micros: u32) -> Option<i64> {
    let tod =
        ((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * 1_000_000 + i64::from(micros);
    timestamp_from_days(i64::from(date_days), tod)
}

/// A value borrowed from where it is kept (an encoded row, a `Value`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f32),
    Double(f64),
    /// A decimal's canonical text.
    Decimal(&'a str),
    Text(&'a str),
    Blob(&'a [u8]),
    Date(i32),
    Time(i64),
    Timestamp(i64),
    TimestampTz(i64),
    Json(&'a str),
    Uuid(&'a [u8; 16]),
}

impl ValueRef<'_> {
    /// The owned value; `None` for a decimal whose text is not a decimal.
    pub fn to_value(self) -> Option<Value> {
        Some(match self {
            ValueRef::Null => Value::Null,
            ValueRef::Bool(b) => Value::Bool(b),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Double(f) => Value::Double(f),
            ValueRef::Decimal(d) => Value::Decimal(Decimal::parse(d).ok()?),
            ValueRef::Text(s) => Value::Text(s.to_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            ValueRef::Date(d) => Value::Date(d),
            ValueRef::Time(t) => Value::Time(t),
            ValueRef::Timestamp(t) => Value::Timestamp(t),
            ValueRef::TimestampTz(t) => Value::TimestampTz(t),
            ValueRef::Json(s) => Value::Json(s.to_owned()),
            ValueRef::Uuid(u) => Value::Uuid(*u),
        })
    }

    /// A short name of the value's kind, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Bool(_) => "boolean",
            ValueRef::Int(_) => "integer",
            ValueRef::Float(_) => "float",
            ValueRef::Double(_) => "double",
            ValueRef::Decimal(_) => "decimal",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "blob",
            ValueRef::Date(_) => "date",
            ValueRef::Time(_) => "time",
            ValueRef::Timestamp(_) => "timestamp",
            ValueRef::TimestampTz(_) => "timestamptz",
            ValueRef::Json(_) => "json",
            ValueRef::Uuid(_) => "uuid",
        }
    }
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Int(i) => ValueRef::Int(*i),
            Value::Float(f) => ValueRef::Float(*f),
            Value::Double(f) => ValueRef::Double(*f),
            Value::Decimal(d) => ValueRef::Decimal(d.as_str()),
            Value::Text(s) => ValueRef::Text(s),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Date(d) => ValueRef::Date(*d),
            Value::Time(t) => ValueRef::Time(*t),
            Value::Timestamp(t) => ValueRef::Timestamp(*t),
            Value::TimestampTz(t) => ValueRef::TimestampTz(*t),
            Value::Json(s) => ValueRef::Json(s),
            Value::Uuid(u) => ValueRef::Uuid(u),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical_and_exact() {
        assert_eq!(Decimal::parse("001.50").unwrap().as_str(), "1.50");
        assert_eq!(Decimal::parse("-0.0").unwrap().as_str(), "0.0");
        assert_eq!(Decimal::parse("1e3").unwrap().as_str(), "1000");
        assert_eq!(Decimal::parse("1.5e-3").unwrap().as_str(), "0.0015");
        assert_eq!(Decimal::parse(".5").unwrap().as_str(), "0.5");
        assert!(Decimal::parse("1.2.3").is_err());
        let big = "123456789012345678901234567890.123456789012345678901234567890";
        assert_eq!(Decimal::parse(big).unwrap().as_str(), big);
        assert!(Decimal::parse("123.45").unwrap().fits(5, 2));
        assert!(!Decimal::parse("123.456").unwrap().fits(5, 2));
        assert!(!Decimal::parse("1234.5").unwrap().fits(5, 2));
        assert!(Decimal::parse("1.500").unwrap().fits(5, 2));

        assert_eq!(Decimal::parse("1.50").unwrap().normalized(), "1.5");
    }

    #[test]
    fn text_forms_round_trip() {
        let cases = [
            (LightningType::Date, "2024-02-29"),
            (LightningType::Date, "-0043-03-15"),
            (LightningType::Date, "infinity"),
            (LightningType::Date, "-infinity"),
            (LightningType::Time, "838:59:59"),
            (LightningType::Time, "-01:00:00.5"),
            (LightningType::Timestamp, "1999-12-31 23:59:59.999999"),
            (LightningType::Timestamp, "0000-01-01 00:00:00"),
            (LightningType::TimestampTz, "2024-01-01 10:00:00+00:00"),
            (LightningType::Double, "NaN"),
            (LightningType::Double, "-Infinity"),
            (LightningType::Double, "0.1"),
            (LightningType::Float, "3.4028235e38"),
            (LightningType::Blob, "\\x00ff10"),
            (LightningType::Uuid, "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ];
        for (ty, text) in cases {
            let v = Value::from_text(ty, text).unwrap();
            let back = v.to_text().unwrap();
            let v2 = Value::from_text(ty, &back).unwrap();
            assert_eq!(format!("{v:?}"), format!("{v2:?}"), "{ty} {text}");
            assert_eq!(
                Value::from_json(ty, &v.to_json())
                    .map(|x| format!("{x:?}"))
                    .unwrap(),
                format!("{v:?}")
            );
        }
        assert_eq!(
            Value::from_text(LightningType::Time, "-01:00:00.5")
                .unwrap()
                .to_text()
                .unwrap(),
            "-01:00:00.500000"
        );
        assert_eq!(
            Value::from_text(LightningType::TimestampTz, "2024-01-01 12:00:00+02:00").unwrap(),
            Value::from_text(LightningType::TimestampTz, "2024-01-01T10:00:00Z").unwrap()
        );
        let tz =
            |s: &str| Value::from_text(LightningType::TimestampTz, s).map(|v| v.to_text().unwrap());
        assert_eq!(
            tz("2024-01-01 10:00:00+0530").unwrap(),
            "2024-01-01 04:30:00+00:00"
        );
        assert_eq!(
            tz("2024-01-01T10:00:00-03").unwrap(),
            "2024-01-01 13:00:00+00:00"
        );
        assert!(tz("2024-01-01 10:00:00+99:00").is_err());
        assert!(
            tz("2024-01-01T10:00:00.123456789Z").is_err(),
            "nanoseconds are not carried"
        );
        let tm = |s: &str| Value::from_text(LightningType::Time, s);
        assert!(tm("99999999999:00:00").is_err());
        assert!(tm("5124095576:00:00").is_err());
        assert!(tm("10:00:60").is_err());
        assert!(Value::from_text(LightningType::Timestamp, "2024-01-01 10:00:60").is_err());
        assert_eq!(
            Value::from_text(LightningType::Date, "0044-03-15 BC")
                .unwrap()
                .to_text()
                .unwrap(),
            "-0043-03-15"
        );
    }

    #[test]
    fn the_calendar_agrees_with_chrono_where_chrono_reaches() {
        use chrono::{Datelike, NaiveDate};
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let check = |days: i64| {
            let d = epoch + chrono::Duration::days(days);
            assert_eq!(
                civil_from_days(days),
                (i64::from(d.year()), d.month(), d.day()),
                "day {days}"
            );
            assert_eq!(
                days_from_civil(i64::from(d.year()), d.month(), d.day()),
                days
            );
        };
        // Every day of 1600..2400, then a stride through chrono's whole range.
        (-135_140..157_054).for_each(check);
        let (lo, hi) = (
            (NaiveDate::MIN - epoch).num_days(),
            (NaiveDate::MAX - epoch).num_days(),
        );
        (lo..=hi).step_by(7_919).for_each(check);
        check(lo);
        check(hi);
    }

    #[test]
    fn postgresql_extremes_round_trip_as_text_and_json() {
        let ts = |s: &str| parse_timestamp(s).unwrap();
        // PostgreSQL's own microseconds since 2000 (END_TIMESTAMP - 1, MIN_TIMESTAMP).
        assert_eq!(
            ts("294276-12-31 23:59:59.999999"),
            9_223_371_331_199_999_999
        );
        assert_eq!(ts("4714-11-24 00:00:00 BC"), -211_813_488_000_000_000);
        assert_eq!(ts("2000-01-01 00:00:00"), 0);
        assert_eq!(
            parse_date("5874897-12-31").unwrap(),
            days_from_civil(5_874_898, 1, 1) as i32 - 1
        );
        let cases = [
            (LightningType::Date, "5874897-12-31", "+5874897-12-31"),
            (LightningType::Date, "4714-11-24 BC", "-4713-11-24"),
            (LightningType::Date, "4713-01-01 BC", "-4712-01-01"),
            (
                LightningType::Timestamp,
                "294276-12-31 23:59:59.999999",
                "+294276-12-31 23:59:59.999999",
            ),
            (
                LightningType::Timestamp,
                "4714-11-24 00:00:00 BC",
                "-4713-11-24 00:00:00",
            ),
            (
                LightningType::TimestampTz,
                "294276-12-31 23:59:59.999999+00",
                "+294276-12-31 23:59:59.999999+00:00",
            ),
            (
                LightningType::TimestampTz,
                "4714-11-24 00:00:00 BC",
                "-4713-11-24 00:00:00+00:00",
            ),
            (
                LightningType::TimestampTz,
                "-4713-11-24 00:00:00+00:00",
                "-4713-11-24 00:00:00+00:00",
            ),
        ];
        for (ty, input, canonical) in cases {
            let v = Value::from_text(ty, input).unwrap();
            assert_eq!(v.to_text().unwrap(), canonical, "{ty} {input}");
            assert_eq!(
                Value::from_text(ty, canonical).unwrap(),
                v,
                "{ty} {canonical}"
            );
            assert_eq!(Value::from_json(ty, &v.to_json()).unwrap(), v, "{ty} json");
        }
    }

    #[test]
    fn finite_values_never_become_infinities() {
        // The last finite instants sit one microsecond inside the i64 range.
        let (days, tod) = timestamp_parts(i64::MAX);
        let mut text = String::new();
        write_civil(&mut text, days);
        text.push(' ');
        write_time_of_day(&mut text, tod);
        assert_eq!(text, "+294277-01-09 04:00:54.775807");
        assert!(parse_timestamp(&text).is_err());
        assert_eq!(
            parse_timestamp("294277-01-09 04:00:54.775806").unwrap(),
            i64::MAX - 1
        );
        assert!(parse_timestamptz("294277-01-09 05:00:54.775807+01:00").is_err());
        let mut last_day = String::new();
        write_civil(&mut last_day, i64::from(i32::MAX));
        assert!(parse_date(&last_day).is_err(), "{last_day}");
        let mut first_day = String::new();
        write_civil(&mut first_day, i64::from(i32::MIN));
        assert!(parse_date(&first_day).is_err(), "{first_day}");
        assert_eq!(
            Value::Date(i32::MAX - 1).to_text().unwrap(),
            "+5881580-07-10"
        );
        assert_eq!(parse_date("+5881580-07-10").unwrap(), i32::MAX - 1);
        assert_eq!(
            Value::Date(i32::MIN + 1).to_text().unwrap(),
            "-5877641-06-24"
        );
        assert_eq!(
            Value::Timestamp(i64::MIN + 1).to_text().unwrap(),
            "-290278-12-22 19:59:05.224193"
        );
        assert!(parse_date("1234567890-01-01").is_err());
        assert!(parse_date("2024-02-30").is_err());
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("+-2024-01-01").is_err());
        assert!(parse_timestamp("infinity 10:00:00").is_err());
    }

    #[test]
    fn decimals_are_written_at_their_declared_scale() {
        let d = |s: &str| Decimal::parse(s).unwrap();
        assert_eq!(d("1.9").with_scale(2).unwrap().as_str(), "1.90");
        assert_eq!(d("2").with_scale(2).unwrap().as_str(), "2.00");
        assert_eq!(d("1.500").with_scale(2).unwrap().as_str(), "1.50");
        assert_eq!(d("-0.5").with_scale(2).unwrap().as_str(), "-0.50");
        assert_eq!(d("7.000").with_scale(0).unwrap().as_str(), "7");
        assert_eq!(d("1.999").with_scale(2), None);
        assert_eq!(d("NaN").with_scale(2), None);
        let ty = LightningType::Decimal(Some((10, 2)));
        let text = |s: &str| Value::from_text(ty, s).map(|v| v.to_text().unwrap());
        assert_eq!(text("1.9").unwrap(), "1.90");
        assert_eq!(text("0").unwrap(), "0.00");
        assert_eq!(text("-0.0").unwrap(), "0.00");
        assert!(text("1.999").is_err());
        assert!(text("123456789").is_err());
        assert_eq!(
            Value::from_json(ty, &serde_json::json!("2")).unwrap(),
            Value::Decimal(d("2.00"))
        );
        // The store holds DECIMAL(p,s) values at scale s only.
        assert!(Value::Decimal(d("1.90")).fits_type(ty).is_ok());
        assert!(Value::Decimal(d("1.9")).fits_type(ty).is_err());
        assert!(Value::Decimal(d("1.9"))
            .fits_type(LightningType::Decimal(None))
            .is_ok());
        assert_eq!(
            Value::from_text(LightningType::Decimal(None), "1.900")
                .unwrap()
                .to_text()
                .unwrap(),
            "1.900"
        );
    }

    #[test]
    fn values_are_checked_against_types() {
        assert!(Value::Int(40000)
            .fits_type(LightningType::SmallInt)
            .is_err());
        assert!(Value::Int(40000).fits_type(LightningType::Integer).is_ok());
        assert!(Value::Text("x".into())
            .fits_type(LightningType::BigInt)
            .is_err());
        assert!(Value::Null.fits_type(LightningType::Uuid).is_ok());
    }
}
