//! What a serverless PostgreSQL does to its clients, staged through the fault proxy: a
//! waking compute, refused connections, terminated backends, and an outage longer than
//! the retry budget. PostgreSQL only.

use std::time::{Duration, Instant};

use flatmates::{error::ApiError, state::AppState};
use poem::{Endpoint, IntoResponse, Request, Response, http::StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value;

use crate::{
    harness::{TestApp, postgres_url},
    proxy::{app_behind_proxy, app_behind_proxy_over},
};

const WAKE: Duration = Duration::from_secs(6);

async fn deep_health_after(app: &TestApp) -> (StatusCode, Duration) {
    let started = Instant::now();
    let response = app.client.get("/health/deep").send().await;
    (response.0.status(), started.elapsed())
}

async fn insert_and_commit(state: &AppState, id: uuid::Uuid) -> Result<(), sea_orm::DbErr> {
    let txn = state.db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO users (id, email, full_name, google_id) VALUES ($1, $2, 'W', $2)",
        [id.into(), format!("{id}@example.com").into()],
    ))
    .await?;
    txn.commit().await
}

async fn users_with_id(app: &TestApp, id: uuid::Uuid) -> usize {
    app.db
        .strings(&format!("SELECT id::text FROM users WHERE id = '{id}'"))
        .await
        .len()
}

#[tokio::test]
async fn request_while_the_database_wakes_waits_and_succeeds() {
    let Some((app, proxy)) = app_behind_proxy(&[]).await else {
        return;
    };
    proxy.cut_all();
    proxy.hold_new_connections(WAKE);
    let (status, took) = deep_health_after(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        took >= WAKE - Duration::from_millis(500),
        "answered before the database woke: {took:?}"
    );
}

#[tokio::test]
async fn write_whose_commit_answer_is_lost_is_acknowledged_and_stored_once() {
    let Some((app, proxy)) = app_behind_proxy_over("?sslmode=disable", &[]).await else {
        return;
    };
    let owner = app.user("Owner").await;
    // Creating a household is a transaction; its COMMIT's answer is lost.
    proxy.lose_next_answer_to(b"COMMIT");
    let (status, body) = app
        .post(
            "/api/v1/households",
            &owner,
            serde_json::json!({"name": "Flat"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "Flat");
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM households WHERE name = 'Flat'")
            .await,
        1
    );
}

/// A write that is one statement, sent without a key: its receipt, made in the same
/// statement, tells the service that it committed though the answer was lost.
#[tokio::test]
async fn write_statement_whose_answer_is_lost_is_acknowledged_and_stored_once() {
    let Some((app, proxy)) = app_behind_proxy_over("?sslmode=disable", &[]).await else {
        return;
    };
    let owner = app.user("Owner").await;
    let household = app.household(&owner, "Flat").await;
    const TITLE: &str = "answer-lost-9b2d";
    proxy.lose_next_answer_to(TITLE.as_bytes());
    let (status, body) = app
        .post(
            "/api/v1/todos",
            &owner,
            serde_json::json!({"household_id": household, "title": TITLE}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(app.state.db.retries() > 0, "the statement was sent again");
    assert_eq!(body["title"], TITLE);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) || '' FROM todos WHERE title = '{TITLE}'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn write_whose_idempotency_claim_answer_is_lost_runs_and_is_kept_once() {
    let Some((app, proxy)) = app_behind_proxy_over("?sslmode=disable", &[]).await else {
        return;
    };
    let owner = app.user("Owner").await;
    let household = app.household(&owner, "Flat").await;
    // The key is a parameter of the claim's INSERT, the first statement that carries it:
    // the claim is stored, and the retried INSERT finds it.
    const KEY: &str = "claim-answer-lost-7f3a";
    proxy.lose_next_answer_to(KEY.as_bytes());
    let response = app
        .client
        .post("/api/v1/todos")
        .header("Authorization", format!("Bearer {}", owner.token))
        .header("Idempotency-Key", KEY)
        .body_json(&serde_json::json!({"household_id": household, "title": "Bins"}))
        .send()
        .await;
    response.assert_status(StatusCode::CREATED);
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM todos WHERE title = 'Bins'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM idempotency_keys WHERE status = 201")
            .await,
        1
    );
}

#[tokio::test]
async fn request_while_connections_are_refused_waits_and_succeeds() {
    let Some((app, proxy)) = app_behind_proxy(&[]).await else {
        return;
    };
    proxy.cut_all();
    proxy.refuse_for(WAKE);
    let (status, took) = deep_health_after(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        took >= WAKE - Duration::from_millis(500),
        "answered while refused: {took:?}"
    );
    assert!(app.state.db.retries() > 0, "refusals were retried");
}

#[tokio::test]
async fn write_begins_once_the_database_wakes_and_lands_once() {
    let Some((app, proxy)) = app_behind_proxy(&[]).await else {
        return;
    };
    proxy.cut_all();
    proxy.refuse_for(Duration::from_secs(2));
    let id = uuid::Uuid::new_v4();
    insert_and_commit(&app.state, id)
        .await
        .expect("write after refusals");
    assert_eq!(users_with_id(&app, id).await, 1);
}

#[tokio::test]
async fn every_backend_terminated_next_requests_succeed() {
    let Some((app, _proxy)) = app_behind_proxy(&[]).await else {
        return;
    };
    insert_and_commit(&app.state, uuid::Uuid::new_v4())
        .await
        .expect("warm the pool");
    let name = app
        .db
        .name()
        .expect("a PostgreSQL test database")
        .to_owned();
    let admin = postgres_url().expect("TEST_DATABASE_URL");
    let conn = sea_orm::Database::connect(&admin)
        .await
        .expect("admin connection");
    let killed = conn
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ),
        ))
        .await
        .expect("terminate backends");
    assert!(!killed.is_empty(), "the service held connections to kill");
    conn.close().await.expect("close");

    let (status, _) = deep_health_after(&app).await;
    assert_eq!(status, StatusCode::OK);
    let id = uuid::Uuid::new_v4();
    insert_and_commit(&app.state, id)
        .await
        .expect("write after termination");
    assert_eq!(users_with_id(&app, id).await, 1);
}

#[tokio::test]
async fn write_whose_commit_was_cut_is_not_replayed() {
    let Some((app, proxy)) = app_behind_proxy(&[]).await else {
        return;
    };
    let id = uuid::Uuid::new_v4();
    let txn = app.state.db.begin().await.expect("begin");
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO users (id, email, full_name, google_id) VALUES ($1, $2, 'C', $2)",
        [id.into(), format!("{id}@example.com").into()],
    ))
    .await
    .expect("insert");
    let retries_before = app.state.db.retries();
    proxy.cut_all();
    let err = txn
        .commit()
        .await
        .expect_err("the connection was cut before COMMIT");
    let response = ApiError::from(err).into_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.state.db.retries(),
        retries_before,
        "a commit is never retried"
    );
    assert_eq!(users_with_id(&app, id).await, 0);
}

/// An operation of the test's own that reads through the service's retried path and
/// answers with `ApiError` on failure, as every domain operation does.
struct ReadsUsers(AppState);

impl Endpoint for ReadsUsers {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        let count = self
            .0
            .db
            .read(|conn| async move {
                conn.query_all_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SELECT id FROM users",
                ))
                .await
            })
            .await
            .map_err(ApiError::from)?
            .len();
        Ok(count.to_string().into_response())
    }
}

#[tokio::test]
async fn outage_longer_than_the_budget_is_503_json_within_the_deadline() {
    let vars = [
        ("DB_RETRY_BUDGET_SECONDS", "1"),
        ("DB_ACQUIRE_TIMEOUT_SECONDS", "1"),
    ];
    let Some((app, proxy)) = app_behind_proxy(&vars).await else {
        return;
    };
    let client = crate::harness::with_stack(ReadsUsers(app.state.clone()));
    proxy.cut_all();
    proxy.refuse_for(Duration::from_secs(60));

    let response = client
        .get("/")
        .header("X-Request-ID", "outage-1")
        .send()
        .await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    response.assert_header("retry-after", "5");
    response.assert_header("x-request-id", "outage-1");
    let body: Value = response.0.into_body().into_json().await.expect("JSON");
    assert_eq!(body["error"], "database_error");
    assert_eq!(body["request_id"], "outage-1");
    assert_eq!(body["retry_after"], 5);

    let response = app.client.get("/health/deep").send().await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.0.into_body().into_json().await.expect("JSON");
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["checks"]["database"], "unhealthy");
    assert_eq!(body["checks"]["database_error"], "database unreachable");
}

#[tokio::test]
async fn black_holed_connections_fail_within_the_budget_then_recover() {
    let vars = [
        ("DB_RETRY_BUDGET_SECONDS", "1"),
        ("DB_ACQUIRE_TIMEOUT_SECONDS", "1"),
    ];
    let Some((app, proxy)) = app_behind_proxy(&vars).await else {
        return;
    };
    proxy.cut_all();
    proxy.black_hole();
    let (status, _) = deep_health_after(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    proxy.forward();
    serves_again(&app).await;
}

/// Waits (bounded) until a request through the retried path succeeds again.
async fn serves_again(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while deep_health_after(app).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the service never served again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn failing_fast(app: &TestApp) -> bool {
    let response = app.client.get("/metrics").send().await;
    let text = response.0.into_body().into_string().await.expect("metrics");
    text.lines().any(|line| line == "db_failing_fast 1")
}

#[tokio::test]
async fn outage_past_the_budget_fails_fast_until_the_database_returns() {
    let vars = [
        ("DB_RETRY_BUDGET_SECONDS", "1"),
        ("DB_ACQUIRE_TIMEOUT_SECONDS", "1"),
    ];
    let Some((app, proxy)) = app_behind_proxy(&vars).await else {
        return;
    };
    assert!(!failing_fast(&app).await);
    proxy.cut_all();
    proxy.refuse_for(Duration::from_secs(4));

    let (status, _) = deep_health_after(&app).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the budget was spent"
    );
    assert!(failing_fast(&app).await);
    let ready = app.client.get("/health/ready").send().await;
    ready.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    let retries = app.state.db.retries();
    let (status, _) = deep_health_after(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.state.db.retries(),
        retries,
        "a request while failing fast waits out no budget"
    );

    serves_again(&app).await;
    assert!(!failing_fast(&app).await);
    let id = uuid::Uuid::new_v4();
    insert_and_commit(&app.state, id)
        .await
        .expect("writes work again");
    assert_eq!(users_with_id(&app, id).await, 1);
}

#[tokio::test]
async fn cold_start_within_the_budget_never_fails_fast() {
    let Some((app, proxy)) = app_behind_proxy(&[]).await else {
        return;
    };
    proxy.cut_all();
    proxy.refuse_for(Duration::from_secs(2));
    let (status, _) = deep_health_after(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!failing_fast(&app).await);
}
