//! The outbox's tables: `notifications`, `notification_prefs` (opt-outs per Telegram account
//! and category) and `notification_recipients` (the account's Telegram language, and since
//! when it cannot be reached).

use chrono::{DateTime, Utc};

use super::{Category, Message, NewNotification, Urgency};
use crate::adapters::CustomerId;
use crate::store::{Cols, Store, StoreResult, time_to_db};

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub key: String,
    pub customer_id: CustomerId,
    /// The stored category's name ([`Category::as_str`]).
    pub category: String,
    pub urgent: bool,
    pub kind: String,
    pub params: serde_json::Value,
    /// One of [`super::status`]'s.
    pub status: String,
    /// Sends tried (a 429 is not counted).
    pub attempts: i64,
    /// When it is due (again).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last try failed, or why it was skipped.
    pub last_error: Option<String>,
    /// The chat it was sent (or is being sent) to.
    pub chat_id: Option<i64>,
    pub telegram_message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The category, when this version knows it.
    pub fn category(&self) -> Option<Category> {
        Category::parse(&self.category)
    }

    /// The message, when this version knows its kind.
    pub fn message(&self) -> Option<Message> {
        Message::from_parts(&self.kind, &self.params)
    }
}

const COLUMNS: &str = "id, idempotency_key, customer_id, category, urgent, kind, params, status, attempts, \
                       next_attempt_at, last_error, chat_id, telegram_message_id, created_at, sent_at";

/// Claimable by `$1` = now: pending and due, or claimed by a sender whose lease passed.
const CLAIMABLE: &str =
    "((status = 'pending' AND next_attempt_at <= $1) OR (status = 'claimed' AND locked_until < $1))";

fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Notification> {
    let c = Cols::new(row, "notifications");
    Ok(Notification {
        id: c.i64("id")?,
        key: c.text("idempotency_key")?,
        customer_id: CustomerId(c.text("customer_id")?),
        category: c.text("category")?,
        urgent: c.i64("urgent")? != 0,
        kind: c.text("kind")?,
        params: c.json("params")?,
        status: c.text("status")?,
        attempts: c.i64("attempts")?,
        next_attempt_at: c.time("next_attempt_at")?,
        last_error: c.opt_text("last_error")?,
        chat_id: c.opt_i64("chat_id")?,
        telegram_message_id: c.opt_i64("telegram_message_id")?,
        created_at: c.time("created_at")?,
        sent_at: c.opt_time("sent_at")?,
    })
}

pub(super) async fn enqueue(store: &Store, n: &NewNotification, now: DateTime<Utc>) -> StoreResult<super::Enqueued> {
    let (kind, params) = n.message.to_parts();
    let inserted = sqlx::query(
        "INSERT INTO notifications (idempotency_key, customer_id, category, urgent, kind, params, status, \
         attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8) \
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(n.key.clone())
    .bind(n.customer_id.0.clone())
    .bind(n.category.as_str().to_owned())
    .bind(i64::from(n.urgency == Urgency::Urgent))
    .bind(kind)
    .bind(params.to_string())
    .bind(time_to_db(n.not_before.unwrap_or(now)))
    .bind(time_to_db(now))
    .fetch_optional(store.pool())
    .await?;
    if let Some(row) = inserted {
        return Ok(super::Enqueued { id: Cols::new(&row, "notifications").i64("id")?, created: true });
    }
    let row = sqlx::query("SELECT id FROM notifications WHERE idempotency_key = $1")
        .bind(n.key.clone())
        .fetch_one(store.pool())
        .await?;
    Ok(super::Enqueued { id: Cols::new(&row, "notifications").i64("id")?, created: false })
}

pub(super) async fn by_key(store: &Store, key: &str) -> StoreResult<Option<Notification>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM notifications WHERE idempotency_key = $1"))
        .bind(key.to_owned())
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every notification of a customer, oldest first.
pub async fn of_customer(store: &Store, customer: &CustomerId) -> StoreResult<Vec<Notification>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM notifications WHERE customer_id = $1 ORDER BY id"))
        .bind(customer.0.clone())
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Every notification, oldest first.
pub async fn all(store: &Store) -> StoreResult<Vec<Notification>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM notifications ORDER BY id")).fetch_all(store.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Claims up to `limit` due notifications (urgent first, then the earliest due) for
/// `token` until `until`.
pub(super) async fn claim(
    store: &Store,
    now: DateTime<Utc>,
    limit: u32,
    until: DateTime<Utc>,
    token: &str,
) -> StoreResult<Vec<Notification>> {
    let now_db = time_to_db(now);
    let candidates = sqlx::query(&format!(
        "SELECT id FROM notifications WHERE {CLAIMABLE} ORDER BY urgent DESC, next_attempt_at, id LIMIT $2"
    ))
    .bind(now_db.clone())
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for row in &candidates {
        let id = Cols::new(row, "notifications").i64("id")?;
        // The condition again on the one row: whoever updates it first has it (PostgreSQL
        // re-checks it after a concurrent update; SQLite serialises writes).
        let row = sqlx::query(&format!(
            "UPDATE notifications SET status = 'claimed', locked_until = $2, claim_token = $3 \
             WHERE id = $4 AND {CLAIMABLE} RETURNING {COLUMNS}"
        ))
        .bind(now_db.clone())
        .bind(time_to_db(until))
        .bind(token.to_owned())
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
        if let Some(row) = row {
            claimed.push(from_row(&row)?);
        }
    }
    Ok(claimed)
}

/// Gives a claimed notification back, due at `at` (attempts unchanged).
pub(super) async fn release(store: &Store, id: i64, token: &str, at: DateTime<Utc>) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE notifications SET status = 'pending', next_attempt_at = $1, locked_until = NULL, claim_token = NULL \
         WHERE id = $2 AND status = 'claimed' AND claim_token = $3",
    )
    .bind(time_to_db(at))
    .bind(id)
    .bind(token.to_owned())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A notification whose handling failed on something other than Telegram's answer (a record
/// that cannot be read, say): still only claimed, it was not sent, and is tried again after
/// `retry_at` (the try counted) until `max_attempts`, then `failed`; already `sending`, its
/// outcome is unknown and it is `failed`, never sent again. Only the claimer's row changes.
pub(super) async fn fail_handling(
    store: &Store,
    id: i64,
    token: &str,
    reason: &str,
    retry_at: DateTime<Utc>,
    max_attempts: u32,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE notifications SET status = 'failed', locked_until = NULL, claim_token = NULL, last_error = $1 \
         WHERE id = $2 AND status = 'sending' AND claim_token = $3",
    )
    .bind(format!("outcome unknown, not sent again: {reason}"))
    .bind(id)
    .bind(token.to_owned())
    .execute(store.pool())
    .await?;
    sqlx::query(
        "UPDATE notifications SET status = CASE WHEN attempts + 1 >= $1 THEN 'failed' ELSE 'pending' END, \
         attempts = attempts + 1, next_attempt_at = $2, locked_until = NULL, claim_token = NULL, last_error = $3 \
         WHERE id = $4 AND status = 'claimed' AND claim_token = $5",
    )
    .bind(i64::from(max_attempts))
    .bind(time_to_db(retry_at))
    .bind(reason.to_owned())
    .bind(id)
    .bind(token.to_owned())
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Records the intent to send: claimed → sending, the attempt counted, the chat noted. False
/// if the claim was lost (its lease passed and another sender took it): then it is not sent.
pub(super) async fn begin_send(store: &Store, id: i64, token: &str, chat_id: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE notifications SET status = 'sending', attempts = attempts + 1, chat_id = $1 \
         WHERE id = $2 AND status = 'claimed' AND claim_token = $3",
    )
    .bind(chat_id)
    .bind(id)
    .bind(token.to_owned())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Sent: the message id and time recorded.
pub(super) async fn mark_sent(store: &Store, id: i64, message_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query(
        "UPDATE notifications SET status = 'sent', telegram_message_id = $1, sent_at = $2, locked_until = NULL, \
         last_error = NULL WHERE id = $3 AND status = 'sending'",
    )
    .bind(message_id)
    .bind(time_to_db(at))
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// A send that did not happen: pending again at `retry_at` (with `counted` false, the
/// attempt is taken back: a 429), or finished with `final_status` and the reason.
pub(super) async fn mark_not_sent(
    store: &Store,
    id: i64,
    reason: &str,
    retry_at: Option<DateTime<Utc>>,
    counted: bool,
    final_status: &str,
) -> StoreResult<()> {
    let query = match retry_at {
        Some(at) => sqlx::query(
            "UPDATE notifications SET status = 'pending', next_attempt_at = $1, locked_until = NULL, \
             claim_token = NULL, last_error = $2, attempts = attempts - $3 \
             WHERE id = $4 AND status IN ('sending', 'claimed')",
        )
        .bind(time_to_db(at))
        .bind(reason.to_owned())
        .bind(i64::from(!counted)),
        None => sqlx::query(
            "UPDATE notifications SET status = $1, locked_until = NULL, claim_token = NULL, last_error = $2 \
             WHERE id = $3 AND status IN ('sending', 'claimed')",
        )
        .bind(final_status.to_owned())
        .bind(reason.to_owned()),
    };
    query.bind(id).execute(store.pool()).await?;
    Ok(())
}

/// Notes something about how a sent notification went (it went without its document, and
/// why) in its `last_error`.
pub(super) async fn note(store: &Store, id: i64, note: &str) -> StoreResult<()> {
    sqlx::query("UPDATE notifications SET last_error = $1 WHERE id = $2")
        .bind(note.to_owned())
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Notifications left `sending` by a sender that stopped before recording the outcome (its
/// lease passed by `now`): marked failed, never sent again. How many.
pub(super) async fn fail_abandoned(store: &Store, now: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE notifications SET status = 'failed', locked_until = NULL, claim_token = NULL, \
         last_error = 'the sender stopped while sending; outcome unknown, not sent again' \
         WHERE status = 'sending' AND locked_until < $1",
    )
    .bind(time_to_db(now))
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected())
}

/// How many notifications are not final yet (pending, claimed or being sent).
pub async fn depth(store: &Store) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE status IN ('pending', 'claimed', 'sending')")
        .fetch_one(store.pool())
        .await?;
    Cols::new(&row, "notifications").i64("n")
}

/// How many notifications have this status.
pub async fn count_with_status(store: &Store, status: &str) -> StoreResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE status = $1")
        .bind(status.to_owned())
        .fetch_one(store.pool())
        .await?;
    Cols::new(&row, "notifications").i64("n")
}

// --- recipients -----------------------------------------------------------------------------

/// What the outbox knows of a Telegram account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    /// The language Telegram reports for them (their `/language` choice comes first).
    pub telegram_locale: Option<String>,
    /// Since when sending to them fails with 403 (they blocked the bot).
    pub unreachable_since: Option<DateTime<Utc>>,
}

/// Called on every private update: the row is rewritten only when something changed (the
/// language, or a customer who was unreachable writes again), not on every message.
pub(super) async fn seen(
    store: &Store,
    user: i64,
    telegram_locale: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notification_recipients (telegram_user_id, telegram_locale, unreachable_since, updated_at) \
         VALUES ($1, $2, NULL, $3) ON CONFLICT (telegram_user_id) DO UPDATE SET \
         telegram_locale = excluded.telegram_locale, unreachable_since = NULL, updated_at = excluded.updated_at \
         WHERE notification_recipients.unreachable_since IS NOT NULL \
         OR COALESCE(notification_recipients.telegram_locale, '') <> COALESCE(excluded.telegram_locale, '')",
    )
    .bind(user)
    .bind(telegram_locale.map(str::to_owned))
    .bind(time_to_db(now))
    .execute(store.pool())
    .await?;
    Ok(())
}

/// What the outbox knows of `user` (nothing yet: the default).
pub async fn recipient(store: &Store, user: i64) -> StoreResult<Recipient> {
    let row = sqlx::query(
        "SELECT telegram_locale, unreachable_since FROM notification_recipients WHERE telegram_user_id = $1",
    )
    .bind(user)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(Recipient::default()) };
    let c = Cols::new(&row, "notification_recipients");
    Ok(Recipient {
        telegram_locale: c.opt_text("telegram_locale")?,
        unreachable_since: c.opt_time("unreachable_since")?,
    })
}

pub(super) async fn mark_unreachable(store: &Store, user: i64, now: DateTime<Utc>) -> StoreResult<()> {
    let done = sqlx::query(
        "INSERT INTO notification_recipients (telegram_user_id, telegram_locale, unreachable_since, updated_at) \
         VALUES ($1, NULL, $2, $2) ON CONFLICT (telegram_user_id) DO UPDATE SET \
         unreachable_since = excluded.unreachable_since, updated_at = excluded.updated_at",
    )
    .bind(user)
    .bind(time_to_db(now))
    .execute(store.pool())
    .await;
    // Their next message clears it ([`seen`]): it must not be skipped as already seen.
    store.forget_known(user);
    done?;
    Ok(())
}

// --- preferences ----------------------------------------------------------------------------

/// A Telegram account's choices: which categories it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    /// (category, on), for every category.
    pub categories: Vec<(Category, bool)>,
}

impl Preferences {
    /// Whether `category` is received.
    pub fn wants(&self, category: Category) -> bool {
        self.categories.iter().find(|(c, _)| *c == category).map_or(category.on_by_default(), |(_, on)| *on)
    }
}

/// The account's choices, the defaults where it made none.
pub async fn preferences(store: &Store, user: i64) -> StoreResult<Preferences> {
    let rows = sqlx::query("SELECT category, enabled FROM notification_prefs WHERE telegram_user_id = $1")
        .bind(user)
        .fetch_all(store.pool())
        .await?;
    let mut chosen = Vec::new();
    for row in &rows {
        let c = Cols::new(row, "notification_prefs");
        if let Some(category) = Category::parse(&c.text("category")?) {
            chosen.push((category, c.i64("enabled")? != 0));
        }
    }
    let categories = Category::ALL
        .into_iter()
        .map(|category| {
            let on = chosen.iter().find(|(c, _)| *c == category).map_or(category.on_by_default(), |(_, on)| *on);
            (category, on)
        })
        .collect();
    Ok(Preferences { categories })
}

/// Deletes what the outbox keeps of a Telegram account (its choices, its language, a block):
/// `/forget`.
pub async fn forget_account(store: &Store, user: i64) -> StoreResult<()> {
    for table in ["notification_prefs", "notification_recipients"] {
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE telegram_user_id = $1"))
            .bind(user)
            .execute(store.pool())
            .await;
        store.forget_known(user);
        done?;
    }
    Ok(())
}

/// Turns a category on or off for the account.
pub async fn set_preference(
    store: &Store,
    user: i64,
    category: Category,
    on: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notification_prefs (telegram_user_id, category, enabled, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (telegram_user_id, category) DO UPDATE SET enabled = excluded.enabled, \
         updated_at = excluded.updated_at",
    )
    .bind(user)
    .bind(category.as_str().to_owned())
    .bind(i64::from(on))
    .bind(time_to_db(now))
    .execute(store.pool())
    .await?;
    Ok(())
}
