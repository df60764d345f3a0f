//! The SQL store: one [`Store`] over SQLite (default, a single file) or PostgreSQL, chosen by
//! the URL. Migrations live in `migrations/sqlite/` and `migrations/postgres/` (same numbers
//! and names) and are embedded in the binary. Money is stored as integer minor units, times
//! as UTC RFC 3339 text (see [`time_to_db`]), dates as "YYYY-MM-DD".

mod buttons;
mod jobs;
mod journal;
mod known;
mod leases;
mod pool;
mod reminders;
mod row;
mod selfservice;
mod support;

use std::borrow::Cow;
use std::sync::Once;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, Executor};

use crate::adapters::CustomerId;
use crate::domain::{Locale, Phone};
pub use buttons::StoredButton;
pub use jobs::{Job, NewJob};
pub use known::{KnownUser, TTL as KNOWN_USER_TTL};
pub use pool::{Conn, Cost, Pool, Tx, tally};
pub use reminders::SentReminder;
pub(crate) use row::Cols;
pub use selfservice::{OtpRecord, TopUpPayment};
pub use support::{CasePriority, NewCase, SupportCase, SupportStats};

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
    /// A data set handed to the import is not valid (the message names the path).
    #[error("invalid data: {0}")]
    InvalidData(String),
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
    /// The customer's own time zone, from the CRM when they were identified.
    pub time_zone: Option<chrono_tz::Tz>,
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

/// What [`Store::user_snapshot`] reads of a user at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSnapshot {
    pub user: TelegramUser,
    pub has_consent: bool,
    pub binding: Option<Binding>,
    /// The outbox's record of them: the language Telegram last reported, and whether
    /// sending to them failed with 403 since; `None` when there is none.
    pub recipient: Option<(Option<String>, bool)>,
}

impl UserSnapshot {
    /// Whether a message from `chat_id` in `telegram_locale` changes nothing of what is kept
    /// (the user's chat, the outbox's language and reachability).
    pub fn is_current(&self, chat_id: i64, telegram_locale: Option<&str>) -> bool {
        self.user.chat_id == chat_id
            && matches!(&self.recipient, Some((locale, false)) if locale.as_deref() == telegram_locale)
    }
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

/// A record a customer's turn makes, kept by the turn to be written with its others in one
/// transaction ([`Store::write_all`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnWrite {
    /// A line of the chat history ([`Store::log_message`]).
    Message {
        chat_id: i64,
        direction: &'static str,
        text: String,
        at: DateTime<Utc>,
    },
    /// A request the bot handled ([`Store::log_request`]).
    Request {
        at: DateTime<Utc>,
        telegram_user_id: i64,
        intent: String,
        escalated: bool,
    },
    Audit(AuditEntry),
}

/// A person who shared a phone the business does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub telegram_user_id: i64,
    pub phone: Phone,
    pub first_name: String,
    pub created_at: DateTime<Utc>,
}

/// A time as the store keeps it: RFC 3339 in UTC with nine fractional digits and "Z"
/// ("2025-01-11T05:00:00.000000000Z"), so that text order is time order and a time
/// round-trips exactly.
pub fn time_to_db(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A time read back from the store (any RFC 3339 text is accepted).
pub fn time_from_db(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc))
}

/// A set of migrations: (version, description, SQL).
pub type Migrations = &'static [(i64, &'static str, &'static str)];

/// The history before cabinet's own records and the built-in backend's tables were split: a
/// database made then is brought up to date by it, and the baselines after it change nothing.
/// A new database skips it.
const LEGACY_SQLITE: Migrations = &[
    (1, "initial", include_str!("../../../../migrations/legacy/sqlite/0001_initial.sql")),
    (2, "self service", include_str!("../../../../migrations/legacy/sqlite/0002_self_service.sql")),
    (3, "booking", include_str!("../../../../migrations/legacy/sqlite/0003_booking.sql")),
    (4, "jobs", include_str!("../../../../migrations/legacy/sqlite/0004_jobs.sql")),
    (5, "reminders", include_str!("../../../../migrations/legacy/sqlite/0005_reminders.sql")),
    (6, "support", include_str!("../../../../migrations/legacy/sqlite/0006_support.sql")),
    (7, "trust", include_str!("../../../../migrations/legacy/sqlite/0007_trust.sql")),
    (8, "bot records", include_str!("../../../../migrations/legacy/sqlite/0008_bot_records.sql")),
    (9, "otp per customer", include_str!("../../../../migrations/legacy/sqlite/0009_otp_per_customer.sql")),
    (10, "button payloads", include_str!("../../../../migrations/legacy/sqlite/0010_button_payloads.sql")),
    (12, "crm leads and notes", include_str!("../../../../migrations/legacy/sqlite/0012_crm_leads_notes.sql")),
];
const LEGACY_POSTGRES: Migrations = &[
    (1, "initial", include_str!("../../../../migrations/legacy/postgres/0001_initial.sql")),
    (2, "self service", include_str!("../../../../migrations/legacy/postgres/0002_self_service.sql")),
    (3, "booking", include_str!("../../../../migrations/legacy/postgres/0003_booking.sql")),
    (4, "jobs", include_str!("../../../../migrations/legacy/postgres/0004_jobs.sql")),
    (5, "reminders", include_str!("../../../../migrations/legacy/postgres/0005_reminders.sql")),
    (6, "support", include_str!("../../../../migrations/legacy/postgres/0006_support.sql")),
    (7, "trust", include_str!("../../../../migrations/legacy/postgres/0007_trust.sql")),
    (8, "bot records", include_str!("../../../../migrations/legacy/postgres/0008_bot_records.sql")),
    (9, "otp per customer", include_str!("../../../../migrations/legacy/postgres/0009_otp_per_customer.sql")),
    (10, "button payloads", include_str!("../../../../migrations/legacy/postgres/0010_button_payloads.sql")),
    (12, "crm leads and notes", include_str!("../../../../migrations/legacy/postgres/0012_crm_leads_notes.sql")),
];

/// The first version after the legacy history.
const FIRST_SPLIT_VERSION: i64 = 100;

/// cabinet's own records (versions 100..1000; the built-in backend's are 1000 and up).
const SQLITE_MIGRATIONS: Migrations = &[
    (100, "cabinet records", include_str!("../../../../migrations/sqlite/0100_cabinet_records.sql")),
    (101, "notifications", include_str!("../../../../migrations/sqlite/0101_notifications.sql")),
    (102, "events", include_str!("../../../../migrations/sqlite/0102_events.sql")),
    (103, "broadcasts", include_str!("../../../../migrations/sqlite/0103_broadcasts.sql")),
    (104, "notify sender", include_str!("../../../../migrations/sqlite/0104_notify_sender.sql")),
    (105, "binding time zone", include_str!("../../../../migrations/sqlite/0105_binding_time_zone.sql")),
    (110, "unrecognised messages", include_str!("../../../../migrations/sqlite/0110_unrecognised_messages.sql")),
    (111, "calendar sequences", include_str!("../../../../migrations/sqlite/0111_calendar_sequences.sql")),
];
const POSTGRES_MIGRATIONS: Migrations = &[
    (100, "cabinet records", include_str!("../../../../migrations/postgres/0100_cabinet_records.sql")),
    (101, "notifications", include_str!("../../../../migrations/postgres/0101_notifications.sql")),
    (102, "events", include_str!("../../../../migrations/postgres/0102_events.sql")),
    (103, "broadcasts", include_str!("../../../../migrations/postgres/0103_broadcasts.sql")),
    (104, "notify sender", include_str!("../../../../migrations/postgres/0104_notify_sender.sql")),
    (105, "binding time zone", include_str!("../../../../migrations/postgres/0105_binding_time_zone.sql")),
    (110, "unrecognised messages", include_str!("../../../../migrations/postgres/0110_unrecognised_messages.sql")),
    (111, "calendar sequences", include_str!("../../../../migrations/postgres/0111_calendar_sequences.sql")),
];

/// A migrator of these migrations. Several sets share sqlx's history table, so each ignores
/// the versions of the others.
fn migrator_of(set: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = set
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
        })
        .collect();
    Migrator { migrations: Cow::Owned(migrations), ignore_missing: true, ..Migrator::DEFAULT }
}

/// How a database URL is to be opened.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    SqliteFile(String),
    SqliteMemory,
    Postgres(String),
}

fn target(url: &str) -> StoreResult<Target> {
    let bad = || StoreError::BadUrl(url.to_owned());
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path == ":memory:" || query.is_some_and(|q| q.split('&').any(|kv| kv == "mode=memory")) {
            return Ok(Target::SqliteMemory);
        }
        if path.is_empty() {
            return Err(bad());
        }
        let file_url = match query {
            Some(q) if q.split('&').any(|kv| kv.starts_with("mode=")) => {
                format!("sqlite://{path}?{q}")
            }
            Some(q) if !q.is_empty() => format!("sqlite://{path}?{q}&mode=rwc"),
            _ => format!("sqlite://{path}?mode=rwc"),
        };
        return Ok(Target::SqliteFile(file_url));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres(url.to_owned()));
    }
    Err(bad())
}

/// The file of a SQLite database URL ("sqlite://cabinet-demo.db?mode=rwc" →
/// "cabinet-demo.db"); `None` for an in-memory database and for other databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    match target(url) {
        Ok(Target::SqliteFile(_)) => {}
        _ => return None,
    }
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    Some(std::path::PathBuf::from(path))
}

/// Per-connection SQLite settings. A file database runs in WAL mode with `synchronous =
/// NORMAL`: a commit survives the process being killed (it is in the WAL file), and only a
/// crash of the whole machine may lose the last commits. That halves the cost of every write
/// (no `fsync` per commit): the notification sender went from about 100 to 160 sends a second.
async fn configure_sqlite(conn: &mut AnyConnection, wal: bool) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA busy_timeout = 5000").await?;
    if wal {
        conn.execute("PRAGMA journal_mode = WAL").await?;
        conn.execute("PRAGMA synchronous = NORMAL").await?;
    }
    Ok(())
}

/// The database and its repositories. Cheap to clone (a pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    engine: Engine,
    /// The users writing now, as a turn needs them ([`Store::known_user`]).
    known: std::sync::Arc<known::Known>,
    /// The turns' records, written together ([`Store::write_all`]).
    journal: std::sync::Arc<journal::Journal>,
}

impl Store {
    fn over(pool: Pool, engine: Engine) -> Store {
        let journal = std::sync::Arc::new(journal::Journal::start(pool.clone()));
        Store { pool, engine, known: Default::default(), journal }
    }

    /// Connects to `sqlite://path` (the file is created if absent), `sqlite::memory:`, or
    /// `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        match target(url)? {
            Target::SqliteMemory => {
                // Every new connection to an in-memory SQLite URL opens a new, empty database:
                // one connection, kept for the life of the pool, holds the data.
                let pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(|conn, _| Box::pin(configure_sqlite(conn, false)))
                    .connect("sqlite::memory:")
                    .await?;
                Ok(Store::over(Pool::new(pool), Engine::Sqlite))
            }
            Target::SqliteFile(file_url) => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| Box::pin(configure_sqlite(conn, true)))
                    .connect(&file_url)
                    .await?;
                Ok(Store::over(Pool::new(pool), Engine::Sqlite))
            }
            Target::Postgres(url) => {
                let pool = AnyPoolOptions::new().max_connections(16).connect(&url).await?;
                Ok(Store::over(Pool::new(pool), Engine::Postgres))
            }
        }
    }

    /// Applies the migrations of cabinet's own records (and, on a database made before they
    /// were split from the built-in backend's tables, the rest of that history first).
    pub async fn migrate(&self) -> StoreResult<()> {
        let (legacy, own) = match self.engine {
            Engine::Sqlite => (LEGACY_SQLITE, SQLITE_MIGRATIONS),
            Engine::Postgres => (LEGACY_POSTGRES, POSTGRES_MIGRATIONS),
        };
        if self.has_legacy_history().await {
            migrator_of(legacy).run(self.pool.any()).await?;
        }
        migrator_of(own).run(self.pool.any()).await?;
        Ok(())
    }

    /// Applies a set of migrations of its own (the built-in backend's), recorded in the same
    /// history; its versions must not be cabinet's.
    pub async fn migrate_set(&self, set: Migrations) -> StoreResult<()> {
        migrator_of(set).run(self.pool.any()).await?;
        Ok(())
    }

    /// Whether the database was made before the split (its history has a legacy version).
    async fn has_legacy_history(&self) -> bool {
        let legacy = sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE version < $1")
            .bind(FIRST_SPLIT_VERSION)
            .fetch_one(&self.pool)
            .await
            .and_then(|row| sqlx::Row::try_get::<i64, _>(&row, "n"));
        // No history table: a new database.
        legacy.is_ok_and(|n| n > 0)
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The pool, counting what is sent through it.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// What this store has sent to the database since it was opened (statements and
    /// transactions; see [`tally`] for one task's share).
    pub fn cost(&self) -> Cost {
        self.pool.cost()
    }

    /// Closes every connection of the pool (an in-memory database is gone afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // --- Telegram users, bindings, consent ---
    /// What was read of `telegram_user_id` a moment ago ([`Store::remember_user`]), when it
    /// was seen in `chat_id` with Telegram's `telegram_locale`: its row, consent and binding,
    /// without reading them again. Exact in this process; at most
    /// [`KNOWN_USER_TTL`] old when another process writes them.
    pub fn known_user(&self, telegram_user_id: i64, chat_id: i64, telegram_locale: Option<&str>) -> Option<KnownUser> {
        self.known.get(telegram_user_id, chat_id, telegram_locale)
    }

    /// The generation to read a user under, for [`Store::remember_user`].
    pub fn known_generation(&self) -> u64 {
        self.known.generation()
    }

    /// Keeps what was read of a user since `generation` was taken (unless one was written
    /// since).
    pub fn remember_user(&self, generation: u64, known: KnownUser) {
        self.known.remember(generation, known);
    }

    /// Forgets what is kept of `telegram_user_id`: its row, consent, binding or the outbox's
    /// record of it was just written.
    pub fn forget_known(&self, telegram_user_id: i64) {
        self.known.forget(telegram_user_id);
    }

    /// The user's row, consent, binding and the outbox's record of them, read in one
    /// statement; `None` for a user the bot has never seen.
    pub async fn user_snapshot(&self, telegram_user_id: i64) -> StoreResult<Option<UserSnapshot>> {
        let row = sqlx::query(
            "SELECT u.telegram_user_id, u.chat_id, u.locale, u.epoch, \
             r.telegram_user_id AS r_user, r.telegram_locale AS r_locale, r.unreachable_since AS r_unreachable, \
             c.telegram_user_id AS c_user, \
             b.chat_id AS b_chat_id, b.customer_id AS b_customer_id, b.phone AS b_phone, \
             b.first_name AS b_first_name, b.bound_at AS b_bound_at, b.time_zone AS b_time_zone \
             FROM telegram_users u \
             LEFT JOIN notification_recipients r ON r.telegram_user_id = u.telegram_user_id \
             LEFT JOIN consents c ON c.telegram_user_id = u.telegram_user_id \
             LEFT JOIN bindings b ON b.telegram_user_id = u.telegram_user_id \
             WHERE u.telegram_user_id = $1",
        )
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let c = Cols::new(&row, "telegram_users");
        let binding = match c.opt_text("b_customer_id")? {
            Some(customer_id) => Some(Binding {
                telegram_user_id,
                chat_id: c.i64("b_chat_id")?,
                customer_id: CustomerId(customer_id),
                phone: c.phone("b_phone")?,
                first_name: c.text("b_first_name")?,
                bound_at: c.time("b_bound_at")?,
                time_zone: c.opt_text("b_time_zone")?.and_then(|tz| tz.parse().ok()),
            }),
            None => None,
        };
        let recipient = match c.opt_i64("r_user")? {
            Some(_) => Some((c.opt_text("r_locale")?, c.opt_time("r_unreachable")?.is_some())),
            None => None,
        };
        Ok(Some(UserSnapshot { user, has_consent: c.opt_i64("c_user")?.is_some(), binding, recipient }))
    }

    /// Creates the user row if absent; updates chat_id; returns it.
    pub async fn touch_user(&self, telegram_user_id: i64, chat_id: i64) -> StoreResult<TelegramUser> {
        let row = sqlx::query(
            "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at) \
             VALUES ($1, $2, NULL, 0, $3) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET chat_id = excluded.chat_id \
             RETURNING telegram_user_id, chat_id, locale, epoch",
        )
        .bind(telegram_user_id)
        .bind(chat_id)
        .bind(time_to_db(Utc::now()))
        .fetch_one(&self.pool)
        .await?;
        user_from_row(&row)
    }

    pub async fn user(&self, telegram_user_id: i64) -> StoreResult<Option<TelegramUser>> {
        let row = sqlx::query(
            "SELECT telegram_user_id, chat_id, locale, epoch FROM telegram_users WHERE telegram_user_id = $1",
        )
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Sets (or clears) the chosen language. A user not seen before is created with the
    /// private chat's id, which is the user's id.
    pub async fn set_user_locale(&self, telegram_user_id: i64, locale: Option<Locale>) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at) \
             VALUES ($1, $1, $2, 0, $3) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET locale = excluded.locale",
        )
        .bind(telegram_user_id)
        .bind(locale.map(|l| l.as_str().to_owned()))
        .bind(time_to_db(Utc::now()))
        .execute(&self.pool)
        .await;
        self.forget_known(telegram_user_id);
        done?;
        Ok(())
    }

    /// Bumps the epoch; returns the new one. A user not seen before is created (with the
    /// private chat's id, which is the user's id) at epoch 1.
    pub async fn bump_epoch(&self, telegram_user_id: i64) -> StoreResult<i64> {
        let row = sqlx::query(
            "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at) \
             VALUES ($1, $1, NULL, 1, $2) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET epoch = telegram_users.epoch + 1 \
             RETURNING epoch",
        )
        .bind(telegram_user_id)
        .bind(time_to_db(Utc::now()))
        .fetch_one(&self.pool)
        .await;
        self.forget_known(telegram_user_id);
        Cols::new(&row?, "telegram_users").i64("epoch")
    }

    /// Records (or renews) the acceptance of the terms.
    pub async fn record_consent(
        &self,
        telegram_user_id: i64,
        terms_version: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO consents (telegram_user_id, terms_version, accepted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (telegram_user_id) DO UPDATE \
             SET terms_version = excluded.terms_version, accepted_at = excluded.accepted_at",
        )
        .bind(telegram_user_id)
        .bind(terms_version.to_owned())
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await;
        self.forget_known(telegram_user_id);
        done?;
        Ok(())
    }

    pub async fn consent(&self, telegram_user_id: i64) -> StoreResult<Option<Consent>> {
        let row = sqlx::query(
            "SELECT telegram_user_id, terms_version, accepted_at FROM consents WHERE telegram_user_id = $1",
        )
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let c = Cols::new(&row, "consents");
            Ok(Consent {
                telegram_user_id: c.i64("telegram_user_id")?,
                terms_version: c.text("terms_version")?,
                accepted_at: c.time("accepted_at")?,
            })
        })
        .transpose()
    }

    /// Binds (or re-binds) the account to the customer. One Telegram account is bound to a
    /// customer at a time: the newest proof of ownership wins, so any other account bound to
    /// this customer is unbound, its buttons go stale (its epoch is bumped), and an open case
    /// escalated from it is detached. Returns those other bindings (to tell them and staff).
    pub async fn bind(&self, binding: &Binding) -> StoreResult<Vec<Binding>> {
        let done = self.bind_in_tx(binding).await;
        self.forget_known(binding.telegram_user_id);
        for old in done.iter().flatten() {
            self.forget_known(old.telegram_user_id);
        }
        if done.is_err() {
            // What it displaced is unknown: nothing kept is trusted.
            self.known.forget_all();
        }
        done
    }

    async fn bind_in_tx(&self, binding: &Binding) -> StoreResult<Vec<Binding>> {
        let mut tx = self.pool.begin().await?;
        // Writing first: a SQLite transaction that starts with a read cannot wait for a
        // concurrent writer.
        let displaced = sqlx::query(
            "DELETE FROM bindings WHERE customer_id = $1 AND telegram_user_id <> $2 \
             RETURNING telegram_user_id, chat_id, customer_id, phone, first_name, bound_at, time_zone",
        )
        .bind(binding.customer_id.0.clone())
        .bind(binding.telegram_user_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(binding_from_row)
        .collect::<StoreResult<Vec<Binding>>>()?;
        for old in &displaced {
            sqlx::query("UPDATE telegram_users SET epoch = epoch + 1 WHERE telegram_user_id = $1")
                .bind(old.telegram_user_id)
                .execute(&mut *tx)
                .await?;
            support::detach_cases_of_user(&mut tx, old.telegram_user_id, binding.bound_at).await?;
        }
        // Re-binding this account to another customer leaves that customer's case behind.
        sqlx::query(
            "UPDATE support_cases SET detached_at = $2 WHERE telegram_user_id = $1 AND status = 'open' \
             AND detached_at IS NULL AND customer_id <> $3",
        )
        .bind(binding.telegram_user_id)
        .bind(time_to_db(binding.bound_at))
        .bind(binding.customer_id.0.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO bindings (telegram_user_id, chat_id, customer_id, phone, first_name, bound_at, time_zone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET chat_id = excluded.chat_id, \
             customer_id = excluded.customer_id, phone = excluded.phone, \
             first_name = excluded.first_name, bound_at = excluded.bound_at, time_zone = excluded.time_zone",
        )
        .bind(binding.telegram_user_id)
        .bind(binding.chat_id)
        .bind(binding.customer_id.0.clone())
        .bind(binding.phone.as_str().to_owned())
        .bind(binding.first_name.clone())
        .bind(time_to_db(binding.bound_at))
        .bind(binding.time_zone.map(|tz| tz.name().to_owned()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(displaced)
    }

    pub async fn binding(&self, telegram_user_id: i64) -> StoreResult<Option<Binding>> {
        let row = sqlx::query(
            "SELECT telegram_user_id, chat_id, customer_id, phone, first_name, bound_at, time_zone \
             FROM bindings WHERE telegram_user_id = $1",
        )
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(binding_from_row).transpose()
    }

    /// Every customer bound to a Telegram account now, by id (notifications' plans and news).
    pub async fn bound_customers(&self) -> StoreResult<Vec<CustomerId>> {
        let rows =
            sqlx::query("SELECT DISTINCT customer_id FROM bindings ORDER BY customer_id").fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok(CustomerId(Cols::new(row, "bindings").text("customer_id")?))).collect()
    }

    /// The Telegram accounts bound to a customer (for notifications), by user id.
    pub async fn bindings_of(&self, customer_id: &CustomerId) -> StoreResult<Vec<Binding>> {
        let rows = sqlx::query(
            "SELECT telegram_user_id, chat_id, customer_id, phone, first_name, bound_at, time_zone \
             FROM bindings WHERE customer_id = $1 ORDER BY telegram_user_id",
        )
        .bind(customer_id.0.clone())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(binding_from_row).collect()
    }

    /// Removes the binding (/logout); true if there was one. An open case escalated from this
    /// account is detached at `at`: staff replies to it reach no one.
    pub async fn unbind(&self, telegram_user_id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = self.unbind_in_tx(telegram_user_id, at).await;
        self.forget_known(telegram_user_id);
        done
    }

    async fn unbind_in_tx(&self, telegram_user_id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM bindings WHERE telegram_user_id = $1")
            .bind(telegram_user_id)
            .execute(&mut *tx)
            .await?;
        support::detach_cases_of_user(&mut tx, telegram_user_id, at).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// /forget: deletes the binding, consent, dialogue state, chat history and the button
    /// payloads kept for this user, in one transaction. The audit log keeps a "forget" entry.
    ///
    /// One-time codes (wrong tries, a lock, the sends) and the mark that a customer has been
    /// bound belong to the customer, not to this Telegram account, and stay: forgetting and
    /// binding again neither unlocks changes nor makes a returning customer new.
    ///
    /// The leads this user left (their phone and name) are personal data kept by the bot
    /// too, and go as well, with the log of their requests and the alerts raised about them.
    /// Support cases stay: they are the business's records (an open one is detached). The user row (language choice,
    /// epoch) stays so that buttons sent before remain stale.
    pub async fn forget(&self, telegram_user_id: i64, chat_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let done = self.forget_in_tx(telegram_user_id, chat_id, at).await;
        self.forget_known(telegram_user_id);
        done
    }

    async fn forget_in_tx(&self, telegram_user_id: i64, chat_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Writing first: a SQLite transaction that starts with a read cannot wait for a
        // concurrent writer.
        let customer_id: Option<String> =
            sqlx::query("DELETE FROM bindings WHERE telegram_user_id = $1 RETURNING customer_id")
                .bind(telegram_user_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| Cols::new(&row, "bindings").text("customer_id"))
                .transpose()?;
        support::detach_cases_of_user(&mut tx, telegram_user_id, at).await?;
        for (sql, key) in [
            ("DELETE FROM consents WHERE telegram_user_id = $1", telegram_user_id),
            ("DELETE FROM leads WHERE telegram_user_id = $1", telegram_user_id),
            ("DELETE FROM dialogue_states WHERE chat_id = $1", chat_id),
            ("DELETE FROM chat_messages WHERE chat_id = $1", chat_id),
            ("DELETE FROM support_requests WHERE telegram_user_id = $1", telegram_user_id),
            ("DELETE FROM support_alerts WHERE telegram_user_id = $1", telegram_user_id),
            ("DELETE FROM button_payloads WHERE telegram_user_id = $1", telegram_user_id),
        ] {
            sqlx::query(sql).bind(key).execute(&mut *tx).await?;
        }
        insert_audit(
            &mut tx,
            &AuditEntry {
                at,
                telegram_user_id: Some(telegram_user_id),
                customer_id: customer_id.map(CustomerId),
                action: "forget".to_owned(),
                subject: None,
                channel: "telegram".to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // --- dialogue state (teloxide Storage is built on these) ---
    pub async fn dialogue_state(&self, chat_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT state FROM dialogue_states WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Cols::new(&row, "dialogue_states").text("state")).transpose()
    }

    pub async fn set_dialogue_state(&self, chat_id: i64, json: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO dialogue_states (chat_id, state, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(chat_id)
        .bind(json.to_owned())
        .bind(time_to_db(Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_dialogue_state(&self, chat_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM dialogue_states WHERE chat_id = $1").bind(chat_id).execute(&self.pool).await?;
        Ok(())
    }

    // --- chat history (kept 180 days; deleted by /forget) ---
    /// `direction` is "in" or "out".
    /// Written with other turns' records ([`Store::write_all`]).
    pub async fn log_message(
        &self,
        chat_id: i64,
        direction: &'static str,
        text: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write_all(&[TurnWrite::Message { chat_id, direction, text: text.to_owned(), at }]).await
    }

    /// Writes a turn's records, in order within each table, in one transaction with those of
    /// the other turns writing at the same moment (a group commit: `store::journal`); returns
    /// once they are committed.
    pub async fn write_all(&self, writes: &[TurnWrite]) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        self.journal.write(&self.pool, writes.to_vec()).await
    }

    /// The latest `limit` messages of the chat as (direction, text, time), oldest first.
    pub async fn chat_history(&self, chat_id: i64, limit: u32) -> StoreResult<Vec<(String, String, DateTime<Utc>)>> {
        let rows =
            sqlx::query("SELECT direction, text, at FROM chat_messages WHERE chat_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(chat_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        let mut history = rows
            .iter()
            .map(|row| {
                let c = Cols::new(row, "chat_messages");
                Ok((c.text("direction")?, c.text("text")?, c.time("at")?))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        history.reverse();
        Ok(history)
    }

    /// Deletes the chat messages older than `before`; returns how many went.
    pub async fn purge_chat_history(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM chat_messages WHERE at < $1").bind(time_to_db(before)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    // --- audit, leads ---
    /// Written with other turns' records ([`Store::write_all`]); returns once committed.
    pub async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.write_all(&[TurnWrite::Audit(entry.clone())]).await
    }

    /// The audit entries of this Telegram user, oldest first.
    pub async fn audit_entries(&self, telegram_user_id: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, telegram_user_id, customer_id, action, subject, channel \
             FROM audit_log WHERE telegram_user_id = $1 ORDER BY id",
        )
        .bind(telegram_user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "audit_log");
                Ok(AuditEntry {
                    at: c.time("at")?,
                    telegram_user_id: c.opt_i64("telegram_user_id")?,
                    customer_id: c.opt_text("customer_id")?.map(CustomerId),
                    action: c.text("action")?,
                    subject: c.opt_text("subject")?,
                    channel: c.text("channel")?,
                })
            })
            .collect()
    }

    /// Records a lead (one per user and phone: a second call updates the time). True when
    /// staff are to be told: the first time, and then at most once per `notify_every`.
    pub async fn record_lead(&self, lead: &Lead, notify_every: chrono::Duration) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO leads (telegram_user_id, phone, first_name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (telegram_user_id, phone) DO UPDATE \
             SET first_name = excluded.first_name, created_at = excluded.created_at",
        )
        .bind(lead.telegram_user_id)
        .bind(lead.phone.as_str().to_owned())
        .bind(lead.first_name.clone())
        .bind(time_to_db(lead.created_at))
        .execute(&mut *tx)
        .await?;
        let notify = sqlx::query(
            "UPDATE leads SET notified_at = $3 WHERE telegram_user_id = $1 AND phone = $2 \
             AND (notified_at IS NULL OR notified_at <= $4)",
        )
        .bind(lead.telegram_user_id)
        .bind(lead.phone.as_str().to_owned())
        .bind(time_to_db(lead.created_at))
        .bind(time_to_db(lead.created_at - notify_every))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(notify.rows_affected() > 0)
    }

    /// The newest lead this Telegram user left (the number they shared that no backend knows).
    pub async fn latest_lead(&self, telegram_user_id: i64) -> StoreResult<Option<Lead>> {
        let row = sqlx::query(
            "SELECT telegram_user_id, phone, first_name, created_at FROM leads WHERE telegram_user_id = $1 \
             ORDER BY created_at DESC, phone LIMIT 1",
        )
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let c = Cols::new(&row, "leads");
            Ok(Lead {
                telegram_user_id: c.i64("telegram_user_id")?,
                phone: c.phone("phone")?,
                first_name: c.text("first_name")?,
                created_at: c.time("created_at")?,
            })
        })
        .transpose()
    }

    /// Every lead, oldest first.
    pub async fn leads(&self) -> StoreResult<Vec<Lead>> {
        let rows = sqlx::query(
            "SELECT telegram_user_id, phone, first_name, created_at FROM leads \
             ORDER BY created_at, telegram_user_id, phone",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "leads");
                Ok(Lead {
                    telegram_user_id: c.i64("telegram_user_id")?,
                    phone: c.phone("phone")?,
                    first_name: c.text("first_name")?,
                    created_at: c.time("created_at")?,
                })
            })
            .collect()
    }
}

fn user_from_row(row: &sqlx::any::AnyRow) -> StoreResult<TelegramUser> {
    let c = Cols::new(row, "telegram_users");
    Ok(TelegramUser {
        telegram_user_id: c.i64("telegram_user_id")?,
        chat_id: c.i64("chat_id")?,
        locale: c.opt_locale("locale")?,
        epoch: c.i64("epoch")?,
    })
}

async fn insert_audit(conn: &mut AnyConnection, entry: &AuditEntry) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, telegram_user_id, customer_id, action, subject, channel) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(time_to_db(entry.at))
    .bind(entry.telegram_user_id)
    .bind(entry.customer_id.as_ref().map(|id| id.0.clone()))
    .bind(entry.action.clone())
    .bind(entry.subject.clone())
    .bind(entry.channel.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// A `bindings` row as a [`Binding`].
fn binding_from_row(row: &sqlx::any::AnyRow) -> StoreResult<Binding> {
    let c = Cols::new(row, "bindings");
    Ok(Binding {
        telegram_user_id: c.i64("telegram_user_id")?,
        chat_id: c.i64("chat_id")?,
        customer_id: CustomerId(c.text("customer_id")?),
        phone: c.phone("phone")?,
        first_name: c.text("first_name")?,
        bound_at: c.time("bound_at")?,
        time_zone: c.opt_text("time_zone")?.and_then(|tz| tz.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_file_url_gets_the_create_mode() {
        assert_eq!(target("sqlite://data/c.db").ok(), Some(Target::SqliteFile("sqlite://data/c.db?mode=rwc".into())));
        assert_eq!(target("sqlite:c.db").ok(), Some(Target::SqliteFile("sqlite://c.db?mode=rwc".into())));
        assert_eq!(
            target("sqlite:///tmp/c.db?cache=shared").ok(),
            Some(Target::SqliteFile("sqlite:///tmp/c.db?cache=shared&mode=rwc".into()))
        );
        assert_eq!(target("sqlite://c.db?mode=ro").ok(), Some(Target::SqliteFile("sqlite://c.db?mode=ro".into())));
    }

    #[test]
    fn the_file_of_a_sqlite_url_is_its_path() {
        let file = |url: &str| sqlite_file(url).map(|p| p.display().to_string());
        assert_eq!(file("sqlite://cabinet-demo.db").as_deref(), Some("cabinet-demo.db"));
        assert_eq!(file("sqlite:///tmp/c.db?cache=shared").as_deref(), Some("/tmp/c.db"));
        assert_eq!(file("sqlite:c.db").as_deref(), Some("c.db"));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://x.db?mode=memory"), None);
        assert_eq!(file("postgres://u@h/db"), None);
    }

    #[test]
    fn in_memory_and_postgres_urls_are_recognised() {
        assert_eq!(target("sqlite::memory:").ok(), Some(Target::SqliteMemory));
        assert_eq!(target("sqlite://:memory:").ok(), Some(Target::SqliteMemory));
        assert!(matches!(target("postgres://u@h/db"), Ok(Target::Postgres(_))));
        assert!(matches!(target("postgresql://u@h/db"), Ok(Target::Postgres(_))));
    }

    #[test]
    fn other_urls_are_refused() {
        for url in ["", "mysql://x", "sqlite://", "sqlite:", "http://x", "postgres:/x"] {
            assert!(matches!(target(url), Err(StoreError::BadUrl(_))), "{url}");
        }
    }

    #[tokio::test]
    async fn the_per_customer_otp_migration_keeps_tries_and_marks_everyone_bound_before() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        // Before 0007 (one account per customer), so that two accounts of C1 can be bound.
        let before: Vec<_> = LEGACY_SQLITE.iter().copied().filter(|m| m.0 < 7).collect();
        migrator_of(&before).run(store.pool.any()).await.unwrap();
        for sql in [
            // Two accounts of C1 with tries, one of C2 locked, one unbound (forgotten) account.
            "INSERT INTO bindings VALUES (5001, 5001, 'C1', '+77011234567', 'Ерлан', '2025-01-02T00:00:00.000000000Z')",
            "INSERT INTO bindings VALUES (5009, 5009, 'C1', '+77011234567', 'Ерлан', '2025-01-05T00:00:00.000000000Z')",
            "INSERT INTO bindings VALUES (5002, 5002, 'C2', '+77025556677', 'Ольга', '2025-01-03T00:00:00.000000000Z')",
            "INSERT INTO otp_challenges VALUES (5001, 'h1', 'subscription', '2025-01-11T05:00:00.000000000Z', \
             '2025-01-11T05:05:00.000000000Z', 1, NULL)",
            "INSERT INTO otp_challenges VALUES (5009, 'h2', 'subscription', '2025-01-11T05:01:00.000000000Z', \
             '2025-01-11T05:06:00.000000000Z', 2, NULL)",
            "INSERT INTO otp_challenges VALUES (5002, '', 'subscription', '2025-01-11T05:00:00.000000000Z', \
             '2025-01-11T05:05:00.000000000Z', 3, '2025-01-11T05:15:00.000000000Z')",
            "INSERT INTO otp_challenges VALUES (5003, 'h3', 'subscription', '2025-01-11T05:00:00.000000000Z', \
             '2025-01-11T05:05:00.000000000Z', 2, NULL)",
            // C3 was bound once and forgotten: only the audit log remembers.
            "INSERT INTO audit_log (at, telegram_user_id, customer_id, action, subject, channel) \
             VALUES ('2024-12-01T00:00:00.000000000Z', 5003, 'C3', 'bind', NULL, 'telegram')",
            "INSERT INTO audit_log (at, telegram_user_id, customer_id, action, subject, channel) \
             VALUES ('2024-12-20T00:00:00.000000000Z', 5001, 'C1', 'bind', NULL, 'telegram')",
            "INSERT INTO audit_log (at, telegram_user_id, customer_id, action, subject, channel) \
             VALUES ('2024-11-01T00:00:00.000000000Z', 5004, 'C4', 'balance.read', NULL, 'telegram')",
        ] {
            sqlx::query(sql).execute(&store.pool).await.unwrap();
        }
        store.migrate().await.unwrap();

        let at = |s: &str| time_from_db(s).unwrap();
        let c1 = store.otp(&CustomerId("C1".into())).await.unwrap().unwrap();
        assert_eq!((c1.code_hash.as_str(), c1.attempts, c1.locked_until), ("", 2, None));
        assert_eq!(c1.sent_at, at("2025-01-11T05:01:00Z"));
        let c2 = store.otp(&CustomerId("C2".into())).await.unwrap().unwrap();
        assert_eq!((c2.attempts, c2.locked_until), (3, Some(at("2025-01-11T05:15:00Z"))));
        assert_eq!(store.otp(&CustomerId("C3".into())).await.unwrap(), None);
        let sends = store.otp_sends(&CustomerId("C2".into()), at("2025-01-11T04:00:00Z")).await.unwrap();
        assert_eq!(sends, vec![at("2025-01-11T05:00:00Z")]);

        let first = |id: &str| {
            let store = store.clone();
            let id = CustomerId(id.to_owned());
            async move { store.customer_first_bound(&id).await.unwrap() }
        };
        assert_eq!(first("C1").await, Some(at("2024-12-20T00:00:00Z")));
        assert_eq!(first("C2").await, Some(at("2025-01-03T00:00:00Z")));
        assert_eq!(first("C3").await, Some(at("2024-12-01T00:00:00Z")));
        assert_eq!(first("C4").await, None);
    }

    #[test]
    fn times_round_trip_exactly_and_sort_as_text() {
        let a = DateTime::from_timestamp(1_736_571_600, 123_456_789).unwrap_or_default();
        let b = DateTime::from_timestamp(1_736_571_601, 0).unwrap_or_default();
        assert_eq!(time_from_db(&time_to_db(a)), Some(a));
        assert!(time_to_db(a) < time_to_db(b));
        assert_eq!(time_to_db(b), "2025-01-11T05:00:01.000000000Z");
    }
}
