//! What a connection owes when it goes back to the pool: the pool settles it (reads the
//! answers still due, sends a dropped transaction's `ROLLBACK`) instead of pinging every
//! connection it takes back (the patch in `vendor/sqlx-core`). A pool of one connection, so
//! the next operation gets the very connection that was given up.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};

use crate::harness::{TestApp, on_postgres};

async fn pool_of_one() -> TestApp {
    TestApp::spawn_with(&[("DB_MAX_CONNECTIONS", "1")]).await
}

async fn number(app: &TestApp, sql: &'static str) -> i64 {
    app.state
        .db
        .read(|conn| async move {
            let row = conn
                .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
                .await?;
            row.map_or(Ok(-1), |row| row.try_get_by_index::<i64>(0))
        })
        .await
        .expect("the read answers")
}

#[tokio::test]
async fn a_query_given_up_midway_leaves_its_connection_answering_the_next_with_its_own_rows() {
    if !on_postgres() {
        return; // SQLite has no statement that waits
    }
    let app = pool_of_one().await;
    let given_up = tokio::time::timeout(
        Duration::from_millis(100),
        number(&app, "SELECT CAST(7 AS BIGINT) FROM pg_sleep(0.5)"),
    )
    .await;
    assert!(given_up.is_err(), "the slow query was still running");
    assert_eq!(number(&app, "SELECT CAST(42 AS BIGINT)").await, 42);
    assert_eq!(number(&app, "SELECT CAST(43 AS BIGINT)").await, 43);
}

#[tokio::test]
async fn a_transaction_given_up_midway_holds_no_lock_once_its_connection_is_back() {
    let app = pool_of_one().await;
    let user = app.user("Olive").await;
    let olive = format!("email = '{}'", user.email);
    let txn = app.state.db.begin().await.expect("begin");
    txn.execute_unprepared(&format!(
        "UPDATE users SET full_name = 'Held' WHERE {olive}"
    ))
    .await
    .expect("write");
    drop(txn);
    let back = tokio::time::timeout(Duration::from_secs(2), async {
        while app.state.db.pool_size() != (1, 1) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "the connection was not given back");
    // From a connection of the test's own, not the pool's: the row lock (PostgreSQL) or
    // the database's write lock (SQLite) is free, and the write was undone.
    if on_postgres() {
        app.db
            .exec(&format!(
                "BEGIN; SELECT 1 FROM users WHERE {olive} FOR UPDATE NOWAIT; ROLLBACK"
            ))
            .await;
    } else {
        app.db
            .exec(&format!(
                "UPDATE users SET is_active = is_active WHERE {olive}"
            ))
            .await;
    }
    assert_eq!(
        app.db
            .strings(&format!("SELECT full_name FROM users WHERE {olive}"))
            .await,
        ["Olive"]
    );
}
