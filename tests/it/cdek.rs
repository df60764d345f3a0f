//! CDEK tracking through the real bot: the demo's logistics lists the orders, the CDEK
//! connector (pointed at a wiremock CDEK with the documented answers) gives the status of
//! the parcels that go by CDEK. The demo's order 78234 of Ерлан goes by CDEK, tracking
//! number 1234567890; 78300 is Ольга's.

use std::sync::Arc;

use cabinet::adapters::cdek::{Cdek, CdekConfig, CdekLookup};
use cabinet::config::Config;
use cabinet::replay::harness::SandboxedBot;
use secrecy::SecretString;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::support::{erlan, fixed, identify, say};

const TOKEN: &str = include_str!("../../crates/core/src/adapters/cdek/fixtures/token.json");
const AT_PICK_UP_POINT: &str = include_str!("../../crates/core/src/adapters/cdek/fixtures/order_at_pick_up_point.json");
const DELIVERED: &str = include_str!("../../crates/core/src/adapters/cdek/fixtures/order_delivered.json");

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

/// A CDEK that gives tokens; its orders are mounted by each test.
async fn cdek_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v2/oauth/token")).respond_with(json(200, TOKEN)).mount(&server).await;
    server
}

async fn mount_order(server: &MockServer, param: &str, number: &str, answer: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param(param, number))
        .respond_with(answer)
        .mount(server)
        .await;
}

async fn order_requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == "/v2/orders").count()
}

/// The demo bot whose logistics is the built-in one tracked through CDEK at `server`.
async fn bot_with_cdek(server: &MockServer, lookup: CdekLookup) -> SandboxedBot {
    let config = CdekConfig {
        base_url: format!("{}/v2", server.uri()),
        client_id: "demo-client".into(),
        client_secret: SecretString::from("demo-secret"),
        lookup,
        timeout_ms: 1000,
        orders: "builtin".into(),
    };
    SandboxedBot::start_with_adapters(Config::default(), fixed(), move |store, clock, config_of_bot| {
        let mut adapters = cabinet::app::builtin(config_of_bot, store, clock);
        let cdek = Cdek::new(&config, adapters.logistics.clone()).unwrap().with_time_zone(chrono_tz::Asia::Almaty);
        adapters.logistics = Arc::new(cdek);
        adapters.names.logistics = "cdek".into();
        adapters
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn erlan_sees_cdeks_status_and_wording_of_his_parcel() {
    let server = cdek_server().await;
    mount_order(&server, "cdek_number", "1234567890", json(200, AT_PICK_UP_POINT)).await;
    let bot = bot_with_cdek(&server, CdekLookup::CdekNumber).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "где мой заказ?").await;
    assert!(replies.contains("Заказ №78234"), "{}", replies.dump());
    assert!(replies.contains("в пути"), "{}", replies.dump());
    assert!(replies.contains("Трек-номер: 1234567890 (CDEK)"), "{}", replies.dump());
    assert!(replies.contains("Принят на склад до востребования, Алматы"), "{}", replies.dump());
    assert!(replies.contains("Доставка: 12 января, 00:00–23:59"), "{}", replies.dump());
    // CDEK's words, not the shop's.
    assert!(!replies.contains("Курьер позвонит за час"), "{}", replies.dump());
    assert_eq!(order_requests(&server).await, 1);

    // CDEK hands the parcel over.
    server.reset().await;
    Mock::given(method("POST")).and(path("/v2/oauth/token")).respond_with(json(200, TOKEN)).mount(&server).await;
    mount_order(&server, "cdek_number", "1234567890", json(200, DELIVERED)).await;
    let replies = say(&bot, &user, "что с заказом 78234").await;
    assert!(replies.contains("Заказ №78234"), "{}", replies.dump());
    assert!(replies.contains("доставлен"), "{}", replies.dump());
    assert!(replies.contains("Вручен, Алматы"), "{}", replies.dump());
    assert!(replies.contains("Доставлен 12 января"), "{}", replies.dump());

    let replies = say(&bot, &user, "мои заказы").await;
    let line = replies.texts().iter().flat_map(|t| t.lines()).find(|l| l.contains("78234")).map(str::to_owned);
    assert!(line.as_deref().is_some_and(|l| l.contains("доставлен")), "{}", replies.dump());

    // Delivered: no longer an active order.
    let replies = say(&bot, &user, "где мой заказ?").await;
    assert!(replies.contains("Активных заказов сейчас нет"), "{}", replies.dump());
    bot.stop().await;
}

#[tokio::test]
async fn a_number_that_is_not_the_customers_is_not_found_and_cdek_is_not_asked() {
    let server = cdek_server().await;
    mount_order(&server, "cdek_number", "1234567890", json(200, AT_PICK_UP_POINT)).await;
    let bot = bot_with_cdek(&server, CdekLookup::CdekNumber).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    for number in ["78300", "1234567890"] {
        let replies = say(&bot, &user, &format!("что с заказом {number}")).await;
        assert!(replies.contains("Мы не нашли такой заказ"), "{number}: {}", replies.dump());
    }
    assert_eq!(order_requests(&server).await, 0);
    bot.stop().await;
}

#[tokio::test]
async fn cdek_down_gets_the_polite_answer_and_the_bot_keeps_working() {
    let server = cdek_server().await;
    mount_order(&server, "cdek_number", "1234567890", ResponseTemplate::new(503)).await;
    let bot = bot_with_cdek(&server, CdekLookup::CdekNumber).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "что с заказом 78234").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert!(order_requests(&server).await >= 1);

    // The active orders are shown as the shop has them.
    let replies = say(&bot, &user, "где мой заказ?").await;
    assert!(replies.contains("Трек-номер: 1234567890 (CDEK)"), "{}", replies.dump());
    assert!(replies.contains("Курьер позвонит за час до приезда"), "{}", replies.dump());

    // Other systems answer.
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("₸"), "{}", replies.dump());
    bot.stop().await;
}

#[tokio::test]
async fn by_the_shops_order_numbers_cdek_is_asked_by_im_number() {
    let server = cdek_server().await;
    mount_order(&server, "im_number", "78234", json(200, AT_PICK_UP_POINT)).await;
    let bot = bot_with_cdek(&server, CdekLookup::ImNumber).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "что с заказом 78234").await;
    assert!(replies.contains("Принят на склад до востребования, Алматы"), "{}", replies.dump());
    assert!(replies.contains("Трек-номер: 1234567890 (CDEK)"), "{}", replies.dump());
    bot.stop().await;
}
