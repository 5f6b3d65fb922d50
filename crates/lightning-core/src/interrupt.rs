//! SIGINT and SIGTERM. While a copy runs they stop it at the next batch boundary
//! (the target stays consistent and the run is marked interrupted); otherwise, or
//! at a second signal, the process ends at once. Either way the exit code is
//! 128 + the signal (130, 143) and the files registered here are removed first.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

use signal_hook::consts::{SIGINT, SIGTERM};

/// The signal received, or 0.
static REQUESTED: AtomicI32 = AtomicI32::new(0);
/// Copies running that stop at their next batch boundary.
static POLLING: AtomicUsize = AtomicUsize::new(0);
static ON_EXIT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Catch SIGINT and SIGTERM for the rest of the process.
pub fn install() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        tracing::warn!("cannot catch SIGINT and SIGTERM: an interruption stops the run at once");
        return;
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let first = REQUESTED.swap(sig, Ordering::SeqCst) == 0;
            if first && POLLING.load(Ordering::SeqCst) > 0 {
                eprintln!(
                    "\n{}: stopping after the batch being written (signal it again to stop at once)",
                    name(sig)
                );
            } else {
                exit_now(sig);
            }
        }
    });
}

fn name(sig: i32) -> &'static str {
    if sig == SIGTERM {
        "terminated"
    } else {
        "interrupted"
    }
}

/// Remove the registered files and end the process with 128 + `sig`.
pub fn exit_now(sig: i32) -> ! {
    cleanup();
    eprintln!("{}", name(sig));
    std::process::exit(128 + sig)
}

/// Remove the registered files (before an exit that skips destructors).
pub fn cleanup() {
    if let Ok(paths) = ON_EXIT.lock() {
        for p in paths.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The signal that asked the copy to stop, if one did.
pub fn requested() -> Option<i32> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The exit code for an interruption by `sig`.
pub fn exit_code(sig: i32) -> u8 {
    (128 + sig).clamp(0, 255) as u8
}

/// While this guard lives, a first signal stops the copy at a batch boundary.
pub struct Polling(());

impl Polling {
    pub fn start() -> Polling {
        POLLING.fetch_add(1, Ordering::SeqCst);
        Polling(())
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        POLLING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Remove `path` if the process is ended by a signal or a panic.
pub fn remove_on_exit(path: &Path) {
    if let Ok(mut paths) = ON_EXIT.lock() {
        paths.push(path.to_path_buf());
    }
}

/// `path` is removed (or kept) by its owner after all.
pub fn forget(path: &Path) {
    if let Ok(mut paths) = ON_EXIT.lock() {
        paths.retain(|p| p != path);
    }
}
