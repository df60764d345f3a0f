//! The scheduler over a real SQLite store (in memory, or a file where two schedulers or a
//! restart share it) and a fixed clock.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::TimeDelta;

use super::*;
use crate::clock::FixedClock;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn t0() -> DateTime<Utc> {
    utc("2025-01-11T10:00:00+05:00")
}

async fn memory_store() -> Store {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn file_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

fn job(key: &str, kind: &str, run_at: DateTime<Utc>) -> NewJob {
    NewJob { key: key.into(), kind: kind.into(), payload: serde_json::json!({ "key": key }), run_at }
}

/// What a test handler does with a job of a kind.
type Behaviour = fn(&Job) -> Result<(), JobError>;

/// A handler that records every plan and run; `ok` jobs succeed, other kinds as `behaviours`
/// say (unknown kinds fail).
#[derive(Default)]
struct Recorder {
    plans: Mutex<Vec<DateTime<Utc>>>,
    runs: Mutex<Vec<(String, i64)>>,
    behaviours: BTreeMap<&'static str, Behaviour>,
    /// Scheduled by `plan` when the tick's time reaches it.
    planned: Option<NewJob>,
    store: Option<Store>,
    /// Two handlers meeting: each one's first job waits until the other has started one, so
    /// that both schedulers of a race surely take part (no timer decides it).
    meet: Option<(Arc<Meeting>, usize)>,
}

/// Where two handlers' first jobs wait for each other.
#[derive(Default)]
struct Meeting {
    started: [std::sync::atomic::AtomicBool; 2],
    notify: tokio::sync::Notify,
}

impl Meeting {
    /// Side `me` has started a job; waits (10 s at most, then the race's checks fail) until
    /// the other side has started one too.
    async fn meet(&self, me: usize) {
        use std::sync::atomic::Ordering;
        self.started[me].store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
        let other = 1 - me;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.started[other].load(Ordering::SeqCst) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

impl Recorder {
    fn runs(&self) -> Vec<(String, i64)> {
        self.runs.lock().unwrap().clone()
    }

    fn keys(&self) -> Vec<String> {
        self.runs().into_iter().map(|(k, _)| k).collect()
    }
}

#[async_trait]
impl JobHandler for Recorder {
    async fn plan(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        self.plans.lock().unwrap().push(now);
        if let (Some(job), Some(store)) = (&self.planned, &self.store) {
            store.schedule_job(job).await?;
        }
        Ok(())
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.runs.lock().unwrap().push((job.key.clone(), job.attempts));
        if let Some((meeting, me)) = &self.meet {
            meeting.meet(*me).await;
        }
        // Long enough for a concurrent claimer to try to take it.
        tokio::time::sleep(Duration::from_millis(2)).await;
        match job.kind.as_str() {
            "ok" => Ok(()),
            kind => match self.behaviours.get(kind) {
                Some(behave) => behave(job),
                None => Err(JobError::Fail(format!("unknown job kind {kind:?}"))),
            },
        }
    }
}

fn scheduler(store: &Store, clock: &Arc<FixedClock>, handler: &Arc<Recorder>) -> Scheduler {
    Scheduler::new(store.clone(), clock.clone(), handler.clone())
}

async fn status_of(store: &Store, key: &str) -> (String, i64, Option<String>) {
    let jobs = store.jobs_with_prefix(key).await.unwrap();
    let job = jobs.into_iter().find(|j| j.key == key).unwrap();
    (job.status, job.attempts, job.last_error)
}

#[tokio::test]
async fn a_job_runs_when_the_clock_reaches_its_time_not_before() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let handler = Arc::new(Recorder::default());
    let scheduler = scheduler(&store, &clock, &handler);
    assert!(store.schedule_job(&job("a", "ok", t0() + TimeDelta::hours(2))).await.unwrap());
    assert!(store.schedule_job(&job("b", "ok", t0() + TimeDelta::hours(3))).await.unwrap());

    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    clock.set(t0() + TimeDelta::hours(2) - TimeDelta::seconds(1));
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    assert!(handler.runs().is_empty());

    clock.set(t0() + TimeDelta::hours(2));
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    assert_eq!(handler.keys(), ["a"]);
    assert_eq!(status_of(&store, "a").await, ("done".into(), 1, None));
    assert_eq!(status_of(&store, "b").await.0, "pending");

    clock.set(t0() + TimeDelta::days(1));
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    assert_eq!(handler.keys(), ["a", "b"]);
}

#[tokio::test]
async fn every_due_job_runs_in_one_tick_over_several_batches_earliest_first() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let handler = Arc::new(Recorder::default());
    let scheduler = scheduler(&store, &clock, &handler).with_batch(2);
    for i in (0..5).rev() {
        store.schedule_job(&job(&format!("j{i}"), "ok", t0() + TimeDelta::minutes(i))).await.unwrap();
    }
    clock.set(t0() + TimeDelta::hours(1));
    assert_eq!(scheduler.run_due().await.unwrap(), 5);
    assert_eq!(handler.keys(), ["j0", "j1", "j2", "j3", "j4"]);
}

#[tokio::test]
async fn a_job_runs_once_across_ticks_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(t0());
    let first = Arc::new(Recorder::default());
    let store = file_store(&dir).await;
    store.schedule_job(&job("once", "ok", t0() + TimeDelta::minutes(30))).await.unwrap();
    store.schedule_job(&job("later", "ok", t0() + TimeDelta::hours(5))).await.unwrap();
    clock.set(t0() + TimeDelta::hours(1));
    let before = scheduler(&store, &clock, &first);
    assert_eq!(before.run_due().await.unwrap(), 1);
    assert_eq!(before.run_due().await.unwrap(), 0);
    store.close().await;

    // A new process: a new store and scheduler on the same file, the clock moved on.
    let store = file_store(&dir).await;
    let second = Arc::new(Recorder::default());
    let after = scheduler(&store, &clock, &second);
    // Scheduling the same key again (e.g. planned anew after the restart) changes nothing.
    assert!(!store.schedule_job(&job("once", "ok", t0() + TimeDelta::hours(2))).await.unwrap());
    clock.set(t0() + TimeDelta::hours(6));
    assert_eq!(after.run_due().await.unwrap(), 1);
    assert_eq!(after.run_due().await.unwrap(), 0);
    assert_eq!(first.keys(), ["once"]);
    assert_eq!(second.keys(), ["later"]);
    store.close().await;
}

#[tokio::test]
async fn plan_is_called_at_the_start_of_every_tick_with_the_clocks_time() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let planned = job("planned", "ok", t0() + TimeDelta::hours(1));
    let handler = Arc::new(Recorder { planned: Some(planned), store: Some(store.clone()), ..Recorder::default() });
    let scheduler = scheduler(&store, &clock, &handler);
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    clock.set(t0() + TimeDelta::hours(1));
    // Planned in this tick, due in it: it runs in it too.
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    assert_eq!(*handler.plans.lock().unwrap(), [t0(), t0() + TimeDelta::hours(1), t0() + TimeDelta::hours(1)]);
    assert_eq!(handler.keys(), ["planned"]);
}

fn retry_twice_then_fail(job: &Job) -> Result<(), JobError> {
    if job.attempts < 3 {
        Err(JobError::Retry { at: job.run_at + TimeDelta::minutes(10), reason: format!("busy ({})", job.attempts) })
    } else {
        Err(JobError::Fail("gave up".into()))
    }
}

fn retry_at_once(_job: &Job) -> Result<(), JobError> {
    Err(JobError::Retry { at: DateTime::<Utc>::MIN_UTC, reason: "again".into() })
}

#[tokio::test]
async fn a_failing_job_is_retried_when_asked_then_fails() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let mut handler = Recorder::default();
    handler.behaviours.insert("flaky", retry_twice_then_fail);
    let handler = Arc::new(handler);
    let scheduler = scheduler(&store, &clock, &handler);
    store.schedule_job(&job("flaky", "flaky", t0())).await.unwrap();

    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    let jobs = store.jobs_with_prefix("flaky").await.unwrap();
    assert_eq!(jobs[0].status, "pending");
    assert_eq!(jobs[0].run_at, t0() + TimeDelta::minutes(10));
    assert_eq!(jobs[0].last_error.as_deref(), Some("busy (1)"));
    // Not before the retry's time.
    clock.set(t0() + TimeDelta::minutes(9));
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    clock.set(t0() + TimeDelta::minutes(10));
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    assert_eq!(status_of(&store, "flaky").await, ("pending".into(), 2, Some("busy (2)".into())));
    clock.set(t0() + TimeDelta::hours(1));
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    assert_eq!(status_of(&store, "flaky").await, ("failed".into(), 3, Some("gave up".into())));
    clock.set(t0() + TimeDelta::days(1));
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    assert_eq!(handler.runs(), [("flaky".into(), 1), ("flaky".into(), 2), ("flaky".into(), 3)]);
}

#[tokio::test]
async fn a_retry_asked_for_at_once_waits_for_the_next_second_and_unknown_kinds_fail() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let mut handler = Recorder::default();
    handler.behaviours.insert("again", retry_at_once);
    let handler = Arc::new(handler);
    let scheduler = scheduler(&store, &clock, &handler);
    store.schedule_job(&job("again", "again", t0())).await.unwrap();
    store.schedule_job(&job("mystery", "mystery", t0())).await.unwrap();

    assert_eq!(scheduler.run_due().await.unwrap(), 2);
    let (status, attempts, _) = status_of(&store, "again").await;
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert_eq!(store.jobs_with_prefix("again").await.unwrap()[0].run_at, t0() + MIN_RETRY_DELAY);
    assert_eq!(status_of(&store, "mystery").await, ("failed".into(), 1, Some("unknown job kind \"mystery\"".into())));
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    clock.set(t0() + MIN_RETRY_DELAY);
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
}

#[tokio::test]
async fn no_jobs_fails_every_job_as_of_an_unknown_kind() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let scheduler = Scheduler::new(store.clone(), clock.clone(), Arc::new(NoJobs));
    store.schedule_job(&job("x", "booking.remind", t0())).await.unwrap();
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    let (status, _, error) = status_of(&store, "x").await;
    assert_eq!(status, "failed");
    assert!(error.unwrap_or_default().starts_with("unknown job kind"));
}

struct Panics;

#[async_trait]
impl JobHandler for Panics {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        if job.kind == "boom" {
            panic!("boom");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_fails_its_job_and_the_tick_goes_on() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let scheduler = Scheduler::new(store.clone(), clock.clone(), Arc::new(Panics));
    store.schedule_job(&job("1-boom", "boom", t0())).await.unwrap();
    store.schedule_job(&job("2-fine", "ok", t0())).await.unwrap();
    assert_eq!(scheduler.run_due().await.unwrap(), 2);
    assert_eq!(status_of(&store, "1-boom").await, ("failed".into(), 1, Some("the handler panicked: boom".into())));
    assert_eq!(status_of(&store, "2-fine").await.0, "done");
}

#[tokio::test]
async fn a_job_whose_worker_died_is_run_again_after_its_lease() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let handler = Arc::new(Recorder::default());
    let scheduler = scheduler(&store, &clock, &handler).with_lease(TimeDelta::minutes(5));
    store.schedule_job(&job("orphan", "ok", t0())).await.unwrap();
    // Another worker claimed it and died.
    assert_eq!(store.claim_due_jobs(t0(), 10, TimeDelta::minutes(5)).await.unwrap().len(), 1);
    clock.set(t0() + TimeDelta::minutes(4));
    assert_eq!(scheduler.run_due().await.unwrap(), 0);
    clock.set(t0() + TimeDelta::minutes(6));
    assert_eq!(scheduler.run_due().await.unwrap(), 1);
    assert_eq!(handler.runs(), [("orphan".into(), 2)]);
    assert_eq!(status_of(&store, "orphan").await.0, "done");
}

/// Runs 40 due jobs through `schedulers` ticking at once; every job must run exactly once.
async fn race(schedulers: Vec<Arc<Scheduler>>, store: &Store, handlers: &[Arc<Recorder>]) {
    for i in 0..40 {
        store.schedule_job(&job(&format!("race-{i:02}"), "ok", t0())).await.unwrap();
    }
    let mut tasks = Vec::new();
    for scheduler in &schedulers {
        for _ in 0..2 {
            let scheduler = scheduler.clone();
            tasks.push(tokio::spawn(async move { scheduler.run_due().await.unwrap() }));
        }
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let mut keys: Vec<String> = handlers.iter().flat_map(|h| h.keys()).collect();
    keys.sort();
    let expected: Vec<String> = (0..40).map(|i| format!("race-{i:02}")).collect();
    assert_eq!(keys, expected, "every job exactly once");
    assert_eq!(total, 40);
    assert!(store.jobs_with_prefix("race-").await.unwrap().iter().all(|j| j.status == "done" && j.attempts == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ticks_of_one_scheduler_run_each_job_once() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let handler = Arc::new(Recorder::default());
    let scheduler = Arc::new(scheduler(&store, &clock, &handler).with_batch(3));
    race(vec![scheduler], &store, &[handler]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_schedulers_on_one_database_run_each_job_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = file_store(&dir).await;
    let b = file_store(&dir).await;
    let clock = FixedClock::new(t0());
    let meeting = Arc::new(Meeting::default());
    let (ha, hb) = (
        Arc::new(Recorder { meet: Some((meeting.clone(), 0)), ..Recorder::default() }),
        Arc::new(Recorder { meet: Some((meeting, 1)), ..Recorder::default() }),
    );
    let sa = Arc::new(scheduler(&a, &clock, &ha).with_batch(3));
    let sb = Arc::new(scheduler(&b, &clock, &hb).with_batch(3));
    race(vec![sa, sb], &a, &[ha.clone(), hb.clone()]).await;
    // Both did some of the work (each one's first job waited for the other to start one).
    assert!(!ha.runs().is_empty() && !hb.runs().is_empty(), "{:?} / {:?}", ha.keys(), hb.keys());
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn run_forever_ticks_until_shut_down() {
    let store = memory_store().await;
    let clock = FixedClock::new(t0());
    let handler = Arc::new(Recorder::default());
    let scheduler = Arc::new(scheduler(&store, &clock, &handler));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(scheduler.clone().run_forever(Duration::from_millis(10), async {
        let _ = stopped.await;
    }));
    store.schedule_job(&job("bg", "ok", t0() + TimeDelta::hours(1))).await.unwrap();
    clock.set(t0() + TimeDelta::hours(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while handler.runs().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the loop never ran the job");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("the loop stops").unwrap();
    let ticks = handler.plans.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(handler.plans.lock().unwrap().len(), ticks, "no tick after the shutdown");
    assert_eq!(handler.keys(), ["bg"]);
}
