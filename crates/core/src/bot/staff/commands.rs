//! The staff commands, typed in the staff group: in a customer's topic `/close` (the customer
//! is asked for a rating), `/priority <level>` and `/assign`; outside topics `/stats` (today's
//! requests), `/find <phone or name>` and `/broadcast` ([`super::broadcast`]). A command is
//! read case-insensitively, whatever bot it names after `@`; an unknown one gets the list of
//! those that work where it was typed.

use std::sync::Arc;

use chrono::{Duration, NaiveTime};
use teloxide::macros::BotCommands;
use teloxide::prelude::*;
use teloxide::types::ParseMode;
use teloxide::utils::command::BotCommands as _;

use super::super::{Ctx, HandlerResult};
use super::cases::{end_case, rating_markup};
use super::outbox::post_to_topic;
use super::relay::{customer_locale, recipient};
use super::{Author, Thread, intent_name, priority_label, reply, st, staff_chat, staff_locale};
use crate::domain::datetime::{format_date, format_duration};
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::store::{CasePriority, SupportCase};

/// The commands staff type in the group.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum StaffCommand {
    /// In a topic: the case ends, the customer rates it.
    Close,
    /// In a topic: `critical`, `high` or `normal`, in either language.
    Priority(String),
    /// In a topic: the case is the writer's.
    Assign,
    /// Outside topics: today's requests.
    Stats,
    /// Outside topics: customers by phone or name.
    Find(String),
    /// Outside topics: `/broadcast <segment> [service] <text>`, or `/broadcast stop <id>`.
    Broadcast(String),
}

/// A `/…` typed in the staff group: one of the [`StaffCommand`]s, or a word the bot does not
/// know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Typed {
    Known(StaffCommand),
    Unknown,
}

/// The command a message types, if it is one: its name is read case-insensitively and
/// without any `@botname`, its argument is the rest of the text, trimmed.
pub(super) fn typed(msg: Message) -> Option<Typed> {
    read(msg.text().unwrap_or_default())
}

fn read(text: &str) -> Option<Typed> {
    let command = text.trim().strip_prefix('/')?;
    let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let name = name.split('@').next().unwrap_or(name).to_lowercase();
    // A broadcast's text keeps its line breaks (read again from the message).
    if name == "broadcast" {
        return Some(Typed::Known(StaffCommand::Broadcast(rest.trim().to_owned())));
    }
    Some(match StaffCommand::parse(&format!("/{name} {}", rest.trim()), "") {
        Ok(command) => Typed::Known(command),
        Err(_) => Typed::Unknown,
    })
}

/// A command outside topics.
pub(super) async fn in_general(
    ctx: Arc<Ctx>,
    bot: Bot,
    typed: Typed,
    thread: Thread,
    author: Author,
    msg: Message,
) -> HandlerResult {
    let text = match typed {
        Typed::Known(StaffCommand::Broadcast(_)) => {
            return super::broadcast::command(&ctx, &bot, &author, thread, msg.text().unwrap_or_default()).await;
        }
        Typed::Known(StaffCommand::Stats) => stats(&ctx).await?,
        Typed::Known(StaffCommand::Find(query)) => find(&ctx, &query).await?,
        _ => st(&ctx, "support-general-commands", &[]),
    };
    reply(&ctx, &bot, thread, text).await
}

/// A command in a customer's topic, about their open case.
pub(super) async fn in_topic(ctx: Arc<Ctx>, bot: Bot, typed: Typed, author: Author, thread: Thread) -> HandlerResult {
    let (Some(group), Some(thread_id)) = (staff_chat(&ctx), thread.0) else { return Ok(()) };
    let Some(customer) = ctx.store.customer_of_topic(group.0, thread_id).await? else {
        return reply(&ctx, &bot, thread, st(&ctx, "support-unknown-topic", &[])).await;
    };
    let Some(case) = ctx.store.open_case_of(&customer).await? else {
        return reply(&ctx, &bot, thread, st(&ctx, "support-no-open-case", &[])).await;
    };
    match typed {
        Typed::Known(StaffCommand::Close) => close(&ctx, &bot, &case, &author.name).await,
        Typed::Known(StaffCommand::Priority(level)) => match parse_priority(&level) {
            Some(p) => {
                ctx.store.set_case_priority(case.id, p).await?;
                reply(
                    &ctx,
                    &bot,
                    thread,
                    st(&ctx, "support-priority-set", &[("priority", Arg::from(priority_label(&ctx, p)))]),
                )
                .await
            }
            None => reply(&ctx, &bot, thread, st(&ctx, "support-priority-usage", &[])).await,
        },
        Typed::Known(StaffCommand::Assign) => {
            ctx.store.assign_case(case.id, author.id, &author.name).await?;
            reply(&ctx, &bot, thread, st(&ctx, "support-assigned", &[("name", Arg::from(author.name.as_str()))])).await
        }
        _ => reply(&ctx, &bot, thread, st(&ctx, "support-topic-commands", &[])).await,
    }
}

/// `/priority high`: the level in either language.
fn parse_priority(s: &str) -> Option<CasePriority> {
    match s.trim().to_lowercase().as_str() {
        "critical" | "критично" | "критичный" | "критический" | "!!!" => {
            Some(CasePriority::Critical)
        }
        "high" | "высокий" | "высокая" | "!!" => Some(CasePriority::High),
        "normal" | "нормальный" | "нормальная" | "обычный" | "!" => {
            Some(CasePriority::Normal)
        }
        _ => None,
    }
}

/// `/close`: the case ends; the customer is told and asked for a rating.
async fn close(ctx: &Ctx, bot: &Bot, case: &SupportCase, staff_name: &str) -> HandlerResult {
    if !end_case(ctx, case).await? {
        return post_to_topic(ctx, bot, case, st(ctx, "support-no-open-case", &[])).await;
    }
    let Some(customer_chat) = recipient(ctx, case).await? else {
        return post_to_topic(ctx, bot, case, st(ctx, "support-closed-detached", &[("name", Arg::from(staff_name))]))
            .await;
    };
    let locale = customer_locale(ctx, case).await;
    let text = ctx.i18n.t(locale, "support-closed-customer", &[]);
    let markup = rating_markup(ctx, case).await?;
    let told = bot.send_message(customer_chat, text).parse_mode(ParseMode::Html).reply_markup(markup).await;
    let note = match told {
        Ok(_) => st(ctx, "support-closed", &[("name", Arg::from(staff_name))]),
        Err(error @ teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
            crate::server::metrics::telegram_error(&error);
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
    let start = tz
        .from_local_datetime(&today.and_time(NaiveTime::MIN))
        .earliest()
        .map_or_else(|| ctx.clock.now(), |t| t.to_utc());
    let stats = ctx.store.support_stats(start, start + Duration::days(1)).await?;
    let automated = if stats.requests == 0 {
        "—".to_owned()
    } else {
        format!("{:.0} %", 100.0 * (stats.requests - stats.escalated_requests) as f64 / stats.requests as f64)
    };
    let median = stats.median_first_response.map_or_else(|| "—".to_owned(), |d| format_duration(d, staff_locale(ctx)));
    let by_intent = if stats.by_intent.is_empty() {
        "—".to_owned()
    } else {
        stats
            .by_intent
            .iter()
            .map(|(intent, n)| format!("{}: {n}", intent_name(ctx, intent)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = st(
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
    );
    text.push_str("\n\n");
    text.push_str(&unrecognised(ctx, today).await?);
    Ok(text)
}

/// How many of the most frequent unrecognised messages `/stats` lists.
const TOP_UNRECOGNISED: i64 = 10;

/// The most frequent messages the bot did not understand in the last 7 days (today
/// included), with their counts: what the business may add answers for.
async fn unrecognised(ctx: &Ctx, today: chrono::NaiveDate) -> Result<String, BotError> {
    let top = ctx.store.top_unrecognised(today - Duration::days(6), TOP_UNRECOGNISED).await?;
    if top.is_empty() {
        return Ok(st(ctx, "support-stats-unrecognised-none", &[]));
    }
    let mut lines = vec![st(ctx, "support-stats-unrecognised", &[])];
    lines.extend(top.iter().map(|(text, n)| format!("• «{}» — {n}", escape_html(text))));
    Ok(lines.join("\n"))
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
                format!(
                    " — <a href=\"https://t.me/c/{internal}/{thread_id}\">{}</a>",
                    st(ctx, "support-find-topic", &[])
                )
            }
            _ => String::new(),
        };
        lines.push(format!("• {} {}{link}", escape_html(&profile.name), escape_html(&profile.phone.masked())));
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_whatever_their_case_and_bot_name() {
        assert_eq!(read("/close"), Some(Typed::Known(StaffCommand::Close)));
        assert_eq!(read("  /CLOSE@other_bot please "), Some(Typed::Known(StaffCommand::Close)));
        assert_eq!(read("/priority   высокий "), Some(Typed::Known(StaffCommand::Priority("высокий".into()))));
        assert_eq!(read("/priority"), Some(Typed::Known(StaffCommand::Priority(String::new()))));
        assert_eq!(read("/find\t+7 701 123"), Some(Typed::Known(StaffCommand::Find("+7 701 123".into()))));
        assert_eq!(read("/Stats@cabinet_bot"), Some(Typed::Known(StaffCommand::Stats)));
    }

    #[test]
    fn other_words_are_unknown_commands_and_text_is_none() {
        assert_eq!(read("/"), Some(Typed::Unknown));
        assert_eq!(read("/ close"), Some(Typed::Unknown));
        assert_eq!(read("/start"), Some(Typed::Unknown));
        assert_eq!(read("здравствуйте, /close"), None);
        assert_eq!(read(""), None);
    }

    #[test]
    fn priority_levels_are_read_in_either_language() {
        assert_eq!(parse_priority("Критично"), Some(CasePriority::Critical));
        assert_eq!(parse_priority(" high "), Some(CasePriority::High));
        assert_eq!(parse_priority("обычный"), Some(CasePriority::Normal));
        assert_eq!(parse_priority("urgent"), None);
    }
}
