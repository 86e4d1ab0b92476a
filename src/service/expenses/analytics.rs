//! A user's own spending over recent 30-day periods: overall, by category and per period.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDateTime, Utc};
use entities::{enums::ExpenseCategory, expense, money::Money};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{label, scope, splits_of};
use crate::{
    db::Db,
    domain::ids::{HouseholdId, UserId},
    service::{ServiceError, ServiceResult, access::Caller},
};

pub const OWN_ANALYTICS_ONLY: &str = "You can only view your own analytics";

/// Amounts by category label.
pub type Breakdown = BTreeMap<String, Money>;

#[derive(Debug)]
pub struct Analytics {
    pub user_id: UserId,
    pub household_id: Option<HouseholdId>,
    pub period_start: NaiveDateTime,
    pub period_end: NaiveDateTime,
    /// What the user paid, personal expenses included.
    pub spent: Money,
    /// What the user paid of shared expenses.
    pub paid_for_others: Money,
    /// What the user's splits come to.
    pub owed: Money,
    /// Expenses of the covered households in the period, whoever paid.
    pub expense_count: u64,
    /// Over the expenses the user paid or has a split of.
    pub by_category: Breakdown,
    /// Periods without expenses are left out.
    pub periods: Vec<PeriodStats>,
}

impl Analytics {
    pub fn net(&self) -> Money {
        self.paid_for_others - self.owed
    }
}

/// One 30-day period's figures, named by the year and month it starts in.
#[derive(Debug)]
pub struct PeriodStats {
    pub year: i32,
    pub month: u32,
    pub total: Money,
    pub count: u64,
    pub by_category: Breakdown,
    pub average: Money,
}

/// `user_id`'s analytics over the last `months` 30-day periods, in `household_id` or in
/// every household they are in; only the user themselves may see them.
pub async fn analytics(
    db: &Db,
    caller: Caller,
    user_id: UserId,
    household_id: Option<HouseholdId>,
    months: u32,
) -> ServiceResult<Analytics> {
    if user_id != caller.user_id() {
        return Err(ServiceError::Forbidden(OWN_ANALYTICS_ONLY.into()));
    }
    let households = scope(db, caller, household_id).await?;
    let user_id = user_id.uuid();
    let period_end = Utc::now().naive_utc();
    let period_start = period_end - Duration::days(30 * i64::from(months));
    let expenses = db
        .read(|conn| {
            let households = households.clone();
            async move {
                expense::Entity::find()
                    .filter(expense::Column::HouseholdId.is_in(households))
                    .filter(expense::Column::Date.gte(period_start))
                    .filter(expense::Column::Date.lte(period_end))
                    .order_by_asc(expense::Column::Date)
                    .all(&conn)
                    .await
            }
        })
        .await?;
    let splits = splits_of(db, expenses.iter().map(|e| e.id).collect()).await?;
    let mut my_splits: HashMap<Uuid, Money> = HashMap::new();
    for s in splits.iter().filter(|s| s.user_id == user_id) {
        *my_splits.entry(s.expense_id).or_insert(Money::ZERO) += s.amount_owed;
    }
    let mine = |e: &&expense::Model| e.created_by == user_id;
    let periods = (0..i64::from(months))
        .filter_map(|k| {
            let from = period_start + Duration::days(30 * k);
            let to = from + Duration::days(30);
            let within: Vec<&expense::Model> = expenses
                .iter()
                .filter(|e| e.date >= from && e.date < to)
                .collect();
            period(from, &within)
        })
        .collect();
    Ok(Analytics {
        user_id: user_id.into(),
        household_id,
        period_start,
        period_end,
        spent: expenses.iter().filter(mine).map(|e| e.amount).sum(),
        paid_for_others: expenses
            .iter()
            .filter(|e| mine(e) && !e.is_personal)
            .map(|e| e.amount)
            .sum(),
        owed: my_splits.values().copied().sum(),
        expense_count: expenses.len() as u64,
        by_category: breakdown(
            expenses
                .iter()
                .filter(|e| mine(e) || my_splits.contains_key(&e.id)),
        ),
        periods,
    })
}

/// One period's figures; `None` for a period without expenses.
fn period(from: NaiveDateTime, expenses: &[&expense::Model]) -> Option<PeriodStats> {
    if expenses.is_empty() {
        return None;
    }
    let total: Money = expenses.iter().map(|e| e.amount).sum();
    let count = expenses.len() as u64;
    Some(PeriodStats {
        year: from.year(),
        month: from.month(),
        total,
        count,
        by_category: breakdown(expenses.iter().copied()),
        average: Money::new(total.decimal() / Decimal::from(count)),
    })
}

fn breakdown<'a>(expenses: impl Iterator<Item = &'a expense::Model>) -> Breakdown {
    let mut by_category = Breakdown::new();
    for e in expenses {
        add_to(&mut by_category, e.category, e.amount);
    }
    by_category
}

fn add_to(by_category: &mut Breakdown, category: ExpenseCategory, amount: Money) {
    *by_category.entry(label(category)).or_insert(Money::ZERO) += amount;
}
