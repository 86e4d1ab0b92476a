//! Google ID token verification: RS256 against Google's published key set, with `iss`,
//! `aud` (our `GOOGLE_CLIENT_ID`) and `exp` checked. The key set is cached for the
//! max-age Google gives it and fetched again when it expires or a token names a key id
//! the cache does not hold; while Google is unreachable, keys already held keep working.

use std::time::{Duration, Instant};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{Jwk, JwkSet},
};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

const ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
/// Used when the key set's response carries no `Cache-Control: max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
/// Fetches for unknown key ids are at most this frequent, so forged key ids cannot make
/// us hammer Google.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What a verified ID token says about its user.
#[derive(Debug, Deserialize)]
pub struct GoogleIdentity {
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// The token is not a valid ID token for us; the text says why, without the token.
    #[error("{0}")]
    Invalid(String),
    /// Google's key set could not be fetched and no usable key is cached.
    #[error("Google's signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

struct CachedKeys {
    set: JwkSet,
    fetched_at: Instant,
    max_age: Duration,
}

impl CachedKeys {
    fn is_fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.max_age
    }
}

pub struct GoogleVerifier {
    http: reqwest::Client,
    jwks_url: String,
    client_id: String,
    keys: RwLock<Option<CachedKeys>>,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each
    /// making their own.
    refresh: Mutex<()>,
}

fn invalid(err: jsonwebtoken::errors::Error) -> GoogleError {
    GoogleError::Invalid(err.to_string())
}

impl GoogleVerifier {
    pub fn new(jwks_url: String, client_id: String) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?,
            jwks_url,
            client_id,
            keys: RwLock::new(None),
            refresh: Mutex::new(()),
        })
    }

    pub async fn verify(&self, id_token: &str) -> Result<GoogleIdentity, GoogleError> {
        if self.client_id.is_empty() {
            return Err(GoogleError::Invalid(
                "this server has no GOOGLE_CLIENT_ID configured".into(),
            ));
        }
        let header = jsonwebtoken::decode_header(id_token).map_err(invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(GoogleError::Invalid(format!(
                "unexpected algorithm {:?}",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| GoogleError::Invalid("the token names no signing key".into()))?;
        let jwk = self.key(&kid).await?;
        let key = DecodingKey::from_jwk(&jwk).map_err(invalid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[&self.client_id]);
        validation.set_issuer(&ISSUERS);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<GoogleIdentity>(id_token, &key, &validation).map_err(invalid)?;
        Ok(data.claims)
    }

    async fn cached(&self, kid: &str) -> (Option<Jwk>, bool, Option<Instant>) {
        let keys = self.keys.read().await;
        match keys.as_ref() {
            Some(cache) => (
                cache.set.find(kid).cloned(),
                cache.is_fresh(),
                Some(cache.fetched_at),
            ),
            None => (None, false, None),
        }
    }

    async fn key(&self, kid: &str) -> Result<Jwk, GoogleError> {
        if let (Some(jwk), true, _) = self.cached(kid).await {
            return Ok(jwk);
        }
        let _single_flight = self.refresh.lock().await;
        let (held, fresh, fetched_at) = self.cached(kid).await;
        match held {
            Some(jwk) if fresh => return Ok(jwk),
            None if fresh && fetched_at.is_some_and(|at| at.elapsed() < MIN_REFRESH_INTERVAL) => {
                return Err(GoogleError::Invalid(format!("unknown signing key {kid:?}")));
            }
            _ => {}
        }
        match self.fetch().await {
            Ok(cache) => {
                let found = cache.set.find(kid).cloned();
                *self.keys.write().await = Some(cache);
                found.ok_or_else(|| GoogleError::Invalid(format!("unknown signing key {kid:?}")))
            }
            Err(err) => match held {
                Some(stale) => {
                    tracing::warn!(error = %err, "using cached Google keys past their max-age");
                    Ok(stale)
                }
                None => {
                    tracing::error!(error = %err, "cannot fetch Google's signing keys");
                    Err(err)
                }
            },
        }
    }

    async fn fetch(&self) -> Result<CachedKeys, GoogleError> {
        let unavailable = |err: reqwest::Error| GoogleError::KeysUnavailable(err.to_string());
        let response = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age)
            .unwrap_or(DEFAULT_MAX_AGE);
        let set: JwkSet = response.json().await.map_err(unavailable)?;
        Ok(CachedKeys {
            set,
            fetched_at: Instant::now(),
            max_age,
        })
    }
}

/// The `max-age` of a `Cache-Control` header value.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let (name, value) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| value.trim().parse().ok().map(Duration::from_secs))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=19800, must-revalidate"),
            Some(Duration::from_secs(19800))
        );
        assert_eq!(max_age("MAX-AGE=5"), Some(Duration::from_secs(5)));
        assert_eq!(max_age("no-store"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
