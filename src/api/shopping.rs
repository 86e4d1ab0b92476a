//! `/api/v1/shopping-lists` (and the Android app's `/api/v1/shopping-items/{id}`): a
//! household's shopping lists, their items, and item categories.

use std::collections::BTreeMap;

use chrono::Utc;
use entities::{enums::ShoppingListStatus, item_category, shopping_list, shopping_list_item};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::{
    amount::{Amount, Price},
    choice::Choice,
    nullable::Nullable,
    partial::patch,
    text::Text,
    timestamp::Timestamp,
};
use crate::{
    auth::BearerAuth,
    error::{ApiError, ApiResult},
    service::access::{Caller, WhenMissing, membership, require_assignable, scoped_read},
    service::page::Page,
    state::AppState,
};

const LIST_NOT_FOUND: &str = "Shopping list not found";
const ITEM_NOT_FOUND: &str = "Item not found";

#[derive(Tags)]
enum Tag {
    /// Shopping lists, their items and item categories.
    Shopping,
}

#[derive(Object)]
struct ShoppingListCreate {
    household_id: Uuid,
    #[oai(validator(min_length = 1, max_length = 200))]
    name: Text,
    #[oai(nullable, validator(max_length = 1000))]
    description: Option<Text>,
}

#[derive(Object)]
struct ShoppingListUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    name: Option<Text>,
    #[oai(nullable, validator(max_length = 1000))]
    description: MaybeUndefined<Text>,
    status: Nullable<Choice<ShoppingListStatus>>,
}

#[derive(Object)]
struct ShoppingListResponse {
    id: Uuid,
    household_id: Uuid,
    name: String,
    #[oai(nullable)]
    description: Option<String>,
    status: Choice<ShoppingListStatus>,
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
            status: Choice(list.status),
            created_by: list.created_by,
            created_at: list.created_at.into(),
            updated_at: list.updated_at.into(),
        }
    }
}

#[derive(Object)]
struct ShoppingListWithItems {
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
struct ItemCreate {
    #[oai(validator(min_length = 1, max_length = 200))]
    name: Text,
    #[oai(default = "one", validator(minimum(value = "0", exclusive)))]
    quantity: f64,
    #[oai(nullable, validator(max_length = 50))]
    unit: Option<Text>,
    #[oai(nullable, validator(max_length = 100))]
    category: Option<Text>,
    #[oai(nullable)]
    assigned_to_id: Option<Uuid>,
    /// From 0 to 99999999.99, at most two decimals, no sign or leading zeros; a JSON number
    /// with those digits is also read.
    #[oai(nullable)]
    price: Option<Price>,
    #[oai(nullable, validator(max_length = 500))]
    notes: Option<Text>,
    #[oai(default)]
    is_recurring: bool,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: Option<Text>,
    #[oai(nullable)]
    recurring_until: Option<Timestamp>,
    #[oai(default, validator(minimum(value = "0")))]
    position: i32,
}

/// Every field may be left out; for the nullable ones an explicit `null` clears the value.
#[derive(Object)]
struct ItemUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    name: Option<Text>,
    #[oai(nullable, validator(minimum(value = "0", exclusive)))]
    quantity: Option<f64>,
    #[oai(nullable, validator(max_length = 50))]
    unit: MaybeUndefined<Text>,
    #[oai(nullable, validator(max_length = 100))]
    category: MaybeUndefined<Text>,
    #[oai(nullable)]
    is_purchased: Option<bool>,
    #[oai(nullable)]
    assigned_to_id: MaybeUndefined<Uuid>,
    /// From 0 to 99999999.99, at most two decimals, no sign or leading zeros; a JSON number
    /// with those digits is also read.
    #[oai(nullable)]
    price: MaybeUndefined<Price>,
    #[oai(nullable, validator(max_length = 500))]
    notes: MaybeUndefined<Text>,
    #[oai(nullable)]
    is_recurring: Option<bool>,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: MaybeUndefined<Text>,
    #[oai(nullable)]
    recurring_until: MaybeUndefined<Timestamp>,
    #[oai(nullable, validator(minimum(value = "0")))]
    position: Option<i32>,
}

#[derive(Object)]
struct PurchaseUpdate {
    is_purchased: bool,
}

#[derive(Object)]
struct ItemResponse {
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
struct ItemWithDetails {
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
struct ShoppingListStats {
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
struct CategoryCreate {
    #[oai(validator(min_length = 1, max_length = 100))]
    name: Text,
    #[oai(nullable, validator(max_length = 10))]
    icon: Option<Text>,
    #[oai(nullable, validator(max_length = 20))]
    color: Option<Text>,
    /// The household the category belongs to; without it the category is global.
    #[oai(nullable)]
    household_id: Option<Uuid>,
}

#[derive(Object)]
struct CategoryResponse {
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

#[derive(ApiResponse)]
enum ListCreated {
    /// Created.
    #[oai(status = 201)]
    List(Json<ShoppingListResponse>),
}

#[derive(ApiResponse)]
enum ItemCreated {
    /// Created.
    #[oai(status = 201)]
    Item(Json<ItemResponse>),
}

#[derive(ApiResponse)]
enum CategoryCreated {
    /// Created.
    #[oai(status = 201)]
    Category(Json<CategoryResponse>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Deleted.
    #[oai(status = 204)]
    Done,
}

/// Unpurchased first, then by position, then oldest first; then the id, so that pages of a
/// list neither skip nor repeat an item.
fn item_order(item: &shopping_list_item::Model) -> (bool, i32, chrono::NaiveDateTime, Uuid) {
    (item.is_purchased, item.position, item.created_at, item.id)
}

async fn items_of(
    state: &AppState,
    list_id: Uuid,
    category: Option<String>,
    is_purchased: Option<bool>,
) -> ApiResult<Vec<shopping_list_item::Model>> {
    let mut items = state
        .db
        .read(|conn| {
            let category = category.clone();
            async move {
                let mut query = shopping_list_item::Entity::find()
                    .filter(shopping_list_item::Column::ShoppingListId.eq(list_id));
                if let Some(category) = category {
                    query = query.filter(shopping_list_item::Column::Category.eq(category));
                }
                if let Some(purchased) = is_purchased {
                    query = query.filter(shopping_list_item::Column::IsPurchased.eq(purchased));
                }
                query.all(&conn).await
            }
        })
        .await?;
    items.sort_by_key(item_order);
    Ok(items)
}

/// An item of `list_id` by id; 404 when the list holds no such item.
async fn item_in(
    state: &AppState,
    list_id: Uuid,
    item_id: Uuid,
) -> ApiResult<shopping_list_item::Model> {
    state
        .db
        .read(|conn| async move {
            shopping_list_item::Entity::find_by_id(item_id)
                .filter(shopping_list_item::Column::ShoppingListId.eq(list_id))
                .one(&conn)
                .await
        })
        .await?
        .ok_or_else(|| ApiError::not_found(ITEM_NOT_FOUND))
}

/// An item by id alone, for a caller who must be a member of its list's household.
async fn item_for_member(
    state: &AppState,
    item_id: Uuid,
    user_id: Uuid,
) -> ApiResult<(shopping_list::Model, shopping_list_item::Model)> {
    let found = state
        .db
        .read(|conn| async move {
            shopping_list_item::Entity::find_by_id(item_id)
                .find_also_related(shopping_list::Entity)
                .one(&conn)
                .await
        })
        .await?;
    let Some((item, Some(list))) = found else {
        return Err(ApiError::not_found(ITEM_NOT_FOUND));
    };
    membership(
        &state.db,
        list.household_id,
        user_id,
        WhenMissing::Forbidden,
    )
    .await?;
    Ok((list, item))
}

async fn update_item(
    state: &AppState,
    list: &shopping_list::Model,
    current: shopping_list_item::Model,
    update: ItemUpdate,
    caller: Uuid,
) -> ApiResult<Json<ItemResponse>> {
    if let MaybeUndefined::Value(assignee) = update.assigned_to_id {
        require_assignable(state.db.connection(), list.household_id, assignee).await?;
    }
    let mut changed = current.clone().into_active_model();
    if let Some(name) = update.name {
        changed.name = Set(name.0);
    }
    if let Some(quantity) = update.quantity {
        changed.quantity = Set(quantity);
    }
    if let Some(purchased) = update.is_purchased {
        set_purchased(&mut changed, &current, purchased, caller);
    }
    if let Some(recurring) = update.is_recurring {
        changed.is_recurring = Set(recurring);
    }
    if let Some(position) = update.position {
        changed.position = Set(position);
    }
    patch(update.unit, String::from).apply(&mut changed.unit);
    patch(update.category, String::from).apply(&mut changed.category);
    patch(update.assigned_to_id, |v| v).apply(&mut changed.assigned_to_id);
    patch(update.price, |a| a.0).apply(&mut changed.price);
    patch(update.notes, String::from).apply(&mut changed.notes);
    patch(update.recurring_pattern, String::from).apply(&mut changed.recurring_pattern);
    patch(update.recurring_until, |t| t.0).apply(&mut changed.recurring_until);
    changed.updated_at = Set(Utc::now().naive_utc());
    let saved = state.db.write(|txn| Box::pin(changed.update(txn))).await?;
    Ok(Json(saved.into()))
}

/// Checking an item off records who did it and when; unchecking clears both.
fn set_purchased(
    item: &mut shopping_list_item::ActiveModel,
    current: &shopping_list_item::Model,
    purchased: bool,
    caller: Uuid,
) {
    item.is_purchased = Set(purchased);
    match (purchased, current.is_purchased) {
        (true, false) => {
            item.checked_off_by = Set(Some(caller));
            item.checked_off_at = Set(Some(Utc::now().naive_utc()));
        }
        (false, _) => {
            item.checked_off_by = Set(None);
            item.checked_off_at = Set(None);
        }
        (true, true) => {}
    }
}

async fn delete_item(state: &AppState, item_id: Uuid) -> ApiResult<NoContent> {
    state
        .db
        .write(|txn| Box::pin(shopping_list_item::Entity::delete_by_id(item_id).exec(txn)))
        .await?;
    Ok(NoContent::Done)
}

async fn list_for_member(
    state: &AppState,
    list_id: Uuid,
    user_id: Uuid,
) -> ApiResult<shopping_list::Model> {
    Ok(scoped_read::<shopping_list::Entity>(
        &state.db,
        Caller::user(user_id),
        list_id,
        shopping_list::Column::HouseholdId,
        LIST_NOT_FOUND,
    )
    .await?)
}

pub struct ShoppingApi;

#[OpenApi(tag = "Tag::Shopping")]
impl ShoppingApi {
    /// Create a shopping list.
    #[oai(
        path = "/api/v1/shopping-lists",
        method = "post",
        operation_id = "create_shopping_list"
    )]
    async fn create_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<ShoppingListCreate>,
    ) -> ApiResult<ListCreated> {
        let new = body.0;
        membership(
            &state.db,
            new.household_id,
            auth.0.id,
            WhenMissing::Forbidden,
        )
        .await?;
        let now = Utc::now().naive_utc();
        let saved = state
            .db
            .write(|txn| {
                Box::pin(
                    shopping_list::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        household_id: Set(new.household_id),
                        name: Set(new.name.0),
                        description: Set(new.description.map(String::from)),
                        status: Set(ShoppingListStatus::Active),
                        created_by: Set(auth.0.id),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(txn),
                )
            })
            .await?;
        Ok(ListCreated::List(Json(saved.into())))
    }

    /// A household's shopping lists, newest first; archived ones only when asked for.
    #[oai(
        path = "/api/v1/shopping-lists",
        method = "get",
        operation_id = "list_shopping_lists"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn lists(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Query<Uuid>,
        status: Query<Option<Choice<ShoppingListStatus>>>,
        #[oai(default)] include_archived: Query<bool>,
        /// Rows to skip, at most 2147483647.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "2147483647"))
        )]
        skip: Query<u64>,
        /// At most this many rows, 1 to 1000; every row when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> ApiResult<Json<Vec<ShoppingListResponse>>> {
        let household_id = household_id.0;
        membership(&state.db, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        let (status, include_archived) = (status.0.map(|s| s.0), include_archived.0);
        let lists = state
            .db
            .read(|conn| async move {
                let mut query = shopping_list::Entity::find()
                    .filter(shopping_list::Column::HouseholdId.eq(household_id))
                    .order_by_desc(shopping_list::Column::CreatedAt)
                    // Ties broken the same way every time, so pages neither skip nor repeat.
                    .order_by_desc(shopping_list::Column::Id);
                if let Some(status) = status {
                    query = query.filter(shopping_list::Column::Status.eq(status));
                } else if !include_archived {
                    query =
                        query.filter(shopping_list::Column::Status.eq(ShoppingListStatus::Active));
                }
                query.all(&conn).await
            })
            .await?;
        let lists = Page {
            skip: skip.0,
            limit: limit.0,
        }
        .of(lists);
        Ok(Json(lists.into_iter().map(Into::into).collect()))
    }

    /// Item categories: the global ones, plus the household's when one is given.
    #[oai(
        path = "/api/v1/shopping-lists/categories",
        method = "get",
        operation_id = "list_item_categories"
    )]
    async fn categories(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Query<Option<Uuid>>,
    ) -> ApiResult<Json<Vec<CategoryResponse>>> {
        let household_id = household_id.0;
        if let Some(household_id) = household_id {
            membership(&state.db, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        }
        let categories = state
            .db
            .read(|conn| async move {
                let mut scope = Condition::any().add(item_category::Column::HouseholdId.is_null());
                if let Some(household_id) = household_id {
                    scope = scope.add(item_category::Column::HouseholdId.eq(household_id));
                }
                item_category::Entity::find()
                    .filter(scope)
                    .order_by_asc(item_category::Column::Name)
                    .all(&conn)
                    .await
            })
            .await?;
        Ok(Json(categories.into_iter().map(Into::into).collect()))
    }

    /// Create an item category, global or for a household the caller is in.
    #[oai(
        path = "/api/v1/shopping-lists/categories",
        method = "post",
        operation_id = "create_item_category"
    )]
    async fn create_category(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<CategoryCreate>,
    ) -> ApiResult<CategoryCreated> {
        let new = body.0;
        if let Some(household_id) = new.household_id {
            membership(&state.db, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        }
        let (name, household_id) = (new.name.0.clone(), new.household_id);
        let duplicate = state
            .db
            .read(|conn| {
                let name = name.clone();
                async move {
                    let scope = match household_id {
                        Some(id) => item_category::Column::HouseholdId.eq(id),
                        None => item_category::Column::HouseholdId.is_null(),
                    };
                    item_category::Entity::find()
                        .filter(item_category::Column::Name.eq(name))
                        .filter(scope)
                        .one(&conn)
                        .await
                }
            })
            .await?;
        if duplicate.is_some() {
            return Err(ApiError::bad_request(
                "Category with this name already exists",
            ));
        }
        let saved = state
            .db
            .write(|txn| {
                Box::pin(
                    item_category::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        name: Set(new.name.0),
                        icon: Set(new.icon.map(String::from)),
                        color: Set(new.color.map(String::from)),
                        household_id: Set(new.household_id),
                        created_at: Set(Utc::now().naive_utc()),
                    }
                    .insert(txn),
                )
            })
            .await?;
        Ok(CategoryCreated::Category(Json(saved.into())))
    }

    /// A list with its items (unpurchased first, by position), with people's names.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id",
        method = "get",
        operation_id = "get_shopping_list"
    )]
    async fn detail(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        category: Query<Option<Text>>,
        is_purchased: Query<Option<bool>>,
    ) -> ApiResult<Json<ShoppingListWithItems>> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let items = items_of(
            &state,
            list.id,
            category.0.map(String::from),
            is_purchased.0,
        )
        .await?;
        let mut ids: Vec<Uuid> = vec![list.created_by];
        for item in &items {
            ids.push(item.created_by);
            ids.extend(item.assigned_to_id);
            ids.extend(item.checked_off_by);
        }
        let people = crate::service::people::People::load(&state.db, ids).await?;
        let name = |id: Option<Uuid>| {
            id.and_then(|id| people.get(id))
                .map(|u| u.full_name.clone())
        };
        let email = |id: Option<Uuid>| id.and_then(|id| people.get(id)).map(|u| u.email.clone());
        let items = items
            .into_iter()
            .map(|item| ItemWithDetails {
                assigned_to_name: name(item.assigned_to_id),
                assigned_to_email: email(item.assigned_to_id),
                checked_off_by_name: name(item.checked_off_by),
                created_by_name: name(Some(item.created_by)).unwrap_or_default(),
                created_by_email: email(Some(item.created_by)).unwrap_or_default(),
                item: item.into(),
            })
            .collect();
        Ok(Json(ShoppingListWithItems {
            created_by_name: name(Some(list.created_by)).unwrap_or_default(),
            created_by_email: email(Some(list.created_by)).unwrap_or_default(),
            list: list.into(),
            items,
        }))
    }

    /// Rename, describe or archive a list.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id",
        method = "put",
        operation_id = "update_shopping_list"
    )]
    async fn update_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        body: Json<ShoppingListUpdate>,
    ) -> ApiResult<Json<ShoppingListResponse>> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let update = body.0;
        let mut changed = list.into_active_model();
        if let Some(name) = update.name {
            changed.name = Set(name.0);
        }
        if let Some(status) = update.status.0 {
            changed.status = Set(status.0);
        }
        patch(update.description, String::from).apply(&mut changed.description);
        changed.updated_at = Set(Utc::now().naive_utc());
        let saved = state.db.write(|txn| Box::pin(changed.update(txn))).await?;
        Ok(Json(saved.into()))
    }

    /// Delete a list and its items.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id",
        method = "delete",
        operation_id = "delete_shopping_list"
    )]
    async fn delete_list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        state
            .db
            .write(|txn| Box::pin(shopping_list::Entity::delete_by_id(list.id).exec(txn)))
            .await?;
        Ok(NoContent::Done)
    }

    /// Item counts, total price and items per category.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id/stats",
        method = "get",
        operation_id = "get_shopping_list_stats"
    )]
    async fn stats(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
    ) -> ApiResult<Json<ShoppingListStats>> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let items = items_of(&state, list.id, None, None).await?;
        let purchased = items.iter().filter(|i| i.is_purchased).count() as u64;
        let mut categories = BTreeMap::new();
        for item in &items {
            let key = item
                .category
                .clone()
                .filter(|category| !category.is_empty())
                .unwrap_or_else(|| "Uncategorized".to_owned());
            *categories.entry(key).or_insert(0) += 1;
        }
        let total_price =
            (!items.is_empty()).then(|| Amount(items.iter().filter_map(|i| i.price).sum()));
        Ok(Json(ShoppingListStats {
            total_items: items.len() as u64,
            purchased_items: purchased,
            pending_items: items.len() as u64 - purchased,
            total_price,
            categories,
        }))
    }

    /// Add an item to a list.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id/items",
        method = "post",
        operation_id = "create_shopping_item"
    )]
    async fn create_item(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        body: Json<ItemCreate>,
    ) -> ApiResult<ItemCreated> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let new = body.0;
        if let Some(assignee) = new.assigned_to_id {
            require_assignable(state.db.connection(), list.household_id, assignee).await?;
        }
        let now = Utc::now().naive_utc();
        let saved = state
            .db
            .write(|txn| {
                Box::pin(
                    shopping_list_item::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        shopping_list_id: Set(list.id),
                        name: Set(new.name.0),
                        quantity: Set(new.quantity),
                        unit: Set(new.unit.map(String::from)),
                        category: Set(new.category.map(String::from)),
                        is_purchased: Set(false),
                        assigned_to_id: Set(new.assigned_to_id),
                        price: Set(new.price.map(|a| a.0)),
                        notes: Set(new.notes.map(String::from)),
                        is_recurring: Set(new.is_recurring),
                        recurring_pattern: Set(new.recurring_pattern.map(String::from)),
                        recurring_until: Set(new.recurring_until.map(|t| t.0)),
                        last_recurring_date: Set(None),
                        checked_off_by: Set(None),
                        checked_off_at: Set(None),
                        position: Set(new.position),
                        created_by: Set(auth.0.id),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(txn),
                )
            })
            .await?;
        Ok(ItemCreated::Item(Json(saved.into())))
    }

    /// A list's items, unpurchased first, by position.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id/items",
        method = "get",
        operation_id = "list_shopping_items"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn items(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        category: Query<Option<Text>>,
        is_purchased: Query<Option<bool>>,
        /// Rows to skip, at most 2147483647.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "2147483647"))
        )]
        skip: Query<u64>,
        /// At most this many rows, 1 to 1000; every row when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> ApiResult<Json<Vec<ItemResponse>>> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let items = items_of(
            &state,
            list.id,
            category.0.map(String::from),
            is_purchased.0,
        )
        .await?;
        let items = Page {
            skip: skip.0,
            limit: limit.0,
        }
        .of(items);
        Ok(Json(items.into_iter().map(Into::into).collect()))
    }

    /// Update an item of a list.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id/items/:item_id",
        method = "put",
        operation_id = "update_shopping_item"
    )]
    async fn update_list_item(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        item_id: Path<Uuid>,
        body: Json<ItemUpdate>,
    ) -> ApiResult<Json<ItemResponse>> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let item = item_in(&state, list.id, item_id.0).await?;
        update_item(&state, &list, item, body.0, auth.0.id).await
    }

    /// Check an item off (or back on); records who checked it off and when.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id/items/:item_id/purchase",
        method = "patch",
        operation_id = "toggle_shopping_item_purchased"
    )]
    async fn purchase(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        item_id: Path<Uuid>,
        body: Json<PurchaseUpdate>,
    ) -> ApiResult<Json<ItemResponse>> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let item = item_in(&state, list.id, item_id.0).await?;
        let mut changed = item.clone().into_active_model();
        set_purchased(&mut changed, &item, body.0.is_purchased, auth.0.id);
        changed.updated_at = Set(Utc::now().naive_utc());
        let saved = state.db.write(|txn| Box::pin(changed.update(txn))).await?;
        Ok(Json(saved.into()))
    }

    /// Delete an item of a list.
    #[oai(
        path = "/api/v1/shopping-lists/:list_id/items/:item_id",
        method = "delete",
        operation_id = "delete_shopping_item"
    )]
    async fn delete_list_item(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        list_id: Path<Uuid>,
        item_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let list = list_for_member(&state, list_id.0, auth.0.id).await?;
        let item = item_in(&state, list.id, item_id.0).await?;
        delete_item(&state, item.id).await
    }

    /// Update an item by its id alone (the Android app's route).
    #[oai(
        path = "/api/v1/shopping-items/:item_id",
        method = "put",
        operation_id = "update_shopping_item_by_id"
    )]
    async fn update_item_by_id(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        item_id: Path<Uuid>,
        body: Json<ItemUpdate>,
    ) -> ApiResult<Json<ItemResponse>> {
        let (list, item) = item_for_member(&state, item_id.0, auth.0.id).await?;
        update_item(&state, &list, item, body.0, auth.0.id).await
    }

    /// Delete an item by its id alone (the Android app's route).
    #[oai(
        path = "/api/v1/shopping-items/:item_id",
        method = "delete",
        operation_id = "delete_shopping_item_by_id"
    )]
    async fn delete_item_by_id(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        item_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let (_, item) = item_for_member(&state, item_id.0, auth.0.id).await?;
        delete_item(&state, item.id).await
    }
}
