//! The SQL store: one [`Store`] over SQLite (default, a single file) or PostgreSQL, chosen by
//! the URL. Migrations live in `migrations/sqlite/` and `migrations/postgres/` (same numbers
//! and names) and are embedded in the binary. Money is stored as integer minor units, times
//! as UTC.
//! (Stub interface: the full implementation replaces this.)

pub mod import;

use chrono::{DateTime, Utc};

use crate::adapters::CustomerId;
use crate::domain::{Locale, Phone};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("invalid database URL {0:?}: expected sqlite://… or postgres://…")]
    BadUrl(String),
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A Telegram account bound to a customer of the business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub telegram_user_id: i64,
    pub chat_id: i64,
    pub customer_id: CustomerId,
    pub phone: Phone,
    pub first_name: String,
    pub bound_at: DateTime<Utc>,
}

/// A Telegram user as the bot knows them, bound or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUser {
    pub telegram_user_id: i64,
    pub chat_id: i64,
    /// The language the customer chose with /language; `None` means "follow Telegram's".
    pub locale: Option<Locale>,
    /// Bumped by /logout and /forget: buttons sent under an older epoch are stale.
    pub epoch: i64,
}

/// The acceptance of the data-processing terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub telegram_user_id: i64,
    pub terms_version: String,
    pub accepted_at: DateTime<Utc>,
}

/// One line of the audit log: who read or tried to read what, when, through which channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub telegram_user_id: Option<i64>,
    pub customer_id: Option<CustomerId>,
    /// "balance.read", "order.read", "order.not_found", "contact.rejected", "bind", …
    pub action: String,
    /// What was asked for (an order number, a document id); never a full phone number.
    pub subject: Option<String>,
    /// "telegram", "miniapp", "staff", "api".
    pub channel: String,
}

/// A person who shared a phone the business does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub telegram_user_id: i64,
    pub phone: Phone,
    pub first_name: String,
    pub created_at: DateTime<Utc>,
}

/// The database and its repositories. Cheap to clone (a pool).
#[derive(Clone, Debug)]
pub struct Store {}

impl Store {
    /// Connects to `sqlite://path` (the file is created if absent), `sqlite::memory:`, or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        todo!("{url}")
    }
    /// Applies the embedded migrations of this engine.
    pub async fn migrate(&self) -> StoreResult<()> {
        todo!()
    }
    pub fn engine(&self) -> Engine {
        todo!()
    }
    pub fn pool(&self) -> &sqlx::AnyPool {
        todo!()
    }

    // --- Telegram users, bindings, consent ---
    /// Creates the user row if absent; updates chat_id; returns it.
    pub async fn touch_user(&self, telegram_user_id: i64, chat_id: i64) -> StoreResult<TelegramUser> {
        todo!("{telegram_user_id} {chat_id}")
    }
    pub async fn user(&self, telegram_user_id: i64) -> StoreResult<Option<TelegramUser>> {
        todo!("{telegram_user_id}")
    }
    pub async fn set_user_locale(&self, telegram_user_id: i64, locale: Option<Locale>) -> StoreResult<()> {
        todo!("{telegram_user_id} {locale:?}")
    }
    /// Bumps the epoch; returns the new one.
    pub async fn bump_epoch(&self, telegram_user_id: i64) -> StoreResult<i64> {
        todo!("{telegram_user_id}")
    }
    pub async fn record_consent(&self, telegram_user_id: i64, terms_version: &str, at: DateTime<Utc>) -> StoreResult<()> {
        todo!("{telegram_user_id} {terms_version} {at}")
    }
    pub async fn consent(&self, telegram_user_id: i64) -> StoreResult<Option<Consent>> {
        todo!("{telegram_user_id}")
    }
    /// Binds (or re-binds) the account to the customer.
    pub async fn bind(&self, binding: &Binding) -> StoreResult<()> {
        todo!("{binding:?}")
    }
    pub async fn binding(&self, telegram_user_id: i64) -> StoreResult<Option<Binding>> {
        todo!("{telegram_user_id}")
    }
    /// Removes the binding; true if there was one.
    pub async fn unbind(&self, telegram_user_id: i64) -> StoreResult<bool> {
        todo!("{telegram_user_id}")
    }
    /// /forget: deletes the binding, consent, dialogue state and chat history of this user,
    /// in one transaction. The audit log keeps a "forget" entry.
    pub async fn forget(&self, telegram_user_id: i64, chat_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        todo!("{telegram_user_id} {chat_id} {at}")
    }

    // --- dialogue state (teloxide Storage is built on these) ---
    pub async fn dialogue_state(&self, chat_id: i64) -> StoreResult<Option<String>> {
        todo!("{chat_id}")
    }
    pub async fn set_dialogue_state(&self, chat_id: i64, json: &str) -> StoreResult<()> {
        todo!("{chat_id} {json}")
    }
    pub async fn remove_dialogue_state(&self, chat_id: i64) -> StoreResult<()> {
        todo!("{chat_id}")
    }

    // --- chat history (kept 180 days; deleted by /forget) ---
    /// `direction` is "in" or "out".
    pub async fn log_message(&self, chat_id: i64, direction: &str, text: &str, at: DateTime<Utc>) -> StoreResult<()> {
        todo!("{chat_id} {direction} {text} {at}")
    }
    pub async fn chat_history(&self, chat_id: i64, limit: u32) -> StoreResult<Vec<(String, String, DateTime<Utc>)>> {
        todo!("{chat_id} {limit}")
    }

    // --- audit, leads ---
    pub async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        todo!("{entry:?}")
    }
    /// The audit entries of this Telegram user, oldest first.
    pub async fn audit_entries(&self, telegram_user_id: i64) -> StoreResult<Vec<AuditEntry>> {
        todo!("{telegram_user_id}")
    }
    /// Records a lead (one per user and phone: a second call updates the time).
    pub async fn record_lead(&self, lead: &Lead) -> StoreResult<()> {
        todo!("{lead:?}")
    }
    pub async fn leads(&self) -> StoreResult<Vec<Lead>> {
        todo!()
    }
}
