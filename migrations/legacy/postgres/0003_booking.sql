-- Booking (PostgreSQL): what the built-in adapter needs to book, move and cancel appointments.
-- Same conventions as 0001 (times as RFC 3339 UTC text). Imported bookings keep NULL in the
-- new columns (their duration is the service's).

-- The length booked (minutes; NULL: the service's duration).
ALTER TABLE bookings ADD COLUMN duration_min BIGINT;
-- The key a booking was made with (NULL for imported bookings): one booking per key and
-- customer.
ALTER TABLE bookings ADD COLUMN idempotency_key TEXT;
ALTER TABLE bookings ADD COLUMN created_at TEXT;
ALTER TABLE bookings ADD COLUMN updated_at TEXT;

-- The database itself forbids double booking: one booking that is not cancelled per staff
-- member and start time.
CREATE UNIQUE INDEX bookings_staff_start_taken ON bookings (staff_id, start_at)
    WHERE status <> 'cancelled';
CREATE UNIQUE INDEX bookings_idempotency ON bookings (customer_id, idempotency_key);
-- Every customer's appointments by start (reminders).
CREATE INDEX bookings_start ON bookings (start_at);
