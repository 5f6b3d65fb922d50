//! Reading RDB snapshot files (what `redis-cli --rdb` and a server's `dump.rdb` hold).
//! (Interface stand-in until the reader lands.)

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    SortedSet(Vec<(Vec<u8>, f64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Stream(Stream),
    Module { name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub entries: Vec<StreamEntry>,
    pub last_id: (u64, u64),
    pub groups: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StreamEntry {
    pub ms: u64,
    pub seq: u64,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub db: u64,
    pub key: Vec<u8>,
    pub expires_at_ms: Option<i64>,
    pub value: Value,
    pub offset: u64,
    pub field_ttls_dropped: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    #[error("bad")]
    Bad,
}

pub struct RdbReader<R: std::io::Read> {
    _r: R,
}

impl<R: std::io::Read> RdbReader<R> {
    pub fn new(input: R) -> Result<Self, RdbError> {
        Ok(RdbReader { _r: input })
    }
    pub fn version(&self) -> u32 {
        0
    }
    pub fn aux(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &[]
    }
    pub fn functions(&self) -> &[Vec<u8>] {
        &[]
    }
    pub fn next_entry(&mut self) -> Result<Option<Entry>, RdbError> {
        Err(RdbError::Bad)
    }
    pub fn offset(&self) -> u64 {
        0
    }
}
