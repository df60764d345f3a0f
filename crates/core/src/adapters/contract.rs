//! The conformance suite every backend passes: what each trait's methods promise (scoping to
//! the customer, ordering, limits, refusals, idempotency), checked against a backend that
//! holds a known business. The built-in backend passes it on SQLite and PostgreSQL, and the
//! HTTP backend through the contract's reference server; a new backend runs it against its
//! own fixture.
//!
//! Each check returns the promises broken, as sentences (empty: it conforms). The checks
//! write (a subscription change, a payment, an order, a booking), so they run on a copy of
//! the data made for them.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::*;
use crate::domain::Phone;

/// What the suite knows about the business in the backend under test.
///
/// [`Fixture::demo`] describes the demo business; a connector's test describes the records of
/// its own system over it (`Fixture { customer: …, own_order: …, ..Fixture::demo(now) }`).
/// The capabilities a backend does not serve leave their fields unread.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The backend's "now" (bookings before it are in the past).
    pub now: DateTime<Utc>,
    /// A customer with an account, orders, documents and a current tariff.
    pub customer: CustomerId,
    pub phone: Phone,
    /// A word of the customer's name that `search` finds them by.
    pub name_word: String,
    /// Another customer, with an order, a document and a booking of their own.
    pub other: CustomerId,
    /// A phone no customer has.
    pub unknown_phone: Phone,
    pub own_order: String,
    pub others_order: String,
    pub own_document: String,
    pub others_document: String,
    pub others_booking: String,
    /// A product in stock.
    pub sku: String,
    /// A service with free times from a few days after `now` on.
    pub service: String,
    /// Whether `Crm::search` finds a customer by a part of their phone's digits (the last
    /// seven). A system that compares whole numbers only (Bitrix24's
    /// `crm.duplicate.findbycomm`, the one way it looks phones up) cannot, and sets this to
    /// false: only that one check is skipped; a whole number and a name are still looked up.
    pub search_by_phone_digits: bool,
}

impl Fixture {
    /// The demo business (`BusinessData::demo()`), imported without a shift, at `now`.
    pub fn demo(now: DateTime<Utc>) -> Fixture {
        let phone = |p: &str| Phone::parse(p).unwrap_or_else(|_| unreachable!("a valid demo phone"));
        Fixture {
            now,
            customer: CustomerId("C1".into()),
            phone: phone("+77011234567"),
            name_word: "ерлан".into(),
            other: CustomerId("C2".into()),
            unknown_phone: phone("+77070000000"),
            own_order: "78234".into(),
            others_order: "78300".into(),
            own_document: "D-1001".into(),
            others_document: "D-2001".into(),
            others_booking: "B-2001".into(),
            sku: "MILK-32".into(),
            service: "haircut".into(),
            search_by_phone_digits: true,
        }
    }
}

/// Every promise `adapters` break against `fx`, capability by capability.
pub async fn check_all(adapters: &Adapters, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    broken.extend(crm(adapters.crm.as_ref(), fx).await);
    broken.extend(billing(adapters.billing.as_ref(), fx).await);
    broken.extend(logistics(adapters.logistics.as_ref(), fx).await);
    broken.extend(documents(adapters.documents.as_ref(), fx).await);
    broken.extend(shop(adapters.shop.as_ref(), fx).await);
    broken.extend(loyalty(adapters.loyalty.as_ref(), fx).await);
    broken.extend(booking(adapters.booking.as_ref(), fx).await);
    broken.extend(directory(adapters.directory.as_ref()).await);
    broken
}

/// Records a broken promise unless `ok`.
macro_rules! expect {
    ($broken:ident, $ok:expr, $($what:tt)+) => {
        if !$ok {
            $broken.push(format!($($what)+));
        }
    };
}

/// The value of a call, or a broken promise and `return`.
macro_rules! answer {
    ($broken:ident, $call:expr, $what:literal) => {
        match $call {
            Ok(value) => value,
            Err(e) => {
                $broken.push(format!("{}: failed: {e}", $what));
                return $broken;
            }
        }
    };
}

pub async fn crm(crm: &dyn Crm, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let found = answer!(broken, crm.find_by_phone(&fx.phone).await, "crm.find_by_phone");
    match &found {
        Some(p) => {
            expect!(broken, p.id == fx.customer, "crm.find_by_phone: found {} instead of {}", p.id, fx.customer);
            expect!(broken, p.phone == fx.phone, "crm.find_by_phone: the profile has another phone");
        }
        None => broken.push("crm.find_by_phone: the customer's phone finds nobody".into()),
    }
    let unknown = answer!(broken, crm.find_by_phone(&fx.unknown_phone).await, "crm.find_by_phone (unknown)");
    expect!(broken, unknown.is_none(), "crm.find_by_phone: an unknown phone finds someone");
    let profile = answer!(broken, crm.profile(&fx.customer).await, "crm.profile");
    expect!(broken, profile.as_ref() == found.as_ref(), "crm.profile: differs from find_by_phone's");
    let nobody = answer!(broken, crm.profile(&CustomerId("no-such-customer".into())).await, "crm.profile (unknown)");
    expect!(broken, nobody.is_none(), "crm.profile: an unknown id has a profile");
    let by_name = answer!(broken, crm.search(&fx.name_word, 5).await, "crm.search");
    expect!(broken, by_name.iter().any(|p| p.id == fx.customer), "crm.search: a word of the name does not find them");
    expect!(broken, by_name.len() <= 5, "crm.search: more than the limit");
    if fx.search_by_phone_digits {
        let digits: String = fx.phone.as_str().chars().filter(char::is_ascii_digit).collect();
        let tail = &digits[digits.len().saturating_sub(7)..];
        let by_phone = answer!(broken, crm.search(tail, 5).await, "crm.search (digits)");
        expect!(
            broken,
            by_phone.iter().any(|p| p.id == fx.customer),
            "crm.search: the phone's digits do not find them"
        );
    }
    let whole = answer!(broken, crm.search(fx.phone.as_str(), 5).await, "crm.search (whole phone)");
    expect!(broken, whole.iter().any(|p| p.id == fx.customer), "crm.search: the whole phone does not find them");
    let none = answer!(broken, crm.search("?!", 5).await, "crm.search (no letters nor digits)");
    expect!(broken, none.is_empty(), "crm.search: a query with neither letters nor digits finds someone");
    let lead = NewLead { phone: fx.unknown_phone.clone(), first_name: "Lead".into(), telegram_user_id: 42, at: fx.now };
    let first = answer!(broken, crm.create_lead(&lead).await, "crm.create_lead");
    let again = answer!(broken, crm.create_lead(&lead).await, "crm.create_lead (repeat)");
    expect!(broken, first == again, "crm.create_lead: the same phone gave two leads ({first:?}, {again:?})");
    broken
}

pub async fn billing(billing: &dyn Billing, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let Some(account) = answer!(broken, billing.account(&fx.customer).await, "billing.account") else {
        broken.push("billing.account: the customer has no account".into());
        return broken;
    };
    expect!(broken, account.currency.len() == 3, "billing.account: currency {:?} is not ISO 4217", account.currency);
    let none =
        answer!(broken, billing.account(&CustomerId("no-such-customer".into())).await, "billing.account (unknown)");
    expect!(broken, none.is_none(), "billing.account: an unknown customer has an account");
    let two = answer!(broken, billing.transactions(&fx.customer, 2).await, "billing.transactions");
    expect!(broken, two.len() <= 2, "billing.transactions: more than the limit");
    let all = answer!(broken, billing.transactions(&fx.customer, 100).await, "billing.transactions");
    expect!(broken, all.windows(2).all(|w| w[0].at >= w[1].at), "billing.transactions: not newest first");
    let tariffs = answer!(broken, billing.tariffs().await, "billing.tariffs");
    expect!(broken, !tariffs.is_empty(), "billing.tariffs: none");
    expect!(
        broken,
        tariffs.windows(2).all(|w| w[0].monthly_fee <= w[1].monthly_fee),
        "billing.tariffs: not cheapest first"
    );
    let options = answer!(broken, billing.tariff_options().await, "billing.tariff_options");
    expect!(broken, options.windows(2).all(|w| w[0].monthly_fee <= w[1].monthly_fee), "billing.tariff_options: order");
    if let Some(current) = &account.tariff {
        let same = SubscriptionChange::Tariff(current.code.clone());
        let quote = answer!(broken, billing.quote_change(&fx.customer, &same).await, "billing.quote_change");
        expect!(
            broken,
            quote == ChangeOutcome::Refused(ChangeRefusal::SameTariff),
            "billing.quote_change: same tariff"
        );
        if let Some(other) = tariffs.iter().find(|t| t.code != current.code) {
            let change = SubscriptionChange::Tariff(other.code.clone());
            let quote = answer!(broken, billing.quote_change(&fx.customer, &change).await, "billing.quote_change");
            expect!(broken, matches!(quote, ChangeOutcome::Done { .. }), "billing.quote_change: refused {quote:?}");
            let key = "contract-change-1";
            let first = answer!(broken, billing.apply_change(&fx.customer, &change, key).await, "billing.apply_change");
            let again = answer!(broken, billing.apply_change(&fx.customer, &change, key).await, "billing.apply_change");
            expect!(broken, first == again, "billing.apply_change: a repeated key answered {again:?} after {first:?}");
            let after = answer!(broken, billing.account(&fx.customer).await, "billing.account");
            let moved = after.and_then(|a| a.tariff).is_some_and(|t| t.code == other.code);
            expect!(broken, moved, "billing.apply_change: the account's tariff did not change");
        }
    }
    let unknown = SubscriptionChange::Tariff("no-such-tariff".into());
    let quote = answer!(broken, billing.quote_change(&fx.customer, &unknown).await, "billing.quote_change");
    expect!(broken, quote == ChangeOutcome::Refused(ChangeRefusal::Unknown), "billing.quote_change: unknown tariff");
    let link = answer!(broken, billing.payment_link(&fx.customer, Decimal::from(1000), "contract-ref-1").await, "link");
    expect!(broken, link.starts_with("https://") || link.starts_with("http://"), "billing.payment_link: not a URL");
    let title = LocalizedText([("en".to_owned(), "Top-up".to_owned())].into());
    let amount = Decimal::from(500);
    let first = answer!(broken, billing.credit_payment(&fx.customer, amount, "contract-pay-1", &title).await, "credit");
    let again = answer!(broken, billing.credit_payment(&fx.customer, amount, "contract-pay-1", &title).await, "credit");
    expect!(broken, first == Some(account.balance + amount), "billing.credit_payment: new balance {first:?}");
    expect!(broken, again.is_none(), "billing.credit_payment: the same payment was credited twice");
    broken
}

pub async fn logistics(logistics: &dyn Logistics, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let page = answer!(broken, logistics.orders(&fx.customer, 0, 2).await, "logistics.orders");
    expect!(broken, page.orders.len() <= 2, "logistics.orders: more than the limit");
    expect!(broken, page.total as usize >= page.orders.len(), "logistics.orders: total below the page");
    expect!(broken, page.orders.windows(2).all(|w| w[0].created >= w[1].created), "logistics.orders: not newest first");
    let rest = answer!(broken, logistics.orders(&fx.customer, 2, 50).await, "logistics.orders (offset)");
    let numbers: Vec<_> = page.orders.iter().chain(&rest.orders).map(|o| o.number.clone()).collect();
    expect!(broken, numbers.len() == page.total as usize, "logistics.orders: pages do not add up to the total");
    expect!(broken, numbers.contains(&fx.own_order), "logistics.orders: the customer's order is missing");
    expect!(broken, !numbers.contains(&fx.others_order), "logistics.orders: another customer's order is listed");
    let own = answer!(broken, logistics.order(&fx.customer, &fx.own_order).await, "logistics.order");
    expect!(broken, own.as_ref().is_some_and(|o| o.number == fx.own_order), "logistics.order: own order not found");
    let others = answer!(broken, logistics.order(&fx.customer, &fx.others_order).await, "logistics.order (other)");
    expect!(broken, others.is_none(), "logistics.order: another customer's order is shown");
    let unknown = answer!(broken, logistics.order(&fx.customer, "no/such?order").await, "logistics.order (unknown)");
    expect!(broken, unknown.is_none(), "logistics.order: an unknown number is found");
    let active = answer!(broken, logistics.active_orders(&fx.customer).await, "logistics.active_orders");
    expect!(broken, active.iter().all(|o| o.status.is_active()), "logistics.active_orders: a finished order");
    expect!(broken, active.iter().all(|o| numbers.contains(&o.number)), "logistics.active_orders: not the customer's");
    broken
}

pub async fn documents(documents: &dyn Documents, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let all = answer!(broken, documents.documents(&fx.customer).await, "documents.documents");
    expect!(broken, all.iter().any(|d| d.id == fx.own_document), "documents.documents: the customer's is missing");
    expect!(broken, all.iter().all(|d| d.id != fx.others_document), "documents.documents: another customer's listed");
    expect!(broken, all.windows(2).all(|w| w[0].period >= w[1].period), "documents.documents: not newest period first");
    let own = answer!(broken, documents.document(&fx.customer, &fx.own_document).await, "documents.document");
    expect!(broken, own.is_some(), "documents.document: own document not found");
    let others = answer!(broken, documents.document(&fx.customer, &fx.others_document).await, "documents.document");
    expect!(broken, others.is_none(), "documents.document: another customer's document is given");
    let file = answer!(broken, documents.file(&fx.customer, &fx.own_document).await, "documents.file");
    expect!(broken, file.is_some(), "documents.file: own document has no file nor data");
    let others = answer!(broken, documents.file(&fx.customer, &fx.others_document).await, "documents.file (other)");
    expect!(broken, others.is_none(), "documents.file: another customer's file is given");
    broken
}

pub async fn shop(shop: &dyn Shop, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let skus = [fx.sku.clone(), "NO-SUCH-SKU".to_owned()];
    let products = answer!(broken, shop.products(&skus).await, "shop.products");
    expect!(broken, products.len() == 1 && products[0].sku == fx.sku, "shop.products: {products:?}");
    // Optional: a shop that lists its catalogue lists the products it sells, once each.
    let catalogue = answer!(broken, shop.catalogue().await, "shop.catalogue");
    let mut skus: Vec<&str> = catalogue.iter().map(|p| p.sku.as_str()).collect();
    skus.sort_unstable();
    skus.dedup();
    expect!(broken, skus.len() == catalogue.len(), "shop.catalogue: a SKU listed twice");
    expect!(
        broken,
        catalogue.is_empty() || catalogue.iter().any(|p| p.sku == fx.sku),
        "shop.catalogue: the fixture's product is not listed"
    );
    let last = answer!(broken, shop.last_delivered_order(&fx.customer).await, "shop.last_delivered_order");
    expect!(broken, last.is_none_or(|o| o.status == OrderStatus::Delivered), "shop.last_delivered_order: undelivered");
    let order = NewOrder { lines: vec![(fx.sku.clone(), 1)], address: None };
    let key = "contract-order-1";
    let first = answer!(broken, shop.create_order(&fx.customer, &order, key).await, "shop.create_order");
    let again = answer!(broken, shop.create_order(&fx.customer, &order, key).await, "shop.create_order (repeat)");
    match (&first, &again) {
        (Ok(a), Ok(b)) => {
            expect!(
                broken,
                a.new && !b.new && a.number == b.number,
                "shop.create_order: a repeated key made {a:?}, {b:?}"
            )
        }
        _ => broken.push(format!("shop.create_order: refused {first:?} / {again:?}")),
    }
    let empty = NewOrder { lines: Vec::new(), address: None };
    let refused = answer!(broken, shop.create_order(&fx.customer, &empty, "contract-order-2").await, "create_order");
    expect!(broken, refused == Err(OrderRefusal::Empty), "shop.create_order: an empty order gave {refused:?}");
    let gone = NewOrder { lines: vec![("NO-SUCH-SKU".into(), 1)], address: None };
    let refused = answer!(broken, shop.create_order(&fx.customer, &gone, "contract-order-3").await, "create_order");
    expect!(
        broken,
        matches!(refused, Err(OrderRefusal::OutOfStock(_))),
        "shop.create_order: unknown SKU gave {refused:?}"
    );
    broken
}

pub async fn loyalty(loyalty: &dyn Loyalty, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let code = answer!(broken, loyalty.referral_code(&fx.customer).await, "loyalty.referral_code");
    let again = answer!(broken, loyalty.referral_code(&fx.customer).await, "loyalty.referral_code");
    expect!(broken, code == again, "loyalty.referral_code: not stable");
    expect!(broken, !code.is_empty() && code.chars().all(|c| c.is_ascii_alphanumeric()), "referral code {code:?}");
    let own = answer!(broken, loyalty.credit_referral(&code, &fx.customer).await, "loyalty.credit_referral");
    expect!(broken, own == ReferralOutcome::SelfReferral, "loyalty.credit_referral: own code gave {own:?}");
    let unknown = answer!(broken, loyalty.credit_referral("NOSUCHCODE0", &fx.other).await, "credit_referral");
    expect!(broken, unknown == ReferralOutcome::UnknownCode, "loyalty.credit_referral: unknown code gave {unknown:?}");
    let first = answer!(broken, loyalty.credit_referral(&code, &fx.other).await, "loyalty.credit_referral");
    expect!(
        broken,
        matches!(&first, ReferralOutcome::Credited { referrer, .. } if *referrer == fx.customer),
        "{first:?}"
    );
    let again = answer!(broken, loyalty.credit_referral(&code, &fx.other).await, "loyalty.credit_referral");
    expect!(broken, again == ReferralOutcome::AlreadyReferred, "loyalty.credit_referral: credited twice ({again:?})");
    let _ = answer!(broken, loyalty.offer(&fx.customer).await, "loyalty.offer");
    broken
}

pub async fn booking(booking: &dyn Booking, fx: &Fixture) -> Vec<String> {
    let mut broken = Vec::new();
    let services = answer!(broken, booking.services().await, "booking.services");
    expect!(broken, services.iter().any(|s| s.code == fx.service), "booking.services: no {:?}", fx.service);
    let staff = answer!(broken, booking.staff().await, "booking.staff");
    let known = |code: &String| services.iter().any(|s| &s.code == code);
    expect!(broken, staff.iter().all(|m| m.services.iter().all(known)), "booking.staff: provides an unknown service");
    let (from, to) = (fx.now + Duration::days(3), fx.now + Duration::days(6));
    let slots = answer!(broken, booking.free_slots(&fx.service, None, from, to).await, "booking.free_slots");
    expect!(broken, slots.windows(2).all(|w| w[0].start <= w[1].start), "booking.free_slots: not earliest first");
    expect!(broken, slots.iter().all(|s| s.start >= from && s.start < to), "booking.free_slots: outside the range");
    let Some(slot) = slots.first().cloned() else {
        broken.push("booking.free_slots: no free time in three days".into());
        return broken;
    };
    let mine = answer!(broken, booking.free_slots(&fx.service, Some(&slot.staff), from, to).await, "free_slots");
    expect!(broken, mine.iter().all(|s| s.staff == slot.staff), "booking.free_slots: another staff member's time");
    let key = "contract-booking-1";
    let first = answer!(broken, booking.book(&fx.customer, &fx.service, &slot, key).await, "booking.book");
    let again = answer!(broken, booking.book(&fx.customer, &fx.service, &slot, key).await, "booking.book (repeat)");
    let Ok(appointment) = first else {
        broken.push(format!("booking.book: a free time was refused: {first:?}"));
        return broken;
    };
    expect!(
        broken,
        again.as_ref().is_ok_and(|b| b.id == appointment.id),
        "booking.book: a repeated key gave {again:?}"
    );
    let held = answer!(broken, booking.free_slots(&fx.service, Some(&slot.staff), from, to).await, "free_slots");
    expect!(broken, !held.contains(&slot), "booking.free_slots: a booked time is still offered");
    let own = answer!(broken, booking.appointment(&fx.customer, &appointment.id).await, "booking.appointment");
    expect!(
        broken,
        own.as_ref().is_some_and(|a| a.id == appointment.id && a.start == slot.start),
        "booking.appointment: the customer's own booking gave {own:?}"
    );
    let taken =
        answer!(broken, booking.book(&fx.other, &fx.service, &slot, "contract-booking-2").await, "booking.book");
    expect!(broken, taken == Err(BookingRefusal::SlotTaken), "booking.book: a taken time gave {taken:?}");
    let past = Slot { start: fx.now - Duration::days(1), staff: slot.staff.clone() };
    let late = answer!(broken, booking.book(&fx.customer, &fx.service, &past, "contract-booking-3").await, "book");
    expect!(broken, late == Err(BookingRefusal::InPast), "booking.book: a past time gave {late:?}");
    let list = answer!(broken, booking.appointments(&fx.customer, fx.now).await, "booking.appointments");
    expect!(broken, list.iter().any(|a| a.id == appointment.id), "booking.appointments: the new one is missing");
    expect!(broken, list.windows(2).all(|w| w[0].start <= w[1].start), "booking.appointments: not earliest first");
    let others = answer!(broken, booking.appointment(&fx.customer, &fx.others_booking).await, "booking.appointment");
    expect!(broken, others.is_none(), "booking.appointment: another customer's booking is shown");
    let steal = booking.cancel(&fx.customer, &fx.others_booking).await;
    let steal = answer!(broken, steal, "booking.cancel (other)");
    expect!(
        broken,
        steal == Err(BookingRefusal::NotFound),
        "booking.cancel: another customer's booking gave {steal:?}"
    );
    let upcoming = answer!(broken, booking.upcoming(from, to).await, "booking.upcoming");
    let listed = upcoming.iter().any(|(c, a)| *c == fx.customer && a.id == appointment.id);
    expect!(broken, listed, "booking.upcoming: the new booking is missing");
    if let Some(later) = mine.iter().find(|s| s.start > slot.start).cloned() {
        let moved = answer!(broken, booking.reschedule(&fx.customer, &appointment.id, &later).await, "reschedule");
        expect!(broken, moved.as_ref().is_ok_and(|a| a.start == later.start), "booking.reschedule gave {moved:?}");
        let freed = answer!(broken, booking.free_slots(&fx.service, Some(&slot.staff), from, to).await, "free_slots");
        expect!(broken, freed.contains(&slot), "booking.reschedule: the old time was not released");
    }
    let cancelled = answer!(broken, booking.cancel(&fx.customer, &appointment.id).await, "booking.cancel");
    expect!(broken, cancelled.is_ok_and(|a| a.status == BookingStatus::Cancelled), "booking.cancel: not cancelled");
    let left = answer!(broken, booking.appointments(&fx.customer, fx.now).await, "booking.appointments");
    expect!(broken, left.iter().all(|a| a.id != appointment.id), "booking.appointments: a cancelled one is listed");
    let twice = answer!(broken, booking.cancel(&fx.customer, &appointment.id).await, "booking.cancel (again)");
    expect!(broken, twice == Err(BookingRefusal::AlreadyCancelled), "booking.cancel: twice gave {twice:?}");
    broken
}

pub async fn directory(directory: &dyn Directory) -> Vec<String> {
    let mut broken = Vec::new();
    let Some(facts) = answer!(broken, directory.business().await, "directory.business") else {
        broken.push("directory.business: no facts".into());
        return broken;
    };
    expect!(broken, !facts.name.is_empty(), "directory.business: no name");
    expect!(
        broken,
        facts.time_zone.parse::<chrono_tz::Tz>().is_ok(),
        "directory.business: time zone {}",
        facts.time_zone
    );
    let hours = crate::domain::hours::WorkingHours::parse(&facts.working_hours);
    expect!(broken, hours.is_ok(), "directory.business: working hours {:?}", facts.working_hours);
    broken
}
