//! The HTTP server of `cabinet run`: `/healthz` from the database and the breakers,
//! `/metrics` as Prometheus reads it, webhook mode against the sandbox, and the port closed
//! when the bot stops.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use cabinet::adapters::guard::{Guard, GuardSettings};
use cabinet::adapters::{
    Account, AdapterError, AdapterResult, Billing, ChangeOutcome, CustomerId, LocalizedText, SubscriptionChange,
    Tariff, Transaction,
};
use cabinet::clock::SystemClock;
use cabinet::config::Config;
use cabinet::replay::harness::SandboxedBot;
use cabinet::sandbox::Sandbox;
use cabinet::server::{Health, Server};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::support::{WAIT, erlan, fixed, identify, press, say};

/// A database with the demo business, and the config `cabinet run` would have against the
/// sandbox.
async fn run_config(sandbox: &Sandbox, dir: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.join("cabinet.db").display());
    config.telegram.token = Some(secrecy::SecretString::from(sandbox.token()));
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/demo-business.json");
    cabinet::app::import_file(&config, &demo, false).await.unwrap();
    config
}

/// A port of this machine, bound.
async fn bind() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// `cabinet run` with its server on `listener`, until the sender is used (or dropped).
fn run(
    config: Config,
    sandbox: &Sandbox,
    listener: tokio::net::TcpListener,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api_url = sandbox.api_url().to_string();
    let server = Server::from_listener(listener);
    let task = tokio::spawn(async move {
        cabinet::app::run_on(&config, Some(api_url), Some(server), async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, task)
}

/// Polls `check` until it gives a value or `WAIT` is over.
async fn eventually<T, F: Future<Output = Option<T>>>(mut check: impl FnMut() -> F) -> Option<T> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `GET /healthz`: the status code and the JSON.
async fn healthz(addr: SocketAddr) -> (u16, Value) {
    let response = reqwest::get(format!("http://{addr}/healthz")).await.unwrap();
    let code = response.status().as_u16();
    (code, response.json().await.unwrap())
}

/// `GET /metrics`.
async fn metrics(addr: SocketAddr) -> String {
    let response = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The sum of the samples of counter `name` whose labels contain each of `labels`.
fn counter(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' ')))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Whether nothing listens on `addr` any more.
async fn closed(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_err()
}

/// Whether the bot has sent this chat a message containing `needle`.
fn has_sent(sandbox: &Sandbox, chat: i64, needle: &str) -> bool {
    sandbox.messages(chat).iter().any(|m| m.text.contains(needle))
}

/// The Bot API calls of `method` the bot made.
fn calls(sandbox: &Sandbox, method: &str) -> Vec<Value> {
    sandbox.calls().into_iter().filter(|(m, _)| m == method).map(|(_, params)| params).collect()
}

#[tokio::test]
async fn healthz_is_ok_with_the_demo_and_metrics_grow_as_the_bot_works() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sandbox, dir.path()).await;
    let (listener, addr) = bind().await;
    let (stop, task) = run(config, &sandbox, listener);
    assert!(sandbox.wait_until(WAIT, |s| !calls(s, "getUpdates").is_empty()).await, "never polled");

    let (code, report) = healthz(addr).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["status"], "ok", "{report}");
    assert_eq!(report["database"], "ok", "{report}");
    for capability in ["crm", "billing", "logistics", "documents", "shop", "loyalty", "booking", "directory"] {
        assert_eq!(report["backends"][capability], json!({"backend": "builtin", "state": "ok"}), "{report}");
    }
    assert!(!report.to_string().contains(sandbox.token()), "{report}");

    // A command: `cabinet_updates_total{kind="command"}` grows (other tests of this process
    // add to the same counters: it is compared, not equated).
    let before = counter(&metrics(addr).await, "cabinet_updates_total", &[r#"kind="command""#]);
    let user = erlan();
    sandbox.send_text(&user, "/start");
    assert!(sandbox.wait_until(WAIT, |s| has_sent(s, user.id, "Здравствуйте")).await, "no answer to /start");
    let grown = eventually(|| async {
        let text = metrics(addr).await;
        (counter(&text, "cabinet_updates_total", &[r#"kind="command""#]) > before).then_some(text)
    })
    .await
    .expect("cabinet_updates_total did not grow");
    assert!(grown.contains("# TYPE cabinet_update_seconds histogram"), "{grown}");
    assert!(!grown.contains(&user.id.to_string()), "no user ids in labels");

    // The adapters' calls are there too: a customer asks for the balance.
    let calls_before = counter(&grown, "cabinet_adapter_calls_total", &[r#"method="billing.account""#]);
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("₸"), "{}", replies.dump());
    bot.stop().await;
    let text = metrics(addr).await;
    let calls_after = counter(&text, "cabinet_adapter_calls_total", &[r#"method="billing.account""#]);
    assert!(calls_after > calls_before, "{calls_before} then {calls_after}:\n{text}");
    assert!(counter(&text, "cabinet_intents_total", &[r#"intent="balance""#]) >= 1.0, "{text}");

    // Stopping stops the server too.
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, task).await.expect("run did not stop").unwrap().unwrap();
    assert!(closed(addr).await, "the port is still open");
}

/// A billing that is down.
struct DownBilling;

#[async_trait]
impl Billing for DownBilling {
    async fn account(&self, _id: &CustomerId) -> AdapterResult<Option<Account>> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn transactions(&self, _id: &CustomerId, _limit: u32) -> AdapterResult<Vec<Transaction>> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn quote_change(&self, _id: &CustomerId, _change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn apply_change(
        &self,
        _id: &CustomerId,
        _change: &SubscriptionChange,
        _key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn payment_link(&self, _id: &CustomerId, _amount: Decimal, _reference: &str) -> AdapterResult<String> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    async fn credit_payment(
        &self,
        _id: &CustomerId,
        _amount: Decimal,
        _payment_id: &str,
        _title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
}

#[tokio::test]
async fn healthz_is_degraded_while_a_breaker_is_open_and_503_without_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default();
    let store =
        cabinet::app::open_store(&format!("sqlite://{}", dir.path().join("cabinet.db").display())).await.unwrap();
    let clock = Arc::new(SystemClock);
    let settings = GuardSettings { retries: 0, breaker_failures: 2, ..GuardSettings::default() };
    let guard = Guard::new(settings, clock.clone());
    let adapters = cabinet::app::builtin(&config, store.clone(), clock);
    let names = adapters.names.clone();
    let adapters = cabinet::adapters::Adapters { billing: Arc::new(DownBilling), ..adapters }.guarded(guard.clone());
    let (listener, addr) = bind().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::from_listener(listener)
        .merge(cabinet::server::router(Health::new(store.clone(), guard, names)))
        .serve(async {
            let _ = stopped.await;
        });

    let (code, report) = healthz(addr).await;
    assert_eq!((code, report["status"].as_str()), (200, Some("ok")), "{report}");

    // The billing fails twice: its breaker opens. The bot still serves: 200, degraded.
    for _ in 0..2 {
        let result = adapters.billing.account(&CustomerId("C1".into())).await;
        assert!(matches!(result, Err(AdapterError::Unavailable(_))), "{result:?}");
    }
    let (code, report) = healthz(addr).await;
    assert_eq!(code, 200, "{report}");
    assert_eq!(report["status"], "degraded", "{report}");
    assert_eq!(report["database"], "ok", "{report}");
    assert_eq!(report["backends"]["billing"], json!({"backend": "builtin", "state": "open"}), "{report}");
    assert_eq!(report["backends"]["crm"]["state"], "ok", "{report}");

    // The database is gone: 503, down.
    store.close().await;
    let (code, report) = healthz(addr).await;
    assert_eq!(code, 503, "{report}");
    assert_eq!(report["status"], "down", "{report}");
    assert_eq!(report["database"], "error", "{report}");

    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, server).await.expect("the server did not stop").unwrap();
    assert!(closed(addr).await, "the port is still open");
}

/// An update as Telegram would POST it: `/start` from user `id`.
fn start_update(update_id: i64, id: i64) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_736_575_200,
            "chat": {"id": id, "type": "private", "first_name": "Guest"},
            "from": {"id": id, "is_bot": false, "first_name": "Guest", "language_code": "ru"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]
        }
    })
}

/// Whether the bot has sent anything to chat `id`.
fn wrote_to(sandbox: &Sandbox, id: i64) -> bool {
    calls(sandbox, "sendMessage").iter().any(|p| p["chat_id"] == json!(id) || p["chat_id"] == json!(id.to_string()))
}

#[tokio::test]
async fn webhook_mode_takes_updates_with_the_secret_only_and_stops_with_the_bot() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = run_config(&sandbox, dir.path()).await;
    let (listener, addr) = bind().await;
    let hook = format!("http://{addr}/telegram");
    config.server.listen = Some(addr.to_string());
    config.telegram.webhook_url = Some(hook.clone());
    config.telegram.webhook_secret = Some(secrecy::SecretString::from("test-secret_1".to_owned()));
    let (stop, task) = run(config, &sandbox, listener);

    assert!(sandbox.wait_until(WAIT, |s| !calls(s, "setWebhook").is_empty()).await, "no setWebhook");
    let set = &calls(&sandbox, "setWebhook")[0];
    assert_eq!(set["url"], json!(hook), "{set}");
    assert_eq!(set["secret_token"], "test-secret_1", "{set}");
    let allowed: Value = match &set["allowed_updates"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    assert_eq!(allowed, json!(["message", "callback_query", "pre_checkout_query"]), "{set}");
    assert!(!set["max_connections"].is_null(), "{set}");

    // The sandbox delivers a customer's /start to the webhook, with the secret.
    let user = erlan();
    let id = sandbox.send_text(&user, "/start");
    let answered = sandbox.wait_until(WAIT, |s| has_sent(s, user.id, "Здравствуйте")).await;
    assert!(answered, "no answer to /start: {:?} {:?}", sandbox.not_delivered(id), sandbox.calls());
    assert!(calls(&sandbox, "getUpdates").is_empty(), "polled in webhook mode");

    // Without the secret, or with another: 401, and the update is not handled.
    let client = reqwest::Client::new();
    let forged = client.post(&hook).json(&start_update(900_001, 777)).send().await.unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let forged = client
        .post(&hook)
        .header("X-Telegram-Bot-Api-Secret-Token", "test-secret_2")
        .json(&start_update(900_002, 778))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    assert_eq!(forged.text().await.unwrap(), "", "nothing but the status");
    // With it, the same request is handled (after the refused ones).
    let genuine = client
        .post(&hook)
        .header("X-Telegram-Bot-Api-Secret-Token", "test-secret_1")
        .json(&start_update(900_003, 779))
        .send()
        .await
        .unwrap();
    assert_eq!(genuine.status().as_u16(), 200);
    assert!(sandbox.wait_until(WAIT, |s| wrote_to(s, 779)).await, "the genuine update was not handled");
    assert!(!wrote_to(&sandbox, 777) && !wrote_to(&sandbox, 778), "a forged update was handled");

    // Health and metrics share the port.
    assert_eq!(healthz(addr).await.0, 200);

    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, task).await.expect("run did not stop").unwrap().unwrap();
    assert!(closed(addr).await, "the port is still open");
    assert!(calls(&sandbox, "deleteWebhook").is_empty(), "the webhook stays set for the next run");
}

/// `cabinet run` as the Docker image runs it (`CABINET_LISTEN`): `/healthz` answers, and
/// SIGTERM closes the port with the rest.
#[cfg(unix)]
#[tokio::test]
async fn cabinet_run_serves_healthz_on_cabinet_listen_and_closes_it_on_sigterm() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sandbox, dir.path()).await;
    // A free port for the child (released here, bound again there).
    let addr = bind().await.1;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(["run", "--api-url", sandbox.api_url().as_str()])
        .env_clear()
        .env("TELOXIDE_TOKEN", sandbox.token())
        .env("DATABASE_URL", &config.database.url)
        .env("CABINET_LISTEN", addr.to_string())
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start cabinet");
    let pid = child.id().to_string();
    let stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let waited = tokio::task::spawn_blocking(move || child.wait());

    let client = reqwest::Client::new();
    let report = eventually(|| async {
        let response = client.get(format!("http://{addr}/healthz")).send().await.ok()?;
        (response.status().as_u16() == 200).then_some(response.json::<Value>().await.ok()?)
    })
    .await;
    let Some(report) = report else {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        panic!("no /healthz on {addr}:\n{}", log.join().unwrap_or_default());
    };
    assert_eq!(report["status"], "ok", "{report}");

    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("cannot run kill");
    assert!(killed.success());
    let status = match tokio::time::timeout(WAIT, waited).await {
        Ok(status) => status.expect("waiting panicked").expect("cannot wait for cabinet"),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
            panic!("cabinet did not stop within {WAIT:?} of SIGTERM");
        }
    };
    let log = log.join().unwrap_or_default();
    assert!(status.success(), "cabinet exited with {status}:\n{log}");
    assert!(closed(addr).await, "the port is still open");
}

#[tokio::test]
async fn refused_bot_api_calls_and_escalations_are_counted() {
    cabinet::server::metrics::install().expect("the Prometheus recorder");
    let now = || cabinet::server::metrics::snapshot().expect("the Prometheus recorder");
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    // Flood control on a button's answer: counted as 429.
    let before = counter(&now(), "cabinet_telegram_errors_total", &[r#"code="429""#]);
    bot.sandbox.fail_next("answerCallbackQuery", 429, "Too Many Requests: retry after 5", Some(5));
    let replies = press(&bot, &user, "Баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    let after = counter(&now(), "cabinet_telegram_errors_total", &[r#"code="429""#]);
    assert!(after > before, "{before} then {after}");

    // A customer asks for a person.
    let before = counter(&now(), "cabinet_escalations_total", &[r#"reason="requested""#]);
    say(&bot, &user, "позовите оператора").await;
    let after = counter(&now(), "cabinet_escalations_total", &[r#"reason="requested""#]);
    assert!(after > before, "{before} then {after}");
    bot.stop().await;
}

#[tokio::test]
async fn the_senders_outcomes_429s_and_outbox_depth_are_measured() {
    use cabinet::notify::{Category, Message, NewNotification, Notifier, Urgency};
    cabinet::server::metrics::install().expect("the Prometheus recorder");
    let now = || cabinet::server::metrics::snapshot().expect("the Prometheus recorder");
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let notifier = Notifier::new(bot.store.clone(), bot.ctx.clock.clone());
    let news = |key: &str| NewNotification {
        customer_id: cabinet::adapters::CustomerId("C1".into()),
        category: Category::Service,
        urgency: Urgency::Urgent,
        key: key.to_owned(),
        message: Message::Text { texts: [("ru".to_owned(), "Работы".to_owned())].into() },
        not_before: None,
    };
    let sent = |text: &str| counter(text, "cabinet_notifications_total", &[r#"outcome="sent""#]);
    let paused = |text: &str| counter(text, "cabinet_notifications_total", &[r#"outcome="paused""#]);
    let floods = |text: &str| counter(text, "cabinet_telegram_errors_total", &[r#"code="429""#]);
    let before = now();

    // A 429, then the notification goes.
    notifier.enqueue(news("m1")).await.unwrap();
    bot.sandbox.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", Some(2));
    bot.send_notifications().await.unwrap();
    bot.set_now(bot.now() + chrono::Duration::seconds(3));
    bot.send_notifications().await.unwrap();
    let after = now();
    assert!(paused(&after) > paused(&before), "{after}");
    assert!(floods(&after) > floods(&before), "{after}");
    assert!(sent(&after) > sent(&before), "{after}");
    // The depth is a gauge of what is left: one waiting for tomorrow.
    notifier
        .enqueue(NewNotification { not_before: Some(bot.now() + chrono::Duration::days(1)), ..news("m2") })
        .await
        .unwrap();
    bot.set_now(bot.now() + chrono::Duration::seconds(2));
    bot.send_notifications().await.unwrap();
    assert!(now().lines().any(|l| l.starts_with("cabinet_outbox_depth ")), "{}", now());
    bot.stop().await;
}

#[tokio::test]
async fn a_client_holding_a_request_open_does_not_keep_the_server_from_stopping() {
    use tokio::io::AsyncWriteExt as _;
    let (listener, addr) = bind().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::from_listener(listener).serve(async {
        let _ = stopped.await;
    });
    // Half a request, never finished.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert!(eventually(|| async { (!closed(addr).await).then_some(()) }).await.is_some());

    stop.send(()).unwrap();
    let waited = cabinet::server::STOP_WAIT + std::time::Duration::from_secs(5);
    tokio::time::timeout(waited, server).await.expect("the server waited for the slow client").unwrap();
    assert!(closed(addr).await, "the port is still open");
    drop(slow);
}

#[tokio::test]
async fn cabinet_run_receives_events_on_its_server_when_a_secret_is_set() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = run_config(&sandbox, dir.path()).await;
    let secret = "a-shared-secret-for-events";
    config.events.secret = Some(secrecy::SecretString::from(secret));
    let (listener, addr) = bind().await;
    let (stop, task) = run(config, &sandbox, listener);
    let base = format!("http://{addr}");
    let up = eventually(|| {
        let url = format!("{base}/healthz");
        async move { reqwest::get(url).await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    assert!(up.is_some(), "the server did not come up");
    let event = json!({"id":"e-1","type":"balance_low","data":{"customer_id":"C1","balance":"450","days_left":2}});
    let now = chrono::Utc::now();
    let (status, answer) = cabinet::events::post_signed(&base, secret, now, &event.to_string()).await.unwrap();
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = cabinet::events::post_signed(&base, secret, now, &event.to_string()).await.unwrap();
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)), "{answer}");
    let (status, _) = cabinet::events::post_signed(&base, "not-the-secret", now, &event.to_string()).await.unwrap();
    assert_eq!(status, 401);
    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, task).await.expect("run did not stop").unwrap().unwrap();
}
