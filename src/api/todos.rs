//! `/api/v1/todos`: a household's chores.

use std::cmp::Reverse;

use chrono::Utc;
use entities::{
    enums::{TodoPriority, TodoStatus},
    todo,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
    types::MaybeUndefined,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::{
    choice::Choice,
    json_rows::JsonRows,
    membership::{WhenMissing, membership, require_assignable, scoped_row, while_member},
    nullable::Nullable,
    page::page,
    partial::apply,
    people::users_by_id,
    text::Text,
    timestamp::Timestamp,
};
use crate::{
    auth::BearerAuth, domain::todo_status::completed_at, error::ApiResult, state::AppState,
};

const TODO_NOT_FOUND: &str = "Todo not found";

#[derive(Tags)]
enum Tag {
    /// Chores shared in a household.
    Todos,
}

fn medium() -> Choice<TodoPriority> {
    Choice(TodoPriority::Medium)
}

#[derive(Object)]
struct TodoCreate {
    household_id: Uuid,
    #[oai(validator(min_length = 1, max_length = 200))]
    title: Text,
    #[oai(nullable, validator(max_length = 2000))]
    description: Option<Text>,
    #[oai(default = "medium")]
    priority: Choice<TodoPriority>,
    #[oai(nullable)]
    due_date: Option<Timestamp>,
    #[oai(nullable)]
    assigned_to_id: Option<Uuid>,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: Option<Text>,
    #[oai(nullable)]
    recurring_until: Option<Timestamp>,
}

/// Every field may be left out. For the nullable ones an explicit `null` clears the value
/// (`assigned_to_id: null` unassigns); `household_id` is ignored.
#[derive(Object)]
struct TodoUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    title: Option<Text>,
    #[oai(nullable, validator(max_length = 2000))]
    description: MaybeUndefined<Text>,
    status: Nullable<Choice<TodoStatus>>,
    priority: Nullable<Choice<TodoPriority>>,
    #[oai(nullable)]
    due_date: MaybeUndefined<Timestamp>,
    #[oai(nullable)]
    assigned_to_id: MaybeUndefined<Uuid>,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: MaybeUndefined<Text>,
    #[oai(nullable)]
    recurring_until: MaybeUndefined<Timestamp>,
}

#[derive(Object)]
struct TodoStatusUpdate {
    status: Choice<TodoStatus>,
}

// Serialize: list answers are written by `JsonRows`.
#[derive(Debug, Object, serde::Serialize)]
struct TodoResponse {
    id: Uuid,
    household_id: Uuid,
    title: String,
    #[oai(nullable)]
    description: Option<String>,
    status: Choice<TodoStatus>,
    priority: Choice<TodoPriority>,
    #[oai(nullable)]
    due_date: Option<Timestamp>,
    #[oai(nullable)]
    assigned_to_id: Option<Uuid>,
    created_by: Uuid,
    #[oai(nullable)]
    recurring_pattern: Option<String>,
    #[oai(nullable)]
    recurring_until: Option<Timestamp>,
    #[oai(nullable)]
    parent_todo_id: Option<Uuid>,
    #[oai(nullable)]
    completed_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<todo::Model> for TodoResponse {
    fn from(t: todo::Model) -> Self {
        Self {
            id: t.id,
            household_id: t.household_id,
            title: t.title,
            description: t.description,
            status: Choice(t.status),
            priority: Choice(t.priority),
            due_date: t.due_date.map(Into::into),
            assigned_to_id: t.assigned_to_id,
            created_by: t.created_by,
            recurring_pattern: t.recurring_pattern,
            recurring_until: t.recurring_until.map(Into::into),
            parent_todo_id: t.parent_todo_id,
            completed_at: t.completed_at.map(Into::into),
            created_at: t.created_at.into(),
            updated_at: t.updated_at.into(),
        }
    }
}

#[derive(Object)]
struct TodoWithDetails {
    #[oai(flatten)]
    todo: TodoResponse,
    #[oai(nullable)]
    assigned_to_name: Option<String>,
    #[oai(nullable)]
    assigned_to_email: Option<String>,
    created_by_name: String,
    created_by_email: String,
}

#[derive(Object)]
struct TodoStats {
    pending: u64,
    in_progress: u64,
    completed: u64,
    /// Not completed and due before now.
    overdue: u64,
    total: u64,
}

#[derive(ApiResponse)]
enum Created {
    /// Created.
    #[oai(status = 201)]
    Todo(Json<TodoResponse>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Deleted.
    #[oai(status = 204)]
    Done,
}

/// The contract's list order: status (pending, in progress, completed), priority high
/// first, due date earliest first with undated last, newest first; then the id, so that
/// pages of the list neither skip nor repeat a todo.
type ListKey = (
    u8,
    u8,
    bool,
    Option<chrono::NaiveDateTime>,
    Reverse<chrono::NaiveDateTime>,
    uuid::Uuid,
);

fn list_order(t: &todo::Model) -> ListKey {
    let status = match t.status {
        TodoStatus::Pending => 0,
        TodoStatus::InProgress => 1,
        TodoStatus::Completed => 2,
    };
    let priority = match t.priority {
        TodoPriority::High => 0,
        TodoPriority::Medium => 1,
        TodoPriority::Low => 2,
    };
    (
        status,
        priority,
        t.due_date.is_none(),
        t.due_date,
        Reverse(t.created_at),
        t.id,
    )
}

/// Sets the status; `completed_at` follows it (untouched when the status is not changed).
fn set_status(todo: &mut todo::ActiveModel, current: &todo::Model, status: TodoStatus) {
    todo.status = Set(status);
    todo.completed_at = Set(completed_at(
        status,
        current.completed_at,
        Utc::now().naive_utc(),
    ));
}

async fn todo_for_member(state: &AppState, todo_id: Uuid, user_id: Uuid) -> ApiResult<todo::Model> {
    scoped_row::<todo::Entity>(
        state,
        todo_id,
        todo::Column::HouseholdId,
        user_id,
        TODO_NOT_FOUND,
    )
    .await
}

async fn save(state: &AppState, changed: todo::ActiveModel) -> ApiResult<todo::Model> {
    let saved = state.db.write(|txn| Box::pin(changed.update(txn))).await?;
    Ok(saved)
}

pub struct TodosApi;

#[OpenApi(tag = "Tag::Todos")]
impl TodosApi {
    /// Create a todo in a household the caller belongs to.
    #[oai(path = "/api/v1/todos", method = "post", operation_id = "create_todo")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<TodoCreate>,
    ) -> ApiResult<Created> {
        let new = body.0;
        let me = auth.0.id;
        membership(&state, new.household_id, me, WhenMissing::Forbidden).await?;
        if let Some(assignee) = new.assigned_to_id {
            require_assignable(&state, new.household_id, assignee).await?;
        }
        let now = Utc::now().naive_utc();
        let saved = state
            .db
            .write(|txn| {
                Box::pin(
                    todo::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        household_id: Set(new.household_id),
                        title: Set(new.title.0),
                        description: Set(new.description.map(String::from)),
                        status: Set(TodoStatus::Pending),
                        priority: Set(new.priority.0),
                        due_date: Set(new.due_date.map(|t| t.0)),
                        assigned_to_id: Set(new.assigned_to_id),
                        created_by: Set(me),
                        recurring_pattern: Set(new.recurring_pattern.map(String::from)),
                        recurring_until: Set(new.recurring_until.map(|t| t.0)),
                        parent_todo_id: Set(None),
                        completed_at: Set(None),
                        created_at: Set(now),
                        updated_at: Set(now),
                    }
                    .insert(txn),
                )
            })
            .await?;
        Ok(Created::Todo(Json(saved.into())))
    }

    /// A household's todos, filtered and in the contract's order.
    #[oai(path = "/api/v1/todos", method = "get", operation_id = "list_todos")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Query<Uuid>,
        /// Only todos with this status (then `include_completed` is ignored).
        status: Query<Option<Choice<TodoStatus>>>,
        /// Only todos assigned to the caller or to nobody.
        #[oai(default)]
        assigned_to_me: Query<bool>,
        /// Include completed todos.
        #[oai(default = "yes")]
        include_completed: Query<bool>,
        /// Rows to skip, at most 2147483647.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "2147483647"))
        )]
        skip: Query<u64>,
        /// At most this many rows, 1 to 1000; every row when absent.
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> ApiResult<JsonRows<TodoResponse>> {
        let me = auth.0.id;
        let household_id = household_id.0;
        let (status, mine_only, include_completed) =
            (status.0.map(|s| s.0), assigned_to_me.0, include_completed.0);
        let mut todos = state
            .db
            .read(|conn| async move {
                let mut query = todo::Entity::find()
                    .filter(todo::Column::HouseholdId.eq(household_id))
                    .filter(while_member(household_id, me));
                if let Some(status) = status {
                    query = query.filter(todo::Column::Status.eq(status));
                } else if !include_completed {
                    query = query.filter(todo::Column::Status.ne(TodoStatus::Completed));
                }
                if mine_only {
                    query = query.filter(
                        todo::Column::AssignedToId
                            .eq(me)
                            .or(todo::Column::AssignedToId.is_null()),
                    );
                }
                todo::all(query, &conn).await
            })
            .await?;
        if todos.is_empty() {
            membership(&state, household_id, me, WhenMissing::Forbidden).await?;
        }
        todos.sort_by_key(list_order);
        let todos = page(todos, skip.0, limit.0);
        Ok(JsonRows::new(todos.into_iter().map(TodoResponse::from)))
    }

    /// A todo with its creator's and assignee's names and emails.
    #[oai(
        path = "/api/v1/todos/:todo_id",
        method = "get",
        operation_id = "get_todo"
    )]
    async fn detail(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        todo_id: Path<Uuid>,
    ) -> ApiResult<Json<TodoWithDetails>> {
        let todo = todo_for_member(&state, todo_id.0, auth.0.id).await?;
        let people = users_by_id(
            &state,
            std::iter::once(todo.created_by).chain(todo.assigned_to_id),
        )
        .await?;
        let person = |id: Option<Uuid>| id.and_then(|id| people.get(&id));
        let creator = person(Some(todo.created_by));
        let assignee = person(todo.assigned_to_id);
        Ok(Json(TodoWithDetails {
            assigned_to_name: assignee.map(|u| u.full_name.clone()),
            assigned_to_email: assignee.map(|u| u.email.clone()),
            created_by_name: creator.map(|u| u.full_name.clone()).unwrap_or_default(),
            created_by_email: creator.map(|u| u.email.clone()).unwrap_or_default(),
            todo: todo.into(),
        }))
    }

    /// Update a todo; `completed_at` follows a status change and is kept otherwise.
    #[oai(
        path = "/api/v1/todos/:todo_id",
        method = "put",
        operation_id = "update_todo"
    )]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        todo_id: Path<Uuid>,
        body: Json<TodoUpdate>,
    ) -> ApiResult<Json<TodoResponse>> {
        let current = todo_for_member(&state, todo_id.0, auth.0.id).await?;
        let update = body.0;
        if let MaybeUndefined::Value(assignee) = update.assigned_to_id {
            require_assignable(&state, current.household_id, assignee).await?;
        }
        let mut changed = current.clone().into_active_model();
        if let Some(title) = update.title {
            changed.title = Set(title.0);
        }
        if let Some(status) = update.status.0 {
            set_status(&mut changed, &current, status.0);
        }
        if let Some(priority) = update.priority.0 {
            changed.priority = Set(priority.0);
        }
        apply(&mut changed.description, update.description, String::from);
        apply(&mut changed.due_date, update.due_date, |t| t.0);
        apply(&mut changed.assigned_to_id, update.assigned_to_id, |v| v);
        apply(
            &mut changed.recurring_pattern,
            update.recurring_pattern,
            String::from,
        );
        apply(&mut changed.recurring_until, update.recurring_until, |t| {
            t.0
        });
        changed.updated_at = Set(Utc::now().naive_utc());
        Ok(Json(save(&state, changed).await?.into()))
    }

    /// Change only the status.
    #[oai(
        path = "/api/v1/todos/:todo_id/status",
        method = "patch",
        operation_id = "update_todo_status"
    )]
    async fn update_status(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        todo_id: Path<Uuid>,
        body: Json<TodoStatusUpdate>,
    ) -> ApiResult<Json<TodoResponse>> {
        let current = todo_for_member(&state, todo_id.0, auth.0.id).await?;
        let mut changed = current.clone().into_active_model();
        set_status(&mut changed, &current, body.0.status.0);
        changed.updated_at = Set(Utc::now().naive_utc());
        Ok(Json(save(&state, changed).await?.into()))
    }

    /// Delete a todo.
    #[oai(
        path = "/api/v1/todos/:todo_id",
        method = "delete",
        operation_id = "delete_todo"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        todo_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let todo = todo_for_member(&state, todo_id.0, auth.0.id).await?;
        state
            .db
            .write(|txn| Box::pin(todo::Entity::delete_by_id(todo.id).exec(txn)))
            .await?;
        Ok(NoContent::Done)
    }

    /// Counts by status, and how many open todos are overdue.
    #[oai(
        path = "/api/v1/todos/household/:household_id/stats",
        method = "get",
        operation_id = "get_todo_stats"
    )]
    async fn stats(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<Json<TodoStats>> {
        let household_id = household_id.0;
        membership(&state, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        let rows: Vec<(TodoStatus, Option<chrono::NaiveDateTime>)> = state
            .db
            .read(|conn| async move {
                todo::Entity::find()
                    .select_only()
                    .column(todo::Column::Status)
                    .column(todo::Column::DueDate)
                    .filter(todo::Column::HouseholdId.eq(household_id))
                    .into_tuple()
                    .all(&conn)
                    .await
            })
            .await?;
        let now = Utc::now().naive_utc();
        let count = |status: TodoStatus| rows.iter().filter(|(s, _)| *s == status).count() as u64;
        let overdue = rows
            .iter()
            .filter(|(s, due)| *s != TodoStatus::Completed && due.is_some_and(|d| d < now))
            .count() as u64;
        Ok(Json(TodoStats {
            pending: count(TodoStatus::Pending),
            in_progress: count(TodoStatus::InProgress),
            completed: count(TodoStatus::Completed),
            overdue,
            total: rows.len() as u64,
        }))
    }
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use poem_openapi::types::ToJSON;
    use proptest::{option, prelude::*, sample::select};
    use sea_orm::Iterable;

    use super::*;

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        // Year 1 to 9999, to the microsecond, as the schema's `timestamp` holds them.
        (-62_135_596_800_000_000_i64..253_402_300_799_999_999)
            .prop_filter_map("in chrono's range", |micros| {
                DateTime::from_timestamp_micros(micros).map(|at| Timestamp(at.naive_utc()))
            })
    }

    fn uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    /// Any text, escapes and control characters included.
    fn text() -> impl Strategy<Value = String> {
        any::<String>()
    }

    prop_compose! {
        fn todo_response()(
            ids in (uuid(), uuid(), uuid(), option::of(uuid()), option::of(uuid())),
            texts in (text(), option::of(text()), option::of(text())),
            status in select(TodoStatus::iter().collect::<Vec<_>>()),
            priority in select(TodoPriority::iter().collect::<Vec<_>>()),
            dates in (option::of(timestamp()), option::of(timestamp()), option::of(timestamp())),
            stamps in (timestamp(), timestamp()),
        ) -> TodoResponse {
            TodoResponse {
                id: ids.0,
                household_id: ids.1,
                title: texts.0,
                description: texts.1,
                status: Choice(status),
                priority: Choice(priority),
                due_date: dates.0,
                assigned_to_id: ids.3,
                created_by: ids.2,
                recurring_pattern: texts.2,
                recurring_until: dates.1,
                parent_todo_id: ids.4,
                completed_at: dates.2,
                created_at: stamps.0,
                updated_at: stamps.1,
            }
        }
    }

    proptest! {
        /// The list answer (written by serde) says exactly what the documented object
        /// (written by poem-openapi) says, null fields included.
        #[test]
        fn serde_writes_what_the_document_describes(todos in prop::collection::vec(todo_response(), 0..4)) {
            let documented = todos.to_json().unwrap_or_default();
            let written: serde_json::Value = serde_json::from_slice(
                &serde_json::to_vec(&todos).expect("todos serialise"),
            )
            .expect("serde wrote JSON");
            prop_assert_eq!(written, documented);
        }
    }
}
