//! Turns every `poem::Error` (parse and validation failures, router 404/405, anything a
//! layer or extractor raised) into an `ApiError` response. Errors a handler returned as
//! `ApiError` are already responses and pass through unchanged.

use std::sync::Arc;

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

use serde_json::Value;

use super::body_limit::ReadBody;
use crate::{
    error::{ApiError, NUL_REFUSED, ValidationDetail},
    route_table::RouteTable,
};

pub async fn layer<E: Endpoint>(
    next: E,
    req: Request,
    route_table: Arc<RouteTable>,
) -> poem::Result<Response> {
    let uri = req.uri().clone();
    let body = req.extensions().get::<ReadBody>().cloned();
    let mut response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(err) => respond_reading(err, body.as_ref()),
    };
    // The router's 405 does not say which methods the route has; the document does. Here,
    // outside every layer that answers or replays a 405, so each one gets it.
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::ALLOW)
        && let Some(allow) = route_table.allow_header(uri.path())
        && let Ok(value) = HeaderValue::from_str(&allow)
    {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Ok(response)
}

/// The response for any error: an `ApiError` as it is, anything else converted.
pub fn respond(err: poem::Error) -> Response {
    respond_reading(err, None)
}

/// As `respond`, pointing into `body` (the request's, as read) where the error is about it.
fn respond_reading(err: poem::Error, body: Option<&ReadBody>) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    // Keep the operation id poem-openapi attached, for the metrics' route label.
    let operation = err.data::<OperationId>().copied();
    let mut response = convert(err, body).into_response();
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

/// Where in `body` the first string holding a NUL is, as `loc` parts after `body`.
/// poem-openapi's message for a field's type error does not name the field, and `StrictString`
/// cannot know it, so the body it came from is searched.
fn path_to_nul(body: &[u8]) -> Option<Vec<String>> {
    fn search(value: &Value, path: &mut Vec<String>) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .any(|(i, item)| search_in(i.to_string(), item, path)),
            Value::Object(fields) => fields
                .iter()
                .any(|(name, field)| search_in(name.clone(), field, path)),
            _ => false,
        }
    }
    fn search_in(part: String, value: &Value, path: &mut Vec<String>) -> bool {
        path.push(part);
        let found = search(value, path);
        if !found {
            path.pop();
        }
        found
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let mut path = Vec::new();
    search(&value, &mut path).then_some(path)
}

fn convert(err: poem::Error, body: Option<&ReadBody>) -> ApiError {
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        let named = field_named_in(&e.reason).map(|name| vec![name.to_owned()]);
        let nul = || {
            body.filter(|_| e.reason.contains(NUL_REFUSED))
                .and_then(|body| path_to_nul(&body.0))
        };
        let loc = std::iter::once("body".to_owned())
            .chain(named.or_else(nul).unwrap_or_default())
            .collect();
        return ApiError::validation(vec![ValidationDetail {
            loc,
            msg: e.reason.clone(),
            kind: "value_error".to_owned(),
        }]);
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
    if let Some(e) = err.downcast_ref::<ContentTypeError>() {
        // 422, not 415: the old backend's clients read a body of another type as invalid.
        let sent = match e {
            ContentTypeError::NotSupported { content_type } => content_type.as_str(),
            ContentTypeError::ExpectContentType => "no Content-Type",
        };
        let msg = format!("expected a JSON body (Content-Type: application/json), got {sent}");
        return ApiError::validation(vec![detail(&["body"], &msg, "value_error")]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_string_holding_a_nul_is_found_at_any_depth() {
        let body = br#"{"a": "clean", "b": [{"c": 1}, {"d": "x\u0000y"}], "e": "\u0000"}"#;
        assert_eq!(
            path_to_nul(body),
            Some(vec!["b".to_owned(), "1".to_owned(), "d".to_owned()])
        );
        assert_eq!(path_to_nul(br#"{"a": ["clean"]}"#), None);
        assert_eq!(path_to_nul(b"not json"), None);
    }
}
