//! `INSERT ... VALUES` statements, as scripts of a database's data write them.

use super::{Dialect, InsertRun, LexError, Lexer, Token};
use crate::pipeline::SourceError;

/// How a dialect writes the parts of an INSERT.
pub trait InsertSyntax: Dialect {
    /// A table's name.
    type Name;
    /// A value as written, before its column's type reads it.
    type Value;
    type Error: From<LexError> + std::error::Error + Send + Sync + 'static;
    /// What to do instead, after "only INSERT ... VALUES is read".
    const VALUES_ONLY: &'static str;

    /// The `INTO` after `INSERT`, which a dialect may let a script leave out.
    fn into_keyword(lx: &mut Lexer<'_, Self>) -> Result<(), Self::Error>;
    /// Pass over a statement that is not an INSERT, which starts with `first`.
    fn pass_over(lx: &mut Lexer<'_, Self>, first: &Token<'_>) -> Result<(), Self::Error>;
    fn table(lx: &mut Lexer<'_, Self>) -> Result<Self::Name, Self::Error>;
    fn column(lx: &mut Lexer<'_, Self>) -> Result<String, Self::Error>;
    fn value(lx: &mut Lexer<'_, Self>) -> Result<Self::Value, Self::Error>;
    /// A table's name as messages show it.
    fn sql(name: &Self::Name) -> String;
    /// Whether two names are of one table, as the database compares them.
    fn same_table(a: &Self::Name, b: &Self::Name) -> bool;
    /// Whether an INSERT's column is the stored column `stored`.
    fn same_column(stored: &str, listed: &str) -> bool;
    /// A column's name as messages show it.
    fn column_sql(name: &str) -> String;

    /// A visitor's error, carried out through the reader's own error type.
    fn stop(e: SourceError) -> Self::Error;
    /// The visitor's error `stop` carried, or the reader's own error.
    fn unstop(e: Self::Error) -> SourceError;
}

/// The head of an INSERT, after the INSERT keyword: the table and its column list.
pub struct InsertHead<N> {
    pub table: N,
    pub columns: Option<Vec<String>>,
}

/// The head of an INSERT, after the INSERT keyword: `INTO`, the table, its
/// column list and `VALUES`.
pub fn insert_head<D: InsertSyntax>(
    lx: &mut Lexer<'_, D>,
) -> Result<InsertHead<D::Name>, D::Error> {
    D::into_keyword(lx)?;
    let table = D::table(lx)?;
    let mut columns = None;
    if *lx.peek()? == Token::Punct('(') {
        lx.next()?;
        let mut cols = Vec::new();
        loop {
            cols.push(D::column(lx)?);
            match lx.next()? {
                Token::Punct(',') => {}
                Token::Punct(')') => break,
                other => {
                    let message = format!(
                        "INSERT INTO {}: expected `,` or `)` in the column list, found {}",
                        D::sql(&table),
                        D::describe(&other)
                    );
                    return Err(lx.syntax(message).into());
                }
            }
        }
        columns = Some(cols);
    }
    if !lx.eat_word("VALUES")? {
        let message = format!(
            "INSERT INTO {}: only INSERT ... VALUES is read {}",
            D::sql(&table),
            D::VALUES_ONLY
        );
        return Err(lx.syntax(message).into());
    }
    Ok(InsertHead { table, columns })
}

/// The rows of an INSERT after VALUES: `visit(index, line, values)` for each; it
/// returns `false` to stop.
pub fn insert_rows<D: InsertSyntax>(
    lx: &mut Lexer<'_, D>,
    visit: &mut dyn FnMut(u64, u64, Vec<D::Value>) -> Result<bool, D::Error>,
) -> Result<(), D::Error> {
    let mut index = 0u64;
    loop {
        lx.expect('(')?;
        let line = lx.line();
        let mut values = Vec::new();
        loop {
            values.push(D::value(lx)?);
            match lx.next()? {
                Token::Punct(',') => {}
                Token::Punct(')') => break,
                other => {
                    let message = format!(
                        "row {}: expected `,` or `)` after a value, found {}",
                        index + 1,
                        D::describe(&other)
                    );
                    return Err(lx.syntax(message).into());
                }
            }
        }
        if !visit(index, line, values)? {
            return Ok(());
        }
        index += 1;
        // Several rows in one VALUES (SQL Server, Oracle 23).
        if !lx.eat_punct(',')? {
            return Ok(());
        }
    }
}

/// An INSERT into `table` that the scan of a script met at `(offset, line)`, after
/// its head: each row must hold `want` values. The statement joins the table's
/// last run when it `follows` it (nothing that matters came between).
pub fn scan_insert<D: InsertSyntax>(
    lx: &mut Lexer<'_, D>,
    table: &D::Name,
    want: usize,
    (offset, line): (usize, u64),
    runs: &mut Vec<InsertRun>,
    follows: bool,
) -> Result<(), D::Error> {
    let mut rows = 0u64;
    insert_rows(lx, &mut |i, row_line, values| {
        if values.len() != want {
            let message = format!(
                "INSERT INTO {}: row {} has {} values for {want} columns",
                D::sql(table),
                i + 1,
                values.len()
            );
            return Err(LexError {
                line: row_line,
                message,
            }
            .into());
        }
        rows += 1;
        Ok(true)
    })?;
    let end = lx.i;
    match runs.last_mut() {
        Some(r) if follows => {
            r.end = end;
            r.rows += rows;
        }
        _ => runs.push(InsertRun {
            offset,
            line,
            end,
            rows,
        }),
    }
    Ok(())
}

/// Each INSERT in `text` from `(start, line)`, other statements passed over:
/// `each(lx, at, line)` reads one after its `INSERT` keyword (at byte `at`, on `line`).
pub fn each_insert<D: InsertSyntax>(
    text: &str,
    (start, line): (usize, u64),
    mut each: impl FnMut(&mut Lexer<'_, D>, usize, u64) -> Result<(), D::Error>,
) -> Result<(), D::Error> {
    let mut lx = Lexer::<D>::new(text, start, line);
    loop {
        let tok = lx.next()?;
        let at = lx.start;
        match tok {
            Token::Eof => return Ok(()),
            Token::BatchEnd | Token::Punct(';') => continue,
            Token::Word(w) if w.eq_ignore_ascii_case("INSERT") => {}
            other => {
                D::pass_over(&mut lx, &other)?;
                continue;
            }
        }
        let stmt_line = lx.line();
        each(&mut lx, at, stmt_line)?;
    }
}

/// Read a run of a scanned script's INSERTs as a copy does, keeping no row.
pub fn read_inserts<D: InsertSyntax>(text: &str, run: &InsertRun) -> Result<(), D::Error> {
    each_insert::<D>(&text[..run.end], (run.offset, run.line), |lx, _, _| {
        insert_head(lx)?;
        insert_rows(lx, &mut |_, _, _| Ok(true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sql_script::tests::Plain;

    #[derive(Debug, thiserror::Error)]
    #[error("line {}: {}", .0.line, .0.message)]
    pub(in crate::sql_script) struct Error(LexError);

    impl From<LexError> for Error {
        fn from(e: LexError) -> Self {
            Error(e)
        }
    }

    impl InsertSyntax for Plain {
        type Name = String;
        type Value = String;
        type Error = Error;
        const VALUES_ONLY: &'static str = "(not INSERT ... SELECT)";

        fn into_keyword(lx: &mut Lexer<'_, Self>) -> Result<(), Error> {
            lx.eat_word("INTO")?;
            Ok(())
        }
        fn pass_over(lx: &mut Lexer<'_, Self>, _: &Token<'_>) -> Result<(), Error> {
            while !matches!(lx.peek()?, Token::Punct(';') | Token::Eof) {
                lx.next()?;
            }
            Ok(())
        }
        fn table(lx: &mut Lexer<'_, Self>) -> Result<String, Error> {
            Self::column(lx)
        }
        fn column(lx: &mut Lexer<'_, Self>) -> Result<String, Error> {
            match lx.next()? {
                Token::Word(w) => Ok(w.to_string()),
                t => Err(lx
                    .syntax(format!("a name, not {}", Self::describe(&t)))
                    .into()),
            }
        }
        fn value(lx: &mut Lexer<'_, Self>) -> Result<String, Error> {
            match lx.next()? {
                Token::Num(n) => Ok(n.to_string()),
                Token::Str(s) => Ok(s),
                t => Err(lx
                    .syntax(format!("a value, not {}", Self::describe(&t)))
                    .into()),
            }
        }
        fn sql(name: &String) -> String {
            name.clone()
        }
        fn same_table(a: &String, b: &String) -> bool {
            a == b
        }
        fn same_column(stored: &str, listed: &str) -> bool {
            stored == listed
        }
        fn column_sql(name: &str) -> String {
            name.to_string()
        }
        fn stop(e: SourceError) -> Error {
            Error(LexError {
                line: 0,
                message: e.to_string(),
            })
        }
        fn unstop(e: Error) -> SourceError {
            Box::new(e)
        }
    }

    #[test]
    fn inserts_are_read_and_joined_into_runs() {
        let text = "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y');\nINSERT t VALUES (3, 'z');\nSELECT 1;\nINSERT INTO t SELECT 1;";
        let mut lx = Lexer::<Plain>::new(text, 0, 1);
        let mut runs = Vec::new();
        for (start, follows) in [(0, false), (48, true)] {
            assert_eq!(lx.next().unwrap(), Token::Word("INSERT"));
            let line = lx.line();
            let head = insert_head(&mut lx).unwrap();
            assert_eq!(head.table, "t");
            scan_insert(&mut lx, &head.table, 2, (start, line), &mut runs, follows).unwrap();
            lx.eat_punct(';').unwrap();
        }
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].offset, runs[0].line, runs[0].rows), (0, 1, 3));
        let mut rows = Vec::new();
        read_inserts::<Plain>(text, &runs[0]).unwrap();
        each_insert::<Plain>(text, (0, 1), |lx, at, line| {
            insert_head(lx)?;
            insert_rows(lx, &mut |i, _, values| {
                rows.push((at, line, i, values));
                Ok(true)
            })
        })
        .unwrap_err();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2], (48, 2, 0, vec!["3".to_string(), "z".to_string()]));
        let mut lx = Lexer::<Plain>::new("INTO t (a b) VALUES (1)", 0, 1);
        let e = insert_head(&mut lx).err().unwrap();
        assert_eq!(
            e.0.message,
            "INSERT INTO t: expected `,` or `)` in the column list, found `b`"
        );
    }
}
