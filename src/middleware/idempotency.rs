//! The `Idempotency-Key` header on writes: a repeat of a request (same key, same user,
//! same operation, and the same path, query and body) gets the first answer again and
//! changes nothing; the same key with another request of that operation is 422; a repeat
//! while the first still runs is 409.
//!
//! A key is the signed-in user's, for one operation (method and path template), as the
//! IETF draft scopes a key to its resource: a token refreshed between an attempt and its
//! retry is the same user, and the same key sent to another operation is another key. So
//! the caller is authenticated first, and a request that is not is left to its operation's
//! 401 without touching the store.
//!
//! This layer does not claim the key itself: it hands the claim to the request, whose
//! first write makes it in its own statement or transaction (`db::keys`), so claim and
//! change commit together. Afterwards it keeps the answer of a request whose write made
//! the claim, and answers a request whose key another holds with that one's answer.

use std::{borrow::Cow, sync::Arc, time::Duration};

use poem::{
    Body, Endpoint, IntoResponse, Request, Response,
    http::{Method, StatusCode},
};
use poem_openapi::{
    OpenApi,
    registry::{MetaApi, MetaOperationParam, MetaParamIn, MetaSchema, MetaSchemaRef, Registry},
    types::Type,
};
use ring::digest::{Context, SHA256};
use uuid::Uuid;

use super::error_converter;
use crate::{
    auth,
    db::{
        Db,
        keys::{self, Claim, Fate, Held, Pending},
    },
    error::{ApiError, ValidationDetail},
    route_table::RouteTable,
    service::KEY_HELD,
    state::AppState,
};

pub const HEADER: &str = "idempotency-key";
/// Set on an answer that repeats a stored one.
pub const REPLAYED: &str = "idempotent-replayed";
const MAX_KEY_LEN: usize = 255;
/// Routes whose answers hold access tokens.
const TOKEN_ROUTES: [&str; 2] = ["/api/v1/auth/google/mobile", "/api/v1/auth/refresh"];

fn hex_digest(parts: &[&[u8]]) -> String {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 1..=255 visible ASCII characters.
fn is_valid(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether a request of `method` to `path` is kept under its `Idempotency-Key`.
fn takes_a_key(method: &Method, path: &str) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && !TOKEN_ROUTES.contains(&path)
}

/// The API `T`, with the `Idempotency-Key` header declared on each operation this layer
/// keeps answers for: declared here once, by the rule the layer applies, rather than on
/// every write. Its routes are `T`'s.
pub struct WithKeyHeader<T>(pub T);

impl<T: OpenApi> OpenApi for WithKeyHeader<T> {
    fn meta() -> Vec<MetaApi> {
        let mut apis = T::meta();
        for path in apis.iter_mut().flat_map(|api| api.paths.iter_mut()) {
            for operation in &mut path.operations {
                if takes_a_key(&operation.method, &path.path) {
                    operation.params.insert(0, key_param());
                }
            }
        }
        apis
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn add_routes(
        self,
        route_table: &mut std::collections::HashMap<
            String,
            std::collections::HashMap<Method, poem::endpoint::BoxEndpoint<'static>>,
        >,
    ) {
        self.0.add_routes(route_table);
    }
}

fn key_param() -> MetaOperationParam {
    MetaOperationParam {
        // As poem-openapi writes a declared header's name.
        name: HEADER.to_uppercase(),
        schema: Option::<KeyHeader>::schema_ref(),
        in_type: MetaParamIn::Header,
        description: Some(
            "Optional. Repeating a write with the same key and body answers the first response \
             again (kept 24 hours) instead of writing twice; the same key with another body is \
             422, and while the first is still running 409."
                .to_owned(),
        ),
        required: Option::<KeyHeader>::IS_REQUIRED,
        deprecated: false,
        explode: true,
        style: None,
    }
}

/// The `Idempotency-Key` header as the document describes it, so clients (and the
/// conformance fuzzer) know which keys are refused before they send one. This layer, not
/// the operation, reads the header: the type only documents it.
pub struct KeyHeader;

impl Type for KeyHeader {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "IdempotencyKey".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            min_length: Some(1),
            max_length: Some(MAX_KEY_LEN),
            // `is_valid`'s visible ASCII: 0x21 to 0x7E.
            pattern: Some("^[!-~]+$".to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn register(_registry: &mut Registry) {}

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

fn invalid_key() -> ApiError {
    ApiError::validation(vec![ValidationDetail {
        loc: vec!["header".into(), "Idempotency-Key".into()],
        msg: format!("must be 1 to {MAX_KEY_LEN} visible ASCII characters"),
        kind: "value_error".into(),
    }])
}

/// The scope keys are kept under: the user, and the operation (method and template).
fn scope_of(user_id: Uuid, method: &Method, template: &str) -> String {
    hex_digest(&[
        user_id.as_bytes(),
        method.as_str().as_bytes(),
        template.as_bytes(),
    ])
}

/// `stale_after`: how long a claim without an answer may stand before it is taken to
/// belong to a request that died; longer than the request deadline.
pub async fn layer<E: Endpoint>(
    next: E,
    mut req: Request,
    stale_after: Duration,
    route_table: Arc<RouteTable>,
) -> poem::Result<Response> {
    // Sign-in answers carry access tokens, which are not to be kept at rest; repeating a
    // sign-in is harmless anyway. A request the router will refuse (no such route, or not
    // with this method) gets the router's 404 or 405 whatever its key, and keeps nothing.
    let operation = takes_a_key(req.method(), req.uri().path())
        .then(|| route_table.operation_at(req.method(), req.uri().path()))
        .flatten();
    let (Some(template), Some(key)) = (operation, req.headers().get(HEADER).cloned()) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let state = req.data::<AppState>().cloned().ok_or_else(|| {
        poem::Error::from_string(
            "application state missing",
            StatusCode::INTERNAL_SERVER_ERROR,
        )
    })?;
    let db = state.db.clone();
    let user_id = match auth::signed_in(&state.authenticator, &mut req).await {
        Err(err) => return Ok(err.into_response()),
        Ok(Some(user_id)) => user_id,
        // The operation answers 401 (or 400 for an inactive user) before it does anything.
        Ok(None) => return next.call(req).await.map(IntoResponse::into_response),
    };
    let key = match key.to_str() {
        Ok(key) if is_valid(key) => key.to_owned(),
        _ => return Ok(invalid_key().into_response()),
    };
    let body = req.take_body().into_bytes().await?;
    let scope = scope_of(user_id, req.method(), template);
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    let request_hash = hex_digest(&[req.method().as_str().as_bytes(), target.as_bytes(), &body]);
    req.set_body(Body::from_bytes(body));

    // The request's first write makes the claim with its own change (see `db::keys`).
    let pending = Pending::new(Claim::client(scope, key, request_hash, stale_after));
    let response = match pending.over(next.call(req)).await {
        Ok(response) => response.into_response(),
        Err(err) => error_converter::respond(err),
    };
    match pending.fate() {
        // Nothing was written, so nothing is kept: a repeat runs again.
        Fate::Unmade => Ok(response),
        Fate::Taken => Ok(answer_held(&db, &pending.claim()).await),
        Fate::Made => keep(&db, &pending.claim(), response).await,
    }
}

/// Keeps the answer of a request whose write made its claim.
async fn keep(db: &Db, claim: &Claim, response: Response) -> poem::Result<Response> {
    let status = response.status();
    if status.is_server_error() {
        // The write committed, so the claim must stand; a repeat gets 409 until it goes
        // stale, rather than writing twice.
        tracing::error!(%status, "a request failed after its write committed; its key keeps no answer");
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = body.into_bytes().await?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if let Err(err) = keys::complete(db, claim, status.as_u16(), text).await {
        tracing::warn!(error = %err, "could not store the answer for an idempotency key");
    }
    Ok(Response::from_parts(parts, Body::from_bytes(bytes)))
}

/// The answer to a request whose key another request holds.
async fn answer_held(db: &Db, claim: &Claim) -> Response {
    match keys::held(db, claim).await {
        Err(err) => ApiError::from(err).into_response(),
        Ok(Held::InProgress) => ApiError::conflict(KEY_HELD).into_response(),
        Ok(Held::Mismatch) => {
            ApiError::unprocessable("This Idempotency-Key was used with a different request")
                .into_response()
        }
        Ok(Held::Replay { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = Response::builder().status(status);
            if !body.is_empty() {
                response = response.content_type("application/json; charset=utf-8");
            }
            response.header(REPLAYED, "true").body(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::http::Method;
    use uuid::Uuid;

    use super::{hex_digest, is_valid, scope_of};

    #[test]
    fn keys_are_one_to_255_visible_characters() {
        assert!(is_valid("a"));
        assert!(is_valid("client-7f3a:retry#1"));
        assert!(is_valid(&"k".repeat(255)));
        assert!(!is_valid(""));
        assert!(!is_valid(&"k".repeat(256)));
        assert!(!is_valid("has space"));
        assert!(!is_valid("tab\tkey"));
        assert!(!is_valid("clé"));
    }

    #[test]
    fn a_scope_is_one_users_one_operation() {
        let (olive, max) = (Uuid::new_v4(), Uuid::new_v4());
        let todos = "/api/v1/todos";
        assert_eq!(
            scope_of(olive, &Method::POST, todos),
            scope_of(olive, &Method::POST, todos)
        );
        assert_ne!(
            scope_of(olive, &Method::POST, todos),
            scope_of(max, &Method::POST, todos)
        );
        assert_ne!(
            scope_of(olive, &Method::POST, todos),
            scope_of(olive, &Method::POST, "/api/v1/expenses")
        );
        assert_ne!(
            scope_of(olive, &Method::PUT, "/api/v1/todos/{todo_id}"),
            scope_of(olive, &Method::DELETE, "/api/v1/todos/{todo_id}")
        );
    }

    #[test]
    fn digests_keep_parts_apart() {
        assert_ne!(hex_digest(&[b"ab", b"c"]), hex_digest(&[b"a", b"bc"]));
        assert_eq!(hex_digest(&[b"x"]).len(), 64);
    }
}
