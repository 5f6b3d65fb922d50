//! What the server cases of `cargo xtask bench` share once their source database is
//! ready: the source's dump tool as the reference, the tool's `migrate` and `verify`
//! against the server, its `migrate --from-dump` of a dump file, and the report.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Result};
use serde_json::json;

use crate::bench::{mb, measure, measure_checked, round, rss_bytes, Step};
use crate::bench_estimate::{self, Assessed, Comparison};
use crate::util::{self, describe, section};

pub(crate) struct ServerCase<'a> {
    /// `PostgreSQL`, `MariaDB`: shown in the report.
    pub label: &'static str,
    /// `postgres`, `mariadb`: names the stores, the dump file and the results file.
    pub slug: &'static str,
    /// The tool's binary name: `pg2lightning`.
    pub tool: &'static str,
    /// The reference's name in the report: `pg_dump --data-only`.
    pub reference: &'static str,
    pub url: &'a str,
    pub rows: u64,
    pub database_bytes: u64,
    pub keep: bool,
    pub parallel: Option<u32>,
    /// Run `assess` before each migrate and compare its estimate with it.
    pub estimate: bool,
}

impl ServerCase<'_> {
    /// `dump` writes the data to stdout (measured into /dev/null, the reference);
    /// `write_dump` writes a whole dump into a file for `--from-dump`.
    pub fn run(
        &self,
        mut dump: Command,
        write_dump: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        let root = util::repo_root();
        let bench_dir = util::target_dir().join("bench");
        fs::create_dir_all(&bench_dir)?;
        let bin = util::target_dir().join("release").join(self.tool);
        let store = bench_dir.join(format!("{}.ldb", self.slug));
        let dump_store = bench_dir.join(format!("{}-dump.ldb", self.slug));
        let dump_file = bench_dir.join(format!("{}.sql", self.slug));
        let tool = self.tool;

        section(&format!("{} (reference)", self.reference));
        let log = bench_dir.join(format!("{}-reference.stderr.log", self.slug));
        let reference = Step {
            name: format!("{} > /dev/null", self.reference),
            command: format!("{} > /dev/null", describe(&dump)),
            measured: measure(dump.stdout(Stdio::null()), &log)?,
        };
        if !reference.measured.status.success() {
            bail!("{} failed: {}", self.reference, util::tail(&log, 20));
        }

        let assessed = self.assess(
            "--source",
            |cmd| {
                cmd.args(["--source", self.url]);
            },
            &store,
            &bench_dir,
        )?;

        section(&format!("{tool} migrate (server)"));
        util::remove_path(&store)?;
        let mut migrate = Command::new(&bin);
        migrate
            .args([
                "migrate", "--quiet", "--fresh", "--source", self.url, "--target",
            ])
            .arg(&store);
        self.add_parallel(&mut migrate);
        let migrate = measure_checked(
            &format!("{tool} migrate --source"),
            &mut migrate,
            &bench_dir,
        )?;
        let store_bytes = util::disk_size(&store);

        section(&format!("{tool} verify (server)"));
        let mut verify = Command::new(&bin);
        verify
            .args(["verify", "--source", self.url, "--target"])
            .arg(&store);
        let verify = measure_checked(&format!("{tool} verify --source"), &mut verify, &bench_dir)?;

        section(&format!("{tool} migrate --from-dump"));
        write_dump(&dump_file)?;
        let dump_bytes = fs::metadata(&dump_file)?.len();
        let dump_assessed = self.assess(
            "--from-dump",
            |cmd| {
                cmd.arg("--from-dump").arg(&dump_file);
            },
            &dump_store,
            &bench_dir,
        )?;
        util::remove_path(&dump_store)?;
        let mut from_dump = Command::new(&bin);
        from_dump
            .args(["migrate", "--quiet", "--fresh", "--from-dump"])
            .arg(&dump_file)
            .arg("--target")
            .arg(&dump_store);
        self.add_parallel(&mut from_dump);
        let from_dump = measure_checked(
            &format!("{tool} migrate --from-dump"),
            &mut from_dump,
            &bench_dir,
        )?;
        let dump_store_bytes = util::disk_size(&dump_store);
        let secs = |step: &Step| step.measured.wall.as_secs_f64();
        let estimate = assessed.map(|a| {
            Comparison::new(
                format!("{} (server)", self.label),
                a,
                secs(&migrate),
                store_bytes,
            )
        });
        let dump_estimate = dump_assessed.map(|a| {
            Comparison::new(
                format!("{} (dump file)", self.label),
                a,
                secs(&from_dump),
                dump_store_bytes,
            )
        });
        if !self.keep {
            for path in [&store, &dump_store, &dump_file] {
                util::remove_path(path)?;
            }
        }
        let steps = [reference, migrate, verify, from_dump];
        let comparisons: Vec<Comparison> = estimate.iter().chain(&dump_estimate).cloned().collect();
        println!(
            "{}{}",
            self.markdown(&steps, dump_bytes),
            bench_estimate::markdown(&comparisons)
        );
        let mut results = self.json(&steps, dump_bytes);
        results["store_bytes"] = json!(store_bytes);
        results["estimate"] = json!(estimate.as_ref().map(Comparison::json));
        results["from_dump_estimate"] = json!(dump_estimate.as_ref().map(Comparison::json));
        let path = bench_dir.join(format!("{}.json", self.slug));
        fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
        eprintln!(
            "results written to {}",
            path.strip_prefix(&root).unwrap_or(&path).display()
        );
        Ok(())
    }

    /// `TOOL assess --json` with the source `source` adds (`kind` names it:
    /// `--source`, `--from-dump`), `--target store` (removed first, as the migrate
    /// finds it) and the migrate's `--parallel`, run once, not timed as a step;
    /// `None` when the estimates are off.
    fn assess(
        &self,
        kind: &str,
        source: impl FnOnce(&mut Command),
        store: &Path,
        bench_dir: &Path,
    ) -> Result<Option<Assessed>> {
        if !self.estimate {
            return Ok(None);
        }
        let bin = util::target_dir().join("release").join(self.tool);
        let name = format!("{} assess {kind}", self.tool);
        section(&format!("{name} (the estimate; not timed)"));
        util::remove_path(store)?;
        let mut cmd = bench_estimate::command(&bin);
        source(&mut cmd);
        cmd.arg("--target").arg(store);
        self.add_parallel(&mut cmd);
        Ok(Some(bench_estimate::run(&name, &mut cmd, bench_dir)))
    }

    fn add_parallel(&self, cmd: &mut Command) {
        if let Some(n) = self.parallel {
            cmd.arg("--parallel").arg(n.to_string());
        }
    }

    /// Seconds of each step, and each step's time over the reference's.
    fn times(steps: &[Step; 4]) -> ([f64; 4], [f64; 4]) {
        let secs = steps.each_ref().map(|s| s.measured.wall.as_secs_f64());
        (secs, secs.map(|s| s / secs[0]))
    }

    fn markdown(&self, steps: &[Step; 4], dump_bytes: u64) -> String {
        let (secs, ratio) = Self::times(steps);
        let mut md = format!(
            "\n{}: {} rows, database {:.1} MB, dump file {:.1} MB\n\n\
             | step | time (s) | rows/s | time vs {} | peak RSS (MB) |\n|---|---:|---:|---:|---:|\n",
            self.label,
            self.rows,
            mb(self.database_bytes),
            mb(dump_bytes),
            self.reference
        );
        for (i, s) in steps.iter().enumerate() {
            md.push_str(&format!(
                "| {} | {:.2} | {:.0} | {:.2} | {:.1} |\n",
                s.name,
                secs[i],
                self.rows as f64 / secs[i],
                ratio[i],
                mb(rss_bytes(s.measured.max_rss_kib))
            ));
        }
        md.push_str(&format!(
            "\nmigrate (server) / reference: {:.2}; verify / reference: {:.2}; dump-file migrate: {:.1} MB/s\n",
            ratio[1],
            ratio[2],
            mb(dump_bytes) / secs[3]
        ));
        md
    }

    fn json(&self, steps: &[Step; 4], dump_bytes: u64) -> serde_json::Value {
        let (secs, ratio) = Self::times(steps);
        json!({
            "source": self.slug,
            "reference": self.reference,
            "rows": self.rows,
            "database_bytes": self.database_bytes,
            "dump_file_bytes": dump_bytes,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "steps": steps.iter().enumerate().map(|(i, s)| json!({
                "name": s.name,
                "command": s.command,
                "seconds": round(secs[i], 3),
                "rows_per_second": (self.rows as f64 / secs[i]).round(),
                "peak_rss_mb": round(mb(rss_bytes(s.measured.max_rss_kib)), 1),
                "time_vs_reference": round(ratio[i], 2),
            })).collect::<Vec<_>>(),
            "migrate_vs_reference": round(ratio[1], 2),
            "verify_vs_reference": round(ratio[2], 2),
            "dump_file_migrate_mb_per_s": round(mb(dump_bytes) / secs[3], 1),
        })
    }
}
