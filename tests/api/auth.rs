//! Sign-in with Google ID tokens (verified for real against a key set served by a local
//! stub, signed with test RSA keys), our JWT, the /auth routes, and every way a token can
//! be wrong.

use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::{
    harness::{Service, TestApp, TestDb, http},
    http_stub::{HttpStub, StubResponse},
};

const CLIENT_ID: &str = "flatmates-test.apps.googleusercontent.com";
const SECRET: &str = "test-secret-key-test-secret-key-0123";
const KEY_A: &[u8] = include_bytes!("../fixtures/google_key_a.pem");
const KEY_B: &[u8] = include_bytes!("../fixtures/google_key_b.pem");
const JWK_A: &str = include_str!("../fixtures/google_key_a.jwk.json");
const JWK_B: &str = include_str!("../fixtures/google_key_b.jwk.json");

fn key_set(jwks: &[&str]) -> StubResponse {
    let keys: Vec<Value> = jwks
        .iter()
        .map(|k| serde_json::from_str(k).expect("jwk"))
        .collect();
    let mut response = StubResponse::json(json!({"keys": keys}).to_string());
    response
        .headers
        .push(("cache-control".into(), "public, max-age=19800".into()));
    response
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn google_claims(sub: &str, email: &str) -> Value {
    json!({
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": sub,
        "email": email,
        "email_verified": true,
        "name": "Ann Example",
        "picture": "https://example.com/ann.png",
        "iat": now(),
        "exp": now() + 3600,
    })
}

fn id_token(claims: &Value, pem: &[u8], kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(pem).expect("test key"),
    )
    .expect("sign")
}

fn hs_token(claims: &Value, alg: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

struct AuthApp {
    app: TestApp,
    google: HttpStub,
}

async fn auth_app() -> AuthApp {
    auth_app_with(key_set(&[JWK_A])).await
}

async fn auth_app_with(keys: StubResponse) -> AuthApp {
    let google = HttpStub::start(keys).await;
    let jwks_url = format!("{}/oauth2/v3/certs", google.base);
    let app = TestApp::spawn_with(&[
        ("GOOGLE_CLIENT_ID", CLIENT_ID),
        ("GOOGLE_JWKS_URL", jwks_url.as_str()),
        ("SECRET_KEY", SECRET),
    ])
    .await;
    AuthApp { app, google }
}

async fn sign_in(app: &TestApp, token: &str) -> poem::test::TestResponse {
    app.client
        .post("/api/v1/auth/google/mobile")
        .body_json(&json!({"id_token": token}))
        .send()
        .await
}

async fn json_body(response: poem::test::TestResponse) -> Value {
    response.0.into_body().into_json().await.expect("JSON body")
}

/// Signs Ann in and answers (access token, user id).
async fn signed_in(app: &TestApp) -> (String, String) {
    let response = sign_in(
        app,
        &id_token(
            &google_claims("g-ann", "ann@example.com"),
            KEY_A,
            "test-key-a",
        ),
    )
    .await;
    response.assert_status_is_ok();
    let body = json_body(response).await;
    (
        body["access_token"].as_str().expect("token").to_owned(),
        body["user"]["id"].as_str().expect("id").to_owned(),
    )
}

async fn me(app: &TestApp, authorization: &str) -> poem::test::TestResponse {
    app.client
        .get("/api/v1/auth/me")
        .header("Authorization", authorization)
        .send()
        .await
}

async fn assert_unauthorized(response: poem::test::TestResponse) -> Value {
    response.assert_status(StatusCode::UNAUTHORIZED);
    response.assert_header("www-authenticate", "Bearer");
    let body = json_body(response).await;
    assert_eq!(body["error"], "unauthorized");
    body
}

#[tokio::test]
async fn google_sign_in_creates_the_user_and_answers_a_working_token() {
    let AuthApp { app, .. } = auth_app().await;
    let response = sign_in(
        &app,
        &id_token(
            &google_claims("g-ann", "ann@example.com"),
            KEY_A,
            "test-key-a",
        ),
    )
    .await;
    response.assert_status_is_ok();
    let body = json_body(response).await;
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 604800);
    assert_eq!(body["refresh_token"], body["access_token"]);
    assert_eq!(body["user"]["email"], "ann@example.com");
    assert_eq!(body["user"]["full_name"], "Ann Example");
    assert_eq!(body["user"]["google_id"], "g-ann");
    assert_eq!(
        body["user"]["profile_picture_url"],
        "https://example.com/ann.png"
    );
    assert_eq!(body["user"]["is_active"], true);
    assert!(
        body["user"]["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let rows = app
        .db
        .strings("SELECT email || ' ' || google_id FROM users")
        .await;
    assert_eq!(rows, ["ann@example.com g-ann"]);

    let token = body["access_token"].as_str().expect("token");
    let response = me(&app, &format!("Bearer {token}")).await;
    response.assert_status_is_ok();
    assert_eq!(json_body(response).await["id"], body["user"]["id"]);
}

#[tokio::test]
async fn second_sign_in_updates_changed_email_name_and_picture() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let mut claims = google_claims("g-ann", "ann@new.example.com");
    claims["name"] = json!("Ann Renamed");
    claims["picture"] = json!(null);
    let response = sign_in(&app, &id_token(&claims, KEY_A, "test-key-a")).await;
    response.assert_status_is_ok();
    let body = json_body(response).await;
    assert_eq!(body["user"]["id"], id.as_str());
    assert_eq!(body["user"]["email"], "ann@new.example.com");
    assert_eq!(body["user"]["full_name"], "Ann Renamed");
    assert_eq!(body["user"]["profile_picture_url"], Value::Null);
    let rows = app
        .db
        .strings("SELECT email || ' ' || full_name FROM users")
        .await;
    assert_eq!(rows, ["ann@new.example.com Ann Renamed"]);
}

#[tokio::test]
async fn google_token_whose_name_holds_a_nul_is_422_and_stores_nothing() {
    let AuthApp { app, .. } = auth_app().await;
    let mut claims = google_claims("g-ann", "ann@example.com");
    claims["name"] = json!("Ann\u{0}Example");
    let response = sign_in(&app, &id_token(&claims, KEY_A, "test-key-a")).await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body = json_body(response).await;
    assert_eq!(
        body["details"][0]["loc"],
        json!(["body", "id_token"]),
        "{body}"
    );
    assert!(app.db.strings("SELECT email FROM users").await.is_empty());
}

#[tokio::test]
async fn google_token_without_email_is_400() {
    let AuthApp { app, .. } = auth_app().await;
    let mut claims = google_claims("g-ann", "x");
    claims.as_object_mut().expect("object").remove("email");
    let response = sign_in(&app, &id_token(&claims, KEY_A, "test-key-a")).await;
    response.assert_status(StatusCode::BAD_REQUEST);
    assert!(app.db.strings("SELECT email FROM users").await.is_empty());
}

#[tokio::test]
async fn google_token_for_another_audience_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let mut claims = google_claims("g-ann", "ann@example.com");
    claims["aud"] = json!("someone-else.apps.googleusercontent.com");
    let body =
        assert_unauthorized(sign_in(&app, &id_token(&claims, KEY_A, "test-key-a")).await).await;
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid Google token: "))
    );
    assert!(app.db.strings("SELECT email FROM users").await.is_empty());
}

#[tokio::test]
async fn google_token_from_another_issuer_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let mut claims = google_claims("g-ann", "ann@example.com");
    claims["iss"] = json!("https://evil.example.com");
    assert_unauthorized(sign_in(&app, &id_token(&claims, KEY_A, "test-key-a")).await).await;
}

#[tokio::test]
async fn expired_google_token_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let mut claims = google_claims("g-ann", "ann@example.com");
    claims["exp"] = json!(now() - 600);
    assert_unauthorized(sign_in(&app, &id_token(&claims, KEY_A, "test-key-a")).await).await;
}

#[tokio::test]
async fn google_token_signed_by_an_unknown_key_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let claims = google_claims("g-ann", "ann@example.com");
    // Key B's signature under key A's id, and key B under an id the key set lacks.
    assert_unauthorized(sign_in(&app, &id_token(&claims, KEY_B, "test-key-a")).await).await;
    assert_unauthorized(sign_in(&app, &id_token(&claims, KEY_B, "test-key-b")).await).await;
    assert!(app.db.strings("SELECT email FROM users").await.is_empty());
}

#[tokio::test]
async fn garbage_google_token_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    assert_unauthorized(sign_in(&app, "not-a-jwt").await).await;
}

#[tokio::test]
async fn empty_google_token_is_422() {
    let AuthApp { app, .. } = auth_app().await;
    let response = sign_in(&app, "").await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn key_set_is_cached_for_its_max_age() {
    let AuthApp { app, google } = auth_app().await;
    signed_in(&app).await;
    signed_in(&app).await;
    assert_eq!(google.requests(), 1);
}

#[tokio::test]
async fn rotated_key_is_fetched_when_a_token_names_it() {
    let AuthApp { app, google } = auth_app().await;
    signed_in(&app).await;
    google.set_response(key_set(&[JWK_A, JWK_B]));
    // Refetches for unknown key ids are spaced by a second at least.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let claims = google_claims("g-bo", "bo@example.com");
    sign_in(&app, &id_token(&claims, KEY_B, "test-key-b"))
        .await
        .assert_status_is_ok();
    assert_eq!(google.requests(), 2);
}

#[tokio::test]
async fn key_set_fetch_failure_is_503_json() {
    let mut failing = StubResponse::json("{\"error\": \"backend\"}");
    failing.status = 500;
    let AuthApp { app, .. } = auth_app_with(failing).await;
    let response = sign_in(
        &app,
        &id_token(
            &google_claims("g-ann", "ann@example.com"),
            KEY_A,
            "test-key-a",
        ),
    )
    .await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    response.assert_header("retry-after", "5");
    let body = json_body(response).await;
    assert_eq!(body["error"], "service_unavailable");
}

#[tokio::test]
async fn unreachable_key_set_is_503_json() {
    let db = TestDb::new().await;
    let app = TestApp::on(
        db,
        &[
            ("GOOGLE_CLIENT_ID", CLIENT_ID),
            ("GOOGLE_JWKS_URL", "http://127.0.0.1:9/certs"),
        ],
    )
    .await;
    let response = sign_in(
        &app,
        &id_token(
            &google_claims("g-ann", "ann@example.com"),
            KEY_A,
            "test-key-a",
        ),
    )
    .await;
    response.assert_status(StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn refresh_answers_a_new_working_token() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    let response = app
        .client
        .post("/api/v1/auth/refresh")
        .body_json(&json!({"refresh_token": token}))
        .send()
        .await;
    response.assert_status_is_ok();
    let body = json_body(response).await;
    assert_eq!(body["expires_in"], 604800);
    let fresh = body["access_token"].as_str().expect("token");
    me(&app, &format!("Bearer {fresh}"))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn refresh_with_a_bad_token_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let response = app
        .client
        .post("/api/v1/auth/refresh")
        .body_json(&json!({"refresh_token": "nope"}))
        .send()
        .await;
    assert_unauthorized(response).await;
}

#[tokio::test]
async fn refresh_for_an_inactive_user_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    app.db.exec("UPDATE users SET is_active = false").await;
    let response = app
        .client
        .post("/api/v1/auth/refresh")
        .body_json(&json!({"refresh_token": token}))
        .send()
        .await;
    assert_unauthorized(response).await;
}

#[tokio::test]
async fn patch_me_updates_given_fields_and_ignores_nulls() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    let response = app
        .client
        .patch("/api/v1/auth/me")
        .header("Authorization", format!("Bearer {token}"))
        .body_json(&json!({"full_name": "Annie", "profile_picture_url": null}))
        .send()
        .await;
    response.assert_status_is_ok();
    let body = json_body(response).await;
    assert_eq!(body["full_name"], "Annie");
    assert_eq!(body["profile_picture_url"], "https://example.com/ann.png");
    let rows = app
        .db
        .strings("SELECT full_name || ' ' || profile_picture_url FROM users")
        .await;
    assert_eq!(rows, ["Annie https://example.com/ann.png"]);
}

#[tokio::test]
async fn patch_me_with_bad_fields_is_422_and_changes_nothing() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    for bad in [
        json!({"full_name": ""}),
        json!({"full_name": "x".repeat(256)}),
        json!({"full_name": ["Ann"]}),
    ] {
        let response = app
            .client
            .patch("/api/v1/auth/me")
            .header("Authorization", format!("Bearer {token}"))
            .body_json(&bad)
            .send()
            .await;
        response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let body = json_body(response).await;
        assert_eq!(body["details"][0]["loc"][0], "body", "{bad}");
    }
    assert_eq!(
        app.db.strings("SELECT full_name FROM users").await,
        ["Ann Example"]
    );
}

#[tokio::test]
async fn logout_confirms() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    let response = app
        .client
        .post("/api/v1/auth/logout")
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await;
    response.assert_status_is_ok();
    response
        .assert_json(json!({"message": "Successfully logged out"}))
        .await;
}

#[tokio::test]
async fn token_minted_the_old_backends_way_keeps_working() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let old = hs_token(
        &json!({"sub": id, "exp": now() + 3600}),
        Algorithm::HS256,
        SECRET,
    );
    me(&app, &format!("Bearer {old}"))
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn missing_authorization_header_is_401_with_challenge() {
    let AuthApp { app, .. } = auth_app().await;
    let response = app.client.get("/api/v1/auth/me").send().await;
    let body = assert_unauthorized(response).await;
    assert_eq!(body["message"], "Not authenticated");
}

#[tokio::test]
async fn malformed_authorization_header_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    for header in [
        "Basic YWxhZGRpbjpvcGVu",
        "Bearer",
        "Bearer ",
        "bearer-token",
        "Bearer a.b.c",
    ] {
        assert_unauthorized(me(&app, header).await).await;
    }
}

#[tokio::test]
async fn alg_none_token_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&json!({"sub": id, "exp": now() + 3600}))
    );
    assert_unauthorized(me(&app, &format!("Bearer {token}")).await).await;
}

#[tokio::test]
async fn other_algorithms_are_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let claims = json!({"sub": id, "exp": now() + 3600});
    let hs512 = hs_token(&claims, Algorithm::HS512, SECRET);
    assert_unauthorized(me(&app, &format!("Bearer {hs512}")).await).await;
    let rs256 = id_token(&claims, KEY_A, "test-key-a");
    assert_unauthorized(me(&app, &format!("Bearer {rs256}")).await).await;
}

#[tokio::test]
async fn token_signed_with_another_secret_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let forged = hs_token(
        &json!({"sub": id, "exp": now() + 3600}),
        Algorithm::HS256,
        "not-our-secret-not-our-secret-00",
    );
    let body = assert_unauthorized(me(&app, &format!("Bearer {forged}")).await).await;
    assert_eq!(body["message"], "Could not validate credentials");
}

#[tokio::test]
async fn expired_token_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let expired = hs_token(
        &json!({"sub": id, "exp": now() - 5}),
        Algorithm::HS256,
        SECRET,
    );
    assert_unauthorized(me(&app, &format!("Bearer {expired}")).await).await;
}

#[tokio::test]
async fn tampered_payload_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let other = json!({"sub": uuid::Uuid::new_v4(), "exp": now() + 3600});
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(other.to_string());
    assert_unauthorized(me(&app, &format!("Bearer {}", parts.join("."))).await).await;
}

#[tokio::test]
async fn subject_that_is_not_a_uuid_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let token = hs_token(
        &json!({"sub": "42; DROP TABLE users", "exp": now() + 3600}),
        Algorithm::HS256,
        SECRET,
    );
    assert_unauthorized(me(&app, &format!("Bearer {token}")).await).await;
    let no_sub = hs_token(&json!({"exp": now() + 3600}), Algorithm::HS256, SECRET);
    assert_unauthorized(me(&app, &format!("Bearer {no_sub}")).await).await;
}

#[tokio::test]
async fn token_of_a_deleted_user_is_401() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    app.db.exec("DELETE FROM users").await;
    assert_unauthorized(me(&app, &format!("Bearer {token}")).await).await;
}

#[tokio::test]
async fn token_of_an_inactive_user_is_400() {
    let AuthApp { app, .. } = auth_app().await;
    let (token, _) = signed_in(&app).await;
    app.db.exec("UPDATE users SET is_active = false").await;
    let response = me(&app, &format!("Bearer {token}")).await;
    response.assert_status(StatusCode::BAD_REQUEST);
    assert_eq!(json_body(response).await["message"], "Inactive user");
}

#[tokio::test]
async fn refused_token_never_reaches_the_operation() {
    let AuthApp { app, .. } = auth_app().await;
    let (_, id) = signed_in(&app).await;
    let forged = hs_token(
        &json!({"sub": id, "exp": now() + 3600}),
        Algorithm::HS256,
        "not-our-secret-not-our-secret-00",
    );
    let response = app
        .client
        .patch("/api/v1/auth/me")
        .header("Authorization", format!("Bearer {forged}"))
        .body_json(&json!({"full_name": "Mallory"}))
        .send()
        .await;
    assert_unauthorized(response).await;
    assert_eq!(
        app.db.strings("SELECT full_name FROM users").await,
        ["Ann Example"]
    );
}

#[tokio::test]
async fn tokens_never_appear_in_the_logs() {
    let db = TestDb::new().await;
    let google = HttpStub::start(key_set(&[JWK_A])).await;
    let jwks_url = format!("{}/certs", google.base);
    let vars = [
        ("SECRET_KEY", SECRET),
        ("GOOGLE_CLIENT_ID", CLIENT_ID),
        ("GOOGLE_JWKS_URL", jwks_url.as_str()),
    ];
    let mut service = Service::start(&db.url, &vars).await;
    let http = http();
    let bearer = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtYmVhcmVyIn0.c2lnbmF0dXJl";
    let id_token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNlY3JldC1pZC10b2tlbiJ9.e30.c2ln";
    let response = http
        .get(service.url("/api/v1/auth/me"))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let response = http
        .post(service.url("/api/v1/auth/google/mobile"))
        .json(&json!({"id_token": id_token}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let lines = service.lines().await;
    assert!(
        lines.iter().any(|l| l.contains("request completed")),
        "the requests were logged"
    );
    for line in lines {
        assert!(
            !line.contains(bearer) && !line.contains("c2lnbmF0dXJl"),
            "bearer token logged: {line}"
        );
        assert!(
            !line.contains(id_token) && !line.contains("c2ln\""),
            "ID token logged: {line}"
        );
    }
}

#[tokio::test]
async fn token_answers_are_never_kept_for_idempotency_keys() {
    let AuthApp { app, .. } = auth_app().await;
    let id_token = id_token(
        &google_claims("g-ann", "ann@example.com"),
        KEY_A,
        "test-key-a",
    );
    for _ in 0..2 {
        let response = app
            .client
            .post("/api/v1/auth/google/mobile")
            .header("Idempotency-Key", "sign-in-1")
            .body_json(&json!({"id_token": id_token}))
            .send()
            .await;
        response.assert_status_is_ok();
        assert!(!response.0.headers().contains_key("idempotent-replayed"));
        let body = json_body(response).await;
        let refreshed = app
            .client
            .post("/api/v1/auth/refresh")
            .header("Idempotency-Key", "refresh-1")
            .body_json(&json!({"refresh_token": body["refresh_token"]}))
            .send()
            .await;
        refreshed.assert_status_is_ok();
    }
    assert_eq!(
        app.count("SELECT COUNT(*) || '' FROM idempotency_keys")
            .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) || '' FROM users").await, 1);
}

#[tokio::test]
async fn a_deactivated_caller_keeps_access_until_the_caller_cache_lifetime_ends() {
    let app = TestApp::spawn_with(&[("CALLER_CACHE_SECONDS", "0.3")]).await;
    let olive = app.user("Olive").await;
    let (status, _) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(status, StatusCode::OK);
    app.db.exec("UPDATE users SET is_active = false").await;

    let (status, _) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the row read a moment ago still answers"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let (status, body) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Inactive user");
}

#[tokio::test]
async fn with_the_caller_cache_off_a_deactivation_is_seen_at_once() {
    let app = TestApp::spawn_with(&[("CALLER_CACHE_SECONDS", "0")]).await;
    let olive = app.user("Olive").await;
    let (status, _) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(status, StatusCode::OK);
    app.db.exec("UPDATE users SET is_active = false").await;
    let (status, body) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "Inactive user");
}

#[tokio::test]
async fn a_profile_update_is_seen_by_the_next_request_despite_the_caller_cache() {
    let app = TestApp::spawn_with(&[
        ("CALLER_CACHE_SECONDS", "60"),
        ("REQUEST_TIMEOUT_SECONDS", "120"),
    ])
    .await;
    let olive = app.user("Olive").await;
    let (status, _) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .patch("/api/v1/auth/me", &olive, json!({"full_name": "Olive Oyl"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = app.get("/api/v1/auth/me", &olive).await;
    assert_eq!(me["full_name"], "Olive Oyl");
}
