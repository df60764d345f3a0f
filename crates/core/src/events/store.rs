//! The `events` table: each event's id, claimed before it is acted on and marked done with
//! its answer.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use crate::store::{Store, StoreResult, time_to_db};

/// What the table says of an event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Not acted on yet (new, or interrupted before it was done): act on it.
    Act,
    /// Acted on before: this was its answer.
    Done(String),
    /// The id was used before for an event of another type or customer.
    Reused,
}

/// Records the event id (if new) and says what to do with it.
pub async fn claim(
    store: &Store,
    id: &str,
    kind: &str,
    customer: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<Claim> {
    sqlx::query(
        "INSERT INTO events (id, type, customer_id, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(customer)
    .bind(time_to_db(now))
    .execute(store.pool())
    .await?;
    let row = sqlx::query("SELECT type, customer_id, done_at, answer FROM events WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await?;
    let (stored_kind, stored_customer): (String, Option<String>) = (row.try_get("type")?, row.try_get("customer_id")?);
    if stored_kind != kind || stored_customer.as_deref() != customer {
        return Ok(Claim::Reused);
    }
    let done: Option<String> = row.try_get("done_at")?;
    let answer: Option<String> = row.try_get("answer")?;
    Ok(match (done, answer) {
        (Some(_), Some(answer)) => Claim::Done(answer),
        _ => Claim::Act,
    })
}

/// Forgets a claimed event that could not be acted on, so that nothing of it is kept.
pub async fn release(store: &Store, id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM events WHERE id = $1 AND done_at IS NULL").bind(id).execute(store.pool()).await?;
    Ok(())
}

/// Marks the event done with its answer.
pub async fn done(store: &Store, id: &str, answer: &str, now: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE events SET done_at = $2, answer = $3 WHERE id = $1")
        .bind(id)
        .bind(time_to_db(now))
        .bind(answer)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// How many events the table holds (tests and operators).
pub async fn count(store: &Store) -> StoreResult<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM events").fetch_one(store.pool()).await?.try_get("n")?)
}
