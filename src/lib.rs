//! The Flatmates API service: households, chores, shopping lists and shared expenses for
//! an offline-first Android app, over the schema the old Python backend built.

pub mod ai;
pub mod api;
pub mod auth;
pub mod config;
pub mod connections;
pub mod db;
pub mod domain;
pub mod error;
pub mod housekeeping;
pub mod metrics;
pub mod middleware;
pub mod probe_client;
pub mod request_context;
pub mod route_table;
pub mod server;
pub mod service;
pub mod state;
pub mod telemetry;

use std::sync::Arc;

use poem::{EndpointExt, IntoResponse, Response, Route, endpoint::BoxEndpoint, handler, web::Data};

use crate::{error::ApiError, route_table::RouteTable, state::AppState};

/// Selects *ring* as the TLS crypto provider for every rustls client in the process (the
/// Sentry transport, Google's key set, the AI service); called once at start, before any
/// such client is built.
pub fn install_tls_provider() {
    // An error means a provider is already installed, which is all this asks for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The whole application: routes, documentation and the middleware stack. The one place
/// the app is built, used by the binary and by the tests. Boxed: the fully spelled-out
/// type of the layered endpoint is deep enough to exhaust the compiler's recursion limit.
pub fn build_app(state: AppState) -> BoxEndpoint<'static, Response> {
    let api = api::service();
    // The document is built once, here: what `/openapi.json` serves is what the routes
    // table reads.
    let route_table = Arc::new(RouteTable::new(&api.spec()));
    // A claim older than the deadline belongs to a request that can no longer answer.
    let stale_after = state.settings.request_timeout + std::time::Duration::from_secs(5);
    let keys_table = route_table.clone();
    let routes = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/api/v1/openapi.json", api.spec_endpoint())
        .nest("/docs", api.swagger_ui())
        .at("/metrics", prometheus_metrics)
        .nest(
            "/",
            api.around(move |next, req| {
                middleware::idempotency::layer(next, req, stale_after, keys_table.clone())
            }),
        )
        .data(state.clone())
        .data(state.authenticator.clone())
        // Boxed here too, for the same reason as the whole.
        .boxed();
    middleware::stack(routes, &state.settings, state.metrics.clone(), route_table).boxed()
}

/// Prometheus text; 404 when `ENABLE_METRICS` is false.
#[handler]
fn prometheus_metrics(state: Data<&AppState>) -> Response {
    if !state.settings.enable_metrics {
        return ApiError::not_found("Not Found").into_response();
    }
    state
        .metrics
        .render(&state.db)
        .with_content_type("text/plain; version=0.0.4")
        .into_response()
}
