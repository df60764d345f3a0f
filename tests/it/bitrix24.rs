//! The bot with its CRM, orders and documents in Bitrix24: the real connector talking to a
//! wiremock portal that answers with the documented shapes. Billing, the shop and the rest stay
//! built in (their customer ids differ from Bitrix24's, so only what the connector serves is
//! looked at).

use cabinet::config::Config;
use cabinet::replay::harness::SandboxedBot;
use cabinet::sandbox::{BotContent, SandboxUser};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::support::{erlan, identify_as, press, say, share_own_contact};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../crates/core/src/adapters/bitrix24/fixtures/", $name, ".json"))
    };
}

const HOOK: &str = "/rest/1/secretcode/";
const STAFF: i64 = -1_001_000_000_024;

fn answer(server: &MockServer, status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.replace("PORTAL", &server.uri()), "application/json")
}

fn rest(name: &str) -> wiremock::matchers::PathExactMatcher {
    path(format!("{HOOK}{name}"))
}

async fn mount(server: &MockServer, name: &str, status: u16, body: &str) {
    Mock::given(method("POST")).and(rest(name)).respond_with(answer(server, status, body)).mount(server).await;
}

/// The requests the portal received for this method.
async fn requests(server: &MockServer, name: &str) -> Vec<Request> {
    let wanted = format!("{HOOK}{name}");
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == wanted).collect()
}

/// A portal that knows contact 43 (Алия Нурланова, +77011234567) with two deals and two
/// invoices, one of whose PDFs is ready. Methods failing in a test are mounted before this.
async fn portal(server: &MockServer) {
    Mock::given(method("POST"))
        .and(rest("crm.duplicate.findbycomm"))
        .and(body_partial_json(json!({ "entity_type": "CONTACT", "values": ["+77011234567"] })))
        .respond_with(answer(server, 200, fixture!("findbycomm_contact")))
        .mount(server)
        .await;
    mount(server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_none")).await;
    mount(server, "crm.contact.get", 200, fixture!("contact_43")).await;
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .and(body_partial_json(json!({ "filter": { "CONTACT_ID": 43, "CLOSED": "N" } })))
        .respond_with(answer(server, 200, fixture!("deals_open")))
        .mount(server)
        .await;
    mount(server, "crm.deal.list", 200, fixture!("deals_page")).await;
    Mock::given(method("POST"))
        .and(rest("crm.item.list"))
        .and(body_partial_json(json!({ "entityTypeId": 31, "filter": { "contactId": 43 } })))
        .respond_with(answer(server, 200, fixture!("invoices")))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(rest("batch"))
        .and(body_partial_json(json!({ "cmd": { "d7": "crm.documentgenerator.document.list?filter%5BentityTypeId%5D=31&filter%5BentityId%5D=7" } })))
        .respond_with(answer(server, 200, fixture!("batch_documents")))
        .mount(server)
        .await;
    mount(server, "batch", 200, fixture!("batch_productrows")).await;
    mount(server, "crm.deal.productrows.get", 200, fixture!("productrows_512")).await;
    mount(server, "crm.lead.add", 200, fixture!("lead_add")).await;
    mount(server, "crm.timeline.comment.add", 200, fixture!("timeline_comment_add")).await;
    Mock::given(method("GET"))
        .and(rest("crm.documentgenerator.document.download/"))
        .and(query_param("id", "21"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("%PDF-1.4 invoice 21", "application/pdf"))
        .mount(server)
        .await;
}

/// The bot with CRM, logistics and documents in the portal at `server`, chosen by the
/// config as `cabinet run` reads it.
async fn bot_on(server: &MockServer, config: Config) -> SandboxedBot {
    let mut config = config;
    let toml = format!(
        "[backends]\ncrm = \"bitrix24\"\nlogistics = \"bitrix24\"\ndocuments = \"bitrix24\"\n\
         [backends.bitrix24]\nwebhook_url = \"{}{HOOK}\"\nrequests_per_second = 1000\nburst = 1000\n\
         limit_backoff_ms = 5\npdf_retry_ms = 5\n",
        server.uri()
    );
    config.backends = Config::from_toml(&toml, "cabinet.toml").unwrap().backends;
    super::backends::bot_configured(config).await
}

/// Consent, then the contact; the portal's contact greets them.
async fn identify(bot: &SandboxedBot, user: &SandboxUser) {
    identify_as(bot, user, "+77011234567", "Принимаю", "Здравствуйте, Алия!").await;
}

#[tokio::test]
async fn a_bitrix24_contact_is_recognised_and_sees_their_deals_and_an_invoice_pdf() {
    let server = MockServer::start().await;
    portal(&server).await;
    let bot = bot_on(&server, Config::default()).await;
    let user = erlan();
    identify(&bot, &user).await;
    let binding = bot.store.binding(user.id).await.unwrap().unwrap();
    assert_eq!(binding.customer_id.as_str(), "43");

    let replies = say(&bot, &user, "мои заказы").await;
    assert!(replies.contains("512") && replies.contains("498") && replies.contains("53"), "{}", replies.dump());
    let asked: Value = requests(&server, "crm.deal.list").await.last().unwrap().body_json().unwrap();
    assert_eq!(asked["filter"]["CONTACT_ID"], 43, "{asked}");

    say(&bot, &user, "пришли счёт за декабрь").await;
    let sent: Vec<(String, String)> = bot
        .sandbox
        .messages(user.id)
        .into_iter()
        .filter_map(|m| match m.content {
            BotContent::Document { file_name, file_id, .. } => Some((file_name, file_id)),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "invoice-INV-2024-0007.pdf");
    assert_eq!(bot.sandbox.file_bytes(&sent[0].1).unwrap(), b"%PDF-1.4 invoice 21");
    // The file went through the connector: Telegram never saw the portal's URL.
    let calls = bot.sandbox.calls();
    assert!(calls.iter().all(|(_, params)| !params.to_string().contains("secretcode")), "{calls:?}");
    bot.stop().await;
}

#[tokio::test]
async fn an_unknown_phone_becomes_a_bitrix24_lead() {
    let server = MockServer::start().await;
    portal(&server).await;
    let bot = bot_on(&server, Config::default()).await;
    let user = SandboxUser::new(5051, "Гость", Some("ru"));
    say(&bot, &user, "/start").await;
    press(&bot, &user, "Принимаю").await;
    let replies = share_own_contact(&bot, &user, "+77779998877").await;
    assert!(replies.contains("клиента с этим номером мы не нашли"), "{}", replies.dump());
    let leads = requests(&server, "crm.lead.add").await;
    assert_eq!(leads.len(), 1);
    let lead: Value = leads[0].body_json().unwrap();
    assert_eq!(lead["fields"]["PHONE"], json!([{ "VALUE": "+77779998877", "VALUE_TYPE": "WORK" }]), "{lead}");
    assert_eq!(lead["fields"]["NAME"], "Гость");
    assert!(bot.store.binding(user.id).await.unwrap().is_none());
    bot.stop().await;
}

#[tokio::test]
async fn asking_for_a_person_leaves_a_timeline_comment_on_the_contact() {
    let server = MockServer::start().await;
    portal(&server).await;
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(STAFF);
    config.support.mention = "@support".into();
    let bot = bot_on(&server, config).await;
    bot.sandbox.add_forum_group(STAFF, "Support");
    let user = erlan();
    identify(&bot, &user).await;
    let replies = say(&bot, &user, "позовите оператора").await;
    assert!(replies.contains("Мы передали ваш вопрос специалисту"), "{}", replies.dump());
    let comments = requests(&server, "crm.timeline.comment.add").await;
    assert_eq!(comments.len(), 1);
    let comment: Value = comments[0].body_json().unwrap();
    assert_eq!((&comment["fields"]["entityId"], &comment["fields"]["entityType"]), (&json!(43), &json!("contact")));
    assert!(comment["fields"]["comment"].as_str().unwrap().contains("обращение №"), "{comment}");
    let topics = bot.sandbox.topics(STAFF);
    assert!(topics.len() == 1 && topics[0].name.contains("Алия Нурланова"), "{topics:?}");
    bot.stop().await;
}

#[tokio::test]
async fn a_portal_over_its_request_limit_gets_the_customer_a_polite_answer() {
    let server = MockServer::start().await;
    mount(&server, "crm.deal.list", 503, fixture!("error_query_limit")).await;
    portal(&server).await;
    let bot = bot_on(&server, Config::default()).await;
    let user = erlan();
    identify(&bot, &user).await;
    let replies = say(&bot, &user, "мои заказы").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    // Each of the guard's tries waits out the limit a bounded number of times.
    let tries = requests(&server, "crm.deal.list").await.len();
    assert!((4..=12).contains(&tries), "{tries}");
    bot.stop().await;
}

#[tokio::test]
async fn a_portal_failing_with_500_gets_the_customer_a_polite_answer() {
    let server = MockServer::start().await;
    mount(&server, "crm.item.list", 500, fixture!("error_internal")).await;
    portal(&server).await;
    let bot = bot_on(&server, Config::default()).await;
    let user = erlan();
    identify(&bot, &user).await;
    let replies = say(&bot, &user, "пришли счёт за декабрь").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert!(!requests(&server, "crm.item.list").await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn an_order_number_is_looked_up_among_the_contacts_own_deals() {
    let server = MockServer::start().await;
    // The bot reads four digits or more as an order number: a deal of a portal past 1000 deals.
    let mut deal: Value = serde_json::from_str(fixture!("deals_page")).unwrap();
    deal["result"][0]["ID"] = json!("4512");
    let page = json!({ "result": [deal["result"][0].clone()], "total": 1 });
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .and(body_partial_json(json!({ "filter": { "ID": 4512, "CONTACT_ID": 43 } })))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&server)
        .await;
    portal(&server).await;
    let bot = bot_on(&server, Config::default()).await;
    let user = erlan();
    identify(&bot, &user).await;
    let replies = say(&bot, &user, "что с заказом 4512").await;
    assert!(replies.contains("Заказ №4512 от 5 декабря — принят"), "{}", replies.dump());
    // The portal's catch-all answers with contact 43's deals: none of them is number 78234.
    let replies = say(&bot, &user, "что с заказом 78234").await;
    assert!(replies.contains("Мы не нашли такой заказ"), "{}", replies.dump());
    let filters: Vec<Value> = requests(&server, "crm.deal.list")
        .await
        .iter()
        .map(|r| r.body_json::<Value>().unwrap()["filter"].clone())
        .filter(|f| f.get("ID").is_some())
        .collect();
    assert_eq!(filters, [json!({ "ID": 4512, "CONTACT_ID": 43 }), json!({ "ID": 78234, "CONTACT_ID": 43 })]);
    bot.stop().await;
}

#[tokio::test]
async fn a_slow_portal_gets_the_customer_a_polite_answer_in_time_and_a_malformed_one_too() {
    let server = MockServer::start().await;
    // Deals answer after the bot's adapter timeout; invoices answer nonsense.
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .respond_with(answer(&server, 200, fixture!("deals_page")).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(rest("crm.item.list"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>502 Bad Gateway</html>", "text/html"))
        .mount(&server)
        .await;
    portal(&server).await;
    let mut config = Config::default();
    config.bot.adapter_timeout_ms = 400;
    let bot = bot_on(&server, config).await;
    let user = erlan();
    identify(&bot, &user).await;
    let replies = say(&bot, &user, "мои заказы").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    let replies = say(&bot, &user, "пришли счёт за декабрь").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    // The bot keeps working: the customer's profile still answers.
    let replies = say(&bot, &user, "/help").await;
    assert!(!replies.texts().is_empty(), "{}", replies.dump());
    bot.stop().await;
}
