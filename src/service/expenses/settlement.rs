//! Settling an expense's splits: marking what a member owes as paid back.

use chrono::Utc;
use entities::{expense, expense_split};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{EXPENSE_NOT_FOUND, SPLITS_NOT_FOUND};
use crate::{
    db::{Db, Txn},
    domain::ids::{ExpenseId, SplitId},
    service::{
        ServiceError, ServiceResult,
        access::{Caller, scoped_row},
    },
};

/// Settles the splits `split_ids` of expense `expense_id`, for a member of its household;
/// answers the ids this call settled (ones already settled are left out). Not found, and
/// nothing settled, unless every id names a split of the expense.
pub async fn settle(
    db: &Db,
    caller: Caller,
    expense_id: ExpenseId,
    split_ids: Vec<SplitId>,
) -> ServiceResult<Vec<SplitId>> {
    db.write(|txn| Box::pin(settle_splits(txn, caller, expense_id, split_ids)))
        .await
}

async fn settle_splits(
    txn: &Txn,
    caller: Caller,
    expense_id: ExpenseId,
    split_ids: Vec<SplitId>,
) -> ServiceResult<Vec<SplitId>> {
    let expense = scoped_row::<expense::Entity, _>(
        txn,
        caller,
        expense_id.uuid(),
        expense::Column::HouseholdId,
        EXPENSE_NOT_FOUND,
    )
    .await?;
    let mut split_ids: Vec<Uuid> = split_ids.into_iter().map(SplitId::uuid).collect();
    split_ids.sort_unstable();
    split_ids.dedup();
    let found = expense_split::Entity::find()
        .filter(expense_split::Column::ExpenseId.eq(expense.id))
        .filter(expense_split::Column::Id.is_in(split_ids.clone()))
        .all(txn)
        .await?;
    if found.len() != split_ids.len() {
        return Err(ServiceError::NotFound(SPLITS_NOT_FOUND.into()));
    }
    // Only rows still unsettled change, so concurrent settlements count each split once.
    let settled = expense_split::Entity::update_many()
        .set(expense_split::ActiveModel {
            is_settled: Set(true),
            settled_at: Set(Some(Utc::now().naive_utc())),
            ..Default::default()
        })
        .filter(expense_split::Column::ExpenseId.eq(expense.id))
        .filter(expense_split::Column::Id.is_in(split_ids))
        .filter(expense_split::Column::IsSettled.eq(false))
        .exec_with_returning(txn)
        .await?;
    Ok(settled.into_iter().map(|s| s.id.into()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::expenses::{
        ExpenseDetail, create,
        fixtures::{Flat, flat, new_expense},
    };

    /// Olive's expense of 90 split equally: her own split settled, Max's and Lou's not.
    async fn groceries(f: &Flat) -> ExpenseDetail {
        create(&f.db, f.olive, new_expense(f.id, "90"))
            .await
            .expect("create")
    }

    /// The id of `caller`'s split of `expense`.
    fn split_of(expense: &ExpenseDetail, caller: Caller) -> SplitId {
        let user_id = caller.user_id().uuid();
        let split = expense.splits.iter().find(|s| s.model.user_id == user_id);
        split.expect("a split for every member").model.id.into()
    }

    async fn settled(f: &Flat, split_id: SplitId) -> bool {
        expense_split::Entity::find_by_id(split_id.uuid())
            .one(f.db.connection())
            .await
            .expect("read")
            .expect("the split")
            .is_settled
    }

    #[tokio::test]
    async fn settling_marks_each_split_once() {
        let f = flat().await;
        let expense = groceries(&f).await;
        let id = expense.expense.model.id.into();
        let (olives, maxs) = (split_of(&expense, f.olive), split_of(&expense, f.max));
        let lou = f.lou;
        let first = settle(&f.db, lou, id, vec![maxs, maxs, olives])
            .await
            .expect("settle");
        assert_eq!(first, [maxs], "Olive's own split was settled already");
        let again = settle(&f.db, lou, id, vec![maxs]).await.expect("settle");
        assert!(again.is_empty());
        assert!(!settled(&f, split_of(&expense, f.lou)).await);
    }

    #[tokio::test]
    async fn an_unknown_split_settles_nothing() {
        let f = flat().await;
        let expense = groceries(&f).await;
        let maxs = split_of(&expense, f.max);
        let split_ids = vec![maxs, uuid::Uuid::new_v4().into()];
        let refused = settle(&f.db, f.max, expense.expense.model.id.into(), split_ids).await;
        assert!(
            matches!(&refused, Err(ServiceError::NotFound(why)) if why == SPLITS_NOT_FOUND),
            "{refused:?}"
        );
        assert!(!settled(&f, maxs).await);
    }

    #[tokio::test]
    async fn only_members_settle() {
        let f = flat().await;
        let expense = groceries(&f).await;
        let outsider = crate::service::testing::user(&f.db, "ivan").await;
        let maxs = split_of(&expense, f.max);
        let refused = settle(&f.db, outsider, expense.expense.model.id.into(), vec![maxs]).await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
        assert!(!settled(&f, maxs).await);
    }
}
