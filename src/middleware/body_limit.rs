//! Refuses request bodies over the configured size with 413, whether the client declared
//! the length or streamed the body in chunks, before any handler buffers it.

use poem::{Endpoint, IntoResponse, Request, Response, error::ReadBodyError, http::header};

use crate::error::ApiError;

pub async fn layer<E: Endpoint>(next: E, mut req: Request, limit: usize) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            return Ok(ApiError::payload_too_large(limit).into_response());
        }
        Some(_) => {}
        // No declared length: read at most `limit` bytes of the stream ourselves.
        None => match req.take_body().into_bytes_limit(limit).await {
            Ok(bytes) => req.set_body(bytes),
            Err(ReadBodyError::PayloadTooLarge) => {
                return Ok(ApiError::payload_too_large(limit).into_response());
            }
            Err(err) => {
                return Ok(ApiError::bad_request(format!(
                    "Could not read the request body: {err}"
                ))
                .into_response());
            }
        },
    }
    next.call(req).await.map(IntoResponse::into_response)
}
