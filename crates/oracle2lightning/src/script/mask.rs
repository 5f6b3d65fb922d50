//! Oracle datetime format masks (`TO_DATE('...', 'DD-MON-RR')`): read once into
//! elements, then used to read each value as Oracle's own lenient reading does
//! (any punctuation matches any punctuation; a value may stop before its mask).

use lightning_core::value::{date_from_ymd, timestamp_from_days};

/// One element of a mask.
#[derive(Debug, Clone, PartialEq)]
enum El {
    /// `YYYY`, `SYYYY` (signed), `RRRR`.
    Year4 {
        signed: bool,
    },
    /// `RR`: a two-digit year in 1950..=2049 (four digits are read as given).
    YearRr,
    /// `YY`: a two-digit year of this century.
    YearYy,
    Month,
    MonthAbbr,
    MonthName,
    Day,
    /// `DY`, `DAY`: a day's name, passed over (the date says the day).
    DayName,
    Hour24,
    Hour12,
    Minute,
    Second,
    /// `FF` or `FF1`..`FF9`: digits of a second's fraction.
    Fraction(usize),
    Meridian,
    TzHour,
    TzMinute,
    /// `TZR`: a region, read when it is an offset or UTC.
    TzRegion,
    /// `TZD`: a daylight abbreviation, passed over.
    TzAbbr,
    Punct,
    Literal(String),
}

/// A mask read into its elements.
#[derive(Debug, Clone)]
pub struct Mask(Vec<El>);

/// A mask that cannot be read: the element it stopped at.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the format mask '{mask}' has an element this tool does not read at `{at}` (read: YYYY SYYYY RRRR RR YY MM MON MONTH DD DY DAY HH HH12 HH24 MI SS FF FF1-FF9 AM PM A.M. P.M. TZH TZM TZR TZD \"text\" and punctuation)")]
pub struct BadMask {
    pub mask: String,
    pub at: String,
}

/// A point in time as a value writes it: the wall-clock time, the nanoseconds
/// past its last microsecond, and its offset from UTC when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Microseconds since 2000-01-01 00:00:00 of the wall-clock time.
    pub local: i64,
    /// Nanoseconds beyond `local`'s microsecond (0..1000).
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset: Option<i32>,
}

const MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];

impl Mask {
    pub fn parse(mask: &str) -> Result<Mask, BadMask> {
        // Longest first, so `HH24` wins over `HH` and `MONTH` over `MON`.
        const WORDS: &[(&str, El)] = &[
            ("SYYYY", El::Year4 { signed: true }),
            ("YYYY", El::Year4 { signed: false }),
            ("RRRR", El::Year4 { signed: false }),
            ("MONTH", El::MonthName),
            ("HH24", El::Hour24),
            ("HH12", El::Hour12),
            ("A.M.", El::Meridian),
            ("P.M.", El::Meridian),
            ("MON", El::MonthAbbr),
            ("DAY", El::DayName),
            ("TZH", El::TzHour),
            ("TZM", El::TzMinute),
            ("TZR", El::TzRegion),
            ("TZD", El::TzAbbr),
            ("RR", El::YearRr),
            ("YY", El::YearYy),
            ("MM", El::Month),
            ("DD", El::Day),
            ("DY", El::DayName),
            ("HH", El::Hour12),
            ("MI", El::Minute),
            ("SS", El::Second),
            ("AM", El::Meridian),
            ("PM", El::Meridian),
            ("FM", El::Punct),
            ("FX", El::Punct),
            // X is the radix character: `SSXFF`.
            ("X", El::Punct),
        ];
        let bad = |at: &str| BadMask {
            mask: mask.to_string(),
            at: at.chars().take(12).collect(),
        };
        let mut out = Vec::new();
        let mut rest = mask;
        while let Some(c) = rest.chars().next() {
            let upper = rest.to_ascii_uppercase();
            if c == '"' {
                let Some(n) = rest[1..].find('"') else {
                    return Err(bad(rest));
                };
                out.push(El::Literal(rest[1..1 + n].to_string()));
                rest = &rest[n + 2..];
            } else if let Some(digits) = upper.strip_prefix("FF") {
                match digits.as_bytes().first() {
                    Some(d @ b'1'..=b'9') => {
                        out.push(El::Fraction(usize::from(d - b'0')));
                        rest = &rest[3..];
                    }
                    _ => {
                        out.push(El::Fraction(9));
                        rest = &rest[2..];
                    }
                }
            } else if let Some((w, el)) = WORDS.iter().find(|(w, _)| upper.starts_with(w)) {
                // FM and FX change how strictly Oracle reads: this reading is lenient
                // already, and they read as punctuation, which matches nothing here.
                if *el != El::Punct || out.last() != Some(&El::Punct) {
                    out.push(el.clone());
                }
                rest = &rest[w.len()..];
            } else if !c.is_alphanumeric() {
                if out.last() != Some(&El::Punct) {
                    out.push(El::Punct);
                }
                rest = &rest[c.len_utf8()..];
            } else {
                return Err(bad(rest));
            }
        }
        Ok(Mask(out))
    }

    /// Read `value` with the mask: the time, or why it cannot be read.
    pub fn read(&self, value: &str) -> Result<Stamp, String> {
        let bad = |why: &str| format!("'{value}' does not match its format mask: {why}");
        let mut s = value.trim_start();
        let (mut year, mut month, mut day) = (None::<i64>, None::<u32>, None::<u32>);
        let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
        let (mut h12, mut pm) = (None::<u32>, None::<bool>);
        let (mut tzh, mut tzm, mut sign) = (None::<i32>, 0i32, 1i32);
        for (k, el) in self.0.iter().enumerate() {
            if s.is_empty() {
                // Oracle reads a value that stops before its mask.
                break;
            }
            match el {
                El::Punct => {
                    // Any punctuation matches; a `+` or `-` is kept when a sign is due next.
                    let signed_next = matches!(
                        self.0.get(k + 1),
                        Some(El::TzHour | El::TzRegion | El::Year4 { signed: true })
                    );
                    s = s.trim_start_matches(|c: char| {
                        !(c.is_alphanumeric() || signed_next && matches!(c, '+' | '-'))
                    });
                }
                El::Literal(l) => {
                    let n = l.len();
                    if s.len() >= n && s.is_char_boundary(n) && s[..n].eq_ignore_ascii_case(l) {
                        s = &s[n..];
                    } else {
                        return Err(bad(&format!("expected \"{l}\"")));
                    }
                }
                El::Year4 { signed } => {
                    let neg = *signed && s.starts_with('-');
                    if *signed {
                        s = s.strip_prefix(['-', '+']).unwrap_or(s);
                    }
                    let (y, rest) = digits(s, 4).ok_or_else(|| bad("expected a year"))?;
                    year = Some(if neg { -i64::from(y) } else { i64::from(y) });
                    s = rest;
                }
                El::YearRr | El::YearYy => {
                    let (y, rest) = digits(s, 4).ok_or_else(|| bad("expected a year"))?;
                    let written = s.len() - rest.len();
                    year = Some(match (written > 2, el) {
                        (true, _) => i64::from(y),
                        // RR's window as Oracle reads it in the years 2000 to 2049.
                        (false, El::YearRr) if y >= 50 => 1900 + i64::from(y),
                        _ => 2000 + i64::from(y),
                    });
                    s = rest;
                }
                El::Month => {
                    let (m, rest) = digits(s, 2).ok_or_else(|| bad("expected a month"))?;
                    month = Some(m);
                    s = rest;
                }
                El::MonthAbbr | El::MonthName => {
                    let upper = s.to_ascii_uppercase();
                    let found = MONTHS.iter().position(|m| {
                        let w = if *el == El::MonthAbbr { &m[..3] } else { m };
                        upper.starts_with(w)
                    });
                    let Some(i) = found else {
                        return Err(bad("expected an English month name"));
                    };
                    month = Some(i as u32 + 1);
                    let n = if *el == El::MonthAbbr {
                        3
                    } else {
                        MONTHS[i].len()
                    };
                    s = s[n..].trim_start();
                }
                El::Day => {
                    let (d, rest) = digits(s, 2).ok_or_else(|| bad("expected a day"))?;
                    day = Some(d);
                    s = rest;
                }
                El::DayName | El::TzAbbr => {
                    s = s.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                }
                El::Hour24 => {
                    let (h, rest) = digits(s, 2).ok_or_else(|| bad("expected an hour"))?;
                    hour = h;
                    s = rest;
                }
                El::Hour12 => {
                    let (h, rest) = digits(s, 2).ok_or_else(|| bad("expected an hour"))?;
                    h12 = Some(h);
                    s = rest;
                }
                El::Minute => {
                    let (m, rest) = digits(s, 2).ok_or_else(|| bad("expected minutes"))?;
                    minute = m;
                    s = rest;
                }
                El::Second => {
                    let (x, rest) = digits(s, 2).ok_or_else(|| bad("expected seconds"))?;
                    second = x;
                    s = rest;
                }
                El::Fraction(n) => {
                    let count = s.bytes().take_while(u8::is_ascii_digit).count();
                    if count == 0 || count > *n {
                        return Err(bad(&format!("expected 1 to {n} digits of a second")));
                    }
                    let padded = format!("{:0<9}", &s[..count]);
                    nanos = padded.parse().map_err(|_| bad("bad fraction"))?;
                    s = &s[count..];
                }
                El::Meridian => {
                    let upper = s.to_ascii_uppercase();
                    let (is_pm, n) = if upper.starts_with("A.M.") {
                        (false, 4)
                    } else if upper.starts_with("P.M.") {
                        (true, 4)
                    } else if upper.starts_with("AM") {
                        (false, 2)
                    } else if upper.starts_with("PM") {
                        (true, 2)
                    } else {
                        return Err(bad("expected AM or PM"));
                    };
                    pm = Some(is_pm);
                    s = &s[n..];
                }
                El::TzHour => {
                    if let Some(r) = s.strip_prefix('-') {
                        sign = -1;
                        s = r;
                    } else {
                        s = s.strip_prefix('+').unwrap_or(s);
                    }
                    let (h, rest) = digits(s, 2).ok_or_else(|| bad("expected a time zone hour"))?;
                    tzh = Some(h as i32);
                    s = rest;
                }
                El::TzMinute => {
                    let (m, rest) =
                        digits(s, 2).ok_or_else(|| bad("expected a time zone minute"))?;
                    tzm = m as i32;
                    s = rest;
                }
                El::TzRegion => {
                    let end = s.find(char::is_whitespace).unwrap_or(s.len());
                    let region = &s[..end];
                    let upper = region.to_ascii_uppercase();
                    if matches!(upper.as_str(), "UTC" | "GMT" | "Z" | "UCT") {
                        tzh = Some(0);
                    } else if let Some(body) = region.strip_prefix(['+', '-']) {
                        sign = if region.starts_with('-') { -1 } else { 1 };
                        let (h, m) = body.split_once(':').unwrap_or((body, "0"));
                        match (h.parse::<i32>(), m.parse::<i32>()) {
                            (Ok(h), Ok(m)) if h <= 14 && m < 60 => {
                                tzh = Some(h);
                                tzm = m;
                            }
                            _ => return Err(bad("expected an offset such as +05:30")),
                        }
                    } else {
                        return Err(format!(
                            "'{value}': the time zone region `{region}` is not read (its offset depends on a time zone database); export with TZH:TZM offsets"
                        ));
                    }
                    s = &s[end..];
                }
            }
        }
        if !s.trim().is_empty() {
            return Err(bad(&format!("`{}` is left over", s.trim())));
        }
        let year = year.ok_or_else(|| bad("it gives no year"))?;
        let month = month.ok_or_else(|| bad("it gives no month"))?;
        let day = day.unwrap_or(1);
        if let Some(h) = h12 {
            if !(1..=12).contains(&h) {
                return Err(bad("the hour is not 1 to 12"));
            }
            hour = h % 12 + if pm == Some(true) { 12 } else { 0 };
        } else if pm == Some(true) && hour < 12 {
            hour += 12;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad("the time of day is out of range"));
        }
        let days = i32::try_from(year)
            .ok()
            .and_then(|y| date_from_ymd(y, month, day))
            .ok_or_else(|| bad("no such date"))?;
        let tod = ((i64::from(hour) * 60 + i64::from(minute)) * 60 + i64::from(second)) * 1_000_000
            + i64::from(nanos / 1000);
        let local = timestamp_from_days(i64::from(days), tod).ok_or_else(|| bad("out of range"))?;
        let offset = tzh.map(|h| sign * (h * 3600 + tzm * 60));
        Ok(Stamp {
            local,
            nanos: nanos % 1000,
            offset,
        })
    }
}

/// Up to `max` digits at the start of `s`, and what follows.
fn digits(s: &str, max: usize) -> Option<(u32, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// The ISO reading of `DATE '...'` and `TIMESTAMP '...'` literals, and of text in
/// a date column: `YYYY-MM-DD[ HH24:MI:SS[.FF]][ offset]`.
pub fn iso() -> Mask {
    Mask(vec![
        El::Year4 { signed: true },
        El::Punct,
        El::Month,
        El::Punct,
        El::Day,
        El::Punct,
        El::Hour24,
        El::Punct,
        El::Minute,
        El::Punct,
        El::Second,
        El::Punct,
        El::Fraction(9),
        El::Punct,
        El::TzRegion,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(mask: &str, v: &str) -> Result<Stamp, String> {
        Mask::parse(mask).map_err(|e| e.to_string())?.read(v)
    }

    fn at(y: i32, m: u32, d: u32, micros: i64) -> i64 {
        timestamp_from_days(i64::from(date_from_ymd(y, m, d).unwrap()), micros).unwrap()
    }

    #[test]
    fn common_masks_read_exactly() {
        let s = read("YYYY-MM-DD HH24:MI:SS", "9999-12-31 23:59:59").unwrap();
        assert_eq!(s.local, at(9999, 12, 31, 86_399_000_000));
        let s = read("DD-MON-RR", "17-JUN-03").unwrap();
        assert_eq!(s.local, at(2003, 6, 17, 0));
        assert_eq!(
            read("DD-MON-RR", "01-jan-99").unwrap().local,
            at(1999, 1, 1, 0)
        );
        let s = read(
            "DD-MON-YYYY HH.MI.SS.FF AM",
            "01-JAN-2024 12.30.00.123456789 AM",
        )
        .unwrap();
        assert_eq!((s.local, s.nanos), (at(2024, 1, 1, 1_800_123_456), 789));
        let s = read(
            "YYYY-MM-DD HH24:MI:SS.FF3 TZH:TZM",
            "2024-02-29 12:00:00.5 -08:00",
        )
        .unwrap();
        assert_eq!(s.offset, Some(-8 * 3600));
        assert_eq!(s.local, at(2024, 2, 29, 43_200_500_000));
        let s = read("YYYY-MM-DD HH24:MI:SS TZR", "2024-01-01 00:00:00 +05:30").unwrap();
        assert_eq!(s.offset, Some(19_800));
        assert!(read(
            "YYYY-MM-DD HH24:MI:SS TZR",
            "2024-01-01 00:00:00 Europe/Paris"
        )
        .unwrap_err()
        .contains("region"));
        assert!(Mask::parse("YYYY-Q").is_err());
        assert!(read("YYYY-MM-DD", "2023-02-29").is_err());
        assert_eq!(iso().read("0001-01-01").unwrap().local, at(1, 1, 1, 0));
        assert_eq!(
            iso().read("2024-02-29 10:00:00.25 +01:00").unwrap().offset,
            Some(3600)
        );
    }
}
