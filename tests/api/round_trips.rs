//! What a request costs in statements, counted by the driver (a count, not a timing):
//! production pays a network round trip for each. On PostgreSQL a write is one statement,
//! with its key's answer kept by a second; SQLite, which pays no round trips, runs a
//! write's pieces in a transaction and is not counted here.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Flat, TestUser, flat, on_postgres};

/// The statements `request` sends, after a warm-up request (the caller's row is read once
/// per `CALLER_CACHE_SECONDS`).
async fn statements_of<F, Fut>(f: &Flat, request: F) -> u64
where
    F: Fn(u32) -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    let (status, body) = request(0).await;
    assert!(status.is_success(), "{body}");
    let before = f.app.state.db.statements();
    let (status, body) = request(1).await;
    assert!(status.is_success(), "{body}");
    f.app.state.db.statements() - before
}

async fn with_key(
    f: &Flat,
    user: &TestUser,
    method: poem::http::Method,
    path: &str,
    key: String,
    body: Value,
) -> (StatusCode, Value) {
    let response = f
        .app
        .client
        .request(method, path)
        .header("Authorization", format!("Bearer {}", user.token))
        .header("Idempotency-Key", key)
        .body_json(&body)
        .send()
        .await;
    let status = response.0.status();
    let body = response
        .0
        .into_body()
        .into_json()
        .await
        .unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_write_with_a_key_is_two_statements_and_a_list_one() {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let f = flat().await;
    let third = f.app.user("Lou").await;
    f.app.join(&f.owner, &f.household, &third).await;
    let todo = f.todo(json!({"title": "Bins"})).await;
    let todo_path = format!("/api/v1/todos/{}", todo["id"].as_str().expect("id"));

    let create = statements_of(&f, |n| {
        with_key(
            &f,
            &f.owner,
            poem::http::Method::POST,
            "/api/v1/todos",
            format!("create-{n}"),
            json!({"household_id": f.household, "title": "Dishes"}),
        )
    })
    .await;
    assert_eq!(create, 2, "create todo with a key");

    let update = statements_of(&f, |n| {
        with_key(
            &f,
            &f.owner,
            poem::http::Method::PUT,
            &todo_path,
            format!("update-{n}"),
            json!({"title": format!("Bins {n}"), "status": "completed"}),
        )
    })
    .await;
    assert_eq!(update, 2, "update todo with a key");

    let expense = statements_of(&f, |n| {
        with_key(
            &f,
            &f.owner,
            poem::http::Method::POST,
            "/api/v1/expenses",
            format!("expense-{n}"),
            json!({"household_id": f.household, "amount": "30.00", "description": "Power",
                   "split_type": "custom", "splits": [
                       {"user_id": f.owner.id, "amount_owed": "10.00"},
                       {"user_id": f.member.id, "amount_owed": "10.00"},
                       {"user_id": third.id, "amount_owed": "10.00"}]}),
        )
    })
    .await;
    assert_eq!(expense, 3, "create expense with 3 splits and a key");

    let summary_path = format!("/api/v1/expenses/households/{}/summary", f.household);
    let summary = statements_of(&f, |_| f.app.get(&summary_path, &f.owner)).await;
    assert_eq!(summary, 2, "household summary");

    let list_path = format!("/api/v1/todos?household_id={}", f.household);
    let list = statements_of(&f, |_| f.app.get(&list_path, &f.owner)).await;
    assert_eq!(list, 1, "list todos");

    let without_key = statements_of(&f, |_| {
        f.app.post(
            "/api/v1/todos",
            &f.owner,
            json!({"household_id": f.household, "title": "Unkeyed"}),
        )
    })
    .await;
    assert_eq!(without_key, 1, "create todo without a key");
}
