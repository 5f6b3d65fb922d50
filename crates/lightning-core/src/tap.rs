//! `export` as a Singer tap: `--discover` writes a catalog of the selected tables,
//! `--catalog` exports only the streams a catalog selects, `--state` resumes from
//! the value of the last STATE message an export wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value as Json};

use crate::cli::TableFilter;
use crate::pipeline::{Partition, RowEmitter, Source, SourceError};
use crate::schema::TableSchema;
use crate::store::Checkpoint;
use crate::tool::CatalogTable;

/// The Singer tap options of `export`.
#[derive(Debug, Clone, Default, Args)]
pub struct TapArgs {
    /// Write a Singer catalog of the selected tables (schemas, keys, metadata) to
    /// stdout instead of exporting.
    #[arg(long, conflicts_with_all = ["catalog", "state"])]
    pub discover: bool,
    /// Export only the streams this Singer catalog selects (`--properties` is the
    /// older name).
    #[arg(long, alias = "properties", value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Go on from this Singer state: the `value` of the last STATE message an
    /// export wrote (`{"bookmarks": ...}`).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TapError {
    #[error("cannot read the {what} file {path}: {reason}")]
    Read {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error("the catalog {path}: {message}")]
    Catalog { path: String, message: String },
    #[error("the state {path}: {message}")]
    State { path: String, message: String },
}

/// What `--catalog` and `--state` gave an export.
#[derive(Debug, Default)]
pub struct TapInput {
    /// The streams to export; all when `None`.
    pub streams: Option<BTreeSet<String>>,
    /// The bookmarks to go on from.
    pub state: Option<BTreeMap<String, Checkpoint>>,
}

/// Whether a table can be read incrementally: a later export goes on after its
/// last key. A keyless table has no such point, and a file source's positions
/// belong to that one file.
pub fn incremental(t: &TableSchema, live_source: bool) -> bool {
    live_source && !t.primary_key.is_empty()
}

/// The Singer catalog of `tables` (`--discover`).
pub fn catalog(tables: &[TableSchema], live_source: bool) -> Json {
    let streams: Vec<Json> = tables
        .iter()
        .map(|t| {
            let inc = incremental(t, live_source);
            let mut metadata = vec![json!({
                "breadcrumb": [],
                "metadata": {
                    "selected": true,
                    "table-key-properties": t.primary_key,
                    "forced-replication-method": if inc { "INCREMENTAL" } else { "FULL_TABLE" },
                    "valid-replication-keys": if inc { t.primary_key.clone() } else { Vec::new() },
                },
            })];
            metadata.extend(t.columns.iter().map(|c| {
                let inclusion = if t.primary_key.contains(&c.name) {
                    "automatic"
                } else {
                    "available"
                };
                let source_type = c.source_type.clone().unwrap_or_else(|| c.ty.to_string());
                json!({
                    "breadcrumb": ["properties", c.name],
                    "metadata": { "inclusion": inclusion, "sql-datatype": source_type },
                })
            }));
            json!({
                "tap_stream_id": t.name,
                "stream": t.name,
                "schema": crate::stream::schema_message(t)["schema"],
                "key_properties": t.primary_key,
                "metadata": metadata,
            })
        })
        .collect();
    json!({ "streams": streams })
}

/// The streams a catalog file names and the ones it selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub path: String,
    pub listed: Vec<String>,
    pub selected: BTreeSet<String>,
}

fn read_json(what: &'static str, path: &Path) -> Result<Json, TapError> {
    let read_err = |reason: String| TapError::Read {
        what,
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| read_err(format!("not valid JSON: {e}")))
}

/// Read a Singer catalog (`--catalog FILE`).
pub fn read_catalog(path: &Path) -> Result<Selection, TapError> {
    parse_catalog(path, &read_json("catalog", path)?)
}

fn parse_catalog(path: &Path, doc: &Json) -> Result<Selection, TapError> {
    let err = |message: String| TapError::Catalog {
        path: path.display().to_string(),
        message,
    };
    let streams = doc
        .get("streams")
        .and_then(Json::as_array)
        .ok_or_else(|| err("no `streams` list: not a Singer catalog".into()))?;
    let mut listed = Vec::new();
    // Per stream: its selection, when it says one.
    let mut chosen: Vec<Option<bool>> = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let id = s
            .get("tap_stream_id")
            .or_else(|| s.get("stream"))
            .and_then(Json::as_str)
            .ok_or_else(|| err(format!("stream {} has no `tap_stream_id`", i + 1)))?;
        let metadata = match s.get("metadata") {
            None | Some(Json::Null) => &[][..],
            Some(Json::Array(m)) => m.as_slice(),
            Some(_) => return Err(err(format!("stream `{id}`: `metadata` is not a list"))),
        };
        let stream_level = metadata
            .iter()
            .find(|m| {
                m.get("breadcrumb")
                    .and_then(Json::as_array)
                    .is_some_and(Vec::is_empty)
            })
            .and_then(|m| m.pointer("/metadata/selected"))
            .or_else(|| s.get("selected"));
        let selected = match stream_level {
            None | Some(Json::Null) => None,
            Some(Json::Bool(b)) => Some(*b),
            Some(other) => {
                return Err(err(format!(
                    "stream `{id}`: `selected` is true or false, not {other}"
                )))
            }
        };
        if selected == Some(true) {
            check_columns(id, metadata).map_err(err)?;
        }
        listed.push(id.to_string());
        chosen.push(selected);
    }
    // A catalog that selects nothing at all (as discovered): every stream.
    let any = chosen.iter().any(Option::is_some);
    let selected = listed
        .iter()
        .zip(&chosen)
        .filter(|(_, c)| !any || **c == Some(true))
        .map(|(s, _)| s.clone())
        .collect();
    Ok(Selection {
        path: path.display().to_string(),
        listed,
        selected,
    })
}

/// Every column of a stream is exported: a deselected one is refused rather than
/// exported anyway.
fn check_columns(stream: &str, metadata: &[Json]) -> Result<(), String> {
    for m in metadata {
        let crumb = m.get("breadcrumb").and_then(Json::as_array);
        let column = match crumb.map(Vec::as_slice) {
            Some([p, c]) if p == "properties" => c.as_str().unwrap_or("?"),
            _ => continue,
        };
        if m.pointer("/metadata/selected") == Some(&Json::Bool(false)) {
            return Err(format!(
                "stream `{stream}`: column `{column}` is deselected, but column selection is \
                 not supported: every column is exported (select them all; key columns are \
                 never optional)"
            ));
        }
    }
    Ok(())
}

impl Selection {
    /// The selected streams, checked against what the source has: `tables` (the
    /// ones the table filter selects, under their target names) and `catalog`
    /// (every table of the source).
    pub fn resolve(
        &self,
        tables: &[TableSchema],
        catalog: &[CatalogTable],
        filter: &TableFilter,
    ) -> Result<BTreeSet<String>, TapError> {
        let err = |message: String| TapError::Catalog {
            path: self.path.clone(),
            message,
        };
        let have: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        for s in &self.listed {
            if have.contains(&s.as_str()) {
                continue;
            }
            let filtered_out = catalog
                .iter()
                .any(|t| &t.target == s && !filter.selects(&t.name));
            if !filtered_out {
                return Err(err(format!(
                    "the source has no table `{s}` (it has: {}); discover the catalog again",
                    have.join(", ")
                )));
            }
            if self.selected.contains(s) {
                return Err(err(format!(
                    "stream `{s}` is selected, but --tables/--exclude leave it out"
                )));
            }
        }
        if self.selected.is_empty() {
            return Err(err("selects no stream".into()));
        }
        Ok(self.selected.clone())
    }
}

/// Read a Singer state (`--state FILE`): the bookmarks an export wrote, by
/// partition. An empty object is an empty state (a first run).
pub fn read_state(path: &Path) -> Result<BTreeMap<String, Checkpoint>, TapError> {
    parse_state(path, &read_json("state", path)?)
}

fn parse_state(path: &Path, doc: &Json) -> Result<BTreeMap<String, Checkpoint>, TapError> {
    let err = |message: String| TapError::State {
        path: path.display().to_string(),
        message,
    };
    // A whole STATE message is taken for its value.
    let value = match doc.get("type") {
        Some(t) if t == "STATE" => doc.get("value").unwrap_or(&Json::Null),
        _ => doc,
    };
    let Some(obj) = value.as_object() else {
        return Err(err("not a JSON object".into()));
    };
    if obj.is_empty() {
        return Ok(BTreeMap::new());
    }
    let Some(marks) = obj.get("bookmarks") else {
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        return Err(err(format!(
            "no `bookmarks` (it has: {}): not a state this tool's export wrote",
            keys.join(", ")
        )));
    };
    let Some(marks) = marks.as_object() else {
        return Err(err("`bookmarks` is not an object".into()));
    };
    let mut out = BTreeMap::new();
    for (id, mark) in marks {
        let ck: Checkpoint = serde_json::from_value(mark.clone()).map_err(|e| {
            err(format!(
                "bookmark `{id}` is not one this tool's export wrote ({e}); expected \
                 {{\"partition\", \"table\", \"position\", \"rows\", \"done\"}}"
            ))
        })?;
        if &ck.partition != id {
            return Err(err(format!(
                "bookmark `{id}` holds the partition `{}`",
                ck.partition
            )));
        }
        out.insert(id.clone(), ck);
    }
    Ok(out)
}

/// A source reduced to the partitions of the selected streams. When a selected
/// table is filled by another table's records (a document's child table), every
/// partition is read and the sink drops what is not selected.
pub struct Selected<'a> {
    pub inner: &'a dyn Source,
    pub streams: &'a BTreeSet<String>,
}

impl Source for Selected<'_> {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        let all = self.inner.partitions()?;
        let fed: BTreeSet<&str> = all.iter().map(|p| &*p.table).collect();
        if !self.streams.iter().all(|s| fed.contains(s.as_str())) {
            return Ok(all);
        }
        Ok(all
            .into_iter()
            .filter(|p| self.streams.contains(&*p.table))
            .collect())
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        self.inner.read(partition, resume, out)
    }

    fn content_id(&self) -> Option<String> {
        self.inner.content_id()
    }

    fn bad_row_fix(&self) -> &'static str {
        self.inner.bad_row_fix()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ColumnSchema;
    use crate::types::LightningType;

    fn table(name: &str, key: &[&str]) -> TableSchema {
        let mut t = TableSchema::new(name);
        let mut id = ColumnSchema::new("id", LightningType::BigInt);
        id.nullable = false;
        id.source_type = Some("INTEGER".into());
        t.columns.push(id);
        t.columns
            .push(ColumnSchema::new("note", LightningType::Text));
        t.primary_key = key.iter().map(|k| k.to_string()).collect();
        t
    }

    #[test]
    fn the_catalog_describes_each_stream() {
        let cat = catalog(&[table("a", &["id"]), table("b", &[])], true);
        let a = &cat["streams"][0];
        assert_eq!(a["tap_stream_id"], "a");
        let t = table("a", &["id"]);
        assert_eq!(a["schema"], crate::stream::schema_message(&t)["schema"]);
        assert_eq!(a["key_properties"], json!(["id"]));
        let top = &a["metadata"][0]["metadata"];
        assert_eq!(top["forced-replication-method"], "INCREMENTAL");
        assert_eq!(top["valid-replication-keys"], json!(["id"]));
        assert_eq!(top["selected"], true);
        assert_eq!(
            a["metadata"][1],
            json!({"breadcrumb": ["properties", "id"],
                   "metadata": {"inclusion": "automatic", "sql-datatype": "INTEGER"}})
        );
        assert_eq!(a["metadata"][2]["metadata"]["inclusion"], "available");
        assert_eq!(a["metadata"][2]["metadata"]["sql-datatype"], "TEXT");
        let b = &cat["streams"][1]["metadata"][0]["metadata"];
        assert_eq!(b["forced-replication-method"], "FULL_TABLE");
        // A file source's positions belong to that file.
        let file = catalog(&[table("a", &["id"])], false);
        assert_eq!(
            file["streams"][0]["metadata"][0]["metadata"]["forced-replication-method"],
            "FULL_TABLE"
        );
    }

    fn select(doc: Json) -> Result<Selection, TapError> {
        parse_catalog(Path::new("cat.json"), &doc)
    }

    #[test]
    fn a_catalog_selects_streams() {
        let discovered = catalog(&[table("a", &["id"]), table("b", &[])], true);
        let all = select(discovered.clone()).unwrap();
        assert_eq!(all.selected, ["a".to_string(), "b".into()].into());

        // Stream-level metadata, or the older top-level flag.
        let mut one = discovered.clone();
        one["streams"][1]["metadata"][0]["metadata"]["selected"] = json!(false);
        assert_eq!(select(one).unwrap().selected, ["a".to_string()].into());
        let old =
            json!({"streams": [{"tap_stream_id": "a"}, {"tap_stream_id": "b", "selected": true}]});
        assert_eq!(select(old).unwrap().selected, ["b".to_string()].into());
        // Nothing said about selection: every stream.
        let bare = json!({"streams": [{"stream": "a"}, {"stream": "b", "metadata": []}]});
        assert_eq!(select(bare).unwrap().selected.len(), 2);

        let mut col = discovered.clone();
        col["streams"][0]["metadata"][2]["metadata"]["selected"] = json!(false);
        let e = select(col).unwrap_err().to_string();
        assert!(
            e.contains("stream `a`: column `note` is deselected")
                && e.contains("column selection is not supported"),
            "{e}"
        );
        let e = select(json!({"tables": []})).unwrap_err().to_string();
        assert_eq!(
            e,
            "the catalog cat.json: no `streams` list: not a Singer catalog"
        );
    }

    #[test]
    fn a_selection_is_checked_against_the_source() {
        let tables = [table("a", &["id"])];
        let cat = |name: &str| CatalogTable {
            name: name.into(),
            source_name: name.into(),
            target: name.into(),
            columns: Vec::new(),
        };
        let source = [cat("a"), cat("b")];
        let filter = TableFilter {
            tables: vec!["a".into()],
            ..TableFilter::default()
        };
        let sel = select(json!({"streams": [{"stream": "a", "selected": true}, {"stream": "b"}]}))
            .unwrap();
        assert_eq!(
            sel.resolve(&tables, &source, &filter).unwrap(),
            ["a".to_string()].into()
        );
        let sel = select(json!({"streams": [{"stream": "b", "selected": true}]})).unwrap();
        let e = sel
            .resolve(&tables, &source, &filter)
            .unwrap_err()
            .to_string();
        assert!(e.contains("stream `b` is selected, but --tables"), "{e}");
        let sel = select(json!({"streams": [{"stream": "gone"}]})).unwrap();
        let e = sel
            .resolve(&tables, &source, &filter)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the source has no table `gone` (it has: a)"),
            "{e}"
        );
    }

    fn state(doc: Json) -> Result<BTreeMap<String, Checkpoint>, TapError> {
        parse_state(Path::new("state.json"), &doc)
    }

    #[test]
    fn a_state_is_read_or_refused_with_the_reason() {
        let mark =
            json!({"partition": "t", "table": "t", "position": "7", "rows": 7, "done": true});
        let got = state(json!({"bookmarks": {"t": mark}})).unwrap();
        assert_eq!(got["t"].position.as_deref(), Some("7"));
        let msg = state(json!({"type": "STATE", "value": {"bookmarks": {"t": mark}}})).unwrap();
        assert_eq!(msg, got);
        assert!(state(json!({})).unwrap().is_empty());

        let e = state(json!({"currently_syncing": null}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no `bookmarks` (it has: currently_syncing)"),
            "{e}"
        );
        let e = state(json!({"bookmarks": {"t": {"replication_key_value": 5}}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the state state.json: bookmark `t` is not one this tool's export wrote (missing field `partition`"),
            "{e}"
        );
        let e = state(json!({"bookmarks": {"u": mark}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bookmark `u` holds the partition `t`"), "{e}");
        let e = state(json!([1])).unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
    }
}
