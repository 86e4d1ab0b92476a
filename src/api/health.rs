//! Health probes and the root document. `/health/live` touches nothing; `/health/ready`
//! and `/health` make one bounded attempt; `/health/deep` goes through the retried read
//! path every request uses, so it answers what a request would experience. The two probes
//! that answer 503 with a body of their own (deep and ready) are `Probe`s, not `ApiResult`s,
//! so the document describes the body they really send.

use std::time::{Duration, Instant};

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags, payload::Json};

use super::probe::Probe;
use crate::{db::retry::is_transient, error::ApiResult, state::AppState};

/// How long a probe waits for the database before calling it disconnected; a platform's
/// readiness probe must wait longer than this to see the answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Tags)]
enum Tag {
    /// Liveness, readiness and dependency checks.
    Health,
}

#[derive(Object)]
pub struct Health {
    /// `healthy`, or `degraded` when the database does not answer.
    status: String,
    version: String,
    environment: String,
    /// `connected` or `disconnected`.
    database: String,
    /// Round trip of the probe query, when it answered.
    #[oai(nullable)]
    latency_ms: Option<f64>,
}

#[derive(Object)]
pub struct DeepChecks {
    api: String,
    /// `healthy` or `unhealthy`.
    database: String,
    #[oai(nullable)]
    database_latency_ms: Option<f64>,
    #[oai(skip_serializing_if_is_none)]
    database_error: Option<String>,
}

#[derive(Object)]
pub struct DeepHealth {
    /// `healthy` or `unhealthy`.
    status: String,
    version: String,
    environment: String,
    checks: DeepChecks,
}

#[derive(ApiResponse)]
pub enum DeepHealthResponse {
    /// Every dependency answers.
    #[oai(status = 200)]
    Healthy(Json<DeepHealth>),
    /// A dependency does not answer.
    #[oai(status = 503)]
    Unhealthy(Json<DeepHealth>),
}

#[derive(Object)]
pub struct Liveness {
    /// Always `alive`.
    status: String,
}

#[derive(Object)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    status: String,
    /// `connected` or `disconnected`.
    database: String,
    /// `done` or `pending`.
    migrations: String,
}

#[derive(ApiResponse)]
pub enum ReadinessResponse {
    /// The database answers and migrations are done: send traffic.
    #[oai(status = 200)]
    Ready(Json<Readiness>),
    /// Not ready yet: keep traffic away.
    #[oai(status = 503)]
    NotReady(Json<Readiness>),
}

#[derive(Object)]
pub struct Root {
    message: String,
    version: String,
    /// Where the interactive documentation is served.
    #[oai(nullable)]
    docs: Option<String>,
    health: String,
}

/// One attempt through the pool, bounded in time; `Some(latency)` when the database
/// answered. While requests are failing fast the service cannot serve, whatever one ping
/// says, so that counts as no answer.
async fn probe(state: &AppState) -> Option<f64> {
    if state.db.failing_fast() {
        return None;
    }
    let started = Instant::now();
    match tokio::time::timeout(PROBE_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Some(elapsed_ms(started)),
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "database probe failed");
            None
        }
        Err(_) => None,
    }
}

fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0
}

fn connected(latency: Option<f64>) -> String {
    if latency.is_some() {
        "connected"
    } else {
        "disconnected"
    }
    .to_owned()
}

async fn health(state: &AppState) -> Health {
    let latency = probe(state).await;
    Health {
        status: if latency.is_some() {
            "healthy"
        } else {
            "degraded"
        }
        .to_owned(),
        version: state.settings.version.clone(),
        environment: state.settings.environment.as_str().to_owned(),
        database: connected(latency),
        latency_ms: latency,
    }
}

async fn deep_health(state: &AppState) -> DeepHealthResponse {
    let started = Instant::now();
    let result = state.db.read(|conn| async move { conn.ping().await }).await;
    let (database, latency, error) = match result {
        Ok(()) => ("healthy", Some(elapsed_ms(started)), None),
        Err(err) => {
            tracing::warn!(error = %err, "deep health check: database unhealthy");
            let error = if is_transient(&err) {
                "database unreachable"
            } else {
                "database error"
            };
            ("unhealthy", None, Some(error.to_owned()))
        }
    };
    let body = DeepHealth {
        status: database.to_owned(),
        version: state.settings.version.clone(),
        environment: state.settings.environment.as_str().to_owned(),
        checks: DeepChecks {
            api: "healthy".to_owned(),
            database: database.to_owned(),
            database_latency_ms: latency,
            database_error: error,
        },
    };
    if latency.is_some() {
        DeepHealthResponse::Healthy(Json(body))
    } else {
        DeepHealthResponse::Unhealthy(Json(body))
    }
}

pub struct HealthApi;

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// Service and database status; always 200, `degraded` when the database is away.
    #[oai(path = "/health", method = "get", operation_id = "health_check")]
    async fn health(&self, state: Data<&AppState>) -> ApiResult<Json<Health>> {
        Ok(Json(health(&state).await))
    }

    #[oai(
        path = "/api/v1/health",
        method = "get",
        operation_id = "health_check_v1",
        hidden
    )]
    async fn health_v1(&self, state: Data<&AppState>) -> ApiResult<Json<Health>> {
        Ok(Json(health(&state).await))
    }

    /// Database round trip through the retried read path; 503 when it fails.
    #[oai(
        path = "/health/deep",
        method = "get",
        operation_id = "deep_health_check"
    )]
    async fn deep(&self, state: Data<&AppState>) -> Probe<DeepHealthResponse> {
        Probe(deep_health(&state).await)
    }

    #[oai(
        path = "/api/v1/health/deep",
        method = "get",
        operation_id = "deep_health_check_v1",
        hidden
    )]
    async fn deep_v1(&self, state: Data<&AppState>) -> Probe<DeepHealthResponse> {
        Probe(deep_health(&state).await)
    }

    /// Liveness probe: 200 while the process serves; touches nothing.
    #[oai(path = "/health/live", method = "get", operation_id = "liveness_probe")]
    async fn live(&self) -> ApiResult<Json<Liveness>> {
        Ok(Json(Liveness {
            status: "alive".to_owned(),
        }))
    }

    /// Readiness probe: 200 once the database answers and migrations are done, else 503.
    #[oai(
        path = "/health/ready",
        method = "get",
        operation_id = "readiness_probe"
    )]
    async fn ready(&self, state: Data<&AppState>) -> Probe<ReadinessResponse> {
        let latency = probe(&state).await;
        let migrated = state.migrations_done();
        let body = Readiness {
            status: if latency.is_some() && migrated {
                "ready"
            } else {
                "not_ready"
            }
            .to_owned(),
            database: connected(latency),
            migrations: if migrated { "done" } else { "pending" }.to_owned(),
        };
        Probe(if latency.is_some() && migrated {
            ReadinessResponse::Ready(Json(body))
        } else {
            ReadinessResponse::NotReady(Json(body))
        })
    }

    /// Welcome message with links to the documentation and the health check.
    #[oai(path = "/", method = "get", operation_id = "root")]
    async fn root(&self, state: Data<&AppState>) -> ApiResult<Json<Root>> {
        Ok(Json(Root {
            message: "Welcome to Flatmates App API".to_owned(),
            version: state.settings.version.clone(),
            docs: Some("/docs".to_owned()),
            health: "/health".to_owned(),
        }))
    }
}
