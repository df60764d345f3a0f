//! F14, the Mini App's server side: the JSON API under `/api/v1/app/` that the Mini App's
//! page calls, on the bot's one HTTP server.
//!
//! Every call carries Telegram's init data, `Authorization: tma <initData>`, checked by
//! [`init_data::validate`] with the bot's token and the injected clock (`[miniapp]
//! max_age_seconds`). Missing, malformed, altered, another bot's or stale init data gets 401
//! and no data; it is audited (channel «miniapp», action `miniapp.unauthorized`) and counts
//! toward the probing alert, keyed by the user id the data claims (or 0 when none can be
//! read). A valid user is mapped to a customer by the chat's rules: accepted terms
//! (`consents`) and a binding (`bindings`); without them the answer is 403 `not_identified`
//! with a link to the chat. From there every read goes through the bot's guarded adapters,
//! scoped by the bound customer — never by an id from the request — and is audited; an id
//! that is not the customer's own is 404 (whether it exists elsewhere is not told) and counts
//! toward the probing alert as in the chat.
//!
//! Endpoints (all JSON but the PDF):
//! - `GET me`: name, masked phone, language, the capabilities the business has;
//! - `GET balance`: balance, next charge, bonus points, the latest transactions and their
//!   per-month sums of charges and top-ups (for a chart);
//! - `GET orders?page=N`, `GET orders/{number}`: the history, one order's items, status,
//!   tracking, delivery window and a map link;
//! - `GET documents`, `GET documents/{id}/pdf`: the list, and the same file the chat sends;
//! - `GET settings`, `PUT settings`: notification categories and the language;
//! - `GET booking/services` (services and staff, the customer's regular one first),
//!   `GET booking/slots?service=…&staff=…` (free times within the booking horizon),
//!   `GET booking/appointments`, `GET booking/appointments/{id}`;
//! - writes ([`booking`], [`shop`], [`topup`]), each audited and confirmed in the customer's
//!   chat as the chat itself confirms (a confirmation that cannot be sent is logged; the
//!   action stands): `POST booking/appointments` (book; idempotent by the client's key),
//!   `POST booking/appointments/{id}/move`, `POST booking/appointments/{id}/cancel` (the
//!   chat's checks and cut-off; the chat's move and cancel buttons work on them);
//!   `GET shop/catalogue?q=…&category=…`, `GET orders/{number}/repeat` (an order's lines at
//!   today's prices and stock), `POST shop/checkout` (the chat's order creation, idempotent
//!   by the client's key); `POST balance/top-up` (the chat's invoice or payment link, sent
//!   into the chat).
//!
//! Money is a decimal string with its currency and a display string, dates ISO 8601 with a
//! display string — both in the customer's language, by the bot's own formatters. Errors are
//! `{"error": code, "message": text}` and never carry a backend's words — a wrong method
//! (405), a body too large (413) or malformed (422) included. Every answer has
//! `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`; there is no CORS (no
//! `Access-Control-*` header, and a preflight `OPTIONS` is refused).

mod booking;
pub mod init_data;
mod shop;
mod topup;
pub mod web;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use teloxide::prelude::*;

use crate::adapters::{
    AdapterError, Appointment, BookingStatus, CustomerId, DocumentFile, DocumentInfo, Order, OrderStatus, Service,
    StaffMember,
};
use crate::bot::Ctx;
use crate::domain::datetime::{format_date, format_date_time, format_time};
use crate::domain::money::{format_money, format_money_signed};
use crate::domain::{Locale, Period};
use crate::i18n::{Arg, escape_html};
use crate::notify::Category;
use crate::store::{AuditEntry, Binding, StoreError};

use self::init_data::{Reason, Refusal};

/// Where the Mini App's API lives.
pub const API_PREFIX: &str = "/api/v1/app";
/// The audit channel of everything done through the Mini App.
pub const CHANNEL: &str = "miniapp";
/// The audited action of refused init data; it counts toward the probing alert.
pub const UNAUTHORIZED: &str = "miniapp.unauthorized";
/// The default `[miniapp] max_age_seconds`: a day.
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 86_400;
/// The largest `max_age_seconds` accepted: a week.
pub const MAX_MAX_AGE_SECONDS: u64 = 7 * 86_400;

/// Audited refusals that count toward the probing alert (the chat's list, which has ours).
use crate::bot::staff::alerts::PROBING;
/// Refusals in an hour that raise the alert (as in the chat).
const ALERT_THRESHOLD: i64 = 3;
/// The audit key of refused init data that cannot name a user.
const NOBODY: i64 = 0;
/// Orders per page of `GET orders`.
const ORDERS_PAGE: u32 = 20;
/// Transactions in `GET balance`.
const TRANSACTIONS: u32 = 100;
/// The largest request body (`PUT settings`).
const MAX_BODY: usize = 16 * 1024;
/// The largest document fetched from a backend's URL.
const MAX_PDF_BYTES: usize = 20 * 1024 * 1024;
/// How long a backend's document URL is waited for.
const PDF_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// `[miniapp]`: the Mini App's API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiniAppConfig {
    /// How old Telegram's init data may be, in seconds (`CABINET_MINIAPP_MAX_AGE_SECONDS`;
    /// default a day, at most a week).
    pub max_age_seconds: u64,
    /// The Mini App page's public HTTPS URL, e.g. `https://cabinet.example.com/app/`
    /// (`CABINET_MINIAPP_URL`). When set, the chat's menu button opens it («Личный кабинет»)
    /// and an identified customer's main menu has a button to it.
    pub url: Option<String>,
}

impl Default for MiniAppConfig {
    fn default() -> Self {
        MiniAppConfig { max_age_seconds: DEFAULT_MAX_AGE_SECONDS, url: None }
    }
}

impl MiniAppConfig {
    /// Whether the settings make sense (a message naming the setting when not).
    pub fn validate(&self) -> Result<(), crate::config::ConfigError> {
        if !(60..=MAX_MAX_AGE_SECONDS).contains(&self.max_age_seconds) {
            return Err(crate::config::ConfigError::Invalid {
                name: "miniapp.max_age_seconds (CABINET_MINIAPP_MAX_AGE_SECONDS)",
                message: format!("expected 60 to {MAX_MAX_AGE_SECONDS} (a minute to a week)"),
            });
        }
        if let Some(url) = &self.url {
            let invalid = |message: &str| crate::config::ConfigError::Invalid {
                name: "miniapp.url (CABINET_MINIAPP_URL)",
                message: message.to_owned(),
            };
            let parsed = url::Url::parse(url).map_err(|e| invalid(&format!("not a URL: {e}")))?;
            if parsed.scheme() != "https" || parsed.host_str().is_none_or(str::is_empty) {
                return Err(invalid("expected an https:// URL (Telegram opens Mini Apps over HTTPS only)"));
            }
        }
        Ok(())
    }
}

/// What the Mini App's routes need: the bot's context (store, adapters, clock, settings),
/// the bot (for the staff group's alerts and its @username), and its token (the key init
/// data is signed with).
pub struct MiniAppState {
    pub ctx: Arc<Ctx>,
    pub bot: Bot,
    pub token: SecretString,
    pub config: MiniAppConfig,
    username: tokio::sync::OnceCell<String>,
}

impl MiniAppState {
    /// The state over a running bot.
    pub fn new(ctx: Arc<Ctx>, bot: Bot, token: SecretString, config: MiniAppConfig) -> MiniAppState {
        MiniAppState { ctx, bot, token, config, username: tokio::sync::OnceCell::new() }
    }

    /// The chat's link, `https://t.me/<username>` (asked of Telegram once), if it answers.
    async fn chat_link(&self) -> Option<String> {
        let name = self
            .username
            .get_or_try_init(|| async {
                let me = self.bot.get_me().await?;
                Ok::<_, teloxide::RequestError>(me.username().to_owned())
            })
            .await;
        match name {
            Ok(name) => Some(format!("https://t.me/{name}")),
            Err(error) => {
                tracing::warn!(%error, "cannot learn the bot's username for the Mini App's link to the chat");
                None
            }
        }
    }
}

/// The routes under `/api/v1/app/`, to be merged into the server's router.
pub fn router(state: MiniAppState) -> axum::Router {
    let p = |tail: &str| format!("{API_PREFIX}/{tail}");
    axum::Router::new()
        .route(&p("me"), get(me))
        .route(&p("balance"), get(balance))
        .route(&p("orders"), get(orders))
        .route(&p("orders/{number}"), get(order))
        .route(&p("orders/{number}/repeat"), get(shop::repeat))
        .route(&p("shop/catalogue"), get(shop::catalogue))
        .route(&p("shop/checkout"), post(shop::checkout))
        .route(&p("balance/top-up"), post(topup::top_up))
        .route(&p("documents"), get(documents))
        .route(&p("documents/{id}/pdf"), get(document_pdf))
        .route(&p("settings"), get(settings).put(put_settings))
        .route(&p("booking/services"), get(booking_services))
        .route(&p("booking/slots"), get(booking_slots))
        .route(&p("booking/appointments"), get(appointments).post(booking::book))
        .route(&p("booking/appointments/{id}"), get(appointment))
        .route(&p("booking/appointments/{id}/move"), post(booking::move_to))
        .route(&p("booking/appointments/{id}/cancel"), post(booking::cancel))
        .route(&p("{*rest}"), axum::routing::any(unknown))
        .route(API_PREFIX, axum::routing::any(unknown))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(guard_headers))
        .with_state(Arc::new(state))
        .merge(web::router())
}

/// Refuses preflights (no CORS for anybody) and sets the security headers on every answer.
async fn guard_headers(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        ApiError::new(StatusCode::FORBIDDEN, "cors_refused", "cross-origin requests are not served").into_response()
    } else {
        as_json(next.run(request).await)
    };
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let cors: Vec<_> = headers.keys().filter(|name| name.as_str().starts_with("access-control-")).cloned().collect();
    for name in cors {
        headers.remove(name);
    }
    response
}

/// A refusal of axum's own (a wrong method, a body too large or unreadable) in plain text
/// becomes the API's JSON refusal, with the same status (and `Allow` for a wrong method).
fn as_json(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("application/pdf"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this endpoint does not take this method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send JSON"),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => ("invalid_body", "the request is malformed"),
        s if s.is_server_error() => ("internal", "something went wrong; try again later"),
        _ => ("bad_request", "the request is not understood"),
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut json = ApiError::new(status, code, message).into_response();
    if let Some(allow) = allow {
        json.headers_mut().insert(header::ALLOW, allow);
    }
    json
}

async fn unknown() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

// --- errors --------------------------------------------------------------------------------

/// A refusal: its status and `{"error": code, "message": text}` (plus `chat_url` for
/// `not_identified`). Never a backend's or the database's words.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
    chat_url: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: &'static str) -> ApiError {
        ApiError { status, code, message, chat_url: None }
    }

    fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "nothing of yours has this id")
    }

    fn absent() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_available", "the business does not offer this")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(url) = self.chat_url {
            body["chat_url"] = json!(url);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "the Mini App's API: the database failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong; try again later")
    }
}

impl From<AdapterError> for ApiError {
    fn from(e: AdapterError) -> Self {
        tracing::warn!(error = %e, "the Mini App's API: a backend failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service does not answer now; try again later",
        )
    }
}

impl From<crate::error::BotError> for ApiError {
    fn from(e: crate::error::BotError) -> Self {
        if let crate::error::BotError::Adapter(e) = e {
            return ApiError::from(e);
        }
        tracing::error!(error = %e, "the Mini App's API failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong; try again later")
    }
}

type ApiResult<T> = Result<T, ApiError>;

// --- who is calling ------------------------------------------------------------------------

/// A Telegram user whose init data is valid, bound to a customer.
struct Caller {
    user_id: i64,
    binding: Binding,
    locale: Locale,
}

impl Caller {
    fn customer(&self) -> &CustomerId {
        &self.binding.customer_id
    }
}

/// The caller, or 401 (bad init data, audited) or 403 (not identified in the chat).
async fn authenticate(state: &MiniAppState, headers: &HeaderMap) -> ApiResult<Caller> {
    let ctx = &state.ctx;
    let now = ctx.clock.now();
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("tma "))
        .map(str::trim);
    let max_age = Duration::seconds(i64::try_from(state.config.max_age_seconds).unwrap_or(i64::MAX / 1000));
    let checked = match raw {
        None => Err(Refusal { reason: Reason::Missing, claimed_user: None }),
        Some(raw) => init_data::validate(raw, state.token.expose_secret(), now, max_age),
    };
    let data = match checked {
        Ok(data) => data,
        Err(refusal) => {
            let who = refusal.claimed_user.unwrap_or(NOBODY);
            audit(state, who, None, UNAUTHORIZED, Some(refusal.reason.code())).await?;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", unauthorized_message(refusal.reason)));
        }
    };
    let user_id = data.user.id;
    let chosen = ctx.store.user(user_id).await?.and_then(|u| u.locale);
    let locale = chosen
        .unwrap_or_else(|| Locale::from_telegram(data.user.language_code.as_deref(), ctx.settings.default_locale));
    let consent = ctx.store.consent(user_id).await?;
    let binding = if consent.is_some() { ctx.store.binding(user_id).await? } else { None };
    match binding {
        Some(binding) => Ok(Caller { user_id, binding, locale }),
        None => {
            audit(state, user_id, None, "miniapp.not_identified", None).await?;
            Err(ApiError {
                chat_url: state.chat_link().await,
                ..ApiError::new(
                    StatusCode::FORBIDDEN,
                    "not_identified",
                    "identify yourself in the chat with the bot first",
                )
            })
        }
    }
}

fn unauthorized_message(reason: Reason) -> &'static str {
    match reason {
        Reason::Missing => "send Telegram's init data: Authorization: tma <initData>",
        Reason::Malformed => "the init data is malformed",
        Reason::BadHash => "the init data's signature does not match",
        Reason::Stale => "the init data is too old; reopen the Mini App",
        Reason::FromTheFuture => "the init data is dated in the future",
    }
}

// --- audit and the probing alert -----------------------------------------------------------

/// Records a read or a refusal (channel «miniapp»); a refusal that counts as probing may
/// raise the staff group's alert.
async fn audit(
    state: &MiniAppState,
    user_id: i64,
    customer: Option<&Caller>,
    action: &str,
    subject: Option<&str>,
) -> ApiResult<()> {
    let ctx = &state.ctx;
    let entry = AuditEntry {
        at: ctx.clock.now(),
        telegram_user_id: Some(user_id),
        customer_id: customer.map(|c| c.customer().clone()),
        action: action.to_owned(),
        subject: subject.map(|s| s.chars().take(64).collect()),
        channel: CHANNEL.into(),
    };
    ctx.store.audit(&entry).await?;
    if PROBING.contains(&action) {
        alert_if_needed(state, user_id, customer, action).await?;
    }
    Ok(())
}

/// Three probing refusals in an hour (the chat's and the Mini App's together) raise an
/// alert in the staff group's general topic, once an hour per user and kind — the chat's
/// own alert for foreign ids, one of its own for refused init data.
async fn alert_if_needed(state: &MiniAppState, user_id: i64, customer: Option<&Caller>, action: &str) -> ApiResult<()> {
    let ctx = &state.ctx;
    if ctx.settings.staff_chat_id.is_none() {
        return Ok(());
    }
    let now = ctx.clock.now();
    let n = ctx.store.count_audit(user_id, &PROBING, now - Duration::hours(1)).await?;
    let key = if action == UNAUTHORIZED { "miniapp-alert-unauthorized" } else { "support-alert-ids" };
    if n < ALERT_THRESHOLD || !ctx.store.record_alert(user_id, key, now, Duration::hours(1)).await? {
        return Ok(());
    }
    let who = match customer {
        Some(c) => format!("{} ({}, {})", escape_html(&c.binding.first_name), c.binding.phone.masked(), c.customer()),
        None => ctx.i18n.t(ctx.settings.default_locale, "miniapp-alert-unknown-user", &[]),
    };
    let text = ctx.i18n.t(ctx.settings.default_locale, key, &[("who", Arg::Raw(who)), ("user", Arg::Num(user_id))]);
    if let Err(e) = crate::bot::staff::post_to_general(ctx, &state.bot, text).await {
        tracing::warn!(error = %e, "could not post an alert to the staff group");
    }
    Ok(())
}

// --- formatting ----------------------------------------------------------------------------

/// Money as `{"amount": "3450.00", "currency": "KZT", "display": "3 450 ₸"}`.
fn money(amount: Decimal, currency: &str, locale: Locale) -> Value {
    json!({
        "amount": decimal(amount),
        "currency": currency,
        "display": format_money(amount, currency, locale),
    })
}

/// An amount as a decimal string with two places ("3450.00", "-890.00").
fn decimal(amount: Decimal) -> String {
    format!("{:.2}", amount.round_dp(2))
}

/// A time as `{"at": ISO 8601, "display": "15 января, 14:00"}` (the business's local time).
fn time(ctx: &Ctx, at: DateTime<Utc>, locale: Locale) -> Value {
    json!({ "at": at.to_rfc3339(), "display": format_date_time(ctx.to_local(at), locale) })
}

/// A date as `{"date": "2025-01-15", "display": "15 января"}`.
fn date(day: NaiveDate, locale: Locale) -> Value {
    json!({ "date": day.to_string(), "display": format_date(day, locale) })
}

fn status(ctx: &Ctx, status: &OrderStatus, locale: Locale) -> Value {
    let display = match status {
        OrderStatus::Other(raw) => raw.clone(),
        known => ctx.i18n.t(locale, &format!("order-status-{}", known.as_str().replace('_', "-")), &[]),
    };
    json!({ "code": status.as_str(), "display": display })
}

fn capabilities(ctx: &Ctx) -> Value {
    let c = ctx.settings.capabilities;
    json!({
        "billing": c.billing,
        "logistics": c.logistics,
        "documents": c.documents,
        "shop": c.shop,
        "loyalty": c.loyalty,
        "booking": c.booking,
    })
}

// --- the endpoints -------------------------------------------------------------------------

type St = State<Arc<MiniAppState>>;

/// `GET me`.
async fn me(State(state): St, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    let crm = ctx.adapters.crm.clone();
    let profile = ctx.adapters.call(crm.profile(caller.customer())).await?;
    audit(&state, caller.user_id, Some(&caller), "profile.read", None).await?;
    let (name, phone) = match &profile {
        Some(p) => (p.name.clone(), p.phone.masked()),
        None => (caller.binding.first_name.clone(), caller.binding.phone.masked()),
    };
    Ok(Json(json!({
        "name": name,
        "first_name": profile.as_ref().map_or(caller.binding.first_name.as_str(), |p| p.first_name.as_str()),
        "phone": phone,
        "language": caller.locale.as_str(),
        "business": ctx.settings.business_name,
        "capabilities": capabilities(ctx),
    })))
}

/// `GET balance`.
async fn balance(State(state): St, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    if !ctx.settings.capabilities.billing {
        return Err(ApiError::absent());
    }
    let locale = caller.locale;
    let billing = ctx.adapters.billing.clone();
    let Some(account) = ctx.adapters.call(billing.account(caller.customer())).await? else {
        audit(&state, caller.user_id, Some(&caller), "balance.none", None).await?;
        return Err(ApiError::new(StatusCode::NOT_FOUND, "no_account", "there is no account in your cabinet"));
    };
    let transactions = ctx.adapters.call(billing.transactions(caller.customer(), TRANSACTIONS)).await?;
    audit(&state, caller.user_id, Some(&caller), "balance.read", None).await?;
    let currency = account.currency.as_str();
    // Per month of the business's calendar: charges (what went out) and top-ups (what came in).
    let mut months: BTreeMap<Period, (Decimal, Decimal)> = BTreeMap::new();
    for t in &transactions {
        let day = ctx.to_local(t.at).date();
        let sums = months.entry(Period::of_date(day)).or_default();
        if t.amount < Decimal::ZERO {
            sums.0 -= t.amount;
        } else {
            sums.1 += t.amount;
        }
    }
    let months: Vec<Value> = months
        .into_iter()
        .map(|(period, (charges, top_ups))| {
            json!({
                "month": period.to_string(),
                "label": period.display(locale),
                "charges": money(charges, currency, locale),
                "top_ups": money(top_ups, currency, locale),
            })
        })
        .collect();
    let transactions: Vec<Value> = transactions
        .iter()
        .map(|t| {
            json!({
                "at": time(ctx, t.at, locale),
                "amount": {
                    "amount": decimal(t.amount),
                    "currency": currency,
                    "display": format_money_signed(t.amount, currency, locale),
                },
                "kind": t.kind,
                "title": t.title.get(locale),
            })
        })
        .collect();
    let next_charge = account.next_charge.as_ref().map(|n| {
        json!({
            "date": date(n.date, locale),
            "amount": money(n.amount, currency, locale),
        })
    });
    let tariff = account.tariff.as_ref().map(|t| {
        json!({ "code": t.code, "name": t.name.get(locale), "monthly_fee": money(t.monthly_fee, currency, locale) })
    });
    Ok(Json(json!({
        "balance": money(account.balance, currency, locale),
        "bonus_points": account.bonus_points,
        "next_charge": next_charge,
        "tariff": tariff,
        "paused": account.paused,
        "transactions": transactions,
        "months": months,
    })))
}

/// `GET orders?page=N`: a page of the history, newest first.
async fn orders(State(state): St, headers: HeaderMap, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    if !ctx.settings.capabilities.logistics {
        return Err(ApiError::absent());
    }
    let asked = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "page")
        .map(|(_, v)| v.parse::<u32>());
    let page = match asked {
        None => 0,
        Some(Ok(page)) if page <= 10_000 => page,
        Some(_) => return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_page", "page is a number from 0")),
    };
    let logistics = ctx.adapters.logistics.clone();
    let result = ctx.adapters.call(logistics.orders(caller.customer(), page * ORDERS_PAGE, ORDERS_PAGE)).await?;
    audit(&state, caller.user_id, Some(&caller), "orders.history", Some(&page.to_string())).await?;
    let locale = caller.locale;
    let list: Vec<Value> = result
        .orders
        .iter()
        .map(|o| {
            json!({
                "number": o.number,
                "created": time(ctx, o.created, locale),
                "status": status(ctx, &o.status, locale),
                "total": money(o.total, &result.currency, locale),
            })
        })
        .collect();
    Ok(Json(json!({
        "page": page,
        "page_size": ORDERS_PAGE,
        "total": result.total,
        "orders": list,
    })))
}

/// `GET orders/{number}`: one of the customer's own orders, else 404.
async fn order(State(state): St, headers: HeaderMap, Path(number): Path<String>) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    if !ctx.settings.capabilities.logistics {
        return Err(ApiError::absent());
    }
    // As the chat reads a typed number: letters and digits, 24 at most.
    let number: String = number.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
    let logistics = ctx.adapters.logistics.clone();
    let found =
        if number.is_empty() { None } else { ctx.adapters.call(logistics.order(caller.customer(), &number)).await? };
    let Some(order) = found else {
        audit(&state, caller.user_id, Some(&caller), "order.not_found", Some(&number)).await?;
        return Err(ApiError::not_found());
    };
    audit(&state, caller.user_id, Some(&caller), "order.read", Some(&number)).await?;
    Ok(Json(order_json(ctx, &order, caller.locale)))
}

fn order_json(ctx: &Ctx, order: &Order, locale: Locale) -> Value {
    let currency = order.currency.as_str();
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|i| {
            json!({
                "sku": i.sku,
                "name": i.name.get(locale),
                "qty": i.qty,
                "price": money(i.price, currency, locale),
            })
        })
        .collect();
    let delivery = order.delivery.as_ref().map(|d| {
        let window = match (d.eta_from, d.eta_to) {
            (Some(from), Some(to)) => {
                let (local_from, local_to) = (ctx.to_local(from), ctx.to_local(to));
                let display = if local_from.date() == local_to.date() {
                    format!("{}–{}", format_date_time(local_from, locale), format_time(local_to))
                } else {
                    format!("{} – {}", format_date_time(local_from, locale), format_date_time(local_to, locale))
                };
                json!({ "from": from.to_rfc3339(), "to": to.to_rfc3339(), "display": display })
            }
            _ => Value::Null,
        };
        let map_url = d.location.map(|(lat, lon)| {
            format!("https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=16/{lat:.6}/{lon:.6}")
        });
        json!({
            "address": d.address,
            "carrier": d.carrier,
            "tracking": d.tracking,
            "window": window,
            "courier": d.courier.as_ref().map(|c| json!({ "name": c.name, "phone": c.phone })),
            "note": d.note.as_ref().map(|n| n.get(locale)),
            "location": d.location.map(|(lat, lon)| json!({ "lat": lat, "lon": lon })),
            "map_url": map_url,
        })
    });
    json!({
        "number": order.number,
        "created": time(ctx, order.created, locale),
        "status": status(ctx, &order.status, locale),
        "total": money(order.total, currency, locale),
        "items": items,
        "delivery": delivery,
        "delivered_at": order.delivered_at.map(|at| time(ctx, at, locale)),
    })
}

/// `GET documents`: the customer's documents, newest period first.
async fn documents(State(state): St, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    if !ctx.settings.capabilities.documents {
        return Err(ApiError::absent());
    }
    let backend = ctx.adapters.documents.clone();
    let all = ctx.adapters.call(backend.documents(caller.customer())).await?;
    audit(&state, caller.user_id, Some(&caller), "documents.list", None).await?;
    let list: Vec<Value> = all.iter().map(|d| document_json(d, caller.locale)).collect();
    Ok(Json(json!({ "documents": list })))
}

fn document_json(doc: &DocumentInfo, locale: Locale) -> Value {
    let path: String = url::form_urlencoded::byte_serialize(doc.id.as_bytes()).collect();
    json!({
        "id": doc.id,
        "kind": doc.kind,
        "period": { "month": doc.period.to_string(), "display": doc.period.display(locale) },
        "title": doc.title.get(locale),
        "pdf_url": format!("{API_PREFIX}/documents/{path}/pdf"),
    })
}

/// `GET documents/{id}/pdf`: the same file the chat sends (the backend's file, or the PDF
/// rendered from its data in the customer's language).
async fn document_pdf(State(state): St, headers: HeaderMap, Path(doc_id): Path<String>) -> ApiResult<Response> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    if !ctx.settings.capabilities.documents {
        return Err(ApiError::absent());
    }
    let doc_id: String = doc_id.chars().filter(|c| !c.is_control()).take(64).collect();
    let backend = ctx.adapters.documents.clone();
    let info =
        if doc_id.is_empty() { None } else { ctx.adapters.call(backend.document(caller.customer(), &doc_id)).await? };
    let file = match info {
        Some(_) => ctx.adapters.call(backend.file(caller.customer(), &doc_id)).await?,
        None => None,
    };
    let Some(file) = file else {
        audit(&state, caller.user_id, Some(&caller), "document.not_found", Some(&doc_id)).await?;
        return Err(ApiError::not_found());
    };
    let (name, bytes) = match file {
        DocumentFile::Bytes { file_name, bytes } => (file_name, bytes),
        DocumentFile::Url { file_name, url } => (file_name, fetch(&url).await?),
        DocumentFile::Data(data) => {
            (crate::bot::document_file_name(&data.info), crate::bot::render_document(ctx, caller.locale, &data)?)
        }
    };
    audit(&state, caller.user_id, Some(&caller), "document.downloaded", Some(&doc_id)).await?;
    let ascii: String =
        name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).take(120).collect();
    let disposition = format!("attachment; filename=\"{}\"", if ascii.is_empty() { "document.pdf" } else { &ascii });
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A document the backend gives as a URL (the chat lets Telegram download it; here the
/// server does), bounded in time and size.
async fn fetch(url: &str) -> ApiResult<Vec<u8>> {
    let failed = |what: &str| {
        tracing::warn!(what, "the Mini App's API: a document's URL could not be read");
        ApiError::from(AdapterError::Unavailable("document URL".into()))
    };
    let parsed = url::Url::parse(url).map_err(|_| failed("not a URL"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(failed("not http(s)"));
    }
    let client = reqwest::Client::builder().timeout(PDF_FETCH_TIMEOUT).build().map_err(|_| failed("client"))?;
    let mut response = client.get(parsed).send().await.map_err(|_| failed("request"))?;
    if !response.status().is_success() {
        return Err(failed("status"));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| failed("body"))? {
        if bytes.len() + chunk.len() > MAX_PDF_BYTES {
            return Err(failed("too large"));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `GET settings`.
async fn settings(State(state): St, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    audit(&state, caller.user_id, Some(&caller), "settings.read", None).await?;
    Ok(Json(settings_json(&state.ctx, caller.user_id, caller.locale).await?))
}

async fn settings_json(ctx: &Ctx, user_id: i64, locale: Locale) -> ApiResult<Value> {
    let prefs = crate::notify::preferences(&ctx.store, user_id).await?;
    let notifications: Vec<Value> = Category::ALL
        .into_iter()
        .map(|c| {
            json!({
                "category": c.as_str(),
                "on": prefs.wants(c),
                "label": ctx.i18n.t(locale, &format!("notifications-category-{}", c.as_str()), &[]),
            })
        })
        .collect();
    let languages: Vec<Value> = Locale::ALL
        .into_iter()
        .map(|l| json!({ "code": l.as_str(), "label": ctx.i18n.t(locale, &format!("language-{}", l.as_str()), &[]) }))
        .collect();
    Ok(json!({ "language": locale.as_str(), "languages": languages, "notifications": notifications }))
}

/// The body of `PUT settings`: what changes (the rest stays).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsChange {
    #[serde(default)]
    language: Option<String>,
    /// Category name → on.
    #[serde(default)]
    notifications: BTreeMap<String, bool>,
}

/// `PUT settings`: every change is checked before any is written.
async fn put_settings(State(state): St, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    let invalid = |message| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings", message);
    let change: SettingsChange = serde_json::from_slice(&body)
        .map_err(|_| invalid("expected {\"language\": \"ru\"|\"en\", \"notifications\": {category: true|false}}"))?;
    let language = match &change.language {
        Some(code) => Some(Locale::parse(code).ok_or_else(|| invalid("unknown language"))?),
        None => None,
    };
    let categories = change
        .notifications
        .iter()
        .map(|(name, on)| {
            Category::parse(name).map(|c| (c, *on)).ok_or_else(|| invalid("unknown notification category"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let now = ctx.clock.now();
    for (category, on) in &categories {
        crate::notify::set_preference(&ctx.store, caller.user_id, *category, *on, now).await?;
    }
    if let Some(locale) = language {
        ctx.store.set_user_locale(caller.user_id, Some(locale)).await?;
        // The chat's menu button speaks the new language too.
        crate::bot::miniapp_menu_for(ctx, &state.bot, ChatId(caller.binding.chat_id), locale);
    }
    let mut what: Vec<String> =
        categories.iter().map(|(c, on)| format!("{}={}", c.as_str(), if *on { "on" } else { "off" })).collect();
    what.extend(language.map(|l| format!("language={}", l.as_str())));
    audit(&state, caller.user_id, Some(&caller), "settings.changed", Some(&what.join(","))).await?;
    Ok(Json(settings_json(ctx, caller.user_id, language.unwrap_or(caller.locale)).await?))
}

/// Signs a development init data for `user_id` with `bot_token` at `now` (the demo's URL
/// that opens the Mini App in a plain browser as the demo customer).
pub fn development_init_data(bot_token: &str, user_id: i64, first_name: &str, now: DateTime<Utc>) -> String {
    let user = json!({ "id": user_id, "first_name": first_name }).to_string();
    let auth_date = now.timestamp().to_string();
    init_data::sign(&[("auth_date", auth_date.as_str()), ("user", user.as_str())], bot_token)
}

// --- booking (reads) -----------------------------------------------------------------------

/// The booking capability's check, shared by its endpoints.
fn booking_present(ctx: &Ctx) -> ApiResult<()> {
    if ctx.settings.capabilities.booking { Ok(()) } else { Err(ApiError::absent()) }
}

fn service_json(s: &Service, currency: &str, locale: Locale) -> Value {
    json!({
        "code": s.code,
        "name": s.name.get(locale),
        "duration_min": s.duration_min,
        "price": money(s.price, currency, locale),
    })
}

/// `GET booking/services`: services, and staff with the customer's regular one first.
async fn booking_services(State(state): St, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let booking = ctx.adapters.booking.clone();
    let services = ctx.adapters.call(booking.services()).await?;
    let mut staff = ctx.adapters.call(booking.staff()).await?;
    let regular = ctx.adapters.call(booking.preferred_staff(caller.customer())).await?;
    audit(&state, caller.user_id, Some(&caller), "booking.services", None).await?;
    staff.sort_by_key(|s| Some(&s.id) != regular.as_ref());
    let locale = caller.locale;
    let currency = ctx.settings.currency.as_str();
    let staff: Vec<Value> = staff
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.name.get(locale),
                "services": s.services,
                "regular": Some(&s.id) == regular.as_ref(),
            })
        })
        .collect();
    let services: Vec<Value> = services.iter().map(|s| service_json(s, currency, locale)).collect();
    Ok(Json(json!({ "services": services, "staff": staff })))
}

/// `GET booking/slots?service=haircut[&staff=anna]`: free start times from now to the end of
/// the booking horizon, earliest first.
async fn booking_slots(State(state): St, headers: HeaderMap, RawQuery(query): RawQuery) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let query = query.unwrap_or_default();
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).take(64).collect())
            .filter(|v: &String| !v.is_empty())
    };
    let Some(service) = param("service") else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "name a service: ?service=<code>"));
    };
    let staff_id = param("staff");
    let booking = ctx.adapters.booking.clone();
    let services = ctx.adapters.call(booking.services()).await?;
    let staff = ctx.adapters.call(booking.staff()).await?;
    let known_service = services.iter().any(|s| s.code == service);
    let known_staff =
        staff_id.as_ref().is_none_or(|id| staff.iter().any(|s| &s.id == id && s.services.contains(&service)));
    if !known_service || !known_staff {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such service or staff member"));
    }
    let now = ctx.clock.now();
    let horizon = now + Duration::days(i64::from(ctx.settings.booking.horizon_days));
    let mut slots = ctx.adapters.call(booking.free_slots(&service, staff_id.as_deref(), now, horizon)).await?;
    // A time that has begun is not offered, whatever the booking system lists.
    slots.retain(|s| s.start > now);
    audit(&state, caller.user_id, Some(&caller), "booking.slots", Some(&service)).await?;
    let locale = caller.locale;
    let slots: Vec<Value> = slots
        .iter()
        .map(|slot| {
            let name = staff.iter().find(|s| s.id == slot.staff).map_or("", |s| s.name.get(locale));
            json!({ "start": time(ctx, slot.start, locale), "staff": { "id": slot.staff, "name": name } })
        })
        .collect();
    Ok(Json(json!({ "service": service, "slots": slots })))
}

fn appointment_json(ctx: &Ctx, a: &Appointment, services: &[Service], staff: &[StaffMember], locale: Locale) -> Value {
    let service = services.iter().find(|s| s.code == a.service).map_or("", |s| s.name.get(locale));
    let member = staff.iter().find(|s| s.id == a.staff).map_or("", |s| s.name.get(locale));
    json!({
        "id": a.id,
        "service": { "code": a.service, "name": service },
        "staff": { "id": a.staff, "name": member },
        "start": time(ctx, a.start, locale),
        "duration_min": a.duration_min,
        "status": match a.status { BookingStatus::Confirmed => "confirmed", BookingStatus::Cancelled => "cancelled" },
    })
}

/// `GET booking/appointments`: the customer's confirmed appointments from now on.
async fn appointments(State(state): St, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let booking = ctx.adapters.booking.clone();
    let list = ctx.adapters.call(booking.appointments(caller.customer(), ctx.clock.now())).await?;
    let services = ctx.adapters.call(booking.services()).await?;
    let staff = ctx.adapters.call(booking.staff()).await?;
    audit(&state, caller.user_id, Some(&caller), "booking.list", None).await?;
    let list: Vec<Value> = list.iter().map(|a| appointment_json(ctx, a, &services, &staff, caller.locale)).collect();
    Ok(Json(json!({ "appointments": list })))
}

/// `GET booking/appointments/{id}`: one of the customer's own, else 404.
async fn appointment(State(state): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let id: String = id.chars().filter(|c| !c.is_control()).take(64).collect();
    let booking = ctx.adapters.booking.clone();
    let found =
        if id.is_empty() { None } else { ctx.adapters.call(booking.appointment(caller.customer(), &id)).await? };
    let Some(found) = found else {
        audit(&state, caller.user_id, Some(&caller), "booking.not_found", Some(&id)).await?;
        return Err(ApiError::not_found());
    };
    let services = ctx.adapters.call(booking.services()).await?;
    let staff = ctx.adapters.call(booking.staff()).await?;
    audit(&state, caller.user_id, Some(&caller), "booking.read", Some(&id)).await?;
    Ok(Json(appointment_json(ctx, &found, &services, &staff, caller.locale)))
}
