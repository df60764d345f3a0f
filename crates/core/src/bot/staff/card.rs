//! The customer card a case opens with: name, masked phone, language, tags, balance,
//! active orders and bookings, the reason, the priority and the last messages.

use chrono::{DateTime, Duration, Utc};
use teloxide::Bot;

use super::super::Ctx;
use super::outbox::post_to_topic;
use super::topics::ensure_topic;
use super::{priority_label, st, staff_locale};
use crate::adapters::CustomerId;
use crate::domain::datetime::{format_date_time, format_time};
use crate::domain::money::format_money;
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::store::{CasePriority, SupportCase};

/// How many of the customer's last messages the card shows.
const CARD_MESSAGES: u32 = 5;

/// The card of a new case, into the customer's topic (created or reused).
pub(super) async fn post_card(ctx: &Ctx, bot: &Bot, case: &SupportCase, customer: &CustomerId) -> Result<(), BotError> {
    let mut text = card_text(ctx, case, customer).await?;
    if case.priority == CasePriority::Critical && !ctx.support.mention.is_empty() {
        text = format!("{} {text}", escape_html(&ctx.support.mention));
    }
    // The topic first, without the "recreated" card that a lost topic of an open case gets.
    match ensure_topic(ctx, bot, customer, &SupportCase { open: false, ..case.clone() }).await {
        Ok(_) => {}
        // Telegram asks to wait: the card waits its turn (its topic is made then).
        Err(BotError::Telegram(error @ teloxide::RequestError::RetryAfter(after))) => {
            crate::server::metrics::telegram_error(&error);
            ctx.support
                .limiter
                .pause_until(ctx.clock.now() + Duration::from_std(after.duration()).unwrap_or(Duration::seconds(1)));
        }
        Err(e) => return Err(e),
    }
    post_to_topic(ctx, bot, case, text).await
}

/// Name, masked phone, language, tags, balance, active orders and bookings, the reason, the
/// priority and the last messages.
pub(super) async fn card_text(ctx: &Ctx, case: &SupportCase, customer: &CustomerId) -> Result<String, BotError> {
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
    // Sections of capabilities the business lacks are skipped, their systems not asked.
    let capabilities = ctx.settings.capabilities;
    if capabilities.billing
        && let Ok(Some(account)) = ctx.adapters.call(billing.account(customer)).await
    {
        lines.push(st(
            ctx,
            "support-card-balance",
            &[("balance", Arg::from(format_money(account.balance, &account.currency, locale)))],
        ));
    }
    if capabilities.logistics
        && let Ok(orders) = ctx.adapters.call(logistics.active_orders(customer)).await
    {
        for order in orders.iter().take(3) {
            let status = ctx.i18n.t(locale, &format!("order-status-{}", order.status.as_str().replace('_', "-")), &[]);
            lines.push(st(
                ctx,
                "support-card-order",
                &[("number", Arg::from(order.number.as_str())), ("status", Arg::from(status))],
            ));
        }
    }
    if capabilities.booking
        && let Ok(appointments) = ctx.adapters.call(booking.appointments(customer, ctx.clock.now())).await
    {
        // Services by their names («Стрижка», not "haircut"); the code when the catalogue
        // does not answer.
        let services = if appointments.is_empty() {
            Vec::new()
        } else {
            ctx.adapters.call(booking.services()).await.unwrap_or_default()
        };
        for a in appointments.iter().take(3) {
            let at = ctx.to_local(a.start);
            let when = format_date_time(at, locale);
            let service =
                services.iter().find(|s| s.code == a.service).map_or(a.service.as_str(), |s| s.name.get(locale));
            lines.push(st(ctx, "support-card-booking", &[("when", Arg::from(when)), ("service", Arg::from(service))]));
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
        // Times alone when every message is of today; else each with its date.
        let today = ctx.local_now().date();
        let dated = last.iter().any(|(_, _, at)| ctx.to_local(*at).date() != today);
        for (_, text, at) in last.into_iter().rev() {
            let text: String = text.chars().take(300).collect();
            let at = ctx.to_local(*at);
            let when = if dated { format_date_time(at, locale) } else { format_time(at) };
            lines.push(format!("• {when} {}", escape_html(&text)));
        }
    }
    Ok(lines.join("\n"))
}
