//! The Flatmates API service: households, chores, shopping lists and shared expenses for
//! an offline-first Android app, over the schema the old Python backend built.

pub mod api;
pub mod config;
pub mod db;
pub mod error;
pub mod middleware;
pub mod server;
pub mod state;
pub mod telemetry;

use poem::{Endpoint, EndpointExt, Route};

use crate::state::AppState;

/// The whole application: routes, documentation and the middleware stack. The one place
/// the app is built, used by the binary and by the tests.
pub fn build_app(state: AppState) -> impl Endpoint + 'static {
    let api = api::service();
    let routes = Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/api/v1/openapi.json", api.spec_endpoint())
        .nest("/docs", api.swagger_ui())
        .nest("/", api)
        .data(state.clone());
    middleware::stack(routes, &state.settings)
}
