//! `Idempotency-Key` on writes: a repeat answers the first response and writes nothing,
//! across replicas too; another request under the same key is 422; a repeat while the
//! first runs is 409; a key is kept for 24 hours; a failure or a 401 keeps nothing, even
//! when the database refuses to forget the key at first.

use std::time::{Duration, Instant};

use poem::{Response, endpoint::BoxEndpoint, http::StatusCode};
use sea_orm::DbBackend;
use serde_json::{Value, json};

use crate::harness::{Flat, TestUser, flat, settings, state_for};

type Client = poem::test::TestClient<BoxEndpoint<'static, Response>>;

async fn post_with_key(
    f: &Flat,
    user: &TestUser,
    key: &str,
    body: Value,
) -> poem::test::TestResponse {
    post_with_key_to(&f.app.client, user, key, body).await
}

/// A second replica of the service on the flat's database.
async fn another_replica(f: &Flat) -> Client {
    let replica = state_for(settings(&f.app.db.url, &[])).await;
    poem::test::TestClient::new(flatmates::build_app(replica))
}

async fn post_with_key_to(
    client: &Client,
    user: &TestUser,
    key: &str,
    body: Value,
) -> poem::test::TestResponse {
    client
        .post("/api/v1/todos")
        .header("Authorization", format!("Bearer {}", user.token))
        .header("Idempotency-Key", key)
        .body_json(&body)
        .send()
        .await
}

async fn json_of(response: poem::test::TestResponse) -> Value {
    response.0.into_body().into_json().await.expect("JSON body")
}

#[tokio::test]
async fn repeated_write_answers_the_first_response_and_writes_once() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    let first = post_with_key(&f, &f.owner, "todo-1", body.clone()).await;
    first.assert_status(StatusCode::CREATED);
    assert!(!first.0.headers().contains_key("idempotent-replayed"));
    let first = json_of(first).await;
    let again = post_with_key(&f, &f.owner, "todo-1", body).await;
    again.assert_status(StatusCode::CREATED);
    again.assert_header("idempotent-replayed", "true");
    assert_eq!(json_of(again).await, first);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
}

#[tokio::test]
async fn same_key_with_another_request_is_422_and_writes_nothing() {
    let f = flat().await;
    post_with_key(
        &f,
        &f.owner,
        "todo-1",
        json!({"household_id": f.household, "title": "Bins"}),
    )
    .await;
    let other = post_with_key(
        &f,
        &f.owner,
        "todo-1",
        json!({"household_id": f.household, "title": "Dishes"}),
    )
    .await;
    other.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(other).await["error"], "validation_error");
    assert_eq!(f.app.db.strings("SELECT title FROM todos").await, ["Bins"]);
}

#[tokio::test]
async fn repeat_while_the_first_still_runs_is_409() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    post_with_key(&f, &f.owner, "todo-1", body.clone()).await;
    // As the row is while the first request has not answered yet.
    f.app
        .db
        .exec("UPDATE idempotency_keys SET status = NULL, response_body = NULL")
        .await;
    let repeat = post_with_key(&f, &f.owner, "todo-1", body).await;
    repeat.assert_status(StatusCode::CONFLICT);
    assert_eq!(json_of(repeat).await["error"], "conflict");
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
}

#[tokio::test]
async fn keys_older_than_a_day_are_forgotten() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    post_with_key(&f, &f.owner, "todo-1", body.clone()).await;
    f.app
        .db
        .exec("UPDATE idempotency_keys SET created_at = '2020-01-01 00:00:00'")
        .await;
    let later = post_with_key(&f, &f.owner, "todo-1", body).await;
    later.assert_status(StatusCode::CREATED);
    assert!(!later.0.headers().contains_key("idempotent-replayed"));
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 2);
}

#[tokio::test]
async fn the_purge_deletes_keys_past_a_day_and_keeps_younger_ones() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    post_with_key(&f, &f.owner, "old", body.clone()).await;
    post_with_key(&f, &f.owner, "recent", body).await;
    f.app
        .db
        .exec("UPDATE idempotency_keys SET created_at = '2020-01-01 00:00:00' WHERE key = 'old'")
        .await;

    let deleted = flatmates::idempotency::purge_expired(&f.app.state.db)
        .await
        .expect("purge");

    assert_eq!(deleted, 1);
    assert_eq!(
        f.app.db.strings("SELECT key FROM idempotency_keys").await,
        ["recent"]
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 2);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let f = flat().await;
    post_with_key(
        &f,
        &f.owner,
        "shared",
        json!({"household_id": f.household, "title": "Olive's"}),
    )
    .await;
    let theirs = post_with_key(
        &f,
        &f.member,
        "shared",
        json!({"household_id": f.household, "title": "Max's"}),
    )
    .await;
    theirs.assert_status(StatusCode::CREATED);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 2);
}

#[tokio::test]
async fn malformed_keys_are_422_and_write_nothing() {
    let f = flat().await;
    for key in [
        "has space".to_owned(),
        "k".repeat(256),
        "tab\there".to_owned(),
    ] {
        let response = post_with_key(
            &f,
            &f.owner,
            &key,
            json!({"household_id": f.household, "title": "Bins"}),
        )
        .await;
        response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            json_of(response).await["details"][0]["loc"],
            json!(["header", "Idempotency-Key"])
        );
    }
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
}

#[tokio::test]
async fn another_replica_on_the_same_database_answers_the_repeat() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    let first = json_of(post_with_key(&f, &f.owner, "todo-1", body.clone()).await).await;
    let repeat = post_with_key_to(&another_replica(&f).await, &f.owner, "todo-1", body).await;
    repeat.assert_status(StatusCode::CREATED);
    repeat.assert_header("idempotent-replayed", "true");
    assert_eq!(json_of(repeat).await, first);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
}

#[tokio::test]
async fn a_failed_request_keeps_nothing_so_the_key_can_be_retried() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    f.app
        .db
        .exec("ALTER TABLE todos RENAME TO todos_away")
        .await;
    let failed = post_with_key(&f, &f.owner, "todo-1", body.clone()).await;
    failed.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys")
            .await,
        0
    );
    f.app
        .db
        .exec("ALTER TABLE todos_away RENAME TO todos")
        .await;
    let retried = post_with_key(&f, &f.owner, "todo-1", body).await;
    retried.assert_status(StatusCode::CREATED);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
}

#[tokio::test]
async fn unauthenticated_writes_keep_no_key() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    for token in ["not-a-jwt", "a.b.c"] {
        let response = f
            .app
            .client
            .post("/api/v1/todos")
            .header("Authorization", format!("Bearer {token}"))
            .header("Idempotency-Key", format!("key-{token}"))
            .body_json(&body)
            .send()
            .await;
        response.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(response).await["error"], "unauthorized");
    }
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys")
            .await,
        0
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
}

#[tokio::test]
async fn reads_ignore_the_key() {
    let f = flat().await;
    let response = f
        .app
        .client
        .get(format!("/api/v1/todos?household_id={}", f.household))
        .header("Authorization", format!("Bearer {}", f.owner.token))
        .header("Idempotency-Key", "read-1")
        .send()
        .await;
    response.assert_status_is_ok();
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys")
            .await,
        0
    );
}

/// Makes the write fail (its table is away) and the key's release fail too (a trigger
/// refuses deletes), as when the database drops out while the request ends.
async fn fail_the_write_and_its_release(f: &Flat) {
    let db = &f.app.db;
    db.exec("ALTER TABLE todos RENAME TO todos_away").await;
    match db.backend() {
        DbBackend::Postgres => {
            db.exec(
                "CREATE FUNCTION keep_keys() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION 'keys are kept'; END $$",
            )
            .await;
            db.exec(
                "CREATE TRIGGER keep_keys BEFORE DELETE ON idempotency_keys \
                 FOR EACH ROW EXECUTE FUNCTION keep_keys()",
            )
            .await;
        }
        _ => {
            db.exec(
                "CREATE TRIGGER keep_keys BEFORE DELETE ON idempotency_keys \
                 BEGIN SELECT RAISE(ABORT, 'keys are kept'); END",
            )
            .await;
        }
    }
}

async fn let_the_database_recover(f: &Flat) {
    let db = &f.app.db;
    db.exec(match db.backend() {
        DbBackend::Postgres => "DROP TRIGGER keep_keys ON idempotency_keys",
        _ => "DROP TRIGGER keep_keys",
    })
    .await;
    db.exec("ALTER TABLE todos_away RENAME TO todos").await;
}

#[tokio::test]
async fn a_key_whose_release_failed_is_free_when_the_client_repeats_it() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    fail_the_write_and_its_release(&f).await;
    let failed = post_with_key(&f, &f.owner, "todo-1", body.clone()).await;
    failed.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys WHERE status IS NULL")
            .await,
        1,
        "the failed release left the claim in place"
    );
    let_the_database_recover(&f).await;
    let repeat = post_with_key(&f, &f.owner, "todo-1", body).await;
    repeat.assert_status(StatusCode::CREATED);
    assert!(!repeat.0.headers().contains_key("idempotent-replayed"));
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys WHERE status = 201")
            .await,
        1
    );
}

#[tokio::test]
async fn a_key_whose_release_failed_is_freed_for_other_replicas_once_the_database_answers() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    fail_the_write_and_its_release(&f).await;
    post_with_key(&f, &f.owner, "todo-1", body.clone())
        .await
        .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    let_the_database_recover(&f).await;
    // The replica that served the failed request releases the key in the background.
    let deadline = Instant::now() + Duration::from_secs(10);
    while f
        .app
        .count("SELECT COUNT(*) || '' FROM idempotency_keys")
        .await
        > 0
    {
        assert!(Instant::now() < deadline, "the key was never released");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let repeat = post_with_key_to(&another_replica(&f).await, &f.owner, "todo-1", body).await;
    repeat.assert_status(StatusCode::CREATED);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
}
