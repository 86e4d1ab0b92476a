//! `Probe<R>`: the response of a probe that answers 503 with a body of its own. A probe
//! still passes through the middleware, which can answer it with an `ApiError` (a panic's
//! 500, the deadline's 504, an oversized body's 413), so the document lists those too;
//! a status the probe answers itself keeps the probe's body.

use poem::{IntoResponse, Response};
use poem_openapi::{
    ApiResponse,
    registry::{MetaResponses, Registry},
};

use crate::error::ApiError;

pub struct Probe<R>(pub R);

impl<R: ApiResponse> ApiResponse for Probe<R> {
    fn meta() -> MetaResponses {
        let mut responses = R::meta().responses;
        let own: Vec<Option<u16>> = responses.iter().map(|response| response.status).collect();
        responses.extend(
            ApiError::meta()
                .responses
                .into_iter()
                .filter(|response| !own.contains(&response.status)),
        );
        responses.sort_by_key(|response| response.status);
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        R::register(registry);
        ApiError::register(registry);
    }
}

impl<R: IntoResponse> IntoResponse for Probe<R> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}
