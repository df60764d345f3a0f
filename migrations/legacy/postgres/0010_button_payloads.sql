-- Button payloads kept server-side (PostgreSQL). Same conventions as 0001 (times as RFC
-- 3339 UTC text, so that text order is time order).
--
-- Telegram's callback data holds 64 bytes. A button whose payload would not fit (a backend
-- id of any length) carries a short random token instead, signed like any button data; the
-- payload waits here for the user it was issued to until it expires. /forget deletes a
-- user's rows; expired rows go a few at a time as new ones come.
CREATE TABLE button_payloads (
    token            TEXT PRIMARY KEY,
    telegram_user_id BIGINT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);
CREATE INDEX button_payloads_user ON button_payloads (telegram_user_id);
CREATE INDEX button_payloads_expiry ON button_payloads (expires_at);
