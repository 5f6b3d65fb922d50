//! Assessment, conversion, migration and verification reports: JSON with stable,
//! documented fields (docs/reports.md), a self-contained HTML page, and a
//! terminal summary.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::checksum::TableChecksum;
use crate::pipeline::CopySummary;

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
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Loss => "loss",
            Severity::Manual => "manual work",
        }
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

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// Rows read in the timed sample.
    pub sampled_rows: u64,
    pub sampled_secs: f64,
    pub rows_per_sec: f64,
    pub estimated_secs: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssessmentReport {
    pub kind: &'static str,
    pub version: u32,
    pub tool: String,
    pub source: String,
    pub generated_at: String,
    pub database_size_bytes: u64,
    pub tables: Vec<TableAssessment>,
    pub findings: Vec<Finding>,
    /// 0-100: the share of the source that converts without manual work or loss.
    pub compatibility_score: u32,
    /// `low`, `medium` or `high`.
    pub complexity: String,
    pub risks: Vec<String>,
    pub recommendations: Vec<String>,
    pub estimate: Estimate,
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
    pub summary: CopySummary,
    pub rows_per_sec: f64,
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

/// A titled part of a report, rendered the same way in HTML and on the terminal.
pub struct Section {
    pub heading: String,
    pub facts: Vec<(String, String)>,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Section {
    fn new(heading: &str) -> Self {
        Section {
            heading: heading.into(),
            facts: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn fact(mut self, k: &str, v: impl ToString) -> Self {
        self.facts.push((k.into(), v.to_string()));
        self
    }

    fn table(mut self, header: &[&str], rows: Vec<Vec<String>>) -> Self {
        self.header = header.iter().map(|s| s.to_string()).collect();
        self.rows = rows;
        self
    }
}

/// What every report offers for rendering.
pub trait Report {
    fn title(&self) -> String;
    fn sections(&self) -> Vec<Section>;
}

fn findings_section(findings: &[Finding]) -> Section {
    Section::new("Findings").table(
        &["severity", "object", "message", "definition"],
        findings
            .iter()
            .map(|f| {
                vec![
                    f.severity.label().into(),
                    f.object.clone(),
                    f.message.clone(),
                    f.definition.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    )
}

fn repaired_section(
    heading: &str,
    repaired: &std::collections::BTreeMap<String, crate::store::RepairCounts>,
) -> Section {
    Section::new(heading).table(
        &["table", "inserted", "updated", "deleted"],
        repaired
            .iter()
            .map(|(t, c)| {
                vec![
                    t.clone(),
                    c.inserted.to_string(),
                    c.updated.to_string(),
                    c.deleted.to_string(),
                ]
            })
            .collect(),
    )
}

impl Report for ConversionReport {
    fn title(&self) -> String {
        format!("Schema conversion: {}", self.source)
    }

    fn sections(&self) -> Vec<Section> {
        let mut out = vec![Section::new("Summary")
            .fact("tool", &self.tool)
            .fact("tables", self.tables.len())
            .fact(
                "columns",
                self.tables.iter().map(|t| t.columns.len()).sum::<usize>(),
            )
            .fact("losses", self.count(Severity::Loss))
            .fact("warnings", self.count(Severity::Warning))
            .fact("manual work", self.count(Severity::Manual))];
        for t in &self.tables {
            out.push(
                Section::new(&format!("Table {}", t.table)).table(
                    &["column", "source type", "Lightning type", "rule", "why"],
                    t.columns
                        .iter()
                        .map(|c| {
                            let rule = match &c.transform {
                                Some(x) => format!("{} ({x})", c.rule),
                                None => c.rule.clone(),
                            };
                            vec![
                                c.column.clone(),
                                c.source_type.clone(),
                                c.lightning_type.clone(),
                                rule,
                                c.reason.clone().unwrap_or_default(),
                            ]
                        })
                        .collect(),
                ),
            );
        }
        out.push(findings_section(&self.findings));
        out
    }
}

impl Report for AssessmentReport {
    fn title(&self) -> String {
        format!("Assessment: {}", self.source)
    }

    fn sections(&self) -> Vec<Section> {
        vec![
            Section::new("Summary")
                .fact("database size", human_bytes(self.database_size_bytes))
                .fact("tables", self.tables.len())
                .fact("rows", self.tables.iter().map(|t| t.rows).sum::<u64>())
                .fact(
                    "compatibility score",
                    format!("{}/100", self.compatibility_score),
                )
                .fact("complexity", &self.complexity)
                .fact(
                    "estimated migration time",
                    format!(
                        "{} (measured {:.0} rows/s over {} rows)",
                        human_secs(self.estimate.estimated_secs),
                        self.estimate.rows_per_sec,
                        self.estimate.sampled_rows
                    ),
                ),
            Section::new("Tables").table(
                &[
                    "table",
                    "rows",
                    "size",
                    "columns",
                    "indexes",
                    "foreign keys",
                ],
                self.tables
                    .iter()
                    .map(|t| {
                        vec![
                            t.table.clone(),
                            t.rows.to_string(),
                            human_bytes(t.size_bytes),
                            t.columns.to_string(),
                            t.indexes.to_string(),
                            t.foreign_keys.to_string(),
                        ]
                    })
                    .collect(),
            ),
            findings_section(&self.findings),
            Section::new("Risks").table(
                &["risk"],
                self.risks.iter().map(|r| vec![r.clone()]).collect(),
            ),
            Section::new("Recommendations").table(
                &["recommendation"],
                self.recommendations
                    .iter()
                    .map(|r| vec![r.clone()])
                    .collect(),
            ),
        ]
    }
}

impl Report for VerificationReport {
    fn title(&self) -> String {
        format!("Verification: {} against {}", self.target, self.source)
    }

    fn sections(&self) -> Vec<Section> {
        let mut out = vec![Section::new("Result")
            .fact("verdict", if self.equal { "EQUAL" } else { "DIFFERENT" })
            .table(
                &[
                    "table",
                    "source rows",
                    "target rows",
                    "schema",
                    "sample",
                    "checksum",
                    "result",
                ],
                self.tables
                    .iter()
                    .map(|t| {
                        vec![
                            t.table.clone(),
                            t.source_rows.to_string(),
                            t.target_rows.to_string(),
                            if t.schema_differences.is_empty() {
                                "same".into()
                            } else {
                                format!("{} differences", t.schema_differences.len())
                            },
                            format!(
                                "{} rows, {} mismatches",
                                t.sampled_rows,
                                t.sample_mismatches.len()
                            ),
                            if t.source_checksum == t.target_checksum {
                                "same".into()
                            } else {
                                "differs".into()
                            },
                            if t.equal {
                                "equal".into()
                            } else {
                                "DIFFERENT".into()
                            },
                        ]
                    })
                    .collect(),
            )];
        for t in self.tables.iter().filter(|t| !t.equal) {
            let mut rows: Vec<Vec<String>> = t
                .schema_differences
                .iter()
                .map(|d| vec!["schema".into(), d.clone()])
                .collect();
            rows.extend(
                t.sample_mismatches
                    .iter()
                    .map(|d| vec!["sample".into(), d.clone()]),
            );
            rows.extend(t.differing_keys.iter().map(|k| {
                let detail = match &k.columns {
                    Some(c) => format!("{}: {c}", k.key),
                    None => k.key.clone(),
                };
                vec![k.kind.replace('_', " "), detail]
            }));
            if t.differing_keys_truncated {
                rows.push(vec!["…".into(), "more differing keys not listed".into()]);
            }
            out.push(
                Section::new(&format!("Differences in {}", t.table))
                    .table(&["what", "detail"], rows),
            );
        }
        if !self.queries.is_empty() {
            out.push(
                Section::new("Queries").table(
                    &["query", "source rows", "target rows", "result"],
                    self.queries
                        .iter()
                        .map(|q| {
                            vec![
                                q.sql.clone(),
                                q.source_rows.to_string(),
                                q.target_rows.to_string(),
                                match &q.difference {
                                    None => "equal".into(),
                                    Some(d) => format!("DIFFERENT: {d}"),
                                },
                            ]
                        })
                        .collect(),
                ),
            );
        }
        if !self.notes.is_empty() {
            out.push(notes_section(&self.notes));
        }
        if !self.target_only_tables.is_empty() {
            out[0].facts.push((
                "only in the target".into(),
                self.target_only_tables.join(", "),
            ));
        }
        if !self.repaired.is_empty() {
            out.insert(
                0,
                repaired_section("Repaired before verifying", &self.repaired),
            );
        }
        out
    }
}

impl Report for MigrationReport {
    fn title(&self) -> String {
        format!("Migration: {} into {}", self.source, self.target)
    }

    fn sections(&self) -> Vec<Section> {
        let mut s = vec![
            Section::new("Summary")
                .fact("run", self.run_id)
                .fact("rows written", self.summary.rows_written)
                .fact("rows rejected", self.summary.rows_rejected)
                .fact("partitions copied", self.summary.partitions_copied)
                .fact(
                    "partitions already done",
                    self.summary.partitions_already_done,
                )
                .fact("time", human_secs(self.summary.elapsed_secs))
                .fact("rate", format!("{:.0} rows/s", self.rows_per_sec)),
            Section::new("Tables").table(
                &["table", "rows written", "rows rejected"],
                self.summary
                    .tables
                    .iter()
                    .map(|(n, t)| {
                        vec![
                            n.clone(),
                            t.rows_written.to_string(),
                            t.rows_rejected.to_string(),
                        ]
                    })
                    .collect(),
            ),
        ];
        if let Some(f) = &self.reject_file {
            s[0].facts.push(("reject file".into(), f.clone()));
        }
        if !self.repaired.is_empty() {
            s.push(repaired_section(
                "Repaired (copied in more than one state of the source)",
                &self.repaired,
            ));
        }
        if !self.notes.is_empty() {
            s.push(notes_section(&self.notes));
        }
        let manual = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Manual)
            .count();
        let carried: Vec<Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Manual)
            .cloned()
            .collect();
        if !carried.is_empty() || manual > 0 {
            let mut f = findings_section(&carried);
            f.heading = "Conversion findings".into();
            s.push(f.fact("objects needing manual work", manual));
        }
        if let Some(v) = &self.verification {
            s.extend(v.sections());
        }
        s
    }
}

fn notes_section(notes: &[String]) -> Section {
    let mut n = Section::new("Notes");
    for (i, note) in notes.iter().enumerate() {
        n = n.fact(&format!("{}", i + 1), note);
    }
    n
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

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page (inline CSS, no scripts, nothing fetched).
pub fn to_html(r: &dyn Report) -> String {
    let mut h = String::new();
    let title = esc(&r.title());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:.5em 0 1.5em}}\
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}th{{background:#f3f3f3}}\
dl{{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}}dt{{font-weight:600}}pre{{margin:0;white-space:pre-wrap}}\
</style></head><body>\n<h1>{title}</h1>\n"
    );
    for s in r.sections() {
        let _ = writeln!(h, "<h2>{}</h2>", esc(&s.heading));
        if !s.facts.is_empty() {
            h.push_str("<dl>");
            for (k, v) in &s.facts {
                let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
            }
            h.push_str("</dl>\n");
        }
        if !s.header.is_empty() {
            if s.rows.is_empty() {
                h.push_str("<p>None.</p>\n");
                continue;
            }
            h.push_str("<table><tr>");
            for c in &s.header {
                let _ = write!(h, "<th>{}</th>", esc(c));
            }
            h.push_str("</tr>\n");
            for row in &s.rows {
                h.push_str("<tr>");
                for c in row {
                    if c.contains('\n') {
                        let _ = write!(h, "<td><pre>{}</pre></td>", esc(c));
                    } else {
                        let _ = write!(h, "<td>{}</td>", esc(c));
                    }
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
        }
    }
    h.push_str("</body></html>\n");
    h
}

/// A plain-text summary for the terminal (long cells are shortened).
pub fn to_terminal(r: &dyn Report) -> String {
    use crate::text::for_terminal as esc;
    let mut t = format!("{}\n", esc(&r.title()));
    for s in r.sections() {
        let _ = writeln!(t, "\n== {} ==", esc(&s.heading));
        for (k, v) in &s.facts {
            let _ = writeln!(t, "  {k}: {}", esc(v));
        }
        if s.header.is_empty() || s.rows.is_empty() {
            continue;
        }
        let cols = s.header.len();
        let cell = |c: &str, last: bool| -> String {
            let one = esc(c.lines().next().unwrap_or("")).into_owned();
            // The last column (a message, a difference) gets more room.
            let short: String = one.chars().take(if last { 200 } else { 60 }).collect();
            if short.len() < one.len() || c.lines().nth(1).is_some() {
                format!("{short}…")
            } else {
                short
            }
        };
        let mut widths: Vec<usize> = s.header.iter().map(|c| c.chars().count()).collect();
        for row in &s.rows {
            for (i, c) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell(c, i + 1 == cols).chars().count());
            }
        }
        let line = |cells: Vec<String>| -> String {
            let parts: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                .collect();
            format!("  {}", parts.join("  ").trim_end())
        };
        let _ = writeln!(t, "{}", line(s.header.clone()));
        for row in &s.rows {
            let _ = writeln!(
                t,
                "{}",
                line(
                    row.iter()
                        .enumerate()
                        .map(|(i, c)| cell(c, i + 1 == cols))
                        .collect()
                )
            );
        }
    }
    t
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
