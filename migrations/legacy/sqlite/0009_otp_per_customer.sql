-- One-time codes per customer, their sends, and the customers seen (SQLite). Same
-- conventions as 0001 (times as RFC 3339 UTC text, so that text order is time order).
--
-- A one-time code's wrong tries and lock belonged to a Telegram account, so /forget or
-- another account started them afresh; they now belong to the customer the account is bound
-- to, and /forget leaves them. Sends are kept for the throttle (a gap, a number per hour).

-- The one-time code last sent to a customer (its hash only), the wrong tries and the lock.
CREATE TABLE customer_otp (
    customer_id  TEXT PRIMARY KEY,
    code_hash    TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    sent_at      TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    locked_until TEXT
);

-- The bound accounts' tries and locks carry over; their codes do not (they were hashed with
-- another key, so none would match again).
INSERT INTO customer_otp
    (customer_id, code_hash, purpose, sent_at, expires_at, attempts, locked_until)
SELECT b.customer_id, '', MAX(o.purpose), MAX(o.sent_at), MAX(o.expires_at), MAX(o.attempts),
    MAX(o.locked_until)
FROM otp_challenges o JOIN bindings b ON b.telegram_user_id = o.telegram_user_id
GROUP BY b.customer_id;

DROP TABLE otp_challenges;

-- Codes sent to a customer, for the throttle; rows older than an hour go at the next send.
CREATE TABLE otp_sends (
    customer_id TEXT NOT NULL,
    sent_at     TEXT NOT NULL
);
CREATE INDEX otp_sends_customer ON otp_sends (customer_id, sent_at);

INSERT INTO otp_sends (customer_id, sent_at) SELECT customer_id, sent_at FROM customer_otp;

-- Customers who have been bound to a Telegram account at least once, kept after /logout and
-- /forget: a referral credits only a customer's first binding.
CREATE TABLE customers_seen (
    customer_id    TEXT PRIMARY KEY,
    first_bound_at TEXT NOT NULL
);

-- Everyone bound so far: the audit log's binds (kept after /forget) and today's bindings.
INSERT INTO customers_seen (customer_id, first_bound_at)
SELECT customer_id, MIN(at) FROM (
    SELECT customer_id, at FROM audit_log WHERE action = 'bind' AND customer_id IS NOT NULL
    UNION ALL
    SELECT customer_id, bound_at AS at FROM bindings
) bound
GROUP BY customer_id;
