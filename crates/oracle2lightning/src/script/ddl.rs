//! `CREATE TABLE`, `ALTER TABLE ... ADD|MODIFY` and `CREATE INDEX` as
//! `DBMS_METADATA.GET_DDL` and SQL Developer write them, read into the model.
//! Storage clauses (`SEGMENT CREATION`, `PCTFREE`, `STORAGE (...)`, `TABLESPACE`,
//! `LOB (...) STORE AS`, `USING INDEX ...`, `ENABLE`) carry nothing and are passed over.

use lightning_core::schema::{ForeignKey, IndexKind, IndexSchema};
use lightning_core::sql_script::Dialect;

use super::lex::{Lexer, OracleSql, Tok};
use super::ScriptError;
use crate::model::{lightning_ident, OraColumn, OraTable, QualifiedName};

type Parsed<T> = Result<T, ScriptError>;

pub fn syntax(lx: &mut Lexer<'_>, message: impl Into<String>) -> ScriptError {
    ScriptError::Syntax {
        line: lx.line(),
        message: message.into(),
    }
}

pub fn describe(t: &Tok<'_>) -> String {
    OracleSql::describe(t)
}

/// A name part as Oracle stores it: an unquoted word folded to upper case.
pub fn ident(lx: &mut Lexer<'_>) -> Parsed<String> {
    match lx.next()? {
        Tok::Word(w) => Ok(w.to_uppercase()),
        Tok::Name(n) => Ok(n),
        other => Err(syntax(
            lx,
            format!("expected a name, found {}", describe(&other)),
        )),
    }
}

/// `name` or `owner.name` (a `@dblink` is not read).
pub fn qualified(lx: &mut Lexer<'_>) -> Parsed<QualifiedName> {
    let mut parts = vec![ident(lx)?];
    while lx.eat_punct('.')? {
        parts.push(ident(lx)?);
    }
    let name = parts.pop().unwrap_or_default();
    Ok(QualifiedName {
        owner: parts.pop(),
        name,
    })
}

/// The text of a parenthesised expression, `(` included, read to its `)`.
pub fn balanced(lx: &mut Lexer<'_>) -> Parsed<String> {
    let t = lx.next()?;
    if t != Tok::Punct('(') {
        return Err(syntax(lx, format!("expected `(`, found {}", describe(&t))));
    }
    let start = lx.start;
    let mut depth = 1;
    while depth > 0 {
        match lx.next()? {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Eof | Tok::BatchEnd | Tok::Punct(';') => {
                return Err(syntax(lx, "a `(` is never closed"))
            }
            _ => {}
        }
    }
    Ok(lx.text()[start..lx.i].to_string())
}

/// Pass over what carries nothing up to the next `,` or `)` of the enclosing list.
fn skip_to_list_end(lx: &mut Lexer<'_>) -> Parsed<()> {
    loop {
        match lx.peek()? {
            Tok::Punct(',' | ')') => return Ok(()),
            Tok::Punct('(') => {
                balanced(lx)?;
            }
            Tok::Eof | Tok::BatchEnd | Tok::Punct(';') => {
                lx.next()?;
                return Err(syntax(lx, "the CREATE TABLE ends before its `)`"));
            }
            _ => {
                lx.next()?;
            }
        }
    }
}

/// A column list `(a [ASC], b DESC)`: names, or `None` at an expression (a
/// function-based index).
fn column_list(lx: &mut Lexer<'_>) -> Parsed<Option<Vec<String>>> {
    if !lx.eat_punct('(')? {
        let t = lx.next()?;
        return Err(syntax(
            lx,
            format!("expected a column list, found {}", describe(&t)),
        ));
    }
    let mut out = Some(Vec::new());
    loop {
        let name = match lx.peek()? {
            Tok::Word(_) | Tok::Name(_) => Some(ident(lx)?),
            _ => None,
        };
        let _ = lx.eat_word("ASC")? || lx.eat_word("DESC")?;
        if name.is_none() || !matches!(lx.peek()?, Tok::Punct(',' | ')')) {
            out = None;
            skip_to_list_end(lx)?;
        }
        if let (Some(cols), Some(n)) = (out.as_mut(), name) {
            cols.push(n);
        }
        match lx.next()? {
            Tok::Punct(',') => {}
            Tok::Punct(')') => return Ok(out),
            other => {
                return Err(syntax(
                    lx,
                    format!(
                        "expected `,` or `)` in a column list, found {}",
                        describe(&other)
                    ),
                ))
            }
        }
    }
}

fn names(lx: &mut Lexer<'_>) -> Parsed<Vec<String>> {
    column_list(lx)?.ok_or_else(|| syntax(lx, "expected column names in a key's list"))
}

/// A table constraint after its optional `CONSTRAINT name`.
fn table_constraint(lx: &mut Lexer<'_>, t: &mut OraTable, name: Option<String>) -> Parsed<()> {
    if lx.eat_word("PRIMARY")? {
        if !lx.eat_word("KEY")? {
            return Err(syntax(lx, "expected KEY after PRIMARY"));
        }
        t.primary_key = names(lx)?;
    } else if lx.eat_word("UNIQUE")? {
        let cols = names(lx)?;
        t.uniques.push((name, cols));
    } else if lx.eat_word("FOREIGN")? {
        if !lx.eat_word("KEY")? {
            return Err(syntax(lx, "expected KEY after FOREIGN"));
        }
        let cols = names(lx)?;
        references(lx, t, name, cols)?;
    } else if lx.eat_word("CHECK")? {
        let e = balanced(lx)?;
        t.checks.push((name, e));
    } else if lx.eat_word("SUPPLEMENTAL")? {
        // SUPPLEMENTAL LOG DATA (...) COLUMNS: replication settings.
    } else {
        let found = lx.next()?;
        return Err(syntax(
            lx,
            format!(
                "expected PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK, found {}",
                describe(&found)
            ),
        ));
    }
    Ok(())
}

/// `REFERENCES t [(cols)] [ON DELETE CASCADE | SET NULL]`.
fn references(
    lx: &mut Lexer<'_>,
    t: &mut OraTable,
    name: Option<String>,
    columns: Vec<String>,
) -> Parsed<()> {
    if !lx.eat_word("REFERENCES")? {
        return Err(syntax(lx, "expected REFERENCES"));
    }
    let target = qualified(lx)?;
    let ref_columns = if *lx.peek()? == Tok::Punct('(') {
        names(lx)?
    } else {
        Vec::new()
    };
    let mut on_delete = None;
    if matches!(lx.peek()?, Tok::Word(w) if w.eq_ignore_ascii_case("ON")) {
        lx.next()?;
        lx.eat_word("DELETE")?;
        if lx.eat_word("CASCADE")? {
            on_delete = Some("CASCADE".to_string());
        } else if lx.eat_word("SET")? {
            lx.eat_word("NULL")?;
            on_delete = Some("SET NULL".to_string());
        }
    }
    let fk = ForeignKey {
        name,
        columns,
        ref_table: lightning_ident(&target.name),
        ref_columns,
        on_delete,
        on_update: None,
    };
    t.foreign_keys.push((fk, target));
    Ok(())
}

/// A `DEFAULT` expression: the tokens up to the column's next constraint, `,` or `)`.
fn default_expr(lx: &mut Lexer<'_>) -> Parsed<String> {
    lx.eat_word("ON")?
        .then(|| lx.eat_word("NULL"))
        .transpose()?;
    let start = {
        lx.peek()?;
        lx.i
    };
    let mut first = true;
    loop {
        match lx.peek()? {
            Tok::Punct(',' | ')') | Tok::Eof | Tok::BatchEnd | Tok::Punct(';') => break,
            Tok::Word(w)
                if !first
                    && [
                        "NOT",
                        "NULL",
                        "CONSTRAINT",
                        "PRIMARY",
                        "UNIQUE",
                        "CHECK",
                        "REFERENCES",
                        "ENABLE",
                        "DISABLE",
                        "COLLATE",
                    ]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                break
            }
            Tok::Punct('(') => {
                balanced(lx)?;
            }
            _ => {
                lx.next()?;
            }
        }
        first = false;
    }
    Ok(lx.text()[start..lx.i].trim().to_string())
}

/// Words that continue a type's name: `LONG RAW`, `DOUBLE PRECISION`,
/// `TIMESTAMP WITH LOCAL TIME ZONE`, `INTERVAL DAY TO SECOND`, `CHAR VARYING`.
const TYPE_WORDS: &[&str] = &[
    "raw",
    "precision",
    "with",
    "local",
    "time",
    "zone",
    "year",
    "month",
    "day",
    "second",
    "to",
    "varying",
    "char",
    "character",
];

/// The declared type, normalised (see `OraColumn::ty`).
fn column_type(lx: &mut Lexer<'_>) -> Parsed<String> {
    let q = qualified(lx)?;
    let mut words = vec![q.name.to_lowercase()];
    let mut params: Vec<String> = Vec::new();
    loop {
        if *lx.peek()? == Tok::Punct('(') {
            let p = balanced(lx)?;
            let parts: Vec<&str> = p[1..p.len() - 1].split(',').collect();
            // NUMBER(*) is NUMBER; NUMBER(*,s) has 38 digits.
            if parts.len() == 1 && parts[0].trim() == "*" {
                continue;
            }
            for part in parts {
                // `100 CHAR`, `100 BYTE`: the length is not enforced, its unit does not matter.
                let v = part.split_whitespace().next().unwrap_or("").to_string();
                params.push(if v == "*" { "38".into() } else { v });
            }
            continue;
        }
        let more = matches!(lx.peek()?, Tok::Word(w) if TYPE_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)))
            && matches!(
                words[0].as_str(),
                "long"
                    | "double"
                    | "timestamp"
                    | "interval"
                    | "char"
                    | "character"
                    | "national"
                    | "nchar"
            );
        if !more {
            break;
        }
        if let Tok::Word(w) = lx.next()? {
            words.push(w.to_lowercase());
        }
    }
    let mut ty = words.join(" ");
    match ty.as_str() {
        "timestamp" | "timestamp with time zone" | "timestamp with local time zone"
            if params.is_empty() =>
        {
            params.push("6".into())
        }
        "interval day to second" => {
            params.resize(2, String::new());
            for (p, d) in params.iter_mut().zip(["2", "6"]) {
                if p.is_empty() {
                    *p = d.into();
                }
            }
        }
        "interval year to month" if params.is_empty() => params.push("2".into()),
        _ => {}
    }
    if !params.is_empty() {
        ty = format!("{ty}({})", params.join(","));
    }
    Ok(ty)
}

/// Whether the next token starts a table constraint rather than a column.
fn at_table_constraint(lx: &mut Lexer<'_>) -> Parsed<bool> {
    Ok(
        matches!(lx.peek()?, Tok::Word(w) if ["CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "SUPPLEMENTAL"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))),
    )
}

fn column(lx: &mut Lexer<'_>, t: &mut OraTable) -> Parsed<()> {
    let mut c = OraColumn {
        name: ident(lx)?,
        nullable: true,
        ..OraColumn::default()
    };
    if lx.eat_word("AS")? {
        c.computed = Some(balanced(lx)?);
    } else {
        c.ty = column_type(lx)?;
    }
    loop {
        match lx.peek()?.clone() {
            Tok::Punct(',' | ')') => break,
            Tok::Eof | Tok::BatchEnd | Tok::Punct(';') => {
                lx.next()?;
                return Err(syntax(lx, "the CREATE TABLE ends before its `)`"));
            }
            _ => {}
        }
        if lx.eat_word("NOT")? {
            if lx.eat_word("NULL")? {
                c.nullable = false;
            }
        } else if lx.eat_word("NULL")? {
            c.nullable = true;
        } else if lx.eat_word("DEFAULT")? {
            c.default = Some(default_expr(lx)?);
        } else if lx.eat_word("GENERATED")? {
            // GENERATED {ALWAYS | BY DEFAULT [ON NULL]} AS {IDENTITY [(...)] | (expr) VIRTUAL}
            while !lx.eat_word("AS")? {
                if matches!(lx.peek()?, Tok::Punct(',' | ')') | Tok::Eof) {
                    return Err(syntax(lx, format!("expected AS in column `{}`", c.name)));
                }
                lx.next()?;
            }
            if lx.eat_word("IDENTITY")? {
                c.identity = true;
            } else {
                c.computed = Some(balanced(lx)?);
            }
        } else if lx.eat_word("AS")? {
            // `"V" NUMBER AS (expr) VIRTUAL`
            c.computed = Some(balanced(lx)?);
        } else if lx.eat_word("CONSTRAINT")? {
            let name = ident(lx)?;
            column_constraint(lx, t, &mut c, Some(name))?;
        } else if matches!(lx.peek()?, Tok::Word(w) if ["PRIMARY", "UNIQUE", "CHECK", "REFERENCES"].iter().any(|k| w.eq_ignore_ascii_case(k)))
        {
            column_constraint(lx, t, &mut c, None)?;
        } else if *lx.peek()? == Tok::Punct('(') {
            balanced(lx)?;
        } else {
            // ENABLE, VALIDATE, VISIBLE, COLLATE "X", ENCRYPT, SORT, USING INDEX ...
            lx.next()?;
        }
    }
    t.columns.push(c);
    Ok(())
}

/// `NOT NULL`, `PRIMARY KEY`, `UNIQUE`, `CHECK (..)` or `REFERENCES` on one column.
fn column_constraint(
    lx: &mut Lexer<'_>,
    t: &mut OraTable,
    c: &mut OraColumn,
    name: Option<String>,
) -> Parsed<()> {
    if lx.eat_word("NOT")? {
        lx.eat_word("NULL")?;
        c.nullable = false;
    } else if lx.eat_word("NULL")? {
    } else if lx.eat_word("PRIMARY")? {
        lx.eat_word("KEY")?;
        t.primary_key = vec![c.name.clone()];
    } else if lx.eat_word("UNIQUE")? {
        t.uniques.push((name, vec![c.name.clone()]));
    } else if lx.eat_word("CHECK")? {
        let e = balanced(lx)?;
        t.checks.push((name, e));
    } else {
        references(lx, t, name, vec![c.name.clone()])?;
    }
    Ok(())
}

/// Storage and table options after a statement's body, up to its end.
pub fn skip_options(lx: &mut Lexer<'_>) -> Parsed<()> {
    loop {
        match lx.peek()? {
            Tok::Eof | Tok::BatchEnd | Tok::Punct(';') => return Ok(()),
            Tok::Punct('(') => {
                balanced(lx)?;
            }
            Tok::Word(w) if super::starts_statement(w) => return Ok(()),
            _ => {
                lx.next()?;
            }
        }
    }
}

/// `CREATE TABLE` after its keywords: the name, its elements, storage options.
pub fn create_table(lx: &mut Lexer<'_>) -> Parsed<OraTable> {
    let mut t = OraTable {
        name: Some(qualified(lx)?),
        ..OraTable::default()
    };
    if lx.eat_word("OF")? || lx.eat_word("AS")? {
        return Err(syntax(
            lx,
            "CREATE TABLE ... OF (object tables) or AS SELECT is not read",
        ));
    }
    if !lx.eat_punct('(')? {
        let found = lx.next()?;
        return Err(syntax(
            lx,
            format!(
                "expected `(` after the table name, found {}",
                describe(&found)
            ),
        ));
    }
    loop {
        if at_table_constraint(lx)? {
            let name = if lx.eat_word("CONSTRAINT")? {
                Some(ident(lx)?)
            } else {
                None
            };
            table_constraint(lx, &mut t, name)?;
            skip_to_list_end(lx)?;
        } else {
            column(lx, &mut t)?;
        }
        match lx.next()? {
            Tok::Punct(',') => {}
            Tok::Punct(')') => break,
            other => {
                return Err(syntax(
                    lx,
                    format!(
                        "expected `,` or `)` in CREATE TABLE, found {}",
                        describe(&other)
                    ),
                ))
            }
        }
    }
    skip_options(lx)?;
    Ok(t)
}

/// What an `ALTER TABLE` changes that carries something.
pub enum Alteration {
    /// Constraints or columns added.
    Added(OraTable),
    /// `MODIFY (col NOT NULL | DEFAULT x ...)`: the columns as modified.
    Modified(Vec<OraColumn>),
    Other,
}

/// `ALTER TABLE name ...` after its keywords.
pub fn alter_table(lx: &mut Lexer<'_>) -> Parsed<(QualifiedName, Alteration)> {
    let name = qualified(lx)?;
    if lx.eat_word("ADD")? {
        let mut t = OraTable::default();
        let paren = lx.eat_punct('(')?;
        loop {
            if at_table_constraint(lx)? {
                let cname = if lx.eat_word("CONSTRAINT")? {
                    Some(ident(lx)?)
                } else {
                    None
                };
                table_constraint(lx, &mut t, cname)?;
            } else {
                column(lx, &mut t)?;
            }
            if !(paren && lx.eat_punct(',')?) {
                break;
            }
        }
        return Ok((name, Alteration::Added(t)));
    }
    if lx.eat_word("MODIFY")? {
        let paren = lx.eat_punct('(')?;
        let mut cols = Vec::new();
        if matches!(lx.peek()?, Tok::Word(_) | Tok::Name(_)) && !at_table_constraint(lx)? {
            let mut t = OraTable::default();
            loop {
                let c_name = ident(lx)?;
                let mut c = OraColumn {
                    name: c_name,
                    nullable: true,
                    ..OraColumn::default()
                };
                // What MODIFY states: NOT NULL or a DEFAULT, after an optional new type.
                loop {
                    match lx.peek()? {
                        Tok::Punct(',' | ')' | ';') | Tok::Eof | Tok::BatchEnd => break,
                        _ => {}
                    }
                    if lx.eat_word("NOT")? {
                        if lx.eat_word("NULL")? {
                            c.nullable = false;
                        }
                    } else if lx.eat_word("DEFAULT")? {
                        c.default = Some(default_expr(lx)?);
                    } else if lx.eat_word("CONSTRAINT")? {
                        ident(lx)?;
                        let mut cc = c.clone();
                        column_constraint(lx, &mut t, &mut cc, None)?;
                        c.nullable = cc.nullable;
                    } else if *lx.peek()? == Tok::Punct('(') {
                        balanced(lx)?;
                    } else {
                        lx.next()?;
                    }
                }
                cols.push(c);
                if !(paren && lx.eat_punct(',')?) {
                    break;
                }
            }
        }
        return Ok((name, Alteration::Modified(cols)));
    }
    Ok((name, Alteration::Other))
}

/// `CREATE [UNIQUE|BITMAP] INDEX name ON table (cols) ...` after INDEX: the
/// table and the index, `None` for a function-based index.
pub fn create_index(
    lx: &mut Lexer<'_>,
    unique: bool,
) -> Parsed<(QualifiedName, String, Option<IndexSchema>)> {
    let name = qualified(lx)?.name;
    if !lx.eat_word("ON")? {
        return Err(syntax(lx, "expected ON after the index name"));
    }
    let table = qualified(lx)?;
    let columns = column_list(lx)?;
    skip_options(lx)?;
    let index = columns.map(|columns| IndexSchema {
        name: lightning_ident(&name),
        columns,
        unique,
        kind: IndexKind::BTree,
    });
    Ok((table, name, index))
}
