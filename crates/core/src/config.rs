//! One [`Config`]: read from a TOML file (`cabinet.toml` by default, `--config` or
//! `CABINET_CONFIG` to choose another), then overridden by environment variables. A missing
//! or malformed setting stops start-up with a message that names it.
//!
//! Every variable is listed in `.env.example`.

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::Locale;

/// The default configuration file, read when present.
pub const DEFAULT_FILE: &str = "cabinet.toml";

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {message}")]
    Read { path: String, message: String },
    #[error("the configuration file {path} is malformed: {message}")]
    Parse { path: String, message: String },
    #[error("setting {name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("setting {name} is missing: {message}")]
    Missing { name: &'static str, message: String },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub telegram: TelegramConfig,
    pub database: DatabaseConfig,
    pub bot: BotConfig,
    pub adapters: AdaptersConfig,
    pub llm: LlmConfig,
    pub documents: DocumentsConfig,
    pub payments: PaymentsConfig,
    pub step_up: StepUpConfig,
    pub loyalty: LoyaltyConfig,
    pub booking: BookingConfig,
    pub support: SupportConfig,
    pub backends: BackendsConfig,
    pub business: BusinessConfig,
    /// The events API (`POST /api/v1/events`): how its senders are authenticated.
    pub events: crate::events::EventsConfig,
    /// `[notify]`: the notifications outbox.
    pub notify: crate::notify::NotifyConfig,
    /// `[miniapp]`: the Mini App's API (`/api/v1/app/`): how old init data may be.
    pub miniapp: crate::miniapp::MiniAppConfig,
    pub server: ServerConfig,
}

/// The HTTP server (`[server]`): `/healthz`, `/metrics` and, in webhook mode, the route
/// Telegram delivers updates to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// The address to listen on, e.g. `0.0.0.0:8080` (`CABINET_LISTEN`; `off` turns it off).
    /// Unset: no server (the Docker image sets `0.0.0.0:8080`). Webhook mode needs it.
    pub listen: Option<String>,
}

/// Business-wide facts (`[business]`), over what the `directory` backend says: each one set
/// here wins; with `backends.directory = "none"` the name, currency, time zone and working
/// hours must all be here. Holidays are `booking.holidays`, support hours `support.hours`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessConfig {
    /// The business's name as customers know it.
    pub name: Option<String>,
    /// ISO 4217 code of the money the business counts in ("KZT").
    pub currency: Option<String>,
    /// IANA time zone ("Asia/Almaty").
    pub time_zone: Option<String>,
    /// "ru" or "en": the language of customers who have not chosen one.
    pub default_locale: Option<String>,
    /// Opening hours per weekday (`mon = "10:00-20:00"`; a missing day is a day off).
    pub working_hours: Option<std::collections::BTreeMap<String, String>>,
    /// The number customers may call ("+7 727 355 00 00"): given where the bot says "call us".
    pub phone: Option<String>,
}

/// Which system serves each capability: `"builtin"` (the built-in adapter over cabinet's
/// database, filled by `cabinet import`), `"http"` (the business's own service implementing
/// `docs/backend-api.yaml`), a connector (`"bitrix24"`, `"yclients"`, `"cdek"`) where it
/// serves that capability, or `"none"` (the business has no such thing: its menus, help
/// lines, commands and intents disappear and the customer is told politely). Each is
/// overridden by `CABINET_BACKEND_<NAME>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendsConfig {
    /// The customers' records; always present.
    pub crm: String,
    /// Balance, top-ups, the plan and its options.
    pub billing: String,
    /// Orders and their delivery.
    pub logistics: String,
    /// Invoices, acts and statements.
    pub documents: String,
    /// Repeat orders and an offer's order.
    pub shop: String,
    /// Bonuses, personal offers and referrals.
    pub loyalty: String,
    /// Appointments.
    pub booking: String,
    /// Business-wide facts (name, currency, time zone, hours); `"none"`: `[business]` gives
    /// them all.
    pub directory: String,
    /// The business's own service implementing `docs/backend-api.yaml` (`[backends.http]`),
    /// for every capability set to `"http"`.
    pub http: Option<crate::adapters::http::HttpBackendConfig>,
    /// CDEK's account (`[backends.cdek]`), for `logistics = "cdek"`.
    pub cdek: Option<crate::adapters::cdek::CdekConfig>,
    /// The Bitrix24 portal (`[backends.bitrix24]`), for `crm`, `logistics` or `documents`.
    pub bitrix24: Option<crate::adapters::bitrix24::Bitrix24Config>,
    /// The YCLIENTS company (`[backends.yclients]`), for `booking = "yclients"`.
    pub yclients: Option<crate::adapters::yclients::YclientsConfig>,
}

impl Default for BackendsConfig {
    fn default() -> Self {
        let builtin = || BUILTIN_BACKEND.to_owned();
        Self {
            crm: builtin(),
            billing: builtin(),
            logistics: builtin(),
            documents: builtin(),
            shop: builtin(),
            loyalty: builtin(),
            booking: builtin(),
            directory: builtin(),
            http: None,
            cdek: None,
            bitrix24: None,
            yclients: None,
        }
    }
}

/// The built-in backend's name in `[backends]`.
pub const BUILTIN_BACKEND: &str = "builtin";
/// An absent capability's value in `[backends]`.
pub const NO_BACKEND: &str = "none";
/// The generic HTTP/JSON backend's name in `[backends]`.
pub const HTTP_BACKEND: &str = "http";

/// The backends that can serve each capability.
const KNOWN_BACKENDS: [(&str, &[&str]); 8] = [
    ("crm", &[BUILTIN_BACKEND, HTTP_BACKEND, "bitrix24"]),
    ("billing", &[BUILTIN_BACKEND, HTTP_BACKEND, NO_BACKEND]),
    ("logistics", &[BUILTIN_BACKEND, HTTP_BACKEND, "bitrix24", "cdek", NO_BACKEND]),
    ("documents", &[BUILTIN_BACKEND, HTTP_BACKEND, "bitrix24", NO_BACKEND]),
    ("shop", &[BUILTIN_BACKEND, HTTP_BACKEND, NO_BACKEND]),
    ("loyalty", &[BUILTIN_BACKEND, HTTP_BACKEND, NO_BACKEND]),
    ("booking", &[BUILTIN_BACKEND, HTTP_BACKEND, "yclients", NO_BACKEND]),
    ("directory", &[BUILTIN_BACKEND, HTTP_BACKEND, NO_BACKEND]),
];

impl BackendsConfig {
    /// Each setting's name, its environment variable and its value.
    fn settings(&mut self) -> [(&'static str, &'static str, &mut String); 8] {
        [
            ("backends.crm (CABINET_BACKEND_CRM)", "CABINET_BACKEND_CRM", &mut self.crm),
            ("backends.billing (CABINET_BACKEND_BILLING)", "CABINET_BACKEND_BILLING", &mut self.billing),
            ("backends.logistics (CABINET_BACKEND_LOGISTICS)", "CABINET_BACKEND_LOGISTICS", &mut self.logistics),
            ("backends.documents (CABINET_BACKEND_DOCUMENTS)", "CABINET_BACKEND_DOCUMENTS", &mut self.documents),
            ("backends.shop (CABINET_BACKEND_SHOP)", "CABINET_BACKEND_SHOP", &mut self.shop),
            ("backends.loyalty (CABINET_BACKEND_LOYALTY)", "CABINET_BACKEND_LOYALTY", &mut self.loyalty),
            ("backends.booking (CABINET_BACKEND_BOOKING)", "CABINET_BACKEND_BOOKING", &mut self.booking),
            ("backends.directory (CABINET_BACKEND_DIRECTORY)", "CABINET_BACKEND_DIRECTORY", &mut self.directory),
        ]
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut copy = self.clone();
        let tables = [
            ("http", self.http.is_some()),
            ("cdek", self.cdek.is_some()),
            ("bitrix24", self.bitrix24.is_some()),
            ("yclients", self.yclients.is_some()),
        ];
        for ((name, _, value), (_, known)) in copy.settings().into_iter().zip(KNOWN_BACKENDS) {
            if !known.contains(&value.as_str()) {
                return Err(ConfigError::Invalid {
                    name,
                    message: format!("{value:?} is not one of the known backends: {}", known.join(", ")),
                });
            }
            if let Some((table, _)) = tables.iter().find(|(table, present)| *table == value.as_str() && !present) {
                return Err(ConfigError::Missing {
                    name,
                    message: format!("{value:?} needs a [backends.{table}] table"),
                });
            }
        }
        Ok(())
    }

    /// The connectors' secrets from the environment, which wins over the file:
    /// `CABINET_HTTP_URL` and `CABINET_HTTP_SECRET`, `CABINET_BITRIX24_WEBHOOK_URL`,
    /// `CABINET_YCLIENTS_PARTNER_TOKEN` and `CABINET_YCLIENTS_USER_TOKEN`,
    /// `CABINET_CDEK_CLIENT_SECRET`. A URL makes its table if the file has none; a secret
    /// only completes a table the file has.
    fn secrets_from(&mut self, var: &dyn Fn(&str) -> Option<String>) {
        let secret = |name: &str| var(name).map(|v| SecretString::from(v.trim().to_owned()));
        if let Some(url) = var("CABINET_HTTP_URL") {
            let http = self.http.get_or_insert_with(|| crate::adapters::http::HttpBackendConfig::new(""));
            http.url = url.trim().to_owned();
        }
        if let (Some(http), Some(s)) = (self.http.as_mut(), secret("CABINET_HTTP_SECRET")) {
            http.secret = Some(s);
        }
        if let Some(s) = secret("CABINET_BITRIX24_WEBHOOK_URL") {
            self.bitrix24.get_or_insert_with(Default::default).webhook_url = Some(s);
        }
        if let Some(yclients) = self.yclients.as_mut() {
            if let Some(s) = secret("CABINET_YCLIENTS_PARTNER_TOKEN") {
                yclients.partner_token = s;
            }
            if let Some(s) = secret("CABINET_YCLIENTS_USER_TOKEN") {
                yclients.user_token = Some(s);
            }
        }
        if let (Some(cdek), Some(s)) = (self.cdek.as_mut(), secret("CABINET_CDEK_CLIENT_SECRET")) {
            cdek.client_secret = s;
        }
    }

    /// The capabilities, in the order of [`BackendsConfig::names`].
    pub const CAPABILITIES: [&'static str; 8] =
        ["crm", "billing", "logistics", "documents", "shop", "loyalty", "booking", "directory"];

    /// The backend of every capability.
    pub fn names(&self) -> [&str; 8] {
        [
            &self.crm,
            &self.billing,
            &self.logistics,
            &self.documents,
            &self.shop,
            &self.loyalty,
            &self.booking,
            &self.directory,
        ]
    }

    /// Sets the capability `name` ("booking", …) to `value`; `false` when there is no such
    /// capability.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let variable = format!("CABINET_BACKEND_{}", name.to_ascii_uppercase());
        match self.settings().into_iter().find(|(_, v, _)| *v == variable) {
            Some((_, _, setting)) => {
                *setting = value.to_owned();
                true
            }
            None => false,
        }
    }

    /// Whether the capability set to `value` is present.
    pub fn present(value: &str) -> bool {
        value != NO_BACKEND
    }
}

/// The staff side: cases in the staff supergroup (`telegram.staff_chat_id`, with topics).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupportConfig {
    /// Minutes an unanswered case waits before it is pinged again, per priority.
    pub sla_critical_minutes: u32,
    pub sla_high_minutes: u32,
    pub sla_normal_minutes: u32,
    /// Hours after the last message (the customer's or staff's) an open case is closed, with
    /// a note in its topic and a word to the customer; 0: never.
    pub idle_close_after_hours: u32,
    /// Who re-pings mention, e.g. "@support_team" (`CABINET_SUPPORT_MENTION`); none when empty.
    pub mention: String,
    /// Staff replies reach the customer signed with the staff member's first name (true) or
    /// anonymously as the business (false).
    pub signed: bool,
    /// Customer messages copied into the staff group per minute at most (Telegram allows about
    /// 20 a minute into one group); the rest wait and follow, none is lost. Every post of
    /// the bot into the group (cards, notes, alerts, answers to staff commands) counts.
    pub relay_per_minute: u32,
    /// One customer's copied messages per minute at most, inside `relay_per_minute`, so that
    /// one customer's flood does not hold back the others'.
    pub relay_per_customer_per_minute: u32,
    /// Telegram user ids of the staff (`CABINET_STAFF_USER_IDS`, comma-separated): only they
    /// act in the staff group. Empty: the group's administrators are the staff.
    pub staff_user_ids: Vec<i64>,
    /// Support hours "HH:MM-HH:MM" (`CABINET_SUPPORT_HOURS`); the business data's when unset.
    pub hours: Option<String>,
    /// The time zone the bot shows times in and keeps support hours by, an IANA name such as
    /// "Asia/Almaty" (`CABINET_TIME_ZONE`); the business data's when unset. (The built-in
    /// adapter's free times follow the business data's.)
    pub time_zone: Option<String>,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            sla_critical_minutes: 15,
            sla_high_minutes: 60,
            sla_normal_minutes: 240,
            idle_close_after_hours: 72,
            mention: String::new(),
            signed: true,
            relay_per_minute: 20,
            relay_per_customer_per_minute: 10,
            staff_user_ids: Vec::new(),
            hours: None,
            time_zone: None,
        }
    }
}

/// Appointments.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BookingConfig {
    /// An appointment can be cancelled or moved in the chat until this many minutes before
    /// it (`CABINET_BOOKING_CUTOFF_MINUTES`); later, the customer is offered a person.
    pub cancel_cutoff_minutes: u32,
    /// How many days ahead free times are offered.
    pub horizon_days: u32,
    /// Dates the business is closed (public holidays), "YYYY-MM-DD".
    pub holidays: Vec<chrono::NaiveDate>,
    /// Every this many minutes the booking system is asked for the appointments of the next
    /// day and the reminders it lacks are planned (appointments made outside the chat); the
    /// chat's own bookings get theirs at once (`CABINET_BOOKING_RECONCILE_MINUTES`).
    pub reconcile_minutes: u32,
}

impl Default for BookingConfig {
    fn default() -> Self {
        Self { cancel_cutoff_minutes: 120, horizon_days: 14, holidays: Vec::new(), reconcile_minutes: 60 }
    }
}

/// Documents the bot renders itself (when the business's system has no file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsConfig {
    /// The business's requisites printed under its name (registration number, bank account,
    /// address), one line each.
    pub requisites: Vec<String>,
}

/// Top-ups: a payment link from the billing, or a Telegram invoice.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// A Telegram Payments provider token (`CABINET_PAYMENT_PROVIDER_TOKEN`): top-ups become
    /// Telegram invoices. Unset: the billing's payment link.
    pub provider_token: Option<SecretString>,
    /// The built-in billing's payment link (`CABINET_PAYMENT_URL`): `{customer}`, `{amount}`,
    /// `{currency}` and `{reference}` are replaced.
    pub payment_url: String,
    /// The amounts offered as buttons, in whole currency units.
    pub amounts: Vec<u32>,
    /// The smallest and largest amount accepted, in whole currency units.
    pub min_amount: u32,
    pub max_amount: u32,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            provider_token: None,
            payment_url: "https://pay.example.com/checkout?account={customer}&amount={amount}&ref={reference}".into(),
            amounts: vec![1000, 2000, 5000],
            min_amount: 100,
            max_amount: 500_000,
        }
    }
}

/// Step-up verification: a one-time code sent to the customer's phone before a sensitive
/// change (tariff, pause, options).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepUpConfig {
    /// `off` (default), `log` (development: the code is written to the log) or `http`
    /// (`CABINET_STEP_UP_GATEWAY`).
    pub gateway: String,
    /// For `http`: the URL the code is POSTed to, with `{phone}`, `{code}` and `{locale}`
    /// replaced (`CABINET_STEP_UP_URL`).
    pub url: Option<String>,
    /// How long a code is valid, in seconds.
    pub code_ttl_seconds: u32,
    /// Wrong codes allowed before the changes are locked.
    pub max_attempts: u32,
    /// How long the lock lasts, in minutes.
    pub lock_minutes: u32,
    /// The least time between two codes sent to one customer, in seconds (0: no gap).
    pub resend_after_seconds: u32,
    /// Codes sent to one customer in any hour, at most.
    pub max_sends_per_hour: u32,
    /// The secret codes are hashed with (`CABINET_OTP_SECRET`), at least 16 characters. Unset:
    /// `bot.callback_secret`, else the bot token; each is used through its own derivation, so
    /// the key never equals the button-signing key.
    pub secret: Option<SecretString>,
}

impl Default for StepUpConfig {
    fn default() -> Self {
        Self {
            gateway: "off".into(),
            url: None,
            code_ttl_seconds: 300,
            max_attempts: 3,
            lock_minutes: 15,
            resend_after_seconds: 60,
            max_sends_per_hour: 5,
            secret: None,
        }
    }
}

/// The shortest `step_up.secret` accepted.
const MIN_SECRET_CHARS: usize = 16;

impl StepUpConfig {
    /// Whether codes are asked for.
    pub fn enabled(&self) -> bool {
        self.gateway != "off"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        match self.gateway.as_str() {
            "off" | "log" => {}
            "http" => {
                let Some(url) = &self.url else {
                    return Err(ConfigError::Missing {
                        name: "step_up.url (CABINET_STEP_UP_URL)",
                        message: "the http gateway needs the URL to send codes to".into(),
                    });
                };
                let parsed = url::Url::parse(url.trim()).map_err(|e| ConfigError::Invalid {
                    name: "step_up.url (CABINET_STEP_UP_URL)",
                    message: e.to_string(),
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || !url.contains("{code}") {
                    return Err(ConfigError::Invalid {
                        name: "step_up.url (CABINET_STEP_UP_URL)",
                        message: "expected an http(s) URL containing {code}".into(),
                    });
                }
            }
            other => {
                return Err(ConfigError::Invalid {
                    name: "step_up.gateway (CABINET_STEP_UP_GATEWAY)",
                    message: format!("{other:?} is not one of off, log, http"),
                });
            }
        }
        if !(30..=3600).contains(&self.code_ttl_seconds) {
            return Err(ConfigError::Invalid {
                name: "step_up.code_ttl_seconds",
                message: "expected 30..=3600 seconds".into(),
            });
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err(ConfigError::Invalid { name: "step_up.max_attempts", message: "expected 1..=10".into() });
        }
        if !(1..=1440).contains(&self.lock_minutes) {
            return Err(ConfigError::Invalid { name: "step_up.lock_minutes", message: "expected 1..=1440".into() });
        }
        if self.resend_after_seconds > 3600 {
            return Err(ConfigError::Invalid {
                name: "step_up.resend_after_seconds",
                message: "expected 0..=3600 seconds".into(),
            });
        }
        if !(1..=60).contains(&self.max_sends_per_hour) {
            return Err(ConfigError::Invalid { name: "step_up.max_sends_per_hour", message: "expected 1..=60".into() });
        }
        if let Some(secret) = &self.secret
            && secret.expose_secret().trim().chars().count() < MIN_SECRET_CHARS
        {
            return Err(ConfigError::Invalid {
                name: "step_up.secret (CABINET_OTP_SECRET)",
                message: format!("expected at least {MIN_SECRET_CHARS} characters"),
            });
        }
        Ok(())
    }
}

/// How calls to the business's systems are guarded (`adapters::guard`); their timeout is
/// `bot.adapter_timeout_ms`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptersConfig {
    /// Retries of a read that timed out or met an outage (writes are never retried).
    pub retries: u32,
    /// Failed calls in a row to one system that open its circuit breaker.
    pub breaker_failures: u32,
    /// How long an open breaker answers at once without asking the system, in seconds.
    pub breaker_cooldown_seconds: u32,
    /// How long lists that rarely change (tariffs, options, services, staff) are cached, in
    /// seconds (0: no cache).
    pub cache_seconds: u32,
}

impl Default for AdaptersConfig {
    fn default() -> Self {
        Self { retries: 2, breaker_failures: 5, breaker_cooldown_seconds: 30, cache_seconds: 60 }
    }
}

impl AdaptersConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.retries > 5 {
            return Err(ConfigError::Invalid { name: "adapters.retries", message: "expected 0..=5".into() });
        }
        if !(1..=100).contains(&self.breaker_failures) {
            return Err(ConfigError::Invalid { name: "adapters.breaker_failures", message: "expected 1..=100".into() });
        }
        if !(1..=3600).contains(&self.breaker_cooldown_seconds) {
            return Err(ConfigError::Invalid {
                name: "adapters.breaker_cooldown_seconds",
                message: "expected 1..=3600 seconds".into(),
            });
        }
        if self.cache_seconds > 3600 {
            return Err(ConfigError::Invalid {
                name: "adapters.cache_seconds",
                message: "expected 0..=3600 seconds".into(),
            });
        }
        Ok(())
    }
}

/// Bonuses, offers and referrals of the built-in adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoyaltyConfig {
    /// Bonus points a customer gets when someone they invited is identified.
    pub referral_points: i64,
    /// Personal offers: who bought `bought` at least `after_days` ago is offered `offer`.
    pub offers: Vec<OfferRuleConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRuleConfig {
    pub bought: String,
    pub offer: String,
    pub after_days: i64,
}

impl Default for LoyaltyConfig {
    fn default() -> Self {
        Self {
            referral_points: 500,
            offers: vec![OfferRuleConfig { bought: "COF-MACH".into(), offer: "COF-LAV-1KG".into(), after_days: 21 }],
        }
    }
}

impl PaymentsConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.min_amount == 0 || self.min_amount > self.max_amount {
            return Err(ConfigError::Invalid {
                name: "payments.min_amount / payments.max_amount",
                message: "expected 0 < min_amount <= max_amount".into(),
            });
        }
        if self.amounts.is_empty() || self.amounts.len() > 6 {
            return Err(ConfigError::Invalid { name: "payments.amounts", message: "expected 1 to 6 amounts".into() });
        }
        if let Some(bad) = self.amounts.iter().find(|a| !(self.min_amount..=self.max_amount).contains(a)) {
            return Err(ConfigError::Invalid {
                name: "payments.amounts",
                message: format!("{bad} is outside min_amount..=max_amount"),
            });
        }
        let url = self.payment_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) || !url.contains("{amount}") {
            return Err(ConfigError::Invalid {
                name: "payments.payment_url (CABINET_PAYMENT_URL)",
                message: "expected an http(s) URL template containing {amount}".into(),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot token (`TELOXIDE_TOKEN`). Needed by `run`, and by `demo` on real Telegram.
    pub token: Option<SecretString>,
    /// Another Bot API server (`TELOXIDE_API_URL`).
    pub api_url: Option<String>,
    /// Where staff are told about new leads (`CABINET_STAFF_CHAT_ID`), e.g. a supergroup id.
    pub staff_chat_id: Option<i64>,
    /// Webhook mode: the public HTTPS URL Telegram delivers updates to, e.g.
    /// `https://bot.example.com/telegram` (`CABINET_WEBHOOK_URL`); its path is the route on
    /// the server (`server.listen`). Unset: long polling.
    pub webhook_url: Option<String>,
    /// The secret token Telegram sends with each update (`CABINET_WEBHOOK_SECRET`), 1 to 256
    /// of `A-Z a-z 0-9 _ -`; random for each run when unset.
    pub webhook_secret: Option<SecretString>,
    /// How many deliveries Telegram makes at once, 1..=100 (`CABINET_WEBHOOK_MAX_CONNECTIONS`).
    pub webhook_max_connections: u8,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            token: None,
            api_url: None,
            staff_chat_id: None,
            webhook_url: None,
            webhook_secret: None,
            webhook_max_connections: 40,
        }
    }
}

impl TelegramConfig {
    fn validate(&self, server: &ServerConfig) -> Result<(), ConfigError> {
        let Some(url) = &self.webhook_url else { return Ok(()) };
        const NAME: &str = "telegram.webhook_url (CABINET_WEBHOOK_URL)";
        let parsed = url::Url::parse(url).map_err(|e| ConfigError::Invalid { name: NAME, message: e.to_string() })?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(ConfigError::Invalid { name: NAME, message: "expected https://HOST/PATH".into() });
        }
        if server.listen.is_none() {
            return Err(ConfigError::Missing {
                name: "server.listen (CABINET_LISTEN)",
                message: "webhook mode serves the webhook on the HTTP server, e.g. 0.0.0.0:8080".into(),
            });
        }
        if let Some(secret) = &self.webhook_secret {
            let s = secret.expose_secret();
            if s.is_empty() || s.len() > 256 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ConfigError::Invalid {
                    name: "telegram.webhook_secret (CABINET_WEBHOOK_SECRET)",
                    message: "expected 1 to 256 of A-Z a-z 0-9 _ -".into(),
                });
            }
        }
        if !(1..=100).contains(&self.webhook_max_connections) {
            return Err(ConfigError::Invalid {
                name: "telegram.webhook_max_connections (CABINET_WEBHOOK_MAX_CONNECTIONS)",
                message: "expected 1..=100".into(),
            });
        }
        Ok(())
    }
}

impl ServerConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(listen) = &self.listen {
            listen.parse::<std::net::SocketAddr>().map_err(|_| ConfigError::Invalid {
                name: "server.listen (CABINET_LISTEN)",
                message: format!("{listen:?} is not an address and port such as 0.0.0.0:8080"),
            })?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://cabinet.db` (default) or `postgres://…` (`DATABASE_URL`).
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { url: "sqlite://cabinet.db".into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// The version of the data-processing terms customers accept (`CABINET_TERMS_VERSION`).
    pub terms_version: String,
    /// Where the full terms are published (`CABINET_PRIVACY_URL`).
    pub privacy_url: String,
    /// How long an adapter call may take before the customer is told to try again
    /// (`CABINET_ADAPTER_TIMEOUT_MS`).
    pub adapter_timeout_ms: u64,
    /// The language for customers whose Telegram language is neither Russian nor English
    /// (`CABINET_DEFAULT_LOCALE`); the business's own default when unset.
    pub default_locale: Option<String>,
    /// Orders per page in the order history (`CABINET_ORDERS_PAGE_SIZE`).
    pub orders_page_size: u32,
    /// How many days a button whose payload is kept server-side (one too long for Telegram's
    /// 64 bytes of callback data) stays active (`CABINET_BUTTON_TTL_DAYS`).
    pub button_ttl_days: u32,
    /// Intent data files to use instead of the built-in ones (`CABINET_DIALOGUES_DIR`).
    pub dialogues_dir: Option<PathBuf>,
    /// Message files to use instead of the built-in ones (`CABINET_LOCALES_DIR`).
    pub locales_dir: Option<PathBuf>,
    /// The key that signs button data (`CABINET_CALLBACK_SECRET`); derived from the bot
    /// token when unset.
    pub callback_secret: Option<SecretString>,
    /// Whether the built-in data files' answers to questions about the business (the demo
    /// business's) are given when `dialogues_dir` is unset. Set by the demo and the
    /// transcripts only: another business writes its own `faq.toml`.
    #[serde(skip)]
    pub builtin_faq: bool,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            terms_version: "2025-01".into(),
            privacy_url: "https://example.com/privacy".into(),
            adapter_timeout_ms: 3000,
            default_locale: None,
            orders_page_size: 5,
            button_ttl_days: crate::bot::keyboards::DEFAULT_BUTTON_TTL_DAYS,
            dialogues_dir: None,
            locales_dir: None,
            callback_secret: None,
            builtin_faq: false,
        }
    }
}

/// The optional language-model fallback of the recogniser (an OpenAI-compatible
/// chat-completions service), asked only when the local recogniser is unsure. Off unless both
/// `url` and `model` are set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// The service's base URL, e.g. `https://api.example.com/v1` (`CABINET_LLM_URL`); requests
    /// go to `{url}/chat/completions`.
    pub url: Option<String>,
    /// The bearer token sent to the service (`CABINET_LLM_API_KEY`); none when unset.
    pub api_key: Option<SecretString>,
    /// The model name (`CABINET_LLM_MODEL`).
    pub model: Option<String>,
    /// How long one request may take (`CABINET_LLM_TIMEOUT_MS`), 100..=10000.
    pub timeout_ms: u64,
    /// Answers the service is less sure of than this are ignored
    /// (`CABINET_LLM_MIN_CONFIDENCE`), 0..=1.
    pub min_confidence: f32,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self { url: None, api_key: None, model: None, timeout_ms: 2000, min_confidence: 0.6 }
    }
}

impl LlmConfig {
    /// Whether the fallback is configured (both `url` and `model` set).
    pub fn enabled(&self) -> bool {
        self.url.is_some() && self.model.is_some()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            let parsed = url::Url::parse(url.trim())
                .map_err(|e| ConfigError::Invalid { name: "llm.url (CABINET_LLM_URL)", message: e.to_string() })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
                return Err(ConfigError::Invalid {
                    name: "llm.url (CABINET_LLM_URL)",
                    message: "expected an http:// or https:// base URL such as https://api.example.com/v1".into(),
                });
            }
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(ConfigError::Invalid {
                    name: "llm.url (CABINET_LLM_URL)",
                    message: "a base URL takes no query or fragment".into(),
                });
            }
            match &self.model {
                None => {
                    return Err(ConfigError::Missing {
                        name: "llm.model (CABINET_LLM_MODEL)",
                        message: "the model to ask is needed when llm.url is set".into(),
                    });
                }
                Some(model) if model.trim().is_empty() => {
                    return Err(ConfigError::Invalid {
                        name: "llm.model (CABINET_LLM_MODEL)",
                        message: "must not be empty".into(),
                    });
                }
                Some(_) => {}
            }
        } else if self.api_key.is_some() || self.model.is_some() {
            let what = if self.api_key.is_some() { "llm.api_key" } else { "llm.model" };
            return Err(ConfigError::Missing {
                name: "llm.url (CABINET_LLM_URL)",
                message: format!("{what} is set but the service's URL is not"),
            });
        }
        if !(100..=10_000).contains(&self.timeout_ms) {
            return Err(ConfigError::Invalid {
                name: "llm.timeout_ms (CABINET_LLM_TIMEOUT_MS)",
                message: "expected 100..=10000 milliseconds".into(),
            });
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(ConfigError::Invalid {
                name: "llm.min_confidence (CABINET_LLM_MIN_CONFIDENCE)",
                message: "expected a number from 0 to 1".into(),
            });
        }
        Ok(())
    }
}

impl Config {
    /// Reads `path` (or `cabinet.toml` when it exists), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with(path, |name| std::env::var(name).ok())
    }

    /// [`Config::load`] with the environment given as a function (for tests).
    pub fn load_with(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let explicit = path.map(Path::to_path_buf).or_else(|| env("CABINET_CONFIG").map(PathBuf::from));
        let mut config = match explicit {
            Some(path) => Self::from_file(&path)?,
            None if Path::new(DEFAULT_FILE).exists() => Self::from_file(Path::new(DEFAULT_FILE))?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    /// The config with `cabinet run`'s flags over it (`--listen`, `--webhook-url`), checked
    /// again.
    pub fn with_run_flags(
        mut self,
        listen: Option<String>,
        webhook_url: Option<String>,
    ) -> Result<Config, ConfigError> {
        if listen.is_some() {
            self.server.listen = listen;
        }
        if webhook_url.is_some() {
            self.telegram.webhook_url = webhook_url;
        }
        self.validate()?;
        Ok(self)
    }

    /// Parses a TOML configuration text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.display().to_string(), message: e.to_string() })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let non_empty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("TELOXIDE_TOKEN") {
            self.telegram.token = Some(SecretString::from(v.trim().to_owned()));
        }
        if let Some(v) = non_empty("CABINET_LISTEN") {
            let v = v.trim();
            self.server.listen = if v.eq_ignore_ascii_case("off") { None } else { Some(v.to_owned()) };
        }
        if let Some(v) = non_empty("CABINET_WEBHOOK_URL") {
            self.telegram.webhook_url = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("CABINET_WEBHOOK_SECRET") {
            self.telegram.webhook_secret = Some(SecretString::from(v.trim().to_owned()));
        }
        if let Some(v) = non_empty("CABINET_WEBHOOK_MAX_CONNECTIONS") {
            self.telegram.webhook_max_connections = parse_number("CABINET_WEBHOOK_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = non_empty("TELOXIDE_API_URL") {
            self.telegram.api_url = Some(v);
        }
        if let Some(v) = non_empty("CABINET_STAFF_CHAT_ID") {
            self.telegram.staff_chat_id = Some(parse_number("CABINET_STAFF_CHAT_ID", &v)?);
        }
        if let Some(v) = non_empty("DATABASE_URL") {
            self.database.url = v;
        }
        if let Some(v) = non_empty("CABINET_TERMS_VERSION") {
            self.bot.terms_version = v;
        }
        if let Some(v) = non_empty("CABINET_PRIVACY_URL") {
            self.bot.privacy_url = v;
        }
        if let Some(v) = non_empty("CABINET_ADAPTER_TIMEOUT_MS") {
            self.bot.adapter_timeout_ms = parse_number("CABINET_ADAPTER_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = non_empty("CABINET_DEFAULT_LOCALE") {
            self.bot.default_locale = Some(v);
        }
        if let Some(v) = non_empty("CABINET_ORDERS_PAGE_SIZE") {
            self.bot.orders_page_size = parse_number("CABINET_ORDERS_PAGE_SIZE", &v)?;
        }
        if let Some(v) = non_empty("CABINET_BUTTON_TTL_DAYS") {
            self.bot.button_ttl_days = parse_number("CABINET_BUTTON_TTL_DAYS", &v)?;
        }
        if let Some(v) = non_empty("CABINET_DIALOGUES_DIR") {
            self.bot.dialogues_dir = Some(v.into());
        }
        if let Some(v) = non_empty("CABINET_LOCALES_DIR") {
            self.bot.locales_dir = Some(v.into());
        }
        if let Some(v) = non_empty("CABINET_CALLBACK_SECRET") {
            self.bot.callback_secret = Some(SecretString::from(v));
        }
        if let Some(v) = non_empty("CABINET_PAYMENT_PROVIDER_TOKEN") {
            self.payments.provider_token = Some(SecretString::from(v.trim().to_owned()));
        }
        if let Some(v) = non_empty("CABINET_PAYMENT_URL") {
            self.payments.payment_url = v.trim().to_owned();
        }
        if let Some(v) = non_empty("CABINET_STEP_UP_GATEWAY") {
            self.step_up.gateway = v.trim().to_owned();
        }
        if let Some(v) = non_empty("CABINET_STEP_UP_URL") {
            self.step_up.url = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("CABINET_OTP_SECRET") {
            self.step_up.secret = Some(SecretString::from(v));
        }
        if let Some(v) = non_empty("CABINET_SUPPORT_HOURS") {
            self.support.hours = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("CABINET_TIME_ZONE") {
            self.support.time_zone = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("CABINET_SUPPORT_MENTION") {
            self.support.mention = v.trim().to_owned();
        }
        if let Some(v) = non_empty("CABINET_STAFF_USER_IDS") {
            self.support.staff_user_ids = v
                .split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| parse_number::<i64>("CABINET_STAFF_USER_IDS", id))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = non_empty("CABINET_BOOKING_CUTOFF_MINUTES") {
            self.booking.cancel_cutoff_minutes = parse_number("CABINET_BOOKING_CUTOFF_MINUTES", &v)?;
        }
        if let Some(v) = non_empty("CABINET_BOOKING_RECONCILE_MINUTES") {
            self.booking.reconcile_minutes = parse_number("CABINET_BOOKING_RECONCILE_MINUTES", &v)?;
        }
        if let Some(v) = non_empty("CABINET_LLM_URL") {
            self.llm.url = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("CABINET_LLM_API_KEY") {
            self.llm.api_key = Some(SecretString::from(v.trim().to_owned()));
        }
        if let Some(v) = non_empty("CABINET_LLM_MODEL") {
            self.llm.model = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("CABINET_LLM_TIMEOUT_MS") {
            self.llm.timeout_ms = parse_number("CABINET_LLM_TIMEOUT_MS", &v)?;
        }
        if let Some(v) = non_empty("CABINET_LLM_MIN_CONFIDENCE") {
            self.llm.min_confidence = parse_number("CABINET_LLM_MIN_CONFIDENCE", &v)?;
        }
        for (_, variable, value) in self.backends.settings() {
            if let Some(v) = non_empty(variable) {
                *value = v.trim().to_ascii_lowercase();
            }
        }
        self.backends.secrets_from(&non_empty);
        if let Some(v) = non_empty("CABINET_EVENTS_SECRET") {
            self.events.secret = Some(SecretString::from(v.trim().to_owned()));
        }
        if let Some(v) = non_empty("CABINET_EVENTS_TOKEN") {
            self.events.token = Some(SecretString::from(v.trim().to_owned()));
        }
        self.notify.apply_env(&env)?;
        if let Some(v) = non_empty("CABINET_MINIAPP_MAX_AGE_SECONDS") {
            self.miniapp.max_age_seconds = parse_number("CABINET_MINIAPP_MAX_AGE_SECONDS", &v)?;
        }
        if let Some(v) = non_empty("CABINET_MINIAPP_URL") {
            self.miniapp.url = Some(v.trim().to_owned());
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.notify.validate()?;
        let url = self.database.url.as_str();
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid {
                name: "database.url (DATABASE_URL)",
                message: "expected sqlite://FILE or postgres://…".into(),
            });
        }
        if let Some(api) = &self.telegram.api_url {
            url::Url::parse(api).map_err(|e| ConfigError::Invalid {
                name: "telegram.api_url (TELOXIDE_API_URL)",
                message: e.to_string(),
            })?;
        }
        if let Some(locale) = &self.bot.default_locale
            && Locale::parse(locale).is_none()
        {
            return Err(ConfigError::Invalid {
                name: "bot.default_locale (CABINET_DEFAULT_LOCALE)",
                message: format!("{locale:?} is not one of ru, en"),
            });
        }
        if !(100..=60_000).contains(&self.bot.adapter_timeout_ms) {
            return Err(ConfigError::Invalid {
                name: "bot.adapter_timeout_ms (CABINET_ADAPTER_TIMEOUT_MS)",
                message: "expected 100..=60000 milliseconds".into(),
            });
        }
        if !(1..=20).contains(&self.bot.orders_page_size) {
            return Err(ConfigError::Invalid {
                name: "bot.orders_page_size (CABINET_ORDERS_PAGE_SIZE)",
                message: "expected 1..=20".into(),
            });
        }
        if !(1..=365).contains(&self.bot.button_ttl_days) {
            return Err(ConfigError::Invalid {
                name: "bot.button_ttl_days (CABINET_BUTTON_TTL_DAYS)",
                message: "expected 1..=365 days".into(),
            });
        }
        if self.bot.terms_version.trim().is_empty() {
            return Err(ConfigError::Invalid {
                name: "bot.terms_version (CABINET_TERMS_VERSION)",
                message: "must not be empty".into(),
            });
        }
        if self.loyalty.referral_points < 0 {
            return Err(ConfigError::Invalid {
                name: "loyalty.referral_points",
                message: "must not be negative".into(),
            });
        }
        for (name, minutes) in [
            ("support.sla_critical_minutes", self.support.sla_critical_minutes),
            ("support.sla_high_minutes", self.support.sla_high_minutes),
            ("support.sla_normal_minutes", self.support.sla_normal_minutes),
        ] {
            if !(1..=7 * 24 * 60).contains(&minutes) {
                return Err(ConfigError::Invalid { name, message: "expected 1..=10080 minutes".into() });
            }
        }
        if self.support.idle_close_after_hours > 24 * 365 {
            return Err(ConfigError::Invalid {
                name: "support.idle_close_after_hours",
                message: "expected 0 (never) or up to 8760 hours".into(),
            });
        }
        if let Some(hours) = &self.support.hours {
            let valid = hours.split_once('-').is_some_and(|(a, b)| {
                let t = |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
                matches!((t(a), t(b)), (Some(a), Some(b)) if a < b)
            });
            if !valid {
                return Err(ConfigError::Invalid {
                    name: "support.hours (CABINET_SUPPORT_HOURS)",
                    message: format!("{hours:?} is not HH:MM-HH:MM"),
                });
            }
        }
        if let Some(tz) = &self.support.time_zone
            && tz.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(ConfigError::Invalid {
                name: "support.time_zone (CABINET_TIME_ZONE)",
                message: format!("{tz:?} is not an IANA time zone such as Asia/Almaty"),
            });
        }
        if !(1..=30).contains(&self.support.relay_per_minute) {
            return Err(ConfigError::Invalid { name: "support.relay_per_minute", message: "expected 1..=30".into() });
        }
        if !(1..=self.support.relay_per_minute).contains(&self.support.relay_per_customer_per_minute) {
            return Err(ConfigError::Invalid {
                name: "support.relay_per_customer_per_minute",
                message: "expected 1..=relay_per_minute".into(),
            });
        }
        if self.support.staff_user_ids.iter().any(|id| *id <= 0) {
            return Err(ConfigError::Invalid {
                name: "support.staff_user_ids",
                message: "expected Telegram user ids (positive)".into(),
            });
        }
        if !(1..=90).contains(&self.booking.horizon_days) {
            return Err(ConfigError::Invalid { name: "booking.horizon_days", message: "expected 1..=90".into() });
        }
        if self.booking.cancel_cutoff_minutes > 7 * 24 * 60 {
            return Err(ConfigError::Invalid {
                name: "booking.cancel_cutoff_minutes (CABINET_BOOKING_CUTOFF_MINUTES)",
                message: "expected at most a week (10080 minutes)".into(),
            });
        }
        self.adapters.validate()?;
        if !(1..=24 * 60).contains(&self.booking.reconcile_minutes) {
            return Err(ConfigError::Invalid {
                name: "booking.reconcile_minutes (CABINET_BOOKING_RECONCILE_MINUTES)",
                message: "expected 1..=1440 (at least once a day)".into(),
            });
        }
        self.payments.validate()?;
        self.step_up.validate()?;
        self.backends.validate()?;
        self.validate_events()?;
        self.miniapp.validate()?;
        self.server.validate()?;
        self.telegram.validate(&self.server)?;
        self.llm.validate()
    }

    fn validate_events(&self) -> Result<(), ConfigError> {
        let short = |s: &Option<SecretString>| s.as_ref().is_some_and(|s| s.expose_secret().len() < 16);
        if short(&self.events.secret) || short(&self.events.token) {
            return Err(ConfigError::Invalid {
                name: "events.secret / events.token (CABINET_EVENTS_SECRET, CABINET_EVENTS_TOKEN)",
                message: "expected 16 characters or more".into(),
            });
        }
        if self.events.max_body_bytes.is_some_and(|n| !(1024..=10 * 1024 * 1024).contains(&n)) {
            return Err(ConfigError::Invalid {
                name: "events.max_body_bytes",
                message: "expected 1 KiB to 10 MiB".into(),
            });
        }
        Ok(())
    }

    /// The secret one-time codes are hashed with: `step_up.secret`, else the button-signing
    /// secret, else the bot token `token` (the key is derived from it with a label of its own).
    pub fn otp_secret<'a>(&'a self, token: &'a str) -> &'a [u8] {
        match (&self.step_up.secret, &self.bot.callback_secret) {
            (Some(secret), _) | (None, Some(secret)) => secret.expose_secret().as_bytes(),
            (None, None) => token.as_bytes(),
        }
    }

    /// The bot token, or an error naming the setting.
    pub fn require_token(&self) -> Result<SecretString, ConfigError> {
        self.telegram.token.clone().ok_or(ConfigError::Missing {
            name: "telegram.token (TELOXIDE_TOKEN)",
            message: "the bot token from @BotFather is needed to run on Telegram".into(),
        })
    }
}

fn parse_number<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::Invalid { name, message: format!("{value:?} is not a number") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn every_capability_is_built_in_by_default_and_may_be_absent_except_the_crm() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!(config.backends.booking, "builtin");
        assert_eq!(config.backends.crm, "builtin");
        let config = Config::from_toml("[backends]\nbooking = \"none\"\nshop = \"none\"\n", "t.toml").unwrap();
        assert!(config.validate().is_ok());
        assert!(!BackendsConfig::present(&config.backends.booking));
        assert!(BackendsConfig::present(&config.backends.billing));

        let config = Config::load_with(None, env_of(&[("CABINET_BACKEND_LOGISTICS", " None ")])).unwrap();
        assert_eq!(config.backends.logistics, "none");

        let error = Config::load_with(None, env_of(&[("CABINET_BACKEND_CRM", "none")])).unwrap_err().to_string();
        assert!(error.contains("backends.crm (CABINET_BACKEND_CRM)") && error.contains("builtin"), "{error}");
        let error =
            Config::from_toml("[backends]\nbilling = \"yclients\"\n", "t.toml").unwrap().validate().unwrap_err();
        let error = error.to_string();
        assert!(error.contains("backends.billing") && error.contains("builtin, http, none"), "{error}");
        let error = Config::load_with(None, env_of(&[("CABINET_BACKEND_DIRECTORY", "cdek")])).unwrap_err().to_string();
        assert!(error.contains("backends.directory (CABINET_BACKEND_DIRECTORY)"), "{error}");
    }

    #[test]
    fn connector_secrets_come_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[backends]\ncrm = \"http\"\nbooking = \"yclients\"\n[backends.yclients]\ncompany_id = 1\npartner_token = \"file\"\n",
        )
        .unwrap();
        let env = env_of(&[
            ("CABINET_HTTP_URL", "https://erp.example.com/cabinet"),
            ("CABINET_HTTP_SECRET", "from-env"),
            ("CABINET_YCLIENTS_PARTNER_TOKEN", "partner-env"),
        ]);
        let config = Config::load_with(Some(&path), env).unwrap();
        let http = config.backends.http.unwrap();
        assert_eq!(http.url, "https://erp.example.com/cabinet");
        assert_eq!(http.secret.unwrap().expose_secret(), "from-env");
        assert_eq!(config.backends.yclients.unwrap().partner_token.expose_secret(), "partner-env");
        let error = Config::load_with(None, env_of(&[("CABINET_BACKEND_BILLING", "http")])).unwrap_err();
        assert!(error.to_string().contains("[backends.http]"), "{error}");
    }

    #[test]
    fn a_connector_needs_its_table() {
        for (capability, backend) in [("crm", "bitrix24"), ("booking", "yclients"), ("logistics", "cdek")] {
            let toml = format!("[backends]\n{capability} = \"{backend}\"\n");
            let error = Config::from_toml(&toml, "t.toml").unwrap().validate().unwrap_err().to_string();
            assert!(error.contains(&format!("[backends.{backend}]")), "{error}");
        }
        let toml = "[backends]\nbooking = \"yclients\"\n[backends.yclients]\ncompany_id = 1\npartner_token = \"p\"\n";
        Config::from_toml(toml, "t.toml").unwrap().validate().unwrap();
        let error = Config::from_toml("[backends]\nbilling = \"bitrix24\"\n[backends.bitrix24]\n", "t.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(error.contains("backends.billing") && error.contains("builtin, http, none"), "{error}");
    }

    #[test]
    fn business_facts_may_come_from_the_config() {
        let config = Config::from_toml(
            "[backends]\ndirectory = \"none\"\n[business]\nname = \"Salon\"\ncurrency = \"RUB\"\n\
             time_zone = \"Europe/Moscow\"\n[business.working_hours]\n\"mon-fri\" = \"10:00-20:00\"\n",
            "t.toml",
        )
        .unwrap();
        config.validate().unwrap();
        assert_eq!(config.business.name.as_deref(), Some("Salon"));
        assert_eq!(config.business.working_hours.unwrap().get("mon-fri").map(String::as_str), Some("10:00-20:00"));
        assert!(Config::from_toml("[business]\ncolour = \"red\"\n", "t.toml").is_err());
    }

    #[test]
    fn defaults_need_no_file_and_no_environment() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!(config.database.url, "sqlite://cabinet.db");
        assert!(config.telegram.token.is_none());
        assert_eq!(config.bot.orders_page_size, 5);
    }

    #[test]
    fn buttons_kept_server_side_live_30_days_unless_configured() {
        assert_eq!(Config::load_with(None, env_of(&[])).unwrap().bot.button_ttl_days, 30);
        let config = Config::load_with(None, env_of(&[("CABINET_BUTTON_TTL_DAYS", "7")])).unwrap();
        assert_eq!(config.bot.button_ttl_days, 7);
        let err = Config::load_with(None, env_of(&[("CABINET_BUTTON_TTL_DAYS", "0")])).unwrap_err();
        assert!(err.to_string().contains("button_ttl_days"), "{err}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[database]\nurl = \"sqlite://a.db\"\n[bot]\nadapter_timeout_ms = 500\n").unwrap();
        let config = Config::load_with(
            Some(&path),
            env_of(&[("DATABASE_URL", "postgres://x@localhost/db"), ("TELOXIDE_TOKEN", "1:abc")]),
        )
        .unwrap();
        assert_eq!(config.database.url, "postgres://x@localhost/db");
        assert_eq!(config.bot.adapter_timeout_ms, 500);
        assert_eq!(config.telegram.token.unwrap().expose_secret(), "1:abc");
    }

    #[test]
    fn a_malformed_file_is_reported_with_its_path() {
        let err = Config::from_toml("[bot]\nadapter_timeout_ms = \"soon\"\n", "cabinet.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cabinet.toml") && text.contains("adapter_timeout_ms"), "{text}");
    }

    #[test]
    fn an_unknown_setting_is_rejected() {
        let err = Config::from_toml("[bot]\ntimeout = 3\n", "cabinet.toml").unwrap_err();
        assert!(err.to_string().contains("timeout"), "{err}");
    }

    #[test]
    fn a_bad_environment_value_names_the_variable() {
        let err = Config::load_with(None, env_of(&[("CABINET_ADAPTER_TIMEOUT_MS", "fast")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_ADAPTER_TIMEOUT_MS"), "{err}");
        let err = Config::load_with(None, env_of(&[("DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }

    #[test]
    fn the_mini_apps_init_data_age_comes_from_the_file_or_the_environment_within_bounds() {
        assert_eq!(Config::load_with(None, env_of(&[])).unwrap().miniapp.max_age_seconds, 86_400);
        let config = Config::from_toml("[miniapp]\nmax_age_seconds = 3600\n", "t.toml").unwrap();
        assert_eq!(config.miniapp.max_age_seconds, 3600);
        let config = Config::load_with(None, env_of(&[("CABINET_MINIAPP_MAX_AGE_SECONDS", " 600 ")])).unwrap();
        assert_eq!(config.miniapp.max_age_seconds, 600);
        for bad in ["0", "59", "604801", "a day"] {
            let err = Config::load_with(None, env_of(&[("CABINET_MINIAPP_MAX_AGE_SECONDS", bad)])).unwrap_err();
            assert!(err.to_string().contains("CABINET_MINIAPP_MAX_AGE_SECONDS"), "{bad}: {err}");
        }
        assert!(Config::from_toml("[miniapp]\nmax_age = 1\n", "t.toml").is_err(), "unknown keys are refused");
    }

    #[test]
    fn the_mini_apps_url_is_https_only() {
        assert_eq!(Config::load_with(None, env_of(&[])).unwrap().miniapp.url, None);
        let config = Config::from_toml("[miniapp]\nurl = \"https://cabinet.example.com/app/\"\n", "t.toml").unwrap();
        assert_eq!(config.miniapp.url.as_deref(), Some("https://cabinet.example.com/app/"));
        let env = env_of(&[("CABINET_MINIAPP_URL", " https://c.example.org/app/ ")]);
        assert_eq!(Config::load_with(None, env).unwrap().miniapp.url.as_deref(), Some("https://c.example.org/app/"));
        for bad in ["http://cabinet.example.com/app/", "cabinet.example.com/app/", "javascript:alert(1)", "https://"] {
            let err = Config::load_with(None, env_of(&[("CABINET_MINIAPP_URL", bad)])).unwrap_err();
            assert!(err.to_string().contains("CABINET_MINIAPP_URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_missing_file_named_explicitly_is_an_error() {
        let err = Config::load_with(Some(Path::new("/nonexistent/cabinet.toml")), env_of(&[])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/cabinet.toml"), "{err}");
    }

    #[test]
    fn running_on_telegram_without_a_token_names_the_setting() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert!(config.require_token().unwrap_err().to_string().contains("TELOXIDE_TOKEN"));
    }

    #[test]
    fn the_example_file_parses_and_holds_the_defaults() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../cabinet.toml.example")).unwrap();
        let config = Config::from_toml(&text, "cabinet.toml.example").unwrap();
        config.validate().unwrap();
        assert_eq!(config.payments.amounts, PaymentsConfig::default().amounts);
        assert_eq!(config.loyalty.offers, LoyaltyConfig::default().offers);
        assert_eq!(config.booking.reconcile_minutes, BookingConfig::default().reconcile_minutes);
        assert!(!config.step_up.enabled());
    }

    #[test]
    fn the_server_is_off_unless_listen_is_set_and_a_webhook_needs_it() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!((config.server.listen.as_deref(), config.telegram.webhook_url.as_deref()), (None, None));
        assert_eq!(config.telegram.webhook_max_connections, 40);
        let config = Config::load_with(None, env_of(&[("CABINET_LISTEN", "0.0.0.0:8080")])).unwrap();
        assert_eq!(config.server.listen.as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(Config::load_with(None, env_of(&[("CABINET_LISTEN", "off")])).unwrap().server.listen, None);
        let err = Config::load_with(None, env_of(&[("CABINET_LISTEN", "8080")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_LISTEN"), "{err}");

        let hook = ("CABINET_WEBHOOK_URL", "https://bot.example.com/telegram");
        let err = Config::load_with(None, env_of(&[hook])).unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
        let listen = ("CABINET_LISTEN", "127.0.0.1:8080");
        let config = Config::load_with(None, env_of(&[hook, listen, ("CABINET_WEBHOOK_SECRET", "s3cret_-X")])).unwrap();
        assert_eq!(config.telegram.webhook_url.as_deref(), Some(hook.1));
        assert_eq!(
            config.telegram.webhook_secret.as_ref().map(|s| s.expose_secret().to_owned()),
            Some("s3cret_-X".into())
        );
        let err =
            Config::load_with(None, env_of(&[hook, listen, ("CABINET_WEBHOOK_SECRET", "no spaces")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_WEBHOOK_SECRET"), "{err}");
        let err =
            Config::load_with(None, env_of(&[hook, listen, ("CABINET_WEBHOOK_MAX_CONNECTIONS", "0")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_WEBHOOK_MAX_CONNECTIONS"), "{err}");
        let err = Config::load_with(None, env_of(&[("CABINET_WEBHOOK_URL", "bot.example.com"), listen])).unwrap_err();
        assert!(err.to_string().contains("CABINET_WEBHOOK_URL"), "{err}");
        // `cabinet run --webhook-url` is checked the same way.
        let err = Config::load_with(None, env_of(&[])).unwrap().with_run_flags(None, Some(hook.1.into())).unwrap_err();
        assert!(err.to_string().contains("server.listen"), "{err}");
    }

    #[test]
    fn step_up_over_http_needs_a_url_with_the_code() {
        let err = Config::load_with(None, env_of(&[("CABINET_STEP_UP_GATEWAY", "http")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_STEP_UP_URL"), "{err}");
        let env = [("CABINET_STEP_UP_GATEWAY", "http"), ("CABINET_STEP_UP_URL", "https://sms.example.com/send")];
        assert!(Config::load_with(None, env_of(&env)).is_err());
        let env = [("CABINET_STEP_UP_GATEWAY", "http"), ("CABINET_STEP_UP_URL", "https://sms.example.com/?c={code}")];
        assert!(Config::load_with(None, env_of(&env)).unwrap().step_up.enabled());
        let err = Config::load_with(None, env_of(&[("CABINET_STEP_UP_GATEWAY", "sms")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_STEP_UP_GATEWAY"), "{err}");
    }

    #[test]
    fn staff_are_listed_by_id_and_the_customer_quota_lies_within_the_group_rate() {
        let config = Config::load_with(None, env_of(&[("CABINET_STAFF_USER_IDS", " 9001, 9002 ,")])).unwrap();
        assert_eq!(config.support.staff_user_ids, [9001, 9002]);
        assert!(
            Config::load_with(None, env_of(&[])).unwrap().support.staff_user_ids.is_empty(),
            "the admins by default"
        );
        let err = Config::load_with(None, env_of(&[("CABINET_STAFF_USER_IDS", "9001,anna")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_STAFF_USER_IDS"), "{err}");
        let err = Config::from_toml("[support]\nstaff_user_ids = [-100]\n", "c").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("support.staff_user_ids"), "{err}");
        let toml = "[support]\nrelay_per_minute = 5\nrelay_per_customer_per_minute = 6\n";
        let err = Config::from_toml(toml, "c").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("relay_per_customer_per_minute"), "{err}");
    }

    #[test]
    fn the_adapter_guard_has_defaults_and_its_limits_are_checked() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        let a = &config.adapters;
        assert_eq!((a.retries, a.breaker_failures, a.breaker_cooldown_seconds, a.cache_seconds), (2, 5, 30, 60));
        let text = "[adapters]\nretries = 0\nbreaker_failures = 1\nbreaker_cooldown_seconds = 5\ncache_seconds = 0\n";
        Config::from_toml(text, "c").unwrap().validate().unwrap();
        for (text, name) in [
            ("[adapters]\nretries = 6\n", "adapters.retries"),
            ("[adapters]\nbreaker_failures = 0\n", "adapters.breaker_failures"),
            ("[adapters]\nbreaker_cooldown_seconds = 0\n", "adapters.breaker_cooldown_seconds"),
            ("[adapters]\ncache_seconds = 3601\n", "adapters.cache_seconds"),
        ] {
            let err = Config::from_toml(text, "c").unwrap().validate().unwrap_err();
            assert!(err.to_string().contains(name), "{text}: {err}");
        }
    }

    #[test]
    fn code_sends_are_throttled_by_default_and_the_limits_are_checked() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!((config.step_up.resend_after_seconds, config.step_up.max_sends_per_hour), (60, 5));
        let config = Config::from_toml("[step_up]\nresend_after_seconds = 0\nmax_sends_per_hour = 10\n", "c").unwrap();
        config.validate().unwrap();
        for (text, name) in [
            ("[step_up]\nresend_after_seconds = 3601\n", "step_up.resend_after_seconds"),
            ("[step_up]\nmax_sends_per_hour = 0\n", "step_up.max_sends_per_hour"),
            ("[step_up]\nmax_sends_per_hour = 61\n", "step_up.max_sends_per_hour"),
        ] {
            let err = Config::from_toml(text, "c").unwrap().validate().unwrap_err();
            assert!(err.to_string().contains(name), "{text}: {err}");
        }
    }

    #[test]
    fn the_code_secret_is_its_own_else_the_button_secret_else_the_token() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!(config.otp_secret("1:token"), b"1:token");
        let config = Config::load_with(None, env_of(&[("CABINET_CALLBACK_SECRET", "buttons-secret")])).unwrap();
        assert_eq!(config.otp_secret("1:token"), b"buttons-secret");
        let env = [("CABINET_CALLBACK_SECRET", "buttons-secret"), ("CABINET_OTP_SECRET", "codes-secret-0123456789")];
        let config = Config::load_with(None, env_of(&env)).unwrap();
        assert_eq!(config.otp_secret("1:token"), b"codes-secret-0123456789");
        let err = Config::load_with(None, env_of(&[("CABINET_OTP_SECRET", "short")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CABINET_OTP_SECRET") && !text.contains("short\""), "{text}");
        let err = Config::from_toml("[step_up]\nsecret = \"  \"\n", "c").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("step_up.secret"), "{err}");
    }

    #[test]
    fn top_up_amounts_must_lie_within_the_limits() {
        let err = Config::from_toml("[payments]\namounts = [50]\n", "c").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("payments.amounts"), "{err}");
        let err = Config::from_toml("[payments]\nmin_amount = 0\n", "c").unwrap().validate().unwrap_err();
        assert!(err.to_string().contains("min_amount"), "{err}");
        let err = Config::load_with(None, env_of(&[("CABINET_PAYMENT_URL", "ftp://x/{amount}")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_PAYMENT_URL"), "{err}");
    }

    #[test]
    fn support_hours_and_the_time_zone_are_checked() {
        let env = [("CABINET_SUPPORT_HOURS", "08:00-20:00"), ("CABINET_TIME_ZONE", "Europe/Moscow")];
        let config = Config::load_with(None, env_of(&env)).unwrap();
        assert_eq!(config.support.hours.as_deref(), Some("08:00-20:00"));
        for (name, value) in [
            ("CABINET_SUPPORT_HOURS", "20:00-08:00"),
            ("CABINET_SUPPORT_HOURS", "allday"),
            ("CABINET_TIME_ZONE", "Mars/Olympus"),
        ] {
            let err = Config::load_with(None, env_of(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn reminders_are_reconciled_hourly_by_default_and_at_least_daily() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert_eq!(config.booking.reconcile_minutes, 60);
        let config = Config::load_with(None, env_of(&[("CABINET_BOOKING_RECONCILE_MINUTES", "15")])).unwrap();
        assert_eq!(config.booking.reconcile_minutes, 15);
        for value in ["0", "1441", "hourly"] {
            let err = Config::load_with(None, env_of(&[("CABINET_BOOKING_RECONCILE_MINUTES", value)])).unwrap_err();
            assert!(err.to_string().contains("CABINET_BOOKING_RECONCILE_MINUTES"), "{err}");
        }
    }

    #[test]
    fn the_llm_fallback_is_off_by_default() {
        let config = Config::load_with(None, env_of(&[])).unwrap();
        assert!(!config.llm.enabled());
        assert_eq!(config.llm.timeout_ms, 2000);
        assert!((config.llm.min_confidence - 0.6).abs() < f32::EPSILON);
        assert!(!Config::default().llm.enabled());
    }

    #[test]
    fn the_llm_fallback_is_read_from_the_file_and_the_environment() {
        let config = Config::from_toml(
            "[llm]\nurl = \"https://api.example.com/v1\"\nmodel = \"small\"\ntimeout_ms = 1500\nmin_confidence = 0.7\n",
            "cabinet.toml",
        )
        .unwrap();
        config.validate().unwrap();
        assert!(config.llm.enabled());
        assert_eq!(config.llm.timeout_ms, 1500);

        let config = Config::load_with(
            None,
            env_of(&[
                ("CABINET_LLM_URL", "http://127.0.0.1:8080/v1"),
                ("CABINET_LLM_API_KEY", " sk-test "),
                ("CABINET_LLM_MODEL", "tiny"),
                ("CABINET_LLM_TIMEOUT_MS", "800"),
                ("CABINET_LLM_MIN_CONFIDENCE", "0.5"),
            ]),
        )
        .unwrap();
        assert!(config.llm.enabled());
        assert_eq!(config.llm.url.as_deref(), Some("http://127.0.0.1:8080/v1"));
        assert_eq!(config.llm.model.as_deref(), Some("tiny"));
        assert_eq!(config.llm.api_key.as_ref().unwrap().expose_secret(), "sk-test");
        assert_eq!(config.llm.timeout_ms, 800);
        assert!((config.llm.min_confidence - 0.5).abs() < f32::EPSILON);
    }

    #[test]
    fn an_llm_url_without_a_model_names_the_model_setting() {
        let err = Config::load_with(None, env_of(&[("CABINET_LLM_URL", "https://api.example.com/v1")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_LLM_MODEL"), "{err}");
    }

    #[test]
    fn an_llm_key_or_model_without_a_url_names_the_url_setting() {
        let err = Config::load_with(None, env_of(&[("CABINET_LLM_API_KEY", "sk-test")])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CABINET_LLM_URL") && !text.contains("sk-test"), "{text}");
        let err = Config::load_with(None, env_of(&[("CABINET_LLM_MODEL", "tiny")])).unwrap_err();
        assert!(err.to_string().contains("CABINET_LLM_URL"), "{err}");
    }

    #[test]
    fn a_malformed_llm_url_names_the_setting() {
        for url in ["api.example.com/v1", "ftp://api.example.com/v1", "https://api.example.com/v1?x=1"] {
            let err = Config::load_with(None, env_of(&[("CABINET_LLM_URL", url), ("CABINET_LLM_MODEL", "tiny")]))
                .unwrap_err();
            assert!(err.to_string().contains("CABINET_LLM_URL"), "{url}: {err}");
        }
    }

    #[test]
    fn llm_limits_are_checked() {
        let base = [("CABINET_LLM_URL", "https://api.example.com/v1"), ("CABINET_LLM_MODEL", "tiny")];
        for (name, value) in [
            ("CABINET_LLM_TIMEOUT_MS", "50"),
            ("CABINET_LLM_TIMEOUT_MS", "20000"),
            ("CABINET_LLM_TIMEOUT_MS", "soon"),
            ("CABINET_LLM_MIN_CONFIDENCE", "1.5"),
            ("CABINET_LLM_MIN_CONFIDENCE", "-0.1"),
            ("CABINET_LLM_MIN_CONFIDENCE", "NaN"),
        ] {
            let mut pairs = base.to_vec();
            pairs.push((name, value));
            let err = Config::load_with(None, env_of(&pairs)).unwrap_err();
            assert!(err.to_string().contains(name), "{name}={value}: {err}");
        }
        let err = Config::from_toml("[llm]\nurl = \"https://a.example/v1\"\nmodel = \" \"\n", "cabinet.toml")
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("llm.model"), "{err}");
    }

    #[test]
    fn the_example_file_is_a_valid_configuration() {
        let config = Config::from_toml(include_str!("../../../cabinet.toml.example"), "cabinet.toml.example").unwrap();
        config.validate().unwrap();
        assert!(!config.llm.enabled());
    }
}
