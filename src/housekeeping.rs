//! What the service keeps only for a while (answers for idempotency keys, the record of
//! deleted rows for sync) is deleted once past its retention, at start and then hourly:
//! nothing else removes it. Replicas purging at once delete the same rows, which is
//! harmless.

use std::time::Duration;

use sea_orm::DbErr;

use crate::{
    db::{Db, keys},
    service::changes::deletions,
};

const PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

pub async fn purge_expired_periodically(db: Db) {
    let mut every = tokio::time::interval(PURGE_INTERVAL);
    loop {
        every.tick().await;
        report("idempotency keys", keys::purge_expired(&db).await);
        report("sync deletions", deletions::purge_expired(&db).await);
    }
}

fn report(what: &'static str, purged: Result<u64, DbErr>) {
    match purged {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(what, deleted, "expired rows purged"),
        Err(err) => tracing::warn!(what, error = %err, "could not purge expired rows"),
    }
}
