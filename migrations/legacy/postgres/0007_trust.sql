-- Trust (PostgreSQL): one Telegram account per customer at a time, cases detached from a chat that is
-- no longer bound, and at most one lead notice a day per user and phone. Same conventions as 0001.

-- The newest proof of ownership wins: where several accounts were bound to one customer, the
-- newest binding stays and the others end (their users' buttons are made stale too).
UPDATE telegram_users SET epoch = epoch + 1 WHERE telegram_user_id IN (
    SELECT b.telegram_user_id FROM bindings b WHERE EXISTS (
        SELECT 1 FROM bindings n WHERE n.customer_id = b.customer_id
        AND (n.bound_at > b.bound_at OR (n.bound_at = b.bound_at AND n.telegram_user_id > b.telegram_user_id))
    )
);
DELETE FROM bindings WHERE EXISTS (
    SELECT 1 FROM bindings n WHERE n.customer_id = bindings.customer_id
    AND (n.bound_at > bindings.bound_at OR (n.bound_at = bindings.bound_at AND n.telegram_user_id > bindings.telegram_user_id))
);
DROP INDEX bindings_customer;
CREATE UNIQUE INDEX bindings_customer ON bindings (customer_id);

-- A case whose customer left the chat (/logout, /forget, another account proved the phone):
-- staff replies reach no one. NULL while the case's chat is still the customer's.
ALTER TABLE support_cases ADD COLUMN detached_at TEXT;

-- When staff were last told about this lead (one notice per user and phone a day).
ALTER TABLE leads ADD COLUMN notified_at TEXT;
