//! A household's members and their roles. A household keeps at least one owner: every
//! change that could take its last one holds the household first (see `locks`) and then
//! counts its owners, so two owners demoting or removing each other at once cannot both
//! pass the count.

use super::{
    ServiceError, ServiceResult,
    access::{Caller, Membership, NOT_A_MEMBER, OWNERS_ONLY, Owner},
    households::{member_count, remove_household},
    locks::hold_household,
};
use crate::{
    db::{Db, Txn},
    domain::ids::{HouseholdId, MemberId, UserId},
};
use entities::{enums::MemberRole, household, household_member, user};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};

const MEMBER_NOT_FOUND: &str = "Member not found";

/// The members of the caller's household with their users, longest-standing first.
pub async fn list(
    db: &Db,
    membership: &Membership,
) -> ServiceResult<(
    household::Model,
    Vec<(household_member::Model, user::Model)>,
)> {
    let household_id = membership.household_id().uuid();
    let rows = db
        .read(|conn| async move {
            household_member::Entity::find()
                .filter(household_member::Column::HouseholdId.eq(household_id))
                .order_by_asc(household_member::Column::JoinedAt)
                .find_also_related(user::Entity)
                .all(&conn)
                .await
        })
        .await?;
    let members = rows
        .into_iter()
        .filter_map(|(member, user)| user.map(|user| (member, user)))
        .collect();
    Ok((membership.household().clone(), members))
}

/// The owner sets the role of membership `member_id` of their household to `role`; answers
/// the membership and its user.
pub async fn change_role(
    db: &Db,
    owner: &Owner,
    member_id: MemberId,
    role: MemberRole,
) -> ServiceResult<(household_member::Model, user::Model)> {
    let (household_id, owner) = (owner.household_id(), owner.user_id());
    db.write(|txn| {
        Box::pin(async move {
            hold_household(txn, household_id).await?;
            require_owner(txn, household_id, owner).await?;
            let (member, user) = member_in(txn, household_id, member_id).await?;
            if member.role == MemberRole::Owner
                && role == MemberRole::Member
                && owner_count(txn, household_id).await? <= 1
            {
                return Err(ServiceError::Refused("Cannot demote the last owner".into()));
            }
            let mut changed = member.into_active_model();
            changed.role = Set(role);
            Ok((changed.update(txn).await?, user))
        })
    })
    .await
}

/// The owner removes membership `member_id` from their household.
pub async fn remove(db: &Db, owner: &Owner, member_id: MemberId) -> ServiceResult<()> {
    let (household_id, owner) = (owner.household_id(), owner.user_id());
    db.write(|txn| {
        Box::pin(async move {
            hold_household(txn, household_id).await?;
            require_owner(txn, household_id, owner).await?;
            let (member, _) = member_in(txn, household_id, member_id).await?;
            if member.role == MemberRole::Owner && owner_count(txn, household_id).await? <= 1 {
                return Err(ServiceError::Refused("Cannot remove the last owner".into()));
            }
            household_member::Entity::delete_by_id(member.id)
                .exec(txn)
                .await?;
            Ok(())
        })
    })
    .await
}

/// The caller leaves `household_id`; the last member leaving deletes it.
pub async fn leave(db: &Db, caller: Caller, household_id: HouseholdId) -> ServiceResult<()> {
    let user_id = caller.user_id();
    db.write(|txn| {
        Box::pin(async move {
            match hold_household(txn, household_id).await {
                Err(ServiceError::NotFound(_)) => {
                    return Err(ServiceError::NotFound(NOT_A_MEMBER.into()));
                }
                held => held?,
            };
            let mine = membership_of(txn, household_id, user_id)
                .await?
                .ok_or(ServiceError::NotFound(NOT_A_MEMBER.into()))?;
            let members = member_count(txn, household_id).await?;
            if members <= 1 {
                return remove_household(txn, household_id).await;
            }
            if mine.role == MemberRole::Owner && owner_count(txn, household_id).await? <= 1 {
                return Err(ServiceError::Refused(
                    "You are the last owner. Please transfer ownership to another member before leaving."
                        .into(),
                ));
            }
            household_member::Entity::delete_by_id(mine.id)
                .exec(txn)
                .await?;
            Ok(())
        })
    })
    .await
}

/// Ends `user_id`'s membership of `household_id` as their account is erased: the
/// household goes with its last member; if they were its only owner, the member who joined
/// earliest becomes one, so it keeps an owner. Holds the household as every other change
/// of its members does.
pub(super) async fn depart(
    txn: &Txn,
    household_id: HouseholdId,
    user_id: UserId,
) -> ServiceResult<()> {
    hold_household(txn, household_id).await?;
    let Some(mine) = membership_of(txn, household_id, user_id).await? else {
        return Ok(());
    };
    if member_count(txn, household_id).await? <= 1 {
        return remove_household(txn, household_id).await;
    }
    if mine.role == MemberRole::Owner && owner_count(txn, household_id).await? <= 1 {
        let heir = household_member::Entity::find()
            .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
            .filter(household_member::Column::Id.ne(mine.id))
            .order_by_asc(household_member::Column::JoinedAt)
            .order_by_asc(household_member::Column::Id)
            .one(txn)
            .await?
            .ok_or(ServiceError::NotFound(MEMBER_NOT_FOUND.into()))?;
        let mut promoted = heir.into_active_model();
        promoted.role = Set(MemberRole::Owner);
        promoted.update(txn).await?;
    }
    household_member::Entity::delete_by_id(mine.id)
        .exec(txn)
        .await?;
    Ok(())
}

async fn membership_of(
    txn: &Txn,
    household_id: HouseholdId,
    user_id: UserId,
) -> ServiceResult<Option<household_member::Model>> {
    Ok(household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
        .filter(household_member::Column::UserId.eq(user_id.uuid()))
        .one(txn)
        .await?)
}

/// Checked again once the household is held: the caller may have lost the role meanwhile.
async fn require_owner(txn: &Txn, household_id: HouseholdId, user_id: UserId) -> ServiceResult<()> {
    match membership_of(txn, household_id, user_id).await? {
        Some(member) if member.role == MemberRole::Owner => Ok(()),
        Some(_) => Err(ServiceError::Forbidden(OWNERS_ONLY.into())),
        None => Err(ServiceError::Forbidden(NOT_A_MEMBER.into())),
    }
}

/// A member of `household_id` by membership id, with their user.
async fn member_in(
    txn: &Txn,
    household_id: HouseholdId,
    member_id: MemberId,
) -> ServiceResult<(household_member::Model, user::Model)> {
    let found = household_member::Entity::find_by_id(member_id.uuid())
        .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
        .find_also_related(user::Entity)
        .one(txn)
        .await?;
    match found {
        Some((member, Some(user))) => Ok((member, user)),
        _ => Err(ServiceError::NotFound(MEMBER_NOT_FOUND.into())),
    }
}

async fn owner_count(txn: &Txn, household_id: HouseholdId) -> ServiceResult<u64> {
    Ok(household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
        .filter(household_member::Column::Role.eq(MemberRole::Owner))
        .count(txn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        access::owner_of,
        households::{self, Joiner},
        testing::{invite, memory_db, user},
    };
    use entities::household;

    /// A household of Olive (owner) and Max (member): its id and, for each, the caller and
    /// their membership id.
    async fn flat(db: &Db) -> (HouseholdId, (Caller, MemberId), (Caller, MemberId)) {
        let (olive, max) = (user(db, "olive").await, user(db, "max").await);
        let flat = households::create(db, olive, "Flat".into())
            .await
            .expect("create");
        let token = invite(db, flat.id, olive, None, chrono::Duration::days(1)).await;
        households::join(
            db,
            Joiner {
                caller: max,
                email: "max@example.com",
            },
            token,
        )
        .await
        .expect("join");
        let flat = HouseholdId::from(flat.id);
        let id_of = |caller: Caller| async move {
            MemberId::from(stored_membership(db, flat, caller).await.id)
        };
        (flat, (olive, id_of(olive).await), (max, id_of(max).await))
    }

    async fn stored_membership(
        db: &Db,
        household_id: HouseholdId,
        caller: Caller,
    ) -> household_member::Model {
        household_member::Entity::find()
            .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
            .filter(household_member::Column::UserId.eq(caller.user_id().uuid()))
            .one(db.connection())
            .await
            .expect("read")
            .expect("a membership")
    }

    async fn owner(db: &Db, caller: Caller, household_id: HouseholdId) -> Owner {
        owner_of(db, caller, household_id).await.expect("an owner")
    }

    fn message(result: ServiceResult<impl std::fmt::Debug>) -> String {
        match result {
            Err(ServiceError::Refused(message) | ServiceError::Forbidden(message)) => {
                message.into_owned()
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_last_owner_can_be_neither_demoted_nor_removed_nor_leave_others_behind() {
        let db = memory_db().await;
        let (flat, (olive, olives), _) = flat(&db).await;
        let olive_owns = owner(&db, olive, flat).await;
        assert_eq!(
            message(change_role(&db, &olive_owns, olives, MemberRole::Member).await),
            "Cannot demote the last owner"
        );
        assert_eq!(
            message(remove(&db, &olive_owns, olives).await),
            "Cannot remove the last owner"
        );
        assert!(message(leave(&db, olive, flat).await).starts_with("You are the last owner."));
        assert_eq!(
            stored_membership(&db, flat, olive).await.role,
            MemberRole::Owner
        );
    }

    #[tokio::test]
    async fn an_owner_who_lost_the_role_can_no_longer_change_roles() {
        let db = memory_db().await;
        let (flat, (olive, olives), (max, maxs)) = flat(&db).await;
        let olive_owns = owner(&db, olive, flat).await;
        change_role(&db, &olive_owns, maxs, MemberRole::Owner)
            .await
            .expect("promote");
        let max_owns = owner(&db, max, flat).await;
        change_role(&db, &max_owns, olives, MemberRole::Member)
            .await
            .expect("demote");
        assert_eq!(
            message(change_role(&db, &olive_owns, maxs, MemberRole::Member).await),
            OWNERS_ONLY
        );
        assert_eq!(message(remove(&db, &olive_owns, maxs).await), OWNERS_ONLY);
    }

    #[tokio::test]
    async fn the_last_member_leaving_deletes_the_household() {
        let db = memory_db().await;
        let (flat, (olive, _), (max, maxs)) = flat(&db).await;
        let olive_owns = owner(&db, olive, flat).await;
        remove(&db, &olive_owns, maxs).await.expect("remove");
        assert!(matches!(
            leave(&db, max, flat).await,
            Err(ServiceError::NotFound(_))
        ));
        leave(&db, olive, flat).await.expect("leave");
        let gone = household::Entity::find_by_id(flat.uuid())
            .one(db.connection())
            .await
            .expect("read");
        assert!(gone.is_none());
    }
}
