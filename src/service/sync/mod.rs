//! Offline sync: the app's changes applied with the same rules as the REST routes, in one
//! transaction, in a fixed number of set-based statements whatever the phone sends (see
//! `sets`): the household's members read once, then per kind one read of every row the
//! entries name and one write of what they came to. An entry that is refused (or could
//! not be read) changes nothing and is reported, never fatal; only losing the database
//! fails the whole sync, and then nothing of it is kept and the app sends it again. Nothing
//! outside the sync's household can be touched, whatever ids an entry names.
//!
//! What happens to an entry is decided here: its row as the app sent it is made ready
//! (`rows`), each kind's entries are weighed and applied in order against what the read
//! found (`plan`), by each kind's rules (`kinds`).

pub mod feed;
mod kinds;
mod plan;
pub mod rows;
mod sets;

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use uuid::Uuid;

use self::{
    kinds::{Context, Expenses, Items, Kind, Lists, Todos},
    plan::Applied,
};
use super::{
    ServiceError, ServiceResult,
    access::{Caller, members_held},
    expenses::{ExpenseChanges, NewExpense},
    shopping::{ItemChanges, ListChanges, NewItem, NewList},
    todos::{NewTodo, TodoChanges},
};
use crate::{
    db::{Db, Txn},
    domain::ids::{ExpenseId, HouseholdId, ShoppingItemId, ShoppingListId, TodoId},
    service::changes::RowKind,
};

/// What an entry asks for one row (`Id`: the kind's typed id).
pub enum Op<New, Changes, Id> {
    Create(New),
    /// `or_create`: the row to create when `id` is not the household's (the same entry
    /// read as a create, when it reads as one): the app files an edit of a row it created
    /// offline under `updated` until the row has synced.
    Update {
        id: Id,
        changes: Changes,
        or_create: Option<New>,
    },
    Delete(Id),
}

impl<New, Changes, Id: Copy + Into<Uuid>> Op<New, Changes, Id> {
    /// The row it names.
    fn id<K: Kind<New = New, Changes = Changes>>(&self) -> Uuid {
        match self {
            Op::Create(new) => K::new_id(new),
            Op::Update { id, .. } | Op::Delete(id) => (*id).into(),
        }
    }

    fn is_create(&self) -> bool {
        matches!(self, Op::Create(_))
    }

    fn is_delete(&self) -> bool {
        matches!(self, Op::Delete(_))
    }
}

/// Which list of a kind's changes an entry came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        }
    }
}

/// What an entry is about, for its report.
pub struct About {
    pub operation: Operation,
    /// The row's id as the app sent it, when it sent one.
    pub id: Option<String>,
    /// The row's `updated_at` as the app sent it, when it sent one it could read.
    pub client_version: Option<NaiveDateTime>,
}

/// One entry of the app's changes: the change it was read into, or why it could not be.
pub struct Entry<New, Changes, Id> {
    pub about: About,
    pub change: Result<Op<New, Changes, Id>, String>,
}

/// The app's changes, per kind, each in the order they are applied.
#[derive(Default)]
pub struct Changes {
    pub todos: Vec<Entry<NewTodo, TodoChanges, TodoId>>,
    pub shopping_lists: Vec<Entry<NewList, ListChanges, ShoppingListId>>,
    pub shopping_items: Vec<Entry<NewItem, ItemChanges, ShoppingItemId>>,
    pub expenses: Vec<Entry<NewExpense, ExpenseChanges, ExpenseId>>,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.todos.is_empty()
            && self.shopping_lists.is_empty()
            && self.shopping_items.is_empty()
            && self.expenses.is_empty()
    }
}

/// An entry that changed nothing, and why.
pub struct NotApplied {
    pub kind: RowKind,
    pub operation: Operation,
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
    pub operation: Operation,
    pub id: Uuid,
    /// The `updated_at` the client sent for its row; its last sync when it sent none.
    pub local_version: NaiveDateTime,
    /// When the server's row last changed, or was deleted.
    pub server_version: NaiveDateTime,
    pub conflict: ConflictKind,
}

/// What became of a sync's entries: every entry not listed in `not_applied` was applied;
/// each of `conflicts` is also in `not_applied`.
#[derive(Default)]
pub struct Outcome {
    pub not_applied: Vec<NotApplied>,
    pub conflicts: Vec<Conflict>,
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

/// Applies the caller's `changes` in `household_id`, whose last sync was at `last_sync`
/// (none: the client has never synced). With nothing to apply nothing is sent to the
/// database: the feed that follows checks the caller's membership itself.
pub async fn apply(
    db: &Db,
    caller: Caller,
    household_id: HouseholdId,
    last_sync: Option<NaiveDateTime>,
    changes: Changes,
) -> ServiceResult<Outcome> {
    if changes.is_empty() {
        return Ok(Outcome::default());
    }
    let base = Base {
        last_sync,
        client_version: None,
    };
    let outcome = db
        .bulk_write(|txn| {
            Box::pin(async move {
                let (membership, members) = members_held(txn, caller, household_id).await?;
                let mut ctx = Context {
                    membership,
                    now: Utc::now().naive_utc(),
                    members,
                    lists: HashSet::new(),
                };
                let mut outcome = Outcome::default();
                apply_kind::<Todos>(txn, &mut ctx, base, changes.todos, &mut outcome).await?;
                apply_kind::<Lists>(txn, &mut ctx, base, changes.shopping_lists, &mut outcome)
                    .await?;
                apply_kind::<Items>(txn, &mut ctx, base, changes.shopping_items, &mut outcome)
                    .await?;
                apply_kind::<Expenses>(txn, &mut ctx, base, changes.expenses, &mut outcome).await?;
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

/// One kind's entries: one read of the rows they name, weighed in order, one write.
async fn apply_kind<K: Kind>(
    txn: &Txn,
    ctx: &mut Context,
    base: Base,
    entries: Vec<Entry<K::New, K::Changes, K::Id>>,
    outcome: &mut Outcome,
) -> ServiceResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(entries.len());
    let mut lists = Vec::new();
    let mut seen = HashSet::new();
    for op in entries
        .iter()
        .filter_map(|entry| entry.change.as_ref().ok())
    {
        let id = op.id::<K>();
        if seen.insert(id) {
            ids.push(id);
        }
        lists.extend(K::lists_named(op));
    }
    let household_id = ctx.membership.household_id();
    let (found, our_lists) = sets::read::<K>(txn, household_id, ids, lists).await?;
    ctx.lists = our_lists;
    let (plan, applied) = plan::plan::<K>(found, entries, ctx, base);
    if !plan.is_empty() {
        sets::write(txn, ctx, plan).await?;
    }
    for (about, row, applied) in applied {
        let reason = match applied {
            Applied::Yes => continue,
            Applied::Refused(reason) => reason,
            Applied::Lost(conflict, server_version) => {
                if let Some(id) = row {
                    outcome.conflicts.push(Conflict {
                        kind: K::KIND,
                        operation: about.operation,
                        id,
                        local_version: about
                            .client_version
                            .or(base.last_sync)
                            .unwrap_or(DateTime::UNIX_EPOCH.naive_utc()),
                        server_version,
                        conflict,
                    });
                }
                conflict.reason().to_owned()
            }
        };
        outcome.not_applied.push(NotApplied {
            kind: K::KIND,
            operation: about.operation,
            id: about.id,
            reason,
        });
    }
    Ok(())
}

/// What a person reads about a refused entry. The database's own words stay in the log:
/// they name tables and statements, which are no client's business.
fn reason(refused: ServiceError) -> String {
    match refused {
        ServiceError::NotFound(message)
        | ServiceError::Forbidden(message)
        | ServiceError::Refused(message)
        | ServiceError::Conflict(message) => message.into_owned(),
        ServiceError::SignedOut => "your account was deleted".to_owned(),
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
