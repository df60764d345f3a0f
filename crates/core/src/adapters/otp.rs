//! One-time codes for step-up verification: a gateway delivers a code to the customer's phone
//! (an SMS service), outside Telegram, so that whoever holds the Telegram account also holds
//! the phone before a sensitive change.
//!
//! Gateways: [`LogGateway`] (development: writes the code to the log), [`HttpGateway`] (a
//! configurable URL template), and [`MemoryGateway`] (tests and transcripts read the code
//! back).

use std::sync::Mutex;

use async_trait::async_trait;

use super::{AdapterError, AdapterResult};
use crate::domain::{Locale, Phone};

/// Delivers a one-time code.
#[async_trait]
pub trait OtpGateway: Send + Sync {
    async fn send(&self, phone: &Phone, code: &str, locale: Locale) -> AdapterResult<()>;
}

/// Writes the code to the log (development only: never configure it for real customers).
pub struct LogGateway;

#[async_trait]
impl OtpGateway for LogGateway {
    async fn send(&self, phone: &Phone, code: &str, _locale: Locale) -> AdapterResult<()> {
        tracing::warn!(phone = %phone.masked(), code, "one-time code (log gateway, development only)");
        Ok(())
    }
}

/// Keeps the codes it was asked to send, for tests and transcripts.
#[derive(Default)]
pub struct MemoryGateway {
    sent: Mutex<Vec<(Phone, String)>>,
}

impl MemoryGateway {
    /// The last code sent to `phone`.
    pub fn last_code(&self, phone: &Phone) -> Option<String> {
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.iter().rev().find(|(p, _)| p == phone).map(|(_, code)| code.clone())
    }

    /// The last code sent to anyone.
    pub fn last(&self) -> Option<(Phone, String)> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).last().cloned()
    }
}

#[async_trait]
impl OtpGateway for MemoryGateway {
    async fn send(&self, phone: &Phone, code: &str, _locale: Locale) -> AdapterResult<()> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push((phone.clone(), code.to_owned()));
        Ok(())
    }
}

/// Sends the code with an HTTP POST to a URL template in which `{phone}` (E.164, URL-encoded),
/// `{code}` and `{locale}` are replaced; any 2xx answer is success.
pub struct HttpGateway {
    client: reqwest::Client,
    url_template: String,
}

impl HttpGateway {
    pub fn new(url_template: String, timeout: std::time::Duration) -> AdapterResult<HttpGateway> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| AdapterError::Unavailable(e.to_string()))?;
        Ok(HttpGateway { client, url_template })
    }

    fn url(&self, phone: &Phone, code: &str, locale: Locale) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        self.url_template
            .replace("{phone}", &enc(phone.as_str()))
            .replace("{code}", &enc(code))
            .replace("{locale}", locale.as_str())
    }
}

#[async_trait]
impl OtpGateway for HttpGateway {
    async fn send(&self, phone: &Phone, code: &str, locale: Locale) -> AdapterResult<()> {
        let url = self.url(phone, code, locale);
        let response = self.client.post(&url).send().await.map_err(|e| {
            // The URL holds the code: log neither.
            if e.is_timeout() {
                AdapterError::Timeout
            } else {
                AdapterError::Unavailable("the code gateway did not answer".into())
            }
        })?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(AdapterError::Unavailable(format!("the code gateway answered {}", response.status().as_u16())))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn phone() -> Phone {
        Phone::parse("+77011234567").unwrap()
    }

    #[tokio::test]
    async fn the_http_gateway_posts_the_code_to_the_url_template() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/sms"))
            .and(query_param("to", "+77011234567"))
            .and(query_param("text", "123456"))
            .and(query_param("lang", "ru"))
            .respond_with(ResponseTemplate::new(202))
            .expect(1)
            .mount(&server)
            .await;
        let template = format!("{}/sms?to={{phone}}&text={{code}}&lang={{locale}}", server.uri());
        let gateway = HttpGateway::new(template, Duration::from_secs(2)).unwrap();
        gateway.send(&phone(), "123456", Locale::Ru).await.unwrap();
    }

    #[tokio::test]
    async fn a_failing_or_slow_gateway_is_an_error_that_names_no_code() {
        let server = MockServer::start().await;
        Mock::given(path("/down")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
        Mock::given(path("/slow"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let down = HttpGateway::new(format!("{}/down?c={{code}}", server.uri()), Duration::from_secs(2)).unwrap();
        let err = down.send(&phone(), "654321", Locale::En).await.unwrap_err();
        assert!(matches!(err, AdapterError::Unavailable(_)) && !err.to_string().contains("654321"), "{err}");
        let slow = HttpGateway::new(format!("{}/slow?c={{code}}", server.uri()), Duration::from_millis(200)).unwrap();
        let err = slow.send(&phone(), "654321", Locale::En).await.unwrap_err();
        assert!(matches!(err, AdapterError::Timeout), "{err}");
    }

    #[tokio::test]
    async fn the_memory_gateway_gives_back_the_last_code_per_phone() {
        let gateway = MemoryGateway::default();
        let other = Phone::parse("+77025556677").unwrap();
        gateway.send(&phone(), "111111", Locale::Ru).await.unwrap();
        gateway.send(&other, "222222", Locale::Ru).await.unwrap();
        gateway.send(&phone(), "333333", Locale::Ru).await.unwrap();
        assert_eq!(gateway.last_code(&phone()).as_deref(), Some("333333"));
        assert_eq!(gateway.last_code(&other).as_deref(), Some("222222"));
        assert_eq!(gateway.last().map(|(_, c)| c).as_deref(), Some("333333"));
    }
}
