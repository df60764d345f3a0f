//! CDEK's HTTP API: the OAuth token (client credentials, cached, refreshed once on a 401 by
//! one caller while the others wait for it) and the order lookup.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use tokio::{sync::Mutex, time::Instant};

use super::wire::{Entity, OrderAnswer, TokenAnswer};
use crate::adapters::{AdapterError, AdapterResult};

/// A token is renewed this long before CDEK says it expires (at most half its life).
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The parameter an order is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    /// `cdek_number`: CDEK's own number of the parcel (the tracking number).
    CdekNumber,
    /// `im_number`: the shop's number of the order, as it registered it with CDEK.
    ImNumber,
}

impl Key {
    fn param(self) -> &'static str {
        match self {
            Key::CdekNumber => "cdek_number",
            Key::ImNumber => "im_number",
        }
    }
}

/// A bearer token and when to stop using it.
struct Token {
    value: SecretString,
    renew_at: Instant,
}

/// What one order request gave.
enum Answer {
    /// The token was refused (HTTP 401).
    Unauthorized,
    /// The order, or `None` when CDEK does not know it.
    Done(Option<Entity>),
}

/// The HTTP client of one CDEK account.
pub(super) struct Client {
    http: reqwest::Client,
    /// The base URL (`https://api.cdek.ru/v2`), without a trailing slash.
    base: String,
    client_id: String,
    client_secret: SecretString,
    /// The current token: the lock is held while a new one is asked for, so concurrent
    /// callers share one token request.
    token: Mutex<Option<Token>>,
}

impl Client {
    pub fn new(http: reqwest::Client, base: String, client_id: String, client_secret: SecretString) -> Client {
        Client { http, base, client_id, client_secret, token: Mutex::new(None) }
    }

    /// The CDEK order with this number, or `None` when CDEK does not know it.
    pub async fn order(&self, key: Key, value: &str) -> AdapterResult<Option<Entity>> {
        let token = self.token().await?;
        match self.get_order(&token, key, value).await? {
            Answer::Done(entity) => Ok(entity),
            Answer::Unauthorized => {
                let token = self.renew(&token).await?;
                match self.get_order(&token, key, value).await? {
                    Answer::Done(entity) => Ok(entity),
                    Answer::Unauthorized => {
                        Err(AdapterError::Unavailable("CDEK refused a new token (HTTP 401)".into()))
                    }
                }
            }
        }
    }

    /// The cached token, or a new one when there is none or it is about to expire.
    async fn token(&self) -> AdapterResult<SecretString> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let token = self.request_token().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// A new token after `refused` got a 401; when another caller has already replaced it,
    /// theirs is used.
    async fn renew(&self, refused: &SecretString) -> AdapterResult<SecretString> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref()
            && token.value.expose_secret() != refused.expose_secret()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        *slot = None;
        let token = self.request_token().await?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    async fn request_token(&self) -> AdapterResult<Token> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
        ];
        let response =
            self.http.post(format!("{}/oauth/token", self.base)).form(&form).send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(AdapterError::Unavailable(format!("CDEK's token service answered HTTP {}", status.as_u16())));
        }
        if !status.is_success() {
            // Wrong credentials: nothing works until the configuration is fixed.
            tracing::error!(status = status.as_u16(), "CDEK refused the client credentials");
            return Err(AdapterError::Unavailable(format!(
                "CDEK refused the client credentials (HTTP {})",
                status.as_u16()
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Invalid(format!("CDEK's token answer is not as documented: {e}")))?;
        if answer.access_token.trim().is_empty() {
            return Err(AdapterError::Invalid("CDEK's token answer has an empty token".into()));
        }
        if let Some(kind) = &answer.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(AdapterError::Invalid(format!("CDEK's token is of an unexpected type {kind:?}")));
        }
        let life = Duration::from_secs(answer.expires_in);
        let renew_at = Instant::now() + life.saturating_sub(RENEW_BEFORE.min(life / 2));
        tracing::debug!(expires_in = answer.expires_in, "got a CDEK token");
        Ok(Token { value: SecretString::from(answer.access_token), renew_at })
    }

    async fn get_order(&self, token: &SecretString, key: Key, value: &str) -> AdapterResult<Answer> {
        let response = self
            .http
            .get(format!("{}/orders", self.base))
            .query(&[(key.param(), value)])
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Ok(Answer::Unauthorized);
        }
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(AdapterError::Unavailable(format!("CDEK answered HTTP {}", status.as_u16())));
        }
        let answer: Option<OrderAnswer> = serde_json::from_slice(&bytes).ok();
        if !status.is_success() {
            return match answer {
                Some(answer) if answer.is_not_found() => Ok(Answer::Done(None)),
                Some(answer) => Err(AdapterError::Invalid(format!(
                    "CDEK refused the lookup (HTTP {}: {})",
                    status.as_u16(),
                    answer.error_codes().join(", ")
                ))),
                None => Err(AdapterError::Invalid(format!("CDEK answered HTTP {}", status.as_u16()))),
            };
        }
        let answer: OrderAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| AdapterError::Invalid(format!("CDEK's order is not as documented: {e}")))?;
        if answer.is_not_found() {
            return Ok(Answer::Done(None));
        }
        match answer.entity {
            Some(entity) => Ok(Answer::Done(Some(entity))),
            None => Err(AdapterError::Invalid(format!(
                "CDEK's answer has no order (errors: {})",
                answer.error_codes().join(", ")
            ))),
        }
    }
}

/// A failed request as an adapter error; the URL (which holds the looked-up number) is left
/// out.
fn transport(e: reqwest::Error) -> AdapterError {
    if e.is_timeout() {
        AdapterError::Timeout
    } else if e.is_decode() {
        AdapterError::Invalid(format!("CDEK's answer could not be read: {}", e.without_url()))
    } else {
        AdapterError::Unavailable(format!("CDEK did not answer: {}", e.without_url()))
    }
}
