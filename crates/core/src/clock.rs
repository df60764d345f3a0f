//! The clock every part of cabinet reads "now" from: the system clock in production, a fixed
//! and movable clock in the demo's replay mode and in tests.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is moved (`@now` in transcripts).
#[derive(Debug)]
pub struct FixedClock(RwLock<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(RwLock::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stands_still_until_moved() {
        let t0 = DateTime::parse_from_rfc3339("2025-01-11T10:00:00+05:00").unwrap().to_utc();
        let clock = FixedClock::new(t0);
        assert_eq!(clock.now(), t0);
        let t1 = t0 + chrono::Duration::hours(2);
        clock.set(t1);
        assert_eq!(clock.now(), t1);
    }
}
