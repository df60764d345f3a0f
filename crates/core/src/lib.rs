//! cabinet itself: a business's customers get their personal cabinet inside Telegram.
//!
//! # Layout
//! - [`config`]: one [`config::Config`] from `cabinet.toml` plus environment overrides.
//! - [`app`]: wiring: builds the store, adapters, NLU and bot, runs them on Telegram.
//! - [`clock`]: the injected clock (system or fixed for demo, replay and tests).
//! - [`domain`]: parse-don't-validate types: phone (E.164), money, period, locale, dates.
//! - [`i18n`]: Fluent messages from `locales/`.
//! - [`store`]: the SQL store (SQLite or PostgreSQL), migrations, repositories, import.
//! - [`adapters`]: traits for the business's systems (CRM, billing, logistics, documents, shop,
//!   loyalty, booking) and the built-in implementation; one-time code gateways.
//! - [`jobs`]: durable scheduled jobs (booking reminders, SLA re-pings, queued staff posts)
//!   driven by the injected clock.
//! - [`nlu`]: intents and entities from free text, driven by the `dialogues/` data files.
//! - [`pdf`]: business documents (acts, invoices, ...) rendered as PDF.
//! - [`bot`]: the teloxide dispatcher: schema, dialogue state, keyboards, handlers.
//! - [`miniapp`]: the Mini App's JSON API (`/api/v1/app/`), authenticated by Telegram's init data.
//! - [`testenv`]: what the tests need from the machine (PostgreSQL, poppler), checked in one place.
//!
//! The Bot API emulator (`cabinet-sandbox`), the transcript runner and the sandboxed demo bot
//! (`cabinet-replay`) and the `cabinet` binary live in crates of their own.

pub mod adapters;
pub mod app;
pub mod bot;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod i18n;
pub mod jobs;
pub mod miniapp;
pub mod nlu;
pub mod notify;
pub mod pdf;
pub mod server;
pub mod store;
pub mod testenv;
