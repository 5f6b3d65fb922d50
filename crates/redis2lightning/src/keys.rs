//! The keys a walk of a live keyspace found, kept on disk beside the target (a
//! keyspace may hold more key names than memory should), routed to their tables
//! in a few shard files so a reader of one table reads little else.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use tempfile::NamedTempFile;
use xxhash_rust::xxh3::xxh3_64;

/// Shard files at most: tables beyond share them.
const MAX_SHARDS: usize = 64;

/// Keys by table, on disk.
pub struct KeyFiles {
    shards: Vec<NamedTempFile>,
}

pub struct KeyWriter {
    shards: Vec<BufWriter<File>>,
}

/// The temporary files go beside the target (or in the temporary folder).
fn folder(near: Option<&Path>) -> std::path::PathBuf {
    near.and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

impl KeyFiles {
    pub fn create(tables: usize, near: Option<&Path>) -> io::Result<(KeyFiles, KeyWriter)> {
        let dir = folder(near);
        let n = tables.clamp(1, MAX_SHARDS);
        let mut shards = Vec::with_capacity(n);
        let mut writers = Vec::with_capacity(n);
        for _ in 0..n {
            let f = tempfile::Builder::new()
                .prefix(".redis2lightning-keys-")
                .tempfile_in(&dir)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot create a file for key names in {}: {e}",
                            dir.display()
                        ),
                    )
                })?;
            writers.push(BufWriter::with_capacity(64 * 1024, f.reopen()?));
            shards.push(f);
        }
        Ok((KeyFiles { shards }, KeyWriter { shards: writers }))
    }

    /// Visit the keys of `table`, in the order they were written.
    pub fn each(
        &self,
        table: usize,
        mut visit: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let file = self.shards[table % self.shards.len()].reopen()?;
        let mut r = BufReader::with_capacity(256 * 1024, file);
        let mut head = [0u8; 8];
        let mut key = Vec::new();
        loop {
            match r.read_exact(&mut head) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
            let t = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
            let len = u32::from_le_bytes(head[4..].try_into().expect("4 bytes")) as usize;
            key.resize(len, 0);
            r.read_exact(&mut key)?;
            if t == table {
                visit(&key)?;
            }
        }
    }

    /// The keys of `table` in `bucket` of `buckets`, sorted, each once (a walk
    /// may meet a key twice while the server grows its table).
    pub fn bucket(&self, table: usize, bucket: u64, buckets: u64) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        self.each(table, |k| {
            if bucket_of(k, buckets) == bucket {
                out.push(k.to_vec());
            }
            Ok(())
        })?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

impl KeyWriter {
    pub fn push(&mut self, table: usize, key: &[u8]) -> io::Result<()> {
        let len =
            u32::try_from(key.len()).map_err(|_| io::Error::other("a key longer than 4 GiB"))?;
        let n = self.shards.len();
        let w = &mut self.shards[table % n];
        w.write_all(&(table as u32).to_le_bytes())?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(key)
    }

    pub fn finish(self) -> io::Result<()> {
        for mut w in self.shards {
            w.flush()?;
        }
        Ok(())
    }
}

/// Which of `buckets` a key is read in: the same on every run, whatever order a
/// walk meets the keys in.
pub fn bucket_of(key: &[u8], buckets: u64) -> u64 {
    xxh3_64(key) % buckets.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_back_by_table_and_bucket_sorted_and_once() {
        let (files, mut w) = KeyFiles::create(2, None).unwrap();
        for k in ["b", "a", "c", "a"] {
            w.push(0, k.as_bytes()).unwrap();
        }
        w.push(1, b"other").unwrap();
        w.finish().unwrap();
        assert_eq!(
            files.bucket(0, 0, 1).unwrap(),
            [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        let split: usize = (0..3).map(|b| files.bucket(0, b, 3).unwrap().len()).sum();
        assert_eq!(split, 3);
        assert_eq!(files.bucket(1, 0, 1).unwrap(), [b"other".to_vec()]);
    }
}
