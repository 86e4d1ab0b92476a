use std::process::ExitCode;

use flatmates::{api, config::Settings, db::Db, server, telemetry};

/// mimalloc: glibc's malloc, with its arena locks and consolidation, was a fifth of a
/// list-todos request under `make bench`. Built without transparent huge pages: backed by
/// 2 MiB pages, its arenas pushed peak RSS to 55 MiB, past the 50 MiB budget.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: flatmates [serve | migrate | openapi]";

enum Command {
    Serve,
    Migrate,
    OpenApi,
}

fn parse_command() -> Result<Command, String> {
    let mut args = std::env::args().skip(1);
    let command = match args.next().as_deref() {
        None | Some("serve") => Command::Serve,
        Some("migrate") => Command::Migrate,
        Some("openapi") => Command::OpenApi,
        Some(other) => return Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match args.next() {
        Some(extra) => Err(format!("unexpected argument {extra:?}\n{USAGE}")),
        None => Ok(command),
    }
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
            Command::Serve => server::serve(settings).await.map_err(|err| err.to_string()),
            Command::Migrate => migrate(settings).await,
            Command::OpenApi => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "exiting");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(settings: Settings) -> Result<(), String> {
    let db = Db::connect(&settings.database)
        .await
        .map_err(|err| err.to_string())?;
    let result = db.migrate().await.map_err(|err| err.to_string());
    db.close().await;
    if result.is_ok() {
        tracing::info!("migrations applied");
    }
    result
}
