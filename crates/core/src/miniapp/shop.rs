//! The Mini App's shop: the catalogue, an order's lines for the cart, and checkout — the
//! chat's order-creation path (`Shop::create_order` at current prices, with an idempotency
//! key scoped to the customer by the shop), confirmed in the chat as the chat confirms.

use std::collections::HashSet;

use serde::Deserialize;

use super::*;
use crate::adapters::{NewOrder, OrderRefusal, Product};
use crate::bot::speaker::Speaker;

/// The most lines a checkout may have.
const MAX_LINES: usize = 50;
/// The most units of one line.
const MAX_QTY: i64 = 99;
/// The longest SKU accepted.
const MAX_SKU: usize = 64;
/// The longest search text read.
const MAX_QUERY: usize = 100;

fn shop_present(ctx: &Ctx) -> ApiResult<()> {
    if ctx.settings.capabilities.shop { Ok(()) } else { Err(ApiError::absent()) }
}

/// A client's idempotency key: 8 to 64 of `[A-Za-z0-9-_]`.
pub(super) fn valid_key(key: &str) -> bool {
    (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// A refusal whose message is built at run time (localized), or that carries more fields.
pub(super) fn refusal(status: StatusCode, code: &str, message: String, extra: Option<(&str, Value)>) -> Response {
    let mut body = json!({ "error": code, "message": message });
    if let Some((name, value)) = extra {
        body[name] = value;
    }
    (status, Json(body)).into_response()
}

/// The customer's private chat, in their language.
pub(super) async fn speaker(state: &MiniAppState, caller: &Caller) -> ApiResult<Speaker> {
    Ok(Speaker::private(state.ctx.clone(), state.bot.clone(), caller.user_id, caller.locale).await?)
}

/// A chat confirmation that could not be sent is logged; the action stands.
pub(super) fn logged(result: Result<(), crate::error::BotError>, what: &str) {
    if let Err(error) = result {
        tracing::warn!(%error, what, "the Mini App's action is done but the chat was not told");
    }
}

/// A category as `{"code", "name"}`: the name from `shop-category-<code>`, else the code.
fn category_json(ctx: &Ctx, keys: &HashSet<String>, code: &str, locale: Locale) -> Value {
    let key = format!("shop-category-{code}");
    let name = if keys.contains(&key) { ctx.i18n.t(locale, &key, &[]) } else { code.to_owned() };
    json!({ "code": code, "name": name })
}

fn product_json(ctx: &Ctx, keys: &HashSet<String>, p: &Product, locale: Locale) -> Value {
    json!({
        "sku": p.sku,
        "name": p.name.get(locale),
        "category": p.category.as_deref().map(|c| category_json(ctx, keys, c, locale)),
        "price": money(p.price, &ctx.settings.currency, locale),
        "in_stock": p.in_stock.max(0),
        "available": p.in_stock > 0,
    })
}

/// `GET shop/catalogue[?q=TEXT][&category=CODE]`: every category, and the products that
/// match (`q`: a case-insensitive part of the name in the customer's language, or of the SKU).
pub(super) async fn catalogue(
    State(state): St,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    shop_present(ctx)?;
    let query = query.unwrap_or_default();
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.chars().filter(|c| !c.is_control()).take(MAX_QUERY).collect::<String>())
            .map(|v| v.trim().to_lowercase())
            .filter(|v| !v.is_empty())
    };
    let (q, category) = (param("q"), param("category"));
    let shop = ctx.adapters.shop.clone();
    let products = ctx.adapters.call(shop.catalogue()).await?;
    audit(&state, caller.user_id, Some(&caller), "shop.catalogue", category.as_deref()).await?;
    let locale = caller.locale;
    let keys: HashSet<String> = ctx.i18n.keys(locale).into_iter().collect();
    let mut codes: Vec<&str> = Vec::new();
    for code in products.iter().filter_map(|p| p.category.as_deref()) {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let categories: Vec<Value> = codes.iter().map(|c| category_json(ctx, &keys, c, locale)).collect();
    let list: Vec<Value> = products
        .iter()
        .filter(|p| category.as_ref().is_none_or(|c| p.category.as_deref().is_some_and(|pc| pc.to_lowercase() == *c)))
        .filter(|p| {
            q.as_ref().is_none_or(|q| p.name.get(locale).to_lowercase().contains(q) || p.sku.to_lowercase().contains(q))
        })
        .map(|p| product_json(ctx, &keys, p, locale))
        .collect();
    Ok(Json(json!({ "categories": categories, "products": list })))
}

/// `GET orders/{number}/repeat`: the customer's order's lines at today's prices and stock,
/// for the cart.
pub(super) async fn repeat(State(state): St, headers: HeaderMap, Path(number): Path<String>) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    shop_present(ctx)?;
    if !ctx.settings.capabilities.logistics {
        return Err(ApiError::absent());
    }
    let number: String = number.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
    let logistics = ctx.adapters.logistics.clone();
    let found =
        if number.is_empty() { None } else { ctx.adapters.call(logistics.order(caller.customer(), &number)).await? };
    let Some(order) = found else {
        audit(&state, caller.user_id, Some(&caller), "order.not_found", Some(&number)).await?;
        return Err(ApiError::not_found());
    };
    let skus: Vec<String> = order.items.iter().map(|i| i.sku.clone()).collect();
    let shop = ctx.adapters.shop.clone();
    let products = ctx.adapters.call(shop.products(&skus)).await?;
    audit(&state, caller.user_id, Some(&caller), "order.repeat", Some(&number)).await?;
    let locale = caller.locale;
    let currency = ctx.settings.currency.as_str();
    let lines: Vec<Value> = order
        .items
        .iter()
        .map(|item| {
            let product = products.iter().find(|p| p.sku == item.sku);
            json!({
                "sku": item.sku,
                "name": product.map_or_else(|| item.name.get(locale), |p| p.name.get(locale)),
                "qty": item.qty,
                "price": money(product.map_or(item.price, |p| p.price), currency, locale),
                "available": product.is_some_and(|p| item.qty > 0 && p.in_stock >= item.qty),
            })
        })
        .collect();
    Ok(Json(json!({ "lines": lines })))
}

/// The body of `POST shop/checkout`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkout {
    lines: Vec<CheckoutLine>,
    key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckoutLine {
    sku: String,
    qty: i64,
}

/// `POST shop/checkout {lines: [{sku, qty}], key}`: places the order (once per key), tells
/// the chat, answers its number and total.
pub(super) async fn checkout(State(state): St, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    shop_present(ctx)?;
    let invalid = |message| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_order", message);
    let order: Checkout = serde_json::from_slice(&body)
        .map_err(|_| invalid("expected {\"lines\": [{\"sku\": text, \"qty\": 1..99}], \"key\": text}"))?;
    if !valid_key(&order.key) {
        return Err(invalid("the key is 8 to 64 letters, digits, '-' or '_'"));
    }
    if order.lines.is_empty() || order.lines.len() > MAX_LINES {
        return Err(invalid("an order has 1 to 50 lines"));
    }
    let sku_ok = |sku: &str| !sku.is_empty() && sku.chars().count() <= MAX_SKU && !sku.chars().any(char::is_control);
    if order.lines.iter().any(|l| !sku_ok(&l.sku)) {
        return Err(invalid("a line's SKU is missing or malformed"));
    }
    if order.lines.iter().any(|l| !(1..=MAX_QTY).contains(&l.qty)) {
        return Err(invalid("a line's quantity is 1 to 99"));
    }
    let shop = ctx.adapters.shop.clone();
    // Delivered where the customer's last order went, as the chat's repeat and offer orders.
    let last = ctx.adapters.call(shop.last_delivered_order(caller.customer())).await?;
    let address = last.and_then(|o| o.delivery).and_then(|d| d.address);
    let new_order = NewOrder { lines: order.lines.iter().map(|l| (l.sku.clone(), l.qty)).collect(), address };
    let outcome = ctx.adapters.call(shop.create_order(caller.customer(), &new_order, &order.key)).await?;
    let locale = caller.locale;
    match outcome {
        Ok(created) => {
            if created.new {
                audit(&state, caller.user_id, Some(&caller), "order.created", Some(&created.number)).await?;
                let speaker = speaker(&state, &caller).await?;
                logged(crate::bot::shop::announce(&speaker, &created).await, "order.created");
            } else {
                audit(&state, caller.user_id, Some(&caller), "order.already_placed", Some(&created.number)).await?;
            }
            let body = json!({
                "number": created.number,
                "total": money(created.total, &created.currency, locale),
                "new": created.new,
            });
            Ok(Json(body).into_response())
        }
        Err(OrderRefusal::Empty) => Err(invalid("nothing to order")),
        Err(OrderRefusal::OutOfStock(skus)) => {
            audit(&state, caller.user_id, Some(&caller), "order.out_of_stock", Some(&skus.join(","))).await?;
            let products = ctx.adapters.call(shop.products(&skus)).await.unwrap_or_default();
            let names: Vec<String> = skus
                .iter()
                .map(|sku| {
                    products
                        .iter()
                        .find(|p| &p.sku == sku)
                        .map_or_else(|| sku.clone(), |p| p.name.get(locale).to_owned())
                })
                .collect();
            let message = ctx.i18n.t(locale, "miniapp-out-of-stock", &[("items", Arg::Raw(names.join(", ")))]);
            Ok(refusal(StatusCode::CONFLICT, "out_of_stock", message, Some(("skus", json!(skus)))))
        }
    }
}
