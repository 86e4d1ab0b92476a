//! Households, members and invites: every route's success and error cases, and the rows
//! they leave behind.

use poem::http::StatusCode;
use serde_json::json;

use crate::harness::{Flat, TestApp, flat};

const ALREADY: &str = "You are already in a household. Please leave your current household first.";

#[tokio::test]
async fn create_makes_the_caller_owner() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let (status, body) = app
        .post("/api/v1/households", &owner, json!({"name": "Flat 1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["name"], "Flat 1");
    assert_eq!(body["created_by"], owner.id.to_string());
    assert_eq!(body["member_count"], 1);
    assert!(
        body["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(
        app.db
            .strings("SELECT role || '' FROM household_members")
            .await,
        ["owner"]
    );
    let (_, detail) = app
        .get(
            &format!("/api/v1/households/{}", body["id"].as_str().expect("id")),
            &owner,
        )
        .await;
    assert_eq!(detail["members"][0]["user_id"], owner.id.to_string());
}

#[tokio::test]
async fn create_with_trailing_slash_reaches_the_same_operation() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let (status, _) = app
        .post("/api/v1/households/", &owner, json!({"name": "Flat 1"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn create_while_in_a_household_is_400() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    app.household(&owner, "Flat 1").await;
    let (status, body) = app
        .post("/api/v1/households", &owner, json!({"name": "Flat 2"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], ALREADY);
    assert_eq!(app.count("SELECT COUNT(*) || '' FROM households").await, 1);
}

#[tokio::test]
async fn create_with_bad_name_is_422() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({}),
        json!({"name": null}),
    ] {
        let (status, error) = app.post("/api/v1/households", &owner, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error["error"], "validation_error");
    }
    assert_eq!(app.count("SELECT COUNT(*) || '' FROM households").await, 0);
}

#[tokio::test]
async fn mine_lists_the_callers_households_with_member_counts() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    for user in [&owner, &member] {
        let (status, body) = app.get("/api/v1/households/mine", user).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.as_array().map(Vec::len), Some(1));
        assert_eq!(body[0]["id"], household.as_str());
        assert_eq!(body[0]["member_count"], 2);
    }
    let loner = app.user("Lou").await;
    assert_eq!(
        app.get("/api/v1/households/mine", &loner).await.1,
        json!([])
    );
}

#[tokio::test]
async fn detail_lists_members_with_their_users() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let (status, body) = app
        .get(&format!("/api/v1/households/{household}"), &member)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Flat 1");
    let members = body["members"].as_array().expect("members");
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["user_id"], owner.id.to_string());
    assert_eq!(members[0]["role"], "owner");
    assert_eq!(members[0]["email"], owner.email.as_str());
    assert_eq!(members[0]["full_name"], "Olive");
    assert_eq!(members[1]["role"], "member");
    let (status, listed) = app
        .get(&format!("/api/v1/households/{household}/members"), &member)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, body["members"]);
}

#[tokio::test]
async fn detail_of_unknown_household_is_404_and_of_anothers_403() {
    let Flat { app, household, .. } = flat().await;
    let stranger = app.user("Sam").await;
    let (status, body) = app
        .get(
            &format!("/api/v1/households/{}", uuid::Uuid::new_v4()),
            &stranger,
        )
        .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (StatusCode::NOT_FOUND, Some("Household not found"))
    );
    let (status, body) = app
        .get(&format!("/api/v1/households/{household}"), &stranger)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "You are not a member of this household");
}

#[tokio::test]
async fn invite_by_email_is_pending_for_seven_days_with_a_random_token() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (status, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite"),
            &owner,
            json!({"email": "new@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invite["email"], "new@example.com");
    assert_eq!(invite["status"], "pending");
    let token = invite["token"].as_str().expect("token");
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let expires =
        chrono::DateTime::parse_from_rfc3339(invite["expires_at"].as_str().expect("expires_at"))
            .expect("RFC 3339");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days} hours");
    let (status, listed) = app
        .get(&format!("/api/v1/households/{household}/invites"), &owner)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed, json!([invite]));
}

#[tokio::test]
async fn second_active_invite_for_an_email_is_400() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let path = format!("/api/v1/households/{household}/invite");
    app.post(&path, &owner, json!({"email": "new@example.com"}))
        .await;
    let (status, body) = app
        .post(&path, &owner, json!({"email": "new@example.com"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "An active invite already exists for this email"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM household_invites")
            .await,
        1
    );
}

#[tokio::test]
async fn inviting_a_member_is_400() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let (status, body) = app
        .post(
            &format!("/api/v1/households/{household}/invite"),
            &owner,
            json!({"email": member.email}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "User is already a member of this household");
}

#[tokio::test]
async fn invites_are_for_owners_only() {
    let Flat {
        app,
        member,
        household,
        ..
    } = flat().await;
    for path in ["invite", "invite/public"] {
        let (status, body) = app
            .post(
                &format!("/api/v1/households/{household}/{path}"),
                &member,
                json!({"email": "x@example.com"}),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            body["detail"],
            "Only household owners can perform this action"
        );
    }
}

#[tokio::test]
async fn invite_with_a_malformed_email_is_422() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{household}/invite"),
            &owner,
            json!({"email": "not an email"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn public_invite_has_no_email_and_anyone_may_join_with_it() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (status, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invite["email"], serde_json::Value::Null);
    let anyone = app.user("Ann").await;
    let (status, joined) = app
        .post(
            "/api/v1/households/join",
            &anyone,
            json!({"token": invite["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(joined["id"], household.as_str());
    assert_eq!(joined["member_count"], 2);
    let statuses = app
        .db
        .strings("SELECT status || '' FROM household_invites")
        .await;
    assert_eq!(statuses, ["accepted"]);
}

#[tokio::test]
async fn email_invite_joins_only_that_email() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let invited = app.user("Ivy").await;
    let other = app.user("Otto").await;
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite"),
            &owner,
            json!({"email": invited.email}),
        )
        .await;
    let (status, body) = app
        .post(
            "/api/v1/households/join",
            &other,
            json!({"token": invite["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "This invite is for a different email address"
    );
    let (status, _) = app
        .post(
            "/api/v1/households/join",
            &invited,
            json!({"token": invite["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn used_invite_is_400() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    let first = app.user("Ann").await;
    let second = app.user("Bob").await;
    app.post(
        "/api/v1/households/join",
        &first,
        json!({"token": invite["token"]}),
    )
    .await;
    let (status, body) = app
        .post(
            "/api/v1/households/join",
            &second,
            json!({"token": invite["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Invite has already been used");
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM household_members")
            .await,
        2
    );
}

#[tokio::test]
async fn expired_invite_is_400_and_stored_as_expired() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    app.db
        .exec("UPDATE household_invites SET expires_at = '2020-01-01 00:00:00'")
        .await;
    let joiner = app.user("Ann").await;
    let (status, body) = app
        .post(
            "/api/v1/households/join",
            &joiner,
            json!({"token": invite["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Invite has expired");
    assert_eq!(
        app.db
            .strings("SELECT status || '' FROM household_invites")
            .await,
        ["expired"]
    );
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM household_members")
            .await,
        1
    );
}

#[tokio::test]
async fn unknown_invite_token_is_404() {
    let app = TestApp::spawn().await;
    let joiner = app.user("Ann").await;
    let (status, body) = app
        .post("/api/v1/households/join", &joiner, json!({"token": "nope"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "Invalid invite token");
}

#[tokio::test]
async fn joining_while_in_a_household_is_400() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    let (status, body) = app
        .post(
            "/api/v1/households/join",
            &member,
            json!({"token": invite["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], ALREADY);
}

#[tokio::test]
async fn cancelled_invite_is_kept_as_expired() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (_, invite) = app
        .post(
            &format!("/api/v1/households/{household}/invite/public"),
            &owner,
            json!({}),
        )
        .await;
    let path = format!(
        "/api/v1/households/{household}/invites/{}",
        invite["id"].as_str().expect("id")
    );
    assert_eq!(app.delete(&path, &owner).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        app.db
            .strings("SELECT status || '' FROM household_invites")
            .await,
        ["expired"]
    );
    let (status, body) = app.delete(&path, &owner).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Can only cancel pending invites");
    let (status, _) = app
        .delete(
            &format!(
                "/api/v1/households/{household}/invites/{}",
                uuid::Uuid::new_v4()
            ),
            &owner,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/api/v1/households/{household}/invites"), &owner)
            .await
            .1,
        json!([])
    );
}

#[tokio::test]
async fn owner_changes_roles_but_never_demotes_the_last_owner() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let (_, detail) = app
        .get(&format!("/api/v1/households/{household}"), &owner)
        .await;
    let owner_membership = detail["members"][0]["id"].as_str().expect("id").to_owned();
    let member_membership = detail["members"][1]["id"].as_str().expect("id").to_owned();
    let path = |id: &str| format!("/api/v1/households/{household}/members/{id}");

    let (status, body) = app
        .patch(&path(&owner_membership), &owner, json!({"role": "member"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Cannot demote the last owner");

    let (status, body) = app
        .patch(&path(&member_membership), &member, json!({"role": "owner"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = app
        .patch(&path(&member_membership), &owner, json!({"role": "OWNER"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "owner");
    assert_eq!(body["user_id"], member.id.to_string());
    assert_eq!(body["email"], member.email.as_str());

    let (status, _) = app
        .patch(&path(&owner_membership), &owner, json!({"role": "member"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let roles = app
        .db
        .strings("SELECT role || '' FROM household_members ORDER BY 1")
        .await;
    assert_eq!(roles, ["member", "owner"]);

    let (status, _) = app
        .patch(
            &path(&uuid::Uuid::new_v4().to_string()),
            &member,
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .patch(&path(&member_membership), &member, json!({"role": "boss"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn owner_removes_members_but_not_the_last_owner() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let (_, detail) = app
        .get(&format!("/api/v1/households/{household}"), &owner)
        .await;
    let owner_membership = detail["members"][0]["id"].as_str().expect("id").to_owned();
    let member_membership = detail["members"][1]["id"].as_str().expect("id").to_owned();
    let path = |id: &str| format!("/api/v1/households/{household}/members/{id}");

    assert_eq!(
        app.delete(&path(&owner_membership), &member).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = app.delete(&path(&owner_membership), &owner).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"], "Cannot remove the last owner");
    assert_eq!(
        app.delete(&path(&member_membership), &owner).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&path(&member_membership), &owner).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM household_members")
            .await,
        1
    );
}

#[tokio::test]
async fn member_leaves_and_the_household_stays() {
    let Flat {
        app,
        member,
        household,
        ..
    } = flat().await;
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{household}/leave"),
            &member,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM household_members")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) || '' FROM households").await, 1);
}

#[tokio::test]
async fn last_owner_cannot_leave_while_others_remain() {
    let Flat {
        app,
        owner,
        household,
        ..
    } = flat().await;
    let (status, body) = app
        .post(
            &format!("/api/v1/households/{household}/leave"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["detail"],
        "You are the last owner. Please transfer ownership to another member before leaving."
    );
}

#[tokio::test]
async fn last_member_leaving_deletes_the_household_and_its_rows() {
    let app = TestApp::spawn().await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    app.post(
        &format!("/api/v1/households/{household}/invite/public"),
        &owner,
        json!({}),
    )
    .await;
    let (status, _) = app
        .post(
            "/api/v1/todos",
            &owner,
            json!({"household_id": household, "title": "Bins"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .post(
            &format!("/api/v1/households/{household}/leave"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for table in [
        "households",
        "household_members",
        "household_invites",
        "todos",
    ] {
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) || '' FROM {table}"))
                .await,
            0,
            "{table}"
        );
    }
    // Free to start again.
    app.household(&owner, "Flat 2").await;
}

#[tokio::test]
async fn leaving_a_household_one_is_not_in_is_404() {
    let Flat { app, household, .. } = flat().await;
    let stranger = app.user("Sam").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/households/{household}/leave"),
            &stranger,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "You are not a member of this household");
}

#[tokio::test]
async fn owner_renames_the_household() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    let path = format!("/api/v1/households/{household}");
    let (status, _) = app.put(&path, &member, json!({"name": "Mine now"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.put(&path, &owner, json!({"name": "Flat 1b"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Flat 1b");
    assert_eq!(body["member_count"], 2);
    assert_eq!(
        app.db.strings("SELECT name FROM households").await,
        ["Flat 1b"]
    );
    let (status, _) = app.put(&path, &owner, json!({"name": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn owner_deletes_the_household_with_everything_in_it() {
    let Flat {
        app,
        owner,
        member,
        household,
    } = flat().await;
    app.post(
        "/api/v1/todos",
        &member,
        json!({"household_id": household, "title": "Bins"}),
    )
    .await;
    let path = format!("/api/v1/households/{household}");
    assert_eq!(app.delete(&path, &member).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) || '' FROM households").await, 1);
    assert_eq!(app.delete(&path, &owner).await.0, StatusCode::NO_CONTENT);
    for table in [
        "households",
        "household_members",
        "household_invites",
        "todos",
    ] {
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) || '' FROM {table}"))
                .await,
            0,
            "{table}"
        );
    }
    assert_eq!(app.delete(&path, &owner).await.0, StatusCode::NOT_FOUND);
}
