//! What the AI is told about a household when it suggests chores: its recent expenses
//! and its open todos, unless the member asking turned AI features off. The AI call
//! itself is not the service's.

use super::label;
use crate::{
    db::{Db, rows},
    service::{ServiceResult, access::Membership, users::read_ai_choice},
};
use chrono::{Duration, Utc};
use entities::{enums::TodoStatus, expense, todo};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// How far back, and how many of each, the prompt mentions: enough to suggest from, short
/// enough for a prompt.
const RECENT_DAYS: i64 = 30;
const AT_MOST: u64 = 20;

/// The prompt's description of the household a member's `membership` is of; none when
/// that member turned AI features off, so that nothing of it reaches a provider.
pub async fn household_context(db: &Db, membership: &Membership) -> ServiceResult<Option<String>> {
    let (household_id, user_id) = (membership.household_id().uuid(), membership.user_id());
    let since = Utc::now().naive_utc() - Duration::days(RECENT_DAYS);
    let read = db
        .read(|conn| async move {
            if !read_ai_choice(&conn, user_id).await? {
                return Ok(None);
            }
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
            Ok(Some((expenses, todos)))
        })
        .await?;
    let Some((expenses, todos)) = read else {
        return Ok(None);
    };
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
    Ok(Some(context))
}
