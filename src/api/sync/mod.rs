//! `POST /api/v1/sync`: the offline-first Android app sends what it changed and gets back
//! everything of the household changed since its last sync. Its rows are read here
//! (`entries`) and applied by `service::sync`, through the same service functions as REST:
//! a bad entry is skipped and reported in `not_applied`, never fatal, an entry that lost to
//! the server's row is also in `conflicts`, and nothing outside the request's household can
//! be touched, whatever ids it names.

mod entries;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, Tags, payload::Json};
use serde_json::Value;
use uuid::Uuid;

use self::entries::entries;
use super::{
    expenses::wire::ExpenseWithSplits,
    null_as_absent::{JsonType, NullAsAbsent},
    shopping::{ItemResponse, ShoppingListResponse},
    timestamp::Timestamp,
    todos::TodoResponse,
};
use crate::{
    auth::BearerAuth,
    error::ApiResult,
    service::sync::{self, Conflict, NotApplied, RowKind, deletions::Deleted, feed},
    state::AppState,
};

#[derive(Tags)]
enum Tag {
    /// Offline-first synchronisation for the mobile app.
    Sync,
}

/// One kind of row's changes: created and updated rows as the client has them, deleted ids.
#[derive(Object, Default)]
struct EntityChanges {
    #[oai(default, validator(max_items = 500))]
    created: Vec<BTreeMap<String, Value>>,
    #[oai(default, validator(max_items = 500))]
    updated: Vec<BTreeMap<String, Value>>,
    #[oai(default, validator(max_items = 500))]
    deleted: Vec<String>,
}

impl JsonType for EntityChanges {
    const JSON_TYPE: &'static str = "object";
}

#[derive(Object, Default)]
struct SyncChanges {
    todos: NullAsAbsent<EntityChanges>,
    shopping_lists: NullAsAbsent<EntityChanges>,
    shopping_items: NullAsAbsent<EntityChanges>,
    expenses: NullAsAbsent<EntityChanges>,
}

#[derive(Object)]
struct SyncRequest {
    /// Milliseconds since the epoch of the previous sync's `server_timestamp`; 0 for everything.
    /// At most the last millisecond of the year 9999, the latest both databases store.
    #[oai(validator(minimum(value = "0"), maximum(value = "253402300799999")))]
    last_sync_timestamp: i64,
    household_id: Uuid,
    #[oai(default)]
    changes: SyncChanges,
}

/// An entry of the request that lost to the server's version of its row (the server wins
/// every conflict); it is in `not_applied` too, and the server's row, unless deleted, is in
/// this answer.
#[derive(Object)]
struct SyncConflict {
    /// `todo`, `shopping_list`, `shopping_item` or `expense`.
    entity_type: String,
    entity_id: Uuid,
    /// The `updated_at` the entry carried (RFC 3339); for a delete, or an entry without
    /// one, the moment `last_sync_timestamp` names.
    local_version: String,
    /// When the server's row last changed, or was deleted (RFC 3339).
    server_version: String,
    /// The entry's operation and the server's, as the app names them: `UPDATE_UPDATE` or
    /// `DELETE_UPDATE` (the row changed after `last_sync_timestamp`; the server's version
    /// is kept), `UPDATE_DELETE` or `CREATE_DELETE` (the row was deleted on the server, and
    /// stays deleted).
    conflict_type: String,
}

impl From<Conflict> for SyncConflict {
    fn from(conflict: Conflict) -> Self {
        Self {
            entity_type: conflict.kind.to_string(),
            entity_id: conflict.id,
            local_version: Timestamp(conflict.local_version).to_rfc3339(),
            server_version: Timestamp(conflict.server_version).to_rfc3339(),
            conflict_type: format!(
                "{}_{}",
                conflict.operation.to_ascii_uppercase(),
                conflict.conflict.server_operation()
            ),
        }
    }
}

/// The ids of the household's rows deleted since `last_sync_timestamp` (by REST, another
/// sync, or with their list or household), per kind; the app drops them from its copy.
#[derive(Object)]
struct SyncDeleted {
    todos: Vec<Uuid>,
    shopping_lists: Vec<Uuid>,
    shopping_items: Vec<Uuid>,
    expenses: Vec<Uuid>,
}

impl From<Deleted> for SyncDeleted {
    fn from(deleted: Deleted) -> Self {
        Self {
            todos: deleted.todos,
            shopping_lists: deleted.shopping_lists,
            shopping_items: deleted.shopping_items,
            expenses: deleted.expenses,
        }
    }
}

/// An entry of the request that changed nothing, and why.
#[derive(Object)]
struct SyncNotApplied {
    /// `todo`, `shopping_list`, `shopping_item` or `expense`.
    entity_type: String,
    /// The entry's id as it was sent; null when it sent none.
    #[oai(nullable)]
    entity_id: Option<String>,
    /// `create`, `update` or `delete`.
    operation: String,
    /// Why, for a person: `title: at most 200 characters`, `You are not a member of this
    /// household`.
    reason: String,
}

impl From<NotApplied> for SyncNotApplied {
    fn from(entry: NotApplied) -> Self {
        Self {
            entity_type: entry.kind.to_string(),
            entity_id: entry.id,
            operation: entry.operation.to_owned(),
            reason: entry.reason,
        }
    }
}

#[derive(Object)]
struct SyncResponse {
    /// Milliseconds since the epoch; send it back as `last_sync_timestamp` next time.
    server_timestamp: i64,
    /// As `GET /todos/{todo_id}` answers them.
    todos: Vec<TodoResponse>,
    /// As `GET /shopping-lists/{list_id}` answers them, without their items.
    shopping_lists: Vec<ShoppingListResponse>,
    /// As the item routes answer them.
    shopping_items: Vec<ItemResponse>,
    /// As `GET /expenses/{expense_id}` answers them, with their splits.
    expenses: Vec<ExpenseWithSplits>,
    /// Rows deleted since `last_sync_timestamp`; empty when `full_resync`.
    deleted: SyncDeleted,
    /// True when this answer holds every row of the household rather than changes: on a
    /// first sync (`last_sync_timestamp` 0), and when the last sync is older than deletions
    /// are kept (30 days). The app then replaces its copy with these rows.
    full_resync: bool,
    conflicts: Vec<SyncConflict>,
    /// Every entry of the request that was not applied; the others were.
    not_applied: Vec<SyncNotApplied>,
}

/// The moment `last_sync_ms` names, none for 0 (never synced); the request's bounds keep
/// it within what both databases store.
fn since(last_sync_ms: i64) -> Option<NaiveDateTime> {
    (last_sync_ms > 0)
        .then(|| DateTime::from_timestamp_millis(last_sync_ms))
        .flatten()
        .map(|at| at.naive_utc())
}

pub struct SyncApi;

#[OpenApi(tag = "Tag::Sync")]
impl SyncApi {
    /// Apply the app's offline changes and answer every row of the household changed, and
    /// every id deleted, since `last_sync_timestamp`. An update or delete of a row changed
    /// on the server after `last_sync_timestamp` is a conflict, and the server's version
    /// wins. On a first sync (`last_sync_timestamp` 0) there is nothing to weigh an edit
    /// against but its own `updated_at`: it loses only to a server row changed after it.
    #[oai(path = "/api/v1/sync", method = "post", operation_id = "sync")]
    async fn sync(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<SyncRequest>,
    ) -> ApiResult<Json<SyncResponse>> {
        let SyncRequest {
            last_sync_timestamp,
            household_id,
            changes,
        } = body.0;
        let kinds = [
            (RowKind::Todo, changes.todos),
            (RowKind::ShoppingList, changes.shopping_lists),
            (RowKind::ShoppingItem, changes.shopping_items),
            (RowKind::Expense, changes.expenses),
        ];
        let entries = kinds
            .into_iter()
            .flat_map(|(kind, changes)| entries(kind, household_id, changes.0.unwrap_or_default()))
            .collect();
        let last_sync = since(last_sync_timestamp);
        let outcome = sync::apply(&state.db, auth.0.id, household_id, last_sync, entries).await?;
        let server_timestamp = chrono::Utc::now().timestamp_millis();
        let feed = feed::changed_since(&state.db, household_id, last_sync).await?;
        Ok(Json(SyncResponse {
            server_timestamp,
            todos: feed.todos.into_iter().map(Into::into).collect(),
            shopping_lists: feed.shopping_lists.into_iter().map(Into::into).collect(),
            shopping_items: feed.shopping_items.into_iter().map(Into::into).collect(),
            expenses: feed.expenses.into_iter().map(Into::into).collect(),
            deleted: feed.deleted.into(),
            full_resync: feed.complete,
            conflicts: outcome.conflicts.into_iter().map(Into::into).collect(),
            not_applied: outcome.not_applied.into_iter().map(Into::into).collect(),
        }))
    }
}
