//! `cargo xtask bench --source redis`: redis2lightning against the server's own
//! full export (`redis-cli --rdb -` thrown away) and a `redis-cli --scan` walk,
//! measured in the same run on the same keyspace in interleaved rounds whose
//! medians are reported; and the RDB file that export writes, read with
//! `migrate --from-dump` (MB/s). Unless `--no-estimate`, each of the two migrates is
//! preceded by one `assess --json` with the same source options (not timed), whose
//! estimate is compared with the migrate's median time and the store's size after
//! its last round. Results go to `target/bench/redis.json`.
//!
//! The keyspace (logical database 15 unless `REDIS2L_BENCH_URL` names another):
//! half strings (JSON sessions with a TTL and integer counters), a fifth hashes,
//! a tenth each lists, sets and sorted sets, and a few streams. `redis-cli --rdb`
//! exports every database of the server: the others are best left empty.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::bench::{mb, measure_into, round, Series};
use crate::bench_estimate::{self, Assessed, Comparison};
use crate::util::{self, cargo, section};

fn url() -> String {
    std::env::var("REDIS2L_BENCH_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/15".into())
}

/// The database number of a `redis://host:port/N` URL.
fn db_of(url: &str) -> String {
    url.rsplit_once('/')
        .map(|(_, d)| d.to_string())
        .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| "0".into())
}

pub(crate) struct RedisBench {
    pub keys: u64,
    pub rounds: u32,
    pub keep: bool,
    pub parallel: Option<u32>,
    /// Run `assess` before each migrate and compare its estimate with it.
    pub estimate: bool,
}

/// A Redis command in the protocol `redis-cli --pipe` reads.
fn command(out: &mut impl Write, parts: &[&[u8]]) -> std::io::Result<()> {
    write!(out, "*{}\r\n", parts.len())?;
    for p in parts {
        write!(out, "${}\r\n", p.len())?;
        out.write_all(p)?;
        out.write_all(b"\r\n")?;
    }
    Ok(())
}

/// Writes the commands that build the keyspace; returns the keys made.
fn write_keyspace(path: &Path, keys: u64) -> Result<u64> {
    let mut out = BufWriter::new(File::create(path)?);
    command(&mut out, &[b"FLUSHDB"])?;
    let strings = keys / 2;
    let hashes = keys / 5;
    let per_collection = keys / 10;
    let streams = (keys / 2000).max(1);
    let mut made = 0;
    for i in 0..strings {
        if i % 2 == 0 {
            let k = format!("session:{i}");
            let v = format!(
                r#"{{"user":{},"cart":[{},{}],"agent":"Mozilla/5.0"}}"#,
                i * 7,
                i % 13,
                i % 17
            );
            command(
                &mut out,
                &[b"SET", k.as_bytes(), v.as_bytes(), b"EX", b"86400"],
            )?;
        } else {
            let k = format!("page:views:{i}");
            command(
                &mut out,
                &[b"SET", k.as_bytes(), (i * 3).to_string().as_bytes()],
            )?;
        }
        made += 1;
    }
    for i in 0..hashes {
        let k = format!("user:{i}:profile");
        let age = (18 + i % 60).to_string();
        let name = format!("user {i}");
        let mail = format!("u{i}@example.com");
        command(
            &mut out,
            &[
                b"HSET",
                k.as_bytes(),
                b"name",
                name.as_bytes(),
                b"age",
                age.as_bytes(),
                b"email",
                mail.as_bytes(),
                b"plan",
                b"free",
            ],
        )?;
        made += 1;
    }
    for i in 0..per_collection {
        let k = format!("queue:{i}");
        command(
            &mut out,
            &[
                b"RPUSH",
                k.as_bytes(),
                b"job-a",
                b"job-b",
                b"job-c",
                b"job-d",
            ],
        )?;
        let k = format!("tags:{i}");
        command(
            &mut out,
            &[
                b"SADD",
                k.as_bytes(),
                b"red",
                b"green",
                b"blue",
                i.to_string().as_bytes(),
            ],
        )?;
        let k = format!("board:{i}");
        command(
            &mut out,
            &[
                b"ZADD",
                k.as_bytes(),
                b"1.5",
                b"ann",
                b"20",
                b"bob",
                b"-3",
                b"cy",
            ],
        )?;
        made += 3;
    }
    for i in 0..streams {
        let k = format!("events:{i}");
        for j in 0..10u64 {
            let id = format!("{}-{j}", 1_700_000_000_000u64 + i);
            command(
                &mut out,
                &[
                    b"XADD",
                    k.as_bytes(),
                    id.as_bytes(),
                    b"kind",
                    b"click",
                    b"n",
                    j.to_string().as_bytes(),
                ],
            )?;
        }
        made += 1;
    }
    out.flush()?;
    Ok(made)
}

impl RedisBench {
    pub fn run(&self) -> Result<()> {
        if self.rounds == 0 || self.keys < 100 {
            bail!("--redis-rounds must be at least 1 and --redis-keys at least 100");
        }
        if !util::program_exists("redis-cli") {
            bail!("the Redis benchmark needs redis-cli (the reference) and a server on 127.0.0.1:6379");
        }
        let bench_dir = util::target_dir().join("bench");
        fs::create_dir_all(&bench_dir)?;
        section("Building redis2lightning (release)");
        util::run(cargo().args(["build", "--release", "-p", "redis2lightning"]))?;
        let tool = util::target_dir().join("release").join("redis2lightning");
        let url = url();
        let db = db_of(&url);

        section("Source keyspace");
        let script = bench_dir.join("redis-keyspace.resp");
        let keys = write_keyspace(&script, self.keys)?;
        let status = Command::new("redis-cli")
            .args(["-n", &db, "--pipe"])
            .stdin(File::open(&script)?)
            .stdout(Stdio::null())
            .status()
            .context("running redis-cli --pipe")?;
        if !status.success() {
            bail!("loading the keyspace with redis-cli --pipe failed");
        }
        fs::remove_file(&script)?;
        eprintln!("{url}: {keys} keys");

        let rdb = bench_dir.join("redis-bench.rdb");
        let store = bench_dir.join("redis.ldb");
        let file_store = bench_dir.join("redis-rdb.ldb");
        let mut export = Series::new("redis-cli --rdb - (thrown away)");
        let mut scan = Series::new("redis-cli --scan");
        let mut migrate = Series::new("redis2lightning migrate --source");
        let mut from_rdb = Series::new("redis2lightning migrate --from-dump");
        let mut verify = Series::new("redis2lightning verify --source");
        util::run(
            Command::new("redis-cli")
                .arg("--rdb")
                .arg(&rdb)
                .stdout(Stdio::null()),
        )?;
        let rdb_bytes = fs::metadata(&rdb)?.len();
        let source: Vec<OsString> = vec!["--source".into(), url.clone().into()];
        let dump_source: Vec<OsString> = vec![
            "--from-dump".into(),
            rdb.clone().into_os_string(),
            "--db".into(),
            db.clone().into(),
        ];
        let assessed = self.assess(
            "redis2lightning assess --source",
            &tool,
            &source,
            &store,
            &bench_dir,
        )?;
        let dump_assessed = self.assess(
            "redis2lightning assess --from-dump",
            &tool,
            &dump_source,
            &file_store,
            &bench_dir,
        )?;
        let mut store_bytes = 0;
        let mut file_store_bytes = 0;
        for n in 1..=self.rounds {
            section(&format!("Redis, round {n} of {}", self.rounds));
            // `--rdb /dev/null` fails (it syncs the file it wrote): standard output
            // thrown away instead.
            measure_into(
                &mut export,
                Command::new("sh").args(["-c", "redis-cli --rdb - >/dev/null"]),
                &bench_dir,
            )?;
            measure_into(
                &mut scan,
                Command::new("redis-cli").args(["-n", &db, "--scan"]),
                &bench_dir,
            )?;
            util::remove_path(&store)?;
            let mut cmd = self.migrate_command(&tool, &source, &store);
            measure_into(&mut migrate, &mut cmd, &bench_dir)?;
            store_bytes = util::disk_size(&store);
            measure_into(
                &mut verify,
                Command::new(&tool)
                    .args(["verify", "--source", &url, "--target"])
                    .arg(&store),
                &bench_dir,
            )?;
            util::remove_path(&file_store)?;
            let mut cmd = self.migrate_command(&tool, &dump_source, &file_store);
            measure_into(&mut from_rdb, &mut cmd, &bench_dir)?;
            file_store_bytes = util::disk_size(&file_store);
        }
        let estimate =
            assessed.map(|a| Comparison::new("Redis (server)", a, migrate.median(), store_bytes));
        let dump_estimate = dump_assessed
            .map(|a| Comparison::new("Redis (RDB file)", a, from_rdb.median(), file_store_bytes));
        if !self.keep {
            util::remove_path(&store)?;
            util::remove_path(&file_store)?;
            util::remove_path(&rdb)?;
        }
        let base = export.median();
        let walk = scan.median();
        let md = markdown(
            &[&export, &scan, &migrate, &verify, &from_rdb],
            keys,
            rdb_bytes,
            self.rounds,
        );
        let steps: Vec<serde_json::Value> = [&export, &scan, &migrate, &verify]
            .iter()
            .map(|s| s.json("keys", keys, None, base))
            .chain(std::iter::once(from_rdb.json(
                "keys",
                keys,
                Some(rdb_bytes),
                base,
            )))
            .collect();
        let value = json!({
            "url": url,
            "keys": keys,
            "rdb_bytes": rdb_bytes,
            "store_bytes": store_bytes,
            "steps": steps,
            "migrate_vs_rdb_export": round(migrate.median() / base, 2),
            "migrate_vs_scan": round(migrate.median() / walk, 2),
            "verify_vs_rdb_export": round(verify.median() / base, 2),
            "rdb_file_mb_per_second": round(mb(rdb_bytes) / from_rdb.median(), 1),
            "estimate": estimate.as_ref().map(Comparison::json),
            "from_dump_estimate": dump_estimate.as_ref().map(Comparison::json),
        });
        let path = bench_dir.join("redis.json");
        fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")?;
        let comparisons: Vec<Comparison> = estimate.iter().chain(&dump_estimate).cloned().collect();
        println!("{md}{}", bench_estimate::markdown(&comparisons));
        eprintln!("results: {}", relative(&path).display());
        Ok(())
    }

    fn add_parallel(&self, cmd: &mut Command) {
        if let Some(n) = self.parallel {
            cmd.arg("--parallel").arg(n.to_string());
        }
    }

    /// `redis2lightning migrate --quiet --fresh` with the source options `source`
    /// (`--source URL`, or `--from-dump FILE --db N`), `--target store` and
    /// `--parallel`.
    fn migrate_command(&self, tool: &Path, source: &[OsString], store: &Path) -> Command {
        let mut cmd = Command::new(tool);
        cmd.current_dir(util::repo_root())
            .args(["migrate", "--quiet", "--fresh"])
            .args(source)
            .arg("--target")
            .arg(store);
        self.add_parallel(&mut cmd);
        cmd
    }

    /// `redis2lightning assess --json` with what [`Self::migrate_command`] gives
    /// the migrate it predicts, but the migrate-only flags.
    fn assess_command(&self, tool: &Path, source: &[OsString], store: &Path) -> Command {
        let mut cmd = bench_estimate::command(tool);
        cmd.args(source).arg("--target").arg(store);
        self.add_parallel(&mut cmd);
        cmd
    }

    /// Before a migrate's rounds, not timed: [`Self::assess_command`] run once,
    /// with the store removed first (as the migrate finds it); `None` with
    /// `--no-estimate`.
    fn assess(
        &self,
        name: &str,
        tool: &Path,
        source: &[OsString],
        store: &Path,
        bench_dir: &Path,
    ) -> Result<Option<Assessed>> {
        let mut cmd = self.assess_command(tool, source, store);
        bench_estimate::before_rounds(self.estimate, name, store, &mut cmd, bench_dir)
    }
}

fn relative(path: &Path) -> PathBuf {
    path.strip_prefix(util::repo_root())
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

fn markdown(steps: &[&Series], keys: u64, rdb_bytes: u64, rounds: u32) -> String {
    let base = steps[0].median();
    let mut s = format!(
        "Redis: {keys} keys; RDB file {:.1} MB; medians of {rounds} interleaved rounds\n\n| step | seconds (each round) | median | keys/s | vs `redis-cli --rdb -` | peak memory |\n|---|---|---:|---:|---:|---:|\n",
        mb(rdb_bytes)
    );
    for st in steps {
        let m = st.median();
        s.push_str(&format!(
            "| `{}` | {} | {m:.2} s | {:.0} | {:.2}× | {:.0} MB |\n",
            st.name,
            st.runs_shown(),
            keys as f64 / m,
            m / base,
            st.peak_mb()
        ));
    }
    let last = steps[steps.len() - 1];
    s.push_str(&format!(
        "\nRDB file read by `migrate --from-dump`: {:.1} MB/s\n",
        mb(rdb_bytes) / last.median()
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn assess_gets_the_migrates_options_but_its_own_flags() {
        let bench = RedisBench {
            keys: 100,
            rounds: 1,
            keep: false,
            parallel: Some(2),
            estimate: true,
        };
        let tool = Path::new("redis2lightning");
        let live: Vec<OsString> = vec!["--source".into(), "redis://127.0.0.1:6379/15".into()];
        let dump: Vec<OsString> = vec![
            "--from-dump".into(),
            "/b/redis-bench.rdb".into(),
            "--db".into(),
            "15".into(),
        ];
        for (source, store) in [(&live, "/b/redis.ldb"), (&dump, "/b/redis-rdb.ldb")] {
            let store = Path::new(store);
            let migrate = args(&bench.migrate_command(tool, source, store));
            let assess = args(&bench.assess_command(tool, source, store));
            assert_eq!(migrate[..3], ["migrate", "--quiet", "--fresh"]);
            assert_eq!(assess[..2], ["assess", "--json"]);
            assert_eq!(migrate[3..], assess[2..]);
        }
        assert_eq!(
            args(&bench.assess_command(tool, &dump, Path::new("/b/redis-rdb.ldb"))),
            [
                "assess",
                "--json",
                "--from-dump",
                "/b/redis-bench.rdb",
                "--db",
                "15",
                "--target",
                "/b/redis-rdb.ldb",
                "--parallel",
                "2",
            ]
        );
        assert_eq!(db_of("redis://127.0.0.1:6379/15"), "15");
        assert_eq!(db_of("redis://127.0.0.1:6379"), "0");
    }
}
