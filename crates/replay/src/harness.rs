//! The demo bot in the sandbox: what `cabinet demo`, `cabinet replay` and the tests run. A
//! [`SandboxedBot`] is a local Bot API emulator, a store with the demo business imported, and
//! the real dispatcher and job loop of [`cabinet_core`] polling the emulator, on a fixed clock
//! or the real one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cabinet_core::adapters::Adapters;
use cabinet_core::adapters::builtin::import::{self, BusinessData};
use cabinet_core::adapters::http::HttpBackendConfig;
use cabinet_core::adapters::http::server::LocalServer;
use cabinet_core::adapters::otp::{MemoryGateway, OtpGateway};
use cabinet_core::app::{
    Business, DEMO_REQUISITES, JobLoop, SANDBOX_COMMANDS_BACKOFF, SANDBOX_PROVIDER_TOKEN, adapters_from_config,
    build_ctx, builtin, demo_clock, dispatcher, job_scheduler, open_store, register_commands, start_notifications,
};
use cabinet_core::bot::{Ctx, UpdateObserver};
use cabinet_core::clock::{Clock as _, FixedClock, SharedClock};
use cabinet_core::config::{BackendsConfig, Config, HTTP_BACKEND};
use cabinet_core::jobs::Scheduler;
use cabinet_core::miniapp::MiniAppState;
use cabinet_core::notify::{Sender, SenderLoop, TickReport};
use cabinet_core::store::Store;
use cabinet_sandbox::{HandledHook, Sandbox};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::update_listeners::{Polling, UpdateListener as _};

/// The hook through which the bot tells `sandbox` that it has finished an update.
pub fn observer(sandbox: &Sandbox) -> Arc<dyn UpdateObserver> {
    Arc::new(Handled(sandbox.observer()))
}

/// Tells the sandbox when the bot has finished an update.
struct Handled(HandledHook);

impl UpdateObserver for Handled {
    fn handled(&self, update_id: i32) {
        self.0.handled(update_id);
    }
}

/// A demo bot running against a sandbox (for `demo`, `replay` and tests).
pub struct SandboxedBot {
    pub sandbox: Sandbox,
    pub store: Store,
    /// The fixed clock, when the bot runs on one.
    pub clock: Option<Arc<FixedClock>>,
    /// The one-time codes the bot sent (step-up verification delivers them here).
    pub otp: Arc<MemoryGateway>,
    /// The bot's scheduled jobs; its loop ticks in real time, [`SandboxedBot::run_due_jobs`]
    /// runs a tick at once.
    pub scheduler: Arc<Scheduler>,
    /// The notifications' sender; its loop ticks in real time, [`SandboxedBot::send_notifications`]
    /// runs a tick at once.
    pub notifier: Arc<Sender>,
    /// What the bot's handlers share (its store, clock, settings).
    pub ctx: Arc<Ctx>,
    /// Stops the dispatcher's polling (see `cabinet_core::app::dispatch_until` on why not its
    /// shutdown token).
    stop_polling: Option<StopToken>,
    task: Option<tokio::task::JoinHandle<()>>,
    jobs: Option<JobLoop>,
    notifications: Option<SenderLoop>,
    /// Registering the command menu (retried while Telegram refuses it).
    menu: Option<tokio::task::JoinHandle<()>>,
    /// The bot's events API and the Mini App (its page and its API) on a local port, and the
    /// secret events are signed with.
    events: Option<(LocalServer, String)>,
    /// The reference HTTP backend serving the adapters ([`SandboxOptions::http_backend`]).
    backend_server: Option<LocalServer>,
}

/// How to start a sandboxed demo bot.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// `None`: a fresh in-memory SQLite database.
    pub database_url: Option<String>,
    /// Fix the clock at the demo time (`business.demo_now`) instead of the real time.
    pub fixed_clock: bool,
    /// Adapter timeout in milliseconds (default from the config's default).
    pub adapter_timeout_ms: Option<u64>,
    /// Orders per history page (default from the config's default).
    pub orders_page_size: Option<u32>,
    /// Ask for a one-time code before subscription changes (codes go to [`SandboxedBot::otp`]).
    pub step_up: bool,
    /// Top up with Telegram invoices (a test payment provider token) instead of payment links.
    pub telegram_payments: bool,
    /// Dates the business is closed (added to the config's).
    pub holidays: Vec<chrono::NaiveDate>,
    /// The staff group (a forum supergroup in the sandbox) the bot hands cases over to.
    pub staff_chat_id: Option<i64>,
    /// Bot API failures set up before the bot starts, as [`Sandbox::fail_next`] takes them
    /// (method, error code, description, `retry_after`): each fails one call, in order.
    pub fail_first: Vec<(String, u16, String, Option<u32>)>,
    /// Capabilities' backends (`[backends]`), e.g. ("booking", "none").
    pub backends: Vec<(String, String)>,
    /// Serve the adapters through the HTTP backend: they are served by the reference server
    /// of the HTTP contract on a local port (with a random signing secret), and the bot reads
    /// them with the HTTP client, as it would a business's own backend.
    pub http_backend: bool,
    /// The Mini App page's URL (`[miniapp] url`): the chat's menu button and the main menu
    /// open it.
    pub miniapp_url: Option<String>,
}

impl SandboxedBot {
    /// Starts a sandbox, a fresh store with the demo data imported, and the real bot
    /// dispatcher polling the sandbox.
    pub async fn start(opts: SandboxOptions) -> anyhow::Result<SandboxedBot> {
        Self::start_with_config(Config::default(), opts).await
    }

    pub async fn start_with_config(config: Config, opts: SandboxOptions) -> anyhow::Result<SandboxedBot> {
        Self::start_with_adapters(config, opts, |store, clock, config| builtin(config, store, clock)).await
    }

    /// [`SandboxedBot::start`] with the adapters made by `make` (tests use slow or failing ones).
    pub async fn start_with_adapters(
        mut config: Config,
        opts: SandboxOptions,
        make: impl FnOnce(Store, SharedClock, &Config) -> Adapters,
    ) -> anyhow::Result<SandboxedBot> {
        if let Some(ms) = opts.adapter_timeout_ms {
            config.bot.adapter_timeout_ms = ms;
        }
        if let Some(size) = opts.orders_page_size {
            config.bot.orders_page_size = size;
        }
        config.booking.holidays.extend(opts.holidays.iter().copied());
        if let Some(url) = &opts.miniapp_url {
            config.miniapp.url = Some(url.clone());
        }
        for (name, backend) in &opts.backends {
            anyhow::ensure!(config.backends.set(name, backend), "no capability {name:?} in [backends]");
        }
        if opts.telegram_payments {
            config.payments.provider_token = Some(secrecy::SecretString::from(SANDBOX_PROVIDER_TOKEN));
        }
        config.bot.builtin_faq = true;
        if config.documents.requisites.is_empty() {
            config.documents.requisites = DEMO_REQUISITES.iter().map(|s| (*s).to_owned()).collect();
        }
        let sandbox = Sandbox::start().await.context("cannot start the sandbox Bot API")?;
        for (method, code, description, retry_after) in &opts.fail_first {
            sandbox.fail_next(method, *code, description, *retry_after);
        }
        if let Some(chat) = opts.staff_chat_id {
            sandbox.add_forum_group(chat, crate::STAFF_CHAT_TITLE);
            config.telegram.staff_chat_id = Some(chat);
        }
        let store = open_store(opts.database_url.as_deref().unwrap_or("sqlite::memory:")).await?;
        let data = BusinessData::demo();
        let business = Business::from_data(&data)?;
        let (clock, fixed, shift) = demo_clock(&data, &business, opts.fixed_clock)?;
        import::import(&store, &data, shift).await.context("cannot import the demo data")?;
        let mut adapters = make(store.clone(), clock.clone(), &config);
        let mut backend_server = None;
        if opts.http_backend {
            let (server, http) = over_http(adapters).await?;
            backend_server = Some(server);
            // Every capability the business has moves to the HTTP backend, as a config would.
            config.backends.http = Some(http);
            let present: Vec<&str> = BackendsConfig::CAPABILITIES
                .into_iter()
                .zip(config.backends.names())
                .filter(|(_, backend)| BackendsConfig::present(backend))
                .map(|(capability, _)| capability)
                .collect();
            for capability in present {
                config.backends.set(capability, HTTP_BACKEND);
            }
            adapters = adapters_from_config(&config, store.clone(), clock.clone(), business.time_zone)?;
        }
        let otp = Arc::new(MemoryGateway::default());
        let gateway: Option<Arc<dyn OtpGateway>> = opts.step_up.then(|| otp.clone() as Arc<dyn OtpGateway>);
        if opts.step_up && !config.step_up.enabled() {
            config.step_up.gateway = "log".into();
        }
        let ctx = build_ctx(&config, &business, store.clone(), adapters, clock, sandbox.token(), gateway)?;
        let bot = Bot::new(sandbox.token()).set_api_url(sandbox.api_url());
        let menu = register_commands(&bot, &ctx, SANDBOX_COMMANDS_BACKOFF);
        let scheduler = job_scheduler(&ctx, &bot);
        let jobs = JobLoop::start(scheduler.clone());
        let (notifier, notifications) = start_notifications(&ctx, &bot);
        let miniapp = MiniAppState::new(
            ctx.clone(),
            Bot::new(sandbox.token()).set_api_url(sandbox.api_url()),
            SecretString::from(sandbox.token().to_owned()),
            config.miniapp.clone(),
        );
        let events = serve_events(&mut config, &ctx, miniapp).await?;
        let mut dispatcher = dispatcher(bot.clone(), ctx.clone(), Some(observer(&sandbox)));
        let mut listener = Polling::builder(bot).timeout(Duration::from_secs(1)).build();
        let stop_polling = listener.stop_token();
        let task = tokio::spawn(async move {
            dispatcher.dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("polling failed")).await;
        });
        Ok(SandboxedBot {
            sandbox,
            store,
            clock: fixed,
            otp,
            scheduler,
            notifier,
            ctx,
            notifications: Some(notifications),
            events: Some(events),
            stop_polling: Some(stop_polling),
            task: Some(task),
            jobs: Some(jobs),
            menu: Some(menu),
            backend_server,
        })
    }

    /// Moves the fixed clock (no-op on the real clock).
    pub fn set_now(&self, at: DateTime<Utc>) {
        if let Some(clock) = &self.clock {
            clock.set(at);
        }
    }

    /// The clock's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.as_ref().map_or_else(Utc::now, |c| c.now())
    }

    /// Runs the jobs due by the clock now (a tick of the scheduler); how many ran. What they
    /// sent is in the sandbox when this returns.
    pub async fn run_due_jobs(&self) -> anyhow::Result<usize> {
        self.scheduler.run_due().await
    }

    /// Where the bot's events API listens and the secret events are signed with.
    pub fn events_endpoint(&self) -> Option<(String, String)> {
        self.events.as_ref().map(|(server, secret)| (server.url(), secret.clone()))
    }

    /// The Mini App's page on the local server, opened as Telegram user `user_id` would open
    /// it: `http://127.0.0.1:PORT/app/#tgWebAppData=<init data>`, the init data signed with
    /// the sandbox's token at the bot's clock's now (the parameter Telegram passes, which the
    /// page reads in a plain browser).
    pub fn miniapp_url(&self, user_id: i64, first_name: &str) -> Option<String> {
        let (server, _) = self.events.as_ref()?;
        let data = cabinet_core::miniapp::development_init_data(self.sandbox.token(), user_id, first_name, self.now());
        let encoded: String = url::form_urlencoded::byte_serialize(data.as_bytes()).collect();
        Some(format!("{}/app/#tgWebAppData={encoded}", server.url()))
    }

    /// Where the bot's local server (the events API, the Mini App) listens:
    /// `http://127.0.0.1:PORT`.
    pub fn server_url(&self) -> Option<String> {
        self.events.as_ref().map(|(server, _)| server.url())
    }

    /// Posts `event` to the bot's events API, signed as a business's system signs it; the
    /// status and the JSON answer.
    pub async fn post_event(&self, event: &serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        let (server, secret) = self.events.as_ref().context("the events API is not running")?;
        cabinet_core::events::post_signed(&server.url(), secret, self.now(), &event.to_string()).await
    }

    /// Stops the notifications' sender's background loop (and gives its lease up): from here
    /// on it ticks only when told ([`SandboxedBot::send_notifications`]), as a test of several
    /// senders needs.
    pub async fn stop_sender_loop(&mut self) {
        if let Some(notifications) = self.notifications.take() {
            notifications.stop().await;
        }
    }

    /// Runs a tick of the notifications' sender at the clock's now: what it sent is in the
    /// sandbox when this returns.
    pub async fn send_notifications(&self) -> anyhow::Result<TickReport> {
        self.notifier.tick().await
    }

    /// Stops the job loop and the dispatcher and waits for them: polling stops (the updates
    /// handled so far are confirmed to the sandbox) and the updates in hand are finished;
    /// then the database is closed. A dispatcher still busy after `DISPATCH_STOP_WAIT` (10 s:
    /// a stuck handler) is aborted.
    pub async fn stop(mut self) {
        if let Some(menu) = self.menu.take() {
            menu.abort();
        }
        if let Some(jobs) = self.jobs.take() {
            jobs.stop().await;
        }
        if let Some(notifications) = self.notifications.take() {
            notifications.stop().await;
        }
        if let Some((server, _)) = self.events.take() {
            server.stop().await;
        }
        if let Some(stop) = self.stop_polling.take() {
            stop.stop();
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(DISPATCH_STOP_WAIT, &mut task).await.is_err()
        {
            tracing::warn!(wait = ?DISPATCH_STOP_WAIT, "the sandboxed dispatcher did not stop in time; aborting it");
            task.abort();
            let _ = task.await;
        }
        if let Some(server) = self.backend_server.take() {
            server.stop().await;
        }
        // As `cabinet run` does: its connections end now, not whenever the pool is dropped
        // (a demo database deleted and made afresh must not meet an old connection).
        self.store.close().await;
    }
}

/// `adapters` served by the reference HTTP server on a local port, and the HTTP client
/// adapters reading them (signed with a random secret).
#[async_trait::async_trait]
impl crate::run::EventPoster for SandboxedBot {
    async fn post_event(&self, event: &serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        SandboxedBot::post_event(self, event).await
    }

    async fn send_notifications(&self) -> anyhow::Result<()> {
        SandboxedBot::send_notifications(self).await.map(|_| ())
    }
}

/// The bot's events API on a local port, with a random signing secret, and the Mini App
/// (its page under `/app/` and its API, init data signed with the sandbox's token) beside it.
async fn serve_events(
    config: &mut Config,
    ctx: &Arc<Ctx>,
    miniapp: MiniAppState,
) -> anyhow::Result<(LocalServer, String)> {
    use rand::distributions::{Alphanumeric, DistString as _};
    let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
    config.events.secret = Some(SecretString::from(secret.clone()));
    // The demo's data is the business's system in both modes (served directly or through the
    // reference HTTP backend): its orders follow the events.
    let state = cabinet_core::app::events_state(config, ctx, true);
    let app = cabinet_core::events::router(state).merge(cabinet_core::miniapp::router(miniapp));
    let server = LocalServer::serve(app).await.context("cannot serve the events API and the Mini App")?;
    Ok((server, secret))
}

async fn over_http(adapters: Adapters) -> anyhow::Result<(LocalServer, HttpBackendConfig)> {
    use rand::distributions::{Alphanumeric, DistString as _};
    let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 32);
    let server = LocalServer::start(adapters, Some(SecretString::from(secret.clone())))
        .await
        .context("cannot start the reference HTTP backend")?;
    let config = HttpBackendConfig { secret: Some(SecretString::from(secret)), ..HttpBackendConfig::new(server.url()) };
    Ok((server, config))
}

/// How long [`SandboxedBot::stop`] lets the dispatcher finish the updates in hand: a guard
/// against a stuck handler only, as it ends as soon as they are done.
const DISPATCH_STOP_WAIT: Duration = Duration::from_secs(10);
