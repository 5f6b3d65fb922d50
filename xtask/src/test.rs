//! `cargo xtask test`: prepare what the tests need, then lint and run the whole suite.

use std::process::Stdio;

use anyhow::Result;

use crate::services;
use crate::util::{self, cargo, section, warn};

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
    section("Local services");
    let down = services::prepare();
    services::ensure_sqlite3();
    for program in ["psql", "pg_dump"] {
        services::ensure_program(program, "postgresql-client", "the pg2lightning tests");
    }
    for program in ["mariadb", "mariadb-dump"] {
        services::ensure_program(program, "mariadb-client", "the mysql2lightning tests");
    }

    if args.no_lint {
        section("Lint: skipped (--no-lint)");
    } else {
        section("Formatting");
        util::run(cargo().args(["fmt", "--all", "--", "--check"]))?;
        section("Clippy");
        util::run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }

    if nextest_available() {
        // Doc tests first, so that the log closes on the main runner's summary.
        section("Doc tests");
        util::run(cargo().args(["test", "--workspace", "--doc"]))?;
        section("Tests");
        util::run(
            cargo()
                .args(["nextest", "run", "--workspace"])
                .args(&args.runner_args),
        )?;
    } else {
        section("Tests");
        eprintln!("cargo-nextest is not installed: using cargo test");
        util::run(
            cargo()
                .args(["test", "--workspace"])
                .args(&args.runner_args),
        )?;
    }

    if !down.is_empty() {
        warn(&format!(
            "these services were not reachable during the run: {}",
            down.join(", ")
        ));
    }
    eprintln!("\nxtask test: every step passed");
    Ok(())
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
