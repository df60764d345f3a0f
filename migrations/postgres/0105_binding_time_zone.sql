-- The bound customer's own time zone, copied from the CRM when they are identified, so that
-- the notification sender keeps their quiet hours without asking the CRM per message.
ALTER TABLE bindings ADD COLUMN IF NOT EXISTS time_zone TEXT;
