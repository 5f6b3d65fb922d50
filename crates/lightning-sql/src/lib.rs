//! SQL over a Lightning database: an [`Engine`] that runs queries, writes and
//! Lightning DDL on a store, and [`serve`] that speaks the PostgreSQL wire protocol.
//!
//! Queries are planned and run by DataFusion over one [`table::LightningTable`] per
//! table of the store. Writes go to the store with its rules (types, NOT NULL,
//! primary keys, unique indexes), one atomic change per statement.

pub mod access;
pub mod arrow_types;
pub mod columns;
pub mod functions;
pub mod serve;
pub mod table;
pub mod text;
pub mod transaction;

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::AsArray;
pub use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::common::{DataFusionError, ParamValues, TableReference};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{ObjectName, ObjectType, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use lightning_core::store::StoreError;
use lightning_core::Store;

use table::{LightningTable, Shared};
use transaction::{Control, Session};

pub use datafusion::arrow::array::RecordBatch;

/// Why a statement did not run.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Engine(#[from] DataFusionError),
    /// A statement the store cannot honour, with what to do instead.
    #[error("{0}")]
    Refused(String),
    /// Another session changed what a transaction read (SQLSTATE 40001).
    #[error("{0}")]
    Conflict(String),
}

impl SqlError {
    /// The SQLSTATE a client should see.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            SqlError::Refused(_) => "0A000",
            SqlError::Conflict(_) => "40001",
            SqlError::Store(StoreError::BadRow { reason, .. }) if reason.contains("duplicate") => {
                "23505"
            }
            SqlError::Store(StoreError::BadRow { reason, .. }) if reason.contains("NOT NULL") => {
                "23502"
            }
            SqlError::Store(StoreError::UnknownTable(_)) => "42P01",
            SqlError::Store(_) => "XX000",
            SqlError::Engine(e) => match e.find_root() {
                DataFusionError::Execution(m) if m.contains("duplicate") => "23505",
                DataFusionError::Execution(m) if m.contains("NOT NULL") => "23502",
                DataFusionError::SQL(..) => "42601",
                DataFusionError::Plan(m) if m.contains("not found") => "42P01",
                DataFusionError::Plan(_) | DataFusionError::SchemaError(..) => "42703",
                DataFusionError::NotImplemented(_) => "0A000",
                _ => "XX000",
            },
        }
    }
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// What one statement did.
#[derive(Debug)]
pub enum Outcome {
    /// A query's rows.
    Rows(SchemaRef, Vec<RecordBatch>),
    /// A write: its command (`INSERT`, `UPDATE`, ...) and the rows it changed.
    Changed(&'static str, u64),
    /// A statement without rows (`CREATE TABLE`, `BEGIN`, ...): its command tag.
    Done(String),
}

/// SQL over one open store.
pub struct Engine {
    shared: Arc<Shared>,
    ctx: Arc<SessionContext>,
}

impl Engine {
    /// Open the store at `path` for reading and writing.
    pub fn open(path: impl AsRef<Path>) -> Result<Engine> {
        let store = Store::open(path)?;
        Ok(Engine::new(Arc::new(store)))
    }

    pub fn new(store: Arc<Store>) -> Engine {
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("datafusion", "public")
            .set_str("datafusion.sql_parser.dialect", "PostgreSQL");
        let ctx = SessionContext::new_with_config(config);
        for f in functions::all() {
            ctx.register_udf(f);
        }
        let engine = Engine {
            shared: Shared::new(store),
            ctx: Arc::new(ctx),
        };
        engine.register_tables();
        engine
    }

    pub fn context(&self) -> Arc<SessionContext> {
        self.ctx.clone()
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Make the engine's tables those of the store.
    fn register_tables(&self) {
        let schema = self
            .ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .expect("default schema");
        for name in schema.table_names() {
            let _ = schema.deregister_table(&name);
        }
        for t in self.shared.store.tables() {
            let name = t.name.clone();
            let provider = Arc::new(LightningTable::new(self.shared.clone(), t));
            // A bare name: a dot in a table name is part of the name.
            let _ = self
                .ctx
                .register_table(TableReference::bare(name), provider);
        }
    }

    /// Run every statement of `sql`, in order, as one session (the running one, or
    /// a new one); the first that fails stops the rest. A new session's transaction
    /// block left open at the end is rolled back.
    pub async fn run(&self, sql: &str) -> Result<Vec<Outcome>> {
        let statements = DFParser::parse_sql_with_dialect(sql, &PostgreSqlDialect {})
            .map_err(SqlError::Engine)?;
        // In a session already (a server's connection, a test): that one's.
        let (session, own) = match Session::current() {
            Some(s) => (s, false),
            None => (Arc::new(Session::default()), true),
        };
        let result = session
            .clone()
            .scope(async {
                let mut out = Vec::new();
                for s in statements {
                    out.push(self.run_parsed(s, None).await?);
                }
                Ok(out)
            })
            .await;
        if own && session.in_block() {
            session.control(&Control::Rollback, &self.shared)?;
            if result.is_ok() {
                tracing::warn!("BEGIN without COMMIT: the transaction's changes were rolled back");
            }
        }
        result
    }

    /// Carry out BEGIN, COMMIT, ROLLBACK or a savepoint statement for the running
    /// session.
    pub fn control(&self, c: &Control) -> Result<()> {
        let session = Session::current()
            .ok_or_else(|| SqlError::Refused(format!("{} needs a session", c.tag())))?;
        session.control(c, &self.shared)
    }

    /// Run one parsed statement, with the values of its `$n` parameters.
    pub async fn run_parsed(&self, s: DfStatement, params: Option<ParamValues>) -> Result<Outcome> {
        if let DfStatement::Statement(st) = &s {
            if let Some(c) = Control::of(st) {
                self.control(&c)?;
                return Ok(Outcome::Done(c.tag().into()));
            }
            if let Some(done) = self.own_statement(st)? {
                return Ok(done);
            }
        }
        let verb = match &s {
            DfStatement::Statement(st) => write_verb(st),
            _ => None,
        };
        let plan = self.ctx.state().statement_to_plan(s).await?;
        self.run_plan(plan, params, verb).await
    }

    /// Run a planned statement.
    pub async fn run_plan(
        &self,
        plan: LogicalPlan,
        params: Option<ParamValues>,
        verb: Option<&'static str>,
    ) -> Result<Outcome> {
        let plan = match params {
            Some(p) => plan.replace_params_with_values(&p)?,
            None => plan,
        };
        if let LogicalPlan::Ddl(_) = &plan {
            return Err(SqlError::Refused(
                "only CREATE TABLE and DROP TABLE change the schema (in Lightning DDL)".into(),
            ));
        }
        let df = self.ctx.execute_logical_plan(plan).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        match verb {
            Some(v) => Ok(Outcome::Changed(v, count_of(&batches))),
            None => Ok(Outcome::Rows(schema, batches)),
        }
    }

    /// Statements the engine answers itself: schema changes that must reach the
    /// store, and those the store cannot honour (refused with what to do instead).
    pub fn own_statement(&self, st: &Statement) -> Result<Option<Outcome>> {
        if let Some(why) = refusal(st) {
            return Err(SqlError::Refused(why));
        }
        match st {
            Statement::CreateTable(ct) => {
                let text = format!("{st};");
                let tables = lightning_core::ddl::parse_schema(&text).map_err(|e| {
                    SqlError::Refused(format!(
                        "{} (CREATE TABLE takes Lightning DDL: types BOOLEAN, SMALLINT, INTEGER, BIGINT, FLOAT, DOUBLE, DECIMAL(p,s), TEXT, BLOB, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, JSON, UUID)",
                        e.message
                    ))
                })?;
                for t in &tables {
                    if self.shared.store.table(&t.name).is_ok() {
                        if ct.if_not_exists {
                            continue;
                        }
                        return Err(SqlError::Refused(format!(
                            "table `{}` already exists",
                            t.name
                        )));
                    }
                    self.shared.store.create_table(t)?;
                }
                self.register_tables();
                Ok(Some(Outcome::Done("CREATE TABLE".into())))
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names,
                ..
            } => {
                let _one_writer = self.shared.writes.lock().expect("write lock");
                for n in names {
                    let name = object_name(n);
                    match self.shared.store.drop_table(&name) {
                        Err(StoreError::UnknownTable(_)) if *if_exists => {}
                        other => other?,
                    }
                }
                drop(_one_writer);
                self.register_tables();
                Ok(Some(Outcome::Done("DROP TABLE".into())))
            }
            _ => Ok(None),
        }
    }
}

/// Whether the engine answers a statement itself (see [`Engine::own_statement`]).
pub fn own_statement_kind(st: &Statement) -> bool {
    refusal(st).is_some()
        || matches!(
            st,
            Statement::CreateTable(_)
                | Statement::Drop {
                    object_type: ObjectType::Table,
                    ..
                }
        )
}

/// The command of a statement that writes rows.
pub fn write_verb(st: &Statement) -> Option<&'static str> {
    match st {
        Statement::Insert(_) => Some("INSERT"),
        Statement::Update(_) => Some("UPDATE"),
        Statement::Delete(_) => Some("DELETE"),
        Statement::Truncate(_) => Some("TRUNCATE"),
        _ => None,
    }
}

/// Why the store refuses a statement, with what to do instead.
pub fn refusal(st: &Statement) -> Option<String> {
    let why = match st {
        Statement::Update(u) if u.from.is_some() || !u.table.joins.is_empty() => {
            "UPDATE ... FROM is not supported: update with a WHERE ... IN (SELECT ...) condition"
        }
        Statement::Update(u) if u.returning.is_some() => "UPDATE ... RETURNING is not supported",
        Statement::Delete(d) if d.using.is_some() => {
            "DELETE ... USING is not supported: delete with a WHERE ... IN (SELECT ...) condition"
        }
        Statement::Delete(d) if d.returning.is_some() => "DELETE ... RETURNING is not supported",
        Statement::Insert(i) if i.on.is_some() => {
            "INSERT ... ON CONFLICT is not supported: check for the key first, or DELETE then INSERT"
        }
        Statement::Insert(i) if i.returning.is_some() => {
            "INSERT ... RETURNING is not supported: give the key values in the INSERT"
        }
        Statement::CreateTable(ct) if ct.query.is_some() => {
            "CREATE TABLE ... AS SELECT is not supported: CREATE TABLE, then INSERT INTO ... SELECT"
        }
        Statement::CreateView(_) => "views are not kept by the store: use a WITH query",
        Statement::CreateIndex(_) => {
            "CREATE INDEX on an existing table is not supported: declare indexes in CREATE TABLE"
        }
        Statement::AlterTable(_) => "ALTER TABLE is not supported",
        Statement::Copy { .. } => "COPY is not supported: use `lightning import` or INSERT",
        Statement::Merge(_) => "MERGE is not supported",
        Statement::Drop { object_type, .. } if *object_type != ObjectType::Table => {
            "only tables can be dropped"
        }
        _ => return None,
    };
    Some(why.to_string())
}

/// A table name as PostgreSQL reads it: unquoted names fold to lower case.
fn object_name(n: &ObjectName) -> String {
    n.0.last()
        .and_then(|p| p.as_ident())
        .map(|i| {
            if i.quote_style.is_some() {
                i.value.clone()
            } else {
                i.value.to_lowercase()
            }
        })
        .unwrap_or_else(|| n.to_string())
}

/// The row count a write's plan returns.
fn count_of(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.column_by_name("count"))
        .filter_map(|c| c.as_primitive_opt::<UInt64Type>())
        .flat_map(|a| a.values().iter().copied())
        .sum()
}
