//! A notification's text and buttons, made at send time in the customer's language.

use chrono::NaiveDate;
use teloxide::types::InlineKeyboardMarkup;

use super::Message;
use crate::bot::Ctx;
use crate::bot::keyboards::Buttons;
use crate::domain::Locale;
use crate::domain::datetime::format_date;
use crate::domain::money::format_money;
use crate::i18n::{Arg, escape_html};

/// A notification as it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// HTML. For a document: what is sent when its file cannot be fetched.
    pub text: String,
    pub keyboard: Option<InlineKeyboardMarkup>,
}

/// A document's title in `locale` from the business's `titles` (the default language standing
/// in), else `fallback`.
pub(super) fn title_of(
    ctx: &Ctx,
    locale: Locale,
    titles: &std::collections::BTreeMap<String, String>,
    fallback: &str,
) -> String {
    titles
        .get(locale.as_str())
        .or_else(|| titles.get(ctx.settings.default_locale.as_str()))
        .or_else(|| titles.values().next())
        .map_or_else(|| fallback.to_owned(), String::clone)
}

/// The caption of a document's file, in `locale`.
pub(super) fn document_caption(ctx: &Ctx, locale: Locale, title: &str) -> String {
    ctx.i18n.t(locale, "notify-document", &[("title", Arg::from(title))])
}

/// Days from `today` to `date` (0 when past).
fn days_until(today: NaiveDate, date: NaiveDate) -> i64 {
    (date - today).num_days().max(0)
}

/// `message` in `locale`, with its buttons for the customer `buttons` signs for; `located`:
/// the order it is about can be shown on the map.
pub(super) fn render(ctx: &Ctx, locale: Locale, message: &Message, buttons: &Buttons<'_>, located: bool) -> Rendered {
    let t = |key: &str, args: &[(&str, Arg)]| ctx.i18n.t(locale, key, args);
    let text = match message {
        Message::PaymentDue { date, amount, currency } => {
            let today = ctx.local_now().date();
            t(
                "notify-payment-due",
                &[
                    ("days", Arg::from(days_until(today, *date))),
                    ("date", Arg::from(format_date(*date, locale))),
                    ("amount", Arg::from(format_money(*amount, currency, locale))),
                ],
            )
        }
        Message::LowBalance { balance, currency, days } => t(
            "notify-low-balance",
            &[("balance", Arg::from(format_money(*balance, currency, locale))), ("days", Arg::from(*days))],
        ),
        Message::OrderUpdate { number, status, tracking, carrier } => {
            let mut text = match status {
                None => t("notify-order-update", &[("number", Arg::from(number.as_str()))]),
                Some(status) => {
                    let label = match status {
                        crate::adapters::OrderStatus::Other(raw) => {
                            t("order-status-other", &[("status", Arg::from(raw.as_str()))])
                        }
                        known => t(&format!("order-status-{}", known.as_str().replace('_', "-")), &[]),
                    };
                    t("notify-order-status", &[("number", Arg::from(number.as_str())), ("status", Arg::Raw(label))])
                }
            };
            if let Some(tracking) = tracking {
                let carrier = carrier.as_deref().unwrap_or("—");
                let line =
                    t("order-tracking", &[("tracking", Arg::from(tracking.as_str())), ("carrier", Arg::from(carrier))]);
                text.push('\n');
                text.push_str(&line);
            }
            text
        }
        Message::Text { texts } => texts
            .get(locale.as_str())
            .or_else(|| texts.get(ctx.settings.default_locale.as_str()))
            .or_else(|| texts.values().next())
            .map_or_else(String::new, |text| escape_html(text)),
        Message::BookingUpdate { change, start, .. } => {
            let when = start.map_or_else(
                || "none".to_owned(),
                |start| crate::domain::datetime::format_date_time(ctx.to_local(start), locale),
            );
            t("event-booking-changed", &[("change", Arg::from(change.as_str())), ("when", Arg::Raw(when))])
        }
        Message::Document { document_id, titles } => {
            let title = title_of(ctx, locale, titles, document_id);
            t("notify-document-unavailable", &[("title", Arg::from(title.as_str()))])
        }
    };
    Rendered { text, keyboard: crate::bot::notifications::keyboard(ctx, locale, buttons, message, located) }
}
