//! The key store: claims on `Idempotency-Key`s and the answers kept for them, in the
//! service's own table `idempotency_keys`, so every replica sees them.
//!
//! A key is claimed by the request's first write, in the write's own statement (or its
//! transaction): the claim exists if and only if the write committed, so a failed write
//! leaves nothing to release, and a write whose answer was lost is settled by finding its
//! claim (see `once`). A write without a key carries a receipt of the service's own
//! instead, for that settling alone. The claim waits for the request in a task-local
//! slot, set by the idempotency layer around the request and taken by the write that
//! makes it.

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use super::{Db, bulk::Params};

/// How long an answer is kept for repeats.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The scope of the receipts of writes sent without a key.
const RECEIPTS: &str = "receipt";

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        /// Whose key it is, for which operation: a digest of the user and the method
        /// and path template (`receipt` for a write's own receipt).
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// A digest of the method, path and body the key was first used with.
        pub request_hash: String,
        /// `None` until the request's answer is kept.
        pub status: Option<i16>,
        #[sea_orm(column_type = "Text", nullable)]
        pub response_body: Option<String>,
        pub created_at: DateTime,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A claim on a key, as a write makes it.
#[derive(Clone, Debug)]
pub struct Claim {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
    /// When it was made, to the microsecond as both databases store it: it tells this
    /// claim from a later one under the same key.
    pub at: NaiveDateTime,
    /// A claim without an answer made before this belongs to a request that died, and
    /// may be taken over.
    stale_before: NaiveDateTime,
}

impl Claim {
    /// A client's claim on `key` in `scope` for the request `request_hash` names; an
    /// unanswered claim older than `stale_after` is taken to be a dead request's.
    pub fn client(scope: String, key: String, request_hash: String, stale_after: Duration) -> Self {
        let at = now();
        Self {
            scope,
            key,
            request_hash,
            at,
            stale_before: at - stale_after,
        }
    }

    /// A write's receipt of its own, when its request sent no key: what a lost answer is
    /// settled by. Nobody looks it up; the hourly purge takes it with expired keys.
    pub fn receipt() -> Self {
        let at = now();
        Self {
            scope: RECEIPTS.to_owned(),
            key: Uuid::new_v4().to_string(),
            request_hash: String::new(),
            at,
            stale_before: at,
        }
    }

    /// The claim as a statement: it inserts the claim, or takes over one that expired or
    /// whose request died, and returns a row when it made the claim; when the key is held,
    /// none.
    pub fn insert_sql(&self, params: &mut Params) -> String {
        let (scope, key, hash, at) = (
            params.bind(self.scope.clone()),
            params.bind(self.key.clone()),
            params.bind(self.request_hash.clone()),
            params.bind(self.at),
        );
        let expired = params.bind(self.at - RETENTION);
        let stale = params.bind(self.stale_before);
        format!(
            "INSERT INTO \"idempotency_keys\" \
             (\"scope\", \"key\", \"request_hash\", \"status\", \"response_body\", \"created_at\") \
             VALUES ({scope}, {key}, {hash}, NULL, NULL, {at}) \
             ON CONFLICT (\"scope\", \"key\") DO UPDATE SET \
             \"request_hash\" = EXCLUDED.\"request_hash\", \"status\" = NULL, \
             \"response_body\" = NULL, \"created_at\" = EXCLUDED.\"created_at\" \
             WHERE \"idempotency_keys\".\"created_at\" < {expired} \
             OR (\"idempotency_keys\".\"status\" IS NULL AND \"idempotency_keys\".\"created_at\" < {stale}) \
             RETURNING 1 AS made"
        )
    }

    fn is_receipt(&self) -> bool {
        self.scope == RECEIPTS
    }
}

/// To the microsecond, as both databases store it, so a claim matches its row exactly.
fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// What became of a request's claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// No write made it (the request wrote nothing, or failed before).
    Unmade,
    /// Its write made it and committed.
    Made,
    /// The key was held by another claim: the write did nothing.
    Taken,
}

struct Slot {
    claim: Claim,
    fate: Fate,
}

tokio::task_local! {
    static REQUEST_CLAIM: Arc<Mutex<Slot>>;
}

/// A request's claim, held for its first write.
#[derive(Clone)]
pub struct Pending(Arc<Mutex<Slot>>);

impl Pending {
    pub fn new(claim: Claim) -> Self {
        Self(Arc::new(Mutex::new(Slot {
            claim,
            fate: Fate::Unmade,
        })))
    }

    /// Runs `work` (the request) with this claim waiting for its first write. Not an
    /// `async fn`, as the layered endpoint's future is near the compiler's depth limit.
    pub fn over<F: Future>(&self, work: F) -> impl Future<Output = F::Output> {
        REQUEST_CLAIM.scope(self.0.clone(), work)
    }

    pub fn fate(&self) -> Fate {
        lock(&self.0).fate
    }

    pub fn claim(&self) -> Claim {
        lock(&self.0).claim.clone()
    }
}

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    // The slot stays whole whatever panicked while holding it.
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The request's claim, if it has one no write has made yet.
pub(super) fn unmade() -> Option<Claim> {
    REQUEST_CLAIM
        .try_with(|slot| {
            let slot = lock(slot);
            (slot.fate == Fate::Unmade).then(|| slot.claim.clone())
        })
        .ok()
        .flatten()
}

/// Records what the write that carried the request's claim did with it.
pub(super) fn decided(fate: Fate) {
    let _ = REQUEST_CLAIM.try_with(|slot| lock(slot).fate = fate);
}

/// Whether the claim under `claim`'s key is `claim` itself: made by an earlier attempt of
/// the same write, which committed though its answer was lost.
pub(super) async fn is_this_claims(db: &Db, claim: &Claim) -> Result<bool, DbErr> {
    let (scope, key) = (claim.scope.clone(), claim.key.clone());
    let held = db
        .read(|conn| {
            let (scope, key) = (scope.clone(), key.clone());
            async move { entity::Entity::find_by_id((scope, key)).one(&conn).await }
        })
        .await?;
    Ok(
        held.is_some_and(|row| {
            row.created_at == claim.at && row.request_hash == claim.request_hash
        }),
    )
}

/// What the claim already under a key says to a request that could not claim it.
#[derive(Debug, PartialEq)]
pub enum Held {
    /// Its request is still running.
    InProgress,
    /// It was made for another request.
    Mismatch,
    /// Its request finished: answer this again.
    Replay { status: u16, body: String },
}

/// What holds the key `claim` could not take.
pub async fn held(db: &Db, claim: &Claim) -> Result<Held, DbErr> {
    let (scope, key) = (claim.scope.clone(), claim.key.clone());
    let existing = db
        .read(|conn| {
            let (scope, key) = (scope.clone(), key.clone());
            async move { entity::Entity::find_by_id((scope, key)).one(&conn).await }
        })
        .await?;
    Ok(match existing {
        // Gone meanwhile (purged): as good as still held; the client tries again.
        None => Held::InProgress,
        Some(row) if row.request_hash != claim.request_hash => Held::Mismatch,
        Some(entity::Model {
            status: Some(status),
            response_body,
            ..
        }) => Held::Replay {
            status: u16::try_from(status).unwrap_or(500),
            body: response_body.unwrap_or_default(),
        },
        Some(_) => Held::InProgress,
    })
}

/// Keeps the answer to `claim`'s request (a later claim under the same key, made once
/// this one went stale, is left alone). Safe to repeat, so retried like a read.
pub async fn complete(db: &Db, claim: &Claim, status: u16, body: String) -> Result<(), DbErr> {
    if claim.is_receipt() {
        return Ok(());
    }
    let claim = claim.clone();
    db.idempotent(|conn| {
        let (claim, body) = (claim.clone(), body.clone());
        async move {
            entity::Entity::update_many()
                .col_expr(
                    entity::Column::Status,
                    Expr::value(i16::try_from(status).unwrap_or(500)),
                )
                .col_expr(entity::Column::ResponseBody, Expr::value(body))
                .filter(entity::Column::Scope.eq(claim.scope))
                .filter(entity::Column::Key.eq(claim.key))
                .filter(entity::Column::CreatedAt.eq(claim.at))
                .exec(&conn)
                .await
                .map(drop)
        }
    })
    .await
}

/// Deletes every key and receipt older than the retention; answers how many there were.
pub async fn purge_expired(db: &Db) -> Result<u64, DbErr> {
    let cutoff = Utc::now().naive_utc() - RETENTION;
    db.idempotent(|conn| async move {
        entity::Entity::delete_many()
            .filter(entity::Column::CreatedAt.lt(cutoff))
            .exec(&conn)
            .await
            .map(|deleted| deleted.rows_affected)
    })
    .await
}
