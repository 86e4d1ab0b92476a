//! What the AI is told about a household when it suggests chores: its recent expenses
//! and its open todos. The AI call itself is not the service's.

use super::label;
use crate::{
    db::{Db, rows},
    service::{ServiceResult, access::Membership},
};
use chrono::{Duration, Utc};
use entities::{enums::TodoStatus, expense, todo};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// How far back, and how many of each, the prompt mentions: enough to suggest from, short
/// enough for a prompt.
const RECENT_DAYS: i64 = 30;
const AT_MOST: u64 = 20;

/// The prompt's description of the household a member's `membership` is of.
pub async fn household_context(db: &Db, membership: &Membership) -> ServiceResult<String> {
    let household_id = membership.household_id().uuid();
    let since = Utc::now().naive_utc() - Duration::days(RECENT_DAYS);
    let (expenses, todos) = db
        .read(|conn| async move {
            let expenses = expense::Entity::find()
                .filter(expense::Column::HouseholdId.eq(household_id))
                .filter(expense::Column::Date.gte(since))
                .order_by_desc(expense::Column::Date)
                .limit(AT_MOST)
                .all(&conn)
                .await?;
            let todos = rows::all(
                todo::Entity::find()
                    .filter(todo::Column::HouseholdId.eq(household_id))
                    .filter(todo::Column::Status.ne(TodoStatus::Completed))
                    .limit(AT_MOST),
                &conn,
            )
            .await?;
            Ok((expenses, todos))
        })
        .await?;
    let mut context = String::from("Recent expenses:\n");
    for e in &expenses {
        context.push_str(&format!(
            "- {} ({}): {}\n",
            e.description,
            label(e.category),
            e.amount
        ));
    }
    context.push_str("Open todos:\n");
    for t in &todos {
        context.push_str(&format!("- {}\n", t.title));
    }
    Ok(context)
}
