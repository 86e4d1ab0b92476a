//! Who may touch a household's data: the one place membership and ownership are checked,
//! used by every household-scoped operation. The caller's membership and the household
//! come back from one query.

use entities::{enums::MemberRole, household, household_member};
use sea_orm::{
    ColumnTrait, EntityTrait, JoinType, PrimaryKeyTrait, QueryFilter, QuerySelect, RelationDef,
    sea_query::{Expr, ExprTrait, IntoCondition, Query},
};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

pub use crate::service::members::{NOT_A_MEMBER, OWNERS_ONLY};

/// The caller's membership of a household, with the household.
pub struct Membership {
    pub household: household::Model,
    pub member: household_member::Model,
}

impl Membership {
    pub fn is_owner(&self) -> bool {
        self.member.role == MemberRole::Owner
    }

    /// 403 unless the caller owns the household.
    pub fn require_owner(self) -> ApiResult<Self> {
        if self.is_owner() {
            Ok(self)
        } else {
            Err(ApiError::forbidden(OWNERS_ONLY))
        }
    }
}

/// What a caller who is not a member gets when the household does not exist either.
#[derive(Clone, Copy)]
pub enum WhenMissing {
    /// 404 "Household not found" (the household routes).
    NotFound,
    /// 403, as for any household the caller is not in (the todo, shopping and expense routes).
    Forbidden,
}

/// The caller's membership of `household_id`: 403 when they are not a member.
pub async fn membership(
    state: &AppState,
    household_id: Uuid,
    user_id: Uuid,
    when_missing: WhenMissing,
) -> ApiResult<Membership> {
    let found = state
        .db
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
        (_, WhenMissing::Forbidden) => Err(ApiError::forbidden(NOT_A_MEMBER)),
        (_, WhenMissing::NotFound) => {
            let exists =
                state
                    .db
                    .read(|conn| async move {
                        household::Entity::find_by_id(household_id).one(&conn).await
                    })
                    .await?
                    .is_some();
            Err(if exists {
                ApiError::forbidden(NOT_A_MEMBER)
            } else {
                ApiError::not_found("Household not found")
            })
        }
    }
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

/// 400 unless `user_id` is a member of `household_id` (for assignees).
pub async fn require_assignable(
    state: &AppState,
    household_id: Uuid,
    user_id: Uuid,
) -> ApiResult<()> {
    let found = state
        .db
        .read(|conn| async move {
            household_member::Entity::find()
                .filter(household_member::Column::HouseholdId.eq(household_id))
                .filter(household_member::Column::UserId.eq(user_id))
                .one(&conn)
                .await
        })
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(ApiError::bad_request(
            "Assigned user is not a member of this household",
        )),
    }
}

/// A row of a household-scoped table, by id, checked against the caller's membership of
/// its household in the same query: 404 `not_found` when there is no such row, 403 when
/// it belongs to a household the caller is not in.
pub async fn scoped_row<E>(
    state: &AppState,
    id: Uuid,
    household_column: E::Column,
    user_id: Uuid,
    not_found: &'static str,
) -> ApiResult<E::Model>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    let found = state
        .db
        .read(|conn| async move {
            let callers_membership: RelationDef = E::belongs_to(household_member::Entity)
                .from(household_column)
                .to(household_member::Column::HouseholdId)
                .on_condition(move |_, member| {
                    Expr::col((member, household_member::Column::UserId))
                        .eq(user_id)
                        .into_condition()
                })
                .into();
            E::find_by_id(id)
                .join(JoinType::LeftJoin, callers_membership)
                .select_also(household_member::Entity)
                .one(&conn)
                .await
        })
        .await?;
    match found {
        None => Err(ApiError::not_found(not_found)),
        Some((_, None)) => Err(ApiError::forbidden(NOT_A_MEMBER)),
        Some((row, Some(_))) => Ok(row),
    }
}
