//! Progress on stderr. On a terminal: an overall bar and a bar per active table,
//! redrawn in place. Elsewhere (a log, `2>&1 | tee`, CI): a line for the run and
//! one per active table every few seconds, nothing redrawn.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Phase, Stats, TableStats, TableStatus};
use crate::text::{count, duration};

/// How progress is shown on stderr.
pub enum Display {
    Off,
    Bars(Bars),
    Lines {
        every: Duration,
        last: Option<Instant>,
    },
}

pub struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    tables: BTreeMap<String, ProgressBar>,
}

impl Display {
    /// Bars on a terminal, lines every `every` elsewhere (none when zero), or
    /// nothing when `quiet`.
    pub fn new(quiet: bool, every: Duration) -> Self {
        if quiet {
            Display::Off
        } else if std::io::stderr().is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4));
            let overall = multi.add(ProgressBar::new(0));
            overall.set_style(style("{prefix:>16} [{bar:24}] {msg}"));
            Display::Bars(Bars {
                multi,
                overall,
                tables: BTreeMap::new(),
            })
        } else if every.is_zero() {
            Display::Off
        } else {
            Display::Lines { every, last: None }
        }
    }

    /// Show `stats` (called often; lines are written only every few seconds).
    pub fn update(&mut self, stats: &Stats) {
        match self {
            Display::Off => {}
            Display::Bars(bars) => bars.update(stats),
            Display::Lines { every, last } => {
                // The first line comes after one interval, as later ones do.
                let now = Instant::now();
                let due = last.get_or_insert(now);
                if now.duration_since(*due) >= *every {
                    *due = now;
                    eprint!("{}", lines(stats));
                }
            }
        }
    }

    /// The run ended: bars are cleared (the report follows).
    pub fn finish(&mut self) {
        if let Display::Bars(bars) = self {
            for b in bars.tables.values() {
                b.finish_and_clear();
            }
            bars.overall.finish_and_clear();
            let _ = bars.multi.clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("valid template")
        .progress_chars("=> ")
}

impl Bars {
    fn update(&mut self, s: &Stats) {
        let (done, total) = overall(s);
        let at = crate::text::duration(Duration::from_secs_f64(s.elapsed_seconds));
        self.overall.set_prefix(format!("{} {at}", what(s)));
        self.overall.set_length(total.max(done));
        self.overall.set_position(done);
        self.overall.set_message(if s.phase == Phase::Syncing {
            summary(s)
        } else {
            let tables = if s.phase == Phase::Verifying {
                s.tables_verified
            } else {
                s.tables_completed
            };
            format!(
                "{}  tables {tables}/{}",
                bar_message(done, total, s.rows_per_second, s.eta_seconds),
                s.tables_total
            )
        });
        let active: Vec<&TableStats> = s.tables.iter().filter(|t| is_active(t)).collect();
        self.tables.retain(|name, bar| {
            let keep = active.iter().any(|t| &t.name == name);
            if !keep {
                bar.finish_and_clear();
            }
            keep
        });
        for t in active {
            let bar = self.tables.entry(t.name.clone()).or_insert_with(|| {
                let b = self.multi.add(ProgressBar::new(0));
                b.set_style(style("{prefix:>16} [{bar:24}] {msg}"));
                b.set_prefix(short(&t.name, 16));
                b
            });
            let (done, total) = table_progress(t);
            bar.set_length(total.max(done));
            bar.set_position(done);
            bar.set_message(bar_message(done, total, t.rows_per_second, t.eta_seconds));
        }
    }
}

/// What a bar says beside it, short enough for one line of a terminal.
fn bar_message(done: u64, total: u64, rate: f64, eta_seconds: Option<f64>) -> String {
    let pct = if total > 0 {
        format!("{:5.1} %  ", done as f64 * 100.0 / total as f64)
    } else {
        String::new()
    };
    let rate = if rate > 0.0 {
        format!("  {} rows/s", count(rate as u64))
    } else {
        String::new()
    };
    let eta = eta_seconds.map_or(String::new(), |s| {
        format!("  ETA {}", duration(Duration::from_secs_f64(s)))
    });
    format!("{pct}{}/{} rows{rate}{eta}", count(done), count(total))
}

fn is_active(t: &TableStats) -> bool {
    matches!(t.status, TableStatus::Copying | TableStatus::Verifying)
}

fn what(s: &Stats) -> &'static str {
    match s.phase {
        Phase::Starting => "starting",
        Phase::Copying => "copying",
        Phase::Repairing => "repairing",
        Phase::Verifying => "verifying",
        Phase::Syncing => "syncing",
        Phase::Done => "done",
    }
}

/// Rows done and to do in the current phase.
fn overall(s: &Stats) -> (u64, u64) {
    if s.phase == Phase::Verifying {
        (s.rows_verified, s.rows_migrated)
    } else {
        (s.rows_migrated, s.rows_total)
    }
}

fn table_progress(t: &TableStats) -> (u64, u64) {
    if t.status == TableStatus::Verifying {
        (t.rows_verified, t.rows_migrated)
    } else {
        (t.rows_migrated, t.rows_total)
    }
}

fn percent(done: u64, total: u64) -> String {
    if total == 0 {
        String::new()
    } else {
        format!(" ({:.1} %)", done as f64 * 100.0 / total as f64)
    }
}

fn eta(seconds: Option<f64>) -> String {
    seconds.map_or(String::new(), |s| {
        format!(", ETA {}", duration(Duration::from_secs_f64(s)))
    })
}

/// The run in one line's worth: rows, rate, ETA, tables.
fn summary(s: &Stats) -> String {
    if let (Phase::Syncing, Some(sync)) = (s.phase, &s.sync) {
        let behind = match (sync.bytes_behind, sync.seconds_behind) {
            (Some(b), Some(t)) => format!("; {} bytes, {t:.1} s behind", count(b)),
            (Some(b), None) => format!("; {} bytes behind", count(b)),
            (None, Some(t)) => format!("; {t:.1} s behind"),
            (None, None) => String::new(),
        };
        let rate = sync.changes as f64 / s.elapsed_seconds.max(1e-3);
        return format!(
            "{} transactions, {} changes applied ({rate:.0}/s), at {}{behind}",
            count(sync.transactions),
            count(sync.changes),
            sync.position
        );
    }
    let (done, total) = overall(s);
    let tables = if s.phase == Phase::Verifying {
        format!(
            "{} of {} tables verified",
            s.tables_verified, s.tables_total
        )
    } else {
        format!("{} of {} tables done", s.tables_completed, s.tables_total)
    };
    let rejected = if s.rows_rejected > 0 {
        format!(", {} rejected", count(s.rows_rejected))
    } else {
        String::new()
    };
    format!(
        "{} of {} rows{}{rejected}, {} rows/s{}; {tables}",
        count(done),
        count(total),
        percent(done, total),
        count(s.rows_per_second as u64),
        eta(s.eta_seconds)
    )
}

fn table_summary(t: &TableStats) -> String {
    let (done, total) = table_progress(t);
    if t.status == TableStatus::Verifying {
        return format!(
            "verifying, {} of {} rows{}",
            count(done),
            count(total),
            percent(done, total)
        );
    }
    format!(
        "{} of {} rows{}, {} rows/s{}",
        count(done),
        count(total),
        percent(done, total),
        count(t.rows_per_second as u64),
        eta(t.eta_seconds)
    )
}

fn short(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let head: String = name.chars().take(width - 1).collect();
        format!("{head}…")
    }
}

/// Lines for a log: the run, then each active table.
pub fn lines(s: &Stats) -> String {
    use crate::text::for_terminal;
    let at = duration(Duration::from_secs_f64(s.elapsed_seconds));
    let mut out = format!("[{at}] {}: {}\n", what(s), summary(s));
    for t in s.tables.iter().filter(|t| is_active(t)) {
        out.push_str(&format!(
            "[{at}]   {}: {}\n",
            for_terminal(&t.name),
            table_summary(t)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;

    #[test]
    fn a_log_line_names_each_active_table_with_rows_rate_and_eta() {
        let p = Progress::new("t", "migrate", "s", "d");
        p.plan_partition("orders", 1_000_000, 0, false);
        p.plan_partition("users", 10, 10, true);
        p.sample();
        std::thread::sleep(Duration::from_millis(20));
        p.committed("orders", 250_000, 0);
        p.sample();
        let text = lines(&p.stats());
        let mut l = text.lines();
        let first = l.next().unwrap();
        assert!(
            first.contains("copying: 250,010 of 1,000,010 rows (25.0 %)"),
            "{first}"
        );
        assert!(
            first.contains("1 of 2 tables done") && first.contains("ETA"),
            "{first}"
        );
        let second = l.next().unwrap();
        assert!(
            second.contains("orders: 250,000 of 1,000,000 rows (25.0 %)"),
            "{second}"
        );
        assert!(second.contains("rows/s, ETA"), "{second}");
        assert!(l.next().is_none(), "the finished table has no line: {text}");
    }
}
