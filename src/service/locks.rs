//! The locks that hold a rule across its check and its write. On PostgreSQL each is a row
//! lock held to the end of the transaction, so a second request for the same user or
//! household waits and then checks what the first one left. `FOR NO KEY UPDATE`, not
//! `FOR UPDATE`: rows that merely refer to the user or household (a todo being added) take
//! a key-share lock for their foreign key and need not wait. SQLite has no row locks (SeaORM
//! leaves the clause out) and needs none: `Db::begin` opens its write transactions
//! `IMMEDIATE`, one writer at a time.

use super::{ServiceError, ServiceResult};
use crate::{
    db::Txn,
    domain::ids::{HouseholdId, UserId},
};
use entities::{household, user};
use sea_orm::{EntityTrait, QuerySelect, sea_query::LockType};

/// Holds `user_id` against other changes of which household they are in, and of their
/// account; answers their row. An account erased (or deactivated) since the request was
/// signed in is refused: nothing may be added to it once its erasure has committed.
pub async fn hold_user(txn: &Txn, user_id: UserId) -> ServiceResult<user::Model> {
    let user = user::Entity::find_by_id(user_id.uuid())
        .lock(LockType::NoKeyUpdate)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("User not found".into()))?;
    if !user.is_active {
        return Err(ServiceError::SignedOut);
    }
    Ok(user)
}

/// Holds `household_id` against other changes of its members and their roles.
pub async fn hold_household(
    txn: &Txn,
    household_id: HouseholdId,
) -> ServiceResult<household::Model> {
    household::Entity::find_by_id(household_id.uuid())
        .lock(LockType::NoKeyUpdate)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("Household not found".into()))
}

/// Holds `household_id` as `hold_household` does, and also against new rows that refer to
/// it: for deleting it, so that nothing is added between its deletes.
pub async fn hold_household_whole(
    txn: &Txn,
    household_id: HouseholdId,
) -> ServiceResult<household::Model> {
    household::Entity::find_by_id(household_id.uuid())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("Household not found".into()))
}
