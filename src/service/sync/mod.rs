//! Offline sync: the app's changes applied through the same service functions as REST,
//! in one transaction, each entry in a savepoint of its own: an entry that is refused (or
//! could not be read) is rolled back and reported, never fatal; only losing the database
//! fails the whole sync, and then nothing of it is kept and the app sends it again. The
//! caller is confined to the sync's household (`Caller::within`): ids elsewhere are not
//! found, whatever the entry names.

pub mod deletions;
pub mod feed;
mod versions;

use std::{collections::HashSet, fmt};

use chrono::{DateTime, NaiveDateTime, TimeDelta};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowKind {
    Todo,
    ShoppingList,
    ShoppingItem,
    Expense,
}

impl RowKind {
    const ALL: [RowKind; 4] = [
        RowKind::Todo,
        RowKind::ShoppingList,
        RowKind::ShoppingItem,
        RowKind::Expense,
    ];

    /// Its name in answers and in the record of deletions.
    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Todo => "todo",
            RowKind::ShoppingList => "shopping_list",
            RowKind::ShoppingItem => "shopping_item",
            RowKind::Expense => "expense",
        }
    }

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for RowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

impl<New: Identified, Changes> Op<New, Changes> {
    /// The row it names.
    fn id(&self) -> Uuid {
        match self {
            Op::Create(new) => new.id(),
            Op::Update { id, .. } | Op::Delete(id) => *id,
        }
    }
}

/// A row to create, which names its own id (the app's).
pub trait Identified {
    fn id(&self) -> Uuid;
}

impl Identified for NewTodo {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl Identified for NewList {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl Identified for NewItem {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl Identified for NewExpense {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl Change {
    fn id(&self) -> Uuid {
        match self {
            Change::Todo(op) => op.id(),
            Change::ShoppingList(op) => op.id(),
            Change::ShoppingItem(op) => op.id(),
            Change::Expense(op) => op.id(),
        }
    }

    fn is_delete(&self) -> bool {
        matches!(
            self,
            Change::Todo(Op::Delete(_))
                | Change::ShoppingList(Op::Delete(_))
                | Change::ShoppingItem(Op::Delete(_))
                | Change::Expense(Op::Delete(_))
        )
    }

    fn is_create(&self) -> bool {
        matches!(
            self,
            Change::Todo(Op::Create(_))
                | Change::ShoppingList(Op::Create(_))
                | Change::ShoppingItem(Op::Create(_))
                | Change::Expense(Op::Create(_))
        )
    }
}

/// One entry as the app sent it: what it names, and the change it was read into, or why
/// it could not be read.
pub struct Entry {
    pub kind: RowKind,
    /// `create`, `update` or `delete`.
    pub operation: &'static str,
    /// The row's id as the app sent it, when it sent one.
    pub id: Option<String>,
    /// The row's `updated_at` as the app sent it, when it sent one it could read.
    pub client_version: Option<NaiveDateTime>,
    pub change: Result<Change, String>,
}

/// An entry that changed nothing, and why.
pub struct NotApplied {
    pub kind: RowKind,
    pub operation: &'static str,
    pub id: Option<String>,
    pub reason: String,
}

/// Why an entry lost to the server's version of its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    /// The row changed on the server after the client's last sync.
    ChangedOnServer,
    /// The row was deleted on the server.
    DeletedOnServer,
}

impl ConflictKind {
    /// What the server did to the row, as the app names operations.
    pub fn server_operation(self) -> &'static str {
        match self {
            ConflictKind::ChangedOnServer => "UPDATE",
            ConflictKind::DeletedOnServer => "DELETE",
        }
    }

    fn reason(self) -> &'static str {
        match self {
            ConflictKind::ChangedOnServer => {
                "changed on the server since your last sync; the server's version is kept"
            }
            ConflictKind::DeletedOnServer => "deleted on the server",
        }
    }
}

/// An entry not applied because the server's row won: the server wins every conflict, so
/// that the outcome does not depend on the phones' clocks.
pub struct Conflict {
    pub kind: RowKind,
    /// The entry's operation: `create`, `update` or `delete`.
    pub operation: &'static str,
    pub id: Uuid,
    /// The `updated_at` the client sent for its row; its last sync when it sent none.
    pub local_version: NaiveDateTime,
    /// When the server's row last changed, or was deleted.
    pub server_version: NaiveDateTime,
    pub conflict: ConflictKind,
}

/// What became of a sync's entries: every entry not listed in `not_applied` was applied;
/// each of `conflicts` is also in `not_applied`.
pub struct Outcome {
    pub not_applied: Vec<NotApplied>,
    pub conflicts: Vec<Conflict>,
}

/// What one entry came to.
enum Applied {
    Yes,
    Refused(String),
    Lost(ConflictKind, NaiveDateTime),
}

/// Applies `entries` in order for `user_id`, a member of `household_id`, whose last sync
/// was at `last_sync` (none: the client has never synced).
pub async fn apply(
    db: &Db,
    user_id: Uuid,
    household_id: Uuid,
    last_sync: Option<NaiveDateTime>,
    entries: Vec<Entry>,
) -> ServiceResult<Outcome> {
    membership(db, household_id, user_id, WhenMissing::Forbidden).await?;
    let caller = Caller::within(user_id, household_id);
    let outcome = db
        .write(|txn| {
            Box::pin(async move {
                let mut outcome = Outcome {
                    not_applied: Vec::new(),
                    conflicts: Vec::new(),
                };
                // The rows this sync wrote: changing one of them again is no conflict.
                let mut written = HashSet::new();
                for entry in entries {
                    let Entry {
                        kind,
                        operation,
                        id,
                        client_version,
                        change,
                    } = entry;
                    let reason = match change {
                        Err(reason) => reason,
                        Ok(change) => {
                            let row = change.id();
                            let applied = if written.contains(&(kind, row)) {
                                in_savepoint(txn, caller, change).await?
                            } else {
                                let base = Base {
                                    last_sync,
                                    client_version,
                                };
                                guarded(txn, caller, household_id, kind, base, change).await?
                            };
                            match applied {
                                Applied::Yes => {
                                    written.insert((kind, row));
                                    continue;
                                }
                                Applied::Refused(reason) => reason,
                                Applied::Lost(conflict, server_version) => {
                                    outcome.conflicts.push(Conflict {
                                        kind,
                                        operation,
                                        id: row,
                                        local_version: client_version
                                            .or(last_sync)
                                            .unwrap_or(DateTime::UNIX_EPOCH.naive_utc()),
                                        server_version,
                                        conflict,
                                    });
                                    conflict.reason().to_owned()
                                }
                            }
                        }
                    };
                    outcome.not_applied.push(NotApplied {
                        kind,
                        operation,
                        id,
                        reason,
                    });
                }
                Ok::<_, ServiceError>(outcome)
            })
        })
        .await?;
    // Each one is in the answer; the log keeps counts, not the client's rows.
    if !outcome.not_applied.is_empty() {
        tracing::info!(
            not_applied = outcome.not_applied.len(),
            conflicts = outcome.conflicts.len(),
            "sync entries not applied"
        );
    }
    Ok(outcome)
}

/// What an entry's edit is weighed against.
#[derive(Clone, Copy)]
struct Base {
    /// The client's last sync; none on its first.
    last_sync: Option<NaiveDateTime>,
    /// The `updated_at` the entry carried.
    client_version: Option<NaiveDateTime>,
}

impl Base {
    /// Whether a row that last changed at `changed` wins over the entry. After a sync, a
    /// change since it does: the client edited an older version. Without one there is no
    /// version the client saw to compare with, so only a row newer than the entry's own
    /// `updated_at` wins; an entry without one is applied.
    fn server_wins(self, changed: NaiveDateTime) -> bool {
        match (self.last_sync, self.client_version) {
            // The answer's `server_timestamp` is in whole milliseconds, below the moment
            // the client's own writes of its last sync carry: within the millisecond
            // after it, a change is taken for the client's own.
            (Some(last_sync), _) => changed >= last_sync + TimeDelta::milliseconds(1),
            (None, Some(edited)) => changed > edited,
            (None, None) => false,
        }
    }
}

/// Applies `change` unless the server's row won (see [`Base::server_wins`]), or it was
/// deleted on the server. A delete of a row already deleted is done.
async fn guarded(
    txn: &Txn,
    caller: Caller,
    household_id: Uuid,
    kind: RowKind,
    base: Base,
    change: Change,
) -> ServiceResult<Applied> {
    let id = change.id();
    if !change.is_create() {
        match versions::changed_at(txn, kind, household_id, id).await? {
            Some(changed) if base.server_wins(changed) => {
                return Ok(Applied::Lost(ConflictKind::ChangedOnServer, changed));
            }
            Some(_) => return in_savepoint(txn, caller, change).await,
            None => {}
        }
    }
    match deletions::deleted_at(txn, kind, household_id, id).await? {
        Some(_) if change.is_delete() => Ok(Applied::Yes),
        Some(deleted) => Ok(Applied::Lost(ConflictKind::DeletedOnServer, deleted)),
        None => in_savepoint(txn, caller, change).await,
    }
}

/// Applies `change` in a savepoint: kept when it applies, rolled back when it is refused
/// (answering why). A lost connection fails the whole sync instead.
async fn in_savepoint(txn: &Txn, caller: Caller, change: Change) -> ServiceResult<Applied> {
    let savepoint = txn.savepoint().await?;
    match change_in(&savepoint, caller, change).await {
        Ok(()) => {
            savepoint.commit().await?;
            Ok(Applied::Yes)
        }
        Err(ServiceError::Db(err)) if is_transient(&err) => Err(ServiceError::Db(err)),
        Err(refused) => {
            savepoint.rollback().await?;
            Ok(Applied::Refused(reason(refused)))
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
