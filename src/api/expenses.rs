//! `/api/v1/expenses`: shared expenses, their splits, settlement, the household summary
//! and a user's analytics. Money is exact (`Amount`/`Money`) throughout.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDateTime, Utc};
use entities::{
    enums::{ExpenseCategory, PaymentMethod, SplitType, TodoStatus},
    expense, expense_split, household_member,
    money::Money,
    todo, user,
};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    amount::{Amount, PositiveAmount},
    choice::Choice,
    nullable::Nullable,
    text::Text,
    timestamp::Timestamp,
};
use crate::{
    auth::BearerAuth,
    domain::splits::{equal_shares, sums_to},
    error::{ApiError, ApiResult},
    service::access::{Caller, WhenMissing, membership, scoped_read},
    state::AppState,
};

const EXPENSE_NOT_FOUND: &str = "Expense not found";

#[derive(Tags)]
enum Tag {
    /// Shared expenses, splits and balances.
    Expenses,
}

fn other_category() -> Choice<ExpenseCategory> {
    Choice(ExpenseCategory::Other)
}

fn cash() -> Choice<PaymentMethod> {
    Choice(PaymentMethod::Cash)
}

fn equal() -> Choice<SplitType> {
    Choice(SplitType::Equal)
}

#[derive(Object)]
struct SplitCreate {
    user_id: Uuid,
    /// More than 0 and at most 99999999.99, at most two decimals, no sign or leading zeros; a
    /// JSON number with those digits is also read.
    amount_owed: PositiveAmount,
}

#[derive(Object)]
struct ExpenseCreate {
    household_id: Uuid,
    /// More than 0 and at most 99999999.99, at most two decimals, no sign or leading zeros; a
    /// JSON number with those digits is also read.
    amount: PositiveAmount,
    #[oai(validator(min_length = 1, max_length = 500))]
    description: Text,
    #[oai(default = "other_category")]
    category: Choice<ExpenseCategory>,
    #[oai(default = "cash")]
    payment_method: Choice<PaymentMethod>,
    /// Defaults to now.
    #[oai(nullable)]
    date: Option<Timestamp>,
    #[oai(default = "equal")]
    split_type: Choice<SplitType>,
    #[oai(default)]
    is_personal: bool,
    /// Required for `custom` and `percentage` splits: each member's share as an amount.
    #[oai(nullable, validator(max_items = 100))]
    splits: Option<Vec<SplitCreate>>,
}

/// Fields left out (or null) are left as they are. Splits are not recomputed.
#[derive(Object)]
struct ExpenseUpdate {
    /// More than 0 and at most 99999999.99, at most two decimals, no sign or leading zeros; a
    /// JSON number with those digits is also read.
    #[oai(nullable)]
    amount: Option<PositiveAmount>,
    #[oai(nullable, validator(min_length = 1, max_length = 500))]
    description: Option<Text>,
    category: Nullable<Choice<ExpenseCategory>>,
    payment_method: Nullable<Choice<PaymentMethod>>,
    #[oai(nullable)]
    date: Option<Timestamp>,
}

#[derive(Object)]
struct ExpenseResponse {
    id: Uuid,
    household_id: Uuid,
    created_by: Uuid,
    amount: Amount,
    description: String,
    category: Choice<ExpenseCategory>,
    payment_method: Choice<PaymentMethod>,
    date: Timestamp,
    split_type: Choice<SplitType>,
    is_personal: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[oai(nullable)]
    creator_name: Option<String>,
    #[oai(nullable)]
    creator_email: Option<String>,
}

impl ExpenseResponse {
    fn new(e: expense::Model, creator: Option<&user::Model>) -> Self {
        Self {
            id: e.id,
            household_id: e.household_id,
            created_by: e.created_by,
            amount: Amount(e.amount),
            description: e.description,
            category: Choice(e.category),
            payment_method: Choice(e.payment_method),
            date: e.date.into(),
            split_type: Choice(e.split_type),
            is_personal: e.is_personal,
            created_at: e.created_at.into(),
            updated_at: e.updated_at.into(),
            creator_name: creator.map(|u| u.full_name.clone()),
            creator_email: creator.map(|u| u.email.clone()),
        }
    }
}

#[derive(Object)]
struct SplitResponse {
    id: Uuid,
    expense_id: Uuid,
    user_id: Uuid,
    amount_owed: Amount,
    is_settled: bool,
    #[oai(nullable)]
    settled_at: Option<Timestamp>,
    created_at: Timestamp,
    #[oai(nullable)]
    user_email: Option<String>,
    #[oai(nullable)]
    user_name: Option<String>,
}

#[derive(Object)]
struct ExpenseWithSplits {
    #[oai(flatten)]
    expense: ExpenseResponse,
    splits: Vec<SplitResponse>,
}

#[derive(Object)]
struct SettleRequest {
    #[oai(validator(min_items = 1, max_items = 100))]
    split_ids: Vec<Uuid>,
}

#[derive(Object)]
struct SettlementResponse {
    settled_count: u64,
    /// The splits this request settled (ones already settled are left out).
    split_ids: Vec<Uuid>,
    message: String,
}

#[derive(Object)]
struct UserBalance {
    user_id: Uuid,
    user_name: String,
    user_email: String,
    total_paid: Amount,
    total_owed: Amount,
    /// Paid minus owed.
    balance: Amount,
}

#[derive(Object)]
struct ExpenseSummary {
    household_id: Uuid,
    total_expenses: Amount,
    total_settled: Amount,
    total_pending: Amount,
    expense_count: u64,
    user_balances: Vec<UserBalance>,
}

#[derive(Object)]
struct MonthlyExpenseStats {
    year: i32,
    month: u32,
    total_amount: Amount,
    expense_count: u64,
    category_breakdown: BTreeMap<String, Amount>,
    average_expense: Amount,
}

#[derive(Object)]
struct PersonalExpenseAnalytics {
    user_id: Uuid,
    #[oai(nullable)]
    household_id: Option<Uuid>,
    period_start: Timestamp,
    period_end: Timestamp,
    total_spent: Amount,
    total_paid_for_others: Amount,
    total_owed_by_user: Amount,
    net_balance: Amount,
    expense_count: u64,
    category_breakdown: BTreeMap<String, Amount>,
    monthly_stats: Vec<MonthlyExpenseStats>,
}

#[derive(Object)]
struct TaskSuggestion {
    title: String,
    description: String,
    /// `low`, `medium` or `high`.
    priority: String,
    /// `chores`, `financial`, `shopping`, `maintenance` or `other`.
    category: String,
    reasoning: String,
}

#[derive(Object)]
struct TaskSuggestionsResponse {
    suggestions: Vec<TaskSuggestion>,
}

#[derive(ApiResponse)]
enum Created {
    /// Created, with its splits.
    #[oai(status = 201)]
    Expense(Json<ExpenseWithSplits>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Deleted, with its splits.
    #[oai(status = 204)]
    Done,
}

fn label(category: ExpenseCategory) -> String {
    use sea_orm::ActiveEnum;
    category.to_value()
}

pub(super) async fn splits_of(
    state: &AppState,
    expense_ids: Vec<Uuid>,
) -> ApiResult<Vec<expense_split::Model>> {
    Ok(state
        .db
        .read(|conn| {
            let ids = expense_ids.clone();
            async move {
                expense_split::Entity::find()
                    .filter(expense_split::Column::ExpenseId.is_in(ids))
                    .order_by_asc(expense_split::Column::CreatedAt)
                    .order_by_asc(expense_split::Column::Id)
                    .all(&conn)
                    .await
            }
        })
        .await?)
}

/// An expense with its splits and the names of everyone in it.
async fn with_splits(state: &AppState, expense: expense::Model) -> ApiResult<ExpenseWithSplits> {
    let splits = splits_of(state, vec![expense.id]).await?;
    let people = crate::service::people::People::load(
        &state.db,
        splits.iter().map(|s| s.user_id).chain([expense.created_by]),
    )
    .await?;
    let splits = splits
        .into_iter()
        .map(|s| SplitResponse {
            id: s.id,
            expense_id: s.expense_id,
            user_id: s.user_id,
            amount_owed: Amount(s.amount_owed),
            is_settled: s.is_settled,
            settled_at: s.settled_at.map(Into::into),
            created_at: s.created_at.into(),
            user_email: people.get(s.user_id).map(|u| u.email.clone()),
            user_name: people.get(s.user_id).map(|u| u.full_name.clone()),
        })
        .collect();
    let creator = people.get(expense.created_by);
    Ok(ExpenseWithSplits {
        expense: ExpenseResponse::new(expense, creator),
        splits,
    })
}

pub(super) async fn members_of(
    state: &AppState,
    household_id: Uuid,
) -> ApiResult<Vec<household_member::Model>> {
    Ok(state
        .db
        .read(|conn| async move {
            household_member::Entity::find()
                .filter(household_member::Column::HouseholdId.eq(household_id))
                .order_by_asc(household_member::Column::JoinedAt)
                .order_by_asc(household_member::Column::Id)
                .all(&conn)
                .await
        })
        .await?)
}

/// Who owes what for a new expense: every member equally, or the given shares, which must
/// add up to the amount and name only members.
async fn shares_for(state: &AppState, new: &ExpenseCreate) -> ApiResult<Vec<(Uuid, Money)>> {
    if new.is_personal {
        return Ok(Vec::new());
    }
    let members = members_of(state, new.household_id).await?;
    let amount = new.amount.0;
    if new.split_type.0 == SplitType::Equal {
        let shares = equal_shares(amount, members.len());
        return Ok(members.iter().map(|m| m.user_id).zip(shares).collect());
    }
    let splits = match &new.splits {
        Some(splits) if !splits.is_empty() => splits,
        _ => {
            use sea_orm::ActiveEnum;
            return Err(ApiError::bad_request(format!(
                "Custom splits are required for {} split type",
                new.split_type.0.to_value()
            )));
        }
    };
    let shares: Vec<Money> = splits.iter().map(|s| s.amount_owed.0).collect();
    if !sums_to(&shares, amount) {
        let total: Money = shares.iter().copied().sum();
        return Err(ApiError::bad_request(format!(
            "Splits must sum to total amount. Got {total}, expected {amount}"
        )));
    }
    let member_ids: HashSet<Uuid> = members.iter().map(|m| m.user_id).collect();
    if splits.iter().any(|s| !member_ids.contains(&s.user_id)) {
        return Err(ApiError::forbidden(
            "Every split must be for a member of this household",
        ));
    }
    Ok(splits
        .iter()
        .map(|s| (s.user_id, s.amount_owed.0))
        .collect())
}

/// The households a listing covers: the one asked for (the caller must be a member), or
/// every household the caller is in.
async fn scope(state: &AppState, household_id: Option<Uuid>, me: Uuid) -> ApiResult<Vec<Uuid>> {
    if let Some(id) = household_id {
        membership(&state.db, id, me, WhenMissing::Forbidden).await?;
        return Ok(vec![id]);
    }
    Ok(state
        .db
        .read(|conn| async move {
            household_member::Entity::find()
                .select_only()
                .column(household_member::Column::HouseholdId)
                .filter(household_member::Column::UserId.eq(me))
                .into_tuple()
                .all(&conn)
                .await
        })
        .await?)
}

async fn expense_for_member(
    state: &AppState,
    expense_id: Uuid,
    user_id: Uuid,
) -> ApiResult<expense::Model> {
    Ok(scoped_read::<expense::Entity>(
        &state.db,
        Caller::user(user_id),
        expense_id,
        expense::Column::HouseholdId,
        EXPENSE_NOT_FOUND,
    )
    .await?)
}

/// Inserts an expense and its splits; the payer's own split is created settled.
pub(super) async fn insert_expense<C: ConnectionTrait>(
    conn: &C,
    expense: expense::ActiveModel,
    shares: Vec<(Uuid, Money)>,
) -> Result<expense::Model, sea_orm::DbErr> {
    let saved = expense.insert(conn).await?;
    for (user_id, owed) in shares {
        let own = user_id == saved.created_by;
        expense_split::ActiveModel {
            id: Set(Uuid::new_v4()),
            expense_id: Set(saved.id),
            user_id: Set(user_id),
            amount_owed: Set(owed),
            is_settled: Set(own),
            settled_at: Set(own.then_some(saved.created_at)),
            created_at: Set(saved.created_at),
        }
        .insert(conn)
        .await?;
    }
    Ok(saved)
}

/// The expense if the caller created it: 404 when there is none, 403 for anyone else's.
async fn own_expense(
    state: &AppState,
    expense_id: Uuid,
    user_id: Uuid,
    action: &str,
) -> ApiResult<expense::Model> {
    let found = state
        .db
        .read(|conn| async move { expense::Entity::find_by_id(expense_id).one(&conn).await })
        .await?
        .ok_or_else(|| ApiError::not_found(EXPENSE_NOT_FOUND))?;
    if found.created_by != user_id {
        return Err(ApiError::forbidden(format!(
            "Only the creator can {action} this expense"
        )));
    }
    Ok(found)
}

async fn update_expense(
    state: &AppState,
    expense_id: Uuid,
    user_id: Uuid,
    update: ExpenseUpdate,
) -> ApiResult<Json<ExpenseResponse>> {
    let current = own_expense(state, expense_id, user_id, "update").await?;
    let mut changed = current.into_active_model();
    if let Some(amount) = update.amount {
        changed.amount = Set(amount.0);
    }
    if let Some(description) = update.description {
        changed.description = Set(description.0);
    }
    if let Some(category) = update.category.0 {
        changed.category = Set(category.0);
    }
    if let Some(method) = update.payment_method.0 {
        changed.payment_method = Set(method.0);
    }
    if let Some(date) = update.date {
        changed.date = Set(date.0);
    }
    changed.updated_at = Set(Utc::now().naive_utc());
    let saved = state.db.write(|txn| Box::pin(changed.update(txn))).await?;
    let people = crate::service::people::People::load(&state.db, [saved.created_by]).await?;
    let creator = people.get(saved.created_by);
    Ok(Json(ExpenseResponse::new(saved, creator)))
}

/// Adds `amount` to `category` in a breakdown.
fn add_to(breakdown: &mut BTreeMap<String, Money>, category: ExpenseCategory, amount: Money) {
    *breakdown.entry(label(category)).or_insert(Money::ZERO) += amount;
}

fn amounts(breakdown: BTreeMap<String, Money>) -> BTreeMap<String, Amount> {
    breakdown.into_iter().map(|(k, v)| (k, Amount(v))).collect()
}

pub struct ExpensesApi;

#[OpenApi(tag = "Tag::Expenses")]
impl ExpensesApi {
    /// Record an expense and split it: equally among all members, or by the given shares.
    /// The payer's own share is created settled; personal expenses have no splits.
    #[oai(
        path = "/api/v1/expenses",
        method = "post",
        operation_id = "create_expense"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<ExpenseCreate>,
    ) -> ApiResult<Created> {
        let me = auth.0.id;
        let new = body.0;
        membership(&state.db, new.household_id, me, WhenMissing::Forbidden).await?;
        let shares = shares_for(&state, &new).await?;
        let now = Utc::now().naive_utc();
        let saved = state
            .db
            .write(|txn| {
                Box::pin(insert_expense(
                    txn,
                    expense::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        household_id: Set(new.household_id),
                        created_by: Set(me),
                        amount: Set(new.amount.0),
                        description: Set(new.description.0),
                        category: Set(new.category.0),
                        payment_method: Set(new.payment_method.0),
                        date: Set(new.date.map_or(now, |d| d.0)),
                        split_type: Set(new.split_type.0),
                        is_personal: Set(new.is_personal),
                        created_at: Set(now),
                        updated_at: Set(now),
                    },
                    shares,
                ))
            })
            .await?;
        Ok(Created::Expense(Json(with_splits(&state, saved).await?)))
    }

    /// Expenses of the caller's households, newest first.
    #[oai(
        path = "/api/v1/expenses",
        method = "get",
        operation_id = "list_expenses"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        /// Only this household's (else all the caller's households).
        household_id: Query<Option<Uuid>>,
        category: Query<Option<Choice<ExpenseCategory>>>,
        is_personal: Query<Option<bool>>,
        /// On or after.
        start_date: Query<Option<Timestamp>>,
        /// On or before.
        end_date: Query<Option<Timestamp>>,
        // Bounded where every database's `OFFSET` takes it and a JSON double holds it
        // exactly; near `u64::MAX` the document's bound would round past what parses.
        /// Rows to skip, at most 2147483647.
        #[oai(
            default,
            validator(minimum(value = "0"), maximum(value = "2147483647"))
        )]
        skip: Query<u64>,
        #[oai(
            default = "hundred",
            validator(minimum(value = "1"), maximum(value = "1000"))
        )]
        limit: Query<u64>,
    ) -> ApiResult<Json<Vec<ExpenseResponse>>> {
        let me = auth.0.id;
        let households = scope(&state, household_id.0, me).await?;
        let (category, personal) = (category.0.map(|c| c.0), is_personal.0);
        let (start, end) = (start_date.0.map(|t| t.0), end_date.0.map(|t| t.0));
        let (skip, limit) = (skip.0, limit.0);
        let expenses = state
            .db
            .read(|conn| {
                let households = households.clone();
                async move {
                    let mut query = expense::Entity::find()
                        .filter(expense::Column::HouseholdId.is_in(households))
                        .order_by_desc(expense::Column::Date)
                        .order_by_desc(expense::Column::Id);
                    if let Some(category) = category {
                        query = query.filter(expense::Column::Category.eq(category));
                    }
                    if let Some(personal) = personal {
                        query = query.filter(expense::Column::IsPersonal.eq(personal));
                    }
                    if let Some(start) = start {
                        query = query.filter(expense::Column::Date.gte(start));
                    }
                    if let Some(end) = end {
                        query = query.filter(expense::Column::Date.lte(end));
                    }
                    query.offset(skip).limit(limit).all(&conn).await
                }
            })
            .await?;
        let people =
            crate::service::people::People::load(&state.db, expenses.iter().map(|e| e.created_by))
                .await?;
        Ok(Json(
            expenses
                .into_iter()
                .map(|e| {
                    let creator = people.get(e.created_by);
                    ExpenseResponse::new(e, creator)
                })
                .collect(),
        ))
    }

    /// An expense with its splits.
    #[oai(
        path = "/api/v1/expenses/:expense_id",
        method = "get",
        operation_id = "get_expense"
    )]
    async fn detail(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        expense_id: Path<Uuid>,
    ) -> ApiResult<Json<ExpenseWithSplits>> {
        let expense = expense_for_member(&state, expense_id.0, auth.0.id).await?;
        Ok(Json(with_splits(&state, expense).await?))
    }

    /// Change an expense (its creator only).
    #[oai(
        path = "/api/v1/expenses/:expense_id",
        method = "patch",
        operation_id = "update_expense"
    )]
    async fn patch(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        expense_id: Path<Uuid>,
        body: Json<ExpenseUpdate>,
    ) -> ApiResult<Json<ExpenseResponse>> {
        update_expense(&state, expense_id.0, auth.0.id, body.0).await
    }

    /// The same as `PATCH` (the Android app's route).
    #[oai(
        path = "/api/v1/expenses/:expense_id",
        method = "put",
        operation_id = "replace_expense"
    )]
    async fn put(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        expense_id: Path<Uuid>,
        body: Json<ExpenseUpdate>,
    ) -> ApiResult<Json<ExpenseResponse>> {
        update_expense(&state, expense_id.0, auth.0.id, body.0).await
    }

    /// Delete an expense and its splits (its creator only).
    #[oai(
        path = "/api/v1/expenses/:expense_id",
        method = "delete",
        operation_id = "delete_expense"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        expense_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        let expense = own_expense(&state, expense_id.0, auth.0.id, "delete").await?;
        state
            .db
            .write(|txn| Box::pin(expense::Entity::delete_by_id(expense.id).exec(txn)))
            .await?;
        Ok(NoContent::Done)
    }

    /// Mark splits of an expense settled.
    #[oai(
        path = "/api/v1/expenses/:expense_id/settle",
        method = "post",
        operation_id = "settle_expense"
    )]
    async fn settle(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        expense_id: Path<Uuid>,
        body: Json<SettleRequest>,
    ) -> ApiResult<Json<SettlementResponse>> {
        let expense = expense_for_member(&state, expense_id.0, auth.0.id).await?;
        let mut ids = body.0.split_ids;
        ids.sort_unstable();
        ids.dedup();
        let now = Utc::now().naive_utc();
        let settled = state
            .db
            .write(|txn| {
                Box::pin(async move {
                    let found = expense_split::Entity::find()
                        .filter(expense_split::Column::ExpenseId.eq(expense.id))
                        .filter(expense_split::Column::Id.is_in(ids.clone()))
                        .all(txn)
                        .await?;
                    if found.len() != ids.len() {
                        return Err(ApiError::not_found("Some split IDs were not found"));
                    }
                    // Only rows still unsettled change, so concurrent settlements count each split once.
                    let settled = expense_split::Entity::update_many()
                        .set(expense_split::ActiveModel {
                            is_settled: Set(true),
                            settled_at: Set(Some(now)),
                            ..Default::default()
                        })
                        .filter(expense_split::Column::ExpenseId.eq(expense.id))
                        .filter(expense_split::Column::Id.is_in(ids))
                        .filter(expense_split::Column::IsSettled.eq(false))
                        .exec_with_returning(txn)
                        .await?;
                    Ok::<_, ApiError>(settled)
                })
            })
            .await?;
        let split_ids: Vec<Uuid> = settled.into_iter().map(|s| s.id).collect();
        Ok(Json(SettlementResponse {
            settled_count: split_ids.len() as u64,
            message: format!("Successfully settled {} split(s)", split_ids.len()),
            split_ids,
        }))
    }

    /// What the household spent, what is settled and pending, and each member's balance
    /// (paid minus owed), over shared (non-personal) expenses.
    #[oai(
        path = "/api/v1/expenses/households/:household_id/summary",
        method = "get",
        operation_id = "get_household_expense_summary"
    )]
    async fn summary(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Path<Uuid>,
    ) -> ApiResult<Json<ExpenseSummary>> {
        let household_id = household_id.0;
        membership(&state.db, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        let expenses = state
            .db
            .read(|conn| async move {
                expense::Entity::find()
                    .filter(expense::Column::HouseholdId.eq(household_id))
                    .filter(expense::Column::IsPersonal.eq(false))
                    .all(&conn)
                    .await
            })
            .await?;
        let splits = splits_of(&state, expenses.iter().map(|e| e.id).collect()).await?;
        let members = members_of(&state, household_id).await?;
        let people =
            crate::service::people::People::load(&state.db, members.iter().map(|m| m.user_id))
                .await?;
        let settled: Money = splits
            .iter()
            .filter(|s| s.is_settled)
            .map(|s| s.amount_owed)
            .sum();
        let pending: Money = splits
            .iter()
            .filter(|s| !s.is_settled)
            .map(|s| s.amount_owed)
            .sum();
        let user_balances = members
            .iter()
            .filter_map(|m| people.get(m.user_id))
            .map(|u| {
                let paid: Money = expenses
                    .iter()
                    .filter(|e| e.created_by == u.id)
                    .map(|e| e.amount)
                    .sum();
                let owed: Money = splits
                    .iter()
                    .filter(|s| s.user_id == u.id)
                    .map(|s| s.amount_owed)
                    .sum();
                UserBalance {
                    user_id: u.id,
                    user_name: u.full_name.clone(),
                    user_email: u.email.clone(),
                    total_paid: Amount(paid),
                    total_owed: Amount(owed),
                    balance: Amount(paid - owed),
                }
            })
            .collect();
        Ok(Json(ExpenseSummary {
            household_id,
            total_expenses: Amount(expenses.iter().map(|e| e.amount).sum()),
            total_settled: Amount(settled),
            total_pending: Amount(pending),
            expense_count: expenses.len() as u64,
            user_balances,
        }))
    }

    /// The caller's spending over the last `months` (30-day periods), overall, by category
    /// and per period.
    #[oai(
        path = "/api/v1/expenses/users/:user_id/analytics",
        method = "get",
        operation_id = "get_user_expense_analytics"
    )]
    async fn analytics(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        user_id: Path<Uuid>,
        household_id: Query<Option<Uuid>>,
        #[oai(
            default = "one_month",
            validator(minimum(value = "1"), maximum(value = "12"))
        )]
        months: Query<u32>,
    ) -> ApiResult<Json<PersonalExpenseAnalytics>> {
        let me = auth.0.id;
        if user_id.0 != me {
            return Err(ApiError::forbidden("You can only view your own analytics"));
        }
        let households = scope(&state, household_id.0, me).await?;
        let period_end = Utc::now().naive_utc();
        let period_start = period_end - Duration::days(30 * i64::from(months.0));
        let expenses = state
            .db
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
        let splits = splits_of(&state, expenses.iter().map(|e| e.id).collect()).await?;
        let my_splits: HashMap<Uuid, Money> =
            splits
                .iter()
                .filter(|s| s.user_id == me)
                .fold(HashMap::new(), |mut acc, s| {
                    *acc.entry(s.expense_id).or_insert(Money::ZERO) += s.amount_owed;
                    acc
                });
        let mine = |e: &expense::Model| e.created_by == me;
        let total_spent: Money = expenses.iter().filter(|e| mine(e)).map(|e| e.amount).sum();
        let paid_for_others: Money = expenses
            .iter()
            .filter(|e| mine(e) && !e.is_personal)
            .map(|e| e.amount)
            .sum();
        let owed: Money = my_splits.values().copied().sum();
        let mut breakdown = BTreeMap::new();
        for e in expenses
            .iter()
            .filter(|e| mine(e) || my_splits.contains_key(&e.id))
        {
            add_to(&mut breakdown, e.category, e.amount);
        }
        let monthly_stats = (0..i64::from(months.0))
            .filter_map(|k| {
                let from = period_start + Duration::days(30 * k);
                let to = from + Duration::days(30);
                let in_period: Vec<&expense::Model> = expenses
                    .iter()
                    .filter(|e| e.date >= from && e.date < to)
                    .collect();
                monthly(from, &in_period)
            })
            .collect();
        Ok(Json(PersonalExpenseAnalytics {
            user_id: me,
            household_id: household_id.0,
            period_start: period_start.into(),
            period_end: period_end.into(),
            total_spent: Amount(total_spent),
            total_paid_for_others: Amount(paid_for_others),
            total_owed_by_user: Amount(owed),
            net_balance: Amount(paid_for_others - owed),
            expense_count: expenses.len() as u64,
            category_breakdown: amounts(breakdown),
            monthly_stats,
        }))
    }

    /// Chore suggestions from an AI provider for the household; an empty list when no
    /// provider is configured or it fails.
    #[oai(
        path = "/api/v1/expenses/ai/suggest-tasks",
        method = "post",
        operation_id = "suggest_tasks"
    )]
    async fn suggest_tasks(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        household_id: Query<Uuid>,
    ) -> ApiResult<Json<TaskSuggestionsResponse>> {
        let household_id = household_id.0;
        membership(&state.db, household_id, auth.0.id, WhenMissing::Forbidden).await?;
        let context = household_context(&state, household_id).await?;
        let suggestions = state
            .ai
            .suggest(&context)
            .await
            .into_iter()
            .map(|s| TaskSuggestion {
                title: s.title,
                description: s.description,
                priority: s.priority,
                category: s.category,
                reasoning: s.reasoning,
            })
            .collect();
        Ok(Json(TaskSuggestionsResponse { suggestions }))
    }
}

/// What the AI is told about a household: its recent expenses and its open todos.
async fn household_context(state: &AppState, household_id: Uuid) -> ApiResult<String> {
    let since = Utc::now().naive_utc() - Duration::days(30);
    let (expenses, todos) = state
        .db
        .read(|conn| async move {
            let expenses = expense::Entity::find()
                .filter(expense::Column::HouseholdId.eq(household_id))
                .filter(expense::Column::Date.gte(since))
                .order_by_desc(expense::Column::Date)
                .limit(20)
                .all(&conn)
                .await?;
            let todos = todo::all(
                todo::Entity::find()
                    .filter(todo::Column::HouseholdId.eq(household_id))
                    .filter(todo::Column::Status.ne(TodoStatus::Completed))
                    .limit(20),
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

/// One period's figures; `None` for a period without expenses.
fn monthly(from: NaiveDateTime, expenses: &[&expense::Model]) -> Option<MonthlyExpenseStats> {
    use chrono::Datelike;
    if expenses.is_empty() {
        return None;
    }
    let total: Money = expenses.iter().map(|e| e.amount).sum();
    let mut breakdown = BTreeMap::new();
    for e in expenses {
        add_to(&mut breakdown, e.category, e.amount);
    }
    let count = expenses.len() as u64;
    Some(MonthlyExpenseStats {
        year: from.year(),
        month: from.month(),
        total_amount: Amount(total),
        expense_count: count,
        category_breakdown: amounts(breakdown),
        average_expense: Amount(Money::new(
            total.decimal() / rust_decimal::Decimal::from(count),
        )),
    })
}

fn hundred() -> u64 {
    100
}

fn one_month() -> u32 {
    1
}
