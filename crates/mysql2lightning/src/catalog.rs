//! Reading a live server's catalog (`information_schema`) into the model.
//!
//! Written against MariaDB 10.11 and what MySQL 8 also has. Where they differ:
//! MariaDB quotes string defaults in `COLUMN_DEFAULT` and MySQL does not (MySQL marks
//! expression defaults with `DEFAULT_GENERATED` in `EXTRA`); MariaDB's JSON is a
//! LONGTEXT with a `json_valid` CHECK; MySQL's `CHECK_CONSTRAINTS` has no table
//! name (it is joined through `TABLE_CONSTRAINTS`).

use std::collections::BTreeMap;

use mysql::prelude::Queryable;
use mysql::{Conn, Value as MyValue};

use crate::connect::{quote, ConnSpec, ConnectError};
use crate::model::{
    MyCatalog, MyCheck, MyColumn, MyForeignKey, MyIndex, MyIndexKind, MyObject, MyTable,
};

/// MariaDB shows a string default as a literal with backslash escapes
/// (`'a\\b''c'`): the same string, quoted as standard SQL (and as the dump
/// reader quotes it).
fn standard_string(d: &str) -> String {
    use crate::dump::lex::{Lexer, Tok};
    if !d.starts_with('\'') {
        return d.to_string();
    }
    let mut lx = Lexer::new(d.as_bytes(), false, 1);
    match (lx.next(), lx.next()) {
        (Tok::Str(s), Tok::Eof) => crate::model::quote_literal(&String::from_utf8_lossy(&s)),
        _ => d.to_string(),
    }
}

fn text(v: &MyValue) -> Option<String> {
    match v {
        MyValue::NULL => None,
        MyValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn num(v: &MyValue) -> Option<u64> {
    match v {
        MyValue::Int(i) => u64::try_from(*i).ok(),
        MyValue::UInt(u) => Some(*u),
        MyValue::Bytes(b) => std::str::from_utf8(b).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// Run a catalog query with one parameter (the database), rows as value lists.
fn rows(
    conn: &mut Conn,
    spec: &ConnSpec,
    sql: &str,
    db: &str,
) -> Result<Vec<Vec<MyValue>>, ConnectError> {
    let r: Vec<mysql::Row> = conn.exec(sql, (db,)).map_err(|e| spec.query_error(e))?;
    Ok(r.into_iter().map(mysql::Row::unwrap).collect())
}

/// The server's version string and whether it is MariaDB.
pub fn server_version(conn: &mut Conn, spec: &ConnSpec) -> Result<String, ConnectError> {
    let v: Option<String> = conn
        .query_first("SELECT VERSION()")
        .map_err(|e| spec.query_error(e))?;
    Ok(v.unwrap_or_default())
}

/// Read the whole catalog of the database.
pub fn read(conn: &mut Conn, spec: &ConnSpec) -> Result<MyCatalog, ConnectError> {
    let db = spec.database.clone();
    let version = server_version(conn, spec)?;
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let exists: Option<String> = conn
        .exec_first(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (&db,),
        )
        .map_err(|e| spec.query_error(e))?;
    if exists.is_none() {
        return Err(ConnectError::Query {
            server: spec.describe(),
            error: format!("no database `{db}` on the server"),
        });
    }
    let mut cat = MyCatalog {
        notes: vec![format!("server {version}")],
        ..Default::default()
    };
    let mut tables: BTreeMap<String, MyTable> = BTreeMap::new();
    for r in rows(
        conn,
        spec,
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, AUTO_INCREMENT, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, \
         CREATE_OPTIONS, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? \
         ORDER BY TABLE_NAME",
        &db,
    )? {
        let name = text(&r[0]).unwrap_or_default();
        let kind = text(&r[1]).unwrap_or_default();
        match kind.as_str() {
            "BASE TABLE" | "SYSTEM VERSIONED" => {
                tables.insert(
                    name.clone(),
                    MyTable {
                        name,
                        engine: text(&r[2]),
                        collation: text(&r[8]).map(|c| c.to_ascii_lowercase()),
                        auto_increment: num(&r[3]),
                        rows_estimate: num(&r[4]).unwrap_or(0),
                        size_bytes: num(&r[5]).unwrap_or(0) + num(&r[6]).unwrap_or(0),
                        partitioned: text(&r[7])
                            .is_some_and(|o| o.to_ascii_lowercase().contains("partitioned")),
                        ..Default::default()
                    },
                );
            }
            "SEQUENCE" => cat.objects.push(MyObject {
                kind: "sequence".into(),
                name: name.clone(),
                table: None,
                definition: show_create(conn, "SEQUENCE", &name, 1)
                    .unwrap_or_else(|| format!("CREATE SEQUENCE {}", quote(&name))),
            }),
            _ => {} // views come from VIEWS below
        }
    }
    for r in rows(
        conn,
        spec,
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
         CHARACTER_SET_NAME, COLLATION_NAME, GENERATION_EXPRESSION FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
        &db,
    )? {
        let Some(t) = text(&r[0]).and_then(|n| tables.get_mut(&n)) else {
            continue;
        };
        let extra = text(&r[5]).unwrap_or_default();
        let upper = extra.to_ascii_uppercase();
        let generated = (upper.contains("VIRTUAL GENERATED")
            || upper.contains("STORED GENERATED")
            || upper.contains("PERSISTENT GENERATED"))
        .then(|| (text(&r[8]).unwrap_or_default(), !upper.contains("VIRTUAL")));
        let raw_type = text(&r[2]).unwrap_or_default();
        // Lower-case the type, not the ENUM/SET members.
        let cut = raw_type.find('\'').unwrap_or(raw_type.len());
        let column_type = format!(
            "{}{}",
            raw_type[..cut].to_ascii_lowercase(),
            &raw_type[cut..]
        );
        let raw_default = text(&r[4]);
        let default = match raw_default {
            None => None,
            Some(d) if mariadb => Some(standard_string(&d)),
            // MySQL shows literals unquoted; expressions are marked in EXTRA.
            Some(d) if upper.contains("DEFAULT_GENERATED") => Some(d),
            Some(d) => Some(crate::model::quote_literal(&d)),
        };
        let on_update = upper
            .find("ON UPDATE ")
            .map(|i| crate::model::normalise_default(&extra[i + 10..]));
        t.columns.push(MyColumn {
            name: text(&r[1]).unwrap_or_default(),
            column_type,
            nullable: text(&r[3]).as_deref() == Some("YES"),
            default,
            auto_increment: upper.contains("AUTO_INCREMENT"),
            on_update,
            charset: text(&r[6]),
            collation: text(&r[7]),
            generated,
        });
    }
    // Indexes, the primary key among them.
    let mut idx: BTreeMap<(String, String), MyIndex> = BTreeMap::new();
    for r in rows(
        conn,
        spec,
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, INDEX_TYPE \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        &db,
    )? {
        let table = text(&r[0]).unwrap_or_default();
        let name = text(&r[1]).unwrap_or_default();
        let kind = match text(&r[6]).unwrap_or_default().to_ascii_uppercase().as_str() {
            "HASH" => MyIndexKind::Hash,
            "FULLTEXT" => MyIndexKind::FullText,
            "SPATIAL" => MyIndexKind::Spatial,
            _ => MyIndexKind::BTree,
        };
        let e = idx
            .entry((table, name.clone()))
            .or_insert_with(|| MyIndex {
                name,
                kind,
                unique: num(&r[2]) == Some(0),
                columns: Vec::new(),
            });
        e.columns
            .push((text(&r[4]), num(&r[5]).map(|n| n as u32)));
    }
    for ((table, name), ix) in idx {
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        if name == "PRIMARY" {
            t.primary_key = ix.columns.iter().filter_map(|(c, _)| c.clone()).collect();
            if ix.columns.iter().any(|(_, p)| p.is_some()) {
                // A prefix primary key: keep it as an index so it is reported.
                t.indexes.push(ix);
            }
        } else {
            t.indexes.push(ix);
        }
    }
    // Foreign keys.
    let mut fks: BTreeMap<(String, String), MyForeignKey> = BTreeMap::new();
    for r in rows(
        conn,
        spec,
        "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
         k.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE, rc.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS rc \
         ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         AND rc.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        &db,
    )? {
        let table = text(&r[0]).unwrap_or_default();
        let name = text(&r[1]).unwrap_or_default();
        let e = fks
            .entry((table, name.clone()))
            .or_insert_with(|| MyForeignKey {
                name,
                columns: Vec::new(),
                ref_table: text(&r[3]).unwrap_or_default(),
                ref_columns: Vec::new(),
                on_update: fk_action(text(&r[5])),
                on_delete: fk_action(text(&r[6])),
            });
        e.columns.push(text(&r[2]).unwrap_or_default());
        e.ref_columns.push(text(&r[4]).unwrap_or_default());
    }
    for ((table, _), fk) in fks {
        if let Some(t) = tables.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }
    // CHECK constraints (MariaDB 10.2+, MySQL 8.0.16+; older servers have none).
    let checks_sql = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME"
    } else {
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, 'Table' FROM information_schema.TABLE_CONSTRAINTS tc \
         JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
         AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = ? \
         ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME"
    };
    if let Ok(list) = rows(conn, spec, checks_sql, &db) {
        for r in list {
            if let Some(t) = text(&r[0]).and_then(|n| tables.get_mut(&n)) {
                let column_level = text(&r[3]).as_deref() == Some("Column");
                t.checks.push(MyCheck {
                    name: if column_level { None } else { text(&r[1]) },
                    expression: text(&r[2]).unwrap_or_default(),
                });
            }
        }
    }
    // Objects needing manual work, with their definitions.
    for r in rows(
        conn,
        spec,
        "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
        &db,
    )? {
        let name = text(&r[0]).unwrap_or_default();
        cat.objects.push(MyObject {
            kind: "view".into(),
            definition: show_create(conn, "VIEW", &name, 1).unwrap_or_else(|| {
                format!(
                    "CREATE VIEW {} AS {}",
                    quote(&name),
                    text(&r[1]).unwrap_or_default()
                )
            }),
            name,
            table: None,
        });
    }
    for r in rows(
        conn,
        spec,
        "SELECT ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES \
         WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
        &db,
    )? {
        let kind = text(&r[0]).unwrap_or_default();
        let name = text(&r[1]).unwrap_or_default();
        cat.objects.push(MyObject {
            kind: kind.to_ascii_lowercase(),
            definition: show_create(conn, &kind, &name, 2)
                .unwrap_or_else(|| text(&r[2]).unwrap_or_default()),
            name,
            table: None,
        });
    }
    for r in rows(
        conn,
        spec,
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT \
         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME",
        &db,
    )? {
        let name = text(&r[0]).unwrap_or_default();
        let table = text(&r[1]).unwrap_or_default();
        cat.objects.push(MyObject {
            kind: "trigger".into(),
            definition: format!(
                "CREATE TRIGGER {} {} {} ON {} FOR EACH ROW {}",
                quote(&name),
                text(&r[2]).unwrap_or_default(),
                text(&r[3]).unwrap_or_default(),
                quote(&table),
                text(&r[4]).unwrap_or_default()
            ),
            name,
            table: Some(table),
        });
    }
    if let Ok(list) = rows(
        conn,
        spec,
        "SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME",
        &db,
    ) {
        for r in list {
            let name = text(&r[0]).unwrap_or_default();
            cat.objects.push(MyObject {
                kind: "event".into(),
                definition: show_create(conn, "EVENT", &name, 3)
                    .unwrap_or_else(|| text(&r[1]).unwrap_or_default()),
                name,
                table: None,
            });
        }
    }
    cat.tables = tables.into_values().collect();
    for t in &mut cat.tables {
        crate::convert::finish_table(t);
    }
    Ok(cat)
}

/// `SHOW CREATE <kind> name`, the statement in column `col`; `None` when not allowed.
fn show_create(conn: &mut Conn, kind: &str, name: &str, col: usize) -> Option<String> {
    let row: Option<mysql::Row> = conn
        .query_first(format!("SHOW CREATE {kind} {}", quote(name)))
        .ok()?;
    row.and_then(|r| r.as_ref(col).and_then(text))
}

fn fk_action(rule: Option<String>) -> Option<String> {
    match rule.as_deref() {
        None | Some("NO ACTION") | Some("RESTRICT") => None,
        Some(other) => Some(other.to_string()),
    }
}
