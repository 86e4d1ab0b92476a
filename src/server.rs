//! Running the service: bind at once, migrate in the background until the database
//! answers (then purge what is kept past its retention hourly), serve until SIGTERM or SIGINT, then
//! drain in-flight requests and close the pool.

use std::{io, net::SocketAddr, time::Duration};

use crate::{
    build_app,
    config::{ConfigError, Settings},
    connections::{self, ConnectionLimits},
    db::Db,
    db::retry::is_transient,
    housekeeping,
    state::AppState,
};

/// Pause between migration attempts while the database stays unreachable.
const MIGRATION_RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    /// `DATABASE_URL` cannot be used at all: a matter for whoever configures the service.
    #[error("{0}")]
    Unusable(#[from] ConfigError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("server: {0}")]
    Io(#[from] io::Error),
    #[error("HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    let addr = SocketAddr::new(settings.host, settings.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let grace = settings.shutdown_grace;
    let limits = ConnectionLimits {
        header_read_timeout: settings.header_read_timeout,
        keep_alive_timeout: settings.keep_alive_timeout,
        max_connections: connections::connections_within_file_limit(settings.max_connections),
    };
    tracing::info!(
        service = %settings.project_name,
        version = %settings.version,
        environment = settings.environment.as_str(),
        "starting"
    );
    let db = Db::open(&settings.database).await?;
    let state = AppState::new(settings, db.clone())?;
    tracing::info!(addr = %listener.local_addr()?, max_connections = limits.max_connections, "listening");

    let mut background = tokio::spawn({
        let (state, db) = (state.clone(), db.clone());
        async move {
            migrate_until_done(state).await?;
            housekeeping::purge_expired_periodically(db).await;
            Ok::<_, sea_orm::DbErr>(())
        }
    });
    let server = connections::serve(listener, build_app(state), limits, shutdown_signal(), grace);
    tokio::pin!(server);
    let result = tokio::select! {
        served = &mut server => served.map_err(ServeError::from),
        Ok(Err(err)) = &mut background => Err(err.into()),
    };
    background.abort();
    db.close().await;
    tracing::info!("stopped");
    result
}

/// Applies migrations, waiting out an unreachable database for as long as it takes; a
/// permanent failure (a broken schema, bad credentials) stops the service.
async fn migrate_until_done(state: AppState) -> Result<(), sea_orm::DbErr> {
    loop {
        match state.db.migrate().await {
            Ok(()) => {
                state.mark_migrated();
                tracing::info!("migrations done");
                return Ok(());
            }
            Err(err) if is_transient(&err) => {
                tracing::warn!(error = %err, "database unreachable, migrations pending");
                tokio::time::sleep(MIGRATION_RETRY_PAUSE).await;
            }
            Err(err) => {
                tracing::error!(error = %err, "migrations failed");
                return Err(err);
            }
        }
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received, draining in-flight requests");
}
