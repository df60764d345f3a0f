//! Booking reminders, 24 hours and 2 hours before, with «Приду» / «Перенести» / «Отменить».
//!
//! They are pushed, not polled. When the bot books, moves or cancels an appointment in the
//! chat, [`booking_changed`] plans (or cancels) that appointment's reminder jobs at once; the
//! future events API of the booking system is to call [`booking_changed`] (or
//! [`booking_id_changed`]) the same way when it reports an appointment made, moved or
//! cancelled elsewhere. What nobody reported (the front desk's bookings, an event lost) is
//! caught by [`reconcile`]: a durable job, run at start-up and then every
//! `booking.reconcile_minutes` (hourly by default), asks the booking system for the
//! appointments of the next day and plans the reminders they lack. The scheduler's ticks do
//! not ask the booking system anything.
//!
//! Reminder jobs are keyed by booking, start time and kind, so planning twice (or on another
//! replica) schedules once and a moved appointment gets new ones (its old ones cancelled).
//! When a job runs it checks the appointment again — a cancelled or moved appointment gets
//! no reminder — and each chat is sent a reminder once, recorded with the customer's answer
//! to come.
//!
//! A reminder that is late (the bot was down, the clock jumped) is still sent while it is
//! useful: the 24-hour one until the 2-hour one is due, the 2-hour one until the appointment
//! starts (`useful_until`). Its text then says "today" rather than "tomorrow", "soon"
//! rather than "in 2 hours", as the case is.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::ParseMode;

use super::Ctx;
use super::booking::BookingButton;
use super::keyboards::Buttons;
use crate::adapters::{Appointment, BookingStatus, CustomerId};
use crate::domain::Locale;
use crate::domain::datetime::format_time;
use crate::i18n::Arg;
use crate::jobs::{Job, JobError};
use crate::store::NewJob;

/// The job kind of a reminder.
pub const KIND: &str = "booking.reminder";

/// The job kind of the reconciliation with the booking system ([`run_reconcile`]).
pub const RECONCILE_KIND: &str = "booking.reminders.reconcile";

/// A reconciliation plans a little past the next one, which may run late by a tick or so.
const RECONCILE_SLACK: Duration = Duration::minutes(5);

/// The reminders before an appointment, earliest first: (kind, how long before).
const REMINDERS: [(&str, Duration); 2] = [("24h", Duration::hours(24)), ("2h", Duration::hours(2))];

/// How late a 2-hour reminder may be and still say "in 2 hours".
const ON_TIME: Duration = Duration::minutes(15);

/// Until when a reminder of `kind` for an appointment starting at `start` is worth sending:
/// until the next reminder is due, the last one until the appointment starts. `None` for a
/// kind that is not a reminder's.
fn useful_until(kind: &str, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let index = REMINDERS.iter().position(|(k, _)| *k == kind)?;
    Some(REMINDERS.get(index + 1).map_or(start, |(_, before)| start - *before))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    booking_id: String,
    customer_id: String,
    kind: String,
    starts_at: DateTime<Utc>,
}

/// Plans (or cancels) the reminders of one appointment that was just made, moved or
/// cancelled — in the chat, or, reported by the booking system, elsewhere: its pending
/// reminders for another time (or for a cancelled appointment) are cancelled, and those it
/// needs for its time are scheduled, however far ahead. The entry point of the booking
/// system's events: anything that learns of a change calls this (or [`booking_id_changed`]).
pub async fn booking_changed(ctx: &Ctx, customer: &CustomerId, appointment: &Appointment) -> anyhow::Result<()> {
    let now = ctx.clock.now();
    // Every pending reminder of the booking goes, and those still wanted come back (a
    // cancelled job is revived by its key): one statement per step, whatever changed.
    ctx.store.cancel_jobs(&format!("reminder:{}:", appointment.id)).await?;
    for job in jobs_for(customer, appointment, now, None) {
        ctx.store.schedule_or_revive_job(&job).await?;
    }
    Ok(())
}

/// [`booking_changed`] for a booking known by its id (as an event of the booking system may
/// give it): the appointment is asked for, and one that is gone has its reminders cancelled.
pub async fn booking_id_changed(ctx: &Ctx, customer: &CustomerId, booking_id: &str) -> anyhow::Result<()> {
    let booking = ctx.adapters.booking.clone();
    match ctx.adapters.call(booking.appointment(customer, booking_id)).await? {
        Some(appointment) => booking_changed(ctx, customer, &appointment).await,
        None => {
            ctx.store.cancel_jobs(&format!("reminder:{booking_id}:")).await?;
            Ok(())
        }
    }
}

/// [`booking_changed`] from a chat's flow: a failure is logged, not shown to the customer,
/// whose booking is made; the next reconciliation plans what is missing.
pub(super) async fn after_change(ctx: &Ctx, customer: &CustomerId, appointment: &Appointment) {
    if let Err(error) = booking_changed(ctx, customer, appointment).await {
        tracing::warn!(
            booking = %appointment.id, error = %format!("{error:#}"),
            "the reminders of a booking could not be planned now; the reconciliation will"
        );
    }
}

/// Asks the booking system for the appointments starting within the next day and a period,
/// and plans those of their reminders that are due before the next reconciliation (and a
/// little after): appointments made outside the chat, events never received. Planning what
/// is planned already changes nothing (the keys are taken).
pub async fn reconcile(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<()> {
    // A business without appointments has no booking system to ask.
    if !ctx.settings.capabilities.booking {
        return Ok(());
    }
    let ahead = reconcile_period(ctx) + RECONCILE_SLACK;
    let longest = REMINDERS.iter().map(|(_, before)| *before).max().unwrap_or_default();
    let booking = ctx.adapters.booking.clone();
    let upcoming = ctx.adapters.call(booking.upcoming(now, now + longest + ahead)).await?;
    for (customer, appointment) in upcoming {
        for job in jobs_for(&customer, &appointment, now, Some(now + ahead)) {
            // Revived if cancelled: the booking moved away in the chat and back elsewhere. A
            // listing older than a cancellation revives nothing harmful: the job checks again.
            ctx.store.schedule_or_revive_job(&job).await?;
        }
    }
    Ok(())
}

/// How often reminders are reconciled: the setting, at least a minute.
fn reconcile_period(ctx: &Ctx) -> Duration {
    ctx.settings.booking.reconcile.max(Duration::minutes(1))
}

/// The reconciliation job at `run_at`. Its key is its time, so that replicas starting
/// together, or planning the same next run, schedule it once.
fn reconcile_job(run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        key: format!("{RECONCILE_KIND}:{}", run_at.timestamp()),
        kind: RECONCILE_KIND.to_owned(),
        payload: serde_json::Value::Null,
        run_at,
    }
}

/// The next run of the reconciliation after `now`: the next multiple of the period (since
/// the epoch), the same on every replica.
fn next_reconciliation(now: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let step = period.num_seconds().max(1);
    let next = (now.timestamp().div_euclid(step) + 1) * step;
    DateTime::from_timestamp(next, 0).unwrap_or(now + period)
}

/// At start-up: a reconciliation due now (a restart after downtime catches up; what is still
/// useful is decided by the late-reminder rules).
pub async fn start(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<()> {
    ctx.store.schedule_job(&reconcile_job(now)).await?;
    Ok(())
}

/// Runs a reconciliation job: first the next one is scheduled (so the chain never breaks),
/// then the reminders are planned; a booking system that fails is asked again a minute later,
/// until the next run is near.
pub async fn run_reconcile(ctx: &Ctx, job: &Job) -> Result<(), JobError> {
    let now = ctx.clock.now();
    let next = next_reconciliation(now, reconcile_period(ctx));
    let retry_at = now + Duration::minutes(1);
    let retry = |reason: String| JobError::Retry { at: retry_at, reason };
    ctx.store.schedule_job(&reconcile_job(next)).await.map_err(|e| retry(e.to_string()))?;
    match reconcile(ctx, now).await {
        Ok(()) => Ok(()),
        Err(error) if retry_at < next => Err(retry(format!("{error:#}"))),
        Err(error) => {
            Err(JobError::Fail(format!("{error:#} (attempt {}; the next run is due at {next})", job.attempts)))
        }
    }
}

/// The reminder jobs an appointment needs now: those whose moment is ahead (until `until`,
/// when given), or has passed while the reminder is still useful.
fn jobs_for(customer: &CustomerId, a: &Appointment, now: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Vec<NewJob> {
    if a.status != BookingStatus::Confirmed || a.start <= now {
        return Vec::new();
    }
    REMINDERS
        .iter()
        .filter_map(|(kind, before)| {
            let run_at = a.start - *before;
            let useful = useful_until(kind, a.start).is_some_and(|until| now < until);
            (useful && until.is_none_or(|until| run_at <= until)).then(|| NewJob {
                key: format!("reminder:{}:{}:{kind}", a.id, a.start.timestamp()),
                kind: KIND.to_owned(),
                payload: serde_json::to_value(Payload {
                    booking_id: a.id.clone(),
                    customer_id: customer.0.clone(),
                    kind: (*kind).to_owned(),
                    starts_at: a.start,
                })
                .unwrap_or_default(),
                run_at,
            })
        })
        .collect()
}

/// Sends one reminder job to every chat bound to the customer.
pub async fn send(ctx: &Ctx, bot: &Bot, job: &Job) -> Result<(), JobError> {
    let payload: Payload = serde_json::from_value(job.payload.clone())
        .map_err(|e| JobError::Fail(format!("bad reminder payload: {e}")))?;
    let now = ctx.clock.now();
    let retry = |reason: String| JobError::Retry { at: now + Duration::minutes(1), reason };
    let customer = CustomerId(payload.customer_id.clone());
    // Planned before the business switched appointments off: nothing to ask, nothing to send.
    if !ctx.settings.capabilities.booking {
        tracing::debug!(booking = %payload.booking_id, "a reminder of an absent booking system is not sent");
        return Ok(());
    }
    let booking = ctx.adapters.booking.clone();
    let appointment = ctx
        .adapters
        .call(booking.appointment(&customer, &payload.booking_id))
        .await
        .map_err(|e| retry(e.to_string()))?;
    // Cancelled, moved or already started, or the next reminder is due: nothing to remind of.
    let useful = useful_until(&payload.kind, payload.starts_at).is_some_and(|until| now < until);
    let Some(appointment) = appointment
        .filter(|a| a.status == BookingStatus::Confirmed && a.start == payload.starts_at && a.start > now && useful)
    else {
        tracing::debug!(booking = %payload.booking_id, kind = %payload.kind, "a reminder no longer useful is not sent");
        return Ok(());
    };
    let services = ctx.adapters.call(booking.services()).await.map_err(|e| retry(e.to_string()))?;
    let staff = ctx.adapters.call(booking.staff()).await.map_err(|e| retry(e.to_string()))?;
    let bindings = ctx.store.bindings_of(&customer).await.map_err(|e| retry(e.to_string()))?;
    // The language the customer chose in the chat, else the one their record gives.
    let crm = ctx.adapters.crm.clone();
    let profile_locale = ctx.adapters.call(crm.profile(&customer)).await.ok().flatten().and_then(|p| p.locale);
    for binding in bindings {
        let user = ctx.store.user(binding.telegram_user_id).await.map_err(|e| retry(e.to_string()))?;
        let Some(user) = user else { continue };
        let fresh = ctx
            .store
            .record_reminder(&appointment.id, &payload.kind, binding.chat_id, appointment.start, now)
            .await
            .map_err(|e| retry(e.to_string()))?;
        if !fresh {
            continue;
        }
        let locale: Locale = user.locale.or(profile_locale).unwrap_or(ctx.settings.default_locale);
        let at = ctx.to_local(appointment.start);
        let name = |code: &str, list: &[(String, String)]| {
            list.iter().find(|(c, _)| c == code).map_or_else(|| code.to_owned(), |(_, n)| n.clone())
        };
        let service_names: Vec<(String, String)> =
            services.iter().map(|s| (s.code.clone(), s.name.get(locale).to_owned())).collect();
        let staff_names: Vec<(String, String)> =
            staff.iter().map(|s| (s.id.clone(), s.name.get(locale).to_owned())).collect();
        let args = [
            ("time", Arg::from(format_time(at))),
            ("service", Arg::from(name(&appointment.service, &service_names))),
            ("staff", Arg::from(name(&appointment.staff, &staff_names))),
        ];
        let text = ctx.i18n.t(locale, reminder_key(&payload.kind, ctx.to_local(now), at), &args);
        let buttons = Buttons { codec: &ctx.codec, epoch: user.epoch, user_id: binding.telegram_user_id };
        let markup = buttons.markup(vec![vec![
            (
                ctx.i18n.t(locale, "booking-reminder-confirm", &[]),
                BookingButton::ReminderConfirm(appointment.id.clone()),
            ),
            (ctx.i18n.t(locale, "booking-move-short", &[]), BookingButton::Move(appointment.id.clone())),
            (ctx.i18n.t(locale, "booking-cancel-short", &[]), BookingButton::AskCancel(appointment.id.clone())),
        ]]);
        let markup = match buttons.seal(&ctx.store, now, markup).await {
            Ok(markup) => markup,
            Err(error) => {
                let _ = ctx.store.forget_reminder(&appointment.id, &payload.kind, binding.chat_id).await;
                return Err(retry(error.to_string()));
            }
        };
        match bot.send_message(ChatId(binding.chat_id), &text).parse_mode(ParseMode::Html).reply_markup(markup).await {
            Ok(_) => {
                let _ = ctx.store.log_message(binding.chat_id, "out", &text, now).await;
            }
            // Blocked the bot: nobody to remind in this chat.
            Err(error @ teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
                crate::server::metrics::telegram_error(&error);
                tracing::info!(chat = binding.chat_id, "a reminder's chat has blocked the bot");
            }
            Err(error) => {
                crate::server::metrics::telegram_error(&error);
                let _ = ctx.store.forget_reminder(&appointment.id, &payload.kind, binding.chat_id).await;
                return Err(retry(error.to_string()));
            }
        }
    }
    Ok(())
}

/// The message of a reminder of `kind` sent at `now` for an appointment at `at` (local
/// times): "tomorrow" or "today" for the 24-hour one, "in 2 hours" or "soon" for the 2-hour
/// one, as late as it may be.
fn reminder_key(kind: &str, now: chrono::NaiveDateTime, at: chrono::NaiveDateTime) -> &'static str {
    match kind {
        "24h" if at.date() == now.date() => "booking-reminder-today",
        "24h" => "booking-reminder-24h",
        _ if at - now >= Duration::hours(2) - ON_TIME => "booking-reminder-2h",
        _ => "booking-reminder-soon",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// What a reconciliation at `now` plans, an hour ahead.
    fn planned(customer: &CustomerId, a: &Appointment, now: DateTime<Utc>) -> Vec<NewJob> {
        jobs_for(customer, a, now, Some(now + Duration::hours(1)))
    }

    fn appointment(start: DateTime<Utc>, status: BookingStatus) -> Appointment {
        Appointment {
            id: "B-1".into(),
            service: "haircut".into(),
            staff: "anna".into(),
            start,
            duration_min: 60,
            status,
        }
    }

    #[test]
    fn reminders_are_planned_for_their_moments_and_keyed_by_the_start() {
        let start = Utc.with_ymd_and_hms(2025, 1, 13, 10, 0, 0).unwrap();
        let customer = CustomerId("C3".into());
        // A day and a half ahead: nothing yet.
        assert!(
            planned(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(36)).is_empty()
        );
        // Just before the 24-hour moment: the 24-hour reminder.
        let jobs = planned(
            &customer,
            &appointment(start, BookingStatus::Confirmed),
            start - Duration::hours(24) - Duration::minutes(30),
        );
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].run_at, start - Duration::hours(24));
        assert_eq!(jobs[0].key, format!("reminder:B-1:{}:24h", start.timestamp()));
        // Ninety minutes before: the 24-hour one is no use any more, the 2-hour one is due.
        let jobs = planned(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::minutes(90));
        assert_eq!(jobs.iter().map(|j| j.key.ends_with(":2h")).collect::<Vec<_>>(), [true]);
        // Cancelled or started: none.
        assert!(
            planned(&customer, &appointment(start, BookingStatus::Cancelled), start - Duration::hours(3)).is_empty()
        );
        assert!(planned(&customer, &appointment(start, BookingStatus::Confirmed), start).is_empty());
    }

    #[test]
    fn a_change_plans_every_reminder_still_useful_however_far_ahead() {
        let start = Utc.with_ymd_and_hms(2025, 1, 13, 10, 0, 0).unwrap();
        let customer = CustomerId("C3".into());
        let kinds = |now: DateTime<Utc>, status: BookingStatus| -> Vec<(String, DateTime<Utc>)> {
            jobs_for(&customer, &appointment(start, status), now, None)
                .into_iter()
                .map(|j| (j.key.rsplit(':').next().unwrap_or_default().to_owned(), j.run_at))
                .collect()
        };
        let both = [("24h".to_owned(), start - Duration::hours(24)), ("2h".to_owned(), start - Duration::hours(2))];
        assert_eq!(kinds(start - Duration::days(5), BookingStatus::Confirmed), both);
        assert_eq!(kinds(start - Duration::hours(3), BookingStatus::Confirmed), both);
        assert_eq!(kinds(start - Duration::hours(1), BookingStatus::Confirmed), [both[1].clone()]);
        assert!(kinds(start - Duration::days(5), BookingStatus::Cancelled).is_empty());
    }

    #[test]
    fn the_reconciliation_runs_on_the_multiples_of_its_period() {
        let at = |h: u32, m: u32, s: u32| Utc.with_ymd_and_hms(2025, 1, 13, h, m, s).unwrap();
        assert_eq!(next_reconciliation(at(10, 0, 0), Duration::hours(1)), at(11, 0, 0));
        assert_eq!(next_reconciliation(at(10, 59, 59), Duration::hours(1)), at(11, 0, 0));
        assert_eq!(next_reconciliation(at(10, 7, 0), Duration::minutes(15)), at(10, 15, 0));
        assert_eq!(reconcile_job(at(11, 0, 0)).key, reconcile_job(at(11, 0, 0)).key, "one key on every replica");
    }

    #[test]
    fn a_reminder_is_useful_until_the_next_one_is_due_and_the_last_until_the_start() {
        let start = Utc.with_ymd_and_hms(2025, 1, 13, 10, 0, 0).unwrap();
        assert_eq!(useful_until("24h", start), Some(start - Duration::hours(2)));
        assert_eq!(useful_until("2h", start), Some(start));
        assert_eq!(useful_until("1h", start), None);
    }

    #[test]
    fn a_late_reminder_is_planned_while_it_is_useful() {
        let start = Utc.with_ymd_and_hms(2025, 1, 13, 10, 0, 0).unwrap();
        let customer = CustomerId("C3".into());
        let kinds = |now: DateTime<Utc>| -> Vec<String> {
            planned(&customer, &appointment(start, BookingStatus::Confirmed), now)
                .into_iter()
                .map(|j| j.key.rsplit(':').next().unwrap_or_default().to_owned())
                .collect()
        };
        // The bot was down at the 24-hour moment: ten hours later the 24-hour one is still due.
        assert_eq!(kinds(start - Duration::hours(14)), ["24h"]);
        let late = planned(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(14));
        assert_eq!(late[0].run_at, start - Duration::hours(24), "due at once");
        // An hour before the 2-hour moment: both (the 2-hour one planned ahead).
        assert_eq!(kinds(start - Duration::hours(3)), ["24h", "2h"]);
        // At the 2-hour moment the 24-hour one is no use any more.
        assert_eq!(kinds(start - Duration::hours(2)), ["2h"]);
        // Ten minutes before the start the 2-hour one is still useful; at the start, nothing.
        assert_eq!(kinds(start - Duration::minutes(10)), ["2h"]);
        assert!(kinds(start).is_empty());
        assert!(kinds(start + Duration::hours(1)).is_empty());
    }

    #[test]
    fn a_late_reminder_says_today_or_soon() {
        let at = chrono::NaiveDate::from_ymd_opt(2025, 1, 13).unwrap().and_hms_opt(15, 0, 0).unwrap();
        let before = |hours: i64, minutes: i64| at - Duration::hours(hours) - Duration::minutes(minutes);
        assert_eq!(reminder_key("24h", before(24, 0), at), "booking-reminder-24h");
        // Late, but the appointment is still tomorrow (the day before, 16:00).
        assert_eq!(reminder_key("24h", before(23, 0), at), "booking-reminder-24h");
        // Late into the day of the appointment.
        assert_eq!(reminder_key("24h", before(6, 0), at), "booking-reminder-today");
        assert_eq!(reminder_key("2h", before(2, 0), at), "booking-reminder-2h");
        assert_eq!(reminder_key("2h", before(1, 50), at), "booking-reminder-2h");
        assert_eq!(reminder_key("2h", before(1, 0), at), "booking-reminder-soon");
    }
}
