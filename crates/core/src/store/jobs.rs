//! Scheduled jobs: reminders, re-pings and notifications kept in the database until they run
//! (see [`crate::jobs`] for the scheduler that runs them).
//!
//! A job is claimed by one conditional `UPDATE` that only a pending job due by then, or a
//! running one whose lease has passed, satisfies: of two replicas (or two tasks) claiming at
//! once, exactly one gets the row back. A claim leases the job until `now + lease`; a worker
//! that dies while running it leaves the lease to expire, and the job is claimed again.

use chrono::{DateTime, Utc};

use super::{Cols, Store, StoreResult, time_to_db};

/// A job to schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Unique: scheduling a job with a key that is already taken (in any status) does nothing.
    /// Keys name what they are about, e.g. `booking:42:remind-24h`, so that related jobs can
    /// be cancelled by a prefix.
    pub key: String,
    /// What the handler is to do ("booking.remind", …).
    pub kind: String,
    pub payload: serde_json::Value,
    /// Not run before this time.
    pub run_at: DateTime<Utc>,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// When it is due (for a retried job: when the retry is due).
    pub run_at: DateTime<Utc>,
    /// `pending`, `running`, `done`, `cancelled` or `failed`.
    pub status: String,
    /// How many times it has been claimed (1 during its first run).
    pub attempts: i64,
    /// Why its last run failed, if one did.
    pub last_error: Option<String>,
}

const JOB_COLUMNS: &str = "id, key, kind, payload, run_at, status, attempts, last_error";

/// What a job may be claimed in: pending and due, or running with its lease passed (`$1`
/// is now).
const CLAIMABLE: &str = "((status = 'pending' AND run_at <= $1) OR (status = 'running' AND locked_until < $1))";

impl Store {
    /// Schedules a job; true if it is new, false if a job with its key exists already (which
    /// is left as it is, whatever its status).
    pub async fn schedule_job(&self, job: &NewJob) -> StoreResult<bool> {
        self.insert_job(job, "DO NOTHING").await
    }

    /// Schedules a job like [`Store::schedule_job`], except that a cancelled job with its key
    /// is made pending again, with this job's time and payload (a booking moved away and back
    /// again); true if it is new or revived. A job pending, running, done or failed is left as
    /// it is.
    pub async fn schedule_or_revive_job(&self, job: &NewJob) -> StoreResult<bool> {
        self.insert_job(
            job,
            "DO UPDATE SET status = 'pending', kind = excluded.kind, payload = excluded.payload, \
             run_at = excluded.run_at, locked_until = NULL WHERE jobs.status = 'cancelled'",
        )
        .await
    }

    /// Inserts `job` as pending; `on_conflict` says what a job with its key already there
    /// becomes. True if a row was inserted or changed.
    async fn insert_job(&self, job: &NewJob, on_conflict: &str) -> StoreResult<bool> {
        let sql = format!(
            "INSERT INTO jobs (key, kind, payload, run_at, status, attempts, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5) ON CONFLICT (key) {on_conflict}"
        );
        let done = sqlx::query(&sql)
            .bind(job.key.clone())
            .bind(job.kind.clone())
            .bind(job.payload.to_string())
            .bind(time_to_db(job.run_at))
            .bind(time_to_db(Utc::now()))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels the pending jobs whose key starts with `key_prefix` (compared exactly: `%` and
    /// `_` are ordinary characters, case matters); returns how many. A running job is left
    /// to finish.
    pub async fn cancel_jobs(&self, key_prefix: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'cancelled', locked_until = NULL \
             WHERE status = 'pending' AND substr(key, 1, CAST($1 AS INTEGER)) = $2",
        )
        .bind(prefix_len(key_prefix))
        .bind(key_prefix.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Claims up to `limit` jobs due by `now` (earliest first): pending ones whose `run_at`
    /// has come, and running ones whose lease has passed (their worker is gone). Each is
    /// marked running until `now + lease`, its attempts counted. A job another claimer took
    /// in the meantime is skipped, so no job is ever handed to two claimers in one lease.
    pub async fn claim_due_jobs(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: chrono::Duration,
    ) -> StoreResult<Vec<Job>> {
        let now_db = time_to_db(now);
        let until = time_to_db(now + lease);
        let candidates = sqlx::query(&format!("SELECT id FROM jobs WHERE {CLAIMABLE} ORDER BY run_at, id LIMIT $2"))
            .bind(now_db.clone())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for row in &candidates {
            let id = Cols::new(row, "jobs").i64("id")?;
            // The same condition again, on this one row: whoever updates it first gets it;
            // PostgreSQL re-checks it after waiting for a concurrent update of the row, and a
            // SQLite write is serialised with every other.
            let row = sqlx::query(&format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2 \
                 WHERE id = $3 AND {CLAIMABLE} RETURNING {JOB_COLUMNS}"
            ))
            .bind(now_db.clone())
            .bind(until.clone())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                claimed.push(job_from_row(&row)?);
            }
        }
        Ok(claimed)
    }

    /// Marks a running job done; false if it was not running (cancelled meanwhile, or
    /// already finished).
    pub async fn complete_job(&self, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', done_at = $1, locked_until = NULL \
             WHERE id = $2 AND status = 'running'",
        )
        .bind(time_to_db(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a failed run of a running job: with `retry_at` it is pending again, due then;
    /// without, it has failed for good. False if it was not running.
    pub async fn fail_job(&self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> StoreResult<bool> {
        let query = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE jobs SET status = 'pending', run_at = $1, locked_until = NULL, last_error = $2 \
                 WHERE id = $3 AND status = 'running'",
            )
            .bind(time_to_db(at)),
            None => sqlx::query(
                "UPDATE jobs SET status = 'failed', locked_until = NULL, last_error = $1 \
                 WHERE id = $2 AND status = 'running'",
            ),
        };
        let done = query.bind(error.to_owned()).bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every job whose key starts with `key_prefix` (compared exactly), by `run_at` then id.
    /// The latest `run_at` of the jobs whose key starts with `key_prefix` and whose status is
    /// one of `statuses`; `None` when there is none. (One row back, however many jobs with the
    /// prefix are done.)
    pub async fn latest_run_at(&self, key_prefix: &str, statuses: &[&str]) -> StoreResult<Option<DateTime<Utc>>> {
        let placeholders: Vec<String> = (0..statuses.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT MAX(run_at) AS latest FROM jobs WHERE substr(key, 1, CAST($1 AS INTEGER)) = $2 AND status IN ({})",
            if placeholders.is_empty() { "NULL".to_owned() } else { placeholders.join(", ") }
        );
        let mut query = sqlx::query(&sql).bind(prefix_len(key_prefix)).bind(key_prefix.to_owned());
        for status in statuses {
            query = query.bind((*status).to_owned());
        }
        let row = query.fetch_one(&self.pool).await?;
        Cols::new(&row, "jobs").opt_time("latest")
    }

    pub async fn jobs_with_prefix(&self, key_prefix: &str) -> StoreResult<Vec<Job>> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE substr(key, 1, CAST($1 AS INTEGER)) = $2 ORDER BY run_at, id"
        ))
        .bind(prefix_len(key_prefix))
        .bind(key_prefix.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from_row).collect()
    }
}

/// The length of a key prefix as `substr` counts it: in characters, on both engines.
fn prefix_len(prefix: &str) -> i64 {
    i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX)
}

fn job_from_row(row: &sqlx::any::AnyRow) -> StoreResult<Job> {
    let c = Cols::new(row, "jobs");
    Ok(Job {
        id: c.i64("id")?,
        key: c.text("key")?,
        kind: c.text("kind")?,
        payload: c.json("payload")?,
        run_at: c.time("run_at")?,
        status: c.text("status")?,
        attempts: c.i64("attempts")?,
        last_error: c.opt_text("last_error")?,
    })
}
