//! The change feed: every row of a household changed after the client's last sync, and
//! every row deleted since, for the app to bring its copy up to date; or everything, when
//! the client has no copy or its last sync is older than deletions are kept.

use chrono::{DateTime, NaiveDateTime, Utc};
use entities::{expense, shopping_list, shopping_list_item, todo};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    db::{Db, rows},
    service::{
        ServiceResult,
        expenses::{self, ExpenseDetail},
        sync::deletions::{self, Deleted, RETENTION},
    },
};

/// A household's rows changed after a moment.
pub struct Feed {
    /// Every row of the household, not only changes: the client replaces its copy.
    pub complete: bool,
    pub todos: Vec<todo::Model>,
    pub shopping_lists: Vec<shopping_list::Model>,
    pub shopping_items: Vec<shopping_list_item::Model>,
    /// Each with all its splits.
    pub expenses: Vec<ExpenseDetail>,
    /// The rows deleted after the moment; none when `complete`.
    pub deleted: Deleted,
}

/// The rows of `household_id` changed after `last_sync` (none: the client has never
/// synced). The caller's membership was checked by the sync that asks.
pub async fn changed_since(
    db: &Db,
    household_id: Uuid,
    last_sync: Option<NaiveDateTime>,
) -> ServiceResult<Feed> {
    let kept_from = Utc::now().naive_utc() - RETENTION;
    let (complete, after) = match last_sync {
        Some(at) if at >= kept_from => (false, at),
        _ => (true, DateTime::UNIX_EPOCH.naive_utc()),
    };
    let (todos, lists, items, expenses, deleted) = db
        .read(|conn| async move {
            let todos = rows::all(
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
            let deleted = if complete {
                Deleted::default()
            } else {
                deletions::since(&conn, household_id, after).await?
            };
            Ok((todos, lists, items, expenses, deleted))
        })
        .await?;
    let expenses = expenses::details_of(db, expenses).await?;
    Ok(Feed {
        complete,
        todos,
        shopping_lists: lists,
        shopping_items: items,
        expenses,
        deleted,
    })
}
