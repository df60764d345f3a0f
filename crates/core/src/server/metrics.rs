//! `GET /metrics`: the Prometheus text exposition of every metric the bot records through
//! the `metrics` facade.
//!
//! The bot's own metrics, besides the adapters' (`cabinet_adapter_*`, see
//! [`crate::adapters::guard`]):
//! - `cabinet_updates_total{kind}`: updates handled, by [`update_kind`];
//! - `cabinet_update_seconds{kind}`: how long handling one took (a histogram);
//! - `cabinet_intents_total{intent}`: what customers' words were recognised as;
//! - `cabinet_escalations_total{reason}`: conversations handed to a person;
//! - `cabinet_telegram_errors_total{code}`: Bot API calls that failed, by [`error_code`]
//!   (the notification sender's 429s among them);
//! - `cabinet_notifications_total{outcome}`: notifications handled by the sender: `sent`,
//!   `skipped`, `failed`, `deferred`, `paused` (its rate is the send rate);
//! - `cabinet_outbox_depth`: notifications not yet final (pending, claimed or being sent).
//!
//! Every label takes a few fixed values: never a user id, a text or a customer id.

use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use teloxide::types::{Update, UpdateKind};

use crate::error::BotError;

/// Histogram buckets (seconds) of handling times and adapter calls.
const SECONDS_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The recorder's handle; `None` when another recorder was installed first.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global recorder, once: later calls
/// (several bots in one process) use the same one. When another recorder was installed
/// before, it is kept and `/metrics` answers 503.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .map(PrometheusBuilder::build_recorder);
            let recorder = match recorder {
                Ok(recorder) => recorder,
                Err(error) => {
                    tracing::warn!(%error, "cannot build the Prometheus recorder: /metrics is off");
                    return None;
                }
            };
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(_) => {
                    tracing::warn!("another metrics recorder is installed: /metrics is off");
                    None
                }
            }
        })
        .as_ref()
}

/// The current metrics in the Prometheus text format, if the recorder is installed.
pub fn snapshot() -> Option<String> {
    let handle = HANDLE.get()?.as_ref()?;
    handle.run_upkeep();
    Some(handle.render())
}

/// `GET /metrics`.
pub(super) async fn render() -> Response {
    match snapshot() {
        Some(text) => ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics are not recorded by this process\n").into_response(),
    }
}

/// The kind of an update, for `cabinet_updates_total{kind}`: `command`, `message`,
/// `contact`, `payment` (a customer's, in their private chat), `staff` (a message in a
/// group: the staff chat), `callback` (a button), `pre_checkout`, `other`.
pub fn update_kind(update: &Update) -> &'static str {
    match &update.kind {
        UpdateKind::Message(message) if !message.chat.is_private() => "staff",
        UpdateKind::Message(message) if message.contact().is_some() => "contact",
        UpdateKind::Message(message) if message.successful_payment().is_some() => "payment",
        UpdateKind::Message(message) if message.text().is_some_and(|t| t.starts_with('/')) => "command",
        UpdateKind::Message(_) => "message",
        UpdateKind::CallbackQuery(_) => "callback",
        UpdateKind::PreCheckoutQuery(_) => "pre_checkout",
        _ => "other",
    }
}

/// Records a handled update of `kind` that took `seconds`.
pub fn record_update(kind: &'static str, seconds: f64) {
    metrics::counter!("cabinet_updates_total", "kind" => kind).increment(1);
    metrics::histogram!("cabinet_update_seconds", "kind" => kind).record(seconds);
}

/// The code of a failed Bot API call, for `cabinet_telegram_errors_total{code}`: `429`
/// (flood control), `403` (the user blocked the bot, or the bot may not write there), `400`
/// (any other refusal), `network`, `other`.
pub fn error_code(error: &teloxide::RequestError) -> &'static str {
    use teloxide::{ApiError, RequestError};
    match error {
        RequestError::RetryAfter(_) => "429",
        RequestError::Api(
            ApiError::BotBlocked
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots,
        ) => "403",
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => "400",
        RequestError::Network(_) | RequestError::Io(_) => "network",
        _ => "other",
    }
}

/// Counts a failed Bot API call.
pub fn telegram_error(error: &teloxide::RequestError) {
    metrics::counter!("cabinet_telegram_errors_total", "code" => error_code(error)).increment(1);
}

/// The dispatcher's error handler: counts a failed Bot API call, then logs the error as
/// `inner` does.
pub struct CountingErrorHandler {
    inner: Arc<teloxide::error_handlers::LoggingErrorHandler>,
}

impl CountingErrorHandler {
    /// Logs with `text` before each error.
    pub fn with_custom_text(text: &str) -> Arc<CountingErrorHandler> {
        Arc::new(CountingErrorHandler { inner: teloxide::error_handlers::LoggingErrorHandler::with_custom_text(text) })
    }
}

impl teloxide::error_handlers::ErrorHandler<BotError> for CountingErrorHandler {
    fn handle_error(self: Arc<Self>, error: BotError) -> futures::future::BoxFuture<'static, ()> {
        if let BotError::Telegram(e) = &error {
            telegram_error(e);
        }
        self.inner.clone().handle_error(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_errors_are_counted_by_a_few_codes() {
        let flood = teloxide::RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(3));
        assert_eq!(error_code(&flood), "429");
        assert_eq!(error_code(&teloxide::RequestError::Api(teloxide::ApiError::BotBlocked)), "403");
        assert_eq!(error_code(&teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)), "400");
        let io = teloxide::RequestError::Io(std::sync::Arc::new(std::io::Error::other("reset")));
        assert_eq!(error_code(&io), "network");
    }
}
