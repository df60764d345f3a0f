//! What the bot knows of the users writing to it now — their row, their consent, their
//! binding — kept in memory for a moment, so that a customer's next message does not read
//! (and upsert) them again.
//!
//! Exact in one process: every write to those records goes through a
//! [`Store`](super::Store) method, which forgets the users it touches ([`Known::forget`])
//! and bumps a generation, so that a reading begun before the write cannot put its older
//! answer back. Across replicas (another process writing the same database) an answer is
//! trusted for at most [`TTL`]: a binding another replica removed is served here for less
//! than a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{Binding, TelegramUser};

/// How long an answer is trusted (bounded staleness across replicas).
pub const TTL: Duration = Duration::from_secs(1);

/// Past this many users the table is swept of stale entries (and cleared if all are fresh).
const MAX_ENTRIES: usize = 100_000;

/// A user as a turn needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownUser {
    pub user: TelegramUser,
    /// The language Telegram said when the user was last seen (the outbox's record of it).
    pub telegram_locale: Option<String>,
    pub has_consent: bool,
    pub binding: Option<Binding>,
}

#[derive(Debug, Default)]
pub(super) struct Known {
    users: Mutex<HashMap<i64, (KnownUser, Instant)>>,
    generation: AtomicU64,
}

impl Known {
    /// The generation to hand back to [`Known::remember`].
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// What is known of `user_id`, when it is fresh and was seen in `chat_id` with
    /// `telegram_locale`.
    pub(super) fn get(&self, user_id: i64, chat_id: i64, telegram_locale: Option<&str>) -> Option<KnownUser> {
        let users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (known, at) = users.get(&user_id)?;
        (at.elapsed() < TTL && known.user.chat_id == chat_id && known.telegram_locale.as_deref() == telegram_locale)
            .then(|| known.clone())
    }

    /// Keeps `known`, read from the database since `generation` was taken; nothing is kept
    /// when a write has happened since.
    pub(super) fn remember(&self, generation: u64, known: KnownUser) {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if users.len() >= MAX_ENTRIES {
            users.retain(|_, (_, at)| at.elapsed() < TTL);
            if users.len() >= MAX_ENTRIES {
                users.clear();
            }
        }
        users.insert(known.user.telegram_user_id, (known, Instant::now()));
    }

    /// Forgets `user_id` (its row, consent or binding is being written).
    pub(super) fn forget(&self, user_id: i64) {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        users.remove(&user_id);
    }
}

impl Known {
    /// Forgets every user.
    pub(super) fn forget_all(&self) {
        let mut users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        users.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(user_id: i64, chat_id: i64, epoch: i64) -> KnownUser {
        KnownUser {
            user: TelegramUser { telegram_user_id: user_id, chat_id, locale: None, epoch },
            telegram_locale: Some("ru".into()),
            has_consent: true,
            binding: None,
        }
    }

    #[test]
    fn a_user_is_known_in_the_same_chat_and_language_only() {
        let cache = Known::default();
        cache.remember(cache.generation(), known(1, 1, 0));
        assert_eq!(cache.get(1, 1, Some("ru")), Some(known(1, 1, 0)));
        assert_eq!(cache.get(1, 2, Some("ru")), None);
        assert_eq!(cache.get(1, 1, Some("en")), None);
        assert_eq!(cache.get(1, 1, None), None);
        assert_eq!(cache.get(2, 1, Some("ru")), None);
    }

    #[test]
    fn a_write_forgets_the_user_and_an_older_read_is_not_kept() {
        let cache = Known::default();
        cache.remember(cache.generation(), known(1, 1, 0));
        // A read begins, a write to another user happens, the read ends: not kept.
        let before = cache.generation();
        cache.forget(2);
        cache.remember(before, known(3, 3, 0));
        assert_eq!(cache.get(3, 3, Some("ru")), None);
        // The write's own user is forgotten; the others stay.
        assert!(cache.get(1, 1, Some("ru")).is_some());
        cache.forget(1);
        assert_eq!(cache.get(1, 1, Some("ru")), None);
        cache.remember(cache.generation(), known(1, 1, 1));
        assert_eq!(cache.get(1, 1, Some("ru")).map(|k| k.user.epoch), Some(1));
        cache.forget_all();
        assert_eq!(cache.get(1, 1, Some("ru")), None);
    }
}
