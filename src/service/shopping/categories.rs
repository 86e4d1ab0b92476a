//! Item categories: the shared ones every household sees, a household's own, and a
//! user's own. A category made without a household is its creator's: nobody else's
//! picker lists it, so nobody can write into every household's list. Who made one is kept
//! in the service's own table `category_owners` (the ten tables stay as they are); a
//! category without a household and without an owner there is shared (the old backend's
//! seeded defaults, and whatever it made before this rule).

use chrono::Utc;
use entities::item_category;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::CATEGORY_EXISTS;
use crate::{
    db::{Db, Txn},
    domain::ids::{HouseholdId, UserId},
    service::{
        ServiceError, ServiceResult,
        access::{Caller, WhenMissing, membership, require_member},
        locks::hold_user,
    },
};

pub mod owner {
    use sea_orm::entity::prelude::*;

    /// Who made a category that has no household.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "category_owners")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub category_id: Uuid,
        pub user_id: Uuid,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An item category to create; without a household it is the creator's own.
pub struct NewCategory {
    pub id: Uuid,
    pub name: String,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub household_id: Option<HouseholdId>,
}

/// The categories without a household that `user_id` sees: the shared ones and their own,
/// never another user's.
fn without_household_for(user_id: UserId) -> Condition {
    let others = owner::Entity::find()
        .select_only()
        .column(owner::Column::CategoryId)
        .filter(owner::Column::UserId.ne(user_id.uuid()))
        .into_query();
    Condition::all()
        .add(item_category::Column::HouseholdId.is_null())
        .add(item_category::Column::Id.not_in_subquery(others))
}

/// The shared categories and the caller's own, and the household's when one is given (the
/// caller must be a member), by name.
pub async fn categories(
    db: &Db,
    caller: Caller,
    household_id: Option<HouseholdId>,
) -> ServiceResult<Vec<item_category::Model>> {
    if let Some(household_id) = household_id {
        membership(db, caller, household_id, WhenMissing::Forbidden).await?;
    }
    let (user_id, household_id) = (caller.user_id(), household_id.map(HouseholdId::uuid));
    Ok(db
        .read(|conn| async move {
            let mut scope = Condition::any().add(without_household_for(user_id));
            if let Some(household_id) = household_id {
                scope = scope.add(item_category::Column::HouseholdId.eq(household_id));
            }
            item_category::Entity::find()
                .filter(scope)
                .order_by_asc(item_category::Column::Name)
                .all(&conn)
                .await
        })
        .await?)
}

/// Creates a category, refused when its scope has one of that name already: the
/// household, or, without one, what the creator sees without a household (the shared
/// categories and their own).
pub async fn create_category(
    db: &Db,
    caller: Caller,
    new: NewCategory,
) -> ServiceResult<item_category::Model> {
    let user_id = caller.user_id();
    db.write(|txn| {
        Box::pin(async move {
            match new.household_id {
                Some(household_id) => {
                    // A household's names are unique by `uq_category_name_household` (see
                    // `constraints`).
                    require_member(txn, caller, household_id).await?;
                }
                None => refuse_a_taken_name(txn, user_id, &new.name).await?,
            }
            let category = item_category::ActiveModel {
                id: Set(new.id),
                name: Set(new.name),
                icon: Set(new.icon),
                color: Set(new.color),
                household_id: Set(new.household_id.map(HouseholdId::uuid)),
                created_at: Set(Utc::now().naive_utc()),
            }
            .insert(txn)
            .await?;
            if category.household_id.is_none() {
                owner::ActiveModel {
                    category_id: Set(category.id),
                    user_id: Set(user_id.uuid()),
                }
                .insert(txn)
                .await?;
            }
            Ok(category)
        })
    })
    .await
}

/// Deletes the categories `user_id` made for themselves (their owner rows go with them).
pub(in crate::service) async fn remove_categories_of(
    txn: &Txn,
    user_id: UserId,
) -> ServiceResult<()> {
    item_category::Entity::delete_many()
        .filter(
            item_category::Column::Id.in_subquery(
                owner::Entity::find()
                    .select_only()
                    .column(owner::Column::CategoryId)
                    .filter(owner::Column::UserId.eq(user_id.uuid()))
                    .into_query(),
            ),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// Refused when `user_id` sees a category named `name` without a household. NULL
/// households never collide in the schema's unique constraint, so the user is held to
/// the end of the transaction: two such creations of theirs at once take turns.
async fn refuse_a_taken_name(txn: &Txn, user_id: UserId, name: &str) -> ServiceResult<()> {
    hold_user(txn, user_id).await?;
    let duplicate = item_category::Entity::find()
        .filter(item_category::Column::Name.eq(name))
        .filter(without_household_for(user_id))
        .one(txn)
        .await?;
    match duplicate {
        Some(_) => Err(ServiceError::Refused(CATEGORY_EXISTS.into())),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        shopping::fixtures::household_with_list,
        testing::{memory_db, user},
    };

    #[tokio::test]
    async fn a_category_name_is_taken_once_per_scope() {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let (flat, _) = household_with_list(&db, olive, "Flat").await;
        let category = |household_id| NewCategory {
            id: Uuid::new_v4(),
            name: "Dairy".into(),
            icon: None,
            color: None,
            household_id,
        };
        create_category(&db, olive, category(None))
            .await
            .expect("global");
        create_category(&db, olive, category(Some(flat)))
            .await
            .expect("the household's");
        let again = create_category(&db, olive, category(Some(flat))).await;
        assert!(matches!(again, Err(ServiceError::Refused(m)) if m == CATEGORY_EXISTS));
        let again = create_category(&db, olive, category(None)).await;
        assert!(matches!(again, Err(ServiceError::Refused(m)) if m == CATEGORY_EXISTS));
        // Olive's own "Dairy" is hers: another user may have one of their own.
        let max = user(&db, "max").await;
        create_category(&db, max, category(None))
            .await
            .expect("Max's own");
    }

    #[tokio::test]
    async fn a_category_made_without_a_household_is_listed_for_its_creator_only() {
        let db = memory_db().await;
        let (olive, max) = (user(&db, "olive").await, user(&db, "max").await);
        let (flat, _) = household_with_list(&db, olive, "Flat").await;
        create_category(
            &db,
            max,
            NewCategory {
                id: Uuid::new_v4(),
                name: "Max's".into(),
                icon: None,
                color: None,
                household_id: None,
            },
        )
        .await
        .expect("create");
        let names =
            |list: Vec<item_category::Model>| list.into_iter().map(|c| c.name).collect::<Vec<_>>();
        let olives = categories(&db, olive, Some(flat)).await.expect("list");
        assert!(olives.is_empty(), "{:?}", names(olives));
        let maxs = categories(&db, max, None).await.expect("list");
        assert_eq!(names(maxs), ["Max's"]);
    }
}
