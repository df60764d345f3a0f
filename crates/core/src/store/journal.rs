//! The turns' records written together (a group commit): the chat log, the request log and
//! the audit entries of every turn that flushes at about the same moment go to the database
//! in one transaction, a few multi-row `INSERT`s for all of them, instead of a transaction
//! (and a statement per row) for each turn.
//!
//! Nothing is held back on a timer: one task, the writer, takes whatever has been handed to
//! it since its last commit and writes it at once. When the bot is quiet that is one turn's
//! records, written as soon as they come; under load the turns that flushed while the last
//! commit was under way share the next one. Each caller waits for the commit that holds its
//! records ([`Journal::write`]), so what was promised before — an audit entry is committed
//! before the data it records is shown, a failure to write it stops the reply — still holds.
//! A batch that fails is written again turn by turn, so one turn's bad record fails that turn
//! alone. Within each table the rows keep the order they were handed over in.

use std::ops::DerefMut;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::pool::Pool;
use super::{AuditEntry, StoreError, StoreResult, TurnWrite, time_to_db};

/// At most this many turns' records in one commit.
const MAX_TURNS: usize = 512;

/// Rows per `INSERT` come in powers of two up to this (a batch of 37 rows is 32 + 4 + 1), so
/// that a connection keeps at most a handful of prepared statements per table.
const MAX_ROWS: usize = 64;

/// One turn's records and who waits for them.
struct Handed {
    writes: Vec<TurnWrite>,
    done: oneshot::Sender<StoreResult<()>>,
}

/// The handle turns write through; the writer task ends when the last handle is dropped.
#[derive(Debug)]
pub(super) struct Journal {
    to_writer: mpsc::UnboundedSender<Handed>,
}

impl Journal {
    /// Starts the writer on the current runtime.
    pub(super) fn start(pool: Pool) -> Journal {
        let (to_writer, from_turns) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, from_turns));
        Journal { to_writer }
    }

    /// Writes `writes` with whatever other turns hand over meanwhile; returns when they are
    /// committed (or failed). Should the writer be gone (its runtime shut down), they are
    /// written here, alone.
    pub(super) async fn write(&self, pool: &Pool, writes: Vec<TurnWrite>) -> StoreResult<()> {
        pool.journaled(writes.len());
        let (done, committed) = oneshot::channel();
        let writes = match self.to_writer.send(Handed { writes, done }) {
            Ok(()) => match committed.await {
                Ok(result) => return result,
                // The writer was dropped with the records unwritten: it is going away.
                Err(_) => return Err(StoreError::Db(sqlx::Error::PoolClosed)),
            },
            Err(mpsc::error::SendError(handed)) => handed.writes,
        };
        insert(pool, &writes.iter().collect::<Vec<_>>()).await
    }
}

async fn run(pool: Pool, mut from_turns: mpsc::UnboundedReceiver<Handed>) {
    let mut batch = Vec::with_capacity(MAX_TURNS);
    while from_turns.recv_many(&mut batch, MAX_TURNS).await > 0 {
        let all: Vec<&TurnWrite> = batch.iter().flat_map(|h| &h.writes).collect();
        let result = insert(&pool, &all).await;
        drop(all);
        match result {
            Ok(()) => {
                for handed in batch.drain(..) {
                    let _ = handed.done.send(Ok(()));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(handed) = batch.pop() {
                    let _ = handed.done.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(turns = batch.len(), error = %e, "a batch of records failed; writing them turn by turn");
                for handed in batch.drain(..) {
                    let result = insert(&pool, &handed.writes.iter().collect::<Vec<_>>()).await;
                    let _ = handed.done.send(result);
                }
            }
        }
    }
}

/// A query of the store's engines, its arguments bound as it is built.
type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Writes `writes` in one transaction (or, when one statement holds them all, without one).
async fn insert(pool: &Pool, writes: &[&TurnWrite]) -> StoreResult<()> {
    let mut messages = Vec::new();
    let mut requests = Vec::new();
    let mut audits = Vec::new();
    for write in writes {
        match write {
            TurnWrite::Message { chat_id, direction, text, at } => messages.push((*chat_id, *direction, text, *at)),
            TurnWrite::Request { at, telegram_user_id, intent, escalated } => {
                requests.push((*at, *telegram_user_id, intent, *escalated));
            }
            TurnWrite::Audit(entry) => audits.push(entry),
        }
    }
    let statements: usize = [messages.len(), requests.len(), audits.len()].iter().map(|&n| chunks(n).count()).sum();
    match statements {
        0 => Ok(()),
        1 => insert_tables(&mut pool.acquire().await?, &messages, &requests, &audits).await,
        _ => {
            let mut tx = pool.begin().await?;
            insert_tables(&mut tx, &messages, &requests, &audits).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

/// A chat log line: chat, direction, text, time.
type Message<'w> = (i64, &'static str, &'w String, DateTime<Utc>);
/// A request: time, user, intent, escalated.
type Request<'w> = (DateTime<Utc>, i64, &'w String, bool);

/// On a pool connection or in a transaction (each statement counted as it is sent).
async fn insert_tables<C: DerefMut<Target = sqlx::AnyConnection>>(
    conn: &mut C,
    messages: &[Message<'_>],
    requests: &[Request<'_>],
    audits: &[&AuditEntry],
) -> StoreResult<()> {
    insert_rows(conn, "chat_messages (chat_id, direction, text, at)", 4, messages, |q, (chat, dir, text, at)| {
        q.bind(*chat).bind(*dir).bind((*text).clone()).bind(time_to_db(*at))
    })
    .await?;
    insert_rows(
        conn,
        "support_requests (at, telegram_user_id, intent, escalated)",
        4,
        requests,
        |q, (at, user, intent, escalated)| {
            q.bind(time_to_db(*at)).bind(*user).bind((*intent).clone()).bind(i64::from(*escalated))
        },
    )
    .await?;
    insert_rows(
        conn,
        "audit_log (at, telegram_user_id, customer_id, action, subject, channel)",
        6,
        audits,
        |q, entry| {
            q.bind(time_to_db(entry.at))
                .bind(entry.telegram_user_id)
                .bind(entry.customer_id.as_ref().map(|id| id.0.clone()))
                .bind(entry.action.clone())
                .bind(entry.subject.clone())
                .bind(entry.channel.clone())
        },
    )
    .await
}

/// Inserts `rows` into `table` (its name and columns), a few multi-row statements
/// ([`chunks`]), each row's `columns` values bound by `bind`.
async fn insert_rows<T, C: DerefMut<Target = sqlx::AnyConnection>>(
    conn: &mut C,
    table: &str,
    columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(Query<'q>, &T) -> Query<'q>,
) -> StoreResult<()> {
    let mut done = 0;
    for n in chunks(rows.len()) {
        let sql = multi_row(&format!("INSERT INTO {table} VALUES "), columns, n);
        let query = rows[done..done + n].iter().fold(sqlx::query(&sql), &bind);
        query.execute(&mut **conn).await?;
        done += n;
    }
    Ok(())
}

/// `rows` split into the statement sizes used: [`MAX_ROWS`] while more remain, then the
/// powers of two of the rest, largest first.
fn chunks(rows: usize) -> impl Iterator<Item = usize> {
    let full = rows / MAX_ROWS;
    let rest = rows % MAX_ROWS;
    std::iter::repeat_n(MAX_ROWS, full)
        .chain((0..usize::BITS).rev().map(|bit| 1usize << bit).filter(move |size| rest & size != 0))
}

/// `head` followed by `rows` groups of `columns` numbered placeholders.
fn multi_row(head: &str, columns: usize, rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(head.len() + rows * columns * 5);
    sql.push_str(head);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            let _ = write!(sql, "${}", row * columns + column + 1);
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_in_powers_of_two_up_to_the_largest_statement() {
        assert_eq!(chunks(0).collect::<Vec<_>>(), Vec::<usize>::new());
        assert_eq!(chunks(1).collect::<Vec<_>>(), vec![1]);
        assert_eq!(chunks(37).collect::<Vec<_>>(), vec![32, 4, 1]);
        assert_eq!(chunks(64).collect::<Vec<_>>(), vec![64]);
        assert_eq!(chunks(130).collect::<Vec<_>>(), vec![64, 64, 2]);
        for n in 0..300 {
            assert_eq!(chunks(n).sum::<usize>(), n);
        }
    }

    #[test]
    fn placeholders_are_numbered_across_rows() {
        assert_eq!(multi_row("INSERT INTO t (a, b) VALUES ", 2, 2), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
