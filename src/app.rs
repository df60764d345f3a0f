//! Wiring: builds the store, adapters, recogniser and bot from a config, and runs them on
//! Telegram or on the sandbox.

use std::sync::Arc;

use crate::clock::FixedClock;
use crate::sandbox::Sandbox;
use crate::store::Store;

/// A demo bot running against a sandbox (for `demo`, `replay` and tests).
pub struct SandboxedBot {
    pub sandbox: Sandbox,
    pub store: Store,
    /// The fixed clock, when the bot runs on one.
    pub clock: Option<Arc<FixedClock>>,
    shutdown: Option<teloxide::dispatching::ShutdownToken>,
    task: Option<tokio::task::JoinHandle<()>>,
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
}

impl SandboxedBot {
    /// Starts a sandbox, a fresh store with the demo data imported, and the real bot
    /// dispatcher polling the sandbox.
    pub async fn start(opts: SandboxOptions) -> anyhow::Result<SandboxedBot> {
        let _ = opts;
        todo!()
    }

    /// Stops the dispatcher and waits for it.
    pub async fn stop(mut self) {
        if let Some(token) = self.shutdown.take() {
            if let Ok(fut) = token.shutdown() {
                fut.await;
            }
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
