//! The record of deleted rows: every delete of a synced row (by REST, by a sync, or by a
//! cascade such as a list's items or a removed household) leaves its id here, in the
//! deleting transaction, so that the other phones' next sync can drop it too. Kept for
//! `RETENTION`; a client that last synced before that gets everything instead (see `feed`).

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, InsertStatement, OnConflict, Query, SelectStatement},
};
use uuid::Uuid;

use super::RowKind;
use crate::db::{Db, Txn};

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

/// The ids of a household's rows deleted after a moment, per kind.
#[derive(Default)]
pub struct Deleted {
    pub todos: Vec<Uuid>,
    pub shopping_lists: Vec<Uuid>,
    pub shopping_items: Vec<Uuid>,
    pub expenses: Vec<Uuid>,
}

/// The columns a deletion is written in, in this order.
const COLUMNS: [Column; 4] = [
    Column::RowId,
    Column::Kind,
    Column::HouseholdId,
    Column::DeletedAt,
];

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

/// When `id` of `kind` was deleted from `household_id`, if it was (and is still recorded).
pub async fn deleted_at(
    txn: &Txn,
    kind: RowKind,
    household_id: Uuid,
    id: Uuid,
) -> Result<Option<NaiveDateTime>, DbErr> {
    Entity::find_by_id((kind.as_str().to_owned(), id))
        .filter(Column::HouseholdId.eq(household_id))
        .select_only()
        .column(Column::DeletedAt)
        .into_tuple()
        .one(txn)
        .await
}

/// The rows of `household_id` deleted after `after`.
pub async fn since<C: ConnectionTrait>(
    conn: &C,
    household_id: Uuid,
    after: NaiveDateTime,
) -> Result<Deleted, DbErr> {
    let rows: Vec<(String, Uuid)> = Entity::find()
        .filter(Column::HouseholdId.eq(household_id))
        .filter(Column::DeletedAt.gt(after))
        .select_only()
        .columns([Column::Kind, Column::RowId])
        .into_tuple()
        .all(conn)
        .await?;
    let mut deleted = Deleted::default();
    for (kind, id) in rows {
        let ids = match RowKind::named(&kind) {
            Some(RowKind::Todo) => &mut deleted.todos,
            Some(RowKind::ShoppingList) => &mut deleted.shopping_lists,
            Some(RowKind::ShoppingItem) => &mut deleted.shopping_items,
            Some(RowKind::Expense) => &mut deleted.expenses,
            None => continue,
        };
        ids.push(id);
    }
    Ok(deleted)
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
