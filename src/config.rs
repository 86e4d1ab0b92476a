//! Settings from the environment (and an optional `.env`), validated once at start.
//! Every value has a default that lets `make run` work on a fresh machine.

use std::{fmt, net::IpAddr, path::PathBuf, str::FromStr, time::Duration};

/// A production `SECRET_KEY` shorter than this is refused: HS256 wants at least 256 bits.
const MIN_SECRET_KEY_LEN: usize = 32;
const DEVELOPMENT_SECRET_KEY: &str = "development-only-secret-key-change-me";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Staging,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Staging => "staging",
            Self::Production => "production",
        }
    }
}

impl FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" => Ok(Self::Development),
            "staging" => Ok(Self::Staging),
            "production" => Ok(Self::Production),
            _ => Err("expected development, staging or production".into()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AiProvider {
    OpenAi,
    Gemini,
}

impl FromStr for AiProvider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "openai" => Ok(Self::OpenAi),
            "gemini" => Ok(Self::Gemini),
            _ => Err("expected openai or gemini".into()),
        }
    }
}

/// Where chore suggestions come from; without the chosen provider's key there are none.
#[derive(Clone, Debug)]
pub struct AiSettings {
    pub provider: AiProvider,
    pub openai_api_key: Option<String>,
    pub openai_base_url: String,
    pub openai_model: String,
    pub gemini_api_key: Option<String>,
    pub gemini_base_url: String,
    pub gemini_model: String,
    /// Bounds one call to the provider.
    pub timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "pretty" => Ok(Self::Pretty),
            _ => Err("expected json or pretty".into()),
        }
    }
}

/// How the pool and the retry layer treat the database; tuned for a serverless PostgreSQL
/// that suspends when idle and takes seconds to wake.
#[derive(Clone, Debug)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// Bounds one attempt to get a connection, including opening a new one to a waking server.
    pub acquire_timeout: Duration,
    /// Well inside Neon's 5-minute suspend and Azure's 4-minute NAT idle limit (the pool
    /// reaps idle connections on this period, so one may stay up to twice as long).
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
    /// A pooled connection idle longer than this is pinged before it is handed out.
    pub ping_if_idle_for: Duration,
    /// How long transient failures are retried before a request gets a 503.
    pub retry_budget: Duration,
    /// Bounds every round trip: a statement, a ping, a `COMMIT`. One that gets no answer
    /// in time is a transient failure, as if the connection had been lost.
    pub statement_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub environment: Environment,
    pub project_name: String,
    pub version: String,
    pub host: IpAddr,
    pub port: u16,
    pub secret_key: String,
    /// Lifetime of the access tokens we issue (`ACCESS_TOKEN_EXPIRE_MINUTES`).
    pub access_token_lifetime: Duration,
    /// The audience Google ID tokens must carry; sign-in is refused while it is empty.
    pub google_client_id: String,
    /// Where Google publishes its signing keys (a JWK set).
    pub google_jwks_url: String,
    pub database: DatabaseSettings,
    pub log_level: String,
    pub log_format: LogFormat,
    pub log_dir: Option<PathBuf>,
    pub sentry_dsn: Option<sentry::types::Dsn>,
    pub request_timeout: Duration,
    /// A client must send a request's whole head within this, or its connection is closed.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub keep_alive_timeout: Duration,
    /// Client connections open at once, further capped below the open-file limit.
    pub max_connections: usize,
    pub shutdown_grace: Duration,
    /// How long the user a token names is kept in memory (`CALLER_CACHE_SECONDS`); zero
    /// keeps none.
    pub caller_cache: Duration,
    pub max_body_bytes: usize,
    /// JSON values (each number, string, array, object...) a request body may hold.
    pub max_body_json_values: usize,
    /// Whether `/metrics` answers (`ENABLE_METRICS`).
    pub enable_metrics: bool,
    /// Origins allowed by CORS (`BACKEND_CORS_ORIGINS`); empty allows every origin.
    pub cors_origins: Vec<String>,
    pub ai: AiSettings,
}

/// A setting that cannot be used; its message is one line naming the variable.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.variable, self.reason
        )
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads the process environment, after loading `.env` from the working directory if
    /// there is one (variables already set win over the file).
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(ConfigError {
                variable: ".env",
                reason: err.to_string(),
            });
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any source of variables; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let vars = Vars(&lookup);
        let environment: Environment = vars.parse("ENVIRONMENT", Environment::Development)?;
        let secret_key = match vars.get("SECRET_KEY") {
            Some(key)
                if environment == Environment::Production && key.len() < MIN_SECRET_KEY_LEN =>
            {
                return Err(ConfigError {
                    variable: "SECRET_KEY",
                    reason: format!(
                        "must be at least {MIN_SECRET_KEY_LEN} characters in production"
                    ),
                });
            }
            Some(key) => key,
            None if environment == Environment::Development => DEVELOPMENT_SECRET_KEY.to_owned(),
            None => {
                return Err(ConfigError {
                    variable: "SECRET_KEY",
                    reason: format!("is required in {}", environment.as_str()),
                });
            }
        };
        let request_timeout = vars.seconds("REQUEST_TIMEOUT_SECONDS", 30)?;
        let statement_timeout = vars.seconds("DB_STATEMENT_TIMEOUT_SECONDS", 5)?;
        if statement_timeout >= request_timeout {
            // A stalled statement would then outlast its request, which answers 504 without
            // the connection ever being recognised as stuck.
            return Err(ConfigError {
                variable: "DB_STATEMENT_TIMEOUT_SECONDS",
                reason: "must be shorter than REQUEST_TIMEOUT_SECONDS".into(),
            });
        }
        let caller_cache = vars.seconds_or_zero("CALLER_CACHE_SECONDS", 5)?;
        if caller_cache >= request_timeout {
            // Erasing an account waits out the cache before answering (see
            // `Authenticator::erased`), within its request.
            return Err(ConfigError {
                variable: "CALLER_CACHE_SECONDS",
                reason: "must be shorter than REQUEST_TIMEOUT_SECONDS".into(),
            });
        }
        let default_format = match environment {
            Environment::Development => LogFormat::Pretty,
            _ => LogFormat::Json,
        };
        Ok(Self {
            environment,
            project_name: vars
                .get("PROJECT_NAME")
                .unwrap_or_else(|| "Flatmates App API".into()),
            version: vars
                .get("VERSION")
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into()),
            host: vars.parse("HOST", IpAddr::from([0, 0, 0, 0]))?,
            port: vars.parse("PORT", 8000)?,
            secret_key,
            access_token_lifetime: Duration::from_secs(
                60 * vars.parse_positive::<u64>("ACCESS_TOKEN_EXPIRE_MINUTES", 10080)?,
            ),
            google_client_id: vars.get("GOOGLE_CLIENT_ID").unwrap_or_default(),
            google_jwks_url: vars
                .get("GOOGLE_JWKS_URL")
                .unwrap_or_else(|| "https://www.googleapis.com/oauth2/v3/certs".into()),
            database: DatabaseSettings {
                url: vars
                    .get("DATABASE_URL")
                    .unwrap_or_else(|| "sqlite://flatmates.db?mode=rwc".into()),
                max_connections: vars.parse_positive("DB_MAX_CONNECTIONS", 10)?,
                acquire_timeout: vars.seconds("DB_ACQUIRE_TIMEOUT_SECONDS", 2)?,
                idle_timeout: vars.seconds("DB_IDLE_TIMEOUT_SECONDS", 60)?,
                max_lifetime: vars.seconds("DB_MAX_LIFETIME_SECONDS", 1800)?,
                ping_if_idle_for: vars.seconds("DB_PING_IF_IDLE_SECONDS", 30)?,
                retry_budget: vars.seconds("DB_RETRY_BUDGET_SECONDS", 12)?,
                statement_timeout,
            },
            log_level: vars.log_filter("LOG_LEVEL", "info")?,
            log_format: vars.parse("LOG_FORMAT", default_format)?,
            log_dir: vars.get("LOG_DIR").map(PathBuf::from),
            sentry_dsn: vars.optional("SENTRY_DSN")?,
            request_timeout,
            header_read_timeout: vars.seconds("HEADER_READ_TIMEOUT_SECONDS", 5)?,
            keep_alive_timeout: vars.seconds("KEEP_ALIVE_TIMEOUT_SECONDS", 60)?,
            max_connections: vars.parse_positive("MAX_CONNECTIONS", 1000)?,
            shutdown_grace: vars.seconds("SHUTDOWN_GRACE_SECONDS", 20)?,
            caller_cache,
            max_body_bytes: vars.parse_positive("MAX_BODY_BYTES", 1024 * 1024)?,
            max_body_json_values: vars.parse_positive("MAX_BODY_JSON_VALUES", 100_000)?,
            enable_metrics: vars.parse("ENABLE_METRICS", true)?,
            cors_origins: vars.origins("BACKEND_CORS_ORIGINS")?,
            ai: AiSettings {
                // Gemini is the default when only its key is set, as in the old backend.
                provider: vars.parse(
                    "AI_PROVIDER",
                    match (vars.get("GEMINI_API_KEY"), vars.get("OPENAI_API_KEY")) {
                        (Some(_), None) => AiProvider::Gemini,
                        _ => AiProvider::OpenAi,
                    },
                )?,
                openai_api_key: vars.get("OPENAI_API_KEY"),
                openai_base_url: vars
                    .get("OPENAI_BASE_URL")
                    .unwrap_or_else(|| "https://api.openai.com/v1".into()),
                openai_model: vars
                    .get("OPENAI_MODEL")
                    .unwrap_or_else(|| "gpt-4o-mini".into()),
                gemini_api_key: vars.get("GEMINI_API_KEY"),
                gemini_base_url: vars
                    .get("GEMINI_BASE_URL")
                    .unwrap_or_else(|| "https://generativelanguage.googleapis.com".into()),
                gemini_model: vars
                    .get("GEMINI_MODEL")
                    .unwrap_or_else(|| "gemini-1.5-flash".into()),
                timeout: vars.seconds("AI_TIMEOUT_SECONDS", 10)?,
            },
        })
    }
}

struct Vars<'a, F>(&'a F);

impl<F: Fn(&str) -> Option<String>> Vars<'_, F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.trim().is_empty())
    }

    fn parse<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|err: T::Err| ConfigError {
                variable: name,
                reason: format!("{err} (got {raw:?})"),
            }),
        }
    }

    fn optional<T>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        self.get(name)
            .map(|raw| {
                raw.trim().parse().map_err(|err: T::Err| ConfigError {
                    variable: name,
                    reason: format!("{err} (got {raw:?})"),
                })
            })
            .transpose()
    }

    /// A JSON list (`["https://a.example"]`) or a comma-separated list of origins.
    fn origins(&self, name: &'static str) -> Result<Vec<String>, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(Vec::new());
        };
        let origins: Vec<String> = if raw.trim_start().starts_with('[') {
            serde_json::from_str(&raw).map_err(|err| ConfigError {
                variable: name,
                reason: format!("not a JSON list of strings: {err}"),
            })?
        } else {
            raw.split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect()
        };
        if let Some(bad) = origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")))
        {
            return Err(ConfigError {
                variable: name,
                reason: format!("{bad:?} is not an http(s) origin"),
            });
        }
        Ok(origins)
    }

    /// A tracing filter directive such as `info` or `flatmates=debug,sqlx=warn`.
    fn log_filter(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        let directive = self.get(name).unwrap_or_else(|| default.to_owned());
        tracing_subscriber::EnvFilter::try_new(&directive).map_err(|err| ConfigError {
            variable: name,
            reason: format!("{err} (got {directive:?})"),
        })?;
        Ok(directive)
    }

    fn parse_positive<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Default,
        T::Err: fmt::Display,
    {
        let value = self.parse(name, default)?;
        if value <= T::default() {
            return Err(ConfigError {
                variable: name,
                reason: "must be greater than zero".into(),
            });
        }
        Ok(value)
    }

    fn seconds(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        match self.seconds_or_zero(name, default)? {
            Duration::ZERO => Err(ConfigError {
                variable: name,
                reason: "must be a positive number of seconds".into(),
            }),
            positive => Ok(positive),
        }
    }

    /// As `seconds`, where 0 turns something off.
    fn seconds_or_zero(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let seconds: f64 = self.parse(name, default as f64)?;
        Duration::try_from_secs_f64(seconds).map_err(|_| ConfigError {
            variable: name,
            reason: "must be a positive number of seconds".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_serve_sqlite_on_port_8000_in_development() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.environment, Environment::Development);
        assert_eq!(s.host, IpAddr::from([0, 0, 0, 0]));
        assert_eq!(s.port, 8000);
        assert!(s.database.url.starts_with("sqlite://"));
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.header_read_timeout, Duration::from_secs(5));
        assert_eq!(s.keep_alive_timeout, Duration::from_secs(60));
        assert_eq!(s.max_connections, 1000);
        assert_eq!(s.log_format, LogFormat::Pretty);
    }

    #[test]
    fn token_lifetime_is_read_in_minutes() {
        assert_eq!(
            settings(&[]).unwrap().access_token_lifetime,
            Duration::from_secs(10080 * 60)
        );
        let s = settings(&[("ACCESS_TOKEN_EXPIRE_MINUTES", "15")]).unwrap();
        assert_eq!(s.access_token_lifetime, Duration::from_secs(900));
        assert_eq!(
            settings(&[("ACCESS_TOKEN_EXPIRE_MINUTES", "0")])
                .unwrap_err()
                .variable,
            "ACCESS_TOKEN_EXPIRE_MINUTES"
        );
    }

    #[test]
    fn invalid_port_names_the_variable() {
        let err = settings(&[("PORT", "eighty")]).unwrap_err();
        assert_eq!(err.variable, "PORT");
        assert!(err.to_string().starts_with("invalid configuration: PORT:"));
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn invalid_environment_names_the_variable() {
        assert_eq!(
            settings(&[("ENVIRONMENT", "prod")]).unwrap_err().variable,
            "ENVIRONMENT"
        );
    }

    #[test]
    fn the_caller_cache_is_five_seconds_by_default_and_zero_turns_it_off() {
        assert_eq!(
            settings(&[]).map(|s| s.caller_cache),
            Ok(Duration::from_secs(5))
        );
        assert_eq!(
            settings(&[("CALLER_CACHE_SECONDS", "0")]).map(|s| s.caller_cache),
            Ok(Duration::ZERO)
        );
        assert_eq!(
            settings(&[
                ("CALLER_CACHE_SECONDS", "30"),
                ("REQUEST_TIMEOUT_SECONDS", "30")
            ])
            .unwrap_err()
            .variable,
            "CALLER_CACHE_SECONDS"
        );
        for bad in ["-1", "NaN", "soon"] {
            assert_eq!(
                settings(&[("CALLER_CACHE_SECONDS", bad)])
                    .unwrap_err()
                    .variable,
                "CALLER_CACHE_SECONDS",
                "{bad}"
            );
        }
    }

    #[test]
    fn zero_or_negative_durations_are_refused() {
        assert_eq!(
            settings(&[("REQUEST_TIMEOUT_SECONDS", "0")])
                .unwrap_err()
                .variable,
            "REQUEST_TIMEOUT_SECONDS"
        );
        assert_eq!(
            settings(&[("DB_RETRY_BUDGET_SECONDS", "-1")])
                .unwrap_err()
                .variable,
            "DB_RETRY_BUDGET_SECONDS"
        );
        assert_eq!(
            settings(&[("DB_MAX_CONNECTIONS", "0")])
                .unwrap_err()
                .variable,
            "DB_MAX_CONNECTIONS"
        );
    }

    #[test]
    fn fractional_seconds_are_accepted() {
        let s = settings(&[("DB_RETRY_BUDGET_SECONDS", "1.5")]).unwrap();
        assert_eq!(s.database.retry_budget, Duration::from_millis(1500));
    }

    #[test]
    fn production_without_secret_key_refuses_to_start() {
        let err = settings(&[("ENVIRONMENT", "production")]).unwrap_err();
        assert_eq!(err.variable, "SECRET_KEY");
    }

    #[test]
    fn production_with_short_secret_key_refuses_to_start() {
        let err = settings(&[("ENVIRONMENT", "production"), ("SECRET_KEY", "short")]).unwrap_err();
        assert_eq!(err.variable, "SECRET_KEY");
    }

    #[test]
    fn staging_without_secret_key_refuses_to_start() {
        assert_eq!(
            settings(&[("ENVIRONMENT", "staging")])
                .unwrap_err()
                .variable,
            "SECRET_KEY"
        );
    }

    #[test]
    fn production_with_long_secret_key_logs_json() {
        let key = "k".repeat(MIN_SECRET_KEY_LEN);
        let s = settings(&[("ENVIRONMENT", "PRODUCTION"), ("SECRET_KEY", &key)]).unwrap();
        assert_eq!(s.environment, Environment::Production);
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn malformed_sentry_dsn_names_the_variable() {
        assert_eq!(
            settings(&[("SENTRY_DSN", "not a dsn")])
                .unwrap_err()
                .variable,
            "SENTRY_DSN"
        );
    }

    #[test]
    fn malformed_log_level_names_the_variable() {
        assert_eq!(
            settings(&[("LOG_LEVEL", "info,[")]).unwrap_err().variable,
            "LOG_LEVEL"
        );
    }

    #[test]
    fn cors_origins_are_read_from_json_or_comma_lists() {
        assert!(settings(&[]).unwrap().cors_origins.is_empty());
        let json = settings(&[(
            "BACKEND_CORS_ORIGINS",
            r#"["https://a.example", "http://b.example"]"#,
        )])
        .unwrap();
        assert_eq!(json.cors_origins, ["https://a.example", "http://b.example"]);
        let comma = settings(&[(
            "BACKEND_CORS_ORIGINS",
            "https://a.example, https://c.example",
        )])
        .unwrap();
        assert_eq!(
            comma.cors_origins,
            ["https://a.example", "https://c.example"]
        );
        assert_eq!(
            settings(&[("BACKEND_CORS_ORIGINS", "[1, 2]")])
                .unwrap_err()
                .variable,
            "BACKEND_CORS_ORIGINS"
        );
        assert_eq!(
            settings(&[("BACKEND_CORS_ORIGINS", "ftp://x")])
                .unwrap_err()
                .variable,
            "BACKEND_CORS_ORIGINS"
        );
    }

    #[test]
    fn statement_timeout_defaults_to_5_s_and_must_be_shorter_than_the_request_deadline() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database.statement_timeout, Duration::from_secs(5));
        assert_eq!(s.database.idle_timeout, Duration::from_secs(60));
        let s = settings(&[("DB_STATEMENT_TIMEOUT_SECONDS", "0.5")]).unwrap();
        assert_eq!(s.database.statement_timeout, Duration::from_millis(500));
        for (statement, request) in [("30", "30"), ("45", "30"), ("5", "4")] {
            let err = settings(&[
                ("DB_STATEMENT_TIMEOUT_SECONDS", statement),
                ("REQUEST_TIMEOUT_SECONDS", request),
            ])
            .unwrap_err();
            assert_eq!(
                err.variable, "DB_STATEMENT_TIMEOUT_SECONDS",
                "{statement} vs {request}"
            );
        }
        assert_eq!(
            settings(&[("DB_STATEMENT_TIMEOUT_SECONDS", "0")])
                .unwrap_err()
                .variable,
            "DB_STATEMENT_TIMEOUT_SECONDS"
        );
    }

    #[test]
    fn metrics_switch_must_be_a_boolean() {
        assert!(settings(&[]).unwrap().enable_metrics);
        assert!(
            !settings(&[("ENABLE_METRICS", "false")])
                .unwrap()
                .enable_metrics
        );
        assert_eq!(
            settings(&[("ENABLE_METRICS", "maybe")])
                .unwrap_err()
                .variable,
            "ENABLE_METRICS"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = settings(&[("PORT", ""), ("SENTRY_DSN", " ")]).unwrap();
        assert_eq!(s.port, 8000);
        assert!(s.sentry_dsn.is_none());
    }
}
