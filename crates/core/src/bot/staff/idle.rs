//! Cases nobody writes in are closed: a case plans one check `idle_close_after_hours` after it
//! opens; when the check comes, a case that had messages since (from the customer or from
//! staff) plans the next check that long after the last of them, and one that had none is
//! closed, with a note in its topic and a polite word to the customer (once: only the check
//! that closes the case tells them).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::ParseMode;

use super::super::Ctx;
use super::cases::end_case;
use super::outbox::post_to_topic;
use super::relay::{customer_locale, recipient};
use super::st;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::jobs::{Job, JobError};
use crate::store::{NewJob, SupportCase};

/// The job kind of an idle check.
pub const KIND: &str = "support.idle";

/// The keys of a case's idle checks start with this, then the case id and ':'.
pub(super) const KEY_PREFIX: &str = "idle:";

#[derive(Debug, Serialize, Deserialize)]
struct IdlePayload {
    case_id: i64,
}

/// The last moment anyone wrote in the case (or it opened).
fn last_activity(case: &SupportCase) -> DateTime<Utc> {
    [case.last_customer_at, case.last_staff_at].into_iter().flatten().fold(case.opened_at, DateTime::max)
}

/// Plans the case's idle check `idle` after `since`, unless one is pending (it plans the next
/// itself) or idle cases are never closed.
pub(super) async fn schedule_idle_close(ctx: &Ctx, case: &SupportCase, since: DateTime<Utc>) -> Result<(), BotError> {
    let Some(idle) = ctx.support.idle_close else { return Ok(()) };
    let prefix = format!("{KEY_PREFIX}{}:", case.id);
    if ctx.store.latest_run_at(&prefix, &["pending"]).await?.is_some() {
        return Ok(());
    }
    schedule_at(ctx, case.id, since + idle).await
}

async fn schedule_at(ctx: &Ctx, case_id: i64, at: DateTime<Utc>) -> Result<(), BotError> {
    let job = NewJob {
        key: format!("{KEY_PREFIX}{case_id}:{}", at.timestamp()),
        kind: KIND.to_owned(),
        payload: serde_json::to_value(IdlePayload { case_id }).unwrap_or_default(),
        run_at: at,
    };
    ctx.store.schedule_job(&job).await?;
    Ok(())
}

/// An idle check: the case had messages since → the next check; none → closed.
pub async fn run_idle(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: IdlePayload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(e.to_string()))?;
    let now = ctx.clock.now();
    let retry = |e: String| JobError::Retry { at: now + Duration::minutes(1), reason: e };
    let Some(idle) = ctx.support.idle_close else { return Ok(()) };
    let Some(case) = ctx.store.case_by_id(payload.case_id).await.map_err(|e| retry(e.to_string()))? else {
        return Ok(());
    };
    if !case.open {
        return Ok(());
    }
    let due = last_activity(&case) + idle;
    if due > now {
        return schedule_at(ctx, case.id, due).await.map_err(|e| retry(e.to_string()));
    }
    close_idle(ctx, bot, &case, idle).await.map_err(|e| retry(e.to_string()))
}

async fn close_idle(ctx: &Ctx, bot: &Bot, case: &SupportCase, idle: Duration) -> Result<(), BotError> {
    if !end_case(ctx, case).await? {
        return Ok(());
    }
    let hours = Arg::Num(idle.num_hours().max(1));
    let mut note = st(ctx, "support-idle-closed", &[("hours", hours.clone())]);
    if let Some(chat) = recipient(ctx, case).await? {
        let locale = customer_locale(ctx, case).await;
        let text = ctx.i18n.t(locale, "support-idle-closed-customer", &[]);
        match bot.send_message(chat, text.clone()).parse_mode(ParseMode::Html).await {
            Ok(_) => {
                if ctx.store.consent(case.telegram_user_id).await?.is_some() {
                    ctx.store.log_message(chat.0, "out", &text, ctx.clock.now()).await?;
                }
            }
            Err(error @ teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
                crate::server::metrics::telegram_error(&error);
                ctx.store.set_case_unreachable(case.id, true).await?;
                note = format!("{note}\n{}", st(ctx, "support-customer-blocked", &[]));
            }
            Err(error) => {
                // The case is closed either way; the customer learns it when they next write.
                tracing::warn!(%error, case = case.id, "could not tell a customer their idle case was closed");
            }
        }
    }
    post_to_topic(ctx, bot, case, note).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::CustomerId;
    use crate::store::CasePriority;

    fn case(opened: i64, customer: Option<i64>, staff: Option<i64>) -> SupportCase {
        let at = |h: i64| DateTime::<Utc>::from_timestamp(h * 3600, 0).expect("a time");
        SupportCase {
            id: 1,
            customer_id: CustomerId("C1".into()),
            telegram_user_id: 5001,
            customer_chat_id: 5001,
            priority: CasePriority::Normal,
            reason: String::new(),
            open: true,
            assigned_to: None,
            assigned_name: None,
            opened_at: at(opened),
            first_response_at: staff.map(at),
            last_staff_at: staff.map(at),
            last_customer_at: customer.map(at),
            closed_at: None,
            rating: None,
            unreachable: false,
            detached_at: None,
        }
    }

    #[test]
    fn the_last_activity_is_the_latest_message_or_the_opening() {
        let hour = |h: i64| DateTime::<Utc>::from_timestamp(h * 3600, 0).expect("a time");
        assert_eq!(last_activity(&case(1, None, None)), hour(1));
        assert_eq!(last_activity(&case(1, Some(5), Some(3))), hour(5));
        assert_eq!(last_activity(&case(1, Some(2), Some(9))), hour(9));
    }
}
