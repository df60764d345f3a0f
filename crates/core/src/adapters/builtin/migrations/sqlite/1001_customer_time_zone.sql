-- A customer's own time zone (IANA, e.g. "Europe/Moscow"), when known: quiet hours follow it.
ALTER TABLE customers ADD COLUMN time_zone TEXT;
