//! cabinet's own records for self-service: the Telegram file ids of documents already sent,
//! one-time codes and their sends (per customer), top-ups paid through Telegram invoices, the
//! referral code a user came with and the customers bound before.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{Cols, Store, StoreResult, time_to_db};
use crate::adapters::CustomerId;
use crate::domain::money::to_minor;

/// The one-time code last sent to a customer: its hash, never the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRecord {
    pub code_hash: String,
    /// What the code confirms ("bind", "change", …).
    pub purpose: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Wrong codes entered so far.
    pub attempts: i64,
    /// No code is accepted before this time.
    pub locked_until: Option<DateTime<Utc>>,
}

/// A top-up through a Telegram invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopUpPayment {
    /// The invoice payload: unique per top-up.
    pub reference: String,
    pub telegram_user_id: i64,
    pub customer_id: CustomerId,
    pub amount: Decimal,
    /// ISO 4217 code ("KZT").
    pub currency: String,
    pub created_at: DateTime<Utc>,
    /// Telegram reported the payment (see [`Store::mark_top_up_paid`]).
    pub paid: bool,
}

impl Store {
    // --- document file ids ---
    /// The Telegram file id of a document already sent to this customer in this variant
    /// (a language, a format).
    pub async fn cached_file_id(
        &self,
        customer: &CustomerId,
        doc_id: &str,
        variant: &str,
    ) -> StoreResult<Option<String>> {
        let row =
            sqlx::query("SELECT file_id FROM document_files WHERE customer_id = $1 AND doc_id = $2 AND variant = $3")
                .bind(customer.0.clone())
                .bind(doc_id.to_owned())
                .bind(variant.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| Cols::new(&row, "document_files").text("file_id")).transpose()
    }

    /// Remembers (or replaces) the file id Telegram gave a sent document.
    pub async fn cache_file_id(
        &self,
        customer: &CustomerId,
        doc_id: &str,
        variant: &str,
        file_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO document_files (customer_id, doc_id, variant, file_id, sent_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (customer_id, doc_id, variant) DO UPDATE \
             SET file_id = excluded.file_id, sent_at = excluded.sent_at",
        )
        .bind(customer.0.clone())
        .bind(doc_id.to_owned())
        .bind(variant.to_owned())
        .bind(file_id.to_owned())
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // --- one-time codes (per customer, whichever Telegram account asks) ---
    /// The one-time code challenge of this customer, if any.
    pub async fn otp(&self, customer: &CustomerId) -> StoreResult<Option<OtpRecord>> {
        let row = sqlx::query(
            "SELECT code_hash, purpose, sent_at, expires_at, attempts, locked_until \
             FROM customer_otp WHERE customer_id = $1",
        )
        .bind(customer.0.clone())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(otp_from_row).transpose()
    }

    /// Sets (or replaces) the customer's challenge.
    pub async fn put_otp(&self, customer: &CustomerId, r: &OtpRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO customer_otp \
             (customer_id, code_hash, purpose, sent_at, expires_at, attempts, locked_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (customer_id) DO UPDATE SET code_hash = excluded.code_hash, \
             purpose = excluded.purpose, sent_at = excluded.sent_at, expires_at = excluded.expires_at, \
             attempts = excluded.attempts, locked_until = excluded.locked_until",
        )
        .bind(customer.0.clone())
        .bind(r.code_hash.clone())
        .bind(r.purpose.clone())
        .bind(time_to_db(r.sent_at))
        .bind(time_to_db(r.expires_at))
        .bind(r.attempts)
        .bind(r.locked_until.map(time_to_db))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the challenge (a valid code was used): the wrong tries start afresh. The sends
    /// stay for the throttle.
    pub async fn delete_otp(&self, customer: &CustomerId) -> StoreResult<()> {
        sqlx::query("DELETE FROM customer_otp WHERE customer_id = $1")
            .bind(customer.0.clone())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the code sent (it expired, or the change was cancelled); the wrong tries and a
    /// lock stay.
    pub async fn clear_otp_code(&self, customer: &CustomerId) -> StoreResult<()> {
        sqlx::query("UPDATE customer_otp SET code_hash = '' WHERE customer_id = $1")
            .bind(customer.0.clone())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts a wrong code. The try that reaches `max_attempts` locks until `lock_until` and
    /// forgets the code. One statement, so wrong codes typed at once from two accounts of the
    /// customer both count. The challenge as it is now, or `None` when there is none.
    pub async fn count_wrong_otp(
        &self,
        customer: &CustomerId,
        max_attempts: i64,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<Option<OtpRecord>> {
        let row = sqlx::query(
            "UPDATE customer_otp SET attempts = attempts + 1, \
             locked_until = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE locked_until END, \
             code_hash = CASE WHEN attempts + 1 >= $2 THEN '' ELSE code_hash END \
             WHERE customer_id = $1 \
             RETURNING code_hash, purpose, sent_at, expires_at, attempts, locked_until",
        )
        .bind(customer.0.clone())
        .bind(max_attempts)
        .bind(time_to_db(lock_until))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(otp_from_row).transpose()
    }

    /// Claims a code send to the customer at `at`, unless `wait` refuses: it is given the
    /// customer's sends after `since` (oldest first) and answers why not, or `None` to let
    /// the send go. A send let go is recorded, and sends from `since` back are dropped.
    ///
    /// One transaction that starts by writing the customer's challenge row (an empty one when
    /// there is none yet): PostgreSQL locks that row, SQLite takes its write lock, so two
    /// accounts of one customer asking at once are judged one after the other.
    pub async fn claim_otp_send<T>(
        &self,
        customer: &CustomerId,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        wait: impl FnOnce(&[DateTime<Utc>]) -> Option<T>,
    ) -> StoreResult<Result<(), T>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO customer_otp \
             (customer_id, code_hash, purpose, sent_at, expires_at, attempts, locked_until) \
             VALUES ($1, '', '', $2, $2, 0, NULL) \
             ON CONFLICT (customer_id) DO UPDATE SET attempts = customer_otp.attempts",
        )
        .bind(customer.0.clone())
        .bind(time_to_db(at))
        .execute(&mut *tx)
        .await?;
        let rows =
            sqlx::query("SELECT sent_at FROM otp_sends WHERE customer_id = $1 AND sent_at > $2 ORDER BY sent_at")
                .bind(customer.0.clone())
                .bind(time_to_db(since))
                .fetch_all(&mut *tx)
                .await?;
        let sends =
            rows.iter().map(|row| Cols::new(row, "otp_sends").time("sent_at")).collect::<StoreResult<Vec<_>>>()?;
        if let Some(why) = wait(&sends) {
            tx.rollback().await?;
            return Ok(Err(why));
        }
        sqlx::query("DELETE FROM otp_sends WHERE customer_id = $1 AND sent_at <= $2")
            .bind(customer.0.clone())
            .bind(time_to_db(since))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO otp_sends (customer_id, sent_at) VALUES ($1, $2)")
            .bind(customer.0.clone())
            .bind(time_to_db(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// The codes sent to the customer after `since`, oldest first.
    pub async fn otp_sends(&self, customer: &CustomerId, since: DateTime<Utc>) -> StoreResult<Vec<DateTime<Utc>>> {
        let rows =
            sqlx::query("SELECT sent_at FROM otp_sends WHERE customer_id = $1 AND sent_at > $2 ORDER BY sent_at")
                .bind(customer.0.clone())
                .bind(time_to_db(since))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|row| Cols::new(row, "otp_sends").time("sent_at")).collect()
    }

    // --- customers bound before ---
    /// Marks the customer as bound to a Telegram account; true only the first time ever (the
    /// mark outlives /logout and /forget).
    pub async fn mark_customer_seen(&self, customer: &CustomerId, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO customers_seen (customer_id, first_bound_at) VALUES ($1, $2) \
             ON CONFLICT (customer_id) DO NOTHING",
        )
        .bind(customer.0.clone())
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// When the customer was first bound to a Telegram account, if ever.
    pub async fn customer_first_bound(&self, customer: &CustomerId) -> StoreResult<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT first_bound_at FROM customers_seen WHERE customer_id = $1")
            .bind(customer.0.clone())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Cols::new(&row, "customers_seen").time("first_bound_at")).transpose()
    }

    // --- top-ups through Telegram invoices ---
    /// Records a top-up (its `paid` flag is ignored: a new top-up is pending).
    pub async fn create_top_up(&self, p: &TopUpPayment) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO top_up_payments \
             (reference, telegram_user_id, customer_id, amount, currency, created_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
        )
        .bind(p.reference.clone())
        .bind(p.telegram_user_id)
        .bind(p.customer_id.0.clone())
        .bind(to_minor(p.amount))
        .bind(p.currency.clone())
        .bind(time_to_db(p.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn top_up(&self, reference: &str) -> StoreResult<Option<TopUpPayment>> {
        let row = sqlx::query(
            "SELECT reference, telegram_user_id, customer_id, amount, currency, created_at, status \
             FROM top_up_payments WHERE reference = $1",
        )
        .bind(reference.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let c = Cols::new(&row, "top_up_payments");
            Ok(TopUpPayment {
                reference: c.text("reference")?,
                telegram_user_id: c.i64("telegram_user_id")?,
                customer_id: CustomerId(c.text("customer_id")?),
                amount: c.money("amount")?,
                currency: c.text("currency")?,
                created_at: c.time("created_at")?,
                paid: c.text("status")? == "paid",
            })
        })
        .transpose()
    }

    /// Marks a pending top-up paid with Telegram's charge id. True only for the call that
    /// moved it from pending to paid: a repeat (or an unknown reference) is false, so the
    /// payment is credited once.
    pub async fn mark_top_up_paid(&self, reference: &str, charge_id: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE top_up_payments SET status = 'paid', charge_id = $2, paid_at = $3 \
             WHERE reference = $1 AND status = 'pending'",
        )
        .bind(reference.to_owned())
        .bind(charge_id.to_owned())
        .bind(time_to_db(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // --- referral codes users came with ---
    /// Remembers (or clears) the referral code a user came with. A user not seen before is
    /// created with the private chat's id, which is the user's id.
    pub async fn set_pending_referral(&self, telegram_user_id: i64, code: Option<&str>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at, referral_code) \
             VALUES ($1, $1, NULL, 0, $2, $3) \
             ON CONFLICT (telegram_user_id) DO UPDATE SET referral_code = excluded.referral_code",
        )
        .bind(telegram_user_id)
        .bind(time_to_db(Utc::now()))
        .bind(code.map(str::to_owned))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The referral code the user came with, if any is pending.
    pub async fn pending_referral(&self, telegram_user_id: i64) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT referral_code FROM telegram_users WHERE telegram_user_id = $1")
            .bind(telegram_user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Cols::new(&row, "telegram_users").opt_text("referral_code")?,
            None => None,
        })
    }
}

/// A `customer_otp` row as an [`OtpRecord`].
fn otp_from_row(row: &sqlx::any::AnyRow) -> StoreResult<OtpRecord> {
    let c = Cols::new(row, "customer_otp");
    Ok(OtpRecord {
        code_hash: c.text("code_hash")?,
        purpose: c.text("purpose")?,
        sent_at: c.time("sent_at")?,
        expires_at: c.time("expires_at")?,
        attempts: c.i64("attempts")?,
        locked_until: c.opt_time("locked_until")?,
    })
}
