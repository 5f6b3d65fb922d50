//! The command line every source tool shares. A tool implements [`SourceTool`] for a
//! marker type — its name, its help text, its own options and how to open its
//! source — and its `main` is one call to [`main`]. The five commands, the shared
//! options, the checks every input gets, reports and exit codes live here once.

pub use crate::cli::SourceReader;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::assess::SampleSettings;
use crate::cast::{CastRules, Pattern};
use crate::cli::{
    check_strict, print_stdout, run_export, run_main, run_migrate, run_verify, CastArgs,
    ExportArgs, MigrateArgs, ReportArgs, TableFilter, VerifyArgs, WhereArgs,
};
use crate::plan::PlanHints;
use crate::report::{AssessmentReport, ConversionReport, Severity};
use crate::schema::TableSchema;
use crate::tap;
use crate::text::for_terminal;

/// What a source tool tells the shared command line about its database.
pub trait SourceTool {
    /// The binary's name (`pg2lightning`).
    const NAME: &'static str;
    /// One line for `-h`.
    const ABOUT: &'static str;
    /// `--help`: what the tool reads, how a source is named, examples.
    const LONG_ABOUT: &'static str;
    /// Comment lines `--print-casts` adds after the rules: what no rule decides.
    const CASTS_NOTE: &'static str;
    /// The options that name the source and shape how it is read.
    type Options: Args + Clone;
    /// Why the tool has no `sync` (when it has none of its own).
    const NO_SYNC: &'static str = "this source has no change log to follow";

    /// The tool's default cast rules (the user's go in front of them).
    fn default_casts() -> CastRules;

    /// Open the source the options name and convert the selected tables.
    fn open(
        options: &Self::Options,
        request: &OpenRequest<'_>,
    ) -> anyhow::Result<Box<dyn OpenedSource>>;

    /// Commands of this tool alone, beside the five every tool has.
    fn extra_commands() -> Vec<clap::Command> {
        Vec::new()
    }

    /// Run one of `extra_commands`.
    fn run_extra(name: &str, _matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
        bail!("unknown command `{name}`")
    }
}

/// The command a source is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Assess,
    ConvertSchema,
    Migrate,
    Verify,
    Export,
}

pub struct OpenRequest<'a> {
    pub purpose: Purpose,
    pub filter: &'a TableFilter,
    /// The tool's defaults with the user's rules in front.
    pub rules: &'a CastRules,
    /// The store a migration writes or a verification reads: what is spooled goes
    /// beside it.
    pub target: Option<&'a Path>,
    /// `migrate --fresh`: what an earlier run decided is not reused.
    pub fresh: bool,
}

/// The options of a source whose mapping is decided from its data (documents,
/// keys): give the decisions as a file, or write them to one.
#[derive(Debug, Clone, Default, Args)]
pub struct MappingArgs {
    /// Read the source as this mapping file says (as `--write-mapping` writes it)
    /// instead of deciding from the data.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Write the mapping to this file, to review or edit it and give it back with
    /// --mapping.
    #[arg(long, value_name = "FILE")]
    pub write_mapping: Option<PathBuf>,
}

/// A mapping's text and where it came from (for messages about it).
pub struct GivenMapping {
    pub text: String,
    pub from: String,
}

impl MappingArgs {
    /// The `--mapping` file, else the mapping the target kept from its first run
    /// (a resumed copy and a verification read the source as that run did), unless
    /// the run is `--fresh`.
    pub fn given(
        &self,
        tool: &str,
        request: &OpenRequest<'_>,
    ) -> anyhow::Result<Option<GivenMapping>> {
        if let Some(path) = &self.mapping {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the mapping file {}: {e}", path.display())
            })?;
            return Ok(Some(GivenMapping {
                text,
                from: format!("mapping file {}", path.display()),
            }));
        }
        let Some(target) = request.target else {
            return Ok(None);
        };
        if request.fresh || !target.exists() {
            return Ok(None);
        }
        let Ok(store) = crate::store::Store::open_to_read(target) else {
            return Ok(None);
        };
        Ok(store.source_mapping(tool)?.map(|text| {
            tracing::info!(
                "reading the source with the mapping kept in {} by its first run",
                target.display()
            );
            GivenMapping {
                text,
                from: format!("the mapping kept in {}", target.display()),
            }
        }))
    }

    /// Write `text` to the `--write-mapping` file, when there is one.
    pub fn write(&self, text: &str) -> anyhow::Result<()> {
        if let Some(path) = &self.write_mapping {
            std::fs::write(path, text).map_err(|e| {
                anyhow::anyhow!("cannot write the mapping to {}: {e}", path.display())
            })?;
            eprintln!(
                "wrote the mapping to {} (edit it, then give it to migrate with --mapping)",
                path.display()
            );
        }
        Ok(())
    }
}

/// A table of the source, before any selection.
#[derive(Debug, Clone)]
pub struct CatalogTable {
    /// Its name as `--tables`, `--where` and cast rules name it.
    pub name: String,
    /// The source's own name for it, quoted as the source quotes it (`p."q.r"`).
    pub source_name: String,
    /// The target table it becomes (`name`, unless `--rename` says otherwise).
    pub target: String,
    pub columns: Vec<String>,
}

/// What opening a source found and decided, whatever the source.
pub struct Converted {
    /// How runs and reports name the source: the same on every run, no credentials.
    pub description: String,
    /// Every table the source has.
    pub catalog: Vec<CatalogTable>,
    pub conversion: ConversionReport,
}

/// A source opened, with its selected tables converted.
pub trait OpenedSource {
    fn converted(&self) -> &Converted;
    /// Whether this copy is made for `sync` to follow (`migrate --for-sync`).
    fn follows_changes(&self) -> bool {
        false
    }
    /// The selected tables, converted.
    fn tables(&self) -> Vec<TableSchema>;
    /// What a plan can offer for this source (sync, the way back).
    fn plan_hints(&self) -> PlanHints {
        PlanHints::default()
    }
    /// Of the time opening took, what only an assessment spends (profiling every
    /// value): `migrate` does not, so its estimate leaves it out.
    fn assess_only_secs(&self) -> f64 {
        0.0
    }
    /// The assessment, with a timed sample copy taken as `sample` says.
    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport>;
    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>>;
}

/// How the rows are to be read.
pub struct ReadRequest {
    pub purpose: Purpose,
    /// `--where` conditions by table (a source that cannot filter refuses them).
    pub where_: HashMap<String, String>,
    /// Readers the copy runs.
    pub parallel: usize,
}

#[derive(Parser)]
#[command(version, arg_required_else_help = true, max_term_width = 100)]
struct Cli<O: Args> {
    /// Print the default cast rules (source type => Lightning type) and exit.
    #[arg(long)]
    print_casts: bool,
    #[command(subcommand)]
    command: Option<Command<O>>,
}

#[derive(Subcommand)]
enum Command<O: Args> {
    /// Size, tables, features needing manual work, a score, risks and a measured time estimate.
    Assess {
        #[command(flatten)]
        source: O,
        #[command(flatten)]
        filter: TableFilter,
        #[command(flatten)]
        cast: CastArgs,
        #[command(flatten)]
        sample: SampleArgs,
        /// The Lightning database the migration will write: the sample is taken on
        /// its disk, and its free space is checked.
        #[arg(long, value_name = "PATH")]
        target: Option<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Write this migration's runbook (Markdown and HTML): the estimate, the checks, the exact commands in order, the way back.
    #[command(long_about = PLAN_ABOUT)]
    Plan {
        #[command(flatten)]
        source: O,
        #[command(flatten)]
        filter: TableFilter,
        #[command(flatten)]
        cast: CastArgs,
        #[command(flatten)]
        sample: SampleArgs,
        /// The Lightning database the migration will write.
        #[arg(long, value_name = "PATH")]
        target: PathBuf,
        /// Write the runbook to FILE (Markdown) and beside it as HTML (FILE with
        /// .html) [default: the target's name with .runbook.md, beside it].
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the Lightning DDL of the database (stdout) and a conversion report.
    ConvertSchema {
        #[command(flatten)]
        source: O,
        #[command(flatten)]
        filter: TableFilter,
        #[command(flatten)]
        cast: CastArgs,
        /// Fail when anything would be carried with a loss.
        #[arg(long)]
        strict: bool,
        /// Also write a job file for `migrate --config FILE`: this source and
        /// selection, with the other settings commented out, ready to edit.
        #[arg(long, value_name = "FILE")]
        write_config: Option<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Copy the database into a Lightning store (resumable: run it again after a crash).
    Migrate {
        #[command(flatten)]
        source: O,
        /// Fail before copying when anything would be carried with a loss.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        args: MigrateArgs,
    },
    /// Compare the source with a Lightning store: counts, schema, sampled rows, checksums.
    Verify {
        #[command(flatten)]
        source: O,
        #[command(flatten)]
        args: VerifyArgs,
    },
    /// Write the rows as a JSON-lines stream (SCHEMA/RECORD/STATE) to stdout.
    Export {
        #[command(flatten)]
        source: O,
        #[command(flatten)]
        args: ExportArgs,
    },
}

/// `plan --help`.
const PLAN_ABOUT: &str = "\
Write this migration's runbook, in Markdown and HTML: what the assessment measured
(the estimated time and store size), the checks made before copying (connecting,
reading every table, the settings sync needs, long transactions, the target's free
space) with pass / warn / fail, the exact commands for this source and target in
the order to run them (migrate, verify, sync until caught up, the switch, the way
back), and tick boxes for the steps a person takes (backup, the window,
stakeholders).

Run it again at any time: steps the target shows done (the copy, its verification,
sync under way) are ticked.";

/// How the assessment's timed sample is taken.
#[derive(Debug, Clone, Args)]
struct SampleArgs {
    /// Seconds the timed sample copies for, through the real pipeline (each table
    /// gets its turn); the estimate extrapolates from it.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    sample_secs: f64,
    /// Readers the migration will run (`migrate --parallel`) [default: half the
    /// cores, at least 1].
    #[arg(long, default_value_t = crate::cli::default_parallel(), hide_default_value = true, value_name = "N")]
    parallel: usize,
}

impl SampleArgs {
    /// The settings for a source opened since `started`.
    fn settings(
        &self,
        target: Option<&Path>,
        started: Instant,
        opened: &dyn OpenedSource,
    ) -> SampleSettings {
        let open = started.elapsed().as_secs_f64() - opened.assess_only_secs();
        SampleSettings {
            secs: self.sample_secs,
            parallel: self.parallel.max(1),
            target: target.map(Path::to_path_buf),
            open_secs: open.max(0.0),
            ..SampleSettings::default()
        }
    }
}

const NO_SYNC: &str = "no-change-log";

/// `sync` for a tool whose source has no change log: it says so, and what to do.
fn no_sync_command(why: &str) -> clap::Command {
    clap::Command::new("sync")
        .about(format!("Not available: {why} (see `verify --repair`)"))
        .arg(
            clap::Arg::new(NO_SYNC)
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .hide(true)
                .default_value("-"),
        )
}

/// The whole `main` of a source tool.
pub fn main<T: SourceTool>() -> ExitCode {
    run_main(|| {
        let mut extra = T::extra_commands();
        let has_sync = extra.iter().any(|c| c.get_name() == "sync");
        if !has_sync {
            extra.push(no_sync_command(T::NO_SYNC));
        }
        let extra_names: Vec<String> = extra.iter().map(|c| c.get_name().to_string()).collect();
        let mut cmd = Cli::<T::Options>::command()
            .name(T::NAME)
            .bin_name(T::NAME)
            .about(T::ABOUT)
            .long_about(T::LONG_ABOUT)
            .subcommands(extra)
            .subcommands(crate::shell::commands());
        for name in crate::job::COMMANDS {
            if name != "sync" || has_sync {
                cmd = cmd.mut_subcommand(name, |c| c.arg(crate::job::config_arg()));
            }
        }
        let argv = crate::job::expand(&cmd, std::env::args_os().collect())?;
        let matches = cmd.clone().get_matches_from(argv);
        let Some((name, sub)) = matches.subcommand() else {
            let cli = Cli::<T::Options>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
            if cli.print_casts {
                let mut text = T::default_casts().describe_defaults();
                text.push_str(T::CASTS_NOTE);
                print_stdout(&text)?;
                return Ok(ExitCode::SUCCESS);
            }
            bail!("a command is needed; see `{} --help`", T::NAME);
        };
        if crate::shell::is_shell_command(name) {
            return crate::shell::run(name, sub, cmd);
        }
        if name == "sync" && sub.try_contains_id(NO_SYNC).unwrap_or(false) {
            bail!(
                "{} cannot follow the source's changes: {}. To bring a copied target \
                 level with the source as it is now, run `{} verify --repair` with the \
                 same --source and --target (it changes only the key ranges whose \
                 checksums differ)",
                T::NAME,
                T::NO_SYNC,
                T::NAME
            );
        }
        if extra_names.iter().any(|n| n == name) {
            return T::run_extra(name, sub);
        }
        let cli = Cli::<T::Options>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let Some(command) = cli.command else {
            bail!("a command is needed; see `{} --help`", T::NAME);
        };
        let given = Given {
            tool: T::NAME,
            root: &cmd,
            matches: sub,
            command: cmd.find_subcommand(name).expect("parsed"),
        };
        run::<T>(command, &given)
    })
}

/// The command line as given, for `convert-schema --write-config` and `plan`.
struct Given<'a> {
    tool: &'a str,
    /// The tool's command, with every subcommand.
    root: &'a clap::Command,
    matches: &'a clap::ArgMatches,
    command: &'a clap::Command,
}

fn run<T: SourceTool>(command: Command<T::Options>, given: &Given<'_>) -> anyhow::Result<ExitCode> {
    match command {
        Command::Assess {
            source,
            filter,
            cast,
            sample,
            target,
            report,
        } => {
            let started = Instant::now();
            let opened = open::<T>(&source, Purpose::Assess, &filter, &cast, None, false)?;
            let settings = sample.settings(target.as_deref(), started, opened.as_ref());
            let a = opened.assess(&settings)?;
            report.emit(&a)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan {
            source,
            filter,
            cast,
            sample,
            target,
            output,
        } => {
            let started = Instant::now();
            let opened = open::<T>(&source, Purpose::Assess, &filter, &cast, None, false)?;
            let settings = sample.settings(Some(&target), started, opened.as_ref());
            let hints = opened.plan_hints();
            let keys = hints
                .sync
                .then(|| crate::plan::keys_check(&opened.tables()));
            let mut assessment = opened.assess(&settings)?;
            assessment.checks.extend(keys);
            let (args, password_left_out) = crate::job::given_args(
                given.command,
                given.matches,
                &["target", "output", "sample_secs", "parallel"],
            );
            // Each command gets the options it takes (`sync` reads its slot from
            // the store, say).
            let source_args = given
                .root
                .get_subcommands()
                .map(|c| (c.get_name().to_string(), crate::job::words_for(&args, c)))
                .collect();
            let runbook = crate::plan::runbook(crate::plan::PlanInput {
                tool: T::NAME,
                source_args,
                password_left_out,
                target: &target,
                assessment,
                hints,
            });
            let md = output.unwrap_or_else(|| crate::plan::default_output(&target));
            let html = md.with_extension("html");
            std::fs::write(&md, crate::report::to_markdown(&runbook))
                .with_context(|| format!("writing {}", md.display()))?;
            std::fs::write(&html, crate::report::to_html(&runbook))
                .with_context(|| format!("writing {}", html.display()))?;
            eprint!("{}", crate::report::to_terminal(&runbook));
            eprintln!(
                "\nwrote the runbook to {} and {}",
                md.display(),
                html.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::ConvertSchema {
            source,
            filter,
            cast,
            strict,
            write_config,
            report,
        } => {
            let opened = open::<T>(&source, Purpose::ConvertSchema, &filter, &cast, None, false)?;
            if let Some(path) = &write_config {
                let tables: Vec<String> = opened
                    .converted()
                    .catalog
                    .iter()
                    .filter(|t| filter.selects(&t.name))
                    .map(|t| t.name.clone())
                    .collect();
                crate::job::write_config(path, given.tool, given.command, given.matches, &tables)?;
            }
            if !report.json {
                print_stdout(&crate::ddl::render_schema(&opened.tables()))?;
            }
            report.emit(&opened.converted().conversion)?;
            check_strict(strict, &opened.converted().conversion)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate {
            source,
            strict,
            args,
        } => {
            let opened = open::<T>(
                &source,
                Purpose::Migrate,
                &args.filter,
                &args.cast,
                Some(&args.target),
                args.fresh,
            )?;
            let Converted {
                description: desc,
                conversion,
                ..
            } = opened.converted();
            check_strict(strict, conversion)?;
            announce_findings::<T>(conversion);
            let (desc, conversion) = (desc.clone(), conversion.clone());
            let where_ = where_by_target(opened.as_ref(), &args.where_);
            let reader = opened.reader(&ReadRequest {
                purpose: Purpose::Migrate,
                where_,
                parallel: args.parallel.max(1),
            })?;
            let code = run_migrate(T::NAME, &desc, reader.as_ref(), &conversion, &args)?;
            Ok(code)
        }
        Command::Verify { source, args } => {
            let opened = open::<T>(
                &source,
                Purpose::Verify,
                &args.filter,
                &args.cast,
                Some(&args.target),
                false,
            )?;
            let desc = opened.converted().description.clone();
            let where_ = where_by_target(opened.as_ref(), &args.where_);
            let reader = opened.reader(&ReadRequest {
                purpose: Purpose::Verify,
                where_,
                parallel: 1,
            })?;
            run_verify(T::NAME, &desc, reader.as_ref(), &args)
        }
        Command::Export { source, args } => {
            // The files first: a mistake in them costs no reading of the source.
            let catalog = args.tap.catalog.as_deref().map(tap::read_catalog);
            let state = args.tap.state.as_deref().map(tap::read_state);
            let (catalog, state) = (catalog.transpose()?, state.transpose()?);
            let opened = open::<T>(
                &source,
                Purpose::Export,
                &args.filter,
                &args.cast,
                None,
                false,
            )?;
            let streams = catalog
                .map(|c| c.resolve(&opened.tables(), &opened.converted().catalog, &args.filter))
                .transpose()?;
            let reader = opened.reader(&ReadRequest {
                purpose: Purpose::Export,
                where_: HashMap::new(),
                parallel: 1,
            })?;
            if args.tap.discover {
                let live = reader.source().content_id().is_none();
                let catalog = tap::catalog(&reader.schemas(), live);
                print_stdout(&format!("{}\n", serde_json::to_string_pretty(&catalog)?))?;
                return Ok(ExitCode::SUCCESS);
            }
            let input = tap::TapInput { streams, state };
            run_export(reader.source(), &reader.schemas(), &args, input)
        }
    }
}

/// `--where` names tables as the source does; readers look them up by target name.
fn where_by_target(opened: &dyn OpenedSource, where_: &WhereArgs) -> HashMap<String, String> {
    let catalog = &opened.converted().catalog;
    let names: Vec<&str> = catalog.iter().map(|t| t.name.as_str()).collect();
    let by_name = where_.by_table(&names);
    catalog
        .iter()
        .filter_map(|t| by_name.get(&t.name).map(|c| (t.target.clone(), c.clone())))
        .collect()
}

/// Open the source and check what the user asked for against what it holds.
fn open<T: SourceTool>(
    options: &T::Options,
    purpose: Purpose,
    filter: &TableFilter,
    cast: &CastArgs,
    target: Option<&Path>,
    fresh: bool,
) -> anyhow::Result<Box<dyn OpenedSource>> {
    let rules = cast.rules(T::default_casts())?;
    let opened = T::open(
        options,
        &OpenRequest {
            purpose,
            filter,
            rules: &rules,
            target,
            fresh,
        },
    )?;
    let Converted {
        description,
        catalog,
        ..
    } = opened.converted();
    let description = description.clone();
    check_names(catalog, filter, &rules)?;
    check_collisions(catalog, filter)?;
    let no_tables = catalog.is_empty();
    let opened = crate::naming::Renamed::wrap(opened, filter)?;
    let tables = opened.tables();
    if tables.is_empty() {
        match purpose {
            Purpose::Assess | Purpose::ConvertSchema if no_tables => {
                tracing::warn!("{} has no tables", for_terminal(&description));
            }
            _ if no_tables => bail!(
                "{} has no tables: is it the database you meant? (nothing to do)",
                for_terminal(&description)
            ),
            _ => bail!("--tables and --exclude leave no table to work on"),
        }
    }
    Ok(opened)
}

/// Every table named in `--tables`, `--exclude` or a column rule must exist: a typo
/// would otherwise copy (or skip) the wrong thing in silence.
fn check_names(
    catalog: &[CatalogTable],
    filter: &TableFilter,
    rules: &CastRules,
) -> anyhow::Result<()> {
    let known: Vec<&str> = catalog.iter().map(|t| t.name.as_str()).collect();
    for (option, names) in [("--tables", &filter.tables), ("--exclude", &filter.exclude)] {
        if let Some(t) = names.iter().find(|t| !known.contains(&t.as_str())) {
            bail!(
                "{option}: no table `{}` in the source (it has: {})",
                for_terminal(t),
                for_terminal(&known.join(", "))
            );
        }
    }
    for (from, _) in filter.renames()? {
        if !catalog
            .iter()
            .any(|t| t.name == from || t.source_name == from)
        {
            bail!(
                "--rename: no table `{}` in the source (it has: {})",
                for_terminal(&from),
                for_terminal(&known.join(", "))
            );
        }
    }
    for rule in &rules.user {
        if let Pattern::Column { table, column } = &rule.pattern {
            let found = catalog
                .iter()
                .any(|t| &t.name == table && t.columns.iter().any(|c| c == column));
            if !found {
                bail!(
                    "cast rule `{}` names no column of the source (`{}` has no column `{}`)",
                    for_terminal(&rule.to_string()),
                    for_terminal(table),
                    for_terminal(column)
                );
            }
        }
    }
    Ok(())
}

/// Two source tables must not become one target table: the second would be lost
/// or merged into the first.
fn check_collisions(catalog: &[CatalogTable], filter: &TableFilter) -> anyhow::Result<()> {
    let mut seen: HashMap<&str, &CatalogTable> = HashMap::new();
    for t in catalog.iter().filter(|t| filter.selects(&t.name)) {
        if let Some(first) = seen.insert(&t.target, t) {
            bail!(
                "the source tables {} and {} would both become the table `{}` in the target: rename one (--rename 'SOURCE => NEW') or leave one out (--exclude)",
                for_terminal(&first.source_name),
                for_terminal(&t.source_name),
                for_terminal(&t.target)
            );
        }
    }
    Ok(())
}

/// Say before copying what the conversion could not carry as it is.
fn announce_findings<T: SourceTool>(conversion: &ConversionReport) {
    for f in conversion
        .findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Loss | Severity::Warning))
    {
        tracing::warn!(
            "{}: {} ({})",
            for_terminal(&f.object),
            for_terminal(&f.message),
            f.severity.label()
        );
    }
    let manual = conversion.count(Severity::Manual);
    if manual > 0 {
        tracing::warn!(
            "{manual} objects need manual work; `{} convert-schema` lists them with their definitions",
            T::NAME
        );
    }
}
