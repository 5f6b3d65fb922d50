//! The checks a migration plan runs against the live server before copying: can
//! the user connect and read every table, and is the server ready for `sync` to
//! follow the copy. Each is a pass, a warning or a failure with what to do.

use std::time::Duration;

use lightning_core::report::{Check, CheckStatus};
use lightning_core::text::{duration, for_terminal, listed, statement_start};
use mysql::prelude::Queryable;
use mysql::Conn;

use crate::connect::{quote, ConnSpec};

/// The checks, in order: `connect`, `read tables`, `binary log`, `replication
/// rights`, `long transactions`. `tables` are the tables of the spec's database
/// the copy will read. An error means the server could not be reached or queried
/// at all.
pub fn source_checks(spec: &ConnSpec, tables: &[String]) -> anyhow::Result<Vec<Check>> {
    let all = checks(spec, tables, Check::LONG_TRANSACTION)?;
    Ok(all
        .into_iter()
        .map(|c| match c.check.as_str() {
            "replication rights" | "binary log" => c.for_sync(),
            _ => c,
        })
        .collect())
}

/// [`source_checks`] with the age from which a transaction counts as long (the
/// tests cannot wait five minutes).
fn checks(spec: &ConnSpec, tables: &[String], long_after: Duration) -> anyhow::Result<Vec<Check>> {
    let mut conn = spec.connect()?;
    let (version, user): (String, String) = conn
        .query_first("SELECT VERSION(), CURRENT_USER()")
        .map_err(|e| spec.query_error(e))?
        .unwrap_or_default();
    let account = account(&user);
    let product = if is_mariadb(&version) {
        "MariaDB"
    } else {
        "MySQL"
    };
    let mut out = vec![Check::new(
        "connect",
        CheckStatus::Pass,
        format!(
            "connected to {product} (version {}) as {}",
            for_terminal(&version),
            for_terminal(&user)
        ),
    )];
    out.push(read_tables(&mut conn, spec, &account, tables)?);
    out.push(binary_log(&mut conn, spec)?);
    out.push(replication_rights(&mut conn, spec, &version, &account)?);
    out.push(long_transactions(&mut conn, spec, &account, long_after)?);
    Ok(out)
}

fn is_mariadb(version: &str) -> bool {
    version.to_ascii_lowercase().contains("mariadb")
}

/// `CURRENT_USER()` (`app@%`) as a GRANT names it: `'app'@'%'`.
fn account(user: &str) -> String {
    let (name, host) = user.rsplit_once('@').unwrap_or((user, "%"));
    format!(
        "'{}'@'{}'",
        for_terminal(&name.replace('\'', "''")),
        for_terminal(&host.replace('\'', "''"))
    )
}

/// Each table read for no rows: the server checks the privilege as a copy's
/// read would, column grants and roles included.
fn read_tables(
    conn: &mut Conn,
    spec: &ConnSpec,
    account: &str,
    tables: &[String],
) -> anyhow::Result<Check> {
    let db = quote(&spec.database);
    let mut unreadable = Vec::new();
    let mut missing = Vec::new();
    for t in tables {
        match conn.query_drop(format!("SELECT 1 FROM {db}.{} LIMIT 0", quote(t))) {
            Ok(()) => {}
            // ER_NO_SUCH_TABLE
            Err(mysql::Error::MySqlError(e)) if e.code == 1146 => missing.push(t.clone()),
            Err(mysql::Error::MySqlError(_)) => unreadable.push(t.clone()),
            Err(e) => return Err(spec.query_error(e).into()),
        }
    }
    let n = tables.len();
    if unreadable.is_empty() && missing.is_empty() {
        return Ok(Check::new(
            "read tables",
            CheckStatus::Pass,
            format!("all {n} tables readable"),
        ));
    }
    let mut said = Vec::new();
    if !unreadable.is_empty() {
        said.push(format!(
            "{account} cannot read {} of {n} tables: {}; run GRANT SELECT ON {}.* TO {account}",
            unreadable.len(),
            listed(&unreadable),
            for_terminal(&db)
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

/// What `sync` reads: a row-based binary log with whole rows, uncompressed.
fn binary_log(conn: &mut Conn, spec: &ConnSpec) -> anyhow::Result<Check> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
        .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")
        .map_err(|e| spec.query_error(e))?;
    let (log_bin, format, image) = row.unwrap_or_default();
    let shown = |v: &Option<String>| for_terminal(v.as_deref().unwrap_or("unset")).into_owned();
    let mut differ = Vec::new();
    if !log_bin.as_deref().is_some_and(on) {
        differ.push(
            "log_bin is OFF (set log-bin = NAME and server-id = N under [mysqld] in the \
             server's option file, then restart it)"
                .to_string(),
        );
    }
    if !format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("ROW"))
    {
        differ.push(format!(
            "binlog_format is {} (set binlog_format = ROW in the option file, and SET GLOBAL \
             binlog_format = 'ROW' for sessions to come)",
            shown(&format)
        ));
    }
    if !image
        .as_deref()
        .is_some_and(|i| i.eq_ignore_ascii_case("FULL"))
    {
        differ.push(format!(
            "binlog_row_image is {} (set binlog_row_image = FULL, so that every change carries \
             the row's key)",
            shown(&image)
        ));
    }
    // Compressed events hold changes that sync does not open. Each server knows
    // only its own variable.
    for var in ["binlog_transaction_compression", "log_bin_compress"] {
        let value: Option<Option<String>> =
            conn.query_first(format!("SELECT @@{var}")).ok().flatten();
        if value.flatten().as_deref().is_some_and(on) {
            differ.push(format!(
                "{var} is ON (set {var} = OFF: sync cannot read compressed events)"
            ));
        }
    }
    Ok(if differ.is_empty() {
        Check::new(
            "binary log",
            CheckStatus::Pass,
            "log_bin ON, binlog_format ROW, binlog_row_image FULL",
        )
    } else {
        Check::new(
            "binary log",
            CheckStatus::Warn,
            format!(
                "`sync` after the copy reads a row-based binary log (the copy alone does not): \
                 {}",
                differ.join("; ")
            ),
        )
    })
}

fn on(v: &str) -> bool {
    v == "1" || v.eq_ignore_ascii_case("ON")
}

/// REPLICATION SLAVE to read the binlog, and REPLICATION CLIENT (BINLOG MONITOR on
/// MariaDB 10.5 and later) to read its position. The second is tried; the first
/// has no statement to try it by, so the grants are read.
fn replication_rights(
    conn: &mut Conn,
    spec: &ConnSpec,
    version: &str,
    account: &str,
) -> anyhow::Result<Check> {
    let monitor = match crate::dump::lex::parse_server_version(version) {
        Some((n, true)) if n >= 100_500 => "BINLOG MONITOR",
        _ => "REPLICATION CLIENT",
    };
    let can_monitor = match crate::source::BinlogPosition::current(conn) {
        Ok(_) => true,
        Err(mysql::Error::MySqlError(_)) => false,
        Err(e) => return Err(spec.query_error(e).into()),
    };
    let grants: Vec<String> = conn.query("SHOW GRANTS").map_err(|e| spec.query_error(e))?;
    let can_read = grants.iter().any(|g| grants_replication_slave(g));
    let mut missing = Vec::new();
    if !can_read {
        missing.push("REPLICATION SLAVE");
    }
    if !can_monitor {
        missing.push(monitor);
    }
    Ok(if missing.is_empty() {
        Check::new(
            "replication rights",
            CheckStatus::Pass,
            format!("{account} has REPLICATION SLAVE and {monitor}"),
        )
    } else {
        Check::new(
            "replication rights",
            CheckStatus::Warn,
            format!(
                "{account} lacks {}: needed only if `sync` will follow the copy (`migrate \
                 --for-sync`), to read the binary log and its position; then run GRANT {} ON \
                 *.* TO {account}",
                missing.join(" and "),
                missing.join(", ")
            ),
        )
    })
}

/// Whether one line of SHOW GRANTS grants REPLICATION SLAVE on everything.
fn grants_replication_slave(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("GRANT ") else {
        return false;
    };
    // A role's grant (`GRANT role TO user`) has no ON.
    let Some((privileges, target)) = rest.split_once(" ON ") else {
        return false;
    };
    if !target.trim_start().starts_with("*.*") {
        return false;
    }
    // Whole names: MariaDB also has REPLICATION SLAVE ADMIN, which does not read.
    privileges.split(',').map(str::trim).any(|p| {
        [
            "ALL",
            "ALL PRIVILEGES",
            "REPLICATION SLAVE",
            "REPLICATION REPLICA",
        ]
        .iter()
        .any(|k| p.eq_ignore_ascii_case(k))
    })
}

fn long_transactions(
    conn: &mut Conn,
    spec: &ConnSpec,
    account: &str,
    long_after: Duration,
) -> anyhow::Result<Check> {
    let limit = duration(long_after);
    // Text protocol: every column reads as text, whichever type each server gives.
    let sql = format!(
        "SELECT CAST(t.trx_id AS CHAR), t.trx_mysql_thread_id, \
                TIMESTAMPDIFF(SECOND, t.trx_started, NOW()), \
                COALESCE(p.USER, ''), COALESCE(p.COMMAND, ''), COALESCE(t.trx_query, '') \
         FROM information_schema.INNODB_TRX t \
         LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
         WHERE t.trx_mysql_thread_id <> CONNECTION_ID() \
           AND t.trx_started <= NOW() - INTERVAL {} SECOND \
         ORDER BY t.trx_started",
        long_after.as_secs()
    );
    let rows: Vec<(String, u64, i64, String, String, String)> = match conn.query(sql) {
        Ok(rows) => rows,
        // ER_SPECIFIC_ACCESS_DENIED_ERROR: INNODB_TRX needs PROCESS.
        Err(mysql::Error::MySqlError(e)) if e.code == 1227 => {
            return Ok(Check::new(
                "long transactions",
                CheckStatus::Warn,
                format!(
                    "{account} cannot see other sessions' transactions \
                     (information_schema.INNODB_TRX needs the PROCESS privilege): run GRANT \
                     PROCESS ON *.* TO {account}, or check for transactions open for more than \
                     {limit} as an administrator"
                ),
            ))
        }
        Err(e) => return Err(spec.query_error(e).into()),
    };
    if rows.is_empty() {
        return Ok(Check::new(
            "long transactions",
            CheckStatus::Pass,
            format!("no other transaction has been open for more than {limit}"),
        ));
    }
    let found: Vec<String> = rows
        .iter()
        .map(|(id, thread, age, user, command, query)| {
            let age = duration(Duration::from_secs((*age).max(0) as u64));
            let mut s = format!(
                "trx {} (thread {thread}, {}, {}) open {age}",
                for_terminal(id),
                for_terminal(user),
                if command == "Sleep" {
                    "idle".to_string()
                } else {
                    for_terminal(command).into_owned()
                }
            );
            if !query.is_empty() {
                s.push_str(&format!(": {}", statement_start(query)));
            }
            s
        })
        .collect();
    Ok(Check::new(
        "long transactions",
        CheckStatus::Warn,
        format!(
            "{} transaction(s) open for more than {limit}: {}. They keep InnoDB from purging \
             old row versions while the copy's snapshot is read, so the history grows and a \
             long copy slows; let them finish, or end them (KILL THREAD) before copying",
            found.len(),
            listed(&found)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::connect::ClientArgs;

    const SERVER: &str = "mysql://root@127.0.0.1:3306";

    fn admin() -> Conn {
        Conn::new(mysql::Opts::from_url(&format!("{SERVER}/mysql")).unwrap())
            .expect("MariaDB must be running on 127.0.0.1:3306 for these tests")
    }

    /// A database and a user of the test's own, with SELECT on one table of two;
    /// both dropped at its end (even when it fails).
    struct Scratch {
        name: String,
        password: String,
    }

    impl Scratch {
        fn new() -> Scratch {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("l2t_checks_{}_{n}", std::process::id());
            let scratch = Scratch {
                password: format!("Pw-{name}-S3cret"),
                name,
            };
            scratch.drop_all();
            admin()
                .query_drop(format!(
                    "CREATE DATABASE `{0}`; \
                     CREATE TABLE `{0}`.open_t (id INT PRIMARY KEY); \
                     CREATE TABLE `{0}`.hidden_t (id INT PRIMARY KEY); \
                     CREATE USER '{0}'@'%' IDENTIFIED BY '{1}'; \
                     GRANT SELECT ON `{0}`.open_t TO '{0}'@'%'",
                    scratch.name, scratch.password
                ))
                .unwrap();
            scratch
        }

        fn drop_all(&self) {
            if let Ok(mut a) = Conn::new(mysql::Opts::from_url(&format!("{SERVER}/mysql")).unwrap())
            {
                let _ = a.query_drop(format!(
                    "DROP DATABASE IF EXISTS `{0}`; DROP USER IF EXISTS '{0}'@'%'",
                    self.name
                ));
            }
        }

        fn spec(&self, restricted: bool) -> ConnSpec {
            let url = if restricted {
                format!(
                    "mysql://{0}:{1}@127.0.0.1:3306/{0}",
                    self.name, self.password
                )
            } else {
                format!("{SERVER}/{}", self.name)
            };
            ConnSpec::resolve(&url, &ClientArgs::default()).unwrap()
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

    fn tables() -> Vec<String> {
        vec!["open_t".to_string(), "hidden_t".to_string()]
    }

    #[test]
    fn checks_name_what_the_user_cannot_do() {
        let s = Scratch::new();
        let restricted = source_checks(&s.spec(true), &tables()).unwrap();
        let names: Vec<&str> = restricted.iter().map(|c| c.check.as_str()).collect();
        assert_eq!(
            names,
            [
                "connect",
                "read tables",
                "binary log",
                "replication rights",
                "long transactions"
            ]
        );
        let connect = find(&restricted, "connect");
        assert_eq!(connect.status, CheckStatus::Pass);
        assert!(
            connect.detail.contains(&format!("as {}@%", s.name)),
            "{}",
            connect.detail
        );
        let read = find(&restricted, "read tables");
        assert_eq!(read.status, CheckStatus::Fail, "{}", read.detail);
        assert!(
            read.detail.contains("cannot read 1 of 2 tables: hidden_t;"),
            "{}",
            read.detail
        );
        assert!(!read.detail.contains("open_t"), "{}", read.detail);
        assert!(
            read.detail
                .contains(&format!("GRANT SELECT ON `{0}`.* TO '{0}'@'%'", s.name)),
            "{}",
            read.detail
        );
        let rights = find(&restricted, "replication rights");
        assert_eq!(rights.status, CheckStatus::Warn);
        assert!(
            rights.detail.contains("GRANT REPLICATION SLAVE, ")
                && rights
                    .detail
                    .contains(&format!("ON *.* TO '{}'@'%'", s.name)),
            "{}",
            rights.detail
        );
        // Without PROCESS the transactions of others cannot be seen: said, not passed.
        let long = find(&restricted, "long transactions");
        assert_eq!(long.status, CheckStatus::Warn);
        assert!(long.detail.contains("GRANT PROCESS"), "{}", long.detail);
        for c in &restricted {
            assert!(!c.detail.contains(&s.password), "the password shows: {c:?}");
        }

        let root = source_checks(&s.spec(false), &tables()).unwrap();
        let read = find(&root, "read tables");
        assert_eq!(
            (read.status, read.detail.as_str()),
            (CheckStatus::Pass, "all 2 tables readable")
        );
        let rights = find(&root, "replication rights");
        assert_eq!(rights.status, CheckStatus::Pass, "{}", rights.detail);
        let (log_bin, format, image): (String, String, String) = admin()
            .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")
            .unwrap()
            .unwrap();
        let binlog = find(&root, "binary log");
        let ready = log_bin == "1" && format == "ROW" && image == "FULL";
        assert_eq!(
            binlog.status,
            if ready {
                CheckStatus::Pass
            } else {
                CheckStatus::Warn
            },
            "{}",
            binlog.detail
        );
        if log_bin != "1" {
            assert!(
                binlog.detail.contains("log_bin is OFF"),
                "{}",
                binlog.detail
            );
        }
        if format != "ROW" {
            assert!(
                binlog
                    .detail
                    .contains(&format!("binlog_format is {format}")),
                "{}",
                binlog.detail
            );
        }
    }

    #[test]
    fn a_table_gone_since_the_plan_fails_the_read_check() {
        let s = Scratch::new();
        let checks = source_checks(&s.spec(false), &["never_made".to_string()]).unwrap();
        let read = find(&checks, "read tables");
        assert_eq!(read.status, CheckStatus::Fail);
        assert!(
            read.detail.contains("never_made no longer exist"),
            "{}",
            read.detail
        );
    }

    #[test]
    fn an_open_transaction_is_named_with_its_thread() {
        let s = Scratch::new();
        let mut holder = admin();
        holder
            .query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            .unwrap();
        let thread: u64 = holder
            .query_first("SELECT CONNECTION_ID()")
            .unwrap()
            .unwrap();

        // InnoDB refreshes what INNODB_TRX shows at most every 0.1 s: a test reading
        // it at the same moment may leave it without this transaction for a while.
        let named = format!("(thread {thread}, root, idle) open ");
        let mut found = Vec::new();
        for _ in 0..20 {
            found = checks(&s.spec(false), &tables(), Duration::ZERO).unwrap();
            if find(&found, "long transactions").detail.contains(&named) {
                break;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        let long = find(&found, "long transactions");
        assert_eq!(long.status, CheckStatus::Warn, "{}", long.detail);
        assert!(long.detail.contains(&named), "{}", long.detail);
        assert!(long.detail.contains("purging"), "{}", long.detail);

        // Moments old: not long by the plan's measure.
        let found = source_checks(&s.spec(false), &tables()).unwrap();
        let long = find(&found, "long transactions");
        assert!(
            !long.detail.contains(&format!("thread {thread},")),
            "{}",
            long.detail
        );
        holder.query_drop("ROLLBACK").unwrap();
    }

    #[test]
    fn only_a_global_replication_slave_grant_counts() {
        assert!(grants_replication_slave(
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"
        ));
        assert!(grants_replication_slave(
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD 'x'"
        ));
        assert!(grants_replication_slave(
            "GRANT SELECT,REPLICATION REPLICA ON *.* TO `u`@`%`"
        ));
        assert!(!grants_replication_slave(
            "GRANT REPLICATION SLAVE ADMIN ON *.* TO `u`@`%`"
        ));
        assert!(!grants_replication_slave(
            "GRANT ALL PRIVILEGES ON `db`.* TO `u`@`%`"
        ));
        assert!(!grants_replication_slave("GRANT `replicator` TO `u`@`%`"));
        assert_eq!(account("app@%"), "'app'@'%'");
        assert_eq!(account("o'neil@10.0.0.1"), "'o''neil'@'10.0.0.1'");
        assert_eq!(statement_start("SELECT\n  1"), "`SELECT 1`");
    }
}
