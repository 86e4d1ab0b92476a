//! Todos (chores): creating, changing, deleting, listing and counting a household's todos.
//! Every change is one statement (`Db::once`) that checks the caller's membership of the
//! todo's household, and an assignee's, as it writes: one round trip.

use std::cmp::Reverse;

use chrono::{NaiveDateTime, Utc};
use entities::{
    enums::{TodoPriority, TodoStatus},
    todo,
};
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    access::{
        Caller, Membership, NOT_ASSIGNABLE, WhenMissing, member_sql as member, membership,
        scoped_read, while_member,
    },
    changes::{RowKind, deletions},
    page::Page,
    patch::Patch,
    statements::{Set, done, insert_once, update_once},
};
use crate::{
    db::{Db, rows},
    domain::{
        ids::{HouseholdId, TodoId, UserId},
        todo_status::completed_at,
    },
};

pub const TODO_NOT_FOUND: &str = "Todo not found";

/// A todo to create, with its id (sync brings the client's own).
pub struct NewTodo {
    pub id: TodoId,
    pub household_id: HouseholdId,
    pub title: String,
    pub description: Option<String>,
    pub status: TodoStatus,
    pub priority: TodoPriority,
    pub due_date: Option<NaiveDateTime>,
    pub assigned_to_id: Option<UserId>,
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
    pub assigned_to_id: Patch<UserId>,
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

/// Creates `new` for a member of its household, in one statement whose checks (the
/// caller's membership, the assignee's) are its `WHERE`.
pub async fn create(db: &Db, caller: Caller, new: NewTodo) -> ServiceResult<todo::Model> {
    let (household_id, assignee) = (new.household_id, new.assigned_to_id);
    let row = new_row(new, caller.user_id(), Utc::now().naive_utc());
    let written = insert_once(db, row.id, row.clone(), move |params| {
        let household = params.bind(household_id.uuid());
        let mut guard = vec![member(params, &household, caller.user_id())];
        if let Some(assignee) = assignee {
            guard.push(member(params, &household, assignee));
        }
        guard
    })
    .await?;
    if !written {
        membership(db, caller, household_id, WhenMissing::Forbidden).await?;
        return Err(ServiceError::Refused(NOT_ASSIGNABLE.into()));
    }
    Ok(row)
}

/// The row `new` makes, created by `created_by` at `now`.
pub(crate) fn new_row(new: NewTodo, created_by: UserId, now: NaiveDateTime) -> todo::Model {
    todo::Model {
        id: new.id.uuid(),
        household_id: new.household_id.uuid(),
        title: new.title,
        description: new.description,
        status: new.status,
        priority: new.priority,
        due_date: new.due_date,
        assigned_to_id: new.assigned_to_id.map(UserId::uuid),
        created_by: created_by.uuid(),
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
    changes
        .assigned_to_id
        .map(UserId::uuid)
        .apply(&mut row.assigned_to_id);
    changes.recurring_pattern.apply(&mut row.recurring_pattern);
    changes.recurring_until.apply(&mut row.recurring_until);
    row.updated_at = now;
    row
}

/// The todo `id`, for a member of its household.
pub async fn get(db: &Db, caller: Caller, id: TodoId) -> ServiceResult<todo::Model> {
    scoped_read::<todo::Entity>(
        db,
        caller,
        id.uuid(),
        todo::Column::HouseholdId,
        TODO_NOT_FOUND,
    )
    .await
}

/// Changes the todo `id` for a member of its household, in one statement: the rule for
/// `completed_at` (`domain::todo_status`) is spelt in its `SET`, the checks in its `WHERE`.
pub async fn update(
    db: &Db,
    caller: Caller,
    id: TodoId,
    changes: TodoChanges,
) -> ServiceResult<todo::Model> {
    use todo::Column as C;
    let now = Utc::now().naive_utc();
    let assignee = changes.assigned_to_id.value().copied();
    let updated = update_once::<todo::Entity>(db, id.uuid(), move |params| {
        let mut set = Set::default();
        set.some(params, C::Title, changes.title);
        if let Some(status) = changes.status {
            set.label(params, C::Status, status);
            // Completed keeps the moment it first was; anything else clears it.
            match completed_at(status, None, now) {
                Some(_) => {
                    let now = params.bind(now);
                    set.raw(
                        C::CompletedAt,
                        format!("COALESCE(\"todos\".\"completed_at\", {now})"),
                    );
                }
                None => set.raw(C::CompletedAt, "NULL"),
            }
        }
        if let Some(priority) = changes.priority {
            set.label(params, C::Priority, priority);
        }
        set.patch(params, C::Description, changes.description);
        set.patch(params, C::DueDate, changes.due_date);
        set.patch(
            params,
            C::AssignedToId,
            changes.assigned_to_id.map(UserId::uuid),
        );
        set.patch(params, C::RecurringPattern, changes.recurring_pattern);
        set.patch(params, C::RecurringUntil, changes.recurring_until);
        set.value(params, C::UpdatedAt, now);
        let household = "\"todos\".\"household_id\"";
        let mut guard = vec![member(params, household, caller.user_id())];
        if let Some(assignee) = assignee {
            guard.push(member(params, household, assignee));
        }
        (set, guard)
    })
    .await?;
    match updated {
        Some(row) => Ok(row),
        None => {
            get(db, caller, id).await?;
            Err(ServiceError::Refused(NOT_ASSIGNABLE.into()))
        }
    }
}

/// Deletes the todo `id` for a member of its household, recording the deletion for sync,
/// in one statement.
pub async fn delete(db: &Db, caller: Caller, id: TodoId) -> ServiceResult<()> {
    let now = Utc::now().naive_utc();
    let written = db
        .once(
            vec![
                Box::new(move |params, claimed| {
                    let id = params.bind(id.uuid());
                    let member = member(params, "t.\"household_id\"", caller.user_id());
                    let rows = format!(
                        "SELECT t.\"id\", t.\"household_id\" FROM \"todos\" t \
                         WHERE t.\"id\" = {id} AND {member} AND {claimed}"
                    );
                    Ok(deletions::record_sql(params, RowKind::Todo, &rows, now))
                }),
                Box::new(move |params, claimed| {
                    let id = params.bind(id.uuid());
                    let member = member(params, "\"todos\".\"household_id\"", caller.user_id());
                    Ok(format!(
                        "DELETE FROM \"todos\" WHERE \"id\" = {id} AND {member} AND {claimed} \
                         RETURNING \"id\""
                    ))
                }),
            ],
            done(db.backend()),
        )
        .await?;
    if written.is_empty() {
        get(db, caller, id).await?;
        return Err(ServiceError::NotFound(TODO_NOT_FOUND.into()));
    }
    Ok(())
}

/// A household's todos, filtered, in the contract's order.
pub async fn list(
    db: &Db,
    caller: Caller,
    household_id: HouseholdId,
    filter: TodoFilter,
) -> ServiceResult<Vec<todo::Model>> {
    let user_id = caller.user_id().uuid();
    let mut todos = db
        .read(|conn| async move {
            let mut query = todo::Entity::find()
                .filter(todo::Column::HouseholdId.eq(household_id.uuid()))
                .filter(while_member(caller, household_id));
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
        membership(db, caller, household_id, WhenMissing::Forbidden).await?;
    }
    todos.sort_by_cached_key(list_order);
    Ok(filter.page.of(todos))
}

/// The counts of the household a member's `membership` is of.
pub async fn stats(db: &Db, membership: &Membership) -> ServiceResult<TodoStats> {
    let household_id = membership.household_id().uuid();
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
            id: Uuid::new_v4().into(),
            household_id: household_id.into(),
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
        let outsider = create(&db, max, new_todo(flat.id, "Bins")).await;
        assert!(matches!(outsider, Err(ServiceError::Forbidden(_))));
        let mut assigned = new_todo(flat.id, "Bins");
        assigned.assigned_to_id = Some(max.user_id());
        let refused = create(&db, olive, assigned).await;
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
        let todo = create(&db, olive, new_todo(flat.id, "Bins"))
            .await
            .expect("todo");
        let done = |status| TodoChanges {
            status: Some(status),
            ..TodoChanges::default()
        };
        let completed = update(&db, olive, todo.id.into(), done(TodoStatus::Completed))
            .await
            .expect("complete");
        assert!(completed.completed_at.is_some());
        let reopened = update(&db, olive, todo.id.into(), done(TodoStatus::Pending))
            .await
            .expect("reopen");
        assert_eq!(reopened.completed_at, None);
    }
}
