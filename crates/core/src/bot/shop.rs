//! F8 repeat order and the order button of a personal offer (F11): the items at today's
//! prices, what is out of stock named and left out, the total and the delivery address, then
//! Confirm / Cancel. Confirm places the order through the shop with the draft's key as its
//! idempotency key, so a double tap places one order. Owns [`ShopButton`] (read in
//! [`buttons`]).
//!
//! ```text
//! > повтори последний заказ
//! < Повторить заказ №78110 от 5 января:
//!   • Кофе Lavazza 1 кг × 1 — 1 290 ₸
//!   • Молоко 3.2% × 1 — 89 ₸
//!   Итого: 1 379 ₸
//!   Доставка: ул. Ленина 15, кв. 42                [Оформить заказ] [Отмена]
//! [Оформить]
//! < Заказ №78301 оформлен на 1 379 ₸.
//! ```

use rust_decimal::Decimal;
use teloxide::dispatching::UpdateHandler;

use super::keyboards::{ButtonKind, arg, id, order_number, pressed, tag_and_arg};
use super::speaker::Speaker;
use super::state::{Draft, State};
use super::{HandlerResult, Turn};
use crate::adapters::{CreatedOrder, NewOrder, Order, OrderRefusal, OrderSummary, Product};
use crate::domain::datetime::format_date;
use crate::domain::money::format_money;
use crate::error::BotError;
use crate::i18n::Arg;

/// The shop's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ShopButton {
    /// Repeat this order (prices as of now).
    Repeat(String),
    /// Order the product of a personal offer.
    Offer(String),
    /// Place the drafted order with this idempotency key.
    Confirm(String),
    /// Drop the drafted order.
    Cancel,
}

impl ButtonKind for ShopButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        match self {
            // Repeating an order needs the orders too.
            ShopButton::Repeat(_) => &[Capability::Shop, Capability::Logistics],
            _ => &[Capability::Shop],
        }
    }

    const TAGS: &'static [&'static str] = &["r", "f", "oc", "ox"];

    fn encode(&self) -> String {
        match self {
            ShopButton::Repeat(number) => format!("r:{}", arg(number)),
            ShopButton::Offer(sku) => format!("f:{}", arg(sku)),
            ShopButton::Confirm(key) => format!("oc:{}", arg(key)),
            ShopButton::Cancel => "ox".into(),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("r", number) => ShopButton::Repeat(order_number(number)?),
            ("f", sku) => ShopButton::Offer(id(sku)?),
            ("oc", key) => ShopButton::Confirm(id(key)?),
            ("ox", "") => ShopButton::Cancel,
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<ShopButton>().endpoint(|turn: Turn, button: ShopButton| async move {
        match button {
            ShopButton::Repeat(number) => repeat_number(&turn, &number).await,
            ShopButton::Offer(sku) => order_offer(&turn, &sku).await,
            ShopButton::Confirm(key) => confirm(&turn, &key).await,
            ShopButton::Cancel => cancel(&turn).await,
        }
    })
}

/// «Повтори последний заказ»: the last delivered order, named with why it is the one; when
/// the newest order is another (under way or cancelled), a button to repeat that one instead.
pub(super) async fn repeat_last(turn: &Turn) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let shop = turn.ctx.adapters.shop.clone();
    let delivered = turn.call(shop.last_delivered_order(&id)).await?;
    let newest = if turn.ctx.settings.capabilities.logistics {
        let logistics = turn.ctx.adapters.logistics.clone();
        turn.call(logistics.orders(&id, 0, 1)).await?.orders.into_iter().next()
    } else {
        None
    };
    let other = newest.filter(|n| delivered.as_ref().is_none_or(|d| d.number != n.number));
    let offer = other.as_ref().map(|n| newest_offer(turn, n));
    match delivered {
        Some(order) => {
            turn.audit("order.read", Some(&order.number)).await?;
            let date = format_date(turn.ctx.to_local(order.created).date(), turn.locale);
            let heading = turn
                .t("repeat-last-heading", &[("number", Arg::from(order.number.as_str())), ("date", Arg::from(date))]);
            let wanted: Vec<(String, i64)> = order.items.iter().map(|i| (i.sku.clone(), i.qty)).collect();
            let address = order.delivery.as_ref().and_then(|d| d.address.clone());
            propose_with(turn, heading, &wanted, address, offer).await
        }
        None => {
            let mut text = turn.t("repeat-nothing", &[]);
            match offer {
                Some((note, row)) => {
                    text.push('\n');
                    text.push_str(&note);
                    turn.say_with(text, turn.buttons().markup(vec![row])).await.map(drop)
                }
                None => turn.say(text).await.map(drop),
            }
        }
    }
}

/// «Самый новый ваш заказ — №78234 от 10 января, он в пути» and its «Повторить №78234».
fn newest_offer(turn: &Turn, newest: &OrderSummary) -> (String, Vec<(String, ShopButton)>) {
    let status = turn.t(&format!("order-status-{}", newest.status.as_str().replace('_', "-")), &[]);
    let date = format_date(turn.ctx.to_local(newest.created).date(), turn.locale);
    let number = Arg::from(newest.number.as_str());
    let note = turn.t(
        "repeat-newest-offer",
        &[("number", number.clone()), ("date", Arg::from(date)), ("status", Arg::from(status))],
    );
    let button = turn.t("repeat-newest-button", &[("number", number)]);
    (note, vec![(button, ShopButton::Repeat(newest.number.clone()))])
}

/// «Повторить» on an order's details.
pub(super) async fn repeat_number(turn: &Turn, number: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let logistics = turn.ctx.adapters.logistics.clone();
    match turn.call(logistics.order(&id, number)).await? {
        Some(order) => {
            turn.audit("order.read", Some(number)).await?;
            propose_repeat(turn, &order).await
        }
        None => {
            turn.audit("order.not_found", Some(number)).await?;
            turn.say(turn.t("order-not-found", &[("number", Arg::from(number))])).await.map(drop)
        }
    }
}

/// «Заказать» on a personal offer: one unit of the offered product.
pub(super) async fn order_offer(turn: &Turn, sku: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let shop = turn.ctx.adapters.shop.clone();
    // Delivered where the customer's last order went.
    let address = turn.call(shop.last_delivered_order(&id)).await?.and_then(|o| o.delivery).and_then(|d| d.address);
    let wanted = vec![(sku.to_owned(), 1)];
    let heading = turn.t("offer-order-heading", &[]);
    propose(turn, heading, &wanted, address).await
}

async fn propose_repeat(turn: &Turn, order: &Order) -> HandlerResult {
    let wanted: Vec<(String, i64)> = order.items.iter().map(|i| (i.sku.clone(), i.qty)).collect();
    let address = order.delivery.as_ref().and_then(|d| d.address.clone());
    let date = format_date(turn.ctx.to_local(order.created).date(), turn.locale);
    let heading = turn.t("repeat-heading", &[("number", Arg::from(order.number.as_str())), ("date", Arg::from(date))]);
    propose(turn, heading, &wanted, address).await
}

/// Prices the wanted items as sold now and shows the draft with Confirm / Cancel.
async fn propose(turn: &Turn, heading: String, wanted: &[(String, i64)], address: Option<String>) -> HandlerResult {
    propose_with(turn, heading, wanted, address, None).await
}

/// [`propose`], with a note and a row of buttons after the draft.
async fn propose_with(
    turn: &Turn,
    heading: String,
    wanted: &[(String, i64)],
    address: Option<String>,
    extra: Option<(String, Vec<(String, ShopButton)>)>,
) -> HandlerResult {
    let shop = turn.ctx.adapters.shop.clone();
    let skus: Vec<String> = wanted.iter().map(|(sku, _)| sku.clone()).collect();
    let products = turn.call(shop.products(&skus)).await?;
    let currency = turn.ctx.settings.currency.clone();
    let locale = turn.locale;
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    let mut total = Decimal::ZERO;
    for (sku, qty) in wanted {
        match products.iter().find(|p| &p.sku == sku) {
            Some(product) if product.in_stock >= *qty && *qty > 0 => {
                total += product.price * Decimal::from(*qty);
                lines.push((product.clone(), *qty));
            }
            Some(product) => missing.push(product.name.get(locale).to_owned()),
            None => missing.push(sku.clone()),
        }
    }
    let mut text = heading;
    for (product, qty) in &lines {
        text.push('\n');
        text.push_str(&item_line(turn, product, *qty, &currency));
    }
    if !missing.is_empty() {
        text.push('\n');
        text.push_str(&turn.t("repeat-out-of-stock", &[("items", Arg::from(missing.join(", ")))]));
    }
    if lines.is_empty() {
        text.push('\n');
        text.push_str(&turn.t("repeat-all-out-of-stock", &[]));
        return match extra {
            Some((note, row)) => {
                text.push('\n');
                text.push_str(&note);
                turn.say_with(text, turn.buttons().markup(vec![row])).await.map(drop)
            }
            None => turn.say(text).await.map(drop),
        };
    }
    text.push('\n');
    text.push_str(&turn.t("order-total", &[("total", Arg::from(format_money(total, &currency, locale)))]));
    if let Some(address) = &address {
        text.push('\n');
        text.push_str(&turn.t("order-address", &[("address", Arg::from(address.as_str()))]));
    }
    let key = new_key();
    let order = NewOrder { lines: lines.iter().map(|(p, qty)| (p.sku.clone(), *qty)).collect(), address };
    turn.set_state(State::with_draft(Draft::Order { key: key.clone(), order })).await?;
    let mut rows = vec![vec![
        (turn.t("repeat-confirm-button", &[]), ShopButton::Confirm(key)),
        (turn.t("cancel-button", &[]), ShopButton::Cancel),
    ]];
    if let Some((note, row)) = extra {
        text.push_str("\n\n");
        text.push_str(&note);
        rows.push(row);
    }
    turn.say_with(text, turn.buttons().markup(rows)).await?;
    Ok(())
}

fn item_line(turn: &Turn, product: &Product, qty: i64, currency: &str) -> String {
    let args = [
        ("name", Arg::from(product.name.get(turn.locale))),
        ("qty", Arg::Num(qty)),
        ("price", Arg::from(format_money(product.price * Decimal::from(qty), currency, turn.locale))),
    ];
    turn.t("order-item", &args)
}

/// «Оформить заказ»: places the draft whose key the button carries. A second tap finds the
/// order the first one placed.
pub(super) async fn confirm(turn: &Turn, key: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let state = turn.state().await?;
    let order = match state.draft() {
        Some(Draft::Order { key: draft_key, order }) if draft_key == key => order.clone(),
        // No draft with this key: it was placed already (a double tap) or dropped. The shop
        // answers a known key with its order; an unknown one with nothing to place.
        _ => NewOrder { lines: Vec::new(), address: None },
    };
    let shop = turn.ctx.adapters.shop.clone();
    let outcome = turn.call(shop.create_order(&id, &order, key)).await?;
    match outcome {
        Ok(created) => {
            if created.new {
                turn.set_state(State::ready()).await?;
                turn.audit("order.create", Some(&created.number)).await?;
                announce(&turn.speaker().await?, &created).await?;
            } else {
                turn.say(turn.t("repeat-already-placed", &[("number", Arg::from(created.number.as_str()))])).await?;
            }
        }
        Err(OrderRefusal::Empty) => {
            turn.say(turn.t("draft-stale", &[])).await?;
        }
        Err(OrderRefusal::OutOfStock(skus)) => {
            turn.set_state(State::ready()).await?;
            let products = turn.call(shop.products(&skus)).await.unwrap_or_default();
            let names: Vec<String> = skus
                .iter()
                .map(|sku| {
                    products
                        .iter()
                        .find(|p| &p.sku == sku)
                        .map_or_else(|| sku.clone(), |p| p.name.get(turn.locale).to_owned())
                })
                .collect();
            turn.say(turn.t("repeat-sold-out-meanwhile", &[("items", Arg::from(names.join(", ")))])).await?;
        }
    }
    Ok(())
}

/// The chat's confirmation of an order placed — in the chat or in the Mini App alike.
pub async fn announce(speaker: &Speaker, created: &CreatedOrder) -> Result<(), BotError> {
    let args = [
        ("number", Arg::from(created.number.as_str())),
        ("total", Arg::from(format_money(created.total, &created.currency, speaker.locale))),
    ];
    speaker.say(speaker.t("repeat-placed", &args), None).await?;
    Ok(())
}

/// «Отмена» of a drafted order.
pub(super) async fn cancel(turn: &Turn) -> HandlerResult {
    if matches!(turn.state().await?.draft(), Some(Draft::Order { .. })) {
        turn.set_state(State::ready()).await?;
    }
    turn.say(turn.t("repeat-cancelled", &[])).await?;
    Ok(())
}

/// A fresh idempotency key: 16 URL-safe characters.
pub(super) fn new_key() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..16).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
