//! The Android app's own sync payloads, field for field as its DTOs serialise them
//! (`SyncDtos.kt`: every field sent, `created_by` empty, amounts as a double's or a
//! BigDecimal's `toString()`, enums in upper case), for every kind; and a payload of 500
//! entries per kind answered within the request deadline.

use poem::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{harness::flat, sync::find};

const AT: &str = "2025-11-17T10:20:30.123Z";

#[tokio::test]
async fn the_apps_lists_items_and_expenses_with_custom_splits_are_kept_as_sent() {
    let f = flat().await;
    let (list, item, expense, unsplit) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let body = f
        .sync(
            &f.member,
            0,
            json!({
                "shopping_lists": {"created": [{"id": list, "household_id": f.household, "name": "Weekly",
                    "description": null, "status": "ACTIVE", "created_by": "", "created_at": AT, "updated_at": AT}],
                    "updated": [], "deleted": []},
                "shopping_items": {"created": [{"id": item, "shopping_list_id": list, "name": "Oat milk",
                    "quantity": 2.0, "unit": null, "category": null, "is_purchased": true, "price": "3.5",
                    "created_by": "", "created_at": AT, "updated_at": AT}], "updated": [], "deleted": []},
                "expenses": {"created": [
                    {"id": expense, "household_id": f.household, "created_by": "", "amount": "12.345",
                     "description": "Groceries", "category": "GROCERIES", "split_type": "CUSTOM", "date": AT,
                     "created_at": AT, "updated_at": AT,
                     "splits": [
                        {"id": Uuid::new_v4(), "expense_id": expense, "user_id": f.owner.id, "amount_owed": "8.00",
                         "is_settled": false, "settled_at": null},
                        {"id": Uuid::new_v4(), "expense_id": expense, "user_id": f.member.id, "amount_owed": "4.35",
                         "is_settled": false, "settled_at": null}]},
                    // `ExpenseEntity.toDto()` sends no splits: an equal split is made.
                    {"id": unsplit, "household_id": f.household, "created_by": "", "amount": "9",
                     "description": "Soap", "category": "OTHER", "split_type": "EQUAL", "date": AT,
                     "created_at": AT, "updated_at": AT, "splits": []}],
                    "updated": [], "deleted": []}
            }),
        )
        .await;
    assert_eq!(body["not_applied"], json!([]), "{body}");

    let l = find(&body["shopping_lists"], &list.to_string()).expect("the list");
    assert_eq!(
        (l["name"].as_str(), l["status"].as_str()),
        (Some("Weekly"), Some("active"))
    );
    assert_eq!(l["created_by"], f.member.id.to_string());
    let i = find(&body["shopping_items"], &item.to_string()).expect("the item");
    assert_eq!(
        (
            i["quantity"].as_f64(),
            i["price"].as_str(),
            i["is_purchased"].as_bool()
        ),
        (Some(2.0), Some("3.50"), Some(true))
    );
    let e = find(&body["expenses"], &expense.to_string()).expect("the expense");
    assert_eq!(
        (
            e["amount"].as_str(),
            e["split_type"].as_str(),
            e["date"].as_str()
        ),
        (
            Some("12.35"),
            Some("custom"),
            Some("2025-11-17T10:20:30.123000Z")
        )
    );
    let owed = |expense: &Value, user: Uuid| {
        expense["splits"]
            .as_array()
            .expect("splits")
            .iter()
            .find(|s| s["user_id"] == user.to_string())
            .and_then(|s| s["amount_owed"].as_str().map(str::to_owned))
    };
    assert_eq!(owed(e, f.owner.id).as_deref(), Some("8.00"));
    assert_eq!(owed(e, f.member.id).as_deref(), Some("4.35"));
    let equal = find(&body["expenses"], &unsplit.to_string()).expect("the unsplit expense");
    assert_eq!(owed(equal, f.owner.id).as_deref(), Some("4.50"));
    assert_eq!(owed(equal, f.member.id).as_deref(), Some("4.50"));
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits")
            .await,
        4
    );
}

#[tokio::test]
async fn an_apps_expense_whose_splits_do_not_add_up_or_name_a_stranger_is_reported() {
    let f = flat().await;
    let stranger = f.app.user("Sam").await;
    let split = |user: Uuid, owed: &str| {
        json!({"id": Uuid::new_v4(), "expense_id": Uuid::new_v4(), "user_id": user,
                                                "amount_owed": owed, "is_settled": false, "settled_at": null})
    };
    let expense = |splits: Vec<Value>| {
        json!({"id": Uuid::new_v4(), "household_id": f.household, "created_by": "",
        "amount": "10.00", "description": "Rent", "category": "RENT", "split_type": "CUSTOM", "date": AT,
        "created_at": AT, "updated_at": AT, "splits": splits})
    };
    let body = f
        .sync(
            &f.member,
            0,
            json!({"expenses": {"created": [
                expense(vec![split(f.owner.id, "5.00"), split(f.member.id, "4.00")]),
                expense(vec![split(f.owner.id, "5.00"), split(stranger.id, "5.00")]),
                expense(vec![]),
            ]}}),
        )
        .await;
    let reasons: Vec<&str> = body["not_applied"]
        .as_array()
        .expect("not_applied")
        .iter()
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(reasons.len(), 3, "{body}");
    assert!(reasons.iter().all(|r| !r.is_empty()));
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM expenses").await, 0);
}

#[tokio::test]
async fn a_payload_of_500_entries_per_kind_is_applied_within_the_request_deadline() {
    let f = flat().await;
    let list = Uuid::new_v4();
    let todos: Vec<Value> = (0..500)
        .map(|n| json!({"id": Uuid::new_v4(), "household_id": f.household, "title": format!("Chore {n}"),
                        "description": null, "status": "PENDING", "priority": "MEDIUM", "due_date": "2025-11-17",
                        "assigned_to_id": null, "created_by": "", "completed_at": null,
                        "created_at": AT, "updated_at": AT}))
        .collect();
    let lists: Vec<Value> = std::iter::once(list)
        .chain((1..500).map(|_| Uuid::new_v4()))
        .map(|id| {
            json!({"id": id, "household_id": f.household, "name": "List", "description": null,
                         "status": "ACTIVE", "created_by": "", "created_at": AT, "updated_at": AT})
        })
        .collect();
    let items: Vec<Value> = (0..500)
        .map(|n| json!({"id": Uuid::new_v4(), "shopping_list_id": list, "name": format!("Item {n}"),
                        "quantity": 1.0, "unit": null, "category": null, "is_purchased": false, "price": null,
                        "created_by": "", "created_at": AT, "updated_at": AT}))
        .collect();
    let expenses: Vec<Value> = (0..500)
        .map(|n| json!({"id": Uuid::new_v4(), "household_id": f.household, "created_by": "",
                        "amount": format!("{}.5", n + 1), "description": "Shared", "category": "FOOD",
                        "split_type": "EQUAL", "date": AT, "created_at": AT, "updated_at": AT, "splits": []}))
        .collect();
    let (status, body) = f
        .app
        .post(
            "/api/v1/sync",
            &f.member,
            json!({"last_sync_timestamp": 0, "household_id": f.household, "changes": {
                "todos": {"created": todos}, "shopping_lists": {"created": lists},
                "shopping_items": {"created": items}, "expenses": {"created": expenses}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["not_applied"], json!([]));
    for (rows, table) in [
        ("todos", "todos"),
        ("shopping_lists", "shopping_lists"),
        ("shopping_items", "shopping_list_items"),
        ("expenses", "expenses"),
    ] {
        assert_eq!(body[rows].as_array().map(Vec::len), Some(500), "{rows}");
        assert_eq!(
            f.app
                .count(&format!("SELECT COUNT(*) || '' FROM {table}"))
                .await,
            500
        );
    }
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits")
            .await,
        1000
    );
}
