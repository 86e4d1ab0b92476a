//! Rules that two requests at once must not break: a user ends in at most one household,
//! a household always keeps an owner, a household's category names and pending email
//! invites are unique, and of offline edits of one row since one sync, one wins. Each is
//! raced by 10 or more requests sent together. And syncs at once leave a connection for
//! everyone else.

use entities::{enums::MemberRole, household_member};
use futures_util::future::join_all;
use poem::http::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::harness::{TestApp, TestUser};

/// A public invite token to a household of its own, made by a new owner.
async fn invite_to_a_new_household(app: &TestApp, n: usize) -> String {
    let owner = app.user(&format!("Owner{n}")).await;
    let household = app.household(&owner, &format!("Flat {n}")).await;
    let (status, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invite}");
    invite["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn a_user_creating_and_joining_at_once_ends_in_one_household() {
    let app = TestApp::spawn().await;
    let user = app.user("Racer").await;
    let mut tokens = Vec::new();
    for n in 0..10 {
        tokens.push(invite_to_a_new_household(&app, n).await);
    }
    let creates = (0..10).map(|n| {
        app.post(
            "/api/v1/households",
            &user,
            json!({"name": format!("Mine {n}")}),
        )
    });
    let joins = tokens
        .iter()
        .map(|token| app.post("/api/v1/households/join", &user, json!({"token": token})));
    let (created, joined) = futures_util::join!(join_all(creates), join_all(joins));
    let succeeded = |answers: &[(StatusCode, Value)]| {
        answers
            .iter()
            .filter(|(status, _)| status.is_success())
            .count()
    };
    let (creates_done, joins_done) = (succeeded(&created), succeeded(&joined));
    assert_eq!(creates_done + joins_done, 1, "{created:?} {joined:?}");
    for (status, body) in created.iter().chain(&joined) {
        if !status.is_success() {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(
                body["detail"],
                "You are already in a household. Please leave your current household first."
            );
        }
    }
    let memberships = household_member::Entity::find()
        .filter(household_member::Column::UserId.eq(user.id))
        .count(app.state.db.connection())
        .await
        .expect("count");
    assert_eq!(memberships, 1);
    let households = app
        .count("SELECT COUNT(*) || '' FROM households WHERE name LIKE 'Mine %'")
        .await;
    assert_eq!(households, i64::try_from(creates_done).expect("a count"));
}

/// A household of two owners: its id, and each owner with the other's membership id.
async fn household_of_two_owners(app: &TestApp, n: usize) -> (String, [(TestUser, String); 2]) {
    let first = app.user(&format!("First{n}")).await;
    let second = app.user(&format!("Second{n}")).await;
    let household = app.household(&first, &format!("Flat {n}")).await;
    app.join(&first, &household, &second).await;
    let (_, detail) = app
        .get(&format!("/api/v1/households/{household}"), &first)
        .await;
    let membership_of = |user: &TestUser| {
        detail["members"]
            .as_array()
            .expect("members")
            .iter()
            .find(|member| member["user_id"] == user.id.to_string())
            .and_then(|member| member["id"].as_str())
            .expect("a membership")
            .to_owned()
    };
    let (first_id, second_id) = (membership_of(&first), membership_of(&second));
    let (status, body) = app
        .patch(
            &format!("/api/v1/households/{household}/members/{second_id}"),
            &first,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (household, [(first, second_id), (second, first_id)])
}

#[tokio::test]
async fn two_owners_demoting_and_removing_each_other_at_once_leave_one() {
    const HOUSEHOLDS: usize = 12;
    let app = TestApp::spawn().await;
    let mut households = Vec::new();
    for n in 0..HOUSEHOLDS {
        households.push(household_of_two_owners(&app, n).await);
    }
    // In each household, each owner demotes the other, or one demotes and one removes.
    let app = &app;
    let attempts = households
        .iter()
        .enumerate()
        .flat_map(|(n, (household, owners))| {
            owners.iter().enumerate().map(move |(k, (owner, other))| {
                let target = format!("/api/v1/households/{household}/members/{other}");
                let (method, body) = if n % 2 == 1 && k == 1 {
                    (Method::DELETE, None)
                } else {
                    (Method::PATCH, Some(json!({"role": "member"})))
                };
                async move { app.call(method, &target, Some(owner), body).await }
            })
        });
    let answers = join_all(attempts).await;
    assert_eq!(answers.len(), 2 * HOUSEHOLDS);

    for (status, body) in &answers {
        assert!(
            [
                StatusCode::OK,
                StatusCode::NO_CONTENT,
                StatusCode::BAD_REQUEST,
                StatusCode::FORBIDDEN
            ]
            .contains(status),
            "{status}: {body}"
        );
    }
    for (household, _) in &households {
        let owners_left = household_member::Entity::find()
            .filter(
                household_member::Column::HouseholdId
                    .eq(uuid::Uuid::parse_str(household).expect("id")),
            )
            .filter(household_member::Column::Role.eq(MemberRole::Owner))
            .count(app.state.db.connection())
            .await
            .expect("count");
        assert_eq!(owners_left, 1, "household {household}: {answers:?}");
    }
}

#[tokio::test]
async fn twenty_flatmates_naming_the_same_category_at_once_make_one() {
    let f = crate::harness::flat().await;
    let creates = (0..20).map(|n| {
        let who = if n % 2 == 0 { &f.owner } else { &f.member };
        f.app.post(
            "/api/v1/shopping-lists/categories",
            who,
            json!({"name": "Dairy", "household_id": f.household}),
        )
    });
    let answers = join_all(creates).await;
    let created = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["detail"], "Category with this name already exists");
    }
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM item_categories WHERE name = 'Dairy'")
            .await,
        1
    );
}

#[tokio::test]
async fn ten_categories_of_one_name_without_a_household_at_once_make_one() {
    let f = crate::harness::flat().await;
    let creates = (0..10).map(|_| {
        f.app.post(
            "/api/v1/shopping-lists/categories",
            &f.owner,
            json!({"name": "Dairy"}),
        )
    });
    let answers = join_all(creates).await;
    let created = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM item_categories WHERE name = 'Dairy'")
            .await,
        1
    );
}

#[tokio::test]
async fn twenty_invites_to_one_email_at_once_leave_one_pending() {
    let f = crate::harness::flat().await;
    let path = format!("/api/v1/households/{}/invite", f.household);
    let invites = (0..20).map(|_| {
        f.app
            .post(&path, &f.owner, json!({"email": "newcomer@example.com"}))
    });
    let answers = join_all(invites).await;
    let made = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    assert_eq!(made, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            body["detail"],
            "An active invite already exists for this email"
        );
    }
    assert_eq!(
        f.app
            .count(
                "SELECT COUNT(*) || '' FROM household_invites WHERE email = 'newcomer@example.com'"
            )
            .await,
        1
    );
}

#[tokio::test]
async fn ten_phones_syncing_an_edit_of_one_chore_at_once_apply_one_and_report_nine_conflicts() {
    let f = crate::harness::flat().await;
    let todo = uuid::Uuid::new_v4();
    let first = f
        .sync(
            &f.owner,
            0,
            json!({"todos": {"created": [{"id": todo, "title": "Bins"}]}}),
        )
        .await;
    let since = first["server_timestamp"].as_i64().expect("timestamp");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let syncs = (0..10).map(|n| {
        let user = if n % 2 == 0 { &f.owner } else { &f.member };
        f.sync(
            user,
            since,
            json!({"todos": {"updated": [{"id": todo, "title": format!("Edit {n}")}]}}),
        )
    });
    let answers = join_all(syncs).await;

    let applied: Vec<&Value> = answers
        .iter()
        .filter(|a| a["not_applied"] == json!([]))
        .collect();
    assert_eq!(applied.len(), 1, "{answers:?}");
    let lost: Vec<&Value> = answers
        .iter()
        .filter_map(|a| a["conflicts"].as_array())
        .flatten()
        .collect();
    assert_eq!(lost.len(), 9);
    assert!(lost.iter().all(|c| c["conflict_type"] == "UPDATE_UPDATE"));
    let kept = crate::sync::find(&applied[0]["todos"], &todo.to_string())
        .map(|t| t["title"].clone())
        .expect("the applied edit comes back");
    assert_eq!(
        f.app.db.strings("SELECT title FROM todos").await,
        [kept.as_str().unwrap_or_default()]
    );
}

/// Syncs hold their connection for many round trips; they may take all but a fifth of the
/// pool (at least one kept), so another user's read finds a connection while every sync
/// the pool would let in waits on a row lock.
#[tokio::test]
async fn a_list_read_is_served_while_syncs_wait_with_the_pool_they_may_take() {
    if !crate::harness::on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let app = TestApp::spawn_with(&[("DB_MAX_CONNECTIONS", "2")]).await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat").await;
    let (status, todo) = app
        .post(
            "/api/v1/todos",
            &owner,
            json!({"household_id": household, "title": "Bins"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = todo["id"].as_str().expect("id").to_owned();
    // Another session holds the todo, so a sync editing it waits on its lock.
    let holder = sea_orm::Database::connect(&app.db.url)
        .await
        .expect("connect");
    let txn = sea_orm::TransactionTrait::begin(&holder)
        .await
        .expect("begin");
    sea_orm::ConnectionTrait::execute_unprepared(
        &txn,
        &format!("SELECT 1 FROM todos WHERE id = '{id}' FOR UPDATE"),
    )
    .await
    .expect("lock");
    let edit = |n: u32| {
        app.post(
            "/api/v1/sync",
            &owner,
            json!({"last_sync_timestamp": 0, "household_id": household,
                   "changes": {"todos": {"updated": [{"id": id, "title": format!("Edit {n}")}]}}}),
        )
    };
    let syncs = join_all((0..2).map(edit));
    let read = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let read = app
            .get(&format!("/api/v1/todos?household_id={household}"), &owner)
            .await;
        txn.commit().await.expect("release the lock");
        read
    };
    let (syncs, (status, _)) = tokio::join!(syncs, read);
    assert_eq!(status, StatusCode::OK, "the read found a connection");
    // Without a connection kept from them, both syncs would hold the pool, the read would
    // wait until one timed out on the lock, and that one would answer 503.
    for (status, body) in syncs {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
