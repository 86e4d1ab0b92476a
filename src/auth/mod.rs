//! Authentication: Google ID tokens in, our own JWT out, and the bearer scheme every
//! protected operation declares.

pub mod callers;
pub mod google;
pub mod jwt;

use std::{sync::Arc, time::Duration};

use crate::{
    db::Db,
    error::ApiError,
    service::{
        ServiceResult,
        access::{self, Caller, Membership, Owner, WhenMissing},
        users::{self, TokenUser},
    },
};
use callers::Callers;
use entities::user;
use poem::{
    Request,
    web::headers::{self, HeaderMapExt},
};
use poem_openapi::{SecurityScheme, auth::Bearer};
use uuid::Uuid;

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

impl BearerAuth {
    /// The signed-in user, as the service layer knows who asks.
    pub fn caller(&self) -> Caller {
        Caller::user(self.0.id.into())
    }

    /// The caller's membership of the household a request names, as the access check
    /// proves it; `missing` says how a household they are not in is answered.
    pub async fn membership(
        &self,
        db: &Db,
        household_id: Uuid,
        missing: WhenMissing,
    ) -> ServiceResult<Membership> {
        access::membership(db, self.caller(), household_id.into(), missing).await
    }

    /// The caller's ownership of the household a request names.
    pub async fn ownership(&self, db: &Db, household_id: Uuid) -> ServiceResult<Owner> {
        access::owner_of(db, self.caller(), household_id.into()).await
    }
}

/// Why a token does not sign anyone in.
pub enum TokenRefused {
    /// Not one of ours, expired, or its user is gone.
    Invalid,
    Inactive,
}

/// Who a bearer token signs in: the key tokens are signed with, the callers seen a moment
/// ago, and the database for the rest. Made once, shared by the operations' checker and
/// the layers in front of them.
pub struct Authenticator {
    secret_key: String,
    callers: Callers,
    db: Db,
}

impl Authenticator {
    /// `caller_cache`: how long a caller's row is kept (`CALLER_CACHE_SECONDS`).
    pub fn new(secret_key: String, caller_cache: Duration, db: Db) -> Self {
        Self {
            secret_key,
            callers: Callers::new(caller_cache),
            db,
        }
    }

    /// The active user a token names, or why there is none.
    pub async fn user_for_token(
        &self,
        token: &str,
    ) -> Result<Result<user::Model, TokenRefused>, ApiError> {
        let Ok(user_id) = jwt::verify(token, &self.secret_key)
            .inspect_err(|err| tracing::info!(reason = %err, "bearer token refused"))
        else {
            return Ok(Err(TokenRefused::Invalid));
        };
        if let Some(user) = self.callers.get(user_id) {
            return Ok(Ok(user));
        }
        let ticket = self.callers.ticket();
        Ok(match users::for_token(&self.db, user_id.into()).await? {
            TokenUser::Active(user) => {
                self.callers.keep(ticket, &user);
                Ok(user)
            }
            TokenUser::Inactive => Err(TokenRefused::Inactive),
            TokenUser::Unknown => Err(TokenRefused::Invalid),
        })
    }

    /// Drops what is kept of `user_id`, whose row just changed: their next request reads it.
    pub fn forget(&self, user_id: Uuid) {
        self.callers.forget(user_id);
    }

    /// Returns once no replica serves `user_id`, whose account was just erased, from its
    /// cache: this one forgets them now, and every other one's entry was read before the
    /// erasure committed and lives the cache's lifetime from that read, so waiting out
    /// that lifetime outlasts them all (`CALLER_CACHE_SECONDS`, less than the request
    /// timeout).
    pub async fn erased(&self, user_id: Uuid) {
        self.callers.forget(user_id);
        tokio::time::sleep(self.callers.lifetime()).await;
    }
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
pub async fn signed_in(
    authenticator: &Authenticator,
    req: &mut Request,
) -> Result<Option<Uuid>, ApiError> {
    let Some(bearer) = req
        .headers()
        .typed_get::<headers::Authorization<headers::authorization::Bearer>>()
    else {
        return Ok(None);
    };
    let token = bearer.token().to_owned();
    Ok(match authenticator.user_for_token(&token).await? {
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
    let authenticator = req.data::<Arc<Authenticator>>().ok_or_else(|| {
        poem::Error::from_string(
            "authenticator missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })?;
    // An inactive user is 400, as the old backend answered.
    match authenticator.user_for_token(&bearer.token).await? {
        Ok(user) => Ok(user),
        Err(TokenRefused::Invalid) => Err(ApiError::invalid_credentials().into()),
        Err(TokenRefused::Inactive) => Err(ApiError::bad_request("Inactive user").into()),
    }
}
