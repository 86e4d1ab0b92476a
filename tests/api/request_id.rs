//! Request ids: a valid client id comes back unchanged, anything else is replaced, and
//! every response carries one, errors included.

use serde_json::Value;

use crate::harness::TestApp;

fn header(response: &poem::test::TestResponse) -> String {
    response
        .0
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id header")
        .to_owned()
}

fn is_uuid_v4(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|uuid| uuid.get_version_num() == 4)
}

#[tokio::test]
async fn client_request_id_comes_back_unchanged() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get("/health")
        .header("X-Request-ID", "client-42.a:b_c")
        .send()
        .await;
    response.assert_status_is_ok();
    assert_eq!(header(&response), "client-42.a:b_c");
}

#[tokio::test]
async fn request_without_id_gets_a_uuid() {
    let app = TestApp::spawn().await;
    let response = app.client.get("/health/live").send().await;
    assert!(is_uuid_v4(&header(&response)));
}

#[tokio::test]
async fn over_long_request_id_is_replaced() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(129);
    let response = app
        .client
        .get("/health/live")
        .header("X-Request-ID", long.as_str())
        .send()
        .await;
    response.assert_status_is_ok();
    assert!(is_uuid_v4(&header(&response)));
}

#[tokio::test]
async fn request_id_with_control_or_odd_characters_is_replaced() {
    let app = TestApp::spawn().await;
    for bad in ["tab\there", "with space", "semi;colon", "quote\"d"] {
        let response = app
            .client
            .get("/health/live")
            .header("X-Request-ID", bad)
            .send()
            .await;
        response.assert_status_is_ok();
        assert!(is_uuid_v4(&header(&response)), "{bad:?} was kept");
    }
    let non_ascii =
        poem::http::HeaderValue::from_bytes(b"caf\xc3\xa9").expect("opaque header bytes");
    let response = app
        .client
        .get("/health/live")
        .header("X-Request-ID", non_ascii)
        .send()
        .await;
    assert!(is_uuid_v4(&header(&response)));
}

#[tokio::test]
async fn error_responses_carry_the_client_id_in_header_and_body() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get("/missing/route")
        .header("X-Request-ID", "trace-404")
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::NOT_FOUND);
    assert_eq!(header(&response), "trace-404");
    let body: Value = response.0.into_body().into_json().await.expect("json");
    assert_eq!(body["request_id"], "trace-404");
}
