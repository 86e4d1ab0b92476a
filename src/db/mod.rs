//! The database layer: a lazy pool tuned for a serverless PostgreSQL (or a SQLite file),
//! with every way in going through the one retry policy.

pub mod bounded;
pub mod breaker;
pub mod bulk;
pub mod keys;
pub mod migrations;
pub mod once;
pub mod retry;
pub mod rows;

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;

use sea_orm::{
    ConnAcquireErr, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
    sqlx::{Connection, PgConnection, SqliteConnection},
};
use sea_orm_migration::MigratorTrait;

use crate::config::{ConfigError, DatabaseSettings};
use bounded::{Bounded, within};
pub use bounded::{Conn, Identity, Txn};
use breaker::Breaker;
use migrations::Migrator;
use retry::{RetryPolicy, is_transient};

/// One line naming `DATABASE_URL` and what to set it to. A SQLite URL is shown, with the
/// directory a relative path is taken from; any other may hold a password, so it is not.
fn unusable_url(url: &str, err: &DbErr) -> ConfigError {
    let what = if url.starts_with("sqlite:") {
        let cwd = std::env::current_dir()
            .map(|dir| dir.display().to_string())
            .unwrap_or_else(|_| "an unknown directory".into());
        format!("cannot open {url} (from {cwd})")
    } else {
        "cannot open the database".to_owned()
    };
    ConfigError {
        variable: "DATABASE_URL",
        reason: format!(
            "{what}: {}; set DATABASE_URL to a SQLite file this user can create \
             (sqlite:///data/flatmates.db?mode=rwc, the image's volume) or to PostgreSQL",
            err.to_string().replace('\n', " ")
        ),
    }
}

/// Opens a connection of type `C`, sends one round trip on it and closes it.
async fn ping_once<C: Connection>(url: &str) -> Result<(), sea_orm::SqlxError> {
    let mut conn = C::connect(url).await?;
    conn.ping().await?;
    conn.close().await
}

/// A PostgreSQL transaction's identity as select columns: a statement of the transaction
/// may carry them and hand them to [`Txn::remember_identity`].
pub const IDENTITY_COLUMNS: &str = "txid_current() AS xid, pg_backend_pid() AS pid";

/// The advisory lock key migrations hold on PostgreSQL (any constant the schema owns).
const MIGRATION_LOCK: i64 = 0x666c_6174_6d61;
/// Pause between asking whether a transaction whose `COMMIT` went unanswered is done.
const OUTCOME_POLL: std::time::Duration = std::time::Duration::from_millis(20);

#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    /// For connections opened outside the pool, to see whether the server answers while
    /// the pool's own connections may not.
    url: Arc<str>,
    statement_timeout: Duration,
    retry: RetryPolicy,
    breaker: Arc<Breaker>,
    /// Statements sent, counted by the driver as it sends them.
    statements: Arc<AtomicU64>,
    /// Taken by a write that holds its connection for many round trips (a sync): all but a
    /// few of the pool's connections, so that everyone else's short requests always find
    /// one free rather than queueing behind syncs.
    bulk: Arc<Semaphore>,
}

/// The pool's connections a bulk write may not take, out of every five.
const KEPT_FROM_BULK_PER_FIVE: u32 = 1;

impl Db {
    /// Builds the pool without connecting: the server binds at once, even while the
    /// database is still waking, and connections are opened on first use.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .connect_lazy(true)
            .max_connections(settings.max_connections)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(settings.idle_timeout)
            .max_lifetime(settings.max_lifetime)
            .test_before_acquire_if_idle_for(settings.ping_if_idle_for)
            .sqlx_logging(false);
        let idle_in_transaction = format!(
            "SET idle_in_transaction_session_timeout = {}",
            settings.statement_timeout.as_millis().max(1)
        );
        // A transaction whose client went quiet (its connection stalled, or its request was
        // given up) would hold its locks until the server noticed; this has the server end
        // it once it has waited as long as a statement may take.
        options.map_sqlx_postgres_pool_opts(move |pool| {
            let sql = idle_in_transaction.clone();
            pool.after_connect(move |conn, _| {
                let sql = sql.clone();
                Box::pin(async move {
                    sea_orm::sqlx::Executor::execute(conn, sea_orm::sqlx::AssertSqlSafe(sql))
                        .await
                        .map(drop)
                })
            })
        });
        let mut conn = Database::connect(options).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counted = statements.clone();
        conn.set_metric_callback(move |_| {
            counted.fetch_add(1, Ordering::Relaxed);
        });
        let kept = (settings.max_connections * KEPT_FROM_BULK_PER_FIVE / 5).max(1);
        let bulk = settings.max_connections.saturating_sub(kept).max(1);
        Ok(Self {
            conn,
            statements,
            bulk: Arc::new(Semaphore::new(bulk as usize)),
            url: settings.url.as_str().into(),
            statement_timeout: settings.statement_timeout,
            retry: RetryPolicy::new(settings.retry_budget),
            breaker: Arc::default(),
        })
    }

    /// [`Db::connect`], with a failure said as the setting to change: the pool is lazy, so
    /// connecting fails only when `DATABASE_URL` cannot be used at all (a SQLite file this
    /// user cannot create, say, as in a read-only working directory), never because a
    /// server is asleep.
    pub async fn open(settings: &DatabaseSettings) -> Result<Self, ConfigError> {
        Self::connect(settings)
            .await
            .map_err(|err| unusable_url(&settings.url, &err))
    }

    /// The pool, with every statement bounded by `DB_STATEMENT_TIMEOUT_SECONDS`.
    fn bounded(&self) -> Conn {
        Bounded::new(self.conn.clone(), self.statement_timeout)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Runs a read, retrying it on transient errors within the retry budget: reading twice
    /// changes nothing.
    pub async fn read<T, F, Fut>(&self, op: F) -> Result<T, DbErr>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        self.guarded("read", || op(self.bounded())).await
    }

    /// Runs `op` through the retry policy unless the breaker is open (then it fails at
    /// once); spending the whole budget on transient errors opens the breaker.
    async fn guarded<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, DbErr>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        if self.breaker.is_open() {
            return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout));
        }
        let result = self.retry.run(what, is_transient, op).await;
        if let Err(err) = &result
            && is_transient(err)
        {
            self.breaker.trip(self.clone());
        }
        result
    }

    /// Whether requests are failing fast because the database stayed away.
    pub fn failing_fast(&self) -> bool {
        self.breaker.is_open()
    }

    /// Runs a statement that is safe to repeat (an upsert keyed by its own id, say),
    /// retrying it like a read.
    pub async fn idempotent<T, F, Fut>(&self, op: F) -> Result<T, DbErr>
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        self.guarded("idempotent write", || op(self.bounded()))
            .await
    }

    /// Opens the transaction a write runs in. Only getting a connection and `BEGIN` are
    /// retried, since nothing has reached the server yet; the statements and the `COMMIT`
    /// run once, so a write whose acknowledgement was lost is never replayed blindly.
    ///
    /// On SQLite the transaction takes the write lock at `BEGIN IMMEDIATE`, so concurrent
    /// writers wait for each other (up to the busy timeout) instead of failing when a
    /// reading transaction tries to become a writing one.
    pub async fn begin(&self) -> Result<Txn, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.guarded("begin", || {
            let conn = self.bounded();
            async move { conn.begin_with_options(options).await }
        })
        .await
    }

    /// Runs `work` in one write transaction: `BEGIN`, the request's claim on its key (if
    /// it has one no write has made yet), the work, `COMMIT` through [`Db::commit`] (so a
    /// lost answer to it is settled, not guessed). An error from the work rolls everything
    /// back, the claim with it, as the transaction is dropped unfinished. An error
    /// [`once::is_held`] when another request holds the key.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t Txn) -> BoxFuture<'t, Result<T, E>>,
        E: From<DbErr>,
    {
        let txn = self.begin().await?;
        let claimed = self.claim_in(&txn).await?;
        let done = work(&txn).await?;
        self.commit(txn).await?;
        if claimed {
            keys::decided(keys::Fate::Made);
        }
        Ok(done)
    }

    /// [`Db::write`] for a write that holds its connection for many round trips (a sync):
    /// it waits its turn for one of the connections bulk writes may take, at most the
    /// retry budget (then it is a 503, as a pool that gave no connection would be).
    pub async fn bulk_write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: for<'t> FnOnce(&'t Txn) -> BoxFuture<'t, Result<T, E>>,
        E: From<DbErr>,
    {
        let turn = tokio::time::timeout(self.retry.budget(), self.bulk.acquire()).await;
        let Ok(Ok(_turn)) = turn else {
            return Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout).into());
        };
        self.write(work).await
    }

    /// Makes the request's claim in `txn`, if it has one no write has made yet; answers
    /// whether it did.
    async fn claim_in(&self, txn: &Txn) -> Result<bool, DbErr> {
        let Some(claim) = keys::unmade() else {
            return Ok(false);
        };
        let backend = txn.get_database_backend();
        let mut params = bulk::Params::new(backend);
        let sql = claim.insert_sql(&mut params);
        let made = txn
            .query_one_raw(Statement::from_sql_and_values(backend, sql, params.values))
            .await?;
        if made.is_none() {
            keys::decided(keys::Fate::Taken);
            return Err(once::held());
        }
        Ok(true)
    }

    /// Commits a write opened with [`Db::begin`]. When `COMMIT` gets no answer on
    /// PostgreSQL (the connection was lost or went silent), the server may have committed
    /// before its acknowledgement was lost, and answering 503 would have the client write
    /// again. So the transaction's id and its server process are read before `COMMIT` (by
    /// a statement of the work that remembered them, or else just before it), and after
    /// such a loss fresh connections find out what became of it: committed is success,
    /// aborted is the original error.
    async fn commit(&self, txn: Txn) -> Result<(), DbErr> {
        if txn.get_database_backend() != DbBackend::Postgres {
            return txn.commit().await;
        }
        let Identity { xid, pid } = match txn.identity() {
            Some(identity) => identity,
            None => {
                let row = txn
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        format!("SELECT {IDENTITY_COLUMNS}"),
                    ))
                    .await?
                    .ok_or_else(|| DbErr::Custom("txid_current() answered no row".into()))?;
                Identity {
                    xid: row.try_get_by_index(0)?,
                    pid: row.try_get_by_index(1)?,
                }
            }
        };
        match txn.commit().await {
            Err(err) if is_transient(&err) => {
                tracing::warn!(error = %err, xid, "no answer to COMMIT, asking whether it committed");
                self.outcome_of(xid, pid, err).await
            }
            done => done,
        }
    }

    /// Waits, within the retry budget, until transaction `xid` is no longer in progress;
    /// `Ok` if it committed, else `lost` (also when the server cannot be asked in time).
    /// A transaction still in progress once its `COMMIT` went unanswered is either waiting
    /// for a `COMMIT` that never arrived or stuck on a connection nobody will read again:
    /// its server process `pid` is ended, so that the outcome is settled now rather than
    /// whenever the server notices, and a client's retry cannot write a second time.
    async fn outcome_of(&self, xid: i64, pid: i32, lost: DbErr) -> Result<(), DbErr> {
        let started = std::time::Instant::now();
        let mut ended = false;
        loop {
            let status = self
                .read(|conn| async move {
                    let row = conn
                        .query_one_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            "SELECT txid_status($1)",
                            [xid.into()],
                        ))
                        .await?;
                    row.map(|row| row.try_get_by_index::<Option<String>>(0))
                        .transpose()
                        .map(Option::flatten)
                })
                .await;
            match status.as_ref().map(Option::as_deref) {
                Ok(Some("committed")) => return Ok(()),
                Ok(Some("in progress")) if started.elapsed() < self.retry.budget() => {
                    if !ended {
                        ended = self.end_backend_of(xid, pid).await;
                    }
                    tokio::time::sleep(OUTCOME_POLL).await;
                }
                _ => return Err(lost),
            }
        }
    }

    /// Ends server process `pid` if it still runs transaction `xid` (a pooler may have
    /// handed the process to another client once the transaction ended). True once done.
    async fn end_backend_of(&self, xid: i64, pid: i32) -> bool {
        let ended = self
            .read(|conn| async move {
                conn.execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE pid = $1 AND backend_xid::text = ($2 % 4294967296)::text",
                    [pid.into(), xid.into()],
                ))
                .await
            })
            .await;
        match ended {
            // No row: the transaction ended on its own meanwhile; the next ask says how.
            Ok(done) => {
                if done.rows_affected() > 0 {
                    tracing::warn!(
                        xid,
                        pid,
                        "ended the server process of a transaction whose COMMIT went unanswered"
                    );
                }
                true
            }
            Err(err) => {
                tracing::warn!(error = %err, xid, pid, "could not end the server process of an unanswered COMMIT");
                false
            }
        }
    }

    /// One attempt at a round trip through the pool, for probes that must answer quickly.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.bounded().ping().await
    }

    /// Whether the server answers on a connection of its own, opened outside the pool and
    /// closed again: the pool's connections may all be stuck while the server is fine.
    pub async fn answers_fresh_connection(&self, limit: Duration) -> bool {
        let url = self.url.clone();
        let attempt = async move {
            let answered = match self.conn.get_database_backend() {
                DbBackend::Postgres => ping_once::<PgConnection>(&url).await,
                _ => ping_once::<SqliteConnection>(&url).await,
            };
            answered.map_err(|err| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(err))))
        };
        within(limit, attempt).await.is_ok()
    }

    /// Applies pending migrations in one transaction, retrying while the database is
    /// unreachable. On PostgreSQL replicas starting together take turns on an advisory
    /// lock, so the later ones find nothing pending instead of failing on the same DDL.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        self.retry
            .run("migrate", is_transient, || async {
                let txn = self.conn.begin().await?;
                if txn.get_database_backend() == DbBackend::Postgres {
                    txn.execute_unprepared(&format!(
                        "SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"
                    ))
                    .await?;
                }
                Migrator::up(&txn, None).await?;
                txn.commit().await
            })
            .await
    }

    /// How many statements have been sent since start: a request's cost in round trips
    /// is counted by them, not timed.
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// How many transient failures have been retried since start.
    pub fn retries(&self) -> u64 {
        self.retry.retries()
    }

    /// Open connections in the pool, and how many of them are idle.
    pub fn pool_size(&self) -> (u32, usize) {
        match self.conn.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        }
    }

    /// Closes every pooled connection; in-flight work finishes first.
    pub async fn close(&self) {
        if let Err(err) = self.conn.close_by_ref().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
    }
}
