//! Key patterns: keys split on `:` into segments, id-like segments (numbers,
//! UUIDs, long hex or mixed letters and digits) and segments with many different
//! values become `*`; each pattern and Redis type becomes a table.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// Literal values a segment position may take among otherwise equal shapes before
/// it is taken as a variable (`user:alice:profile`, `user:bob:profile`, ...).
const DISTINCT_TO_VARIABLE: usize = 20;

/// A key pattern: literal segments and `*` (one variable segment, any bytes but `:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pattern(pub Vec<Seg>);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Literal(Vec<u8>),
    Any,
}

impl Pattern {
    /// `session:*`, `user:*:profile`.
    pub fn parse(text: &[u8]) -> Pattern {
        Pattern(
            text.split(|&b| b == b':')
                .map(|s| {
                    if s == b"*" {
                        Seg::Any
                    } else {
                        Seg::Literal(s.to_vec())
                    }
                })
                .collect(),
        )
    }

    /// The automatic pattern of one key: its id-like segments as `*`.
    pub fn of_key(key: &[u8]) -> Pattern {
        Pattern(
            key.split(|&b| b == b':')
                .map(|s| {
                    if id_like(s) {
                        Seg::Any
                    } else {
                        Seg::Literal(s.to_vec())
                    }
                })
                .collect(),
        )
    }

    pub fn matches(&self, key: &[u8]) -> bool {
        let mut parts = key.split(|&b| b == b':');
        for seg in &self.0 {
            match (seg, parts.next()) {
                (_, None) => return false,
                (Seg::Any, Some(_)) => {}
                (Seg::Literal(l), Some(p)) => {
                    if l != p {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }

    /// The variable segments of a key this pattern matches, in order.
    pub fn variables<'k>(&self, key: &'k [u8]) -> Vec<&'k [u8]> {
        key.split(|&b| b == b':')
            .zip(&self.0)
            .filter(|(_, s)| **s == Seg::Any)
            .map(|(p, _)| p)
            .collect()
    }

    pub fn literals(&self) -> usize {
        self.0.iter().filter(|s| **s != Seg::Any).count()
    }

    /// The table a pattern becomes: its literal segments joined by `_`.
    pub fn table_name(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter_map(|s| match s {
                Seg::Literal(l) if !l.is_empty() => Some(identifier(&String::from_utf8_lossy(l))),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "keys".into()
        } else {
            parts.join("_")
        }
    }

    /// Column names of the variable segments: the literal before each, with `_id`
    /// (`session:*` gives `session_id`).
    pub fn variable_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut before = None;
        for s in &self.0 {
            match s {
                Seg::Literal(l) => {
                    let name = identifier(&String::from_utf8_lossy(l));
                    before = (!name.is_empty()).then_some(name);
                }
                Seg::Any => {
                    let base = match &before {
                        Some(b) => format!("{b}_id"),
                        None => "id".to_string(),
                    };
                    out.push(unique_name(&base, |n| out.iter().any(|o| o == n)));
                }
            }
        }
        out
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            match s {
                Seg::Any => f.write_str("*")?,
                Seg::Literal(l) => f.write_str(&escape(l))?,
            }
        }
        Ok(())
    }
}

/// Bytes as text: UTF-8 as it is, other bytes as `\xHH`, `\` as `\\`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The bytes `escape` wrote.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = text
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!("`{text}`: `\\x` is followed by two hexadecimal digits")
                    })?;
                out.push(hex);
                i += 4;
            }
            _ => {
                return Err(format!(
                    "`{text}`: a `\\` is written `\\\\` (or `\\xHH` for a byte)"
                ))
            }
        }
    }
    Ok(out)
}

/// `base`, or `base_2`, `base_3`, ... whichever is not `taken`.
pub fn unique_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .expect("a free name")
}

/// A name as a plain identifier: letters, digits and `_`, not starting with a digit.
pub fn identifier(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let s = s.trim_matches('_').to_string();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

/// A segment that names one thing among many: a number, a UUID, long hex, or a
/// long mix of letters and digits.
fn id_like(s: &[u8]) -> bool {
    if s.is_empty() {
        return false;
    }
    let digits = s.iter().filter(|b| b.is_ascii_digit()).count();
    let body = s.strip_prefix(b"-").unwrap_or(s);
    if !body.is_empty() && body.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if s.len() == 36
        && s.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    {
        return true;
    }
    if s.len() >= 8 && digits > 0 && s.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    let letters = s.iter().filter(|b| b.is_ascii_alphabetic()).count();
    s.len() >= 8
        && digits > 0
        && letters > 0
        && s.iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// Distinct shapes kept before they are merged on the way (a keyspace of
/// millions of user names must not hold a shape per name).
const MAX_SHAPES: usize = 50_000;

/// Patterns found in a keyspace, with how many keys of each kind (a small
/// number: the caller's) each covers.
#[derive(Debug, Default)]
pub struct PatternFinder {
    shapes: HashMap<Pattern, Vec<u64>>,
    /// Patterns merged on the way: a key they match counts for them.
    merged: Vec<Pattern>,
    matcher: Matcher,
}

impl PatternFinder {
    pub fn add(&mut self, key: &[u8], kind: usize) {
        let shape = match self.matcher.find(key) {
            Some(i) => self.merged[i].clone(),
            None => Pattern::of_key(key),
        };
        let tally = self.shapes.entry(shape).or_default();
        if tally.len() <= kind {
            tally.resize(kind + 1, 0);
        }
        tally[kind] += 1;
        if self.shapes.len() > MAX_SHAPES {
            self.compact();
        }
    }

    /// Merge what can be merged now, and route later keys to the merged patterns.
    fn compact(&mut self) {
        let into = merge_shapes(self.shapes.keys().cloned().collect());
        let mut shapes: HashMap<Pattern, Vec<u64>> = HashMap::new();
        for (shape, tally) in self.shapes.drain() {
            let p = into.get(&shape).cloned().unwrap_or(shape);
            let slot = shapes.entry(p).or_default();
            if slot.len() < tally.len() {
                slot.resize(tally.len(), 0);
            }
            for (a, b) in slot.iter_mut().zip(tally) {
                *a += b;
            }
        }
        self.shapes = shapes;
        for p in into.into_values() {
            if !self.merged.contains(&p) {
                self.merged.push(p);
            }
        }
        self.matcher = Matcher::new(&self.merged);
    }

    /// The patterns, each with its keys by kind: shapes that differ in one
    /// literal position only, with many values there, merged into one with `*` at
    /// that position.
    pub fn finish(mut self) -> Vec<(Pattern, Vec<u64>)> {
        self.compact();
        let mut out: Vec<(Pattern, Vec<u64>)> = self.shapes.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// For every shape, the pattern it goes into (itself when nothing merges it).
fn merge_shapes(shapes: Vec<Pattern>) -> HashMap<Pattern, Pattern> {
    let mut current: HashMap<Pattern, Pattern> =
        shapes.into_iter().map(|s| (s.clone(), s)).collect();
    loop {
        let live: HashSet<Pattern> = current.values().cloned().collect();
        // For each pattern and each literal position, the pattern with `*` there.
        let mut masks: BTreeMap<Pattern, Vec<Pattern>> = BTreeMap::new();
        for p in &live {
            for (i, s) in p.0.iter().enumerate() {
                if matches!(s, Seg::Literal(_)) {
                    let mut m = p.clone();
                    m.0[i] = Seg::Any;
                    masks.entry(m).or_default().push(p.clone());
                }
            }
        }
        let mut merged: HashMap<Pattern, Pattern> = HashMap::new();
        // The widest groups first, so a pattern joins the biggest family.
        let mut groups: Vec<(Pattern, Vec<Pattern>)> = masks
            .into_iter()
            .filter(|(_, v)| v.len() >= DISTINCT_TO_VARIABLE)
            .collect();
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (mask, members) in groups {
            if members.iter().any(|m| merged.contains_key(m)) {
                continue;
            }
            for m in members {
                merged.insert(m, mask.clone());
            }
        }
        if merged.is_empty() {
            return current;
        }
        for target in current.values_mut() {
            if let Some(m) = merged.get(target) {
                *target = m.clone();
            }
        }
    }
}

/// Patterns to match keys against, the most specific first.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    by_len: HashMap<usize, Vec<(Pattern, usize)>>,
}

impl Matcher {
    /// `patterns[i]` is reported as `i`.
    pub fn new(patterns: &[Pattern]) -> Matcher {
        let mut by_len: HashMap<usize, Vec<(Pattern, usize)>> = HashMap::new();
        for (i, p) in patterns.iter().enumerate() {
            by_len.entry(p.0.len()).or_default().push((p.clone(), i));
        }
        for v in by_len.values_mut() {
            v.sort_by(|a, b| b.0.literals().cmp(&a.0.literals()).then(a.1.cmp(&b.1)));
        }
        Matcher { by_len }
    }

    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let n = key.iter().filter(|&&b| b == b':').count() + 1;
        self.by_len
            .get(&n)?
            .iter()
            .find(|(p, _)| p.matches(key))
            .map(|(_, i)| *i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_stars_and_names_follow_the_literals() {
        let p = Pattern::of_key(b"session:12345");
        assert_eq!(p.to_string(), "session:*");
        assert_eq!(p.table_name(), "session");
        assert_eq!(p.variable_columns(), ["session_id"]);
        let p = Pattern::of_key(b"user:550e8400-e29b-41d4-a716-446655440000:profile");
        assert_eq!(p.to_string(), "user:*:profile");
        assert_eq!(p.table_name(), "user_profile");
        assert_eq!(Pattern::of_key(b"page:views:7").table_name(), "page_views");
        assert_eq!(Pattern::of_key(b"leaderboard").to_string(), "leaderboard");
        assert_eq!(Pattern::of_key(b"cfg:v2").to_string(), "cfg:v2");
        assert_eq!(
            Pattern::parse(b"a:*:*").variable_columns(),
            ["a_id", "a_id_2"]
        );
        assert_eq!(Pattern::parse(b"*").table_name(), "keys");
    }

    #[test]
    fn many_names_at_one_position_become_a_star() {
        let mut f = PatternFinder::default();
        for name in ["alice", "bob", "carol", "dave", "erin", "frank", "grace"] {
            for i in 0..4 {
                f.add(
                    format!("user:{name}{}:profile", "x".repeat(i)).as_bytes(),
                    1,
                );
            }
        }
        f.add(b"config:prod", 0);
        f.add(b"config:dev", 0);
        let found = f.finish();
        let shown: Vec<String> = found.iter().map(|p| p.0.to_string()).collect();
        assert_eq!(shown, ["config:dev", "config:prod", "user:*:profile"]);
        assert_eq!(found[2].1, [0, 28]);
    }

    #[test]
    fn a_million_names_do_not_keep_a_shape_each() {
        let mut f = PatternFinder::default();
        for i in 0..(MAX_SHAPES as u64 * 2) {
            f.add(
                format!("user:n{}:profile", i * 7919)
                    .replace('0', "o")
                    .as_bytes(),
                0,
            );
            assert!(f.shapes.len() <= MAX_SHAPES + 1);
        }
        let found = f.finish();
        assert_eq!(found.len(), 1, "{:?}", &found[..found.len().min(3)]);
        assert_eq!(found[0].0.to_string(), "user:*:profile");
        assert_eq!(found[0].1, [MAX_SHAPES as u64 * 2]);
    }

    #[test]
    fn the_most_specific_pattern_wins() {
        let m = Matcher::new(&[
            Pattern::parse(b"a:*"),
            Pattern::parse(b"a:b"),
            Pattern::parse(b"*:*:c"),
        ]);
        assert_eq!(m.find(b"a:b"), Some(1));
        assert_eq!(m.find(b"a:x"), Some(0));
        assert_eq!(m.find(b"q:r:c"), Some(2));
        assert_eq!(m.find(b"q:r:d"), None);
        assert_eq!(
            Pattern::parse(b"a:*:c").variables(b"a:\xff:c"),
            [b"\xff".as_slice()]
        );
        let odd = Pattern::of_key(b"c\\fg:\xfe");
        assert_eq!(odd.to_string(), "c\\\\fg:\\xfe");
        assert_eq!(Pattern::parse(&unescape(&odd.to_string()).unwrap()), odd);
    }
}
