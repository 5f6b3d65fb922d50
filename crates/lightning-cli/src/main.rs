//! `lightning`: the target-side tool of the Lightning migration toolkit. It looks
//! into a Lightning database, loads schemas and streams into it, and exports it.

mod export;
mod inspect;
mod load;
mod out;
mod sql;
mod sqlscript;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Inspect, load, export and check a Lightning database.
#[derive(Debug, Parser)]
#[command(
    name = "lightning",
    version,
    about = "Inspect, load, export, query and check a Lightning database",
    long_about = "\
Inspect, load, export, query and check a Lightning database.

A Lightning database is a folder (by convention named NAME.ldb) that programs
open directly, with no server. The source tools (pg2lightning, sqlite2lightning,
...) write it; `lightning` works on it from the target side: it lists and
describes tables, looks rows up, scans and exports them, checksums tables to
compare with a source, creates tables from Lightning DDL and imports the
line-delimited JSON stream the source tools export. `query` runs SQL on it and
`serve` lets PostgreSQL clients (psql, psycopg, JDBC) connect to it.

Data goes to stdout and messages to stderr, so commands chain in a shell.
Exit codes: 0 success, 1 failure, 2 bad usage, 3 `check` found damage.

Examples:

    lightning execute app.ldb --file schema.sql
    pg2lightning export --source postgres:///app | lightning import app.ldb
    lightning tables app.ldb
    lightning get app.ldb users 42
    lightning export old.ldb --all | lightning import new.ldb
    lightning query app.ldb 'SELECT status, count(*) FROM orders GROUP BY status'
    lightning serve app.ldb --listen 127.0.0.1:5433

Set LIGHTNING_LOG=debug to see what happens inside.",
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Tables(inspect::TablesArgs),
    Describe(inspect::DescribeArgs),
    Count(inspect::CountArgs),
    Get(inspect::GetArgs),
    Scan(inspect::ScanArgs),
    Checksum(inspect::ChecksumArgs),
    Execute(load::ExecuteArgs),
    Import(load::ImportArgs),
    Export(export::ExportArgs),
    Stats(inspect::StatsArgs),
    Runs(inspect::RunsArgs),
    Check(inspect::CheckArgs),
    Query(sql::QueryArgs),
    Serve(sql::ServeArgs),
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Tables(a) => inspect::tables(&a),
        Command::Describe(a) => inspect::describe(&a),
        Command::Count(a) => inspect::count(&a),
        Command::Get(a) => inspect::get(&a),
        Command::Scan(a) => inspect::scan(&a),
        Command::Checksum(a) => inspect::checksum(&a),
        Command::Execute(a) => load::execute(&a),
        Command::Import(a) => load::import(&a),
        Command::Export(a) => export::export(&a),
        Command::Stats(a) => inspect::stats(&a),
        Command::Runs(a) => inspect::runs(&a),
        Command::Check(a) => inspect::check(&a),
        Command::Query(a) => sql::query(&a),
        Command::Serve(a) => sql::serve(&a),
    }
}

// Import and export allocate and free many small values; mimalloc does that much
// faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cmd = Cli::command().subcommands(lightning_core::shell::commands());
    // `import --config FILE`: the job file's settings become options.
    let argv = match lightning_core::job::expand(&cmd, std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(e) => return lightning_core::cli::run_main(|| Err(e.into())),
    };
    let matches = cmd.clone().get_matches_from(argv);
    if let Some((name, sub)) = matches.subcommand() {
        if lightning_core::shell::is_shell_command(name) {
            return lightning_core::cli::run_main(|| lightning_core::shell::run(name, sub, cmd));
        }
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    lightning_core::cli::run_main(|| match run(cli) {
        // The reader went away (`lightning scan ... | head`): that is a normal end.
        Err(e) if out::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
