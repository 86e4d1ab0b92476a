//! The authorization matrix: for every household-scoped route, a user of another
//! household and a user of none get 403 (or 404 where the contract says so), never data,
//! and nothing changes in the database.

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Flat, TestApp, flat};

#[tokio::test]
async fn outsiders_get_403_or_404_and_never_data() {
    let Flat {
        app,
        owner,
        household,
        ..
    } = flat().await;
    let (_, todo) = app
        .post(
            "/api/v1/todos",
            &owner,
            json!({"household_id": household, "title": "Secret chore"}),
        )
        .await;
    let todo = todo["id"].as_str().expect("todo id").to_owned();
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    let invite = invite["id"].as_str().expect("invite id").to_owned();
    let (_, detail) = app
        .get(&format!("/api/v1/households/{household}"), &owner)
        .await;
    let membership = detail["members"][1]["id"]
        .as_str()
        .expect("membership id")
        .to_owned();

    let other_owner = app.user("Otto").await;
    app.household(&other_owner, "Flat 2").await;
    let loner = app.user("Lou").await;

    let h = format!("/api/v1/households/{household}");
    let t = format!("/api/v1/todos/{todo}");
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, h.clone(), None),
        (Method::PUT, h.clone(), Some(json!({"name": "Taken"}))),
        (Method::DELETE, h.clone(), None),
        (Method::GET, format!("{h}/members"), None),
        (Method::GET, format!("{h}/invites"), None),
        (
            Method::POST,
            format!("{h}/invite"),
            Some(json!({"email": "x@example.com"})),
        ),
        (Method::POST, format!("{h}/invite/public"), Some(json!({}))),
        (Method::DELETE, format!("{h}/invites/{invite}"), None),
        (
            Method::PATCH,
            format!("{h}/members/{membership}"),
            Some(json!({"role": "owner"})),
        ),
        (Method::DELETE, format!("{h}/members/{membership}"), None),
        (Method::POST, format!("{h}/leave"), Some(json!({}))),
        (
            Method::POST,
            "/api/v1/todos".into(),
            Some(json!({"household_id": household, "title": "Intruder"})),
        ),
        (
            Method::GET,
            format!("/api/v1/todos?household_id={household}"),
            None,
        ),
        (Method::GET, t.clone(), None),
        (Method::PUT, t.clone(), Some(json!({"title": "Hijacked"}))),
        (
            Method::PATCH,
            format!("{t}/status"),
            Some(json!({"status": "completed"})),
        ),
        (Method::DELETE, t.clone(), None),
        (
            Method::GET,
            format!("/api/v1/todos/household/{household}/stats"),
            None,
        ),
    ];
    let before = snapshot(&app).await;
    for outsider in [&other_owner, &loner] {
        for (method, path, body) in &routes {
            let (status, answer) = app
                .call(method.clone(), path, Some(outsider), body.clone())
                .await;
            // Leaving a household one is not in is 404 by the contract; all else is 403.
            let expected = if path.ends_with("/leave") {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status, expected, "{method} {path}: {answer}");
            let text = answer.to_string();
            assert!(
                !text.contains("Secret chore") && !text.contains("Flat 1"),
                "{method} {path} leaked {text}"
            );
        }
    }
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn anonymous_callers_get_401_on_every_household_route() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::new_v4();
    for (method, path) in [
        (Method::GET, "/api/v1/households/mine".to_owned()),
        (Method::POST, "/api/v1/households".to_owned()),
        (Method::GET, format!("/api/v1/households/{id}")),
        (Method::POST, "/api/v1/households/join".to_owned()),
        (Method::GET, format!("/api/v1/todos?household_id={id}")),
        (Method::GET, format!("/api/v1/todos/{id}")),
        (Method::GET, format!("/api/v1/todos/household/{id}/stats")),
    ] {
        let (status, body) = app.call(method.clone(), &path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(body["error"], "unauthorized");
    }
}

/// Every row an outsider might have changed.
async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT name FROM households ORDER BY name",
        "SELECT role || '' FROM household_members ORDER BY 1",
        "SELECT status || '' FROM household_invites ORDER BY 1",
        "SELECT title || status FROM todos ORDER BY 1",
    ] {
        rows.extend(app.db.strings(sql).await);
    }
    rows
}
