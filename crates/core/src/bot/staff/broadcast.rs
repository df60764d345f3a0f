//! `/broadcast` in the staff group: one text to a segment of the customers, through the
//! notifications outbox.
//!
//! 1. `/broadcast <segment> [service] <text…>` (outside topics) answers with a preview: the
//!    text as customers will see it, the segment, how many will get it (and how many not:
//!    opted out, blocked), a note when quiet hours will hold it, and «Отправить N» /
//!    «Отмена». The draft is stored (`broadcasts`); bad usage stores nothing.
//! 2. A staff member presses «Отправить»: the broadcast runs, one notification per customer
//!    of the segment is written to the outbox ([`crate::notify::broadcast`]), and a progress
//!    message with «Остановить» is posted.
//! 3. A durable job ([`KIND`]) edits the progress message every [`PROGRESS_EVERY`] (by the
//!    clock) while notifications are in flight, and resumes writing them if a confirmation
//!    stopped half-way; when none is left it edits the message into the final report and
//!    posts a short note in the General topic.
//! 4. «Остановить» (or `/broadcast stop <id>`) takes what is not yet being sent off the queue.
//!
//! Buttons carry data signed for the group (any staff member may press them); every press is
//! checked against the staff list, as staff commands are.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{ChatId, InlineKeyboardMarkup, MessageId, ParseMode};

use super::super::keyboards::{ButtonKind, answer_button, tag_and_arg};
use super::super::{Capability, Ctx, HandlerResult};
use super::{Author, Thread, reply, st, staff_chat, staff_locale};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::jobs::{Job, JobError};
use crate::notify::broadcast::{self as store, Audience, Broadcast, NewBroadcast, state};
use crate::notify::{Category, QuietHours};
use crate::store::NewJob;

/// The job kind of a broadcast's progress updates (and of resuming its writing).
pub const KIND: &str = "broadcast.progress";

/// How often the progress message is updated while a broadcast runs (by the clock).
pub const PROGRESS_EVERY: Duration = Duration::seconds(5);

/// The most characters (UTF-16 code units, as Telegram counts) a message may have.
pub const MAX_TEXT: usize = 4096;

/// The buttons of a broadcast's messages in the staff group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BroadcastButton {
    /// «Отправить N» on the preview.
    Send(i64),
    /// «Отмена» on the preview.
    Cancel(i64),
    /// «Остановить» on the progress message.
    Stop(i64),
}

impl ButtonKind for BroadcastButton {
    const TAGS: &'static [&'static str] = &["bcsend", "bccancel", "bcstop"];

    fn encode(&self) -> String {
        match self {
            BroadcastButton::Send(id) => format!("bcsend:{id}"),
            BroadcastButton::Cancel(id) => format!("bccancel:{id}"),
            BroadcastButton::Stop(id) => format!("bcstop:{id}"),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        let (tag, arg) = tag_and_arg(payload);
        let id: i64 = arg.parse().ok().filter(|id| *id > 0)?;
        Some(match tag {
            "bcsend" => BroadcastButton::Send(id),
            "bccancel" => BroadcastButton::Cancel(id),
            "bcstop" => BroadcastButton::Stop(id),
            _ => return None,
        })
    }
}

/// What `/broadcast …` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A new broadcast to preview.
    Draft { audience: Audience, category: Category, text: String },
    /// `/broadcast stop 7`.
    Stop(i64),
}

/// Why `/broadcast …` cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// Nothing, or no text after the segment.
    Incomplete,
    /// A segment the bot does not know.
    UnknownSegment(String),
    /// `/broadcast stop` without a number.
    StopWithoutId,
    /// The text is longer than Telegram takes.
    TooLong(usize),
}

/// The first whitespace-separated word of `s`, and what follows it (untrimmed).
fn word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Reads what follows `/broadcast`: a segment, then `service`/`служебное` optionally, then the
/// text (the rest of the message, its line breaks kept); or `stop <id>`.
pub fn parse(args: &str) -> Result<Request, Usage> {
    let (first, rest) = word(args);
    if first.is_empty() {
        return Err(Usage::Incomplete);
    }
    if matches!(first.to_lowercase().as_str(), "stop" | "стоп" | "остановить") {
        let (id, _) = word(rest);
        let id = id.trim_start_matches(['№', '#']);
        return id.parse().ok().filter(|id| *id > 0).map(Request::Stop).ok_or(Usage::StopWithoutId);
    }
    let audience = Audience::parse(first).ok_or_else(|| Usage::UnknownSegment(first.to_owned()))?;
    let (maybe_service, after) = word(rest);
    let (category, text) = match maybe_service.to_lowercase().as_str() {
        "service" | "служебное" | "служебная" => (Category::Service, after),
        _ => (Category::News, rest),
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(Usage::Incomplete);
    }
    let length = text.encode_utf16().count();
    if length > MAX_TEXT {
        return Err(Usage::TooLong(length));
    }
    Ok(Request::Draft { audience, category, text: text.to_owned() })
}

/// The text after the command's name (`/broadcast@bot …`), as typed.
fn arguments(text: &str) -> &str {
    let text = text.trim_start();
    let (_, rest) = word(text);
    rest
}

/// "4812" → "4 812" (a no-break space between groups) in Russian, "4,812" in English.
fn number(n: i64, locale: Locale) -> String {
    let digits = n.unsigned_abs().to_string();
    let sep = match locale {
        Locale::Ru => '\u{a0}',
        Locale::En => ',',
    };
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn num(ctx: &Ctx, n: i64) -> Arg {
    Arg::Raw(number(n, staff_locale(ctx)))
}

/// `/broadcast …` typed outside topics by a staff member.
pub(super) async fn command(ctx: &Ctx, bot: &Bot, author: &Author, thread: Thread, text: &str) -> HandlerResult {
    let usage = |ctx: &Ctx, lead: Option<String>| {
        let usage = st(ctx, "broadcast-usage", &[]);
        lead.map_or_else(|| usage.clone(), |lead| format!("{lead}\n\n{usage}"))
    };
    let request = match parse(arguments(text)) {
        Ok(request) => request,
        Err(Usage::Incomplete) => return reply(ctx, bot, thread, usage(ctx, None)).await,
        Err(Usage::UnknownSegment(segment)) => {
            let lead = st(ctx, "broadcast-unknown-segment", &[("segment", Arg::from(segment.as_str()))]);
            return reply(ctx, bot, thread, usage(ctx, Some(lead))).await;
        }
        Err(Usage::StopWithoutId) => return reply(ctx, bot, thread, st(ctx, "broadcast-stop-usage", &[])).await,
        Err(Usage::TooLong(length)) => {
            let args = [("length", num(ctx, length as i64)), ("max", num(ctx, MAX_TEXT as i64))];
            return reply(ctx, bot, thread, st(ctx, "broadcast-too-long", &args)).await;
        }
    };
    match request {
        Request::Stop(id) => {
            let text = stop(ctx, bot, id).await?;
            reply(ctx, bot, thread, text).await
        }
        Request::Draft { audience, category, text } => draft(ctx, bot, author, thread, audience, category, text).await,
    }
}

/// The segment in words.
fn segment_label(ctx: &Ctx, audience: &Audience) -> String {
    match audience {
        Audience::All => st(ctx, "broadcast-segment-all", &[]),
        Audience::Tag(tag) => st(ctx, "broadcast-segment-tag", &[("value", Arg::from(tag.as_str()))]),
        Audience::Tariff(code) => st(ctx, "broadcast-segment-tariff", &[("value", Arg::from(code.as_str()))]),
        Audience::ActiveOrder => st(ctx, "broadcast-segment-active-order", &[]),
    }
}

/// A preview of a new broadcast, stored as a draft.
async fn draft(
    ctx: &Ctx,
    bot: &Bot,
    author: &Author,
    thread: Thread,
    audience: Audience,
    category: Category,
    text: String,
) -> HandlerResult {
    if audience == Audience::ActiveOrder && !ctx.settings.capabilities.has(Capability::Logistics) {
        return reply(ctx, bot, thread, st(ctx, "broadcast-no-orders", &[])).await;
    }
    let members = match store::members(ctx, &audience).await {
        Ok(members) => members,
        Err(BotError::Adapter(error)) => {
            tracing::warn!(%error, "a broadcast's segment could not be read from the backend");
            return reply(ctx, bot, thread, st(ctx, "broadcast-backend-down", &[])).await;
        }
        Err(other) => return Err(other),
    };
    let segment = segment_label(ctx, &audience);
    if members.is_empty() {
        return reply(ctx, bot, thread, st(ctx, "broadcast-nobody", &[("segment", Arg::Raw(segment))])).await;
    }
    let reach = store::reach(&ctx.store, &members, category).await?;
    let now = ctx.clock.now();
    let new = NewBroadcast {
        audience,
        category,
        text: text.clone(),
        created_by: author.id,
        reach,
        staff_chat_id: staff_chat(ctx).map(|c| c.0),
    };
    let id = store::create_draft(&ctx.store, &new, now).await?;
    let mut lines = vec![
        st(ctx, "broadcast-preview-title", &[("id", Arg::Num(id))]),
        st(ctx, "broadcast-preview-segment", &[("segment", Arg::Raw(segment))]),
        st(ctx, &format!("broadcast-category-{}", category.as_str()), &[]),
        st(
            ctx,
            "broadcast-recipients",
            &[
                ("recipients", num(ctx, reach.recipients)),
                ("in_segment", num(ctx, reach.in_segment)),
                ("category", Arg::from(category.as_str())),
                ("opted_out", num(ctx, reach.opted_out)),
                ("blocked", num(ctx, reach.unreachable)),
            ],
        ),
    ];
    if let Some(end) = quiet_until(ctx, now) {
        lines.push(st(ctx, "broadcast-quiet", &[("end", Arg::from(end))]));
    }
    lines.push(String::new());
    lines.push(st(ctx, "broadcast-preview-text", &[]));
    let head = lines.join("\n");
    // The text as customers see it: escaped as the sender escapes it.
    let shown = escape_html(&text);
    let buttons = group_buttons(
        ctx,
        vec![vec![
            (st(ctx, "broadcast-button-send", &[("count", num(ctx, reach.recipients))]), BroadcastButton::Send(id)),
            (st(ctx, "broadcast-button-cancel", &[]), BroadcastButton::Cancel(id)),
        ]],
    );
    let Some(group) = staff_chat(ctx) else { return Ok(()) };
    let together = format!("{head}\n{shown}");
    // One message when it fits; else the text alone, then the summary with the buttons.
    let preview = if together.encode_utf16().count() <= MAX_TEXT {
        send(ctx, bot, group, together, Some(buttons)).await?
    } else {
        send(ctx, bot, group, shown, None).await?;
        send(ctx, bot, group, head, Some(buttons)).await?
    };
    store::set_preview_message(&ctx.store, id, preview.0).await?;
    tracing::info!(broadcast = id, recipients = reach.recipients, "a broadcast is previewed in the staff group");
    Ok(())
}

/// When quiet hours now end (local "09:00"), if normal notifications are held now.
fn quiet_until(ctx: &Ctx, now: DateTime<Utc>) -> Option<String> {
    let quiet: QuietHours = ctx.settings.notify.quiet_hours?;
    quiet.end_after(ctx.to_local(now)).map(|end| end.format("%H:%M").to_string())
}

/// A keyboard whose buttons any staff member may press: signed for the group.
fn group_buttons(ctx: &Ctx, rows: Vec<Vec<(String, BroadcastButton)>>) -> InlineKeyboardMarkup {
    let group = staff_chat(ctx).map_or(0, |c| c.0);
    InlineKeyboardMarkup::new(rows.into_iter().map(|row| {
        row.into_iter()
            .map(|(label, button)| {
                teloxide::types::InlineKeyboardButton::callback(label, ctx.codec.encode(button, 0, group))
            })
            .collect::<Vec<_>>()
    }))
}

/// Posts into the General topic now (counted against the group's rate), for a message whose
/// id is needed: the preview and the progress message.
async fn send(
    ctx: &Ctx,
    bot: &Bot,
    group: ChatId,
    text: String,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<MessageId, BotError> {
    ctx.support.limiter.count(ctx.clock.now());
    let mut request = bot.send_message(group, text).parse_mode(ParseMode::Html);
    if let Some(markup) = markup {
        request = request.reply_markup(markup);
    }
    Ok(request.await?.id)
}

/// A press on a broadcast's button in the staff group.
pub(crate) async fn pressed(ctx: std::sync::Arc<Ctx>, bot: Bot, q: CallbackQuery) -> HandlerResult {
    let Some(group) = staff_chat(&ctx) else { return Ok(()) };
    let data = q.data.as_deref().unwrap_or_default();
    let Ok(button) = ctx.codec.decode::<BroadcastButton>(data, 0, group.0) else {
        answer_button(&bot, &q, None).await;
        return Ok(());
    };
    let user = q.from.id.0 as i64;
    if !ctx.support.members.is_staff(&bot, group, user).await {
        tracing::info!(user, "a broadcast button pressed by someone who is not staff");
        answer_button(&bot, &q, Some(st(&ctx, "broadcast-only-staff", &[]))).await;
        return Ok(());
    }
    let toast = match button {
        BroadcastButton::Send(id) => confirm(&ctx, &bot, id, user, &q.from.first_name).await?,
        BroadcastButton::Cancel(id) => cancel(&ctx, &bot, id).await?,
        BroadcastButton::Stop(id) => stop(&ctx, &bot, id).await?,
    };
    answer_button(&bot, &q, Some(toast)).await;
    Ok(())
}

/// Why a broadcast cannot be sent (or cancelled) now, for a toast.
fn not_a_draft(ctx: &Ctx, broadcast: &Broadcast) -> String {
    let id = [("id", Arg::Num(broadcast.id))];
    match broadcast.status.as_str() {
        state::RUNNING => st(ctx, "broadcast-already-running", &id),
        state::CANCELLED => st(ctx, "broadcast-already-cancelled", &id),
        _ => st(ctx, "broadcast-already-finished", &id),
    }
}

/// Removes a message's buttons (best effort).
async fn drop_buttons(bot: &Bot, group: ChatId, message: Option<i32>) {
    if let Some(message) = message
        && let Err(error) = bot.edit_message_reply_markup(group, MessageId(message)).await
    {
        tracing::debug!(%error, "could not remove a broadcast's buttons");
    }
}

/// «Отправить»: the draft runs (once, whoever presses first), its notifications are written,
/// the progress message is posted and its updates scheduled. A running broadcast whose
/// writing stopped half-way is resumed.
async fn confirm(ctx: &Ctx, bot: &Bot, id: i64, user: i64, name: &str) -> Result<String, BotError> {
    let Some(broadcast) = store::get(&ctx.store, id).await? else {
        return Ok(st(ctx, "broadcast-unknown", &[("id", Arg::Num(id))]));
    };
    let now = ctx.clock.now();
    if broadcast.status == state::RUNNING && !broadcast.written {
        run(ctx, bot, id, false).await?;
        return Ok(st(ctx, "broadcast-already-running", &[("id", Arg::Num(id))]));
    }
    if broadcast.status != state::DRAFT || !store::confirm(&ctx.store, id, user, name, now).await? {
        let broadcast = store::get(&ctx.store, id).await?.unwrap_or(broadcast);
        return Ok(not_a_draft(ctx, &broadcast));
    }
    tracing::info!(broadcast = id, user, "a broadcast is confirmed");
    if let Some(group) = staff_chat(ctx) {
        drop_buttons(bot, group, broadcast.preview_message_id).await;
    }
    schedule(ctx, id, now + PROGRESS_EVERY).await?;
    // Should writing fail here (a backend down), the progress job writes them again.
    if let Err(error) = run(ctx, bot, id, false).await {
        tracing::warn!(%error, broadcast = id, "a confirmed broadcast is not written yet; its job will resume it");
    }
    Ok(st(ctx, "broadcast-started", &[("id", Arg::Num(id))]))
}

/// «Отмена»: the draft is cancelled; nothing is sent.
async fn cancel(ctx: &Ctx, bot: &Bot, id: i64) -> Result<String, BotError> {
    let Some(broadcast) = store::get(&ctx.store, id).await? else {
        return Ok(st(ctx, "broadcast-unknown", &[("id", Arg::Num(id))]));
    };
    if !store::cancel(&ctx.store, id).await? {
        let broadcast = store::get(&ctx.store, id).await?.unwrap_or(broadcast);
        return Ok(not_a_draft(ctx, &broadcast));
    }
    if let Some(group) = staff_chat(ctx) {
        drop_buttons(bot, group, broadcast.preview_message_id).await;
    }
    Ok(st(ctx, "broadcast-cancelled", &[("id", Arg::Num(id))]))
}

/// «Остановить» or `/broadcast stop <id>`: what is not yet being sent never will be; the
/// report follows at once when nothing is left in flight. The answer for staff.
async fn stop(ctx: &Ctx, bot: &Bot, id: i64) -> Result<String, BotError> {
    let Some(broadcast) = store::get(&ctx.store, id).await? else {
        return Ok(st(ctx, "broadcast-unknown", &[("id", Arg::Num(id))]));
    };
    let Some(stopped) = store::stop(&ctx.store, id).await? else {
        let key = match broadcast.status.as_str() {
            state::DRAFT => "broadcast-stop-draft",
            _ => "broadcast-not-running",
        };
        return Ok(st(ctx, key, &[("id", Arg::Num(id))]));
    };
    tracing::info!(broadcast = id, stopped, "a broadcast is stopped");
    progress(ctx, bot, id, true).await?;
    Ok(st(ctx, "broadcast-stopping", &[("id", Arg::Num(id)), ("count", num(ctx, stopped as i64))]))
}

/// Writes the notifications of a running broadcast if they are not all written yet, then
/// updates its progress (see [`progress`] for `may_finish`).
async fn run(ctx: &Ctx, bot: &Bot, id: i64, may_finish: bool) -> Result<(), BotError> {
    let Some(broadcast) = store::get(&ctx.store, id).await? else { return Ok(()) };
    if broadcast.status == state::RUNNING && !broadcast.written {
        let Some(audience) = broadcast.audience() else {
            return Err(BotError::Internal(format!(
                "broadcast {id} has an unreadable segment {:?}",
                broadcast.segment
            )));
        };
        let members = store::members(ctx, &audience).await?;
        let total = store::write_notifications(&ctx.store, &broadcast, &members, ctx.clock.now()).await?;
        tracing::info!(broadcast = id, total, "a broadcast's notifications are in the outbox");
    }
    progress(ctx, bot, id, may_finish).await
}

/// The progress message while notifications are in flight; the final report (once) when
/// none is and `may_finish` (the job and a stop finish a broadcast; a confirmation leaves it
/// to the job, so the report follows the sending, not the writing).
async fn progress(ctx: &Ctx, bot: &Bot, id: i64, may_finish: bool) -> Result<(), BotError> {
    let Some(broadcast) = store::get(&ctx.store, id).await? else { return Ok(()) };
    let Some(group) = staff_chat(ctx) else { return Ok(()) };
    let running = broadcast.status == state::RUNNING;
    if !running && broadcast.status != state::STOPPED {
        return Ok(());
    }
    let counts = store::counts(&ctx.store, id).await?;
    let over = may_finish && counts.in_flight == 0 && (broadcast.written || !running);
    let now = ctx.clock.now();
    if over {
        if !store::finish(&ctx.store, id, now).await? {
            return Ok(());
        }
        let stopped = broadcast.status == state::STOPPED;
        let args = [
            ("id", Arg::Num(id)),
            ("outcome", Arg::from(if stopped { "stopped" } else { "done" })),
            ("sent", num(ctx, counts.sent)),
            ("total", num(ctx, counts.total())),
            ("opted_out", num(ctx, counts.opted_out)),
            ("blocked", num(ctx, counts.unreachable)),
            ("failed", num(ctx, counts.failed)),
            ("stopped", num(ctx, counts.stopped)),
        ];
        let report = st(ctx, "broadcast-report", &args);
        show(ctx, bot, group, &broadcast, report, None).await?;
        super::post_to_general(ctx, bot, st(ctx, "broadcast-finished", &args)).await?;
        tracing::info!(broadcast = id, sent = counts.sent, "a broadcast is over");
        return Ok(());
    }
    let skipped = counts.opted_out + counts.unreachable + counts.failed;
    let text = st(
        ctx,
        "broadcast-progress",
        &[
            ("id", Arg::Num(id)),
            ("sent", num(ctx, counts.sent)),
            ("total", num(ctx, counts.total().max(broadcast.total))),
            ("skipped", num(ctx, skipped)),
        ],
    );
    let markup = running
        .then(|| group_buttons(ctx, vec![vec![(st(ctx, "broadcast-button-stop", &[]), BroadcastButton::Stop(id))]]));
    show(ctx, bot, group, &broadcast, text, markup).await
}

/// The progress message edited to `text` (posted when there is none yet). An edit that
/// fails — the text did not change, Telegram asks to wait — is let go: the next update
/// comes soon.
async fn show(
    ctx: &Ctx,
    bot: &Bot,
    group: ChatId,
    broadcast: &Broadcast,
    text: String,
    markup: Option<InlineKeyboardMarkup>,
) -> Result<(), BotError> {
    match broadcast.progress_message_id {
        Some(message) => {
            let mut request = bot.edit_message_text(group, MessageId(message), text).parse_mode(ParseMode::Html);
            request = request.reply_markup(markup.unwrap_or_else(|| InlineKeyboardMarkup::new(Vec::<Vec<_>>::new())));
            if let Err(error) = request.await {
                crate::server::metrics::telegram_error(&error);
                tracing::debug!(%error, broadcast = broadcast.id, "a broadcast's progress was not edited");
            }
        }
        None => {
            let message = send(ctx, bot, group, text, markup).await?;
            store::set_progress_message(&ctx.store, broadcast.id, message.0).await?;
        }
    }
    Ok(())
}

/// The progress job's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    broadcast: i64,
}

/// Schedules the broadcast's next progress update at `at` (once per time: a second schedule
/// for the same moment is the same job).
async fn schedule(ctx: &Ctx, id: i64, at: DateTime<Utc>) -> Result<(), BotError> {
    let job = NewJob {
        key: format!("broadcast:{id}:progress:{}", at.timestamp_millis()),
        kind: KIND.to_owned(),
        payload: serde_json::json!(Payload { broadcast: id }),
        run_at: at,
    };
    ctx.store.schedule_job(&job).await?;
    Ok(())
}

/// The progress job: writes what a stopped confirmation did not, updates the progress
/// message (or makes the report), and comes again while the broadcast is not over.
pub async fn run_job(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: Payload = serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    let id = payload.broadcast;
    let now = ctx.clock.now();
    if let Err(error) = run(ctx, bot, id, true).await {
        return Err(JobError::Retry { at: now + PROGRESS_EVERY, reason: error.to_string() });
    }
    let broadcast = store::get(&ctx.store, id)
        .await
        .map_err(|e| JobError::Retry { at: now + PROGRESS_EVERY, reason: e.to_string() })?;
    if broadcast
        .is_some_and(|b| b.finished_at.is_none() && matches!(b.status.as_str(), state::RUNNING | state::STOPPED))
    {
        // Nothing changes while quiet hours hold every message: the next update then.
        let due = store::next_due(&ctx.store, id).await.ok().flatten();
        let at = due.map_or(now + PROGRESS_EVERY, |due| due.max(now + PROGRESS_EVERY));
        schedule(ctx, id, at).await.map_err(|e| JobError::Retry { at: now + PROGRESS_EVERY, reason: e.to_string() })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_a_segment_an_optional_service_word_and_the_text_with_its_line_breaks() {
        assert_eq!(
            parse(" all  Завтра с 2:00 до 4:00\nработы на сети "),
            Ok(Request::Draft {
                audience: Audience::All,
                category: Category::News,
                text: "Завтра с 2:00 до 4:00\nработы на сети".into()
            })
        );
        assert_eq!(
            parse("тег:VIP служебное\nПервая строка\n\nТретья"),
            Ok(Request::Draft {
                audience: Audience::Tag("VIP".into()),
                category: Category::Service,
                text: "Первая строка\n\nТретья".into()
            })
        );
        assert_eq!(
            parse("tariff:max service Maintenance tonight"),
            Ok(Request::Draft {
                audience: Audience::Tariff("max".into()),
                category: Category::Service,
                text: "Maintenance tonight".into()
            })
        );
        assert!(matches!(parse("заказ Ваш заказ в пути"), Ok(Request::Draft { audience: Audience::ActiveOrder, .. })));
        assert!(matches!(parse("active-order Hi"), Ok(Request::Draft { audience: Audience::ActiveOrder, .. })));
    }

    #[test]
    fn bad_usage_is_named() {
        assert_eq!(parse(""), Err(Usage::Incomplete));
        assert_eq!(parse("all"), Err(Usage::Incomplete));
        assert_eq!(parse("all service  "), Err(Usage::Incomplete));
        assert_eq!(parse("everyone hello"), Err(Usage::UnknownSegment("everyone".into())));
        assert_eq!(parse("tag: hello"), Err(Usage::UnknownSegment("tag:".into())));
        assert_eq!(parse(&format!("all {}", "я".repeat(4097))), Err(Usage::TooLong(4097)));
        assert!(parse(&format!("all {}", "я".repeat(4096))).is_ok());
        assert_eq!(parse("stop"), Err(Usage::StopWithoutId));
        assert_eq!(parse("stop 7"), Ok(Request::Stop(7)));
        assert_eq!(parse("стоп №12"), Ok(Request::Stop(12)));
    }

    #[test]
    fn the_arguments_follow_the_command_and_its_bot_name() {
        assert_eq!(arguments("/broadcast@cabinet_bot all\nhi").trim_start(), "all\nhi");
        assert_eq!(parse(arguments("/broadcast@cabinet_bot all\nhi")).map(|_| ()), Ok(()));
        assert_eq!(parse(arguments("/broadcast")), Err(Usage::Incomplete));
    }

    #[test]
    fn buttons_round_trip_and_numbers_are_grouped() {
        for button in [BroadcastButton::Send(7), BroadcastButton::Cancel(8), BroadcastButton::Stop(9)] {
            assert_eq!(BroadcastButton::decode(&button.encode()), Some(button));
        }
        assert_eq!(BroadcastButton::decode("bcsend:0"), None);
        assert_eq!(BroadcastButton::decode("bcsend:x"), None);
        assert_eq!(number(4812, Locale::Ru), "4\u{a0}812");
        assert_eq!(number(5000000, Locale::En), "5,000,000");
        assert_eq!(number(38, Locale::Ru), "38");
    }
}
