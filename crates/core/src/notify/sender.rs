//! The sender: claims due notifications and sends them at Telegram's rate (see the module
//! documentation of [`super`] for the rules and the delivery guarantee).

use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use anyhow::Context as _;
use chrono::{DateTime, Duration, TimeZone as _, Utc};
use governor::clock::{Clock as _, FakeRelativeClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use teloxide::prelude::*;
use teloxide::types::{ChatId, ParseMode};
use teloxide::{ApiError, RequestError};

use super::budget::Budget;
use super::store::{self as outbox, Notification};
use super::{Message, render, status};
use crate::bot::Ctx;
use crate::bot::keyboards::Buttons;
use crate::bot::staff::outbox::{Place, StaffPost};
use crate::error::BotError;

/// How long a claim holds a notification (by the clock) before another sender may take it.
/// Only the elected sender claims, and one tick handles a batch before the next, so the lease
/// matters only after a crash: it is how long a restarted process waits for the notifications
/// the dead one had claimed.
const LEASE: Duration = Duration::seconds(15);

/// The lease that makes one process the sender (renewed each tick; another process takes it
/// over when it passes).
pub const SENDER_LEASE: &str = "notify.sender";

/// How long the sender's lease lasts (by the clock) unless renewed.
pub const SENDER_LEASE_FOR: Duration = Duration::seconds(10);

/// How many notifications are claimed at once, at most (fewer at a low rate: a batch is
/// what may go at once, a tenth of a second's worth).
const MAX_BATCH: u32 = 20;

/// The least time between two messages to one chat.
const PER_CHAT: Duration = Duration::seconds(1);

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub sent: usize,
    /// Skipped: opted out, unreachable or not bound.
    pub skipped: usize,
    /// Failed for good.
    pub failed: usize,
    /// Given back for later: the rate, quiet hours, a failed try to be retried.
    pub deferred: usize,
    /// Telegram asked to pause (429) during this tick.
    pub paused: bool,
    /// Another process holds the sender's lease: this one sent nothing.
    pub standby: bool,
}

/// The pace of sending, by the injected clock: a GCRA bucket for all chats (`governor`, on a
/// relative clock moved to follow the injected one) that smooths it, the process's send
/// [`Budget`] that caps it (never more than `per_second` in any sliding second, replies
/// counted first), one message a second per chat, and the pause Telegram asked for.
struct Pace {
    budget: Arc<Budget>,
    clock: FakeRelativeClock,
    /// The injected clock's time the relative clock was last moved to.
    seen: Option<DateTime<Utc>>,
    global: RateLimiter<NotKeyed, InMemoryState, FakeRelativeClock, NoOpMiddleware<governor::nanos::Nanos>>,
    /// When each chat may be sent the next message.
    chats: HashMap<i64, DateTime<Utc>>,
    paused_until: Option<DateTime<Utc>>,
}

impl Pace {
    fn new(per_second: u32, budget: Arc<Budget>) -> Pace {
        let per_second = per_second.max(1);
        // Smoothed: a burst of a tenth of a second's worth, so a tick every 100 ms keeps the rate.
        let burst = NonZeroU32::new(per_second.div_ceil(10)).unwrap_or(NonZeroU32::MIN);
        let period = StdDuration::from_nanos(1_000_000_000 / u64::from(per_second));
        let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst);
        let clock = FakeRelativeClock::default();
        Pace {
            budget,
            global: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            seen: None,
            chats: HashMap::new(),
            paused_until: None,
        }
    }

    /// Moves the relative clock to `now` (never back).
    fn follow(&mut self, now: DateTime<Utc>) {
        match self.seen {
            Some(seen) if now > seen => {
                self.clock.advance((now - seen).to_std().unwrap_or_default());
                self.seen = Some(now);
            }
            Some(_) => {}
            None => self.seen = Some(now),
        }
    }

    fn paused(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.paused_until.filter(|until| *until > now)
    }

    /// Takes a place for a message to `chat` now, or says when one may be free.
    fn take(&mut self, chat: i64, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        if let Some(until) = self.paused(now) {
            return Err(until);
        }
        if let Some(free) = self.chats.get(&chat).filter(|free| **free > now) {
            return Err(*free);
        }
        // The hard cap first: the bucket's place is not taken when the budget is spent.
        if let Some(free) = self.budget.free_at(now) {
            return Err(free);
        }
        self.follow(now);
        if let Err(not_until) = self.global.check() {
            let wait = not_until.wait_time_from(self.clock.now());
            let wait = Duration::from_std(wait).unwrap_or(Duration::milliseconds(1)).max(Duration::nanoseconds(1));
            return Err(now + wait);
        }
        if self.chats.len() > 10_000 {
            self.chats.retain(|_, free| *free > now);
        }
        self.chats.insert(chat, now + PER_CHAT);
        Ok(())
    }

    fn pause_until(&mut self, until: DateTime<Utc>) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }
}

/// Why a send did not happen.
enum SendError {
    Telegram(RequestError),
    /// Something of cabinet's own (a document that could not be fetched again).
    Other(String),
}

/// How one notification went.
enum Outcome {
    Sent,
    Skipped,
    Failed,
    Deferred,
    /// The rate is used up for now: stop the tick.
    RateFull,
    /// Telegram asked to pause: stop the tick.
    Paused,
}

/// Sends the due notifications.
pub struct Sender {
    ctx: Arc<Ctx>,
    bot: Bot,
    pace: Mutex<Pace>,
    /// The process's send budget, shared with the bot's replies.
    budget: Arc<Budget>,
    /// This sender's claims carry it: only the claimer moves a claimed row on.
    token: String,
    /// How many are claimed at once.
    batch: u32,
    /// Held for the length of a tick.
    tick: tokio::sync::Mutex<()>,
    /// When `cabinet_outbox_depth` was last counted.
    depth_at: Mutex<Option<DateTime<Utc>>>,
}

impl Sender {
    /// A sender over the bot's store, clock and settings (`ctx.settings.notify`), sending with
    /// `bot` within the process's send budget (`ctx.budget`, which the replies draw from).
    pub fn new(ctx: Arc<Ctx>, bot: Bot) -> Sender {
        let budget = ctx.budget.clone();
        Sender::with_budget(ctx, bot, budget)
    }

    /// A sender with a send budget of its own (another process's, in tests).
    pub fn with_budget(ctx: Arc<Ctx>, bot: Bot, budget: Arc<Budget>) -> Sender {
        let per_second = ctx.settings.notify.per_second;
        let token = format!("{:032x}", rand::random::<u128>());
        let batch = per_second.div_ceil(10).clamp(1, MAX_BATCH);
        let pace = Mutex::new(Pace::new(per_second, budget.clone()));
        Sender { ctx, bot, pace, budget, token, batch, tick: tokio::sync::Mutex::new(()), depth_at: Mutex::new(None) }
    }

    /// Sets `cabinet_outbox_depth` (notifications not yet final), at most once a second.
    async fn record_depth(&self, now: DateTime<Utc>) {
        {
            let mut last = self.depth_at.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| now - at < Duration::seconds(1) && now >= at) {
                return;
            }
            *last = Some(now);
        }
        match outbox::depth(&self.ctx.store).await {
            Ok(depth) => metrics::gauge!("cabinet_outbox_depth").set(depth as f64),
            Err(error) => tracing::debug!(%error, "cannot count the outbox"),
        }
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One tick at the clock's now: the sender's lease is taken or renewed (a process that
    /// does not hold it sends nothing: [`TickReport::standby`]); notifications left mid-send
    /// by a stopped sender are failed, then due ones are claimed and sent until none is due,
    /// the rate is used up or Telegram asks for a pause.
    pub async fn tick(&self) -> anyhow::Result<TickReport> {
        let _tick = self.tick.lock().await;
        let store = &self.ctx.store;
        let now = self.ctx.clock.now();
        let held = store
            .hold_lease(SENDER_LEASE, &self.token, now, now + SENDER_LEASE_FOR)
            .await
            .context("cannot take the sender's lease")?;
        if !held {
            return Ok(TickReport { standby: true, ..TickReport::default() });
        }
        let abandoned = outbox::fail_abandoned(store, now).await.context("cannot fail abandoned notifications")?;
        if abandoned > 0 {
            tracing::warn!(abandoned, "notifications left mid-send by a stopped sender are failed, not sent again");
        }
        self.record_depth(now).await;
        let mut report = TickReport::default();
        loop {
            if self.pace().paused(now).is_some() {
                report.paused = true;
                break;
            }
            let batch = outbox::claim(store, now, self.batch, now + LEASE, &self.token)
                .await
                .context("cannot claim due notifications")?;
            if batch.is_empty() {
                break;
            }
            let mut stop = false;
            for notification in batch {
                if stop {
                    outbox::release(store, notification.id, &self.token, notification.next_attempt_at).await?;
                    continue;
                }
                let handled = match self.handle(&notification, now).await {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        // One notification's trouble (a record that cannot be read) holds up
                        // no other: it is tried again later, then failed with the reason.
                        let reason = format!("{error:#}");
                        tracing::warn!(notification = notification.id, reason = %reason, "a notification could not be handled");
                        let retry_at = now + self.ctx.settings.notify.retry;
                        let max = self.ctx.settings.notify.max_attempts;
                        outbox::fail_handling(store, notification.id, &self.token, &reason, retry_at, max)
                            .await
                            .context("cannot record a notification's failure")?;
                        Outcome::Deferred
                    }
                };
                record_outcome(&handled);
                match handled {
                    Outcome::Sent => report.sent += 1,
                    Outcome::Skipped => report.skipped += 1,
                    Outcome::Failed => report.failed += 1,
                    Outcome::Deferred => report.deferred += 1,
                    Outcome::RateFull => {
                        report.deferred += 1;
                        stop = true;
                    }
                    Outcome::Paused => {
                        report.deferred += 1;
                        report.paused = true;
                        stop = true;
                    }
                }
            }
            if stop {
                break;
            }
        }
        Ok(report)
    }

    /// Decides about one claimed notification and sends it when it may go.
    async fn handle(&self, n: &Notification, now: DateTime<Utc>) -> anyhow::Result<Outcome> {
        let ctx = &self.ctx;
        let store = &ctx.store;
        let not_sent = |reason: &str, status: &str| {
            let reason = reason.to_owned();
            let status = status.to_owned();
            async move { outbox::mark_not_sent(store, n.id, &reason, None, true, &status).await }
        };
        let (Some(message), Some(category)) = (n.message(), n.category()) else {
            not_sent(&format!("unknown kind {:?} or category {:?}", n.kind, n.category), status::FAILED).await?;
            return Ok(Outcome::Failed);
        };
        // The account bound to the customer now (the latest bound, when there are several).
        let binding = store.bindings_of(&n.customer_id).await?.into_iter().max_by_key(|b| b.bound_at);
        let Some(binding) = binding else {
            not_sent("the customer has no bound Telegram account", status::SKIPPED_UNREACHABLE).await?;
            return Ok(Outcome::Skipped);
        };
        // Quiet hours in the customer's own time zone, when the CRM gave one.
        let tz = binding.time_zone.unwrap_or(ctx.settings.time_zone);
        if !n.urgent
            && let Some(quiet) = ctx.settings.notify.quiet_hours
            && let Some(end) = quiet.end_after(now.with_timezone(&tz).naive_local())
        {
            let at = tz.from_local_datetime(&end).earliest().map_or(now + Duration::hours(1), |at| at.to_utc());
            outbox::release(store, n.id, &self.token, at).await?;
            return Ok(Outcome::Deferred);
        }
        let user_id = binding.telegram_user_id;
        let recipient = outbox::recipient(store, user_id).await?;
        if recipient.unreachable_since.is_some() {
            not_sent("the customer blocked the bot", status::SKIPPED_UNREACHABLE).await?;
            return Ok(Outcome::Skipped);
        }
        if !outbox::preferences(store, user_id).await?.wants(category) {
            not_sent(&format!("the customer turned off {}", category.as_str()), status::SKIPPED_OPTED_OUT).await?;
            return Ok(Outcome::Skipped);
        }
        let chat = binding.chat_id;
        let placed = self.pace().take(chat, now);
        if let Err(free_at) = placed {
            outbox::release(store, n.id, &self.token, free_at).await?;
            // A busy chat holds back only its own notification; the rate or a pause, all.
            let chat_busy = self.pace().chats.get(&chat).is_some_and(|f| *f == free_at);
            return Ok(if chat_busy { Outcome::Deferred } else { Outcome::RateFull });
        }
        let user = store.user(user_id).await?;
        let locale = match user.as_ref().and_then(|u| u.locale) {
            Some(locale) => locale,
            None => {
                crate::domain::Locale::from_telegram(recipient.telegram_locale.as_deref(), ctx.settings.default_locale)
            }
        };
        let buttons = Buttons { codec: &ctx.codec, epoch: user.as_ref().map_or(0, |u| u.epoch), user_id };
        let located = match &message {
            Message::OrderUpdate { number, .. } => self.order_located(&n.customer_id, number).await,
            _ => false,
        };
        let rendered = render::render(ctx, locale, &message, &buttons, located);
        // A document is looked up and its file fetched before the intent is recorded: when it
        // cannot be, the text goes with a button to ask for it, and why is noted.
        let mut note = None;
        let mut document = None;
        if let Message::Document { document_id, titles } = &message {
            match crate::bot::documents::prepare(ctx, &n.customer_id, document_id, locale).await {
                Ok(Some(prepared)) => {
                    let title = render::title_of(ctx, locale, titles, prepared.info.title.get(locale));
                    document = Some((prepared, render::document_caption(ctx, locale, &title)));
                }
                Ok(None) => note = Some(format!("document {document_id} not found; sent without it")),
                Err(e) => note = Some(format!("document {document_id} could not be fetched ({e}); sent without it")),
            }
        }
        let keyboard = match rendered.keyboard.filter(|_| document.is_none()) {
            Some(keyboard) => Some(buttons.seal(store, now, keyboard).await.map_err(|e| anyhow::anyhow!("{e}"))?),
            None => None,
        };
        // The intent first: from here on, a stop before the outcome is recorded means the
        // notification is never sent again (at most once).
        if !outbox::begin_send(store, n.id, &self.token, chat).await? {
            tracing::warn!(notification = n.id, "a notification was taken over before it was sent");
            return Ok(Outcome::Deferred);
        }
        let result = match document {
            Some((prepared, caption)) => crate::bot::documents::deliver(
                ctx,
                &self.bot,
                ChatId(chat),
                &n.customer_id,
                prepared,
                locale,
                &caption,
                None,
            )
            .await
            .map_err(|e| match e {
                BotError::Telegram(e) => SendError::Telegram(e),
                other => SendError::Other(other.to_string()),
            }),
            None => {
                let mut request = self.bot.send_message(ChatId(chat), &rendered.text).parse_mode(ParseMode::Html);
                if let Some(keyboard) = keyboard {
                    request = request.reply_markup(keyboard);
                }
                request.await.map_err(SendError::Telegram)
            }
        };
        if !matches!(&result, Err(SendError::Telegram(RequestError::Network(error))) if error.is_connect()) {
            // Telegram answered (or may have received it): counted against the rate.
            self.budget.record(ctx.clock.now());
        }
        if let Err(SendError::Telegram(error)) = &result {
            crate::server::metrics::telegram_error(error);
        }
        let attempts = n.attempts + 1;
        match result {
            Ok(sent) => {
                outbox::mark_sent(store, n.id, i64::from(sent.id.0), ctx.clock.now()).await?;
                if let Some(note) = note {
                    tracing::info!(notification = n.id, note = %note, "a notification was sent without its document");
                    outbox::note(store, n.id, &note).await?;
                }
                tracing::debug!(notification = n.id, kind = %n.kind, "notification sent");
                Ok(Outcome::Sent)
            }
            Err(SendError::Telegram(RequestError::RetryAfter(wait))) => {
                let until = now + Duration::from_std(wait.duration()).unwrap_or(Duration::seconds(1));
                self.pace().pause_until(until);
                tracing::warn!(notification = n.id, %until, "Telegram asked to slow down; sending paused");
                outbox::mark_not_sent(store, n.id, "429 Too Many Requests", Some(until), false, status::PENDING)
                    .await?;
                Ok(Outcome::Paused)
            }
            Err(SendError::Telegram(RequestError::Api(error))) if refuses_chat(&error) => {
                outbox::mark_unreachable(store, user_id, now).await?;
                outbox::mark_not_sent(store, n.id, &error.to_string(), None, true, status::SKIPPED_UNREACHABLE).await?;
                tracing::info!(notification = n.id, "the customer cannot be reached (blocked the bot)");
                self.tell_staff_blocked(n).await;
                Ok(Outcome::Skipped)
            }
            Err(SendError::Telegram(RequestError::Network(error))) if !error.is_connect() => {
                // Telegram may have received it: not sent again (at most once).
                let reason = format!("outcome unknown, not sent again: {error}");
                outbox::mark_not_sent(store, n.id, &reason, None, true, status::FAILED).await?;
                Ok(Outcome::Failed)
            }
            Err(SendError::Other(reason)) => {
                // Not sent (a document that could not be uploaded again): not retried.
                tracing::warn!(notification = n.id, reason = %reason, "a notification failed");
                outbox::mark_not_sent(store, n.id, &reason, None, true, status::FAILED).await?;
                Ok(Outcome::Failed)
            }
            Err(SendError::Telegram(error)) => {
                let reason = error.to_string();
                if attempts >= i64::from(ctx.settings.notify.max_attempts) {
                    tracing::warn!(notification = n.id, attempts, reason = %reason, "a notification failed");
                    outbox::mark_not_sent(store, n.id, &reason, None, true, status::FAILED).await?;
                    Ok(Outcome::Failed)
                } else {
                    let doubling = 1_i32 << (attempts - 1).clamp(0, 16);
                    let at = now + ctx.settings.notify.retry * doubling;
                    tracing::info!(notification = n.id, attempts, %at, reason = %reason, "a notification is retried");
                    outbox::mark_not_sent(store, n.id, &reason, Some(at), true, status::PENDING).await?;
                    Ok(Outcome::Deferred)
                }
            }
        }
    }

    /// Whether the order can be shown on the map now (its courier's or parcel's location is
    /// known); a logistics backend that cannot answer is taken as no.
    async fn order_located(&self, customer: &crate::adapters::CustomerId, number: &str) -> bool {
        if !self.ctx.settings.capabilities.has_all(&[crate::bot::Capability::Logistics]) {
            return false;
        }
        match self.ctx.adapters.logistics.order(customer, number).await {
            Ok(order) => order.and_then(|o| o.delivery).is_some_and(|d| d.location.is_some()),
            Err(e) => {
                tracing::debug!(error = %e, "cannot tell whether an order has a location");
                false
            }
        }
    }

    /// The customer blocked the bot: when they have a case open with staff, a note in its
    /// topic says the notification was not delivered. A note that cannot be posted is logged.
    async fn tell_staff_blocked(&self, n: &Notification) {
        let ctx = &self.ctx;
        if ctx.settings.staff_chat_id.is_none() {
            return;
        }
        let case = match ctx.store.open_case_of(&n.customer_id).await {
            Ok(Some(case)) => case,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(notification = n.id, error = %e, "cannot look up the customer's open case");
                return;
            }
        };
        let text = ctx.i18n.t(ctx.settings.default_locale, "notify-staff-blocked", &[]);
        let post = StaffPost::text(Place::Case(case.id), text);
        if let Err(e) = crate::bot::staff::outbox::post(ctx, &self.bot, post).await {
            tracing::warn!(notification = n.id, case = case.id, error = %e, "cannot tell staff the customer blocked the bot");
        }
    }

    /// Gives the sender's lease up if this sender holds it (it is stopping), so that another
    /// process takes over at its next tick instead of when the lease passes.
    pub async fn resign(&self) -> anyhow::Result<()> {
        let _tick = self.tick.lock().await;
        self.ctx.store.release_lease(SENDER_LEASE, &self.token).await.context("cannot give the sender's lease up")
    }

    /// Ticks every `interval` (real time) until `shutdown` resolves; a failing tick is
    /// logged, never fatal.
    pub async fn run_forever(self: Arc<Self>, interval: StdDuration, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(interval.max(StdDuration::from_millis(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %format!("{e:#}"), "a tick of the notification sender failed");
            }
        }
    }
}

/// Counts how a notification went, for `cabinet_notifications_total{outcome}`: `sent`,
/// `skipped` (opted out, unreachable, not bound), `failed` (for good), `deferred` (held for
/// the rate, quiet hours or a retry), `paused` (Telegram's 429).
fn record_outcome(outcome: &Outcome) {
    let outcome = match outcome {
        Outcome::Sent => "sent",
        Outcome::Skipped => "skipped",
        Outcome::Failed => "failed",
        Outcome::Deferred | Outcome::RateFull => "deferred",
        Outcome::Paused => "paused",
    };
    metrics::counter!("cabinet_notifications_total", "outcome" => outcome).increment(1);
}

/// Whether Telegram refused because the customer cannot be written to (403).
pub(crate) fn refuses_chat(error: &ApiError) -> bool {
    match error {
        ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::CantInitiateConversation => true,
        ApiError::Unknown(text) => text.starts_with("Forbidden"),
        _ => false,
    }
}

/// How often the sender's loop ticks (real time): a tenth of a second, so the smoothed rate
/// is kept.
pub const SENDER_TICK: StdDuration = StdDuration::from_millis(100);

/// How long stopping the sender's loop waits for the tick under way.
const SENDER_STOP_WAIT: StdDuration = StdDuration::from_secs(5);

/// The sender ticking every [`SENDER_TICK`] in a task of its own, until stopped.
pub struct SenderLoop {
    sender: Arc<Sender>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SenderLoop {
    /// Starts ticking `sender` in a task of its own.
    pub fn start(sender: Arc<Sender>) -> SenderLoop {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(sender.clone().run_forever(SENDER_TICK, async {
            let _ = stopped.await;
        }));
        SenderLoop { sender, stop, task }
    }

    /// Stops the loop after the tick under way (cut short after a few seconds), and gives
    /// the sender's lease up.
    pub async fn stop(self) {
        let SenderLoop { sender, stop, mut task } = self;
        let _ = stop.send(());
        if tokio::time::timeout(SENDER_STOP_WAIT, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
        if let Err(e) = sender.resign().await {
            tracing::warn!(error = %format!("{e:#}"), "the sender's lease is left to pass");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_736_571_600, 0).unwrap() + Duration::milliseconds(ms)
    }

    fn pace(per_second: u32) -> Pace {
        Pace::new(per_second, Arc::new(Budget::new(per_second)))
    }

    #[test]
    fn the_pace_follows_the_clock_globally_and_per_chat() {
        // 10 a second: a burst of one, then one every 100 ms.
        let mut pace = pace(10);
        assert_eq!(pace.take(1, t(0)), Ok(()));
        assert_eq!(pace.take(2, t(0)), Err(t(100)));
        assert_eq!(pace.take(2, t(100)), Ok(()));
        // The first chat waits a second after its message, whatever the global rate.
        assert_eq!(pace.take(1, t(200)), Err(t(1000)));
        assert_eq!(pace.take(3, t(200)), Ok(()));
        assert_eq!(pace.take(1, t(1000)), Ok(()));
    }

    #[test]
    fn a_pause_holds_every_chat_until_it_ends() {
        let mut pace = pace(30);
        pace.pause_until(t(5000));
        assert_eq!(pace.take(1, t(0)), Err(t(5000)));
        assert_eq!(pace.take(2, t(4999)), Err(t(5000)));
        assert_eq!(pace.take(2, t(5000)), Ok(()));
    }

    #[test]
    fn the_pace_never_goes_back_with_the_clock() {
        let mut pace = pace(10);
        assert_eq!(pace.take(1, t(1000)), Ok(()));
        // The clock set back: the bucket does not refill.
        assert!(pace.take(2, t(0)).is_err());
    }

    #[test]
    fn the_pace_never_lets_more_than_per_second_through_in_any_sliding_second() {
        // Ticks every 10 ms sending what the pace allows, each send recorded as it completes:
        // the bucket alone would let per_second and its burst through in the first second.
        for per_second in [10, 30, 100] {
            let budget = Arc::new(Budget::new(per_second));
            let mut pace = Pace::new(per_second, budget.clone());
            let mut times = Vec::new();
            let mut chat = 0;
            for tick in 0..1_000 {
                let now = t(tick * 10);
                while pace.take(chat, now).is_ok() {
                    budget.record(now);
                    times.push(now);
                    chat += 1;
                }
            }
            let per_second = usize::try_from(per_second).unwrap();
            for (i, start) in times.iter().enumerate() {
                if let Some(end) = times.get(i + per_second) {
                    assert!(*end - *start >= Duration::seconds(1), "{per_second}/s: too many from {start}");
                }
            }
            // The rate is still used: ten seconds, at least nine seconds' worth.
            assert!(times.len() >= per_second * 9, "{per_second}/s: only {} sent", times.len());
        }
    }

    #[test]
    fn replies_take_their_place_before_the_outbox() {
        let budget = Arc::new(Budget::new(10));
        let mut pace = Pace::new(10, budget.clone());
        for _ in 0..10 {
            budget.reply(t(0));
        }
        // Ten replies this second: the outbox waits until they leave the window.
        assert_eq!(pace.take(1, t(500)), Err(t(1000)));
        assert_eq!(pace.take(1, t(1000)), Ok(()));
    }
}
