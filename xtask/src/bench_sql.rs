//! `cargo xtask bench --source sql`: SQL on a migrated store (`lightning serve`)
//! against the source PostgreSQL and DuckDB over the same rows, on pgbench data:
//! a primary-key point lookup (p50, p99), a whole-table aggregate and a join,
//! measured in one run, interleaved, medians.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::bench_pg::{base_url, psql};
use crate::services;
use crate::util::{self, cargo, section};

const DB: &str = "lightning_bench_pgbench";
const BENCH_PACKAGES: &[&str] = &["psycopg[binary]==3.3.9", "duckdb==2.0.1"];

/// pgbench's tables at `scale` (100,000 accounts per unit), made when missing.
pub(crate) fn prepare(scale: u32) -> Result<u64> {
    let want = u64::from(scale) * 100_000;
    let have = psql(DB, "SELECT count(*) FROM pgbench_accounts")
        .ok()
        .and_then(|n| n.parse::<u64>().ok());
    if have == Some(want) {
        eprintln!("reusing database {DB} ({want} accounts)");
        return Ok(want);
    }
    eprintln!("generating database {DB} with pgbench -i -s {scale} ...");
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
    )?;
    psql("postgres", &format!("CREATE DATABASE {DB}"))?;
    util::run(
        Command::new("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string()])
            .arg(format!("{}/{DB}", base_url())),
    )?;
    psql(DB, "VACUUM ANALYZE")?;
    Ok(want)
}

pub fn run(scale: u32, rounds: u32, lookups: u32) -> Result<()> {
    section("Building lightning and pg2lightning (release)");
    util::run(cargo().args([
        "build",
        "--release",
        "-p",
        "lightning-cli",
        "-p",
        "pg2lightning",
    ]))?;
    let release = util::target_dir().join("release");
    let bench_dir = util::target_dir().join("bench");
    std::fs::create_dir_all(&bench_dir)?;

    section("Source database and store");
    services::ensure_program("pgbench", "postgresql-client", "the SQL benchmark");
    let accounts = prepare(scale)?;
    let url = format!("{}/{DB}", base_url());
    let store = bench_dir.join("pgbench.ldb");
    let counted = Command::new(release.join("lightning"))
        .args(["count"])
        .arg(&store)
        .arg("pgbench_accounts")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if counted.as_deref() != Some(&accounts.to_string()) {
        util::remove_path(&store)?;
        util::run(
            Command::new(release.join("pg2lightning"))
                .args(["migrate", "--quiet", "--source", &url, "--target"])
                .arg(&store),
        )?;
    } else {
        eprintln!("reusing {} ({accounts} accounts)", store.display());
    }
    // DuckDB reads the same rows from CSV (loading is not measured).
    for table in ["pgbench_accounts", "pgbench_branches"] {
        let csv = bench_dir.join(format!("{table}.csv"));
        if !csv.exists() || counted.as_deref() != Some(&accounts.to_string()) {
            psql(
                DB,
                &format!(
                    "\\copy {table} TO '{}' WITH (FORMAT csv, HEADER)",
                    csv.display()
                ),
            )?;
        }
    }
    let python = services::python_with("sql-bench-venv", BENCH_PACKAGES)?;
    let size_before = util::disk_size(&store);
    // A write drops the column segments a reused store kept from an earlier run,
    // so the first query of this run builds them (and is timed doing so).
    util::run(
        Command::new(release.join("lightning"))
            .args(["query", "--format", "csv"])
            .arg(&store)
            .arg("UPDATE pgbench_accounts SET abalance = abalance WHERE aid = 1"),
    )?;

    section("lightning serve");
    let mut server = Command::new(release.join("lightning"))
        .args(["serve"])
        .arg(&store)
        .args(["--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("starting lightning serve")?;
    let mut line = String::new();
    BufReader::new(server.stderr.as_mut().expect("stderr")).read_line(&mut line)?;
    eprint!("{line}");
    let serve_url = line
        .split_whitespace()
        .find(|w| w.starts_with("postgresql://"))
        .map(str::to_string)
        .context("lightning serve did not say where it listens")?;

    section("Queries");
    let script = util::repo_root().join("xtask/bench/sql_bench.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([&url, &serve_url])
        .arg(&bench_dir)
        .args([rounds.to_string(), lookups.to_string()])
        .stderr(Stdio::inherit())
        .output();
    let _ = server.kill();
    let _ = server.wait();
    let out = out.context("running the benchmark script")?;
    if !out.status.success() {
        bail!("the benchmark script failed");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut result: serde_json::Value =
        serde_json::from_str(text.trim()).context("reading the benchmark's results")?;
    result["store_bytes"] = serde_json::json!({
        "before_queries": size_before,
        "after_queries": util::disk_size(&store),
    });
    report(&result, &bench_dir.join("sql.json"))
}

fn report(r: &serde_json::Value, path: &Path) -> Result<()> {
    let cases = &r["cases"];
    eprintln!(
        "\npgbench_accounts: {} rows; medians of {} interleaved rounds; {} point lookups",
        r["accounts"], r["rounds"], r["lookups"]
    );
    eprintln!(
        "{:<14} {:>12} {:>12} {:>12} {:>10} {:>10}  agree",
        "case", "lightning", "postgres", "duckdb", "vs pg", "vs duckdb"
    );
    for name in ["aggregate", "join"] {
        let first = &cases[name]["first"];
        eprintln!(
            "{:<14} {:>11.3}s {:>11.3}s {:>11.3}s  (first round; lightning builds its column segments)",
            format!("{name}, first"),
            first["lightning"].as_f64().unwrap_or(f64::NAN),
            first["postgres"].as_f64().unwrap_or(f64::NAN),
            first["duckdb"].as_f64().unwrap_or(f64::NAN),
        );
        let s = &cases[name]["seconds"];
        let (l, p, d) = (
            s["lightning"].as_f64().unwrap_or(f64::NAN),
            s["postgres"].as_f64().unwrap_or(f64::NAN),
            s["duckdb"].as_f64().unwrap_or(f64::NAN),
        );
        eprintln!(
            "{name:<14} {:>11.3}s {:>11.3}s {:>11.3}s {:>9.2}x {:>9.2}x  {}",
            l,
            p,
            d,
            l / p,
            l / d,
            cases[name]["agree"]
        );
    }
    let lat = &cases["point_lookup"]["latency"];
    for q in ["p50_ms", "p99_ms"] {
        let (l, p, d) = (
            lat["lightning"][q].as_f64().unwrap_or(f64::NAN),
            lat["postgres"][q].as_f64().unwrap_or(f64::NAN),
            lat["duckdb"][q].as_f64().unwrap_or(f64::NAN),
        );
        eprintln!(
            "{:<14} {:>10.3}ms {:>10.3}ms {:>10.3}ms {:>9.2}x {:>9.2}x  {}",
            format!("lookup {}", &q[..3]),
            l,
            p,
            d,
            l / p,
            l / d,
            cases["point_lookup"]["agree"]
        );
    }
    let mb = |k: &str| r["store_bytes"][k].as_f64().unwrap_or(f64::NAN) / 1e6;
    eprintln!(
        "store: {:.0} MB before the queries, {:.0} MB after (column segments)",
        mb("before_queries"),
        mb("after_queries")
    );
    std::fs::write(path, serde_json::to_string_pretty(r)?)?;
    eprintln!("results: {}", path.display());
    Ok(())
}
