//! Durable scheduled jobs: booking reminders, re-pings, notifications, each run once at its
//! time.
//!
//! Jobs live in the database ([`Store::schedule_job`] and friends), so they survive restarts;
//! a job is run only after the [`Scheduler`] has claimed it there, so several replicas on one
//! PostgreSQL never run it twice. "Now" is the injected clock's: with a [`FixedClock`], a job
//! runs when the clock is moved past its time (`@now` in transcripts), not before.
//!
//! A run is at least once, not exactly once: a worker that dies in the middle of a job (or
//! cannot record its end) leaves it claimed until its lease passes, and then it runs again.
//! Handlers keep their effects idempotent where that matters.
//!
//! [`FixedClock`]: crate::clock::FixedClock

#[cfg(test)]
mod tests;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::FutureExt as _;

use crate::clock::SharedClock;
use crate::store::Store;
pub use crate::store::{Job, NewJob};

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Try again at `at` (no sooner than [`MIN_RETRY_DELAY`] after the failed run).
    #[error("retry at {at}: {reason}")]
    Retry { at: DateTime<Utc>, reason: String },
    /// Give up: the job is marked failed.
    #[error("{0}")]
    Fail(String),
}

/// Runs jobs of the kinds it knows.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Called at the start of every tick, before due jobs are claimed: a chance to schedule
    /// jobs (e.g. those a process starts with). It runs every second: keep it cheap, and ask
    /// no remote system here — a periodic job that reschedules itself does that. `now` is the
    /// tick's time.
    async fn plan(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let _ = now;
        Ok(())
    }

    /// Runs one job. `Ok` → done; `Err(Retry { at, .. })` → run again at `at`;
    /// `Err(Fail(msg))` → failed. `job.attempts` says how many times it has been claimed,
    /// this run included: a handler that retries decides when to give up.
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// A handler that knows no kind of job: every job fails ("unknown job kind").
#[derive(Debug, Default, Clone, Copy)]
pub struct NoJobs;

#[async_trait]
impl JobHandler for NoJobs {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        Err(JobError::Fail(format!("unknown job kind {:?}", job.kind)))
    }
}

/// How long a claimed job is held by default before another worker may take it again.
pub const DEFAULT_LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// How many jobs are claimed at once by default.
pub const DEFAULT_BATCH: u32 = 50;

/// The shortest wait before a retry: a handler asking to retry at once is retried a second
/// later (by the clock), so a failing job cannot spin inside one tick.
pub const MIN_RETRY_DELAY: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Runs the jobs that are due by the clock.
///
/// Each tick asks the handler to [plan](JobHandler::plan), then claims the due jobs in
/// batches and runs them one after another (sequentially: simple, and ticks are short),
/// until none is due. Ticks of one scheduler never overlap; several schedulers (replicas)
/// share the work through the claims.
pub struct Scheduler {
    store: Store,
    clock: SharedClock,
    handler: Arc<dyn JobHandler>,
    lease: chrono::Duration,
    batch: u32,
    /// Held for the length of a tick.
    tick: tokio::sync::Mutex<()>,
}

impl Scheduler {
    pub fn new(store: Store, clock: SharedClock, handler: Arc<dyn JobHandler>) -> Self {
        Self { store, clock, handler, lease: DEFAULT_LEASE, batch: DEFAULT_BATCH, tick: tokio::sync::Mutex::new(()) }
    }

    /// How long a claim holds a job (by the clock; at least a second). A run that takes
    /// longer (in real time) is abandoned and retried when the lease would have ended.
    pub fn with_lease(mut self, lease: chrono::Duration) -> Self {
        self.lease = lease.max(chrono::Duration::seconds(1));
        self
    }

    /// How many jobs are claimed at once (at least one).
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// One tick: plan, then claim and run every job due by the clock's now (in batches until
    /// none is due); returns how many ran. A job's own failure is recorded on the job and is
    /// not an error here; a failed plan is (after the due jobs have run), and so is a store
    /// that cannot be reached.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        let _tick = self.tick.lock().await;
        let now = self.clock.now();
        let planned = match AssertUnwindSafe(self.handler.plan(now)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => Err(anyhow::anyhow!("the job planner panicked: {}", panic_message(panic.as_ref()))),
        };
        let mut ran = 0;
        loop {
            // The clock is read again for every batch, so that a lease always runs from the
            // moment of its claim.
            let jobs = self
                .store
                .claim_due_jobs(self.clock.now(), self.batch, self.lease)
                .await
                .context("cannot claim the due jobs")?;
            if jobs.is_empty() {
                break;
            }
            for job in jobs {
                self.run_one(job).await?;
                ran += 1;
            }
        }
        planned.context("planning jobs failed")?;
        Ok(ran)
    }

    /// Runs one claimed job and records how it went.
    async fn run_one(&self, job: Job) -> anyhow::Result<()> {
        let limit = self.lease.to_std().unwrap_or(Duration::from_secs(300));
        let run = AssertUnwindSafe(self.handler.run(&job)).catch_unwind();
        let outcome = match tokio::time::timeout(limit, run).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(panic)) => Err(JobError::Fail(format!("the handler panicked: {}", panic_message(panic.as_ref())))),
            Err(_) => Err(JobError::Retry {
                at: self.clock.now() + self.lease,
                reason: format!("not finished within the lease ({} s)", limit.as_secs()),
            }),
        };
        let now = self.clock.now();
        let recorded = match &outcome {
            Ok(()) => {
                tracing::debug!(job = job.id, kind = %job.kind, "job done");
                self.store.complete_job(job.id, now).await
            }
            Err(JobError::Retry { at, reason }) => {
                let at = (*at).max(now + MIN_RETRY_DELAY);
                tracing::warn!(
                    job = job.id, kind = %job.kind, attempts = job.attempts, %at, reason = %reason,
                    "job to be retried"
                );
                self.store.fail_job(job.id, reason, Some(at)).await
            }
            Err(JobError::Fail(reason)) => {
                tracing::warn!(job = job.id, kind = %job.kind, attempts = job.attempts, reason = %reason, "job failed");
                self.store.fail_job(job.id, reason, None).await
            }
        };
        if !recorded.with_context(|| format!("cannot record the end of job {}", job.id))? {
            // Its lease passed and another worker took it over: that one records it.
            tracing::warn!(job = job.id, kind = %job.kind, "a job was taken over before it finished");
        }
        Ok(())
    }

    /// Ticks every `interval` (real time) until `shutdown` resolves; a failing tick is
    /// logged, never fatal. A tick under way when `shutdown` resolves is finished first.
    pub async fn run_forever(self: Arc<Self>, interval: Duration, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.run_due().await {
                tracing::warn!(error = %format!("{e:#}"), "a tick of the job scheduler failed");
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
