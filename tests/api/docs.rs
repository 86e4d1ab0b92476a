//! The OpenAPI document: served, browsable, committed, and complete about errors.

use serde_json::Value;

use crate::harness::TestApp;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

fn generated() -> String {
    flatmates::api::service().spec()
}

#[test]
fn committed_document_matches_the_code() {
    assert!(
        COMMITTED.trim_end() == generated().trim_end(),
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    );
}

#[tokio::test]
async fn document_is_served_identical_to_the_committed_one() {
    let app = TestApp::spawn().await;
    let committed: Value = serde_json::from_str(COMMITTED).expect("committed document is JSON");
    for path in ["/openapi.json", "/api/v1/openapi.json"] {
        let response = app.client.get(path).send().await;
        response.assert_status_is_ok();
        let served: Value = response.0.into_body().into_json().await.expect("JSON");
        assert_eq!(served, committed, "{path}");
    }
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = TestApp::spawn().await;
    let response = app.client.get("/docs").send().await;
    response.assert_status_is_ok();
    let html = response.0.into_body().into_string().await.expect("html");
    assert!(html.contains("swagger-ui"));
}

#[test]
fn every_operation_has_a_unique_id_and_declares_its_error_statuses() {
    let document: Value = serde_json::from_str(&generated()).expect("JSON");
    let mut ids = std::collections::HashSet::new();
    let paths = document["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            let responses = operation["responses"].as_object().expect("responses");
            for status in ["404", "405", "413", "422", "500", "503", "504"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            // The two probes answer 503 with a body of their own, as the contract says.
            let is_probe = matches!(id, "deep_health_check" | "readiness_probe");
            for (status, response) in responses {
                if status.starts_with('2') || (is_probe && status == "503") {
                    continue;
                }
                let schema =
                    &response["content"]["application/json; charset=utf-8"]["schema"]["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let error_body = &document["components"]["schemas"]["ErrorBody"];
    let required: Vec<&str> = error_body["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["error", "message", "detail", "status", "request_id"] {
        assert!(required.contains(&field), "ErrorBody.{field} is required");
    }
}
