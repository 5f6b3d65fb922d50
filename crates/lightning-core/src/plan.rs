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
    let a = &input.assessment;
    let done = Done::read(input.target, input.tool, &a.source);
    let tool = input.tool;
    let target = crate::job::shell_word(&input.target.display().to_string());
    let fails = a
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    // Sync is planned when the source can be followed and nothing it needs is
    // missing; otherwise the source must not change from the copy to the switch.
    let sync_blocked: Vec<&str> = a
        .checks
        .iter()
        .filter(|c| c.for_sync && c.status != CheckStatus::Pass)
        .map(|c| c.check.as_str())
        .collect();
    let sync = input.hints.sync && sync_blocked.is_empty();
    let rows: u64 = a.tables.iter().map(|t| t.rows).sum();
    let e = &a.estimate;
    let strategy = if sync {
        "copy while the application keeps writing, keep the target in sync, then switch in a short window".to_string()
    } else if input.hints.sync {
        format!(
            "offline: the source must not change from the copy to the switch (sync is not planned: {} not ready, see the checks)",
            sync_blocked.join(", ")
        )
    } else {
        "offline: the source must not change from the copy to the switch (this source has no change log to follow)".into()
    };
    let mut summary = Section::new("Summary")
        .fact("source", a.source.as_str())
        .fact("target", input.target.display().to_string())
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
        .fact("strategy", strategy);
    if input.password_left_out {
        summary = summary.paragraph(
            "The password given with the source is left out of the commands: add --password-file FILE to each, or use the database client's own password file.",
        );
    }
    let mut checks = checks_section(&a.checks);
    if fails > 0 {
        checks = checks.paragraph(format!(
            "{fails} check{} failed: resolve {} before copying.",
            if fails == 1 { "" } else { "s" },
            if fails == 1 { "it" } else { "them" }
        ));
    }
    let cmd = |verb: &str, rest: &str| {
        let src = input.source_args.get(verb).map_or("", String::as_str);
        let mut c = format!("{tool} {verb} {src}");
        if !rest.is_empty() {
            c.push(' ');
            c.push_str(rest);
        }
        c
    };
    let migrated = done.migrate.as_ref().map(|r| {
        format!(
            "run {}, {} rows, finished {}",
            r.id,
            count(r.rows_written),
            r.finished_at.as_deref().unwrap_or("?")
        )
    });
    let verified = done
        .migrate
        .as_ref()
        .filter(|r| !r.tables.is_empty())
        .map(|r| {
            format!(
                "checksums of {} tables kept by run {}",
                r.tables.len(),
                r.id
            )
        });
    let synced = done.sync.as_ref().filter(|s| s.transactions > 0).map(|s| {
        format!(
            "{} transaction{} applied, at {} ({})",
            count(s.transactions),
            if s.transactions == 1 { "" } else { "s" },
            s.position,
            s.updated_at
        )
    });

    let before = Section::new("Before")
        .step(Step::new(
            "Back up the source, and check that the backup restores.",
        ))
        .step(Step::new(
            "Agree the window for the switch with the application's owners, and tell the people who depend on it when it is.",
        ))
        .step(
            Step::new("Review the schema conversion (findings, manual work) and decide any --cast rules.")
                .command(cmd("convert-schema", "")),
        );
    let mut copy = Section::new("Copy");
    if !sync {
        copy = copy.step(Step::new(
            "Stop the application's writes to the source (or make it read-only): they would not reach the target.",
        ));
    }
    let for_sync = if sync { "--for-sync " } else { "" };
    copy = copy.step(
        Step::new(format!(
            "Copy and verify (about {}; run the same command again to resume after a failure).",
            human_secs(e.estimated_secs)
        ))
        .command(cmd(
            "migrate",
            &format!("--target {target} {for_sync}--verify"),
        ))
        .done(match (&migrated, &verified) {
            (Some(m), Some(_)) => Some(format!("{m}, verified")),
            (Some(m), None) => Some(m.clone()),
            _ => None,
        }),
    );
    let mut sections = vec![summary, checks];
    if !a.risks.is_empty() {
        sections.push(
            Section::new("Risks")
                .table(&["risk"], a.risks.iter().map(|r| vec![r.into()]).collect()),
        );
    }
    sections.push(before);
    sections.push(copy);
    let caught_up = cmd("sync", &format!("--target {target} --until-caught-up"));
    if sync {
        sections.push(
            Section::new("Keep up")
                .paragraph(format!(
                    "To follow the source until the switch, leave `{}` running (it resumes where the store stands when run again). The command below applies what the source has committed so far and exits.",
                    cmd("sync", &format!("--target {target}"))
                ))
                .step(
                    Step::new("Bring the target level with the source.")
                        .command(caught_up.clone())
                        .done(synced.clone()),
                ),
        );
    }
    let mut switch = Section::new("Switch");
    if sync {
        switch = switch
            .step(Step::new(
                "Stop the application's writes to the source (or make it read-only).",
            ))
            .step(
                Step::new("Stop a running sync, then apply the last changes.").command(caught_up),
            );
    }
    switch = switch
        .step(
            Step::new("Verify every table: exit 0 means equal; exit 3 names the differing keys (`verify --repair` brings them level).")
                .command(cmd("verify", &format!("--target {target}"))),
        )
        .step(Step::new(format!(
            "Point the application at Lightning (`lightning serve {target}`), and watch its errors and response times."
        )));
    if let (true, Some(after)) = (sync, &input.hints.after_switch) {
        switch = switch.step(
            Step::new(
                "Once the application works on Lightning, remove what sync keeps on the server.",
            )
            .command(cmd("sync", &format!("--target {target} {after}"))),
        );
    }
    sections.push(switch);
    let since = done
        .migrate
        .as_ref()
        .map_or_else(|| a.generated_at.clone(), |r| r.id.to_string());
    let mut back = Section::new("The way back").paragraph(
        "Before any write on Lightning, the way back is to point the application at the source again. After writes, every SQL write is in the store's change log: the commands below write what changed as upserts and deletes, load them into the source, and check that both hold the same rows.",
    );
    match &input.hints.way_back {
        Some(w) => {
            back = back
                .step(
                    Step::new(format!(
                        "Export what SQL changed on Lightning since {}.",
                        if done.migrate.is_some() { "the migration" } else { "this plan" }
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
                        .command(cmd("verify", &format!("--target {target}"))),
                );
        }
        None => {
            back = back.paragraph(format!(
                "{tool} has no load command for this source: `lightning export {target} --all` writes every row as a JSON-lines stream to load with the source's own tools."
            ));
        }
    }
    sections.push(back);
    let mut after = Section::new("After");
    for f in a.findings.iter().filter(|f| f.severity == Severity::Manual) {
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
    after = after
        .step(Step::new("Compare the application's response times on Lightning with those on the source."))
        .step(Step::new("Keep the source (read-only) until the application has run on Lightning for the agreed time, then decommission it."));
    sections.push(after);
    let inv = Invocation::current();
    let mut header = vec![(
        "generated at".to_string(),
        Cell::from(a.generated_at.as_str()),
    )];
    header.push((
        "tool".into(),
        format!("{tool} {}", inv.tool_version).trim().into(),
    ));
    if !inv.command.is_empty() {
        header.push(("command".into(), Cell::Code(inv.command.clone())));
    }
    Runbook {
        title: format!("Migration runbook: {}", a.source),
        header,
        sections,
    }
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
