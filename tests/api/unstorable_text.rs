//! Text a database cannot store: PostgreSQL refuses the NUL character in `text` (SQLite
//! would store it), so every string a request sends is refused with it, the same 422 on
//! both. And timestamps past what both store are refused, not a 500.

use poem::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::harness::{Flat, flat};

const NUL_TEXT: &str = "Bins\u{0}out";
const NUL_REFUSED: &str = "must not contain the NUL character";

fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("an id").to_owned()
}

/// A flat with one of each row a path can name, so that every operation reaches its
/// handler: `(path parameter, id)`.
async fn flat_with_rows() -> (Flat, Vec<(&'static str, String)>) {
    let f = flat().await;
    let (_, todo) = f
        .app
        .post(
            "/api/v1/todos",
            &f.owner,
            json!({"household_id": f.household, "title": "Bins"}),
        )
        .await;
    let (_, list) = f
        .app
        .post(
            "/api/v1/shopping-lists",
            &f.owner,
            json!({"household_id": f.household, "name": "Weekly"}),
        )
        .await;
    let list_id = id_of(&list);
    let (_, item) = f
        .app
        .post(
            &format!("/api/v1/shopping-lists/{list_id}/items"),
            &f.owner,
            json!({"name": "Milk"}),
        )
        .await;
    let (_, expense) = f
        .app
        .post(
            "/api/v1/expenses",
            &f.owner,
            json!({"household_id": f.household, "amount": "10", "description": "Gas"}),
        )
        .await;
    let (_, invite) = f
        .app
        .post(
            &format!("/api/v1/households/{}/invite", f.household),
            &f.owner,
            json!({"email": "new@example.com"}),
        )
        .await;
    let ids = vec![
        ("household_id", f.household.clone()),
        ("todo_id", id_of(&todo)),
        ("list_id", list_id),
        ("item_id", id_of(&item)),
        ("expense_id", id_of(&expense)),
        ("invite_id", id_of(&invite)),
        ("user_id", f.member.id.to_string()),
        ("member_id", f.member.id.to_string()),
    ];
    (f, ids)
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    match reference {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Free text: a string with no format, enum or pattern of its own, but the document's
/// refusal of the NUL character.
fn is_text(schema: &Value) -> bool {
    schema["type"] == "string"
        && schema.get("format").is_none()
        && schema.get("enum").is_none()
        && schema["pattern"]
            .as_str()
            .is_some_and(|pattern| pattern.contains("\\u0000"))
}

/// A value `schema` takes, for a property named `name`.
fn valid(spec: &Value, name: &str, schema: &Value, ids: &[(&str, String)]) -> Value {
    let schema = resolve(spec, schema);
    if let Some(first) = schema["enum"].get(0) {
        return first.clone();
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), Some("uuid")) => {
            let id = ids
                .iter()
                .find(|(param, _)| *param == name)
                .or_else(|| ids.iter().find(|(param, _)| *param == "user_id"))
                .map(|(_, id)| id.clone());
            json!(id)
        }
        (Some("string"), Some("date-time")) => json!("2025-11-17T10:20:30Z"),
        (Some("string"), _) if !is_text(schema) && schema.get("pattern").is_some() => json!("1.00"),
        (Some("string"), _) => {
            let len = schema["minLength"].as_u64().unwrap_or(1).max(1) as usize;
            json!("x".repeat(len))
        }
        (Some("integer" | "number"), _) => schema["minimum"]
            .as_f64()
            .map_or(json!(1), |m| json!(m as i64)),
        (Some("boolean"), _) => json!(false),
        (Some("array"), _) => json!([]),
        _ => required_only(spec, schema, ids),
    }
}

/// An object with its required properties only, each valid.
fn required_only(spec: &Value, schema: &Value, ids: &[(&str, String)]) -> Value {
    let mut body = Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().expect("a property name");
        body.insert(
            name.to_owned(),
            valid(spec, name, &schema["properties"][name], ids),
        );
    }
    Value::Object(body)
}

#[tokio::test]
async fn every_text_field_of_every_operation_refuses_a_nul_with_422() {
    let (f, ids) = flat_with_rows().await;
    let spec: Value = f
        .app
        .client
        .get("/openapi.json")
        .send()
        .await
        .0
        .into_body()
        .into_json()
        .await
        .expect("the document");
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().expect("paths") {
        let mut path = template.clone();
        for (param, id) in &ids {
            path = path.replace(&format!("{{{param}}}"), id);
        }
        for (method, operation) in item.as_object().expect("operations") {
            let Some(schema) = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.values().next())
                .map(|media| resolve(&spec, &media["schema"]))
            else {
                continue;
            };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                if !is_text(resolve(&spec, property)) {
                    continue;
                }
                let mut body = required_only(&spec, schema, &ids);
                body[field] = json!(NUL_TEXT);
                let (status, answer) = f
                    .app
                    .call(method.clone(), &path, Some(&f.owner), Some(body.clone()))
                    .await;
                assert_eq!(
                    status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{method} {template} {body}: {answer}"
                );
                assert_eq!(answer["error"], "validation_error", "{answer}");
                assert_eq!(
                    answer["details"][0]["loc"],
                    json!(["body", field]),
                    "{method} {template}: {answer}"
                );
                let msg = answer["details"][0]["msg"].as_str().unwrap_or_default();
                assert!(
                    msg.contains(NUL_REFUSED),
                    "{method} {template} {field}: {msg}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 25, "only {checked} text fields were found");
    for (table, column) in [
        ("todos", "title"),
        ("households", "name"),
        ("shopping_lists", "name"),
        ("expenses", "description"),
        ("users", "full_name"),
    ] {
        assert_eq!(
            f.app
                .count(&format!(
                    "SELECT COUNT(*) || '' FROM {table} WHERE {column} LIKE 'Bins%'"
                ))
                .await,
            i64::from(table == "todos"),
            "{table}: nothing refused was stored"
        );
    }
}

#[tokio::test]
async fn a_nul_in_the_category_query_is_422_naming_it() {
    let (f, ids) = flat_with_rows().await;
    let list = &ids
        .iter()
        .find(|(param, _)| *param == "list_id")
        .expect("list")
        .1;
    for path in [
        format!("/api/v1/shopping-lists/{list}?category=Dai%00ry"),
        format!("/api/v1/shopping-lists/{list}/items?category=%00"),
    ] {
        let (status, body) = f.app.get(&path, &f.owner).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(
            body["details"][0]["loc"],
            json!(["query", "category"]),
            "{body}"
        );
    }
    let (status, _) = f
        .app
        .get(
            &format!("/api/v1/shopping-lists/{list}/items?category=Dairy"),
            &f.owner,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sync_skips_an_entry_with_a_nul_and_applies_the_others() {
    let f = flat().await;
    let entry = |title: &str| json!({"id": uuid::Uuid::new_v4(), "household_id": f.household, "title": title});
    let (status, body) = f
        .app
        .post(
            "/api/v1/sync",
            &f.owner,
            json!({"last_sync_timestamp": 0, "household_id": f.household, "changes": {"todos": {
                "created": [entry(NUL_TEXT), entry("Hoover")], "updated": [], "deleted": []}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM todos WHERE title LIKE 'Bins%'")
            .await,
        0
    );
    assert_eq!(
        f.app
            .count("SELECT COUNT(*) || '' FROM todos WHERE title = 'Hoover'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_sync_timestamp_past_the_year_9999_is_422_not_500() {
    let f = flat().await;
    for huge in [i64::MAX, 8_210_298_412_800_000, 253_402_300_800_000] {
        let (status, body) = f
            .app
            .post(
                "/api/v1/sync",
                &f.owner,
                json!({"last_sync_timestamp": huge, "household_id": f.household}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{huge}: {body}");
        assert_eq!(
            body["details"][0]["loc"],
            json!(["body", "last_sync_timestamp"])
        );
    }
    let (status, body) = f
        .app
        .post(
            "/api/v1/sync",
            &f.owner,
            json!({"last_sync_timestamp": 253_402_300_799_999_i64, "household_id": f.household}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_date_past_the_year_9999_is_422_in_a_body_and_in_a_query() {
    let f = flat().await;
    let (status, body) = f
        .app
        .post(
            "/api/v1/todos",
            &f.owner,
            json!({"household_id": f.household, "title": "Bins", "due_date": "+10000-01-01T00:00:00"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let msg = body["details"][0]["msg"].as_str().unwrap_or_default();
    assert!(msg.contains("years 1 to 9999"), "{msg}");
    let (status, body) = f
        .app
        .get(
            "/api/v1/expenses?start_date=%2B262143-01-01T00:00:00",
            &f.owner,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["loc"], json!(["query", "start_date"]));
}
