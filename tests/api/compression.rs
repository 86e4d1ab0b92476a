//! gzip on the wire: a large answer is compressed when the client takes gzip, and is the
//! same JSON once inflated; small answers and clients that do not ask go as they are.

use std::io::Read;

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Flat, flat};

async fn list(f: &Flat, accept_encoding: Option<&str>) -> poem::test::TestResponse {
    let mut request = f
        .app
        .client
        .get(format!("/api/v1/todos?household_id={}", f.household))
        .header("Authorization", format!("Bearer {}", f.owner.token));
    if let Some(accept) = accept_encoding {
        request = request.header("Accept-Encoding", accept);
    }
    request.send().await
}

#[tokio::test]
async fn a_large_list_is_gzipped_for_a_client_that_takes_it_and_inflates_to_the_same_json() {
    let f = flat().await;
    for n in 0..40 {
        let (status, body) = f
            .app
            .post(
                "/api/v1/todos",
                &f.owner,
                json!({"household_id": f.household, "title": format!("Chore {n}"), "description": "Take the bins out"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let plain = list(&f, None).await;
    plain.assert_status_is_ok();
    assert!(plain.0.headers().get("content-encoding").is_none());
    let plain = plain.0.into_body().into_bytes().await.expect("body");

    let gzipped = list(&f, Some("gzip, deflate, br")).await;
    gzipped.assert_status_is_ok();
    gzipped.assert_header("content-encoding", "gzip");
    let vary = gzipped
        .0
        .headers()
        .get("vary")
        .expect("vary")
        .to_str()
        .expect("text");
    assert!(vary.to_lowercase().contains("accept-encoding"), "{vary}");
    let wire = gzipped.0.into_body().into_bytes().await.expect("body");
    assert!(
        wire.len() * 4 < plain.len(),
        "{} bytes for {}",
        wire.len(),
        plain.len()
    );
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&wire[..])
        .read_to_end(&mut inflated)
        .expect("valid gzip");
    let (plain, inflated): (Value, Value) = (
        serde_json::from_slice(&plain).expect("JSON"),
        serde_json::from_slice(&inflated).expect("JSON"),
    );
    assert_eq!(inflated, plain);
    assert_eq!(plain.as_array().map(Vec::len), Some(40));

    let refused = list(&f, Some("gzip;q=0, identity")).await;
    assert!(refused.0.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn small_answers_and_errors_go_uncompressed() {
    let f = flat().await;
    let live = f
        .app
        .client
        .get("/health/live")
        .header("Accept-Encoding", "gzip")
        .send()
        .await;
    live.assert_status_is_ok();
    assert!(live.0.headers().get("content-encoding").is_none());
    let unauthorized = f
        .app
        .client
        .get("/api/v1/auth/me")
        .header("Accept-Encoding", "gzip")
        .send()
        .await;
    unauthorized.assert_status(StatusCode::UNAUTHORIZED);
    assert!(unauthorized.0.headers().get("content-encoding").is_none());
    let body: Value = unauthorized
        .0
        .into_body()
        .into_json()
        .await
        .expect("JSON error");
    assert_eq!(body["error"], "unauthorized");
}
