//! An Oracle schema as a script describes it: tables with their columns as
//! declared, constraints and indexes, and the objects that are not tables.
//!
//! Names are kept as Oracle stores them: an unquoted name folded to upper case,
//! a quoted one exactly as written. Two names are the same when they are equal.

use lightning_core::schema::{ForeignKey, IndexSchema};

/// `"OWNER"."NAME"`; the owner is absent when the script does not name one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub owner: Option<String>,
    pub name: String,
}

impl QualifiedName {
    /// As Oracle writes it: every part quoted.
    pub fn sql(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        match &self.owner {
            Some(o) => format!("{}.{}", q(o), q(&self.name)),
            None => q(&self.name),
        }
    }

    /// Whether `other` names the same table: the same name, and the same owner
    /// when both say one.
    pub fn same(&self, other: &QualifiedName) -> bool {
        self.name == other.name
            && match (&self.owner, &other.owner) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// A name as Lightning spells it: a name Oracle keeps in upper case (every
/// unquoted name, and quoted ones written so) is lower-cased, as PostgreSQL
/// folds; a name with a lower-case letter was quoted on purpose and is kept.
pub fn lightning_ident(stored: &str) -> String {
    if stored.chars().any(char::is_lowercase) {
        stored.to_string()
    } else {
        stored.to_lowercase()
    }
}

#[derive(Debug, Clone, Default)]
pub struct OraColumn {
    /// As Oracle stores it.
    pub name: String,
    /// The type, lower-case and normalised: `varchar2(100)`, `number(10,2)`,
    /// `timestamp with time zone(6)`, `interval day to second(2,6)`.
    pub ty: String,
    pub nullable: bool,
    pub identity: bool,
    /// The default expression as written.
    pub default: Option<String>,
    /// A virtual column's expression: it holds no data.
    pub computed: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OraTable {
    pub name: Option<QualifiedName>,
    pub columns: Vec<OraColumn>,
    pub primary_key: Vec<String>,
    pub uniques: Vec<(Option<String>, Vec<String>)>,
    pub checks: Vec<(Option<String>, String)>,
    /// Foreign keys with the referenced table's name.
    pub foreign_keys: Vec<(ForeignKey, QualifiedName)>,
    pub indexes: Vec<IndexSchema>,
}

impl OraTable {
    pub fn qualified(&self) -> QualifiedName {
        self.name.clone().unwrap_or(QualifiedName {
            owner: None,
            name: String::new(),
        })
    }

    pub fn column_mut(&mut self, name: &str) -> Option<&mut OraColumn> {
        self.columns.iter_mut().find(|c| c.name == name)
    }
}

/// A view, sequence, synonym or PL/SQL unit: manual work.
#[derive(Debug, Clone)]
pub struct OraObject {
    pub kind: &'static str,
    pub name: String,
    pub definition: String,
}
