//! The events API: the business's systems tell cabinet what happened (an order shipped, a
//! payment is due or was received, an invoice was issued, the balance runs low, a booking
//! changed, news for a segment), and the bot tells the customer first.
//!
//! `POST /api/v1/events` with one JSON event (`docs/events-api.yaml`). The sender proves who
//! it is with a signature (HMAC-SHA256 of `"{timestamp}.POST.{path}.{body}"` with the shared
//! secret, the same scheme as the HTTP backend's requests: `X-Cabinet-Timestamp`,
//! `X-Cabinet-Signature: v1=…`, at most five minutes away) or a bearer token, as the
//! operator configures. Every event carries its own `id`: a repeated id is accepted and
//! ignored, with the first answer. A body that is not JSON, an unknown type, data that does
//! not fit the type, an unknown customer or a body over the size limit get a 4xx with a JSON
//! error, and nothing is written.
//!
//! What an accepted event does is the [`EventSink`]'s: it is called at least once per event
//! id (again after a crash before the event was marked done), so it must be idempotent,
//! keyed by the event's id.

pub mod sink;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::adapters::http::sign;
use crate::adapters::{Crm, CustomerId, LocalizedText, OrderStatus};
use crate::clock::SharedClock;
use crate::store::Store;

/// The path events are posted to.
pub const EVENTS_PATH: &str = "/api/v1/events";
/// The largest event accepted by default, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest event id.
const MAX_ID_CHARS: usize = 128;

/// How senders of events are authenticated (`[events]`): with `secret`, requests must be
/// signed; with `token`, they carry `Authorization: Bearer <token>`. With neither, the
/// events API is off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// The shared secret events are signed with (`CABINET_EVENTS_SECRET`).
    pub secret: Option<SecretString>,
    /// A bearer token instead of signatures (`CABINET_EVENTS_TOKEN`).
    pub token: Option<SecretString>,
    /// The largest event accepted, in bytes (default 64 KiB).
    pub max_body_bytes: Option<usize>,
}

impl EventsConfig {
    /// Whether events are accepted at all.
    pub fn enabled(&self) -> bool {
        self.secret.is_some() || self.token.is_some()
    }
}

/// One event, as posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The sender's id of the event: the same id again is the same event.
    pub id: String,
    /// When it happened in the sender's system (informational).
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub what: EventKind,
}

/// What happened, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventKind {
    /// An order's status changed: the customer learns the new status and tracking.
    OrderStatusChanged(OrderStatusChanged),
    /// A charge is due: the customer is reminded with a way to pay.
    PaymentDue(PaymentDue),
    /// A payment arrived: the customer sees it confirmed.
    PaymentReceived(PaymentReceived),
    /// A document was issued: the customer gets it.
    InvoiceIssued(InvoiceIssued),
    /// The balance is about to run out.
    BalanceLow(BalanceLow),
    /// An appointment was made, moved or cancelled outside the chat.
    BookingChanged(BookingChanged),
    /// News for a segment of customers.
    News(News),
}

impl EventKind {
    /// The type's name, as posted.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::OrderStatusChanged(_) => "order_status_changed",
            EventKind::PaymentDue(_) => "payment_due",
            EventKind::PaymentReceived(_) => "payment_received",
            EventKind::InvoiceIssued(_) => "invoice_issued",
            EventKind::BalanceLow(_) => "balance_low",
            EventKind::BookingChanged(_) => "booking_changed",
            EventKind::News(_) => "news",
        }
    }

    /// The customer the event is about (`None` for news, which goes to a segment).
    pub fn customer(&self) -> Option<&CustomerId> {
        match self {
            EventKind::OrderStatusChanged(e) => Some(&e.customer_id),
            EventKind::PaymentDue(e) => Some(&e.customer_id),
            EventKind::PaymentReceived(e) => Some(&e.customer_id),
            EventKind::InvoiceIssued(e) => Some(&e.customer_id),
            EventKind::BalanceLow(e) => Some(&e.customer_id),
            EventKind::BookingChanged(e) => Some(&e.customer_id),
            EventKind::News(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Courier {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusChanged {
    pub customer_id: CustomerId,
    pub number: String,
    /// `new`, `assembling`, `in_transit`, `delivered`, `cancelled` (or the system's own word).
    pub status: OrderStatus,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking: Option<String>,
    #[serde(default)]
    pub eta_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub eta_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub courier: Option<Courier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentDue {
    pub customer_id: CustomerId,
    pub amount: Decimal,
    pub due_date: NaiveDate,
    /// ISO 4217; the business's currency when absent.
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentReceived {
    pub customer_id: CustomerId,
    pub amount: Decimal,
    /// The payment's reference (a payment link's `reference`, when it came through one).
    #[serde(default)]
    pub reference: Option<String>,
    /// The balance after it, when the billing knows.
    #[serde(default)]
    pub balance: Option<Decimal>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceIssued {
    pub customer_id: CustomerId,
    /// The document's id in the documents backend.
    pub document_id: String,
    #[serde(default)]
    pub title: Option<LocalizedText>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BalanceLow {
    pub customer_id: CustomerId,
    pub balance: Decimal,
    /// How many days the balance lasts, when the billing knows.
    #[serde(default)]
    pub days_left: Option<u32>,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingChange {
    Booked,
    Moved,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingChanged {
    pub customer_id: CustomerId,
    pub booking_id: String,
    pub change: BookingChange,
    /// The appointment's (new) start.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
}

/// Who news goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Segment {
    All,
    Tag(String),
    Tariff(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct News {
    pub segment: Segment,
    /// The text per language ("ru", "en").
    pub text: BTreeMap<String, String>,
}

/// What acting on an event did, for its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Notifications written to the outbox for it.
    pub notifications: u32,
}

/// Why an event could not be acted on now (the sender should retry later).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// What cabinet does with an accepted event. Called at least once per event id: it must be
/// idempotent, keyed by `event.id`.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn accept(&self, event: &Event) -> Result<Outcome, SinkError>;
}

/// What the events route needs.
#[derive(Clone)]
pub struct EventsState {
    pub store: Store,
    pub crm: Arc<dyn Crm>,
    pub sink: Arc<dyn EventSink>,
    pub clock: SharedClock,
    pub config: EventsConfig,
}

/// `POST /api/v1/events`, to be merged into the server's router.
pub fn router(state: EventsState) -> axum::Router {
    let limit = state.config.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    axum::Router::new()
        .route(EVENTS_PATH, post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(Arc::new(state))
}

/// A refusal: its status and a JSON body `{"error": code, "message": text}`.
#[derive(Debug)]
struct Refused {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refused {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refused {
        Refused { status, code, message: message.into() }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.code, "message": self.message }))).into_response()
    }
}

async fn receive(State(state): State<Arc<EventsState>>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
        Ok((status, answer)) => (status, Json(answer)).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn handle(state: &EventsState, headers: &HeaderMap, body: &[u8]) -> Result<(StatusCode, Value), Refused> {
    authenticate(state, headers, body)?;
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| !t.contains("json")) {
        return Err(Refused::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json",
        ));
    }
    let event = parse(body)?;
    if let Some(customer) = event.what.customer() {
        let known = state.crm.profile(customer).await.map_err(|e| {
            tracing::warn!(error = %e, "an event's customer could not be looked up");
            Refused::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the CRM does not answer now; retry later")
        })?;
        if known.is_none() {
            return Err(Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_customer", "no customer has this id"));
        }
    }
    let now = state.clock.now();
    let customer = event.what.customer().map(CustomerId::as_str);
    let stored = store::claim(&state.store, &event.id, event.what.name(), customer, now).await.map_err(internal)?;
    match stored {
        store::Claim::Act => {}
        store::Claim::Done(answer) => {
            let mut answer: Value = serde_json::from_str(&answer).unwrap_or_else(|_| json!({}));
            answer["duplicate"] = json!(true);
            return Ok((StatusCode::OK, answer));
        }
        store::Claim::Reused => {
            let message = "this id was used before for another event";
            return Err(Refused::new(StatusCode::CONFLICT, "id_reused", message));
        }
    }
    let outcome = match state.sink.accept(&event).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Not done: the sender's retry acts on it again (the sink is idempotent).
            tracing::warn!(event = %event.what.name(), error = %e, "an event could not be acted on");
            store::release(&state.store, &event.id).await.map_err(internal)?;
            return Err(Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "cannot act on it now; retry later",
            ));
        }
    };
    let answer = json!({
        "id": event.id,
        "type": event.what.name(),
        "accepted": true,
        "notifications": outcome.notifications,
        "duplicate": false,
    });
    store::done(&state.store, &event.id, &answer.to_string(), state.clock.now()).await.map_err(internal)?;
    Ok((StatusCode::ACCEPTED, answer))
}

/// Posts `body` to the events API at `url` (the server's base URL) signed with `secret`, as a
/// business's system would; its status and JSON answer. The transcript runner's `@event`.
pub async fn post_signed(url: &str, secret: &str, now: DateTime<Utc>, body: &str) -> anyhow::Result<(u16, Value)> {
    let at = now.timestamp();
    let response = reqwest::Client::new()
        .post(format!("{}{EVENTS_PATH}", url.trim_end_matches('/')))
        .header(header::CONTENT_TYPE, "application/json")
        .header(sign::TIMESTAMP_HEADER, at.to_string())
        .header(sign::SIGNATURE_HEADER, sign::signature(secret.as_bytes(), at, "POST", EVENTS_PATH, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

fn internal(e: crate::store::StoreError) -> Refused {
    tracing::error!(error = %e, "the events table failed");
    Refused::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "cannot record the event now; retry later")
}

/// Checks the signature or the bearer token, whichever is configured (a signature when both).
fn authenticate(state: &EventsState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refused> {
    let unauthorized = |why: &str| Refused::new(StatusCode::UNAUTHORIZED, "unauthorized", why);
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secret) = &state.config.secret {
        let now = state.clock.now().timestamp();
        return sign::verify(
            secret.expose_secret().as_bytes(),
            now,
            text(sign::TIMESTAMP_HEADER),
            text(sign::SIGNATURE_HEADER),
            "POST",
            EVENTS_PATH,
            body,
        )
        .map_err(|e| unauthorized(&e.to_string()));
    }
    if let Some(token) = &state.config.token {
        let given = text(header::AUTHORIZATION.as_str()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        return if same(given.as_bytes(), token.expose_secret().as_bytes()) {
            Ok(())
        } else {
            Err(unauthorized("a bearer token is needed"))
        };
    }
    Err(Refused::new(StatusCode::NOT_FOUND, "disabled", "the events API is off"))
}

/// Compares two secrets in time independent of where they differ (their HMACs under a
/// fixed key, compared with the MAC's constant-time check).
fn same(given: &[u8], expected: &[u8]) -> bool {
    let mac = |bytes: &[u8]| {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(b"cabinet token compare").expect("any key length");
        mac.update(bytes);
        mac
    };
    mac(given).verify_slice(&mac(expected).finalize().into_bytes()).is_ok()
}

/// The event in `body`, or why it is refused.
fn parse(body: &[u8]) -> Result<Event, Refused> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refused::new(StatusCode::BAD_REQUEST, "invalid_json", format!("not JSON: {e}")))?;
    let kind = value.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    const KNOWN: [&str; 7] = [
        "order_status_changed",
        "payment_due",
        "payment_received",
        "invoice_issued",
        "balance_low",
        "booking_changed",
        "news",
    ];
    if !KNOWN.contains(&kind.as_str()) {
        let message = format!("unknown event type {kind:?}; known: {}", KNOWN.join(", "));
        return Err(Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_type", message));
    }
    let event: Event = serde_json::from_value(value)
        .map_err(|e| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event", format!("{kind}: {e}")))?;
    let id = event.id.trim();
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        let message = format!("id must be 1 to {MAX_ID_CHARS} printable characters");
        return Err(Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event", message));
    }
    if let EventKind::News(news) = &event.what
        && news.text.values().all(|t| t.trim().is_empty())
    {
        return Err(Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event", "news: the text is empty"));
    }
    Ok(event)
}

#[cfg(test)]
mod tests;
