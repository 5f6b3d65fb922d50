//! `cargo xtask bench --source sync`: `pg2lightning sync` under pgbench's write load.
//! Two measures, in one run:
//!
//! - catching up: pgbench writes for a while with sync stopped, then one `sync
//!   --until-caught-up` applies it all; its time against pgbench's (below 1.0, sync
//!   applies faster than the server took to commit);
//! - following: sync follows while pgbench writes; the slot's lag (WAL bytes the
//!   server holds past what sync confirmed) is sampled every half second, and the
//!   time sync needs to catch up once pgbench stops.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::bench::{mb, measure_checked, median, rss_bytes};
use crate::bench_pg::{base_url, psql};
use crate::services;
use crate::util::{self, cargo, section};

const DB: &str = "lightning_bench_sync";
const SLOT: &str = "lightning_bench_sync";

pub fn run(scale: u32, seconds: u32, clients: u32) -> Result<()> {
    section("Building pg2lightning (release)");
    util::run(cargo().args(["build", "--release", "-p", "pg2lightning"]))?;
    let tool = util::target_dir().join("release").join("pg2lightning");
    let bench_dir = util::target_dir().join("bench");
    std::fs::create_dir_all(&bench_dir)?;
    services::ensure_program("pgbench", "postgresql-client", "the sync benchmark");
    if psql("postgres", "SHOW wal_level")? != "logical" {
        bail!("the sync benchmark needs wal_level = logical (`cargo xtask test` sets it)");
    }

    section("Source database and a copy made ready for sync");
    psql(
        "postgres",
        &format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
             WHERE slot_name = '{SLOT}'"
        ),
    )?;
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
    )?;
    psql("postgres", &format!("CREATE DATABASE {DB}"))?;
    let url = format!("{}/{DB}", base_url());
    util::run(
        Command::new("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string()])
            .arg(&url),
    )?;
    let store = bench_dir.join("sync.ldb");
    util::remove_path(&store)?;
    let target = store.display().to_string();
    util::run(Command::new(&tool).args([
        "migrate",
        "--quiet",
        "--source",
        &url,
        "--target",
        &target,
        "--for-sync",
        "--slot",
        SLOT,
        "--exclude",
        "pgbench_history",
    ]))?;

    section("Catching up: pgbench writes, then one sync --until-caught-up");
    let (load_secs, load_txns) = pgbench(&url, seconds, clients)?;
    let caught = catch_up(&tool, &url, &target, "sync-until-caught-up")?;
    let (applied_txns, applied_changes, sync_secs, catch_up_rss) = (
        caught.transactions,
        caught.changes,
        caught.seconds,
        caught.peak_rss_mb,
    );
    if applied_txns < load_txns {
        bail!("sync applied {applied_txns} transactions; pgbench committed {load_txns}");
    }

    section("Following: sync follows while pgbench writes");
    let log = bench_dir.join("sync-follow.stderr.log");
    let mut follower = Command::new(&tool)
        .args([
            "sync",
            "--source",
            &url,
            "--target",
            &target,
            "--poll-interval-ms",
            "100",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("starting sync")?;
    let mut load = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-T",
            &seconds.to_string(),
            &url,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut lags = Vec::new();
    while load.try_wait()?.is_none() {
        lags.push(slot_lag()? as f64);
        if let Some(status) = follower.try_wait()? {
            bail!(
                "sync stopped while following ({status}): {}",
                util::tail(&log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let end = psql(DB, "SELECT pg_current_wal_lsn()")?;
    let stopped = Instant::now();
    while psql(
        "postgres",
        &format!(
            "SELECT confirmed_flush_lsn >= '{end}'::pg_lsn FROM pg_replication_slots \
             WHERE slot_name = '{SLOT}'"
        ),
    )? != "t"
    {
        if stopped.elapsed() > Duration::from_secs(600) {
            bail!("sync did not catch up within 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let drain = stopped.elapsed().as_secs_f64();
    stop(&mut follower)?;
    util::run(Command::new(&tool).args([
        "verify",
        "--source",
        &url,
        "--target",
        &target,
        "--exclude",
        "pgbench_history",
    ]))?;
    util::run(Command::new(&tool).args([
        "sync",
        "--source",
        &url,
        "--target",
        &target,
        "--drop-slot",
    ]))?;

    let lag_median = median(&lags);
    let lag_max = lags.iter().copied().fold(0.0, f64::max);
    let md = format!(
        "\npgbench scale {scale}, {clients} clients, {seconds} s of writes per phase \
         (pgbench_history left out: it has no key)\n\n\
         | measure | value |\n|---|---:|\n\
         | pgbench: transactions committed | {load_txns} in {load_secs:.2} s ({:.0}/s) |\n\
         | sync --until-caught-up: applied | {applied_txns} transactions, {applied_changes} row changes in {sync_secs:.2} s ({:.0} changes/s) |\n\
         | catch-up time / write time | {:.2} |\n\
         | sync peak RSS | {catch_up_rss:.1} MB |\n\
         | following: slot lag, median / max | {:.1} / {:.1} MB |\n\
         | following: time to catch up after the writes stop | {drain:.2} s |\n",
        load_txns as f64 / load_secs,
        applied_changes as f64 / sync_secs,
        sync_secs / load_secs,
        lag_median / 1e6,
        lag_max / 1e6,
    );
    eprintln!("{md}");
    let json = serde_json::json!({
        "scale": scale, "clients": clients, "seconds": seconds,
        "load": {"transactions": load_txns, "seconds": load_secs},
        "catch_up": {"transactions": applied_txns, "changes": applied_changes,
                      "seconds": sync_secs, "ratio": sync_secs / load_secs,
                      "peak_rss_mb": catch_up_rss},
        "follow": {"lag_bytes_median": lag_median, "lag_bytes_max": lag_max,
                   "drain_seconds": drain, "samples": lags.len()},
    });
    write_results(&bench_dir.join("sync.json"), &json)
}

/// What one `sync --until-caught-up` applied, and what it took.
pub struct CatchUp {
    pub transactions: u64,
    pub changes: u64,
    pub seconds: f64,
    pub peak_rss_mb: f64,
}

/// One `TOOL sync --until-caught-up --json`, measured as step `name`.
pub fn catch_up(tool: &Path, url: &str, target: &str, name: &str) -> Result<CatchUp> {
    let bench_dir = util::target_dir().join("bench");
    let step = measure_checked(
        name,
        Command::new(tool).args([
            "sync",
            "--source",
            url,
            "--target",
            target,
            "--until-caught-up",
            "--json",
            "--quiet",
        ]),
        &bench_dir,
    )?;
    let out = std::fs::read_to_string(bench_dir.join(format!("{name}.stdout.log")))?;
    let report: serde_json::Value =
        serde_json::from_str(out.trim()).context("reading sync's report")?;
    Ok(CatchUp {
        transactions: report["transactions"].as_u64().unwrap_or(0),
        changes: report["changes"].as_u64().unwrap_or(0),
        seconds: step.measured.wall.as_secs_f64(),
        peak_rss_mb: mb(rss_bytes(step.measured.max_rss_kib)),
    })
}

/// pgbench's default (TPC-B-like) script for `seconds`: its wall time and the
/// transactions it reports.
fn pgbench(url: &str, seconds: u32, clients: u32) -> Result<(f64, u64)> {
    let began = Instant::now();
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-T",
            &seconds.to_string(),
            url,
        ])
        .output()
        .context("running pgbench")?;
    let secs = began.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let txns = text
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|n| n.split('/').next())
        .and_then(|n| n.trim().parse().ok())
        .context("pgbench did not say how many transactions it ran")?;
    Ok((secs, txns))
}

/// WAL bytes the server holds past what sync confirmed.
fn slot_lag() -> Result<u64> {
    let v = psql(
        "postgres",
        &format!(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint \
             FROM pg_replication_slots WHERE slot_name = '{SLOT}'"
        ),
    )?;
    v.parse().with_context(|| format!("the slot's lag `{v}`"))
}

/// Stop a following sync as a user would (Ctrl-C), and wait for it.
fn stop(child: &mut std::process::Child) -> Result<()> {
    let ok = Command::new("kill")
        .args(["-s", "INT", &child.id().to_string()])
        .status()?
        .success();
    if !ok {
        bail!("could not interrupt sync");
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("sync ended with {status} after an interrupt");
    }
    Ok(())
}

fn write_results(path: &Path, json: &serde_json::Value) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(json)?)
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("results: {}", path.display());
    Ok(())
}
