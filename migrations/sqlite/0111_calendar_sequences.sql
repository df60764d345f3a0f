-- The SEQUENCE of each appointment's calendar file: 0 when booked, one more at every move, so
-- a calendar that imported the earlier file updates the event (same UID) instead of adding one.
CREATE TABLE IF NOT EXISTS calendar_sequences (
    booking_id TEXT PRIMARY KEY,
    sequence BIGINT NOT NULL
);
