//! Wiring: builds the store, adapters, recogniser and bot from a config, and runs them on
//! Telegram or on the sandbox.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use chrono_tz::Tz;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use teloxide::dispatching::Dispatcher;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::update_listeners::{Polling, UpdateListener};

use crate::adapters::bitrix24::Bitrix24;
use crate::adapters::builtin::Builtin;
use crate::adapters::builtin::BuiltinSettings;
use crate::adapters::builtin::import::{self, BusinessData};
use crate::adapters::cdek::Cdek;
use crate::adapters::guard::{Guard, GuardSettings};
use crate::adapters::http::HttpBackend;
use crate::adapters::otp::{HttpGateway, LogGateway, OtpGateway};
use crate::adapters::yclients::Yclients;
use crate::adapters::{Adapters, BackendNames};
use crate::adapters::{Billing, Booking, Crm, Directory, Documents, Logistics, Loyalty, Shop};
use crate::bot::keyboards::CallbackCodec;
use crate::bot::state::StoreStorage;
use crate::bot::{self, BookingSettings, Ctx, Settings, StepUpSettings, TopUpSettings, UpdateObserver};
use crate::clock::{FixedClock, SharedClock, SystemClock};
use crate::config::{BUILTIN_BACKEND, BackendsConfig, Config, HTTP_BACKEND, NO_BACKEND};
use crate::domain::hours::WorkingHours;
use crate::domain::{Locale, Phone};
use crate::error::BotError;
use crate::i18n::I18n;
use crate::jobs::Scheduler;
use crate::nlu::llm::LlmClassifier;
use crate::nlu::{Catalog, Nlu, PriorityRules};
use crate::server::metrics::CountingErrorHandler;
use crate::server::webhook::Webhook;
use crate::server::{Health, Server};
use crate::store::Store;

/// Opens the database and applies the migrations.
pub async fn open_store(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database {}", redact_url(url)))?;
    store.migrate().await.context("cannot apply the database migrations")?;
    crate::adapters::builtin::migrate(&store).await.context("cannot apply the built-in backend's migrations")?;
    Ok(store)
}

/// A database URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// What the bot needs to know about the business it serves.
#[derive(Debug, Clone)]
pub struct Business {
    pub name: String,
    /// Opening hours per weekday.
    pub working_hours: WorkingHours,
    /// ISO 4217 code ("KZT").
    pub currency: String,
    pub time_zone: Tz,
    pub default_locale: Locale,
    pub support_hours: String,
    pub catalog: Catalog,
    /// Days the business is closed, as its directory says (added to `booking.holidays`).
    pub holidays: Vec<chrono::NaiveDate>,
    /// The number customers may call, if the business gives one.
    pub phone: Option<String>,
}

impl Business {
    /// From a data set (the demo, or a file being imported).
    pub fn from_data(data: &BusinessData) -> anyhow::Result<Business> {
        let info = &data.business;
        Ok(Business {
            name: info.name.clone(),
            working_hours: WorkingHours::parse(&info.working_hours).map_err(|e| anyhow::anyhow!("business.{e}"))?,
            currency: info.currency.clone(),
            time_zone: data.time_zone().with_context(|| format!("unknown time zone {:?}", info.time_zone))?,
            default_locale: Locale::parse(&info.default_locale).unwrap_or(Locale::Ru),
            support_hours: info.support_hours.clone().unwrap_or_else(|| DEFAULT_SUPPORT_HOURS.into()),
            catalog: data.catalog(),
            holidays: Vec::new(),
            phone: info.phone.clone(),
        })
    }

    /// From the backends: the `directory` capability's facts under the config's `[business]`
    /// (each fact set there wins), and the names of services and staff from `booking` for
    /// the recogniser. A booking system that does not answer now leaves the recogniser
    /// without those names (logged), rather than keeping the bot from starting.
    pub async fn resolve(config: &Config, adapters: &Adapters) -> anyhow::Result<Business> {
        let mut business = Business::facts(config, adapters.directory.as_ref()).await?;
        business.catalog = Business::catalog(config, adapters).await;
        Ok(business)
    }

    /// The business's facts (no catalogue yet): the directory's under `[business]`.
    pub async fn facts(config: &Config, directory: &dyn Directory) -> anyhow::Result<Business> {
        let found = if BackendsConfig::present(&config.backends.directory) {
            let facts = tokio::time::timeout(STARTUP_CALL_TIMEOUT, directory.business())
                .await
                .map_err(|_| anyhow::anyhow!("the directory backend did not answer in time"))?;
            facts.with_context(|| {
                format!(
                    "cannot read the business's facts from the {:?} backend (backends.directory)",
                    config.backends.directory
                )
            })?
        } else {
            None
        };
        let wanted = &config.business;
        let missing = |what: &str| {
            anyhow::anyhow!(
                "the business's {what} is unknown: load a business with `cabinet import FILE`, set business.{what} in the \
                 config, or choose a backend that has it (backends.directory)"
            )
        };
        let name =
            wanted.name.clone().or_else(|| found.as_ref().map(|f| f.name.clone())).ok_or_else(|| missing("name"))?;
        let currency = wanted
            .currency
            .clone()
            .or_else(|| found.as_ref().map(|f| f.currency.clone()))
            .ok_or_else(|| missing("currency"))?;
        let zone = wanted
            .time_zone
            .clone()
            .or_else(|| found.as_ref().map(|f| f.time_zone.clone()))
            .ok_or_else(|| missing("time_zone"))?;
        let time_zone: Tz =
            zone.parse().map_err(|_| anyhow::anyhow!("business.time_zone {zone:?} is not an IANA time zone"))?;
        let hours = wanted
            .working_hours
            .clone()
            .or_else(|| found.as_ref().map(|f| f.working_hours.clone()))
            .ok_or_else(|| missing("working_hours"))?;
        let working_hours = WorkingHours::parse(&hours).map_err(|e| anyhow::anyhow!("business.{e}"))?;
        let locale = wanted.default_locale.clone().or_else(|| found.as_ref().map(|f| f.default_locale.clone()));
        let default_locale = match locale {
            Some(code) => Locale::parse(&code)
                .with_context(|| format!("business.default_locale {code:?} is not one of ru, en"))?,
            None => Locale::Ru,
        };
        let support_hours =
            found.as_ref().and_then(|f| f.support_hours.clone()).unwrap_or_else(|| DEFAULT_SUPPORT_HOURS.into());
        let phone = wanted.phone.clone().or_else(|| found.as_ref().and_then(|f| f.phone.clone()));
        let holidays = found.map(|f| f.holidays).unwrap_or_default();
        let catalog = Catalog::default();
        Ok(Business {
            name,
            working_hours,
            currency,
            time_zone,
            default_locale,
            support_hours,
            catalog,
            holidays,
            phone,
        })
    }

    /// The names of services and staff the booking backend gives, for the recogniser; none
    /// when it has no booking or does not answer now (logged).
    pub async fn catalog(config: &Config, adapters: &Adapters) -> Catalog {
        let mut catalog = Catalog::default();
        if BackendsConfig::present(&config.backends.booking) {
            let names = async {
                let services = adapters.booking.services().await?;
                let staff = adapters.booking.staff().await?;
                Ok::<_, crate::adapters::AdapterError>((services, staff))
            };
            match tokio::time::timeout(STARTUP_CALL_TIMEOUT, names).await {
                Ok(Ok((services, staff))) => {
                    catalog.services = services.iter().map(|s| import::named(&s.code, &s.name)).collect();
                    catalog.staff = staff.iter().map(|s| import::named(&s.id, &s.name)).collect();
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the booking system did not give its services and staff: names of services are not recognised until a restart")
                }
                Err(_) => tracing::warn!(
                    "the booking system did not answer in time: names of services are not recognised until a restart"
                ),
            }
        }
        if BackendsConfig::present(&config.backends.billing) {
            match tokio::time::timeout(STARTUP_CALL_TIMEOUT, adapters.billing.tariffs()).await {
                Ok(Ok(mut tariffs)) => {
                    tariffs.sort_by_key(|t| t.monthly_fee);
                    catalog.tariffs = tariffs.iter().map(|t| import::named(&t.code, &t.name)).collect();
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the billing system did not give its tariffs: tariff names are not recognised until a restart")
                }
                Err(_) => tracing::warn!(
                    "the billing system did not answer in time: tariff names are not recognised until a restart"
                ),
            }
        }
        catalog
    }
}

/// How long start-up waits for a backend's answer.
const STARTUP_CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// The backends `[backends]` chooses, and the business they serve: the directory is asked
/// first (some connectors need the business's time zone), then the booking backend for the
/// names of services and staff.
pub async fn connect(config: &Config, store: Store, clock: SharedClock) -> anyhow::Result<(Adapters, Business)> {
    let directory: Arc<dyn Directory> = match config.backends.directory.as_str() {
        NO_BACKEND | BUILTIN_BACKEND => builtin(config, store.clone(), clock.clone()).directory,
        HTTP_BACKEND => Arc::new(http_backend(config)?),
        other => anyhow::bail!("backends.directory = {other:?}: no such backend for it"),
    };
    let mut business = Business::facts(config, directory.as_ref()).await?;
    let adapters = adapters_from_config(config, store, clock, business.time_zone)?;
    business.catalog = Business::catalog(config, &adapters).await;
    Ok((adapters, business))
}

/// The adapters `[backends]` chooses, each capability from its backend (a capability that
/// is `"none"` keeps the built-in one, which the bot never asks). `time_zone` is the
/// business's: connectors read their systems' local times in it.
pub fn adapters_from_config(
    config: &Config,
    store: Store,
    clock: SharedClock,
    time_zone: Tz,
) -> anyhow::Result<Adapters> {
    let builtin = builtin(config, store, clock.clone());
    let b = &config.backends;
    let unknown = |what: &str, name: &str| anyhow::anyhow!("backends.{what} = {name:?}: no such backend for it");
    let uses = |name: &str| b.names().contains(&name) || b.cdek.as_ref().is_some_and(|c| c.orders == name);
    let bitrix24 = match &b.bitrix24 {
        Some(settings) if uses("bitrix24") => Some(Arc::new(Bitrix24::new(settings)?)),
        _ => None,
    };
    let bitrix24 = || bitrix24.clone().context("the bitrix24 backend needs a [backends.bitrix24] table");
    let http = if uses(HTTP_BACKEND) { Some(Arc::new(http_backend(config)?)) } else { None };
    let http = || http.clone().context("the http backend needs a [backends.http] table");
    let crm: Arc<dyn Crm> = match b.crm.as_str() {
        BUILTIN_BACKEND => builtin.crm.clone(),
        HTTP_BACKEND => http()?,
        "bitrix24" => bitrix24()?,
        other => return Err(unknown("crm", other)),
    };
    // The business's own list of orders: what a carrier tracks.
    let orders = |name: &str| -> anyhow::Result<Arc<dyn Logistics>> {
        match name {
            BUILTIN_BACKEND | NO_BACKEND => Ok(builtin.logistics.clone()),
            HTTP_BACKEND => Ok(http()?),
            "bitrix24" => Ok(bitrix24()?),
            other => Err(unknown("cdek.orders", other)),
        }
    };
    let logistics: Arc<dyn Logistics> = match b.logistics.as_str() {
        "cdek" => {
            let settings = b.cdek.as_ref().context("backends.logistics = \"cdek\" needs a [backends.cdek] table")?;
            Arc::new(Cdek::new(settings, orders(&settings.orders)?)?.with_time_zone(time_zone))
        }
        name @ (BUILTIN_BACKEND | NO_BACKEND | HTTP_BACKEND | "bitrix24") => orders(name)?,
        other => return Err(unknown("logistics", other)),
    };
    let documents: Arc<dyn Documents> = match b.documents.as_str() {
        BUILTIN_BACKEND | NO_BACKEND => builtin.documents.clone(),
        HTTP_BACKEND => http()?,
        "bitrix24" => bitrix24()?,
        other => return Err(unknown("documents", other)),
    };
    let booking: Arc<dyn Booking> = match b.booking.as_str() {
        BUILTIN_BACKEND | NO_BACKEND => builtin.booking.clone(),
        HTTP_BACKEND => http()?,
        "yclients" => {
            let settings =
                b.yclients.as_ref().context("backends.booking = \"yclients\" needs a [backends.yclients] table")?;
            Arc::new(Yclients::new(settings, crm.clone(), time_zone)?.with_clock(clock))
        }
        other => return Err(unknown("booking", other)),
    };
    // The capabilities only the built-in and the HTTP backends serve.
    let or_http = |what: &str, name: &str| -> anyhow::Result<bool> {
        match name {
            BUILTIN_BACKEND | NO_BACKEND => Ok(false),
            HTTP_BACKEND => Ok(true),
            other => Err(unknown(what, other)),
        }
    };
    let billing: Arc<dyn Billing> = if or_http("billing", &b.billing)? { http()? } else { builtin.billing.clone() };
    let shop: Arc<dyn Shop> = if or_http("shop", &b.shop)? { http()? } else { builtin.shop.clone() };
    let loyalty: Arc<dyn Loyalty> = if or_http("loyalty", &b.loyalty)? { http()? } else { builtin.loyalty.clone() };
    let directory: Arc<dyn Directory> =
        if or_http("directory", &b.directory)? { http()? } else { builtin.directory.clone() };
    Ok(Adapters {
        crm,
        billing,
        logistics,
        documents,
        shop,
        loyalty,
        booking,
        directory,
        names: BackendNames {
            crm: b.crm.clone(),
            billing: b.billing.clone(),
            logistics: b.logistics.clone(),
            documents: b.documents.clone(),
            shop: b.shop.clone(),
            loyalty: b.loyalty.clone(),
            booking: b.booking.clone(),
            directory: b.directory.clone(),
        },
    })
}

/// The HTTP backend `[backends.http]` describes.
fn http_backend(config: &Config) -> anyhow::Result<HttpBackend> {
    let settings = config.backends.http.as_ref().context("the http backend needs a [backends.http] table")?;
    HttpBackend::new(settings).context("backends.http")
}

/// The built-in adapter over the store, configured from `config`.
pub fn builtin(config: &Config, store: Store, clock: SharedClock) -> Adapters {
    let settings = BuiltinSettings {
        payment_url: config.payments.payment_url.clone(),
        referral_points: config.loyalty.referral_points,
        offers: config
            .loyalty
            .offers
            .iter()
            .map(|r| crate::adapters::builtin::OfferRule {
                bought: r.bought.clone(),
                offer: r.offer.clone(),
                after_days: r.after_days,
            })
            .collect(),
    };
    let booking = crate::adapters::builtin::BookingSettings {
        horizon_days: config.booking.horizon_days,
        holidays: config.booking.holidays.clone(),
        ..Default::default()
    };
    Builtin::new(store).with_clock(clock).with_settings(settings).with_booking_settings(booking).adapters()
}

/// The provider token the sandbox accepts for Telegram invoices (it charges nobody).
pub const SANDBOX_PROVIDER_TOKEN: &str = "sandbox:test-provider";

/// Requisites printed on the demo business's documents (`documents.requisites` unset).
pub const DEMO_REQUISITES: [&str; 3] =
    ["БИН 000000000000 (demo)", "ИИК KZ00 0000 0000 0000 0000, АО «Demo Bank»", "г. Алматы, пр. Абая 1"];

/// Support hours when the business names none.
const DEFAULT_SUPPORT_HOURS: &str = "09:00-21:00";

/// Loads the messages and the recogniser, from the config's directories when given.
fn load_language(config: &Config, catalog: Catalog) -> anyhow::Result<(Arc<I18n>, Arc<Nlu>)> {
    let i18n = match &config.bot.locales_dir {
        Some(dir) => I18n::from_dir(dir),
        None => I18n::embedded(),
    }
    .context("cannot load the message files (locales)")?;
    let nlu = match &config.bot.dialogues_dir {
        Some(dir) => Nlu::from_dir(dir, catalog),
        None => Nlu::embedded(catalog).map(|nlu| if config.bot.builtin_faq { nlu } else { nlu.without_faq() }),
    }
    .context("cannot load the dialogue data files")?;
    Ok((Arc::new(i18n), Arc::new(nlu)))
}

/// The key that signs button data: the configured secret, else derived from the token.
fn callback_key(config: &Config, token: &str) -> Vec<u8> {
    match &config.bot.callback_secret {
        Some(secret) => secret.expose_secret().as_bytes().to_vec(),
        None => Sha256::digest(format!("cabinet-callback:{token}").as_bytes()).to_vec(),
    }
}

/// Everything the handlers share.
pub fn build_ctx(
    config: &Config,
    business: &Business,
    store: Store,
    adapters: Adapters,
    clock: SharedClock,
    token: &str,
    otp: Option<Arc<dyn OtpGateway>>,
) -> anyhow::Result<Arc<Ctx>> {
    Ok(build_ctx_with_guard(config, business, store, adapters, clock, token, otp)?.0)
}

/// [`build_ctx`], and the guard its adapters go through (whose breakers `/healthz` reads).
pub fn build_ctx_with_guard(
    config: &Config,
    business: &Business,
    store: Store,
    adapters: Adapters,
    clock: SharedClock,
    token: &str,
    otp: Option<Arc<dyn OtpGateway>>,
) -> anyhow::Result<(Arc<Ctx>, Arc<Guard>)> {
    let (i18n, nlu) = load_language(config, business.catalog.clone())?;
    // Support hours and the time zone as configured, else as the business data has them.
    let time_zone = match &config.support.time_zone {
        Some(tz) => tz.parse().map_err(|_| anyhow::anyhow!("support.time_zone {tz:?} is not a time zone"))?,
        None => business.time_zone,
    };
    let support_hours = config.support.hours.clone().unwrap_or_else(|| business.support_hours.clone());
    let default_locale = match &config.bot.default_locale {
        Some(code) => Locale::parse(code).unwrap_or(business.default_locale),
        None => business.default_locale,
    };
    let settings = Settings {
        terms_version: config.bot.terms_version.clone(),
        privacy_url: config.bot.privacy_url.clone(),
        default_locale,
        time_zone,
        support_hours,
        orders_page_size: config.bot.orders_page_size,
        staff_chat_id: config.telegram.staff_chat_id.map(teloxide::types::ChatId),
        business_name: business.name.clone(),
        business_phone: config
            .business
            .phone
            .as_deref()
            .or(business.phone.as_deref())
            .map(|p| Phone::parse(p).map_or_else(|_| p.to_owned(), |p| p.pretty())),
        currency: business.currency.clone(),
        requisites: config.documents.requisites.clone(),
        top_up: TopUpSettings {
            amounts: config.payments.amounts.clone(),
            min: config.payments.min_amount,
            max: config.payments.max_amount,
            provider_token: config.payments.provider_token.as_ref().map(|t| t.expose_secret().to_owned()),
        },
        step_up: config.step_up.enabled().then(|| StepUpSettings {
            code_ttl: chrono::Duration::seconds(i64::from(config.step_up.code_ttl_seconds)),
            max_attempts: config.step_up.max_attempts,
            lock: chrono::Duration::minutes(i64::from(config.step_up.lock_minutes)),
            resend_after: chrono::Duration::seconds(i64::from(config.step_up.resend_after_seconds)),
            sends_per_hour: config.step_up.max_sends_per_hour,
            key: bot::OtpKey::derive(config.otp_secret(token)),
        }),
        booking: BookingSettings {
            working_hours: business.working_hours.clone(),
            holidays: config.booking.holidays.iter().chain(&business.holidays).copied().collect(),
            horizon_days: config.booking.horizon_days,
            cancel_cutoff: chrono::Duration::minutes(i64::from(config.booking.cancel_cutoff_minutes)),
            reconcile: chrono::Duration::minutes(i64::from(config.booking.reconcile_minutes)),
        },
        capabilities: bot::Capabilities::from_config(&config.backends),
        notify: crate::notify::NotifySettings::from_config(&config.notify)?,
        miniapp_url: match &config.miniapp.url {
            Some(url) => Some(url.parse().context("miniapp.url (CABINET_MINIAPP_URL) is not a URL")?),
            None => None,
        },
    };
    let otp: Option<Arc<dyn OtpGateway>> = match (otp, config.step_up.gateway.as_str()) {
        (Some(gateway), _) => Some(gateway),
        (None, "log") => Some(Arc::new(LogGateway)),
        (None, "http") => {
            let url = config.step_up.url.clone().context("step_up.url is needed for the http gateway")?;
            Some(Arc::new(HttpGateway::new(url, Duration::from_millis(config.bot.adapter_timeout_ms))?))
        }
        (None, _) => None,
    };
    let llm = LlmClassifier::from_config(&config.llm)
        .context("cannot set up the language-model fallback (llm)")?
        .map(|llm| Arc::new(llm.with_catalog(&business.catalog)));
    let rules = match &config.bot.dialogues_dir {
        Some(dir) => PriorityRules::from_dir(dir).map_err(|e| anyhow::anyhow!("priority rules: {e}"))?,
        None => PriorityRules::embedded().context("the built-in priority rules")?,
    };
    let minutes = |m: u32| chrono::Duration::minutes(i64::from(m));
    let support = bot::staff::Support {
        rules,
        limiter: bot::staff::StaffLimiter::new(
            config.support.relay_per_minute,
            config.support.relay_per_customer_per_minute,
        ),
        members: bot::staff::StaffMembers::new(config.support.staff_user_ids.iter().copied()),
        mention: config.support.mention.clone(),
        signed: config.support.signed,
        sla: [
            minutes(config.support.sla_critical_minutes),
            minutes(config.support.sla_high_minutes),
            minutes(config.support.sla_normal_minutes),
        ],
        idle_close: (config.support.idle_close_after_hours > 0)
            .then(|| chrono::Duration::hours(i64::from(config.support.idle_close_after_hours))),
    };
    let guard = Guard::new(GuardSettings::from_config(config), clock.clone());
    let ctx = Arc::new(Ctx {
        store,
        adapters: adapters.guarded(guard.clone()),
        nlu,
        llm,
        i18n,
        clock,
        settings,
        otp,
        support,
        codec: CallbackCodec::new(&callback_key(config, token))
            .with_ttl(chrono::Duration::days(i64::from(config.bot.button_ttl_days))),
        budget: Arc::new(crate::notify::Budget::new(config.notify.per_second)),
    });
    Ok((ctx, guard))
}

/// How many queues the updates are handled in: a chat's updates always go to the same one,
/// in order; the queues run at the same time. Telegram's own limit on messages to different
/// chats (about 30 a second) is far below what this many queues answer even when a backend
/// takes a second per call.
pub const UPDATE_QUEUES: i64 = 256;

/// How many updates wait in one queue; when a queue is full, the bot takes no more updates
/// until it has room, and the rest wait at Telegram (which keeps them for a day). Together
/// with [`UPDATE_QUEUES`] this bounds the updates held in memory during a surge.
pub const UPDATE_QUEUE_LENGTH: usize = 16;

/// The queue of an update: its chat's ([`UPDATE_QUEUES`]). Updates without a chat (a
/// pre-checkout query) are handled at once, each on its own.
///
/// Not teloxide's default of one queue per chat: a queue keeps its memory once it has been
/// used (about 30 KB of update slots each), and teloxide removes idle queues only when there are
/// more than were ever busy at once, so after a surge of N customers the bot kept N of them
/// for good, and more after every surge (docs/performance.md, "Memory").
pub fn update_queue(update: &teloxide::types::Update) -> Option<i64> {
    update.chat().map(|chat| chat.id.0.rem_euclid(UPDATE_QUEUES))
}

/// The dispatcher over the bot's schema (stopped through its
/// [`ShutdownToken`](teloxide::dispatching::ShutdownToken)).
pub fn dispatcher(
    bot: Bot,
    ctx: Arc<Ctx>,
    observer: Option<Arc<dyn UpdateObserver>>,
) -> Dispatcher<Bot, BotError, i64> {
    let storage = StoreStorage::new(ctx.store.clone());
    Dispatcher::builder(bot, bot::schema(observer))
        .distribution_function(update_queue)
        .worker_queue_size(UPDATE_QUEUE_LENGTH)
        .dependencies(dptree::deps![ctx, storage])
        .default_handler(|_| async {})
        .error_handler(CountingErrorHandler::with_custom_text("an update could not be handled"))
        .build()
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) or SIGTERM, which container
/// runtimes and service managers send. The handlers are installed when this is called, so
/// a signal that comes while the bot is still starting is not lost (nor fatal).
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        Ok(async move {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            };
            tracing::info!(signal = name, "stopping: finishing the updates in hand");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!(signal = "Ctrl-C", "stopping: finishing the updates in hand");
            } else {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Dispatches the updates `listener` brings until `shutdown` resolves; then polling stops
/// (the updates handled so far are confirmed to the Bot API) and the updates in hand are
/// finished before this returns.
///
/// Polling is stopped with the listener's own stop token, not only the dispatcher's shutdown
/// token: teloxide's dispatcher looks at a shutdown request only when it is woken while
/// waiting for the next update, so a request made while it hands an update to a worker goes
/// unnoticed and it polls on. The listener checks its token whenever it is polled, so it
/// always ends.
async fn dispatch_until<L>(
    dispatcher: &mut Dispatcher<Bot, BotError, i64>,
    mut listener: L,
    shutdown: impl Future<Output = ()>,
) -> Result<(), teloxide::RequestError>
where
    L: UpdateListener + Send,
    L::Err: std::fmt::Debug,
{
    let token = dispatcher.shutdown_token();
    let stop = listener.stop_token();
    let dispatch = dispatcher
        .try_dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("receiving updates failed"));
    tokio::pin!(dispatch, shutdown);
    tokio::select! {
        biased;
        result = &mut dispatch => return result,
        () = &mut shutdown => {}
    }
    // Idle: still asking getMe, before any update was taken (a dispatcher that has stopped
    // has returned above). Nothing is in hand: stop right here.
    if token.shutdown().is_err() {
        return Ok(());
    }
    stop.stop();
    dispatch.await
}

/// The clock and the date shift for a demo data set: fixed at its demo time, or the real
/// clock with every date moved so that the demo day is today.
pub fn demo_clock(
    data: &BusinessData,
    business: &Business,
    fixed: bool,
) -> anyhow::Result<(SharedClock, Option<Arc<FixedClock>>, chrono::Duration)> {
    let demo_now = data.demo_now_utc().unwrap_or_else(Utc::now);
    if fixed {
        let clock = FixedClock::new(demo_now);
        return Ok((clock.clone(), Some(clock), chrono::Duration::zero()));
    }
    let today = Utc::now().with_timezone(&business.time_zone).date_naive();
    let demo_day = demo_now.with_timezone(&business.time_zone).date_naive();
    Ok((Arc::new(SystemClock), None, today - demo_day))
}

/// `cabinet run`: the bot on Telegram, long polling (or its webhook, `telegram.webhook_url`),
/// with the HTTP server when `server.listen` is set, until Ctrl-C or SIGTERM.
pub async fn run(config: &Config, api_url: Option<String>) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    run_until(config, api_url, shutdown).await
}

/// [`run`] until `shutdown` resolves: then polling stops, the updates in hand are finished,
/// the HTTP server closes its port, the job loop stops after its tick and the database is
/// closed.
pub async fn run_until(
    config: &Config,
    api_url: Option<String>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let server = match &config.server.listen {
        Some(addr) => Some(Server::bind(addr).await?),
        None => None,
    };
    run_on(config, api_url, server, shutdown).await
}

/// [`run_until`] with the HTTP server on a port already bound (`server.listen` is not read).
pub async fn run_on(
    config: &Config,
    api_url: Option<String>,
    server: Option<Server>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let token = config.require_token()?;
    let webhook = Webhook::from_config(&config.telegram)?;
    anyhow::ensure!(
        !webhook.as_ref().is_some_and(|w| w.url.as_str().contains(token.expose_secret())),
        "telegram.webhook_url must not contain the bot token: the secret token authenticates Telegram"
    );
    anyhow::ensure!(server.is_some() || webhook.is_none(), "webhook mode needs the HTTP server (server.listen)");
    let store = open_store(&config.database.url).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let (adapters, business) = connect(config, store.clone(), clock.clone()).await?;
    let (ctx, guard) = build_ctx_with_guard(config, &business, store, adapters, clock, token.expose_secret(), None)?;
    let bot = telegram_bot(token.expose_secret(), api_url.or_else(|| config.telegram.api_url.clone()))?;
    if config.events.enabled() && server.is_none() {
        tracing::warn!("[events] is set but the HTTP server is off (server.listen): no events are received");
    }
    let http = server.map(|server| {
        let health = Health::new(ctx.store.clone(), guard, ctx.adapters.names.clone());
        let mut server = server.merge(crate::server::router(health));
        if config.events.enabled() {
            let builtin_orders = config.backends.logistics == BUILTIN_BACKEND;
            server = server.merge(crate::events::router(events_state(config, &ctx, builtin_orders)));
        }
        // The Mini App's API: its init data is signed with the bot's token.
        let miniapp =
            crate::miniapp::MiniAppState::new(ctx.clone(), bot.clone(), token.clone(), config.miniapp.clone());
        server = server.merge(crate::miniapp::router(miniapp));
        Http { server, webhook }
    });
    serve_telegram_with(bot, ctx, http, shutdown).await
}

/// What the events API acts with: the bot's outbox, its CRM (an event's customer must be
/// known) and, with `builtin_orders` (the built-in backend holds the orders), the built-in
/// backend, whose orders follow the events.
pub fn events_state(config: &Config, ctx: &Arc<Ctx>, builtin_orders: bool) -> crate::events::EventsState {
    let sink = crate::events::sink::NotifyingSink {
        ctx: ctx.clone(),
        notifier: crate::notify::Notifier::new(ctx.store.clone(), ctx.clock.clone()),
        builtin: builtin_orders.then(|| Builtin::new(ctx.store.clone()).with_clock(ctx.clock.clone())),
    };
    crate::events::EventsState {
        store: ctx.store.clone(),
        crm: ctx.adapters.crm.clone(),
        sink: Arc::new(sink),
        clock: ctx.clock.clone(),
        config: config.events.clone(),
    }
}

pub fn telegram_bot(token: &str, api_url: Option<String>) -> anyhow::Result<Bot> {
    let bot = Bot::new(token);
    Ok(match api_url {
        Some(url) => bot.set_api_url(url.parse().context("telegram.api_url (TELOXIDE_API_URL) is not a URL")?),
        None => bot,
    })
}

/// Serves Telegram until `shutdown` resolves, then stops everything in order: polling (the
/// updates in hand are finished), the command menu's retries, the job loop, the database.
pub async fn serve_telegram(bot: Bot, ctx: Arc<Ctx>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    serve_telegram_with(bot, ctx, None, shutdown).await
}

/// The HTTP side of `cabinet run`: the server with its routes, and the webhook if updates
/// come by one.
pub struct Http {
    /// The server, its routes (`/healthz`, `/metrics`, …) merged in.
    pub server: Server,
    /// Webhook mode, when set: its route joins the server.
    pub webhook: Option<Webhook>,
}

/// [`serve_telegram`] with the HTTP server, if any: it serves from the start, and when
/// `shutdown` resolves it stops taking requests (a webhook delivery then gets 503, and
/// Telegram delivers it again later) while the updates in hand are finished.
pub async fn serve_telegram_with(
    bot: Bot,
    ctx: Arc<Ctx>,
    http: Option<Http>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let (webhook, server) = match http {
        Some(Http { server, webhook: Some(webhook) }) => {
            let (listener, route) = webhook.listener();
            let task = server.merge(route).serve(stopped(http_stopped));
            (Some((webhook, listener)), Some(task))
        }
        Some(Http { server, webhook: None }) => (None, Some(server.serve(stopped(http_stopped)))),
        None => (None, None),
    };
    let shutdown = async {
        shutdown.await;
        stop_http.send_replace(true);
    };
    let served = serve_updates(bot, ctx, webhook, shutdown).await;
    stop_http.send_replace(true);
    if let Some(task) = server {
        let _ = task.await;
    }
    served
}

/// [`serve_telegram`]'s work: updates by long polling, or from `webhook`'s listener.
async fn serve_updates(
    bot: Bot,
    ctx: Arc<Ctx>,
    webhook: Option<(Webhook, impl UpdateListener<Err = std::convert::Infallible> + Send)>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    // Asked to stop while Telegram is still being reached: nothing has started yet.
    let me = tokio::select! {
        me = bot.get_me() => me.context("Telegram did not accept the bot token (getMe failed)")?,
        () = &mut shutdown => {
            ctx.store.close().await;
            return Ok(());
        }
    };
    tracing::info!(bot = me.username(), "connected to Telegram");
    if let Some((webhook, _)) = &webhook
        && let Err(error) = webhook.set(&bot).await
    {
        ctx.store.close().await;
        return Err(error).context("Telegram did not accept the webhook (setWebhook failed)");
    }
    let menu = register_commands(&bot, &ctx, COMMANDS_BACKOFF);
    let store = ctx.store.clone();
    let jobs = JobLoop::start(job_scheduler(&ctx, &bot));
    let notifications = start_notifications(&ctx, &bot).1;
    let mut dispatcher = dispatcher(bot.clone(), ctx, None);
    let dispatched = match webhook {
        Some((webhook, listener)) => {
            tracing::info!(path = webhook.path(), "receiving updates by webhook");
            dispatch_until(&mut dispatcher, listener, shutdown).await
        }
        None => {
            // A webhook left set (webhook mode before) would make getUpdates fail.
            let listener = Polling::builder(bot).timeout(Duration::from_secs(25)).delete_webhook().await.build();
            dispatch_until(&mut dispatcher, listener, shutdown).await
        }
    };
    menu.abort();
    jobs.stop().await;
    notifications.stop().await;
    store.close().await;
    dispatched.context("cannot start receiving updates from Telegram (getMe failed)")?;
    tracing::info!("stopped");
    Ok(())
}

// --- the command menu ----------------------------------------------------------------------

/// How a failed registration of the command menu is retried.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The wait after the first failure; it doubles after every further one.
    first: Duration,
    /// The longest wait between attempts (a longer `retry_after` is still honoured).
    max: Duration,
    /// Attempts in all, the first one included.
    attempts: u32,
}

impl Backoff {
    /// The wait after the `failures`-th failure, which was `error`: the backoff, or longer
    /// when Telegram asked to wait longer (429 with `retry_after`).
    fn delay(&self, failures: u32, error: &teloxide::RequestError) -> Duration {
        let doubling = 1_u32 << failures.saturating_sub(1).min(16);
        let backoff = self.first.saturating_mul(doubling).min(self.max);
        match error {
            teloxide::RequestError::RetryAfter(wait) => backoff.max(wait.duration()),
            _ => backoff,
        }
    }
}

/// On Telegram: retries after 2 s, 4 s, 8 s, … then every 5 minutes, about half an hour in all.
pub const COMMANDS_BACKOFF: Backoff =
    Backoff { first: Duration::from_secs(2), max: Duration::from_secs(300), attempts: 12 };

/// In the sandbox (the demo, transcripts, tests): the same, quicker.
pub const SANDBOX_COMMANDS_BACKOFF: Backoff =
    Backoff { first: Duration::from_millis(20), max: Duration::from_secs(1), attempts: 12 };

/// Registers the command menu (and, with `[miniapp] url`, the Mini App's menu button, once)
/// in a task of its own, while the bot serves. The menu is a
/// convenience (commands typed without it work the same), so a failure (Telegram asking to
/// wait, answering 5xx, the network down) neither stops nor delays the bot: it is logged and
/// retried with `backoff`.
pub fn register_commands(bot: &Bot, ctx: &Ctx, backoff: Backoff) -> tokio::task::JoinHandle<()> {
    let (bot, i18n, locale) = (bot.clone(), ctx.i18n.clone(), ctx.settings.default_locale);
    let capabilities = ctx.settings.capabilities;
    let miniapp = ctx.settings.miniapp_url.clone();
    tokio::spawn(async move {
        // The Mini App's menu button, once: a chat works without it (and an identified
        // customer's chat gets its own in their language).
        if let Some(url) = &miniapp
            && let Err(error) = bot::set_miniapp_menu_button(&bot, &i18n, locale, url, None).await
        {
            tracing::warn!(%error, "cannot set the Mini App's menu button (setChatMenuButton); the bot works without it");
        }
        let mut attempt = 1;
        loop {
            let error = match bot::register_commands(&bot, &i18n, locale, capabilities).await {
                Ok(()) if attempt == 1 => return,
                Ok(()) => {
                    tracing::info!(attempt, "the command menu is registered");
                    return;
                }
                Err(error) => error,
            };
            if attempt >= backoff.attempts {
                tracing::warn!(attempts = attempt, %error, "gave up registering the command menu; the bot works without it");
                return;
            }
            let wait = backoff.delay(attempt, &error);
            tracing::warn!(attempt, %error, ?wait, "cannot register the command menu (setMyCommands) yet; trying again");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    })
}

// --- scheduled jobs ------------------------------------------------------------------------

/// How often the job loop looks for due jobs (real time).
const JOB_TICK: Duration = Duration::from_secs(1);

/// How long stopping the job loop waits for the tick under way.
const JOB_STOP_WAIT: Duration = Duration::from_secs(5);

/// The scheduler of the bot's jobs, over its store and clock, sending with `bot`.
pub fn job_scheduler(ctx: &Arc<Ctx>, bot: &Bot) -> Arc<Scheduler> {
    let handler = bot::jobs::job_handler(ctx.clone(), bot.clone());
    Arc::new(Scheduler::new(ctx.store.clone(), ctx.clock.clone(), handler))
}

/// The scheduler ticking every [`JOB_TICK`] in a task of its own, until stopped (or until
/// this is dropped).
pub struct JobLoop {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl JobLoop {
    pub fn start(scheduler: Arc<Scheduler>) -> JobLoop {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(scheduler.run_forever(JOB_TICK, async {
            let _ = stopped.await;
        }));
        JobLoop { stop, task }
    }

    /// Stops the loop after the tick under way (cut short after [`JOB_STOP_WAIT`]).
    pub async fn stop(self) {
        let JobLoop { stop, mut task } = self;
        let _ = stop.send(());
        if tokio::time::timeout(JOB_STOP_WAIT, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// The notifications' sender over the bot's store and clock, sending with `bot`, and its
/// loop, started ([`crate::notify`]).
pub fn start_notifications(ctx: &Arc<Ctx>, bot: &Bot) -> (Arc<crate::notify::Sender>, crate::notify::SenderLoop) {
    let sender = Arc::new(crate::notify::Sender::new(ctx.clone(), bot.clone()));
    let task = crate::notify::SenderLoop::start(sender.clone());
    (sender, task)
}

/// `cabinet import FILE`.
pub async fn import_file(config: &Config, path: &Path, shift_to_today: bool) -> anyhow::Result<import::ImportReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let data = BusinessData::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let business = Business::from_data(&data)?;
    let store = open_store(&config.database.url).await?;
    let (_, _, shift) = demo_clock(&data, &business, !shift_to_today)?;
    Ok(import::import(&store, &data, shift).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_keeps_its_queue_and_every_chat_has_one_in_range() {
        let message = |chat: i64| -> teloxide::types::Update {
            let kind = if chat > 0 {
                serde_json::json!({"id": chat, "type": "private", "first_name": "A"})
            } else {
                serde_json::json!({"id": chat, "type": "supergroup", "title": "Staff"})
            };
            let json = serde_json::json!({
                "update_id": 1,
                "message": {
                    "message_id": 1, "date": 1_700_000_000, "text": "баланс", "chat": kind,
                    "from": {"id": 1, "is_bot": false, "first_name": "A"}
                }
            });
            let update: teloxide::types::Update = serde_json::from_str(&json.to_string()).unwrap();
            assert!(matches!(update.kind, teloxide::types::UpdateKind::Message(_)), "{update:?}");
            update
        };
        for chat in [1_i64, 255, 256, 5001, 7_000_000_001, -1_001_234_567_890, -1] {
            let queue = update_queue(&message(chat)).unwrap();
            assert!((0..UPDATE_QUEUES).contains(&queue), "{chat} → {queue}");
            assert_eq!(update_queue(&message(chat)), Some(queue));
        }
        assert_eq!(update_queue(&message(5001)), update_queue(&message(5001 + UPDATE_QUEUES)));
        assert_ne!(update_queue(&message(5001)), update_queue(&message(5002)));
    }

    #[test]
    fn the_command_menu_is_retried_with_a_doubling_wait_that_honours_retry_after() {
        let backoff = Backoff { first: Duration::from_secs(2), max: Duration::from_secs(60), attempts: 10 };
        let network = teloxide::RequestError::Io(std::sync::Arc::new(std::io::Error::other("connection refused")));
        let waits: Vec<u64> = (1..=7).map(|failures| backoff.delay(failures, &network).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        // Telegram asking to wait longer than the backoff is obeyed; a shorter ask is not rushed.
        let flood = |secs| teloxide::RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(secs));
        assert_eq!(backoff.delay(1, &flood(30)), Duration::from_secs(30));
        assert_eq!(backoff.delay(3, &flood(1)), Duration::from_secs(8));
        assert_eq!(backoff.delay(40, &flood(1)), Duration::from_secs(60), "no overflow");
    }
}
