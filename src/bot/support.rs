//! F12 staff escalation. When the bot cannot help — the customer asks for a person, complains,
//! or is misunderstood twice — a case opens in the staff supergroup: one forum topic per
//! customer (named with the name and a masked phone), the customer card, the priority and the
//! last messages. While the case is open the customer's messages are copied into the topic and
//! what staff write there reaches the customer. In the topic: `/close` (the customer rates
//! 1–5), `/priority <level>`, `/assign`; in the group: `/stats`, `/find`. Unanswered cases are
//! pinged again after their priority's SLA; repeated attempts at other customers' data raise
//! an alert in the group's general topic.
//!
//! Only messages from the configured staff group are staff actions, and the bot never relays
//! between two customers: a topic belongs to one customer, found by the store.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ChatId, MessageId, ParseMode, ThreadId};

use super::keyboards::{ButtonKind, Buttons, pressed, tag_and_arg};
use super::staff_post::{self, Content, Place, StaffLimiter, StaffMembers, StaffPost};
use super::tree::try_filter_map;
use super::{Ctx, HandlerResult, Turn};
use crate::adapters::CustomerId;
use crate::domain::datetime::{format_date, format_time};
use crate::domain::money::format_money;
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::jobs::{Job, JobError};
use crate::store::{AuditEntry, Binding, CasePriority, NewCase, NewJob, SupportCase};

/// Job kinds. (Customers' messages waiting for the group's rate are [`staff_post::KIND`]
/// jobs now; `support.relay` jobs queued before are still run.)
pub const SLA_KIND: &str = "support.sla";
pub const RELAY_KIND: &str = "support.relay";

/// How many of the customer's last messages the card shows.
const CARD_MESSAGES: u32 = 5;
/// What the Bot API lets a bot download (getFile).
const DOWNLOAD_LIMIT_BYTES: u64 = 20 * 1024 * 1024;
/// Foreign or unknown ids (or forged buttons) in an hour that raise an alert.
const ALERT_THRESHOLD: i64 = 3;
/// The audited refusals that count toward the probing alert.
const PROBING: [&str; 4] = ["order.not_found", "document.not_found", "booking.not_found", "callback.forged"];

/// The staff side's settings and state, one per bot.
pub struct Support {
    pub rules: PriorityRules,
    /// Every post into the staff group is counted here (see [`staff_post`]).
    pub limiter: StaffLimiter,
    /// Who may act as staff: the group's administrators, or a configured list.
    pub members: StaffMembers,
    /// Mentioned in re-pings and critical cards ("@support_team"), or empty.
    pub mention: String,
    pub signed: bool,
    /// SLA per priority: critical, high, normal.
    pub sla: [Duration; 3],
}

/// The customer's buttons of the staff side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StaffButton {
    /// Ask for a person.
    Operator,
    /// The customer's rating (1–5) of a closed case.
    Rate { case: i64, rating: u8 },
}

impl ButtonKind for StaffButton {
    const TAGS: &'static [&'static str] = &["op", "rt"];

    fn encode(&self) -> String {
        match self {
            StaffButton::Operator => "op".into(),
            StaffButton::Rate { case, rating } => format!("rt:{case}:{rating}"),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("op", "") => StaffButton::Operator,
            ("rt", arg) => {
                let (case, rating) = arg.split_once(':')?;
                let rating: u8 = rating.parse().ok().filter(|r| (1..=5).contains(r))?;
                StaffButton::Rate { case: case.parse().ok().filter(|c| *c > 0)?, rating }
            }
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<StaffButton>().endpoint(|turn: Turn, button: StaffButton| async move {
        match button {
            StaffButton::Operator => escalate(&turn, Reason::Requested, None).await,
            StaffButton::Rate { case, rating } => rate(&turn, case, rating).await,
        }
    })
}

/// Why a case is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reason {
    Requested,
    Complaint,
    Misunderstood,
}

impl Reason {
    fn key(self) -> &'static str {
        match self {
            Reason::Requested => "support-reason-requested",
            Reason::Complaint => "support-reason-complaint",
            Reason::Misunderstood => "support-reason-misunderstood",
        }
    }
}

/// Words that raise a case's priority, from `dialogues/*/priority.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PriorityRules {
    #[serde(default)]
    critical: Vec<String>,
    #[serde(default)]
    high: Vec<String>,
}

impl PriorityRules {
    /// The built-in rules of every language.
    pub fn embedded() -> Result<PriorityRules, toml::de::Error> {
        let mut rules = PriorityRules::default();
        for text in [include_str!("../../dialogues/ru/priority.toml"), include_str!("../../dialogues/en/priority.toml")] {
            let more: PriorityRules = toml::from_str(text)?;
            rules.critical.extend(more.critical);
            rules.high.extend(more.high);
        }
        Ok(rules)
    }

    /// The rules in `dir/*/priority.toml` (a configured dialogues directory).
    pub fn from_dir(dir: &std::path::Path) -> Result<PriorityRules, String> {
        let mut rules = PriorityRules::default();
        for lang in ["ru", "en"] {
            let path = dir.join(lang).join("priority.toml");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let more: PriorityRules = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            rules.critical.extend(more.critical);
            rules.high.extend(more.high);
        }
        Ok(rules)
    }

    /// The priority the words of `text` call for, if they raise it.
    pub fn priority_of(&self, text: &str) -> Option<CasePriority> {
        let normal: String = text.to_lowercase().replace('ё', "е");
        let words: Vec<&str> = normal.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let hit = |phrases: &[String]| {
            phrases.iter().any(|phrase| {
                let parts: Vec<&str> = phrase.split_whitespace().collect();
                !parts.is_empty()
                    && words.windows(parts.len()).any(|window| window.iter().zip(&parts).all(|(w, p)| w.starts_with(p)))
            })
        };
        if hit(&self.critical) {
            Some(CasePriority::Critical)
        } else if hit(&self.high) {
            Some(CasePriority::High)
        } else {
            None
        }
    }
}

fn staff_chat(ctx: &Ctx) -> Option<ChatId> {
    ctx.settings.staff_chat_id
}

fn thread(id: i32) -> ThreadId {
    ThreadId(MessageId(id))
}

/// Whether Telegram said the topic is gone.
fn topic_gone(error: &teloxide::RequestError) -> bool {
    match error {
        teloxide::RequestError::Api(api) => {
            let text = api.to_string().to_lowercase();
            text.contains("thread not found") || text.contains("topic_deleted") || text.contains("topic deleted")
        }
        _ => false,
    }
}

/// The staff group's language (the business's default).
fn staff_locale(ctx: &Ctx) -> Locale {
    ctx.settings.default_locale
}

fn st(ctx: &Ctx, key: &str, args: &[(&str, Arg)]) -> String {
    ctx.i18n.t(staff_locale(ctx), key, args)
}

fn priority_label(ctx: &Ctx, p: CasePriority) -> String {
    st(ctx, &format!("support-priority-{}", p.as_str()), &[])
}

// --- the customer's side --------------------------------------------------------------------

/// Opens (or continues) a case for the customer and tells them what happens next. Without a
/// staff group, the support hours are given instead.
pub(super) async fn escalate(turn: &Turn, reason: Reason, text: Option<&str>) -> HandlerResult {
    let ctx = &turn.ctx;
    let (Some(_), Some(binding)) = (staff_chat(ctx), turn.binding.as_ref()) else {
        let hours = ctx.settings.support_hours.clone();
        let markup = super::general::main_menu(turn);
        turn.say_with(turn.t("operator", &[("hours", Arg::from(hours))]), markup).await?;
        return Ok(());
    };
    let now = ctx.clock.now();
    let rules_priority = text.and_then(|t| ctx.support.rules.priority_of(t));
    let priority = rules_priority.unwrap_or(if reason == Reason::Complaint { CasePriority::High } else { CasePriority::Normal });
    let new = NewCase {
        customer_id: binding.customer_id.clone(),
        telegram_user_id: turn.user_id,
        customer_chat_id: turn.chat.0,
        priority,
        reason: turn.ctx.i18n.t(staff_locale(ctx), reason.key(), &[]),
        at: now,
    };
    let (case, created) = ctx.store.open_case(&new).await?;
    ctx.store.log_request(now, turn.user_id, "operator", true).await?;
    // The customer left the chat of their open case and is back (bound again, perhaps from
    // another account): the case follows them here, and staff are told.
    if !created && case.detached_at.is_some() && ctx.store.reattach_case(case.id, turn.user_id, turn.chat.0).await? {
        turn.audit("support.case.reattach", Some(&case.id.to_string())).await?;
        post_to_topic(ctx, &turn.bot, &case, st(ctx, "support-customer-back", &[])).await?;
        schedule_sla(ctx, &case, now).await?;
        turn.say(turn.t("support-opened", &[])).await?;
        return Ok(());
    }
    if !created {
        if priority > case.priority {
            ctx.store.raise_case_priority(case.id, priority).await?;
        }
        turn.say(turn.t("support-already-open", &[])).await?;
        return Ok(());
    }
    turn.audit("support.case.open", Some(&case.id.to_string())).await?;
    if let Err(error) = post_card(ctx, &turn.bot, &case, &binding.customer_id).await {
        // The staff group cannot take cases (not a forum, the bot not an admin, …): the case
        // is closed again and the customer gets the support hours rather than a promise.
        tracing::error!(%error, "the staff group did not take a case; is it a forum where the bot manages topics?");
        ctx.store.close_case(case.id, now).await?;
        let hours = ctx.settings.support_hours.clone();
        turn.say_with(turn.t("operator", &[("hours", Arg::from(hours))]), super::general::main_menu(turn)).await?;
        return Ok(());
    }
    schedule_sla(ctx, &case, now).await?;
    let mut reply = turn.t("support-opened", &[]);
    if let Some(opens) = outside_hours(ctx, now) {
        reply.push('\n');
        reply.push_str(&turn.t("support-after-hours", &[("hours", Arg::from(ctx.settings.support_hours.as_str())), ("opens", Arg::from(opens))]));
    }
    turn.say(reply).await?;
    Ok(())
}

/// When support opens next, if it is closed at `now` ("09:00").
fn outside_hours(ctx: &Ctx, now: DateTime<Utc>) -> Option<String> {
    let (open, close) = ctx.settings.support_hours.split_once('-')?;
    let open = NaiveTime::parse_from_str(open.trim(), "%H:%M").ok()?;
    let close = NaiveTime::parse_from_str(close.trim(), "%H:%M").ok()?;
    let local = ctx.to_local(now).time();
    (local < open || local >= close).then(|| open.format("%H:%M").to_string())
}

/// A customer's message while a case escalated from this chat is open: copied into the
/// case's topic (text, photos, documents, voice). Commands still reach the bot.
pub(super) fn relay_from_customer() -> UpdateHandler<BotError> {
    dptree::filter(|turn: Turn, msg: Message| turn.has_consent && !msg.text().is_some_and(|t| t.starts_with('/')))
        .chain(try_filter_map(case_to_relay_to))
        .endpoint(copy_to_topic)
}

/// The open case this chat's messages go to, if any.
async fn case_to_relay_to(turn: Turn) -> Result<Option<SupportCase>, BotError> {
    if staff_chat(&turn.ctx).is_none() {
        return Ok(None);
    }
    // A case left behind in another chat (or before a /logout) is not this chat's: the bot
    // answers until the customer asks for a person again.
    case_of_this_chat(&turn).await
}

async fn copy_to_topic(turn: Turn, msg: Message, case: SupportCase) -> HandlerResult {
    let (turn, msg) = (&turn, &msg);
    let ctx = &turn.ctx;
    let now = ctx.clock.now();
    ctx.store.record_customer_message(case.id, now).await?;
    if let Some(text) = msg.text() {
        if let Some(priority) = ctx.support.rules.priority_of(text).filter(|p| *p > case.priority) {
            ctx.store.raise_case_priority(case.id, priority).await?;
        }
    }
    // Files past the Bot API's download limit are copied like any message, but the bot cannot
    // fetch them itself: staff are told.
    let size = msg.document().map(|d| d.file.size).or_else(|| msg.video().map(|v| v.file.size)).unwrap_or(0);
    if u64::from(size) > DOWNLOAD_LIMIT_BYTES {
        let megabytes = i64::from(size / (1024 * 1024));
        post_to_topic(ctx, &turn.bot, &case, st(ctx, "support-big-file", &[("megabytes", Arg::Num(megabytes))])).await?;
    }
    // Too many at once (from this customer or in the group): the message waits its turn;
    // none is lost.
    let copy = StaffPost {
        place: Place::Case(case.id),
        content: Content::Copy { chat_id: msg.chat.id.0, message_id: msg.id.0 },
        customer: Some(case.customer_id.0.clone()),
    };
    staff_post::post(ctx, &turn.bot, copy).await?;
    schedule_sla(ctx, &case, now).await?;
    if let Some(text) = msg.text() {
        ctx.store.log_message(turn.chat.0, "in", text, ctx.clock.now()).await?;
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
struct RelayPayload {
    case_id: i64,
    chat_id: i64,
    message_id: i32,
}

/// Sends into the case's topic now (the caller keeps the group's rate: see
/// [`staff_post`]); a topic staff deleted is recreated (with the card) and the message sent
/// again.
pub(super) async fn to_topic(ctx: &Ctx, bot: &Bot, case: &SupportCase, content: &Content) -> Result<(), BotError> {
    let Some(group) = staff_chat(ctx) else { return Ok(()) };
    let send = |topic: i32| async move {
        match content {
            Content::Text(text) => {
                bot.send_message(group, text).message_thread_id(thread(topic)).parse_mode(ParseMode::Html).await.map(drop)
            }
            Content::Copy { chat_id, message_id } => bot
                .copy_message(group, ChatId(*chat_id), MessageId(*message_id))
                .message_thread_id(thread(topic))
                .await
                .map(drop),
        }
    };
    let topic = ensure_topic(ctx, bot, &case.customer_id, case).await?;
    match send(topic).await {
        Ok(()) => Ok(()),
        Err(e) if topic_gone(&e) => {
            ctx.store.forget_support_topic(&case.customer_id).await?;
            let topic = ensure_topic(ctx, bot, &case.customer_id, case).await?;
            Ok(send(topic).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// The customer's topic, created (with the card) when there is none.
async fn ensure_topic(ctx: &Ctx, bot: &Bot, customer: &CustomerId, case: &SupportCase) -> Result<i32, BotError> {
    let Some(group) = staff_chat(ctx) else { return Err(BotError::Internal("no staff group".into())) };
    if let Some((chat, thread_id)) = ctx.store.support_topic(customer).await? {
        if chat == group.0 {
            return Ok(thread_id);
        }
    }
    let crm = ctx.adapters.crm.clone();
    let profile = ctx.adapters.call(crm.profile(customer)).await?;
    let name = match &profile {
        Some(p) => format!("{} · {}", p.name, p.phone.masked()),
        None => customer.to_string(),
    };
    let name: String = name.chars().take(128).collect();
    let topic = bot.create_forum_topic(group, name.clone()).await?;
    let thread_id = topic.thread_id.0.0;
    ctx.store.set_support_topic(customer, group.0, thread_id, &name, ctx.clock.now()).await?;
    // A new topic for a case already open (the old topic was deleted): the card again.
    if case.open {
        let text = format!("{}\n\n{}", st(ctx, "support-topic-recreated", &[]), card_text(ctx, case, customer).await?);
        ctx.support.limiter.count(ctx.clock.now());
        bot.send_message(group, text).message_thread_id(thread(thread_id)).parse_mode(ParseMode::Html).await?;
    }
    Ok(thread_id)
}

/// Posts a message into the customer's topic (recreating the topic if staff deleted it), at
/// the group's rate.
async fn post_to_topic(ctx: &Ctx, bot: &Bot, case: &SupportCase, text: String) -> Result<(), BotError> {
    staff_post::post(ctx, bot, StaffPost::text(Place::Case(case.id), text)).await
}

/// Posts a message outside topics (the General topic), at the group's rate.
pub(super) async fn post_to_general(ctx: &Ctx, bot: &Bot, text: String) -> Result<(), BotError> {
    staff_post::post(ctx, bot, StaffPost::text(Place::Thread(None), text)).await
}

/// The chat that staff replies about `case` may go to: the chat of the account bound to the
/// case's customer *now*, the one the case was escalated from. `None` once the customer has
/// left it (/logout, /forget, another account proved the phone).
async fn recipient(ctx: &Ctx, case: &SupportCase) -> Result<Option<ChatId>, BotError> {
    if case.detached_at.is_some() {
        return Ok(None);
    }
    let binding = ctx.store.binding(case.telegram_user_id).await?;
    Ok(binding.filter(|b| b.customer_id == case.customer_id).map(|b| ChatId(b.chat_id)))
}

/// Another Telegram account (`bound`) has just proved this customer's phone, and the store
/// unbound the earlier account `old` (the newest proof of ownership wins). The earlier chat
/// is told politely (best effort: it may have blocked the bot) and its dialogue reset, the
/// case escalated from it gets a note in its topic, and staff get an alert.
pub(super) async fn account_replaced(bound: &Turn, old: &Binding) -> HandlerResult {
    let ctx = &bound.ctx;
    let now = ctx.clock.now();
    ctx.store.remove_dialogue_state(old.chat_id).await?;
    let entry = AuditEntry {
        at: now,
        telegram_user_id: Some(old.telegram_user_id),
        customer_id: Some(old.customer_id.clone()),
        action: "unbind.replaced".to_owned(),
        subject: Some(bound.user_id.to_string()),
        channel: "telegram".to_owned(),
    };
    ctx.store.audit(&entry).await?;
    let locale = ctx.store.user(old.telegram_user_id).await?.and_then(|u| u.locale).unwrap_or(ctx.settings.default_locale);
    let text = ctx.i18n.t(locale, "binding-replaced", &[]);
    let told = bound
        .bot
        .send_message(ChatId(old.chat_id), text)
        .parse_mode(ParseMode::Html)
        .reply_markup(teloxide::types::KeyboardRemove::new())
        .await;
    if let Err(error) = told {
        tracing::info!(%error, "could not tell an unbound account that another one proved its phone");
    }
    let case = ctx.store.open_case_of(&old.customer_id).await?.filter(|c| c.telegram_user_id == old.telegram_user_id);
    if let Some(case) = case {
        customer_left(ctx, &bound.bot, &case, "support-left-replaced").await?;
    }
    if staff_chat(ctx).is_some() {
        let who = format!("{} ({}, {})", escape_html(&old.first_name), old.phone.masked(), escape_html(&old.customer_id.0));
        let args = [("who", Arg::Raw(who)), ("old", Arg::Num(old.telegram_user_id)), ("new", Arg::Num(bound.user_id))];
        if let Err(error) = post_to_general(ctx, &bound.bot, st(ctx, "support-alert-replaced", &args)).await {
            tracing::warn!(%error, "could not post an alert to the staff group");
        }
    }
    Ok(())
}

/// The open case escalated from this chat (attached to it), if any.
pub(super) async fn case_of_this_chat(turn: &Turn) -> Result<Option<SupportCase>, BotError> {
    let Some(binding) = &turn.binding else { return Ok(None) };
    let case = turn.ctx.store.open_case_of(&binding.customer_id).await?;
    Ok(case.filter(|c| c.detached_at.is_none() && c.telegram_user_id == turn.user_id))
}

/// The customer left the chat of their open case: the case is detached (by the store), and
/// staff are told in the topic that their replies reach no one. `why` is a message key.
pub(super) async fn customer_left(ctx: &Ctx, bot: &Bot, case: &SupportCase, why: &str) -> Result<(), BotError> {
    let note = format!("{}\n{}", st(ctx, why, &[]), st(ctx, "support-detached", &[]));
    post_to_topic(ctx, bot, case, note).await
}

/// The card of a new case, into the customer's topic (created or reused).
async fn post_card(ctx: &Ctx, bot: &Bot, case: &SupportCase, customer: &CustomerId) -> Result<(), BotError> {
    let mut text = card_text(ctx, case, customer).await?;
    if case.priority == CasePriority::Critical && !ctx.support.mention.is_empty() {
        text = format!("{} {text}", escape_html(&ctx.support.mention));
    }
    // The topic first, without the "recreated" card that a lost topic of an open case gets.
    match ensure_topic(ctx, bot, customer, &SupportCase { open: false, ..case.clone() }).await {
        Ok(_) => {}
        // Telegram asks to wait: the card waits its turn (its topic is made then).
        Err(BotError::Telegram(teloxide::RequestError::RetryAfter(after))) => {
            ctx.support.limiter.pause_until(ctx.clock.now() + Duration::from_std(after.duration()).unwrap_or(Duration::seconds(1)));
        }
        Err(e) => return Err(e),
    }
    post_to_topic(ctx, bot, case, text).await
}

/// Name, masked phone, language, tags, balance, active orders and bookings, the reason, the
/// priority and the last messages.
async fn card_text(ctx: &Ctx, case: &SupportCase, customer: &CustomerId) -> Result<String, BotError> {
    let locale = staff_locale(ctx);
    let crm = ctx.adapters.crm.clone();
    let billing = ctx.adapters.billing.clone();
    let logistics = ctx.adapters.logistics.clone();
    let booking = ctx.adapters.booking.clone();
    let profile = ctx.adapters.call(crm.profile(customer)).await.ok().flatten();
    let mut lines = vec![st(ctx, "support-card-title", &[("id", Arg::Num(case.id))])];
    let (name, phone, language, tags) = match &profile {
        Some(p) => (
            p.name.clone(),
            p.phone.masked(),
            p.locale.map_or("—", |l| l.as_str()).to_owned(),
            if p.tags.is_empty() { "—".to_owned() } else { p.tags.join(", ") },
        ),
        None => (customer.to_string(), "—".into(), "—".into(), "—".into()),
    };
    lines.push(st(ctx, "support-card-customer", &[("name", Arg::from(name)), ("phone", Arg::from(phone))]));
    lines.push(st(ctx, "support-card-language", &[("language", Arg::from(language)), ("tags", Arg::from(tags))]));
    if let Ok(Some(account)) = ctx.adapters.call(billing.account(customer)).await {
        lines.push(st(ctx, "support-card-balance", &[("balance", Arg::from(format_money(account.balance, &account.currency, locale)))]));
    }
    if let Ok(orders) = ctx.adapters.call(logistics.active_orders(customer)).await {
        for order in orders.iter().take(3) {
            let status = ctx.i18n.t(locale, &format!("order-status-{}", order.status.as_str().replace('_', "-")), &[]);
            lines.push(st(ctx, "support-card-order", &[("number", Arg::from(order.number.as_str())), ("status", Arg::from(status))]));
        }
    }
    if let Ok(appointments) = ctx.adapters.call(booking.appointments(customer, ctx.clock.now())).await {
        for a in appointments.iter().take(3) {
            let at = ctx.to_local(a.start);
            let when = format!("{} {}", format_date(at.date(), locale), format_time(at));
            lines.push(st(ctx, "support-card-booking", &[("when", Arg::from(when)), ("service", Arg::from(a.service.as_str()))]));
        }
    }
    lines.push(st(
        ctx,
        "support-card-reason",
        &[("reason", Arg::from(case.reason.as_str())), ("priority", Arg::from(priority_label(ctx, case.priority)))],
    ));
    let history = ctx.store.chat_history(case.customer_chat_id, 20).await?;
    let last: Vec<&(String, String, DateTime<Utc>)> =
        history.iter().filter(|(direction, _, _)| direction == "in").rev().take(CARD_MESSAGES as usize).collect();
    if !last.is_empty() {
        lines.push(st(ctx, "support-card-messages", &[]));
        for (_, text, at) in last.into_iter().rev() {
            let text: String = text.chars().take(300).collect();
            lines.push(format!("• {} {}", format_time(ctx.to_local(*at)), escape_html(&text)));
        }
    }
    Ok(lines.join("\n"))
}

/// A rating button pressed by the customer after `/close`.
pub(super) async fn rate(turn: &Turn, case_id: i64, rating: u8) -> HandlerResult {
    let ctx = &turn.ctx;
    let Some(case) = ctx.store.case_by_id(case_id).await? else { return Ok(()) };
    // Only the case's own customer rates it.
    if turn.binding.as_ref().is_none_or(|b| b.customer_id != case.customer_id) {
        turn.audit("support.rate.foreign", Some(&case_id.to_string())).await?;
        return Ok(());
    }
    if !ctx.store.rate_case(case_id, i64::from(rating)).await? {
        return turn.say(turn.t("support-rated-already", &[])).await.map(drop);
    }
    turn.say(turn.t("support-thanks-rating", &[])).await?;
    let note = st(ctx, "support-rated", &[("rating", Arg::Num(i64::from(rating)))]);
    post_to_topic(ctx, &turn.bot, &case, note).await
}

// --- the staff side --------------------------------------------------------------------------

/// A message in the staff group: a command, or a reply to the topic's customer.
pub(super) async fn on_staff_message(bot: Bot, msg: Message, ctx: Arc<Ctx>) -> HandlerResult {
    let Some(from) = msg.from.as_ref().filter(|u| !u.is_bot) else { return Ok(()) };
    let staff_name = from.first_name.clone();
    let staff_id = from.id.0 as i64;
    let topic = msg.thread_id.filter(|_| msg.is_topic_message).map(|t| t.0.0);
    let text = msg.text().unwrap_or_default().trim().to_owned();
    let command = text.strip_prefix('/').map(|c| {
        let (name, rest) = c.split_once(char::is_whitespace).unwrap_or((c, ""));
        let name = name.split('@').next().unwrap_or(name).to_lowercase();
        (name, rest.trim().to_owned())
    });
    let Some(group) = staff_chat(&ctx) else { return Ok(()) };
    let reply = |text: String| {
        let (ctx, bot) = (ctx.clone(), bot.clone());
        async move { staff_post::post(&ctx, &bot, StaffPost::text(Place::Thread(topic), text)).await }
    };
    // Only staff act: a member who is not (not an administrator, not on the configured list)
    // gets a note instead of reaching a customer.
    let acts = command.is_some() || topic.is_some();
    if acts && !ctx.support.members.is_staff(&bot, group, staff_id).await {
        tracing::info!(user = staff_id, "a message in the staff group from someone who is not staff");
        let name = escape_html(&staff_name);
        return reply(st(&ctx, "support-not-staff", &[("name", Arg::Raw(name))])).await;
    }
    match (topic, command.as_ref().map(|(n, r)| (n.as_str(), r.as_str()))) {
        (None, Some(("stats", _))) => return reply(stats(&ctx).await?).await,
        (None, Some(("find", query))) => return reply(find(&ctx, query).await?).await,
        (None, Some(_)) => return reply(st(&ctx, "support-general-commands", &[])).await,
        (None, None) => {
            // Someone answering a customer outside their topic: a hint, once per message
            // that replies to the bot.
            if msg.reply_to_message().and_then(|m| m.from.as_ref()).is_some_and(|u| u.is_bot) {
                reply(st(&ctx, "support-outside-topic", &[])).await?;
            }
            return Ok(());
        }
        _ => {}
    }
    let Some(thread_id) = topic else { return Ok(()) };
    let Some(customer) = ctx.store.customer_of_topic(group.0, thread_id).await? else {
        return reply(st(&ctx, "support-unknown-topic", &[])).await;
    };
    let case = ctx.store.open_case_of(&customer).await?;
    if let Some((name, rest)) = &command {
        let Some(case) = case else { return reply(st(&ctx, "support-no-open-case", &[])).await };
        return match name.as_str() {
            "close" => close(&ctx, &bot, &case, &staff_name).await,
            "priority" => match parse_priority(rest) {
                Some(p) => {
                    ctx.store.set_case_priority(case.id, p).await?;
                    reply(st(&ctx, "support-priority-set", &[("priority", Arg::from(priority_label(&ctx, p)))])).await
                }
                None => reply(st(&ctx, "support-priority-usage", &[])).await,
            },
            "assign" => {
                ctx.store.assign_case(case.id, staff_id, &staff_name).await?;
                reply(st(&ctx, "support-assigned", &[("name", Arg::from(staff_name.as_str()))])).await
            }
            _ => reply(st(&ctx, "support-topic-commands", &[])).await,
        };
    }
    let Some(case) = case else {
        return reply(st(&ctx, "support-case-closed", &[])).await;
    };
    relay_to_customer(&ctx, &bot, &msg, &case, &staff_name).await
}

/// `/priority high`: the level in either language.
fn parse_priority(s: &str) -> Option<CasePriority> {
    match s.trim().to_lowercase().as_str() {
        "critical" | "критично" | "критичный" | "критический" | "!!!" => Some(CasePriority::Critical),
        "high" | "высокий" | "высокая" | "!!" => Some(CasePriority::High),
        "normal" | "нормальный" | "нормальная" | "обычный" | "!" => Some(CasePriority::Normal),
        _ => None,
    }
}

/// What staff wrote in a topic, to the customer: signed text, or a copy of the message.
async fn relay_to_customer(ctx: &Ctx, bot: &Bot, msg: &Message, case: &SupportCase, staff_name: &str) -> HandlerResult {
    let Some(group) = staff_chat(ctx) else { return Ok(()) };
    let now = ctx.clock.now();
    // Only to the chat bound to this customer now: the customer who left it hears nothing.
    let Some(customer_chat) = recipient(ctx, case).await? else {
        return post_to_topic(ctx, bot, case, st(ctx, "support-detached-reply", &[])).await;
    };
    let locale = customer_locale(ctx, case).await;
    let first = case.first_response_at.is_none();
    let send = async {
        if first {
            let key = if ctx.support.signed { "support-taken-signed" } else { "support-taken" };
            let text = ctx.i18n.t(locale, key, &[("name", Arg::from(staff_name))]);
            bot.send_message(customer_chat, text).parse_mode(ParseMode::Html).await?;
        }
        match (msg.text(), ctx.support.signed) {
            (Some(text), true) => {
                let signed = format!("<b>{}</b>: {}", escape_html(staff_name), escape_html(text));
                bot.send_message(customer_chat, signed).parse_mode(ParseMode::Html).await.map(drop)
            }
            _ => bot.copy_message(customer_chat, group, msg.id).await.map(drop),
        }
    };
    match send.await {
        Ok(()) => {
            ctx.store.record_staff_reply(case.id, now).await?;
            if case.unreachable {
                ctx.store.set_case_unreachable(case.id, false).await?;
            }
            if ctx.store.consent(case.telegram_user_id).await.ok().flatten().is_some() {
                let logged = msg.text().map_or_else(|| "[staff file]".to_owned(), |t| format!("[{staff_name}] {t}"));
                let _ = ctx.store.log_message(customer_chat.0, "out", &logged, now).await;
            }
            Ok(())
        }
        Err(teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
            ctx.store.set_case_unreachable(case.id, true).await?;
            post_to_topic(ctx, bot, case, st(ctx, "support-customer-blocked", &[])).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn customer_locale(ctx: &Ctx, case: &SupportCase) -> Locale {
    let chosen = ctx.store.user(case.telegram_user_id).await.ok().flatten().and_then(|u| u.locale);
    if let Some(locale) = chosen {
        return locale;
    }
    let crm = ctx.adapters.crm.clone();
    ctx.adapters.call(crm.profile(&case.customer_id)).await.ok().flatten().and_then(|p| p.locale).unwrap_or(ctx.settings.default_locale)
}

/// `/close`: the case ends; the customer is told and asked for a rating.
async fn close(ctx: &Ctx, bot: &Bot, case: &SupportCase, staff_name: &str) -> HandlerResult {
    if !ctx.store.close_case(case.id, ctx.clock.now()).await? {
        return post_to_topic(ctx, bot, case, st(ctx, "support-no-open-case", &[])).await;
    }
    ctx.store.cancel_jobs(&format!("sla:{}:", case.id)).await?;
    let Some(customer_chat) = recipient(ctx, case).await? else {
        return post_to_topic(ctx, bot, case, st(ctx, "support-closed-detached", &[("name", Arg::from(staff_name))])).await;
    };
    let locale = customer_locale(ctx, case).await;
    let text = ctx.i18n.t(locale, "support-closed-customer", &[]);
    let epoch = ctx.store.user(case.telegram_user_id).await?.map_or(0, |u| u.epoch);
    let buttons = Buttons { codec: &ctx.codec, epoch, user_id: case.telegram_user_id };
    let markup = buttons.markup(vec![(1..=5u8).map(|r| (r.to_string(), StaffButton::Rate { case: case.id, rating: r })).collect()]);
    let told = bot.send_message(customer_chat, text).parse_mode(ParseMode::Html).reply_markup(markup).await;
    let note = match told {
        Ok(_) => st(ctx, "support-closed", &[("name", Arg::from(staff_name))]),
        Err(teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
            ctx.store.set_case_unreachable(case.id, true).await?;
            st(ctx, "support-customer-blocked", &[])
        }
        Err(e) => return Err(e.into()),
    };
    post_to_topic(ctx, bot, case, note).await
}

/// `/stats`: today in the business's time zone.
async fn stats(ctx: &Ctx) -> Result<String, BotError> {
    let today = ctx.local_now().date();
    let tz = ctx.settings.time_zone;
    let start = tz.from_local_datetime(&today.and_time(NaiveTime::MIN)).earliest().map_or_else(|| ctx.clock.now(), |t| t.to_utc());
    let stats = ctx.store.support_stats(start, start + Duration::days(1)).await?;
    let automated = if stats.requests == 0 {
        "—".to_owned()
    } else {
        format!("{:.0} %", 100.0 * (stats.requests - stats.escalated_requests) as f64 / stats.requests as f64)
    };
    let median = stats.median_first_response.map_or_else(|| "—".to_owned(), |d| {
        let minutes = d.num_minutes();
        if minutes >= 1 { format!("{minutes} min") } else { format!("{} s", d.num_seconds()) }
    });
    let by_intent = if stats.by_intent.is_empty() {
        "—".to_owned()
    } else {
        stats.by_intent.iter().map(|(intent, n)| format!("{intent}: {n}")).collect::<Vec<_>>().join(", ")
    };
    Ok(st(
        ctx,
        "support-stats",
        &[
            ("date", Arg::from(format_date(today, staff_locale(ctx)))),
            ("requests", Arg::Num(stats.requests)),
            ("by_intent", Arg::from(by_intent)),
            ("automated", Arg::from(automated)),
            ("escalations", Arg::Num(stats.cases_opened)),
            ("median", Arg::from(median)),
        ],
    ))
}

use chrono::TimeZone as _;

/// `/find <phone or name>`: masked results with links to their topics.
async fn find(ctx: &Ctx, query: &str) -> Result<String, BotError> {
    let query = query.trim();
    if query.chars().count() < 3 {
        return Ok(st(ctx, "support-find-usage", &[]));
    }
    let crm = ctx.adapters.crm.clone();
    let found = ctx.adapters.call(crm.search(query, 10)).await?;
    if found.is_empty() {
        return Ok(st(ctx, "support-find-none", &[("query", Arg::from(query))]));
    }
    let mut lines = vec![st(ctx, "support-find-title", &[])];
    for profile in found {
        let topic = ctx.store.support_topic(&profile.id).await?;
        let link = match (topic, staff_chat(ctx)) {
            (Some((chat, thread_id)), Some(group)) if chat == group.0 => {
                let internal = chat.unsigned_abs().to_string();
                let internal = internal.strip_prefix("100").unwrap_or(&internal).to_owned();
                format!(" — <a href=\"https://t.me/c/{internal}/{thread_id}\">{}</a>", st(ctx, "support-find-topic", &[]))
            }
            _ => String::new(),
        };
        lines.push(format!("• {} {}{link}", escape_html(&profile.name), escape_html(&profile.phone.masked())));
    }
    Ok(lines.join("\n"))
}

// --- jobs: SLA re-pings, queued relays, alerts -----------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct SlaPayload {
    case_id: i64,
    /// The customer message (time) this re-ping waits for an answer to.
    since: DateTime<Utc>,
    round: u32,
}

fn sla(ctx: &Ctx, p: CasePriority) -> Duration {
    ctx.support.sla[match p {
        CasePriority::Critical => 0,
        CasePriority::High => 1,
        CasePriority::Normal => 2,
    }]
}

/// Plans the re-ping of an unanswered case: its priority's SLA after `since`.
async fn schedule_sla(ctx: &Ctx, case: &SupportCase, since: DateTime<Utc>) -> Result<(), BotError> {
    // One pending re-ping per case: a newer customer message does not push it later.
    if ctx.store.jobs_with_prefix(&format!("sla:{}:", case.id)).await?.iter().any(|j| j.status == "pending") {
        return Ok(());
    }
    let job = NewJob {
        key: format!("sla:{}:{}:0", case.id, since.timestamp()),
        kind: SLA_KIND.to_owned(),
        payload: serde_json::to_value(SlaPayload { case_id: case.id, since, round: 0 }).unwrap_or_default(),
        run_at: since + sla(ctx, case.priority),
    };
    ctx.store.schedule_job(&job).await?;
    Ok(())
}

/// An SLA job: the case is still unanswered → ping the topic and plan the next ping.
pub async fn run_sla(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: SlaPayload = serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    let now = ctx.clock.now();
    let retry = |e: String| JobError::Retry { at: now + Duration::minutes(1), reason: e };
    let Some(case) = ctx.store.case_by_id(payload.case_id).await.map_err(|e| retry(e.to_string()))? else { return Ok(()) };
    let answered = case.last_staff_at.is_some_and(|at| at >= payload.since);
    if !case.open || answered {
        return Ok(());
    }
    let waited = (now - payload.since).num_minutes().max(1);
    let mut text = st(ctx, "support-sla-ping", &[("minutes", Arg::Num(waited)), ("priority", Arg::from(priority_label(ctx, case.priority)))]);
    if !ctx.support.mention.is_empty() {
        text = format!("{} {text}", escape_html(&ctx.support.mention));
    }
    post_to_topic(ctx, bot, &case, text).await.map_err(|e| retry(e.to_string()))?;
    let next = SlaPayload { case_id: case.id, since: payload.since, round: payload.round + 1 };
    let job = NewJob {
        key: format!("sla:{}:{}:{}", case.id, payload.since.timestamp(), next.round),
        kind: SLA_KIND.to_owned(),
        payload: serde_json::to_value(&next).unwrap_or_default(),
        run_at: now + sla(ctx, case.priority),
    };
    ctx.store.schedule_job(&job).await.map_err(|e| retry(e.to_string()))?;
    Ok(())
}

/// A relay queued by an earlier version: copies the customer's message when the group's
/// rate allows.
pub async fn run_relay(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: RelayPayload = serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    let Some(case) = ctx.store.case_by_id(payload.case_id).await.map_err(|e| JobError::Fail(e.to_string()))? else { return Ok(()) };
    let copy = StaffPost {
        place: Place::Case(case.id),
        content: Content::Copy { chat_id: payload.chat_id, message_id: payload.message_id },
        customer: Some(case.customer_id.0.clone()),
    };
    staff_post::send_queued(ctx, bot, &copy).await
}

/// After an audited refusal (a foreign order number, document or booking id, a forged or
/// foreign button, a foreign contact): three in an hour — or one foreign contact — raise an
/// alert in the general topic.
pub(super) async fn alert_if_needed(turn: &Turn, action: &str, subject: Option<&str>) -> HandlerResult {
    let ctx = &turn.ctx;
    if staff_chat(ctx).is_none() {
        return Ok(());
    }
    let now = ctx.clock.now();
    let (raise, key) = match (action, subject) {
        ("contact.rejected", Some("foreign")) => (true, "support-alert-contact"),
        (action, _) if PROBING.contains(&action) => {
            let n = ctx.store.count_audit(turn.user_id, &PROBING, now - Duration::hours(1)).await?;
            (n >= ALERT_THRESHOLD, "support-alert-ids")
        }
        _ => return Ok(()),
    };
    if !raise || !ctx.store.record_alert(turn.user_id, key, now, Duration::hours(1)).await? {
        return Ok(());
    }
    let who = match &turn.binding {
        Some(b) => format!("{} ({}, {})", escape_html(&b.first_name), b.phone.masked(), b.customer_id),
        None => escape_html(&turn.first_name),
    };
    let text = st(ctx, key, &[("who", Arg::Raw(who)), ("user", Arg::Num(turn.user_id))]);
    if let Err(e) = post_to_general(ctx, &turn.bot, text).await {
        tracing::warn!(error = %e, "could not post an alert to the staff group");
    }
    Ok(())
}
