//! Keyboards and the typed, signed callback data their buttons carry.
//!
//! Button data is `payload|epoch|mac`: the payload is a [`Callback`], the epoch is the
//! user's (bumped by /logout and /forget, so older buttons go stale) and the mac is a
//! truncated HMAC-SHA256 over payload, epoch and the user's id, so data that the bot did not
//! issue to this user is rejected. Everything fits Telegram's 64-byte limit.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup};

use super::{HandlerResult, Turn, answer_button};

use crate::domain::Locale;
use crate::nlu::Intent;

/// What a button asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// «Согласен»: the data-processing terms are accepted.
    Consent,
    /// A main-menu entry.
    Menu(MenuItem),
    /// «Пополнить».
    TopUp,
    /// A page of the order history (0-based).
    OrdersPage(u32),
    /// An order's details.
    Order(String),
    /// "Show on the map" for an order.
    OrderMap(String),
    /// Switch the language.
    Language(Locale),
    /// "Did you mean…?": the customer picked this intent.
    Intent(Intent),
    /// Send this document (an id among the customer's own).
    Document(String),
    /// The documents of the month of this order.
    OrderDocuments(String),
    /// Repeat this order (prices as of now).
    RepeatOrder(String),
    /// Order the product of a personal offer.
    OfferOrder(String),
    /// Place the drafted order with this idempotency key.
    ConfirmOrder(String),
    /// Drop the drafted order.
    CancelOrder,
    /// A subscription screen.
    Subscription(SubscriptionMenu),
    /// Move to the tariff with this code.
    ChooseTariff(String),
    /// Add the option with this code.
    AddOption(String),
    /// Remove the option with this code.
    RemoveOption(String),
    /// Confirm the drafted subscription change with this idempotency key.
    ConfirmChange(String),
    /// Drop the drafted subscription change.
    CancelChange,
    /// Send a new one-time code.
    ResendCode,
    /// Top up by this many whole currency units.
    TopUpAmount(u32),
    /// The referral link.
    Referral,
    /// The personal offer.
    Offers,
    /// Book this service (with this staff member, when chosen).
    BookService { service: String, staff: Option<String> },
    /// This free start time (Unix seconds) of this staff member for this service.
    BookSlot { service: String, staff: String, at: i64 },
    /// Confirm the drafted booking with this idempotency key.
    ConfirmBooking(String),
    /// Drop the drafted booking (or move).
    CancelBookingDraft,
    /// Choose a new time for this booking.
    MoveBooking(String),
    /// Move this booking to this start time of this staff member.
    MoveSlot { booking: String, staff: String, at: i64 },
    /// "Cancel this booking?"
    AskCancelBooking(String),
    /// Yes, cancel it.
    ConfirmCancelBooking(String),
    /// No, keep it.
    KeepBooking,
    /// "I'll come" on a reminder.
    ReminderConfirm(String),
    /// The customer's bookings.
    MyBookings,
    /// Ask for a person.
    Operator,
    /// The customer's rating (1–5) of a closed case.
    Rate { case: i64, rating: u8 },
}

/// The screens of the subscription dialogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionMenu {
    Tariffs,
    AddOption,
    RemoveOption,
    Pause,
    Resume,
}

/// The entries of the main menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuItem {
    Balance,
    OrderStatus,
    OrderHistory,
    Help,
    Documents,
    Subscription,
}

impl Callback {
    fn encode_payload(&self) -> String {
        match self {
            Callback::Consent => "c".into(),
            Callback::Menu(item) => format!(
                "m:{}",
                match item {
                    MenuItem::Balance => "b",
                    MenuItem::OrderStatus => "s",
                    MenuItem::OrderHistory => "h",
                    MenuItem::Help => "q",
                    MenuItem::Documents => "d",
                    MenuItem::Subscription => "t",
                }
            ),
            Callback::TopUp => "t".into(),
            Callback::OrdersPage(page) => format!("p:{page}"),
            Callback::Order(number) => format!("o:{number}"),
            Callback::OrderMap(number) => format!("g:{number}"),
            Callback::Language(locale) => format!("l:{}", locale.as_str()),
            Callback::Intent(intent) => format!("i:{}", intent.as_str()),
            Callback::Document(id) => format!("d:{id}"),
            Callback::OrderDocuments(number) => format!("od:{number}"),
            Callback::RepeatOrder(number) => format!("r:{number}"),
            Callback::OfferOrder(sku) => format!("f:{sku}"),
            Callback::ConfirmOrder(key) => format!("oc:{key}"),
            Callback::CancelOrder => "ox".into(),
            Callback::Subscription(menu) => format!(
                "s:{}",
                match menu {
                    SubscriptionMenu::Tariffs => "t",
                    SubscriptionMenu::AddOption => "a",
                    SubscriptionMenu::RemoveOption => "r",
                    SubscriptionMenu::Pause => "p",
                    SubscriptionMenu::Resume => "u",
                }
            ),
            Callback::ChooseTariff(code) => format!("st:{code}"),
            Callback::AddOption(code) => format!("sa:{code}"),
            Callback::RemoveOption(code) => format!("sr:{code}"),
            Callback::ConfirmChange(key) => format!("sc:{key}"),
            Callback::CancelChange => "sx".into(),
            Callback::ResendCode => "k".into(),
            Callback::TopUpAmount(amount) => format!("ta:{amount}"),
            Callback::Referral => "rf".into(),
            Callback::Offers => "of".into(),
            Callback::BookService { service, staff: None } => format!("bv:{service}"),
            Callback::BookService { service, staff: Some(staff) } => format!("bv:{service}:{staff}"),
            Callback::BookSlot { service, staff, at } => format!("bs:{service}:{staff}:{at}"),
            Callback::ConfirmBooking(key) => format!("bc:{key}"),
            Callback::CancelBookingDraft => "bx".into(),
            Callback::MoveBooking(id) => format!("mv:{id}"),
            Callback::MoveSlot { booking, staff, at } => format!("ms:{booking}:{staff}:{at}"),
            Callback::AskCancelBooking(id) => format!("ca:{id}"),
            Callback::ConfirmCancelBooking(id) => format!("cc:{id}"),
            Callback::KeepBooking => "ck".into(),
            Callback::ReminderConfirm(id) => format!("rc:{id}"),
            Callback::MyBookings => "mb".into(),
            Callback::Operator => "op".into(),
            Callback::Rate { case, rating } => format!("rt:{case}:{rating}"),
        }
    }

    pub(super) fn decode_payload(payload: &str) -> Option<Callback> {
        let (tag, arg) = payload.split_once(':').unwrap_or((payload, ""));
        // Ids, numbers, SKUs, codes and keys: ASCII letters, digits, '-', '_' and '.', short.
        let id = |arg: &str| {
            (!arg.is_empty()
                && arg.len() <= 32
                && arg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .then(|| arg.to_owned())
        };
        // Unix seconds between 2000 and 2100.
        let timestamp = |arg: &str| arg.parse::<i64>().ok().filter(|t| (946_684_800..4_102_444_800).contains(t));
        let order_number = |arg: &str| {
            (!arg.is_empty() && arg.len() <= 24 && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                .then(|| arg.to_owned())
        };
        Some(match (tag, arg) {
            ("c", "") => Callback::Consent,
            ("m", "b") => Callback::Menu(MenuItem::Balance),
            ("m", "s") => Callback::Menu(MenuItem::OrderStatus),
            ("m", "h") => Callback::Menu(MenuItem::OrderHistory),
            ("m", "q") => Callback::Menu(MenuItem::Help),
            ("m", "d") => Callback::Menu(MenuItem::Documents),
            ("m", "t") => Callback::Menu(MenuItem::Subscription),
            ("t", "") => Callback::TopUp,
            ("p", page) => Callback::OrdersPage(page.parse().ok().filter(|p| *p < 10_000)?),
            ("o", number) => Callback::Order(order_number(number)?),
            ("g", number) => Callback::OrderMap(order_number(number)?),
            ("l", locale) => Callback::Language(Locale::parse(locale)?),
            ("i", intent) => Callback::Intent(Intent::parse(intent).filter(|i| *i != Intent::Unknown)?),
            ("d", doc) => Callback::Document(id(doc)?),
            ("od", number) => Callback::OrderDocuments(order_number(number)?),
            ("r", number) => Callback::RepeatOrder(order_number(number)?),
            ("f", sku) => Callback::OfferOrder(id(sku)?),
            ("oc", key) => Callback::ConfirmOrder(id(key)?),
            ("ox", "") => Callback::CancelOrder,
            ("s", "t") => Callback::Subscription(SubscriptionMenu::Tariffs),
            ("s", "a") => Callback::Subscription(SubscriptionMenu::AddOption),
            ("s", "r") => Callback::Subscription(SubscriptionMenu::RemoveOption),
            ("s", "p") => Callback::Subscription(SubscriptionMenu::Pause),
            ("s", "u") => Callback::Subscription(SubscriptionMenu::Resume),
            ("st", code) => Callback::ChooseTariff(id(code)?),
            ("sa", code) => Callback::AddOption(id(code)?),
            ("sr", code) => Callback::RemoveOption(id(code)?),
            ("sc", key) => Callback::ConfirmChange(id(key)?),
            ("sx", "") => Callback::CancelChange,
            ("k", "") => Callback::ResendCode,
            ("ta", amount) => Callback::TopUpAmount(amount.parse().ok().filter(|a| (1..=100_000_000).contains(a))?),
            ("bv", arg) => match arg.split_once(':') {
                Some((service, staff)) => Callback::BookService { service: id(service)?, staff: Some(id(staff)?) },
                None => Callback::BookService { service: id(arg)?, staff: None },
            },
            ("bs", arg) => {
                let mut parts = arg.splitn(3, ':');
                let (service, staff, at) = (parts.next()?, parts.next()?, parts.next()?);
                Callback::BookSlot { service: id(service)?, staff: id(staff)?, at: timestamp(at)? }
            }
            ("bc", key) => Callback::ConfirmBooking(id(key)?),
            ("bx", "") => Callback::CancelBookingDraft,
            ("mv", booking) => Callback::MoveBooking(id(booking)?),
            ("ms", arg) => {
                let mut parts = arg.splitn(3, ':');
                let (booking, staff, at) = (parts.next()?, parts.next()?, parts.next()?);
                Callback::MoveSlot { booking: id(booking)?, staff: id(staff)?, at: timestamp(at)? }
            }
            ("ca", booking) => Callback::AskCancelBooking(id(booking)?),
            ("cc", booking) => Callback::ConfirmCancelBooking(id(booking)?),
            ("ck", "") => Callback::KeepBooking,
            ("rc", booking) => Callback::ReminderConfirm(id(booking)?),
            ("mb", "") => Callback::MyBookings,
            ("op", "") => Callback::Operator,
            ("rt", arg) => {
                let (case, rating) = arg.split_once(':')?;
                let rating: u8 = rating.parse().ok().filter(|r| (1..=5).contains(r))?;
                Callback::Rate { case: case.parse().ok().filter(|c| *c > 0)?, rating }
            }
            ("rf", "") => Callback::Referral,
            ("of", "") => Callback::Offers,
            _ => return None,
        })
    }
}

/// Why button data was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackError {
    /// Not data this bot issued to this user (forged, garbled or for someone else).
    Forged,
    /// Issued before the user's last /logout or /forget.
    Stale,
}

/// Signs and checks button data.
#[derive(Clone)]
pub struct CallbackCodec {
    key: Vec<u8>,
}

const MAC_BYTES: usize = 8;

impl CallbackCodec {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, payload: &str, epoch: i64, user_id: i64) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{payload}|{epoch}|{user_id}").as_bytes());
        let bytes = mac.finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..MAC_BYTES])
    }

    /// The data for a button that `user_id` may press while their epoch is `epoch`.
    pub fn encode(&self, callback: &Callback, epoch: i64, user_id: i64) -> String {
        let payload = callback.encode_payload();
        let mac = self.mac(&payload, epoch, user_id);
        format!("{payload}|{epoch}|{mac}")
    }

    /// Checks and decodes button data pressed by `user_id`, whose epoch is now `epoch`.
    pub fn decode(&self, data: &str, epoch: i64, user_id: i64) -> Result<Callback, CallbackError> {
        let payload = self.verify(data, epoch, user_id)?;
        Callback::decode_payload(&payload).ok_or(CallbackError::Forged)
    }

    /// Checks button data pressed by `user_id`, whose epoch is now `epoch`: the payload the
    /// bot issued to them, not yet read.
    pub fn verify(&self, data: &str, epoch: i64, user_id: i64) -> Result<String, CallbackError> {
        let mut parts = data.rsplitn(3, '|');
        let (Some(mac), Some(data_epoch), Some(payload)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CallbackError::Forged);
        };
        let data_epoch: i64 = data_epoch.parse().map_err(|_| CallbackError::Forged)?;
        let expected = self.mac(payload, data_epoch, user_id);
        if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return Err(CallbackError::Forged);
        }
        if data_epoch != epoch {
            return Err(CallbackError::Stale);
        }
        Ok(payload.to_owned())
    }
}

/// Compares two byte strings in time that does not depend on where they differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Builds inline keyboards whose buttons carry signed data for one user.
pub struct Buttons<'a> {
    pub codec: &'a CallbackCodec,
    pub epoch: i64,
    pub user_id: i64,
}

impl Buttons<'_> {
    pub fn button(&self, label: String, callback: Callback) -> InlineKeyboardButton {
        InlineKeyboardButton::callback(label, self.codec.encode(&callback, self.epoch, self.user_id))
    }

    pub fn markup(&self, rows: Vec<Vec<(String, Callback)>>) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(
            rows.into_iter()
                .map(|row| row.into_iter().map(|(label, cb)| self.button(label, cb)).collect::<Vec<_>>()),
        )
    }
}

/// A button press, checked: the payload the bot issued to this user, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    Signed(String),
    Refused(CallbackError),
}

/// Checks the pressed button's signature, user and epoch.
pub(super) fn check(turn: Turn, q: CallbackQuery) -> Press {
    match turn.ctx.codec.verify(q.data.as_deref().unwrap_or_default(), turn.user.epoch, turn.user_id) {
        Ok(payload) => Press::Signed(payload),
        Err(why) => Press::Refused(why),
    }
}

/// The private chat's message a button is on, when it is on one.
pub(super) fn private_message(q: CallbackQuery) -> Option<Message> {
    q.regular_message().cloned().filter(|m| m.chat.is_private())
}

/// A button outside a private chat: only its spinner is stopped.
pub(super) async fn answer_only(bot: Bot, q: CallbackQuery) -> HandlerResult {
    answer_button(&bot, &q, None).await;
    Ok(())
}

/// Refused data: forged data is audited (it counts toward the probing alert), and either
/// way the customer hears that the button is no longer active.
pub(super) async fn refused(turn: Turn, q: CallbackQuery, why: CallbackError) -> HandlerResult {
    tracing::info!(chat = turn.chat.0, error = ?why, "refused button data");
    if why == CallbackError::Forged {
        turn.audit("callback.forged", None).await?;
    }
    inactive(&turn, &q).await
}

/// Signed data that no button kind reads: as forged.
pub(super) async fn unknown(turn: Turn, q: CallbackQuery) -> HandlerResult {
    refused(turn, q, CallbackError::Forged).await
}

/// «Кнопка больше не активна».
pub(super) async fn inactive(turn: &Turn, q: &CallbackQuery) -> HandlerResult {
    answer_button(&turn.bot, q, Some(turn.t("button-inactive", &[]))).await;
    Ok(())
}

/// The one-button reply keyboard that asks Telegram for the user's own phone number.
pub fn contact_keyboard(label: String) -> KeyboardMarkup {
    KeyboardMarkup::new(vec![vec![KeyboardButton::new(label).request(teloxide::types::ButtonRequest::Contact)]])
        .resize_keyboard()
        .one_time_keyboard()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CallbackCodec {
        CallbackCodec::new(b"test key")
    }

    #[test]
    fn every_callback_survives_a_round_trip() {
        let all = [
            Callback::Consent,
            Callback::Menu(MenuItem::Balance),
            Callback::Menu(MenuItem::OrderStatus),
            Callback::Menu(MenuItem::OrderHistory),
            Callback::Menu(MenuItem::Help),
            Callback::Menu(MenuItem::Documents),
            Callback::Menu(MenuItem::Subscription),
            Callback::TopUp,
            Callback::OrdersPage(3),
            Callback::Order("78234".into()),
            Callback::OrderMap("78234".into()),
            Callback::Language(Locale::En),
            Callback::Intent(Intent::BookingReschedule),
            Callback::Document("D-1001".into()),
            Callback::OrderDocuments("78110".into()),
            Callback::RepeatOrder("78110".into()),
            Callback::OfferOrder("COF-LAV-1KG".into()),
            Callback::ConfirmOrder("k7Gx2QpLmN3a".into()),
            Callback::CancelOrder,
            Callback::Subscription(SubscriptionMenu::Tariffs),
            Callback::Subscription(SubscriptionMenu::AddOption),
            Callback::Subscription(SubscriptionMenu::RemoveOption),
            Callback::Subscription(SubscriptionMenu::Pause),
            Callback::Subscription(SubscriptionMenu::Resume),
            Callback::ChooseTariff("optimal".into()),
            Callback::AddOption("tv".into()),
            Callback::RemoveOption("tv".into()),
            Callback::ConfirmChange("k7Gx2QpLmN3a".into()),
            Callback::CancelChange,
            Callback::ResendCode,
            Callback::TopUpAmount(5000),
            Callback::Referral,
            Callback::Offers,
            Callback::BookService { service: "haircut".into(), staff: None },
            Callback::BookService { service: "manicure".into(), staff: Some("maria".into()) },
            Callback::BookSlot { service: "manicure".into(), staff: "maria".into(), at: 1_736_589_600 },
            Callback::ConfirmBooking("k7Gx2QpLmN3aZZZZ".into()),
            Callback::CancelBookingDraft,
            Callback::MoveBooking("B-2001".into()),
            Callback::MoveSlot { booking: "B-AB12CD34".into(), staff: "maria".into(), at: 1_736_589_600 },
            Callback::AskCancelBooking("B-2001".into()),
            Callback::ConfirmCancelBooking("B-2001".into()),
            Callback::KeepBooking,
            Callback::ReminderConfirm("B-3001".into()),
            Callback::MyBookings,
            Callback::Operator,
            Callback::Rate { case: 123_456, rating: 5 },
        ];
        for cb in all {
            let data = codec().encode(&cb, 2, 5001);
            assert!(data.len() <= 64, "{data} is longer than Telegram allows");
            assert_eq!(codec().decode(&data, 2, 5001), Ok(cb));
        }
    }

    #[test]
    fn data_for_another_user_is_forged() {
        let data = codec().encode(&Callback::Order("78234".into()), 0, 5001);
        assert_eq!(codec().decode(&data, 0, 5002), Err(CallbackError::Forged));
    }

    #[test]
    fn an_edited_payload_is_forged() {
        let data = codec().encode(&Callback::Order("78234".into()), 0, 5001);
        let edited = data.replace("78234", "78300");
        assert_eq!(codec().decode(&edited, 0, 5001), Err(CallbackError::Forged));
    }

    #[test]
    fn garbage_is_forged() {
        for data in ["", "|", "||", "o:1|x|y", "c|0|", "💥|0|AAAAAAAAAAA", "c|99999999999999999999|abc"] {
            assert_eq!(codec().decode(data, 0, 1), Err(CallbackError::Forged), "{data:?}");
        }
    }

    #[test]
    fn a_button_from_before_logout_is_stale() {
        let data = codec().encode(&Callback::Menu(MenuItem::Balance), 1, 5001);
        assert_eq!(codec().decode(&data, 2, 5001), Err(CallbackError::Stale));
    }

    #[test]
    fn another_key_does_not_verify() {
        let data = codec().encode(&Callback::Consent, 0, 1);
        assert_eq!(CallbackCodec::new(b"other").decode(&data, 0, 1), Err(CallbackError::Forged));
    }
}
