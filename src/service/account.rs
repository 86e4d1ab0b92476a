//! A user's own account as a whole: erasing it, and a copy of everything the service holds
//! of them (the rights the app's privacy policy promises).
//!
//! Erasing keeps what the flatmates share: a household with other members keeps the todos,
//! lists, items, expenses and splits the user made, so nobody's history or balance moves.
//! What is the user's alone goes: a household they were the only member of (with
//! everything in it), their membership elsewhere, their pending invites, their own
//! categories, their AI choice. Their row cannot go while shared rows name it (the
//! schema's foreign keys stay as they are), so it is erased in place.

use chrono::{NaiveDateTime, Utc};
use entities::{
    enums::InviteStatus, expense, expense_split, household, household_invite, household_member,
    shopping_list, shopping_list_item, todo, user,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    access::Caller,
    expenses::{ExpenseDetail, Split, details_of},
    locks::hold_user,
    members::depart,
    shopping::remove_categories_of,
    users::{erased_stand_in, forget_ai_choice, read_ai_choice},
};
use crate::{
    db::{Db, Txn, rows},
    domain::ids::UserId,
};

/// What an erased user's name becomes.
pub const ERASED_NAME: &str = "Deleted user";

/// Everything the service holds of one user, each row as its REST answer gives it.
pub struct Export {
    pub profile: user::Model,
    pub ai_features: bool,
    /// Each household they are in, with their membership of it.
    pub memberships: Vec<(household_member::Model, household::Model)>,
    /// Todos they created or are assigned.
    pub todos: Vec<todo::Model>,
    pub shopping_lists: Vec<shopping_list::Model>,
    pub shopping_items: Vec<shopping_list_item::Model>,
    /// Expenses they recorded, with all their splits.
    pub expenses: Vec<ExpenseDetail>,
    /// Their share of every expense, settled or not.
    pub splits: Vec<Split>,
    pub invites: Vec<household_invite::Model>,
}

/// Erases the caller's account, in one transaction: their households left (or deleted,
/// with everything in it, when they were its only member; a household they were the only
/// owner of passes to the member who joined earliest), what is assigned to them
/// unassigned, their pending invites revoked, and their row erased in place. A second
/// erase of the same account at once waits for the first and is then refused, as any
/// request of an erased account is.
pub async fn erase(db: &Db, caller: Caller) -> ServiceResult<()> {
    let user_id = caller.user_id();
    db.write(|txn| {
        Box::pin(async move {
            // Held first, as joining and creating a household hold it: neither can slip
            // a membership in behind the departures below.
            let user = hold_user(txn, user_id).await?;
            let mut households: Vec<Uuid> = household_member::Entity::find()
                .select_only()
                .column(household_member::Column::HouseholdId)
                .filter(household_member::Column::UserId.eq(user_id.uuid()))
                .into_tuple()
                .all(txn)
                .await?;
            // In one order, so two erasures sharing households cannot wait on each other.
            households.sort();
            for household_id in households {
                depart(txn, household_id.into(), user_id).await?;
            }
            let now = Utc::now().naive_utc();
            unassign(txn, user_id, now).await?;
            household_invite::Entity::update_many()
                .set(household_invite::ActiveModel {
                    status: Set(InviteStatus::Expired),
                    ..Default::default()
                })
                .filter(household_invite::Column::CreatedBy.eq(user_id.uuid()))
                .filter(household_invite::Column::Status.eq(InviteStatus::Pending))
                .exec(txn)
                .await?;
            remove_categories_of(txn, user_id).await?;
            forget_ai_choice(txn, user_id).await?;
            let mut erased = user.into_active_model();
            let stand_in = erased_stand_in(user_id);
            erased.full_name = Set(ERASED_NAME.to_owned());
            erased.email = Set(stand_in.clone());
            erased.google_id = Set(stand_in);
            erased.profile_picture_url = Set(None);
            erased.is_active = Set(false);
            erased.updated_at = Set(now);
            erased.update(txn).await?;
            Ok(())
        })
    })
    .await
}

/// Todos and items assigned to `user_id` are nobody's; their `updated_at` moves, so the
/// phones' next sync picks the change up.
async fn unassign(txn: &Txn, user_id: UserId, now: NaiveDateTime) -> ServiceResult<()> {
    todo::Entity::update_many()
        .col_expr(
            todo::Column::AssignedToId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(todo::Column::UpdatedAt, Expr::value(now))
        .filter(todo::Column::AssignedToId.eq(user_id.uuid()))
        .exec(txn)
        .await?;
    shopping_list_item::Entity::update_many()
        .col_expr(
            shopping_list_item::Column::AssignedToId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(shopping_list_item::Column::UpdatedAt, Expr::value(now))
        .filter(shopping_list_item::Column::AssignedToId.eq(user_id.uuid()))
        .exec(txn)
        .await?;
    Ok(())
}

/// Everything the service holds of the caller: a fixed number of reads, whatever they hold.
pub async fn export(db: &Db, caller: Caller) -> ServiceResult<Export> {
    let user_id = caller.user_id();
    let me = user_id.uuid();
    let (profile, ai_features, memberships, todos, shopping_lists, shopping_items, invites) = db
        .read(|conn| async move {
            let profile = user::Entity::find_by_id(me).one(&conn).await?;
            let ai_features = read_ai_choice(&conn, user_id).await?;
            let memberships = household_member::Entity::find()
                .filter(household_member::Column::UserId.eq(me))
                .order_by_asc(household_member::Column::JoinedAt)
                .find_also_related(household::Entity)
                .all(&conn)
                .await?;
            // The bulky kinds are read by position, as the lists and the sync feed read them.
            let todos = rows::all(
                todo::Entity::find()
                    .filter(
                        Condition::any()
                            .add(todo::Column::CreatedBy.eq(me))
                            .add(todo::Column::AssignedToId.eq(me)),
                    )
                    .order_by_asc(todo::Column::CreatedAt)
                    .order_by_asc(todo::Column::Id),
                &conn,
            )
            .await?;
            let lists = shopping_list::Entity::find()
                .filter(shopping_list::Column::CreatedBy.eq(me))
                .order_by_asc(shopping_list::Column::CreatedAt)
                .order_by_asc(shopping_list::Column::Id)
                .all(&conn)
                .await?;
            let items = rows::all(
                shopping_list_item::Entity::find()
                    .filter(shopping_list_item::Column::CreatedBy.eq(me))
                    .order_by_asc(shopping_list_item::Column::CreatedAt)
                    .order_by_asc(shopping_list_item::Column::Id),
                &conn,
            )
            .await?;
            let invites = household_invite::Entity::find()
                .filter(household_invite::Column::CreatedBy.eq(me))
                .order_by_asc(household_invite::Column::CreatedAt)
                .order_by_asc(household_invite::Column::Id)
                .all(&conn)
                .await?;
            Ok((
                profile,
                ai_features,
                memberships,
                todos,
                lists,
                items,
                invites,
            ))
        })
        .await?;
    let profile = profile.ok_or(ServiceError::NotFound("User not found".into()))?;
    let (expenses, owed) = db
        .read(|conn| async move {
            let expenses = expense::Entity::find()
                .filter(expense::Column::CreatedBy.eq(me))
                .order_by_asc(expense::Column::CreatedAt)
                .order_by_asc(expense::Column::Id)
                .all(&conn)
                .await?;
            let owed = expense_split::Entity::find()
                .filter(expense_split::Column::UserId.eq(me))
                .order_by_asc(expense_split::Column::CreatedAt)
                .order_by_asc(expense_split::Column::Id)
                .all(&conn)
                .await?;
            Ok((expenses, owed))
        })
        .await?;
    let expenses = details_of(db, expenses).await?;
    let splits = owed
        .into_iter()
        .map(|model| Split {
            model,
            user: Some(profile.clone()),
        })
        .collect();
    Ok(Export {
        memberships: memberships
            .into_iter()
            .filter_map(|(member, household)| household.map(|household| (member, household)))
            .collect(),
        profile,
        ai_features,
        todos,
        shopping_lists,
        shopping_items,
        expenses,
        splits,
        invites,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        households,
        testing::memory_db,
        users::{GoogleProfile, sign_in},
    };

    fn ann() -> GoogleProfile {
        GoogleProfile {
            sub: "g-ann".into(),
            email: "ann@example.com".into(),
            name: Some("Ann".into()),
            picture: Some("https://example.com/ann.png".into()),
        }
    }

    #[tokio::test]
    async fn signing_in_again_after_erasure_makes_a_new_empty_account() {
        let db = memory_db().await;
        let first = sign_in(&db, ann()).await.expect("sign in");
        let caller = Caller::user(first.id.into());
        households::create(&db, caller, "Flat".into())
            .await
            .expect("household");
        erase(&db, caller).await.expect("erase");

        let again = sign_in(&db, ann()).await.expect("sign in again");
        assert_ne!(again.id, first.id);
        assert!(again.is_active);
        assert_eq!(again.email, "ann@example.com");
        let copy = export(&db, Caller::user(again.id.into()))
            .await
            .expect("export");
        assert!(copy.memberships.is_empty());
        let erased = user::Entity::find_by_id(first.id)
            .one(db.connection())
            .await
            .expect("read")
            .expect("the erased row stays");
        assert_eq!(erased.full_name, ERASED_NAME);
        assert!(!erased.is_active);
        assert_eq!(erased.profile_picture_url, None);
    }

    #[tokio::test]
    async fn an_erased_account_cannot_be_erased_again_or_join_anything() {
        let db = memory_db().await;
        let first = sign_in(&db, ann()).await.expect("sign in");
        let caller = Caller::user(first.id.into());
        erase(&db, caller).await.expect("erase");
        assert!(matches!(
            erase(&db, caller).await,
            Err(ServiceError::SignedOut)
        ));
        assert!(matches!(
            households::create(&db, caller, "Flat".into()).await,
            Err(ServiceError::SignedOut)
        ));
    }
}
