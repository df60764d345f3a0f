//! Support: the staff supergroup's forum topics (one per customer), the cases escalated to
//! staff, the requests the bot handled (for /stats) and the alerts raised about users.
//!
//! Every change of a case that may only happen once (closing, rating, the first staff reply)
//! is one conditional `UPDATE`: of two concurrent callers exactly one changes the row, on
//! both engines (PostgreSQL re-checks the condition after waiting for a concurrent update of
//! the row; SQLite serialises every write). One open case per customer is kept by a partial
//! unique index, so two escalations at once give one case.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Cols, Store, StoreError, StoreResult, time_to_db};
use crate::adapters::CustomerId;

/// How urgent a case is. Ordered by urgency: `Critical > High > Normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CasePriority {
    Critical,
    High,
    Normal,
}

impl CasePriority {
    /// "critical", "high" or "normal", as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CasePriority::Critical => "critical",
            CasePriority::High => "high",
            CasePriority::Normal => "normal",
        }
    }

    /// The priority named by [`CasePriority::as_str`]; `None` for anything else.
    pub fn parse(s: &str) -> Option<CasePriority> {
        match s {
            "critical" => Some(CasePriority::Critical),
            "high" => Some(CasePriority::High),
            "normal" => Some(CasePriority::Normal),
            _ => None,
        }
    }

    /// Higher is more urgent (the same numbers as [`PRIORITY_RANK`] gives in SQL).
    fn rank(self) -> i64 {
        match self {
            CasePriority::Critical => 3,
            CasePriority::High => 2,
            CasePriority::Normal => 1,
        }
    }
}

impl Ord for CasePriority {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl PartialOrd for CasePriority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for CasePriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case escalated to staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportCase {
    pub id: i64,
    pub customer_id: CustomerId,
    /// The customer's Telegram account that escalated.
    pub telegram_user_id: i64,
    /// Where staff replies are relayed to.
    pub customer_chat_id: i64,
    pub priority: CasePriority,
    /// Why it was escalated (the classifier's or the customer's words).
    pub reason: String,
    /// Open until [`Store::close_case`].
    pub open: bool,
    /// The staff member who took it.
    pub assigned_to: Option<i64>,
    pub assigned_name: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// The first staff reply relayed to the customer.
    pub first_response_at: Option<DateTime<Utc>>,
    pub last_staff_at: Option<DateTime<Utc>>,
    pub last_customer_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The customer's rating, 1 to 5, given once after closing.
    pub rating: Option<i64>,
    /// Relaying to the customer failed (they blocked the bot, the chat is gone).
    pub unreachable: bool,
    /// When the customer left the chat the case was escalated from (/logout, /forget,
    /// another account proved the phone): staff replies reach no one.
    pub detached_at: Option<DateTime<Utc>>,
}

/// A case to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub customer_id: CustomerId,
    pub telegram_user_id: i64,
    pub customer_chat_id: i64,
    pub priority: CasePriority,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What /stats shows for a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportStats {
    /// Requests the bot handled.
    pub requests: i64,
    /// Requests per intent, the most frequent first (ties by intent).
    pub by_intent: Vec<(String, i64)>,
    /// Requests that were escalated to staff.
    pub escalated_requests: i64,
    /// Cases opened.
    pub cases_opened: i64,
    /// The median time from opening to the first staff reply, over the cases opened in the
    /// period that have one; `None` if none has.
    pub median_first_response: Option<chrono::Duration>,
}

const CASE_COLUMNS: &str = "id, customer_id, telegram_user_id, customer_chat_id, priority, reason, status, \
     assigned_to, assigned_name, opened_at, first_response_at, last_staff_at, last_customer_at, closed_at, \
     rating, unreachable, detached_at";

/// The stored priority as a number, higher more urgent (as [`CasePriority::rank`]).
const PRIORITY_RANK: &str = "(CASE priority WHEN 'critical' THEN 3 WHEN 'high' THEN 2 ELSE 1 END)";

/// How many times [`Store::open_case`] tries when the open case it ran into is closed before
/// it could be read.
const OPEN_CASE_ATTEMPTS: usize = 5;

impl Store {
    // --- forum topics ---
    /// The staff supergroup's topic of this customer, as (chat id, thread id).
    pub async fn support_topic(&self, customer: &CustomerId) -> StoreResult<Option<(i64, i32)>> {
        let row = sqlx::query("SELECT chat_id, thread_id FROM support_topics WHERE customer_id = $1")
            .bind(customer.0.clone())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            let c = Cols::new(&row, "support_topics");
            Ok((c.i64("chat_id")?, thread_id(&c)?))
        })
        .transpose()
    }

    /// Sets (or replaces) the customer's topic. A topic belongs to one customer: another
    /// customer's claim on the same topic is dropped.
    pub async fn set_support_topic(
        &self,
        customer: &CustomerId,
        chat_id: i64,
        thread_id: i32,
        name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM support_topics WHERE chat_id = $1 AND thread_id = $2 AND customer_id <> $3")
            .bind(chat_id)
            .bind(i64::from(thread_id))
            .bind(customer.0.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO support_topics (customer_id, chat_id, thread_id, name, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (customer_id) DO UPDATE SET chat_id = excluded.chat_id, \
             thread_id = excluded.thread_id, name = excluded.name, created_at = excluded.created_at",
        )
        .bind(customer.0.clone())
        .bind(chat_id)
        .bind(i64::from(thread_id))
        .bind(name.to_owned())
        .bind(time_to_db(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the customer's topic (it was deleted in Telegram): the next case opens a new one.
    pub async fn forget_support_topic(&self, customer: &CustomerId) -> StoreResult<()> {
        sqlx::query("DELETE FROM support_topics WHERE customer_id = $1")
            .bind(customer.0.clone())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The customer whose topic this is.
    pub async fn customer_of_topic(&self, chat_id: i64, thread_id: i32) -> StoreResult<Option<CustomerId>> {
        let row = sqlx::query("SELECT customer_id FROM support_topics WHERE chat_id = $1 AND thread_id = $2")
            .bind(chat_id)
            .bind(i64::from(thread_id))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok(CustomerId(Cols::new(&row, "support_topics").text("customer_id")?))).transpose()
    }

    // --- cases ---
    /// The customer's open case and `false` if there is one (left as it is), else a new open
    /// case and `true`. Concurrent calls for one customer give one case: the database keeps
    /// one open case per customer, and the calls that lose the race get the winner's.
    pub async fn open_case(&self, new: &NewCase) -> StoreResult<(SupportCase, bool)> {
        for _ in 0..OPEN_CASE_ATTEMPTS {
            let inserted = sqlx::query(&format!(
                "INSERT INTO support_cases (customer_id, telegram_user_id, customer_chat_id, priority, reason, \
                 status, opened_at, unreachable) VALUES ($1, $2, $3, $4, $5, 'open', $6, 0) \
                 ON CONFLICT (customer_id) WHERE status = 'open' DO NOTHING RETURNING {CASE_COLUMNS}"
            ))
            .bind(new.customer_id.0.clone())
            .bind(new.telegram_user_id)
            .bind(new.customer_chat_id)
            .bind(new.priority.as_str().to_owned())
            .bind(new.reason.clone())
            .bind(time_to_db(new.at))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = inserted {
                return Ok((case_from_row(&row)?, true));
            }
            // Someone else's open case is in the way; it may be closed before it is read, and
            // then the insert is tried again.
            if let Some(case) = self.open_case_of(&new.customer_id).await? {
                return Ok((case, false));
            }
        }
        Err(StoreError::Corrupt(format!(
            "support_cases: no open case for {} and none could be opened",
            new.customer_id
        )))
    }

    /// Attaches a detached open case to the account now bound to its customer (who asked for
    /// a person again); false if the case is closed or still attached.
    pub async fn reattach_case(&self, id: i64, telegram_user_id: i64, chat_id: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE support_cases SET telegram_user_id = $2, customer_chat_id = $3, detached_at = NULL, unreachable = 0 \
             WHERE id = $1 AND status = 'open' AND detached_at IS NOT NULL",
        )
        .bind(id)
        .bind(telegram_user_id)
        .bind(chat_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The customer's open case, if any.
    pub async fn open_case_of(&self, customer: &CustomerId) -> StoreResult<Option<SupportCase>> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM support_cases WHERE customer_id = $1 AND status = 'open'"
        ))
        .bind(customer.0.clone())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    pub async fn case_by_id(&self, id: i64) -> StoreResult<Option<SupportCase>> {
        let row = sqlx::query(&format!("SELECT {CASE_COLUMNS} FROM support_cases WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// The customer's newest case, open or closed.
    pub async fn last_case_of(&self, customer: &CustomerId) -> StoreResult<Option<SupportCase>> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM support_cases WHERE customer_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(customer.0.clone())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// The newest case escalated from this Telegram account, open or closed.
    pub async fn last_case_escalated_by(&self, telegram_user_id: i64) -> StoreResult<Option<SupportCase>> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM support_cases WHERE telegram_user_id = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(telegram_user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(case_from_row).transpose()
    }

    /// Sets the priority of an open case (up or down); false if the case is closed or unknown.
    pub async fn set_case_priority(&self, id: i64, priority: CasePriority) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE support_cases SET priority = $1 WHERE id = $2 AND status = 'open'")
            .bind(priority.as_str().to_owned())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Raises the priority of an open case to `priority` if that is more urgent than its own;
    /// false if it is not (or the case is closed or unknown).
    pub async fn raise_case_priority(&self, id: i64, priority: CasePriority) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE support_cases SET priority = $1 WHERE id = $2 AND status = 'open' AND {PRIORITY_RANK} < $3"
        ))
        .bind(priority.as_str().to_owned())
        .bind(id)
        .bind(priority.rank())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Assigns an open case to a staff member (replacing whoever had it); false if the case
    /// is closed or unknown.
    pub async fn assign_case(&self, id: i64, staff_id: i64, staff_name: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE support_cases SET assigned_to = $1, assigned_name = $2 WHERE id = $3 AND status = 'open'",
        )
        .bind(staff_id)
        .bind(staff_name.to_owned())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a staff reply relayed to the customer at `at`: the last staff reply, and the
    /// first response if there was none. True only for the call that set the first response.
    pub async fn record_staff_reply(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let first = sqlx::query(
            "UPDATE support_cases SET first_response_at = $1, last_staff_at = $1 \
             WHERE id = $2 AND first_response_at IS NULL",
        )
        .bind(time_to_db(at))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if first.rows_affected() > 0 {
            return Ok(true);
        }
        sqlx::query("UPDATE support_cases SET last_staff_at = $1 WHERE id = $2")
            .bind(time_to_db(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(false)
    }

    /// Records a customer message relayed to staff at `at`.
    pub async fn record_customer_message(&self, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE support_cases SET last_customer_at = $1 WHERE id = $2")
            .bind(time_to_db(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes an open case; true only for the call that closed it.
    pub async fn close_case(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE support_cases SET status = 'closed', closed_at = $1 WHERE id = $2 AND status = 'open'")
                .bind(time_to_db(at))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records the customer's rating of a closed case, once: false for a rating outside 1..=5,
    /// an open or unknown case, or one rated already.
    pub async fn rate_case(&self, id: i64, rating: i64) -> StoreResult<bool> {
        if !(1..=5).contains(&rating) {
            return Ok(false);
        }
        let done =
            sqlx::query("UPDATE support_cases SET rating = $1 WHERE id = $2 AND status = 'closed' AND rating IS NULL")
                .bind(rating)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Marks whether the customer of a case can be reached (relaying to them failed).
    pub async fn set_case_unreachable(&self, id: i64, unreachable: bool) -> StoreResult<()> {
        sqlx::query("UPDATE support_cases SET unreachable = $1 WHERE id = $2")
            .bind(i64::from(unreachable))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every open case, oldest first.
    pub async fn open_cases(&self) -> StoreResult<Vec<SupportCase>> {
        let rows = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM support_cases WHERE status = 'open' ORDER BY opened_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_from_row).collect()
    }

    // --- requests, statistics, alerts ---
    /// Records a customer request the bot handled: what it was taken for and whether it went
    /// to staff.
    pub async fn log_request(
        &self,
        at: DateTime<Utc>,
        telegram_user_id: i64,
        intent: &str,
        escalated: bool,
    ) -> StoreResult<()> {
        self.write_all(&[super::TurnWrite::Request { at, telegram_user_id, intent: intent.to_owned(), escalated }])
            .await
    }

    /// The requests and cases of `[from, to)`; see [`SupportStats`].
    pub async fn support_stats(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> StoreResult<SupportStats> {
        let (from, to) = (time_to_db(from), time_to_db(to));
        let rows = sqlx::query(
            "SELECT intent, COUNT(*) AS n, COUNT(CASE WHEN escalated <> 0 THEN 1 END) AS escalated \
             FROM support_requests WHERE at >= $1 AND at < $2 GROUP BY intent",
        )
        .bind(from.clone())
        .bind(to.clone())
        .fetch_all(&self.pool)
        .await?;
        let mut stats = SupportStats::default();
        for row in &rows {
            let c = Cols::new(row, "support_requests");
            let n = c.i64("n")?;
            stats.requests += n;
            stats.escalated_requests += c.i64("escalated")?;
            stats.by_intent.push((c.text("intent")?, n));
        }
        stats.by_intent.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));

        let rows = sqlx::query(
            "SELECT opened_at, first_response_at FROM support_cases WHERE opened_at >= $1 AND opened_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        stats.cases_opened = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let mut waits = Vec::with_capacity(rows.len());
        for row in &rows {
            let c = Cols::new(row, "support_cases");
            if let Some(first) = c.opt_time("first_response_at")? {
                waits.push(first - c.time("opened_at")?);
            }
        }
        stats.median_first_response = median(waits);
        Ok(stats)
    }

    /// Counts one message the bot could not understand on `day`, by its normalised text
    /// ([`normalise_unrecognised`]; nothing is counted for a text that normalises to
    /// nothing), and purges the counts of days before `keep_from`.
    pub async fn count_unrecognised(&self, day: NaiveDate, text: &str, keep_from: NaiveDate) -> StoreResult<()> {
        let text = normalise_unrecognised(text);
        if text.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO unrecognised_messages (day, text, count) VALUES ($1, $2, 1) \
             ON CONFLICT (day, text) DO UPDATE SET count = unrecognised_messages.count + 1",
        )
        .bind(day.to_string())
        .bind(text)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM unrecognised_messages WHERE day < $1")
            .bind(keep_from.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The most frequent messages the bot could not understand on the days from `from` on,
    /// with their counts: at most `limit`, the most frequent first (ties by text).
    pub async fn top_unrecognised(&self, from: NaiveDate, limit: i64) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT text, CAST(SUM(count) AS BIGINT) AS n FROM unrecognised_messages WHERE day >= $1 \
             GROUP BY text ORDER BY n DESC, text LIMIT $2",
        )
        .bind(from.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let c = Cols::new(row, "unrecognised_messages");
                Ok((c.text("text")?, c.i64("n")?))
            })
            .collect()
    }

    /// How many audit entries of this user with one of `actions` there are at or after `since`.
    pub async fn count_audit(&self, telegram_user_id: i64, actions: &[&str], since: DateTime<Utc>) -> StoreResult<i64> {
        if actions.is_empty() {
            return Ok(0);
        }
        let placeholders: Vec<String> = (0..actions.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM audit_log WHERE telegram_user_id = $1 AND at >= $2 AND action IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(telegram_user_id).bind(time_to_db(since));
        for action in actions {
            query = query.bind((*action).to_owned());
        }
        let row = query.fetch_one(&self.pool).await?;
        Cols::new(&row, "audit_log").i64("n")
    }

    /// Records an alert of `kind` about a user at `at`, unless one of this kind was recorded
    /// less than `window` before (or at or after `at`): true if it was recorded and is to be
    /// raised. Of concurrent calls, one is true.
    pub async fn record_alert(
        &self,
        telegram_user_id: i64,
        kind: &str,
        at: DateTime<Utc>,
        window: chrono::Duration,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO support_alerts (telegram_user_id, kind, at) VALUES ($1, $2, $3) \
             ON CONFLICT (telegram_user_id, kind) DO UPDATE SET at = excluded.at WHERE support_alerts.at <= $4",
        )
        .bind(telegram_user_id)
        .bind(kind.to_owned())
        .bind(time_to_db(at))
        .bind(time_to_db(at - window))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// The longest normalised text of an unrecognised message, in characters.
const UNRECOGNISED_MAX_CHARS: usize = 100;

/// An unrecognised message as it is counted: lower case, numbers of 5 digits or more
/// dropped (also written with spaces, dashes or brackets, such as a phone: phone and order
/// numbers are not kept), whitespace collapsed and trimmed, at most
/// [`UNRECOGNISED_MAX_CHARS`] characters.
pub fn normalise_unrecognised(text: &str) -> String {
    let chars: Vec<char> = text.to_lowercase().chars().collect();
    let mut kept = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&ch) = chars.get(i) {
        let starts_number = ch.is_ascii_digit() || (ch == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit));
        if !starts_number {
            kept.push(ch);
            i += 1;
            continue;
        }
        // The number: digits and the separators between them.
        let (mut end, mut last_digit, mut digits) = (i, i, 0);
        while let Some(&c) = chars.get(end) {
            if c.is_ascii_digit() {
                digits += 1;
                last_digit = end;
            } else if !(matches!(c, ' ' | '-' | '(' | ')' | '+')) {
                break;
            }
            end += 1;
        }
        if digits < 5 {
            kept.extend(chars.get(i..=last_digit).unwrap_or_default());
        }
        i = last_digit + 1;
    }
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(UNRECOGNISED_MAX_CHARS).collect::<String>().trim_end().to_owned()
}

/// Detaches the open cases escalated from this account (it is no longer bound), inside the
/// transaction that unbinds it.
pub(super) async fn detach_cases_of_user(
    conn: &mut sqlx::AnyConnection,
    telegram_user_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE support_cases SET detached_at = $2 WHERE telegram_user_id = $1 AND status = 'open' AND detached_at IS NULL",
    )
    .bind(telegram_user_id)
    .bind(time_to_db(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The thread id column of a topic (Telegram's thread ids are 32-bit).
fn thread_id(c: &Cols<'_>) -> StoreResult<i32> {
    let id = c.i64("thread_id")?;
    i32::try_from(id).map_err(|_| StoreError::Corrupt(format!("support_topics.thread_id: out of range: {id}")))
}

/// The median: the middle value, or the mean of the two middle ones. (Differences of
/// `DateTime`s are far from `Duration`'s bounds, so nothing here overflows.)
fn median(mut values: Vec<chrono::Duration>) -> Option<chrono::Duration> {
    values.sort_unstable();
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        return values.get(mid).copied();
    }
    let (low, high) = (*values.get(mid.checked_sub(1)?)?, *values.get(mid)?);
    Some(low + (high - low) / 2)
}

fn case_from_row(row: &sqlx::any::AnyRow) -> StoreResult<SupportCase> {
    let c = Cols::new(row, "support_cases");
    let priority = c.text("priority")?;
    let status = c.text("status")?;
    Ok(SupportCase {
        id: c.i64("id")?,
        customer_id: CustomerId(c.text("customer_id")?),
        telegram_user_id: c.i64("telegram_user_id")?,
        customer_chat_id: c.i64("customer_chat_id")?,
        priority: CasePriority::parse(&priority)
            .ok_or_else(|| StoreError::Corrupt(format!("support_cases.priority: {priority:?}")))?,
        reason: c.text("reason")?,
        open: match status.as_str() {
            "open" => true,
            "closed" => false,
            _ => return Err(StoreError::Corrupt(format!("support_cases.status: {status:?}"))),
        },
        assigned_to: c.opt_i64("assigned_to")?,
        assigned_name: c.opt_text("assigned_name")?,
        opened_at: c.time("opened_at")?,
        first_response_at: c.opt_time("first_response_at")?,
        last_staff_at: c.opt_time("last_staff_at")?,
        last_customer_at: c.opt_time("last_customer_at")?,
        closed_at: c.opt_time("closed_at")?,
        rating: c.opt_i64("rating")?,
        unreachable: c.i64("unreachable")? != 0,
        detached_at: c.opt_time("detached_at")?,
    })
}

/// A row of the requests' log ([`Store::log_request`]).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_order_by_urgency_and_round_trip() {
        assert!(CasePriority::Critical > CasePriority::High);
        assert!(CasePriority::High > CasePriority::Normal);
        let mut all = vec![CasePriority::Normal, CasePriority::Critical, CasePriority::High];
        all.sort();
        assert_eq!(all, [CasePriority::Normal, CasePriority::High, CasePriority::Critical]);
        for p in all {
            assert_eq!(CasePriority::parse(p.as_str()), Some(p));
        }
        assert_eq!(CasePriority::parse("urgent"), None);
        assert_eq!(CasePriority::parse("Critical"), None);
    }

    #[test]
    fn unrecognised_messages_are_counted_by_a_normalised_text_without_long_numbers() {
        assert_eq!(normalise_unrecognised("  Где   МОЙ\tкурьер?? "), "где мой курьер??");
        assert_eq!(normalise_unrecognised("позвоните на 87011234567 пожалуйста"), "позвоните на пожалуйста");
        assert_eq!(normalise_unrecognised("заказ 78234 и 1234"), "заказ и 1234");
        assert_eq!(normalise_unrecognised("мой номер +7 (701) 123-45-67, 12 шт"), "мой номер , 12 шт");
        assert_eq!(normalise_unrecognised("12345"), "");
        assert_eq!(normalise_unrecognised(&"я".repeat(300)).chars().count(), 100);
        assert_eq!(normalise_unrecognised(&format!("{} b", "a".repeat(99))), "a".repeat(99));
    }

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        let s = chrono::Duration::seconds;
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![s(7)]), Some(s(7)));
        assert_eq!(median(vec![s(9), s(1), s(5)]), Some(s(5)));
        assert_eq!(median(vec![s(10), s(1), s(4), s(100)]), Some(s(7)));
        assert_eq!(median(vec![s(1), s(2)]), Some(chrono::Duration::milliseconds(1500)));
    }
}
