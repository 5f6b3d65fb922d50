//! SQL*Loader control files: `LOAD DATA INFILE ... INTO TABLE t FIELDS TERMINATED
//! BY ',' OPTIONALLY ENCLOSED BY '"' TRAILING NULLCOLS (col, col DATE "mask", ...)`.

use std::path::{Path, PathBuf};

use crate::model::{OraColumn, OraTable, QualifiedName};
use crate::script::ddl::{self, syntax};
use crate::script::lex::{Lexer, Tok};
use crate::script::mask::{self, Mask};
use crate::script::ScriptError;

/// How a field of the data file is read.
#[derive(Debug, Clone)]
pub enum FieldKind {
    /// `CHAR[(n)]`, or no type: text.
    Char(Option<u32>),
    /// `INTEGER EXTERNAL`, `DECIMAL EXTERNAL`, `FLOAT EXTERNAL`: a number as text.
    Number { integer: bool },
    /// `DATE "mask"` or `TIMESTAMP [WITH [LOCAL] TIME ZONE] "mask"`.
    Stamp { mask: Mask, ty: &'static str },
    /// `FILLER`: read and dropped.
    Filler,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The column as Oracle stores its name.
    pub name: String,
    pub kind: FieldKind,
    /// `NULLIF col = BLANKS`: a field of spaces is NULL.
    pub blanks_null: bool,
}

/// One control file: its table, data files and fields.
#[derive(Debug, Clone)]
pub struct Control {
    pub path: PathBuf,
    pub table: QualifiedName,
    pub files: Vec<PathBuf>,
    pub delimiter: u8,
    pub quote: Option<u8>,
    pub trailing_nullcols: bool,
    /// `OPTIONS (SKIP=n)`: records of the first file passed over (a header).
    pub skip: u64,
    pub fields: Vec<Field>,
}

impl Control {
    /// The table as the control file's field types describe it, when no DDL is
    /// given: no key, every column nullable.
    pub fn table(&self) -> OraTable {
        OraTable {
            name: Some(self.table.clone()),
            columns: self
                .fields
                .iter()
                .filter_map(|f| {
                    let ty = match &f.kind {
                        FieldKind::Filler => return None,
                        FieldKind::Char(n) => format!("varchar2({})", n.unwrap_or(4000)),
                        FieldKind::Number { integer: true } => "number(38,0)".into(),
                        FieldKind::Number { integer: false } => "number".into(),
                        FieldKind::Stamp { ty, .. } => (*ty).to_string(),
                    };
                    Some(OraColumn {
                        name: f.name.clone(),
                        ty,
                        nullable: true,
                        ..OraColumn::default()
                    })
                })
                .collect(),
            ..OraTable::default()
        }
    }
}

fn refuse(lx: &mut Lexer<'_>, what: &str) -> ScriptError {
    syntax(
        lx,
        format!("{what} is not read: only delimited fields of a data file are"),
    )
}

/// One character given as `','`, `"|"` or `X'09'`.
fn character(lx: &mut Lexer<'_>) -> Result<u8, ScriptError> {
    let t = lx.next()?;
    let text = match &t {
        Tok::Str(s) | Tok::Name(s) => s.clone(),
        Tok::Word(w) if w.eq_ignore_ascii_case("X") || w.eq_ignore_ascii_case("WHITESPACE") => {
            if w.eq_ignore_ascii_case("WHITESPACE") {
                return Err(refuse(lx, "TERMINATED BY WHITESPACE"));
            }
            match lx.next()? {
                Tok::Str(h) => {
                    return u8::from_str_radix(&h, 16)
                        .map_err(|_| syntax(lx, format!("X'{h}' is not one byte")))
                }
                _ => return Err(syntax(lx, "expected a hexadecimal string after X")),
            }
        }
        _ => String::new(),
    };
    match text.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(syntax(
            lx,
            format!("expected one character, found {}", ddl::describe(&t)),
        )),
    }
}

/// A file name after INFILE: quoted, or bare to the next space.
fn file_name(lx: &mut Lexer<'_>) -> Result<String, ScriptError> {
    let rest = &lx.text()[lx.i..];
    let trimmed = rest.trim_start();
    if trimmed.starts_with(['\'', '"']) {
        return match lx.next()? {
            Tok::Str(s) | Tok::Name(s) => Ok(s),
            other => Err(syntax(
                lx,
                format!("expected a file name, found {}", ddl::describe(&other)),
            )),
        };
    }
    let start = lx.i + (rest.len() - trimmed.len());
    let len = trimmed
        .find(|c: char| c.is_whitespace())
        .unwrap_or(trimmed.len());
    let name = trimmed[..len].to_string();
    if name.is_empty() || name == "*" {
        lx.next()?;
        return Err(refuse(lx, "INFILE * (data inside the control file)"));
    }
    lx.i = start + len;
    Ok(name)
}

fn field(lx: &mut Lexer<'_>) -> Result<Field, ScriptError> {
    let name = ddl::ident(lx)?;
    let mut f = Field {
        name,
        kind: FieldKind::Char(None),
        blanks_null: false,
    };
    loop {
        match lx.peek()?.clone() {
            Tok::Punct(',' | ')') => return Ok(f),
            Tok::Eof => return Err(syntax(lx, "the field list ends before its `)`")),
            Tok::Name(_) => {
                lx.next()?;
                return Err(refuse(
                    lx,
                    format!("the SQL expression of field {}", f.name).as_str(),
                ));
            }
            _ => {}
        }
        let Tok::Word(w) = lx.next()? else {
            return Err(syntax(lx, format!("unexpected text in field {}", f.name)));
        };
        match w.to_ascii_uppercase().as_str() {
            "FILLER" | "BOUNDFILLER" => f.kind = FieldKind::Filler,
            "CHAR" | "VARCHARC" => {
                let mut n = None;
                if *lx.peek()? == Tok::Punct('(') {
                    let p = ddl::balanced(lx)?;
                    n = p.trim_matches(['(', ')', ' ']).parse().ok();
                }
                f.kind = FieldKind::Char(n);
            }
            "INTEGER" | "DECIMAL" | "FLOAT" | "ZONED" => {
                if !lx.eat_word("EXTERNAL")? {
                    return Err(refuse(lx, &format!("the binary field type {w}")));
                }
                if *lx.peek()? == Tok::Punct('(') {
                    ddl::balanced(lx)?;
                }
                f.kind = FieldKind::Number {
                    integer: w.eq_ignore_ascii_case("INTEGER"),
                };
            }
            "DATE" | "TIMESTAMP" => {
                if *lx.peek()? == Tok::Punct('(') {
                    ddl::balanced(lx)?;
                }
                let mut ty = if w.eq_ignore_ascii_case("DATE") {
                    "date"
                } else {
                    "timestamp(9)"
                };
                if lx.eat_word("WITH")? {
                    let local = lx.eat_word("LOCAL")?;
                    lx.eat_word("TIME")?;
                    lx.eat_word("ZONE")?;
                    ty = if local {
                        "timestamp with local time zone(9)"
                    } else {
                        "timestamp with time zone(9)"
                    };
                }
                let mask = match lx.peek()?.clone() {
                    Tok::Name(m) | Tok::Str(m) => {
                        lx.next()?;
                        Mask::parse(&m).map_err(|e| syntax(lx, format!("field {}: {e}", f.name)))?
                    }
                    _ => mask::iso(),
                };
                f.kind = FieldKind::Stamp { mask, ty };
            }
            "NULLIF" => {
                // NULLIF col = BLANKS, or NULLIF col=BLANKS
                ddl::ident(lx)?;
                lx.eat_punct('=')?;
                if !lx.eat_word("BLANKS")? {
                    return Err(refuse(lx, "a NULLIF other than `= BLANKS`"));
                }
                f.blanks_null = true;
            }
            "TERMINATED" | "ENCLOSED" | "OPTIONALLY" | "POSITION" | "CONSTANT" | "SEQUENCE"
            | "RECNUM" | "SYSDATE" | "EXPRESSION" | "DEFAULTIF" | "LOBFILE" => {
                return Err(refuse(
                    lx,
                    &format!("{} in field {}", w.to_ascii_uppercase(), f.name),
                ))
            }
            other => {
                return Err(syntax(
                    lx,
                    format!("field {}: unexpected `{other}`", f.name),
                ))
            }
        }
    }
}

/// Read a control file; its data files are named relative to it.
pub fn parse(path: &Path, text: &str) -> Result<Control, ScriptError> {
    let mut lx = Lexer::new(text, 0, 1);
    let base = path.parent().unwrap_or(Path::new("."));
    let mut c = Control {
        path: path.to_path_buf(),
        table: QualifiedName {
            owner: None,
            name: String::new(),
        },
        files: Vec::new(),
        delimiter: b',',
        quote: None,
        trailing_nullcols: false,
        skip: 0,
        fields: Vec::new(),
    };
    let mut table = false;
    loop {
        let t = lx.next()?;
        let Tok::Word(w) = t else {
            return Err(syntax(
                &mut lx,
                format!("unexpected {} in the control file", ddl::describe(&t)),
            ));
        };
        match w.to_ascii_uppercase().as_str() {
            "OPTIONS" => {
                let o = ddl::balanced(&mut lx)?
                    .to_ascii_uppercase()
                    .replace(' ', "");
                if let Some(n) = o.split("SKIP=").nth(1) {
                    let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
                    c.skip = digits.parse().unwrap_or(0);
                }
            }
            "LOAD" | "DATA" | "APPEND" | "REPLACE" | "TRUNCATE" | "INSERT" | "UNRECOVERABLE"
            | "RECOVERABLE" => {}
            "CHARACTERSET" => {
                let cs = ddl::ident(&mut lx)?;
                if !matches!(cs.as_str(), "AL32UTF8" | "UTF8" | "US7ASCII") {
                    return Err(syntax(
                        &mut lx,
                        format!("CHARACTERSET {cs}: only UTF-8 data files are read (AL32UTF8)"),
                    ));
                }
            }
            "INFILE" => {
                let name = file_name(&mut lx)?;
                c.files.push(base.join(name));
                if let Tok::Name(s) = lx.peek()?.clone() {
                    if !s.trim().to_ascii_lowercase().starts_with("str") {
                        lx.next()?;
                        return Err(refuse(&mut lx, &format!("the record format \"{s}\"")));
                    }
                    lx.next()?;
                }
            }
            "BADFILE" | "DISCARDFILE" => {
                file_name(&mut lx)?;
            }
            "DISCARDMAX" | "DISCARDS" => {
                lx.next()?;
            }
            "BEGINDATA" => return Err(refuse(&mut lx, "BEGINDATA (data inside the control file)")),
            "INTO" => {
                if table {
                    return Err(syntax(
                        &mut lx,
                        "a second INTO TABLE: give one control file per table (--control for each)",
                    ));
                }
                if !lx.eat_word("TABLE")? {
                    return Err(syntax(&mut lx, "expected TABLE after INTO"));
                }
                c.table = ddl::qualified(&mut lx)?;
                table = true;
            }
            "WHEN" => return Err(refuse(&mut lx, "WHEN")),
            "FIELDS" => {
                if lx.eat_word("TERMINATED")? {
                    lx.eat_word("BY")?;
                    c.delimiter = character(&mut lx)?;
                }
                let optionally = lx.eat_word("OPTIONALLY")?;
                let enclosed = lx.eat_word("ENCLOSED")?;
                if optionally || enclosed {
                    lx.eat_word("BY")?;
                    let q = character(&mut lx)?;
                    if lx.eat_word("AND")? && character(&mut lx)? != q {
                        return Err(refuse(&mut lx, "a closing quote unlike the opening one"));
                    }
                    c.quote = Some(q);
                }
            }
            "TRAILING" => {
                lx.eat_word("NULLCOLS")?;
                c.trailing_nullcols = true;
            }
            _ if w.eq_ignore_ascii_case("PRESERVE") => {
                lx.eat_word("BLANKS")?;
            }
            other => {
                return Err(syntax(
                    &mut lx,
                    format!("unexpected `{other}` in the control file"),
                ))
            }
        }
        if table && *lx.peek()? == Tok::Punct('(') {
            lx.next()?;
            loop {
                c.fields.push(field(&mut lx)?);
                if !lx.eat_punct(',')? {
                    break;
                }
            }
            if !lx.eat_punct(')')? {
                let t = lx.next()?;
                return Err(syntax(
                    &mut lx,
                    format!(
                        "expected `,` or `)` in the field list, found {}",
                        ddl::describe(&t)
                    ),
                ));
            }
            if !matches!(lx.peek()?, Tok::Eof) {
                let t = lx.next()?;
                return Err(syntax(
                    &mut lx,
                    format!(
                        "unexpected {} after the field list (a second INTO TABLE: give one control file per table)",
                        ddl::describe(&t)
                    ),
                ));
            }
            break;
        }
        if *lx.peek()? == Tok::Eof {
            return Err(syntax(
                &mut lx,
                "the control file ends before its field list",
            ));
        }
    }
    if c.files.is_empty() {
        return Err(syntax(&mut lx, "the control file names no INFILE"));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_file_is_read() {
        let c = parse(
            Path::new("/x/emp.ctl"),
            "OPTIONS (SKIP=1, ERRORS=0)\nLOAD DATA\nCHARACTERSET AL32UTF8\nINFILE 'emp.csv'\nINFILE emp2.dat \"str '\\n'\"\nBADFILE 'emp.bad'\nAPPEND\nINTO TABLE \"HR\".\"EMP\"\nFIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"'\nTRAILING NULLCOLS\n(\n  ID INTEGER EXTERNAL,\n  NAME CHAR(4000) NULLIF NAME=BLANKS,\n  JUNK FILLER,\n  HIRED DATE \"DD-MON-RR\",\n  AT TIMESTAMP WITH TIME ZONE \"YYYY-MM-DD HH24:MI:SS.FF TZH:TZM\"\n)\n",
        )
        .unwrap();
        assert_eq!(c.table.name, "EMP");
        assert_eq!(
            c.files,
            [PathBuf::from("/x/emp.csv"), PathBuf::from("/x/emp2.dat")]
        );
        assert_eq!(
            (c.delimiter, c.quote, c.trailing_nullcols, c.skip),
            (b',', Some(b'"'), true, 1)
        );
        assert_eq!(c.fields.len(), 5);
        let t = c.table();
        let types: Vec<&str> = t.columns.iter().map(|c| c.ty.as_str()).collect();
        assert_eq!(
            types,
            [
                "number(38,0)",
                "varchar2(4000)",
                "date",
                "timestamp with time zone(9)"
            ]
        );
        let e = parse(
            Path::new("a.ctl"),
            "LOAD DATA\nINFILE 'a'\nINTO TABLE T\nWHEN (1) = 'x'\n(A)",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("line 4: WHEN is not read"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn damaged_control_files_never_panic(cut in 0usize..400, at in 0usize..400, with in proptest::prelude::any::<char>()) {
            let good = "OPTIONS (SKIP=1)\nLOAD DATA\nINFILE 'a.csv'\nINTO TABLE T\nFIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"'\nTRAILING NULLCOLS\n(A, B DATE \"DD-MON-RR\", C FILLER, D CHAR(10) NULLIF D=BLANKS)\n";
            let mut text: String = good.chars().take(cut.max(1)).collect();
            if let Some((i, _)) = text.char_indices().nth(at % text.chars().count().max(1)) {
                text.insert(i, with);
            }
            let _ = parse(Path::new("x.ctl"), &text);
        }
    }
}
