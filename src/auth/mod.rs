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
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

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

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<user::Model> {
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
