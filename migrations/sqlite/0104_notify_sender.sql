-- Leases (crates/core/src/store/leases.rs): a named role only one process holds at a time,
-- until `expires_at` unless renewed (the notifications' sender, `notify.sender`).

CREATE TABLE IF NOT EXISTS leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
