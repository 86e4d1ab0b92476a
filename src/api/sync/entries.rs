//! Reading the app's changes into what the service takes: each row, made ready by
//! `service::sync::rows`, is read as the REST operation's own request type (so it gets
//! that operation's bounds, defaults and enum handling), and an updated row also as a
//! create, for the service to use when the household has never had its id.

use chrono::NaiveDateTime;
use entities::enums::{ShoppingListStatus, TodoStatus};
use poem_openapi::types::ParseFromJSON;
use serde_json::Value;
use uuid::Uuid;

use super::{
    super::{
        any_case_enum::AnyCaseEnum,
        expenses::wire::{ExpenseCreate, ExpenseUpdate},
        shopping::{ItemCreate, ItemUpdate, ShoppingListCreate, ShoppingListUpdate},
        timestamp::TimestampInput,
        todos::{TodoCreate, TodoUpdate},
    },
    EntityChanges, SyncChanges,
};
use crate::{
    domain::ids::{ExpenseId, HouseholdId, ShoppingItemId, ShoppingListId, TodoId},
    service::{
        changes::RowKind,
        expenses::NewExpense,
        shopping::{NewItem, NewList},
        sync::{
            About, Changes, Entry, Op, Operation,
            rows::{ClientRow, prepared},
        },
        todos::NewTodo,
    },
};

/// The app's changes, every kind's, in the order they are applied.
pub(super) fn changes(household_id: HouseholdId, changes: SyncChanges) -> Changes {
    let of = |kind: Option<EntityChanges>| kind.unwrap_or_default();
    Changes {
        todos: entries(
            RowKind::Todo,
            household_id,
            of(changes.todos.0),
            new_todo,
            read::<TodoUpdate, _>,
        ),
        shopping_lists: entries(
            RowKind::ShoppingList,
            household_id,
            of(changes.shopping_lists.0),
            new_list,
            read::<ShoppingListUpdate, _>,
        ),
        shopping_items: entries(
            RowKind::ShoppingItem,
            household_id,
            of(changes.shopping_items.0),
            new_item,
            read::<ItemUpdate, _>,
        ),
        expenses: entries(
            RowKind::Expense,
            household_id,
            of(changes.expenses.0),
            new_expense,
            read::<ExpenseUpdate, _>,
        ),
    }
}

/// The entries of one kind's changes, in the order they are applied: created, updated,
/// deleted. `create` reads a row as the kind's create, `update` as its update.
fn entries<New, Changes, Id: From<Uuid> + Copy>(
    kind: RowKind,
    household_id: HouseholdId,
    changes: EntityChanges,
    create: fn(Id, ClientRow) -> Result<New, String>,
    update: fn(ClientRow) -> Result<Changes, String>,
) -> Vec<Entry<New, Changes, Id>> {
    let about = |operation, row: &ClientRow| About {
        operation,
        id: id_text(row),
        client_version: client_version(row),
    };
    let created = changes.created.into_iter().map(|row| {
        let row = prepared(kind, Operation::Create, row, household_id);
        Entry {
            about: about(Operation::Create, &row),
            change: row_id(&row).and_then(|id| create(id, row).map(Op::Create)),
        }
    });
    let updated = changes.updated.into_iter().map(|row| {
        let row = prepared(kind, Operation::Update, row, household_id);
        Entry {
            about: about(Operation::Update, &row),
            change: row_id(&row).and_then(|id| {
                Ok(Op::Update {
                    id,
                    or_create: create(id, row.clone()).ok(),
                    changes: update(row)?,
                })
            }),
        }
    });
    let deleted = changes.deleted.into_iter().map(|id| Entry {
        change: Uuid::parse_str(&id)
            .map(|id| Op::Delete(id.into()))
            .map_err(|_| "id: not a UUID".to_owned()),
        about: About {
            operation: Operation::Delete,
            id: Some(id),
            client_version: None,
        },
    });
    created.chain(updated).chain(deleted).collect()
}

fn new_expense(id: ExpenseId, row: ClientRow) -> Result<NewExpense, String> {
    read::<ExpenseCreate, ExpenseCreate>(row).map(|create| create.into_new(id))
}

fn new_todo(id: TodoId, row: ClientRow) -> Result<NewTodo, String> {
    // The app creates todos offline in any state; REST's create starts them pending.
    let status = field::<AnyCaseEnum<TodoStatus>>(&row, "status")?;
    let mut new = read::<TodoCreate, TodoCreate>(row)?.into_new(id);
    if let Some(status) = status {
        new.status = status.0;
    }
    Ok(new)
}

fn new_list(id: ShoppingListId, row: ClientRow) -> Result<NewList, String> {
    let status = field::<AnyCaseEnum<ShoppingListStatus>>(&row, "status")?;
    let mut new = read::<ShoppingListCreate, ShoppingListCreate>(row)?.into_new(id);
    if let Some(status) = status {
        new.status = status.0;
    }
    Ok(new)
}

fn new_item(id: ShoppingItemId, row: ClientRow) -> Result<NewItem, String> {
    // REST names the list in the path; the app, in the row. It may check items off
    // offline before they were ever synced.
    let list_id = field::<Uuid>(&row, "shopping_list_id")?
        .ok_or_else(|| "shopping_list_id: required".to_owned())?;
    let purchased = field::<bool>(&row, "is_purchased")?;
    let mut new = read::<ItemCreate, ItemCreate>(row)?.into_new(id, list_id.into());
    new.is_purchased = purchased.unwrap_or(false);
    Ok(new)
}

/// `row` read as the request type `T`, into what the service takes.
fn read<T: ParseFromJSON + Into<U>, U>(row: ClientRow) -> Result<U, String> {
    T::parse_from_json(Some(Value::Object(row.into_iter().collect())))
        .map(Into::into)
        .map_err(|err| readable(&err.into_message()))
}

/// poem-openapi's parse message, for a person: without the types it passed through, and a
/// field's bound in words (``field `title` verification failed. maxLength(200)`` is
/// `title: at most 200 characters`).
fn readable(message: &str) -> String {
    let message = message
        .split(" (occurred while parsing")
        .next()
        .unwrap_or(message);
    let message = match message.strip_prefix("failed to parse \"") {
        Some(rest) => rest.split_once("\": ").map_or(rest, |(_, reason)| reason),
        None => message,
    };
    let Some((field, bound)) = message
        .strip_prefix("field `")
        .and_then(|rest| rest.split_once("` verification failed. "))
    else {
        return message.to_owned();
    };
    let (name, limit) = bound
        .trim_end_matches(')')
        .split_once('(')
        .unwrap_or((bound, ""));
    let words = match name {
        "maxLength" => format!("at most {limit} characters"),
        "minLength" => format!("at least {limit} characters"),
        "maxItems" => format!("at most {limit} entries"),
        "minItems" => format!("at least {limit} entries"),
        "maximum" => format!("at most {limit}"),
        "minimum" => format!("at least {limit}"),
        _ => bound.to_owned(),
    };
    format!("{field}: {words}")
}

/// The field `key` of `row`, when it holds a value (absent and null are none).
fn field<T: ParseFromJSON>(row: &ClientRow, key: &str) -> Result<Option<T>, String> {
    match row.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => T::parse_from_json(Some(value.clone()))
            .map(Some)
            .map_err(|err| format!("{key}: {}", readable(&err.into_message()))),
    }
}

fn row_id<Id: From<Uuid>>(row: &ClientRow) -> Result<Id, String> {
    field::<Uuid>(row, "id")?
        .map(Into::into)
        .ok_or_else(|| "id: required".to_owned())
}

/// The row's `updated_at` as the app last changed it, to report in a conflict; none when
/// it is missing or unreadable (it changes nothing else).
fn client_version(row: &ClientRow) -> Option<NaiveDateTime> {
    field::<TimestampInput>(row, "updated_at")
        .ok()
        .flatten()
        .map(|at| at.0)
}

/// The row's id as sent, to name it in a report even when it is not a UUID.
fn id_text(row: &ClientRow) -> Option<String> {
    match row.get("id")? {
        Value::String(id) => Some(id.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::todos::TodoChanges;

    fn row(value: Value) -> ClientRow {
        serde_json::from_value(value).expect("an object")
    }

    #[test]
    fn a_bound_is_reported_in_words_and_a_type_without_the_types_it_passed() {
        assert_eq!(
            readable(
                "failed to parse \"TodoCreate\": field `title` verification failed. maxLength(200)"
            ),
            "title: at most 200 characters"
        );
        assert_eq!(
            readable(
                "failed to parse \"TodoPriority\": expected one of: low, medium, high (occurred while parsing \"TodoCreate\")"
            ),
            "expected one of: low, medium, high"
        );
    }

    #[test]
    fn an_entry_without_a_uuid_is_reported_with_the_id_it_sent() {
        let changes = EntityChanges {
            created: vec![row(serde_json::json!({"id": "not-a-uuid", "title": "x"}))],
            updated: Vec::new(),
            deleted: vec!["nope".into()],
        };
        let entries = entries(
            RowKind::Todo,
            Uuid::new_v4().into(),
            changes,
            new_todo,
            read::<TodoUpdate, TodoChanges>,
        );
        assert_eq!(entries.len(), 2);
        for entry in entries {
            assert!(entry.change.is_err());
            assert!(matches!(
                entry.about.id.as_deref(),
                Some("not-a-uuid" | "nope")
            ));
        }
    }
}
