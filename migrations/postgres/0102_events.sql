-- Events the business's systems posted (POST /api/v1/events), by their own id: a repeated id
-- is answered with the first answer. `done_at` is set once the event was acted on; a row
-- without it is being acted on (or was interrupted, and the sender's retry acts again).
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    customer_id TEXT,
    received_at TEXT NOT NULL,
    done_at     TEXT,
    answer      TEXT
);

CREATE INDEX IF NOT EXISTS events_received ON events (received_at);
