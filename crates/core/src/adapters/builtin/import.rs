//! Business data sets in the demo JSON format (`demo/demo-business.json`): their serde types,
//! their validation, an idempotent import into the built-in adapter's tables, and the reads of
//! business-wide data (the business row, the names of services and staff).
//!
//! The import is an upsert of the business's own records that never deletes or rewrites what
//! the bot recorded since: the data set is the business's records, and the bot's come on top.
//! Amounts the bot credited are added (balance, bonus points; the stock less chat orders),
//! rows it made stay as it made them (top-up transactions, chat orders and bookings), and
//! values it changed (a subscription's tariff, options and pause; a booking's time and status)
//! win until the data set says the same. [`import`] has the details; what was kept where the
//! data set says otherwise comes back in [`ImportReport::kept`].
//!
//! A shifted import (the demo on today's date) moves every date, document periods by whole
//! months, and the months named in document and transaction titles along with the periods
//! ([`shift_month_names`]), so a title names the month of its period.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use sqlx::AnyConnection;

use crate::adapters::LocalizedText;
use crate::domain::datetime::shift_month_names;
use crate::domain::money::{from_minor, to_minor};
use crate::domain::{Locale, Phone};
use crate::nlu::{Catalog, Named};
use crate::store::{Cols, Store, StoreError, StoreResult, time_to_db};

/// The demo data set compiled into the binary.
pub const DEMO_JSON: &str = include_str!("../../../../../demo/demo-business.json");

/// A whole business data set. Keys starting with `_` and unknown keys are ignored. Money,
/// dates, times and phones are kept as written; [`BusinessData::parse`] checks them.
#[derive(Debug, Clone, Deserialize)]
pub struct BusinessData {
    pub business: BusinessInfo,
    #[serde(default)]
    pub tariffs: Vec<TariffData>,
    #[serde(default)]
    pub tariff_options: Vec<TariffData>,
    #[serde(default)]
    pub catalog: Vec<CatalogItemData>,
    #[serde(default)]
    pub services: Vec<ServiceData>,
    #[serde(default)]
    pub staff: Vec<StaffData>,
    /// Explicit free start times (local) per staff id.
    #[serde(default, deserialize_with = "free_slots")]
    pub free_slots: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub customers: Vec<CustomerData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BusinessInfo {
    pub name: String,
    /// ISO 4217 code ("KZT").
    pub currency: String,
    /// An IANA zone ("Asia/Almaty"): every local time of the data set is in it.
    pub time_zone: String,
    pub default_locale: String,
    #[serde(default)]
    pub locales: Vec<String>,
    /// Days → hours ("mon-sun" → "10:00-19:00").
    #[serde(default)]
    pub working_hours: BTreeMap<String, String>,
    /// "09:00-21:00".
    #[serde(default)]
    pub support_hours: Option<String>,
    /// The number customers may call ("+7 727 355 00 00").
    #[serde(default)]
    pub phone: Option<String>,
    /// The day the data set's dates are written relative to ("2025-01-11").
    #[serde(default)]
    pub demo_day: Option<String>,
    /// The demo clock ("2025-01-11T10:00:00+05:00").
    pub demo_now: Option<String>,
}

/// A tariff or a tariff option.
#[derive(Debug, Clone, Deserialize)]
pub struct TariffData {
    pub code: String,
    pub name: LocalizedText,
    pub monthly_fee: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CatalogItemData {
    pub sku: String,
    pub name: LocalizedText,
    pub price: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub in_stock: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceData {
    pub code: String,
    pub name: LocalizedText,
    pub duration_min: i64,
    pub price: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StaffData {
    pub id: String,
    pub name: LocalizedText,
    /// The codes of the services this person provides.
    #[serde(default)]
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CustomerData {
    pub id: String,
    pub name: String,
    pub first_name: String,
    pub phone: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub preferred_staff: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub account: Option<AccountData>,
    #[serde(default)]
    pub orders: Vec<OrderData>,
    #[serde(default)]
    pub documents: Vec<DocumentData>,
    #[serde(default)]
    pub bookings: Vec<BookingData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccountData {
    pub balance: String,
    #[serde(default)]
    pub bonus_points: i64,
    #[serde(default)]
    pub tariff: Option<String>,
    /// Tariff option codes.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub next_charge: Option<NextChargeData>,
    #[serde(default)]
    pub daily_charge: Option<String>,
    #[serde(default)]
    pub card_mask: Option<String>,
    /// Oldest first.
    #[serde(default)]
    pub transactions: Vec<TransactionData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NextChargeData {
    pub date: String,
    pub amount: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TransactionData {
    /// Local time.
    pub at: String,
    pub amount: String,
    pub kind: String,
    #[serde(default)]
    pub title: LocalizedText,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderData {
    pub number: String,
    /// Local time.
    pub created: String,
    pub status: String,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub items: Vec<OrderItemData>,
    pub total: String,
    #[serde(default)]
    pub delivery: Option<DeliveryData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderItemData {
    pub sku: String,
    pub qty: i64,
    pub price: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryData {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking: Option<String>,
    #[serde(default)]
    pub eta_from: Option<String>,
    #[serde(default)]
    pub eta_to: Option<String>,
    #[serde(default)]
    pub courier: Option<CourierData>,
    #[serde(default)]
    pub note: Option<LocalizedText>,
    #[serde(default)]
    pub location: Option<LocationData>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CourierData {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LocationData {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DocumentData {
    pub id: String,
    /// act, invoice, receipt, contract, statement.
    pub kind: String,
    /// "YYYY-MM".
    pub period: String,
    #[serde(default)]
    pub title: LocalizedText,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BookingData {
    pub id: String,
    pub service: String,
    pub staff: String,
    /// Local time.
    pub start: String,
    pub status: String,
}

/// `free_slots` is a map of staff id → start times; keys starting with `_` are comments.
fn free_slots<'de, D: Deserializer<'de>>(de: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let raw = BTreeMap::<String, serde_json::Value>::deserialize(de)?;
    let mut out = BTreeMap::new();
    for (staff, value) in raw {
        if staff.starts_with('_') {
            continue;
        }
        let starts = Vec::<String>::deserialize(value)
            .map_err(|e| serde::de::Error::custom(format_args!("free_slots.{staff}: {e}")))?;
        out.insert(staff, starts);
    }
    Ok(out)
}

impl BusinessData {
    /// Parses and validates a data set (phones in E.164, money as decimal strings, known
    /// codes in references); errors name the offending path (`customers[1].phone`).
    pub fn parse(json: &str) -> Result<BusinessData, String> {
        let data: BusinessData = serde_json::from_str(json).map_err(|e| format!("invalid data set: {e}"))?;
        data.plan(Duration::zero())?;
        Ok(data)
    }

    pub fn demo() -> BusinessData {
        // The embedded data set is checked by this module's tests.
        Self::parse(DEMO_JSON).expect("the embedded demo data set is valid")
    }

    /// The business time zone, if it names one.
    pub fn time_zone(&self) -> Option<Tz> {
        Tz::from_str(&self.business.time_zone).ok()
    }

    /// `business.demo_day`, if given.
    pub fn demo_day(&self) -> Option<NaiveDate> {
        self.business.demo_day.as_deref().and_then(|s| parse_date(s).ok())
    }

    /// `business.demo_now` as a local time, if given.
    pub fn demo_now(&self) -> Option<NaiveDateTime> {
        let text = self.business.demo_now.as_deref()?;
        match (DateTime::parse_from_rfc3339(text), self.time_zone()) {
            (Ok(at), Some(tz)) => Some(at.with_timezone(&tz).naive_local()),
            (Ok(at), None) => Some(at.naive_local()),
            (Err(_), _) => parse_local(text).ok(),
        }
    }

    /// `business.demo_now` as an instant, if given.
    pub fn demo_now_utc(&self) -> Option<DateTime<Utc>> {
        let text = self.business.demo_now.as_deref()?;
        match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => to_utc(self.time_zone()?, parse_local(text).ok()?),
        }
    }

    /// The services and staff by code with their names in every language, for the
    /// recogniser.
    pub fn catalog(&self) -> Catalog {
        Catalog {
            services: self.services.iter().map(|s| named(&s.code, &s.name)).collect(),
            staff: self.staff.iter().map(|s| named(&s.id, &s.name)).collect(),
            tariffs: {
                let mut tariffs: Vec<&TariffData> = self.tariffs.iter().collect();
                tariffs.sort_by_key(|t| {
                    t.monthly_fee.parse::<rust_decimal::Decimal>().unwrap_or(rust_decimal::Decimal::MAX)
                });
                tariffs.into_iter().map(|t| named(&t.code, &t.name)).collect()
            },
        }
    }

    /// Checks the data set and turns it into the row operations of its import, every date
    /// and time moved by `shift`.
    fn plan(&self, shift: Duration) -> Result<Vec<Op>, String> {
        Planner::new(self, shift)?.plan()
    }
}

/// A catalogue entry: the code and its distinct names in every language.
pub fn named(code: &str, name: &LocalizedText) -> Named {
    let mut names: Vec<String> = Vec::new();
    for n in name.0.values() {
        if !n.is_empty() && !names.contains(n) {
            names.push(n.clone());
        }
    }
    Named { code: code.to_owned(), names }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub customers: usize,
    pub orders: usize,
    pub documents: usize,
    pub bookings: usize,
    /// Rows inserted or changed; 0 when the same data set is imported again.
    pub changed: usize,
    /// What the bot recorded that the import kept where the data set says otherwise.
    pub kept: Vec<Kept>,
}

impl ImportReport {
    /// "kept 2 records the bot changed since: balance of customer C1 …; tariff …", or `None`
    /// when the data set and the bot's records agree.
    pub fn kept_summary(&self) -> Option<String> {
        if self.kept.is_empty() {
            return None;
        }
        let n = self.kept.len();
        let items: Vec<String> = self.kept.iter().map(ToString::to_string).collect();
        Some(format!("kept {n} record{} the bot changed since: {}", if n == 1 { "" } else { "s" }, items.join("; ")))
    }
}

/// A record the bot made or changed that an import kept (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// The balance is the data set's plus what the bot credited.
    Balance { customer: String, file: Decimal, credited: Decimal, top_ups: i64 },
    /// The bonus points are the data set's plus the referral points the bot credited.
    BonusPoints { customer: String, file: i64, credited: i64, referrals: i64 },
    /// A subscription changed in the chat: the bot's tariff, options and pause stay until
    /// the data set names the same tariff and options (and the subscription is not paused).
    Subscription {
        customer: String,
        tariff: Option<String>,
        file_tariff: Option<String>,
        options: Vec<String>,
        file_options: Vec<String>,
        paused: bool,
    },
    /// An account the data set no longer has, kept for the bot's records in it.
    Account { customer: String },
    /// An order placed in the chat that the data set names with other lines, total, customer
    /// or time.
    Order { customer: String, number: String },
    /// A booking made, moved or cancelled in the chat that the data set names otherwise.
    Booking { customer: String, id: String, change: BotChange },
    /// The stock is the data set's less what orders placed in the chat took.
    Stock { sku: String, file: i64, ordered: i64 },
}

/// What the bot did to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotChange {
    Made,
    Moved,
    Cancelled,
}

impl std::fmt::Display for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: i64, one: &str, many: &str| {
            if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
        };
        match self {
            Kept::Balance { customer, file, credited, top_ups } => write!(
                f,
                "balance of customer {customer} (top-up): {} = {file} in the file + {credited} from {} the bot credited",
                file + credited,
                plural(*top_ups, "payment", "payments")
            ),
            Kept::BonusPoints { customer, file, credited, referrals } => write!(
                f,
                "bonus points of customer {customer} (referral): {} = {file} in the file + {credited} for {}",
                file.saturating_add(*credited),
                plural(*referrals, "referral", "referrals")
            ),
            Kept::Subscription { customer, tariff, file_tariff, options, file_options, paused } => {
                let none = || "none".to_owned();
                let mut parts = Vec::new();
                if tariff != file_tariff {
                    parts.push(format!(
                        "tariff {} (the file: {})",
                        tariff.clone().unwrap_or_else(none),
                        file_tariff.clone().unwrap_or_else(none)
                    ));
                }
                let list = |o: &[String]| if o.is_empty() { none() } else { o.join(", ") };
                if sorted(options) != sorted(file_options) {
                    parts.push(format!("options {} (the file: {})", list(options), list(file_options)));
                }
                if *paused {
                    parts.push("paused".to_owned());
                }
                write!(f, "subscription of customer {customer} changed in the chat: {}", parts.join(", "))
            }
            Kept::Account { customer } => {
                write!(f, "account of customer {customer}, which the file no longer has, for the bot's records in it")
            }
            Kept::Order { customer, number } => {
                write!(f, "order {number} of customer {customer} as placed in the chat (its lines, total and time)")
            }
            Kept::Booking { customer, id, change } => {
                let how = match change {
                    BotChange::Made => "made",
                    BotChange::Moved => "moved",
                    BotChange::Cancelled => "cancelled",
                };
                write!(f, "booking {id} of customer {customer} as {how} in the chat")
            }
            Kept::Stock { sku, file, ordered } => write!(
                f,
                "stock of {sku} (order): {} = {file} in the file - {ordered} ordered in the chat",
                file.saturating_sub(*ordered).max(0)
            ),
        }
    }
}

fn sorted(list: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = list.iter().map(String::as_str).collect();
    out.sort_unstable();
    out
}

/// Loads `data` into the store, every date moved by `shift` (zero on the fixed demo clock;
/// `today - demo_day` with the real clock), and the months named in document and transaction
/// titles moved along with the documents' periods. Upserts by natural keys in one transaction:
/// importing the same data set twice changes nothing.
///
/// Local times are taken in `business.time_zone` and stored in UTC. What the data set lists
/// for an entity replaces what the store has for it (an order's items and delivery, a staff
/// member's services and free slots, an account's transactions); customers, orders and other
/// records the data set does not mention are left alone.
///
/// What the bot recorded is never deleted or rewritten; the data set is the business's own
/// records, and the bot's come on top of them:
///
/// - amounts the bot credited are added to the data set's: the balance is the data set's
///   plus the payments the bot credited (`payments_credited`), the bonus points the data
///   set's plus the referral points it credited (`referrals`); the stock of an item is the
///   data set's less what orders placed in the chat took (orders with an idempotency key,
///   unless cancelled). A data set should therefore not include them itself;
/// - rows the bot made stay as it made them: top-up transactions (`transactions.payment_id`:
///   those of the data set are numbered first, the bot's after them), orders placed in the
///   chat (the data set may give their status and delivery, not their lines, total, customer
///   or time) and bookings made in the chat (`idempotency_key`);
/// - values the bot changed win over the data set until it says the same: a subscription
///   changed in the chat (`accounts.changed_by_bot_at`) keeps its tariff, options, pause and
///   next charge amount, a booking moved or cancelled in the chat (`bookings.updated_at`) its
///   time, staff and status. Once the data set names the same tariff and options (and the
///   subscription is not paused) or the same booking, the mark is cleared and later data sets
///   decide again;
/// - an account the data set drops is kept when the bot recorded something in it.
///
/// Each kept record the data set disagrees with is listed in [`ImportReport::kept`] and logged.
pub async fn import(store: &Store, data: &BusinessData, shift: Duration) -> StoreResult<ImportReport> {
    let ops = data.plan(shift).map_err(StoreError::InvalidData)?;
    let mut tx = store.pool().begin().await?;
    let mut changed = 0u64;
    let mut kept = Vec::new();
    for op in &ops {
        changed += op.run(&mut tx, &mut kept).await?;
    }
    tx.commit().await?;
    let report = ImportReport {
        customers: data.customers.len(),
        orders: data.customers.iter().map(|c| c.orders.len()).sum(),
        documents: data.customers.iter().map(|c| c.documents.len()).sum(),
        bookings: data.customers.iter().map(|c| c.bookings.len()).sum(),
        changed: usize::try_from(changed).unwrap_or(usize::MAX),
        kept,
    };
    if let Some(summary) = report.kept_summary() {
        tracing::info!("import: {summary}");
    }
    Ok(report)
}

/// The business-wide settings of the imported data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessRow {
    pub name: String,
    /// ISO 4217 code ("KZT").
    pub currency: String,
    pub time_zone: Tz,
    pub default_locale: Locale,
    pub locales: Vec<String>,
    pub working_hours: BTreeMap<String, String>,
    pub support_hours: Option<String>,
    /// The demo day, moved by the import's shift: from three days after it on, every hourly
    /// start 10:00..18:00 is free unless booked.
    pub demo_day: Option<NaiveDate>,
    /// The demo clock, moved by the import's shift.
    pub demo_now: Option<DateTime<Utc>>,
}

/// The business row, if a data set was imported.
pub async fn business_info(store: &Store) -> StoreResult<Option<BusinessRow>> {
    let row = sqlx::query(
        "SELECT name, currency, time_zone, default_locale, locales, working_hours, support_hours, \
         demo_day, demo_now FROM business WHERE id = 1",
    )
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let c = Cols::new(&row, "business");
    let zone = c.text("time_zone")?;
    Ok(Some(BusinessRow {
        name: c.text("name")?,
        currency: c.text("currency")?,
        time_zone: Tz::from_str(&zone)
            .map_err(|_| StoreError::Corrupt(format!("business.time_zone: not a time zone: {zone:?}")))?,
        default_locale: c.locale("default_locale")?,
        locales: c.json("locales")?,
        working_hours: c.json("working_hours")?,
        support_hours: c.opt_text("support_hours")?,
        demo_day: c.opt_date("demo_day")?,
        demo_now: c.opt_time("demo_now")?,
    }))
}

/// The imported services and staff by code with their names in every language.
pub async fn catalog_names(store: &Store) -> StoreResult<Catalog> {
    let mut catalog = Catalog::default();
    for (sql, table, code, out) in [
        ("SELECT code, name FROM services ORDER BY code", "services", "code", &mut catalog.services),
        ("SELECT id, name FROM staff ORDER BY id", "staff", "id", &mut catalog.staff),
        ("SELECT code, name FROM tariffs ORDER BY monthly_fee, code", "tariffs", "code", &mut catalog.tariffs),
    ] {
        for row in sqlx::query(sql).fetch_all(store.pool()).await? {
            let c = Cols::new(&row, table);
            let name: LocalizedText = c.json("name")?;
            out.push(named(&c.text(code)?, &name));
        }
    }
    Ok(catalog)
}

// --- the plan: data set → row operations ------------------------------------------------

/// A value bound to a statement.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    OptReal(Option<f64>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::OptInt(v)
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_owned())
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::OptText(v)
    }
}
impl From<Option<f64>> for Val {
    fn from(v: Option<f64>) -> Self {
        Val::OptReal(v)
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind<'q>(query: Query<'q>, val: &Val) -> Query<'q> {
    match val.clone() {
        Val::Int(v) => query.bind(v),
        Val::OptInt(v) => query.bind(v),
        Val::Text(v) => query.bind(v),
        Val::OptText(v) => query.bind(v),
        Val::OptReal(v) => query.bind(v),
    }
}

/// One step of an import.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// Inserts the row, or updates it when a non-key column differs.
    Upsert { table: &'static str, keys: &'static [&'static str], cols: &'static [&'static str], vals: Vec<Val> },
    /// Sets columns of the row with this key when one differs.
    Update {
        table: &'static str,
        key_col: &'static str,
        cols: &'static [&'static str],
        /// The key, then the columns' values.
        vals: Vec<Val>,
    },
    /// Deletes the rows of `parent` whose position is `from` or later.
    PruneFrom { table: &'static str, parent_col: &'static str, parent: String, pos_col: &'static str, from: i64 },
    /// Deletes the rows of `parent` whose key is not in `keep`.
    PruneExcept {
        table: &'static str,
        parent_col: &'static str,
        parent: String,
        key_col: &'static str,
        keep: Vec<String>,
    },
    /// Deletes the row with this key.
    Delete { table: &'static str, key_col: &'static str, key: String },
    /// A catalogue item, its stock less what orders placed in the chat took.
    Catalog {
        sku: String,
        /// sku, name, price, category.
        vals: Vec<Val>,
        in_stock: i64,
    },
    /// A customer's account with what the bot credited and changed.
    Account(AccountPlan),
    /// A customer the data set gives no account: it goes, with the data set's transactions,
    /// unless the bot recorded something in it.
    NoAccount { customer: String },
    /// A customer's transactions in the data set's order, the bot's after them.
    Transactions {
        customer: String,
        /// customer_id, seq, at, amount, kind, title of each.
        rows: Vec<Vec<Val>>,
    },
    /// An order: all of it, or only its progress when it was placed in the chat.
    Order(Box<OrderPlan>),
    /// A booking, unless the bot made or changed it.
    Booking {
        /// id, customer_id, service, staff_id, start_at, status.
        vals: Vec<Val>,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct AccountPlan {
    customer: String,
    balance: i64,
    bonus_points: i64,
    tariff: Option<String>,
    options: Vec<String>,
    next_charge_date: Option<String>,
    next_charge_amount: Option<i64>,
    daily_charge: Option<i64>,
    card_mask: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct OrderPlan {
    number: String,
    customer: String,
    created_at: String,
    total: i64,
    /// sku, qty, price of each line.
    items: Vec<(String, i64, i64)>,
    /// The order as the data set has it: the row, its items and its delivery.
    full: Vec<Op>,
    /// What the data set may say of an order placed in the chat: status, delivery time and
    /// the delivery it gives.
    progress: Vec<Op>,
}

impl Op {
    fn upsert(table: &'static str, keys: &'static [&'static str], cols: &'static [&'static str], vals: Vec<Val>) -> Op {
        debug_assert_eq!(keys.len() + cols.len(), vals.len(), "{table}");
        Op::Upsert { table, keys, cols, vals }
    }

    /// Runs the step; returns how many rows it inserted, changed or deleted, and adds what it
    /// kept of the bot's records to `kept`.
    async fn run(&self, conn: &mut AnyConnection, kept: &mut Vec<Kept>) -> StoreResult<u64> {
        match self {
            Op::Catalog { sku, vals, in_stock } => {
                let row = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(i.qty), 0) AS BIGINT) AS n FROM order_items i \
                     JOIN orders o ON o.number = i.order_number WHERE i.sku = $1 \
                     AND o.idempotency_key IS NOT NULL AND o.status NOT IN ('cancelled', 'canceled')",
                )
                .bind(sku.clone())
                .fetch_one(&mut *conn)
                .await?;
                let ordered = Cols::new(&row, "order_items").i64("n")?;
                if ordered != 0 {
                    kept.push(Kept::Stock { sku: sku.clone(), file: *in_stock, ordered });
                }
                let mut vals = vals.clone();
                vals.push(in_stock.saturating_sub(ordered).max(0).into());
                let op = Op::upsert("catalog", &["sku"], &["name", "price", "category", "in_stock"], vals);
                op.run_row(conn).await
            }
            Op::Account(plan) => plan.run(conn, kept).await,
            Op::NoAccount { customer } => no_account(conn, customer, kept).await,
            Op::Transactions { customer, rows } => transactions(conn, customer, rows).await,
            Op::Order(plan) => plan.run(conn, kept).await,
            Op::Booking { vals } => booking(conn, vals, kept).await,
            _ => self.run_row(conn).await,
        }
    }

    /// Runs a step that writes rows as the data set has them.
    async fn run_row(&self, conn: &mut AnyConnection) -> StoreResult<u64> {
        match self {
            Op::Upsert { table, keys, cols, vals } => {
                let sql = upsert_sql(table, keys, cols);
                let mut query = sqlx::query(&sql);
                for val in vals {
                    query = bind(query, val);
                }
                Ok(query.execute(&mut *conn).await?.rows_affected())
            }
            Op::Update { table, key_col, cols, vals } => {
                let sql = update_sql(table, key_col, cols);
                let mut query = sqlx::query(&sql);
                for val in vals {
                    query = bind(query, val);
                }
                Ok(query.execute(&mut *conn).await?.rows_affected())
            }
            Op::PruneFrom { table, parent_col, parent, pos_col, from } => {
                let sql = format!("DELETE FROM {table} WHERE {parent_col} = $1 AND {pos_col} >= $2");
                let done = sqlx::query(&sql).bind(parent.clone()).bind(*from).execute(&mut *conn).await?;
                Ok(done.rows_affected())
            }
            Op::PruneExcept { table, parent_col, parent, key_col, keep } => {
                let sql = format!("SELECT {key_col} FROM {table} WHERE {parent_col} = $1");
                let rows = sqlx::query(&sql).bind(parent.clone()).fetch_all(&mut *conn).await?;
                let mut deleted = 0;
                for row in rows {
                    let key = Cols::new(&row, table).text(key_col)?;
                    if keep.contains(&key) {
                        continue;
                    }
                    let sql = format!("DELETE FROM {table} WHERE {parent_col} = $1 AND {key_col} = $2");
                    let done = sqlx::query(&sql).bind(parent.clone()).bind(key).execute(&mut *conn).await?;
                    deleted += done.rows_affected();
                }
                Ok(deleted)
            }
            Op::Delete { table, key_col, key } => {
                let sql = format!("DELETE FROM {table} WHERE {key_col} = $1");
                Ok(sqlx::query(&sql).bind(key.clone()).execute(&mut *conn).await?.rows_affected())
            }
            Op::Catalog { .. }
            | Op::Account(_)
            | Op::NoAccount { .. }
            | Op::Transactions { .. }
            | Op::Order(_)
            | Op::Booking { .. } => Err(StoreError::InvalidData(
                "an import step that keeps the bot's records was run as a plain row write".to_owned(),
            )),
        }
    }
}

/// The sum and number of rows of what the bot credited (`sql` selects `amount` and `n`).
async fn credited(conn: &mut AnyConnection, sql: &str, table: &'static str, customer: &str) -> StoreResult<(i64, i64)> {
    let row = sqlx::query(sql).bind(customer.to_owned()).fetch_one(&mut *conn).await?;
    let c = Cols::new(&row, table);
    Ok((c.i64("amount")?, c.i64("n")?))
}

const CREDITED_PAYMENTS: &str = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS amount, COUNT(*) AS n \
     FROM payments_credited WHERE customer_id = $1";
const CREDITED_REFERRALS: &str = "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) AS amount, COUNT(*) AS n \
     FROM referrals WHERE referrer_customer_id = $1";

impl AccountPlan {
    async fn run(&self, conn: &mut AnyConnection, kept: &mut Vec<Kept>) -> StoreResult<u64> {
        let customer = self.customer.as_str();
        let (credited_amount, top_ups) = credited(conn, CREDITED_PAYMENTS, "payments_credited", customer).await?;
        let (points, referrals) = credited(conn, CREDITED_REFERRALS, "referrals", customer).await?;
        let current = sqlx::query(
            "SELECT tariff, options, paused, next_charge_amount, changed_by_bot_at FROM accounts \
             WHERE customer_id = $1",
        )
        .bind(customer.to_owned())
        .fetch_optional(&mut *conn)
        .await?;

        let mut tariff = self.tariff.clone();
        let mut options = json_text(&self.options);
        let mut next_charge_amount = self.next_charge_amount;
        let mut changed_by_bot_at = None;
        if let Some(row) = &current {
            let c = Cols::new(row, "accounts");
            if let Some(at) = c.opt_text("changed_by_bot_at")? {
                let bot_tariff = c.opt_text("tariff")?;
                let bot_options: Vec<String> = c.json("options")?;
                let paused = c.i64("paused")? != 0;
                let caught_up = bot_tariff == self.tariff && sorted(&bot_options) == sorted(&self.options) && !paused;
                if !caught_up {
                    kept.push(Kept::Subscription {
                        customer: customer.to_owned(),
                        tariff: bot_tariff.clone(),
                        file_tariff: self.tariff.clone(),
                        options: bot_options,
                        file_options: self.options.clone(),
                        paused,
                    });
                    tariff = bot_tariff;
                    options = c.text("options")?;
                    next_charge_amount = c.opt_i64("next_charge_amount")?;
                    changed_by_bot_at = Some(at);
                }
            }
        }
        if top_ups != 0 {
            kept.push(Kept::Balance {
                customer: customer.to_owned(),
                file: from_minor(self.balance).normalize(),
                credited: from_minor(credited_amount).normalize(),
                top_ups,
            });
        }
        if referrals != 0 {
            kept.push(Kept::BonusPoints {
                customer: customer.to_owned(),
                file: self.bonus_points,
                credited: points,
                referrals,
            });
        }
        let op = Op::upsert(
            "accounts",
            &["customer_id"],
            &[
                "balance",
                "bonus_points",
                "tariff",
                "options",
                "next_charge_date",
                "next_charge_amount",
                "daily_charge",
                "card_mask",
                "changed_by_bot_at",
            ],
            vec![
                customer.into(),
                self.balance.saturating_add(credited_amount).into(),
                self.bonus_points.saturating_add(points).into(),
                tariff.into(),
                options.into(),
                self.next_charge_date.clone().into(),
                next_charge_amount.into(),
                self.daily_charge.into(),
                self.card_mask.clone().into(),
                changed_by_bot_at.into(),
            ],
        );
        op.run_row(conn).await
    }
}

/// A customer without an account in the data set.
async fn no_account(conn: &mut AnyConnection, customer: &str, kept: &mut Vec<Kept>) -> StoreResult<u64> {
    let mut changed = sqlx::query("DELETE FROM transactions WHERE customer_id = $1 AND payment_id IS NULL")
        .bind(customer.to_owned())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let row = sqlx::query("SELECT changed_by_bot_at FROM accounts WHERE customer_id = $1")
        .bind(customer.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(changed) };
    let (_, top_ups) = credited(conn, CREDITED_PAYMENTS, "payments_credited", customer).await?;
    let (_, referrals) = credited(conn, CREDITED_REFERRALS, "referrals", customer).await?;
    let changed_by_bot = Cols::new(&row, "accounts").opt_text("changed_by_bot_at")?.is_some();
    if top_ups != 0 || referrals != 0 || changed_by_bot {
        kept.push(Kept::Account { customer: customer.to_owned() });
        return Ok(changed);
    }
    changed += sqlx::query("DELETE FROM accounts WHERE customer_id = $1")
        .bind(customer.to_owned())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(changed)
}

/// The data set's transactions take the first positions (0, 1, …); the bot's top-ups are
/// never deleted or overwritten, and one in the way is moved after the last.
async fn transactions(conn: &mut AnyConnection, customer: &str, rows: &[Vec<Val>]) -> StoreResult<u64> {
    let n = position(rows.len());
    let mut changed =
        sqlx::query("DELETE FROM transactions WHERE customer_id = $1 AND seq >= $2 AND payment_id IS NULL")
            .bind(customer.to_owned())
            .bind(n)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    loop {
        let in_the_way = sqlx::query(
            "SELECT seq FROM transactions WHERE customer_id = $1 AND seq < $2 AND payment_id IS NOT NULL \
             ORDER BY seq LIMIT 1",
        )
        .bind(customer.to_owned())
        .bind(n)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = in_the_way else { break };
        let seq = Cols::new(&row, "transactions").i64("seq")?;
        let last = sqlx::query("SELECT MAX(seq) AS seq FROM transactions WHERE customer_id = $1")
            .bind(customer.to_owned())
            .fetch_one(&mut *conn)
            .await?;
        let last = Cols::new(&last, "transactions").opt_i64("seq")?.unwrap_or(seq);
        changed += sqlx::query("UPDATE transactions SET seq = $3 WHERE customer_id = $1 AND seq = $2")
            .bind(customer.to_owned())
            .bind(seq)
            .bind(last.saturating_add(1).max(n))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    for vals in rows {
        let op = Op::upsert("transactions", &["customer_id", "seq"], &["at", "amount", "kind", "title"], vals.clone());
        changed += op.run_row(conn).await?;
    }
    Ok(changed)
}

impl OrderPlan {
    async fn run(&self, conn: &mut AnyConnection, kept: &mut Vec<Kept>) -> StoreResult<u64> {
        let row = sqlx::query("SELECT customer_id, created_at, total, idempotency_key FROM orders WHERE number = $1")
            .bind(self.number.clone())
            .fetch_optional(&mut *conn)
            .await?;
        let placed_in_chat = match &row {
            Some(row) => {
                let c = Cols::new(row, "orders");
                c.opt_text("idempotency_key")?
                    .is_some()
                    .then(|| Ok::<_, StoreError>((c.text("customer_id")?, c.text("created_at")?, c.i64("total")?)))
            }
            None => None,
        };
        let Some(stored) = placed_in_chat else {
            let mut changed = 0;
            for op in &self.full {
                changed += op.run_row(conn).await?;
            }
            return Ok(changed);
        };
        let (customer, created_at, total) = stored?;
        let items = sqlx::query("SELECT sku, qty, price FROM order_items WHERE order_number = $1 ORDER BY line")
            .bind(self.number.clone())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|row| {
                let c = Cols::new(row, "order_items");
                Ok((c.text("sku")?, c.i64("qty")?, c.i64("price")?))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        if (customer.as_str(), created_at.as_str(), total, &items)
            != (self.customer.as_str(), self.created_at.as_str(), self.total, &self.items)
        {
            kept.push(Kept::Order { customer, number: self.number.clone() });
        }
        let mut changed = 0;
        for op in &self.progress {
            changed += op.run_row(conn).await?;
        }
        Ok(changed)
    }
}

/// A booking of the data set, unless the bot made it, or moved or cancelled it and the data
/// set has not caught up.
async fn booking(conn: &mut AnyConnection, vals: &[Val], kept: &mut Vec<Kept>) -> StoreResult<u64> {
    const COLS: [&str; 6] = ["id", "customer_id", "service", "staff_id", "start_at", "status"];
    let Some(Val::Text(id)) = vals.first() else {
        return Err(StoreError::InvalidData("a booking without an id".to_owned()));
    };
    let row = sqlx::query(
        "SELECT id, customer_id, service, staff_id, start_at, status, idempotency_key, updated_at \
         FROM bookings WHERE id = $1",
    )
    .bind(id.clone())
    .fetch_optional(&mut *conn)
    .await?;
    let plain =
        Op::upsert("bookings", &["id"], &["customer_id", "service", "staff_id", "start_at", "status"], vals.to_vec());
    let Some(row) = row else { return plain.run_row(conn).await };
    let c = Cols::new(&row, "bookings");
    let made = c.opt_text("idempotency_key")?.is_some();
    let changed = c.opt_text("updated_at")?.is_some();
    if !made && !changed {
        return plain.run_row(conn).await;
    }
    let mut same = true;
    for (col, val) in COLS.iter().zip(vals) {
        same &= Val::Text(c.text(col)?) == *val;
    }
    if same && !made {
        // The data set has caught up with the bot's change: it decides again from now on.
        return Ok(sqlx::query("UPDATE bookings SET updated_at = NULL WHERE id = $1")
            .bind(id.clone())
            .execute(&mut *conn)
            .await?
            .rows_affected());
    }
    if !same {
        let status = c.text("status")?;
        kept.push(Kept::Booking {
            customer: c.text("customer_id")?,
            id: id.clone(),
            change: if made {
                BotChange::Made
            } else if status == "cancelled" && vals.get(5) != Some(&Val::Text(status.clone())) {
                BotChange::Cancelled
            } else {
                BotChange::Moved
            },
        });
    }
    Ok(0)
}

/// `UPDATE … SET … WHERE key = $1 AND (old) IS DISTINCT FROM (new)`.
fn update_sql(table: &str, key_col: &str, cols: &[&str]) -> String {
    let set: Vec<String> = cols.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 2)).collect();
    let new: Vec<String> = (0..cols.len()).map(|i| format!("${}", i + 2)).collect();
    format!(
        "UPDATE {table} SET {} WHERE {key_col} = $1 AND ({}) IS DISTINCT FROM ({})",
        set.join(", "),
        cols.join(", "),
        new.join(", ")
    )
}

/// `INSERT … ON CONFLICT (keys) DO UPDATE … WHERE (old) IS DISTINCT FROM (new)`: an
/// unchanged row is neither written nor counted.
fn upsert_sql(table: &str, keys: &[&str], cols: &[&str]) -> String {
    let all: Vec<&str> = keys.iter().chain(cols).copied().collect();
    let params: Vec<String> = (1..=all.len()).map(|i| format!("${i}")).collect();
    let mut sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) ",
        all.join(", "),
        params.join(", "),
        keys.join(", ")
    );
    if cols.is_empty() {
        sql.push_str("DO NOTHING");
    } else {
        let set: Vec<String> = cols.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        let old: Vec<String> = cols.iter().map(|c| format!("{table}.{c}")).collect();
        let new: Vec<String> = cols.iter().map(|c| format!("excluded.{c}")).collect();
        sql.push_str(&format!(
            "DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
            set.join(", "),
            old.join(", "),
            new.join(", ")
        ));
    }
    sql
}

/// Walks a data set, checking every value and reference, and collects the row operations.
struct Planner<'d> {
    data: &'d BusinessData,
    shift: Duration,
    tz: Tz,
    /// How many months the shift moves the demo day (document periods move by months).
    month_shift: i32,
    ops: Vec<Op>,
}

impl<'d> Planner<'d> {
    fn new(data: &'d BusinessData, shift: Duration) -> Result<Self, String> {
        let b = &data.business;
        let tz = Tz::from_str(&b.time_zone)
            .map_err(|_| format!("business.time_zone: not a time zone ({:?})", b.time_zone))?;
        let demo_day =
            b.demo_day.as_deref().map(|s| parse_date(s).map_err(|e| format!("business.demo_day: {e}"))).transpose()?;
        let month_shift = match demo_day {
            Some(day) => {
                let moved = shift_date(day, shift).map_err(|e| format!("business.demo_day: {e}"))?;
                month_index(moved) - month_index(day)
            }
            None => i32::try_from(shift.num_days().div_euclid(30)).unwrap_or(0),
        };
        Ok(Planner { data, shift, tz, month_shift, ops: Vec::new() })
    }

    fn plan(mut self) -> Result<Vec<Op>, String> {
        let data = self.data;
        self.business()?;

        let tariffs = self.tariffs("tariffs", &data.tariffs)?;
        let options = self.tariffs("tariff_options", &data.tariff_options)?;

        let mut skus = HashSet::new();
        for (i, item) in data.catalog.iter().enumerate() {
            let path = format!("catalog[{i}]");
            non_empty(&format!("{path}.sku"), &item.sku)?;
            if !skus.insert(item.sku.as_str()) {
                return Err(format!("{path}.sku: duplicate sku {:?}", item.sku));
            }
            self.ops.push(Op::Catalog {
                sku: item.sku.clone(),
                vals: vec![
                    item.sku.as_str().into(),
                    json_text(&item.name).into(),
                    money(&format!("{path}.price"), &item.price)?.into(),
                    item.category.clone().into(),
                ],
                in_stock: item.in_stock,
            });
        }

        let mut services = HashSet::new();
        for (i, service) in data.services.iter().enumerate() {
            let path = format!("services[{i}]");
            non_empty(&format!("{path}.code"), &service.code)?;
            if !services.insert(service.code.as_str()) {
                return Err(format!("{path}.code: duplicate code {:?}", service.code));
            }
            if service.duration_min <= 0 {
                return Err(format!("{path}.duration_min: must be positive"));
            }
            self.ops.push(Op::upsert(
                "services",
                &["code"],
                &["name", "duration_min", "price"],
                vec![
                    service.code.as_str().into(),
                    json_text(&service.name).into(),
                    service.duration_min.into(),
                    money(&format!("{path}.price"), &service.price)?.into(),
                ],
            ));
        }

        let mut staff = HashSet::new();
        for (i, member) in data.staff.iter().enumerate() {
            let path = format!("staff[{i}]");
            non_empty(&format!("{path}.id"), &member.id)?;
            if !staff.insert(member.id.as_str()) {
                return Err(format!("{path}.id: duplicate id {:?}", member.id));
            }
            self.ops.push(Op::upsert(
                "staff",
                &["id"],
                &["name"],
                vec![member.id.as_str().into(), json_text(&member.name).into()],
            ));
            for (j, code) in member.services.iter().enumerate() {
                if !services.contains(code.as_str()) {
                    return Err(format!("{path}.services[{j}]: unknown service {code:?}"));
                }
                self.ops.push(Op::upsert(
                    "staff_services",
                    &["staff_id", "service_code"],
                    &[],
                    vec![member.id.as_str().into(), code.as_str().into()],
                ));
            }
            self.ops.push(Op::PruneExcept {
                table: "staff_services",
                parent_col: "staff_id",
                parent: member.id.clone(),
                key_col: "service_code",
                keep: member.services.clone(),
            });
        }

        for (member, starts) in &data.free_slots {
            let path = format!("free_slots.{member}");
            if !staff.contains(member.as_str()) {
                return Err(format!("{path}: unknown staff {member:?}"));
            }
            let mut keep = Vec::new();
            for (j, start) in starts.iter().enumerate() {
                let at = time_to_db(self.local_time(&format!("{path}[{j}]"), start)?);
                self.ops.push(Op::upsert(
                    "slots",
                    &["staff_id", "start_at"],
                    &[],
                    vec![member.as_str().into(), at.as_str().into()],
                ));
                keep.push(at);
            }
            self.ops.push(Op::PruneExcept {
                table: "slots",
                parent_col: "staff_id",
                parent: member.clone(),
                key_col: "start_at",
                keep,
            });
        }

        let refs = Refs { tariffs, options, skus, services, staff };
        let mut ids = HashSet::new();
        let mut phones = HashSet::new();
        let mut numbers = HashSet::new();
        let mut documents = HashSet::new();
        let mut bookings = HashSet::new();
        for (i, customer) in data.customers.iter().enumerate() {
            let path = format!("customers[{i}]");
            non_empty(&format!("{path}.id"), &customer.id)?;
            if !ids.insert(customer.id.as_str()) {
                return Err(format!("{path}.id: duplicate id {:?}", customer.id));
            }
            let phone = Phone::parse(&customer.phone).map_err(|_| format!("{path}.phone: not a phone number"))?;
            if !phones.insert(phone.clone()) {
                return Err(format!("{path}.phone: the same phone as another customer"));
            }
            self.customer(&path, customer, &phone, &refs)?;
            for (j, order) in customer.orders.iter().enumerate() {
                let path = format!("{path}.orders[{j}]");
                if !numbers.insert(order.number.as_str()) {
                    return Err(format!("{path}.number: duplicate order number {:?}", order.number));
                }
                self.order(&path, &customer.id, order, &refs)?;
            }
            for (j, doc) in customer.documents.iter().enumerate() {
                let path = format!("{path}.documents[{j}]");
                if !documents.insert(doc.id.as_str()) {
                    return Err(format!("{path}.id: duplicate document id {:?}", doc.id));
                }
                self.document(&path, &customer.id, doc)?;
            }
            for (j, booking) in customer.bookings.iter().enumerate() {
                let path = format!("{path}.bookings[{j}]");
                if !bookings.insert(booking.id.as_str()) {
                    return Err(format!("{path}.id: duplicate booking id {:?}", booking.id));
                }
                self.booking(&path, &customer.id, booking, &refs)?;
            }
        }
        Ok(self.ops)
    }

    fn business(&mut self) -> Result<(), String> {
        let b = &self.data.business;
        if b.currency.len() != 3 || !b.currency.bytes().all(|c| c.is_ascii_uppercase()) {
            return Err(format!("business.currency: not an ISO 4217 code ({:?})", b.currency));
        }
        let locale = Locale::parse(&b.default_locale)
            .ok_or_else(|| format!("business.default_locale: not a supported language ({:?})", b.default_locale))?;
        let demo_day = match &b.demo_day {
            Some(s) => Some(self.date("business.demo_day", s)?.format("%Y-%m-%d").to_string()),
            None => None,
        };
        let demo_now = match &b.demo_now {
            Some(s) => Some(time_to_db(self.instant("business.demo_now", s)?)),
            None => None,
        };
        self.ops.push(Op::upsert(
            "business",
            &["id"],
            &[
                "name",
                "currency",
                "time_zone",
                "default_locale",
                "locales",
                "working_hours",
                "support_hours",
                "demo_day",
                "demo_now",
            ],
            vec![
                1i64.into(),
                b.name.as_str().into(),
                b.currency.as_str().into(),
                b.time_zone.as_str().into(),
                locale.as_str().into(),
                json_text(&b.locales).into(),
                json_text(&b.working_hours).into(),
                b.support_hours.clone().into(),
                demo_day.into(),
                demo_now.into(),
            ],
        ));
        Ok(())
    }

    fn tariffs(&mut self, table: &'static str, list: &'d [TariffData]) -> Result<HashSet<&'d str>, String> {
        let mut codes = HashSet::new();
        for (i, tariff) in list.iter().enumerate() {
            let path = format!("{table}[{i}]");
            non_empty(&format!("{path}.code"), &tariff.code)?;
            if !codes.insert(tariff.code.as_str()) {
                return Err(format!("{path}.code: duplicate code {:?}", tariff.code));
            }
            self.ops.push(Op::upsert(
                table,
                &["code"],
                &["name", "monthly_fee"],
                vec![
                    tariff.code.as_str().into(),
                    json_text(&tariff.name).into(),
                    money(&format!("{path}.monthly_fee"), &tariff.monthly_fee)?.into(),
                ],
            ));
        }
        Ok(codes)
    }

    fn customer(&mut self, path: &str, c: &CustomerData, phone: &Phone, refs: &Refs<'_>) -> Result<(), String> {
        let locale = match &c.locale {
            Some(s) => Some(
                Locale::parse(s)
                    .ok_or_else(|| format!("{path}.locale: not a supported language ({s:?})"))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let birthday = match &c.birthday {
            Some(s) => Some(self.date(&format!("{path}.birthday"), s)?.format("%Y-%m-%d").to_string()),
            None => None,
        };
        if let Some(member) = &c.preferred_staff
            && !refs.staff.contains(member.as_str())
        {
            return Err(format!("{path}.preferred_staff: unknown staff {member:?}"));
        }
        self.ops.push(Op::upsert(
            "customers",
            &["id"],
            &["name", "first_name", "phone", "email", "locale", "birthday", "tags", "preferred_staff", "address"],
            vec![
                c.id.as_str().into(),
                c.name.as_str().into(),
                c.first_name.as_str().into(),
                phone.as_str().into(),
                c.email.clone().into(),
                locale.into(),
                birthday.into(),
                json_text(&c.tags).into(),
                c.preferred_staff.clone().into(),
                c.address.clone().into(),
            ],
        ));

        let Some(account) = &c.account else {
            self.ops.push(Op::NoAccount { customer: c.id.clone() });
            return Ok(());
        };
        let path = format!("{path}.account");
        if let Some(tariff) = &account.tariff
            && !refs.tariffs.contains(tariff.as_str())
        {
            return Err(format!("{path}.tariff: unknown tariff {tariff:?}"));
        }
        for (j, option) in account.options.iter().enumerate() {
            if !refs.options.contains(option.as_str()) {
                return Err(format!("{path}.options[{j}]: unknown tariff option {option:?}"));
            }
        }
        let (next_date, next_amount) = match &account.next_charge {
            Some(next) => (
                Some(self.date(&format!("{path}.next_charge.date"), &next.date)?.format("%Y-%m-%d").to_string()),
                Some(money(&format!("{path}.next_charge.amount"), &next.amount)?),
            ),
            None => (None, None),
        };
        let daily = account.daily_charge.as_deref().map(|s| money(&format!("{path}.daily_charge"), s)).transpose()?;
        self.ops.push(Op::Account(AccountPlan {
            customer: c.id.clone(),
            balance: money(&format!("{path}.balance"), &account.balance)?,
            bonus_points: account.bonus_points,
            tariff: account.tariff.clone(),
            options: account.options.clone(),
            next_charge_date: next_date,
            next_charge_amount: next_amount,
            daily_charge: daily,
            card_mask: account.card_mask.clone(),
        }));
        let mut rows = Vec::new();
        for (k, t) in account.transactions.iter().enumerate() {
            let path = format!("{path}.transactions[{k}]");
            let at = self.local_time(&format!("{path}.at"), &t.at)?;
            non_empty(&format!("{path}.kind"), &t.kind)?;
            rows.push(vec![
                c.id.as_str().into(),
                position(k).into(),
                time_to_db(at).into(),
                money(&format!("{path}.amount"), &t.amount)?.into(),
                t.kind.as_str().into(),
                json_text(&self.titled(&t.title)).into(),
            ]);
        }
        self.ops.push(Op::Transactions { customer: c.id.clone(), rows });
        Ok(())
    }

    fn order(&mut self, path: &str, customer: &str, o: &OrderData, refs: &Refs<'_>) -> Result<(), String> {
        non_empty(&format!("{path}.number"), &o.number)?;
        non_empty(&format!("{path}.status"), &o.status)?;
        let created = self.local_time(&format!("{path}.created"), &o.created)?;
        let delivered =
            o.delivered_at.as_deref().map(|s| self.local_time(&format!("{path}.delivered_at"), s)).transpose()?;
        let total = money(&format!("{path}.total"), &o.total)?;
        let mut full = vec![Op::upsert(
            "orders",
            &["number"],
            &["customer_id", "created_at", "status", "total", "delivered_at"],
            vec![
                o.number.as_str().into(),
                customer.into(),
                time_to_db(created).into(),
                o.status.as_str().into(),
                total.into(),
                delivered.map(time_to_db).into(),
            ],
        )];
        let mut progress = vec![Op::Update {
            table: "orders",
            key_col: "number",
            cols: &["status", "delivered_at"],
            vals: vec![o.number.as_str().into(), o.status.as_str().into(), delivered.map(time_to_db).into()],
        }];
        let mut items = Vec::new();
        for (k, item) in o.items.iter().enumerate() {
            let path = format!("{path}.items[{k}]");
            if !refs.skus.contains(item.sku.as_str()) {
                return Err(format!("{path}.sku: unknown sku {:?}", item.sku));
            }
            if item.qty <= 0 {
                return Err(format!("{path}.qty: must be positive"));
            }
            let price = money(&format!("{path}.price"), &item.price)?;
            items.push((item.sku.clone(), item.qty, price));
            full.push(Op::upsert(
                "order_items",
                &["order_number", "line"],
                &["sku", "qty", "price"],
                vec![
                    o.number.as_str().into(),
                    position(k).into(),
                    item.sku.as_str().into(),
                    item.qty.into(),
                    price.into(),
                ],
            ));
        }
        full.push(Op::PruneFrom {
            table: "order_items",
            parent_col: "order_number",
            parent: o.number.clone(),
            pos_col: "line",
            from: position(o.items.len()),
        });

        let mut order = OrderPlan {
            number: o.number.clone(),
            customer: customer.to_owned(),
            created_at: time_to_db(created),
            total,
            items,
            full: Vec::new(),
            progress: Vec::new(),
        };
        let Some(d) = &o.delivery else {
            // An order placed in the chat keeps the delivery it was placed with.
            full.push(Op::Delete { table: "deliveries", key_col: "order_number", key: o.number.clone() });
            order.full = full;
            order.progress = progress;
            self.ops.push(Op::Order(Box::new(order)));
            return Ok(());
        };
        let path = format!("{path}.delivery");
        let eta_from = d.eta_from.as_deref().map(|s| self.local_time(&format!("{path}.eta_from"), s)).transpose()?;
        let eta_to = d.eta_to.as_deref().map(|s| self.local_time(&format!("{path}.eta_to"), s)).transpose()?;
        let courier_phone = match d.courier.as_ref().and_then(|c| c.phone.as_deref()) {
            Some(s) => Some(
                Phone::parse(s).map_err(|_| format!("{path}.courier.phone: not a phone number"))?.as_str().to_owned(),
            ),
            None => None,
        };
        if let Some(loc) = d.location
            && (!(-90.0..=90.0).contains(&loc.lat) || !(-180.0..=180.0).contains(&loc.lon))
        {
            return Err(format!("{path}.location: not a place on Earth"));
        }
        let delivery = Op::upsert(
            "deliveries",
            &["order_number"],
            &[
                "address",
                "carrier",
                "tracking",
                "eta_from",
                "eta_to",
                "courier_name",
                "courier_phone",
                "note",
                "lat",
                "lon",
            ],
            vec![
                o.number.as_str().into(),
                d.address.clone().into(),
                d.carrier.clone().into(),
                d.tracking.clone().into(),
                eta_from.map(time_to_db).into(),
                eta_to.map(time_to_db).into(),
                d.courier.as_ref().map(|c| c.name.clone()).into(),
                courier_phone.into(),
                d.note.as_ref().map(json_text).into(),
                d.location.map(|l| l.lat).into(),
                d.location.map(|l| l.lon).into(),
            ],
        );
        full.push(delivery.clone());
        progress.push(delivery);
        order.full = full;
        order.progress = progress;
        self.ops.push(Op::Order(Box::new(order)));
        Ok(())
    }

    fn document(&mut self, path: &str, customer: &str, d: &DocumentData) -> Result<(), String> {
        non_empty(&format!("{path}.id"), &d.id)?;
        non_empty(&format!("{path}.kind"), &d.kind)?;
        let period = self.period(&format!("{path}.period"), &d.period)?;
        self.ops.push(Op::upsert(
            "documents",
            &["id"],
            &["customer_id", "kind", "period", "title"],
            vec![
                d.id.as_str().into(),
                customer.into(),
                d.kind.as_str().into(),
                period.into(),
                json_text(&self.titled(&d.title)).into(),
            ],
        ));
        Ok(())
    }

    fn booking(&mut self, path: &str, customer: &str, b: &BookingData, refs: &Refs<'_>) -> Result<(), String> {
        non_empty(&format!("{path}.id"), &b.id)?;
        non_empty(&format!("{path}.status"), &b.status)?;
        if !refs.services.contains(b.service.as_str()) {
            return Err(format!("{path}.service: unknown service {:?}", b.service));
        }
        if !refs.staff.contains(b.staff.as_str()) {
            return Err(format!("{path}.staff: unknown staff {:?}", b.staff));
        }
        let start = self.local_time(&format!("{path}.start"), &b.start)?;
        self.ops.push(Op::Booking {
            vals: vec![
                b.id.as_str().into(),
                customer.into(),
                b.service.as_str().into(),
                b.staff.as_str().into(),
                time_to_db(start).into(),
                b.status.as_str().into(),
            ],
        });
        Ok(())
    }

    /// A title of the data set with the months it names moved as the periods move.
    fn titled(&self, title: &LocalizedText) -> LocalizedText {
        LocalizedText(
            title.0.iter().map(|(lang, text)| (lang.clone(), shift_month_names(text, self.month_shift))).collect(),
        )
    }

    /// A date of the data set, shifted.
    fn date(&self, path: &str, s: &str) -> Result<NaiveDate, String> {
        let date = parse_date(s).map_err(|e| format!("{path}: {e}"))?;
        shift_date(date, self.shift).map_err(|e| format!("{path}: {e}"))
    }

    /// A local time of the data set, shifted, in UTC.
    fn local_time(&self, path: &str, s: &str) -> Result<DateTime<Utc>, String> {
        let local = parse_local(s).map_err(|e| format!("{path}: {e}"))?;
        let moved = local.checked_add_signed(self.shift).ok_or_else(|| format!("{path}: out of range"))?;
        to_utc(self.tz, moved).ok_or_else(|| format!("{path}: not a time in {}", self.tz))
    }

    /// A time with an offset, or a local one, shifted, in UTC.
    fn instant(&self, path: &str, s: &str) -> Result<DateTime<Utc>, String> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(at) => {
                at.with_timezone(&Utc).checked_add_signed(self.shift).ok_or_else(|| format!("{path}: out of range"))
            }
            Err(_) => self.local_time(path, s),
        }
    }

    /// A "YYYY-MM" period, moved by the months the shift moves the demo day.
    fn period(&self, path: &str, s: &str) -> Result<String, String> {
        let first = parse_date(&format!("{s}-01"))
            .ok()
            .filter(|_| s.len() == 7)
            .ok_or_else(|| format!("{path}: not a period YYYY-MM ({s:?})"))?;
        let index = month_index(first) + self.month_shift;
        let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
        if !(0..=9999).contains(&year) {
            return Err(format!("{path}: out of range"));
        }
        Ok(format!("{year:04}-{:02}", month0 + 1))
    }
}

/// The codes a customer's records may refer to.
struct Refs<'d> {
    tariffs: HashSet<&'d str>,
    options: HashSet<&'d str>,
    skus: HashSet<&'d str>,
    services: HashSet<&'d str>,
    staff: HashSet<&'d str>,
}

fn non_empty(path: &str, s: &str) -> Result<(), String> {
    if s.trim().is_empty() { Err(format!("{path}: must not be empty")) } else { Ok(()) }
}

/// A list position as a store key.
fn position(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// A decimal money string ("3450", "-890", "12.50") as minor units.
fn money(path: &str, s: &str) -> Result<i64, String> {
    let bad = || format!("{path}: not a decimal amount ({s:?})");
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !whole.is_empty()
        && whole.len() <= 15
        && whole.bytes().all(|c| c.is_ascii_digit())
        && frac.len() <= 2
        && frac.bytes().all(|c| c.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    if !well_formed {
        return Err(bad());
    }
    Decimal::from_str(s).map(to_minor).map_err(|_| bad())
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("not a date YYYY-MM-DD ({s:?})"))
}

/// "2025-01-12T10:00" or "2025-01-12T10:00:00".
fn parse_local(s: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| format!("not a local time YYYY-MM-DDTHH:MM ({s:?})"))
}

fn shift_date(date: NaiveDate, shift: Duration) -> Result<NaiveDate, String> {
    date.checked_add_signed(shift).ok_or_else(|| "out of range".to_owned())
}

/// A local time in `tz` as an instant; a time skipped by a clock change counts from the
/// hour after it, a repeated one is its first occurrence.
fn to_utc(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
        .map(|at| at.with_timezone(&Utc))
}

fn month_index(date: NaiveDate) -> i32 {
    date.year() * 12 + date.month0() as i32
}

/// JSON text of a value serde can always write (maps with string keys, lists of strings).
fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_data_set_is_valid() {
        let data = BusinessData::parse(DEMO_JSON).unwrap();
        assert_eq!(data.customers.len(), 3);
        assert_eq!(data.free_slots.len(), 3);
        assert_eq!(data.demo_now(), NaiveDate::from_ymd_opt(2025, 1, 11).and_then(|d| d.and_hms_opt(10, 0, 0)));
        assert_eq!(data.demo_now_utc().map(|t| t.to_rfc3339()), Some("2025-01-11T05:00:00+00:00".to_owned()));
    }

    #[test]
    fn money_strings_must_be_plain_decimals() {
        assert_eq!(money("p", "3450"), Ok(345_000));
        assert_eq!(money("p", "-890"), Ok(-89_000));
        assert_eq!(money("p", "12.5"), Ok(1_250));
        for bad in ["", "-", "1e3", "1_000", "12.345", "12.", ".5", "abc", " 1", "+1", "1,5"] {
            assert!(money("x.price", bad).unwrap_err().starts_with("x.price: not a decimal amount"), "{bad}");
        }
    }

    #[test]
    fn periods_move_by_the_months_the_demo_day_moves() {
        let mut data = BusinessData::demo();
        data.business.demo_day = Some("2025-01-11".into());
        let planner = Planner::new(&data, Duration::days(21)).unwrap();
        assert_eq!(planner.period("p", "2024-12").unwrap(), "2025-01");
        let planner = Planner::new(&data, Duration::days(-11)).unwrap();
        assert_eq!(planner.period("p", "2024-01").unwrap(), "2023-12");
        assert!(planner.period("p", "2024-13").is_err());
        assert!(planner.period("p", "2024-1").is_err());
    }

    #[test]
    fn an_unchanged_row_is_not_rewritten() {
        assert_eq!(
            upsert_sql("t", &["k"], &["a", "b"]),
            "INSERT INTO t (k, a, b) VALUES ($1, $2, $3) ON CONFLICT (k) DO UPDATE SET a = excluded.a, \
             b = excluded.b WHERE (t.a, t.b) IS DISTINCT FROM (excluded.a, excluded.b)"
        );
        assert_eq!(
            upsert_sql("t", &["k", "j"], &[]),
            "INSERT INTO t (k, j) VALUES ($1, $2) ON CONFLICT (k, j) DO NOTHING"
        );
    }

    #[test]
    fn the_catalog_names_every_service_and_staff_member_in_every_language() {
        let catalog = BusinessData::demo().catalog();
        let anna = catalog.staff.iter().find(|n| n.code == "anna").unwrap();
        assert!(anna.names.contains(&"Анна".to_owned()) && anna.names.contains(&"Anna".to_owned()));
        assert_eq!(catalog.services.len(), 3);
    }
}
