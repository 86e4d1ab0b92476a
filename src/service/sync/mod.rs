//! Offline sync: the app's changes applied through the same service functions as REST,
//! in one transaction, each entry in a savepoint of its own: an entry that is refused (or
//! could not be read) is rolled back and reported, never fatal; only losing the database
//! fails the whole sync, and then nothing of it is kept and the app sends it again. The
//! caller is confined to the sync's household (`Caller::within`): ids elsewhere are not
//! found, whatever the entry names.

pub mod feed;

use std::fmt;

use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    access::{Caller, WhenMissing, membership},
    expenses::{self, ExpenseChanges, NewExpense},
    shopping::{self, ItemChanges, ItemRef, ListChanges, NewItem, NewList},
    todos::{self, NewTodo, TodoChanges},
};
use crate::db::{Db, Txn, retry::is_transient};

/// The kinds of row the app syncs, in the order they are applied (a list before its items).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    Todo,
    ShoppingList,
    ShoppingItem,
    Expense,
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RowKind::Todo => "todo",
            RowKind::ShoppingList => "shopping_list",
            RowKind::ShoppingItem => "shopping_item",
            RowKind::Expense => "expense",
        })
    }
}

/// What an entry asks for one row.
pub enum Op<New, Changes> {
    Create(New),
    /// `or_create`: the row to create when `id` is not found in the household (the same
    /// entry read as a create, when it reads as one).
    Update {
        id: Uuid,
        changes: Changes,
        or_create: Option<New>,
    },
    Delete(Uuid),
}

/// One entry of the app's changes, read into what the service functions take.
pub enum Change {
    Todo(Op<NewTodo, TodoChanges>),
    ShoppingList(Op<NewList, ListChanges>),
    ShoppingItem(Op<NewItem, ItemChanges>),
    Expense(Op<NewExpense, ExpenseChanges>),
}

/// One entry as the app sent it: what it names, and the change it was read into, or why
/// it could not be read.
pub struct Entry {
    pub kind: RowKind,
    /// `create`, `update` or `delete`.
    pub operation: &'static str,
    /// The row's id as the app sent it, when it sent one.
    pub id: Option<String>,
    pub change: Result<Change, String>,
}

/// An entry that changed nothing, and why.
pub struct NotApplied {
    pub kind: RowKind,
    pub operation: &'static str,
    pub id: Option<String>,
    pub reason: String,
}

/// Applies `entries` in order for `user_id`, a member of `household_id`; answers the
/// entries that were not applied.
pub async fn apply(
    db: &Db,
    user_id: Uuid,
    household_id: Uuid,
    entries: Vec<Entry>,
) -> ServiceResult<Vec<NotApplied>> {
    membership(db, household_id, user_id, WhenMissing::Forbidden).await?;
    let caller = Caller::within(user_id, household_id);
    let not_applied = db
        .write(|txn| {
            Box::pin(async move {
                let mut not_applied = Vec::new();
                for entry in entries {
                    let refused = match entry.change {
                        Ok(change) => in_savepoint(txn, caller, change).await?,
                        Err(reason) => Some(reason),
                    };
                    if let Some(reason) = refused {
                        not_applied.push(NotApplied {
                            kind: entry.kind,
                            operation: entry.operation,
                            id: entry.id,
                            reason,
                        });
                    }
                }
                Ok::<_, ServiceError>(not_applied)
            })
        })
        .await?;
    // Each one is in the answer; the log keeps a count, not the client's rows.
    if !not_applied.is_empty() {
        tracing::info!(not_applied = not_applied.len(), "sync entries not applied");
    }
    Ok(not_applied)
}

/// Applies `change` in a savepoint: kept when it applies, rolled back when it is refused
/// (answering why). A lost connection fails the whole sync instead.
async fn in_savepoint(txn: &Txn, caller: Caller, change: Change) -> ServiceResult<Option<String>> {
    let savepoint = txn.savepoint().await?;
    match change_in(&savepoint, caller, change).await {
        Ok(()) => {
            savepoint.commit().await?;
            Ok(None)
        }
        Err(ServiceError::Db(err)) if is_transient(&err) => Err(ServiceError::Db(err)),
        Err(refused) => {
            savepoint.rollback().await?;
            Ok(Some(reason(refused)))
        }
    }
}

async fn change_in(txn: &Txn, caller: Caller, change: Change) -> ServiceResult<()> {
    match change {
        Change::Todo(Op::Create(new)) => todos::create_in(txn, caller, new).await.map(drop),
        Change::Todo(Op::Update {
            id,
            changes,
            or_create,
        }) => match (todos::update_in(txn, caller, id, changes).await, or_create) {
            (Err(ServiceError::NotFound(_)), Some(new)) => {
                todos::create_in(txn, caller, new).await.map(drop)
            }
            (updated, _) => updated.map(drop),
        },
        Change::Todo(Op::Delete(id)) => todos::delete_in(txn, caller, id).await,
        Change::ShoppingList(Op::Create(new)) => {
            shopping::create_list_in(txn, caller, new).await.map(drop)
        }
        Change::ShoppingList(Op::Update {
            id,
            changes,
            or_create,
        }) => match (
            shopping::update_list_in(txn, caller, id, changes).await,
            or_create,
        ) {
            (Err(ServiceError::NotFound(_)), Some(new)) => {
                shopping::create_list_in(txn, caller, new).await.map(drop)
            }
            (updated, _) => updated.map(drop),
        },
        Change::ShoppingList(Op::Delete(id)) => shopping::delete_list_in(txn, caller, id).await,
        Change::ShoppingItem(Op::Create(new)) => {
            shopping::create_item_in(txn, caller, new).await.map(drop)
        }
        Change::ShoppingItem(Op::Update {
            id,
            changes,
            or_create,
        }) => match (
            shopping::update_item_in(txn, caller, ItemRef::Id(id), changes).await,
            or_create,
        ) {
            (Err(ServiceError::NotFound(_)), Some(new)) => {
                shopping::create_item_in(txn, caller, new).await.map(drop)
            }
            (updated, _) => updated.map(drop),
        },
        Change::ShoppingItem(Op::Delete(id)) => {
            shopping::delete_item_in(txn, caller, ItemRef::Id(id)).await
        }
        Change::Expense(Op::Create(new)) => expenses::create_in(txn, caller, new).await.map(drop),
        Change::Expense(Op::Update {
            id,
            changes,
            or_create,
        }) => match (
            expenses::update_in(txn, caller, id, changes).await,
            or_create,
        ) {
            (Err(ServiceError::NotFound(_)), Some(new)) => {
                expenses::create_in(txn, caller, new).await.map(drop)
            }
            (updated, _) => updated.map(drop),
        },
        Change::Expense(Op::Delete(id)) => expenses::delete_in(txn, caller, id).await,
    }
}

/// What a person reads about a refused entry. The database's own words stay in the log:
/// they name tables and statements, which are no client's business.
fn reason(refused: ServiceError) -> String {
    match refused {
        ServiceError::NotFound(message)
        | ServiceError::Forbidden(message)
        | ServiceError::Refused(message)
        | ServiceError::Conflict(message) => message.into_owned(),
        ServiceError::Db(err) => {
            tracing::warn!(error = %err, "sync entry refused by the database");
            "the database refused it".to_owned()
        }
        ServiceError::Internal(err) => {
            tracing::error!(error = %err, "sync entry failed");
            "it could not be applied".to_owned()
        }
    }
}
