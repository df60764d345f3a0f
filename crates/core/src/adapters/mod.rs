//! The business's systems as cabinet sees them: CRM, billing and logistics traits, their
//! domain types, and [`Adapters`]; [`Adapters::guarded`] puts every call behind the
//! [`guard`]: a timeout, retries of reads, a circuit breaker, a short cache and metrics.
//!
//! Every method that reads a customer's data takes the [`CustomerId`] bound to the Telegram
//! account, never an id taken from a message: an order number typed by a customer is looked
//! up *within* that customer's orders.

pub mod bitrix24;
pub mod builtin;
pub mod cdek;
pub mod contract;
pub mod guard;
pub mod guarded;
pub mod http;
pub mod otp;
pub mod yclients;

use std::{collections::BTreeMap, future::Future, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{Locale, Period, Phone};

/// The business's id of a customer ("C1").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerId(pub String);

impl CustomerId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CustomerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A text the business keeps in several languages ({"ru": "…", "en": "…"}).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LocalizedText(pub BTreeMap<String, String>);

impl LocalizedText {
    /// The text in `locale`, else in Russian, else in any language, else "".
    pub fn get(&self, locale: Locale) -> &str {
        self.0
            .get(locale.as_str())
            .or_else(|| self.0.get("ru"))
            .or_else(|| self.0.values().next())
            .map(String::as_str)
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerProfile {
    pub id: CustomerId,
    pub name: String,
    pub first_name: String,
    pub phone: Phone,
    pub email: Option<String>,
    pub locale: Option<Locale>,
    pub tags: Vec<String>,
    /// The customer's own time zone, when the CRM knows it: quiet hours follow it (the
    /// business's time zone stands in otherwise).
    pub time_zone: Option<chrono_tz::Tz>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tariff {
    pub code: String,
    pub name: LocalizedText,
    pub monthly_fee: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextCharge {
    pub date: NaiveDate,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub balance: Decimal,
    /// ISO 4217 code ("KZT").
    pub currency: String,
    pub bonus_points: i64,
    pub tariff: Option<Tariff>,
    pub options: Vec<Tariff>,
    pub next_charge: Option<NextCharge>,
    /// What a day of service costs, when the billing charges daily.
    pub daily_charge: Option<Decimal>,
    /// "**** **** **** 4242": already masked by the billing.
    pub card_mask: Option<String>,
    /// The subscription is paused (no monthly fee until resumed).
    pub paused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub at: DateTime<Utc>,
    /// Negative for charges and purchases.
    pub amount: Decimal,
    /// "charge", "top_up", "purchase", "refund", …
    pub kind: String,
    pub title: LocalizedText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    New,
    Assembling,
    InTransit,
    Delivered,
    Cancelled,
    #[serde(untagged)]
    Other(String),
}

impl OrderStatus {
    pub fn parse(s: &str) -> OrderStatus {
        match s {
            "new" => OrderStatus::New,
            "assembling" => OrderStatus::Assembling,
            "in_transit" => OrderStatus::InTransit,
            "delivered" => OrderStatus::Delivered,
            "cancelled" | "canceled" => OrderStatus::Cancelled,
            other => OrderStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::Assembling => "assembling",
            OrderStatus::InTransit => "in_transit",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Other(s) => s,
        }
    }

    /// Not yet delivered nor cancelled.
    pub fn is_active(&self) -> bool {
        !matches!(self, OrderStatus::Delivered | OrderStatus::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSummary {
    pub number: String,
    pub created: DateTime<Utc>,
    pub status: OrderStatus,
    pub total: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub sku: String,
    pub name: LocalizedText,
    pub qty: i64,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Courier {
    pub name: String,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub address: Option<String>,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    pub eta_from: Option<DateTime<Utc>>,
    pub eta_to: Option<DateTime<Utc>>,
    pub courier: Option<Courier>,
    pub note: Option<LocalizedText>,
    /// (latitude, longitude)
    pub location: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub number: String,
    pub created: DateTime<Utc>,
    pub status: OrderStatus,
    pub total: Decimal,
    pub currency: String,
    pub delivered_at: Option<DateTime<Utc>>,
    pub items: Vec<OrderItem>,
    pub delivery: Option<Delivery>,
}

/// A page of a customer's orders, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    /// How many orders the customer has in all.
    pub total: u32,
    pub currency: String,
}

/// Why an adapter could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AdapterError {
    #[error("the system did not answer in time")]
    Timeout,
    #[error("the system is unavailable: {0}")]
    Unavailable(String),
    #[error("the system answered with something unexpected: {0}")]
    Invalid(String),
    /// The system failed again and again: it is not asked until its breaker's cool-down ends.
    #[error("the system is failing and is not asked for a while")]
    CircuitOpen,
}

pub type AdapterResult<T> = Result<T, AdapterError>;

/// The business's customer records.
#[async_trait]
pub trait Crm: Send + Sync {
    /// The customer with this phone, if any.
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>>;
    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>>;
    /// Staff only (/find): at most `limit` customers, by name, whose phone's digits contain
    /// the query's digits (when it has at least 4; a whole number typed the local way, "8 701
    /// 123 45 67", finds its owner too) or whose name contains every word of the query that
    /// has a letter (case-insensitive, any alphabet). A query with neither finds nobody.
    async fn search(&self, query: &str, limit: u32) -> AdapterResult<Vec<CustomerProfile>>;
    /// Someone unknown shared their own phone: a lead for the business's sales. The same
    /// phone gives one lead (a repeat answers with the first). Its id in the CRM, or `None`
    /// from a CRM that keeps no leads (the default).
    async fn create_lead(&self, lead: &NewLead) -> AdapterResult<Option<String>> {
        let _ = lead;
        Ok(None)
    }
    /// A note on the customer's record (a case escalated to staff, with its reason); `false`
    /// from a CRM that keeps no notes (the default).
    async fn add_note(&self, id: &CustomerId, text: &str) -> AdapterResult<bool> {
        let _ = (id, text);
        Ok(false)
    }
}

/// A lead for the CRM: an unknown phone shared from Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    pub phone: Phone,
    pub first_name: String,
    pub telegram_user_id: i64,
    pub at: DateTime<Utc>,
}

/// Balances, tariffs and payments.
#[async_trait]
pub trait Billing: Send + Sync {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>>;
    /// The latest `limit` transactions, newest first.
    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>>;
    /// The tariffs a customer may choose, cheapest first.
    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>>;
    /// The options a customer may add, cheapest first.
    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>>;
    /// What `change` would do to the customer's subscription, without doing it: the new
    /// monthly fee and from when it applies, or why it cannot be done.
    async fn quote_change(&self, id: &CustomerId, change: &SubscriptionChange) -> AdapterResult<ChangeOutcome>;
    /// Makes `change`. The same `idempotency_key` applies it once: a repeat answers with the
    /// first result.
    async fn apply_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> AdapterResult<ChangeOutcome>;
    /// A link where the customer pays `amount` into their account; `reference` identifies the
    /// payment (unique per request).
    async fn payment_link(&self, id: &CustomerId, amount: Decimal, reference: &str) -> AdapterResult<String>;
    /// Credits a payment received outside the billing (a Telegram invoice) to the account.
    /// `payment_id` is the payment system's id: the same id is credited once; a repeat answers
    /// `Ok(None)`. Returns the new balance.
    async fn credit_payment(
        &self,
        id: &CustomerId,
        amount: Decimal,
        payment_id: &str,
        title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>>;
}

/// A change to a customer's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum SubscriptionChange {
    /// Move to the tariff with this code.
    Tariff(String),
    Pause,
    Resume,
    AddOption(String),
    RemoveOption(String),
}

/// What a subscription change does, or why it cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// The change is (or would be) made.
    Done {
        /// The monthly fee once the change applies (tariff plus options; zero while paused).
        monthly_fee: Decimal,
        /// The first day the change applies (business time zone).
        effective: NaiveDate,
        currency: String,
    },
    Refused(ChangeRefusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefusal {
    /// The customer already has this tariff.
    SameTariff,
    /// No such tariff or option.
    Unknown,
    /// The option is already on.
    OptionPresent,
    /// The option is not on.
    OptionAbsent,
    AlreadyPaused,
    NotPaused,
    /// The customer has no subscription to change.
    NoSubscription,
}

/// A document the business issued to a customer (act, invoice, receipt, contract, statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentInfo {
    pub id: String,
    /// "act", "invoice", "receipt", "contract" or "statement".
    pub kind: String,
    pub period: Period,
    pub title: LocalizedText,
}

/// A document's printable content, when the backend has no file of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentData {
    pub info: DocumentInfo,
    /// The date the document is issued on.
    pub issued: NaiveDate,
    pub customer_name: String,
    /// The customer's address and the like: printed under the name.
    pub customer_lines: Vec<String>,
    /// The customer's account (or contract) number, printed as such.
    pub account: Option<String>,
    pub lines: Vec<DocumentLine>,
    pub total: Decimal,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub description: LocalizedText,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

/// How to get a document's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentFile {
    /// The file itself.
    Bytes { file_name: String, bytes: Vec<u8> },
    /// A URL Telegram can download the file from.
    Url { file_name: String, url: String },
    /// No file: cabinet renders a PDF from the data.
    Data(DocumentData),
}

/// The customer's documents.
#[async_trait]
pub trait Documents: Send + Sync {
    /// All of the customer's documents, newest period first.
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<DocumentInfo>>;
    /// The document with this id among the customer's own; `None` for an unknown id and for
    /// another customer's document alike.
    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentInfo>>;
    /// The document's file or printable data, scoped like [`Documents::document`].
    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentFile>>;
}

/// A product as it is sold now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: String,
    pub name: LocalizedText,
    pub price: Decimal,
    /// Units in stock; zero or less is out of stock.
    pub in_stock: i64,
    /// The catalogue's category code ("grocery"), when the shop groups its products.
    pub category: Option<String>,
}

/// A new order to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// (sku, quantity)
    pub lines: Vec<(String, i64)>,
    pub address: Option<String>,
}

/// The order the shop created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrder {
    pub number: String,
    pub total: Decimal,
    pub currency: String,
    /// False when the idempotency key had already created this order.
    pub new: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRefusal {
    /// These SKUs are unknown or out of stock now.
    OutOfStock(Vec<String>),
    /// Nothing to order.
    Empty,
}

/// The catalogue and new orders.
#[async_trait]
pub trait Shop: Send + Sync {
    /// The products with these SKUs as sold now (unknown SKUs are left out).
    async fn products(&self, skus: &[String]) -> AdapterResult<Vec<Product>>;
    /// Every product on sale (in stock or not), for browsing: by category, then name. A shop
    /// that cannot list its catalogue answers an empty list (the default).
    async fn catalogue(&self) -> AdapterResult<Vec<Product>> {
        Ok(Vec::new())
    }
    /// The customer's most recent delivered order.
    async fn last_delivered_order(&self, id: &CustomerId) -> AdapterResult<Option<Order>>;
    /// Creates an order at current prices. The same `idempotency_key` for the same customer
    /// creates one order: a repeat answers with it (`new: false`), whatever `order` it brings
    /// (the key is looked up before the order is checked).
    async fn create_order(
        &self,
        id: &CustomerId,
        order: &NewOrder,
        idempotency_key: &str,
    ) -> AdapterResult<Result<CreatedOrder, OrderRefusal>>;
}

/// A personal offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: String,
    pub text: LocalizedText,
    /// The product offered, when ordering it is one tap.
    pub sku: Option<String>,
}

/// What crediting a referral did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralOutcome {
    /// The referrer got `points` bonus points.
    Credited { referrer: CustomerId, points: i64 },
    /// This customer was already referred once.
    AlreadyReferred,
    /// The code's owner `referrer` was referred, directly or through others, by this customer:
    /// no credit goes round in a loop.
    Loop { referrer: CustomerId },
    /// The code is the customer's own.
    SelfReferral,
    /// No customer has this code.
    UnknownCode,
}

/// Bonuses, offers and referrals.
#[async_trait]
pub trait Loyalty: Send + Sync {
    /// One personal offer from the customer's purchase history, if any fits.
    async fn offer(&self, id: &CustomerId) -> AdapterResult<Option<Offer>>;
    /// The customer's personal referral code (stable; letters and digits only).
    async fn referral_code(&self, id: &CustomerId) -> AdapterResult<String>;
    /// `referred` came with `code`: credits the code's owner once per referred customer.
    async fn credit_referral(&self, code: &str, referred: &CustomerId) -> AdapterResult<ReferralOutcome>;
}

/// Orders and deliveries.
#[async_trait]
pub trait Logistics: Send + Sync {
    /// The customer's orders, newest first, `limit` from `offset`.
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage>;
    /// The customer's orders that are not delivered nor cancelled, newest first.
    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>>;
    /// The order with this number among the customer's own orders; `None` for an unknown
    /// number and for another customer's order alike.
    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>>;
    /// Cancels the customer's own order `number`, when it may still be cancelled. A backend
    /// that does not cancel orders says so, and a person is asked instead.
    async fn cancel_order(&self, _id: &CustomerId, _number: &str) -> AdapterResult<OrderCancellation> {
        Ok(OrderCancellation::Unsupported)
    }
}

/// What became of a request to cancel an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCancellation {
    /// Cancelled now.
    Cancelled,
    /// Too late: the order is on its way, delivered or already cancelled (its status now).
    TooLate(OrderStatus),
    /// Not the customer's order, or no such order.
    NotFound,
    /// The backend does not cancel orders.
    Unsupported,
}

/// A service that can be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// "haircut"
    pub code: String,
    pub name: LocalizedText,
    pub duration_min: u32,
    pub price: Decimal,
}

/// Someone who provides services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// "anna"
    pub id: String,
    pub name: LocalizedText,
    /// The codes of the services they provide.
    pub services: Vec<String>,
}

/// A free start time of a staff member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub staff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

/// A customer's appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: String,
    pub service: String,
    pub staff: String,
    pub start: DateTime<Utc>,
    pub duration_min: u32,
    pub status: BookingStatus,
}

/// Why a booking, a move or a cancellation was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingRefusal {
    /// Someone else took this time (or it was never free).
    SlotTaken,
    /// Not a start time the business offers: outside working hours, on a day off, not on the
    /// grid of start times.
    NotOffered,
    /// The time has passed.
    InPast,
    /// No such service, staff member, or the staff member does not provide the service.
    Unknown,
    /// No such booking among the customer's own.
    NotFound,
    AlreadyCancelled,
}

/// Services, staff, free times and the customer's appointments. Times are instants (UTC); the
/// business's time zone decides what "10:00" and "tomorrow" are.
#[async_trait]
pub trait Booking: Send + Sync {
    async fn services(&self) -> AdapterResult<Vec<Service>>;
    async fn staff(&self) -> AdapterResult<Vec<StaffMember>>;
    /// The customer's regular staff member, if they have one.
    async fn preferred_staff(&self, id: &CustomerId) -> AdapterResult<Option<String>>;
    /// Free start times for `service` in `[from, to)`, of `staff` or of anyone who provides the
    /// service, earliest first.
    async fn free_slots(
        &self,
        service: &str,
        staff: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<Vec<Slot>>;
    /// Books `slot` for the customer. The same `idempotency_key` books once: a repeat answers
    /// with the same appointment. Two customers asking for one slot: one gets it, the other
    /// `SlotTaken`.
    async fn book(
        &self,
        id: &CustomerId,
        service: &str,
        slot: &Slot,
        idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>>;
    /// The customer's confirmed appointments from `from` on, earliest first.
    async fn appointments(&self, id: &CustomerId, from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>>;
    /// One of the customer's own appointments (any status); `None` for another customer's.
    async fn appointment(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Appointment>>;
    /// Moves an appointment to `slot`; the old time is released only when the new one is
    /// taken (atomically).
    async fn reschedule(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>>;
    async fn cancel(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>>;
    /// Every customer's confirmed appointments starting in `[from, to)`, with their customer:
    /// what reminders are planned from (not scoped: only the scheduler calls it).
    async fn upcoming(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> AdapterResult<Vec<(CustomerId, Appointment)>>;
}

/// Facts about the business as a whole: what the bot needs before any customer writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessInfo {
    pub name: String,
    /// ISO 4217 code ("KZT").
    pub currency: String,
    /// An IANA time zone ("Asia/Almaty"): what "10:00" and "tomorrow" mean.
    pub time_zone: String,
    /// "ru" or "en".
    pub default_locale: String,
    /// Opening hours per weekday ("mon" → "10:00-20:00"; a missing day is a day off), as in
    /// the data set's `working_hours`.
    pub working_hours: BTreeMap<String, String>,
    /// Days the business is closed.
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    /// When staff answer ("09:00-21:00").
    #[serde(default)]
    pub support_hours: Option<String>,
    /// The number customers may call ("+7 727 355 00 00"), if the business gives one.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Business-wide facts: name, currency, time zone, hours, holidays. The names of services and
/// staff the recogniser knows come from [`Booking`].
#[async_trait]
pub trait Directory: Send + Sync {
    /// The business's facts; `None` from a backend that keeps none (the config gives them).
    async fn business(&self) -> AdapterResult<Option<BusinessInfo>>;
}

/// A [`Directory`] that knows nothing: the config's `[business]` gives the facts.
pub struct NoDirectory;

#[async_trait]
impl Directory for NoDirectory {
    async fn business(&self) -> AdapterResult<Option<BusinessInfo>> {
        Ok(None)
    }
}

/// Which backend serves each capability ("builtin", "http", …): the label of its metrics and
/// the key of its circuit breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendNames {
    pub crm: String,
    pub billing: String,
    pub logistics: String,
    pub documents: String,
    pub shop: String,
    pub loyalty: String,
    pub booking: String,
    pub directory: String,
}

impl BackendNames {
    /// Every capability served by `name`.
    pub fn all(name: &str) -> BackendNames {
        let n = || name.to_owned();
        BackendNames {
            crm: n(),
            billing: n(),
            logistics: n(),
            documents: n(),
            shop: n(),
            loyalty: n(),
            booking: n(),
            directory: n(),
        }
    }
}

/// The business's systems. [`Adapters::guarded`] (which `app::build_ctx` applies to every
/// bot) makes each call go through one [`guard::Guard`].
#[derive(Clone)]
pub struct Adapters {
    pub crm: Arc<dyn Crm>,
    pub billing: Arc<dyn Billing>,
    pub logistics: Arc<dyn Logistics>,
    pub documents: Arc<dyn Documents>,
    pub shop: Arc<dyn Shop>,
    pub loyalty: Arc<dyn Loyalty>,
    pub booking: Arc<dyn Booking>,
    pub directory: Arc<dyn Directory>,
    /// Each capability's backend, by name.
    pub names: BackendNames,
}

impl Adapters {
    /// The same systems, each behind `guard`.
    pub fn guarded(self, guard: Arc<guard::Guard>) -> Adapters {
        use guarded::*;
        let n = self.names;
        let g = || guard.clone();
        Adapters {
            crm: Arc::new(GuardedCrm { inner: self.crm, guard: g(), backend: n.crm.clone() }),
            billing: Arc::new(GuardedBilling { inner: self.billing, guard: g(), backend: n.billing.clone() }),
            logistics: Arc::new(GuardedLogistics { inner: self.logistics, guard: g(), backend: n.logistics.clone() }),
            documents: Arc::new(GuardedDocuments { inner: self.documents, guard: g(), backend: n.documents.clone() }),
            shop: Arc::new(GuardedShop { inner: self.shop, guard: g(), backend: n.shop.clone() }),
            loyalty: Arc::new(GuardedLoyalty { inner: self.loyalty, guard: g(), backend: n.loyalty.clone() }),
            booking: Arc::new(GuardedBooking { inner: self.booking, guard: g(), backend: n.booking.clone() }),
            directory: Arc::new(GuardedDirectory { inner: self.directory, guard: g(), backend: n.directory.clone() }),
            names: n,
        }
    }

    /// Awaits an adapter call. The guard already bounds it; this stays so that call sites
    /// read the same whether or not they need the error converted.
    pub async fn call<T>(&self, fut: impl Future<Output = AdapterResult<T>>) -> AdapterResult<T> {
        fut.await
    }
}
