-- Booking reminders as sent, and the customer's answer to each (confirmed, cancelled,
-- rescheduled; NULL: no answer).
CREATE TABLE booking_reminders (
    booking_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    chat_id     BIGINT NOT NULL,
    starts_at   TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    answer      TEXT,
    answered_at TEXT,
    PRIMARY KEY (booking_id, kind, chat_id)
);
