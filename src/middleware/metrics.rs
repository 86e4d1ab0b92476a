//! Counts and times every request for `/metrics`, labelled by route template.

use std::{sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;

use crate::metrics::Metrics;

/// Routes outside the OpenAPI service, labelled by their own path.
const FIXED_ROUTES: [&str; 4] = ["/openapi.json", "/api/v1/openapi.json", "/docs", "/metrics"];

pub async fn layer<E: Endpoint>(
    next: E,
    req: Request,
    metrics: Arc<Metrics>,
) -> poem::Result<Response> {
    let method = req.method().as_str().to_owned();
    let fixed = FIXED_ROUTES
        .iter()
        .copied()
        .find(|route| req.uri().path().trim_end_matches('/') == *route);
    metrics.started();
    let started = Instant::now();
    let response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(err) => err.into_response(),
    };
    let operation = response.data::<OperationId>().map(|id| id.0);
    let endpoint = metrics.endpoint(operation, fixed);
    metrics.finished(
        &method,
        endpoint,
        response.status().as_u16(),
        started.elapsed(),
    );
    Ok(response)
}
