-- Broadcasts from the staff group (`/broadcast`): a draft shown to staff, confirmed by one of
-- them, then one notification per recipient in the outbox, linked to it by `broadcast_id`.
-- `written` is set once every recipient's notification is in the outbox (a confirmation that
-- stopped before that is resumed); `finished_at` once the final report is made.
CREATE TABLE IF NOT EXISTS broadcasts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    segment             TEXT NOT NULL,
    category            TEXT NOT NULL,
    text                TEXT NOT NULL,
    status              TEXT NOT NULL,
    created_by          BIGINT NOT NULL,
    confirmed_by        BIGINT,
    confirmed_by_name   TEXT,
    in_segment          BIGINT NOT NULL DEFAULT 0,
    recipients          BIGINT NOT NULL DEFAULT 0,
    total               BIGINT NOT NULL DEFAULT 0,
    written             BIGINT NOT NULL DEFAULT 0,
    staff_chat_id       BIGINT,
    preview_message_id  BIGINT,
    progress_message_id BIGINT,
    created_at          TEXT NOT NULL,
    confirmed_at        TEXT,
    finished_at         TEXT
);

ALTER TABLE notifications ADD COLUMN broadcast_id BIGINT;

CREATE INDEX IF NOT EXISTS notifications_broadcast ON notifications (broadcast_id, status);
