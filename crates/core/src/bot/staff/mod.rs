//! F12, the staff side. When the bot cannot help — the customer asks for a person (also after the
//! bot offered one, having misunderstood them twice) or complains — a case opens in the staff
//! supergroup: one forum topic per customer (named with the name and a masked phone), the customer
//! card, the priority and the last messages. While the case is open the customer's messages are
//! copied into the topic (a request the bot serves itself is answered too) and what staff write
//! there reaches the customer; the customer may close it («вопрос решён»), and a case nobody writes
//! in is closed after a while. In the topic: `/close` (the customer rates 1–5), `/priority
//! <level>`, `/assign`; in the group: `/stats`, `/find`. Unanswered cases are pinged again after
//! their priority's SLA; repeated attempts at other customers' data raise an alert in the group's
//! general topic.
//!
//! Only messages from the configured staff group are staff actions, only staff (the group's
//! administrators, or a configured list) act, and the bot never relays between two customers:
//! a topic belongs to one customer, found by the store.
//!
//! # Layout
//! - this file: the staff group's branch of the schema (`schema`) and the settings
//!   ([`Support`]);
//! - `cases`: the customer's side of a case: asking for a person, the rating, leaving the
//!   chat of an open case (/logout, /forget, another account), and its buttons;
//! - `commands`: the staff commands (`commands::StaffCommand`);
//! - `topics`: a customer's forum topic, created and recreated;
//! - `card`: the customer card a case opens with;
//! - [`relay`]: messages both ways — a customer's into the topic, staff's to the chat bound
//!   now;
//! - [`sla`]: re-pings of unanswered cases;
//! - [`idle`]: cases nobody wrote in for a while, closed;
//! - `alerts`: probing for other customers' data;
//! - [`outbox`]: every post into the group, at the group's rate;
//! - [`broadcast`]: `/broadcast`, its preview, confirmation, progress and report.

pub(crate) mod alerts;
pub mod broadcast;
mod card;
mod cases;
mod commands;
pub mod idle;
pub mod outbox;
pub mod relay;
pub mod sla;
mod topics;

use std::sync::Arc;

use chrono::Duration;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::ChatId;

use super::{Ctx, HandlerResult};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::nlu::PriorityRules;
use crate::store::CasePriority;

pub(crate) use self::alerts::alert_if_needed;
pub(crate) use self::cases::{
    Reason, StaffButton, account_replaced, buttons, case_of_this_chat, customer_left, escalate,
};
pub(crate) use self::outbox::post_to_general;
pub use self::outbox::{StaffLimiter, StaffMembers};
pub(crate) use self::relay::relay_from_customer;

/// The staff side's settings and state, one per bot.
pub struct Support {
    pub rules: PriorityRules,
    /// Every post into the staff group is counted here (see [`outbox`]).
    pub limiter: StaffLimiter,
    /// Who may act as staff: the group's administrators, or a configured list.
    pub members: StaffMembers,
    /// Mentioned in re-pings and critical cards ("@support_team"), or empty.
    pub mention: String,
    pub signed: bool,
    /// SLA per priority: critical, high, normal.
    pub sla: [Duration; 3],
    /// A case nobody wrote in for this long is closed ([`idle`]); `None`: never.
    pub idle_close: Option<Duration>,
}

/// The staff group's messages: staff commands, and replies in a customer's topic.
pub(super) fn schema() -> UpdateHandler<BotError> {
    Update::filter_message()
        .filter(|msg: Message, ctx: Arc<Ctx>| ctx.settings.staff_chat_id == Some(msg.chat.id))
        .filter_map(Author::of)
        .map(Thread::of)
        // `/…`: outside topics `/stats` and `/find`; in a customer's topic `/close`,
        // `/priority` and `/assign`.
        .branch(
            dptree::filter_map(commands::typed)
                .branch(not_staff())
                .branch(dptree::filter(|thread: Thread| thread.0.is_none()).endpoint(commands::in_general))
                .endpoint(commands::in_topic),
        )
        // Anything else in a customer's topic goes to the customer.
        .branch(dptree::filter(|thread: Thread| thread.0.is_some()).branch(not_staff()).endpoint(relay::to_customer))
        // Outside topics: a hint to someone answering the bot there.
        .endpoint(relay::outside_topic)
}

/// Buttons pressed in the staff group: those of broadcasts (others only have their spinner
/// stopped, by the private chats' branch).
pub(super) fn group_buttons() -> UpdateHandler<BotError> {
    Update::filter_callback_query()
        .filter(|q: CallbackQuery, ctx: Arc<Ctx>| {
            ctx.settings.staff_chat_id.is_some_and(|group| q.regular_message().is_some_and(|m| m.chat.id == group))
        })
        .filter(|q: CallbackQuery| q.data.as_deref().is_some_and(|d| d.starts_with("bc")))
        .endpoint(broadcast::pressed)
}

/// Who wrote in the staff group: a person (the bot ignores bots), staff or not.
#[derive(Debug, Clone)]
pub(super) struct Author {
    pub id: i64,
    pub name: String,
}

impl Author {
    fn of(msg: Message) -> Option<Author> {
        let from = msg.from.filter(|u| !u.is_bot)?;
        Some(Author { id: from.id.0 as i64, name: from.first_name })
    }
}

/// Where in the group a message was written: a forum topic's thread, or outside topics.
#[derive(Debug, Clone, Copy)]
pub(super) struct Thread(pub Option<i32>);

impl Thread {
    fn of(msg: Message) -> Thread {
        Thread(msg.thread_id.filter(|_| msg.is_topic_message).map(|t| t.0.0))
    }
}

/// Only staff act: someone who is not (not an administrator, not on the configured list)
/// gets a note instead of reaching a customer.
fn not_staff() -> UpdateHandler<BotError> {
    dptree::filter_async(|ctx: Arc<Ctx>, bot: Bot, author: Author| async move {
        let Some(group) = staff_chat(&ctx) else { return false };
        !ctx.support.members.is_staff(&bot, group, author.id).await
    })
    .endpoint(|ctx: Arc<Ctx>, bot: Bot, author: Author, thread: Thread| async move {
        tracing::info!(user = author.id, "a message in the staff group from someone who is not staff");
        let name = escape_html(&author.name);
        reply(&ctx, &bot, thread, st(&ctx, "support-not-staff", &[("name", Arg::Raw(name))])).await
    })
}

/// An answer to staff where they wrote, at the group's rate.
async fn reply(ctx: &Ctx, bot: &Bot, thread: Thread, text: String) -> HandlerResult {
    outbox::post(ctx, bot, outbox::StaffPost::text(outbox::Place::Thread(thread.0), text)).await
}

pub(super) fn staff_chat(ctx: &Ctx) -> Option<ChatId> {
    ctx.settings.staff_chat_id
}

/// The staff group's language (the business's default).
pub(super) fn staff_locale(ctx: &Ctx) -> Locale {
    ctx.settings.default_locale
}

pub(super) fn st(ctx: &Ctx, key: &str, args: &[(&str, Arg)]) -> String {
    ctx.i18n.t(staff_locale(ctx), key, args)
}

/// What the customer asked for, by the name the customers' buttons give it, without the
/// emoji («Баланс», "Balance"); a code the bot has no name for stays as it is.
pub(super) fn intent_name(ctx: &Ctx, code: &str) -> String {
    let key = format!("intent-{}", code.replace('_', "-"));
    let label = st(ctx, &key, &[]);
    if label == key {
        return code.to_owned();
    }
    label.trim_start_matches(|c: char| !c.is_alphanumeric()).to_owned()
}

pub(super) fn priority_label(ctx: &Ctx, p: CasePriority) -> String {
    st(ctx, &format!("support-priority-{}", p.as_str()), &[])
}
