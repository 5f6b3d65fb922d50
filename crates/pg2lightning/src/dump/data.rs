//! The rows of a dump: COPY text lines and INSERT value lists, each value turned
//! into PostgreSQL's text form (what COPY would have written for it).

use super::ddl::P;
use super::lexer::{string_value, tokenize, Kind, Tokens};
use super::DumpError;
use crate::model::QualifiedName;

/// `COPY name [(columns)] FROM stdin`.
pub(crate) fn copy_header(
    text: &str,
    standard_strings: bool,
    schema: &str,
) -> Result<(QualifiedName, Option<Vec<String>>), String> {
    let toks = tokenize(text, standard_strings)?;
    let mut p = P::new(text, &toks);
    p.expect("copy")?;
    let table = p.qualified(schema)?;
    let columns = if p.punct_at(p.i, '(') {
        Some(p.ident_list()?)
    } else {
        None
    };
    if !p.eat("from") {
        return Err(format!(
            "expected `FROM stdin` after the table name, found {}",
            p.found()
        ));
    }
    if !p.eat("stdin") {
        return Err(format!(
            "COPY from {} is not data in the dump: only `COPY ... FROM stdin` is supported",
            p.found()
        ));
    }
    if !p.at_end() {
        return Err(format!(
            "COPY options ({}) are not supported: pg_dump writes plain `COPY ... FROM stdin`",
            p.rest()
        ));
    }
    Ok((table, columns))
}

/// `INSERT INTO name [(columns)] [OVERRIDING ... VALUE] VALUES`.
pub(crate) struct InsertHeader {
    pub(crate) table: QualifiedName,
    pub(crate) columns: Option<Vec<String>>,
    /// Where the value lists start in the statement.
    pub(crate) body: usize,
    /// `INSERT INTO t DEFAULT VALUES` (pg_dump's form for a table without columns).
    pub(crate) default_values: bool,
}

pub(crate) fn insert_header(
    text: &str,
    standard_strings: bool,
    schema: &str,
) -> Result<InsertHeader, String> {
    // Only the header is tokenized here: the values may be long.
    let mut tokens = Tokens::new(text, standard_strings);
    let mut head = Vec::new();
    loop {
        let t = tokens
            .next_token()?
            .ok_or("an INSERT without VALUES: only `INSERT ... VALUES (...)` is supported")?;
        head.push(t);
        if t.kind == Kind::Word && t.text(text).eq_ignore_ascii_case("values") {
            break;
        }
    }
    let default_values = head.len() >= 2
        && head[head.len() - 2].kind == Kind::Word
        && head[head.len() - 2]
            .text(text)
            .eq_ignore_ascii_case("default");
    if default_values {
        head.pop();
        head.pop();
    }
    let mut p = P::new(text, &head);
    p.expect("insert")?;
    p.expect("into")?;
    let table = p.qualified(schema)?;
    let columns = if p.punct_at(p.i, '(') {
        Some(p.ident_list()?)
    } else {
        None
    };
    if p.eat("overriding") && (!(p.eat("system") || p.eat("user")) || !p.eat("value")) {
        return Err(format!("unexpected {} in OVERRIDING ... VALUE", p.found()));
    }
    if default_values {
        if !p.at_end() {
            return Err(format!("unexpected {} before DEFAULT VALUES", p.found()));
        }
        if tokens.next_token()?.is_some() {
            return Err("unexpected text after DEFAULT VALUES".into());
        }
    } else {
        p.expect("values")?;
    }
    Ok(InsertHeader {
        table,
        columns,
        body: tokens.pos,
        default_values,
    })
}

/// Walks the value lists of one INSERT statement.
#[derive(Debug)]
pub(crate) struct RowCursor {
    /// One row without values (DEFAULT VALUES) is still to come.
    empty_row: bool,
    pos: usize,
    line: u64,
    counted: usize,
    started: bool,
    done: bool,
}

impl RowCursor {
    /// For the statement of `header`, whose first line is `line`.
    pub(crate) fn new(header: &InsertHeader, line: u64) -> Self {
        RowCursor {
            empty_row: header.default_values,
            done: header.default_values,
            pos: header.body,
            line,
            counted: 0,
            started: false,
        }
    }

    /// The line of byte `pos` of the statement (`pos` only grows).
    fn line_at(&mut self, text: &str, pos: usize) -> u64 {
        let pos = pos.max(self.counted);
        self.line += text.as_bytes()[self.counted..pos]
            .iter()
            .filter(|&&c| c == b'\n')
            .count() as u64;
        self.counted = pos;
        self.line
    }

    /// The next value list into `fields` (None = NULL), with the positions of
    /// `DEFAULT` values in `defaults`; returns its line, or None after the last.
    pub(crate) fn next_row(
        &mut self,
        text: &str,
        standard_strings: bool,
        fields: &mut Vec<Option<String>>,
        defaults: &mut Vec<usize>,
    ) -> Result<Option<u64>, DumpError> {
        fields.clear();
        defaults.clear();
        if self.empty_row {
            self.empty_row = false;
            return Ok(Some(self.line));
        }
        if self.done {
            return Ok(None);
        }
        let mut t = Tokens::at(text, self.pos, standard_strings);
        let fail = |me: &mut Self, pos: usize, m: String| DumpError::new(me.line_at(text, pos), m);
        let first = t.next_token().map_err(|m| fail(self, t.pos, m))?;
        let open = if self.started {
            match first {
                Some(tok) if tok.text(text) == "," => {
                    t.next_token().map_err(|m| fail(self, t.pos, m))?
                }
                // The end, or pg_dump --on-conflict-do-nothing's ON CONFLICT DO NOTHING.
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(tok) if tok.text(text).eq_ignore_ascii_case("on") => {
                    self.done = true;
                    return Ok(None);
                }
                Some(tok) => {
                    let m = format!("unexpected `{}` after a list of values", tok.text(text));
                    return Err(fail(self, tok.start, m));
                }
            }
        } else {
            first
        };
        let open = match open {
            Some(tok) if tok.text(text) == "(" => tok,
            Some(tok) => {
                let m = format!(
                    "expected `(` to open a list of values, found `{}`",
                    tok.text(text)
                );
                return Err(fail(self, tok.start, m));
            }
            None => return Err(fail(self, t.pos, "an INSERT without values".into())),
        };
        self.started = true;
        let line = self.line_at(text, open.start);
        loop {
            value(&mut t, text, standard_strings, fields, defaults)
                .map_err(|m| DumpError::new(line, m))?;
            let sep = t.next_token().map_err(|m| DumpError::new(line, m))?;
            match sep.map(|s| s.text(text)) {
                Some(",") => {}
                Some(")") => break,
                other => {
                    let found =
                        other.map_or("the end of the statement".into(), |s| format!("`{s}`"));
                    return Err(DumpError::new(
                        line,
                        format!("expected `,` or `)` after a value, found {found}"),
                    ));
                }
            }
        }
        self.pos = t.pos;
        Ok(Some(line))
    }
}

/// One value of a value list, as COPY's text form.
fn value(
    t: &mut Tokens,
    text: &str,
    standard_strings: bool,
    fields: &mut Vec<Option<String>>,
    defaults: &mut Vec<usize>,
) -> Result<(), String> {
    let tok = t
        .next_token()?
        .ok_or("the statement ends inside a list of values")?;
    let s = tok.text(text);
    let v = match tok.kind {
        Kind::Word if s.eq_ignore_ascii_case("null") => None,
        Kind::Word if s.eq_ignore_ascii_case("true") => Some("t".to_string()),
        Kind::Word if s.eq_ignore_ascii_case("false") => Some("f".to_string()),
        Kind::Word if s.eq_ignore_ascii_case("default") => {
            defaults.push(fields.len());
            None
        }
        Kind::Str => Some(string_value(s, standard_strings)?),
        Kind::Number => Some(s.to_string()),
        Kind::Op if s == "-" || s == "+" => match t.next_token()? {
            Some(n) if n.kind == Kind::Number => Some(if s == "-" {
                format!("-{}", n.text(text))
            } else {
                n.text(text).to_string()
            }),
            _ => return Err(unsupported(s)),
        },
        _ => return Err(unsupported(s)),
    };
    skip_casts(t, text)?;
    fields.push(v);
    Ok(())
}

fn unsupported(s: &str) -> String {
    let shown: String = s.chars().take(40).collect();
    format!(
        "unsupported value expression `{shown}`: only constants (NULL, numbers, true/false, \
         'strings', optionally with ::casts) are read from INSERTs; dump the data with COPY \
         (pg_dump without --inserts)"
    )
}

/// Skip `::type` casts after a value: up to the `,` or `)` that ends it.
fn skip_casts(t: &mut Tokens, text: &str) -> Result<(), String> {
    loop {
        let mut peek = *t;
        match peek.next_token()? {
            Some(tok) if tok.kind == Kind::Op && tok.text(text) == "::" => *t = peek,
            _ => return Ok(()),
        }
        let mut depth = 0u32;
        let mut any = false;
        loop {
            let mut peek = *t;
            let Some(tok) = peek.next_token()? else { break };
            let s = tok.text(text);
            if depth == 0 && (s == "," || s == ")" || (tok.kind == Kind::Op && s == "::")) {
                break;
            }
            if tok.kind == Kind::Punct && (s == "(" || s == "[") {
                depth += 1;
            } else if tok.kind == Kind::Punct && (s == ")" || s == "]") {
                depth = depth.saturating_sub(1);
            }
            any = true;
            *t = peek;
        }
        if !any {
            return Err("a `::` cast without a type".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    /// A row's line, values and DEFAULT positions.
    type Row = (u64, Vec<Option<String>>, Vec<usize>);

    fn rows(stmt: &str, standard_strings: bool) -> Result<Vec<Row>, DumpError> {
        let header =
            insert_header(stmt, standard_strings, "public").map_err(|m| DumpError::new(0, m))?;
        let mut cursor = RowCursor::new(&header, 10);
        let mut out = Vec::new();
        let (mut fields, mut defaults) = (Vec::new(), Vec::new());
        while let Some(line) =
            cursor.next_row(stmt, standard_strings, &mut fields, &mut defaults)?
        {
            out.push((line, fields.clone(), defaults.clone()));
        }
        Ok(out)
    }

    #[test]
    fn insert_values_become_copy_text() {
        let stmt = "INSERT INTO public.t (a, \"B\") OVERRIDING SYSTEM VALUE VALUES\n\t(1, 'it''s', NULL, -5, \
                    -1.5e-3, true, false, 'NaN'::double precision, '{1,2}'::numeric(5,2)[], E'x\\ny', B'101', DEFAULT),\n\
                    \t(+2, '', 'a\\b', '-Infinity', 'x'::text::varchar(3), 'multi\nline', NULL, 0, 1, 2, 3, 4) \
                    ON CONFLICT DO NOTHING";
        let header = insert_header(stmt, true, "public").unwrap();
        assert_eq!(header.table, QualifiedName::new("public", "t"));
        assert_eq!(header.columns, Some(vec!["a".to_string(), "B".to_string()]));
        let got = rows(stmt, true).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 11);
        assert_eq!(
            got[0].1,
            [
                s("1"),
                s("it's"),
                None,
                s("-5"),
                s("-1.5e-3"),
                s("t"),
                s("f"),
                s("NaN"),
                s("{1,2}"),
                s("x\ny"),
                s("101"),
                None
            ]
        );
        assert_eq!(got[0].2, [11]);
        assert_eq!(got[1].0, 12);
        assert_eq!(
            got[1].1[..6],
            [
                s("2"),
                s(""),
                s("a\\b"),
                s("-Infinity"),
                s("x"),
                s("multi\nline")
            ]
        );
        assert!(got[1].2.is_empty());
    }

    #[test]
    fn insert_with_backslash_strings() {
        let got = rows("INSERT INTO t VALUES ('it\\'s', 'a\\\\b', 'tab\\t')", false).unwrap();
        assert_eq!(got[0].1, [s("it's"), s("a\\b"), s("tab\t")]);
    }

    #[test]
    fn insert_errors_name_the_row_line() {
        let err = rows("INSERT INTO t VALUES\n\t(1),\n\t(now())", true).unwrap_err();
        assert_eq!(err.line, 12);
        assert!(
            err.message.contains("unsupported value expression `now`"),
            "{err}"
        );
        let err = rows("INSERT INTO t VALUES (1) (2)", true).unwrap_err();
        assert!(err.message.contains("after a list of values"), "{err}");
        assert!(insert_header("INSERT INTO t SELECT 1", true, "public").is_err());
    }

    #[test]
    fn insert_default_values() {
        let got = rows("INSERT INTO public.e DEFAULT VALUES", true).unwrap();
        assert_eq!(got, [(10, vec![], vec![])]);
    }

    #[test]
    fn copy_headers() {
        let (t, cols) = copy_header(
            "COPY public.\"My T\" (a, \"B c\") FROM stdin",
            true,
            "public",
        )
        .unwrap();
        assert_eq!(t, QualifiedName::new("public", "My T"));
        assert_eq!(cols.unwrap(), ["a", "B c"]);
        let (t, cols) = copy_header("COPY t  FROM stdin", true, "s").unwrap();
        assert_eq!(t, QualifiedName::new("s", "t"));
        assert!(cols.is_none());
        assert!(copy_header("COPY t FROM '/tmp/x'", true, "public").is_err());
        assert!(copy_header("COPY t FROM stdin WITH (FORMAT csv)", true, "public").is_err());
    }
}
