//! A row as the app sent it, made ready to be read as the REST operation's own request
//! (so it gets that operation's bounds, defaults and enum handling), with the few
//! leniencies sync keeps for the app: the request's household in place of the row's own,
//! amounts rounded to the cent (the app sends a double's `toString()`), and a required
//! text that an update empties left as it was. Enums in upper case need nothing here:
//! `AnyCaseEnum` reads any case, in REST too.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Operation;
use crate::{
    domain::{ids::HouseholdId, money},
    service::changes::RowKind,
};

/// A row as the app sent it.
pub type ClientRow = BTreeMap<String, Value>;

/// Money fields.
const MONEY: [&str; 2] = ["amount", "price"];

/// The text a row of `kind` cannot be without.
fn required_text(kind: RowKind) -> &'static str {
    match kind {
        RowKind::Todo => "title",
        RowKind::ShoppingList | RowKind::ShoppingItem => "name",
        RowKind::Expense => "description",
    }
}

/// `row`, sent as an `operation` of `kind` in a sync of `household_id`, ready to be read.
pub fn prepared(
    kind: RowKind,
    operation: Operation,
    mut row: ClientRow,
    household_id: HouseholdId,
) -> ClientRow {
    row.insert(
        "household_id".into(),
        Value::String(household_id.to_string()),
    );
    for key in MONEY {
        if let Some(value) = row.get_mut(key) {
            to_cents(value);
        }
    }
    if operation == Operation::Update
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
    if let Some(money) = money::storable(&text) {
        *value = Value::String(money.to_string());
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
        let household = HouseholdId::from(uuid::Uuid::new_v4());
        let read = prepared(
            RowKind::Expense,
            Operation::Create,
            row(serde_json::json!({"amount": 12.345, "price": "1.005", "household_id": "x"})),
            household,
        );
        assert_eq!(read["amount"], "12.35");
        assert_eq!(read["price"], "1.01");
        assert_eq!(read["household_id"], household.to_string());
    }

    #[test]
    fn an_emptied_title_is_left_out_of_an_update_and_kept_in_a_create() {
        let emptied =
            row(serde_json::json!({"title": "", "description": "", "status": "COMPLETED"}));
        let household = HouseholdId::from(uuid::Uuid::new_v4());
        let updated = prepared(RowKind::Todo, Operation::Update, emptied.clone(), household);
        assert!(!updated.contains_key("title"));
        // A todo's description may be emptied; only its title is required.
        assert_eq!(updated["description"], "");
        let created = prepared(RowKind::Todo, Operation::Create, emptied, household);
        assert_eq!(created["title"], "");
    }
}
