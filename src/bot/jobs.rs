//! The jobs the bot runs on the scheduler (booking reminders, …): [`job_handler`] makes the
//! handler the scheduler calls. For now no kind of job is known.

use std::sync::Arc;

use teloxide::Bot;

use super::Ctx;
use crate::jobs::JobHandler;

/// The handler of the bot's scheduled jobs: it plans them and runs them with `bot`.
pub fn job_handler(ctx: Arc<Ctx>, bot: Bot) -> Arc<dyn JobHandler> {
    let _ = (ctx, bot);
    Arc::new(crate::jobs::NoJobs)
}
