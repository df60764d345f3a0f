//! The one wrapper every adapter call goes through: a timeout, retries with backoff for
//! reads, a circuit breaker per backend and capability, a short cache for lists that change
//! rarely, and metrics per backend and method.
//!
//! [`Adapters::guarded`](super::Adapters::guarded) puts a decorator (`GuardedBilling`, …)
//! in front of every trait object; `app::build_ctx` does it for every bot, so handlers call
//! the traits directly and cannot forget any of this.
//!
//! - **Timeout**: `bot.adapter_timeout_ms` bounds the whole call, retries included, so a
//!   customer never waits longer than that.
//! - **Retries**: reads only (writes may have been applied before the answer was lost), on
//!   [`AdapterError::Timeout`] and [`AdapterError::Unavailable`]; `retries` at most, after
//!   100 ms, then 200 ms (doubling, at most 400 ms), each with up to as much again of jitter.
//! - **Breaker**: `breaker_failures` calls in a row that fail with a timeout or an outage open
//!   it for `breaker_cooldown`; while open, calls fail at once with
//!   [`AdapterError::CircuitOpen`] and reach no backend. After the cool-down one trial call
//!   goes through (half-open): its success closes the breaker, its failure opens it again.
//! - **Cache**: only the lists of tariffs, options, services and staff (for `cache_ttl`) and
//!   free times (at most [`SLOTS_TTL`], dropped on every booking, move and cancellation made
//!   through this guard). Balances, orders, appointments and documents are never cached.
//! - **Metrics** through the `metrics` facade (a no-op until an exporter is installed):
//!   `cabinet_adapter_calls_total{backend,method,outcome}`,
//!   `cabinet_adapter_retries_total{backend,method}`,
//!   `cabinet_adapter_cache_hits_total{backend,method}`,
//!   `cabinet_adapter_call_seconds{backend,method}` (histogram) and
//!   `cabinet_adapter_breaker_state{backend,capability}` (0 closed, 1 open, 2 half-open);
//!   [`Guard::stats`] and [`Guard::breaker`] give the same counts to tests.
//!
//! The breaker and the cache read the injected clock; timeouts and backoff use tokio's time.

use std::{
    any::Any,
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};

use super::{AdapterError, AdapterResult};
use crate::{clock::SharedClock, config::Config};

/// Free times are cached for at most this long, whatever `cache_ttl` is.
pub const SLOTS_TTL: chrono::Duration = chrono::Duration::seconds(10);

/// Cache entries kept at most; past this the cache is emptied (it is refilled on demand).
const CACHE_CAPACITY: usize = 1000;

/// How the guard treats calls.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// The most a call may take, retries included.
    pub timeout: Duration,
    /// Retries of a failed read at most.
    pub retries: usize,
    /// The first backoff; it doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Failed calls in a row that open a breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls.
    pub breaker_cooldown: chrono::Duration,
    /// How long a cached list is served (zero: no cache).
    pub cache_ttl: chrono::Duration,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(3000),
            retries: 2,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_millis(400),
            breaker_failures: 5,
            breaker_cooldown: chrono::Duration::seconds(30),
            cache_ttl: chrono::Duration::seconds(60),
        }
    }
}

impl GuardSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            timeout: Duration::from_millis(config.bot.adapter_timeout_ms),
            retries: config.adapters.retries as usize,
            breaker_failures: config.adapters.breaker_failures,
            breaker_cooldown: chrono::Duration::seconds(i64::from(config.adapters.breaker_cooldown_seconds)),
            cache_ttl: chrono::Duration::seconds(i64::from(config.adapters.cache_seconds)),
            ..Self::default()
        }
    }
}

/// Whether a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Changes nothing: retried on a timeout or an outage.
    Read,
    /// Changes something: never retried.
    Write,
}

/// A breaker's state as the metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// The cool-down is over: the next call is a trial.
    HalfOpen,
}

impl BreakerState {
    fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::Open => 1.0,
            BreakerState::HalfOpen => 2.0,
        }
    }
}

#[derive(Debug, Default)]
struct Breaker {
    /// Failed calls in a row while closed.
    failures: u32,
    /// Open until then (the cool-down's end), if opened.
    open_until: Option<DateTime<Utc>>,
    /// When the half-open trial call started, while it runs. A trial that never reports (its
    /// caller went away) lets another through after one more cool-down.
    trial_since: Option<DateTime<Utc>>,
}

impl Breaker {
    fn state(&self, now: DateTime<Utc>) -> BreakerState {
        match self.open_until {
            None => BreakerState::Closed,
            Some(until) if now < until => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may go through now.
    fn admit(&mut self, now: DateTime<Utc>, cooldown: chrono::Duration) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => match self.trial_since {
                Some(since) if now < since + cooldown => false,
                _ => {
                    self.trial_since = Some(now);
                    true
                }
            },
        }
    }

    /// Records a call's end: `failed` is a timeout or an outage.
    fn record(&mut self, failed: bool, now: DateTime<Utc>, settings: &GuardSettings) {
        if !failed {
            *self = Breaker::default();
            return;
        }
        if self.open_until.is_some() {
            // The trial failed (or a call admitted before the breaker opened): open again.
            self.open_until = Some(now + settings.breaker_cooldown);
            self.trial_since = None;
            return;
        }
        self.failures += 1;
        if self.failures >= settings.breaker_failures {
            tracing::warn!(failures = self.failures, "an adapter's circuit breaker opens");
            self.failures = 0;
            self.open_until = Some(now + settings.breaker_cooldown);
        }
    }
}

/// What the guard counted for one backend and method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodStats {
    /// Calls made (each counts once, however many attempts it took).
    pub calls: u64,
    pub ok: u64,
    /// Failed calls by kind: "timeout", "unavailable", "invalid", "circuit_open".
    pub errors: BTreeMap<&'static str, u64>,
    /// Attempts repeated after a failure.
    pub retries: u64,
    /// Calls answered from the cache.
    pub cache_hits: u64,
}

struct CacheEntry {
    stored: DateTime<Utc>,
    ttl: chrono::Duration,
    value: Box<dyn Any + Send + Sync>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, CacheEntry>,
    /// Bumped by every invalidation: a read that started before one does not store its answer.
    generation: u64,
}

/// The state shared by every decorator of one bot: breakers, cache and counts.
pub struct Guard {
    settings: GuardSettings,
    clock: SharedClock,
    breakers: Mutex<HashMap<String, Breaker>>,
    stats: Mutex<HashMap<(String, &'static str), MethodStats>>,
    cache: Mutex<Cache>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn error_kind(e: &AdapterError) -> &'static str {
    match e {
        AdapterError::Timeout => "timeout",
        AdapterError::Unavailable(_) => "unavailable",
        AdapterError::Invalid(_) => "invalid",
        AdapterError::CircuitOpen => "circuit_open",
    }
}

/// A timeout or an outage: worth a retry, and a failure for the breaker.
fn is_transient(e: &AdapterError) -> bool {
    matches!(e, AdapterError::Timeout | AdapterError::Unavailable(_))
}

/// One call as the guard sees it: `capability` ("billing") names its breaker, `method`
/// ("billing.account") its metrics.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub backend: &'a str,
    pub capability: &'static str,
    pub method: &'static str,
    pub kind: Kind,
}

impl Guard {
    pub fn new(settings: GuardSettings, clock: SharedClock) -> Arc<Guard> {
        Arc::new(Guard {
            settings,
            clock,
            breakers: Mutex::default(),
            stats: Mutex::default(),
            cache: Mutex::default(),
        })
    }

    pub fn settings(&self) -> &GuardSettings {
        &self.settings
    }

    /// What was counted for `method` ("billing.account") of `backend`.
    pub fn stats(&self, backend: &str, method: &'static str) -> MethodStats {
        lock(&self.stats).get(&(backend.to_owned(), method)).cloned().unwrap_or_default()
    }

    /// The state of the breaker of `capability` ("billing") of `backend`.
    pub fn breaker(&self, backend: &str, capability: &str) -> BreakerState {
        let now = self.clock.now();
        lock(&self.breakers).get(&format!("{backend}/{capability}")).map_or(BreakerState::Closed, |b| b.state(now))
    }

    fn count(&self, call: &Call<'_>, update: impl FnOnce(&mut MethodStats)) {
        update(lock(&self.stats).entry((call.backend.to_owned(), call.method)).or_default());
    }

    fn publish_breaker(&self, call: &Call<'_>, state: BreakerState) {
        metrics::gauge!("cabinet_adapter_breaker_state", "backend" => call.backend.to_owned(), "capability" => call.capability)
            .set(state.gauge());
    }

    /// Runs `attempt` (called again for each retry of a read) through the breaker, the
    /// timeout and the retries.
    pub async fn run<T, F, Fut>(&self, call: Call<'_>, attempt: F) -> AdapterResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = AdapterResult<T>>,
    {
        let key = format!("{}/{}", call.backend, call.capability);
        let admitted = {
            let now = self.clock.now();
            let mut breakers = lock(&self.breakers);
            let breaker = breakers.entry(key.clone()).or_default();
            let admitted = breaker.admit(now, self.settings.breaker_cooldown);
            self.publish_breaker(&call, breaker.state(now));
            admitted
        };
        let started = tokio::time::Instant::now();
        let result = if admitted { self.attempts(&call, attempt).await } else { Err(AdapterError::CircuitOpen) };
        if admitted {
            let now = self.clock.now();
            let failed = result.as_ref().err().is_some_and(is_transient);
            let mut breakers = lock(&self.breakers);
            let breaker = breakers.entry(key).or_default();
            breaker.record(failed, now, &self.settings);
            self.publish_breaker(&call, breaker.state(now));
        }
        let outcome = result.as_ref().err().map_or("ok", error_kind);
        let labels = [("backend", call.backend.to_owned()), ("method", call.method.to_owned())];
        metrics::histogram!("cabinet_adapter_call_seconds", &labels).record(started.elapsed().as_secs_f64());
        metrics::counter!("cabinet_adapter_calls_total", "backend" => call.backend.to_owned(), "method" => call.method, "outcome" => outcome)
            .increment(1);
        self.count(&call, |s| {
            s.calls += 1;
            match &result {
                Ok(_) => s.ok += 1,
                Err(e) => *s.errors.entry(error_kind(e)).or_default() += 1,
            }
        });
        result
    }

    async fn attempts<T, F, Fut>(&self, call: &Call<'_>, attempt: F) -> AdapterResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = AdapterResult<T>>,
    {
        let attempts = async {
            match call.kind {
                Kind::Write => {
                    let mut attempt = attempt;
                    attempt().await
                }
                Kind::Read => {
                    let backoff = ExponentialBuilder::default()
                        .with_min_delay(self.settings.backoff_min)
                        .with_max_delay(self.settings.backoff_max)
                        .with_max_times(self.settings.retries)
                        .with_jitter();
                    attempt
                        .retry(backoff)
                        .sleep(tokio::time::sleep)
                        .when(is_transient)
                        .notify(|e, delay| {
                            tracing::debug!(method = call.method, error = %e, ?delay, "retrying an adapter call");
                            metrics::counter!("cabinet_adapter_retries_total", "backend" => call.backend.to_owned(), "method" => call.method)
                                .increment(1);
                            self.count(call, |s| s.retries += 1);
                        })
                        .await
                }
            }
        };
        tokio::time::timeout(self.settings.timeout, attempts).await.unwrap_or(Err(AdapterError::Timeout))
    }

    /// A read answered from the cache for `ttl` (capped by the configured one), keyed by
    /// `key` within the method.
    pub async fn cached<T, F, Fut>(
        &self,
        call: Call<'_>,
        key: &str,
        ttl: chrono::Duration,
        attempt: F,
    ) -> AdapterResult<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnMut() -> Fut,
        Fut: Future<Output = AdapterResult<T>>,
    {
        let ttl = ttl.min(self.settings.cache_ttl);
        if ttl <= chrono::Duration::zero() {
            return self.run(call, attempt).await;
        }
        let full_key = format!("{}/{}/{key}", call.backend, call.method);
        let generation = {
            let now = self.clock.now();
            let cache = lock(&self.cache);
            if let Some(entry) = cache.entries.get(&full_key)
                && now >= entry.stored
                && now < entry.stored + entry.ttl
                && let Some(value) = entry.value.downcast_ref::<T>()
            {
                let value = value.clone();
                drop(cache);
                metrics::counter!("cabinet_adapter_cache_hits_total", "backend" => call.backend.to_owned(), "method" => call.method)
                    .increment(1);
                self.count(&call, |s| s.cache_hits += 1);
                return Ok(value);
            }
            cache.generation
        };
        let value = self.run(call, attempt).await?;
        let now = self.clock.now();
        let mut cache = lock(&self.cache);
        if cache.generation == generation {
            if cache.entries.len() >= CACHE_CAPACITY {
                cache.entries.retain(|_, e| now >= e.stored && now < e.stored + e.ttl);
                if cache.entries.len() >= CACHE_CAPACITY {
                    cache.entries.clear();
                }
            }
            cache.entries.insert(full_key, CacheEntry { stored: now, ttl, value: Box::new(value.clone()) });
        }
        Ok(value)
    }

    /// Drops what is cached for `method` ("booking.free_slots") of `backend`.
    pub fn invalidate(&self, backend: &str, method: &str) {
        let prefix = format!("{backend}/{method}/");
        let mut cache = lock(&self.cache);
        cache.generation += 1;
        cache.entries.retain(|k, _| !k.starts_with(&prefix));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use rust_decimal::Decimal;

    use super::*;
    use crate::adapters::*;
    use crate::clock::FixedClock;

    /// A backend that fails its first `fail` calls (with `error`), optionally takes 30 s per
    /// call, and counts the calls of each method.
    struct Fake {
        fail: AtomicUsize,
        error: AdapterError,
        slow: bool,
        calls: Mutex<HashMap<&'static str, usize>>,
    }

    impl Fake {
        fn new(fail: usize, error: AdapterError) -> Arc<Fake> {
            Arc::new(Fake { fail: AtomicUsize::new(fail), error, slow: false, calls: Mutex::default() })
        }

        fn calls(&self, method: &'static str) -> usize {
            lock(&self.calls).get(method).copied().unwrap_or(0)
        }

        fn heal(&self) {
            self.fail.store(0, Ordering::SeqCst);
        }

        async fn answer<T>(&self, method: &'static str, value: T) -> AdapterResult<T> {
            *lock(&self.calls).entry(method).or_default() += 1;
            if self.slow {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            let failing = self.fail.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            if failing { Err(self.error.clone()) } else { Ok(value) }
        }
    }

    fn account() -> Account {
        Account {
            balance: Decimal::new(1500, 0),
            currency: "KZT".into(),
            bonus_points: 0,
            tariff: None,
            options: vec![],
            next_charge: None,
            daily_charge: None,
            card_mask: None,
            paused: false,
        }
    }

    fn done() -> ChangeOutcome {
        ChangeOutcome::Done { monthly_fee: Decimal::ZERO, effective: NaiveDate::MIN, currency: "KZT".into() }
    }

    #[async_trait]
    impl Billing for Fake {
        async fn account(&self, _id: &CustomerId) -> AdapterResult<Option<Account>> {
            self.answer("account", Some(account())).await
        }
        async fn transactions(&self, _id: &CustomerId, _limit: u32) -> AdapterResult<Vec<Transaction>> {
            self.answer("transactions", vec![]).await
        }
        async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
            let tariff = Tariff { code: "basic".into(), name: LocalizedText::default(), monthly_fee: Decimal::TEN };
            self.answer("tariffs", vec![tariff]).await
        }
        async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
            self.answer("tariff_options", vec![]).await
        }
        async fn quote_change(&self, _id: &CustomerId, _change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
            self.answer("quote_change", done()).await
        }
        async fn apply_change(
            &self,
            _id: &CustomerId,
            _change: &SubscriptionChange,
            _key: &str,
        ) -> AdapterResult<ChangeOutcome> {
            self.answer("apply_change", done()).await
        }
        async fn payment_link(&self, _id: &CustomerId, _amount: Decimal, _reference: &str) -> AdapterResult<String> {
            self.answer("payment_link", String::new()).await
        }
        async fn credit_payment(
            &self,
            _id: &CustomerId,
            _amount: Decimal,
            _payment_id: &str,
            _title: &LocalizedText,
        ) -> AdapterResult<Option<Decimal>> {
            self.answer("credit_payment", None).await
        }
    }

    fn slot(at: DateTime<Utc>) -> Slot {
        Slot { start: at, staff: "anna".into() }
    }

    fn appointment(at: DateTime<Utc>) -> Appointment {
        Appointment {
            id: "B1".into(),
            service: "haircut".into(),
            staff: "anna".into(),
            start: at,
            duration_min: 60,
            status: BookingStatus::Confirmed,
        }
    }

    #[async_trait]
    impl Booking for Fake {
        async fn services(&self) -> AdapterResult<Vec<Service>> {
            self.answer("services", vec![]).await
        }
        async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
            self.answer("staff", vec![]).await
        }
        async fn preferred_staff(&self, _id: &CustomerId) -> AdapterResult<Option<String>> {
            self.answer("preferred_staff", None).await
        }
        async fn free_slots(
            &self,
            _service: &str,
            _staff: Option<&str>,
            from: DateTime<Utc>,
            _to: DateTime<Utc>,
        ) -> AdapterResult<Vec<Slot>> {
            self.answer("free_slots", vec![slot(from)]).await
        }
        async fn book(
            &self,
            _id: &CustomerId,
            _service: &str,
            slot: &Slot,
            _key: &str,
        ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
            self.answer("book", Ok(appointment(slot.start))).await
        }
        async fn appointments(&self, _id: &CustomerId, _from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>> {
            self.answer("appointments", vec![]).await
        }
        async fn appointment(&self, _id: &CustomerId, _booking_id: &str) -> AdapterResult<Option<Appointment>> {
            self.answer("appointment", None).await
        }
        async fn reschedule(
            &self,
            _id: &CustomerId,
            _booking_id: &str,
            slot: &Slot,
        ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
            self.answer("reschedule", Ok(appointment(slot.start))).await
        }
        async fn cancel(
            &self,
            _id: &CustomerId,
            _booking_id: &str,
        ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
            self.answer("cancel", Err(BookingRefusal::NotFound)).await
        }
        async fn upcoming(
            &self,
            _from: DateTime<Utc>,
            _to: DateTime<Utc>,
        ) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
            self.answer("upcoming", vec![]).await
        }
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-11T10:00:00+05:00").unwrap().to_utc()
    }

    struct Setup {
        fake: Arc<Fake>,
        clock: Arc<FixedClock>,
        guard: Arc<Guard>,
        billing: crate::adapters::guarded::GuardedBilling,
        booking: crate::adapters::guarded::GuardedBooking,
    }

    fn setup(fake: Arc<Fake>, settings: GuardSettings) -> Setup {
        let clock = FixedClock::new(t0());
        let guard = Guard::new(settings, clock.clone());
        let billing = crate::adapters::guarded::GuardedBilling {
            inner: fake.clone(),
            guard: guard.clone(),
            backend: "fake".into(),
        };
        let booking = crate::adapters::guarded::GuardedBooking {
            inner: fake.clone(),
            guard: guard.clone(),
            backend: "fake".into(),
        };
        Setup { fake, clock, guard, billing, booking }
    }

    fn unavailable() -> AdapterError {
        AdapterError::Unavailable("connection refused".into())
    }

    fn c1() -> CustomerId {
        CustomerId("C1".into())
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_read_is_retried_with_backoff_and_succeeds() {
        let s = setup(Fake::new(2, unavailable()), GuardSettings::default());
        let started = tokio::time::Instant::now();
        let account = s.billing.account(&c1()).await.unwrap();
        assert_eq!(account.map(|a| a.balance), Some(Decimal::new(1500, 0)));
        assert_eq!(s.fake.calls("account"), 3);
        // 100 ms and 200 ms of backoff, each with at most as much again of jitter.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited <= Duration::from_millis(600), "{waited:?}");
        let stats = s.guard.stats("fake", "billing.account");
        assert_eq!((stats.calls, stats.ok, stats.retries), (1, 1, 2));
        assert!(stats.errors.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_gives_up_after_its_retries_and_an_invalid_answer_is_not_retried() {
        let s = setup(Fake::new(usize::MAX, unavailable()), GuardSettings::default());
        assert!(matches!(s.billing.transactions(&c1(), 5).await, Err(AdapterError::Unavailable(_))));
        assert_eq!(s.fake.calls("transactions"), 3);
        assert_eq!(s.guard.stats("fake", "billing.transactions").errors.get("unavailable"), Some(&1));

        let s = setup(Fake::new(1, AdapterError::Invalid("bad JSON".into())), GuardSettings::default());
        assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::Invalid(_))));
        assert_eq!(s.fake.calls("account"), 1);
        assert_eq!(s.guard.stats("fake", "billing.account").errors.get("invalid"), Some(&1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_write_is_not_retried() {
        let s = setup(Fake::new(1, unavailable()), GuardSettings::default());
        let change = SubscriptionChange::Pause;
        assert!(matches!(s.billing.apply_change(&c1(), &change, "k1").await, Err(AdapterError::Unavailable(_))));
        assert_eq!(s.fake.calls("apply_change"), 1);
        let stats = s.guard.stats("fake", "billing.apply_change");
        assert_eq!((stats.calls, stats.retries), (1, 0));
        assert_eq!(stats.errors.get("unavailable"), Some(&1));
        assert!(matches!(
            s.billing.credit_payment(&c1(), Decimal::TEN, "p1", &LocalizedText::default()).await,
            Ok(None)
        ));
        assert_eq!(s.fake.calls("credit_payment"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_times_out_once_for_all_its_attempts() {
        let fake =
            Arc::new(Fake { fail: AtomicUsize::new(0), error: unavailable(), slow: true, calls: Mutex::default() });
        let s = setup(fake, GuardSettings::default());
        let started = tokio::time::Instant::now();
        assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::Timeout)));
        assert_eq!(started.elapsed(), s.guard.settings().timeout);
        assert_eq!(s.fake.calls("account"), 1);
        assert_eq!(s.guard.stats("fake", "billing.account").errors.get("timeout"), Some(&1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_breaker_opens_answers_at_once_half_opens_after_the_cooldown_and_closes_on_success() {
        let settings = GuardSettings { retries: 0, breaker_failures: 3, ..GuardSettings::default() };
        let s = setup(Fake::new(usize::MAX, unavailable()), settings);
        for _ in 0..3 {
            assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::Unavailable(_))));
        }
        assert_eq!(s.guard.breaker("fake", "billing"), BreakerState::Open);
        // Open: answered at once, the backend is not asked, writes included.
        let started = tokio::time::Instant::now();
        assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::CircuitOpen)));
        assert!(matches!(s.billing.payment_link(&c1(), Decimal::TEN, "r").await, Err(AdapterError::CircuitOpen)));
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(s.fake.calls("account"), 3);
        assert_eq!(s.fake.calls("payment_link"), 0);
        assert_eq!(s.guard.stats("fake", "billing.account").errors.get("circuit_open"), Some(&1));
        // Another capability of the same backend has its own breaker.
        assert_eq!(s.guard.breaker("fake", "booking"), BreakerState::Closed);

        // After the cool-down a failing trial opens it again for another cool-down.
        s.clock.set(t0() + chrono::Duration::seconds(30));
        assert_eq!(s.guard.breaker("fake", "billing"), BreakerState::HalfOpen);
        assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::Unavailable(_))));
        assert_eq!(s.fake.calls("account"), 4);
        assert_eq!(s.guard.breaker("fake", "billing"), BreakerState::Open);
        assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::CircuitOpen)));
        assert_eq!(s.fake.calls("account"), 4);

        // The system recovers: the next trial succeeds and closes the breaker.
        s.fake.heal();
        s.clock.set(t0() + chrono::Duration::seconds(60));
        assert!(s.billing.account(&c1()).await.unwrap().is_some());
        assert_eq!(s.guard.breaker("fake", "billing"), BreakerState::Closed);
        assert!(s.billing.account(&c1()).await.unwrap().is_some());
        assert_eq!(s.fake.calls("account"), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn while_half_open_only_one_trial_goes_through() {
        let settings = GuardSettings { retries: 0, breaker_failures: 1, ..GuardSettings::default() };
        let fake =
            Arc::new(Fake { fail: AtomicUsize::new(1), error: unavailable(), slow: true, calls: Mutex::default() });
        let s = setup(fake, settings);
        assert!(matches!(s.billing.account(&c1()).await, Err(AdapterError::Timeout)));
        s.clock.set(t0() + chrono::Duration::seconds(30));
        let id = c1();
        let (trial, other) = tokio::join!(s.billing.account(&id), async {
            tokio::task::yield_now().await;
            s.billing.account(&id).await
        });
        assert!(matches!(trial, Err(AdapterError::Timeout)), "{trial:?}");
        assert!(matches!(other, Err(AdapterError::CircuitOpen)), "{other:?}");
        assert_eq!(s.fake.calls("account"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn lists_are_served_from_the_cache_until_they_expire() {
        let s = setup(Fake::new(0, unavailable()), GuardSettings::default());
        let first = s.billing.tariffs().await.unwrap();
        assert_eq!(s.billing.tariffs().await.unwrap(), first);
        assert_eq!(s.fake.calls("tariffs"), 1);
        let stats = s.guard.stats("fake", "billing.tariffs");
        assert_eq!((stats.calls, stats.cache_hits), (1, 1));
        // Balances are never cached.
        s.billing.account(&c1()).await.unwrap();
        s.billing.account(&c1()).await.unwrap();
        assert_eq!(s.fake.calls("account"), 2);

        s.clock.set(t0() + chrono::Duration::seconds(60));
        s.billing.tariffs().await.unwrap();
        assert_eq!(s.fake.calls("tariffs"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_read_is_not_cached_and_no_cache_is_kept_when_it_is_off() {
        let s = setup(Fake::new(3, unavailable()), GuardSettings::default());
        assert!(s.booking.services().await.is_err());
        s.booking.services().await.unwrap();
        s.booking.services().await.unwrap();
        assert_eq!(s.fake.calls("services"), 4);

        let off = GuardSettings { cache_ttl: chrono::Duration::zero(), ..GuardSettings::default() };
        let s = setup(Fake::new(0, unavailable()), off);
        s.booking.staff().await.unwrap();
        s.booking.staff().await.unwrap();
        assert_eq!(s.fake.calls("staff"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn free_times_are_cached_briefly_and_a_booking_drops_them() {
        let s = setup(Fake::new(0, unavailable()), GuardSettings::default());
        let (from, to) = (t0(), t0() + chrono::Duration::days(1));
        let slots = s.booking.free_slots("haircut", None, from, to).await.unwrap();
        s.booking.free_slots("haircut", None, from, to).await.unwrap();
        assert_eq!(s.fake.calls("free_slots"), 1);
        // Another staff member or day is another entry.
        s.booking.free_slots("haircut", Some("anna"), from, to).await.unwrap();
        assert_eq!(s.fake.calls("free_slots"), 2);

        s.booking.book(&c1(), "haircut", &slots[0], "k1").await.unwrap().unwrap();
        s.booking.free_slots("haircut", None, from, to).await.unwrap();
        assert_eq!(s.fake.calls("free_slots"), 3);
        s.booking.free_slots("haircut", None, from, to).await.unwrap();
        assert_eq!(s.fake.calls("free_slots"), 3);

        // At most SLOTS_TTL, however long lists are kept.
        s.clock.set(t0() + SLOTS_TTL);
        s.booking.free_slots("haircut", None, from, to).await.unwrap();
        assert_eq!(s.fake.calls("free_slots"), 4);
        // A cancellation, even one refused, drops them too.
        assert!(s.booking.cancel(&c1(), "B1").await.unwrap().is_err());
        s.booking.free_slots("haircut", None, from, to).await.unwrap();
        assert_eq!(s.fake.calls("free_slots"), 5);
    }
}
