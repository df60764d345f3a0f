-- cabinet's own records and the built-in adapter's business data (PostgreSQL).
-- Money: BIGINT minor units. Times: TEXT RFC 3339 in UTC with nine fractional digits and "Z"
-- (sortable as text). Dates: TEXT "YYYY-MM-DD". Booleans: BIGINT 0/1.
-- Localized texts: TEXT JSON {"ru": "…", "en": "…"}. Lists: TEXT JSON arrays.

-- Telegram accounts, bindings, consent --------------------------------------------------

CREATE TABLE telegram_users (
    telegram_user_id BIGINT PRIMARY KEY,
    chat_id          BIGINT NOT NULL,
    locale           TEXT,
    epoch            BIGINT NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);

CREATE TABLE bindings (
    telegram_user_id BIGINT PRIMARY KEY,
    chat_id          BIGINT NOT NULL,
    customer_id      TEXT NOT NULL,
    phone            TEXT NOT NULL,
    first_name       TEXT NOT NULL,
    bound_at         TEXT NOT NULL
);
CREATE INDEX bindings_customer ON bindings (customer_id);

CREATE TABLE consents (
    telegram_user_id BIGINT PRIMARY KEY,
    terms_version    TEXT NOT NULL,
    accepted_at      TEXT NOT NULL
);

CREATE TABLE dialogue_states (
    chat_id    BIGINT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE chat_messages (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_id   BIGINT NOT NULL,
    direction TEXT NOT NULL,
    text      TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX chat_messages_chat ON chat_messages (chat_id, id);
CREATE INDEX chat_messages_at ON chat_messages (at);

CREATE TABLE audit_log (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               TEXT NOT NULL,
    telegram_user_id BIGINT,
    customer_id      TEXT,
    action           TEXT NOT NULL,
    subject          TEXT,
    channel          TEXT NOT NULL
);
CREATE INDEX audit_log_user ON audit_log (telegram_user_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE leads (
    telegram_user_id BIGINT NOT NULL,
    phone            TEXT NOT NULL,
    first_name       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (telegram_user_id, phone)
);

-- The built-in adapter: the business's data ----------------------------------------------

CREATE TABLE business (
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

CREATE TABLE tariffs (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    monthly_fee BIGINT NOT NULL
);

CREATE TABLE tariff_options (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    monthly_fee BIGINT NOT NULL
);

CREATE TABLE customers (
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

CREATE TABLE accounts (
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

CREATE TABLE transactions (
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    at          TEXT NOT NULL,
    amount      BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    PRIMARY KEY (customer_id, seq)
);
CREATE INDEX transactions_customer_at ON transactions (customer_id, at);

CREATE TABLE catalog (
    sku      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    price    BIGINT NOT NULL,
    category TEXT,
    in_stock BIGINT NOT NULL
);

CREATE TABLE orders (
    number       TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    status       TEXT NOT NULL,
    total        BIGINT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX orders_customer_created ON orders (customer_id, created_at);

CREATE TABLE order_items (
    order_number TEXT NOT NULL REFERENCES orders (number) ON DELETE CASCADE,
    line         BIGINT NOT NULL,
    sku          TEXT NOT NULL,
    qty          BIGINT NOT NULL,
    price        BIGINT NOT NULL,
    PRIMARY KEY (order_number, line)
);

CREATE TABLE deliveries (
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

CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    period      TEXT NOT NULL,
    title       TEXT NOT NULL
);
CREATE INDEX documents_customer ON documents (customer_id, kind, period);

CREATE TABLE services (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    duration_min BIGINT NOT NULL,
    price        BIGINT NOT NULL
);

CREATE TABLE staff (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE staff_services (
    staff_id     TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    service_code TEXT NOT NULL REFERENCES services (code) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, service_code)
);

CREATE TABLE slots (
    staff_id TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    start_at TEXT NOT NULL,
    PRIMARY KEY (staff_id, start_at)
);

CREATE TABLE bookings (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    service     TEXT NOT NULL REFERENCES services (code),
    staff_id    TEXT NOT NULL REFERENCES staff (id),
    start_at    TEXT NOT NULL,
    status      TEXT NOT NULL
);
CREATE INDEX bookings_customer ON bookings (customer_id, start_at);
CREATE INDEX bookings_staff ON bookings (staff_id, start_at);
