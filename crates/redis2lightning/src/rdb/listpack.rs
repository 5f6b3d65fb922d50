//! Listpacks (Redis 7's compact encoding for small lists, sets, hashes, sorted sets and stream
//! nodes), read with every index bound-checked.

/// One element of a listpack or ziplist: an integer or a byte string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    /// Integers as their decimal text, the way Redis hands them out.
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        match self {
            Item::Int(v) => v.to_string().into_bytes(),
            Item::Str(s) => s.to_vec(),
        }
    }

    pub(crate) fn as_int(self) -> Option<i64> {
        match self {
            Item::Int(v) => Some(v),
            Item::Str(s) => std::str::from_utf8(s).ok()?.parse().ok(),
        }
    }

    pub(crate) fn as_score(self) -> Option<f64> {
        match self {
            // Scores are doubles in Redis too, so this cast is what the server means.
            Item::Int(v) => Some(v as f64),
            Item::Str(s) => super::encoding::parse_double(s),
        }
    }
}

const HEADER: usize = 6;
const END: u8 = 0xFF;

/// Walks a listpack front to back.
pub(crate) struct Listpack<'a> {
    buf: &'a [u8],
    pos: usize,
    seen: usize,
    declared: Option<usize>,
}

impl<'a> Listpack<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Result<Self, String> {
        if buf.len() < HEADER + 1 {
            return Err(format!("a listpack of {} bytes is too short", buf.len()));
        }
        let total = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if total != buf.len() {
            return Err(format!(
                "a listpack says it has {total} bytes but holds {}",
                buf.len()
            ));
        }
        if buf[buf.len() - 1] != END {
            return Err("a listpack does not end with its end marker".into());
        }
        let count = u16::from_le_bytes([buf[4], buf[5]]);
        Ok(Listpack {
            buf,
            pos: HEADER,
            seen: 0,
            declared: (count != u16::MAX).then_some(count as usize),
        })
    }

    fn bytes(&self, from: usize, n: usize) -> Result<&'a [u8], String> {
        let end = from
            .checked_add(n)
            .filter(|&e| e < self.buf.len())
            .ok_or_else(|| "a listpack entry runs past its end".to_string())?;
        Ok(&self.buf[from..end])
    }

    /// The next element, or None at the end marker.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<Item<'a>>, String> {
        let start = self.pos;
        let b = *self
            .buf
            .get(start)
            .ok_or_else(|| "a listpack has no end marker".to_string())?;
        if b == END {
            if start != self.buf.len() - 1 {
                return Err("a listpack's end marker comes before its last byte".into());
            }
            if let Some(d) = self.declared {
                if d != self.seen {
                    return Err(format!(
                        "a listpack says it has {d} entries but holds {}",
                        self.seen
                    ));
                }
            }
            return Ok(None);
        }
        let (header, data_len, item): (usize, usize, Option<Item<'a>>) = if b & 0x80 == 0 {
            (1, 0, Some(Item::Int(i64::from(b & 0x7F))))
        } else if b & 0xC0 == 0x80 {
            (1, usize::from(b & 0x3F), None)
        } else if b & 0xE0 == 0xC0 {
            let lo = self.bytes(start + 1, 1)?[0];
            let u = (u16::from(b & 0x1F) << 8) | u16::from(lo);
            // 13-bit two's complement.
            let v = if u >= 1 << 12 {
                i64::from(u) - (1 << 13)
            } else {
                i64::from(u)
            };
            (2, 0, Some(Item::Int(v)))
        } else if b & 0xF0 == 0xE0 {
            let lo = self.bytes(start + 1, 1)?[0];
            (2, (usize::from(b & 0x0F) << 8) | usize::from(lo), None)
        } else {
            match b {
                0xF0 => {
                    let l = self.bytes(start + 1, 4)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    (5, n, None)
                }
                0xF1 => {
                    let d = self.bytes(start + 1, 2)?;
                    (
                        3,
                        0,
                        Some(Item::Int(i64::from(i16::from_le_bytes([d[0], d[1]])))),
                    )
                }
                0xF2 => {
                    let d = self.bytes(start + 1, 3)?;
                    // Sign-extend from 24 bits.
                    let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                    (4, 0, Some(Item::Int(i64::from(v))))
                }
                0xF3 => {
                    let d = self.bytes(start + 1, 4)?;
                    let v = i32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                    (5, 0, Some(Item::Int(i64::from(v))))
                }
                0xF4 => {
                    let d = self.bytes(start + 1, 8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(d);
                    (9, 0, Some(Item::Int(i64::from_le_bytes(a))))
                }
                _ => {
                    return Err(format!(
                        "a listpack entry has the unknown encoding 0x{b:02x}"
                    ))
                }
            }
        };
        let item = match item {
            Some(i) => i,
            None => Item::Str(self.bytes(start + header, data_len)?),
        };
        let entry_len = header
            .checked_add(data_len)
            .ok_or_else(|| "a listpack entry runs past its end".to_string())?;
        let back_at = start + entry_len;
        let back_size = backlen_size(entry_len);
        let back = self.bytes(back_at, back_size)?;
        if decode_backlen(back) != Some(entry_len as u64) {
            return Err("a listpack entry's back-length does not match its size".into());
        }
        self.pos = back_at + back_size;
        self.seen += 1;
        Ok(Some(item))
    }

    /// The next element, which must be there.
    pub(crate) fn expect(&mut self, what: &str) -> Result<Item<'a>, String> {
        self.next()?
            .ok_or_else(|| format!("a listpack ends where {what} was expected"))
    }

    pub(crate) fn expect_int(&mut self, what: &str) -> Result<i64, String> {
        self.expect(what)?
            .as_int()
            .ok_or_else(|| format!("{what} in a listpack is not an integer"))
    }

    /// Every element, as owned bytes.
    pub(crate) fn all(mut self) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        while let Some(item) = self.next()? {
            out.push(item.to_bytes());
        }
        Ok(out)
    }
}

fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The back-length is stored most significant 7 bits first; all but the first byte carry 0x80.
fn decode_backlen(bytes: &[u8]) -> Option<u64> {
    let (first, rest) = bytes.split_first()?;
    if first & 0x80 != 0 || rest.iter().any(|b| b & 0x80 == 0) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0u64, |acc, b| (acc << 7) | u64::from(b & 0x7F)),
    )
}

/// Builds listpacks the way Redis's lpAppend does, for tests.
#[cfg(test)]
pub(crate) mod build {
    pub(crate) enum El<'a> {
        Int(i64),
        Str(&'a [u8]),
    }

    fn encode_backlen(len: usize) -> Vec<u8> {
        let size = super::backlen_size(len);
        let mut out = Vec::with_capacity(size);
        for i in (0..size).rev() {
            let b = ((len >> (7 * i)) & 0x7F) as u8;
            out.push(if i == size - 1 { b } else { b | 0x80 });
        }
        out
    }

    pub(crate) fn entry(el: &El) -> Vec<u8> {
        let mut e = Vec::new();
        match *el {
            El::Int(v) if (0..=127).contains(&v) => e.push(v as u8),
            El::Int(v) if (-4096..=4095).contains(&v) => {
                let u = (v as u16) & 0x1FFF;
                e.push(0xC0 | (u >> 8) as u8);
                e.push(u as u8);
            }
            El::Int(v) if i16::try_from(v).is_ok() => {
                e.push(0xF1);
                e.extend_from_slice(&(v as i16).to_le_bytes());
            }
            El::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                e.push(0xF2);
                e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            El::Int(v) if i32::try_from(v).is_ok() => {
                e.push(0xF3);
                e.extend_from_slice(&(v as i32).to_le_bytes());
            }
            El::Int(v) => {
                e.push(0xF4);
                e.extend_from_slice(&v.to_le_bytes());
            }
            El::Str(s) if s.len() < 64 => {
                e.push(0x80 | s.len() as u8);
                e.extend_from_slice(s);
            }
            El::Str(s) if s.len() < 4096 => {
                e.push(0xE0 | (s.len() >> 8) as u8);
                e.push(s.len() as u8);
                e.extend_from_slice(s);
            }
            El::Str(s) => {
                e.push(0xF0);
                e.extend_from_slice(&(s.len() as u32).to_le_bytes());
                e.extend_from_slice(s);
            }
        }
        let back = encode_backlen(e.len());
        e.extend_from_slice(&back);
        e
    }

    pub(crate) fn listpack(els: &[El]) -> Vec<u8> {
        let mut body = Vec::new();
        for el in els {
            body.extend_from_slice(&entry(el));
        }
        let total = 6 + body.len() + 1;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(els.len().min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{listpack, El};
    use super::*;

    #[test]
    fn every_integer_width_and_sign() {
        let values = [
            0i64,
            127,
            -1,
            128,
            4095,
            -4096,
            4096,
            -4097,
            32767,
            -32768,
            8_388_607,
            -8_388_608,
            2_147_483_647,
            -2_147_483_648,
            i64::MAX,
            i64::MIN,
        ];
        let els: Vec<El> = values.iter().map(|&v| El::Int(v)).collect();
        let lp = listpack(&els);
        let mut r = Listpack::new(&lp).unwrap();
        for &v in &values {
            assert_eq!(r.next().unwrap(), Some(Item::Int(v)), "{v}");
        }
        assert_eq!(r.next().unwrap(), None);
    }

    #[test]
    fn every_string_width() {
        let a = vec![b'a'; 63];
        let b = vec![b'b'; 4095];
        let c = vec![b'c'; 70_000];
        let lp = listpack(&[El::Str(b""), El::Str(&a), El::Str(&b), El::Str(&c)]);
        let all = Listpack::new(&lp).unwrap().all().unwrap();
        assert_eq!(all, vec![Vec::new(), a, b, c]);
    }

    #[test]
    fn damage_is_reported_not_panicked() {
        let lp = listpack(&[El::Str(b"hello"), El::Int(-5000), El::Int(i64::MIN)]);
        for cut in 0..lp.len() {
            let mut short = lp[..cut].to_vec();
            if short.len() >= 4 {
                short[..4].copy_from_slice(&(cut as u32).to_le_bytes());
            }
            let res = Listpack::new(&short).and_then(|l| l.all());
            assert!(res.is_err(), "cut at {cut}");
        }
        for i in 0..lp.len() {
            for v in [0x00, 0x7F, 0x80, 0xC0, 0xE0, 0xF0, 0xF4, 0xFF] {
                let mut bad = lp.clone();
                bad[i] = v;
                let _ = Listpack::new(&bad).and_then(|l| l.all());
            }
        }
    }

    #[test]
    fn declared_count_is_checked() {
        let mut lp = listpack(&[El::Int(1), El::Int(2)]);
        lp[4] = 3;
        assert!(Listpack::new(&lp).unwrap().all().is_err());
        lp[4] = 0xFF;
        lp[5] = 0xFF;
        assert_eq!(Listpack::new(&lp).unwrap().all().unwrap().len(), 2);
    }
}
