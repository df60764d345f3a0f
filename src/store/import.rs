//! Business data sets in the demo JSON format (`demo/demo-business.json`): their serde types
//! and an idempotent import into the built-in adapter's tables.
//! (Stub interface: the full implementation replaces this.)

use chrono::{Duration, NaiveDateTime};
use serde::Deserialize;

use super::{Store, StoreResult};

/// The demo data set compiled into the binary.
pub const DEMO_JSON: &str = include_str!("../../demo/demo-business.json");

/// A whole business data set.
#[derive(Debug, Clone, Deserialize)]
pub struct BusinessData {
    pub business: BusinessInfo,
    // … tariffs, tariff_options, catalog, services, staff, free_slots, customers
}

#[derive(Debug, Clone, Deserialize)]
pub struct BusinessInfo {
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub default_locale: String,
    pub demo_now: Option<String>,
}

impl BusinessData {
    /// Parses and validates a data set (phones in E.164, money as decimal strings, known
    /// codes in references); errors name the offending path ("customers[1].phone").
    pub fn parse(json: &str) -> Result<BusinessData, String> {
        todo!("{}", json.len())
    }
    pub fn demo() -> BusinessData {
        Self::parse(DEMO_JSON).expect("the embedded demo data set is valid")
    }
    /// `business.demo_now` as a local time, if given.
    pub fn demo_now(&self) -> Option<NaiveDateTime> {
        todo!()
    }
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
}

/// Loads `data` into the store, every date moved by `shift` (zero on the fixed demo clock;
/// `today - demo_day` with the real clock). Upserts by natural keys in one transaction:
/// importing twice changes nothing.
pub async fn import(store: &Store, data: &BusinessData, shift: Duration) -> StoreResult<ImportReport> {
    todo!("{store:?} {} {shift}", data.business.name)
}
