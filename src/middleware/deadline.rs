//! The request deadline: a request still running after it gets a 504, and its work is
//! dropped (an open transaction rolls back).

use std::time::Duration;

use poem::{Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;

pub async fn layer<E: Endpoint>(
    next: E,
    req: Request,
    deadline: Duration,
) -> poem::Result<Response> {
    match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(result) => result.map(IntoResponse::into_response),
        Err(_) => {
            tracing::warn!(
                deadline_ms = deadline.as_millis() as u64,
                "request deadline passed"
            );
            Ok(ApiError::timeout().into_response())
        }
    }
}
