//! A panicking handler answers 500 in the JSON error shape; Sentry's panic hook has
//! already reported it with the request's hub.

use std::any::Any;

use poem::{IntoResponse, Response};

use crate::error::ApiError;

pub fn response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %message, "request handler panicked");
    ApiError::internal_unreported().into_response()
}
