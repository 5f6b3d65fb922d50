//! Functions the engine adds to SQL: JSON containment and extraction on JSON
//! text, and full-text matching of words.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{create_udf, ColumnarValue, ScalarUDF, Volatility};
use serde_json::Value as Json;

/// What `version()` answers: the PostgreSQL version whose protocol and catalog
/// the server speaks, then what it is.
pub const VERSION: &str = concat!(
    "PostgreSQL 16.6 (protocol and catalog) on Lightning ",
    env!("CARGO_PKG_VERSION"),
    ", Apache DataFusion 55"
);

/// Every function this module adds.
pub fn all() -> Vec<ScalarUDF> {
    vec![
        create_udf(
            "json_contains",
            vec![DataType::Utf8, DataType::Utf8],
            DataType::Boolean,
            Volatility::Immutable,
            Arc::new(json_contains),
        ),
        create_udf(
            "json_extract",
            vec![DataType::Utf8, DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(json_extract),
        ),
        // Clients check the server's version (SQLAlchemy parses "PostgreSQL N.N").
        create_udf(
            "version",
            vec![],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(|_args: &[ColumnarValue]| {
                Ok(ColumnarValue::Scalar(
                    datafusion::common::ScalarValue::Utf8(Some(VERSION.to_string())),
                ))
            }),
        ),
        // psycopg looks extension types up by name (SQLAlchemy asks for hstore).
        create_udf(
            "to_regtype",
            vec![DataType::Utf8],
            DataType::Int32,
            Volatility::Immutable,
            Arc::new(to_regtype),
        ),
        create_udf(
            "fulltext_search",
            vec![DataType::Utf8, DataType::Utf8],
            DataType::Boolean,
            Volatility::Immutable,
            Arc::new(fulltext_search),
        ),
    ]
}

/// Both arguments as text arrays of the same length.
fn text_args(name: &str, args: &[ColumnarValue]) -> Result<(usize, Vec<ArrayRef>)> {
    let n = args
        .iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1);
    let arrays = args
        .iter()
        .map(|a| a.to_array(n))
        .collect::<Result<Vec<_>>>()?;
    for a in &arrays {
        if a.as_string_opt::<i32>().is_none() {
            return Err(DataFusionError::Plan(format!(
                "{name} takes text arguments, not {}",
                a.data_type()
            )));
        }
    }
    Ok((n, arrays))
}

fn parse(name: &str, what: &str, s: &str) -> Result<Json> {
    serde_json::from_str(s).map_err(|e| {
        let shown: String = s.chars().take(40).collect();
        DataFusionError::Execution(format!("{name}: the {what} is not JSON ({e}): {shown}"))
    })
}

/// JSON_CONTAINS(doc, candidate): whether `doc` contains `candidate` as MySQL
/// defines it: a scalar equals, an array holds every candidate element in some
/// element of its own, an object holds every candidate key with a containing value.
fn json_contains(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (n, a) = text_args("JSON_CONTAINS", args)?;
    let (docs, cands) = (a[0].as_string::<i32>(), a[1].as_string::<i32>());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if docs.is_null(i) || cands.is_null(i) {
            out.push(None);
            continue;
        }
        let doc = parse("JSON_CONTAINS", "document", docs.value(i))?;
        let cand = parse("JSON_CONTAINS", "candidate", cands.value(i))?;
        out.push(Some(contains(&doc, &cand)));
    }
    Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(out))))
}

pub fn contains(doc: &Json, cand: &Json) -> bool {
    match (doc, cand) {
        (Json::Array(d), Json::Array(c)) => c.iter().all(|x| d.iter().any(|e| contains(e, x))),
        (Json::Array(d), c) => d.iter().any(|x| contains(x, c)),
        (Json::Object(d), Json::Object(c)) => c
            .iter()
            .all(|(k, v)| d.get(k).is_some_and(|dv| contains(dv, v))),
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// The oid of a built-in PostgreSQL type the server uses, NULL for any other name.
fn to_regtype(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (n, a) = text_args("to_regtype", args)?;
    let names = a[0].as_string::<i32>();
    let oids: Vec<Option<i32>> = (0..n)
        .map(|i| {
            if names.is_null(i) {
                return None;
            }
            let name = names.value(i).trim().to_ascii_lowercase();
            let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
            Some(match name {
                "bool" | "boolean" => 16,
                "bytea" => 17,
                "int8" | "bigint" => 20,
                "int2" | "smallint" => 21,
                "int4" | "integer" | "int" => 23,
                "text" => 25,
                "json" => 114,
                "float4" | "real" => 700,
                "float8" | "double precision" => 701,
                "varchar" | "character varying" => 1043,
                "date" => 1082,
                "time" | "time without time zone" => 1083,
                "timestamp" | "timestamp without time zone" => 1114,
                "timestamptz" | "timestamp with time zone" => 1184,
                "numeric" | "decimal" => 1700,
                "uuid" => 2950,
                "jsonb" => 3802,
                _ => return None,
            })
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(
        datafusion::arrow::array::Int32Array::from(oids),
    )))
}

/// JSON_EXTRACT(doc, '$.a.b[0]'): the JSON text at a path, or NULL where there is none.
fn json_extract(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (n, a) = text_args("JSON_EXTRACT", args)?;
    let (docs, paths) = (a[0].as_string::<i32>(), a[1].as_string::<i32>());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if docs.is_null(i) || paths.is_null(i) {
            out.push(None);
            continue;
        }
        let doc = parse("JSON_EXTRACT", "document", docs.value(i))?;
        let steps = path_steps(paths.value(i))?;
        let mut at = Some(&doc);
        for step in &steps {
            at = at.and_then(|v| match (step, v) {
                (Step::Key(k), Json::Object(o)) => o.get(k),
                (Step::Index(i), Json::Array(a)) => a.get(*i),
                _ => None,
            });
        }
        out.push(at.map(|v| v.to_string()));
    }
    Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
}

enum Step {
    Key(String),
    Index(usize),
}

/// A path as MySQL writes one: `$`, then `.key`, `."quoted key"` or `[n]` steps.
fn path_steps(path: &str) -> Result<Vec<Step>> {
    let bad = || {
        DataFusionError::Execution(format!(
            "JSON_EXTRACT: `{path}` is not a JSON path (write it as $.key[0].other)"
        ))
    };
    let mut rest = path.trim().strip_prefix('$').ok_or_else(bad)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            if let Some(q) = r.strip_prefix('"') {
                let end = q.find('"').ok_or_else(bad)?;
                steps.push(Step::Key(q[..end].to_string()));
                rest = &q[end + 1..];
            } else {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return Err(bad());
                }
                steps.push(Step::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            steps.push(Step::Index(r[..end].trim().parse().map_err(|_| bad())?));
            rest = &r[end + 1..];
        } else {
            return Err(bad());
        }
    }
    Ok(steps)
}

/// FULLTEXT_SEARCH(text, 'words'): whether the text holds every word of the query,
/// compared as lower-case words (letters and digits of any script).
fn fulltext_search(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let (n, a) = text_args("FULLTEXT_SEARCH", args)?;
    let (texts, queries) = (a[0].as_string::<i32>(), a[1].as_string::<i32>());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if texts.is_null(i) || queries.is_null(i) {
            out.push(None);
            continue;
        }
        let have: std::collections::HashSet<String> = words(texts.value(i)).collect();
        out.push(Some(words(queries.value(i)).all(|w| have.contains(&w))));
    }
    Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(out))))
}

fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn containment_follows_mysql() {
        assert!(contains(&j(r#"["admin","dev"]"#), &j(r#"["admin"]"#)));
        assert!(!contains(&j(r#"["dev"]"#), &j(r#"["admin"]"#)));
        assert!(contains(&j(r#"{"a":1,"b":[1,2]}"#), &j(r#"{"b":[2]}"#)));
        assert!(!contains(&j(r#"{"a":1}"#), &j(r#"{"a":2}"#)));
        assert!(contains(&j("[1,2]"), &j("2")));
        assert!(contains(&j(r#""x""#), &j(r#""x""#)));
        assert!(contains(&j("[]"), &j("[]")));
    }

    #[test]
    fn words_are_unicode_and_case_blind() {
        let have: Vec<String> = words("Größe: Ünïcode-Text 42").collect();
        assert_eq!(have, ["größe", "ünïcode", "text", "42"]);
    }

    #[test]
    fn paths_parse() {
        assert_eq!(path_steps("$.a[2].\"b c\"").unwrap().len(), 3);
        assert!(path_steps("a.b").is_err());
        assert!(path_steps("$.").is_err());
    }
}
