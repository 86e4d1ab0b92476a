//! The users tokens named a moment ago, kept for `CALLER_CACHE_SECONDS` (0: none): under
//! load most requests come from callers seen seconds before, and reading their row again
//! costs every request a round trip. A user deactivated or changed in the database by
//! anything but this replica is seen once their entry expires; sign-in and profile updates
//! through this replica drop the entry at once, so the next request reads the row.
//!
//! A read of a user's row that started before their entry was dropped must not put the
//! row it read back: each read takes a [`Ticket`] before it asks the database, and
//! [`Callers::keep`] refuses a row whose ticket is older than the user's last drop.

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

/// When a read of a user's row began, in the order of drops and in time: taken before
/// the read.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    sequence: u64,
    began: Instant,
}

enum Slot {
    Kept {
        until: Instant,
        user: user::Model,
    },
    /// Dropped when the sequence stood at `at`: rows read on older tickets are stale.
    Dropped {
        at: u64,
        until: Instant,
    },
}

impl Slot {
    fn live_at(&self, now: Instant) -> bool {
        match self {
            Slot::Kept { until, .. } | Slot::Dropped { until, .. } => now < *until,
        }
    }
}

#[derive(Default)]
struct Entries {
    /// Counts drops; a ticket is its value when the read began.
    sequence: u64,
    /// Tickets below this are refused: the drops that could have made them stale are
    /// no longer recorded one by one.
    floor: u64,
    slots: HashMap<Uuid, Slot>,
}

pub struct Callers {
    lifetime: Duration,
    entries: Mutex<Entries>,
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
        match entries.slots.get(&id)? {
            Slot::Kept { until, user } if Instant::now() < *until => Some(user.clone()),
            _ => None,
        }
    }

    /// Taken before reading a user's row, for [`Callers::keep`].
    pub fn ticket(&self) -> Ticket {
        Ticket {
            sequence: self.entries().sequence,
            began: Instant::now(),
        }
    }

    /// How long an entry may be served, counted from when its read began: no replica
    /// serves a row read before a change for longer than this after the change.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Keeps `user`, an active user read on `ticket`, for the lifetime from when the read
    /// began; unless the user was dropped since the ticket was taken, when the row read may
    /// be the old one.
    pub fn keep(&self, ticket: Ticket, user: &user::Model) {
        if self.lifetime.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries();
        let dropped_since = match entries.slots.get(&user.id) {
            Some(Slot::Dropped { at, .. }) => *at >= ticket.sequence,
            _ => false,
        };
        let until = ticket.began + self.lifetime;
        if ticket.sequence < entries.floor || dropped_since || until <= now {
            return;
        }
        if entries.slots.len() >= MAX_ENTRIES {
            entries.make_room(now);
        }
        entries.slots.insert(
            user.id,
            Slot::Kept {
                until,
                user: user.clone(),
            },
        );
    }

    /// Forgets `id`, whose row this replica just changed; a read that began before this
    /// cannot put the old row back.
    pub fn forget(&self, id: Uuid) {
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.slots.len() >= MAX_ENTRIES {
            entries.make_room(now);
        }
        let at = entries.sequence;
        entries.sequence += 1;
        // A read outlives no request: past the lifetime, and the floor raised when the
        // record goes, nothing read before the drop is kept.
        let until = now + self.lifetime;
        entries.slots.insert(id, Slot::Dropped { at, until });
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Every operation leaves the map whole, whatever panicked while holding it.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    /// Drops what has expired, all of it if nothing had; a drop no longer recorded raises
    /// the floor past it, so a stale read is still refused (at worst a fresh one too).
    fn make_room(&mut self, now: Instant) {
        let sequence = self.sequence;
        let mut forgotten = false;
        self.slots.retain(|_, slot| {
            let live = slot.live_at(now);
            forgotten |= !live && matches!(slot, Slot::Dropped { .. });
            live
        });
        if self.slots.len() >= MAX_ENTRIES {
            forgotten = true;
            self.slots.clear();
        }
        if forgotten {
            self.floor = sequence;
        }
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
    fn an_entry_lives_its_lifetime_from_when_its_read_began_not_from_when_it_was_kept() {
        let callers = Callers::new(Duration::from_millis(50));
        let olive = user();
        let slow_read = callers.ticket();
        std::thread::sleep(Duration::from_millis(60));
        callers.keep(slow_read, &olive);
        assert_eq!(callers.get(olive.id), None);
        callers.keep(callers.ticket(), &olive);
        assert_eq!(callers.get(olive.id), Some(olive));
    }

    #[test]
    fn a_kept_user_is_answered_until_forgotten() {
        let callers = Callers::new(Duration::from_secs(60));
        let olive = user();
        callers.keep(callers.ticket(), &olive);
        assert_eq!(callers.get(olive.id), Some(olive.clone()));
        callers.forget(olive.id);
        assert_eq!(callers.get(olive.id), None);
    }

    #[test]
    fn a_read_begun_before_a_forget_does_not_put_the_old_row_back() {
        let callers = Callers::new(Duration::from_secs(60));
        let olive = user();
        // A request reads Olive's row; meanwhile her profile is updated and the entry
        // dropped; then the first read ends with the old row.
        let before = callers.ticket();
        callers.forget(olive.id);
        callers.keep(before, &olive);
        assert_eq!(callers.get(olive.id), None);
        // A read begun after the drop is kept as usual.
        let mut renamed = olive.clone();
        renamed.full_name = "Olive Renamed".into();
        callers.keep(callers.ticket(), &renamed);
        assert_eq!(callers.get(olive.id), Some(renamed));
    }

    #[test]
    fn a_forget_of_another_user_leaves_a_read_in_flight_alone() {
        let callers = Callers::new(Duration::from_secs(60));
        let (olive, max) = (user(), user());
        let before = callers.ticket();
        callers.forget(max.id);
        callers.keep(before, &olive);
        assert_eq!(callers.get(olive.id), Some(olive));
    }

    #[test]
    fn a_lifetime_of_zero_keeps_nothing() {
        let callers = Callers::new(Duration::ZERO);
        let olive = user();
        callers.keep(callers.ticket(), &olive);
        assert_eq!(callers.get(olive.id), None);
    }

    #[test]
    fn an_entry_past_its_lifetime_is_not_answered() {
        let callers = Callers::new(Duration::from_millis(1));
        let olive = user();
        callers.keep(callers.ticket(), &olive);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(callers.get(olive.id), None);
    }

    #[test]
    fn the_map_stays_bounded_when_every_entry_is_fresh() {
        let callers = Callers::new(Duration::from_secs(60));
        for _ in 0..=MAX_ENTRIES {
            callers.keep(callers.ticket(), &user());
        }
        assert!(callers.entries().slots.len() <= MAX_ENTRIES);
    }

    #[test]
    fn a_stale_read_is_refused_even_after_its_drop_was_cleared_for_room() {
        let callers = Callers::new(Duration::from_secs(60));
        let olive = user();
        let before = callers.ticket();
        callers.forget(olive.id);
        // Enough other callers that the record of Olive's drop is cleared away.
        for _ in 0..=MAX_ENTRIES {
            callers.keep(callers.ticket(), &user());
        }
        callers.keep(before, &olive);
        assert_eq!(callers.get(olive.id), None);
    }
}
