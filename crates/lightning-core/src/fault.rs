//! Fault injection for the tests (debug builds only; release builds compile the
//! points to nothing). `LIGHTNING_FAULT=ACTION:POINT[:N]` acts at the Nth time
//! (default 1st) the program passes the point called POINT:
//!
//! - `panic` panics there (a bug anywhere must end the process promptly);
//! - `abort` ends the process at once, as `kill -9` would;
//! - `pause` creates the file named by `LIGHTNING_FAULT_HANDSHAKE` and waits until
//!   the test removes it (the test changes the source at a known moment).
//!
//! Points: `reader` (a partition's read starts), `writer` (a batch is about to be
//! written), `ingested` (a batch's bulk rows are in the engine's files, its
//! commit not made), `committed` (a batch is committed), `copied` (the copy is done,
//! before repairs and verification), `dropped` (a dropped table has left the
//! catalog, its files not yet removed), `slot-made` (pg2lightning `--for-sync`:
//! the replication slot exists, the snapshot is not taken yet), `sync-applied` (a
//! sync batch is committed, the source not yet told).

#[cfg(debug_assertions)]
mod active {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    struct Fault {
        action: String,
        point: String,
        nth: u64,
    }

    static FAULT: OnceLock<Option<Fault>> = OnceLock::new();
    static PASSES: AtomicU64 = AtomicU64::new(0);
    /// Live `Quiet` guards: while any is, points are passed without a count.
    pub static QUIET: AtomicU64 = AtomicU64::new(0);

    fn fault() -> &'static Option<Fault> {
        FAULT.get_or_init(|| {
            let spec = std::env::var("LIGHTNING_FAULT").ok()?;
            let mut parts = spec.split(':');
            let action = parts.next()?.to_string();
            let point = parts.next()?.to_string();
            let nth = parts.next().and_then(|n| n.parse().ok()).unwrap_or(1);
            Some(Fault { action, point, nth })
        })
    }

    pub fn point(name: &str) {
        let Some(f) = fault() else { return };
        if QUIET.load(Ordering::SeqCst) > 0 {
            return;
        }
        if f.point != name || PASSES.fetch_add(1, Ordering::SeqCst) + 1 != f.nth {
            return;
        }
        match f.action.as_str() {
            "panic" => panic!("fault injected at `{name}`"),
            "abort" => std::process::abort(),
            "pause" => {
                let Ok(file) = std::env::var("LIGHTNING_FAULT_HANDSHAKE") else {
                    return;
                };
                let _ = std::fs::write(&file, name);
                let started = Instant::now();
                while std::path::Path::new(&file).exists()
                    && started.elapsed() < Duration::from_secs(120)
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            _ => {}
        }
    }
}

/// Act here when `LIGHTNING_FAULT` names this point (debug builds only).
#[inline]
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    active::point(name);
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// While this lives, every point is passed without acting or counting: for work
/// done before the one a test aims at (`migrate`'s size sample before its copy).
#[must_use]
pub struct Quiet(());

pub fn quiet() -> Quiet {
    #[cfg(debug_assertions)]
    active::QUIET.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Quiet(())
}

impl Drop for Quiet {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        active::QUIET.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}
