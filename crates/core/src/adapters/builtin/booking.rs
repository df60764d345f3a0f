//! Appointments: services, staff, free start times; booking, moving and cancelling.
//!
//! The start times a staff member offers ("the grid"): on a day that has rows of theirs in
//! `slots`, exactly those; on other days, from three days after the demo day on (every day
//! when the business has no demo day), every `step_minutes` from opening time while the
//! service ends by closing time. Days off (working hours "off" or not listed, holidays) have
//! none. Wall times are in the business time zone: a start that does not exist (a DST gap) is
//! skipped, an ambiguous one (a DST fold) is the earlier instant. A start is free when no
//! booking of that staff member that is not cancelled overlaps the service's time.
//!
//! A booking or a move is written in one transaction that starts by writing the staff
//! member's row: PostgreSQL locks that row, SQLite takes its write lock (a transaction that
//! starts with a read could not wait for a concurrent writer). Two bookings of one staff
//! member are thus checked for overlaps one after the other; the partial unique index on
//! (staff, start) of the bookings that are not cancelled is the final judge.

use chrono::{Datelike, Days, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use rand::Rng;

use super::*;
use crate::adapters::builtin::import::business_info;
use crate::domain::hours::{Hours, Week, parse_week};
use crate::store::time_to_db;

/// Booking id letters: upper-case letters and digits without 0/O and 1/I.
const ID_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const ID_LEN: usize = 8;
/// How many random ids are tried before giving up (a clash is already unlikely).
const ID_ATTEMPTS: usize = 8;

/// A new booking id: "B-" and eight random letters and digits.
fn new_id() -> String {
    let mut rng = rand::thread_rng();
    let code: String = (0..ID_LEN).map(|_| char::from(ID_ALPHABET[rng.gen_range(0..ID_ALPHABET.len())])).collect();
    format!("B-{code}")
}

/// How far back a booking can start and still overlap a time: bookings longer than a day
/// are not looked for.
fn longest_booking() -> TimeDelta {
    TimeDelta::days(1)
}

/// The instant of a wall time: the earlier one in a fold, none in a gap.
fn instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local).earliest().map(|at| at.with_timezone(&Utc))
}

/// The instant of a closing time: in a gap, the first wall time after it that exists.
fn closing_instant(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=24 * 60).find_map(|m| instant(tz, local + TimeDelta::minutes(m)))
}

/// Everything that decides the grid, bookings aside.
struct Calendar {
    tz: Tz,
    week: Week,
    holidays: Vec<NaiveDate>,
    /// The first day with regular start times (the demo day + 3); every day when `None`.
    regular_from: Option<NaiveDate>,
    step: TimeDelta,
    horizon: TimeDelta,
}

impl Calendar {
    /// The opening hours of `day`; `None` on a day off.
    fn hours(&self, day: NaiveDate) -> Option<Hours> {
        if self.holidays.contains(&day) {
            return None;
        }
        self.week[day.weekday().num_days_from_monday() as usize]
    }

    /// The regular start times of `day` for a service of `length`, earliest first.
    fn regular_starts(&self, day: NaiveDate, length: TimeDelta) -> Vec<DateTime<Utc>> {
        let Some(hours) = self.hours(day) else {
            return Vec::new();
        };
        if self.regular_from.is_some_and(|first| day < first) {
            return Vec::new();
        }
        let midnight = day.and_time(NaiveTime::MIN);
        let end = midnight + TimeDelta::minutes(i64::from(hours.close));
        let Some(close) = closing_instant(self.tz, end) else {
            return Vec::new();
        };
        let mut starts = Vec::new();
        let mut local = midnight + TimeDelta::minutes(i64::from(hours.open));
        while local < end {
            if let Some(start) = instant(self.tz, local)
                && start + length <= close
            {
                starts.push(start);
            }
            local += self.step;
        }
        starts
    }
}

/// A booking's status as stored.
fn status_of(s: &str) -> AdapterResult<BookingStatus> {
    match s {
        "confirmed" => Ok(BookingStatus::Confirmed),
        "cancelled" => Ok(BookingStatus::Cancelled),
        other => Err(AdapterError::Invalid(format!("bookings.status: unknown status {other:?}"))),
    }
}

/// Reads bookings as appointments (an imported booking lasts as long as its service).
const APPOINTMENTS: &str = "SELECT b.id, b.customer_id, b.service, b.staff_id, b.start_at, b.status, \
     COALESCE(b.duration_min, s.duration_min) AS duration_min FROM bookings b JOIN services s ON s.code = b.service";

fn appointment_of(row: &AnyRow) -> AdapterResult<Appointment> {
    let c = Cols::new(row, "bookings");
    let duration = c.i64("duration_min")?;
    Ok(Appointment {
        id: c.text("id")?,
        service: c.text("service")?,
        staff: c.text("staff_id")?,
        start: c.time("start_at")?,
        duration_min: u32::try_from(duration)
            .map_err(|_| AdapterError::Invalid(format!("bookings.duration_min: out of range ({duration})")))?,
        status: status_of(&c.text("status")?)?,
    })
}

/// The customer's booking with this id.
async fn appointment_on(
    conn: &mut AnyConnection,
    id: &CustomerId,
    booking_id: &str,
) -> AdapterResult<Option<Appointment>> {
    let sql = format!("{APPOINTMENTS} WHERE b.customer_id = $1 AND b.id = $2");
    let row = sqlx::query(&sql)
        .bind(id.as_str().to_owned())
        .bind(booking_id.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.as_ref().map(appointment_of).transpose()
}

/// The booking this key made for the customer.
async fn appointment_by_key(
    conn: &mut AnyConnection,
    id: &CustomerId,
    key: &str,
) -> AdapterResult<Option<Appointment>> {
    let sql = format!("{APPOINTMENTS} WHERE b.customer_id = $1 AND b.idempotency_key = $2");
    let row = sqlx::query(&sql)
        .bind(id.as_str().to_owned())
        .bind(key.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    row.as_ref().map(appointment_of).transpose()
}

/// The times (start, length) of the staff member's bookings that are not cancelled and may
/// overlap `[from, to)`, except the booking `except`.
async fn busy_on(
    conn: &mut AnyConnection,
    staff: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<&str>,
) -> AdapterResult<Vec<(DateTime<Utc>, TimeDelta)>> {
    let sql = format!(
        "{APPOINTMENTS} WHERE b.staff_id = $1 AND b.status <> 'cancelled' AND b.start_at >= $2 AND b.start_at < $3"
    );
    let rows = sqlx::query(&sql)
        .bind(staff.to_owned())
        .bind(time_to_db(from - longest_booking()))
        .bind(time_to_db(to))
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let mut busy = Vec::with_capacity(rows.len());
    for row in &rows {
        let c = Cols::new(row, "bookings");
        if except.is_some_and(|id| c.text("id").is_ok_and(|b| b == id)) {
            continue;
        }
        let start = c.time("start_at")?;
        let length = TimeDelta::minutes(c.i64("duration_min")?);
        if start + length > from {
            busy.push((start, length));
        }
    }
    Ok(busy)
}

/// Whether `[start, start + length)` overlaps any of `busy`.
fn overlaps(busy: &[(DateTime<Utc>, TimeDelta)], start: DateTime<Utc>, length: TimeDelta) -> bool {
    busy.iter().any(|&(b, l)| b < start + length && start < b + l)
}

/// Whether the staff member's time `[start, start + length)` is taken by a booking other
/// than `except`.
async fn taken_on(
    conn: &mut AnyConnection,
    staff: &str,
    start: DateTime<Utc>,
    length: TimeDelta,
    except: Option<&str>,
) -> AdapterResult<bool> {
    let busy = busy_on(conn, staff, start, start + length, except).await?;
    Ok(overlaps(&busy, start, length))
}

/// Locks the staff member's row until the transaction ends (see the module comment).
async fn lock_staff(conn: &mut AnyConnection, staff: &str) -> AdapterResult<()> {
    sqlx::query("UPDATE staff SET name = name WHERE id = $1")
        .bind(staff.to_owned())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// A write refused by a unique index.
fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|e| e.is_unique_violation())
}

fn minutes(m: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(m))
}

impl Builtin {
    /// The grid's settings: the business row's time zone, working hours and demo day, and
    /// the booking settings.
    async fn calendar(&self) -> AdapterResult<Calendar> {
        let row = business_info(&self.store)
            .await?
            .ok_or_else(|| AdapterError::Unavailable("no business data imported".to_owned()))?;
        let week = parse_week(&row.working_hours).map_err(AdapterError::Invalid)?;
        Ok(Calendar {
            tz: row.time_zone,
            week,
            holidays: self.booking.holidays.clone(),
            regular_from: row.demo_day.map(|day| day.checked_add_days(Days::new(3)).unwrap_or(NaiveDate::MAX)),
            step: minutes(self.booking.step_minutes.max(1)),
            horizon: TimeDelta::days(i64::from(self.booking.horizon_days)),
        })
    }

    async fn service(&self, code: &str) -> AdapterResult<Option<Service>> {
        let row = sqlx::query("SELECT code, name, duration_min, price FROM services WHERE code = $1")
            .bind(code.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.as_ref().map(service_of).transpose()
    }

    /// The ids of the staff who provide `service`, in order.
    async fn providers(&self, service: &str) -> AdapterResult<Vec<String>> {
        let rows = sqlx::query("SELECT staff_id FROM staff_services WHERE service_code = $1 ORDER BY staff_id")
            .bind(service.to_owned())
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(|row| Ok(Cols::new(row, "staff_services").text("staff_id")?)).collect()
    }

    /// The staff member's explicit start times on the local days of `[from, to)`, by day.
    async fn explicit_starts(
        &self,
        staff: &str,
        tz: Tz,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<BTreeMap<NaiveDate, Vec<DateTime<Utc>>>> {
        // Two days either side cover the whole local days of `from` and `to` in any zone.
        let rows = sqlx::query(
            "SELECT start_at FROM slots WHERE staff_id = $1 AND start_at >= $2 AND start_at < $3 \
             ORDER BY start_at",
        )
        .bind(staff.to_owned())
        .bind(time_to_db(from - TimeDelta::days(2)))
        .bind(time_to_db(to + TimeDelta::days(2)))
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        let mut by_day: BTreeMap<NaiveDate, Vec<DateTime<Utc>>> = BTreeMap::new();
        for row in &rows {
            let start = Cols::new(row, "slots").time("start_at")?;
            by_day.entry(start.with_timezone(&tz).date_naive()).or_default().push(start);
        }
        Ok(by_day)
    }

    /// The start times `staff` offers in `[from, to)` for a service of `length`, bookings,
    /// the clock and the horizon aside; earliest first.
    async fn grid(
        &self,
        cal: &Calendar,
        staff: &str,
        length: TimeDelta,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<Vec<DateTime<Utc>>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let first = from.with_timezone(&cal.tz).date_naive();
        let last = (to - TimeDelta::nanoseconds(1)).with_timezone(&cal.tz).date_naive();
        let explicit = self.explicit_starts(staff, cal.tz, from, to).await?;
        let mut starts = Vec::new();
        for day in first.iter_days().take_while(|day| *day <= last) {
            if cal.hours(day).is_none() {
                continue;
            }
            let day_starts = match explicit.get(&day) {
                Some(rows) => rows.clone(),
                None => cal.regular_starts(day, length),
            };
            starts.extend(day_starts.into_iter().filter(|s| *s >= from && *s < to));
        }
        starts.sort();
        Ok(starts)
    }

    /// Why `staff` cannot take a service of `length` at `start` whatever the bookings say:
    /// the time has passed, or it is not on their grid (or beyond the horizon).
    async fn not_bookable(
        &self,
        staff: &str,
        length: TimeDelta,
        start: DateTime<Utc>,
    ) -> AdapterResult<Option<BookingRefusal>> {
        let now = self.clock.now();
        if start < now {
            return Ok(Some(BookingRefusal::InPast));
        }
        let cal = self.calendar().await?;
        if start >= now + cal.horizon {
            return Ok(Some(BookingRefusal::NotOffered));
        }
        let grid = self.grid(&cal, staff, length, start, start + TimeDelta::seconds(1)).await?;
        Ok((!grid.contains(&start)).then_some(BookingRefusal::NotOffered))
    }

    /// Writes a new booking; the checks that do not depend on other bookings are done.
    async fn insert_booking(
        &self,
        id: &CustomerId,
        service: &Service,
        slot: &Slot,
        key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let length = minutes(service.duration_min);
        let now = time_to_db(self.clock.now());
        for _ in 0..ID_ATTEMPTS {
            let booking_id = new_id();
            let mut tx = self.pool().begin().await.map_err(db)?;
            lock_staff(&mut tx, &slot.staff).await?;
            // A repeat with this key waited above (one staff member) or waits on the key's
            // index below (another one).
            if let Some(existing) = appointment_by_key(&mut tx, id, key).await? {
                tx.rollback().await.map_err(db)?;
                return Ok(Ok(existing));
            }
            if taken_on(&mut tx, &slot.staff, slot.start, length, None).await? {
                tx.rollback().await.map_err(db)?;
                return Ok(Err(BookingRefusal::SlotTaken));
            }
            let inserted = sqlx::query(
                "INSERT INTO bookings (id, customer_id, service, staff_id, start_at, status, duration_min, \
                 idempotency_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $8, $8) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(booking_id.clone())
            .bind(id.as_str().to_owned())
            .bind(service.code.clone())
            .bind(slot.staff.clone())
            .bind(time_to_db(slot.start))
            .bind(i64::from(service.duration_min))
            .bind(key.to_owned())
            .bind(now.clone())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if inserted == 0 {
                // The key, the time (written by someone who did not lock the staff member)
                // or, unlikely, the id was taken.
                let existing = appointment_by_key(&mut tx, id, key).await?;
                let taken = taken_on(&mut tx, &slot.staff, slot.start, length, None).await?;
                tx.rollback().await.map_err(db)?;
                match existing {
                    Some(existing) => return Ok(Ok(existing)),
                    None if taken => return Ok(Err(BookingRefusal::SlotTaken)),
                    None => continue,
                }
            }
            tx.commit().await.map_err(db)?;
            return Ok(Ok(Appointment {
                id: booking_id,
                service: service.code.clone(),
                staff: slot.staff.clone(),
                start: slot.start,
                duration_min: service.duration_min,
                status: BookingStatus::Confirmed,
            }));
        }
        Err(AdapterError::Unavailable("no free booking id".to_owned()))
    }

    /// Moves the booking in place; the checks that do not depend on other bookings are done.
    async fn move_booking(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let mut tx = self.pool().begin().await.map_err(db)?;
        lock_staff(&mut tx, &slot.staff).await?;
        let current = match appointment_on(&mut tx, id, booking_id).await? {
            None => Err(BookingRefusal::NotFound),
            Some(a) if a.status == BookingStatus::Cancelled => Err(BookingRefusal::AlreadyCancelled),
            Some(a) => Ok(a),
        };
        let current = match current {
            Ok(current) => current,
            Err(refusal) => {
                tx.rollback().await.map_err(db)?;
                return Ok(Err(refusal));
            }
        };
        let length = minutes(current.duration_min);
        if taken_on(&mut tx, &slot.staff, slot.start, length, Some(booking_id)).await? {
            tx.rollback().await.map_err(db)?;
            return Ok(Err(BookingRefusal::SlotTaken));
        }
        let moved = sqlx::query(
            "UPDATE bookings SET staff_id = $3, start_at = $4, duration_min = $5, updated_at = $6 \
             WHERE customer_id = $1 AND id = $2 AND status <> 'cancelled'",
        )
        .bind(id.as_str().to_owned())
        .bind(booking_id.to_owned())
        .bind(slot.staff.clone())
        .bind(time_to_db(slot.start))
        .bind(i64::from(current.duration_min))
        .bind(time_to_db(self.clock.now()))
        .execute(&mut *tx)
        .await;
        let moved = match moved {
            Ok(done) => done.rows_affected(),
            Err(e) if unique_violation(&e) => {
                tx.rollback().await.map_err(db)?;
                return Ok(Err(BookingRefusal::SlotTaken));
            }
            Err(e) => return Err(db(e)),
        };
        if moved == 0 {
            // Cancelled meanwhile (PostgreSQL re-reads the row once its lock is free).
            tx.rollback().await.map_err(db)?;
            return Ok(Err(BookingRefusal::AlreadyCancelled));
        }
        tx.commit().await.map_err(db)?;
        Ok(Ok(Appointment { staff: slot.staff.clone(), start: slot.start, ..current }))
    }
}

fn service_of(row: &AnyRow) -> AdapterResult<Service> {
    let c = Cols::new(row, "services");
    let duration = c.i64("duration_min")?;
    Ok(Service {
        code: c.text("code")?,
        name: c.json("name")?,
        duration_min: u32::try_from(duration)
            .map_err(|_| AdapterError::Invalid(format!("services.duration_min: out of range ({duration})")))?,
        price: c.money("price")?,
    })
}

#[async_trait]
impl Booking for Builtin {
    async fn services(&self) -> AdapterResult<Vec<Service>> {
        let rows = sqlx::query("SELECT code, name, duration_min, price FROM services ORDER BY code")
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(service_of).collect()
    }

    async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
        let rows = sqlx::query("SELECT id, name FROM staff ORDER BY id").fetch_all(self.pool()).await.map_err(db)?;
        let links = sqlx::query("SELECT staff_id, service_code FROM staff_services ORDER BY staff_id, service_code")
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        let mut services: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in &links {
            let c = Cols::new(row, "staff_services");
            services.entry(c.text("staff_id")?).or_default().push(c.text("service_code")?);
        }
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "staff");
                let id = c.text("id")?;
                Ok(StaffMember { services: services.remove(&id).unwrap_or_default(), name: c.json("name")?, id })
            })
            .collect()
    }

    async fn preferred_staff(&self, id: &CustomerId) -> AdapterResult<Option<String>> {
        let row = sqlx::query("SELECT preferred_staff FROM customers WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        match row {
            Some(row) => Ok(Cols::new(&row, "customers").opt_text("preferred_staff")?),
            None => Ok(None),
        }
    }

    async fn free_slots(
        &self,
        service: &str,
        staff: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<Vec<Slot>> {
        let Some(service) = self.service(service).await? else {
            return Ok(Vec::new());
        };
        let length = minutes(service.duration_min);
        let cal = self.calendar().await?;
        let now = self.clock.now();
        let (from, to) = (from.max(now), to.min(now + cal.horizon));
        let mut slots = Vec::new();
        for member in self.providers(&service.code).await? {
            if staff.is_some_and(|s| s != member) {
                continue;
            }
            let grid = self.grid(&cal, &member, length, from, to).await?;
            let Some((&first, &last)) = grid.first().zip(grid.last()) else {
                continue;
            };
            let busy = {
                let mut conn = self.pool().acquire().await.map_err(db)?;
                busy_on(&mut conn, &member, first, last + length, None).await?
            };
            slots.extend(
                grid.into_iter()
                    .filter(|&start| !overlaps(&busy, start, length))
                    .map(|start| Slot { start, staff: member.clone() }),
            );
        }
        slots.sort();
        Ok(slots)
    }

    async fn book(
        &self,
        id: &CustomerId,
        service: &str,
        slot: &Slot,
        idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        // A repeat answers with the first booking even once its time has passed.
        let existing = appointment_by_key(&mut *self.pool().acquire().await.map_err(db)?, id, idempotency_key).await?;
        if let Some(existing) = existing {
            return Ok(Ok(existing));
        }
        let Some(service) = self.service(service).await? else {
            return Ok(Err(BookingRefusal::Unknown));
        };
        if !self.providers(&service.code).await?.contains(&slot.staff) {
            return Ok(Err(BookingRefusal::Unknown));
        }
        if let Some(refusal) = self.not_bookable(&slot.staff, minutes(service.duration_min), slot.start).await? {
            return Ok(Err(refusal));
        }
        let customer = sqlx::query("SELECT id FROM customers WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        if customer.is_none() {
            return Err(AdapterError::Invalid(format!("no customer {id}")));
        }
        self.insert_booking(id, &service, slot, idempotency_key).await
    }

    async fn appointments(&self, id: &CustomerId, from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>> {
        let sql = format!(
            "{APPOINTMENTS} WHERE b.customer_id = $1 AND b.status = 'confirmed' AND b.start_at >= $2 \
             ORDER BY b.start_at, b.id"
        );
        let rows = sqlx::query(&sql)
            .bind(id.as_str().to_owned())
            .bind(time_to_db(from))
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(appointment_of).collect()
    }

    async fn appointment(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Appointment>> {
        let mut conn = self.pool().acquire().await.map_err(db)?;
        appointment_on(&mut conn, id, booking_id).await
    }

    async fn reschedule(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let current = match self.appointment(id, booking_id).await? {
            None => return Ok(Err(BookingRefusal::NotFound)),
            Some(a) if a.status == BookingStatus::Cancelled => {
                return Ok(Err(BookingRefusal::AlreadyCancelled));
            }
            Some(a) => a,
        };
        if current.staff == slot.staff && current.start == slot.start {
            return Ok(Ok(current));
        }
        if !self.providers(&current.service).await?.contains(&slot.staff) {
            return Ok(Err(BookingRefusal::Unknown));
        }
        if let Some(refusal) = self.not_bookable(&slot.staff, minutes(current.duration_min), slot.start).await? {
            return Ok(Err(refusal));
        }
        self.move_booking(id, booking_id, slot).await
    }

    async fn cancel(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let cancelled = sqlx::query(
            "UPDATE bookings SET status = 'cancelled', updated_at = $3 \
             WHERE customer_id = $1 AND id = $2 AND status <> 'cancelled'",
        )
        .bind(id.as_str().to_owned())
        .bind(booking_id.to_owned())
        .bind(time_to_db(self.clock.now()))
        .execute(self.pool())
        .await
        .map_err(db)?
        .rows_affected();
        match self.appointment(id, booking_id).await? {
            None => Ok(Err(BookingRefusal::NotFound)),
            Some(_) if cancelled == 0 => Ok(Err(BookingRefusal::AlreadyCancelled)),
            Some(a) => Ok(Ok(a)),
        }
    }

    async fn upcoming(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
        let sql = format!(
            "{APPOINTMENTS} WHERE b.status = 'confirmed' AND b.start_at >= $1 AND b.start_at < $2 \
             ORDER BY b.start_at, b.id"
        );
        let rows =
            sqlx::query(&sql).bind(time_to_db(from)).bind(time_to_db(to)).fetch_all(self.pool()).await.map_err(db)?;
        rows.iter()
            .map(|row| {
                let customer = CustomerId(Cols::new(row, "bookings").text("customer_id")?);
                Ok((customer, appointment_of(row)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(open: u32, close: u32) -> Option<Hours> {
        Some(Hours { open, close })
    }

    fn week(pairs: &[(&str, &str)]) -> Result<Week, String> {
        parse_week(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|at| at.with_timezone(&Utc)).unwrap_or_default()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn working_hours_take_days_ranges_lists_and_the_narrowest_entry() {
        let w = week(&[("mon-sun", "10:00-19:00"), ("sun", "off"), ("_about", "x")]);
        let ten_to_seven = hours(600, 1140);
        assert_eq!(w, Ok([ten_to_seven, ten_to_seven, ten_to_seven, ten_to_seven, ten_to_seven, ten_to_seven, None]));
        let w = week(&[("mon-fri", "09:00-18:00"), ("Saturday", "11:00-15:30")]);
        assert_eq!(
            w.map(|w| (w[0], w[4], w[5], w[6])),
            Ok((hours(540, 1080), hours(540, 1080), hours(660, 930), None))
        );
        // Across the week's end, and lists.
        let w = week(&[("fri-mon", "08:00-24:00"), ("tue,thu", "off")]);
        assert_eq!(w, Ok([hours(480, 1440), None, None, None, hours(480, 1440), hours(480, 1440), hours(480, 1440)]));
    }

    #[test]
    fn bad_working_hours_name_the_key() {
        for (key, value) in [
            ("mon", "10-19"),
            ("mon", "19:00-10:00"),
            ("mon", "10:00-25:00"),
            ("mon", "10:60-12:00"),
            ("moon", "10:00-19:00"),
            ("mon-", "10:00-19:00"),
        ] {
            let err = week(&[(key, value)]).err().unwrap_or_default();
            assert!(err.starts_with(&format!("working_hours.{key}:")), "{key} {value}: {err}");
        }
    }

    fn calendar(tz: Tz, week: Week) -> Calendar {
        Calendar {
            tz,
            week,
            holidays: vec![day("2025-12-25")],
            regular_from: None,
            step: TimeDelta::minutes(60),
            horizon: TimeDelta::days(14),
        }
    }

    #[test]
    fn a_dst_gap_skips_a_start_and_a_fold_takes_the_earlier_instant() {
        let cal = calendar(chrono_tz::Europe::Berlin, [hours(0, 360); 7]);
        // 2025-03-30: 02:00 CET is 03:00 CEST.
        assert_eq!(
            cal.regular_starts(day("2025-03-30"), TimeDelta::minutes(60)),
            [
                "2025-03-29T23:00:00Z",
                "2025-03-30T00:00:00Z",
                "2025-03-30T01:00:00Z",
                "2025-03-30T02:00:00Z",
                "2025-03-30T03:00:00Z"
            ]
            .map(utc)
        );
        // 2025-10-26: 03:00 CEST is 02:00 CET; 02:00 is the CEST one.
        assert_eq!(
            cal.regular_starts(day("2025-10-26"), TimeDelta::minutes(60)),
            [
                "2025-10-25T22:00:00Z",
                "2025-10-25T23:00:00Z",
                "2025-10-26T00:00:00Z",
                "2025-10-26T02:00:00Z",
                "2025-10-26T03:00:00Z",
                "2025-10-26T04:00:00Z"
            ]
            .map(utc)
        );
        assert!(cal.regular_starts(day("2025-12-25"), TimeDelta::minutes(60)).is_empty());
    }

    #[test]
    fn a_closing_time_in_a_gap_is_the_end_of_the_gap() {
        // Open 00:00-02:30 on the spring day: 02:30 does not exist, closing is 03:00 CEST.
        let cal = calendar(chrono_tz::Europe::Berlin, [hours(0, 150); 7]);
        assert_eq!(
            cal.regular_starts(day("2025-03-30"), TimeDelta::minutes(60)),
            ["2025-03-29T23:00:00Z", "2025-03-30T00:00:00Z"].map(utc)
        );
    }

    #[test]
    fn booking_ids_are_b_and_eight_unambiguous_characters() {
        for _ in 0..100 {
            let id = new_id();
            let code = id.strip_prefix("B-").unwrap_or_default();
            assert_eq!(code.len(), ID_LEN, "{id}");
            assert!(code.bytes().all(|b| ID_ALPHABET.contains(&b)), "{id}");
        }
    }
}
