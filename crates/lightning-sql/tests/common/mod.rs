//! What the engine tests share: running SQL on an engine, and its rows as text.

#![allow(dead_code)]

use lightning_sql::{text, Engine, Outcome};

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every row of a query as text cells (NULL as "NULL").
pub fn rows(e: &Engine, sql: &str) -> Vec<Vec<String>> {
    let out = rt()
        .block_on(e.run(sql))
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    cells(sql, out)
}

/// The rows of the last statement's outcome as text cells.
pub fn cells(sql: &str, out: Vec<Outcome>) -> Vec<Vec<String>> {
    let Some(Outcome::Rows(_, batches)) = out.into_iter().last() else {
        panic!("{sql} gives no rows");
    };
    let mut all = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            all.push(
                b.columns()
                    .iter()
                    .map(|c| text::cell(c, i).unwrap().unwrap_or_else(|| "NULL".into()))
                    .collect(),
            );
        }
    }
    all
}

pub fn run(e: &Engine, sql: &str) -> Result<Vec<Outcome>, lightning_sql::SqlError> {
    rt().block_on(e.run(sql))
}
