//! Turns every `poem::Error` (parse and validation failures, router 404/405, anything a
//! layer or extractor raised) into an `ApiError` response. Errors a handler returned as
//! `ApiError` are already responses and pass through unchanged.

use poem::{
    Endpoint, IntoResponse, Request, Response,
    error::{MethodNotAllowedError, NotFoundError},
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{
    OperationId,
    error::{
        AuthorizationError, ContentTypeError, ParseMultipartError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    },
};

use crate::{
    api::routes,
    error::{ApiError, ValidationDetail},
};

pub async fn layer<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let uri = req.uri().clone();
    let mut response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(err) => respond(err),
    };
    // The router's 405 does not say which methods the route has; the document does. Here,
    // outside every layer that answers or replays a 405, so each one gets it.
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::ALLOW)
        && let Some(allow) = routes::table().allow_header(uri.path())
        && let Ok(value) = HeaderValue::from_str(&allow)
    {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Ok(response)
}

/// The response for any error: an `ApiError` as it is, anything else converted.
pub fn respond(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    // Keep the operation id poem-openapi attached, for the metrics' route label.
    let operation = err.data::<OperationId>().copied();
    let mut response = convert(err).into_response();
    if let Some(operation) = operation {
        response.set_data(operation);
    }
    response
}

fn detail(loc: &[&str], msg: &str, kind: &str) -> ValidationDetail {
    ValidationDetail {
        loc: loc.iter().map(|part| (*part).to_owned()).collect(),
        msg: msg.to_owned(),
        kind: kind.to_owned(),
    }
}

/// poem-openapi's messages name the offending field as ``field `name` ``.
fn field_named_in(reason: &str) -> Option<&str> {
    let (_, rest) = reason.split_once("field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

pub fn convert(err: poem::Error) -> ApiError {
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        let loc: Vec<&str> = std::iter::once("body")
            .chain(field_named_in(&e.reason))
            .collect();
        return ApiError::validation(vec![detail(&loc, &e.reason, "value_error")]);
    }
    if let Some(e) = err.downcast_ref::<ParseMultipartError>() {
        return ApiError::validation(vec![detail(&["body"], &e.reason, "value_error")]);
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        // poem-openapi names path parameters `param0`, `param1`, ... when extracting them.
        let is_path = e
            .name
            .strip_prefix("param")
            .is_some_and(|n| n.parse::<u32>().is_ok());
        let loc: &[&str] = if is_path {
            &["path"]
        } else {
            &["query", e.name]
        };
        return ApiError::validation(vec![detail(loc, &e.reason, "value_error")]);
    }
    if let Some(e) = err.downcast_ref::<ParsePathError>() {
        return ApiError::validation(vec![detail(&["path", e.name], &e.reason, "value_error")]);
    }
    if err.is::<AuthorizationError>() {
        return ApiError::unauthorized("Not authenticated", Some("Bearer"));
    }
    if err.is::<ContentTypeError>() {
        return ApiError::unsupported_media_type(err.to_string());
    }
    if err.is::<NotFoundError>() {
        return ApiError::not_found("Not Found");
    }
    if err.is::<MethodNotAllowedError>() {
        return ApiError::method_not_allowed(None);
    }
    match err.status() {
        StatusCode::UNAUTHORIZED => ApiError::unauthorized(err.to_string(), Some("Bearer")),
        StatusCode::FORBIDDEN => ApiError::forbidden(err.to_string()),
        StatusCode::NOT_FOUND => ApiError::not_found(err.to_string()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(None),
        StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::validation(vec![detail(&["request"], &err.to_string(), "value_error")])
        }
        status if status.is_client_error() => ApiError::bad_request(err.to_string()),
        _ => ApiError::internal(&err),
    }
}
