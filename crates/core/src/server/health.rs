//! `GET /healthz`: whether the bot can serve, for load balancers, orchestrators and uptime
//! checks.
//!
//! The database is asked a trivial query under a short timeout; each capability's backend
//! is judged by its circuit breaker (the one every call of the bot goes through), never by
//! calling the business's systems on each probe. The answer is 200 with `"ok"`, 200 with
//! `"degraded"` when a backend's breaker is open or half-open (the bot still answers, that
//! capability politely refuses), and 503 with `"down"` when the database does not answer.
//! It holds no personal data and no secrets: backend names and states only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::adapters::BackendNames;
use crate::adapters::guard::{BreakerState, Guard};
use crate::config::NO_BACKEND;
use crate::store::Store;

/// How long the database may take to answer a probe.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/healthz` looks at (see [`Health::new`]).
pub struct Health {
    pub(super) store: Store,
    pub(super) guard: Arc<Guard>,
    pub(super) names: BackendNames,
}

/// The answer of `/healthz`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// `ok`, `degraded` (a backend's breaker is not closed) or `down` (no database).
    pub status: &'static str,
    /// `ok` or `error`.
    pub database: &'static str,
    /// Each capability the business has ("crm", "billing", …): its backend and breaker.
    pub backends: BTreeMap<&'static str, BackendReport>,
}

/// One capability in `/healthz`.
#[derive(Debug, Serialize)]
pub struct BackendReport {
    /// The backend's name ("builtin", "http", "bitrix24", …).
    pub backend: String,
    /// `ok` (breaker closed), `open` or `half_open`.
    pub state: &'static str,
}

impl Health {
    /// Asks the database and reads the breakers.
    pub async fn check(&self) -> Report {
        let ping = sqlx::query("SELECT 1").execute(self.store.pool());
        let database_ok = matches!(tokio::time::timeout(DATABASE_TIMEOUT, ping).await, Ok(Ok(_)));
        let n = &self.names;
        let capabilities = [
            ("crm", &n.crm),
            ("billing", &n.billing),
            ("logistics", &n.logistics),
            ("documents", &n.documents),
            ("shop", &n.shop),
            ("loyalty", &n.loyalty),
            ("booking", &n.booking),
            ("directory", &n.directory),
        ];
        let backends: BTreeMap<&'static str, BackendReport> = capabilities
            .into_iter()
            .filter(|(_, backend)| backend.as_str() != NO_BACKEND)
            .map(|(capability, backend)| {
                let state = match self.guard.breaker(backend, capability) {
                    BreakerState::Closed => "ok",
                    BreakerState::Open => "open",
                    BreakerState::HalfOpen => "half_open",
                };
                (capability, BackendReport { backend: backend.clone(), state })
            })
            .collect();
        let status = if !database_ok {
            "down"
        } else if backends.values().any(|b| b.state != "ok") {
            "degraded"
        } else {
            "ok"
        };
        Report { status, database: if database_ok { "ok" } else { "error" }, backends }
    }
}

/// `GET /healthz`.
pub(super) async fn healthz(State(health): State<Arc<Health>>) -> (StatusCode, Json<Report>) {
    let report = health.check().await;
    let code = if report.status == "down" { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, Json(report))
}
