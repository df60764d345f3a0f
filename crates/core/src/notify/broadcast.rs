//! Broadcasts: one text to every bound customer of an audience (everyone, a CRM tag, a
//! tariff, or those with an order under way), through the outbox.
//!
//! - [`members`] resolves an [`Audience`] over the bound customers (news events use it too);
//!   [`reach`] says how many of them the outbox will actually send to, given their opt-outs
//!   and blocks, as the sender decides.
//! - A broadcast is a row of `broadcasts`: a `draft` staff see as a preview, then `cancelled`,
//!   or `running` once a staff member confirms it, then `stopped` or `done`.
//! - [`write_notifications`] writes one notification per recipient (key
//!   `broadcast:{id}:{customer}`, linked by `notifications.broadcast_id`) in one transaction,
//!   in batches; it is idempotent, so a confirmation that stopped half-way is resumed by
//!   writing again, and nothing is doubled.
//! - [`stop`] moves the notifications not yet being sent to [`STOPPED`], which the sender
//!   never claims; [`counts`] says where each notification is.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{Category, Message};
use crate::adapters::CustomerId;
use crate::bot::Ctx;
use crate::error::BotError;
use crate::store::{Cols, Store, StoreResult, time_to_db};

/// The status of a broadcast's notification that a stop took off the queue: never sent.
pub const STOPPED: &str = "stopped";

/// Rows per `INSERT` when the notifications are written (two bound values each).
const BATCH: usize = 500;

/// Whom a broadcast (or a news event) goes to, among the bound customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every bound customer.
    All,
    /// Those whose CRM profile has this tag (case-insensitively).
    Tag(String),
    /// Those on this tariff (its code, as the billing gives it).
    Tariff(String),
    /// Those with an order not yet delivered or cancelled (as the logistics backend lists it).
    ActiveOrder,
}

impl Audience {
    /// The audience a staff member typed: `all`/`все`, `tag:<tag>`/`тег:<tag>`,
    /// `tariff:<code>`/`тариф:<code>`, `active-order`/`заказ`; `None` for anything else.
    pub fn parse(token: &str) -> Option<Audience> {
        let lower = token.to_lowercase();
        match lower.as_str() {
            "all" | "все" | "всем" => return Some(Audience::All),
            "active-order" | "active_order" | "заказ" | "заказы" => return Some(Audience::ActiveOrder),
            _ => {}
        }
        let (kind, value) = token.split_once(':')?;
        let value = value.trim();
        if value.is_empty() || value.chars().count() > 64 || value.chars().any(char::is_control) {
            return None;
        }
        match kind.to_lowercase().as_str() {
            "tag" | "тег" => Some(Audience::Tag(value.to_owned())),
            "tariff" | "тариф" => Some(Audience::Tariff(value.to_owned())),
            _ => None,
        }
    }

    /// As stored in `broadcasts.segment` (`all`, `tag:vip`, `tariff:max`, `active-order`).
    pub fn to_stored(&self) -> String {
        match self {
            Audience::All => "all".into(),
            Audience::Tag(tag) => format!("tag:{tag}"),
            Audience::Tariff(code) => format!("tariff:{code}"),
            Audience::ActiveOrder => "active-order".into(),
        }
    }

    /// Read back from [`Audience::to_stored`].
    pub fn from_stored(text: &str) -> Option<Audience> {
        Audience::parse(text)
    }
}

impl From<&crate::events::Segment> for Audience {
    fn from(segment: &crate::events::Segment) -> Audience {
        match segment {
            crate::events::Segment::All => Audience::All,
            crate::events::Segment::Tag(tag) => Audience::Tag(tag.clone()),
            crate::events::Segment::Tariff(code) => Audience::Tariff(code.clone()),
        }
    }
}

/// The bound customers in `audience` (asked of the CRM, the billing or the logistics backend
/// one customer at a time), in the store's order.
pub async fn members(ctx: &Ctx, audience: &Audience) -> Result<Vec<CustomerId>, BotError> {
    let adapters = &ctx.adapters;
    let mut wanted = Vec::new();
    for customer in ctx.store.bound_customers().await? {
        let member = match audience {
            Audience::All => true,
            Audience::Tag(tag) => adapters
                .crm
                .profile(&customer)
                .await?
                .is_some_and(|p| p.tags.iter().any(|t| t.to_lowercase() == tag.to_lowercase())),
            Audience::Tariff(code) => {
                adapters.billing.account(&customer).await?.and_then(|a| a.tariff).is_some_and(|t| t.code == *code)
            }
            Audience::ActiveOrder => !adapters.logistics.active_orders(&customer).await?.is_empty(),
        };
        if member {
            wanted.push(customer);
        }
    }
    Ok(wanted)
}

/// How many customers of a segment a notification of one category reaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// Bound customers in the segment.
    pub in_segment: i64,
    /// Of them, whose account turned the category off (or never turned news on).
    pub opted_out: i64,
    /// Of them, whose account blocked the bot.
    pub unreachable: i64,
    /// The rest: those it will be sent to.
    pub recipients: i64,
}

/// What the sender will do with a notification of `category` to each of `customers`, as it
/// decides at send time (the latest bound account; blocked first, then opted out), read in
/// three queries whatever the number of customers.
pub async fn reach(store: &Store, customers: &[CustomerId], category: Category) -> StoreResult<Reach> {
    let rows =
        sqlx::query("SELECT customer_id, telegram_user_id, bound_at FROM bindings").fetch_all(store.pool()).await?;
    let mut latest: HashMap<String, (DateTime<Utc>, i64)> = HashMap::new();
    for row in &rows {
        let c = Cols::new(row, "bindings");
        let (customer, user, at) = (c.text("customer_id")?, c.i64("telegram_user_id")?, c.time("bound_at")?);
        let entry = latest.entry(customer).or_insert((at, user));
        if at > entry.0 {
            *entry = (at, user);
        }
    }
    let rows = sqlx::query("SELECT telegram_user_id FROM notification_recipients WHERE unreachable_since IS NOT NULL")
        .fetch_all(store.pool())
        .await?;
    let blocked: HashSet<i64> = rows
        .iter()
        .map(|r| Cols::new(r, "notification_recipients").i64("telegram_user_id"))
        .collect::<Result<_, _>>()?;
    let rows = sqlx::query("SELECT telegram_user_id, enabled FROM notification_prefs WHERE category = $1")
        .bind(category.as_str().to_owned())
        .fetch_all(store.pool())
        .await?;
    let mut chosen: HashMap<i64, bool> = HashMap::new();
    for row in &rows {
        let c = Cols::new(row, "notification_prefs");
        chosen.insert(c.i64("telegram_user_id")?, c.i64("enabled")? != 0);
    }
    let mut reach = Reach::default();
    for customer in customers {
        reach.in_segment += 1;
        let Some(&(_, user)) = latest.get(&customer.0) else {
            reach.unreachable += 1;
            continue;
        };
        if blocked.contains(&user) {
            reach.unreachable += 1;
        } else if !chosen.get(&user).copied().unwrap_or(category.on_by_default()) {
            reach.opted_out += 1;
        } else {
            reach.recipients += 1;
        }
    }
    Ok(reach)
}

/// A broadcast's lifecycle.
pub mod state {
    /// Shown to staff, not confirmed.
    pub const DRAFT: &str = "draft";
    /// Cancelled before it was confirmed.
    pub const CANCELLED: &str = "cancelled";
    /// Confirmed: its notifications are (being) written and sent.
    pub const RUNNING: &str = "running";
    /// Stopped by staff: what was not yet being sent never will be.
    pub const STOPPED: &str = "stopped";
    /// Every notification reached an end.
    pub const DONE: &str = "done";
}

/// A broadcast as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    pub id: i64,
    /// The audience ([`Audience::to_stored`]).
    pub segment: String,
    pub category: Category,
    /// The text as staff typed it (plain text; escaped when it is sent).
    pub text: String,
    /// One of [`state`]'s.
    pub status: String,
    /// The staff member who typed `/broadcast`.
    pub created_by: i64,
    pub confirmed_by: Option<i64>,
    pub confirmed_by_name: Option<String>,
    /// The preview's counts.
    pub in_segment: i64,
    pub recipients: i64,
    /// Notifications written.
    pub total: i64,
    /// Whether every recipient's notification is in the outbox.
    pub written: bool,
    pub staff_chat_id: Option<i64>,
    pub preview_message_id: Option<i32>,
    pub progress_message_id: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Broadcast {
    /// The audience, when it reads back.
    pub fn audience(&self) -> Option<Audience> {
        Audience::from_stored(&self.segment)
    }

    /// The message each recipient is sent: the text, the same in every language.
    pub fn message(&self) -> Message {
        let texts =
            crate::domain::Locale::ALL.into_iter().map(|l| (l.as_str().to_owned(), self.text.clone())).collect();
        Message::Text { texts }
    }
}

const COLUMNS: &str = "id, segment, category, text, status, created_by, confirmed_by, confirmed_by_name, in_segment, \
                       recipients, total, written, staff_chat_id, preview_message_id, progress_message_id, \
                       created_at, confirmed_at, finished_at";

fn from_row(row: &sqlx::any::AnyRow) -> StoreResult<Broadcast> {
    let c = Cols::new(row, "broadcasts");
    let id32 = |col: &str| -> StoreResult<Option<i32>> { Ok(c.opt_i64(col)?.and_then(|v| i32::try_from(v).ok())) };
    Ok(Broadcast {
        id: c.i64("id")?,
        segment: c.text("segment")?,
        category: Category::parse(&c.text("category")?).unwrap_or(Category::News),
        text: c.text("text")?,
        status: c.text("status")?,
        created_by: c.i64("created_by")?,
        confirmed_by: c.opt_i64("confirmed_by")?,
        confirmed_by_name: c.opt_text("confirmed_by_name")?,
        in_segment: c.i64("in_segment")?,
        recipients: c.i64("recipients")?,
        total: c.i64("total")?,
        written: c.i64("written")? != 0,
        staff_chat_id: c.opt_i64("staff_chat_id")?,
        preview_message_id: id32("preview_message_id")?,
        progress_message_id: id32("progress_message_id")?,
        created_at: c.time("created_at")?,
        confirmed_at: c.opt_time("confirmed_at")?,
        finished_at: c.opt_time("finished_at")?,
    })
}

/// A draft to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBroadcast {
    pub audience: Audience,
    pub category: Category,
    pub text: String,
    pub created_by: i64,
    pub reach: Reach,
    pub staff_chat_id: Option<i64>,
}

/// Stores a draft; its id.
pub async fn create_draft(store: &Store, new: &NewBroadcast, now: DateTime<Utc>) -> StoreResult<i64> {
    let row = sqlx::query(
        "INSERT INTO broadcasts (segment, category, text, status, created_by, in_segment, recipients, \
         staff_chat_id, created_at) VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.audience.to_stored())
    .bind(new.category.as_str().to_owned())
    .bind(new.text.clone())
    .bind(new.created_by)
    .bind(new.reach.in_segment)
    .bind(new.reach.recipients)
    .bind(new.staff_chat_id)
    .bind(time_to_db(now))
    .fetch_one(store.pool())
    .await?;
    Cols::new(&row, "broadcasts").i64("id")
}

/// The broadcast with this id.
pub async fn get(store: &Store, id: i64) -> StoreResult<Option<Broadcast>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM broadcasts WHERE id = $1"))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every broadcast, oldest first.
pub async fn all(store: &Store) -> StoreResult<Vec<Broadcast>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM broadcasts ORDER BY id")).fetch_all(store.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Notes the preview's message (where its buttons are).
pub async fn set_preview_message(store: &Store, id: i64, message_id: i32) -> StoreResult<()> {
    sqlx::query("UPDATE broadcasts SET preview_message_id = $1 WHERE id = $2")
        .bind(i64::from(message_id))
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Notes the progress message (edited in place while it runs).
pub async fn set_progress_message(store: &Store, id: i64, message_id: i32) -> StoreResult<()> {
    sqlx::query("UPDATE broadcasts SET progress_message_id = $1 WHERE id = $2")
        .bind(i64::from(message_id))
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// A draft is cancelled; false if it was no longer a draft.
pub async fn cancel(store: &Store, id: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE broadcasts SET status = 'cancelled' WHERE id = $1 AND status = 'draft'")
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// A draft is confirmed by `by` (named `name`): it runs. False if it was no longer a draft
/// (confirmed by someone else already, or cancelled): of two confirmations exactly one
/// succeeds.
pub async fn confirm(store: &Store, id: i64, by: i64, name: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE broadcasts SET status = 'running', confirmed_by = $1, confirmed_by_name = $2, confirmed_at = $3 \
         WHERE id = $4 AND status = 'draft'",
    )
    .bind(by)
    .bind(name.to_owned())
    .bind(time_to_db(now))
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes one pending notification per customer for a running broadcast, in one transaction
/// (batches of [`BATCH`] rows), then marks it written with the total. Keys already written
/// are left as they are, so writing again (a confirmation resumed after a crash) adds only
/// what is missing. Returns the total, or `None` when the broadcast is not running (stopped
/// meanwhile: nothing is written).
pub async fn write_notifications(
    store: &Store,
    broadcast: &Broadcast,
    customers: &[CustomerId],
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let (kind, params) = broadcast.message().to_parts();
    let params = params.to_string();
    let mut tx = store.pool().begin().await?;
    // Taking the row first serialises this with a stop (PostgreSQL locks it; SQLite's
    // writes are serialised anyway).
    let running = sqlx::query("UPDATE broadcasts SET written = written WHERE id = $1 AND status = 'running'")
        .bind(broadcast.id)
        .execute(&mut *tx)
        .await?;
    if running.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    for chunk in customers.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO notifications (idempotency_key, customer_id, category, urgent, kind, params, status, \
             attempts, next_attempt_at, created_at, broadcast_id) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let (key, customer) = (6 + 2 * i, 7 + 2 * i);
            sql.push_str(&format!("(${key}, ${customer}, $1, 0, $2, $3, 'pending', 0, $4, $4, $5)"));
        }
        sql.push_str(" ON CONFLICT (idempotency_key) DO NOTHING");
        let mut query = sqlx::query(&sql)
            .bind(broadcast.category.as_str().to_owned())
            .bind(kind.clone())
            .bind(params.clone())
            .bind(time_to_db(now))
            .bind(broadcast.id);
        for customer in chunk {
            query = query.bind(key(broadcast.id, customer)).bind(customer.0.clone());
        }
        query.execute(&mut *tx).await?;
    }
    let row = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE broadcast_id = $1")
        .bind(broadcast.id)
        .fetch_one(&mut *tx)
        .await?;
    let total = Cols::new(&row, "notifications").i64("n")?;
    sqlx::query("UPDATE broadcasts SET written = 1, total = $1 WHERE id = $2")
        .bind(total)
        .bind(broadcast.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(total))
}

/// The idempotency key of a broadcast's notification to a customer.
pub fn key(broadcast: i64, customer: &CustomerId) -> String {
    format!("broadcast:{broadcast}:{customer}")
}

/// Where a broadcast's notifications are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Waiting, claimed by a sender, or being sent.
    pub in_flight: i64,
    pub sent: i64,
    pub opted_out: i64,
    pub unreachable: i64,
    pub failed: i64,
    pub stopped: i64,
}

impl Counts {
    /// Every notification of the broadcast.
    pub fn total(&self) -> i64 {
        self.in_flight + self.sent + self.opted_out + self.unreachable + self.failed + self.stopped
    }
}

/// Counts a broadcast's notifications by where they are.
pub async fn counts(store: &Store, id: i64) -> StoreResult<Counts> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM notifications WHERE broadcast_id = $1 GROUP BY status")
        .bind(id)
        .fetch_all(store.pool())
        .await?;
    let mut counts = Counts::default();
    for row in &rows {
        let c = Cols::new(row, "notifications");
        let n = c.i64("n")?;
        match c.text("status")?.as_str() {
            super::status::SENT => counts.sent += n,
            super::status::SKIPPED_OPTED_OUT => counts.opted_out += n,
            super::status::SKIPPED_UNREACHABLE => counts.unreachable += n,
            super::status::FAILED => counts.failed += n,
            STOPPED => counts.stopped += n,
            _ => counts.in_flight += n,
        }
    }
    Ok(counts)
}

/// When a broadcast's notifications in flight are next due, if all of them wait (quiet
/// hours hold them, …): the earliest; `None` when none waits or one is being sent now.
pub async fn next_due(store: &Store, id: i64) -> StoreResult<Option<DateTime<Utc>>> {
    let row = sqlx::query(
        "SELECT MIN(CASE WHEN status = 'pending' THEN next_attempt_at END) AS due, \
         SUM(CASE WHEN status = 'pending' THEN 0 ELSE 1 END) AS busy \
         FROM notifications WHERE broadcast_id = $1 AND status IN ('pending', 'claimed', 'sending')",
    )
    .bind(id)
    .fetch_one(store.pool())
    .await?;
    let c = Cols::new(&row, "notifications");
    if c.opt_i64("busy")?.unwrap_or(0) > 0 {
        return Ok(None);
    }
    c.opt_time("due")
}

/// Stops a running broadcast: its notifications not yet being sent (pending, or claimed by
/// a sender that has not begun sending them) become [`STOPPED`]. How many, or `None` when it
/// was not running.
pub async fn stop(store: &Store, id: i64) -> StoreResult<Option<u64>> {
    let mut tx = store.pool().begin().await?;
    let done = sqlx::query("UPDATE broadcasts SET status = 'stopped' WHERE id = $1 AND status = 'running'")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let stopped = sqlx::query(
        "UPDATE notifications SET status = 'stopped', locked_until = NULL, claim_token = NULL, \
         last_error = 'the broadcast was stopped' WHERE broadcast_id = $1 AND status IN ('pending', 'claimed')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(stopped.rows_affected()))
}

/// Marks a running or stopped broadcast finished (`done`, or still `stopped`) at `now`; true
/// only for the one call that finished it, so its report is made once.
pub async fn finish(store: &Store, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE broadcasts SET finished_at = $1, status = CASE WHEN status = 'running' THEN 'done' ELSE status END \
         WHERE id = $2 AND finished_at IS NULL AND status IN ('running', 'stopped')",
    )
    .bind(time_to_db(now))
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected() > 0)
}
