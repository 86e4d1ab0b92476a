//! Authentication: Google ID tokens in, our own JWT out, and the bearer scheme every
//! protected operation declares.

pub mod callers;
pub mod google;
pub mod jwt;

use crate::{
    error::ApiError,
    service::users::{self, TokenUser},
    state::AppState,
};
use entities::user;
use poem::{
    Request,
    web::headers::{self, HeaderMapExt},
};
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

pub const INVALID_CREDENTIALS: &str = "Could not validate credentials";

/// `Authorization: Bearer <JWT>`; the operation receives the active user it names.
// A bad token or a missing user is 401, an inactive user 400; nothing here reaches an
// operation's body.
#[derive(SecurityScheme)]
#[oai(
    rename = "HTTPBearer",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "authenticate"
)]
pub struct BearerAuth(pub user::Model);

/// Why a token does not sign anyone in.
pub enum TokenRefused {
    /// Not one of ours, expired, or its user is gone.
    Invalid,
    Inactive,
}

/// The active user a token names, or why there is none.
pub async fn user_for_token(
    state: &AppState,
    token: &str,
) -> Result<Result<user::Model, TokenRefused>, ApiError> {
    let Ok(user_id) = jwt::verify(token, &state.settings.secret_key)
        .inspect_err(|err| tracing::info!(reason = %err, "bearer token refused"))
    else {
        return Ok(Err(TokenRefused::Invalid));
    };
    if let Some(user) = state.callers.get(user_id) {
        return Ok(Ok(user));
    }
    let ticket = state.callers.ticket();
    Ok(match users::for_token(&state.db, user_id).await? {
        TokenUser::Active(user) => {
            state.callers.keep(ticket, &user);
            Ok(user)
        }
        TokenUser::Inactive => Err(TokenRefused::Inactive),
        TokenUser::Unknown => Err(TokenRefused::Invalid),
    })
}

/// A request's bearer token and the active user it names, found by a layer in front of
/// the operation (the idempotency layer, which keeps keys per user): the operation's
/// checker takes it instead of asking again.
#[derive(Clone)]
struct SignedIn {
    token: String,
    user: user::Model,
}

/// The active user `req`'s bearer token names, remembered on the request for its
/// operation; none without a token that signs anyone in (the operation then answers 401,
/// or 400 for an inactive user, as it would anyway).
pub async fn signed_in(state: &AppState, req: &mut Request) -> Result<Option<Uuid>, ApiError> {
    let Some(bearer) = req
        .headers()
        .typed_get::<headers::Authorization<headers::authorization::Bearer>>()
    else {
        return Ok(None);
    };
    let token = bearer.token().to_owned();
    Ok(match user_for_token(state, &token).await? {
        Ok(user) => {
            let id = user.id;
            req.extensions_mut().insert(SignedIn { token, user });
            Some(id)
        }
        Err(_) => None,
    })
}

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<user::Model> {
    if let Some(signed_in) = req.extensions().get::<SignedIn>()
        && signed_in.token == bearer.token
    {
        return Ok(signed_in.user.clone());
    }
    let state = req.data::<AppState>().ok_or_else(|| {
        poem::Error::from_string(
            "application state missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })?;
    // An inactive user is 400, as the old backend answered.
    match user_for_token(state, &bearer.token).await? {
        Ok(user) => Ok(user),
        Err(TokenRefused::Invalid) => {
            Err(ApiError::unauthorized(INVALID_CREDENTIALS, Some("Bearer")).into())
        }
        Err(TokenRefused::Inactive) => Err(ApiError::bad_request("Inactive user").into()),
    }
}
