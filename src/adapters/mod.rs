//! The business's systems as cabinet sees them: CRM, billing and logistics traits, their
//! domain types, and [`Adapters`], which bounds every call with a timeout.
//!
//! Every method that reads a customer's data takes the [`CustomerId`] bound to the Telegram
//! account, never an id taken from a message: an order number typed by a customer is looked
//! up *within* that customer's orders.

pub mod builtin;

use std::{collections::BTreeMap, future::Future, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{Locale, Phone};

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
}

pub type AdapterResult<T> = Result<T, AdapterError>;

/// The business's customer records.
#[async_trait]
pub trait Crm: Send + Sync {
    /// The customer with this phone, if any.
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>>;
    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>>;
}

/// Balances, tariffs and payments.
#[async_trait]
pub trait Billing: Send + Sync {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>>;
    /// The latest `limit` transactions, newest first.
    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>>;
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
}

/// The business's systems, each call bounded by `timeout`.
#[derive(Clone)]
pub struct Adapters {
    pub crm: Arc<dyn Crm>,
    pub billing: Arc<dyn Billing>,
    pub logistics: Arc<dyn Logistics>,
    pub timeout: Duration,
}

impl Adapters {
    /// Runs an adapter call, turning a timeout into [`AdapterError::Timeout`].
    pub async fn call<T>(&self, fut: impl Future<Output = AdapterResult<T>>) -> AdapterResult<T> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(AdapterError::Timeout),
        }
    }
}
