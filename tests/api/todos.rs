//! Todos: every route's success and error cases, the list's filters and order, the
//! `completed_at` rules, enum and datetime formats.

use entities::todo;
use poem::http::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::harness::{Flat, flat};

impl Flat {
    /// A todo the owner creates in the household through REST.
    pub(crate) async fn todo(&self, body: Value) -> Value {
        let mut body = body;
        body["household_id"] = json!(self.household);
        let (status, todo) = self.app.post("/api/v1/todos", &self.owner, body).await;
        assert_eq!(status, StatusCode::CREATED, "{todo}");
        todo
    }

    /// The household's todos as the member lists them with `query`.
    async fn list(&self, query: &str) -> Vec<Value> {
        let (status, body) = self
            .app
            .get(
                &format!("/api/v1/todos?household_id={}{query}", self.household),
                &self.member,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body.as_array().expect("array").clone()
    }

    async fn titles(&self, query: &str) -> Vec<String> {
        self.list(query)
            .await
            .iter()
            .map(|t| t["title"].as_str().expect("title").to_owned())
            .collect()
    }
}

#[tokio::test]
async fn create_answers_201_with_defaults() {
    let f = flat().await;
    let todo = f
        .todo(json!({"title": "Bins", "description": "Wednesday"}))
        .await;
    assert_eq!(todo["title"], "Bins");
    assert_eq!(todo["description"], "Wednesday");
    assert_eq!(todo["status"], "pending");
    assert_eq!(todo["priority"], "medium");
    assert_eq!(todo["created_by"], f.owner.id.to_string());
    assert_eq!(todo["household_id"], f.household.as_str());
    assert_eq!(todo["completed_at"], Value::Null);
    assert!(
        todo["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let stored = f
        .app
        .db
        .strings("SELECT title || ' ' || status || ' ' || priority FROM todos")
        .await;
    assert_eq!(stored, ["Bins pending medium"]);
}

#[tokio::test]
async fn create_accepts_upper_case_enums_any_offset_and_a_date_alone() {
    let f = flat().await;
    let todo = f
        .todo(json!({"title": "Rent", "priority": "HIGH", "due_date": "2030-01-02T12:00:00+02:00"}))
        .await;
    assert_eq!(todo["priority"], "high");
    assert_eq!(todo["due_date"], "2030-01-02T10:00:00.000000Z");
    let naive = f
        .todo(json!({"title": "Gas", "due_date": "2030-01-02T10:00:00"}))
        .await;
    assert_eq!(naive["due_date"], "2030-01-02T10:00:00.000000Z");
    // A date alone, as the Android app holds due dates: its midnight UTC.
    let dated = f
        .todo(json!({"title": "Bins", "due_date": "2030-01-02"}))
        .await;
    assert_eq!(dated["due_date"], "2030-01-02T00:00:00.000000Z");
    assert_eq!(
        f.app
            .db
            .strings("SELECT priority || '' FROM todos WHERE title = 'Rent'")
            .await,
        ["high"]
    );
}

#[tokio::test]
async fn create_and_update_accept_epoch_seconds_and_milliseconds_as_the_old_backend_did() {
    let f = flat().await;
    let seconds = f
        .todo(json!({"title": "Rent", "due_date": 1_893_585_600}))
        .await;
    assert_eq!(seconds["due_date"], "2030-01-02T12:00:00.000000Z");
    let fraction = f
        .todo(json!({"title": "Gas", "due_date": 1_893_585_600.25}))
        .await;
    assert_eq!(fraction["due_date"], "2030-01-02T12:00:00.250000Z");
    // Above 2e10 a number is milliseconds, as Pydantic read it.
    let millis = f
        .todo(json!({"title": "Bins", "due_date": 1_893_585_600_123_i64}))
        .await;
    assert_eq!(millis["due_date"], "2030-01-02T12:00:00.123000Z");
    let (status, updated) = f
        .app
        .put(
            &format!("/api/v1/todos/{}", millis["id"].as_str().expect("id")),
            &f.owner,
            json!({"due_date": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["due_date"], "1970-01-01T00:00:00.000000Z");
    for out_of_range in [
        json!(253_402_300_800_000_i64),
        json!(-62_135_596_800_001_i64),
        json!(1e300),
    ] {
        let (status, body) = f
            .app
            .post(
                "/api/v1/todos",
                &f.owner,
                json!({"household_id": f.household, "title": "T", "due_date": out_of_range}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out_of_range}");
        assert_eq!(body["error"], "validation_error");
    }
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 3);
}

#[tokio::test]
async fn create_with_invalid_data_is_422_validation_error() {
    let f = flat().await;
    let (status, body) = f
        .app
        .post("/api/v1/todos/", &f.owner, json!({"invalid": "data"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "validation_error");
    assert!(body["details"].as_array().is_some_and(|d| !d.is_empty()));
    for bad in [
        json!({"household_id": f.household, "title": ""}),
        json!({"household_id": f.household, "title": "x".repeat(201)}),
        json!({"household_id": f.household, "title": "T", "description": "x".repeat(2001)}),
        json!({"household_id": f.household, "title": "T", "priority": "urgent"}),
        json!({"household_id": f.household, "title": "T", "due_date": "tomorrow"}),
        json!({"household_id": "not-a-uuid", "title": "T"}),
        json!({"household_id": f.household, "title": "T", "recurring_pattern": "x".repeat(51)}),
    ] {
        let (status, body) = f.app.post("/api/v1/todos", &f.owner, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(body["error"], "validation_error");
    }
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
}

#[tokio::test]
async fn create_for_a_non_member_assignee_is_400() {
    let f = flat().await;
    let stranger = f.app.user("Sam").await;
    let (status, body) = f
        .app
        .post(
            "/api/v1/todos",
            &f.owner,
            json!({"household_id": f.household, "title": "T", "assigned_to_id": stranger.id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "Assigned user is not a member of this household"
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
}

#[tokio::test]
async fn list_is_ordered_by_status_priority_due_date_and_recency() {
    let f = flat().await;
    f.todo(json!({"title": "low-undated", "priority": "low"}))
        .await;
    f.todo(json!({"title": "high-late", "priority": "high", "due_date": "2030-02-01T00:00:00Z"}))
        .await;
    f.todo(json!({"title": "high-early", "priority": "high", "due_date": "2030-01-01T00:00:00Z"}))
        .await;
    f.todo(json!({"title": "high-undated", "priority": "high"}))
        .await;
    let done = f
        .todo(json!({"title": "done-high", "priority": "high"}))
        .await;
    let doing = f
        .todo(json!({"title": "doing-low", "priority": "low"}))
        .await;
    for (todo, status) in [(&done, "completed"), (&doing, "in_progress")] {
        let path = format!("/api/v1/todos/{}/status", todo["id"].as_str().expect("id"));
        assert_eq!(
            f.app
                .patch(&path, &f.owner, json!({"status": status}))
                .await
                .0,
            StatusCode::OK
        );
    }
    assert_eq!(
        f.titles("").await,
        [
            "high-early",
            "high-late",
            "high-undated",
            "low-undated",
            "doing-low",
            "done-high"
        ]
    );
    assert_eq!(f.titles("&include_completed=false").await.len(), 5);
    assert_eq!(
        f.titles("&status=completed&include_completed=false").await,
        ["done-high"]
    );
    assert_eq!(f.titles("&status=IN_PROGRESS").await, ["doing-low"]);
}

#[tokio::test]
async fn list_answers_every_field_as_the_todo_answers_alone() {
    let f = flat().await;
    let bare = f.todo(json!({"title": "Bare"})).await;
    let parent = f.todo(json!({"title": "Parent"})).await;
    let full = f
        .todo(json!({
            "title": "Full", "description": "Every field", "priority": "high",
            "due_date": "2031-01-02T03:04:05Z", "assigned_to_id": f.member.id,
            "recurring_pattern": "weekly", "recurring_until": "2032-06-07T08:09:10Z",
        }))
        .await;
    // No route of ours sets a parent; rows the old backend wrote may have one.
    let id = |todo: &Value| {
        todo["id"]
            .as_str()
            .expect("id")
            .parse::<uuid::Uuid>()
            .expect("uuid")
    };
    let full_id = id(&full);
    todo::Entity::update_many()
        .col_expr(todo::Column::ParentTodoId, Expr::value(id(&parent)))
        .filter(todo::Column::Id.eq(full_id))
        .exec(f.app.state.db.connection())
        .await
        .expect("set the parent");
    let (status, full) = f
        .app
        .put(
            &format!("/api/v1/todos/{full_id}"),
            &f.owner,
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert!(
        full["parent_todo_id"].is_string() && full["completed_at"].is_string(),
        "{full}"
    );

    let list = f.list("").await;
    let listed = |id: &Value| {
        list.iter()
            .find(|t| t["id"] == *id)
            .cloned()
            .expect("listed")
    };
    assert_eq!(listed(&full["id"]), full, "a todo with every column set");
    assert_eq!(
        listed(&bare["id"]),
        bare,
        "a todo with every nullable column null"
    );
}

#[tokio::test]
async fn list_without_todos_is_empty_for_members_and_403_for_outsiders() {
    let f = flat().await;
    assert!(f.titles("").await.is_empty());
    let outsider = f.app.user("Outsider").await;
    let (status, body) = f
        .app
        .get(
            &format!("/api/v1/todos?household_id={}", f.household),
            &outsider,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["message"], "You are not a member of this household");
}

#[tokio::test]
async fn list_assigned_to_me_includes_unassigned() {
    let f = flat().await;
    f.todo(json!({"title": "mine", "assigned_to_id": f.member.id}))
        .await;
    f.todo(json!({"title": "theirs", "assigned_to_id": f.owner.id}))
        .await;
    f.todo(json!({"title": "anyone"})).await;
    let mut titles = f.titles("&assigned_to_me=true").await;
    titles.sort();
    assert_eq!(titles, ["anyone", "mine"]);
}

#[tokio::test]
async fn list_with_a_bad_query_is_422() {
    let f = flat().await;
    for query in [
        "",
        "?household_id=nope",
        &format!("?household_id={}&status=done", f.household),
    ] {
        let (status, body) = f.app.get(&format!("/api/v1/todos{query}"), &f.member).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["error"], "validation_error");
    }
}

#[tokio::test]
async fn detail_names_creator_and_assignee() {
    let f = flat().await;
    let todo = f
        .todo(json!({"title": "Bins", "assigned_to_id": f.member.id}))
        .await;
    let (status, body) = f
        .app
        .get(
            &format!("/api/v1/todos/{}", todo["id"].as_str().expect("id")),
            &f.member,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["title"], "Bins");
    assert_eq!(body["created_by_name"], "Olive");
    assert_eq!(body["created_by_email"], f.owner.email.as_str());
    assert_eq!(body["assigned_to_name"], "Max");
    assert_eq!(body["assigned_to_email"], f.member.email.as_str());
    let unassigned = f.todo(json!({"title": "Free"})).await;
    let (_, body) = f
        .app
        .get(
            &format!("/api/v1/todos/{}", unassigned["id"].as_str().expect("id")),
            &f.member,
        )
        .await;
    assert_eq!(body["assigned_to_name"], Value::Null);
}

#[tokio::test]
async fn unknown_todo_is_404_on_every_route() {
    let f = flat().await;
    let path = format!("/api/v1/todos/{}", uuid::Uuid::new_v4());
    for (method, path, body) in [
        (Method::GET, path.clone(), None),
        (Method::PUT, path.clone(), Some(json!({"title": "x"}))),
        (Method::DELETE, path.clone(), None),
        (
            Method::PATCH,
            format!("{path}/status"),
            Some(json!({"status": "pending"})),
        ),
    ] {
        let (status, body) = f
            .app
            .call(method.clone(), &path, Some(&f.owner), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(body["detail"], "Todo not found");
    }
}

#[tokio::test]
async fn put_updates_fields_and_null_unassigns() {
    let f = flat().await;
    let todo = f
        .todo(json!({"title": "Bins", "description": "old", "assigned_to_id": f.member.id}))
        .await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().expect("id"));
    let (status, body) = f
        .app
        .put(&path, &f.member, json!({"title": "Bins out", "priority": "low", "assigned_to_id": null, "household_id": uuid::Uuid::new_v4()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["title"], "Bins out");
    assert_eq!(body["priority"], "low");
    assert_eq!(body["assigned_to_id"], Value::Null);
    assert_eq!(body["description"], "old");
    assert_eq!(body["household_id"], f.household.as_str());
    let (status, body) = f
        .app
        .put(&path, &f.member, json!({"description": null}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["description"], Value::Null);
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos WHERE assigned_to_id IS NULL AND description IS NULL").await, 1);
}

#[tokio::test]
async fn put_with_a_non_member_assignee_is_400() {
    let f = flat().await;
    let todo = f.todo(json!({"title": "Bins"})).await;
    let stranger = f.app.user("Sam").await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().expect("id"));
    let (status, _) = f
        .app
        .put(&path, &f.owner, json!({"assigned_to_id": stranger.id}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = f.app.put(&path, &f.owner, json!({"title": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn completed_at_follows_status_and_survives_a_put_without_status() {
    let f = flat().await;
    let todo = f.todo(json!({"title": "Bins"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().expect("id"));
    let (_, done) = f
        .app
        .put(&path, &f.owner, json!({"status": "completed"}))
        .await;
    assert_eq!(done["status"], "completed");
    let completed_at = done["completed_at"]
        .as_str()
        .expect("completed_at set")
        .to_owned();
    let (_, renamed) = f
        .app
        .put(&path, &f.owner, json!({"title": "Bins (done)"}))
        .await;
    assert_eq!(
        renamed["completed_at"],
        completed_at.as_str(),
        "a PUT without status keeps it"
    );
    let (_, again) = f
        .app
        .patch(
            &format!("{path}/status"),
            &f.owner,
            json!({"status": "completed"}),
        )
        .await;
    assert_eq!(
        again["completed_at"],
        completed_at.as_str(),
        "completing again keeps the first time"
    );
    let (_, reopened) = f
        .app
        .patch(
            &format!("{path}/status"),
            &f.owner,
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(reopened["completed_at"], Value::Null);
    let (status, _) = f
        .app
        .patch(
            &format!("{path}/status"),
            &f.owner,
            json!({"status": "finished"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn delete_removes_the_row() {
    let f = flat().await;
    let todo = f.todo(json!({"title": "Bins"})).await;
    let path = format!("/api/v1/todos/{}", todo["id"].as_str().expect("id"));
    assert_eq!(
        f.app.delete(&path, &f.member).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(f.app.count("SELECT COUNT(*) || '' FROM todos").await, 0);
    assert_eq!(
        f.app.delete(&path, &f.member).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn stats_count_statuses_and_overdue() {
    let f = flat().await;
    f.todo(json!({"title": "late", "due_date": "2020-01-01T00:00:00Z"}))
        .await;
    f.todo(json!({"title": "future", "due_date": "2099-01-01T00:00:00Z"}))
        .await;
    let late_done = f
        .todo(json!({"title": "late-done", "due_date": "2020-01-01T00:00:00Z"}))
        .await;
    let doing = f
        .todo(json!({"title": "doing", "due_date": "2021-01-01T00:00:00Z"}))
        .await;
    f.app
        .patch(
            &format!(
                "/api/v1/todos/{}/status",
                late_done["id"].as_str().expect("id")
            ),
            &f.owner,
            json!({"status": "completed"}),
        )
        .await;
    f.app
        .patch(
            &format!("/api/v1/todos/{}/status", doing["id"].as_str().expect("id")),
            &f.owner,
            json!({"status": "in_progress"}),
        )
        .await;
    let (status, stats) = f
        .app
        .get(
            &format!("/api/v1/todos/household/{}/stats", f.household),
            &f.member,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stats,
        json!({"pending": 2, "in_progress": 1, "completed": 1, "overdue": 2, "total": 4})
    );
}

#[tokio::test]
async fn custom_request_id_comes_back_on_a_todo_route() {
    let f = flat().await;
    let response = f
        .app
        .client
        .get(format!("/api/v1/todos?household_id={}", f.household))
        .header("Authorization", format!("Bearer {}", f.member.token))
        .header("X-Request-ID", "android-req-7")
        .send()
        .await;
    response.assert_status_is_ok();
    response.assert_header("x-request-id", "android-req-7");
}
