//! The state file of a run writing a store: the engine lets one process at a time
//! open a store, so a second terminal's `lightning runs`, `tables` and `count`
//! read what the run is doing from this file instead.

use std::path::{Path, PathBuf};

use super::Stats;

/// Its name inside the store's folder.
pub const LIVE_FILE: &str = "run-progress.json";

/// The state file of one run, rewritten whole (write, then rename) so that a
/// reader never sees half of it; removed when the run ends.
pub struct LiveFile {
    path: PathBuf,
}

impl LiveFile {
    pub fn new(store: &Path) -> Self {
        LiveFile {
            path: store.join(LIVE_FILE),
        }
    }

    pub fn write(&self, stats: &Stats) {
        let tmp = self.path.with_extension("json.tmp");
        let written = serde_json::to_vec_pretty(stats)
            .map_err(std::io::Error::other)
            .and_then(|text| std::fs::write(&tmp, text))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            // Only a second terminal misses it: the run goes on.
            tracing::debug!("cannot write {}: {e}", self.path.display());
        }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The state a run writing `store` last wrote, if one is.
pub fn read_live_state(store: &Path) -> Option<Stats> {
    let text = std::fs::read(store.join(LIVE_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}
