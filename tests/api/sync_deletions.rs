//! Deletions travel through sync: a row deleted by REST, by another phone's sync, or with
//! its list or household reaches the other phones as an id in `deleted`; a client whose
//! last sync is older than deletions are kept gets everything and is told to replace its
//! copy.

use chrono::{Duration, Utc};
use poem::http::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::{
    harness::flat,
    sync::{find, stamp},
};

#[tokio::test]
async fn a_todo_deleted_by_rest_reaches_the_other_members_next_sync() {
    let f = flat().await;
    let todo = f.todo(json!({"title": "Bins"})).await;
    let first = f.sync(&f.member, 0, json!({})).await;
    assert!(find(&first["todos"], todo["id"].as_str().expect("id")).is_some());

    let (status, _) = f
        .app
        .delete(
            &format!("/api/v1/todos/{}", todo["id"].as_str().expect("id")),
            &f.owner,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let next = f.sync(&f.member, stamp(&first), json!({})).await;
    assert_eq!(next["deleted"]["todos"], json!([todo["id"]]), "{next}");
    assert_eq!(next["todos"], json!([]));
    assert_eq!(next["full_resync"], false);
}

#[tokio::test]
async fn a_list_deleted_by_one_phones_sync_takes_its_items_off_the_other_phone() {
    let f = flat().await;
    let (list, milk, eggs, expense) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let first = f
        .sync(
            &f.owner,
            0,
            json!({"shopping_lists": {"created": [{"id": list, "name": "Weekly"}]},
                   "shopping_items": {"created": [{"id": milk, "shopping_list_id": list, "name": "Milk"},
                                                  {"id": eggs, "shopping_list_id": list, "name": "Eggs"}]},
                   "expenses": {"created": [{"id": expense, "amount": "9.00", "description": "Bread"}]}}),
        )
        .await;
    assert_eq!(first["not_applied"], json!([]), "{first}");

    let deleting = f
        .sync(
            &f.owner,
            stamp(&first),
            json!({"shopping_lists": {"deleted": [list]}, "expenses": {"deleted": [expense]}}),
        )
        .await;
    assert_eq!(deleting["not_applied"], json!([]), "{deleting}");

    let other = f.sync(&f.member, stamp(&first), json!({})).await;
    assert_eq!(other["deleted"]["shopping_lists"], json!([list]), "{other}");
    let mut items: Vec<String> = other["deleted"]["shopping_items"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    items.sort();
    let mut expected = vec![milk.to_string(), eggs.to_string()];
    expected.sort();
    assert_eq!(items, expected);
    assert_eq!(other["deleted"]["expenses"], json!([expense]));
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM shopping_list_items")
            .await,
        0
    );
}

#[tokio::test]
async fn a_second_phone_deleting_a_row_already_deleted_is_applied_not_reported() {
    let f = flat().await;
    let todo = Uuid::new_v4();
    let first = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"created": [{"id": todo, "title": "Bins"}]}}),
        )
        .await;
    let since = stamp(&first);
    f.sync(&f.owner, since, json!({"todos": {"deleted": [todo]}}))
        .await;
    let second = f
        .sync(&f.member, since, json!({"todos": {"deleted": [todo]}}))
        .await;
    assert_eq!(second["not_applied"], json!([]), "{second}");
    assert_eq!(second["conflicts"], json!([]));
    assert_eq!(second["deleted"]["todos"], json!([todo]));
}

#[tokio::test]
async fn removing_a_household_records_every_synced_row_in_it_as_deleted() {
    let f = flat().await;
    let list = Uuid::new_v4();
    f.sync(
        &f.owner,
        0,
        json!({"todos": {"created": [{"id": Uuid::new_v4(), "title": "Bins"}]},
               "shopping_lists": {"created": [{"id": list, "name": "Weekly"}]},
               "shopping_items": {"created": [{"id": Uuid::new_v4(), "shopping_list_id": list, "name": "Milk"}]},
               "expenses": {"created": [{"id": Uuid::new_v4(), "amount": "4.00", "description": "Soap"}]}}),
    )
    .await;
    let (status, body) = f
        .app
        .delete(&format!("/api/v1/households/{}", f.household), &f.owner)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        f.app
            .db
            .strings("SELECT kind FROM sync_deletions ORDER BY kind")
            .await,
        ["expense", "shopping_item", "shopping_list", "todo"]
    );
}

#[tokio::test]
async fn a_sync_older_than_the_retention_gets_everything_and_is_told_to_replace_its_copy() {
    let f = flat().await;
    let (kept, gone) = (Uuid::new_v4(), Uuid::new_v4());
    let first = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"created": [{"id": kept, "title": "Kept"}, {"id": gone, "title": "Gone"}]}}),
        )
        .await;
    assert_eq!(first["full_resync"], true, "a first sync is everything");
    f.sync(
        &f.owner,
        stamp(&first),
        json!({"todos": {"deleted": [gone]}}),
    )
    .await;

    let long_ago = (Utc::now() - Duration::days(31)).timestamp_millis();
    let stale = f.sync(&f.member, long_ago, json!({})).await;
    assert_eq!(stale["full_resync"], true, "{stale}");
    assert_eq!(stale["deleted"]["todos"], json!([]));
    let ids: Vec<&str> = stale["todos"]
        .as_array()
        .expect("todos")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, [kept.to_string()]);

    let recent = (Utc::now() - Duration::days(29)).timestamp_millis();
    let fresh = f.sync(&f.member, recent, json!({})).await;
    assert_eq!(fresh["full_resync"], false);
    assert_eq!(fresh["deleted"]["todos"], json!([gone]));
}

#[tokio::test]
async fn the_purge_forgets_deletions_past_the_retention_and_keeps_younger_ones() {
    let f = flat().await;
    let (old, young) = (Uuid::new_v4(), Uuid::new_v4());
    let first = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"created": [{"id": old, "title": "Old"}, {"id": young, "title": "Young"}]}}),
        )
        .await;
    f.sync(
        &f.owner,
        stamp(&first),
        json!({"todos": {"deleted": [old]}}),
    )
    .await;
    f.app
        .db
        .exec("UPDATE sync_deletions SET deleted_at = '2020-01-01 00:00:00'")
        .await;
    f.sync(
        &f.owner,
        stamp(&first),
        json!({"todos": {"deleted": [young]}}),
    )
    .await;

    let purged = flatmates::service::changes::deletions::purge_expired(&f.app.state.db)
        .await
        .expect("purge");

    assert_eq!(purged, 1);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM sync_deletions")
            .await,
        1
    );
    let next = f.sync(&f.member, stamp(&first), json!({})).await;
    assert_eq!(next["deleted"]["todos"], json!([young]));
}
