//! Reading RDB snapshot files (what `redis-cli --rdb` and a server's `dump.rdb` hold), one key at
//! a time, without panicking or trusting the lengths a damaged file claims.

mod encoding;
mod intset;
mod listpack;
mod stream;
mod ziplist;

#[cfg(test)]
mod tests;

use std::io::{self, Read};

use encoding::{Fault, Res, Source};
use listpack::{Item, Listpack};

const OP_SLOT_INFO: u8 = 0xF4;
const OP_FUNCTION2: u8 = 0xF5;
const OP_FUNCTION_PRE_GA: u8 = 0xF6;
const OP_MODULE_AUX: u8 = 0xF7;
const OP_IDLE: u8 = 0xF8;
const OP_FREQ: u8 = 0xF9;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_EXPIRETIME: u8 = 0xFD;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;

const RDB_TYPE_STRING: u8 = 0;
const RDB_TYPE_LIST: u8 = 1;
const RDB_TYPE_SET: u8 = 2;
const RDB_TYPE_ZSET: u8 = 3;
const RDB_TYPE_HASH: u8 = 4;
const RDB_TYPE_ZSET_2: u8 = 5;
const RDB_TYPE_MODULE: u8 = 6;
const RDB_TYPE_MODULE_2: u8 = 7;
const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
const RDB_TYPE_SET_INTSET: u8 = 11;
const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
const RDB_TYPE_HASH_LISTPACK: u8 = 16;
const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;
const RDB_TYPE_SET_LISTPACK: u8 = 20;
const RDB_TYPE_STREAM_LISTPACKS_3: u8 = 21;
const RDB_TYPE_HASH_METADATA_PRE_GA: u8 = 22;
const RDB_TYPE_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
const RDB_TYPE_HASH_METADATA: u8 = 24;
const RDB_TYPE_HASH_LISTPACK_EX: u8 = 25;

const QUICKLIST_PLAIN: u64 = 1;
const QUICKLIST_PACKED: u64 = 2;

const MODULE_OP_EOF: u64 = 0;
const MODULE_OP_SINT: u64 = 1;
const MODULE_OP_UINT: u64 = 2;
const MODULE_OP_FLOAT: u64 = 3;
const MODULE_OP_DOUBLE: u64 = 4;
const MODULE_OP_STRING: u64 = 5;

const MAX_VERSION: u32 = 12;

/// One key of the snapshot with its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// From SELECTDB (0 before any).
    pub db: u64,
    pub key: Vec<u8>,
    /// Unix time in milliseconds, from EXPIRETIME_MS (or EXPIRETIME seconds) before the key.
    pub expires_at_ms: Option<i64>,
    pub value: Value,
    /// Byte offset where this entry (its first opcode) starts.
    pub offset: u64,
    /// Hash fields whose own TTL (Redis 7.4 hash field expiry) was dropped: counted, to report.
    pub field_ttls_dropped: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Integer-encoded strings as their decimal text.
    String(Vec<u8>),
    /// In order; packed integers as decimal text.
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    /// Member and score.
    SortedSet(Vec<(Vec<u8>, f64)>),
    /// Field and value, in file order.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Stream(Stream),
    /// A module's value, skipped when its serialization can be walked (module type 2), so the
    /// reader goes on; its 9-character type name kept.
    Module {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Live entries only, in id order.
    pub entries: Vec<StreamEntry>,
    pub last_id: (u64, u64),
    /// Consumer group names (reported, not copied).
    pub groups: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub ms: u64,
    pub seq: u64,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    #[error(
        "not an RDB file (it does not start with REDIS): give a file written by `redis-cli --rdb` or a server's dump.rdb"
    )]
    NotRdb,
    #[error("{}", version_message(.found))]
    Version { found: String },
    #[error(
        "the RDB file ends early at byte {offset}{}: it is truncated; take the snapshot again",
        key_context("inside key", .key)
    )]
    Truncated { offset: u64, key: Option<String> },
    #[error("corrupt RDB file at byte {offset}{}: {what}", key_context("key", .key))]
    Corrupt {
        offset: u64,
        key: Option<String>,
        what: String,
    },
    #[error("the RDB file at byte {offset}{} holds what this tool cannot read: {what}", key_context("key", .key))]
    Unsupported {
        offset: u64,
        key: Option<String>,
        what: String,
    },
    #[error(
        "RDB checksum mismatch (file says {stored:016x}, content gives {computed:016x}): the file is damaged; take the snapshot again"
    )]
    Checksum { stored: u64, computed: u64 },
    #[error("reading the RDB file failed at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("the RDB file cannot be read further after the error already reported")]
    Stopped,
}

impl RdbError {
    /// The byte offset the error is about, when it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            RdbError::Truncated { offset, .. }
            | RdbError::Corrupt { offset, .. }
            | RdbError::Unsupported { offset, .. }
            | RdbError::Io { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

fn version_message(found: &str) -> String {
    match found.parse::<u32>() {
        Ok(v) if v > MAX_VERSION => format!(
            "RDB version {v} is newer than this tool reads (1–{MAX_VERSION}): the file comes from \
             a newer Redis; save it from Redis 7.4 or older, or copy the keyspace live instead"
        ),
        Ok(v) => format!(
            "RDB version {v} is not one Redis writes (this tool reads 1–{MAX_VERSION}): the file is \
             damaged or not an RDB file"
        ),
        Err(_) => format!(
            "the RDB version `{}` is not a number: the file is damaged or not an RDB file",
            found.escape_debug()
        ),
    }
}

fn key_context(label: &str, key: &Option<String>) -> String {
    match key {
        Some(k) => format!(" ({label} `{k}`)"),
        None => String::new(),
    }
}

/// A key as readable text for messages: lossy UTF-8, escaped, cut to 80 characters.
fn display_key(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    let mut out: String = text.chars().take(80).flat_map(char::escape_debug).collect();
    if text.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Reading,
    Done,
    Failed,
}

/// Reads an RDB file front to back, one key at a time.
pub struct RdbReader<R: Read> {
    src: Source<R>,
    version: u32,
    aux: Vec<(Vec<u8>, Vec<u8>)>,
    functions: Vec<Vec<u8>>,
    db: u64,
    state: State,
    /// The key being read, for error messages.
    key: Option<String>,
}

impl<R: Read> RdbReader<R> {
    /// Reads the magic "REDIS" + 4-digit version. Versions 1..=12 are read; others: RdbError::Version.
    pub fn new(input: R) -> Result<Self, RdbError> {
        let mut src = Source::new(input);
        let mut head = [0u8; 9];
        let mut got = 0;
        // A short file that is not an RDB file is told as such, not as a truncated one.
        while got < head.len() {
            match src.read_exact(&mut head[got..got + 1]) {
                Ok(()) => got += 1,
                Err(Fault::Eof) => break,
                Err(Fault::Io(source)) => {
                    return Err(RdbError::Io {
                        offset: src.offset(),
                        source,
                    })
                }
                Err(_) => break,
            }
        }
        if got < 5 || &head[..5] != b"REDIS" {
            return Err(RdbError::NotRdb);
        }
        if got < head.len() {
            return Err(RdbError::Truncated {
                offset: src.offset(),
                key: None,
            });
        }
        let found = String::from_utf8_lossy(&head[5..]).into_owned();
        let version = match found.parse::<u32>() {
            Ok(v)
                if (1..=MAX_VERSION).contains(&v) && found.bytes().all(|b| b.is_ascii_digit()) =>
            {
                v
            }
            _ => return Err(RdbError::Version { found }),
        };
        Ok(RdbReader {
            src,
            version,
            aux: Vec::new(),
            functions: Vec::new(),
            db: 0,
            state: State::Reading,
            key: None,
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// AUX fields met so far (redis-ver, ctime, ...), in file order.
    pub fn aux(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.aux
    }

    /// Function libraries (FUNCTION2 opcode bodies) met so far: kept to report them, not copied.
    pub fn functions(&self) -> &[Vec<u8>] {
        &self.functions
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.src.offset()
    }

    /// The next key with its value; Ok(None) after the EOF opcode once the CRC64 trailer checked
    /// out (a zero checksum means the server wrote none: accept). Bytes after the trailer are
    /// ignored.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, RdbError> {
        match self.state {
            State::Done => return Ok(None),
            State::Failed => return Err(RdbError::Stopped),
            State::Reading => {}
        }
        match self.read_next() {
            Ok(Some(entry)) => Ok(Some(entry)),
            Ok(None) => {
                self.state = State::Done;
                Ok(None)
            }
            Err(fault) => {
                self.state = State::Failed;
                Err(self.fault_to_error(fault))
            }
        }
    }

    fn fault_to_error(&mut self, fault: Fault) -> RdbError {
        let key = self.key.take();
        match fault {
            Fault::Eof => RdbError::Truncated {
                offset: self.src.offset(),
                key,
            },
            Fault::Io(source) => RdbError::Io {
                offset: self.src.offset(),
                source,
            },
            Fault::Corrupt { at, what } => RdbError::Corrupt {
                offset: at,
                key,
                what,
            },
            Fault::Unsupported { at, what } => RdbError::Unsupported {
                offset: at,
                key,
                what,
            },
            Fault::Checksum { stored, computed } => RdbError::Checksum { stored, computed },
        }
    }

    fn read_next(&mut self) -> Res<Option<Entry>> {
        let mut start: Option<u64> = None;
        let mut expires_at_ms = None;
        loop {
            self.key = None;
            let at = self.src.offset();
            let op = self.src.read_u8()?;
            match op {
                OP_EXPIRETIME_MS => {
                    start.get_or_insert(at);
                    expires_at_ms = Some(i64::from_le_bytes(self.src.read_array()?));
                }
                OP_EXPIRETIME => {
                    start.get_or_insert(at);
                    let secs = i32::from_le_bytes(self.src.read_array()?);
                    expires_at_ms = Some(i64::from(secs) * 1000);
                }
                OP_IDLE => {
                    start.get_or_insert(at);
                    self.src.read_len()?;
                }
                OP_FREQ => {
                    start.get_or_insert(at);
                    self.src.read_u8()?;
                }
                OP_SELECTDB => {
                    self.db = self.src.read_len()?;
                    start = None;
                    expires_at_ms = None;
                }
                OP_RESIZEDB => {
                    self.src.read_len()?;
                    self.src.read_len()?;
                }
                OP_AUX => {
                    let k = self.src.read_string()?;
                    let v = self.src.read_string()?;
                    self.aux.push((k, v));
                }
                OP_MODULE_AUX => {
                    let module_id = self.src.read_len()?;
                    let when_op_at = self.src.offset();
                    let when_op = self.src.read_len()?;
                    if when_op != MODULE_OP_UINT {
                        return Err(Fault::corrupt(
                            when_op_at,
                            format!(
                                "the auxiliary data of module `{}` does not start as it should",
                                module_name(module_id)
                            ),
                        ));
                    }
                    self.src.read_len()?;
                    self.skip_module_value()?;
                }
                OP_FUNCTION2 => {
                    let code = self.src.read_string()?;
                    self.functions.push(code);
                }
                OP_FUNCTION_PRE_GA => {
                    return Err(Fault::Unsupported {
                        at,
                        what: "functions saved by a Redis 7.0 release candidate; save the \
                               snapshot again with a released Redis"
                            .into(),
                    });
                }
                OP_SLOT_INFO => {
                    // slot id, slot size, expires slot size
                    for _ in 0..3 {
                        self.src.read_len()?;
                    }
                }
                OP_EOF => {
                    self.check_trailer()?;
                    return Ok(None);
                }
                rdb_type => {
                    let offset = start.unwrap_or(at);
                    let key = self.src.read_string()?;
                    self.key = Some(display_key(&key));
                    let (value, field_ttls_dropped) = self.read_value(rdb_type, at)?;
                    self.key = None;
                    return Ok(Some(Entry {
                        db: self.db,
                        key,
                        expires_at_ms,
                        value,
                        offset,
                        field_ttls_dropped,
                    }));
                }
            }
        }
    }

    fn check_trailer(&mut self) -> Res<()> {
        // Checksums came with version 5.
        if self.version < 5 {
            return Ok(());
        }
        let computed = self.src.checksum();
        let stored = u64::from_le_bytes(self.src.read_array()?);
        if stored != 0 && stored != computed {
            return Err(Fault::Checksum { stored, computed });
        }
        Ok(())
    }

    fn read_value(&mut self, rdb_type: u8, type_at: u64) -> Res<(Value, u64)> {
        let src = &mut self.src;
        let value = match rdb_type {
            RDB_TYPE_STRING => Value::String(src.read_string()?),
            RDB_TYPE_LIST | RDB_TYPE_SET => {
                let n = src.read_len()?;
                let mut items = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    items.push(src.read_string()?);
                }
                if rdb_type == RDB_TYPE_LIST {
                    Value::List(items)
                } else {
                    Value::Set(items)
                }
            }
            RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => {
                let n = src.read_len()?;
                let mut items = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    let member = src.read_string()?;
                    let score = if rdb_type == RDB_TYPE_ZSET_2 {
                        src.read_binary_double()?
                    } else {
                        src.read_text_double()?
                    };
                    items.push((member, score));
                }
                Value::SortedSet(items)
            }
            RDB_TYPE_HASH => {
                let n = src.read_len()?;
                let mut pairs = Vec::with_capacity(cap(n));
                for _ in 0..n {
                    let field = src.read_string()?;
                    pairs.push((field, src.read_string()?));
                }
                Value::Hash(pairs)
            }
            RDB_TYPE_HASH_METADATA | RDB_TYPE_HASH_METADATA_PRE_GA => {
                if rdb_type == RDB_TYPE_HASH_METADATA {
                    src.skip(8)?; // the smallest expire, which field TTLs are relative to
                }
                let n = src.read_len()?;
                let mut pairs = Vec::with_capacity(cap(n));
                let mut dropped = 0;
                for _ in 0..n {
                    if src.read_len()? != 0 {
                        dropped += 1;
                    }
                    let field = src.read_string()?;
                    pairs.push((field, src.read_string()?));
                }
                return Ok((Value::Hash(pairs), dropped));
            }
            RDB_TYPE_HASH_LISTPACK_EX | RDB_TYPE_HASH_LISTPACK_EX_PRE_GA => {
                if rdb_type == RDB_TYPE_HASH_LISTPACK_EX {
                    src.skip(8)?;
                }
                let (at, blob) = blob(src)?;
                let mut lp = Listpack::new(&blob).map_err(|e| Fault::corrupt(at, e))?;
                let mut pairs = Vec::new();
                let mut dropped = 0;
                let mut triple = || -> Result<bool, String> {
                    let Some(field) = lp.next()? else {
                        return Ok(false);
                    };
                    let value = lp.expect("a hash value")?;
                    if lp.expect("a hash field's TTL")?.as_int() != Some(0) {
                        dropped += 1;
                    }
                    pairs.push((field.to_bytes(), value.to_bytes()));
                    Ok(true)
                };
                while triple().map_err(|e| Fault::corrupt(at, e))? {}
                return Ok((Value::Hash(pairs), dropped));
            }
            RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => {
                let nodes = src.read_len()?;
                let mut items = Vec::new();
                for _ in 0..nodes {
                    let container = if rdb_type == RDB_TYPE_LIST_QUICKLIST_2 {
                        let at = src.offset();
                        match src.read_len()? {
                            c @ (QUICKLIST_PLAIN | QUICKLIST_PACKED) => c,
                            c => {
                                return Err(Fault::corrupt(
                                    at,
                                    format!("unknown quicklist node container {c}"),
                                ))
                            }
                        }
                    } else {
                        QUICKLIST_PACKED
                    };
                    let (at, node) = blob(src)?;
                    if container == QUICKLIST_PLAIN {
                        items.push(node);
                    } else if rdb_type == RDB_TYPE_LIST_QUICKLIST_2 {
                        let lp = Listpack::new(&node).map_err(|e| Fault::corrupt(at, e))?;
                        items.extend(lp.all().map_err(|e| Fault::corrupt(at, e))?);
                    } else {
                        let zl = ziplist::items(&node).map_err(|e| Fault::corrupt(at, e))?;
                        items.extend(zl.into_iter().map(Item::to_bytes));
                    }
                }
                Value::List(items)
            }
            RDB_TYPE_LIST_ZIPLIST => {
                let (at, blob) = blob(src)?;
                let zl = ziplist::items(&blob).map_err(|e| Fault::corrupt(at, e))?;
                Value::List(zl.into_iter().map(Item::to_bytes).collect())
            }
            RDB_TYPE_SET_INTSET => {
                let (at, blob) = blob(src)?;
                Value::Set(intset::members(&blob).map_err(|e| Fault::corrupt(at, e))?)
            }
            RDB_TYPE_SET_LISTPACK => {
                let (at, blob) = blob(src)?;
                let lp = Listpack::new(&blob).map_err(|e| Fault::corrupt(at, e))?;
                Value::Set(lp.all().map_err(|e| Fault::corrupt(at, e))?)
            }
            RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_ZSET_LISTPACK => {
                let (at, blob) = blob(src)?;
                let items = packed_items(&blob, rdb_type == RDB_TYPE_ZSET_LISTPACK)
                    .map_err(|e| Fault::corrupt(at, e))?;
                Value::SortedSet(
                    pairs_of(items)
                        .map_err(|e| Fault::corrupt(at, e))?
                        .into_iter()
                        .map(|(m, s)| {
                            let score = s.as_score().ok_or_else(|| {
                                Fault::corrupt(at, "a sorted set score is not a number")
                            })?;
                            Ok((m.to_bytes(), score))
                        })
                        .collect::<Res<_>>()?,
                )
            }
            RDB_TYPE_HASH_ZIPLIST | RDB_TYPE_HASH_LISTPACK => {
                let (at, blob) = blob(src)?;
                let items = packed_items(&blob, rdb_type == RDB_TYPE_HASH_LISTPACK)
                    .map_err(|e| Fault::corrupt(at, e))?;
                Value::Hash(
                    pairs_of(items)
                        .map_err(|e| Fault::corrupt(at, e))?
                        .into_iter()
                        .map(|(f, v)| (f.to_bytes(), v.to_bytes()))
                        .collect(),
                )
            }
            RDB_TYPE_HASH_ZIPMAP => {
                let (at, blob) = blob(src)?;
                Value::Hash(ziplist::zipmap_pairs(&blob).map_err(|e| Fault::corrupt(at, e))?)
            }
            RDB_TYPE_STREAM_LISTPACKS
            | RDB_TYPE_STREAM_LISTPACKS_2
            | RDB_TYPE_STREAM_LISTPACKS_3 => Value::Stream(stream::read(src, rdb_type)?),
            RDB_TYPE_MODULE | RDB_TYPE_MODULE_2 => {
                let module_id = src.read_len()?;
                let name = module_name(module_id);
                if rdb_type == RDB_TYPE_MODULE {
                    return Err(Fault::Unsupported {
                        at: type_at,
                        what: format!(
                            "a value of module type `{name}` in the old module format, which \
                             cannot be skipped without the module; load the file into a server \
                             with the module and save it again, or copy the keyspace live"
                        ),
                    });
                }
                self.skip_module_value()?;
                Value::Module { name }
            }
            other => {
                return Err(Fault::corrupt(
                    type_at,
                    format!("unknown value type {other}"),
                ))
            }
        };
        Ok((value, 0))
    }

    /// Walks a module serialization of typed opcodes up to its EOF opcode.
    fn skip_module_value(&mut self) -> Res<()> {
        loop {
            let at = self.src.offset();
            match self.src.read_len()? {
                MODULE_OP_EOF => return Ok(()),
                MODULE_OP_SINT | MODULE_OP_UINT => {
                    self.src.read_len()?;
                }
                MODULE_OP_FLOAT => self.src.skip(4)?,
                MODULE_OP_DOUBLE => self.src.skip(8)?,
                MODULE_OP_STRING => {
                    self.src.read_string()?;
                }
                op => {
                    return Err(Fault::corrupt(
                        at,
                        format!("unknown module data opcode {op}"),
                    ))
                }
            }
        }
    }
}

fn cap(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(4096)
}

/// A string holding an encoded structure, with the offset it starts at.
fn blob<R: Read>(src: &mut Source<R>) -> Res<(u64, Vec<u8>)> {
    let at = src.offset();
    Ok((at, src.read_string()?))
}

fn packed_items(blob: &[u8], is_listpack: bool) -> Result<Vec<Item<'_>>, String> {
    if is_listpack {
        let mut lp = Listpack::new(blob)?;
        let mut out = Vec::new();
        while let Some(item) = lp.next()? {
            out.push(item);
        }
        Ok(out)
    } else {
        ziplist::items(blob)
    }
}

fn pairs_of(items: Vec<Item<'_>>) -> Result<Vec<(Item<'_>, Item<'_>)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("a packed map holds an odd number of elements".into());
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

/// A module type's 9-character name, packed 6 bits a character above a 10-bit encoding version.
fn module_name(module_id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = module_id >> 10;
    let mut name = [0u8; 9];
    for slot in name.iter_mut().rev() {
        *slot = CHARSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}
