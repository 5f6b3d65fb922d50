//! Documents rebuilt from a store: each row of a collection's table with the rows
//! of its child tables that belong to it, read side by side in key order.

use std::iter::Peekable;

use bson::Document;
use lightning_core::keycode::encode_key;
use lightning_core::store::{RowIter, Store};
use lightning_core::value::{Row, Value};

use crate::rows::Plan;

/// A document rebuilt, or why it could not be (with its `_id` as the key column
/// renders it).
pub type Rebuilt = Result<Document, (String, String)>;

/// Visit every document the store holds of `plan`'s collection, in `_id` order.
/// Child rows whose document is missing are reported with their parent's key.
pub fn documents(
    store: &Store,
    plan: &Plan,
    visit: &mut dyn FnMut(Rebuilt) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tables: Vec<Peekable<RowIter<'_>>> = Vec::new();
    for t in &plan.tables {
        tables.push(store.scan(&t.name)?.peekable());
    }
    let (root, children) = tables.split_first_mut().expect("a plan has a table");
    let key_of = |v: &Value| encode_key([v]);
    for item in root {
        let (_, row) = item?;
        let key = key_of(&row[0]);
        let mut mine: Vec<Vec<Row>> = vec![Vec::new(); plan.tables.len()];
        for (i, child) in children.iter_mut().enumerate() {
            while let Some(Ok((_, r))) = child.peek() {
                let k = key_of(&r[0]);
                if k > key {
                    break;
                }
                let (_, r) = child.next().expect("peeked")?;
                if k < key {
                    visit(Err((describe(&r[0]), orphan(plan, i + 1))))?;
                } else {
                    mine[i + 1].push(r);
                }
            }
            if let Some(Err(_)) = child.peek() {
                child.next().expect("peeked")?;
            }
        }
        match plan.document(&row, &mine) {
            Ok(d) => visit(Ok(d))?,
            Err(e) => visit(Err((describe(&row[0]), e)))?,
        }
    }
    for (i, child) in children.iter_mut().enumerate() {
        for item in child {
            let (_, r) = item?;
            visit(Err((describe(&r[0]), orphan(plan, i + 1))))?;
        }
    }
    Ok(())
}

fn orphan(plan: &Plan, table: usize) -> String {
    format!(
        "`{}` holds rows of a document `{}` does not hold",
        plan.tables[table].name, plan.tables[0].name
    )
}

fn describe(v: &Value) -> String {
    format!("_id={}", v.to_text().unwrap_or_else(|| "NULL".into()))
}
