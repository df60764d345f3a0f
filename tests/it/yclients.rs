//! The bot booking through the YCLIENTS connector against a wiremock YCLIENTS: the demo's
//! built-in CRM knows the customer, YCLIENTS the services, staff, free times and records.

use cabinet::config::Config;
use cabinet::replay::harness::SandboxedBot;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::support::{erlan, identify, press, say};

fn ok(data: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": true, "data": data, "meta": []}))
}

fn times(list: &[&str]) -> ResponseTemplate {
    ok(Value::Array(
        list.iter()
            .map(|t| json!({"time": t, "seance_length": 3600, "sum_length": 3600, "datetime": format!("2025-01-12T{t}:00+05:00")}))
            .collect(),
    ))
}

/// YCLIENTS company 4564: a haircut (service 1001, the bot's "haircut") by Анна (501, the
/// bot's "anna"), free
/// tomorrow (2025-01-12) at 12:00 and 16:00 until the booking is tried (`taken_after`
/// listings), then at 16:00 only; no records.
async fn yclients(taken_after: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let get = |p: &str| Mock::given(method("GET")).and(path(format!("/api/v1{p}")));
    get("/book_services/4564")
        .respond_with(ok(json!({
            "services": [{"id": 1001, "title": "Стрижка", "price_min": 5000, "price_max": 5000, "seance_length": 3600}],
            "category": [],
            "events": []
        })))
        .mount(&server)
        .await;
    get("/book_staff/4564")
        .and(query_param("service_ids[]", "1001"))
        .respond_with(ok(json!([{"id": 501, "name": "Анна", "specialization": "Парикмахер", "bookable": true}])))
        .mount(&server)
        .await;
    get("/book_dates/4564")
        .respond_with(ok(json!({"booking_days": {"1": ["12"]}, "booking_dates": ["2025-01-12"], "working_days": {}})))
        .mount(&server)
        .await;
    let free = get("/book_times/4564/501/2025-01-12").respond_with(times(&["12:00", "16:00"])).with_priority(1);
    match taken_after {
        Some(n) => {
            free.up_to_n_times(n).mount(&server).await;
            get("/book_times/4564/501/2025-01-12")
                .respond_with(times(&["16:00"]))
                .with_priority(2)
                .mount(&server)
                .await;
        }
        None => free.mount(&server).await,
    }
    get("/records/4564").respond_with(ok(json!([]))).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/company/4564/clients/search"))
        .respond_with(ok(json!([])))
        .mount(&server)
        .await;
    server
}

/// The demo bot with bookings in YCLIENTS at `server`.
async fn bot(server: &MockServer) -> SandboxedBot {
    bot_with_timeout(server, None).await
}

/// [`bot`] with the adapter timeout set to `timeout_ms`.
async fn bot_with_timeout(server: &MockServer, timeout_ms: Option<u64>) -> SandboxedBot {
    // Chosen by the config, as `cabinet run` reads it.
    let mut config = Config::from_toml(
        &format!(
            "[backends]\nbooking = \"yclients\"\n[backends.yclients]\nbase_url = \"{}/api/v1\"\ncompany_id = 4564\n\
             partner_token = \"partner\"\nuser_token = \"user\"\n\
             service_codes = {{ \"1001\" = \"haircut\" }}\nstaff_codes = {{ \"501\" = \"anna\" }}\n",
            server.uri()
        ),
        "cabinet.toml",
    )
    .unwrap();
    if let Some(ms) = timeout_ms {
        config.bot.adapter_timeout_ms = ms;
    }
    super::backends::bot_configured(config).await
}

/// YCLIENTS takes the booking: record 2820023.
async fn mount_booked(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/api/v1/book_check/4564"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"success": true, "data": null, "meta": []})))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/book_record/4564"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "success": true,
            "data": [{"id": 1, "record_id": 2820023, "record_hash": "567df655ec1ee4c1ff3e5d3c5e2a0b59"}],
            "meta": []
        })))
        .mount(server)
        .await;
}

async fn book_records(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/api/v1/book_record/4564")
        .collect()
}

#[tokio::test]
async fn a_haircut_is_booked_in_yclients_at_a_time_yclients_offers() {
    let server = yclients(None).await;
    mount_booked(&server).await;
    let bot = bot(&server).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "хочу записаться на стрижку").await;
    assert!(replies.contains("Свободно: завтра в 12:00 и 16:00"), "{}", replies.dump());
    let replies = press(&bot, &user, "завтра 16:00").await;
    assert!(replies.contains("Записать?"), "{}", replies.dump());
    assert!(replies.contains("Анна"), "{}", replies.dump());
    let replies = press(&bot, &user, "Записаться").await;
    assert!(replies.contains("Вы записаны: Стрижка, мастер Анна, 12 января в 16:00"), "{}", replies.dump());
    let booked = book_records(&server).await;
    assert_eq!(booked.len(), 1);
    let body: Value = serde_json::from_slice(&booked[0].body).unwrap();
    assert_eq!(body["phone"], "77011234567");
    assert_eq!(body["fullname"], "Ерлан Ахметов");
    assert!(body["comment"].as_str().unwrap().starts_with("cabinet:"), "{body}");
    assert_eq!(body["appointments"][0]["staff_id"], 501);
    assert_eq!(body["appointments"][0]["services"], json!([1001]));
    assert_eq!(body["appointments"][0]["datetime"], "2025-01-12T16:00:00+05:00");
    bot.stop().await;
}

#[tokio::test]
async fn a_staff_member_named_in_the_request_is_found_in_yclients_by_the_bots_id() {
    let server = yclients(None).await;
    mount_booked(&server).await;
    let bot = bot(&server).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "запишите меня на стрижку к Анне завтра в 12:00").await;
    assert!(replies.contains("Стрижка, мастер Анна: завтра (12 января) в 12:00"), "{}", replies.dump());
    let replies = press(&bot, &user, "Записаться").await;
    assert!(replies.contains("Вы записаны"), "{}", replies.dump());
    let booked = book_records(&server).await;
    assert_eq!(booked.len(), 1);
    let body: Value = serde_json::from_slice(&booked[0].body).unwrap();
    assert_eq!(body["appointments"][0]["staff_id"], 501);
    assert_eq!(body["appointments"][0]["datetime"], "2025-01-12T12:00:00+05:00");
    bot.stop().await;
}

#[tokio::test]
async fn a_time_taken_in_yclients_meanwhile_gets_the_slot_taken_answer_and_fresh_times() {
    // The listing and the check before the summary see 12:00 free; then someone takes it.
    let server = yclients(Some(2)).await;
    Mock::given(method("POST"))
        .and(path("/api/v1/book_check/4564"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "success": false,
            "data": null,
            "meta": {"message": "Выбранное время уже занято", "errors": [{"code": 433, "message": "Выбранное время уже занято"}]}
        })))
        .mount(&server)
        .await;
    let bot = bot(&server).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "хочу записаться на стрижку").await;
    let replies = press(&bot, &user, "завтра 12:00").await;
    assert!(replies.contains("Записать?"), "{}", replies.dump());
    let replies = press(&bot, &user, "Записаться").await;
    assert!(replies.contains("Это время только что заняли"), "{}", replies.dump());
    assert!(!replies.contains("Вы записаны"), "{}", replies.dump());
    assert!(replies.contains("Ближайшее свободное: завтра в 16:00"), "{}", replies.dump());
    assert!(book_records(&server).await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn yclients_failing_gets_the_polite_system_not_answering_reply() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"success": false, "data": null, "meta": {"message": "Internal Server Error"}})),
        )
        .mount(&server)
        .await;
    let bot = bot(&server).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "хочу записаться на стрижку").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert!(book_records(&server).await.is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn the_customers_records_in_yclients_are_listed_and_one_is_cancelled_there() {
    let server = yclients(None).await;
    let record = json!({
        "id": 2820031,
        "company_id": 4564,
        "staff_id": 501,
        "services": [{"id": 1001, "title": "Стрижка", "cost": 5000, "amount": 1}],
        "staff": {"id": 501, "name": "Анна"},
        "client": {"id": 3901, "name": "Ерлан Ахметов", "phone": "+77011234567"},
        "date": "2025-01-13 10:00:00",
        "datetime": "2025-01-13T10:00:00+05:00",
        "comment": "",
        "seance_length": 3600,
        "length": 3600,
        "visit_attendance": 0,
        "attendance": 0,
        "deleted": false
    });
    Mock::given(method("POST"))
        .and(path("/api/v1/company/4564/clients/search"))
        .respond_with(ok(json!([{"id": 3901, "phone": "+77011234567"}])))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/records/4564"))
        .and(query_param("client_id", "3901"))
        .respond_with(ok(json!([record.clone()])))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/api/v1/record/4564/2820031")).respond_with(ok(record)).mount(&server).await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/record/4564/2820031"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let bot = bot(&server).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "мои записи").await;
    assert!(replies.contains("в 10:00 — Стрижка, мастер Анна"), "{}", replies.dump());
    let replies = say(&bot, &user, "отмените запись").await;
    assert!(replies.contains("Отменить запись?"), "{}", replies.dump());
    let replies = press(&bot, &user, "Да, отменить").await;
    assert!(replies.contains("Запись отменена"), "{}", replies.dump());
    bot.stop().await;
    server.verify().await;
}

#[tokio::test]
async fn a_slow_or_garbled_yclients_gets_the_polite_answer_in_time() {
    let server = MockServer::start().await;
    // Services answer after the adapter timeout; everything else is not JSON at all.
    Mock::given(method("GET"))
        .and(path("/api/v1/book_services/4564"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"))
        .mount(&server)
        .await;
    let bot = bot_with_timeout(&server, Some(400)).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "хочу записаться на стрижку").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    let replies = say(&bot, &user, "мои записи").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert!(book_records(&server).await.is_empty());
    // The rest of the cabinet still answers.
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;
}
