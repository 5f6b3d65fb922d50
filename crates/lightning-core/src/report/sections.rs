//! What each report shows: its header, sections, tables and charts.

use std::collections::BTreeMap;

use super::{
    human_bytes, human_secs, rate, AssessmentReport, Bar, Cell, Chart, ConversionReport, Finding,
    Invocation, MigrationReport, Report, Section, Severity, Tone, VerificationReport,
};
use crate::store::RepairCounts;
use crate::sync::SyncReport;
use crate::text::count;

/// The header every report starts with.
fn provenance(tool: &str, inv: &Invocation, generated_at: &str) -> Vec<(String, Cell)> {
    let mut h = vec![("generated at".to_string(), Cell::from(generated_at))];
    let tool = match inv.tool_version.as_str() {
        "" => tool.to_string(),
        v => format!("{tool} {v}"),
    };
    h.push(("tool".into(), tool.into()));
    if !inv.command.is_empty() {
        h.push(("command".into(), Cell::Code(inv.command.clone())));
    }
    h
}

/// A time short enough to need milliseconds, or as `human_secs` writes it.
fn duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        human_secs(secs)
    }
}

fn findings_section(heading: &str, findings: &[Finding]) -> Section {
    Section::new(heading).table(
        &["severity", "object", "message", "definition"],
        findings
            .iter()
            .map(|f| {
                vec![
                    Cell::severity(f.severity),
                    f.object.as_str().into(),
                    f.message.as_str().into(),
                    f.definition.clone().unwrap_or_default().into(),
                ]
            })
            .collect(),
    )
}

/// Findings by severity, the most serious first; severities with none left out.
fn severity_chart(findings: &[Finding]) -> Chart {
    Chart {
        title: "Findings by severity".into(),
        bars: Severity::ALL
            .iter()
            .rev()
            .filter_map(|&s| {
                let n = findings.iter().filter(|f| f.severity == s).count();
                (n > 0).then(|| Bar {
                    label: s.label().into(),
                    value: n as f64,
                    shown: count(n as u64),
                    tone: Some(s.tone()),
                })
            })
            .collect(),
    }
}

/// Rows inserted, updated and deleted per table (a repair, a sync).
const CHANGES: [&str; 4] = ["table", "inserted", "updated", "deleted"];

fn change_rows(changes: &BTreeMap<String, RepairCounts>) -> Vec<Vec<Cell>> {
    changes
        .iter()
        .map(|(t, c)| {
            vec![
                t.into(),
                c.inserted.into(),
                c.updated.into(),
                c.deleted.into(),
            ]
        })
        .collect()
}

fn repaired_section(heading: &str, repaired: &BTreeMap<String, RepairCounts>) -> Section {
    Section::new(heading).table(&CHANGES, change_rows(repaired))
}

fn notes_section(notes: &[String]) -> Section {
    Section::new("Notes").table(&["note"], notes.iter().map(|n| vec![n.into()]).collect())
}

impl Report for ConversionReport {
    fn title(&self) -> String {
        format!("Schema conversion: {}", self.source)
    }

    fn header(&self) -> Vec<(String, Cell)> {
        provenance(&self.tool, &self.invocation, &self.generated_at)
    }

    fn sections(&self) -> Vec<Section> {
        let mut out = vec![Section::new("Summary")
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
                                c.column.as_str().into(),
                                c.source_type.as_str().into(),
                                c.lightning_type.as_str().into(),
                                rule.into(),
                                c.reason.clone().unwrap_or_default().into(),
                            ]
                        })
                        .collect(),
                ),
            );
        }
        out.push(
            findings_section("Findings", &self.findings).chart(severity_chart(&self.findings)),
        );
        out
    }
}

impl Report for AssessmentReport {
    fn title(&self) -> String {
        format!("Assessment: {}", self.source)
    }

    fn header(&self) -> Vec<(String, Cell)> {
        provenance(&self.tool, &self.invocation, &self.generated_at)
    }

    fn sections(&self) -> Vec<Section> {
        let score_tone = match self.compatibility_score {
            90.. => Tone::Good,
            60..=89 => Tone::Warning,
            _ => Tone::Bad,
        };
        let complexity_tone = match self.complexity.as_str() {
            "low" => Tone::Good,
            "medium" => Tone::Warning,
            _ => Tone::Bad,
        };
        let b = &self.score_basis;
        vec![
            Section::new("Summary")
                .fact(
                    "database size",
                    Cell::Measure(human_bytes(self.database_size_bytes)),
                )
                .fact("tables", self.tables.len())
                .fact("rows", self.tables.iter().map(|t| t.rows).sum::<u64>())
                .fact(
                    "compatibility score",
                    Cell::Badge(score_tone, format!("{}/100", self.compatibility_score)),
                )
                .fact(
                    "complexity",
                    Cell::Badge(complexity_tone, self.complexity.clone()),
                )
                .fact(
                    "estimated migration time",
                    Cell::Measure(human_secs(self.estimate.estimated_secs)),
                )
                .fact(
                    "estimated store size",
                    Cell::Measure(human_bytes(self.estimate.store_bytes)),
                )
                .fact(
                    "measured rate",
                    format!(
                        "{} rows/s with {} reader{}, from {} rows copied in {} (start-up {})",
                        count(self.estimate.rows_per_sec.round() as u64),
                        self.estimate.parallel,
                        if self.estimate.parallel == 1 { "" } else { "s" },
                        count(self.estimate.sampled_rows),
                        duration(self.estimate.sampled_secs),
                        duration(self.estimate.startup_secs)
                    ),
                ),
            Section::new("How the score was reached")
                .paragraph(
                    "Each table, column and secondary index is one object, and so is each \
                     object needing manual work. Each finding of manual work or loss is one \
                     issue, each warning half of one; info findings cost nothing.",
                )
                .table(
                    &["input", "schema objects", "whole database"],
                    vec![
                        vec![
                            "tables".into(),
                            b.tables.into(),
                            Cell::Measure(String::new()),
                        ],
                        vec![
                            "columns".into(),
                            b.columns.into(),
                            Cell::Measure(String::new()),
                        ],
                        vec![
                            "secondary indexes".into(),
                            b.indexes.into(),
                            Cell::Measure(String::new()),
                        ],
                        vec![
                            Cell::severity(Severity::Manual),
                            b.manual.into(),
                            b.database_manual.into(),
                        ],
                        vec![
                            Cell::severity(Severity::Loss),
                            b.loss.into(),
                            b.database_loss.into(),
                        ],
                        vec![
                            Cell::severity(Severity::Warning),
                            b.warnings.into(),
                            b.database_warnings.into(),
                        ],
                    ],
                )
                .fact("objects", b.objects)
                .fact("issues", Cell::Measure(format!("{}", b.issues)))
                .fact("score", b.formula.as_str()),
            Section::new("Tables")
                .chart(Chart {
                    title: "Table sizes".into(),
                    bars: self
                        .tables
                        .iter()
                        .map(|t| Bar {
                            label: t.table.clone(),
                            value: t.size_bytes as f64,
                            shown: human_bytes(t.size_bytes),
                            tone: None,
                        })
                        .collect(),
                })
                .table(
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
                                t.table.as_str().into(),
                                t.rows.into(),
                                Cell::Measure(human_bytes(t.size_bytes)),
                                t.columns.into(),
                                t.indexes.into(),
                                t.foreign_keys.into(),
                            ]
                        })
                        .collect(),
                ),
            findings_section("Findings", &self.findings).chart(severity_chart(&self.findings)),
            super::checks_section(&self.checks),
            Section::new("Risks").table(
                &["risk"],
                self.risks.iter().map(|r| vec![r.into()]).collect(),
            ),
            Section::new("Recommendations").table(
                &["recommendation"],
                self.recommendations
                    .iter()
                    .map(|r| vec![r.into()])
                    .collect(),
            ),
        ]
    }
}

impl Report for VerificationReport {
    fn title(&self) -> String {
        format!("Verification: {} against {}", self.target, self.source)
    }

    fn header(&self) -> Vec<(String, Cell)> {
        provenance(&self.tool, &self.invocation, &self.generated_at)
    }

    fn sections(&self) -> Vec<Section> {
        let mut result = Section::new("Result")
            .fact("verdict", Cell::verdict(self.equal, "EQUAL", "DIFFERENT"))
            .table(
                &[
                    "table",
                    "source rows",
                    "target rows",
                    "schema",
                    "sampled",
                    "mismatched",
                    "checksum",
                    "differing columns",
                    "result",
                ],
                self.tables
                    .iter()
                    .map(|t| {
                        vec![
                            t.table.as_str().into(),
                            t.source_rows.into(),
                            t.target_rows.into(),
                            if t.schema_differences.is_empty() {
                                Cell::verdict(true, "same", "")
                            } else {
                                Cell::Badge(
                                    Tone::Bad,
                                    format!("{} differences", t.schema_differences.len()),
                                )
                            },
                            t.sampled_rows.into(),
                            if t.sample_mismatches.is_empty() {
                                Cell::Count(0)
                            } else {
                                Cell::Badge(Tone::Bad, count(t.sample_mismatches.len() as u64))
                            },
                            Cell::verdict(
                                t.source_checksum == t.target_checksum,
                                "same",
                                "differs",
                            ),
                            t.differing_columns.join(", ").into(),
                            Cell::verdict(t.equal, "equal", "DIFFERENT"),
                        ]
                    })
                    .collect(),
            );
        if !self.target_only_tables.is_empty() {
            result = result.fact("only in the target", self.target_only_tables.join(", "));
        }
        let mut out = Vec::new();
        if !self.repaired.is_empty() {
            out.push(repaired_section(
                "Repaired before verifying",
                &self.repaired,
            ));
        }
        out.push(result);
        for t in self.tables.iter().filter(|t| !t.equal) {
            let what = |s: &str| Cell::Badge(Tone::Bad, s.into());
            let mut rows: Vec<Vec<Cell>> = t
                .schema_differences
                .iter()
                .map(|d| vec![what("schema"), d.into()])
                .collect();
            rows.extend(
                t.sample_mismatches
                    .iter()
                    .map(|d| vec![what("sample"), d.into()]),
            );
            rows.extend(t.differing_keys.iter().map(|k| {
                let detail = match &k.columns {
                    Some(c) => format!("{}: {c}", k.key),
                    None => k.key.clone(),
                };
                vec![what(&k.kind.replace('_', " ")), detail.into()]
            }));
            if t.differing_keys_truncated {
                rows.push(vec!["…".into(), "more differing keys not listed".into()]);
            }
            let mut s = Section::new(&format!("Differences in {}", t.table));
            if !t.differing_columns.is_empty() {
                s = s.fact("differing columns", t.differing_columns.join(", "));
            }
            out.push(s.table(&["what", "detail"], rows));
        }
        if !self.queries.is_empty() {
            out.push(
                Section::new("Queries").table(
                    &["query", "source rows", "target rows", "result"],
                    self.queries
                        .iter()
                        .map(|q| {
                            vec![
                                q.sql.as_str().into(),
                                q.source_rows.into(),
                                q.target_rows.into(),
                                match &q.difference {
                                    None => Cell::verdict(true, "equal", ""),
                                    Some(d) => Cell::Badge(Tone::Bad, format!("DIFFERENT: {d}")),
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
        out
    }
}

impl Report for MigrationReport {
    fn title(&self) -> String {
        format!("Migration: {} into {}", self.source, self.target)
    }

    fn header(&self) -> Vec<(String, Cell)> {
        let mut h = provenance(&self.tool, &self.invocation, &self.generated_at);
        h.push((
            "store size".into(),
            Cell::Measure(human_bytes(self.store_bytes)),
        ));
        h
    }

    fn sections(&self) -> Vec<Section> {
        let sum = &self.summary;
        let mut summary = Section::new("Summary")
            .fact("run", self.run_id)
            .fact("rows written", sum.rows_written)
            .fact(
                "rows rejected",
                if sum.rows_rejected > 0 {
                    Cell::Badge(Tone::Bad, count(sum.rows_rejected))
                } else {
                    Cell::Count(0)
                },
            )
            .fact("partitions copied", sum.partitions_copied)
            .fact("partitions already done", sum.partitions_already_done)
            .fact("time", Cell::Measure(duration(sum.elapsed_secs)))
            .fact(
                "rate",
                Cell::Measure(rate(sum.rows_written, sum.elapsed_secs)),
            )
            .fact("store size", Cell::Measure(human_bytes(self.store_bytes)));
        if let Some(f) = &self.reject_file {
            summary = summary.fact("reject file", f.as_str());
        }
        let mut s = vec![
            summary,
            Section::new("Tables")
                .chart(Chart {
                    title: "Time per table".into(),
                    bars: sum
                        .tables
                        .iter()
                        .map(|(n, t)| Bar {
                            label: n.clone(),
                            value: t.seconds,
                            shown: duration(t.seconds),
                            tone: None,
                        })
                        .collect(),
                })
                .table(
                    &["table", "rows written", "rows rejected", "time", "rate"],
                    sum.tables
                        .iter()
                        .map(|(n, t)| {
                            vec![
                                n.into(),
                                t.rows_written.into(),
                                t.rows_rejected.into(),
                                Cell::Measure(duration(t.seconds)),
                                Cell::Measure(rate(t.rows_written, t.seconds)),
                            ]
                        })
                        .collect(),
                ),
        ];
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
            s.push(
                findings_section("Conversion findings", &carried)
                    .fact("objects needing manual work", manual)
                    .chart(severity_chart(&self.findings)),
            );
        }
        if let Some(v) = &self.verification {
            s.extend(v.sections());
        }
        s
    }
}

impl Report for SyncReport {
    fn title(&self) -> String {
        format!("Sync: {}", self.target)
    }

    fn header(&self) -> Vec<(String, Cell)> {
        provenance(&self.tool, &self.invocation, &self.generated_at)
    }

    fn sections(&self) -> Vec<Section> {
        let caught_up = self.status == "caught up";
        let mut summary = Section::new("Summary")
            .fact(
                "status",
                Cell::Badge(
                    if caught_up { Tone::Good } else { Tone::Warning },
                    self.status.clone(),
                ),
            )
            .fact("transactions", self.transactions)
            .fact("row changes", self.changes)
            .fact("time", Cell::Measure(duration(self.elapsed_seconds)))
            .fact("started at", self.start_position.as_str())
            .fact("now at", self.position.as_str());
        if let Some(b) = self.bytes_behind {
            summary = summary.fact("behind the source", Cell::Measure(human_bytes(b)));
        }
        if let Some(s) = self.seconds_behind {
            summary = summary.fact("lag", Cell::Measure(duration(s)));
        }
        let mut out = vec![
            summary,
            Section::new("Tables")
                .chart(Chart {
                    title: "Row changes per table".into(),
                    bars: self
                        .tables
                        .iter()
                        .map(|(t, c)| {
                            let n = c.inserted + c.updated + c.deleted;
                            Bar {
                                label: t.clone(),
                                value: n as f64,
                                shown: count(n),
                                tone: None,
                            }
                        })
                        .collect(),
                })
                .table(&CHANGES, change_rows(&self.tables)),
        ];
        if !self.warnings.is_empty() {
            out.push(
                Section::new("Warnings").table(
                    &["severity", "warning"],
                    self.warnings
                        .iter()
                        .map(|w| vec![Cell::severity(Severity::Warning), w.into()])
                        .collect(),
                ),
            );
        }
        out
    }
}
