//! Households: creating, joining with an invite, deleting. A user is in at most one
//! household; creating and joining hold the user (see `locks`) before they check it, so two
//! requests at once cannot both pass the check.

use std::collections::HashMap;

use chrono::Utc;
use entities::{
    enums::{InviteStatus, MemberRole},
    expense, household, household_invite, household_member,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    access::{Caller, Owner},
    changes::{RowKind, deletions},
    locks::{hold_household, hold_household_whole, hold_user},
};
use crate::{
    db::{Db, Txn, bulk::Params},
    domain::ids::{HouseholdId, UserId},
};

pub const ALREADY_IN_A_HOUSEHOLD: &str =
    "You are already in a household. Please leave your current household first.";

/// The caller, and the email an invite may be addressed to.
pub struct Joiner<'a> {
    pub caller: Caller,
    pub email: &'a str,
}

/// A new household named `name`, with the caller as its owner.
pub async fn create(db: &Db, caller: Caller, name: String) -> ServiceResult<household::Model> {
    let creator = caller.user_id();
    db.write(|txn| {
        Box::pin(async move {
            hold_user(txn, creator).await?;
            require_no_household(txn, creator).await?;
            let now = Utc::now().naive_utc();
            let household = household::ActiveModel {
                id: Set(Uuid::new_v4()),
                name: Set(name),
                created_by: Set(creator.uuid()),
                created_at: Set(now),
            }
            .insert(txn)
            .await?;
            add_member(txn, household.id.into(), creator, MemberRole::Owner).await?;
            Ok(household)
        })
    })
    .await
}

/// What a join with an invite came to, once written.
enum Joined {
    Member(household::Model, u64),
    /// The invite had run out; it is now marked so.
    Expired,
}

/// `joiner` joins the household of the invite with `token`, which is used up by it; answers
/// the household and its member count.
pub async fn join(
    db: &Db,
    joiner: Joiner<'_>,
    token: String,
) -> ServiceResult<(household::Model, u64)> {
    let (me, email) = (joiner.caller.user_id(), joiner.email.to_owned());
    let joined = db
        .write(|txn| {
            Box::pin(async move {
                hold_user(txn, me).await?;
                require_no_household(txn, me).await?;
                let invite = household_invite::Entity::find()
                    .filter(household_invite::Column::Token.eq(token))
                    .one(txn)
                    .await?
                    .ok_or(ServiceError::NotFound("Invalid invite token".into()))?;
                if invite.status == InviteStatus::Accepted {
                    return Err(ServiceError::Refused("Invite has already been used".into()));
                }
                let now = Utc::now().naive_utc();
                if invite.status == InviteStatus::Expired || invite.expires_at < now {
                    if invite.status != InviteStatus::Expired {
                        let mut expired = invite.into_active_model();
                        expired.status = Set(InviteStatus::Expired);
                        expired.update(txn).await?;
                    }
                    return Ok(Joined::Expired);
                }
                if invite.email.as_ref().is_some_and(|to| *to != email) {
                    return Err(ServiceError::Refused(
                        "This invite is for a different email address".into(),
                    ));
                }
                // Only one join may use the invite: the status moves from pending once.
                let claimed = household_invite::Entity::update_many()
                    .set(household_invite::ActiveModel {
                        status: Set(InviteStatus::Accepted),
                        ..Default::default()
                    })
                    .filter(household_invite::Column::Id.eq(invite.id))
                    .filter(household_invite::Column::Status.eq(InviteStatus::Pending))
                    .exec(txn)
                    .await?;
                if claimed.rows_affected != 1 {
                    return Err(ServiceError::Refused("Invite has already been used".into()));
                }
                let household_id = HouseholdId::from(invite.household_id);
                let household = hold_household(txn, household_id).await?;
                add_member(txn, household_id, me, MemberRole::Member).await?;
                let count = member_count(txn, household_id).await?;
                Ok(Joined::Member(household, count))
            })
        })
        .await?;
    match joined {
        Joined::Member(household, count) => Ok((household, count)),
        Joined::Expired => Err(ServiceError::Refused("Invite has expired".into())),
    }
}

/// The households the caller is in, oldest first, with their member counts.
pub async fn mine(db: &Db, caller: Caller) -> ServiceResult<Vec<(household::Model, u64)>> {
    let user_id = caller.user_id().uuid();
    let households = db
        .read(|conn| async move {
            household::Entity::find()
                .inner_join(household_member::Entity)
                .filter(household_member::Column::UserId.eq(user_id))
                .order_by_asc(household::Column::CreatedAt)
                .all(&conn)
                .await
        })
        .await?;
    let ids: Vec<Uuid> = households.iter().map(|h| h.id).collect();
    let counts: HashMap<Uuid, i64> = db
        .read(|conn| {
            let ids = ids.clone();
            async move {
                household_member::Entity::find()
                    .select_only()
                    .column(household_member::Column::HouseholdId)
                    .column_as(household_member::Column::Id.count(), "members")
                    .filter(household_member::Column::HouseholdId.is_in(ids))
                    .group_by(household_member::Column::HouseholdId)
                    .into_tuple::<(Uuid, i64)>()
                    .all(&conn)
                    .await
            }
        })
        .await?
        .into_iter()
        .collect();
    Ok(households
        .into_iter()
        .map(|h| {
            let count = counts.get(&h.id).copied().unwrap_or(0).max(0) as u64;
            (h, count)
        })
        .collect())
}

/// The owner renames their household; answers it and its member count.
pub async fn rename(
    db: &Db,
    owner: &Owner,
    name: String,
) -> ServiceResult<(household::Model, u64)> {
    let household_id = owner.household_id();
    db.write(|txn| {
        Box::pin(async move {
            let mut household = hold_household(txn, household_id).await?.into_active_model();
            household.name = Set(name);
            let household = household.update(txn).await?;
            let count = member_count(txn, household_id).await?;
            Ok((household, count))
        })
    })
    .await
}

/// The owner deletes their household and everything in it.
pub async fn delete(db: &Db, owner: &Owner) -> ServiceResult<()> {
    let household_id = owner.household_id();
    db.write(|txn| Box::pin(remove_household(txn, household_id)))
        .await
}

/// Deletes a household and everything in it, within `txn` (its owner deleting it, its last
/// member leaving). Todos, shopping lists and categories go by their `ON DELETE CASCADE`;
/// the old schema has none for expenses, invites and members.
pub(super) async fn remove_household(txn: &Txn, household_id: HouseholdId) -> ServiceResult<()> {
    // Held first: a request adding an invite, member or expense to it waits until this
    // commits and is then refused for the household being gone, rather than slipping a row
    // in between these deletes and failing the last one.
    hold_household_whole(txn, household_id).await?;
    record_deletions_of(txn, household_id).await?;
    let household_id = household_id.uuid();
    expense::Entity::delete_many()
        .filter(expense::Column::HouseholdId.eq(household_id))
        .exec(txn)
        .await?;
    household_invite::Entity::delete_many()
        .filter(household_invite::Column::HouseholdId.eq(household_id))
        .exec(txn)
        .await?;
    household_member::Entity::delete_many()
        .filter(household_member::Column::HouseholdId.eq(household_id))
        .exec(txn)
        .await?;
    household::Entity::delete_by_id(household_id)
        .exec(txn)
        .await?;
    Ok(())
}

/// Records every synced row of `household_id` as deleted, for the phones of members who
/// have not synced since: one statement per kind.
async fn record_deletions_of(txn: &Txn, household_id: HouseholdId) -> ServiceResult<()> {
    let backend = txn.get_database_backend();
    let now = Utc::now().naive_utc();
    for (kind, rows) in [
        (
            RowKind::Todo,
            "SELECT t.\"id\", t.\"household_id\" FROM \"todos\" t WHERE t.\"household_id\" = {h}",
        ),
        (
            RowKind::ShoppingList,
            "SELECT l.\"id\", l.\"household_id\" FROM \"shopping_lists\" l WHERE l.\"household_id\" = {h}",
        ),
        (
            RowKind::ShoppingItem,
            "SELECT i.\"id\", l.\"household_id\" FROM \"shopping_list_items\" i \
             JOIN \"shopping_lists\" l ON l.\"id\" = i.\"shopping_list_id\" WHERE l.\"household_id\" = {h}",
        ),
        (
            RowKind::Expense,
            "SELECT e.\"id\", e.\"household_id\" FROM \"expenses\" e WHERE e.\"household_id\" = {h}",
        ),
    ] {
        let mut params = Params::new(backend);
        let household = params.bind(household_id.uuid());
        let sql = deletions::record_sql(&mut params, kind, &rows.replace("{h}", &household), now);
        txn.execute_raw(Statement::from_sql_and_values(backend, sql, params.values))
            .await?;
    }
    Ok(())
}

pub(super) async fn member_count(txn: &Txn, household_id: HouseholdId) -> ServiceResult<u64> {
    Ok(household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
        .count(txn)
        .await?)
}

async fn require_no_household(txn: &Txn, user_id: UserId) -> ServiceResult<()> {
    let existing = household_member::Entity::find()
        .filter(household_member::Column::UserId.eq(user_id.uuid()))
        .one(txn)
        .await?;
    match existing {
        Some(_) => Err(ServiceError::Refused(ALREADY_IN_A_HOUSEHOLD.into())),
        None => Ok(()),
    }
}

async fn add_member(
    txn: &Txn,
    household_id: HouseholdId,
    user_id: UserId,
    role: MemberRole,
) -> ServiceResult<()> {
    household_member::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id.uuid()),
        household_id: Set(household_id.uuid()),
        role: Set(role),
        joined_at: Set(Utc::now().naive_utc()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::service::testing::{invite, memory_db, user};

    fn refused(result: ServiceResult<impl std::fmt::Debug>) -> String {
        match result {
            Err(ServiceError::Refused(message)) => message.into_owned(),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_member_of_a_household_can_neither_create_nor_join_another() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        create(&db, olive, "Flat 1".into()).await.expect("create");
        let other = create(&db, max, "Flat 2".into()).await.expect("create");
        assert_eq!(
            refused(create(&db, olive, "Flat 3".into()).await),
            ALREADY_IN_A_HOUSEHOLD
        );
        let token = invite(&db, other.id, max, None, Duration::days(1)).await;
        let joiner = Joiner {
            caller: olive,
            email: "olive@example.com",
        };
        assert_eq!(
            refused(join(&db, joiner, token).await),
            ALREADY_IN_A_HOUSEHOLD
        );
    }

    #[tokio::test]
    async fn an_invite_is_used_once_and_only_by_its_addressee() {
        let db = memory_db().await;
        let (olive, max, ann) = (
            user(&db, "olive").await,
            user(&db, "max").await,
            user(&db, "ann").await,
        );
        let flat = create(&db, olive, "Flat".into()).await.expect("create");
        let token = invite(
            &db,
            flat.id,
            olive,
            Some("max@example.com"),
            Duration::days(1),
        )
        .await;
        let to_ann = Joiner {
            caller: ann,
            email: "ann@example.com",
        };
        assert_eq!(
            refused(join(&db, to_ann, token.clone()).await),
            "This invite is for a different email address"
        );
        let (joined, count) = join(
            &db,
            Joiner {
                caller: max,
                email: "max@example.com",
            },
            token.clone(),
        )
        .await
        .expect("join");
        assert_eq!((joined.id, count), (flat.id, 2));
        let again = Joiner {
            caller: ann,
            email: "max@example.com",
        };
        assert_eq!(
            refused(join(&db, again, token).await),
            "Invite has already been used"
        );
    }

    #[tokio::test]
    async fn an_expired_invite_is_refused_and_marked_expired() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        let flat = create(&db, olive, "Flat".into()).await.expect("create");
        let token = invite(&db, flat.id, olive, None, Duration::seconds(-1)).await;
        let joiner = Joiner {
            caller: max,
            email: "max@example.com",
        };
        assert_eq!(
            refused(join(&db, joiner, token.clone()).await),
            "Invite has expired"
        );
        let stored = household_invite::Entity::find()
            .filter(household_invite::Column::Token.eq(token))
            .one(db.connection())
            .await
            .expect("read")
            .expect("the invite");
        assert_eq!(stored.status, InviteStatus::Expired);
        assert_eq!(member_count_of(&db, flat.id).await, 1);
    }

    async fn member_count_of(db: &Db, household_id: Uuid) -> u64 {
        household_member::Entity::find()
            .filter(household_member::Column::HouseholdId.eq(household_id))
            .count(db.connection())
            .await
            .expect("count")
    }
}
