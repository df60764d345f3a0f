//! The Mini App's booking writes: book, move and cancel through the booking adapter with the
//! chat's checks (the service and staff member known, the time within the booking horizon
//! and free — the adapter refuses a taken or off-grid time —, the customer's own appointment,
//! the cancellation cut-off), the reminders re-planned, and the chat told with the chat's own
//! confirmation and buttons.
//!
//! A booking is idempotent by the client's key, passed to the adapter as the booking's
//! idempotency key (scoped to the customer by the adapter): a repeat answers the same
//! appointment (200 instead of 201) and the chat is not told twice.

use serde::Deserialize;

use super::shop::{logged, speaker, valid_key};
use super::*;
use crate::adapters::{BookingRefusal, Slot};
use crate::bot::booking::{BookingChange, announce};

/// The body of `POST booking/appointments`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewBooking {
    service: String,
    staff: String,
    start: String,
    key: String,
}

/// The body of `POST booking/appointments/{id}/move`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    start: String,
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_booking", message)
}

fn slot_taken() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "slot_taken", "this time is not free; choose another")
}

fn already_cancelled() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "already_cancelled", "the appointment is cancelled")
}

fn too_late() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "too_late", "it is too late to change this appointment here; ask the staff")
}

fn unknown() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such service or staff member")
}

/// An id as the chat reads one: no control characters, 64 characters at most.
fn clean(id: &str) -> String {
    id.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// A start time: RFC 3339, after now and within the booking horizon.
fn start_time(ctx: &Ctx, text: &str) -> ApiResult<DateTime<Utc>> {
    let start = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| invalid("start is an RFC 3339 time, e.g. 2025-01-13T10:00:00+05:00"))?
        .to_utc();
    let now = ctx.clock.now();
    if start <= now || start > now + Duration::days(i64::from(ctx.settings.booking.horizon_days)) {
        return Err(slot_taken());
    }
    Ok(start)
}

/// What a refusal of the adapter answers.
fn refused(refusal: BookingRefusal) -> ApiError {
    match refusal {
        BookingRefusal::SlotTaken | BookingRefusal::NotOffered | BookingRefusal::InPast => slot_taken(),
        BookingRefusal::Unknown => unknown(),
        BookingRefusal::NotFound => ApiError::not_found(),
        BookingRefusal::AlreadyCancelled => already_cancelled(),
    }
}

/// Whether the cut-off forbids changing the appointment now (as in the chat).
fn past_cutoff(ctx: &Ctx, a: &Appointment) -> bool {
    a.start - ctx.clock.now() < ctx.settings.booking.cancel_cutoff
}

/// The appointment's reminders follow the change (the reconciliation catches up on failure).
async fn replan(ctx: &Ctx, caller: &Caller, appointment: &Appointment, answered: Option<&str>) -> ApiResult<()> {
    if let Some(answer) = answered {
        ctx.store.answer_reminders(&appointment.id, answer, ctx.clock.now()).await?;
    }
    if let Err(error) = crate::bot::reminders::booking_changed(ctx, caller.customer(), appointment).await {
        tracing::warn!(
            booking = %appointment.id, error = %format!("{error:#}"),
            "the reminders of a booking could not be planned now; the reconciliation will"
        );
    }
    Ok(())
}

/// Tells the chat, with the chat's own confirmation (best effort).
async fn tell(
    state: &MiniAppState,
    caller: &Caller,
    appointment: &Appointment,
    change: BookingChange,
) -> ApiResult<()> {
    let ctx = &state.ctx;
    let booking = ctx.adapters.booking.clone();
    let services = ctx.adapters.call(booking.services()).await?;
    let staff = ctx.adapters.call(booking.staff()).await?;
    let speaker = speaker(state, caller).await?;
    logged(announce(&speaker, appointment, change, &services, &staff).await, "booking");
    Ok(())
}

async fn answer(state: &MiniAppState, caller: &Caller, status: StatusCode, a: &Appointment) -> ApiResult<Response> {
    let ctx = &state.ctx;
    let booking = ctx.adapters.booking.clone();
    let services = ctx.adapters.call(booking.services()).await?;
    let staff = ctx.adapters.call(booking.staff()).await?;
    Ok((status, Json(appointment_json(ctx, a, &services, &staff, caller.locale))).into_response())
}

/// One of the customer's own appointments, else 404 (audited: it counts as probing).
async fn own(state: &MiniAppState, caller: &Caller, id: &str) -> ApiResult<Appointment> {
    let ctx = &state.ctx;
    let id = clean(id);
    let booking = ctx.adapters.booking.clone();
    let found =
        if id.is_empty() { None } else { ctx.adapters.call(booking.appointment(caller.customer(), &id)).await? };
    match found {
        Some(a) => Ok(a),
        None => {
            audit(state, caller.user_id, Some(caller), "booking.not_found", Some(&id)).await?;
            Err(ApiError::not_found())
        }
    }
}

/// `POST booking/appointments {service, staff, start, key}`: 201 and the appointment (200 for
/// a repeat of the same key).
pub(super) async fn book(State(state): St, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let asked: NewBooking = serde_json::from_slice(&body)
        .map_err(|_| invalid("expected {\"service\", \"staff\", \"start\": RFC 3339, \"key\"}"))?;
    if !valid_key(&asked.key) {
        return Err(invalid("the key is 8 to 64 letters, digits, '-' or '_'"));
    }
    let (service, member) = (clean(&asked.service), clean(&asked.staff));
    let booking = ctx.adapters.booking.clone();
    let services = ctx.adapters.call(booking.services()).await?;
    let staff = ctx.adapters.call(booking.staff()).await?;
    let known = services.iter().any(|s| s.code == service)
        && staff.iter().any(|s| s.id == member && s.services.contains(&service));
    if !known {
        return Err(unknown());
    }
    let start = start_time(ctx, &asked.start)?;
    // What the customer had: a repeat of the key answers one of these.
    let before = ctx.adapters.call(booking.appointments(caller.customer(), ctx.clock.now())).await?;
    let slot = Slot { start, staff: member };
    match ctx.adapters.call(booking.book(caller.customer(), &service, &slot, &asked.key)).await? {
        Ok(appointment) => {
            let repeat =
                appointment.status != BookingStatus::Confirmed || before.iter().any(|a| a.id == appointment.id);
            if repeat {
                audit(&state, caller.user_id, Some(&caller), "booking.read", Some(&appointment.id)).await?;
                return answer(&state, &caller, StatusCode::OK, &appointment).await;
            }
            audit(&state, caller.user_id, Some(&caller), "booking.created", Some(&appointment.id)).await?;
            replan(ctx, &caller, &appointment, None).await?;
            tell(&state, &caller, &appointment, BookingChange::Booked).await?;
            answer(&state, &caller, StatusCode::CREATED, &appointment).await
        }
        Err(refusal) => {
            audit(&state, caller.user_id, Some(&caller), "booking.slot_taken", None).await?;
            Err(refused(refusal))
        }
    }
}

/// `POST booking/appointments/{id}/move {start}`: the same staff member at another time.
pub(super) async fn move_to(
    State(state): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let asked: Move = serde_json::from_slice(&body).map_err(|_| invalid("expected {\"start\": RFC 3339}"))?;
    let appointment = own(&state, &caller, &id).await?;
    if appointment.status != BookingStatus::Confirmed {
        return Err(already_cancelled());
    }
    if past_cutoff(ctx, &appointment) {
        audit(&state, caller.user_id, Some(&caller), "booking.too_late", Some(&appointment.id)).await?;
        return Err(too_late());
    }
    let start = start_time(ctx, &asked.start)?;
    let slot = Slot { start, staff: appointment.staff.clone() };
    let booking = ctx.adapters.booking.clone();
    match ctx.adapters.call(booking.reschedule(caller.customer(), &appointment.id, &slot)).await? {
        Ok(moved) => {
            audit(&state, caller.user_id, Some(&caller), "booking.moved", Some(&moved.id)).await?;
            replan(ctx, &caller, &moved, Some("rescheduled")).await?;
            tell(&state, &caller, &moved, BookingChange::Moved).await?;
            answer(&state, &caller, StatusCode::OK, &moved).await
        }
        Err(refusal) => {
            audit(&state, caller.user_id, Some(&caller), "booking.slot_taken", Some(&appointment.id)).await?;
            Err(refused(refusal))
        }
    }
}

/// `POST booking/appointments/{id}/cancel`: cancelled (a repeat answers it as it is).
pub(super) async fn cancel(State(state): St, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Response> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    booking_present(ctx)?;
    let appointment = own(&state, &caller, &id).await?;
    if appointment.status != BookingStatus::Confirmed {
        audit(&state, caller.user_id, Some(&caller), "booking.read", Some(&appointment.id)).await?;
        return answer(&state, &caller, StatusCode::OK, &appointment).await;
    }
    if past_cutoff(ctx, &appointment) {
        audit(&state, caller.user_id, Some(&caller), "booking.too_late", Some(&appointment.id)).await?;
        return Err(too_late());
    }
    let booking = ctx.adapters.booking.clone();
    match ctx.adapters.call(booking.cancel(caller.customer(), &appointment.id)).await? {
        Ok(cancelled) => {
            audit(&state, caller.user_id, Some(&caller), "booking.cancelled", Some(&cancelled.id)).await?;
            replan(ctx, &caller, &cancelled, Some("cancelled")).await?;
            tell(&state, &caller, &cancelled, BookingChange::Cancelled).await?;
            answer(&state, &caller, StatusCode::OK, &cancelled).await
        }
        Err(BookingRefusal::AlreadyCancelled) => {
            let now = own(&state, &caller, &appointment.id).await?;
            answer(&state, &caller, StatusCode::OK, &now).await
        }
        Err(refusal) => Err(refused(refusal)),
    }
}
