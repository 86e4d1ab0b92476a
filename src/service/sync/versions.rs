//! The server's version of a synced row: when it last changed, for telling an offline
//! edit of a row that changed since the client's last sync. The row is held to the end of
//! the sync's transaction (on PostgreSQL; SQLite has one writer at a time), so that a
//! concurrent change of it either lands before the check, and is seen, or waits until the
//! sync has applied its own.

use chrono::NaiveDateTime;
use entities::{expense, shopping_list, shopping_list_item, todo};
use sea_orm::{
    ColumnTrait, DbErr, EntityTrait, PrimaryKeyTrait, QueryFilter, QuerySelect, QueryTrait,
    sea_query::{IntoCondition, LockType},
};
use uuid::Uuid;

use super::RowKind;
use crate::db::Txn;

/// When the row `id` of `kind` in `household_id` last changed; none when the household
/// has no such row.
pub async fn changed_at(
    txn: &Txn,
    kind: RowKind,
    household_id: Uuid,
    id: Uuid,
) -> Result<Option<NaiveDateTime>, DbErr> {
    match kind {
        RowKind::Todo => {
            held::<todo::Entity>(
                txn,
                id,
                todo::Column::HouseholdId.eq(household_id),
                todo::Column::UpdatedAt,
            )
            .await
        }
        RowKind::ShoppingList => {
            held::<shopping_list::Entity>(
                txn,
                id,
                shopping_list::Column::HouseholdId.eq(household_id),
                shopping_list::Column::UpdatedAt,
            )
            .await
        }
        RowKind::ShoppingItem => {
            let mut item = shopping_list_item::Entity::find_by_id(id)
                .inner_join(shopping_list::Entity)
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .select_only()
                .column(shopping_list_item::Column::UpdatedAt);
            // The item only: holding its list too would make two syncs editing items of
            // one list wait on each other, and deadlock when they take them in turn.
            QueryTrait::query(&mut item)
                .lock_with_tables(LockType::NoKeyUpdate, [shopping_list_item::Entity]);
            item.into_tuple().one(txn).await
        }
        RowKind::Expense => {
            held::<expense::Entity>(
                txn,
                id,
                expense::Column::HouseholdId.eq(household_id),
                expense::Column::UpdatedAt,
            )
            .await
        }
    }
}

/// The `updated` column of the row `id` of `E` where `in_household` holds, the row held.
async fn held<E>(
    txn: &Txn,
    id: Uuid,
    in_household: impl IntoCondition,
    updated: E::Column,
) -> Result<Option<NaiveDateTime>, DbErr>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    E::find_by_id(id)
        .filter(in_household)
        .select_only()
        .column(updated)
        .lock(LockType::NoKeyUpdate)
        .into_tuple()
        .one(txn)
        .await
}
