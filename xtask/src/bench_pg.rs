//! `cargo xtask bench --source postgres`: pg2lightning against `pg_dump` on the same
//! generated database, measured in one run.

use std::fs;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::bench::{mb, measure, measure_checked, round, rss_bytes, Step};
use crate::util::{self, cargo, describe, section};

const DB: &str = "lightning_bench";

fn base_url() -> String {
    std::env::var("PG2L_BENCH_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432".into())
}

fn psql(db: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(format!("{}/{db}", base_url()))
        .arg("-c")
        .arg(sql)
        .output()
        .context("psql runs")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Rows per table for a total: a narrow table, a wide one, one keyed by UUID.
fn counts(total: u64) -> [(&'static str, u64); 3] {
    let narrow = total * 60 / 100;
    let wide = total * 30 / 100;
    [
        ("narrow", narrow),
        ("wide", wide),
        ("uuid_keyed", total - narrow - wide),
    ]
}

fn prepare(total: u64) -> Result<()> {
    let exists = psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{DB}'"),
    )? == "1";
    let wanted = counts(total);
    if exists {
        let have = psql(DB, "SELECT coalesce((SELECT string_agg(t || '=' || n, ',' ORDER BY t) FROM bench_meta), '')")
            .unwrap_or_default();
        let want: Vec<String> = {
            let mut w: Vec<String> = wanted.iter().map(|(t, n)| format!("{t}={n}")).collect();
            w.sort();
            w
        };
        if have == want.join(",") {
            eprintln!("reusing database {DB} ({have})");
            return Ok(());
        }
        psql("postgres", &format!("DROP DATABASE {DB} WITH (FORCE)"))?;
    }
    eprintln!("generating database {DB} ...");
    psql("postgres", &format!("CREATE DATABASE {DB}"))?;
    let [(_, narrow), (_, wide), (_, uuid)] = wanted;
    psql(
        DB,
        &format!(
            "CREATE TABLE narrow (id bigint PRIMARY KEY, v integer NOT NULL, flag boolean);
             INSERT INTO narrow SELECT g, (g::bigint * 7919) % 1000003, g % 3 = 0 FROM generate_series(1, {narrow}) g;
             CREATE TABLE wide (id bigint PRIMARY KEY, name text NOT NULL, email text, amount numeric(12,2),
                 ratio double precision, created_at timestamptz NOT NULL, attrs jsonb, note text);
             INSERT INTO wide SELECT g, 'customer ' || g, 'user' || g || '@example.com', (g % 1000000) / 100.0,
                 g / 7.0, TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 second',
                 jsonb_build_object('tier', g % 5, 'tags', jsonb_build_array('a', g % 11)),
                 repeat(md5(g::text), 1 + g % 3) FROM generate_series(1, {wide}) g;
             CREATE TABLE uuid_keyed (id uuid PRIMARY KEY, ref bigint NOT NULL, label text);
             INSERT INTO uuid_keyed SELECT md5(g::text)::uuid, g, 'label ' || (g % 1000) FROM generate_series(1, {uuid}) g;
             CREATE TABLE bench_meta (t text, n bigint);
             INSERT INTO bench_meta VALUES ('narrow', {narrow}), ('wide', {wide}), ('uuid_keyed', {uuid});"
        ),
    )?;
    // Statistics for the row estimates that decide how tables are split.
    psql(DB, "VACUUM ANALYZE")?;
    Ok(())
}

pub fn run(rows: u64, keep: bool, parallel: Option<u32>) -> Result<()> {
    let root = util::repo_root();
    let target = util::target_dir();
    let bench_dir = target.join("bench");
    fs::create_dir_all(&bench_dir)?;
    let bin = target.join("release").join("pg2lightning");
    let store = bench_dir.join("pg.ldb");
    let dump_store = bench_dir.join("pg-dump.ldb");
    let dump_file = bench_dir.join("pg.sql");

    section("Building pg2lightning (release)");
    util::run(cargo().args(["build", "--release", "-p", "pg2lightning"]))?;
    section("Source database");
    prepare(rows)?;
    let url = format!("{}/{DB}", base_url());
    let size: u64 = psql(DB, "SELECT pg_database_size(current_database())")?.parse()?;
    eprintln!("{DB}: {rows} rows, {:.1} MB on disk", mb(size));
    // Warm the server's cache the same way for every step.
    psql(
        DB,
        "SELECT count(*) FROM narrow; SELECT count(*) FROM wide; SELECT count(*) FROM uuid_keyed",
    )?;

    section("pg_dump --data-only (reference)");
    let mut dump = Command::new("pg_dump");
    dump.args(["--data-only", "-f", "/dev/null", "-d", &url]);
    let reference = Step {
        name: "pg_dump --data-only -f /dev/null",
        command: describe(&dump),
        measured: measure(
            dump.stdout(Stdio::null()),
            &bench_dir.join("pg_dump.stderr.log"),
        )?,
    };
    if !reference.measured.status.success() {
        bail!(
            "pg_dump failed: {}",
            util::tail(&bench_dir.join("pg_dump.stderr.log"), 20)
        );
    }

    section("pg2lightning migrate (server)");
    util::remove_path(&store)?;
    let mut migrate = Command::new(&bin);
    migrate
        .args([
            "migrate", "--quiet", "--fresh", "--source", &url, "--target",
        ])
        .arg(&store);
    if let Some(n) = parallel {
        migrate.arg("--parallel").arg(n.to_string());
    }
    let migrate = measure_checked("pg2lightning migrate --source", &mut migrate, &bench_dir)?;

    section("pg2lightning verify (server)");
    let mut verify = Command::new(&bin);
    verify
        .args(["verify", "--source", &url, "--target"])
        .arg(&store);
    let verify = measure_checked("pg2lightning verify --source", &mut verify, &bench_dir)?;

    section("pg2lightning migrate --from-dump");
    util::run(
        Command::new("pg_dump")
            .args(["-d", &url, "-f"])
            .arg(&dump_file),
    )?;
    let dump_bytes = fs::metadata(&dump_file)?.len();
    util::remove_path(&dump_store)?;
    let mut from_dump = Command::new(&bin);
    from_dump
        .args(["migrate", "--quiet", "--fresh", "--from-dump"])
        .arg(&dump_file)
        .arg("--target")
        .arg(&dump_store);
    if let Some(n) = parallel {
        from_dump.arg("--parallel").arg(n.to_string());
    }
    let from_dump = measure_checked(
        "pg2lightning migrate --from-dump",
        &mut from_dump,
        &bench_dir,
    )?;
    if !keep {
        util::remove_path(&store)?;
        util::remove_path(&dump_store)?;
        util::remove_path(&dump_file)?;
    }

    let ref_secs = reference.measured.wall.as_secs_f64();
    let steps = [reference, migrate, verify, from_dump];
    let dump_mb_s = mb(dump_bytes) / steps[3].measured.wall.as_secs_f64();
    let mut md = format!(
        "\nPostgreSQL: {rows} rows, database {:.1} MB, plain dump {:.1} MB\n\n| step | time (s) | rows/s | time vs pg_dump | peak RSS (MB) |\n|---|---:|---:|---:|---:|\n",
        mb(size),
        mb(dump_bytes)
    );
    for s in &steps {
        let secs = s.measured.wall.as_secs_f64();
        md.push_str(&format!(
            "| {} | {secs:.2} | {:.0} | {:.2} | {:.1} |\n",
            s.name,
            rows as f64 / secs,
            secs / ref_secs,
            mb(rss_bytes(s.measured.max_rss_kib))
        ));
    }
    md.push_str(&format!(
        "\nmigrate (server) / pg_dump: {:.2}; verify / pg_dump: {:.2}; dump-file migrate: {dump_mb_s:.1} MB/s\n",
        steps[1].measured.wall.as_secs_f64() / ref_secs,
        steps[2].measured.wall.as_secs_f64() / ref_secs,
    ));
    println!("{md}");
    let results = json!({
        "source": "postgresql",
        "rows": rows,
        "database_bytes": size,
        "dump_file_bytes": dump_bytes,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "steps": steps.iter().map(|s| {
            let secs = s.measured.wall.as_secs_f64();
            json!({
                "name": s.name,
                "command": s.command,
                "seconds": round(secs, 3),
                "rows_per_second": (rows as f64 / secs).round(),
                "peak_rss_mb": round(mb(rss_bytes(s.measured.max_rss_kib)), 1),
                "time_vs_pg_dump": round(secs / ref_secs, 2),
            })
        }).collect::<Vec<_>>(),
        "migrate_vs_pg_dump": round(steps[1].measured.wall.as_secs_f64() / ref_secs, 2),
        "verify_vs_pg_dump": round(steps[2].measured.wall.as_secs_f64() / ref_secs, 2),
        "dump_file_migrate_mb_per_s": round(dump_mb_s, 1),
    });
    let path = bench_dir.join("postgres.json");
    fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
    eprintln!(
        "results written to {}",
        path.strip_prefix(&root).unwrap_or(&path).display()
    );
    Ok(())
}
