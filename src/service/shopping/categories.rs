//! Item categories: the global ones and a household's own, and creating one.

use chrono::Utc;
use entities::item_category;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::CATEGORY_EXISTS;
use crate::{
    db::Db,
    service::{
        ServiceError, ServiceResult,
        access::{Caller, WhenMissing, membership, require_member},
    },
};

/// An item category to create; without a household it is global.
pub struct NewCategory {
    pub id: Uuid,
    pub name: String,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub household_id: Option<Uuid>,
}

/// The global categories, and the household's when one is given, by name.
pub async fn categories(
    db: &Db,
    user_id: Uuid,
    household_id: Option<Uuid>,
) -> ServiceResult<Vec<item_category::Model>> {
    if let Some(household_id) = household_id {
        membership(db, household_id, user_id, WhenMissing::Forbidden).await?;
    }
    Ok(db
        .read(|conn| async move {
            let mut scope = Condition::any().add(item_category::Column::HouseholdId.is_null());
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

/// Creates a category, refused when its scope (global, or the household) has one of that
/// name already.
pub async fn create_category(
    db: &Db,
    user_id: Uuid,
    new: NewCategory,
) -> ServiceResult<item_category::Model> {
    db.write(|txn| {
        Box::pin(async move {
            match new.household_id {
                Some(household_id) => {
                    require_member(txn, Caller::user(user_id), household_id).await?;
                }
                // A household's names are unique by `uq_category_name_household` (see
                // `constraints`); global ones have no household, and NULLs never collide.
                None => {
                    let duplicate = item_category::Entity::find()
                        .filter(item_category::Column::Name.eq(new.name.as_str()))
                        .filter(item_category::Column::HouseholdId.is_null())
                        .one(txn)
                        .await?;
                    if duplicate.is_some() {
                        return Err(ServiceError::Refused(CATEGORY_EXISTS.into()));
                    }
                }
            }
            Ok(item_category::ActiveModel {
                id: Set(new.id),
                name: Set(new.name),
                icon: Set(new.icon),
                color: Set(new.color),
                household_id: Set(new.household_id),
                created_at: Set(Utc::now().naive_utc()),
            }
            .insert(txn)
            .await?)
        })
    })
    .await
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
    }
}
