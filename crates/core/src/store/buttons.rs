//! Button payloads kept server-side: the payloads too long for Telegram's 64 bytes of
//! callback data, each under a random token issued to one user, until it expires.

use chrono::{DateTime, Utc};

use super::{Cols, Store, StoreResult, time_to_db};

/// Expired rows deleted at most with each new one, so an insert stays cheap.
const PURGE_BATCH: i64 = 100;

/// A payload kept under a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredButton {
    /// The Telegram user the button was issued to.
    pub telegram_user_id: i64,
    pub payload: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Keeps `payload` under `token` for `telegram_user_id` until `expires_at`, and deletes
    /// up to a batch of rows expired by `at`.
    pub async fn keep_button_payload(
        &self,
        token: &str,
        telegram_user_id: i64,
        payload: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO button_payloads (token, telegram_user_id, payload, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.to_owned())
        .bind(telegram_user_id)
        .bind(payload.to_owned())
        .bind(time_to_db(at))
        .bind(time_to_db(expires_at))
        .execute(&self.pool)
        .await?;
        self.purge_button_payloads(at, PURGE_BATCH).await?;
        Ok(())
    }

    /// The payload kept under `token`, whoever it was issued to and expired or not.
    pub async fn button_payload(&self, token: &str) -> StoreResult<Option<StoredButton>> {
        let row = sqlx::query("SELECT telegram_user_id, payload, expires_at FROM button_payloads WHERE token = $1")
            .bind(token.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let c = Cols::new(&row, "button_payloads");
            Ok(StoredButton {
                telegram_user_id: c.i64("telegram_user_id")?,
                payload: c.text("payload")?,
                expires_at: c.time("expires_at")?,
            })
        })
        .transpose()
    }

    /// Deletes up to `limit` payloads expired by `at` (the earliest first); returns how many
    /// went.
    pub async fn purge_button_payloads(&self, at: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM button_payloads WHERE token IN \
             (SELECT token FROM button_payloads WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)",
        )
        .bind(time_to_db(at))
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
