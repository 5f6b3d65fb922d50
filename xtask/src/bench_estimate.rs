//! What the bench cases share to check `assess` against `migrate`: each tool's
//! `assess --json` is run once before its migrate is measured (not timed as part of
//! it), and its `estimate` (`estimated_secs`, `store_bytes`) is compared with the
//! measured migrate time and the store's size on disk afterwards, so that a
//! regression in the estimate shows in the report.
//!
//! An `assess` that fails or prints no estimate does not stop the bench: it is
//! warned about, and shown as such in the table and the JSON.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::bench::{mb, round};
use crate::util::{self, describe};

/// How far an estimate may be from the measurement and still count as right:
/// estimate / actual within 1 ± this.
pub(crate) const TOLERANCE: f64 = 0.25;

/// `TOOL assess --json`, to be completed with the same source, `--target`,
/// `--tables` and `--parallel` as the migrate it predicts.
pub(crate) fn command(bin: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["assess", "--json"]);
    cmd
}

/// What `assess` predicted for a migrate.
#[derive(Debug, Clone)]
pub(crate) struct Predicted {
    /// `estimate.estimated_secs`: the migrate's wall time.
    pub secs: f64,
    /// `estimate.store_bytes`: the store's size on disk after the migrate.
    pub store_bytes: u64,
    /// The whole `estimate` object as printed.
    pub raw: Value,
}

/// One run of `assess`.
#[derive(Debug, Clone)]
pub(crate) struct Assessed {
    pub command: String,
    /// How long `assess` itself took.
    pub took_secs: f64,
    /// The prediction, or why there is none.
    pub outcome: Result<Predicted, String>,
}

/// Reads the `estimate` out of `assess --json`'s report.
pub(crate) fn parse(stdout: &str) -> Result<Predicted> {
    let report: Value =
        serde_json::from_str(stdout.trim()).context("the output is not one JSON document")?;
    let Some(estimate) = report.get("estimate").filter(|e| e.is_object()) else {
        bail!("the report has no `estimate` object");
    };
    let secs = estimate
        .get("estimated_secs")
        .and_then(Value::as_f64)
        .context("`estimate.estimated_secs` is missing or not a number")?;
    let store_bytes = estimate
        .get("store_bytes")
        .and_then(Value::as_u64)
        .context("`estimate.store_bytes` is missing or not an unsigned integer")?;
    Ok(Predicted {
        secs,
        store_bytes,
        raw: estimate.clone(),
    })
}

/// Before a migrate's rounds, not timed: `cmd` run once, with the store removed
/// first (as the migrate finds it); `None` when estimates are off.
pub(crate) fn before_rounds(
    enabled: bool,
    name: &str,
    store: &Path,
    cmd: &mut Command,
    bench_dir: &Path,
) -> Result<Option<Assessed>> {
    if !enabled {
        return Ok(None);
    }
    crate::util::section(&format!("{name} (the estimate; not timed)"));
    util::remove_path(store)?;
    Ok(Some(run(name, cmd, bench_dir)))
}

/// Runs `cmd` (from [`command`]) from the workspace root with its stderr in
/// `<bench_dir>/<name>.stderr.log`, and reads its estimate. Never fails: a failure
/// is warned about and kept in [`Assessed::outcome`].
pub(crate) fn run(name: &str, cmd: &mut Command, bench_dir: &Path) -> Assessed {
    let command = describe(cmd);
    eprintln!("$ {command}");
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let log = bench_dir.join(format!("{slug}.stderr.log"));
    let began = Instant::now();
    let outcome = run_logged(cmd, &log);
    let took_secs = began.elapsed().as_secs_f64();
    let outcome = outcome.map_err(|err| {
        let tail = util::tail(&log, 20);
        util::warn(&format!(
            "{name}: no estimate ({err:#}); `{command}` stderr, last lines:\n{tail}"
        ));
        format!("{err:#}")
    });
    if let Ok(p) = &outcome {
        eprintln!(
            "{name}: estimated {:.2} s, store {:.1} MB (assess took {took_secs:.2} s)",
            p.secs,
            mb(p.store_bytes)
        );
    }
    Assessed {
        command,
        took_secs,
        outcome,
    }
}

fn run_logged(cmd: &mut Command, log: &Path) -> Result<Predicted> {
    let stderr =
        File::create(log).with_context(|| format!("could not create {}", log.display()))?;
    let out = cmd
        .current_dir(util::repo_root())
        .stdin(Stdio::null())
        .stderr(stderr)
        .output()
        .context("could not start assess (is the binary built?)")?;
    let parsed = parse(&String::from_utf8_lossy(&out.stdout));
    match parsed {
        // A report with failed checks may come with a failing exit status; its
        // estimate still counts.
        Ok(p) => {
            if !out.status.success() {
                util::warn(&format!(
                    "assess exited with {} but printed an estimate; using it",
                    out.status
                ));
            }
            Ok(p)
        }
        Err(err) if !out.status.success() => {
            Err(err.context(format!("assess failed ({})", out.status)))
        }
        Err(err) => Err(err),
    }
}

/// Whether estimate / actual is within 1 ± [`TOLERANCE`].
pub(crate) fn within(ratio: f64) -> bool {
    ratio.is_finite() && (ratio - 1.0).abs() <= TOLERANCE + 1e-9
}

/// An estimate over what it predicted: `None` without an estimate or when the
/// measurement is zero.
fn ratio(estimate: f64, actual: f64) -> Option<f64> {
    (actual > 0.0 && estimate.is_finite()).then(|| estimate / actual)
}

/// One source's estimate against its migrate.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    /// Shown in the table: `PostgreSQL`, `pg_dump file`.
    pub source: String,
    pub assessed: Assessed,
    /// The migrate's time: the median over the rounds, or the one run.
    pub actual_secs: f64,
    /// The store's size on disk after the (last) migrate.
    pub actual_store_bytes: u64,
}

impl Comparison {
    pub(crate) fn new(
        source: impl Into<String>,
        assessed: Assessed,
        actual_secs: f64,
        actual_store_bytes: u64,
    ) -> Self {
        Comparison {
            source: source.into(),
            assessed,
            actual_secs,
            actual_store_bytes,
        }
    }

    fn predicted(&self) -> Option<&Predicted> {
        self.assessed.outcome.as_ref().ok()
    }

    /// Estimated time / measured time.
    pub(crate) fn time_ratio(&self) -> Option<f64> {
        self.predicted()
            .and_then(|p| ratio(p.secs, self.actual_secs))
    }

    /// Estimated store size / measured store size.
    pub(crate) fn size_ratio(&self) -> Option<f64> {
        self.predicted()
            .and_then(|p| ratio(p.store_bytes as f64, self.actual_store_bytes as f64))
    }

    /// Both the time and the size estimate within ±25 %.
    pub(crate) fn within(&self) -> bool {
        matches!((self.time_ratio(), self.size_ratio()), (Some(t), Some(s)) if within(t) && within(s))
    }

    /// The verdict cell: `yes`, or `**no**` and what is off.
    fn verdict(&self) -> String {
        if self.predicted().is_none() {
            return "**no** (assess failed)".into();
        }
        let off: Vec<&str> = [("time", self.time_ratio()), ("size", self.size_ratio())]
            .into_iter()
            .filter(|(_, r)| !r.is_some_and(within))
            .map(|(what, _)| what)
            .collect();
        if off.is_empty() {
            "yes".into()
        } else {
            format!("**no** ({})", off.join(", "))
        }
    }

    /// One row of [`markdown`]'s table.
    pub(crate) fn row(&self) -> String {
        let opt = |v: Option<f64>, places: usize| {
            v.map_or_else(|| "—".to_string(), |v| format!("{v:.places$}"))
        };
        let p = self.predicted();
        format!(
            "| {} | {} | {:.2} | {} | {} | {:.1} | {} | {} |\n",
            self.source,
            opt(p.map(|p| p.secs), 2),
            self.actual_secs,
            opt(self.time_ratio(), 2),
            opt(p.map(|p| mb(p.store_bytes)), 1),
            mb(self.actual_store_bytes),
            opt(self.size_ratio(), 2),
            self.verdict(),
        )
    }

    /// The numbers for the results file.
    pub(crate) fn json(&self) -> Value {
        let p = self.predicted();
        let time_ratio = self.time_ratio();
        let size_ratio = self.size_ratio();
        json!({
            "command": self.assessed.command,
            "assess_seconds": round(self.assessed.took_secs, 3),
            "estimated_seconds": p.map(|p| round(p.secs, 3)),
            "actual_seconds": round(self.actual_secs, 3),
            "time_estimate_vs_actual": time_ratio.map(|r| round(r, 3)),
            "estimated_store_bytes": p.map(|p| p.store_bytes),
            "actual_store_bytes": self.actual_store_bytes,
            "estimated_store_mb": p.map(|p| round(mb(p.store_bytes), 2)),
            "actual_store_mb": round(mb(self.actual_store_bytes), 2),
            "size_estimate_vs_actual": size_ratio.map(|r| round(r, 3)),
            "tolerance": TOLERANCE,
            "time_within_tolerance": time_ratio.map(within),
            "size_within_tolerance": size_ratio.map(within),
            "within_tolerance": self.within(),
            "assess_estimate": p.map(|p| p.raw.clone()),
            "error": self.assessed.outcome.as_ref().err(),
        })
    }
}

/// The table of estimates against measurements (empty without any).
pub(crate) fn markdown(comparisons: &[Comparison]) -> String {
    if comparisons.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\n`assess` estimate against the measured `migrate` (time: the median of its \
         rounds, or its one run; store: size on disk after the last migrate)\n\n\
         | source | estimated time (s) | actual median (s) | time estimate / actual \
         | estimated store (MB) | actual store (MB) | size estimate / actual | within ±{:.0} % |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
        TOLERANCE * 100.0
    );
    for c in comparisons {
        md.push_str(&c.row());
    }
    let off = comparisons.iter().filter(|c| !c.within()).count();
    if off > 0 {
        md.push_str(&format!(
            "\n**{off} of {} estimates off by more than ±{:.0} %**\n",
            comparisons.len(),
            TOLERANCE * 100.0
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assessed(secs: f64, store_bytes: u64) -> Assessed {
        Assessed {
            command: "pg2lightning assess --json".into(),
            took_secs: 1.5,
            outcome: Ok(Predicted {
                secs,
                store_bytes,
                raw: json!({ "estimated_secs": secs, "store_bytes": store_bytes }),
            }),
        }
    }

    fn failed() -> Assessed {
        Assessed {
            command: "mysql2lightning assess --json".into(),
            took_secs: 0.1,
            outcome: Err("assess failed (exit status: 2)".into()),
        }
    }

    #[test]
    fn reads_the_estimate_out_of_the_report() {
        let report = r#"{
            "kind": "assessment", "tables": [],
            "estimate": { "sampled_rows": 20000, "sampled_secs": 0.4, "rows_per_sec": 50000.0,
                          "estimated_secs": 12.5, "parallel": 4, "startup_secs": 0.05,
                          "store_bytes": 734003200, "complete": false }
        }"#;
        let p = parse(report).unwrap();
        assert_eq!(p.secs, 12.5);
        assert_eq!(p.store_bytes, 734_003_200);
        assert_eq!(p.raw["parallel"], 4);
        assert!(parse(r#"{"kind": "assessment"}"#).is_err());
        assert!(parse(r#"{"estimate": {"estimated_secs": 1.0}}"#).is_err());
        assert!(parse("not json").is_err());
    }

    #[test]
    fn ratios_and_the_25_percent_verdict() {
        assert!(within(1.0));
        assert!(within(0.75));
        assert!(within(1.25));
        assert!(!within(0.749));
        assert!(!within(1.251));
        assert!(!within(f64::NAN));
        assert!(!within(f64::INFINITY));

        let good = Comparison::new("SQLite", assessed(11.0, 90_000_000), 10.0, 100_000_000);
        assert!((good.time_ratio().unwrap() - 1.1).abs() < 1e-12);
        assert!((good.size_ratio().unwrap() - 0.9).abs() < 1e-12);
        assert!(good.within());
        assert_eq!(good.verdict(), "yes");

        let slow = Comparison::new("MariaDB", assessed(5.0, 100_000_000), 10.0, 100_000_000);
        assert_eq!(slow.time_ratio(), Some(0.5));
        assert!(!slow.within());
        assert_eq!(slow.verdict(), "**no** (time)");

        let both = Comparison::new("x", assessed(20.0, 300_000_000), 10.0, 100_000_000);
        assert_eq!(both.verdict(), "**no** (time, size)");

        // A store that measured nothing gives no ratio, and no pass.
        let empty = Comparison::new("x", assessed(10.0, 0), 10.0, 0);
        assert_eq!(empty.size_ratio(), None);
        assert_eq!(empty.verdict(), "**no** (size)");

        let none = Comparison::new("x", failed(), 10.0, 100_000_000);
        assert_eq!((none.time_ratio(), none.size_ratio()), (None, None));
        assert!(!none.within());
    }

    #[test]
    fn renders_rows_and_json() {
        let comparisons = [
            Comparison::new("PostgreSQL", assessed(9.2, 512_000_000), 8.0, 480_000_000),
            Comparison::new("MariaDB", assessed(4.1, 480_000_000), 10.0, 470_000_000),
            Comparison::new("SQLite", failed(), 6.5, 475_000_000),
            Comparison::new("pg_dump file", assessed(7.0, 700_000_000), 7.4, 481_000_000),
        ];
        let md = markdown(&comparisons);
        println!("{md}");
        assert!(md.contains(
            "| source | estimated time (s) | actual median (s) | time estimate / actual \
             | estimated store (MB) | actual store (MB) | size estimate / actual | within ±25 % |"
        ));
        assert!(md.contains("| PostgreSQL | 9.20 | 8.00 | 1.15 | 512.0 | 480.0 | 1.07 | yes |"));
        assert!(
            md.contains("| MariaDB | 4.10 | 10.00 | 0.41 | 480.0 | 470.0 | 1.02 | **no** (time) |")
        );
        assert!(md.contains("| SQLite | — | 6.50 | — | — | 475.0 | — | **no** (assess failed) |"));
        assert!(md.contains(
            "| pg_dump file | 7.00 | 7.40 | 0.95 | 700.0 | 481.0 | 1.46 | **no** (size) |"
        ));
        assert!(md.contains("**3 of 4 estimates off by more than ±25 %**"));
        assert_eq!(markdown(&[]), "");

        let j = comparisons[0].json();
        assert_eq!(j["estimated_seconds"], 9.2);
        assert_eq!(j["actual_seconds"], 8.0);
        assert_eq!(j["time_estimate_vs_actual"], 1.15);
        assert_eq!(j["estimated_store_bytes"], 512_000_000);
        assert_eq!(j["actual_store_bytes"], 480_000_000);
        assert_eq!(j["size_estimate_vs_actual"], 1.067);
        assert_eq!(j["within_tolerance"], true);
        assert_eq!(j["assess_estimate"]["estimated_secs"], 9.2);
        assert!(j["error"].is_null());
        let j = comparisons[2].json();
        assert!(j["estimated_seconds"].is_null());
        assert_eq!(j["within_tolerance"], false);
        assert_eq!(j["error"], "assess failed (exit status: 2)");
    }

    #[test]
    fn runs_assess_and_keeps_a_failure() {
        let dir = std::env::temp_dir().join(format!("xtask-estimate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ok = Command::new("sh");
        ok.args([
            "-c",
            r#"echo progress >&2; echo '{"estimate": {"estimated_secs": 3.5, "store_bytes": 42}}'"#,
        ]);
        let a = run("fake assess", &mut ok, &dir);
        let p = a.outcome.unwrap();
        assert_eq!((p.secs, p.store_bytes), (3.5, 42));
        assert_eq!(
            util::tail(&dir.join("fake-assess.stderr.log"), 1),
            "progress"
        );

        let mut bad = Command::new("sh");
        bad.args([
            "-c",
            "echo 'error: unexpected argument --target' >&2; exit 2",
        ]);
        let a = run("fake assess", &mut bad, &dir);
        let err = a.outcome.unwrap_err();
        assert!(err.contains("assess failed"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
