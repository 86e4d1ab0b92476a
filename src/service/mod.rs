//! The rules of the service, over the database and without HTTP: each function takes the
//! `Db` and plain inputs, runs its queries in one transaction, enforces its rules there and
//! answers a domain result or a `ServiceError`. Handlers parse, call one of these and map
//! the result to their typed response.
//!
//! A rule that a check can only hold if nothing changes between the check and the write
//! (one household per user, a household keeps an owner) takes a lock first, in `locks`.

pub mod access;
pub mod account;
pub mod changes;
mod constraints;
pub mod expenses;
pub mod households;
pub mod invites;
mod locks;
pub mod members;
pub mod page;
pub mod patch;
pub mod people;
pub mod shopping;
mod statements;
pub mod sync;
pub mod todos;
pub mod users;

use std::borrow::Cow;

use sea_orm::DbErr;

use crate::db::once;

/// Why a service function did not do what it was asked.
#[derive(Debug)]
pub enum ServiceError {
    /// What the request names does not exist (or is not the caller's to see).
    NotFound(Cow<'static, str>),
    /// The caller may not do this.
    Forbidden(Cow<'static, str>),
    /// A rule refuses it in the current state (the last owner cannot leave, say).
    Refused(Cow<'static, str>),
    /// It would duplicate a row that exists (a taken id or email).
    Conflict(Cow<'static, str>),
    /// The caller's account was erased while the request was on its way.
    SignedOut,
    Db(DbErr),
    /// Something the service relies on failed (the system's random source).
    Internal(std::io::Error),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if once::is_held(&err) {
            // The idempotency layer answers the request that holds the key instead.
            return Self::Conflict(KEY_HELD.into());
        }
        constraints::meaning(&err).unwrap_or(Self::Db(err))
    }
}

pub const KEY_HELD: &str = "A request with this Idempotency-Key is still in progress";

pub type ServiceResult<T> = Result<T, ServiceError>;

/// A migrated SQLite database in memory, and users in it, for the rules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::{Duration, Utc};
    use entities::{enums::InviteStatus, household_invite, user};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    use uuid::Uuid;

    use crate::{config::Settings, db::Db, service::access::Caller};

    pub async fn memory_db() -> Db {
        // One connection: each in-memory SQLite connection is a database of its own.
        let vars = [
            ("DATABASE_URL", "sqlite::memory:"),
            ("DB_MAX_CONNECTIONS", "1"),
        ];
        let settings = Settings::from_lookup(|name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| (*value).to_owned())
        })
        .expect("settings");
        let db = Db::connect(&settings.database).await.expect("connect");
        db.migrate().await.expect("migrate");
        db
    }

    /// A new user, as the caller of a service function; their email is
    /// `<name>@example.com`.
    pub async fn user(db: &Db, name: &str) -> Caller {
        let now = Utc::now().naive_utc();
        let id = Uuid::new_v4();
        user::ActiveModel {
            id: Set(id),
            email: Set(format!("{name}@example.com")),
            full_name: Set(name.to_owned()),
            google_id: Set(format!("google-{id}")),
            profile_picture_url: Set(None),
            is_active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db.connection())
        .await
        .expect("insert user");
        Caller::user(id.into())
    }

    /// A pending invite to `household_id` by `created_by`, valid for `valid_for`; its token.
    pub async fn invite(
        db: &Db,
        household_id: Uuid,
        created_by: Caller,
        email: Option<&str>,
        valid_for: Duration,
    ) -> String {
        let token = Uuid::new_v4().to_string();
        let now = Utc::now().naive_utc();
        household_invite::ActiveModel {
            id: Set(Uuid::new_v4()),
            household_id: Set(household_id),
            email: Set(email.map(str::to_owned)),
            token: Set(token.clone()),
            status: Set(InviteStatus::Pending),
            expires_at: Set(now + valid_for),
            created_by: Set(created_by.user_id().uuid()),
            created_at: Set(now),
        }
        .insert(db.connection())
        .await
        .expect("invite");
        token
    }
}
