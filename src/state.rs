//! What every handler shares: settings, the database, who tokens sign in, and whether
//! migrations are done.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use crate::{
    ai::AiClient,
    auth::{Authenticator, google::GoogleVerifier},
    config::Settings,
    db::Db,
    metrics::Metrics,
};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub google: Arc<GoogleVerifier>,
    pub metrics: Arc<Metrics>,
    pub ai: Arc<AiClient>,
    /// Also the request data the operations' bearer checker reads.
    pub authenticator: Arc<Authenticator>,
    migrated: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(settings: Settings, db: Db) -> Result<Self, reqwest::Error> {
        let google = GoogleVerifier::new(
            settings.google_jwks_url.clone(),
            settings.google_client_id.clone(),
        )?;
        let ai = AiClient::new(settings.ai.clone())?;
        Ok(Self {
            ai: Arc::new(ai),
            authenticator: Arc::new(Authenticator::new(
                settings.secret_key.clone(),
                settings.caller_cache,
                db.clone(),
            )),
            settings: Arc::new(settings),
            db,
            google: Arc::new(google),
            metrics: Arc::default(),
            migrated: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn migrations_done(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }
}
