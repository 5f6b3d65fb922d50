//! `cargo xtask bench --source sync-mariadb`: `mysql2lightning sync` after a
//! pgbench-like write load on MariaDB (pgbench's TPC-B transaction, written as SQL
//! scripts that `mariadb` clients run side by side): the time one `sync
//! --until-caught-up` takes to apply it, against the time the server took to
//! commit it.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::bench_mariadb::{mariadb, CLIENT_ARGS};
use crate::util::{self, cargo, section};

const DB: &str = "lightning_bench_sync";

pub fn run(scale: u32, transactions: u32, clients: u32) -> Result<()> {
    section("Building mysql2lightning (release)");
    util::run(cargo().args(["build", "--release", "-p", "mysql2lightning"]))?;
    let tool = util::target_dir().join("release").join("mysql2lightning");
    let bench_dir = util::target_dir().join("bench");
    std::fs::create_dir_all(&bench_dir)?;
    if mariadb(None, "SELECT @@log_bin, @@binlog_format")? != "1\tROW" {
        bail!("the sync benchmark needs MariaDB's binary log in ROW format (`cargo xtask test` turns it on)");
    }

    section("Source database (pgbench's tables) and a copy made ready for sync");
    let accounts = u64::from(scale) * 100_000;
    mariadb(None, &format!("DROP DATABASE IF EXISTS {DB}"))?;
    mariadb(None, &format!("CREATE DATABASE {DB}"))?;
    mariadb(
        Some(DB),
        &format!(
            "CREATE TABLE pgbench_branches (bid INT PRIMARY KEY, bbalance INT, filler CHAR(88));
             CREATE TABLE pgbench_tellers (tid INT PRIMARY KEY, bid INT, tbalance INT, filler CHAR(84));
             CREATE TABLE pgbench_accounts (aid INT PRIMARY KEY, bid INT, abalance INT, filler CHAR(84));
             CREATE TABLE pgbench_history (tid INT, bid INT, aid INT, delta INT, mtime DATETIME, filler CHAR(22));
             INSERT INTO pgbench_branches SELECT seq, 0, NULL FROM seq_1_to_{scale};
             INSERT INTO pgbench_tellers SELECT seq, 1 + (seq - 1) DIV 10, 0, NULL FROM seq_1_to_{};
             INSERT INTO pgbench_accounts SELECT seq, 1 + (seq - 1) DIV 100000, 0, '' FROM seq_1_to_{accounts};",
            scale * 10
        ),
    )?;
    let url = format!("mysql://root@127.0.0.1:3306/{DB}");
    let store = bench_dir.join("sync-mariadb.ldb");
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
        "--exclude",
        "pgbench_history",
    ]))?;

    section("Writes: pgbench's transaction from each client, side by side");
    let scripts: Vec<_> = (0..clients)
        .map(|c| {
            let path = bench_dir.join(format!("sync-mariadb-load-{c}.sql"));
            std::fs::write(&path, load_script(c, transactions, scale)).map(|()| path)
        })
        .collect::<std::io::Result<_>>()?;
    let began = Instant::now();
    let mut running = Vec::new();
    for path in &scripts {
        running.push(
            Command::new("mariadb")
                .args(CLIENT_ARGS)
                .arg(DB)
                .stdin(std::fs::File::open(path)?)
                .stdout(Stdio::null())
                .spawn()
                .context("starting a mariadb client")?,
        );
    }
    for mut child in running {
        let status = child.wait()?;
        if !status.success() {
            bail!("a load client failed ({status})");
        }
    }
    let load_secs = began.elapsed().as_secs_f64();
    let load_txns = u64::from(transactions) * u64::from(clients);

    section("Catching up: one sync --until-caught-up");
    let caught = crate::bench_sync::catch_up(&tool, &url, &target, "sync-mariadb-until-caught-up")?;
    let (applied_txns, applied_changes, sync_secs, rss) = (
        caught.transactions,
        caught.changes,
        caught.seconds,
        caught.peak_rss_mb,
    );
    if applied_txns != load_txns {
        bail!("sync applied {applied_txns} transactions; the clients committed {load_txns}");
    }
    util::run(Command::new(&tool).args([
        "verify",
        "--source",
        &url,
        "--target",
        &target,
        "--exclude",
        "pgbench_history",
    ]))?;

    let md = format!(
        "\nMariaDB, pgbench's tables at scale {scale}, {clients} clients x {transactions} \
         transactions of pgbench's TPC-B script (pgbench_history left out: it has no key)\n\n\
         | measure | value |\n|---|---:|\n\
         | clients: transactions committed | {load_txns} in {load_secs:.2} s ({:.0}/s) |\n\
         | sync --until-caught-up: applied | {applied_txns} transactions, {applied_changes} row changes in {sync_secs:.2} s ({:.0} changes/s) |\n\
         | catch-up time / write time | {:.2} |\n\
         | sync peak RSS | {rss:.1} MB |\n",
        load_txns as f64 / load_secs,
        applied_changes as f64 / sync_secs,
        sync_secs / load_secs,
    );
    eprintln!("{md}");
    let json = serde_json::json!({
        "scale": scale, "clients": clients, "transactions_per_client": transactions,
        "load": {"transactions": load_txns, "seconds": load_secs},
        "catch_up": {"transactions": applied_txns, "changes": applied_changes,
                      "seconds": sync_secs, "ratio": sync_secs / load_secs,
                      "peak_rss_mb": rss},
    });
    let path = bench_dir.join("sync-mariadb.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
    eprintln!("results: {}", path.display());
    Ok(())
}

/// pgbench's TPC-B transaction `n` times, with values from a fixed sequence.
fn load_script(client: u32, n: u32, scale: u32) -> String {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ u64::from(client);
    let mut next = |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    let mut s = String::with_capacity(n as usize * 400);
    for _ in 0..n {
        let aid = 1 + next(u64::from(scale) * 100_000);
        let tid = 1 + next(u64::from(scale) * 10);
        let bid = 1 + next(u64::from(scale));
        // Never 0: an update that changes nothing is not in the binlog.
        let d = next(10_000) as i64 - 5000;
        let delta = if d >= 0 { d + 1 } else { d };
        s.push_str(&format!(
            "START TRANSACTION;\n\
             UPDATE pgbench_accounts SET abalance = abalance + {delta} WHERE aid = {aid};\n\
             SELECT abalance FROM pgbench_accounts WHERE aid = {aid};\n\
             UPDATE pgbench_tellers SET tbalance = tbalance + {delta} WHERE tid = {tid};\n\
             UPDATE pgbench_branches SET bbalance = bbalance + {delta} WHERE bid = {bid};\n\
             INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({tid}, {bid}, {aid}, {delta}, NOW());\n\
             COMMIT;\n"
        ));
    }
    s
}
