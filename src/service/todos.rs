//! Todos (chores): creating, changing, deleting, listing and counting a household's todos.
//! Every change checks the caller's membership of the todo's household in its own
//! transaction, and an assignee must be a member too.

use std::cmp::Reverse;

use chrono::{NaiveDateTime, Utc};
use entities::{
    enums::{TodoPriority, TodoStatus},
    todo,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, ExprTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::{
    ServiceResult,
    access::{
        Caller, WhenMissing, membership, require_assignable, require_member, scoped_read,
        scoped_row, while_member,
    },
    page::Page,
    patch::Patch,
    sync::{RowKind, deletions},
};
use crate::{
    db::{Db, Txn, rows},
    domain::todo_status::completed_at,
};

pub const TODO_NOT_FOUND: &str = "Todo not found";

/// A todo to create, with its id (sync brings the client's own).
pub struct NewTodo {
    pub id: Uuid,
    pub household_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: TodoStatus,
    pub priority: TodoPriority,
    pub due_date: Option<NaiveDateTime>,
    pub assigned_to_id: Option<Uuid>,
    pub recurring_pattern: Option<String>,
    pub recurring_until: Option<NaiveDateTime>,
}

/// What an update changes; `None` and `Patch::Keep` leave a field as it is.
#[derive(Default)]
pub struct TodoChanges {
    pub title: Option<String>,
    pub description: Patch<String>,
    /// `completed_at` follows it.
    pub status: Option<TodoStatus>,
    pub priority: Option<TodoPriority>,
    pub due_date: Patch<NaiveDateTime>,
    pub assigned_to_id: Patch<Uuid>,
    pub recurring_pattern: Patch<String>,
    pub recurring_until: Patch<NaiveDateTime>,
}

/// Which of a household's todos a list shows.
#[derive(Clone, Copy)]
pub struct TodoFilter {
    /// Only these (then `include_completed` is ignored).
    pub status: Option<TodoStatus>,
    /// Only the caller's and nobody's.
    pub assigned_to_me: bool,
    pub include_completed: bool,
    pub page: Page,
}

/// Counts by status, and how many open todos are overdue.
pub struct TodoStats {
    pub pending: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub overdue: u64,
    pub total: u64,
}

pub async fn create(db: &Db, caller: Caller, new: NewTodo) -> ServiceResult<todo::Model> {
    db.write(|txn| Box::pin(create_in(txn, caller, new))).await
}

pub async fn create_in(txn: &Txn, caller: Caller, new: NewTodo) -> ServiceResult<todo::Model> {
    require_member(txn, caller, new.household_id).await?;
    if let Some(assignee) = new.assigned_to_id {
        require_assignable(txn, new.household_id, assignee).await?;
    }
    let row = new_row(new, caller.user_id, Utc::now().naive_utc());
    Ok(row.into_active_model().insert(txn).await?)
}

/// The row `new` makes, created by `created_by` at `now`.
pub(crate) fn new_row(new: NewTodo, created_by: Uuid, now: NaiveDateTime) -> todo::Model {
    todo::Model {
        id: new.id,
        household_id: new.household_id,
        title: new.title,
        description: new.description,
        status: new.status,
        priority: new.priority,
        due_date: new.due_date,
        assigned_to_id: new.assigned_to_id,
        created_by,
        recurring_pattern: new.recurring_pattern,
        recurring_until: new.recurring_until,
        parent_todo_id: None,
        completed_at: completed_at(new.status, None, now),
        created_at: now,
        updated_at: now,
    }
}

/// `current` with `changes` made at `now`.
pub(crate) fn changed(
    current: &todo::Model,
    changes: TodoChanges,
    now: NaiveDateTime,
) -> todo::Model {
    let mut row = current.clone();
    if let Some(title) = changes.title {
        row.title = title;
    }
    if let Some(status) = changes.status {
        row.status = status;
        row.completed_at = completed_at(status, current.completed_at, now);
    }
    if let Some(priority) = changes.priority {
        row.priority = priority;
    }
    changes.description.apply(&mut row.description);
    changes.due_date.apply(&mut row.due_date);
    changes.assigned_to_id.apply(&mut row.assigned_to_id);
    changes.recurring_pattern.apply(&mut row.recurring_pattern);
    changes.recurring_until.apply(&mut row.recurring_until);
    row.updated_at = now;
    row
}

/// The todo `id`, for a member of its household.
pub async fn get(db: &Db, caller: Caller, id: Uuid) -> ServiceResult<todo::Model> {
    scoped_read::<todo::Entity>(db, caller, id, todo::Column::HouseholdId, TODO_NOT_FOUND).await
}

pub async fn update(
    db: &Db,
    caller: Caller,
    id: Uuid,
    changes: TodoChanges,
) -> ServiceResult<todo::Model> {
    db.write(|txn| Box::pin(update_in(txn, caller, id, changes)))
        .await
}

pub async fn update_in(
    txn: &Txn,
    caller: Caller,
    id: Uuid,
    changes: TodoChanges,
) -> ServiceResult<todo::Model> {
    let current =
        scoped_row::<todo::Entity, _>(txn, caller, id, todo::Column::HouseholdId, TODO_NOT_FOUND)
            .await?;
    if let Some(assignee) = changes.assigned_to_id.value() {
        require_assignable(txn, current.household_id, *assignee).await?;
    }
    let row = changed(&current, changes, Utc::now().naive_utc());
    Ok(row.into_active_model().reset_all().update(txn).await?)
}

pub async fn delete(db: &Db, caller: Caller, id: Uuid) -> ServiceResult<()> {
    db.write(|txn| Box::pin(delete_in(txn, caller, id))).await
}

pub async fn delete_in(txn: &Txn, caller: Caller, id: Uuid) -> ServiceResult<()> {
    let todo =
        scoped_row::<todo::Entity, _>(txn, caller, id, todo::Column::HouseholdId, TODO_NOT_FOUND)
            .await?;
    deletions::record(txn, RowKind::Todo, todo.household_id, todo.id).await?;
    todo::Entity::delete_by_id(todo.id).exec(txn).await?;
    Ok(())
}

/// A household's todos, filtered, in the contract's order.
pub async fn list(
    db: &Db,
    user_id: Uuid,
    household_id: Uuid,
    filter: TodoFilter,
) -> ServiceResult<Vec<todo::Model>> {
    let mut todos = db
        .read(|conn| async move {
            let mut query = todo::Entity::find()
                .filter(todo::Column::HouseholdId.eq(household_id))
                .filter(while_member(household_id, user_id));
            if let Some(status) = filter.status {
                query = query.filter(todo::Column::Status.eq(status));
            } else if !filter.include_completed {
                query = query.filter(todo::Column::Status.ne(TodoStatus::Completed));
            }
            if filter.assigned_to_me {
                query = query.filter(
                    todo::Column::AssignedToId
                        .eq(user_id)
                        .or(todo::Column::AssignedToId.is_null()),
                );
            }
            rows::all(query, &conn).await
        })
        .await?;
    if todos.is_empty() {
        membership(db, household_id, user_id, WhenMissing::Forbidden).await?;
    }
    todos.sort_by_cached_key(list_order);
    Ok(filter.page.of(todos))
}

pub async fn stats(db: &Db, user_id: Uuid, household_id: Uuid) -> ServiceResult<TodoStats> {
    membership(db, household_id, user_id, WhenMissing::Forbidden).await?;
    let rows: Vec<(TodoStatus, Option<NaiveDateTime>)> = db
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
    Ok(TodoStats {
        pending: count(TodoStatus::Pending),
        in_progress: count(TodoStatus::InProgress),
        completed: count(TodoStatus::Completed),
        overdue,
        total: rows.len() as u64,
    })
}

/// The contract's list order: status (pending, in progress, completed), priority high
/// first, due date earliest first with undated last, newest first; then the id, so that
/// pages of the list neither skip nor repeat a todo.
type ListKey = (
    u8,
    u8,
    bool,
    Option<NaiveDateTime>,
    Reverse<NaiveDateTime>,
    Uuid,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        ServiceError, households,
        testing::{memory_db, user},
    };

    fn new_todo(household_id: Uuid, title: &str) -> NewTodo {
        NewTodo {
            id: Uuid::new_v4(),
            household_id,
            title: title.to_owned(),
            description: None,
            status: TodoStatus::Pending,
            priority: TodoPriority::Medium,
            due_date: None,
            assigned_to_id: None,
            recurring_pattern: None,
            recurring_until: None,
        }
    }

    #[tokio::test]
    async fn only_members_create_and_only_members_are_assigned() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        let flat = households::create(&db, olive, "Flat".into())
            .await
            .expect("create");
        let outsider = create(&db, Caller::user(max), new_todo(flat.id, "Bins")).await;
        assert!(matches!(outsider, Err(ServiceError::Forbidden(_))));
        let mut assigned = new_todo(flat.id, "Bins");
        assigned.assigned_to_id = Some(max);
        let refused = create(&db, Caller::user(olive), assigned).await;
        assert!(matches!(refused, Err(ServiceError::Refused(_))));
        let todos = todo::Entity::find()
            .all(db.connection())
            .await
            .expect("read");
        assert!(todos.is_empty(), "a refused create wrote {todos:?}");
    }

    #[tokio::test]
    async fn completing_stamps_completed_at_and_reopening_clears_it() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let flat = households::create(&db, olive, "Flat".into())
            .await
            .expect("create");
        let me = Caller::user(olive);
        let todo = create(&db, me, new_todo(flat.id, "Bins"))
            .await
            .expect("todo");
        let done = |status| TodoChanges {
            status: Some(status),
            ..TodoChanges::default()
        };
        let completed = update(&db, me, todo.id, done(TodoStatus::Completed))
            .await
            .expect("complete");
        assert!(completed.completed_at.is_some());
        let reopened = update(&db, me, todo.id, done(TodoStatus::Pending))
            .await
            .expect("reopen");
        assert_eq!(reopened.completed_at, None);
    }

    #[tokio::test]
    async fn a_caller_kept_to_one_household_does_not_find_another_households_todo() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let flat = households::create(&db, olive, "Flat".into())
            .await
            .expect("create");
        let todo = create(&db, Caller::user(olive), new_todo(flat.id, "Bins"))
            .await
            .expect("todo");
        let elsewhere = Caller::within(olive, Uuid::new_v4());
        let found = delete(&db, elsewhere, todo.id).await;
        assert!(matches!(found, Err(ServiceError::NotFound(_))));
        assert!(get(&db, Caller::user(olive), todo.id).await.is_ok());
    }
}
