//! Logs and error reporting: tracing to stdout (JSON lines, or pretty for a person in
//! development), optionally to daily-rolled JSON files, and Sentry when a DSN is set.

use std::{
    borrow::Cow,
    io::{self, IsTerminal},
};

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, Settings};

/// Keeps the log file writer and the Sentry client alive; hold it for the process's life,
/// since dropping it flushes and stops both.
pub struct Telemetry {
    _log_file: Option<WorkerGuard>,
    _sentry: Option<sentry::ClientInitGuard>,
}

/// Sentry's options for these settings, with the SDK's defaults (HTTP transport, panic
/// and context integrations) already applied; `None` when no DSN is configured.
pub fn sentry_options(settings: &Settings) -> Option<sentry::ClientOptions> {
    settings.sentry_dsn.clone().map(|dsn| {
        let mut options = sentry::ClientOptions::default();
        options.dsn = Some(dsn);
        options.release = Some(Cow::Owned(settings.version.clone()));
        options.environment = Some(Cow::Borrowed(settings.environment.as_str()));
        let mut options = sentry::apply_defaults(options);
        // Applied once here; `sentry::init` must not add the integrations a second time.
        options.default_integrations = false;
        options
    })
}

pub fn init(settings: &Settings) -> Telemetry {
    let filter = || EnvFilter::new(&settings.log_level);
    let stdout = match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(io::stdout)
            .with_filter(filter())
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(io::stdout().is_terminal())
            .with_writer(io::stdout)
            .with_filter(filter())
            .boxed(),
    };
    let (file, log_file) = match &settings.log_dir {
        Some(dir) => {
            let appender = tracing_appender::rolling::daily(dir, "flatmates.log");
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter())
                .boxed();
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stdout)
        .with(file)
        .init();
    Telemetry {
        _log_file: log_file,
        _sentry: sentry_options(settings).map(sentry::init),
    }
}
