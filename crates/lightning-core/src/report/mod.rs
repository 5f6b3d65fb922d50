//! Assessment, conversion, migration, verification and sync reports: JSON with
//! stable, documented fields (docs/reports.md), a self-contained HTML page, and a
//! terminal summary. Each report describes itself as [`Section`]s of typed
//! [`Cell`]s; `html` and `terminal` render those, `svg` draws the charts.

mod html;
mod markdown;
mod sections;
mod svg;
mod terminal;

use std::path::Path;

use serde::Serialize;

use crate::checksum::TableChecksum;
use crate::pipeline::CopySummary;
use crate::text::count;

pub use html::to_html;
pub use markdown::to_markdown;
pub use terminal::to_terminal;

/// Version of the JSON report fields.
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    /// Something is carried with a loss (range, precision, time zone, ...).
    Loss,
    /// An object Lightning cannot carry: it needs manual work.
    Manual,
}

impl Severity {
    /// From the least to the most serious.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Loss,
        Severity::Manual,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Loss => "loss",
            Severity::Manual => "manual work",
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Severity::Info => Tone::Info,
            Severity::Warning => Tone::Warning,
            Severity::Loss => Tone::Loss,
            Severity::Manual => Tone::Manual,
        }
    }
}

/// Who made a report and how: the same two fields in every report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Invocation {
    /// The version of the tool (every tool of the workspace shares it).
    pub tool_version: String,
    /// The command line, with credentials hidden.
    pub command: String,
}

impl Invocation {
    /// This process's.
    pub fn current() -> Self {
        Invocation::of(std::env::args_os().map(|a| a.to_string_lossy().into_owned()))
    }

    /// For the arguments `args` (the program first, shown by its file name).
    pub fn of(args: impl IntoIterator<Item = String>) -> Self {
        let mut words = Vec::new();
        let mut hide_next = false;
        for (i, arg) in args.into_iter().enumerate() {
            let word = if i == 0 {
                Path::new(&arg)
                    .file_name()
                    .map_or(arg.clone(), |n| n.to_string_lossy().into_owned())
            } else if hide_next {
                "***".to_string()
            } else {
                match arg.split_once('=') {
                    Some((flag, _)) if is_secret_flag(flag) => format!("{flag}=***"),
                    _ => crate::cli::redact(&arg),
                }
            };
            hide_next = i > 0 && !arg.contains('=') && is_secret_flag(&arg);
            words.push(shell_word(&word));
        }
        Invocation {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            command: words.join(" "),
        }
    }
}

/// A flag whose value is a secret (`--password`, `--db-password`, ...).
fn is_secret_flag(arg: &str) -> bool {
    arg.starts_with('-') && arg.to_ascii_lowercase().contains("password")
}

/// `word` as a shell would need it to read it back as one argument.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./:=,@%+*".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The `object` of a finding about the database as a whole (its default collation,
/// say) rather than about one of its objects.
pub const WHOLE_DATABASE: &str = "database";

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The object it concerns: `table`, `table.column`, `view v`, `trigger t`, or
    /// [`WHOLE_DATABASE`].
    pub object: String,
    pub message: String,
    /// The object's definition in the source, for manual work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
}

impl Finding {
    pub fn new(severity: Severity, object: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity,
            object: object.into(),
            message: message.into(),
            definition: None,
        }
    }

    pub fn with_definition(mut self, d: impl Into<String>) -> Self {
        self.definition = Some(d.into());
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnDecision {
    pub column: String,
    pub source_type: String,
    pub lightning_type: String,
    /// The cast rule that decided it.
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableConversion {
    pub table: String,
    pub columns: Vec<ColumnDecision>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversionReport {
    pub kind: &'static str,
    pub version: u32,
    pub tool: String,
    pub source: String,
    pub generated_at: String,
    #[serde(flatten)]
    pub invocation: Invocation,
    pub tables: Vec<TableConversion>,
    pub findings: Vec<Finding>,
}

impl ConversionReport {
    pub fn new(tool: &str, source: &str) -> Self {
        ConversionReport {
            kind: "conversion",
            version: REPORT_VERSION,
            tool: tool.into(),
            source: source.into(),
            generated_at: crate::store::now_rfc3339(),
            invocation: Invocation::current(),
            tables: Vec::new(),
            findings: Vec::new(),
        }
    }

    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableAssessment {
    pub table: String,
    pub rows: u64,
    pub size_bytes: u64,
    pub columns: usize,
    pub indexes: usize,
    pub foreign_keys: usize,
}

/// What `migrate` will take, from a timed sample of the real copy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Estimate {
    /// Rows read in the timed sample.
    pub sampled_rows: u64,
    pub sampled_secs: f64,
    /// The sampled copy's rate once it was under way (start-up left out).
    pub rows_per_sec: f64,
    pub estimated_secs: f64,
    /// Readers the estimate assumes: `migrate`'s default `--parallel`.
    pub parallel: usize,
    /// Measured time before the first row is read (connecting, planning).
    pub startup_secs: f64,
    /// The store's size on disk once every row is in.
    pub store_bytes: u64,
    /// The sample copied every row: the estimate is the measurement.
    pub complete: bool,
}

/// A check made before copying: the source's connectivity, privileges and
/// settings, the target's free space.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub status: CheckStatus,
    /// What was found, and what to do when it is not a pass.
    pub detail: String,
    /// It matters only when `sync` is to follow the copy.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub for_sync: bool,
}

impl Check {
    /// A transaction open longer than this is named by a source's `long
    /// transactions` check: it holds back what the server may clean up.
    pub const LONG_TRANSACTION: std::time::Duration = std::time::Duration::from_secs(5 * 60);

    pub fn new(check: &str, status: CheckStatus, detail: impl Into<String>) -> Self {
        Check {
            check: check.into(),
            status,
            detail: detail.into(),
            for_sync: false,
        }
    }

    pub fn for_sync(mut self) -> Self {
        self.for_sync = true;
        self
    }
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
        }
    }

    pub fn cell(self) -> Cell {
        let tone = match self {
            CheckStatus::Pass => Tone::Good,
            CheckStatus::Warn => Tone::Warning,
            CheckStatus::Fail => Tone::Bad,
        };
        Cell::Badge(tone, self.label().into())
    }
}

/// Checks as a report's section.
pub fn checks_section(checks: &[Check]) -> Section {
    Section::new("Checks").table(
        &["check", "result", "detail"],
        checks
            .iter()
            .map(|c| {
                let name = if c.for_sync {
                    format!("{} (for sync)", c.check)
                } else {
                    c.check.clone()
                };
                vec![name.into(), c.status.cell(), c.detail.as_str().into()]
            })
            .collect(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    /// Works, but something needs attention (a setting `sync` will need).
    Warn,
    /// The migration would fail or lose data as things are.
    Fail,
}

/// What the compatibility score was computed from (`assess::score_basis`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScoreBasis {
    pub tables: usize,
    pub columns: usize,
    /// Secondary indexes (unique constraints are not counted).
    pub indexes: usize,
    /// Findings about objects of the schema, by severity.
    pub manual: usize,
    pub loss: usize,
    pub warnings: usize,
    /// Findings about the database as a whole, by severity.
    pub database_manual: usize,
    pub database_loss: usize,
    pub database_warnings: usize,
    /// tables + columns + indexes + manual.
    pub objects: usize,
    /// manual + loss (both kinds) + half the warnings (both kinds).
    pub issues: f64,
    /// The computation with these numbers.
    pub formula: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentReport {
    pub kind: &'static str,
    pub version: u32,
    pub tool: String,
    pub source: String,
    pub generated_at: String,
    #[serde(flatten)]
    pub invocation: Invocation,
    pub database_size_bytes: u64,
    pub tables: Vec<TableAssessment>,
    pub findings: Vec<Finding>,
    /// 0-100: the share of the source that converts without manual work or loss.
    pub compatibility_score: u32,
    pub score_basis: ScoreBasis,
    /// `low`, `medium` or `high`.
    pub complexity: String,
    pub risks: Vec<String>,
    pub recommendations: Vec<String>,
    pub estimate: Estimate,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyDifference {
    pub key: String,
    /// `missing_in_target`, `extra_in_target` or `values_differ`.
    pub kind: &'static str,
    /// For `values_differ`: the columns that differ, with both values quoted
    /// (`city: source "Edinburgh " / target "Edinburgh"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableVerification {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub schema_differences: Vec<String>,
    pub sampled_rows: u64,
    pub sample_mismatches: Vec<String>,
    /// Columns whose values differ in a sampled row or a located key.
    pub differing_columns: Vec<String>,
    pub source_checksum: TableChecksum,
    pub target_checksum: TableChecksum,
    pub differing_keys: Vec<KeyDifference>,
    /// More differing keys exist than are listed.
    pub differing_keys_truncated: bool,
    pub equal: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerificationReport {
    pub kind: &'static str,
    pub version: u32,
    pub tool: String,
    pub source: String,
    pub target: String,
    pub generated_at: String,
    #[serde(flatten)]
    pub invocation: Invocation,
    pub equal: bool,
    pub tables: Vec<TableVerification>,
    /// Tables the target holds that the source does not (listed, not a difference:
    /// a store may hold tables from other sources).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_only_tables: Vec<String>,
    /// Rows changed per table by `verify --repair` before the verification.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub repaired: std::collections::BTreeMap<String, crate::store::RepairCounts>,
    /// What the source says about how it was compared (keys that expired as
    /// the target says they would, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// `verify --query`: queries run on both sides and compared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<crate::query_check::QueryCheck>,
}

impl VerificationReport {
    pub fn new(tool: &str, source: &str, target: &str, tables: Vec<TableVerification>) -> Self {
        VerificationReport {
            kind: "verification",
            version: REPORT_VERSION,
            tool: tool.into(),
            source: source.into(),
            target: target.into(),
            generated_at: crate::store::now_rfc3339(),
            invocation: Invocation::current(),
            equal: tables.iter().all(|t| t.equal),
            tables,
            target_only_tables: Vec::new(),
            repaired: Default::default(),
            notes: Vec::new(),
            queries: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    pub kind: &'static str,
    pub version: u32,
    pub tool: String,
    pub source: String,
    pub target: String,
    pub run_id: u64,
    pub generated_at: String,
    #[serde(flatten)]
    pub invocation: Invocation,
    pub summary: CopySummary,
    pub rows_per_sec: f64,
    /// Size of the target folder on disk after the run.
    pub store_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_file: Option<String>,
    /// Rows changed per table to bring tables copied in several states of the
    /// source level with it.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub repaired: std::collections::BTreeMap<String, crate::store::RepairCounts>,
    /// What the conversion could not carry as it is (warnings, losses, manual work).
    pub findings: Vec<Finding>,
    /// Counts of values an option decided (zero dates made NULL, ...).
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationReport>,
}

/// How a cell is shown: its meaning decides its alignment and colour.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text, left-aligned; a cell of several lines keeps its lines.
    Text(String),
    /// A count: right-aligned, with thousands separators.
    Count(u64),
    /// A quantity already written with its unit (a size, a time, a rate):
    /// right-aligned.
    Measure(String),
    /// A word whose colour says what it means (a verdict, a severity).
    Badge(Tone, String),
    /// A command line, a query: shown as code.
    Code(String),
}

/// The colours of [`Cell::Badge`]s and chart bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Loss,
    Manual,
    Warning,
    Info,
}

impl Tone {
    /// The CSS class (and SVG fill) that gives it its colour.
    pub fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Loss => "loss",
            Tone::Manual => "manual",
            Tone::Warning => "warning",
            Tone::Info => "info",
        }
    }

    /// Its colour: a badge's background, a bar's fill.
    pub fn colour(self) -> &'static str {
        match self {
            Tone::Good => "#1a7f37",
            Tone::Bad => "#cf222e",
            Tone::Loss => "#d1590a",
            Tone::Manual => "#8250df",
            Tone::Warning => "#d4a72c",
            Tone::Info => "#6e7781",
        }
    }

    /// The text colour that reads on [`Tone::colour`].
    pub fn text_colour(self) -> &'static str {
        match self {
            Tone::Warning => "#3b2300",
            _ => "#ffffff",
        }
    }

    pub const ALL: [Tone; 6] = [
        Tone::Good,
        Tone::Bad,
        Tone::Loss,
        Tone::Manual,
        Tone::Warning,
        Tone::Info,
    ];
}

impl Cell {
    /// The cell as plain text.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Measure(s) | Cell::Badge(_, s) | Cell::Code(s) => s.clone(),
            Cell::Count(n) => count(*n),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Cell::Count(_) | Cell::Measure(_))
    }

    pub fn severity(s: Severity) -> Cell {
        Cell::Badge(s.tone(), s.label().into())
    }

    /// `good` in green when `ok`, else `bad` in red.
    pub fn verdict(ok: bool, good: &str, bad: &str) -> Cell {
        if ok {
            Cell::Badge(Tone::Good, good.into())
        } else {
            Cell::Badge(Tone::Bad, bad.into())
        }
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.into())
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Self {
        Cell::Text(s.clone())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Count(n)
    }
}

impl From<usize> for Cell {
    fn from(n: usize) -> Self {
        Cell::Count(n as u64)
    }
}

/// A horizontal bar chart: one bar per label, its length by `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// The value as written at the end of the bar.
    pub shown: String,
    pub tone: Option<Tone>,
}

/// A titled part of a report, rendered the same way in HTML and on the terminal
/// (charts are for the page only: the terminal has their numbers in the tables).
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub heading: String,
    pub facts: Vec<(String, Cell)>,
    /// Sentences shown after the facts.
    pub paragraphs: Vec<String>,
    pub charts: Vec<Chart>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// A runbook's steps, after the table.
    pub steps: Vec<Step>,
}

/// A step of a runbook: what to do, the command that does it (when a command
/// does), and what shows it done.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub text: String,
    pub command: Option<String>,
    pub done: Option<String>,
}

impl Step {
    pub fn new(text: impl Into<String>) -> Self {
        Step {
            text: text.into(),
            ..Step::default()
        }
    }

    pub fn command(mut self, c: impl Into<String>) -> Self {
        self.command = Some(c.into());
        self
    }

    pub fn done(mut self, why: Option<String>) -> Self {
        self.done = why;
        self
    }
}

impl Section {
    pub fn new(heading: &str) -> Self {
        Section {
            heading: heading.into(),
            ..Section::default()
        }
    }

    pub fn fact(mut self, k: &str, v: impl Into<Cell>) -> Self {
        self.facts.push((k.into(), v.into()));
        self
    }

    pub fn paragraph(mut self, p: impl Into<String>) -> Self {
        self.paragraphs.push(p.into());
        self
    }

    /// A chart, unless it has fewer than two bars to compare.
    pub fn chart(mut self, c: Chart) -> Self {
        if c.bars.len() > 1 {
            self.charts.push(c);
        }
        self
    }

    pub fn table(mut self, header: &[&str], rows: Vec<Vec<Cell>>) -> Self {
        self.header = header.iter().map(|s| s.to_string()).collect();
        self.rows = rows;
        self
    }

    pub fn step(mut self, s: Step) -> Self {
        self.steps.push(s);
        self
    }
}

/// What every report offers for rendering.
pub trait Report {
    fn title(&self) -> String;
    /// Who made the report, when and how (the page's header).
    fn header(&self) -> Vec<(String, Cell)>;
    fn sections(&self) -> Vec<Section>;
}

/// A rate of rows per second, whole and grouped: `12,345 rows/s`.
pub fn rate(rows: u64, secs: f64) -> String {
    if secs > 0.0 {
        format!("{} rows/s", count((rows as f64 / secs).round() as u64))
    } else {
        "—".into()
    }
}

/// Bytes that the files under `path` take, following no links. Files that vanish
/// while it is walked (a store compacting) are not counted.
pub fn dir_size(path: &Path) -> std::io::Result<u64> {
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if gone(&e) => return Ok(0),
        other => other?,
    };
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let entries = match std::fs::read_dir(path) {
        Err(e) if gone(&e) => return Ok(0),
        other => other?,
    };
    let mut total = 0;
    for entry in entries {
        total += dir_size(&entry?.path())?;
    }
    Ok(total)
}

/// Write a report to `path`: HTML when the name ends in `.html`, JSON otherwise.
pub fn write_report_file<R: Report + Serialize>(r: &R, path: &Path) -> std::io::Result<()> {
    let is_html = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = if is_html { to_html(r) } else { to_json(r) };
    std::fs::write(path, text)
}

pub fn to_json<R: Serialize>(r: &R) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("reports serialize");
    s.push('\n');
    s
}
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

pub fn human_secs(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!(
            "{:.0} h {:.0} min",
            (s / 3600.0).floor(),
            (s % 3600.0) / 60.0
        )
    }
}

#[cfg(test)]
mod tests;
