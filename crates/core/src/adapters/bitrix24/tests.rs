//! The connector against a wiremock portal answering with the documented shapes (fixtures in
//! `fixtures/`); each test checks what was sent as well as what came back.

use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("fixtures/", $name, ".json"))
    };
}

const HOOK: &str = "/rest/1/secretcode/";

fn config(server: &MockServer) -> Bitrix24Config {
    Bitrix24Config {
        webhook_url: Some(format!("{}{HOOK}", server.uri()).into()),
        requests_per_second: 1000,
        burst: 1000,
        limit_backoff_ms: 5,
        pdf_retry_ms: 5,
        ..Default::default()
    }
}

fn connector(server: &MockServer) -> Bitrix24 {
    Bitrix24::new(&config(server)).unwrap()
}

/// A JSON answer; `PORTAL` in it stands for the server's address.
fn answer(server: &MockServer, status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.replace("PORTAL", &server.uri()), "application/json")
}

fn rest(name: &str) -> wiremock::matchers::PathExactMatcher {
    path(format!("{HOOK}{name}"))
}

fn phone() -> Phone {
    Phone::parse("+77011234567").unwrap()
}

fn customer(id: &str) -> CustomerId {
    CustomerId(id.to_owned())
}

/// The requests the server received for this method.
async fn requests(server: &MockServer, name: &str) -> Vec<Request> {
    let wanted = format!("{HOOK}{name}");
    server.received_requests().await.unwrap().into_iter().filter(|r| r.url.path() == wanted).collect()
}

async fn mount(server: &MockServer, name: &str, status: u16, body: &str) {
    Mock::given(method("POST")).and(rest(name)).respond_with(answer(server, status, body)).mount(server).await;
}

// --- configuration ---------------------------------------------------------------------------

#[tokio::test]
async fn new_checks_the_config_and_asks_nothing() {
    let server = MockServer::start().await;
    connector(&server);
    let oauth = Bitrix24Config {
        portal: Some("example.bitrix24.kz".into()),
        access_token: Some("token".into()),
        ..Default::default()
    };
    assert!(Bitrix24::new(&oauth).is_ok());
    let both = Bitrix24Config { webhook_url: Some("https://a.bitrix24.kz/rest/1/x/".into()), ..oauth.clone() };
    assert!(Bitrix24::new(&both).is_err());
    assert!(Bitrix24::new(&Bitrix24Config::default()).is_err());
    let bad_stage = Bitrix24Config { stages: BTreeMap::from([("WON".into(), "shipped".into())]), ..oauth.clone() };
    assert!(Bitrix24::new(&bad_stage).err().unwrap().to_string().contains("WON"));
    let bad_hook = Bitrix24Config { webhook_url: Some("ftp://secretcode".into()), ..Default::default() };
    let error = Bitrix24::new(&bad_hook).err().unwrap().to_string();
    assert!(!error.contains("secretcode"), "{error}");
    let toml = r#"webhook_url = "https://a.bitrix24.kz/rest/1/x/"
stages = { "C1:NEW" = "new", "C1:PREPARATION" = "assembling" }
requests_per_second = 5"#;
    let parsed: Bitrix24Config = toml::from_str(toml).unwrap();
    assert_eq!((parsed.requests_per_second, parsed.burst, parsed.lead_source.as_str()), (5, 10, "TELEGRAM"));
    assert!(toml::from_str::<Bitrix24Config>("webhook = \"x\"").is_err(), "unknown fields are refused");
    assert!(server.received_requests().await.unwrap().is_empty());
}

// --- contacts ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_phone_is_asked_in_every_form_bitrix_may_store_it_and_the_contact_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(rest("crm.duplicate.findbycomm"))
        .and(body_partial_json(json!({
            "type": "PHONE",
            "entity_type": "CONTACT",
            "values": ["+77011234567", "77011234567", "87011234567"],
        })))
        .respond_with(answer(&server, 200, fixture!("findbycomm_contact")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(rest("crm.contact.get"))
        .and(body_partial_json(json!({ "id": 43 })))
        .respond_with(answer(&server, 200, fixture!("contact_43")))
        .expect(1)
        .mount(&server)
        .await;
    let profile = connector(&server).find_by_phone(&phone()).await.unwrap().unwrap();
    assert_eq!(profile.id, customer("43"));
    assert_eq!((profile.first_name.as_str(), profile.name.as_str()), ("Алия", "Алия Нурланова"));
    assert_eq!(profile.phone, phone());
    assert_eq!(profile.email.as_deref(), Some("aliya@example.kz"));
}

#[tokio::test]
async fn an_unknown_phone_is_no_customer() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_none")).await;
    Mock::given(rest("crm.contact.get")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    assert_eq!(connector(&server).find_by_phone(&phone()).await.unwrap(), None);
}

#[tokio::test]
async fn of_several_contacts_the_newest_whose_phone_really_matches_is_the_customer() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_several")).await;
    Mock::given(method("POST"))
        .and(rest("batch"))
        .and(body_partial_json(json!({
            "halt": 0,
            "cmd": {
                "c43": "crm.contact.get?id=43",
                "c57": "crm.contact.get?id=57",
                "c61": "crm.contact.get?id=61",
            },
        })))
        .respond_with(answer(&server, 200, fixture!("batch_contacts")))
        .expect(1)
        .mount(&server)
        .await;
    // 61 is the newest, but its number has an extension: it is not this phone.
    let profile = connector(&server).find_by_phone(&phone()).await.unwrap().unwrap();
    assert_eq!(profile.id, customer("57"));
    assert_eq!(profile.name, "Алия Нурланова-Ким");
}

#[tokio::test]
async fn a_contact_deleted_meanwhile_is_left_out_and_any_other_batch_failure_is_an_error() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_several")).await;
    let mut batch: Value = serde_json::from_str(fixture!("batch_contacts")).unwrap();
    batch["result"]["result"].as_object_mut().unwrap().remove("c57");
    batch["result"]["result_error"] = json!({ "c57": { "error": "", "error_description": "Not found" } });
    Mock::given(rest("batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&batch))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    batch["result"]["result_error"] =
        json!({ "c57": { "error": "ACCESS_DENIED", "error_description": "Access denied" } });
    Mock::given(rest("batch")).respond_with(ResponseTemplate::new(200).set_body_json(&batch)).mount(&server).await;
    let bitrix = connector(&server);
    assert_eq!(bitrix.find_by_phone(&phone()).await.unwrap().unwrap().id, customer("43"));
    let error = bitrix.find_by_phone(&phone()).await.unwrap_err();
    assert!(matches!(error, AdapterError::Unavailable(_)), "not taken for an unknown phone: {error}");
}

#[tokio::test]
async fn an_unknown_contact_id_is_none() {
    let server = MockServer::start().await;
    mount(&server, "crm.contact.get", 400, fixture!("contact_not_found")).await;
    let bitrix = connector(&server);
    assert_eq!(bitrix.profile(&customer("999")).await.unwrap(), None);
    assert_eq!(bitrix.profile(&customer("C1")).await.unwrap(), None, "not a contact id: not asked");
    assert_eq!(requests(&server, "crm.contact.get").await.len(), 1);
}

#[tokio::test]
async fn a_search_by_name_asks_both_name_fields_and_keeps_whoever_has_every_word() {
    let server = MockServer::start().await;
    for field in ["%NAME", "%LAST_NAME"] {
        Mock::given(method("POST"))
            .and(rest("crm.contact.list"))
            .and(body_partial_json(json!({ "filter": { field: "Нурланова" }, "select": CONTACT_SELECT })))
            .respond_with(answer(&server, 200, fixture!("contact_list")))
            .expect(1)
            .mount(&server)
            .await;
    }
    let found = connector(&server).search("Алия Нурланова", 10).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["43"]);
}

#[tokio::test]
async fn a_search_respects_its_limit_and_a_part_of_a_number_finds_nobody() {
    let server = MockServer::start().await;
    mount(&server, "crm.contact.list", 200, fixture!("contact_list")).await;
    let bitrix = connector(&server);
    let found = bitrix.search("алия", 1).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Алия Нурланова", "sorted by name; the contact without a phone is left out");
    assert_eq!(bitrix.search("алия", 10).await.unwrap().len(), 2);
    assert!(bitrix.search("4567", 10).await.unwrap().is_empty());
    assert_eq!(requests(&server, "crm.duplicate.findbycomm").await.len(), 0);
}

// --- leads and notes ---------------------------------------------------------------------------

fn new_lead() -> NewLead {
    NewLead {
        phone: Phone::parse("+77779998877").unwrap(),
        first_name: "Гость".into(),
        telegram_user_id: 5050,
        at: DateTime::parse_from_rfc3339("2024-12-07T10:00:00Z").unwrap().to_utc(),
    }
}

#[tokio::test]
async fn a_new_phone_becomes_a_lead_with_its_phone_and_source() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(rest("crm.duplicate.findbycomm"))
        .and(body_partial_json(json!({ "type": "PHONE", "entity_type": "LEAD" })))
        .respond_with(answer(&server, 200, fixture!("findbycomm_none")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(rest("crm.lead.add"))
        .and(body_partial_json(json!({ "fields": {
            "TITLE": "Telegram: Гость",
            "NAME": "Гость",
            "PHONE": [{ "VALUE": "+77779998877", "VALUE_TYPE": "WORK" }],
            "SOURCE_ID": "TELEGRAM",
        }})))
        .respond_with(answer(&server, 200, fixture!("lead_add")))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(connector(&server).create_lead(&new_lead()).await.unwrap().as_deref(), Some("3465"));
    let sent: Value = requests(&server, "crm.lead.add").await[0].body_json().unwrap();
    assert!(sent["fields"]["COMMENTS"].as_str().unwrap().contains("Telegram"), "{sent}");
}

#[tokio::test]
async fn a_phone_that_already_has_a_lead_adds_none() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_lead")).await;
    Mock::given(rest("crm.lead.add")).respond_with(ResponseTemplate::new(500)).expect(0).mount(&server).await;
    assert_eq!(connector(&server).create_lead(&new_lead()).await.unwrap().as_deref(), Some("3465"));
}

#[tokio::test]
async fn a_note_is_a_timeline_comment_with_lowercase_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(rest("crm.timeline.comment.add"))
        .and(body_partial_json(json!({ "fields": {
            "entityId": 43,
            "entityType": "contact",
            "comment": "Telegram: обращение №12",
        }})))
        .respond_with(answer(&server, 200, fixture!("timeline_comment_add")))
        .expect(1)
        .mount(&server)
        .await;
    assert!(connector(&server).add_note(&customer("43"), "Telegram: обращение №12").await.unwrap());
    let sent: Value = requests(&server, "crm.timeline.comment.add").await[0].body_json().unwrap();
    assert!(sent["fields"].get("ENTITY_ID").is_none(), "{sent}");
}

// --- deals -------------------------------------------------------------------------------------

#[tokio::test]
async fn orders_are_the_contacts_deals_newest_first_by_pages_of_fifty() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .and(body_partial_json(json!({
            "filter": { "CONTACT_ID": 43 },
            "order": { "DATE_CREATE": "DESC", "ID": "DESC" },
        })))
        .respond_with(answer(&server, 200, fixture!("deals_page")))
        .mount(&server)
        .await;
    let config =
        Bitrix24Config { stages: BTreeMap::from([("C1:PREPARATION".into(), "assembling".into())]), ..config(&server) };
    let bitrix = Bitrix24::new(&config).unwrap();
    let page = bitrix.orders(&customer("43"), 0, 5).await.unwrap();
    assert_eq!((page.total, page.currency.as_str()), (53, "KZT"));
    let orders: Vec<(&str, &OrderStatus, Decimal)> =
        page.orders.iter().map(|o| (o.number.as_str(), &o.status, o.total)).collect();
    assert_eq!(
        orders,
        [
            ("512", &OrderStatus::Assembling, Decimal::new(18999000, 2)),
            ("498", &OrderStatus::Delivered, Decimal::new(850000, 2))
        ]
    );
    // The second page of the bot's is within Bitrix24's first: no new start. Past 50, start 50.
    bitrix.orders(&customer("43"), 1, 1).await.unwrap();
    bitrix.orders(&customer("43"), 51, 5).await.unwrap();
    let starts: Vec<u64> = requests(&server, "crm.deal.list")
        .await
        .iter()
        .map(|r| r.body_json::<Value>().unwrap()["start"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [0, 0, 50]);
    assert!(bitrix.orders(&customer("C1"), 0, 5).await.unwrap().orders.is_empty());
}

#[tokio::test]
async fn active_orders_are_open_deals_with_their_product_rows_from_one_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .and(body_partial_json(json!({ "filter": { "CONTACT_ID": 43, "CLOSED": "N" } })))
        .respond_with(answer(&server, 200, fixture!("deals_open")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(rest("batch"))
        .and(body_partial_json(json!({ "cmd": {
            "p512": "crm.deal.productrows.get?id=512",
            "p505": "crm.deal.productrows.get?id=505",
        }})))
        .respond_with(answer(&server, 200, fixture!("batch_productrows")))
        .expect(1)
        .mount(&server)
        .await;
    let orders = connector(&server).active_orders(&customer("43")).await.unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].items[0].sku, "77");
    assert_eq!(orders[0].items[0].price, Decimal::from(189990));
    assert_eq!(orders[1].currency, "KZT", "a deal without a currency has the configured one");
    assert_eq!((orders[1].items[0].sku.as_str(), orders[1].items[0].qty), ("row-910", 2));
    assert_eq!(orders[1].items[0].price, Decimal::new(12005, 1));
    assert_eq!(orders[1].items[0].name.get(crate::domain::Locale::En), "Фильтр для воды");
}

#[tokio::test]
async fn an_order_is_looked_up_within_the_customers_own_deals() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .and(body_partial_json(json!({ "filter": { "ID": 512, "CONTACT_ID": 43 } })))
        .respond_with(answer(&server, 200, fixture!("deals_page")))
        .mount(&server)
        .await;
    // A portal that ignored the filter would answer another contact with 43's deals.
    Mock::given(method("POST"))
        .and(rest("crm.deal.list"))
        .and(body_partial_json(json!({ "filter": { "CONTACT_ID": 99 } })))
        .respond_with(answer(&server, 200, fixture!("deals_page")))
        .mount(&server)
        .await;
    mount(&server, "crm.deal.list", 200, fixture!("deal_empty")).await;
    mount(&server, "crm.deal.productrows.get", 200, fixture!("productrows_512")).await;
    let bitrix = connector(&server);
    let order = bitrix.order(&customer("43"), "512").await.unwrap().unwrap();
    assert_eq!((order.number.as_str(), order.items.len()), ("512", 1));
    assert_eq!(bitrix.order(&customer("43"), "513").await.unwrap(), None);
    assert_eq!(bitrix.order(&customer("99"), "512").await.unwrap(), None);
    assert_eq!(bitrix.order(&customer("43"), "512 OR 1").await.unwrap(), None);
    assert_eq!(requests(&server, "crm.deal.productrows.get").await.len(), 1);
}

#[tokio::test]
async fn a_stage_reads_from_the_map_else_from_its_semantics() {
    let server = MockServer::start().await;
    let config =
        Bitrix24Config { stages: BTreeMap::from([("C2:SENT".into(), "in_transit".into())]), ..config(&server) };
    let bitrix = Bitrix24::new(&config).unwrap();
    let deal = |stage: &str, semantic: &str| json!({ "STAGE_ID": stage, "STAGE_SEMANTIC_ID": semantic });
    assert_eq!(bitrix.status(&deal("C2:SENT", "P")), OrderStatus::InTransit);
    assert_eq!(bitrix.status(&deal("C2:WON", "S")), OrderStatus::Delivered);
    assert_eq!(bitrix.status(&deal("C2:LOSE", "F")), OrderStatus::Cancelled);
    assert_eq!(bitrix.status(&deal("C2:NEW", "P")), OrderStatus::New);
}

#[tokio::test]
async fn more_than_fifty_deals_are_read_by_pages_and_their_rows_in_batches_of_fifty() {
    let server = MockServer::start().await;
    let deal = |id: u64| {
        json!({ "ID": id.to_string(), "STAGE_ID": "C1:NEW", "STAGE_SEMANTIC_ID": "P", "CLOSED": "N",
                "OPPORTUNITY": "100.00", "CURRENCY_ID": "KZT", "DATE_CREATE": "2024-12-01T10:00:00+06:00",
                "CONTACT_ID": "43" })
    };
    let first = json!({ "result": (1..=50).map(deal).collect::<Vec<_>>(), "next": 50, "total": 51 });
    let second = json!({ "result": [deal(51)], "total": 51 });
    for (start, page) in [(0, first), (50, second)] {
        Mock::given(method("POST"))
            .and(rest("crm.deal.list"))
            .and(body_partial_json(json!({ "start": start })))
            .respond_with(ResponseTemplate::new(200).set_body_json(page))
            .expect(1)
            .mount(&server)
            .await;
    }
    mount(&server, "batch", 200, r#"{"result":{"result":[],"result_error":[]}}"#).await;
    let orders = connector(&server).active_orders(&customer("43")).await.unwrap();
    assert_eq!(orders.len(), 51);
    let sizes: Vec<usize> = requests(&server, "batch")
        .await
        .iter()
        .map(|r| r.body_json::<Value>().unwrap()["cmd"].as_object().unwrap().len())
        .collect();
    assert_eq!(sizes, [50, 1]);
}

#[tokio::test]
async fn requests_wait_for_the_client_side_bucket() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_none")).await;
    let config = Bitrix24Config { requests_per_second: 20, burst: 1, ..config(&server) };
    let bitrix = Bitrix24::new(&config).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..5 {
        bitrix.find_by_phone(&phone()).await.unwrap();
    }
    // One at once, then one every 50 ms.
    assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_configured_number_field_numbers_the_orders_and_finds_them() {
    let server = MockServer::start().await;
    let mut page: Value = serde_json::from_str(fixture!("deals_page")).unwrap();
    page["result"][0]["UF_CRM_ORDER_NO"] = json!("A-1001");
    page["result"][1]["UF_CRM_ORDER_NO"] = json!("");
    let only = |i: usize| json!({ "result": [page["result"][i].clone()], "total": 1 });
    for (filter, body) in [
        (json!({ "UF_CRM_ORDER_NO": "A-1001", "CONTACT_ID": 43 }), only(0)),
        (json!({ "ID": 512, "CONTACT_ID": 43 }), only(0)),
        (json!({ "ID": 498, "CONTACT_ID": 43 }), only(1)),
    ] {
        Mock::given(method("POST"))
            .and(rest("crm.deal.list"))
            .and(body_partial_json(json!({ "filter": filter })))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(rest("crm.deal.list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&page))
        .mount(&server)
        .await;
    mount(&server, "crm.deal.productrows.get", 200, fixture!("productrows_512")).await;
    let config = Bitrix24Config { order_number_field: Some("UF_CRM_ORDER_NO".into()), ..config(&server) };
    let bitrix = Bitrix24::new(&config).unwrap();
    let numbers: Vec<String> =
        bitrix.orders(&customer("43"), 0, 5).await.unwrap().orders.into_iter().map(|o| o.number).collect();
    assert_eq!(numbers, ["A-1001", "498"]);
    let asked: Value = requests(&server, "crm.deal.list").await[0].body_json().unwrap();
    assert!(asked["select"].as_array().unwrap().contains(&json!("UF_CRM_ORDER_NO")), "{asked}");
    assert_eq!(bitrix.order(&customer("43"), "A-1001").await.unwrap().unwrap().number, "A-1001");
    assert_eq!(bitrix.order(&customer("43"), "498").await.unwrap().unwrap().number, "498");
    assert_eq!(bitrix.order(&customer("43"), "512").await.unwrap(), None, "numbered by its field, not its id");
    assert_eq!(bitrix.order(&customer("99"), "A-1001").await.unwrap(), None);
    let bad = Bitrix24Config { order_number_field: Some("UF CRM".into()), ..config.clone() };
    assert!(Bitrix24::new(&bad).is_err());
}

// --- documents ---------------------------------------------------------------------------------

async fn mount_documents(server: &MockServer) {
    Mock::given(method("POST"))
        .and(rest("crm.item.list"))
        .and(body_partial_json(json!({ "entityTypeId": 31, "filter": { "contactId": 43 } })))
        .respond_with(answer(server, 200, fixture!("invoices")))
        .mount(server)
        .await;
    mount(server, "crm.item.list", 200, r#"{"result":{"items":[]},"total":0}"#).await;
    Mock::given(method("POST"))
        .and(rest("batch"))
        .and(body_partial_json(json!({ "cmd": {
            "d7": "crm.documentgenerator.document.list?filter%5BentityTypeId%5D=31&filter%5BentityId%5D=7",
            "d5": "crm.documentgenerator.document.list?filter%5BentityTypeId%5D=31&filter%5BentityId%5D=5",
        }})))
        .respond_with(answer(server, 200, fixture!("batch_documents")))
        .mount(server)
        .await;
}

async fn mount_pdf(server: &MockServer, id: &str) {
    Mock::given(method("GET"))
        .and(rest("crm.documentgenerator.document.download/"))
        .and(query_param("id", id))
        .and(query_param("pdf", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(format!("%PDF-1.4 {id}"), "application/pdf"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn documents_are_the_generated_documents_of_the_contacts_invoices() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    let bitrix = connector(&server);
    let documents = bitrix.documents(&customer("43")).await.unwrap();
    let listed: Vec<(&str, &str, String)> =
        documents.iter().map(|d| (d.id.as_str(), d.kind.as_str(), d.period.to_string())).collect();
    assert_eq!(listed, [("21", "invoice", "2024-12".to_owned()), ("19", "invoice", "2024-11".to_owned())]);
    assert_eq!(documents[0].title.get(crate::domain::Locale::Ru), "Счёт на оплату INV-2024-0007");
    assert!(bitrix.documents(&customer("99")).await.unwrap().is_empty());
    assert_eq!(bitrix.document(&customer("99"), "21").await.unwrap(), None);
    assert_eq!(bitrix.document(&customer("43"), "21").await.unwrap().unwrap().id, "21");
}

#[tokio::test]
async fn a_ready_pdf_is_downloaded_by_the_connector_and_only_for_its_owner() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    mount_pdf(&server, "21").await;
    let bitrix = connector(&server);
    let Some(DocumentFile::Bytes { file_name, bytes }) = bitrix.file(&customer("43"), "21").await.unwrap() else {
        panic!("bytes expected")
    };
    assert_eq!((file_name.as_str(), bytes.as_slice()), ("invoice-INV-2024-0007.pdf", b"%PDF-1.4 21".as_slice()));
    assert_eq!(bitrix.file(&customer("99"), "21").await.unwrap(), None);
    assert_eq!(bitrix.file(&customer("43"), "22").await.unwrap(), None);
}

#[tokio::test]
async fn a_pdf_not_ready_yet_is_asked_for_again_then_downloaded() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    // The machine URL names the method only: it is sent through the webhook.
    Mock::given(method("GET"))
        .and(rest("crm.documentgenerator.document.getPdf.json"))
        .and(query_param("id", "19"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("%PDF-1.4 19", "application/pdf"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(rest("crm.documentgenerator.document.get"))
        .and(body_partial_json(json!({ "id": "19" })))
        .respond_with(answer(&server, 200, fixture!("document_19_pending")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(&server, "crm.documentgenerator.document.get", 200, fixture!("document_19_ready")).await;
    let file = connector(&server).file(&customer("43"), "19").await.unwrap().unwrap();
    assert!(matches!(file, DocumentFile::Bytes { ref bytes, .. } if bytes == b"%PDF-1.4 19"), "{file:?}");
    assert_eq!(requests(&server, "crm.documentgenerator.document.get").await.len(), 2);
}

#[tokio::test]
async fn a_pdf_that_stays_unready_is_being_prepared() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    mount(&server, "crm.documentgenerator.document.get", 200, fixture!("document_19_pending")).await;
    let error = connector(&server).file(&customer("43"), "19").await.unwrap_err();
    assert!(matches!(&error, AdapterError::Unavailable(why) if why == "the document is being prepared"), "{error}");
    assert_eq!(requests(&server, "crm.documentgenerator.document.get").await.len(), 2, "pdf_retries");
}

#[tokio::test]
async fn a_page_instead_of_a_pdf_is_invalid() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    Mock::given(method("GET"))
        .and(rest("crm.documentgenerator.document.download/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>Log in</html>", "text/html"))
        .mount(&server)
        .await;
    let error = connector(&server).file(&customer("43"), "21").await.unwrap_err();
    assert!(matches!(error, AdapterError::Invalid(_)), "{error}");
}

#[tokio::test]
async fn a_pdf_that_cannot_be_made_or_a_document_deleted_meanwhile_is_not_waited_for() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    let failed =
        fixture!("document_19_pending").replace("\"isTransformationError\":false", "\"isTransformationError\":true");
    Mock::given(rest("crm.documentgenerator.document.get"))
        .respond_with(answer(&server, 200, &failed))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "crm.documentgenerator.document.get",
        400,
        r#"{"error":"0","error_description":"Document not found"}"#,
    )
    .await;
    let bitrix = connector(&server);
    let error = bitrix.file(&customer("43"), "19").await.unwrap_err();
    assert!(matches!(&error, AdapterError::Unavailable(why) if why.contains("could not be made")), "{error}");
    assert_eq!(bitrix.file(&customer("43"), "19").await.unwrap(), None);
    assert_eq!(requests(&server, "crm.documentgenerator.document.get").await.len(), 2);
}

#[tokio::test]
async fn a_file_url_off_the_portal_is_not_followed() {
    let server = MockServer::start().await;
    mount_documents(&server).await;
    let moved = fixture!("document_19_ready").replace("PORTAL", "https://files.example.com");
    Mock::given(rest("crm.documentgenerator.document.get"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(moved, "application/json"))
        .mount(&server)
        .await;
    let error = connector(&server).file(&customer("43"), "19").await.unwrap_err();
    assert!(matches!(error, AdapterError::Invalid(_)), "{error}");
}

// --- limits and errors -------------------------------------------------------------------------

#[tokio::test]
async fn the_request_limit_is_waited_out_and_then_answered() {
    let server = MockServer::start().await;
    Mock::given(rest("crm.duplicate.findbycomm"))
        .respond_with(answer(&server, 503, fixture!("error_query_limit")))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(rest("crm.duplicate.findbycomm"))
        .respond_with(answer(
            &server,
            429,
            r#"{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked"}"#,
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(&server, "crm.duplicate.findbycomm", 200, fixture!("findbycomm_none")).await;
    assert_eq!(connector(&server).find_by_phone(&phone()).await.unwrap(), None);
    assert_eq!(requests(&server, "crm.duplicate.findbycomm").await.len(), 4);
}

#[tokio::test]
async fn a_request_limit_that_holds_is_unavailable_after_a_bounded_number_of_tries() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 503, fixture!("error_query_limit")).await;
    let error = connector(&server).find_by_phone(&phone()).await.unwrap_err();
    assert!(matches!(error, AdapterError::Unavailable(_)), "{error}");
    assert_eq!(requests(&server, "crm.duplicate.findbycomm").await.len(), 4, "one try and three retries");
}

#[tokio::test]
async fn refused_credentials_and_permissions_are_unavailable_at_once_without_the_code() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 401, fixture!("error_no_auth")).await;
    mount(&server, "crm.contact.get", 403, fixture!("error_access_denied")).await;
    let bitrix = connector(&server);
    for error in [bitrix.find_by_phone(&phone()).await.unwrap_err(), bitrix.profile(&customer("43")).await.unwrap_err()]
    {
        assert!(matches!(error, AdapterError::Unavailable(_)), "{error}");
        assert!(!error.to_string().contains("secretcode"), "{error}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "not retried");
}

#[tokio::test]
async fn server_errors_are_unavailable() {
    let server = MockServer::start().await;
    mount(&server, "crm.duplicate.findbycomm", 500, fixture!("error_internal")).await;
    Mock::given(rest("crm.contact.get"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;
    let bitrix = connector(&server);
    assert!(matches!(bitrix.find_by_phone(&phone()).await, Err(AdapterError::Unavailable(_))));
    assert!(matches!(bitrix.profile(&customer("43")).await, Err(AdapterError::Unavailable(_))));
}

#[tokio::test]
async fn malformed_bodies_are_invalid() {
    let server = MockServer::start().await;
    Mock::given(rest("crm.duplicate.findbycomm"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    mount(&server, "crm.deal.list", 200, r#"{"result":{"unexpected":true}}"#).await;
    mount(&server, "crm.contact.get", 200, r#"{"time":{}}"#).await;
    let bitrix = connector(&server);
    assert!(matches!(bitrix.find_by_phone(&phone()).await, Err(AdapterError::Invalid(_))));
    assert!(matches!(bitrix.orders(&customer("43"), 0, 5).await, Err(AdapterError::Invalid(_))));
    assert!(matches!(bitrix.profile(&customer("43")).await, Err(AdapterError::Invalid(_))));
}

#[tokio::test]
async fn oauth_sends_the_token_as_auth_to_the_portals_rest_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/crm.duplicate.findbycomm"))
        .and(query_param("auth", "oauth-token"))
        .respond_with(answer(&server, 200, fixture!("findbycomm_none")))
        .expect(1)
        .mount(&server)
        .await;
    let config = Bitrix24Config {
        portal: Some(server.uri()),
        access_token: Some("oauth-token".into()),
        requests_per_second: 1000,
        burst: 1000,
        ..Default::default()
    };
    assert_eq!(Bitrix24::new(&config).unwrap().find_by_phone(&phone()).await.unwrap(), None);
}
