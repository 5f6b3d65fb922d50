//! Cast rules: how source types become Lightning types, and how each value is
//! converted. A tool's defaults are rules too; users put theirs in front of them
//! with `--cast` or a rules file. Every value is checked: a value its rule cannot
//! carry exactly is an error for that row, never silently changed.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::types::LightningType;
use crate::value::{timestamp_from_days, timestamp_parts, Decimal, Value};

/// The OGC geometry type names (SQL/MM), as MySQL and PostGIS declare columns:
/// their values are carried as WKB.
pub const GEOMETRY_TYPES: &[&str] = &[
    "geometry",
    "point",
    "linestring",
    "polygon",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "geometrycollection",
    "geomcollection",
];

/// A source column type with its modifiers: `varchar(255)`, `decimal(10,2)`,
/// `bigint unsigned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceType {
    /// Lower-case base name without modifiers: `varchar`, `bigint`, `double precision`.
    pub name: String,
    pub params: Vec<u32>,
    pub unsigned: bool,
    /// As the source declared it.
    pub raw: String,
}

impl SourceType {
    pub fn parse(raw: &str) -> SourceType {
        let lower = raw.trim().to_ascii_lowercase();
        let unsigned = lower.split_whitespace().any(|w| w == "unsigned");
        let (head, params) = match lower.find('(') {
            Some(i) => {
                let inner = lower[i + 1..].split(')').next().unwrap_or("");
                let params: Vec<u32> = inner
                    .split(',')
                    .filter_map(|p| p.trim().parse().ok())
                    .collect();
                (lower[..i].to_string(), params)
            }
            None => (lower.clone(), Vec::new()),
        };
        let name = head
            .split_whitespace()
            .filter(|w| !matches!(*w, "unsigned" | "zerofill" | "signed"))
            .collect::<Vec<_>>()
            .join(" ");
        SourceType {
            name,
            params,
            unsigned,
            raw: raw.trim().to_string(),
        }
    }
}

/// A named value transform applied before the value is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// Dates such as `0000-00-00` or `2020-00-15` become NULL.
    ZeroDateToNull,
    /// The empty string becomes NULL.
    EmptyToNull,
    /// Trailing spaces are removed from text (CHAR padding).
    TrimTrailingSpaces,
}

impl Transform {
    pub const ALL: [Transform; 3] = [
        Transform::ZeroDateToNull,
        Transform::EmptyToNull,
        Transform::TrimTrailingSpaces,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transform::ZeroDateToNull => "zero-date-to-null",
            Transform::EmptyToNull => "empty-to-null",
            Transform::TrimTrailingSpaces => "trim-trailing-spaces",
        }
    }

    pub fn apply(self, v: Value) -> Value {
        let changed = match (self, v) {
            (Transform::ZeroDateToNull, Value::Text(s)) if is_zero_date(&s) => Value::Null,
            (Transform::EmptyToNull, Value::Text(s)) if s.is_empty() => Value::Null,
            (Transform::TrimTrailingSpaces, Value::Text(s)) if s.ends_with(' ') => {
                Value::Text(s.trim_end_matches(' ').to_string())
            }
            (_, v) => return v,
        };
        CHANGED[self as usize].fetch_add(1, Ordering::Relaxed);
        changed
    }

    /// What it did to a value, for the reports' notes.
    fn did(self) -> &'static str {
        match self {
            Transform::ZeroDateToNull | Transform::EmptyToNull => "made NULL",
            Transform::TrimTrailingSpaces => "had their trailing spaces removed",
        }
    }
}

/// Values each transform has changed in this process (a rule decides per value, so
/// the reports say how many it touched).
static CHANGED: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

/// How many values each transform has changed so far in this process.
pub fn transformed() -> [u64; 3] {
    Transform::ALL.map(|t| CHANGED[t as usize].load(Ordering::Relaxed))
}

/// Notes for the values the transforms changed since `before` (from [`transformed`]).
pub fn transform_notes(before: [u64; 3]) -> Vec<String> {
    Transform::ALL
        .iter()
        .zip(transformed().iter().zip(before))
        .filter(|(_, (now, then))| *now > then)
        .map(|(t, (now, then))| {
            format!(
                "{} values {} by the cast rule `{}`",
                crate::text::count(now - then),
                t.did(),
                t.name()
            )
        })
        .collect()
}

/// A date whose year, month or day is zero (`0000-00-00`, `2020-00-15`, `2020-01-00`).
/// A real date with a small year, such as `0009-12-04`, is not one.
pub fn is_zero_date(s: &str) -> bool {
    let date = s.trim().split([' ', 'T']).next().unwrap_or("");
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts.iter().any(|p| p.bytes().all(|b| b == b'0'))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// `type:NAME[(p[,s])] [unsigned]`; without parameters it matches any.
    Type {
        name: String,
        params: Option<Vec<u32>>,
        unsigned: Option<bool>,
    },
    /// `column:TABLE.COLUMN`
    Column { table: String, column: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastRule {
    pub pattern: Pattern,
    pub target: Option<LightningType>,
    pub transform: Option<Transform>,
    /// Why the tool maps it this way (defaults), shown in reports.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad cast rule `{rule}`: {why}. Rules look like `type:tinyint(1) => BOOLEAN`, `type:bigint unsigned => DECIMAL(20,0)` or `column:users.born => DATE using zero-date-to-null`")]
pub struct RuleError {
    pub rule: String,
    pub why: String,
}

impl CastRule {
    /// A default rule of a tool.
    pub fn default_for(pattern: &str, target: LightningType, reason: &str) -> CastRule {
        let mut r =
            CastRule::parse(&format!("type:{pattern} => {target}")).expect("valid default rule");
        r.reason = Some(reason.to_string());
        r
    }

    pub fn parse(text: &str) -> Result<CastRule, RuleError> {
        let err = |why: &str| RuleError {
            rule: text.to_string(),
            why: why.to_string(),
        };
        let t = text.trim();
        let (lhs, rhs) = match t.split_once("=>") {
            Some((l, r)) => (l.trim(), r.trim()),
            None => match t.find(" using ") {
                Some(i) => (t[..i].trim(), t[i..].trim()),
                None => return Err(err("expected `=>` followed by a Lightning type")),
            },
        };
        let (target_text, transform_text) = match rhs.find("using ") {
            Some(i) => (rhs[..i].trim(), Some(rhs[i + 6..].trim())),
            None => (rhs, None),
        };
        let target = if target_text.is_empty() {
            None
        } else {
            Some(
                target_text
                    .parse::<LightningType>()
                    .map_err(|e| err(&e.to_string()))?,
            )
        };
        let transform = match transform_text {
            None => None,
            Some(name) => Some(
                Transform::ALL
                    .into_iter()
                    .find(|t| t.name() == name)
                    .ok_or_else(|| err(&format!("unknown transform `{name}` (known: zero-date-to-null, empty-to-null, trim-trailing-spaces)")))?,
            ),
        };
        if target.is_none() && transform.is_none() {
            return Err(err("a rule needs a target type, a transform, or both"));
        }
        let pattern = if let Some(col) = lhs.strip_prefix("column:") {
            let (table, column) = col
                .rsplit_once('.')
                .ok_or_else(|| err("expected column:TABLE.COLUMN"))?;
            Pattern::Column {
                table: table.trim().to_string(),
                column: column.trim().to_string(),
            }
        } else {
            let ty = lhs.strip_prefix("type:").unwrap_or(lhs);
            let st = SourceType::parse(ty);
            if st.name.is_empty() {
                return Err(err("missing source type"));
            }
            Pattern::Type {
                name: st.name,
                params: ty.contains('(').then_some(st.params),
                unsigned: st.unsigned.then_some(true),
            }
        };
        Ok(CastRule {
            pattern,
            target,
            transform,
            reason: None,
        })
    }

    fn matches(&self, table: &str, column: &str, st: &SourceType) -> bool {
        match &self.pattern {
            Pattern::Column {
                table: t,
                column: c,
            } => t == table && c == column,
            Pattern::Type {
                name,
                params,
                unsigned,
            } => {
                name == &st.name
                    && params.as_ref().is_none_or(|p| p == &st.params)
                    && unsigned.is_none_or(|u| u == st.unsigned)
            }
        }
    }
}

impl fmt::Display for CastRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Pattern::Column { table, column } => write!(f, "column:{table}.{column}")?,
            Pattern::Type {
                name,
                params,
                unsigned,
            } => {
                write!(f, "type:{name}")?;
                if let Some(p) = params {
                    let p: Vec<String> = p.iter().map(|x| x.to_string()).collect();
                    write!(f, "({})", p.join(","))?;
                }
                if *unsigned == Some(true) {
                    write!(f, " unsigned")?;
                }
            }
        }
        write!(f, " =>")?;
        if let Some(t) = self.target {
            write!(f, " {t}")?;
        }
        if let Some(x) = self.transform {
            write!(f, " using {}", x.name())?;
        }
        Ok(())
    }
}

/// The outcome of resolving a column's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub target: LightningType,
    pub transform: Option<Transform>,
    /// The rule that decided the type, as text.
    pub rule: String,
    pub reason: Option<String>,
    pub user_rule: bool,
}

impl Resolved {
    /// A default rule to an unconstrained DECIMAL keeps the source's declared
    /// precision and scale (`numeric(10,2)` → `DECIMAL(10,2)`).
    pub fn keep_declared_precision(&mut self, st: &SourceType) {
        if self.target != LightningType::Decimal(None) || self.user_rule {
            return;
        }
        match st.params[..] {
            [p, s] if p > 0 && s <= p => self.target = LightningType::Decimal(Some((p, s))),
            [p] if p > 0 => self.target = LightningType::Decimal(Some((p, 0))),
            _ => {}
        }
    }
}

/// User rules in front of a tool's defaults. Column rules win over type rules; the
/// first match wins within each.
#[derive(Debug, Clone, Default)]
pub struct CastRules {
    pub user: Vec<CastRule>,
    pub defaults: Vec<CastRule>,
}

impl CastRules {
    pub fn new(defaults: Vec<CastRule>) -> Self {
        CastRules {
            user: Vec::new(),
            defaults,
        }
    }

    /// Add user rules from `--cast` values and rules files (one rule a line, `#` comments).
    pub fn add_user_rules(
        &mut self,
        rules: &[String],
        files: &[std::path::PathBuf],
    ) -> Result<(), RuleError> {
        for r in rules {
            self.user.push(CastRule::parse(r)?);
        }
        for f in files {
            let text = std::fs::read_to_string(f).map_err(|e| RuleError {
                rule: f.display().to_string(),
                why: format!("cannot read rules file: {e}"),
            })?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if !line.is_empty() {
                    self.user.push(CastRule::parse(line).map_err(|e| RuleError {
                        rule: format!("{}:{}: {}", f.display(), n + 1, e.rule),
                        why: e.why,
                    })?);
                }
            }
        }
        Ok(())
    }

    /// The Lightning type and transform for a column, or `None` when no rule knows
    /// the source type.
    pub fn resolve(&self, table: &str, column: &str, st: &SourceType) -> Option<Resolved> {
        let user_col = self
            .user
            .iter()
            .filter(|r| matches!(r.pattern, Pattern::Column { .. }));
        let user_ty = self
            .user
            .iter()
            .filter(|r| matches!(r.pattern, Pattern::Type { .. }));
        let mut transform = None;
        for (rule, is_user) in user_col
            .chain(user_ty)
            .map(|r| (r, true))
            .chain(self.defaults.iter().map(|r| (r, false)))
        {
            if !rule.matches(table, column, st) {
                continue;
            }
            if transform.is_none() {
                transform = rule.transform;
            }
            if let Some(target) = rule.target {
                return Some(Resolved {
                    target,
                    transform,
                    rule: rule.to_string(),
                    reason: rule.reason.clone(),
                    user_rule: is_user,
                });
            }
        }
        None
    }

    /// The transform the rules name for a column, whatever decides its type.
    pub fn transform_for(&self, table: &str, column: &str, st: &SourceType) -> Option<Transform> {
        self.user
            .iter()
            .chain(&self.defaults)
            .filter(|r| r.matches(table, column, st))
            .find_map(|r| r.transform)
    }

    /// The default rules as text, one a line (`--print-casts`).
    pub fn describe_defaults(&self) -> String {
        self.defaults
            .iter()
            .map(|r| match &r.reason {
                Some(why) => format!("{:<48} # {why}\n", r.to_string()),
                None => format!("{r}\n"),
            })
            .collect()
    }
}

fn f64_is_exact_int(f: f64) -> Option<i64> {
    let in_range = (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f);
    (f.fract() == 0.0 && in_range).then_some(f as i64)
}

/// Convert a value to the column's Lightning type, exactly or not at all.
pub fn coerce(v: Value, ty: LightningType) -> Result<Value, String> {
    use LightningType as T;
    let bad = |v: &Value| {
        format!(
            "{} value `{}` cannot be carried exactly as {ty}",
            v.kind(),
            v.to_text()
                .unwrap_or_default()
                .chars()
                .take(60)
                .collect::<String>()
        )
    };
    let out = match (v, ty) {
        (Value::Null, _) => Value::Null,
        (Value::Int(i), T::Boolean) if i == 0 || i == 1 => Value::Bool(i == 1),
        (v @ Value::Int(_), t) if t.is_integer() => v,
        (Value::Int(i), T::Double) if (i as f64) as i64 == i && i.unsigned_abs() <= 1 << 53 => {
            Value::Double(i as f64)
        }
        (Value::Int(i), T::Float) if (i as f32) as i64 == i && i.unsigned_abs() <= 1 << 24 => {
            Value::Float(i as f32)
        }
        (Value::Int(i), T::Decimal(_)) => {
            Value::Decimal(Decimal::parse(&i.to_string()).map_err(|e| e.to_string())?)
        }
        (Value::Int(i), T::Text) => Value::Text(i.to_string()),
        (Value::Int(i), T::Json) => Value::Json(i.to_string()),
        (Value::Double(f), T::Json) if f.is_finite() => Value::Json(format!("{f:?}")),
        (Value::Double(f), T::Float) if (f as f32) as f64 == f || f.is_nan() => {
            Value::Float(f as f32)
        }
        (Value::Double(f), t) if t.is_integer() && f64_is_exact_int(f).is_some() => {
            Value::Int(f64_is_exact_int(f).unwrap_or_default())
        }
        (Value::Double(f), T::Decimal(_)) if f.is_finite() => {
            Value::Decimal(Decimal::parse(&format!("{f:?}")).map_err(|e| e.to_string())?)
        }
        (Value::Double(f), T::Text) => Value::Text(Value::Double(f).to_text().unwrap_or_default()),
        (Value::Float(f), T::Double) => Value::Double(f as f64),
        (Value::Decimal(d), t)
            if t.is_integer()
                && d.digits()
                    .is_some_and(|(_, s)| s == 0 || d.normalized().find('.').is_none()) =>
        {
            Value::from_text(t, &d.normalized()).map_err(|e| e.to_string())?
        }
        (Value::Decimal(d), T::Double) => {
            let f: f64 = d
                .as_str()
                .parse()
                .map_err(|_| bad(&Value::Decimal(d.clone())))?;
            if Decimal::parse(&format!("{f:?}")).map(|x| x.normalized()) != Ok(d.normalized())
                && !d.is_special()
            {
                return Err(bad(&Value::Decimal(d)));
            }
            Value::Double(f)
        }
        (Value::Decimal(d), T::Text) => Value::Text(d.to_string()),
        (Value::Text(s), T::Text) => Value::Text(s),
        (Value::Text(s), T::Json) => Value::from_text(T::Json, &s).map_err(|e| e.to_string())?,
        (Value::Text(s), T::Blob) => Value::Blob(s.into_bytes()),
        (Value::Text(s), T::Float | T::Double) => {
            let v = Value::from_text(ty, &s).map_err(|e| e.to_string())?;
            // Exact when the float's shortest form is the same number as the text.
            let back = v.to_text().unwrap_or_default();
            match (Decimal::parse(&s), Decimal::parse(&back)) {
                (Ok(a), Ok(b)) if a.normalized() != b.normalized() => {
                    return Err(bad(&Value::Text(s)))
                }
                _ => v,
            }
        }
        (Value::Text(s), t) => Value::from_text(t, &s).map_err(|e| e.to_string())?,
        (Value::Blob(b), T::Text) => Value::Text(String::from_utf8(b).map_err(|e| {
            format!(
                "blob is not valid UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            )
        })?),
        (Value::Blob(b), T::Uuid) if b.len() == 16 => Value::Uuid(b.try_into().unwrap_or([0; 16])),
        (Value::Blob(b), T::Json) => {
            let s = String::from_utf8(b).map_err(|_| "blob is not valid UTF-8".to_string())?;
            Value::from_text(T::Json, &s).map_err(|e| e.to_string())?
        }
        (Value::Date(d), T::Timestamp) if d != i32::MAX && d != i32::MIN => {
            match timestamp_from_days(i64::from(d), 0) {
                Some(t) => Value::Timestamp(t),
                None => return Err(bad(&Value::Date(d))),
            }
        }
        (Value::Timestamp(t), T::Date)
            if t != i64::MAX && t != i64::MIN && timestamp_parts(t).1 == 0 =>
        {
            // Every finite timestamp's day has a finite day number.
            Value::Date(timestamp_parts(t).0 as i32)
        }
        (Value::Timestamp(t), T::TimestampTz) => Value::TimestampTz(t),
        (Value::Bool(b), T::Text) => Value::Text(b.to_string()),
        (Value::Bool(b), t) if t.is_integer() => Value::Int(b as i64),
        (v @ Value::Decimal(_), T::Decimal(_)) => v,
        (v, t) if v.fits_type(t).is_ok() => v,
        (v, _) if matches!(ty, T::Text) => Value::Text(v.to_text().unwrap_or_default()),
        (v, _) => return Err(bad(&v)),
    };
    // DECIMAL(p,s) values are written at scale s: `2` and `1.9` become `2.00` and
    // `1.90`, as PostgreSQL and MySQL print them. Rounding is left to `fits_type`
    // to refuse.
    let out = match (out, ty) {
        (Value::Decimal(d), T::Decimal(Some((p, s)))) if d.fits(p, s) => {
            Value::Decimal(d.with_scale(s).unwrap_or(d))
        }
        (out, _) => out,
    };
    out.fits_type(ty)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_types_parse_with_modifiers() {
        let t = SourceType::parse("BIGINT(20) UNSIGNED");
        assert_eq!(
            (t.name.as_str(), t.params.as_slice(), t.unsigned),
            ("bigint", &[20][..], true)
        );
        assert_eq!(SourceType::parse("decimal(10, 2)").params, vec![10, 2]);
        assert_eq!(
            SourceType::parse("double precision").name,
            "double precision"
        );
    }

    #[test]
    fn rules_resolve_column_then_user_then_default() {
        let mut rules = CastRules::new(vec![
            CastRule::default_for("tinyint", LightningType::SmallInt, "fits"),
            CastRule::default_for("date", LightningType::Date, "same"),
        ]);
        rules
            .add_user_rules(
                &[
                    "type:tinyint(1) => BOOLEAN".into(),
                    "column:users.born => TEXT".into(),
                    "type:date using zero-date-to-null".into(),
                ],
                &[],
            )
            .unwrap();
        let tiny1 = SourceType::parse("tinyint(1)");
        let tiny4 = SourceType::parse("tinyint(4)");
        assert_eq!(
            rules.resolve("t", "c", &tiny1).unwrap().target,
            LightningType::Boolean
        );
        assert_eq!(
            rules.resolve("t", "c", &tiny4).unwrap().target,
            LightningType::SmallInt
        );
        let date = SourceType::parse("date");
        assert_eq!(
            rules.resolve("users", "born", &date).unwrap().target,
            LightningType::Text
        );
        let r = rules.resolve("users", "joined", &date).unwrap();
        assert_eq!(
            (r.target, r.transform),
            (LightningType::Date, Some(Transform::ZeroDateToNull))
        );
        assert!(rules
            .resolve("t", "c", &SourceType::parse("geometry"))
            .is_none());
        assert!(CastRule::parse("type:int => VARCHAR").is_err());
        assert_eq!(
            CastRule::parse("type:bigint unsigned => DECIMAL(20,0)")
                .unwrap()
                .to_string(),
            "type:bigint unsigned => DECIMAL(20,0)"
        );
    }

    #[test]
    fn zero_dates_are_decided_per_value() {
        assert!(is_zero_date("0000-00-00"));
        assert!(is_zero_date("2020-00-15"));
        assert!(is_zero_date("0000-00-00 00:00:00"));
        assert!(!is_zero_date("0009-12-04"));
        assert_eq!(
            Transform::ZeroDateToNull.apply(Value::Text("0009-12-04".into())),
            Value::Text("0009-12-04".into())
        );
    }

    #[test]
    fn coercion_is_exact_or_an_error() {
        assert_eq!(
            coerce(Value::Int(1), LightningType::Boolean),
            Ok(Value::Bool(true))
        );
        assert!(coerce(Value::Int(2), LightningType::Boolean).is_err());
        assert!(coerce(Value::Int(70000), LightningType::SmallInt).is_err());
        assert!(coerce(Value::Int((1 << 53) + 1), LightningType::Double).is_err());
        assert_eq!(
            coerce(Value::Double(2.0), LightningType::BigInt),
            Ok(Value::Int(2))
        );
        assert!(coerce(Value::Double(2.5), LightningType::BigInt).is_err());
        assert!(coerce(Value::Text("abc".into()), LightningType::Integer).is_err());
        assert!(coerce(
            Value::Text("12.345".into()),
            LightningType::Decimal(Some((5, 2)))
        )
        .is_err());
        assert_eq!(
            coerce(Value::Double(0.1), LightningType::Decimal(None)),
            Ok(Value::Decimal(Decimal::parse("0.1").unwrap()))
        );
        assert!(coerce(Value::Blob(vec![0xff]), LightningType::Text).is_err());
        assert!(coerce(Value::Text("3.14159265358979".into()), LightningType::Float).is_err());
        assert_eq!(
            coerce(Value::Text("0.1".into()), LightningType::Float),
            Ok(Value::Float(0.1))
        );
        assert_eq!(
            coerce(Value::Text("1e3".into()), LightningType::Double),
            Ok(Value::Double(1000.0))
        );
        assert!(coerce(
            Value::Text("0.1000000000000000055511151231257827".into()),
            LightningType::Double
        )
        .is_err());
    }

    #[test]
    fn decimals_take_the_declared_scale_or_are_refused() {
        let ty = LightningType::Decimal(Some((10, 2)));
        let text = |v: Value| coerce(v, ty).map(|x| x.to_text().unwrap());
        assert_eq!(text(Value::Int(2)).unwrap(), "2.00");
        assert_eq!(text(Value::Int(0)).unwrap(), "0.00");
        assert_eq!(text(Value::Double(1.9)).unwrap(), "1.90");
        assert_eq!(text(Value::Double(-0.5)).unwrap(), "-0.50");
        assert_eq!(text(Value::Text("1.500".into())).unwrap(), "1.50");
        let dec = |s: &str| Value::Decimal(Decimal::parse(s).unwrap());
        assert_eq!(text(dec("7.1")).unwrap(), "7.10");
        let err = text(Value::Double(1.999)).unwrap_err();
        assert!(err.contains("without rounding"), "{err}");
        assert!(text(dec("1.001")).is_err());
        assert!(text(Value::Int(123_456_789)).is_err());
        // Without (p,s) the value is kept as given.
        assert_eq!(
            coerce(dec("1.900"), LightningType::Decimal(None)),
            Ok(dec("1.900"))
        );
    }

    #[test]
    fn dates_and_timestamps_convert_only_within_range() {
        let day = crate::value::parse_date("2024-02-29").unwrap();
        let ts = coerce(Value::Date(day), LightningType::Timestamp).unwrap();
        assert_eq!(ts.to_text().unwrap(), "2024-02-29 00:00:00");
        assert_eq!(coerce(ts, LightningType::Date), Ok(Value::Date(day)));
        // The last PostgreSQL date is past the last timestamp: refused, not wrapped.
        let far = crate::value::parse_date("5874897-12-31").unwrap();
        assert!(coerce(Value::Date(far), LightningType::Timestamp).is_err());
        assert_eq!(
            coerce(Value::Timestamp(i64::MAX), LightningType::TimestampTz),
            Ok(Value::TimestampTz(i64::MAX))
        );
        assert!(coerce(Value::Timestamp(i64::MAX), LightningType::Date).is_err());
    }
}
