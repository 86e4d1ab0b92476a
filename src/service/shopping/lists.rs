//! A household's lists: creating, listing, reading with their items, changing and deleting
//! them, and their stats; and the reads items share with them (a list, a list's items).

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, Utc};
use entities::{enums::ShoppingListStatus, money::Money, shopping_list, shopping_list_item};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{LIST_NOT_FOUND, UNCATEGORIZED};
use crate::{
    db::{Db, bulk::Params, rows},
    domain::ids::{HouseholdId, ShoppingListId, UserId},
    service::{
        ServiceError, ServiceResult,
        access::{
            Caller, Membership, NOT_A_MEMBER, member_sql as member, scoped_read,
            while_member_of_row,
        },
        changes::{RowKind, deletions},
        page::Page,
        patch::Patch,
        people::People,
        statements::{Set, done, insert_once, update_once},
    },
};

/// A list to create, with its id (sync brings the client's own).
pub struct NewList {
    pub id: ShoppingListId,
    pub household_id: HouseholdId,
    pub name: String,
    pub description: Option<String>,
    pub status: ShoppingListStatus,
}

/// What a list update changes; `None` and `Patch::Keep` leave a field as it is.
#[derive(Default)]
pub struct ListChanges {
    pub name: Option<String>,
    pub description: Patch<String>,
    pub status: Option<ShoppingListStatus>,
}

/// Which of a household's lists a list shows.
#[derive(Clone, Copy)]
pub struct ListFilter {
    /// Only these (then `include_archived` is ignored).
    pub status: Option<ShoppingListStatus>,
    pub include_archived: bool,
    pub page: Page,
}

/// Which of a list's items to answer.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub category: Option<String>,
    pub is_purchased: Option<bool>,
    pub page: Page,
}

/// A list with its items, and the people they mention.
pub struct ListDetail {
    pub list: shopping_list::Model,
    pub items: Vec<shopping_list_item::Model>,
    pub people: People,
}

/// A list's item counts, total price and items per category.
pub struct ListStats {
    pub total_items: u64,
    pub purchased_items: u64,
    pub pending_items: u64,
    /// `None` when the list has no items.
    pub total_price: Option<Money>,
    /// Items without a category count under [`UNCATEGORIZED`].
    pub categories: BTreeMap<String, u64>,
}

/// Creates `new` for a member of its household, in one statement.
pub async fn create_list(
    db: &Db,
    caller: Caller,
    new: NewList,
) -> ServiceResult<shopping_list::Model> {
    let household_id = new.household_id;
    let row = new_row(new, caller.user_id(), Utc::now().naive_utc());
    let written = insert_once(db, row.id, row.clone(), move |params| {
        let household = params.bind(household_id.uuid());
        vec![member(params, &household, caller.user_id())]
    })
    .await?;
    if !written {
        return Err(ServiceError::Forbidden(NOT_A_MEMBER.into()));
    }
    Ok(row)
}

/// The row `new` makes, created by `created_by` at `now`.
pub(crate) fn new_row(
    new: NewList,
    created_by: UserId,
    now: NaiveDateTime,
) -> shopping_list::Model {
    shopping_list::Model {
        id: new.id.uuid(),
        household_id: new.household_id.uuid(),
        name: new.name,
        description: new.description,
        status: new.status,
        created_by: created_by.uuid(),
        created_at: now,
        updated_at: now,
    }
}

/// `current` with `changes` made at `now`.
pub(crate) fn changed(
    current: &shopping_list::Model,
    changes: ListChanges,
    now: NaiveDateTime,
) -> shopping_list::Model {
    let mut row = current.clone();
    if let Some(name) = changes.name {
        row.name = name;
    }
    if let Some(status) = changes.status {
        row.status = status;
    }
    changes.description.apply(&mut row.description);
    row.updated_at = now;
    row
}

/// The lists of the household a member's `membership` is of, newest first.
pub async fn lists(
    db: &Db,
    membership: &Membership,
    filter: ListFilter,
) -> ServiceResult<Vec<shopping_list::Model>> {
    let household_id = membership.household_id().uuid();
    let lists = db
        .read(|conn| async move {
            let mut query = shopping_list::Entity::find()
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .order_by_desc(shopping_list::Column::CreatedAt)
                // Ties broken the same way every time, so pages neither skip nor repeat.
                .order_by_desc(shopping_list::Column::Id);
            if let Some(status) = filter.status {
                query = query.filter(shopping_list::Column::Status.eq(status));
            } else if !filter.include_archived {
                query = query.filter(shopping_list::Column::Status.eq(ShoppingListStatus::Active));
            }
            query.all(&conn).await
        })
        .await?;
    Ok(filter.page.of(lists))
}

/// The list `list_id` with its items in list order, and the people they name.
pub async fn list_detail(
    db: &Db,
    caller: Caller,
    list_id: ShoppingListId,
    filter: ItemFilter,
) -> ServiceResult<ListDetail> {
    let list = list_read(db, caller, list_id).await?;
    let items = items_of(db, caller, list_id, filter).await?;
    let mentioned = items.iter().flat_map(|item| {
        [
            Some(item.created_by),
            item.assigned_to_id,
            item.checked_off_by,
        ]
        .into_iter()
        .flatten()
    });
    let people = People::load(db, mentioned.chain([list.created_by])).await?;
    Ok(ListDetail {
        list,
        items,
        people,
    })
}

/// Changes the list `id` for a member of its household, in one statement.
pub async fn update_list(
    db: &Db,
    caller: Caller,
    id: ShoppingListId,
    changes: ListChanges,
) -> ServiceResult<shopping_list::Model> {
    use shopping_list::Column as C;
    let now = Utc::now().naive_utc();
    let updated = update_once::<shopping_list::Entity>(db, id.uuid(), move |params| {
        let mut set = Set::default();
        set.some(params, C::Name, changes.name);
        if let Some(status) = changes.status {
            set.label(params, C::Status, status);
        }
        set.patch(params, C::Description, changes.description);
        set.value(params, C::UpdatedAt, now);
        let household = "\"shopping_lists\".\"household_id\"";
        (set, vec![member(params, household, caller.user_id())])
    })
    .await?;
    match updated {
        Some(row) => Ok(row),
        None => {
            list_read(db, caller, id).await?;
            Err(ServiceError::NotFound(LIST_NOT_FOUND.into()))
        }
    }
}

/// Deletes a list and its items for a member of its household, recording every deletion
/// for sync, in one statement.
pub async fn delete_list(db: &Db, caller: Caller, id: ShoppingListId) -> ServiceResult<()> {
    let now = Utc::now().naive_utc();
    // The list, while the caller is a member of its household.
    let list = move |params: &mut Params, claimed: &str| {
        let id = params.bind(id.uuid());
        let member = member(params, "l.\"household_id\"", caller.user_id());
        format!(
            "SELECT l.\"id\", l.\"household_id\" FROM \"shopping_lists\" l \
             WHERE l.\"id\" = {id} AND {member} AND {claimed}"
        )
    };
    let written = db
        .once(
            vec![
                Box::new(move |params, claimed| {
                    let list = list(params, claimed);
                    let items = format!(
                        "SELECT i.\"id\", x.\"household_id\" FROM \"shopping_list_items\" i \
                         JOIN ({list}) x ON x.\"id\" = i.\"shopping_list_id\""
                    );
                    Ok(deletions::record_sql(params, RowKind::ShoppingItem, &items, now))
                }),
                Box::new(move |params, claimed| {
                    let list = list(params, claimed);
                    Ok(deletions::record_sql(params, RowKind::ShoppingList, &list, now))
                }),
                Box::new(move |params, claimed| {
                    let list = list(params, claimed);
                    Ok(format!(
                        "DELETE FROM \"shopping_lists\" WHERE \"id\" IN (SELECT \"id\" FROM ({list}) x) \
                         RETURNING \"id\""
                    ))
                }),
            ],
            done(db.backend()),
        )
        .await?;
    if written.is_empty() {
        list_read(db, caller, id).await?;
        return Err(ServiceError::NotFound(LIST_NOT_FOUND.into()));
    }
    Ok(())
}

pub async fn list_stats(
    db: &Db,
    caller: Caller,
    list_id: ShoppingListId,
) -> ServiceResult<ListStats> {
    list_read(db, caller, list_id).await?;
    let items = items_of(db, caller, list_id, ItemFilter::default()).await?;
    Ok(stats_of(&items))
}

/// The list `id`, for a member of its household, as a read of its own.
pub(super) async fn list_read(
    db: &Db,
    caller: Caller,
    id: ShoppingListId,
) -> ServiceResult<shopping_list::Model> {
    scoped_read::<shopping_list::Entity>(
        db,
        caller,
        id.uuid(),
        shopping_list::Column::HouseholdId,
        LIST_NOT_FOUND,
    )
    .await
}

/// Unpurchased first, then by position, then oldest first; then the id, so that pages of a
/// list neither skip nor repeat an item.
fn item_order(item: &shopping_list_item::Model) -> (bool, i32, NaiveDateTime, Uuid) {
    (item.is_purchased, item.position, item.created_at, item.id)
}

/// The items of `list_id` the filter keeps, in list order, while the caller may see the
/// list (none otherwise).
pub(super) async fn items_of(
    db: &Db,
    caller: Caller,
    list_id: ShoppingListId,
    filter: ItemFilter,
) -> ServiceResult<Vec<shopping_list_item::Model>> {
    let list = list_id.uuid();
    let mut items = db
        .read(|conn| {
            let category = filter.category.clone();
            async move {
                let mut query = shopping_list_item::Entity::find()
                    .filter(shopping_list_item::Column::ShoppingListId.eq(list))
                    .filter(while_member_of_row(
                        caller,
                        shopping_list::Column::Id,
                        list,
                        shopping_list::Column::HouseholdId,
                    ));
                if let Some(category) = category {
                    query = query.filter(shopping_list_item::Column::Category.eq(category));
                }
                if let Some(purchased) = filter.is_purchased {
                    query = query.filter(shopping_list_item::Column::IsPurchased.eq(purchased));
                }
                rows::all(query, &conn).await
            }
        })
        .await?;
    items.sort_by_key(item_order);
    Ok(filter.page.of(items))
}

fn stats_of(items: &[shopping_list_item::Model]) -> ListStats {
    let purchased = items.iter().filter(|i| i.is_purchased).count() as u64;
    let mut categories = BTreeMap::new();
    for item in items {
        let key = item
            .category
            .clone()
            .filter(|category| !category.is_empty())
            .unwrap_or_else(|| UNCATEGORIZED.to_owned());
        *categories.entry(key).or_insert(0) += 1;
    }
    ListStats {
        total_items: items.len() as u64,
        purchased_items: purchased,
        pending_items: items.len() as u64 - purchased,
        total_price: (!items.is_empty()).then(|| items.iter().filter_map(|i| i.price).sum()),
        categories,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        ServiceError,
        access::{WhenMissing, membership},
        shopping::{
            create_item,
            fixtures::{household_with_list, new_item, new_list},
            items,
        },
        testing::{memory_db, user},
    };

    #[tokio::test]
    async fn outsiders_are_forbidden_lists_and_items_and_nothing_is_written() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        let (flat, list) = household_with_list(&db, olive, "Flat").await;
        let created = create_list(&db, max, new_list(flat)).await;
        assert!(matches!(created, Err(ServiceError::Forbidden(_))));
        let added = create_item(&db, max, new_item(list, "Milk")).await;
        assert!(matches!(added, Err(ServiceError::Forbidden(_))));
        let read = items(&db, max, list, ItemFilter::default()).await;
        assert!(matches!(read, Err(ServiceError::Forbidden(_))));
        let member = membership(&db, max, flat, WhenMissing::Forbidden).await;
        assert!(matches!(member, Err(ServiceError::Forbidden(_))));
        let rows = shopping_list_item::Entity::find()
            .all(db.connection())
            .await
            .expect("read");
        assert!(rows.is_empty(), "a refused create wrote {rows:?}");
    }

    #[test]
    fn stats_count_uncategorised_items_and_total_the_prices() {
        let now = Utc::now().naive_utc();
        let item =
            |category: Option<&str>, price: Option<i64>, is_purchased| shopping_list_item::Model {
                id: Uuid::new_v4(),
                shopping_list_id: Uuid::nil(),
                name: "Milk".into(),
                quantity: 1.0,
                unit: None,
                category: category.map(str::to_owned),
                is_purchased,
                assigned_to_id: None,
                price: price.map(Money::from_cents),
                notes: None,
                is_recurring: false,
                recurring_pattern: None,
                recurring_until: None,
                last_recurring_date: None,
                checked_off_by: None,
                checked_off_at: None,
                position: 0,
                created_by: Uuid::nil(),
                created_at: now,
                updated_at: now,
            };
        let items = [
            item(Some("Dairy"), Some(250), true),
            item(Some(""), None, false),
            item(None, Some(100), false),
        ];
        let stats = stats_of(&items);
        assert_eq!(stats.total_items, 3);
        assert_eq!(stats.purchased_items, 1);
        assert_eq!(stats.pending_items, 2);
        assert_eq!(stats.total_price, Some(Money::from_cents(350)));
        let categories: Vec<_> = stats.categories.into_iter().collect();
        assert_eq!(
            categories,
            [("Dairy".to_owned(), 1), (UNCATEGORIZED.to_owned(), 2)]
        );
        assert_eq!(stats_of(&[]).total_price, None);
    }
}
