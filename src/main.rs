use std::process::ExitCode;

use flatmates::{
    api,
    config::{ConfigError, Settings},
    db::Db,
    probe_client::{self, ProbeKind},
    server::{self, ServeError},
    telemetry,
};
use reqwest::Url;

/// mimalloc: glibc's malloc, with its arena locks and consolidation, was a fifth of a
/// list-todos request under `make bench`. Built without transparent huge pages: backed by
/// 2 MiB pages, its arenas pushed peak RSS to 55 MiB, past the 50 MiB budget.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: flatmates [serve | migrate | openapi | probe live|ready [--url URL]]";

enum Command {
    Serve,
    Migrate,
    OpenApi,
    /// `url`: the service's base URL; without it, the one this environment would serve.
    Probe {
        kind: ProbeKind,
        url: Option<Url>,
    },
}

fn parse_command() -> Result<Command, String> {
    let mut args = std::env::args().skip(1);
    let command = match args.next().as_deref() {
        None | Some("serve") => Command::Serve,
        Some("migrate") => Command::Migrate,
        Some("openapi") => Command::OpenApi,
        Some("probe") => parse_probe(&mut args)?,
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match args.next() {
        Some(extra) => Err(format!("unexpected argument {extra:?}\n{USAGE}")),
        None => Ok(command),
    }
}

fn parse_probe(args: &mut impl Iterator<Item = String>) -> Result<Command, String> {
    let kind = match args.next() {
        Some(arg) => ProbeKind::from_arg(&arg)
            .ok_or_else(|| format!("unknown probe {arg:?}, expected live or ready\n{USAGE}"))?,
        None => return Err(format!("probe: say which, live or ready\n{USAGE}")),
    };
    let url = match args.next().as_deref() {
        None => None,
        Some("--url") => {
            let raw = args
                .next()
                .ok_or_else(|| format!("--url needs a URL\n{USAGE}"))?;
            Some(Url::parse(&raw).map_err(|err| format!("--url {raw:?}: {err}\n{USAGE}"))?)
        }
        Some(other) => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
    };
    Ok(Command::Probe { kind, url })
}

fn main() -> ExitCode {
    let command = match parse_command() {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if let Command::OpenApi = command {
        println!("{}", api::service().spec());
        return ExitCode::SUCCESS;
    }
    flatmates::install_tls_provider();
    if let Command::Probe { kind, url } = command {
        return probe(kind, url);
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let _telemetry = telemetry::init(&settings);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(error = %err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => server::serve(settings).await.map_err(|err| match err {
                ServeError::Unusable(config) => Failure::Config(config),
                other => Failure::Run(other.to_string()),
            }),
            Command::Migrate => migrate(settings).await,
            Command::OpenApi | Command::Probe { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // As an invalid setting read at start: one line, exit 2.
        Err(Failure::Config(err)) => {
            eprintln!("{err}");
            ExitCode::from(2)
        }
        Err(Failure::Run(err)) => {
            tracing::error!(error = %err, "exiting");
            ExitCode::FAILURE
        }
    }
}

/// Why a command stopped: its configuration (exit 2), or anything else (exit 1).
enum Failure {
    Config(ConfigError),
    Run(String),
}

async fn migrate(settings: Settings) -> Result<(), Failure> {
    let db = Db::open(&settings.database)
        .await
        .map_err(Failure::Config)?;
    let result = db
        .migrate()
        .await
        .map_err(|err| Failure::Run(err.to_string()));
    db.close().await;
    if result.is_ok() {
        tracing::info!("migrations applied");
    }
    result
}

/// Exit 0 when the probe answered 200, 1 otherwise; 2 when there is nothing to ask.
fn probe(kind: ProbeKind, url: Option<Url>) -> ExitCode {
    let base = match url {
        Some(url) => url,
        None => match Settings::from_env()
            .map_err(|err| err.to_string())
            .and_then(|settings| probe_client::local_base_url(&settings))
        {
            Ok(url) => url,
            Err(message) => {
                eprintln!("{message}");
                return ExitCode::from(2);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(probe_client::probe(&base, kind)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            eprintln!("{line}");
            ExitCode::FAILURE
        }
    }
}
