//! Tests of the matching rules, the failure reports and `run_files` on files that never
//! reach a bot.

use std::path::PathBuf;

use regex::Regex;

use super::drive::{Reply, replies_in};
use super::parse::Pattern;
use super::run::{capture, check, render_replies, substitute};
use super::*;
use cabinet_sandbox::{BotContent, BotMessage, InlineButton, ReplyButton, SandboxEvent};

fn text(chat_id: i64, text: &str) -> BotMessage {
    BotMessage {
        chat_id,
        message_id: 1,
        text: text.to_owned(),
        content: BotContent::Text,
        inline_keyboard: Vec::new(),
        reply_keyboard: None,
        thread_id: None,
        copied_from: None,
    }
}

fn sent(message: BotMessage) -> Reply {
    Reply::Message { edited: false, message }
}

fn re(s: &str) -> Pattern {
    Pattern(Regex::new(s).unwrap())
}

fn inline(label: &str) -> InlineButton {
    InlineButton {
        text: label.to_owned(),
        callback_data: Some(label.to_lowercase()),
        url: None,
        web_app_url: None,
        pay: false,
    }
}

fn contact_keyboard() -> BotMessage {
    BotMessage {
        reply_keyboard: Some(vec![vec![ReplyButton {
            text: "Поделиться номером".into(), request_contact: true
        }]]),
        ..text(5001, "Нажмите кнопку ниже")
    }
}

fn document(file_name: &str, caption: &str) -> BotMessage {
    BotMessage {
        content: BotContent::Document { file_name: file_name.to_owned(), bytes: 1000, file_id: "f1".into() },
        ..text(5001, caption)
    }
}

#[test]
fn contains_ignores_case() {
    let replies = [sent(text(5001, "Здравствуйте, Ерлан!"))];
    assert!(check(&Expectation::Contains("здравствуйте, ерлан".into()), &replies).is_ok());
    assert!(check(&Expectation::Contains("ЕРЛАН".into()), &replies).is_ok());
    assert!(check(&Expectation::Contains("Ольга".into()), &replies).is_err());
}

#[test]
fn contains_treats_no_break_spaces_as_spaces() {
    let replies = [sent(text(5001, "Ваш баланс: 3\u{a0}450\u{a0}₸"))];
    assert!(check(&Expectation::Contains("баланс: 3 450 ₸".into()), &replies).is_ok());
    assert!(check(&Expectation::Contains("3450".into()), &replies).is_err());
}

#[test]
fn contains_fails_when_there_are_no_replies() {
    let e = check(&Expectation::Contains("что-нибудь".into()), &[]).unwrap_err();
    assert!(e.contains("some reply contains «что-нибудь»"), "{e}");
}

#[test]
fn a_regex_may_match_any_reply() {
    let replies = [sent(text(5001, "Привет")), sent(text(5001, "Ваш баланс: 3\u{a0}450 ₸"))];
    assert!(check(&Expectation::Matches(re(r"3[ \u00a0\u202f]?450")), &replies).is_ok());
    assert!(check(&Expectation::Matches(re(r"^3450$")), &replies).is_err());
}

#[test]
fn not_contains_passes_when_no_reply_contains() {
    let replies = [sent(text(5001, "Ваш заказ в пути")), sent(text(5001, "Курьер: Арман"))];
    assert!(check(&Expectation::NotContains("Абая".into()), &replies).is_ok());
    assert!(check(&Expectation::NotContains("абая".into()), &[]).is_ok());
    let e = check(&Expectation::NotContains("КУРЬЕР".into()), &replies).unwrap_err();
    assert!(e.contains("reply 2"), "{e}");
}

#[test]
fn not_matches_fails_on_any_matching_reply() {
    let replies = [sent(text(5001, "Заказ собирается"))];
    assert!(check(&Expectation::NotMatches(re("(?i)собира")), &replies).is_err());
    assert!(check(&Expectation::NotMatches(re("(?i)доставлен")), &replies).is_ok());
}

#[test]
fn a_document_matches_by_file_name_or_caption() {
    let replies = [sent(text(5001, "Акт ниже")), sent(document("act-2024-12.pdf", "Акт за декабрь 2024"))];
    assert!(check(&Expectation::Document(re("act-2024-12")), &replies).is_ok());
    assert!(check(&Expectation::Document(re("(?i)акт за декабрь")), &replies).is_ok());
    assert!(check(&Expectation::Document(re("invoice")), &replies).is_err());
    // A text message saying "акт" is not a document.
    let only_text = [sent(text(5001, "Акт ниже"))];
    assert!(check(&Expectation::Document(re("(?i)акт")), &only_text).is_err());
}

#[test]
fn buttons_sees_inline_buttons_and_reply_keyboards() {
    let with_inline = BotMessage {
        inline_keyboard: vec![vec![inline("Пополнить"), inline("История")]],
        ..text(5001, "Баланс")
    };
    let replies = [sent(with_inline), sent(contact_keyboard())];
    assert!(check(&Expectation::Button("пополнить".into()), &replies).is_ok());
    assert!(check(&Expectation::Button("поделиться".into()), &replies).is_ok());
    assert!(check(&Expectation::Button("Отмена".into()), &replies).is_err());
    // Texts are not buttons.
    assert!(check(&Expectation::Button("Баланс".into()), &replies).is_err());
}

#[test]
fn webapp_sees_only_mini_app_buttons_and_they_are_shown_with_their_url() {
    let url = "https://cabinet.example.com/app/";
    let mini_app =
        InlineButton {
            callback_data: None, web_app_url: Some(url.into()), ..inline("Открыть личный кабинет")
        };
    let menu = BotMessage {
        inline_keyboard: vec![vec![inline("Баланс")], vec![mini_app]],
        ..text(5001, "Чем помочь?")
    };
    let replies = [sent(menu)];
    assert!(check(&Expectation::WebApp("личный кабинет".into()), &replies).is_ok());
    assert!(check(&Expectation::Button("личный кабинет".into()), &replies).is_ok(), "it is a button too");
    assert!(check(&Expectation::WebApp("Баланс".into()), &replies).is_err(), "a callback button is no Mini App");
    assert!(check(&Expectation::WebApp("Чем помочь".into()), &replies).is_err(), "texts are not buttons");
    let rendered = render_replies(&replies, "");
    assert!(rendered.contains(&format!("[Открыть личный кабинет (Mini App {url})]")), "{rendered}");
}

#[test]
fn a_toast_counts_as_a_reply_for_text_checks_only() {
    let replies = [Reply::Toast { text: "Кнопка устарела".into(), show_alert: false }];
    assert!(check(&Expectation::Contains("устарела".into()), &replies).is_ok());
    assert!(check(&Expectation::Matches(re("устарел")), &replies).is_ok());
    assert!(check(&Expectation::NotContains("устарела".into()), &replies).is_err());
    assert!(check(&Expectation::Button("Кнопка".into()), &replies).is_err());
    assert!(check(&Expectation::Document(re("Кнопка")), &replies).is_err());
}

#[test]
fn replies_are_the_messages_and_toasts_of_the_chat() {
    let events = vec![
        SandboxEvent::Sent(text(5001, "one")),
        SandboxEvent::Sent(text(-100777, "staff ping")),
        SandboxEvent::Edited(text(5001, "one, edited")),
        SandboxEvent::CallbackAnswered { chat_id: 5001, text: Some("toast".into()), show_alert: true },
        SandboxEvent::CallbackAnswered { chat_id: 5001, text: None, show_alert: false },
        SandboxEvent::CallbackAnswered { chat_id: 5001, text: Some(String::new()), show_alert: false },
        SandboxEvent::CallbackAnswered { chat_id: 6002, text: Some("other".into()), show_alert: false },
        SandboxEvent::Sent(text(6002, "other user")),
        SandboxEvent::Handled { update_id: 3 },
    ];
    let replies = replies_in(events, 5001);
    assert_eq!(
        replies,
        vec![
            Reply::Message { edited: false, message: text(5001, "one") },
            Reply::Message { edited: true, message: text(5001, "one, edited") },
            Reply::Toast { text: "toast".into(), show_alert: true },
        ]
    );
}

#[test]
fn a_declined_payment_is_a_reply_of_its_chat() {
    let declined = |chat_id: i64, ok: bool, error_message: Option<&str>| SandboxEvent::PreCheckoutAnswered {
        chat_id,
        update_id: 7,
        ok,
        error_message: error_message.map(str::to_owned),
        followup: ok.then_some(8),
    };
    let events = vec![
        declined(5001, true, None),
        declined(5001, false, Some("Пополнение недоступно")),
        declined(6002, false, Some("other chat")),
    ];
    let replies = replies_in(events, 5001);
    assert_eq!(replies, vec![Reply::PaymentDeclined { text: "Пополнение недоступно".into() }]);
    assert!(check(&Expectation::Contains("недоступно".into()), &replies).is_ok());
    assert!(check(&Expectation::Button("Пополнение".into()), &replies).is_err());
}

#[test]
fn replies_render_invoices_and_declined_payments() {
    let pay =
        InlineButton { text: "Pay KZT 2,000.00".into(), callback_data: None, url: None, web_app_url: None, pay: true };
    let invoice = BotMessage {
        content: BotContent::Invoice {
            title: "Пополнение".into(),
            description: "Пополнение баланса".into(),
            currency: "KZT".into(),
            total_amount: 200_000,
            start_parameter: String::new(),
        },
        inline_keyboard: vec![vec![pay]],
        ..text(5001, "Пополнение\nПополнение баланса\nKZT 2,000.00")
    };
    let rendered = render_replies(&[sent(invoice), Reply::PaymentDeclined { text: "Недоступно".into() }], "");
    assert_eq!(
        rendered,
        "1. (invoice) Пополнение\n   Пополнение баланса\n   KZT 2,000.00\n   [Pay KZT 2,000.00]\n2. (payment declined) Недоступно\n"
    );
}

#[test]
fn a_transcript_config_starts_its_bot_with_those_options() {
    let with = |config: TranscriptConfig| Transcript { title: "t".into(), config, steps: Vec::new() };
    let options = sandbox_options(&with(TranscriptConfig {
        step_up: true,
        telegram_payments: false,
        holidays: vec![],
        backends: vec![],
        miniapp: Some("https://cabinet.example.com/app/".into()),
    }));
    assert!(options.fixed_clock && options.step_up && !options.telegram_payments);
    assert_eq!(options.miniapp_url.as_deref(), Some("https://cabinet.example.com/app/"));
    let options = sandbox_options(&with(TranscriptConfig {
        step_up: false,
        telegram_payments: true,
        holidays: vec![],
        backends: vec![],
        miniapp: None,
    }));
    assert!(options.fixed_clock && !options.step_up && options.telegram_payments);
    assert_eq!(options.miniapp_url, None);
    assert!(options.database_url.is_none());
    assert_eq!(options.staff_chat_id, None, "no staff steps, no staff group");
}

#[test]
fn a_transcript_with_staff_steps_or_checks_gets_the_staff_group() {
    for text in [
        "# t\n@user 5001\n> help\n@staff 9001\n> hello\n",
        "# t\n@user 5001\n> help\n<staff New case\n",
        "# t\n@staff 9001 general\n> hello\n",
    ] {
        let transcript = parse(text).unwrap();
        assert!(transcript.uses_staff(), "{text}");
        assert_eq!(sandbox_options(&transcript).staff_chat_id, Some(STAFF_CHAT_ID), "{text}");
    }
    assert!(!parse("# t\n@user 5001\n> @group -100 hi\n< staff\n").unwrap().uses_staff());
}

#[test]
fn replies_render_texts_buttons_and_documents() {
    let with_inline = BotMessage {
        inline_keyboard: vec![vec![inline("Пополнить")], vec![inline("Назад")]],
        ..text(5001, "Ваш баланс: 3 450 ₸\nСледующее списание: 890 ₸")
    };
    let removed = BotMessage { reply_keyboard: Some(Vec::new()), ..text(5001, "Готово") };
    let rendered = render_replies(
        &[
            sent(with_inline),
            sent(contact_keyboard()),
            sent(document("act-2024-12.pdf", "Акт")),
            Reply::Message { edited: true, message: removed },
            Reply::Toast { text: "Принято".into(), show_alert: false },
        ],
        "  ",
    );
    let expected = "  1. Ваш баланс: 3 450 ₸\n\
                    \x20    Следующее списание: 890 ₸\n\
                    \x20    [Пополнить]\n\
                    \x20    [Назад]\n\
                    \x20 2. Нажмите кнопку ниже\n\
                    \x20    keyboard: [Поделиться номером (shares contact)]\n\
                    \x20 3. (document act-2024-12.pdf) Акт\n\
                    \x20 4. (edited) Готово\n\
                    \x20    (keyboard removed)\n\
                    \x20 5. (toast) Принято\n";
    assert_eq!(rendered, expected);
    assert_eq!(render_replies(&[], "  "), "  (none)\n");
}

#[test]
fn a_failure_report_names_the_line_the_step_and_the_replies() {
    let failure = Failure {
        line: 9,
        step: "< Здравствуйте, Ерлан".into(),
        problem: "expected: some reply contains «Здравствуйте, Ерлан»".into(),
        checked: Some(ActionReplies {
            line: 8,
            source: "> @contact +77011234567".into(),
            replies: vec![sent(text(5001, "Не нашёл клиента с этим номером"))],
            staff_replies: None,
        }),
        shown: Vec::new(),
    };
    assert_eq!(
        failure.render(),
        "  line 9: < Здравствуйте, Ерлан\n\
         \x20 expected: some reply contains «Здравствуйте, Ерлан»\n\
         \x20 bot replies to line 8 (> @contact +77011234567):\n\
         \x20   1. Не нашёл клиента с этим номером\n"
    );
}

#[tokio::test]
async fn unreadable_and_unparsable_files_count_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let bad_regex = dir.path().join("bad.txt");
    std::fs::write(&bad_regex, "# Bad regex\n@user 1 lang=ru\n> /start\n<~ 3[450\n").unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/replay_fixtures/unknown_step.txt");

    let mut out = Vec::new();
    let summary = run_files(&[missing.clone(), bad_regex.clone(), fixture.clone()], &mut out).await.unwrap();
    let out = String::from_utf8(out).unwrap();

    assert_eq!((summary.passed, summary.failed), (0, 3), "{out}");
    assert_eq!(summary.failures.len(), 3);
    assert!(summary.failures[0].contains(&missing.display().to_string()), "{out}");
    assert!(summary.failures[0].contains("cannot read"), "{out}");
    assert!(summary.failures[1].contains("line 4: invalid regex"), "{out}");
    assert!(summary.failures[2].contains("line 5: unknown step"), "{out}");
    assert!(out.ends_with("0 passed, 3 failed\n"), "{out}");
}

#[tokio::test]
async fn no_files_is_zero_and_zero() {
    let mut out = Vec::new();
    let summary = run_files(&[], &mut out).await.unwrap();
    assert_eq!((summary.passed, summary.failed), (0, 0));
    assert_eq!(String::from_utf8(out).unwrap(), "0 passed, 0 failed\n");
}

#[test]
fn named_groups_of_a_matching_regex_are_kept_for_later_actions() {
    let replies = [sent(text(1, "Ваша ссылка: https://t.me/bot?start=ref_K7M2Q9XA"))];
    let mut vars = std::collections::BTreeMap::new();
    capture(&Regex::new(r"start=(?P<code>ref_\w+)").unwrap(), &replies, &mut vars);
    assert_eq!(vars.get("code").map(String::as_str), Some("ref_K7M2Q9XA"));
    assert_eq!(substitute("/start ${code}", &vars).unwrap(), "/start ref_K7M2Q9XA");
    assert_eq!(substitute("no variables", &vars).unwrap(), "no variables");
    let err = substitute("/start ${other}", &vars).unwrap_err();
    assert!(err.contains("${other}"), "{err}");
    assert!(substitute("/start ${code", &vars).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_bots_jobs_run_at_now_and_in_the_background() {
    use cabinet_core::store::NewJob;
    let bot = SandboxedBot::start(SandboxOptions { fixed_clock: true, ..Default::default() }).await.unwrap();
    let start = bot.now();
    let job = |key: &str, run_at| NewJob {
        key: key.into(),
        kind: "nobody.knows".into(),
        payload: serde_json::json!({}),
        run_at,
    };
    let status = |key: &'static str| {
        let store = bot.store.clone();
        async move { store.jobs_with_prefix(key).await.unwrap().remove(0) }
    };
    bot.store.schedule_job(&job("at-now", start + chrono::Duration::hours(2))).await.unwrap();
    let later = (start + chrono::Duration::hours(2)).to_rfc3339();
    let transcript = parse(&format!("# Jobs\n@user 5001 lang=ru\n> /start\n@now {later}\n<! anything\n")).unwrap();
    let result = run_transcript(
        &transcript,
        &bot.sandbox,
        bot.clock.as_deref(),
        Some(&bot.otp),
        Some(&bot.scheduler),
        None,
        None,
    )
    .await;
    // Run by the time `@now` is done (by it or by the loop); the demo bot knows no kind of
    // job yet, so it failed as unknown.
    let ran = status("at-now").await;

    // Without `@now`, the loop runs a due job within its tick (a second, real time).
    bot.store.schedule_job(&job("background", bot.now())).await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut background = status("background").await;
    // (Seen `running` between its claim and its outcome: waited for too.)
    while matches!(background.status.as_str(), "pending" | "running") && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        background = status("background").await;
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), bot.stop()).await.expect("the bot and its jobs stop");
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
    assert_eq!((ran.status.as_str(), ran.attempts), ("failed", 1), "{ran:?}");
    assert!(ran.last_error.unwrap_or_default().contains("unknown job kind"));
    assert_eq!(background.status, "failed", "{background:?}");
}

#[test]
fn a_failure_report_lists_the_staff_groups_replies_with_their_topics() {
    let in_topic = BotMessage { thread_id: Some(12), ..text(STAFF_CHAT_ID, "New case from Erlan") };
    let failure = Failure {
        line: 5,
        step: "<staff taken".into(),
        problem: "expected: some reply contains «taken» (in the staff group)".into(),
        checked: Some(ActionReplies {
            line: 4,
            source: "> operator".into(),
            replies: Vec::new(),
            staff_replies: Some(vec![sent(in_topic), sent(text(STAFF_CHAT_ID, "In General"))]),
        }),
        shown: Vec::new(),
    };
    assert_eq!(
        failure.render(),
        "  line 5: <staff taken\n\
         \x20 expected: some reply contains «taken» (in the staff group)\n\
         \x20 bot replies to line 4 (> operator):\n\
         \x20   (none)\n\
         \x20 in the staff group:\n\
         \x20   1. (topic 12) New case from Erlan\n\
         \x20   2. In General\n"
    );
}

#[tokio::test]
async fn an_event_the_api_refuses_fails_its_step_with_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.txt");
    let text = "# Refused\n@user 5001\n> /start\n@event {\"id\":\"e\",\"type\":\"balance_low\",\"data\":{\"customer_id\":\"C404\",\"balance\":\"1\"}}\n";
    std::fs::write(&path, text).unwrap();
    let failure = crate::run_file(&path).await.unwrap_err();
    assert!(failure.contains("line 4") && failure.contains("422") && failure.contains("unknown_customer"), "{failure}");
}

/// An events API stand-in that counts how often the runner asks for the due notifications
/// to be sent.
#[derive(Default)]
struct CountingSender(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl run::EventPoster for CountingSender {
    async fn post_event(&self, _event: &serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)> {
        anyhow::bail!("not posted in this test")
    }

    async fn send_notifications(&self) -> anyhow::Result<()> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_and_staff_actions_send_the_notifications_due_and_customers_messages_do_not() {
    let options = SandboxOptions { fixed_clock: true, staff_chat_id: Some(STAFF_CHAT_ID), ..Default::default() };
    let bot = SandboxedBot::start(options).await.unwrap();
    bot.sandbox.add_forum_group(STAFF_CHAT_ID, STAFF_CHAT_TITLE);
    let later = (bot.now() + chrono::Duration::minutes(5)).to_rfc3339();
    let no_topic = |_: i64| -> futures::future::BoxFuture<'static, Option<i32>> { Box::pin(async { None }) };
    let staff = StaffSide { chat_id: STAFF_CHAT_ID, topic_of: &no_topic };
    let counter = CountingSender::default();
    let calls = || counter.0.load(std::sync::atomic::Ordering::SeqCst);
    let play = |text: String| {
        let transcript = parse(&text).unwrap();
        let (bot, staff, counter) = (&bot, &staff, &counter);
        async move {
            run_transcript(
                &transcript,
                &bot.sandbox,
                bot.clock.as_deref(),
                None,
                Some(&bot.scheduler),
                Some(staff),
                Some(counter),
            )
            .await
            .map_err(|f| f.render())
        }
    };
    play("# Customer\n@user 5001 lang=ru\n> /start\n> привет\n".into()).await.unwrap();
    assert_eq!(calls(), 0, "a customer's message does not send notifications");
    play(format!("# Now\n@user 5001 lang=ru\n@now {later}\n")).await.unwrap();
    assert_eq!(calls(), 1, "@now sends the notifications due by then");
    play("# Staff\n@staff 9001 general\n> /stats\n<staff Статистика\n".into()).await.unwrap();
    assert_eq!(calls(), 2, "a staff action sends the notifications it wrote");
    bot.stop().await;
}
