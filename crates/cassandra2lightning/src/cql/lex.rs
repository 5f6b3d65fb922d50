//! Tokens of CQL as `DESCRIBE` prints it: bare and `"quoted"` names, `'strings'`,
//! `$$bodies$$`, numbers, `--`, `//` and `/* */` comments.

/// One token with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A keyword or bare name; CQL folds these to lower case.
    Word(String),
    /// A `"quoted"` name, case kept.
    Name(String),
    /// A `'string'` or a `$$...$$` body.
    Str(String),
    Num(String),
    Punct(char),
}

impl Tok {
    /// The word, lower-case, when this is a bare word.
    pub fn word(&self) -> Option<&str> {
        match self {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    pub fn is(&self, word: &str) -> bool {
        self.word() == Some(word)
    }

    /// An identifier: a bare word (folded) or a quoted name.
    pub fn ident(&self) -> Option<&str> {
        match self {
            Tok::Word(w) | Tok::Name(w) => Some(w),
            _ => None,
        }
    }

    /// As CQL writes it again.
    pub fn cql(&self) -> String {
        match self {
            Tok::Word(w) | Tok::Num(w) => w.clone(),
            Tok::Name(n) => format!("\"{}\"", n.replace('"', "\"\"")),
            Tok::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Tok::Punct(c) => c.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LexError {
    pub line: u64,
    pub message: String,
}

/// Every token of `text`, each with its line and byte offset.
pub fn tokens(text: &str) -> Result<Vec<(Tok, u64, usize)>, LexError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1u64;
    let err = |line, m: &str| LexError {
        line,
        message: m.to_string(),
    };
    while i < b.len() {
        let c = b[i];
        let start = i;
        let at = line;
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            _ if c.is_ascii_whitespace() => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .ok_or_else(|| err(at, "a /* comment is not closed"))?;
                line += text[i..i + 2 + end].matches('\n').count() as u64;
                i += end + 4;
            }
            b'\'' | b'"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&d) = b.get(i) else {
                        let what = if c == b'"' { "quoted name" } else { "string" };
                        return Err(err(at, &format!("a {what} is not closed")));
                    };
                    if d == c {
                        if b.get(i + 1) == Some(&c) {
                            s.push(c as char);
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    let ch = text[i..].chars().next().unwrap_or('\0');
                    if ch == '\n' {
                        line += 1;
                    }
                    s.push(ch);
                    i += ch.len_utf8();
                }
                out.push((
                    if c == b'"' { Tok::Name(s) } else { Tok::Str(s) },
                    at,
                    start,
                ));
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                let end = text[i + 2..]
                    .find("$$")
                    .ok_or_else(|| err(at, "a $$ body is not closed"))?;
                let body = &text[i + 2..i + 2 + end];
                line += body.matches('\n').count() as u64;
                out.push((Tok::Str(body.to_string()), at, start));
                i += end + 4;
            }
            _ if c.is_ascii_digit()
                || (c == b'-' || c == b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) =>
            {
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'.'
                        || (b[i] == b'-' || b[i] == b'+') && matches!(b[i - 1], b'e' | b'E'))
                {
                    i += 1;
                }
                out.push((Tok::Num(text[start..i].to_string()), at, start));
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((Tok::Word(text[start..i].to_ascii_lowercase()), at, start));
            }
            _ if c.is_ascii_punctuation() => {
                out.push((Tok::Punct(c as char), at, start));
                i += 1;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('\0');
                return Err(err(at, &format!("unexpected character `{ch}`")));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_strings_bodies_and_comments() {
        let t =
            tokens("CREATE TABLE \"Ks\".t -- c\n( a int, /* x\n */ b 'it''s' $$ x; $$ -1.5e-3 );")
                .unwrap();
        let toks: Vec<_> = t.iter().map(|(t, _, _)| t.clone()).collect();
        assert_eq!(toks[2], Tok::Name("Ks".into()));
        assert!(toks.contains(&Tok::Str("it's".into())));
        assert!(toks.contains(&Tok::Str(" x; ".into())));
        assert!(toks.contains(&Tok::Num("-1.5e-3".into())));
        assert_eq!(t.last().unwrap().1, 3);
        assert!(tokens("'open").unwrap_err().message.contains("not closed"));
    }
}
