//! `CREATE TABLE`, `ALTER TABLE ... ADD` and `CREATE INDEX` as SQL Server scripts
//! them, read into the model.

use std::collections::HashMap;

use lightning_core::schema::{ForeignKey, IndexKind, IndexSchema};
use lightning_core::sql_script::Dialect;

use super::lex::{Lexer, Tok, Tsql};
use super::ScriptError;
use crate::model::{MsColumn, MsTable, QualifiedName};

type Parsed<T> = Result<T, ScriptError>;

pub fn syntax(lx: &mut Lexer<'_>, message: impl Into<String>) -> ScriptError {
    ScriptError::Syntax {
        line: lx.line(),
        message: message.into(),
    }
}

pub fn describe(t: &Tok<'_>) -> String {
    Tsql::describe(t)
}

/// A name part: a word or a quoted name.
pub fn ident(lx: &mut Lexer<'_>) -> Parsed<String> {
    match lx.next()? {
        Tok::Word(w) => Ok(w.to_string()),
        Tok::Name(n) => Ok(n),
        other => Err(syntax(
            lx,
            format!("expected a name, found {}", describe(&other)),
        )),
    }
}

/// `name`, `schema.name` or longer (server and database parts are dropped).
pub fn qualified(lx: &mut Lexer<'_>) -> Parsed<QualifiedName> {
    let mut parts = vec![ident(lx)?];
    while lx.eat_punct('.')? {
        parts.push(ident(lx)?);
    }
    let name = parts.pop().unwrap_or_default();
    let schema = parts.pop().unwrap_or_else(|| "dbo".into());
    Ok(QualifiedName { schema, name })
}

/// The text of a parenthesised expression, `(` included, read to its `)`.
pub fn balanced(lx: &mut Lexer<'_>) -> Parsed<String> {
    let start = {
        lx.peek()?;
        let t = lx.next()?;
        if t != Tok::Punct('(') {
            return Err(syntax(lx, format!("expected `(`, found {}", describe(&t))));
        }
        lx.start
    };
    let mut depth = 1;
    while depth > 0 {
        match lx.next()? {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Eof | Tok::BatchEnd => return Err(syntax(lx, "a `(` is never closed")),
            _ => {}
        }
    }
    Ok(lx.text()[start..lx.i].to_string())
}

/// A column list `(a [ASC], b DESC)`.
fn column_list(lx: &mut Lexer<'_>) -> Parsed<Vec<String>> {
    if !lx.eat_punct('(')? {
        let t = lx.next()?;
        return Err(syntax(
            lx,
            format!("expected a column list, found {}", describe(&t)),
        ));
    }
    let mut out = Vec::new();
    loop {
        out.push(ident(lx)?);
        let _ = lx.eat_word("ASC")? || lx.eat_word("DESC")?;
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

/// `WITH (...)`, `ON [fg]`, `TEXTIMAGE_ON [fg]`, `FILESTREAM_ON x`: storage
/// options, which carry nothing for Lightning.
fn storage_options(lx: &mut Lexer<'_>) -> Parsed<()> {
    loop {
        if matches!(lx.peek()?, Tok::Word(w) if w.eq_ignore_ascii_case("WITH")) {
            lx.next()?;
            if *lx.peek()? == Tok::Punct('(') {
                balanced(lx)?;
            } else {
                // WITH CHECK / NOCHECK and the like: one word.
                lx.next()?;
            }
        } else if lx.eat_word("ON")?
            || lx.eat_word("TEXTIMAGE_ON")?
            || lx.eat_word("FILESTREAM_ON")?
        {
            ident(lx)?;
            if *lx.peek()? == Tok::Punct('(') {
                balanced(lx)?;
            }
        } else {
            return Ok(());
        }
    }
}

/// A table constraint after its optional `CONSTRAINT name`.
fn table_constraint(lx: &mut Lexer<'_>, t: &mut MsTable, name: Option<String>) -> Parsed<()> {
    if lx.eat_word("PRIMARY")? {
        if !lx.eat_word("KEY")? {
            return Err(syntax(lx, "expected KEY after PRIMARY"));
        }
        let _ = lx.eat_word("CLUSTERED")? || lx.eat_word("NONCLUSTERED")?;
        t.primary_key = column_list(lx)?;
        storage_options(lx)
    } else if lx.eat_word("UNIQUE")? {
        let _ = lx.eat_word("CLUSTERED")? || lx.eat_word("NONCLUSTERED")?;
        let cols = column_list(lx)?;
        t.uniques.push((name, cols));
        storage_options(lx)
    } else if lx.eat_word("FOREIGN")? {
        if !lx.eat_word("KEY")? {
            return Err(syntax(lx, "expected KEY after FOREIGN"));
        }
        let cols = column_list(lx)?;
        references(lx, t, name, cols)
    } else if lx.eat_word("CHECK")? {
        if lx.eat_word("NOT")? {
            lx.eat_word("FOR")?;
            lx.eat_word("REPLICATION")?;
        }
        let e = balanced(lx)?;
        t.checks.push((name, e));
        Ok(())
    } else {
        let found = lx.next()?;
        Err(syntax(
            lx,
            format!(
                "expected PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK, found {}",
                describe(&found)
            ),
        ))
    }
}

/// `REFERENCES t [(cols)] [ON DELETE a] [ON UPDATE a] [NOT FOR REPLICATION]`.
fn references(
    lx: &mut Lexer<'_>,
    t: &mut MsTable,
    name: Option<String>,
    columns: Vec<String>,
) -> Parsed<()> {
    if !lx.eat_word("REFERENCES")? {
        return Err(syntax(lx, "expected REFERENCES"));
    }
    let target = qualified(lx)?;
    let ref_columns = if *lx.peek()? == Tok::Punct('(') {
        column_list(lx)?
    } else {
        Vec::new()
    };
    let mut fk = ForeignKey {
        name,
        columns,
        ref_table: target.lightning_name(),
        ref_columns,
        on_delete: None,
        on_update: None,
    };
    loop {
        if matches!(lx.peek()?, Tok::Word(w) if w.eq_ignore_ascii_case("ON")) {
            // `ON DELETE` / `ON UPDATE`; any other ON belongs to what follows.
            let save = (lx.i, lx.start);
            lx.next()?;
            let which = if lx.eat_word("DELETE")? {
                1
            } else if lx.eat_word("UPDATE")? {
                2
            } else {
                (lx.i, lx.start) = save;
                break;
            };
            let action = if lx.eat_word("CASCADE")? {
                Some("CASCADE".to_string())
            } else if lx.eat_word("SET")? {
                let w = ident(lx)?.to_ascii_uppercase();
                Some(format!("SET {w}"))
            } else if lx.eat_word("NO")? {
                lx.eat_word("ACTION")?;
                None
            } else {
                return Err(syntax(
                    lx,
                    "expected CASCADE, SET NULL, SET DEFAULT or NO ACTION",
                ));
            };
            if which == 1 {
                fk.on_delete = action;
            } else {
                fk.on_update = action;
            }
        } else if lx.eat_word("NOT")? {
            lx.eat_word("FOR")?;
            lx.eat_word("REPLICATION")?;
        } else {
            break;
        }
    }
    t.foreign_keys.push((fk, target));
    Ok(())
}

/// A `DEFAULT` expression: parenthesised, or one literal or word.
fn default_expr(lx: &mut Lexer<'_>) -> Parsed<String> {
    if *lx.peek()? == Tok::Punct('(') {
        return balanced(lx);
    }
    let start = {
        lx.peek()?;
        lx.next()?;
        lx.start
    };
    if matches!(&lx.text().as_bytes()[start..lx.i], [b'-' | b'+']) {
        lx.next()?;
    }
    Ok(lx.text()[start..lx.i].to_string())
}

/// The declared type: `[nvarchar](100)`, `decimal(18, 2)`, `[dbo].[Phone]`.
fn column_type(lx: &mut Lexer<'_>, aliases: &HashMap<String, String>) -> Parsed<String> {
    let q = qualified(lx)?;
    let mut ty = q.name.to_ascii_lowercase();
    if *lx.peek()? == Tok::Punct('(') {
        let p = balanced(lx)?;
        let p: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        ty.push_str(&p.to_ascii_lowercase());
    }
    // `national character varying` and the like, as SQL Server spells its synonyms.
    if ty == "national" || ty == "character" || ty == "char" || ty == "binary" || ty == "double" {
        let mut words = vec![ty.clone()];
        while let Tok::Word(w) = lx.peek()?.clone() {
            let l = w.to_ascii_lowercase();
            if matches!(l.as_str(), "char" | "character" | "varying" | "precision") {
                words.push(l);
                lx.next()?;
            } else {
                break;
            }
        }
        if words.len() > 1 {
            ty = words.join(" ");
            if *lx.peek()? == Tok::Punct('(') {
                let p = balanced(lx)?;
                ty.push_str(&p.chars().filter(|c| !c.is_whitespace()).collect::<String>());
            }
        }
    }
    Ok(aliases.get(&ty).cloned().unwrap_or(ty))
}

/// Whether the next token starts a table constraint rather than a column.
fn at_table_constraint(lx: &mut Lexer<'_>) -> Parsed<bool> {
    Ok(
        matches!(lx.peek()?, Tok::Word(w) if ["CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "INDEX", "PERIOD"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))),
    )
}

fn column(lx: &mut Lexer<'_>, t: &mut MsTable, aliases: &HashMap<String, String>) -> Parsed<()> {
    let mut c = MsColumn {
        name: ident(lx)?,
        nullable: true,
        ..MsColumn::default()
    };
    if lx.eat_word("AS")? {
        c.computed = Some(balanced(lx)?);
    } else {
        c.ty = column_type(lx, aliases)?;
    }
    loop {
        let t2 = lx.peek()?.clone();
        match t2 {
            Tok::Punct(',') | Tok::Punct(')') => break,
            Tok::Eof | Tok::BatchEnd => {
                return Err(syntax(lx, "the CREATE TABLE ends before its `)`"))
            }
            _ => {}
        }
        if lx.eat_word("NOT")? {
            if lx.eat_word("NULL")? {
                c.nullable = false;
            } else {
                lx.eat_word("FOR")?;
                lx.eat_word("REPLICATION")?;
            }
        } else if lx.eat_word("NULL")? {
            c.nullable = true;
        } else if lx.eat_word("IDENTITY")? {
            let (mut seed, mut inc) = ("1".to_string(), "1".to_string());
            if *lx.peek()? == Tok::Punct('(') {
                let p = balanced(lx)?;
                let inner = p.trim_start_matches('(').trim_end_matches(')');
                if let Some((a, b)) = inner.split_once(',') {
                    (seed, inc) = (a.trim().to_string(), b.trim().to_string());
                }
            }
            c.identity = Some((seed, inc));
        } else if lx.eat_word("DEFAULT")? {
            c.default = Some(default_expr(lx)?);
        } else if lx.eat_word("CONSTRAINT")? {
            let name = ident(lx)?;
            if lx.eat_word("DEFAULT")? {
                c.default = Some(default_expr(lx)?);
            } else {
                column_constraint(lx, t, &c.name, Some(name))?;
            }
        } else if matches!(lx.peek()?, Tok::Word(w) if ["PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "FOREIGN"].iter().any(|k| w.eq_ignore_ascii_case(k)))
        {
            column_constraint(lx, t, &c.name, None)?;
        } else if lx.eat_word("COLLATE")? {
            ident(lx)?;
        } else if matches!(lx.peek()?, Tok::Word(w) if w.eq_ignore_ascii_case("WITH") || w.eq_ignore_ascii_case("MASKED") || w.eq_ignore_ascii_case("ENCRYPTED"))
        {
            lx.next()?;
            while !matches!(
                lx.peek()?,
                Tok::Punct('(' | ',' | ')') | Tok::BatchEnd | Tok::Eof
            ) {
                lx.next()?;
            }
            if *lx.peek()? == Tok::Punct('(') {
                balanced(lx)?;
            }
        } else {
            // ROWGUIDCOL, SPARSE, PERSISTED, FILESTREAM, GENERATED ALWAYS AS ROW START, HIDDEN...
            let t3 = lx.next()?;
            if t3 == Tok::Punct('(') {
                return Err(syntax(lx, format!("unexpected `(` in column `{}`", c.name)));
            }
        }
    }
    t.columns.push(c);
    Ok(())
}

/// `PRIMARY KEY`, `UNIQUE`, `CHECK (..)` or `[FOREIGN KEY] REFERENCES` on one column.
fn column_constraint(
    lx: &mut Lexer<'_>,
    t: &mut MsTable,
    column: &str,
    name: Option<String>,
) -> Parsed<()> {
    if lx.eat_word("PRIMARY")? {
        lx.eat_word("KEY")?;
        let _ = lx.eat_word("CLUSTERED")? || lx.eat_word("NONCLUSTERED")?;
        t.primary_key = vec![column.to_string()];
        storage_options(lx)
    } else if lx.eat_word("UNIQUE")? {
        let _ = lx.eat_word("CLUSTERED")? || lx.eat_word("NONCLUSTERED")?;
        t.uniques.push((name, vec![column.to_string()]));
        storage_options(lx)
    } else if lx.eat_word("CHECK")? {
        if lx.eat_word("NOT")? {
            lx.eat_word("FOR")?;
            lx.eat_word("REPLICATION")?;
        }
        let e = balanced(lx)?;
        t.checks.push((name, e));
        Ok(())
    } else {
        if lx.eat_word("FOREIGN")? {
            lx.eat_word("KEY")?;
        }
        references(lx, t, name, vec![column.to_string()])
    }
}

/// `CREATE TABLE` after its keywords: the name, its elements, storage options.
pub fn create_table(lx: &mut Lexer<'_>, aliases: &HashMap<String, String>) -> Parsed<MsTable> {
    let mut t = MsTable {
        name: Some(qualified(lx)?),
        ..MsTable::default()
    };
    if lx.eat_word("AS")? {
        return Err(syntax(
            lx,
            "CREATE TABLE ... AS (graph tables, FileTables) is not read",
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
            if lx.eat_word("CONSTRAINT")? {
                let name = ident(lx)?;
                table_constraint(lx, &mut t, Some(name))?;
            } else if lx.eat_word("INDEX")? {
                inline_index(lx, &mut t)?;
            } else if lx.eat_word("PERIOD")? {
                lx.eat_word("FOR")?;
                ident(lx)?;
                balanced(lx)?;
            } else {
                table_constraint(lx, &mut t, None)?;
            }
        } else {
            column(lx, &mut t, aliases)?;
        }
        match lx.next()? {
            Tok::Punct(',') => {
                // SSMS may leave a comma before the closing parenthesis.
                if lx.eat_punct(')')? {
                    break;
                }
            }
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
    storage_options(lx)?;
    Ok(t)
}

/// `INDEX name [UNIQUE] [CLUSTERED|NONCLUSTERED] (cols)` inside a CREATE TABLE.
fn inline_index(lx: &mut Lexer<'_>, t: &mut MsTable) -> Parsed<()> {
    let name = ident(lx)?;
    let unique = lx.eat_word("UNIQUE")?;
    let _ = lx.eat_word("CLUSTERED")? || lx.eat_word("NONCLUSTERED")?;
    if lx.eat_word("COLUMNSTORE")? {
        if *lx.peek()? == Tok::Punct('(') {
            balanced(lx)?;
        }
        return storage_options(lx);
    }
    let columns = column_list(lx)?;
    t.indexes.push(IndexSchema {
        name,
        columns,
        unique,
        kind: IndexKind::BTree,
    });
    storage_options(lx)
}

/// What an `ALTER TABLE` adds.
pub enum Alteration {
    /// Constraints or columns, applied to the table.
    Added(MsTable),
    /// `DEFAULT expr FOR column`.
    Default { column: String, expr: String },
    /// Anything else (`CHECK CONSTRAINT`, `SET (...)`): nothing to carry.
    Other,
}

/// `ALTER TABLE name ...` after its keywords: the table and what it adds.
pub fn alter_table(
    lx: &mut Lexer<'_>,
    aliases: &HashMap<String, String>,
) -> Parsed<(QualifiedName, Vec<Alteration>)> {
    let name = qualified(lx)?;
    if lx.eat_word("WITH")? {
        let _ = lx.eat_word("CHECK")? || lx.eat_word("NOCHECK")?;
    }
    if !lx.eat_word("ADD")? {
        return Ok((name, vec![Alteration::Other]));
    }
    let mut out = Vec::new();
    loop {
        let mut t = MsTable::default();
        let cname = if lx.eat_word("CONSTRAINT")? {
            Some(ident(lx)?)
        } else {
            None
        };
        if lx.eat_word("DEFAULT")? {
            let expr = default_expr(lx)?;
            if !lx.eat_word("FOR")? {
                return Err(syntax(lx, "expected FOR after ADD DEFAULT's expression"));
            }
            let column = ident(lx)?;
            out.push(Alteration::Default { column, expr });
        } else if cname.is_some() || at_table_constraint(lx)? {
            table_constraint(lx, &mut t, cname)?;
            out.push(Alteration::Added(t));
        } else {
            column(lx, &mut t, aliases)?;
            out.push(Alteration::Added(t));
        }
        if !lx.eat_punct(',')? {
            return Ok((name, out));
        }
    }
}

/// `CREATE [UNIQUE] [CLUSTERED|NONCLUSTERED] INDEX name ON table (cols) ...` after
/// INDEX: the table, the index, and the `WHERE` filter it had (not carried).
pub fn create_index(
    lx: &mut Lexer<'_>,
    unique: bool,
) -> Parsed<(QualifiedName, IndexSchema, Option<String>)> {
    let name = ident(lx)?;
    if !lx.eat_word("ON")? {
        return Err(syntax(lx, "expected ON after the index name"));
    }
    let table = qualified(lx)?;
    let columns = column_list(lx)?;
    if lx.eat_word("INCLUDE")? {
        column_list(lx)?;
    }
    let mut filter = None;
    if lx.eat_word("WHERE")? {
        let start = lx.i;
        while !matches!(lx.peek()?, Tok::BatchEnd | Tok::Eof | Tok::Punct(';'))
            && !matches!(lx.peek()?, Tok::Word(w) if w.eq_ignore_ascii_case("WITH") || w.eq_ignore_ascii_case("ON"))
        {
            lx.next()?;
        }
        filter = Some(lx.text()[start..lx.i].trim().to_string());
    }
    storage_options(lx)?;
    Ok((
        table,
        IndexSchema {
            name,
            columns,
            unique,
            kind: IndexKind::BTree,
        },
        filter,
    ))
}
