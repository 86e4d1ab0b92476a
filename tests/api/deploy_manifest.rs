//! `deploy/containerapp.yaml` against the code: its probes ask the routes the service
//! answers, on the port it serves, within the times its probes take; the platform waits
//! longer than the service drains; and the settings it gives are ones the service accepts.

use std::{collections::HashMap, time::Duration};

use flatmates::{config::Settings, probe_client::ProbeKind};
use serde_json::Value;

use crate::container_image::image_env;

const MANIFEST: &str = include_str!("../../deploy/containerapp.yaml");
const DOCUMENT: &str = include_str!("../../openapi/openapi.json");
/// The secrets the manifest must take from Key Vault rather than write down.
const SECRETS: [&str; 3] = ["DATABASE_URL", "SECRET_KEY", "SENTRY_DSN"];

fn manifest() -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(MANIFEST).expect("the manifest is YAML");
    serde_json::to_value(yaml).expect("as JSON")
}

fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    value
        .pointer(pointer)
        .unwrap_or_else(|| panic!("the manifest has no {pointer}"))
}

/// The service's container (the one running the image).
fn container(manifest: &Value) -> &Value {
    let containers = at(manifest, "/properties/template/containers")
        .as_array()
        .expect("a list of containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

fn probe<'a>(container: &'a Value, kind: &str) -> &'a Value {
    at(container, "/probes")
        .as_array()
        .expect("a list of probes")
        .iter()
        .find(|probe| probe["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} probe"))
}

/// The settings the container starts with: the manifest's values over the image's ENV,
/// with stand-ins for what the secrets hold.
fn container_settings(container: &Value) -> Settings {
    let mut vars: HashMap<String, String> = image_env().into_iter().collect();
    for entry in at(container, "/env").as_array().expect("a list") {
        let name = entry["name"].as_str().expect("a name").to_owned();
        if let Some(value) = entry["value"].as_str() {
            vars.insert(name, value.to_owned());
        }
    }
    vars.insert(
        "DATABASE_URL".into(),
        "postgres://flatmates:secret@db.example:5432/flatmates?sslmode=require".into(),
    );
    vars.insert("SECRET_KEY".into(), "k".repeat(64));
    vars.insert(
        "SENTRY_DSN".into(),
        "https://public@sentry.example/1".into(),
    );
    Settings::from_lookup(|name| vars.get(name).cloned())
        .expect("the service accepts the manifest's settings")
}

fn seconds(value: &Value) -> Duration {
    Duration::from_secs(value.as_u64().expect("whole seconds"))
}

#[test]
fn probes_ask_the_routes_the_service_answers_on_the_port_it_serves() {
    let manifest = manifest();
    let container = container(&manifest);
    let port = container_settings(container).port;
    let document: Value = serde_json::from_str(DOCUMENT).expect("JSON");
    for (kind, asks) in [
        ("Startup", ProbeKind::Live),
        ("Liveness", ProbeKind::Live),
        ("Readiness", ProbeKind::Ready),
    ] {
        let probe = probe(container, kind);
        assert_eq!(probe["httpGet"]["path"], asks.path(), "{kind}");
        assert_eq!(probe["httpGet"]["port"], port, "{kind}");
        assert!(
            document["paths"][asks.path()]["get"].is_object(),
            "{kind}: the service answers no GET {}",
            asks.path()
        );
    }
    assert_eq!(
        at(&manifest, "/properties/configuration/ingress/targetPort"),
        port
    );
}

#[test]
fn readiness_waits_longer_than_the_service_waits_for_its_database() {
    let manifest = manifest();
    let readiness = probe(container(&manifest), "Readiness");
    assert!(
        seconds(&readiness["timeoutSeconds"]) > flatmates::api::PROBE_TIMEOUT,
        "a slow database would read as no answer instead of 503"
    );
}

#[test]
fn termination_grace_outlasts_the_shutdown_grace_the_container_gets() {
    let manifest = manifest();
    let shutdown_grace = container_settings(container(&manifest)).shutdown_grace;
    let termination = seconds(at(
        &manifest,
        "/properties/template/terminationGracePeriodSeconds",
    ));
    assert!(
        termination > shutdown_grace,
        "SIGKILL after {termination:?} cuts the {shutdown_grace:?} drain short"
    );
}

#[test]
fn database_url_secret_key_and_sentry_dsn_come_from_declared_secrets_only() {
    let manifest = manifest();
    let declared: Vec<&str> = at(&manifest, "/properties/configuration/secrets")
        .as_array()
        .expect("a list")
        .iter()
        .map(|secret| {
            assert!(
                secret.get("value").is_none(),
                "secret {} is written into the manifest",
                secret["name"]
            );
            secret["name"].as_str().expect("a name")
        })
        .collect();
    let env = at(container(&manifest), "/env").as_array().expect("a list");
    for variable in SECRETS {
        let entry = env
            .iter()
            .find(|entry| entry["name"] == variable)
            .unwrap_or_else(|| panic!("{variable} is not given to the container"));
        assert!(entry.get("value").is_none(), "{variable} written in plain");
        let secret = entry["secretRef"].as_str().expect("a secretRef");
        assert!(declared.contains(&secret), "{variable}: no secret {secret}");
    }
}

#[test]
fn scale_has_an_http_rule_and_keeps_a_replica_up() {
    let manifest = manifest();
    let scale = at(&manifest, "/properties/template/scale");
    assert!(scale["minReplicas"].as_u64() >= Some(1));
    let rules = scale["rules"].as_array().expect("scale rules");
    assert!(
        rules
            .iter()
            .any(|rule| rule["http"]["metadata"]["concurrentRequests"].is_string()),
        "{rules:?}"
    );
}
