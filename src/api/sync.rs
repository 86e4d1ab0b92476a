//! `POST /api/v1/sync`: the offline-first Android app sends what it changed and gets back
//! everything of the household changed since its last sync. The client's rows are applied
//! in one transaction, each in a savepoint: a bad entry is skipped and logged, never fatal,
//! and nothing outside the request's household can be touched, whatever ids it names.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use entities::{
    enums::{
        ExpenseCategory, PaymentMethod, ShoppingListStatus, SplitType, TodoPriority, TodoStatus,
    },
    expense,
    money::Money,
    shopping_list, shopping_list_item, todo,
};
use poem::web::Data;
use poem_openapi::{
    Object, OpenApi, Tags,
    payload::Json,
    types::{MaybeUndefined, ParseFromJSON},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    amount::Amount,
    choice::Choice,
    nullable::{JsonType, Nullable},
    partial::patch,
    text::Text,
    timestamp::Timestamp,
};
use crate::{
    auth::BearerAuth,
    db::{Txn, retry::is_transient},
    domain::todo_status::completed_at,
    error::{ApiError, ApiResult},
    service::{
        ServiceError,
        access::{Caller, WhenMissing, membership},
        expenses::{self, NewExpense},
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
    todos: Nullable<EntityChanges>,
    shopping_lists: Nullable<EntityChanges>,
    shopping_items: Nullable<EntityChanges>,
    expenses: Nullable<EntityChanges>,
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

#[derive(Object)]
struct TodoSyncDto {
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
    completed_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Object)]
struct ShoppingListSyncDto {
    id: Uuid,
    household_id: Uuid,
    name: String,
    #[oai(nullable)]
    description: Option<String>,
    status: Choice<ShoppingListStatus>,
    created_by: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Object)]
struct ShoppingItemSyncDto {
    id: Uuid,
    shopping_list_id: Uuid,
    name: String,
    quantity: f64,
    #[oai(nullable)]
    unit: Option<String>,
    #[oai(nullable)]
    category: Option<String>,
    is_purchased: bool,
    #[oai(nullable)]
    price: Option<Amount>,
    created_by: Uuid,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Object)]
struct ExpenseSplitSyncDto {
    id: Uuid,
    expense_id: Uuid,
    user_id: Uuid,
    amount_owed: Amount,
    is_settled: bool,
    #[oai(nullable)]
    settled_at: Option<Timestamp>,
}

#[derive(Object)]
struct ExpenseSyncDto {
    id: Uuid,
    household_id: Uuid,
    created_by: Uuid,
    amount: Amount,
    description: String,
    category: Choice<ExpenseCategory>,
    split_type: Choice<SplitType>,
    date: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
    splits: Vec<ExpenseSplitSyncDto>,
}

/// Reserved for conflict reports; last write wins, so none are reported today.
#[derive(Object)]
struct SyncConflict {
    entity_type: String,
    entity_id: String,
    local_version: String,
    server_version: String,
    conflict_type: String,
}

#[derive(Object)]
struct SyncResponse {
    /// Milliseconds since the epoch; send it back as `last_sync_timestamp` next time.
    server_timestamp: i64,
    todos: Vec<TodoSyncDto>,
    shopping_lists: Vec<ShoppingListSyncDto>,
    shopping_items: Vec<ShoppingItemSyncDto>,
    expenses: Vec<ExpenseSyncDto>,
    conflicts: Vec<SyncConflict>,
}

/// Why an entry was skipped.
enum Skip {
    Invalid(String),
    Db(DbErr),
}

impl From<DbErr> for Skip {
    fn from(err: DbErr) -> Self {
        Skip::Db(err)
    }
}

impl From<ServiceError> for Skip {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Db(err) => Skip::Db(err),
            ServiceError::NotFound(why)
            | ServiceError::Forbidden(why)
            | ServiceError::Refused(why) => Skip::Invalid(why.into_owned()),
        }
    }
}

type Applied = Result<(), Skip>;

fn invalid(reason: impl Into<String>) -> Skip {
    Skip::Invalid(reason.into())
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Todo,
    ShoppingList,
    ShoppingItem,
    Expense,
}

/// What every entry is applied for: the request's household, the caller, its members.
struct Context {
    household_id: Uuid,
    user_id: Uuid,
    members: HashSet<Uuid>,
    now: NaiveDateTime,
}

/// A field of a client's row: absent, null, or a value of the API's type for it.
fn field<T: ParseFromJSON>(
    row: &BTreeMap<String, Value>,
    key: &str,
) -> Result<MaybeUndefined<T>, Skip> {
    match row.get(key) {
        None => Ok(MaybeUndefined::Undefined),
        Some(Value::Null) => Ok(MaybeUndefined::Null),
        Some(value) => T::parse_from_json(Some(value.clone()))
            .map(MaybeUndefined::Value)
            .map_err(|err| invalid(format!("{key}: {}", err.into_message()))),
    }
}

/// A text field of at most `max` characters (and at least one when `required`).
fn text(
    row: &BTreeMap<String, Value>,
    key: &str,
    max: usize,
) -> Result<MaybeUndefined<String>, Skip> {
    let value = match field::<Text>(row, key)? {
        MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        MaybeUndefined::Null => MaybeUndefined::Null,
        MaybeUndefined::Value(text) => MaybeUndefined::Value(text.0),
    };
    if let MaybeUndefined::Value(text) = &value
        && text.chars().count() > max
    {
        return Err(invalid(format!("{key}: longer than {max} characters")));
    }
    Ok(value)
}

fn required_text(row: &BTreeMap<String, Value>, key: &str, max: usize) -> Result<String, Skip> {
    match text(row, key, max)? {
        MaybeUndefined::Value(text) if !text.is_empty() => Ok(text),
        _ => Err(invalid(format!("{key}: required"))),
    }
}

fn row_id(row: &BTreeMap<String, Value>) -> Result<Uuid, Skip> {
    field::<Uuid>(row, "id")?
        .take()
        .ok_or_else(|| invalid("id: required"))
}

impl Context {
    fn assignee(&self, row: &BTreeMap<String, Value>) -> Result<MaybeUndefined<Uuid>, Skip> {
        let assignee = field::<Uuid>(row, "assigned_to_id")?;
        match assignee.as_opt_ref() {
            Some(Some(id)) if !self.members.contains(id) => {
                Err(invalid("assigned_to_id: not a member of this household"))
            }
            _ => Ok(assignee),
        }
    }

    async fn apply(
        &self,
        txn: &Txn,
        kind: Kind,
        row: &BTreeMap<String, Value>,
        create: bool,
    ) -> Applied {
        match kind {
            Kind::Todo => self.todo(txn, row, create).await,
            Kind::ShoppingList => self.list(txn, row, create).await,
            Kind::ShoppingItem => self.item(txn, row, create).await,
            Kind::Expense => self.expense(txn, row, create).await,
        }
    }

    async fn todo(&self, txn: &Txn, row: &BTreeMap<String, Value>, create: bool) -> Applied {
        let id = row_id(row)?;
        let existing = todo::Entity::find_by_id(id).one(txn).await?;
        let current = match existing {
            Some(found) if found.household_id != self.household_id => {
                return Err(invalid("belongs to another household"));
            }
            Some(found) => found,
            None if !create => return Err(invalid("no such todo in this household")),
            None => {
                let status = field::<Choice<TodoStatus>>(row, "status")?
                    .take()
                    .map_or(TodoStatus::Pending, |s| s.0);
                let model = todo::ActiveModel {
                    id: Set(id),
                    household_id: Set(self.household_id),
                    title: Set(required_text(row, "title", 200)?),
                    description: Set(text(row, "description", 2000)?.take()),
                    status: Set(status),
                    priority: Set(field::<Choice<TodoPriority>>(row, "priority")?
                        .take()
                        .map_or(TodoPriority::Medium, |p| p.0)),
                    due_date: Set(field::<Timestamp>(row, "due_date")?.take().map(|t| t.0)),
                    assigned_to_id: Set(self.assignee(row)?.take()),
                    created_by: Set(self.user_id),
                    recurring_pattern: Set(text(row, "recurring_pattern", 50)?.take()),
                    recurring_until: Set(field::<Timestamp>(row, "recurring_until")?
                        .take()
                        .map(|t| t.0)),
                    parent_todo_id: Set(None),
                    completed_at: Set(completed_at(status, None, self.now)),
                    created_at: Set(self.now),
                    updated_at: Set(self.now),
                };
                model.insert(txn).await?;
                return Ok(());
            }
        };
        let mut changed = current.clone().into_active_model();
        if let MaybeUndefined::Value(title) = text(row, "title", 200)?
            && !title.is_empty()
        {
            changed.title = Set(title);
        }
        if let MaybeUndefined::Value(status) = field::<Choice<TodoStatus>>(row, "status")? {
            changed.status = Set(status.0);
            changed.completed_at = Set(completed_at(status.0, current.completed_at, self.now));
        }
        if let MaybeUndefined::Value(priority) = field::<Choice<TodoPriority>>(row, "priority")? {
            changed.priority = Set(priority.0);
        }
        patch(text(row, "description", 2000)?, |v| v).apply(&mut changed.description);
        patch(field::<Timestamp>(row, "due_date")?, |t| t.0).apply(&mut changed.due_date);
        patch(self.assignee(row)?, |v| v).apply(&mut changed.assigned_to_id);
        changed.updated_at = Set(self.now);
        changed.update(txn).await?;
        Ok(())
    }

    async fn list(&self, txn: &Txn, row: &BTreeMap<String, Value>, create: bool) -> Applied {
        let id = row_id(row)?;
        let existing = shopping_list::Entity::find_by_id(id).one(txn).await?;
        let current = match existing {
            Some(found) if found.household_id != self.household_id => {
                return Err(invalid("belongs to another household"));
            }
            Some(found) => found,
            None if !create => return Err(invalid("no such list in this household")),
            None => {
                shopping_list::ActiveModel {
                    id: Set(id),
                    household_id: Set(self.household_id),
                    name: Set(required_text(row, "name", 200)?),
                    description: Set(text(row, "description", 1000)?.take()),
                    status: Set(field::<Choice<ShoppingListStatus>>(row, "status")?
                        .take()
                        .map_or(ShoppingListStatus::Active, |s| s.0)),
                    created_by: Set(self.user_id),
                    created_at: Set(self.now),
                    updated_at: Set(self.now),
                }
                .insert(txn)
                .await?;
                return Ok(());
            }
        };
        let mut changed = current.into_active_model();
        if let MaybeUndefined::Value(name) = text(row, "name", 200)?
            && !name.is_empty()
        {
            changed.name = Set(name);
        }
        if let MaybeUndefined::Value(status) = field::<Choice<ShoppingListStatus>>(row, "status")? {
            changed.status = Set(status.0);
        }
        patch(text(row, "description", 1000)?, |v| v).apply(&mut changed.description);
        changed.updated_at = Set(self.now);
        changed.update(txn).await?;
        Ok(())
    }

    /// The list `list_id` if it is this household's.
    async fn own_list(&self, txn: &Txn, list_id: Uuid) -> Result<shopping_list::Model, Skip> {
        shopping_list::Entity::find_by_id(list_id)
            .filter(shopping_list::Column::HouseholdId.eq(self.household_id))
            .one(txn)
            .await?
            .ok_or_else(|| invalid("shopping_list_id: no such list in this household"))
    }

    async fn item(&self, txn: &Txn, row: &BTreeMap<String, Value>, create: bool) -> Applied {
        let id = row_id(row)?;
        let existing = shopping_list_item::Entity::find_by_id(id).one(txn).await?;
        let quantity = match field::<f64>(row, "quantity")? {
            MaybeUndefined::Value(q) if !(q.is_finite() && q > 0.0) => {
                return Err(invalid("quantity: must be more than 0"));
            }
            other => other,
        };
        let price = match field::<Amount>(row, "price")? {
            MaybeUndefined::Value(p) if p.0 < Money::ZERO => {
                return Err(invalid("price: must be at least 0"));
            }
            other => other,
        };
        let purchased = field::<bool>(row, "is_purchased")?;
        let current = match existing {
            Some(found) => {
                // The item's list decides its household.
                self.own_list(txn, found.shopping_list_id)
                    .await
                    .map_err(|_| invalid("belongs to another household"))?;
                found
            }
            None if !create => return Err(invalid("no such item in this household")),
            None => {
                let list_id = field::<Uuid>(row, "shopping_list_id")?
                    .take()
                    .ok_or_else(|| invalid("shopping_list_id: required"))?;
                let list = self.own_list(txn, list_id).await?;
                let is_purchased = purchased.take().unwrap_or(false);
                shopping_list_item::ActiveModel {
                    id: Set(id),
                    shopping_list_id: Set(list.id),
                    name: Set(required_text(row, "name", 200)?),
                    quantity: Set(quantity.take().unwrap_or(1.0)),
                    unit: Set(text(row, "unit", 50)?.take()),
                    category: Set(text(row, "category", 100)?.take()),
                    is_purchased: Set(is_purchased),
                    assigned_to_id: Set(self.assignee(row)?.take()),
                    price: Set(price.take().map(|p| p.0)),
                    notes: Set(text(row, "notes", 500)?.take()),
                    is_recurring: Set(false),
                    recurring_pattern: Set(None),
                    recurring_until: Set(None),
                    last_recurring_date: Set(None),
                    checked_off_by: Set(is_purchased.then_some(self.user_id)),
                    checked_off_at: Set(is_purchased.then_some(self.now)),
                    position: Set(0),
                    created_by: Set(self.user_id),
                    created_at: Set(self.now),
                    updated_at: Set(self.now),
                }
                .insert(txn)
                .await?;
                return Ok(());
            }
        };
        let mut changed = current.clone().into_active_model();
        if let MaybeUndefined::Value(name) = text(row, "name", 200)?
            && !name.is_empty()
        {
            changed.name = Set(name);
        }
        if let MaybeUndefined::Value(quantity) = quantity {
            changed.quantity = Set(quantity);
        }
        if let MaybeUndefined::Value(purchased) = purchased
            && purchased != current.is_purchased
        {
            changed.is_purchased = Set(purchased);
            changed.checked_off_by = Set(purchased.then_some(self.user_id));
            changed.checked_off_at = Set(purchased.then_some(self.now));
        }
        patch(text(row, "unit", 50)?, |v| v).apply(&mut changed.unit);
        patch(text(row, "category", 100)?, |v| v).apply(&mut changed.category);
        patch(price, |p| p.0).apply(&mut changed.price);
        changed.updated_at = Set(self.now);
        changed.update(txn).await?;
        Ok(())
    }

    async fn expense(&self, txn: &Txn, row: &BTreeMap<String, Value>, create: bool) -> Applied {
        let id = row_id(row)?;
        let existing = expense::Entity::find_by_id(id).one(txn).await?;
        let amount = match field::<Amount>(row, "amount")? {
            MaybeUndefined::Value(a) if a.0 <= Money::ZERO => {
                return Err(invalid("amount: must be more than 0"));
            }
            other => other,
        };
        let current = match existing {
            Some(found) if found.household_id != self.household_id => {
                return Err(invalid("belongs to another household"));
            }
            Some(found) => found,
            None if !create => return Err(invalid("no such expense in this household")),
            None => {
                let amount = amount.take().ok_or_else(|| invalid("amount: required"))?;
                // Shared expenses are split equally among the members, as `POST /expenses` does.
                let new = NewExpense {
                    id,
                    household_id: self.household_id,
                    amount: amount.0,
                    is_personal: field::<bool>(row, "is_personal")?.take().unwrap_or(false),
                    description: required_text(row, "description", 500)?,
                    category: field::<Choice<ExpenseCategory>>(row, "category")?
                        .take()
                        .map_or(ExpenseCategory::Other, |c| c.0),
                    payment_method: field::<Choice<PaymentMethod>>(row, "payment_method")?
                        .take()
                        .map_or(PaymentMethod::Cash, |p| p.0),
                    date: field::<Timestamp>(row, "date")?.take().map(|t| t.0),
                    split_type: SplitType::Equal,
                    splits: Vec::new(),
                };
                let caller = Caller::within(self.user_id, self.household_id);
                expenses::create_in(txn, caller, new).await?;
                return Ok(());
            }
        };
        let mut changed = current.into_active_model();
        if let MaybeUndefined::Value(amount) = amount {
            changed.amount = Set(amount.0);
        }
        if let MaybeUndefined::Value(description) = text(row, "description", 500)?
            && !description.is_empty()
        {
            changed.description = Set(description);
        }
        if let MaybeUndefined::Value(category) = field::<Choice<ExpenseCategory>>(row, "category")?
        {
            changed.category = Set(category.0);
        }
        changed.updated_at = Set(self.now);
        changed.update(txn).await?;
        Ok(())
    }

    /// Deletes the row `id` if it is this household's.
    async fn delete(&self, txn: &Txn, kind: Kind, id: &str) -> Applied {
        let id = Uuid::parse_str(id).map_err(|_| invalid("not a UUID"))?;
        let deleted = match kind {
            Kind::Todo => {
                todo::Entity::delete_many()
                    .filter(todo::Column::Id.eq(id))
                    .filter(todo::Column::HouseholdId.eq(self.household_id))
                    .exec(txn)
                    .await?
            }
            Kind::ShoppingList => {
                shopping_list::Entity::delete_many()
                    .filter(shopping_list::Column::Id.eq(id))
                    .filter(shopping_list::Column::HouseholdId.eq(self.household_id))
                    .exec(txn)
                    .await?
            }
            Kind::ShoppingItem => {
                let lists: Vec<Uuid> = shopping_list::Entity::find()
                    .select_only()
                    .column(shopping_list::Column::Id)
                    .filter(shopping_list::Column::HouseholdId.eq(self.household_id))
                    .into_tuple()
                    .all(txn)
                    .await?;
                shopping_list_item::Entity::delete_many()
                    .filter(shopping_list_item::Column::Id.eq(id))
                    .filter(shopping_list_item::Column::ShoppingListId.is_in(lists))
                    .exec(txn)
                    .await?
            }
            Kind::Expense => {
                expense::Entity::delete_many()
                    .filter(expense::Column::Id.eq(id))
                    .filter(expense::Column::HouseholdId.eq(self.household_id))
                    .exec(txn)
                    .await?
            }
        };
        if deleted.rows_affected == 0 {
            return Err(invalid("no such row in this household"));
        }
        Ok(())
    }
}

/// Runs one entry in a savepoint: kept when it applies, rolled back and logged when it
/// does not. Losing the connection aborts the whole sync instead (it rolls back, and the
/// client retries).
async fn in_savepoint<F>(txn: &Txn, kind: Kind, what: &str, entry: F) -> ApiResult<()>
where
    F: AsyncFnOnce(&Txn) -> Applied,
{
    let savepoint = txn.savepoint().await?;
    match entry(&savepoint).await {
        Ok(()) => savepoint.commit().await?,
        Err(Skip::Db(err)) if is_transient(&err) => return Err(err.into()),
        Err(skip) => {
            let reason = match skip {
                Skip::Invalid(reason) => reason,
                Skip::Db(err) => err.to_string(),
            };
            tracing::warn!(kind = ?kind, operation = what, reason = %reason, "sync entry skipped");
            savepoint.rollback().await?;
        }
    }
    Ok(())
}

/// The moment `last_sync_ms` names; the request's bounds keep it within what both
/// databases store.
fn since(last_sync_ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(last_sync_ms)
        .map_or(DateTime::UNIX_EPOCH.naive_utc(), |t| t.naive_utc())
}

async fn changed_since(
    state: &AppState,
    household_id: Uuid,
    after: NaiveDateTime,
) -> ApiResult<SyncResponse> {
    let server_timestamp = Utc::now().timestamp_millis();
    let (todos, lists, expenses) = state
        .db
        .read(|conn| async move {
            let todos = todo::all(
                todo::Entity::find()
                    .filter(todo::Column::HouseholdId.eq(household_id))
                    .filter(todo::Column::UpdatedAt.gt(after)),
                &conn,
            )
            .await?;
            let lists = shopping_list::Entity::find()
                .filter(shopping_list::Column::HouseholdId.eq(household_id))
                .all(&conn)
                .await?;
            let expenses = expense::Entity::find()
                .filter(expense::Column::HouseholdId.eq(household_id))
                .filter(expense::Column::UpdatedAt.gt(after))
                .all(&conn)
                .await?;
            Ok((todos, lists, expenses))
        })
        .await?;
    let list_ids: Vec<Uuid> = lists.iter().map(|l| l.id).collect();
    let items = state
        .db
        .read(|conn| {
            let list_ids = list_ids.clone();
            async move {
                shopping_list_item::Entity::find()
                    .filter(shopping_list_item::Column::ShoppingListId.is_in(list_ids))
                    .filter(shopping_list_item::Column::UpdatedAt.gt(after))
                    .all(&conn)
                    .await
            }
        })
        .await?;
    let splits = expenses::splits_of(&state.db, expenses.iter().map(|e| e.id).collect()).await?;
    Ok(SyncResponse {
        server_timestamp,
        todos: todos
            .into_iter()
            .map(|t| TodoSyncDto {
                id: t.id,
                household_id: t.household_id,
                title: t.title,
                description: t.description,
                status: Choice(t.status),
                priority: Choice(t.priority),
                due_date: t.due_date.map(Into::into),
                assigned_to_id: t.assigned_to_id,
                created_by: t.created_by,
                completed_at: t.completed_at.map(Into::into),
                created_at: t.created_at.into(),
                updated_at: t.updated_at.into(),
            })
            .collect(),
        shopping_lists: lists
            .into_iter()
            .filter(|l| l.updated_at > after)
            .map(|l| ShoppingListSyncDto {
                id: l.id,
                household_id: l.household_id,
                name: l.name,
                description: l.description,
                status: Choice(l.status),
                created_by: l.created_by,
                created_at: l.created_at.into(),
                updated_at: l.updated_at.into(),
            })
            .collect(),
        shopping_items: items
            .into_iter()
            .map(|i| ShoppingItemSyncDto {
                id: i.id,
                shopping_list_id: i.shopping_list_id,
                name: i.name,
                quantity: i.quantity,
                unit: i.unit,
                category: i.category,
                is_purchased: i.is_purchased,
                price: i.price.map(Amount),
                created_by: i.created_by,
                created_at: i.created_at.into(),
                updated_at: i.updated_at.into(),
            })
            .collect(),
        expenses: expenses
            .into_iter()
            .map(|e| ExpenseSyncDto {
                splits: splits
                    .iter()
                    .filter(|s| s.expense_id == e.id)
                    .map(|s| ExpenseSplitSyncDto {
                        id: s.id,
                        expense_id: s.expense_id,
                        user_id: s.user_id,
                        amount_owed: Amount(s.amount_owed),
                        is_settled: s.is_settled,
                        settled_at: s.settled_at.map(Into::into),
                    })
                    .collect(),
                id: e.id,
                household_id: e.household_id,
                created_by: e.created_by,
                amount: Amount(e.amount),
                description: e.description,
                category: Choice(e.category),
                split_type: Choice(e.split_type),
                date: e.date.into(),
                created_at: e.created_at.into(),
                updated_at: e.updated_at.into(),
            })
            .collect(),
        conflicts: Vec::new(),
    })
}

pub struct SyncApi;

#[OpenApi(tag = "Tag::Sync")]
impl SyncApi {
    /// Apply the app's offline changes (last write wins) and answer every row of the
    /// household changed since `last_sync_timestamp`.
    #[oai(path = "/api/v1/sync", method = "post", operation_id = "sync")]
    async fn sync(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<SyncRequest>,
    ) -> ApiResult<Json<SyncResponse>> {
        let request = body.0;
        let household_id = request.household_id;
        membership(&state.db, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        let members = expenses::member_ids(&state.db, household_id).await?;
        let context = Context {
            household_id,
            user_id: auth.0.id,
            members: members.into_iter().collect(),
            now: Utc::now().naive_utc(),
        };
        let changes = request.changes;
        let kinds = [
            (Kind::Todo, changes.todos),
            (Kind::ShoppingList, changes.shopping_lists),
            (Kind::ShoppingItem, changes.shopping_items),
            (Kind::Expense, changes.expenses),
        ];
        let txn = state.db.begin().await?;
        for (kind, entity) in kinds {
            let entity = entity.0.unwrap_or_default();
            for row in entity.created.iter() {
                in_savepoint(&txn, kind, "create", async |sp| {
                    context.apply(sp, kind, row, true).await
                })
                .await?;
            }
            for row in entity.updated.iter() {
                in_savepoint(&txn, kind, "update", async |sp| {
                    context.apply(sp, kind, row, false).await
                })
                .await?;
            }
            for id in entity.deleted.iter() {
                in_savepoint(&txn, kind, "delete", async |sp| {
                    context.delete(sp, kind, id).await
                })
                .await?;
            }
        }
        state.db.commit(txn).await.map_err(ApiError::from)?;
        Ok(Json(
            changed_since(&state, household_id, since(request.last_sync_timestamp)).await?,
        ))
    }
}
