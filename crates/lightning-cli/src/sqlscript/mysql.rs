//! MySQL and MariaDB: what a script needs to load with `mysql` / `mariadb`, and
//! values as MySQL literals.

use lightning_core::schema::ColumnSchema;
use lightning_core::Value;

/// The session a script sets before its rows: UTF-8, TIMESTAMP values in UTC, an
/// error (not a silent change) for a value a column cannot hold, and 0 kept in an
/// AUTO_INCREMENT column.
pub const SESSION: &str = "SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION';";

/// TIME's range in MySQL: ±838:59:59.999999.
const TIME_LIMIT_MICROS: i64 = 3_020_399_999_999;

pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A string literal as mysqldump writes one (backslash escapes).
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1a}' => out.push_str("\\Z"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(3 + 2 * b.len());
    s.push_str("X'");
    for x in b {
        s.push_str(&format!("{x:02X}"));
    }
    s.push('\'');
    s
}

/// Whether the column's source type is a spatial one (its values are WKB).
fn spatial(c: &ColumnSchema) -> bool {
    c.source_type.as_deref().is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        lightning_core::cast::GEOMETRY_TYPES
            .iter()
            .any(|g| t.starts_with(g))
    })
}

/// A date or time in MySQL's range (years 0 to 9999), from the canonical text.
fn datetime(v: &Value) -> Result<String, String> {
    let text = v.to_text().unwrap_or_default();
    let text = text.strip_suffix("+00:00").unwrap_or(&text);
    if text.ends_with("infinity") || text.starts_with(['-', '+']) {
        return Err(format!("{text} is outside MySQL's dates (years 0 to 9999)"));
    }
    Ok(format!("'{text}'"))
}

/// A value as a MySQL literal for column `c`.
pub fn literal(v: &Value, c: &ColumnSchema) -> Result<String, String> {
    Ok(match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
        Value::Int(i) => i.to_string(),
        Value::Float(_) | Value::Double(_) => {
            let f = super::float_of(v).expect("a float");
            if !f.is_finite() {
                return Err(format!("MySQL cannot hold the number {f}"));
            }
            v.to_text().unwrap_or_default()
        }
        Value::Decimal(d) if d.is_special() => {
            return Err(format!("MySQL cannot hold the number {}", d.as_str()))
        }
        Value::Decimal(d) => d.as_str().to_string(),
        Value::Text(s) | Value::Json(s) => string(s),
        Value::Blob(b) if spatial(c) => format!("ST_GeomFromWKB({})", hex(b)),
        Value::Blob(b) => hex(b),
        Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_) => datetime(v)?,
        Value::Time(t) => {
            if t.abs() > TIME_LIMIT_MICROS {
                return Err(format!(
                    "{} is outside MySQL's TIME (-838:59:59 to 838:59:59)",
                    v.to_text().unwrap_or_default()
                ));
            }
            format!("'{}'", v.to_text().unwrap_or_default())
        }
        Value::Uuid(_) => string(&v.to_text().unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning_core::types::LightningType;

    #[test]
    fn values_are_written_as_mysql_reads_them() {
        let c = ColumnSchema::new("c", LightningType::Text);
        assert_eq!(
            string("it's a\\b\0\n\r\u{1a}é"),
            "'it\\'s a\\\\b\\0\\n\\r\\Zé'"
        );
        assert_eq!(literal(&Value::Blob(vec![0, 255]), &c).unwrap(), "X'00FF'");
        assert_eq!(literal(&Value::Blob(vec![]), &c).unwrap(), "X''");
        let mut g = ColumnSchema::new("g", LightningType::Blob);
        g.source_type = Some("geometry".into());
        assert_eq!(
            literal(&Value::Blob(vec![1]), &g).unwrap(),
            "ST_GeomFromWKB(X'01')"
        );
        assert_eq!(
            literal(&Value::Time(-3_020_399_000_000), &c).unwrap(),
            "'-838:59:59'"
        );
        assert!(literal(&Value::Time(3_020_400_000_000), &c).is_err());
        assert!(literal(&Value::Double(f64::NAN), &c).is_err());
        assert!(literal(&Value::Date(i32::MIN), &c).is_err());
        assert_eq!(
            literal(&Value::TimestampTz(0), &c).unwrap(),
            "'2000-01-01 00:00:00'"
        );
    }
}
