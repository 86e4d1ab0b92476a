//! A list's items: adding, reading, changing and deleting them, and the rule for checking
//! one off. Every change is one statement (`Db::once`) that checks the caller's membership
//! of the list's household, and an assignee's, as it writes.

use chrono::{NaiveDateTime, Utc};
use entities::{money::Money, shopping_list, shopping_list_item};
use sea_orm::EntityTrait;

use super::{
    ITEM_NOT_FOUND,
    lists::{ItemFilter, items_of, list_read},
};
use crate::{
    db::{Db, bulk::Params},
    domain::ids::{ShoppingItemId, ShoppingListId, UserId},
    service::{
        ServiceError, ServiceResult,
        access::{Caller, NOT_ASSIGNABLE, member_of_list_sql as member_of_list, scoped_read},
        changes::{RowKind, deletions},
        patch::Patch,
        statements::{Set, done, insert_once, update_once},
    },
};

/// An item to create, with its id (sync brings the client's own, and items already
/// purchased).
pub struct NewItem {
    pub id: ShoppingItemId,
    pub shopping_list_id: ShoppingListId,
    pub name: String,
    pub quantity: f64,
    pub unit: Option<String>,
    pub category: Option<String>,
    /// Checked off by the caller as it is created.
    pub is_purchased: bool,
    pub assigned_to_id: Option<UserId>,
    pub price: Option<Money>,
    pub notes: Option<String>,
    pub is_recurring: bool,
    pub recurring_pattern: Option<String>,
    pub recurring_until: Option<NaiveDateTime>,
    pub position: i32,
}

/// What an item update changes; `None` and `Patch::Keep` leave a field as it is.
#[derive(Default)]
pub struct ItemChanges {
    pub name: Option<String>,
    pub quantity: Option<f64>,
    pub unit: Patch<String>,
    pub category: Patch<String>,
    /// Who checked the item off, and when, follow it.
    pub is_purchased: Option<bool>,
    pub assigned_to_id: Patch<UserId>,
    pub price: Patch<Money>,
    pub notes: Patch<String>,
    pub is_recurring: Option<bool>,
    pub recurring_pattern: Patch<String>,
    pub recurring_until: Patch<NaiveDateTime>,
    pub position: Option<i32>,
}

/// How a change names an item: by its id alone (the Android app's routes and sync), or as
/// an item of a list, when a missing list is told apart from an item the list lacks.
#[derive(Clone, Copy, Debug)]
pub enum ItemRef {
    Id(ShoppingItemId),
    InList {
        list_id: ShoppingListId,
        item_id: ShoppingItemId,
    },
}

impl ItemRef {
    fn id(self) -> ShoppingItemId {
        match self {
            ItemRef::Id(id) | ItemRef::InList { item_id: id, .. } => id,
        }
    }
}

/// Adds `new` to its list for a member of the list's household, in one statement.
pub async fn create_item(
    db: &Db,
    caller: Caller,
    new: NewItem,
) -> ServiceResult<shopping_list_item::Model> {
    let (list_id, assignee) = (new.shopping_list_id, new.assigned_to_id);
    let row = new_row(new, caller.user_id(), Utc::now().naive_utc());
    let written = insert_once(db, row.id, row.clone(), move |params| {
        let list = params.bind(list_id.uuid());
        let mut guard = vec![member_of_list(params, &list, caller.user_id())];
        if let Some(assignee) = assignee {
            guard.push(member_of_list(params, &list, assignee));
        }
        guard
    })
    .await?;
    if !written {
        list_read(db, caller, list_id).await?;
        return Err(ServiceError::Refused(NOT_ASSIGNABLE.into()));
    }
    Ok(row)
}

/// The row `new` makes, created (and checked off, if it says so) by `created_by` at `now`.
pub(crate) fn new_row(
    new: NewItem,
    created_by: UserId,
    now: NaiveDateTime,
) -> shopping_list_item::Model {
    let mut row = shopping_list_item::Model {
        id: new.id.uuid(),
        shopping_list_id: new.shopping_list_id.uuid(),
        name: new.name,
        quantity: new.quantity,
        unit: new.unit,
        category: new.category,
        is_purchased: false,
        checked_off_by: None,
        checked_off_at: None,
        assigned_to_id: new.assigned_to_id.map(UserId::uuid),
        price: new.price,
        notes: new.notes,
        is_recurring: new.is_recurring,
        recurring_pattern: new.recurring_pattern,
        recurring_until: new.recurring_until,
        last_recurring_date: None,
        position: new.position,
        created_by: created_by.uuid(),
        created_at: now,
        updated_at: now,
    };
    mark_purchased(&mut row, new.is_purchased, created_by, now);
    row
}

/// `current` with `changes` made by `by` at `now`.
pub(crate) fn changed(
    current: &shopping_list_item::Model,
    changes: ItemChanges,
    by: UserId,
    now: NaiveDateTime,
) -> shopping_list_item::Model {
    let mut row = current.clone();
    if let Some(name) = changes.name {
        row.name = name;
    }
    if let Some(quantity) = changes.quantity {
        row.quantity = quantity;
    }
    if let Some(purchased) = changes.is_purchased {
        mark_purchased(&mut row, purchased, by, now);
    }
    if let Some(recurring) = changes.is_recurring {
        row.is_recurring = recurring;
    }
    if let Some(position) = changes.position {
        row.position = position;
    }
    changes.unit.apply(&mut row.unit);
    changes.category.apply(&mut row.category);
    changes
        .assigned_to_id
        .map(UserId::uuid)
        .apply(&mut row.assigned_to_id);
    changes.price.apply(&mut row.price);
    changes.notes.apply(&mut row.notes);
    changes.recurring_pattern.apply(&mut row.recurring_pattern);
    changes.recurring_until.apply(&mut row.recurring_until);
    row.updated_at = now;
    row
}

/// A list's items in list order: one query when it finds some; when it finds none, a
/// second tells an empty list from one that is missing or not the caller's.
pub async fn items(
    db: &Db,
    caller: Caller,
    list_id: ShoppingListId,
    filter: ItemFilter,
) -> ServiceResult<Vec<shopping_list_item::Model>> {
    let items = items_of(db, caller, list_id, filter).await?;
    if items.is_empty() {
        list_read(db, caller, list_id).await?;
    }
    Ok(items)
}

/// Changes the item `item` names for a member of its list's household, in one statement:
/// the rule for checking off (`mark_purchased`) is spelt in its `SET`, the checks in its
/// `WHERE`.
pub async fn update_item(
    db: &Db,
    caller: Caller,
    item: ItemRef,
    changes: ItemChanges,
) -> ServiceResult<shopping_list_item::Model> {
    use shopping_list_item::Column as C;
    let now = Utc::now().naive_utc();
    let assignee = changes.assigned_to_id.value().copied();
    let updated = update_once::<shopping_list_item::Entity>(db, item.id().uuid(), move |params| {
        let mut set = Set::default();
        set.some(params, C::Name, changes.name);
        set.some(params, C::Quantity, changes.quantity);
        match changes.is_purchased {
            // Checked off again, it keeps who did it first.
            Some(true) => {
                let (by, at) = (params.bind(caller.user_id().uuid()), params.bind(now));
                set.raw(
                    C::CheckedOffBy,
                    format!("CASE WHEN {ITEMS}.\"is_purchased\" THEN {ITEMS}.\"checked_off_by\" ELSE {by} END"),
                );
                set.raw(
                    C::CheckedOffAt,
                    format!("CASE WHEN {ITEMS}.\"is_purchased\" THEN {ITEMS}.\"checked_off_at\" ELSE {at} END"),
                );
                set.value(params, C::IsPurchased, true);
            }
            Some(false) => {
                set.raw(C::CheckedOffBy, "NULL");
                set.raw(C::CheckedOffAt, "NULL");
                set.value(params, C::IsPurchased, false);
            }
            None => {}
        }
        set.some(params, C::IsRecurring, changes.is_recurring);
        set.some(params, C::Position, changes.position);
        set.patch(params, C::Unit, changes.unit);
        set.patch(params, C::Category, changes.category);
        set.patch(
            params,
            C::AssignedToId,
            changes.assigned_to_id.map(UserId::uuid),
        );
        set.patch(params, C::Price, changes.price);
        set.patch(params, C::Notes, changes.notes);
        set.patch(params, C::RecurringPattern, changes.recurring_pattern);
        set.patch(params, C::RecurringUntil, changes.recurring_until);
        set.value(params, C::UpdatedAt, now);
        let mut guard = reachable(params, item, caller);
        if let Some(assignee) = assignee {
            let list = format!("{ITEMS}.\"shopping_list_id\"");
            guard.push(member_of_list(params, &list, assignee));
        }
        (set, guard)
    })
    .await?;
    match updated {
        Some(row) => Ok(row),
        None => {
            item_read(db, caller, item).await?;
            Err(ServiceError::Refused(NOT_ASSIGNABLE.into()))
        }
    }
}

/// Deletes the item `item` names for a member of its list's household, recording the
/// deletion for sync, in one statement.
pub async fn delete_item(db: &Db, caller: Caller, item: ItemRef) -> ServiceResult<()> {
    let now = Utc::now().naive_utc();
    let written = db
        .once(
            vec![
                Box::new(move |params, claimed| {
                    let guard = reachable(params, item, caller).join(" AND ");
                    let rows = format!(
                        "SELECT {ITEMS}.\"id\", l.\"household_id\" FROM {ITEMS} \
                         JOIN \"shopping_lists\" l ON l.\"id\" = {ITEMS}.\"shopping_list_id\" \
                         WHERE {guard} AND {claimed}"
                    );
                    Ok(deletions::record_sql(
                        params,
                        RowKind::ShoppingItem,
                        &rows,
                        now,
                    ))
                }),
                Box::new(move |params, claimed| {
                    let guard = reachable(params, item, caller).join(" AND ");
                    Ok(format!(
                        "DELETE FROM {ITEMS} WHERE {guard} AND {claimed} RETURNING \"id\""
                    ))
                }),
            ],
            done(db.backend()),
        )
        .await?;
    if written.is_empty() {
        item_read(db, caller, item).await?;
        return Err(ServiceError::NotFound(ITEM_NOT_FOUND.into()));
    }
    Ok(())
}

/// The table of items, as a write's statement names it.
const ITEMS: &str = "\"shopping_list_items\"";

/// Conditions on the row of the items table: it is the item `item` names, and the caller
/// is a member of its list's household.
fn reachable(params: &mut Params, item: ItemRef, caller: Caller) -> Vec<String> {
    let id = params.bind(item.id().uuid());
    let mut guard = vec![format!("{ITEMS}.\"id\" = {id}")];
    if let ItemRef::InList { list_id, .. } = item {
        let list = params.bind(list_id.uuid());
        guard.push(format!("{ITEMS}.\"shopping_list_id\" = {list}"));
    }
    let list = format!("{ITEMS}.\"shopping_list_id\"");
    guard.push(member_of_list(params, &list, caller.user_id()));
    guard
}

/// Marks `item` purchased or not. Checking it off records who did it and when, unchecking
/// clears both, and checking off an item already checked off keeps who did it first.
fn mark_purchased(
    item: &mut shopping_list_item::Model,
    purchased: bool,
    by: UserId,
    at: NaiveDateTime,
) {
    match (purchased, item.is_purchased) {
        (true, false) => {
            item.checked_off_by = Some(by.uuid());
            item.checked_off_at = Some(at);
        }
        (false, _) => {
            item.checked_off_by = None;
            item.checked_off_at = None;
        }
        (true, true) => {}
    }
    item.is_purchased = purchased;
}

/// The item `item` names, for a member of its list's household, as a read of its own:
/// what tells why a write of it changed nothing.
async fn item_read(
    db: &Db,
    caller: Caller,
    item: ItemRef,
) -> ServiceResult<shopping_list_item::Model> {
    let not_found = || ServiceError::NotFound(ITEM_NOT_FOUND.into());
    if let ItemRef::InList { list_id, .. } = item {
        list_read(db, caller, list_id).await?;
    }
    let item_id = item.id().uuid();
    let found = db
        .read(|conn| async move {
            shopping_list_item::Entity::find_by_id(item_id)
                .one(&conn)
                .await
        })
        .await?
        .ok_or_else(not_found)?;
    match item {
        ItemRef::InList { list_id, .. } if found.shopping_list_id != list_id.uuid() => {
            Err(not_found())
        }
        // Named by its id alone, an item whose list is out of reach is not found.
        _ => {
            scoped_read::<shopping_list::Entity>(
                db,
                caller,
                found.shopping_list_id,
                shopping_list::Column::HouseholdId,
                ITEM_NOT_FOUND,
            )
            .await?;
            Ok(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{
        domain::ids::HouseholdId,
        service::{
            households::{self, Joiner},
            shopping::{
                LIST_NOT_FOUND, create_list,
                fixtures::{household_with_list, new_item, new_list},
            },
            testing::{invite, memory_db, user},
        },
    };

    fn purchased(is_purchased: bool) -> ItemChanges {
        ItemChanges {
            is_purchased: Some(is_purchased),
            ..ItemChanges::default()
        }
    }

    async fn join(db: &Db, household_id: HouseholdId, by: Caller, joiner: Caller, email: &str) {
        let token = invite(db, household_id.uuid(), by, None, chrono::Duration::days(1)).await;
        let joiner = Joiner {
            caller: joiner,
            email,
        };
        households::join(db, joiner, token).await.expect("join");
    }

    #[tokio::test]
    async fn checking_off_records_the_first_checker_and_unchecking_clears_it() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        let (flat, list) = household_with_list(&db, olive, "Flat").await;
        join(&db, flat, olive, max, "max@example.com").await;
        let item = create_item(&db, olive, new_item(list, "Milk"))
            .await
            .expect("item");
        let bought = ItemRef::Id(item.id.into());
        let checked = update_item(&db, olive, bought, purchased(true))
            .await
            .expect("check off");
        assert!(checked.is_purchased);
        assert_eq!(checked.checked_off_by, Some(olive.user_id().uuid()));
        assert!(checked.checked_off_at.is_some());
        let again = update_item(&db, max, bought, purchased(true))
            .await
            .expect("check off again");
        assert_eq!(again.checked_off_by, Some(olive.user_id().uuid()));
        assert_eq!(again.checked_off_at, checked.checked_off_at);
        let unchecked = update_item(&db, max, bought, purchased(false))
            .await
            .expect("uncheck");
        assert!(!unchecked.is_purchased);
        assert_eq!(unchecked.checked_off_by, None);
        assert_eq!(unchecked.checked_off_at, None);
    }

    #[tokio::test]
    async fn an_item_created_purchased_is_checked_off_by_its_creator() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let (_, list) = household_with_list(&db, olive, "Flat").await;
        let mut bought = new_item(list, "Milk");
        bought.is_purchased = true;
        let item = create_item(&db, olive, bought).await.expect("item");
        assert!(item.is_purchased);
        assert_eq!(item.checked_off_by, Some(olive.user_id().uuid()));
        assert_eq!(item.checked_off_at, Some(item.created_at));
    }

    #[tokio::test]
    async fn an_assignee_outside_the_household_is_refused() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        let (_, list) = household_with_list(&db, olive, "Flat").await;
        let mut assigned = new_item(list, "Milk");
        assigned.assigned_to_id = Some(max.user_id());
        let created = create_item(&db, olive, assigned).await;
        assert!(matches!(created, Err(ServiceError::Refused(_))));
        let item = create_item(&db, olive, new_item(list, "Milk"))
            .await
            .expect("item");
        let assign = ItemChanges {
            assigned_to_id: Patch::Set(max.user_id()),
            ..ItemChanges::default()
        };
        let updated = update_item(&db, olive, ItemRef::Id(item.id.into()), assign).await;
        assert!(matches!(updated, Err(ServiceError::Refused(_))));
    }

    #[tokio::test]
    async fn an_item_named_under_another_list_is_not_found() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let (flat, groceries) = household_with_list(&db, olive, "Flat").await;
        let me = olive;
        let hardware = create_list(&db, me, new_list(flat)).await.expect("list");
        let item = create_item(&db, me, new_item(groceries, "Milk"))
            .await
            .expect("item");
        let elsewhere = ItemRef::InList {
            list_id: hardware.id.into(),
            item_id: item.id.into(),
        };
        let deleted = delete_item(&db, me, elsewhere).await;
        assert!(matches!(deleted, Err(ServiceError::NotFound(m)) if m == ITEM_NOT_FOUND));
        let missing_list = ItemRef::InList {
            list_id: Uuid::new_v4().into(),
            item_id: item.id.into(),
        };
        let deleted = delete_item(&db, me, missing_list).await;
        assert!(matches!(deleted, Err(ServiceError::NotFound(m)) if m == LIST_NOT_FOUND));
        assert!(
            delete_item(&db, me, ItemRef::Id(item.id.into()))
                .await
                .is_ok()
        );
    }
}
