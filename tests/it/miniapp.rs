//! The Mini App's API (`/api/v1/app/`) over the real server on a local port, called with
//! reqwest as the Mini App's page calls it: init data signed by an independent
//! implementation (`tests/miniapp/sign_init_data.py`, Python's standard library), the demo
//! customer Ерлан identified through the real bot in the sandbox first.

use cabinet::config::Config;
use cabinet::miniapp::{self, API_PREFIX, MiniAppConfig, MiniAppState};
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::{BotContent, SandboxUser};
use cabinet::server::Server;
use cabinet::store::AuditEntry;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::support::{erlan, fixed, identify, press, say};

const STAFF: i64 = -1_001_000_000_014;
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/miniapp/sign_init_data.py");

/// The bot in the sandbox and its Mini App API on a local port.
struct App {
    bot: SandboxedBot,
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl App {
    async fn start(options: SandboxOptions) -> App {
        let mut config = Config::default();
        config.telegram.staff_chat_id = Some(STAFF);
        let bot = SandboxedBot::start_with_config(config, options).await.unwrap();
        bot.sandbox.add_forum_group(STAFF, "Support");
        let telegram = teloxide::Bot::new(bot.sandbox.token()).set_api_url(bot.sandbox.api_url());
        let token = SecretString::from(bot.sandbox.token().to_owned());
        let state = MiniAppState::new(bot.ctx.clone(), telegram, token, MiniAppConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server::from_listener(listener).merge(miniapp::router(state));
        let base = format!("http://{}{API_PREFIX}", server.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = server.serve(async {
            let _ = stopped.await;
        });
        App { bot, base, http: reqwest::Client::new(), stop: Some(stop), server: Some(server) }
    }

    /// Init data for `user` signed with the bot's token at the bot's clock's now.
    fn init_data(&self, user: &SandboxUser) -> String {
        self.init_data_at(user, self.bot.now())
    }

    fn init_data_at(&self, user: &SandboxUser, at: DateTime<Utc>) -> String {
        signed(self.bot.sandbox.token(), user.id, &user.first_name, at)
    }

    /// `method path` with `Authorization: tma <init data>` (or none).
    async fn call(&self, method: reqwest::Method, path: &str, init_data: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}/{path}", self.base));
        if let Some(data) = init_data {
            request = request.header("authorization", format!("tma {data}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap().to_vec();
        Answer { status, headers, bytes }
    }

    async fn get(&self, path: &str, user: &SandboxUser) -> Answer {
        let data = self.init_data(user);
        self.call(reqwest::Method::GET, path, Some(&data), None).await
    }

    async fn audit(&self, user_id: i64) -> Vec<AuditEntry> {
        self.bot.store.audit_entries(user_id).await.unwrap()
    }

    /// The alerts in the staff group's general topic containing `text`.
    fn alerts(&self, text: &str) -> Vec<String> {
        self.bot
            .sandbox
            .messages(STAFF)
            .into_iter()
            .filter(|m| m.thread_id.is_none() && m.text.contains(text))
            .map(|m| m.text)
            .collect()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
        self.bot.stop().await;
    }
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.bytes)))
    }

    /// The status is `status`, the security headers are there, no CORS header is.
    fn expect(&self, status: StatusCode) -> &Answer {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.bytes));
        assert_eq!(self.headers["x-content-type-options"], "nosniff");
        assert_eq!(self.headers["cache-control"], "no-store");
        assert!(!self.headers.keys().any(|k| k.as_str().starts_with("access-control-")), "{:?}", self.headers);
        self
    }

    /// A refusal: the status, its code, and nothing but `error`, `message` (and `chat_url`).
    fn refused(&self, status: StatusCode, code: &str) {
        let body = self.expect(status).json();
        assert_eq!(body["error"], code, "{body}");
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert!(keys.iter().all(|k| ["error", "message", "chat_url"].contains(&k.as_str())), "{body}");
    }
}

/// Init data signed by the Python script; without python3 (not on CI) by cabinet's own
/// signer, said so.
fn signed(token: &str, user_id: i64, first_name: &str, at: DateTime<Utc>) -> String {
    match python_signed(token, user_id, first_name, at) {
        Some(data) => data,
        None => {
            assert!(!cabinet::testenv::on_ci(), "python3 is needed to sign init data independently (CI=true)");
            println!("python3 missing: init data signed by cabinet's own signer");
            miniapp::development_init_data(token, user_id, first_name, at)
        }
    }
}

fn python_signed(token: &str, user_id: i64, first_name: &str, at: DateTime<Utc>) -> Option<String> {
    let output = std::process::Command::new("python3")
        .arg(SCRIPT)
        .args(["--auth-date", &at.timestamp().to_string(), "--user-id", &user_id.to_string()])
        .args(["--first-name", first_name, "--language", "ru"])
        .env("BOT_TOKEN", token)
        .output()
        .ok()?;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

fn has_python() -> bool {
    let present = std::process::Command::new("python3").arg("--version").output().is_ok();
    assert!(present || !cabinet::testenv::on_ci(), "python3 is needed by the Mini App's tests (CI=true)");
    if !present {
        println!("SKIPPED (no python3): init data signed by the independent script");
    }
    present
}

/// Ерлан (C1), identified in the chat.
async fn with_erlan(options: SandboxOptions) -> (App, SandboxUser) {
    let app = App::start(options).await;
    let user = erlan();
    identify(&app.bot, &user, "+77011234567").await;
    (app, user)
}

fn miniapp_rows(entries: &[AuditEntry], action: &str) -> usize {
    entries.iter().filter(|e| e.channel == "miniapp" && e.action == action).count()
}

#[test]
fn the_independent_script_and_cabinet_sign_the_same() {
    if !has_python() {
        return;
    }
    let at = DateTime::from_timestamp(1_736_575_200, 0).unwrap();
    let by_python = python_signed("42:token", 5001, "Ерлан", at).unwrap();
    let checked =
        miniapp::init_data::validate(&by_python, "42:token", at + Duration::minutes(5), Duration::days(1)).unwrap();
    assert_eq!((checked.user.id, checked.user.first_name.as_str()), (5001, "Ерлан"));
    assert_eq!(checked.user.language_code.as_deref(), Some("ru"));
    assert!(miniapp::init_data::validate(&by_python, "43:token", at, Duration::days(1)).is_err(), "another bot's");
}

#[tokio::test]
async fn every_endpoint_answers_the_identified_customer_with_their_own_data_and_audits_it() {
    let (app, user) = with_erlan(fixed()).await;

    let me = app.get("me", &user).await;
    let me = me.expect(StatusCode::OK).json();
    assert_eq!(me["name"], "Ерлан Ахметов");
    assert_eq!(me["language"], "ru");
    let phone = me["phone"].as_str().unwrap();
    assert!(phone.starts_with("+7 ") && !phone.contains("1234567"), "masked: {phone}");
    assert_eq!(me["capabilities"]["billing"], true);

    let balance = app.get("balance", &user).await;
    let balance = balance.expect(StatusCode::OK).json();
    assert_eq!(balance["balance"]["amount"], "3450.00", "{balance}");
    assert_eq!(balance["balance"]["currency"], "KZT");
    assert_eq!(balance["balance"]["display"], "3\u{a0}450\u{a0}₸");
    assert!(balance["bonus_points"].is_i64(), "{balance}");
    let transactions = balance["transactions"].as_array().unwrap();
    assert!(!transactions.is_empty(), "{balance}");
    assert!(transactions[0]["at"]["at"].as_str().unwrap().contains('T'), "ISO times");
    let months = balance["months"].as_array().unwrap();
    assert!(!months.is_empty(), "{balance}");
    // The months' sums add up to the transactions.
    let sum = |field: &str| -> f64 {
        months.iter().map(|m| m[field]["amount"].as_str().unwrap().parse::<f64>().unwrap()).sum()
    };
    let net: f64 = transactions.iter().map(|t| t["amount"]["amount"].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert!((sum("top_ups") - sum("charges") - net).abs() < 0.005, "{months:?}");

    let orders = app.get("orders", &user).await;
    let orders = orders.expect(StatusCode::OK).json();
    let numbers: Vec<&str> =
        orders["orders"].as_array().unwrap().iter().map(|o| o["number"].as_str().unwrap()).collect();
    assert_eq!(numbers.len(), 3, "{orders}");
    assert!(numbers.contains(&"78234") && !numbers.contains(&"78300"), "{numbers:?}");

    let order = app.get("orders/78234", &user).await;
    let order = order.expect(StatusCode::OK).json();
    assert_eq!(order["status"]["code"], "in_transit");
    assert_eq!(order["status"]["display"], "в пути");
    assert!(!order["items"].as_array().unwrap().is_empty(), "{order}");
    assert!(order["delivery"]["map_url"].as_str().unwrap().contains("43.238900"), "{order}");

    let documents = app.get("documents", &user).await;
    let documents = documents.expect(StatusCode::OK).json();
    let ids: Vec<&str> = documents["documents"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"D-1001") && !ids.contains(&"D-2001"), "{ids:?}");
    let act = documents["documents"].as_array().unwrap().iter().find(|d| d["id"] == "D-1001").unwrap();
    assert_eq!(act["pdf_url"], format!("{API_PREFIX}/documents/D-1001/pdf"));

    let pdf = app.get("documents/D-1001/pdf", &user).await;
    pdf.expect(StatusCode::OK);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-"), "a PDF");
    assert!(pdf.headers["content-disposition"].to_str().unwrap().contains("act-2024-12-D-1001.pdf"));

    let settings = app.get("settings", &user).await;
    let settings = settings.expect(StatusCode::OK).json();
    assert_eq!(settings["language"], "ru");
    let news = settings["notifications"].as_array().unwrap().iter().find(|c| c["category"] == "news").unwrap().clone();
    assert_eq!(news["label"], "Новости");

    // Every read is audited through the Mini App's channel, as Ерлан's customer.
    let entries = app.audit(user.id).await;
    for action in [
        "profile.read",
        "balance.read",
        "orders.history",
        "order.read",
        "documents.list",
        "document.downloaded",
        "settings.read",
    ] {
        assert_eq!(miniapp_rows(&entries, action), 1, "{action}: {entries:?}");
    }
    assert!(entries.iter().filter(|e| e.channel == "miniapp").all(|e| e.customer_id.as_ref().unwrap().0 == "C1"));
    app.stop().await;
}

#[tokio::test]
async fn booking_reads_offer_the_regular_staff_first_free_times_and_own_appointments_only() {
    let (app, user) = with_erlan(fixed()).await;
    let services = app.get("booking/services", &user).await;
    let services = services.expect(StatusCode::OK).json();
    assert_eq!(services["staff"][0]["id"], "anna", "Ерлан's regular first: {services}");
    assert_eq!(services["staff"][0]["regular"], true);
    let codes: Vec<&str> =
        services["services"].as_array().unwrap().iter().map(|s| s["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"haircut"), "{codes:?}");

    let slots = app.get("booking/slots?service=haircut&staff=anna", &user).await;
    let slots = slots.expect(StatusCode::OK).json();
    let slots = slots["slots"].as_array().unwrap().clone();
    assert!(!slots.is_empty());
    assert!(slots.iter().all(|s| s["staff"]["id"] == "anna"), "{slots:?}");
    app.get("booking/slots?service=horoscope", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    app.get("booking/slots", &user).await.refused(StatusCode::BAD_REQUEST, "invalid_query");

    let none = app.get("booking/appointments", &user).await;
    assert_eq!(none.expect(StatusCode::OK).json()["appointments"], json!([]));
    // Booked (as the chat would, through the backend): listed and readable.
    let start = DateTime::parse_from_rfc3339(slots[0]["start"]["at"].as_str().unwrap()).unwrap().to_utc();
    let slot = cabinet::adapters::Slot { start, staff: "anna".into() };
    let customer = cabinet::adapters::CustomerId("C1".into());
    let booked = app.bot.ctx.adapters.booking.book(&customer, "haircut", &slot, "miniapp-test").await.unwrap().unwrap();
    let list = app.get("booking/appointments", &user).await;
    let list = list.expect(StatusCode::OK).json();
    assert_eq!(list["appointments"][0]["id"], booked.id.as_str(), "{list}");
    let one = app.get(&format!("booking/appointments/{}", booked.id), &user).await;
    assert_eq!(one.expect(StatusCode::OK).json()["service"]["code"], "haircut");
    // Ольга's appointment: 404, audited as probing.
    app.get("booking/appointments/B-2001", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    let entries = app.audit(user.id).await;
    assert_eq!(miniapp_rows(&entries, "booking.not_found"), 1, "{entries:?}");
    assert_eq!(miniapp_rows(&entries, "booking.read"), 1, "{entries:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_pdf_is_the_one_the_chat_sends() {
    let (app, user) = with_erlan(fixed()).await;
    say(&app.bot, &user, "пришли акт за декабрь").await;
    let file_id = app
        .bot
        .sandbox
        .messages(user.id)
        .into_iter()
        .find_map(|m| match m.content {
            BotContent::Document { file_name, file_id, .. } if file_name.contains("D-1001") => Some(file_id),
            _ => None,
        })
        .expect("the chat sent the act");
    let chat_pdf = app.bot.sandbox.file_bytes(&file_id).unwrap();
    let pdf = app.get("documents/D-1001/pdf", &user).await;
    pdf.expect(StatusCode::OK);
    assert!(pdf.bytes == chat_pdf, "the same bytes ({} and {})", pdf.bytes.len(), chat_pdf.len());
    app.stop().await;
}

#[tokio::test]
async fn settings_change_the_notifications_and_the_language_and_refuse_nonsense_whole() {
    let (app, user) = with_erlan(fixed()).await;
    let data = app.init_data(&user);
    let put = |body: Value| app.call(reqwest::Method::PUT, "settings", Some(&data), Some(body));
    let changed = put(json!({ "notifications": { "news": false }, "language": "en" })).await;
    let changed = changed.expect(StatusCode::OK).json();
    assert_eq!(changed["language"], "en");
    let news = changed["notifications"].as_array().unwrap().iter().find(|c| c["category"] == "news").unwrap().clone();
    assert_eq!((news["on"].clone(), news["label"].clone()), (json!(false), json!("News")));
    let prefs = cabinet::notify::preferences(&app.bot.store, user.id).await.unwrap();
    assert!(!prefs.wants(cabinet::notify::Category::News));
    // The chat speaks the language chosen in the Mini App.
    assert!(say(&app.bot, &user, "/help").await.contains("Here's what we can do:"));
    assert_eq!(app.bot.store.user(user.id).await.unwrap().unwrap().locale.map(|l| l.as_str()), Some("en"));

    // One bad part refuses the whole change.
    put(json!({ "notifications": { "news": true, "horoscope": true } }))
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings");
    put(json!({ "language": "fr" })).await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings");
    put(json!({ "unknown": 1 })).await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings");
    let prefs = cabinet::notify::preferences(&app.bot.store, user.id).await.unwrap();
    assert!(!prefs.wants(cabinet::notify::Category::News), "nothing written");
    assert_eq!(miniapp_rows(&app.audit(user.id).await, "settings.changed"), 1);
    app.stop().await;
}

#[tokio::test]
async fn another_customers_ids_are_not_found_and_three_raise_the_alert() {
    let (app, user) = with_erlan(fixed()).await;
    // Ольга's order and document (C2), and ids nobody has: 404 alike.
    app.get("orders/78300", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    app.get("documents/D-2001/pdf", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    assert!(app.alerts("чужих или несуществующих").is_empty(), "two are not yet an alert");
    app.get("orders/99999", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    app.get("orders/%20%3Cscript%3E", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    let entries = app.audit(user.id).await;
    assert_eq!(miniapp_rows(&entries, "order.not_found"), 3, "{entries:?}");
    assert_eq!(miniapp_rows(&entries, "document.not_found"), 1, "{entries:?}");
    let alerts = app.alerts("чужих или несуществующих");
    assert_eq!(alerts.len(), 1, "one alert an hour: {alerts:?}");
    assert!(alerts[0].contains("Ерлан") && !alerts[0].contains("1234567"), "{alerts:?}");
    // Unknown endpoints are JSON 404s too.
    app.get("nothing/here", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    app.stop().await;
}

#[tokio::test]
async fn a_user_not_identified_in_the_chat_is_sent_to_the_chat_and_sees_no_data() {
    let app = App::start(fixed()).await;
    let stranger = SandboxUser::new(5999, "Гость", Some("ru"));
    // Consent given but no contact shared: still not identified.
    say(&app.bot, &stranger, "/start").await;
    super::support::press(&app.bot, &stranger, "Принимаю").await;
    let paths = ["me", "balance", "orders", "orders/78234", "documents", "documents/D-1001/pdf", "settings"];
    for path in paths.into_iter().chain(["booking/services", "booking/appointments", "booking/appointments/B-2001"]) {
        let answer = app.get(path, &stranger).await;
        answer.refused(StatusCode::FORBIDDEN, "not_identified");
        let url = answer.json()["chat_url"].as_str().unwrap().to_owned();
        assert!(url.starts_with("https://t.me/"), "{url}");
    }
    let put = app
        .call(reqwest::Method::PUT, "settings", Some(&app.init_data(&stranger)), Some(json!({ "language": "en" })))
        .await;
    put.refused(StatusCode::FORBIDDEN, "not_identified");
    assert_eq!(app.bot.store.user(stranger.id).await.unwrap().unwrap().locale, None, "nothing written");
    assert_eq!(miniapp_rows(&app.audit(stranger.id).await, "miniapp.not_identified"), 11);
    app.stop().await;
}

#[tokio::test]
async fn missing_bad_stale_and_tampered_init_data_get_401_an_audit_row_and_the_alert() {
    let (app, user) = with_erlan(fixed()).await;
    let now = app.bot.now();
    let get = |data: Option<String>| {
        let app = &app;
        async move { app.call(reqwest::Method::GET, "balance", data.as_deref(), None).await }
    };
    // No header at all, and not `tma`: keyed by nobody (0).
    get(None).await.refused(StatusCode::UNAUTHORIZED, "unauthorized");
    let bearer = app.http.get(format!("{}/me", app.base)).header("authorization", "Bearer x").send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let nobody = app.audit(0).await;
    assert_eq!(miniapp_rows(&nobody, "miniapp.unauthorized"), 2, "{nobody:?}");
    assert!(nobody.iter().all(|e| e.subject.as_deref() == Some("missing")));

    let good = app.init_data(&user);
    // A wrong hash; the user field altered (Ерлан claims to be 5002); stale; another bot's.
    let flipped = if good.ends_with('0') { '1' } else { '0' };
    let bad_hash = format!("{}{flipped}", &good[..good.len() - 1]);
    let tampered = good.replace("%3A5001", "%3A5002");
    assert_ne!(tampered, good);
    let stale = app.init_data_at(&user, now - Duration::days(1) - Duration::seconds(1));
    let future = app.init_data_at(&user, now + Duration::minutes(5));
    let other_bot = signed("123:another-bot", user.id, &user.first_name, now);
    for (data, user_key, subject) in [
        (bad_hash, user.id, "bad_hash"),
        (tampered, 5002, "bad_hash"),
        (stale, user.id, "stale"),
        (future, user.id, "from_the_future"),
        (other_bot, user.id, "bad_hash"),
        ("nonsense".to_owned(), 0, "malformed"),
    ] {
        let answer = get(Some(data)).await;
        answer.refused(StatusCode::UNAUTHORIZED, "unauthorized");
        let body = answer.json().to_string();
        assert!(!body.contains("3450") && !body.contains("Ерлан"), "no data: {body}");
        let rows = app.audit(user_key).await;
        let last = rows.iter().rev().find(|e| e.action == "miniapp.unauthorized").unwrap();
        assert_eq!((last.channel.as_str(), last.subject.as_deref()), ("miniapp", Some(subject)));
    }
    // A day old to the second is still fine.
    let oldest = app.init_data_at(&user, now - Duration::days(1));
    get(Some(oldest)).await.expect(StatusCode::OK);
    // Four refusals keyed by Ерлан in an hour: one alert; nobody's three: one more.
    let alerts = app.alerts("неверными данными входа");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts.iter().any(|a| a.contains("5001")), "{alerts:?}");
    assert!(alerts.iter().any(|a| a.contains("Неизвестный")), "{alerts:?}");
    assert!(alerts.iter().all(|a| !a.contains("1234567")), "no full phone: {alerts:?}");
    app.stop().await;
}

#[tokio::test]
async fn no_cors_a_preflight_from_another_origin_is_refused() {
    let (app, user) = with_erlan(fixed()).await;
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/balance", app.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert!(!preflight.headers().keys().any(|k| k.as_str().starts_with("access-control-")));
    // A request naming another origin gets no CORS header either (the browser withholds it).
    let data = app.init_data(&user);
    let answer = app
        .http
        .get(format!("{}/me", app.base))
        .header("origin", "https://evil.example")
        .header("authorization", format!("tma {data}"))
        .send()
        .await
        .unwrap();
    assert!(!answer.headers().keys().any(|k| k.as_str().starts_with("access-control-")));
    app.stop().await;
}

#[tokio::test]
async fn the_mini_app_answers_over_postgresql() {
    let Some((admin, name, url)) = super::support::postgres_database().await else { return };
    let (app, user) = with_erlan(SandboxOptions { database_url: Some(url), ..fixed() }).await;
    let balance = app.get("balance", &user).await;
    assert_eq!(balance.expect(StatusCode::OK).json()["balance"]["amount"], "3450.00");
    app.get("orders/78300", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    let bad = app.call(reqwest::Method::GET, "me", Some("auth_date=1&hash=00"), None).await;
    bad.refused(StatusCode::UNAUTHORIZED, "unauthorized");
    let entries = app.audit(user.id).await;
    assert_eq!(miniapp_rows(&entries, "balance.read"), 1);
    assert_eq!(miniapp_rows(&entries, "order.not_found"), 1);
    assert_eq!(miniapp_rows(&app.audit(0).await, "miniapp.unauthorized"), 1);
    app.stop().await;
    super::support::drop_database(admin, &name).await;
}

// --- writes ----------------------------------------------------------------------------------

impl App {
    async fn post(&self, path: &str, user: &SandboxUser, body: Value) -> Answer {
        let data = self.init_data(user);
        self.call(reqwest::Method::POST, path, Some(&data), Some(body)).await
    }

    /// The texts of the messages in `user`'s chat containing `text`.
    fn chat(&self, user: &SandboxUser, text: &str) -> Vec<String> {
        self.bot.sandbox.messages(user.id).into_iter().filter(|m| m.text.contains(text)).map(|m| m.text).collect()
    }

    /// Waits until `user`'s chat has `n` messages containing `text` (the confirmation is sent
    /// before the answer; this only guards against a slow sandbox).
    async fn chat_has(&self, user: &SandboxUser, text: &str, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + super::support::WAIT;
        loop {
            let found = self.chat(user, text);
            if found.len() >= n || std::time::Instant::now() > deadline {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn the_catalogue_has_named_categories_and_finds_by_name_or_sku() {
    let (app, user) = with_erlan(fixed()).await;
    let all = app.get("shop/catalogue", &user).await;
    let all = all.expect(StatusCode::OK).json();
    let categories = all["categories"].as_array().unwrap();
    assert!(categories.contains(&json!({ "code": "grocery", "name": "Продукты" })), "{all}");
    assert!(categories.contains(&json!({ "code": "pets", "name": "Товары для животных" })), "{all}");
    let products = all["products"].as_array().unwrap();
    assert_eq!(products.len(), 5, "{all}");
    let coffee = products.iter().find(|p| p["sku"] == "COF-LAV-1KG").unwrap();
    assert_eq!(coffee["name"], "Кофе Lavazza 1 кг");
    assert_eq!(coffee["category"]["code"], "grocery");
    assert_eq!(coffee["price"]["amount"], "1290.00");
    assert_eq!((coffee["in_stock"].clone(), coffee["available"].clone()), (json!(40), json!(true)));
    let bread = products.iter().find(|p| p["sku"] == "BREAD-W").unwrap();
    assert_eq!(bread["available"], false, "out of stock is listed, not available");

    let skus = |answer: Answer| -> Vec<String> {
        let body = answer.expect(StatusCode::OK).json();
        body["products"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap().to_owned()).collect()
    };
    let mut coffee = skus(app.get("shop/catalogue?q=%D0%9A%D0%9E%D0%A4%D0%95", &user).await);
    coffee.sort_unstable();
    assert_eq!(coffee, ["COF-LAV-1KG", "COF-MACH"], "КОФЕ: Кофе…, Кофемашина…");
    assert_eq!(skus(app.get("shop/catalogue?q=LAVAZZA", &user).await), ["COF-LAV-1KG"]);
    assert_eq!(skus(app.get("shop/catalogue?q=cof-mach", &user).await), ["COF-MACH"], "by SKU");
    assert_eq!(skus(app.get("shop/catalogue?category=pets", &user).await), ["CAT-FOOD-2KG"]);
    assert!(skus(app.get("shop/catalogue?q=%3Cscript%3E", &user).await).is_empty());
    assert_eq!(miniapp_rows(&app.audit(user.id).await, "shop.catalogue"), 6);
    app.stop().await;
}

#[tokio::test]
async fn repeat_gives_an_orders_lines_at_todays_prices_and_only_of_ones_own_orders() {
    let (app, user) = with_erlan(fixed()).await;
    let order = app.get("orders/78110", &user).await.expect(StatusCode::OK).json();
    let repeat = app.get("orders/78110/repeat", &user).await;
    let repeat = repeat.expect(StatusCode::OK).json();
    let lines = repeat["lines"].as_array().unwrap();
    assert_eq!(lines.len(), order["items"].as_array().unwrap().len(), "{repeat}");
    for line in lines {
        assert!(line["qty"].as_i64().unwrap() > 0 && line["available"].is_boolean(), "{line}");
        assert_eq!(line["price"]["currency"], "KZT");
    }
    app.get("orders/78300/repeat", &user).await.refused(StatusCode::NOT_FOUND, "not_found");
    let entries = app.audit(user.id).await;
    assert_eq!(miniapp_rows(&entries, "order.not_found"), 1, "{entries:?}");
    assert_eq!(miniapp_rows(&entries, "order.repeat"), 1, "{entries:?}");
    app.stop().await;
}

#[tokio::test]
async fn checkout_places_one_order_per_key_tells_the_chat_once_and_refuses_nonsense() {
    let (app, user) = with_erlan(fixed()).await;
    let before = app.get("orders", &user).await.expect(StatusCode::OK).json()["total"].as_i64().unwrap();
    let body = json!({ "lines": [{ "sku": "COF-LAV-1KG", "qty": 2 }, { "sku": "MILK-32", "qty": 1 }], "key": "cart-0001-abcd" });
    let first = app.post("shop/checkout", &user, body.clone()).await;
    let first = first.expect(StatusCode::OK).json();
    assert_eq!(first["new"], true, "{first}");
    assert_eq!(first["total"]["amount"], "2669.00", "2 × 1290 + 89: {first}");
    let number = first["number"].as_str().unwrap().to_owned();
    let placed = format!("Заказ №{number} оформлен");
    assert_eq!(app.chat_has(&user, &placed, 1).await.len(), 1);
    // The same key again (a double tap): the same order, no second message.
    let again = app.post("shop/checkout", &user, body).await;
    let again = again.expect(StatusCode::OK).json();
    assert_eq!((again["number"].as_str(), again["new"].clone()), (Some(number.as_str()), json!(false)));
    let after = app.get("orders", &user).await.expect(StatusCode::OK).json()["total"].as_i64().unwrap();
    assert_eq!(after, before + 1, "one order");
    assert_eq!(app.chat(&user, &placed).len(), 1, "one message");
    app.get(&format!("orders/{number}"), &user).await.expect(StatusCode::OK);

    // Out of stock: 409 naming the SKUs, nothing placed.
    let short =
        json!({ "lines": [{ "sku": "COF-MACH", "qty": 4 }, { "sku": "BREAD-W", "qty": 1 }], "key": "cart-0002-abcd" });
    let refused = app.post("shop/checkout", &user, short).await;
    let body = refused.expect(StatusCode::CONFLICT).json();
    assert_eq!(body["error"], "out_of_stock");
    let mut skus: Vec<&str> = body["skus"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    skus.sort_unstable();
    assert_eq!(skus, ["BREAD-W", "COF-MACH"]);
    assert!(body["message"].as_str().unwrap().contains("Кофемашина DeLonghi"), "{body}");

    // Malformed orders: 422, nothing placed.
    let line = |sku: &str, qty: i64| json!({ "sku": sku, "qty": qty });
    let many: Vec<Value> = (0..51).map(|_| line("MILK-32", 1)).collect();
    for bad in [
        json!({ "lines": [], "key": "cart-0003-abcd" }),
        json!({ "lines": [line("MILK-32", 0)], "key": "cart-0003-abcd" }),
        json!({ "lines": [line("MILK-32", 100)], "key": "cart-0003-abcd" }),
        json!({ "lines": [line("MILK-32", -1)], "key": "cart-0003-abcd" }),
        json!({ "lines": [line("", 1)], "key": "cart-0003-abcd" }),
        json!({ "lines": many, "key": "cart-0003-abcd" }),
        json!({ "lines": [line("MILK-32", 1)], "key": "short" }),
        json!({ "lines": [line("MILK-32", 1)], "key": "bad key with spaces" }),
        json!({ "lines": [line("MILK-32", 1)] }),
        json!({ "lines": [line("MILK-32", 1)], "key": "cart-0003-abcd", "price": "1" }),
        json!([1, 2]),
    ] {
        app.post("shop/checkout", &user, bad).await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_order");
    }
    let after_bad = app.get("orders", &user).await.expect(StatusCode::OK).json()["total"].as_i64().unwrap();
    assert_eq!(after_bad, after, "nothing placed");

    // The chat cannot be reached: the order stands all the same.
    app.bot.sandbox.set_blocked(user.id, true);
    let blocked = json!({ "lines": [line("CAT-FOOD-2KG", 1)], "key": "cart-0004-abcd" });
    let placed = app.post("shop/checkout", &user, blocked).await;
    assert_eq!(placed.expect(StatusCode::OK).json()["new"], true);
    app.bot.sandbox.set_blocked(user.id, false);

    let entries = app.audit(user.id).await;
    assert_eq!(miniapp_rows(&entries, "order.created"), 2, "{entries:?}");
    assert_eq!(miniapp_rows(&entries, "order.already_placed"), 1, "{entries:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_mini_app_booking_is_confirmed_in_the_chat_and_the_chats_buttons_work_on_it() {
    let (app, user) = with_erlan(fixed()).await;
    let slots = app.get("booking/slots?service=haircut&staff=anna", &user).await.expect(StatusCode::OK).json();
    let slots = slots["slots"].as_array().unwrap().clone();
    let start = |i: usize| slots[i]["start"]["at"].as_str().unwrap().to_owned();
    // Far enough ahead to be changed (the cut-off is two hours).
    let now = app.bot.now();
    let later: Vec<String> = (0..slots.len())
        .map(start)
        .filter(|s| DateTime::parse_from_rfc3339(s).unwrap().to_utc() - now > Duration::hours(3))
        .collect();
    let body = json!({ "service": "haircut", "staff": "anna", "start": later[0], "key": "booking-key-0001" });
    let booked = app.post("booking/appointments", &user, body.clone()).await;
    let booked = booked.expect(StatusCode::CREATED).json();
    assert_eq!((booked["status"].clone(), booked["staff"]["id"].clone()), (json!("confirmed"), json!("anna")));
    let id = booked["id"].as_str().unwrap().to_owned();
    let done = app.chat_has(&user, "Вы записаны", 1).await;
    assert_eq!(done.len(), 1, "{done:?}");
    let message = app.bot.sandbox.messages(user.id).into_iter().rev().find(|m| m.text.contains("Вы записаны")).unwrap();
    assert!(message.inline_keyboard.iter().flatten().any(|b| b.text.contains("Мои записи")), "the chat's own button");
    // The same key again: the same appointment, no second message.
    let again = app.post("booking/appointments", &user, body).await;
    assert_eq!(again.expect(StatusCode::OK).json()["id"], id.as_str());
    assert_eq!(app.chat(&user, "Вы записаны").len(), 1);
    // The same time with another key: taken.
    let taken = json!({ "service": "haircut", "staff": "anna", "start": later[0], "key": "booking-key-0002" });
    app.post("booking/appointments", &user, taken).await.refused(StatusCode::CONFLICT, "slot_taken");

    // The chat's «Мои записи» lists it with its buttons.
    let list = press(&app.bot, &user, "Мои записи").await;
    assert!(list.contains("Ваши записи") && list.contains("Анна"), "{}", list.dump());

    // Moved in the Mini App: the chat is told.
    let moved = app.post(&format!("booking/appointments/{id}/move"), &user, json!({ "start": later[1] })).await;
    let moved = moved.expect(StatusCode::OK).json();
    assert_eq!(
        moved["start"]["at"].as_str().map(|s| DateTime::parse_from_rfc3339(s).unwrap()),
        DateTime::parse_from_rfc3339(&later[1]).ok()
    );
    assert_eq!(app.chat_has(&user, "Запись перенесена", 1).await.len(), 1);
    // Cancelled in the Mini App: the chat is told; the list's old buttons answer politely.
    let cancelled = app.post(&format!("booking/appointments/{id}/cancel"), &user, json!({})).await;
    assert_eq!(cancelled.expect(StatusCode::OK).json()["status"], "cancelled");
    assert_eq!(app.chat_has(&user, "Запись отменена", 1).await.len(), 1);
    let pressed = press(&app.bot, &user, "Отменить").await;
    assert!(pressed.contains("уже отменена"), "{}", pressed.dump());
    let pressed = press(&app.bot, &user, "Перенести").await;
    assert!(pressed.contains("уже отменена"), "{}", pressed.dump());
    // Cancelling again answers it as it is, and tells the chat nothing more.
    let again = app.post(&format!("booking/appointments/{id}/cancel"), &user, json!({})).await;
    assert_eq!(again.expect(StatusCode::OK).json()["status"], "cancelled");
    assert_eq!(app.chat(&user, "Запись отменена").len(), 1);
    let moved_cancelled =
        app.post(&format!("booking/appointments/{id}/move"), &user, json!({ "start": later[2] })).await;
    moved_cancelled.refused(StatusCode::CONFLICT, "already_cancelled");

    let entries = app.audit(user.id).await;
    for action in ["booking.created", "booking.moved", "booking.cancelled"] {
        assert_eq!(miniapp_rows(&entries, action), 1, "{action}: {entries:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn booking_writes_refuse_foreign_ids_unknown_services_bad_bodies_and_late_changes() {
    let (app, user) = with_erlan(fixed()).await;
    // Ольга's appointment: 404 for moving and cancelling alike, audited as probing.
    let start = (app.bot.now() + Duration::days(2)).to_rfc3339();
    app.post("booking/appointments/B-2001/move", &user, json!({ "start": start }))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    app.post("booking/appointments/B-2001/cancel", &user, json!({})).await.refused(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(miniapp_rows(&app.audit(user.id).await, "booking.not_found"), 2);
    assert!(app.alerts("чужих или несуществующих").is_empty(), "two are not yet an alert");
    app.post("booking/appointments/B-0000/cancel", &user, json!({})).await.refused(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.alerts("чужих или несуществующих").len(), 1, "the third raises the alert");
    let book = |service: &str, staff: &str, start: &str, key: &str| json!({ "service": service, "staff": staff, "start": start, "key": key });
    let slots = app.get("booking/slots?service=haircut", &user).await.expect(StatusCode::OK).json();
    let first = slots["slots"][0].clone();
    let (at, staff) = (first["start"]["at"].as_str().unwrap(), first["staff"]["id"].as_str().unwrap());
    app.post("booking/appointments", &user, book("horoscope", staff, at, "booking-key-0009"))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    app.post("booking/appointments", &user, book("haircut", "nobody", at, "booking-key-0009"))
        .await
        .refused(StatusCode::NOT_FOUND, "not_found");
    for bad in [
        book("haircut", staff, "tomorrow at 10", "booking-key-0009"),
        book("haircut", staff, at, "k"),
        json!({ "service": "haircut", "staff": staff, "start": at }),
        json!("haircut"),
    ] {
        app.post("booking/appointments", &user, bad).await.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_booking");
    }
    // In the past, or beyond the booking horizon: not free.
    let past = (app.bot.now() - Duration::hours(1)).to_rfc3339();
    let far = (app.bot.now() + Duration::days(60)).to_rfc3339();
    for when in [past, far] {
        app.post("booking/appointments", &user, book("haircut", staff, &when, "booking-key-0010"))
            .await
            .refused(StatusCode::CONFLICT, "slot_taken");
    }
    // Booked, then an hour before it starts (within the two hours' cut-off): not cancelled
    // nor moved here.
    let booked = app.post("booking/appointments", &user, book("haircut", staff, at, "booking-key-0011")).await;
    let id = booked.expect(StatusCode::CREATED).json()["id"].as_str().unwrap().to_owned();
    app.bot.set_now(DateTime::parse_from_rfc3339(at).unwrap().to_utc() - Duration::hours(1));
    let later = (app.bot.now() + Duration::days(3)).to_rfc3339();
    app.post(&format!("booking/appointments/{id}/move"), &user, json!({ "start": later }))
        .await
        .refused(StatusCode::CONFLICT, "too_late");
    app.post(&format!("booking/appointments/{id}/cancel"), &user, json!({}))
        .await
        .refused(StatusCode::CONFLICT, "too_late");
    let still = app.get(&format!("booking/appointments/{id}"), &user).await;
    assert_eq!(still.expect(StatusCode::OK).json()["status"], "confirmed");
    app.stop().await;
}

#[tokio::test]
async fn a_top_up_sends_the_chats_payment_link_and_refuses_amounts_out_of_bounds() {
    let (app, user) = with_erlan(fixed()).await;
    let answer = app.post("balance/top-up", &user, json!({ "amount": "2000" })).await;
    assert_eq!(answer.expect(StatusCode::OK).json(), json!({ "via": "chat" }));
    let sent = app.chat_has(&user, "Пополнение на 2\u{a0}000\u{a0}₸", 1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let message = app.bot.sandbox.messages(user.id).into_iter().rev().find(|m| m.text.contains("Пополнение")).unwrap();
    assert!(
        message.inline_keyboard.iter().flatten().any(|b| b.text.contains("Оплатить")),
        "{:?}",
        message.inline_keyboard
    );
    for bad in
        [json!({ "amount": "50" }), json!({ "amount": "-500" }), json!({ "amount": "abc" }), json!({ "amount": 1e12 })]
    {
        let answer = app.post("balance/top-up", &user, bad.clone()).await;
        answer.refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount");
        assert!(!answer.json()["message"].as_str().unwrap().is_empty(), "{bad}");
    }
    app.post("balance/top-up", &user, json!({ "sum": 1 }))
        .await
        .refused(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount");
    // The chat cannot be reached: the Mini App gets the link itself.
    app.bot.sandbox.set_blocked(user.id, true);
    let answer = app.post("balance/top-up", &user, json!({ "amount": 5000 })).await;
    let answer = answer.expect(StatusCode::OK).json();
    assert_eq!(answer["via"], "link", "{answer}");
    assert!(answer["url"].as_str().unwrap().starts_with("http"), "{answer}");
    app.bot.sandbox.set_blocked(user.id, false);
    let entries = app.audit(user.id).await;
    assert_eq!(miniapp_rows(&entries, "top_up.request"), 2, "{entries:?}");
    app.stop().await;
}

#[tokio::test]
async fn writes_refuse_strangers_bad_init_data_wrong_methods_and_bad_bodies_in_json() {
    let (app, user) = with_erlan(fixed()).await;
    let stranger = SandboxUser::new(5999, "Гость", Some("ru"));
    let writes = [
        ("shop/checkout", json!({ "lines": [{ "sku": "MILK-32", "qty": 1 }], "key": "cart-0001-abcd" })),
        ("booking/appointments", json!({ "service": "haircut", "staff": "anna", "start": "x", "key": "k-00000000" })),
        ("booking/appointments/B-2001/cancel", json!({})),
        ("balance/top-up", json!({ "amount": "2000" })),
    ];
    for (path, body) in &writes {
        app.post(path, &stranger, body.clone()).await.refused(StatusCode::FORBIDDEN, "not_identified");
        let bad = app.call(reqwest::Method::POST, path, Some("auth_date=1&hash=00"), Some(body.clone())).await;
        bad.refused(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    app.get("shop/catalogue", &stranger).await.refused(StatusCode::FORBIDDEN, "not_identified");
    assert!(app.bot.sandbox.messages(stranger.id).is_empty(), "nothing sent to the stranger");
    // A wrong method on a known path: JSON 405 with Allow.
    let data = app.init_data(&user);
    let wrong = app.call(reqwest::Method::DELETE, "shop/checkout", Some(&data), None).await;
    wrong.refused(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(wrong.headers["allow"].to_str().unwrap().contains("POST"));
    app.call(reqwest::Method::POST, "me", Some(&data), None)
        .await
        .refused(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    app.call(reqwest::Method::GET, "balance/top-up", Some(&data), None)
        .await
        .refused(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // A body too large: JSON 413; not JSON at all: 422.
    let huge = app
        .http
        .post(format!("{}/balance/top-up", app.base))
        .header("authorization", format!("tma {data}"))
        .header("content-type", "application/json")
        .body(format!("{{\"amount\": \"{}\"}}", "9".repeat(64 * 1024)))
        .send()
        .await
        .unwrap();
    let status = huge.status();
    let body: Value = serde_json::from_slice(&huge.bytes().await.unwrap()).expect("JSON");
    assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")), "{body}");
    let garbage = app
        .http
        .post(format!("{}/shop/checkout", app.base))
        .header("authorization", format!("tma {data}"))
        .body("{\"lines\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_slice(&garbage.bytes().await.unwrap()).expect("JSON");
    assert_eq!(body["error"], "invalid_order");
    app.stop().await;
}

#[tokio::test]
async fn a_top_up_with_telegram_payments_sends_the_chats_invoice_which_pays_as_in_the_chat() {
    let (app, user) = with_erlan(SandboxOptions { telegram_payments: true, ..fixed() }).await;
    let answer = app.post("balance/top-up", &user, json!({ "amount": "2000" })).await;
    assert_eq!(answer.expect(StatusCode::OK).json(), json!({ "via": "chat" }));
    let invoice = app
        .bot
        .sandbox
        .messages(user.id)
        .into_iter()
        .find_map(|m| match m.content {
            BotContent::Invoice { currency, total_amount, .. } => Some((currency, total_amount)),
            _ => None,
        })
        .expect("the invoice is in the chat");
    assert_eq!(invoice, ("KZT".to_owned(), 200_000));
    // Paid in the chat: credited as the chat's own top-up.
    let driver = super::support::driver(&app.bot);
    let pay = |label: &str| label.contains("Оплатить");
    let sent = driver.press_button(&user, cabinet::replay::drive::Place::Private, &pay, None).unwrap();
    assert!(sent.payment, "the invoice's pay button");
    let replies = driver.collect(&sent).await.unwrap();
    assert!(replies.contains("Оплачено"), "{}", replies.dump());
    let balance = app.get("balance", &user).await.expect(StatusCode::OK).json();
    assert_eq!(balance["balance"]["amount"], "5450.00", "{balance}");
    app.stop().await;
}

#[tokio::test]
async fn the_mini_apps_writes_work_over_postgresql() {
    let Some((admin, name, url)) = super::support::postgres_database().await else { return };
    let (app, user) = with_erlan(SandboxOptions { database_url: Some(url), ..fixed() }).await;
    let catalogue = app.get("shop/catalogue?category=grocery", &user).await.expect(StatusCode::OK).json();
    assert_eq!(catalogue["products"].as_array().unwrap().len(), 3, "{catalogue}");
    let body = json!({ "lines": [{ "sku": "MILK-32", "qty": 3 }], "key": "pg-cart-0001" });
    let first = app.post("shop/checkout", &user, body.clone()).await.expect(StatusCode::OK).json();
    let again = app.post("shop/checkout", &user, body).await.expect(StatusCode::OK).json();
    assert_eq!((first["new"].clone(), again["new"].clone()), (json!(true), json!(false)));
    assert_eq!(first["number"], again["number"]);
    let slots = app.get("booking/slots?service=haircut&staff=anna", &user).await.expect(StatusCode::OK).json();
    let at = slots["slots"][3]["start"]["at"].as_str().unwrap().to_owned();
    let booking = json!({ "service": "haircut", "staff": "anna", "start": at, "key": "pg-booking-0001" });
    app.post("booking/appointments", &user, booking.clone()).await.expect(StatusCode::CREATED);
    app.post("booking/appointments", &user, booking).await.expect(StatusCode::OK);
    let taken = json!({ "service": "haircut", "staff": "anna", "start": at, "key": "pg-booking-0002" });
    app.post("booking/appointments", &user, taken).await.refused(StatusCode::CONFLICT, "slot_taken");
    assert_eq!(app.chat_has(&user, "Вы записаны", 1).await.len(), 1);
    app.stop().await;
    super::support::drop_database(admin, &name).await;
}

// --- the page (/app/) ------------------------------------------------------------------------

const WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/core/src/miniapp/web");

impl App {
    /// The server's root ("http://127.0.0.1:port").
    fn root(&self) -> String {
        self.base.trim_end_matches(API_PREFIX).to_owned()
    }

    /// `GET path` (from the root) with `headers`, redirects not followed.
    async fn fetch(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut request = client.get(format!("{}{path}", self.root()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap().to_vec();
        Answer { status, headers, bytes }
    }
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }

    /// The page's security headers are there and no CORS header is.
    fn secured(&self) -> &Answer {
        let csp = self.header("content-security-policy");
        for part in [
            "default-src 'self'",
            "script-src 'self' https://telegram.org",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'self' https://web.telegram.org",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{part} in {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(self.header("x-content-type-options"), "nosniff");
        assert_eq!(self.header("referrer-policy"), "no-referrer");
        assert!(!self.headers.keys().any(|k| k.as_str().starts_with("access-control-")), "{:?}", self.headers);
        self
    }

    fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).unwrap()
    }
}

/// The Content-Type a file is to be served with, by its extension.
fn expected_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        other => panic!("an unexpected kind of asset: {other:?} ({path})"),
    }
}

/// `base` ("/app/assets/") joined with a relative reference ("./api.js", "vendor/x.js").
fn resolve(base: &str, reference: &str) -> String {
    let mut parts: Vec<&str> = base.trim_end_matches('/').split('/').collect();
    for segment in reference.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn the_page_is_html_with_the_csp_and_no_inline_script_or_style() {
    let app = App::start(fixed()).await;
    let page = app.fetch("/app/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    page.secured();
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("cache-control"), "no-cache");
    let html = page.text();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    // Every <script> has a src (no inline code), there is no <style> element and no style
    // attribute, and no inline event handler: the CSP forbids them all.
    let scripts = regex::Regex::new(r"(?is)<script\b([^>]*)>(.*?)</script>").unwrap();
    let mut count = 0;
    for script in scripts.captures_iter(&html) {
        count += 1;
        assert!(script[1].contains("src="), "an inline script: {}", &script[0]);
        assert!(script[2].trim().is_empty(), "code inside a script with src: {}", &script[0]);
    }
    assert!(count >= 2, "the page loads its scripts: {html}");
    assert!(!regex::Regex::new(r"(?i)<style\b").unwrap().is_match(&html), "a <style> element");
    assert!(!regex::Regex::new(r#"(?i)\sstyle\s*="#).unwrap().is_match(&html), "a style attribute");
    assert!(!regex::Regex::new(r#"(?i)\son[a-z]+\s*="#).unwrap().is_match(&html), "an inline event handler");
    // The only third-party script is Telegram's.
    let urls = regex::Regex::new(r#"(?i)(?:src|href)\s*=\s*"(https?:[^"]*)""#).unwrap();
    for url in urls.captures_iter(&html) {
        assert_eq!(&url[1], "https://telegram.org/js/telegram-web-app.js", "a third-party URL");
    }
    // /app leads to /app/ (the query kept: ?theme=dark).
    let bare = app.fetch("/app?theme=dark", &[]).await;
    assert!(bare.status.is_redirection(), "{}", bare.status);
    assert_eq!(bare.header("location"), "/app/?theme=dark");
    // A cross-origin request gets no CORS header either.
    app.fetch("/app/", &[("origin", "https://evil.example")]).await.secured();
    app.stop().await;
}

#[tokio::test]
async fn every_asset_the_page_and_its_modules_name_is_served_with_its_content_type() {
    let app = App::start(fixed()).await;
    let html = app.fetch("/app/", &[]).await.text();
    let references = regex::Regex::new(r#"(?i)<(?:script|link)\b[^>]*?(?:src|href)\s*=\s*"([^"]+)""#).unwrap();
    let imports = regex::Regex::new(
        r#"(?m)(?:^\s*import\b[^'"]*?['"]|^\s*export\b[^'"]*?\bfrom\s*['"]|\bimport\(\s*['"])([^'"]+)['"]"#,
    )
    .unwrap();
    let mut queue: Vec<String> = references
        .captures_iter(&html)
        .map(|c| c[1].to_owned())
        .filter(|r| !r.starts_with("https://telegram.org/") && !r.starts_with("data:"))
        .map(|r| resolve("/app/", &r))
        .collect();
    assert!(queue.iter().any(|p| p.ends_with("/app.js")), "{queue:?}");
    let mut served = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !served.insert(path.clone()) {
            continue;
        }
        assert!(path.starts_with("/app/assets/"), "{path}");
        let asset = app.fetch(&path, &[]).await;
        assert_eq!(asset.status, StatusCode::OK, "{path}");
        asset.secured();
        assert_eq!(asset.header("content-type"), expected_type(&path), "{path}");
        assert_eq!(asset.header("cache-control"), "public, max-age=3600", "{path}");
        assert!(asset.header("etag").starts_with('"'), "{path}: {:?}", asset.headers);
        if path.ends_with(".js") && !path.contains("/vendor/") {
            let base = &path[..path.rfind('/').unwrap() + 1];
            for import in imports.captures_iter(&asset.text()) {
                assert!(import[1].starts_with("./") || import[1].starts_with("../"), "{path} imports {}", &import[1]);
                queue.push(resolve(base, &import[1]));
            }
        }
    }
    // Every script and style sheet embedded is one the page uses (nothing dead, nothing missing).
    for (name, _) in cabinet::miniapp::web::ASSETS {
        if name.ends_with(".js") || name.ends_with(".css") {
            assert!(
                served.contains(&format!("/app/assets/{name}")),
                "{name} is not reached from index.html: {served:?}"
            );
        }
    }
    // Every file of web/ is embedded.
    let mut on_disk = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(WEB_DIR)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                on_disk.push(path.strip_prefix(WEB_DIR).unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    for file in on_disk.iter().filter(|f| f.as_str() != "index.html") {
        assert!(cabinet::miniapp::web::ASSETS.iter().any(|(name, _)| name == file), "{file} is not embedded");
    }
    app.stop().await;
}

#[tokio::test]
async fn assets_carry_an_etag_answer_304_when_unchanged_and_unknown_ones_are_404() {
    let app = App::start(fixed()).await;
    for (path, cache) in [("/app/assets/app.js", "public, max-age=3600"), ("/app/", "no-cache")] {
        let first = app.fetch(path, &[]).await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        let etag = first.header("etag").to_owned();
        assert!(etag.len() > 2, "{path}: {etag}");
        let again = app.fetch(path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(again.bytes.is_empty());
        assert_eq!((again.header("etag"), again.header("cache-control")), (etag.as_str(), cache));
        again.secured();
        let listed = app.fetch(path, &[("if-none-match", &format!("\"0000\", W/{etag}"))]).await;
        assert_eq!(listed.status, StatusCode::NOT_MODIFIED, "{path}: a list naming it");
        let other = app.fetch(path, &[("if-none-match", "\"0123456789abcdef\"")]).await;
        assert_eq!(other.status, StatusCode::OK, "{path}");
        assert_eq!(other.bytes, first.bytes);
    }
    // Each file has its own tag.
    let (a, b) = (app.fetch("/app/assets/app.js", &[]).await, app.fetch("/app/assets/api.js", &[]).await);
    assert_ne!(a.header("etag"), b.header("etag"));
    for path in [
        "/app/assets/nope.js",
        "/app/assets/",
        "/app/assets/..%2Fweb.rs",
        "/app/assets/%2e%2e/mod.rs",
        "/app/assets/APP.JS",
    ] {
        let missing = app.fetch(path, &[]).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!missing.text().contains("fn "), "{path}");
    }
    let missing = app.fetch("/app/assets/nope.js", &[("origin", "https://evil.example")]).await;
    missing.secured();
    app.stop().await;
}

#[test]
fn every_vendored_library_has_its_licence_next_to_it() {
    let vendor = std::path::Path::new(WEB_DIR).join("vendor");
    let mut libraries = 0;
    for entry in std::fs::read_dir(&vendor).unwrap() {
        let dir = entry.unwrap().path();
        assert!(dir.is_dir(), "vendor/ holds one directory per library: {}", dir.display());
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        let licence =
            names.iter().find(|n| n.to_uppercase().starts_with("LICENSE") || n.to_uppercase().starts_with("LICENCE"));
        let licence = licence.unwrap_or_else(|| panic!("no licence file in {}: {names:?}", dir.display()));
        let text = std::fs::read_to_string(dir.join(licence)).unwrap();
        assert!(text.contains("Permission is hereby granted") || text.len() > 200, "{licence} is a licence");
        assert!(names.iter().any(|n| n.ends_with(".js")), "{}: {names:?}", dir.display());
        libraries += 1;
    }
    assert!(libraries >= 1, "the chart library is vendored");
}

#[test]
fn the_pages_words_exist_in_russian_and_english_alike() {
    let source = std::fs::read_to_string(format!("{WEB_DIR}/i18n.js")).unwrap();
    let (ru, en) = source.split_once("\nconst en = {").expect("the English dictionary");
    let en = en.split_once("\n};").unwrap().0;
    let ru = ru.split_once("\nconst ru = {").unwrap().1.split_once("\n};").unwrap().0;
    let key = regex::Regex::new(r"(?m)^\s*'([a-z_]+\.[a-z_]+)':").unwrap();
    let keys = |dict: &str| -> std::collections::BTreeSet<String> {
        key.captures_iter(dict).map(|c| c[1].to_owned()).collect()
    };
    let (ru, en) = (keys(ru), keys(en));
    assert!(ru.len() > 50, "{ru:?}");
    assert_eq!(ru.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in English");
    assert_eq!(en.difference(&ru).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in Russian");
    // Every key the screens use is in the dictionary.
    let used = regex::Regex::new(r"\bt\('([a-z_]+\.[a-z_]+)'").unwrap();
    for entry in std::fs::read_dir(WEB_DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js") {
            for found in used.captures_iter(&std::fs::read_to_string(&path).unwrap()) {
                assert!(ru.contains(&found[1]), "{} uses {} which is not in i18n.js", path.display(), &found[1]);
            }
        }
    }
}

#[test]
fn the_pages_modules_build_elements_without_html_strings_or_eval() {
    // Names, titles and messages come from backends: they reach the page as text nodes only.
    let forbidden = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setAttribute('style'",
    ];
    let mut modules = 0;
    for entry in std::fs::read_dir(WEB_DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "js") {
            modules += 1;
            let source = std::fs::read_to_string(&path).unwrap();
            for word in forbidden {
                assert!(!source.contains(word), "{} uses {word}", path.display());
            }
        }
    }
    assert!(modules >= 5, "{modules}");
}

// --- the Mini App in the chat --------------------------------------------------------------

/// The Mini App's public URL in the chat tests (`[miniapp] url`).
const PAGE: &str = "https://cabinet.example.com/app/";

/// The menu button the bot set for `chat` (`None`: every chat's) once it is `wanted`, or as
/// it is after a deadline: the bot sets them in tasks of their own.
async fn menu_button(bot: &SandboxedBot, chat: Option<i64>, wanted: &Value) -> Option<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let button = bot.sandbox.menu_button(chat);
        if button.as_ref() == Some(wanted) || std::time::Instant::now() > deadline {
            return button;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn web_app_button(text: &str) -> Value {
    json!({ "type": "web_app", "text": text, "web_app": { "url": PAGE } })
}

/// The Mini App buttons (label, URL) of the newest message in `chat` that has inline buttons.
fn mini_app_buttons_of_last_menu(bot: &SandboxedBot, chat: i64) -> Vec<(String, String)> {
    let messages = bot.sandbox.messages(chat);
    let menu = messages.iter().rev().find(|m| !m.inline_keyboard.is_empty()).expect("a message with buttons");
    menu.inline_keyboard
        .iter()
        .flatten()
        .filter_map(|b| b.web_app_url.clone().map(|url| (b.text.clone(), url)))
        .collect()
}

#[tokio::test]
async fn with_its_url_set_the_chat_opens_the_mini_app_from_the_menu_button_and_the_main_menu() {
    let mut config = Config::default();
    config.miniapp.url = Some(PAGE.to_owned());
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    // Every chat's menu button, in the business's language, once the bot is up.
    let ru = web_app_button("Личный кабинет");
    assert_eq!(menu_button(&bot, None, &ru).await, Some(ru.clone()));

    // Before identification nobody's menu offers it: there is no cabinet to open yet.
    let user = erlan();
    say(&bot, &user, "/start").await;
    assert_eq!(bot.sandbox.menu_button(Some(user.id)), None);
    identify(&bot, &user, "+77011234567").await;
    // Identified: the chat's own button, and the main menu's.
    assert_eq!(menu_button(&bot, Some(user.id), &ru).await, Some(ru.clone()));
    assert_eq!(mini_app_buttons_of_last_menu(&bot, user.id), vec![("Открыть личный кабинет".into(), PAGE.into())]);
    say(&bot, &user, "привет").await;
    assert_eq!(mini_app_buttons_of_last_menu(&bot, user.id), vec![("Открыть личный кабинет".into(), PAGE.into())]);

    // In English after a language change, both of them.
    say(&bot, &user, "/language").await;
    super::support::press(&bot, &user, "English").await;
    let en = web_app_button("My account");
    assert_eq!(menu_button(&bot, Some(user.id), &en).await, Some(en.clone()));
    say(&bot, &user, "hello").await;
    assert_eq!(mini_app_buttons_of_last_menu(&bot, user.id), vec![("Open my account".into(), PAGE.into())]);

    // Back to Russian in the Mini App's settings: the chat's button follows.
    let init_data = signed(bot.sandbox.token(), user.id, &user.first_name, bot.now());
    let answer = reqwest::Client::new()
        .put(format!("{}{API_PREFIX}/settings", bot.server_url().unwrap()))
        .header("authorization", format!("tma {init_data}"))
        .json(&json!({ "language": "ru" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(menu_button(&bot, Some(user.id), &ru).await, Some(ru.clone()));
    bot.stop().await;
}

#[tokio::test]
async fn a_refused_menu_button_is_no_matter_and_without_a_url_there_is_no_mini_app_button() {
    // Telegram refuses every chat's button at start and the customer's when they identify
    // (a 5xx, which teloxide reports only after 10 s): the chat does not wait for it.
    let mut config = Config::default();
    config.miniapp.url = Some(PAGE.to_owned());
    let fail = |_| ("setChatMenuButton".to_owned(), 500, "Internal Server Error".to_owned(), None);
    let options = SandboxOptions { fail_first: (0..2).map(fail).collect(), ..fixed() };
    let bot = SandboxedBot::start_with_config(config, options).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let refused = || bot.sandbox.calls().into_iter().filter(|(m, _)| m == "setChatMenuButton").count();
    assert!(bot.sandbox.wait_until(std::time::Duration::from_secs(10), |_| refused() == 2).await, "{}", refused());
    assert_eq!(bot.sandbox.menu_button(None), None);
    assert_eq!(bot.sandbox.menu_button(Some(user.id)), None);
    assert_eq!(mini_app_buttons_of_last_menu(&bot, user.id), vec![("Открыть личный кабинет".into(), PAGE.into())]);
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;

    // No URL: no menu button, no Mini App button.
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    identify(&bot, &user, "+77011234567").await;
    assert!(mini_app_buttons_of_last_menu(&bot, user.id).is_empty());
    assert_eq!(bot.sandbox.menu_button(None), None);
    assert_eq!(bot.sandbox.menu_button(Some(user.id)), None);
    bot.stop().await;
}
