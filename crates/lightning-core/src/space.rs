//! Free space at a migration's target against what the migration will write.

use std::path::Path;

use crate::report::{dir_size, human_bytes, Check, CheckStatus};
use crate::store::WRITE_BUFFER_BYTES;

/// What a store of `store_bytes` needs on its disk while it is written: the
/// store, the journal (as large as the store up to the write buffer), a quarter
/// more for the files a compaction writes before it removes those it merged, and
/// a mebibyte for the catalog.
pub fn needed(store_bytes: u64) -> u64 {
    store_bytes + store_bytes.min(WRITE_BUFFER_BYTES) + store_bytes / 4 + (1 << 20)
}

#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    #[error(
        "not enough free space for {target}: the store will take about {store} \
         (and the engine needs {headroom} of head-room while writing it), but its disk \
         has {free} free. Free some space or choose another --target; --no-space-check \
         copies anyway"
    )]
    TooLittle {
        target: String,
        store: String,
        headroom: String,
        free: String,
    },
    #[error("cannot measure the free space for {target}: {error}")]
    Unknown {
        target: String,
        error: std::io::Error,
    },
}

/// Bytes a writer may still use on the file system that holds `path` (or would
/// hold it: its nearest existing folder).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let mut dir = path;
    while !dir.exists() {
        dir = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
    }
    statvfs_free(dir)
}

#[cfg(unix)]
fn statvfs_free(dir: &Path) -> std::io::Result<u64> {
    let st = rustix::fs::statvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
fn statvfs_free(_dir: &Path) -> std::io::Result<u64> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "free space is measured on Unix systems only",
    ))
}

/// Whether a store of about `store_bytes` fits at `target`, counting what the
/// target already holds (a resumed copy adds only the rest).
pub fn ensure(target: &Path, store_bytes: u64) -> Result<(), SpaceError> {
    let shown = target.display().to_string();
    let free = free_bytes(target).map_err(|error| SpaceError::Unknown {
        target: shown.clone(),
        error,
    })?;
    let held = dir_size(target).unwrap_or(0);
    let wanted = needed(store_bytes).saturating_sub(held);
    if wanted > free {
        return Err(SpaceError::TooLittle {
            target: shown,
            store: human_bytes(store_bytes),
            headroom: human_bytes(needed(store_bytes) - store_bytes),
            free: human_bytes(free),
        });
    }
    Ok(())
}

/// [`ensure`] as a check of a plan.
pub fn check(target: &Path, store_bytes: u64) -> Check {
    const NAME: &str = "target disk space";
    match ensure(target, store_bytes) {
        Ok(()) => Check::new(
            NAME,
            CheckStatus::Pass,
            format!(
                "the store needs about {} with head-room; {} is free",
                human_bytes(needed(store_bytes)),
                free_bytes(target).map_or_else(|_| "?".into(), human_bytes)
            ),
        ),
        Err(e @ SpaceError::TooLittle { .. }) => Check::new(NAME, CheckStatus::Fail, e.to_string()),
        Err(e) => Check::new(NAME, CheckStatus::Warn, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_larger_than_the_disk_is_refused_and_a_small_one_fits() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new").join("x.ldb");
        let free = free_bytes(&target).unwrap();
        assert!(free > 0);
        ensure(&target, 1).unwrap();
        let err = ensure(&target, free).unwrap_err().to_string();
        assert!(err.contains("not enough free space"), "{err}");
        assert!(err.contains("--no-space-check"), "{err}");
        assert_eq!(check(&target, free).status, CheckStatus::Fail);
        assert_eq!(check(&target, 1).status, CheckStatus::Pass);
    }
}
