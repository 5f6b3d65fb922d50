//! Standard input saved to a file, so that a dump piped into a tool can be read more
//! than once (a first pass that checks and indexes it, then the copy, then a
//! verification). The file lies beside the target, readable by its owner only, and
//! is removed when the run ends — also when it is interrupted; the spools of runs
//! that died (their lock is free) are removed by the next run in that folder.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

const PREFIX: &str = ".lightning-stdin-";
const SUFFIX: &str = ".spool";

pub struct Spool {
    path: PathBuf,
    file: File,
}

impl Spool {
    /// A new, empty spool in the folder of `near` (the target), or in the
    /// temporary folder when there is none.
    pub fn create(near: Option<&Path>) -> io::Result<Spool> {
        let dir = near
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| {
                if near.is_some() {
                    PathBuf::from(".")
                } else {
                    std::env::temp_dir()
                }
            });
        remove_stale(&dir);
        let path = dir.join(format!("{PREFIX}{}{SUFFIX}", std::process::id()));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create {} to hold what standard input brings: {e}",
                    path.display()
                ),
            )
        })?;
        // Held while this process lives: the next run knows a free lock as stale.
        file.try_lock().map_err(io::Error::other)?;
        crate::interrupt::remove_on_exit(&path);
        Ok(Spool { path, file })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle to write the spool with.
    pub fn file(&self) -> io::Result<File> {
        self.file.try_clone()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        crate::interrupt::forget(&self.path);
    }
}

/// Remove the spools of runs that are gone (their lock is free).
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let stale = OpenOptions::new()
            .read(true)
            .write(true)
            .open(e.path())
            .is_ok_and(|f| f.try_lock().is_ok());
        if stale {
            tracing::info!("removing {}, left by a run that ended", e.path().display());
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A reader that writes everything it reads into `copy` (standard input into a
/// spool while a first pass reads it).
pub struct Tee<R, W> {
    input: R,
    copy: W,
}

impl<R: io::Read, W: io::Write> Tee<R, W> {
    pub fn new(input: R, copy: W) -> Self {
        Tee { input, copy }
    }

    /// The copy, for flushing once the input is read.
    pub fn into_copy(self) -> W {
        self.copy
    }
}

impl<R: io::Read, W: io::Write> io::Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.input.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_is_private_and_removed_and_stale_ones_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.ldb");
        let stale = dir.path().join(format!("{PREFIX}999999{SUFFIX}"));
        std::fs::write(&stale, "left over").unwrap();
        let spool = Spool::create(Some(&target)).unwrap();
        assert!(!stale.exists(), "a spool nobody holds is removed");
        let path = spool.path().to_path_buf();
        assert_eq!(path.parent(), Some(dir.path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A live spool is left alone by another run.
        remove_stale(dir.path());
        assert!(path.exists());
        drop(spool);
        assert!(!path.exists());
    }
}
