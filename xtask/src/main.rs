//! Project automation for the Lightning migration toolkit.
//!
//! Run through the cargo alias: `cargo xtask <task>`.
//!
//! - `test`: starts the local services the tests use when they are down, then runs
//!   `cargo fmt --check`, `cargo clippy` and the whole test suite.
//! - `bench`: measures each tool against its source's own dump tool on a generated
//!   database (`sqlite3 .dump`, `pg_dump`, `mariadb-dump`; for MongoDB, the driver
//!   draining a `find()` cursor and the `bson` crate parsing the files).
//! - `dist`: the tools built for release with their shell completions and manual
//!   pages, as an install tree under `target/dist`.
//! - `fixtures`: regenerates the bundled sample database `examples/shop.sqlite`.

mod bench;
mod bench_estimate;
mod bench_mariadb;
mod bench_mongo;
mod bench_pg;
mod bench_pgbench;
mod bench_redis;
mod bench_server;
mod bench_sql;
mod bench_sync;
mod bench_sync_mariadb;
mod dist;
mod fixtures;
mod services;
mod synth;
mod test;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Project automation for the Lightning migration toolkit"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Start the local services the tests use, then run fmt, clippy and the whole test suite
    Test(test::TestArgs),
    /// Measure the tools (migrate, verify) against each source's dump tool on generated data
    Bench(bench::BenchArgs),
    /// Build the tools for release with their shell completions and manual pages (target/dist)
    Dist,
    /// Regenerate the bundled sample database examples/shop.sqlite
    Fixtures,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Test(args) => test::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Dist => dist::run_dist(),
        Task::Fixtures => fixtures::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
