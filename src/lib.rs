//! The `cabinet` binary's library: the command line ([`cli`]) and the demo ([`demo`]), over
//! the crates of the workspace, re-exported here so that tests and benchmarks name one crate.
//!
//! # Layout
//! - `crates/core` ([`cabinet_core`]): cabinet itself — config, domain, store, adapters, the
//!   bot, the recogniser, documents, jobs, and the wiring that runs them on Telegram.
//! - `crates/sandbox` ([`sandbox`]): a local Telegram Bot API emulator and a terminal chat.
//! - `crates/replay` ([`replay`]): conversation transcripts played against the bot in the
//!   sandbox, and the sandboxed demo bot ([`replay::harness`]) that the demo and tests run.
//! - `src/`: [`cli`] (`run`, `demo`, `migrate`, `import`, `replay`, `classify`, `bench`),
//!   [`demo`] and [`bench`](mod@bench).

pub use cabinet_core::{
    adapters, app, bot, clock, config, domain, error, events, i18n, jobs, miniapp, nlu, notify, pdf, server, store,
    testenv,
};
pub use cabinet_replay as replay;
pub use cabinet_sandbox as sandbox;

pub mod bench;
pub mod cli;
pub mod demo;
