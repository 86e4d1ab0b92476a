//! Reading the app's changes: each row is read as the REST operation's own request type
//! (so it gets that operation's bounds, defaults and enum handling), after the few
//! leniencies sync keeps for the app, all in `lenient`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use entities::{
    enums::{ShoppingListStatus, TodoStatus},
    money::Money,
};
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
    EntityChanges,
};
use crate::service::{
    shopping::{NewItem, NewList},
    sync::{Change, Entry, Op, RowKind},
    todos::NewTodo,
};

/// A row as the app sent it.
type ClientRow = BTreeMap<String, Value>;

/// Money fields: the app sends a double's `toString()`, which may carry more than cents.
const MONEY: [&str; 2] = ["amount", "price"];
/// The text a row of `kind` cannot be without: an update that empties it leaves it as it was.
fn required_text(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Todo => "title",
        RowKind::ShoppingList | RowKind::ShoppingItem => "name",
        RowKind::Expense => "description",
    }
}

/// The entries of one kind's changes, in the order they are applied: created, updated,
/// deleted.
pub(super) fn entries(kind: RowKind, household_id: Uuid, changes: EntityChanges) -> Vec<Entry> {
    let created = changes.created.into_iter().map(|row| Entry {
        kind,
        operation: "create",
        id: id_text(&row),
        client_version: client_version(&row),
        change: row_id(&row)
            .and_then(|id| create(kind, id, lenient(kind, row, household_id, false))),
    });
    let updated = changes.updated.into_iter().map(|row| Entry {
        kind,
        operation: "update",
        id: id_text(&row),
        client_version: client_version(&row),
        change: row_id(&row)
            .and_then(|id| update(kind, id, lenient(kind, row, household_id, true))),
    });
    let deleted = changes.deleted.into_iter().map(|id| Entry {
        kind,
        operation: "delete",
        client_version: None,
        change: Uuid::parse_str(&id)
            .map(|id| delete(kind, id))
            .map_err(|_| "id: not a UUID".to_owned()),
        id: Some(id),
    });
    created.chain(updated).chain(deleted).collect()
}

/// What sync allows beyond the REST operation: the request's household in place of the
/// row's own, amounts rounded to the cent, an emptied required text on update left as
/// it was. Enums in upper case need nothing here: `AnyCaseEnum` reads any case, in REST too.
fn lenient(kind: RowKind, mut row: ClientRow, household_id: Uuid, update: bool) -> ClientRow {
    row.insert(
        "household_id".into(),
        Value::String(household_id.to_string()),
    );
    for key in MONEY {
        if let Some(value) = row.get_mut(key) {
            to_cents(value);
        }
    }
    if update
        && row
            .get(required_text(kind))
            .is_some_and(|value| value == "")
    {
        row.remove(required_text(kind));
    }
    row
}

/// `value`, when it reads as an amount, as that amount rounded to the cent; left for the
/// type to refuse otherwise.
fn to_cents(value: &mut Value) {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return,
    };
    if let Ok(money) = text.parse::<Money>() {
        *value = Value::String(money.to_string());
    }
}

fn create(kind: RowKind, id: Uuid, row: ClientRow) -> Result<Change, String> {
    Ok(match kind {
        RowKind::Todo => Change::Todo(Op::Create(new_todo(id, row)?)),
        RowKind::ShoppingList => Change::ShoppingList(Op::Create(new_list(id, row)?)),
        RowKind::ShoppingItem => Change::ShoppingItem(Op::Create(new_item(id, row)?)),
        RowKind::Expense => Change::Expense(Op::Create(read::<ExpenseCreate>(row)?.into_new(id))),
    })
}

/// An update, and the same row read as a create: the app files an edit of a row it
/// created offline under `updated` when it has not synced the row yet, and the server,
/// which has never seen that id, creates it when the row carries what a create needs.
fn update(kind: RowKind, id: Uuid, row: ClientRow) -> Result<Change, String> {
    Ok(match kind {
        RowKind::Todo => Change::Todo(Op::Update {
            id,
            or_create: new_todo(id, row.clone()).ok(),
            changes: read::<TodoUpdate>(row)?.into(),
        }),
        RowKind::ShoppingList => Change::ShoppingList(Op::Update {
            id,
            or_create: new_list(id, row.clone()).ok(),
            changes: read::<ShoppingListUpdate>(row)?.into(),
        }),
        RowKind::ShoppingItem => Change::ShoppingItem(Op::Update {
            id,
            or_create: new_item(id, row.clone()).ok(),
            changes: read::<ItemUpdate>(row)?.into(),
        }),
        RowKind::Expense => Change::Expense(Op::Update {
            id,
            or_create: read::<ExpenseCreate>(row.clone())
                .ok()
                .map(|create| create.into_new(id)),
            changes: read::<ExpenseUpdate>(row)?.into(),
        }),
    })
}

fn new_todo(id: Uuid, row: ClientRow) -> Result<NewTodo, String> {
    // The app creates todos offline in any state; REST's create starts them pending.
    let status = field::<AnyCaseEnum<TodoStatus>>(&row, "status")?;
    let mut new = read::<TodoCreate>(row)?.into_new(id);
    if let Some(status) = status {
        new.status = status.0;
    }
    Ok(new)
}

fn new_list(id: Uuid, row: ClientRow) -> Result<NewList, String> {
    let status = field::<AnyCaseEnum<ShoppingListStatus>>(&row, "status")?;
    let mut new = read::<ShoppingListCreate>(row)?.into_new(id);
    if let Some(status) = status {
        new.status = status.0;
    }
    Ok(new)
}

fn new_item(id: Uuid, row: ClientRow) -> Result<NewItem, String> {
    // REST names the list in the path; the app, in the row. It may check items off
    // offline before they were ever synced.
    let list_id = field::<Uuid>(&row, "shopping_list_id")?
        .ok_or_else(|| "shopping_list_id: required".to_owned())?;
    let purchased = field::<bool>(&row, "is_purchased")?;
    let mut new = read::<ItemCreate>(row)?.into_new(id, list_id);
    new.is_purchased = purchased.unwrap_or(false);
    Ok(new)
}

fn delete(kind: RowKind, id: Uuid) -> Change {
    match kind {
        RowKind::Todo => Change::Todo(Op::Delete(id)),
        RowKind::ShoppingList => Change::ShoppingList(Op::Delete(id)),
        RowKind::ShoppingItem => Change::ShoppingItem(Op::Delete(id)),
        RowKind::Expense => Change::Expense(Op::Delete(id)),
    }
}

/// `row` read as the request type `T`.
fn read<T: ParseFromJSON>(row: ClientRow) -> Result<T, String> {
    T::parse_from_json(Some(Value::Object(row.into_iter().collect())))
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

fn row_id(row: &ClientRow) -> Result<Uuid, String> {
    field::<Uuid>(row, "id")?.ok_or_else(|| "id: required".to_owned())
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

    fn row(value: Value) -> ClientRow {
        serde_json::from_value(value).expect("an object")
    }

    #[test]
    fn amounts_are_rounded_to_the_cent_and_the_household_is_the_syncs() {
        let household = Uuid::new_v4();
        let read = lenient(
            RowKind::Expense,
            row(serde_json::json!({"amount": 12.345, "price": "1.005", "household_id": "x"})),
            household,
            false,
        );
        assert_eq!(read["amount"], "12.35");
        assert_eq!(read["price"], "1.01");
        assert_eq!(read["household_id"], household.to_string());
    }

    #[test]
    fn an_emptied_title_is_kept_on_update_and_refused_on_create() {
        let emptied =
            row(serde_json::json!({"title": "", "description": "", "status": "COMPLETED"}));
        let household = Uuid::new_v4();
        let updated = lenient(RowKind::Todo, emptied.clone(), household, true);
        assert!(!updated.contains_key("title"));
        // A todo's description may be emptied; only its title is required.
        assert_eq!(updated["description"], "");
        assert!(
            create(
                RowKind::Todo,
                Uuid::new_v4(),
                lenient(RowKind::Todo, emptied, household, false)
            )
            .is_err()
        );
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
        let entries = entries(RowKind::Todo, Uuid::new_v4(), changes);
        assert_eq!(entries.len(), 2);
        for entry in entries {
            assert!(entry.change.is_err());
            assert!(matches!(entry.id.as_deref(), Some("not-a-uuid" | "nope")));
        }
    }
}
