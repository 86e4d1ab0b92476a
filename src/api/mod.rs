//! The HTTP API: one module per tag, assembled into the OpenAPI service here.

mod account_export;
mod amount;
pub mod any_case_enum;
mod auth;
mod expenses;
mod health;
mod households;
mod json_rows;
mod null_as_absent;
mod partial;
mod probe;
mod shopping;
pub mod strict_string;
mod sync;
pub mod timestamp;
mod todos;

pub use health::PROBE_TIMEOUT;

use poem_openapi::{ContactObject, LicenseObject, OpenApiService, ServerObject};

use crate::middleware::idempotency::WithKeyHeader;

pub const TITLE: &str = "Flatmates App API";

pub type Apis = WithKeyHeader<(
    health::HealthApi,
    auth::AuthApi,
    households::HouseholdsApi,
    todos::TodosApi,
    shopping::ShoppingApi,
    expenses::ExpensesApi,
    sync::SyncApi,
)>;

/// The OpenAPI service: routes for every operation and the document they generate.
/// The document depends on nothing but the code, so the committed copy can be checked.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        WithKeyHeader((
            health::HealthApi,
            auth::AuthApi,
            households::HouseholdsApi,
            todos::TodosApi,
            shopping::ShoppingApi,
            expenses::ExpensesApi,
            sync::SyncApi,
        )),
        TITLE,
        env!("CARGO_PKG_VERSION"),
    )
    .description("Households, chores, shopping lists and shared expenses for flatmates.")
    // Relative, so Swagger UI and generated clients call the host that served the document:
    // one document serves local runs, staging and production alike.
    .server(ServerObject::new("/").description("The service that serves this document"))
    .contact(ContactObject::new().name("Flatmates API maintainers"))
    // Unpublished and without a licence file: all rights reserved until one is chosen.
    .license(LicenseObject::new("Proprietary"))
}
