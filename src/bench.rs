//! `cabinet bench`: the real bot (`cabinet run`, a child process of this binary) against the
//! sandbox on loopback, fed generated customers' messages by `getUpdates` (or a webhook),
//! next to a bare teloxide bot that replies a fixed text (`cabinet bench-echo`) on the same
//! harness. Each bot is its own process, so its CPU time and memory (from `/proc`) are its
//! own; the sandbox and the feeder run in this process.
//!
//! Latency is measured from the moment the sandbox hands an update out (the first
//! `getUpdates` answer or webhook POST carrying it) to the arrival of the bot's last reply
//! to it. Every update must be answered exactly as often as a warm-up showed (none missing,
//! none twice), and no answer may be the "system is not answering" text.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use cabinet_core::adapters::builtin::import::{self, BusinessData};
use cabinet_core::app::{self, Business};
use cabinet_core::config::Config;
use cabinet_sandbox::{Sandbox, SandboxUser};

/// The first Telegram user id of the generated customers.
const FIRST_USER_ID: i64 = 700_000_000;
/// The texts of the "system is not answering" answer (ru, en): never acceptable here.
const UNAVAILABLE: [&str; 2] = ["Система сейчас не отвечает", "The system is not answering"];
/// How long a burst may go without a single reply before it is given up.
const STALL: Duration = Duration::from_secs(30);
/// The fixed reply of the echo bot.
pub const ECHO_TEXT: &str = "ok";

/// What the customers write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// «баланс»: the account's balance.
    Balance,
    /// «где мой заказ»: the status of the order on its way.
    Order,
    /// «мои заказы»: the order history.
    History,
    /// «пришлите договор»: the customer's contract (a PDF made once, then sent again by its
    /// Telegram file id).
    Document,
    /// «скока денег на счету»: colloquial text with a misspelling, for the recogniser.
    Text,
}

impl Scenario {
    pub fn text(self) -> &'static str {
        match self {
            Scenario::Balance => "баланс",
            Scenario::Order => "где мой заказ",
            Scenario::History => "мои заказы",
            Scenario::Document => "пришлите договор",
            Scenario::Text => "скока денег на счету",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Balance => "balance",
            Scenario::Order => "order",
            Scenario::History => "history",
            Scenario::Document => "document",
            Scenario::Text => "text",
        }
    }
}

/// The bot under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// cabinet itself (`cabinet run`).
    Cabinet,
    /// The bare teloxide bot replying a fixed text (`cabinet bench-echo`).
    Echo,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Cabinet => "cabinet",
            Target::Echo => "echo",
        }
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The binary whose `run` and `bench-echo` are measured.
    pub exe: PathBuf,
    pub targets: Vec<Target>,
    pub customers: usize,
    /// Updates per burst (unpaced), or `None` with `rate`.
    pub updates: usize,
    pub scenario: Scenario,
    /// Paced: updates per second for `duration`.
    pub rate: Option<u32>,
    pub duration: Duration,
    /// The database (default: a fresh SQLite file in a temporary directory).
    pub database: Option<String>,
    pub bursts: usize,
    /// Updates come by webhook instead of `getUpdates`.
    pub webhook: bool,
    /// Print progress to stderr.
    pub verbose: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            exe: PathBuf::from("cabinet"),
            targets: vec![Target::Cabinet, Target::Echo],
            customers: 2_000,
            updates: 20_000,
            scenario: Scenario::Balance,
            rate: None,
            duration: Duration::from_secs(10),
            database: None,
            bursts: 1,
            webhook: false,
            verbose: false,
        }
    }
}

/// One burst's figures.
#[derive(Debug, Clone, Default)]
pub struct Burst {
    pub updates: usize,
    /// Updates answered as often as expected.
    pub answered: usize,
    /// Updates with no (or too few) answers.
    pub missing: usize,
    /// Updates answered more often than expected.
    pub twice: usize,
    /// Answers with the "system is not answering" text.
    pub unavailable: usize,
    /// From the first update queued to the last reply.
    pub elapsed: Duration,
    pub latencies: Latencies,
    /// The bot's CPU time (user + system) over the burst.
    pub cpu: Duration,
    /// The harness's (the sandbox's and the feeder's) CPU time over the burst: near the
    /// elapsed time on one core, the harness may be what limits the bot.
    pub harness_cpu: Duration,
    /// The bot's largest resident set seen during the burst, KiB.
    pub peak_rss_kib: u64,
    /// The bot's resident set a second after the burst, KiB.
    pub rss_after_kib: u64,
}

impl Burst {
    pub fn per_second(&self) -> f64 {
        self.updates as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn cpu_ms_per_update(&self) -> f64 {
        self.cpu.as_secs_f64() * 1000.0 / self.updates.max(1) as f64
    }

    pub fn harness_cpu_ms_per_update(&self) -> f64 {
        self.harness_cpu.as_secs_f64() * 1000.0 / self.updates.max(1) as f64
    }

    /// Every update answered exactly as expected, none with the timeout answer.
    pub fn correct(&self) -> bool {
        self.answered == self.updates && self.missing == 0 && self.twice == 0 && self.unavailable == 0
    }
}

/// Latency percentiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latencies {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    fn of(mut samples: Vec<Duration>) -> Latencies {
        if samples.is_empty() {
            return Latencies::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1]
        };
        Latencies { p50: at(0.50), p90: at(0.90), p99: at(0.99), max: at(1.0) }
    }
}

/// One bot's run.
#[derive(Debug, Clone)]
pub struct TargetReport {
    pub target: Target,
    pub scenario: Scenario,
    /// "unpaced" or "1000/s".
    pub mode: String,
    pub transport: &'static str,
    pub customers: usize,
    /// Replies per update (from the warm-up).
    pub replies_per_update: usize,
    /// The bot's resident set before the first burst (after the warm-up), KiB.
    pub idle_rss_kib: u64,
    pub bursts: Vec<Burst>,
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub targets: Vec<TargetReport>,
}

impl BenchReport {
    /// Every burst of every bot correct.
    pub fn correct(&self) -> bool {
        self.targets.iter().all(|t| t.bursts.iter().all(Burst::correct))
    }

    fn first_rate(&self, target: Target) -> Option<f64> {
        self.targets.iter().find(|t| t.target == target).and_then(|t| t.bursts.first()).map(Burst::per_second)
    }

    /// cabinet's throughput over the echo bot's (first bursts), when both ran.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.first_rate(Target::Cabinet)? / self.first_rate(Target::Echo)?)
    }

    /// The report as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| bot | scenario | mode | transport | customers | burst | updates | updates/s | p50 ms | p90 ms | p99 ms | max ms | CPU ms/update | sandbox CPU ms/update | peak RSS MB | RSS after MB | correct |\n",
        );
        out.push_str("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mb = |kib: u64| kib as f64 / 1024.0;
        for t in &self.targets {
            for (i, b) in t.bursts.iter().enumerate() {
                let correct = if b.correct() {
                    "yes".to_owned()
                } else {
                    format!(
                        "NO ({} answered, {} missing, {} twice, {} timeouts)",
                        b.answered, b.missing, b.twice, b.unavailable
                    )
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} | {:.1} | {} |",
                    t.target.name(),
                    t.scenario.name(),
                    t.mode,
                    t.transport,
                    t.customers,
                    i + 1,
                    b.updates,
                    b.per_second(),
                    ms(b.latencies.p50),
                    ms(b.latencies.p90),
                    ms(b.latencies.p99),
                    ms(b.latencies.max),
                    b.cpu_ms_per_update(),
                    b.harness_cpu_ms_per_update(),
                    mb(b.peak_rss_kib),
                    mb(b.rss_after_kib),
                    correct
                );
            }
        }
        for t in &self.targets {
            let _ = writeln!(
                out,
                "\n{}: idle RSS {:.1} MB with {} customers, {} repl{} per update",
                t.target.name(),
                mb(t.idle_rss_kib),
                t.customers,
                t.replies_per_update,
                if t.replies_per_update == 1 { "y" } else { "ies" }
            );
        }
        if let Some(ratio) = self.ratio() {
            let _ = writeln!(out, "cabinet/echo throughput: {ratio:.3}×");
        }
        out
    }
}

/// Runs the benchmark: each target in turn.
pub async fn run(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    ensure!(opts.customers > 0, "--customers must be at least 1");
    ensure!(opts.bursts > 0, "--bursts must be at least 1");
    let mut targets = Vec::new();
    for &target in &opts.targets {
        targets.push(run_target(opts, target).await.with_context(|| format!("the {} bot", target.name()))?);
    }
    Ok(BenchReport { targets })
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("cabinet-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The bot's process, killed on drop.
struct Child {
    child: std::process::Child,
    log: PathBuf,
}

impl Child {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The end of the bot's log, for an error message.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The customers: user `i` is Telegram user `FIRST_USER_ID + i`, customer `B{i}`.
fn users(n: usize) -> Vec<SandboxUser> {
    (0..n).map(|i| SandboxUser::new(FIRST_USER_ID + i as i64, "Клиент", Some("ru"))).collect()
}

fn customer_id(i: usize) -> String {
    format!("B{i:06}")
}

async fn run_target(opts: &BenchOptions, target: Target) -> anyhow::Result<TargetReport> {
    let dir = TempDir::new()?;
    let sandbox = Sandbox::start().await.context("cannot start the sandbox")?;
    let api_url = sandbox.api_url().to_string();
    let users = users(opts.customers);
    let log = dir.0.join("bot.log");
    let log_file = std::fs::File::create(&log)?;
    let mut command = std::process::Command::new(&opts.exe);
    command
        .env("TELOXIDE_TOKEN", sandbox.token())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    let transport = if opts.webhook { "webhook" } else { "getUpdates" };
    let webhook_port = if opts.webhook { Some(free_port()?) } else { None };
    match target {
        Target::Cabinet => {
            let url = match &opts.database {
                Some(url) => url.clone(),
                None => format!("sqlite://{}", dir.0.join("bench.db").display()),
            };
            let started = Instant::now();
            prepare_database(&url, opts.customers).await?;
            if opts.verbose {
                eprintln!("bench: {} customers bound in {:.1?}", opts.customers, started.elapsed());
            }
            let config = dir.0.join("bench.toml");
            std::fs::write(&config, "")?;
            command
                .arg("run")
                .arg("--api-url")
                .arg(&api_url)
                .env("CABINET_CONFIG", &config)
                .env("DATABASE_URL", &url)
                .env("CABINET_LISTEN", "off");
            if let Some(port) = webhook_port {
                command
                    .env("CABINET_LISTEN", format!("127.0.0.1:{port}"))
                    .env("CABINET_WEBHOOK_URL", format!("http://127.0.0.1:{port}/telegram"));
            }
        }
        Target::Echo => {
            command.arg("bench-echo").arg("--api-url").arg(&api_url);
            if let Some(port) = webhook_port {
                command.arg("--webhook-port").arg(port.to_string());
            }
        }
    }
    let child = command.spawn().with_context(|| format!("cannot start {}", opts.exe.display()))?;
    let mut child = Child { child, log };
    let pid = child.pid();

    // Ready: the bot polls (or set its webhook).
    let ready_method = if opts.webhook { "setWebhook" } else { "getUpdates" };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if sandbox.calls().iter().any(|(m, _)| m == ready_method) {
            break;
        }
        if let Some(status) = child.exited() {
            bail!("the bot exited ({status}) before it asked for updates:\n{}", child.log_tail());
        }
        ensure!(Instant::now() < deadline, "the bot did not ask for updates in time:\n{}", child.log_tail());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sandbox.keep_call_log(false);
    sandbox.clear_logs();

    // Warm-up: one message from each of the first customers (from every customer for a
    // document, so that each one's PDF is made and cached); tells how many replies an update
    // gets.
    let warm = if opts.scenario == Scenario::Document { opts.customers.min(20_000) } else { opts.customers.min(50) };
    sandbox.record_timings();
    sandbox.send_texts(users.iter().take(warm).map(|u| (u, opts.scenario.text())));
    let timeout = Duration::from_secs(60) + Duration::from_millis(20) * u32::try_from(warm).unwrap_or(u32::MAX);
    let sends = wait_sends(&sandbox, &mut child, warm, timeout).await?;
    let quiet = settle(&sandbox, sends).await;
    let warmup = sandbox.take_timings();
    ensure!(
        quiet % warm == 0 && quiet > 0,
        "the warm-up's {warm} updates got {quiet} replies: not the same number each:\n{}",
        sample_texts(&warmup)
    );
    let per_update = quiet / warm;
    if let Some(text) = warmup.sent.iter().map(|(_, _, t)| t).find(|t| UNAVAILABLE.iter().any(|u| t.contains(u))) {
        bail!("the warm-up got the timeout answer: {text}");
    }
    if opts.verbose {
        eprintln!("bench: {} answers «{}» with {per_update} message(s)", target.name(), opts.scenario.text());
    }
    sandbox.clear_logs();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_kib = rss_kib(pid).0;

    let mut bursts = Vec::new();
    for i in 0..opts.bursts {
        let burst = run_burst(opts, &sandbox, &mut child, &users, per_update).await?;
        if opts.verbose {
            eprintln!(
                "bench: {} burst {}: {:.0} updates/s, p99 {:.1?}, RSS after {} KiB",
                target.name(),
                i + 1,
                burst.per_second(),
                burst.latencies.p99,
                burst.rss_after_kib
            );
        }
        sandbox.clear_logs();
        bursts.push(burst);
    }
    drop(child);
    Ok(TargetReport {
        target,
        scenario: opts.scenario,
        mode: opts.rate.map_or_else(|| "unpaced".to_owned(), |r| format!("{r}/s")),
        transport,
        customers: opts.customers,
        replies_per_update: per_update,
        idle_rss_kib,
        bursts,
    })
}

async fn run_burst(
    opts: &BenchOptions,
    sandbox: &Sandbox,
    child: &mut Child,
    users: &[SandboxUser],
    per_update: usize,
) -> anyhow::Result<Burst> {
    let pid = child.pid();
    let total = match opts.rate {
        Some(rate) => (u128::from(rate) * opts.duration.as_millis() / 1000) as usize,
        None => opts.updates,
    };
    ensure!(total > 0, "no updates to send");
    let text = opts.scenario.text();
    let expected = total * per_update;
    sandbox.record_timings();
    let cpu_before = cpu_time(pid);
    let harness_before = cpu_time(std::process::id());
    let started = Instant::now();
    // Update j comes from customer j mod N; its id is remembered with its chat.
    let mut ids: Vec<(i32, i64)> = Vec::with_capacity(total);
    let mut peak = 0u64;
    let queue = |from: usize, to: usize, ids: &mut Vec<(i32, i64)>| {
        let batch: Vec<(&SandboxUser, &str)> = (from..to).map(|j| (&users[j % users.len()], text)).collect();
        let chats: Vec<i64> = batch.iter().map(|(u, _)| u.id).collect();
        ids.extend(sandbox.send_texts(batch).into_iter().zip(chats));
    };
    match opts.rate {
        None => queue(0, total, &mut ids),
        Some(rate) => {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut sent = 0;
            let mut polled = Instant::now();
            while sent < total {
                tick.tick().await;
                let due = ((started.elapsed().as_secs_f64() * f64::from(rate)) as usize).min(total);
                if due > sent {
                    queue(sent, due, &mut ids);
                    sent = due;
                }
                if polled.elapsed() >= Duration::from_millis(50) {
                    polled = Instant::now();
                    peak = peak.max(rss_kib(pid).0);
                }
            }
        }
    }
    // Wait for every reply, or until nothing comes for a while.
    let mut last_count = 0;
    let mut last_progress = Instant::now();
    loop {
        let count = sandbox.timed_sends();
        peak = peak.max(rss_kib(pid).0);
        if count >= expected {
            break;
        }
        if count > last_count {
            last_count = count;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > STALL {
            break;
        }
        if let Some(status) = child.exited() {
            bail!("the bot exited ({status}) during the burst:\n{}", child.log_tail());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Extra replies (an update answered twice) would come right after: a short look.
    let extra_deadline = Instant::now() + Duration::from_millis(300);
    while Instant::now() < extra_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let harness_cpu = cpu_time(std::process::id()).saturating_sub(harness_before);
    let timings = sandbox.take_timings();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_after_kib, _) = rss_kib(pid);
    let last_reply = timings.sent.iter().map(|(_, at, _)| *at).max().unwrap_or(started);
    let elapsed = last_reply.saturating_duration_since(started);

    // Replies per chat, in order; each chat's updates take `per_update` replies each, in order.
    let mut replies: HashMap<i64, Vec<Instant>> = HashMap::new();
    let mut unavailable = 0;
    for (chat, at, text) in &timings.sent {
        replies.entry(*chat).or_default().push(*at);
        if UNAVAILABLE.iter().any(|u| text.contains(u)) {
            unavailable += 1;
        }
    }
    let mut per_chat: HashMap<i64, Vec<i32>> = HashMap::new();
    for (id, chat) in &ids {
        per_chat.entry(*chat).or_default().push(*id);
    }
    let (mut answered, mut missing, mut twice) = (0, 0, 0);
    let mut samples = Vec::with_capacity(total);
    for (chat, updates) in &per_chat {
        let got = replies.get(chat).map_or(&[][..], Vec::as_slice);
        let want = updates.len() * per_update;
        if got.len() > want {
            twice += (got.len() - want).div_ceil(per_update);
        }
        for (k, id) in updates.iter().enumerate() {
            let Some(done) = got.get((k + 1) * per_update - 1) else {
                missing += 1;
                continue;
            };
            answered += 1;
            if let Some(delivered) = timings.delivered.get(id) {
                samples.push(done.saturating_duration_since(*delivered));
            }
        }
    }
    let stray = replies.keys().filter(|c| !per_chat.contains_key(c)).count();
    twice += stray;
    Ok(Burst {
        updates: total,
        answered,
        missing,
        twice,
        unavailable,
        elapsed,
        latencies: Latencies::of(samples),
        cpu,
        harness_cpu,
        peak_rss_kib: peak,
        rss_after_kib,
    })
}

/// Waits until at least `n` replies were recorded.
async fn wait_sends(sandbox: &Sandbox, child: &mut Child, n: usize, timeout: Duration) -> anyhow::Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let count = sandbox.timed_sends();
        if count >= n {
            return Ok(count);
        }
        if let Some(status) = child.exited() {
            bail!("the bot exited ({status}):\n{}", child.log_tail());
        }
        ensure!(Instant::now() < deadline, "the bot answered {count} of {n} warm-up messages:\n{}", child.log_tail());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until no reply has come for half a second; returns the count.
async fn settle(sandbox: &Sandbox, mut count: usize) -> usize {
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_millis(500) {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let now = sandbox.timed_sends();
        if now != count {
            count = now;
            since = Instant::now();
        }
    }
    count
}

fn sample_texts(timings: &cabinet_sandbox::Timings) -> String {
    timings.sent.iter().take(6).map(|(chat, _, text)| format!("{chat}: {text}")).collect::<Vec<_>>().join("\n")
}

/// A free loopback port.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The process's CPU time (user + system), from `/proc/PID/stat` (clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return Duration::ZERO };
    // The fields after the command name (which may hold spaces) in parentheses.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return Duration::ZERO };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; `rest` starts at field 3.
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

/// The process's resident set and its high-water mark, KiB (`/proc/PID/status`).
fn rss_kib(pid: u32) -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return (0, 0) };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The demo business with `n` generated customers (each a copy of the demo's first, with its
/// own id, phone, orders and documents), bound to Telegram users and consented.
async fn prepare_database(url: &str, n: usize) -> anyhow::Result<()> {
    let mut data = BusinessData::demo();
    let template = data.customers.first().cloned().context("the demo data set has no customer")?;
    data.customers = (0..n)
        .map(|i| {
            let mut c = template.clone();
            c.id = customer_id(i);
            c.phone = format!("+7702{i:07}");
            c.email = None;
            c.bookings.clear();
            for order in &mut c.orders {
                order.number = format!("{}{i:06}", order.number);
            }
            for doc in &mut c.documents {
                doc.id = format!("{}-{i:06}", doc.id);
            }
            c
        })
        .collect();
    let business = Business::from_data(&data)?;
    let store = app::open_store(url).await?;
    let (_, _, shift) = app::demo_clock(&data, &business, false)?;
    import::import(&store, &data, shift).await.context("cannot import the generated customers")?;
    let terms = Config::default().bot.terms_version;
    let now = cabinet_core::store::time_to_db(chrono::Utc::now());
    let pool = store.pool();
    let mut tx = pool.begin().await?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(400) {
        let values = |cols: usize| {
            chunk
                .iter()
                .enumerate()
                .map(|(r, _)| {
                    let params: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
                    format!("({})", params.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = format!(
            "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at) VALUES {} \
             ON CONFLICT (telegram_user_id) DO NOTHING",
            values(5)
        );
        let mut q = sqlx::query(&sql);
        for &i in chunk {
            let user = FIRST_USER_ID + i as i64;
            q = q.bind(user).bind(user).bind("ru").bind(1_i64).bind(now.clone());
        }
        q.execute(&mut *tx).await?;
        let sql = format!(
            "INSERT INTO bindings (telegram_user_id, chat_id, customer_id, phone, first_name, bound_at) VALUES {} \
             ON CONFLICT (telegram_user_id) DO NOTHING",
            values(6)
        );
        let mut q = sqlx::query(&sql);
        for &i in chunk {
            let user = FIRST_USER_ID + i as i64;
            q = q
                .bind(user)
                .bind(user)
                .bind(customer_id(i))
                .bind(format!("+7702{i:07}"))
                .bind("Ерлан")
                .bind(now.clone());
        }
        q.execute(&mut *tx).await?;
        let sql = format!(
            "INSERT INTO consents (telegram_user_id, terms_version, accepted_at) VALUES {} \
             ON CONFLICT (telegram_user_id) DO NOTHING",
            values(3)
        );
        let mut q = sqlx::query(&sql);
        for &i in chunk {
            q = q.bind(FIRST_USER_ID + i as i64).bind(terms.clone()).bind(now.clone());
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    store.pool().close().await;
    Ok(())
}

/// `cabinet bench-echo`: the bare teloxide bot the benchmark compares cabinet with: the same
/// dispatcher (updates of a chat in order, chats in parallel) and long polling as
/// `cabinet run`, replying a fixed text to every message.
pub async fn echo(api_url: &str, webhook_port: Option<u16>) -> anyhow::Result<()> {
    use teloxide::prelude::*;
    use teloxide::update_listeners::{Polling, webhooks};
    let token = std::env::var("TELOXIDE_TOKEN").context("TELOXIDE_TOKEN is not set")?;
    let bot = Bot::new(token).set_api_url(api_url.parse().context("--api-url is not a URL")?);
    let handler = Update::filter_message().endpoint(|bot: Bot, message: Message| async move {
        bot.send_message(message.chat.id, ECHO_TEXT).await?;
        Ok::<(), teloxide::RequestError>(())
    });
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler).default_handler(|_| async {}).build();
    match webhook_port {
        Some(port) => {
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let url = format!("http://127.0.0.1:{port}/telegram").parse().context("webhook URL")?;
            let listener = webhooks::axum(bot, webhooks::Options::new(address, url)).await?;
            dispatcher
                .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("receiving updates failed"))
                .await;
        }
        None => {
            let listener = Polling::builder(bot).timeout(Duration::from_secs(25)).delete_webhook().await.build();
            dispatcher
                .dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("receiving updates failed"))
                .await;
        }
    }
    Ok(())
}

/// Where the binary being run is: the bots are started from it.
pub fn current_exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find this program's path")
}

/// `cabinet bench`: runs what the arguments ask (or the standard table) and prints the
/// table; returns whether every answer was correct.
pub async fn run_cli(args: crate::cli::BenchArgs) -> anyhow::Result<bool> {
    let base = BenchOptions {
        exe: current_exe()?,
        targets: if args.bot.is_empty() { vec![Target::Cabinet, Target::Echo] } else { args.bot.clone() },
        customers: args.customers,
        updates: args.updates,
        scenario: args.scenario,
        rate: args.rate,
        duration: Duration::from_secs(args.duration),
        database: args.database.clone(),
        bursts: args.bursts,
        webhook: args.webhook,
        verbose: args.verbose,
    };
    let runs: Vec<(String, BenchOptions)> = if args.table {
        standard_runs(&base)
    } else if args.surge {
        let customers = base.customers.max(10_000);
        vec![(
            "surge".to_owned(),
            BenchOptions { customers, rate: Some(5_000), duration: Duration::from_secs(2), ..base },
        )]
    } else {
        vec![(String::new(), base)]
    };
    let mut correct = true;
    for (title, opts) in runs {
        if !title.is_empty() {
            println!("\n### {title}\n");
        }
        let report = run(&opts).await?;
        correct &= report.correct();
        println!("{}", report.table());
    }
    Ok(correct)
}

/// The runs of the table in docs/performance.md.
fn standard_runs(base: &BenchOptions) -> Vec<(String, BenchOptions)> {
    let both = vec![Target::Cabinet, Target::Echo];
    let cabinet = vec![Target::Cabinet];
    let mut runs = vec![(
        "Unpaced «баланс», 2,000 customers, 20,000 updates".to_owned(),
        BenchOptions { targets: both.clone(), ..base.clone() },
    )];
    runs.push((
        "Paced 1,000 updates/s for 10 s".to_owned(),
        BenchOptions { targets: both.clone(), rate: Some(1_000), duration: Duration::from_secs(10), ..base.clone() },
    ));
    for scenario in [Scenario::Order, Scenario::History, Scenario::Document, Scenario::Text] {
        runs.push((
            format!("Unpaced {}, 2,000 customers, 20,000 updates", scenario.name()),
            BenchOptions { targets: cabinet.clone(), scenario, ..base.clone() },
        ));
    }
    runs.push((
        "Surge: 10,000 customers writing once within 2 s".to_owned(),
        BenchOptions {
            targets: both.clone(),
            customers: 10_000,
            rate: Some(5_000),
            duration: Duration::from_secs(2),
            ..base.clone()
        },
    ));
    runs.push((
        "Bursts: five bursts of 20,000 in one process".to_owned(),
        BenchOptions { targets: cabinet.clone(), bursts: 5, ..base.clone() },
    ));
    runs.push((
        "Idle with 100,000 customers".to_owned(),
        BenchOptions { targets: cabinet, customers: 100_000, updates: 2_000, ..base.clone() },
    ));
    runs
}
