//! What every handler shares: settings, the database, and whether migrations are done.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use crate::{config::Settings, db::Db};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    migrated: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(settings: Settings, db: Db) -> Self {
        Self {
            settings: Arc::new(settings),
            db,
            migrated: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn migrations_done(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    pub fn mark_migrated(&self) {
        self.migrated.store(true, Ordering::Release);
    }
}
