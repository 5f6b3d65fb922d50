//! One row of PostgreSQL text fields → a Lightning row, exactly or not at all.

use lightning_core::cast::coerce;
use lightning_core::{Row, TableSchema, Value};

use crate::convert::ColumnPlan;

/// A row that cannot be carried: its key, why, and its fields as text.
pub struct BadRow {
    pub key: String,
    pub reason: String,
    pub raw: Row,
}

/// Convert `fields` (in plan order) into `row`.
pub fn convert_row(
    plan: &[ColumnPlan],
    schema: &TableSchema,
    rowid: Option<i64>,
    fields: &[Option<String>],
    row: &mut Row,
) -> Result<(), BadRow> {
    row.clear();
    if fields.len() != plan.len() {
        return Err(BadRow {
            key: String::new(),
            reason: format!("{} fields where {} were expected", fields.len(), plan.len()),
            raw: raw(fields),
        });
    }
    for (p, f) in plan.iter().zip(fields) {
        let v = match f {
            None => Value::Null,
            Some(text) => {
                let natural = p.kind.decode(text).map_err(|e| e.0);
                let converted = natural.and_then(|mut v| {
                    if let Some(t) = p.transform {
                        v = t.apply(v);
                    }
                    coerce(v, p.target)
                });
                match converted {
                    Ok(v) => v,
                    Err(why) => {
                        let raw = raw(fields);
                        return Err(BadRow {
                            key: schema.describe_key(rowid, &raw),
                            reason: format!("column `{}`: {why}", p.name),
                            raw,
                        });
                    }
                }
            }
        };
        row.push(v);
    }
    Ok(())
}

fn raw(fields: &[Option<String>]) -> Row {
    fields
        .iter()
        .map(|f| f.as_ref().map_or(Value::Null, |s| Value::Text(s.clone())))
        .collect()
}
