//! The wire types of `/api/v1/expenses` and their conversions to and from the service's.
//! Sync reuses the ones it needs, hence `pub(in crate::api)`.

use std::collections::BTreeMap;

use entities::{
    enums::{ExpenseCategory, PaymentMethod, SplitType},
    money::Money,
};
use poem_openapi::Object;
use uuid::Uuid;

use crate::{
    api::{
        amount::{Amount, PositiveAmount},
        any_case_enum::AnyCaseEnum,
        null_as_absent::NullAsAbsent,
        strict_string::StrictString,
        timestamp::{Timestamp, TimestampInput},
    },
    service::expenses::{
        Analytics, Balance, Expense, ExpenseChanges, ExpenseDetail, HouseholdSummary, NewExpense,
        PeriodStats, Share, Split,
    },
};

fn other_category() -> AnyCaseEnum<ExpenseCategory> {
    AnyCaseEnum(ExpenseCategory::Other)
}

fn cash() -> AnyCaseEnum<PaymentMethod> {
    AnyCaseEnum(PaymentMethod::Cash)
}

fn equal() -> AnyCaseEnum<SplitType> {
    AnyCaseEnum(SplitType::Equal)
}

#[derive(Object)]
pub(in crate::api) struct SplitCreate {
    user_id: Uuid,
    /// More than 0 and at most 99999999.99, at most two decimals, no sign or leading zeros; a
    /// JSON number with those digits is also read.
    amount_owed: PositiveAmount,
}

#[derive(Object)]
pub(in crate::api) struct ExpenseCreate {
    household_id: Uuid,
    /// More than 0 and at most 99999999.99, at most two decimals, no sign or leading zeros; a
    /// JSON number with those digits is also read.
    amount: PositiveAmount,
    #[oai(validator(min_length = 1, max_length = 500))]
    description: StrictString,
    #[oai(default = "other_category")]
    category: AnyCaseEnum<ExpenseCategory>,
    #[oai(default = "cash")]
    payment_method: AnyCaseEnum<PaymentMethod>,
    /// Defaults to now.
    date: Option<TimestampInput>,
    #[oai(default = "equal")]
    split_type: AnyCaseEnum<SplitType>,
    #[oai(default)]
    is_personal: bool,
    /// Required for `custom` and `percentage` splits: each member's share as an amount.
    #[oai(nullable, validator(max_items = 100))]
    splits: Option<Vec<SplitCreate>>,
}

/// Fields left out (or null) are left as they are. Splits are not recomputed.
#[derive(Object)]
pub(in crate::api) struct ExpenseUpdate {
    /// More than 0 and at most 99999999.99, at most two decimals, no sign or leading zeros; a
    /// JSON number with those digits is also read.
    #[oai(nullable)]
    amount: Option<PositiveAmount>,
    #[oai(nullable, validator(min_length = 1, max_length = 500))]
    description: Option<StrictString>,
    category: NullAsAbsent<AnyCaseEnum<ExpenseCategory>>,
    payment_method: NullAsAbsent<AnyCaseEnum<PaymentMethod>>,
    date: Option<TimestampInput>,
}

#[derive(Object)]
pub(in crate::api) struct ExpenseResponse {
    id: Uuid,
    household_id: Uuid,
    created_by: Uuid,
    amount: Amount,
    description: String,
    category: AnyCaseEnum<ExpenseCategory>,
    payment_method: AnyCaseEnum<PaymentMethod>,
    date: Timestamp,
    split_type: AnyCaseEnum<SplitType>,
    is_personal: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[oai(nullable)]
    creator_name: Option<String>,
    #[oai(nullable)]
    creator_email: Option<String>,
}

#[derive(Object)]
pub(in crate::api) struct SplitResponse {
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
pub(in crate::api) struct ExpenseWithSplits {
    #[oai(flatten)]
    expense: ExpenseResponse,
    splits: Vec<SplitResponse>,
}

#[derive(Object)]
pub(super) struct SettleRequest {
    #[oai(validator(min_items = 1, max_items = 100))]
    pub(super) split_ids: Vec<Uuid>,
}

#[derive(Object)]
pub(super) struct SettlementResponse {
    settled_count: u64,
    /// The splits this request settled (ones already settled are left out).
    split_ids: Vec<Uuid>,
    message: String,
}

#[derive(Object)]
pub(super) struct UserBalance {
    user_id: Uuid,
    user_name: String,
    user_email: String,
    total_paid: Amount,
    total_owed: Amount,
    /// Paid minus owed.
    balance: Amount,
}

#[derive(Object)]
pub(super) struct ExpenseSummary {
    household_id: Uuid,
    total_expenses: Amount,
    total_settled: Amount,
    total_pending: Amount,
    expense_count: u64,
    user_balances: Vec<UserBalance>,
}

#[derive(Object)]
pub(super) struct MonthlyExpenseStats {
    year: i32,
    month: u32,
    total_amount: Amount,
    expense_count: u64,
    category_breakdown: BTreeMap<String, Amount>,
    average_expense: Amount,
}

#[derive(Object)]
pub(super) struct PersonalExpenseAnalytics {
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
pub(super) struct TaskSuggestion {
    title: String,
    description: String,
    /// `low`, `medium` or `high`.
    priority: String,
    /// `chores`, `financial`, `shopping`, `maintenance` or `other`.
    category: String,
    reasoning: String,
}

#[derive(Object)]
pub(super) struct TaskSuggestionsResponse {
    suggestions: Vec<TaskSuggestion>,
}

impl ExpenseCreate {
    /// The expense to record, as `id`.
    pub(in crate::api) fn into_new(self, id: Uuid) -> NewExpense {
        NewExpense {
            id,
            household_id: self.household_id,
            amount: self.amount.0,
            description: self.description.0,
            category: self.category.0,
            payment_method: self.payment_method.0,
            date: self.date.map(|d| d.0),
            split_type: self.split_type.0,
            is_personal: self.is_personal,
            splits: self
                .splits
                .unwrap_or_default()
                .into_iter()
                .map(|s| Share {
                    user_id: s.user_id,
                    amount_owed: s.amount_owed.0,
                })
                .collect(),
        }
    }
}

impl From<ExpenseUpdate> for ExpenseChanges {
    fn from(update: ExpenseUpdate) -> Self {
        Self {
            amount: update.amount.map(|a| a.0),
            description: update.description.map(|d| d.0),
            category: update.category.0.map(|c| c.0),
            payment_method: update.payment_method.0.map(|m| m.0),
            date: update.date.map(|d| d.0),
        }
    }
}

impl From<Expense> for ExpenseResponse {
    fn from(Expense { model: e, creator }: Expense) -> Self {
        Self {
            id: e.id,
            household_id: e.household_id,
            created_by: e.created_by,
            amount: Amount(e.amount),
            description: e.description,
            category: AnyCaseEnum(e.category),
            payment_method: AnyCaseEnum(e.payment_method),
            date: e.date.into(),
            split_type: AnyCaseEnum(e.split_type),
            is_personal: e.is_personal,
            created_at: e.created_at.into(),
            updated_at: e.updated_at.into(),
            creator_name: creator.as_ref().map(|u| u.full_name.clone()),
            creator_email: creator.map(|u| u.email),
        }
    }
}

impl From<Split> for SplitResponse {
    fn from(Split { model: s, user }: Split) -> Self {
        Self {
            id: s.id,
            expense_id: s.expense_id,
            user_id: s.user_id,
            amount_owed: Amount(s.amount_owed),
            is_settled: s.is_settled,
            settled_at: s.settled_at.map(Into::into),
            created_at: s.created_at.into(),
            user_email: user.as_ref().map(|u| u.email.clone()),
            user_name: user.map(|u| u.full_name),
        }
    }
}

impl From<ExpenseDetail> for ExpenseWithSplits {
    fn from(detail: ExpenseDetail) -> Self {
        Self {
            expense: detail.expense.into(),
            splits: detail.splits.into_iter().map(Into::into).collect(),
        }
    }
}

impl SettlementResponse {
    pub(super) fn new(split_ids: Vec<Uuid>) -> Self {
        Self {
            settled_count: split_ids.len() as u64,
            message: format!("Successfully settled {} split(s)", split_ids.len()),
            split_ids,
        }
    }
}

impl From<Balance> for UserBalance {
    fn from(b: Balance) -> Self {
        Self {
            total_paid: Amount(b.paid),
            total_owed: Amount(b.owed),
            balance: Amount(b.net()),
            user_id: b.user.id,
            user_name: b.user.full_name,
            user_email: b.user.email,
        }
    }
}

impl From<HouseholdSummary> for ExpenseSummary {
    fn from(s: HouseholdSummary) -> Self {
        Self {
            household_id: s.household_id,
            total_expenses: Amount(s.total),
            total_settled: Amount(s.settled),
            total_pending: Amount(s.pending),
            expense_count: s.expense_count,
            user_balances: s.balances.into_iter().map(Into::into).collect(),
        }
    }
}

fn amounts(breakdown: BTreeMap<String, Money>) -> BTreeMap<String, Amount> {
    breakdown.into_iter().map(|(k, v)| (k, Amount(v))).collect()
}

impl From<PeriodStats> for MonthlyExpenseStats {
    fn from(p: PeriodStats) -> Self {
        Self {
            year: p.year,
            month: p.month,
            total_amount: Amount(p.total),
            expense_count: p.count,
            category_breakdown: amounts(p.by_category),
            average_expense: Amount(p.average),
        }
    }
}

impl From<Analytics> for PersonalExpenseAnalytics {
    fn from(a: Analytics) -> Self {
        Self {
            net_balance: Amount(a.net()),
            user_id: a.user_id,
            household_id: a.household_id,
            period_start: a.period_start.into(),
            period_end: a.period_end.into(),
            total_spent: Amount(a.spent),
            total_paid_for_others: Amount(a.paid_for_others),
            total_owed_by_user: Amount(a.owed),
            expense_count: a.expense_count,
            category_breakdown: amounts(a.by_category),
            monthly_stats: a.periods.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<crate::ai::Suggestion> for TaskSuggestion {
    fn from(s: crate::ai::Suggestion) -> Self {
        Self {
            title: s.title,
            description: s.description,
            priority: s.priority,
            category: s.category,
            reasoning: s.reasoning,
        }
    }
}

impl TaskSuggestionsResponse {
    pub(super) fn new(suggestions: Vec<crate::ai::Suggestion>) -> Self {
        Self {
            suggestions: suggestions.into_iter().map(Into::into).collect(),
        }
    }
}
