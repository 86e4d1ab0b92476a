//! `Idempotency-Key` on writes: a repeat answers the first response and writes nothing,
//! across replicas and token refreshes too; another request under the same key is 422; a
//! repeat while the first runs is 409; a key is the user's, for one operation; a key is
//! kept for 24 hours; a failed write keeps nothing (the claim is made by the write itself);
//! a request without credentials is 401 and never touches the store.

use std::time::Duration;

use poem::{Response, endpoint::BoxEndpoint, http::StatusCode};
use serde_json::{Value, json};

use crate::harness::{Flat, TestUser, flat};

type Client = poem::test::TestClient<BoxEndpoint<'static, Response>>;

async fn post_with_key(
    f: &Flat,
    user: &TestUser,
    key: &str,
    body: Value,
) -> poem::test::TestResponse {
    post_with_key_to(&f.app.client, user, key, body).await
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

    let deleted = flatmates::db::keys::purge_expired(&f.app.state.db)
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

/// The same user signed in again, or with a refreshed token: the retry of a write that
/// timed out is the same request, whatever token carries it.
#[tokio::test]
async fn the_same_key_from_a_second_token_of_the_same_user_replays_and_writes_once() {
    let f = flat().await;
    let token = flatmates::auth::jwt::issue(
        f.owner.id,
        &f.app.state.settings.secret_key,
        Duration::from_secs(7200),
    )
    .expect("token");
    assert_ne!(token, f.owner.token);
    let refreshed = TestUser {
        id: f.owner.id,
        email: f.owner.email.clone(),
        token,
    };
    let body = json!({"household_id": f.household, "title": "Bins"});
    let first = post_with_key(&f, &f.owner, "todo-1", body.clone()).await;
    first.assert_status(StatusCode::CREATED);
    let first = json_of(first).await;
    let retry = post_with_key(&f, &refreshed, "todo-1", body).await;
    retry.assert_status(StatusCode::CREATED);
    retry.assert_header("idempotent-replayed", "true");
    assert_eq!(json_of(retry).await, first);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 1);
}

/// A key names one request of one operation: the same key on another operation is
/// another key, not a mismatch.
#[tokio::test]
async fn the_same_key_on_another_operation_is_another_key() {
    let f = flat().await;
    let created = post_with_key(
        &f,
        &f.owner,
        "k-1",
        json!({"household_id": f.household, "title": "Bins"}),
    )
    .await;
    created.assert_status(StatusCode::CREATED);
    let id = json_of(created).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let updated = f
        .app
        .client
        .put(format!("/api/v1/todos/{id}"))
        .header("Authorization", format!("Bearer {}", f.owner.token))
        .header("Idempotency-Key", "k-1")
        .body_json(&json!({"title": "Bins out"}))
        .send()
        .await;
    updated.assert_status_is_ok();
    assert!(!updated.0.headers().contains_key("idempotent-replayed"));
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        ["Bins out"]
    );
    // Within the one operation, another request under the key is still 422.
    let other = f
        .app
        .client
        .put(format!("/api/v1/todos/{id}"))
        .header("Authorization", format!("Bearer {}", f.owner.token))
        .header("Idempotency-Key", "k-1")
        .body_json(&json!({"title": "Dishes"}))
        .send()
        .await;
    other.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

/// Without credentials a write is 401 whatever key it carries, valid or not, one at a
/// time or ten at once, and the key store is never written.
#[tokio::test]
async fn requests_without_credentials_are_401_and_never_touch_the_key_store() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    let without = |key: &str| {
        f.app
            .client
            .post("/api/v1/todos")
            .header("Idempotency-Key", key)
            .body_json(&body)
            .send()
    };
    for key in ["one-key", "has space"] {
        let response = without(key).await;
        response.assert_status(StatusCode::UNAUTHORIZED);
        assert_eq!(json_of(response).await["error"], "unauthorized");
    }
    let keys = "SELECT COUNT(*) || '' FROM idempotency_keys";
    let done = std::sync::atomic::AtomicBool::new(false);
    let watch = async {
        let mut most = 0;
        while !done.load(std::sync::atomic::Ordering::Acquire) {
            most = most.max(f.app.count(keys).await);
        }
        most
    };
    let ten = async {
        let answers = futures_util::future::join_all((0..10).map(|_| without("one-key"))).await;
        done.store(true, std::sync::atomic::Ordering::Release);
        answers
    };
    let (answers, most) = tokio::join!(ten, watch);
    for response in answers {
        response.assert_status(StatusCode::UNAUTHORIZED);
    }
    assert_eq!(most, 0, "a key was claimed while the requests ran");
    for (method, path) in [
        (
            poem::http::Method::DELETE,
            format!("/api/v1/shopping-items/{}", uuid::Uuid::new_v4()),
        ),
        (
            poem::http::Method::PATCH,
            format!("/api/v1/todos/{}/status", uuid::Uuid::new_v4()),
        ),
    ] {
        let response = f
            .app
            .client
            .request(method, path)
            .header("Idempotency-Key", "one-key")
            .body_json(&json!({"status": "completed"}))
            .send()
            .await;
        response.assert_status(StatusCode::UNAUTHORIZED);
    }
    assert_eq!(f.app.count(keys).await, 0);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
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
    let repeat = post_with_key_to(&f.app.replica(&[]).await, &f.owner, "todo-1", body).await;
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

/// The claim is made by the write's own statement: a write that fails (here its table is
/// away, as when the database drops out under it) leaves no claim to release, on this
/// replica or any other, and the repeat lands once wherever it is sent.
#[tokio::test]
async fn a_failed_write_leaves_no_claim_so_its_repeat_lands_once_on_any_replica() {
    let f = flat().await;
    let body = json!({"household_id": f.household, "title": "Bins"});
    f.app
        .db
        .exec("ALTER TABLE todos RENAME TO todos_away")
        .await;
    post_with_key(&f, &f.owner, "todo-1", body.clone())
        .await
        .assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys")
            .await,
        0,
        "the failed write left a claim"
    );
    f.app
        .db
        .exec("ALTER TABLE todos_away RENAME TO todos")
        .await;
    let repeat = post_with_key_to(&f.app.replica(&[]).await, &f.owner, "todo-1", body).await;
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
