//! Reading the live server's catalog into the model, the way pg_dump reads it.

use std::collections::HashMap;

use postgres::Client;

use crate::model::{
    Column, Constraint, Database, Identity, Index, ManualKind, ManualObject, QualifiedName,
    Sequence, Table, TableKind, UserType,
};

/// Schemas that are PostgreSQL's own.
const USER_NAMESPACES: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// Objects that belong to an extension are created by the extension, not by the
/// dump (pg_dump leaves them out too).
fn not_in_extension(catalog: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '{catalog}'::pg_catalog.regclass \
         AND d.objid = {oid} AND d.deptype = 'e')"
    )
}

/// Read the whole catalog. The session must have `search_path = ''` (see `connect`).
pub fn read(client: &mut Client) -> Result<Database, postgres::Error> {
    let mut db = Database::default();
    let mut by_oid: HashMap<u32, usize> = HashMap::new();
    let sql = format!(
        "SELECT c.oid, n.nspname, c.relname, c.relkind::text, \
                CASE WHEN c.reltuples < 0 OR (c.relpages = 0 AND pg_catalog.pg_relation_size(c.oid) > 0) \
                     THEN NULL ELSE c.reltuples::int8 END, \
                pg_catalog.pg_total_relation_size(c.oid), \
                CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END, \
                pn.nspname, pc.relname, pg_catalog.pg_get_expr(c.relpartbound, c.oid) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_catalog.pg_inherits i ON c.relispartition AND i.inhrelid = c.oid \
         LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent \
         LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND {USER_NAMESPACES} AND {} \
         ORDER BY n.nspname, c.relname",
        not_in_extension("pg_class", "c.oid")
    );
    for r in client.query(sql.as_str(), &[])? {
        let mut t = Table::new(QualifiedName::new(
            r.get::<_, String>(1),
            r.get::<_, String>(2),
        ));
        let relkind: String = r.get(3);
        if relkind == "p" {
            t.kind = TableKind::Partitioned {
                key: r.get::<_, Option<String>>(6).unwrap_or_default(),
            };
        }
        // None: the catalog does not know (never analysed or vacuumed, or filled since).
        t.estimated_rows = r.get::<_, Option<i64>>(4).map(|n| n.max(0) as u64);
        t.bytes = Some(r.get::<_, i64>(5).max(0) as u64);
        if let (Some(ps), Some(pn)) = (r.get::<_, Option<String>>(7), r.get::<_, Option<String>>(8))
        {
            t.parent = Some((
                QualifiedName::new(ps, pn),
                r.get::<_, Option<String>>(9).unwrap_or_default(),
            ));
        }
        by_oid.insert(r.get(0), db.tables.len());
        db.tables.push(t);
    }
    let oids: Vec<u32> = by_oid.keys().copied().collect();

    let columns = client.query(
        "SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
                CASE WHEN a.attidentity <> '' THEN pg_catalog.pg_get_serial_sequence( \
                    pg_catalog.format('%I.%I', n.nspname, c.relname), a.attname) END \
         FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attrelid, a.attnum",
        &[&oids],
    )?;
    for r in columns {
        let Some(&ti) = by_oid.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let identity: String = r.get(5);
        let generated: String = r.get(6);
        let expr: Option<String> = r.get(4);
        let (default, generated) = if generated == "s" {
            (None, expr)
        } else {
            (expr, None)
        };
        db.tables[ti].columns.push(Column {
            name: r.get(1),
            type_name: r.get(2),
            not_null: r.get(3),
            default,
            identity: (!identity.is_empty()).then(|| Identity {
                kind: if identity == "a" {
                    "ALWAYS"
                } else {
                    "BY DEFAULT"
                }
                .into(),
                sequence: r.get(7),
            }),
            generated,
        });
    }

    // What pg_dump writes: primary keys, unique and exclusion constraints of every
    // table; checks defined on the table itself; foreign keys not cloned from a parent.
    let constraints = client.query(
        "SELECT conrelid, conname, pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint \
         WHERE conrelid = ANY($1) AND (contype IN ('p', 'u', 'x') OR (contype = 'c' AND conislocal) \
               OR (contype = 'f' AND conparentid = 0))",
        &[&oids],
    )?;
    for r in constraints {
        if let Some(&ti) = by_oid.get(&r.get::<_, u32>(0)) {
            db.tables[ti].constraints.push(Constraint {
                name: r.get(1),
                definition: r.get(2),
            });
        }
    }
    let indexes = client.query(
        "SELECT i.indrelid, c.relname, pg_catalog.pg_get_indexdef(i.indexrelid) \
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k \
               WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))",
        &[&oids],
    )?;
    for r in indexes {
        if let Some(&ti) = by_oid.get(&r.get::<_, u32>(0)) {
            db.tables[ti].indexes.push(Index {
                name: r.get(1),
                definition: r.get(2),
            });
        }
    }
    read_types(client, &mut db)?;
    read_sequences(client, &mut db)?;
    read_manual(client, &mut db)?;
    db.normalize();
    Ok(db)
}

fn read_types(client: &mut Client, db: &mut Database) -> Result<(), postgres::Error> {
    let sql = format!(
        "SELECT t.oid, pg_catalog.format_type(t.oid, NULL), t.typtype::text, \
                pg_catalog.format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, \
                (SELECT pg_catalog.array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
                   FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid), \
                (SELECT pg_catalog.array_agg(pg_catalog.pg_get_constraintdef(k.oid) ORDER BY k.conname) \
                   FROM pg_catalog.pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), \
                (SELECT pg_catalog.format_type(r.rngsubtype, NULL) FROM pg_catalog.pg_range r \
                   WHERE r.rngtypid = t.oid), \
                (SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attnum) FROM pg_catalog.pg_attribute a \
                   WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), \
                (SELECT pg_catalog.array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) \
                   FROM pg_catalog.pg_attribute a \
                   WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) \
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE {USER_NAMESPACES} AND {} AND t.typtype IN ('b', 'c', 'd', 'e', 'r') \
           AND NOT (t.typtype = 'b' AND t.typcategory = 'A') \
           AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')",
        // Array types are implicit; a table's row type is the table itself.
        not_in_extension("pg_type", "t.oid")
    );
    for r in client.query(sql.as_str(), &[])? {
        let name: String = r.get(1);
        let ty = match r.get::<_, String>(2).as_str() {
            "e" => UserType::Enum(r.get::<_, Option<Vec<String>>>(6).unwrap_or_default()),
            "d" => UserType::Domain {
                base: r.get(3),
                not_null: r.get(4),
                default: r.get(5),
                checks: r.get::<_, Option<Vec<String>>>(7).unwrap_or_default(),
            },
            "r" => UserType::Range {
                subtype: r.get::<_, Option<String>>(8).unwrap_or_default(),
            },
            "c" => UserType::Composite(
                r.get::<_, Option<Vec<String>>>(9)
                    .unwrap_or_default()
                    .into_iter()
                    .zip(r.get::<_, Option<Vec<String>>>(10).unwrap_or_default())
                    .collect(),
            ),
            _ => UserType::Other,
        };
        db.types.insert(name, ty);
    }
    Ok(())
}

fn read_sequences(client: &mut Client, db: &mut Database) -> Result<(), postgres::Error> {
    let sql = format!(
        "SELECT pg_catalog.format('%s.%s', pg_catalog.quote_ident(n.nspname), pg_catalog.quote_ident(c.relname)), \
                s.seqincrement, s.seqstart \
         FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE {USER_NAMESPACES} AND {}",
        not_in_extension("pg_class", "c.oid")
    );
    for r in client.query(sql.as_str(), &[])? {
        let name: String = r.get(0);
        // Reading the sequence itself is how pg_dump learns its position.
        let pos = match client.query_one(
            format!("SELECT last_value, is_called FROM {name}").as_str(),
            &[],
        ) {
            Ok(pos) => pos,
            Err(e) => {
                tracing::warn!("cannot read the position of sequence {name} ({e}): its next value is not carried");
                continue;
            }
        };
        db.sequences.insert(
            name,
            Sequence {
                last_value: pos.get(0),
                is_called: pos.get(1),
                increment: r.get(1),
            },
        );
    }
    Ok(())
}

fn read_manual(client: &mut Client, db: &mut Database) -> Result<(), postgres::Error> {
    let queries: Vec<(ManualKind, String)> = vec![
        (
            ManualKind::View,
            format!(
                "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), \
                        'CREATE VIEW ' || pg_catalog.format('%I.%I', n.nspname, c.relname) || ' AS' || \
                        pg_catalog.pg_get_viewdef(c.oid) \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'v' AND {USER_NAMESPACES} AND {}",
                not_in_extension("pg_class", "c.oid")
            ),
        ),
        (
            ManualKind::MaterializedView,
            format!(
                "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), \
                        'CREATE MATERIALIZED VIEW ' || pg_catalog.format('%I.%I', n.nspname, c.relname) || ' AS' || \
                        pg_catalog.pg_get_viewdef(c.oid) \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'm' AND {USER_NAMESPACES} AND {}",
                not_in_extension("pg_class", "c.oid")
            ),
        ),
        (
            // Indexes of materialized views go with the view.
            ManualKind::Other,
            format!(
                "SELECT ic.relname || ' ON ' || pg_catalog.format('%I.%I', n.nspname, c.relname), \
                        pg_catalog.pg_get_indexdef(i.indexrelid) \
                 FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid \
                 JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'm' AND {USER_NAMESPACES}"
            ),
        ),
        (
            ManualKind::ForeignTable,
            format!(
                "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), \
                        'CREATE FOREIGN TABLE ' || pg_catalog.format('%I.%I', n.nspname, c.relname) \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind = 'f' AND {USER_NAMESPACES}"
            ),
        ),
        (
            ManualKind::Function,
            format!(
                "SELECT pg_catalog.format('%I.%I', n.nspname, p.proname), \
                        CASE WHEN p.prokind IN ('f', 'p') THEN pg_catalog.pg_get_functiondef(p.oid) \
                             ELSE 'CREATE AGGREGATE ' || pg_catalog.format('%I.%I', n.nspname, p.proname) || \
                                  '(' || pg_catalog.pg_get_function_arguments(p.oid) || ')' END, \
                        p.prokind::text \
                 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                 WHERE {USER_NAMESPACES} AND {}",
                not_in_extension("pg_proc", "p.oid")
            ),
        ),
        (
            ManualKind::Trigger,
            format!(
                "SELECT t.tgname || ' ON ' || pg_catalog.format('%I.%I', n.nspname, c.relname), \
                        pg_catalog.pg_get_triggerdef(t.oid) \
                 FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {USER_NAMESPACES}"
            ),
        ),
        (
            ManualKind::Rule,
            "SELECT r.rulename || ' ON ' || pg_catalog.format('%I.%I', r.schemaname, r.tablename), r.definition \
             FROM pg_catalog.pg_rules r WHERE r.schemaname NOT IN ('pg_catalog', 'information_schema')"
                .to_string(),
        ),
        (
            ManualKind::Policy,
            "SELECT p.policyname || ' ON ' || pg_catalog.format('%I.%I', p.schemaname, p.tablename), \
                    'CREATE POLICY ' || pg_catalog.quote_ident(p.policyname) || ' ON ' || \
                    pg_catalog.format('%I.%I', p.schemaname, p.tablename) || \
                    ' USING (' || coalesce(p.qual, 'true') || ')' \
             FROM pg_catalog.pg_policies p"
                .to_string(),
        ),
        (
            ManualKind::Extension,
            "SELECT e.extname, 'CREATE EXTENSION ' || pg_catalog.quote_ident(e.extname) FROM pg_catalog.pg_extension e"
                .to_string(),
        ),
        (
            ManualKind::EventTrigger,
            "SELECT e.evtname, 'CREATE EVENT TRIGGER ' || pg_catalog.quote_ident(e.evtname) || ' ON ' || e.evtevent \
             FROM pg_catalog.pg_event_trigger e"
                .to_string(),
        ),
    ];
    for (kind, sql) in queries {
        for r in client.query(sql.as_str(), &[])? {
            let kind = if kind == ManualKind::Function {
                match r.get::<_, String>(2).as_str() {
                    "p" => ManualKind::Procedure,
                    "a" => ManualKind::Aggregate,
                    _ => ManualKind::Function,
                }
            } else {
                kind
            };
            db.manual.push(ManualObject {
                kind,
                name: r.get(0),
                definition: r.get(1),
            });
        }
    }
    Ok(())
}
