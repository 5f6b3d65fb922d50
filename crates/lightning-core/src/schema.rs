//! Table schemas: what the catalog holds and what Lightning DDL describes.

use serde::{Deserialize, Serialize};

use crate::types::LightningType;
use crate::value::{Row, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: LightningType,
    pub nullable: bool,
    /// Default expression as Lightning DDL text (`'abc'`, `0`, `CURRENT_TIMESTAMP`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default)]
    pub autoincrement: bool,
    /// The next value the source would have generated (a sequence's position).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoincrement_next: Option<i64>,
    /// The column's type in the source, as the source declared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
}

impl ColumnSchema {
    pub fn new(name: impl Into<String>, ty: LightningType) -> Self {
        ColumnSchema {
            name: name.into(),
            ty,
            nullable: true,
            default: None,
            autoincrement: false,
            autoincrement_next: None,
            source_type: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexKind {
    #[serde(rename = "BTREE")]
    BTree,
    #[serde(rename = "HASH")]
    Hash,
    #[serde(rename = "FULLTEXT")]
    FullText,
}

impl IndexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::BTree => "BTREE",
            IndexKind::Hash => "HASH",
            IndexKind::FullText => "FULLTEXT",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSchema {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    pub kind: IndexKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueConstraint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConstraint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The boolean expression, as SQL text.
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `CASCADE`, `SET NULL`, `SET DEFAULT`, `RESTRICT`; `None` is NO ACTION.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    pub name: String,
    pub columns: Vec<ColumnSchema>,
    /// Column names of the primary key; empty when the table has none (rows are then
    /// keyed by a row id).
    #[serde(default)]
    pub primary_key: Vec<String>,
    #[serde(default)]
    pub uniques: Vec<UniqueConstraint>,
    #[serde(default)]
    pub checks: Vec<CheckConstraint>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    #[serde(default)]
    pub indexes: Vec<IndexSchema>,
}

impl TableSchema {
    pub fn new(name: impl Into<String>) -> Self {
        TableSchema {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
        }
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn column(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Positions of the primary-key columns.
    pub fn key_positions(&self) -> Vec<usize> {
        self.primary_key
            .iter()
            .filter_map(|k| self.column_index(k))
            .collect()
    }

    /// Unique column sets that the store enforces with an index: unique constraints
    /// and unique indexes.
    pub fn unique_sets(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        for (i, u) in self.uniques.iter().enumerate() {
            let name = u
                .name
                .clone()
                .unwrap_or_else(|| format!("{}_unique_{i}", self.name));
            out.push((
                name,
                u.columns
                    .iter()
                    .filter_map(|c| self.column_index(c))
                    .collect(),
            ));
        }
        for ix in self.indexes.iter().filter(|ix| ix.unique) {
            out.push((
                ix.name.clone(),
                ix.columns
                    .iter()
                    .filter_map(|c| self.column_index(c))
                    .collect(),
            ));
        }
        out
    }

    /// Check that the schema is coherent: columns, names, keys and indexes.
    pub fn validate(&self) -> Result<(), String> {
        if self.columns.is_empty() {
            return Err(format!("table `{}` has no columns", self.name));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(format!(
                    "table `{}`: column `{}` is defined twice",
                    self.name, c.name
                ));
            }
        }
        let known = |what: &str, cols: &[String]| -> Result<(), String> {
            match cols.iter().find(|c| self.column(c).is_none()) {
                Some(c) => Err(format!(
                    "table `{}`: {what} names `{c}`, which is not a column",
                    self.name
                )),
                None if cols.is_empty() && what != "the primary key" => {
                    Err(format!("table `{}`: {what} has no columns", self.name))
                }
                None => Ok(()),
            }
        };
        known("the primary key", &self.primary_key)?;
        for u in &self.uniques {
            known("a unique constraint", &u.columns)?;
        }
        for ix in &self.indexes {
            known(&format!("index `{}`", ix.name), &ix.columns)?;
        }
        for fk in &self.foreign_keys {
            known("a foreign key", &fk.columns)?;
        }
        Ok(())
    }

    /// Check a row against the column types and NOT NULL; the reason names the column.
    pub fn check_row(&self, row: &Row) -> Result<(), String> {
        if row.len() != self.columns.len() {
            return Err(format!(
                "row has {} values but table `{}` has {} columns",
                row.len(),
                self.name,
                self.columns.len()
            ));
        }
        for (col, v) in self.columns.iter().zip(row) {
            if matches!(v, Value::Null) && !col.nullable {
                return Err(format!(
                    "column `{}` is NOT NULL but the value is NULL",
                    col.name
                ));
            }
            v.fits_type(col.ty)
                .map_err(|e| format!("column `{}`: {e}", col.name))?;
        }
        Ok(())
    }

    /// The key values of a row, rendered for messages (`id=42` or `a=1, b=x`).
    /// For a table without a primary key, the row id when it is known.
    pub fn describe_key(&self, rowid: Option<i64>, row: &Row) -> String {
        let positions = self.key_positions();
        if positions.is_empty() {
            return rowid.map_or_else(|| "(no primary key)".into(), |id| format!("rowid={id}"));
        }
        positions
            .iter()
            .map(|&p| {
                let v = row
                    .get(p)
                    .and_then(|v| v.to_text())
                    .unwrap_or_else(|| "NULL".into());
                format!("{}={}", self.columns[p].name, v)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
