-- Self-service (SQLite): subscription changes, payments, new orders, referrals in the built-in
-- adapter's data; document file ids, one-time codes, top-ups and pending referral codes on
-- cabinet's side. Same conventions as 0001 (money in minor units, times as RFC 3339 UTC text).

-- The built-in adapter --------------------------------------------------------------------

ALTER TABLE accounts ADD COLUMN paused BIGINT NOT NULL DEFAULT 0;

-- The key a new order was created with (NULL for imported orders): one order per key and
-- customer.
ALTER TABLE orders ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX orders_idempotency ON orders (customer_id, idempotency_key);

-- Every subscription change applied (or refused), by its idempotency key.
CREATE TABLE subscription_changes (
    customer_id     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    change          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (customer_id, idempotency_key)
);

-- Payments received outside the billing and credited to an account, once per payment id.
CREATE TABLE payments_credited (
    payment_id  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX payments_credited_customer ON payments_credited (customer_id, at);

CREATE TABLE referral_codes (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    code        TEXT NOT NULL UNIQUE
);

-- One referral per referred customer.
CREATE TABLE referrals (
    referred_customer_id TEXT PRIMARY KEY,
    referrer_customer_id TEXT NOT NULL,
    points               BIGINT NOT NULL,
    at                   TEXT NOT NULL
);
CREATE INDEX referrals_referrer ON referrals (referrer_customer_id);

-- cabinet's own records -------------------------------------------------------------------

-- Telegram file ids of documents already sent, to send them again without uploading.
CREATE TABLE document_files (
    customer_id TEXT NOT NULL,
    doc_id      TEXT NOT NULL,
    variant     TEXT NOT NULL,
    file_id     TEXT NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (customer_id, doc_id, variant)
);

-- The one-time code last sent to a Telegram user (its hash only).
CREATE TABLE otp_challenges (
    telegram_user_id BIGINT PRIMARY KEY,
    code_hash        TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    sent_at          TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    locked_until     TEXT
);

-- Top-ups through Telegram invoices: 'pending' until paid, 'paid' once.
CREATE TABLE top_up_payments (
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
CREATE INDEX top_up_payments_user ON top_up_payments (telegram_user_id, created_at);

-- The referral code a user came with (/start ref_…), until they are bound.
ALTER TABLE telegram_users ADD COLUMN referral_code TEXT;
