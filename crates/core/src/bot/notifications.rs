//! What notifications a customer receives: `/notifications` (and "turn off notifications" in
//! words) shows one toggle per category; a press turns it on or off and the keyboard shows
//! the new state. Also the buttons notifications carry ([`keyboard`]).
//!
//! ```text
//! > /notifications
//! < 🔔 Уведомления: …        [Заказы ✅] [Платежи ✅] [Записи ✅] [Новости ❌] [Сервис ✅]
//! ```

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::InlineKeyboardMarkup;

use super::booking::BookingButton;
use super::keyboards::{ButtonKind, Buttons, Payload, pressed, tag_and_arg};
use super::orders::OrderButton;
use super::payments::PaymentButton;
use super::{Ctx, HandlerResult, Turn};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::notify::{self, Category, Message};

/// The settings' buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NotifyButton {
    /// Turn a category on or off.
    Toggle(Category),
}

impl ButtonKind for NotifyButton {
    const TAGS: &'static [&'static str] = &["nt"];

    fn encode(&self) -> String {
        match self {
            NotifyButton::Toggle(category) => format!("nt:{}", category.as_str()),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        match tag_and_arg(payload) {
            ("nt", name) => Category::parse(name).map(NotifyButton::Toggle),
            _ => None,
        }
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<NotifyButton>().endpoint(on_button)
}

async fn on_button(turn: Turn, button: NotifyButton, q: CallbackQuery) -> HandlerResult {
    let NotifyButton::Toggle(category) = button;
    let store = &turn.ctx.store;
    let on = notify::preferences(store, turn.user_id).await?.wants(category);
    notify::set_preference(store, turn.user_id, category, !on, turn.ctx.clock.now()).await?;
    let markup = settings_keyboard(&turn).await?;
    match q.regular_message() {
        Some(message) => turn.edit(message.id, turn.t("notifications-title", &[]), markup).await,
        None => {
            turn.say_with(turn.t("notifications-title", &[]), markup).await?;
            Ok(())
        }
    }
}

/// `/notifications`: the categories with their state, each a toggle.
pub(super) async fn settings(turn: &Turn) -> HandlerResult {
    let markup = settings_keyboard(turn).await?;
    turn.say_with(turn.t("notifications-title", &[]), markup).await?;
    Ok(())
}

async fn settings_keyboard(turn: &Turn) -> Result<InlineKeyboardMarkup, BotError> {
    let preferences = notify::preferences(&turn.ctx.store, turn.user_id).await?;
    let buttons: Vec<(String, NotifyButton)> = preferences
        .categories
        .iter()
        .map(|(category, on)| {
            let name = turn.t(&format!("notifications-category-{}", category.as_str()), &[]);
            let key = if *on { "notifications-on" } else { "notifications-off" };
            (turn.t(key, &[("category", Arg::from(name))]), NotifyButton::Toggle(*category))
        })
        .collect();
    Ok(turn.buttons().markup(buttons.chunks(2).map(<[_]>::to_vec).collect()))
}

/// The buttons a notification carries, for the customer `buttons` signs for: «Пополнить» on
/// a payment due or a low balance, «Где заказ» on an order's news; none when the business
/// lacks the capability they lead to.
pub(crate) fn keyboard(
    ctx: &Ctx,
    locale: Locale,
    buttons: &Buttons<'_>,
    message: &Message,
    located: bool,
) -> Option<InlineKeyboardMarkup> {
    let t = |key: &str| ctx.i18n.t(locale, key, &[]);
    let (row, needs): (Vec<(String, Payload)>, &[super::Capability]) = match message {
        Message::PaymentDue { .. } | Message::LowBalance { .. } => {
            (vec![(t("notify-button-top-up"), PaymentButton::TopUp.into())], PaymentButton::TopUp.needs())
        }
        Message::OrderUpdate { number, .. } => {
            let button = OrderButton::Details(number.clone());
            let needs = button.needs();
            let mut row = vec![(t("notify-button-order"), button.into())];
            if located {
                row.push((t("notify-button-map"), OrderButton::Map(number.clone()).into()));
            }
            (row, needs)
        }
        Message::Text { .. } => return None,
        // While the booking stands: move it or cancel it, as the booking flow does.
        Message::BookingUpdate { change, .. } if change == "cancelled" => return None,
        Message::BookingUpdate { booking_id, .. } => {
            let move_it = BookingButton::Move(booking_id.clone());
            let needs = move_it.needs();
            let row = vec![
                (t("booking-move-short"), move_it.into()),
                (t("booking-cancel-short"), BookingButton::AskCancel(booking_id.clone()).into()),
            ];
            (row, needs)
        }
        // Only when its file cannot be attached: a button to ask for it.
        Message::Document { document_id, .. } => {
            let button = super::documents::DocumentButton::Document(document_id.clone());
            let needs = button.needs();
            (vec![(t("notify-button-document"), button.into())], needs)
        }
    };
    ctx.settings.capabilities.has_all(needs).then(|| buttons.markup(vec![row]))
}
