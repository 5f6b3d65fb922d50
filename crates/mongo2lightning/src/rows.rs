//! A collection's mapping compiled for use: documents to rows of its tables, and
//! rows back to documents.

use std::collections::HashMap;
use std::sync::Arc;

use bson::{Bson, Document};
use lightning_core::value::{Row, Value};
use lightning_core::TableSchema;

use crate::kind::{json_text, parse_json_text, type_name, Kind};
use crate::mapping::{CollectionMap, FieldMap, Target, EXTRA, ID};

/// The key an element that is not a document takes in its row's `_extra`.
const ELEMENT: &str = "$element";

/// A table of the collection with the fields that fill it.
#[derive(Debug)]
pub struct TablePlan {
    pub name: Arc<str>,
    pub schema: TableSchema,
    fields: Vec<FieldPlan>,
    /// The column of the element itself (`value`) in a child table of scalars.
    value: Option<(usize, Kind)>,
    extra: usize,
}

#[derive(Debug)]
enum FieldPlan {
    Column {
        name: String,
        col: usize,
        kind: Kind,
    },
    Flatten {
        name: String,
        fields: Vec<FieldPlan>,
    },
    Child {
        name: String,
        count: usize,
        table: usize,
    },
}

impl FieldPlan {
    fn name(&self) -> &str {
        match self {
            FieldPlan::Column { name, .. }
            | FieldPlan::Flatten { name, .. }
            | FieldPlan::Child { name, .. } => name,
        }
    }
}

/// A collection's tables, the documents' table first.
#[derive(Debug)]
pub struct Plan {
    pub collection: String,
    pub id: Kind,
    pub tables: Vec<TablePlan>,
    /// Rows a document gives on average (its own and its arrays' elements), as the
    /// sample says: for progress and estimates.
    pub rows_per_document: f64,
    /// The collection's documents, when a first pass counted them (files).
    pub documents: Option<u64>,
}

/// A document that cannot be carried at all (its `_id` does not fit the key).
#[derive(Debug)]
pub struct BadDocument {
    pub key: String,
    pub reason: String,
}

impl Plan {
    pub fn new(map: &CollectionMap) -> Result<Plan, String> {
        let schemas = map.tables()?;
        let mut plan = Plan {
            collection: map.collection.clone(),
            id: map.id,
            tables: Vec::new(),
            rows_per_document: 1.0,
            documents: None,
        };
        let by_name: HashMap<String, TableSchema> = schemas
            .into_iter()
            .map(|t| (t.schema.name.clone(), t.schema))
            .collect();
        let root = by_name[&map.table].clone();
        plan.add_table(root, &map.fields, None, 0, &by_name)?;
        Ok(plan)
    }

    fn add_table(
        &mut self,
        schema: TableSchema,
        fields: &[FieldMap],
        value: Option<(String, Kind)>,
        parent_keys: usize,
        by_name: &HashMap<String, TableSchema>,
    ) -> Result<usize, String> {
        let at = self.tables.len();
        let extra = schema.column_index(EXTRA).expect("every table has _extra");
        let value = value.map(|(c, k)| (schema.column_index(&c).expect("value column"), k));
        self.tables.push(TablePlan {
            name: schema.name.as_str().into(),
            schema: schema.clone(),
            fields: Vec::new(),
            value,
            extra,
        });
        let fields = self.compile(&schema, fields, parent_keys, by_name)?;
        self.tables[at].fields = fields;
        Ok(at)
    }

    fn compile(
        &mut self,
        schema: &TableSchema,
        fields: &[FieldMap],
        parent_keys: usize,
        by_name: &HashMap<String, TableSchema>,
    ) -> Result<Vec<FieldPlan>, String> {
        let mut out = Vec::new();
        for f in fields {
            out.push(match &f.to {
                Target::Column { column, kind } => FieldPlan::Column {
                    name: f.field.clone(),
                    col: schema.column_index(column).expect("mapped column"),
                    kind: *kind,
                },
                Target::Flatten { flatten } => FieldPlan::Flatten {
                    name: f.field.clone(),
                    fields: self.compile(schema, flatten, parent_keys, by_name)?,
                },
                Target::Child {
                    table,
                    count_column,
                    fields,
                    value,
                } => {
                    let child = by_name[table].clone();
                    // The child's key: the parent's key columns, then `position`.
                    let keys = if parent_keys == 0 { 1 } else { parent_keys + 1 };
                    let t = self.add_table(
                        child,
                        fields,
                        value.as_ref().map(|v| (v.column.clone(), v.kind)),
                        keys,
                        by_name,
                    )?;
                    FieldPlan::Child {
                        name: f.field.clone(),
                        count: schema.column_index(count_column).expect("count column"),
                        table: t,
                    }
                }
            });
        }
        Ok(out)
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|t| t.schema.clone()).collect()
    }

    /// The `_id` of a document, as messages and reports name it.
    pub fn describe_id(doc: &Document) -> String {
        match doc.get(ID) {
            Some(id) => format!("_id={}", json_text(id)),
            None => "(no _id)".into(),
        }
    }

    /// The rows of one document, each with the index of its table in `tables`.
    pub fn rows(&self, doc: &Document, out: &mut dyn FnMut(usize, Row)) -> Result<(), BadDocument> {
        let id = doc.get(ID).ok_or_else(|| BadDocument {
            key: "(no _id)".into(),
            reason: "the document has no `_id`".into(),
        })?;
        let key = self.id.to_value(id).ok_or_else(|| BadDocument {
            key: Plan::describe_id(doc),
            reason: if type_name(id) == self.id.name() {
                // A decimal such as `1E+3`, a date too far away for microseconds.
                format!(
                    "this {} has no exact form in the key column ({}): map `id` as \"json\" in a mapping file (--mapping) to hold every value",
                    self.id,
                    self.id.column_type()
                )
            } else {
                format!(
                    "`_id` is {}, but the key column holds {} (decided from the sample): map `id` as \"json\" in a mapping file (--mapping) to hold every type",
                    type_name(id),
                    self.id
                )
            },
        })?;
        let root = &self.tables[0];
        let mut row = vec![Value::Null; root.schema.columns.len()];
        row[0] = key.clone();
        let mut extra = Document::new();
        self.fill(
            root,
            &root.fields,
            doc,
            true,
            &mut row,
            &mut extra,
            &[key],
            out,
        );
        set_extra(&mut row, root.extra, extra);
        out(0, row);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        table: &TablePlan,
        fields: &[FieldPlan],
        doc: &Document,
        root: bool,
        row: &mut Row,
        extra: &mut Document,
        keys: &[Value],
        out: &mut dyn FnMut(usize, Row),
    ) {
        for (name, v) in doc {
            if root && name == ID {
                continue;
            }
            let Some(f) = fields.iter().find(|f| f.name() == name) else {
                extra.insert(name.clone(), v.clone());
                continue;
            };
            match (f, v) {
                (
                    FieldPlan::Column {
                        kind: Kind::Json,
                        col,
                        ..
                    },
                    v,
                ) => {
                    row[*col] = Value::Json(json_text(v));
                }
                (FieldPlan::Column { col, kind, .. }, v) => match kind.to_value(v) {
                    Some(value) => row[*col] = value,
                    None => {
                        extra.insert(name.clone(), v.clone());
                    }
                },
                (FieldPlan::Flatten { fields, .. }, Bson::Document(sub)) => {
                    let mut inner = Document::new();
                    self.fill(table, fields, sub, false, row, &mut inner, keys, out);
                    // An empty document leaves no column set: `_extra` says it was there.
                    if sub.is_empty() || !inner.is_empty() {
                        extra.insert(name.clone(), Bson::Document(inner));
                    }
                }
                (
                    FieldPlan::Child {
                        count, table: t, ..
                    },
                    Bson::Array(items),
                ) => {
                    row[*count] = Value::Int(items.len() as i64);
                    let child = &self.tables[*t];
                    for (i, item) in items.iter().enumerate() {
                        let mut crow = vec![Value::Null; child.schema.columns.len()];
                        crow[..keys.len()].clone_from_slice(keys);
                        crow[keys.len()] = Value::Int(i as i64);
                        let mut cextra = Document::new();
                        match (item, child.value) {
                            (item, Some((col, kind))) => match kind.to_value(item) {
                                Some(v) if !matches!(item, Bson::Null) || kind == Kind::Json => {
                                    crow[col] = v
                                }
                                _ => {
                                    cextra.insert(ELEMENT, item.clone());
                                }
                            },
                            (Bson::Document(d), None) => {
                                let ckeys = &crow[..=keys.len()].to_vec();
                                self.fill(
                                    child,
                                    &child.fields,
                                    d,
                                    false,
                                    &mut crow,
                                    &mut cextra,
                                    ckeys,
                                    out,
                                );
                            }
                            (other, None) => {
                                cextra.insert(ELEMENT, other.clone());
                            }
                        }
                        set_extra(&mut crow, child.extra, cextra);
                        out(*t, crow);
                    }
                }
                (_, v) => {
                    extra.insert(name.clone(), v.clone());
                }
            }
        }
        let _ = table;
    }

    /// A document back from its row and the rows of its child tables (`children`
    /// holds each child table's rows of this document, in key order).
    pub fn document(&self, row: &Row, children: &[Vec<Row>]) -> Result<Document, String> {
        let root = &self.tables[0];
        let mut doc = Document::new();
        doc.insert(
            ID,
            self.id.to_bson(&row[0]).map_err(|e| format!("_id: {e}"))?,
        );
        self.build(root, &root.fields, row, &row[..1], children, &mut doc)?;
        merge_extra(&mut doc, &row[root.extra])?;
        Ok(doc)
    }

    fn build(
        &self,
        table: &TablePlan,
        fields: &[FieldPlan],
        row: &Row,
        keys: &[Value],
        children: &[Vec<Row>],
        doc: &mut Document,
    ) -> Result<(), String> {
        for f in fields {
            match f {
                FieldPlan::Column { name, col, kind } => {
                    if !row[*col].is_null() {
                        let v = kind
                            .to_bson(&row[*col])
                            .map_err(|e| format!("`{}`: {e}", table.schema.columns[*col].name))?;
                        doc.insert(name.clone(), v);
                    }
                }
                FieldPlan::Flatten { name, fields } => {
                    let mut sub = Document::new();
                    self.build(table, fields, row, keys, children, &mut sub)?;
                    if !sub.is_empty() {
                        doc.insert(name.clone(), sub);
                    }
                }
                FieldPlan::Child {
                    name,
                    count,
                    table: t,
                } => {
                    let Value::Int(n) = row[*count] else {
                        continue;
                    };
                    let child = &self.tables[*t];
                    let rows: Vec<&Row> = children[*t]
                        .iter()
                        .filter(|r| r[..keys.len()] == *keys)
                        .collect();
                    if rows.len() as i64 != n {
                        return Err(format!(
                            "`{}` says the array `{name}` has {n} elements, but `{}` holds {} rows of it",
                            table.schema.columns[*count].name,
                            child.name,
                            rows.len()
                        ));
                    }
                    let mut items = Vec::with_capacity(rows.len());
                    for (i, r) in rows.iter().enumerate() {
                        if r[keys.len()] != Value::Int(i as i64) {
                            return Err(format!(
                                "`{}` has no row for position {i} of `{name}`",
                                child.name
                            ));
                        }
                        let mut el = Document::new();
                        if let Some((col, kind)) = child.value {
                            if !r[col].is_null() {
                                let v = kind
                                    .to_bson(&r[col])
                                    .map_err(|e| format!("`{}`: {e}", child.name))?;
                                items.push(v);
                                continue;
                            }
                        } else {
                            self.build(
                                child,
                                &child.fields,
                                r,
                                &r[..=keys.len()],
                                children,
                                &mut el,
                            )?;
                        }
                        let mut wrapper = el;
                        merge_extra(&mut wrapper, &r[child.extra])?;
                        match wrapper.remove(ELEMENT) {
                            Some(v) if wrapper.is_empty() => items.push(v),
                            Some(_) => {
                                return Err(format!(
                                    "`{}` position {i}: an element is either a value or a document",
                                    child.name
                                ))
                            }
                            None => items.push(Bson::Document(wrapper)),
                        }
                    }
                    doc.insert(name.clone(), Bson::Array(items));
                }
            }
        }
        Ok(())
    }
}

fn set_extra(row: &mut Row, col: usize, extra: Document) {
    if !extra.is_empty() {
        row[col] = Value::Json(json_text(&Bson::Document(extra)));
    }
}

fn merge_extra(doc: &mut Document, extra: &Value) -> Result<(), String> {
    match extra {
        Value::Null => Ok(()),
        Value::Json(text) => match parse_json_text(text)? {
            Bson::Document(e) => {
                merge(doc, e);
                Ok(())
            }
            other => Err(format!(
                "`_extra` holds {}, not a document",
                type_name(&other)
            )),
        },
        other => Err(format!("`_extra` holds {}", other.kind())),
    }
}

/// Put what `_extra` holds into a document built from columns: nested documents
/// merge, anything else is set.
fn merge(doc: &mut Document, extra: Document) {
    for (k, v) in extra {
        match (doc.get_mut(&k), v) {
            (Some(Bson::Document(d)), Bson::Document(e)) => merge(d, e),
            (_, v) => {
                doc.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::CollectionStats;
    use crate::kind::canonical_text;
    use crate::mapping::decide;
    use bson::doc;

    fn round_trip(sample: &[Document], docs: &[Document]) {
        let mut s = CollectionStats::default();
        for d in sample {
            s.add(d);
        }
        let map = decide("c", "c", &s, &mut Default::default());
        let plan = Plan::new(&map).unwrap();
        for d in docs {
            let mut by_table: Vec<Vec<Row>> = vec![Vec::new(); plan.tables.len()];
            plan.rows(d, &mut |t, r| by_table[t].push(r)).unwrap();
            let root = by_table[0].pop().unwrap();
            let back = plan.document(&root, &by_table).unwrap();
            assert_eq!(
                canonical_text(&Bson::Document(back)),
                canonical_text(&Bson::Document(d.clone()))
            );
        }
    }

    #[test]
    fn documents_come_back_from_their_rows() {
        let docs = [
            doc! {"_id": 1, "a": "x", "n": {"b": 1, "c": {"d": true}}, "items": [{"k": 1, "sub": [{"z": 1}]}, {"k": 2}], "tags": ["a", 1]},
            doc! {"_id": 2, "a": null, "n": {}, "items": [], "tags": []},
            doc! {"_id": 3, "n": {"c": {}}, "items": [{"k": "other", "new": 5}, 7, null]},
            doc! {"_id": 4, "a": 5, "n": "flat", "items": "no", "unknown": {"x": [1]}},
            doc! {"_id": 5, "n": {"b": null, "c": null}},
        ];
        round_trip(&docs[..1], &docs);
        round_trip(&docs, &docs);
    }

    #[test]
    fn document_ids_that_differ_only_in_field_order_are_two_keys() {
        let docs = [
            doc! {"_id": {"a": 1, "b": 2}},
            doc! {"_id": {"b": 2, "a": 1}},
        ];
        let mut s = CollectionStats::default();
        docs.iter().for_each(|d| s.add(d));
        let plan = Plan::new(&decide("c", "c", &s, &mut Default::default())).unwrap();
        let key = |d: &Document| {
            let mut k = None;
            plan.rows(d, &mut |_, r| k = Some(r[0].clone())).unwrap();
            k.unwrap()
        };
        assert_ne!(key(&docs[0]), key(&docs[1]));
        round_trip(&docs, &docs);
    }

    #[test]
    fn an_id_that_does_not_fit_the_key_is_a_bad_document() {
        let mut s = CollectionStats::default();
        s.add(&doc! {"_id": 1});
        let plan = Plan::new(&decide("c", "c", &s, &mut Default::default())).unwrap();
        let err = plan.rows(&doc! {"_id": "x"}, &mut |_, _| {}).unwrap_err();
        assert_eq!(err.key, r#"_id="x""#);
        assert!(err.reason.contains("`_id` is string"), "{}", err.reason);
        let mut s = CollectionStats::default();
        s.add(&doc! {"_id": Bson::Decimal128("1.5".parse().unwrap())});
        let plan = Plan::new(&decide("c", "c", &s, &mut Default::default())).unwrap();
        let id = Bson::Decimal128("1E+3".parse().unwrap());
        let err = plan.rows(&doc! {"_id": id}, &mut |_, _| {}).unwrap_err();
        assert!(
            err.reason.starts_with("this decimal has no exact form"),
            "{}",
            err.reason
        );
    }
}
