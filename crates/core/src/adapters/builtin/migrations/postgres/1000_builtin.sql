-- The built-in backend's tables: the business, its customers, accounts, orders, documents,
-- catalogue, services, staff and bookings, filled by `cabinet import` and changed by the bot
-- through the built-in adapter only. Idempotent: a database made before this baseline
-- (migrations/legacy) already has all of it.

CREATE TABLE IF NOT EXISTS business (
    id             BIGINT PRIMARY KEY CHECK (id = 1),
    name           TEXT NOT NULL,
    currency       TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    default_locale TEXT NOT NULL,
    locales        TEXT NOT NULL,
    working_hours  TEXT NOT NULL,
    support_hours  TEXT,
    demo_day       TEXT,
    demo_now       TEXT
);

CREATE TABLE IF NOT EXISTS tariffs (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    monthly_fee BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS tariff_options (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    monthly_fee BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS customers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    first_name      TEXT NOT NULL,
    phone           TEXT NOT NULL UNIQUE,
    email           TEXT,
    locale          TEXT,
    birthday        TEXT,
    tags            TEXT NOT NULL,
    preferred_staff TEXT,
    address         TEXT
);

CREATE TABLE IF NOT EXISTS accounts (
    customer_id        TEXT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    balance            BIGINT NOT NULL,
    bonus_points       BIGINT NOT NULL,
    tariff             TEXT,
    options            TEXT NOT NULL,
    next_charge_date   TEXT,
    next_charge_amount BIGINT,
    daily_charge       BIGINT,
    card_mask          TEXT
);

CREATE TABLE IF NOT EXISTS transactions (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    at          TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    PRIMARY KEY (customer_id, seq)
);

CREATE INDEX IF NOT EXISTS transactions_customer_at ON transactions (customer_id, at);

CREATE TABLE IF NOT EXISTS catalog (
    sku      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    price    BIGINT NOT NULL,
    category TEXT,
    in_stock BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    number       TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    status       TEXT NOT NULL,
    total        BIGINT NOT NULL,
    delivered_at TEXT
);

CREATE INDEX IF NOT EXISTS orders_customer_created ON orders (customer_id, created_at);

CREATE TABLE IF NOT EXISTS order_items (
    order_number TEXT NOT NULL REFERENCES orders (number) ON DELETE CASCADE,
    line         BIGINT NOT NULL,
    sku          TEXT NOT NULL,
    qty          BIGINT NOT NULL,
    price        BIGINT NOT NULL,
    PRIMARY KEY (order_number, line)
);

CREATE TABLE IF NOT EXISTS deliveries (
    order_number  TEXT PRIMARY KEY REFERENCES orders (number) ON DELETE CASCADE,
    address       TEXT,
    carrier       TEXT,
    tracking      TEXT,
    eta_from      TEXT,
    eta_to        TEXT,
    courier_name  TEXT,
    courier_phone TEXT,
    note          TEXT,
    lat           DOUBLE PRECISION,
    lon           DOUBLE PRECISION
);

CREATE TABLE IF NOT EXISTS documents (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    period      TEXT NOT NULL,
    title       TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS documents_customer ON documents (customer_id, kind, period);

CREATE TABLE IF NOT EXISTS services (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    duration_min BIGINT NOT NULL,
    price        BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS staff (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS staff_services (
    staff_id     TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    service_code TEXT NOT NULL REFERENCES services (code) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, service_code)
);

CREATE TABLE IF NOT EXISTS slots (
    staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    start_at TEXT NOT NULL,
    PRIMARY KEY (staff_id, start_at)
);

CREATE TABLE IF NOT EXISTS bookings (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    service     TEXT NOT NULL REFERENCES services (code),
    staff_id    TEXT NOT NULL REFERENCES staff (id),
    start_at    TEXT NOT NULL,
    status      TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS bookings_customer ON bookings (customer_id, start_at);

CREATE INDEX IF NOT EXISTS bookings_staff ON bookings (staff_id, start_at);

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS paused BIGINT NOT NULL DEFAULT 0;

ALTER TABLE orders ADD COLUMN IF NOT EXISTS idempotency_key TEXT;

CREATE UNIQUE INDEX IF NOT EXISTS orders_idempotency ON orders (customer_id, idempotency_key);

CREATE TABLE IF NOT EXISTS subscription_changes (
    customer_id     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    change          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (customer_id, idempotency_key)
);

CREATE TABLE IF NOT EXISTS payments_credited (
    payment_id  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    at          TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS payments_credited_customer ON payments_credited (customer_id, at);

CREATE TABLE IF NOT EXISTS referral_codes (
    customer_id TEXT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    code        TEXT NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS referrals (
    referred_customer_id TEXT PRIMARY KEY,
    referrer_customer_id TEXT NOT NULL,
    points               BIGINT NOT NULL,
    at                   TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS referrals_referrer ON referrals (referrer_customer_id);

ALTER TABLE bookings ADD COLUMN IF NOT EXISTS duration_min BIGINT;

ALTER TABLE bookings ADD COLUMN IF NOT EXISTS idempotency_key TEXT;

ALTER TABLE bookings ADD COLUMN IF NOT EXISTS created_at TEXT;

ALTER TABLE bookings ADD COLUMN IF NOT EXISTS updated_at TEXT;

CREATE UNIQUE INDEX IF NOT EXISTS bookings_staff_start_taken ON bookings (staff_id, start_at)
    WHERE status <> 'cancelled';

CREATE UNIQUE INDEX IF NOT EXISTS bookings_idempotency ON bookings (customer_id, idempotency_key);

CREATE INDEX IF NOT EXISTS bookings_start ON bookings (start_at);

ALTER TABLE transactions ADD COLUMN IF NOT EXISTS payment_id TEXT;

ALTER TABLE accounts ADD COLUMN IF NOT EXISTS changed_by_bot_at TEXT;

CREATE TABLE IF NOT EXISTS crm_leads (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone            TEXT NOT NULL UNIQUE,
    first_name       TEXT NOT NULL,
    telegram_user_id BIGINT NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS crm_notes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    text        TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS crm_notes_customer ON crm_notes (customer_id, id);
