//! `cargo xtask bench`: how fast `sqlite2lightning` migrates and verifies a large SQLite
//! database, against the reference measured in the same run on the same file: the
//! `sqlite3` shell's `.dump`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OpenFlags};
use serde_json::json;

use crate::bench_estimate::{self, Comparison};
use crate::services;
use crate::synth::{self, Rng};
use crate::util::{self, cargo, describe, section};

/// Which tool to measure.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchSource {
    /// sqlite2lightning against `sqlite3 .dump`
    Sqlite,
    /// pg2lightning against `pg_dump`
    Postgres,
    /// mysql2lightning against `mariadb-dump --quick`
    Mariadb,
    /// mongo2lightning, both MongoDB cases (live server and files)
    #[value(alias = "mongodb")]
    Mongo,
    /// mongo2lightning from the test server against draining a `find()` cursor
    MongoLive,
    /// mongo2lightning from mongoexport/mongodump files against parsing them
    MongoFiles,
    /// redis2lightning against `redis-cli --rdb` and `redis-cli --scan`, and from the RDB file
    Redis,
    /// SQL through `lightning serve` against PostgreSQL and DuckDB on pgbench data
    Sql,
    /// pgbench_accounts in PostgreSQL, MariaDB and SQLite: each tool against its dump tool
    Pgbench,
    /// pg2lightning sync under a pgbench write load: catch-up time and lag
    Sync,
    /// mysql2lightning sync after a pgbench-like write load on MariaDB: catch-up time
    SyncMariadb,
    /// Every case
    All,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The case to run
    #[arg(long, value_enum, default_value = "all")]
    source: BenchSource,
    /// SQLite case: total rows over the three generated tables (60% events, 20% users, 20% line_items)
    #[arg(long, default_value_t = 2_000_000)]
    rows: u64,
    /// PostgreSQL case: total rows (60% narrow, 30% wide, 10% UUID-keyed)
    #[arg(long, default_value_t = 5_000_000)]
    pg_rows: u64,
    /// MariaDB case: total rows (60% narrow, 30% wide, 10% UUID-keyed)
    #[arg(long, default_value_t = 5_000_000)]
    mariadb_rows: u64,
    /// MongoDB case: documents loaded into the test server (`lightning_bench.orders`)
    #[arg(long, default_value_t = 30_000)]
    mongo_docs: u64,
    /// MongoDB case: documents in the generated orders.json and orders.bson files
    #[arg(long, default_value_t = 150_000)]
    mongo_file_docs: u64,
    /// MongoDB case: interleaved rounds of each step and its reference (medians are reported)
    #[arg(long, default_value_t = 3)]
    mongo_rounds: u32,
    /// Redis case: keys loaded into the server (database 15, or REDIS2L_BENCH_URL's)
    #[arg(long, default_value_t = 2_000_000)]
    redis_keys: u64,
    /// Redis case: interleaved rounds of each step and its references (medians are reported)
    #[arg(long, default_value_t = 3)]
    redis_rounds: u32,
    /// pgbench case: pgbench scale (100,000 accounts per unit)
    #[arg(long, default_value_t = 50)]
    pgbench_scale: u32,
    /// pgbench case: interleaved rounds of each step and its reference (medians are reported)
    #[arg(long, default_value_t = 3)]
    pgbench_rounds: u32,
    /// SQL case: pgbench scale (100,000 accounts per unit)
    #[arg(long, default_value_t = 50)]
    sql_scale: u32,
    /// SQL case: interleaved rounds of each query (medians are reported)
    #[arg(long, default_value_t = 3)]
    sql_rounds: u32,
    /// SQL case: primary-key lookups timed per engine
    #[arg(long, default_value_t = 2000)]
    sql_lookups: u32,
    /// Sync case: pgbench scale (100,000 accounts per unit)
    #[arg(long, default_value_t = 10)]
    sync_scale: u32,
    /// Sync case: seconds of pgbench writes per phase
    #[arg(long, default_value_t = 20)]
    sync_seconds: u32,
    /// Sync case: pgbench clients
    #[arg(long, default_value_t = 4)]
    sync_clients: u32,
    /// MariaDB sync case: transactions each client commits
    #[arg(long, default_value_t = 10_000)]
    sync_mariadb_transactions: u32,
    /// Keep the migrated stores (target/bench/*.ldb) after the run
    #[arg(long)]
    keep: bool,
    /// Passed to every tool's `migrate --parallel` [default: the tools' own]
    #[arg(long)]
    parallel: Option<u32>,
    /// SQLite case: passed to `sqlite2lightning migrate --batch-size`
    #[arg(long)]
    batch_size: Option<u32>,
    /// Do not run each tool's `assess` before its migrate, nor compare its estimate
    /// (time, store size) with the measured migrate (SQLite, PostgreSQL, MariaDB,
    /// MongoDB, Redis and pgbench cases)
    #[arg(long)]
    no_estimate: bool,
}

/// Rows per table for a total.
struct Counts {
    events: u64,
    users: u64,
    line_items: u64,
}

impl Counts {
    fn for_total(total: u64) -> Self {
        let events = total * 60 / 100;
        let users = total * 20 / 100;
        Counts {
            events,
            users,
            line_items: total - events - users,
        }
    }

    fn total(&self) -> u64 {
        self.events + self.users + self.line_items
    }
}

/// What one measured child process did.
pub(crate) struct Measured {
    pub status: ExitStatus,
    pub wall: Duration,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: i64,
}

pub(crate) struct Step {
    pub name: String,
    pub command: String,
    pub measured: Measured,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if matches!(args.source, BenchSource::Sqlite | BenchSource::All) {
        run_sqlite(args)?;
    }
    if matches!(args.source, BenchSource::Postgres | BenchSource::All) {
        crate::bench_pg::run(args.pg_rows, args.keep, args.parallel, !args.no_estimate)?;
    }
    if matches!(args.source, BenchSource::Mariadb | BenchSource::All) {
        crate::bench_mariadb::run(
            args.mariadb_rows,
            args.keep,
            args.parallel,
            !args.no_estimate,
        )?;
    }
    let mongo_live = matches!(
        args.source,
        BenchSource::Mongo | BenchSource::MongoLive | BenchSource::All
    );
    let mongo_files = matches!(
        args.source,
        BenchSource::Mongo | BenchSource::MongoFiles | BenchSource::All
    );
    if mongo_live || mongo_files {
        crate::bench_mongo::MongoBench {
            live: mongo_live,
            files: mongo_files,
            docs: args.mongo_docs,
            file_docs: args.mongo_file_docs,
            rounds: args.mongo_rounds,
            keep: args.keep,
            parallel: args.parallel,
            estimate: !args.no_estimate,
        }
        .run()?;
    }
    if matches!(args.source, BenchSource::Redis | BenchSource::All) {
        crate::bench_redis::RedisBench {
            keys: args.redis_keys,
            rounds: args.redis_rounds,
            keep: args.keep,
            parallel: args.parallel,
            estimate: !args.no_estimate,
        }
        .run()?;
    }
    if matches!(args.source, BenchSource::Pgbench | BenchSource::All) {
        crate::bench_pgbench::run(
            args.pgbench_scale,
            args.pgbench_rounds,
            args.parallel,
            args.keep,
            !args.no_estimate,
        )?;
    }
    if matches!(args.source, BenchSource::Sql | BenchSource::All) {
        crate::bench_sql::run(args.sql_scale, args.sql_rounds, args.sql_lookups)?;
    }
    if matches!(args.source, BenchSource::Sync | BenchSource::All) {
        crate::bench_sync::run(args.sync_scale, args.sync_seconds, args.sync_clients)?;
    }
    if matches!(args.source, BenchSource::SyncMariadb | BenchSource::All) {
        crate::bench_sync_mariadb::run(
            args.sync_scale,
            args.sync_mariadb_transactions,
            args.sync_clients,
        )?;
    }
    Ok(())
}

fn run_sqlite(args: &BenchArgs) -> Result<()> {
    if args.rows < 10 {
        bail!("--rows must be at least 10");
    }
    // Paths relative to the workspace root (the children run there) read better in
    // the printed commands and in results.json.
    let root = util::repo_root();
    let target = util::target_dir();
    let target = target.strip_prefix(&root).unwrap_or(&target).to_path_buf();
    let bench_dir = root.join(&target).join("bench");
    let rel_bench = target.join("bench");
    fs::create_dir_all(&bench_dir)
        .with_context(|| format!("could not create {}", bench_dir.display()))?;
    let db = bench_dir.join("bench.sqlite");
    let store = bench_dir.join("bench.ldb");
    let migrate_bin = root.join(&target).join("release").join("sqlite2lightning");

    section("Building release binaries");
    util::run(cargo().args([
        "build",
        "--release",
        "-p",
        "sqlite2lightning",
        "-p",
        "lightning-cli",
    ]))?;

    section("Reference tool");
    if !services::ensure_sqlite3() {
        bail!("the sqlite3 command-line shell is needed for the reference measurement");
    }

    section("Source database");
    let counts = Counts::for_total(args.rows);
    prepare_database(&db, &counts)?;
    let db_bytes = fs::metadata(&db)?.len();
    let rows = counts.total();
    eprintln!(
        "{}: {rows} rows (events {}, users {}, line_items {}), {:.1} MB",
        db.display(),
        counts.events,
        counts.users,
        counts.line_items,
        mb(db_bytes)
    );

    // Every step reads the file from the page cache, whatever ran before.
    std::io::copy(&mut File::open(&db)?, &mut std::io::sink())?;

    let assessed = if args.no_estimate {
        None
    } else {
        section("sqlite2lightning assess (the estimate; not timed)");
        util::remove_path(&store)?;
        let mut assess = bench_estimate::command(&migrate_bin);
        assess
            .arg("--source")
            .arg(rel_bench.join("bench.sqlite"))
            .arg("--target")
            .arg(rel_bench.join("bench.ldb"));
        if let Some(n) = args.parallel {
            assess.arg("--parallel").arg(n.to_string());
        }
        Some(bench_estimate::run(
            "sqlite2lightning assess",
            &mut assess,
            &bench_dir,
        ))
    };

    section("sqlite2lightning migrate");
    util::remove_path(&store)?;
    let mut migrate = Command::new(&migrate_bin);
    migrate
        .arg("migrate")
        .arg("--source")
        .arg(rel_bench.join("bench.sqlite"))
        .arg("--target")
        .arg(rel_bench.join("bench.ldb"))
        .arg("--fresh");
    if let Some(n) = args.parallel {
        migrate.arg("--parallel").arg(n.to_string());
    }
    if let Some(n) = args.batch_size {
        migrate.arg("--batch-size").arg(n.to_string());
    }
    let migrate = measure_checked("migrate", &mut migrate, &bench_dir)?;
    let store_bytes = util::disk_size(&store);
    let estimate = assessed.map(|a| {
        Comparison::new(
            "SQLite (bench data)",
            a,
            migrate.measured.wall.as_secs_f64(),
            store_bytes,
        )
    });

    section("sqlite2lightning verify");
    let mut verify = Command::new(&migrate_bin);
    verify
        .arg("verify")
        .arg("--source")
        .arg(rel_bench.join("bench.sqlite"))
        .arg("--target")
        .arg(rel_bench.join("bench.ldb"));
    let verify = measure_checked("verify", &mut verify, &bench_dir)?;

    section("sqlite3 .dump (reference)");
    let mut dump = Command::new("sqlite3");
    dump.arg(rel_bench.join("bench.sqlite")).arg(".dump");
    let dump = Step {
        name: "sqlite3 .dump > /dev/null".into(),
        command: format!("{} > /dev/null", describe(&dump)),
        measured: measure(
            dump.stdout(Stdio::null()),
            &bench_dir.join("dump.stderr.log"),
        )?,
    };
    if !dump.measured.status.success() {
        eprintln!("{}", util::tail(&bench_dir.join("dump.stderr.log"), 50));
        bail!("`{}` failed ({})", dump.command, dump.measured.status);
    }

    if !args.keep {
        util::remove_path(&store)?;
    }

    let steps = [migrate, verify, dump];
    let dump_secs = steps[2].measured.wall.as_secs_f64();
    let ratio = steps[0].measured.wall.as_secs_f64() / dump_secs;

    println!(
        "{}{}",
        markdown(&steps, rows, db_bytes, store_bytes, ratio),
        bench_estimate::markdown(estimate.as_slice())
    );

    let results = json!({
        "rows": rows,
        "tables": {
            "events": counts.events,
            "users": counts.users,
            "line_items": counts.line_items,
        },
        "sqlite_file_bytes": db_bytes,
        "sqlite_file_mb": round(mb(db_bytes), 2),
        "store_bytes": store_bytes,
        "store_mb": round(mb(store_bytes), 2),
        "parallel": args.parallel,
        "batch_size": args.batch_size,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "steps": steps.iter().map(|step| {
            let secs = step.measured.wall.as_secs_f64();
            json!({
                "name": step.name,
                "command": step.command,
                "seconds": round(secs, 3),
                "rows_per_second": (rows as f64 / secs).round(),
                "peak_rss_kib": step.measured.max_rss_kib,
                "peak_rss_mb": round(mb(rss_bytes(step.measured.max_rss_kib)), 1),
                "time_vs_dump": round(secs / dump_secs, 2),
            })
        }).collect::<Vec<_>>(),
        "migrate_vs_dump_ratio": round(ratio, 2),
        "estimate": estimate.as_ref().map(Comparison::json),
    });
    let results_path = bench_dir.join("results.json");
    fs::write(
        &results_path,
        serde_json::to_string_pretty(&results)? + "\n",
    )
    .with_context(|| format!("could not write {}", results_path.display()))?;
    eprintln!("results written to {}", results_path.display());
    Ok(())
}

/// Runs a measured step; on failure prints its stderr and fails.
pub(crate) fn measure_checked(name: &str, cmd: &mut Command, bench_dir: &Path) -> Result<Step> {
    let stderr_log = bench_dir.join(format!("{name}.stderr.log"));
    let stdout_log = bench_dir.join(format!("{name}.stdout.log"));
    let command = describe(cmd);
    eprintln!("$ {command}");
    let stdout = File::create(&stdout_log)
        .with_context(|| format!("could not create {}", stdout_log.display()))?;
    let measured = measure(cmd.stdout(stdout), &stderr_log)
        .with_context(|| format!("could not run `{command}` (is the binary built?)"))?;
    if !measured.status.success() {
        eprintln!("--- stderr of {name} ---");
        eprintln!("{}", util::tail(&stderr_log, 200));
        eprintln!("---");
        let meaning = match measured.status.code() {
            Some(3) => " (the store differs from the source)",
            Some(2) => " (bad usage)",
            _ => "",
        };
        bail!("`{command}` failed ({}){meaning}", measured.status);
    }
    eprintln!(
        "{name}: {:.2} s, peak RSS {:.1} MB",
        measured.wall.as_secs_f64(),
        mb(rss_bytes(measured.max_rss_kib))
    );
    Ok(Step {
        name: name.into(),
        command,
        measured,
    })
}

/// Runs a child to completion with its stderr in a file, timing it and sampling
/// its peak resident set size (`VmHWM`, which the kernel keeps per process image,
/// so the parent's own memory does not leak into it as it does with `ru_maxrss`).
pub(crate) fn measure(cmd: &mut Command, stderr_log: &Path) -> Result<Measured> {
    let stderr = File::create(stderr_log)
        .with_context(|| format!("could not create {}", stderr_log.display()))?;
    cmd.current_dir(util::repo_root())
        .stdin(Stdio::null())
        .stderr(stderr);
    let began = Instant::now();
    let mut child = cmd.spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut max_rss_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                max_rss_kib = max_rss_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Measured {
        status,
        wall: began.elapsed(),
        max_rss_kib,
    })
}

fn markdown(steps: &[Step], rows: u64, db_bytes: u64, store_bytes: u64, ratio: f64) -> String {
    let dump_secs = steps
        .iter()
        .find(|s| s.name.starts_with("sqlite3"))
        .map(|s| s.measured.wall.as_secs_f64())
        .unwrap_or(f64::NAN);
    let mut out = String::new();
    out.push_str(&format!(
        "\n{rows} rows, SQLite file {:.1} MB, Lightning store {:.1} MB\n\n",
        mb(db_bytes),
        mb(store_bytes)
    ));
    out.push_str(
        "| step | rows | SQLite MB | time (s) | rows/s | time vs dump | peak RSS (MB) |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for step in steps {
        let secs = step.measured.wall.as_secs_f64();
        out.push_str(&format!(
            "| {} | {rows} | {:.1} | {secs:.2} | {:.0} | {:.2} | {:.1} |\n",
            step.name,
            mb(db_bytes),
            rows as f64 / secs,
            secs / dump_secs,
            mb(rss_bytes(step.measured.max_rss_kib)),
        ));
    }
    out.push_str(&format!("\nmigrate time / dump time: {ratio:.2}\n"));
    out
}

pub(crate) fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

pub(crate) fn rss_bytes(kib: i64) -> u64 {
    u64::try_from(kib).unwrap_or(0) * 1024
}

pub(crate) fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// Reuses `db` when it holds the expected row counts, otherwise generates it anew.
fn prepare_database(db: &Path, counts: &Counts) -> Result<()> {
    if db.exists() {
        match existing_counts(db) {
            Ok((events, users, line_items))
                if events == counts.events
                    && users == counts.users
                    && line_items == counts.line_items =>
            {
                eprintln!("reusing {}", db.display());
                return Ok(());
            }
            _ => eprintln!(
                "{} does not hold the expected rows: generating it again",
                db.display()
            ),
        }
    }
    let tmp = PathBuf::from(format!("{}.tmp", db.display()));
    util::remove_path(&tmp)?;
    util::remove_path(db)?;
    let began = Instant::now();
    generate(&tmp, counts).with_context(|| format!("could not generate {}", tmp.display()))?;
    fs::rename(&tmp, db)?;
    eprintln!(
        "generated {} in {:.1} s",
        db.display(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

fn existing_counts(db: &Path) -> Result<(u64, u64, u64)> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count = |table: &str| -> Result<u64> {
        Ok(
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get::<_, i64>(0)
            })? as u64,
        )
    };
    Ok((count("events")?, count("users")?, count("line_items")?))
}

const KINDS: &[&str] = &[
    "page_viewed_",
    "cart_updated",
    "checkout_ok_",
    "login_failed",
    "item_shipped",
    "refund_issue",
    "search_query",
    "signup_done_",
];

const PATHS: &[&str] = &[
    "/products/shoes",
    "/products/coffee-grinder",
    "/cart",
    "/checkout/payment",
    "/account/settings",
    "/search",
    "/blog/how-we-ship",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Linus", "Zoë", "José", "Mei", "Yuki", "Olu", "Søren", "Priya", "Liam",
    "Fatima", "Noah", "Élodie", "Kenji", "Anna",
];

const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Müller", "García", "Nakamura", "O'Brien", "Okafor", "Kowalski",
    "Andersen", "Dubois", "Singh", "Smith", "Rossi", "Novák",
];

fn generate(path: &Path, counts: &Counts) -> Result<()> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA cache_size = -262144;
         CREATE TABLE events (
             id INTEGER PRIMARY KEY,
             user_id INTEGER,
             kind TEXT,
             payload TEXT,
             created_at TEXT,
             amount NUMERIC
         );
         CREATE TABLE users (
             id TEXT PRIMARY KEY,
             email TEXT,
             name TEXT,
             balance REAL,
             active INTEGER,
             bio TEXT
         );
         CREATE TABLE line_items (
             order_id INTEGER,
             line_no INTEGER,
             sku TEXT,
             qty INTEGER,
             price NUMERIC,
             PRIMARY KEY (order_id, line_no)
         ) WITHOUT ROWID;",
    )?;
    let mut rng = Rng::new(0x11_6417_A1A6);
    let tx = conn.transaction()?;
    let total = counts.total();
    let mut done = 0u64;
    let mut next_report = total / 10;
    let mut progress = |done: u64| {
        if done >= next_report {
            eprintln!("  {:>3}%  {done} rows", done * 100 / total);
            next_report += total / 10;
        }
    };
    {
        let mut stmt = tx.prepare(
            "INSERT INTO events (id, user_id, kind, payload, created_at, amount)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut micros = synth::START_2023 * 1_000_000;
        let mut payload = String::with_capacity(256);
        for id in 1..=counts.events as i64 {
            micros += rng.range(1, 20_000_000);
            let user_id = rng.range(1, counts.users.max(1) as i64);
            let kind = *rng.pick(KINDS);
            payload.clear();
            payload.push_str(&format!(
                r#"{{"session":"{:016x}","path":"{}","referrer":"https://example.com/r/{}","ua":"Mozilla/5.0 (X11; Linux x86_64)","screen":[{},{}],"tags":["{}","{}"],"ms":{}}}"#,
                rng.next_u64(),
                rng.pick(PATHS),
                rng.below(100_000),
                rng.range(320, 3840),
                rng.range(240, 2160),
                rng.pick(synth::WORDS),
                rng.pick(synth::WORDS),
                rng.below(5_000),
            ));
            let amount = synth::cents(rng.range(0, 99_999));
            stmt.execute(params![
                id,
                user_id,
                kind,
                payload,
                synth::timestamp_micros(micros),
                amount
            ])?;
            done += 1;
            progress(done);
        }
    }
    {
        let mut stmt = tx.prepare(
            "INSERT INTO users (id, email, name, balance, active, bio)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for n in 0..counts.users {
            let first = *rng.pick(FIRST_NAMES);
            let last = *rng.pick(LAST_NAMES);
            let email = format!("user{n}.{}@example.org", rng.below(1_000));
            let balance = rng.range(-50_000, 5_000_000) as f64 / 100.0;
            let bio_len = rng.range(250, 350) as usize;
            stmt.execute(params![
                rng.uuid(),
                email,
                format!("{first} {last}"),
                balance,
                i64::from(rng.chance(80)),
                rng.sentence(bio_len)
            ])?;
            done += 1;
            progress(done);
        }
    }
    {
        let mut stmt = tx.prepare(
            "INSERT INTO line_items (order_id, line_no, sku, qty, price)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut written = 0u64;
        let mut order_id = 0i64;
        while written < counts.line_items {
            order_id += 1;
            let lines = (rng.range(1, 5) as u64).min(counts.line_items - written);
            for line_no in 1..=lines as i64 {
                stmt.execute(params![
                    order_id,
                    line_no,
                    format!("SKU-{:06}", rng.below(50_000)),
                    rng.range(1, 12),
                    synth::cents(rng.range(99, 49_999))
                ])?;
            }
            written += lines;
            done += lines;
            progress(done);
        }
    }
    tx.commit()?;
    conn.close().map_err(|(_, err)| err)?;
    Ok(())
}

/// One step measured once per round.
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) command: String,
    pub(crate) runs: Vec<Measured>,
}

impl Series {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Series {
            name: name.into(),
            command: String::new(),
            runs: Vec::new(),
        }
    }

    pub(crate) fn secs(&self) -> Vec<f64> {
        self.runs.iter().map(|m| m.wall.as_secs_f64()).collect()
    }

    pub(crate) fn median(&self) -> f64 {
        median(&self.secs())
    }

    /// The highest peak over the rounds, in MB.
    pub(crate) fn peak_mb(&self) -> f64 {
        let kib = self.runs.iter().map(|m| m.max_rss_kib).max().unwrap_or(0);
        mb(rss_bytes(kib))
    }

    /// Every round's time: `1.52 / 1.49 / 1.50`.
    pub(crate) fn runs_shown(&self) -> String {
        self.secs()
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The step's results; `unit` names what `count` counts (`documents`, `keys`).
    pub(crate) fn json(
        &self,
        unit: &str,
        count: u64,
        bytes: Option<u64>,
        reference: f64,
    ) -> serde_json::Value {
        let secs = self.median();
        json!({
            "name": self.name,
            "command": self.command,
            "seconds_median": round(secs, 3),
            "seconds": self.secs().iter().map(|s| round(*s, 3)).collect::<Vec<_>>(),
            format!("{unit}_per_second"): (count as f64 / secs).round(),
            "mb_per_second": bytes.map(|b| round(mb(b) / secs, 1)),
            "peak_rss_mb": round(self.peak_mb(), 1),
            "time_vs_reference": round(secs / reference, 2),
        })
    }
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

pub(crate) fn measure_into(series: &mut Series, cmd: &mut Command, bench_dir: &Path) -> Result<()> {
    let step = measure_checked(&series.name, cmd, bench_dir)?;
    series.command = step.command;
    series.runs.push(step.measured);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_rows_over_the_three_tables() {
        let counts = Counts::for_total(2_000_000);
        assert_eq!(
            (counts.events, counts.users, counts.line_items),
            (1_200_000, 400_000, 400_000)
        );
        assert_eq!(Counts::for_total(1_001).total(), 1_001);
    }

    #[test]
    fn renders_a_markdown_table() {
        let step = |name, secs| Step {
            name,
            command: String::new(),
            measured: Measured {
                status: std::os::unix::process::ExitStatusExt::from_raw(0),
                wall: Duration::from_secs_f64(secs),
                max_rss_kib: 102_400,
            },
        };
        let steps = [
            step("migrate".into(), 4.0),
            step("verify".into(), 3.0),
            step("sqlite3 .dump > /dev/null".into(), 2.0),
        ];
        let table = markdown(&steps, 2_000_000, 500_000_000, 300_000_000, 2.0);
        assert!(table.contains("| migrate | 2000000 | 500.0 | 4.00 | 500000 | 2.00 | 104.9 |"));
        assert!(table.contains("migrate time / dump time: 2.00"));
    }

    #[test]
    fn measures_exit_code_time_and_peak_memory() {
        let log = std::env::temp_dir().join(format!("xtask-measure-{}.log", std::process::id()));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo oops >&2; sleep 0.3; exit 3"]);
        let measured = measure(&mut cmd, &log).unwrap();
        assert_eq!(measured.status.code(), Some(3));
        assert!(measured.max_rss_kib > 0);
        assert_eq!(util::tail(&log, 1), "oops");
        let _ = fs::remove_file(&log);
    }

    #[test]
    fn generates_the_requested_rows_with_realistic_widths() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let db = dir.join("bench.sqlite");
        let counts = Counts::for_total(5_000);
        prepare_database(&db, &counts).unwrap();
        assert_eq!(existing_counts(&db).unwrap(), (3_000, 1_000, 1_000));
        let conn = Connection::open(&db).unwrap();
        let (payload, bio): (f64, f64) = conn
            .query_row(
                "SELECT (SELECT avg(length(payload)) FROM events),
                        (SELECT avg(length(bio)) FROM users)",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        drop(conn);
        fs::remove_dir_all(&dir).unwrap();
        assert!((170.0..=230.0).contains(&payload), "payload {payload}");
        assert!((250.0..=360.0).contains(&bio), "bio {bio}");
    }
}
