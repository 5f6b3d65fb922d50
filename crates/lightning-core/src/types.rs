//! The Lightning type system.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A column type of Lightning DB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum LightningType {
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    /// 32-bit IEEE float.
    Float,
    /// 64-bit IEEE float.
    Double,
    /// Exact decimal with at most `precision` digits, `scale` of them after the point.
    /// `None` means unconstrained (any precision, any scale).
    Decimal(Option<(u32, u32)>),
    Text,
    Blob,
    Date,
    /// Time of day, or a duration-like time (MySQL allows negative and > 24h).
    Time,
    /// Timestamp without time zone, microsecond precision.
    Timestamp,
    /// An instant, stored as UTC, microsecond precision.
    TimestampTz,
    /// JSON document stored as text that parses.
    Json,
    Uuid,
}

impl LightningType {
    /// Every type, for property tests and documentation.
    pub const ALL: [LightningType; 16] = [
        LightningType::Boolean,
        LightningType::SmallInt,
        LightningType::Integer,
        LightningType::BigInt,
        LightningType::Float,
        LightningType::Double,
        LightningType::Decimal(None),
        LightningType::Decimal(Some((10, 2))),
        LightningType::Text,
        LightningType::Blob,
        LightningType::Date,
        LightningType::Time,
        LightningType::Timestamp,
        LightningType::TimestampTz,
        LightningType::Json,
        LightningType::Uuid,
    ];

    /// Inclusive integer range for integer types.
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            LightningType::SmallInt => Some((i16::MIN as i64, i16::MAX as i64)),
            LightningType::Integer => Some((i32::MIN as i64, i32::MAX as i64)),
            LightningType::BigInt => Some((i64::MIN, i64::MAX)),
            _ => None,
        }
    }

    pub fn is_integer(self) -> bool {
        self.int_range().is_some()
    }
}

impl fmt::Display for LightningType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LightningType::Boolean => f.write_str("BOOLEAN"),
            LightningType::SmallInt => f.write_str("SMALLINT"),
            LightningType::Integer => f.write_str("INTEGER"),
            LightningType::BigInt => f.write_str("BIGINT"),
            LightningType::Float => f.write_str("FLOAT"),
            LightningType::Double => f.write_str("DOUBLE"),
            LightningType::Decimal(None) => f.write_str("DECIMAL"),
            LightningType::Decimal(Some((p, s))) => write!(f, "DECIMAL({p},{s})"),
            LightningType::Text => f.write_str("TEXT"),
            LightningType::Blob => f.write_str("BLOB"),
            LightningType::Date => f.write_str("DATE"),
            LightningType::Time => f.write_str("TIME"),
            LightningType::Timestamp => f.write_str("TIMESTAMP"),
            LightningType::TimestampTz => f.write_str("TIMESTAMPTZ"),
            LightningType::Json => f.write_str("JSON"),
            LightningType::Uuid => f.write_str("UUID"),
        }
    }
}

/// A type name that is not a Lightning type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Lightning type `{0}` (expected one of BOOLEAN, SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), TEXT, BLOB, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, JSON, UUID)")]
pub struct UnknownType(pub String);

impl FromStr for LightningType {
    type Err = UnknownType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let upper = compact.to_ascii_uppercase();
        let ty = match upper.as_str() {
            "BOOLEAN" => LightningType::Boolean,
            "SMALLINT" => LightningType::SmallInt,
            "INTEGER" => LightningType::Integer,
            "BIGINT" => LightningType::BigInt,
            "FLOAT" => LightningType::Float,
            "DOUBLE" => LightningType::Double,
            "DECIMAL" => LightningType::Decimal(None),
            "TEXT" => LightningType::Text,
            "BLOB" => LightningType::Blob,
            "DATE" => LightningType::Date,
            "TIME" => LightningType::Time,
            "TIMESTAMP" => LightningType::Timestamp,
            "TIMESTAMPTZ" => LightningType::TimestampTz,
            "JSON" => LightningType::Json,
            "UUID" => LightningType::Uuid,
            other => {
                let inner = other
                    .strip_prefix("DECIMAL(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| UnknownType(s.to_string()))?;
                let (p, sc) = inner.split_once(',').unwrap_or((inner, "0"));
                let p: u32 = p.parse().map_err(|_| UnknownType(s.to_string()))?;
                let sc: u32 = sc.parse().map_err(|_| UnknownType(s.to_string()))?;
                if p == 0 || sc > p {
                    return Err(UnknownType(s.to_string()));
                }
                LightningType::Decimal(Some((p, sc)))
            }
        };
        Ok(ty)
    }
}

impl From<LightningType> for String {
    fn from(t: LightningType) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for LightningType {
    type Error = UnknownType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in LightningType::ALL {
            assert_eq!(t.to_string().parse::<LightningType>().unwrap(), t);
        }
        assert_eq!(
            "decimal( 12 , 3 )".parse::<LightningType>().unwrap(),
            LightningType::Decimal(Some((12, 3)))
        );
        assert!("DECIMAL(2,5)".parse::<LightningType>().is_err());
        assert!("VARCHAR".parse::<LightningType>().is_err());
    }
}
