//! Webhook mode: after `setWebhook` the sandbox POSTs queued updates to the bot's URL (on
//! the loopback interface only), up to `max_connections` at once, with the secret token
//! header, retrying failed deliveries.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::methods::{Failure, Params};
use super::state::Shared;

/// How long a failed delivery waits before the update is offered again.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// The webhook the bot set.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub url: String,
    pub secret: Option<String>,
    pub max_connections: usize,
    /// Distinguishes successive `setWebhook` calls: a delivery task serves one generation.
    pub generation: u64,
}

/// `setWebhook`: an empty URL removes the webhook.
pub(crate) fn set_webhook(shared: &Arc<Shared>, p: &Params) -> Result<Value, Failure> {
    let url = p.str("url")?.unwrap_or_default();
    if url.trim().is_empty() {
        return delete_webhook(shared, p);
    }
    let parsed = url::Url::parse(url.trim()).map_err(|_| Failure::bad("bad webhook: can't parse URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Failure::bad("bad webhook: HTTPS url must be provided for webhook"));
    }
    // The sandbox never talks to the network: webhooks go to this machine only.
    if !matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        return Err(Failure::bad("bad webhook: the sandbox delivers only to 127.0.0.1, localhost or [::1]"));
    }
    let secret = p.str("secret_token")?.filter(|s| !s.is_empty());
    if let Some(s) = &secret
        && (s.len() > 256 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(Failure::bad("bad webhook: secret token contains unallowed characters"));
    }
    let max_connections = usize::try_from(p.int("max_connections")?.unwrap_or(40).clamp(1, 100)).unwrap_or(40);
    let drop_pending = p.boolean("drop_pending_updates")?.unwrap_or(false);
    let allowed = p.json("allowed_updates")?;
    let generation = {
        let mut st = shared.lock();
        st.set_allowed_updates(allowed)?;
        if drop_pending {
            st.pending.clear();
        }
        st.webhook_generation += 1;
        st.in_flight.clear();
        let generation = st.webhook_generation;
        st.webhook = Some(Webhook { url: parsed.to_string(), secret, max_connections, generation });
        generation
    };
    tokio::spawn(deliver(shared.clone(), generation));
    Ok(json!(true))
}

/// `deleteWebhook`: back to `getUpdates`.
pub(crate) fn delete_webhook(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let drop_pending = p.boolean("drop_pending_updates")?.unwrap_or(false);
    let mut st = shared.lock();
    if drop_pending {
        st.pending.clear();
    }
    st.webhook = None;
    st.webhook_generation += 1;
    st.in_flight.clear();
    Ok(json!(true))
}

/// Delivers queued updates to the webhook of `generation` until it changes or the sandbox
/// closes.
async fn deliver(shared: Arc<Shared>, generation: u64) {
    let Ok(client) = reqwest::Client::builder().timeout(Duration::from_secs(30)).build() else {
        tracing::warn!("the sandbox cannot build an HTTP client for webhook delivery");
        return;
    };
    let mut wake = shared.updates_version.subscribe();
    let mut closed = shared.closed.subscribe();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(i32, bool)>();
    loop {
        let (hook, batch) = {
            let mut st = shared.lock();
            let Some(hook) = st.webhook.clone().filter(|h| h.generation == generation) else { return };
            let room = hook.max_connections.saturating_sub(st.in_flight.len());
            let batch: Vec<(i32, Arc<str>)> =
                st.pending.iter().filter(|(id, _)| !st.in_flight.contains(id)).take(room).cloned().collect();
            for (id, _) in &batch {
                st.in_flight.insert(*id);
            }
            st.note_delivered(batch.iter().map(|(id, _)| *id));
            (hook, batch)
        };
        for (id, body) in batch {
            let request = client
                .post(hook.url.as_str())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
            let request = match &hook.secret {
                Some(secret) => request.header("X-Telegram-Bot-Api-Secret-Token", secret.as_str()),
                None => request,
            };
            let done = done_tx.clone();
            tokio::spawn(async move {
                let ok = request.send().await.is_ok_and(|r| r.status().is_success());
                if !ok {
                    tokio::time::sleep(RETRY_DELAY).await;
                }
                let _ = done.send((id, ok));
            });
        }
        tokio::select! {
            changed = wake.changed() => if changed.is_err() { return },
            done = done_rx.recv() => if let Some((id, ok)) = done { finish(&shared, generation, id, ok) },
            _ = closed.wait_for(|c| *c) => return,
        }
        while let Ok((id, ok)) = done_rx.try_recv() {
            finish(&shared, generation, id, ok);
        }
    }
}

/// Records a delivery's outcome: a delivered update leaves the queue; a failed one is
/// offered again.
fn finish(shared: &Shared, generation: u64, id: i32, ok: bool) {
    let mut st = shared.lock();
    if st.webhook_generation != generation {
        return;
    }
    st.in_flight.remove(&id);
    if ok && let Some(at) = st.pending.iter().position(|(p, _)| *p == id) {
        st.pending.remove(at);
    }
}
