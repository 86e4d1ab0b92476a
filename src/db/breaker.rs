//! Failing fast during an outage: once a request has spent the whole retry budget on an
//! unreachable database, later requests get their 503 at once instead of each waiting out
//! the budget, while one background probe watches for the database to come back. The probe
//! opens a connection of its own each time: the pool's may all be stuck on a server that
//! went silent, and a probe through them could never see the server answer again.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use super::Db;

/// How often the probe tries the database while the breaker is open.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);
/// Bounds one probe, so a connection swallowed by a black hole cannot stall the probing.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Breaker {
    open: AtomicBool,
    probing: AtomicBool,
}

impl Breaker {
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Opens the breaker and, unless one already runs, starts the probe that closes it
    /// when the database answers again.
    pub fn trip(self: &Arc<Self>, db: Db) {
        self.open.store(true, Ordering::Release);
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!("database unreachable past the retry budget; failing fast until it answers");
        let breaker = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_INTERVAL).await;
                if db.answers_fresh_connection(PROBE_TIMEOUT).await {
                    break;
                }
            }
            breaker.open.store(false, Ordering::Release);
            breaker.probing.store(false, Ordering::Release);
            tracing::info!("database answers again; serving requests");
        });
    }
}
