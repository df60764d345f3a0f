//! Re-pings of unanswered cases: a customer's message plans one after the case's priority's
//! SLA; when it comes and staff have not answered since, the topic is pinged (mentioning the
//! team when configured) and the next re-ping is planned.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;

use super::super::Ctx;
use super::outbox::post_to_topic;
use super::{priority_label, st};
use crate::error::BotError;
use crate::i18n::{Arg, escape_html};
use crate::jobs::{Job, JobError};
use crate::store::{CasePriority, NewJob, SupportCase};

/// The job kind of a re-ping.
pub const KIND: &str = "support.sla";

#[derive(Debug, Serialize, Deserialize)]
struct SlaPayload {
    case_id: i64,
    /// The customer message (time) this re-ping waits for an answer to.
    since: DateTime<Utc>,
    round: u32,
}

fn sla(ctx: &Ctx, p: CasePriority) -> Duration {
    ctx.support.sla[match p {
        CasePriority::Critical => 0,
        CasePriority::High => 1,
        CasePriority::Normal => 2,
    }]
}

/// Plans the re-ping of an unanswered case: its priority's SLA after `since`.
pub(super) async fn schedule_sla(ctx: &Ctx, case: &SupportCase, since: DateTime<Utc>) -> Result<(), BotError> {
    // One pending re-ping per case: a newer customer message does not push it later.
    if ctx.store.latest_run_at(&format!("sla:{}:", case.id), &["pending"]).await?.is_some() {
        return Ok(());
    }
    let job = NewJob {
        key: format!("sla:{}:{}:0", case.id, since.timestamp()),
        kind: KIND.to_owned(),
        payload: serde_json::to_value(SlaPayload { case_id: case.id, since, round: 0 }).unwrap_or_default(),
        run_at: since + sla(ctx, case.priority),
    };
    ctx.store.schedule_job(&job).await?;
    Ok(())
}

/// An SLA job: the case is still unanswered → ping the topic and plan the next ping.
pub async fn run_sla(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: SlaPayload = serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    let now = ctx.clock.now();
    let retry = |e: String| JobError::Retry { at: now + Duration::minutes(1), reason: e };
    let Some(case) = ctx.store.case_by_id(payload.case_id).await.map_err(|e| retry(e.to_string()))? else {
        return Ok(());
    };
    let answered = case.last_staff_at.is_some_and(|at| at >= payload.since);
    if !case.open || answered {
        return Ok(());
    }
    let waited = (now - payload.since).num_minutes().max(1);
    let mut text = st(
        ctx,
        "support-sla-ping",
        &[("minutes", Arg::Num(waited)), ("priority", Arg::from(priority_label(ctx, case.priority)))],
    );
    if !ctx.support.mention.is_empty() {
        text = format!("{} {text}", escape_html(&ctx.support.mention));
    }
    post_to_topic(ctx, bot, &case, text).await.map_err(|e| retry(e.to_string()))?;
    let next = SlaPayload { case_id: case.id, since: payload.since, round: payload.round + 1 };
    let job = NewJob {
        key: format!("sla:{}:{}:{}", case.id, payload.since.timestamp(), next.round),
        kind: KIND.to_owned(),
        payload: serde_json::to_value(&next).unwrap_or_default(),
        run_at: now + sla(ctx, case.priority),
    };
    ctx.store.schedule_job(&job).await.map_err(|e| retry(e.to_string()))?;
    Ok(())
}
