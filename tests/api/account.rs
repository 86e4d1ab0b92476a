//! The account's rights: `DELETE /auth/me` (a household of one goes, a shared one keeps
//! what they made, its only owner's role passes on, their tokens stop at once on every
//! replica), `GET /auth/me/export` (everything held of them, as a file), and AI features
//! turned off. Races: two deletes at once, a delete beside a write, a last owner deleted
//! while the other member leaves.

use entities::{
    enums::{InviteStatus, MemberRole},
    household, household_invite, household_member, todo, user,
};
use flatmates::service::changes::deletions::entity as deletion;
use poem::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Flat, TestApp, TestUser, flat_with};

/// A short caller cache: an erasure waits it out before answering.
const QUICK_CACHE: [(&str, &str); 1] = [("CALLER_CACHE_SECONDS", "1")];

async fn quick_flat() -> Flat {
    flat_with(&QUICK_CACHE).await
}

async fn erase(app: &TestApp, user: &TestUser) -> (StatusCode, Value) {
    app.delete("/api/v1/auth/me", user).await
}

async fn todo(app: &TestApp, user: &TestUser, household: &str, body: Value) -> String {
    let mut body = body;
    body["household_id"] = json!(household);
    let (status, todo) = app.post("/api/v1/todos", user, body).await;
    assert_eq!(status, StatusCode::CREATED, "{todo}");
    todo["id"].as_str().expect("id").to_owned()
}

fn uuid(id: &str) -> Uuid {
    id.parse().expect("a UUID")
}

async fn user_row(app: &TestApp, user: &TestUser) -> user::Model {
    user::Entity::find_by_id(user.id)
        .one(app.state.db.connection())
        .await
        .expect("read")
        .expect("the user's row stays")
}

async fn household_exists(app: &TestApp, household: &str) -> bool {
    household::Entity::find_by_id(uuid(household))
        .one(app.state.db.connection())
        .await
        .expect("read")
        .is_some()
}

async fn memberships_of(app: &TestApp, user: &TestUser) -> Vec<household_member::Model> {
    household_member::Entity::find()
        .filter(household_member::Column::UserId.eq(user.id))
        .all(app.state.db.connection())
        .await
        .expect("read")
}

/// The owner invites Lou by email; the invite stays pending.
async fn invite_lou(f: &Flat) {
    let (status, invite) = f
        .app
        .post(
            &format!("/api/v1/households/{}/invite", f.household),
            &f.owner,
            json!({"email": "lou@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invite}");
}

#[tokio::test]
async fn deleting_the_only_member_deletes_the_household_and_erases_the_profile() {
    let app = TestApp::spawn_with(&QUICK_CACHE).await;
    let olive = app.user("Olive").await;
    let household = app.household(&olive, "Flat of one").await;
    let todo_id = todo(&app, &olive, &household, json!({"title": "Bins"})).await;

    let (status, body) = erase(&app, &olive).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let conn = app.state.db.connection();
    assert!(!household_exists(&app, &household).await);
    let todo = todo::Entity::find_by_id(uuid(&todo_id)).one(conn).await;
    assert_eq!(todo.expect("read"), None);
    let recorded = deletion::Entity::find()
        .filter(deletion::Column::RowId.eq(uuid(&todo_id)))
        .count(conn)
        .await
        .expect("read");
    assert_eq!(recorded, 1, "the phones are told");
    let erased = user_row(&app, &olive).await;
    assert_eq!(erased.full_name, "Deleted user");
    assert!(!erased.email.contains('@'), "{}", erased.email);
    assert_ne!(erased.google_id, format!("google-{}", olive.id));
    assert_eq!(erased.profile_picture_url, None);
    assert!(!erased.is_active);
}

#[tokio::test]
async fn a_shared_household_keeps_what_they_made_and_unassigns_what_was_theirs() {
    let f = quick_flat().await;
    let theirs = todo(&f.app, &f.member, &f.household, json!({"title": "Max's"})).await;
    let assigned = todo(
        &f.app,
        &f.owner,
        &f.household,
        json!({"title": "For Max", "assigned_to_id": f.member.id}),
    )
    .await;
    invite_lou(&f).await;

    let (status, _) = erase(&f.app, &f.member).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, kept) = f
        .app
        .get(&format!("/api/v1/todos/{theirs}"), &f.owner)
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["created_by"], json!(f.member.id));
    let (_, unassigned) = f
        .app
        .get(&format!("/api/v1/todos/{assigned}"), &f.owner)
        .await;
    assert_eq!(unassigned["assigned_to_id"], Value::Null);
    let (_, members) = f
        .app
        .get(
            &format!("/api/v1/households/{}/members", f.household),
            &f.owner,
        )
        .await;
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");
    let (_, invites) = f
        .app
        .get(
            &format!("/api/v1/households/{}/invites", f.household),
            &f.owner,
        )
        .await;
    assert_eq!(
        invites.as_array().map(Vec::len),
        Some(1),
        "the owner's invite stays"
    );
}

#[tokio::test]
async fn pending_invites_they_sent_are_revoked() {
    let f = quick_flat().await;
    invite_lou(&f).await;
    let (status, _) = erase(&f.app, &f.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let sent = household_invite::Entity::find()
        .filter(household_invite::Column::CreatedBy.eq(f.owner.id))
        .all(f.app.state.db.connection())
        .await
        .expect("read");
    assert!(sent.iter().all(|i| i.status != InviteStatus::Pending));
    let lou = sent
        .iter()
        .find(|i| i.email.as_deref() == Some("lou@example.com"));
    assert_eq!(lou.map(|i| i.status), Some(InviteStatus::Expired));
}

#[tokio::test]
async fn the_only_owner_deleted_hands_the_household_to_the_member_who_joined_first() {
    let f = quick_flat().await;
    let lou = f.app.user("Lou").await;
    f.app.join(&f.owner, &f.household, &lou).await;

    let (status, _) = erase(&f.app, &f.owner).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    assert_eq!(
        memberships_of(&f.app, &f.member).await[0].role,
        MemberRole::Owner
    );
    assert_eq!(
        memberships_of(&f.app, &lou).await[0].role,
        MemberRole::Member
    );
}

#[tokio::test]
async fn every_token_stops_at_once_on_every_replica_and_a_second_delete_is_401() {
    let f = quick_flat().await;
    let other = f.app.replica(&QUICK_CACHE).await;
    let me_on_other = || {
        other
            .get("/api/v1/auth/me")
            .header("Authorization", format!("Bearer {}", f.member.token))
            .send()
    };
    me_on_other().await.assert_status_is_ok();

    let (status, _) = erase(&f.app, &f.member).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    me_on_other().await.assert_status(StatusCode::UNAUTHORIZED);
    let (status, body) = f.app.get("/api/v1/auth/me", &f.member).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = erase(&f.app, &f.member).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn deleting_without_a_token_is_401_and_erases_nobody() {
    let f = quick_flat().await;
    let (status, body) = f
        .app
        .call(poem::http::Method::DELETE, "/api/v1/auth/me", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let erased = "SELECT CAST(COUNT(*) AS TEXT) FROM users WHERE full_name = 'Deleted user'";
    assert_eq!(f.app.count(erased).await, 0);
}

#[tokio::test]
async fn two_deletes_at_once_erase_once_and_the_other_is_401() {
    let f = quick_flat().await;
    let (first, second) = tokio::join!(erase(&f.app, &f.owner), erase(&f.app, &f.owner));
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert!(
        statuses == [StatusCode::NO_CONTENT, StatusCode::NO_CONTENT]
            || statuses == [StatusCode::NO_CONTENT, StatusCode::UNAUTHORIZED],
        "{statuses:?}"
    );
    assert_whole_erasure(&f.app, &f.owner).await;
    let max = memberships_of(&f.app, &f.member).await;
    assert_eq!(max[0].role, MemberRole::Owner, "Max owns the flat");
}

/// Their account is erased in full: no membership, no profile left.
async fn assert_whole_erasure(app: &TestApp, user: &TestUser) {
    assert!(memberships_of(app, user).await.is_empty());
    let row = user_row(app, user).await;
    assert_eq!(row.full_name, "Deleted user");
    assert!(!row.is_active);
}

#[tokio::test]
async fn a_write_beside_the_delete_lands_before_it_or_is_refused_after_it() {
    let f = quick_flat().await;
    let body = json!({"household_id": f.household, "title": "Racing"});
    let ((created, todo), (erased, _)) = tokio::join!(
        f.app.post("/api/v1/todos", &f.member, body),
        erase(&f.app, &f.member)
    );
    assert_eq!(erased, StatusCode::NO_CONTENT);
    let racing = "SELECT CAST(COUNT(*) AS TEXT) FROM todos WHERE title = 'Racing'";
    match created {
        StatusCode::CREATED => assert_eq!(f.app.count(racing).await, 1, "{todo}"),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            assert_eq!(f.app.count(racing).await, 0, "{todo}")
        }
        other => panic!("{other}: {todo}"),
    }
    assert_whole_erasure(&f.app, &f.member).await;
}

#[tokio::test]
async fn a_sync_beside_the_delete_lands_whole_before_it_or_not_at_all() {
    let f = quick_flat().await;
    let created: Vec<Value> = (0..20)
        .map(|n| json!({"id": Uuid::new_v4(), "title": format!("Synced {n}")}))
        .collect();
    let body = json!({"last_sync_timestamp": 0, "household_id": f.household,
                      "changes": {"todos": {"created": created}}});
    let ((synced, answer), (erased, _)) = tokio::join!(
        f.app.post("/api/v1/sync", &f.member, body),
        erase(&f.app, &f.member)
    );
    assert_eq!(erased, StatusCode::NO_CONTENT);
    let landed = todo::Entity::find()
        .filter(todo::Column::Title.starts_with("Synced "))
        .count(f.app.state.db.connection())
        .await
        .expect("read");
    // Refused after the erasure, a sync may still have applied its changes before it
    // (its answer's feed is read after): all of them or none, never some.
    match synced {
        StatusCode::OK => assert_eq!(landed, 20, "{answer}"),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            assert!(landed == 0 || landed == 20, "{landed}: {answer}")
        }
        other => panic!("{other}: {answer}"),
    }
    assert_whole_erasure(&f.app, &f.member).await;
}

#[tokio::test]
async fn the_last_owner_deleted_while_the_other_member_leaves_leaves_no_ownerless_household() {
    let f = quick_flat().await;
    let leave = format!("/api/v1/households/{}/leave", f.household);
    let ((left, body), (erased, _)) = tokio::join!(
        f.app.post(&leave, &f.member, json!({})),
        erase(&f.app, &f.owner)
    );
    assert_eq!(erased, StatusCode::NO_CONTENT);
    // Leaving first, Max leaves Olive alone and her erasure deletes the flat; erased
    // first, Olive hands Max the flat and he, its last member, deletes it by leaving.
    assert!(
        matches!(left, StatusCode::OK | StatusCode::NO_CONTENT),
        "{left}: {body}"
    );
    assert_whole_erasure(&f.app, &f.owner).await;
    let ownerless = "SELECT CAST(COUNT(*) AS TEXT) FROM households h WHERE EXISTS \
         (SELECT 1 FROM household_members m WHERE m.household_id = h.id) AND NOT EXISTS \
         (SELECT 1 FROM household_members m WHERE m.household_id = h.id AND CAST(m.role AS TEXT) = 'owner')";
    assert_eq!(f.app.count(ownerless).await, 0);
    assert!(!household_exists(&f.app, &f.household).await);
}

#[tokio::test]
async fn export_is_a_file_of_everything_they_made_or_are_named_in_and_nothing_else() {
    let f = quick_flat().await;
    let mine = todo(&f.app, &f.member, &f.household, json!({"title": "Mine"})).await;
    let assigned = todo(
        &f.app,
        &f.owner,
        &f.household,
        json!({"title": "Assigned to me", "assigned_to_id": f.member.id}),
    )
    .await;
    todo(&f.app, &f.owner, &f.household, json!({"title": "Not mine"})).await;
    let (status, expense) = f
        .app
        .post(
            "/api/v1/expenses",
            &f.owner,
            json!({"household_id": f.household, "amount": "30.00", "description": "Gas"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{expense}");

    let response = f
        .app
        .client
        .get("/api/v1/auth/me/export")
        .header("Authorization", format!("Bearer {}", f.member.token))
        .send()
        .await;
    response.assert_status_is_ok();
    response.assert_content_type("application/json; charset=utf-8");
    let disposition = response
        .0
        .headers()
        .get("content-disposition")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename="),
        "{disposition}"
    );
    let export: Value = response.0.into_body().into_json().await.expect("JSON");

    assert_eq!(export["profile"]["id"], json!(f.member.id));
    assert_eq!(export["profile"]["ai_features"], true);
    assert_eq!(export["memberships"][0]["household_id"], json!(f.household));
    assert_eq!(export["memberships"][0]["role"], "member");
    let mut todos: Vec<&str> = export["todos"]
        .as_array()
        .expect("todos")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    todos.sort();
    let mut expected = vec![mine.as_str(), assigned.as_str()];
    expected.sort();
    assert_eq!(todos, expected);
    assert_eq!(export["expenses"], json!([]), "Olive recorded it");
    assert_eq!(
        export["splits"].as_array().map(Vec::len),
        Some(1),
        "{export}"
    );
    assert_eq!(export["splits"][0]["amount_owed"], "15.00");
    assert_eq!(export["splits"][0]["user_id"], json!(f.member.id));
    assert_eq!(export["invites"], json!([]));
}

#[tokio::test]
async fn export_without_a_token_is_401() {
    let f = quick_flat().await;
    let (status, body) = f
        .app
        .call(
            poem::http::Method::GET,
            "/api/v1/auth/me/export",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn ai_features_are_on_by_default_and_turned_off_and_on_by_patch() {
    let f = quick_flat().await;
    let (_, me) = f.app.get("/api/v1/auth/me", &f.member).await;
    assert_eq!(me["ai_features"], true);
    let (status, me) = f
        .app
        .patch("/api/v1/auth/me", &f.member, json!({"ai_features": false}))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["ai_features"], false);
    assert_eq!(me["full_name"], "Max", "the rest is left alone");
    let (_, me) = f.app.get("/api/v1/auth/me", &f.member).await;
    assert_eq!(me["ai_features"], false);
    let (_, owner) = f.app.get("/api/v1/auth/me", &f.owner).await;
    assert_eq!(owner["ai_features"], true, "it is Max's choice alone");
    let (_, me) = f
        .app
        .patch("/api/v1/auth/me", &f.member, json!({"ai_features": true}))
        .await;
    assert_eq!(me["ai_features"], true);
}

#[tokio::test]
async fn ai_features_that_are_not_a_boolean_are_422_and_change_nothing() {
    let f = quick_flat().await;
    for bad in [json!("no"), json!(0), json!({}), json!([false])] {
        let (status, body) = f
            .app
            .patch("/api/v1/auth/me", &f.member, json!({"ai_features": bad}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (_, me) = f.app.get("/api/v1/auth/me", &f.member).await;
    assert_eq!(me["ai_features"], true);
}
