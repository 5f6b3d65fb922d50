//! The identity of a source's content: a dump file's bytes hashed as its first
//! pass reads them. Two runs that read the same bytes read the same rows, so a
//! resumed copy of a dump goes on where it stopped; anything else is repaired.

use std::io::{self, Read};

use xxhash_rust::xxh3::Xxh3;

/// A reader that hashes what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Xxh3,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Xxh3::new(),
            bytes: 0,
        }
    }

    /// The content's identity: its length and 128-bit hash.
    pub fn content_id(&self) -> String {
        format!("xxh3-128:{:032x}:{}", self.hasher.digest128(), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_bytes_give_the_same_id_and_others_do_not() {
        let id = |data: &[u8]| {
            let mut r = HashingReader::new(data);
            std::io::copy(&mut r, &mut std::io::sink()).unwrap();
            r.content_id()
        };
        assert_eq!(id(b"CREATE TABLE t;"), id(b"CREATE TABLE t;"));
        assert_ne!(id(b"CREATE TABLE t;"), id(b"CREATE TABLE u;"));
    }
}
