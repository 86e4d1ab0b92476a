//! What the conformance fuzzer (`make conformance`) found, pinned down: each test shows a
//! client-visible answer the document promises.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, flat};

async fn json_of(response: poem::test::TestResponse) -> Value {
    response.0.into_body().into_json().await.expect("JSON body")
}

#[tokio::test]
async fn method_not_allowed_lists_the_routes_methods_in_allow() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post("/api/v1/todos/6f1c1b7e-8a0f-4a57-9a43-2f1b1bde7c10")
        .send()
        .await;
    response.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    response.assert_header("allow", "DELETE, GET, HEAD, PUT");
    let body = json_of(response).await;
    assert_eq!(body["error"], "method_not_allowed");
    assert_eq!(body["status"], 405);
}

#[tokio::test]
async fn a_fixed_route_answers_its_own_methods_not_its_neighbours() {
    let app = TestApp::spawn().await;
    let response = app.client.delete("/api/v1/households/mine/").send().await;
    response.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    response.assert_header("allow", "GET, HEAD");
}

#[tokio::test]
async fn an_undeclared_method_with_a_bad_idempotency_key_is_still_405() {
    let f = flat().await;
    let response = f
        .app
        .client
        .post(format!("/api/v1/households/{}", f.household))
        .header("Authorization", format!("Bearer {}", f.owner.token))
        .header("Idempotency-Key", "not a valid key")
        .body_json(&json!({"name": "x"}))
        .send()
        .await;
    response.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    response.assert_header("allow", "DELETE, GET, HEAD, PUT");
    assert_eq!(json_of(response).await["error"], "method_not_allowed");
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM idempotency_keys")
            .await,
        0,
        "a request the router refuses keeps nothing"
    );
}

#[tokio::test]
async fn an_unknown_route_with_an_idempotency_key_is_404() {
    let f = flat().await;
    let response = f
        .app
        .client
        .post("/api/v1/nothing-here")
        .header("Authorization", format!("Bearer {}", f.owner.token))
        .header("Idempotency-Key", "")
        .send()
        .await;
    response.assert_status(StatusCode::NOT_FOUND);
    assert_eq!(json_of(response).await["error"], "not_found");
}

#[tokio::test]
async fn expenses_skip_past_its_documented_bound_is_422() {
    let f = flat().await;
    let (status, body) = f
        .app
        .get("/api/v1/expenses?skip=2147483648", &f.owner)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["loc"], json!(["query", "skip"]));
    let (status, body) = f
        .app
        .get("/api/v1/expenses?skip=2147483647", &f.owner)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!([]));
}

#[tokio::test]
async fn the_document_describes_the_idempotency_key_it_enforces() {
    let app = TestApp::spawn().await;
    let spec = json_of(app.client.get("/openapi.json").send().await).await;
    let header = spec["paths"]["/api/v1/todos"]["post"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "IDEMPOTENCY-KEY")
        .expect("the Idempotency-Key header")
        .clone();
    assert_eq!(
        header["schema"],
        json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"})
    );
    assert_eq!(
        spec["paths"]["/api/v1/todos/{todo_id}"]["get"]["responses"]["405"]["headers"]["ALLOW"]["schema"]
            ["type"],
        "string"
    );
}

/// An operation of the test's own that writes a row referring to a household that does
/// not exist: what a request meets when the household is deleted while it runs.
struct VanishedParentApi {
    state: flatmates::state::AppState,
}

#[poem_openapi::OpenApi]
impl VanishedParentApi {
    #[oai(path = "/invite", method = "post", operation_id = "invite_to_nowhere")]
    async fn invite(&self) -> flatmates::error::ApiResult<poem_openapi::payload::Json<Value>> {
        use sea_orm::{ActiveModelTrait, ActiveValue::Set};
        let now = chrono::Utc::now().naive_utc();
        let creator = self.state.db.connection();
        let user = entities::user::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            email: Set("ghost@example.com".into()),
            full_name: Set("Ghost".into()),
            google_id: Set("google-ghost".into()),
            profile_picture_url: Set(None),
            is_active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(creator)
        .await?;
        entities::household_invite::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            household_id: Set(uuid::Uuid::new_v4()),
            email: Set(None),
            token: Set("vanished-parent".into()),
            status: Set(entities::enums::InviteStatus::Pending),
            expires_at: Set(now),
            created_by: Set(user.id),
            created_at: Set(now),
        }
        .insert(creator)
        .await?;
        Ok(poem_openapi::payload::Json(json!({})))
    }
}

#[tokio::test]
async fn a_row_whose_household_went_meanwhile_is_409_not_500() {
    let app = TestApp::spawn().await;
    let client = crate::harness::with_stack(poem_openapi::OpenApiService::new(
        VanishedParentApi {
            state: app.state.clone(),
        },
        "probe",
        "1",
    ));
    let response = client.post("/invite").send().await;
    response.assert_status(StatusCode::CONFLICT);
    let body = json_of(response).await;
    assert_eq!(body["error"], "conflict");
    assert_eq!(
        body["message"],
        "The resource changed while the request ran. Please retry."
    );
}

#[tokio::test]
async fn an_invite_with_a_null_email_is_a_public_one_as_documented() {
    let f = flat().await;
    let (status, body) = f
        .app
        .post(
            &format!("/api/v1/households/{}/invite", f.household),
            &f.owner,
            json!({"email": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], Value::Null);
    let app = TestApp::spawn().await;
    let spec = json_of(app.client.get("/openapi.json").send().await).await;
    assert_eq!(
        spec["components"]["schemas"]["InviteCreate"]["properties"]["email"]["nullable"],
        true
    );
}
