//! Expenses: splits, settlement, summary and analytics against hand-computed figures,
//! money exact to the cent, paging bounds and the authorization matrix.

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, TestUser};

struct Flat {
    app: TestApp,
    owner: TestUser,
    member: TestUser,
    third: TestUser,
    household: String,
}

/// Olive (owner), Max and Lou, in that order of joining.
async fn flat() -> Flat {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let member = app.user("Max").await;
    let third = app.user("Lou").await;
    let household = app.household(&owner, "Flat 1").await;
    app.join(&owner, &household, &member).await;
    app.join(&owner, &household, &third).await;
    Flat {
        app,
        owner,
        member,
        third,
        household,
    }
}

impl Flat {
    async fn expense(&self, by: &TestUser, body: Value) -> Value {
        let mut body = body;
        body["household_id"] = json!(self.household);
        let (status, expense) = self.app.post("/api/v1/expenses", by, body).await;
        assert_eq!(status, StatusCode::CREATED, "{expense}");
        expense
    }
}

fn owed_by(expense: &Value, user: &TestUser) -> (String, bool) {
    let split = expense["splits"]
        .as_array()
        .expect("splits")
        .iter()
        .find(|s| s["user_id"] == user.id.to_string())
        .expect("a split for the user");
    (
        split["amount_owed"].as_str().expect("amount").to_owned(),
        split["is_settled"].as_bool().expect("bool"),
    )
}

#[tokio::test]
async fn equal_split_gives_leftover_cents_to_the_first_shares_and_settles_the_payer() {
    let f = flat().await;
    let expense = f
        .expense(
            &f.owner,
            json!({"amount": "100.00", "description": "Groceries", "category": "GROCERIES"}),
        )
        .await;
    assert_eq!(expense["amount"], "100.00");
    assert_eq!(expense["split_type"], "equal");
    assert_eq!(expense["category"], "groceries");
    assert_eq!(expense["payment_method"], "cash");
    assert_eq!(expense["creator_name"], "Olive");
    assert_eq!(owed_by(&expense, &f.owner), ("33.34".to_owned(), true));
    assert_eq!(owed_by(&expense, &f.member), ("33.33".to_owned(), false));
    assert_eq!(owed_by(&expense, &f.third), ("33.33".to_owned(), false));
    let (settled, pending) = (
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits WHERE is_settled = true")
            .await,
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits WHERE is_settled = false")
            .await,
    );
    assert_eq!((settled, pending), (1, 2));
    let stored: Vec<String> = f
        .app
        .db
        .strings("SELECT amount_owed || '' FROM expense_splits ORDER BY 1")
        .await;
    assert_eq!(
        stored
            .iter()
            .map(|s| s.trim_end_matches('0').trim_end_matches('.').to_owned())
            .collect::<Vec<_>>(),
        ["33.33", "33.33", "33.34"]
    );
}

#[tokio::test]
async fn custom_split_must_sum_to_the_amount_and_name_members() {
    let f = flat().await;
    let (status, body) = f
        .app
        .post("/api/v1/expenses", &f.owner, json!({"household_id": f.household, "amount": 100, "description": "Rent", "split_type": "custom"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Custom splits are required for custom split type"
    );
    let (status, body) = f
        .app
        .post(
            "/api/v1/expenses",
            &f.owner,
            json!({"household_id": f.household, "amount": 100, "description": "Rent", "split_type": "custom",
                   "splits": [{"user_id": f.owner.id, "amount_owed": "50.00"}, {"user_id": f.member.id, "amount_owed": 49.98}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Splits must sum to total amount. Got 99.98, expected 100.00"
    );
    let stranger = f.app.user("Sam").await;
    let (status, _) = f
        .app
        .post(
            "/api/v1/expenses",
            &f.owner,
            json!({"household_id": f.household, "amount": 100, "description": "Rent", "split_type": "percentage",
                   "splits": [{"user_id": f.owner.id, "amount_owed": 50}, {"user_id": stranger.id, "amount_owed": 50}]}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM expenses").await, 0);
    // A share has at most two decimals, as the document's pattern says; more is refused, not
    // rounded.
    let (status, body) = f
        .app
        .post(
            "/api/v1/expenses",
            &f.owner,
            json!({"household_id": f.household, "amount": "100", "description": "Rent", "split_type": "custom",
                   "splits": [{"user_id": f.member.id, "amount_owed": "60.005"}, {"user_id": f.third.id, "amount_owed": "40"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let expense = f
        .expense(&f.owner, json!({"amount": "100", "description": "Rent", "split_type": "custom",
                                 "splits": [{"user_id": f.member.id, "amount_owed": "60.01"}, {"user_id": f.third.id, "amount_owed": "40"}]}))
        .await;
    assert_eq!(owed_by(&expense, &f.member), ("60.01".to_owned(), false));
    assert_eq!(expense["splits"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn personal_expense_has_no_splits() {
    let f = flat().await;
    let expense = f
        .expense(
            &f.member,
            json!({"amount": 12.5, "description": "Lunch", "is_personal": true}),
        )
        .await;
    assert_eq!(expense["splits"], json!([]));
    assert_eq!(expense["amount"], "12.50");
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits")
            .await,
        0
    );
}

#[tokio::test]
async fn bad_amounts_and_fields_are_422() {
    let f = flat().await;
    for bad in [
        json!({"amount": 0, "description": "x"}),
        json!({"amount": "-1", "description": "x"}),
        json!({"amount": "abc", "description": "x"}),
        json!({"amount": "100000000", "description": "x"}),
        json!({"amount": 10, "description": ""}),
        json!({"amount": 10, "description": "x".repeat(501)}),
        json!({"amount": 10, "description": "x", "category": "bribes"}),
        json!({"amount": 10, "description": "x", "split_type": "custom", "splits": [{"user_id": f.owner.id, "amount_owed": 0}]}),
    ] {
        let mut body = bad.clone();
        body["household_id"] = json!(f.household);
        let (status, error) = f.app.post("/api/v1/expenses", &f.owner, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {error}");
        assert_eq!(error["error"], "validation_error");
    }
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM expenses").await, 0);
}

#[tokio::test]
async fn large_amounts_round_trip_exactly() {
    let f = flat().await;
    let expense = f
        .expense(
            &f.owner,
            json!({"amount": "99999999.99", "description": "Castle", "is_personal": true}),
        )
        .await;
    let (_, read) = f
        .app
        .get(
            &format!("/api/v1/expenses/{}", expense["id"].as_str().expect("id")),
            &f.owner,
        )
        .await;
    assert_eq!(read["amount"], "99999999.99");
    let shared = f
        .expense(
            &f.owner,
            json!({"amount": "99999999.99", "description": "Castle"}),
        )
        .await;
    assert_eq!(owed_by(&shared, &f.owner).0, "33333333.33");
}

#[tokio::test]
async fn list_filters_pages_and_orders_newest_first() {
    let f = flat().await;
    f.expense(&f.owner, json!({"amount": 1, "description": "jan", "date": "2030-01-15T00:00:00Z", "category": "food"})).await;
    f.expense(&f.owner, json!({"amount": 2, "description": "feb", "date": "2030-02-15T00:00:00Z", "is_personal": true})).await;
    f.expense(&f.member, json!({"amount": 3, "description": "mar", "date": "2030-03-15T00:00:00Z", "category": "food"})).await;
    let other = f.app.user("Otto").await;
    let theirs = f.app.household(&other, "Flat 2").await;
    f.app
        .post(
            "/api/v1/expenses",
            &other,
            json!({"household_id": theirs, "amount": 9, "description": "not ours"}),
        )
        .await;
    assert_eq!(descriptions(&f, "").await, ["mar", "feb", "jan"]);
    assert_eq!(
        descriptions(&f, &format!("?household_id={}", f.household)).await,
        ["mar", "feb", "jan"]
    );
    assert_eq!(descriptions(&f, "?category=food").await, ["mar", "jan"]);
    assert_eq!(descriptions(&f, "?is_personal=true").await, ["feb"]);
    assert_eq!(
        descriptions(
            &f,
            "?start_date=2030-02-15T00:00:00Z&end_date=2030-03-15T00:00:00Z"
        )
        .await,
        ["mar", "feb"]
    );
    assert_eq!(descriptions(&f, "?skip=1&limit=1").await, ["feb"]);
    for bad in [
        "?limit=0",
        "?limit=1001",
        "?skip=-1",
        "?start_date=soon",
        "?household_id=x",
    ] {
        let (status, body) = f.app.get(&format!("/api/v1/expenses{bad}"), &f.third).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"], "validation_error");
    }
}

#[tokio::test]
async fn only_the_creator_updates_or_deletes() {
    let f = flat().await;
    let expense = f
        .expense(&f.owner, json!({"amount": 30, "description": "Gas"}))
        .await;
    let path = format!("/api/v1/expenses/{}", expense["id"].as_str().expect("id"));
    let (status, body) = f
        .app
        .patch(&path, &f.member, json!({"description": "Mine"}))
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("Only the creator can update this expense")
        )
    );
    let (status, body) = f.app.delete(&path, &f.member).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("Only the creator can delete this expense")
        )
    );
    let (status, body) = f
        .app
        .patch(
            &path,
            &f.owner,
            json!({"description": "Gas bill", "amount": "31.5", "payment_method": "card"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            body["description"].as_str(),
            body["amount"].as_str(),
            body["payment_method"].as_str()
        ),
        (Some("Gas bill"), Some("31.50"), Some("card"))
    );
    let (status, body) = f
        .app
        .put(&path, &f.owner, json!({"category": "utilities"}))
        .await;
    assert_eq!(
        (status, body["category"].as_str()),
        (StatusCode::OK, Some("utilities"))
    );
    let (status, _) = f.app.patch(&path, &f.owner, json!({"amount": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        f.app.delete(&path, &f.owner).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM expenses").await, 0);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits")
            .await,
        0
    );
    assert_eq!(f.app.get(&path, &f.owner).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn settling_marks_splits_once() {
    let f = flat().await;
    let expense = f
        .expense(&f.owner, json!({"amount": 90, "description": "Internet"}))
        .await;
    let path = format!(
        "/api/v1/expenses/{}/settle",
        expense["id"].as_str().expect("id")
    );
    let ids: Vec<Value> = expense["splits"]
        .as_array()
        .expect("splits")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    let (status, body) = f
        .app
        .post(&path, &f.member, json!({"split_ids": ids}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["settled_count"], 2,
        "the payer's own split was already settled"
    );
    assert_eq!(body["message"], "Successfully settled 2 split(s)");
    let (_, again) = f
        .app
        .post(&path, &f.member, json!({"split_ids": ids}))
        .await;
    assert_eq!(
        (again["settled_count"].as_u64(), again["split_ids"].clone()),
        (Some(0), json!([]))
    );
    let (status, body) = f
        .app
        .post(
            &path,
            &f.member,
            json!({"split_ids": [uuid::Uuid::new_v4()]}),
        )
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some("Some split IDs were not found"))
    );
    let (status, _) = f.app.post(&path, &f.member, json!({"split_ids": []})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits WHERE is_settled = false")
            .await,
        0
    );
}

#[tokio::test]
async fn concurrent_settlements_settle_each_split_once() {
    let f = flat().await;
    let expense = f
        .expense(&f.owner, json!({"amount": 90, "description": "Internet"}))
        .await;
    let path = format!(
        "/api/v1/expenses/{}/settle",
        expense["id"].as_str().expect("id")
    );
    let ids: Vec<Value> = expense["splits"]
        .as_array()
        .expect("splits")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    let body = json!({"split_ids": ids});
    let attempts = (0..6).map(|i| {
        let settler = if i % 2 == 0 { &f.member } else { &f.third };
        f.app.post(&path, settler, body.clone())
    });
    let answers = futures_util::future::join_all(attempts).await;
    let mut settled = 0;
    for (status, answer) in answers {
        assert_eq!(status, StatusCode::OK, "{answer}");
        settled += answer["settled_count"].as_u64().expect("count");
    }
    assert_eq!(
        settled, 2,
        "each unsettled split is reported settled exactly once"
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits WHERE is_settled = false")
            .await,
        0
    );
}

#[tokio::test]
async fn summary_matches_hand_computed_balances() {
    let f = flat().await;
    f.expense(&f.owner, json!({"amount": "90.00", "description": "Power"}))
        .await;
    f.expense(&f.member, json!({"amount": "60.00", "description": "Food", "split_type": "custom",
                                "splits": [{"user_id": f.owner.id, "amount_owed": "20"}, {"user_id": f.member.id, "amount_owed": "40"}]})).await;
    f.expense(
        &f.owner,
        json!({"amount": "10.00", "description": "Own lunch", "is_personal": true}),
    )
    .await;
    let (status, summary) = f
        .app
        .get(
            &format!("/api/v1/expenses/households/{}/summary", f.household),
            &f.third,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary["total_expenses"], "150.00");
    assert_eq!(summary["expense_count"], 2);
    assert_eq!(summary["total_settled"], "70.00");
    assert_eq!(summary["total_pending"], "80.00");
    let balance = |user: &TestUser| {
        let b = summary["user_balances"]
            .as_array()
            .expect("balances")
            .iter()
            .find(|b| b["user_id"] == user.id.to_string())
            .expect("a balance")
            .clone();
        (
            b["total_paid"].as_str().unwrap_or_default().to_owned(),
            b["total_owed"].as_str().unwrap_or_default().to_owned(),
            b["balance"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        balance(&f.owner),
        ("90.00".into(), "50.00".into(), "40.00".into())
    );
    assert_eq!(
        balance(&f.member),
        ("60.00".into(), "70.00".into(), "-10.00".into())
    );
    assert_eq!(
        balance(&f.third),
        ("0.00".into(), "30.00".into(), "-30.00".into())
    );
}

#[tokio::test]
async fn analytics_match_hand_computed_figures() {
    let f = flat().await;
    let day = |d: i64| {
        (chrono::Utc::now() - chrono::Duration::days(d))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    f.expense(
        &f.owner,
        json!({"amount": "90.00", "description": "Power", "category": "utilities", "date": day(5)}),
    )
    .await;
    f.expense(&f.owner, json!({"amount": "10.00", "description": "Lunch", "category": "food", "is_personal": true, "date": day(3)})).await;
    f.expense(
        &f.member,
        json!({"amount": "30.00", "description": "Snacks", "category": "food", "date": day(40)}),
    )
    .await;
    let path = format!("/api/v1/expenses/users/{}/analytics", f.owner.id);
    let (status, one) = f.app.get(&path, &f.owner).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["total_spent"], "100.00");
    assert_eq!(one["total_paid_for_others"], "90.00");
    assert_eq!(one["total_owed_by_user"], "30.00");
    assert_eq!(one["net_balance"], "60.00");
    assert_eq!(one["expense_count"], 2);
    assert_eq!(
        one["category_breakdown"],
        json!({"food": "10.00", "utilities": "90.00"})
    );
    assert_eq!(one["monthly_stats"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["monthly_stats"][0]["total_amount"], "100.00");
    assert_eq!(one["monthly_stats"][0]["average_expense"], "50.00");
    let (_, two) = f.app.get(&format!("{path}?months=2"), &f.owner).await;
    assert_eq!(two["expense_count"], 3);
    assert_eq!(two["total_owed_by_user"], "40.00");
    assert_eq!(
        two["category_breakdown"],
        json!({"food": "40.00", "utilities": "90.00"})
    );
    assert_eq!(two["monthly_stats"].as_array().map(Vec::len), Some(2));
    for bad in ["?months=0", "?months=13"] {
        assert_eq!(
            f.app.get(&format!("{path}{bad}"), &f.owner).await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let (status, body) = f.app.get(&path, &f.member).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("You can only view your own analytics")
        )
    );
}

#[tokio::test]
async fn suggest_tasks_answers_an_empty_list_without_a_provider() {
    let f = flat().await;
    let (status, body) = f
        .app
        .call(
            Method::POST,
            &format!(
                "/api/v1/expenses/ai/suggest-tasks?household_id={}",
                f.household
            ),
            Some(&f.member),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"suggestions": []}));
}

#[tokio::test]
async fn another_households_user_gets_403_or_404_and_never_data() {
    let f = flat().await;
    let expense = f
        .expense(
            &f.owner,
            json!({"amount": 90, "description": "Secret spend"}),
        )
        .await;
    let id = expense["id"].as_str().expect("id").to_owned();
    let split = expense["splits"][1]["id"].clone();
    let intruder = f.app.user("Ivan").await;
    f.app.household(&intruder, "Flat 2").await;
    let loner = f.app.user("Nobody").await;
    let e = format!("/api/v1/expenses/{id}");
    let routes: Vec<(Method, String, Option<Value>, StatusCode)> = vec![
        (
            Method::POST,
            "/api/v1/expenses".into(),
            Some(json!({"household_id": f.household, "amount": 1, "description": "x"})),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/api/v1/expenses?household_id={}", f.household),
            None,
            StatusCode::FORBIDDEN,
        ),
        (Method::GET, e.clone(), None, StatusCode::FORBIDDEN),
        (
            Method::PATCH,
            e.clone(),
            Some(json!({"description": "x"})),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::PUT,
            e.clone(),
            Some(json!({"description": "x"})),
            StatusCode::FORBIDDEN,
        ),
        (Method::DELETE, e.clone(), None, StatusCode::FORBIDDEN),
        (
            Method::POST,
            format!("{e}/settle"),
            Some(json!({"split_ids": [split]})),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/api/v1/expenses/households/{}/summary", f.household),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/api/v1/expenses/users/{}/analytics", f.owner.id),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            Method::POST,
            format!(
                "/api/v1/expenses/ai/suggest-tasks?household_id={}",
                f.household
            ),
            None,
            StatusCode::FORBIDDEN,
        ),
    ];
    for outsider in [&intruder, &loner] {
        for (method, path, body, expected) in &routes {
            let (status, answer) = f
                .app
                .call(method.clone(), path, Some(outsider), body.clone())
                .await;
            assert_eq!(status, *expected, "{method} {path}: {answer}");
            assert!(
                !answer.to_string().contains("Secret"),
                "{method} {path} leaked {answer}"
            );
        }
        let (_, listed) = f.app.get("/api/v1/expenses", outsider).await;
        assert!(!listed.to_string().contains("Secret"));
    }
    assert_eq!(
        f.app.db.strings("SELECT description FROM expenses").await,
        ["Secret spend"]
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM expense_splits WHERE is_settled = true")
            .await,
        1
    );
}

/// The descriptions `GET /api/v1/expenses{query}` answers Lou (a member), in order.
async fn descriptions(f: &Flat, query: &str) -> Vec<String> {
    let path = format!("/api/v1/expenses{query}");
    let (status, body) = f.app.get(&path, &f.third).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body.as_array()
        .expect("array")
        .iter()
        .map(|e| e["description"].as_str().expect("description").to_owned())
        .collect()
}
