-- Support (SQLite): the staff supergroup's forum topics, cases escalated to staff, the requests
-- the bot handled (for /stats) and the alerts raised about users. Same conventions as 0001
-- (times as RFC 3339 UTC text, so that text order is time order; booleans as BIGINT 0/1).

-- One forum topic per customer in the staff supergroup, reused by every later case.
CREATE TABLE support_topics (
    customer_id TEXT PRIMARY KEY,
    chat_id     BIGINT NOT NULL,
    thread_id   BIGINT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX support_topics_thread ON support_topics (chat_id, thread_id);

-- Cases escalated to staff. The database itself keeps one open case per customer.
CREATE TABLE support_cases (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE UNIQUE INDEX support_cases_one_open ON support_cases (customer_id) WHERE status = 'open';
CREATE INDEX support_cases_customer ON support_cases (customer_id, id);
CREATE INDEX support_cases_status ON support_cases (status, opened_at);
CREATE INDEX support_cases_opened ON support_cases (opened_at);

-- One row per customer request the bot handled (intent: what the classifier made of it).
CREATE TABLE support_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    at               TEXT NOT NULL,
    telegram_user_id BIGINT NOT NULL,
    intent           TEXT NOT NULL,
    escalated        BIGINT NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1))
);
CREATE INDEX support_requests_at ON support_requests (at);
CREATE INDEX support_requests_user ON support_requests (telegram_user_id);

-- The last alert of each kind raised about a user (one per kind per user per window).
CREATE TABLE support_alerts (
    telegram_user_id BIGINT NOT NULL,
    kind             TEXT NOT NULL,
    at               TEXT NOT NULL,
    PRIMARY KEY (telegram_user_id, kind)
);
