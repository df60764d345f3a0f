//! F7 booking: a service (asked when not named), the customer's regular staff member first,
//! free times as buttons grouped by day — or a typed time («в понедельник после 15», «20.01 в
//! 14:00», "tomorrow at 4 pm") answered with that time or the nearest free ones — then a
//! confirmation. «Мои записи», moves and cancellations (until a configurable cut-off), and the
//! answers to reminders; a booking made, moved or cancelled has its reminders planned or
//! cancelled at once ([`reminders::booking_changed`]). Two customers confirming one time: the database lets one have it, the
//! other hears it was just taken and gets fresh times.
//!
//! Owns [`BookingButton`] (read in [`buttons`]) and the question of a time while free times
//! are shown (the `ChoosingTime` state: [`answers_time`], [`on_time`]).
//!
//! ```text
//! > хочу записаться на стрижку
//! < Ваш постоянный мастер — Анна. Свободно: завтра в 12:00 и 16:00, послезавтра в 10:00.
//!   Выберите время или напишите удобное.      [завтра 12:00] [завтра 16:00] [послезавтра 10:00]
//! [завтра 12:00]
//! < Стрижка у Анны, завтра (12 января) в 12:00, 60 мин, 5 000 ₸. Записать?   [Записаться] [Отмена]
//! [Записаться]
//! < ✅ Вы записаны: стрижка, Анна, 12 января в 12:00.        (and an .ics file)
//! ```

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::InputFile;

use super::general::GeneralButton;
use super::keyboards::{ButtonKind, arg, id, pressed, tag_and_arg, timestamp};
use super::speaker::Speaker;
use super::staff::StaffButton;
use super::state::{Draft, State};
use super::understanding::{classify, is_cancel, moves_on};
use super::{Ctx, HandlerResult, Turn, reminders, shop};
use crate::adapters::{Appointment, BookingRefusal, Service, Slot, StaffMember};
use crate::domain::Locale;
use crate::domain::datetime::{day_label, day_with_date, format_date, format_time};
use crate::domain::money::format_money;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::{Entities, Intent};

/// How many free times are offered as buttons.
const MAX_SLOT_BUTTONS: usize = 8;
/// How many days of free times the first offer covers.
const OFFER_DAYS: usize = 2;
/// How many alternatives a typed time that is not free gets.
const ALTERNATIVES: usize = 4;

/// The booking buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BookingButton {
    /// Book this service (with this staff member, when chosen).
    Service { service: String, staff: Option<String> },
    /// This free start time (Unix seconds) of this staff member for this service.
    Slot { service: String, staff: String, at: i64 },
    /// Confirm the drafted booking with this idempotency key.
    Confirm(String),
    /// Drop the drafted booking (or move).
    CancelDraft,
    /// Choose a new time for this booking.
    Move(String),
    /// Move this booking to this start time of this staff member.
    MoveSlot { booking: String, staff: String, at: i64 },
    /// "Cancel this booking?"
    AskCancel(String),
    /// Yes, cancel it.
    ConfirmCancel(String),
    /// No, keep it.
    Keep,
    /// "I'll come" on a reminder.
    ReminderConfirm(String),
    /// The customer's bookings.
    List,
}

impl ButtonKind for BookingButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        &[Capability::Booking]
    }

    const TAGS: &'static [&'static str] = &["bv", "bs", "bc", "bx", "mv", "ms", "ca", "cc", "ck", "rc", "mb"];

    fn encode(&self) -> String {
        match self {
            BookingButton::Service { service, staff: None } => format!("bv:{}", arg(service)),
            BookingButton::Service { service, staff: Some(staff) } => format!("bv:{}:{}", arg(service), arg(staff)),
            BookingButton::Slot { service, staff, at } => format!("bs:{}:{}:{at}", arg(service), arg(staff)),
            BookingButton::Confirm(key) => format!("bc:{}", arg(key)),
            BookingButton::CancelDraft => "bx".into(),
            BookingButton::Move(id) => format!("mv:{}", arg(id)),
            BookingButton::MoveSlot { booking, staff, at } => format!("ms:{}:{}:{at}", arg(booking), arg(staff)),
            BookingButton::AskCancel(id) => format!("ca:{}", arg(id)),
            BookingButton::ConfirmCancel(id) => format!("cc:{}", arg(id)),
            BookingButton::Keep => "ck".into(),
            BookingButton::ReminderConfirm(id) => format!("rc:{}", arg(id)),
            BookingButton::List => "mb".into(),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("bv", arg) => match arg.split_once(':') {
                Some((service, staff)) => BookingButton::Service { service: id(service)?, staff: Some(id(staff)?) },
                None => BookingButton::Service { service: id(arg)?, staff: None },
            },
            ("bs", arg) => {
                let mut parts = arg.splitn(3, ':');
                let (service, staff, at) = (parts.next()?, parts.next()?, parts.next()?);
                BookingButton::Slot { service: id(service)?, staff: id(staff)?, at: timestamp(at)? }
            }
            ("bc", key) => BookingButton::Confirm(id(key)?),
            ("bx", "") => BookingButton::CancelDraft,
            ("mv", booking) => BookingButton::Move(id(booking)?),
            ("ms", arg) => {
                let mut parts = arg.splitn(3, ':');
                let (booking, staff, at) = (parts.next()?, parts.next()?, parts.next()?);
                BookingButton::MoveSlot { booking: id(booking)?, staff: id(staff)?, at: timestamp(at)? }
            }
            ("ca", booking) => BookingButton::AskCancel(id(booking)?),
            ("cc", booking) => BookingButton::ConfirmCancel(id(booking)?),
            ("ck", "") => BookingButton::Keep,
            ("rc", booking) => BookingButton::ReminderConfirm(id(booking)?),
            ("mb", "") => BookingButton::List,
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<BookingButton>().endpoint(|turn: Turn, button: BookingButton| async move {
        let turn = &turn;
        match button {
            BookingButton::Service { service, staff } => service_chosen(turn, &service, staff.as_deref()).await,
            BookingButton::Slot { service, staff, at } => slot_chosen(turn, &service, &staff, at).await,
            BookingButton::Confirm(key) => confirm(turn, &key).await,
            BookingButton::CancelDraft | BookingButton::Keep => keep(turn).await,
            BookingButton::Move(id) => move_pressed(turn, &id).await,
            BookingButton::MoveSlot { booking, staff, at } => move_slot_chosen(turn, &booking, &staff, at).await,
            BookingButton::AskCancel(id) => ask_cancel(turn, &id).await,
            BookingButton::ConfirmCancel(id) => cancel_confirmed(turn, &id).await,
            BookingButton::ReminderConfirm(id) => reminder_confirmed(turn, &id).await,
            BookingButton::List => list(turn).await,
        }
    })
}

/// What the customer has chosen so far.
struct Choice {
    service: Service,
    staff: Option<StaffMember>,
}

async fn catalogue(turn: &Turn) -> Result<(Vec<Service>, Vec<StaffMember>), BotError> {
    let booking = turn.ctx.adapters.booking.clone();
    let services = turn.call(booking.services()).await?;
    let staff = turn.call(booking.staff()).await?;
    Ok((services, staff))
}

fn staff_name(staff: &[StaffMember], id: &str, locale: Locale) -> String {
    staff.iter().find(|s| s.id == id).map_or_else(|| id.to_owned(), |s| s.name.get(locale).to_owned())
}

fn service_name(services: &[Service], code: &str, locale: Locale) -> String {
    services.iter().find(|s| s.code == code).map_or_else(|| code.to_owned(), |s| s.name.get(locale).to_owned())
}

fn local(turn: &Turn, at: DateTime<Utc>) -> NaiveDateTime {
    turn.ctx.to_local(at)
}

/// «Хочу записаться на стрижку [к Анне] [завтра в 16]».
pub(super) async fn start(turn: &Turn, entities: &Entities) -> HandlerResult {
    let (services, staff) = catalogue(turn).await?;
    let named_staff = entities.staff.as_deref().and_then(|id| staff.iter().find(|s| s.id == id)).cloned();
    let service = match entities.service.as_deref().and_then(|code| services.iter().find(|s| s.code == code)) {
        Some(service) => service.clone(),
        None => {
            // A staff member with one service names it.
            let only = named_staff
                .as_ref()
                .filter(|s| s.services.len() == 1)
                .and_then(|s| services.iter().find(|v| v.code == s.services[0]));
            match only {
                Some(service) => service.clone(),
                None => return ask_service(turn, &services, named_staff.as_ref()).await,
            }
        }
    };
    let staff_for_service = named_staff.filter(|s| s.services.contains(&service.code));
    let choice = Choice { service, staff: staff_for_service };
    if let Some(from) = earliest_time(turn, entities) {
        return offer_from(turn, choice, None, from, &staff).await;
    }
    let wanted = wanted_time(turn, entities);
    offer(turn, choice, None, wanted, &staff).await
}

/// «после 15», «в обед», «завтра после 16»: the earliest local time that suits (today's when
/// it is still ahead and no day was named, else the next day's).
fn earliest_time(turn: &Turn, entities: &Entities) -> Option<NaiveDateTime> {
    let time = entities.time_from.as_deref().and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())?;
    let now = turn.ctx.local_now();
    match entities.date.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
        Some(date) => Some(date.and_time(time).max(now)),
        None => {
            let at = now.date().and_time(time);
            Some(if at > now { at } else { at + Duration::days(1) })
        }
    }
}

/// The nearest free times from `from` on: the named or regular staff member's; when the
/// regular one is busy that day, anyone's who provides the service.
async fn offer_from(
    turn: &Turn,
    mut choice: Choice,
    moving: Option<&Appointment>,
    from: NaiveDateTime,
    staff: &[StaffMember],
) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let booking = turn.ctx.adapters.booking.clone();
    let named = choice.staff.is_some();
    let mut intro = Vec::new();
    settle_staff(turn, &id, &mut choice, moving, staff, &mut intro).await?;
    let now = turn.ctx.clock.now();
    let horizon = now + Duration::days(i64::from(turn.ctx.settings.booking.horizon_days));
    let code = choice.service.code.clone();
    // From that time of day on, that day or later; the first day that has any.
    let after = |slots: Vec<Slot>| -> Vec<Slot> {
        let suits: Vec<Slot> = slots
            .into_iter()
            .filter(|s| {
                let at = local(turn, s.start);
                at >= from && at.time() >= from.time()
            })
            .collect();
        let first_day = suits.first().map(|s| local(turn, s.start).date());
        suits.into_iter().filter(|s| Some(local(turn, s.start).date()) == first_day).take(MAX_SLOT_BUTTONS).collect()
    };
    let staff_id = choice.staff.as_ref().map(|s| s.id.clone());
    let mut slots = after(turn.call(booking.free_slots(&code, staff_id.as_deref(), now, horizon)).await?);
    let that_day = |slots: &[Slot]| slots.first().is_some_and(|s| local(turn, s.start).date() == from.date());
    if let Some(member) = choice.staff.clone().filter(|_| !named && !that_day(&slots)) {
        let anyone = after(turn.call(booking.free_slots(&code, None, now, horizon)).await?);
        if that_day(&anyone) {
            intro.push(turn.t("booking-staff-busy", &[("name", Arg::from(member.name.get(turn.locale)))]));
            choice.staff = None;
            slots = anyone;
        }
    }
    turn.set_state(State::ChoosingTime {
        service: code.clone(),
        staff: choice.staff.as_ref().map(|s| s.id.clone()),
        moving: moving.map(|m| m.id.clone()),
    })
    .await?;
    if slots.is_empty() {
        intro.push(turn.t("booking-no-slots", &[]));
        return turn.say(intro.join("\n")).await.map(drop);
    }
    let with_names = choice.staff.is_none();
    let times = describe_slots(turn, &slots, staff, with_names);
    intro.push(turn.t("booking-free-from", &[("from", Arg::from(format_time(from))), ("times", Arg::from(times))]));
    show_slots(turn, intro.join("\n"), &code, &slots, moving, staff, with_names).await
}

/// The one provider of the service, else (for a new booking) the customer's regular staff
/// member when they provide it, said in `intro`.
async fn settle_staff(
    turn: &Turn,
    id: &crate::adapters::CustomerId,
    choice: &mut Choice,
    moving: Option<&Appointment>,
    staff: &[StaffMember],
    intro: &mut Vec<String>,
) -> Result<(), BotError> {
    let providers: Vec<&StaffMember> = staff.iter().filter(|s| s.services.contains(&choice.service.code)).collect();
    if choice.staff.is_none() && providers.len() == 1 {
        choice.staff = Some(providers[0].clone());
    }
    let booking = turn.ctx.adapters.booking.clone();
    if choice.staff.is_none()
        && moving.is_none()
        && let Some(regular) = turn.call(booking.preferred_staff(id)).await?
        && let Some(member) = staff.iter().find(|s| s.id == regular && s.services.contains(&choice.service.code))
    {
        intro.push(turn.t("booking-regular-staff", &[("name", Arg::from(member.name.get(turn.locale)))]));
        choice.staff = Some(member.clone());
    }
    Ok(())
}

/// The services as buttons.
async fn ask_service(turn: &Turn, services: &[Service], staff: Option<&StaffMember>) -> HandlerResult {
    let rows = services
        .iter()
        .filter(|s| staff.is_none_or(|m| m.services.contains(&s.code)))
        .map(|s| {
            let label = turn.t(
                "booking-service-button",
                &[
                    ("name", Arg::from(s.name.get(turn.locale))),
                    ("price", Arg::from(format_money(s.price, &turn.ctx.settings.currency, turn.locale))),
                ],
            );
            vec![(label, BookingButton::Service { service: s.code.clone(), staff: staff.map(|m| m.id.clone()) })]
        })
        .collect();
    turn.say_with(turn.t("booking-ask-service", &[]), turn.buttons().markup(rows)).await?;
    Ok(())
}

/// A service chosen by button.
pub(super) async fn service_chosen(turn: &Turn, code: &str, staff_id: Option<&str>) -> HandlerResult {
    let (services, staff) = catalogue(turn).await?;
    let Some(service) = services.iter().find(|s| s.code == code).cloned() else {
        return turn.say(turn.t("booking-unknown-service", &[])).await.map(drop);
    };
    let member =
        staff_id.and_then(|id| staff.iter().find(|s| s.id == id && s.services.contains(&service.code))).cloned();
    offer(turn, Choice { service, staff: member }, None, None, &staff).await
}

/// The date and time a message named, as local wall time (a date alone: from opening).
fn wanted_time(turn: &Turn, entities: &Entities) -> Option<NaiveDateTime> {
    let today = turn.ctx.local_now().date();
    let date = entities.date.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let time = entities.time.as_deref().and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok());
    match (date, time) {
        (Some(date), Some(time)) => Some(date.and_time(time)),
        (Some(date), None) => Some(date.and_time(NaiveTime::MIN)),
        // A time alone: today if it is still ahead, else tomorrow.
        (None, Some(time)) => {
            let now = turn.ctx.local_now();
            let at = today.and_time(time);
            Some(if at > now { at } else { at + Duration::days(1) })
        }
        (None, None) => None,
    }
}

/// The free times of the choice: near `wanted` when the customer named a time, else the next
/// days'. The regular staff member goes first.
async fn offer(
    turn: &Turn,
    mut choice: Choice,
    moving: Option<&Appointment>,
    wanted: Option<NaiveDateTime>,
    staff: &[StaffMember],
) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let booking = turn.ctx.adapters.booking.clone();
    let mut intro = Vec::new();
    settle_staff(turn, &id, &mut choice, moving, staff, &mut intro).await?;
    let now = turn.ctx.clock.now();
    let horizon = now + Duration::days(i64::from(turn.ctx.settings.booking.horizon_days));
    let staff_id = choice.staff.as_ref().map(|s| s.id.clone());
    let mut slots = turn.call(booking.free_slots(&choice.service.code, staff_id.as_deref(), now, horizon)).await?;
    // A time that has begun is not offered, whatever the booking system lists.
    slots.retain(|s| s.start > now);
    turn.set_state(State::ChoosingTime {
        service: choice.service.code.clone(),
        staff: staff_id.clone(),
        moving: moving.map(|m| m.id.clone()),
    })
    .await?;
    if let Some(wanted) = wanted {
        return answer_wanted(turn, &choice, moving, wanted, &slots, staff, intro).await;
    }
    if slots.is_empty() {
        intro.push(turn.t("booking-no-slots", &[]));
        return turn.say(intro.join("\n")).await.map(drop);
    }
    let shown = first_days(&slots, turn);
    intro.push(
        turn.t("booking-free", &[("times", Arg::from(describe_slots(turn, &shown, staff, choice.staff.is_none())))]),
    );
    intro.push(turn.t("booking-or-write", &[]));
    show_slots(turn, intro.join("\n"), &choice.service.code, &shown, moving, staff, choice.staff.is_none()).await
}

/// The slots of the first few days that have any, at most as many as there are buttons.
fn first_days(slots: &[Slot], turn: &Turn) -> Vec<Slot> {
    let mut days: Vec<NaiveDate> = Vec::new();
    let mut out = Vec::new();
    for slot in slots {
        let day = local(turn, slot.start).date();
        if !days.contains(&day) {
            if days.len() == OFFER_DAYS {
                break;
            }
            days.push(day);
        }
        out.push(slot.clone());
        if out.len() == MAX_SLOT_BUTTONS {
            break;
        }
    }
    out
}

/// «завтра в 12:00 и 16:00, послезавтра в 10:00» (with the staff member's name when times of
/// several people are shown).
fn describe_slots(turn: &Turn, slots: &[Slot], staff: &[StaffMember], with_names: bool) -> String {
    let today = turn.ctx.local_now().date();
    let mut groups: Vec<(NaiveDate, Vec<String>)> = Vec::new();
    for slot in slots {
        let at = local(turn, slot.start);
        let mut time = format_time(at);
        if with_names {
            time = format!("{time} ({})", staff_name(staff, &slot.staff, turn.locale));
        }
        match groups.last_mut() {
            Some((day, times)) if *day == at.date() => times.push(time),
            _ => groups.push((at.date(), vec![time])),
        }
    }
    let and = turn.t("booking-and", &[]);
    groups
        .into_iter()
        .map(|(day, times)| {
            let joined = match times.as_slice() {
                [one] => one.clone(),
                [rest @ .., last] => format!("{} {and} {last}", rest.join(", ")),
                [] => String::new(),
            };
            turn.t(
                "booking-day-times",
                &[("day", Arg::from(day_label(day, today, turn.locale))), ("times", Arg::from(joined))],
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The slots as buttons, two a row.
async fn show_slots(
    turn: &Turn,
    text: String,
    service: &str,
    slots: &[Slot],
    moving: Option<&Appointment>,
    staff: &[StaffMember],
    with_names: bool,
) -> HandlerResult {
    let today = turn.ctx.local_now().date();
    let buttons: Vec<(String, BookingButton)> = slots
        .iter()
        .map(|slot| {
            let at = local(turn, slot.start);
            let mut label = format!("{} {}", day_label(at.date(), today, turn.locale), format_time(at));
            if with_names {
                label = format!("{label} · {}", staff_name(staff, &slot.staff, turn.locale));
            }
            let callback = match moving {
                Some(m) => BookingButton::MoveSlot {
                    booking: m.id.clone(),
                    staff: slot.staff.clone(),
                    at: slot.start.timestamp(),
                },
                None => BookingButton::Slot {
                    service: service.to_owned(),
                    staff: slot.staff.clone(),
                    at: slot.start.timestamp(),
                },
            };
            (label, callback)
        })
        .collect();
    let rows = buttons.chunks(2).map(<[_]>::to_vec).collect();
    turn.say_with(text, turn.buttons().markup(rows)).await?;
    Ok(())
}

/// A typed time: that slot when it is free, else why not and the nearest free ones.
async fn answer_wanted(
    turn: &Turn,
    choice: &Choice,
    moving: Option<&Appointment>,
    wanted: NaiveDateTime,
    slots: &[Slot],
    staff: &[StaffMember],
    mut intro: Vec<String>,
) -> HandlerResult {
    let date_only = wanted.time() == NaiveTime::MIN;
    if !date_only && let Some(slot) = slots.iter().find(|s| local(turn, s.start) == wanted) {
        if !intro.is_empty() {
            turn.say(intro.join("\n")).await?;
        }
        return propose(turn, &choice.service.code, slot.clone(), moving, staff).await;
    }
    if date_only {
        let that_day: Vec<Slot> = slots
            .iter()
            .filter(|s| local(turn, s.start).date() == wanted.date())
            .take(MAX_SLOT_BUTTONS)
            .cloned()
            .collect();
        if !that_day.is_empty() {
            intro.push(turn.t(
                "booking-free",
                &[("times", Arg::from(describe_slots(turn, &that_day, staff, choice.staff.is_none())))],
            ));
            return show_slots(
                turn,
                intro.join("\n"),
                &choice.service.code,
                &that_day,
                moving,
                staff,
                choice.staff.is_none(),
            )
            .await;
        }
    }
    let now = turn.ctx.local_now();
    let reason = if (date_only && wanted.date() < now.date()) || (!date_only && wanted <= now) {
        turn.t("booking-in-past", &[])
    } else {
        match turn.ctx.settings.booking.working_hours.on_date(wanted.date(), &turn.ctx.settings.booking.holidays) {
            None => turn.t("booking-day-off", &[("day", Arg::from(format_date(wanted.date(), turn.locale)))]),
            Some(hours) if !date_only && !hours.contains(minutes_of_day(wanted)) => turn.t(
                "booking-outside-hours",
                &[("open", Arg::from(hours.open_text())), ("close", Arg::from(hours.close_text()))],
            ),
            _ if date_only => {
                turn.t("booking-day-full", &[("day", Arg::from(format_date(wanted.date(), turn.locale)))])
            }
            _ => turn.t(
                "booking-taken",
                &[
                    ("time", Arg::from(format_time(wanted))),
                    ("day", Arg::from(format_date(wanted.date(), turn.locale))),
                ],
            ),
        }
    };
    intro.push(reason);
    let nearest = nearest(turn, slots, wanted, date_only);
    if nearest.is_empty() {
        intro.push(turn.t("booking-no-slots", &[]));
        return turn.say(intro.join("\n")).await.map(drop);
    }
    intro.push(
        turn.t(
            "booking-nearest",
            &[("times", Arg::from(describe_slots(turn, &nearest, staff, choice.staff.is_none())))],
        ),
    );
    show_slots(turn, intro.join("\n"), &choice.service.code, &nearest, moving, staff, choice.staff.is_none()).await
}

fn minutes_of_day(at: NaiveDateTime) -> u32 {
    use chrono::Timelike;
    at.hour() * 60 + at.minute()
}

/// The free slots nearest to `wanted`: the same day first (from the wanted time on, then
/// before it), then the nearest days at about the same time of day; earliest first.
fn nearest(turn: &Turn, slots: &[Slot], wanted: NaiveDateTime, date_only: bool) -> Vec<Slot> {
    let mut scored: Vec<((i64, bool, i64), &Slot)> = slots
        .iter()
        .map(|s| {
            let at = local(turn, s.start);
            let days = (at.date() - wanted.date()).num_days();
            // Later days before earlier ones at the same distance.
            let day_rank = if days >= 0 { days * 2 } else { -days * 2 + 1 };
            let minutes = if date_only { 0 } else { (at.time() - wanted.time()).num_minutes().abs() };
            ((day_rank, days == 0 && at < wanted, minutes), s)
        })
        .collect();
    scored.sort_by_key(|(score, s)| (*score, s.start));
    // At most two a day, so the days around the wanted one are all offered.
    let mut per_day: std::collections::BTreeMap<NaiveDate, usize> = std::collections::BTreeMap::new();
    let mut out: Vec<Slot> = scored
        .into_iter()
        .filter(|(_, s)| {
            let n = per_day.entry(local(turn, s.start).date()).or_default();
            *n += 1;
            *n <= 2
        })
        .take(ALTERNATIVES)
        .map(|(_, s)| s.clone())
        .collect();
    out.sort();
    out
}

/// Whether a message answers «Выберите время или напишите удобное»: «отмена», or anything but
/// a clear request for something else (which leaves the question).
pub(super) fn answers_time(turn: Turn, text: String) -> bool {
    if is_cancel(&text) {
        return true;
    }
    let result = classify(&turn, &text);
    let other_request =
        moves_on(&result, Intent::Booking) && !matches!(result.intent, Intent::BookingReschedule | Intent::Unknown);
    !other_request
}

/// A time typed while free times are shown (for `service`, with `staff`, moving `moving`).
pub(super) async fn on_time(
    turn: Turn,
    text: String,
    (service, staff, moving): (String, Option<String>, Option<String>),
) -> HandlerResult {
    let (turn, text) = (&turn, text.as_str());
    if is_cancel(text) {
        return keep(turn).await;
    }
    let result = classify(turn, text);
    if on_time_text(turn, &result.entities, &service, staff.as_deref(), moving.as_deref()).await? {
        return Ok(());
    }
    turn.say(turn.t("booking-time-not-understood", &[])).await.map(drop)
}

/// A message while free times are shown: a typed time, or something else.
/// Returns `false` when the text names no time (the caller handles it).
async fn on_time_text(
    turn: &Turn,
    entities: &Entities,
    service: &str,
    staff_id: Option<&str>,
    moving: Option<&str>,
) -> Result<bool, BotError> {
    let from = earliest_time(turn, entities);
    let Some(wanted) = from.or_else(|| wanted_time(turn, entities)) else { return Ok(false) };
    let (services, staff) = catalogue(turn).await?;
    let Some(service) = services.iter().find(|s| s.code == service).cloned() else { return Ok(false) };
    let member = staff_id.and_then(|id| staff.iter().find(|s| s.id == id)).cloned();
    let moving = match moving {
        Some(booking_id) => match own_appointment(turn, booking_id).await? {
            Some(appointment) => Some(appointment),
            None => return Ok(true),
        },
        None => None,
    };
    let choice = Choice { service, staff: member };
    match from {
        Some(from) => offer_from(turn, choice, moving.as_ref(), from, &staff).await?,
        None => offer(turn, choice, moving.as_ref(), Some(wanted), &staff).await?,
    }
    Ok(true)
}

/// A free time pressed: the summary with «Записаться».
pub(super) async fn slot_chosen(turn: &Turn, service: &str, staff_id: &str, at: i64) -> HandlerResult {
    let Some(start) = DateTime::from_timestamp(at, 0) else { return Ok(()) };
    let (_, staff) = catalogue(turn).await?;
    propose(turn, service, Slot { start, staff: staff_id.to_owned() }, None, &staff).await
}

/// A new time pressed for a move.
pub(super) async fn move_slot_chosen(turn: &Turn, booking_id: &str, staff_id: &str, at: i64) -> HandlerResult {
    let Some(start) = DateTime::from_timestamp(at, 0) else { return Ok(()) };
    let Some(appointment) = own_appointment(turn, booking_id).await? else { return Ok(()) };
    // Cancelled meanwhile (in the Mini App, say): nothing to move.
    if appointment.status != crate::adapters::BookingStatus::Confirmed {
        return turn.say(turn.t("booking-already-cancelled", &[])).await.map(drop);
    }
    let (_, staff) = catalogue(turn).await?;
    propose(turn, &appointment.service, Slot { start, staff: staff_id.to_owned() }, Some(&appointment), &staff).await
}

/// «Стрижка у Анны, завтра (12 января) в 12:00, 60 мин, 5 000 ₸. Записать?»
async fn propose(
    turn: &Turn,
    service_code: &str,
    slot: Slot,
    moving: Option<&Appointment>,
    staff: &[StaffMember],
) -> HandlerResult {
    if slot.start <= turn.ctx.clock.now() {
        return turn.say(turn.t("booking-in-past", &[])).await.map(drop);
    }
    let (services, _) = catalogue(turn).await?;
    let Some(service) = services.iter().find(|s| s.code == service_code) else {
        return turn.say(turn.t("booking-unknown-service", &[])).await.map(drop);
    };
    // Taken while the customer was choosing: say so now, with fresh times. (A move's own
    // time is not free to itself, so it is not checked this way.)
    if moving.is_none() {
        let booking = turn.ctx.adapters.booking.clone();
        let free = turn
            .call(booking.free_slots(&service.code, Some(&slot.staff), slot.start, slot.start + Duration::seconds(1)))
            .await?;
        if !free.contains(&slot) {
            turn.say(turn.t("booking-just-taken", &[])).await?;
            let member = staff.iter().find(|s| s.id == slot.staff).cloned();
            return Box::pin(offer(
                turn,
                Choice { service: service.clone(), staff: member },
                None,
                Some(local(turn, slot.start)),
                staff,
            ))
            .await;
        }
    }
    let at = local(turn, slot.start);
    let args = [
        ("service", Arg::from(service.name.get(turn.locale))),
        ("staff", Arg::from(staff_name(staff, &slot.staff, turn.locale))),
        ("day", Arg::from(day_with_date(at.date(), turn.ctx.local_now().date(), turn.locale))),
        ("time", Arg::from(format_time(at))),
        ("minutes", Arg::Num(i64::from(service.duration_min))),
        ("price", Arg::from(format_money(service.price, &turn.ctx.settings.currency, turn.locale))),
    ];
    let key = shop::new_key();
    let (text, confirm) = match moving {
        Some(m) => {
            let old = local(turn, m.start);
            let mut args = args.to_vec();
            args.push(("old", Arg::from(format!("{}, {}", format_date(old.date(), turn.locale), format_time(old)))));
            (turn.t("booking-move-summary", &args), turn.t("booking-move-button", &[]))
        }
        None => (turn.t("booking-summary", &args), turn.t("booking-confirm-button", &[])),
    };
    let draft =
        Draft::Booking { key: key.clone(), service: service.code.clone(), slot, moving: moving.map(|m| m.id.clone()) };
    turn.set_state(State::with_draft(draft)).await?;
    let markup = turn.buttons().markup(vec![vec![
        (confirm, BookingButton::Confirm(key)),
        (turn.t("cancel-button", &[]), BookingButton::CancelDraft),
    ]]);
    turn.say_with(text, markup).await?;
    Ok(())
}

/// «Записаться» / «Перенести»: books or moves; a time taken meanwhile gets fresh ones.
pub(super) async fn confirm(turn: &Turn, key: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let state = turn.state().await?;
    let (draft_key, service, slot, moving) = match state.draft().cloned() {
        Some(Draft::Booking { key, service, slot, moving }) => (key, service, slot, moving),
        // A second tap on the same button.
        Some(Draft::Booked { key: booked_key, booking_id }) if booked_key == key => {
            return match own_appointment(turn, &booking_id).await? {
                Some(a) => {
                    let (services, staff) = catalogue(turn).await?;
                    let what = describe_appointment(turn, &a, &services, &staff);
                    turn.say(turn.t("booking-already-booked", &[("what", Arg::from(what))])).await.map(drop)
                }
                None => Ok(()),
            };
        }
        _ => return turn.say(turn.t("draft-stale", &[])).await.map(drop),
    };
    if draft_key != key {
        return turn.say(turn.t("draft-stale", &[])).await.map(drop);
    }
    let booking = turn.ctx.adapters.booking.clone();
    let outcome = match &moving {
        Some(booking_id) => turn.call(booking.reschedule(&id, booking_id, &slot)).await?,
        None => turn.call(booking.book(&id, &service, &slot, key)).await?,
    };
    let (services, staff) = catalogue(turn).await?;
    match outcome {
        Ok(appointment) => {
            turn.set_state(State::with_draft(Draft::Booked {
                key: key.to_owned(),
                booking_id: appointment.id.clone(),
            }))
            .await?;
            let action = if moving.is_some() { "booking.move" } else { "booking.create" };
            turn.audit(action, Some(&appointment.id)).await?;
            if moving.is_some() {
                turn.ctx.store.answer_reminders(&appointment.id, "rescheduled", turn.ctx.clock.now()).await?;
            }
            reminders::after_change(&turn.ctx, &id, &appointment).await;
            let change = if moving.is_some() { BookingChange::Moved } else { BookingChange::Booked };
            announce(&turn.speaker().await?, &appointment, change, &services, &staff).await
        }
        Err(BookingRefusal::SlotTaken) => {
            turn.audit("booking.slot_taken", None).await?;
            turn.say(turn.t("booking-just-taken", &[])).await?;
            let Some(service) = services.into_iter().find(|s| s.code == service) else { return Ok(()) };
            let member = staff.iter().find(|s| s.id == slot.staff).cloned();
            let moving_appointment = match &moving {
                Some(booking_id) => own_appointment(turn, booking_id).await?,
                None => None,
            };
            let wanted = local(turn, slot.start);
            offer(turn, Choice { service, staff: member }, moving_appointment.as_ref(), Some(wanted), &staff).await
        }
        Err(refusal) => {
            turn.set_state(State::ready()).await?;
            turn.say(turn.t(refusal_key(refusal), &[])).await.map(drop)
        }
    }
}

fn refusal_key(refusal: BookingRefusal) -> &'static str {
    match refusal {
        BookingRefusal::SlotTaken => "booking-just-taken",
        BookingRefusal::NotOffered => "booking-not-offered",
        BookingRefusal::InPast => "booking-in-past",
        BookingRefusal::Unknown => "booking-unknown-service",
        BookingRefusal::NotFound => "booking-not-found",
        BookingRefusal::AlreadyCancelled => "booking-already-cancelled",
    }
}

/// What happened to an appointment, for its confirmation in the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingChange {
    Booked,
    Moved,
    Cancelled,
}

/// The chat's confirmation of an appointment booked, moved or cancelled — in the chat or in
/// the Mini App alike: booked or moved, with «Мои записи» (whose list has the appointment's
/// move and cancel buttons) and the calendar file; cancelled, with what it was.
pub async fn announce(
    speaker: &Speaker,
    appointment: &Appointment,
    change: BookingChange,
    services: &[Service],
    staff: &[StaffMember],
) -> Result<(), BotError> {
    let locale = speaker.locale;
    if change == BookingChange::Cancelled {
        let what = describe_in(&speaker.ctx, locale, appointment, services, staff);
        speaker.say(speaker.t("booking-cancelled", &[("what", Arg::from(what))]), None).await?;
        return Ok(());
    }
    let at = speaker.ctx.to_local(appointment.start);
    let args = [
        ("service", Arg::from(service_name(services, &appointment.service, locale))),
        ("staff", Arg::from(staff_name(staff, &appointment.staff, locale))),
        ("date", Arg::from(format_date(at.date(), locale))),
        ("time", Arg::from(format_time(at))),
    ];
    let key = if change == BookingChange::Moved { "booking-moved" } else { "booking-done" };
    let markup = speaker.buttons().markup(vec![vec![(speaker.t("booking-my-button", &[]), BookingButton::List)]]);
    speaker.say(speaker.t(key, &args), Some(markup)).await?;
    send_calendar(speaker, appointment, change == BookingChange::Moved, services, staff).await;
    Ok(())
}

/// An "add to calendar" file for the appointment (best effort: the booking is made either way).
/// A moved appointment's file keeps its UID and raises its SEQUENCE, so calendars update the
/// event rather than add a second one.
async fn send_calendar(
    speaker: &Speaker,
    appointment: &Appointment,
    moved: bool,
    services: &[Service],
    staff: &[StaffMember],
) {
    let summary = format!(
        "{} — {}",
        service_name(services, &appointment.service, speaker.locale),
        staff_name(staff, &appointment.staff, speaker.locale)
    );
    let ctx = &speaker.ctx;
    let sequence = match ctx.store.calendar_sequence(&appointment.id, moved).await {
        Ok(sequence) => sequence,
        Err(error) => {
            tracing::warn!(%error, "could not keep the calendar file's sequence");
            i64::from(moved)
        }
    };
    let ics = calendar_file(appointment, &summary, &ctx.settings.business_name, ctx.clock.now(), sequence);
    let file = InputFile::memory(ics.into_bytes()).file_name(format!("booking-{}.ics", appointment.id));
    let caption = speaker.t("booking-calendar-caption", &[]);
    if let Err(error) = speaker.bot.send_document(speaker.chat, file).caption(caption).await {
        tracing::info!(chat = speaker.chat.0, %error, "could not send the calendar file");
    }
}

/// An iCalendar (RFC 5545) event for the appointment.
pub(super) fn calendar_file(
    appointment: &Appointment,
    summary: &str,
    business: &str,
    now: DateTime<Utc>,
    sequence: i64,
) -> String {
    let stamp = |at: DateTime<Utc>| at.format("%Y%m%dT%H%M%SZ").to_string();
    let end = appointment.start + Duration::minutes(i64::from(appointment.duration_min));
    let lines = [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//cabinet//booking//EN".to_owned(),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@cabinet", ics_text(&appointment.id)),
        format!("DTSTAMP:{}", stamp(now)),
        format!("SEQUENCE:{sequence}"),
        format!("DTSTART:{}", stamp(appointment.start)),
        format!("DTEND:{}", stamp(end)),
        format!("SUMMARY:{}", ics_text(summary)),
        format!("LOCATION:{}", ics_text(business)),
        "END:VEVENT".to_owned(),
        "END:VCALENDAR".to_owned(),
    ];
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out
}

/// Text escaped for an iCalendar value.
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,").replace(['\r', '\n'], " ")
}

/// One of the customer's own appointments; an unknown or foreign id is answered and audited.
async fn own_appointment(turn: &Turn, booking_id: &str) -> Result<Option<Appointment>, BotError> {
    let Some(id) = turn.customer_id() else { return Ok(None) };
    let booking = turn.ctx.adapters.booking.clone();
    match turn.call(booking.appointment(&id, booking_id)).await? {
        Some(appointment) => Ok(Some(appointment)),
        None => {
            turn.audit("booking.not_found", Some(booking_id)).await?;
            turn.set_state(State::ready()).await?;
            turn.say(turn.t("booking-not-found", &[])).await?;
            Ok(None)
        }
    }
}

/// The customer's upcoming appointments.
async fn upcoming(turn: &Turn) -> Result<Vec<Appointment>, BotError> {
    let Some(id) = turn.customer_id() else { return Ok(Vec::new()) };
    let booking = turn.ctx.adapters.booking.clone();
    turn.call(booking.appointments(&id, turn.ctx.clock.now())).await
}

fn describe_appointment(turn: &Turn, a: &Appointment, services: &[Service], staff: &[StaffMember]) -> String {
    describe_in(&turn.ctx, turn.locale, a, services, staff)
}

fn describe_in(ctx: &Ctx, locale: Locale, a: &Appointment, services: &[Service], staff: &[StaffMember]) -> String {
    let at = ctx.to_local(a.start);
    ctx.i18n.t(
        locale,
        "booking-item",
        &[
            ("day", Arg::from(day_label(at.date(), ctx.local_now().date(), locale))),
            ("time", Arg::from(format_time(at))),
            ("service", Arg::from(service_name(services, &a.service, locale))),
            ("staff", Arg::from(staff_name(staff, &a.staff, locale))),
        ],
    )
}

/// «Мои записи»: each appointment with «Перенести» and «Отменить».
pub(super) async fn list(turn: &Turn) -> HandlerResult {
    let appointments = upcoming(turn).await?;
    turn.audit("booking.list", None).await?;
    if appointments.is_empty() {
        let markup = turn
            .buttons()
            .markup(vec![vec![(turn.t("booking-new-button", &[]), GeneralButton::Intent(Intent::Booking))]]);
        return turn.say_with(turn.t("booking-none", &[]), markup).await.map(drop);
    }
    let (services, staff) = catalogue(turn).await?;
    let mut text = turn.t("booking-list-title", &[]);
    let mut rows = Vec::new();
    for a in &appointments {
        let line = describe_appointment(turn, a, &services, &staff);
        text.push('\n');
        text.push_str(&line);
        if appointments.len() == 1 {
            rows.push(vec![
                (turn.t("booking-move-short", &[]), BookingButton::Move(a.id.clone())),
                (turn.t("booking-cancel-short", &[]), BookingButton::AskCancel(a.id.clone())),
            ]);
        } else {
            let at = local(turn, a.start);
            let when = format!("{} {}", format_date(at.date(), turn.locale), format_time(at));
            rows.push(vec![
                (turn.t("booking-move-which", &[("when", Arg::from(when.clone()))]), BookingButton::Move(a.id.clone())),
                (turn.t("booking-cancel-which", &[("when", Arg::from(when))]), BookingButton::AskCancel(a.id.clone())),
            ]);
        }
    }
    turn.say_with(text, turn.buttons().markup(rows)).await?;
    Ok(())
}

/// Whether the cut-off forbids changing an appointment in the chat now.
fn past_cutoff(turn: &Turn, a: &Appointment) -> bool {
    a.start - turn.ctx.clock.now() < turn.ctx.settings.booking.cancel_cutoff
}

async fn refuse_past_cutoff(turn: &Turn) -> HandlerResult {
    let minutes = turn.ctx.settings.booking.cancel_cutoff.num_minutes();
    let hours = minutes / 60;
    let phone = turn.ctx.settings.business_phone.clone().unwrap_or_else(|| "none".to_owned());
    let args = [("hours", Arg::Num(hours)), ("minutes", Arg::Num(minutes)), ("phone", Arg::from(phone))];
    let key = if minutes % 60 == 0 && hours > 0 { "booking-cutoff-hours" } else { "booking-cutoff-minutes" };
    let markup = turn.buttons().markup(vec![vec![(turn.t("operator-button", &[]), StaffButton::Operator)]]);
    turn.say_with(turn.t(key, &args), markup).await?;
    Ok(())
}

/// «Перенесите [на пятницу]»: the appointment to move (asked when there are several), then
/// free times of the same staff member near the named day.
pub(super) async fn reschedule(turn: &Turn, entities: &Entities) -> HandlerResult {
    let appointments = upcoming(turn).await?;
    match appointments.as_slice() {
        [] => turn.say(turn.t("booking-none-to-change", &[])).await.map(drop),
        [one] => move_appointment(turn, one, wanted_time(turn, entities)).await,
        several => choose(turn, several, true).await,
    }
}

/// «Отмените запись»: the appointment to cancel (asked when there are several).
pub(super) async fn cancel_request(turn: &Turn) -> HandlerResult {
    let appointments = upcoming(turn).await?;
    match appointments.as_slice() {
        [] => turn.say(turn.t("booking-none-to-change", &[])).await.map(drop),
        [one] => ask_cancel_appointment(turn, one).await,
        several => choose(turn, several, false).await,
    }
}

async fn choose(turn: &Turn, appointments: &[Appointment], moving: bool) -> HandlerResult {
    let (services, staff) = catalogue(turn).await?;
    let rows = appointments
        .iter()
        .map(|a| {
            let label = describe_appointment(turn, a, &services, &staff);
            let callback =
                if moving { BookingButton::Move(a.id.clone()) } else { BookingButton::AskCancel(a.id.clone()) };
            vec![(label, callback)]
        })
        .collect();
    let key = if moving { "booking-which-move" } else { "booking-which-cancel" };
    turn.say_with(turn.t(key, &[]), turn.buttons().markup(rows)).await?;
    Ok(())
}

/// «Перенести» pressed.
pub(super) async fn move_pressed(turn: &Turn, booking_id: &str) -> HandlerResult {
    let Some(appointment) = own_appointment(turn, booking_id).await? else { return Ok(()) };
    move_appointment(turn, &appointment, None).await
}

async fn move_appointment(turn: &Turn, appointment: &Appointment, wanted: Option<NaiveDateTime>) -> HandlerResult {
    if appointment.status != crate::adapters::BookingStatus::Confirmed {
        return turn.say(turn.t("booking-already-cancelled", &[])).await.map(drop);
    }
    if past_cutoff(turn, appointment) {
        return refuse_past_cutoff(turn).await;
    }
    let (services, staff) = catalogue(turn).await?;
    let Some(service) = services.into_iter().find(|s| s.code == appointment.service) else {
        return turn.say(turn.t("booking-unknown-service", &[])).await.map(drop);
    };
    let member = staff.iter().find(|s| s.id == appointment.staff).cloned();
    offer(turn, Choice { service, staff: member }, Some(appointment), wanted, &staff).await
}

/// «Отменить» pressed: asks to confirm.
pub(super) async fn ask_cancel(turn: &Turn, booking_id: &str) -> HandlerResult {
    let Some(appointment) = own_appointment(turn, booking_id).await? else { return Ok(()) };
    ask_cancel_appointment(turn, &appointment).await
}

async fn ask_cancel_appointment(turn: &Turn, appointment: &Appointment) -> HandlerResult {
    if appointment.status != crate::adapters::BookingStatus::Confirmed {
        return turn.say(turn.t("booking-already-cancelled", &[])).await.map(drop);
    }
    if past_cutoff(turn, appointment) {
        return refuse_past_cutoff(turn).await;
    }
    let (services, staff) = catalogue(turn).await?;
    let what = describe_appointment(turn, appointment, &services, &staff);
    let markup = turn.buttons().markup(vec![vec![
        (turn.t("booking-cancel-yes", &[]), BookingButton::ConfirmCancel(appointment.id.clone())),
        (turn.t("booking-cancel-no", &[]), BookingButton::Keep),
    ]]);
    turn.say_with(turn.t("booking-cancel-ask", &[("what", Arg::from(what))]), markup).await?;
    Ok(())
}

/// «Да, отменить».
pub(super) async fn cancel_confirmed(turn: &Turn, booking_id: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let Some(appointment) = own_appointment(turn, booking_id).await? else { return Ok(()) };
    if appointment.status == crate::adapters::BookingStatus::Confirmed && past_cutoff(turn, &appointment) {
        return refuse_past_cutoff(turn).await;
    }
    let booking = turn.ctx.adapters.booking.clone();
    match turn.call(booking.cancel(&id, booking_id)).await? {
        Ok(cancelled) => {
            turn.audit("booking.cancel", Some(&cancelled.id)).await?;
            turn.ctx.store.answer_reminders(&cancelled.id, "cancelled", turn.ctx.clock.now()).await?;
            reminders::after_change(&turn.ctx, &id, &cancelled).await;
            let (services, staff) = catalogue(turn).await?;
            announce(&turn.speaker().await?, &cancelled, BookingChange::Cancelled, &services, &staff).await?;
        }
        Err(refusal) => {
            turn.say(turn.t(refusal_key(refusal), &[])).await?;
        }
    }
    Ok(())
}

/// «Нет, оставить» or the draft's «Отмена».
pub(super) async fn keep(turn: &Turn) -> HandlerResult {
    let state = turn.state().await?;
    if matches!(state, State::ChoosingTime { .. }) || matches!(state.draft(), Some(Draft::Booking { .. })) {
        turn.set_state(State::ready()).await?;
    }
    turn.say(turn.t("booking-kept", &[])).await.map(drop)
}

/// «Приду» on a reminder.
pub(super) async fn reminder_confirmed(turn: &Turn, booking_id: &str) -> HandlerResult {
    let Some(appointment) = own_appointment(turn, booking_id).await? else { return Ok(()) };
    if appointment.status != crate::adapters::BookingStatus::Confirmed {
        return turn.say(turn.t("booking-already-cancelled", &[])).await.map(drop);
    }
    turn.ctx.store.answer_reminders(booking_id, "confirmed", turn.ctx.clock.now()).await?;
    turn.audit("booking.reminder.confirmed", Some(booking_id)).await?;
    turn.say(turn.t("booking-see-you", &[])).await.map(drop)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::adapters::BookingStatus;

    #[test]
    fn a_calendar_file_is_a_valid_event_with_escaped_text() {
        let start = Utc.with_ymd_and_hms(2025, 1, 12, 7, 0, 0).unwrap();
        let appointment = Appointment {
            id: "B-1".into(),
            service: "haircut".into(),
            staff: "anna".into(),
            start,
            duration_min: 60,
            status: BookingStatus::Confirmed,
        };
        let ics = calendar_file(&appointment, "Стрижка — Анна, в салоне; 2 этаж", "Demo Service", start, 2);
        assert!(ics.contains("\r\nSEQUENCE:2\r\n"), "{ics}");
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"), "{ics}");
        assert!(ics.contains("DTSTART:20250112T070000Z\r\n") && ics.contains("DTEND:20250112T080000Z\r\n"), "{ics}");
        assert!(ics.contains("SUMMARY:Стрижка — Анна\\, в салоне\\; 2 этаж\r\n"), "{ics}");
        assert!(ics.contains("UID:B-1@cabinet"), "{ics}");
    }
}
