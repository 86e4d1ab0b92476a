//! Every kind of bad input gets the JSON error shape with the right status, and the
//! service goes on serving. Parsing and validation are exercised through an operation of
//! the test's own, with a JSON body and a UUID path, wrapped in the service's real stack.

use std::time::Duration;

use flatmates::error::{ApiError, ApiResult};
use poem::{Body, http::StatusCode};
use poem_openapi::{Object, OpenApi, OpenApiService, param::Path, payload::Json};
use sea_orm::DbErr;
use serde_json::{Value, json};

use crate::harness::{TestApp, with_stack};

#[derive(Object)]
struct Payload {
    #[oai(validator(min_length = 1, max_length = 10))]
    name: String,
    count: i32,
}

struct ProbeApi;

#[OpenApi]
impl ProbeApi {
    #[oai(path = "/things/:id", method = "post", operation_id = "put_thing")]
    async fn put(&self, id: Path<uuid::Uuid>, body: Json<Payload>) -> ApiResult<Json<Value>> {
        Ok(Json(
            json!({"id": id.0, "name": body.0.name, "count": body.0.count}),
        ))
    }

    #[oai(path = "/slow", method = "get", operation_id = "slow")]
    async fn slow(&self) -> ApiResult<Json<Value>> {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(Json(json!({})))
    }

    #[oai(path = "/panic", method = "get", operation_id = "panic")]
    async fn panic(&self) -> ApiResult<Json<Value>> {
        panic!("handler bug");
    }

    #[oai(path = "/broken", method = "get", operation_id = "broken")]
    async fn broken(&self) -> ApiResult<Json<Value>> {
        Err(DbErr::Custom("relation \"secret_table\" does not exist".into()).into())
    }

    #[oai(path = "/unavailable", method = "get", operation_id = "unavailable")]
    async fn unavailable(&self) -> ApiResult<Json<Value>> {
        Err(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout).into())
    }

    #[oai(path = "/missing", method = "get", operation_id = "missing")]
    async fn missing(&self) -> ApiResult<Json<Value>> {
        Err(ApiError::not_found("Todo not found"))
    }
}

fn probe_client() -> poem::test::TestClient<poem::endpoint::BoxEndpoint<'static, poem::Response>> {
    with_stack(OpenApiService::new(ProbeApi, "probe", "1"))
}

const THING: &str = "/things/6f1c1b7e-8a0f-4a57-9a43-2f1b1bde7c10";

async fn error_body(response: poem::test::TestResponse, status: StatusCode) -> Value {
    response.assert_status(status);
    response.assert_content_type("application/json; charset=utf-8");
    let header_id = response
        .0
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id on every error");
    let body: Value = response
        .0
        .into_body()
        .into_json()
        .await
        .expect("JSON error body");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["request_id"], header_id.as_str());
    assert_eq!(body["message"], body["detail"]);
    body
}

#[tokio::test]
async fn valid_body_and_uuid_reach_the_handler() {
    let client = probe_client();
    let response = client
        .post(THING)
        .body_json(&json!({"name": "a", "count": 1}))
        .send()
        .await;
    response.assert_status_is_ok();
    response
        .assert_json(json!({"id": "6f1c1b7e-8a0f-4a57-9a43-2f1b1bde7c10", "name": "a", "count": 1}))
        .await;
}

#[tokio::test]
async fn malformed_json_is_422_validation_error_with_details() {
    let client = probe_client();
    let response = client
        .post(THING)
        .content_type("application/json")
        .body("{\"name\": ")
        .send()
        .await;
    let body = error_body(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"], "validation_error");
    assert_eq!(body["message"], "Invalid request data");
    assert_eq!(body["details"][0]["loc"], json!(["body"]));
    assert!(
        body["details"][0]["msg"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test]
async fn unknown_fields_only_are_422() {
    let client = probe_client();
    let response = client
        .post(THING)
        .body_json(&json!({"invalid": "data"}))
        .send()
        .await;
    let body = error_body(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"], "validation_error");
    assert!(body["details"].as_array().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn wrong_type_is_422() {
    let client = probe_client();
    let response = client
        .post(THING)
        .body_json(&json!({"name": "a", "count": "many"}))
        .send()
        .await;
    assert_eq!(
        error_body(response, StatusCode::UNPROCESSABLE_ENTITY).await["error"],
        "validation_error"
    );
}

#[tokio::test]
async fn failed_length_bound_is_422() {
    let client = probe_client();
    let response = client
        .post(THING)
        .body_json(&json!({"name": "far too long a name", "count": 1}))
        .send()
        .await;
    let body = error_body(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"], "validation_error");
    assert_eq!(body["details"][0]["loc"], json!(["body", "name"]));
}

#[tokio::test]
async fn non_uuid_path_segment_is_422_in_the_path() {
    let client = probe_client();
    let response = client
        .post("/things/not-a-uuid")
        .body_json(&json!({"name": "a", "count": 1}))
        .send()
        .await;
    let body = error_body(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["error"], "validation_error");
    assert_eq!(body["details"][0]["loc"][0], "path");
    assert!(
        body["details"][0]["msg"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

#[tokio::test]
async fn body_of_another_content_type_is_422_naming_it() {
    let client = probe_client();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = client
            .post(THING)
            .content_type(content_type)
            .body("name=a")
            .send()
            .await;
        let body = error_body(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["error"], "validation_error");
        assert_eq!(body["details"][0]["loc"], json!(["body"]));
        let named = body["details"][0]["msg"].as_str().unwrap_or_default();
        assert!(named.contains(content_type), "{body}");
    }
}

#[tokio::test]
async fn oversized_body_with_declared_length_is_413() {
    let app = TestApp::spawn_with(&[("MAX_BODY_BYTES", "1024")]).await;
    let response = app
        .client
        .post("/health")
        .content_type("application/json")
        .body(vec![b' '; 4096])
        .send()
        .await;
    assert_eq!(
        error_body(response, StatusCode::PAYLOAD_TOO_LARGE).await["error"],
        "payload_too_large"
    );
    app.client
        .get("/health/live")
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn oversized_streamed_body_is_413() {
    let client = probe_client();
    let chunks =
        futures_util::stream::iter((0..2048).map(|_| Ok::<_, std::io::Error>(bytes_of_kib())));
    let response = client
        .post(THING)
        .content_type("application/json")
        .body(Body::from_bytes_stream(chunks))
        .send()
        .await;
    assert_eq!(
        error_body(response, StatusCode::PAYLOAD_TOO_LARGE).await["error"],
        "payload_too_large"
    );
}

/// `{"name": "ok", "count": 1, "extra": [1, 1, ...]}`: `ones` values and four more (the
/// object, its name, its count and the array).
fn body_of_values(ones: usize) -> String {
    let ones = vec!["1"; ones].join(",");
    format!(r#"{{"name": "ok", "count": 1, "extra": [{ones}]}}"#)
}

#[tokio::test]
async fn a_body_of_more_json_values_than_the_limit_is_413() {
    // The default limit, 100 000, in a body a fifth of MAX_BODY_BYTES.
    let response = probe_client()
        .post(THING)
        .content_type("application/json")
        .body(body_of_values(100_000 - 3))
        .send()
        .await;
    let body = error_body(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(
        body["message"], "Request body holds more than 100000 JSON values",
        "{body}"
    );
}

#[tokio::test]
async fn a_body_of_as_many_json_values_as_the_limit_is_parsed() {
    let response = probe_client()
        .post(THING)
        .content_type("application/json")
        .body(body_of_values(100_000 - 4))
        .send()
        .await;
    response.assert_status_is_ok();
    response
        .assert_json(json!({"id": THING.trim_start_matches("/things/"), "name": "ok", "count": 1}))
        .await;
}

fn bytes_of_kib() -> Vec<u8> {
    vec![b' '; 1024]
}

#[tokio::test]
async fn small_streamed_body_reaches_the_handler() {
    let client = probe_client();
    let chunks = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(b"{\"name\": \"a\",".to_vec()),
        Ok(b" \"count\": 2}".to_vec()),
    ]);
    let response = client
        .post(THING)
        .content_type("application/json")
        .body(Body::from_bytes_stream(chunks))
        .send()
        .await;
    response.assert_status_is_ok();
}

#[tokio::test]
async fn unknown_route_is_404_json() {
    let app = TestApp::spawn().await;
    let body = error_body(
        app.client.get("/api/v1/nothing-here").send().await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn wrong_method_is_405_json() {
    let app = TestApp::spawn().await;
    let body = error_body(
        app.client.delete("/health").send().await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(body["error"], "method_not_allowed");
}

#[tokio::test]
async fn request_past_the_deadline_is_504_json() {
    let settings = crate::harness::settings(
        "sqlite::memory:",
        &[
            ("REQUEST_TIMEOUT_SECONDS", "0.2"),
            ("DB_STATEMENT_TIMEOUT_SECONDS", "0.1"),
            ("CALLER_CACHE_SECONDS", "0.1"),
        ],
    );
    let client =
        poem::test::TestClient::new(poem::EndpointExt::boxed(flatmates::middleware::stack(
            OpenApiService::new(ProbeApi, "probe", "1"),
            &settings,
            Default::default(),
            Default::default(),
        )));
    let body = error_body(
        client.get("/slow").send().await,
        StatusCode::GATEWAY_TIMEOUT,
    )
    .await;
    assert_eq!(body["error"], "timeout");
    client
        .post(THING)
        .body_json(&json!({"name": "a", "count": 1}))
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn panic_is_500_json_and_the_service_keeps_serving() {
    let client = probe_client();
    let body = error_body(
        client.get("/panic").send().await,
        StatusCode::INTERNAL_SERVER_ERROR,
    )
    .await;
    assert_eq!(body["error"], "internal_server_error");
    assert_eq!(body["message"], "An unexpected error occurred");
    client
        .post(THING)
        .body_json(&json!({"name": "a", "count": 1}))
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn unexpected_database_error_is_500_without_internals() {
    let client = probe_client();
    let response = client.get("/broken").send().await;
    let body = error_body(response, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(body["message"], "An unexpected error occurred");
    assert!(!body.to_string().contains("secret_table"));
}

#[tokio::test]
async fn unavailable_database_is_503_with_retry_after() {
    let client = probe_client();
    let response = client.get("/unavailable").send().await;
    response.assert_header("retry-after", "5");
    let body = error_body(response, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["error"], "database_error");
    assert_eq!(
        body["message"],
        "Database temporarily unavailable. Please retry."
    );
    assert_eq!(body["retry_after"], 5);
}

#[tokio::test]
async fn handler_error_keeps_its_status_and_message() {
    let client = probe_client();
    let body = error_body(client.get("/missing").send().await, StatusCode::NOT_FOUND).await;
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["message"], "Todo not found");
    assert!(body.get("details").is_none());
}
