//! The request and response bodies of the shopping routes, and their conversions to and
//! from the service's types. The list and item bodies are the API's, for sync to read and
//! answer them as the REST routes do.

use std::collections::BTreeMap;

use entities::{enums::ShoppingListStatus, item_category, shopping_list, shopping_list_item};
use poem_openapi::{Object, types::MaybeUndefined};
use uuid::Uuid;

use crate::{
    api::{
        amount::{Amount, Price},
        any_case_enum::AnyCaseEnum,
        json_rows::{JsonObject, WriteJson},
        null_as_absent::NullAsAbsent,
        partial::patch,
        strict_string::StrictString,
        timestamp::{Timestamp, TimestampInput},
    },
    domain::ids::{ShoppingItemId, ShoppingListId},
    service::{
        people::People,
        shopping::{
            ItemChanges, ListChanges, ListDetail, ListStats, NewCategory, NewItem, NewList,
        },
    },
};

#[derive(Object)]
pub(in crate::api) struct ShoppingListCreate {
    household_id: Uuid,
    #[oai(validator(min_length = 1, max_length = 200))]
    name: StrictString,
    #[oai(nullable, validator(max_length = 1000))]
    description: Option<StrictString>,
}

#[derive(Object)]
pub(in crate::api) struct ShoppingListUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    name: Option<StrictString>,
    #[oai(nullable, validator(max_length = 1000))]
    description: MaybeUndefined<StrictString>,
    status: NullAsAbsent<AnyCaseEnum<ShoppingListStatus>>,
}

#[derive(Debug, Object)]
pub(in crate::api) struct ShoppingListResponse {
    id: Uuid,
    household_id: Uuid,
    name: String,
    #[oai(nullable)]
    description: Option<String>,
    status: AnyCaseEnum<ShoppingListStatus>,
    created_by: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<shopping_list::Model> for ShoppingListResponse {
    fn from(list: shopping_list::Model) -> Self {
        Self {
            id: list.id,
            household_id: list.household_id,
            name: list.name,
            description: list.description,
            status: AnyCaseEnum(list.status),
            created_by: list.created_by,
            created_at: list.created_at.into(),
            updated_at: list.updated_at.into(),
        }
    }
}

/// For the sync answer (`JsonWritten`).
impl WriteJson for ShoppingListResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        JsonObject::new(out)
            .field("id", &self.id)
            .field("household_id", &self.household_id)
            .field("name", &self.name)
            .field("description", &self.description)
            .field("status", &self.status)
            .field("created_by", &self.created_by)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .end();
    }
}

#[derive(Object)]
pub(super) struct ShoppingListWithItems {
    #[oai(flatten)]
    list: ShoppingListResponse,
    created_by_name: String,
    created_by_email: String,
    items: Vec<ItemWithDetails>,
}

fn one() -> f64 {
    1.0
}

#[derive(Object)]
pub(in crate::api) struct ItemCreate {
    #[oai(validator(min_length = 1, max_length = 200))]
    name: StrictString,
    #[oai(default = "one", validator(minimum(value = "0", exclusive)))]
    quantity: f64,
    #[oai(nullable, validator(max_length = 50))]
    unit: Option<StrictString>,
    #[oai(nullable, validator(max_length = 100))]
    category: Option<StrictString>,
    #[oai(nullable)]
    assigned_to_id: Option<Uuid>,
    /// From 0 to 99999999.99, at most two decimals, no sign or leading zeros; a JSON number
    /// with those digits is also read.
    #[oai(nullable)]
    price: Option<Price>,
    #[oai(nullable, validator(max_length = 500))]
    notes: Option<StrictString>,
    #[oai(default)]
    is_recurring: bool,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: Option<StrictString>,
    recurring_until: Option<TimestampInput>,
    #[oai(default, validator(minimum(value = "0")))]
    position: i32,
}

/// Every field may be left out; for the nullable ones an explicit `null` clears the value.
#[derive(Object)]
pub(in crate::api) struct ItemUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    name: Option<StrictString>,
    #[oai(nullable, validator(minimum(value = "0", exclusive)))]
    quantity: Option<f64>,
    #[oai(nullable, validator(max_length = 50))]
    unit: MaybeUndefined<StrictString>,
    #[oai(nullable, validator(max_length = 100))]
    category: MaybeUndefined<StrictString>,
    #[oai(nullable)]
    is_purchased: Option<bool>,
    #[oai(nullable)]
    assigned_to_id: MaybeUndefined<Uuid>,
    /// From 0 to 99999999.99, at most two decimals, no sign or leading zeros; a JSON number
    /// with those digits is also read.
    #[oai(nullable)]
    price: MaybeUndefined<Price>,
    #[oai(nullable, validator(max_length = 500))]
    notes: MaybeUndefined<StrictString>,
    #[oai(nullable)]
    is_recurring: Option<bool>,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: MaybeUndefined<StrictString>,
    recurring_until: MaybeUndefined<TimestampInput>,
    #[oai(nullable, validator(minimum(value = "0")))]
    position: Option<i32>,
}

#[derive(Object)]
pub(super) struct PurchaseUpdate {
    is_purchased: bool,
}

#[derive(Debug, Object)]
pub(in crate::api) struct ItemResponse {
    id: Uuid,
    shopping_list_id: Uuid,
    name: String,
    quantity: f64,
    #[oai(nullable)]
    unit: Option<String>,
    #[oai(nullable)]
    category: Option<String>,
    is_purchased: bool,
    #[oai(nullable)]
    assigned_to_id: Option<Uuid>,
    #[oai(nullable)]
    price: Option<Amount>,
    #[oai(nullable)]
    notes: Option<String>,
    is_recurring: bool,
    #[oai(nullable)]
    recurring_pattern: Option<String>,
    #[oai(nullable)]
    recurring_until: Option<Timestamp>,
    #[oai(nullable)]
    last_recurring_date: Option<Timestamp>,
    #[oai(nullable)]
    checked_off_by: Option<Uuid>,
    #[oai(nullable)]
    checked_off_at: Option<Timestamp>,
    position: i32,
    created_by: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// For list answers (`JsonRows`).
impl WriteJson for ItemResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        JsonObject::new(out)
            .field("id", &self.id)
            .field("shopping_list_id", &self.shopping_list_id)
            .field("name", &self.name)
            .field("quantity", &self.quantity)
            .field("unit", &self.unit)
            .field("category", &self.category)
            .field("is_purchased", &self.is_purchased)
            .field("assigned_to_id", &self.assigned_to_id)
            .field("price", &self.price)
            .field("notes", &self.notes)
            .field("is_recurring", &self.is_recurring)
            .field("recurring_pattern", &self.recurring_pattern)
            .field("recurring_until", &self.recurring_until)
            .field("last_recurring_date", &self.last_recurring_date)
            .field("checked_off_by", &self.checked_off_by)
            .field("checked_off_at", &self.checked_off_at)
            .field("position", &self.position)
            .field("created_by", &self.created_by)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .end();
    }
}

impl From<shopping_list_item::Model> for ItemResponse {
    fn from(item: shopping_list_item::Model) -> Self {
        Self {
            id: item.id,
            shopping_list_id: item.shopping_list_id,
            name: item.name,
            quantity: item.quantity,
            unit: item.unit,
            category: item.category,
            is_purchased: item.is_purchased,
            assigned_to_id: item.assigned_to_id,
            price: item.price.map(Amount),
            notes: item.notes,
            is_recurring: item.is_recurring,
            recurring_pattern: item.recurring_pattern,
            recurring_until: item.recurring_until.map(Into::into),
            last_recurring_date: item.last_recurring_date.map(Into::into),
            checked_off_by: item.checked_off_by,
            checked_off_at: item.checked_off_at.map(Into::into),
            position: item.position,
            created_by: item.created_by,
            created_at: item.created_at.into(),
            updated_at: item.updated_at.into(),
        }
    }
}

#[derive(Object)]
pub(super) struct ItemWithDetails {
    #[oai(flatten)]
    item: ItemResponse,
    #[oai(nullable)]
    assigned_to_name: Option<String>,
    #[oai(nullable)]
    assigned_to_email: Option<String>,
    #[oai(nullable)]
    checked_off_by_name: Option<String>,
    created_by_name: String,
    created_by_email: String,
}

#[derive(Object)]
pub(super) struct ShoppingListStats {
    total_items: u64,
    purchased_items: u64,
    pending_items: u64,
    /// Sum of the items' prices; null when the list has no items.
    #[oai(nullable)]
    total_price: Option<Amount>,
    /// Items per category; items without one count under `Uncategorized`.
    categories: BTreeMap<String, u64>,
}

#[derive(Object)]
pub(super) struct CategoryCreate {
    #[oai(validator(min_length = 1, max_length = 100))]
    name: StrictString,
    #[oai(nullable, validator(max_length = 10))]
    icon: Option<StrictString>,
    #[oai(nullable, validator(max_length = 20))]
    color: Option<StrictString>,
    /// The household the category belongs to; without it the category is global.
    #[oai(nullable)]
    household_id: Option<Uuid>,
}

#[derive(Object)]
pub(super) struct CategoryResponse {
    id: Uuid,
    name: String,
    #[oai(nullable)]
    icon: Option<String>,
    #[oai(nullable)]
    color: Option<String>,
    #[oai(nullable)]
    household_id: Option<Uuid>,
    created_at: Timestamp,
}

impl From<item_category::Model> for CategoryResponse {
    fn from(c: item_category::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            icon: c.icon,
            color: c.color,
            household_id: c.household_id,
            created_at: c.created_at.into(),
        }
    }
}

impl ShoppingListCreate {
    /// The list to create, as `id`; a new list is active.
    pub(in crate::api) fn into_new(self, id: ShoppingListId) -> NewList {
        NewList {
            id,
            household_id: self.household_id.into(),
            name: self.name.0,
            description: self.description.map(String::from),
            status: ShoppingListStatus::Active,
        }
    }
}

impl From<ShoppingListUpdate> for ListChanges {
    fn from(update: ShoppingListUpdate) -> Self {
        Self {
            name: update.name.map(|n| n.0),
            description: patch(update.description, String::from),
            status: update.status.0.map(|s| s.0),
        }
    }
}

impl ItemCreate {
    /// The item to create in `shopping_list_id`, as `id`; a new item is not purchased.
    pub(in crate::api) fn into_new(
        self,
        id: ShoppingItemId,
        shopping_list_id: ShoppingListId,
    ) -> NewItem {
        NewItem {
            id,
            shopping_list_id,
            name: self.name.0,
            quantity: self.quantity,
            unit: self.unit.map(String::from),
            category: self.category.map(String::from),
            is_purchased: false,
            assigned_to_id: self.assigned_to_id.map(Into::into),
            price: self.price.map(|p| p.0),
            notes: self.notes.map(String::from),
            is_recurring: self.is_recurring,
            recurring_pattern: self.recurring_pattern.map(String::from),
            recurring_until: self.recurring_until.map(|t| t.0),
            position: self.position,
        }
    }
}

impl From<ItemUpdate> for ItemChanges {
    fn from(update: ItemUpdate) -> Self {
        Self {
            name: update.name.map(|n| n.0),
            quantity: update.quantity,
            unit: patch(update.unit, String::from),
            category: patch(update.category, String::from),
            is_purchased: update.is_purchased,
            assigned_to_id: patch(update.assigned_to_id, Into::into),
            price: patch(update.price, |p| p.0),
            notes: patch(update.notes, String::from),
            is_recurring: update.is_recurring,
            recurring_pattern: patch(update.recurring_pattern, String::from),
            recurring_until: patch(update.recurring_until, |t| t.0),
            position: update.position,
        }
    }
}

impl From<PurchaseUpdate> for ItemChanges {
    fn from(update: PurchaseUpdate) -> Self {
        Self {
            is_purchased: Some(update.is_purchased),
            ..Self::default()
        }
    }
}

impl ItemWithDetails {
    fn new(item: shopping_list_item::Model, people: &People) -> Self {
        let creator = Some(item.created_by);
        Self {
            assigned_to_name: people.name(item.assigned_to_id),
            assigned_to_email: people.email(item.assigned_to_id),
            checked_off_by_name: people.name(item.checked_off_by),
            created_by_name: people.name(creator).unwrap_or_default(),
            created_by_email: people.email(creator).unwrap_or_default(),
            item: item.into(),
        }
    }
}

impl From<ListDetail> for ShoppingListWithItems {
    fn from(detail: ListDetail) -> Self {
        let ListDetail {
            list,
            items,
            people,
        } = detail;
        let creator = Some(list.created_by);
        Self {
            created_by_name: people.name(creator).unwrap_or_default(),
            created_by_email: people.email(creator).unwrap_or_default(),
            list: list.into(),
            items: items
                .into_iter()
                .map(|item| ItemWithDetails::new(item, &people))
                .collect(),
        }
    }
}

impl From<ListStats> for ShoppingListStats {
    fn from(stats: ListStats) -> Self {
        Self {
            total_items: stats.total_items,
            purchased_items: stats.purchased_items,
            pending_items: stats.pending_items,
            total_price: stats.total_price.map(Amount),
            categories: stats.categories,
        }
    }
}

impl CategoryCreate {
    pub(super) fn into_new(self, id: Uuid) -> NewCategory {
        NewCategory {
            id,
            name: self.name.0,
            icon: self.icon.map(String::from),
            color: self.color.map(String::from),
            household_id: self.household_id.map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use entities::{enums::Labelled, money::Money};
    use proptest::{option, prelude::*};

    use super::*;
    use crate::api::json_rows::agreement::{both_ways, text, timestamp, uuid};

    prop_compose! {
        fn item_response()(
            ids in (uuid(), uuid(), option::of(uuid()), option::of(uuid()), uuid()),
            texts in (text(), option::of(text()), option::of(text()), option::of(text()), option::of(text())),
            quantity in 1_u32..10_000_000,
            flags in (any::<bool>(), any::<bool>()),
            price in option::of(0_i64..=9_999_999_999),
            dates in (option::of(timestamp()), option::of(timestamp()), option::of(timestamp())),
            stamps in (timestamp(), timestamp()),
            position in any::<i32>(),
        ) -> ItemResponse {
            ItemResponse {
                id: ids.0,
                shopping_list_id: ids.1,
                name: texts.0,
                quantity: f64::from(quantity) / 100.0,
                unit: texts.1,
                category: texts.2,
                is_purchased: flags.0,
                assigned_to_id: ids.2,
                price: price.map(|cents| Amount(Money::from_cents(cents))),
                notes: texts.3,
                is_recurring: flags.1,
                recurring_pattern: texts.4,
                recurring_until: dates.0,
                last_recurring_date: dates.1,
                checked_off_by: ids.3,
                checked_off_at: dates.2,
                position,
                created_by: ids.4,
                created_at: stamps.0,
                updated_at: stamps.1,
            }
        }
    }

    prop_compose! {
        fn list_response()(
            ids in (uuid(), uuid(), uuid()),
            texts in (text(), option::of(text())),
            status in prop::sample::select(ShoppingListStatus::all()),
            stamps in (timestamp(), timestamp()),
        ) -> ShoppingListResponse {
            ShoppingListResponse {
                id: ids.0,
                household_id: ids.1,
                name: texts.0,
                description: texts.1,
                status: AnyCaseEnum(status),
                created_by: ids.2,
                created_at: stamps.0,
                updated_at: stamps.1,
            }
        }
    }

    proptest! {
        /// A row of the list answer (written by `WriteJson`) says exactly what the documented object
        /// (written by poem-openapi) says, null fields included.
        #[test]
        fn a_list_row_is_written_as_the_document_describes_it(items in prop::collection::vec(item_response(), 0..4)) {
            let (written, documented) = both_ways(&items);
            prop_assert_eq!(written, documented);
        }

        /// A list of the sync answer, likewise.
        #[test]
        fn a_shopping_list_is_written_as_the_document_describes_it(lists in prop::collection::vec(list_response(), 0..4)) {
            let (written, documented) = both_ways(&lists);
            prop_assert_eq!(written, documented);
        }
    }
}
