//! `cargo xtask bench --source mongo`: mongo2lightning against references that only
//! read, measured in the same run on the same data, in interleaved rounds (reference,
//! tool, reference, tool, ...) whose medians are reported:
//!
//! - live (`--source mongo-live`): generated orders loaded into the MongoDB-compatible
//!   test server (127.0.0.1:27017, database `lightning_bench`); `migrate --source URL`
//!   and `verify --source URL` against the same driver draining a plain `find()`
//!   cursor over the collection (the `drain` example);
//! - files (`--source mongo-files`): the same kind of orders as a mongoexport file
//!   (relaxed Extended JSON lines) and a mongodump `.bson` file; `migrate --source
//!   FILE`, and the same given the mapping (`--mapping`, written beforehand by
//!   `convert-schema`: no pass over the whole file to decide it), against the same
//!   `bson` crate parsing every document of the file.
//!
//! The `drain` example (crates/mongo2lightning/examples) loads the server, writes the
//! files and is both references. Unless `--no-estimate`, each migrate is preceded by
//! one `assess --json` with the same source options (not timed), whose estimate is
//! compared with the migrate's median time and the store's size after its last
//! round. Results go to `target/bench/mongo.json`.

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::bench::{mb, measure_checked, measure_into, round, Series};
use crate::bench_estimate::{self, Assessed, Comparison};
use crate::services;
use crate::util::{self, cargo, describe, section};

/// The collection the live case loads and migrates.
const COLLECTION: &str = "orders";

fn url() -> String {
    std::env::var("MONGO2L_BENCH_URL")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017/lightning_bench".into())
}

pub(crate) struct MongoBench {
    pub live: bool,
    pub files: bool,
    /// Documents loaded into the server.
    pub docs: u64,
    /// Documents in each generated file.
    pub file_docs: u64,
    pub rounds: u32,
    pub keep: bool,
    pub parallel: Option<u32>,
    /// Run `assess` before each migrate and compare its estimate with it.
    pub estimate: bool,
}

/// Runs a measured step and checks that it printed the expected document count
/// (the `drain` example prints the documents it read).
fn measure_drain(
    series: &mut Series,
    cmd: &mut Command,
    bench_dir: &Path,
    expected: u64,
) -> Result<()> {
    let step = measure_checked(&series.name, cmd, bench_dir)?;
    let stdout = bench_dir.join(format!("{}.stdout.log", series.name));
    let printed = fs::read_to_string(&stdout).unwrap_or_default();
    if printed.trim() != expected.to_string() {
        bail!(
            "`{}` read {} documents, not {expected}",
            step.command,
            printed.trim()
        );
    }
    series.command = step.command;
    series.runs.push(step.measured);
    Ok(())
}

impl MongoBench {
    pub fn run(&self) -> Result<()> {
        if self.rounds == 0 {
            bail!("--mongo-rounds must be at least 1");
        }
        if self.docs == 0 || self.file_docs == 0 {
            bail!("--mongo-docs and --mongo-file-docs must be at least 1");
        }
        let root = util::repo_root();
        let bench_dir = util::target_dir().join("bench");
        fs::create_dir_all(&bench_dir)?;

        section("Building mongo2lightning and the drain example (release)");
        util::run(cargo().args([
            "build",
            "--release",
            "-p",
            "mongo2lightning",
            "--bin",
            "mongo2lightning",
            "--example",
            "drain",
        ]))?;
        let release = util::target_dir().join("release");
        let tool = release.join("mongo2lightning");
        let drain = release.join("examples").join("drain");

        let mut results = serde_json::Map::new();
        results.insert(
            "cpus".into(),
            json!(std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)),
        );
        results.insert("rounds".into(), json!(self.rounds));
        let mut report = String::new();
        if self.live {
            let (md, value) = self.live_case(&tool, &drain, &bench_dir)?;
            report.push_str(&md);
            results.insert("live".into(), value);
        }
        if self.files {
            let (md, value) = self.file_case(&tool, &drain, &bench_dir)?;
            report.push_str(&md);
            results.insert("files".into(), value);
        }
        println!("{report}");
        let path = bench_dir.join("mongo.json");
        fs::write(
            &path,
            serde_json::to_string_pretty(&serde_json::Value::Object(results))? + "\n",
        )?;
        eprintln!(
            "results written to {}",
            path.strip_prefix(&root).unwrap_or(&path).display()
        );
        Ok(())
    }

    fn add_parallel(&self, cmd: &mut Command) {
        if let Some(n) = self.parallel {
            cmd.arg("--parallel").arg(n.to_string());
        }
    }

    /// `mongo2lightning migrate --quiet --fresh` with the source options `source`,
    /// `--target store` and `--parallel`.
    fn migrate_command(&self, tool: &Path, source: &[OsString], store: &Path) -> Command {
        let mut cmd = Command::new(tool);
        cmd.args(["migrate", "--quiet", "--fresh"])
            .args(source)
            .arg("--target")
            .arg(relative(store));
        self.add_parallel(&mut cmd);
        cmd
    }

    /// `mongo2lightning assess --json` with what [`Self::migrate_command`] gives
    /// the migrate it predicts, but the migrate-only flags.
    fn assess_command(&self, tool: &Path, source: &[OsString], store: &Path) -> Command {
        let mut cmd = bench_estimate::command(tool);
        cmd.args(source).arg("--target").arg(relative(store));
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

    fn live_case(
        &self,
        tool: &Path,
        drain: &Path,
        bench_dir: &Path,
    ) -> Result<(String, serde_json::Value)> {
        let url = url();
        section("MongoDB test server");
        if !services::ensure_mongodb() {
            bail!("the MongoDB benchmark needs the test server on 127.0.0.1:27017");
        }
        section("Source collection");
        util::run(Command::new(drain).current_dir(util::repo_root()).args([
            "load",
            &url,
            &self.docs.to_string(),
            COLLECTION,
        ]))?;
        let store = bench_dir.join("mongo.ldb");
        let source: Vec<OsString> = vec!["--source".into(), url.clone().into()];
        let assessed = self.assess(
            "mongo2lightning assess --source (server)",
            tool,
            &source,
            &store,
            bench_dir,
        )?;

        let mut reference = Series::new("drain read (find() cursor)");
        let mut migrate = Series::new("mongo2lightning migrate --source");
        let mut verify = Series::new("mongo2lightning verify --source");
        let mut store_bytes = 0;
        for n in 1..=self.rounds {
            section(&format!("MongoDB live, round {n} of {}", self.rounds));
            measure_drain(
                &mut reference,
                Command::new(drain).args(["read", &url, COLLECTION]),
                bench_dir,
                self.docs,
            )?;
            util::remove_path(&store)?;
            let mut cmd = self.migrate_command(tool, &source, &store);
            measure_into(&mut migrate, &mut cmd, bench_dir)?;
            store_bytes = util::disk_size(&store);
            measure_into(
                &mut verify,
                Command::new(tool)
                    .args(["verify", "--source", &url, "--target"])
                    .arg(relative(&store)),
                bench_dir,
            )?;
        }
        let estimate =
            assessed.map(|a| Comparison::new("MongoDB (server)", a, migrate.median(), store_bytes));
        if !self.keep {
            util::remove_path(&store)?;
        }
        let steps = [reference, migrate, verify];
        let md = live_markdown(&steps, self.docs, self.rounds, store_bytes)
            + &bench_estimate::markdown(estimate.as_slice());
        let base = steps[0].median();
        let value = json!({
            "url": url,
            "collection": COLLECTION,
            "documents": self.docs,
            "store_bytes": store_bytes,
            "steps": steps.iter().map(|s| s.json("documents", self.docs, None, base)).collect::<Vec<_>>(),
            "migrate_vs_reference": round(steps[1].median() / base, 2),
            "verify_vs_reference": round(steps[2].median() / base, 2),
            "estimate": estimate.as_ref().map(Comparison::json),
        });
        Ok((md, value))
    }

    fn file_case(
        &self,
        tool: &Path,
        drain: &Path,
        bench_dir: &Path,
    ) -> Result<(String, serde_json::Value)> {
        section("Source files");
        let dir = bench_dir.join(format!("mongo-files-{}", self.file_docs));
        fs::create_dir_all(&dir)?;
        let mut rows = Vec::new();
        for ext in ["json", "bson"] {
            let file = dir.join(format!("{COLLECTION}.{ext}"));
            prepare_file(drain, &file, self.file_docs)?;
            let bytes = fs::metadata(&file)?.len();
            eprintln!("{}: {:.1} MB", relative(&file).display(), mb(bytes));
            // The mapping `migrate` would decide, written once for the runs that are
            // given it (they skip the pass over the whole file that decides it).
            let mapping = bench_dir.join(format!("mongo-{ext}.mapping.json"));
            let mut schema = Command::new(tool);
            schema
                .current_dir(util::repo_root())
                .args(["convert-schema", "--source"])
                .arg(relative(&file))
                .arg("--write-mapping")
                .arg(relative(&mapping))
                .stdout(std::process::Stdio::null());
            util::run(&mut schema)?;
            let name = format!("{COLLECTION}.{ext}");
            rows.push(FileRow {
                ext,
                file,
                mapping,
                bytes,
                reference: Series::new(format!("drain parse {name}")),
                migrate: Series::new(format!("mongo2lightning migrate --source {name}")),
                with_mapping: Series::new(format!(
                    "mongo2lightning migrate --source {name} --mapping"
                )),
            });
        }
        // Each migrate of each file (without, then with the mapping): its estimate,
        // and its store's size after its last round.
        let mut assessed = Vec::new();
        for row in &rows {
            let store = row.store(bench_dir);
            let mut pair = [None, None];
            for (with_mapping, slot) in [false, true].into_iter().zip(&mut pair) {
                *slot = self.assess(
                    &format!(
                        "mongo2lightning assess --source {}",
                        row.label(with_mapping)
                    ),
                    tool,
                    &row.source(with_mapping),
                    &store,
                    bench_dir,
                )?;
            }
            assessed.push(pair);
        }
        let mut store_bytes = vec![[0u64; 2]; rows.len()];
        // Every step reads the files from the page cache, whatever ran before.
        for row in &rows {
            std::io::copy(&mut File::open(&row.file)?, &mut std::io::sink())?;
        }

        for n in 1..=self.rounds {
            section(&format!("MongoDB files, round {n} of {}", self.rounds));
            for (row, bytes) in rows.iter_mut().zip(&mut store_bytes) {
                measure_drain(
                    &mut row.reference,
                    Command::new(drain).arg("parse").arg(relative(&row.file)),
                    bench_dir,
                    self.file_docs,
                )?;
                let store = row.store(bench_dir);
                let sources = [row.source(false), row.source(true)];
                for ((series, source), bytes) in [&mut row.migrate, &mut row.with_mapping]
                    .into_iter()
                    .zip(&sources)
                    .zip(bytes.iter_mut())
                {
                    util::remove_path(&store)?;
                    let mut cmd = self.migrate_command(tool, source, &store);
                    measure_into(series, &mut cmd, bench_dir)?;
                    *bytes = util::disk_size(&store);
                }
                if !self.keep {
                    util::remove_path(&store)?;
                }
            }
        }
        let estimates: Vec<[Option<Comparison>; 2]> = rows
            .iter()
            .zip(assessed)
            .zip(&store_bytes)
            .map(|((row, [plain, mapped]), bytes)| {
                [
                    (plain, &row.migrate, false),
                    (mapped, &row.with_mapping, true),
                ]
                .map(|(assessed, series, with_mapping)| {
                    assessed.map(|a| {
                        Comparison::new(
                            row.label(with_mapping),
                            a,
                            series.median(),
                            bytes[usize::from(with_mapping)],
                        )
                    })
                })
            })
            .collect();
        let comparisons: Vec<Comparison> = estimates.iter().flatten().flatten().cloned().collect();
        let md = files_markdown(&rows, self.file_docs, self.rounds)
            + &bench_estimate::markdown(&comparisons);
        let value = json!({
            "documents": self.file_docs,
            "files": rows.iter().zip(&estimates).map(|(r, [estimate, with_mapping_estimate])| {
                let base = r.reference.median();
                let steps: Vec<_> = [&r.reference, &r.migrate, &r.with_mapping]
                    .iter()
                    .map(|s| s.json("documents", self.file_docs, Some(r.bytes), base))
                    .collect();
                json!({
                    "format": r.ext,
                    "bytes": r.bytes,
                    "steps": steps,
                    "migrate_mb_per_second": round(mb(r.bytes) / r.migrate.median(), 1),
                    "migrate_vs_reference": round(r.migrate.median() / base, 2),
                    "migrate_with_mapping_mb_per_second":
                        round(mb(r.bytes) / r.with_mapping.median(), 1),
                    "estimate": estimate.as_ref().map(Comparison::json),
                    "with_mapping_estimate": with_mapping_estimate.as_ref().map(Comparison::json),
                })
            }).collect::<Vec<_>>(),
        });
        Ok((md, value))
    }
}

/// A path below the workspace root as seen from there (the measured children run
/// there): shorter in the printed commands and in the results.
fn relative(path: &Path) -> PathBuf {
    let root = util::repo_root();
    path.strip_prefix(&root).unwrap_or(path).to_path_buf()
}

/// Writes a generated file unless it is already there (written whole: a file is
/// only renamed into place once complete).
fn prepare_file(drain: &Path, file: &Path, docs: u64) -> Result<()> {
    if file.exists() {
        eprintln!("reusing {}", file.display());
        return Ok(());
    }
    let name = file.file_name().context("a file name")?.to_string_lossy();
    let tmp: PathBuf = file.with_file_name(format!("tmp-{name}"));
    let began = std::time::Instant::now();
    let mut cmd = Command::new(drain);
    cmd.arg("write").arg(&tmp).arg(docs.to_string());
    eprintln!("$ {}", describe(&cmd));
    let status = cmd.status().context("the drain example runs")?;
    if !status.success() {
        bail!("writing {} failed ({status})", tmp.display());
    }
    fs::rename(&tmp, file)?;
    eprintln!(
        "generated {} in {:.1} s",
        file.display(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

fn live_markdown(steps: &[Series; 3], docs: u64, rounds: u32, store_bytes: u64) -> String {
    let base = steps[0].median();
    let mut md = format!(
        "\nMongoDB (live): {docs} documents in `{COLLECTION}`, Lightning store {:.1} MB; \
         {rounds} interleaved rounds, medians\n\n\
         | step | time (s) | rounds (s) | documents/s | time vs drain | peak RSS (MB) |\n\
         |---|---:|---:|---:|---:|---:|\n",
        mb(store_bytes)
    );
    for s in steps {
        let secs = s.median();
        md.push_str(&format!(
            "| {} | {secs:.2} | {} | {:.0} | {:.2} | {:.1} |\n",
            s.name,
            s.runs_shown(),
            docs as f64 / secs,
            secs / base,
            s.peak_mb()
        ));
    }
    md.push_str(&format!(
        "\nmigrate (server) / drain: {:.2}; verify / drain: {:.2}\n",
        steps[1].median() / base,
        steps[2].median() / base
    ));
    md
}

/// One file format's steps.
struct FileRow {
    ext: &'static str,
    file: PathBuf,
    mapping: PathBuf,
    bytes: u64,
    reference: Series,
    migrate: Series,
    /// `migrate --mapping`: no pass over the file to decide the mapping.
    with_mapping: Series,
}

impl FileRow {
    /// The store both of the file's migrates write (one after the other).
    fn store(&self, bench_dir: &Path) -> PathBuf {
        bench_dir.join(format!("mongo-{}.ldb", self.ext))
    }

    /// The source options of the file's migrate (and of its `assess`): `--source
    /// FILE`, and `--mapping FILE` for the migrate given the mapping.
    fn source(&self, with_mapping: bool) -> Vec<OsString> {
        let mut args = vec!["--source".into(), relative(&self.file).into_os_string()];
        if with_mapping {
            args.push("--mapping".into());
            args.push(relative(&self.mapping).into_os_string());
        }
        args
    }

    /// The migrate in the estimate table: `orders.json`, `orders.json --mapping`.
    fn label(&self, with_mapping: bool) -> String {
        let name = format!("{COLLECTION}.{}", self.ext);
        if with_mapping {
            format!("{name} --mapping")
        } else {
            name
        }
    }
}

fn files_markdown(rows: &[FileRow], docs: u64, rounds: u32) -> String {
    let sizes: Vec<String> = rows
        .iter()
        .map(|r| format!("{COLLECTION}.{} {:.1} MB", r.ext, mb(r.bytes)))
        .collect();
    let mut md = format!(
        "\nMongoDB files: {docs} documents; {}; {rounds} interleaved rounds, medians\n\n\
         | step | time (s) | rounds (s) | MB/s | documents/s | time vs parse | peak RSS (MB) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        sizes.join(", ")
    );
    let mut summary = Vec::new();
    for r in rows {
        let base = r.reference.median();
        for s in [&r.reference, &r.migrate, &r.with_mapping] {
            let secs = s.median();
            md.push_str(&format!(
                "| {} | {secs:.2} | {} | {:.1} | {:.0} | {:.2} | {:.1} |\n",
                s.name,
                s.runs_shown(),
                mb(r.bytes) / secs,
                docs as f64 / secs,
                secs / base,
                s.peak_mb()
            ));
        }
        summary.push(format!(
            "{} file: {:.1} MB/s (migrate / parse: {:.2}; with --mapping {:.1} MB/s)",
            r.ext.to_uppercase(),
            mb(r.bytes) / r.migrate.median(),
            r.migrate.median() / base,
            mb(r.bytes) / r.with_mapping.median()
        ));
    }
    md.push_str(&format!("\n{}\n", summary.join("; ")));
    md
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::{median, Measured};

    fn series(name: &str, secs: &[f64]) -> Series {
        Series {
            name: name.into(),
            command: String::new(),
            runs: secs
                .iter()
                .map(|s| Measured {
                    status: std::os::unix::process::ExitStatusExt::from_raw(0),
                    wall: Duration::from_secs_f64(*s),
                    max_rss_kib: 10_240 * (*s as i64),
                })
                .collect(),
        }
    }

    #[test]
    fn medians_of_odd_and_even_rounds() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn renders_the_live_table_with_medians_and_ratios() {
        let steps = [
            series("drain read (find() cursor)", &[1.0, 2.0, 1.5]),
            series("mongo2lightning migrate --source", &[3.0, 4.0, 3.5]),
            series("mongo2lightning verify --source", &[2.0, 2.0, 2.0]),
        ];
        let md = live_markdown(&steps, 30_000, 3, 5_000_000);
        assert!(
            md.contains(
                "| drain read (find() cursor) | 1.50 | 1.00 / 2.00 / 1.50 | 20000 | 1.00 | 21.0 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| mongo2lightning migrate --source | 3.50 | 3.00 / 4.00 / 3.50 | 8571 | 2.33 | 41.9 |"),
            "{md}"
        );
        assert!(md.contains("migrate (server) / drain: 2.33; verify / drain: 1.33"));
    }

    #[test]
    fn renders_the_files_table_in_mb_per_second() {
        let rows = [FileRow {
            ext: "json",
            file: PathBuf::new(),
            mapping: PathBuf::new(),
            bytes: 160_000_000,
            reference: series("drain parse orders.json", &[2.0]),
            migrate: series("mongo2lightning migrate --source orders.json", &[8.0]),
            with_mapping: series(
                "mongo2lightning migrate --source orders.json --mapping",
                &[4.0],
            ),
        }];
        let md = files_markdown(&rows, 200_000, 1);
        assert!(md.contains("orders.json 160.0 MB"), "{md}");
        assert!(
            md.contains("| mongo2lightning migrate --source orders.json | 8.00 | 8.00 | 20.0 | 25000 | 4.00 | 83.9 |"),
            "{md}"
        );
        assert!(
            md.contains("JSON file: 20.0 MB/s (migrate / parse: 4.00; with --mapping 40.0 MB/s)"),
            "{md}"
        );
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn assess_gets_the_migrates_options_but_its_own_flags() {
        let bench = MongoBench {
            live: true,
            files: true,
            docs: 10,
            file_docs: 10,
            rounds: 1,
            keep: false,
            parallel: Some(3),
            estimate: true,
        };
        let root = util::repo_root();
        let bench_dir = root.join("target").join("bench");
        let row = FileRow {
            ext: "bson",
            file: bench_dir.join("mongo-files-10").join("orders.bson"),
            mapping: bench_dir.join("mongo-bson.mapping.json"),
            bytes: 0,
            reference: series("drain parse orders.bson", &[]),
            migrate: series("mongo2lightning migrate --source orders.bson", &[]),
            with_mapping: series(
                "mongo2lightning migrate --source orders.bson --mapping",
                &[],
            ),
        };
        let tool = Path::new("mongo2lightning");
        let store = row.store(&bench_dir);
        assert_eq!(store, bench_dir.join("mongo-bson.ldb"));
        let assess = args(&bench.assess_command(tool, &row.source(true), &store));
        assert_eq!(
            assess,
            [
                "assess",
                "--json",
                "--source",
                "target/bench/mongo-files-10/orders.bson",
                "--mapping",
                "target/bench/mongo-bson.mapping.json",
                "--target",
                "target/bench/mongo-bson.ldb",
                "--parallel",
                "3",
            ]
        );
        for with_mapping in [false, true] {
            let source = row.source(with_mapping);
            let migrate = args(&bench.migrate_command(tool, &source, &store));
            let assess = args(&bench.assess_command(tool, &source, &store));
            assert_eq!(migrate[..3], ["migrate", "--quiet", "--fresh"]);
            assert_eq!(assess[..2], ["assess", "--json"]);
            assert_eq!(migrate[3..], assess[2..]);
        }
        assert_eq!(row.label(false), "orders.bson");
        assert_eq!(row.label(true), "orders.bson --mapping");

        let live: Vec<OsString> = vec!["--source".into(), "mongodb://h:27017/db".into()];
        let store = bench_dir.join("mongo.ldb");
        let bench = MongoBench {
            parallel: None,
            ..bench
        };
        assert_eq!(
            args(&bench.assess_command(tool, &live, &store)),
            [
                "assess",
                "--json",
                "--source",
                "mongodb://h:27017/db",
                "--target",
                "target/bench/mongo.ldb",
            ]
        );
    }
}
