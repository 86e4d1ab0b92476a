//! `flatmates probe live|ready`: asks a running service's probe and answers whether it said
//! 200, so a container's health check needs no curl in the image. The service's own HTTP
//! client (reqwest) makes the one request; nothing else is needed.

use std::{net::IpAddr, time::Duration};

use reqwest::Url;

use crate::config::Settings;

/// Bounds the whole exchange, connecting included: a health check that hangs holds the
/// platform's check slot, and a probe slower than this is as good as a failed one.
pub const TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    Live,
    Ready,
}

impl ProbeKind {
    pub fn from_arg(arg: &str) -> Option<Self> {
        match arg {
            "live" => Some(Self::Live),
            "ready" => Some(Self::Ready),
            _ => None,
        }
    }

    /// The route the service answers this probe on (see `api/health.rs`).
    pub fn path(self) -> &'static str {
        match self {
            Self::Live => "/health/live",
            Self::Ready => "/health/ready",
        }
    }
}

/// The service these settings would serve: its port, on loopback when it binds every
/// address, since a health check runs inside the service's own container.
pub fn local_base_url(settings: &Settings) -> Result<Url, String> {
    let host = match settings.host {
        host if host.is_unspecified() => match host {
            IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]),
        },
        host => host,
    };
    let authority = match host {
        IpAddr::V4(v4) => format!("{v4}:{}", settings.port),
        IpAddr::V6(v6) => format!("[{v6}]:{}", settings.port),
    };
    Url::parse(&format!("http://{authority}/")).map_err(|err| format!("{authority}: {err}"))
}

/// Asks `kind`'s probe of the service at `base`: `Ok` with a line to print when it answered
/// 200, `Err` with a line saying what came instead (another status, or nothing in time).
pub async fn probe(base: &Url, kind: ProbeKind) -> Result<String, String> {
    let url = base
        .join(kind.path())
        .map_err(|err| format!("{base}: {err}"))?;
    // No proxy: HTTP_PROXY in the container's environment is for the way out, not for
    // asking our own port.
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|err| format!("cannot build an HTTP client: {err}"))?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|err| format!("{url}: no answer: {err}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let line = format!("{url}: {status} {}", body.trim().replace('\n', " "));
    if status == reqwest::StatusCode::OK {
        Ok(line)
    } else {
        Err(line)
    }
}
