//! A household's expense summary: what it spent, what is settled and pending, and each
//! member's balance, over shared (non-personal) expenses.

use entities::{expense, expense_split, money::Money, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{members_in, splits_of};
use crate::{
    db::Db,
    service::{
        ServiceResult,
        access::{WhenMissing, membership},
        people::People,
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
    pub household_id: Uuid,
    pub total: Money,
    pub settled: Money,
    pub pending: Money,
    pub expense_count: u64,
    /// One per member, in the order they joined.
    pub balances: Vec<Balance>,
}

/// The summary of `household_id`, for one of its members.
pub async fn summary(
    db: &Db,
    user_id: Uuid,
    household_id: Uuid,
) -> ServiceResult<HouseholdSummary> {
    membership(db, household_id, user_id, WhenMissing::Forbidden).await?;
    let (expenses, members) = db
        .read(|conn| async move {
            let expenses = expense::Entity::find()
                .filter(expense::Column::HouseholdId.eq(household_id))
                .filter(expense::Column::IsPersonal.eq(false))
                .all(&conn)
                .await?;
            Ok((expenses, members_in(&conn, household_id).await?))
        })
        .await?;
    let splits = splits_of(db, expenses.iter().map(|e| e.id).collect()).await?;
    let people = People::load(db, members.iter().map(|m| m.user_id)).await?;
    let owed_where = |settled: bool| -> Money {
        splits
            .iter()
            .filter(|s| s.is_settled == settled)
            .map(|s| s.amount_owed)
            .sum()
    };
    let balances = members
        .iter()
        .filter_map(|m| people.get(m.user_id))
        .map(|u| balance(u, &expenses, &splits))
        .collect();
    Ok(HouseholdSummary {
        household_id,
        total: expenses.iter().map(|e| e.amount).sum(),
        settled: owed_where(true),
        pending: owed_where(false),
        expense_count: expenses.len() as u64,
        balances,
    })
}

fn balance(
    user: &user::Model,
    expenses: &[expense::Model],
    splits: &[expense_split::Model],
) -> Balance {
    Balance {
        paid: expenses
            .iter()
            .filter(|e| e.created_by == user.id)
            .map(|e| e.amount)
            .sum(),
        owed: splits
            .iter()
            .filter(|s| s.user_id == user.id)
            .map(|s| s.amount_owed)
            .sum(),
        user: user.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        ServiceError,
        access::Caller,
        expenses::{
            create,
            fixtures::{flat, money, new_expense},
        },
    };

    #[tokio::test]
    async fn balances_are_paid_minus_owed_over_shared_expenses() {
        let f = flat().await;
        create(&f.db, Caller::user(f.olive), new_expense(f.id, "90"))
            .await
            .expect("shared");
        let mut personal = new_expense(f.id, "40");
        personal.is_personal = true;
        create(&f.db, Caller::user(f.max), personal)
            .await
            .expect("personal");
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
                (f.olive, money("60")),
                (f.max, money("-30")),
                (f.lou, money("-30"))
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
