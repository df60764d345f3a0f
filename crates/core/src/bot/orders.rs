//! F4 order status and F5 order history. An order number typed by a customer is looked up
//! only among their own orders; a foreign and an unknown number get the same answer, and an
//! audit entry. Owns [`OrderButton`] (read in [`buttons`]): paging, details, the map.
//!
//! ```text
//! > где мой заказ?
//! < Заказ №78234 от 10 января — в пути
//!   Трек-номер: 1234567890 (CDEK)
//!   Доставка: 12 января, 10:00–14:00 …               [Показать на карте] [Подробнее]
//! > что с заказом 78300                               (another customer's)
//! < Не нашёл такой заказ. Проверьте номер …
//! > мои заказы
//! < Ваши заказы (1–3 из 3): …                        [№78234] [№78110] [№77501]
//! ```

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId};

use super::documents::DocumentButton;
use super::keyboards::{ButtonKind, Payload, arg, order_number, pressed, tag_and_arg};
use super::shop::ShopButton;
use super::{HandlerResult, Turn};
use crate::adapters::{CustomerId, Order, OrderCancellation, OrderStatus};
use crate::domain::datetime::{format_date, format_date_time, format_time};
use crate::domain::money::format_money;
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};

/// The order buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum OrderButton {
    /// A page of the order history (0-based).
    Page(u32),
    /// An order's details.
    Details(String),
    /// "Show on the map" for an order.
    Map(String),
    /// «Отменить заказ»: which one (asks to confirm).
    CancelAsk(String),
    /// «Да, отменить».
    CancelYes(String),
    /// The backend would not cancel it: a person is asked.
    CancelPerson(String),
}

impl ButtonKind for OrderButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        &[Capability::Logistics]
    }

    const TAGS: &'static [&'static str] = &["p", "o", "g", "xa", "xy", "xp"];

    fn encode(&self) -> String {
        match self {
            OrderButton::Page(page) => format!("p:{page}"),
            OrderButton::Details(number) => format!("o:{}", arg(number)),
            OrderButton::Map(number) => format!("g:{}", arg(number)),
            OrderButton::CancelAsk(number) => format!("xa:{}", arg(number)),
            OrderButton::CancelYes(number) => format!("xy:{}", arg(number)),
            OrderButton::CancelPerson(number) => format!("xp:{}", arg(number)),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("p", page) => OrderButton::Page(page.parse().ok().filter(|p| *p < 10_000)?),
            ("o", number) => OrderButton::Details(order_number(number)?),
            ("g", number) => OrderButton::Map(order_number(number)?),
            ("xa", number) => OrderButton::CancelAsk(order_number(number)?),
            ("xy", number) => OrderButton::CancelYes(order_number(number)?),
            ("xp", number) => OrderButton::CancelPerson(order_number(number)?),
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<OrderButton>().endpoint(|turn: Turn, message: Message, button: OrderButton| async move {
        match button {
            // Paging edits the history in place.
            OrderButton::Page(page) => history(&turn, page, Some(message.id)).await,
            OrderButton::Details(number) => details(&turn, &number).await,
            OrderButton::Map(number) => map(&turn, &number).await,
            OrderButton::CancelAsk(number) => cancel_request(&turn, Some(&number)).await,
            OrderButton::CancelYes(number) => cancel(&turn, &number).await,
            OrderButton::CancelPerson(number) => {
                super::staff::escalate(&turn, super::staff::Reason::CancelOrder, Some(&number)).await
            }
        }
    })
}

fn customer(turn: &Turn) -> Option<CustomerId> {
    turn.binding.as_ref().map(|b| b.customer_id.clone())
}

fn status_text(turn: &Turn, status: &OrderStatus) -> String {
    match status {
        OrderStatus::Other(raw) => turn.t("order-status-other", &[("status", Arg::from(raw.as_str()))]),
        known => turn.t(&format!("order-status-{}", known.as_str().replace('_', "-")), &[]),
    }
}

/// The status card of one order: number, date, status, tracking, window, courier, note.
fn order_card(turn: &Turn, order: &Order) -> String {
    let locale = turn.locale;
    let created = turn.ctx.to_local(order.created).date();
    let mut lines = vec![turn.t(
        "order-card-title",
        &[
            ("number", Arg::from(order.number.as_str())),
            ("date", Arg::from(format_date(created, locale))),
            ("status", Arg::from(status_text(turn, &order.status))),
        ],
    )];
    if let Some(delivery) = &order.delivery {
        if let Some(tracking) = &delivery.tracking {
            let carrier = delivery.carrier.clone().unwrap_or_default();
            lines.push(
                turn.t(
                    "order-tracking",
                    &[("tracking", Arg::from(tracking.as_str())), ("carrier", Arg::from(carrier))],
                ),
            );
        }
        if let (Some(from), Some(to)) = (delivery.eta_from, delivery.eta_to) {
            let (from, to) = (turn.ctx.to_local(from), turn.ctx.to_local(to));
            let window = if from.date() == to.date() {
                format!("{}–{}", format_date_time(from, locale), format_time(to))
            } else {
                format!("{} – {}", format_date_time(from, locale), format_date_time(to, locale))
            };
            lines.push(turn.t("order-window", &[("window", Arg::from(window))]));
        }
        if let Some(courier) = &delivery.courier {
            // "+7 701 234 56 78"; what the delivery system sent when it is no phone number.
            let phone = courier
                .phone
                .as_deref()
                .map(|p| crate::domain::Phone::parse(p).map_or_else(|_| p.to_owned(), |p| p.pretty()))
                .unwrap_or_default();
            lines.push(
                turn.t("order-courier", &[("name", Arg::from(courier.name.as_str())), ("phone", Arg::from(phone))]),
            );
        }
        if let Some(note) = &delivery.note {
            let note = note.get(locale);
            if !note.is_empty() {
                lines.push(escape_html(note));
            }
        }
    }
    if let Some(delivered) = order.delivered_at {
        let at = format_date(turn.ctx.to_local(delivered).date(), locale);
        lines.push(turn.t("order-delivered-at", &[("date", Arg::from(at))]));
    }
    lines.join("\n")
}

fn card_buttons(turn: &Turn, order: &Order) -> InlineKeyboardMarkup {
    let mut row = Vec::new();
    if order.delivery.as_ref().is_some_and(|d| d.location.is_some()) {
        row.push((turn.t("order-map-button", &[]), OrderButton::Map(order.number.clone())));
    }
    row.push((turn.t("order-details-button", &[]), OrderButton::Details(order.number.clone())));
    turn.buttons().markup(vec![row])
}

/// The customer's active orders, one card each.
pub(super) async fn active(turn: &Turn) -> HandlerResult {
    let Some(id) = customer(turn) else { return Ok(()) };
    let logistics = turn.ctx.adapters.logistics.clone();
    let orders = turn.call(logistics.active_orders(&id)).await?;
    turn.audit("orders.active", None).await?;
    if orders.is_empty() {
        let markup = turn.buttons().markup(vec![vec![(turn.t("menu-order-history", &[]), OrderButton::Page(0))]]);
        turn.say_with(turn.t("orders-none-active", &[]), markup).await?;
        return Ok(());
    }
    for order in &orders {
        turn.say_with(order_card(turn, order), card_buttons(turn, order)).await?;
    }
    Ok(())
}

/// "Что с заказом 12345": that order, only if it is the customer's own.
pub(super) async fn one(turn: &Turn, number: &str) -> HandlerResult {
    let Some(order) = own_order(turn, number).await? else { return Ok(()) };
    turn.say_with(order_card(turn, &order), card_buttons(turn, &order)).await?;
    Ok(())
}

/// The order among the customer's own, or the not-found answer (and an audit entry).
async fn own_order(turn: &Turn, number: &str) -> Result<Option<Order>, crate::error::BotError> {
    let Some(id) = customer(turn) else { return Ok(None) };
    let number: String = number.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
    let logistics = turn.ctx.adapters.logistics.clone();
    let found = if number.is_empty() { None } else { turn.call(logistics.order(&id, &number)).await? };
    match found {
        Some(order) => {
            turn.audit("order.read", Some(&number)).await?;
            Ok(Some(order))
        }
        None => {
            turn.audit("order.not_found", Some(&number)).await?;
            turn.say(turn.t("order-not-found", &[("number", Arg::from(number))])).await?;
            Ok(None)
        }
    }
}

/// The first page of the order history.
pub(super) async fn first_page(turn: &Turn) -> HandlerResult {
    history(turn, 0, None).await
}

/// A page of the order history: sent anew, or edited in place when paging.
pub(super) async fn history(turn: &Turn, page: u32, edit: Option<MessageId>) -> HandlerResult {
    let Some(id) = customer(turn) else { return Ok(()) };
    let size = turn.ctx.settings.orders_page_size.max(1);
    let logistics = turn.ctx.adapters.logistics.clone();
    let result = turn.call(logistics.orders(&id, page.saturating_mul(size), size)).await?;
    turn.audit("orders.history", Some(&page.to_string())).await?;
    if result.total == 0 {
        return turn.say(turn.t("orders-none", &[])).await.map(drop);
    }
    let locale = turn.locale;
    let first = page * size + 1;
    let last = first + result.orders.len() as u32 - 1;
    let mut text = turn.t(
        "orders-history-title",
        &[("from", Arg::from(first)), ("to", Arg::from(last.max(first))), ("total", Arg::from(result.total))],
    );
    let mut rows = Vec::new();
    for order in &result.orders {
        let args = [
            ("number", Arg::from(order.number.as_str())),
            ("date", Arg::from(format_date(turn.ctx.to_local(order.created).date(), locale))),
            ("total", Arg::from(format_money(order.total, &result.currency, locale))),
            ("status", Arg::from(status_text(turn, &order.status))),
        ];
        text.push('\n');
        text.push_str(&turn.t("orders-history-line", &args));
        rows.push(vec![(
            turn.t("order-open-button", &[("number", Arg::from(order.number.as_str()))]),
            OrderButton::Details(order.number.clone()),
        )]);
    }
    let mut nav = Vec::new();
    if page > 0 {
        nav.push((turn.t("page-previous", &[]), OrderButton::Page(page - 1)));
    }
    if last < result.total {
        nav.push((turn.t("page-next", &[]), OrderButton::Page(page + 1)));
    }
    if !nav.is_empty() {
        rows.push(nav);
    }
    let markup = turn.buttons().markup(rows);
    match edit {
        Some(message_id) => turn.edit(message_id, text, markup).await,
        None => turn.say_with(text, markup).await.map(drop),
    }
}

/// An order's details: the card, its items and total.
pub(super) async fn details(turn: &Turn, number: &str) -> HandlerResult {
    let Some(order) = own_order(turn, number).await? else { return Ok(()) };
    let locale = turn.locale;
    let mut text = order_card(turn, &order);
    text.push_str("\n\n");
    text.push_str(&turn.t("order-items", &[]));
    for item in &order.items {
        let args = [
            ("name", Arg::from(item.name.get(locale))),
            ("qty", Arg::Num(item.qty)),
            ("price", Arg::from(format_money(item.price, &order.currency, locale))),
        ];
        text.push('\n');
        text.push_str(&turn.t("order-item", &args));
    }
    text.push('\n');
    text.push_str(&turn.t("order-total", &[("total", Arg::from(format_money(order.total, &order.currency, locale)))]));
    if let Some(address) = order.delivery.as_ref().and_then(|d| d.address.as_deref()) {
        text.push('\n');
        text.push_str(&turn.t("order-address", &[("address", Arg::from(address))]));
    }
    let mut row: Vec<(String, Payload)> = Vec::new();
    if order.delivery.as_ref().is_some_and(|d| d.location.is_some()) {
        row.push((turn.t("order-map-button", &[]), OrderButton::Map(order.number.clone()).into()));
    }
    // Repeating needs the shop, the order's documents the documents.
    let capabilities = turn.ctx.settings.capabilities;
    if capabilities.shop {
        row.push((turn.t("order-repeat-button", &[]), ShopButton::Repeat(order.number.clone()).into()));
    }
    if capabilities.documents {
        row.push((turn.t("order-documents-button", &[]), DocumentButton::OfOrder(order.number.clone()).into()));
    }
    let back = vec![(turn.t("orders-back-button", &[]), OrderButton::Page(0).into())];
    turn.say_with(text, turn.buttons().markup(vec![row, back])).await?;
    Ok(())
}

/// «Показать на карте»: the courier's location when the logistics gives one.
pub(super) async fn map(turn: &Turn, number: &str) -> HandlerResult {
    let Some(order) = own_order(turn, number).await? else { return Ok(()) };
    match order.delivery.and_then(|d| d.location) {
        Some((lat, lon)) => {
            turn.bot.send_location(turn.chat, lat, lon).await?;
        }
        None => {
            turn.say(turn.t("order-no-location", &[])).await?;
        }
    }
    Ok(())
}

/// «Отмените заказ 78234» / «отмените заказ»: the order to cancel, confirmed with a button;
/// without a number, the customer's active orders to choose from.
pub(super) async fn cancel_request(turn: &Turn, number: Option<&str>) -> HandlerResult {
    if let Some(number) = number {
        let Some(order) = own_order(turn, number).await? else { return Ok(()) };
        return ask_to_cancel(turn, &order).await;
    }
    let Some(id) = customer(turn) else { return Ok(()) };
    let logistics = turn.ctx.adapters.logistics.clone();
    let orders = turn.call(logistics.active_orders(&id)).await?;
    turn.audit("orders.active", None).await?;
    match orders.as_slice() {
        [] => {
            turn.say(turn.t("order-cancel-none", &[])).await?;
        }
        [order] => ask_to_cancel(turn, order).await?,
        several => {
            let rows = several
                .iter()
                .take(10)
                .map(|order| {
                    let date = format_date(turn.ctx.to_local(order.created).date(), turn.locale);
                    let label = turn.t(
                        "order-cancel-choice",
                        &[("number", Arg::from(order.number.as_str())), ("date", Arg::from(date))],
                    );
                    vec![(label, OrderButton::CancelAsk(order.number.clone()))]
                })
                .collect();
            turn.say_with(turn.t("order-cancel-choose", &[]), turn.buttons().markup(rows)).await?;
        }
    }
    Ok(())
}

async fn ask_to_cancel(turn: &Turn, order: &Order) -> HandlerResult {
    if !order.status.is_active() {
        turn.say(turn.t(
            "order-cancel-not-active",
            &[("number", Arg::from(order.number.as_str())), ("status", Arg::from(status_text(turn, &order.status)))],
        ))
        .await?;
        return Ok(());
    }
    let date = format_date(turn.ctx.to_local(order.created).date(), turn.locale);
    let text = turn.t(
        "order-cancel-ask",
        &[
            ("number", Arg::from(order.number.as_str())),
            ("date", Arg::from(date)),
            ("status", Arg::from(status_text(turn, &order.status))),
            ("total", Arg::from(format_money(order.total, &order.currency, turn.locale))),
        ],
    );
    let yes = vec![(turn.t("order-cancel-yes-button", &[]), OrderButton::CancelYes(order.number.clone()))];
    turn.say_with(text, turn.buttons().markup(vec![yes])).await?;
    Ok(())
}

/// «Да, отменить»: the backend cancels the order, or says why not (a person is offered).
pub(super) async fn cancel(turn: &Turn, number: &str) -> HandlerResult {
    let Some(id) = customer(turn) else { return Ok(()) };
    let logistics = turn.ctx.adapters.logistics.clone();
    let outcome = turn.call(logistics.cancel_order(&id, number)).await?;
    turn.audit("order.cancel", Some(number)).await?;
    let args = [("number", Arg::from(number))];
    let person = || {
        turn.buttons().markup(vec![vec![(
            turn.t("order-cancel-person-button", &[]),
            OrderButton::CancelPerson(number.to_string()),
        )]])
    };
    match outcome {
        OrderCancellation::Cancelled => {
            turn.say(turn.t("order-cancel-done", &args)).await?;
        }
        OrderCancellation::TooLate(OrderStatus::Cancelled) => {
            turn.say(turn.t("order-cancel-already", &args)).await?;
        }
        OrderCancellation::TooLate(status) => {
            let args = [("number", Arg::from(number)), ("status", Arg::from(status_text(turn, &status)))];
            turn.say_with(turn.t("order-cancel-too-late", &args), person()).await?;
        }
        OrderCancellation::Unsupported => {
            turn.say_with(turn.t("order-cancel-unsupported", &args), person()).await?;
        }
        OrderCancellation::NotFound => {
            turn.say(turn.t("order-not-found", &args)).await?;
        }
    }
    Ok(())
}
