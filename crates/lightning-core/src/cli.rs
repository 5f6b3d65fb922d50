//! The arguments and runners every source tool shares, so that each tool's
//! `main.rs` holds only what is particular to its database.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::cast::CastRules;
use crate::pipeline::{copy, CopyError, CopyOptions, OnError, Resume, Source};
use crate::progress::{Phase, Progress, Status};
use crate::reject::RejectLog;
use crate::report::{self, MigrationReport, Report, TableVerification, VerificationReport};
use crate::schema::TableSchema;
use crate::sink::{StoreSink, StreamSink};
use crate::store::Store;
use crate::verify::VerifySource;
use crate::watch::{Watch, WatchArgs};

/// The rows of an opened source, for the copy and for verification.
pub trait SourceReader {
    fn source(&self) -> &dyn Source;
    /// What `migrate` reads its short sample from to size the store before the
    /// copy: the source itself, unless a read cut short there would spend what the
    /// copy needs (connections that hold the copy's snapshot).
    fn size_sample(&self) -> &dyn Source {
        self.source()
    }
    fn verifier(&self) -> &dyn VerifySource;
    /// The tables as they are read, under their target names.
    fn schemas(&self) -> Vec<TableSchema>;
    /// Notes for the end of a migration (counts of values decided by an option).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Forget what reads before the copy counted for the notes (the size
    /// sample's): a migration's notes are of its copy alone.
    fn forget_counts(&self) {}
    /// How the source was read into tables, for sources that decide it from their
    /// data (a document source's mapping): kept in the store by `migrate`.
    fn mapping(&self) -> Option<String> {
        None
    }
    /// Notes for the end of a verification.
    fn verify_notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Called with the target before it is verified: a source whose records
    /// expire (a cache) notes which target rows it no longer expects.
    fn before_verify(&self, _store: &Store) -> anyhow::Result<()> {
        Ok(())
    }
    /// Checks of whole source records rebuilt from the target, for sources whose
    /// records become rows of several tables: one entry per record set.
    fn verify_records(&self, _store: &Store) -> anyhow::Result<Vec<TableVerification>> {
        Ok(Vec::new())
    }
    /// The rows of a SQL query on the source, each value in PostgreSQL's text
    /// form (`verify --query`).
    fn query_rows(&self, _sql: &str) -> anyhow::Result<crate::query_check::TextRows> {
        anyhow::bail!("`verify --query` is not available for this source yet")
    }
    /// Where `sync` is to continue from once this copy is complete (a migration
    /// made ready for sync); none otherwise.
    fn sync_start(&self) -> anyhow::Result<Option<crate::store::SyncState>> {
        Ok(None)
    }
}

/// The reader of a source that is all one value: the same rows for the copy and
/// for verification, nothing more to say (a file read whole, a SQLite database).
pub struct PlainReader<S> {
    source: S,
    schemas: Vec<TableSchema>,
}

impl<S: Source + VerifySource> PlainReader<S> {
    pub fn new(source: S, schemas: Vec<TableSchema>) -> Self {
        PlainReader { source, schemas }
    }
}

impl<S: Source + VerifySource> SourceReader for PlainReader<S> {
    fn source(&self) -> &dyn Source {
        &self.source
    }

    fn verifier(&self) -> &dyn VerifySource {
        &self.source
    }

    fn schemas(&self) -> Vec<TableSchema> {
        self.schemas.clone()
    }
}

/// Exit code: verification found differences.
pub const EXIT_DIFFERENT: u8 = 3;

/// Which tables to work on, and what they and their columns are called in the target.
#[derive(Debug, Clone, Default, Args)]
pub struct TableFilter {
    /// Only these tables (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "TABLE,...")]
    pub tables: Vec<String>,
    /// Leave these tables out (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "TABLE,...")]
    pub exclude: Vec<String>,
    /// Give a table another name in the target: 'SOURCE => NEW' (or SOURCE=NEW;
    /// repeatable). SOURCE is the name `--tables` uses, or the source's own quoted
    /// name where two tables would get the same one.
    #[arg(long = "rename", value_name = "SOURCE => NEW")]
    pub rename: Vec<String>,
    /// Give a column another name in the target: 'TABLE.COLUMN => NEW' (repeatable).
    /// TABLE is the name `--tables` uses.
    #[arg(long = "rename-column", value_name = "TABLE.COLUMN => NEW")]
    pub rename_column: Vec<String>,
    /// How the target names tables and columns that no rename names: as the source
    /// does, in lower case, or in snake_case (`OrderItems` => `order_items`).
    #[arg(long, value_enum, default_value_t = crate::naming::NameRule::Keep)]
    pub names: crate::naming::NameRule,
}

impl TableFilter {
    /// The `--rename` pairs, checked.
    pub fn renames(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.rename
            .iter()
            .map(|r| {
                crate::naming::split_rename(r).ok_or_else(|| {
                    anyhow::anyhow!("--rename `{r}`: expected 'SOURCE => NEW' (or SOURCE=NEW)")
                })
            })
            .collect()
    }

    /// The target name of the table `name` (the source quotes it as `source_name`):
    /// its `--rename`, else `name` as `--names` says.
    pub fn target_name(&self, name: &str, source_name: &str) -> String {
        self.renames()
            .unwrap_or_default()
            .into_iter()
            .find(|(from, _)| from == source_name || from == name)
            .map_or_else(|| self.names.table(name), |(_, to)| to)
    }

    pub fn selects(&self, table: &str) -> bool {
        (self.tables.is_empty() || self.tables.iter().any(|t| t == table))
            && !self.exclude.iter().any(|t| t == table)
    }

    /// Tables named in `--tables` that the source does not have.
    pub fn unknown<'a>(&'a self, known: &[&str]) -> Vec<&'a str> {
        self.tables
            .iter()
            .map(String::as_str)
            .filter(|t| !known.contains(t))
            .collect()
    }
}

/// User cast rules.
#[derive(Debug, Clone, Default, Args)]
pub struct CastArgs {
    /// A cast rule, e.g. `type:tinyint(1) => BOOLEAN` or `column:users.born => DATE using zero-date-to-null` (repeatable).
    #[arg(long = "cast", value_name = "RULE")]
    pub casts: Vec<String>,
    /// A file of cast rules, one a line, `#` for comments (repeatable).
    #[arg(long = "casts", value_name = "FILE")]
    pub cast_files: Vec<PathBuf>,
}

impl CastArgs {
    pub fn rules(&self, defaults: CastRules) -> anyhow::Result<CastRules> {
        let mut r = defaults;
        r.add_user_rules(&self.casts, &self.cast_files)?;
        Ok(r)
    }
}

/// How a report is shown or saved.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the report as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the report to FILE (HTML if it ends in .html, JSON otherwise).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

impl ReportArgs {
    /// JSON to stdout with `--json`, files as asked, and a summary on stderr.
    pub fn emit<R: Report + serde::Serialize>(&self, r: &R) -> anyhow::Result<()> {
        if self.json {
            print_stdout(&report::to_json(r))?;
        } else {
            eprint!("{}", report::to_terminal(r));
        }
        if let Some(p) = &self.html {
            std::fs::write(p, report::to_html(r))
                .with_context(|| format!("writing {}", p.display()))?;
        }
        if let Some(p) = &self.report {
            report::write_report_file(r, p).with_context(|| format!("writing {}", p.display()))?;
        }
        Ok(())
    }
}

/// Row filters, in the source's own SQL.
#[derive(Debug, Clone, Default, Args)]
pub struct WhereArgs {
    /// Only rows matching a condition, in the source's SQL: `TABLE:CONDITION`, or a
    /// bare condition for every table (repeatable).
    #[arg(long = "where", value_name = "[TABLE:]CONDITION")]
    pub conditions: Vec<String>,
}

impl WhereArgs {
    /// The condition for each table that has one.
    pub fn by_table(&self, tables: &[&str]) -> std::collections::HashMap<String, String> {
        let mut out = std::collections::HashMap::new();
        for &table in tables {
            let mut conds = Vec::new();
            for w in &self.conditions {
                match w.split_once(':') {
                    Some((t, c)) if tables.contains(&t.trim()) => {
                        if t.trim() == table {
                            conds.push(format!("({})", c.trim()));
                        }
                    }
                    _ => conds.push(format!("({})", w.trim())),
                }
            }
            if !conds.is_empty() {
                out.insert(table.to_string(), conds.join(" AND "));
            }
        }
        out
    }
}

/// Rows per batch a migration commits, unless told (`migrate --batch-size`).
pub const DEFAULT_BATCH_SIZE: usize = 50_000;

/// Readers for a migration: the single writer and the engine's background threads
/// need about half of the cores. On 2 cores one reader is measurably faster than two
/// (and uses less memory): two interleave their key ranges, which makes the
/// engine's compactions much busier.
pub fn default_parallel() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// The options of `migrate`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The Lightning database to write (a folder; created when missing).
    #[arg(long, value_name = "PATH")]
    pub target: PathBuf,
    /// Readers working in parallel [default: half the cores, at least 1].
    #[arg(long, default_value_t = default_parallel(), hide_default_value = true, value_name = "N")]
    pub parallel: usize,
    /// Rows per committed batch.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE, value_name = "N")]
    pub batch_size: usize,
    #[command(flatten)]
    pub filter: TableFilter,
    #[command(flatten)]
    pub where_: WhereArgs,
    #[command(flatten)]
    pub cast: CastArgs,
    /// What to do with a row that cannot be carried exactly.
    #[arg(long, value_enum, default_value_t = OnError::Abort)]
    pub on_error: OnError,
    /// Where skipped rows go [default: TARGET.rejects.jsonl].
    #[arg(long, value_name = "FILE")]
    pub reject_file: Option<PathBuf>,
    /// Drop the selected tables from the target first and copy them again.
    #[arg(long)]
    pub fresh: bool,
    /// Verify the target against the source after the copy.
    #[arg(long)]
    pub verify: bool,
    /// Copy even when the target's disk looks too small. Before any row is
    /// written, a short sample of the copy measures what the store will take; the
    /// copy is refused when that, with the engine's head-room, is more than the
    /// disk has free.
    #[arg(long)]
    pub no_space_check: bool,
    /// Rows per table compared value by value when verifying.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub sample: usize,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

impl MigrateArgs {
    pub fn copy_options(&self, resume: Resume) -> CopyOptions {
        CopyOptions {
            parallel: self.parallel.max(1),
            batch_size: self.batch_size.max(1),
            on_error: self.on_error,
            resume,
            sample: None,
        }
    }
}

/// The options of `verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The Lightning database to check.
    #[arg(long, value_name = "PATH")]
    pub target: PathBuf,
    #[command(flatten)]
    pub filter: TableFilter,
    #[command(flatten)]
    pub where_: WhereArgs,
    #[command(flatten)]
    pub cast: CastArgs,
    /// Rows per table compared value by value.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub sample: usize,
    /// Make the target equal to the source where they differ: only the rows of
    /// the key ranges whose checksums differ are read and changed, then those
    /// tables are verified again.
    #[arg(long)]
    pub repair: bool,
    /// Run this SQL query on the source and on the target and compare the rows,
    /// value by value and in order (give ORDER BY); repeatable. The tables are then
    /// not checked. The target's side runs in the `lightning` tool.
    #[arg(long = "query", value_name = "SQL", conflicts_with = "repair")]
    pub queries: Vec<String>,
    /// Compare the queries of FILE (separated by `;`), as --query does.
    #[arg(long = "queries", value_name = "FILE", conflicts_with = "repair")]
    pub query_file: Option<PathBuf>,
    #[command(flatten)]
    pub watch: WatchArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// With `--strict`, refuse a conversion that loses information.
pub fn check_strict(strict: bool, conversion: &report::ConversionReport) -> anyhow::Result<()> {
    let losses: Vec<String> = conversion
        .findings
        .iter()
        .filter(|f| f.severity == report::Severity::Loss)
        .map(|f| format!("{}: {}", f.object, f.message))
        .collect();
    if strict && !losses.is_empty() {
        anyhow::bail!(
            "--strict: {} conversions lose information: {}",
            losses.len(),
            losses.join("; ")
        );
    }
    Ok(())
}

/// Write text to stdout; a reader that went away (`| head`) is a normal end.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Remove credentials from a connection string or URL before it is shown anywhere.
pub fn redact(source: &str) -> String {
    let mut s = source.to_string();
    if let Some(scheme_end) = s.find("://") {
        let rest_start = scheme_end + 3;
        if let Some(at) = s[rest_start..].find('@').map(|i| i + rest_start) {
            let userinfo = &s[rest_start..at];
            if let Some(colon) = userinfo.find(':') {
                s.replace_range(rest_start + colon + 1..at, "***");
            }
        }
    }
    // key=value forms (password=..., pwd=...) and URL query parameters.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(i) = rest
        .to_ascii_lowercase()
        .find("password=")
        .or_else(|| rest.to_ascii_lowercase().find("pwd="))
    {
        let key_len = if rest[i..].to_ascii_lowercase().starts_with("password=") {
            9
        } else {
            4
        };
        out.push_str(&rest[..i + key_len]);
        out.push_str("***");
        let after = &rest[i + key_len..];
        let end = after.find([' ', '&', ';']).unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Set up logging (`LIGHTNING_LOG=debug`, to stderr) and run a tool's main, turning
/// an error into one `error:` line and exit code 1.
pub fn run_main(f: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIGHTNING_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    crate::interrupt::install();
    // A panic in any thread ends the process at once with one line: a reader or
    // writer that died must not leave the others waiting forever. The target is as
    // consistent as after a kill.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: internal error: {}{at}; this is a bug, please report it (a target being written stays consistent: run the same command again to resume)",
            what.replace('\n', " ")
        );
        crate::interrupt::cleanup();
        std::process::exit(1);
    }));
    match f() {
        Ok(code) => code,
        Err(e) => {
            // A copy a signal stopped (an assessment's timed sample, say) ends as
            // an interruption, not a failure.
            if let Some(sig) = interrupted_by(&e) {
                eprintln!("interrupted");
                return ExitCode::from(crate::interrupt::exit_code(sig));
            }
            let msg = format!("{e:#}");
            eprintln!("error: {}", msg.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// The signal that stopped a copy somewhere in this error's chain.
fn interrupted_by(e: &anyhow::Error) -> Option<i32> {
    e.chain().find_map(|c| match c.downcast_ref::<CopyError>() {
        Some(CopyError::Interrupted(sig)) => Some(*sig),
        _ => match c.downcast_ref::<crate::assess::AssessError>() {
            Some(crate::assess::AssessError::Copy(CopyError::Interrupted(sig))) => Some(*sig),
            _ => None,
        },
    })
}

/// Run `migrate`: copy `source` into the target store, record the run, optionally
/// verify, and report; watched as `args.watch` says.
pub fn run_migrate(
    tool: &str,
    source_desc: &str,
    reader: &dyn SourceReader,
    conversion: &report::ConversionReport,
    args: &MigrateArgs,
) -> anyhow::Result<ExitCode> {
    let shown = redact(source_desc);
    // Before the store is made: a refused copy leaves nothing behind.
    if !args.no_space_check {
        // A sample that fails (a bad line in a file) leaves the copy to meet the
        // failure itself, where it keeps what came before it and can resume.
        match crate::assess::store_size(
            reader.size_sample(),
            &reader.schemas(),
            &args.target,
            args.parallel,
        ) {
            Ok(needs) => crate::space::ensure(&args.target, needs)?,
            Err(e) => {
                tracing::warn!("the free-space check is skipped: sizing the store failed ({e})")
            }
        }
        reader.forget_counts();
    }
    let store = Arc::new(Store::create_or_open(&args.target)?);
    let progress = Progress::new(tool, "migrate", &shown, &args.target.display().to_string());
    let watch = Watch::start(&args.watch, progress, Some(&args.target))?;
    let outcome = migrate(tool, &shown, reader, conversion, args, store, &watch);
    finish_watch(watch, &outcome, source_desc);
    outcome.map(|(code, _)| code)
}

/// End a watched run as its outcome says.
fn finish_watch(watch: Watch, outcome: &anyhow::Result<(ExitCode, Status)>, source_desc: &str) {
    match outcome {
        Ok((_, status)) => watch.finish(*status, None),
        Err(e) if interrupted_by(e).is_some() => watch.finish(Status::Interrupted, None),
        Err(e) => {
            let shown = crate::text::redact_password(&format!("{e:#}"), source_desc);
            watch.finish(Status::Failed, Some(&shown));
        }
    }
}

fn migrate(
    tool: &str,
    source_desc: &str,
    reader: &dyn SourceReader,
    conversion: &report::ConversionReport,
    args: &MigrateArgs,
    store: Arc<Store>,
    watch: &Watch,
) -> anyhow::Result<(ExitCode, Status)> {
    let progress = watch.progress();
    let source = reader.source();
    let tables = reader.schemas();
    let source_desc = source_desc.to_string();
    if args.fresh {
        for t in &tables {
            if store.table(&t.name).is_ok() {
                store.drop_table(&t.name)?;
            }
        }
        // A new copy: the old one's place in the source's log no longer applies.
        store.set_sync_state(None)?;
    }
    // Checkpoints belong to the source they were taken from: resuming a copy of
    // one source with another would skip rows the new source has.
    let copied: Vec<String> = store
        .checkpoints()?
        .into_iter()
        .filter(|c| tables.iter().any(|t| t.name == c.table))
        .map(|c| c.table)
        .collect();
    let previous = store.runs()?.into_iter().rev().find(|r| r.tool == tool);
    if let Some(previous) = &previous {
        if previous.source != source_desc && !copied.is_empty() {
            anyhow::bail!(
                "{} already holds tables copied from {} (run {}), not from {source_desc}: use --fresh to copy them again from this source, or another target",
                args.target.display(),
                crate::text::for_terminal(&previous.source),
                previous.id
            );
        }
    }
    // A resumed copy goes on where the earlier run stopped only when it reads the
    // same content; otherwise what the earlier run wrote is repaired after it.
    let content_id = source.content_id();
    let same_content = content_id.is_some()
        && previous.as_ref().and_then(|r| r.content_id.as_ref()) == content_id.as_ref();
    let resume = if same_content {
        Resume::SameContent
    } else {
        Resume::MayDiffer
    };
    if let Some(mapping) = reader.mapping() {
        store.set_source_mapping(tool, &mapping)?;
    }
    let run_id = store.start_run(tool, &source_desc)?;
    progress.set_run_id(run_id);
    progress.stored_before(
        tables
            .iter()
            .map(|t| (t.name.clone(), store.count(&t.name).unwrap_or(0))),
    );
    let mut run = store.run(run_id)?;
    run.content_id = content_id;
    store.update_run(&run)?;
    tracing::info!(run_id, target = %args.target.display(), "migration started");
    let reject_path = args
        .reject_file
        .clone()
        .unwrap_or_else(|| crate::reject::default_path(&args.target));
    let mut rejects = (args.on_error == OnError::Skip).then(|| RejectLog::new(&reject_path));
    let mut sink = StoreSink::new(store.clone());
    let transformed_before = crate::cast::transformed();
    let outcome = copy(
        source,
        &tables,
        &mut sink,
        &args.copy_options(resume),
        rejects.as_mut(),
        progress,
    );
    run.finished_at = Some(crate::store::now_rfc3339());
    let summary = match outcome {
        Ok(s) => s,
        Err(CopyError::Interrupted(sig)) => {
            run.status = "interrupted".into();
            store.update_run(&run)?;
            watch.stop_display();
            eprintln!(
                "{}: the target {} is consistent; run the same command again to resume",
                if sig == 15 {
                    "terminated"
                } else {
                    "interrupted"
                },
                args.target.display()
            );
            return Ok((
                ExitCode::from(crate::interrupt::exit_code(sig)),
                Status::Interrupted,
            ));
        }
        Err(e) => {
            run.status = "failed".into();
            run.error = Some(e.to_string());
            store.update_run(&run)?;
            return Err(anyhow::Error::new(e).context(format!(
                "migration stopped; the target {} is consistent: run the same command again to resume",
                args.target.display()
            )));
        }
    };
    crate::fault::point("copied");
    // Counted now: verifying applies the same rules again.
    let transform_notes = crate::cast::transform_notes(transformed_before);
    // Tables resumed in another state of the source, or read in several
    // snapshots, are brought level with the source (in the run's snapshot).
    let marked = store.marked_for_repair()?;
    for t in tables.iter().filter(|t| marked.contains(&t.name)) {
        progress.set_phase(Phase::Repairing);
        eprintln!(
            "bringing `{}` level with the source (it was copied in more than one state of it)",
            crate::text::for_terminal(&t.name)
        );
        let counts = repair_marked(reader.verifier(), &store, t)?;
        run.repaired.insert(t.name.clone(), counts);
    }
    if !run.repaired.is_empty() {
        store.flush()?;
    }
    if let Some(state) = reader.sync_start()? {
        // Sync starts from one snapshot of the source: a copy resumed from an
        // earlier run, or read in several snapshots, has no single one.
        if summary.partitions_already_done > 0 || !summary.to_repair.is_empty() {
            store.set_sync_state(None)?;
            run.status = "completed".into();
            store.update_run(&run)?;
            anyhow::bail!(
                "the copy in {} is complete, but it was made in more than one snapshot of the \
                 source (it was resumed, or its snapshot was lost), so sync cannot know exactly \
                 where it stands. For sync, copy again in one go: add --fresh",
                args.target.display()
            );
        }
        store.set_sync_state(Some(&state))?;
        eprintln!(
            "ready for sync: `{tool} sync --target {}` continues from {}, where this copy stands",
            args.target.display(),
            state.position
        );
    }
    run.status = "completed".into();
    run.rows_written = summary.rows_written;
    run.rows_rejected = summary.rows_rejected;
    store.update_run(&run)?;
    let rows_per_sec = if summary.elapsed_secs > 0.0 {
        summary.rows_written as f64 / summary.elapsed_secs
    } else {
        0.0
    };
    let verification = if args.verify {
        Some(verify_tables(
            tool,
            &source_desc,
            &store,
            reader,
            &tables,
            args.sample,
            progress,
        )?)
    } else {
        None
    };
    if let Some(v) = &verification {
        // The run keeps the checksums the verification computed of the target.
        run.tables = v
            .tables
            .iter()
            .map(|t| (t.table.clone(), t.target_checksum))
            .collect();
        store.update_run(&run)?;
    }
    let equal = verification.as_ref().is_none_or(|v| v.equal);
    let report = MigrationReport {
        kind: "migration",
        version: report::REPORT_VERSION,
        tool: tool.into(),
        source: source_desc,
        target: args.target.display().to_string(),
        run_id,
        generated_at: crate::store::now_rfc3339(),
        invocation: report::Invocation::current(),
        rows_per_sec,
        store_bytes: report::dir_size(&args.target)
            .with_context(|| format!("measuring {}", args.target.display()))?,
        reject_file: (summary.rows_rejected > 0).then(|| reject_path.display().to_string()),
        summary,
        repaired: run.repaired.clone(),
        findings: conversion
            .findings
            .iter()
            .filter(|f| f.severity != report::Severity::Info)
            .cloned()
            .collect(),
        notes: reader.notes().into_iter().chain(transform_notes).collect(),
        verification,
    };
    watch.stop_display();
    args.report.emit(&report)?;
    Ok(verdict(equal))
}

/// The exit code and final status of a run whose target is `equal` to the source
/// (or was not verified).
fn verdict(equal: bool) -> (ExitCode, Status) {
    if equal {
        (ExitCode::SUCCESS, Status::Completed)
    } else {
        (ExitCode::from(EXIT_DIFFERENT), Status::Different)
    }
}

/// Repair a table marked for a repair, clear its mark, and say what changed. The
/// mark is cleared only once the repair is done: an interrupted one is done again.
fn repair_marked(
    source: &dyn VerifySource,
    store: &Store,
    t: &TableSchema,
) -> anyhow::Result<crate::store::RepairCounts> {
    let counts = crate::verify::repair_table(source, t, store)
        .with_context(|| format!("repairing table `{}`", t.name))?;
    store.repaired(&t.name)?;
    eprintln!(
        "repaired `{}`: {} rows inserted, {} updated, {} deleted",
        crate::text::for_terminal(&t.name),
        counts.inserted,
        counts.updated,
        counts.deleted
    );
    Ok(counts)
}

/// Verify each table and build the report (the target named as the store's path).
pub fn verify_tables(
    tool: &str,
    source_desc: &str,
    store: &Store,
    reader: &dyn SourceReader,
    tables: &[TableSchema],
    sample: usize,
    progress: &Progress,
) -> anyhow::Result<VerificationReport> {
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    progress.set_phase(Phase::Verifying);
    reader.before_verify(store)?;
    let mut results =
        crate::verify::verify_tables(reader.verifier(), tables, store, sample, parallel, progress)?;
    results.extend(reader.verify_records(store)?);
    progress.verdict(results.iter().all(|t| t.equal));
    let mut report = VerificationReport::new(
        tool,
        &redact(source_desc),
        &store.path().display().to_string(),
        results,
    );
    report.notes = reader.verify_notes();
    Ok(report)
}

/// Run `verify`: exit 0 when equal, 3 when something differs. With `--repair`,
/// differing tables are repaired first and verified again.
pub fn run_verify(
    tool: &str,
    source_desc: &str,
    reader: &dyn SourceReader,
    args: &VerifyArgs,
) -> anyhow::Result<ExitCode> {
    if !args.queries.is_empty() || args.query_file.is_some() {
        return verify_queries(tool, source_desc, reader, args);
    }
    let shown = redact(source_desc);
    let progress = Progress::new(tool, "verify", &shown, &args.target.display().to_string());
    let watch = Watch::start(&args.watch, progress, Some(&args.target))?;
    let outcome = verify(tool, source_desc, reader, args, &watch);
    finish_watch(watch, &outcome, source_desc);
    outcome.map(|(code, _)| code)
}

fn verify(
    tool: &str,
    source_desc: &str,
    reader: &dyn SourceReader,
    args: &VerifyArgs,
    watch: &Watch,
) -> anyhow::Result<(ExitCode, Status)> {
    let progress = watch.progress();
    let tables = reader.schemas();
    let store = if args.repair {
        Store::open(&args.target)?
    } else {
        Store::open_to_read(&args.target)?
    };
    let mut report = verify_tables(
        tool,
        source_desc,
        &store,
        reader,
        &tables,
        args.sample,
        progress,
    )?;
    if args.repair && !report.equal {
        let mut again = Vec::new();
        for t in report.tables.iter().filter(|t| !t.equal) {
            // Records rebuilt from several tables are repaired through their tables.
            let Some(schema) = tables.iter().find(|s| s.name == t.table) else {
                continue;
            };
            if !t.schema_differences.is_empty() {
                eprintln!(
                    "cannot repair `{}` row by row ({}): copy it again with `migrate --fresh --tables {}`",
                    crate::text::for_terminal(&t.table),
                    crate::text::for_terminal(&t.schema_differences.join("; ")),
                    crate::text::for_terminal(&t.table)
                );
                continue;
            }
            progress.set_phase(Phase::Repairing);
            store.mark_for_repair(std::slice::from_ref(&schema.name))?;
            let counts = repair_marked(reader.verifier(), &store, schema)?;
            report.repaired.insert(schema.name.clone(), counts);
            again.push(schema.clone());
        }
        store.flush()?;
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        progress.set_phase(Phase::Verifying);
        let second = crate::verify::verify_tables(
            reader.verifier(),
            &again,
            &store,
            args.sample,
            parallel,
            progress,
        )?;
        let records = reader.verify_records(&store)?;
        for v in second.into_iter().chain(records) {
            if let Some(slot) = report.tables.iter_mut().find(|t| t.table == v.table) {
                *slot = v;
            }
        }
        report.equal = report.tables.iter().all(|t| t.equal);
        progress.verdict(report.equal);
    }
    if args.filter.tables.is_empty() && args.filter.exclude.is_empty() {
        report.target_only_tables = store
            .tables()
            .into_iter()
            .map(|t| t.name)
            .filter(|n| !tables.iter().any(|s| &s.name == n))
            .collect();
    }
    watch.stop_display();
    args.report.emit(&report)?;
    Ok(verdict(report.equal))
}

/// `verify --query`: each query on the source and on the target, compared.
fn verify_queries(
    tool: &str,
    source_desc: &str,
    reader: &dyn SourceReader,
    args: &VerifyArgs,
) -> anyhow::Result<ExitCode> {
    let mut queries = args.queries.clone();
    if let Some(file) = &args.query_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the queries file {}", file.display()))?;
        queries.extend(crate::query_check::split_statements(&text));
    }
    if !args.target.exists() {
        anyhow::bail!(
            "{} does not exist: migrate into it first",
            args.target.display()
        );
    }
    let mut checks = Vec::new();
    for sql in &queries {
        let source = reader
            .query_rows(sql)
            .with_context(|| format!("running on the source: {sql}"))?;
        let target = crate::query_check::store_rows(&args.target, sql)
            .with_context(|| format!("running on the target: {sql}"))?;
        checks.push(crate::query_check::compare(sql, &source, &target));
    }
    let mut report = VerificationReport::new(
        tool,
        &redact(source_desc),
        &args.target.display().to_string(),
        Vec::new(),
    );
    report.equal = checks.iter().all(|c| c.equal);
    report.queries = checks;
    args.report.emit(&report)?;
    Ok(if report.equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DIFFERENT)
    })
}

/// The options of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: TableFilter,
    #[command(flatten)]
    pub cast: CastArgs,
    /// What to do with a row that cannot be carried exactly.
    #[arg(long, value_enum, default_value_t = OnError::Abort)]
    pub on_error: OnError,
    /// Where skipped rows go.
    #[arg(long, value_name = "FILE", default_value = "export.rejects.jsonl")]
    pub reject_file: PathBuf,
    #[command(flatten)]
    pub tap: crate::tap::TapArgs,
}

/// Run `export`: the stream on stdout, of the streams `tap` selects and going on
/// from its state.
pub fn run_export(
    source: &dyn Source,
    tables: &[TableSchema],
    args: &ExportArgs,
    tap: crate::tap::TapInput,
) -> anyhow::Result<ExitCode> {
    // Positions of a file source belong to the file they were taken from.
    let live = source.content_id().is_none();
    if !live && tap.state.as_ref().is_some_and(|s| !s.is_empty()) {
        eprintln!(
            "note: a file source is read whole: the positions in --state belong to the file they were taken from"
        );
    }
    let selected;
    let (source, tables): (&dyn Source, Vec<TableSchema>) = match &tap.streams {
        Some(streams) => {
            selected = crate::tap::Selected {
                inner: source,
                streams,
            };
            let kept = tables.iter().filter(|t| streams.contains(&t.name));
            (&selected, kept.cloned().collect())
        }
        None => (source, tables.to_vec()),
    };
    let stdout = std::io::stdout();
    let mut sink = StreamSink::new(std::io::BufWriter::with_capacity(1 << 16, stdout.lock()));
    if let Some(state) = tap.state {
        sink = sink.with_state(state, live);
    }
    if let Some(streams) = &tap.streams {
        sink = sink.only(streams.clone());
    }
    let opts = CopyOptions {
        parallel: 1,
        batch_size: 10_000,
        on_error: args.on_error,
        resume: Resume::SameContent,
        sample: None,
    };
    let mut rejects = (args.on_error == OnError::Skip).then(|| RejectLog::new(&args.reject_file));
    let summary = match copy(
        source,
        &tables,
        &mut sink,
        &opts,
        rejects.as_mut(),
        &Progress::hidden(),
    ) {
        // The reader of the stream went away (`| head`): a normal end.
        Err(CopyError::Sink(crate::sink::SinkError::Io(e)))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            return Ok(ExitCode::SUCCESS)
        }
        Err(CopyError::Interrupted(sig)) => {
            return Ok(ExitCode::from(crate::interrupt::exit_code(sig)))
        }
        other => other?,
    };
    if summary.rows_rejected > 0 {
        eprintln!(
            "warning: {} rows could not be exported; they are in {}",
            summary.rows_rejected,
            args.reject_file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            redact("host=db user=app password=s3cret dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        assert_eq!(
            redact("mysql://u:p@h/d?x=1&password=zz"),
            "mysql://u:***@h/d?x=1&password=***"
        );
        assert_eq!(redact("/data/app.sqlite"), "/data/app.sqlite");
    }
}
