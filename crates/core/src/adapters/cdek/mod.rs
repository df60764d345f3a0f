//! CDEK (СДЭК) parcel tracking as a [`Logistics`]: a carrier knows parcels, not the shop's
//! customers, so [`Cdek`] tracks the orders another system lists.
//!
//! The customer's orders, their paging and their scoping come from the business's own
//! logistics (the built-in one, a CRM, …). For each order whose delivery goes by CDEK
//! (carrier "CDEK"/"СДЭК" with a tracking number; every order with
//! [`CdekLookup::ImNumber`]), the status and the delivery come from CDEK's API v2
//! (`GET /v2/orders?cdek_number=…` or `?im_number=…`):
//!
//! - the newest status that is not deleted gives the order's status: `CREATED`, `ACCEPTED` →
//!   new; `RECEIVED_AT_SHIPMENT_WAREHOUSE` (the legacy `RECEIVED_AT_SENDER_WAREHOUSE`),
//!   `READY_FOR_SHIPMENT_IN_SENDER_CITY` → assembling; `TAKEN_BY_TRANSPORTER_…`,
//!   `SENT_TO_…`, `ACCEPTED_IN_TRANSIT_CITY`, `ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE`,
//!   `ACCEPTED_AT_PICK_UP_POINT`, `TAKEN_BY_COURIER` → in transit; `DELIVERED` → delivered
//!   (at the status's time); `NOT_DELIVERED` stays in transit, with a word on what to do. A
//!   code not listed here keeps the shop's status;
//! - the carrier's wording with the city ("Принят на склад до востребования, Алматы") is the
//!   delivery's note: in Russian as CDEK names it, in English from a table of the codes above;
//! - the carrier is "CDEK", the tracking number CDEK's number, the expected delivery the
//!   planned delivery date (the whole day, in [`Cdek::with_time_zone`]'s zone), the address
//!   CDEK's destination. The courier comes from the shop.
//!
//! Orders the shop has closed (delivered, cancelled) are shown as the shop has them, and
//! CDEK is not asked about them. A number that is not among the customer's own orders is
//! `None` without asking CDEK. An order CDEK does not know (yet) is shown as the shop has it.
//!
//! When CDEK fails (an outage, a timeout, an answer not as documented) the lists —
//! [`Logistics::orders`] and [`Logistics::active_orders`] — show the shop's orders
//! unchanged: the customer still sees their orders, with the shop's own status. A single
//! order ([`Logistics::order`]) fails with the error instead, so that the bot says the
//! system is not answering (and the guard retries): a customer who asks about one parcel is
//! better told to try again than shown a status that may be out of date as if it were
//! current. Failures are logged with the error only: no numbers, names or addresses.
//!
//! Authorisation is OAuth client credentials (`POST /v2/oauth/token`); the token is cached
//! until shortly before it expires, renewed once when CDEK answers 401 (one request for all
//! concurrent callers), and never logged. [`Cdek::new`] makes no network call.

mod client;
mod wire;

#[cfg(test)]
mod tests;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use futures::stream::{self, StreamExt as _};
use secrecy::SecretString;
use serde::Deserialize;

use self::client::{Client, Key};
use self::wire::Entity;
use super::{
    AdapterResult, CustomerId, Delivery, LocalizedText, Logistics, Order, OrderPage, OrderStatus, OrderSummary,
};

/// CDEK's production API.
pub const PRODUCTION_URL: &str = "https://api.cdek.ru/v2";
/// CDEK's test API (test credentials are published in CDEK's documentation).
pub const TEST_URL: &str = "https://api.edu.cdek.ru/v2";

/// Orders looked up at CDEK at the same time, at most.
const LOOKUPS_AT_ONCE: usize = 4;

/// The `[backends.cdek]` table: the CDEK account whose parcels are tracked.
///
/// ```toml
/// [backends.cdek]
/// client_id = "…"
/// client_secret = "…"
/// lookup = "cdek_number"   # or "im_number"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdekConfig {
    /// The API's base URL, up to and including `/v2`: [`PRODUCTION_URL`] (the default) or
    /// [`TEST_URL`].
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The account's identifier (OAuth `client_id`).
    pub client_id: String,
    /// The account's secret key (OAuth `client_secret`).
    pub client_secret: SecretString,
    /// Which number of an order CDEK knows it by.
    #[serde(default)]
    pub lookup: CdekLookup,
    /// How long one HTTP request to CDEK may take, in milliseconds (default 2000). Keep it
    /// below `bot.adapter_timeout_ms`, so that a slow CDEK leaves time to show the shop's
    /// orders.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Which backend lists the customers' orders that CDEK tracks: `"builtin"` (the default),
    /// `"http"` or `"bitrix24"`.
    #[serde(default = "default_orders")]
    pub orders: String,
}

fn default_orders() -> String {
    crate::config::BUILTIN_BACKEND.to_owned()
}

fn default_base_url() -> String {
    PRODUCTION_URL.to_owned()
}

fn default_timeout_ms() -> u64 {
    2000
}

/// How an order of the shop is found at CDEK.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdekLookup {
    /// The order's tracking number is CDEK's number of the parcel (`cdek_number`); only
    /// orders whose carrier is CDEK are looked up.
    #[default]
    CdekNumber,
    /// The shop's order number is the number the shop registered the parcel under at CDEK
    /// (`im_number`); every open order is looked up.
    ImNumber,
}

/// CDEK tracking over the business's own list of orders: see the [module](self).
pub struct Cdek {
    client: Client,
    orders: Arc<dyn Logistics>,
    lookup: CdekLookup,
    time_zone: Tz,
}

impl Cdek {
    /// The connector for `config`, tracking the orders `orders` lists. Checks the
    /// configuration; makes no network call.
    pub fn new(config: &CdekConfig, orders: Arc<dyn Logistics>) -> anyhow::Result<Cdek> {
        let base = config.base_url.trim().trim_end_matches('/');
        let url = url::Url::parse(base).map_err(|e| anyhow::anyhow!("cdek.base_url is not a URL: {e}"))?;
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "cdek.base_url must be http:// or https://");
        anyhow::ensure!(!config.client_id.trim().is_empty(), "cdek.client_id is empty");
        anyhow::ensure!(
            !secrecy::ExposeSecret::expose_secret(&config.client_secret).trim().is_empty(),
            "cdek.client_secret is empty"
        );
        anyhow::ensure!((100..=60_000).contains(&config.timeout_ms), "cdek.timeout_ms must be from 100 to 60000");
        let timeout = Duration::from_millis(config.timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot set up the HTTP client for CDEK: {e}"))?;
        let client =
            Client::new(http, base.to_owned(), config.client_id.trim().to_owned(), config.client_secret.clone());
        Ok(Cdek { client, orders, lookup: config.lookup, time_zone: Tz::UTC })
    }

    /// The time zone CDEK's planned delivery dates are read in (the business's; UTC unless
    /// set).
    pub fn with_time_zone(mut self, time_zone: Tz) -> Cdek {
        self.time_zone = time_zone;
        self
    }

    /// How CDEK knows `order`, if it goes by CDEK.
    fn key(&self, order: &Order) -> Option<(Key, String)> {
        match self.lookup {
            CdekLookup::ImNumber => Some((Key::ImNumber, order.number.clone())),
            CdekLookup::CdekNumber => {
                let delivery = order.delivery.as_ref()?;
                let carrier = delivery.carrier.as_deref()?.trim();
                let by_cdek = carrier.eq_ignore_ascii_case("cdek") || carrier.to_lowercase() == "сдэк";
                let tracking = delivery.tracking.as_deref()?.trim();
                (by_cdek && !tracking.is_empty()).then(|| (Key::CdekNumber, tracking.to_owned()))
            }
        }
    }

    /// `order` with CDEK's status and delivery; as it is when it does not go by CDEK, is
    /// closed, or CDEK does not know it.
    async fn tracked(&self, order: Order) -> AdapterResult<Order> {
        if !order.status.is_active() {
            return Ok(order);
        }
        let Some((key, value)) = self.key(&order) else { return Ok(order) };
        Ok(match self.client.order(key, &value).await? {
            Some(entity) => merge(order, &entity, self.time_zone),
            None => {
                tracing::debug!("CDEK does not know a parcel yet: the shop's order is shown");
                order
            }
        })
    }

    /// [`Cdek::tracked`], or the order as it is when CDEK fails.
    async fn tracked_or_as_is(&self, order: Order) -> Order {
        match self.tracked(order.clone()).await {
            Ok(order) => order,
            Err(e) => {
                tracing::warn!(error = %e, "CDEK did not give a parcel's status: the shop's order is shown");
                order
            }
        }
    }

    /// A line of the history with CDEK's status, or as it is.
    async fn tracked_summary(&self, id: &CustomerId, summary: OrderSummary) -> OrderSummary {
        if !summary.status.is_active() {
            return summary;
        }
        let order = match self.lookup {
            // The number is all it takes.
            CdekLookup::ImNumber => Some(stub(&summary)),
            // The tracking number is on the full order.
            CdekLookup::CdekNumber => match self.orders.order(id, &summary.number).await {
                Ok(order) => order,
                Err(e) => {
                    tracing::warn!(error = %e, "the shop did not give an order of the history: its line is shown as is");
                    None
                }
            },
        };
        let Some(order) = order else { return summary };
        let tracked = self.tracked_or_as_is(order).await;
        OrderSummary { status: tracked.status, ..summary }
    }
}

/// An order with only what a history line tells.
fn stub(summary: &OrderSummary) -> Order {
    Order {
        number: summary.number.clone(),
        created: summary.created,
        status: summary.status.clone(),
        total: summary.total,
        currency: String::new(),
        delivered_at: None,
        items: Vec::new(),
        delivery: None,
    }
}

#[async_trait]
impl Logistics for Cdek {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        let page = self.orders.orders(id, offset, limit).await?;
        let mut lines: Vec<(usize, OrderSummary)> = stream::iter(page.orders.into_iter().enumerate())
            .map(|(i, summary)| async move { (i, self.tracked_summary(id, summary).await) })
            .buffer_unordered(LOOKUPS_AT_ONCE)
            .collect()
            .await;
        lines.sort_by_key(|(i, _)| *i);
        Ok(OrderPage { orders: lines.into_iter().map(|(_, s)| s).collect(), ..page })
    }

    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        let orders = self.orders.active_orders(id).await?;
        let mut tracked: Vec<(usize, Order)> = stream::iter(orders.into_iter().enumerate())
            .map(|(i, order)| async move { (i, self.tracked_or_as_is(order).await) })
            .buffer_unordered(LOOKUPS_AT_ONCE)
            .collect()
            .await;
        tracked.sort_by_key(|(i, _)| *i);
        // A parcel CDEK has handed over is no longer active.
        Ok(tracked.into_iter().map(|(_, o)| o).filter(|o| o.status.is_active()).collect())
    }

    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        // Only the customer's own orders: CDEK is not asked about any other number.
        let Some(order) = self.orders.order(id, number).await? else { return Ok(None) };
        self.tracked(order).await.map(Some)
    }
}

/// What a CDEK status code means for the order, for the codes cabinet knows.
fn status_of(code: &str) -> Option<OrderStatus> {
    Some(match code {
        "CREATED" | "ACCEPTED" => OrderStatus::New,
        "RECEIVED_AT_SHIPMENT_WAREHOUSE" | "RECEIVED_AT_SENDER_WAREHOUSE" | "READY_FOR_SHIPMENT_IN_SENDER_CITY" => {
            OrderStatus::Assembling
        }
        "ACCEPTED_IN_TRANSIT_CITY"
        | "ACCEPTED_AT_TRANSIT_WAREHOUSE"
        | "READY_FOR_SHIPMENT_IN_TRANSIT_CITY"
        | "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE"
        | "ACCEPTED_AT_PICK_UP_POINT"
        | "POSTOMAT_POSTED"
        | "TAKEN_BY_COURIER"
        | "NOT_DELIVERED" => OrderStatus::InTransit,
        code if code.starts_with("TAKEN_BY_TRANSPORTER_") || code.starts_with("SENT_TO_") => OrderStatus::InTransit,
        "DELIVERED" => OrderStatus::Delivered,
        _ => return None,
    })
}

/// The English wording of a status code cabinet maps.
fn english(code: &str) -> Option<&'static str> {
    Some(match code {
        "CREATED" => "Created",
        "ACCEPTED" => "Accepted",
        "RECEIVED_AT_SHIPMENT_WAREHOUSE" | "RECEIVED_AT_SENDER_WAREHOUSE" => "Received at the sender's warehouse",
        "READY_FOR_SHIPMENT_IN_SENDER_CITY" => "Ready to ship from the sender's city",
        "TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY" => "Handed to the carrier in the sender's city",
        "SENT_TO_TRANSIT_CITY" => "Sent to a transit city",
        "ACCEPTED_IN_TRANSIT_CITY" => "Arrived in a transit city",
        "ACCEPTED_AT_TRANSIT_WAREHOUSE" => "Arrived at a transit warehouse",
        "READY_FOR_SHIPMENT_IN_TRANSIT_CITY" => "Ready to ship from a transit city",
        "SENT_TO_RECIPIENT_CITY" => "Sent to the recipient's city",
        "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE" => "Arrived at the warehouse in the recipient's city",
        "ACCEPTED_AT_PICK_UP_POINT" => "Waiting at the pick-up point",
        "POSTOMAT_POSTED" => "Waiting in the parcel locker",
        "TAKEN_BY_COURIER" => "Out for delivery",
        "DELIVERED" => "Delivered",
        "NOT_DELIVERED" => "Not delivered",
        code if code.starts_with("TAKEN_BY_TRANSPORTER_") || code.starts_with("SENT_TO_") => "In transit",
        _ => return None,
    })
}

/// `order` as CDEK sees its parcel.
fn merge(mut order: Order, entity: &Entity, time_zone: Tz) -> Order {
    let mut delivery = order.delivery.take().unwrap_or(Delivery {
        address: None,
        carrier: None,
        tracking: None,
        eta_from: None,
        eta_to: None,
        courier: None,
        note: None,
        location: None,
    });
    delivery.carrier = Some("CDEK".to_owned());
    if let Some(number) = &entity.cdek_number {
        delivery.tracking = Some(number.clone());
    }
    if let Some(address) = entity.to_location.as_ref().and_then(|l| l.text()) {
        delivery.address = Some(address);
    }
    if let Some(day) = entity.planned_date().and_then(|d| whole_day(d, time_zone)) {
        (delivery.eta_from, delivery.eta_to) = (Some(day.0), Some(day.1));
    }
    if let Some(status) = entity.current_status() {
        let city = status.city.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let with_city = |words: &str| match city {
            Some(city) => format!("{words}, {city}"),
            None => words.to_owned(),
        };
        let mut note = LocalizedText::default();
        let name = status.name.trim();
        if !name.is_empty() {
            note.0.insert("ru".into(), with_city(name));
        }
        if let Some(words) = english(&status.code) {
            note.0.insert("en".into(), with_city(words));
        }
        if status.code == "NOT_DELIVERED" {
            for (locale, advice) in [
                ("ru", "Уточните в СДЭК по трек-номеру, когда посылку доставят снова."),
                ("en", "Ask CDEK, with the tracking number, when the parcel will be delivered again."),
            ] {
                if let Some(text) = note.0.get_mut(locale) {
                    text.push_str(". ");
                    text.push_str(advice);
                }
            }
        }
        if !note.0.is_empty() {
            delivery.note = Some(note);
        }
        if let Some(status_now) = status_of(&status.code) {
            if status_now == OrderStatus::Delivered {
                order.delivered_at = Some(status.date_time);
                // Handed over: no expected time, no courier on the way.
                (delivery.eta_from, delivery.eta_to, delivery.location) = (None, None, None);
            }
            order.status = status_now;
        }
    }
    order.delivery = Some(delivery);
    order
}

/// The day's first and last minute in `time_zone`.
fn whole_day(day: NaiveDate, time_zone: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let at = |h, m| day.and_hms_opt(h, m, 0)?.and_local_timezone(time_zone).earliest().map(|t| t.with_timezone(&Utc));
    Some((at(0, 0)?, at(23, 59)?))
}
