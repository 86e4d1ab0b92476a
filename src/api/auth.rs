//! `/api/v1/auth`: sign in with a Google ID token, refresh, read and update the profile,
//! and the account's rights: a copy of its data, its erasure, AI features off.

use entities::user;
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags, payload::Json};
use uuid::Uuid;

use super::{
    account_export::{self, AccountExport},
    households::NoContent,
    json_rows::JsonWritten,
    strict_string::StrictString,
    timestamp::Timestamp,
};
use crate::{
    auth::{BearerAuth, google::GoogleError, jwt},
    error::{ApiError, ApiResult, NUL_REFUSED, ValidationDetail},
    service::{
        account,
        users::{self, GoogleProfile, Profile, ProfileChanges},
    },
    state::AppState,
};

#[derive(Tags)]
enum Tag {
    /// Sign-in and the signed-in user's profile.
    Authentication,
}

#[derive(Object)]
struct GoogleTokenRequest {
    /// The ID token the app got from Google Sign-In.
    #[oai(validator(min_length = 1, max_length = 8192))]
    id_token: StrictString,
}

#[derive(Object)]
pub struct UserResponse {
    id: Uuid,
    email: String,
    full_name: String,
    google_id: String,
    #[oai(nullable)]
    profile_picture_url: Option<String>,
    is_active: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<user::Model> for UserResponse {
    fn from(user: user::Model) -> Self {
        Self {
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            google_id: user.google_id,
            profile_picture_url: user.profile_picture_url,
            is_active: user.is_active,
            created_at: user.created_at.into(),
            updated_at: user.updated_at.into(),
        }
    }
}

/// The signed-in user, with their choices.
#[derive(Object)]
pub(super) struct MeResponse {
    #[oai(flatten)]
    user: UserResponse,
    /// Whether AI features (chore suggestions) may use their household's data; on unless
    /// they turned it off.
    ai_features: bool,
}

impl MeResponse {
    pub(super) fn new(user: user::Model, ai_features: bool) -> Self {
        Self {
            user: user.into(),
            ai_features,
        }
    }
}

impl From<Profile> for MeResponse {
    fn from(profile: Profile) -> Self {
        Self::new(profile.user, profile.ai_features)
    }
}

#[derive(ApiResponse)]
enum ExportResponse {
    /// Everything the service holds of the signed-in user, as a file to keep.
    #[oai(status = 200)]
    Ok(
        JsonWritten<AccountExport>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

#[derive(Object)]
struct TokenResponse {
    access_token: String,
    /// The same JWT; present it to `/auth/refresh` for a new one.
    #[oai(nullable)]
    refresh_token: Option<String>,
    /// Always `bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    user: UserResponse,
}

#[derive(Object)]
struct RefreshTokenRequest {
    #[oai(validator(min_length = 1, max_length = 4096))]
    refresh_token: StrictString,
}

#[derive(Object)]
struct RefreshTokenResponse {
    access_token: String,
    expires_in: i64,
}

#[derive(Object)]
struct UserUpdate {
    /// Left unchanged when absent or null.
    #[oai(validator(min_length = 1, max_length = 255))]
    #[oai(nullable)]
    full_name: Option<StrictString>,
    /// Left unchanged when absent or null.
    #[oai(validator(max_length = 2048))]
    #[oai(nullable)]
    profile_picture_url: Option<StrictString>,
    /// `false` turns AI features off: suggestions are then empty and no AI provider is
    /// called. Left unchanged when absent or null.
    #[oai(nullable)]
    ai_features: Option<bool>,
}

#[derive(Object)]
struct MessageResponse {
    message: String,
}

fn access_token(state: &AppState, user_id: Uuid) -> ApiResult<(String, i64)> {
    let lifetime = state.settings.access_token_lifetime;
    let token = jwt::issue(user_id, &state.settings.secret_key, lifetime)
        .map_err(|err| ApiError::internal(&err))?;
    Ok((token, lifetime.as_secs() as i64))
}

fn google_error(err: GoogleError) -> ApiError {
    match err {
        GoogleError::Invalid(reason) => {
            ApiError::unauthorized(format!("Invalid Google token: {reason}"), Some("Bearer"))
        }
        GoogleError::KeysUnavailable(_) => ApiError::dependency_unavailable(
            "Google sign-in is temporarily unavailable. Please retry.",
        ),
    }
}

/// Refused when a claim holds a NUL, which neither database stores as text.
fn storable(profile: &GoogleProfile) -> ApiResult<()> {
    let claims = [
        Some(&profile.sub),
        Some(&profile.email),
        profile.name.as_ref(),
        profile.picture.as_ref(),
    ];
    if claims
        .into_iter()
        .flatten()
        .any(|claim| claim.contains('\0'))
    {
        return Err(ApiError::validation(vec![ValidationDetail {
            loc: vec!["body".into(), "id_token".into()],
            msg: format!("the token's claims {NUL_REFUSED}"),
            kind: "value_error".into(),
        }]));
    }
    Ok(())
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/api/v1/auth", tag = "Tag::Authentication")]
impl AuthApi {
    /// Sign in with a Google ID token from the mobile app; answers our access token.
    #[oai(
        path = "/google/mobile",
        method = "post",
        operation_id = "google_login_mobile"
    )]
    async fn google_mobile(
        &self,
        state: Data<&AppState>,
        body: Json<GoogleTokenRequest>,
    ) -> ApiResult<Json<TokenResponse>> {
        let identity = state
            .google
            .verify(&body.0.id_token)
            .await
            .map_err(google_error)?;
        let Some(email) = identity.email.clone() else {
            return Err(ApiError::bad_request(
                "Invalid Google token: missing required fields",
            ));
        };
        let profile = GoogleProfile {
            sub: identity.sub,
            email,
            name: identity.name,
            picture: identity.picture,
        };
        storable(&profile)?;
        let user = users::sign_in(&state.db, profile).await?;
        state.authenticator.forget(user.id);
        let (token, expires_in) = access_token(&state, user.id)?;
        Ok(Json(TokenResponse {
            refresh_token: Some(token.clone()),
            access_token: token,
            token_type: "bearer".to_owned(),
            expires_in,
            user: user.into(),
        }))
    }

    /// Exchange a still-valid token for a fresh one.
    #[oai(path = "/refresh", method = "post", operation_id = "refresh_token")]
    async fn refresh(
        &self,
        state: Data<&AppState>,
        body: Json<RefreshTokenRequest>,
    ) -> ApiResult<Json<RefreshTokenResponse>> {
        let Ok(user) = state
            .authenticator
            .user_for_token(&body.0.refresh_token)
            .await?
        else {
            return Err(ApiError::invalid_credentials());
        };
        let (access_token, expires_in) = access_token(&state, user.id)?;
        Ok(Json(RefreshTokenResponse {
            access_token,
            expires_in,
        }))
    }

    /// The signed-in user.
    #[oai(path = "/me", method = "get", operation_id = "get_current_user")]
    async fn me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<Json<MeResponse>> {
        let ai_features = users::ai_features(&state.db, auth.caller()).await?;
        Ok(Json(MeResponse::new(auth.0, ai_features)))
    }

    /// Update the signed-in user's name, picture or AI choice.
    ///
    /// Absent or null fields are left alone.
    #[oai(path = "/me", method = "patch", operation_id = "update_current_user")]
    async fn update_me(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<UserUpdate>,
    ) -> ApiResult<Json<MeResponse>> {
        let UserUpdate {
            full_name,
            profile_picture_url,
            ai_features,
        } = body.0;
        let changes = ProfileChanges {
            full_name: full_name.map(|name| name.0),
            picture: profile_picture_url.map(|url| url.0),
            ai_features,
        };
        let profile = users::update_profile(&state.db, auth.0, changes).await?;
        state.authenticator.forget(profile.user.id);
        Ok(Json(profile.into()))
    }

    /// Delete the signed-in user's account.
    ///
    /// A household they are the only member of is
    /// deleted with everything in it; in a shared one their membership ends (its only
    /// owner's passes to the member who joined earliest) and what they made stays, with
    /// what was assigned to them unassigned; pending invites they sent are revoked; their
    /// profile is erased. Every token they hold stops working before this answers.
    #[oai(path = "/me", method = "delete", operation_id = "delete_current_user")]
    async fn delete_me(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<NoContent> {
        account::erase(&state.db, auth.caller()).await?;
        state.authenticator.erased(auth.0.id).await;
        Ok(NoContent::Done)
    }

    /// A copy of everything the service holds of the signed-in user, as a JSON file.
    ///
    /// The profile, each membership, and every row they created or are named in, each in
    /// the shape its own route answers.
    #[oai(
        path = "/me/export",
        method = "get",
        operation_id = "export_current_user"
    )]
    async fn export(&self, state: Data<&AppState>, auth: BearerAuth) -> ApiResult<ExportResponse> {
        let export = account::export(&state.db, auth.caller()).await?;
        let filename = format!(
            "attachment; filename=\"flatmates-export-{}.json\"",
            export.profile.id
        );
        Ok(ExportResponse::Ok(
            account_export::document(export),
            filename,
        ))
    }

    /// Sign out. Tokens are stateless: the app forgets its token; this confirms it was valid.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, _auth: BearerAuth) -> ApiResult<Json<MessageResponse>> {
        Ok(Json(MessageResponse {
            message: "Successfully logged out".to_owned(),
        }))
    }
}
