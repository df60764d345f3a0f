//! The command line: `run`, `demo`, `migrate`, `import`, `replay`, `classify`, `bench`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::DateTime;
use clap::{Parser, Subcommand};

use cabinet_core::app;
use cabinet_core::config::Config;
use cabinet_core::domain::Locale;

/// cabinet: a business's customers get their personal cabinet inside Telegram.
#[derive(Debug, Parser)]
#[command(name = "cabinet", version, about)]
pub struct Cli {
    /// The configuration file (default: ./cabinet.toml when present).
    #[arg(long, global = true, env = "CABINET_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot on Telegram (long polling, or a webhook with --webhook-url). Token:
    /// TELOXIDE_TOKEN or the config file.
    Run {
        /// Another Bot API server (also TELOXIDE_API_URL).
        #[arg(long)]
        api_url: Option<String>,
        /// Serve /healthz, /metrics and the webhook on this address, e.g. 0.0.0.0:8080 (also
        /// CABINET_LISTEN, server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Webhook mode: Telegram delivers updates to this public HTTPS URL, served on the
        /// --listen address at the URL's path (also CABINET_WEBHOOK_URL, telegram.webhook_url).
        #[arg(long)]
        webhook_url: Option<String>,
    },
    /// The demo business: a terminal chat with the real bot in a local sandbox (no token,
    /// no network); with a token, the demo business on real Telegram.
    ///
    /// In the sandbox the Mini App (the customer's personal cabinet) is served on a local
    /// port too, and its URL for the demo user is printed at start: open it in a browser.
    /// Identify in the chat first (/start, agree, /contact +77011234567), then reload the page.
    Demo {
        /// Run the demo on real Telegram with this bot token (also TELOXIDE_TOKEN).
        #[arg(long)]
        token: Option<String>,
        /// The demo's database.
        #[arg(long, default_value = "sqlite://cabinet-demo.db")]
        database_url: String,
        /// Use the real clock (the demo data is moved so that its demo day is today)
        /// instead of the fixed demo time 2025-01-11 10:00.
        #[arg(long)]
        real_clock: bool,
        /// Keep the demo's SQLite database from the last run (its customers' bindings and
        /// what they did) instead of starting afresh.
        #[arg(long)]
        keep: bool,
    },
    /// Apply the database migrations (also done at start-up).
    Migrate,
    /// Load a business data set (the demo JSON format) into the built-in store: an upsert of
    /// its records that keeps what the bot recorded since (payments, subscription changes,
    /// orders, bookings, referrals) and lists where the file says otherwise.
    Import {
        file: PathBuf,
        /// Move every date so that the data set's demo day is today.
        #[arg(long)]
        shift_to_today: bool,
    },
    /// Play conversation transcripts against the demo business in the sandbox.
    Replay {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where the bot reads the demo business: `builtin` (its own database), or `http`
        /// (the same data served through the HTTP backend contract by its reference server).
        #[arg(long, value_enum, default_value_t = ReplayBackend::Builtin)]
        backend: ReplayBackend,
    },
    /// Classify messages: one per input line, one JSON object per output line.
    Classify {
        /// The reference time for relative dates (RFC 3339; default: now).
        #[arg(long)]
        now: Option<String>,
        /// The customer's language, a hint only (ru or en).
        #[arg(long)]
        locale: Option<String>,
    },
    /// Benchmark: the real bot (and a bare teloxide bot, for comparison) against the sandbox
    /// on loopback, fed generated customers' messages; prints throughput, latency, CPU per
    /// update and memory. See docs/performance.md.
    Bench(BenchArgs),
    /// The bare teloxide bot `bench` compares cabinet with (token: TELOXIDE_TOKEN).
    #[command(hide = true)]
    BenchEcho {
        #[arg(long)]
        api_url: String,
        /// Take updates by a webhook on this loopback port instead of long polling.
        #[arg(long)]
        webhook_port: Option<u16>,
    },
}

/// `cabinet bench`'s options.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Generated customers, bound and consented.
    #[arg(long, default_value_t = 2_000)]
    pub customers: usize,
    /// Updates per burst (unpaced mode).
    #[arg(long, default_value_t = 20_000)]
    pub updates: usize,
    /// What the customers write.
    #[arg(long, value_enum, default_value_t = crate::bench::Scenario::Balance)]
    pub scenario: crate::bench::Scenario,
    /// Paced mode: this many updates per second for --duration seconds.
    #[arg(long)]
    pub rate: Option<u32>,
    /// Seconds of paced mode.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// The database (default: a fresh SQLite file in a temporary directory). A PostgreSQL
    /// database gets the generated customers upserted into it.
    #[arg(long)]
    pub database: Option<String>,
    /// Bursts in one process of each bot (RSS is reported after each).
    #[arg(long, default_value_t = 1)]
    pub bursts: usize,
    /// The surge: 10,000 customers (at least) writing once each within 2 seconds.
    #[arg(long)]
    pub surge: bool,
    /// Updates come by webhook instead of getUpdates.
    #[arg(long)]
    pub webhook: bool,
    /// Which bots run (default: cabinet, then the echo bot).
    #[arg(long, value_enum)]
    pub bot: Vec<crate::bench::Target>,
    /// The table of docs/performance.md: the standard runs one after another.
    #[arg(long)]
    pub table: bool,
    /// Progress on stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Where `replay` reads the demo business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayBackend {
    /// The built-in adapters over the bot's database.
    Builtin,
    /// The built-in adapters served through the HTTP backend contract.
    Http,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Run { api_url, listen, webhook_url } => {
            let config = config.with_run_flags(listen, webhook_url)?;
            app::run(&config, api_url).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { token, database_url, real_clock, keep } => {
            let token = token.or_else(|| {
                use secrecy::ExposeSecret;
                config.telegram.token.as_ref().map(|t| t.expose_secret().to_owned())
            });
            crate::demo::demo(&config, crate::demo::DemoOptions { database_url, token, real_clock, keep }).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            app::open_store(&config.database.url).await?;
            println!("migrations applied to {}", app::redact_url(&config.database.url));
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, shift_to_today } => {
            let report = app::import_file(&config, &file, shift_to_today).await?;
            println!(
                "imported {}: {} customers, {} orders, {} documents, {} bookings; {} rows changed",
                file.display(),
                report.customers,
                report.orders,
                report.documents,
                report.bookings,
                report.changed
            );
            if let Some(summary) = report.kept_summary() {
                println!("{summary}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { files, backend } => {
            let mut out = std::io::stdout();
            let http = backend == ReplayBackend::Http;
            let summary = cabinet_replay::run_files_with(&files, &mut out, |o| o.http_backend = http).await?;
            out.flush()?;
            Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Bench(args) => {
            let correct = crate::bench::run_cli(args).await?;
            Ok(if correct { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::BenchEcho { api_url, webhook_port } => {
            crate::bench::echo(&api_url, webhook_port).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify { now, locale } => {
            let business = classify_business(&config).await?;
            classify(&business, now.as_deref(), locale.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The business whose catalogue names services and staff: the one in the configured
/// database when it holds one (an absent SQLite file is not created), else the demo's.
async fn classify_business(config: &Config) -> anyhow::Result<app::Business> {
    let url = config.database.url.as_str();
    let file = url.strip_prefix("sqlite://").map(|rest| rest.split('?').next().unwrap_or(rest));
    let database_exists = match file {
        Some(path) => std::path::Path::new(path).exists(),
        None => !url.starts_with("sqlite:"),
    };
    if database_exists
        && let Ok(store) = cabinet_core::store::Store::connect(url).await
        && let Ok((_, business)) =
            app::connect(config, store, std::sync::Arc::new(cabinet_core::clock::SystemClock)).await
    {
        return Ok(business);
    }
    app::Business::from_data(&cabinet_core::adapters::builtin::import::BusinessData::demo())
}

fn classify(business: &app::Business, now: Option<&str>, locale: Option<&str>) -> anyhow::Result<()> {
    let now = match now {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .with_context(|| format!("--now {text:?} is not an RFC 3339 time (e.g. 2025-01-11T10:00:00+05:00)"))?
            .naive_local(),
        None => chrono::Utc::now().with_timezone(&business.time_zone).naive_local(),
    };
    let hint = match locale {
        Some(code) => Some(Locale::parse(code).with_context(|| format!("--locale {code:?} is not one of ru, en"))?),
        None => None,
    };
    let nlu = cabinet_core::nlu::Nlu::embedded(business.catalog.clone())?;
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    cabinet_core::nlu::classify_lines(&nlu, stdin, stdout, now, hint)?;
    Ok(())
}
