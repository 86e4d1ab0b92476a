//! Every round trip to the database, bounded in time. A connection can go silent without
//! closing (a hung compute, a NAT that dropped the flow): the bytes we send are taken and
//! nothing ever comes back. Without a bound of our own such a statement waits forever, so
//! each one here gets `DB_STATEMENT_TIMEOUT_SECONDS`, and a statement that gets no answer in
//! time fails with a transient error, which the retry layer treats like a lost connection.
//!
//! The connection such a statement ran on is not handed out again: its future is dropped
//! mid-flight, and the pool's release check on it (bounded too, by the sqlx-core patch in
//! `vendor/`) gets no answer either, so the pool closes it and frees its place.

use std::{
    future::Future,
    io,
    sync::{Arc, OnceLock},
    time::Duration,
};

use futures_util::TryStreamExt;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, RuntimeErr, SqlxError, Statement, StreamTrait, TransactionTrait,
    prelude::async_trait,
};

/// A pool connection or a transaction whose statements each get at most `limit`.
#[derive(Clone, Debug)]
pub struct Bounded<C> {
    inner: C,
    limit: Duration,
    /// A transaction's id and its server process, once a statement of it has read them
    /// (PostgreSQL): what settles a `COMMIT` whose answer is lost.
    identity: Arc<OnceLock<Identity>>,
}

/// A PostgreSQL transaction's id (`txid_current()`) and its server process
/// (`pg_backend_pid()`).
#[derive(Clone, Copy, Debug)]
pub struct Identity {
    pub xid: i64,
    pub pid: i32,
}

/// What reads and single idempotent statements run on.
pub type Conn = Bounded<DatabaseConnection>;
/// What a write runs in, from [`super::Db::begin`] to [`super::Db::commit`].
pub type Txn = Bounded<DatabaseTransaction>;

impl<C> Bounded<C> {
    pub(super) fn new(inner: C, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            identity: Arc::default(),
        }
    }

    async fn bound<T>(&self, op: impl Future<Output = Result<T, DbErr>>) -> Result<T, DbErr> {
        within(self.limit, op).await
    }
}

/// Runs `op`, or fails with a transient error once `limit` has passed without an answer.
pub(super) async fn within<T>(
    limit: Duration,
    op: impl Future<Output = Result<T, DbErr>>,
) -> Result<T, DbErr> {
    tokio::time::timeout(limit, op)
        .await
        .unwrap_or_else(|_| Err(no_answer(limit)))
}

/// An I/O error, so that [`super::retry::is_transient`] takes it for a lost connection.
fn no_answer(limit: Duration) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(SqlxError::Io(
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the database did not answer within {} ms (DB_STATEMENT_TIMEOUT_SECONDS)",
                limit.as_millis()
            ),
        ),
    ))))
}

#[async_trait::async_trait]
impl<C: ConnectionTrait + Send> ConnectionTrait for Bounded<C> {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.bound(self.inner.execute_raw(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.bound(self.inner.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.bound(self.inner.query_one_raw(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.bound(self.inner.query_all_raw(stmt)).await
    }

    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

impl Conn {
    /// Runs `stmt` and hands `each` its rows as they arrive, so that a large answer is
    /// never held whole as the driver's rows; the whole read is bounded like a statement.
    pub async fn for_each_row(
        &self,
        stmt: Statement,
        mut each: impl FnMut(QueryResult) -> Result<(), DbErr> + Send,
    ) -> Result<(), DbErr> {
        self.bound(async {
            let mut rows = self.inner.stream_raw(stmt).await?;
            while let Some(row) = rows.try_next().await? {
                each(row)?;
            }
            Ok(())
        })
        .await
    }

    /// One round trip on a pooled connection.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.bound(self.inner.ping()).await
    }

    pub(super) async fn begin_with_options(
        &self,
        options: sea_orm::TransactionOptions,
    ) -> Result<Txn, DbErr> {
        let txn = self.bound(self.inner.begin_with_options(options)).await?;
        Ok(Bounded::new(txn, self.limit))
    }
}

impl Txn {
    /// Keeps what a statement of this transaction read of its identity, so that its
    /// `COMMIT` need not ask again (a round trip saved).
    pub fn remember_identity(&self, identity: Identity) {
        let _ = self.identity.set(identity);
    }

    pub(super) fn identity(&self) -> Option<Identity> {
        self.identity.get().copied()
    }

    /// A savepoint inside this transaction, bounded like it.
    pub async fn savepoint(&self) -> Result<Txn, DbErr> {
        let savepoint = self.bound(self.inner.begin()).await?;
        Ok(Bounded::new(savepoint, self.limit))
    }

    /// `COMMIT` (or `RELEASE SAVEPOINT`). A write commits through [`super::Db::commit`],
    /// which also finds out what became of a `COMMIT` whose answer never came.
    pub async fn commit(self) -> Result<(), DbErr> {
        within(self.limit, self.inner.commit()).await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        within(self.limit, self.inner.rollback()).await
    }
}
