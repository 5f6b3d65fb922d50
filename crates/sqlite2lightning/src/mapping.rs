//! How SQLite types and values become Lightning types and values.
//!
//! SQLite columns have a declared type (any text) and an affinity derived from it;
//! each value has its own storage class. The declared name decides the Lightning
//! type where it is a name we know; otherwise the affinity does. Every value is
//! then converted exactly or refused (`lightning_core::cast::coerce`).

use lightning_core::cast::{CastRule, CastRules, Resolved, SourceType};
use lightning_core::value::Value;
use lightning_core::LightningType as T;
use rusqlite::types::ValueRef;

/// The default rules of sqlite2lightning (shown by `--print-casts`).
pub fn default_rules() -> CastRules {
    let r = CastRule::default_for;
    let int = "SQLite stores every integer as 64 bits, whatever the declared width";
    CastRules::new(vec![
        r("integer", T::BigInt, int),
        r("int", T::BigInt, int),
        r("bigint", T::BigInt, int),
        r("int8", T::BigInt, int),
        r("int4", T::BigInt, int),
        r("int2", T::BigInt, int),
        r("smallint", T::BigInt, int),
        r("mediumint", T::BigInt, int),
        r("tinyint", T::BigInt, int),
        r("unsigned big int", T::BigInt, int),
        r(
            "boolean",
            T::Boolean,
            "0/1 and the words true/false, t/f, yes/no, on/off become booleans; any other value is refused",
        ),
        r(
            "bool",
            T::Boolean,
            "0/1 and the words true/false, t/f, yes/no, on/off become booleans; any other value is refused",
        ),
        r(
            "real",
            T::Double,
            "64-bit IEEE float, NaN and infinities kept",
        ),
        r(
            "double",
            T::Double,
            "64-bit IEEE float, NaN and infinities kept",
        ),
        r(
            "double precision",
            T::Double,
            "64-bit IEEE float, NaN and infinities kept",
        ),
        r("float", T::Double, "SQLite floats are 64-bit"),
        r(
            "decimal",
            T::Decimal(None),
            "exact decimal; declared precision and scale are kept",
        ),
        r(
            "numeric",
            T::Decimal(None),
            "exact decimal; declared precision and scale are kept",
        ),
        r("text", T::Text, "UTF-8 text"),
        r(
            "varchar",
            T::Text,
            "UTF-8 text; SQLite never enforced the length",
        ),
        r(
            "character varying",
            T::Text,
            "UTF-8 text; SQLite never enforced the length",
        ),
        r(
            "varying character",
            T::Text,
            "UTF-8 text; SQLite never enforced the length",
        ),
        r(
            "nvarchar",
            T::Text,
            "UTF-8 text; SQLite never enforced the length",
        ),
        r(
            "char",
            T::Text,
            "UTF-8 text; SQLite never padded or enforced the length",
        ),
        r(
            "character",
            T::Text,
            "UTF-8 text; SQLite never padded or enforced the length",
        ),
        r(
            "nchar",
            T::Text,
            "UTF-8 text; SQLite never padded or enforced the length",
        ),
        r("native character", T::Text, "UTF-8 text"),
        r("clob", T::Text, "UTF-8 text"),
        r("blob", T::Blob, "bytes as stored"),
        r("date", T::Date, "text `YYYY-MM-DD` values parsed exactly"),
        r(
            "datetime",
            T::Timestamp,
            "text `YYYY-MM-DD HH:MM:SS[.ffffff]` values parsed exactly",
        ),
        r(
            "timestamp",
            T::Timestamp,
            "text `YYYY-MM-DD HH:MM:SS[.ffffff]` values parsed exactly",
        ),
        r(
            "time",
            T::Time,
            "text `HH:MM:SS[.ffffff]` values parsed exactly",
        ),
        r("json", T::Json, "text that must parse as JSON"),
        r("uuid", T::Uuid, "36-character text or 16-byte blob"),
    ])
}

/// SQLite's type affinity of a declared type (the rules of section 3.1 of its
/// documentation, in order).
pub fn affinity(declared: &str) -> &'static str {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        "INTEGER"
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        "TEXT"
    } else if d.contains("BLOB") || d.trim().is_empty() {
        "BLOB"
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// The decision for one column.
pub struct ColumnMapping {
    pub resolved: Resolved,
    /// A note for the conversion report, when the mapping deserves one.
    pub note: Option<String>,
}

/// Resolve a column: the rules by declared name, then SQLite's affinity.
/// `classes` is the set of storage classes seen in the column's values, when known
/// (it decides the type of a column declared without one).
pub fn map_column(
    rules: &CastRules,
    table: &str,
    column: &str,
    declared: &str,
    classes: Option<&StorageClasses>,
) -> ColumnMapping {
    let st = SourceType::parse(declared);
    if let Some(mut r) = rules.resolve(table, column, &st) {
        r.keep_declared_precision(&st);
        return ColumnMapping {
            resolved: r,
            note: None,
        };
    }
    let aff = affinity(declared);
    let (target, why) = match aff {
        "INTEGER" => (T::BigInt, "INTEGER affinity: 64-bit integers"),
        "TEXT" => (T::Text, "TEXT affinity"),
        "REAL" => (T::Double, "REAL affinity: 64-bit floats"),
        "NUMERIC" => (T::Decimal(None), "NUMERIC affinity: exact decimal"),
        _ if !declared.trim().is_empty() => (T::Blob, "BLOB affinity: bytes as stored"),
        _ => match classes.map(StorageClasses::only) {
            Some(Some("integer")) => (T::BigInt, "no declared type; every value is an integer"),
            Some(Some("real")) => (T::Double, "no declared type; every value is a float"),
            Some(Some("text")) | None => (T::Text, "no declared type; carried as text"),
            Some(Some("blob")) => (T::Blob, "no declared type; every value is a blob"),
            _ => (
                T::Text,
                "no declared type and mixed values; carried as text",
            ),
        },
    };
    let note = (!declared.trim().is_empty())
        .then(|| format!("unknown declared type `{declared}`: decided by SQLite's {aff} affinity"));
    ColumnMapping {
        resolved: Resolved {
            target,
            transform: rules.transform_for(table, column, &st),
            rule: format!("affinity:{aff}"),
            reason: Some(why.to_string()),
            user_rule: false,
        },
        note,
    }
}

/// Counts of each storage class in a column.
#[derive(Debug, Default, Clone)]
pub struct StorageClasses {
    pub integer: u64,
    pub real: u64,
    pub text: u64,
    pub blob: u64,
    pub null: u64,
}

impl StorageClasses {
    /// The single non-NULL class present, if only one is.
    pub fn only(&self) -> Option<&'static str> {
        let present: Vec<&'static str> = [
            ("integer", self.integer),
            ("real", self.real),
            ("text", self.text),
            ("blob", self.blob),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, _)| c)
        .collect();
        match present.as_slice() {
            [one] => Some(one),
            [] => Some("text"),
            _ => None,
        }
    }
}

/// The natural Lightning value of a SQLite value (before the column's cast).
pub fn natural_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Double(f),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// Convert one SQLite value for a column resolved to `r`.
pub fn convert(v: ValueRef<'_>, r: &Resolved) -> Result<Value, String> {
    let is_bad_text = matches!(v, ValueRef::Text(t) if std::str::from_utf8(t).is_err());
    let mut natural = natural_value(v);
    if let Some(t) = r.transform {
        natural = t.apply(natural);
    }
    lightning_core::cast::coerce(natural, r.target).map_err(|e| {
        if is_bad_text {
            format!(
                "text value is not valid UTF-8; cast the column to BLOB to carry its bytes ({e})"
            )
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_follows_sqlite_rules() {
        assert_eq!(affinity("BIGINT UNSIGNED"), "INTEGER");
        assert_eq!(affinity("VARCHAR(20)"), "TEXT");
        assert_eq!(affinity(""), "BLOB");
        assert_eq!(affinity("FLOATING POINT"), "INTEGER"); // "INT" wins, as in SQLite
        assert_eq!(affinity("DOUBLE"), "REAL");
        assert_eq!(affinity("MONEY"), "NUMERIC");
    }

    #[test]
    fn declared_precision_is_kept() {
        let rules = default_rules();
        let m = map_column(&rules, "t", "c", "DECIMAL(10,2)", None);
        assert_eq!(m.resolved.target, T::Decimal(Some((10, 2))));
        let m = map_column(&rules, "t", "c", "MONEY", None);
        assert_eq!(m.resolved.target, T::Decimal(None));
        assert!(m.note.is_some());
    }
}
