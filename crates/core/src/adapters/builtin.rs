//! The built-in adapter: the business's data kept in cabinet's own database (filled by
//! `cabinet import` or the events API). Every query is scoped by the customer id.
//!
//! The reads of customers, accounts and orders are here; subscription changes and payments
//! are in `billing`, documents in `documents`, the shop in `shop`, offers and referrals in
//! `loyalty`, appointments in `booking`.

mod billing;
mod booking;
mod documents;
pub mod import;
mod loyalty;
mod shop;

use std::str::FromStr;

use async_trait::async_trait;
use chrono_tz::Tz;
use futures::TryStreamExt;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::*;
use crate::clock::{SharedClock, SystemClock};
use crate::store::{Cols, Migrations, Store, StoreError, StoreResult};

/// What the built-in adapter does beyond the data: where customers pay, what a referral
/// earns, which purchases lead to which offers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct BuiltinSettings {
    /// The payment page: `{customer}`, `{amount}` ("2000", "1500.50"), `{reference}` and
    /// `{currency}` are replaced by their URL-encoded values.
    pub payment_url: String,
    /// The bonus points a referrer gets per referred customer.
    pub referral_points: i64,
    /// Personal offers, tried in this order.
    pub offers: Vec<OfferRule>,
}

impl Default for BuiltinSettings {
    fn default() -> Self {
        Self {
            payment_url: "https://pay.example.com/checkout?account={customer}&amount={amount}&ref={reference}"
                .to_owned(),
            referral_points: 500,
            offers: vec![OfferRule { bought: "COF-MACH".to_owned(), offer: "COF-LAV-1KG".to_owned(), after_days: 21 }],
        }
    }
}

/// How the built-in adapter offers appointments. Opening hours come from the business row's
/// `working_hours`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BookingSettings {
    /// How many days ahead free times are offered and can be booked.
    pub horizon_days: u32,
    /// Dates the business is closed (in its time zone), whatever the working hours say.
    pub holidays: Vec<NaiveDate>,
    /// The spacing of start times from the opening time, in minutes.
    pub step_minutes: u32,
}

impl Default for BookingSettings {
    fn default() -> Self {
        Self { horizon_days: 14, holidays: Vec::new(), step_minutes: 60 }
    }
}

/// "Whoever bought `bought` at least `after_days` ago is offered `offer`."
#[derive(Clone, Debug, serde::Deserialize, PartialEq)]
pub struct OfferRule {
    /// The SKU bought.
    pub bought: String,
    /// The SKU offered.
    pub offer: String,
    /// The offer is made once the purchase is at least this many days old.
    pub after_days: i64,
}

/// Every adapter trait over the store.
#[derive(Clone)]
pub struct Builtin {
    pub store: Store,
    clock: SharedClock,
    settings: BuiltinSettings,
    booking: BookingSettings,
}

impl Builtin {
    /// Over `store`, with the default settings and the system clock.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            settings: BuiltinSettings::default(),
            booking: BookingSettings::default(),
        }
    }

    /// Reads "now" from `clock` (dates of changes, orders, payments; the age of purchases).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `settings` instead of the defaults.
    pub fn with_settings(mut self, settings: BuiltinSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &BuiltinSettings {
        &self.settings
    }

    /// Uses `settings` for appointments instead of the defaults.
    pub fn with_booking_settings(mut self, settings: BookingSettings) -> Self {
        self.booking = settings;
        self
    }

    /// The appointment settings in use.
    pub fn booking_settings(&self) -> &BookingSettings {
        &self.booking
    }

    /// Every trait, as [`Adapters`] named "builtin".
    pub fn adapters(self) -> Adapters {
        let me = Arc::new(self);
        Adapters {
            crm: me.clone(),
            billing: me.clone(),
            logistics: me.clone(),
            documents: me.clone(),
            shop: me.clone(),
            loyalty: me.clone(),
            booking: me.clone(),
            directory: me,
            names: BackendNames::all("builtin"),
        }
    }

    fn pool(&self) -> &crate::store::Pool {
        self.store.pool()
    }

    /// The business currency; the business row must have been imported.
    async fn currency(&self) -> AdapterResult<String> {
        let row = sqlx::query("SELECT currency FROM business WHERE id = 1")
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(|| AdapterError::Unavailable("no business data imported".to_owned()))?;
        Ok(Cols::new(&row, "business").text("currency")?)
    }

    /// The business currency and time zone.
    async fn business(&self) -> AdapterResult<Business> {
        let mut conn = self.pool().acquire().await.map_err(db)?;
        business_on(&mut conn).await
    }

    /// Today in the business time zone.
    fn today(&self, tz: Tz) -> NaiveDate {
        self.clock.now().with_timezone(&tz).date_naive()
    }

    async fn customer(&self, column: &str, value: &str) -> AdapterResult<Option<CustomerProfile>> {
        let sql = format!(
            "SELECT id, name, first_name, phone, email, locale, tags, time_zone FROM customers WHERE {column} = $1"
        );
        let row = sqlx::query(&sql).bind(value.to_owned()).fetch_optional(self.pool()).await.map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let c = Cols::new(&row, "customers");
        Ok(Some(CustomerProfile {
            id: CustomerId(c.text("id")?),
            name: c.text("name")?,
            first_name: c.text("first_name")?,
            phone: c.phone("phone")?,
            email: c.opt_text("email")?,
            locale: c.opt_locale("locale")?,
            tags: c.json("tags")?,
            time_zone: c.opt_text("time_zone")?.and_then(|tz| tz.parse().ok()),
        }))
    }

    /// The full orders (items, delivery) of these order rows, in their order.
    async fn full_orders(&self, rows: &[AnyRow], currency: &str) -> AdapterResult<Vec<Order>> {
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            let summary = summary(row)?;
            let delivered_at = Cols::new(row, "orders").opt_time("delivered_at")?;
            let items = self.items(&summary.number).await?;
            let delivery = self.delivery(&summary.number).await?;
            orders.push(Order {
                number: summary.number,
                created: summary.created,
                status: summary.status,
                total: summary.total,
                currency: currency.to_owned(),
                delivered_at,
                items,
                delivery,
            });
        }
        Ok(orders)
    }

    async fn items(&self, number: &str) -> AdapterResult<Vec<OrderItem>> {
        let rows = sqlx::query(
            "SELECT i.sku, i.qty, i.price, c.name FROM order_items i \
             LEFT JOIN catalog c ON c.sku = i.sku WHERE i.order_number = $1 ORDER BY i.line",
        )
        .bind(number.to_owned())
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "order_items");
                Ok(OrderItem {
                    sku: c.text("sku")?,
                    name: c.opt_json("name")?.unwrap_or_default(),
                    qty: c.i64("qty")?,
                    price: c.money("price")?,
                })
            })
            .collect()
    }

    /// An order's new status and delivery from the events API (`order_status_changed`): the
    /// customer's order `number` takes `status` and every delivery detail given (the others
    /// stay). `false` when the customer has no such order here.
    pub async fn apply_order_status(
        &self,
        customer: &CustomerId,
        number: &str,
        status: &OrderStatus,
        delivery: &Delivery,
    ) -> AdapterResult<bool> {
        let now = crate::store::time_to_db(self.clock.now());
        let mut tx = self.pool().begin().await.map_err(db)?;
        let updated = sqlx::query(
            "UPDATE orders SET status = $3, \
             delivered_at = CASE WHEN $3 = 'delivered' THEN COALESCE(delivered_at, $4) ELSE delivered_at END \
             WHERE number = $1 AND customer_id = $2",
        )
        .bind(number.to_owned())
        .bind(customer.as_str().to_owned())
        .bind(status.as_str().to_owned())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(crate::store::time_to_db);
        let courier = delivery.courier.as_ref();
        sqlx::query(
            "INSERT INTO deliveries (order_number, carrier, tracking, eta_from, eta_to, courier_name, courier_phone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (order_number) DO UPDATE SET \
             carrier = COALESCE(excluded.carrier, deliveries.carrier), \
             tracking = COALESCE(excluded.tracking, deliveries.tracking), \
             eta_from = COALESCE(excluded.eta_from, deliveries.eta_from), \
             eta_to = COALESCE(excluded.eta_to, deliveries.eta_to), \
             courier_name = COALESCE(excluded.courier_name, deliveries.courier_name), \
             courier_phone = COALESCE(excluded.courier_phone, deliveries.courier_phone)",
        )
        .bind(number.to_owned())
        .bind(delivery.carrier.clone())
        .bind(delivery.tracking.clone())
        .bind(time(delivery.eta_from))
        .bind(time(delivery.eta_to))
        .bind(courier.map(|c| c.name.clone()))
        .bind(courier.and_then(|c| c.phone.clone()))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn delivery(&self, number: &str) -> AdapterResult<Option<Delivery>> {
        let row = sqlx::query(
            "SELECT address, carrier, tracking, eta_from, eta_to, courier_name, courier_phone, note, lat, lon \
             FROM deliveries WHERE order_number = $1",
        )
        .bind(number.to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let c = Cols::new(&row, "deliveries");
        let courier_phone = c.opt_text("courier_phone")?;
        let courier = c.opt_text("courier_name")?.map(|name| Courier { name, phone: courier_phone });
        let location = match (c.opt_f64("lat")?, c.opt_f64("lon")?) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            _ => None,
        };
        Ok(Some(Delivery {
            address: c.opt_text("address")?,
            carrier: c.opt_text("carrier")?,
            tracking: c.opt_text("tracking")?,
            eta_from: c.opt_time("eta_from")?,
            eta_to: c.opt_time("eta_to")?,
            courier,
            note: c.opt_json("note")?,
            location,
        }))
    }

    /// The tariffs or options with these codes, in this order (unknown codes are skipped).
    async fn tariffs_by_code(&self, table: &'static str, codes: &[String]) -> AdapterResult<Vec<Tariff>> {
        let sql = format!("SELECT code, name, monthly_fee FROM {table} WHERE code = $1");
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            let row = sqlx::query(&sql).bind(code.clone()).fetch_optional(self.pool()).await.map_err(db)?;
            if let Some(row) = row {
                let c = Cols::new(&row, table);
                out.push(Tariff { code: c.text("code")?, name: c.json("name")?, monthly_fee: c.money("monthly_fee")? });
            }
        }
        Ok(out)
    }
}

/// The business-wide values the adapter needs.
struct Business {
    currency: String,
    tz: Tz,
}

/// The business row, read on `conn` (inside a transaction, too).
async fn business_on(conn: &mut AnyConnection) -> AdapterResult<Business> {
    let row = sqlx::query("SELECT currency, time_zone FROM business WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| AdapterError::Unavailable("no business data imported".to_owned()))?;
    let c = Cols::new(&row, "business");
    let zone = c.text("time_zone")?;
    let tz = Tz::from_str(&zone)
        .map_err(|_| AdapterError::Invalid(format!("business.time_zone: not a time zone: {zone:?}")))?;
    Ok(Business { currency: c.text("currency")?, tz })
}

/// A database failure: the system is unavailable.
fn db(e: sqlx::Error) -> AdapterError {
    AdapterError::Unavailable(e.to_string())
}

/// The built-in backend's tables, in cabinet's migration history as versions 1000 and up.
const SQLITE_MIGRATIONS: Migrations = &[
    (1000, "built-in backend", include_str!("builtin/migrations/sqlite/1000_builtin.sql")),
    (1001, "customer time zone", include_str!("builtin/migrations/sqlite/1001_customer_time_zone.sql")),
];
const POSTGRES_MIGRATIONS: Migrations = &[
    (1000, "built-in backend", include_str!("builtin/migrations/postgres/1000_builtin.sql")),
    (1001, "customer time zone", include_str!("builtin/migrations/postgres/1001_customer_time_zone.sql")),
];

/// Creates or updates the built-in backend's tables (after [`Store::migrate`]).
pub async fn migrate(store: &Store) -> StoreResult<()> {
    store
        .migrate_set(match store.engine() {
            crate::store::Engine::Sqlite => SQLITE_MIGRATIONS,
            crate::store::Engine::Postgres => POSTGRES_MIGRATIONS,
        })
        .await
}

impl From<StoreError> for AdapterError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(what) | StoreError::InvalidData(what) => AdapterError::Invalid(what),
            other => AdapterError::Unavailable(other.to_string()),
        }
    }
}

fn summary(row: &AnyRow) -> AdapterResult<OrderSummary> {
    let c = Cols::new(row, "orders");
    Ok(OrderSummary {
        number: c.text("number")?,
        created: c.time("created_at")?,
        status: OrderStatus::parse(&c.text("status")?),
        total: c.money("total")?,
    })
}

const ORDER_COLUMNS: &str = "number, created_at, status, total, delivered_at";

#[async_trait]
impl Crm for Builtin {
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>> {
        self.customer("phone", phone.as_str()).await
    }

    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>> {
        self.customer("id", id.as_str()).await
    }

    /// One lead per phone: a repeat answers with the first lead's id.
    async fn create_lead(&self, lead: &NewLead) -> AdapterResult<Option<String>> {
        sqlx::query(
            "INSERT INTO crm_leads (phone, first_name, telegram_user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (phone) DO NOTHING",
        )
        .bind(lead.phone.as_str().to_owned())
        .bind(lead.first_name.clone())
        .bind(lead.telegram_user_id)
        .bind(crate::store::time_to_db(lead.at))
        .execute(self.pool())
        .await
        .map_err(db)?;
        let row = sqlx::query("SELECT id FROM crm_leads WHERE phone = $1")
            .bind(lead.phone.as_str().to_owned())
            .fetch_one(self.pool())
            .await
            .map_err(db)?;
        Ok(Some(format!("lead-{}", Cols::new(&row, "crm_leads").i64("id")?)))
    }

    async fn add_note(&self, id: &CustomerId, text: &str) -> AdapterResult<bool> {
        sqlx::query("INSERT INTO crm_notes (customer_id, at, text) VALUES ($1, $2, $3)")
            .bind(id.0.clone())
            .bind(crate::store::time_to_db(self.clock.now()))
            .bind(text.to_owned())
            .execute(self.pool())
            .await
            .map_err(db)?;
        Ok(true)
    }

    /// Names are compared in Rust (neither SQLite's `lower()` nor PostgreSQL's under the "C"
    /// locale folds Cyrillic), so a search by name reads the id, name and phone of every
    /// customer: a full scan per /find, fine for tens of thousands of customers. A search by
    /// digits alone narrows the scan in SQL first.
    async fn search(&self, query: &str, limit: u32) -> AdapterResult<Vec<CustomerProfile>> {
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let by_phone = digits.len() >= MIN_SEARCH_DIGITS;
        // A whole number typed the local way ("8 701 123 45 67") is found as it is stored.
        let whole = Phone::parse(query).ok().map(|p| p.as_str().to_owned()).unwrap_or_default();
        let words: Vec<String> =
            name_key(query).split(' ').filter(|w| w.chars().any(char::is_alphabetic)).map(str::to_owned).collect();
        if limit == 0 || (!by_phone && words.is_empty()) {
            return Ok(Vec::new());
        }
        // Stored phones are E.164 ("+77011234567"): their digits are the text after "+".
        let scan = if words.is_empty() {
            sqlx::query("SELECT id, name, phone FROM customers WHERE phone LIKE $1 OR phone = $2")
                .bind(format!("%{digits}%"))
                .bind(whole.clone())
        } else {
            sqlx::query("SELECT id, name, phone FROM customers")
        };
        let mut rows = scan.fetch(self.pool());
        let mut found: Vec<(String, String, String)> = Vec::new();
        while let Some(row) = rows.try_next().await.map_err(db)? {
            let c = Cols::new(&row, "customers");
            let name = c.text("name")?;
            let key = name_key(&name);
            let phone = c.text("phone")?;
            let phone_digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let phone_hit = by_phone && (phone_digits.contains(&digits) || phone == whole);
            let name_hit = !words.is_empty() && words.iter().all(|w| key.contains(w.as_str()));
            if phone_hit || name_hit {
                found.push((key, name, c.text("id")?));
            }
        }
        drop(rows);
        found.sort_unstable();
        let mut profiles = Vec::new();
        for (_, _, id) in found.into_iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
            // A customer deleted since the scan is skipped.
            if let Some(profile) = self.customer("id", &id).await? {
                profiles.push(profile);
            }
        }
        Ok(profiles)
    }
}

/// A search by phone needs at least this many digits (fewer match too many numbers).
const MIN_SEARCH_DIGITS: usize = 4;

/// A name as searches compare it: composed (NFC), lower case, ё as е, words separated by one
/// space.
fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lower: String = name.nfc().flat_map(char::to_lowercase).map(|c| if c == 'ё' { 'е' } else { c }).collect();
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[async_trait]
impl Billing for Builtin {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>> {
        // The account, its tariff and the business currency in one statement.
        let row = sqlx::query(
            "SELECT a.balance, a.bonus_points, a.options, a.next_charge_date, a.next_charge_amount, \
             a.daily_charge, a.card_mask, a.paused, t.code AS tariff_code, t.name AS tariff_name, \
             t.monthly_fee AS tariff_fee, (SELECT currency FROM business WHERE id = 1) AS currency \
             FROM accounts a LEFT JOIN tariffs t ON t.code = a.tariff WHERE a.customer_id = $1",
        )
        .bind(id.as_str().to_owned())
        .fetch_optional(self.pool())
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let c = Cols::new(&row, "accounts");
        let currency =
            c.opt_text("currency")?.ok_or_else(|| AdapterError::Unavailable("no business data imported".to_owned()))?;
        let tariff = match c.opt_text("tariff_code")? {
            Some(code) => Some(Tariff { code, name: c.json("tariff_name")?, monthly_fee: c.money("tariff_fee")? }),
            None => None,
        };
        let option_codes: Vec<String> = c.json("options")?;
        let next_charge = match (c.opt_date("next_charge_date")?, c.opt_money("next_charge_amount")?) {
            (Some(date), Some(amount)) => Some(NextCharge { date, amount }),
            _ => None,
        };
        Ok(Some(Account {
            balance: c.money("balance")?,
            currency,
            bonus_points: c.i64("bonus_points")?,
            tariff,
            options: self.tariffs_by_code("tariff_options", &option_codes).await?,
            next_charge,
            daily_charge: c.opt_money("daily_charge")?,
            card_mask: c.opt_text("card_mask")?,
            paused: c.i64("paused")? != 0,
        }))
    }

    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>> {
        let rows = sqlx::query(
            "SELECT at, amount, kind, title FROM transactions WHERE customer_id = $1 \
             ORDER BY at DESC, seq DESC LIMIT $2",
        )
        .bind(id.as_str().to_owned())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "transactions");
                Ok(Transaction {
                    at: c.time("at")?,
                    amount: c.money("amount")?,
                    kind: c.text("kind")?,
                    title: c.json("title")?,
                })
            })
            .collect()
    }

    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
        self.all_tariffs("tariffs").await
    }

    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
        self.all_tariffs("tariff_options").await
    }

    async fn quote_change(&self, id: &CustomerId, change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
        self.quote_subscription_change(id, change).await
    }

    async fn apply_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        self.apply_subscription_change(id, change, idempotency_key).await
    }

    async fn payment_link(&self, id: &CustomerId, amount: Decimal, reference: &str) -> AdapterResult<String> {
        self.payment_link_for(id, amount, reference).await
    }

    async fn credit_payment(
        &self,
        id: &CustomerId,
        amount: Decimal,
        payment_id: &str,
        title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        self.credit(id, amount, payment_id, title).await
    }
}

#[async_trait]
impl Logistics for Builtin {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        let currency = self.currency().await?;
        let count = sqlx::query("SELECT COUNT(*) AS n FROM orders WHERE customer_id = $1")
            .bind(id.as_str().to_owned())
            .fetch_one(self.pool())
            .await
            .map_err(db)?;
        let total = Cols::new(&count, "orders").i64("n")?;
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = $1 \
             ORDER BY created_at DESC, number DESC LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(&sql)
            .bind(id.as_str().to_owned())
            .bind(i64::from(limit))
            .bind(i64::from(offset))
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        Ok(OrderPage {
            orders: rows.iter().map(summary).collect::<AdapterResult<_>>()?,
            total: u32::try_from(total).unwrap_or(u32::MAX),
            currency,
        })
    }

    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        let currency = self.currency().await?;
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = $1 \
             AND status NOT IN ('delivered', 'cancelled', 'canceled') ORDER BY created_at DESC, number DESC"
        );
        let rows = sqlx::query(&sql).bind(id.as_str().to_owned()).fetch_all(self.pool()).await.map_err(db)?;
        let orders = self.full_orders(&rows, &currency).await?;
        Ok(orders.into_iter().filter(|o| o.status.is_active()).collect())
    }

    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = $1 AND number = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_str().to_owned())
            .bind(number.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let currency = self.currency().await?;
        Ok(self.full_orders(std::slice::from_ref(&row), &currency).await?.into_iter().next())
    }

    /// A new or assembling order is cancelled; one on its way, delivered or cancelled is not.
    async fn cancel_order(&self, id: &CustomerId, number: &str) -> AdapterResult<OrderCancellation> {
        let done = sqlx::query(
            "UPDATE orders SET status = 'cancelled' WHERE customer_id = $1 AND number = $2 \
             AND status IN ('new', 'assembling')",
        )
        .bind(id.as_str().to_owned())
        .bind(number.to_owned())
        .execute(self.pool())
        .await
        .map_err(db)?;
        if done.rows_affected() > 0 {
            return Ok(OrderCancellation::Cancelled);
        }
        let row = sqlx::query("SELECT status FROM orders WHERE customer_id = $1 AND number = $2")
            .bind(id.as_str().to_owned())
            .bind(number.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        Ok(match row {
            Some(row) => OrderCancellation::TooLate(OrderStatus::parse(&Cols::new(&row, "orders").text("status")?)),
            None => OrderCancellation::NotFound,
        })
    }
}

#[async_trait]
impl Directory for Builtin {
    async fn business(&self) -> AdapterResult<Option<BusinessInfo>> {
        let Some(row) = crate::adapters::builtin::import::business_info(&self.store).await? else { return Ok(None) };
        Ok(Some(BusinessInfo {
            name: row.name,
            currency: row.currency,
            time_zone: row.time_zone.name().to_owned(),
            default_locale: row.default_locale.as_str().to_owned(),
            working_hours: row.working_hours,
            holidays: Vec::new(),
            support_hours: row.support_hours,
            phone: None,
        }))
    }
}
