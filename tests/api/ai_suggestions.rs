//! AI chore suggestions against a local listener playing the provider: a good answer,
//! garbage, an error status, a timeout, and no key at all.

use std::time::Duration;

use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    harness::{TestApp, TestUser},
    http_stub::{HttpStub, StubResponse},
};

const SUGGESTIONS: &str = r#"[{"title": "Defrost the freezer", "description": "It is icing up", "priority": "HIGH", "category": "chores", "reasoning": "Seen in the todos"}]"#;

fn openai_answer(content: &str) -> StubResponse {
    StubResponse::json(
        json!({"choices": [{"message": {"role": "assistant", "content": content}}]}).to_string(),
    )
}

async fn app_with(vars: &[(&str, &str)]) -> (TestApp, TestUser, String) {
    let app = TestApp::spawn_with(vars).await;
    let owner = app.user("Olive").await;
    let household = app.household(&owner, "Flat 1").await;
    let (status, _) = app
        .post(
            "/api/v1/expenses",
            &owner,
            json!({"household_id": household, "amount": 42, "description": "Freezer repair"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    (app, owner, household)
}

async fn suggest(app: &TestApp, user: &TestUser, household: &str) -> Value {
    let (status, body) = app
        .call(
            Method::POST,
            &format!("/api/v1/expenses/ai/suggest-tasks?household_id={household}"),
            Some(user),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn openai_answer_becomes_suggestions_and_the_prompt_describes_the_household() {
    let mut provider =
        HttpStub::start(openai_answer(&format!("```json\n{SUGGESTIONS}\n```"))).await;
    let base = format!("{}/v1", provider.base);
    let (app, owner, household) = app_with(&[
        ("AI_PROVIDER", "openai"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", base.as_str()),
    ])
    .await;
    let body = suggest(&app, &owner, &household).await;
    assert_eq!(
        body,
        json!({"suggestions": [{"title": "Defrost the freezer", "description": "It is icing up", "priority": "high",
                                "category": "chores", "reasoning": "Seen in the todos"}]})
    );
    let request = tokio::time::timeout(
        Duration::from_secs(5),
        provider.body_containing("Freezer repair"),
    )
    .await
    .expect("the provider was called")
    .expect("a request body");
    assert!(request.contains("gpt-4o-mini"), "{request}");
}

#[tokio::test]
async fn gemini_answer_becomes_suggestions() {
    let answer = json!({"candidates": [{"content": {"parts": [{"text": SUGGESTIONS}]}}]});
    let provider = HttpStub::start(StubResponse::json(answer.to_string())).await;
    let (app, owner, household) = app_with(&[
        ("AI_PROVIDER", "gemini"),
        ("GEMINI_API_KEY", "g-test"),
        ("GEMINI_BASE_URL", provider.base.as_str()),
    ])
    .await;
    let body = suggest(&app, &owner, &household).await;
    assert_eq!(body["suggestions"][0]["title"], "Defrost the freezer");
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn garbage_answer_gives_no_suggestions() {
    let provider = HttpStub::start(openai_answer("Sure! Clean the fridge, maybe?")).await;
    let (app, owner, household) = app_with(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", provider.base.as_str()),
    ])
    .await;
    assert_eq!(
        suggest(&app, &owner, &household).await,
        json!({"suggestions": []})
    );
    let not_even_json = HttpStub::start(StubResponse {
        body: "<html>".into(),
        ..StubResponse::json("")
    })
    .await;
    let (app, owner, household) = app_with(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", not_even_json.base.as_str()),
    ])
    .await;
    assert_eq!(
        suggest(&app, &owner, &household).await,
        json!({"suggestions": []})
    );
}

#[tokio::test]
async fn provider_error_gives_no_suggestions() {
    let mut failing = openai_answer(SUGGESTIONS);
    failing.status = 500;
    let provider = HttpStub::start(failing).await;
    let (app, owner, household) = app_with(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", provider.base.as_str()),
    ])
    .await;
    assert_eq!(
        suggest(&app, &owner, &household).await,
        json!({"suggestions": []})
    );
    assert_eq!(provider.requests(), 1);
}

#[tokio::test]
async fn slow_provider_is_cut_off_and_gives_no_suggestions() {
    let mut slow = openai_answer(SUGGESTIONS);
    slow.delay = Duration::from_secs(30);
    let provider = HttpStub::start(slow).await;
    let (app, owner, household) = app_with(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", provider.base.as_str()),
        ("AI_TIMEOUT_SECONDS", "0.5"),
    ])
    .await;
    assert_eq!(
        suggest(&app, &owner, &household).await,
        json!({"suggestions": []})
    );
}

#[tokio::test]
async fn without_a_key_no_provider_is_called() {
    let provider = HttpStub::start(openai_answer(SUGGESTIONS)).await;
    let (app, owner, household) = app_with(&[("OPENAI_BASE_URL", provider.base.as_str())]).await;
    assert_eq!(
        suggest(&app, &owner, &household).await,
        json!({"suggestions": []})
    );
    assert_eq!(provider.requests(), 0);
}

#[tokio::test]
async fn with_ai_features_turned_off_no_provider_is_called_until_they_are_on_again() {
    let provider = HttpStub::start(openai_answer(SUGGESTIONS)).await;
    let (app, owner, household) = app_with(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", provider.base.as_str()),
    ])
    .await;
    let (status, _) = app
        .patch("/api/v1/auth/me", &owner, json!({"ai_features": false}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        suggest(&app, &owner, &household).await,
        json!({"suggestions": []})
    );
    assert_eq!(provider.requests(), 0);

    let (status, _) = app
        .patch("/api/v1/auth/me", &owner, json!({"ai_features": true}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = suggest(&app, &owner, &household).await;
    assert_eq!(body["suggestions"][0]["title"], "Defrost the freezer");
    assert_eq!(provider.requests(), 1);
}
