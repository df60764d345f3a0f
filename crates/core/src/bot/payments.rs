//! F10 top-up: «Пополнить» asks for the amount (buttons or a typed amount), then gives a
//! payment link from the billing, or a Telegram invoice when a payment provider is configured.
//! An invoice is checked again at pre-checkout (this customer's, this amount, not paid yet) and
//! credited through the billing once per Telegram charge id, however often the payment arrives.
//!
//! Owns [`PaymentButton`] (read in [`buttons`]), the question of the amount (the
//! `AwaitingTopUpAmount` state: [`answers_amount`], [`on_amount`]), the pre-checkout query and
//! the successful payment.
//!
//! ```text
//! [Пополнить]
//! < На какую сумму пополнить баланс? Выберите или напишите сумму.   [1 000 ₸] [2 000 ₸] [5 000 ₸]
//! > 2500
//! < Оплата 2 500 ₸: перейдите по ссылке.                            [Оплатить 2 500 ₸]
//! ```

use std::sync::Arc;

use rust_decimal::Decimal;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery, SuccessfulPayment};

use super::keyboards::{ButtonKind, pressed, tag_and_arg};
use super::speaker::Speaker;
use super::state::State;
use super::understanding::{classify, is_cancel, moves_on};
use super::{Ctx, HandlerResult, Turn, shop};
use crate::adapters::{CustomerId, LocalizedText};
use crate::domain::money::{format_money, from_minor, to_minor};
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::Intent;
use crate::store::TopUpPayment;

/// The invoice payload's prefix; the rest is the payment's reference.
const PAYLOAD_PREFIX: &str = "topup:";

/// The top-up buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PaymentButton {
    /// «Пополнить».
    TopUp,
    /// Top up by this many whole currency units.
    Amount(u32),
}

impl ButtonKind for PaymentButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        &[Capability::Billing]
    }

    const TAGS: &'static [&'static str] = &["t", "ta"];

    fn encode(&self) -> String {
        match self {
            PaymentButton::TopUp => "t".into(),
            PaymentButton::Amount(amount) => format!("ta:{amount}"),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("t", "") => PaymentButton::TopUp,
            ("ta", amount) => PaymentButton::Amount(amount.parse().ok().filter(|a| (1..=100_000_000).contains(a))?),
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<PaymentButton>().endpoint(|turn: Turn, button: PaymentButton| async move {
        match button {
            PaymentButton::TopUp => ask_amount(&turn).await,
            PaymentButton::Amount(amount) => pay(&turn, Decimal::from(amount)).await,
        }
    })
}

/// «Пополнить»: amount buttons, or a typed amount.
pub(super) async fn ask_amount(turn: &Turn) -> HandlerResult {
    let settings = &turn.ctx.settings;
    let currency = settings.currency.as_str();
    let buttons: Vec<(String, PaymentButton)> = settings
        .top_up
        .amounts
        .iter()
        .map(|a| (format_money(Decimal::from(*a), currency, turn.locale), PaymentButton::Amount(*a)))
        .collect();
    turn.set_state(State::AwaitingTopUpAmount).await?;
    turn.say_with(turn.t("top-up-ask", &[]), turn.buttons().markup(vec![buttons])).await?;
    Ok(())
}

/// Why a typed amount was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountError {
    /// Not a number at all (letters, symbols).
    NotANumber,
    /// Zero or negative.
    NotPositive,
    TooSmall,
    TooLarge,
}

/// A typed amount: digits with spaces between thousands, an optional decimal part of up to two
/// digits, and an optional currency word or sign («2 500», «2500 тг», «1500.50 ₸», "₸2,000").
pub(crate) fn parse_amount(text: &str, min: u32, max: u32) -> Result<Decimal, AmountError> {
    let lowered = text.trim().to_lowercase();
    let mut s = lowered.as_str();
    for suffix in ["тенге", "tenge", "тнг", "тг", "kzt", "₸", "руб", "р"] {
        if let Some(rest) = s.strip_suffix(suffix) {
            s = rest.trim_end_matches('.').trim();
            break;
        }
    }
    s = s.strip_prefix('₸').unwrap_or(s).trim();
    let negative = s.starts_with('-') || s.starts_with('−');
    let s = s.trim_start_matches(['-', '−', '+']).trim();
    // Thousands separators: spaces of any kind, or commas before exactly three digits.
    let compact: String = s.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}').collect();
    let (whole, fraction) = match compact.rsplit_once(['.', ',']) {
        Some((whole, fraction)) if fraction.len() == 3 && compact.contains(',') && !compact.contains('.') => {
            (format!("{whole}{fraction}"), String::new())
        }
        Some((whole, fraction)) => (whole.to_owned(), fraction.to_owned()),
        None => (compact.clone(), String::new()),
    };
    let whole: String = whole.chars().filter(|c| *c != ',').collect();
    let digits_ok = !whole.is_empty()
        && whole.len() <= 12
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.chars().all(|c| c.is_ascii_digit());
    if !digits_ok {
        return Err(AmountError::NotANumber);
    }
    let amount: Decimal = format!("{whole}.{}", if fraction.is_empty() { "0" } else { &fraction })
        .parse()
        .map_err(|_| AmountError::NotANumber)?;
    if negative || amount <= Decimal::ZERO {
        return Err(AmountError::NotPositive);
    }
    if amount < Decimal::from(min) {
        return Err(AmountError::TooSmall);
    }
    if amount > Decimal::from(max) {
        return Err(AmountError::TooLarge);
    }
    Ok(amount.normalize())
}

/// «пополнить на 5000»: the amount named together with the request, when there is one.
pub(super) async fn start(turn: &Turn, text: Option<&str>) -> HandlerResult {
    let named = text.and_then(amount_in);
    match named {
        Some(amount) => {
            // A wrong amount is asked again; a good one leaves this state in `pay`.
            turn.set_state(State::AwaitingTopUpAmount).await?;
            if !on_amount_text(turn, &amount).await? {
                ask_amount(turn).await?;
            }
            Ok(())
        }
        None => ask_amount(turn).await,
    }
}

/// The number in a sentence («пополнить на 5 000 тг» → "5 000"), with its minus sign.
fn amount_in(text: &str) -> Option<String> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let signed = text[..start].trim_end().ends_with(['-', '−']);
    let rest = &text[start..];
    let end = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, ' ' | '\u{a0}' | '\u{202f}' | ',' | '.')))
        .map_or(rest.len(), |(i, _)| i);
    let number = rest[..end].trim_end_matches([' ', '\u{a0}', '\u{202f}', ',', '.']);
    Some(if signed { format!("-{number}") } else { number.to_owned() })
}

/// Whether a message answers «На какую сумму?»: «отмена», a try at an amount, or anything
/// that does not clearly ask for something else (which leaves the question).
pub(super) fn answers_amount(turn: Turn, text: String) -> bool {
    is_cancel(&text) || has_digit(&text) || !moves_on(&classify(&turn, &text), Intent::TopUp)
}

/// The answer to «На какую сумму?».
pub(super) async fn on_amount(turn: Turn, text: String) -> HandlerResult {
    let (turn, text) = (&turn, text.as_str());
    if is_cancel(text) {
        turn.set_state(State::ready()).await?;
        return turn.say(turn.t("top-up-cancelled", &[])).await.map(drop);
    }
    if on_amount_text(turn, text).await? {
        return Ok(());
    }
    turn.say(turn.t("top-up-not-a-number", &[])).await.map(drop)
}

fn has_digit(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
}

/// A message while the amount is asked: an amount, or a try at one. Returns `false` when the
/// text has no digit at all (the caller handles it).
async fn on_amount_text(turn: &Turn, text: &str) -> Result<bool, crate::error::BotError> {
    let top_up = &turn.ctx.settings.top_up;
    if !has_digit(text) {
        return Ok(false);
    }
    match parse_amount(text, top_up.min, top_up.max) {
        Ok(amount) => {
            pay(turn, amount).await?;
        }
        Err(error) => {
            let currency = turn.ctx.settings.currency.as_str();
            let args = [
                ("min", Arg::from(format_money(Decimal::from(top_up.min), currency, turn.locale))),
                ("max", Arg::from(format_money(Decimal::from(top_up.max), currency, turn.locale))),
            ];
            let key = match error {
                AmountError::NotANumber => "top-up-not-a-number",
                AmountError::NotPositive => "top-up-not-positive",
                AmountError::TooSmall => "top-up-too-small",
                AmountError::TooLarge => "top-up-too-large",
            };
            turn.say(turn.t(key, &args)).await?;
        }
    }
    Ok(true)
}

/// An amount chosen: a Telegram invoice or the billing's payment link.
pub(super) async fn pay(turn: &Turn, amount: Decimal) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let top_up = &turn.ctx.settings.top_up;
    if amount < Decimal::from(top_up.min) || amount > Decimal::from(top_up.max) {
        return turn.say(turn.t("top-up-not-positive", &[])).await.map(drop);
    }
    turn.set_state(State::ready()).await?;
    let requested = request(&turn.speaker().await?, &id, amount).await?;
    turn.audit("top_up.request", Some(&requested.reference)).await?;
    requested.sent?;
    Ok(())
}

/// A top-up asked for: its reference, and how it is paid.
pub struct TopUpRequest {
    /// The payment's reference (the invoice's payload, the payment link's reference).
    pub reference: String,
    /// The billing's payment link (`None`: a Telegram invoice, the provider's way).
    pub link: Option<String>,
    /// Whether the invoice or the link's message reached the chat.
    pub sent: Result<(), BotError>,
}

/// Records a top-up of `amount` (checked by the caller) and sends into the chat a Telegram
/// invoice, when a payment provider is configured, else the billing's payment link — the
/// chat's top-up, and the Mini App's. An error of the billing or the database is the
/// function's; one of Telegram is in [`TopUpRequest::sent`].
pub async fn request(speaker: &Speaker, id: &CustomerId, amount: Decimal) -> Result<TopUpRequest, BotError> {
    let ctx = &speaker.ctx;
    let currency = ctx.settings.currency.clone();
    let reference = shop::new_key();
    let payment = TopUpPayment {
        reference: reference.clone(),
        telegram_user_id: speaker.user_id,
        customer_id: id.clone(),
        amount,
        currency: currency.clone(),
        created_at: ctx.clock.now(),
        paid: false,
    };
    ctx.store.create_top_up(&payment).await?;
    let shown = format_money(amount, &currency, speaker.locale);
    let pay_label = speaker.t("top-up-pay-button", &[("amount", Arg::from(shown.as_str()))]);
    match &ctx.settings.top_up.provider_token {
        Some(token) => {
            let title = speaker.t("top-up-invoice-title", &[]);
            let description = speaker.t("top-up-invoice-description", &[("account", Arg::Raw(id.to_string()))]);
            let minor = to_minor(amount);
            let prices = vec![LabeledPrice::new(title.clone(), u32::try_from(minor).unwrap_or(u32::MAX))];
            let sent = speaker
                .bot
                .send_invoice(
                    speaker.chat,
                    title,
                    description,
                    format!("{PAYLOAD_PREFIX}{reference}"),
                    currency,
                    prices,
                )
                .provider_token(token.clone())
                .reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::pay(pay_label)]]))
                .await
                .map(drop)
                .map_err(BotError::from);
            Ok(TopUpRequest { reference, link: None, sent })
        }
        None => {
            let billing = ctx.adapters.billing.clone();
            let link = ctx.adapters.call(billing.payment_link(id, amount, &reference)).await?;
            let url = url::Url::parse(&link)
                .map_err(|e| crate::adapters::AdapterError::Invalid(format!("payment link: {e}")))?;
            let markup = InlineKeyboardMarkup::new([[InlineKeyboardButton::url(pay_label, url)]]);
            let sent =
                speaker.say(speaker.t("top-up-link", &[("amount", Arg::from(shown))]), Some(markup)).await.map(drop);
            Ok(TopUpRequest { reference, link: Some(link), sent })
        }
    }
}

/// Pre-checkout: the last word before Telegram charges the card. Only an unpaid top-up of
/// this user, for exactly this amount and currency, goes through.
pub(super) async fn on_pre_checkout(bot: Bot, q: PreCheckoutQuery, ctx: Arc<Ctx>) -> HandlerResult {
    let user_id = q.from.id.0 as i64;
    let locale = match ctx.store.user(user_id).await? {
        Some(user) => user.locale,
        None => None,
    }
    .unwrap_or_else(|| {
        crate::domain::Locale::from_telegram(q.from.language_code.as_deref(), ctx.settings.default_locale)
    });
    let payment = match q.invoice_payload.strip_prefix(PAYLOAD_PREFIX) {
        Some(reference) => ctx.store.top_up(reference).await?,
        None => None,
    };
    let bound = ctx.store.binding(user_id).await?;
    let valid = payment.as_ref().is_some_and(|p| {
        !p.paid
            && p.telegram_user_id == user_id
            && bound.as_ref().is_some_and(|b| b.customer_id == p.customer_id)
            && p.currency == q.currency
            && i64::from(q.total_amount) == to_minor(p.amount)
    });
    if valid {
        bot.answer_pre_checkout_query(q.id, true).await?;
    } else {
        tracing::info!(user = user_id, "a pre-checkout query was declined");
        bot.answer_pre_checkout_query(q.id, false).error_message(ctx.i18n.t(locale, "top-up-declined", &[])).await?;
    }
    Ok(())
}

/// Telegram charged the card: credit the account once per charge.
pub(super) async fn on_successful_payment(turn: Turn, payment: SuccessfulPayment) -> HandlerResult {
    let (turn, payment) = (&turn, &payment);
    let reference = payment.invoice_payload.strip_prefix(PAYLOAD_PREFIX).unwrap_or_default();
    let record = turn.ctx.store.top_up(reference).await?;
    let Some(record) = record.filter(|r| r.telegram_user_id == turn.user_id) else {
        tracing::warn!(chat = turn.chat.0, "a payment for an unknown top-up arrived");
        turn.audit("top_up.unknown_payment", Some(&payment.telegram_payment_charge_id.0)).await?;
        return turn.say(turn.t("top-up-unknown-payment", &[])).await.map(drop);
    };
    let amount = from_minor(i64::from(payment.total_amount));
    let charge = payment.telegram_payment_charge_id.0.clone();
    let title = LocalizedText(
        [("ru", "Пополнение через Telegram"), ("en", "Top-up via Telegram")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    let billing = turn.ctx.adapters.billing.clone();
    // Credited first (once per charge id), marked paid second: a crash in between is
    // repaired by the next delivery of the same payment.
    let credited = turn.call(billing.credit_payment(&record.customer_id, amount, &charge, &title)).await?;
    turn.ctx.store.mark_top_up_paid(&record.reference, &charge, turn.ctx.clock.now()).await?;
    let currency = record.currency.as_str();
    match credited {
        Some(balance) => {
            turn.audit("top_up.paid", Some(&record.reference)).await?;
            let args = [
                ("amount", Arg::from(format_money(amount, currency, turn.locale))),
                ("balance", Arg::from(format_money(balance, currency, turn.locale))),
            ];
            turn.say(turn.t("top-up-paid", &args)).await?;
        }
        None => {
            turn.say(turn.t("top-up-already-credited", &[])).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Result<Decimal, AmountError> {
        parse_amount(text, 100, 500_000)
    }

    #[test]
    fn amounts_are_read_as_people_write_them() {
        assert_eq!(amount("2500"), Ok(Decimal::from(2500)));
        assert_eq!(amount("2 500"), Ok(Decimal::from(2500)));
        assert_eq!(amount("2\u{a0}500 ₸"), Ok(Decimal::from(2500)));
        assert_eq!(amount("2500 тг"), Ok(Decimal::from(2500)));
        assert_eq!(amount("2500 тенге"), Ok(Decimal::from(2500)));
        assert_eq!(amount("₸2,000"), Ok(Decimal::from(2000)));
        assert_eq!(amount("1500.50"), Ok("1500.5".parse().unwrap()));
        assert_eq!(amount("1500,5"), Ok("1500.5".parse().unwrap()));
    }

    #[test]
    fn an_amount_is_found_inside_a_request() {
        assert_eq!(amount_in("пополнить на 5000").as_deref(), Some("5000"));
        assert_eq!(amount_in("пополни баланс на 5 000 тг.").as_deref(), Some("5 000"));
        assert_eq!(amount_in("top up 2,000, please").as_deref(), Some("2,000"));
        assert_eq!(amount_in("пополнить на -300").as_deref(), Some("-300"));
        assert_eq!(amount_in("пополнить баланс"), None);
    }

    #[test]
    fn zero_negative_absurd_and_letters_are_refused() {
        assert_eq!(amount("0"), Err(AmountError::NotPositive));
        assert_eq!(amount("-500"), Err(AmountError::NotPositive));
        assert_eq!(amount("−500"), Err(AmountError::NotPositive));
        assert_eq!(amount("50"), Err(AmountError::TooSmall));
        assert_eq!(amount("99999999999"), Err(AmountError::TooLarge));
        assert_eq!(amount("1e9"), Err(AmountError::NotANumber));
        assert_eq!(amount("100abc"), Err(AmountError::NotANumber));
        assert_eq!(amount("пятьсот"), Err(AmountError::NotANumber));
        assert_eq!(amount("12.345"), Err(AmountError::NotANumber));
        assert_eq!(amount("9999999999999999999999"), Err(AmountError::NotANumber));
        assert_eq!(amount(""), Err(AmountError::NotANumber));
    }
}
