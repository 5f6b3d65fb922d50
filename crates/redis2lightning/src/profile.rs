//! What a pattern's keys and values hold, gathered from every key (names) and
//! from all values or a sample of them, to decide the types of its table.

use std::collections::HashMap;

use lightning_core::LightningType;

use crate::rdb::Value;

/// Hash fields followed per table at most; beyond, the hashes become JSON.
const MAX_FIELDS: usize = 1000;
/// Sample keys kept per table for reports.
const SAMPLE_KEYS: usize = 3;

/// The Redis types a key can have.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RedisType {
    String,
    Hash,
    List,
    Set,
    Zset,
    Stream,
}

impl RedisType {
    pub const ALL: [RedisType; 6] = [
        RedisType::String,
        RedisType::Hash,
        RedisType::List,
        RedisType::Set,
        RedisType::Zset,
        RedisType::Stream,
    ];

    /// As `TYPE` answers; `None` for a module's type (`ReJSON-RL`, ...) or `none`.
    pub fn parse(s: &str) -> Option<RedisType> {
        Some(match s {
            "string" => RedisType::String,
            "hash" => RedisType::Hash,
            "list" => RedisType::List,
            "set" => RedisType::Set,
            "zset" => RedisType::Zset,
            "stream" => RedisType::Stream,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            RedisType::String => "string",
            RedisType::Hash => "hash",
            RedisType::List => "list",
            RedisType::Set => "set",
            RedisType::Zset => "zset",
            RedisType::Stream => "stream",
        }
    }

    pub fn code(self) -> u8 {
        RedisType::ALL.iter().position(|t| *t == self).unwrap_or(0) as u8
    }

    pub fn of(value: &Value) -> Option<RedisType> {
        Some(match value {
            Value::String(_) => RedisType::String,
            Value::Hash(_) => RedisType::Hash,
            Value::List(_) => RedisType::List,
            Value::Set(_) => RedisType::Set,
            Value::SortedSet(_) => RedisType::Zset,
            Value::Stream(_) => RedisType::Stream,
            Value::Module { .. } => return None,
        })
    }
}

/// Whether a run of byte strings are all integers, JSON documents, text.
#[derive(Debug, Clone, Copy)]
pub struct ValueStats {
    pub count: u64,
    pub ints: bool,
    pub json: bool,
    pub utf8: bool,
}

impl Default for ValueStats {
    fn default() -> Self {
        ValueStats {
            count: 0,
            ints: true,
            json: true,
            utf8: true,
        }
    }
}

impl ValueStats {
    pub fn add(&mut self, v: &[u8]) {
        self.count += 1;
        if self.ints && canonical_int(v).is_none() {
            self.ints = false;
        }
        if self.json && !json_document(v) {
            self.json = false;
        }
        if self.utf8 && std::str::from_utf8(v).is_err() {
            self.utf8 = false;
        }
    }

    /// The column type these values are carried in exactly.
    pub fn decide(&self) -> LightningType {
        if self.count == 0 {
            LightningType::Text
        } else if self.ints {
            LightningType::BigInt
        } else if self.json {
            LightningType::Json
        } else if self.utf8 {
            LightningType::Text
        } else {
            LightningType::Blob
        }
    }
}

/// The integer a value is when Redis would print it the same way (`INCR`'s values):
/// no sign but `-`, no leading zeros, within 64 bits.
pub fn canonical_int(v: &[u8]) -> Option<i64> {
    let body = v.strip_prefix(b"-").unwrap_or(v);
    if body.is_empty()
        || !body.iter().all(u8::is_ascii_digit)
        || (body.len() > 1 && body[0] == b'0')
    {
        return None;
    }
    if v == b"-0" {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// A JSON object or array (what a cache stores as a document).
pub fn json_document(v: &[u8]) -> bool {
    matches!(v.first(), Some(b'{' | b'['))
        && serde_json::from_slice::<serde::de::IgnoredAny>(v).is_ok()
}

/// What one table's keys and values hold.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub keys: u64,
    pub keys_utf8: bool,
    /// Per variable segment: whether every value is an integer, valid UTF-8.
    pub segments: Vec<(bool, bool)>,
    pub sample_keys: Vec<Vec<u8>>,
    /// Keys whose values were looked at.
    pub sampled: u64,
    /// Elements (list items, members, fields, entries) of the sampled keys.
    pub elements: u64,
    pub largest: u64,
    pub with_ttl: u64,
    /// Whether `with_ttl` counts every key (a copy's walk does not ask).
    pub ttl_counted: bool,
    /// Values, list items, members (not hash values).
    pub values: ValueStats,
    /// Hash fields: in how many sampled hashes, and their values.
    pub fields: Vec<(Vec<u8>, u64, ValueStats)>,
    field_index: HashMap<Vec<u8>, usize>,
    pub too_many_fields: bool,
    /// Stream field names or values that are not UTF-8, duplicate fields.
    pub stream_fields_utf8: bool,
    pub consumer_groups: u64,
}

impl Profile {
    pub fn new(variables: usize) -> Profile {
        Profile {
            keys_utf8: true,
            segments: vec![(true, true); variables],
            stream_fields_utf8: true,
            ..Profile::default()
        }
    }

    /// A key of the table (every key is added).
    pub fn add_key(&mut self, key: &[u8], variables: &[&[u8]]) {
        self.keys += 1;
        if self.keys_utf8 && std::str::from_utf8(key).is_err() {
            self.keys_utf8 = false;
        }
        for (s, v) in self.segments.iter_mut().zip(variables) {
            if s.0 && canonical_int(v).is_none() {
                s.0 = false;
            }
            if s.1 && std::str::from_utf8(v).is_err() {
                s.1 = false;
            }
        }
        if self.sample_keys.len() < SAMPLE_KEYS {
            self.sample_keys.push(key.to_vec());
        }
    }

    /// A value of one of the table's keys.
    pub fn add_value(&mut self, value: &Value, expires: bool) {
        self.sampled += 1;
        if expires {
            self.with_ttl += 1;
        }
        let n = match value {
            Value::String(v) => {
                self.values.add(v);
                1
            }
            Value::List(items) | Value::Set(items) => {
                items.iter().for_each(|i| self.values.add(i));
                items.len()
            }
            Value::SortedSet(items) => {
                items.iter().for_each(|(m, _)| self.values.add(m));
                items.len()
            }
            Value::Hash(pairs) => {
                for (f, v) in pairs {
                    match self.field_index.get(f) {
                        Some(&i) => {
                            self.fields[i].1 += 1;
                            self.fields[i].2.add(v);
                        }
                        None if self.fields.len() < MAX_FIELDS => {
                            let mut s = ValueStats::default();
                            s.add(v);
                            self.field_index.insert(f.clone(), self.fields.len());
                            self.fields.push((f.clone(), 1, s));
                        }
                        None => self.too_many_fields = true,
                    }
                }
                pairs.len()
            }
            Value::Stream(s) => {
                self.consumer_groups += s.groups.len() as u64;
                for e in &s.entries {
                    let mut names = std::collections::HashSet::new();
                    for (f, v) in &e.fields {
                        if std::str::from_utf8(f).is_err()
                            || std::str::from_utf8(v).is_err()
                            || !names.insert(f)
                        {
                            self.stream_fields_utf8 = false;
                        }
                    }
                }
                s.entries.len()
            }
            Value::Module { .. } => 0,
        };
        self.elements += n as u64;
        self.largest = self.largest.max(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_integers_only_when_redis_prints_them_so() {
        for ok in [
            "0",
            "-1",
            "42",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert!(canonical_int(ok.as_bytes()).is_some(), "{ok}");
        }
        for no in [
            "",
            "-",
            "-0",
            "007",
            "+1",
            "1.0",
            " 1",
            "9223372036854775808",
        ] {
            assert!(canonical_int(no.as_bytes()).is_none(), "{no}");
        }
        let mut s = ValueStats::default();
        s.add(b"{\"a\":1}");
        s.add(b"[1,2]");
        assert_eq!(s.decide(), LightningType::Json);
        s.add(b"plain");
        assert_eq!(s.decide(), LightningType::Text);
        s.add(b"\xff");
        assert_eq!(s.decide(), LightningType::Blob);
    }
}
