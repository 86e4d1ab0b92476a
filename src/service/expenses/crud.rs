//! Recording an expense with its shares, reading it, listing a caller's expenses, and
//! changing or deleting one's own. A change of one is one statement (`Db::once`) that
//! checks who may make it as it writes; recording one reads the members first.

use std::collections::HashSet;

use chrono::{NaiveDateTime, Utc};
use entities::{
    enums::{ExpenseCategory, PaymentMethod, SplitType},
    expense, expense_split,
    money::Money,
};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{EXPENSE_NOT_FOUND, Expense, ExpenseDetail, Split, detail_of, members_of, scope};
use crate::{
    db::{
        Db,
        bulk::{Params, ids_from},
        once::Part,
    },
    domain::{
        ids::{ExpenseId, HouseholdId, UserId},
        splits::{equal_shares, sums_to},
    },
    service::{
        ServiceError, ServiceResult,
        access::{
            Caller, NOT_A_MEMBER, WhenMissing, member_sql as member, membership, scoped_read,
        },
        changes::{RowKind, deletions},
        page::Page,
        people::People,
        statements::{self, Set, by_id, done, update_once},
    },
};

/// What a new expense is refused when the household's members changed between the read
/// that split it and the write.
pub const MEMBERS_CHANGED: &str =
    "The household's members changed while the expense was recorded; please try again";

pub const SPLIT_FOR_A_STRANGER: &str = "Every split must be for a member of this household";

/// What one person owes of an expense.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Share {
    pub user_id: UserId,
    pub amount_owed: Money,
}

/// An expense to record, with its id (sync brings the client's own).
pub struct NewExpense {
    pub id: ExpenseId,
    pub household_id: HouseholdId,
    pub amount: Money,
    pub description: String,
    pub category: ExpenseCategory,
    pub payment_method: PaymentMethod,
    /// When it was spent; when it is recorded if `None`.
    pub date: Option<NaiveDateTime>,
    /// `equal` shares it among every member; `custom` and `percentage` take `splits`.
    pub split_type: SplitType,
    /// A personal expense has no splits, whatever its split type.
    pub is_personal: bool,
    /// Each member's share as an amount, for `custom` and `percentage` (ignored for `equal`).
    pub splits: Vec<Share>,
}

/// What an update changes; `None` leaves a field as it is. Splits are not recomputed.
#[derive(Default)]
pub struct ExpenseChanges {
    pub amount: Option<Money>,
    pub description: Option<String>,
    pub category: Option<ExpenseCategory>,
    pub payment_method: Option<PaymentMethod>,
    pub date: Option<NaiveDateTime>,
}

/// Which of the caller's expenses a list shows.
#[derive(Clone, Copy, Default)]
pub struct ExpenseFilter {
    /// Only this household's (the caller must be a member); all the caller's otherwise.
    pub household_id: Option<HouseholdId>,
    pub category: Option<ExpenseCategory>,
    pub is_personal: Option<bool>,
    /// Spent on or after.
    pub start: Option<NaiveDateTime>,
    /// Spent on or before.
    pub end: Option<NaiveDateTime>,
    pub page: Page,
}

/// Records `new` with its splits and answers it with them and the people they name: one
/// read of the household's members (whom an equal split divides among, whose names the
/// answer gives), then one statement writing the expense and its splits while the caller
/// and everyone a split names are members.
pub async fn create(db: &Db, caller: Caller, new: NewExpense) -> ServiceResult<ExpenseDetail> {
    let household_id = new.household_id;
    let people = members_of(db, household_id).await?;
    let caller_id = caller.user_id().uuid();
    if !people.iter().any(|person| person.id == caller_id) {
        return Err(ServiceError::Forbidden(NOT_A_MEMBER.into()));
    }
    let members: Vec<UserId> = people.iter().map(|person| person.id.into()).collect();
    let (row, splits) = new_rows(new, caller.user_id(), &members, Utc::now().naive_utc())?;
    let owing: Vec<Uuid> = splits.iter().map(|split| split.user_id).collect();
    // The same condition on both inserts: in one statement they see the same rows.
    let guard = move |params: &mut Params, claimed: &str| {
        let household = params.bind(household_id.uuid());
        let member = member(params, &household, caller.user_id());
        let count = params.bind(i64::try_from(owing.len()).unwrap_or(i64::MAX));
        let owing = ids_from(params, owing.clone());
        format!(
            "{member} AND {claimed} AND (SELECT count(*) FROM \"household_members\" o \
             WHERE o.\"household_id\" = {household} AND o.\"user_id\" IN ({owing})) = {count}"
        )
    };
    let (expense, shares) = (row.clone(), splits.clone());
    let guard_splits = guard.clone();
    let mut parts: Vec<Part> = vec![Box::new(move |params, claimed| {
        let guard = guard(params, claimed);
        statements::insert(params, expense, &guard)
    })];
    if !shares.is_empty() {
        parts.push(Box::new(move |params, claimed| {
            let guard = guard_splits(params, claimed);
            statements::insert_all(params, &shares, &guard)
        }));
    }
    let written = db
        .once(parts, by_id::<expense::Entity>(db.backend(), row.id))
        .await?;
    if written.is_empty() {
        // Someone left (or the caller did) between the read and the write.
        return Err(ServiceError::Conflict(MEMBERS_CHANGED.into()));
    }
    let person = |id: Uuid| people.iter().find(|p| p.id == id).cloned();
    Ok(ExpenseDetail {
        splits: splits
            .into_iter()
            .map(|model| Split {
                user: person(model.user_id),
                model,
            })
            .collect(),
        expense: Expense {
            creator: person(row.created_by),
            model: row,
        },
    })
}

/// The expense `new` records, created by `created_by` at `now`, and its splits among
/// `members` (in the order they joined); refused when the shares do not hold (see
/// [`shares`]). The payer does not owe themselves: their own split is settled from the
/// start.
pub(crate) fn new_rows(
    new: NewExpense,
    created_by: UserId,
    members: &[UserId],
    now: NaiveDateTime,
) -> ServiceResult<(expense::Model, Vec<expense_split::Model>)> {
    let shares = if new.is_personal {
        Vec::new()
    } else {
        shares(&new, members)?
    };
    let row = expense::Model {
        id: new.id.uuid(),
        household_id: new.household_id.uuid(),
        created_by: created_by.uuid(),
        amount: new.amount,
        description: new.description,
        category: new.category,
        payment_method: new.payment_method,
        date: new.date.unwrap_or(now),
        split_type: new.split_type,
        is_personal: new.is_personal,
        created_at: now,
        updated_at: now,
    };
    let splits = shares
        .into_iter()
        .map(|share| {
            let own = share.user_id == created_by;
            expense_split::Model {
                id: Uuid::new_v4(),
                expense_id: row.id,
                user_id: share.user_id.uuid(),
                amount_owed: share.amount_owed,
                is_settled: own,
                settled_at: own.then_some(now),
                created_at: now,
            }
        })
        .collect();
    Ok((row, splits))
}

/// Who owes what of a shared expense among `members` (in the order they joined): every
/// member equally, or the given shares, which must add up to the amount and name only
/// members.
fn shares(new: &NewExpense, members: &[UserId]) -> ServiceResult<Vec<Share>> {
    if new.split_type == SplitType::Equal {
        let equal = equal_shares(new.amount, members.len());
        return Ok(members
            .iter()
            .zip(equal)
            .map(|(&user_id, amount_owed)| Share {
                user_id,
                amount_owed,
            })
            .collect());
    }
    if new.splits.is_empty() {
        return Err(ServiceError::Refused(
            format!(
                "Custom splits are required for {} split type",
                new.split_type.to_value()
            )
            .into(),
        ));
    }
    let owed: Vec<Money> = new.splits.iter().map(|s| s.amount_owed).collect();
    if !sums_to(&owed, new.amount) {
        let total: Money = owed.iter().copied().sum();
        return Err(ServiceError::Refused(
            format!(
                "Splits must sum to total amount. Got {total}, expected {}",
                new.amount
            )
            .into(),
        ));
    }
    let members: HashSet<&UserId> = members.iter().collect();
    if new.splits.iter().any(|s| !members.contains(&s.user_id)) {
        return Err(ServiceError::Forbidden(SPLIT_FOR_A_STRANGER.into()));
    }
    Ok(new.splits.clone())
}

/// The expense `id` with its splits, for a member of its household.
pub async fn get(db: &Db, caller: Caller, id: ExpenseId) -> ServiceResult<ExpenseDetail> {
    let expense = scoped_read::<expense::Entity>(
        db,
        caller,
        id.uuid(),
        expense::Column::HouseholdId,
        EXPENSE_NOT_FOUND,
    )
    .await?;
    detail_of(db, expense).await
}

/// The caller's expenses, filtered, newest first.
pub async fn list(db: &Db, caller: Caller, filter: ExpenseFilter) -> ServiceResult<Vec<Expense>> {
    let households = scope(db, caller, filter.household_id).await?;
    let expenses = db
        .read(|conn| {
            let households = households.clone();
            async move {
                let mut query = expense::Entity::find()
                    .filter(expense::Column::HouseholdId.is_in(households))
                    .order_by_desc(expense::Column::Date)
                    .order_by_desc(expense::Column::Id);
                if let Some(category) = filter.category {
                    query = query.filter(expense::Column::Category.eq(category));
                }
                if let Some(personal) = filter.is_personal {
                    query = query.filter(expense::Column::IsPersonal.eq(personal));
                }
                if let Some(start) = filter.start {
                    query = query.filter(expense::Column::Date.gte(start));
                }
                if let Some(end) = filter.end {
                    query = query.filter(expense::Column::Date.lte(end));
                }
                query
                    .offset(filter.page.skip)
                    .limit(filter.page.limit)
                    .all(&conn)
                    .await
            }
        })
        .await?;
    let people = People::load(db, expenses.iter().map(|e| e.created_by)).await?;
    Ok(expenses
        .into_iter()
        .map(|model| Expense {
            creator: people.get(model.created_by).cloned(),
            model,
        })
        .collect())
}

/// `current` with `changes` made at `now`; its splits stay as they are.
pub(crate) fn changed(
    current: &expense::Model,
    changes: ExpenseChanges,
    now: NaiveDateTime,
) -> expense::Model {
    let mut row = current.clone();
    if let Some(amount) = changes.amount {
        row.amount = amount;
    }
    if let Some(description) = changes.description {
        row.description = description;
    }
    if let Some(category) = changes.category {
        row.category = category;
    }
    if let Some(method) = changes.payment_method {
        row.payment_method = method;
    }
    if let Some(date) = changes.date {
        row.date = date;
    }
    row.updated_at = now;
    row
}

/// Changes the caller's own expense `id`, in one statement; its splits stay as they are.
pub async fn update(
    db: &Db,
    caller: Caller,
    id: ExpenseId,
    changes: ExpenseChanges,
) -> ServiceResult<expense::Model> {
    use expense::Column as C;
    let now = Utc::now().naive_utc();
    let updated = update_once::<expense::Entity>(db, id.uuid(), move |params| {
        let mut set = Set::default();
        set.some(params, C::Amount, changes.amount);
        set.some(params, C::Description, changes.description);
        if let Some(category) = changes.category {
            set.label(params, C::Category, category);
        }
        if let Some(method) = changes.payment_method {
            set.label(params, C::PaymentMethod, method);
        }
        set.some(params, C::Date, changes.date);
        set.value(params, C::UpdatedAt, now);
        (set, vec![own(params, caller)])
    })
    .await?;
    match updated {
        Some(row) => Ok(row),
        None => Err(why_not_own(db, caller, id, "update").await),
    }
}

/// Deletes the caller's own expense `id`, its splits with it, recording the deletion for
/// sync, in one statement.
pub async fn delete(db: &Db, caller: Caller, id: ExpenseId) -> ServiceResult<()> {
    let now = Utc::now().naive_utc();
    let written = db
        .once(
            vec![
                Box::new(move |params, claimed| {
                    let id = params.bind(id.uuid());
                    let guard = own(params, caller);
                    let rows = format!(
                        "SELECT {EXPENSES}.\"id\", {EXPENSES}.\"household_id\" FROM {EXPENSES} \
                         WHERE {EXPENSES}.\"id\" = {id} AND {guard} AND {claimed}"
                    );
                    Ok(deletions::record_sql(params, RowKind::Expense, &rows, now))
                }),
                Box::new(move |params, claimed| {
                    let id = params.bind(id.uuid());
                    let guard = own(params, caller);
                    Ok(format!(
                        "DELETE FROM {EXPENSES} WHERE {EXPENSES}.\"id\" = {id} AND {guard} \
                         AND {claimed} RETURNING \"id\""
                    ))
                }),
            ],
            done(db.backend()),
        )
        .await?;
    if written.is_empty() {
        return Err(why_not_own(db, caller, id, "delete").await);
    }
    Ok(())
}

/// Why anyone but its creator may not `action` (update, delete) an expense.
pub(crate) fn only_the_creator_can(action: &str) -> String {
    format!("Only the creator can {action} this expense")
}

/// The table of expenses, as a write's statement names it.
const EXPENSES: &str = "\"expenses\"";

/// Conditions on the row of the expenses table: the caller created it and is a member of
/// its household (a creator who has left it may not change it).
fn own(params: &mut Params, caller: Caller) -> String {
    let creator = params.bind(caller.user_id().uuid());
    let household = format!("{EXPENSES}.\"household_id\"");
    let member = member(params, &household, caller.user_id());
    format!("{EXPENSES}.\"created_by\" = {creator} AND {member}")
}

/// Why a write of the expense `id` the caller asked to `action` changed nothing: there is
/// none, or it is not theirs (the creator check comes before the membership one, so that
/// every other caller, member or not, is told the same "Only the creator …"), or they are
/// no member of its household any more.
async fn why_not_own(db: &Db, caller: Caller, id: ExpenseId, action: &str) -> ServiceError {
    let found = db
        .read(|conn| async move { expense::Entity::find_by_id(id.uuid()).one(&conn).await })
        .await;
    match found {
        Err(err) => err.into(),
        Ok(None) => ServiceError::NotFound(EXPENSE_NOT_FOUND.into()),
        Ok(Some(expense)) if expense.created_by != caller.user_id().uuid() => {
            ServiceError::Forbidden(only_the_creator_can(action).into())
        }
        Ok(Some(expense)) => {
            match membership(
                db,
                caller,
                expense.household_id.into(),
                WhenMissing::Forbidden,
            )
            .await
            {
                Err(refused) => refused,
                // Deleted meanwhile.
                Ok(_) => ServiceError::NotFound(EXPENSE_NOT_FOUND.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::{
        expenses::fixtures::{Flat, flat, money, new_expense},
        members,
    };

    fn share(caller: Caller, amount: &str) -> Share {
        Share {
            user_id: caller.user_id(),
            amount_owed: money(amount),
        }
    }

    /// The user's id, as a split names them.
    fn id(caller: Caller) -> Uuid {
        caller.user_id().uuid()
    }

    /// Each split of `detail` as (who, owed, settled), by who (splits made together have no
    /// order of their own).
    fn owed(detail: &ExpenseDetail) -> Vec<(Uuid, Money, bool)> {
        let mut owed: Vec<_> = detail
            .splits
            .iter()
            .map(|s| (s.model.user_id, s.model.amount_owed, s.model.is_settled))
            .collect();
        owed.sort_unstable_by_key(|(user_id, ..)| *user_id);
        owed
    }

    fn sorted<const N: usize>(mut owed: [(Uuid, Money, bool); N]) -> Vec<(Uuid, Money, bool)> {
        owed.sort_unstable_by_key(|(user_id, ..)| *user_id);
        owed.to_vec()
    }

    async fn expense_count(f: &Flat) -> usize {
        expense::Entity::find()
            .all(f.db.connection())
            .await
            .expect("read")
            .len()
    }

    fn refusal<T: std::fmt::Debug>(result: ServiceResult<T>) -> String {
        match result {
            Err(ServiceError::Refused(why) | ServiceError::Forbidden(why)) => why.into_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn equal_shares_give_leftover_cents_to_the_first_to_join_and_settle_the_payers_own() {
        let f = flat().await;
        let created = create(&f.db, f.max, new_expense(f.id, "100.00"))
            .await
            .expect("create");
        assert_eq!(
            owed(&created),
            sorted([
                (id(f.olive), money("33.34"), false),
                (id(f.max), money("33.33"), true),
                (id(f.lou), money("33.33"), false),
            ])
        );
        for split in created.splits.iter().map(|s| &s.model) {
            let payers = split.user_id == id(f.max);
            let settled_at = payers.then_some(created.expense.model.created_at);
            assert_eq!(split.settled_at, settled_at);
        }
        assert_eq!(
            created.expense.creator.map(|u| u.full_name),
            Some("max".to_owned())
        );
    }

    #[tokio::test]
    async fn custom_shares_are_required_and_must_sum_to_the_amount() {
        let f = flat().await;
        let me = f.olive;
        let mut missing = new_expense(f.id, "100");
        missing.split_type = SplitType::Custom;
        assert_eq!(
            refusal(create(&f.db, me, missing).await),
            "Custom splits are required for custom split type"
        );
        let mut short = new_expense(f.id, "100");
        short.split_type = SplitType::Custom;
        short.splits = vec![share(f.olive, "50.00"), share(f.max, "49.98")];
        assert_eq!(
            refusal(create(&f.db, me, short).await),
            "Splits must sum to total amount. Got 99.98, expected 100.00"
        );
        assert_eq!(expense_count(&f).await, 0);
        let mut exact = new_expense(f.id, "100");
        exact.split_type = SplitType::Custom;
        exact.splits = vec![share(f.max, "60.01"), share(f.lou, "39.99")];
        let created = create(&f.db, me, exact).await.expect("create");
        assert_eq!(
            owed(&created),
            sorted([
                (id(f.max), money("60.01"), false),
                (id(f.lou), money("39.99"), false)
            ])
        );
    }

    /// Percentage shares are sent as amounts, like custom ones: they must add up to the
    /// amount, not to 100.
    #[tokio::test]
    async fn percentage_shares_must_sum_to_the_amount_not_to_a_hundred() {
        let f = flat().await;
        let me = f.olive;
        let mut percents = new_expense(f.id, "50");
        percents.split_type = SplitType::Percentage;
        percents.splits = vec![share(f.olive, "50"), share(f.max, "50")];
        assert_eq!(
            refusal(create(&f.db, me, percents).await),
            "Splits must sum to total amount. Got 100.00, expected 50.00"
        );
        let mut amounts = new_expense(f.id, "50");
        amounts.split_type = SplitType::Percentage;
        amounts.splits = vec![share(f.olive, "25"), share(f.max, "25")];
        let created = create(&f.db, me, amounts).await.expect("create");
        assert_eq!(
            owed(&created),
            sorted([
                (id(f.olive), money("25"), true),
                (id(f.max), money("25"), false)
            ])
        );
    }

    #[tokio::test]
    async fn a_share_for_a_non_member_is_refused_and_nothing_written() {
        let f = flat().await;
        let stranger = crate::service::testing::user(&f.db, "sam").await;
        let mut new = new_expense(f.id, "100");
        new.split_type = SplitType::Custom;
        new.splits = vec![share(f.olive, "50"), share(stranger, "50")];
        let refused = create(&f.db, f.olive, new).await;
        assert!(matches!(&refused, Err(ServiceError::Forbidden(_))));
        assert_eq!(refusal(refused), SPLIT_FOR_A_STRANGER);
        assert_eq!(expense_count(&f).await, 0);
    }

    #[tokio::test]
    async fn a_personal_expense_has_no_splits_whatever_its_split_type() {
        let f = flat().await;
        let mut new = new_expense(f.id, "12.50");
        new.is_personal = true;
        new.split_type = SplitType::Custom;
        let created = create(&f.db, f.lou, new).await.expect("create");
        assert!(created.splits.is_empty());
    }

    #[tokio::test]
    async fn only_members_record_expenses() {
        let f = flat().await;
        let outsider = crate::service::testing::user(&f.db, "ivan").await;
        let refused = create(&f.db, outsider, new_expense(f.id, "1")).await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
        assert_eq!(expense_count(&f).await, 0);
    }

    #[tokio::test]
    async fn only_the_creator_updates_or_deletes() {
        let f = flat().await;
        let (olive, max) = (f.olive, f.max);
        let expense = create(&f.db, olive, new_expense(f.id, "30"))
            .await
            .expect("create")
            .expense
            .model
            .id
            .into();
        let rename = || ExpenseChanges {
            description: Some("Gas bill".to_owned()),
            ..ExpenseChanges::default()
        };
        assert_eq!(
            refusal(update(&f.db, max, expense, rename()).await),
            "Only the creator can update this expense"
        );
        assert_eq!(
            refusal(delete(&f.db, max, expense).await),
            "Only the creator can delete this expense"
        );
        let changed = update(&f.db, olive, expense, rename())
            .await
            .expect("update");
        assert_eq!(changed.description, "Gas bill");
        assert_eq!(changed.amount, money("30"));
        delete(&f.db, olive, expense).await.expect("delete");
        let gone = get(&f.db, olive, expense).await;
        assert!(matches!(gone, Err(ServiceError::NotFound(_))));
        let splits = expense_split::Entity::find()
            .all(f.db.connection())
            .await
            .expect("read");
        assert!(splits.is_empty(), "deleting left {splits:?}");
    }

    #[tokio::test]
    async fn a_creator_who_left_no_longer_changes_their_expense() {
        let f = flat().await;
        let expense = create(&f.db, f.max, new_expense(f.id, "30"))
            .await
            .expect("create")
            .expense
            .model
            .id
            .into();
        members::leave(&f.db, f.max, f.id).await.expect("leave");
        let refused = delete(&f.db, f.max, expense).await;
        assert!(matches!(refused, Err(ServiceError::Forbidden(_))));
    }
}
