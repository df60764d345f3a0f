//! The notifications outbox through the real bot and the sandbox: enqueued, sent once to the
//! bound chat in the customer's language with its buttons, paced by the clock, paused by
//! 429s, stopped by blocks, retried, held for quiet hours, skipped when turned off; the
//! `/notifications` settings; payment reminders planned from the billing.

use std::collections::BTreeMap;
use std::sync::Arc;

use cabinet::adapters::CustomerId;
use cabinet::config::Config;
use cabinet::domain::Phone;
use cabinet::notify::{self, Category, Message, NewNotification, Notification, Notifier, Urgency, status};
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::SandboxUser;
use cabinet::store::{Binding, Store};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::support::{at, erlan, fixed, identify, identify_as, john, press, say};

fn notifier(bot: &SandboxedBot) -> Notifier {
    Notifier::new(bot.store.clone(), bot.ctx.clock.clone())
}

fn payment_due(customer: &str, key: &str) -> NewNotification {
    NewNotification {
        customer_id: CustomerId(customer.to_owned()),
        category: Category::Payments,
        urgency: Urgency::Normal,
        key: key.to_owned(),
        message: Message::PaymentDue {
            date: chrono::NaiveDate::from_ymd_opt(2025, 1, 15).unwrap(),
            amount: Decimal::from(890),
            currency: "KZT".into(),
        },
        not_before: None,
    }
}

fn text(customer: &str, key: &str, category: Category, urgency: Urgency) -> NewNotification {
    let texts = BTreeMap::from([("ru".to_owned(), format!("Новость {key}")), ("en".to_owned(), format!("News {key}"))]);
    NewNotification {
        customer_id: CustomerId(customer.to_owned()),
        category,
        urgency,
        key: key.to_owned(),
        message: Message::Text { texts },
        not_before: None,
    }
}

async fn stored(bot: &SandboxedBot, key: &str) -> Notification {
    notifier(bot).get(key).await.unwrap().unwrap_or_else(|| panic!("no notification {key}"))
}

/// The texts the bot sent this chat that contain `needle`.
fn sent_with(bot: &SandboxedBot, chat: i64, needle: &str) -> Vec<String> {
    bot.sandbox.messages(chat).into_iter().map(|m| m.text).filter(|t| t.contains(needle)).collect()
}

/// How many `sendMessage` calls went to `chat`.
fn send_calls(bot: &SandboxedBot, chat: i64) -> usize {
    bot.sandbox
        .calls()
        .iter()
        .filter(|(method, params)| method == "sendMessage" && params["chat_id"].as_i64() == Some(chat))
        .count()
}

#[tokio::test]
async fn a_notification_goes_once_to_the_bound_chat_in_the_customers_language_with_its_buttons() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let (ru, en) = (erlan(), john());
    identify(&bot, &ru, "+77011234567").await;
    identify_as(&bot, &en, "+447700900123", "I agree", "Hello").await;

    let first = notifier(&bot).enqueue(payment_due("C1", "due:C1")).await.unwrap();
    assert!(first.created);
    // The same key again: the same notification, nothing new.
    let again = notifier(&bot).enqueue(payment_due("C1", "due:C1")).await.unwrap();
    assert_eq!(again, notify::Enqueued { id: first.id, created: false });
    notifier(&bot).enqueue(payment_due("C3", "due:C3")).await.unwrap();

    bot.send_notifications().await.unwrap();
    bot.set_now(bot.now() + Duration::seconds(5));
    bot.send_notifications().await.unwrap();

    let ru_texts = sent_with(&bot, ru.id, "спишется");
    assert_eq!(ru_texts.len(), 1, "{ru_texts:?}");
    assert!(ru_texts[0].contains("15 января") && ru_texts[0].contains("890"), "{}", ru_texts[0]);
    let en_texts = sent_with(&bot, en.id, "will be charged");
    assert_eq!(en_texts.len(), 1, "{en_texts:?}");
    assert!(en_texts[0].contains("January 15"), "{}", en_texts[0]);

    let sent = stored(&bot, "due:C1").await;
    assert_eq!(sent.status, status::SENT);
    assert_eq!(sent.chat_id, Some(ru.id));
    assert_eq!(sent.attempts, 1);
    let message_id = bot.sandbox.messages(ru.id).into_iter().find(|m| m.text.contains("спишется")).unwrap().message_id;
    assert_eq!(sent.telegram_message_id, Some(i64::from(message_id)));

    // Its button works for its customer: «Пополнить» opens the top-up.
    let replies = press(&bot, &ru, "Пополнить").await;
    assert!(!replies.is_empty(), "the top-up button did nothing");
    assert!(!replies.contains("больше не активна"), "{}", replies.dump());
    bot.stop().await;
}

#[tokio::test]
async fn a_429_pauses_sending_and_the_notification_goes_after_retry_after() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    bot.sandbox.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", Some(5));
    notifier(&bot).enqueue(text("C1", "n429", Category::Service, Urgency::Normal)).await.unwrap();
    bot.send_notifications().await.unwrap();

    let waiting = stored(&bot, "n429").await;
    assert_eq!(waiting.status, status::PENDING, "{waiting:?}");
    assert_eq!(waiting.attempts, 0, "a 429 is not a failed attempt");
    assert_eq!(waiting.next_attempt_at, bot.now() + Duration::seconds(5));
    assert!(sent_with(&bot, user.id, "Новость n429").is_empty());

    // Paused: nothing goes before retry_after has passed, not even another notification.
    notifier(&bot).enqueue(text("C1", "other", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.set_now(bot.now() + Duration::seconds(4));
    let report = bot.send_notifications().await.unwrap();
    assert_eq!(report.sent, 0, "{report:?}");

    bot.set_now(bot.now() + Duration::seconds(1));
    bot.send_notifications().await.unwrap();
    bot.set_now(bot.now() + Duration::seconds(1));
    bot.send_notifications().await.unwrap();
    assert_eq!(sent_with(&bot, user.id, "Новость n429").len(), 1);
    assert_eq!(sent_with(&bot, user.id, "Новость other").len(), 1);
    assert_eq!(stored(&bot, "n429").await.status, status::SENT);
    bot.stop().await;
}

#[tokio::test]
async fn a_customer_who_blocked_the_bot_is_unreachable_until_they_write_again() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    bot.sandbox.set_blocked(user.id, true);
    notifier(&bot).enqueue(text("C1", "b1", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.unwrap();
    let blocked = stored(&bot, "b1").await;
    assert_eq!(blocked.status, status::SKIPPED_UNREACHABLE, "{blocked:?}");
    assert!(notify::recipient(&bot.store, user.id).await.unwrap().unreachable_since.is_some());

    // Nothing more is tried while they are unreachable.
    let calls = send_calls(&bot, user.id);
    bot.sandbox.set_blocked(user.id, false);
    bot.set_now(bot.now() + Duration::seconds(2));
    notifier(&bot).enqueue(text("C1", "b2", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.unwrap();
    assert_eq!(stored(&bot, "b2").await.status, status::SKIPPED_UNREACHABLE);
    assert_eq!(send_calls(&bot, user.id), calls, "a send was tried to an unreachable customer");

    // Writing to the bot again makes them reachable.
    say(&bot, &user, "привет").await;
    assert!(notify::recipient(&bot.store, user.id).await.unwrap().unreachable_since.is_none());
    bot.set_now(bot.now() + Duration::seconds(2));
    notifier(&bot).enqueue(text("C1", "b3", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.unwrap();
    assert_eq!(stored(&bot, "b3").await.status, status::SENT);
    assert_eq!(sent_with(&bot, user.id, "Новость b3").len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_block_is_told_to_staff_in_the_customers_open_case_and_only_there() {
    const STAFF: i64 = -1_001_000_000_013;
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(STAFF);
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    bot.sandbox.add_forum_group(STAFF, "Support");
    let (user, other) = (erlan(), john());
    identify(&bot, &user, "+77011234567").await;
    identify_as(&bot, &other, "+447700900123", "I agree", "Hello").await;
    say(&bot, &user, "позовите оператора").await;
    let topics = bot.sandbox.topics(STAFF);
    assert_eq!(topics.len(), 1, "{topics:?}");
    let thread = topics[0].thread_id;
    let note = "Клиент заблокировал бота — уведомление не доставлено";
    let notes =
        || -> usize { bot.sandbox.thread_messages(STAFF, thread).iter().filter(|m| m.text.contains(note)).count() };
    assert_eq!(notes(), 0);

    // The customer with the open case blocks the bot: staff are told in the case's topic.
    bot.sandbox.set_blocked(user.id, true);
    notifier(&bot).enqueue(text("C1", "blocked", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.unwrap();
    assert_eq!(stored(&bot, "blocked").await.status, status::SKIPPED_UNREACHABLE);
    assert_eq!(notes(), 1, "{:?}", bot.sandbox.thread_messages(STAFF, thread));

    // A customer without an open case blocks it too: nothing is posted anywhere.
    let posts = bot.sandbox.messages(STAFF).len();
    bot.sandbox.set_blocked(other.id, true);
    let customer = bot.store.binding(other.id).await.unwrap().unwrap().customer_id;
    notifier(&bot).enqueue(text(&customer.0, "blocked-2", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.set_now(bot.now() + Duration::seconds(2));
    bot.send_notifications().await.unwrap();
    assert_eq!(stored(&bot, "blocked-2").await.status, status::SKIPPED_UNREACHABLE);
    assert_eq!(bot.sandbox.messages(STAFF).len(), posts, "no case, no note");
    assert_eq!(notes(), 1);
    bot.stop().await;
}

fn document(customer: &str, key: &str, document_id: &str) -> NewNotification {
    NewNotification {
        customer_id: CustomerId(customer.to_owned()),
        category: Category::Payments,
        urgency: Urgency::Urgent,
        key: key.to_owned(),
        message: Message::Document { document_id: document_id.to_owned(), titles: BTreeMap::new() },
        not_before: None,
    }
}

#[tokio::test]
async fn a_document_goes_as_its_file_and_one_that_cannot_be_fetched_as_a_text_with_a_button() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    // The customer's own document: its PDF, captioned with the backend's title.
    notifier(&bot).enqueue(document("C1", "doc-own", "D-1002")).await.unwrap();
    bot.send_notifications().await.unwrap();
    let sent = stored(&bot, "doc-own").await;
    assert_eq!((sent.status.as_str(), sent.last_error.as_deref()), (status::SENT, None), "{sent:?}");
    let last = bot.sandbox.messages(user.id).pop().unwrap();
    match &last.content {
        cabinet::sandbox::BotContent::Document { file_name, bytes, .. } => {
            assert_eq!(file_name, "invoice-2025-01-D-1002.pdf");
            assert!(*bytes > 1_000, "a rendered PDF: {bytes} bytes");
        }
        other => panic!("not a document: {other:?}"),
    }
    assert_eq!(last.text, "🧾 Новый документ: Счёт на оплату за январь 2025");

    // Another customer's document is not theirs: the text with a button to ask for it, and
    // the reason recorded.
    bot.set_now(bot.now() + Duration::seconds(2));
    notifier(&bot).enqueue(document("C1", "doc-other", "D-2001")).await.unwrap();
    bot.send_notifications().await.unwrap();
    let sent = stored(&bot, "doc-other").await;
    assert_eq!(sent.status, status::SENT);
    assert!(sent.last_error.as_deref().unwrap_or_default().contains("D-2001 not found"), "{sent:?}");
    let last = bot.sandbox.messages(user.id).pop().unwrap();
    assert!(matches!(last.content, cabinet::sandbox::BotContent::Text), "{last:?}");
    assert!(last.text.contains("Выставлен документ: D-2001"), "{}", last.text);
    let labels: Vec<&str> = last.inline_keyboard.iter().flatten().map(|b| b.text.as_str()).collect();
    assert_eq!(labels, ["Прислать документ"]);
    // The button asks for it: the bot answers as it does any request of a document.
    let replies = press(&bot, &user, "Прислать документ").await;
    assert!(replies.contains("Мы не нашли такого документа"), "{}", replies.dump());
    bot.stop().await;
}

/// The labels of the buttons on the latest message to `chat`.
fn latest_buttons(bot: &SandboxedBot, chat: i64) -> Vec<String> {
    let last = bot.sandbox.messages(chat).pop().unwrap();
    last.inline_keyboard.into_iter().flatten().map(|b| b.text).collect()
}

#[tokio::test]
async fn an_order_with_a_location_gets_show_on_the_map_and_a_booking_that_stands_move_and_cancel() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let order = |key: &str, number: &str| NewNotification {
        customer_id: CustomerId("C1".into()),
        category: Category::Orders,
        urgency: Urgency::Urgent,
        key: key.to_owned(),
        message: Message::OrderUpdate { number: number.to_owned(), status: None, tracking: None, carrier: None },
        not_before: None,
    };
    let booking = |key: &str, change: &str| NewNotification {
        customer_id: CustomerId("C1".into()),
        category: Category::Bookings,
        urgency: Urgency::Urgent,
        key: key.to_owned(),
        message: Message::BookingUpdate { booking_id: "B-1001".into(), change: change.into(), start: None },
        not_before: None,
    };
    let cases: [(NewNotification, &[&str]); 4] = [
        // On its way, the courier's location known.
        (order("in-transit", "78234"), &["Где заказ", "Показать на карте"]),
        // Delivered: nothing to show on a map.
        (order("delivered", "78110"), &["Где заказ"]),
        (booking("moved", "moved"), &["Перенести", "Отменить"]),
        (booking("cancelled", "cancelled"), &[]),
    ];
    for (notification, labels) in cases {
        let key = notification.key.clone();
        notifier(&bot).enqueue(notification).await.unwrap();
        bot.send_notifications().await.unwrap();
        assert_eq!(stored(&bot, &key).await.status, status::SENT, "{key}");
        assert_eq!(latest_buttons(&bot, user.id), labels, "{key}");
        bot.set_now(bot.now() + Duration::seconds(2));
    }
    bot.stop().await;
}

#[tokio::test]
async fn another_error_is_retried_with_backoff_then_fails_with_its_reason() {
    let mut config = Config::default();
    config.notify.max_attempts = 2;
    config.notify.retry_seconds = 30;
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    bot.sandbox.fail_next("sendMessage", 500, "Internal Server Error: storage is down", None);
    bot.sandbox.fail_next("sendMessage", 500, "Internal Server Error: storage is down", None);
    notifier(&bot).enqueue(text("C1", "e1", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.unwrap();
    let retried = stored(&bot, "e1").await;
    assert_eq!(retried.status, status::PENDING, "{retried:?}");
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.next_attempt_at, bot.now() + Duration::seconds(30));
    assert!(retried.last_error.as_deref().unwrap_or_default().contains("storage is down"), "{retried:?}");

    // Not before its time.
    bot.set_now(bot.now() + Duration::seconds(29));
    bot.send_notifications().await.unwrap();
    assert_eq!(stored(&bot, "e1").await.attempts, 1);

    bot.set_now(bot.now() + Duration::seconds(1));
    bot.send_notifications().await.unwrap();
    let failed = stored(&bot, "e1").await;
    assert_eq!(failed.status, status::FAILED, "{failed:?}");
    assert_eq!(failed.attempts, 2);
    assert!(failed.last_error.as_deref().unwrap_or_default().contains("storage is down"), "{failed:?}");
    assert!(sent_with(&bot, user.id, "Новость e1").is_empty());

    // Failed for good: later ticks leave it.
    bot.set_now(bot.now() + Duration::hours(1));
    bot.send_notifications().await.unwrap();
    assert_eq!(stored(&bot, "e1").await.status, status::FAILED);
    assert!(sent_with(&bot, user.id, "Новость e1").is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn quiet_hours_hold_a_normal_notification_until_nine_and_let_an_urgent_one_go() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    bot.set_now(at("2025-01-11T23:00:00+05:00"));
    notifier(&bot).enqueue(text("C1", "night", Category::Service, Urgency::Normal)).await.unwrap();
    notifier(&bot).enqueue(text("C1", "urgent", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.unwrap();

    assert_eq!(sent_with(&bot, user.id, "Новость urgent").len(), 1, "an urgent one goes at once");
    assert!(sent_with(&bot, user.id, "Новость night").is_empty());
    let waiting = stored(&bot, "night").await;
    assert_eq!(waiting.status, status::PENDING);
    assert_eq!(waiting.next_attempt_at, at("2025-01-12T09:00:00+05:00"));

    bot.set_now(at("2025-01-12T08:59:00+05:00"));
    bot.send_notifications().await.unwrap();
    assert!(sent_with(&bot, user.id, "Новость night").is_empty());

    bot.set_now(at("2025-01-12T09:00:00+05:00"));
    bot.send_notifications().await.unwrap();
    assert_eq!(sent_with(&bot, user.id, "Новость night").len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn notifications_toggles_categories_and_a_turned_off_one_is_skipped() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "/notifications").await;
    assert!(replies.contains("Уведомления"), "{}", replies.dump());
    let labels = |bot: &SandboxedBot| -> Vec<String> {
        let last = bot.sandbox.messages(user.id).into_iter().rev().find(|m| m.text.contains("Уведомления")).unwrap();
        last.inline_keyboard.iter().flatten().map(|b| b.text.clone()).collect()
    };
    assert_eq!(labels(&bot), ["Заказы ✅", "Платежи ✅", "Записи ✅", "Новости ❌", "Сервис ✅"]);

    press(&bot, &user, "Платежи").await;
    press(&bot, &user, "Новости").await;
    assert_eq!(labels(&bot), ["Заказы ✅", "Платежи ❌", "Записи ✅", "Новости ✅", "Сервис ✅"]);

    notifier(&bot).enqueue(payment_due("C1", "off")).await.unwrap();
    notifier(&bot).enqueue(text("C1", "news", Category::News, Urgency::Normal)).await.unwrap();
    bot.send_notifications().await.unwrap();
    bot.set_now(bot.now() + Duration::seconds(2));
    bot.send_notifications().await.unwrap();
    let skipped = stored(&bot, "off").await;
    assert_eq!(skipped.status, status::SKIPPED_OPTED_OUT, "{skipped:?}");
    assert!(sent_with(&bot, user.id, "спишется").is_empty());
    assert_eq!(sent_with(&bot, user.id, "Новость news").len(), 1, "news, turned on, arrives");

    // Off again: the keyboard says so.
    press(&bot, &user, "Платежи").await;
    assert_eq!(labels(&bot)[1], "Платежи ✅");

    // /forget deletes the choices with the rest: news is off again.
    assert!(notify::preferences(&bot.store, user.id).await.unwrap().wants(Category::News));
    say(&bot, &user, "/forget").await;
    assert!(!notify::preferences(&bot.store, user.id).await.unwrap().wants(Category::News));
    bot.stop().await;
}

#[tokio::test]
async fn payment_reminders_come_three_days_and_one_day_before_the_charge_and_low_balance_once() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let (erlan, olga) = (erlan(), SandboxUser::new(5002, "Ольга", Some("ru")));
    identify(&bot, &erlan, "+77011234567").await;
    identify(&bot, &olga, "+77025556677").await;
    bot.run_due_jobs().await.unwrap();
    bot.send_notifications().await.unwrap();
    // 2025-01-11: Erlan's charge (2025-01-15) is 4 days away: nothing yet.
    assert!(sent_with(&bot, erlan.id, "спишется").is_empty());

    // The next day's plan (10:00 local).
    bot.set_now(at("2025-01-12T10:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    drain(&bot).await;
    // Olga's 150 ₸ at 75 ₸ a day: two days left.
    let low = sent_with(&bot, olga.id, "хватит примерно на 2 дня");
    assert_eq!(low.len(), 1, "{:?}", bot.sandbox.messages(olga.id).iter().map(|m| &m.text).collect::<Vec<_>>());
    let three = sent_with(&bot, erlan.id, "спишется");
    assert_eq!(three.len(), 1, "{three:?}");
    assert!(three[0].contains("Через 3 дня, 15 января"), "{}", three[0]);
    let message = bot.sandbox.messages(erlan.id).into_iter().find(|m| m.text.contains("спишется")).unwrap();
    assert!(message.inline_keyboard.iter().flatten().any(|b| b.text == "Пополнить"));

    bot.set_now(at("2025-01-14T10:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    bot.send_notifications().await.unwrap();
    // Planned again the same day (another replica, a restart): nothing new.
    let bound = CustomerId("C1".into());
    let today = at("2025-01-14T10:00:00+05:00").date_naive();
    assert_eq!(notify::plan_account_reminders(&bot.ctx, &bound, today).await.unwrap(), 0);
    drain(&bot).await;
    let due = sent_with(&bot, erlan.id, "спишется");
    assert_eq!(due.len(), 2, "{due:?}");
    assert!(due[1].contains("Завтра, 15 января"), "{}", due[1]);
    assert_eq!(sent_with(&bot, olga.id, "хватит примерно").len(), 1, "the low balance once per charge date");
    bot.stop().await;
}

/// Ticks the sender three times a second apart (a chat gets one message a second).
async fn drain(bot: &SandboxedBot) {
    for _ in 0..3 {
        bot.send_notifications().await.unwrap();
        bot.set_now(bot.now() + Duration::seconds(1));
    }
}

/// Binds `n` sandbox users (ids from `first`) to customers `R1`…, each with their chat open.
async fn bind_many(bot: &SandboxedBot, store: &Store, first: i64, n: i64) -> Vec<i64> {
    let mut chats = Vec::new();
    for i in 0..n {
        let id = first + i;
        bot.sandbox.add_user(&SandboxUser::new(id, &format!("U{i}"), Some("ru")));
        let binding = Binding {
            telegram_user_id: id,
            chat_id: id,
            customer_id: CustomerId(format!("R{i}")),
            phone: Phone::parse(&format!("+7701{:07}", 1_000_000 + i)).unwrap(),
            first_name: format!("U{i}"),
            bound_at: bot.now(),
            time_zone: None,
        };
        store.bind(&binding).await.unwrap();
        chats.push(id);
    }
    chats
}

/// Ticks the sender while moving the clock by `step`, until every notification is sent (or
/// a bound on the ticks is reached); the times of the sends, in order.
async fn send_all(bot: &SandboxedBot, senders: &[&notify::Sender], total: i64, step: Duration) -> Vec<DateTime<Utc>> {
    for _ in 0..20_000 {
        for sender in senders {
            sender.tick().await.unwrap();
        }
        if notify::count_with_status(&bot.store, status::SENT).await.unwrap() == total {
            break;
        }
        bot.set_now(bot.now() + step);
    }
    let mut times: Vec<DateTime<Utc>> =
        notify::all(&bot.store).await.unwrap().into_iter().filter_map(|n| n.sent_at).collect();
    times.sort();
    times
}

#[tokio::test]
async fn two_hundred_notifications_go_once_each_within_the_configured_rate() {
    let per_second: i64 = 20;
    let mut config = Config::default();
    config.notify.per_second = u32::try_from(per_second).unwrap();
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    let chats = bind_many(&bot, &bot.store, 100_000, 200).await;
    for i in 0..200 {
        notifier(&bot)
            .enqueue(text(&format!("R{i}"), &format!("r{i}"), Category::Service, Urgency::Urgent))
            .await
            .unwrap();
    }
    let times = send_all(&bot, &[bot.notifier.as_ref()], 200, Duration::milliseconds(10)).await;

    assert_eq!(times.len(), 200, "every notification is sent");
    for (i, chat) in chats.iter().enumerate() {
        assert_eq!(sent_with(&bot, *chat, &format!("Новость r{i}")).len(), 1, "chat {chat}");
        assert_eq!(bot.sandbox.messages(*chat).len(), 1, "chat {chat}: exactly one message");
    }
    // At most the rate in any sliding second…
    assert_within_rate(&times, usize::try_from(per_second).unwrap());
    // …and the rate is used: 200 at 20 a second take about ten seconds, not much more.
    let span = *times.last().unwrap() - times[0];
    assert!(span >= Duration::milliseconds(9_800), "{span}");
    assert!(span <= Duration::milliseconds(10_500), "{span}");
    bot.stop().await;
}

/// No more than `per_second` of `times` (sorted) in any sliding second.
fn assert_within_rate(times: &[DateTime<Utc>], per_second: usize) {
    for (i, start) in times.iter().enumerate() {
        if let Some(end) = times.get(i + per_second) {
            assert!(*end - *start >= Duration::seconds(1), "{} sends within a second from {start}", per_second + 1);
        }
    }
}

/// Two senders over one database, as two processes would run them (each with its own send
/// budget): one holds the sender's lease and sends, the other stands by; when the first stops
/// ticking, the second takes over once the lease has passed. Each notification goes once, and
/// the two together never send more than `per_second` in any second.
async fn two_senders_share_one_rate(database_url: Option<String>) {
    let per_second: usize = 20;
    let mut config = Config::default();
    config.notify.per_second = u32::try_from(per_second).unwrap();
    let options = SandboxOptions { database_url, ..fixed() };
    let mut bot = SandboxedBot::start_with_config(config, options).await.unwrap();
    bot.stop_sender_loop().await;
    let chats = bind_many(&bot, &bot.store, 300_000, 200).await;
    for i in 0..200 {
        notifier(&bot)
            .enqueue(text(&format!("R{i}"), &format!("s{i}"), Category::Service, Urgency::Urgent))
            .await
            .unwrap();
    }
    let senders = [new_sender(&bot, per_second), new_sender(&bot, per_second)];
    let sent = || async { notify::count_with_status(&bot.store, status::SENT).await.unwrap() };

    // Both tick at once until half is sent: one sends, the other stands by.
    let mut by = [0, 0];
    while sent().await < 100 {
        let (a, b) = tokio::join!(senders[0].tick(), senders[1].tick());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.standby != b.standby, "exactly one sends: {a:?} {b:?}");
        by[0] += a.sent;
        by[1] += b.sent;
        bot.set_now(bot.now() + Duration::milliseconds(10));
    }
    let leader = usize::from(by[0] == 0);
    assert!(by[leader] >= 100 && by[1 - leader] == 0, "one sent, the other stood by: {by:?}");

    // The leader stops ticking: the other stands by until its lease has passed…
    let stopped_at = bot.now() - Duration::milliseconds(10);
    let standby = &senders[1 - leader];
    let before = sent().await;
    let lease = notify::SENDER_LEASE_FOR.num_milliseconds();
    for after in [10, 1_000, lease / 2, lease - 1] {
        bot.set_now(stopped_at + Duration::milliseconds(after));
        let report = standby.tick().await.unwrap();
        assert!(report.standby && report.sent == 0, "took over {after} ms after the leader stopped: {report:?}");
    }
    assert_eq!(sent().await, before);
    // …then takes over and sends the rest.
    bot.set_now(stopped_at + notify::SENDER_LEASE_FOR);
    let times = send_all(&bot, &[standby], 200, Duration::milliseconds(10)).await;

    assert_eq!(times.len(), 200, "every notification is sent");
    for (i, chat) in chats.iter().enumerate() {
        assert_eq!(bot.sandbox.messages(*chat).len(), 1, "chat {chat}: exactly one message");
        assert_eq!(sent_with(&bot, *chat, &format!("Новость s{i}")).len(), 1);
    }
    assert_within_rate(&times, per_second);
    bot.stop().await;
}

/// A sender as another process would have it: its own bot client and send budget.
fn new_sender(bot: &SandboxedBot, per_second: usize) -> notify::Sender {
    let client = teloxide::Bot::new(bot.sandbox.token()).set_api_url(bot.sandbox.api_url());
    let budget = Arc::new(notify::Budget::new(u32::try_from(per_second).unwrap()));
    notify::Sender::with_budget(bot.ctx.clone(), client, budget)
}

#[tokio::test]
async fn two_senders_on_sqlite_one_sends_at_the_rate_and_the_other_takes_over() {
    two_senders_share_one_rate(None).await;
}

#[tokio::test]
async fn two_senders_over_one_postgresql_send_each_notification_once_at_one_rate() {
    let Some((admin, name, url)) = super::support::postgres_database().await else { return };
    two_senders_share_one_rate(Some(url)).await;
    super::support::drop_database(admin, &name).await;
}

#[tokio::test]
async fn a_send_cut_short_is_never_repeated_and_a_claim_cut_short_is_taken_again() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    // A customer bound to no account: skipped, and why is recorded.
    notifier(&bot).enqueue(text("C2", "nobody", Category::Service, Urgency::Urgent)).await.unwrap();
    // Two left behind by a sender that stopped: one mid-send (the intent recorded, the
    // outcome not), one only claimed. Both leases have passed.
    // (Enqueued for later, so that the background loop leaves them until they are set so.)
    let later = |key: &str| NewNotification {
        not_before: Some(bot.now() + Duration::days(1)),
        ..text("C1", key, Category::Service, Urgency::Urgent)
    };
    let crashed = notifier(&bot).enqueue(later("mid-send")).await.unwrap();
    let claimed = notifier(&bot).enqueue(later("claimed")).await.unwrap();
    let passed = cabinet::store::time_to_db(bot.now() - Duration::seconds(1));
    for (id, status) in [(crashed.id, "sending"), (claimed.id, "claimed")] {
        sqlx::query("UPDATE notifications SET status = $1, locked_until = $2, claim_token = 'gone' WHERE id = $3")
            .bind(status)
            .bind(passed.clone())
            .bind(id)
            .execute(bot.store.pool())
            .await
            .unwrap();
    }
    bot.send_notifications().await.unwrap();

    let unbound = stored(&bot, "nobody").await;
    assert_eq!(unbound.status, status::SKIPPED_UNREACHABLE);
    assert!(unbound.last_error.as_deref().unwrap_or_default().contains("no bound"), "{unbound:?}");
    let lost = stored(&bot, "mid-send").await;
    assert_eq!(lost.status, status::FAILED, "{lost:?}");
    assert!(lost.last_error.as_deref().unwrap_or_default().contains("outcome unknown"), "{lost:?}");
    assert!(sent_with(&bot, user.id, "Новость mid-send").is_empty(), "at most once: not sent again");
    assert_eq!(stored(&bot, "claimed").await.status, status::SENT);
    assert_eq!(sent_with(&bot, user.id, "Новость claimed").len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn a_notification_that_cannot_be_handled_holds_up_no_other_and_fails_after_its_tries() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let chats = bind_many(&bot, &bot.store, 310_000, 2).await;
    // R0's binding cannot be read back.
    sqlx::query("UPDATE bindings SET phone = 'not a phone' WHERE customer_id = 'R0'")
        .execute(bot.store.pool())
        .await
        .unwrap();
    notifier(&bot).enqueue(text("R0", "broken", Category::Service, Urgency::Urgent)).await.unwrap();
    notifier(&bot).enqueue(text("R1", "fine", Category::Service, Urgency::Urgent)).await.unwrap();
    bot.send_notifications().await.expect("one notification's trouble does not fail the tick");

    assert_eq!(sent_with(&bot, chats[1], "Новость fine").len(), 1, "the other one is sent");
    let broken = stored(&bot, "broken").await;
    assert_eq!(broken.status, status::PENDING, "{broken:?}");
    assert!(broken.last_error.as_deref().unwrap_or_default().contains("phone"), "{broken:?}");
    // Tried again after the retry wait, then failed for good with the reason.
    let max = i64::from(bot.ctx.settings.notify.max_attempts);
    for _ in 0..max + 2 {
        bot.set_now(bot.now() + bot.ctx.settings.notify.retry);
        bot.send_notifications().await.unwrap();
    }
    let broken = stored(&bot, "broken").await;
    assert_eq!(broken.status, status::FAILED, "{broken:?}");
    assert_eq!(broken.attempts, max);
    assert!(bot.sandbox.messages(chats[0]).is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn a_payment_through_the_bots_link_reported_by_the_billing_marks_that_top_up_paid_once() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    press(&bot, &user, "Баланс").await;
    press(&bot, &user, "Пополнить").await;
    let replies = say(&bot, &user, "2000").await;
    assert!(replies.contains("перейти к оплате"), "{}", replies.dump());
    let row = sqlx::query("SELECT reference FROM top_up_payments")
        .fetch_one(bot.store.pool())
        .await
        .expect("the top-up is recorded");
    let reference: String = sqlx::Row::get(&row, "reference");
    // Another customer's event with this reference changes nothing.
    let event = |id: &str, customer: &str| {
        serde_json::json!({"id": id, "type": "payment_received",
            "data": {"customer_id": customer, "amount": "2000", "reference": reference}})
    };
    let (status, _) = bot.post_event(&event("pay-other", "C2")).await.unwrap();
    assert_eq!(status, 202);
    assert!(!bot.store.top_up(&reference).await.unwrap().unwrap().paid);
    let (status, answer) = bot.post_event(&event("pay-1", "C1")).await.unwrap();
    assert_eq!(status, 202, "{answer}");
    assert!(bot.store.top_up(&reference).await.unwrap().unwrap().paid);
    bot.send_notifications().await.unwrap();
    assert_eq!(sent_with(&bot, user.id, "получена").len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn quiet_hours_follow_the_customers_own_time_zone_when_the_crm_knows_it() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    // The CRM knows Ерлан lives in Moscow (UTC+3); the business is in Almaty (UTC+5).
    sqlx::query("UPDATE customers SET time_zone = 'Europe/Moscow' WHERE id = 'C1'")
        .execute(bot.store.pool())
        .await
        .unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let binding = bot.store.binding(user.id).await.unwrap().unwrap();
    assert_eq!(binding.time_zone, Some(chrono_tz::Europe::Moscow), "copied from the CRM when identified");

    // 09:30 in Almaty is 07:30 in Moscow: still night for him.
    bot.set_now(at("2025-01-12T09:30:00+05:00"));
    notifier(&bot).enqueue(text("C1", "moscow", Category::Service, Urgency::Normal)).await.unwrap();
    bot.send_notifications().await.unwrap();
    let waiting = stored(&bot, "moscow").await;
    assert_eq!(waiting.status, status::PENDING, "{waiting:?}");
    assert_eq!(waiting.next_attempt_at, at("2025-01-12T09:00:00+03:00"));
    assert!(sent_with(&bot, user.id, "Новость moscow").is_empty());
    // 09:00 in Moscow: it goes.
    bot.set_now(at("2025-01-12T09:00:00+03:00"));
    bot.send_notifications().await.unwrap();
    assert_eq!(sent_with(&bot, user.id, "Новость moscow").len(), 1);
    bot.stop().await;
}
