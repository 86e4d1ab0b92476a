//! Counts and times every request for `/metrics`, labelled by route template.

use std::{sync::Arc, time::Instant};

use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;

use super::{Metrics, UNMATCHED};
use crate::route_table::RouteTable;

/// Routes outside the OpenAPI service, labelled by their own path.
const FIXED_ROUTES: [&str; 4] = ["/openapi.json", "/api/v1/openapi.json", "/docs", "/metrics"];

pub async fn layer<E: Endpoint>(
    next: E,
    req: Request,
    metrics: Arc<Metrics>,
    routes: Arc<RouteTable>,
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
    // The template, never the raw path, so ids cannot explode the label set.
    let endpoint = match (operation, fixed) {
        (Some(id), _) => routes.template(id).unwrap_or(id),
        (None, Some(path)) => path,
        (None, None) => UNMATCHED,
    };
    metrics.finished(
        &method,
        endpoint.to_owned(),
        response.status().as_u16(),
        started.elapsed(),
    );
    Ok(response)
}
