//! `/metrics` labels by route template, and CORS from `BACKEND_CORS_ORIGINS`.

use poem::http::{Method, StatusCode};
use serde_json::Value;

use crate::harness::TestApp;

async fn metrics_text(app: &TestApp) -> String {
    let response = app.client.get("/metrics").send().await;
    response.assert_status_is_ok();
    response.0.into_body().into_string().await.expect("text")
}

#[tokio::test]
async fn metrics_label_requests_by_route_template_never_the_raw_path() {
    let app = TestApp::spawn().await;
    let user = app.user("Olive").await;
    let ids = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    for id in ids {
        let (status, _) = app.get(&format!("/api/v1/todos/{id}"), &user).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    app.client.get("/health").send().await.assert_status_is_ok();
    app.client
        .get("/no/such/route/123")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let (status, _) = app.get("/api/v1/todos/not-a-uuid", &user).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let text = metrics_text(&app).await;
    assert!(
        text.contains(r#"http_requests_total{method="GET",endpoint="/api/v1/todos/{todo_id}",status_code="404"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"http_requests_total{method="GET",endpoint="/api/v1/todos/{todo_id}",status_code="422"} 1"#), "{text}");
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",endpoint="/health",status_code="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",endpoint="unmatched",status_code="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"http_request_duration_seconds_count{method="GET",endpoint="/api/v1/todos/{todo_id}"} 3"#), "{text}");
    assert!(text.contains("http_requests_in_progress "), "{text}");
    assert!(text.contains("db_pool_connections "), "{text}");
    assert!(text.contains("db_retries_total 0"), "{text}");
    for id in ids {
        assert!(!text.contains(&id.to_string()), "a raw id became a label");
    }
    assert!(!text.contains("not-a-uuid") && !text.contains("/no/such"));
}

#[tokio::test]
async fn metrics_disabled_answer_404_json() {
    let app = TestApp::spawn_with(&[("ENABLE_METRICS", "false")]).await;
    let response = app.client.get("/metrics").send().await;
    response.assert_status(StatusCode::NOT_FOUND);
    let body: Value = response.0.into_body().into_json().await.expect("JSON");
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn cors_preflight_allows_configured_origins_only() {
    let app = TestApp::spawn_with(&[("BACKEND_CORS_ORIGINS", r#"["https://app.example"]"#)]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, "/api/v1/todos")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.example").await;
    allowed.assert_status_is_ok();
    allowed.assert_header("access-control-allow-origin", "https://app.example");
    assert!(allowed.0.headers().contains_key("x-request-id"));
    let refused = preflight("https://evil.example").await;
    assert!(
        !refused
            .0
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert!(refused.0.status().is_client_error());
    let body: Value = refused
        .0
        .into_body()
        .into_json()
        .await
        .expect("a JSON error");
    assert_eq!(body["status"], 403);

    let simple = app
        .client
        .get("/health")
        .header("Origin", "https://app.example")
        .send()
        .await;
    simple.assert_header("access-control-allow-origin", "https://app.example");
}

#[tokio::test]
async fn cors_allows_every_origin_when_none_are_configured() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .request(Method::OPTIONS, "/api/v1/households")
        .header("Origin", "https://anywhere.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    response.assert_status_is_ok();
    assert!(
        response
            .0
            .headers()
            .contains_key("access-control-allow-origin")
    );
}
