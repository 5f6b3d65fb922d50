//! The messages of PostgreSQL's `pgoutput` logical decoding plugin, protocol
//! version 1 (PostgreSQL 10 and later; TRUNCATE from 11): what sync reads.

use std::fmt;

/// A WAL position, printed as PostgreSQL prints it (`0/15FE3A8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    pub fn parse(s: &str) -> Option<Lsn> {
        let (hi, lo) = s.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u32::MAX as u64 && lo <= u32::MAX as u64).then_some(Lsn((hi << 32) | lo))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// A column of a relation message.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationColumn {
    /// Part of the replica identity (the key old rows are sent by).
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
}

/// One column's value in a tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Null,
    /// A TOASTed value the update did not change: not sent.
    Unchanged,
    /// The value in PostgreSQL's text form.
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Begin {
        final_lsn: Lsn,
        /// Microseconds since 2000-01-01.
        commit_time: i64,
        xid: u32,
    },
    Commit {
        commit_lsn: Lsn,
        end_lsn: Lsn,
        commit_time: i64,
    },
    Relation {
        id: u32,
        namespace: String,
        name: String,
        columns: Vec<RelationColumn>,
    },
    Insert {
        relation: u32,
        new: Vec<Field>,
    },
    Update {
        relation: u32,
        /// The old key ('K') or old row ('O'), when the source sent one.
        old: Option<Vec<Field>>,
        new: Vec<Field>,
    },
    Delete {
        relation: u32,
        old: Vec<Field>,
    },
    Truncate {
        relations: Vec<u32>,
    },
    /// Type, origin and message records: nothing to apply.
    Other(u8),
}

#[derive(Debug, thiserror::Error)]
#[error("a change message the decoder cannot read ({0}); is the slot's plugin pgoutput?")]
pub struct BadMessage(String);

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BadMessage> {
        if self.buf.len() < n {
            return Err(BadMessage("it ends early".into()));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, BadMessage> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, BadMessage> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn u32(&mut self) -> Result<u32, BadMessage> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn u64(&mut self) -> Result<u64, BadMessage> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn string(&mut self) -> Result<String, BadMessage> {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| BadMessage("a name without its end".into()))?;
        let s = String::from_utf8(self.buf[..end].to_vec())
            .map_err(|_| BadMessage("a name that is not UTF-8".into()))?;
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }
    fn tuple(&mut self) -> Result<Vec<Field>, BadMessage> {
        let n = self.u16()? as usize;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(match self.u8()? {
                b'n' => Field::Null,
                b'u' => Field::Unchanged,
                b't' => {
                    let len = self.u32()? as usize;
                    let bytes = self.take(len)?;
                    Field::Text(
                        String::from_utf8(bytes.to_vec())
                            .map_err(|_| BadMessage("a value that is not UTF-8".into()))?,
                    )
                }
                other => {
                    return Err(BadMessage(format!(
                        "a value of kind `{}`",
                        char::from(other)
                    )))
                }
            });
        }
        Ok(out)
    }
}

pub fn parse(buf: &[u8]) -> Result<Message, BadMessage> {
    let mut r = Reader { buf };
    let tag = r.u8()?;
    Ok(match tag {
        b'B' => Message::Begin {
            final_lsn: Lsn(r.u64()?),
            commit_time: r.u64()? as i64,
            xid: r.u32()?,
        },
        b'C' => {
            r.u8()?;
            Message::Commit {
                commit_lsn: Lsn(r.u64()?),
                end_lsn: Lsn(r.u64()?),
                commit_time: r.u64()? as i64,
            }
        }
        b'R' => {
            let id = r.u32()?;
            let namespace = r.string()?;
            let name = r.string()?;
            r.u8()?; // replica identity setting
            let n = r.u16()?;
            let mut columns = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let flags = r.u8()?;
                let name = r.string()?;
                let type_oid = r.u32()?;
                r.u32()?; // type modifier
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name,
                    type_oid,
                });
            }
            Message::Relation {
                id,
                namespace,
                name,
                columns,
            }
        }
        b'I' => {
            let relation = r.u32()?;
            expect(r.u8()?, b'N')?;
            Message::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let mut old = None;
            let mut kind = r.u8()?;
            if kind == b'K' || kind == b'O' {
                old = Some(r.tuple()?);
                kind = r.u8()?;
            }
            expect(kind, b'N')?;
            Message::Update {
                relation,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32()?;
            let kind = r.u8()?;
            if kind != b'K' && kind != b'O' {
                return Err(BadMessage(format!(
                    "a delete with an old row of kind `{}`",
                    char::from(kind)
                )));
            }
            Message::Delete {
                relation,
                old: r.tuple()?,
            }
        }
        b'T' => {
            let n = r.u32()?;
            r.u8()?; // CASCADE / RESTART IDENTITY
            let relations = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            Message::Truncate { relations }
        }
        other => Message::Other(other),
    })
}

fn expect(got: u8, want: u8) -> Result<(), BadMessage> {
    if got == want {
        Ok(())
    } else {
        Err(BadMessage(format!(
            "`{}` where `{}` was expected",
            char::from(got),
            char::from(want)
        )))
    }
}

/// PostgreSQL's timestamps count from 2000-01-01; Unix's from 1970-01-01.
pub const UNIX_TO_PG_MICROS: i64 = 946_684_800_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_read_and_print_as_postgresql_writes_them() {
        let l = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(l.0, 0x16_B374_D848);
        assert_eq!(l.to_string(), "16/B374D848");
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert_eq!(Lsn::parse("015FE3A8"), None);
        assert_eq!(Lsn::parse("1/2/3"), None);
    }

    #[test]
    fn an_update_with_its_old_key_and_an_unchanged_value() {
        let mut m = vec![b'U'];
        m.extend(7u32.to_be_bytes());
        m.push(b'K');
        m.extend(2u16.to_be_bytes());
        m.push(b't');
        m.extend(1u32.to_be_bytes());
        m.push(b'1');
        m.push(b'n');
        m.push(b'N');
        m.extend(2u16.to_be_bytes());
        m.push(b't');
        m.extend(2u32.to_be_bytes());
        m.extend(b"42");
        m.push(b'u');
        assert_eq!(
            parse(&m).unwrap(),
            Message::Update {
                relation: 7,
                old: Some(vec![Field::Text("1".into()), Field::Null]),
                new: vec![Field::Text("42".into()), Field::Unchanged],
            }
        );
        // Cut short: an error, not a panic.
        assert!(parse(&m[..m.len() - 3]).is_err());
    }
}
