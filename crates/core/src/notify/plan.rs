//! Notifications planned from what the billing says: a payment due in 3 days and tomorrow
//! (from [`Account::next_charge`]), and a balance that lasts two days or less (below
//! `daily_charge` × 2). A durable job ([`PLAN_KIND`]) runs once a day at [`PLAN_TIME`] local
//! time (and at start-up) for every customer bound to a Telegram account; the notifications'
//! keys name the charge date, so each reminder is enqueued once per charge date however
//! often the plan runs (or on how many replicas).
//!
//! [`Account::next_charge`]: crate::adapters::Account::next_charge

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone as _, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use super::{Category, Message, NewNotification, Notifier, Urgency};
use crate::adapters::CustomerId;
use crate::bot::Ctx;
use crate::jobs::{Job, JobError};
use crate::store::NewJob;

/// The job kind of the daily plan.
pub const PLAN_KIND: &str = "notify.plan";

/// When the daily plan runs, local time (after the default quiet hours).
pub const PLAN_TIME: NaiveTime = NaiveTime::from_hms_opt(10, 0, 0).expect("a valid time");

/// The plan's job for local `date`, due at `run_at`: its key is the date, so replicas and
/// restarts schedule it once.
fn plan_job(date: NaiveDate, run_at: DateTime<Utc>) -> NewJob {
    NewJob { key: format!("{PLAN_KIND}:{date}"), kind: PLAN_KIND.to_owned(), payload: serde_json::Value::Null, run_at }
}

/// At start-up: today's plan, due now (when it has not run today yet).
pub async fn start(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<()> {
    if !ctx.settings.notify.account_reminders || !ctx.settings.capabilities.billing {
        return Ok(());
    }
    ctx.store.schedule_job(&plan_job(ctx.to_local(now).date(), now)).await?;
    Ok(())
}

/// Runs the plan: schedules tomorrow's first (so the chain never breaks), then plans every
/// bound customer's reminders. A customer whose account cannot be read is left for
/// tomorrow (the others are planned).
pub async fn run_plan(ctx: &Ctx, _job: &Job) -> Result<(), JobError> {
    let now = ctx.clock.now();
    let today = ctx.to_local(now).date();
    let tomorrow = today.succ_opt().unwrap_or(today);
    let next = ctx
        .settings
        .time_zone
        .from_local_datetime(&tomorrow.and_time(PLAN_TIME))
        .earliest()
        .map_or(now + Duration::days(1), |at| at.to_utc());
    let retry = |reason: String| JobError::Retry { at: now + Duration::minutes(5), reason };
    ctx.store.schedule_job(&plan_job(tomorrow, next)).await.map_err(|e| retry(e.to_string()))?;
    let customers = ctx.store.bound_customers().await.map_err(|e| retry(e.to_string()))?;
    for customer in &customers {
        if let Err(error) = plan_account_reminders(ctx, customer, today).await {
            tracing::warn!(customer = %customer.0, error = %format!("{error:#}"), "account reminders not planned");
        }
    }
    Ok(())
}

/// Enqueues the customer's account reminders due on local `today`: the payment reminder 3
/// days (2–3) and 1 day (0–1) before the next charge, and the low-balance warning. Returns
/// how many were new.
pub async fn plan_account_reminders(ctx: &Ctx, customer: &CustomerId, today: NaiveDate) -> anyhow::Result<usize> {
    if !ctx.settings.capabilities.billing {
        return Ok(0);
    }
    let billing = ctx.adapters.billing.clone();
    let Some(account) = ctx.adapters.call(billing.account(customer)).await? else { return Ok(0) };
    let mut planned: Vec<(String, Message)> = Vec::new();
    if let Some(charge) = &account.next_charge {
        let days = (charge.date - today).num_days();
        let which = match days {
            2..=3 => Some("3d"),
            0..=1 => Some("1d"),
            _ => None,
        };
        if let Some(which) = which {
            let message =
                Message::PaymentDue { date: charge.date, amount: charge.amount, currency: account.currency.clone() };
            planned.push((format!("payment-due:{}:{}:{which}", customer.0, charge.date), message));
        }
    }
    if let Some(daily) = account.daily_charge.filter(|d| *d > Decimal::ZERO)
        && account.balance <= daily * Decimal::TWO
    {
        let days = (account.balance.max(Decimal::ZERO) / daily).floor();
        let days = days.to_u32().unwrap_or(0);
        let period = account.next_charge.as_ref().map_or(today, |c| c.date);
        let message = Message::LowBalance { balance: account.balance, currency: account.currency.clone(), days };
        planned.push((format!("low-balance:{}:{period}", customer.0), message));
    }
    let notifier = Notifier::new(ctx.store.clone(), ctx.clock.clone());
    let mut created = 0;
    for (key, message) in planned {
        let n = NewNotification {
            customer_id: customer.clone(),
            category: Category::Payments,
            urgency: Urgency::Normal,
            key,
            message,
            not_before: None,
        };
        if notifier.enqueue(n).await?.created {
            created += 1;
        }
    }
    Ok(created)
}
