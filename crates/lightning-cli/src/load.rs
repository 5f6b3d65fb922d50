//! Commands that write into a store: execute (Lightning DDL) and import (the stream).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use lightning_core::pipeline::OnError;
use lightning_core::reject::RejectLog;
use lightning_core::store::{BadRows, BatchRow, Checkpoint, RejectedRow, StoreError, WriteMode};
use lightning_core::stream::{Message, StreamError, StreamReader};
use lightning_core::{ddl, report, Store, TableSchema, Value};

/// Read a whole file, or stdin for `-`.
fn read_text(path: &Path) -> anyhow::Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .context("reading stdin")?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(text)
}

fn input_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// Create tables from a Lightning DDL file
///
/// Reads CREATE TABLE and CREATE INDEX statements (as `convert-schema` and
/// `lightning describe` print them) and creates the tables, creating DB when it
/// does not exist. A table that already exists with the same schema is left as
/// it is; one that exists with a different schema is an error, and then no
/// table is created. The whole file is checked before anything is written: a
/// syntax error is reported as FILE:LINE: message.
///
/// Examples:
///
///     $ lightning execute app.ldb --file schema.sql
///     created table `users` (3 columns)
///     $ pg2lightning convert-schema --source postgres:///app | lightning execute app.ldb --file -
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ExecuteArgs {
    /// The Lightning database (a folder; created when missing).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The Lightning DDL to run, or - for stdin.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: PathBuf,
}

pub fn execute(a: &ExecuteArgs) -> anyhow::Result<ExitCode> {
    let text = read_text(&a.file)?;
    let tables = ddl::parse_schema(&text)
        .map_err(|e| anyhow!("{}:{}: {}", input_name(&a.file), e.line, e.message))?;
    if tables.is_empty() {
        bail!("{} holds no CREATE TABLE statement", input_name(&a.file));
    }
    let store = Store::create_or_open(&a.db)?;
    let mut existing = Vec::new();
    for t in &tables {
        if let Ok(have) = store.table(&t.name) {
            if have != *t {
                bail!(
                    "table `{}` already exists in {} with a different schema (see `lightning describe`); nothing was created",
                    t.name,
                    a.db.display()
                );
            }
            existing.push(t.name.clone());
        }
    }
    for t in &tables {
        store.create_table(t)?;
        if existing.contains(&t.name) {
            eprintln!(
                "table `{}` already exists with this schema (unchanged)",
                t.name
            );
        } else {
            let n = t.columns.len();
            let ix = t.indexes.len();
            let mut msg = format!(
                "created table `{}` ({n} column{}",
                t.name,
                if n == 1 { "" } else { "s" }
            );
            if ix > 0 {
                msg.push_str(&format!(", {ix} index{}", if ix == 1 { "" } else { "es" }));
            }
            eprintln!("{msg})");
        }
    }
    store.sync()?;
    Ok(ExitCode::SUCCESS)
}

/// Load a stream of rows into a database (a Singer target)
///
/// Reads the line-delimited JSON stream that the source tools' `export` and
/// `lightning export` write, or any Singer tap's output (SCHEMA, RECORD and
/// STATE messages), from stdin or --file, and writes it into DB, creating DB
/// when it does not exist. A SCHEMA message creates its table (a table that
/// exists must have the same schema); RECORD messages are written in batches
/// of about --batch-size rows, each committed atomically.
///
/// Streams with Lightning schemas keep every type exactly, and their
/// bookmarks are committed with the rows they cover. A plain Singer SCHEMA
/// gets the type that holds every value it allows (DECIMAL for numbers, JSON
/// for a mix of kinds), and its records replace rows with the same key, as
/// Singer targets upsert (--on-conflict). After each commit the latest STATE
/// value whose records are all stored is written on stdout (when it is not a
/// terminal), for an orchestrator to resume the tap from.
///
/// A bad record stops the import with an error naming its stream line; the
/// batches committed before it stay. With --on-error skip, bad records are
/// written to the reject file instead and the import goes on. The import is
/// recorded in the history (`lightning runs`).
///
/// Examples:
///
///     $ sqlite2lightning export --source shop.sqlite | lightning import shop.ldb
///     $ lightning export old.ldb --all | lightning import new.ldb
///     $ lightning import app.ldb --file dump.ndjson --on-error skip
///     $ tap-postgres --config tap.json --catalog catalog.json \
///         | lightning import --config target.json > state.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ImportArgs {
    /// The Lightning database (a folder; created when missing). A job file names
    /// it `db`.
    #[arg(value_name = "DB", required_unless_present = "db_setting")]
    pub db: Option<PathBuf>,
    /// The database, as a job file gives it.
    #[arg(long = "db", value_name = "DB", hide = true, conflicts_with = "db")]
    pub db_setting: Option<PathBuf>,
    /// Read the stream from FILE instead of stdin (- is stdin).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Rows per committed batch.
    #[arg(long, default_value_t = 10_000, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_size: u64,
    /// What to do with a record that cannot be stored.
    #[arg(long, value_enum, default_value_t = OnError::Abort, value_name = "MODE")]
    pub on_error: OnError,
    /// What a RECORD whose key the table already holds does [default: replace
    /// for a plain Singer stream, error for a stream with Lightning schemas].
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_conflict: Option<OnConflict>,
    /// Where --on-error skip writes rejected records [default: DB.rejects.jsonl beside DB].
    #[arg(long, value_name = "FILE")]
    pub reject_file: Option<PathBuf>,
    /// Read the settings from a job file: JSON (a Singer target's config) or
    /// TOML, keys being `db` and the long options (`on_conflict`). Options given win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What a RECORD for a key the table already holds does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// The record is a bad row (see --on-error).
    Error,
    /// The record replaces the row, as Singer targets upsert.
    Replace,
}

use lightning_core::pipeline::MAX_BATCH_BYTES;

#[derive(Default)]
struct TableTally {
    written: u64,
    rejected: u64,
}

/// A table the stream declared.
struct StreamTable {
    name: Arc<str>,
    schema: TableSchema,
    key_positions: Vec<usize>,
    /// Whether a record for a key the table holds replaces the row.
    replace: bool,
}

/// Where a pending row came from.
struct Origin {
    table: Arc<str>,
    line: u64,
    key: Vec<Value>,
}

/// The state of one import: the pending batch and what has been done so far.
struct Importer<'a> {
    store: &'a Store,
    skip: bool,
    batch_size: usize,
    rejects: Option<RejectLog>,
    schemas: HashMap<String, StreamTable>,
    /// Rows not yet committed, and where each came from.
    pending: Vec<BatchRow>,
    origins: Vec<Origin>,
    pending_bytes: usize,
    /// The bookmarks of the STATE messages read so far and not yet committed.
    checkpoints: BTreeMap<String, Checkpoint>,
    /// How many of the pending rows came before the last STATE message: those
    /// rows and the bookmarks are committed together.
    cut: Option<usize>,
    /// Whether the stream carries STATE messages at all.
    has_state: bool,
    tally: BTreeMap<String, TableTally>,
    created: Vec<String>,
    on_conflict: Option<OnConflict>,
    /// STATE values not yet written out, each with how many pending rows came
    /// before it: one is written once those rows are committed.
    states: Vec<(usize, serde_json::Value)>,
    /// Where STATE values go once their rows are committed (Singer targets
    /// write them on stdout, for the orchestrator to resume the tap from).
    state_out: Option<Box<dyn std::io::Write>>,
}

impl Importer<'_> {
    fn schema(&mut self, t: TableSchema, foreign: bool, line: u64) -> anyhow::Result<()> {
        if self
            .schemas
            .get(&t.name)
            .is_some_and(|known| known.schema == t)
        {
            return Ok(());
        }
        let existed = self.store.table(&t.name).is_ok();
        if foreign {
            self.evolve(&t, line)?;
        }
        self.store.create_table(&t).map_err(|e| match e {
            StoreError::TableExists(name) => anyhow!(
                "stream line {line}: table `{name}` already exists in {} with a different schema (see `lightning describe`); import into another database",
                self.store.path().display()
            ),
            other => anyhow!("stream line {line}: {other}"),
        })?;
        if !existed {
            self.created.push(t.name.clone());
        }
        self.tally.entry(t.name.clone()).or_default();
        let replace = match self.on_conflict {
            Some(mode) => mode == OnConflict::Replace,
            None => foreign,
        };
        let entry = StreamTable {
            name: Arc::from(t.name.as_str()),
            key_positions: t.key_positions(),
            schema: t,
            replace,
        };
        self.schemas.insert(entry.schema.name.clone(), entry);
        Ok(())
    }

    /// A foreign SCHEMA for a table the store has with other columns: a table
    /// with no rows yet is made again; one with rows cannot change (the store
    /// has no ALTER TABLE), which is said with what differs.
    fn evolve(&mut self, t: &TableSchema, line: u64) -> anyhow::Result<()> {
        let Ok(have) = self.store.table(&t.name) else {
            return Ok(());
        };
        if have == *t {
            return Ok(());
        }
        if self.pending.iter().any(|r| *r.table == *t.name) {
            self.commit(self.pending.len(), false)?;
        }
        if self.store.count(&t.name)? == 0 {
            self.store.drop_table(&t.name)?;
            return Ok(());
        }
        let describe = |c: &lightning_core::ColumnSchema| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", c.name, c.ty)
        };
        let old: Vec<String> = have.columns.iter().map(describe).collect();
        let new: Vec<String> = t.columns.iter().map(describe).collect();
        let list = |v: Vec<&String>| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        };
        let added = list(new.iter().filter(|c| !old.contains(c)).collect());
        let gone = list(old.iter().filter(|c| !new.contains(c)).collect());
        let what = if added == "none" && gone == "none" {
            "the same columns in another order, or another key".to_string()
        } else {
            format!("new or changed: {added}; no longer there: {gone}")
        };
        bail!(
            "stream line {line}: the SCHEMA of `{}` differs from the table in {}, which holds rows ({what}); a table with rows cannot change its columns: import into another database, or export the table, drop it and import both streams",
            t.name,
            self.store.path().display(),
        )
    }

    /// Write the latest STATE value whose rows are all committed, when the
    /// first `n` pending rows have just been.
    fn states_committed(&mut self, n: usize) -> anyhow::Result<()> {
        let done = self.states.iter().take_while(|(at, _)| *at <= n).count();
        let latest = self.states.drain(..done).next_back();
        for (at, _) in &mut self.states {
            *at -= n;
        }
        if let (Some((_, value)), Some(out)) = (latest, self.state_out.as_mut()) {
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")?;
            out.flush()?;
        }
        Ok(())
    }

    fn reject(&mut self, r: RejectedRow) -> anyhow::Result<()> {
        self.tally.entry(r.table.clone()).or_default().rejected += 1;
        let schema = self.schemas.get(&r.table).map(|t| &t.schema);
        let log = self.rejects.as_mut().expect("a reject log when skipping");
        log.write(&r, schema)
            .with_context(|| format!("writing the reject file {}", log.path().display()))?;
        Ok(())
    }

    fn record(
        &mut self,
        stream: String,
        row: lightning_core::Row,
        rowid: Option<i64>,
        line: u64,
    ) -> anyhow::Result<()> {
        let t = self
            .schemas
            .get(&stream)
            .context("a RECORD before its SCHEMA")?;
        if let Err(reason) = t.schema.check_row(&row) {
            let key = t.schema.describe_key(rowid, &row);
            if !self.skip {
                bail!("stream line {line}: bad row in table `{stream}` ({key}): {reason}; fix the record or re-run with --on-error skip to set it aside");
            }
            return self.reject(RejectedRow {
                table: stream,
                key,
                reason,
                row,
            });
        }
        self.pending_bytes += row.iter().map(Value::size_hint).sum::<usize>();
        // The key values are kept (when a bad row stops the import) to name its line.
        let key = if self.skip {
            Vec::new()
        } else {
            t.key_positions.iter().map(|&p| row[p].clone()).collect()
        };
        self.origins.push(Origin {
            table: t.name.clone(),
            line,
            key,
        });
        self.pending.push(BatchRow {
            table: t.name.clone(),
            rowid,
            row,
        });
        self.commit_when_full()
    }

    /// A STATE message: it covers the rows read before it. Our bookmarks are
    /// committed with those rows; every state value is written out after them.
    fn state(
        &mut self,
        value: serde_json::Value,
        bookmarks: Option<BTreeMap<String, Checkpoint>>,
    ) -> anyhow::Result<()> {
        self.states.push((self.pending.len(), value));
        if let Some(bookmarks) = bookmarks {
            self.checkpoints.extend(bookmarks);
            self.cut = Some(self.pending.len());
            self.has_state = true;
        }
        self.commit_when_full()
    }

    /// Commit when the batch is full. A checkpoint must cover exactly the rows
    /// committed with it (or a resumed copy would duplicate rows), so a stream with
    /// STATE messages is committed up to its last STATE message; rows after it wait
    /// for the next one, unless they pile up far beyond the batch size.
    fn commit_when_full(&mut self) -> anyhow::Result<()> {
        let full = self.pending.len() >= self.batch_size || self.pending_bytes >= MAX_BATCH_BYTES;
        if !full {
            return Ok(());
        }
        match self.cut {
            Some(cut) if cut > 0 => self.commit(cut, true),
            _ if !self.has_state => self.commit(self.pending.len(), false),
            _ => {
                let overfull = self.pending.len() >= self.batch_size.saturating_mul(8)
                    || self.pending_bytes >= 4 * MAX_BATCH_BYTES;
                if overfull {
                    tracing::warn!(
                        rows = self.pending.len(),
                        "no STATE message for a long stretch: committing rows its checkpoint does not cover"
                    );
                    self.commit(self.pending.len(), false)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Commit everything still pending, at the end of the stream.
    fn finish(&mut self) -> anyhow::Result<()> {
        self.commit(self.pending.len(), true)
    }

    /// Commit the first `n` pending rows, with the pending checkpoints when asked.
    fn commit(&mut self, n: usize, with_checkpoints: bool) -> anyhow::Result<()> {
        let with_checkpoints = with_checkpoints && !self.checkpoints.is_empty();
        if n == 0 && !with_checkpoints {
            return self.states_committed(0);
        }
        let rows: Vec<BatchRow> = if n == self.pending.len() {
            std::mem::take(&mut self.pending)
        } else {
            self.pending.drain(..n).collect()
        };
        let origins: Vec<Origin> = self.origins.drain(..n).collect();
        self.pending_bytes = self
            .pending
            .iter()
            .map(|r| r.row.iter().map(Value::size_hint).sum::<usize>())
            .sum();
        let checkpoints: Vec<Checkpoint> = if with_checkpoints {
            self.cut = None;
            std::mem::take(&mut self.checkpoints)
                .into_values()
                .collect()
        } else {
            self.cut = self.cut.map(|c| c.saturating_sub(n));
            Vec::new()
        };
        let mut written: BTreeMap<Arc<str>, u64> = BTreeMap::new();
        for r in &rows {
            *written.entry(r.table.clone()).or_default() += 1;
        }
        let store = self.store;
        let (rejects, schemas) = (&mut self.rejects, &self.schemas);
        // Set-aside rows reach the reject file before their batch commits.
        let mut keep = |rows: &[RejectedRow]| -> std::io::Result<()> {
            if let Some(log) = rejects.as_mut() {
                for r in rows {
                    log.write(r, schemas.get(&r.table).map(|t| &t.schema))?;
                }
                log.flush()?;
            }
            Ok(())
        };
        // Tables whose records replace rows are written as such, in the same
        // batch's second commit, which carries the checkpoints.
        let (replace, insert): (Vec<BatchRow>, Vec<BatchRow>) = rows
            .into_iter()
            .partition(|r| schemas.get(&*r.table).is_some_and(|t| t.replace));
        let mut outcome = Ok(Vec::new());
        for (part, mode) in [(insert, WriteMode::Insert), (replace, WriteMode::Replace)] {
            // The second commit carries the checkpoints, even with no rows.
            let last = mode == WriteMode::Replace;
            if part.is_empty() && (!last || checkpoints.is_empty()) {
                continue;
            }
            let bad_rows = if self.skip {
                BadRows::SetAside(&mut keep)
            } else {
                BadRows::Abort
            };
            let ck: &[Checkpoint] = if last { &checkpoints } else { &[] };
            match store.write_batch(part, ck, bad_rows, mode) {
                Ok(r) => {
                    if let Ok(all) = outcome.as_mut() {
                        all.extend(r);
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        match outcome {
            Ok(rejected) => {
                for r in rejected {
                    if let Some(n) = written.get_mut(r.table.as_str()) {
                        *n = n.saturating_sub(1);
                    }
                    self.tally.entry(r.table.clone()).or_default().rejected += 1;
                }
                for (t, n) in written {
                    self.tally.entry(t.to_string()).or_default().written += n;
                }
                self.states_committed(n)
            }
            Err(StoreError::BadRow { table, key, reason }) => {
                let at = self.locate(&origins, &table, &key, &reason);
                bail!("{at}bad row in table `{table}` ({key}): {reason}; fix the record or re-run with --on-error skip to set it aside")
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The stream line of the row a batch was refused for, as a message prefix.
    fn locate(&self, origins: &[Origin], table: &str, key: &str, reason: &str) -> String {
        let Some(StreamTable {
            schema,
            key_positions: positions,
            ..
        }) = self.schemas.get(table)
        else {
            return String::new();
        };
        let describe = |values: &[Value]| -> String {
            if positions.is_empty() {
                return "(no primary key)".into();
            }
            positions
                .iter()
                .zip(values)
                .map(|(&p, v)| {
                    format!(
                        "{}={}",
                        schema.columns[p].name,
                        v.to_text().unwrap_or_else(|| "NULL".into())
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let candidates: Vec<&Origin> = origins
            .iter()
            .filter(|o| &*o.table == table && describe(&o.key) == key)
            .collect();
        let found = match candidates.as_slice() {
            [one] => Some(*one),
            [first, second, ..] if reason.starts_with("duplicate primary key") => {
                // The first copy is refused when the key is already stored, else the second.
                match self.store.get(table, &first.key) {
                    Ok(Some(_)) => Some(*first),
                    _ => Some(*second),
                }
            }
            _ => None,
        };
        match (found, origins.first(), origins.last()) {
            (Some(o), _, _) => format!("stream line {}: ", o.line),
            (None, Some(a), Some(b)) => format!("stream lines {}-{}: ", a.line, b.line),
            _ => String::new(),
        }
    }
}

pub fn import(a: &ImportArgs) -> anyhow::Result<ExitCode> {
    let input: Box<dyn BufRead> = match &a.file {
        Some(p) if p != Path::new("-") => Box::new(BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        _ => Box::new(BufReader::with_capacity(1 << 16, std::io::stdin().lock())),
    };
    let source = a
        .file
        .as_deref()
        .map(input_name)
        .unwrap_or_else(|| "<stdin>".into());
    let db =
        a.db.clone()
            .or_else(|| a.db_setting.clone())
            .context("no database: give DB, or `db` in the --config file")?;
    let store = Store::create_or_open(&db)?;
    let run_id = store.start_run("lightning import", &source)?;
    let started = Instant::now();
    let skip = a.on_error == OnError::Skip;
    let reject_path = a
        .reject_file
        .clone()
        .unwrap_or_else(|| lightning_core::reject::default_path(&db));
    let stdout = std::io::stdout();
    let state_out: Option<Box<dyn std::io::Write>> =
        (!stdout.is_terminal()).then(|| Box::new(stdout) as Box<dyn std::io::Write>);
    let mut imp = Importer {
        store: &store,
        skip,
        batch_size: usize::try_from(a.batch_size).unwrap_or(usize::MAX),
        rejects: skip.then(|| RejectLog::new(&reject_path)),
        schemas: HashMap::new(),
        pending: Vec::new(),
        origins: Vec::new(),
        pending_bytes: 0,
        checkpoints: BTreeMap::new(),
        cut: None,
        has_state: false,
        tally: BTreeMap::new(),
        created: Vec::new(),
        on_conflict: a.on_conflict,
        states: Vec::new(),
        state_out,
    };
    let outcome = read_stream(&mut imp, input);
    let flushed = match imp.rejects.as_mut() {
        Some(log) => log
            .flush()
            .with_context(|| format!("writing the reject file {}", reject_path.display())),
        None => Ok(()),
    };
    let outcome = outcome.and(flushed);
    let written: u64 = imp.tally.values().map(|t| t.written).sum();
    let rejected: u64 = imp.tally.values().map(|t| t.rejected).sum();
    let mut run = store.run(run_id)?;
    run.finished_at = Some(lightning_core::store::now_rfc3339());
    run.rows_written = written;
    run.rows_rejected = rejected;
    match &outcome {
        Ok(()) => run.status = "completed".into(),
        Err(e) => {
            run.status = "failed".into();
            run.error = Some(format!("{e:#}"));
        }
    }
    store.update_run(&run)?;
    store.flush()?;
    outcome?;
    for name in &imp.created {
        eprintln!("created table `{name}`");
    }
    let rows: Vec<Vec<String>> = imp
        .tally
        .iter()
        .map(|(t, n)| {
            let mut line = vec![format!("  {t}"), format!("{} rows", n.written)];
            if n.rejected > 0 {
                line.push(format!("{} rejected", n.rejected));
            }
            line
        })
        .collect();
    eprintln!(
        "imported {written} rows into {} table{} in {}{}",
        imp.tally.len(),
        if imp.tally.len() == 1 { "" } else { "s" },
        report::human_secs(started.elapsed().as_secs_f64()),
        if rejected > 0 {
            format!("; {rejected} rejected, see {}", reject_path.display())
        } else {
            String::new()
        }
    );
    let mut summary = Vec::new();
    crate::out::write_aligned(&mut summary, &rows, &[false, true, true])?;
    eprint!("{}", String::from_utf8_lossy(&summary));
    Ok(ExitCode::SUCCESS)
}

fn read_stream(imp: &mut Importer<'_>, input: Box<dyn BufRead>) -> anyhow::Result<()> {
    let mut reader = StreamReader::new(input);
    loop {
        let msg = match reader.next_message() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(StreamError::BadValue {
                line,
                stream,
                column,
                error: source,
            }) if imp.skip => {
                // The record cannot be read; set it aside with where to find it.
                imp.reject(RejectedRow {
                    table: stream,
                    key: format!("stream line {line}"),
                    reason: format!("column `{column}`: {source}"),
                    row: Vec::new(),
                })?;
                continue;
            }
            // Its message already holds its cause: the cause is not chained again.
            Err(e) => bail!("{e}"),
        };
        let line = reader.line();
        match msg {
            Message::Schema(t) => {
                let foreign = reader.is_foreign(&t.name);
                imp.schema(t, foreign, line)?
            }
            Message::Record { stream, row, rowid } => imp.record(stream, row, rowid, line)?,
            Message::State { value, bookmarks } => imp.state(value, bookmarks)?,
        }
    }
    imp.finish()
}
