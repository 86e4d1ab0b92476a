//! Every operation of the document, called the way the Android app calls it (no trailing
//! slash), reaches its handler directly: never the router's 404 or 405, never a redirect.
//! The collection routes answer with a trailing slash too.

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Flat, TestApp, flat};

#[tokio::test]
async fn every_documented_call_without_a_trailing_slash_reaches_its_handler() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let (_, todo) = app
        .post(
            "/api/v1/todos",
            &owner,
            json!({"household_id": household, "title": "Bins"}),
        )
        .await;
    let (_, list) = app
        .post(
            "/api/v1/shopping-lists",
            &owner,
            json!({"household_id": household, "name": "Weekly"}),
        )
        .await;
    let list_id = list["id"].as_str().expect("list").to_owned();
    let (_, item) = app
        .post(
            &format!("/api/v1/shopping-lists/{list_id}/items"),
            &owner,
            json!({"name": "Milk"}),
        )
        .await;
    let (_, expense) = app
        .post(
            "/api/v1/expenses",
            &owner,
            json!({"household_id": household, "amount": 9, "description": "Gas"}),
        )
        .await;
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    let (_, detail) = app
        .get(&format!("/api/v1/households/{household}"), &owner)
        .await;
    let ids = [
        ("{household_id}", household.clone()),
        ("{todo_id}", todo["id"].as_str().expect("todo").to_owned()),
        ("{list_id}", list_id.clone()),
        ("{item_id}", item["id"].as_str().expect("item").to_owned()),
        (
            "{expense_id}",
            expense["id"].as_str().expect("expense").to_owned(),
        ),
        (
            "{invite_id}",
            invite["id"].as_str().expect("invite").to_owned(),
        ),
        (
            "{member_id}",
            detail["members"][1]["id"]
                .as_str()
                .expect("member")
                .to_owned(),
        ),
        ("{user_id}", owner.id.to_string()),
    ];
    let document: Value =
        serde_json::from_str(&flatmates::api::service().spec()).expect("document");
    let mut calls = 0;
    for (template, operations) in document["paths"].as_object().expect("paths") {
        let mut path = template.clone();
        for (name, id) in &ids {
            path = path.replace(name, id);
        }
        assert!(!path.contains('{'), "no id for {template}");
        for method in operations.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            // Destructive calls run last so the ids above stay valid for the others.
            if method == Method::DELETE || path.ends_with("/leave") {
                continue;
            }
            let (status, body) = app
                .call(method.clone(), &path, Some(&member), Some(json!({})))
                .await;
            assert!(!status.is_redirection(), "{method} {path} redirected");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(status == StatusCode::NOT_FOUND && body["detail"] == "Not Found"),
                "{method} {path} did not reach a handler"
            );
            calls += 1;
        }
    }
    assert!(calls >= 30, "only {calls} calls checked");
    let deletes = [
        format!("/api/v1/shopping-items/{}", ids[3].1),
        format!("/api/v1/todos/{}", ids[1].1),
        format!("/api/v1/expenses/{}", ids[4].1),
        format!("/api/v1/shopping-lists/{list_id}"),
        format!("/api/v1/households/{household}"),
    ];
    for path in deletes {
        let (status, body) = app.delete(&path, &owner).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "DELETE {path}: {body}");
    }
}

#[tokio::test]
async fn collection_routes_answer_with_and_without_a_trailing_slash() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    for path in [
        "/api/v1/todos",
        "/api/v1/shopping-lists",
        "/api/v1/expenses",
    ] {
        for form in [path.to_owned(), format!("{path}/")] {
            let (status, body) = app
                .get(&format!("{form}?household_id={household}"), &owner)
                .await;
            assert_eq!(status, StatusCode::OK, "{form}: {body}");
        }
    }
}
