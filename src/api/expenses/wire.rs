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
        json_rows::{JsonObject, WriteJson},
        null_as_absent::NullAsAbsent,
        strict_string::StrictString,
        timestamp::{Timestamp, TimestampInput},
    },
    domain::ids::{ExpenseId, SplitId},
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

#[derive(Debug, Object)]
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

#[derive(Debug, Object)]
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

#[derive(Debug, Object)]
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
    pub(in crate::api) fn into_new(self, id: ExpenseId) -> NewExpense {
        NewExpense {
            id,
            household_id: self.household_id.into(),
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
                    user_id: s.user_id.into(),
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

/// For the sync answer (`JsonWritten`): the expense's fields, then its splits.
impl WriteJson for ExpenseWithSplits {
    fn write_json(&self, out: &mut Vec<u8>) {
        let e = &self.expense;
        JsonObject::new(out)
            .field("id", &e.id)
            .field("household_id", &e.household_id)
            .field("created_by", &e.created_by)
            .field("amount", &e.amount)
            .field("description", &e.description)
            .field("category", &e.category)
            .field("payment_method", &e.payment_method)
            .field("date", &e.date)
            .field("split_type", &e.split_type)
            .field("is_personal", &e.is_personal)
            .field("created_at", &e.created_at)
            .field("updated_at", &e.updated_at)
            .field("creator_name", &e.creator_name)
            .field("creator_email", &e.creator_email)
            .field("splits", &self.splits)
            .end();
    }
}

impl WriteJson for SplitResponse {
    fn write_json(&self, out: &mut Vec<u8>) {
        JsonObject::new(out)
            .field("id", &self.id)
            .field("expense_id", &self.expense_id)
            .field("user_id", &self.user_id)
            .field("amount_owed", &self.amount_owed)
            .field("is_settled", &self.is_settled)
            .field("settled_at", &self.settled_at)
            .field("created_at", &self.created_at)
            .field("user_email", &self.user_email)
            .field("user_name", &self.user_name)
            .end();
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
    pub(super) fn new(split_ids: Vec<SplitId>) -> Self {
        Self {
            settled_count: split_ids.len() as u64,
            message: format!("Successfully settled {} split(s)", split_ids.len()),
            split_ids: split_ids.into_iter().map(Into::into).collect(),
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
            household_id: s.household_id.into(),
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
            user_id: a.user_id.into(),
            household_id: a.household_id.map(Into::into),
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

#[cfg(test)]
mod tests {
    use entities::enums::Labelled;
    use proptest::{option, prelude::*, sample::select};

    use super::*;
    use crate::api::json_rows::agreement::{both_ways, text, timestamp, uuid};

    fn amount() -> impl Strategy<Value = Amount> {
        (0_i64..=9_999_999_999).prop_map(|cents| Amount(Money::from_cents(cents)))
    }

    prop_compose! {
        fn split_response()(
            ids in (uuid(), uuid(), uuid()),
            amount_owed in amount(),
            is_settled in any::<bool>(),
            settled_at in option::of(timestamp()),
            created_at in timestamp(),
            person in (option::of(text()), option::of(text())),
        ) -> SplitResponse {
            SplitResponse {
                id: ids.0,
                expense_id: ids.1,
                user_id: ids.2,
                amount_owed,
                is_settled,
                settled_at,
                created_at,
                user_email: person.0,
                user_name: person.1,
            }
        }
    }

    prop_compose! {
        fn expense_with_splits()(
            ids in (uuid(), uuid(), uuid()),
            amount in amount(),
            description in text(),
            labels in (select(ExpenseCategory::all()), select(PaymentMethod::all()), select(SplitType::all())),
            is_personal in any::<bool>(),
            stamps in (timestamp(), timestamp(), timestamp()),
            creator in (option::of(text()), option::of(text())),
            splits in prop::collection::vec(split_response(), 0..3),
        ) -> ExpenseWithSplits {
            ExpenseWithSplits {
                expense: ExpenseResponse {
                    id: ids.0,
                    household_id: ids.1,
                    created_by: ids.2,
                    amount,
                    description,
                    category: AnyCaseEnum(labels.0),
                    payment_method: AnyCaseEnum(labels.1),
                    date: stamps.0,
                    split_type: AnyCaseEnum(labels.2),
                    is_personal,
                    created_at: stamps.1,
                    updated_at: stamps.2,
                    creator_name: creator.0,
                    creator_email: creator.1,
                },
                splits,
            }
        }
    }

    proptest! {
        /// An expense of the sync answer (written by `WriteJson`) says exactly what the
        /// documented object (written by poem-openapi) says, its splits and null fields
        /// included.
        #[test]
        fn an_expense_with_splits_is_written_as_the_document_describes_it(expenses in prop::collection::vec(expense_with_splits(), 0..3)) {
            let (written, documented) = both_ways(&expenses);
            prop_assert_eq!(written, documented);
        }
    }
}
