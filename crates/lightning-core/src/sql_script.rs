//! The lexer of SQL scripts that tools read as text (SQL Server's Generate Scripts,
//! Oracle's SQL*Plus exports): positions and lines, comments, words, quoted names
//! and strings with doubled quotes, numbers and punctuation. Each tool describes
//! its dialect (a [`Dialect`]); its own tokens come from that description.

mod file;
mod insert;
mod source;
mod unknown;

use std::marker::PhantomData;

pub use file::{read_script, script_description, script_shown};
pub use insert::{
    each_insert, insert_head, insert_rows, read_inserts, scan_insert, InsertHead, InsertSyntax,
};
pub use source::{InsertRun, ScriptSource, ScriptValues, SourceTable};
pub use unknown::UnknownType;

/// One token. Strings and names are unescaped; words keep their spelling.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    /// A keyword or unquoted name (`INSERT`, `dbo`, `SYS_C0042$`).
    Word(&'a str),
    /// A `"quoted"` name, or a dialect's other quoting (`[bracketed]`).
    Name(String),
    /// A `'string'`, `N'string'` or a dialect's other quoting (`q'[string]'`).
    Str(String),
    /// A number as written, without a type suffix; `-` comes as punctuation.
    Num(&'a str),
    /// A `0x...` binary literal.
    Hex(Vec<u8>),
    /// `||`
    Concat,
    Punct(char),
    /// A line of its own that ends a batch or unit (`GO`, a lone `/`).
    BatchEnd,
    Eof,
}

/// What the lexer met that no token can be made of.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub line: u64,
    pub message: String,
}

/// What sets one SQL dialect's script apart from another's.
pub trait Dialect: Sized {
    /// Whether `/* */` comments nest, or end at the first `*/`.
    const NESTED_COMMENTS: bool;
    /// Bytes besides ASCII letters and non-ASCII characters that start a word.
    const WORD_START: &'static [u8];
    /// Characters besides letters and digits that go on in a word.
    const WORD_CHARS: &'static [char];
    /// Letters that may close a number as its type, not kept in its token.
    const NUMBER_SUFFIXES: &'static [u8];

    /// The dialect's own token at byte `s`, tried before the common ones: it sets
    /// `lx.i` past what it takes.
    fn token<'a>(lx: &mut Lexer<'a, Self>, s: usize) -> Option<Result<Token<'a>, LexError>>;

    /// How the dialect quotes a name, as messages show it: `"` and `"`, `[` and `]`.
    const NAME_QUOTES: (&'static str, &'static str) = ("\"", "\"");
    /// How messages name a [`Token::BatchEnd`].
    const BATCH_END: &'static str;

    /// A token as messages name it.
    fn describe(t: &Token<'_>) -> String {
        match t {
            Token::Word(w) => format!("`{w}`"),
            Token::Name(n) => format!("`{}{n}{}`", Self::NAME_QUOTES.0, Self::NAME_QUOTES.1),
            Token::Str(_) => "a string".into(),
            Token::Num(n) => format!("the number {n}"),
            Token::Hex(_) => "a 0x binary".into(),
            Token::Concat => "`||`".into(),
            Token::Punct(p) => format!("`{p}`"),
            Token::BatchEnd => Self::BATCH_END.into(),
            Token::Eof => "the end of the script".into(),
        }
    }
}

/// Every token of `text`, `Eof` left out.
pub fn tokens<D: Dialect>(text: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut lx = Lexer::<D>::new(text, 0, 1);
    let mut out = Vec::new();
    loop {
        match lx.next()? {
            Token::Eof => return Ok(out),
            t => out.push(t),
        }
    }
}

pub struct Lexer<'a, D> {
    text: &'a str,
    /// The byte offset of the next token's search.
    pub i: usize,
    line: u64,
    /// Where `line` was counted to.
    counted: usize,
    /// The start of the last token read.
    pub start: usize,
    peeked: Option<(Result<Token<'a>, LexError>, usize, usize)>,
    dialect: PhantomData<D>,
}

impl<'a, D: Dialect> Lexer<'a, D> {
    /// Tokens of `text` from byte `at`, which is on line `line`.
    pub fn new(text: &'a str, at: usize, line: u64) -> Self {
        Lexer {
            text,
            i: at,
            line,
            counted: at,
            start: at,
            peeked: None,
            dialect: PhantomData,
        }
    }

    /// The line of byte `at` (at or after the last asked).
    pub fn line_at(&mut self, at: usize) -> u64 {
        let at = at.min(self.text.len());
        if at > self.counted {
            self.line += self.text.as_bytes()[self.counted..at]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.counted = at;
        }
        self.line
    }

    /// The line of the last token read.
    pub fn line(&mut self) -> u64 {
        self.line_at(self.start)
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn peek(&mut self) -> Result<&Token<'a>, LexError> {
        if self.peeked.is_none() {
            let save = (self.i, self.start);
            let t = self.lex();
            self.peeked = Some((t, self.i, self.start));
            (self.i, self.start) = save;
        }
        match &self.peeked {
            Some((Ok(t), _, _)) => Ok(t),
            Some((Err(e), _, _)) => Err(e.clone()),
            None => unreachable!("peeked above"),
        }
    }

    // Not an iterator: a token or an error, and `Eof` for ever at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Token<'a>, LexError> {
        if let Some((t, i, start)) = self.peeked.take() {
            self.i = i;
            self.start = start;
            return t;
        }
        self.lex()
    }

    /// Take the next token if it is the word `w` (any case).
    pub fn eat_word(&mut self, w: &str) -> Result<bool, LexError> {
        if matches!(self.peek()?, Token::Word(x) if x.eq_ignore_ascii_case(w)) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    pub fn eat_punct(&mut self, c: char) -> Result<bool, LexError> {
        if *self.peek()? == Token::Punct(c) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Take the next token, which must be the punctuation `c`.
    pub fn expect(&mut self, c: char) -> Result<(), LexError> {
        let t = self.next()?;
        if t != Token::Punct(c) {
            return Err(self.syntax(format!("expected `{c}`, found {}", D::describe(&t))));
        }
        Ok(())
    }

    /// An error on the line of the last token read.
    pub fn syntax(&mut self, message: impl Into<String>) -> LexError {
        self.err(self.start, message)
    }

    /// Pass over the rest of the current line: a client's command (SQL*Plus `SET`,
    /// `REM`, `PROMPT`) takes its line whatever it holds.
    pub fn skip_line(&mut self) {
        self.peeked = None;
        let b = self.text.as_bytes();
        let from = self.i.min(b.len());
        self.i = self.text[from..].find('\n').map_or(b.len(), |n| from + n);
    }

    pub fn err(&mut self, at: usize, message: impl Into<String>) -> LexError {
        LexError {
            line: self.line_at(at),
            message: message.into(),
        }
    }

    /// Whether only spaces stand between the start of `at`'s line and `at`.
    pub fn starts_line(&self, at: usize) -> bool {
        self.text.as_bytes()[..at]
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
    }

    /// Pass over spaces and comments.
    fn skip_space(&mut self) -> Result<(), LexError> {
        let b = self.text.as_bytes();
        loop {
            while self.i < b.len() && b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if b[self.i..].starts_with(b"--") {
                self.i = self.text[self.i..]
                    .find('\n')
                    .map_or(b.len(), |n| self.i + n);
                continue;
            }
            if b[self.i..].starts_with(b"/*") {
                let open = self.i;
                if !D::NESTED_COMMENTS {
                    match self.text[self.i + 2..].find("*/") {
                        Some(n) => self.i += n + 4,
                        None => return Err(self.err(open, "a /* comment is never closed")),
                    }
                    continue;
                }
                let mut depth = 0usize;
                while self.i < b.len() {
                    if b[self.i..].starts_with(b"/*") {
                        depth += 1;
                        self.i += 2;
                    } else if b[self.i..].starts_with(b"*/") {
                        depth -= 1;
                        self.i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        self.i += 1;
                    }
                }
                if depth > 0 {
                    return Err(self.err(open, "a /* comment is never closed"));
                }
                continue;
            }
            return Ok(());
        }
    }

    fn lex(&mut self) -> Result<Token<'a>, LexError> {
        self.skip_space()?;
        let b = self.text.as_bytes();
        self.start = self.i;
        let s = self.i;
        if s >= b.len() {
            return Ok(Token::Eof);
        }
        if let Some(t) = D::token(self, s) {
            return t;
        }
        let c = b[s];
        match c {
            b'"' => {
                let (v, j) = self.quoted(s, b'"')?;
                self.i = j;
                Ok(Token::Name(v))
            }
            b'\'' => {
                let (v, j) = self.quoted(s, b'\'')?;
                self.i = j;
                Ok(Token::Str(v))
            }
            b'N' | b'n' if b.get(s + 1) == Some(&b'\'') => {
                let (v, j) = self.quoted(s + 1, b'\'')?;
                self.i = j;
                Ok(Token::Str(v))
            }
            b'0'..=b'9' | b'.' if c != b'.' || b.get(s + 1).is_some_and(u8::is_ascii_digit) => {
                let mut j = s;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                if j < b.len() && matches!(b[j], b'e' | b'E') {
                    let mut k = j + 1;
                    if k < b.len() && matches!(b[k], b'+' | b'-') {
                        k += 1;
                    }
                    if k < b.len() && b[k].is_ascii_digit() {
                        while k < b.len() && b[k].is_ascii_digit() {
                            k += 1;
                        }
                        j = k;
                    }
                }
                let num = &self.text[s..j];
                let next = b.get(j + 1).copied().unwrap_or(b' ');
                if j < b.len()
                    && D::NUMBER_SUFFIXES.contains(&b[j])
                    && !(next.is_ascii_alphanumeric() || next == b'_')
                {
                    j += 1;
                }
                self.i = j;
                Ok(Token::Num(num))
            }
            _ if c.is_ascii_alphabetic() || D::WORD_START.contains(&c) || c >= 0x80 => {
                let mut j = s + self.text[s..].chars().next().map_or(1, char::len_utf8);
                while j < b.len() {
                    let ch = self.text[j..].chars().next().unwrap_or(' ');
                    if ch.is_alphanumeric() || D::WORD_CHARS.contains(&ch) {
                        j += ch.len_utf8();
                    } else {
                        break;
                    }
                }
                self.i = j;
                Ok(Token::Word(&self.text[s..j]))
            }
            _ => {
                let ch = self.text[s..].chars().next().unwrap_or(' ');
                self.i = s + ch.len_utf8();
                Ok(Token::Punct(ch))
            }
        }
    }

    /// A string or name quoted with `q` (doubled inside) starting at `s`, and the
    /// byte after it.
    pub fn quoted(&mut self, s: usize, q: u8) -> Result<(String, usize), LexError> {
        let b = self.text.as_bytes();
        let mut out = String::new();
        let mut j = s + 1;
        loop {
            let Some(n) = b[j..].iter().position(|&x| x == q) else {
                let what = if q == b'\'' { "string" } else { "quoted name" };
                return Err(self.err(
                    s,
                    format!("a {what} starts here and is never closed: the script is cut short or a quote is missing"),
                ));
            };
            out.push_str(&self.text[j..j + n]);
            j += n + 1;
            if b.get(j) == Some(&q) {
                out.push(q as char);
                j += 1;
            } else {
                return Ok((out, j));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The common tokens alone (and, for `insert`'s tests, words and numbers).
    pub(super) struct Plain;

    impl Dialect for Plain {
        const NESTED_COMMENTS: bool = false;
        const WORD_START: &'static [u8] = b"_";
        const WORD_CHARS: &'static [char] = &['_'];
        const NUMBER_SUFFIXES: &'static [u8] = b"";
        const BATCH_END: &'static str = "GO";

        fn token<'a>(_: &mut Lexer<'a, Self>, _: usize) -> Option<Result<Token<'a>, LexError>> {
            None
        }
    }

    #[test]
    fn common_tokens_peeking_and_lines() {
        let mut lx = Lexer::<Plain>::new("/* x */ a_1 \"b\"\"c\" -- d\n N'e''f' 1.5e3 .5 (", 0, 1);
        assert_eq!(lx.peek().unwrap(), &Token::Word("a_1"));
        assert!(lx.eat_word("A_1").unwrap());
        assert_eq!(lx.next().unwrap(), Token::Name("b\"c".into()));
        assert_eq!(lx.next().unwrap(), Token::Str("e'f".into()));
        assert_eq!(lx.line(), 2);
        assert_eq!(lx.next().unwrap(), Token::Num("1.5e3"));
        assert_eq!(lx.next().unwrap(), Token::Num(".5"));
        assert!(lx.eat_punct('(').unwrap());
        assert_eq!(lx.next().unwrap(), Token::Eof);
        let mut lx = Lexer::<Plain>::new("a\n/* open", 0, 1);
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap_err().line, 2);
    }
}
