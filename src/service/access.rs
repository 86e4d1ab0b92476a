//! Who may touch a household's data: the one place membership and ownership are checked,
//! used by every household-scoped operation. The caller's membership and the household
//! come back from one query, and a row is read together with the caller's membership of
//! its household.

use entities::{enums::MemberRole, household, household_member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PrimaryKeyTrait, QueryFilter, QuerySelect,
    RelationDef,
    sea_query::{Expr, ExprTrait, IntoCondition, Query},
};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::db::Db;

pub const NOT_A_MEMBER: &str = "You are not a member of this household";
pub const OWNERS_ONLY: &str = "Only household owners can perform this action";
pub const NOT_ASSIGNABLE: &str = "Assigned user is not a member of this household";

/// Who asks for a change.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub user_id: Uuid,
}

impl Caller {
    /// A user acting in any household they are a member of.
    pub fn user(user_id: Uuid) -> Self {
        Self { user_id }
    }
}

/// The caller's membership of a household, with the household.
pub struct Membership {
    pub household: household::Model,
    pub member: household_member::Model,
}

impl Membership {
    pub fn is_owner(&self) -> bool {
        self.member.role == MemberRole::Owner
    }

    /// Refused unless the caller owns the household.
    pub fn require_owner(self) -> ServiceResult<Self> {
        if self.is_owner() {
            Ok(self)
        } else {
            Err(ServiceError::Forbidden(OWNERS_ONLY.into()))
        }
    }
}

/// What a caller who is not a member gets when the household does not exist either.
#[derive(Clone, Copy)]
pub enum WhenMissing {
    /// "Household not found" (the household routes).
    NotFound,
    /// Forbidden, as for any household the caller is not in (todos, shopping, expenses).
    Forbidden,
}

/// The caller's membership of `household_id`: forbidden when they are not a member.
pub async fn membership(
    db: &Db,
    household_id: Uuid,
    user_id: Uuid,
    when_missing: WhenMissing,
) -> ServiceResult<Membership> {
    let found = db
        .read(|conn| async move {
            household_member::Entity::find()
                .filter(household_member::Column::HouseholdId.eq(household_id))
                .filter(household_member::Column::UserId.eq(user_id))
                .find_also_related(household::Entity)
                .one(&conn)
                .await
        })
        .await?;
    match (found, when_missing) {
        (Some((member, Some(household))), _) => Ok(Membership { household, member }),
        (_, WhenMissing::Forbidden) => Err(ServiceError::Forbidden(NOT_A_MEMBER.into())),
        (_, WhenMissing::NotFound) => {
            let exists =
                db.read(|conn| async move {
                    household::Entity::find_by_id(household_id).one(&conn).await
                })
                .await?
                .is_some();
            Err(if exists {
                ServiceError::Forbidden(NOT_A_MEMBER.into())
            } else {
                ServiceError::NotFound("Household not found".into())
            })
        }
    }
}

/// The membership of `household_id`'s owner `user_id`: not found without the household,
/// forbidden for anyone else.
pub async fn owner_of(db: &Db, household_id: Uuid, user_id: Uuid) -> ServiceResult<Membership> {
    membership(db, household_id, user_id, WhenMissing::NotFound)
        .await?
        .require_owner()
}

async fn is_member<C: ConnectionTrait>(
    conn: &C,
    household_id: Uuid,
    user_id: Uuid,
) -> ServiceResult<bool> {
    Ok(household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.eq(household_id))
        .filter(household_member::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .is_some())
}

/// Forbidden unless the caller may add rows to `household_id`.
pub async fn require_member<C: ConnectionTrait>(
    conn: &C,
    caller: Caller,
    household_id: Uuid,
) -> ServiceResult<()> {
    if !is_member(conn, household_id, caller.user_id).await? {
        return Err(ServiceError::Forbidden(NOT_A_MEMBER.into()));
    }
    Ok(())
}

/// A condition for a query of `household_id`'s rows: only while `user_id` is one of its
/// members. A list filtered this way needs no membership query of its own when it finds
/// rows; when it finds none, [`membership`] tells "there are none" from "not yours".
pub fn while_member(household_id: Uuid, user_id: Uuid) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(household_member::Entity)
            .and_where(household_member::Column::HouseholdId.eq(household_id))
            .and_where(household_member::Column::UserId.eq(user_id))
            .to_owned(),
    )
}

/// A condition for a query of the rows under row `id` of a household-scoped table (a
/// list's items): only while the caller is a member of that row's household. Such a query needs no access check of its own when it finds
/// rows; when it finds none, [`scoped_read`] tells "there are none" from "not yours".
pub fn while_member_of_row<C: ColumnTrait + Copy>(
    id_column: C,
    id: Uuid,
    household_column: C,
    caller: Caller,
) -> Expr {
    let table = id_column.entity_name();
    let mut query = Query::select();
    query
        .expr(Expr::val(1))
        .from(table.clone())
        .inner_join(
            household_member::Entity,
            Expr::col((
                household_member::Entity,
                household_member::Column::HouseholdId,
            ))
            .equals((table, household_column)),
        )
        .and_where(id_column.eq(id))
        .and_where(household_member::Column::UserId.eq(caller.user_id));
    Expr::exists(query.to_owned())
}

/// A row of a household-scoped table, by id, checked against the caller's membership of
/// its household in the same query: not found when there is no such row, forbidden when
/// it belongs to a household the caller is not in.
pub async fn scoped_row<E, C>(
    conn: &C,
    caller: Caller,
    id: Uuid,
    household_column: E::Column,
    not_found: &'static str,
) -> ServiceResult<E::Model>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    E::Column: Copy,
    C: ConnectionTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    let user_id = caller.user_id;
    let callers_membership: RelationDef = E::belongs_to(household_member::Entity)
        .from(household_column)
        .to(household_member::Column::HouseholdId)
        .on_condition(move |_, member| {
            Expr::col((member, household_member::Column::UserId))
                .eq(user_id)
                .into_condition()
        })
        .into();
    let found = E::find_by_id(id)
        .join(JoinType::LeftJoin, callers_membership)
        .select_also(household_member::Entity)
        .one(conn)
        .await?;
    match found {
        None => Err(ServiceError::NotFound(not_found.into())),
        Some((_, None)) => Err(ServiceError::Forbidden(NOT_A_MEMBER.into())),
        Some((row, Some(_))) => Ok(row),
    }
}

/// [`scoped_row`] as a read of its own, retried as reads are.
pub async fn scoped_read<E>(
    db: &Db,
    caller: Caller,
    id: Uuid,
    household_column: E::Column,
    not_found: &'static str,
) -> ServiceResult<E::Model>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    E::Column: Copy,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    db.read(|conn| async move {
        match scoped_row::<E, _>(&conn, caller, id, household_column, not_found).await {
            Err(ServiceError::Db(err)) => Err(err),
            decided => Ok(decided),
        }
    })
    .await?
}
