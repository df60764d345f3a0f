//! Booking reminders as they were sent, and what the customer answered to them.

use chrono::{DateTime, Utc};

use super::{Cols, Store, StoreResult, time_to_db};

/// One reminder sent to one chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentReminder {
    pub booking_id: String,
    /// "24h" or "2h".
    pub kind: String,
    pub chat_id: i64,
    /// The appointment's start when the reminder was sent.
    pub starts_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    /// "confirmed", "cancelled", "rescheduled"; `None`: no answer.
    pub answer: Option<String>,
}

impl Store {
    /// Records that a reminder is being sent; `false` when this one was sent already (the
    /// reminder is then not sent again).
    pub async fn record_reminder(
        &self,
        booking_id: &str,
        kind: &str,
        chat_id: i64,
        starts_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO booking_reminders (booking_id, kind, chat_id, starts_at, sent_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (booking_id, kind, chat_id) DO NOTHING",
        )
        .bind(booking_id.to_owned())
        .bind(kind.to_owned())
        .bind(chat_id)
        .bind(time_to_db(starts_at))
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes back a reminder record whose message could not be sent, so it is tried again.
    pub async fn forget_reminder(&self, booking_id: &str, kind: &str, chat_id: i64) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM booking_reminders WHERE booking_id = $1 AND kind = $2 AND chat_id = $3 AND answer IS NULL",
        )
        .bind(booking_id.to_owned())
        .bind(kind.to_owned())
        .bind(chat_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The customer answered the reminders of this booking: unanswered ones get `answer`.
    pub async fn answer_reminders(&self, booking_id: &str, answer: &str, at: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE booking_reminders SET answer = $1, answered_at = $2 WHERE booking_id = $3 AND answer IS NULL",
        )
        .bind(answer.to_owned())
        .bind(time_to_db(at))
        .bind(booking_id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The SEQUENCE of the booking's next calendar file: one more than the last after a move
    /// (1 at the first), else what it is now (0 for a new booking).
    pub async fn calendar_sequence(&self, booking_id: &str, moved: bool) -> StoreResult<i64> {
        let sql = if moved {
            "INSERT INTO calendar_sequences (booking_id, sequence) VALUES ($1, 1) \
             ON CONFLICT (booking_id) DO UPDATE SET sequence = calendar_sequences.sequence + 1 \
             RETURNING sequence"
        } else {
            "SELECT sequence FROM calendar_sequences WHERE booking_id = $1"
        };
        let row = sqlx::query(sql).bind(booking_id.to_owned()).fetch_optional(&self.pool).await?;
        match row {
            Some(row) => Ok(Cols::new(&row, "calendar_sequences").i64("sequence")?),
            None => Ok(0),
        }
    }

    /// The reminders sent for a booking, oldest first.
    pub async fn reminders(&self, booking_id: &str) -> StoreResult<Vec<SentReminder>> {
        let rows = sqlx::query(
            "SELECT booking_id, kind, chat_id, starts_at, sent_at, answer FROM booking_reminders \
             WHERE booking_id = $1 ORDER BY sent_at, kind, chat_id",
        )
        .bind(booking_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "booking_reminders");
                Ok(SentReminder {
                    booking_id: c.text("booking_id")?,
                    kind: c.text("kind")?,
                    chat_id: c.i64("chat_id")?,
                    starts_at: c.time("starts_at")?,
                    sent_at: c.time("sent_at")?,
                    answer: c.opt_text("answer")?,
                })
            })
            .collect()
    }
}
