//! Shared expenses: recording one with its shares, reading, changing and deleting it,
//! settling its splits, the household's balances, a user's analytics and what the AI is
//! told about a household. Money is exact (`Money`) throughout.

mod analytics;
mod context;
mod crud;
mod settlement;
mod summary;

use std::collections::HashMap;

use entities::{enums::ExpenseCategory, expense, expense_split, household_member, user};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    ServiceError, ServiceResult,
    access::{Caller, WhenMissing, membership},
    people::People,
};
use crate::{db::Db, domain::ids::HouseholdId};

pub use analytics::{Analytics, PeriodStats, analytics};
pub use context::household_context;
pub use crud::{
    ExpenseChanges, ExpenseFilter, MEMBERS_CHANGED, NewExpense, Share, create, delete, get, list,
    update,
};
pub(crate) use crud::{changed, new_rows, only_the_creator_can};
pub use settlement::settle;
pub use summary::{Balance, HouseholdSummary, summary};

pub const EXPENSE_NOT_FOUND: &str = "Expense not found";
pub const SPLITS_NOT_FOUND: &str = "Some split IDs were not found";

/// An expense and the user who created it (`None` once they are gone).
#[derive(Debug)]
pub struct Expense {
    pub model: expense::Model,
    pub creator: Option<user::Model>,
}

/// A split and the user who owes it.
#[derive(Debug)]
pub struct Split {
    pub model: expense_split::Model,
    pub user: Option<user::Model>,
}

/// An expense with its splits, oldest first.
#[derive(Debug)]
pub struct ExpenseDetail {
    pub expense: Expense,
    pub splits: Vec<Split>,
}

/// The splits of these expenses, oldest first. The caller has already seen the expenses
/// (through a membership-checked read), so the splits are theirs to see.
async fn splits_of(db: &Db, expense_ids: Vec<Uuid>) -> ServiceResult<Vec<expense_split::Model>> {
    Ok(db
        .read(|conn| {
            let ids = expense_ids.clone();
            async move { splits_in(&conn, ids).await }
        })
        .await?)
}

async fn splits_in<C: ConnectionTrait>(
    conn: &C,
    expense_ids: Vec<Uuid>,
) -> Result<Vec<expense_split::Model>, sea_orm::DbErr> {
    expense_split::Entity::find()
        .filter(expense_split::Column::ExpenseId.is_in(expense_ids))
        .order_by_asc(expense_split::Column::CreatedAt)
        .order_by_asc(expense_split::Column::Id)
        .all(conn)
        .await
}

/// A household's members as users, in the order they joined: equal shares follow this
/// order, so the first to join get the leftover cents.
async fn members_of(db: &Db, household_id: HouseholdId) -> ServiceResult<Vec<user::Model>> {
    Ok(db
        .read(|conn| async move {
            user::Entity::find()
                .inner_join(household_member::Entity)
                .filter(household_member::Column::HouseholdId.eq(household_id.uuid()))
                .order_by_asc(household_member::Column::JoinedAt)
                .order_by_asc(household_member::Column::Id)
                .all(&conn)
                .await
        })
        .await?)
}

/// The households a listing covers: the one asked for (the caller must be a member), or
/// every household the caller is in.
async fn scope(
    db: &Db,
    caller: Caller,
    household_id: Option<HouseholdId>,
) -> ServiceResult<Vec<Uuid>> {
    if let Some(id) = household_id {
        membership(db, caller, id, WhenMissing::Forbidden).await?;
        return Ok(vec![id.uuid()]);
    }
    let user_id = caller.user_id().uuid();
    Ok(db
        .read(|conn| async move {
            household_member::Entity::find()
                .select_only()
                .column(household_member::Column::HouseholdId)
                .filter(household_member::Column::UserId.eq(user_id))
                .into_tuple()
                .all(&conn)
                .await
        })
        .await?)
}

/// An expense with its splits and the people they name, read after it was written.
async fn detail_of(db: &Db, expense: expense::Model) -> ServiceResult<ExpenseDetail> {
    let mut details = details_of(db, vec![expense]).await?;
    details
        .pop()
        .ok_or_else(|| ServiceError::NotFound(EXPENSE_NOT_FOUND.into()))
}

/// Expenses with their splits and the people they name, in two reads whatever their number.
/// The caller has already seen the expenses, through a membership-checked read.
pub async fn details_of(
    db: &Db,
    expenses: Vec<expense::Model>,
) -> ServiceResult<Vec<ExpenseDetail>> {
    let splits = splits_of(db, expenses.iter().map(|e| e.id).collect()).await?;
    let people = People::load(
        db,
        splits
            .iter()
            .map(|s| s.user_id)
            .chain(expenses.iter().map(|e| e.created_by)),
    )
    .await?;
    let mut by_expense: HashMap<Uuid, Vec<Split>> = HashMap::new();
    for model in splits {
        by_expense.entry(model.expense_id).or_default().push(Split {
            user: people.get(model.user_id).cloned(),
            model,
        });
    }
    Ok(expenses
        .into_iter()
        .map(|expense| ExpenseDetail {
            splits: by_expense.remove(&expense.id).unwrap_or_default(),
            expense: Expense {
                creator: people.get(expense.created_by).cloned(),
                model: expense,
            },
        })
        .collect())
}

/// The category as the contract spells it (`groceries`, `utilities`, …).
fn label(category: ExpenseCategory) -> String {
    category.to_value()
}

/// A household to record expenses in, for the rules' unit tests.
#[cfg(test)]
mod fixtures {
    use chrono::Duration;
    use entities::{
        enums::{ExpenseCategory, PaymentMethod, SplitType},
        money::Money,
    };
    use uuid::Uuid;

    use super::NewExpense;
    use crate::{
        db::Db,
        domain::ids::HouseholdId,
        service::{
            access::Caller,
            households::{self, Joiner},
            testing::{invite, memory_db, user},
        },
    };

    /// Olive (owner), Max and Lou, who joined in that order.
    pub struct Flat {
        pub db: Db,
        pub id: HouseholdId,
        pub olive: Caller,
        pub max: Caller,
        pub lou: Caller,
    }

    pub async fn flat() -> Flat {
        let db = memory_db().await;
        let olive = user(&db, "olive").await;
        let flat = households::create(&db, olive, "Flat".into())
            .await
            .expect("create");
        let mut joined = Vec::new();
        for name in ["max", "lou"] {
            let caller = user(&db, name).await;
            let token = invite(&db, flat.id, olive, None, Duration::days(1)).await;
            let email = format!("{name}@example.com");
            let joiner = Joiner {
                caller,
                email: &email,
            };
            households::join(&db, joiner, token).await.expect("join");
            joined.push(caller);
        }
        Flat {
            db,
            id: flat.id.into(),
            olive,
            max: joined[0],
            lou: joined[1],
        }
    }

    pub fn money(text: &str) -> Money {
        text.parse().expect("an amount")
    }

    /// A shared expense of `amount`, split equally.
    pub fn new_expense(household_id: HouseholdId, amount: &str) -> NewExpense {
        NewExpense {
            id: Uuid::new_v4().into(),
            household_id,
            amount: money(amount),
            description: "Groceries".to_owned(),
            category: ExpenseCategory::Groceries,
            payment_method: PaymentMethod::Card,
            date: None,
            split_type: SplitType::Equal,
            is_personal: false,
            splits: Vec::new(),
        }
    }
}
