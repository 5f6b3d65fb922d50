//! Watching a run: the options every `migrate`, `verify` and `sync` takes, and
//! what they start — progress on stderr, the state file a second terminal reads,
//! and the monitoring endpoint — all fed by one [`Progress`].

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::Args;

use crate::monitor::Monitor;
use crate::progress::{Display, LiveFile, Progress, Status};

/// How a run is watched.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Serve the run's progress over HTTP while it runs: a live dashboard at /, the
    /// state as JSON at /api/stats, Prometheus metrics at /metrics. A PORT alone
    /// listens on 127.0.0.1 (this machine only); ADDRESS:PORT listens elsewhere
    /// (0.0.0.0:PORT: every interface); port 0 takes any free one.
    #[arg(long, value_name = "[ADDRESS:]PORT")]
    pub monitor: Option<String>,
    /// Seconds the monitoring endpoint stays up after the run ends, so that its
    /// final state can still be read (Ctrl-C ends the wait).
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub monitor_linger: u64,
    /// Seconds between progress lines when stderr is not a terminal (a log file, a
    /// pipe, CI); 0: none. On a terminal the bars are redrawn in place instead.
    #[arg(long, value_name = "S", default_value_t = 10, alias = "progress-every")]
    pub progress_interval: u64,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// A run being watched. End it with [`Watch::finish`].
pub struct Watch {
    progress: Progress,
    stop: Arc<AtomicBool>,
    /// Asked: no more drawing on stderr (a report is about to be printed); and done.
    hush: Arc<(AtomicBool, AtomicBool)>,
    ticker: Option<JoinHandle<()>>,
    monitor: Option<Monitor>,
    linger: Duration,
}

impl Watch {
    /// Start watching `progress`. `store` is the folder the run writes, which gets
    /// the state file a second terminal reads.
    pub fn start(
        args: &WatchArgs,
        progress: Progress,
        store: Option<&Path>,
    ) -> anyhow::Result<Watch> {
        let monitor = match &args.monitor {
            None => None,
            Some(given) => {
                let addr = crate::monitor::parse_address(given)?;
                let m = Monitor::start(addr, progress.clone())?;
                eprintln!(
                    "monitoring at {} (the run's state: {}api/stats, metrics: {}metrics)",
                    m.url(),
                    m.url(),
                    m.url()
                );
                if !m.addr().ip().is_loopback() {
                    eprintln!(
                        "note: the monitoring endpoint listens on {}, reachable from other machines",
                        m.addr()
                    );
                }
                Some(m)
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let hush = Arc::new((AtomicBool::new(false), AtomicBool::new(false)));
        let display = Display::new(args.quiet, Duration::from_secs(args.progress_interval));
        let live = store.filter(|p| p.is_dir()).map(LiveFile::new);
        let ticker = {
            let (progress, stop, hush) = (progress.clone(), stop.clone(), hush.clone());
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || tick(&progress, display, live, &stop, &hush))?
        };
        Ok(Watch {
            progress,
            stop,
            hush,
            ticker: Some(ticker),
            monitor,
            linger: Duration::from_secs(args.monitor_linger),
        })
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Clear the progress on stderr and draw no more (the report follows); the
    /// other watchers go on.
    pub fn stop_display(&self) {
        self.hush.0.store(true, Ordering::Relaxed);
        let asked = Instant::now();
        while !self.hush.1.load(Ordering::Relaxed) && asked.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The run ended as `status` (with `error` when it failed). Progress stops;
    /// the monitoring endpoint, when there is one, answers a while longer.
    pub fn finish(mut self, status: Status, error: Option<&str>) {
        if let Some(e) = error {
            self.progress.error(e);
        }
        self.progress.finish(status);
        self.stop_ticker();
        let Some(monitor) = self.monitor.take() else {
            return;
        };
        if self.linger.is_zero() || crate::interrupt::requested().is_some() {
            return;
        }
        eprintln!(
            "the run has ended; its final state stays at {} for {} s (Ctrl-C ends the wait)",
            monitor.url(),
            self.linger.as_secs()
        );
        // A signal now ends the wait, not the process.
        let _polling = crate::interrupt::Polling::start();
        let until = Instant::now() + self.linger;
        while Instant::now() < until && crate::interrupt::requested().is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop_ticker(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

/// The watchers' thread: samples the state and rewrites the state file once a
/// second, redraws the display four times a second, until told to stop.
fn tick(
    progress: &Progress,
    mut display: Display,
    live: Option<LiveFile>,
    stop: &AtomicBool,
    hush: &(AtomicBool, AtomicBool),
) {
    let mut sampled: Option<Instant> = None;
    let mut redrawn: Option<Instant> = None;
    loop {
        let finishing = stop.load(Ordering::Relaxed);
        if sampled.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            progress.sample();
            sampled = Some(Instant::now());
            if let Some(live) = &live {
                live.write(&progress.stats());
            }
        }
        if finishing {
            display.finish();
            if let Some(live) = &live {
                live.remove();
            }
            return;
        }
        if hush.0.load(Ordering::Relaxed) {
            if !hush.1.load(Ordering::Relaxed) {
                display.finish();
                display = Display::Off;
                hush.1.store(true, Ordering::Relaxed);
            }
        } else if redrawn.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
            display.update(&progress.stats());
            redrawn = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop_ticker();
    }
}
