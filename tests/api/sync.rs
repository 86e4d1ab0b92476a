//! Offline sync: round trips with the Android app's upper-case enums, updates, deletes,
//! bad entries skipped, and another household's rows untouchable whatever ids are sent.

use poem::http::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Flat, TestApp, TestUser, flat};

impl Flat {
    pub(crate) async fn sync(&self, user: &TestUser, since: i64, changes: Value) -> Value {
        let (status, body) = self
            .app
            .post("/api/v1/sync", user, json!({"last_sync_timestamp": since, "household_id": self.household, "changes": changes}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// The answer's `server_timestamp`, to send back as the next `last_sync_timestamp`.
pub(crate) fn stamp(body: &Value) -> i64 {
    body["server_timestamp"].as_i64().expect("server_timestamp")
}

pub(crate) fn find<'a>(rows: &'a Value, id: &str) -> Option<&'a Value> {
    rows.as_array()
        .expect("array")
        .iter()
        .find(|r| r["id"] == id)
}

#[tokio::test]
async fn created_rows_round_trip_with_upper_case_enums_in_and_lower_case_out() {
    let f = flat().await;
    let (todo, list, item, expense) = (
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
                "todos": {"created": [{"id": todo, "title": "Bins", "status": "IN_PROGRESS", "priority": "HIGH",
                                        "due_date": "2030-01-01T09:00:00+01:00", "household_id": Uuid::new_v4(), "created_by": f.owner.id}]},
                "shopping_lists": {"created": [{"id": list, "name": "Weekly", "status": "ACTIVE"}]},
                "shopping_items": {"created": [{"id": item, "shopping_list_id": list, "name": "Milk", "quantity": 2, "price": "1.10", "is_purchased": true}]},
                "expenses": {"created": [{"id": expense, "amount": "10.01", "description": "Bread", "category": "GROCERIES"}]}
            }),
        )
        .await;
    assert!(body["server_timestamp"].as_i64().is_some_and(|t| t > 0));
    assert_eq!(body["conflicts"], json!([]));
    let t = find(&body["todos"], &todo.to_string()).expect("the todo comes back");
    assert_eq!(
        (t["status"].as_str(), t["priority"].as_str()),
        (Some("in_progress"), Some("high"))
    );
    assert_eq!(t["household_id"], f.household.as_str(), "household forced");
    assert_eq!(t["created_by"], f.member.id.to_string(), "creator forced");
    assert_eq!(t["due_date"], "2030-01-01T08:00:00.000000Z");
    let l = find(&body["shopping_lists"], &list.to_string()).expect("the list");
    assert_eq!(l["status"], "active");
    let i = find(&body["shopping_items"], &item.to_string()).expect("the item");
    assert_eq!(
        (i["price"].as_str(), i["is_purchased"].as_bool()),
        (Some("1.10"), Some(true))
    );
    let e = find(&body["expenses"], &expense.to_string()).expect("the expense");
    assert_eq!(
        (e["amount"].as_str(), e["category"].as_str()),
        (Some("10.01"), Some("groceries"))
    );
    let mut owed: Vec<&str> = e["splits"]
        .as_array()
        .expect("splits")
        .iter()
        .filter_map(|s| s["amount_owed"].as_str())
        .collect();
    owed.sort();
    assert_eq!(owed, ["5.00", "5.01"]);
    assert_eq!(
        f.app
            .db
            .strings("SELECT status || '/' || priority FROM todos")
            .await,
        ["in_progress/high"]
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items WHERE is_purchased = true")
            .await,
        1
    );
}

#[tokio::test]
async fn updates_after_the_last_sync_apply_and_deletes_remove_rows() {
    let f = flat().await;
    let (todo, gone) = (Uuid::new_v4(), Uuid::new_v4());
    let first = f.sync(&f.owner, 0, json!({"todos": {"created": [{"id": todo, "title": "Bins"}, {"id": gone, "title": "Old"}]}})).await;
    let body = f
        .sync(
            &f.member,
            first["server_timestamp"].as_i64().expect("timestamp"),
            json!({"todos": {"updated": [{"id": todo, "title": "Bins out", "status": "COMPLETED", "assigned_to_id": f.member.id}],
                             "deleted": [gone]}}),
        )
        .await;
    let t = find(&body["todos"], &todo.to_string()).expect("the todo");
    assert_eq!(
        (t["title"].as_str(), t["status"].as_str()),
        (Some("Bins out"), Some("completed"))
    );
    assert!(t["completed_at"].as_str().is_some());
    assert_eq!(t["assigned_to_id"], f.member.id.to_string());
    assert!(find(&body["todos"], &gone.to_string()).is_none());
    assert_eq!(body["deleted"]["todos"], json!([gone]));
    assert_eq!(body["full_resync"], false);
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        ["Bins out"]
    );
}

#[tokio::test]
async fn bad_entries_are_skipped_and_good_ones_kept() {
    let f = flat().await;
    let good = Uuid::new_v4();
    let stranger = f.app.user("Sam").await;
    let body = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {
                "created": [
                    {"id": "not-a-uuid", "title": "x"},
                    {"id": Uuid::new_v4()},
                    {"id": Uuid::new_v4(), "title": "x", "status": "DONE"},
                    {"id": Uuid::new_v4(), "title": "x", "assigned_to_id": stranger.id},
                    {"id": Uuid::new_v4(), "title": "x".repeat(201)},
                    {"id": good, "title": "Good"}
                ],
                "updated": [{"id": Uuid::new_v4(), "status": "COMPLETED"}],
                "deleted": ["nope", Uuid::new_v4().to_string()]
            },
            "shopping_items": {"created": [{"id": Uuid::new_v4(), "shopping_list_id": Uuid::new_v4(), "name": "orphan"},
                                           {"id": Uuid::new_v4(), "name": "no list"}]},
            "expenses": {"created": [{"id": Uuid::new_v4(), "amount": "-5", "description": "neg"},
                                     {"id": Uuid::new_v4(), "amount": "abc", "description": "nan"}]}}),
        )
        .await;
    assert_eq!(body["todos"].as_array().map(Vec::len), Some(1));
    assert_eq!(f.app.db.strings("SELECT title FROM todos").await, ["Good"]);
    // Every entry but the good one: 5 creates, the update, 2 deletes, 2 items, 2 expenses.
    let not_applied = body["not_applied"].as_array().expect("not_applied");
    assert_eq!(not_applied.len(), 12, "{body}");
    assert!(
        not_applied
            .iter()
            .all(|entry| entry["reason"].as_str().is_some_and(|r| !r.is_empty()))
    );
    let reason_for = |operation: &str, id: &str| {
        not_applied
            .iter()
            .find(|e| e["operation"] == operation && e["entity_id"] == id)
            .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        reason_for("delete", "nope").as_deref(),
        Some("id: not a UUID")
    );
    assert!(
        not_applied
            .iter()
            .any(|e| e["entity_type"] == "todo" && e["reason"] == "title: at most 200 characters"),
        "{body}"
    );
    assert!(
        not_applied
            .iter()
            .any(|e| e["reason"] == "Assigned user is not a member of this household"),
        "{body}"
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items")
            .await,
        0
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM expenses").await, 0);
}

#[tokio::test]
async fn rows_changed_before_the_last_sync_are_not_sent_again() {
    let f = flat().await;
    let first = Uuid::new_v4();
    let body = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"created": [{"id": first, "title": "First"}]}}),
        )
        .await;
    let since = body["server_timestamp"].as_i64().expect("timestamp");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = Uuid::new_v4();
    let body = f
        .sync(
            &f.member,
            since,
            json!({"todos": {"created": [{"id": second, "title": "Second"}]}}),
        )
        .await;
    let ids: Vec<&str> = body["todos"]
        .as_array()
        .expect("todos")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, [second.to_string()]);
}

#[tokio::test]
async fn another_households_rows_cannot_be_touched_whatever_ids_are_sent() {
    let f = flat().await;
    let intruder = f.app.user("Ivan").await;
    let theirs = f.app.household(&intruder, "Flat 2").await;
    let (todo, list, item, expense) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    f.sync(
        &f.owner,
        0,
        json!({"todos": {"created": [{"id": todo, "title": "Ours"}]},
               "shopping_lists": {"created": [{"id": list, "name": "Ours"}]},
               "shopping_items": {"created": [{"id": item, "shopping_list_id": list, "name": "Ours"}]},
               "expenses": {"created": [{"id": expense, "amount": 9, "description": "Ours"}]}}),
    )
    .await;
    let before = snapshot(&f.app).await;
    let (status, body) = f
        .app
        .post(
            "/api/v1/sync",
            &intruder,
            json!({"last_sync_timestamp": 0, "household_id": theirs, "changes": {
                "todos": {"created": [{"id": todo, "title": "Hijacked"}], "updated": [{"id": todo, "title": "Hijacked"}], "deleted": [todo]},
                "shopping_lists": {"created": [{"id": list, "name": "Hijacked"}], "updated": [{"id": list, "name": "Hijacked"}], "deleted": [list]},
                "shopping_items": {"created": [{"id": Uuid::new_v4(), "shopping_list_id": list, "name": "Planted"}, {"id": item, "shopping_list_id": list, "name": "Hijacked"}],
                                   "updated": [{"id": item, "name": "Hijacked"}], "deleted": [item]},
                "expenses": {"created": [{"id": expense, "amount": 1, "description": "Hijacked"}], "updated": [{"id": expense, "amount": 1}], "deleted": [expense]}
            }}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["not_applied"].as_array().map(Vec::len),
        Some(13),
        "every entry naming another household's row is refused: {body}"
    );
    assert!(
        !body.to_string().contains("Ours"),
        "another household's rows leaked: {body}"
    );
    assert_eq!(snapshot(&f.app).await, before);
    let (status, _) = f
        .app
        .post(
            "/api/v1/sync",
            &intruder,
            json!({"last_sync_timestamp": 0, "household_id": f.household}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn malformed_sync_requests_are_422() {
    let f = flat().await;
    for bad in [
        json!({"household_id": f.household}),
        json!({"last_sync_timestamp": -1, "household_id": f.household}),
        json!({"last_sync_timestamp": 0}),
        json!({"last_sync_timestamp": 0, "household_id": f.household, "changes": {"todos": {"created": [1, 2]}}}),
    ] {
        let (status, body) = f.app.post("/api/v1/sync", &f.owner, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"], "validation_error");
    }
}

async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT title FROM todos ORDER BY 1",
        "SELECT name FROM shopping_lists ORDER BY 1",
        "SELECT name FROM shopping_list_items ORDER BY 1",
        "SELECT description || ' ' || amount FROM expenses ORDER BY 1",
    ] {
        rows.extend(app.db.strings(sql).await);
    }
    rows
}

#[tokio::test]
async fn the_apps_own_payload_with_a_date_only_due_date_and_an_edit_of_a_never_synced_row_is_kept()
{
    let f = flat().await;
    let (created, edited) = (Uuid::new_v4(), Uuid::new_v4());
    // As the Android app's SyncWorker builds it: every field of its DTO, `created_by` empty,
    // the due date a `LocalDate`, and an offline edit of a row it never synced under `updated`.
    let body = f
        .sync(
            &f.member,
            0,
            json!({"todos": {
                "created": [{"id": created, "household_id": f.household, "title": "Bins", "description": null,
                             "status": "PENDING", "priority": "MEDIUM", "due_date": "2025-11-17", "assigned_to_id": null,
                             "created_by": "", "completed_at": null, "created_at": "2025-11-17T10:20:30.123Z",
                             "updated_at": "2025-11-17T10:20:30.123Z"}],
                "updated": [{"id": edited, "household_id": f.household, "title": "Edited offline before the first sync",
                             "description": null, "status": "COMPLETED", "priority": "HIGH", "due_date": null,
                             "assigned_to_id": null, "created_by": "", "completed_at": null,
                             "created_at": "2025-11-17T10:20:30.123Z", "updated_at": "2025-11-17T10:21:00.000Z"}],
                "deleted": []}}),
        )
        .await;
    assert_eq!(body["not_applied"], json!([]), "{body}");
    let bins = find(&body["todos"], &created.to_string()).expect("the created todo comes back");
    assert_eq!(bins["due_date"], "2025-11-17T00:00:00.000000Z");
    assert_eq!(bins["created_by"], f.member.id.to_string());
    let offline = find(&body["todos"], &edited.to_string()).expect("the offline edit is created");
    assert_eq!(
        (
            offline["title"].as_str(),
            offline["status"].as_str(),
            offline["priority"].as_str()
        ),
        (
            Some("Edited offline before the first sync"),
            Some("completed"),
            Some("high")
        )
    );
    assert!(offline["completed_at"].as_str().is_some());
    assert_eq!(
        f.app
            .db
            .strings("SELECT title FROM todos ORDER BY title")
            .await,
        ["Bins", "Edited offline before the first sync"]
    );
}

#[tokio::test]
async fn an_update_of_an_unknown_id_without_what_a_create_needs_is_reported_not_found() {
    let f = flat().await;
    let unknown = Uuid::new_v4();
    let body = f
        .sync(
            &f.owner,
            0,
            json!({"shopping_items": {"updated": [{"id": unknown, "name": "Milk"}]}}),
        )
        .await;
    assert_eq!(
        body["not_applied"],
        json!([{"entity_type": "shopping_item", "entity_id": unknown.to_string(),
                "operation": "update", "reason": "Item not found"}])
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items")
            .await,
        0
    );
}
