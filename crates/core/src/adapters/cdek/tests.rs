//! The connector against a CDEK played by wiremock with the documented answers
//! (`fixtures/`), over a shop held in memory.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::adapters::{AdapterError, Courier};

const TOKEN_JSON: &str = include_str!("fixtures/token.json");
const AT_PICK_UP_POINT: &str = include_str!("fixtures/order_at_pick_up_point.json");
const DELIVERED: &str = include_str!("fixtures/order_delivered.json");
const DELETED_STATUSES: &str = include_str!("fixtures/order_deleted_statuses.json");
const NOT_DELIVERED: &str = include_str!("fixtures/order_not_delivered.json");
const NOT_FOUND: &str = include_str!("fixtures/not_found.json");
const NOT_FOUND_IM_NUMBER: &str = include_str!("fixtures/not_found_im_number.json");

/// The customer of the shop below.
fn erlan() -> CustomerId {
    CustomerId("C1".into())
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

fn token() -> String {
    serde_json::from_str::<Value>(TOKEN_JSON).unwrap()["access_token"].as_str().unwrap().to_owned()
}

fn token_answer(value: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": value, "token_type": "bearer", "expires_in": expires_in,
        "scope": "order:all payment:all", "jti": "0b7f6a1c-1111-4222-8333-944455556666"
    }))
}

fn json_answer(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// An order of the shop, delivered by `carrier` with `tracking`.
fn shop_order(number: &str, status: OrderStatus, carrier: &str, tracking: Option<&str>) -> Order {
    Order {
        number: number.into(),
        created: at("2025-01-10T04:50:00Z"),
        status,
        total: Decimal::new(2500, 0),
        currency: "KZT".into(),
        delivered_at: None,
        items: Vec::new(),
        delivery: Some(Delivery {
            address: Some("ул. Ленина 15, кв. 42".into()),
            carrier: Some(carrier.into()),
            tracking: tracking.map(str::to_owned),
            eta_from: Some(at("2025-01-12T05:00:00Z")),
            eta_to: Some(at("2025-01-12T09:00:00Z")),
            courier: Some(Courier { name: "Дамир".into(), phone: None }),
            note: Some(LocalizedText([("ru".to_owned(), "Курьер позвонит за час".to_owned())].into())),
            location: Some((43.2389, 76.8897)),
        }),
    }
}

/// The shop's orders, each with its customer, newest first.
struct MemoryShop(Vec<(CustomerId, Order)>);

impl MemoryShop {
    fn own(&self, id: &CustomerId) -> impl Iterator<Item = &Order> {
        self.0.iter().filter(move |(owner, _)| owner == id).map(|(_, o)| o)
    }
}

#[async_trait]
impl Logistics for MemoryShop {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        let own: Vec<&Order> = self.own(id).collect();
        Ok(OrderPage {
            orders: own
                .iter()
                .skip(offset as usize)
                .take(limit as usize)
                .map(|o| OrderSummary {
                    number: o.number.clone(),
                    created: o.created,
                    status: o.status.clone(),
                    total: o.total,
                })
                .collect(),
            total: own.len() as u32,
            currency: "KZT".into(),
        })
    }

    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        Ok(self.own(id).filter(|o| o.status.is_active()).cloned().collect())
    }

    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        Ok(self.own(id).find(|o| o.number == number).cloned())
    }
}

/// Ерлан's order 78234 goes by CDEK (1234567890); 78110 went by the shop's courier; Ольга's
/// 78300 goes by CDEK (1106207236).
fn demo_shop() -> Arc<MemoryShop> {
    Arc::new(MemoryShop(vec![
        (erlan(), shop_order("78234", OrderStatus::InTransit, "CDEK", Some("1234567890"))),
        (erlan(), shop_order("78110", OrderStatus::Delivered, "courier", None)),
        (CustomerId("C2".into()), shop_order("78300", OrderStatus::Assembling, "СДЭК", Some("1106207236"))),
    ]))
}

fn config(server: &MockServer) -> CdekConfig {
    CdekConfig {
        base_url: format!("{}/v2", server.uri()),
        client_id: "EMscd6r9JnFiQ3bLoyjJY6eM78JrJceI".into(),
        client_secret: SecretString::from("PjLZkKBHEiLK3YsjtNrt3TGNG0ahs3kG"),
        lookup: CdekLookup::CdekNumber,
        timeout_ms: 2000,
        orders: "builtin".into(),
    }
}

fn connector(server: &MockServer, shop: Arc<MemoryShop>) -> Cdek {
    Cdek::new(&config(server), shop).unwrap().with_time_zone(chrono_tz::Asia::Almaty)
}

async fn mount_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(json_answer(200, TOKEN_JSON))
        .mount(server)
        .await;
}

async fn mount_order(server: &MockServer, cdek_number: &str, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param("cdek_number", cdek_number))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, to: &str) -> Vec<Request> {
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == to).collect()
}

/// A CDEK order whose only status is `code`.
fn with_status(code: &str, name: &str) -> String {
    let mut order: Value = serde_json::from_str(AT_PICK_UP_POINT).unwrap();
    order["entity"]["statuses"] = json!([{
        "code": code, "name": name, "date_time": "2025-01-11T09:12:44+0500", "city": "Астана", "deleted": false
    }]);
    order.to_string()
}

#[tokio::test]
async fn a_token_is_asked_for_with_the_credentials_then_the_order_with_the_token() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param("cdek_number", "1234567890"))
        .and(header("authorization", format!("Bearer {}", token()).as_str()))
        .respond_with(json_answer(200, AT_PICK_UP_POINT))
        .expect(1)
        .mount(&server)
        .await;
    let cdek = connector(&server, demo_shop());

    let order = cdek.order(&erlan(), "78234").await.unwrap().unwrap();

    let tokens = requests_to(&server, "/v2/oauth/token").await;
    assert_eq!(tokens.len(), 1);
    let content_type = tokens[0].headers.get("content-type").unwrap().to_str().unwrap();
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&tokens[0].body).into_owned().collect();
    assert_eq!(
        form,
        [
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), "EMscd6r9JnFiQ3bLoyjJY6eM78JrJceI".to_owned()),
            ("client_secret".to_owned(), "PjLZkKBHEiLK3YsjtNrt3TGNG0ahs3kG".to_owned()),
        ]
    );

    assert_eq!(order.number, "78234");
    assert_eq!(order.status, OrderStatus::InTransit);
    assert_eq!(order.delivered_at, None);
    let delivery = order.delivery.unwrap();
    assert_eq!(delivery.carrier.as_deref(), Some("CDEK"));
    assert_eq!(delivery.tracking.as_deref(), Some("1234567890"));
    assert_eq!(delivery.address.as_deref(), Some("Алматы, ул. Ленина 15, кв. 42"));
    let note = delivery.note.unwrap();
    assert_eq!(note.get(crate::domain::Locale::Ru), "Принят на склад до востребования, Алматы");
    assert_eq!(note.get(crate::domain::Locale::En), "Waiting at the pick-up point, Алматы");
    // The planned day, in Almaty (UTC+5).
    assert_eq!(delivery.eta_from, Some(at("2025-01-11T19:00:00Z")));
    assert_eq!(delivery.eta_to, Some(at("2025-01-12T18:59:00Z")));
    // The shop's courier stays.
    assert_eq!(delivery.courier.map(|c| c.name).as_deref(), Some("Дамир"));
}

#[tokio::test]
async fn the_token_is_reused_across_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(json_answer(200, TOKEN_JSON))
        .expect(1)
        .mount(&server)
        .await;
    mount_order(&server, "1234567890", json_answer(200, AT_PICK_UP_POINT)).await;
    let cdek = connector(&server, demo_shop());

    for _ in 0..3 {
        assert!(cdek.order(&erlan(), "78234").await.unwrap().is_some());
    }
    assert_eq!(cdek.active_orders(&erlan()).await.unwrap().len(), 1);
    assert_eq!(requests_to(&server, "/v2/orders").await.len(), 4);
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 1);
}

#[tokio::test]
async fn a_token_about_to_expire_is_not_used() {
    let server = MockServer::start().await;
    // It expires at once: every call needs a new one.
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(token_answer("short-lived", 0))
        .mount(&server)
        .await;
    mount_order(&server, "1234567890", json_answer(200, AT_PICK_UP_POINT)).await;
    let cdek = connector(&server, demo_shop());

    cdek.order(&erlan(), "78234").await.unwrap();
    cdek.order(&erlan(), "78234").await.unwrap();
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 2);
}

/// Token "old" first, "new" from then on; CDEK refuses "old".
async fn mount_renewal(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(token_answer("old", 3600))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(token_answer("new", 3600))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(header("authorization", "Bearer old"))
        .respond_with(ResponseTemplate::new(401))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(header("authorization", "Bearer new"))
        .respond_with(json_answer(200, AT_PICK_UP_POINT))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_request_repeated() {
    let server = MockServer::start().await;
    mount_renewal(&server).await;
    let cdek = connector(&server, demo_shop());

    let order = cdek.order(&erlan(), "78234").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::InTransit);
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 2);
    assert_eq!(requests_to(&server, "/v2/orders").await.len(), 2);

    // The new token is kept.
    cdek.order(&erlan(), "78234").await.unwrap().unwrap();
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 2);
}

#[tokio::test]
async fn concurrent_calls_share_one_token_and_one_renewal() {
    let server = MockServer::start().await;
    mount_renewal(&server).await;
    let cdek = connector(&server, demo_shop());

    let id = erlan();
    let calls = (0..6).map(|_| cdek.order(&id, "78234"));
    for order in futures::future::join_all(calls).await {
        assert_eq!(order.unwrap().unwrap().status, OrderStatus::InTransit);
    }
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 2, "one token, one renewal");
}

#[tokio::test]
async fn a_token_refused_twice_is_an_outage_after_one_renewal() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", ResponseTemplate::new(401)).await;
    let cdek = connector(&server, demo_shop());

    let err = cdek.order(&erlan(), "78234").await.unwrap_err();
    assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 2);
    assert_eq!(requests_to(&server, "/v2/orders").await.len(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_an_outage_and_the_secret_is_not_in_the_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(json_answer(401, r#"{"error":"invalid_client","error_description":"Bad credentials"}"#))
        .mount(&server)
        .await;
    let cdek = connector(&server, demo_shop());

    let err = cdek.order(&erlan(), "78234").await.unwrap_err();
    assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("PjLZkKBHEiLK3YsjtNrt3TGNG0ahs3kG"), "{err}");
    assert!(requests_to(&server, "/v2/orders").await.is_empty());
}

#[tokio::test]
async fn each_status_group_gives_the_bots_status() {
    let cases = [
        ("CREATED", "Создан", OrderStatus::New),
        ("ACCEPTED", "Принят", OrderStatus::New),
        ("RECEIVED_AT_SHIPMENT_WAREHOUSE", "Принят на склад отправителя", OrderStatus::Assembling),
        ("RECEIVED_AT_SENDER_WAREHOUSE", "Принят на склад отправителя", OrderStatus::Assembling),
        ("READY_FOR_SHIPMENT_IN_SENDER_CITY", "Выдан на отправку в г. отправителе", OrderStatus::Assembling),
        ("TAKEN_BY_TRANSPORTER_FROM_SENDER_CITY", "Сдан перевозчику в г. отправителе", OrderStatus::InTransit),
        ("SENT_TO_TRANSIT_CITY", "Отправлен в г. транзит", OrderStatus::InTransit),
        ("ACCEPTED_IN_TRANSIT_CITY", "Встречен в г. транзите", OrderStatus::InTransit),
        ("SENT_TO_RECIPIENT_CITY", "Отправлен в г. получатель", OrderStatus::InTransit),
        ("ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE", "Принят на склад доставки", OrderStatus::InTransit),
        ("ACCEPTED_AT_PICK_UP_POINT", "Принят на склад до востребования", OrderStatus::InTransit),
        ("TAKEN_BY_COURIER", "Выдан на доставку", OrderStatus::InTransit),
        ("DELIVERED", "Вручен", OrderStatus::Delivered),
        ("NOT_DELIVERED", "Не вручен", OrderStatus::InTransit),
        // Not mapped: the shop's status stays, with CDEK's words.
        ("IN_CUSTOMS_INTERNATIONAL", "Таможенное оформление в стране отправления", OrderStatus::Assembling),
    ];
    let server = MockServer::start().await;
    let shop = Arc::new(MemoryShop(vec![(erlan(), shop_order("1", OrderStatus::Assembling, "cdek", Some("55")))]));
    let cdek = connector(&server, shop);
    for (code, name, expected) in cases {
        server.reset().await;
        mount_token(&server).await;
        mount_order(&server, "55", json_answer(200, &with_status(code, name))).await;
        let order = cdek.order(&erlan(), "1").await.unwrap().unwrap();
        assert_eq!(order.status, expected, "{code}");
        let note = order.delivery.unwrap().note.unwrap();
        assert!(note.get(crate::domain::Locale::Ru).starts_with(&format!("{name}, Астана")), "{code}: {note:?}");
        match super::english(code) {
            Some(words) => assert!(note.get(crate::domain::Locale::En).starts_with(&format!("{words}, Астана"))),
            // No English words for it: the Russian ones.
            None => assert_eq!(note.get(crate::domain::Locale::En), note.get(crate::domain::Locale::Ru), "{code}"),
        }
        assert_eq!(order.delivered_at.is_some(), expected == OrderStatus::Delivered, "{code}");
    }
}

#[tokio::test]
async fn a_delivered_parcel_is_delivered_at_cdeks_time() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", json_answer(200, DELIVERED)).await;
    let cdek = connector(&server, demo_shop());

    let order = cdek.order(&erlan(), "78234").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Delivered);
    // "2025-01-12T11:47:20+05:00".
    assert_eq!(order.delivered_at, Some(at("2025-01-12T06:47:20Z")));
    let delivery = order.delivery.unwrap();
    // `cdek_number` came as a number.
    assert_eq!(delivery.tracking.as_deref(), Some("1234567890"));
    assert_eq!(delivery.note.unwrap().get(crate::domain::Locale::En), "Delivered, Алматы");
    assert_eq!((delivery.eta_from, delivery.eta_to, delivery.location), (None, None, None));

    // No longer among the active orders.
    assert!(cdek.active_orders(&erlan()).await.unwrap().is_empty());
}

#[tokio::test]
async fn deleted_statuses_do_not_count() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", json_answer(200, DELETED_STATUSES)).await;
    let cdek = connector(&server, demo_shop());

    let order = cdek.order(&erlan(), "78234").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::InTransit);
    assert_eq!(order.delivered_at, None);
    assert_eq!(order.delivery.unwrap().note.unwrap().get(crate::domain::Locale::Ru), "Выдан на доставку, Алматы");
}

#[tokio::test]
async fn a_parcel_not_delivered_stays_on_its_way_with_what_to_do() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", json_answer(200, NOT_DELIVERED)).await;
    let cdek = connector(&server, demo_shop());

    let order = cdek.order(&erlan(), "78234").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::InTransit);
    let note = order.delivery.unwrap().note.unwrap();
    assert_eq!(
        note.get(crate::domain::Locale::Ru),
        "Не вручен, Алматы. Уточните в СДЭК по трек-номеру, когда посылку доставят снова."
    );
    assert!(note.get(crate::domain::Locale::En).starts_with("Not delivered, Алматы. Ask CDEK"));
}

#[tokio::test]
async fn a_parcel_cdek_does_not_know_is_shown_as_the_shop_has_it() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", json_answer(400, NOT_FOUND)).await;
    let shop = demo_shop();
    let cdek = connector(&server, shop.clone());

    let expected = shop.order(&erlan(), "78234").await.unwrap();
    assert_eq!(cdek.order(&erlan(), "78234").await.unwrap(), expected);
    assert_eq!(cdek.active_orders(&erlan()).await.unwrap(), shop.active_orders(&erlan()).await.unwrap());
    assert_eq!(requests_to(&server, "/v2/orders").await.len(), 2);
}

#[tokio::test]
async fn by_the_shops_number_every_open_order_is_looked_up_as_im_number() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param("im_number", "78234"))
        .respond_with(json_answer(200, AT_PICK_UP_POINT))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param("im_number", "78400"))
        .respond_with(json_answer(400, NOT_FOUND_IM_NUMBER))
        .expect(1)
        .mount(&server)
        .await;
    // The shop does not say how 78234 goes, nor has it a tracking number.
    let mut unknown_carrier = shop_order("78234", OrderStatus::Assembling, "", None);
    unknown_carrier.delivery = None;
    let new = shop_order("78400", OrderStatus::New, "courier", None);
    let shop = Arc::new(MemoryShop(vec![(erlan(), new.clone()), (erlan(), unknown_carrier)]));
    let cdek = Cdek::new(&CdekConfig { lookup: CdekLookup::ImNumber, ..config(&server) }, shop).unwrap();

    let order = cdek.order(&erlan(), "78234").await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::InTransit);
    let delivery = order.delivery.unwrap();
    assert_eq!((delivery.carrier.as_deref(), delivery.tracking.as_deref()), (Some("CDEK"), Some("1234567890")));
    // UTC unless the zone is set.
    assert_eq!(delivery.eta_from, Some(at("2025-01-12T00:00:00Z")));

    let active = cdek.active_orders(&erlan()).await.unwrap();
    assert_eq!(active.iter().map(|o| o.number.as_str()).collect::<Vec<_>>(), ["78400", "78234"]);
    assert_eq!(active[0], new, "CDEK does not know it: as the shop has it");
}

#[tokio::test]
async fn a_number_the_shop_does_not_list_for_the_customer_is_not_asked_about() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1106207236", json_answer(200, AT_PICK_UP_POINT)).await;
    let cdek = connector(&server, demo_shop());

    // Ольга's order, and no order at all.
    assert_eq!(cdek.order(&erlan(), "78300").await.unwrap(), None);
    assert_eq!(cdek.order(&erlan(), "99999").await.unwrap(), None);
    assert!(requests_to(&server, "/v2/orders").await.is_empty());
    assert!(requests_to(&server, "/v2/oauth/token").await.is_empty());
}

#[tokio::test]
async fn cdek_failing_fails_one_order_but_lists_show_the_shops_orders() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>")).await;
    let shop = demo_shop();
    let cdek = connector(&server, shop.clone());

    let err = cdek.order(&erlan(), "78234").await.unwrap_err();
    assert!(matches!(err, AdapterError::Unavailable(_)), "{err:?}");
    assert_eq!(cdek.active_orders(&erlan()).await.unwrap(), shop.active_orders(&erlan()).await.unwrap());
    assert_eq!(cdek.orders(&erlan(), 0, 10).await.unwrap(), shop.orders(&erlan(), 0, 10).await.unwrap());
    assert_eq!(requests_to(&server, "/v2/orders").await.len(), 3);
}

#[tokio::test]
async fn a_malformed_answer_is_invalid() {
    for body in [
        "<html>maintenance</html>",
        r#"{"entity": {"cdek_number": "1234567890", "statuses": [{"code": "DELIVERED", "name": "Вручен", "date_time": "вчера"}]}}"#,
        r#"{"requests": [{"state": "INVALID", "errors": [{"code": "v2_internal_error"}]}]}"#,
    ] {
        let server = MockServer::start().await;
        mount_token(&server).await;
        mount_order(&server, "1234567890", json_answer(200, body)).await;
        let cdek = connector(&server, demo_shop());
        let err = cdek.order(&erlan(), "78234").await.unwrap_err();
        assert!(matches!(err, AdapterError::Invalid(_)), "{body}: {err:?}");
        // The list still shows the order.
        assert_eq!(cdek.active_orders(&erlan()).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_slow_cdek_is_a_timeout() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let slow = json_answer(200, AT_PICK_UP_POINT).set_delay(std::time::Duration::from_secs(5));
    mount_order(&server, "1234567890", slow).await;
    let cdek = Cdek::new(&CdekConfig { timeout_ms: 200, ..config(&server) }, demo_shop()).unwrap();

    let err = cdek.order(&erlan(), "78234").await.unwrap_err();
    assert!(matches!(err, AdapterError::Timeout), "{err:?}");
    // The list does not wait for CDEK: the shop's order as it is.
    let shop = demo_shop();
    assert_eq!(cdek.active_orders(&erlan()).await.unwrap(), shop.active_orders(&erlan()).await.unwrap());
}

#[tokio::test]
async fn the_history_takes_open_orders_status_from_cdek_and_leaves_closed_ones() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    mount_order(&server, "1234567890", json_answer(200, DELIVERED)).await;
    let shop = demo_shop();
    let cdek = connector(&server, shop.clone());

    let page = cdek.orders(&erlan(), 0, 10).await.unwrap();
    let statuses: Vec<_> = page.orders.iter().map(|o| (o.number.as_str(), o.status.clone())).collect();
    assert_eq!(statuses, [("78234", OrderStatus::Delivered), ("78110", OrderStatus::Delivered)]);
    assert_eq!(page.total, 2);
    // Only the open order is asked about.
    assert_eq!(requests_to(&server, "/v2/orders").await.len(), 1);
}

#[tokio::test]
async fn many_open_orders_are_looked_up_and_keep_their_order() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let numbers: Vec<String> = (0..9).map(|i| format!("10000000{i}")).collect();
    for (i, number) in numbers.iter().enumerate() {
        let answer = if i % 2 == 0 {
            with_status("TAKEN_BY_COURIER", "Выдан на доставку")
        } else {
            with_status("CREATED", "Создан")
        };
        mount_order(&server, number, json_answer(200, &answer)).await;
    }
    let orders = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| (erlan(), shop_order(&format!("7{i}"), OrderStatus::Assembling, "CDEK", Some(n))))
        .collect();
    let cdek = connector(&server, Arc::new(MemoryShop(orders)));

    let active = cdek.active_orders(&erlan()).await.unwrap();
    let got: Vec<_> = active.iter().map(|o| (o.number.clone(), o.status.clone())).collect();
    let expected: Vec<_> =
        (0..9).map(|i| (format!("7{i}"), if i % 2 == 0 { OrderStatus::InTransit } else { OrderStatus::New })).collect();
    assert_eq!(got, expected);
    assert_eq!(requests_to(&server, "/v2/oauth/token").await.len(), 1);
}

#[test]
fn the_config_table_reads_with_its_defaults_and_refuses_unknown_keys() {
    let config: CdekConfig = toml::from_str("client_id = \"id\"\nclient_secret = \"s3cr3t\"\n").unwrap();
    assert_eq!(config.base_url, PRODUCTION_URL);
    assert_eq!(config.lookup, CdekLookup::CdekNumber);
    assert_eq!(config.timeout_ms, 2000);
    assert!(!format!("{config:?}").contains("s3cr3t"));

    let config: CdekConfig = toml::from_str(&format!(
        "base_url = \"{TEST_URL}\"\nclient_id = \"id\"\nclient_secret = \"s\"\nlookup = \"im_number\"\n"
    ))
    .unwrap();
    assert_eq!((config.base_url.as_str(), config.lookup), (TEST_URL, CdekLookup::ImNumber));

    let err = toml::from_str::<CdekConfig>("client_id = \"id\"\nclient_secret = \"s\"\nsecret = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("secret"), "{err}");
    assert!(toml::from_str::<CdekConfig>("client_id = \"id\"\nclient_secret = \"s\"\nlookup = \"uuid\"\n").is_err());
}

#[test]
fn a_config_that_cannot_work_is_refused_without_any_request() {
    let good: CdekConfig = toml::from_str("client_id = \"id\"\nclient_secret = \"s\"\n").unwrap();
    let shop = demo_shop();
    // No network in `new`: the production URL is never reached from a test.
    assert!(Cdek::new(&good, shop.clone()).is_ok());
    for bad in [
        CdekConfig { base_url: "api.cdek.ru/v2".into(), ..good.clone() },
        CdekConfig { base_url: "ftp://api.cdek.ru/v2".into(), ..good.clone() },
        CdekConfig { client_id: " ".into(), ..good.clone() },
        CdekConfig { client_secret: SecretString::from(""), ..good.clone() },
        CdekConfig { timeout_ms: 0, ..good.clone() },
    ] {
        assert!(Cdek::new(&bad, shop.clone()).is_err(), "{bad:?}");
    }
}
