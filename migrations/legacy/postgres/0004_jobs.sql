-- Scheduled jobs (PostgreSQL): reminders, re-pings and notifications that run at a given time,
-- once, whichever replica gets to them first. Same conventions as 0001 (times as RFC 3339 UTC
-- text, so that text order is time order).
--
-- status: 'pending' (waits for run_at), 'running' (claimed until locked_until: a claim whose
-- lease has passed is taken again), 'done', 'cancelled', 'failed'. attempts counts the claims.

CREATE TABLE jobs (
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
CREATE INDEX jobs_due ON jobs (status, run_at);
