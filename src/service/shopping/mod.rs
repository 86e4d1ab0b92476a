//! Shopping: a household's lists, their items, and item categories. Every change checks the
//! caller's membership of the household in its own transaction; an item belongs to the
//! household of its list, and an assignee must be a member of it.

mod categories;
pub(crate) mod items;
pub(crate) mod lists;

pub(super) use categories::remove_categories_of;
pub use categories::{NewCategory, categories, create_category};
pub use items::{ItemChanges, ItemRef, NewItem, create_item, delete_item, items, update_item};
pub use lists::{
    ItemFilter, ListChanges, ListDetail, ListFilter, ListStats, NewList, create_list, delete_list,
    list_detail, list_stats, lists, update_list,
};

pub const LIST_NOT_FOUND: &str = "Shopping list not found";
pub const ITEM_NOT_FOUND: &str = "Item not found";
pub const CATEGORY_EXISTS: &str = "Category with this name already exists";
/// The key of a stats answer's items without a category.
pub const UNCATEGORIZED: &str = "Uncategorized";

/// A household with a list in it, for the rules' unit tests.
#[cfg(test)]
mod fixtures {
    use entities::enums::ShoppingListStatus;
    use uuid::Uuid;

    use super::{NewItem, NewList, create_list};
    use crate::{
        db::Db,
        domain::ids::{HouseholdId, ShoppingListId},
        service::{access::Caller, households},
    };

    pub fn new_list(household_id: HouseholdId) -> NewList {
        NewList {
            id: Uuid::new_v4().into(),
            household_id,
            name: "Groceries".into(),
            description: None,
            status: ShoppingListStatus::Active,
        }
    }

    pub fn new_item(shopping_list_id: ShoppingListId, name: &str) -> NewItem {
        NewItem {
            id: Uuid::new_v4().into(),
            shopping_list_id,
            name: name.to_owned(),
            quantity: 1.0,
            unit: None,
            category: None,
            is_purchased: false,
            assigned_to_id: None,
            price: None,
            notes: None,
            is_recurring: false,
            recurring_pattern: None,
            recurring_until: None,
            position: 0,
        }
    }

    /// A household of `owner`'s, with a list in it: the household's and the list's ids.
    pub async fn household_with_list(
        db: &Db,
        owner: Caller,
        name: &str,
    ) -> (HouseholdId, ShoppingListId) {
        let household = households::create(db, owner, name.into())
            .await
            .expect("household");
        let household_id = HouseholdId::from(household.id);
        let list = create_list(db, owner, new_list(household_id))
            .await
            .expect("list");
        (household_id, list.id.into())
    }
}
