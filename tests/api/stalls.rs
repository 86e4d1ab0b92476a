//! Connections that go silent without closing, staged through the fault proxy: what the
//! service sends is taken, nothing comes back, nothing is closed, while new connections
//! work (a hung compute, a NAT or middlebox that dropped the flow). PostgreSQL only.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use poem::http::StatusCode;

use crate::{
    harness::{TestApp, TestUser},
    proxy::{FaultProxy, Silence, app_behind_proxy, app_behind_proxy_over},
};

const CLIENTS: usize = 8;

/// One answer a load client got: when its request was sent and when the answer came,
/// counted from the stall, and its status.
struct Answer {
    sent: Duration,
    at: Duration,
    status: StatusCode,
}

/// `CLIENTS` clients read `GET /auth/me` as fast as they are answered for `run`.
async fn load(
    app: &Arc<TestApp>,
    user: &Arc<TestUser>,
    from: Instant,
    run: Duration,
) -> Vec<Answer> {
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (app, user) = (app.clone(), user.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while from.elapsed() < run {
                    let sent = from.elapsed();
                    let (status, _) = app.get("/api/v1/auth/me", &user).await;
                    answers.push(Answer {
                        sent,
                        at: from.elapsed(),
                        status,
                    });
                    // A client answered at once (failing fast) must still let others run.
                    tokio::task::yield_now().await;
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.expect("load client"));
    }
    answers
}

fn statuses(answers: &[Answer]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.status.as_u16()).or_insert(0) += 1;
    }
    format!("{counts:?}")
}

/// An app behind the proxy whose pool the load clients have filled for `warm`, every
/// answer 200; `None` without PostgreSQL.
async fn loaded_app_behind_proxy(
    warm: Duration,
) -> Option<(Arc<TestApp>, Arc<TestUser>, crate::proxy::FaultProxy)> {
    let (app, proxy) = app_behind_proxy(&[]).await?;
    let app = Arc::new(app);
    let user = Arc::new(app.user("Reader").await);
    let answers = load(&app, &user, Instant::now(), warm).await;
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{}",
        statuses(&answers)
    );
    Some((app, user, proxy))
}

#[tokio::test]
async fn every_pooled_connection_stalling_under_load_is_served_again_within_10_s() {
    let Some((app, user, proxy)) = loaded_app_behind_proxy(Duration::from_secs(1)).await else {
        return;
    };

    let stalled = Instant::now();
    proxy.stall_open_connections();
    let answers = load(&app, &user, stalled, Duration::from_secs(30)).await;

    assert!(
        answers
            .iter()
            .all(|a| a.status != StatusCode::INTERNAL_SERVER_ERROR),
        "no 500s: {}",
        statuses(&answers)
    );
    // A request sent after the stall can only be served on a connection opened since.
    let first_ok = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK && a.sent >= Duration::from_millis(100))
        .map(|a| a.at)
        .min()
        .expect("served again");
    assert!(
        first_ok < Duration::from_secs(10),
        "first 200 after {first_ok:?}"
    );
    let late: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.at >= Duration::from_secs(15))
        .collect();
    let ok = late.iter().filter(|a| a.status == StatusCode::OK).count();
    assert!(
        !late.is_empty() && ok * 100 >= late.len() * 95,
        "{ok} of {} answers 15 to 30 s after the stall were 200",
        late.len()
    );
    let response = app.client.get("/health/ready").send().await;
    response.assert_status_is_ok();
}

#[tokio::test]
async fn stall_of_two_seconds_costs_a_wait_not_an_error() {
    let Some((app, user, proxy)) = loaded_app_behind_proxy(Duration::from_millis(500)).await else {
        return;
    };

    let stalled = Instant::now();
    proxy.stall_open_connections_for(Duration::from_secs(2));
    let answers = load(&app, &user, stalled, Duration::from_secs(4)).await;
    assert!(
        answers.iter().all(|a| a.status == StatusCode::OK),
        "{}",
        statuses(&answers)
    );
    assert!(
        answers.iter().any(|a| a.at >= Duration::from_secs(2)),
        "the clients waited out the stall"
    );
}

#[tokio::test]
async fn with_its_one_connection_silent_the_pool_opens_another() {
    let Some((app, proxy)) = app_behind_proxy(&[("DB_MAX_CONNECTIONS", "1")]).await else {
        return;
    };
    let user = app.user("Reader").await;
    proxy.stall_open_connections();
    // The read's first attempt waits on the silent connection until the statement limit,
    // then that connection must give its place back for the retry to get one at all.
    let (status, body) = app.get("/api/v1/auth/me", &user).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get("/api/v1/auth/me", &user).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn probe_on_a_fresh_connection_sees_the_server_past_a_silent_pool() {
    let Some((app, proxy)) = app_behind_proxy(&[("DB_MAX_CONNECTIONS", "1")]).await else {
        return;
    };
    proxy.stall_open_connections();
    let started = Instant::now();
    assert!(
        app.state.db.ping().await.is_err(),
        "the pool's only connection is silent"
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        app.state
            .db
            .answers_fresh_connection(Duration::from_secs(2))
            .await,
        "the server answers a connection of its own"
    );
}

/// A write with a key whose fault `stage` sets up (given the proxy and the text the write
/// carries), sent twice: answers both statuses, how many rows hold the text after each,
/// and how many times the service sent a statement again.
async fn faulted_write_then_retry(
    write: Write,
    stage: impl FnOnce(&FaultProxy, &'static [u8]),
) -> Option<([(StatusCode, i64); 2], u64)> {
    let (app, proxy) = app_behind_proxy_over("?sslmode=disable", &[]).await?;
    let owner = app.user("Owner").await;
    const TEXT: &str = "stalled-write-4c1e";
    let (path, body, count) = match write {
        // A household is created in a transaction (its rules need the user held).
        Write::Transaction => (
            "/api/v1/households",
            serde_json::json!({"name": TEXT}),
            format!("SELECT COUNT(*) || '' FROM households WHERE name = '{TEXT}'"),
        ),
        // A todo is one statement.
        Write::Statement => {
            let household = app.household(&owner, "Flat").await;
            (
                "/api/v1/todos",
                serde_json::json!({"household_id": household, "title": TEXT}),
                format!("SELECT COUNT(*) || '' FROM todos WHERE title = '{TEXT}'"),
            )
        }
    };
    stage(&proxy, TEXT.as_bytes());
    let mut outcomes = [(StatusCode::OK, 0); 2];
    for outcome in &mut outcomes {
        let response = app
            .client
            .post(path)
            .header("Authorization", format!("Bearer {}", owner.token))
            .header("Idempotency-Key", "stalled-write-key")
            .body_json(&body)
            .send()
            .await;
        *outcome = (response.0.status(), app.count(&count).await);
    }
    Some((outcomes, app.state.db.retries()))
}

#[derive(Clone, Copy)]
enum Write {
    Transaction,
    Statement,
}

#[tokio::test]
async fn write_whose_commit_never_reaches_the_server_is_503_and_its_retry_lands_once() {
    let Some(([first, retry], _)) = faulted_write_then_retry(Write::Transaction, |proxy, text| {
        proxy.stall_commit_after(text, Silence::Held)
    })
    .await
    else {
        return;
    };
    assert!(
        first == (StatusCode::SERVICE_UNAVAILABLE, 0),
        "the unsent COMMIT was settled as aborted: {first:?}"
    );
    assert_eq!(retry, (StatusCode::CREATED, 1));
}

#[tokio::test]
async fn write_whose_commit_answer_never_comes_is_acknowledged_and_stored_once() {
    let Some(([first, retry], _)) = faulted_write_then_retry(Write::Transaction, |proxy, text| {
        proxy.stall_commit_after(text, Silence::Unanswered)
    })
    .await
    else {
        return;
    };
    assert_eq!(
        first,
        (StatusCode::CREATED, 1),
        "the COMMIT was found committed"
    );
    assert_eq!(
        retry,
        (StatusCode::CREATED, 1),
        "the retry replays, writes nothing"
    );
}

/// A write that is one statement carries its claim: sent again on another connection, it
/// cannot write twice, so the service sends it again rather than answering 503.
#[tokio::test]
async fn write_statement_that_never_reaches_the_server_is_sent_again_and_lands_once() {
    let Some(([first, retry], sent_again)) =
        faulted_write_then_retry(Write::Statement, |proxy, text| {
            proxy.silence_next(text, Silence::Held)
        })
        .await
    else {
        return;
    };
    assert!(sent_again > 0, "the held statement was sent again");
    assert_eq!(first, (StatusCode::CREATED, 1), "sent again, landed once");
    assert_eq!(
        retry,
        (StatusCode::CREATED, 1),
        "the retry replays, writes nothing"
    );
}

#[tokio::test]
async fn write_statement_whose_answer_never_comes_is_read_back_and_stored_once() {
    let Some(([first, retry], sent_again)) =
        faulted_write_then_retry(Write::Statement, |proxy, text| {
            proxy.silence_next(text, Silence::Unanswered)
        })
        .await
    else {
        return;
    };
    assert!(sent_again > 0, "the unanswered statement was sent again");
    assert_eq!(
        first,
        (StatusCode::CREATED, 1),
        "sent again, it found its own claim and read the row back"
    );
    assert_eq!(
        retry,
        (StatusCode::CREATED, 1),
        "the retry replays, writes nothing"
    );
}
