//! Health probes and the root document.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, TestDb, settings, state_for};

async fn json_of(response: poem::test::TestResponse) -> Value {
    response.0.into_body().into_json().await.expect("JSON body")
}

#[tokio::test]
async fn health_reports_connected_database() {
    let app = TestApp::spawn_with(&[("VERSION", "9.9.9")]).await;
    for path in ["/health", "/api/v1/health"] {
        let response = app.client.get(path).send().await;
        response.assert_status_is_ok();
        let body = json_of(response).await;
        assert_eq!(body["status"], "healthy", "{path}");
        assert_eq!(body["database"], "connected");
        assert_eq!(body["version"], "9.9.9");
        assert_eq!(body["environment"], "development");
        assert!(body["latency_ms"].as_f64().is_some());
    }
}

#[tokio::test]
async fn deep_health_checks_the_database() {
    let app = TestApp::spawn().await;
    for path in ["/health/deep", "/api/v1/health/deep"] {
        let response = app.client.get(path).send().await;
        response.assert_status_is_ok();
        let body = json_of(response).await;
        assert_eq!(body["status"], "healthy", "{path}");
        assert_eq!(body["checks"]["api"], "healthy");
        assert_eq!(body["checks"]["database"], "healthy");
        assert!(body["checks"]["database_latency_ms"].as_f64().is_some());
        assert!(body["checks"].get("database_error").is_none());
    }
}

#[tokio::test]
async fn liveness_touches_nothing() {
    let app = TestApp::spawn().await;
    let response = app.client.get("/health/live").send().await;
    response.assert_status_is_ok();
    response.assert_json(json!({"status": "alive"})).await;
}

#[tokio::test]
async fn ready_after_migrations() {
    let app = TestApp::spawn().await;
    let response = app.client.get("/health/ready").send().await;
    response.assert_status_is_ok();
    response
        .assert_json(json!({"status": "ready", "database": "connected", "migrations": "done"}))
        .await;
}

#[tokio::test]
async fn not_ready_until_migrations_are_done() {
    let db = TestDb::new().await;
    let state = state_for(settings(&db.url, &[])).await;
    let client = poem::test::TestClient::new(flatmates::build_app(state.clone()));
    let response = client.get("/health/ready").send().await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    response
        .assert_json(
            json!({"status": "not_ready", "database": "connected", "migrations": "pending"}),
        )
        .await;
    state.db.migrate().await.expect("migrate");
    state.mark_migrated();
    client
        .get("/health/ready")
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn root_links_docs_and_health() {
    let app = TestApp::spawn_with(&[("VERSION", "1.2.3")]).await;
    let response = app.client.get("/").send().await;
    response.assert_status_is_ok();
    response
        .assert_json(json!({
            "message": "Welcome to Flatmates App API",
            "version": "1.2.3",
            "docs": "/docs",
            "health": "/health"
        }))
        .await;
}
