//! The decorators that put [`Guard`] in front of every adapter trait: one per trait, each
//! method a read (retried, some cached) or a write (never retried; some drop cached free
//! times).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::guard::{Call, Guard, Kind, SLOTS_TTL};
use super::*;
use crate::domain::Phone;

/// [`Crm`] through the guard.
pub struct GuardedCrm {
    pub inner: Arc<dyn Crm>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedCrm {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "crm", method, kind }
    }
}

#[async_trait]
impl Crm for GuardedCrm {
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>> {
        self.guard.run(self.call("crm.find_by_phone", Kind::Read), || self.inner.find_by_phone(phone)).await
    }
    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>> {
        self.guard.run(self.call("crm.profile", Kind::Read), || self.inner.profile(id)).await
    }
    async fn search(&self, query: &str, limit: u32) -> AdapterResult<Vec<CustomerProfile>> {
        self.guard.run(self.call("crm.search", Kind::Read), || self.inner.search(query, limit)).await
    }
    async fn create_lead(&self, lead: &NewLead) -> AdapterResult<Option<String>> {
        self.guard.run(self.call("crm.create_lead", Kind::Write), || self.inner.create_lead(lead)).await
    }
    async fn add_note(&self, id: &CustomerId, text: &str) -> AdapterResult<bool> {
        self.guard.run(self.call("crm.add_note", Kind::Write), || self.inner.add_note(id, text)).await
    }
}

/// [`Billing`] through the guard.
pub struct GuardedBilling {
    pub inner: Arc<dyn Billing>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedBilling {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "billing", method, kind }
    }
}

#[async_trait]
impl Billing for GuardedBilling {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>> {
        self.guard.run(self.call("billing.account", Kind::Read), || self.inner.account(id)).await
    }
    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>> {
        self.guard.run(self.call("billing.transactions", Kind::Read), || self.inner.transactions(id, limit)).await
    }
    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
        self.guard
            .cached(self.call("billing.tariffs", Kind::Read), "", self.guard.settings().cache_ttl, || {
                self.inner.tariffs()
            })
            .await
    }
    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
        self.guard
            .cached(self.call("billing.tariff_options", Kind::Read), "", self.guard.settings().cache_ttl, || {
                self.inner.tariff_options()
            })
            .await
    }
    async fn quote_change(&self, id: &CustomerId, change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
        self.guard.run(self.call("billing.quote_change", Kind::Read), || self.inner.quote_change(id, change)).await
    }
    async fn apply_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        self.guard
            .run(self.call("billing.apply_change", Kind::Write), || {
                self.inner.apply_change(id, change, idempotency_key)
            })
            .await
    }
    async fn payment_link(&self, id: &CustomerId, amount: Decimal, reference: &str) -> AdapterResult<String> {
        self.guard
            .run(self.call("billing.payment_link", Kind::Write), || self.inner.payment_link(id, amount, reference))
            .await
    }
    async fn credit_payment(
        &self,
        id: &CustomerId,
        amount: Decimal,
        payment_id: &str,
        title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        self.guard
            .run(self.call("billing.credit_payment", Kind::Write), || {
                self.inner.credit_payment(id, amount, payment_id, title)
            })
            .await
    }
}

/// [`Documents`] through the guard.
pub struct GuardedDocuments {
    pub inner: Arc<dyn Documents>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedDocuments {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "documents", method, kind }
    }
}

#[async_trait]
impl Documents for GuardedDocuments {
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<DocumentInfo>> {
        self.guard.run(self.call("documents.documents", Kind::Read), || self.inner.documents(id)).await
    }
    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentInfo>> {
        self.guard.run(self.call("documents.document", Kind::Read), || self.inner.document(id, doc_id)).await
    }
    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentFile>> {
        self.guard.run(self.call("documents.file", Kind::Read), || self.inner.file(id, doc_id)).await
    }
}

/// [`Shop`] through the guard.
pub struct GuardedShop {
    pub inner: Arc<dyn Shop>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedShop {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "shop", method, kind }
    }
}

#[async_trait]
impl Shop for GuardedShop {
    async fn products(&self, skus: &[String]) -> AdapterResult<Vec<Product>> {
        self.guard.run(self.call("shop.products", Kind::Read), || self.inner.products(skus)).await
    }
    async fn catalogue(&self) -> AdapterResult<Vec<Product>> {
        self.guard.run(self.call("shop.catalogue", Kind::Read), || self.inner.catalogue()).await
    }
    async fn last_delivered_order(&self, id: &CustomerId) -> AdapterResult<Option<Order>> {
        self.guard.run(self.call("shop.last_delivered_order", Kind::Read), || self.inner.last_delivered_order(id)).await
    }
    async fn create_order(
        &self,
        id: &CustomerId,
        order: &NewOrder,
        idempotency_key: &str,
    ) -> AdapterResult<Result<CreatedOrder, OrderRefusal>> {
        self.guard
            .run(self.call("shop.create_order", Kind::Write), || self.inner.create_order(id, order, idempotency_key))
            .await
    }
}

/// [`Loyalty`] through the guard.
pub struct GuardedLoyalty {
    pub inner: Arc<dyn Loyalty>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedLoyalty {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "loyalty", method, kind }
    }
}

#[async_trait]
impl Loyalty for GuardedLoyalty {
    async fn offer(&self, id: &CustomerId) -> AdapterResult<Option<Offer>> {
        self.guard.run(self.call("loyalty.offer", Kind::Read), || self.inner.offer(id)).await
    }
    async fn referral_code(&self, id: &CustomerId) -> AdapterResult<String> {
        self.guard.run(self.call("loyalty.referral_code", Kind::Read), || self.inner.referral_code(id)).await
    }
    async fn credit_referral(&self, code: &str, referred: &CustomerId) -> AdapterResult<ReferralOutcome> {
        self.guard
            .run(self.call("loyalty.credit_referral", Kind::Write), || self.inner.credit_referral(code, referred))
            .await
    }
}

/// [`Logistics`] through the guard.
pub struct GuardedLogistics {
    pub inner: Arc<dyn Logistics>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedLogistics {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "logistics", method, kind }
    }
}

#[async_trait]
impl Logistics for GuardedLogistics {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        self.guard.run(self.call("logistics.orders", Kind::Read), || self.inner.orders(id, offset, limit)).await
    }
    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        self.guard.run(self.call("logistics.active_orders", Kind::Read), || self.inner.active_orders(id)).await
    }
    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        self.guard.run(self.call("logistics.order", Kind::Read), || self.inner.order(id, number)).await
    }
    async fn cancel_order(&self, id: &CustomerId, number: &str) -> AdapterResult<OrderCancellation> {
        self.guard.run(self.call("logistics.cancel_order", Kind::Write), || self.inner.cancel_order(id, number)).await
    }
}

/// [`Booking`] through the guard.
pub struct GuardedBooking {
    pub inner: Arc<dyn Booking>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

impl GuardedBooking {
    fn call(&self, method: &'static str, kind: Kind) -> Call<'_> {
        Call { backend: &self.backend, capability: "booking", method, kind }
    }
}

#[async_trait]
impl Booking for GuardedBooking {
    async fn services(&self) -> AdapterResult<Vec<Service>> {
        self.guard
            .cached(self.call("booking.services", Kind::Read), "", self.guard.settings().cache_ttl, || {
                self.inner.services()
            })
            .await
    }
    async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
        self.guard
            .cached(self.call("booking.staff", Kind::Read), "", self.guard.settings().cache_ttl, || self.inner.staff())
            .await
    }
    async fn preferred_staff(&self, id: &CustomerId) -> AdapterResult<Option<String>> {
        self.guard.run(self.call("booking.preferred_staff", Kind::Read), || self.inner.preferred_staff(id)).await
    }
    async fn free_slots(
        &self,
        service: &str,
        staff: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<Vec<Slot>> {
        self.guard
            .cached(
                self.call("booking.free_slots", Kind::Read),
                &format!("{service}/{}/{}/{}", staff.unwrap_or("*"), from.timestamp(), to.timestamp()),
                SLOTS_TTL,
                || self.inner.free_slots(service, staff, from, to),
            )
            .await
    }
    async fn book(
        &self,
        id: &CustomerId,
        service: &str,
        slot: &Slot,
        idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let result = self
            .guard
            .run(self.call("booking.book", Kind::Write), || self.inner.book(id, service, slot, idempotency_key))
            .await;
        self.guard.invalidate(&self.backend, "booking.free_slots");
        result
    }
    async fn appointments(&self, id: &CustomerId, from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>> {
        self.guard.run(self.call("booking.appointments", Kind::Read), || self.inner.appointments(id, from)).await
    }
    async fn appointment(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Appointment>> {
        self.guard.run(self.call("booking.appointment", Kind::Read), || self.inner.appointment(id, booking_id)).await
    }
    async fn reschedule(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let result = self
            .guard
            .run(self.call("booking.reschedule", Kind::Write), || self.inner.reschedule(id, booking_id, slot))
            .await;
        self.guard.invalidate(&self.backend, "booking.free_slots");
        result
    }
    async fn cancel(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let result =
            self.guard.run(self.call("booking.cancel", Kind::Write), || self.inner.cancel(id, booking_id)).await;
        self.guard.invalidate(&self.backend, "booking.free_slots");
        result
    }
    async fn upcoming(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
        self.guard.run(self.call("booking.upcoming", Kind::Read), || self.inner.upcoming(from, to)).await
    }
}

/// [`Directory`] through the guard.
pub struct GuardedDirectory {
    pub inner: Arc<dyn Directory>,
    pub guard: Arc<Guard>,
    pub backend: String,
}

#[async_trait]
impl Directory for GuardedDirectory {
    async fn business(&self) -> AdapterResult<Option<BusinessInfo>> {
        let call =
            Call { backend: &self.backend, capability: "directory", method: "directory.business", kind: Kind::Read };
        self.guard.cached(call, "", self.guard.settings().cache_ttl, || self.inner.business()).await
    }
}
