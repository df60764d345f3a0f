-- cabinet's own records: Telegram accounts, bindings, consents, dialogue state, audit,
-- jobs, support cases, one-time codes, button payloads. The business's data lives in its
-- backends (the built-in one keeps its tables under crates/core/src/adapters/builtin).
-- Idempotent: a database made before this baseline (migrations/legacy) already has all of it.

CREATE TABLE IF NOT EXISTS telegram_users (
    telegram_user_id BIGINT PRIMARY KEY,
    chat_id          BIGINT NOT NULL,
    locale           TEXT,
    epoch            BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS bindings (
    telegram_user_id BIGINT PRIMARY KEY,
    chat_id          BIGINT NOT NULL,
    customer_id      TEXT NOT NULL,
    phone            TEXT NOT NULL,
    first_name       TEXT NOT NULL,
    bound_at         TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS consents (
    telegram_user_id BIGINT PRIMARY KEY,
    terms_version    TEXT NOT NULL,
    accepted_at      TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS dialogue_states (
    chat_id    BIGINT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS chat_messages (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id   BIGINT NOT NULL,
    direction TEXT NOT NULL,
    text      TEXT NOT NULL,
    at        TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS chat_messages_chat ON chat_messages (chat_id, id);

CREATE INDEX IF NOT EXISTS chat_messages_at ON chat_messages (at);

CREATE TABLE IF NOT EXISTS audit_log (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               TEXT NOT NULL,
    telegram_user_id BIGINT,
    customer_id      TEXT,
    action           TEXT NOT NULL,
    subject          TEXT,
    channel          TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (telegram_user_id, id);

CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);

CREATE TABLE IF NOT EXISTS leads (
    telegram_user_id BIGINT NOT NULL,
    phone            TEXT NOT NULL,
    first_name       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (telegram_user_id, phone)
);

CREATE TABLE IF NOT EXISTS document_files (
    customer_id TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    variant     TEXT NOT NULL,
    file_id     TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (customer_id, doc_id, variant)
);

CREATE TABLE IF NOT EXISTS top_up_payments (
    reference        TEXT PRIMARY KEY,
    telegram_user_id BIGINT NOT NULL,
    customer_id      TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    status           TEXT NOT NULL,
    charge_id        TEXT UNIQUE,
    paid_at          TEXT
);

CREATE INDEX IF NOT EXISTS top_up_payments_user ON top_up_payments (telegram_user_id, created_at);

ALTER TABLE telegram_users ADD COLUMN IF NOT EXISTS referral_code TEXT;

CREATE TABLE IF NOT EXISTS jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    done_at      TEXT
);

CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, run_at);

CREATE TABLE IF NOT EXISTS booking_reminders (
    booking_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    chat_id     BIGINT NOT NULL,
    starts_at   TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    answer      TEXT,
    answered_at TEXT,
    PRIMARY KEY (booking_id, kind, chat_id)
);

CREATE TABLE IF NOT EXISTS support_topics (
    customer_id TEXT PRIMARY KEY,
    chat_id     BIGINT NOT NULL,
    thread_id   BIGINT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS support_topics_thread ON support_topics (chat_id, thread_id);

CREATE TABLE IF NOT EXISTS support_cases (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id       TEXT NOT NULL,
    telegram_user_id  BIGINT NOT NULL,
    customer_chat_id  BIGINT NOT NULL,
    priority          TEXT NOT NULL CHECK (priority IN ('critical', 'high', 'normal')),
    reason            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    assigned_to       BIGINT,
    assigned_name     TEXT,
    opened_at         TEXT NOT NULL,
    first_response_at TEXT,
    last_staff_at     TEXT,
    last_customer_at  TEXT,
    closed_at         TEXT,
    rating            BIGINT CHECK (rating BETWEEN 1 AND 5),
    unreachable       BIGINT NOT NULL DEFAULT 0 CHECK (unreachable IN (0, 1))
);

CREATE UNIQUE INDEX IF NOT EXISTS support_cases_one_open ON support_cases (customer_id) WHERE status = 'open';

CREATE INDEX IF NOT EXISTS support_cases_customer ON support_cases (customer_id, id);

CREATE INDEX IF NOT EXISTS support_cases_status ON support_cases (status, opened_at);

CREATE INDEX IF NOT EXISTS support_cases_opened ON support_cases (opened_at);

CREATE TABLE IF NOT EXISTS support_requests (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               TEXT NOT NULL,
    telegram_user_id BIGINT NOT NULL,
    intent           TEXT NOT NULL,
    escalated        BIGINT NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1))
);

CREATE INDEX IF NOT EXISTS support_requests_at ON support_requests (at);

CREATE INDEX IF NOT EXISTS support_requests_user ON support_requests (telegram_user_id);

CREATE TABLE IF NOT EXISTS support_alerts (
    telegram_user_id BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    at               TEXT NOT NULL,
    PRIMARY KEY (telegram_user_id, kind)
);

CREATE UNIQUE INDEX IF NOT EXISTS bindings_customer ON bindings (customer_id);

ALTER TABLE support_cases ADD COLUMN IF NOT EXISTS detached_at TEXT;

ALTER TABLE leads ADD COLUMN IF NOT EXISTS notified_at TEXT;

CREATE TABLE IF NOT EXISTS customer_otp (
    customer_id  TEXT PRIMARY KEY,
    code_hash    TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    sent_at      TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    locked_until TEXT
);

CREATE TABLE IF NOT EXISTS otp_sends (
    customer_id TEXT NOT NULL,
    sent_at     TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS otp_sends_customer ON otp_sends (customer_id, sent_at);

CREATE TABLE IF NOT EXISTS customers_seen (
    customer_id    TEXT PRIMARY KEY,
    first_bound_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS button_payloads (
    token            TEXT PRIMARY KEY,
    telegram_user_id BIGINT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS button_payloads_user ON button_payloads (telegram_user_id);

CREATE INDEX IF NOT EXISTS button_payloads_expiry ON button_payloads (expires_at);
