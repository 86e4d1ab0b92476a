//! The server's version of a synced row: when it last changed, for telling an offline
//! edit of a row that changed since the client's last sync.

use chrono::NaiveDateTime;
use entities::{expense, shopping_list, shopping_list_item, todo};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
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
            todo::Entity::find_by_id(id)
                .filter(todo::Column::HouseholdId.eq(household_id))
                .select_only()
                .column(todo::Column::UpdatedAt)
                .into_tuple()
                .one(txn)
                .await
        }
        RowKind::ShoppingList => {
            shopping_list::Entity::find_by_id(id)
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .select_only()
                .column(shopping_list::Column::UpdatedAt)
                .into_tuple()
                .one(txn)
                .await
        }
        RowKind::ShoppingItem => {
            shopping_list_item::Entity::find_by_id(id)
                .inner_join(shopping_list::Entity)
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .select_only()
                .column(shopping_list_item::Column::UpdatedAt)
                .into_tuple()
                .one(txn)
                .await
        }
        RowKind::Expense => {
            expense::Entity::find_by_id(id)
                .filter(expense::Column::HouseholdId.eq(household_id))
                .select_only()
                .column(expense::Column::UpdatedAt)
                .into_tuple()
                .one(txn)
                .await
        }
    }
}
