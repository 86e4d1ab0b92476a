//! A household's expense summary: what it spent, what is settled and pending, and each
//! member's balance, over shared (non-personal) expenses.

use std::collections::HashMap;

use entities::{expense, expense_split, money::Money, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::members_of;
use crate::{
    db::Db,
    domain::ids::HouseholdId,
    service::{
        ServiceError, ServiceResult,
        access::{Caller, NOT_A_MEMBER},
    },
};

/// What a member paid for the household and what they owe of it.
#[derive(Debug)]
pub struct Balance {
    pub user: user::Model,
    pub paid: Money,
    pub owed: Money,
}

impl Balance {
    /// Paid minus owed: what the household owes them (negative: what they owe it).
    pub fn net(&self) -> Money {
        self.paid - self.owed
    }
}

#[derive(Debug)]
pub struct HouseholdSummary {
    pub household_id: HouseholdId,
    pub total: Money,
    pub settled: Money,
    pub pending: Money,
    pub expense_count: u64,
    /// One per member, in the order they joined.
    pub balances: Vec<Balance>,
}

/// The summary of `household_id`, for one of its members: two reads, the members (whose
/// balances it gives; a caller not among them is refused) and every shared expense with
/// its splits. Sums are made here, exact: SQLite would sum amounts through floats.
pub async fn summary(
    db: &Db,
    caller: Caller,
    household_id: HouseholdId,
) -> ServiceResult<HouseholdSummary> {
    let members = members_of(db, household_id).await?;
    if !members
        .iter()
        .any(|member| member.id == caller.user_id().uuid())
    {
        return Err(ServiceError::Forbidden(NOT_A_MEMBER.into()));
    }
    let rows: Vec<SplitOfExpense> = db
        .read(|conn| async move {
            expense::Entity::find()
                .left_join(expense_split::Entity)
                .filter(expense::Column::HouseholdId.eq(household_id.uuid()))
                .filter(expense::Column::IsPersonal.eq(false))
                .select_only()
                .column(expense::Column::Id)
                .column(expense::Column::Amount)
                .column(expense::Column::CreatedBy)
                .column(expense_split::Column::UserId)
                .column(expense_split::Column::AmountOwed)
                .column(expense_split::Column::IsSettled)
                .into_tuple()
                .all(&conn)
                .await
        })
        .await?;
    let mut expenses: HashMap<Uuid, (Money, Uuid)> = HashMap::new();
    let (mut settled, mut pending) = (Money::ZERO, Money::ZERO);
    let mut owed: HashMap<Uuid, Money> = HashMap::new();
    for (expense, amount, payer, owing, share, is_settled) in rows {
        expenses.insert(expense, (amount, payer));
        if let (Some(owing), Some(share)) = (owing, share) {
            *owed.entry(owing).or_default() += share;
            if is_settled == Some(true) {
                settled += share;
            } else {
                pending += share;
            }
        }
    }
    let balances = members
        .into_iter()
        .map(|user| Balance {
            paid: expenses
                .values()
                .filter(|(_, payer)| *payer == user.id)
                .map(|(amount, _)| *amount)
                .sum(),
            owed: owed.get(&user.id).copied().unwrap_or_default(),
            user,
        })
        .collect();
    Ok(HouseholdSummary {
        household_id,
        total: expenses.values().map(|(amount, _)| *amount).sum(),
        settled,
        pending,
        expense_count: expenses.len() as u64,
        balances,
    })
}

/// An expense (id, amount, payer) with one of its splits (who owes, how much, settled),
/// if it has any.
type SplitOfExpense = (Uuid, Money, Uuid, Option<Uuid>, Option<Money>, Option<bool>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        ServiceError,
        expenses::{
            create,
            fixtures::{flat, money, new_expense},
        },
    };

    #[tokio::test]
    async fn balances_are_paid_minus_owed_over_shared_expenses() {
        let f = flat().await;
        create(&f.db, f.olive, new_expense(f.id, "90"))
            .await
            .expect("shared");
        let mut personal = new_expense(f.id, "40");
        personal.is_personal = true;
        create(&f.db, f.max, personal).await.expect("personal");
        let summary = summary(&f.db, f.lou, f.id).await.expect("summary");
        assert_eq!(
            (
                summary.total,
                summary.settled,
                summary.pending,
                summary.expense_count
            ),
            (money("90"), money("30"), money("60"), 1)
        );
        let nets: Vec<(Uuid, Money)> = summary
            .balances
            .iter()
            .map(|b| (b.user.id, b.net()))
            .collect();
        assert_eq!(
            nets,
            [
                (f.olive.user_id().uuid(), money("60")),
                (f.max.user_id().uuid(), money("-30")),
                (f.lou.user_id().uuid(), money("-30"))
            ]
        );
    }

    #[tokio::test]
    async fn only_members_see_the_summary() {
        let f = flat().await;
        let outsider = crate::service::testing::user(&f.db, "ivan").await;
        let refused = summary(&f.db, outsider, f.id).await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
    }
}
