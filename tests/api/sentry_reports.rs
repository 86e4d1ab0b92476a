//! A 500 reaches Sentry tagged with the request id: the real client and transport send
//! the event to a local HTTP listener standing in for Sentry's ingest host.

use std::{sync::Arc, time::Duration};

use crate::{
    harness::{settings, with_stack},
    http_stub::{HttpStub, StubResponse},
};
use flatmates::error::ApiError;
use poem::{Endpoint, Request, Response, http::StatusCode};
use sea_orm::DbErr;
use sentry::SentryFutureExt;

/// An operation whose query fails for a reason no retry can fix.
struct BrokenQuery;

impl Endpoint for BrokenQuery {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        Err(ApiError::from(DbErr::Custom("column \"nope\" does not exist".into())).into())
    }
}

/// An operation with a bug.
struct Panics;

impl Endpoint for Panics {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        panic!("index out of range in the split maths");
    }
}

/// Sends one request through `endpoint` with a Sentry client whose DSN is the local
/// listener, and returns the event Sentry received for it.
async fn reported_event<E: Endpoint + 'static>(endpoint: E, request_id: &str) -> String {
    let mut ingest = HttpStub::start(StubResponse::json("{}")).await;
    let dsn = ingest.base.replace("http://", "http://public@") + "/1";
    let settings = settings("sqlite::memory:", &[("SENTRY_DSN", dsn.as_str())]);
    let options = flatmates::telemetry::sentry_options(&settings).expect("a DSN is set");
    let client = Arc::new(sentry::Client::from(options));
    let hub = Arc::new(sentry::Hub::new(
        Some(client.clone()),
        Arc::new(sentry::Scope::default()),
    ));

    let response = with_stack(endpoint)
        .get("/")
        .header("X-Request-ID", request_id)
        .send()
        .bind_hub(hub)
        .await;
    response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
    // Flushing blocks its thread; the listener must keep running meanwhile.
    let flushed = tokio::task::spawn_blocking(move || client.flush(Some(Duration::from_secs(10))));
    assert!(flushed.await.expect("flush"), "the event was sent");

    tokio::time::timeout(Duration::from_secs(10), ingest.body_containing(request_id))
        .await
        .expect("Sentry received the event in time")
        .expect("the listener is up")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_is_reported_to_sentry_tagged_with_the_request_id() {
    let event = reported_event(BrokenQuery, "sentry-500-a").await;
    assert!(
        event.contains(r#""request_id":"sentry-500-a""#),
        "tagged: {event}"
    );
    assert!(
        event.contains("does not exist"),
        "the cause is reported: {event}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_is_reported_to_sentry_tagged_with_the_request_id() {
    let event = reported_event(Panics, "sentry-panic-b").await;
    assert!(
        event.contains(r#""request_id":"sentry-panic-b""#),
        "tagged: {event}"
    );
    assert!(
        event.contains("index out of range in the split maths"),
        "the panic is reported: {event}"
    );
}

#[tokio::test]
async fn without_a_dsn_sentry_is_off() {
    let settings = settings("sqlite::memory:", &[]);
    assert!(flatmates::telemetry::sentry_options(&settings).is_none());
}
