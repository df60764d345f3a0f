//! Free text, understood: a complaint goes to a person; otherwise the recogniser's intent is
//! acted on when it is clear, the language-model fallback is asked when it is not, and an
//! unclear message gets «Вы имели в виду…?» with a button per likely intent (twice not
//! understood: an apology and «Позвать человека», which opens a case only when pressed). A
//! message finally not understood is counted for `/stats`; [`answerable`] tells which
//! messages the bot answers itself while a case with staff is open. Also what the waiting questions need to tell an answer from a
//! customer moving on ([`moves_on`], [`is_cancel`]).
//!
//! ```text
//! > где мой заказ?
//! < Заказ №78234 от 10 января — в пути …
//! > расскажи анекдот
//! < Я не совсем понял. Вот что я умею: …  (the main menu)
//! ```

use super::general::GeneralButton;
use super::general::{self, main_menu};
use super::staff::{self, Reason};
use super::state::State;
use super::{
    HandlerResult, Turn, account, booking, documents, loyalty, notifications, orders, payments, shop, subscription,
};
use crate::error::BotError;
use crate::nlu::llm::LlmAnswer;
use crate::nlu::{Classification, Entities, Intent};

/// The longest message the bot reads (Telegram's own limit for a text message).
const MAX_TEXT_CHARS: usize = 4096;

/// How many misunderstandings in a row make the bot offer a person.
const MISUNDERSTANDINGS_BEFORE_OPERATOR: u8 = 2;

/// Longer than the bot reads.
pub(super) fn too_long(text: String) -> bool {
    text.chars().count() > MAX_TEXT_CHARS
}

pub(super) async fn say_too_long(turn: &Turn) -> HandlerResult {
    turn.say(turn.t("error-too-long", &[])).await.map(drop)
}

/// A message of an identified customer that answers no question of the bot's.
pub(super) async fn understand(turn: Turn, text: String) -> HandlerResult {
    let (turn, text) = (&turn, text.as_str());
    // A complaint goes to a person, whatever else it asks.
    if turn.ctx.support.rules.priority_of(text).is_some() {
        turn.set_state(State::ready()).await?;
        return staff::escalate(turn, Reason::Complaint, Some(text)).await;
    }
    let result = classify(turn, text);
    tracing::debug!(chat = turn.chat.0, intent = result.intent.as_str(), confidence = result.confidence, "free text");
    if is_clear(&result) {
        return act_on_text(turn, result.intent, result.entities, text).await;
    }
    if let Some(answer) = ask_llm(turn, text).await {
        return act_on_text(turn, answer.intent, answer.entities, text).await;
    }
    // "Did you mean…?" offers only what the business has.
    let capabilities = turn.ctx.settings.capabilities;
    let options: Vec<Intent> =
        clarification_options(&result).into_iter().filter(|intent| capabilities.serves(*intent)).collect();
    if options.is_empty() {
        count_unrecognised(turn, text).await;
        return misunderstood(turn).await;
    }
    clarify(turn, &options, result.entities).await
}

/// The intent of a message the bot answers itself even while a case with staff is open: a
/// clear request the bot serves (the balance, orders, documents, booking, …) — not a request
/// for a person, a complaint, a greeting or thanks, or anything unclear (those go to staff).
pub(crate) fn answerable(turn: &Turn, text: &str) -> Option<Intent> {
    if text.chars().count() > MAX_TEXT_CHARS || turn.ctx.support.rules.priority_of(text).is_some() {
        return None;
    }
    let result = classify(turn, text);
    let served = is_clear(&result) && turn.ctx.settings.capabilities.serves(result.intent);
    // A question about the business is answered when the business wrote the answer.
    let answered = result.intent != Intent::Faq
        || result.entities.faq.as_deref().is_some_and(|key| turn.ctx.nlu.faq_answer(key, turn.locale).is_some());
    (served && answered && bot_serves(result.intent)).then_some(result.intent)
}

/// Whether the message clearly asks for a person («позовите оператора»).
pub(super) fn asks_for_person(turn: &Turn, text: &str) -> bool {
    let result = classify(turn, text);
    is_clear(&result) && result.intent == Intent::Operator
}

/// Whether the bot itself serves what `intent` asks for (rather than a person).
fn bot_serves(intent: Intent) -> bool {
    !matches!(intent, Intent::Operator | Intent::OrderCancel | Intent::Greeting | Intent::Thanks | Intent::Unknown)
}

/// How long the counts of unrecognised messages are kept, in days.
const UNRECOGNISED_KEEP_DAYS: i64 = 35;

/// Counts a message the bot finally could not understand, for `/stats` (best effort: the
/// customer's answer does not wait on it).
async fn count_unrecognised(turn: &Turn, text: &str) {
    let today = turn.ctx.local_now().date();
    let keep_from = today - chrono::Duration::days(UNRECOGNISED_KEEP_DAYS);
    if let Err(error) = turn.ctx.store.count_unrecognised(today, text, keep_from).await {
        tracing::warn!(%error, "could not count an unrecognised message");
    }
}

/// The recogniser's reading of `text`, now, in the customer's language.
pub(super) fn classify(turn: &Turn, text: &str) -> Classification {
    turn.ctx.nlu.classify(text, turn.ctx.local_now(), Some(turn.locale))
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
        return offer_person(turn, count).await;
    }
    let pending = (entities != Entities::default()).then_some(entities);
    turn.set_state(State::Ready { misunderstood: count, pending, draft: None }).await?;
    let rows = options
        .iter()
        .map(|intent| {
            vec![(
                turn.t(&format!("intent-{}", intent.as_str().replace('_', "-")), &[]),
                GeneralButton::Intent(*intent),
            )]
        })
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
pub(super) fn moves_on(result: &Classification, asked_for: Intent) -> bool {
    is_clear(result) && !matches!(result.intent, Intent::Greeting | Intent::Thanks) && result.intent != asked_for
}

/// «отмена», "cancel", «не надо».
pub(super) fn is_cancel(text: &str) -> bool {
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
    // A capability the business lacks: said politely, its system never asked.
    metrics::counter!("cabinet_intents_total", "intent" => intent.as_str()).increment(1);
    if !turn.ctx.settings.capabilities.serves(intent) {
        return general::absent(turn).await;
    }
    if intent != Intent::Operator {
        turn.log_request(intent.as_str(), false);
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
        Intent::Greeting => general::greeting(turn).await,
        Intent::Help => general::help(turn).await,
        Intent::Thanks => turn.say(turn.t("thanks-reply", &[])).await.map(drop),
        Intent::Privacy => general::privacy(turn).await,
        Intent::Language => general::language_menu(turn).await,
        Intent::Operator => {
            let complaint = text.is_some_and(|t| turn.ctx.support.rules.priority_of(t).is_some());
            staff::escalate(turn, if complaint { Reason::Complaint } else { Reason::Requested }, text).await
        }
        Intent::Booking => booking::start(turn, &entities).await,
        Intent::BookingList => booking::list(turn).await,
        Intent::BookingReschedule => booking::reschedule(turn, &entities).await,
        Intent::BookingCancel => booking::cancel_request(turn).await,
        Intent::Notifications => notifications::settings(turn).await,
        Intent::OrderCancel => orders::cancel_request(turn, entities.order_id.as_deref()).await,
        Intent::Faq => match entities.faq.as_deref().and_then(|key| turn.ctx.nlu.faq_answer(key, turn.locale)) {
            Some(answer) => general::faq(turn, answer).await,
            None => misunderstood(turn).await,
        },
        Intent::Unknown => misunderstood(turn).await,
    }
}

/// "Did you mean…?" answered: the intent, with what the unclear message named.
pub(super) async fn chosen(turn: &Turn, intent: Intent) -> HandlerResult {
    let pending = match turn.state().await? {
        State::Ready { pending, .. } => pending.unwrap_or_default(),
        _ => Entities::default(),
    };
    act(turn, intent, pending).await
}

async fn misunderstood(turn: &Turn) -> HandlerResult {
    let count = misunderstandings(turn).await?.saturating_add(1);
    if count >= MISUNDERSTANDINGS_BEFORE_OPERATOR {
        return offer_person(turn, count).await;
    }
    turn.set_state(State::Ready { misunderstood: count, pending: None, draft: None }).await?;
    turn.say_with(turn.t("unknown", &[]), main_menu(turn)).await?;
    Ok(())
}

/// Misunderstood again: an apology, «Позвать человека» (which opens a case only when
/// pressed) and the menu. Nothing goes to staff without the customer asking.
async fn offer_person(turn: &Turn, count: u8) -> HandlerResult {
    turn.set_state(State::Ready { misunderstood: count, pending: None, draft: None }).await?;
    let person = turn.buttons().button(turn.t("support-person-button", &[]), staff::StaffButton::Person);
    let menu = main_menu(turn);
    let rows = std::iter::once(vec![person]).chain(menu.inline_keyboard);
    let markup = teloxide::types::InlineKeyboardMarkup::new(rows);
    turn.say_with(turn.t("support-offer-person", &[]), markup).await?;
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
