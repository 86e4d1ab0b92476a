//! The change feed: every row of a household changed after a moment, for the app to
//! bring its copy up to date.

use chrono::NaiveDateTime;
use entities::{expense, shopping_list, shopping_list_item, todo};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    db::Db,
    service::{
        ServiceResult,
        expenses::{self, ExpenseDetail},
    },
};

/// A household's rows changed after a moment.
pub struct Feed {
    pub todos: Vec<todo::Model>,
    pub shopping_lists: Vec<shopping_list::Model>,
    pub shopping_items: Vec<shopping_list_item::Model>,
    /// Each with all its splits.
    pub expenses: Vec<ExpenseDetail>,
}

/// The rows of `household_id` changed after `after`. The caller's membership was checked
/// by the sync that asks.
pub async fn changed_since(
    db: &Db,
    household_id: Uuid,
    after: NaiveDateTime,
) -> ServiceResult<Feed> {
    let (todos, lists, items, expenses) = db
        .read(|conn| async move {
            let todos = todo::all(
                todo::Entity::find()
                    .filter(todo::Column::HouseholdId.eq(household_id))
                    .filter(todo::Column::UpdatedAt.gt(after)),
                &conn,
            )
            .await?;
            let lists = shopping_list::Entity::find()
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .filter(shopping_list::Column::UpdatedAt.gt(after))
                .all(&conn)
                .await?;
            // An item's household is its list's, changed or not.
            let items = shopping_list_item::Entity::find()
                .inner_join(shopping_list::Entity)
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .filter(shopping_list_item::Column::UpdatedAt.gt(after))
                .order_by_asc(shopping_list_item::Column::CreatedAt)
                .all(&conn)
                .await?;
            let expenses = expense::Entity::find()
                .filter(expense::Column::HouseholdId.eq(household_id))
                .filter(expense::Column::UpdatedAt.gt(after))
                .all(&conn)
                .await?;
            Ok((todos, lists, items, expenses))
        })
        .await?;
    let expenses = expenses::details_of(db, expenses).await?;
    Ok(Feed {
        todos,
        shopping_lists: lists,
        shopping_items: items,
        expenses,
    })
}
