//! Which database errors are worth retrying, and the one retry policy that retries them.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use backon::{ExponentialBuilder, Retryable};
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, SqlxError};

/// SQLSTATEs a serverless PostgreSQL (or any PostgreSQL) returns while it restarts, suspends,
/// or runs out of connections: the same request will succeed once it is back.
const TRANSIENT_SQLSTATES: &[&str] = &[
    "57P01", // admin_shutdown: the backend was terminated (Neon suspending a compute)
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now: the server is starting up
    "53300", // too_many_connections
    // The server ended a session whose transaction waited on its client too long: the
    // connection stalled on the way (see `idle_in_transaction_session_timeout` in `Db`), so
    // its FATAL error can arrive as the answer to a COMMIT that never reached the server.
    // The transaction was rolled back; trying again on another connection is safe.
    "25P03", // idle_in_transaction_session_timeout
    "25P04", // transaction_timeout (PostgreSQL 17)
    // Two transactions took the same rows in opposite orders (two syncs of overlapping
    // rows, say): the server rolled one back, which may simply be sent again.
    "40P01", // deadlock_detected
    "40001", // serialization_failure
];

/// What Neon's proxy answers while the compute behind it cannot be reached yet.
const NEON_WAKING_MESSAGE: &str = "couldn't connect to compute node";

/// True when `err` says the database could not be reached or dropped the connection,
/// rather than that the statement itself is wrong.
pub fn is_transient(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => true,
        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => false,
        // While connecting, a reply that is not PostgreSQL's (typically none at all: a
        // proxy accepted the connection and closed it because the server behind it is
        // down) means the server is not there yet, not that the query is wrong.
        DbErr::Conn(RuntimeErr::SqlxError(sqlx)) if matches!(**sqlx, SqlxError::Protocol(_)) => {
            true
        }
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
            RuntimeErr::SqlxError(sqlx) => is_transient_sqlx(sqlx),
            _ => false,
        },
        _ => false,
    }
}

fn is_transient_sqlx(err: &SqlxError) -> bool {
    match err {
        SqlxError::Io(_) | SqlxError::PoolTimedOut | SqlxError::WorkerCrashed => true,
        SqlxError::Protocol(message) => is_neon_waking(message),
        SqlxError::Database(db) => {
            let transient_code = db.code().is_some_and(|code| {
                code.starts_with("08")
                    || TRANSIENT_SQLSTATES.contains(&code.as_ref())
                    || is_sqlite_busy(&code)
            });
            transient_code || is_neon_waking(db.message())
        }
        _ => false,
    }
}

/// SQLite's "database is locked" (SQLITE_BUSY, SQLITE_LOCKED and their extended codes):
/// another writer held the lock past the busy timeout. SQLite codes are small numbers;
/// PostgreSQL's SQLSTATEs are five characters, so the two cannot be confused.
fn is_sqlite_busy(code: &str) -> bool {
    code.len() <= 4 && code.parse::<u32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

fn is_neon_waking(message: &str) -> bool {
    message.to_ascii_lowercase().contains(NEON_WAKING_MESSAGE)
}

/// True for a unique constraint violation (SQLSTATE 23505, or SQLite's equivalent).
pub fn is_unique_violation(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            matches!(sqlx.as_ref(), SqlxError::Database(db) if db.is_unique_violation())
        }
        _ => false,
    }
}

/// True for a foreign key violation (SQLSTATE 23503, or SQLite's equivalent): a row the
/// statement refers to was removed, or one referring to its target was added, meanwhile.
pub fn is_foreign_key_violation(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            matches!(sqlx.as_ref(), SqlxError::Database(db) if db.is_foreign_key_violation())
        }
        _ => false,
    }
}

/// Exponential backoff with jitter: a short first delay so a database that has just woken
/// is noticed quickly, a total budget below the request deadline, and a cap low enough
/// (at most twice it with jitter) that a request waiting out an outage tries again within
/// a second of the database coming back.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    budget: Duration,
    retries: Arc<AtomicU64>,
}

const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_millis(400);

impl RetryPolicy {
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            retries: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How long transient errors are retried before giving up.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// How many retries this policy has made since the process started.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Runs `op`, retrying while it fails with an error `retryable` accepts and the budget
    /// lasts. Each retry is logged at warn level with its attempt number and delay.
    pub async fn run<T, F, Fut>(
        &self,
        what: &'static str,
        retryable: fn(&DbErr) -> bool,
        op: F,
    ) -> Result<T, DbErr>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        let started = Instant::now();
        let mut attempt = 0u32;
        let backoff = ExponentialBuilder::new()
            .with_min_delay(FIRST_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_jitter()
            .without_max_times();
        op.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|err| retryable(err) && started.elapsed() < self.budget)
            .notify(|err, delay| {
                attempt += 1;
                self.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    operation = what,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = %err,
                    "transient database error, retrying"
                );
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{borrow::Cow, error::Error, fmt, io};

    /// A database error as a driver reports it: a SQLSTATE and a message.
    #[derive(Debug)]
    struct ServerError {
        code: &'static str,
        message: &'static str,
    }

    impl fmt::Display for ServerError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.message)
        }
    }

    impl Error for ServerError {}

    impl sea_orm::sqlx::error::DatabaseError for ServerError {
        fn message(&self) -> &str {
            self.message
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.code))
        }
        fn as_error(&self) -> &(dyn Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sea_orm::sqlx::error::ErrorKind {
            match self.code {
                "23505" => sea_orm::sqlx::error::ErrorKind::UniqueViolation,
                _ => sea_orm::sqlx::error::ErrorKind::Other,
            }
        }
    }

    fn query_err(err: SqlxError) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
    }

    fn server(code: &'static str, message: &'static str) -> DbErr {
        query_err(SqlxError::Database(Box::new(ServerError { code, message })))
    }

    #[test]
    fn io_errors_are_transient() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(is_transient(&DbErr::Conn(RuntimeErr::SqlxError(Arc::new(
            SqlxError::Io(refused)
        )))));
        assert!(is_transient(&query_err(SqlxError::Io(reset))));
    }

    #[test]
    fn pool_timeouts_are_transient() {
        assert!(is_transient(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
        assert!(is_transient(&query_err(SqlxError::PoolTimedOut)));
    }

    #[test]
    fn a_closed_pool_is_not_transient() {
        assert!(!is_transient(&DbErr::ConnectionAcquire(
            ConnAcquireErr::ConnectionClosed
        )));
    }

    #[test]
    fn shutdown_and_startup_sqlstates_are_transient() {
        for code in ["57P01", "57P02", "57P03"] {
            assert!(is_transient(&server(code, "terminating")), "{code}");
        }
    }

    #[test]
    fn a_transaction_ended_for_a_silent_client_is_transient() {
        for code in ["25P03", "25P04"] {
            assert!(
                is_transient(&server(code, "terminating connection")),
                "{code}"
            );
        }
    }

    #[test]
    fn a_deadlock_or_serialization_failure_is_transient() {
        for code in ["40P01", "40001"] {
            assert!(is_transient(&server(code, "deadlock detected")), "{code}");
        }
    }

    #[test]
    fn connection_exception_class_08_is_transient() {
        for code in ["08000", "08003", "08006", "08001", "08004"] {
            assert!(is_transient(&server(code, "connection failure")), "{code}");
        }
    }

    #[test]
    fn too_many_connections_is_transient() {
        assert!(is_transient(&server("53300", "too many connections")));
    }

    #[test]
    fn neon_waking_compute_is_transient() {
        assert!(is_transient(&server(
            "XX000",
            "Couldn't connect to compute node: timed out"
        )));
        assert!(is_transient(&query_err(SqlxError::Protocol(
            "Couldn't connect to compute node".into()
        ))));
    }

    #[test]
    fn handshake_cut_short_while_connecting_is_transient() {
        let closed = SqlxError::Protocol(
            "unexpected response from SSLRequest: 0x00 (sqlx_postgres::connection::tls:95)".into(),
        );
        assert!(is_transient(&DbErr::Conn(RuntimeErr::SqlxError(Arc::new(
            closed
        )))));
        assert!(!is_transient(&query_err(SqlxError::Protocol(
            "unexpected message from the server".into()
        ))));
    }

    #[test]
    fn sqlite_lock_contention_is_transient() {
        assert!(is_transient(&server("5", "database is locked")));
        assert!(is_transient(&server("517", "database is locked")));
        assert!(is_transient(&server("6", "database table is locked")));
        assert!(!is_transient(&server("19", "UNIQUE constraint failed")));
        assert!(!is_transient(&server("2067", "UNIQUE constraint failed")));
    }

    #[test]
    fn constraint_violations_are_permanent() {
        for code in ["23505", "23503", "23502"] {
            assert!(!is_transient(&server(code, "violation")), "{code}");
        }
        assert!(is_unique_violation(&server("23505", "duplicate key")));
        assert!(!is_unique_violation(&server("23503", "foreign key")));
    }

    #[test]
    fn data_errors_are_permanent() {
        assert!(!is_transient(&server(
            "22P02",
            "invalid input syntax for type uuid"
        )));
    }

    #[test]
    fn syntax_and_schema_errors_are_permanent() {
        assert!(!is_transient(&server("42P01", "relation does not exist")));
        assert!(!is_transient(&server("42601", "syntax error")));
    }

    #[test]
    fn authentication_failures_are_permanent() {
        assert!(!is_transient(&server(
            "28P01",
            "password authentication failed"
        )));
        assert!(!is_transient(&server("28000", "no pg_hba.conf entry")));
    }

    #[test]
    fn orm_errors_are_permanent() {
        assert!(!is_transient(&DbErr::RecordNotFound("todo".into())));
        assert!(!is_transient(&DbErr::Custom("bad".into())));
        assert!(!is_transient(&query_err(SqlxError::RowNotFound)));
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success_and_counted() {
        let policy = RetryPolicy::new(Duration::from_secs(10));
        let mut calls = 0;
        let result = policy
            .run("test", is_transient, || {
                calls += 1;
                let fail = calls < 3;
                async move {
                    if fail {
                        Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
                    } else {
                        Ok(calls)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(policy.retries(), 2);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let policy = RetryPolicy::new(Duration::from_secs(10));
        let mut calls = 0;
        let result: Result<(), DbErr> = policy
            .run("test", is_transient, || {
                calls += 1;
                async { Err(server("23505", "duplicate key")) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
        assert_eq!(policy.retries(), 0);
    }

    #[tokio::test]
    async fn retries_stop_when_the_budget_is_spent() {
        let policy = RetryPolicy::new(Duration::from_millis(300));
        let result: Result<(), DbErr> = policy
            .run("test", is_transient, || async {
                Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
            })
            .await;
        assert!(is_transient(&result.unwrap_err()));
        assert!(policy.retries() >= 1);
    }
}
