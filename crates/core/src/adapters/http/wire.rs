//! The bodies of the HTTP backend contract (`docs/backend-api.yaml`), shared by the client
//! and the reference server, and their conversions to and from the adapter types.
//!
//! Money is a decimal string ("12500.00"), instants are RFC 3339 ("2025-01-11T10:00:00Z"),
//! dates ISO 8601 ("2025-02-01"), periods "YYYY-MM". Optional fields may be left out.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::adapters::{
    Account, Appointment, BookingRefusal, BookingStatus, ChangeRefusal, Courier, CustomerId, CustomerProfile, Delivery,
    DocumentData, DocumentInfo, DocumentLine, LocalizedText, NextCharge, Offer, Order, OrderItem, OrderPage,
    OrderRefusal, OrderStatus, OrderSummary, Product, ReferralOutcome, Service, StaffMember, Tariff, Transaction,
};
use crate::domain::{Locale, Period, Phone};

/// A body that is not what the contract says: the reason, short.
pub type WireError = String;

/// A customer's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub first_name: String,
    /// E.164 ("+77011234567").
    pub phone: String,
    #[serde(default)]
    pub email: Option<String>,
    /// "ru" or "en"; another language is ignored.
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The customer's IANA time zone ("Europe/Moscow"), when known; an unknown name is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl From<&CustomerProfile> for Customer {
    fn from(p: &CustomerProfile) -> Self {
        Customer {
            id: p.id.0.clone(),
            name: p.name.clone(),
            first_name: p.first_name.clone(),
            phone: p.phone.as_str().to_owned(),
            email: p.email.clone(),
            locale: p.locale.map(|l| l.as_str().to_owned()),
            tags: p.tags.clone(),
            time_zone: p.time_zone.map(|tz| tz.name().to_owned()),
        }
    }
}

impl TryFrom<Customer> for CustomerProfile {
    type Error = WireError;
    fn try_from(c: Customer) -> Result<Self, WireError> {
        Ok(CustomerProfile {
            phone: Phone::parse(&c.phone).map_err(|_| "customer.phone: not a phone number".to_owned())?,
            id: CustomerId(c.id),
            name: c.name,
            first_name: c.first_name,
            email: c.email,
            locale: c.locale.as_deref().and_then(Locale::parse),
            tags: c.tags,
            time_zone: c.time_zone.as_deref().and_then(|tz| tz.parse().ok()),
        })
    }
}

/// Customers found by a staff search.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CustomerList {
    pub customers: Vec<Customer>,
}

/// An unknown phone shared from Telegram.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeadRequest {
    pub phone: String,
    pub first_name: String,
    pub telegram_user_id: i64,
    pub at: DateTime<Utc>,
}

/// The lead's id in the CRM; `null` from a CRM that keeps no leads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeadResponse {
    #[serde(default)]
    pub lead_id: Option<String>,
}

/// A note on a customer's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteRequest {
    pub text: String,
}

/// Whether the CRM kept the note.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteResponse {
    pub kept: bool,
}

/// A tariff or an option.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireTariff {
    pub code: String,
    pub name: LocalizedText,
    pub monthly_fee: Decimal,
}

impl From<&Tariff> for WireTariff {
    fn from(t: &Tariff) -> Self {
        WireTariff { code: t.code.clone(), name: t.name.clone(), monthly_fee: t.monthly_fee }
    }
}

impl From<WireTariff> for Tariff {
    fn from(t: WireTariff) -> Self {
        Tariff { code: t.code, name: t.name, monthly_fee: t.monthly_fee }
    }
}

/// Tariffs or options, cheapest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TariffList {
    pub tariffs: Vec<WireTariff>,
}

/// The next monthly charge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireNextCharge {
    pub date: NaiveDate,
    pub amount: Decimal,
}

/// A customer's account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireAccount {
    pub balance: Decimal,
    pub currency: String,
    #[serde(default)]
    pub bonus_points: i64,
    #[serde(default)]
    pub tariff: Option<WireTariff>,
    #[serde(default)]
    pub options: Vec<WireTariff>,
    #[serde(default)]
    pub next_charge: Option<WireNextCharge>,
    #[serde(default)]
    pub daily_charge: Option<Decimal>,
    /// Already masked ("**** **** **** 4242").
    #[serde(default)]
    pub card_mask: Option<String>,
    #[serde(default)]
    pub paused: bool,
}

impl From<&Account> for WireAccount {
    fn from(a: &Account) -> Self {
        WireAccount {
            balance: a.balance,
            currency: a.currency.clone(),
            bonus_points: a.bonus_points,
            tariff: a.tariff.as_ref().map(WireTariff::from),
            options: a.options.iter().map(WireTariff::from).collect(),
            next_charge: a.next_charge.as_ref().map(|n| WireNextCharge { date: n.date, amount: n.amount }),
            daily_charge: a.daily_charge,
            card_mask: a.card_mask.clone(),
            paused: a.paused,
        }
    }
}

impl From<WireAccount> for Account {
    fn from(a: WireAccount) -> Self {
        Account {
            balance: a.balance,
            currency: a.currency,
            bonus_points: a.bonus_points,
            tariff: a.tariff.map(Tariff::from),
            options: a.options.into_iter().map(Tariff::from).collect(),
            next_charge: a.next_charge.map(|n| NextCharge { date: n.date, amount: n.amount }),
            daily_charge: a.daily_charge,
            card_mask: a.card_mask,
            paused: a.paused,
        }
    }
}

/// A charge, top-up, purchase or refund.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireTransaction {
    pub at: DateTime<Utc>,
    pub amount: Decimal,
    pub kind: String,
    pub title: LocalizedText,
}

/// The latest transactions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionList {
    pub transactions: Vec<WireTransaction>,
}

impl From<&Transaction> for WireTransaction {
    fn from(t: &Transaction) -> Self {
        WireTransaction { at: t.at, amount: t.amount, kind: t.kind.clone(), title: t.title.clone() }
    }
}

impl From<WireTransaction> for Transaction {
    fn from(t: WireTransaction) -> Self {
        Transaction { at: t.at, amount: t.amount, kind: t.kind, title: t.title }
    }
}

/// A subscription change made or quoted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeDone {
    pub monthly_fee: Decimal,
    pub effective: NaiveDate,
    pub currency: String,
}

/// Why a write was not made: the body of a 409 or 422 answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// "slot_taken", "out_of_stock", "same_tariff", …
    pub refusal: String,
    /// `out_of_stock`: the SKUs unknown or out of stock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skus: Vec<String>,
    /// `loop`: the code's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// For people reading logs; cabinet does not show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Refusal {
    /// A refusal with this code and nothing else.
    pub fn code(code: &str) -> Refusal {
        Refusal { refusal: code.to_owned(), ..Default::default() }
    }
}

/// The refusal codes of subscription changes.
pub const CHANGE_REFUSALS: [(ChangeRefusal, &str); 7] = [
    (ChangeRefusal::SameTariff, "same_tariff"),
    (ChangeRefusal::Unknown, "unknown"),
    (ChangeRefusal::OptionPresent, "option_present"),
    (ChangeRefusal::OptionAbsent, "option_absent"),
    (ChangeRefusal::AlreadyPaused, "already_paused"),
    (ChangeRefusal::NotPaused, "not_paused"),
    (ChangeRefusal::NoSubscription, "no_subscription"),
];

/// The refusal codes of bookings, moves and cancellations.
pub const BOOKING_REFUSALS: [(BookingRefusal, &str); 6] = [
    (BookingRefusal::SlotTaken, "slot_taken"),
    (BookingRefusal::NotOffered, "not_offered"),
    (BookingRefusal::InPast, "in_past"),
    (BookingRefusal::Unknown, "unknown"),
    (BookingRefusal::NotFound, "not_found"),
    (BookingRefusal::AlreadyCancelled, "already_cancelled"),
];

/// A subscription change refusal's code.
pub fn change_refusal_code(r: ChangeRefusal) -> &'static str {
    CHANGE_REFUSALS.iter().find(|(k, _)| *k == r).map_or("unknown", |(_, c)| c)
}

/// The subscription change refusal with this code.
pub fn change_refusal(code: &str) -> Option<ChangeRefusal> {
    CHANGE_REFUSALS.iter().find(|(_, c)| *c == code).map(|(k, _)| *k)
}

/// A booking refusal's code.
pub fn booking_refusal_code(r: BookingRefusal) -> &'static str {
    BOOKING_REFUSALS.iter().find(|(k, _)| *k == r).map_or("unknown", |(_, c)| c)
}

/// The booking refusal with this code.
pub fn booking_refusal(code: &str) -> Option<BookingRefusal> {
    BOOKING_REFUSALS.iter().find(|(_, c)| *c == code).map(|(k, _)| *k)
}

/// An order refusal as a body.
pub fn order_refusal_body(r: &OrderRefusal) -> Refusal {
    match r {
        OrderRefusal::OutOfStock(skus) => Refusal { skus: skus.clone(), ..Refusal::code("out_of_stock") },
        OrderRefusal::Empty => Refusal::code("empty"),
    }
}

/// The order refusal a body says.
pub fn order_refusal(r: Refusal) -> Option<OrderRefusal> {
    match r.refusal.as_str() {
        "out_of_stock" => Some(OrderRefusal::OutOfStock(r.skus)),
        "empty" => Some(OrderRefusal::Empty),
        _ => None,
    }
}

/// A referral that credited nobody, as a refusal body; `None` for a credit.
pub fn referral_refusal_body(r: &ReferralOutcome) -> Option<Refusal> {
    Some(match r {
        ReferralOutcome::Credited { .. } => return None,
        ReferralOutcome::AlreadyReferred => Refusal::code("already_referred"),
        ReferralOutcome::Loop { referrer } => Refusal { referrer: Some(referrer.0.clone()), ..Refusal::code("loop") },
        ReferralOutcome::SelfReferral => Refusal::code("self_referral"),
        ReferralOutcome::UnknownCode => Refusal::code("unknown_code"),
    })
}

/// The referral outcome a refusal body says.
pub fn referral_refusal(r: Refusal) -> Option<ReferralOutcome> {
    match r.refusal.as_str() {
        "already_referred" => Some(ReferralOutcome::AlreadyReferred),
        "loop" => r.referrer.map(|id| ReferralOutcome::Loop { referrer: CustomerId(id) }),
        "self_referral" => Some(ReferralOutcome::SelfReferral),
        "unknown_code" => Some(ReferralOutcome::UnknownCode),
        _ => None,
    }
}

/// Whether a refusal is a conflict with the current state (409) rather than a request that
/// cannot be made at all (422).
pub fn is_conflict(code: &str) -> bool {
    matches!(
        code,
        "slot_taken"
            | "already_cancelled"
            | "same_tariff"
            | "option_present"
            | "option_absent"
            | "already_paused"
            | "not_paused"
            | "already_referred"
            | "loop"
            | "out_of_stock"
    )
}

/// A payment link to ask for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentLinkRequest {
    pub amount: Decimal,
    pub reference: String,
}

/// Where the customer pays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentLink {
    pub url: String,
}

/// A payment received outside the billing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreditRequest {
    pub amount: Decimal,
    pub payment_id: String,
    pub title: LocalizedText,
}

/// The new balance; `null` when this payment id was already credited.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreditResponse {
    #[serde(default)]
    pub balance: Option<Decimal>,
}

/// A line of a customer's order history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireOrderSummary {
    pub number: String,
    pub created: DateTime<Utc>,
    pub status: String,
    pub total: Decimal,
}

/// A page of a customer's orders, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireOrderPage {
    pub orders: Vec<WireOrderSummary>,
    /// How many orders the customer has in all.
    pub total: u32,
    pub currency: String,
}

impl From<&OrderPage> for WireOrderPage {
    fn from(p: &OrderPage) -> Self {
        WireOrderPage {
            orders: p
                .orders
                .iter()
                .map(|o| WireOrderSummary {
                    number: o.number.clone(),
                    created: o.created,
                    status: o.status.as_str().to_owned(),
                    total: o.total,
                })
                .collect(),
            total: p.total,
            currency: p.currency.clone(),
        }
    }
}

impl From<WireOrderPage> for OrderPage {
    fn from(p: WireOrderPage) -> Self {
        OrderPage {
            orders: p
                .orders
                .into_iter()
                .map(|o| OrderSummary {
                    number: o.number,
                    created: o.created,
                    status: OrderStatus::parse(&o.status),
                    total: o.total,
                })
                .collect(),
            total: p.total,
            currency: p.currency,
        }
    }
}

/// A line of an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireOrderItem {
    pub sku: String,
    #[serde(default)]
    pub name: LocalizedText,
    pub qty: i64,
    pub price: Decimal,
}

/// The courier bringing an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireCourier {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A point on the map.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
}

/// How an order is delivered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireDelivery {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking: Option<String>,
    #[serde(default)]
    pub eta_from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub eta_to: Option<DateTime<Utc>>,
    #[serde(default)]
    pub courier: Option<WireCourier>,
    #[serde(default)]
    pub note: Option<LocalizedText>,
    #[serde(default)]
    pub location: Option<Location>,
}

/// An order with its lines and delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireOrder {
    pub number: String,
    pub created: DateTime<Utc>,
    /// "new", "assembling", "in_transit", "delivered", "cancelled" or the system's own word.
    pub status: String,
    pub total: Decimal,
    pub currency: String,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub items: Vec<WireOrderItem>,
    #[serde(default)]
    pub delivery: Option<WireDelivery>,
}

impl From<&Order> for WireOrder {
    fn from(o: &Order) -> Self {
        WireOrder {
            number: o.number.clone(),
            created: o.created,
            status: o.status.as_str().to_owned(),
            total: o.total,
            currency: o.currency.clone(),
            delivered_at: o.delivered_at,
            items: o
                .items
                .iter()
                .map(|i| WireOrderItem { sku: i.sku.clone(), name: i.name.clone(), qty: i.qty, price: i.price })
                .collect(),
            delivery: o.delivery.as_ref().map(|d| WireDelivery {
                address: d.address.clone(),
                carrier: d.carrier.clone(),
                tracking: d.tracking.clone(),
                eta_from: d.eta_from,
                eta_to: d.eta_to,
                courier: d.courier.as_ref().map(|c| WireCourier { name: c.name.clone(), phone: c.phone.clone() }),
                note: d.note.clone(),
                location: d.location.map(|(lat, lon)| Location { lat, lon }),
            }),
        }
    }
}

impl From<WireOrder> for Order {
    fn from(o: WireOrder) -> Self {
        Order {
            number: o.number,
            created: o.created,
            status: OrderStatus::parse(&o.status),
            total: o.total,
            currency: o.currency,
            delivered_at: o.delivered_at,
            items: o
                .items
                .into_iter()
                .map(|i| OrderItem { sku: i.sku, name: i.name, qty: i.qty, price: i.price })
                .collect(),
            delivery: o.delivery.map(|d| Delivery {
                address: d.address,
                carrier: d.carrier,
                tracking: d.tracking,
                eta_from: d.eta_from,
                eta_to: d.eta_to,
                courier: d.courier.map(|c| Courier { name: c.name, phone: c.phone }),
                note: d.note,
                location: d.location.map(|l| (l.lat, l.lon)),
            }),
        }
    }
}

/// Orders in full.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<WireOrder>,
}

/// A document issued to a customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireDocument {
    pub id: String,
    /// "act", "invoice", "receipt", "contract" or "statement".
    pub kind: String,
    /// "YYYY-MM".
    pub period: Period,
    pub title: LocalizedText,
}

impl From<&DocumentInfo> for WireDocument {
    fn from(d: &DocumentInfo) -> Self {
        WireDocument { id: d.id.clone(), kind: d.kind.clone(), period: d.period, title: d.title.clone() }
    }
}

impl From<WireDocument> for DocumentInfo {
    fn from(d: WireDocument) -> Self {
        DocumentInfo { id: d.id, kind: d.kind, period: d.period, title: d.title }
    }
}

/// A customer's documents, newest period first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DocumentList {
    pub documents: Vec<WireDocument>,
}

/// A line of a document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireDocumentLine {
    pub description: LocalizedText,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

/// A document's printable content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireDocumentData {
    pub document: WireDocument,
    pub issued: NaiveDate,
    pub customer_name: String,
    #[serde(default)]
    pub customer_lines: Vec<String>,
    #[serde(default)]
    pub account: Option<String>,
    pub lines: Vec<WireDocumentLine>,
    pub total: Decimal,
    pub currency: String,
}

/// A document's file when it is not sent as PDF bytes: a URL, or the data to print.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileReply {
    /// A URL Telegram can download the file from.
    Url { file_name: String, url: String },
    /// No file: cabinet prints the document.
    Data(WireDocumentData),
}

impl From<&DocumentData> for WireDocumentData {
    fn from(d: &DocumentData) -> Self {
        WireDocumentData {
            document: WireDocument::from(&d.info),
            issued: d.issued,
            customer_name: d.customer_name.clone(),
            customer_lines: d.customer_lines.clone(),
            account: d.account.clone(),
            lines: d
                .lines
                .iter()
                .map(|l| WireDocumentLine {
                    description: l.description.clone(),
                    qty: l.qty,
                    unit_price: l.unit_price,
                    amount: l.amount,
                })
                .collect(),
            total: d.total,
            currency: d.currency.clone(),
        }
    }
}

impl From<WireDocumentData> for DocumentData {
    fn from(d: WireDocumentData) -> Self {
        DocumentData {
            info: d.document.into(),
            issued: d.issued,
            customer_name: d.customer_name,
            customer_lines: d.customer_lines,
            account: d.account,
            lines: d
                .lines
                .into_iter()
                .map(|l| DocumentLine {
                    description: l.description,
                    qty: l.qty,
                    unit_price: l.unit_price,
                    amount: l.amount,
                })
                .collect(),
            total: d.total,
            currency: d.currency,
        }
    }
}

/// SKUs to look up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductsRequest {
    pub skus: Vec<String>,
}

/// A product as sold now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireProduct {
    pub sku: String,
    pub name: LocalizedText,
    pub price: Decimal,
    /// Units in stock; zero or less is out of stock.
    pub in_stock: i64,
    /// The catalogue's category code, when the shop groups its products.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// Products found (unknown SKUs are left out); the catalogue (`GET /catalogue`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProductList {
    pub products: Vec<WireProduct>,
}

impl From<&Product> for WireProduct {
    fn from(p: &Product) -> Self {
        WireProduct {
            sku: p.sku.clone(),
            name: p.name.clone(),
            price: p.price,
            in_stock: p.in_stock,
            category: p.category.clone(),
        }
    }
}

impl From<WireProduct> for Product {
    fn from(p: WireProduct) -> Self {
        Product { sku: p.sku, name: p.name, price: p.price, in_stock: p.in_stock, category: p.category }
    }
}

/// A line of a new order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub qty: i64,
}

/// An order to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewOrderRequest {
    pub lines: Vec<OrderLine>,
    #[serde(default)]
    pub address: Option<String>,
}

/// The order created (or found again by its idempotency key: `new` is false).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireCreatedOrder {
    pub number: String,
    pub total: Decimal,
    pub currency: String,
    pub new: bool,
}

/// A personal offer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireOffer {
    pub id: String,
    pub text: LocalizedText,
    #[serde(default)]
    pub sku: Option<String>,
}

impl From<&Offer> for WireOffer {
    fn from(o: &Offer) -> Self {
        WireOffer { id: o.id.clone(), text: o.text.clone(), sku: o.sku.clone() }
    }
}

impl From<WireOffer> for Offer {
    fn from(o: WireOffer) -> Self {
        Offer { id: o.id, text: o.text, sku: o.sku }
    }
}

/// A customer's referral code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferralCode {
    pub code: String,
}

/// A referred customer came with a code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferralRequest {
    pub code: String,
    pub referred: String,
}

/// The referrer credited.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferralCredited {
    pub referrer: String,
    pub points: i64,
}

/// A bookable service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireService {
    pub code: String,
    pub name: LocalizedText,
    pub duration_min: u32,
    pub price: Decimal,
}

/// The services.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServiceList {
    pub services: Vec<WireService>,
}

impl From<&Service> for WireService {
    fn from(s: &Service) -> Self {
        WireService { code: s.code.clone(), name: s.name.clone(), duration_min: s.duration_min, price: s.price }
    }
}

impl From<WireService> for Service {
    fn from(s: WireService) -> Self {
        Service { code: s.code, name: s.name, duration_min: s.duration_min, price: s.price }
    }
}

/// Someone who provides services.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireStaffMember {
    pub id: String,
    pub name: LocalizedText,
    #[serde(default)]
    pub services: Vec<String>,
}

/// The staff.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StaffList {
    pub staff: Vec<WireStaffMember>,
}

impl From<&StaffMember> for WireStaffMember {
    fn from(s: &StaffMember) -> Self {
        WireStaffMember { id: s.id.clone(), name: s.name.clone(), services: s.services.clone() }
    }
}

impl From<WireStaffMember> for StaffMember {
    fn from(s: WireStaffMember) -> Self {
        StaffMember { id: s.id, name: s.name, services: s.services }
    }
}

/// A customer's regular staff member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferredStaff {
    pub staff: String,
}

/// Free start times, earliest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotList {
    pub slots: Vec<crate::adapters::Slot>,
}

/// A slot to book.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookRequest {
    pub service: String,
    pub start: DateTime<Utc>,
    pub staff: String,
}

/// A new time for an appointment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RescheduleRequest {
    pub start: DateTime<Utc>,
    pub staff: String,
}

/// A customer's appointment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireAppointment {
    pub id: String,
    pub service: String,
    pub staff: String,
    pub start: DateTime<Utc>,
    pub duration_min: u32,
    pub status: BookingStatus,
}

impl From<&Appointment> for WireAppointment {
    fn from(a: &Appointment) -> Self {
        WireAppointment {
            id: a.id.clone(),
            service: a.service.clone(),
            staff: a.staff.clone(),
            start: a.start,
            duration_min: a.duration_min,
            status: a.status,
        }
    }
}

impl From<WireAppointment> for Appointment {
    fn from(a: WireAppointment) -> Self {
        Appointment {
            id: a.id,
            service: a.service,
            staff: a.staff,
            start: a.start,
            duration_min: a.duration_min,
            status: a.status,
        }
    }
}

/// A customer's appointments, earliest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentList {
    pub appointments: Vec<WireAppointment>,
}

/// An appointment with its customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpcomingAppointment {
    pub customer_id: String,
    pub appointment: WireAppointment,
}

/// Every customer's confirmed appointments in a window.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpcomingList {
    pub appointments: Vec<UpcomingAppointment>,
}

/// An error answer (5xx): for people reading logs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}
