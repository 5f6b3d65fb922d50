//! The byte level of an RDB file: a source that counts and checksums what it reads, lengths,
//! strings (plain, integer-encoded, LZF-compressed) and doubles.

use std::io::{self, BufRead, BufReader, Read};

use crc::{Crc, Digest, CRC_64_REDIS};

static CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// Buffers are grown as bytes arrive, never reserved from a length the file claims.
const CHUNK: usize = 64 * 1024;

/// What went wrong below the reader, before it adds the key and wording.
#[derive(Debug)]
pub(crate) enum Fault {
    /// The input ended in the middle of something.
    Eof,
    Io(io::Error),
    Corrupt {
        at: u64,
        what: String,
    },
    Unsupported {
        at: u64,
        what: String,
    },
    Checksum {
        stored: u64,
        computed: u64,
    },
}

impl Fault {
    pub(crate) fn corrupt(at: u64, what: impl Into<String>) -> Self {
        Fault::Corrupt {
            at,
            what: what.into(),
        }
    }
}

pub(crate) type Res<T> = Result<T, Fault>;

/// A length, or the special encoding that a string uses instead of one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Len {
    Len(u64),
    Special(u8),
}

pub(crate) struct Source<R: Read> {
    inner: BufReader<R>,
    offset: u64,
    digest: Digest<'static, u64>,
}

impl<R: Read> Source<R> {
    pub(crate) fn new(input: R) -> Self {
        Source {
            inner: BufReader::with_capacity(CHUNK, input),
            offset: 0,
            digest: CRC64.digest(),
        }
    }

    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The CRC64 of everything read so far.
    pub(crate) fn checksum(&self) -> u64 {
        self.digest.clone().finalize()
    }

    /// Hands out up to `max` buffered bytes to `f`, counting and checksumming them; 0 at EOF.
    fn chunk(&mut self, max: usize, f: &mut dyn FnMut(&[u8])) -> Res<usize> {
        let buf = loop {
            match self.inner.fill_buf() {
                Ok(b) => break b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Fault::Io(e)),
            }
        };
        let n = buf.len().min(max);
        let part = &buf[..n];
        f(part);
        self.digest.update(part);
        self.inner.consume(n);
        self.offset += n as u64;
        Ok(n)
    }

    pub(crate) fn read_exact(&mut self, out: &mut [u8]) -> Res<()> {
        let mut filled = 0;
        while filled < out.len() {
            let rest = &mut out[filled..];
            let n = self.chunk(rest.len(), &mut |b| rest[..b.len()].copy_from_slice(b))?;
            if n == 0 {
                return Err(Fault::Eof);
            }
            filled += n;
        }
        Ok(())
    }

    pub(crate) fn read_array<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut a = [0u8; N];
        self.read_exact(&mut a)?;
        Ok(a)
    }

    pub(crate) fn read_u8(&mut self) -> Res<u8> {
        Ok(self.read_array::<1>()?[0])
    }

    /// `len` bytes; the buffer grows only as the bytes actually arrive.
    pub(crate) fn read_vec(&mut self, len: u64) -> Res<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(CHUNK).min(CHUNK));
        let mut left = len;
        while left > 0 {
            let max = usize::try_from(left).unwrap_or(usize::MAX);
            let n = self.chunk(max, &mut |b| out.extend_from_slice(b))?;
            if n == 0 {
                return Err(Fault::Eof);
            }
            left -= n as u64;
        }
        Ok(out)
    }

    pub(crate) fn skip(&mut self, len: u64) -> Res<()> {
        let mut left = len;
        while left > 0 {
            let max = usize::try_from(left).unwrap_or(usize::MAX);
            let n = self.chunk(max, &mut |_| {})?;
            if n == 0 {
                return Err(Fault::Eof);
            }
            left -= n as u64;
        }
        Ok(())
    }

    pub(crate) fn read_len_or_special(&mut self) -> Res<Len> {
        let at = self.offset;
        let first = self.read_u8()?;
        match first >> 6 {
            0 => Ok(Len::Len(u64::from(first & 0x3F))),
            1 => {
                let next = self.read_u8()?;
                Ok(Len::Len((u64::from(first & 0x3F) << 8) | u64::from(next)))
            }
            3 => Ok(Len::Special(first & 0x3F)),
            _ => match first {
                0x80 => Ok(Len::Len(u64::from(u32::from_be_bytes(self.read_array()?)))),
                0x81 => Ok(Len::Len(u64::from_be_bytes(self.read_array()?))),
                _ => Err(Fault::corrupt(
                    at,
                    format!("unknown length encoding 0x{first:02x}"),
                )),
            },
        }
    }

    pub(crate) fn read_len(&mut self) -> Res<u64> {
        let at = self.offset;
        match self.read_len_or_special()? {
            Len::Len(n) => Ok(n),
            Len::Special(s) => Err(Fault::corrupt(
                at,
                format!("a length was expected but a special string encoding ({s}) was found"),
            )),
        }
    }

    /// A string in any of its encodings; integer encodings come back as decimal text.
    pub(crate) fn read_string(&mut self) -> Res<Vec<u8>> {
        let at = self.offset;
        match self.read_len_or_special()? {
            Len::Len(n) => self.read_vec(n),
            Len::Special(0) => Ok((self.read_u8()? as i8).to_string().into_bytes()),
            Len::Special(1) => Ok(i16::from_le_bytes(self.read_array()?)
                .to_string()
                .into_bytes()),
            Len::Special(2) => Ok(i32::from_le_bytes(self.read_array()?)
                .to_string()
                .into_bytes()),
            Len::Special(3) => self.read_lzf(at),
            Len::Special(s) => Err(Fault::corrupt(at, format!("unknown string encoding {s}"))),
        }
    }

    fn read_lzf(&mut self, at: u64) -> Res<Vec<u8>> {
        let clen = self.read_len()?;
        let len = self.read_len()?;
        let compressed = self.read_vec(clen)?;
        // LZF expands at most 88 times (3 input bytes give 264 output bytes): a larger claim is
        // corrupt, and checking it keeps the output buffer proportional to bytes really read.
        let bound = clen.saturating_mul(88).saturating_add(64);
        if len > bound {
            return Err(Fault::corrupt(
                at,
                format!("an LZF string claims {len} bytes from {clen} compressed bytes"),
            ));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let len = usize::try_from(len)
            .map_err(|_| Fault::corrupt(at, "an LZF string is too long for this machine"))?;
        match lzf::decompress(&compressed, len) {
            Ok(out) if out.len() == len => Ok(out),
            Ok(out) => Err(Fault::corrupt(
                at,
                format!(
                    "an LZF string gives {} bytes where {len} were announced",
                    out.len()
                ),
            )),
            Err(e) => Err(Fault::corrupt(
                at,
                format!("an LZF string does not decompress ({e:?})"),
            )),
        }
    }

    /// The old text form of a double (zset type 3): a length byte, with 253/254/255 for
    /// NaN/+inf/-inf.
    pub(crate) fn read_text_double(&mut self) -> Res<f64> {
        let at = self.offset;
        match self.read_u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.read_vec(u64::from(n))?;
                parse_double(&text).ok_or_else(|| {
                    Fault::corrupt(
                        at,
                        format!(
                            "the score `{}` is not a number",
                            String::from_utf8_lossy(&text)
                        ),
                    )
                })
            }
        }
    }

    pub(crate) fn read_binary_double(&mut self) -> Res<f64> {
        Ok(f64::from_le_bytes(self.read_array()?))
    }
}

/// Parses a score as Redis prints it (`%.17g`, `inf`, `-inf`, `nan`), exactly.
pub(crate) fn parse_double(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    if s.is_empty() || s.trim() != s {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) fn crc(bytes: &[u8]) -> u64 {
        super::CRC64.checksum(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(bytes: &[u8]) -> Source<&[u8]> {
        Source::new(bytes)
    }

    #[test]
    fn lengths_in_every_width() {
        assert_eq!(src(&[0x05]).read_len().unwrap(), 5);
        assert_eq!(src(&[0x41, 0x02]).read_len().unwrap(), 0x102);
        assert_eq!(src(&[0x80, 0, 1, 0, 0]).read_len().unwrap(), 65536);
        assert_eq!(
            src(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]).read_len().unwrap(),
            1 << 32
        );
        assert!(matches!(
            src(&[0x82]).read_len(),
            Err(Fault::Corrupt { .. })
        ));
        assert!(matches!(src(&[0x80, 0]).read_len(), Err(Fault::Eof)));
    }

    #[test]
    fn integer_strings_are_signed() {
        assert_eq!(src(&[0xC0, 0xFF]).read_string().unwrap(), b"-1");
        assert_eq!(src(&[0xC1, 0x00, 0x80]).read_string().unwrap(), b"-32768");
        assert_eq!(
            src(&[0xC2, 0xFF, 0xFF, 0xFF, 0x7F]).read_string().unwrap(),
            b"2147483647"
        );
        assert!(matches!(
            src(&[0xC4]).read_string(),
            Err(Fault::Corrupt { .. })
        ));
    }

    #[test]
    fn lzf_strings_and_their_limits() {
        let text = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabc".to_vec();
        let packed = lzf::compress(&text).unwrap();
        let mut bytes = vec![0xC3, packed.len() as u8, text.len() as u8];
        bytes.extend_from_slice(&packed);
        assert_eq!(src(&bytes).read_string().unwrap(), text);
        // A claimed size far beyond what the compressed bytes can give is refused early.
        let huge = [0xC3, 0x01, 0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0x00];
        assert!(matches!(
            src(&huge).read_string(),
            Err(Fault::Corrupt { .. })
        ));
    }

    #[test]
    fn huge_claimed_string_fails_at_eof_without_reserving() {
        let bytes = [0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, b'a'];
        assert!(matches!(src(&bytes).read_string(), Err(Fault::Eof)));
    }

    #[test]
    fn text_doubles() {
        assert_eq!(src(&[3, b'1', b'.', b'5']).read_text_double().unwrap(), 1.5);
        assert_eq!(src(&[254]).read_text_double().unwrap(), f64::INFINITY);
        assert_eq!(src(&[255]).read_text_double().unwrap(), f64::NEG_INFINITY);
        assert!(src(&[253]).read_text_double().unwrap().is_nan());
        let neg_zero = src(&[2, b'-', b'0']).read_text_double().unwrap();
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
        assert!(src(&[1, b'x']).read_text_double().is_err());
    }
}
