//! Which rows a scan must read, from the filters of a query: whole primary keys
//! become lookups, comparisons on the first key column a key range, equalities on
//! an index's columns an index lookup. Anything else reads the table in key order.
//! The choice only narrows what is read: the engine applies every filter again.

use std::ops::Bound;

use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use lightning_core::value::parse_uuid;
use lightning_core::{LightningType, TableSchema, Value};

/// How to reach the rows a query wants.
#[derive(Debug, Clone)]
pub enum Access {
    All,
    /// Encoded keys within these bounds.
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>),
    /// These primary keys (each the values of every key column).
    Keys(Vec<Vec<Value>>),
    /// Rows whose index (unique or not) holds these values.
    Index(String, Vec<Value>),
}

/// A filter of the form `column op literal` (either way round).
fn comparison(e: &Expr) -> Option<(&str, Operator, &ScalarValue)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c), Expr::Literal(v, _)) => Some((c.name.as_str(), *op, v)),
        (Expr::Literal(v, _), Expr::Column(c)) => Some((c.name.as_str(), op.swap()?, v)),
        _ => None,
    }
}

/// A literal as a value of a column type, when it is exactly one.
fn literal_value(ty: LightningType, v: &ScalarValue) -> Option<Value> {
    let int = match v {
        ScalarValue::Int8(Some(i)) => Some(*i as i64),
        ScalarValue::Int16(Some(i)) => Some(*i as i64),
        ScalarValue::Int32(Some(i)) => Some(*i as i64),
        ScalarValue::Int64(Some(i)) => Some(*i),
        ScalarValue::UInt8(Some(i)) => Some(*i as i64),
        ScalarValue::UInt16(Some(i)) => Some(*i as i64),
        ScalarValue::UInt32(Some(i)) => Some(*i as i64),
        ScalarValue::UInt64(Some(i)) => i64::try_from(*i).ok(),
        _ => None,
    };
    let text = match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Some(s.as_str()),
        _ => None,
    };
    match ty {
        t if t.is_integer() => {
            let (lo, hi) = t.int_range()?;
            int.filter(|i| (lo..=hi).contains(i)).map(Value::Int)
        }
        LightningType::Text => text.map(|s| Value::Text(s.to_string())),
        LightningType::Uuid => text.and_then(|s| parse_uuid(s).ok()).map(Value::Uuid),
        LightningType::Date => match v {
            ScalarValue::Date32(Some(d)) => Some(Value::Date(*d)),
            _ => None,
        },
        _ => None,
    }
}

/// The equalities and IN lists on each column: column → the values it may hold.
fn equalities(t: &TableSchema, filters: &[Expr]) -> Vec<Option<Vec<Value>>> {
    let mut out: Vec<Option<Vec<Value>>> = vec![None; t.columns.len()];
    for f in filters {
        let found = match f {
            Expr::InList(list) if !list.negated => match list.expr.as_ref() {
                Expr::Column(c) => t.column_index(&c.name).and_then(|i| {
                    let vals: Option<Vec<Value>> = list
                        .list
                        .iter()
                        .map(|e| match e {
                            Expr::Literal(v, _) => literal_value(t.columns[i].ty, v),
                            _ => None,
                        })
                        .collect();
                    vals.map(|v| (i, v))
                }),
                _ => None,
            },
            other => comparison(other).and_then(|(name, op, v)| {
                let i = t.column_index(name)?;
                (op == Operator::Eq)
                    .then(|| literal_value(t.columns[i].ty, v))
                    .flatten()
                    .map(|v| (i, vec![v]))
            }),
        };
        if let Some((i, vals)) = found {
            out[i] = Some(vals);
        }
    }
    out
}

/// Choose how to read the rows of `t` that `filters` may keep.
pub fn choose(t: &TableSchema, filters: &[Expr]) -> Access {
    let eq = equalities(t, filters);
    let keys = t.key_positions();
    if !keys.is_empty() && keys.iter().all(|&k| eq[k].is_some()) {
        // Every combination of the listed key values (IN lists multiply).
        let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
        for &k in &keys {
            let vals = eq[k].as_ref().expect("checked");
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    vals.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push(v.clone());
                        c
                    })
                })
                .collect();
            if combos.len() > 10_000 {
                break;
            }
        }
        if combos.len() <= 10_000 && combos.iter().all(|c| c.len() == keys.len()) {
            return Access::Keys(combos);
        }
    }
    if let Some(range) = key_range(t, filters) {
        return range;
    }
    let single = |cols: &[usize]| -> Option<Vec<Value>> {
        cols.iter()
            .map(|&c| match &eq[c] {
                Some(v) if v.len() == 1 => Some(v[0].clone()),
                _ => None,
            })
            .collect()
    };
    for (name, cols) in t.unique_sets() {
        if let Some(vals) = single(&cols) {
            return Access::Index(name, vals);
        }
    }
    for ix in t.indexes.iter().filter(|ix| !ix.unique) {
        let cols: Option<Vec<usize>> = ix.columns.iter().map(|c| t.column_index(c)).collect();
        if let Some(vals) = cols.as_deref().and_then(single) {
            return Access::Index(ix.name.clone(), vals);
        }
    }
    Access::All
}

/// Bounds on the first key column, as bounds on encoded keys that hold at least
/// every row the comparisons keep.
fn key_range(t: &TableSchema, filters: &[Expr]) -> Option<Access> {
    let keys = t.key_positions();
    let first = *keys.first()?;
    let whole = keys.len() == 1;
    let col = &t.columns[first];
    let mut lo: Bound<Vec<u8>> = Bound::Unbounded;
    let mut hi: Bound<Vec<u8>> = Bound::Unbounded;
    for f in filters {
        let Some((name, op, v)) = comparison(f) else {
            continue;
        };
        if name != col.name {
            continue;
        }
        let Some(v) = literal_value(col.ty, v) else {
            continue;
        };
        // A prefix of a longer key sorts before every key that starts with it.
        let key = lightning_core::keycode::encode_key([&v]);
        match op {
            Operator::Gt if whole => lo = Bound::Excluded(key),
            Operator::Gt | Operator::GtEq => lo = Bound::Included(key),
            Operator::Lt => hi = Bound::Excluded(key),
            Operator::LtEq if whole => hi = Bound::Included(key),
            _ => {}
        }
    }
    match (&lo, &hi) {
        (Bound::Unbounded, Bound::Unbounded) => None,
        _ => Some(Access::Range(lo, hi)),
    }
}
