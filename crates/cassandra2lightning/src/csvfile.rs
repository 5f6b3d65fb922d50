//! Records of a file `cqlsh COPY TO` wrote. cqlsh writes with Python's csv module
//! in a dialect of its own: no doubled quotes, but `\` escaping the next
//! character inside and outside quoted fields (`say \"hi\"` unquoted). The csv
//! crate reads escapes only inside quotes, so the records are split here.

use std::io::{self, BufRead};

/// How the file's escapes were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escapes {
    /// Python 3.10 and later also escape the escape character: every `\` of the
    /// file starts a pair `\\` or `\"`.
    Doubled,
    /// Earlier Pythons left a `\` alone: only quotes are escaped.
    Single,
}

/// One record: its fields and the line it starts on.
#[derive(Debug, Default, Clone)]
pub struct Record {
    pub fields: Vec<String>,
    pub line: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("line {line}: {message}")]
    Bad { line: u64, message: String },
}

pub struct Records<R> {
    inner: R,
    delimiter: u8,
    escapes: Escapes,
    offset: u64,
    line: u64,
}

impl<R: BufRead> Records<R> {
    /// Records from `inner`, which is at byte `offset` and line `line` of its file.
    pub fn new(inner: R, delimiter: u8, escapes: Escapes, offset: u64, line: u64) -> Self {
        Records {
            inner,
            delimiter,
            escapes,
            offset,
            line,
        }
    }

    /// The byte offset after the last record read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The line after the last record read.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn byte(&mut self) -> io::Result<Option<u8>> {
        let buf = self.inner.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.inner.consume(1);
        self.offset += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Ok(Some(b))
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.inner.fill_buf()?.first().copied())
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>, CsvError> {
        let mut rec = Record {
            fields: Vec::new(),
            line: self.line,
        };
        let mut field: Vec<u8> = Vec::new();
        let mut quoted = false;
        let mut any = false;
        let finish = |field: &mut Vec<u8>, line: u64| -> Result<String, CsvError> {
            String::from_utf8(std::mem::take(field)).map_err(|e| CsvError::Bad {
                line,
                message: format!(
                    "a field is not UTF-8 text (byte {}): export it again, or convert the file to UTF-8",
                    e.utf8_error().valid_up_to()
                ),
            })
        };
        loop {
            let Some(b) = self.byte()? else {
                if quoted {
                    return Err(CsvError::Bad {
                        line: rec.line,
                        message: "a quoted field is not closed before the end of the file: the file is cut short".into(),
                    });
                }
                if !any {
                    return Ok(None);
                }
                rec.fields.push(finish(&mut field, rec.line)?);
                return Ok(Some(rec));
            };
            any = true;
            match b {
                b'\\' => {
                    let next = self.byte()?.ok_or_else(|| CsvError::Bad {
                        line: self.line,
                        message: "the file ends in the middle of an escape (`\\`)".into(),
                    })?;
                    match (self.escapes, next) {
                        (Escapes::Single, b'"') => field.push(b'"'),
                        // Escapes of the text itself (`\n`, `\\`) are read later.
                        (Escapes::Single, other) => field.extend_from_slice(&[b'\\', other]),
                        (Escapes::Doubled, other) => field.push(other),
                    }
                }
                b'"' if quoted => {
                    if self.peek()? == Some(b'"') {
                        self.byte()?;
                        field.push(b'"');
                    } else {
                        quoted = false;
                    }
                }
                b'"' if field.is_empty() => quoted = true,
                _ if quoted => field.push(b),
                b'\r' if self.peek()? == Some(b'\n') => {}
                b'\n' => {
                    rec.fields.push(finish(&mut field, rec.line)?);
                    return Ok(Some(rec));
                }
                _ if b == self.delimiter => rec.fields.push(finish(&mut field, rec.line)?),
                _ => field.push(b),
            }
        }
    }
}

/// How a file's escapes were written, told from its bytes as they pass: a `\`
/// followed by anything but `\` or `"` cannot come from the doubled form.
#[derive(Debug, Default)]
pub struct EscapeDetector {
    escaped: bool,
    single: bool,
}

impl EscapeDetector {
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.escaped {
                self.single |= !matches!(b, b'\\' | b'"');
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            }
        }
    }

    pub fn escapes(&self) -> Escapes {
        if self.single {
            Escapes::Single
        } else {
            Escapes::Doubled
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str, escapes: Escapes) -> Vec<Vec<String>> {
        let mut r = Records::new(text.as_bytes(), b',', escapes, 0, 1);
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec.fields);
        }
        out
    }

    #[test]
    fn cqlsh_records_are_split_as_python_writes_them() {
        let rows = all(
            "a,b\r\nit's \\\"ok\\\",\"Zoë, Jr.\"\r\n\"[1, 2]\",l1\\\\nl2\r\n,\r\n",
            Escapes::Doubled,
        );
        assert_eq!(
            rows,
            [
                vec!["a", "b"],
                vec!["it's \"ok\"", "Zoë, Jr."],
                vec!["[1, 2]", "l1\\nl2"],
                vec!["", ""],
            ]
        );
        assert_eq!(
            all("x\\nl,\\\"q\\\"\n", Escapes::Single),
            [vec!["x\\nl", "\"q\""]]
        );
        let mut r = Records::new(&b"\"open"[..], b',', Escapes::Doubled, 0, 1);
        assert!(r
            .next_record()
            .unwrap_err()
            .to_string()
            .contains("cut short"));
    }

    #[test]
    fn escapes_are_told_apart() {
        let detect = |chunks: &[&[u8]]| {
            let mut d = EscapeDetector::default();
            for c in chunks {
                d.feed(c);
            }
            d.escapes()
        };
        assert_eq!(detect(&[b"a\\", b"\\nb,\\\"q"]), Escapes::Doubled);
        assert_eq!(detect(&[b"a\\", b"nb"]), Escapes::Single);
        assert_eq!(detect(&[b"plain"]), Escapes::Doubled);
    }
}
