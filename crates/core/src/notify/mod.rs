//! Notifications: the messages the bot sends first (a payment due, a low balance, an order
//! on its way, the business's news), through a durable outbox sent at Telegram's rate.
//!
//! - [`Notifier::enqueue`] writes a notification (table `notifications`) before anything is
//!   sent. Its idempotency key is unique: enqueueing a key twice is one notification, and the
//!   second call answers with the first.
//! - The [`Sender`] claims due notifications with a lease (one conditional `UPDATE` per row,
//!   as the jobs are claimed: of two processes on one PostgreSQL exactly one gets a row),
//!   renders each at send time in the customer's current language, with its buttons, and
//!   sends it to the chat of the account bound to the customer *then*.
//! - One process sends at a time: each tick the [`Sender`] takes or renews the lease
//!   [`SENDER_LEASE`] (table `leases`, one conditional upsert, 10 s by the clock); a process
//!   that does not hold it stands by and sends nothing, and takes over when the holder stops
//!   (it gives the lease up) or its lease passes. So the global rate holds across replicas;
//!   the per-row claims stay as a safety net.
//! - Sending is paced by the clock: at most `[notify] per_second` messages a second in all
//!   and one a second per chat, smoothed by a token bucket ([`governor`]'s GCRA driven by the
//!   injected clock, so a test on a fixed clock moves time instead of waiting) and capped by
//!   the process's send [`Budget`]: a sliding one-second window of the sends completed, that
//!   the bot's replies to customers are counted in first (every update of a private chat is
//!   one reply), so the outbox never takes Telegram over its limit and a broadcast never
//!   holds a reply back. A `429`
//!   pauses all sending for its `retry_after` and the notification is tried again (not counted
//!   as a failure); a `403` (the customer blocked the bot) marks them unreachable until they
//!   write to the bot again, and the notification `skipped_unreachable`; other errors are
//!   retried with exponential backoff up to `[notify] max_attempts`, then `failed`.
//! - Quiet hours (`[notify] quiet_hours`, 22:00–09:00 by default, in the business's time
//!   zone): a normal notification due inside them waits until they end; an urgent one goes.
//! - Opt-outs per category and Telegram account (`/notifications`): news is opt-in, the other
//!   categories are on until turned off; a notification of a category turned off is
//!   `skipped_opted_out`.
//!
//! # Delivery: at most once
//!
//! A notification is sent only after its row has been moved from `claimed` to `sending` by
//! the process holding the claim (the intent to send is recorded first). A process that
//! stops between the send and recording its outcome leaves the row `sending`; when its lease
//! passes, the row is marked `failed` ("stopped while sending, outcome unknown") and never
//! sent again: a customer may miss a message after a crash, but is never sent one twice. A
//! row only `claimed` (not yet being sent) whose lease passes is simply claimed again. A
//! network error that leaves it unknown whether Telegram received the message is, likewise,
//! not retried.
//!
//! The replies' share of the budget is per process: a reply handled by a replica that is not
//! the sender is not counted in the sender's window.

pub mod broadcast;
mod budget;
mod plan;
mod render;
mod sender;
mod store;

use chrono::{DateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use self::broadcast::{Audience, Broadcast, Reach};
pub use self::budget::Budget;
pub use self::plan::{PLAN_KIND, plan_account_reminders, run_plan, start as start_planning};
pub use self::render::Rendered;
pub(crate) use self::sender::refuses_chat;
pub use self::sender::{SENDER_LEASE, SENDER_LEASE_FOR, Sender, SenderLoop, TickReport};
pub use self::store::{
    Notification, Preferences, Recipient, all, count_with_status, depth, forget_account, of_customer, preferences,
    recipient, set_preference,
};

use crate::adapters::CustomerId;
use crate::clock::SharedClock;
use crate::config::ConfigError;
use crate::store::{Store, StoreResult};

/// What a notification is about; customers turn categories on and off (`/notifications`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Orders,
    Payments,
    Bookings,
    News,
    Service,
}

impl Category {
    /// Every category, in the order the settings keyboard lists them.
    pub const ALL: [Category; 5] =
        [Category::Orders, Category::Payments, Category::Bookings, Category::News, Category::Service];

    /// The name stored and used in button data.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Orders => "orders",
            Category::Payments => "payments",
            Category::Bookings => "bookings",
            Category::News => "news",
            Category::Service => "service",
        }
    }

    /// The category named `name` ([`Category::as_str`]).
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether a customer who has not chosen receives it: news is opt-in, the rest opt-out.
    pub fn on_by_default(self) -> bool {
        self != Category::News
    }
}

/// How soon a notification must go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Goes at once, quiet hours or not.
    Urgent,
    /// Waits for the end of quiet hours.
    Normal,
}

/// What a notification says: its kind and parameters, rendered at send time in the
/// customer's language (`notify-*` messages in `locales/*/cabinet.ftl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "params", rename_all = "snake_case")]
pub enum Message {
    /// The next charge is due on `date` (with «Пополнить»).
    PaymentDue { date: chrono::NaiveDate, amount: Decimal, currency: String },
    /// The balance lasts about `days` more days (with «Пополнить»).
    LowBalance { balance: Decimal, currency: String, days: u32 },
    /// An order's status changed (with «Где заказ»).
    OrderUpdate {
        number: String,
        /// The new status, when the notification says it (an event gave it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<crate::adapters::OrderStatus>,
        /// The parcel's tracking number and carrier, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tracking: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        carrier: Option<String>,
    },
    /// A text of the business's, per language ("ru", "en"); the business's default language
    /// stands in for a missing one.
    Text { texts: std::collections::BTreeMap<String, String> },
    /// A booking made, moved or cancelled by the business's system (with «Перенести» and
    /// «Отменить» while it stands).
    BookingUpdate {
        booking_id: String,
        /// `booked`, `moved` or `cancelled`.
        change: String,
        /// When it starts (now), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<DateTime<Utc>>,
    },
    /// A document of the customer's (an invoice issued), fetched from the documents backend
    /// when it is sent and sent as its file with a caption; when it cannot be fetched, the
    /// caption's text goes with «Прислать документ» instead (and the reason is recorded).
    Document {
        document_id: String,
        /// Its title per language, as the business gave it; empty: the backend's title.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        titles: std::collections::BTreeMap<String, String>,
    },
}

impl Message {
    /// The kind's name, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::PaymentDue { .. } => "payment_due",
            Message::LowBalance { .. } => "low_balance",
            Message::OrderUpdate { .. } => "order_update",
            Message::Text { .. } => "text",
            Message::BookingUpdate { .. } => "booking_update",
            Message::Document { .. } => "document",
        }
    }

    /// The kind and parameters as stored.
    fn to_parts(&self) -> (String, serde_json::Value) {
        let value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let params = value.get("params").cloned().unwrap_or(serde_json::Value::Null);
        (self.kind().to_owned(), params)
    }

    /// The message stored as `kind` and `params`; `None` for a kind this version does not know.
    pub fn from_parts(kind: &str, params: &serde_json::Value) -> Option<Message> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "params": params })).ok()
    }
}

/// A notification to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// Whom it is for; it goes to the account bound to them when it is sent.
    pub customer_id: CustomerId,
    pub category: Category,
    pub urgency: Urgency,
    /// Unique per notification: the same key again is the same notification. Keys name what
    /// they are about, e.g. `payment-due:C1:2025-01-15:3d`.
    pub key: String,
    pub message: Message,
    /// Not sent before this time (`None`: as soon as it may go).
    pub not_before: Option<DateTime<Utc>>,
}

/// What [`Notifier::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The notification's id (the first one's, for a key enqueued before).
    pub id: i64,
    /// False when the key was enqueued before: nothing new was written.
    pub created: bool,
}

/// Writes notifications into the outbox.
#[derive(Clone)]
pub struct Notifier {
    store: Store,
    clock: SharedClock,
}

impl Notifier {
    pub fn new(store: Store, clock: SharedClock) -> Self {
        Self { store, clock }
    }

    /// Writes the notification as pending, due at once (or at its `not_before`); a key
    /// enqueued before answers with that notification and changes nothing.
    pub async fn enqueue(&self, notification: NewNotification) -> StoreResult<Enqueued> {
        store::enqueue(&self.store, &notification, self.clock.now()).await
    }

    /// The notification with this idempotency key.
    pub async fn get(&self, key: &str) -> StoreResult<Option<Notification>> {
        store::by_key(&self.store, key).await
    }
}

/// `[notify]`: how notifications are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Messages per second in all (`CABINET_NOTIFY_PER_SECOND`; Telegram allows about 30).
    pub per_second: u32,
    /// "HH:MM-HH:MM" in the business's time zone when normal notifications wait
    /// (`CABINET_NOTIFY_QUIET_HOURS`); empty: no quiet hours.
    pub quiet_hours: String,
    /// Sends tried before a notification is marked failed (429s are not counted).
    pub max_attempts: u32,
    /// The wait after the first failed send, in seconds; it doubles after each further one.
    pub retry_seconds: u32,
    /// Plan payment reminders (3 days and 1 day before a charge) and low-balance warnings
    /// every day.
    pub account_reminders: bool,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            per_second: 30,
            quiet_hours: "22:00-09:00".into(),
            max_attempts: 5,
            retry_seconds: 30,
            account_reminders: true,
        }
    }
}

impl NotifyConfig {
    /// Reads `CABINET_NOTIFY_PER_SECOND` and `CABINET_NOTIFY_QUIET_HOURS`.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("CABINET_NOTIFY_PER_SECOND").filter(|v| !v.trim().is_empty()) {
            self.per_second = v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "notify.per_second (CABINET_NOTIFY_PER_SECOND)",
                message: format!("{v:?} is not a number"),
            })?;
        }
        if let Some(v) = env("CABINET_NOTIFY_QUIET_HOURS") {
            self.quiet_hours = v.trim().to_owned();
        }
        Ok(())
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=1000).contains(&self.per_second) {
            return Err(ConfigError::Invalid { name: "notify.per_second", message: "expected 1..=1000".into() });
        }
        if self.max_attempts == 0 {
            return Err(ConfigError::Invalid { name: "notify.max_attempts", message: "expected at least 1".into() });
        }
        QuietHours::parse(&self.quiet_hours).map_err(|message| ConfigError::Invalid {
            name: "notify.quiet_hours (CABINET_NOTIFY_QUIET_HOURS)",
            message,
        })?;
        Ok(())
    }
}

/// Quiet hours: from `start` to `end` local time (over midnight when `end` is earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// "22:00-09:00"; an empty text is no quiet hours (`None`).
    pub fn parse(text: &str) -> Result<Option<QuietHours>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let (start, end) = text.split_once('-').ok_or_else(|| format!("{text:?} is not HH:MM-HH:MM"))?;
        let time =
            |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| format!("{text:?} is not HH:MM-HH:MM"));
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(format!("{text:?} starts and ends at the same time"));
        }
        Ok(Some(QuietHours { start, end }))
    }

    /// When the quiet hours `at` falls in end (local time); `None` outside them.
    pub fn end_after(&self, at: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        let time = at.time();
        let date = at.date();
        if self.start < self.end {
            (time >= self.start && time < self.end).then(|| date.and_time(self.end))
        } else if time >= self.start {
            date.succ_opt().map(|next| next.and_time(self.end))
        } else if time < self.end {
            Some(date.and_time(self.end))
        } else {
            None
        }
    }
}

/// The notification settings the bot runs with (from [`NotifyConfig`]).
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub per_second: u32,
    pub quiet_hours: Option<QuietHours>,
    pub max_attempts: u32,
    pub retry: chrono::Duration,
    pub account_reminders: bool,
}

impl Default for NotifySettings {
    fn default() -> Self {
        // The defaults are valid.
        Self::from_config(&NotifyConfig::default()).unwrap_or(NotifySettings {
            per_second: 30,
            quiet_hours: None,
            max_attempts: 5,
            retry: chrono::Duration::seconds(30),
            account_reminders: true,
        })
    }
}

impl NotifySettings {
    pub fn from_config(config: &NotifyConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let quiet_hours = QuietHours::parse(&config.quiet_hours)
            .map_err(|message| ConfigError::Invalid { name: "notify.quiet_hours", message })?;
        Ok(NotifySettings {
            per_second: config.per_second.max(1),
            quiet_hours,
            max_attempts: config.max_attempts.max(1),
            retry: chrono::Duration::seconds(i64::from(config.retry_seconds.max(1))),
            account_reminders: config.account_reminders,
        })
    }
}

/// A notification's status.
pub mod status {
    /// Waiting to be sent (perhaps after a failed try, or for quiet hours to end).
    pub const PENDING: &str = "pending";
    /// Claimed by a sender, not yet being sent.
    pub const CLAIMED: &str = "claimed";
    /// Being sent: the intent is recorded, the outcome not yet.
    pub const SENDING: &str = "sending";
    pub const SENT: &str = "sent";
    pub const FAILED: &str = "failed";
    pub const SKIPPED_OPTED_OUT: &str = "skipped_opted_out";
    pub const SKIPPED_UNREACHABLE: &str = "skipped_unreachable";
}

/// The Telegram account's language and whether it can be reached, recorded as they write to
/// the bot: called on every update of a private chat. Writing again clears a block.
pub async fn seen(
    store: &Store,
    telegram_user_id: i64,
    telegram_locale: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    store::seen(store, telegram_user_id, telegram_locale, now).await
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn quiet_hours_over_midnight_end_the_next_morning() {
        let quiet = QuietHours::parse("22:00-09:00").unwrap().unwrap();
        assert_eq!(quiet.end_after(local("2025-01-11 23:00")), Some(local("2025-01-12 09:00")));
        assert_eq!(quiet.end_after(local("2025-01-12 03:00")), Some(local("2025-01-12 09:00")));
        assert_eq!(quiet.end_after(local("2025-01-12 22:00")), Some(local("2025-01-13 09:00")));
        assert_eq!(quiet.end_after(local("2025-01-12 09:00")), None);
        assert_eq!(quiet.end_after(local("2025-01-12 21:59")), None);
    }

    #[test]
    fn quiet_hours_within_a_day_and_none() {
        let quiet = QuietHours::parse("13:00-14:00").unwrap().unwrap();
        assert_eq!(quiet.end_after(local("2025-01-11 13:30")), Some(local("2025-01-11 14:00")));
        assert_eq!(quiet.end_after(local("2025-01-11 14:00")), None);
        assert_eq!(QuietHours::parse("").unwrap(), None);
        assert!(QuietHours::parse("22:00").is_err());
        assert!(QuietHours::parse("25:00-09:00").is_err());
        assert!(QuietHours::parse("09:00-09:00").is_err());
    }

    #[test]
    fn a_message_round_trips_through_its_kind_and_params() {
        let message = Message::PaymentDue {
            date: NaiveDate::from_ymd_opt(2025, 1, 15).unwrap(),
            amount: Decimal::from(890),
            currency: "KZT".into(),
        };
        let (kind, params) = message.to_parts();
        assert_eq!(kind, "payment_due");
        assert_eq!(Message::from_parts(&kind, &params), Some(message));
        assert_eq!(Message::from_parts("unknown", &params), None);
    }

    #[test]
    fn news_is_opt_in_and_the_rest_opt_out() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(category));
            assert_eq!(category.on_by_default(), category != Category::News);
        }
    }

    #[test]
    fn the_config_is_checked() {
        assert!(NotifyConfig::default().validate().is_ok());
        let bad = NotifyConfig { per_second: 0, ..NotifyConfig::default() };
        assert!(bad.validate().is_err());
        let bad = NotifyConfig { quiet_hours: "late".into(), ..NotifyConfig::default() };
        assert!(bad.validate().is_err());
        let mut config = NotifyConfig::default();
        let env = |name: &str| match name {
            "CABINET_NOTIFY_PER_SECOND" => Some("12".to_owned()),
            "CABINET_NOTIFY_QUIET_HOURS" => Some(String::new()),
            _ => None,
        };
        config.apply_env(&env).unwrap();
        assert_eq!(config.per_second, 12);
        assert_eq!(NotifySettings::from_config(&config).unwrap().quiet_hours, None);
    }
}
