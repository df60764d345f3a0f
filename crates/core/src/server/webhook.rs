//! Webhook mode: Telegram POSTs each update to `telegram.webhook_url` instead of the bot
//! polling for them. The route lives on the [server](super) (its path is the URL's path),
//! and a request must carry the secret token given to `setWebhook` in its
//! `X-Telegram-Bot-Api-Secret-Token` header, compared in constant time: without it, or with
//! another, the answer is 401 and the body is never read.
//!
//! The updates go to the same dispatcher as polling's, through teloxide's listener for axum.
//! The webhook is not deleted on shutdown: while the bot restarts (or a new instance takes
//! over in a rolling deployment, having set the webhook itself) Telegram keeps the updates
//! and delivers them again. Polling deletes a webhook left set when it starts.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq as _;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use teloxide::update_listeners::UpdateListener;
use teloxide::update_listeners::webhooks::{Options, axum_no_setup};
use url::Url;

use crate::config::TelegramConfig;

/// The header Telegram sends the secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The kinds of update the bot handles, and so asks Telegram for: customers' and staff's
/// messages, button presses, and the checks before a Telegram payment.
pub const ALLOWED_UPDATES: [AllowedUpdate; 3] =
    [AllowedUpdate::Message, AllowedUpdate::CallbackQuery, AllowedUpdate::PreCheckoutQuery];

/// Where and how Telegram delivers updates.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The public HTTPS URL Telegram POSTs to (`telegram.webhook_url`).
    pub url: Url,
    /// The secret token Telegram sends with each update (`telegram.webhook_secret`, else
    /// random for each run).
    pub secret: SecretString,
    /// How many deliveries Telegram makes at once (`telegram.webhook_max_connections`).
    pub max_connections: u8,
}

impl Webhook {
    /// The webhook `[telegram]` asks for, if any: its URL, its secret or a random one.
    pub fn from_config(config: &TelegramConfig) -> anyhow::Result<Option<Webhook>> {
        let Some(url) = &config.webhook_url else { return Ok(None) };
        let url = Url::parse(url).map_err(|e| anyhow::anyhow!("telegram.webhook_url (CABINET_WEBHOOK_URL): {e}"))?;
        let secret = config.webhook_secret.clone().unwrap_or_else(random_secret);
        Ok(Some(Webhook { url, secret, max_connections: config.webhook_max_connections }))
    }

    /// The route's path: the URL's path.
    pub fn path(&self) -> String {
        match self.url.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        }
    }

    /// Asks Telegram to deliver to this webhook (`setWebhook`).
    pub async fn set(&self, bot: &Bot) -> Result<(), teloxide::RequestError> {
        bot.set_webhook(self.url.clone())
            .secret_token(self.secret.expose_secret())
            .allowed_updates(ALLOWED_UPDATES)
            .max_connections(self.max_connections)
            .await?;
        Ok(())
    }

    /// The listener the dispatcher takes the updates from, and the route they come in by
    /// (to merge into the server).
    pub fn listener(&self) -> (impl UpdateListener<Err = Infallible> + Send + use<>, Router) {
        // The address is teloxide's for a server of its own; this route joins ours instead.
        let options = Options::new(([127, 0, 0, 1], 0).into(), self.url.clone()).path(self.path());
        let (listener, _stopped, route) = axum_no_setup(options);
        let secret = Arc::new(self.secret.clone());
        let route = route.route_layer(axum::middleware::from_fn_with_state(secret, check_secret));
        (listener, route)
    }
}

/// 48 random letters and digits (Telegram allows up to 256 of `A-Za-z0-9_-`).
fn random_secret() -> SecretString {
    let secret: String =
        rand::thread_rng().sample_iter(rand::distributions::Alphanumeric).take(48).map(char::from).collect();
    SecretString::from(secret)
}

/// Lets a request through only with the secret token, compared in constant time. The header
/// is taken off the request it lets through: teloxide's route, which is given no secret,
/// compares it again and would refuse it.
async fn check_secret(State(secret): State<Arc<SecretString>>, mut request: Request, next: Next) -> Response {
    let given = request.headers_mut().remove(SECRET_HEADER);
    let given = given.as_ref().map(|v| v.as_bytes()).unwrap_or_default();
    if bool::from(given.ct_eq(secret.expose_secret().as_bytes())) {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_configured_secret_each_run_gets_a_random_one_and_the_path_is_the_urls() {
        let config =
            TelegramConfig { webhook_url: Some("https://bot.example.com".into()), ..TelegramConfig::default() };
        let first = Webhook::from_config(&config).unwrap().unwrap();
        let second = Webhook::from_config(&config).unwrap().unwrap();
        let secret = first.secret.expose_secret();
        assert_eq!(secret.len(), 48);
        assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric()), "{secret}");
        assert_ne!(secret, second.secret.expose_secret());
        assert_eq!(first.path(), "/");
        let config = TelegramConfig {
            webhook_url: Some("https://bot.example.com/hooks/telegram".into()),
            webhook_secret: Some(SecretString::from("fixed".to_owned())),
            ..TelegramConfig::default()
        };
        let webhook = Webhook::from_config(&config).unwrap().unwrap();
        assert_eq!((webhook.path().as_str(), webhook.secret.expose_secret()), ("/hooks/telegram", "fixed"));
        assert!(Webhook::from_config(&TelegramConfig::default()).unwrap().is_none());
    }
}
