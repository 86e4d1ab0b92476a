//! The layers every request passes through, outermost first:
//! request id and access log, panic catcher, Sentry hub, deadline, body limit, the
//! converter that turns every framework error into the one JSON error shape, and the
//! trailing-slash normalisation in front of the router.

pub mod body_limit;
pub mod deadline;
pub mod error_converter;
pub mod panic;
pub mod request_id;
pub mod sentry_hub;

use poem::{
    Endpoint, EndpointExt, IntoEndpoint, Response,
    middleware::{CatchPanic, NormalizePath, TrailingSlash},
};

use crate::config::Settings;

/// Wraps `routes` in the service's middleware stack.
pub fn stack<E>(routes: E, settings: &Settings) -> impl Endpoint<Output = Response> + use<E>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let deadline = settings.request_timeout;
    let body_limit = settings.max_body_bytes;
    routes
        .into_endpoint()
        // `/api/v1/todos/` and `/api/v1/todos` reach the same operation, without a redirect.
        .with(NormalizePath::new(TrailingSlash::Trim))
        .around(error_converter::layer)
        .around(move |next, req| body_limit::layer(next, req, body_limit))
        .around(move |next, req| deadline::layer(next, req, deadline))
        .around(sentry_hub::layer)
        .with(CatchPanic::new().with_handler(panic::response))
        .around(request_id::layer)
}
