//! The record of deleted rows: every delete of a synced row (by REST, by a sync, or by a
//! cascade such as a list's items or a removed household) leaves its id here, in the
//! deleting transaction, so that the other phones' next sync can drop it too. Kept for
//! `RETENTION`; a client that last synced before that gets everything instead (see `feed`).
//! Every writer of it writes it with [`record_sql`], a piece of its own statement.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::RowKind;
use crate::db::{Db, bulk::Params};

/// How long a deletion is kept for the phones that have not synced since.
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

pub mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sync_deletions")]
    pub struct Model {
        /// `RowKind`'s name: `todo`, `shopping_list`, `shopping_item` or `expense`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub row_id: Uuid,
        /// The household the row was in (an item's is its list's).
        pub household_id: Uuid,
        pub deleted_at: DateTime,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{Column, Entity};

/// An insert, for a statement of a write, recording as deleted at `now` the rows of `kind`
/// that `rows` selects (two columns: `id`, and the row's `household_id`); a row deleted,
/// made again and deleted again is recorded once, at its last deletion.
pub fn record_sql(params: &mut Params, kind: RowKind, rows: &str, now: NaiveDateTime) -> String {
    let at = params.bind(now);
    // `WHERE true`: SQLite needs it to read the `ON CONFLICT` as the insert's.
    format!(
        "INSERT INTO \"sync_deletions\" (\"kind\", \"row_id\", \"household_id\", \"deleted_at\") \
         SELECT '{kind}', x.\"id\", x.\"household_id\", {at} FROM ({rows}) x WHERE true \
         ON CONFLICT (\"kind\", \"row_id\") DO UPDATE \
         SET \"household_id\" = EXCLUDED.\"household_id\", \"deleted_at\" = EXCLUDED.\"deleted_at\"",
        kind = kind.as_str()
    )
}

/// Deletes the record of deletions older than the retention; answers how many there were.
pub async fn purge_expired(db: &Db) -> Result<u64, DbErr> {
    let cutoff = Utc::now().naive_utc() - RETENTION;
    db.idempotent(|conn| async move {
        Entity::delete_many()
            .filter(Column::DeletedAt.lt(cutoff))
            .exec(&conn)
            .await
            .map(|deleted| deleted.rows_affected)
    })
    .await
}
