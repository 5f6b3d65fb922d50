//! Keys as the engine stores them. The engine takes keys of at most 64 KiB, but a
//! source can key a row by a longer value (a SQLite TEXT primary key, a MySQL
//! prefix index over a long TEXT). A key longer than `LONG_KEY` bytes is stored as
//! its first `LONG_KEY` bytes followed by the 128-bit hash of the whole key; the
//! whole key is always at hand (in the row, or in the entry's value), so every
//! match is checked against it. Stored keys keep the order of whole keys, except
//! among long keys with the same first `LONG_KEY` bytes: the iterator sorts such a
//! group by whole key before handing it out.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Bound;

/// Keys longer than this are stored as a prefix and a hash.
pub const LONG_KEY: usize = 1024;

/// The stored form of a whole key.
pub fn stored(full: &[u8]) -> Cow<'_, [u8]> {
    if full.len() <= LONG_KEY {
        return Cow::Borrowed(full);
    }
    let mut k = Vec::with_capacity(LONG_KEY + 16);
    k.extend_from_slice(&full[..LONG_KEY]);
    k.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(full).to_be_bytes());
    Cow::Owned(k)
}

/// Whether a stored key is the prefix-and-hash form of a long key.
pub fn is_long(stored: &[u8]) -> bool {
    stored.len() > LONG_KEY
}

/// Bounds on whole keys turned into bounds on stored keys that include every
/// stored key whose whole key is within them. `exact` is false when the caller
/// must still filter by whole key (a bound is itself a long key).
pub fn stored_bounds(
    lo: &Bound<Vec<u8>>,
    hi: &Bound<Vec<u8>>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>, bool) {
    let mut exact = true;
    let lo = match lo {
        Bound::Included(k) | Bound::Excluded(k) if k.len() > LONG_KEY => {
            exact = false;
            Bound::Included(k[..LONG_KEY].to_vec())
        }
        other => other.clone(),
    };
    let hi = match hi {
        Bound::Included(k) | Bound::Excluded(k) if k.len() > LONG_KEY => {
            exact = false;
            let mut end = k[..LONG_KEY].to_vec();
            end.extend_from_slice(&[0xFF; 16]);
            Bound::Included(end)
        }
        other => other.clone(),
    };
    (lo, hi, exact)
}

/// `n - 1` byte strings, strictly between `a` and `b` (`a < b`) and rising, that
/// cut the span into `n` parts of equal width: the common prefix, then 8 bytes
/// read as a number. None when the span is narrower than `n`.
pub fn cut(a: &[u8], b: &[u8], n: usize) -> Vec<Vec<u8>> {
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let word = |k: &[u8]| {
        let mut w = [0u8; 8];
        let tail = &k[p.min(k.len())..];
        let take = tail.len().min(8);
        w[..take].copy_from_slice(&tail[..take]);
        u64::from_be_bytes(w)
    };
    let (x, y) = (word(a), word(b));
    let n = n as u64;
    if n < 2 || y <= x || (y - x) < n {
        return Vec::new();
    }
    let step = (y - x) / n;
    (1..n)
        .map(|i| {
            let mut k = a[..p].to_vec();
            k.extend_from_slice(&(x + step * i).to_be_bytes());
            k
        })
        .collect()
}

pub fn within(key: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let lo_ok = match lo {
        Bound::Included(b) => key >= b.as_slice(),
        Bound::Excluded(b) => key > b.as_slice(),
        Bound::Unbounded => true,
    };
    let hi_ok = match hi {
        Bound::Included(b) => key <= b.as_slice(),
        Bound::Excluded(b) => key < b.as_slice(),
        Bound::Unbounded => true,
    };
    lo_ok && hi_ok
}

/// Entries in whole-key order: stored entries go in, runs of long keys that share
/// their stored prefix are sorted by whole key, and entries outside the whole-key
/// bounds are dropped.
pub struct Ordered<K, T> {
    pending: VecDeque<(K, T)>,
    group: Vec<(K, T)>,
    group_prefix: Vec<u8>,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    filter: bool,
}

impl<K: AsRef<[u8]>, T> Ordered<K, T> {
    pub fn new(lo: Bound<Vec<u8>>, hi: Bound<Vec<u8>>, exact: bool) -> Self {
        Ordered {
            pending: VecDeque::new(),
            group: Vec::new(),
            group_prefix: Vec::new(),
            lo,
            hi,
            filter: !exact,
        }
    }

    /// Take one stored entry with its whole key.
    pub fn push(&mut self, stored: &[u8], full: K, item: T) {
        if is_long(stored) {
            if !self.group.is_empty() && stored[..LONG_KEY] != self.group_prefix[..] {
                self.end_group();
            }
            if self.group.is_empty() {
                self.group_prefix = stored[..LONG_KEY].to_vec();
            }
            self.group.push((full, item));
            return;
        }
        self.end_group();
        self.emit(full, item);
    }

    /// No more entries: release the last group.
    pub fn finish(&mut self) {
        self.end_group();
    }

    fn end_group(&mut self) {
        if self.group.is_empty() {
            return;
        }
        let mut group = std::mem::take(&mut self.group);
        group.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        for (k, v) in group {
            self.emit(k, v);
        }
    }

    fn emit(&mut self, full: K, item: T) {
        if !self.filter || within(full.as_ref(), &self.lo, &self.hi) {
            self.pending.push_back((full, item));
        }
    }

    /// The next entry in order, if one is ready.
    pub fn pop(&mut self) -> Option<(K, T)> {
        self.pending.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(prefix: u8, tail: &[u8]) -> Vec<u8> {
        let mut k = vec![prefix; LONG_KEY + 5];
        k.extend_from_slice(tail);
        k
    }

    #[test]
    fn stored_keys_keep_whole_key_order_after_grouping() {
        let keys = vec![
            b"a".to_vec(),
            long(b'b', b"zz"),
            long(b'b', b"aa"),
            long(b'b', b"mm"),
            b"c".to_vec(),
            long(b'c', b"x"),
        ];
        let mut by_stored: Vec<(Vec<u8>, Vec<u8>)> = keys
            .iter()
            .map(|k| (stored(k).into_owned(), k.clone()))
            .collect();
        by_stored.sort();
        let mut o = Ordered::new(Bound::Unbounded, Bound::Unbounded, true);
        let mut out = Vec::new();
        for (s, f) in by_stored {
            o.push(&s, f.clone(), ());
            while let Some((k, ())) = o.pop() {
                out.push(k);
            }
        }
        o.finish();
        while let Some((k, ())) = o.pop() {
            out.push(k);
        }
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(out, sorted);
        assert!(stored(&keys[1]).len() == LONG_KEY + 16);
        assert_eq!(stored(b"short").as_ref(), b"short");
    }

    #[test]
    fn long_bounds_filter_by_whole_key() {
        let lo = Bound::Excluded(long(b'b', b"aa"));
        let (slo, shi, exact) = stored_bounds(&lo, &Bound::Unbounded);
        assert!(!exact);
        assert_eq!(slo, Bound::Included(vec![b'b'; LONG_KEY]));
        assert_eq!(shi, Bound::Unbounded);
        assert!(within(&long(b'b', b"ab"), &lo, &Bound::Unbounded));
        assert!(!within(&long(b'b', b"aa"), &lo, &Bound::Unbounded));
    }

    #[test]
    fn cuts_fall_strictly_between_and_rise() {
        let a = [1u8, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let b = [1u8, 0, 0, 0, 0, 0, 0, 0, 0x4C, 0x4B, 0x40];
        for (lo, hi) in [(&a[..], &b[..]), (b"abc", b"abd\x01"), (b"k", b"kzzzz")] {
            let cuts = cut(lo, hi, 4);
            assert_eq!(cuts.len(), 3, "{lo:?} {hi:?}");
            assert!(lo < cuts[0].as_slice() && cuts[2].as_slice() < hi);
            assert!(cuts.windows(2).all(|w| w[0] < w[1]));
        }
        let narrow = cut(
            &[7, 1, 255, 255, 255, 255, 255, 255, 255],
            &[7, 2, 0, 0, 0, 0, 0, 0, 0],
            4,
        );
        assert!(narrow.is_empty(), "too narrow: {narrow:?}");
    }
}
