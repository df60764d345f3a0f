//! The generic HTTP/JSON backend: cabinet reads a business's systems through the contract in
//! `docs/backend-api.yaml`, which the business implements (only for the capabilities it has:
//! `[backends]` chooses a backend per capability).
//!
//! - [`HttpBackend`]: the client, implementing every adapter trait.
//! - [`server`]: the reference server, serving the contract from any [`Adapters`].
//! - [`wire`]: the bodies, shared by both.
//! - [`sign`]: request signing with a shared secret.
//!
//! The client adds no timeout, retry or breaker of its own: the adapter guard does.

pub mod server;
pub mod sign;
pub mod wire;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::domain::Phone;
use wire::*;

/// How cabinet reaches a business's HTTP backend (`[backends.http]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpBackendConfig {
    /// The base URL the contract's paths are appended to (`https://erp.example.com/cabinet`).
    pub url: String,
    /// The shared secret requests are signed with (`X-Cabinet-Signature`); unset, requests
    /// go unsigned.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// The largest document file accepted, in bytes (default 20 MB).
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: usize,
    /// The largest other answer accepted, in bytes (default 2 MB).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
}

fn default_max_file_bytes() -> usize {
    20 * 1024 * 1024
}

fn default_max_body_bytes() -> usize {
    2 * 1024 * 1024
}

impl HttpBackendConfig {
    /// A backend at `url` with the default limits and no secret.
    pub fn new(url: impl Into<String>) -> HttpBackendConfig {
        HttpBackendConfig {
            url: url.into(),
            secret: None,
            max_file_bytes: default_max_file_bytes(),
            max_body_bytes: default_max_body_bytes(),
        }
    }
}

/// Every adapter trait over a business's HTTP backend.
#[derive(Clone)]
pub struct HttpBackend {
    client: reqwest::Client,
    /// The base URL without a trailing slash.
    base: String,
    secret: Option<SecretString>,
    max_file_bytes: usize,
    max_body_bytes: usize,
}

impl std::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBackend").field("signed", &self.secret.is_some()).finish_non_exhaustive()
    }
}

/// Everything but the unreserved characters is percent-encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// One segment of a path, percent-encoded (ids of any shape: slashes, dots, spaces).
fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `/customers/{id}` and more segments, each encoded.
fn customer_path(id: &CustomerId, rest: &[&str]) -> String {
    let mut path = format!("/customers/{}", seg(id.as_str()));
    for part in rest {
        path.push('/');
        path.push_str(&seg(part));
    }
    path
}

/// What the backend answered.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    disposition: Option<String>,
    body: Vec<u8>,
}

/// A write's answer: done, refused, or about nothing known.
enum Written<T> {
    Done(T),
    Refused(Refusal),
    NotFound,
}

impl HttpBackend {
    /// A client of the backend `config` describes (rustls; no timeout of its own).
    pub fn new(config: &HttpBackendConfig) -> anyhow::Result<HttpBackend> {
        let base = config.url.trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&base).map_err(|e| anyhow::anyhow!("backends.http.url: {e}"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https"),
            "backends.http.url: not an http(s) URL: {}",
            parsed.scheme()
        );
        anyhow::ensure!(parsed.query().is_none(), "backends.http.url: a base URL has no query");
        // A redirect would carry the signature headers to wherever it points: none is followed.
        let client = reqwest::Client::builder().use_rustls_tls().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(HttpBackend {
            client,
            base,
            secret: config.secret.clone(),
            max_file_bytes: config.max_file_bytes,
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// Every capability served by this backend, named "http".
    pub fn adapters(self) -> Adapters {
        let me = Arc::new(self);
        Adapters {
            crm: me.clone(),
            billing: me.clone(),
            logistics: me.clone(),
            documents: me.clone(),
            shop: me.clone(),
            loyalty: me.clone(),
            booking: me.clone(),
            directory: me,
            names: BackendNames::all("http"),
        }
    }

    /// Sends one request (signed when there is a secret) and reads at most `limit` bytes.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
        idempotency_key: Option<&str>,
        limit: usize,
    ) -> AdapterResult<Answer> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base))
            .map_err(|_| AdapterError::Unavailable("cannot build the request URL".to_owned()))?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        let body = body.unwrap_or_default();
        let mut request = self.client.request(method.clone(), url.clone());
        if !body.is_empty() {
            request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(secret) = &self.secret {
            let timestamp = Utc::now().timestamp();
            let path_and_query = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let signature =
                sign::signature(secret.expose_secret().as_bytes(), timestamp, method.as_str(), &path_and_query, &body);
            request =
                request.header(sign::TIMESTAMP_HEADER, timestamp.to_string()).header(sign::SIGNATURE_HEADER, signature);
        }
        let mut response = request.body(body).send().await.map_err(transport)?;
        let status = response.status();
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let disposition = header(reqwest::header::CONTENT_DISPOSITION);
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(AdapterError::Invalid(format!(
                "{path_kind} answer larger than {limit} bytes",
                path_kind = kind(path)
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(AdapterError::Invalid(format!("{} answer larger than {limit} bytes", kind(path))));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, content_type, disposition, body })
    }

    /// A read: 2xx parsed, 404 `None`, anything else an error.
    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> AdapterResult<Option<T>> {
        let answer = self.send(Method::GET, path, query, None, None, self.max_body_bytes).await?;
        match answer.status {
            s if s.is_success() => parse(path, &answer.body).map(Some),
            StatusCode::NOT_FOUND => Ok(None),
            s => Err(failure(path, s)),
        }
    }

    /// A list: 404 (an operation the backend does not implement, an unknown customer) reads
    /// as empty.
    async fn get_list<T: DeserializeOwned + Default>(&self, path: &str, query: &[(&str, String)]) -> AdapterResult<T> {
        Ok(self.get(path, query).await?.unwrap_or_default())
    }

    /// A read whose absence is an error.
    async fn get_some<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> AdapterResult<T> {
        self.get(path, query)
            .await?
            .ok_or_else(|| AdapterError::Invalid(format!("{}: 404 where the contract has no 404", kind(path))))
    }

    /// A write (POST with a JSON body): done, refused (409/422 with a refusal) or 404.
    async fn post<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> AdapterResult<Written<T>> {
        let bytes = serde_json::to_vec(body).map_err(|e| AdapterError::Invalid(format!("cannot encode: {e}")))?;
        let answer = self.send(Method::POST, path, &[], Some(bytes), idempotency_key, self.max_body_bytes).await?;
        match answer.status {
            s if s.is_success() => parse(path, &answer.body).map(Written::Done),
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {
                parse::<Refusal>(path, &answer.body).map(Written::Refused)
            }
            StatusCode::NOT_FOUND => Ok(match serde_json::from_slice::<Refusal>(&answer.body) {
                Ok(refusal) => Written::Refused(refusal),
                Err(_) => Written::NotFound,
            }),
            s => Err(failure(path, s)),
        }
    }

    /// A write whose answer must be a success.
    async fn post_ok<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> AdapterResult<Option<T>> {
        match self.post(path, body, idempotency_key).await? {
            Written::Done(t) => Ok(Some(t)),
            Written::NotFound => Ok(None),
            Written::Refused(r) => Err(unknown_refusal(path, &r)),
        }
    }

    async fn booking_write(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        idempotency_key: Option<&str>,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        match self.post::<_, WireAppointment>(path, body, idempotency_key).await? {
            Written::Done(a) => Ok(Ok(a.into())),
            Written::NotFound => Ok(Err(BookingRefusal::NotFound)),
            Written::Refused(r) => booking_refusal(&r.refusal).map(Err).ok_or_else(|| unknown_refusal(path, &r)),
        }
    }

    async fn change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        idempotency_key: Option<&str>,
    ) -> AdapterResult<ChangeOutcome> {
        let path = customer_path(id, &["subscription", if idempotency_key.is_some() { "changes" } else { "quote" }]);
        match self.post::<_, ChangeDone>(&path, change, idempotency_key).await? {
            Written::Done(d) => {
                Ok(ChangeOutcome::Done { monthly_fee: d.monthly_fee, effective: d.effective, currency: d.currency })
            }
            Written::NotFound => Ok(ChangeOutcome::Refused(ChangeRefusal::NoSubscription)),
            Written::Refused(r) => {
                change_refusal(&r.refusal).map(ChangeOutcome::Refused).ok_or_else(|| unknown_refusal(&path, &r))
            }
        }
    }
}

/// The first segment of a path, for messages that name no customer nor id.
fn kind(path: &str) -> &str {
    let mut parts = path.trim_start_matches('/').split('/');
    match parts.next() {
        Some("customers") => parts.nth(1).unwrap_or("customers"),
        Some(first) => first,
        None => "",
    }
}

fn parse<T: DeserializeOwned>(path: &str, body: &[u8]) -> AdapterResult<T> {
    serde_json::from_slice(body).map_err(|e| AdapterError::Invalid(format!("{}: {e}", kind(path))))
}

/// An answer that is neither a success, a 404 nor a refusal.
fn failure(path: &str, status: StatusCode) -> AdapterError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            AdapterError::Unavailable(format!("signature refused ({})", status.as_u16()))
        }
        s if s.is_server_error() => AdapterError::Unavailable(format!("{}: HTTP {}", kind(path), s.as_u16())),
        s => AdapterError::Invalid(format!("{}: unexpected HTTP {}", kind(path), s.as_u16())),
    }
}

fn unknown_refusal(path: &str, r: &Refusal) -> AdapterError {
    AdapterError::Invalid(format!("{}: unexpected refusal {:?}", kind(path), r.refusal))
}

/// A transport failure, without the URL (it may hold ids and queries).
fn transport(e: reqwest::Error) -> AdapterError {
    if e.is_timeout() {
        return AdapterError::Timeout;
    }
    let what = if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    AdapterError::Unavailable(what.to_owned())
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[async_trait]
impl Crm for HttpBackend {
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>> {
        let found: Option<Customer> = self.get("/customer-lookup", &[("phone", phone.as_str().to_owned())]).await?;
        found.map(|c| CustomerProfile::try_from(c).map_err(AdapterError::Invalid)).transpose()
    }

    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>> {
        let found: Option<Customer> = self.get(&customer_path(id, &[]), &[]).await?;
        found.map(|c| CustomerProfile::try_from(c).map_err(AdapterError::Invalid)).transpose()
    }

    async fn search(&self, query: &str, limit: u32) -> AdapterResult<Vec<CustomerProfile>> {
        let list: CustomerList =
            self.get_list("/customer-search", &[("q", query.to_owned()), ("limit", limit.to_string())]).await?;
        list.customers.into_iter().map(|c| CustomerProfile::try_from(c).map_err(AdapterError::Invalid)).collect()
    }

    async fn create_lead(&self, lead: &NewLead) -> AdapterResult<Option<String>> {
        let body = LeadRequest {
            phone: lead.phone.as_str().to_owned(),
            first_name: lead.first_name.clone(),
            telegram_user_id: lead.telegram_user_id,
            at: lead.at,
        };
        let answer: Option<LeadResponse> = self.post_ok("/leads", &body, None).await?;
        Ok(answer.and_then(|a| a.lead_id))
    }

    async fn add_note(&self, id: &CustomerId, text: &str) -> AdapterResult<bool> {
        let answer: Option<NoteResponse> =
            self.post_ok(&customer_path(id, &["notes"]), &NoteRequest { text: text.to_owned() }, None).await?;
        Ok(answer.is_some_and(|a| a.kept))
    }
}

#[async_trait]
impl Billing for HttpBackend {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>> {
        let found: Option<WireAccount> = self.get(&customer_path(id, &["account"]), &[]).await?;
        Ok(found.map(Account::from))
    }

    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>> {
        let found: Option<TransactionList> =
            self.get(&customer_path(id, &["transactions"]), &[("limit", limit.to_string())]).await?;
        Ok(found.map(|l| l.transactions.into_iter().map(Transaction::from).collect()).unwrap_or_default())
    }

    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
        let list: TariffList = self.get_list("/tariffs", &[]).await?;
        Ok(list.tariffs.into_iter().map(Tariff::from).collect())
    }

    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
        let list: TariffList = self.get_list("/tariff-options", &[]).await?;
        Ok(list.tariffs.into_iter().map(Tariff::from).collect())
    }

    async fn quote_change(&self, id: &CustomerId, change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
        self.change(id, change, None).await
    }

    async fn apply_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        idempotency_key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        self.change(id, change, Some(idempotency_key)).await
    }

    async fn payment_link(&self, id: &CustomerId, amount: Decimal, reference: &str) -> AdapterResult<String> {
        let path = customer_path(id, &["payment-links"]);
        let body = PaymentLinkRequest { amount, reference: reference.to_owned() };
        let link: Option<PaymentLink> = self.post_ok(&path, &body, Some(reference)).await?;
        link.map(|l| l.url).ok_or_else(|| AdapterError::Invalid("payment-links: no such customer".to_owned()))
    }

    async fn credit_payment(
        &self,
        id: &CustomerId,
        amount: Decimal,
        payment_id: &str,
        title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        let path = customer_path(id, &["payments"]);
        let body = CreditRequest { amount, payment_id: payment_id.to_owned(), title: title.clone() };
        let answer: Option<CreditResponse> = self.post_ok(&path, &body, Some(payment_id)).await?;
        answer.map(|a| a.balance).ok_or_else(|| AdapterError::Invalid("payments: no such customer".to_owned()))
    }
}

#[async_trait]
impl Logistics for HttpBackend {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        let query = [("offset", offset.to_string()), ("limit", limit.to_string())];
        let page: Option<WireOrderPage> = self.get(&customer_path(id, &["orders"]), &query).await?;
        Ok(page.map_or_else(|| OrderPage { orders: Vec::new(), total: 0, currency: String::new() }, OrderPage::from))
    }

    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        let list: OrderList = self.get_list(&customer_path(id, &["active-orders"]), &[]).await?;
        Ok(list.orders.into_iter().map(Order::from).collect())
    }

    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        let found: Option<WireOrder> = self.get(&customer_path(id, &["orders", number]), &[]).await?;
        Ok(found.map(Order::from))
    }

    /// 200: cancelled; 404: not the customer's; 409 with the order's status as the refusal:
    /// too late; 422 `not_supported`: a person cancels orders.
    async fn cancel_order(&self, id: &CustomerId, number: &str) -> AdapterResult<OrderCancellation> {
        let path = customer_path(id, &["orders", number, "cancel"]);
        Ok(match self.post::<_, serde_json::Value>(&path, &serde_json::json!({}), None).await? {
            Written::Done(_) => OrderCancellation::Cancelled,
            Written::NotFound => OrderCancellation::NotFound,
            Written::Refused(r) => match r.refusal.as_str() {
                ORDER_CANCEL_NOT_SUPPORTED => OrderCancellation::Unsupported,
                status => OrderCancellation::TooLate(OrderStatus::parse(status)),
            },
        })
    }
}

/// The refusal of a backend that does not cancel orders itself.
pub const ORDER_CANCEL_NOT_SUPPORTED: &str = "not_supported";

#[async_trait]
impl Documents for HttpBackend {
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<DocumentInfo>> {
        let list: DocumentList = self.get_list(&customer_path(id, &["documents"]), &[]).await?;
        Ok(list.documents.into_iter().map(DocumentInfo::from).collect())
    }

    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentInfo>> {
        let found: Option<WireDocument> = self.get(&customer_path(id, &["documents", doc_id]), &[]).await?;
        Ok(found.map(DocumentInfo::from))
    }

    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentFile>> {
        let path = customer_path(id, &["documents", doc_id, "file"]);
        let answer = self.send(Method::GET, &path, &[], None, None, self.max_file_bytes).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return Err(failure(&path, answer.status));
        }
        let media = answer.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_owned();
        if media.eq_ignore_ascii_case("application/json") {
            if answer.body.len() > self.max_body_bytes {
                return Err(AdapterError::Invalid(format!("file answer larger than {} bytes", self.max_body_bytes)));
            }
            return Ok(Some(match parse::<FileReply>(&path, &answer.body)? {
                FileReply::Url { file_name, url } => DocumentFile::Url { file_name, url },
                FileReply::Data(data) => DocumentFile::Data(data.into()),
            }));
        }
        if !media.eq_ignore_ascii_case("application/pdf") {
            return Err(AdapterError::Invalid(format!("file: unexpected content type {media:?}")));
        }
        let file_name = answer
            .disposition
            .as_deref()
            .and_then(disposition_file_name)
            .unwrap_or_else(|| format!("{}.pdf", doc_id.replace(['/', '\\'], "_")));
        Ok(Some(DocumentFile::Bytes { file_name, bytes: answer.body }))
    }
}

/// The `filename` of a `Content-Disposition: attachment; filename="act-2024-12.pdf"`.
fn disposition_file_name(value: &str) -> Option<String> {
    value.split(';').map(str::trim).find_map(|part| {
        let name = part.strip_prefix("filename=")?.trim_matches('"');
        (!name.is_empty()).then(|| name.replace(['/', '\\'], "_"))
    })
}

#[async_trait]
impl Shop for HttpBackend {
    async fn products(&self, skus: &[String]) -> AdapterResult<Vec<Product>> {
        let body = ProductsRequest { skus: skus.to_vec() };
        let list: Option<ProductList> = self.post_ok("/product-lookup", &body, None).await?;
        Ok(list.map(|l| l.products.into_iter().map(Product::from).collect()).unwrap_or_default())
    }

    async fn catalogue(&self) -> AdapterResult<Vec<Product>> {
        // Optional in the contract: a backend without it (404) has an empty catalogue.
        let list: ProductList = self.get_list("/catalogue", &[]).await?;
        Ok(list.products.into_iter().map(Product::from).collect())
    }

    async fn last_delivered_order(&self, id: &CustomerId) -> AdapterResult<Option<Order>> {
        let found: Option<WireOrder> = self.get(&customer_path(id, &["last-delivered-order"]), &[]).await?;
        Ok(found.map(Order::from))
    }

    async fn create_order(
        &self,
        id: &CustomerId,
        order: &NewOrder,
        idempotency_key: &str,
    ) -> AdapterResult<Result<CreatedOrder, OrderRefusal>> {
        let path = customer_path(id, &["orders"]);
        let body = NewOrderRequest {
            lines: order.lines.iter().map(|(sku, qty)| OrderLine { sku: sku.clone(), qty: *qty }).collect(),
            address: order.address.clone(),
        };
        match self.post::<_, WireCreatedOrder>(&path, &body, Some(idempotency_key)).await? {
            Written::Done(c) => {
                Ok(Ok(CreatedOrder { number: c.number, total: c.total, currency: c.currency, new: c.new }))
            }
            Written::NotFound => Err(AdapterError::Invalid("orders: no such customer".to_owned())),
            Written::Refused(r) => {
                let code = r.refusal.clone();
                order_refusal(r).map(Err).ok_or_else(|| unknown_refusal(&path, &Refusal::code(&code)))
            }
        }
    }
}

#[async_trait]
impl Loyalty for HttpBackend {
    async fn offer(&self, id: &CustomerId) -> AdapterResult<Option<Offer>> {
        let found: Option<WireOffer> = self.get(&customer_path(id, &["offer"]), &[]).await?;
        Ok(found.map(Offer::from))
    }

    async fn referral_code(&self, id: &CustomerId) -> AdapterResult<String> {
        let code: ReferralCode = self.get_some(&customer_path(id, &["referral-code"]), &[]).await?;
        Ok(code.code)
    }

    async fn credit_referral(&self, code: &str, referred: &CustomerId) -> AdapterResult<ReferralOutcome> {
        let body = ReferralRequest { code: code.to_owned(), referred: referred.0.clone() };
        match self.post::<_, ReferralCredited>("/referrals", &body, None).await? {
            Written::Done(c) => Ok(ReferralOutcome::Credited { referrer: CustomerId(c.referrer), points: c.points }),
            Written::NotFound => Ok(ReferralOutcome::UnknownCode),
            Written::Refused(r) => {
                let code = r.refusal.clone();
                referral_refusal(r).ok_or_else(|| unknown_refusal("/referrals", &Refusal::code(&code)))
            }
        }
    }
}

#[async_trait]
impl Booking for HttpBackend {
    async fn services(&self) -> AdapterResult<Vec<Service>> {
        let list: ServiceList = self.get_list("/services", &[]).await?;
        Ok(list.services.into_iter().map(Service::from).collect())
    }

    async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
        let list: StaffList = self.get_list("/staff", &[]).await?;
        Ok(list.staff.into_iter().map(StaffMember::from).collect())
    }

    async fn preferred_staff(&self, id: &CustomerId) -> AdapterResult<Option<String>> {
        let found: Option<PreferredStaff> = self.get(&customer_path(id, &["preferred-staff"]), &[]).await?;
        Ok(found.map(|p| p.staff))
    }

    async fn free_slots(
        &self,
        service: &str,
        staff: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<Vec<Slot>> {
        let mut query = vec![("service", service.to_owned()), ("from", rfc3339(from)), ("to", rfc3339(to))];
        if let Some(staff) = staff {
            query.push(("staff", staff.to_owned()));
        }
        let list: Option<SlotList> = self.get("/free-slots", &query).await?;
        Ok(list.map(|l| l.slots).unwrap_or_default())
    }

    async fn book(
        &self,
        id: &CustomerId,
        service: &str,
        slot: &Slot,
        idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let body = BookRequest { service: service.to_owned(), start: slot.start, staff: slot.staff.clone() };
        self.booking_write(&customer_path(id, &["bookings"]), &body, Some(idempotency_key)).await
    }

    async fn appointments(&self, id: &CustomerId, from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>> {
        let found: Option<AppointmentList> =
            self.get(&customer_path(id, &["bookings"]), &[("from", rfc3339(from))]).await?;
        Ok(found.map(|l| l.appointments.into_iter().map(Appointment::from).collect()).unwrap_or_default())
    }

    async fn appointment(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Appointment>> {
        let found: Option<WireAppointment> = self.get(&customer_path(id, &["bookings", booking_id]), &[]).await?;
        Ok(found.map(Appointment::from))
    }

    async fn reschedule(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let body = RescheduleRequest { start: slot.start, staff: slot.staff.clone() };
        self.booking_write(&customer_path(id, &["bookings", booking_id, "reschedule"]), &body, None).await
    }

    async fn cancel(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        self.booking_write(&customer_path(id, &["bookings", booking_id, "cancel"]), &serde_json::json!({}), None).await
    }

    async fn upcoming(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
        let list: UpcomingList =
            self.get_list("/upcoming-appointments", &[("from", rfc3339(from)), ("to", rfc3339(to))]).await?;
        Ok(list.appointments.into_iter().map(|u| (CustomerId(u.customer_id), u.appointment.into())).collect())
    }
}

#[async_trait]
impl Directory for HttpBackend {
    async fn business(&self) -> AdapterResult<Option<BusinessInfo>> {
        self.get("/business", &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded_whatever_the_id() {
        let id = CustomerId("a/b c?d#é".to_owned());
        assert_eq!(customer_path(&id, &["orders", "A-1.2"]), "/customers/a%2Fb%20c%3Fd%23%C3%A9/orders/A-1%2E2");
        assert_eq!(kind("/customers/x%2Fy/orders/1"), "orders");
        assert_eq!(kind("/business"), "business");
    }

    #[test]
    fn a_file_name_comes_from_the_disposition_without_slashes() {
        assert_eq!(disposition_file_name("attachment; filename=\"act.pdf\"").as_deref(), Some("act.pdf"));
        assert_eq!(disposition_file_name("attachment; filename=../x.pdf").as_deref(), Some(".._x.pdf"));
        assert_eq!(disposition_file_name("inline"), None);
    }

    #[test]
    fn the_config_refuses_unknown_fields() {
        let ok: HttpBackendConfig = toml::from_str("url = \"http://127.0.0.1:1\"\nsecret = \"s\"").unwrap();
        assert_eq!(ok.max_file_bytes, 20 * 1024 * 1024);
        assert!(toml::from_str::<HttpBackendConfig>("url = \"http://x\"\ntimeout = 3").is_err());
        assert!(HttpBackend::new(&HttpBackendConfig::new("ftp://x")).is_err());
    }
}
