//! The store's connection pool, counting what goes through it: every statement sent (on the
//! pool, on a connection taken from it, in a transaction) and every transaction begun. The
//! counts are kept for the process ([`Pool::cost`]) and, inside [`tally`], for the task that
//! runs it — the bot tallies each update this way, so a test can say what one «баланс»
//! costs the database (`tests/it/store.rs`), and a regression shows as a number, not a time.
//!
//! A statement is counted when it is handed to the pool, or each time a connection or
//! transaction is used as an executor (`&mut *tx`): a helper that runs several statements on
//! one `&mut AnyConnection` counts as one. `BEGIN` and `COMMIT` are not statements here; they
//! are the transaction.

use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Database, Describe, Either, Execute, Executor, Transaction};

/// What some work cost the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// Statements sent (not counting `BEGIN` and `COMMIT`).
    pub statements: u64,
    /// Transactions begun.
    pub transactions: u64,
    /// Records handed to the group commit ([`Store::write_all`](super::Store::write_all)):
    /// written with other turns' in shared multi-row statements, whose statements and
    /// transaction are counted for the process, not for any one update.
    pub journaled: u64,
}

tokio::task_local! {
    static TALLY: Cell<Cost>;
}

/// Runs `work`, counting the statements and transactions it sends through any store's pool
/// from this task (not from tasks it spawns).
pub async fn tally<F: Future>(work: F) -> (F::Output, Cost) {
    TALLY
        .scope(Cell::new(Cost::default()), async move {
            let output = work.await;
            (output, TALLY.with(Cell::get))
        })
        .await
}

#[derive(Debug, Default)]
struct Counts {
    statements: AtomicU64,
    transactions: AtomicU64,
    journaled: AtomicU64,
    /// What the last update the bot handled cost ([`Pool::record_update`]).
    last_update: std::sync::Mutex<Option<Cost>>,
}

impl Counts {
    /// Adds `n` to the process's `total` and to the same field of this task's tally.
    fn add(&self, total: &AtomicU64, n: u64, field: fn(&mut Cost) -> &mut u64) {
        total.fetch_add(n, Ordering::Relaxed);
        let _ = TALLY.try_with(|t| {
            let mut cost = t.get();
            *field(&mut cost) += n;
            t.set(cost);
        });
    }

    fn statement(&self) {
        self.add(&self.statements, 1, |c| &mut c.statements);
    }

    fn journaled(&self, records: u64) {
        self.add(&self.journaled, records, |c| &mut c.journaled);
    }

    fn transaction(&self) {
        self.add(&self.transactions, 1, |c| &mut c.transactions);
    }
}

/// A pool of connections that counts its statements and transactions. Cheap to clone; the
/// clones share the counts.
#[derive(Clone)]
pub struct Pool {
    inner: AnyPool,
    counts: Arc<Counts>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("inner", &self.inner).field("counts", &self.counts).finish()
    }
}

impl Pool {
    pub(super) fn new(inner: AnyPool) -> Pool {
        Pool { inner, counts: Arc::default() }
    }

    /// The pool itself, uncounted (migrations, closing).
    pub fn any(&self) -> &AnyPool {
        &self.inner
    }

    /// What this pool has sent since it was opened.
    pub fn cost(&self) -> Cost {
        Cost {
            statements: self.counts.statements.load(Ordering::Relaxed),
            transactions: self.counts.transactions.load(Ordering::Relaxed),
            journaled: self.counts.journaled.load(Ordering::Relaxed),
        }
    }

    /// Counts `records` handed to the group commit.
    pub(super) fn journaled(&self, records: usize) {
        self.counts.journaled(records as u64);
    }

    /// Keeps what an update just cost (the bot's, one at a time: tests read it back).
    pub fn record_update(&self, cost: Cost) {
        if let Ok(mut last) = self.counts.last_update.lock() {
            *last = Some(cost);
        }
    }

    /// What the last update the bot handled cost, if it has handled one.
    pub fn last_update(&self) -> Option<Cost> {
        self.counts.last_update.lock().ok().and_then(|last| *last)
    }

    /// Begins a transaction; its statements are counted as they are sent.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        self.counts.transaction();
        Ok(Tx { tx: self.inner.begin().await?, counts: self.counts.clone() })
    }

    /// A connection of the pool; its statements are counted as they are sent.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        Ok(Conn { conn: self.inner.acquire().await?, counts: self.counts.clone() })
    }

    pub async fn close(&self) {
        self.inner.close().await;
    }
}

/// A transaction of a [`Pool`]: used as `&mut *tx`, each use counts as a statement.
pub struct Tx {
    tx: Transaction<'static, Any>,
    counts: Arc<Counts>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.counts.statement();
        &mut self.tx
    }
}

/// A connection of a [`Pool`]: used as `&mut *conn`, each use counts as a statement.
pub struct Conn {
    conn: PoolConnection<Any>,
    counts: Arc<Counts>,
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.counts.statement();
        &mut self.conn
    }
}

impl<'p> Executor<'p> for &'_ Pool {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<<Any as Database>::QueryResult, <Any as Database>::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        self.counts.statement();
        (&self.inner).fetch_many(query)
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<<Any as Database>::Row>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        self.counts.statement();
        (&self.inner).fetch_optional(query)
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [<Any as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Any as Database>::Statement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        (&self.inner).prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        (&self.inner).describe(sql)
    }
}
