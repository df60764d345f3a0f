-- The built-in CRM's leads and notes (SQLite): what a business's CRM would get from the bot.
-- Same conventions as 0001.

-- An unknown phone shared from Telegram: one lead per phone.
CREATE TABLE crm_leads (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    phone            TEXT NOT NULL UNIQUE,
    first_name       TEXT NOT NULL,
    telegram_user_id BIGINT NOT NULL,
    created_at       TEXT NOT NULL
);

-- Notes on a customer's record (cases escalated to staff).
CREATE TABLE crm_notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX crm_notes_customer ON crm_notes (customer_id, id);
