//! F1 onboarding and F2 consent, in the fixed order: terms with «Принимаю» → the contact
//! button → the contact must be the sender's own → E.164 → match in the CRM → greeting by
//! first name and the main menu. Nothing personal is asked or shown before consent. And the
//! way back: /logout unbinds the account, /forget deletes what the bot keeps about the person.
//!
//! ```text
//! > /start
//! < Здравствуйте! Это ваш личный кабинет в Telegram. … условия обработки данных …   [Принимаю]
//! [Принимаю]
//! < Спасибо! Теперь нажмите кнопку «Поделиться номером» …                   (reply keyboard: [Поделиться номером])
//! > @contact +77011234567
//! < Здравствуйте, Ерлан!
//! < Чем помочь?   [Баланс] [Где мой заказ] [Мои заказы] [Помощь]
//! ```

use teloxide::prelude::*;
use teloxide::types::{Contact, KeyboardRemove};

use super::general::{GeneralButton, greeting, main_menu};
use super::keyboards::contact_keyboard;
use super::staff;
use super::state::State;
use super::{HandlerResult, Turn};
use crate::adapters::NewLead;
use crate::domain::Phone;
use crate::i18n::Arg;
use crate::store::{Binding, Lead};

/// The greeting, the terms in brief with a link, and the «Принимаю» button.
pub(super) async fn ask_consent(turn: &Turn) -> HandlerResult {
    let args = [("url", Arg::from(turn.ctx.settings.privacy_url.as_str()))];
    let markup = turn.buttons().markup(vec![vec![(turn.t("consent-button", &[]), GeneralButton::Consent)]]);
    turn.say_with(turn.t("consent-request", &args), markup).await?;
    turn.set_state(State::AwaitingConsent).await
}

/// The reply keyboard with «Поделиться номером», after `key`'s explanation.
pub(super) async fn ask_contact(turn: &Turn, key: &str) -> HandlerResult {
    let keyboard = contact_keyboard(turn.t("contact-button", &[]));
    turn.say_with(turn.t(key, &[]), keyboard).await?;
    turn.set_state(State::AwaitingContact).await
}

/// «Принимаю» pressed (or typed).
pub(super) async fn on_consent(turn: &Turn) -> HandlerResult {
    if turn.binding.is_some() {
        return greeting(turn).await;
    }
    if !turn.has_consent {
        let now = turn.ctx.clock.now();
        turn.ctx.store.record_consent(turn.user_id, &turn.ctx.settings.terms_version, now).await?;
        turn.audit("consent", Some(&turn.ctx.settings.terms_version)).await?;
    }
    ask_contact(turn, "consent-thanks").await
}

/// Text before the terms are accepted: typing what the button says («Принимаю», «согласен»,
/// "I agree") accepts them as the button does; anything else shows the terms again.
pub(super) async fn on_text_before_consent(turn: Turn, text: String) -> HandlerResult {
    if accepts_terms(&text) { on_consent(&turn).await } else { ask_consent(&turn).await }
}

/// Whether typed text says "I accept the terms".
fn accepts_terms(text: &str) -> bool {
    const WORDS: [&str; 8] =
        ["принимаю", "согласен", "согласна", "я согласен", "я согласна", "i agree", "agree", "i accept"];
    let normal: String = text
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace())
        .to_lowercase()
        .replace('ё', "е");
    WORDS.contains(&normal.as_str())
}

/// Text from someone who accepted the terms but has not shared their contact yet.
pub(super) async fn on_text_before_contact(turn: Turn, text: String) -> HandlerResult {
    let turn = &turn;
    if super::understanding::asks_for_person(turn, &text) {
        return person_for_lead(turn, Some(&text)).await;
    }
    if Phone::parse(&text).is_ok() {
        // A typed number proves nothing about who owns it.
        turn.audit("contact.typed", None).await?;
        return ask_contact(turn, "contact-typed").await;
    }
    ask_contact(turn, "onboarding-ask-contact").await
}

/// /operator: a person — the case of an identified customer, or staff told about someone
/// whose phone no backend knows.
pub(super) async fn operator_command(turn: &Turn) -> HandlerResult {
    if turn.binding.is_some() {
        return staff::escalate(turn, staff::Reason::Requested, None).await;
    }
    person_for_lead(turn, None).await
}

/// Someone not identified asks for a person. Whoever shared their own number that no
/// backend knows (a lead) reaches staff, who see that number in full to call back (at most
/// once an hour); anyone else is asked for the number first, as nothing else lets staff
/// reach them.
async fn person_for_lead(turn: &Turn, text: Option<&str>) -> HandlerResult {
    let ctx = &turn.ctx;
    let Some(lead) = ctx.store.latest_lead(turn.user_id).await? else {
        return ask_contact(turn, "lead-operator-no-phone").await;
    };
    if ctx.settings.staff_chat_id.is_none() {
        let hours = ctx.settings.support_hours.clone();
        return turn.say(turn.t("operator", &[("hours", Arg::from(hours))])).await.map(drop);
    }
    let now = ctx.clock.now();
    turn.log_request("operator", true);
    if !ctx.store.record_alert(turn.user_id, "lead.operator", now, chrono::Duration::hours(1)).await? {
        return turn.say(turn.t("lead-operator-already", &[])).await.map(drop);
    }
    turn.audit("lead.operator", None).await?;
    let words = text.map(|t| t.chars().take(500).collect::<String>()).unwrap_or_else(|| "/operator".to_owned());
    let args = [
        ("name", Arg::from(lead.first_name.as_str())),
        ("phone", Arg::from(lead.phone.as_str())),
        ("user", Arg::from(turn.user_id.to_string())),
        ("text", Arg::from(words)),
    ];
    let note = ctx.i18n.t(ctx.settings.default_locale, "staff-lead-operator", &args);
    if let Err(error) = staff::post_to_general(ctx, &turn.bot, note).await {
        tracing::warn!(%error, "could not tell the staff chat that an unidentified person asks for a person");
        let hours = ctx.settings.support_hours.clone();
        return turn.say(turn.t("operator", &[("hours", Arg::from(hours))])).await.map(drop);
    }
    turn.say(turn.t("lead-operator-sent", &[])).await.map(drop)
}

/// A command other than /start, /help, /privacy, /language and /forget before the contact.
pub(super) async fn ask_contact_first(turn: &Turn) -> HandlerResult {
    ask_contact(turn, "onboarding-ask-contact").await
}

/// A shared contact: accepted only from its owner, then matched in the CRM.
pub(super) async fn on_contact(turn: Turn, contact: Contact) -> HandlerResult {
    let (turn, contact) = (&turn, &contact);
    if !turn.has_consent {
        return ask_consent(turn).await;
    }
    if let Some(binding) = &turn.binding {
        let args = [("name", Arg::from(binding.first_name.as_str()))];
        turn.say_with(turn.t("already-bound", &args), main_menu(turn)).await?;
        return Ok(());
    }
    let own = contact.user_id.is_some_and(|id| id.0 as i64 == turn.user_id);
    if !own {
        let why = if contact.user_id.is_none() { "no_user_id" } else { "foreign" };
        tracing::warn!(chat = turn.chat.0, why, "refused a contact that is not the sender's own");
        turn.audit("contact.rejected", Some(why)).await?;
        return ask_contact(turn, "contact-not-own").await;
    }
    let Ok(phone) = Phone::parse(&contact.phone_number) else {
        turn.audit("contact.invalid", None).await?;
        return ask_contact(turn, "contact-invalid").await;
    };
    let crm = turn.ctx.adapters.crm.clone();
    match turn.call(crm.find_by_phone(&phone)).await? {
        Some(profile) => {
            let binding = Binding {
                telegram_user_id: turn.user_id,
                chat_id: turn.chat.0,
                customer_id: profile.id.clone(),
                phone,
                first_name: profile.first_name.clone(),
                bound_at: turn.ctx.clock.now(),
                time_zone: profile.time_zone,
            };
            // The newest proof of ownership wins: another account bound to this customer is
            // unbound by the store (its buttons go stale, its open case is detached).
            let displaced = turn.ctx.store.bind(&binding).await?;
            let bound = Turn { binding: Some(binding), ..turn.clone() };
            bound.audit("bind", None).await?;
            for old in &displaced {
                staff::account_replaced(&bound, old).await?;
            }
            bound.set_state(State::ready()).await?;
            let args = [("name", Arg::from(profile.first_name.as_str()))];
            bound.say_with(bound.t("identified", &args), KeyboardRemove::new()).await?;
            super::miniapp_menu_for_chat(&bound, bound.locale);
            bound.say_with(bound.t("menu-prompt", &[]), main_menu(&bound)).await?;
            super::loyalty::on_identified(&bound, &profile.id).await
        }
        None => {
            let lead = Lead {
                telegram_user_id: turn.user_id,
                phone: phone.clone(),
                first_name: contact.first_name.clone(),
                created_at: turn.ctx.clock.now(),
            };
            // Staff hear of a lead once a day per user and phone, however often it is shared.
            let notify = turn.ctx.store.record_lead(&lead, chrono::Duration::days(1)).await?;
            turn.audit("lead", None).await?;
            if notify {
                send_lead_to_crm(turn, &lead).await;
                notify_staff_of_lead(turn, &lead).await;
            }
            turn.say_with(turn.t("contact-not-found", &[]), KeyboardRemove::new()).await?;
            Ok(())
        }
    }
}

/// /logout: unbinds the account; the terms stay accepted.
pub(super) async fn logout(turn: &Turn) -> HandlerResult {
    if turn.binding.is_none() {
        return turn.say(turn.t("logout-not-bound", &[])).await.map(drop);
    }
    let case = staff::case_of_this_chat(turn).await?;
    turn.ctx.store.unbind(turn.user_id, turn.ctx.clock.now()).await?;
    turn.ctx.store.bump_epoch(turn.user_id).await?;
    turn.audit("unbind", None).await?;
    if let Some(case) = case {
        staff::customer_left(&turn.ctx, &turn.bot, &case, "support-left-logout").await?;
    }
    turn.set_state(State::AwaitingContact).await?;
    turn.say_with(turn.t("logout-done", &[]), KeyboardRemove::new()).await?;
    Ok(())
}

/// /forget: deletes what the bot keeps about this person (binding, consent, dialogue
/// state, chat history, notification choices); the business's own records are not the bot's
/// to delete.
pub(super) async fn forget(turn: &Turn) -> HandlerResult {
    let store = &turn.ctx.store;
    // The «/forget» itself goes with the rest of the history.
    turn.flush().await?;
    let case = staff::case_of_this_chat(turn).await?;
    store.forget(turn.user_id, turn.chat.0, turn.ctx.clock.now()).await?;
    crate::notify::forget_account(store, turn.user_id).await?;
    store.bump_epoch(turn.user_id).await?;
    if let Some(case) = case {
        staff::customer_left(&turn.ctx, &turn.bot, &case, "support-left-forget").await?;
    }
    turn.exit_dialogue().await?;
    // Sent without logging: the history was just deleted.
    turn.bot
        .send_message(turn.chat, turn.t("forget-done", &[]))
        .parse_mode(teloxide::types::ParseMode::Html)
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}

/// Gives the business's CRM the lead (it keeps one per phone). Best effort: the lead is in
/// the bot's own records and staff are told either way.
async fn send_lead_to_crm(turn: &Turn, lead: &Lead) {
    let crm = turn.ctx.adapters.crm.clone();
    let new = NewLead {
        phone: lead.phone.clone(),
        first_name: lead.first_name.clone(),
        telegram_user_id: lead.telegram_user_id,
        at: lead.created_at,
    };
    match crm.create_lead(&new).await {
        Ok(Some(id)) => tracing::info!(lead = %id, "the CRM has the lead"),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "could not give the CRM a lead; staff are told in the group"),
    }
}

/// Tells the staff chat, when one is configured, that someone unknown asked for access.
async fn notify_staff_of_lead(turn: &Turn, lead: &Lead) {
    if turn.ctx.settings.staff_chat_id.is_none() {
        return;
    }
    let locale = turn.ctx.settings.default_locale;
    let args = [
        ("name", Arg::from(lead.first_name.as_str())),
        // In full: the person shared it for staff to call back (never logged).
        ("phone", Arg::from(lead.phone.as_str())),
        ("user", Arg::from(turn.user_id.to_string())),
    ];
    let text = turn.ctx.i18n.t(locale, "staff-new-lead", &args);
    if let Err(e) = staff::post_to_general(&turn.ctx, &turn.bot, text).await {
        tracing::warn!(error = %e, "could not tell the staff chat about a lead");
    }
}

#[cfg(test)]
mod tests {
    use super::accepts_terms;

    #[test]
    fn typing_the_buttons_word_accepts_the_terms() {
        for yes in ["Принимаю", "принимаю!", " согласен.", "Согласна", "I agree", "i accept"]
        {
            assert!(accepts_terms(yes), "{yes}");
        }
        for no in ["нет", "не принимаю", "баланс", "", "agree?? no"] {
            assert!(!accepts_terms(no), "{no}");
        }
    }
}
