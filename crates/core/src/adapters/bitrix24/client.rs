//! The REST client: where a method is sent (inbound webhook or OAuth), the client-side rate
//! limit, the backoff on Bitrix24's own limits and the mapping of its answers to
//! [`AdapterError`]. No URL is ever logged or put in an error: a webhook URL holds its code and
//! an OAuth URL its token.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::adapters::{AdapterError, AdapterResult};

/// Where methods are sent.
pub(super) enum Endpoint {
    /// `https://{portal}/rest/{user_id}/{code}/`: the method's name is appended.
    Webhook(Url),
    /// `https://{portal}/rest/`: the method's name is appended and the token is the `auth`
    /// query parameter.
    OAuth { base: Url, token: SecretString },
}

impl Endpoint {
    /// The portal's origin (scheme, host, port): files are downloaded from it only.
    fn origin(&self) -> url::Origin {
        match self {
            Endpoint::Webhook(base) | Endpoint::OAuth { base, .. } => base.origin(),
        }
    }
}

/// What a method answered: `result`, and `total`/`next` of a list.
#[derive(Debug)]
pub(super) struct Reply {
    pub result: Value,
    pub total: Option<u64>,
    pub next: Option<u64>,
}

/// Why a call failed, before it becomes an [`AdapterError`].
#[derive(Debug)]
pub(super) enum Failure {
    /// Bitrix24's request or operation limit (503 `QUERY_LIMIT_EXCEEDED`, 429
    /// `OPERATION_TIME_LIMIT`): retried after a backoff.
    Limit(String),
    /// A 4xx answer with an error the caller may understand (`Not found`, …).
    Api { status: u16, code: String, description: String },
    /// Anything else, already mapped.
    Other(AdapterError),
}

impl Failure {
    pub fn into_adapter(self, method: &str) -> AdapterError {
        match self {
            Failure::Limit(code) => {
                AdapterError::Unavailable(format!("bitrix24 {method}: the portal's request limit ({code}) held"))
            }
            Failure::Api { status, code, description } => {
                AdapterError::Invalid(format!("bitrix24 {method}: {status} {code} {description}"))
            }
            Failure::Other(e) => e,
        }
    }

    /// A 4xx answer that says the entity does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Failure::Api { description, code, .. } => {
                let d = description.to_ascii_lowercase();
                d.contains("not found") || d.contains("id is not defined or invalid") || code == "NOT_FOUND"
            }
            _ => false,
        }
    }
}

/// The retries on Bitrix24's own limits.
#[derive(Debug, Clone, Copy)]
pub(super) struct LimitRetry {
    /// Retries after the first try.
    pub times: usize,
    /// The first delay; each next one doubles, up to 16 times it.
    pub delay: Duration,
}

/// The REST client of one portal.
pub(super) struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    /// Bitrix24 meters each portal with a leaky bucket (2 requests a second, a burst of 50 on
    /// most plans) and answers 503 past it. `governor`'s GCRA limiter is that same bucket on
    /// this side, kept lock-free and well tested, so requests wait here instead of failing
    /// there.
    limiter: DefaultDirectRateLimiter,
    retry: LimitRetry,
}

impl Client {
    pub fn new(endpoint: Endpoint, per_second: NonZeroU32, burst: NonZeroU32, retry: LimitRetry) -> Client {
        Client {
            // No overall timeout: the adapter guard bounds every call; a connection that
            // cannot be made fails sooner.
            http: reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build().unwrap_or_default(),
            endpoint,
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            retry,
        }
    }

    fn method_url(&self, method: &str) -> AdapterResult<Url> {
        let (base, token) = match &self.endpoint {
            Endpoint::Webhook(base) => (base, None),
            Endpoint::OAuth { base, token } => (base, Some(token)),
        };
        let mut url = base.join(method).map_err(|_| AdapterError::Invalid(format!("bitrix24: bad method {method}")))?;
        if let Some(token) = token {
            url.query_pairs_mut().append_pair("auth", token.expose_secret());
        }
        Ok(url)
    }

    /// Calls `method` with `params` (a JSON object), retrying on Bitrix24's limits.
    pub async fn call(&self, method: &str, params: &Value) -> Result<Reply, Failure> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.delay)
            .with_max_delay(self.retry.delay * 16)
            .with_max_times(self.retry.times)
            .with_jitter();
        (|| self.once(method, params))
            .retry(backoff)
            .when(|f| matches!(f, Failure::Limit(_)))
            .notify(|f, delay| {
                if let Failure::Limit(code) = f {
                    tracing::warn!(method, code = code.as_str(), ?delay, "bitrix24 limit reached; retrying");
                }
            })
            .await
    }

    /// Calls `method`; any failure is an [`AdapterError`].
    pub async fn ask(&self, method: &str, params: &Value) -> AdapterResult<Reply> {
        self.call(method, params).await.map_err(|f| f.into_adapter(method))
    }

    async fn once(&self, method: &str, params: &Value) -> Result<Reply, Failure> {
        let url = self.method_url(method).map_err(Failure::Other)?;
        self.limiter.until_ready().await;
        let response = self.http.post(url).json(params).send().await.map_err(|e| Failure::Other(transport(&e)))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| Failure::Other(transport(&e)))?;
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        if let Some(Value::Object(map)) = &parsed
            && let Some(code) = map.get("error")
        {
            let code = match code {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let description = map.get("error_description").and_then(Value::as_str).unwrap_or("").to_owned();
            return Err(classify(method, status, code, description));
        }
        if !(200..300).contains(&status) {
            return Err(classify(method, status, String::new(), String::new()));
        }
        let Some(Value::Object(mut map)) = parsed else {
            return Err(Failure::Other(AdapterError::Invalid(format!("bitrix24 {method}: the body is not JSON"))));
        };
        let result = map
            .remove("result")
            .ok_or_else(|| Failure::Other(AdapterError::Invalid(format!("bitrix24 {method}: no result"))))?;
        Ok(Reply {
            result,
            total: map.get("total").and_then(Value::as_u64),
            next: map.get("next").and_then(Value::as_u64),
        })
    }

    /// The commands, 50 to a `batch` request (`halt: 0`): each command's result by its key,
    /// and the failures of those that failed (HTTP 200 all the same).
    pub async fn batch(&self, commands: &[(String, String)]) -> AdapterResult<(BTreeMap<String, Value>, Vec<Failure>)> {
        let mut results = BTreeMap::new();
        let mut failed = Vec::new();
        for chunk in commands.chunks(MAX_BATCH) {
            let cmd: serde_json::Map<String, Value> =
                chunk.iter().map(|(key, command)| (key.clone(), Value::String(command.clone()))).collect();
            let reply = self.ask("batch", &serde_json::json!({ "halt": 0, "cmd": cmd })).await?;
            let Value::Object(mut outer) = reply.result else {
                return Err(AdapterError::Invalid("bitrix24 batch: result is not an object".into()));
            };
            // Empty collections are `[]`, not `{}`.
            match outer.remove("result") {
                Some(Value::Object(map)) => results.extend(map),
                Some(Value::Array(list)) if list.is_empty() => {}
                _ => return Err(AdapterError::Invalid("bitrix24 batch: no result".into())),
            }
            if let Some(Value::Object(errors)) = outer.remove("result_error") {
                for (key, error) in errors {
                    let field = |name: &str| match error.get(name) {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    let (code, description) = (field("error"), field("error_description"));
                    tracing::debug!(command = key.as_str(), code = code.as_str(), "a bitrix24 batch command failed");
                    failed.push(classify(&key, 200, code, description));
                }
            }
        }
        Ok((results, failed))
    }

    /// Downloads a file the portal generated. Only from the portal itself (an OAuth token is
    /// added to the URL when it has none): a URL elsewhere is refused, so no credential leaves.
    pub async fn download(&self, url: &str) -> AdapterResult<Vec<u8>> {
        let mut url =
            Url::parse(url).map_err(|_| AdapterError::Invalid("bitrix24: the file URL is not a URL".into()))?;
        if url.origin() != self.endpoint.origin() {
            return Err(AdapterError::Invalid("bitrix24: the file URL is not on the portal".into()));
        }
        match &self.endpoint {
            Endpoint::OAuth { token, .. } => {
                if !url.query_pairs().any(|(k, _)| k == "auth") {
                    url.query_pairs_mut().append_pair("auth", token.expose_secret());
                }
            }
            // A machine URL of a REST method without the webhook's path is sent through it.
            Endpoint::Webhook(base) => {
                if let Some(method) = url.path().strip_prefix("/rest/")
                    && !url.path().starts_with(base.path())
                {
                    let path = format!("{}{method}", base.path());
                    url.set_path(&path);
                }
            }
        }
        self.limiter.until_ready().await;
        let response = self.http.get(url).send().await.map_err(|e| transport(&e))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| transport(&e))?;
        if (200..300).contains(&status) && body.starts_with(b"%PDF") {
            return Ok(body.to_vec());
        }
        let (code, description) = match serde_json::from_slice::<Value>(&body) {
            Ok(v) => (
                v.get("error").and_then(Value::as_str).unwrap_or("").to_owned(),
                v.get("error_description").and_then(Value::as_str).unwrap_or("").to_owned(),
            ),
            Err(_) => (String::new(), String::new()),
        };
        if (200..300).contains(&status) && code.is_empty() {
            // A login page or an error page: the browser URL needs a logged-in browser.
            return Err(AdapterError::Invalid("bitrix24: the file is not a PDF".into()));
        }
        Err(classify("download", status, code, description).into_adapter("download"))
    }
}

/// At most this many commands in one `batch`.
pub(super) const MAX_BATCH: usize = 50;

/// A request that did not get an answer. The error's text is given without its URL.
fn transport(e: &reqwest::Error) -> AdapterError {
    if e.is_timeout() {
        AdapterError::Timeout
    } else {
        AdapterError::Unavailable(format!("bitrix24 did not answer: {}", describe(e)))
    }
}

/// What went wrong with a request, without the URL reqwest would print.
fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut"
    } else {
        "request failed"
    }
}

/// An error answer as a [`Failure`]; refused credentials and permissions are logged for the
/// operator (without the URL or token).
fn classify(method: &str, status: u16, code: String, description: String) -> Failure {
    let auth = matches!(code.as_str(), "NO_AUTH_FOUND" | "expired_token" | "invalid_token" | "WRONG_AUTH_TYPE");
    let denied = matches!(code.as_str(), "insufficient_scope" | "ACCESS_DENIED" | "INVALID_CREDENTIALS");
    if code == "QUERY_LIMIT_EXCEEDED" || code == "OPERATION_TIME_LIMIT" || status == 429 {
        let code = if code.is_empty() { "429".to_owned() } else { code };
        return Failure::Limit(code);
    }
    if status == 401 || auth {
        tracing::error!(
            method,
            status,
            code = code.as_str(),
            "bitrix24 refused the credentials: check backends.bitrix24 webhook_url or access_token \
             (an OAuth token expires after an hour and must be refreshed)"
        );
        return Failure::Other(AdapterError::Unavailable(format!("bitrix24 refused the credentials ({code})")));
    }
    if status == 403 || denied {
        tracing::error!(
            method,
            status,
            code = code.as_str(),
            "bitrix24 denied the method: the webhook or application lacks the scope (crm, documentgenerator)"
        );
        return Failure::Other(AdapterError::Unavailable(format!("bitrix24 denied {method} ({code})")));
    }
    if code == "OVERLOAD_LIMIT" {
        tracing::error!(
            method,
            "bitrix24 blocked this client for overloading the portal; requests_per_second may be too high"
        );
    }
    if code == "ERROR_METHOD_NOT_FOUND" {
        tracing::error!(method, "bitrix24 has no such method: the portal's plan or modules lack it");
    }
    if status >= 500 {
        return Failure::Other(AdapterError::Unavailable(format!("bitrix24 answered {status} {code}")));
    }
    if code.is_empty() && description.is_empty() {
        return Failure::Other(AdapterError::Invalid(format!("bitrix24 {method}: answered {status} without an error")));
    }
    Failure::Api { status, code, description }
}
