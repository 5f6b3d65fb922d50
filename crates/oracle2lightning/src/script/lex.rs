//! Tokens of Oracle SQL as SQL*Plus reads a script: `"quoted"` names, `'...'`,
//! `N'...'` and `q'[...]'` strings, numbers with their `f`/`d` suffix, `||`,
//! `--` and `/* */` comments, and `/` alone on a line ending a PL/SQL unit (as
//! [`Tok::BatchEnd`]).

use lightning_core::sql_script::Dialect;
pub use lightning_core::sql_script::{LexError, Token as Tok};

pub type Lexer<'a> = lightning_core::sql_script::Lexer<'a, OracleSql>;

/// Oracle SQL as SQL*Plus reads it.
pub struct OracleSql;

impl Dialect for OracleSql {
    // Oracle's comments do not nest.
    const NESTED_COMMENTS: bool = false;
    const WORD_START: &'static [u8] = b"";
    const WORD_CHARS: &'static [char] = &['_', '$', '#'];
    // `1.5f` and `1.5d`: BINARY_FLOAT and BINARY_DOUBLE literals.
    const NUMBER_SUFFIXES: &'static [u8] = b"fFdD";
    const BATCH_END: &'static str = "a `/` line";

    fn token<'a>(lx: &mut Lexer<'a>, s: usize) -> Option<Result<Tok<'a>, LexError>> {
        let b = lx.text().as_bytes();
        let c = b[s];
        if c == b'/' {
            if let Some(end) = slash_line(lx, s) {
                lx.i = end;
                return Some(Ok(Tok::BatchEnd));
            }
        }
        let at = |k: usize| b.get(s + k).copied().unwrap_or(0);
        match c {
            b'q' | b'Q' if at(1) == b'\'' => Some(q_quoted(lx, s, s + 1)),
            b'n' | b'N' if matches!(at(1), b'q' | b'Q') && at(2) == b'\'' => {
                Some(q_quoted(lx, s, s + 2))
            }
            b'|' if at(1) == b'|' => {
                lx.i = s + 2;
                Some(Ok(Tok::Concat))
            }
            _ => None,
        }
    }
}

/// A `/` alone on its line: the end of that line.
fn slash_line(lx: &Lexer<'_>, at: usize) -> Option<usize> {
    if !lx.starts_line(at) {
        return None;
    }
    let text = lx.text();
    let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    text[at + 1..end].trim().is_empty().then_some(end)
}

/// `q'X...X'` from `s`, its quote at `quote`: `[`, `{`, `<` and `(` close with
/// their pair, any other character with itself.
fn q_quoted<'a>(lx: &mut Lexer<'a>, s: usize, quote: usize) -> Result<Tok<'a>, LexError> {
    let text = lx.text();
    let Some(open) = text[quote + 1..].chars().next() else {
        return Err(lx.err(s, "a q'...' string starts here and is never closed"));
    };
    if open.is_whitespace() {
        return Err(lx.err(s, "a q'...' string needs a delimiter after q'"));
    }
    let close = match open {
        '[' => ']',
        '{' => '}',
        '<' => '>',
        '(' => ')',
        c => c,
    };
    let body = quote + 1 + open.len_utf8();
    let end = format!("{close}'");
    match text[body..].find(&end) {
        Some(n) => {
            lx.i = body + n + end.len();
            Ok(Tok::Str(text[body..body + n].to_string()))
        }
        None => Err(lx.err(
            s,
            format!("a q'{open}...{close}' string starts here and is never closed: the script is cut short or its closing {close}' is missing"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Tok<'_>> {
        lightning_core::sql_script::tokens::<OracleSql>(text).unwrap()
    }

    #[test]
    fn names_strings_quotes_numbers_and_slash() {
        assert_eq!(
            all("Insert into \"HR\".\"A\"\"B\" values ('it''s', q'[a ' b]', Nq'{x}', N'é', -1.5E+10, 2.5d, .5)||\n  /  \nx/y"),
            vec![
                Tok::Word("Insert"),
                Tok::Word("into"),
                Tok::Name("HR".into()),
                Tok::Punct('.'),
                Tok::Name("A\"B".into()),
                Tok::Word("values"),
                Tok::Punct('('),
                Tok::Str("it's".into()),
                Tok::Punct(','),
                Tok::Str("a ' b".into()),
                Tok::Punct(','),
                Tok::Str("x".into()),
                Tok::Punct(','),
                Tok::Str("é".into()),
                Tok::Punct(','),
                Tok::Punct('-'),
                Tok::Num("1.5E+10"),
                Tok::Punct(','),
                Tok::Num("2.5"),
                Tok::Punct(','),
                Tok::Num(".5"),
                Tok::Punct(')'),
                Tok::Concat,
                Tok::BatchEnd,
                Tok::Word("x"),
                Tok::Punct('/'),
                Tok::Word("y"),
            ]
        );
    }

    #[test]
    fn a_slash_inside_a_string_is_not_an_end_and_lines_are_counted() {
        assert_eq!(all("'a\n/\nb'"), vec![Tok::Str("a\n/\nb".into())]);
        let mut lx = Lexer::new("/* a */\n-- x\n\n\"t\"", 0, 1);
        assert_eq!(lx.next().unwrap(), Tok::Name("t".into()));
        assert_eq!(lx.line(), 4);
        let mut lx = Lexer::new("x\n'open", 0, 1);
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap_err().line, 2);
        let mut lx = Lexer::new("x\n\nq'[open'", 0, 1);
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap_err().line, 3);
    }
}
