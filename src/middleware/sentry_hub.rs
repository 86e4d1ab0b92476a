//! One Sentry hub per request, tagged with the request id, so that every event the request
//! reports (a 500, a panic) can be found from the id the client saw.

use std::sync::Arc;

use poem::{Endpoint, IntoResponse, Request, Response};
use sentry::{Hub, SentryFutureExt};

use crate::request_context;

pub async fn layer<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let hub = Arc::new(Hub::new_from_top(Hub::current()));
    hub.configure_scope(|scope| {
        scope.set_tag("request_id", request_context::request_id());
        scope.set_tag("http.method", req.method().as_str());
        scope.set_tag("url.path", req.uri().path());
    });
    next.call(req)
        .bind_hub(hub)
        .await
        .map(IntoResponse::into_response)
}
