//! `/broadcast` from the staff group through the real bot and the sandbox: segments resolve to
//! the right customers, a confirmation writes one set of notifications however often it is
//! pressed or resumed, a stop keeps the rest from ever being sent, the progress message is
//! edited in place, and a broadcast of 2 000 customers ends with the right report on SQLite
//! and on PostgreSQL.

use cabinet::adapters::CustomerId;
use cabinet::config::Config;
use cabinet::domain::Phone;
use cabinet::notify::broadcast::{self, Audience};
use cabinet::notify::{self, Category, status};
use cabinet::replay::drive::{Driver, Place, Replies};
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::{SandboxEvent, SandboxUser};
use cabinet::store::{Binding, Store};
use chrono::Duration;

use super::support::{at, fixed};

const STAFF: i64 = -1_001_000_000_001;

/// A demo bot with a staff group where Анна (9001) is an administrator.
async fn staff_bot(options: SandboxOptions, per_second: u32) -> (SandboxedBot, SandboxUser) {
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(STAFF);
    config.notify.per_second = per_second;
    let bot = SandboxedBot::start_with_config(config, options).await.unwrap();
    bot.sandbox.add_forum_group(STAFF, "Support");
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_admin(STAFF, &anna);
    (bot, anna)
}

fn staff_driver(bot: &SandboxedBot) -> Driver<'_> {
    Driver::new(&bot.sandbox).with_staff_group(STAFF)
}

/// A staff member writes in the General topic; what the bot answered in the group.
async fn in_general(bot: &SandboxedBot, staff: &SandboxUser, text: &str) -> Replies {
    let driver = staff_driver(bot);
    let sent = driver.send_text(staff, Place::Group(STAFF), text);
    driver.collect(&sent).await.unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// A staff member presses the newest button in the General topic whose label contains `label`.
async fn press_in_general(bot: &SandboxedBot, staff: &SandboxUser, label: &str) -> Replies {
    let driver = staff_driver(bot);
    let sent = driver
        .press_button(staff, Place::Group(STAFF), &|l: &str| l.contains(label), None)
        .unwrap_or_else(|e| panic!("[{label}]: {e}"));
    driver.collect(&sent).await.unwrap_or_else(|e| panic!("[{label}]: {e}"))
}

/// Binds `n` customers `R0…` (no CRM records) to Telegram users `first…`, as if each had
/// proved their phone (written in one transaction); their chat ids.
async fn bind_many(bot: &SandboxedBot, store: &Store, first: i64, n: i64) -> Vec<i64> {
    let mut chats = Vec::new();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..n {
        let id = first + i;
        bot.sandbox.add_user(&SandboxUser::new(id, &format!("U{i}"), Some("ru")));
        let phone = Phone::parse(&format!("+7701{:07}", 1_000_000 + i)).unwrap();
        sqlx::query(
            "INSERT INTO bindings (telegram_user_id, chat_id, customer_id, phone, first_name, bound_at) \
             VALUES ($1, $1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(format!("R{i}"))
        .bind(phone.as_str().to_owned())
        .bind(format!("U{i}"))
        .bind(cabinet::store::time_to_db(bot.now()))
        .execute(&mut *tx)
        .await
        .unwrap();
        chats.push(id);
    }
    tx.commit().await.unwrap();
    chats
}

/// Binds the demo's three customers (C1 Ерлан: vip, optimal, an order in transit; C2 Ольга:
/// basic, an order being assembled; C3 John: max, no order) to users 5001–5003.
async fn bind_demo_customers(bot: &SandboxedBot) {
    for (user, customer, phone) in
        [(5001, "C1", "+77011234567"), (5002, "C2", "+77025556677"), (5003, "C3", "+447700900123")]
    {
        bot.sandbox.add_user(&SandboxUser::new(user, "Demo", Some("ru")));
        let binding = Binding {
            telegram_user_id: user,
            chat_id: user,
            customer_id: CustomerId(customer.into()),
            phone: Phone::parse(phone).unwrap(),
            first_name: "Demo".into(),
            bound_at: bot.now(),
            time_zone: None,
        };
        bot.store.bind(&binding).await.unwrap();
    }
}

fn texts_of(bot: &SandboxedBot, chat: i64, needle: &str) -> Vec<String> {
    bot.sandbox.messages(chat).into_iter().map(|m| m.text).filter(|t| t.contains(needle)).collect()
}

/// The broadcast's notifications, by status.
async fn statuses(store: &Store, id: i64) -> Vec<(String, i64)> {
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM notifications WHERE broadcast_id = $1 GROUP BY status ORDER BY status",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            use sqlx::Row as _;
            (r.get::<String, _>("status"), r.get::<i64, _>("n"))
        })
        .collect()
}

#[tokio::test]
async fn segments_by_tag_tariff_and_active_order_get_the_right_customers() {
    let (bot, anna) = staff_bot(fixed(), 30).await;
    bind_demo_customers(&bot).await;
    bind_many(&bot, &bot.store, 300_000, 2).await;
    let members = |audience: Audience| {
        let ctx = bot.ctx.clone();
        async move {
            let mut ids: Vec<String> =
                broadcast::members(&ctx, &audience).await.unwrap().into_iter().map(|c| c.0).collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(members(Audience::All).await, ["C1", "C2", "C3", "R0", "R1"]);
    assert_eq!(members(Audience::Tag("VIP".into())).await, ["C1"]);
    assert_eq!(members(Audience::Tag("gold".into())).await, Vec::<String>::new());
    assert_eq!(members(Audience::Tariff("max".into())).await, ["C3"]);
    assert_eq!(members(Audience::Tariff("basic".into())).await, ["C2"]);
    assert_eq!(members(Audience::ActiveOrder).await, ["C1", "C2"]);

    // The preview counts the same customers; a service message reaches all of them.
    let replies = in_general(&bot, &anna, "/broadcast тариф:max служебное Тариф «Макс» ускоряется").await;
    let preview = replies.staff_texts().join("\n");
    assert!(preview.contains("Получателей: 1 (в сегменте 1; отключили служебные: 0"), "{preview}");
    let replies = in_general(&bot, &anna, "/broadcast заказ Ваш заказ скоро приедет").await;
    let preview = replies.staff_texts().join("\n");
    // News is opt-in: neither has turned it on.
    assert!(preview.contains("Получателей: 0 (в сегменте 2; не включили новости: 2"), "{preview}");
    let drafts = broadcast::all(&bot.store).await.unwrap();
    assert_eq!(drafts.len(), 2);
    assert_eq!((drafts[0].segment.as_str(), drafts[0].category), ("tariff:max", Category::Service));
    assert_eq!((drafts[1].segment.as_str(), drafts[1].category), ("active-order", Category::News));
    assert!(drafts.iter().all(|d| d.status == "draft" && d.created_by == anna.id));

    // Bad usage stores nothing.
    for bad in ["/broadcast", "/broadcast всех Привет", "/broadcast тег:vip"] {
        let replies = in_general(&bot, &anna, bad).await;
        assert!(replies.staff_texts().join("\n").contains("/broadcast сегмент"), "{bad}: {}", replies.dump());
    }
    let long = format!("/broadcast все {}", "я".repeat(4097));
    let replies = in_general(&bot, &anna, &long).await;
    assert!(replies.staff_texts().join("\n").contains("слишком длинный"), "{:?}", replies.staff_texts());
    assert_eq!(broadcast::all(&bot.store).await.unwrap().len(), 2);
    bot.stop().await;
}

#[tokio::test]
async fn a_broadcast_confirmed_twice_or_resumed_writes_one_set_and_keeps_its_line_breaks() {
    let (bot, anna) = staff_bot(fixed(), 30).await;
    bind_demo_customers(&bot).await;
    let olga = SandboxUser::new(9002, "Ольга", Some("ru"));
    bot.sandbox.add_admin(STAFF, &olga);
    in_general(&bot, &anna, "/broadcast all service\nПлановые работы\n\nс 2:00 до 4:00").await;
    let preview = bot.sandbox.messages(STAFF).into_iter().rev().find(|m| m.text.contains("Рассылка №1")).unwrap();
    let send = preview.inline_keyboard[0][0].callback_data.clone().unwrap();
    assert!(preview.inline_keyboard[0][0].text.contains("Отправить 3"), "{:?}", preview.inline_keyboard);

    // Two staff members press «Отправить» on the same preview.
    let driver = staff_driver(&bot);
    let first = driver.send_with(Some(STAFF), |s| s.press_inline_in(&anna, STAFF, preview.message_id, &send));
    let second = driver.send_with(Some(STAFF), |s| s.press_inline_in(&olga, STAFF, preview.message_id, &send));
    let first = driver.collect(&first).await.unwrap();
    let second = driver.collect(&second).await.unwrap();
    let toasts = format!("{}\n{}", first.staff_texts().join("\n"), second.staff_texts().join("\n"));
    assert!(toasts.contains("Рассылка №1 запущена"), "{toasts}");
    assert!(toasts.contains("Рассылка №1 уже идёт"), "{toasts}");
    let stored = broadcast::get(&bot.store, 1).await.unwrap().unwrap();
    assert_eq!(stored.status, "running");
    assert!(stored.written);
    assert_eq!(stored.total, 3);
    let confirmed_by = stored.confirmed_by.unwrap();
    assert!(confirmed_by == anna.id || confirmed_by == olga.id);

    // A confirmation cut short before it finished writing is resumed by its job: nothing is
    // doubled (one notification per customer, by its key).
    sqlx::query("UPDATE broadcasts SET written = 0 WHERE id = 1").execute(bot.store.pool()).await.unwrap();
    let again = broadcast::get(&bot.store, 1).await.unwrap().unwrap();
    let customers: Vec<CustomerId> = ["C1", "C2", "C3"].map(|c| CustomerId(c.into())).to_vec();
    assert_eq!(broadcast::write_notifications(&bot.store, &again, &customers, bot.now()).await.unwrap(), Some(3));
    sqlx::query("UPDATE broadcasts SET written = 0 WHERE id = 1").execute(bot.store.pool()).await.unwrap();
    bot.set_now(bot.now() + Duration::seconds(5));
    bot.run_due_jobs().await.unwrap();
    let rows = notify::all(&bot.store).await.unwrap();
    let keys: Vec<&str> = rows.iter().map(|n| n.key.as_str()).filter(|k| k.starts_with("broadcast:")).collect();
    assert_eq!(keys, ["broadcast:1:C1", "broadcast:1:C2", "broadcast:1:C3"]);

    // Everyone gets it once, its line breaks kept (Ольга's chat also has reminders due: one
    // message a second there).
    for _ in 0..5 {
        bot.send_notifications().await.unwrap();
        bot.set_now(bot.now() + Duration::seconds(1));
    }
    for chat in [5001, 5002, 5003] {
        assert_eq!(texts_of(&bot, chat, "Плановые работы"), ["Плановые работы\n\nс 2:00 до 4:00"], "chat {chat}");
    }
    bot.set_now(bot.now() + Duration::seconds(5));
    bot.run_due_jobs().await.unwrap();
    let done = broadcast::get(&bot.store, 1).await.unwrap().unwrap();
    assert_eq!(done.status, "done");
    assert!(texts_of(&bot, STAFF, "Рассылка №1 завершена: отправлено 3 из 3").len() == 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_stopped_broadcast_never_sends_what_was_waiting() {
    let (bot, anna) = staff_bot(fixed(), 30).await;
    bind_demo_customers(&bot).await;
    // 23:00 local: normal notifications wait for the morning.
    bot.set_now(at("2025-01-11T23:00:00+05:00"));
    let replies = in_general(&bot, &anna, "/broadcast all service Ночью возможны перебои").await;
    assert!(replies.staff_texts().join("\n").contains("тихие часы"), "{:?}", replies.staff_texts());
    press_in_general(&bot, &anna, "Отправить").await;
    bot.send_notifications().await.unwrap();
    assert_eq!(statuses(&bot.store, 1).await, [("pending".to_owned(), 3)]);
    // While quiet hours hold every message, the progress is next updated when they end.
    bot.set_now(at("2025-01-11T23:00:05+05:00"));
    bot.run_due_jobs().await.unwrap();
    let waiting: Vec<_> = bot
        .store
        .jobs_with_prefix("broadcast:1:progress")
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.status == "pending")
        .map(|j| j.run_at)
        .collect();
    assert_eq!(waiting, [at("2025-01-12T09:00:00+05:00")]);

    let replies = in_general(&bot, &anna, "/broadcast stop 1").await;
    let staff = replies.staff_texts().join("\n");
    assert!(staff.contains("Рассылка №1 остановлена: не уйдёт сообщений — 3"), "{staff}");
    assert!(staff.contains("Остановлено: 3"), "{staff}");
    assert_eq!(statuses(&bot.store, 1).await, [("stopped".to_owned(), 3)]);
    assert_eq!(broadcast::get(&bot.store, 1).await.unwrap().unwrap().status, "stopped");

    // The morning comes: nothing of it is sent; a second stop changes nothing.
    bot.set_now(at("2025-01-12T09:30:00+05:00"));
    bot.send_notifications().await.unwrap();
    bot.run_due_jobs().await.unwrap();
    for chat in [5001, 5002, 5003] {
        assert!(texts_of(&bot, chat, "перебои").is_empty(), "chat {chat}");
    }
    let replies = in_general(&bot, &anna, "/broadcast stop 1").await;
    assert!(replies.staff_texts().join("\n").contains("Рассылка №1 не идёт"), "{:?}", replies.staff_texts());
    assert_eq!(statuses(&bot.store, 1).await, [("stopped".to_owned(), 3)]);
    bot.stop().await;
}

#[tokio::test]
async fn the_progress_message_is_edited_in_place_not_sent_again() {
    // Ten a second at a fixed clock: a tick sends one, so the broadcast takes several steps.
    let (bot, anna) = staff_bot(fixed(), 10).await;
    bind_many(&bot, &bot.store, 300_000, 40).await;
    in_general(&bot, &anna, "/broadcast all service Работы на сети").await;
    let seq = bot.sandbox.event_seq();
    press_in_general(&bot, &anna, "Отправить 40").await;
    for _ in 0..200 {
        bot.set_now(bot.now() + Duration::milliseconds(500));
        bot.send_notifications().await.unwrap();
        bot.run_due_jobs().await.unwrap();
        if broadcast::get(&bot.store, 1).await.unwrap().unwrap().finished_at.is_some() {
            break;
        }
    }
    let events = bot.sandbox.events_since(seq);
    let progress_sent: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SandboxEvent::Sent(m) if m.chat_id == STAFF && m.text.contains("Рассылка №1: отправлено") => {
                Some(m)
            }
            _ => None,
        })
        .collect();
    assert_eq!(progress_sent.len(), 1, "one progress message, posted once");
    let message_id = progress_sent[0].message_id;
    let edits: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            SandboxEvent::Edited(m) if m.chat_id == STAFF && m.message_id == message_id => Some(m.text.clone()),
            _ => None,
        })
        .collect();
    assert!(edits.len() >= 3, "{edits:?}");
    assert!(edits.iter().any(|t| t.contains("отправлено") && !t.contains("отправлено 40 из 40")), "{edits:?}");
    let report = edits.last().unwrap();
    assert!(report.contains("Рассылка №1 завершена") && report.contains("Отправлено: 40 из 40"), "{report}");
    assert_eq!(texts_of(&bot, STAFF, "Рассылка №1 завершена: отправлено 40 из 40").len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_broadcast_to_2000_customers_ends_with_the_right_report_on_sqlite() {
    two_thousand(fixed()).await;
}

#[tokio::test]
async fn a_broadcast_to_2000_customers_ends_with_the_right_report_on_postgresql() {
    let Some((admin, name, url)) = super::support::postgres_database().await else { return };
    two_thousand(SandboxOptions { database_url: Some(url), ..fixed() }).await;
    super::support::drop_database(admin, &name).await;
}

/// 2 000 bound customers, one who turned service messages off and one who blocked the bot:
/// the preview counts them, one confirmation writes 2 000 notifications at once, and the
/// report says 1 998 sent, 1 opted out, 1 blocked.
async fn two_thousand(options: SandboxOptions) {
    let (bot, anna) = staff_bot(options, 1000).await;
    let chats = bind_many(&bot, &bot.store, 400_000, 2_000).await;
    notify::set_preference(&bot.store, chats[7], Category::Service, false, bot.now()).await.unwrap();
    sqlx::query(
        "INSERT INTO notification_recipients (telegram_user_id, telegram_locale, unreachable_since, updated_at) \
         VALUES ($1, NULL, $2, $2)",
    )
    .bind(chats[8])
    .bind(cabinet::store::time_to_db(bot.now()))
    .execute(bot.store.pool())
    .await
    .unwrap();

    let replies = in_general(&bot, &anna, "/broadcast all service Сегодня ночью — работы на сети").await;
    let preview = replies.staff_texts().join("\n");
    assert!(
        preview
            .contains("Получателей: 1\u{a0}998 (в сегменте 2\u{a0}000; отключили служебные: 1; заблокировали бота: 1)"),
        "{preview}"
    );
    let started = std::time::Instant::now();
    press_in_general(&bot, &anna, "Отправить 1\u{a0}998").await;
    let took = started.elapsed();
    let stored = broadcast::get(&bot.store, 1).await.unwrap().unwrap();
    assert!(stored.written, "written by the confirmation");
    assert_eq!(stored.total, 2_000);
    assert!(took < std::time::Duration::from_secs(8), "the confirmation took {took:?}");

    for _ in 0..2_000 {
        bot.set_now(bot.now() + Duration::milliseconds(200));
        bot.send_notifications().await.unwrap();
        bot.run_due_jobs().await.unwrap();
        if broadcast::get(&bot.store, 1).await.unwrap().unwrap().finished_at.is_some() {
            break;
        }
    }
    let counts = broadcast::counts(&bot.store, 1).await.unwrap();
    assert_eq!(
        counts,
        broadcast::Counts { in_flight: 0, sent: 1_998, opted_out: 1, unreachable: 1, failed: 0, stopped: 0 }
    );
    assert_eq!(notify::count_with_status(&bot.store, status::SENT).await.unwrap(), 1_998);
    for chat in [chats[0], chats[999], chats[1_999]] {
        assert_eq!(texts_of(&bot, chat, "работы на сети").len(), 1, "chat {chat}");
    }
    assert!(texts_of(&bot, chats[7], "работы на сети").is_empty());
    let report = bot.sandbox.messages(STAFF).into_iter().find(|m| m.message_id == stored.progress_message_id.unwrap());
    let report = report.unwrap().text;
    assert!(report.contains("Отправлено: 1\u{a0}998 из 2\u{a0}000"), "{report}");
    assert!(report.contains("не включили или отключили — 1, заблокировали бота — 1"), "{report}");
    assert_eq!(texts_of(&bot, STAFF, "Рассылка №1 завершена: отправлено 1\u{a0}998 из 2\u{a0}000").len(), 1);
    bot.stop().await;
}
