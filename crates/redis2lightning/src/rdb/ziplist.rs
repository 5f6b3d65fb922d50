//! Ziplists (Redis 6 and older's compact encoding, still met in quicklist v1 nodes and old
//! RDB types) and zipmaps (Redis 2.x small hashes), read with every index bound-checked.

use super::listpack::Item;

const HEADER: usize = 10;
const END: u8 = 0xFF;

/// Every element of a ziplist, in order.
pub(crate) fn items(buf: &[u8]) -> Result<Vec<Item<'_>>, String> {
    if buf.len() < HEADER + 1 {
        return Err(format!("a ziplist of {} bytes is too short", buf.len()));
    }
    let total = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if total != buf.len() {
        return Err(format!(
            "a ziplist says it has {total} bytes but holds {}",
            buf.len()
        ));
    }
    if buf[buf.len() - 1] != END {
        return Err("a ziplist does not end with its end marker".into());
    }
    let declared = u16::from_le_bytes([buf[8], buf[9]]);
    // Everything but the end marker; entries must fit inside.
    let body = &buf[..buf.len() - 1];
    let get = |from: usize, n: usize| -> Result<&[u8], String> {
        from.checked_add(n)
            .and_then(|end| body.get(from..end))
            .ok_or_else(|| "a ziplist entry runs past its end".to_string())
    };
    let mut out = Vec::new();
    let mut pos = HEADER;
    let mut prev_len = 0usize;
    while pos < body.len() {
        let start = pos;
        let first = get(pos, 1)?[0];
        let prevlen = if first < 254 {
            pos += 1;
            usize::from(first)
        } else if first == 254 {
            let p = get(pos + 1, 4)?;
            pos += 5;
            u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize
        } else {
            return Err("a ziplist's end marker comes before its last byte".into());
        };
        if prevlen != prev_len {
            return Err("a ziplist entry's previous-length does not match".into());
        }
        let enc = get(pos, 1)?[0];
        let item = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                let s = get(pos + 1, n)?;
                pos += 1 + n;
                Item::Str(s)
            }
            1 => {
                let lo = get(pos + 1, 1)?[0];
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(lo);
                let s = get(pos + 2, n)?;
                pos += 2 + n;
                Item::Str(s)
            }
            2 => {
                let l = get(pos + 1, 4)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                let s = get(pos + 5, n)?;
                pos += 5 + n;
                Item::Str(s)
            }
            _ => {
                let (size, v) = match enc {
                    0xC0 => {
                        let d = get(pos + 1, 2)?;
                        (2, i64::from(i16::from_le_bytes([d[0], d[1]])))
                    }
                    0xD0 => {
                        let d = get(pos + 1, 4)?;
                        (4, i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]])))
                    }
                    0xE0 => {
                        let d = get(pos + 1, 8)?;
                        let mut a = [0u8; 8];
                        a.copy_from_slice(d);
                        (8, i64::from_le_bytes(a))
                    }
                    0xF0 => {
                        let d = get(pos + 1, 3)?;
                        // Sign-extend from 24 bits.
                        (3, i64::from(i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8))
                    }
                    0xFE => (1, i64::from(get(pos + 1, 1)?[0] as i8)),
                    0xF1..=0xFD => (0, i64::from(enc & 0x0F) - 1),
                    _ => {
                        return Err(format!(
                            "a ziplist entry has the unknown encoding 0x{enc:02x}"
                        ))
                    }
                };
                pos += 1 + size;
                Item::Int(v)
            }
        };
        prev_len = pos - start;
        out.push(item);
    }
    if declared != u16::MAX && usize::from(declared) != out.len() {
        return Err(format!(
            "a ziplist says it has {declared} entries but holds {}",
            out.len()
        ));
    }
    Ok(out)
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Field/value pairs of a zipmap (RDB type 9, written by Redis 2.x).
pub(crate) fn zipmap_pairs(buf: &[u8]) -> Result<Pairs, String> {
    let get = |from: usize, n: usize| -> Result<&[u8], String> {
        from.checked_add(n)
            .and_then(|end| buf.get(from..end))
            .ok_or_else(|| "a zipmap entry runs past its end".to_string())
    };
    let read_len = |pos: &mut usize| -> Result<Option<usize>, String> {
        let b = get(*pos, 1)?[0];
        match b {
            0..=253 => {
                *pos += 1;
                Ok(Some(usize::from(b)))
            }
            254 => {
                let l = get(*pos + 1, 4)?;
                *pos += 5;
                Ok(Some(u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize))
            }
            _ => Ok(None),
        }
    };
    let mut pos = 1; // the count byte is only a hint
    let mut out = Vec::new();
    while let Some(klen) = read_len(&mut pos)? {
        let key = get(pos, klen)?.to_vec();
        pos += klen;
        let vlen = read_len(&mut pos)?
            .ok_or_else(|| "a zipmap ends between a field and its value".to_string())?;
        let free = usize::from(get(pos, 1)?[0]);
        pos += 1;
        let value = get(pos, vlen)?.to_vec();
        pos = pos
            .checked_add(vlen)
            .and_then(|p| p.checked_add(free))
            .ok_or_else(|| "a zipmap entry runs past its end".to_string())?;
        out.push((key, value));
    }
    if pos + 1 != buf.len() {
        return Err("a zipmap's end marker comes before its last byte".into());
    }
    Ok(out)
}

/// Builds ziplists the way Redis's ziplistPush does, for tests.
#[cfg(test)]
pub(crate) mod build {
    pub(crate) enum El<'a> {
        Int(i64),
        Str(&'a [u8]),
    }

    fn encode(el: &El) -> Vec<u8> {
        let mut e = Vec::new();
        match *el {
            El::Int(v) if (0..=12).contains(&v) => e.push(0xF1 + v as u8),
            El::Int(v) if i8::try_from(v).is_ok() => {
                e.push(0xFE);
                e.push(v as i8 as u8);
            }
            El::Int(v) if i16::try_from(v).is_ok() => {
                e.push(0xC0);
                e.extend_from_slice(&(v as i16).to_le_bytes());
            }
            El::Int(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                e.push(0xF0);
                e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            El::Int(v) if i32::try_from(v).is_ok() => {
                e.push(0xD0);
                e.extend_from_slice(&(v as i32).to_le_bytes());
            }
            El::Int(v) => {
                e.push(0xE0);
                e.extend_from_slice(&v.to_le_bytes());
            }
            El::Str(s) if s.len() < 64 => {
                e.push(s.len() as u8);
                e.extend_from_slice(s);
            }
            El::Str(s) if s.len() < 16384 => {
                e.push(0x40 | (s.len() >> 8) as u8);
                e.push(s.len() as u8);
                e.extend_from_slice(s);
            }
            El::Str(s) => {
                e.push(0x80);
                e.extend_from_slice(&(s.len() as u32).to_be_bytes());
                e.extend_from_slice(s);
            }
        }
        e
    }

    pub(crate) fn ziplist(els: &[El]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for el in els {
            tail = 10 + body.len();
            let mut entry = if prev < 254 {
                vec![prev as u8]
            } else {
                let mut p = vec![254];
                p.extend_from_slice(&(prev as u32).to_le_bytes());
                p
            };
            entry.extend_from_slice(&encode(el));
            prev = entry.len();
            body.extend_from_slice(&entry);
        }
        let total = 10 + body.len() + 1;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(els.len().min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{ziplist, El};
    use super::*;

    #[test]
    fn every_encoding_and_sign() {
        let big = vec![b'x'; 300];
        let huge = vec![b'y'; 20_000];
        let ints = [
            0i64,
            12,
            13,
            -1,
            127,
            -128,
            128,
            32767,
            -32768,
            8_388_607,
            -8_388_608,
            2_147_483_647,
            -2_147_483_648,
            i64::MAX,
            i64::MIN,
        ];
        let mut els: Vec<El> = ints.iter().map(|&v| El::Int(v)).collect();
        els.push(El::Str(b""));
        els.push(El::Str(&big));
        els.push(El::Str(&huge));
        els.push(El::Str(b"tail"));
        let zl = ziplist(&els);
        let got = items(&zl).unwrap();
        for (i, &v) in ints.iter().enumerate() {
            assert_eq!(got[i], Item::Int(v), "{v}");
        }
        let n = ints.len();
        assert_eq!(got[n], Item::Str(b""));
        assert_eq!(got[n + 1], Item::Str(&big));
        assert_eq!(got[n + 2], Item::Str(&huge));
        // The entry after the 20 KB string has a 5-byte previous-length.
        assert_eq!(got[n + 3], Item::Str(b"tail"));
    }

    #[test]
    fn damage_is_reported_not_panicked() {
        let zl = ziplist(&[El::Str(b"hello"), El::Int(-5000), El::Int(7)]);
        for cut in 0..zl.len() {
            let mut short = zl[..cut].to_vec();
            if short.len() >= 4 {
                short[..4].copy_from_slice(&(cut as u32).to_le_bytes());
            }
            assert!(items(&short).is_err(), "cut at {cut}");
        }
        for i in 0..zl.len() {
            for v in [0x00, 0x3F, 0x40, 0x80, 0xC0, 0xF0, 0xFE, 0xFF] {
                let mut bad = zl.clone();
                bad[i] = v;
                let _ = items(&bad);
            }
        }
    }

    #[test]
    fn zipmaps() {
        // zmlen 2, "a" -> "1" (1 free byte), "bb" -> "" then end.
        let zm = [2, 1, b'a', 1, 1, b'1', 0, 2, b'b', b'b', 0, 0, 0xFF];
        assert_eq!(
            zipmap_pairs(&zm).unwrap(),
            vec![(b"a".to_vec(), b"1".to_vec()), (b"bb".to_vec(), Vec::new())]
        );
        for cut in 0..zm.len() {
            assert!(zipmap_pairs(&zm[..cut]).is_err());
        }
    }
}
