//! The jobs the bot runs on the scheduler: [`job_handler`] makes the handler the scheduler
//! calls. Known kinds: booking reminders and their reconciliation with the booking system
//! ([`super::reminders`]), and the staff side's SLA
//! re-pings ([`super::staff::sla`]), idle cases' closing ([`super::staff::idle`]), broadcasts' progress ([`super::staff::broadcast`]), relays queued by earlier versions
//! ([`super::staff::relay`]) and posts waiting for the group's rate ([`super::staff::outbox`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use teloxide::Bot;

use super::staff::{broadcast, idle, outbox, relay, sla};
use super::{Ctx, reminders};
use crate::jobs::{Job, JobError, JobHandler};

/// The handler of the bot's scheduled jobs: it plans them and runs them with `bot`.
pub fn job_handler(ctx: Arc<Ctx>, bot: Bot) -> Arc<dyn JobHandler> {
    Arc::new(BotJobs { ctx, bot, started: AtomicBool::new(false) })
}

struct BotJobs {
    ctx: Arc<Ctx>,
    bot: Bot,
    /// Whether the start-up jobs are scheduled (by the first tick that could).
    started: AtomicBool,
}

#[async_trait]
impl JobHandler for BotJobs {
    /// Nothing to ask anyone on a tick: reminders are planned when bookings change and by
    /// their reconciliation job, which the first tick schedules (due at once).
    async fn plan(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        if !self.started.load(Ordering::Acquire) {
            reminders::start(&self.ctx, now).await?;
            crate::notify::start_planning(&self.ctx, now).await?;
            self.started.store(true, Ordering::Release);
        }
        Ok(())
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        match job.kind.as_str() {
            reminders::KIND => reminders::send(&self.ctx, &self.bot, job).await,
            reminders::RECONCILE_KIND => reminders::run_reconcile(&self.ctx, job).await,
            sla::KIND => sla::run_sla(&self.ctx, &self.bot, job).await,
            idle::KIND => idle::run_idle(&self.ctx, &self.bot, job).await,
            relay::KIND => relay::run_relay(&self.ctx, &self.bot, job).await,
            outbox::KIND => outbox::run(&self.ctx, &self.bot, job).await,
            broadcast::KIND => broadcast::run_job(&self.ctx, &self.bot, job).await,
            crate::notify::PLAN_KIND => crate::notify::run_plan(&self.ctx, job).await,
            other => Err(JobError::Fail(format!("unknown job kind {other:?}"))),
        }
    }
}
