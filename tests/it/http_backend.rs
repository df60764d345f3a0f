//! The HTTP backend: the client against every example of its contract
//! (`docs/backend-api.yaml`) served by a mock, the contract against the adapter traits, the
//! reference server's signature check, the bot over a failing, broken or slow backend, and
//! the example Python backend.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cabinet::adapters::http::server::LocalServer;
use cabinet::adapters::http::sign;
use cabinet::adapters::http::wire::*;
use cabinet::adapters::http::{HttpBackend, HttpBackendConfig};
use cabinet::adapters::*;
use cabinet::config::Config;
use cabinet::domain::Phone;
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const CONTRACT: &str = include_str!("../../docs/backend-api.yaml");
const TRAITS: &str = include_str!("../../crates/core/src/adapters/mod.rs");

/// The contract as JSON.
fn contract() -> Value {
    let yaml: serde_norway::Value = serde_norway::from_str(CONTRACT).expect("the contract is YAML");
    serde_json::to_value(yaml).expect("the contract maps to JSON")
}

/// One operation of the contract.
struct Operation {
    id: String,
    method: String,
    path: String,
    tag: String,
    idempotent_write: bool,
    /// (status, example name, body) of every JSON example of every answer.
    examples: Vec<(u16, String, Value)>,
}

fn operations() -> Vec<Operation> {
    let doc = contract();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let mut examples = Vec::new();
            for (status, answer) in op["responses"].as_object().expect("responses") {
                let Some(media) = answer["content"]["application/json"].as_object() else { continue };
                for (name, example) in media.get("examples").and_then(Value::as_object).into_iter().flatten() {
                    examples.push((status.parse().expect("a status"), name.clone(), example["value"].clone()));
                }
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            out.push(Operation {
                id: op["operationId"].as_str().expect("an operationId").to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                tag: op["tags"][0].as_str().expect("a tag").to_owned(),
                idempotent_write: params.iter().any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey"),
                examples,
            });
        }
    }
    out
}

/// Each trait's `async fn`s, read from the source: (trait, method).
fn trait_methods() -> BTreeSet<(String, String)> {
    let trait_re = regex::Regex::new(r"(?m)^pub trait (\w+): Send \+ Sync \{$").unwrap();
    let fn_re = regex::Regex::new(r"(?m)^    async fn (\w+)").unwrap();
    let mut out = BTreeSet::new();
    for caps in trait_re.captures_iter(TRAITS) {
        let start = caps.get(0).unwrap().end();
        let body = &TRAITS[start..start + TRAITS[start..].find("\n}\n").unwrap()];
        for f in fn_re.captures_iter(body) {
            out.insert((caps[1].to_owned(), f[1].to_owned()));
        }
    }
    out
}

#[test]
fn every_trait_method_has_an_operation_and_nothing_else_has_one() {
    let methods = trait_methods();
    assert!(methods.len() >= 36, "the traits were not read: {methods:?}");
    let ops: BTreeSet<(String, String)> = operations().into_iter().map(|o| (o.tag, o.id)).collect();
    let missing: Vec<_> = methods.difference(&ops).collect();
    let extra: Vec<_> = ops.difference(&methods).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing operations: {missing:?}; unknown: {extra:?}");
}

#[test]
fn every_operation_has_a_success_example_and_the_signature_example_is_shown() {
    for op in operations() {
        assert!(
            op.examples.iter().any(|(status, _, _)| (200..300).contains(status)),
            "{} has no example of its success",
            op.id
        );
        for (status, name, body) in &op.examples {
            if *status >= 400 {
                assert!(body["refusal"].is_string(), "{} {name}: a {status} example without a refusal code", op.id);
            }
        }
    }
    let doc = contract();
    assert!(doc["components"]["securitySchemes"]["CabinetSignature"].is_object());
    let sig = sign::signature(
        b"demo-secret",
        1_736_575_200,
        "POST",
        "/customers/C1/notes",
        br#"{"text":"Asked for a call back"}"#,
    );
    assert!(doc["info"]["description"].as_str().unwrap().contains(&sig), "the worked example is not {sig}");
}

/// Nulls left out, as the contract allows either.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn to_json(v: impl serde::Serialize) -> Value {
    strip_nulls(serde_json::to_value(v).unwrap())
}

fn refusal(code: &str) -> Value {
    json!({ "refusal": code })
}

fn t(s: &str) -> DateTime<Utc> {
    at(s)
}

/// Calls the client method of operation `op` and writes what it read as the contract's
/// body (through the reference server's conversions): a client that misreads a field
/// gives another body than the example.
async fn call(b: &HttpBackend, op: &str) -> Value {
    let c1 = CustomerId("C1".to_owned());
    let slot = Slot { start: t("2025-01-13T05:00:00Z"), staff: "anna".to_owned() };
    let booking = |r: Result<Appointment, BookingRefusal>| match r {
        Ok(a) => to_json(WireAppointment::from(&a)),
        Err(r) => refusal(booking_refusal_code(r)),
    };
    let change = |r: ChangeOutcome| match r {
        ChangeOutcome::Done { monthly_fee, effective, currency } => {
            to_json(ChangeDone { monthly_fee, effective, currency })
        }
        ChangeOutcome::Refused(r) => refusal(change_refusal_code(r)),
    };
    match op {
        "find_by_phone" => {
            to_json(b.find_by_phone(&Phone::parse("+77011234567").unwrap()).await.unwrap().as_ref().map(Customer::from))
        }
        "profile" => to_json(b.profile(&c1).await.unwrap().as_ref().map(Customer::from)),
        "search" => to_json(CustomerList {
            customers: b.search("Ерлан", 10).await.unwrap().iter().map(Customer::from).collect(),
        }),
        "create_lead" => {
            let lead = NewLead {
                phone: Phone::parse("+77079998877").unwrap(),
                first_name: "Алия".to_owned(),
                telegram_user_id: 5009,
                at: t("2025-01-11T05:00:00Z"),
            };
            to_json(LeadResponse { lead_id: b.create_lead(&lead).await.unwrap() })
        }
        "add_note" => to_json(NoteResponse { kept: b.add_note(&c1, "Asked for a call back").await.unwrap() }),
        "account" => to_json(b.account(&c1).await.unwrap().as_ref().map(WireAccount::from)),
        "transactions" => to_json(TransactionList {
            transactions: b.transactions(&c1, 3).await.unwrap().iter().map(WireTransaction::from).collect(),
        }),
        "tariffs" => to_json(TariffList { tariffs: b.tariffs().await.unwrap().iter().map(WireTariff::from).collect() }),
        "tariff_options" => {
            to_json(TariffList { tariffs: b.tariff_options().await.unwrap().iter().map(WireTariff::from).collect() })
        }
        "quote_change" => change(b.quote_change(&c1, &SubscriptionChange::Tariff("max".to_owned())).await.unwrap()),
        "apply_change" => {
            change(b.apply_change(&c1, &SubscriptionChange::Tariff("max".to_owned()), "k1").await.unwrap())
        }
        "payment_link" => {
            to_json(PaymentLink { url: b.payment_link(&c1, "2000".parse().unwrap(), "top-up-5001-1").await.unwrap() })
        }
        "credit_payment" => {
            let title = LocalizedText::default();
            to_json(CreditResponse {
                balance: b.credit_payment(&c1, "2000".parse().unwrap(), "tg-charge-1", &title).await.unwrap(),
            })
        }
        "orders" => to_json(WireOrderPage::from(&b.orders(&c1, 0, 5).await.unwrap())),
        "active_orders" => {
            to_json(OrderList { orders: b.active_orders(&c1).await.unwrap().iter().map(WireOrder::from).collect() })
        }
        "order" => to_json(b.order(&c1, "78234").await.unwrap().as_ref().map(WireOrder::from)),
        "cancel_order" => match b.cancel_order(&c1, "78300").await.unwrap() {
            OrderCancellation::Cancelled => serde_json::json!({ "number": "78300", "status": "cancelled" }),
            OrderCancellation::TooLate(status) => serde_json::json!({ "refusal": status.as_str() }),
            OrderCancellation::Unsupported => serde_json::json!({ "refusal": "not_supported" }),
            OrderCancellation::NotFound => serde_json::Value::Null,
        },
        "documents" => to_json(DocumentList {
            documents: b.documents(&c1).await.unwrap().iter().map(WireDocument::from).collect(),
        }),
        "document" => to_json(b.document(&c1, "D-1001").await.unwrap().as_ref().map(WireDocument::from)),
        "file" => match b.file(&c1, "D-1001").await.unwrap().unwrap() {
            DocumentFile::Url { file_name, url } => to_json(FileReply::Url { file_name, url }),
            DocumentFile::Data(d) => to_json(FileReply::Data(WireDocumentData::from(&d))),
            DocumentFile::Bytes { .. } => panic!("a JSON answer read as bytes"),
        },
        "products" => to_json(ProductList {
            products: b
                .products(&["COF-LAV-1KG".to_owned(), "COF-MACH".to_owned()])
                .await
                .unwrap()
                .iter()
                .map(WireProduct::from)
                .collect(),
        }),
        "catalogue" => {
            to_json(ProductList { products: b.catalogue().await.unwrap().iter().map(WireProduct::from).collect() })
        }
        "last_delivered_order" => to_json(b.last_delivered_order(&c1).await.unwrap().as_ref().map(WireOrder::from)),
        "create_order" => {
            let order = NewOrder { lines: vec![("COF-LAV-1KG".to_owned(), 1)], address: None };
            match b.create_order(&c1, &order, "k2").await.unwrap() {
                Ok(c) => {
                    to_json(WireCreatedOrder { number: c.number, total: c.total, currency: c.currency, new: c.new })
                }
                Err(r) => to_json(order_refusal_body(&r)),
            }
        }
        "offer" => to_json(b.offer(&c1).await.unwrap().as_ref().map(WireOffer::from)),
        "referral_code" => to_json(ReferralCode { code: b.referral_code(&c1).await.unwrap() }),
        "credit_referral" => match b.credit_referral("B7D0C1A2", &CustomerId("C3".to_owned())).await.unwrap() {
            ReferralOutcome::Credited { referrer, points } => {
                to_json(ReferralCredited { referrer: referrer.0, points })
            }
            other => to_json(referral_refusal_body(&other)),
        },
        "services" => {
            to_json(ServiceList { services: b.services().await.unwrap().iter().map(WireService::from).collect() })
        }
        "staff" => to_json(StaffList { staff: b.staff().await.unwrap().iter().map(WireStaffMember::from).collect() }),
        "preferred_staff" => to_json(b.preferred_staff(&c1).await.unwrap().map(|staff| PreferredStaff { staff })),
        "free_slots" => to_json(SlotList {
            slots: b
                .free_slots("haircut", Some("anna"), t("2025-01-13T00:00:00Z"), t("2025-01-14T00:00:00Z"))
                .await
                .unwrap(),
        }),
        "book" => booking(b.book(&c1, "haircut", &slot, "k3").await.unwrap()),
        "appointments" => to_json(AppointmentList {
            appointments: b
                .appointments(&c1, t("2025-01-11T05:00:00Z"))
                .await
                .unwrap()
                .iter()
                .map(WireAppointment::from)
                .collect(),
        }),
        "appointment" => to_json(b.appointment(&c1, "B-7Q2KX9MA").await.unwrap().as_ref().map(WireAppointment::from)),
        "reschedule" => booking(b.reschedule(&c1, "B-7Q2KX9MA", &slot).await.unwrap()),
        "cancel" => booking(b.cancel(&c1, "B-7Q2KX9MA").await.unwrap()),
        "upcoming" => to_json(UpcomingList {
            appointments: b
                .upcoming(t("2025-01-13T00:00:00Z"), t("2025-01-14T00:00:00Z"))
                .await
                .unwrap()
                .iter()
                .map(|(c, a)| UpcomingAppointment { customer_id: c.0.clone(), appointment: a.into() })
                .collect(),
        }),
        "business" => to_json(b.business().await.unwrap()),
        other => panic!("no call for the operation {other}"),
    }
}

/// `/customers/{customer_id}/orders` → `^/customers/[^/]+/orders$`.
fn path_pattern(template: &str) -> String {
    let re = regex::Regex::new(r"\{[^}]+\}").unwrap();
    format!("^{}$", re.replace_all(&regex::escape(template).replace(r"\{", "{").replace(r"\}", "}"), "[^/]+"))
}

#[tokio::test]
async fn the_client_reads_every_example_of_the_contract_as_it_says() {
    let server = MockServer::start().await;
    let client = HttpBackend::new(&HttpBackendConfig::new(server.uri())).unwrap();
    let mut checked = 0;
    for op in operations() {
        for (status, name, example) in &op.examples {
            server.reset().await;
            let mut mock = Mock::given(method(op.method.as_str())).and(path_regex(path_pattern(&op.path)));
            if op.idempotent_write {
                mock = mock.and(header_exists("idempotency-key"));
            }
            mock.respond_with(ResponseTemplate::new(*status).set_body_json(example)).expect(1).mount(&server).await;
            let read = call(&client, &op.id).await;
            assert_eq!(read, strip_nulls(example.clone()), "{} {status} example {name:?} read otherwise", op.id);
            server.verify().await;
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} examples checked");
}

#[tokio::test]
async fn a_pdf_file_comes_with_its_name_and_404_is_none() {
    let server = MockServer::start().await;
    let client = HttpBackend::new(&HttpBackendConfig::new(server.uri())).unwrap();
    Mock::given(method("GET"))
        .and(path_regex("^/customers/A%2F17/documents/D-1001/file$"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/pdf")
                .insert_header("content-disposition", "attachment; filename=\"act-2024-12.pdf\"")
                .set_body_bytes(b"%PDF-1.7 demo".to_vec()),
        )
        .mount(&server)
        .await;
    let id = CustomerId("A/17".to_owned());
    let file = client.file(&id, "D-1001").await.unwrap();
    assert_eq!(
        file,
        Some(DocumentFile::Bytes { file_name: "act-2024-12.pdf".to_owned(), bytes: b"%PDF-1.7 demo".to_vec() })
    );
    assert_eq!(client.file(&id, "D-404").await.unwrap(), None);
    assert_eq!(client.order(&id, "1").await.unwrap(), None);
}

#[tokio::test]
async fn failures_map_to_adapter_errors_without_urls() {
    let server = MockServer::start().await;
    let config = HttpBackendConfig { max_body_bytes: 1000, ..HttpBackendConfig::new(format!("{}/base", server.uri())) };
    let client = HttpBackend::new(&config).unwrap();
    Mock::given(path_regex("/account$")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    Mock::given(path_regex("/transactions$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"transactions\": 5}"))
        .mount(&server)
        .await;
    Mock::given(path_regex("/tariffs$"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(2000)))
        .mount(&server)
        .await;
    Mock::given(path_regex("/business$")).respond_with(ResponseTemplate::new(401)).mount(&server).await;
    let c = CustomerId("secret-id".to_owned());
    let err = client.account(&c).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Unavailable(m) if !m.contains("secret-id") && !m.contains("127.0.0.1")),
        "{err:?}"
    );
    assert!(matches!(client.transactions(&c, 3).await.unwrap_err(), AdapterError::Invalid(_)));
    assert!(matches!(client.tariffs().await.unwrap_err(), AdapterError::Invalid(m) if m.contains("larger")));
    assert!(matches!(client.business().await.unwrap_err(), AdapterError::Unavailable(m) if m.contains("signature")));
    let requests = server.received_requests().await.unwrap();
    assert!(requests.iter().all(|r| r.url.path().starts_with("/base/")), "the base URL's path is kept");
    drop(server);
    let err = client.account(&c).await.unwrap_err();
    assert!(matches!(&err, AdapterError::Unavailable(m) if !m.contains("127.0.0.1")), "{err:?}");
}

/// The reference server over the demo business's built-in adapters, with a secret.
async fn reference_server(secret: &str) -> (LocalServer, SandboxedBot, Adapters) {
    let slot: Arc<std::sync::Mutex<Option<Adapters>>> = Arc::default();
    let keep = slot.clone();
    let bot = SandboxedBot::start_with_adapters(Config::default(), fixed(), move |store, clock, config| {
        let adapters = cabinet::app::builtin(config, store, clock);
        *keep.lock().unwrap() = Some(adapters.clone());
        adapters
    })
    .await
    .unwrap();
    let adapters = slot.lock().unwrap().clone().unwrap();
    let server = LocalServer::start(adapters.clone(), Some(SecretString::from(secret.to_owned()))).await.unwrap();
    (server, bot, adapters)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_refuses_a_bad_signature_or_a_stale_timestamp() {
    let (server, bot, _) = reference_server("s3cret").await;
    let http = reqwest::Client::new();
    let send = |timestamp: i64, secret: &str| {
        let path = "/customers/C1/account";
        let sig = sign::signature(secret.as_bytes(), timestamp, "GET", path, b"");
        http.get(format!("{}{path}", server.url()))
            .header("x-cabinet-timestamp", timestamp.to_string())
            .header("x-cabinet-signature", sig)
            .send()
    };
    let now = Utc::now().timestamp();
    assert_eq!(send(now, "s3cret").await.unwrap().status(), 200);
    assert_eq!(send(now, "other").await.unwrap().status(), 401);
    assert_eq!(send(now - 301, "s3cret").await.unwrap().status(), 401);
    assert_eq!(send(now + 301, "s3cret").await.unwrap().status(), 401);
    assert_eq!(http.get(format!("{}/business", server.url())).send().await.unwrap().status(), 401);
    // A body changed after signing.
    let sig = sign::signature(b"s3cret", now, "POST", "/customers/C1/notes", br#"{"text":"a"}"#);
    let tampered = http
        .post(format!("{}/customers/C1/notes", server.url()))
        .header("x-cabinet-timestamp", now.to_string())
        .header("x-cabinet-signature", sig)
        .header("content-type", "application/json")
        .body(r#"{"text":"b"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    // A booking without its Idempotency-Key is refused as malformed.
    let body = br#"{"service":"haircut","start":"2025-01-13T05:00:00Z","staff":"anna"}"#;
    let sig = sign::signature(b"s3cret", now, "POST", "/customers/C1/bookings", body);
    let keyless = http
        .post(format!("{}/customers/C1/bookings", server.url()))
        .header("x-cabinet-timestamp", now.to_string())
        .header("x-cabinet-signature", sig)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(keyless.status(), 400);

    // The client with the wrong secret is told so; with the right one it reads the account.
    let wrong = HttpBackendConfig { secret: Some(SecretString::from("other")), ..HttpBackendConfig::new(server.url()) };
    let err = HttpBackend::new(&wrong).unwrap().account(&CustomerId("C1".to_owned())).await.unwrap_err();
    assert!(matches!(&err, AdapterError::Unavailable(m) if m.contains("signature refused")), "{err:?}");
    let right =
        HttpBackendConfig { secret: Some(SecretString::from("s3cret")), ..HttpBackendConfig::new(server.url()) };
    let account = HttpBackend::new(&right).unwrap().account(&CustomerId("C1".to_owned())).await.unwrap().unwrap();
    assert_eq!(account.balance, "3450".parse().unwrap());
    server.stop().await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_of_any_shape_reach_the_reference_server_and_other_customers_records_are_none() {
    let (server, bot, _) = reference_server("k").await;
    let config = HttpBackendConfig { secret: Some(SecretString::from("k")), ..HttpBackendConfig::new(server.url()) };
    let client = HttpBackend::new(&config).unwrap();
    let c1 = CustomerId("C1".to_owned());
    assert_eq!(client.order(&c1, "78234").await.unwrap().unwrap().number, "78234");
    // C2's order and odd ids: none, not an error.
    for odd in ["a/b", "..%2F", "x y?z#", "😀", "550e8400-e29b-41d4-a716-446655440000"] {
        assert_eq!(client.order(&c1, odd).await.unwrap(), None, "{odd}");
        assert_eq!(client.profile(&CustomerId(odd.to_owned())).await.unwrap(), None, "{odd}");
    }
    server.stop().await;
    bot.stop().await;
}

/// The demo bot whose billing is the HTTP backend at `url`.
async fn bot_with_http_billing(url: String, timeout_ms: u64) -> SandboxedBot {
    let opts = SandboxOptions { adapter_timeout_ms: Some(timeout_ms), ..fixed() };
    let mut config = Config::default();
    config.adapters.retries = 0;
    SandboxedBot::start_with_adapters(config, opts, move |store, clock, config| {
        let mut adapters = cabinet::app::builtin(config, store, clock);
        adapters.billing = HttpBackend::new(&HttpBackendConfig::new(url)).unwrap().adapters().billing;
        adapters
    })
    .await
    .unwrap()
}

async fn the_customer_is_told_the_system_is_not_answering(response: ResponseTemplate) {
    let server = MockServer::start().await;
    Mock::given(path_regex("^/customers/C1/account$")).respond_with(response).expect(1..).mount(&server).await;
    let bot = bot_with_http_billing(server.uri(), 300).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert!(!replies.contains("₸"), "{}", replies.dump());
    // Orders come from another system, which answers.
    let replies = say(&bot, &user, "где мой заказ").await;
    assert!(replies.contains("1234567890"), "{}", replies.dump());
    bot.stop().await;
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_answering_500_gets_a_polite_answer_and_the_bot_keeps_working() {
    the_customer_is_told_the_system_is_not_answering(ResponseTemplate::new(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_body_gets_a_polite_answer_and_the_bot_keeps_working() {
    the_customer_is_told_the_system_is_not_answering(ResponseTemplate::new(200).set_body_string("{\"balance\": ["))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_gets_a_polite_answer_and_the_bot_keeps_working() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(json!({"balance": "3450", "currency": "KZT"}))
        .set_delay(Duration::from_secs(5));
    the_customer_is_told_the_system_is_not_answering(slow).await;
}

/// A child process killed when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `examples/http-backend-python/server.py` on a free port with `secret`: the process and its
/// base URL, once it accepts requests (it prints its address after binding).
async fn python_backend(secret: &str) -> Option<(Child, String)> {
    if std::process::Command::new("python3").arg("--version").output().is_err() {
        assert!(!cabinet::testenv::on_ci(), "python3 is needed by the_python_example_backend_serves_the_bot (CI=true)");
        println!("SKIPPED (no python3): the_python_example_backend_serves_the_bot");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/http-backend-python/server.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string()])
        .env("CABINET_SECRET", secret)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Child(child);
    let line = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).map(|_| line)
        }),
    )
    .await
    .expect("the Python backend did not start in 20 s")
    .unwrap()
    .unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected output: {line:?}"));
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    Some((child, url.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_backend_serves_the_bot() {
    let Some((_python, url)) = python_backend("py-secret").await else { return };
    let config = HttpBackendConfig { secret: Some(SecretString::from("py-secret")), ..HttpBackendConfig::new(url) };
    let backend = HttpBackend::new(&config).unwrap();
    // What it does not implement is none; a wrong secret is refused.
    assert_eq!(backend.order(&CustomerId("C-1001".to_owned()), "1").await.unwrap(), None);
    let wrong = HttpBackendConfig { secret: Some(SecretString::from("nope")), ..config.clone() };
    assert!(matches!(HttpBackend::new(&wrong).unwrap().business().await, Err(AdapterError::Unavailable(_))));
    assert_eq!(backend.business().await.unwrap().unwrap().name, "Example Telecom");

    let bot = SandboxedBot::start_with_adapters(Config::default(), fixed(), move |store, clock, config| {
        let http = backend.adapters();
        let builtin = cabinet::app::builtin(config, store, clock);
        Adapters { crm: http.crm, billing: http.billing, directory: http.directory, ..builtin }
    })
    .await
    .unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "баланс").await;
    // "7 777 ₸", with whatever spaces the bot groups digits by: the Python backend's balance.
    let text: String = replies.dump().chars().filter(|c| !c.is_whitespace()).collect();
    assert!(text.contains("Вашбаланс:7777₸"), "{}", replies.dump());
    bot.stop().await;
}

/// The conformance suite through the contract: the built-in backend over the demo, served by
/// the reference server and read with the HTTP client, keeps every promise of the traits.
#[tokio::test]
async fn the_http_backend_keeps_every_promise_of_the_adapter_traits() {
    use cabinet::adapters::builtin::import::{self, BusinessData};
    use cabinet::clock::Clock as _;
    let store = cabinet::app::open_store("sqlite::memory:").await.unwrap();
    import::import(&store, &BusinessData::demo(), chrono::Duration::zero()).await.unwrap();
    let clock = cabinet::clock::FixedClock::new(BusinessData::demo().demo_now_utc().unwrap());
    let served = cabinet::adapters::builtin::Builtin::new(store.clone()).with_clock(clock.clone()).adapters();
    let secret = SecretString::from("conformance-secret");
    let server = LocalServer::start(served, Some(secret.clone())).await.unwrap();
    let config = HttpBackendConfig { secret: Some(secret), ..HttpBackendConfig::new(server.url()) };
    let client = HttpBackend::new(&config).unwrap().adapters();
    let fixture = cabinet::adapters::contract::Fixture::demo(clock.now());
    let broken = cabinet::adapters::contract::check_all(&client, &fixture).await;
    server.stop().await;
    assert!(broken.is_empty(), "the HTTP backend breaks:\n{}", broken.join("\n"));
}

/// A redirect would carry the signature to wherever it points: the client does not follow.
#[tokio::test]
async fn a_redirect_is_not_followed_and_the_signature_goes_nowhere_else() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&elsewhere)
        .await;
    let backend = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/steal", elsewhere.uri())))
        .mount(&backend)
        .await;
    let config =
        HttpBackendConfig { secret: Some(SecretString::from("s3cret")), ..HttpBackendConfig::new(backend.uri()) };
    let client = HttpBackend::new(&config).unwrap();
    let answer = Crm::profile(&client, &CustomerId("C1".into())).await;
    assert!(matches!(answer, Err(AdapterError::Invalid(_))), "{answer:?}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}
