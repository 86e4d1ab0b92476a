//! Request ids: a client's `X-Request-ID` is kept when it is safe to echo and log,
//! otherwise a new UUID v4 is made. The id is on every response, every log line of the
//! request (through the request span) and every error body.

use poem::{Endpoint, IntoResponse, Request, Response, http::HeaderValue};
use tracing::Instrument;

use crate::request_context;

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// 1..=128 characters of `[A-Za-z0-9._:-]`: nothing a log line or a header could choke on.
pub fn is_valid(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn from_request(req: &Request) -> String {
    req.headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_valid(id))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The outermost layer: everything inside runs with the id in scope and inside the request
/// span; the access log line is written here, once the response is known.
pub async fn layer<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let id = from_request(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = std::time::Instant::now();
    let probe = req.uri().path().starts_with("/health");
    let header = HeaderValue::from_str(&id).ok();
    let mut response = request_context::scope(id, async move {
        // Errors raised outside the converter (CORS refusals) get the JSON shape too.
        let response = match next.call(req).await {
            Ok(response) => response.into_response(),
            Err(err) => super::error_converter::respond(err),
        };
        let (status, latency_ms) = (
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0,
        );
        // Container probes call every few seconds; their successes would drown the log.
        if probe && response.status().is_success() {
            tracing::debug!(status, latency_ms, "request completed");
        } else {
            tracing::info!(status, latency_ms, "request completed");
        }
        response
    })
    .instrument(span)
    .await;
    if let Some(header) = header {
        response.headers_mut().insert(HEADER, header);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn ordinary_ids_are_kept() {
        assert!(is_valid("3f2c9a"));
        assert!(is_valid("req-1.2_3:4"));
        assert!(is_valid(&"a".repeat(128)));
    }

    #[test]
    fn empty_long_or_unusual_ids_are_replaced() {
        assert!(!is_valid(""));
        assert!(!is_valid(&"a".repeat(129)));
        assert!(!is_valid("has space"));
        assert!(!is_valid("line\nbreak"));
        assert!(!is_valid("tab\there"));
        assert!(!is_valid("ünïcode"));
        assert!(!is_valid("<script>"));
    }
}
