//! `cargo xtask test`: prepare what the tests need, then lint and run the whole suite.
//!
//! Every step announces itself before it starts and gives its duration when it ends;
//! a summary of the durations closes the log. Cargo's own output (compiling, checking,
//! test results) goes straight to the terminal or to the pipe that reads the log.

use std::process::Stdio;

use anyhow::Result;

use crate::services;
use crate::util::{self, cargo, warn, Steps};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy`
    #[arg(long)]
    no_lint: bool,
    /// Arguments handed to the test runner (`cargo nextest run` or `cargo test`), after `--`
    #[arg(last = true, value_name = "RUNNER_ARGS")]
    runner_args: Vec<String>,
}

pub fn run(args: &TestArgs) -> Result<()> {
    let mut steps = Steps::new();
    let result = run_steps(args, &mut steps);
    steps.summary();
    let down = result?;
    if !down.is_empty() {
        warn(&format!(
            "these services were not reachable during the run: {}",
            down.join(", ")
        ));
    }
    eprintln!("\nxtask test: every step passed");
    Ok(())
}

/// The steps in order; returns the services that stayed down.
fn run_steps(args: &TestArgs, steps: &mut Steps) -> Result<Vec<&'static str>> {
    let down = steps.run("Local services", || Ok(services::prepare()))?;
    steps.run("Programs the tests call", || {
        services::ensure_sqlite3();
        for program in ["psql", "pg_dump"] {
            services::ensure_program(program, "postgresql-client", "the pg2lightning tests");
        }
        for program in ["mariadb", "mariadb-dump"] {
            services::ensure_program(program, "mariadb-client", "the mysql2lightning tests");
        }
        match services::sql_client_python() {
            // The tests of `lightning serve` run a Python application with it.
            Ok(python) => std::env::set_var("LIGHTNING_TEST_PYTHON", python),
            Err(e) => warn(&format!("the Python SQL clients are missing ({e:#}): the `lightning serve` client test will fail")),
        }
        if services::ensure_program("chromium", "chromium", "the browser tests") {
            // The dashboard and report pages are checked in a real browser.
            if let Some(path) = util::find_program("chromium") {
                std::env::set_var("LIGHTNING_TEST_CHROMIUM", path);
            }
        }
        match services::metrics_parser_python() {
            // The monitoring test parses /metrics with Prometheus's own parser.
            Ok(python) => std::env::set_var("LIGHTNING_TEST_PROMETHEUS_PYTHON", python),
            Err(e) => warn(&format!("the Prometheus client is missing ({e:#}): the monitoring test will fail")),
        }
        // The Singer tests run real taps and targets, one virtual environment each.
        let (singer, failed) = services::singer_packages();
        for (package, e) in &failed {
            warn(&format!(
                "{package} is missing ({e:#}): the Singer tests that run it will fail"
            ));
        }
        std::env::set_var("LIGHTNING_TEST_SINGER", singer);
        match services::jdbc_driver() {
            Ok(jar) => std::env::set_var("LIGHTNING_TEST_JDBC", jar),
            Err(e) => warn(&format!("the JDBC driver is missing ({e:#}): the `lightning serve` Java client test will fail")),
        }
        Ok(())
    })?;
    steps.run("Server settings", || {
        if let Err(e) = services::postgresql_logical_decoding() {
            warn(&format!(
                "PostgreSQL's logical decoding could not be turned on ({e:#}): the pg2lightning sync tests will fail"
            ));
        }
        if let Err(e) = services::mariadb_binlog() {
            warn(&format!(
                "MariaDB's binary log could not be turned on ({e:#}): the mysql2lightning sync tests will fail"
            ));
        }
        if let Err(e) = services::mariadb_tls() {
            warn(&format!(
                "MariaDB's TLS could not be turned on ({e:#}): the mysql2lightning TLS tests will fail"
            ));
        }
        Ok(())
    })?;

    if args.no_lint {
        steps.skip("Formatting", "--no-lint");
        steps.skip("Clippy", "--no-lint");
    } else {
        steps.run("Formatting", || {
            util::run(cargo().args(["fmt", "--all", "--", "--check"]))
        })?;
        steps.run("Clippy", || {
            eprintln!(
                "clippy checks every crate and test of the workspace: this takes several \
                 minutes when the target directory is cold (cargo's progress follows)"
            );
            util::run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
    }

    if nextest_available() {
        // Doc tests first, so that the log closes on the main runner's summary.
        steps.run("Doc tests", || {
            eprintln!(
                "builds the workspace's libraries for testing, then runs their examples \
                 (cargo's progress follows)"
            );
            util::run(cargo().args(["test", "--workspace", "--doc"]))
        })?;
        steps.run("Tests", || {
            eprintln!("builds every test binary, then runs them with cargo-nextest");
            util::run(
                cargo()
                    .args(["nextest", "run", "--workspace"])
                    .args(&args.runner_args),
            )
        })?;
    } else {
        steps.run("Tests", || {
            eprintln!(
                "cargo-nextest is not installed: using cargo test \
                 (builds every test binary, then runs them and the doc tests)"
            );
            util::run(
                cargo()
                    .args(["test", "--workspace"])
                    .args(&args.runner_args),
            )
        })?;
    }
    Ok(down)
}

fn nextest_available() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|status| status.success())
        .unwrap_or(false)
}
