//! A household's invites: made by its owners, by email or as a link anyone holding the
//! token may use; cancelled ones are kept, marked expired. Joining with one is in
//! `households::join`.

use base64::Engine;
use chrono::{Duration, Utc};
use entities::{enums::InviteStatus, household_invite, household_member, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    access::{Membership, Owner},
    locks::hold_household,
};
use crate::{
    db::{Db, Txn},
    domain::ids::{HouseholdId, InviteId},
};

/// How long an invite stays valid.
const VALID_FOR_DAYS: i64 = 7;

/// The pending, unexpired invites of the member's household.
pub async fn pending(
    db: &Db,
    membership: &Membership,
) -> ServiceResult<Vec<household_invite::Model>> {
    let household_id = membership.household_id().uuid();
    let now = Utc::now().naive_utc();
    Ok(db
        .read(|conn| async move {
            household_invite::Entity::find()
                .filter(household_invite::Column::HouseholdId.eq(household_id))
                .filter(household_invite::Column::Status.eq(InviteStatus::Pending))
                .filter(household_invite::Column::ExpiresAt.gt(now))
                .order_by_asc(household_invite::Column::CreatedAt)
                .all(&conn)
                .await
        })
        .await?)
}

/// A new invite to the owner's household: for `email` only, or for anyone holding the
/// token when there is none. Refused when that email is already a member's or has a
/// pending invite.
pub async fn create(
    db: &Db,
    owner: &Owner,
    email: Option<String>,
) -> ServiceResult<household_invite::Model> {
    let household_id = owner.household_id();
    let now = Utc::now().naive_utc();
    let invitee = email.clone();
    let invite = household_invite::ActiveModel {
        id: Set(Uuid::new_v4()),
        household_id: Set(household_id.uuid()),
        email: Set(email),
        token: Set(token()?),
        status: Set(InviteStatus::Pending),
        expires_at: Set(now + Duration::days(VALID_FOR_DAYS)),
        created_by: Set(owner.user_id().uuid()),
        created_at: Set(now),
    };
    db.write(|txn| {
        Box::pin(async move {
            if let Some(email) = invitee {
                // Held, so two invites to one email at once cannot both pass the check.
                hold_household(txn, household_id).await?;
                require_new_invitee(txn, household_id, email).await?;
            }
            Ok(invite.insert(txn).await?)
        })
    })
    .await
}

/// The owner cancels the pending invite `invite_id` of their household.
pub async fn cancel(db: &Db, owner: &Owner, invite_id: InviteId) -> ServiceResult<()> {
    let household_id = owner.household_id().uuid();
    db.write(|txn| {
        Box::pin(async move {
            let invite = household_invite::Entity::find_by_id(invite_id.uuid())
                .filter(household_invite::Column::HouseholdId.eq(household_id))
                .one(txn)
                .await?
                .ok_or(ServiceError::NotFound("Invite not found".into()))?;
            if invite.status != InviteStatus::Pending {
                return Err(ServiceError::Refused(
                    "Can only cancel pending invites".into(),
                ));
            }
            let mut cancelled = invite.into_active_model();
            cancelled.status = Set(InviteStatus::Expired);
            cancelled.update(txn).await?;
            Ok(())
        })
    })
    .await
}

async fn require_new_invitee(
    txn: &Txn,
    household_id: HouseholdId,
    email: String,
) -> ServiceResult<()> {
    let (household_id, now) = (household_id.uuid(), Utc::now().naive_utc());
    let already_member = household_member::Entity::find()
        .inner_join(user::Entity)
        .filter(household_member::Column::HouseholdId.eq(household_id))
        .filter(user::Column::Email.eq(email.clone()))
        .one(txn)
        .await?
        .is_some();
    let already_invited = household_invite::Entity::find()
        .filter(household_invite::Column::HouseholdId.eq(household_id))
        .filter(household_invite::Column::Email.eq(email))
        .filter(household_invite::Column::Status.eq(InviteStatus::Pending))
        .filter(household_invite::Column::ExpiresAt.gt(now))
        .one(txn)
        .await?
        .is_some();
    if already_member {
        return Err(ServiceError::Refused(
            "User is already a member of this household".into(),
        ));
    }
    if already_invited {
        return Err(ServiceError::Refused(
            "An active invite already exists for this email".into(),
        ));
    }
    Ok(())
}

/// 32 bytes from the operating system's CSPRNG, URL-safe base64 without padding.
fn token() -> ServiceResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| ServiceError::Internal(std::io::Error::other(err.to_string())))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        access::{WhenMissing, membership, owner_of},
        households,
        testing::{memory_db, user},
    };

    async fn olives_flat(db: &Db) -> Owner {
        let olive = user(db, "olive").await;
        let flat = households::create(db, olive, "Flat".into())
            .await
            .expect("create");
        owner_of(db, olive, flat.id.into()).await.expect("an owner")
    }

    #[tokio::test]
    async fn an_email_invite_is_refused_while_one_for_it_is_pending() {
        let db = memory_db().await;
        let olive = olives_flat(&db).await;
        let email = Some("max@example.com".to_owned());
        create(&db, &olive, email.clone())
            .await
            .expect("first invite");
        match create(&db, &olive, email).await {
            Err(ServiceError::Refused(message)) => {
                assert_eq!(message, "An active invite already exists for this email");
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_email_invite_to_a_member_is_refused() {
        let db = memory_db().await;
        let olive = olives_flat(&db).await;
        let refused = create(&db, &olive, Some("olive@example.com".into())).await;
        assert!(
            matches!(refused, Err(ServiceError::Refused(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_cancelled_invite_stays_listed_nowhere_and_cannot_be_cancelled_again() {
        let db = memory_db().await;
        let olive = olives_flat(&db).await;
        let invite = create(&db, &olive, None).await.expect("invite");
        assert_eq!(invite.token.len(), 43);
        cancel(&db, &olive, invite.id.into()).await.expect("cancel");
        let member = membership(
            &db,
            olive.caller(),
            olive.household_id(),
            WhenMissing::NotFound,
        )
        .await
        .expect("a member");
        assert!(pending(&db, &member).await.expect("list").is_empty());
        let again = cancel(&db, &olive, invite.id.into()).await;
        assert!(matches!(again, Err(ServiceError::Refused(_))), "{again:?}");
    }

    #[tokio::test]
    async fn only_an_owner_may_invite() {
        let db = memory_db().await;
        let olive = olives_flat(&db).await;
        let max = user(&db, "max").await;
        let refused = owner_of(&db, max, olive.household_id()).await;
        assert!(
            matches!(refused, Err(ServiceError::Forbidden(_))),
            "{refused:?}"
        );
    }
}
