//! The built-in adapter: the business's data kept in cabinet's own database (filled by
//! `cabinet import` or the events API).
//! (Stub interface: the full implementation replaces this.)

use async_trait::async_trait;

use super::*;
use crate::store::Store;

/// CRM, billing and logistics over the store.
#[derive(Clone)]
pub struct Builtin {
    pub store: Store,
}

impl Builtin {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// All three traits, as [`Adapters`] with the given timeout.
    pub fn adapters(self, timeout: Duration) -> Adapters {
        let me = Arc::new(self);
        Adapters { crm: me.clone(), billing: me.clone(), logistics: me, timeout }
    }
}

#[async_trait]
impl Crm for Builtin {
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>> {
        todo!("{phone}")
    }
    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>> {
        todo!("{id}")
    }
}

#[async_trait]
impl Billing for Builtin {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>> {
        todo!("{id}")
    }
    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>> {
        todo!("{id} {limit}")
    }
}

#[async_trait]
impl Logistics for Builtin {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        todo!("{id} {offset} {limit}")
    }
    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        todo!("{id}")
    }
    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        todo!("{id} {number}")
    }
}
