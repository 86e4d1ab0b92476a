//! The HTTP API: one module per tag, assembled into the OpenAPI service here.

mod health;

use poem_openapi::OpenApiService;

pub const TITLE: &str = "Flatmates App API";

/// The OpenAPI service: routes for every operation and the document they generate.
/// The document depends on nothing but the code, so the committed copy can be checked.
pub fn service() -> OpenApiService<health::HealthApi, ()> {
    OpenApiService::new(health::HealthApi, TITLE, env!("CARGO_PKG_VERSION"))
        .description("Households, chores, shopping lists and shared expenses for flatmates.")
}
