//! `cabinet demo`: the demo business in the sandbox with a terminal chat (the customer types,
//! the real bot answers), or on real Telegram when a token is given.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use cabinet_core::adapters::builtin::import::{self, BusinessData};
use cabinet_core::app::{
    Business, DEMO_REQUISITES, build_ctx, builtin, demo_clock, open_store, serve_telegram, shutdown_signal,
    telegram_bot,
};
use cabinet_core::clock::{Clock as _, FixedClock};
use cabinet_core::config::Config;
use cabinet_core::jobs::Scheduler;
use cabinet_replay::harness::{SandboxOptions, SandboxedBot};
use chrono::{DateTime, Utc};

/// How `cabinet demo` runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub database_url: String,
    pub token: Option<String>,
    pub real_clock: bool,
    /// Continue with the database of the last run instead of starting afresh.
    pub keep: bool,
}

/// Prepares the demo's database. Every run starts afresh: the sandbox's users, chats and
/// message ids start from scratch each time, so a SQLite file from an earlier run (with its
/// `-wal`, `-shm` and `-journal` files) is deleted, and the demo data is imported into a new
/// one. With `keep` the file stays, and the customers stay identified with what they did;
/// the chat itself (its messages and buttons) is new. An in-memory database is fresh anyway,
/// and another database (PostgreSQL) is not the demo's to drop: it is kept. Returns the file
/// deleted, if any.
pub fn prepare_demo_database(url: &str, keep: bool) -> anyhow::Result<Option<std::path::PathBuf>> {
    let Some(path) = cabinet_core::store::sqlite_file(url) else { return Ok(None) };
    if keep || !path.exists() {
        return Ok(None);
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.clone().into_os_string();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot reset the demo database {}", Path::new(&name).display()));
            }
        }
    }
    tracing::info!(file = %path.display(), "the demo starts afresh (--keep continues the last run)");
    Ok(Some(path))
}

/// `cabinet demo`: the demo business in the sandbox with a terminal chat, or on Telegram
/// when a token is given.
pub async fn demo(config: &Config, opts: DemoOptions) -> anyhow::Result<()> {
    prepare_demo_database(&opts.database_url, opts.keep)?;
    if let Some(token) = &opts.token {
        let shutdown = shutdown_signal()?;
        let mut config = config.clone();
        config.bot.builtin_faq = true;
        if config.documents.requisites.is_empty() {
            config.documents.requisites = DEMO_REQUISITES.iter().map(|s| (*s).to_owned()).collect();
        }
        let config = &config;
        let data = BusinessData::demo();
        let business = Business::from_data(&data)?;
        let store = open_store(&opts.database_url).await?;
        let (clock, _, shift) = demo_clock(&data, &business, !opts.real_clock)?;
        import::import(&store, &data, shift).await.context("cannot import the demo data")?;
        let adapters = builtin(config, store.clone(), clock.clone());
        let ctx = build_ctx(config, &business, store, adapters, clock, token, None)?;
        let bot = telegram_bot(token, config.telegram.api_url.clone())?;
        return serve_telegram(bot, ctx, shutdown).await;
    }
    // The demo's staff group: the configured one, else the sandbox's "Support".
    let staff_chat = config.telegram.staff_chat_id.unwrap_or(cabinet_replay::STAFF_CHAT_ID);
    let running = SandboxedBot::start_with_config(
        config.clone(),
        SandboxOptions {
            database_url: Some(opts.database_url.clone()),
            fixed_clock: !opts.real_clock,
            staff_chat_id: Some(staff_chat),
            ..Default::default()
        },
    )
    .await?;
    let user = cabinet_sandbox::SandboxUser::new(DEMO_USER, DEMO_FIRST_NAME, Some("ru"));
    if let Some(url) = running.miniapp_url(DEMO_USER, DEMO_FIRST_NAME) {
        println!("{}", miniapp_note(&url));
    }
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let time = running.clock.clone().map(|clock| {
        Arc::new(DemoTime { clock, scheduler: running.scheduler.clone(), sender: running.notifier.clone() })
            as Arc<dyn cabinet_sandbox::terminal::TimeTravel>
    });
    let events = running.events_endpoint().map(|(url, secret)| {
        Arc::new(DemoEvents {
            url,
            secret,
            clock: running.ctx.clock.clone(),
            fixed: running.clock.clone(),
            sender: running.notifier.clone(),
        }) as Arc<dyn cabinet_sandbox::terminal::EventSource>
    });
    let options = cabinet_sandbox::terminal::TerminalOptions { time, staff_chat: Some(staff_chat), events };
    let result =
        cabinet_sandbox::terminal::run_with_options(running.sandbox.clone(), user, options, stdin, std::io::stdout())
            .await;
    running.stop().await;
    result.context("the terminal chat failed")
}

/// The terminal chat's user (Telegram id and first name).
const DEMO_USER: i64 = 5001;
const DEMO_FIRST_NAME: &str = "Demo";

/// What the demo prints about the Mini App at start: its URL for the demo user and how to
/// use it. The init data in it is signed at the demo clock's time, which the server checks
/// it against (a day's age is allowed: after `/now` moves the clock further, restart).
pub fn miniapp_note(url: &str) -> String {
    format!(
        "🧩 The Mini App (the personal cabinet) for this chat's user: {url}\n   \
         Open it in a browser. Identify in the chat first (/start, agree, /contact +77011234567), \
         then reload the page.\n"
    )
}

/// `/event` in the terminal chat: sample events of the demo business's systems about Ерлан
/// (C1), posted signed to the bot's events API as the business would post them.
struct DemoEvents {
    url: String,
    secret: String,
    clock: cabinet_core::clock::SharedClock,
    /// The demo's fixed clock, moved a second on before each event: a chat gets one message a
    /// second at most, so an event right after another would wait for the clock.
    fixed: Option<Arc<FixedClock>>,
    sender: Arc<cabinet_core::notify::Sender>,
}

/// The samples: (name, type, data).
const DEMO_EVENTS: [(&str, &str, &str); 5] = [
    (
        "order_shipped",
        "order_status_changed",
        r#"{"customer_id":"C1","number":"78234","status":"in_transit","carrier":"CDEK","tracking":"1234567890","courier":{"name":"Асхат","phone":"+77010000000"}}"#,
    ),
    ("payment_received", "payment_received", r#"{"customer_id":"C1","amount":"2000","balance":"5450"}"#),
    ("payment_due", "payment_due", r#"{"customer_id":"C1","amount":"7990","due_date":"2025-01-15"}"#),
    ("balance_low", "balance_low", r#"{"customer_id":"C1","balance":"450","days_left":2}"#),
    (
        "booking_moved",
        "booking_changed",
        r#"{"customer_id":"C1","booking_id":"B-1","change":"moved","start":"2025-01-14T08:00:00Z"}"#,
    ),
];

#[async_trait::async_trait]
impl cabinet_sandbox::terminal::EventSource for DemoEvents {
    fn samples(&self) -> Vec<&'static str> {
        DEMO_EVENTS.iter().map(|(name, _, _)| *name).collect()
    }

    async fn post(&self, name: &str) -> anyhow::Result<String> {
        let (_, kind, data) = DEMO_EVENTS.iter().find(|(n, _, _)| *n == name).context("no such sample")?;
        if let Some(fixed) = &self.fixed {
            fixed.set(fixed.now() + chrono::Duration::seconds(1));
        }
        let now = self.clock.now();
        let id = format!("demo-{name}-{}", now.timestamp_nanos_opt().unwrap_or_default());
        let body = format!(r#"{{"id":"{id}","type":"{kind}","data":{data}}}"#);
        let (status, answer) = cabinet_core::events::post_signed(&self.url, &self.secret, now, &body).await?;
        self.sender.tick().await?;
        Ok(format!("POST /api/v1/events {kind}: {status} {answer}"))
    }
}

/// The demo's fixed clock, moved from the terminal chat with `/now`: the notifications and
/// the jobs due by then go at once (a broadcast's report follows what was sent).
struct DemoTime {
    clock: Arc<FixedClock>,
    scheduler: Arc<Scheduler>,
    sender: Arc<cabinet_core::notify::Sender>,
}

#[async_trait::async_trait]
impl cabinet_sandbox::terminal::TimeTravel for DemoTime {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn set_now(&self, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.clock.set(at);
        self.sender.tick().await?;
        self.scheduler.run_due().await?;
        // What the jobs wrote (reminders) goes too.
        self.sender.tick().await.map(drop)
    }
}
