//! Messages both ways. A customer's message while a case escalated from their chat is open
//! is copied into the case's topic; what staff write in the topic reaches the customer —
//! only in the chat bound to the customer now: a customer who left it (/logout, /forget,
//! another account proved the phone) hears nothing, and staff are told so.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ChatId, ParseMode};

use super::super::tree::try_filter_map;
use super::super::understanding::answerable;
use super::super::{Ctx, HandlerResult, Turn};
use super::cases::{case_of_this_chat, customer_solved, says_solved};
use super::idle::schedule_idle_close;
use super::outbox::{self, Content, Place, StaffPost, post_to_topic};
use super::sla::schedule_sla;
use super::{Author, Thread, reply, st, staff_chat};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::jobs::{Job, JobError};
use crate::store::SupportCase;

/// The job kind of a relay queued by an earlier version (customers' messages waiting for the
/// group's rate are [`outbox::KIND`] jobs now); such jobs are still run.
pub const KIND: &str = "support.relay";

/// What the Bot API lets a bot download (getFile).
const DOWNLOAD_LIMIT_BYTES: u64 = 20 * 1024 * 1024;

/// A customer's message while a case escalated from this chat is open: copied into the
/// case's topic (text, photos, documents, voice). Commands still reach the bot; «вопрос
/// решён» closes the case; a request the bot serves itself (the balance, an order, …) is
/// shown in the topic and then answered by the bot as usual (the schema's next branches).
pub(crate) fn relay_from_customer() -> UpdateHandler<BotError> {
    dptree::filter(|turn: Turn, msg: Message| turn.has_consent && !msg.text().is_some_and(|t| t.starts_with('/')))
        .chain(try_filter_map(case_to_relay_to))
        .branch(dptree::filter(|msg: Message| msg.text().is_some_and(says_solved)).endpoint(solved_in_words))
        .chain(try_filter_map(unless_the_bot_answers))
        .endpoint(copy_to_topic)
}

/// «вопрос решён» while the case is open.
async fn solved_in_words(turn: Turn, msg: Message, case: SupportCase) -> HandlerResult {
    if let Some(text) = msg.text() {
        turn.log_incoming(text);
    }
    customer_solved(&turn, &case).await
}

/// A message that goes to staff (not one the bot answers itself).
#[derive(Debug, Clone, Copy)]
struct ToStaff;

/// `Some` for a message that goes to staff; for a request the bot serves itself, the message
/// is copied into the topic with a line saying what the bot answered, and `None` lets the
/// bot answer it.
async fn unless_the_bot_answers(turn: Turn, msg: Message, case: SupportCase) -> Result<Option<ToStaff>, BotError> {
    let Some(intent) = msg.text().and_then(|text| answerable(&turn, text)) else { return Ok(Some(ToStaff)) };
    let ctx = &turn.ctx;
    ctx.store.record_customer_message(case.id, ctx.clock.now()).await?;
    let copy = StaffPost {
        place: Place::Case(case.id),
        content: Content::Copy { chat_id: msg.chat.id.0, message_id: msg.id.0 },
        customer: Some(case.customer_id.0.clone()),
    };
    outbox::post(ctx, &turn.bot, copy).await?;
    let label = st(ctx, &format!("intent-{}", intent.as_str().replace('_', "-")), &[]);
    let args = [("intent", Arg::from(label)), ("name", Arg::from(intent.as_str()))];
    let note = StaffPost::text(Place::Case(case.id), st(ctx, "support-bot-answered", &args));
    outbox::post(ctx, &turn.bot, StaffPost { customer: Some(case.customer_id.0.clone()), ..note }).await?;
    Ok(None)
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
    if let Some(text) = msg.text()
        && let Some(priority) = ctx.support.rules.priority_of(text).filter(|p| *p > case.priority)
    {
        ctx.store.raise_case_priority(case.id, priority).await?;
    }
    // Files past the Bot API's download limit are copied like any message, but the bot cannot
    // fetch them itself: staff are told.
    let size = msg.document().map(|d| d.file.size).or_else(|| msg.video().map(|v| v.file.size)).unwrap_or(0);
    if u64::from(size) > DOWNLOAD_LIMIT_BYTES {
        let megabytes = i64::from(size / (1024 * 1024));
        post_to_topic(ctx, &turn.bot, &case, st(ctx, "support-big-file", &[("megabytes", Arg::Num(megabytes))]))
            .await?;
    }
    // Too many at once (from this customer or in the group): the message waits its turn;
    // none is lost.
    let copy = StaffPost {
        place: Place::Case(case.id),
        content: Content::Copy { chat_id: msg.chat.id.0, message_id: msg.id.0 },
        customer: Some(case.customer_id.0.clone()),
    };
    outbox::post(ctx, &turn.bot, copy).await?;
    schedule_sla(ctx, &case, now).await?;
    schedule_idle_close(ctx, &case, now).await?;
    if let Some(text) = msg.text() {
        ctx.store.log_message(turn.chat.0, "in", text, ctx.clock.now()).await?;
    }
    Ok(())
}

/// What staff wrote in a customer's topic, to that customer (a reply in a topic with no
/// customer, or whose case is closed, gets a note instead).
pub(super) async fn to_customer(
    ctx: Arc<Ctx>,
    bot: Bot,
    msg: Message,
    author: Author,
    thread: Thread,
) -> HandlerResult {
    let (Some(group), Some(thread_id)) = (staff_chat(&ctx), thread.0) else { return Ok(()) };
    let Some(customer) = ctx.store.customer_of_topic(group.0, thread_id).await? else {
        return reply(&ctx, &bot, thread, st(&ctx, "support-unknown-topic", &[])).await;
    };
    let Some(case) = ctx.store.open_case_of(&customer).await? else {
        return reply(&ctx, &bot, thread, st(&ctx, "support-case-closed", &[])).await;
    };
    relay_to_customer(&ctx, &bot, &msg, &case, &author.name).await
}

/// Someone answering a customer outside their topic: a hint, once per message that replies
/// to the bot.
pub(super) async fn outside_topic(ctx: Arc<Ctx>, bot: Bot, msg: Message, thread: Thread) -> HandlerResult {
    if msg.reply_to_message().and_then(|m| m.from.as_ref()).is_some_and(|u| u.is_bot) {
        reply(&ctx, &bot, thread, st(&ctx, "support-outside-topic", &[])).await?;
    }
    Ok(())
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
        Err(error @ teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
            crate::server::metrics::telegram_error(&error);
            ctx.store.set_case_unreachable(case.id, true).await?;
            post_to_topic(ctx, bot, case, st(ctx, "support-customer-blocked", &[])).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The chat that staff replies about `case` may go to: the chat of the account bound to the
/// case's customer *now*, the one the case was escalated from. `None` once the customer has
/// left it (/logout, /forget, another account proved the phone).
pub(super) async fn recipient(ctx: &Ctx, case: &SupportCase) -> Result<Option<ChatId>, BotError> {
    if case.detached_at.is_some() {
        return Ok(None);
    }
    let binding = ctx.store.binding(case.telegram_user_id).await?;
    Ok(binding.filter(|b| b.customer_id == case.customer_id).map(|b| ChatId(b.chat_id)))
}

pub(super) async fn customer_locale(ctx: &Ctx, case: &SupportCase) -> Locale {
    let chosen = ctx.store.user(case.telegram_user_id).await.ok().flatten().and_then(|u| u.locale);
    if let Some(locale) = chosen {
        return locale;
    }
    let crm = ctx.adapters.crm.clone();
    ctx.adapters
        .call(crm.profile(&case.customer_id))
        .await
        .ok()
        .flatten()
        .and_then(|p| p.locale)
        .unwrap_or(ctx.settings.default_locale)
}

#[derive(Debug, Serialize, Deserialize)]
struct RelayPayload {
    case_id: i64,
    chat_id: i64,
    message_id: i32,
}

/// A relay queued by an earlier version: copies the customer's message when the group's
/// rate allows.
pub async fn run_relay(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: RelayPayload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    let Some(case) = ctx.store.case_by_id(payload.case_id).await.map_err(|e| JobError::Fail(e.to_string()))? else {
        return Ok(());
    };
    let copy = StaffPost {
        place: Place::Case(case.id),
        content: Content::Copy { chat_id: payload.chat_id, message_id: payload.message_id },
        customer: Some(case.customer_id.0.clone()),
    };
    outbox::send_queued(ctx, bot, &copy).await
}
