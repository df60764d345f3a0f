//! Delivery at Telegram's real limits: notifications sent by the running bot's own sender
//! against the sandbox enforcing Telegram's flood limits in real time (no 429 may come back),
//! and a broadcast that survives `kill -9` with every notification delivered at most once.
//!
//! The achieved rates are printed (`cargo test --test it delivery:: -- --nocapture`), never
//! asserted: figures belong in `docs/performance.md`.

use std::collections::BTreeMap;

use cabinet::adapters::CustomerId;
use cabinet::config::Config;
use cabinet::domain::Phone;
use cabinet::notify::{self, Category, Message, NewNotification, Notifier, Urgency, status};
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::{ButtonRef, RateLimits, Sandbox, SandboxEvent, SandboxUser};
use cabinet::store::{Binding, Store};
use chrono::{DateTime, Utc};

/// How many notifications the rate test sends (`CABINET_RATE_TEST_N` for a longer run).
fn rate_test_size() -> i64 {
    std::env::var("CABINET_RATE_TEST_N").ok().and_then(|n| n.parse().ok()).unwrap_or(150)
}

#[tokio::test]
async fn notifications_at_the_default_rate_get_no_429_from_telegrams_enforced_limits() {
    // Telegram's limits as the sandbox enforces them, in real time: 30 a second in all, one a
    // second per private chat.
    let limits = RateLimits { per_second: 30, per_chat_per_second: 1, per_group_per_minute: 20 };
    let mut config = Config::default();
    config.notify.per_second = limits.per_second;
    config.notify.quiet_hours = String::new();
    let bot = SandboxedBot::start_with_config(config, SandboxOptions::default()).await.unwrap();
    let total = rate_test_size();
    let first = 400_000;
    for i in 0..total {
        let id = first + i;
        bot.sandbox.add_user(&SandboxUser::new(id, &format!("U{i}"), Some("ru")));
        let binding = Binding {
            telegram_user_id: id,
            chat_id: id,
            customer_id: CustomerId(format!("R{i}")),
            phone: Phone::parse(&format!("+7701{:07}", 2_000_000 + i)).unwrap(),
            first_name: format!("U{i}"),
            bound_at: Utc::now(),
            time_zone: None,
        };
        bot.store.bind(&binding).await.unwrap();
    }
    bot.sandbox.set_rate_limits(Some(limits));
    let notifier = Notifier::new(bot.store.clone(), bot.ctx.clock.clone());
    for i in 0..total {
        let texts =
            BTreeMap::from([("ru".to_owned(), format!("Рассылка {i}")), ("en".to_owned(), format!("News {i}"))]);
        let notification = NewNotification {
            customer_id: CustomerId(format!("R{i}")),
            category: Category::Service,
            urgency: Urgency::Normal,
            key: format!("rate:{i}"),
            message: Message::Text { texts },
            not_before: None,
        };
        notifier.enqueue(notification).await.unwrap();
    }
    // The bot's own sender loop sends them; wait for the last (a generous bound, not a timing).
    let done = async {
        loop {
            let left = notify::all(&bot.store).await.unwrap().iter().filter(|n| !terminal(&n.status)).count();
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60 + u64::try_from(total).unwrap() / 5), done)
        .await
        .expect("the notifications were not all sent");

    let all = notify::all(&bot.store).await.unwrap();
    let refused = bot.sandbox.rate_limited();
    assert_eq!(refused, 0, "Telegram's limit refused {refused} sends");
    assert!(all.iter().all(|n| n.status == status::SENT), "{:?}", all.iter().find(|n| n.status != status::SENT));
    for i in 0..total {
        let messages = bot.sandbox.messages(first + i);
        assert_eq!(messages.len(), 1, "chat {}", first + i);
        assert_eq!(messages[0].text, format!("Рассылка {i}"));
    }
    let mut times: Vec<DateTime<Utc>> = all.iter().filter_map(|n| n.sent_at).collect();
    times.sort();
    let span = (*times.last().unwrap() - times[0]).num_milliseconds().max(1) as f64 / 1000.0;
    println!(
        "rate: {total} notifications in {span:.2} s = {:.1}/s against a limit of {}/s; 429s: {refused}",
        (total - 1) as f64 / span,
        limits.per_second
    );
    bot.stop().await;
}

/// Whether a notification's status is final.
fn terminal(status: &str) -> bool {
    !matches!(status, status::PENDING | status::CLAIMED | status::SENDING)
}

/// The staff group of the crash test, and its administrator.
const STAFF_CHAT: i64 = -100_777_000_001;

/// `cabinet run` as a process of its own against the sandbox, with its log collected.
struct Running {
    child: std::process::Child,
    log: std::thread::JoinHandle<String>,
}

impl Running {
    fn start(sandbox: &Sandbox, database_url: &str, dir: &std::path::Path) -> Running {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
            .args(["run", "--api-url", sandbox.api_url().as_str()])
            .env_clear()
            .env("TELOXIDE_TOKEN", sandbox.token())
            .env("DATABASE_URL", database_url)
            .env("CABINET_NOTIFY_PER_SECOND", "1000")
            .env("CABINET_NOTIFY_QUIET_HOURS", "")
            .env("CABINET_STAFF_CHAT_ID", STAFF_CHAT.to_string())
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cannot start cabinet");
        let stderr = child.stderr.take().expect("stderr");
        let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        Running { child, log }
    }

    /// `kill -9`: no chance to finish anything.
    fn kill(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("cannot run kill");
        assert!(killed.success());
        let status = self.child.wait().expect("cannot wait for cabinet");
        assert!(!status.success(), "cabinet was not killed: {status}");
        self.log.join().unwrap_or_default()
    }
}

/// Counts the bot's messages to private chats whose text starts with `prefix`, reading the
/// sandbox's events from `seq` on.
struct Deliveries {
    seq: usize,
    per_chat: std::collections::HashMap<i64, usize>,
}

impl Deliveries {
    fn read(&mut self, sandbox: &Sandbox, prefix: &str) -> usize {
        let (events, seq) = sandbox.events_with_seq(self.seq);
        self.seq = seq;
        for event in events {
            if let SandboxEvent::Sent(message) = event
                && message.chat_id > 0
                && message.text.starts_with(prefix)
            {
                *self.per_chat.entry(message.chat_id).or_default() += 1;
            }
        }
        self.per_chat.values().sum()
    }
}

/// How many of the broadcast's notifications are not final yet.
async fn unfinished(store: &Store) -> i64 {
    notify::depth(store).await.unwrap()
}

/// Binds `n` customers `B0`… to accounts `first`… in one transaction (as `Store::bind` would,
/// without a transaction each), and adds them to the sandbox.
async fn bind_in_bulk(store: &Store, sandbox: &Sandbox, first: i64, n: i64) {
    let now = cabinet::store::time_to_db(Utc::now());
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..n {
        let id = first + i;
        sandbox.add_user(&SandboxUser::new(id, &format!("B{i}"), Some("ru")));
        for sql in [
            "INSERT INTO telegram_users (telegram_user_id, chat_id, locale, epoch, created_at) VALUES ($1, $1, 'ru', 0, $2)",
            "INSERT INTO bindings (telegram_user_id, chat_id, customer_id, phone, first_name, bound_at) \
             VALUES ($1, $1, 'B' || CAST($1 - 500000 AS TEXT), '+7701' || CAST($1 + 1000000 AS TEXT), 'B', $2)",
        ] {
            sqlx::query(sql).bind(id).bind(now.clone()).execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_broadcast_killed_midway_is_delivered_at_most_once_and_all_but_the_message_in_flight_exactly_once() {
    const TOTAL: i64 = 10_000;
    const FIRST: i64 = 500_000;
    let sandbox = Sandbox::start().await.unwrap();
    let staff = SandboxUser::new(9_001, "Анна", Some("ru"));
    sandbox.add_forum_group(STAFF_CHAT, "Support");
    sandbox.add_admin(STAFF_CHAT, &staff);
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    let mut config = Config::default();
    config.database.url = database_url.clone();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/demo-business.json");
    cabinet::app::import_file(&config, &demo, false).await.unwrap();
    let store = cabinet::app::open_store(&database_url).await.unwrap();
    bind_in_bulk(&store, &sandbox, FIRST, TOTAL).await;

    let running = Running::start(&sandbox, &database_url, dir.path());
    // Staff broadcast to everyone, and confirm the preview.
    sandbox.send_group_text(&staff, STAFF_CHAT, "/broadcast все служебное Плановые работы на сети");
    let confirm = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(ButtonRef::Inline { message_id, callback_data, .. }) =
                sandbox.find_button_in(STAFF_CHAT, None, &|text| text.starts_with("Отправить"))
            {
                break (message_id, callback_data);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let Ok((message_id, data)) = confirm else { panic!("no preview to confirm:\n{}", running.kill()) };
    let preview = sandbox.messages(STAFF_CHAT).into_iter().find(|m| m.message_id == message_id).unwrap();
    assert!(preview.text.contains("10\u{a0}000") || preview.text.contains("10 000"), "{}", preview.text);
    sandbox.press_inline_in(&staff, STAFF_CHAT, message_id, &data);

    // Killed once a third has gone out.
    let mut seen = Deliveries { seq: 0, per_chat: Default::default() };
    let started = std::time::Instant::now();
    let third = usize::try_from(TOTAL / 3).unwrap();
    let reached = tokio::time::timeout(WAIT, async {
        while seen.read(&sandbox, "Плановые работы на сети") < third {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .is_ok();
    let log = running.kill();
    assert!(reached, "a third was not sent within {WAIT:?}:\n{log}");
    let before = seen.read(&sandbox, "Плановые работы на сети");
    let first_rate = before as f64 / started.elapsed().as_secs_f64();

    // Started again, it finishes the rest.
    let running = Running::start(&sandbox, &database_url, dir.path());
    let restarted = std::time::Instant::now();
    let done = tokio::time::timeout(WAIT * 2, async {
        while unfinished(&store).await > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        // The staff group gets the final report.
        let reported = |s: &Sandbox| s.messages(STAFF_CHAT).iter().any(|m| m.text.contains("завершена"));
        while !reported(&sandbox) {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    let log = running.kill();
    assert!(done.is_ok(), "the broadcast did not finish after the restart:\n{log}");
    let after = seen.read(&sandbox, "Плановые работы на сети");

    let all = notify::all(&store).await.unwrap();
    let sent: Vec<_> = all.iter().filter(|n| n.status == status::SENT).collect();
    let unknown: Vec<_> = all.iter().filter(|n| n.status != status::SENT).collect();
    // Never twice.
    let twice: Vec<_> = seen.per_chat.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    // Every notification recorded as sent reached its chat, once.
    for n in &sent {
        let chat = n.chat_id.expect("a sent notification has its chat");
        assert_eq!(seen.per_chat.get(&chat), Some(&1), "{n:?}");
    }
    // What is not recorded as sent is only what was in flight at the kill: outcome unknown.
    assert!(unknown.len() <= 1, "{unknown:?}");
    for n in &unknown {
        assert_eq!(n.status, status::FAILED, "{n:?}");
        assert!(n.last_error.as_deref().unwrap_or_default().contains("outcome unknown"), "{n:?}");
    }
    // Telegram got each recorded one, and perhaps the one in flight.
    assert!((sent.len()..=sent.len() + unknown.len()).contains(&after), "{after} delivered, {} recorded", sent.len());
    assert_eq!(all.len(), usize::try_from(TOTAL).unwrap());
    println!(
        "crash: {before} delivered before kill -9 ({first_rate:.0}/s); {} after the restart in {:.1} s; \
         twice: 0; outcome unknown: {}",
        after - before,
        restarted.elapsed().as_secs_f64(),
        unknown.len()
    );
}

/// How long a child process is given for each phase.
const WAIT: std::time::Duration = std::time::Duration::from_secs(120);
