//! How keys become rows: the mapping file's model, the default decisions taken
//! from a pattern's profile, the tables a mapping describes, and a key's value
//! converted into its table's rows.

use std::collections::HashSet;
use std::sync::Arc;

use lightning_core::value::{Row, Value};
use lightning_core::{ColumnSchema, LightningType, TableSchema};
use serde::{Deserialize, Serialize};

use crate::pattern::{escape, identifier, unescape, unique_name, Pattern};
use crate::profile::{canonical_int, Profile, RedisType};
use crate::rdb;

pub const FORMAT: u32 = 1;
pub const KEY: &str = "key";
pub const EXPIRES_AT: &str = "expires_at";
pub const EXTRA: &str = "_extra";
pub const FIELDS: &str = "fields";

/// Hash fields present in at least this share of a pattern's hashes get a column.
const COMMON_FIELD: f64 = 0.10;
/// Typed columns are chosen when the common fields hold this share of all fields.
const TYPED_COVERAGE: f64 = 0.90;
const MAX_FIELD_COLUMNS: usize = 100;

/// A mapping file: how each pattern's keys become a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub format: u32,
    pub tables: Vec<TableMap>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMap {
    /// Key segments split on `:`; `*` is a variable segment, which becomes a column.
    pub pattern: String,
    #[serde(rename = "type")]
    pub kind: RedisType,
    pub table: String,
    /// The `key` column's type: TEXT, or BLOB when keys are not UTF-8.
    pub key: LightningType,
    /// A column per `*` of the pattern.
    #[serde(default)]
    pub segments: Vec<Column>,
    /// The value (strings), item (lists) or member (sets, sorted sets) column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Column>,
    /// Hashes: a column per field, the others in `_extra`; absent: one JSON
    /// column `fields` holds each hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldColumn>>,
    /// What the data showed (for the reader; ignored when the file is read).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub column: String,
    #[serde(rename = "type")]
    pub ty: LightningType,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldColumn {
    pub field: String,
    pub column: String,
    #[serde(rename = "type")]
    pub ty: LightningType,
}

impl Mapping {
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let m: Mapping = serde_json::from_str(text)
            .map_err(|e| format!("{e} (each table needs `pattern`, `type`, `table` and `key`)"))?;
        if m.format != FORMAT {
            return Err(format!(
                "mapping format {} is not known (this version reads format {FORMAT})",
                m.format
            ));
        }
        let mut names = HashSet::new();
        for t in &m.tables {
            Plan::new(t).map_err(|e| format!("table `{}`: {e}", t.table))?;
            if !names.insert(t.table.as_str()) {
                return Err(format!("two patterns map to the table `{}`", t.table));
            }
        }
        Ok(m)
    }

    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a mapping serializes");
        s.push('\n');
        s
    }
}

/// Columns a table of this type has besides `key`, the segments and `expires_at`.
fn fixed_columns(kind: RedisType) -> &'static [&'static str] {
    match kind {
        RedisType::String => &["value"],
        RedisType::Hash => &[EXTRA, FIELDS],
        RedisType::List => &["position", "value"],
        RedisType::Set => &["member"],
        RedisType::Zset => &["member", "score"],
        RedisType::Stream => &["id_ms", "id_seq", FIELDS],
    }
}

/// The default mapping of a pattern's keys of one type, from their profile.
pub fn decide(pattern: &Pattern, kind: RedisType, table: String, p: &Profile) -> TableMap {
    let mut taken: HashSet<String> = [KEY, EXPIRES_AT]
        .iter()
        .chain(fixed_columns(kind))
        .map(|s| s.to_string())
        .collect();
    let segments = pattern
        .variable_columns()
        .into_iter()
        .zip(&p.segments)
        .map(|(name, &(ints, utf8))| {
            let column = unique_name(&name, |n| taken.contains(n));
            taken.insert(column.clone());
            let ty = if ints && p.keys > 0 {
                LightningType::BigInt
            } else if utf8 {
                LightningType::Text
            } else {
                LightningType::Blob
            };
            Column { column, ty }
        })
        .collect();
    let key = if p.keys_utf8 {
        LightningType::Text
    } else {
        LightningType::Blob
    };
    let element = |column: &str| {
        Some(Column {
            column: column.into(),
            ty: p.values.decide(),
        })
    };
    let (value, fields) = match kind {
        RedisType::String | RedisType::List => (element("value"), None),
        RedisType::Set | RedisType::Zset => (element("member"), None),
        RedisType::Stream => (None, None),
        RedisType::Hash => (None, hash_columns(p, &mut taken)),
    };
    TableMap {
        pattern: pattern.to_string(),
        kind,
        table,
        key,
        segments,
        value,
        fields,
        seen: describe(kind, p),
    }
}

/// A column per common field when those fields hold nearly all of the hashes'
/// fields; `None` (one JSON column) otherwise.
fn hash_columns(p: &Profile, taken: &mut HashSet<String>) -> Option<Vec<FieldColumn>> {
    if p.sampled == 0 || p.too_many_fields {
        return None;
    }
    let total: u64 = p.fields.iter().map(|f| f.1).sum();
    let mut common: Vec<_> = p
        .fields
        .iter()
        .filter(|f| f.1 as f64 >= COMMON_FIELD * p.sampled as f64)
        .collect();
    let covered: u64 = common.iter().map(|f| f.1).sum();
    if common.is_empty()
        || common.len() > MAX_FIELD_COLUMNS
        || (covered as f64) < TYPED_COVERAGE * total as f64
    {
        return None;
    }
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Some(
        common
            .into_iter()
            .map(|(field, _, stats)| {
                let base = identifier(&String::from_utf8_lossy(field));
                let base = if base.is_empty() {
                    "field".into()
                } else {
                    base
                };
                let column = unique_name(&base, |n| taken.contains(n));
                taken.insert(column.clone());
                FieldColumn {
                    field: escape(field),
                    column,
                    ty: stats.decide(),
                }
            })
            .collect(),
    )
}

fn describe(kind: RedisType, p: &Profile) -> String {
    let mut s = format!("{} keys", p.keys);
    if p.sampled > 0 {
        s.push_str(&format!(", {} values read", p.sampled));
        if kind != RedisType::String {
            s.push_str(&format!(", up to {} elements", p.largest));
        }
    }
    s
}

/// A table of the mapping, ready to turn values into rows.
#[derive(Debug, Clone)]
pub struct Plan {
    pub map: TableMap,
    pub pattern: Pattern,
    pub name: Arc<str>,
    pub schema: TableSchema,
    fields: Vec<(Vec<u8>, LightningType)>,
    /// Rows the table is expected to get (for progress).
    pub estimated_rows: u64,
}

impl Plan {
    pub fn new(map: &TableMap) -> Result<Plan, String> {
        let pattern = Pattern::parse(&unescape(&map.pattern)?);
        let stars = pattern.variable_columns().len();
        if map.segments.len() != stars {
            return Err(format!(
                "pattern `{}` has {stars} variable segments (`*`) but {} segment columns are given",
                map.pattern,
                map.segments.len()
            ));
        }
        let check = |what: &str, ty: LightningType, allowed: &[LightningType]| {
            if allowed.contains(&ty) {
                Ok(())
            } else {
                Err(format!(
                    "{what} cannot be {ty}: one of {} carries it exactly",
                    allowed
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        };
        use LightningType as T;
        let text_like = [T::Text, T::Blob, T::BigInt, T::Json];
        check("`key`", map.key, &[T::Text, T::Blob])?;
        for s in &map.segments {
            check(
                &format!("segment column `{}`", s.column),
                s.ty,
                &[T::Text, T::Blob, T::BigInt],
            )?;
        }
        let mut t = TableSchema::new(map.table.clone());
        let source = |s: &str| Some(s.to_string());
        let mut col = |name: &str, ty: LightningType, nullable: bool, src: &str| {
            let mut c = ColumnSchema::new(name, ty);
            c.nullable = nullable;
            c.source_type = source(src);
            t.columns.push(c);
        };
        col(KEY, map.key, false, "key");
        for s in &map.segments {
            col(&s.column, s.ty, true, "key segment");
        }
        let mut key = vec![KEY.to_string()];
        let kind = map.kind.name();
        fn element_of(map: &TableMap) -> Option<&Column> {
            map.value.as_ref()
        }
        let element = |map: &TableMap| -> Result<Column, String> {
            let v = element_of(map)
                .cloned()
                .ok_or_else(|| format!("a {kind} table needs `value` (its column and type)"))?;
            check(&format!("`{}`", v.column), v.ty, &text_like)?;
            Ok(v)
        };
        let mut fields = Vec::new();
        match map.kind {
            RedisType::String => {
                let v = element(map)?;
                col(&v.column, v.ty, false, "string value");
            }
            RedisType::List => {
                let v = element(map)?;
                col("position", T::BigInt, false, "list index");
                col(&v.column, v.ty, false, "list element");
                key.push("position".into());
            }
            RedisType::Set => {
                let v = element(map)?;
                col(&v.column, v.ty, false, "set member");
                key.push(v.column.clone());
            }
            RedisType::Zset => {
                let v = element(map)?;
                col(&v.column, v.ty, false, "sorted set member");
                col("score", T::Double, false, "sorted set score");
                key.push(v.column.clone());
            }
            RedisType::Hash => match &map.fields {
                Some(fs) => {
                    for f in fs {
                        check(&format!("`{}`", f.column), f.ty, &text_like)?;
                        col(&f.column, f.ty, true, &format!("hash field {}", f.field));
                        fields.push((unescape(&f.field)?, f.ty));
                    }
                    col(EXTRA, T::Json, true, "other hash fields");
                }
                None => col(FIELDS, T::Json, false, "hash"),
            },
            RedisType::Stream => {
                col("id_ms", T::BigInt, false, "stream entry id");
                col("id_seq", T::BigInt, false, "stream entry id");
                col(FIELDS, T::Json, false, "stream entry");
                key.push("id_ms".into());
                key.push("id_seq".into());
            }
        }
        col(EXPIRES_AT, T::TimestampTz, true, "key TTL");
        let mut names = HashSet::new();
        for c in &t.columns {
            if !names.insert(c.name.as_str()) {
                return Err(format!("two columns are named `{}`", c.name));
            }
        }
        t.primary_key = key;
        Ok(Plan {
            name: Arc::from(map.table.as_str()),
            map: map.clone(),
            pattern,
            schema: t,
            fields,
            estimated_rows: 0,
        })
    }

    /// The rows of one key. An error says why the key cannot be carried (it is
    /// then rejected whole).
    pub fn rows(
        &self,
        key: &[u8],
        value: &rdb::Value,
        expires_at_ms: Option<i64>,
        notes: &Notes,
    ) -> Result<Vec<Row>, String> {
        let mut head = Vec::with_capacity(self.schema.columns.len());
        head.push(match self.map.key {
            LightningType::Blob => Value::Blob(key.to_vec()),
            _ => Value::Text(text(key, "the key")?),
        });
        for (part, seg) in self
            .pattern
            .variables(key)
            .into_iter()
            .zip(&self.map.segments)
        {
            head.push(match convert(seg.ty, part) {
                Ok(v) => v,
                Err(_) => {
                    notes
                        .segment_nulls
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    Value::Null
                }
            });
        }
        let expires = match expires_at_ms {
            None => Value::Null,
            Some(ms) => Value::TimestampTz(
                ms.checked_sub(UNIX_TO_2000_MS)
                    .and_then(|m| m.checked_mul(1000))
                    .ok_or_else(|| format!("its expiry time ({ms} ms) is out of range"))?,
            ),
        };
        let element = |v: &[u8]| -> Result<Value, String> {
            let c = self.map.value.as_ref().expect("checked in Plan::new");
            convert(c.ty, v).map_err(|why| format!("{} {why}", c.column))
        };
        let row = |mut tail: Vec<Value>| {
            let mut r = head.clone();
            r.append(&mut tail);
            r.push(expires.clone());
            r
        };
        let wrong = |got: &str| {
            Err(format!(
                "it is a {got}, not a {} as the table's pattern holds",
                self.map.kind.name()
            ))
        };
        Ok(match (self.map.kind, value) {
            (RedisType::String, rdb::Value::String(v)) => vec![row(vec![element(v)?])],
            (RedisType::List, rdb::Value::List(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Ok(row(vec![Value::Int(i as i64), element(v)?])))
                .collect::<Result<_, String>>()?,
            (RedisType::Set, rdb::Value::Set(items)) => items
                .iter()
                .map(|v| Ok(row(vec![element(v)?])))
                .collect::<Result<_, String>>()?,
            (RedisType::Zset, rdb::Value::SortedSet(items)) => items
                .iter()
                .map(|(m, s)| Ok(row(vec![element(m)?, Value::Double(*s)])))
                .collect::<Result<_, String>>()?,
            (RedisType::Hash, rdb::Value::Hash(pairs)) => vec![row(self.hash_values(pairs)?)],
            (RedisType::Stream, rdb::Value::Stream(s)) => s
                .entries
                .iter()
                .map(|e| {
                    let id = |n: u64| {
                        i64::try_from(n).map(Value::Int).map_err(|_| {
                            format!(
                                "entry id {}-{} is beyond 64-bit signed integers",
                                e.ms, e.seq
                            )
                        })
                    };
                    let mut pairs = Vec::with_capacity(e.fields.len());
                    for (f, v) in &e.fields {
                        pairs.push((text(f, "a stream field name")?, text(v, "a stream value")?));
                    }
                    Ok(row(vec![
                        id(e.ms)?,
                        id(e.seq)?,
                        Value::Json(json_object(&pairs)),
                    ]))
                })
                .collect::<Result<_, String>>()?,
            (_, v) => match RedisType::of(v) {
                Some(t) => return wrong(t.name()),
                None => return wrong("module value"),
            },
        })
    }

    fn hash_values(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<Value>, String> {
        let mut sorted: Vec<&(Vec<u8>, Vec<u8>)> = pairs.iter().collect();
        sorted.sort();
        if self.map.fields.is_none() {
            let mut out = Vec::with_capacity(sorted.len());
            for (f, v) in sorted {
                out.push((text(f, "a hash field name")?, text(v, "a hash value")?));
            }
            return Ok(vec![Value::Json(json_object(&out))]);
        }
        let mut cols = vec![Value::Null; self.fields.len()];
        let mut extra = Vec::new();
        for (f, v) in sorted {
            let typed = self
                .fields
                .iter()
                .position(|(name, _)| name == f)
                .and_then(|i| convert(self.fields[i].1, v).ok().map(|c| (i, c)));
            match typed {
                Some((i, c)) => cols[i] = c,
                None => extra.push((
                    text(f, "a hash field name kept in `_extra`")?,
                    text(v, "a hash value kept in `_extra`")?,
                )),
            }
        }
        cols.push(if extra.is_empty() {
            Value::Null
        } else {
            Value::Json(json_object(&extra))
        });
        Ok(cols)
    }
}

/// Counts of values carried in a way worth a note.
#[derive(Debug, Default)]
pub struct Notes {
    /// Key segments that do not fit their column's type (the column is NULL; the
    /// `key` column holds them).
    pub segment_nulls: std::sync::atomic::AtomicU64,
}

const UNIX_TO_2000_MS: i64 = 946_684_800_000;

/// Unix milliseconds of a TIMESTAMPTZ value.
pub fn unix_ms(v: &Value) -> Option<i64> {
    match v {
        Value::TimestampTz(us) => Some(us.div_euclid(1000) + UNIX_TO_2000_MS),
        _ => None,
    }
}

fn text(v: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(v.to_vec()).map_err(|_| {
        format!(
            "{what} is not UTF-8 (`{}`): give it a BLOB column in a mapping file",
            shorten(v)
        )
    })
}

fn convert(ty: LightningType, v: &[u8]) -> Result<Value, String> {
    match ty {
        LightningType::BigInt => canonical_int(v)
            .map(Value::Int)
            .ok_or_else(|| format!("`{}` is not an integer as Redis writes one", shorten(v))),
        LightningType::Json => {
            let t = text(v, "a JSON value")?;
            serde_json::from_str::<serde::de::IgnoredAny>(&t)
                .map_err(|e| format!("`{}` is not JSON ({e})", shorten(v)))?;
            Ok(Value::Json(t))
        }
        LightningType::Blob => Ok(Value::Blob(v.to_vec())),
        _ => Ok(Value::Text(text(v, "a value")?)),
    }
}

/// A value as a message shows it: escaped, cut at 40 characters.
pub fn shorten(v: &[u8]) -> String {
    let s = escape(v);
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// `{"a":"1","b":"2"}`, in the order given (names may repeat, as in a stream entry).
fn json_object(pairs: &[(String, String)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&serde_json::to_string(k).expect("a string serializes"));
        s.push(':');
        s.push_str(&serde_json::to_string(v).expect("a string serializes"));
    }
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn profile_of(keys: &[&[u8]], pattern: &Pattern, values: &[rdb::Value]) -> Profile {
        let mut p = Profile::new(pattern.variable_columns().len());
        for k in keys {
            p.add_key(k, &pattern.variables(k));
        }
        for v in values {
            p.add_value(v, false);
        }
        p
    }

    #[test]
    fn sessions_counters_and_a_leaderboard_become_typed_tables() {
        let pat = Pattern::parse(b"session:*");
        let p = profile_of(
            &[b"session:1", b"session:22"],
            &pat,
            &[rdb::Value::String(br#"{"user":7}"#.to_vec())],
        );
        let m = decide(&pat, RedisType::String, "session".into(), &p);
        let plan = Plan::new(&m).unwrap();
        let cols: Vec<String> = plan
            .schema
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty))
            .collect();
        assert_eq!(
            cols,
            [
                "key TEXT",
                "session_id BIGINT",
                "value JSON",
                "expires_at TIMESTAMPTZ"
            ]
        );
        let rows = plan
            .rows(
                b"session:22",
                &rdb::Value::String(br#"{"user":7}"#.to_vec()),
                Some(946_684_800_001),
                &Notes::default(),
            )
            .unwrap();
        assert_eq!(
            rows,
            [vec![
                Value::Text("session:22".into()),
                Value::Int(22),
                Value::Json(r#"{"user":7}"#.into()),
                Value::TimestampTz(1000)
            ]]
        );

        let pat = Pattern::parse(b"page:views:*");
        let p = profile_of(
            &[b"page:views:1"],
            &pat,
            &[rdb::Value::String(b"41".to_vec())],
        );
        let m = decide(&pat, RedisType::String, "page_views".into(), &p);
        assert_eq!(m.value.as_ref().unwrap().ty, LightningType::BigInt);
        let plan = Plan::new(&m).unwrap();
        let err = plan
            .rows(
                b"page:views:1",
                &rdb::Value::String(b"4x".to_vec()),
                None,
                &Notes::default(),
            )
            .unwrap_err();
        assert!(err.contains("`4x` is not an integer"), "{err}");

        let pat = Pattern::parse(b"leaderboard");
        let zs = rdb::Value::SortedSet(vec![
            (b"ann".to_vec(), 10.5),
            (b"bob".to_vec(), f64::NEG_INFINITY),
        ]);
        let p = profile_of(&[b"leaderboard"], &pat, std::slice::from_ref(&zs));
        let plan = Plan::new(&decide(&pat, RedisType::Zset, "leaderboard".into(), &p)).unwrap();
        assert_eq!(plan.schema.primary_key, ["key", "member"]);
        let rows = plan
            .rows(b"leaderboard", &zs, None, &Notes::default())
            .unwrap();
        assert_eq!(rows[1][2], Value::Double(f64::NEG_INFINITY));
    }

    #[test]
    fn hashes_get_typed_columns_when_their_fields_agree() {
        let pat = Pattern::parse(b"user:*");
        let h = |extra: bool| {
            let mut f = vec![
                (b"name".to_vec(), b"Ann".to_vec()),
                (b"age".to_vec(), b"31".to_vec()),
            ];
            if extra {
                f.push((b"nick".to_vec(), b"a".to_vec()));
            }
            rdb::Value::Hash(f)
        };
        let values: Vec<_> = (0..20).map(|i| h(i == 0)).collect();
        let p = profile_of(&[b"user:1"], &pat, &values);
        let m = decide(&pat, RedisType::Hash, "user".into(), &p);
        let plan = Plan::new(&m).unwrap();
        let cols: Vec<String> = plan.schema.columns.iter().map(|c| c.name.clone()).collect();
        assert_eq!(
            cols,
            ["key", "user_id", "age", "name", "_extra", "expires_at"]
        );
        let row = &plan
            .rows(
                b"user:1",
                &rdb::Value::Hash(vec![
                    (b"name".to_vec(), b"Bo".to_vec()),
                    (b"age".to_vec(), b"old".to_vec()),
                    (b"zip".to_vec(), b"1".to_vec()),
                ]),
                None,
                &Notes::default(),
            )
            .unwrap()[0];
        assert_eq!(row[2], Value::Null);
        assert_eq!(row[3], Value::Text("Bo".into()));
        assert_eq!(row[4], Value::Json(r#"{"age":"old","zip":"1"}"#.into()));

        // Fields that differ from hash to hash: one JSON column.
        let values: Vec<_> = (0..20)
            .map(|i| rdb::Value::Hash(vec![(format!("f{i}").into_bytes(), b"v".to_vec())]))
            .collect();
        let p = profile_of(&[b"user:1"], &pat, &values);
        assert!(decide(&pat, RedisType::Hash, "user".into(), &p)
            .fields
            .is_none());
    }

    #[test]
    fn a_mapping_file_round_trips_and_bad_ones_are_explained() {
        let pat = Pattern::parse(b"q:*");
        let p = profile_of(
            &[b"q:\xff"],
            &pat,
            &[rdb::Value::List(vec![b"\x00".to_vec()])],
        );
        let m = Mapping {
            format: FORMAT,
            tables: vec![decide(&pat, RedisType::List, "q".into(), &p)],
        };
        assert_eq!(m.tables[0].key, LightningType::Blob);
        assert_eq!(m.tables[0].segments[0].ty, LightningType::Blob);
        assert_eq!(Mapping::parse(&m.to_text()).unwrap(), m);
        let bad = m.to_text().replace("\"BLOB\"", "\"DATE\"");
        let err = Mapping::parse(&bad).unwrap_err();
        assert!(err.contains("cannot be DATE"), "{err}");
    }
}
