//! Booking reminders, 24 hours and 2 hours before, with «Приду» / «Перенести» / «Отменить».
//!
//! Every scheduler tick plans them: each confirmed appointment starting within the next day
//! gets its reminder jobs, keyed by booking, start time and kind, so planning twice (or on
//! another replica) schedules once and a moved appointment gets new ones. When a job runs it
//! checks the appointment again — a cancelled or moved appointment gets no reminder — and each
//! chat is sent a reminder once, recorded with the customer's answer to come.
//!
//! A reminder that is late (the bot was down, the clock jumped) is still sent while it is
//! useful: the 24-hour one until the 2-hour one is due, the 2-hour one until the appointment
//! starts ([`useful_until`]). Its text then says "today" rather than "tomorrow", "soon"
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

/// How far ahead reminder jobs are planned.
const PLAN_AHEAD: Duration = Duration::hours(1);

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
/// planning window), or has passed while the reminder is still useful.
fn jobs_for(customer: &CustomerId, a: &Appointment, now: DateTime<Utc>) -> Vec<NewJob> {
    if a.status != BookingStatus::Confirmed || a.start <= now {
        return Vec::new();
    }
    REMINDERS
        .iter()
        .filter_map(|(kind, before)| {
            let run_at = a.start - *before;
            let useful = useful_until(kind, a.start).is_some_and(|until| now < until);
            (useful && run_at <= now + PLAN_AHEAD).then(|| NewJob {
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
            jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(36)).is_empty()
        );
        // Just before the 24-hour moment: the 24-hour reminder.
        let jobs = jobs_for(
            &customer,
            &appointment(start, BookingStatus::Confirmed),
            start - Duration::hours(24) - Duration::minutes(30),
        );
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].run_at, start - Duration::hours(24));
        assert_eq!(jobs[0].key, format!("reminder:B-1:{}:24h", start.timestamp()));
        // Ninety minutes before: the 24-hour one is no use any more, the 2-hour one is due.
        let jobs = jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::minutes(90));
        assert_eq!(jobs.iter().map(|j| j.key.ends_with(":2h")).collect::<Vec<_>>(), [true]);
        // Cancelled or started: none.
        assert!(
            jobs_for(&customer, &appointment(start, BookingStatus::Cancelled), start - Duration::hours(3)).is_empty()
        );
        assert!(jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start).is_empty());
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
            jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), now)
                .into_iter()
                .map(|j| j.key.rsplit(':').next().unwrap_or_default().to_owned())
                .collect()
        };
        // The bot was down at the 24-hour moment: ten hours later the 24-hour one is still due.
        assert_eq!(kinds(start - Duration::hours(14)), ["24h"]);
        let late = jobs_for(&customer, &appointment(start, BookingStatus::Confirmed), start - Duration::hours(14));
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
