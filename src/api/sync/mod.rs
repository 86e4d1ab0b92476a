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
use poem_openapi::{Object, OpenApi, Tags, payload::Json, types::ToJSON};
use serde_json::Value;
use uuid::Uuid;

use self::entries::changes as read_changes;
use super::{
    expenses::wire::ExpenseWithSplits,
    json_rows::{JsonWritten, Piece, Rows, Text},
    null_as_absent::{JsonType, NullAsAbsent},
    shopping::{ItemResponse, ShoppingListResponse},
    timestamp::Timestamp,
    todos::TodoResponse,
};
use crate::{
    auth::BearerAuth,
    error::ApiResult,
    service::sync::{
        self, Conflict, NotApplied, Outcome,
        feed::{self, Deleted, Feed},
    },
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
                conflict.operation.as_str().to_ascii_uppercase(),
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
            operation: entry.operation.as_str().to_owned(),
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
    ) -> ApiResult<JsonWritten<SyncResponse>> {
        let SyncRequest {
            last_sync_timestamp,
            household_id,
            changes,
        } = body.0;
        let last_sync = since(last_sync_timestamp);
        let (caller, household_id) = (auth.caller(), household_id.into());
        let changes = read_changes(household_id, changes);
        let outcome = sync::apply(&state.db, caller, household_id, last_sync, changes).await?;
        let server_timestamp = chrono::Utc::now().timestamp_millis();
        let feed = feed::changed_since(&state.db, caller, household_id, last_sync).await?;
        Ok(answer(server_timestamp, feed, outcome))
    }
}

/// The answer, written as the client reads it: the rows as read, each turned into its
/// wire type only when it is written (a full sync of a large household is megabytes).
fn answer(server_timestamp: i64, feed: Feed, outcome: Outcome) -> JsonWritten<SyncResponse> {
    let text = |text: String| -> Box<dyn Piece> { Box::new(Text(text.into_bytes())) };
    let deleted = SyncDeleted::from(feed.deleted);
    let conflicts: Vec<SyncConflict> = outcome.conflicts.into_iter().map(Into::into).collect();
    let not_applied: Vec<SyncNotApplied> =
        outcome.not_applied.into_iter().map(Into::into).collect();
    let tail = format!(
        ",\"deleted\":{},\"full_resync\":{},\"conflicts\":{},\"not_applied\":{}}}",
        deleted.to_json_string(),
        feed.complete,
        conflicts.to_json_string(),
        not_applied.to_json_string(),
    );
    JsonWritten::of(vec![
        text(format!(
            "{{\"server_timestamp\":{server_timestamp},\"todos\":"
        )),
        Box::new(Rows::new(feed.todos.into_iter().map(TodoResponse::from))),
        text(",\"shopping_lists\":".to_owned()),
        Box::new(Rows::new(
            feed.shopping_lists
                .into_iter()
                .map(ShoppingListResponse::from),
        )),
        text(",\"shopping_items\":".to_owned()),
        Box::new(Rows::new(
            feed.shopping_items.into_iter().map(ItemResponse::from),
        )),
        text(",\"expenses\":".to_owned()),
        Box::new(Rows::new(
            feed.expenses.into_iter().map(ExpenseWithSplits::from),
        )),
        text(tail),
    ])
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;
    use entities::{
        enums::{
            ExpenseCategory, PaymentMethod, ShoppingListStatus, SplitType, TodoPriority, TodoStatus,
        },
        expense, expense_split, shopping_list, shopping_list_item, todo,
    };
    use poem::IntoResponse;

    use super::*;
    use crate::service::{
        changes::RowKind,
        expenses::{Expense, ExpenseDetail, Split},
        sync::{ConflictKind, Operation},
    };

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("a moment")
    }

    fn feed() -> Feed {
        let now = at("2030-01-02 03:04:05.678901");
        // Fixed ids, so that two calls make the same rows.
        let id = Uuid::from_u128;
        let (household, user, expense_id) = (id(1), id(2), id(3));
        Feed {
            complete: false,
            todos: vec![todo::Model {
                id: id(11),
                household_id: household,
                title: "Bins \"out\"".into(),
                description: None,
                status: TodoStatus::Completed,
                priority: TodoPriority::High,
                due_date: Some(now),
                assigned_to_id: Some(user),
                created_by: user,
                recurring_pattern: None,
                recurring_until: None,
                parent_todo_id: None,
                completed_at: Some(now),
                created_at: now,
                updated_at: now,
            }],
            shopping_lists: vec![shopping_list::Model {
                id: id(12),
                household_id: household,
                name: "Weekly".into(),
                description: Some("Sat".into()),
                status: ShoppingListStatus::Archived,
                created_by: user,
                created_at: now,
                updated_at: now,
            }],
            shopping_items: vec![shopping_list_item::Model {
                id: id(13),
                shopping_list_id: id(14),
                name: "Milk".into(),
                quantity: 1.5,
                unit: None,
                category: Some("Dairy".into()),
                is_purchased: true,
                assigned_to_id: None,
                price: Some("1.05".parse().expect("a price")),
                notes: None,
                is_recurring: false,
                recurring_pattern: None,
                recurring_until: None,
                last_recurring_date: None,
                checked_off_by: Some(user),
                checked_off_at: Some(now),
                position: 2,
                created_by: user,
                created_at: now,
                updated_at: now,
            }],
            expenses: vec![ExpenseDetail {
                expense: Expense {
                    model: expense::Model {
                        id: expense_id,
                        household_id: household,
                        created_by: user,
                        amount: "12.50".parse().expect("an amount"),
                        description: "Bread".into(),
                        category: ExpenseCategory::Food,
                        payment_method: PaymentMethod::Card,
                        date: now,
                        split_type: SplitType::Equal,
                        is_personal: false,
                        created_at: now,
                        updated_at: now,
                    },
                    creator: None,
                },
                splits: vec![Split {
                    model: expense_split::Model {
                        id: id(15),
                        expense_id,
                        user_id: user,
                        amount_owed: "12.50".parse().expect("an amount"),
                        is_settled: true,
                        settled_at: Some(now),
                        created_at: now,
                    },
                    user: None,
                }],
            }],
            deleted: Deleted {
                todos: vec![id(16)],
                ..Deleted::default()
            },
        }
    }

    fn outcome() -> Outcome {
        let now = at("2030-01-02 03:04:05");
        Outcome {
            not_applied: vec![NotApplied {
                kind: RowKind::Todo,
                operation: Operation::Update,
                id: Some("x".into()),
                reason: "deleted on the server".into(),
            }],
            conflicts: vec![Conflict {
                kind: RowKind::Todo,
                operation: Operation::Update,
                id: Uuid::from_u128(99),
                local_version: now,
                server_version: now,
                conflict: ConflictKind::DeletedOnServer,
            }],
        }
    }

    /// The answer as the document describes it, built the way poem-openapi writes it.
    fn documented(server_timestamp: i64, feed: Feed, outcome: Outcome) -> serde_json::Value {
        SyncResponse {
            server_timestamp,
            todos: feed.todos.into_iter().map(Into::into).collect(),
            shopping_lists: feed.shopping_lists.into_iter().map(Into::into).collect(),
            shopping_items: feed.shopping_items.into_iter().map(Into::into).collect(),
            expenses: feed.expenses.into_iter().map(Into::into).collect(),
            deleted: feed.deleted.into(),
            full_resync: feed.complete,
            conflicts: outcome.conflicts.into_iter().map(Into::into).collect(),
            not_applied: outcome.not_applied.into_iter().map(Into::into).collect(),
        }
        .to_json()
        .unwrap_or_default()
    }

    #[tokio::test]
    async fn the_written_answer_says_what_the_documented_object_says() {
        let written = answer(1_796_682_363_176, feed(), outcome())
            .into_response()
            .into_body()
            .into_bytes()
            .await
            .expect("the body");
        let written: serde_json::Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(written, documented(1_796_682_363_176, feed(), outcome()));
    }
}
