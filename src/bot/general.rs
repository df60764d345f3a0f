//! The small talk and the menu: greeting, help, the main menu, the language switch, privacy,
//! what the bot cannot do yet, and content it does not read. Its buttons: the main menu, the
//! language, «Согласен» and the answers to "did you mean…?".
//!
//! ```text
//! > привет
//! < Здравствуйте, Ерлан! Чем помочь?      [Баланс] [Где мой заказ] [Мои заказы] [Помощь]
//! > /language
//! < Выберите язык                          [Русский] [English]
//! ```

use teloxide::prelude::*;
use teloxide::types::InlineKeyboardMarkup;

use super::keyboards::{Callback, MenuItem, Press};
use super::support::{self, Reason};
use super::{
    HandlerResult, Turn, account, booking, documents, loyalty, onboarding, orders, payments, shop, subscription,
    understanding,
};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::Entities;

/// The incoming text, kept in the chat history once the terms are accepted.
pub(super) async fn log_incoming(turn: Turn, text: String) -> HandlerResult {
    if turn.has_consent {
        turn.ctx.store.log_message(turn.chat.0, "in", &text, turn.ctx.clock.now()).await?;
    }
    Ok(())
}

/// Every button this bot issues.
pub(super) fn buttons() -> teloxide::dispatching::UpdateHandler<BotError> {
    dptree::filter_map(|press: Press| match press {
        Press::Signed(payload) => Callback::decode_payload(&payload),
        Press::Refused(_) => None,
    })
    .endpoint(|turn: Turn, q: CallbackQuery, message: Message, callback: Callback| async move {
        on_button(&turn, &q, &message, callback).await
    })
}

async fn on_button(turn: &Turn, q: &CallbackQuery, message: &Message, callback: Callback) -> HandlerResult {
    let needs_binding = !matches!(callback, Callback::Consent | Callback::Language(_));
    if needs_binding && turn.binding.is_none() {
        return super::keyboards::inactive(turn, q).await;
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
        Callback::Intent(intent) => understanding::chosen(turn, intent).await,
    }
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

pub(super) async fn help(turn: &Turn) -> HandlerResult {
    let text = turn.t("help", &[]);
    if turn.binding.is_some() {
        turn.say_with(text, main_menu(turn)).await?;
    } else {
        turn.say(text).await?;
    }
    Ok(())
}

pub(super) async fn not_yet(turn: &Turn) -> HandlerResult {
    turn.say_with(turn.t("not-yet", &[]), main_menu(turn)).await?;
    Ok(())
}

pub(super) async fn privacy(turn: &Turn) -> HandlerResult {
    let args = [
        ("url", Arg::from(turn.ctx.settings.privacy_url.as_str())),
        ("version", Arg::from(turn.ctx.settings.terms_version.as_str())),
    ];
    turn.say(turn.t("privacy", &args)).await?;
    Ok(())
}

pub(super) async fn language_menu(turn: &Turn) -> HandlerResult {
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

/// Stickers, photos, voice and the like.
pub(super) async fn unsupported_content(turn: &Turn) -> HandlerResult {
    turn.say(turn.t("unsupported-content", &[])).await?;
    if !turn.has_consent {
        return onboarding::ask_consent(turn).await;
    }
    Ok(())
}
