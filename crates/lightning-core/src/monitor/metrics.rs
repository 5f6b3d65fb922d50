//! The run's state in Prometheus's text exposition format (version 0.0.4):
//! `lightning_` names, base units, `_total` on counters, one family per name.

use std::fmt::Write as _;

use crate::progress::{Stats, TableStats};

/// A label value escaped as the format wants (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    fn per_table(
        &mut self,
        tables: &[TableStats],
        name: &str,
        kind: &str,
        help: &str,
        value: impl Fn(&TableStats) -> f64,
    ) {
        if tables.is_empty() {
            return;
        }
        self.family(name, kind, help);
        for t in tables {
            self.sample(name, &[("table", &t.name)], value(t));
        }
    }
}

pub fn render(s: &Stats) -> String {
    let mut o = Out(String::new());
    let status = serde_json::to_value(s.status).expect("serializes");
    let phase = serde_json::to_value(s.phase).expect("serializes");
    o.family(
        "lightning_run_info",
        "gauge",
        "The run being watched: its tool, command, phase and status (always 1).",
    );
    o.sample(
        "lightning_run_info",
        &[
            ("tool", &s.tool),
            ("command", &s.command),
            ("phase", status_text(&phase)),
            ("status", status_text(&status)),
        ],
        1.0,
    );
    o.one(
        "lightning_run_elapsed_seconds",
        "gauge",
        "Seconds since the run started.",
        s.elapsed_seconds,
    );
    o.one(
        "lightning_tables",
        "gauge",
        "Tables the run copies or verifies.",
        s.tables_total as f64,
    );
    o.one(
        "lightning_tables_completed",
        "gauge",
        "Tables copied to their end.",
        s.tables_completed as f64,
    );
    o.one(
        "lightning_rows_estimated",
        "gauge",
        "Rows the source is estimated to hold (exact once each table is copied).",
        s.rows_total as f64,
    );
    o.one(
        "lightning_rows_migrated_total",
        "counter",
        "Rows committed to the store, by this run and the runs it resumes (rejected rows included).",
        s.rows_migrated as f64,
    );
    o.one(
        "lightning_rows_rejected_total",
        "counter",
        "Rows set aside in the reject file.",
        s.rows_rejected as f64,
    );
    o.one(
        "lightning_rows_verified_total",
        "counter",
        "Source rows read by the verification.",
        s.rows_verified as f64,
    );
    o.one(
        "lightning_errors_total",
        "counter",
        "Errors that stopped the run or a part of it.",
        s.errors as f64,
    );
    o.one(
        "lightning_rows_per_second",
        "gauge",
        "Rows a second over the last ten seconds.",
        s.rows_per_second,
    );
    if let Some(eta) = s.eta_seconds {
        o.one(
            "lightning_eta_seconds",
            "gauge",
            "Seconds until the current phase is estimated to end.",
            eta,
        );
    }
    if let Some(v) = &s.verdict {
        o.one(
            "lightning_verification_equal",
            "gauge",
            "1 when the verification found the target equal to the source, 0 when it differs.",
            if v == "EQUAL" { 1.0 } else { 0.0 },
        );
    }
    let t = &s.tables;
    o.per_table(
        t,
        "lightning_table_rows_estimated",
        "gauge",
        "Rows a table is estimated to hold.",
        |t| t.rows_total as f64,
    );
    o.per_table(
        t,
        "lightning_table_rows_migrated_total",
        "counter",
        "Rows of a table committed to the store.",
        |t| t.rows_migrated as f64,
    );
    o.per_table(
        t,
        "lightning_table_rows_rejected_total",
        "counter",
        "Rows of a table set aside.",
        |t| t.rows_rejected as f64,
    );
    o.per_table(
        t,
        "lightning_table_rows_per_second",
        "gauge",
        "Rows a second of a table being copied.",
        |t| t.rows_per_second,
    );
    if let Some(sync) = &s.sync {
        o.one(
            "lightning_sync_transactions_total",
            "counter",
            "Source transactions applied by sync.",
            sync.transactions as f64,
        );
        o.one(
            "lightning_sync_changes_total",
            "counter",
            "Row changes applied by sync.",
            sync.changes as f64,
        );
        if let Some(b) = sync.bytes_behind {
            o.one(
                "lightning_sync_lag_bytes",
                "gauge",
                "Bytes of the source's change log not yet applied.",
                b as f64,
            );
        }
        if let Some(secs) = sync.seconds_behind {
            o.one(
                "lightning_sync_lag_seconds",
                "gauge",
                "Seconds between the last applied transaction's commit on the source and its apply.",
                secs,
            );
        }
    }
    o.0
}

fn status_text(v: &serde_json::Value) -> &str {
    v.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;

    #[test]
    fn label_values_are_escaped_and_every_sample_has_a_family() {
        let p = Progress::new("tool", "migrate", "s", "d");
        p.plan_partition("we\"ird\\name\n", 10, 0, false);
        p.committed("we\"ird\\name\n", 4, 1);
        let text = render(&p.stats());
        assert!(
            text.contains(r#"lightning_table_rows_migrated_total{table="we\"ird\\name\n"} 5"#),
            "{text}"
        );
        let families: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(families.contains(&name), "{name} has no TYPE line");
        }
    }
}
