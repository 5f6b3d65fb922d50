//! A PostgreSQL database as the live catalog and a pg_dump script both describe it.
//!
//! Definitions are kept as PostgreSQL prints them — `format_type`, `pg_get_expr`,
//! `pg_get_constraintdef`, `pg_get_indexdef`, with an empty `search_path` so every
//! name is schema-qualified — because that is exactly what pg_dump writes. One
//! conversion then serves both inputs, and their reports agree.

use std::collections::BTreeMap;

/// A schema-qualified name, unquoted: `("public", "film")`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// The Lightning table name: bare in `public`, `schema.name` elsewhere.
    pub fn lightning_name(&self) -> String {
        if self.schema == "public" {
            self.name.clone()
        } else {
            format!("{}.{}", self.schema, self.name)
        }
    }

    /// As SQL, each part quoted when it needs to be.
    pub fn sql(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sql())
    }
}

/// Quote an identifier the way PostgreSQL's `quote_ident` does.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !is_reserved(s);
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// Keywords that must be quoted as identifiers (PostgreSQL's reserved words).
fn is_reserved(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "both",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "coalesce",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "dec",
        "decimal",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "exists",
        "extract",
        "false",
        "fetch",
        "float",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "greatest",
        "group",
        "grouping",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "inout",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isnull",
        "join",
        "json",
        "lateral",
        "leading",
        "least",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "national",
        "natural",
        "nchar",
        "none",
        "normalize",
        "not",
        "notnull",
        "null",
        "nullif",
        "numeric",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "placing",
        "position",
        "precision",
        "primary",
        "real",
        "references",
        "returning",
        "right",
        "row",
        "select",
        "session_user",
        "setof",
        "similar",
        "smallint",
        "some",
        "substring",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "treat",
        "trim",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "values",
        "varchar",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "xmlattributes",
        "xmlconcat",
        "xmlelement",
        "xmlexists",
        "xmlforest",
        "xmlnamespaces",
        "xmlparse",
        "xmlpi",
        "xmlroot",
        "xmlserialize",
        "xmltable",
    ];
    RESERVED.contains(&s)
}

/// Everything the conversion needs to know about a database.
#[derive(Debug, Clone, Default)]
pub struct Database {
    /// Ordinary tables, partitioned tables and their partitions, sorted by name.
    pub tables: Vec<Table>,
    /// User-defined types by qualified name as `format_type` prints it
    /// (`public.mpaa_rating`, `public."My Type"`).
    pub types: BTreeMap<String, UserType>,
    /// Sequences by qualified name as SQL (`public.actor_actor_id_seq`).
    pub sequences: BTreeMap<String, Sequence>,
    /// Objects that Lightning has no equivalent for: views, functions, triggers, ...
    pub manual: Vec<ManualObject>,
}

impl Database {
    pub fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables.iter().find(|t| &t.name == name)
    }

    /// Sort everything so that two descriptions of one database compare equal.
    pub fn normalize(&mut self) {
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.manual
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableKind {
    /// `relkind = 'r'`.
    Ordinary,
    /// `relkind = 'p'`: holds no rows itself; `key` is `RANGE (payment_date)`.
    Partitioned { key: String },
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: QualifiedName,
    pub kind: TableKind,
    /// For a partition: its parent and bound (`FOR VALUES FROM (...) TO (...)`).
    pub parent: Option<(QualifiedName, String)>,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub indexes: Vec<Index>,
    /// Catalog estimates (live server only); no row estimate when the catalog has
    /// none (the table was never analysed or vacuumed).
    pub estimated_rows: Option<u64>,
    pub bytes: Option<u64>,
}

impl Table {
    pub fn new(name: QualifiedName) -> Self {
        Table {
            name,
            kind: TableKind::Ordinary,
            parent: None,
            columns: Vec::new(),
            constraints: Vec::new(),
            indexes: Vec::new(),
            estimated_rows: None,
            bytes: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `format_type(atttypid, atttypmod)`: `integer`, `character varying(45)`,
    /// `numeric(5,2)`, `timestamp(3) with time zone`, `text[]`, `public.mpaa_rating`.
    pub type_name: String,
    pub not_null: bool,
    /// `pg_get_expr(adbin, adrelid)`: `nextval('public.actor_actor_id_seq'::regclass)`.
    pub default: Option<String>,
    /// `GENERATED ALWAYS|BY DEFAULT AS IDENTITY`, with its sequence.
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (expr) STORED`: the expression.
    pub generated: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `ALWAYS` or `BY DEFAULT`.
    pub kind: String,
    /// The sequence behind it, as SQL (`public.film_film_id_seq`), when known.
    pub sequence: Option<String>,
}

/// A table constraint as `pg_get_constraintdef` prints it: `PRIMARY KEY (film_id)`,
/// `FOREIGN KEY (language_id) REFERENCES public.language(language_id) ON UPDATE
/// CASCADE ON DELETE RESTRICT`, `CHECK ((amount >= (0)::numeric))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub name: String,
    pub definition: String,
}

/// An index as `pg_get_indexdef` prints it: `CREATE UNIQUE INDEX name ON
/// public.t USING btree (a, lower(b)) WHERE (c > 0)`. Indexes that back a primary
/// key or unique constraint are not listed (the constraint is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub name: String,
    pub definition: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserType {
    /// `CREATE TYPE ... AS ENUM (labels)`.
    Enum(Vec<String>),
    /// `CREATE DOMAIN ... AS base [NOT NULL] [DEFAULT ...] [CONSTRAINT n CHECK (...)]`;
    /// checks as `pg_get_constraintdef` prints them (`CHECK ((VALUE >= 0))`).
    Domain {
        base: String,
        not_null: bool,
        default: Option<String>,
        checks: Vec<String>,
    },
    /// `CREATE TYPE ... AS (field type, ...)`.
    Composite(Vec<(String, String)>),
    /// `CREATE TYPE ... AS RANGE (subtype = ...)`.
    Range { subtype: String },
    /// Base types and anything else created by an extension or `CREATE TYPE name (...)`.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence {
    /// `last_value` and `is_called` as `setval` takes them: the next value is
    /// `last_value + increment` when called, `last_value` otherwise.
    pub last_value: i64,
    pub is_called: bool,
    pub increment: i64,
}

impl Sequence {
    pub fn next_value(&self) -> i64 {
        if self.is_called {
            self.last_value.saturating_add(self.increment)
        } else {
            self.last_value
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ManualKind {
    View,
    MaterializedView,
    Function,
    Procedure,
    Aggregate,
    Trigger,
    Rule,
    Policy,
    Extension,
    EventTrigger,
    ForeignTable,
    Other,
}

impl ManualKind {
    pub fn label(self) -> &'static str {
        match self {
            ManualKind::View => "view",
            ManualKind::MaterializedView => "materialized view",
            ManualKind::Function => "function",
            ManualKind::Procedure => "procedure",
            ManualKind::Aggregate => "aggregate",
            ManualKind::Trigger => "trigger",
            ManualKind::Rule => "rule",
            ManualKind::Policy => "policy",
            ManualKind::Extension => "extension",
            ManualKind::EventTrigger => "event trigger",
            ManualKind::ForeignTable => "foreign table",
            ManualKind::Other => "object",
        }
    }
}

/// Something Lightning cannot run, listed in the report with its definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualObject {
    pub kind: ManualKind,
    /// Qualified where it has a schema (`public.film_list`); a trigger is
    /// `trigger_name ON public.table`.
    pub name: String,
    pub definition: String,
}
