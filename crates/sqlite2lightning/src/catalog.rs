//! Reading a SQLite database's schema and converting it to Lightning table schemas,
//! with a conversion report of every decision.

use std::collections::HashMap;
use std::path::Path;

use lightning_core::cast::CastRules;
use lightning_core::cast::Resolved;
use lightning_core::report::{
    ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
};
use lightning_core::schema::{
    CheckConstraint, ColumnSchema, ForeignKey, IndexKind, IndexSchema, TableSchema,
    UniqueConstraint,
};
use rusqlite::{Connection, OpenFlags};

use crate::mapping::{map_column, StorageClasses};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: no such file")]
    Missing { path: String },
    #[error("{path} is not a SQLite database ({detail})")]
    NotSqlite { path: String, detail: String },
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Open a SQLite file read-only, with a clear error for anything that is not one.
pub fn open(path: &Path) -> Result<Connection, CatalogError> {
    let shown = path.display().to_string();
    if !path.is_file() {
        return Err(CatalogError::Missing { path: shown });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| CatalogError::NotSqlite {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| CatalogError::NotSqlite {
        path: shown,
        detail: e.to_string(),
    })?;
    Ok(conn)
}

/// One source table as SQLite describes it, with what the conversion decided.
#[derive(Debug, Clone)]
pub struct SourceTable {
    pub schema: TableSchema,
    /// The table's name in SQLite (`schema.name` is its name in the target).
    pub source_name: String,
    /// The cast decision per column, in column order.
    pub columns: Vec<Resolved>,
    /// How to name SQLite's rowid in a query (`rowid`, or `_rowid_` / `oid` when a
    /// column is called `rowid`); `None` for WITHOUT ROWID tables, or when every
    /// alias is taken by a column.
    pub rowid: Option<String>,
    /// The table has no primary key of its own: rows are keyed by SQLite's rowid.
    pub keyed_by_rowid: bool,
}

pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

struct RawColumn {
    name: String,
    declared: String,
    notnull: bool,
    default: Option<String>,
    pk: i64,
    hidden: i64,
}

/// Names of the user tables, in the order SQLite lists them.
pub fn table_names(conn: &Connection) -> Result<Vec<String>, CatalogError> {
    // Ordinary tables only: virtual tables are reported as manual work and their
    // shadow tables (the storage of FTS and R*Tree indexes) are left out.
    let mut stmt = conn.prepare(
        "SELECT m.name FROM sqlite_master m JOIN pragma_table_list p ON p.name = m.name AND p.schema = 'main' \
         WHERE m.type = 'table' AND p.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY m.rowid",
    )?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

/// The column names of `table`, in order.
pub fn column_names(conn: &Connection, table: &str) -> Result<Vec<String>, CatalogError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_xinfo(?1) ORDER BY cid")?;
    let names = stmt
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

/// Count the storage classes of every column: one scan of the table per group of
/// columns whose five counts fit in one result (SQLite's limit on its columns).
pub fn storage_classes(
    conn: &Connection,
    table: &str,
    columns: &[String],
) -> Result<Vec<StorageClasses>, CatalogError> {
    let mut out = Vec::with_capacity(columns.len());
    for chunk in columns.chunks(crate::source::MAX_RESULT_COLUMNS / 5) {
        let parts: Vec<String> = chunk
            .iter()
            .map(|c| {
                let q = quote(c);
                format!("sum(typeof({q})='integer'), sum(typeof({q})='real'), sum(typeof({q})='text'), sum(typeof({q})='blob'), sum(typeof({q})='null')")
            })
            .collect();
        let sql = format!("SELECT {} FROM {}", parts.join(", "), quote(table));
        conn.query_row(&sql, [], |r| {
            for i in 0..chunk.len() {
                let g = |k: usize| {
                    r.get::<_, Option<i64>>(i * 5 + k)
                        .map(|v| v.unwrap_or(0) as u64)
                };
                out.push(StorageClasses {
                    integer: g(0)?,
                    real: g(1)?,
                    text: g(2)?,
                    blob: g(3)?,
                    null: g(4)?,
                });
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Read and convert every selected table. `profile` scans the data to find values
/// that disagree with their declared types (assessment and schema conversion);
/// without it only columns declared with no type are scanned.
pub fn convert(
    conn: &Connection,
    rules: &CastRules,
    select: &dyn Fn(&str) -> bool,
    profile: bool,
    report: &mut ConversionReport,
) -> Result<Vec<SourceTable>, CatalogError> {
    let mut out = Vec::new();
    let all = table_names(conn)?;
    let sequences: HashMap<String, i64> = if all.is_empty() {
        HashMap::new()
    } else {
        let has_seq: bool = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'",
            [],
            |r| r.get::<_, i64>(0),
        )? > 0;
        if has_seq {
            let mut s = conn.prepare("SELECT name, seq FROM sqlite_sequence")?;
            let m = s
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<Result<HashMap<_, _>, _>>()?;
            m
        } else {
            HashMap::new()
        }
    };
    for name in all.iter().filter(|n| select(n)) {
        out.push(convert_table(
            conn, rules, name, profile, &sequences, report,
        )?);
    }
    manual_objects(conn, select, report)?;
    Ok(out)
}

fn convert_table(
    conn: &Connection,
    rules: &CastRules,
    name: &str,
    profile: bool,
    sequences: &HashMap<String, i64>,
    report: &mut ConversionReport,
) -> Result<SourceTable, CatalogError> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get(0),
    )?;
    let without_rowid: bool = conn.query_row(
        "SELECT wr FROM pragma_table_list WHERE name = ?1 AND schema = 'main'",
        [name],
        |r| r.get::<_, i64>(0),
    )? != 0;
    let mut stmt = conn.prepare("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid")?;
    let raw: Vec<RawColumn> = stmt
        .query_map([name], |r| {
            Ok(RawColumn {
                name: r.get(0)?,
                declared: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                notnull: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get(4)?,
                hidden: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let needs_profile: Vec<String> = raw
        .iter()
        .filter(|c| profile || c.declared.trim().is_empty())
        .map(|c| c.name.clone())
        .collect();
    let classes_list = storage_classes(conn, name, &needs_profile)?;
    let classes: HashMap<&str, &StorageClasses> = needs_profile
        .iter()
        .map(String::as_str)
        .zip(classes_list.iter())
        .collect();

    let mut t = TableSchema::new(name);
    let mut decisions = Vec::new();
    let mut resolved = Vec::new();
    let mut pk: Vec<(i64, String)> = raw
        .iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name.clone()))
        .collect();
    pk.sort();
    let rowid_alias = !without_rowid
        && pk.len() == 1
        && raw
            .iter()
            .any(|c| c.pk == 1 && c.declared.eq_ignore_ascii_case("INTEGER"));
    let autoincrement = sql.to_ascii_uppercase().contains("AUTOINCREMENT");
    for c in &raw {
        let m = map_column(
            rules,
            name,
            &c.name,
            &c.declared,
            classes.get(c.name.as_str()).copied(),
        );
        let obj = format!("{name}.{}", c.name);
        if let Some(n) = &m.note {
            report
                .findings
                .push(Finding::new(Severity::Warning, &obj, n));
        }
        if let (Some(cl), lightning_core::LightningType::Decimal(_)) =
            (classes.get(c.name.as_str()), m.resolved.target)
        {
            if cl.real > 0 {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    &obj,
                    format!(
                        "{} values are stored by SQLite as REAL (its NUMERIC affinity converts numeric text to floats); each is carried as the shortest decimal that reads back as the same float",
                        cl.real
                    ),
                ));
            }
        }
        if c.hidden == 2 || c.hidden == 3 {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    &obj,
                    "generated column: its values are copied, its expression is not carried",
                )
                .with_definition(sql.clone()),
            );
        }
        let mut col = ColumnSchema::new(&c.name, m.resolved.target);
        let key_column = (rowid_alias && c.pk == 1) || (without_rowid && c.pk > 0);
        col.nullable = !c.notnull && !key_column;
        col.default = c.default.clone();
        col.source_type = Some(if c.declared.is_empty() {
            "(none)".to_string()
        } else {
            c.declared.clone()
        });
        if rowid_alias && c.pk == 1 {
            col.autoincrement = autoincrement;
            let msg = match (autoincrement, sequences.get(name)) {
                (true, Some(seq)) => format!(
                    "INTEGER PRIMARY KEY AUTOINCREMENT (rowid alias); the sequence stands at {seq}"
                ),
                (true, None) => "INTEGER PRIMARY KEY AUTOINCREMENT (rowid alias)".into(),
                _ => "INTEGER PRIMARY KEY: an alias of SQLite's rowid, carried as the primary key"
                    .into(),
            };
            report
                .findings
                .push(Finding::new(Severity::Info, &obj, msg));
        }
        decisions.push(ColumnDecision {
            column: c.name.clone(),
            source_type: c.declared.clone(),
            lightning_type: m.resolved.target.to_string(),
            rule: m.resolved.rule.clone(),
            reason: m.resolved.reason.clone(),
            transform: m.resolved.transform.map(|x| x.name().to_string()),
        });
        resolved.push(m.resolved);
        t.columns.push(col);
    }
    if profile && !rowid_alias {
        // SQLite lets a declared key hold NULLs (rowid tables) and keeps 1, '1' and
        // x'31' apart; mapped to one Lightning type such keys can collide.
        for c in raw.iter().filter(|c| c.pk > 0) {
            let Some(cl) = classes.get(c.name.as_str()) else {
                continue;
            };
            let classes_used = [cl.integer, cl.real, cl.text, cl.blob]
                .iter()
                .filter(|n| **n > 0)
                .count();
            let mut why = Vec::new();
            if cl.null > 0 {
                why.push(format!("{} rows have NULL in it", cl.null));
            }
            if classes_used > 1 {
                why.push(
                    "it holds values of several storage classes that SQLite keeps apart"
                        .to_string(),
                );
            }
            if !why.is_empty() {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    format!("{name}.{}", c.name),
                    format!(
                        "primary-key column: {}; Lightning keys are unique, so rows whose keys then collide are refused",
                        why.join(" and ")
                    ),
                ));
            }
        }
    }
    if profile {
        let names: Vec<String> = raw.iter().map(|c| c.name.clone()).collect();
        for (col, (n, example)) in names
            .iter()
            .zip(conversion_failures(conn, name, &names, &resolved)?)
        {
            if n == 0 {
                continue;
            }
            let target = resolved[names.iter().position(|x| x == col).unwrap_or(0)].target;
            let carrier = if target == lightning_core::LightningType::Text {
                "BLOB"
            } else {
                "TEXT"
            };
            report.findings.push(Finding::new(
                Severity::Warning,
                format!("{name}.{col}"),
                format!(
                    "{n} values cannot be carried exactly as {target} (first: {example}); migrate refuses those rows unless a rule carries them, for example --cast 'column:{name}.{col} => {carrier}'"
                ),
            ));
        }
    }
    t.primary_key = pk.into_iter().map(|(_, n)| n).collect();
    if t.primary_key.is_empty() {
        report.findings.push(Finding::new(
            Severity::Info,
            name,
            "no primary key: rows are keyed by SQLite's rowid",
        ));
    }
    if without_rowid {
        report.findings.push(Finding::new(
            Severity::Info,
            name,
            "WITHOUT ROWID table: keyed by its primary key",
        ));
    }
    let upper = sql.to_ascii_uppercase();
    for coll in ["NOCASE", "RTRIM"] {
        if upper.contains(&format!("COLLATE {coll}")) {
            report.findings.push(Finding::new(Severity::Loss, name, format!("COLLATE {coll}: Lightning compares text byte by byte, so ordering and uniqueness may differ")));
        }
    }
    t.checks = check_constraints(&sql)
        .into_iter()
        .map(|(n, e)| CheckConstraint {
            name: n,
            expression: e,
        })
        .collect();
    indexes(conn, name, &mut t, report)?;
    foreign_keys(conn, name, &mut t)?;
    report.tables.push(TableConversion {
        table: name.to_string(),
        columns: decisions,
    });
    Ok(SourceTable {
        columns: resolved,
        rowid: if without_rowid {
            None
        } else {
            ["rowid", "_rowid_", "oid"]
                .into_iter()
                .find(|alias| !raw.iter().any(|c| c.name.eq_ignore_ascii_case(alias)))
                .map(String::from)
        },
        keyed_by_rowid: t.primary_key.is_empty(),
        source_name: name.to_string(),
        schema: t,
    })
}

fn indexes(
    conn: &Connection,
    table: &str,
    t: &mut TableSchema,
    report: &mut ConversionReport,
) -> Result<(), CatalogError> {
    let mut list = conn.prepare(
        "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY seq DESC",
    )?;
    let items: Vec<(String, bool, String, bool)> = list
        .query_map([table], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? != 0,
                r.get(2)?,
                r.get::<_, i64>(3)? != 0,
            ))
        })?
        .collect::<Result<_, _>>()?;
    for (ix, unique, origin, partial) in items {
        let mut cols_stmt =
            conn.prepare("SELECT cid, name FROM pragma_index_info(?1) ORDER BY seqno")?;
        let cols: Vec<(i64, Option<String>)> = cols_stmt
            .query_map([&ix], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [&ix],
                |r| r.get(0),
            )
            .unwrap_or(None);
        let obj = format!("index {ix}");
        if origin == "pk" {
            continue; // the primary key itself
        }
        if cols.iter().any(|(cid, _)| *cid < 0) {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    &obj,
                    "expression index: Lightning indexes columns only; recreate it by hand",
                )
                .with_definition(sql.unwrap_or_default()),
            );
            continue;
        }
        if partial {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    &obj,
                    "partial index: Lightning has no partial indexes; it is not carried",
                )
                .with_definition(sql.unwrap_or_default()),
            );
            continue;
        }
        let columns: Vec<String> = cols.into_iter().filter_map(|(_, n)| n).collect();
        if origin == "u" {
            t.uniques.push(UniqueConstraint {
                name: None,
                columns,
            });
        } else {
            t.indexes.push(IndexSchema {
                name: ix,
                columns,
                unique,
                kind: IndexKind::BTree,
            });
        }
    }
    t.uniques.reverse();
    t.indexes.reverse();
    Ok(())
}

fn foreign_keys(conn: &Connection, table: &str, t: &mut TableSchema) -> Result<(), CatalogError> {
    let mut stmt = conn.prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")?;
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = stmt
        .query_map([table], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let action = |a: &str| (a != "NO ACTION").then(|| a.to_string());
    let mut current: Option<(i64, ForeignKey)> = None;
    for (id, ref_table, from, to, on_update, on_delete) in rows {
        if current.as_ref().is_none_or(|(cid, _)| *cid != id) {
            if let Some((_, fk)) = current.take() {
                t.foreign_keys.push(fk);
            }
            current = Some((
                id,
                ForeignKey {
                    name: None,
                    columns: vec![],
                    ref_table,
                    ref_columns: vec![],
                    on_delete: action(&on_delete),
                    on_update: action(&on_update),
                },
            ));
        }
        if let Some((_, fk)) = current.as_mut() {
            fk.columns.push(from);
            if let Some(to) = to {
                fk.ref_columns.push(to);
            }
        }
    }
    if let Some((_, fk)) = current {
        t.foreign_keys.push(fk);
    }
    for fk in &mut t.foreign_keys {
        if fk.ref_columns.is_empty() {
            // REFERENCES parent with no column list means the parent's primary key.
            let mut s =
                conn.prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")?;
            fk.ref_columns = s
                .query_map([&fk.ref_table], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
        }
    }
    Ok(())
}

/// A token of SQLite SQL, enough to find constraints: its kind and byte span.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Word,
    /// `"x"`, `[x]` or `` `x` ``: a name.
    Quoted,
    Str,
    Open,
    Close,
    Other,
}

/// Tokenize SQL, dropping comments; quoted names and strings are single tokens.
fn sql_tokens(sql: &str) -> Vec<(Tok, usize, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = sql[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            continue;
        }
        let kind = match c {
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                loop {
                    match b.get(i) {
                        None => break,
                        Some(&x) if x == close => {
                            // A doubled quote is an escaped one (not inside brackets).
                            if close != b']' && b.get(i + 1) == Some(&close) {
                                i += 2;
                                continue;
                            }
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                if c == b'\'' {
                    Tok::Str
                } else {
                    Tok::Quoted
                }
            }
            b'(' => {
                i += 1;
                Tok::Open
            }
            b')' => {
                i += 1;
                Tok::Close
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                i += sql[i..].chars().next().map_or(1, char::len_utf8);
                Tok::Other
            }
        };
        out.push((kind, start, i));
    }
    out
}

/// The name a quoted or bare identifier token stands for.
fn unquote(text: &str) -> String {
    let body = || text.get(1..text.len().saturating_sub(1)).unwrap_or("");
    match text.chars().next() {
        Some('"') => body().replace("\"\"", "\""),
        Some('`') => body().replace("``", "`"),
        Some('[') => body().to_string(),
        _ => text.to_string(),
    }
}

/// CHECK constraints from a CREATE TABLE statement: (constraint name, expression).
/// Comments inside an expression are dropped.
pub fn check_constraints(sql: &str) -> Vec<(Option<String>, String)> {
    let toks = sql_tokens(sql);
    let word = |i: usize, w: &str| matches!(toks.get(i), Some((Tok::Word, s, e)) if sql[*s..*e].eq_ignore_ascii_case(w));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let mut name = None;
        let mut at = i;
        if word(i, "CONSTRAINT") {
            if let Some((Tok::Word | Tok::Quoted, s, e)) = toks.get(i + 1) {
                name = Some(unquote(&sql[*s..*e]));
                at = i + 2;
            }
        }
        if word(at, "CHECK") && matches!(toks.get(at + 1), Some((Tok::Open, _, _))) {
            let mut depth = 0;
            let mut parts: Vec<(usize, usize)> = Vec::new();
            let mut j = at + 1;
            while let Some(&(kind, s, e)) = toks.get(j) {
                match kind {
                    Tok::Open => depth += 1,
                    Tok::Close => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
                if j > at + 1 {
                    parts.push((s, e));
                }
                j += 1;
            }
            out.push((name, join_tokens(sql, &parts)));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The text the tokens span, as written, with any comment between them replaced
/// by a space.
fn join_tokens(sql: &str, parts: &[(usize, usize)]) -> String {
    let mut text = String::new();
    for (n, &(s, e)) in parts.iter().enumerate() {
        if n > 0 {
            let gap = &sql[parts[n - 1].1..s];
            text.push_str(if gap.contains("--") || gap.contains("/*") {
                " "
            } else {
                gap
            });
        }
        text.push_str(&sql[s..e]);
    }
    text
}

/// For each column, how many values its cast cannot carry, and the first reason.
fn conversion_failures(
    conn: &Connection,
    table: &str,
    columns: &[String],
    resolved: &[Resolved],
) -> Result<Vec<(u64, String)>, CatalogError> {
    let mut out = vec![(0u64, String::new()); columns.len()];
    if columns.is_empty() {
        return Ok(out);
    }
    let cols: Vec<String> = columns.iter().map(|c| quote(c)).collect();
    let mut stmt = conn.prepare(&format!("SELECT {} FROM {}", cols.join(", "), quote(table)))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        for (i, rule) in resolved.iter().enumerate() {
            if let Err(e) = crate::mapping::convert(r.get_ref(i)?, rule) {
                if out[i].0 == 0 {
                    out[i].1 = e;
                }
                out[i].0 += 1;
            }
        }
    }
    Ok(out)
}

/// Views and triggers: listed as manual work with their definitions.
fn manual_objects(
    conn: &Connection,
    select: &dyn Fn(&str) -> bool,
    report: &mut ConversionReport,
) -> Result<(), CatalogError> {
    let mut stmt = conn.prepare(
        "SELECT CASE WHEN m.type = 'table' THEN 'virtual table' ELSE m.type END, m.name, m.tbl_name, m.sql \
         FROM sqlite_master m LEFT JOIN pragma_table_list p ON p.name = m.name AND p.schema = 'main' \
         WHERE m.type IN ('view', 'trigger') OR (m.type = 'table' AND p.type = 'virtual') ORDER BY m.type, m.name",
    )?;
    let rows: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (kind, name, table, sql) in rows {
        if kind == "trigger" && !select(&table) {
            continue;
        }
        let msg = match kind.as_str() {
            "view" => "views are not carried: recreate it as a query in the application or by hand".to_string(),
            "trigger" => format!("triggers are not carried (on table {table}): move its logic to the application"),
            _ => "virtual tables (full-text search, R*Tree, ...) are not carried, nor their shadow tables: \
                  copy the data into an ordinary table or rebuild the index in Lightning (FULLTEXT)"
                .to_string(),
        };
        report.findings.push(
            Finding::new(Severity::Manual, format!("{kind} {name}"), msg)
                .with_definition(sql.unwrap_or_default()),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_check_constraints() {
        let sql = "CREATE TABLE t (a INT CHECK (a > 0), b TEXT, note TEXT DEFAULT 'check (x)', CONSTRAINT b_len CHECK (length(b) < 10 AND b <> ')'))";
        let c = check_constraints(sql);
        assert_eq!(
            c,
            vec![
                (None, "a > 0".to_string()),
                (
                    Some("b_len".to_string()),
                    "length(b) < 10 AND b <> ')'".to_string()
                )
            ]
        );
        let odd = r#"CREATE TABLE t("weird)" INT CHECK ("weird)" > 0), c2 TEXT CONSTRAINT "my ""check""" CHECK (c2 <> 'x'), c5 TEXT CHECK (c5 <> ')' /* ) */ ), c6 CONSTRAINT [br name] CHECK (c6 -- a comment )
            > 1))"#;
        assert_eq!(
            check_constraints(odd),
            vec![
                (None, "\"weird)\" > 0".to_string()),
                (Some("my \"check\"".to_string()), "c2 <> 'x'".to_string()),
                (None, "c5 <> ')'".to_string()),
                (Some("br name".to_string()), "c6 > 1".to_string()),
            ]
        );
    }
}
