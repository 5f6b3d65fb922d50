//! `cargo xtask bench --source postgres`: pg2lightning against `pg_dump` on the same
//! generated database, measured in one run.

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::bench::mb;
use crate::bench_server::ServerCase;
use crate::util::{self, cargo, section};

const DB: &str = "lightning_bench";

pub fn base_url() -> String {
    std::env::var("PG2L_BENCH_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432".into())
}

pub fn psql(db: &str, sql: &str) -> Result<String> {
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

/// `estimate`: run `assess` before each migrate and compare its estimate with it.
pub fn run(rows: u64, keep: bool, parallel: Option<u32>, estimate: bool) -> Result<()> {
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
    let mut dump = Command::new("pg_dump");
    dump.args(["--data-only", "-d", &url]);
    ServerCase {
        label: "PostgreSQL",
        slug: "postgres",
        tool: "pg2lightning",
        reference: "pg_dump --data-only",
        url: &url,
        rows,
        database_bytes: size,
        keep,
        parallel,
        estimate,
    }
    .run(dump, |file| {
        util::run(Command::new("pg_dump").args(["-d", &url, "-f"]).arg(file))
    })
}
