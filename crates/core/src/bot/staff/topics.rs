//! A customer's forum topic in the staff group: found by the store (never from a message),
//! created with the customer's name and masked phone when there is none, and recreated with
//! the card when staff deleted it ([`to_topic`] is the one way into a topic).

use teloxide::prelude::*;
use teloxide::types::{ChatId, MessageId, ParseMode, ThreadId};

use super::super::Ctx;
use super::card::card_text;
use super::outbox::Content;
use super::{st, staff_chat};
use crate::adapters::CustomerId;
use crate::error::BotError;
use crate::store::SupportCase;

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

/// Sends into the case's topic now (the caller keeps the group's rate: see
/// [`super::outbox`]); a topic staff deleted is recreated (with the card) and the message sent
/// again.
pub(super) async fn to_topic(ctx: &Ctx, bot: &Bot, case: &SupportCase, content: &Content) -> Result<(), BotError> {
    let Some(group) = staff_chat(ctx) else { return Ok(()) };
    let send = |topic: i32| async move {
        match content {
            Content::Text(text) => bot
                .send_message(group, text)
                .message_thread_id(thread(topic))
                .parse_mode(ParseMode::Html)
                .await
                .map(drop),
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
pub(super) async fn ensure_topic(
    ctx: &Ctx,
    bot: &Bot,
    customer: &CustomerId,
    case: &SupportCase,
) -> Result<i32, BotError> {
    let Some(group) = staff_chat(ctx) else { return Err(BotError::Internal("no staff group".into())) };
    if let Some((chat, thread_id)) = ctx.store.support_topic(customer).await?
        && chat == group.0
    {
        return Ok(thread_id);
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
