//! `/api/v1/todos`: a household's chores.

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
use uuid::Uuid;

use super::{
    any_case_enum::AnyCaseEnum,
    json_rows::{JsonObject, JsonRows, WriteJson},
    null_as_absent::NullAsAbsent,
    partial::patch,
    strict_string::StrictString,
    timestamp::{Timestamp, TimestampInput},
};
use crate::{
    auth::BearerAuth,
    domain::ids::TodoId,
    error::ApiResult,
    service::{
        access::WhenMissing,
        page::Page,
        people::People,
        todos::{self, NewTodo, TodoChanges, TodoFilter},
    },
    state::AppState,
};

#[derive(Tags)]
enum Tag {
    /// Chores shared in a household.
    Todos,
}

fn medium() -> AnyCaseEnum<TodoPriority> {
    AnyCaseEnum(TodoPriority::Medium)
}

#[derive(Object)]
pub(super) struct TodoCreate {
    household_id: Uuid,
    #[oai(validator(min_length = 1, max_length = 200))]
    title: StrictString,
    #[oai(nullable, validator(max_length = 2000))]
    description: Option<StrictString>,
    #[oai(default = "medium")]
    priority: AnyCaseEnum<TodoPriority>,
    due_date: Option<TimestampInput>,
    #[oai(nullable)]
    assigned_to_id: Option<Uuid>,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: Option<StrictString>,
    recurring_until: Option<TimestampInput>,
}

/// Every field may be left out. For the nullable ones an explicit `null` clears the value
/// (`assigned_to_id: null` unassigns); `household_id` is ignored.
#[derive(Object)]
pub(super) struct TodoUpdate {
    #[oai(nullable, validator(min_length = 1, max_length = 200))]
    title: Option<StrictString>,
    #[oai(nullable, validator(max_length = 2000))]
    description: MaybeUndefined<StrictString>,
    status: NullAsAbsent<AnyCaseEnum<TodoStatus>>,
    priority: NullAsAbsent<AnyCaseEnum<TodoPriority>>,
    due_date: MaybeUndefined<TimestampInput>,
    #[oai(nullable)]
    assigned_to_id: MaybeUndefined<Uuid>,
    #[oai(nullable, validator(max_length = 50))]
    recurring_pattern: MaybeUndefined<StrictString>,
    recurring_until: MaybeUndefined<TimestampInput>,
}

#[derive(Object)]
struct TodoStatusUpdate {
    status: AnyCaseEnum<TodoStatus>,
}

#[derive(Debug, Object)]
pub(super) struct TodoResponse {
    id: Uuid,
    household_id: Uuid,
    title: String,
    #[oai(nullable)]
    description: Option<String>,
    status: AnyCaseEnum<TodoStatus>,
    priority: AnyCaseEnum<TodoPriority>,
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
            status: AnyCaseEnum(t.status),
            priority: AnyCaseEnum(t.priority),
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

/// For list answers (`JsonRows`).
impl WriteJson for TodoResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        JsonObject::new(out)
            .field("id", &self.id)
            .field("household_id", &self.household_id)
            .field("title", &self.title)
            .field("description", &self.description)
            .field("status", &self.status)
            .field("priority", &self.priority)
            .field("due_date", &self.due_date)
            .field("assigned_to_id", &self.assigned_to_id)
            .field("created_by", &self.created_by)
            .field("recurring_pattern", &self.recurring_pattern)
            .field("recurring_until", &self.recurring_until)
            .field("parent_todo_id", &self.parent_todo_id)
            .field("completed_at", &self.completed_at)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .end();
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

impl TodoCreate {
    /// The todo to create, as `id`; a new todo is pending.
    pub(super) fn into_new(self, id: TodoId) -> NewTodo {
        NewTodo {
            id,
            household_id: self.household_id.into(),
            title: self.title.0,
            description: self.description.map(String::from),
            status: TodoStatus::Pending,
            priority: self.priority.0,
            due_date: self.due_date.map(|t| t.0),
            assigned_to_id: self.assigned_to_id.map(Into::into),
            recurring_pattern: self.recurring_pattern.map(String::from),
            recurring_until: self.recurring_until.map(|t| t.0),
        }
    }
}

impl From<TodoUpdate> for TodoChanges {
    fn from(update: TodoUpdate) -> Self {
        Self {
            title: update.title.map(|t| t.0),
            description: patch(update.description, String::from),
            status: update.status.0.map(|s| s.0),
            priority: update.priority.0.map(|p| p.0),
            due_date: patch(update.due_date, |t| t.0),
            assigned_to_id: patch(update.assigned_to_id, Into::into),
            recurring_pattern: patch(update.recurring_pattern, String::from),
            recurring_until: patch(update.recurring_until, |t| t.0),
        }
    }
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
        let new = body.0.into_new(Uuid::new_v4().into());
        let saved = todos::create(&state.db, auth.caller(), new).await?;
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
        status: Query<Option<AnyCaseEnum<TodoStatus>>>,
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
        let filter = TodoFilter {
            status: status.0.map(|s| s.0),
            assigned_to_me: assigned_to_me.0,
            include_completed: include_completed.0,
            page: Page {
                skip: skip.0,
                limit: limit.0,
            },
        };
        let todos = todos::list(&state.db, auth.caller(), household_id.0.into(), filter).await?;
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
        let todo = todos::get(&state.db, auth.caller(), todo_id.0.into()).await?;
        let (creator, assignee) = (Some(todo.created_by), todo.assigned_to_id);
        let people = People::load(&state.db, creator.into_iter().chain(assignee)).await?;
        Ok(Json(TodoWithDetails {
            assigned_to_name: people.name(assignee),
            assigned_to_email: people.email(assignee),
            created_by_name: people.name(creator).unwrap_or_default(),
            created_by_email: people.email(creator).unwrap_or_default(),
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
        let saved =
            todos::update(&state.db, auth.caller(), todo_id.0.into(), body.0.into()).await?;
        Ok(Json(saved.into()))
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
        let changes = TodoChanges {
            status: Some(body.0.status.0),
            ..TodoChanges::default()
        };
        let saved = todos::update(&state.db, auth.caller(), todo_id.0.into(), changes).await?;
        Ok(Json(saved.into()))
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
        todos::delete(&state.db, auth.caller(), todo_id.0.into()).await?;
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
        let member = auth
            .membership(&state.db, household_id.0, WhenMissing::Forbidden)
            .await?;
        let stats = todos::stats(&state.db, &member).await?;
        Ok(Json(TodoStats {
            pending: stats.pending,
            in_progress: stats.in_progress,
            completed: stats.completed,
            overdue: stats.overdue,
            total: stats.total,
        }))
    }
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use entities::enums::Labelled;
    use proptest::{option, prelude::*, sample::select};

    use super::*;
    use crate::api::json_rows::agreement::{both_ways, text, timestamp, uuid};

    prop_compose! {
        fn todo_response()(
            ids in (uuid(), uuid(), uuid(), option::of(uuid()), option::of(uuid())),
            texts in (text(), option::of(text()), option::of(text())),
            status in select(TodoStatus::all()),
            priority in select(TodoPriority::all()),
            dates in (option::of(timestamp()), option::of(timestamp()), option::of(timestamp())),
            stamps in (timestamp(), timestamp()),
        ) -> TodoResponse {
            TodoResponse {
                id: ids.0,
                household_id: ids.1,
                title: texts.0,
                description: texts.1,
                status: AnyCaseEnum(status),
                priority: AnyCaseEnum(priority),
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
        /// A row of the list answer (written by `WriteJson`) says exactly what the documented object
        /// (written by poem-openapi) says, null fields included.
        #[test]
        fn a_list_row_is_written_as_the_document_describes_it(todos in prop::collection::vec(todo_response(), 0..4)) {
            let (written, documented) = both_ways(&todos);
            prop_assert_eq!(written, documented);
        }
    }
}
