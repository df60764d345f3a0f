//! The reference server of the HTTP backend contract (`docs/backend-api.yaml`): serves it
//! from any [`Adapters`], checking request signatures when it has a secret. It is the
//! contract's executable definition: the client and it share the bodies of [`super::wire`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

use super::sign;
use super::wire::*;
use crate::adapters::{
    AdapterError, Adapters, ChangeOutcome, CustomerId, DocumentFile, NewLead, NewOrder, OrderCancellation,
    ReferralOutcome, Slot, SubscriptionChange,
};
use crate::domain::Phone;

/// The largest request body the server reads.
const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

type Shared = State<Arc<Adapters>>;
type Reply = Result<Response, Fail>;

/// The whole contract over `adapters`; with a `secret`, a request without a valid signature
/// or with a timestamp more than [`sign::MAX_SKEW_SECS`] away is answered 401.
pub fn router(adapters: Adapters, secret: Option<SecretString>) -> axum::Router {
    let routes = axum::Router::new()
        .route("/customer-lookup", get(find_by_phone))
        .route("/customer-search", get(search))
        .route("/leads", post(create_lead))
        .route("/customers/{id}", get(profile))
        .route("/customers/{id}/notes", post(add_note))
        .route("/customers/{id}/account", get(account))
        .route("/customers/{id}/transactions", get(transactions))
        .route("/tariffs", get(tariffs))
        .route("/tariff-options", get(tariff_options))
        .route("/customers/{id}/subscription/quote", post(quote_change))
        .route("/customers/{id}/subscription/changes", post(apply_change))
        .route("/customers/{id}/payment-links", post(payment_link))
        .route("/customers/{id}/payments", post(credit_payment))
        .route("/customers/{id}/orders", get(orders).post(create_order))
        .route("/customers/{id}/active-orders", get(active_orders))
        .route("/customers/{id}/orders/{number}", get(order))
        .route("/customers/{id}/orders/{number}/cancel", post(cancel_order))
        .route("/customers/{id}/documents", get(documents))
        .route("/customers/{id}/documents/{doc}", get(document))
        .route("/customers/{id}/documents/{doc}/file", get(file))
        .route("/product-lookup", post(products))
        .route("/catalogue", get(catalogue))
        .route("/customers/{id}/last-delivered-order", get(last_delivered_order))
        .route("/customers/{id}/offer", get(offer))
        .route("/customers/{id}/referral-code", get(referral_code))
        .route("/referrals", post(credit_referral))
        .route("/services", get(services))
        .route("/staff", get(staff))
        .route("/customers/{id}/preferred-staff", get(preferred_staff))
        .route("/free-slots", get(free_slots))
        .route("/customers/{id}/bookings", get(appointments).post(book))
        .route("/customers/{id}/bookings/{booking}", get(appointment))
        .route("/customers/{id}/bookings/{booking}/reschedule", post(reschedule))
        .route("/customers/{id}/bookings/{booking}/cancel", post(cancel))
        .route("/upcoming-appointments", get(upcoming))
        .route("/business", get(business))
        .with_state(Arc::new(adapters));
    match secret {
        Some(secret) => routes.layer(middleware::from_fn_with_state(Arc::new(secret), check_signature)),
        None => routes,
    }
}

/// How long [`LocalServer::stop`] waits for the requests in hand.
pub const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A reference server running on a local port (tests and the transcript runner use it).
pub struct LocalServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl LocalServer {
    /// Serves [`router`] on 127.0.0.1 at a free port until [`LocalServer::stop`].
    pub async fn start(adapters: Adapters, secret: Option<SecretString>) -> std::io::Result<LocalServer> {
        LocalServer::serve(router(adapters, secret)).await
    }

    /// Serves `app` on 127.0.0.1 at a free port until [`LocalServer::stop`].
    pub async fn serve(app: axum::Router) -> std::io::Result<LocalServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "the reference HTTP backend stopped");
            }
        });
        Ok(LocalServer { addr, shutdown: Some(tx), task: Some(task) })
    }

    /// Its base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits for the requests in hand (at most [`STOP_WAIT`]).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(STOP_WAIT, &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn check_signature(State(secret): State<Arc<SecretString>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large");
    };
    // Under `Router::nest` the original URI is the one the client signed.
    let uri = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.clone(), |u| u.0.clone());
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let verdict = sign::verify(
        secret.expose_secret().as_bytes(),
        Utc::now().timestamp(),
        header(sign::TIMESTAMP_HEADER),
        header(sign::SIGNATURE_HEADER),
        parts.method.as_str(),
        path_and_query,
        &bytes,
    );
    if let Err(why) = verdict {
        return error(StatusCode::UNAUTHORIZED, &why.to_string());
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// An adapter's failure as an answer: 504, 503 or 502.
struct Fail(AdapterError);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let status = match self.0 {
            AdapterError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            AdapterError::Unavailable(_) | AdapterError::CircuitOpen => StatusCode::SERVICE_UNAVAILABLE,
            AdapterError::Invalid(_) => StatusCode::BAD_GATEWAY,
        };
        error(status, &self.0.to_string())
    }
}

impl From<AdapterError> for Fail {
    fn from(e: AdapterError) -> Self {
        Fail(e)
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody { error: message.to_owned() })).into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}

fn ok<T: serde::Serialize>(body: T) -> Reply {
    Ok(Json(body).into_response())
}

/// 404, or the value.
fn found<T: serde::Serialize>(value: Option<T>) -> Reply {
    Ok(value.map_or_else(not_found, |v| Json(v).into_response()))
}

fn refused(refusal: Refusal) -> Reply {
    let status = if is_conflict(&refusal.refusal) { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, Json(refusal)).into_response())
}

/// The `Idempotency-Key` a write needs.
fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("idempotency-key").and_then(|v| v.to_str().ok()).filter(|k| !k.is_empty())
}

/// The answer to a write without its `Idempotency-Key`.
fn missing_key() -> Reply {
    Ok(error(StatusCode::BAD_REQUEST, "an Idempotency-Key header is required"))
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: String,
}

async fn find_by_phone(State(a): Shared, Query(q): Query<PhoneQuery>) -> Reply {
    let Ok(phone) = Phone::parse(&q.phone) else { return Ok(not_found()) };
    found(a.crm.find_by_phone(&phone).await?.as_ref().map(Customer::from))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: String,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    20
}

async fn search(State(a): Shared, Query(q): Query<SearchQuery>) -> Reply {
    let found = a.crm.search(&q.q, q.limit).await?;
    ok(CustomerList { customers: found.iter().map(Customer::from).collect() })
}

async fn create_lead(State(a): Shared, Json(body): Json<LeadRequest>) -> Reply {
    let Ok(phone) = Phone::parse(&body.phone) else {
        return Ok(error(StatusCode::BAD_REQUEST, "phone: not a phone number"));
    };
    let lead = NewLead { phone, first_name: body.first_name, telegram_user_id: body.telegram_user_id, at: body.at };
    ok(LeadResponse { lead_id: a.crm.create_lead(&lead).await? })
}

async fn profile(State(a): Shared, Path(id): Path<String>) -> Reply {
    found(a.crm.profile(&CustomerId(id)).await?.as_ref().map(Customer::from))
}

async fn add_note(State(a): Shared, Path(id): Path<String>, Json(body): Json<NoteRequest>) -> Reply {
    ok(NoteResponse { kept: a.crm.add_note(&CustomerId(id), &body.text).await? })
}

async fn account(State(a): Shared, Path(id): Path<String>) -> Reply {
    found(a.billing.account(&CustomerId(id)).await?.as_ref().map(WireAccount::from))
}

#[derive(Deserialize)]
struct LimitQuery {
    #[serde(default = "default_limit")]
    limit: u32,
}

async fn transactions(State(a): Shared, Path(id): Path<String>, Query(q): Query<LimitQuery>) -> Reply {
    let list = a.billing.transactions(&CustomerId(id), q.limit).await?;
    ok(TransactionList { transactions: list.iter().map(WireTransaction::from).collect() })
}

async fn tariffs(State(a): Shared) -> Reply {
    ok(TariffList { tariffs: a.billing.tariffs().await?.iter().map(WireTariff::from).collect() })
}

async fn tariff_options(State(a): Shared) -> Reply {
    ok(TariffList { tariffs: a.billing.tariff_options().await?.iter().map(WireTariff::from).collect() })
}

fn change_reply(outcome: ChangeOutcome) -> Reply {
    match outcome {
        ChangeOutcome::Done { monthly_fee, effective, currency } => ok(ChangeDone { monthly_fee, effective, currency }),
        ChangeOutcome::Refused(r) => refused(Refusal::code(change_refusal_code(r))),
    }
}

async fn quote_change(State(a): Shared, Path(id): Path<String>, Json(change): Json<SubscriptionChange>) -> Reply {
    change_reply(a.billing.quote_change(&CustomerId(id), &change).await?)
}

async fn apply_change(
    State(a): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(change): Json<SubscriptionChange>,
) -> Reply {
    let Some(key) = idempotency_key(&headers) else { return missing_key() };
    change_reply(a.billing.apply_change(&CustomerId(id), &change, key).await?)
}

async fn payment_link(State(a): Shared, Path(id): Path<String>, Json(body): Json<PaymentLinkRequest>) -> Reply {
    ok(PaymentLink { url: a.billing.payment_link(&CustomerId(id), body.amount, &body.reference).await? })
}

async fn credit_payment(State(a): Shared, Path(id): Path<String>, Json(body): Json<CreditRequest>) -> Reply {
    let balance = a.billing.credit_payment(&CustomerId(id), body.amount, &body.payment_id, &body.title).await?;
    ok(CreditResponse { balance })
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    offset: u32,
    #[serde(default = "default_limit")]
    limit: u32,
}

async fn orders(State(a): Shared, Path(id): Path<String>, Query(q): Query<PageQuery>) -> Reply {
    ok(WireOrderPage::from(&a.logistics.orders(&CustomerId(id), q.offset, q.limit).await?))
}

async fn active_orders(State(a): Shared, Path(id): Path<String>) -> Reply {
    let list = a.logistics.active_orders(&CustomerId(id)).await?;
    ok(OrderList { orders: list.iter().map(WireOrder::from).collect() })
}

async fn order(State(a): Shared, Path((id, number)): Path<(String, String)>) -> Reply {
    found(a.logistics.order(&CustomerId(id), &number).await?.as_ref().map(WireOrder::from))
}

async fn cancel_order(State(a): Shared, Path((id, number)): Path<(String, String)>) -> Reply {
    match a.logistics.cancel_order(&CustomerId(id), &number).await? {
        OrderCancellation::Cancelled => ok(serde_json::json!({ "number": number, "status": "cancelled" })),
        OrderCancellation::NotFound => Ok(not_found()),
        OrderCancellation::TooLate(status) => refused(Refusal::code(status.as_str())),
        OrderCancellation::Unsupported => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(Refusal::code(super::ORDER_CANCEL_NOT_SUPPORTED)))
                .into_response())
        }
    }
}

async fn documents(State(a): Shared, Path(id): Path<String>) -> Reply {
    let list = a.documents.documents(&CustomerId(id)).await?;
    ok(DocumentList { documents: list.iter().map(WireDocument::from).collect() })
}

async fn document(State(a): Shared, Path((id, doc)): Path<(String, String)>) -> Reply {
    found(a.documents.document(&CustomerId(id), &doc).await?.as_ref().map(WireDocument::from))
}

async fn file(State(a): Shared, Path((id, doc)): Path<(String, String)>) -> Reply {
    Ok(match a.documents.file(&CustomerId(id), &doc).await? {
        None => not_found(),
        Some(DocumentFile::Bytes { file_name, bytes }) => {
            let name: String = file_name.chars().filter(|c| !matches!(c, '"' | '\\') && !c.is_control()).collect();
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_owned()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                ],
                Bytes::from(bytes),
            )
                .into_response()
        }
        Some(DocumentFile::Url { file_name, url }) => Json(FileReply::Url { file_name, url }).into_response(),
        Some(DocumentFile::Data(data)) => Json(FileReply::Data(WireDocumentData::from(&data))).into_response(),
    })
}

async fn products(State(a): Shared, Json(body): Json<ProductsRequest>) -> Reply {
    ok(ProductList { products: a.shop.products(&body.skus).await?.iter().map(WireProduct::from).collect() })
}

async fn catalogue(State(a): Shared) -> Reply {
    ok(ProductList { products: a.shop.catalogue().await?.iter().map(WireProduct::from).collect() })
}

async fn last_delivered_order(State(a): Shared, Path(id): Path<String>) -> Reply {
    found(a.shop.last_delivered_order(&CustomerId(id)).await?.as_ref().map(WireOrder::from))
}

async fn create_order(
    State(a): Shared,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NewOrderRequest>,
) -> Reply {
    let Some(key) = idempotency_key(&headers) else { return missing_key() };
    let order = NewOrder { lines: body.lines.into_iter().map(|l| (l.sku, l.qty)).collect(), address: body.address };
    match a.shop.create_order(&CustomerId(id), &order, key).await? {
        Ok(c) => {
            let status = if c.new { StatusCode::CREATED } else { StatusCode::OK };
            let body = WireCreatedOrder { number: c.number, total: c.total, currency: c.currency, new: c.new };
            Ok((status, Json(body)).into_response())
        }
        Err(refusal) => refused(order_refusal_body(&refusal)),
    }
}

async fn offer(State(a): Shared, Path(id): Path<String>) -> Reply {
    found(a.loyalty.offer(&CustomerId(id)).await?.as_ref().map(WireOffer::from))
}

async fn referral_code(State(a): Shared, Path(id): Path<String>) -> Reply {
    ok(ReferralCode { code: a.loyalty.referral_code(&CustomerId(id)).await? })
}

async fn credit_referral(State(a): Shared, Json(body): Json<ReferralRequest>) -> Reply {
    let outcome = a.loyalty.credit_referral(&body.code, &CustomerId(body.referred)).await?;
    match (referral_refusal_body(&outcome), outcome) {
        (Some(refusal), _) => refused(refusal),
        (None, ReferralOutcome::Credited { referrer, points }) => ok(ReferralCredited { referrer: referrer.0, points }),
        (None, _) => Err(Fail(AdapterError::Invalid("a referral outcome without a body".to_owned()))),
    }
}

async fn services(State(a): Shared) -> Reply {
    ok(ServiceList { services: a.booking.services().await?.iter().map(WireService::from).collect() })
}

async fn staff(State(a): Shared) -> Reply {
    ok(StaffList { staff: a.booking.staff().await?.iter().map(WireStaffMember::from).collect() })
}

async fn preferred_staff(State(a): Shared, Path(id): Path<String>) -> Reply {
    found(a.booking.preferred_staff(&CustomerId(id)).await?.map(|staff| PreferredStaff { staff }))
}

#[derive(Deserialize)]
struct SlotsQuery {
    service: String,
    #[serde(default)]
    staff: Option<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

async fn free_slots(State(a): Shared, Query(q): Query<SlotsQuery>) -> Reply {
    ok(SlotList { slots: a.booking.free_slots(&q.service, q.staff.as_deref(), q.from, q.to).await? })
}

fn booking_reply(result: Result<crate::adapters::Appointment, crate::adapters::BookingRefusal>) -> Reply {
    match result {
        Ok(appointment) => ok(WireAppointment::from(&appointment)),
        Err(r) => refused(Refusal::code(booking_refusal_code(r))),
    }
}

async fn book(State(a): Shared, Path(id): Path<String>, headers: HeaderMap, Json(body): Json<BookRequest>) -> Reply {
    let Some(key) = idempotency_key(&headers) else { return missing_key() };
    let slot = Slot { start: body.start, staff: body.staff };
    booking_reply(a.booking.book(&CustomerId(id), &body.service, &slot, key).await?)
}

#[derive(Deserialize)]
struct FromQuery {
    from: DateTime<Utc>,
}

async fn appointments(State(a): Shared, Path(id): Path<String>, Query(q): Query<FromQuery>) -> Reply {
    let list = a.booking.appointments(&CustomerId(id), q.from).await?;
    ok(AppointmentList { appointments: list.iter().map(WireAppointment::from).collect() })
}

async fn appointment(State(a): Shared, Path((id, booking)): Path<(String, String)>) -> Reply {
    found(a.booking.appointment(&CustomerId(id), &booking).await?.as_ref().map(WireAppointment::from))
}

async fn reschedule(
    State(a): Shared,
    Path((id, booking)): Path<(String, String)>,
    Json(body): Json<RescheduleRequest>,
) -> Reply {
    let slot = Slot { start: body.start, staff: body.staff };
    booking_reply(a.booking.reschedule(&CustomerId(id), &booking, &slot).await?)
}

async fn cancel(State(a): Shared, Path((id, booking)): Path<(String, String)>) -> Reply {
    booking_reply(a.booking.cancel(&CustomerId(id), &booking).await?)
}

#[derive(Deserialize)]
struct WindowQuery {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

async fn upcoming(State(a): Shared, Query(q): Query<WindowQuery>) -> Reply {
    let list = a.booking.upcoming(q.from, q.to).await?;
    ok(UpcomingList {
        appointments: list
            .iter()
            .map(|(c, appt)| UpcomingAppointment { customer_id: c.0.clone(), appointment: appt.into() })
            .collect(),
    })
}

async fn business(State(a): Shared) -> Reply {
    found(a.directory.business().await?)
}
