//! cabinet's one HTTP server: `GET /healthz`, `GET /metrics` and, in webhook mode, the route
//! Telegram delivers updates to, all on the one address `server.listen` names.
//!
//! [`router`] gives the health and metrics routes over a [`Health`]; other parts add their
//! own routes to a [`Server`] with [`Server::merge`] (or to the [`axum::Router`] with
//! `merge`/`nest`) before it serves. The server stops gracefully with the rest of the bot:
//! requests under way are answered, then the port is closed.

pub mod health;
pub mod metrics;
pub mod webhook;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;

use crate::adapters::BackendNames;
use crate::adapters::guard::Guard;
use crate::store::Store;

pub use health::Health;

/// How long stopping waits for the requests under way.
pub const STOP_WAIT: Duration = Duration::from_secs(5);

/// The health and metrics routes: `GET /healthz` and `GET /metrics`. Installs the
/// Prometheus recorder (once per process) so that `/metrics` has the bot's metrics.
pub fn router(health: Health) -> Router {
    metrics::install();
    Router::new()
        .route("/healthz", get(health::healthz))
        .with_state(Arc::new(health))
        .route("/metrics", get(metrics::render))
}

impl Health {
    /// What `/healthz` looks at: the database, and each capability's breaker in `guard`
    /// (the one the bot's adapters go through) under its backend's name in `names`.
    pub fn new(store: Store, guard: Arc<Guard>, names: BackendNames) -> Health {
        Health { store, guard, names }
    }
}

/// The server: a bound port and the routes it serves.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
}

impl Server {
    /// Binds `addr` ("0.0.0.0:8080"); no routes yet.
    pub async fn bind(addr: &str) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (server.listen, CABINET_LISTEN)"))?;
        Ok(Server::from_listener(listener))
    }

    /// Serves on a port already bound (port 0 lets the system choose one).
    pub fn from_listener(listener: tokio::net::TcpListener) -> Server {
        Server { listener, router: Router::new() }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Adds `routes` to what it serves.
    #[must_use]
    pub fn merge(self, routes: Router) -> Server {
        Server { router: self.router.merge(routes), ..self }
    }

    /// Serves in a task of its own until `shutdown` resolves; then the requests under way
    /// are answered (for [`STOP_WAIT`] at most: a client that keeps a request open does not
    /// hold the bot) and the port is closed before the task ends.
    pub fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> tokio::task::JoinHandle<()> {
        let Server { listener, router } = self;
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "serving HTTP");
        }
        tokio::spawn(async move {
            let (asked, mut asked_rx) = tokio::sync::watch::channel(false);
            let signal = async move {
                shutdown.await;
                let _ = asked.send(true);
            };
            let serving = axum::serve(listener, router).with_graceful_shutdown(signal).into_future();
            let deadline = async move {
                let _ = asked_rx.wait_for(|asked| *asked).await;
                tokio::time::sleep(STOP_WAIT).await;
            };
            tokio::select! {
                result = serving => if let Err(error) = result {
                    tracing::error!(%error, "the HTTP server failed");
                },
                () = deadline => tracing::warn!(wait = ?STOP_WAIT, "HTTP requests still under way: the server closes anyway"),
            }
        })
    }
}
