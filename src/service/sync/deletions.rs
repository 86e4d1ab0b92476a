//! The record of deleted rows: every delete of a synced row (by REST, by a sync, or by a
//! cascade such as a list's items or a removed household) leaves its id here, in the
//! deleting transaction, so that the other phones' next sync can drop it too. Kept for
//! `RETENTION`; a client that last synced before that gets everything instead (see `feed`).
//! A sync records its own deletions in its set statements (`sets`); these are the single
//! rows and cascades of the REST routes.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, InsertStatement, OnConflict, Query, SelectStatement},
};
use uuid::Uuid;

use super::RowKind;
use crate::db::{Db, Txn, bulk::Params};

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

/// The columns a deletion is written in, in this order.
const COLUMNS: [Column; 4] = [
    Column::RowId,
    Column::Kind,
    Column::HouseholdId,
    Column::DeletedAt,
];

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

/// Records the row `id` of `household_id` as deleted now.
pub async fn record(txn: &Txn, kind: RowKind, household_id: Uuid, id: Uuid) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert
        .into_table(Entity)
        .columns(COLUMNS)
        .values([
            Expr::val(id),
            Expr::val(kind.as_str()),
            Expr::val(household_id),
            Expr::val(now()),
        ])
        .map_err(query_error)?;
    upsert(txn, insert).await
}

/// Records as deleted now every row `ids` selects (one column: the row's id, and a
/// `WHERE`), all of `household_id`; for a cascade, before the delete that takes them.
pub async fn record_all(
    txn: &Txn,
    kind: RowKind,
    household_id: Uuid,
    mut ids: SelectStatement,
) -> Result<(), DbErr> {
    ids.expr(Expr::val(kind.as_str()))
        .expr(Expr::val(household_id))
        .expr(Expr::val(now()));
    let mut insert = Query::insert();
    insert
        .into_table(Entity)
        .columns(COLUMNS)
        .select_from(ids)
        .map_err(query_error)?;
    upsert(txn, insert).await
}

/// Runs `insert`; a row deleted, created again under its id and deleted again is
/// recorded once, at its last deletion.
async fn upsert(txn: &Txn, mut insert: InsertStatement) -> Result<(), DbErr> {
    insert.on_conflict(
        OnConflict::columns([Column::Kind, Column::RowId])
            .update_columns([Column::HouseholdId, Column::DeletedAt])
            .to_owned(),
    );
    txn.execute(&insert).await?;
    Ok(())
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn query_error(err: sea_orm::sea_query::error::Error) -> DbErr {
    DbErr::Custom(err.to_string())
}

/// Deletes the record of deletions older than the retention; answers how many there were.
pub async fn purge_expired(db: &Db) -> Result<u64, DbErr> {
    let cutoff = now() - RETENTION;
    db.idempotent(|conn| async move {
        Entity::delete_many()
            .filter(Column::DeletedAt.lt(cutoff))
            .exec(&conn)
            .await
            .map(|deleted| deleted.rows_affected)
    })
    .await
}
