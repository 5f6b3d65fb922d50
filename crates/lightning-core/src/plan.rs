//! `plan`: the runbook of one migration, filled in. The assessment's measured
//! estimate and checks, the exact commands for this source and target in the
//! order to run them, the steps a person takes, and the way back. Steps the
//! target's store shows done (a completed copy, a verified one, sync under way)
//! are ticked when `plan` runs again.

use std::path::Path;

use crate::report::{
    checks_section, human_bytes, human_secs, AssessmentReport, Cell, Check, CheckStatus,
    Invocation, Report, Section, Severity, Step,
};
use crate::schema::TableSchema;
use crate::store::{RunRecord, Store, SyncState};
use crate::text::count;

/// What a source offers a plan beyond its assessment.
#[derive(Debug, Clone, Default)]
pub struct PlanHints {
    /// `sync` can follow this source after the copy (a live server).
    pub sync: bool,
    /// How rows written on Lightning after the switch go back to the source.
    pub way_back: Option<WayBack>,
    /// Run once the application works on Lightning (removing what sync left on
    /// the server), with the source's options after it.
    pub after_switch: Option<String>,
}

/// The source's dialect for `lightning export --format sql`, and the command that
/// loads `back.sql` into it.
#[derive(Debug, Clone)]
pub struct WayBack {
    pub dialect: &'static str,
    pub load: String,
}

/// Everything a runbook is made from.
pub struct PlanInput<'a> {
    pub tool: &'a str,
    /// The source options as given, as shell words, for each command of the tool
    /// (`migrate` → `--source URL --tables a`): each holds those it takes.
    pub source_args: std::collections::HashMap<String, String>,
    /// A password was left out of `source_args`.
    pub password_left_out: bool,
    pub target: &'a Path,
    pub assessment: AssessmentReport,
    pub hints: PlanHints,
}

/// Whether every table has the primary key `sync` applies changes by.
pub fn keys_check(tables: &[TableSchema]) -> Check {
    let keyless: Vec<String> = tables
        .iter()
        .filter(|t| t.primary_key.is_empty())
        .map(|t| t.name.clone())
        .collect();
    if keyless.is_empty() {
        return Check::new(
            "primary keys",
            CheckStatus::Pass,
            format!("all {} tables have one", tables.len()),
        )
        .for_sync();
    }
    Check::new(
        "primary keys",
        CheckStatus::Warn,
        format!(
            "{} ha{} no primary key: sync finds the rows it changes by their key, so \
             `migrate --for-sync` refuses them. Add one in the source, or leave them out \
             with --exclude and copy them once writes have stopped",
            crate::text::listed(&keyless),
            if keyless.len() == 1 { "s" } else { "ve" }
        ),
    )
    .for_sync()
}

/// Where `plan` writes the runbook unless told: beside the target, named after it
/// (`app.ldb` → `app.runbook.md`).
pub fn default_output(target: &Path) -> std::path::PathBuf {
    let stem = target
        .file_stem()
        .map_or_else(|| "migration".into(), |s| s.to_string_lossy().to_string());
    target.with_file_name(format!("{stem}.runbook.md"))
}

/// What the target's store shows done.
#[derive(Debug, Default)]
struct Done {
    migrate: Option<RunRecord>,
    sync: Option<SyncState>,
}

impl Done {
    fn read(target: &Path, tool: &str, source: &str) -> Done {
        let Ok(store) = Store::open_to_read(target) else {
            return Done::default();
        };
        let migrate = store.runs().ok().and_then(|runs| {
            runs.into_iter()
                .rev()
                .find(|r| r.tool == tool && r.source == source && r.status == "completed")
        });
        let sync = store.sync_state().ok().flatten().filter(|s| s.tool == tool);
        Done { migrate, sync }
    }
}

pub struct Runbook {
    title: String,
    header: Vec<(String, Cell)>,
    sections: Vec<Section>,
}

impl Report for Runbook {
    fn title(&self) -> String {
        self.title.clone()
    }
    fn header(&self) -> Vec<(String, Cell)> {
        self.header.clone()
    }
    fn sections(&self) -> Vec<Section> {
        self.sections.clone()
    }
}

/// The runbook for `input`, with the steps the target shows done ticked.
pub fn runbook(input: PlanInput<'_>) -> Runbook {
    let plan = Planner::new(&input);
    let mut sections = vec![plan.summary(), plan.checks()];
    sections.extend(plan.risks());
    sections.extend([plan.before(), plan.copy()]);
    sections.extend(plan.keep_up());
    sections.extend([plan.switch(), plan.way_back(), plan.after()]);
    Runbook {
        title: format!("Migration runbook: {}", input.assessment.source),
        header: header(&input),
        sections,
    }
}

/// What the runbook's sections are drawn from.
struct Planner<'a> {
    input: &'a PlanInput<'a>,
    a: &'a AssessmentReport,
    done: Done,
    /// The target, as a shell word.
    target: String,
    /// Sync is planned: the source can be followed and nothing it needs is
    /// missing. Otherwise the source must not change from the copy to the switch.
    sync: bool,
    /// The for-sync checks that did not pass.
    sync_blocked: Vec<&'a str>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let a = &input.assessment;
        let sync_blocked: Vec<&str> = a
            .checks
            .iter()
            .filter(|c| c.for_sync && c.status != CheckStatus::Pass)
            .map(|c| c.check.as_str())
            .collect();
        Planner {
            input,
            a,
            done: Done::read(input.target, input.tool, &a.source),
            target: crate::job::shell_word(&input.target.display().to_string()),
            sync: input.hints.sync && sync_blocked.is_empty(),
            sync_blocked,
        }
    }

    /// `TOOL VERB` with the source options that verb takes, then `rest`.
    fn cmd(&self, verb: &str, rest: &str) -> String {
        let src = self.input.source_args.get(verb).map_or("", String::as_str);
        let mut c = format!("{} {verb} {src}", self.input.tool);
        if !rest.is_empty() {
            c.push(' ');
            c.push_str(rest);
        }
        c
    }

    fn strategy(&self) -> String {
        if self.sync {
            "copy while the application keeps writing, keep the target in sync, then switch in a short window".into()
        } else if self.input.hints.sync {
            format!(
                "offline: the source must not change from the copy to the switch (sync is not planned: {} not ready, see the checks)",
                self.sync_blocked.join(", ")
            )
        } else {
            "offline: the source must not change from the copy to the switch (this source has no change log to follow)".into()
        }
    }

    fn summary(&self) -> Section {
        let (a, e) = (self.a, &self.a.estimate);
        let rows: u64 = a.tables.iter().map(|t| t.rows).sum();
        let summary = Section::new("Summary")
            .fact("source", a.source.as_str())
            .fact("target", self.input.target.display().to_string())
            .fact("tables", a.tables.len())
            .fact("rows", rows)
            .fact(
                "source size",
                Cell::Measure(human_bytes(a.database_size_bytes)),
            )
            .fact(
                "estimated copy time",
                Cell::Measure(format!(
                    "{} with {} reader{}",
                    human_secs(e.estimated_secs),
                    e.parallel,
                    if e.parallel == 1 { "" } else { "s" }
                )),
            )
            .fact(
                "estimated store size",
                Cell::Measure(human_bytes(e.store_bytes)),
            )
            .fact(
                "compatibility score",
                format!("{}/100", a.compatibility_score),
            )
            .fact("complexity", a.complexity.as_str())
            .fact("strategy", self.strategy());
        if !self.input.password_left_out {
            return summary;
        }
        summary.paragraph(
            "The password given with the source is left out of the commands: add --password-file FILE to each, or use the database client's own password file.",
        )
    }

    fn checks(&self) -> Section {
        let checks = checks_section(&self.a.checks);
        let fails = self
            .a
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .count();
        if fails == 0 {
            return checks;
        }
        checks.paragraph(format!(
            "{fails} check{} failed: resolve {} before copying.",
            if fails == 1 { "" } else { "s" },
            if fails == 1 { "it" } else { "them" }
        ))
    }

    fn risks(&self) -> Option<Section> {
        (!self.a.risks.is_empty()).then(|| {
            Section::new("Risks").table(
                &["risk"],
                self.a.risks.iter().map(|r| vec![r.into()]).collect(),
            )
        })
    }

    fn before(&self) -> Section {
        Section::new("Before")
            .step(Step::new(
                "Back up the source, and check that the backup restores.",
            ))
            .step(Step::new(
                "Agree the window for the switch with the application's owners, and tell the people who depend on it when it is.",
            ))
            .step(
                Step::new("Review the schema conversion (findings, manual work) and decide any --cast rules.")
                    .command(self.cmd("convert-schema", "")),
            )
    }

    /// The completed copy, and whether it kept checksums (`--verify`).
    fn migrated(&self) -> Option<String> {
        let r = self.done.migrate.as_ref()?;
        let run = format!(
            "run {}, {} rows, finished {}",
            r.id,
            count(r.rows_written),
            r.finished_at.as_deref().unwrap_or("?")
        );
        Some(if r.tables.is_empty() {
            run
        } else {
            format!("{run}, verified")
        })
    }

    fn copy(&self) -> Section {
        let mut copy = Section::new("Copy");
        if !self.sync {
            copy = copy.step(Step::new(
                "Stop the application's writes to the source (or make it read-only): they would not reach the target.",
            ));
        }
        let for_sync = if self.sync { "--for-sync " } else { "" };
        copy.step(
            Step::new(format!(
                "Copy and verify (about {}; run the same command again to resume after a failure).",
                human_secs(self.a.estimate.estimated_secs)
            ))
            .command(self.cmd(
                "migrate",
                &format!("--target {} {for_sync}--verify", self.target),
            ))
            .done(self.migrated()),
        )
    }

    fn caught_up(&self) -> String {
        self.cmd(
            "sync",
            &format!("--target {} --until-caught-up", self.target),
        )
    }

    fn keep_up(&self) -> Option<Section> {
        if !self.sync {
            return None;
        }
        let synced = self
            .done
            .sync
            .as_ref()
            .filter(|s| s.transactions > 0)
            .map(|s| {
                format!(
                    "{} transaction{} applied, at {} ({})",
                    count(s.transactions),
                    if s.transactions == 1 { "" } else { "s" },
                    s.position,
                    s.updated_at
                )
            });
        Some(
            Section::new("Keep up")
                .paragraph(format!(
                    "To follow the source until the switch, leave `{}` running (it resumes where the store stands when run again). The command below applies what the source has committed so far and exits.",
                    self.cmd("sync", &format!("--target {}", self.target))
                ))
                .step(
                    Step::new("Bring the target level with the source.")
                        .command(self.caught_up())
                        .done(synced),
                ),
        )
    }

    fn switch(&self) -> Section {
        let target = &self.target;
        let mut switch = Section::new("Switch");
        if self.sync {
            switch = switch
                .step(Step::new(
                    "Stop the application's writes to the source (or make it read-only).",
                ))
                .step(
                    Step::new("Stop a running sync, then apply the last changes.")
                        .command(self.caught_up()),
                );
        }
        switch = switch
            .step(
                Step::new("Verify every table: exit 0 means equal; exit 3 names the differing keys (`verify --repair` brings them level).")
                    .command(self.cmd("verify", &format!("--target {target}"))),
            )
            .step(Step::new(format!(
                "Point the application at Lightning (`lightning serve {target}`), and watch its errors and response times."
            )));
        match (self.sync, &self.input.hints.after_switch) {
            (true, Some(after)) => switch.step(
                Step::new(
                    "Once the application works on Lightning, remove what sync keeps on the server.",
                )
                .command(self.cmd("sync", &format!("--target {target} {after}"))),
            ),
            _ => switch,
        }
    }

    fn way_back(&self) -> Section {
        let target = &self.target;
        let back = Section::new("The way back").paragraph(
            "Before any write on Lightning, the way back is to point the application at the source again. After writes, every SQL write is in the store's change log: the commands below write what changed as upserts and deletes, load them into the source, and check that both hold the same rows.",
        );
        let Some(w) = &self.input.hints.way_back else {
            return back.paragraph(format!(
                "{} has no load command for this source: `lightning export {target} --all` writes every row as a JSON-lines stream to load with the source's own tools.",
                self.input.tool
            ));
        };
        // Since the migration's run once there is one, else since this plan.
        let (since, what) = match &self.done.migrate {
            Some(r) => (r.id.to_string(), "the migration"),
            None => (self.a.generated_at.clone(), "this plan"),
        };
        back.step(
            Step::new(format!(
                "Export what SQL changed on Lightning since {what}."
            ))
            .command(format!(
                "lightning export {target} --all --format sql --dialect {} --since {} > back.sql",
                w.dialect,
                crate::job::shell_word(&since)
            )),
        )
        .step(Step::new("Load it into the source.").command(w.load.clone()))
        .step(
            Step::new("Check that the source and Lightning hold the same rows.")
                .command(self.cmd("verify", &format!("--target {target}"))),
        )
    }

    fn after(&self) -> Section {
        let mut after = Section::new("After");
        for f in self
            .a
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Manual)
        {
            after = after.step(Step::new(format!(
                "Recreate or replace {}: {}{}",
                f.object,
                f.message,
                if f.definition.is_some() {
                    " (its definition is in the assessment)"
                } else {
                    ""
                }
            )));
        }
        after
            .step(Step::new("Compare the application's response times on Lightning with those on the source."))
            .step(Step::new("Keep the source (read-only) until the application has run on Lightning for the agreed time, then decommission it."))
    }
}

fn header(input: &PlanInput<'_>) -> Vec<(String, Cell)> {
    let inv = Invocation::current();
    let mut header = vec![
        (
            "generated at".to_string(),
            Cell::from(input.assessment.generated_at.as_str()),
        ),
        (
            "tool".into(),
            format!("{} {}", input.tool, inv.tool_version).trim().into(),
        ),
    ];
    if !inv.command.is_empty() {
        header.push(("command".into(), Cell::Code(inv.command.clone())));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnSchema;
    use crate::LightningType;

    #[test]
    fn a_table_without_a_key_holds_sync_back() {
        let mut keyed = TableSchema::new("orders");
        keyed
            .columns
            .push(ColumnSchema::new("id", LightningType::BigInt));
        keyed.primary_key = vec!["id".into()];
        let mut log = TableSchema::new("log");
        log.columns
            .push(ColumnSchema::new("line", LightningType::Text));
        let ok = keys_check(std::slice::from_ref(&keyed));
        assert_eq!((ok.status, ok.for_sync), (CheckStatus::Pass, true));
        let held = keys_check(&[keyed, log]);
        assert_eq!(held.status, CheckStatus::Warn);
        assert!(
            held.detail.starts_with("log has no primary key"),
            "{}",
            held.detail
        );
        assert!(held.detail.contains("--exclude"), "{}", held.detail);
    }
}
