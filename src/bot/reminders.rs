//! Booking reminders, 24 hours and 2 hours before, with «Приду» / «Перенести» / «Отменить».
//!
//! Every scheduler tick plans them: each confirmed appointment starting within the next day
//! gets its reminder jobs, keyed by booking, start time and kind, so planning twice (or on
//! another replica) schedules once and a moved appointment gets new ones. When a job runs it
//! checks the appointment again — a cancelled or moved appointment gets no reminder — and each
//! chat is sent a reminder once, recorded with the customer's answer to come.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::ParseMode;

use super::Ctx;
use super::keyboards::{Buttons, Callback};
use crate::adapters::{Appointment, BookingStatus, CustomerId};
use crate::domain::Locale;
use crate::domain::datetime::format_time;
use crate::i18n::Arg;
use crate::jobs::{Job, JobError};
use crate::store::NewJob;

/// The job kind of a reminder.
pub const KIND: &str = "booking.reminder";

/// How long after its moment a reminder is still worth sending (a scheduler that was down, a
/// booking made just inside the window).
const GRACE: Duration = Duration::minutes(15);
/// How far ahead reminder jobs are planned.
const PLAN_AHEAD: Duration = Duration::hours(1);

/// The reminders before an appointment: (kind, how long before).
const REMINDERS: [(&str, Duration); 2] = [("24h", Duration::hours(24)), ("2h", Duration::hours(2))];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Payload {
    booking_id: String,
    customer_id: String,
    kind: String,
    starts_at: DateTime<Utc>,
}

/// Schedules the reminders of appointments starting within the next day (and a bit).
pub async fn plan(ctx: &Ctx, now: DateTime<Utc>) -> anyhow::Result<()> {
    let booking = ctx.adapters.booking.clone();
    let upcoming = ctx.adapters.call(booking.upcoming(now, now + Duration::hours(24) + PLAN_AHEAD)).await?;
    for (customer, appointment) in upcoming {
        for job in jobs_for(&customer, &appointment, now) {
            ctx.store.schedule_job(&job).await?;
        }
    }
    Ok(())
}

/// The reminder jobs an appointment needs now: those whose moment is ahead (within the
/// planning window) or only just passed.
fn jobs_for(customer: &CustomerId, a: &Appointment, now: DateTime<Utc>) -> Vec<NewJob> {
    if a.status != BookingStatus::Confirmed || a.start <= now {
        return Vec::new();
    }
    REMINDERS
        .iter()
        .filter_map(|(kind, before)| {
            let run_at = a.start - *before;
            (run_at + GRACE >= now && run_at <= now + PLAN_AHEAD).then(|| NewJob {
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
    let payload: Payload =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Fail(format!("bad reminder payload: {e}")))?;
    let now = ctx.clock.now();
    let retry = |reason: String| JobError::Retry { at: now + Duration::minutes(1), reason };
    let customer = CustomerId(payload.customer_id.clone());
    let booking = ctx.adapters.booking.clone();
    let appointment = ctx
        .adapters
        .call(booking.appointment(&customer, &payload.booking_id))
        .await
        .map_err(|e| retry(e.to_string()))?;
    // Cancelled, moved or already started: nothing to remind of.
    let Some(appointment) = appointment.filter(|a| {
        a.status == BookingStatus::Confirmed && a.start == payload.starts_at && a.start > now
    }) else {
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
        let service_names: Vec<(String, String)> = services.iter().map(|s| (s.code.clone(), s.name.get(locale).to_owned())).collect();
        let staff_names: Vec<(String, String)> = staff.iter().map(|s| (s.id.clone(), s.name.get(locale).to_owned())).collect();
        let args = [
            ("time", Arg::from(format_time(at))),
            ("service", Arg::from(name(&appointment.service, &service_names))),
            ("staff", Arg::from(name(&appointment.staff, &staff_names))),
        ];
        let text = ctx.i18n.t(locale, &format!("booking-reminder-{}", payload.kind), &args);
        let buttons = Buttons { codec: &ctx.codec, epoch: user.epoch, user_id: binding.telegram_user_id };
        let markup = buttons.markup(vec![vec![
            (ctx.i18n.t(locale, "booking-reminder-confirm", &[]), Callback::ReminderConfirm(appointment.id.clone())),
            (ctx.i18n.t(locale, "booking-move-short", &[]), Callback::MoveBooking(appointment.id.clone())),
            (ctx.i18n.t(locale, "booking-cancel-short", &[]), Callback::AskCancelBooking(appointment.id.clone())),
        ]]);
        match bot.send_message(ChatId(binding.chat_id), &text).parse_mode(ParseMode::Html).reply_markup(markup).await {
            Ok(_) => {
                let _ = ctx.store.log_message(binding.chat_id, "out", &text, now).await;
            }
            // Blocked the bot: nobody to remind in this chat.
            Err(teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)) => {
                tracing::info!(chat = binding.chat_id, "a reminder's chat has blocked the bot");
            }
            Err(error) => {
                let _ = ctx.store.forget_reminder(&appointment.id, &payload.kind, binding.chat_id).await;
                return Err(retry(error.to_string()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn appointment(start: DateTime<Utc>, status: BookingStatus) -> Appointment {
        Appointment { id: "B-1".into(), service: "haircut".into(), staff: "anna".into(), start, duration_min: 60, status }
    }

    #[test]
    fn reminders_are_planned_for_their_moments_and_keyed_by_the_start() {
        let start = Utc.with_ymd_and_hms(2025, 1, 13, 10, 0, 0).unwrap();
        let customer = CustomerId("C3".into());
        // A day and a half ahead: nothing yet.
        assert!(jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(36)).is_empty());
        // Just before the 24-hour moment: the 24-hour reminder.
        let jobs = jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(24) - Duration::minutes(30));
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].run_at, start - Duration::hours(24));
        assert_eq!(jobs[0].key, format!("reminder:B-1:{}:24h", start.timestamp()));
        // Three hours before: the 24-hour one is long past, the 2-hour one is planned.
        let jobs = jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(3));
        assert_eq!(jobs.iter().map(|j| j.key.ends_with(":2h")).collect::<Vec<_>>(), [true]);
        // Cancelled or started: none.
        assert!(jobs_for(&customer, &appointment(start, BookingStatus::Cancelled), start - Duration::hours(3)).is_empty());
        assert!(jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start).is_empty());
    }
}
