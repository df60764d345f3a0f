//! Keyboards, the signed data their buttons carry, and the checks every press goes through.
//!
//! Button data is `payload|epoch|mac`. The payload is a [`ButtonKind`]'s: each feature
//! defines its own enum of buttons, with its own tags (the payload's part before `:`) and
//! its own encoding, and reads its presses in its own `buttons()` branch of the schema. The
//! epoch is the user's (bumped by /logout and /forget, so older buttons go stale) and the mac
//! is a truncated HMAC-SHA256 over payload, epoch and the user's id, so data that the bot did
//! not issue to this user is rejected (`check`, then `refused`).
//!
//! Telegram's callback data holds 64 bytes. Data that fits is sent as it is (the common
//! case: no database write). A payload too long for it — a backend's UUID or long record id —
//! is kept server-side ([`Buttons::seal`]): the store keeps it under a short random token for
//! the user it is issued to, until it expires, and the button's payload is `~` and the token
//! (`~<16 URL-safe characters>|epoch|mac`, signed like any other). A press reads it back
//! ([`CallbackCodec::open`]); an unknown or expired token is stale, one kept for another
//! user forged.
//!
//! The payloads are those of the single button enum of earlier versions, so buttons sent
//! before an upgrade keep working.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardButtonKind, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup,
};

use super::{HandlerResult, Turn};
use crate::error::BotError;
use crate::store::{Store, StoreResult};

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

    /// The capabilities acting on it needs; a press of one whose capability the business
    /// lacks (an old button) is answered «Этого в чате нет».
    fn needs(&self) -> &'static [super::Capability] {
        &[]
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

/// The longest id, order number or key a payload may carry, in characters (a payload that
/// does not fit Telegram's callback data is kept server-side, so backends' long ids work).
pub(super) const MAX_ID_LEN: usize = 128;

/// The bytes an argument keeps as they are: ASCII letters, digits, '-', '_' and '.'. Every
/// other byte is written `%XX`, so an id of any shape (with ':', '/', spaces, Cyrillic)
/// keeps the payload's syntax; the ids of earlier versions had only these, so their
/// payloads are unchanged.
const PLAIN: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// An id, order number, code or key as a payload's argument.
pub(super) fn arg(value: &str) -> impl std::fmt::Display + '_ {
    utf8_percent_encode(value, PLAIN)
}

/// Ids, SKUs, codes and keys read back from an argument ([`arg`]): any text of at most
/// [`MAX_ID_LEN`] characters without control characters.
pub(super) fn id(arg: &str) -> Option<String> {
    if !arg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'%')) {
        return None;
    }
    let value = percent_decode_str(arg).decode_utf8().ok()?;
    (!value.is_empty() && value.chars().count() <= MAX_ID_LEN && !value.chars().any(char::is_control))
        .then(|| value.into_owned())
}

/// Unix seconds between 2000 and 2100.
pub(super) fn timestamp(arg: &str) -> Option<i64> {
    arg.parse::<i64>().ok().filter(|t| (946_684_800..4_102_444_800).contains(t))
}

/// An order number read back from an argument: as [`id`].
pub(super) fn order_number(arg: &str) -> Option<String> {
    id(arg)
}

/// Why button data was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackError {
    /// Not data this bot issued to this user (forged, garbled or for someone else).
    Forged,
    /// Issued before the user's last /logout or /forget.
    Stale,
}

/// Signs and checks button data, and says how long a payload kept server-side lives.
#[derive(Clone)]
pub struct CallbackCodec {
    key: Vec<u8>,
    ttl: Duration,
}

const MAC_BYTES: usize = 8;

/// The most bytes of callback data Telegram takes.
pub const MAX_DATA_BYTES: usize = 64;

/// How a payload kept server-side begins: `~` and its token (no tag begins so).
const TOKEN_MARK: char = '~';

/// The characters of a token: 16 of them, 96 random bits.
const TOKEN_LEN: usize = 16;

/// How long a payload kept server-side lives by default (`bot.button_ttl_days`).
pub const DEFAULT_BUTTON_TTL_DAYS: u32 = 30;

impl CallbackCodec {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec(), ttl: Duration::days(i64::from(DEFAULT_BUTTON_TTL_DAYS)) }
    }

    /// The same key; payloads kept server-side live `ttl`.
    pub fn with_ttl(self, ttl: Duration) -> Self {
        Self { ttl, ..self }
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

    /// Checks button data pressed by `user_id`, whose epoch is now `epoch`, at `now`, and
    /// reads a payload kept server-side: the payload the bot issued to them. An unknown or
    /// expired token is stale (purged, or deleted by /forget); one kept for another user is
    /// forged.
    pub async fn open(
        &self,
        store: &Store,
        data: &str,
        epoch: i64,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<String, CallbackError>> {
        let payload = match self.verify(data, epoch, user_id) {
            Ok(payload) => payload,
            Err(why) => return Ok(Err(why)),
        };
        let Some(token) = payload.strip_prefix(TOKEN_MARK) else {
            return Ok(Ok(payload));
        };
        Ok(match store.button_payload(token).await? {
            Some(kept) if kept.telegram_user_id != user_id => Err(CallbackError::Forged),
            Some(kept) if kept.expires_at > now => Ok(kept.payload),
            _ => Err(CallbackError::Stale),
        })
    }
}

/// A fresh token: [`TOKEN_LEN`] URL-safe characters.
fn new_token() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..TOKEN_LEN).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
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

    /// Rows of buttons of one kind, or of [`Payload`]s of several. Data too long for
    /// Telegram is sent only after [`Buttons::seal`] (which [`Turn`]'s sending does).
    pub fn markup<P: Into<Payload>>(&self, rows: Vec<Vec<(String, P)>>) -> InlineKeyboardMarkup {
        InlineKeyboardMarkup::new(
            rows.into_iter().map(|row| row.into_iter().map(|(label, cb)| self.button(label, cb)).collect::<Vec<_>>()),
        )
    }

    /// The keyboard as it may be sent: every button whose data is longer than Telegram takes
    /// gets a fresh token instead, its payload kept in the store for this user until
    /// `now` + the codec's lifetime. Data that fits is left as it is.
    pub async fn seal(
        &self,
        store: &Store,
        now: DateTime<Utc>,
        mut markup: InlineKeyboardMarkup,
    ) -> Result<InlineKeyboardMarkup, BotError> {
        for button in markup.inline_keyboard.iter_mut().flatten() {
            let InlineKeyboardButtonKind::CallbackData(data) = &mut button.kind else { continue };
            if data.len() <= MAX_DATA_BYTES {
                continue;
            }
            let payload = self
                .codec
                .verify(data, self.epoch, self.user_id)
                .map_err(|why| BotError::Internal(format!("button data not signed for this user: {why:?}")))?;
            let token = new_token();
            store.keep_button_payload(&token, self.user_id, &payload, now, now + self.codec.ttl).await?;
            *data = self.codec.encode(Payload(format!("{TOKEN_MARK}{token}")), self.epoch, self.user_id);
        }
        Ok(markup)
    }
}

/// A button press, checked: the payload the bot issued to this user, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    Signed(String),
    Refused(CallbackError),
    /// A payload kept server-side could not be read (the store failed).
    Unreadable(String),
}

/// Checks the pressed button's signature, user and epoch, and reads a payload kept
/// server-side.
pub(super) async fn check(turn: Turn, q: CallbackQuery) -> Press {
    let data = q.data.as_deref().unwrap_or_default();
    match turn.ctx.codec.open(&turn.ctx.store, data, turn.user.epoch, turn.user_id, turn.ctx.clock.now()).await {
        Ok(Ok(payload)) => Press::Signed(payload),
        Ok(Err(why)) => Press::Refused(why),
        Err(error) => Press::Unreadable(error.to_string()),
    }
}

/// A press whose payload could not be read: an error (the customer hears that something
/// went wrong).
pub(super) async fn unreadable(error: String) -> HandlerResult {
    Err(BotError::Internal(format!("reading a button's payload: {error}")))
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
        Press::Refused(_) | Press::Unreadable(_) => None,
    })
    .branch(
        dptree::filter(|button: K, turn: Turn| button.needs_binding() && turn.binding.is_none())
            .endpoint(|turn: Turn, q: CallbackQuery| async move { inactive(&turn, &q).await }),
    )
    .chain(dptree::inspect_async(|bot: Bot, q: CallbackQuery| async move { answer_button(&bot, &q, None).await }))
    .branch(
        dptree::filter(|button: K, turn: Turn| !turn.ctx.settings.capabilities.has_all(button.needs()))
            .endpoint(|turn: Turn| async move { super::general::absent(&turn).await }),
    )
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
        crate::server::metrics::telegram_error(&error);
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

    impl CallbackCodec {
        /// The button of kind `K` that data sealed for user 5001 at epoch 2 names, at `t0`.
        async fn decode_payload<K: ButtonKind>(&self, store: &Store, data: &str) -> Option<K> {
            K::decode(&self.open(store, data, 2, 5001, t0()).await.ok()?.ok()?)
        }
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

    /// A document id as long as a backend may give (a UUID with a prefix).
    const LONG_ID: &str = "deal-3f2b8c1e-9a4d-4e7b-b6f0-1c2d3e4f5a6b-0000000000000000000042";

    async fn memory_store() -> Store {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-11T05:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn data_of(markup: &InlineKeyboardMarkup) -> Vec<String> {
        markup
            .inline_keyboard
            .iter()
            .flatten()
            .filter_map(|b| match &b.kind {
                InlineKeyboardButtonKind::CallbackData(data) => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    /// The data of one button of `button` sealed for user 5001 at epoch 2 at `t0`.
    async fn sealed<K: ButtonKind>(store: &Store, codec: &CallbackCodec, button: K) -> String {
        let buttons = Buttons { codec, epoch: 2, user_id: 5001 };
        let markup = buttons.seal(store, t0(), buttons.markup(vec![vec![("x".to_owned(), button)]])).await.unwrap();
        data_of(&markup).remove(0)
    }

    #[tokio::test]
    async fn a_payload_too_long_for_telegram_goes_through_a_token_and_comes_back() {
        let store = memory_store().await;
        let button = DocumentButton::Document(LONG_ID.into());
        assert!(codec().encode(button.clone(), 2, 5001).len() > MAX_DATA_BYTES);
        let data = sealed(&store, &codec(), button.clone()).await;
        assert!(data.len() <= MAX_DATA_BYTES, "{data} is longer than Telegram allows");
        assert!(data.starts_with('~') && !data.contains(LONG_ID), "{data}");
        let payload = codec().open(&store, &data, 2, 5001, t0() + Duration::days(29)).await.unwrap().unwrap();
        assert_eq!(DocumentButton::decode(&payload), Some(button));
        // The same button sealed again gets a token of its own.
        assert_ne!(sealed(&store, &codec(), DocumentButton::Document(LONG_ID.into())).await, data);
    }

    #[tokio::test]
    async fn a_payload_that_fits_stays_in_the_button() {
        let store = memory_store().await;
        let data = sealed(&store, &codec(), OrderButton::Details("78234".into())).await;
        assert_eq!(data, codec().encode(OrderButton::Details("78234".into()), 2, 5001));
        assert_eq!(codec().open(&store, &data, 2, 5001, t0()).await.unwrap(), Ok("o:78234".to_owned()));
        assert_eq!(store.purge_button_payloads(t0() + Duration::days(365), 100).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_token_expires_with_the_codecs_lifetime() {
        let store = memory_store().await;
        let codec = codec().with_ttl(Duration::days(7));
        let data = sealed(&store, &codec, DocumentButton::Document(LONG_ID.into())).await;
        let at = |days| t0() + Duration::days(days) - Duration::seconds(1);
        assert!(codec.open(&store, &data, 2, 5001, at(7)).await.unwrap().is_ok());
        assert_eq!(
            codec.open(&store, &data, 2, 5001, at(7) + Duration::seconds(1)).await.unwrap(),
            Err(CallbackError::Stale)
        );
    }

    #[tokio::test]
    async fn a_token_is_for_the_user_it_was_issued_to() {
        let store = memory_store().await;
        let data = sealed(&store, &codec(), DocumentButton::Document(LONG_ID.into())).await;
        // Pressed by someone else: the signature is another user's.
        assert_eq!(codec().open(&store, &data, 2, 5002, t0()).await.unwrap(), Err(CallbackError::Forged));
        // Even signed for 5002 (as by someone who had the key), a token kept for 5001 is forged.
        let token = data.split('|').next().unwrap();
        let resigned = codec().encode(Payload(token.to_owned()), 2, 5002);
        assert_eq!(codec().open(&store, &resigned, 2, 5002, t0()).await.unwrap(), Err(CallbackError::Forged));
    }

    #[tokio::test]
    async fn an_edited_token_is_forged_and_an_unknown_or_old_one_stale() {
        let store = memory_store().await;
        let data = sealed(&store, &codec(), DocumentButton::Document(LONG_ID.into())).await;
        let flipped = if data.as_bytes()[1] == b'A' { 'B' } else { 'A' };
        let edited = format!("~{flipped}{}", &data[2..]);
        assert_eq!(codec().open(&store, &edited, 2, 5001, t0()).await.unwrap(), Err(CallbackError::Forged));
        // After /logout (the epoch moved on) the button is stale like any other.
        assert_eq!(codec().open(&store, &data, 3, 5001, t0()).await.unwrap(), Err(CallbackError::Stale));
        // A token the store no longer has (purged, or deleted by /forget): stale.
        let unknown = codec().encode(Payload("~AAAAAAAAAAAAAAAA".to_owned()), 2, 5001);
        assert_eq!(codec().open(&store, &unknown, 2, 5001, t0()).await.unwrap(), Err(CallbackError::Stale));
    }

    #[tokio::test]
    async fn long_order_numbers_and_ids_are_read_back() {
        let store = memory_store().await;
        for button in [OrderButton::Details(LONG_ID.into()), OrderButton::Map(LONG_ID.into())] {
            let data = sealed(&store, &codec(), button.clone()).await;
            assert!(data.len() <= MAX_DATA_BYTES);
            assert_eq!(codec().decode_payload::<OrderButton>(&store, &data).await, Some(button));
        }
        let slot = BookingButton::MoveSlot { booking: LONG_ID.into(), staff: LONG_ID.into(), at: 1_736_589_600 };
        let data = sealed(&store, &codec(), slot.clone()).await;
        assert_eq!(codec().decode_payload::<BookingButton>(&store, &data).await, Some(slot));
    }

    #[tokio::test]
    async fn ids_of_any_shape_are_escaped_and_read_back() {
        assert_eq!(DocumentButton::Document("INV/2024/001".into()).encode(), "d:INV%2F2024%2F001");
        let store = memory_store().await;
        let longest = "я".repeat(MAX_ID_LEN);
        for doc in ["INV/2024/001", "Акт № 12 за декабрь", "a:b|c%d~e", longest.as_str()] {
            let button = DocumentButton::Document(doc.into());
            let data = sealed(&store, &codec(), button.clone()).await;
            assert!(data.len() <= MAX_DATA_BYTES, "{data}");
            assert_eq!(codec().decode_payload::<DocumentButton>(&store, &data).await, Some(button));
        }
        let slot = BookingButton::MoveSlot { booking: "B:1/2".into(), staff: "Мария".into(), at: 1_736_589_600 };
        let data = sealed(&store, &codec(), slot.clone()).await;
        assert_eq!(codec().decode_payload::<BookingButton>(&store, &data).await, Some(slot));
        // Too long, a control character, or a byte that should have been escaped: not ours.
        for payload in [format!("d:{}", "a".repeat(MAX_ID_LEN + 1)), "d:a%0Ab".into(), "d:a/b".into(), "d:".into()] {
            assert_eq!(DocumentButton::decode(&payload), None, "{payload}");
        }
    }

    #[test]
    fn another_key_does_not_verify() {
        let data = codec().encode(GeneralButton::Consent, 0, 1);
        assert_eq!(CallbackCodec::new(b"other").decode::<GeneralButton>(&data, 0, 1), Err(CallbackError::Forged));
    }
}
