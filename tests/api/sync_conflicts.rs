//! Conflicts: an offline update or delete of a row that changed on the server after the
//! client's last sync, or of a row deleted there, loses to the server's version (the
//! server wins), and the answer says so with both versions' `updated_at`.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{Flat, flat},
    sync::{find, stamp},
};

/// A pause past the millisecond `server_timestamp` names, so that what follows is later
/// than it.
async fn next_millisecond() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// One row of every kind, created by the owner; answers their ids (todo, list, item,
/// expense) and the sync's `server_timestamp`.
async fn one_of_each(f: &Flat) -> ([Uuid; 4], i64) {
    let ids = [
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    ];
    let [todo, list, item, expense] = ids;
    let body = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"created": [{"id": todo, "title": "Bins"}]},
                   "shopping_lists": {"created": [{"id": list, "name": "Weekly"}]},
                   "shopping_items": {"created": [{"id": item, "shopping_list_id": list, "name": "Milk"}]},
                   "expenses": {"created": [{"id": expense, "amount": "10.00", "description": "Bread"}]}}),
        )
        .await;
    assert_eq!(body["not_applied"], json!([]), "{body}");
    next_millisecond().await;
    (ids, stamp(&body))
}

/// Edits of every kind's row, each text set to `text`, stamped `updated_at`.
fn edits(ids: [Uuid; 4], text: &str, updated_at: &str) -> Value {
    let [todo, list, item, expense] = ids;
    json!({"todos": {"updated": [{"id": todo, "title": text, "updated_at": updated_at}]},
           "shopping_lists": {"updated": [{"id": list, "name": text, "updated_at": updated_at}]},
           "shopping_items": {"updated": [{"id": item, "shopping_list_id": list, "name": text, "updated_at": updated_at}]},
           "expenses": {"updated": [{"id": expense, "description": text, "updated_at": updated_at}]}})
}

#[tokio::test]
async fn two_members_offline_edits_of_the_same_rows_keep_the_first_synced_and_report_the_second() {
    let f = flat().await;
    let (ids, since) = one_of_each(&f).await;

    let first = f
        .sync(
            &f.owner,
            since,
            edits(ids, "Owner's", "2025-11-17T10:20:00Z"),
        )
        .await;
    assert_eq!(first["not_applied"], json!([]), "{first}");
    assert_eq!(first["conflicts"], json!([]));

    let second = f
        .sync(
            &f.member,
            since,
            edits(ids, "Member's", "2025-11-17T10:21:00.000Z"),
        )
        .await;
    let conflicts = second["conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 4, "{second}");
    for (kind, rows, id) in [
        ("todo", "todos", ids[0]),
        ("shopping_list", "shopping_lists", ids[1]),
        ("shopping_item", "shopping_items", ids[2]),
        ("expense", "expenses", ids[3]),
    ] {
        let conflict = conflicts
            .iter()
            .find(|c| c["entity_type"] == kind)
            .unwrap_or_else(|| panic!("a {kind} conflict in {second}"));
        let server_row = find(&first[rows], &id.to_string()).expect("the owner's row");
        assert_eq!(conflict["entity_id"], id.to_string());
        assert_eq!(conflict["conflict_type"], "UPDATE_UPDATE");
        assert_eq!(conflict["local_version"], "2025-11-17T10:21:00.000000Z");
        assert_eq!(conflict["server_version"], server_row["updated_at"]);
        let answered = find(&second[rows], &id.to_string()).expect("the server's row comes back");
        assert_eq!(answered["updated_at"], server_row["updated_at"]);
    }
    let not_applied = second["not_applied"].as_array().expect("not_applied");
    assert_eq!(not_applied.len(), 4);
    assert!(not_applied.iter().all(|e| {
        e["operation"] == "update"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("changed on the server"))
    }));
    for sql in [
        "SELECT title FROM todos",
        "SELECT name FROM shopping_lists",
        "SELECT name FROM shopping_list_items",
        "SELECT description FROM expenses",
    ] {
        assert_eq!(f.app.db.strings(sql).await, ["Owner's"], "{sql}");
    }
}

#[tokio::test]
async fn an_offline_delete_of_a_row_edited_since_keeps_the_row_and_reports_it() {
    let f = flat().await;
    let (ids, since) = one_of_each(&f).await;
    let todo = ids[0];
    f.sync(
        &f.owner,
        since,
        json!({"todos": {"updated": [{"id": todo, "title": "Edited"}]}}),
    )
    .await;

    let body = f
        .sync(&f.member, since, json!({"todos": {"deleted": [todo]}}))
        .await;
    assert_eq!(
        body["conflicts"][0]["conflict_type"], "DELETE_UPDATE",
        "{body}"
    );
    assert_eq!(
        body["conflicts"][0]["local_version"],
        chrono::DateTime::from_timestamp_millis(since)
            .expect("a moment")
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "a delete carries no version: its last sync stands for it"
    );
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        ["Edited"]
    );
}

#[tokio::test]
async fn an_offline_edit_of_a_row_deleted_on_the_server_is_a_conflict_and_does_not_bring_it_back() {
    let f = flat().await;
    let (ids, since) = one_of_each(&f).await;
    let todo = ids[0];
    f.sync(&f.owner, since, json!({"todos": {"deleted": [todo]}}))
        .await;

    // Everything a create needs: were the id unknown, this edit would create the row.
    let body = f
        .sync(
            &f.member,
            since,
            json!({"todos": {"updated": [{"id": todo, "title": "Still here?", "updated_at": "2025-11-17T10:21:00Z"}],
                             "created": [{"id": todo, "title": "Sent again"}]}}),
        )
        .await;
    let types: Vec<&str> = body["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .filter_map(|c| c["conflict_type"].as_str())
        .collect();
    assert_eq!(types, ["CREATE_DELETE", "UPDATE_DELETE"], "{body}");
    assert_eq!(body["not_applied"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["deleted"]["todos"], json!([todo]));
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
}

#[tokio::test]
async fn a_phone_editing_its_own_rows_again_has_no_conflict() {
    let f = flat().await;
    let (ids, since) = one_of_each(&f).await;
    let body = f
        .sync(&f.owner, since, edits(ids, "Again", "2025-11-17T10:20:00Z"))
        .await;
    assert_eq!(body["conflicts"], json!([]), "{body}");
    assert_eq!(body["not_applied"], json!([]));

    // Created and edited in one sync: the edit is of the sync's own row.
    let fresh = Uuid::new_v4();
    let body = f
        .sync(
            &f.member,
            stamp(&body),
            json!({"todos": {"created": [{"id": fresh, "title": "New"}],
                             "updated": [{"id": fresh, "title": "New, edited"}]}}),
        )
        .await;
    assert_eq!(body["conflicts"], json!([]), "{body}");
    assert_eq!(
        find(&body["todos"], &fresh.to_string()).map(|t| t["title"].clone()),
        Some(json!("New, edited"))
    );
}

/// The old backend's own suite syncs an update and a delete of rows it just made with
/// `last_sync_timestamp: 0`, the app's first sync: with no earlier sync to weigh them
/// against, both are applied.
#[tokio::test]
async fn a_first_sync_applies_an_update_and_a_delete_of_rows_the_server_has() {
    let f = flat().await;
    let kept = f.todo(json!({"title": "Before update"})).await;
    let gone = f.todo(json!({"title": "To be deleted"})).await;
    next_millisecond().await;

    let body = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"updated": [{"id": kept["id"], "title": "After update", "status": "COMPLETED"}],
                             "deleted": [gone["id"]]}}),
        )
        .await;
    assert_eq!(body["conflicts"], json!([]), "{body}");
    assert_eq!(body["not_applied"], json!([]));
    let todos = body["todos"].as_array().expect("todos");
    assert_eq!(todos.len(), 1, "{body}");
    assert_eq!(todos[0]["id"], kept["id"]);
    assert_eq!(
        (todos[0]["title"].as_str(), todos[0]["status"].as_str()),
        (Some("After update"), Some("completed"))
    );
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        ["After update"]
    );
}

/// Without a base, the entry's own `updated_at` is all there is to weigh: an edit made
/// before the server's row last changed loses to it, one made after is applied.
#[tokio::test]
async fn a_first_sync_edit_older_than_the_servers_row_is_a_conflict_and_a_newer_one_applies() {
    let f = flat().await;
    let todo = f.todo(json!({"title": "Server's"})).await;
    let changed = todo["updated_at"].as_str().expect("updated_at").to_owned();

    let stale = f
        .sync(
            &f.member,
            0,
            json!({"todos": {"updated": [{"id": todo["id"], "title": "Phone's", "updated_at": "2020-01-01T00:00:00Z"}]}}),
        )
        .await;
    let conflicts = stale["conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{stale}");
    assert_eq!(conflicts[0]["conflict_type"], "UPDATE_UPDATE");
    assert_eq!(conflicts[0]["local_version"], "2020-01-01T00:00:00.000000Z");
    assert_eq!(conflicts[0]["server_version"], changed);
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        ["Server's"]
    );

    let newer = f
        .sync(
            &f.member,
            0,
            json!({"todos": {"updated": [{"id": todo["id"], "title": "Phone's", "updated_at": "2099-01-01T00:00:00Z"}]}}),
        )
        .await;
    assert_eq!(newer["conflicts"], json!([]), "{newer}");
    assert_eq!(newer["not_applied"], json!([]));
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        ["Phone's"]
    );
}

/// A deletion is evidence enough on a first sync too: an edit of a row deleted on the
/// server does not bring it back.
#[tokio::test]
async fn a_first_sync_edit_of_a_row_deleted_on_the_server_is_still_a_conflict() {
    let f = flat().await;
    let todo = f.todo(json!({"title": "Bins"})).await;
    let (status, _) = f
        .app
        .delete(
            &format!("/api/v1/todos/{}", todo["id"].as_str().expect("id")),
            &f.owner,
        )
        .await;
    assert_eq!(status, 204);
    let body = f
        .sync(
            &f.member,
            0,
            json!({"todos": {"updated": [{"id": todo["id"], "title": "Bins", "updated_at": "2099-01-01T00:00:00Z"}]}}),
        )
        .await;
    assert_eq!(
        body["conflicts"][0]["conflict_type"], "UPDATE_DELETE",
        "{body}"
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
}
