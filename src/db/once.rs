//! A write that is one statement: its checks folded into its `WHERE`, run without `BEGIN`
//! and `COMMIT` (each a round trip of its own), and with the request's claim on its
//! `Idempotency-Key` made in the same statement, so that claim, check and change commit
//! together or not at all. On PostgreSQL the claim and the write's parts are data-modifying
//! CTEs of one statement; SQLite, which has none, runs them in one transaction (it pays no
//! round trips).
//!
//! A write without a key carries a receipt of the service's own in its place. The claim (or
//! receipt) makes the statement safe to send again: a second attempt finds the first's
//! claim and writes nothing. So a statement whose answer was lost is simply retried like a
//! read: the retry waits for the first attempt while it still runs, writes if it never
//! committed, and otherwise finds its claim and reads the written rows back.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};

use super::{
    Db,
    bulk::Params,
    keys::{self, Claim, Fate},
};

/// A data-modifying statement of a write, given the parameters to bind into and the
/// condition (the claim was made) to `AND` into its `WHERE`.
pub type Part = Box<dyn FnOnce(&mut Params, &str) -> Result<String, DbErr> + Send>;

/// The message of the error a write answers when another request holds its key.
const HELD: &str = "the Idempotency-Key is held by another request";

/// True for the error a write answers when another request holds the key.
pub fn is_held(err: &DbErr) -> bool {
    matches!(err, DbErr::Custom(message) if message == HELD)
}

pub(super) fn held() -> DbErr {
    DbErr::Custom(HELD.to_owned())
}

impl Db {
    /// Runs `parts` as one write, the last one's `RETURNING` rows its answer; `read_back`
    /// reads those rows again for an attempt that committed but whose answer was lost. An
    /// error [`is_held`] when another request holds the key.
    pub async fn once(
        &self,
        parts: Vec<Part>,
        read_back: Statement,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let backend = self.conn.get_database_backend();
        match backend {
            DbBackend::Postgres => self.once_in_one_statement(parts, read_back).await,
            _ => self.once_in_a_transaction(parts).await,
        }
    }

    async fn once_in_one_statement(
        &self,
        parts: Vec<Part>,
        read_back: Statement,
    ) -> Result<Vec<QueryResult>, DbErr> {
        let claim = keys::unmade().unwrap_or_else(Claim::receipt);
        let mut params = Params::new(DbBackend::Postgres);
        let claim_sql = claim.insert_sql(&mut params);
        let last = parts.len().saturating_sub(1);
        let mut ctes = Vec::with_capacity(parts.len());
        for (n, part) in parts.into_iter().enumerate() {
            let sql = part(&mut params, "EXISTS (SELECT 1 FROM claim)")?;
            ctes.push(format!("w{n} AS ({sql})"));
        }
        let sql = format!(
            "WITH claim AS ({claim_sql}), {} \
             SELECT (SELECT count(*) FROM claim) AS claimed, \
                    (SELECT count(*) FROM w{last}) AS written, w{last}.* \
             FROM (SELECT 1) AS one LEFT JOIN w{last} ON true",
            ctes.join(", ")
        );
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, params.values);
        let rows = self
            .guarded("write", || {
                let statement = statement.clone();
                async move { self.bounded().query_all_raw(statement).await }
            })
            .await?;
        let first = rows.first();
        let claimed = first
            .map(|row| row.try_get::<i64>("", "claimed"))
            .transpose()?;
        if claimed.unwrap_or(0) > 0 {
            keys::decided(Fate::Made);
            let written = first
                .map(|row| row.try_get::<i64>("", "written"))
                .transpose()?;
            return Ok(if written.unwrap_or(0) > 0 {
                rows
            } else {
                Vec::new()
            });
        }
        // Held: by this very claim, when an earlier attempt committed and its answer was lost.
        if keys::is_this_claims(self, &claim).await? {
            keys::decided(Fate::Made);
            return self
                .read(|conn| {
                    let read_back = read_back.clone();
                    async move { conn.query_all_raw(read_back).await }
                })
                .await;
        }
        keys::decided(Fate::Taken);
        Err(held())
    }

    async fn once_in_a_transaction(&self, parts: Vec<Part>) -> Result<Vec<QueryResult>, DbErr> {
        let backend = self.conn.get_database_backend();
        let txn = self.begin().await?;
        if let Some(claim) = keys::unmade() {
            let mut params = Params::new(backend);
            let sql = claim.insert_sql(&mut params);
            let made = txn
                .query_one_raw(Statement::from_sql_and_values(backend, sql, params.values))
                .await?;
            if made.is_none() {
                keys::decided(Fate::Taken);
                return Err(held());
            }
        }
        let last = parts.len().saturating_sub(1);
        let mut answer = Vec::new();
        for (n, part) in parts.into_iter().enumerate() {
            let mut params = Params::new(backend);
            let sql = part(&mut params, "1 = 1")?;
            let statement = Statement::from_sql_and_values(backend, sql, params.values);
            if n == last {
                answer = txn.query_all_raw(statement).await?;
            } else {
                txn.execute_raw(statement).await?;
            }
        }
        self.commit(txn).await?;
        keys::decided(Fate::Made);
        Ok(answer)
    }
}
