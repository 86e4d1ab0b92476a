//! `/api/v1/expenses`: shared expenses, their splits, settlement, the household summary
//! and a user's analytics. The rules are `service::expenses`'; the handlers parse, call it
//! and answer.

pub(super) mod wire;

use entities::{enums::ExpenseCategory, user};
use poem::web::Data;
use poem_openapi::{
    ApiResponse, OpenApi, Tags,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{any_case_enum::AnyCaseEnum, timestamp::Timestamp};
use crate::{
    auth::BearerAuth,
    error::ApiResult,
    service::{
        access::{Caller, WhenMissing},
        expenses::{self, Expense, ExpenseFilter},
        page::Page,
    },
    state::AppState,
};
use wire::{
    ExpenseCreate, ExpenseResponse, ExpenseSummary, ExpenseUpdate, ExpenseWithSplits,
    PersonalExpenseAnalytics, SettleRequest, SettlementResponse, TaskSuggestionsResponse,
};

#[derive(Tags)]
enum Tag {
    /// Shared expenses, splits and balances.
    Expenses,
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

/// Changes the caller's own expense; its creator, named in the answer, is the caller.
async fn update(
    state: &AppState,
    user: user::Model,
    expense_id: Uuid,
    update: ExpenseUpdate,
) -> ApiResult<Json<ExpenseResponse>> {
    let caller = Caller::user(user.id.into());
    let model = expenses::update(&state.db, caller, expense_id.into(), update.into()).await?;
    Ok(Json(
        Expense {
            model,
            creator: Some(user),
        }
        .into(),
    ))
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
        let new = body.0.into_new(Uuid::new_v4().into());
        let saved = expenses::create(&state.db, auth.caller(), new).await?;
        Ok(Created::Expense(Json(saved.into())))
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
        category: Query<Option<AnyCaseEnum<ExpenseCategory>>>,
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
        let filter = ExpenseFilter {
            household_id: household_id.0.map(Into::into),
            category: category.0.map(|c| c.0),
            is_personal: is_personal.0,
            start: start_date.0.map(|t| t.0),
            end: end_date.0.map(|t| t.0),
            page: Page {
                skip: skip.0,
                limit: Some(limit.0),
            },
        };
        let listed = expenses::list(&state.db, auth.caller(), filter).await?;
        Ok(Json(listed.into_iter().map(Into::into).collect()))
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
        let found = expenses::get(&state.db, auth.caller(), expense_id.0.into()).await?;
        Ok(Json(found.into()))
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
        update(&state, auth.0, expense_id.0, body.0).await
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
        update(&state, auth.0, expense_id.0, body.0).await
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
        expenses::delete(&state.db, auth.caller(), expense_id.0.into()).await?;
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
        let (caller, expense_id) = (auth.caller(), expense_id.0.into());
        let splits = body.0.split_ids.into_iter().map(Into::into).collect();
        let settled = expenses::settle(&state.db, caller, expense_id, splits).await?;
        Ok(Json(SettlementResponse::new(settled)))
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
        let summary = expenses::summary(&state.db, auth.caller(), household_id.0.into()).await?;
        Ok(Json(summary.into()))
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
        let (caller, household_id) = (auth.caller(), household_id.0.map(Into::into));
        let figures =
            expenses::analytics(&state.db, caller, user_id.0.into(), household_id, months.0)
                .await?;
        Ok(Json(figures.into()))
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
        let member = auth
            .membership(&state.db, household_id.0, WhenMissing::Forbidden)
            .await?;
        let suggestions = match expenses::household_context(&state.db, &member).await? {
            Some(context) => state.ai.suggest(&context).await,
            None => Vec::new(),
        };
        Ok(Json(TaskSuggestionsResponse::new(suggestions)))
    }
}

fn hundred() -> u64 {
    100
}

fn one_month() -> u32 {
    1
}
