//! `cargo xtask bench --source pgbench`: `pgbench_accounts` as `pgbench -i -s N`
//! makes it (100,000 rows per unit) in PostgreSQL, and the same rows in MariaDB and
//! in a SQLite file. For each source, the tool's `migrate` and `verify` of that
//! table against the source's own dump tool writing it to /dev/null, in
//! interleaved rounds (reference, migrate, verify, reference, ...), medians; for
//! PostgreSQL also the peer a user would reach for (dlt with connectorx into
//! DuckDB) in the same rounds; and `pg2lightning migrate --from-dump` of a plain
//! `pg_dump` of it, in MB/s.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Result};
use serde_json::json;

use crate::bench::{mb, measure_into, round, Series};
use crate::bench_estimate::{self, Comparison};
use crate::bench_mariadb::{mariadb, CLIENT_ARGS};
use crate::bench_pg::base_url;
use crate::services;
use crate::util::{self, cargo, section};

const DB: &str = "lightning_bench_pgbench";
const TABLE: &str = "pgbench_accounts";
/// The `pg_dump` file case in the estimate table.
const DUMP_LABEL: &str = "pg_dump file";
/// The peer a user would reach for: dlt reading with connectorx into DuckDB.
const DLT_PACKAGES: &[&str] = &[
    "dlt==1.31.0",
    "duckdb==2.0.1",
    "connectorx==0.4.6",
    "SQLAlchemy==2.1.9",
    "pyarrow==26.0.1",
    "pandas==3.1.1",
    "psycopg[binary]==3.3.9",
];
const DLT_SCRIPT: &str = r#"
import sys, dlt
from dlt.sources.sql_database import sql_table
url, table, db = sys.argv[1:4]
source = sql_table(credentials=url, table=table, backend="connectorx", chunk_size=100000)
pipeline = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(db),
                        dataset_name="bench", pipelines_dir=db + ".pipelines")
pipeline.run(source, write_disposition="replace")
"#;

/// One source: its reference and the tool's two steps, measured per round, and
/// for PostgreSQL the peer's load of the same table.
struct Case {
    label: &'static str,
    reference: Series,
    migrate: Series,
    verify: Series,
    peer: Option<Series>,
    /// `assess`'s estimate against the migrate rounds.
    estimate: Option<Comparison>,
}

/// `estimate`: run each tool's `assess` once before its rounds and compare its
/// estimate with the migrate's median time and the store's size after the last one.
pub fn run(
    scale: u32,
    rounds: u32,
    parallel: Option<u32>,
    keep: bool,
    estimate: bool,
) -> Result<()> {
    section("Building pg2lightning, mysql2lightning and sqlite2lightning (release)");
    util::run(cargo().args([
        "build",
        "--release",
        "-p",
        "pg2lightning",
        "-p",
        "mysql2lightning",
        "-p",
        "sqlite2lightning",
    ]))?;
    let release = util::target_dir().join("release");
    let bench_dir = util::target_dir().join("bench");
    fs::create_dir_all(&bench_dir)?;

    section("Source databases");
    services::ensure_program("pgbench", "postgresql-client", "the pgbench benchmark");
    let rows = crate::bench_sql::prepare(scale)?;
    prepare_mariadb(rows)?;
    let sqlite = bench_dir.join("pgbench.sqlite");
    prepare_sqlite(&sqlite, rows)?;
    let dlt_python = services::python_with("bench-dlt-venv", DLT_PACKAGES)?;
    let dlt_script = bench_dir.join("dlt_load.py");
    fs::write(&dlt_script, DLT_SCRIPT)?;
    let dlt_db = bench_dir.join("pgbench-dlt.duckdb");
    let pg_url = format!("{}/{DB}", base_url());
    let my_url = format!("mysql://root@127.0.0.1:3306/{DB}");

    let tool = |name: &str, verb: &str, source: &dyn AsRef<std::ffi::OsStr>, store: &Path| {
        let mut cmd = Command::new(release.join(name));
        cmd.arg(verb);
        if verb == "migrate" {
            cmd.args(["--quiet", "--fresh"]);
            if let Some(n) = parallel {
                cmd.arg("--parallel").arg(n.to_string());
            }
        }
        cmd.arg("--source")
            .arg(source)
            .arg("--target")
            .arg(store)
            .args(["--tables", TABLE]);
        cmd
    };
    // Before a source's rounds, not timed: what `assess` says its migrate will take,
    // with the same source, table and parallelism.
    let assess = |name: &str, source: &dyn AsRef<std::ffi::OsStr>, store: &Path| {
        let mut cmd = bench_estimate::command(&release.join(name));
        cmd.arg("--source")
            .arg(source)
            .arg("--target")
            .arg(store)
            .args(["--tables", TABLE]);
        if let Some(n) = parallel {
            cmd.arg("--parallel").arg(n.to_string());
        }
        cmd
    };
    let mut cases = Vec::new();
    for (label, name, source, slug) in [
        ("PostgreSQL", "pg2lightning", pg_url.clone(), "postgres"),
        ("MariaDB", "mysql2lightning", my_url, "mariadb"),
        (
            "SQLite",
            "sqlite2lightning",
            sqlite.display().to_string(),
            "sqlite",
        ),
    ] {
        let store = bench_dir.join(format!("pgbench-{slug}.ldb"));
        let mut case = Case {
            label,
            reference: Series::new(reference_name(label)),
            migrate: Series::new(format!("{name} migrate")),
            verify: Series::new(format!("{name} verify")),
            peer: (label == "PostgreSQL").then(|| Series::new("dlt (connectorx) into DuckDB")),
            estimate: None,
        };
        let assessed = if estimate {
            section(&format!("{label}: {name} assess (the estimate; not timed)"));
            util::remove_path(&store)?;
            Some(bench_estimate::run(
                &format!("{name} assess"),
                &mut assess(name, &source, &store),
                &bench_dir,
            ))
        } else {
            None
        };
        let mut store_bytes = 0;
        for round in 1..=rounds {
            section(&format!("{label}, round {round} of {rounds}"));
            let mut reference = reference_command(label, &pg_url, &sqlite);
            measure_into(
                &mut case.reference,
                reference.stdout(Stdio::null()),
                &bench_dir,
            )?;
            measure_into(
                &mut case.migrate,
                &mut tool(name, "migrate", &source, &store),
                &bench_dir,
            )?;
            store_bytes = util::disk_size(&store);
            measure_into(
                &mut case.verify,
                &mut tool(name, "verify", &source, &store),
                &bench_dir,
            )?;
            if let Some(peer) = &mut case.peer {
                util::remove_path(&dlt_db)?;
                util::remove_path(&bench_dir.join("pgbench-dlt.duckdb.pipelines"))?;
                let mut cmd = Command::new(&dlt_python);
                cmd.arg(&dlt_script).arg(&pg_url).arg(TABLE).arg(&dlt_db);
                measure_into(peer, &mut cmd, &bench_dir)?;
            }
        }
        case.estimate =
            assessed.map(|a| Comparison::new(label, a, case.migrate.median(), store_bytes));
        if !keep {
            util::remove_path(&store)?;
        }
        cases.push(case);
    }

    section("pg2lightning migrate --from-dump");
    let dump = bench_dir.join("pgbench.sql");
    util::run(
        Command::new("pg_dump")
            .args(["-t", TABLE, "-f"])
            .arg(&dump)
            .arg(&pg_url),
    )?;
    let dump_bytes = fs::metadata(&dump)?.len();
    let dump_store = bench_dir.join("pgbench-dump.ldb");
    let dump_assessed = if estimate {
        section("pg2lightning assess --from-dump (the estimate; not timed)");
        util::remove_path(&dump_store)?;
        let mut cmd = bench_estimate::command(&release.join("pg2lightning"));
        cmd.arg("--from-dump")
            .arg(&dump)
            .arg("--target")
            .arg(&dump_store);
        if let Some(n) = parallel {
            cmd.arg("--parallel").arg(n.to_string());
        }
        Some(bench_estimate::run(
            "pg2lightning assess --from-dump",
            &mut cmd,
            &bench_dir,
        ))
    } else {
        None
    };
    let mut from_dump = Series::new("pg2lightning migrate --from-dump");
    let mut dump_store_bytes = 0;
    for _ in 0..rounds {
        let mut cmd = Command::new(release.join("pg2lightning"));
        cmd.args(["migrate", "--quiet", "--fresh", "--from-dump"])
            .arg(&dump)
            .arg("--target")
            .arg(&dump_store);
        if let Some(n) = parallel {
            cmd.arg("--parallel").arg(n.to_string());
        }
        measure_into(&mut from_dump, &mut cmd, &bench_dir)?;
        dump_store_bytes = util::disk_size(&dump_store);
    }
    let dump_estimate =
        dump_assessed.map(|a| Comparison::new(DUMP_LABEL, a, from_dump.median(), dump_store_bytes));
    if !keep {
        util::remove_path(&dump_store)?;
        util::remove_path(&dump)?;
        util::remove_path(&dlt_db)?;
        util::remove_path(&bench_dir.join("pgbench-dlt.duckdb.pipelines"))?;
    }

    let comparisons: Vec<Comparison> = cases
        .iter()
        .filter_map(|c| c.estimate.clone())
        .chain(dump_estimate.clone())
        .collect();
    println!(
        "{}{}",
        markdown(&cases, &from_dump, rows, rounds, dump_bytes),
        bench_estimate::markdown(&comparisons)
    );
    let mut from_dump_json = from_dump.json("rows", rows, Some(dump_bytes), from_dump.median());
    from_dump_json["estimate"] = json!(dump_estimate.as_ref().map(Comparison::json));
    let results = json!({
        "table": TABLE,
        "rows": rows,
        "rounds": rounds,
        "sources": cases.iter().map(|c| {
            let r = c.reference.median();
            json!({
                "source": c.label,
                "reference": c.reference.json("rows", rows, None, r),
                "migrate": c.migrate.json("rows", rows, None, r),
                "verify": c.verify.json("rows", rows, None, r),
                "peer": c.peer.as_ref().map(|p| p.json("rows", rows, None, r)),
                "migrate_vs_peer": c.peer.as_ref().map(|p| round(c.migrate.median() / p.median(), 2)),
                "estimate": c.estimate.as_ref().map(Comparison::json),
            })
        }).collect::<Vec<_>>(),
        "from_dump": from_dump_json,
        "dump_bytes": dump_bytes,
    });
    let path = bench_dir.join("pgbench.json");
    fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
    eprintln!("results written to {}", path.display());
    Ok(())
}

fn reference_name(label: &str) -> String {
    match label {
        "PostgreSQL" => format!("pg_dump --data-only -t {TABLE}"),
        "MariaDB" => format!("mariadb-dump --quick {DB} {TABLE}"),
        _ => format!("sqlite3 .dump {TABLE}"),
    }
}

/// The source's dump tool writing the table to stdout.
fn reference_command(label: &str, pg_url: &str, sqlite: &Path) -> Command {
    match label {
        "PostgreSQL" => {
            let mut cmd = Command::new("pg_dump");
            cmd.args(["--data-only", "-t", TABLE]).arg(pg_url);
            cmd
        }
        "MariaDB" => {
            let mut cmd = Command::new("mariadb-dump");
            cmd.args(CLIENT_ARGS).args(["--quick", DB, TABLE]);
            cmd
        }
        _ => {
            let mut cmd = Command::new("sqlite3");
            cmd.arg(sqlite).arg(format!(".dump {TABLE}"));
            cmd
        }
    }
}

/// The same rows as pgbench's: `aid` 1..N, 100,000 per branch, balance 0, blank filler.
fn prepare_mariadb(rows: u64) -> Result<()> {
    let have = mariadb(Some(DB), &format!("SELECT count(*) FROM {TABLE}"))
        .ok()
        .and_then(|n| n.parse::<u64>().ok());
    if have == Some(rows) {
        eprintln!("reusing MariaDB database {DB} ({rows} rows)");
        return Ok(());
    }
    eprintln!("loading {rows} rows into MariaDB database {DB} ...");
    mariadb(
        None,
        &format!("DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}"),
    )?;
    mariadb(
        Some(DB),
        &format!(
            "CREATE TABLE {TABLE} (aid INT NOT NULL PRIMARY KEY, bid INT, abalance INT, filler CHAR(84));
             INSERT INTO {TABLE} SELECT seq, (seq - 1) DIV 100000 + 1, 0, '' FROM seq_1_to_{rows};"
        ),
    )?;
    Ok(())
}

fn prepare_sqlite(path: &Path, rows: u64) -> Result<()> {
    if path.exists() {
        let conn = rusqlite::Connection::open(path)?;
        let have: Option<i64> = conn
            .query_row(&format!("SELECT count(*) FROM {TABLE}"), [], |r| r.get(0))
            .ok();
        if have == Some(rows as i64) {
            eprintln!("reusing {} ({rows} rows)", path.display());
            return Ok(());
        }
    }
    util::remove_path(path)?;
    eprintln!("writing {rows} rows to {} ...", path.display());
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(&format!(
        "CREATE TABLE {TABLE} (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler CHARACTER(84));
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {rows})
           INSERT INTO {TABLE} SELECT x, (x - 1) / 100000 + 1, 0, printf('%84s', '') FROM s;"
    ))?;
    if !services::ensure_sqlite3() {
        bail!("the sqlite3 shell is needed for the SQLite reference");
    }
    Ok(())
}

fn markdown(cases: &[Case], from_dump: &Series, rows: u64, rounds: u32, dump_bytes: u64) -> String {
    let mut md = format!(
        "\n{TABLE}: {rows} rows; medians of {rounds} interleaved rounds\n\n\
         | source | step | time (s) | rounds (s) | rows/s | time vs dump tool | peak RSS (MB) |\n\
         |---|---|---:|---:|---:|---:|---:|\n"
    );
    for c in cases {
        let r = c.reference.median();
        for s in [&c.reference, &c.migrate, &c.verify]
            .into_iter()
            .chain(c.peer.as_ref())
        {
            let secs = s.median();
            md.push_str(&format!(
                "| {} | {} | {:.2} | {} | {:.0} | **{:.2}** | {:.1} |\n",
                c.label,
                s.name,
                secs,
                s.runs_shown(),
                rows as f64 / secs,
                secs / r,
                s.peak_mb()
            ));
        }
    }
    for c in cases {
        if let Some(p) = &c.peer {
            md.push_str(&format!(
                "\n{} migrate / {}: **{:.2}** (peak memory {:.1} MB against {:.1} MB)\n",
                c.label,
                p.name,
                c.migrate.median() / p.median(),
                c.migrate.peak_mb(),
                p.peak_mb()
            ));
        }
    }
    let secs = from_dump.median();
    md.push_str(&format!(
        "\npg2lightning migrate --from-dump ({:.1} MB plain dump): {:.2} s ({}), **{:.1} MB/s**, peak {:.1} MB\n",
        mb(dump_bytes),
        secs,
        from_dump.runs_shown(),
        round(mb(dump_bytes) / secs, 1),
        from_dump.peak_mb()
    ));
    md
}
