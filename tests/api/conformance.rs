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

/// A 422 for the body, in the usual error shape, whose message says what was expected.
fn assert_body_refused(status: StatusCode, body: &Value, expected: &str, sent: &Value) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{sent}: {body}");
    assert_eq!(body["error"], "validation_error", "{sent}: {body}");
    assert_eq!(body["status"], 422, "{sent}: {body}");
    assert_eq!(body["details"][0]["loc"], json!(["body"]), "{sent}: {body}");
    assert_eq!(body["details"][0]["type"], "value_error", "{sent}: {body}");
    let msg = body["details"][0]["msg"].as_str().unwrap_or_default();
    assert!(msg.contains(expected), "{sent}: {msg}");
}

#[tokio::test]
async fn text_fields_refuse_json_booleans_and_numbers() {
    let f = flat().await;
    let household = format!("/api/v1/households/{}", f.household);
    for sent in [json!({"name": false}), json!({"name": 12})] {
        let (status, body) = f.app.put(&household, &f.owner, sent.clone()).await;
        assert_body_refused(status, &body, "\"string\"", &sent);
    }
    let (status, body) = f.app.get(&household, &f.owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["name"], "Flat 1",
        "the refused updates changed nothing"
    );

    for sent in [
        json!({"profile_picture_url": false}),
        json!({"full_name": 7}),
    ] {
        let (status, body) = f.app.patch("/api/v1/auth/me", &f.owner, sent.clone()).await;
        assert_body_refused(status, &body, "\"string\"", &sent);
    }
    let (status, body) = f.app.get("/api/v1/auth/me", &f.owner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["full_name"], "Olive");
    assert_eq!(body["profile_picture_url"], Value::Null);

    let sent = json!({"household_id": f.household, "title": true});
    let (status, body) = f.app.post("/api/v1/todos", &f.owner, sent.clone()).await;
    assert_body_refused(status, &body, "\"string\"", &sent);

    // Strings are still held to their documented lengths.
    let sent = json!({"name": ""});
    let (status, body) = f.app.put(&household, &f.owner, sent).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["loc"], json!(["body", "name"]), "{body}");
    let (status, body) = f
        .app
        .put(&household, &f.owner, json!({"name": "Flat 2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Flat 2");
}

#[tokio::test]
async fn an_expense_amount_is_taken_exactly_as_its_pattern_allows() {
    let f = flat().await;
    let create = |amount: Value| json!({"household_id": f.household, "amount": amount, "description": "Gas", "is_personal": true});
    for (amount, stored) in [
        (json!("99999999.99"), "99999999.99"),
        (json!("0.01"), "0.01"),
        (json!("0.5"), "0.50"),
        (json!(42), "42.00"),
    ] {
        let (status, body) = f
            .app
            .post("/api/v1/expenses", &f.owner, create(amount.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{amount}: {body}");
        assert_eq!(body["amount"], stored, "{amount}");
    }
    let (_, first) = f
        .app
        .post("/api/v1/expenses", &f.owner, create(json!("10")))
        .await;
    let expense = format!("/api/v1/expenses/{}", first["id"].as_str().expect("id"));
    let before = f.app.count("SELECT COUNT(*) || '' FROM expenses").await;
    for amount in [
        json!("0"),
        json!("0.00"),
        json!("-5"),
        json!("+5"),
        json!("05"),
        json!(" 5"),
        json!("5.001"),
        json!("100000000"),
        json!(0),
        json!(5.001),
    ] {
        let sent = create(amount.clone());
        let (status, body) = f.app.post("/api/v1/expenses", &f.owner, sent.clone()).await;
        assert_body_refused(status, &body, "expected an amount more than 0", &sent);
        let sent = json!({"amount": amount});
        let (status, body) = f.app.patch(&expense, &f.owner, sent.clone()).await;
        assert_body_refused(status, &body, "expected an amount more than 0", &sent);
    }
    assert_eq!(
        f.app.count("SELECT COUNT(*) || '' FROM expenses").await,
        before
    );
    let (_, body) = f.app.get(&expense, &f.owner).await;
    assert_eq!(
        body["amount"], "10.00",
        "the refused updates changed nothing"
    );
}

#[tokio::test]
async fn a_price_is_taken_exactly_as_its_pattern_allows() {
    let f = flat().await;
    let (status, list) = f
        .app
        .post(
            "/api/v1/shopping-lists/",
            &f.owner,
            json!({"household_id": f.household, "name": "Weekly"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let list = list["id"].as_str().expect("id").to_owned();
    let items = format!("/api/v1/shopping-lists/{list}/items");
    let (status, item) = f
        .app
        .post(&items, &f.owner, json!({"name": "Bread", "price": "0"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    assert_eq!(item["price"], "0.00");
    let item = item["id"].as_str().expect("id").to_owned();
    for price in [
        json!("-0.01"),
        json!("+1"),
        json!("1.005"),
        json!("100000000.00"),
        json!(-1),
    ] {
        let sent = json!({"name": "Milk", "price": price});
        let (status, body) = f.app.post(&items, &f.owner, sent.clone()).await;
        assert_body_refused(status, &body, "expected a price", &sent);
        let sent = json!({"price": price});
        for path in [
            format!("/api/v1/shopping-lists/{list}/items/{item}"),
            format!("/api/v1/shopping-items/{item}"),
        ] {
            let (status, body) = f.app.put(&path, &f.owner, sent.clone()).await;
            assert_body_refused(status, &body, "expected a price", &sent);
        }
    }
    let (status, body) = f
        .app
        .put(
            &format!("/api/v1/shopping-items/{item}"),
            &f.owner,
            json!({"price": "99999999.99"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["price"], "99999999.99");
}

#[tokio::test]
async fn the_document_states_the_amounts_the_service_takes() {
    let app = TestApp::spawn().await;
    let spec = json_of(app.client.get("/openapi.json").send().await).await;
    let schemas = &spec["components"]["schemas"];
    let positive = r"^([1-9]\d{0,7}(\.\d{1,2})?|0\.(0[1-9]|[1-9]\d?))$";
    let price = r"^(0|[1-9]\d{0,7})(\.\d{1,2})?$";
    for (schema, field, pattern) in [
        ("ExpenseCreate", "amount", positive),
        ("ExpenseUpdate", "amount", positive),
        ("SplitCreate", "amount_owed", positive),
        ("ItemCreate", "price", price),
        ("ItemUpdate", "price", price),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["pattern"], pattern,
            "{schema}.{field}"
        );
    }
}
