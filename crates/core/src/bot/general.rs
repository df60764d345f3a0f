//! Routing of commands, free text and buttons, and the small talk: greeting, help, thanks,
//! the main menu, the language switch, privacy, and what the bot cannot do yet.
//!
//! ```text
//! > привет
//! < Здравствуйте, Ерлан! Чем помочь?      [Баланс] [Где мой заказ] [Мои заказы] [Помощь]
//! > расскажи анекдот
//! < Я не совсем понял. Вот что я умею: …  (the main menu)
//! > /language
//! < Выберите язык                          [Русский] [English]
//! ```

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, KeyboardRemove};

use super::commands::Command;
use super::keyboards::{Callback, CallbackError, MenuItem};
use super::state::State;
use super::support::{self, Reason};
use super::{HandlerResult, Turn, account, booking, documents, loyalty, onboarding, orders, payments, shop, subscription};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::llm::LlmAnswer;
use crate::nlu::{Classification, Entities, Intent};

/// The longest message the bot reads (Telegram's own limit for a text message).
const MAX_TEXT_CHARS: usize = 4096;

/// How many misunderstandings in a row make the bot offer a person.
const MISUNDERSTANDINGS_BEFORE_OPERATOR: u8 = 2;

pub(super) async fn on_command(turn: &Turn, command: Command) -> HandlerResult {
    // A referral link's code waits for the newcomer's identification.
    if let Command::Start(parameter) = &command {
        loyalty::remember_referral(turn, parameter).await?;
    }
    // What needs no consent and no identification.
    match command {
        Command::Privacy => return privacy(turn).await,
        Command::Language => return language_menu(turn).await,
        Command::Help => return help(turn).await,
        Command::Forget => return forget(turn).await,
        _ => {}
    }
    if !turn.has_consent {
        return onboarding::ask_consent(turn).await;
    }
    if command == Command::Logout {
        return logout(turn).await;
    }
    if turn.binding.is_none() {
        return onboarding::ask_contact(turn, "onboarding-ask-contact").await;
    }
    match command {
        Command::Start(_) | Command::Menu => greeting(turn).await,
        Command::Balance => account::balance(turn).await,
        Command::Status => orders::active(turn).await,
        Command::Orders => orders::history(turn, 0, None).await,
        Command::Privacy | Command::Language | Command::Help | Command::Forget | Command::Logout => Ok(()),
    }
}

pub(super) async fn on_text(turn: &Turn, text: &str) -> HandlerResult {
    if !turn.has_consent {
        return onboarding::ask_consent(turn).await;
    }
    if turn.binding.is_none() {
        return onboarding::on_text_before_contact(turn, text).await;
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return turn.say(turn.t("error-too-long", &[])).await.map(drop);
    }
    // A question the bot asked: the amount of a top-up, a one-time code.
    match turn.state().await? {
        State::AwaitingTopUpAmount => {
            if is_cancel(text) {
                turn.set_state(State::ready()).await?;
                return turn.say(turn.t("top-up-cancelled", &[])).await.map(drop);
            }
            if payments::on_amount_text(turn, text).await? {
                return Ok(());
            }
            let result = turn.ctx.nlu.classify(text, turn.ctx.local_now(), Some(turn.locale));
            if !moves_on(&result, Intent::TopUp) {
                return turn.say(turn.t("top-up-not-a-number", &[])).await.map(drop);
            }
        }
        State::AwaitingCode { key, change } => {
            if is_cancel(text) {
                return subscription::cancel(turn).await;
            }
            if subscription::on_code_text(turn, text, &key, &change).await? {
                return Ok(());
            }
            let result = turn.ctx.nlu.classify(text, turn.ctx.local_now(), Some(turn.locale));
            if !moves_on(&result, Intent::Subscription) {
                return turn.say(turn.t("otp-remind", &[])).await.map(drop);
            }
            super::stepup::discard(turn).await?;
        }
        State::ChoosingTime { service, staff, moving } => {
            if is_cancel(text) {
                return booking::keep(turn).await;
            }
            let result = turn.ctx.nlu.classify(text, turn.ctx.local_now(), Some(turn.locale));
            let other_request = moves_on(&result, Intent::Booking)
                && !matches!(result.intent, Intent::BookingReschedule | Intent::Unknown);
            if !other_request
                && booking::on_time_text(turn, &result.entities, &service, staff.as_deref(), moving.as_deref()).await?
            {
                return Ok(());
            }
            if !other_request {
                return turn.say(turn.t("booking-time-not-understood", &[])).await.map(drop);
            }
        }
        _ => {}
    }
    // A complaint goes to a person, whatever else it asks.
    if turn.ctx.support.rules.priority_of(text).is_some() {
        turn.set_state(State::ready()).await?;
        return support::escalate(turn, Reason::Complaint, Some(text)).await;
    }
    let result = turn.ctx.nlu.classify(text, turn.ctx.local_now(), Some(turn.locale));
    tracing::debug!(chat = turn.chat.0, intent = result.intent.as_str(), confidence = result.confidence, "free text");
    if is_clear(&result) {
        return act_on_text(turn, result.intent, result.entities, text).await;
    }
    if let Some(answer) = ask_llm(turn, text).await {
        return act_on_text(turn, answer.intent, answer.entities, text).await;
    }
    let options = clarification_options(&result);
    if options.is_empty() {
        return misunderstood(turn).await;
    }
    clarify(turn, &options, result.entities).await
}

/// The language-model fallback's reading of an unclear message, when it is configured and
/// names an intent; its failures only cost the customer a "did you mean…?".
async fn ask_llm(turn: &Turn, text: &str) -> Option<LlmAnswer> {
    let llm = turn.ctx.llm.as_ref()?;
    match llm.classify(text, turn.ctx.local_now(), turn.locale).await {
        Ok(Some(answer)) if answer.intent != Intent::Unknown => {
            tracing::debug!(chat = turn.chat.0, intent = answer.intent.as_str(), "understood by the fallback");
            Some(answer)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(chat = turn.chat.0, %error, "the language-model fallback failed");
            None
        }
    }
}

/// Below this confidence the bot does not guess: it asks.
const ACT_CONFIDENCE: f32 = 0.5;
/// An alternative this close to the best intent (as a share of its confidence) makes the
/// message ambiguous.
const NEAR_TIE: f32 = 0.8;
/// An alternative at least this likely is worth offering in "did you mean…?".
const OFFER_CONFIDENCE: f32 = 0.35;
/// How many intents "did you mean…?" offers.
const MAX_OPTIONS: usize = 3;

/// Understood well enough to act on: a known intent, confident, with no close rival.
fn is_clear(result: &Classification) -> bool {
    result.intent != Intent::Unknown
        && result.confidence >= ACT_CONFIDENCE
        && result.alternatives.iter().all(|(_, score)| *score < NEAR_TIE * result.confidence)
}

/// The likeliest intents of an unclear message, best first.
fn clarification_options(result: &Classification) -> Vec<Intent> {
    let best = (result.intent != Intent::Unknown).then_some(result.intent);
    best.into_iter()
        .chain(result.alternatives.iter().filter(|(_, score)| *score >= OFFER_CONFIDENCE).map(|(intent, _)| *intent))
        .filter(|intent| *intent != Intent::Unknown)
        .take(MAX_OPTIONS)
        .collect()
}

/// "Вы имели в виду…?" with a button per likely intent; what the message named waits in
/// the dialogue state for the answer.
async fn clarify(turn: &Turn, options: &[Intent], entities: Entities) -> HandlerResult {
    let count = misunderstandings(turn).await?.saturating_add(1);
    if count >= MISUNDERSTANDINGS_BEFORE_OPERATOR {
        turn.set_state(State::ready()).await?;
        return support::escalate(turn, Reason::Misunderstood, None).await;
    }
    let pending = (entities != Entities::default()).then_some(entities);
    turn.set_state(State::Ready { misunderstood: count, pending, draft: None }).await?;
    let rows = options
        .iter()
        .map(|intent| vec![(turn.t(&format!("intent-{}", intent.as_str().replace('_', "-")), &[]), Callback::Intent(*intent))])
        .collect();
    turn.say_with(turn.t("clarify", &[]), turn.buttons().markup(rows)).await?;
    Ok(())
}

async fn misunderstandings(turn: &Turn) -> Result<u8, BotError> {
    Ok(match turn.state().await? {
        State::Ready { misunderstood, .. } => misunderstood,
        _ => 0,
    })
}

/// Whether a message sent while the bot waits for an answer (an amount, a code) asks for
/// something else clearly enough to leave the question; a greeting or a thank-you does not.
fn moves_on(result: &Classification, asked_for: Intent) -> bool {
    is_clear(result) && !matches!(result.intent, Intent::Greeting | Intent::Thanks) && result.intent != asked_for
}

/// «отмена», "cancel", «не надо».
fn is_cancel(text: &str) -> bool {
    let t = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    matches!(t.as_str(), "отмена" | "отменить" | "не надо" | "стоп" | "cancel" | "stop" | "never mind" | "/cancel")
}

/// Does what an understood message asks.
async fn act(turn: &Turn, intent: Intent, entities: Entities) -> HandlerResult {
    act_with(turn, intent, entities, None).await
}

async fn act_on_text(turn: &Turn, intent: Intent, entities: Entities, text: &str) -> HandlerResult {
    act_with(turn, intent, entities, Some(text)).await
}

async fn act_with(turn: &Turn, intent: Intent, entities: Entities, text: Option<&str>) -> HandlerResult {
    if turn.state().await? != State::ready() {
        turn.set_state(State::ready()).await?;
    }
    if intent != Intent::Operator {
        turn.ctx.store.log_request(turn.ctx.clock.now(), turn.user_id, intent.as_str(), false).await?;
    }
    match intent {
        Intent::Balance => account::balance(turn).await,
        Intent::Bonuses => loyalty::bonuses(turn).await,
        Intent::TopUp => payments::start(turn, text).await,
        Intent::Documents => documents::find(turn, &entities).await,
        Intent::RepeatOrder => shop::repeat_last(turn).await,
        Intent::Subscription => subscription::start(turn, &entities, text).await,
        Intent::Offers => loyalty::offers(turn).await,
        Intent::Referral => loyalty::referral(turn).await,
        Intent::OrderStatus => match entities.order_id {
            Some(number) => orders::one(turn, &number).await,
            None => orders::active(turn).await,
        },
        Intent::OrderHistory => orders::history(turn, 0, None).await,
        Intent::Greeting => greeting(turn).await,
        Intent::Help => help(turn).await,
        Intent::Thanks => turn.say(turn.t("thanks-reply", &[])).await.map(drop),
        Intent::Privacy => privacy(turn).await,
        Intent::Language => language_menu(turn).await,
        Intent::Operator => {
            let complaint = text.is_some_and(|t| turn.ctx.support.rules.priority_of(t).is_some());
            support::escalate(turn, if complaint { Reason::Complaint } else { Reason::Requested }, text).await
        }
        Intent::Booking => booking::start(turn, &entities).await,
        Intent::BookingList => booking::list(turn).await,
        Intent::BookingReschedule => booking::reschedule(turn, &entities).await,
        Intent::BookingCancel => booking::cancel_request(turn).await,
        Intent::Notifications => not_yet(turn).await,
        Intent::Unknown => misunderstood(turn).await,
    }
}

/// "Did you mean…?" answered: the intent, with what the unclear message named.
async fn chosen(turn: &Turn, intent: Intent) -> HandlerResult {
    let pending = match turn.state().await? {
        State::Ready { pending, .. } => pending.unwrap_or_default(),
        _ => Entities::default(),
    };
    act(turn, intent, pending).await
}

pub(super) async fn on_button(turn: &Turn, q: &CallbackQuery, message: &Message) -> HandlerResult {
    let data = q.data.as_deref().unwrap_or_default();
    let callback = match turn.ctx.codec.decode(data, turn.user.epoch, turn.user_id) {
        Ok(callback) => callback,
        Err(error) => {
            tracing::info!(chat = turn.chat.0, ?error, "refused button data");
            if error == CallbackError::Forged {
                turn.audit("callback.forged", None).await?;
            }
            return inactive_button(turn, q).await;
        }
    };
    let needs_binding = !matches!(callback, Callback::Consent | Callback::Language(_));
    if needs_binding && turn.binding.is_none() {
        return inactive_button(turn, q).await;
    }
    super::answer_button(&turn.bot, q, None).await;
    match callback {
        Callback::Consent => onboarding::on_consent(turn).await,
        Callback::Language(locale) => switch_language(turn, locale).await,
        Callback::Menu(MenuItem::Balance) => account::balance(turn).await,
        Callback::Menu(MenuItem::OrderStatus) => orders::active(turn).await,
        Callback::Menu(MenuItem::OrderHistory) => orders::history(turn, 0, None).await,
        Callback::Menu(MenuItem::Help) => help(turn).await,
        Callback::Menu(MenuItem::Documents) => documents::find(turn, &Entities::default()).await,
        Callback::Menu(MenuItem::Subscription) => subscription::overview(turn).await,
        Callback::TopUp => payments::ask_amount(turn).await,
        Callback::TopUpAmount(amount) => payments::pay(turn, rust_decimal::Decimal::from(amount)).await,
        Callback::Document(id) => documents::by_id(turn, &id).await,
        Callback::OrderDocuments(number) => documents::of_order(turn, &number).await,
        Callback::RepeatOrder(number) => shop::repeat_number(turn, &number).await,
        Callback::OfferOrder(sku) => shop::order_offer(turn, &sku).await,
        Callback::ConfirmOrder(key) => shop::confirm(turn, &key).await,
        Callback::CancelOrder => shop::cancel(turn).await,
        Callback::Subscription(menu) => subscription::menu(turn, menu).await,
        Callback::ChooseTariff(code) => subscription::quote(turn, crate::adapters::SubscriptionChange::Tariff(code)).await,
        Callback::AddOption(code) => subscription::quote(turn, crate::adapters::SubscriptionChange::AddOption(code)).await,
        Callback::RemoveOption(code) => {
            subscription::quote(turn, crate::adapters::SubscriptionChange::RemoveOption(code)).await
        }
        Callback::ConfirmChange(key) => subscription::confirm(turn, &key).await,
        Callback::CancelChange => subscription::cancel(turn).await,
        Callback::ResendCode => subscription::resend(turn).await,
        Callback::BookService { service, staff } => booking::service_chosen(turn, &service, staff.as_deref()).await,
        Callback::BookSlot { service, staff, at } => booking::slot_chosen(turn, &service, &staff, at).await,
        Callback::ConfirmBooking(key) => booking::confirm(turn, &key).await,
        Callback::CancelBookingDraft | Callback::KeepBooking => booking::keep(turn).await,
        Callback::MoveBooking(id) => booking::move_pressed(turn, &id).await,
        Callback::MoveSlot { booking: id, staff, at } => booking::move_slot_chosen(turn, &id, &staff, at).await,
        Callback::AskCancelBooking(id) => booking::ask_cancel(turn, &id).await,
        Callback::ConfirmCancelBooking(id) => booking::cancel_confirmed(turn, &id).await,
        Callback::ReminderConfirm(id) => booking::reminder_confirmed(turn, &id).await,
        Callback::MyBookings => booking::list(turn).await,
        Callback::Operator => support::escalate(turn, Reason::Requested, None).await,
        Callback::Rate { case, rating } => support::rate(turn, case, rating).await,
        Callback::Referral => loyalty::referral(turn).await,
        Callback::Offers => loyalty::offers(turn).await,
        Callback::OrdersPage(page) => orders::history(turn, page, Some(message.id)).await,
        Callback::Order(number) => orders::details(turn, &number).await,
        Callback::OrderMap(number) => orders::map(turn, &number).await,
        Callback::Intent(intent) => chosen(turn, intent).await,
    }
}

async fn inactive_button(turn: &Turn, q: &CallbackQuery) -> HandlerResult {
    super::answer_button(&turn.bot, q, Some(turn.t("button-inactive", &[]))).await;
    Ok(())
}

/// The main menu as an inline keyboard.
pub(super) fn main_menu(turn: &Turn) -> InlineKeyboardMarkup {
    turn.buttons().markup(vec![
        vec![
            (turn.t("menu-balance", &[]), Callback::Menu(MenuItem::Balance)),
            (turn.t("menu-order-status", &[]), Callback::Menu(MenuItem::OrderStatus)),
        ],
        vec![
            (turn.t("menu-order-history", &[]), Callback::Menu(MenuItem::OrderHistory)),
            (turn.t("menu-documents", &[]), Callback::Menu(MenuItem::Documents)),
        ],
        vec![
            (turn.t("menu-subscription", &[]), Callback::Menu(MenuItem::Subscription)),
            (turn.t("menu-help", &[]), Callback::Menu(MenuItem::Help)),
        ],
    ])
}

/// «Здравствуйте, Ерлан!» with the main menu.
pub(super) async fn greeting(turn: &Turn) -> HandlerResult {
    let name = turn.binding.as_ref().map_or(turn.first_name.as_str(), |b| b.first_name.as_str());
    turn.say_with(turn.t("greeting", &[("name", Arg::from(name))]), main_menu(turn)).await?;
    Ok(())
}

async fn help(turn: &Turn) -> HandlerResult {
    let text = turn.t("help", &[]);
    if turn.binding.is_some() {
        turn.say_with(text, main_menu(turn)).await?;
    } else {
        turn.say(text).await?;
    }
    Ok(())
}

async fn misunderstood(turn: &Turn) -> HandlerResult {
    let count = misunderstandings(turn).await?.saturating_add(1);
    if count >= MISUNDERSTANDINGS_BEFORE_OPERATOR {
        turn.set_state(State::ready()).await?;
        return support::escalate(turn, Reason::Misunderstood, None).await;
    }
    turn.set_state(State::Ready { misunderstood: count, pending: None, draft: None }).await?;
    turn.say_with(turn.t("unknown", &[]), main_menu(turn)).await?;
    Ok(())
}

async fn not_yet(turn: &Turn) -> HandlerResult {
    turn.say_with(turn.t("not-yet", &[]), main_menu(turn)).await?;
    Ok(())
}

async fn privacy(turn: &Turn) -> HandlerResult {
    let args = [
        ("url", Arg::from(turn.ctx.settings.privacy_url.as_str())),
        ("version", Arg::from(turn.ctx.settings.terms_version.as_str())),
    ];
    turn.say(turn.t("privacy", &args)).await?;
    Ok(())
}

async fn language_menu(turn: &Turn) -> HandlerResult {
    let markup = turn.buttons().markup(vec![vec![
        (turn.t("language-ru", &[]), Callback::Language(Locale::Ru)),
        (turn.t("language-en", &[]), Callback::Language(Locale::En)),
    ]]);
    turn.say_with(turn.t("language-choose", &[]), markup).await?;
    Ok(())
}

async fn switch_language(turn: &Turn, locale: Locale) -> HandlerResult {
    turn.ctx.store.set_user_locale(turn.user_id, Some(locale)).await?;
    let text = turn.ctx.i18n.t(locale, "language-switched", &[]);
    turn.say(text).await?;
    Ok(())
}

/// /logout: unbinds the account; the terms stay accepted.
async fn logout(turn: &Turn) -> HandlerResult {
    if turn.binding.is_none() {
        return turn.say(turn.t("logout-not-bound", &[])).await.map(drop);
    }
    let case = support::case_of_this_chat(turn).await?;
    turn.ctx.store.unbind(turn.user_id, turn.ctx.clock.now()).await?;
    turn.ctx.store.bump_epoch(turn.user_id).await?;
    turn.audit("unbind", None).await?;
    if let Some(case) = case {
        support::customer_left(&turn.ctx, &turn.bot, &case, "support-left-logout").await?;
    }
    turn.set_state(State::AwaitingContact).await?;
    turn.say_with(turn.t("logout-done", &[]), KeyboardRemove::new()).await?;
    Ok(())
}

/// /forget: deletes what the bot keeps about this person (binding, consent, dialogue
/// state, chat history); the business's own records are not the bot's to delete.
async fn forget(turn: &Turn) -> HandlerResult {
    let store = &turn.ctx.store;
    let case = support::case_of_this_chat(turn).await?;
    store.forget(turn.user_id, turn.chat.0, turn.ctx.clock.now()).await?;
    store.bump_epoch(turn.user_id).await?;
    if let Some(case) = case {
        support::customer_left(&turn.ctx, &turn.bot, &case, "support-left-forget").await?;
    }
    turn.dialogue.exit().await.map_err(BotError::State)?;
    // Sent without logging: the history was just deleted.
    turn.bot
        .send_message(turn.chat, turn.t("forget-done", &[]))
        .parse_mode(teloxide::types::ParseMode::Html)
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}

/// Stickers, photos, voice and the like.
pub(super) async fn unsupported_content(turn: &Turn) -> HandlerResult {
    turn.say(turn.t("unsupported-content", &[])).await?;
    if !turn.has_consent {
        return onboarding::ask_consent(turn).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;

    fn result(intent: Intent, confidence: f32, alternatives: Vec<(Intent, f32)>) -> Classification {
        Classification { intent, entities: Entities::default(), confidence, alternatives, locale: Locale::Ru }
    }

    #[test]
    fn a_confident_intent_without_a_close_rival_is_acted_on() {
        assert!(is_clear(&result(Intent::Balance, 0.95, vec![(Intent::Bonuses, 0.3)])));
    }

    #[test]
    fn a_near_tie_or_low_confidence_is_asked_about() {
        let tie = result(Intent::Balance, 0.65, vec![(Intent::OrderStatus, 0.55), (Intent::OrderHistory, 0.36)]);
        assert!(!is_clear(&tie));
        assert_eq!(clarification_options(&tie), vec![Intent::Balance, Intent::OrderStatus, Intent::OrderHistory]);
        assert!(!is_clear(&result(Intent::Balance, 0.4, vec![])));
    }

    #[test]
    fn unknown_offers_only_likely_alternatives() {
        let unknown = result(Intent::Unknown, 0.6, vec![(Intent::Balance, 0.41), (Intent::Offers, 0.1)]);
        assert!(!is_clear(&unknown));
        assert_eq!(clarification_options(&unknown), vec![Intent::Balance]);
        assert!(clarification_options(&result(Intent::Unknown, 1.0, vec![])).is_empty());
    }
}
