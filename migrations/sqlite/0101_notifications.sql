-- The notifications outbox (crates/core/src/notify): every message the bot sends first, kept
-- before it is sent; the customers' choices of what they receive; who blocked the bot.

CREATE TABLE IF NOT EXISTS notifications (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key     TEXT NOT NULL UNIQUE,
    customer_id         TEXT NOT NULL,
    category            TEXT NOT NULL,
    urgent              BIGINT NOT NULL DEFAULT 0,
    kind                TEXT NOT NULL,
    params              TEXT NOT NULL,
    status              TEXT NOT NULL,
    attempts            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    locked_until        TEXT,
    claim_token         TEXT,
    last_error          TEXT,
    chat_id             BIGINT,
    telegram_message_id BIGINT,
    created_at          TEXT NOT NULL,
    sent_at             TEXT
);

CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, next_attempt_at);

CREATE INDEX IF NOT EXISTS notifications_customer ON notifications (customer_id, id);

CREATE TABLE IF NOT EXISTS notification_prefs (
    telegram_user_id BIGINT NOT NULL,
    category         TEXT NOT NULL,
    enabled          BIGINT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (telegram_user_id, category)
);

CREATE TABLE IF NOT EXISTS notification_recipients (
    telegram_user_id  BIGINT PRIMARY KEY,
    telegram_locale   TEXT,
    unreachable_since TEXT,
    updated_at        TEXT NOT NULL
);
