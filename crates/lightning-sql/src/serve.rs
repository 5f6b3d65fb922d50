//! The PostgreSQL wire protocol over an [`Engine`]: simple and extended queries,
//! PostgreSQL's catalog for clients that look tables up, and MD5 password
//! authentication when a password is set.
//!
//! Writes, CREATE TABLE and DROP TABLE go through the engine so they reach the
//! store; everything else is answered by the protocol layer and DataFusion.
//! Each connection is a [`Session`]: outside a transaction block each statement
//! commits on its own; inside one, writes reach the store at COMMIT.

use std::collections::hash_map::RandomState;
use std::fmt::Debug;
use std::hash::BuildHasher;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::{DFSchema, ParamValues};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::arrow_pg::datatypes::arrow_schema_to_pg_fields;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use datafusion_postgres::DfSessionService;
use futures::Sink;
use futures::StreamExt;
use pgwire::api::auth::md5pass::{hash_md5_password, Md5PasswordAuthStartupHandler};
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use pgwire::api::portal::Format;
use pgwire::api::portal::Portal;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{DataRowEncoder, QueryResponse, Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireServerHandlers, DEFAULT_NAME};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::messages::extendedquery::Execute;
use pgwire::messages::response::TransactionStatus;
use pgwire::messages::simplequery::Query;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use tokio::net::TcpListener;

use crate::transaction::{Control, Session};
use crate::{own_statement_kind, text, write_verb, Engine, Outcome, SqlError};

/// Who may connect.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// Serve `engine` on `listener` until the task is dropped.
pub async fn serve(
    engine: Arc<Engine>,
    listener: TcpListener,
    credentials: Option<Credentials>,
) -> std::io::Result<()> {
    let ctx = engine.context();
    setup_pg_catalog(
        &ctx,
        "datafusion",
        Arc::new(datafusion_postgres::auth::AuthManager::new()),
    )
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    let hooks: Vec<Arc<dyn QueryHook>> = vec![
        Arc::new(StoreHook {
            engine: engine.clone(),
        }),
        Arc::new(CursorStatementHook),
        Arc::new(SetShowHook),
        Arc::new(TransactionStatementHook),
    ];
    let handlers = Arc::new(Handlers {
        session: Arc::new(Queries(DfSessionService::new_with_hooks(ctx, hooks))),
        startup: Arc::new(match credentials {
            Some(c) => Startup::Password(Md5PasswordAuthStartupHandler::new(
                Arc::new(OnePassword(c)),
                Arc::new(DefaultServerParameterProvider::default()),
            )),
            None => Startup::Trust(Trust),
        }),
    });
    loop {
        let (socket, peer) = listener.accept().await?;
        let handlers = handlers.clone();
        // The session ends with the connection: an open block is dropped unwritten.
        let session = Arc::new(Session::default());
        tokio::spawn(session.scope(async move {
            if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        }));
    }
}

struct Handlers {
    session: Arc<Queries>,
    startup: Arc<Startup>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.session.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.session.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }
}

/// The query handlers of `datafusion-postgres`, but for one thing: `ROLLBACK TO
/// SAVEPOINT` in a failed block leaves the block usable again, as in PostgreSQL.
/// The protocol layer takes a statement's starting transaction status from the
/// connection before any hook runs, and can only move a failed block to idle or
/// keep it failed; so the status is set back here, before the statement runs.
struct Queries(DfSessionService);

/// Whether `sql` starts with `ROLLBACK [WORK | TRANSACTION] TO`.
fn rolls_back_to_savepoint(sql: &str) -> bool {
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase);
    if words.next().as_deref() != Some("ROLLBACK") {
        return false;
    }
    match words.next().as_deref() {
        Some("WORK" | "TRANSACTION") => words.next().as_deref() == Some("TO"),
        Some("TO") => true,
        _ => false,
    }
}

fn recover_for_savepoint(client: &mut impl ClientInfo, sql: &str) {
    if client.transaction_status() == TransactionStatus::Error && rolls_back_to_savepoint(sql) {
        client.set_transaction_status(TransactionStatus::Transaction);
    }
}

#[async_trait]
impl SimpleQueryHandler for Queries {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        recover_for_savepoint(client, &query.query);
        self._on_query(client, query).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        SimpleQueryHandler::do_query(&self.0, client, query).await
    }
}

type DfStatementOf = <DfSessionService as ExtendedQueryHandler>::Statement;

#[async_trait]
impl ExtendedQueryHandler for Queries {
    type Statement = DfStatementOf;
    type QueryParser = <DfSessionService as ExtendedQueryHandler>::QueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.0.query_parser()
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        if let Some(Entry::Value(portal)) = client.portal_store().get_portal(name) {
            recover_for_savepoint(client, &portal.statement.statement.0);
        }
        self._on_execute(client, message).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        ExtendedQueryHandler::do_query(&self.0, client, portal, max_rows).await
    }
}

/// No password asked (the server listens on loopback unless told otherwise).
struct Trust;

impl NoopStartupHandler for Trust {}

enum Startup {
    Trust(Trust),
    Password(Md5PasswordAuthStartupHandler<OnePassword, DefaultServerParameterProvider>),
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Trust(t) => t.on_startup(client, message).await,
            Startup::Password(p) => p.on_startup(client, message).await,
        }
    }
}

/// The one user and password the server accepts.
struct OnePassword(Credentials);

impl Debug for OnePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OnePassword({})", self.0.user)
    }
}

#[async_trait]
impl AuthSource for OnePassword {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        // An unknown user gets a password no one knows, so the answer is the same.
        let secret = if user == self.0.user {
            self.0.password.clone()
        } else {
            format!("{:x}", RandomState::new().hash_one(user))
        };
        let salt = RandomState::new().hash_one(0u8).to_le_bytes()[..4].to_vec();
        let hashed = hash_md5_password(user, &secret, &salt);
        Ok(Password::new(Some(salt), hashed.into_bytes()))
    }
}

/// Sends the statements the store must see to the engine.
struct StoreHook {
    engine: Arc<Engine>,
}

fn to_wire(e: SqlError) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        e.sqlstate().into(),
        e.to_string(),
    )))
}

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Changed(verb, n) => {
            let tag = Tag::new(verb).with_rows(n as usize);
            Response::Execution(if verb == "INSERT" {
                tag.with_oid(0)
            } else {
                tag
            })
        }
        Outcome::Done(tag) => Response::Execution(Tag::new(&tag)),
        Outcome::Rows(..) => Response::EmptyQuery,
    }
}

/// Savepoint statements, which the hook answers itself.
fn is_savepoint(st: &Statement) -> bool {
    matches!(
        Control::of(st),
        Some(Control::Savepoint(_) | Control::Release(_) | Control::RollbackTo(_))
    )
}

impl StoreHook {
    /// A query of the simple protocol, its values in PostgreSQL's text forms
    /// (the same as `lightning query` prints), streamed batch by batch.
    async fn text_query(&self, statement: &Statement) -> PgWireResult<Response> {
        let ctx = self.engine.context();
        let plan = ctx
            .state()
            .statement_to_plan(DfStatement::Statement(Box::new(statement.clone())))
            .await
            .map_err(|e| to_wire(e.into()))?;
        let df = ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| to_wire(e.into()))?;
        let fields = Arc::new(arrow_schema_to_pg_fields(
            df.schema().as_arrow(),
            &Format::UnifiedText,
            None,
        )?);
        let batches = df.execute_stream().await.map_err(|e| to_wire(e.into()))?;
        let encode_fields = fields.clone();
        let rows = batches
            .map(move |b| {
                let rows: Vec<PgWireResult<DataRow>> = match b {
                    Ok(b) => {
                        let mut row = DataRowEncoder::new(encode_fields.clone());
                        (0..b.num_rows())
                            .map(|i| {
                                for c in b.columns() {
                                    let v = text::cell(c, i)
                                        .map_err(|e| to_wire(SqlError::Engine(e.into())))?;
                                    row.encode_field(&v)?;
                                }
                                Ok(row.take_row())
                            })
                            .collect()
                    }
                    Err(e) => vec![Err(to_wire(e.into()))],
                };
                futures::stream::iter(rows)
            })
            .flatten();
        Ok(Response::Query(QueryResponse::new(fields, rows)))
    }
}

impl StoreHook {
    /// What the hook answers before a statement is planned, in either protocol;
    /// `Some(None)` hands the statement on to the other hooks.
    async fn answer_first(
        &self,
        statement: &Statement,
        client: &mut dyn HookClient,
    ) -> Option<Option<PgWireResult<Response>>> {
        if let Some(c) = Control::of(statement) {
            let failed = client.transaction_status() == TransactionStatus::Error;
            // COMMIT of a failed block rolls it back, as in PostgreSQL.
            let c = if failed && c == Control::Commit {
                Control::Rollback
            } else {
                c
            };
            if let Err(e) = self.engine.control(&c) {
                if c == Control::Commit {
                    // The block is gone either way: the client sees the reason.
                    client.set_transaction_status(TransactionStatus::Idle);
                }
                return Some(Some(Err(to_wire(e))));
            }
            if !is_savepoint(statement) {
                return Some(None); // the transaction hook answers and keeps the status
            }
            return Some(Some(Ok(Response::Execution(Tag::new(c.tag())))));
        }
        if client.transaction_status() == TransactionStatus::Error {
            return Some(None); // the transaction hook refuses it
        }
        // Statements prepared through the protocol (psycopg deallocates them in SQL).
        if let Statement::Deallocate { name, .. } = statement {
            if name.value.eq_ignore_ascii_case("all") {
                return Some(Some(Ok(Response::Execution(Tag::new("DEALLOCATE ALL")))));
            }
            client.portal_store().rm_statement(&name.value);
            return Some(Some(Ok(Response::Execution(Tag::new("DEALLOCATE")))));
        }
        if own_statement_kind(statement) {
            let done = self.engine.own_statement(statement);
            return Some(Some(
                done.map(|o| respond(o.expect("own statement")))
                    .map_err(to_wire),
            ));
        }
        None
    }
}

#[async_trait]
impl QueryHook for StoreHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(answer) = self.answer_first(statement, client).await {
            return answer;
        }
        if let Statement::Query(_) = statement {
            return Some(self.text_query(statement).await);
        }
        write_verb(statement)?;
        let outcome = self
            .engine
            .run_parsed(DfStatement::Statement(Box::new(statement.clone())), None)
            .await;
        Some(outcome.map(respond).map_err(to_wire))
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        if let Some(why) = crate::refusal(statement) {
            return Some(Err(to_wire(SqlError::Refused(why))));
        }
        // Lightning DDL need not plan in DataFusion: it runs at execution.
        (own_statement_kind(statement) || is_savepoint(statement)).then(|| {
            Ok(LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(DFSchema::empty()),
            }))
        })
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        plan: &LogicalPlan,
        params: &ParamValues,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(answer) = self.answer_first(statement, client).await {
            return answer;
        }
        let verb = write_verb(statement)?;
        let outcome = self
            .engine
            .run_plan(plan.clone(), Some(params.clone()), Some(verb))
            .await;
        Some(outcome.map(respond).map_err(to_wire))
    }
}
