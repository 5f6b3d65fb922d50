//! How PostgreSQL types become Lightning types, and how their values are read.

use lightning_core::cast::{CastRule, CastRules, Resolved, SourceType};
use lightning_core::LightningType as T;

use crate::decode::PgKind;
use crate::model::{Database, UserType};

/// The default rules of pg2lightning (shown by `--print-casts`).
pub fn default_rules() -> CastRules {
    let r = CastRule::default_for;
    let exact = "exact";
    let float = "IEEE float; NaN and ±Infinity kept";
    let text = "character data; the declared length limit is not enforced by Lightning";
    let time = "exact to the microsecond; infinity and BC values kept";
    let as_text =
        |what: &str| format!("no Lightning type for {what}: carried as PostgreSQL's text form");
    CastRules::new(vec![
        r("boolean", T::Boolean, exact),
        r("smallint", T::SmallInt, exact),
        r("integer", T::Integer, exact),
        r("bigint", T::BigInt, exact),
        r("oid", T::BigInt, "unsigned 32-bit object id"),
        r("real", T::Float, float),
        r("double precision", T::Double, float),
        r(
            "numeric",
            T::Decimal(None),
            "exact decimal; declared precision and scale kept; NaN and ±Infinity kept",
        ),
        r(
            "money",
            T::Decimal(Some((19, 2))),
            "the amount, without the locale's currency symbol and separators",
        ),
        r("text", T::Text, exact),
        r("character varying", T::Text, text),
        r(
            "character",
            T::Text,
            "blank-padded: the padding is kept as stored",
        ),
        r("\"char\"", T::Text, exact),
        r("name", T::Text, exact),
        r(
            "citext",
            T::Text,
            "case-insensitive comparison is not carried",
        ),
        r("bytea", T::Blob, exact),
        r("date", T::Date, "exact; infinity and BC dates kept"),
        r(
            "time without time zone",
            T::Time,
            "exact to the microsecond; 24:00:00 kept",
        ),
        r("timestamp without time zone", T::Timestamp, time),
        r(
            "timestamp with time zone",
            T::TimestampTz,
            "the instant, exact to the microsecond (in UTC)",
        ),
        r("uuid", T::Uuid, exact),
        r("json", T::Json, "the JSON text, byte for byte"),
        r("jsonb", T::Json, "the JSON text as PostgreSQL prints it"),
        r(
            "time with time zone",
            T::Text,
            &as_text("a time with its UTC offset"),
        ),
        r(
            "interval",
            T::Text,
            &as_text("intervals (months, days and microseconds)"),
        ),
        r("inet", T::Text, &as_text("network addresses")),
        r("cidr", T::Text, &as_text("network addresses")),
        r("macaddr", T::Text, &as_text("MAC addresses")),
        r("macaddr8", T::Text, &as_text("MAC addresses")),
        r("bit", T::Text, &as_text("bit strings (0s and 1s)")),
        r("bit varying", T::Text, &as_text("bit strings (0s and 1s)")),
        r("tsvector", T::Text, &as_text("text-search vectors")),
        r("tsquery", T::Text, &as_text("text-search queries")),
        r("xml", T::Text, &as_text("XML")),
        r("point", T::Text, &as_text("geometric values")),
        r("line", T::Text, &as_text("geometric values")),
        r("lseg", T::Text, &as_text("geometric values")),
        r("box", T::Text, &as_text("geometric values")),
        r("path", T::Text, &as_text("geometric values")),
        r("polygon", T::Text, &as_text("geometric values")),
        r("circle", T::Text, &as_text("geometric values")),
        r("int4range", T::Text, &as_text("ranges")),
        r("int8range", T::Text, &as_text("ranges")),
        r("numrange", T::Text, &as_text("ranges")),
        r("daterange", T::Text, &as_text("ranges")),
        r("tsrange", T::Text, &as_text("ranges")),
        r("tstzrange", T::Text, &as_text("ranges")),
        r("pg_lsn", T::Text, &as_text("log positions")),
    ])
}

/// A column type as `format_type` prints it, split for the rules:
/// `timestamp(3) with time zone` → name `timestamp with time zone`, params `[3]`.
pub fn source_type(type_name: &str) -> SourceType {
    let raw = type_name.trim();
    let mut name = String::new();
    let mut params = Vec::new();
    let mut in_quotes = false;
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if c == '(' && !in_quotes {
            if let Some((inner, end)) = crate::sqltext::paren_group(raw, i) {
                params = inner
                    .split(',')
                    .filter_map(|p| p.trim().parse().ok())
                    .collect();
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
                continue;
            }
        }
        name.push(c);
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    SourceType {
        name: if name.contains('"') {
            name
        } else {
            name.to_lowercase()
        },
        params,
        unsigned: false,
        raw: raw.to_string(),
    }
}

/// What a column type is, once domains are looked through.
pub struct TypeInfo {
    /// The type the rules decide on (a domain's base type; the array itself).
    pub rule_type: SourceType,
    pub kind: PgKind,
    /// Labels when the type (or its domain base) is an enum.
    pub enum_labels: Option<Vec<String>>,
    /// Domain checks (`CHECK ((VALUE > 0))`) and the domain's name.
    pub domain: Option<(String, Vec<String>, bool)>,
    /// A user type Lightning has no equivalent of, described for the report.
    pub note: Option<String>,
}

/// Look a column type up: built-in, array, enum, domain, composite or range.
pub fn type_info(db: &Database, type_name: &str) -> TypeInfo {
    let st = source_type(type_name);
    if let Some(elem) = st.raw.strip_suffix("[]") {
        let inner = type_info(db, elem);
        let delim = if source_type(elem).name == "box" {
            b';'
        } else {
            b','
        };
        return TypeInfo {
            rule_type: st,
            kind: PgKind::Array {
                elem: Box::new(inner.kind),
                delim,
            },
            enum_labels: None,
            domain: None,
            note: None,
        };
    }
    match db.types.get(st.raw.as_str()) {
        Some(UserType::Enum(labels)) => TypeInfo {
            rule_type: st,
            kind: PgKind::Text,
            enum_labels: Some(labels.clone()),
            domain: None,
            note: None,
        },
        Some(UserType::Domain {
            base,
            checks,
            not_null,
            ..
        }) => {
            let mut inner = type_info(db, base);
            inner.domain = Some((st.raw.clone(), checks.clone(), *not_null));
            inner
        }
        Some(UserType::Composite(fields)) => TypeInfo {
            kind: PgKind::Composite(
                fields
                    .iter()
                    .map(|(n, t)| (n.clone(), type_info(db, t).kind))
                    .collect(),
            ),
            rule_type: st,
            enum_labels: None,
            domain: None,
            note: None,
        },
        Some(UserType::Range { subtype }) => TypeInfo {
            note: Some(format!(
                "range type over {subtype}: carried as PostgreSQL's text form"
            )),
            rule_type: st,
            kind: PgKind::Text,
            enum_labels: None,
            domain: None,
        },
        Some(UserType::Other) => TypeInfo {
            note: Some("user-defined base type: carried as PostgreSQL's text form".into()),
            rule_type: st,
            kind: PgKind::Text,
            enum_labels: None,
            domain: None,
        },
        None => TypeInfo {
            kind: builtin_kind(&st.name),
            rule_type: st,
            enum_labels: None,
            domain: None,
            note: None,
        },
    }
}

fn builtin_kind(name: &str) -> PgKind {
    match name {
        "boolean" => PgKind::Bool,
        "smallint" | "integer" | "bigint" | "oid" => PgKind::Int,
        "real" => PgKind::Float4,
        "double precision" => PgKind::Float8,
        "numeric" => PgKind::Numeric,
        "money" => PgKind::Money,
        "bytea" => PgKind::Bytea,
        "date" => PgKind::Date,
        "time without time zone" => PgKind::Time,
        "timestamp without time zone" => PgKind::Timestamp,
        "timestamp with time zone" => PgKind::TimestampTz,
        "uuid" => PgKind::Uuid,
        "json" | "jsonb" => PgKind::Json,
        _ => PgKind::Text,
    }
}

/// The Lightning type of a column: the rules, or the fallback of its kind.
pub fn resolve(rules: &CastRules, table: &str, column: &str, info: &TypeInfo) -> (Resolved, bool) {
    if let Some(mut r) = rules.resolve(table, column, &info.rule_type) {
        r.keep_declared_precision(&info.rule_type);
        return (r, true);
    }
    let (target, reason) = match &info.kind {
        PgKind::Array { .. } => (T::Json, "arrays are carried as JSON arrays"),
        PgKind::Composite(_) => (T::Json, "composite values are carried as JSON objects"),
        _ if info.enum_labels.is_some() => (T::Text, "enum: its label, with a CHECK of the labels"),
        _ => (T::Text, "carried as PostgreSQL's text form"),
    };
    let known = info.enum_labels.is_some()
        || info.note.is_some()
        || matches!(info.kind, PgKind::Array { .. } | PgKind::Composite(_));
    (
        Resolved {
            target,
            transform: rules.transform_for(table, column, &info.rule_type),
            rule: format!("type:{} => {target}", info.rule_type.name),
            reason: Some(info.note.clone().unwrap_or_else(|| reason.to_string())),
            user_rule: false,
        },
        known,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_split_into_name_and_modifiers() {
        let st = source_type("timestamp(3) with time zone");
        assert_eq!(
            (st.name.as_str(), st.params.as_slice()),
            ("timestamp with time zone", &[3][..])
        );
        let st = source_type("numeric(10,2)");
        assert_eq!(
            (st.name.as_str(), st.params.as_slice()),
            ("numeric", &[10, 2][..])
        );
        assert_eq!(
            source_type("character varying(45)[]").name,
            "character varying[]"
        );
        assert_eq!(source_type("public.\"bıgınt\"").name, "public.\"bıgınt\"");
    }

    #[test]
    fn domains_enums_and_arrays_are_looked_through() {
        let mut db = Database::default();
        db.types.insert(
            "public.year".into(),
            UserType::Domain {
                base: "integer".into(),
                not_null: false,
                default: None,
                checks: vec!["CHECK ((VALUE > 0))".into()],
            },
        );
        db.types
            .insert("public.mood".into(), UserType::Enum(vec!["ok".into()]));
        let rules = default_rules();
        let y = type_info(&db, "public.year");
        assert_eq!(y.kind, PgKind::Int);
        assert_eq!(resolve(&rules, "t", "c", &y).0.target, T::Integer);
        let m = type_info(&db, "public.mood[]");
        assert_eq!(resolve(&rules, "t", "c", &m).0.target, T::Json);
        let n = type_info(&db, "numeric(7,3)");
        assert_eq!(
            resolve(&rules, "t", "c", &n).0.target,
            T::Decimal(Some((7, 3)))
        );
    }
}
