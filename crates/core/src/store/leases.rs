//! Leases: a named role (the notifications' sender, …) that one process at a time holds,
//! until a time by the clock unless it renews it.
//!
//! Taking and renewing are one statement: an insert of the lease that, when the name is
//! taken, overwrites it only if this holder already has it or it has expired. Of two
//! processes trying at once exactly one gets it (PostgreSQL re-checks the condition on the
//! row after a concurrent update; SQLite serialises writes).

use chrono::{DateTime, Utc};

use super::{Store, StoreResult, time_to_db};

impl Store {
    /// Takes the lease `name` for `holder` until `until`, or renews it when `holder` has it
    /// already; true when `holder` has it now. Nobody else may take it before it expires
    /// (`now` past its `until`).
    pub async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let held = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= $4 RETURNING holder",
        )
        .bind(name.to_owned())
        .bind(holder.to_owned())
        .bind(time_to_db(until))
        .bind(time_to_db(now))
        .fetch_optional(self.pool())
        .await?;
        Ok(held.is_some())
    }

    /// Gives the lease `name` up if `holder` has it (a process stopping), so another may take
    /// it at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name.to_owned())
            .bind(holder.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
