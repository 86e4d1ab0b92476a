//! Authentication: Google ID tokens in, our own JWT out, and the bearer scheme every
//! protected operation declares.

pub mod google;
pub mod jwt;

use entities::user;
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::EntityTrait;

use crate::{error::ApiError, state::AppState};

pub const INVALID_CREDENTIALS: &str = "Could not validate credentials";

/// `Authorization: Bearer <JWT>`; the operation receives the active user it names.
#[derive(SecurityScheme)]
#[oai(
    rename = "HTTPBearer",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "authenticate"
)]
pub struct BearerAuth(pub user::Model);

/// The active user a token names. A bad token or a missing user is 401, an inactive user
/// 400 (as the old backend answered); nothing here reaches an operation's body.
pub async fn user_for_token(state: &AppState, token: &str) -> Result<user::Model, ApiError> {
    let unauthorized = || ApiError::unauthorized(INVALID_CREDENTIALS, Some("Bearer"));
    let user_id = jwt::verify(token, &state.settings.secret_key).map_err(|err| {
        tracing::info!(reason = %err, "bearer token refused");
        unauthorized()
    })?;
    let found = state
        .db
        .read(|conn| async move { user::Entity::find_by_id(user_id).one(&conn).await })
        .await?;
    match found {
        None => Err(unauthorized()),
        Some(user) if !user.is_active => Err(ApiError::bad_request("Inactive user")),
        Some(user) => Ok(user),
    }
}

async fn authenticate(req: &Request, bearer: Bearer) -> poem::Result<user::Model> {
    let state = req.data::<AppState>().ok_or_else(|| {
        poem::Error::from_string(
            "application state missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })?;
    Ok(user_for_token(state, &bearer.token).await?)
}
