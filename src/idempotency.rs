//! Idempotency keys: the first answer to a write sent with an `Idempotency-Key` is kept
//! for 24 hours in the database (so every replica sees it), and a repeat gets that answer
//! again instead of writing twice.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, QueryFilter, sea_query::OnConflict,
};

use crate::db::Db;

/// How long an answer is kept for repeats.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// The wait between attempts to release a key whose release failed: each attempt already
/// spends the retry budget, or fails at once while the breaker is open.
const RELEASE_PAUSE: Duration = Duration::from_millis(500);

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        /// Whose key it is, for which operation: a digest of the user and the method
        /// and path template.
        #[sea_orm(primary_key, auto_increment = false)]
        pub scope: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// A digest of the method, path and body the key was first used with.
        pub request_hash: String,
        /// `None` while the first request is still running.
        pub status: Option<i16>,
        #[sea_orm(column_type = "Text", nullable)]
        pub response_body: Option<String>,
        pub created_at: DateTime,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// When a claim was made: it tells that claim from a later one under the same key.
pub type ClaimedAt = NaiveDateTime;

/// What a request with a key may do.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// The key is new (or expired): run the request, then `complete` or `release` it.
    Run(ClaimedAt),
    /// The key's first request is still running.
    InProgress,
    /// The key was used with another request.
    Mismatch,
    /// The key's first request finished: answer this again.
    Replay { status: u16, body: String },
}

/// Claims `key` for a request; `stale_after` is how long an unfinished claim may stand
/// before it is taken to belong to a request that died (past the request deadline).
pub async fn claim(
    db: &Db,
    scope: &str,
    key: &str,
    request_hash: &str,
    stale_after: Duration,
) -> Result<Claim, DbErr> {
    // To the microsecond, as both databases store it, so `release` can match it exactly.
    let now = Utc::now().naive_utc().trunc_subsecs(6);
    let (scope, key, hash) = (scope.to_owned(), key.to_owned(), request_hash.to_owned());
    db.idempotent(|conn| {
        let (scope, key, hash) = (scope.clone(), key.clone(), hash.clone());
        async move {
            let inserted = entity::Entity::insert(entity::ActiveModel {
                scope: Set(scope.clone()),
                key: Set(key.clone()),
                request_hash: Set(hash.clone()),
                status: Set(None),
                response_body: Set(None),
                created_at: Set(now),
            })
            .on_conflict(
                OnConflict::columns([entity::Column::Scope, entity::Column::Key])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&conn)
            .await?;
            if inserted == 1 {
                return Ok(Claim::Run(now));
            }
            let Some(existing) = entity::Entity::find_by_id((scope.clone(), key.clone()))
                .one(&conn)
                .await?
            else {
                return Ok(Claim::InProgress);
            };
            if existing.created_at == now && existing.request_hash == hash {
                // This very claim, stored by an attempt whose answer a dropped connection
                // lost: every attempt writes the same `now`.
                return Ok(Claim::Run(now));
            }
            let expired = age(now, existing.created_at) > RETENTION;
            let abandoned =
                existing.status.is_none() && age(now, existing.created_at) > stale_after;
            if expired || abandoned {
                // Take the key over only if nobody else did meanwhile.
                let taken = entity::Entity::update_many()
                    .set(entity::ActiveModel {
                        request_hash: Set(hash.clone()),
                        status: Set(None),
                        response_body: Set(None),
                        created_at: Set(now),
                        ..Default::default()
                    })
                    .filter(entity::Column::Scope.eq(scope))
                    .filter(entity::Column::Key.eq(key))
                    .filter(entity::Column::CreatedAt.eq(existing.created_at))
                    .exec(&conn)
                    .await?;
                return Ok(if taken.rows_affected == 1 {
                    Claim::Run(now)
                } else {
                    Claim::InProgress
                });
            }
            if existing.request_hash != hash {
                return Ok(Claim::Mismatch);
            }
            Ok(match (existing.status, existing.response_body) {
                (Some(status), body) => Claim::Replay {
                    status: u16::try_from(status).unwrap_or(500),
                    body: body.unwrap_or_default(),
                },
                (None, _) => Claim::InProgress,
            })
        }
    })
    .await
}

fn age(now: NaiveDateTime, then: NaiveDateTime) -> Duration {
    (now - then).to_std().unwrap_or_default()
}

/// Records the answer to the claim made at `claimed_at` (a later claim under the same key,
/// made once this one went stale, is left alone). Safe to repeat, so retried like a read.
pub async fn complete(
    db: &Db,
    scope: &str,
    key: &str,
    claimed_at: ClaimedAt,
    status: u16,
    body: String,
) -> Result<(), DbErr> {
    let (scope, key) = (scope.to_owned(), key.to_owned());
    db.idempotent(|conn| {
        let (scope, key, body) = (scope.clone(), key.clone(), body.clone());
        async move {
            entity::Entity::update_many()
                .set(entity::ActiveModel {
                    status: Set(Some(i16::try_from(status).unwrap_or(500))),
                    response_body: Set(Some(body)),
                    ..Default::default()
                })
                .filter(entity::Column::Scope.eq(scope))
                .filter(entity::Column::Key.eq(key))
                .filter(entity::Column::CreatedAt.eq(claimed_at))
                .exec(&conn)
                .await
                .map(drop)
        }
    })
    .await
}

/// Forgets the claim made at `claimed_at`, so the client may try again with its key (after
/// a 5xx, nothing was kept). A later claim under the same key is left alone.
pub async fn release(db: &Db, scope: &str, key: &str, claimed_at: ClaimedAt) -> Result<(), DbErr> {
    let (scope, key) = (scope.to_owned(), key.to_owned());
    db.idempotent(|conn| {
        let (scope, key) = (scope.clone(), key.clone());
        async move {
            entity::Entity::delete_many()
                .filter(entity::Column::Scope.eq(scope))
                .filter(entity::Column::Key.eq(key))
                .filter(entity::Column::CreatedAt.eq(claimed_at))
                .exec(&conn)
                .await
                .map(drop)
        }
    })
    .await
}

/// Keys whose request ended (with a 5xx or a 401) while the database could not be reached
/// to release them: their claims still read "in progress", so a client repeating one would
/// get 409 until the claim went stale. A repeat on this replica releases such a key first;
/// a background task releases it, for the other replicas, as soon as the database answers.
#[derive(Clone, Debug, Default)]
pub struct UnreleasedKeys(Arc<Mutex<HashMap<(String, String), ClaimedAt>>>);

impl UnreleasedKeys {
    /// Records the claim and releases it in the background, giving up once it is
    /// `stale_after` old and so free to be taken over anyway.
    pub fn hand_over(
        &self,
        db: Db,
        scope: String,
        key: String,
        claimed_at: ClaimedAt,
        stale_after: Duration,
    ) {
        self.lock().insert((scope.clone(), key.clone()), claimed_at);
        let keys = self.clone();
        let started = Instant::now();
        tokio::spawn(async move {
            while started.elapsed() < stale_after {
                if release(&db, &scope, &key, claimed_at).await.is_ok() {
                    break;
                }
                tokio::time::sleep(RELEASE_PAUSE).await;
            }
            keys.forget(&scope, &key, claimed_at);
        });
    }

    /// The claim of the key's request, if that request ended on this replica without it
    /// being released.
    pub fn claim_of(&self, scope: &str, key: &str) -> Option<ClaimedAt> {
        self.lock()
            .get(&(scope.to_owned(), key.to_owned()))
            .copied()
    }

    /// Forgets the claim, once released (a later claim under the key is kept).
    pub fn forget(&self, scope: &str, key: &str, claimed_at: ClaimedAt) {
        let mut keys = self.lock();
        let entry = (scope.to_owned(), key.to_owned());
        if keys.get(&entry) == Some(&claimed_at) {
            keys.remove(&entry);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), ClaimedAt>> {
        // The set stays consistent whatever panicked while holding it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Deletes every key older than the retention; answers how many there were.
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
