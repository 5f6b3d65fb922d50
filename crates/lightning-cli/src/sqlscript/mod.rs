//! `export --format sql`: a script that psql loads into PostgreSQL (sqlite3 into
//! SQLite, mysql or mariadb into MySQL and MariaDB) — every row of the tables, or with `--since` only what SQL changed
//! on the store after a run or a time, as upserts and deletes (a way back to the
//! source after a cutover). Each value is written in the database's own form; one
//! that cannot be written exactly stops the export, naming its table, key and
//! column.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{bail, Context};
use lightning_core::keycode::decode_key;
use lightning_core::query_check::escape_tsv;
use lightning_core::schema::{ColumnSchema, TableSchema};
use lightning_core::types::LightningType;
use lightning_core::{Store, Value};

mod mysql;
mod schema;

pub use schema::origin;

/// PostgreSQL's epoch (2000-01-01) in Unix microseconds.
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// PostgreSQL: COPY blocks, or INSERT ... ON CONFLICT and DELETE with --since.
    Postgres,
    /// MySQL and MariaDB: multi-row INSERT, or INSERT ... ON DUPLICATE KEY UPDATE and
    /// DELETE with --since.
    Mysql,
    /// SQLite (sqlite3 loads it): multi-row INSERT, or upserts and deletes with --since.
    Sqlite,
}

/// Where `--since` starts, and how to say it.
pub struct Since {
    pub unix_micros: i64,
    pub described: String,
}

/// `--since RUN|TIMESTAMP`: a run id (its start) or an RFC 3339 time.
pub fn parse_since(store: &Store, s: &str) -> anyhow::Result<Since> {
    if let Ok(id) = s.parse::<u64>() {
        let run = store.run(id).with_context(|| {
            format!("--since {s}: no run {id} in the store (see `lightning runs`)")
        })?;
        let at = lightning_core::value::parse_timestamptz(&run.started_at)
            .with_context(|| format!("run {id}'s start time `{}`", run.started_at))?;
        return Ok(Since {
            unix_micros: at + PG_EPOCH_UNIX_MICROS,
            described: format!("run {id} (started {})", run.started_at),
        });
    }
    let at = lightning_core::value::parse_timestamptz(s).map_err(|_| {
        anyhow::anyhow!("--since `{s}` is neither a run id nor a time such as 2026-11-26T10:00:00Z")
    })?;
    Ok(Since {
        unix_micros: at + PG_EPOCH_UNIX_MICROS,
        described: s.to_string(),
    })
}

fn header(out: &mut dyn Write, dialect: Dialect, what: &str, full: bool) -> std::io::Result<()> {
    writeln!(out, "-- {what}")?;
    match dialect {
        Dialect::Sqlite => {
            writeln!(out, "-- Load with: sqlite3 -bail DATABASE < FILE")?;
            writeln!(out, "BEGIN;")
        }
        Dialect::Mysql => {
            writeln!(out, "-- Load with: mariadb DATABASE < FILE (or mysql)")?;
            writeln!(out, "{}", mysql::SESSION)?;
            if full {
                // The tables' rows come whole, in store order.
                writeln!(out, "SET foreign_key_checks = 0;")?;
            }
            writeln!(out, "START TRANSACTION;")
        }
        Dialect::Postgres => {
            writeln!(
                out,
                "-- Load with: psql -v ON_ERROR_STOP=1 -d DATABASE -f FILE"
            )?;
            writeln!(out, "SET client_encoding = 'UTF8';")?;
            writeln!(out, "SET standard_conforming_strings = on;")?;
            writeln!(out, "BEGIN;")
        }
    }
}

/// Every row of `tables` (COPY blocks for PostgreSQL, multi-row INSERTs for the
/// others), after their CREATE statements when `schema` gives the kind of database
/// the store came from (`Some(None)`: unknown). Returns what the schema could not
/// carry as the store has it.
pub fn write_all(
    store: &Store,
    tables: &[TableSchema],
    dialect: Dialect,
    schema: Option<Option<Dialect>>,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<String>> {
    for t in tables.iter().filter(|_| dialect == Dialect::Postgres) {
        writable(t)?;
    }
    let ddl = match schema {
        Some(origin) => Some(schema::schema_script(
            &parents_first(tables),
            dialect,
            origin,
        )?),
        None => None,
    };
    let what = if ddl.is_some() {
        "Tables and rows"
    } else {
        "Rows"
    };
    header(
        out,
        dialect,
        &format!("{what} of {} table(s) of a Lightning store", tables.len()),
        true,
    )?;
    if let Some(ddl) = &ddl {
        out.write_all(ddl.create.as_bytes())?;
    }
    for t in tables {
        if dialect != Dialect::Postgres {
            multi_row_inserts(store, t, dialect, out)?;
            continue;
        }
        let cols: Vec<String> = t.columns.iter().map(|c| quote_ident(&c.name)).collect();
        writeln!(
            out,
            "COPY {} ({}) FROM stdin;",
            table_name(&t.name),
            cols.join(", ")
        )?;
        let mut line = String::new();
        for item in store.scan(&t.name)? {
            let (key, row) = item?;
            line.clear();
            for (i, (c, v)) in t.columns.iter().zip(&row).enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                let text = pg_text(v).map_err(|why| value_error(t, &key, &row, c, &why))?;
                line.push_str(&escape_tsv(text.as_deref()));
            }
            writeln!(out, "{line}")?;
        }
        writeln!(out, "\\.")?;
    }
    let mut notes = Vec::new();
    if let Some(ddl) = ddl {
        out.write_all(ddl.after.as_bytes())?;
        notes = ddl.notes;
    }
    writeln!(out, "COMMIT;")?;
    Ok(notes)
}

/// What SQL changed on the store since `since`: each changed key once, as an
/// upsert of the row it holds now or a delete when it holds none. Upserts go
/// parents first and deletes children first, so foreign keys hold.
pub fn write_since(
    store: &Store,
    tables: &[TableSchema],
    since: &Since,
    dialect: Dialect,
    out: &mut dyn Write,
) -> anyhow::Result<(u64, u64)> {
    let wanted: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut changed: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for c in store.changes_since(since.unix_micros)? {
        if wanted.contains(c.table.as_str()) {
            changed.entry(c.table).or_default().insert(c.key);
        }
    }
    let order = parents_first(tables);
    for t in order.iter().filter(|t| changed.contains_key(&t.name)) {
        if dialect == Dialect::Postgres {
            writable(t)?;
        }
        if t.primary_key.is_empty() {
            bail!(
                "table `{}` has no primary key: its changed rows cannot be named on the \
                 source; export it whole instead (without --since)",
                t.name
            );
        }
    }
    header(
        out,
        dialect,
        &format!(
            "Changes made through SQL on a Lightning store since {}",
            since.described
        ),
        false,
    )?;
    let mut deletes = Vec::new();
    let (mut upserted, mut deleted) = (0, 0);
    for t in &order {
        let Some(keys) = changed.get(&t.name) else {
            continue;
        };
        let key_cols: Vec<&ColumnSchema> = t
            .key_positions()
            .into_iter()
            .map(|i| &t.columns[i])
            .collect();
        let key_types: Vec<LightningType> = key_cols.iter().map(|c| c.ty).collect();
        for key in keys {
            match store.get_encoded(&t.name, key)? {
                Some(row) => {
                    writeln!(out, "{}", upsert(t, key, &row, dialect)?)?;
                    upserted += 1;
                }
                None => {
                    let values = decode_key(key, &key_types).with_context(|| {
                        format!(
                            "table `{}`: a changed key the store cannot read back",
                            t.name
                        )
                    })?;
                    let mut conds = Vec::new();
                    for (c, v) in key_cols.iter().zip(&values) {
                        let v = at_scale(v, c);
                        let text = sql_literal(&v, c, dialect)
                            .map_err(|why| anyhow::anyhow!("table `{}`: {why}", t.name))?;
                        conds.push(format!("{} = {text}", ident(&c.name, dialect)));
                    }
                    deletes.push(format!(
                        "DELETE FROM {} WHERE {};",
                        table_in(&t.name, dialect),
                        conds.join(" AND ")
                    ));
                    deleted += 1;
                }
            }
        }
    }
    // Children's deletes before their parents'.
    for d in deletes.iter().rev() {
        writeln!(out, "{d}")?;
    }
    writeln!(out, "COMMIT;")?;
    Ok((upserted, deleted))
}

fn upsert(t: &TableSchema, key: &[u8], row: &[Value], dialect: Dialect) -> anyhow::Result<String> {
    let q = |n: &str| ident(n, dialect);
    let cols: Vec<String> = t.columns.iter().map(|c| q(&c.name)).collect();
    let mut values = Vec::with_capacity(row.len());
    for (c, v) in t.columns.iter().zip(row) {
        values.push(sql_literal(v, c, dialect).map_err(|why| value_error(t, key, row, c, &why))?);
    }
    let others: Vec<&ColumnSchema> = t
        .columns
        .iter()
        .filter(|c| !t.primary_key.contains(&c.name))
        .collect();
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        table_in(&t.name, dialect),
        cols.join(", "),
        values.join(", ")
    );
    if dialect == Dialect::Mysql {
        let sets: Vec<String> = if others.is_empty() {
            vec![format!("{0} = {0}", q(&t.primary_key[0]))]
        } else {
            others
                .iter()
                .map(|c| format!("{0} = VALUES({0})", q(&c.name)))
                .collect()
        };
        return Ok(format!(
            "{insert} ON DUPLICATE KEY UPDATE {};",
            sets.join(", ")
        ));
    }
    let pk: Vec<String> = t.primary_key.iter().map(|c| q(c)).collect();
    let action = if others.is_empty() {
        "DO NOTHING".to_string()
    } else {
        let sets: Vec<String> = others
            .iter()
            .map(|c| format!("{0} = excluded.{0}", q(&c.name)))
            .collect();
        format!("DO UPDATE SET {}", sets.join(", "))
    };
    Ok(format!(
        "{insert} ON CONFLICT ({}) {action};",
        pk.join(", ")
    ))
}

/// A value as a literal of the dialect's SQL.
fn sql_literal(v: &Value, c: &ColumnSchema, dialect: Dialect) -> Result<String, String> {
    match dialect {
        Dialect::Postgres => return pg_text(v).map(literal),
        Dialect::Mysql => return mysql::literal(v, c),
        Dialect::Sqlite => {}
    }
    Ok(match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => (if *b { "1" } else { "0" }).into(),
        Value::Int(i) => i.to_string(),
        Value::Float(_) | Value::Double(_) => {
            let f = float_of(v).expect("a float");
            if f.is_nan() {
                return Err("SQLite cannot hold NaN".into());
            }
            if f.is_infinite() {
                (if f > 0.0 { "9e999" } else { "-9e999" }).into()
            } else {
                v.to_text().unwrap_or_default()
            }
        }
        Value::Decimal(d) if d.is_special() => {
            return Err(format!("SQLite cannot hold the number {}", d.as_str()))
        }
        // The canonical text is `\x` and the hex digits.
        Value::Blob(_) => format!("X'{}'", &v.to_text().unwrap_or_default()[2..]),
        Value::Text(t) | Value::Json(t) if t.contains('\0') => {
            return Err("a NUL character cannot be written in SQLite text".into())
        }
        _ => literal(v.to_text()),
    })
}

/// A REAL or DOUBLE value as a double.
fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => Some(f64::from(*f)),
        Value::Double(f) => Some(*f),
        _ => None,
    }
}

/// An identifier quoted as the dialect quotes one.
fn ident(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Mysql => mysql::quote_ident(name),
        _ => quote_ident(name),
    }
}

/// A table's name in the dialect: PostgreSQL's `schema.table`, or the whole name.
fn table_in(name: &str, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => table_name(name),
        _ => ident(name, dialect),
    }
}

/// SQLite and MySQL: every row of a table as multi-row INSERT statements (500 rows
/// each).
fn multi_row_inserts(
    store: &Store,
    t: &TableSchema,
    dialect: Dialect,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let cols: Vec<String> = t.columns.iter().map(|c| ident(&c.name, dialect)).collect();
    let head = format!(
        "INSERT INTO {} ({}) VALUES",
        table_in(&t.name, dialect),
        cols.join(", ")
    );
    let mut n = 0u64;
    for item in store.scan(&t.name)? {
        let (key, row) = item?;
        let mut values = Vec::with_capacity(row.len());
        for (c, v) in t.columns.iter().zip(&row) {
            values.push(
                sql_literal(v, c, dialect).map_err(|why| value_error(t, &key, &row, c, &why))?,
            );
        }
        if n.is_multiple_of(500) {
            if n > 0 {
                writeln!(out, ";")?;
            }
            write!(out, "{head}\n  ({})", values.join(", "))?;
        } else {
            write!(out, ",\n  ({})", values.join(", "))?;
        }
        n += 1;
    }
    if n > 0 {
        writeln!(out, ";")?;
    }
    Ok(())
}

/// Refuse a table with a column whose values the store holds in a form made from
/// another type (a PostgreSQL array or composite read as JSON): writing them back
/// would not give the source's values.
fn writable(t: &TableSchema) -> anyhow::Result<()> {
    for c in &t.columns {
        let Some(src) = c.source_type.as_deref() else {
            continue;
        };
        let src_l = src.to_ascii_lowercase();
        if c.ty == LightningType::Json && !src_l.starts_with("json") {
            bail!(
                "table `{}`, column `{}`: the store holds the source's `{src}` values as JSON, \
                 which PostgreSQL cannot read back as `{src}`; leave the table out, or export \
                 it as CSV or the stream",
                t.name,
                c.name
            );
        }
    }
    Ok(())
}

fn value_error(
    t: &TableSchema,
    key: &[u8],
    row: &[Value],
    c: &ColumnSchema,
    why: &str,
) -> anyhow::Error {
    let rowid = lightning_core::keycode::decode_rowid(key);
    anyhow::anyhow!(
        "table `{}`, row {}, column `{}`: {why}",
        t.name,
        t.describe_key(rowid, &row.to_vec()),
        c.name
    )
}

/// A key value decoded from the change log at its column's scale.
fn at_scale(v: &Value, c: &ColumnSchema) -> Value {
    match (v, c.ty) {
        (Value::Decimal(d), LightningType::Decimal(Some((_, s)))) => {
            d.with_scale(s).map_or_else(|| v.clone(), Value::Decimal)
        }
        _ => v.clone(),
    }
}

/// A value in PostgreSQL's text form; `None` for NULL.
pub fn pg_text(v: &Value) -> Result<Option<String>, String> {
    Ok(Some(match v {
        Value::Null => return Ok(None),
        Value::Bool(b) => (if *b { "t" } else { "f" }).to_string(),
        Value::Text(s) | Value::Json(s) => {
            if s.contains('\0') {
                return Err("PostgreSQL text cannot hold a NUL character".into());
            }
            s.clone()
        }
        Value::Time(t) => {
            if !(0..=86_400_000_000).contains(t) {
                return Err(format!(
                    "{} is outside PostgreSQL's time of day (00:00:00 to 24:00:00)",
                    v.to_text().unwrap_or_default()
                ));
            }
            v.to_text().unwrap_or_default()
        }
        Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_) => bc_form(
            &v.to_text().unwrap_or_default(),
            matches!(v, Value::TimestampTz(_)),
        ),
        _ => v.to_text().unwrap_or_default(),
    }))
}

/// A date or timestamp in the canonical form (astronomical years: `-0044` is 45
/// BC) as PostgreSQL writes it (`0045-03-15 BC`), with `+00` for a TIMESTAMPTZ.
fn bc_form(text: &str, tz: bool) -> String {
    if text.ends_with("infinity") {
        return text.to_string();
    }
    let text = text.strip_suffix("+00:00").unwrap_or(text);
    let zone = if tz { "+00" } else { "" };
    let (sign, body) = match text.as_bytes().first() {
        Some(b'-') => (-1i64, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let Some((year, rest)) = body.split_once('-') else {
        return text.to_string();
    };
    let Ok(y) = year.parse::<i64>() else {
        return text.to_string();
    };
    let y = sign * y;
    if y > 0 {
        format!("{y:04}-{rest}{zone}")
    } else {
        format!("{:04}-{rest}{zone} BC", 1 - y)
    }
}

/// A quoted literal (PostgreSQL casts it to the column's type), or NULL.
fn literal(text: Option<String>) -> String {
    match text {
        None => "NULL".into(),
        Some(t) => format!("'{}'", t.replace('\'', "''")),
    }
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A Lightning table name as PostgreSQL names the table: `schema.table` for a
/// table outside `public` (as pg2lightning names them), else the bare name.
fn table_name(name: &str) -> String {
    match name.split_once('.') {
        Some((schema, table)) => format!("{}.{}", quote_ident(schema), quote_ident(table)),
        None => quote_ident(name),
    }
}

/// The tables, each after the tables its foreign keys point to (cycles keep
/// their order).
fn parents_first(tables: &[TableSchema]) -> Vec<TableSchema> {
    let mut done: Vec<TableSchema> = Vec::new();
    let mut left: Vec<TableSchema> = tables.to_vec();
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            t.foreign_keys.iter().all(|fk| {
                fk.ref_table == t.name
                    || done.iter().any(|d| d.name == fk.ref_table)
                    || !left.iter().any(|l| l.name == fk.ref_table)
            })
        });
        done.push(left.remove(ready.unwrap_or(0)));
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_before_year_1_are_written_as_bc() {
        assert_eq!(bc_form("-0044-03-15", false), "0045-03-15 BC");
        assert_eq!(
            bc_form("0000-01-01 00:00:00", false),
            "0001-01-01 00:00:00 BC"
        );
        assert_eq!(
            bc_form("-4713-11-24 00:00:00+00:00", true),
            "4714-11-24 00:00:00+00 BC"
        );
        assert_eq!(
            bc_form("2024-02-29 12:00:00+00:00", true),
            "2024-02-29 12:00:00+00"
        );
        assert_eq!(bc_form("+294276-12-31", false), "294276-12-31");
        assert_eq!(bc_form("infinity", true), "infinity");
    }

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal(Some("it's".into())), "'it''s'");
        assert_eq!(literal(None), "NULL");
        assert_eq!(table_name("Sales ü.Orders"), "\"Sales ü\".\"Orders\"");
    }
}
