-- What the bot recorded in the built-in adapter's data, told apart from what `cabinet import`
-- wrote (SQLite), so that an import keeps it. Same conventions as 0001.
--
-- Other bot records are told apart by existing columns: an order or a booking made in the chat
-- has an idempotency_key, a booking moved or cancelled in the chat an updated_at; payments,
-- referrals and subscription changes have tables of their own.

-- The payment a transaction records (NULL: a transaction of the imported data set).
ALTER TABLE transactions ADD COLUMN payment_id TEXT;
UPDATE transactions SET payment_id = (
    SELECT MIN(p.payment_id) FROM payments_credited p
    WHERE p.customer_id = transactions.customer_id AND p.at = transactions.at AND p.amount = transactions.amount
) WHERE kind = 'top_up';

-- When the bot last changed the subscription (tariff, options, pause) and the data set has not
-- caught up since (NULL: the imported subscription).
ALTER TABLE accounts ADD COLUMN changed_by_bot_at TEXT;
UPDATE accounts SET changed_by_bot_at = (
    SELECT MAX(s.created_at) FROM subscription_changes s
    WHERE s.customer_id = accounts.customer_id AND s.outcome LIKE '{"done"%'
);
