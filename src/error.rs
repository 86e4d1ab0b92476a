//! `ApiError`: the one error type of the service. It is both the JSON error schema of the
//! OpenAPI document and every error response the service sends, whatever produced it.

use std::error::Error as StdError;

use poem_openapi::{ApiResponse, Object, payload::Json};
use sea_orm::DbErr;

use crate::{db::retry, request_context, service::ServiceError};

/// Seconds a client should wait before retrying when the database is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 5;

pub type ApiResult<T> = Result<T, ApiError>;

/// Why a text holding a NUL is refused: no PostgreSQL `text` (in a UTF-8 database) holds it.
const INVALID_CREDENTIALS: &str = "Could not validate credentials";

pub const NUL_REFUSED: &str = "must not contain the NUL character (U+0000)";

/// The body of every error response.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ErrorBody {
    /// Stable snake_case error code, e.g. `not_found`, `validation_error`.
    pub error: String,
    /// Human-readable description.
    pub message: String,
    /// The same text as `message`, for clients of the old backend that read `detail`.
    pub detail: String,
    /// The HTTP status code of the response.
    pub status: u16,
    /// The request's id, also sent as the `X-Request-ID` header.
    pub request_id: String,
    /// Which parts of the request failed validation (422 only).
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<Vec<ValidationDetail>>,
    /// Seconds to wait before retrying (503 only).
    #[oai(skip_serializing_if_is_none)]
    pub retry_after: Option<u32>,
}

/// One validation failure: where it is, what is wrong, and its kind.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ValidationDetail {
    /// Location of the offending value, e.g. `["body"]` or `["path", "todo_id"]`.
    pub loc: Vec<String>,
    pub msg: String,
    #[oai(rename = "type")]
    pub kind: String,
}

#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request cannot be carried out in the current state.
    #[oai(status = 400)]
    BadRequest(Json<Box<ErrorBody>>),
    /// Missing or invalid credentials.
    #[oai(status = 401)]
    Unauthorized(
        Json<Box<ErrorBody>>,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// The caller may not access this resource.
    #[oai(status = 403)]
    Forbidden(Json<Box<ErrorBody>>),
    /// No such resource or route.
    #[oai(status = 404)]
    NotFound(Json<Box<ErrorBody>>),
    /// The route exists but not with this method; `Allow` lists the methods it has.
    #[oai(status = 405)]
    MethodNotAllowed(
        Json<Box<ErrorBody>>,
        #[oai(header = "Allow")] Option<String>,
    ),
    /// The request conflicts with existing data.
    #[oai(status = 409)]
    Conflict(Json<Box<ErrorBody>>),
    /// The request body is larger than the service accepts.
    #[oai(status = 413)]
    PayloadTooLarge(Json<Box<ErrorBody>>),
    /// The request is malformed: bad JSON or a body that is not JSON, a wrong type, a failed
    /// bound, a bad id.
    #[oai(status = 422)]
    Validation(Json<Box<ErrorBody>>),
    /// An unexpected error; details are logged and reported, never sent.
    #[oai(status = 500)]
    Internal(Json<Box<ErrorBody>>),
    /// The database (or another dependency) is unavailable; retry after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<Box<ErrorBody>>, #[oai(header = "Retry-After")] u32),
    /// The request did not finish within the service's deadline.
    #[oai(status = 504)]
    Timeout(Json<Box<ErrorBody>>),
}

fn body(status: u16, code: &str, message: impl Into<String>) -> Json<Box<ErrorBody>> {
    let message = message.into();
    Json(Box::new(ErrorBody {
        error: code.to_owned(),
        detail: message.clone(),
        message,
        status,
        request_id: request_context::request_id(),
        details: None,
        retry_after: None,
    }))
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(body(400, "bad_request", message))
    }

    /// A 401; `challenge` is sent as `WWW-Authenticate` (for a missing token: `Bearer`).
    pub fn unauthorized(message: impl Into<String>, challenge: Option<&str>) -> Self {
        Self::Unauthorized(
            body(401, "unauthorized", message),
            challenge.map(str::to_owned),
        )
    }

    /// The 401 for a token that signs nobody in (not ours, expired, or its account gone).
    pub fn invalid_credentials() -> Self {
        Self::unauthorized(INVALID_CREDENTIALS, Some("Bearer"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(body(403, "forbidden", message))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(body(404, "not_found", message))
    }

    /// A 405; `allow` is sent as `Allow`, the methods the route has.
    pub fn method_not_allowed(allow: Option<String>) -> Self {
        Self::MethodNotAllowed(
            body(
                405,
                "method_not_allowed",
                "Method not allowed for this route",
            ),
            allow,
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(body(409, "conflict", message))
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::PayloadTooLarge(body(
            413,
            "payload_too_large",
            format!("Request body exceeds the limit of {limit} bytes"),
        ))
    }

    /// A JSON body of more values than any request needs; refused before it is parsed.
    pub fn too_many_json_values(limit: usize) -> Self {
        Self::PayloadTooLarge(body(
            413,
            "payload_too_large",
            format!("Request body holds more than {limit} JSON values"),
        ))
    }

    /// A 422 about the request as a whole rather than one field.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::Validation(body(422, "validation_error", message))
    }

    pub fn validation(details: Vec<ValidationDetail>) -> Self {
        let mut body = body(422, "validation_error", "Invalid request data");
        body.details = Some(details);
        Self::Validation(body)
    }

    /// A 500 for `cause`: logged with its source chain and reported to Sentry (tagged with
    /// the request id by the request's hub); the client sees only a generic message.
    pub fn internal(cause: &(dyn StdError + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(cause), "unexpected error");
        sentry::capture_error(cause);
        Self::internal_unreported()
    }

    /// A 500 whose cause was already logged and reported (a panic, via Sentry's panic hook).
    pub fn internal_unreported() -> Self {
        Self::Internal(body(
            500,
            "internal_server_error",
            "An unexpected error occurred",
        ))
    }

    pub fn unavailable() -> Self {
        let mut body = body(
            503,
            "database_error",
            "Database temporarily unavailable. Please retry.",
        );
        body.retry_after = Some(RETRY_AFTER_SECONDS);
        Self::Unavailable(body, RETRY_AFTER_SECONDS)
    }

    /// A 503 for a dependency other than the database (Google's signing keys, say).
    pub fn dependency_unavailable(message: impl Into<String>) -> Self {
        let mut body = body(503, "service_unavailable", message);
        body.retry_after = Some(RETRY_AFTER_SECONDS);
        Self::Unavailable(body, RETRY_AFTER_SECONDS)
    }

    pub fn timeout() -> Self {
        Self::Timeout(body(
            504,
            "timeout",
            "The request took too long to complete",
        ))
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(message) => Self::not_found(message),
            ServiceError::Forbidden(message) => Self::forbidden(message),
            ServiceError::Refused(message) => Self::bad_request(message),
            ServiceError::Conflict(message) => Self::conflict(message),
            ServiceError::SignedOut => Self::invalid_credentials(),
            ServiceError::Db(err) => err.into(),
            ServiceError::Internal(err) => Self::internal(&err),
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::RecordNotFound(what) => Self::not_found(what.clone()),
            _ if retry::is_transient(&err) => {
                tracing::warn!(error = %ErrorChain(&err), "database unavailable");
                Self::unavailable()
            }
            _ if retry::is_unique_violation(&err) => {
                Self::conflict("The resource conflicts with an existing one")
            }
            // Only a concurrent request can get here (handlers check what they refer to
            // first): the household went while an item was added to it, say. Trying again
            // gets the answer the state now has.
            _ if retry::is_foreign_key_violation(&err) => {
                Self::conflict("The resource changed while the request ran. Please retry.")
            }
            _ => Self::internal(&err),
        }
    }
}

/// Displays an error with its whole `source()` chain, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(err) = source {
            write!(f, ": {err}")?;
            source = err.source();
        }
        Ok(())
    }
}
