//! The users tokens named a moment ago, kept for `CALLER_CACHE_SECONDS` (0: none): under
//! load most requests come from callers seen seconds before, and reading their row again
//! costs every request a round trip. A user deactivated or changed in the database by
//! anything but this replica is seen once their entry expires; sign-in and profile updates
//! through this replica drop the entry at once, so the next request reads the row.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use entities::user;
use uuid::Uuid;

/// Past this many entries the expired ones are dropped, and all of them if none were:
/// a bound on memory whatever the number of callers.
const MAX_ENTRIES: usize = 10_000;

pub struct Callers {
    lifetime: Duration,
    entries: Mutex<HashMap<Uuid, (Instant, user::Model)>>,
}

impl Callers {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            entries: Mutex::default(),
        }
    }

    /// The active user `id`, if it was seen within the lifetime.
    pub fn get(&self, id: Uuid) -> Option<user::Model> {
        let entries = self.entries();
        let (until, user) = entries.get(&id)?;
        (Instant::now() < *until).then(|| user.clone())
    }

    /// Keeps `user`, an active user just read, for the lifetime.
    pub fn keep(&self, user: &user::Model) {
        if self.lifetime.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (until, _)| now < *until);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(user.id, (now + self.lifetime, user.clone()));
    }

    /// Forgets `id`, whose row this replica just changed.
    pub fn forget(&self, id: Uuid) {
        self.entries().remove(&id);
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Instant, user::Model)>> {
        // Every operation leaves the map whole, whatever panicked while holding it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn user() -> user::Model {
        let now = Utc::now().naive_utc();
        user::Model {
            id: Uuid::new_v4(),
            email: "olive@example.com".into(),
            full_name: "Olive".into(),
            google_id: "g-olive".into(),
            profile_picture_url: None,
            is_active: true,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_kept_user_is_answered_until_forgotten() {
        let callers = Callers::new(Duration::from_secs(60));
        let olive = user();
        callers.keep(&olive);
        assert_eq!(callers.get(olive.id), Some(olive.clone()));
        callers.forget(olive.id);
        assert_eq!(callers.get(olive.id), None);
    }

    #[test]
    fn a_lifetime_of_zero_keeps_nothing() {
        let callers = Callers::new(Duration::ZERO);
        let olive = user();
        callers.keep(&olive);
        assert_eq!(callers.get(olive.id), None);
    }

    #[test]
    fn an_entry_past_its_lifetime_is_not_answered() {
        let callers = Callers::new(Duration::from_millis(1));
        let olive = user();
        callers.keep(&olive);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(callers.get(olive.id), None);
    }

    #[test]
    fn the_map_stays_bounded_when_every_entry_is_fresh() {
        let callers = Callers::new(Duration::from_secs(60));
        for _ in 0..=MAX_ENTRIES {
            callers.keep(&user());
        }
        assert!(callers.entries().len() <= MAX_ENTRIES);
    }
}
