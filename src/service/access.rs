//! Who may touch a household's data: the one place membership and ownership are checked.
//! A check that passes answers a proof, `Membership` (or `Owner`), that nothing else can
//! make: a function acting in a household on its own reads takes one, so no call order can
//! skip the check. A write or read that is one statement checks the caller's membership in
//! that statement instead (its conditions come from here too), so it takes the `Caller`.

use std::ops::Deref;

use entities::{enums::MemberRole, household, household_member};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, JoinType,
    PrimaryKeyTrait, QueryFilter, QuerySelect, RelationDef, Statement,
    sea_query::{Expr, ExprTrait, IntoCondition, Query},
};
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::{
    db::{Db, IDENTITY_COLUMNS, Identity, Txn, bulk::Params},
    domain::ids::{HouseholdId, UserId},
};

pub const NOT_A_MEMBER: &str = "You are not a member of this household";
pub const OWNERS_ONLY: &str = "Only household owners can perform this action";
pub const NOT_ASSIGNABLE: &str = "Assigned user is not a member of this household";

/// Who asks: the signed-in user.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    user_id: UserId,
}

impl Caller {
    /// The user a request's credentials name (the API makes one per signed-in request).
    pub fn user(user_id: UserId) -> Self {
        Self { user_id }
    }

    pub fn user_id(self) -> UserId {
        self.user_id
    }

    /// The bare UUID, for a query.
    fn uuid(self) -> Uuid {
        self.user_id.uuid()
    }
}

/// Proof that the caller is a member of a household: made only by the checks here.
#[derive(Debug)]
pub struct Membership {
    household: household::Model,
    member: household_member::Model,
}

impl Membership {
    pub fn household(&self) -> &household::Model {
        &self.household
    }

    pub fn household_id(&self) -> HouseholdId {
        self.household.id.into()
    }

    pub fn user_id(&self) -> UserId {
        self.member.user_id.into()
    }

    pub fn caller(&self) -> Caller {
        Caller::user(self.user_id())
    }

    pub fn is_owner(&self) -> bool {
        self.member.role == MemberRole::Owner
    }
}

/// Proof that the caller owns a household: made only by [`owner_of`].
#[derive(Debug)]
pub struct Owner(Membership);

impl Deref for Owner {
    type Target = Membership;

    fn deref(&self) -> &Membership {
        &self.0
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
    caller: Caller,
    household_id: HouseholdId,
    when_missing: WhenMissing,
) -> ServiceResult<Membership> {
    let (household, user) = (household_id.uuid(), caller.uuid());
    let found = db
        .read(|conn| async move {
            household_member::Entity::find()
                .filter(household_member::Column::HouseholdId.eq(household))
                .filter(household_member::Column::UserId.eq(user))
                .find_also_related(household::Entity)
                .one(&conn)
                .await
        })
        .await?;
    match (found, when_missing) {
        (Some((member, Some(household))), _) => Ok(Membership { household, member }),
        (_, WhenMissing::Forbidden) => Err(ServiceError::Forbidden(NOT_A_MEMBER.into())),
        (_, WhenMissing::NotFound) => {
            let exists = db
                .read(
                    |conn| async move { household::Entity::find_by_id(household).one(&conn).await },
                )
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

/// The caller's ownership of `household_id`: not found without the household, forbidden
/// for anyone but an owner.
pub async fn owner_of(db: &Db, caller: Caller, household_id: HouseholdId) -> ServiceResult<Owner> {
    let membership = membership(db, caller, household_id, WhenMissing::NotFound).await?;
    if membership.is_owner() {
        Ok(Owner(membership))
    } else {
        Err(ServiceError::Forbidden(OWNERS_ONLY.into()))
    }
}

/// Within `txn`, the caller's membership of `household_id` and all its members in the
/// order they joined (whom an equal split divides among), each membership held against
/// leaving until `txn` ends; on PostgreSQL the statement also reads the transaction's
/// identity, for its `COMMIT`. Forbidden when the caller is not a member.
pub async fn members_held(
    txn: &Txn,
    caller: Caller,
    household_id: HouseholdId,
) -> ServiceResult<(Membership, Vec<UserId>)> {
    let backend = txn.get_database_backend();
    let mut params = Params::new(backend);
    let household = params.bind(household_id.uuid());
    let (identity, hold) = match backend {
        DbBackend::Postgres => (format!(", {IDENTITY_COLUMNS}"), "FOR KEY SHARE OF m"),
        _ => (String::new(), ""),
    };
    let sql = format!(
        "SELECT m.\"id\" AS m_id, m.\"user_id\" AS m_user_id, m.\"household_id\" AS m_household_id, \
                CAST(m.\"role\" AS TEXT) AS m_role, m.\"joined_at\" AS m_joined_at, \
                h.\"id\" AS h_id, h.\"name\" AS h_name, h.\"created_by\" AS h_created_by, \
                h.\"created_at\" AS h_created_at{identity} \
         FROM \"household_members\" m JOIN \"households\" h ON h.\"id\" = m.\"household_id\" \
         WHERE m.\"household_id\" = {household} ORDER BY m.\"joined_at\", m.\"id\" {hold}"
    );
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, params.values))
        .await?;
    if backend == DbBackend::Postgres
        && let Some(row) = rows.first()
    {
        txn.remember_identity(Identity {
            xid: row.try_get("", "xid")?,
            pid: row.try_get("", "pid")?,
        });
    }
    let mut mine = None;
    let mut members = Vec::with_capacity(rows.len());
    for row in &rows {
        let member = household_member::Model::from_query_result(row, "m_")?;
        members.push(UserId::from(member.user_id));
        if member.user_id == caller.uuid() {
            mine = Some((member, household::Model::from_query_result(row, "h_")?));
        }
    }
    let (member, household) = mine.ok_or(ServiceError::Forbidden(NOT_A_MEMBER.into()))?;
    Ok((Membership { household, member }, members))
}

/// `user_id` is a member of the household `household` (an SQL expression: a parameter,
/// or a column of the row a statement writes), as a condition of that statement.
pub fn member_sql(params: &mut Params, household: &str, user_id: UserId) -> String {
    let user = params.bind(user_id.uuid());
    format!(
        "EXISTS (SELECT 1 FROM \"household_members\" m \
         WHERE m.\"household_id\" = {household} AND m.\"user_id\" = {user})"
    )
}

/// `user_id` is a member of the household of the list `list` (an SQL expression), as a
/// condition of a statement.
pub fn member_of_list_sql(params: &mut Params, list: &str, user_id: UserId) -> String {
    let user = params.bind(user_id.uuid());
    format!(
        "EXISTS (SELECT 1 FROM \"shopping_lists\" l \
         JOIN \"household_members\" m ON m.\"household_id\" = l.\"household_id\" \
         WHERE l.\"id\" = {list} AND m.\"user_id\" = {user})"
    )
}

/// Within `txn`, forbidden unless the caller is a member of `household_id`.
pub async fn require_member(
    txn: &Txn,
    caller: Caller,
    household_id: HouseholdId,
) -> ServiceResult<()> {
    let member = household_member::Entity::find()
        .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
        .filter(household_member::Column::UserId.eq(caller.uuid()))
        .one(txn)
        .await?;
    match member {
        Some(_) => Ok(()),
        None => Err(ServiceError::Forbidden(NOT_A_MEMBER.into())),
    }
}

/// A condition for a query of `household_id`'s rows: only while the caller is one of its
/// members. A list filtered this way needs no membership query of its own when it finds
/// rows; when it finds none, [`membership`] tells "there are none" from "not yours".
pub fn while_member(caller: Caller, household_id: HouseholdId) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(household_member::Entity)
            .and_where(household_member::Column::HouseholdId.eq(household_id.uuid()))
            .and_where(household_member::Column::UserId.eq(caller.uuid()))
            .to_owned(),
    )
}

/// A condition for a query of the rows under row `id` of a household-scoped table (a
/// list's items): only while the caller is a member of that row's household. Such a query
/// needs no access check of its own when it finds rows; when it finds none,
/// [`scoped_read`] tells "there are none" from "not yours".
pub fn while_member_of_row<C: ColumnTrait + Copy>(
    caller: Caller,
    id_column: C,
    id: Uuid,
    household_column: C,
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
        .and_where(household_member::Column::UserId.eq(caller.uuid()));
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
    let user_id = caller.uuid();
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
