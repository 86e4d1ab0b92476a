//! The layers every request passes through, outermost first:
//! request id and access log, panic catcher, Sentry hub, deadline, body limit, the
//! converter that turns every framework error into the one JSON error shape, and the
//! trailing-slash normalisation in front of the router. Metrics, gzip and CORS sit just
//! inside the request id, so preflight answers and every counted request carry one, and
//! what is compressed is the final answer.

pub mod body_limit;
pub mod compression;
pub mod deadline;
pub mod error_converter;
pub mod idempotency;
pub mod panic;
pub mod request_id;
pub mod sentry_hub;

use poem::{
    Endpoint, EndpointExt, IntoEndpoint, Response,
    middleware::{CatchPanic, Cors, NormalizePath, TrailingSlash},
};

use std::sync::Arc;

use crate::{
    config::Settings,
    metrics::{Metrics, requests},
    route_table::RouteTable,
};

/// Wraps `routes` in the service's middleware stack.
pub fn stack<E>(
    routes: E,
    settings: &Settings,
    metrics: Arc<Metrics>,
    route_table: Arc<RouteTable>,
) -> impl Endpoint<Output = Response> + use<E>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let deadline = settings.request_timeout;
    let body_limits = body_limit::BodyLimits {
        bytes: settings.max_body_bytes,
        json_values: settings.max_body_json_values,
    };
    routes
        .into_endpoint()
        // `/api/v1/todos/` and `/api/v1/todos` reach the same operation, without a redirect.
        .with(NormalizePath::new(TrailingSlash::Trim))
        .around({
            let route_table = route_table.clone();
            move |next, req| error_converter::layer(next, req, route_table.clone())
        })
        .around(move |next, req| body_limit::layer(next, req, body_limits))
        .around(move |next, req| deadline::layer(next, req, deadline))
        .around(sentry_hub::layer)
        .with(CatchPanic::new().with_handler(panic::response))
        .around(move |next, req| requests::layer(next, req, metrics.clone(), route_table.clone()))
        .around(compression::layer)
        .with(cors(&settings.cors_origins))
        .around(request_id::layer)
}

/// CORS for `origins`; every origin when the list is empty (as the old backend did).
fn cors(origins: &[String]) -> Cors {
    let cors = Cors::new().expose_header(request_id::HEADER);
    if origins.is_empty() {
        cors
    } else {
        cors.allow_origins(origins.iter().map(String::as_str))
            .allow_credentials(true)
    }
}
