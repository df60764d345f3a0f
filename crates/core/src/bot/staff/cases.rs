//! The customer's side of a case: asking for a person ([`escalate`]: a case opens, or the open
//! one continues, and follows the customer to the chat they are bound in now), the rating
//! after `/close`, and leaving the chat of an open case (/logout, /forget, another account
//! proving the phone). Its buttons: «Позвать оператора» and the rating.

use chrono::{DateTime, NaiveTime, Utc};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ChatId, ParseMode};

use teloxide::types::InlineKeyboardMarkup;

use super::super::keyboards::{ButtonKind, Buttons, pressed, tag_and_arg};
use super::super::{Ctx, HandlerResult, Turn, general};
use super::card::post_card;
use super::idle::schedule_idle_close;
use super::outbox::{post_to_general, post_to_topic};
use super::sla::schedule_sla;
use super::{st, staff_chat, staff_locale};
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::store::{AuditEntry, Binding, CasePriority, NewCase, SupportCase};

/// The customer's buttons of the staff side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StaffButton {
    /// Ask for a person.
    Operator,
    /// Ask for a person after the bot did not understand twice (offered, not forced).
    Person,
    /// The customer's own request is solved: the case is closed.
    Solved { case: i64 },
    /// The customer's rating (1–5) of a closed case.
    Rate { case: i64, rating: u8 },
}

impl ButtonKind for StaffButton {
    const TAGS: &'static [&'static str] = &["op", "pm", "sv", "rt"];

    fn encode(&self) -> String {
        match self {
            StaffButton::Operator => "op".into(),
            StaffButton::Person => "pm".into(),
            StaffButton::Solved { case } => format!("sv:{case}"),
            StaffButton::Rate { case, rating } => format!("rt:{case}:{rating}"),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("op", "") => StaffButton::Operator,
            ("pm", "") => StaffButton::Person,
            ("sv", arg) => StaffButton::Solved { case: arg.parse().ok().filter(|c| *c > 0)? },
            ("rt", arg) => {
                let (case, rating) = arg.split_once(':')?;
                let rating: u8 = rating.parse().ok().filter(|r| (1..=5).contains(r))?;
                StaffButton::Rate { case: case.parse().ok().filter(|c| *c > 0)?, rating }
            }
            _ => return None,
        })
    }
}

pub(crate) fn buttons() -> UpdateHandler<BotError> {
    pressed::<StaffButton>().endpoint(|turn: Turn, button: StaffButton| async move {
        match button {
            StaffButton::Operator => escalate(&turn, Reason::Requested, None).await,
            StaffButton::Person => escalate(&turn, Reason::Misunderstood, None).await,
            StaffButton::Solved { case } => solved_pressed(&turn, case).await,
            StaffButton::Rate { case, rating } => rate(&turn, case, rating).await,
        }
    })
}

/// Why a case is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    Requested,
    Complaint,
    Misunderstood,
    /// The backend would not cancel an order; the text is its number.
    CancelOrder,
}

impl Reason {
    fn key(self) -> &'static str {
        match self {
            Reason::Requested => "support-reason-requested",
            Reason::Complaint => "support-reason-complaint",
            Reason::Misunderstood => "support-reason-misunderstood",
            Reason::CancelOrder => "support-reason-cancel-order",
        }
    }
}

/// Opens (or continues) a case for the customer and tells them what happens next. Without a
/// staff group, the support hours are given instead.
pub(crate) async fn escalate(turn: &Turn, reason: Reason, text: Option<&str>) -> HandlerResult {
    // The staff card shows the chat's history: this turn's message is in it.
    turn.flush().await?;
    let label = match reason {
        Reason::Requested => "requested",
        Reason::Complaint => "complaint",
        Reason::Misunderstood => "misunderstood",
        Reason::CancelOrder => "cancel_order",
    };
    metrics::counter!("cabinet_escalations_total", "reason" => label).increment(1);
    let ctx = &turn.ctx;
    let (Some(_), Some(binding)) = (staff_chat(ctx), turn.binding.as_ref()) else {
        let hours = ctx.settings.support_hours.clone();
        let markup = general::main_menu(turn);
        turn.say_with(turn.t("operator", &[("hours", Arg::from(hours))]), markup).await?;
        return Ok(());
    };
    let now = ctx.clock.now();
    let rules_priority = text.and_then(|t| ctx.support.rules.priority_of(t));
    let priority =
        rules_priority.unwrap_or(if reason == Reason::Complaint { CasePriority::High } else { CasePriority::Normal });
    let new = NewCase {
        customer_id: binding.customer_id.clone(),
        telegram_user_id: turn.user_id,
        customer_chat_id: turn.chat.0,
        priority,
        reason: match (reason, text) {
            (Reason::CancelOrder, Some(number)) => turn.ctx.i18n.t(
                staff_locale(ctx),
                "support-reason-cancel-order-number",
                &[("number", Arg::from(number))],
            ),
            _ => turn.ctx.i18n.t(staff_locale(ctx), reason.key(), &[]),
        },
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
        schedule_idle_close(ctx, &case, now).await?;
        turn.say_with(turn.t("support-opened", &[]), solved_markup(turn, case.id)).await?;
        return Ok(());
    }
    if !created {
        if priority > case.priority {
            ctx.store.raise_case_priority(case.id, priority).await?;
        }
        turn.say_with(turn.t("support-already-open", &[]), solved_markup(turn, case.id)).await?;
        return Ok(());
    }
    turn.audit("support.case.open", Some(&case.id.to_string())).await?;
    if let Err(error) = post_card(ctx, &turn.bot, &case, &binding.customer_id).await {
        // The staff group cannot take cases (not a forum, the bot not an admin, …): the case
        // is closed again and the customer gets the support hours rather than a promise.
        tracing::error!(%error, "the staff group did not take a case; is it a forum where the bot manages topics?");
        ctx.store.close_case(case.id, now).await?;
        let hours = ctx.settings.support_hours.clone();
        turn.say_with(turn.t("operator", &[("hours", Arg::from(hours))]), general::main_menu(turn)).await?;
        return Ok(());
    }
    schedule_sla(ctx, &case, now).await?;
    schedule_idle_close(ctx, &case, now).await?;
    note_in_crm(ctx, &case).await;
    let mut reply = turn.t("support-opened", &[]);
    if let Some(opens) = outside_hours(ctx, now) {
        reply.push('\n');
        reply.push_str(&turn.t(
            "support-after-hours",
            &[("hours", Arg::from(ctx.settings.support_hours.as_str())), ("opens", Arg::from(opens))],
        ));
    }
    turn.say_with(reply, solved_markup(turn, case.id)).await?;
    Ok(())
}

/// «Вопрос решён» under the message that a request went to staff.
fn solved_markup(turn: &Turn, case: i64) -> InlineKeyboardMarkup {
    turn.buttons().markup(vec![vec![(turn.t("support-solved-button", &[]), StaffButton::Solved { case })]])
}

/// Whether the customer says their request is solved: «вопрос решён», «спасибо, всё
/// решилось», "my issue is solved", … A negation («не решён», "not solved") is not.
pub(crate) fn says_solved(text: &str) -> bool {
    let t: String = text.to_lowercase().replace('ё', "е");
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 80 {
        return false;
    }
    const NEGATIONS: [&str; 9] =
        ["не реш", "нерешен", "не помог", "not solved", "not resolved", "unsolved", "isn't", "not fixed", "still"];
    if NEGATIONS.iter().any(|n| t.contains(n)) || t.contains("?") {
        return false;
    }
    const SOLVED: [&str; 16] = [
        "вопрос решен",
        "вопрос снят",
        "проблема решена",
        "проблема решилась",
        "все решилось",
        "все решено",
        "уже решилось",
        "уже решили",
        "вопрос закрыт",
        "можно закрыть",
        "issue is solved",
        "issue is resolved",
        "problem solved",
        "problem is solved",
        "all sorted",
        "issue solved",
    ];
    SOLVED.iter().any(|p| t.contains(p))
        || matches!(t.trim_end_matches(['.', '!', ')']), "решено" | "solved" | "resolved")
}

/// Ends an open case: closed in the store and its pending re-pings and idle check cancelled.
/// True only for the caller that closed it.
pub(super) async fn end_case(ctx: &Ctx, case: &SupportCase) -> Result<bool, BotError> {
    if !ctx.store.close_case(case.id, ctx.clock.now()).await? {
        return Ok(false);
    }
    ctx.store.cancel_jobs(&format!("sla:{}:", case.id)).await?;
    ctx.store.cancel_jobs(&format!("{}{}:", super::idle::KEY_PREFIX, case.id)).await?;
    Ok(true)
}

/// The rating buttons (1–5) of a closed case, for its customer.
pub(super) async fn rating_markup(ctx: &Ctx, case: &SupportCase) -> Result<InlineKeyboardMarkup, BotError> {
    let epoch = ctx.store.user(case.telegram_user_id).await?.map_or(0, |u| u.epoch);
    let buttons = Buttons { codec: &ctx.codec, epoch, user_id: case.telegram_user_id };
    let markup = buttons
        .markup(vec![(1..=5u8).map(|r| (r.to_string(), StaffButton::Rate { case: case.id, rating: r })).collect()]);
    buttons.seal(&ctx.store, ctx.clock.now(), markup).await
}

/// The customer says their request is solved while its case is open: the case is closed,
/// staff see a note, and the customer is told they can write any time (and may rate it).
pub(crate) async fn customer_solved(turn: &Turn, case: &SupportCase) -> HandlerResult {
    let ctx = &turn.ctx;
    turn.flush().await?;
    if !end_case(ctx, case).await? {
        return turn.say_with(turn.t("support-solved-already", &[]), general::main_menu(turn)).await.map(drop);
    }
    turn.audit("support.case.solved", Some(&case.id.to_string())).await?;
    post_to_topic(ctx, &turn.bot, case, st(ctx, "support-solved-note", &[])).await?;
    turn.say_with(turn.t("support-solved-customer", &[]), rating_markup(ctx, case).await?).await?;
    Ok(())
}

/// «Вопрос решён» pressed: the case it names is closed if it is this customer's and open;
/// a stale or foreign one gets a polite answer.
async fn solved_pressed(turn: &Turn, case_id: i64) -> HandlerResult {
    let ctx = &turn.ctx;
    let case = ctx.store.case_by_id(case_id).await?;
    let mine = case.as_ref().is_some_and(|c| {
        turn.binding.as_ref().is_some_and(|b| b.customer_id == c.customer_id) && c.telegram_user_id == turn.user_id
    });
    match case {
        Some(case) if mine && case.open && case.detached_at.is_none() => customer_solved(turn, &case).await,
        _ => {
            if !mine {
                turn.audit("support.solved.foreign", Some(&case_id.to_string())).await?;
            }
            turn.say_with(turn.t("support-solved-already", &[]), general::main_menu(turn)).await.map(drop)
        }
    }
}

/// When support opens next, if it is closed at `now` ("09:00").
fn outside_hours(ctx: &Ctx, now: DateTime<Utc>) -> Option<String> {
    let (open, close) = ctx.settings.support_hours.split_once('-')?;
    let open = NaiveTime::parse_from_str(open.trim(), "%H:%M").ok()?;
    let close = NaiveTime::parse_from_str(close.trim(), "%H:%M").ok()?;
    let local = ctx.to_local(now).time();
    (local < open || local >= close).then(|| open.format("%H:%M").to_string())
}

/// A rating button pressed by the customer after `/close`.
pub(crate) async fn rate(turn: &Turn, case_id: i64, rating: u8) -> HandlerResult {
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

/// Another Telegram account (`bound`) has just proved this customer's phone, and the store
/// unbound the earlier account `old` (the newest proof of ownership wins). The earlier chat
/// is told politely (best effort: it may have blocked the bot) and its dialogue reset, the
/// case escalated from it gets a note in its topic, and staff get an alert.
pub(crate) async fn account_replaced(bound: &Turn, old: &Binding) -> HandlerResult {
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
    let locale =
        ctx.store.user(old.telegram_user_id).await?.and_then(|u| u.locale).unwrap_or(ctx.settings.default_locale);
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
        let who =
            format!("{} ({}, {})", escape_html(&old.first_name), old.phone.masked(), escape_html(&old.customer_id.0));
        let args = [("who", Arg::Raw(who)), ("old", Arg::Num(old.telegram_user_id)), ("new", Arg::Num(bound.user_id))];
        if let Err(error) = post_to_general(ctx, &bound.bot, st(ctx, "support-alert-replaced", &args)).await {
            tracing::warn!(%error, "could not post an alert to the staff group");
        }
    }
    Ok(())
}

/// The open case escalated from this chat (attached to it), if any.
pub(crate) async fn case_of_this_chat(turn: &Turn) -> Result<Option<SupportCase>, BotError> {
    let Some(binding) = &turn.binding else { return Ok(None) };
    let case = turn.ctx.store.open_case_of(&binding.customer_id).await?;
    Ok(case.filter(|c| c.detached_at.is_none() && c.telegram_user_id == turn.user_id))
}

/// The customer left the chat of their open case: the case is detached (by the store), and
/// staff are told in the topic that their replies reach no one. `why` is a message key.
pub(crate) async fn customer_left(ctx: &Ctx, bot: &Bot, case: &SupportCase, why: &str) -> Result<(), BotError> {
    let note = format!("{}\n{}", st(ctx, why, &[]), st(ctx, "support-detached", &[]));
    post_to_topic(ctx, bot, case, note).await
}

/// Leaves a note about a new case on the customer's record in the CRM (best effort: the
/// case goes on in the staff group either way).
async fn note_in_crm(ctx: &Ctx, case: &SupportCase) {
    let priority = st(ctx, &format!("support-priority-{}", case.priority.as_str()), &[]);
    let args =
        [("id", Arg::Num(case.id)), ("reason", Arg::from(case.reason.as_str())), ("priority", Arg::from(priority))];
    let text = st(ctx, "support-crm-note", &args);
    let crm = ctx.adapters.crm.clone();
    if let Err(error) = crm.add_note(&case.customer_id, &text).await {
        tracing::warn!(%error, case = case.id, "could not leave a note on the customer's record in the CRM");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_solved_request_is_told_in_either_language() {
        for text in [
            "вопрос решён",
            "Спасибо, всё решилось!",
            "проблема решена, спасибо",
            "решено",
            "My issue is solved",
            "problem solved, thanks",
            "Resolved.",
        ] {
            assert!(says_solved(text), "{text}");
        }
    }

    #[test]
    fn a_negation_a_question_or_other_words_are_not_solved() {
        for text in [
            "вопрос не решён",
            "вопрос решён?",
            "ничего не решилось",
            "my issue is not solved",
            "is my issue solved?",
            "still not resolved",
            "баланс",
            "позовите оператора",
        ] {
            assert!(!says_solved(text), "{text}");
        }
    }
}
