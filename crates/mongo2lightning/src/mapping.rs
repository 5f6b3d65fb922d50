//! How a collection's documents become rows: the mapping file's model, the default
//! decisions taken from a sample, and the tables a mapping describes.
//!
//! Every table of a collection ends with `_extra`, a JSON column holding what the
//! typed columns do not: fields the mapping does not name, values of another type
//! than their column's, explicit nulls (a NULL column means the field is absent).
//! Tables and `_extra` together give back every document exactly.

use std::collections::HashSet;

use lightning_core::report::{ConversionReport, Finding, Severity};
use lightning_core::{ColumnSchema, LightningType, TableSchema};
use serde::{Deserialize, Serialize};

use crate::infer::{percent, CollectionStats, FieldStats};
use crate::kind::Kind;

pub const EXTRA: &str = "_extra";
pub const ID: &str = "_id";
pub const POSITION: &str = "position";
pub const FORMAT: u32 = 1;

/// A mapping file: how each collection becomes tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub format: u32,
    pub collections: Vec<CollectionMap>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionMap {
    pub collection: String,
    /// The table of the documents (child tables are named in `fields`).
    pub table: String,
    /// What the `_id` column holds.
    pub id: Kind,
    pub fields: Vec<FieldMap>,
}

/// One field of a document and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMap {
    pub field: String,
    #[serde(flatten)]
    pub to: Target,
    /// What the sample saw (for the reader; ignored when the file is read).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    /// A column of the table.
    Column {
        column: String,
        #[serde(rename = "type")]
        kind: Kind,
    },
    /// A child table with a row per array element: the parent's key, `position`,
    /// and the element's fields (`fields`) or the element itself (`value`). The
    /// parent keeps the array's length in `count_column` (NULL: no array).
    Child {
        table: String,
        count_column: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<FieldMap>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<ValueColumn>,
    },
    /// A nested document whose fields become columns of this table.
    Flatten { flatten: Vec<FieldMap> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueColumn {
    pub column: String,
    #[serde(rename = "type")]
    pub kind: Kind,
}

/// Limits of the default decisions.
const MAX_FLATTEN_DEPTH: usize = 3;
const MAX_FLATTEN_FIELDS: usize = 40;

impl Mapping {
    pub fn parse(text: &str) -> Result<Mapping, String> {
        let m: Mapping = serde_json::from_str(text).map_err(|e| {
            format!("{e} (each field needs `column` and `type`, `flatten`, or `table` and `count_column`)")
        })?;
        if m.format != FORMAT {
            return Err(format!(
                "mapping format {} is not known (this version reads format {FORMAT})",
                m.format
            ));
        }
        for c in &m.collections {
            c.tables()
                .map_err(|e| format!("collection `{}`: {e}", c.collection))?;
        }
        Ok(m)
    }

    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a mapping serializes");
        s.push('\n');
        s
    }

    pub fn collection(&self, name: &str) -> Option<&CollectionMap> {
        self.collections.iter().find(|c| c.collection == name)
    }
}

/// Names taken in one table: a field whose name is taken gets `_2`, `_3`, ...
struct Names(HashSet<String>);

impl Names {
    fn take(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while !self.0.insert(name.clone()) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        name
    }
}

/// The default mapping of a collection from what its sample holds. `taken` holds
/// the table names already used (other collections' tables).
pub fn decide(
    collection: &str,
    table: &str,
    stats: &CollectionStats,
    taken: &mut HashSet<String>,
) -> CollectionMap {
    let id_stats = stats
        .root
        .fields
        .iter()
        .find(|(n, _)| n == ID)
        .map(|(_, s)| s);
    let id = match id_stats.map(|s| s.value_types()).as_deref() {
        Some([one]) => kind_of_name(one).unwrap_or(Kind::Json),
        _ => Kind::Json,
    };
    taken.insert(table.to_string());
    let mut names = Names([ID, EXTRA].iter().map(|s| s.to_string()).collect());
    let ctx = Ctx {
        table,
        parent_keys: &[format!("{table}_id")],
    };
    let fields = by_name(&stats.root)
        .into_iter()
        .filter(|(n, _)| n != ID)
        .map(|(n, s)| decide_field(n, s, stats.documents, "", &mut names, taken, &ctx, 0))
        .collect();
    CollectionMap {
        collection: collection.into(),
        table: table.into(),
        id,
        fields,
    }
}

struct Ctx<'a> {
    /// The table the fields go to.
    table: &'a str,
    /// Key columns a child table of this table starts with.
    parent_keys: &'a [String],
}

#[allow(clippy::too_many_arguments)]
fn decide_field(
    name: &str,
    s: &FieldStats,
    parents: u64,
    prefix: &str,
    names: &mut Names,
    taken: &mut HashSet<String>,
    ctx: &Ctx<'_>,
    depth: usize,
) -> FieldMap {
    let base = format!("{prefix}{name}");
    let types = s.value_types();
    let seen = s.describe_types();
    let to = match types.as_slice() {
        ["object"] if depth < MAX_FLATTEN_DEPTH && s.fields.len() <= MAX_FLATTEN_FIELDS => {
            Target::Flatten {
                flatten: by_name(s)
                    .into_iter()
                    .map(|(n, f)| {
                        let objects = s.types.get("object").copied().unwrap_or(0);
                        decide_field(
                            n,
                            f,
                            objects,
                            &format!("{base}_"),
                            names,
                            taken,
                            ctx,
                            depth + 1,
                        )
                    })
                    .collect(),
            }
        }
        ["array"] if element_types(s) == ["object"] => {
            let el = s.elements.as_deref().expect("arrays have element stats");
            let child = unique_table(taken, &format!("{}_{base}", ctx.table));
            let count_column = names.take(&format!("{base}_count"));
            let mut child_names = Names(HashSet::new());
            let mut keys: Vec<String> = ctx.parent_keys.to_vec();
            for k in &keys {
                child_names.take(k);
            }
            child_names.take(POSITION);
            child_names.take(EXTRA);
            keys.push(format!("{base}_position"));
            let child_ctx = Ctx {
                table: &child,
                parent_keys: &keys,
            };
            let fields = by_name(el)
                .into_iter()
                .map(|(n, f)| {
                    let objects = el.types.get("object").copied().unwrap_or(0);
                    decide_field(n, f, objects, "", &mut child_names, taken, &child_ctx, 0)
                })
                .collect();
            Target::Child {
                table: child,
                count_column,
                fields,
                value: None,
            }
        }
        [one] => Target::Column {
            column: names.take(&base),
            kind: kind_of_name(one).unwrap_or(Kind::Json),
        },
        _ => Target::Column {
            column: names.take(&base),
            kind: Kind::Json,
        },
    };
    FieldMap {
        field: name.into(),
        to,
        seen: format!(
            "{seen}; present in {}",
            percent(s.seen, parents.max(s.seen))
        ),
    }
}

/// A document's fields by name: tables list them in that order, whatever order
/// the source kept them in (a JSON file's reader may not keep it).
fn by_name(s: &FieldStats) -> Vec<&(String, FieldStats)> {
    let mut v: Vec<_> = s.fields.iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn element_types(s: &FieldStats) -> Vec<&'static str> {
    s.elements.as_ref().map_or(Vec::new(), |e| e.value_types())
}

fn unique_table(taken: &mut HashSet<String>, wanted: &str) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{wanted}_{n}");
        n += 1;
    }
    name
}

fn kind_of_name(name: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.name() == name)
}

/// A table of a collection.
#[derive(Debug, Clone)]
pub struct MappedTable {
    pub schema: TableSchema,
}

impl CollectionMap {
    /// The tables this mapping fills, the documents' table first.
    pub fn tables(&self) -> Result<Vec<MappedTable>, String> {
        let mut root = TableSchema::new(&self.table);
        let mut id = ColumnSchema::new(ID, self.id.column_type());
        id.nullable = false;
        id.source_type = Some(self.id.name().into());
        root.columns.push(id);
        root.primary_key = vec![ID.into()];
        let mut out = Vec::new();
        let keys = vec![(format!("{}_id", self.table), self.id)];
        add_fields(&mut root, &self.fields, "", &keys, &mut out)?;
        root.columns.push(extra_column());
        root.validate()?;
        out.insert(0, MappedTable { schema: root });
        let mut seen = HashSet::new();
        for t in &out {
            if !seen.insert(t.schema.name.clone()) {
                return Err(format!("the table `{}` is named twice", t.schema.name));
            }
        }
        Ok(out)
    }
}

fn extra_column() -> ColumnSchema {
    let mut c = ColumnSchema::new(EXTRA, LightningType::Json);
    c.source_type = Some("fields the columns do not hold".into());
    c
}

fn add_fields(
    table: &mut TableSchema,
    fields: &[FieldMap],
    path: &str,
    keys: &[(String, Kind)],
    out: &mut Vec<MappedTable>,
) -> Result<(), String> {
    for f in fields {
        let here = format!("{path}{}", f.field);
        match &f.to {
            Target::Column { column, kind } => {
                let mut c = ColumnSchema::new(column, kind.column_type());
                c.source_type = Some(format!("{kind} {here}"));
                table.columns.push(c);
            }
            Target::Flatten { flatten } => {
                add_fields(table, flatten, &format!("{here}."), keys, out)?;
            }
            Target::Child {
                table: child,
                count_column,
                fields,
                value,
            } => {
                let mut c = ColumnSchema::new(count_column, LightningType::BigInt);
                c.source_type = Some(format!("length of array {here}"));
                table.columns.push(c);
                let mut t = TableSchema::new(child);
                for (k, kind) in keys {
                    let mut c = ColumnSchema::new(k, kind.column_type());
                    c.nullable = false;
                    t.columns.push(c);
                    t.primary_key.push(k.clone());
                }
                let mut pos = ColumnSchema::new(POSITION, LightningType::BigInt);
                pos.nullable = false;
                pos.source_type = Some(format!("index in array {here}"));
                t.columns.push(pos);
                t.primary_key.push(POSITION.into());
                if let Some(v) = value {
                    let mut c = ColumnSchema::new(&v.column, v.kind.column_type());
                    c.source_type = Some(format!("{} element of {here}", v.kind));
                    t.columns.push(c);
                }
                let mut child_keys = keys.to_vec();
                child_keys.push((format!("{}_position", here.replace('.', "_")), Kind::Long));
                let at = out.len();
                add_fields(&mut t, fields, "", &child_keys, out)?;
                t.columns.push(extra_column());
                t.validate()?;
                out.insert(at, MappedTable { schema: t });
            }
        }
    }
    Ok(())
}

/// Rows a document gives on average: its own, and one per element of the arrays
/// that child tables hold, as the sample saw them.
pub fn rows_per_document(map: &CollectionMap, stats: &CollectionStats) -> f64 {
    fn elements(fields: &[FieldMap], s: &FieldStats) -> u64 {
        fields
            .iter()
            .map(|f| {
                let Some((_, sub)) = s.fields.iter().find(|(n, _)| *n == f.field) else {
                    return 0;
                };
                match &f.to {
                    Target::Column { .. } => 0,
                    Target::Flatten { flatten } => elements(flatten, sub),
                    Target::Child { fields, .. } => {
                        sub.total_len + sub.elements.as_ref().map_or(0, |e| elements(fields, e))
                    }
                }
            })
            .sum()
    }
    if stats.documents == 0 {
        return 1.0;
    }
    1.0 + elements(&map.fields, &stats.root) as f64 / stats.documents as f64
}

/// Findings of a collection's mapping: fields with several types, what goes to JSON.
pub fn findings(c: &CollectionMap, stats: Option<&CollectionStats>, report: &mut ConversionReport) {
    fn walk(fields: &[FieldMap], table: &str, path: &str, report: &mut ConversionReport) {
        for f in fields {
            let here = format!("{path}{}", f.field);
            match &f.to {
                Target::Column { column, kind } => {
                    if *kind == Kind::Json && f.seen.contains(',') {
                        report.findings.push(Finding::new(
                            Severity::Warning,
                            format!("{table}.{column}"),
                            format!(
                                "field `{here}` has several types ({}): a JSON column holds each value exactly (a mapping file can give it one type; other values then go to `_extra`)",
                                f.seen
                            ),
                        ));
                    }
                }
                Target::Flatten { flatten } => walk(flatten, table, &format!("{here}."), report),
                Target::Child {
                    table: child,
                    fields,
                    ..
                } => {
                    report.findings.push(Finding::new(
                        Severity::Info,
                        child.clone(),
                        format!("array `{here}` of `{table}` becomes a child table, one row per element"),
                    ));
                    walk(fields, child, "", report)
                }
            }
        }
    }
    walk(&c.fields, &c.table, "", report);
    if let Some(s) = stats {
        if c.id == Kind::Json {
            let types = s
                .root
                .fields
                .iter()
                .find(|(n, _)| n == ID)
                .map_or_else(|| "none".into(), |(_, f)| f.describe_types());
            report.findings.push(Finding::new(
                Severity::Info,
                format!("{}._id", c.table),
                format!("`_id` is {types}: the key column holds it as Extended JSON"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn nested_documents_flatten_and_arrays_of_documents_become_child_tables() {
        let mut s = CollectionStats::default();
        s.add(&doc! {"_id": 1, "name": "a", "address": {"city": "x"}, "items": [{"sku": "s", "qty": 2}], "tags": ["t"]});
        s.add(&doc! {"_id": 2, "name": 5, "items": []});
        let mut taken = HashSet::new();
        let m = decide("orders", "orders", &s, &mut taken);
        let tables = m.tables().unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.schema.name.as_str()).collect();
        assert_eq!(names, ["orders", "orders_items"]);
        let cols: Vec<String> = tables[0]
            .schema
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty))
            .collect();
        assert_eq!(
            cols,
            [
                "_id INTEGER",
                "address_city TEXT",
                "items_count BIGINT",
                "name JSON",
                "tags JSON",
                "_extra JSON"
            ]
        );
        let child: Vec<&str> = tables[1]
            .schema
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(child, ["orders_id", "position", "qty", "sku", "_extra"]);
        assert_eq!(tables[1].schema.primary_key, ["orders_id", "position"]);
        let text = Mapping {
            format: FORMAT,
            collections: vec![m.clone()],
        }
        .to_text();
        assert_eq!(Mapping::parse(&text).unwrap().collections[0], m);
    }
}
