//! The jobs the bot runs on the scheduler: [`job_handler`] makes the handler the scheduler
//! calls. Known kinds: booking reminders ([`super::reminders`]), and the staff side's SLA
//! re-pings ([`super::staff::sla`]), relays queued by earlier versions
//! ([`super::staff::relay`]) and posts waiting for the group's rate ([`super::staff::outbox`]).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use teloxide::Bot;

use super::staff::{outbox, relay, sla};
use super::{Ctx, reminders};
use crate::jobs::{Job, JobError, JobHandler};

/// The handler of the bot's scheduled jobs: it plans them and runs them with `bot`.
pub fn job_handler(ctx: Arc<Ctx>, bot: Bot) -> Arc<dyn JobHandler> {
    Arc::new(BotJobs { ctx, bot })
}

struct BotJobs {
    ctx: Arc<Ctx>,
    bot: Bot,
}

#[async_trait]
impl JobHandler for BotJobs {
    async fn plan(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        reminders::plan(&self.ctx, now).await
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        match job.kind.as_str() {
            reminders::KIND => reminders::send(&self.ctx, &self.bot, job).await,
            sla::KIND => sla::run_sla(&self.ctx, &self.bot, job).await,
            relay::KIND => relay::run_relay(&self.ctx, &self.bot, job).await,
            outbox::KIND => outbox::run(&self.ctx, &self.bot, job).await,
            other => Err(JobError::Fail(format!("unknown job kind {other:?}"))),
        }
    }
}
