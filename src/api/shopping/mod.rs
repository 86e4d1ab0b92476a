//! `/api/v1/shopping-lists` (and the Android app's `/api/v1/shopping-items/{id}`): a
//! household's shopping lists, their items, and item categories.

mod wire;

use entities::enums::ShoppingListStatus;
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{any_case_enum::AnyCaseEnum, json_rows::JsonRows, strict_string::StrictString};
use crate::{
    auth::BearerAuth,
    error::ApiResult,
    service::{
        access::WhenMissing,
        page::Page,
        shopping::{self, ItemFilter, ItemRef, ListFilter},
    },
    state::AppState,
};
use wire::{
    CategoryCreate, CategoryResponse, PurchaseUpdate, ShoppingListStats, ShoppingListWithItems,
};
pub(super) use wire::{
    ItemCreate, ItemResponse, ItemUpdate, ShoppingListCreate, ShoppingListResponse,
    ShoppingListUpdate,
};

#[derive(Tags)]
enum Tag {
    /// Shopping lists, their items and item categories.
    Shopping,
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

/// The items a list's routes show, by the query's filters.
fn item_filter(
    category: Option<StrictString>,
    is_purchased: Option<bool>,
    page: Page,
) -> ItemFilter {
    ItemFilter {
        category: category.map(String::from),
        is_purchased,
        page,
    }
}

/// An item as its list's routes name it.
fn in_list(list_id: Uuid, item_id: Uuid) -> ItemRef {
    ItemRef::InList {
        list_id: list_id.into(),
        item_id: item_id.into(),
    }
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
        let new = body.0.into_new(Uuid::new_v4().into());
        let saved = shopping::create_list(&state.db, auth.caller(), new).await?;
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
        status: Query<Option<AnyCaseEnum<ShoppingListStatus>>>,
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
        let filter = ListFilter {
            status: status.0.map(|s| s.0),
            include_archived: include_archived.0,
            page: Page {
                skip: skip.0,
                limit: limit.0,
            },
        };
        let member = auth
            .membership(&state.db, household_id.0, WhenMissing::Forbidden)
            .await?;
        let lists = shopping::lists(&state.db, &member, filter).await?;
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
        let household_id = household_id.0.map(Into::into);
        let categories = shopping::categories(&state.db, auth.caller(), household_id).await?;
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
        let new = body.0.into_new(Uuid::new_v4());
        let saved = shopping::create_category(&state.db, auth.caller(), new).await?;
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
        category: Query<Option<StrictString>>,
        is_purchased: Query<Option<bool>>,
    ) -> ApiResult<Json<ShoppingListWithItems>> {
        let filter = item_filter(category.0, is_purchased.0, Page::default());
        let detail =
            shopping::list_detail(&state.db, auth.caller(), list_id.0.into(), filter).await?;
        Ok(Json(detail.into()))
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
        let (caller, list_id) = (auth.caller(), list_id.0.into());
        let saved = shopping::update_list(&state.db, caller, list_id, body.0.into()).await?;
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
        shopping::delete_list(&state.db, auth.caller(), list_id.0.into()).await?;
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
        let stats = shopping::list_stats(&state.db, auth.caller(), list_id.0.into()).await?;
        Ok(Json(stats.into()))
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
        let new = body.0.into_new(Uuid::new_v4().into(), list_id.0.into());
        let saved = shopping::create_item(&state.db, auth.caller(), new).await?;
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
        category: Query<Option<StrictString>>,
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
    ) -> ApiResult<JsonRows<ItemResponse>> {
        let page = Page {
            skip: skip.0,
            limit: limit.0,
        };
        let filter = item_filter(category.0, is_purchased.0, page);
        let items = shopping::items(&state.db, auth.caller(), list_id.0.into(), filter).await?;
        Ok(JsonRows::new(items.into_iter().map(ItemResponse::from)))
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
        let item = in_list(list_id.0, item_id.0);
        let saved = shopping::update_item(&state.db, auth.caller(), item, body.0.into()).await?;
        Ok(Json(saved.into()))
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
        let item = in_list(list_id.0, item_id.0);
        let saved = shopping::update_item(&state.db, auth.caller(), item, body.0.into()).await?;
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
        let item = in_list(list_id.0, item_id.0);
        shopping::delete_item(&state.db, auth.caller(), item).await?;
        Ok(NoContent::Done)
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
        let (caller, item) = (auth.caller(), ItemRef::Id(item_id.0.into()));
        let saved = shopping::update_item(&state.db, caller, item, body.0.into()).await?;
        Ok(Json(saved.into()))
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
        let item = ItemRef::Id(item_id.0.into());
        shopping::delete_item(&state.db, auth.caller(), item).await?;
        Ok(NoContent::Done)
    }
}
