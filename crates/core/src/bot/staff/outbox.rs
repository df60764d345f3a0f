//! Everything the bot posts into the staff group goes through here: customers' messages
//! copied into their topics, case cards, notes, alerts and lead notices, and the answers to
//! staff commands. Telegram lets a bot post about 20 messages a minute into one group, so:
//!
//! - one limiter ([`StaffLimiter`]) counts every post against the group's rate, and each
//!   customer's copied messages against a smaller per-customer quota inside it, so that one
//!   customer's flood cannot hold back the others (fair queueing);
//! - a post that may not go now waits as a durable job ([`KIND`]) and goes when the rate
//!   allows, behind the same customer's earlier posts (their order is kept);
//! - Telegram's own `429 retry_after` pauses every post to the group for that long, and the
//!   refused post waits as a job instead of failing. Nothing is lost.
//!
//! Who is staff: the group's administrators (`getChatAdministrators`, cached for a minute),
//! or the configured list of staff user ids ([`StaffMembers`]).

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{ChatId, MessageId, ParseMode, ThreadId};

use super::super::Ctx;
use super::topics;
use crate::error::BotError;
use crate::jobs::{Job, JobError};
use crate::store::{NewJob, SupportCase};

/// The job kind of a post waiting for the group's rate.
pub const KIND: &str = "support.post";

/// How long the group's administrators are trusted without asking Telegram again.
const ADMINS_TTL: StdDuration = StdDuration::from_secs(60);

/// The group's rate and the per-customer quota inside it, by the injected clock.
#[derive(Debug)]
pub struct StaffLimiter {
    per_minute: u32,
    per_customer: u32,
    state: Mutex<LimiterState>,
}

#[derive(Debug, Default)]
struct LimiterState {
    /// The posts of the last minute: when, and whose copied message it was.
    sends: VecDeque<(DateTime<Utc>, Option<String>)>,
    /// Telegram asked for a pause (429) until then.
    paused_until: Option<DateTime<Utc>>,
}

impl StaffLimiter {
    /// At most `per_minute` posts a minute into the group, and at most `per_customer` of one
    /// customer's copied messages among them.
    pub fn new(per_minute: u32, per_customer: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            per_customer: per_customer.clamp(1, per_minute.max(1)),
            state: Mutex::default(),
        }
    }

    /// Takes a place for a post now (`customer`: whose copied message it is), or says when
    /// one may be free.
    pub fn take(&self, customer: Option<&str>, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.sends.front().is_some_and(|(at, _)| *at + Duration::minutes(1) <= now) {
            st.sends.pop_front();
        }
        let mut free_at: Option<DateTime<Utc>> = st.paused_until.filter(|until| *until > now);
        let later = |a: Option<DateTime<Utc>>, b: DateTime<Utc>| Some(a.map_or(b, |a| a.max(b)));
        if st.sends.len() >= self.per_minute as usize
            && let Some((oldest, _)) = st.sends.front()
        {
            free_at = later(free_at, *oldest + Duration::minutes(1));
        }
        if let Some(customer) = customer {
            let mine: Vec<DateTime<Utc>> =
                st.sends.iter().filter(|(_, c)| c.as_deref() == Some(customer)).map(|(at, _)| *at).collect();
            if mine.len() >= self.per_customer as usize
                && let Some(oldest) = mine.first()
            {
                free_at = later(free_at, *oldest + Duration::minutes(1));
            }
        }
        match free_at {
            Some(at) => Err(at),
            None => {
                st.sends.push_back((now, customer.map(str::to_owned)));
                Ok(())
            }
        }
    }

    /// Counts a post that had to go with another (a recreated topic's card), whatever the rate.
    pub fn count(&self, now: DateTime<Utc>) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).sends.push_back((now, None));
    }

    /// Telegram answered 429: nothing goes into the group before `until`.
    pub fn pause_until(&self, until: DateTime<Utc>) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.paused_until = Some(st.paused_until.map_or(until, |p| p.max(until)));
    }
}

/// Who may act as staff in the group.
pub struct StaffMembers {
    /// Configured staff user ids; empty: the group's administrators.
    listed: HashSet<i64>,
    admins: tokio::sync::Mutex<Admins>,
}

#[derive(Default)]
struct Admins {
    /// The administrators as Telegram last listed them, and when.
    known: Option<(Instant, HashSet<i64>)>,
    /// When Telegram was last asked again because of someone not on that list.
    asked_for: std::collections::HashMap<i64, Instant>,
}

impl StaffMembers {
    pub fn new(listed: impl IntoIterator<Item = i64>) -> Self {
        Self { listed: listed.into_iter().collect(), admins: tokio::sync::Mutex::default() }
    }

    /// Whether `user` is staff: on the configured list, or (without one) an administrator of
    /// `group`. The list of administrators is kept for a minute; someone not on it makes the
    /// bot ask Telegram again (once a minute per person at most), so that a new administrator
    /// acts at once. When Telegram cannot be asked, the last answer stands; without one the
    /// answer is no.
    pub async fn is_staff(&self, bot: &Bot, group: ChatId, user: i64) -> bool {
        if !self.listed.is_empty() {
            return self.listed.contains(&user);
        }
        let mut admins = self.admins.lock().await;
        let listed = |a: &Admins| a.known.as_ref().is_some_and(|(_, ids)| ids.contains(&user));
        let fresh = admins.known.as_ref().is_some_and(|(at, _)| at.elapsed() < ADMINS_TTL);
        let ask = if !fresh {
            true
        } else if listed(&admins) {
            false
        } else {
            let recently = admins.asked_for.get(&user).is_some_and(|at| at.elapsed() < ADMINS_TTL);
            admins.asked_for.retain(|_, at| at.elapsed() < ADMINS_TTL);
            admins.asked_for.insert(user, Instant::now());
            !recently
        };
        if ask {
            match bot.get_chat_administrators(group).await {
                Ok(members) => {
                    let ids = members.iter().filter(|m| !m.user.is_bot).map(|m| m.user.id.0 as i64).collect();
                    admins.known = Some((Instant::now(), ids));
                }
                Err(error) => tracing::warn!(%error, "could not read the staff group's administrators"),
            }
        }
        listed(&admins)
    }
}

/// Where in the staff group a post goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Place {
    /// The topic of this case's customer (recreated with the card if staff deleted it).
    Case(i64),
    /// This thread (a staff command's answer), or the General topic.
    Thread(Option<i32>),
}

/// What is posted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Content {
    /// An HTML text of the bot's.
    Text(String),
    /// A copy of a customer's message (from their chat).
    Copy { chat_id: i64, message_id: i32 },
}

/// One post into the staff group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StaffPost {
    pub place: Place,
    pub content: Content,
    /// Whose message this is: copies count against the customer's quota and keep their order.
    pub customer: Option<String>,
}

impl StaffPost {
    pub fn text(place: Place, text: String) -> Self {
        Self { place, content: Content::Text(text), customer: None }
    }
}

/// Posts a message into the customer's topic (recreating the topic if staff deleted it), at
/// the group's rate.
pub(super) async fn post_to_topic(ctx: &Ctx, bot: &Bot, case: &SupportCase, text: String) -> Result<(), BotError> {
    post(ctx, bot, StaffPost::text(Place::Case(case.id), text)).await
}

/// Posts a message outside topics (the General topic), at the group's rate.
pub(crate) async fn post_to_general(ctx: &Ctx, bot: &Bot, text: String) -> Result<(), BotError> {
    post(ctx, bot, StaffPost::text(Place::Thread(None), text)).await
}

/// Posts now if the group's rate allows (and nothing of this customer's is waiting), else
/// queues the post durably; a 429 from Telegram queues it too. Other failures are returned.
pub async fn post(ctx: &Ctx, bot: &Bot, post: StaffPost) -> Result<(), BotError> {
    let now = ctx.clock.now();
    let waiting = match &post.customer {
        Some(customer) => ctx.store.latest_run_at(&queue_prefix(Some(customer)), &["pending", "running"]).await?,
        None => None,
    };
    let slot = match waiting {
        Some(at) => Err(at.max(now)),
        None => ctx.support.limiter.take(post.customer.as_deref(), now),
    };
    match slot {
        Ok(()) => match deliver(ctx, bot, &post).await {
            Err(BotError::Telegram(error @ teloxide::RequestError::RetryAfter(after))) => {
                crate::server::metrics::telegram_error(&error);
                let until = now + Duration::from_std(after.duration()).unwrap_or(Duration::seconds(1));
                ctx.support.limiter.pause_until(until);
                queue(ctx, &post, until).await
            }
            other => other,
        },
        Err(at) => queue(ctx, &post, at).await,
    }
}

fn queue_prefix(customer: Option<&str>) -> String {
    format!("staffpost:{}:", customer.unwrap_or("-"))
}

async fn queue(ctx: &Ctx, post: &StaffPost, at: DateTime<Utc>) -> Result<(), BotError> {
    let job = NewJob {
        key: format!("{}{}", queue_prefix(post.customer.as_deref()), rand::random::<u64>()),
        kind: KIND.to_owned(),
        payload: serde_json::to_value(post).map_err(|e| BotError::Internal(e.to_string()))?,
        run_at: at,
    };
    ctx.store.schedule_job(&job).await?;
    tracing::debug!(%at, "a post to the staff group waits for the group's rate");
    Ok(())
}

/// Sends a post now.
async fn deliver(ctx: &Ctx, bot: &Bot, post: &StaffPost) -> Result<(), BotError> {
    let Some(group) = ctx.settings.staff_chat_id else { return Ok(()) };
    match &post.place {
        Place::Case(case_id) => {
            let Some(case) = ctx.store.case_by_id(*case_id).await? else { return Ok(()) };
            topics::to_topic(ctx, bot, &case, &post.content).await
        }
        Place::Thread(thread) => {
            let thread = thread.map(|t| ThreadId(MessageId(t)));
            match &post.content {
                Content::Text(text) => {
                    let mut request = bot.send_message(group, text).parse_mode(ParseMode::Html);
                    if let Some(t) = thread {
                        request = request.message_thread_id(t);
                    }
                    request.await.map(drop).map_err(Into::into)
                }
                Content::Copy { chat_id, message_id } => {
                    let mut request = bot.copy_message(group, ChatId(*chat_id), MessageId(*message_id));
                    if let Some(t) = thread {
                        request = request.message_thread_id(t);
                    }
                    request.await.map(drop).map_err(Into::into)
                }
            }
        }
    }
}

/// A queued post, when its time comes: sent if the rate allows, else later again.
pub async fn run(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let post: StaffPost = serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    send_queued(ctx, bot, &post).await
}

/// Sends a post taken from the queue, or says when to try again.
pub async fn send_queued(ctx: &Ctx, bot: &Bot, post: &StaffPost) -> Result<(), JobError> {
    let now = ctx.clock.now();
    if let Err(at) = ctx.support.limiter.take(post.customer.as_deref(), now) {
        return Err(JobError::Retry { at, reason: "the staff group's message rate".into() });
    }
    match deliver(ctx, bot, post).await {
        Ok(()) => Ok(()),
        Err(BotError::Telegram(error @ teloxide::RequestError::RetryAfter(after))) => {
            crate::server::metrics::telegram_error(&error);
            let until = now + Duration::from_std(after.duration()).unwrap_or(Duration::seconds(1));
            ctx.support.limiter.pause_until(until);
            Err(JobError::Retry { at: until, reason: "Telegram asked to wait (429)".into() })
        }
        Err(e) => Err(JobError::Retry { at: now + Duration::minutes(1), reason: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    #[test]
    fn the_group_rate_and_each_customers_quota_are_kept() {
        let limiter = StaffLimiter::new(5, 2);
        let t0 = at("2025-01-11T05:00:00Z");
        assert_eq!(limiter.take(Some("a"), t0), Ok(()));
        assert_eq!(limiter.take(Some("a"), t0 + Duration::seconds(1)), Ok(()));
        // The flooding customer waits for their oldest post to leave the window…
        assert_eq!(limiter.take(Some("a"), t0 + Duration::seconds(2)), Err(t0 + Duration::minutes(1)));
        // …while others still get through, up to the group's rate.
        assert_eq!(limiter.take(Some("b"), t0 + Duration::seconds(3)), Ok(()));
        assert_eq!(limiter.take(None, t0 + Duration::seconds(4)), Ok(()));
        assert_eq!(limiter.take(Some("c"), t0 + Duration::seconds(5)), Ok(()));
        assert_eq!(limiter.take(None, t0 + Duration::seconds(6)), Err(t0 + Duration::minutes(1)));
        // A minute later the window has room again.
        assert_eq!(limiter.take(Some("a"), t0 + Duration::minutes(1)), Ok(()));
    }

    #[test]
    fn a_pause_asked_for_by_telegram_holds_every_post() {
        let limiter = StaffLimiter::new(20, 10);
        let t0 = at("2025-01-11T05:00:00Z");
        limiter.pause_until(t0 + Duration::seconds(30));
        assert_eq!(limiter.take(None, t0), Err(t0 + Duration::seconds(30)));
        assert_eq!(limiter.take(Some("a"), t0 + Duration::seconds(29)), Err(t0 + Duration::seconds(30)));
        assert_eq!(limiter.take(Some("a"), t0 + Duration::seconds(30)), Ok(()));
    }

    #[test]
    fn a_quota_larger_than_the_rate_is_the_rate() {
        let limiter = StaffLimiter::new(2, 50);
        let t0 = at("2025-01-11T05:00:00Z");
        assert!(limiter.take(Some("a"), t0).is_ok());
        assert!(limiter.take(Some("a"), t0).is_ok());
        assert!(limiter.take(Some("b"), t0).is_err());
    }
}
