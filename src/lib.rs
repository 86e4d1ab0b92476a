//! The Flatmates API service: households, chores, shopping lists and shared expenses for
//! an offline-first Android app, over the schema the old Python backend built.

pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod middleware;
pub mod server;
pub mod state;
pub mod telemetry;

use poem::{Endpoint, EndpointExt, Response, Route};

use crate::state::AppState;

/// Selects *ring* as the TLS crypto provider for every rustls client in the process (the
/// Sentry transport, Google's key set); called wherever such a client is built.
pub fn install_tls_provider() {
    // An error means a provider is already installed, which is all this asks for.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The whole application: routes, documentation and the middleware stack. The one place
/// the app is built, used by the binary and by the tests.
pub fn build_app(state: AppState) -> impl Endpoint<Output = Response> + 'static {
    let api = api::service();
    let routes = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/api/v1/openapi.json", api.spec_endpoint())
        .nest("/docs", api.swagger_ui())
        .nest("/", api)
        .data(state.clone());
    middleware::stack(routes, &state.settings)
}
