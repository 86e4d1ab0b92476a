//! The real binary on a real port: its wiring, its logs, its subcommands, starting while
//! the database is away, and graceful shutdown.

use std::time::Duration;

use serde_json::Value;

use crate::{
    harness::{Service, TestDb, http, on_postgres, wait_for_status},
    http_stub::{HttpStub, StubResponse},
    proxy::FaultProxy,
};

fn flatmates() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_flatmates"));
    command.env_clear().current_dir(std::env::temp_dir());
    command
}

#[tokio::test]
async fn binary_serves_with_request_ids_in_headers_and_every_log_line_and_quiet_probes() {
    let db = TestDb::new().await;
    let logs = tempfile::tempdir().expect("log dir");
    let log_dir = logs.path().to_string_lossy().into_owned();
    let mut service = Service::start(&db.url, &[("LOG_DIR", log_dir.as_str())]).await;
    let http = http();
    wait_for_status(
        &http,
        &service.url("/health/ready"),
        200,
        Duration::from_secs(20),
    )
    .await;

    let ok = http
        .get(service.url("/"))
        .header("X-Request-ID", "proc-ok-1")
        .send()
        .await
        .expect("request");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-request-id"], "proc-ok-1");
    let probe = http
        .get(service.url("/health/live"))
        .header("X-Request-ID", "proc-probe-1")
        .send()
        .await
        .expect("request");
    assert_eq!(probe.headers()["x-request-id"], "proc-probe-1");

    let missing = http
        .get(service.url("/api/v1/nope"))
        .header("X-Request-ID", "proc-404-1")
        .send()
        .await
        .expect("request");
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-request-id"], "proc-404-1");
    let body: Value = missing.json().await.expect("JSON");
    assert_eq!(body["request_id"], "proc-404-1");

    let lines = service.lines().await;
    for id in ["proc-ok-1", "proc-404-1"] {
        let of_request: Vec<Value> = lines
            .iter()
            .filter(|line| line.contains(id))
            .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
            .collect();
        assert!(!of_request.is_empty(), "no log line for {id}");
        for line in &of_request {
            assert_eq!(line["span"]["request_id"], id, "{line}");
        }
    }
    assert!(
        !lines.iter().any(|line| line.contains("proc-probe-1")),
        "a successful probe is logged below info"
    );

    service.terminate();
    let status = tokio::time::timeout(Duration::from_secs(30), service.child.wait())
        .await
        .expect("exits within the grace period")
        .expect("exit status");
    assert!(status.success(), "{status:?}");

    let files: Vec<_> = std::fs::read_dir(logs.path())
        .expect("log dir")
        .flatten()
        .collect();
    assert!(!files.is_empty(), "a rolling log file was written");
    let written = std::fs::read_to_string(files[0].path()).expect("log file");
    assert!(
        written
            .lines()
            .any(|l| l.contains("\"request_id\":\"proc-ok-1\""))
    );
}

#[tokio::test]
async fn invalid_configuration_stops_the_start_with_one_line_naming_the_variable() {
    for (variable, value) in [
        ("PORT", "eighty"),
        ("REQUEST_TIMEOUT_SECONDS", "-3"),
        ("ENVIRONMENT", "moon"),
    ] {
        let output = flatmates().env(variable, value).output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(variable), "{stderr}");
    }
}

#[tokio::test]
async fn production_without_a_secret_key_refuses_to_start() {
    let output = flatmates()
        .env("ENVIRONMENT", "production")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("SECRET_KEY"));
}

#[tokio::test]
async fn openapi_command_prints_the_committed_document() {
    let output = flatmates().arg("openapi").output().expect("runs");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    assert_eq!(
        printed.trim_end(),
        include_str!("../../openapi/openapi.json").trim_end()
    );
}

#[tokio::test]
async fn unknown_command_is_refused_with_usage() {
    let output = flatmates().arg("serv").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage"));
}

/// Runs `flatmates probe ARGS` with `vars`, answering its exit code, its output and how
/// long it took.
async fn run_probe(args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
    let started = std::time::Instant::now();
    let output = tokio::process::Command::from(flatmates())
        .arg("probe")
        .args(args)
        .envs(vars.iter().copied())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(10), output)
        .await
        .expect("the probe exits")
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text, started.elapsed())
}

#[tokio::test]
async fn probe_exits_0_on_both_probes_of_a_ready_service() {
    let db = TestDb::new().await;
    let service = Service::start(&db.url, &[]).await;
    wait_for_status(
        &http(),
        &service.url("/health/ready"),
        200,
        Duration::from_secs(20),
    )
    .await;
    for kind in ["live", "ready"] {
        let (code, output, _) = run_probe(&[kind, "--url", &service.base], &[]).await;
        assert_eq!(code, Some(0), "{kind}: {output}");
        assert!(output.contains(&format!("/health/{kind}: 200")), "{output}");
    }
}

#[tokio::test]
async fn probe_without_a_url_asks_the_port_the_environment_serves_on() {
    let db = TestDb::new().await;
    let service = Service::start(&db.url, &[]).await;
    wait_for_status(
        &http(),
        &service.url("/health/ready"),
        200,
        Duration::from_secs(20),
    )
    .await;
    let port = service.base.rsplit(':').next().expect("a port").to_owned();
    // As in the image: HOST binds every address, so the probe asks loopback.
    let (code, output, _) =
        run_probe(&["ready"], &[("HOST", "0.0.0.0"), ("PORT", port.as_str())]).await;
    assert_eq!(code, Some(0), "{output}");
}

#[tokio::test]
async fn probe_exits_1_with_the_answer_when_the_service_is_not_ready() {
    let stub = HttpStub::start(StubResponse {
        status: 503,
        ..StubResponse::json(
            r#"{"status":"not_ready","database":"disconnected","migrations":"pending"}"#,
        )
    })
    .await;
    let (code, output, _) = run_probe(&["ready", "--url", &stub.base], &[]).await;
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("503"), "{output}");
    assert!(output.contains("not_ready"), "{output}");
    assert_eq!(output.trim_end().lines().count(), 1, "{output}");
}

#[tokio::test]
async fn probe_gives_up_within_about_a_second_on_a_service_that_never_answers() {
    let stub = HttpStub::start(StubResponse {
        delay: Duration::from_secs(30),
        ..StubResponse::json("{}")
    })
    .await;
    let (code, output, took) = run_probe(&["live", "--url", &stub.base], &[]).await;
    assert_eq!(code, Some(1), "{output}");
    // One second of waiting, plus the process's own start on a loaded machine.
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn probe_exits_1_when_nothing_listens() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", unused.local_addr().expect("addr"));
    drop(unused);
    let (code, output, _) = run_probe(&["live", "--url", &base], &[]).await;
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("no answer"), "{output}");
}

#[tokio::test]
async fn probe_without_a_kind_or_with_a_bad_url_is_refused_with_usage() {
    for args in [
        &[][..],
        &["sideways"],
        &["ready", "--url", "not a url"],
        &["live", "--url"],
    ] {
        let (code, output, _) = run_probe(args, &[]).await;
        assert_eq!(code, Some(2), "{args:?}: {output}");
        assert!(output.contains("usage"), "{args:?}: {output}");
    }
}

#[tokio::test]
async fn migrate_command_applies_migrations_and_exits() {
    let db = TestDb::new().await;
    let output = flatmates()
        .arg("migrate")
        .env("DATABASE_URL", &db.url)
        .env("LOG_FORMAT", "json")
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let applied = db.strings("SELECT version FROM seaql_migrations").await;
    assert_eq!(
        applied,
        [
            "m20251101_000001_initial_schema",
            "m20251127_000002_idempotency_keys",
            "m20251203_000003_sync_deletions",
            "m20251207_000004_category_owners",
            "m20251208_000005_ai_preferences"
        ]
    );
    let tables = db
        .strings(match db.backend() {
            sea_orm::DbBackend::Postgres => {
                "SELECT tablename::text FROM pg_tables WHERE tablename = 'idempotency_keys'"
            }
            _ => "SELECT name FROM sqlite_master WHERE name = 'idempotency_keys'",
        })
        .await;
    assert_eq!(tables, ["idempotency_keys"]);
}

#[tokio::test]
async fn starts_while_the_database_is_unreachable_and_becomes_ready_without_restart() {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let db = TestDb::new().await;
    let proxy = FaultProxy::for_postgres(&db.url).await;
    proxy.refuse_for(Duration::from_secs(8));
    let service = Service::start(&db.url_through(proxy.addr()), &[]).await;
    let http = http();

    let live = http
        .get(service.url("/health/live"))
        .send()
        .await
        .expect("live");
    assert_eq!(live.status(), 200);
    let ready = http
        .get(service.url("/health/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 503);

    wait_for_status(
        &http,
        &service.url("/health/ready"),
        200,
        Duration::from_secs(40),
    )
    .await;
    let deep = http
        .get(service.url("/health/deep"))
        .send()
        .await
        .expect("deep");
    assert_eq!(deep.status(), 200);
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_refuses_new_connections() {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (TEST_DATABASE_URL unset)");
        return;
    }
    let db = TestDb::new().await;
    let proxy = FaultProxy::for_postgres(&db.url).await;
    let mut service = Service::start(&db.url_through(proxy.addr()), &[]).await;
    let http = http();
    wait_for_status(
        &http,
        &service.url("/health/ready"),
        200,
        Duration::from_secs(20),
    )
    .await;

    // A slow request: the database is waking, so it waits about three seconds.
    proxy.cut_all();
    proxy.hold_new_connections(Duration::from_secs(3));
    let in_flight = tokio::spawn(http.get(service.url("/health/deep")).send());
    tokio::time::sleep(Duration::from_millis(700)).await;
    service.terminate();
    service
        .wait_for_line(
            |line| line.contains("shutdown signal received"),
            Duration::from_secs(10),
        )
        .await;

    let refused = crate::harness::http()
        .get(service.url("/health/live"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a new connection after SIGTERM was served"
    );
    let answered = in_flight
        .await
        .expect("task")
        .expect("the in-flight request completes");
    assert_eq!(answered.status(), 200);
    let status = tokio::time::timeout(Duration::from_secs(30), service.child.wait())
        .await
        .expect("exits within the grace period")
        .expect("exit status");
    assert!(status.success());
}
