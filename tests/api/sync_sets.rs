//! A sync costs a fixed number of statements whatever the phone sends, and its set-based
//! statements come to what the same entries sent one sync at a time come to: the same
//! rows, the same outcomes, conflicts and recorded deletions. The comparison runs the
//! service's sync directly: the answer's feed, of every row changed since one moment,
//! would make 2,000 syncs at one time quadratic in what they send back.

use std::collections::BTreeSet;

use poem::http::StatusCode;
use sea_orm::DbBackend;
use serde_json::{Value, json};
use uuid::Uuid;

use entities::enums::{
    ExpenseCategory, PaymentMethod, ShoppingListStatus, SplitType, TodoPriority, TodoStatus,
};
use flatmates::{
    domain::ids::{ExpenseId, ShoppingItemId, ShoppingListId, TodoId},
    service::{
        access::Caller,
        expenses::{ExpenseChanges, NewExpense, Share},
        shopping::{ItemChanges, ListChanges, NewItem, NewList},
        sync::{self, About, Changes, Entry, Op, Operation, Outcome},
        todos::{NewTodo, TodoChanges},
    },
};

use crate::harness::{Flat, TestUser, flat};

/// Ids made from a number, so that two households can be given the same rows.
fn id(kind: u8, n: usize) -> Uuid {
    Uuid::from_u128((u128::from(kind) << 64) | n as u128 | 0x4000_8000_0000_0000_0000)
}

const TODO: u8 = 1;
const LIST: u8 = 2;
const ITEM: u8 = 3;
const EXPENSE: u8 = 4;

/// A day of its own for row `n`, so that no value of a row depends on when it was made.
fn date(n: usize) -> String {
    format!("2030-01-{:02}T09:00:00Z", n % 28 + 1)
}

impl Flat {
    /// `changes` synced by `user` on top of `since`; answers the body.
    async fn sync_as(&self, user: &TestUser, since: i64, changes: &Value) -> Value {
        self.sync(user, since, changes.clone()).await
    }
}

/// Statements the flat's service has sent so far.
fn sent(f: &Flat) -> u64 {
    f.app.state.db.statements()
}

/// `n` entries of each of ten operations over every kind: 10 × `n` entries, over rows
/// `seed` made, from `from` on.
fn mixed(n: usize, from: usize) -> Value {
    let rows = |kind: u8, at: usize| (at..at + n).map(move |k| id(kind, k));
    json!({
        "todos": {
            "created": rows(TODO, 1000 + from).map(|id| json!({"id": id, "title": "New"})).collect::<Vec<_>>(),
            "updated": rows(TODO, from).map(|id| json!({"id": id, "title": "Edited"})).collect::<Vec<_>>(),
            "deleted": rows(TODO, 500 + from).collect::<Vec<_>>(),
        },
        "shopping_lists": {
            "created": rows(LIST, 1000 + from).map(|id| json!({"id": id, "name": "New"})).collect::<Vec<_>>(),
            "updated": rows(LIST, from).map(|id| json!({"id": id, "name": "Edited"})).collect::<Vec<_>>(),
        },
        "shopping_items": {
            "created": rows(ITEM, 1000 + from)
                .map(|item| json!({"id": item, "shopping_list_id": id(LIST, 0), "name": "Milk"}))
                .collect::<Vec<_>>(),
            "updated": rows(ITEM, from).map(|id| json!({"id": id, "is_purchased": true})).collect::<Vec<_>>(),
            "deleted": rows(ITEM, 500 + from).collect::<Vec<_>>(),
        },
        "expenses": {
            "created": rows(EXPENSE, 1000 + from)
                .map(|id| json!({"id": id, "amount": "9.99", "description": "Bread", "date": date(0)}))
                .collect::<Vec<_>>(),
            "updated": rows(EXPENSE, from).map(|id| json!({"id": id, "description": "Edited"})).collect::<Vec<_>>(),
        },
    })
}

/// The rows `mixed` edits and deletes, in two halves (a sync takes 500 of each list).
fn seed(half: usize) -> Value {
    let rows = |kind: u8| (half * 500..half * 500 + 500).map(move |k| id(kind, k));
    let list = id(LIST, 0);
    json!({
        "todos": {"created": rows(TODO).map(|id| json!({"id": id, "title": "Seed"})).collect::<Vec<_>>()},
        "shopping_lists": {"created": rows(LIST).map(|id| json!({"id": id, "name": "Seed"})).collect::<Vec<_>>()},
        "shopping_items": {"created": rows(ITEM)
            .map(|item| json!({"id": item, "shopping_list_id": list, "name": "Seed"}))
            .collect::<Vec<_>>()},
        "expenses": {"created": rows(EXPENSE)
            .map(|id| json!({"id": id, "amount": "1.00", "description": "Seed", "date": date(0)}))
            .collect::<Vec<_>>()},
    })
}

#[tokio::test]
async fn a_sync_of_500_entries_sends_as_many_statements_as_one_of_10() {
    let f = flat().await;
    f.sync_as(&f.member, 0, &seed(0)).await;
    let seeded = f.sync_as(&f.member, 0, &seed(1)).await;
    assert_eq!(seeded["not_applied"], json!([]), "{seeded}");
    let since = seeded["server_timestamp"].as_i64().expect("timestamp");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let before = sent(&f);
    let small = f.sync_as(&f.member, since, &mixed(1, 0)).await;
    let after_small = sent(&f);
    let large = f.sync_as(&f.member, since, &mixed(50, 100)).await;
    let after_large = sent(&f);

    assert_eq!(small["not_applied"], json!([]), "{small}");
    assert_eq!(large["not_applied"], json!([]));
    let (small, large) = (after_small - before, after_large - after_small);
    assert!(small > 0, "the driver counted no statement");
    assert_eq!(
        small, large,
        "10 entries sent {small} statements, 500 sent {large}"
    );
    // Members, a read and a write per kind, the feed; SQLite writes a kind's sets in turn.
    if f.app.db.backend() == DbBackend::Postgres {
        assert_eq!(large, 10, "statements of a sync of four kinds");
    }
}

#[tokio::test]
async fn a_sync_with_nothing_to_push_is_one_statement() {
    let f = flat().await;
    f.sync_as(&f.member, 0, &json!({})).await;
    let before = sent(&f);
    let body = f.sync_as(&f.member, 0, &json!({})).await;
    assert_eq!(sent(&f) - before, 1, "{body}");
    let (status, _) = f
        .app
        .post(
            "/api/v1/sync",
            &f.app.user("Stranger").await,
            json!({"last_sync_timestamp": 0, "household_id": f.household}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The rows of the household both flats hold, each without the moments it was written
/// (which differ between the two runs), in id order.
async fn rows(f: &Flat) -> Vec<String> {
    let hex = |column: &str| match f.app.db.backend() {
        DbBackend::Postgres => format!("COALESCE({column}::text, '-')"),
        _ => format!("COALESCE(lower(hex({column})), '-')"),
    };
    let text = |column: &str| format!("COALESCE(CAST({column} AS TEXT), '-')");
    let mut all = Vec::new();
    let tables = [
        (
            "todos",
            vec![
                hex("id"),
                text("title"),
                text("status"),
                hex("assigned_to_id"),
                hex("created_by"),
            ],
        ),
        (
            "shopping_lists",
            vec![hex("id"), text("name"), hex("created_by")],
        ),
        (
            "shopping_list_items",
            vec![
                hex("id"),
                hex("shopping_list_id"),
                text("name"),
                text("is_purchased"),
                hex("checked_off_by"),
                text("price"),
            ],
        ),
        (
            "expenses",
            vec![
                hex("id"),
                text("amount"),
                text("description"),
                text("split_type"),
                hex("created_by"),
            ],
        ),
        (
            "expense_splits",
            vec![
                hex("expense_id"),
                hex("user_id"),
                text("amount_owed"),
                text("is_settled"),
            ],
        ),
        ("sync_deletions", vec![text("kind"), hex("row_id")]),
    ];
    for (table, columns) in tables {
        let sql = format!(
            "SELECT '{table} ' || {} FROM {table} ORDER BY 1",
            columns.join(" || '|' || ")
        );
        all.extend(f.app.db.strings(&sql).await);
    }
    all
}

/// The owner's household as both runs start: rows of every kind, made by the owner, then,
/// after `since`, some of them changed and some deleted on the server.
async fn household_before_the_sync(f: &Flat) -> i64 {
    let rows = |kind: u8, range: std::ops::Range<usize>| range.map(move |k| id(kind, k));
    let seeded = f
        .sync_as(
            &f.owner,
            0,
            &json!({
                "todos": {"created": rows(TODO, 0..200).map(|id| json!({"id": id, "title": "Seed"})).collect::<Vec<_>>()},
                "shopping_lists": {"created": rows(LIST, 0..60).map(|id| json!({"id": id, "name": "Seed"})).collect::<Vec<_>>()},
                "shopping_items": {"created": (0..200)
                    .map(|k| json!({"id": id(ITEM, k), "shopping_list_id": id(LIST, k % 20), "name": "Seed", "price": "1.50"}))
                    .collect::<Vec<_>>()},
                "expenses": {"created": rows(EXPENSE, 0..100)
                    .map(|id| json!({"id": id, "amount": "10.00", "description": "Seed", "date": date(1)}))
                    .collect::<Vec<_>>()},
            }),
        )
        .await;
    assert_eq!(seeded["not_applied"], json!([]), "{seeded}");
    let since = seeded["server_timestamp"].as_i64().expect("timestamp");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // On the server since: rows 0..20 of each kind changed, 20..40 deleted.
    let server = f
        .sync_as(
            &f.owner,
            since,
            &json!({
                "todos": {"updated": rows(TODO, 0..20).map(|id| json!({"id": id, "title": "Server's"})).collect::<Vec<_>>(),
                          "deleted": rows(TODO, 20..40).collect::<Vec<_>>()},
                "shopping_lists": {"updated": rows(LIST, 40..45).map(|id| json!({"id": id, "name": "Server's"})).collect::<Vec<_>>(),
                                   "deleted": rows(LIST, 45..50).collect::<Vec<_>>()},
                "shopping_items": {"updated": rows(ITEM, 0..20).map(|id| json!({"id": id, "name": "Server's"})).collect::<Vec<_>>(),
                                   "deleted": rows(ITEM, 20..40).collect::<Vec<_>>()},
                "expenses": {"updated": rows(EXPENSE, 0..20).map(|id| json!({"id": id, "description": "Server's"})).collect::<Vec<_>>(),
                             "deleted": rows(EXPENSE, 20..40).collect::<Vec<_>>()},
            }),
        )
        .await;
    assert_eq!(server["not_applied"], json!([]), "{server}");
    since
}

/// An entry of one kind, as the service takes it.
enum One {
    Todo(Entry<NewTodo, TodoChanges, TodoId>),
    List(Entry<NewList, ListChanges, ShoppingListId>),
    Item(Entry<NewItem, ItemChanges, ShoppingItemId>),
    Expense(Entry<NewExpense, ExpenseChanges, ExpenseId>),
}

impl One {
    fn into_changes(self, changes: &mut Changes) {
        match self {
            One::Todo(entry) => changes.todos.push(entry),
            One::List(entry) => changes.shopping_lists.push(entry),
            One::Item(entry) => changes.shopping_items.push(entry),
            One::Expense(entry) => changes.expenses.push(entry),
        }
    }
}

fn entry<N, C, I>(operation: Operation, id: Uuid, op: Op<N, C, I>) -> Entry<N, C, I> {
    Entry {
        about: About {
            operation,
            id: Some(id.to_string()),
            client_version: None,
        },
        change: Ok(op),
    }
}

fn create<N, C, I>(id: Uuid, new: N) -> Entry<N, C, I> {
    entry(Operation::Create, id, Op::Create(new))
}

fn update<N, C, I: From<Uuid>>(id: Uuid, changes: C, or_create: Option<N>) -> Entry<N, C, I> {
    entry(
        Operation::Update,
        id,
        Op::Update {
            id: id.into(),
            changes,
            or_create,
        },
    )
}

fn delete<N, C, I: From<Uuid>>(id: Uuid) -> Entry<N, C, I> {
    entry(Operation::Delete, id, Op::Delete(id.into()))
}

fn new_todo(id: Uuid, household_id: Uuid, title: &str) -> NewTodo {
    NewTodo {
        id: id.into(),
        household_id: household_id.into(),
        title: title.to_owned(),
        description: None,
        status: TodoStatus::Pending,
        priority: TodoPriority::Medium,
        due_date: None,
        assigned_to_id: None,
        recurring_pattern: None,
        recurring_until: None,
    }
}

fn new_item(id: Uuid, list: Uuid, name: &str) -> NewItem {
    NewItem {
        id: id.into(),
        shopping_list_id: list.into(),
        name: name.to_owned(),
        quantity: 1.0,
        unit: None,
        category: None,
        is_purchased: false,
        assigned_to_id: None,
        price: None,
        notes: None,
        is_recurring: false,
        recurring_pattern: None,
        recurring_until: None,
        position: 0,
    }
}

fn new_expense(id: Uuid, household_id: Uuid, amount: &str, description: &str) -> NewExpense {
    NewExpense {
        id: id.into(),
        household_id: household_id.into(),
        amount: amount.parse().expect("an amount"),
        description: description.to_owned(),
        category: ExpenseCategory::Other,
        payment_method: PaymentMethod::Cash,
        date: Some(
            chrono::NaiveDate::from_ymd_opt(2030, 1, 1)
                .expect("a day")
                .into(),
        ),
        split_type: SplitType::Equal,
        is_personal: false,
        splits: Vec::new(),
    }
}

/// 2,000 entries over four kinds, each naming its own row: creates (some refused: a
/// stranger assigned, an unknown list or one deleted earlier in the sync, splits that do
/// not add up, an id taken), updates of rows unchanged, changed and deleted on the server,
/// of unknown ids with and without what a create needs, and of the items of a list deleted
/// earlier in the sync; deletes of rows unchanged, changed and deleted on the server, of
/// unknown ids, and of the owner's expenses (only their creator may).
fn two_thousand(household: Uuid, owner: Uuid, member: Uuid, stranger: Uuid) -> Vec<One> {
    let mut all = Vec::new();
    for k in 1000..1400 {
        let mut new = new_todo(id(TODO, k), household, &format!("New {k}"));
        match k % 10 {
            0 => new.assigned_to_id = Some(stranger.into()),
            1 => {
                new.assigned_to_id = Some(member.into());
                new.status = TodoStatus::Completed;
            }
            _ => {}
        }
        all.push(One::Todo(create(id(TODO, k), new)));
    }
    all.push(One::Todo(create(
        id(TODO, 100),
        new_todo(id(TODO, 100), household, "Taken"),
    )));
    for k in 0..60 {
        let changes = TodoChanges {
            title: Some("Phone's".into()),
            status: Some(TodoStatus::InProgress),
            ..TodoChanges::default()
        };
        all.push(One::Todo(update(id(TODO, k), changes, None)));
    }
    for k in 2000..2060 {
        let changes = TodoChanges {
            status: Some(TodoStatus::Completed),
            ..TodoChanges::default()
        };
        // An edit of a row the phone made offline, with what a create needs, or without.
        let or_create = (k < 2050).then(|| new_todo(id(TODO, k), household, "Offline"));
        all.push(One::Todo(update(id(TODO, k), changes, or_create)));
    }
    for k in (60..200).chain(3000..3039) {
        all.push(One::Todo(delete(id(TODO, k))));
    }
    for k in (1000..1100).chain([5]) {
        let new = NewList {
            id: id(LIST, k).into(),
            household_id: household.into(),
            name: "New list".into(),
            description: None,
            status: ShoppingListStatus::Active,
        };
        all.push(One::List(create(id(LIST, k), new)));
    }
    for k in 30..50 {
        let changes = ListChanges {
            name: Some("Phone's list".into()),
            ..ListChanges::default()
        };
        all.push(One::List(update(id(LIST, k), changes, None)));
    }
    for k in (10..20).chain(50..55) {
        all.push(One::List(delete(id(LIST, k))));
    }
    for k in 1000..1500 {
        let list = match k % 8 {
            0 => id(LIST, 9999),
            1 => id(LIST, 1000 + k % 100),
            2 => id(LIST, 15),
            _ => id(LIST, k % 10),
        };
        let mut new = new_item(id(ITEM, k), list, &format!("Item {k}"));
        new.is_purchased = k % 2 == 0;
        new.price = (k % 8 == 1).then(|| "2.35".parse().expect("a price"));
        all.push(One::Item(create(id(ITEM, k), new)));
    }
    // Seed item k is in list k % 20; lists 10..20 are deleted above.
    for k in (0..50).chain(100..160) {
        let changes = ItemChanges {
            name: Some("Phone's item".into()),
            is_purchased: Some(true),
            ..ItemChanges::default()
        };
        all.push(One::Item(update(id(ITEM, k), changes, None)));
    }
    all.push(One::Item(update(
        id(ITEM, 9000),
        ItemChanges::default(),
        Some(new_item(id(ITEM, 9000), id(LIST, 0), "Made by an edit")),
    )));
    for k in (50..100).chain(160..200).chain(5000..5113) {
        all.push(One::Item(delete(id(ITEM, k))));
    }
    for k in 1000..1250 {
        let mut new = new_expense(id(EXPENSE, k), household, "30.00", &format!("Expense {k}"));
        let share = |user_id: Uuid, amount: &str| Share {
            user_id: user_id.into(),
            amount_owed: amount.parse().expect("an amount"),
        };
        match k % 5 {
            0 => {
                new.split_type = SplitType::Custom;
                new.splits = vec![share(owner, "20.00"), share(member, "10.00")];
            }
            1 => {
                new.split_type = SplitType::Custom;
                new.splits = vec![share(owner, "1.00")];
            }
            2 => new.is_personal = true,
            3 => new.amount = "10.01".parse().expect("an amount"),
            _ => {}
        }
        all.push(One::Expense(create(id(EXPENSE, k), new)));
    }
    for k in 0..40 {
        let changes = ExpenseChanges {
            description: Some("Phone's expense".into()),
            ..ExpenseChanges::default()
        };
        all.push(One::Expense(update(id(EXPENSE, k), changes, None)));
    }
    for k in 40..100 {
        all.push(One::Expense(delete(id(EXPENSE, k))));
    }
    assert_eq!(all.len(), 2000);
    all
}

/// What came of a sync's entries, the people named by role and the server's versions
/// left out (the two runs changed the server's rows at other moments).
fn reported(outcome: Outcome, names: &[(Uuid, &str)]) -> (BTreeSet<String>, BTreeSet<String>) {
    let named = |line: String| {
        names
            .iter()
            .fold(line, |line, (id, name)| line.replace(&id.to_string(), name))
    };
    let not_applied = outcome
        .not_applied
        .into_iter()
        .map(|e| {
            named(format!(
                "{} {} {:?} {}",
                e.kind,
                e.operation.as_str(),
                e.id,
                e.reason
            ))
        })
        .collect();
    let conflicts = outcome
        .conflicts
        .into_iter()
        .map(|c| {
            format!(
                "{} {} {} {:?}",
                c.kind,
                c.id,
                c.operation.as_str(),
                c.conflict
            )
        })
        .collect();
    (not_applied, conflicts)
}

#[tokio::test]
async fn a_sync_of_2000_entries_comes_to_what_the_same_entries_one_at_a_time_do() {
    let (once, one_by_one) = (flat().await, flat().await);
    let mut outcomes = Vec::new();
    let mut states = Vec::new();
    for (f, all_at_once) in [(&once, true), (&one_by_one, false)] {
        let stranger = f.app.user("Stranger").await;
        let since = household_before_the_sync(f).await;
        let since = chrono::DateTime::from_timestamp_millis(since)
            .expect("a moment")
            .naive_utc();
        let household: Uuid = f.household.parse().expect("a household id");
        let all = two_thousand(household, f.owner.id, f.member.id, stranger.id);
        let db = &f.app.state.db;
        let mut not_applied = BTreeSet::new();
        let mut conflicts = BTreeSet::new();
        let names = [
            (f.owner.id, "OWNER"),
            (f.member.id, "MEMBER"),
            (stranger.id, "STRANGER"),
        ];
        let batches: Vec<Changes> = if all_at_once {
            let mut changes = Changes::default();
            all.into_iter()
                .for_each(|one| one.into_changes(&mut changes));
            vec![changes]
        } else {
            all.into_iter()
                .map(|one| {
                    let mut changes = Changes::default();
                    one.into_changes(&mut changes);
                    changes
                })
                .collect()
        };
        for changes in batches {
            let member = Caller::user(f.member.id.into());
            let outcome = sync::apply(db, member, household.into(), Some(since), changes)
                .await
                .expect("the sync applies");
            let (n, c) = reported(outcome, &names);
            not_applied.extend(n);
            conflicts.extend(c);
        }
        outcomes.push((not_applied, conflicts));
        let state: Vec<String> = rows(f)
            .await
            .into_iter()
            .map(|line| {
                names.iter().fold(line, |line, (id, name)| {
                    line.replace(&id.to_string(), name)
                        .replace(&id.simple().to_string(), name)
                })
            })
            .collect();
        states.push(state);
    }
    let (at_once, one_at_a_time) = (&outcomes[0], &outcomes[1]);
    assert!(
        at_once.0.len() > 300 && at_once.1.len() > 100,
        "the mix refuses and conflicts: {} not applied, {} conflicts",
        at_once.0.len(),
        at_once.1.len()
    );
    let differ = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> Vec<String> {
        a.symmetric_difference(b).take(10).cloned().collect()
    };
    assert_eq!(
        differ(&at_once.0, &one_at_a_time.0),
        Vec::<String>::new(),
        "not_applied differs"
    );
    assert_eq!(
        differ(&at_once.1, &one_at_a_time.1),
        Vec::<String>::new(),
        "conflicts differ"
    );
    assert_eq!(states[0].len(), states[1].len(), "row counts");
    let (a, b): (BTreeSet<_>, BTreeSet<_>) = (
        states[0].iter().cloned().collect(),
        states[1].iter().cloned().collect(),
    );
    assert_eq!(
        a.symmetric_difference(&b).take(10).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the database differs"
    );
}
