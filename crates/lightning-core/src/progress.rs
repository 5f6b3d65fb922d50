//! Progress on stderr: rows, rate and ETA; silent when stderr is not a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar on stderr when it is a terminal and `enabled`, hidden otherwise.
    pub fn stderr(label: &str, enabled: bool) -> Self {
        let target = if enabled && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr_with_hz(4)
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows  {rate}  ETA {eta}",
            )
            .expect("valid template")
            .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} rows/s", state.per_sec());
            }),
        );
        bar.set_prefix(label.to_string());
        Progress { bar }
    }

    pub fn hidden() -> Self {
        Progress {
            bar: ProgressBar::hidden(),
        }
    }

    pub fn start(&self, total: u64, done: u64) {
        self.bar.set_length(total.max(done));
        self.bar.set_position(done);
        self.bar.reset_eta();
    }

    pub fn set_written(&self, n: u64) {
        if n > self.bar.length().unwrap_or(0) {
            self.bar.set_length(n);
        }
        self.bar.set_position(n);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
