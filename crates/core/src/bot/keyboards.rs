//! Keyboards, the signed data their buttons carry, and the checks every press goes through.
//!
//! Button data is `payload|epoch|mac`. The payload is a [`ButtonKind`]'s: each feature
//! defines its own enum of buttons, with its own tags (the payload's part before `:`) and
//! its own encoding, and reads its presses in its own `buttons()` branch of the schema. The
//! epoch is the user's (bumped by /logout and /forget, so older buttons go stale) and the mac
//! is a truncated HMAC-SHA256 over payload, epoch and the user's id, so data that the bot did
//! not issue to this user is rejected (`check`, then `refused`). Everything fits
//! Telegram's 64-byte limit.
//!
//! The payloads are those of the single button enum of earlier versions, so buttons sent
//! before an upgrade keep working.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup};

use super::{HandlerResult, Turn};
use crate::error::BotError;

/// A feature's buttons: an enum whose payloads start with one of its tags.
pub trait ButtonKind: Sized + Clone + Send + Sync + 'static {
    /// The tags (a payload's part before `:`) of this kind; no two kinds share one.
    const TAGS: &'static [&'static str];

    /// The payload: a tag, then `:` and the arguments when there are any.
    fn encode(&self) -> String;

    /// The button `payload` names, when it is one of this kind.
    fn decode(payload: &str) -> Option<Self>;

    /// Whether pressing it needs an identified customer (all but a few do).
    fn needs_binding(&self) -> bool {
        true
    }
}

/// A button's payload, of any kind, before it is signed for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(String);

impl<K: ButtonKind> From<K> for Payload {
    fn from(button: K) -> Payload {
        Payload(button.encode())
    }
}

/// A payload's tag and argument (empty when there is none).
pub(super) fn tag_and_arg(payload: &str) -> (&str, &str) {
    payload.split_once(':').unwrap_or((payload, ""))
}

/// Ids, SKUs, codes and keys: ASCII letters, digits, '-', '_' and '.', short.
pub(super) fn id(arg: &str) -> Option<String> {
    (!arg.is_empty()
        && arg.len() <= 32
        && arg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    .then(|| arg.to_owned())
}

/// Unix seconds between 2000 and 2100.
pub(super) fn timestamp(arg: &str) -> Option<i64> {
    arg.parse::<i64>().ok().filter(|t| (946_684_800..4_102_444_800).contains(t))
}

/// An order number: ASCII letters, digits and '-', short.
pub(super) fn order_number(arg: &str) -> Option<String> {
    (!arg.is_empty() && arg.len() <= 24 && arg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| arg.to_owned())
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
    pub fn encode(&self, payload: impl Into<Payload>, epoch: i64, user_id: i64) -> String {
        let Payload(payload) = payload.into();
        let mac = self.mac(&payload, epoch, user_id);
        format!("{payload}|{epoch}|{mac}")
    }

    /// Checks and decodes button data of kind `K` pressed by `user_id`, whose epoch is now
    /// `epoch`.
    pub fn decode<K: ButtonKind>(&self, data: &str, epoch: i64, user_id: i64) -> Result<K, CallbackError> {
        let payload = self.verify(data, epoch, user_id)?;
        K::decode(&payload).ok_or(CallbackError::Forged)
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
    pub fn button(&self, label: String, payload: impl Into<Payload>) -> InlineKeyboardButton {
        InlineKeyboardButton::callback(label, self.codec.encode(payload, self.epoch, self.user_id))
    }

    /// Rows of buttons of one kind, or of [`Payload`]s of several.
    pub fn markup<P: Into<Payload>>(&self, rows: Vec<Vec<(String, P)>>) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(
            rows.into_iter().map(|row| row.into_iter().map(|(label, cb)| self.button(label, cb)).collect::<Vec<_>>()),
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

/// The branch of one kind's buttons: a press of a button of kind `K` is read here; one that
/// needs an identified customer is refused without one; the press is answered (best effort,
/// see [`answer_button`]) before the feature acts on it.
pub(super) fn pressed<K: ButtonKind>() -> UpdateHandler<BotError> {
    dptree::filter_map(|press: Press| match press {
        Press::Signed(payload) => K::decode(&payload),
        Press::Refused(_) => None,
    })
    .branch(
        dptree::filter(|button: K, turn: Turn| button.needs_binding() && turn.binding.is_none())
            .endpoint(|turn: Turn, q: CallbackQuery| async move { inactive(&turn, &q).await }),
    )
    .chain(dptree::inspect_async(|bot: Bot, q: CallbackQuery| async move { answer_button(&bot, &q, None).await }))
}

/// Answers a button press (stops the button's spinner, shows `toast`), best effort: Telegram
/// refuses answers to queries older than a few seconds (after downtime or a backlog: 400
/// "query is too old"), may ask to wait (429) or be unreachable, and none of that may keep
/// the press from being acted on.
pub(crate) async fn answer_button(bot: &Bot, q: &CallbackQuery, toast: Option<String>) {
    let mut request = bot.answer_callback_query(q.id.clone());
    if let Some(text) = toast {
        request = request.text(text);
    }
    if let Err(error) = request.await {
        tracing::info!(user = q.from.id.0, %error, "a button press could not be answered; acting on it anyway");
    }
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
    use std::fmt::Debug;

    use super::super::booking::BookingButton;
    use super::super::documents::DocumentButton;
    use super::super::general::{GeneralButton, MenuItem};
    use super::super::loyalty::LoyaltyButton;
    use super::super::orders::OrderButton;
    use super::super::payments::PaymentButton;
    use super::super::shop::ShopButton;
    use super::super::staff::StaffButton;
    use super::super::subscription::{SubscriptionButton, SubscriptionMenu};
    use super::*;
    use crate::domain::Locale;
    use crate::nlu::Intent;

    fn codec() -> CallbackCodec {
        CallbackCodec::new(b"test key")
    }

    /// Every button of `all` is encoded as its payload in `wire`, fits Telegram's limit and
    /// survives a round trip.
    fn round_trip<K: ButtonKind + PartialEq + Debug>(all: Vec<(K, &str)>) {
        for (button, wire) in all {
            assert_eq!(button.encode(), wire);
            let data = codec().encode(button.clone(), 2, 5001);
            assert!(data.len() <= 64, "{data} is longer than Telegram allows");
            assert_eq!(codec().decode::<K>(&data, 2, 5001), Ok(button));
        }
    }

    #[test]
    fn every_button_survives_a_round_trip_with_the_payload_of_earlier_versions() {
        round_trip(vec![
            (GeneralButton::Consent, "c"),
            (GeneralButton::Menu(MenuItem::Balance), "m:b"),
            (GeneralButton::Menu(MenuItem::OrderStatus), "m:s"),
            (GeneralButton::Menu(MenuItem::OrderHistory), "m:h"),
            (GeneralButton::Menu(MenuItem::Help), "m:q"),
            (GeneralButton::Menu(MenuItem::Documents), "m:d"),
            (GeneralButton::Menu(MenuItem::Subscription), "m:t"),
            (GeneralButton::Language(Locale::En), "l:en"),
            (GeneralButton::Intent(Intent::BookingReschedule), "i:booking_reschedule"),
        ]);
        round_trip(vec![(PaymentButton::TopUp, "t"), (PaymentButton::Amount(5000), "ta:5000")]);
        round_trip(vec![
            (OrderButton::Page(3), "p:3"),
            (OrderButton::Details("78234".into()), "o:78234"),
            (OrderButton::Map("78234".into()), "g:78234"),
        ]);
        round_trip(vec![
            (DocumentButton::Document("D-1001".into()), "d:D-1001"),
            (DocumentButton::OfOrder("78110".into()), "od:78110"),
        ]);
        round_trip(vec![
            (ShopButton::Repeat("78110".into()), "r:78110"),
            (ShopButton::Offer("COF-LAV-1KG".into()), "f:COF-LAV-1KG"),
            (ShopButton::Confirm("k7Gx2QpLmN3a".into()), "oc:k7Gx2QpLmN3a"),
            (ShopButton::Cancel, "ox"),
        ]);
        round_trip(vec![
            (SubscriptionButton::Menu(SubscriptionMenu::Tariffs), "s:t"),
            (SubscriptionButton::Menu(SubscriptionMenu::AddOption), "s:a"),
            (SubscriptionButton::Menu(SubscriptionMenu::RemoveOption), "s:r"),
            (SubscriptionButton::Menu(SubscriptionMenu::Pause), "s:p"),
            (SubscriptionButton::Menu(SubscriptionMenu::Resume), "s:u"),
            (SubscriptionButton::Tariff("optimal".into()), "st:optimal"),
            (SubscriptionButton::AddOption("tv".into()), "sa:tv"),
            (SubscriptionButton::RemoveOption("tv".into()), "sr:tv"),
            (SubscriptionButton::Confirm("k7Gx2QpLmN3a".into()), "sc:k7Gx2QpLmN3a"),
            (SubscriptionButton::Cancel, "sx"),
            (SubscriptionButton::ResendCode, "k"),
        ]);
        round_trip(vec![(LoyaltyButton::Referral, "rf"), (LoyaltyButton::Offers, "of")]);
        round_trip(vec![
            (BookingButton::Service { service: "haircut".into(), staff: None }, "bv:haircut"),
            (BookingButton::Service { service: "manicure".into(), staff: Some("maria".into()) }, "bv:manicure:maria"),
            (
                BookingButton::Slot { service: "manicure".into(), staff: "maria".into(), at: 1_736_589_600 },
                "bs:manicure:maria:1736589600",
            ),
            (BookingButton::Confirm("k7Gx2QpLmN3aZZZZ".into()), "bc:k7Gx2QpLmN3aZZZZ"),
            (BookingButton::CancelDraft, "bx"),
            (BookingButton::Move("B-2001".into()), "mv:B-2001"),
            (
                BookingButton::MoveSlot { booking: "B-AB12CD34".into(), staff: "maria".into(), at: 1_736_589_600 },
                "ms:B-AB12CD34:maria:1736589600",
            ),
            (BookingButton::AskCancel("B-2001".into()), "ca:B-2001"),
            (BookingButton::ConfirmCancel("B-2001".into()), "cc:B-2001"),
            (BookingButton::Keep, "ck"),
            (BookingButton::ReminderConfirm("B-3001".into()), "rc:B-3001"),
            (BookingButton::List, "mb"),
        ]);
        round_trip(vec![
            (StaffButton::Operator, "op"),
            (StaffButton::Rate { case: 123_456, rating: 5 }, "rt:123456:5"),
        ]);
    }

    #[test]
    fn no_two_kinds_share_a_tag() {
        let kinds: [&[&str]; 9] = [
            GeneralButton::TAGS,
            PaymentButton::TAGS,
            OrderButton::TAGS,
            DocumentButton::TAGS,
            ShopButton::TAGS,
            SubscriptionButton::TAGS,
            LoyaltyButton::TAGS,
            BookingButton::TAGS,
            StaffButton::TAGS,
        ];
        let all: Vec<&str> = kinds.iter().flat_map(|tags| tags.iter().copied()).collect();
        let distinct: std::collections::BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "{all:?}");
    }

    #[test]
    fn a_kind_reads_only_its_own_tags() {
        assert_eq!(OrderButton::decode("op"), None);
        assert_eq!(StaffButton::decode("o:78234"), None);
        assert_eq!(PaymentButton::decode("ta:0"), None);
        assert_eq!(GeneralButton::decode("i:unknown"), None);
        assert_eq!(BookingButton::decode("bs:manicure:maria:12"), None);
    }

    #[test]
    fn data_for_another_user_is_forged() {
        let data = codec().encode(OrderButton::Details("78234".into()), 0, 5001);
        assert_eq!(codec().decode::<OrderButton>(&data, 0, 5002), Err(CallbackError::Forged));
    }

    #[test]
    fn an_edited_payload_is_forged() {
        let data = codec().encode(OrderButton::Details("78234".into()), 0, 5001);
        let edited = data.replace("78234", "78300");
        assert_eq!(codec().decode::<OrderButton>(&edited, 0, 5001), Err(CallbackError::Forged));
    }

    #[test]
    fn garbage_is_forged() {
        for data in ["", "|", "||", "o:1|x|y", "c|0|", "💥|0|AAAAAAAAAAA", "c|99999999999999999999|abc"] {
            assert_eq!(codec().verify(data, 0, 1), Err(CallbackError::Forged), "{data:?}");
        }
    }

    #[test]
    fn a_button_from_before_logout_is_stale() {
        let data = codec().encode(GeneralButton::Menu(MenuItem::Balance), 1, 5001);
        assert_eq!(codec().decode::<GeneralButton>(&data, 2, 5001), Err(CallbackError::Stale));
    }

    #[test]
    fn another_key_does_not_verify() {
        let data = codec().encode(GeneralButton::Consent, 0, 1);
        assert_eq!(CallbackCodec::new(b"other").decode::<GeneralButton>(&data, 0, 1), Err(CallbackError::Forged));
    }
}
