//! The checks a migration plan runs against the live server before copying: can
//! the user connect and read every table, and is the server ready for `sync` to
//! follow the copy. Each is a pass, a warning or a failure with what to do.

use std::collections::BTreeSet;
use std::time::Duration;

use lightning_core::report::{Check, CheckStatus};
use lightning_core::text::{duration, for_terminal, listed, statement_start, LISTED};
use postgres::Client;

use crate::connect::{ConnectInfo, PgResult};
use crate::model::{quote_ident, QualifiedName};

/// The checks, in order: `connect`, `read tables`, `replication rights`,
/// `wal_level`, `replication slots`, `long transactions`. `tables` are the
/// relations the copy will read (partition leaves, not their parents). An error
/// means the server could not be reached or queried at all.
pub fn source_checks(info: &ConnectInfo, tables: &[QualifiedName]) -> anyhow::Result<Vec<Check>> {
    let all = checks(info, tables, Check::LONG_TRANSACTION)?;
    Ok(all
        .into_iter()
        .map(|c| match c.check.as_str() {
            "replication rights" | "wal_level" => c.for_sync(),
            _ => c,
        })
        .collect())
}

/// [`source_checks`] with the age from which a transaction counts as long (the
/// tests cannot wait five minutes).
fn checks(
    info: &ConnectInfo,
    tables: &[QualifiedName],
    long_after: Duration,
) -> anyhow::Result<Vec<Check>> {
    let mut client = info.connect()?;
    let version: String = client.query_one("SHOW server_version", &[]).pg()?.get(0);
    let user: String = client
        .query_one("SELECT current_user::text", &[])
        .pg()?
        .get(0);
    let mut out = vec![Check::new(
        "connect",
        CheckStatus::Pass,
        format!(
            "connected to PostgreSQL {} as {}",
            for_terminal(&version),
            for_terminal(&user)
        ),
    )];
    out.push(read_tables(&mut client, &user, tables)?);
    out.push(replication_rights(&mut client, &user)?);
    out.push(wal_level(&mut client)?);
    out.extend(replication_slots(&mut client)?);
    out.push(long_transactions(&mut client, &user, long_after)?);
    Ok(out)
}

fn read_tables(client: &mut Client, user: &str, tables: &[QualifiedName]) -> anyhow::Result<Check> {
    // By the catalog rather than a `regclass` cast: a cast fails the whole query on
    // a schema the user may not use, and this reports that too.
    let schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let rows = client
        .query(
            "SELECT c.oid IS NOT NULL, \
                    coalesce(pg_catalog.has_schema_privilege(n.oid, 'USAGE'), false), \
                    coalesce(pg_catalog.has_table_privilege(c.oid, 'SELECT'), false) \
             FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(s, r, i) \
             LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.s \
             LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.r \
             ORDER BY t.i",
            &[&schemas, &names],
        )
        .pg()?;
    let mut missing = Vec::new();
    let mut unreadable = Vec::new();
    // Those without SELECT and their schemas, and the schemas the user may not use.
    let mut no_select = Vec::new();
    let mut their_schemas = BTreeSet::new();
    let mut no_usage = BTreeSet::new();
    for (t, row) in tables.iter().zip(&rows) {
        let (found, usage, select): (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
        if !found {
            missing.push(t.sql());
            continue;
        }
        if !usage {
            no_usage.insert(for_terminal(&quote_ident(&t.schema)).into_owned());
        }
        if !select {
            no_select.push(for_terminal(&t.sql()).into_owned());
            their_schemas.insert(for_terminal(&quote_ident(&t.schema)).into_owned());
        }
        if !(usage && select) {
            unreadable.push(t.sql());
        }
    }
    let n = tables.len();
    if missing.is_empty() && unreadable.is_empty() {
        return Ok(Check::new(
            "read tables",
            CheckStatus::Pass,
            format!("all {n} tables readable"),
        ));
    }
    let role = for_terminal(&quote_ident(user)).into_owned();
    let mut said = Vec::new();
    if !unreadable.is_empty() {
        let mut grants = Vec::new();
        if !no_select.is_empty() {
            let on = if no_select.len() <= LISTED {
                no_select.join(", ")
            } else {
                // Too many to name: every table of their schemas.
                let schemas: Vec<String> = their_schemas.into_iter().collect();
                format!("ALL TABLES IN SCHEMA {}", schemas.join(", "))
            };
            grants.push(format!("GRANT SELECT ON {on} TO {role}"));
        }
        if !no_usage.is_empty() {
            let schemas: Vec<String> = no_usage.into_iter().collect();
            grants.push(format!(
                "GRANT USAGE ON SCHEMA {} TO {role}",
                schemas.join(", ")
            ));
        }
        said.push(format!(
            "{} cannot read {} of {n} tables: {}; run {}",
            for_terminal(user),
            unreadable.len(),
            listed(&unreadable),
            grants.join(" and ")
        ));
    }
    if !missing.is_empty() {
        said.push(format!(
            "{} no longer exist on the server (dropped or renamed since the plan read the \
             catalog): plan again",
            listed(&missing)
        ));
    }
    Ok(Check::new(
        "read tables",
        CheckStatus::Fail,
        said.join("; "),
    ))
}

fn replication_rights(client: &mut Client, user: &str) -> anyhow::Result<Check> {
    let row = client
        .query_opt(
            "SELECT rolreplication, rolsuper FROM pg_catalog.pg_roles \
             WHERE rolname = current_user",
            &[],
        )
        .pg()?;
    let (replication, superuser) = row.map_or((false, false), |r| (r.get(0), r.get(1)));
    let shown = for_terminal(user);
    Ok(if superuser {
        Check::new(
            "replication rights",
            CheckStatus::Pass,
            format!("{shown} is a superuser"),
        )
    } else if replication {
        Check::new(
            "replication rights",
            CheckStatus::Pass,
            format!("{shown} has the REPLICATION attribute"),
        )
    } else {
        Check::new(
            "replication rights",
            CheckStatus::Warn,
            format!(
                "{shown} has neither the REPLICATION attribute nor superuser: needed only if \
                 `sync` will follow the copy (`migrate --for-sync`); then run ALTER ROLE {} \
                 REPLICATION",
                quote_ident(user)
            ),
        )
    })
}

fn wal_level(client: &mut Client) -> anyhow::Result<Check> {
    let level: String = client.query_one("SHOW wal_level", &[]).pg()?.get(0);
    Ok(if level == "logical" {
        Check::new("wal_level", CheckStatus::Pass, "wal_level is logical")
    } else {
        Check::new(
            "wal_level",
            CheckStatus::Warn,
            format!(
                "wal_level is {}: `sync` after the copy needs wal_level = logical (ALTER SYSTEM \
                 SET wal_level = logical, then restart the server); the copy alone does not",
                for_terminal(&level)
            ),
        )
    })
}

/// One warning per slot no one reads (each keeps WAL on the server's disk) and per
/// setting that leaves `sync` no slot or sender; one pass when there is none.
fn replication_slots(client: &mut Client) -> anyhow::Result<Vec<Check>> {
    let mut out = Vec::new();
    // On a standby the position is the last replayed one (pg_current_wal_lsn fails).
    let slots = client
        .query(
            "SELECT slot_name::text, slot_type, coalesce(database::text, ''), \
                    pg_catalog.pg_wal_lsn_diff(\
                        CASE WHEN pg_catalog.pg_is_in_recovery() \
                             THEN pg_catalog.pg_last_wal_replay_lsn() \
                             ELSE pg_catalog.pg_current_wal_lsn() END, \
                        restart_lsn)::int8 \
             FROM pg_catalog.pg_replication_slots WHERE NOT active ORDER BY 1",
            &[],
        )
        .pg()?;
    for s in &slots {
        let (name, kind, db, held): (String, String, String, Option<i64>) =
            (s.get(0), s.get(1), s.get(2), s.get(3));
        let held = match held {
            Some(b) => format!(
                "holds {} of WAL",
                lightning_core::report::human_bytes(b.max(0) as u64)
            ),
            None => "holds no WAL yet".to_string(),
        };
        let on = if db.is_empty() {
            String::new()
        } else {
            format!(", database {}", for_terminal(&db))
        };
        out.push(Check::new(
            "replication slots",
            CheckStatus::Warn,
            format!(
                "the {kind} slot {} ({held}{on}) is not in use: the server keeps WAL for it \
                 until it is read or dropped; if nothing will read it again, drop it \
                 (`pg2lightning sync --drop-slot` for a slot of sync, or \
                 SELECT pg_drop_replication_slot('{}')) before the server's disk fills",
                for_terminal(&name),
                for_terminal(&name.replace('\'', "''"))
            ),
        ));
    }
    for setting in ["max_replication_slots", "max_wal_senders"] {
        let value: String = client
            .query_one(format!("SHOW {setting}").as_str(), &[])
            .pg()?
            .get(0);
        if value.trim() == "0" {
            out.push(Check::new(
                "replication slots",
                CheckStatus::Warn,
                format!(
                    "{setting} is 0: `sync` after the copy needs a replication slot and a WAL \
                     sender; set {setting} to at least 1 more than is in use, then restart the \
                     server"
                ),
            ));
        }
    }
    if out.is_empty() {
        out.push(Check::new(
            "replication slots",
            CheckStatus::Pass,
            "no replication slot is left unread",
        ));
    }
    Ok(out)
}

fn long_transactions(
    client: &mut Client,
    user: &str,
    long_after: Duration,
) -> anyhow::Result<Check> {
    // Client backends only: autovacuum's transactions do not hold back the others.
    let rows = client
        .query(
            "SELECT pid, extract(epoch FROM pg_catalog.clock_timestamp() - xact_start)::float8, \
                    coalesce(state, ''), coalesce(usename::text, ''), coalesce(query, '') \
             FROM pg_catalog.pg_stat_activity \
             WHERE pid <> pg_catalog.pg_backend_pid() AND backend_type = 'client backend' \
               AND xact_start <= pg_catalog.clock_timestamp() - $1::float8 * interval '1 second' \
             ORDER BY xact_start",
            &[&long_after.as_secs_f64()],
        )
        .pg()?;
    let limit = duration(long_after);
    if rows.is_empty() {
        // Without pg_read_all_stats, the sessions of other roles show no transaction.
        let sees_all: bool = client
            .query_one(
                "SELECT rolsuper OR pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') \
                 FROM pg_catalog.pg_roles WHERE rolname = current_user",
                &[],
            )
            .pg()?
            .get(0);
        let mut detail = format!("no other transaction has been open for more than {limit}");
        if !sees_all {
            detail.push_str(&format!(
                " among the sessions {} can see (to see other roles' too, GRANT \
                 pg_read_all_stats TO {})",
                for_terminal(user),
                quote_ident(user)
            ));
        }
        return Ok(Check::new("long transactions", CheckStatus::Pass, detail));
    }
    let found: Vec<String> = rows
        .iter()
        .map(|r| {
            let (pid, age, state, who, query): (i32, f64, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            let age = duration(Duration::from_secs_f64(age.max(0.0)));
            format!(
                "pid {pid} ({}, {}) open {age}: {}",
                for_terminal(&who),
                for_terminal(&state),
                statement_start(&query)
            )
        })
        .collect();
    Ok(Check::new(
        "long transactions",
        CheckStatus::Warn,
        format!(
            "{} transaction(s) open for more than {limit}: {}. They hold back the xmin of the \
             copy's snapshot and vacuum, so the tables bloat while a long copy runs; let them \
             finish, or end them (SELECT pg_terminate_backend(PID)) before copying",
            found.len(),
            listed(&found)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use lightning_core::secret::PasswordFileArg;

    /// The server the tests use (override with `PG2L_TEST_URL`).
    fn server_url() -> String {
        std::env::var("PG2L_TEST_URL")
            .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into())
    }

    /// The server's URL for database `db`, as `user` when given.
    fn url_of(db: &str, user: Option<&str>) -> String {
        let base = server_url();
        let (main, query) = base.split_once('?').unwrap_or((&base, ""));
        let main = main.rsplit_once('/').map_or(main, |(b, _)| b);
        let mut params: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect();
        if let Some(u) = user {
            params.push(format!("user={u}"));
        }
        if params.is_empty() {
            format!("{main}/{db}")
        } else {
            format!("{main}/{db}?{}", params.join("&"))
        }
    }

    fn client(db: &str) -> Client {
        postgres::Client::connect(&url_of(db, None), postgres::NoTls)
            .expect("PostgreSQL must be running for these tests (`cargo xtask test` starts it)")
    }

    fn info(db: &str, user: Option<&str>) -> ConnectInfo {
        ConnectInfo::from_source(Some(&url_of(db, user)), &PasswordFileArg::default()).unwrap()
    }

    /// A database, a login role and a physical slot of the test's own, dropped at
    /// its end (even when it fails).
    struct Scratch {
        name: String,
    }

    impl Scratch {
        fn new() -> Scratch {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("l2t_checks_{}_{n}", std::process::id());
            let scratch = Scratch { name };
            scratch.drop_all();
            // One statement at a time: CREATE DATABASE refuses a transaction block.
            let mut admin = client("postgres");
            for sql in [
                "CREATE DATABASE {} TEMPLATE template0",
                "CREATE ROLE {} LOGIN",
            ] {
                admin
                    .batch_execute(&sql.replace("{}", &scratch.name))
                    .unwrap();
            }
            scratch
        }

        fn drop_all(&self) {
            if let Ok(mut a) = postgres::Client::connect(&url_of("postgres", None), postgres::NoTls)
            {
                let _ = a.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                     WHERE slot_name = $1 AND NOT active",
                    &[&self.name],
                );
                // The role's grants go with the database, which lets it be dropped.
                for sql in [
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    "DROP ROLE IF EXISTS {}",
                ] {
                    let _ = a.batch_execute(&sql.replace("{}", &self.name));
                }
            }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            self.drop_all();
        }
    }

    fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.check == name)
            .unwrap_or_else(|| panic!("no `{name}` check in {checks:?}"))
    }

    #[test]
    fn checks_name_what_the_user_cannot_do() {
        let s = Scratch::new();
        let mut db = client(&s.name);
        db.batch_execute(&format!(
            "CREATE TABLE \"Open Table\" (id int); CREATE TABLE hidden (id int); \
             GRANT SELECT ON \"Open Table\" TO {}",
            s.name
        ))
        .unwrap();
        let tables = [
            QualifiedName::new("public", "Open Table"),
            QualifiedName::new("public", "hidden"),
        ];

        let restricted = source_checks(&info(&s.name, Some(&s.name)), &tables).unwrap();
        let names: Vec<&str> = restricted.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names[..4],
            ["connect", "read tables", "replication rights", "wal_level"],
            "{restricted:?}"
        );
        assert_eq!(names.last(), Some(&"long transactions"), "{restricted:?}");
        let connect = find(&restricted, "connect");
        assert_eq!(connect.status, CheckStatus::Pass);
        assert!(connect.detail.contains(&s.name), "{}", connect.detail);
        assert!(connect.detail.contains("PostgreSQL"), "{}", connect.detail);
        let read = find(&restricted, "read tables");
        assert_eq!(read.status, CheckStatus::Fail, "{}", read.detail);
        assert!(
            read.detail
                .contains("cannot read 1 of 2 tables: public.hidden;"),
            "{}",
            read.detail
        );
        assert!(!read.detail.contains("Open Table"), "{}", read.detail);
        assert!(
            read.detail
                .contains(&format!("GRANT SELECT ON public.hidden TO {}", s.name)),
            "{}",
            read.detail
        );
        let rights = find(&restricted, "replication rights");
        assert_eq!(rights.status, CheckStatus::Warn);
        assert!(
            rights
                .detail
                .contains(&format!("ALTER ROLE {} REPLICATION", s.name)),
            "{}",
            rights.detail
        );
        assert!(
            restricted
                .iter()
                .all(|c| c.status != CheckStatus::Fail || c.check == "read tables"),
            "{restricted:?}"
        );

        let superuser = source_checks(&info(&s.name, None), &tables).unwrap();
        let read = find(&superuser, "read tables");
        assert_eq!(
            (read.status, read.detail.as_str()),
            (CheckStatus::Pass, "all 2 tables readable")
        );
        assert_eq!(
            find(&superuser, "replication rights").status,
            CheckStatus::Pass
        );
        let level: String = db.query_one("SHOW wal_level", &[]).unwrap().get(0);
        let wal = find(&superuser, "wal_level");
        let expected = if level == "logical" {
            CheckStatus::Pass
        } else {
            CheckStatus::Warn
        };
        assert_eq!(wal.status, expected, "{}", wal.detail);
        if expected == CheckStatus::Warn {
            assert!(wal.detail.contains("wal_level = logical"), "{}", wal.detail);
        }
    }

    #[test]
    fn a_schema_the_user_may_not_use_is_named() {
        let s = Scratch::new();
        client(&s.name)
            .batch_execute(&format!(
                "CREATE SCHEMA locked; CREATE TABLE locked.inside (id int); \
                 GRANT SELECT ON locked.inside TO {}",
                s.name
            ))
            .unwrap();
        let checks = source_checks(
            &info(&s.name, Some(&s.name)),
            &[QualifiedName::new("locked", "inside")],
        )
        .unwrap();
        let read = find(&checks, "read tables");
        assert_eq!(read.status, CheckStatus::Fail);
        assert_eq!(
            read.detail,
            format!(
                "{0} cannot read 1 of 1 tables: locked.inside; run GRANT USAGE ON SCHEMA locked \
                 TO {0}",
                s.name
            )
        );
    }

    #[test]
    fn a_table_gone_since_the_plan_fails_the_read_check() {
        let s = Scratch::new();
        let checks = source_checks(
            &info(&s.name, None),
            &[QualifiedName::new("public", "never_made")],
        )
        .unwrap();
        let read = find(&checks, "read tables");
        assert_eq!(read.status, CheckStatus::Fail);
        assert!(
            read.detail.contains("public.never_made no longer exist"),
            "{}",
            read.detail
        );
    }

    #[test]
    fn an_open_transaction_is_named_with_its_pid() {
        let s = Scratch::new();
        let mut holder = client(&s.name);
        let pid: i32 = holder
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        // The session shows its last statement: this one, over two lines.
        let mut tx = holder.transaction().unwrap();
        tx.query("SELECT\n  'l2t hold'::text", &[]).unwrap();

        let checks = checks(&info(&s.name, None), &[], Duration::ZERO).unwrap();
        let long = find(&checks, "long transactions");
        assert_eq!(long.status, CheckStatus::Warn, "{}", long.detail);
        assert!(
            long.detail
                .contains(&format!("pid {pid} (postgres, idle in transaction) open ")),
            "{}",
            long.detail
        );
        assert!(
            long.detail.contains("`SELECT 'l2t hold'::text`"),
            "{}",
            long.detail
        );
        assert!(long.detail.contains("xmin"), "{}", long.detail);

        // Moments old: not long by the plan's measure.
        let checks = source_checks(&info(&s.name, None), &[]).unwrap();
        let long = find(&checks, "long transactions");
        assert!(
            !long.detail.contains(&format!("pid {pid} ")),
            "{}",
            long.detail
        );
        tx.rollback().unwrap();
    }

    #[test]
    fn an_unread_slot_is_named_with_the_wal_it_holds() {
        let s = Scratch::new();
        let mut admin = client("postgres");
        admin
            .execute(
                "SELECT pg_create_physical_replication_slot($1, true)",
                &[&s.name],
            )
            .unwrap();
        let checks = source_checks(&info(&s.name, None), &[]).unwrap();
        let slot = checks
            .iter()
            .find(|c| c.check == "replication slots" && c.detail.contains(&s.name))
            .unwrap_or_else(|| panic!("the slot is not named: {checks:?}"));
        assert_eq!(slot.status, CheckStatus::Warn);
        assert!(slot.detail.contains("physical slot"), "{}", slot.detail);
        assert!(slot.detail.contains("of WAL"), "{}", slot.detail);
        assert!(
            slot.detail
                .contains(&format!("pg_drop_replication_slot('{}')", s.name)),
            "{}",
            slot.detail
        );
    }
}
