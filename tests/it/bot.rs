//! End-to-end tests of the bot: the real dispatcher, the demo business and the sandbox Bot API,
//! for what transcripts cannot show (slow adapters, restarts, the audit log, registration).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cabinet::adapters::builtin::Builtin;
use cabinet::adapters::{
    Account, AdapterError, AdapterResult, Adapters, Appointment, Billing, Booking, BookingRefusal, ChangeOutcome,
    CustomerId, LocalizedText, Service, Slot, StaffMember, SubscriptionChange, Tariff, Transaction,
};
use cabinet::config::Config;
use cabinet::replay::drive::{Place, Replies};
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::{BotContent, ButtonRef, SandboxEvent, SandboxUser};
use rust_decimal::Decimal;

use super::support::{
    WAIT, at, collect, driver, erlan, fixed, identify, identify_as, press, reminders_in, say, share_own_contact,
};

/// A billing system that never answers in time.
struct SlowBilling;

#[async_trait]
impl Billing for SlowBilling {
    async fn account(&self, _id: &CustomerId) -> AdapterResult<Option<Account>> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(None)
    }
    async fn transactions(&self, _id: &CustomerId, _limit: u32) -> AdapterResult<Vec<Transaction>> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(vec![])
    }
    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(vec![])
    }
    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(vec![])
    }
    async fn quote_change(&self, _id: &CustomerId, _change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err(AdapterError::Timeout)
    }
    async fn apply_change(
        &self,
        _id: &CustomerId,
        _change: &SubscriptionChange,
        _key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err(AdapterError::Timeout)
    }
    async fn payment_link(&self, _id: &CustomerId, _amount: Decimal, _reference: &str) -> AdapterResult<String> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err(AdapterError::Timeout)
    }
    async fn credit_payment(
        &self,
        _id: &CustomerId,
        _amount: Decimal,
        _payment_id: &str,
        _title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(None)
    }
}

#[tokio::test]
async fn a_billing_that_times_out_gets_a_polite_answer_and_the_bot_keeps_working() {
    let opts = SandboxOptions { adapter_timeout_ms: Some(300), ..fixed() };
    let bot = SandboxedBot::start_with_adapters(Config::default(), opts, |store, clock, _config| Adapters {
        billing: Arc::new(SlowBilling),
        ..Builtin::new(store).with_clock(clock).adapters()
    })
    .await
    .unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert!(!replies.contains("₸"), "{}", replies.dump());

    // Orders come from another system, which answers.
    let replies = say(&bot, &user, "где мой заказ").await;
    assert!(replies.contains("1234567890"), "{}", replies.dump());
    bot.stop().await;
}

/// The built-in billing behind a switch: while `down`, every call fails as an outage.
struct FlakyBilling {
    inner: Arc<dyn Billing>,
    outage: Arc<Outage>,
}

#[derive(Default)]
struct Outage {
    down: AtomicBool,
    /// Calls that reached the billing.
    calls: AtomicUsize,
}

impl FlakyBilling {
    fn check(&self) -> AdapterResult<()> {
        self.outage.calls.fetch_add(1, Ordering::SeqCst);
        if self.outage.down.load(Ordering::SeqCst) {
            return Err(AdapterError::Unavailable("connection refused".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl Billing for FlakyBilling {
    async fn account(&self, id: &CustomerId) -> AdapterResult<Option<Account>> {
        self.check()?;
        self.inner.account(id).await
    }
    async fn transactions(&self, id: &CustomerId, limit: u32) -> AdapterResult<Vec<Transaction>> {
        self.check()?;
        self.inner.transactions(id, limit).await
    }
    async fn tariffs(&self) -> AdapterResult<Vec<Tariff>> {
        self.check()?;
        self.inner.tariffs().await
    }
    async fn tariff_options(&self) -> AdapterResult<Vec<Tariff>> {
        self.check()?;
        self.inner.tariff_options().await
    }
    async fn quote_change(&self, id: &CustomerId, change: &SubscriptionChange) -> AdapterResult<ChangeOutcome> {
        self.check()?;
        self.inner.quote_change(id, change).await
    }
    async fn apply_change(
        &self,
        id: &CustomerId,
        change: &SubscriptionChange,
        key: &str,
    ) -> AdapterResult<ChangeOutcome> {
        self.check()?;
        self.inner.apply_change(id, change, key).await
    }
    async fn payment_link(&self, id: &CustomerId, amount: Decimal, reference: &str) -> AdapterResult<String> {
        self.check()?;
        self.inner.payment_link(id, amount, reference).await
    }
    async fn credit_payment(
        &self,
        id: &CustomerId,
        amount: Decimal,
        payment_id: &str,
        title: &LocalizedText,
    ) -> AdapterResult<Option<Decimal>> {
        self.check()?;
        self.inner.credit_payment(id, amount, payment_id, title).await
    }
}

#[tokio::test]
async fn a_billing_outage_opens_the_breaker_and_the_balance_comes_back_after_the_cooldown() {
    let mut config = Config::default();
    config.adapters.breaker_failures = 2;
    config.adapters.retries = 1;
    let outage = Arc::new(Outage::default());
    let flaky = outage.clone();
    let bot = SandboxedBot::start_with_adapters(config, fixed(), move |store, clock, _config| {
        let adapters = Builtin::new(store).with_clock(clock).adapters();
        Adapters { billing: Arc::new(FlakyBilling { inner: adapters.billing.clone(), outage: flaky }), ..adapters }
    })
    .await
    .unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("₸"), "{}", replies.dump());

    // The billing goes down: two failed calls (each tried twice) open its breaker.
    outage.down.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        let replies = say(&bot, &user, "баланс").await;
        assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    }
    let calls = outage.calls.load(Ordering::SeqCst);

    // Open: the customer is answered at once and the billing is not asked.
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("Система сейчас не отвечает"), "{}", replies.dump());
    assert_eq!(outage.calls.load(Ordering::SeqCst), calls, "no call reaches the billing while the breaker is open");
    // Other systems answer meanwhile.
    let replies = say(&bot, &user, "где мой заказ").await;
    assert!(replies.contains("1234567890"), "{}", replies.dump());

    // The billing recovers; after the cool-down (30 s on the bot's clock) the trial call
    // succeeds and the balance is shown again.
    outage.down.store(false, Ordering::SeqCst);
    let clock = bot.clock.as_ref().unwrap();
    clock.set(cabinet::clock::Clock::now(clock.as_ref()) + chrono::Duration::seconds(30));
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("₸"), "{}", replies.dump());
    assert!(outage.calls.load(Ordering::SeqCst) > calls);
    bot.stop().await;
}

#[tokio::test]
async fn the_order_history_pages_forward_and_back_in_place() {
    let opts = SandboxOptions { orders_page_size: Some(2), ..fixed() };
    let bot = SandboxedBot::start(opts).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let first = say(&bot, &user, "мои заказы").await;
    assert!(first.contains("(1–2 из 3)") && first.contains("78234") && !first.contains("77501"), "{}", first.dump());
    let messages_before = bot.sandbox.messages(user.id).len();

    let second = press(&bot, &user, "Дальше").await;
    assert!(second.contains("(3–3 из 3)") && second.contains("77501"), "{}", second.dump());
    assert_eq!(bot.sandbox.messages(user.id).len(), messages_before, "paging edits the message in place");

    let back = press(&bot, &user, "Назад").await;
    assert!(back.contains("(1–2 из 3)"), "{}", back.dump());
    bot.stop().await;
}

#[tokio::test]
async fn a_restart_does_not_lose_the_place_in_the_dialogue() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    let opts = SandboxOptions { database_url: Some(url), ..fixed() };
    let user = erlan();

    let bot = SandboxedBot::start(opts.clone()).await.unwrap();
    identify(&bot, &user, "+77011234567").await;
    let first = say(&bot, &user, "фиолетовые слоны танцуют").await;
    assert!(first.contains("не совсем понял"), "{}", first.dump());
    bot.stop().await;

    // The second misunderstanding in a row, after a restart, offers a person.
    let bot = SandboxedBot::start(opts).await.unwrap();
    let second = say(&bot, &user, "зелёные жирафы поют").await;
    assert!(second.contains("снова не поняли"), "{}", second.dump());
    // And the binding survived: the balance is there without asking again.
    let balance = say(&bot, &user, "баланс").await;
    assert!(balance.contains("Ваш баланс"), "{}", balance.dump());
    bot.stop().await;
}

#[tokio::test]
async fn foreign_order_numbers_and_rejected_contacts_are_audited() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    say(&bot, &user, "/start").await;
    press(&bot, &user, "Принимаю").await;
    let seq = bot.sandbox.event_seq();
    let id = bot.sandbox.send_contact(&user, "+77025556677", Some(9999));
    collect(&bot, &user, seq, id).await;
    share_own_contact(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "что с заказом 78300").await;
    assert!(replies.contains("Мы не нашли такой заказ"), "{}", replies.dump());

    let actions: Vec<(String, Option<String>)> =
        bot.store.audit_entries(user.id).await.unwrap().into_iter().map(|e| (e.action, e.subject)).collect();
    assert!(actions.contains(&("contact.rejected".into(), Some("foreign".into()))), "{actions:?}");
    assert!(actions.iter().any(|(a, _)| a == "bind"), "{actions:?}");
    assert!(actions.contains(&("order.not_found".into(), Some("78300".into()))), "{actions:?}");
    let consent = bot.store.consent(user.id).await.unwrap().expect("consent is stored");
    assert_eq!(consent.terms_version, Config::default().bot.terms_version);
    bot.stop().await;
}

#[tokio::test]
async fn an_unknown_phone_becomes_a_lead_and_sees_nothing() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = SandboxUser::new(5050, "Гость", Some("ru"));
    say(&bot, &user, "/start").await;
    press(&bot, &user, "Принимаю").await;
    let replies = share_own_contact(&bot, &user, "+77779998877").await;
    assert!(replies.contains("клиента с этим номером мы не нашли"), "{}", replies.dump());
    let leads = bot.store.leads().await.unwrap();
    assert!(leads.iter().any(|l| l.telegram_user_id == 5050 && l.phone.as_str() == "+77779998877"), "{leads:?}");
    assert!(bot.store.binding(5050).await.unwrap().is_none());
    // The business's CRM has the lead, once per phone however often it is shared.
    share_own_contact(&bot, &user, "+77779998877").await;
    let crm_leads: Vec<(String, i64)> = sqlx::query("SELECT phone, telegram_user_id FROM crm_leads")
        .fetch_all(bot.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (sqlx::Row::get::<String, _>(r, "phone"), sqlx::Row::get::<i64, _>(r, "telegram_user_id")))
        .collect();
    assert_eq!(crm_leads, [("+77779998877".to_owned(), 5050)]);
    bot.stop().await;
}

#[tokio::test]
async fn an_escalation_leaves_a_note_on_the_customers_crm_record() {
    let bot = bot_with_staff().await;
    let customer = erlan();
    identify(&bot, &customer, "+77011234567").await;
    say(&bot, &customer, "у меня жалоба, верните деньги").await;
    let notes: Vec<(String, String)> = sqlx::query("SELECT customer_id, text FROM crm_notes")
        .fetch_all(bot.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (sqlx::Row::get::<String, _>(r, "customer_id"), sqlx::Row::get::<String, _>(r, "text")))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].1.contains("обращение №") && notes[0].1.contains("Высокий"), "{notes:?}");
    let profile = bot.store.binding(customer.id).await.unwrap().unwrap();
    assert_eq!(notes[0].0, profile.customer_id.0);
    bot.stop().await;
}

#[tokio::test]
async fn the_command_menu_is_registered_in_russian_and_english() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    // The menu is registered alongside polling, not before it.
    let registered = |s: &cabinet::sandbox::Sandbox| ["ru", "en"].iter().all(|l| !s.my_commands(Some(l)).is_empty());
    assert!(bot.sandbox.wait_until(WAIT, registered).await);
    let calls = bot.sandbox.calls();
    let languages: Vec<String> = calls
        .iter()
        .filter(|(method, _)| method == "setMyCommands")
        .filter_map(|(_, params)| params.get("language_code").and_then(|v| v.as_str()).map(str::to_owned))
        .collect();
    assert!(languages.contains(&"ru".to_owned()) && languages.contains(&"en".to_owned()), "{calls:?}");
    bot.stop().await;
}

#[tokio::test]
async fn forget_deletes_what_the_bot_keeps() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "баланс").await;
    assert!(!bot.store.chat_history(user.id, 10).await.unwrap().is_empty());

    let replies = say(&bot, &user, "/forget").await;
    assert!(replies.contains("удалил"), "{}", replies.dump());
    assert!(bot.store.binding(user.id).await.unwrap().is_none());
    assert!(bot.store.consent(user.id).await.unwrap().is_none());
    assert!(bot.store.chat_history(user.id, 10).await.unwrap().is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn staff_hear_about_an_unknown_phone_with_the_number_in_full() {
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(-100777);
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    bot.sandbox.add_group(-100777, "Staff");
    let user = SandboxUser::new(5050, "Гость", Some("ru"));
    say(&bot, &user, "/start").await;
    press(&bot, &user, "Принимаю").await;
    share_own_contact(&bot, &user, "+77779998877").await;

    let staff = bot.sandbox.messages(-100777);
    assert_eq!(staff.len(), 1, "{staff:?}");
    assert!(staff[0].text.contains("Гость") && staff[0].text.contains("5050"), "{}", staff[0].text);
    // The person shared their own number for staff to call back: staff see it in full.
    assert!(staff[0].text.contains("+77779998877"), "{}", staff[0].text);
    bot.stop().await;
}

/// A chat-completions answer whose content is this classification.
fn llm_reply(intent: &str, confidence: f32) -> serde_json::Value {
    let content = serde_json::json!({
        "intent": intent,
        "entities": {"order_id": null, "doc_kind": null, "period": null, "date": null, "time": null,
                     "service": null, "staff": null, "subscription_action": null},
        "confidence": confidence,
    });
    serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}}]})
}

async fn bot_with_llm(server: &wiremock::MockServer, timeout_ms: u64) -> SandboxedBot {
    let mut config = Config::default();
    config.llm.url = Some(server.uri());
    config.llm.model = Some("test-model".into());
    config.llm.timeout_ms = timeout_ms;
    SandboxedBot::start_with_config(config, fixed()).await.unwrap()
}

#[tokio::test]
async fn an_unclear_message_is_understood_by_the_language_model_fallback() {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(llm_reply("balance", 0.9)))
        .expect(1)
        .mount(&server)
        .await;
    let bot = bot_with_llm(&server, 2000).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    // Clear to the local recogniser: the fallback is not asked.
    let clear = say(&bot, &user, "где мой заказ").await;
    assert!(clear.contains("78234"), "{}", clear.dump());
    // Not understood locally: the fallback's reading is acted on.
    let replies = say(&bot, &user, "qwzx blorp vrrm").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;
    server.verify().await;
}

#[tokio::test]
async fn a_slow_or_unsure_fallback_leaves_the_customer_with_a_question_not_a_guess() {
    use wiremock::matchers::method;
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(llm_reply("balance", 0.9))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let bot = bot_with_llm(&server, 200).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "qwzx blorp").await;
    assert!(replies.contains("не совсем понял"), "{}", replies.dump());
    assert!(!replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;

    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(llm_reply("balance", 0.2)))
        .mount(&server)
        .await;
    let bot = bot_with_llm(&server, 2000).await;
    identify(&bot, &user, "+77011234567").await;
    let replies = say(&bot, &user, "qwzx blorp").await;
    assert!(!replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;
}

// --- self-service -----------------------------------------------------------------------------

/// The documents the bot sent this user: (file name, file_id, caption).
fn documents_sent(bot: &SandboxedBot, user: &SandboxUser) -> Vec<(String, String, String)> {
    bot.sandbox
        .messages(user.id)
        .into_iter()
        .filter_map(|m| match m.content {
            BotContent::Document { file_name, file_id, .. } => Some((file_name, file_id, m.text)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_document_is_rendered_once_and_then_sent_by_its_file_id() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    say(&bot, &user, "пришли акт за декабрь").await;
    let first = documents_sent(&bot, &user);
    assert_eq!(first.len(), 1, "{first:?}");
    let (file_name, file_id, caption) = &first[0];
    assert!(file_name.ends_with(".pdf") && caption.contains("Акт"), "{first:?}");
    let bytes = bot.sandbox.file_bytes(file_id).expect("the upload is kept");
    assert!(bytes.starts_with(b"%PDF"), "a PDF was uploaded");

    say(&bot, &user, "пришли акт за декабрь").await;
    let both = documents_sent(&bot, &user);
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(both[1].1, *file_id, "the second send reuses Telegram's file_id instead of uploading again");
    let uploads = bot
        .sandbox
        .calls()
        .into_iter()
        .filter(|(method, params)| {
            method.eq_ignore_ascii_case("sendDocument") && params["document"].as_str() != Some(file_id.as_str())
        })
        .count();
    assert_eq!(uploads, 1, "one upload in all");

    // In English the document is rendered again, in English.
    say(&bot, &user, "/language").await;
    press(&bot, &user, "English").await;
    say(&bot, &user, "send me the act for December").await;
    let all = documents_sent(&bot, &user);
    assert_eq!(all.len(), 3, "{all:?}");
    assert_ne!(all[2].1, *file_id, "another language is another file");
    assert!(all[2].2.contains("Certificate"), "{all:?}");
    bot.stop().await;
}

#[tokio::test]
async fn an_out_of_stock_item_is_named_and_left_out_of_the_repeat() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    sqlx::query("UPDATE catalog SET in_stock = 0 WHERE sku = 'MILK-32'").execute(bot.store.pool()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "повтори последний заказ").await;
    assert!(replies.contains("Нет в наличии, в заказ не войдёт: Молоко 3.2%"), "{}", replies.dump());
    assert!(replies.contains("Итого: 1\u{a0}290\u{a0}₸"), "{}", replies.dump());
    let placed = press(&bot, &user, "Оформить").await;
    assert!(placed.contains("Заказ №78301 оформлен на 1\u{a0}290\u{a0}₸"), "{}", placed.dump());
    bot.stop().await;
}

#[tokio::test]
async fn two_taps_on_confirm_at_once_place_one_order() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "повтори последний заказ").await;
    let Some(ButtonRef::Inline { message_id, callback_data, .. }) =
        bot.sandbox.find_button(user.id, &|l: &str| l.contains("Оформить"))
    else {
        panic!("no confirm button")
    };
    let seq = bot.sandbox.event_seq();
    let first = bot.sandbox.press_inline(&user, message_id, &callback_data);
    let second = bot.sandbox.press_inline(&user, message_id, &callback_data);
    collect(&bot, &user, seq, first).await;
    let replies = collect(&bot, &user, seq, second).await;
    assert!(replies.contains("оформлен на"), "{}", replies.dump());
    assert!(replies.contains("уже оформлен: №78301"), "{}", replies.dump());
    let row = sqlx::query("SELECT COUNT(*) AS n FROM orders WHERE customer_id = 'C1'")
        .fetch_one(bot.store.pool())
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<i64, _>(&row, "n"), 4, "three demo orders and one new");
    bot.stop().await;
}

#[tokio::test]
async fn a_referral_credits_the_referrer_once_and_never_oneself() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let referrer = erlan();
    identify(&bot, &referrer, "+77011234567").await;
    let replies = say(&bot, &referrer, "моя реферальная ссылка").await;
    let text = replies.texts().join("\n");
    let code =
        regex::Regex::new(r"start=ref_([A-Za-z0-9]+)").unwrap().captures(&text).expect("a referral link")[1].to_owned();
    assert!(text.contains(&format!("https://t.me/{}?start=ref_{code}", bot.sandbox.bot_username())), "{text}");

    // Ольга comes with the link: Ерлан gets the points, once.
    let friend = SandboxUser::new(5002, "Ольга", Some("ru"));
    let seq = bot.sandbox.event_seq();
    say(&bot, &friend, &format!("/start ref_{code}")).await;
    press(&bot, &friend, "Принимаю").await;
    share_own_contact(&bot, &friend, "+77025556677").await;
    let told = collect(&bot, &referrer, seq, bot.sandbox.send_text(&referrer, "спасибо")).await;
    assert!(told.contains("Начислено 500 бонусных баллов"), "{}", told.dump());
    let bonuses = say(&bot, &referrer, "сколько у меня бонусов").await;
    assert!(bonuses.contains("1\u{a0}700"), "{}", bonuses.dump());

    // Ольга again, from another Telegram account: no second reward.
    let again = SandboxUser::new(5003, "Ольга", Some("ru"));
    say(&bot, &again, &format!("/start ref_{code}")).await;
    press(&bot, &again, "Принимаю").await;
    share_own_contact(&bot, &again, "+77025556677").await;
    // Ерлан with his own link, from a second account: nothing.
    let himself = SandboxUser::new(5004, "Ерлан", Some("ru"));
    say(&bot, &himself, &format!("/start ref_{code}")).await;
    press(&bot, &himself, "Принимаю").await;
    share_own_contact(&bot, &himself, "+77011234567").await;
    // (His first account is unbound by that: the newest proof of ownership wins.)
    assert!(bot.sandbox.messages(referrer.id).iter().any(|m| m.text.contains("подтвердили в другом аккаунте")));
    let bonuses = say(&bot, &himself, "сколько у меня бонусов").await;
    assert!(bonuses.contains("1\u{a0}700"), "{}", bonuses.dump());
    // Both were bound before: a link counts only at a customer's first binding.
    for user in [5003, 5004] {
        let actions: Vec<String> = bot.store.audit_entries(user).await.unwrap().into_iter().map(|e| e.action).collect();
        assert!(actions.contains(&"referral.returning".to_owned()), "{user}: {actions:?}");
    }
    bot.stop().await;
}

#[tokio::test]
async fn a_returning_customer_credits_nobody_and_the_referrer_is_not_told() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let referrer = erlan();
    identify(&bot, &referrer, "+77011234567").await;
    let replies = say(&bot, &referrer, "моя реферальная ссылка").await;
    let text = replies.texts().join("\n");
    let code =
        regex::Regex::new(r"start=ref_([A-Za-z0-9]+)").unwrap().captures(&text).expect("a referral link")[1].to_owned();

    // Ольга was a customer of the cabinet before: bound, then /forget.
    let friend = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &friend, "+77025556677").await;
    say(&bot, &friend, "/forget").await;
    let seq = bot.sandbox.event_seq();
    say(&bot, &friend, &format!("/start ref_{code}")).await;
    press(&bot, &friend, "Принимаю").await;
    let replies = share_own_contact(&bot, &friend, "+77025556677").await;
    assert!(replies.contains("Здравствуйте, Ольга"), "{}", replies.dump());
    let to_referrer: Vec<_> = bot
        .sandbox
        .events_since(seq)
        .into_iter()
        .filter(|event| matches!(event, SandboxEvent::Sent(m) if m.chat_id == referrer.id))
        .collect();
    assert!(to_referrer.is_empty(), "{to_referrer:?}");
    let bonuses = say(&bot, &referrer, "сколько у меня бонусов").await;
    assert!(bonuses.contains("1\u{a0}200"), "{}", bonuses.dump());
    let entry = bot
        .store
        .audit_entries(5002)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.action == "referral.returning")
        .expect("the refused credit is audited");
    assert_eq!(entry.subject.as_deref(), Some(code.as_str()));
    assert_eq!(entry.customer_id, Some(CustomerId("C2".into())));
    assert!(bot.store.customer_first_bound(&CustomerId("C2".into())).await.unwrap().is_some());
    bot.stop().await;
}

/// Presses an invoice's pay button and waits for the payment that follows it.
async fn pay(bot: &SandboxedBot, user: &SandboxUser, label: &str) -> Replies {
    let pay = |l: &str| l.contains(label);
    let sent = driver(bot).press_button(user, Place::Private, &pay, None).unwrap_or_else(|e| panic!("[{label}]: {e}"));
    assert!(sent.payment, "[{label}] is not the pay button of an invoice");
    let replies = driver(bot).collect(&sent).await.unwrap_or_else(|e| panic!("{e}"));
    bot.sandbox.payment_followup(sent.update_id).expect("the pre-checkout was accepted");
    replies
}

#[tokio::test]
async fn a_payment_delivered_twice_is_credited_once() {
    let bot = SandboxedBot::start(SandboxOptions { telegram_payments: true, ..fixed() }).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "пополнить").await;
    press(&bot, &user, "2\u{a0}000").await;
    let paid = pay(&bot, &user, "Оплатить 2").await;
    assert!(paid.contains("Оплачено: 2\u{a0}000\u{a0}₸. Баланс: 5\u{a0}450\u{a0}₸"), "{}", paid.dump());

    // Telegram delivers the same successful payment again.
    let payload = bot
        .sandbox
        .calls()
        .into_iter()
        .find(|(method, _)| method.eq_ignore_ascii_case("sendInvoice"))
        .and_then(|(_, params)| params["payload"].as_str().map(str::to_owned))
        .expect("an invoice was sent");
    let seq = bot.sandbox.event_seq();
    let again = bot.sandbox.send_successful_payment(&user, user.id, &payload, "KZT", 200_000, "sbx_charge_000001");
    let replies = collect(&bot, &user, seq, again).await;
    assert!(replies.contains("уже зачислен"), "{}", replies.dump());
    let balance = say(&bot, &user, "баланс").await;
    assert!(balance.contains("5\u{a0}450\u{a0}₸"), "{}", balance.dump());

    // The same invoice cannot be paid a second time: the pre-checkout is declined.
    let Some(ButtonRef::Inline { message_id, .. }) =
        bot.sandbox.find_button(user.id, &|l: &str| l.contains("Оплатить 2"))
    else {
        panic!("no pay button")
    };
    let pre_checkout = bot.sandbox.pay_invoice(&user, user.id, message_id).unwrap();
    assert!(bot.sandbox.wait_handled(pre_checkout, WAIT).await);
    assert_eq!(bot.sandbox.payment_followup(pre_checkout), None, "declined");
    bot.stop().await;
}

#[tokio::test]
async fn an_invoice_is_paid_only_by_the_customer_it_was_made_for() {
    let bot = SandboxedBot::start(SandboxOptions { telegram_payments: true, ..fixed() }).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "пополнить").await;
    press(&bot, &user, "1\u{a0}000").await;
    let payload = bot
        .sandbox
        .calls()
        .into_iter()
        .find(|(method, _)| method.eq_ignore_ascii_case("sendInvoice"))
        .and_then(|(_, params)| params["payload"].as_str().map(str::to_owned))
        .unwrap();
    // Another customer forwards nothing and guesses nothing: a payment with Ерлан's payload
    // arriving in Ольга's chat credits nobody.
    let olga = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &olga, "+77025556677").await;
    let seq = bot.sandbox.event_seq();
    let id = bot.sandbox.send_successful_payment(&olga, olga.id, &payload, "KZT", 100_000, "sbx_charge_x");
    let replies = collect(&bot, &olga, seq, id).await;
    assert!(replies.contains("мы не нашли, к какому пополнению"), "{}", replies.dump());
    let balance = say(&bot, &olga, "баланс").await;
    assert!(balance.contains("Ваш баланс: 150\u{a0}₸"), "{}", balance.dump());
    let actions: Vec<String> = bot.store.audit_entries(5002).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"top_up.unknown_payment".to_owned()), "{actions:?}");
    bot.stop().await;
}

/// A document system that has the files: one as bytes, one at a URL.
struct FileDocuments;

fn doc_info(id: &str, kind: &str, title: &str) -> cabinet::adapters::DocumentInfo {
    cabinet::adapters::DocumentInfo {
        id: id.into(),
        kind: kind.into(),
        period: cabinet::domain::Period::parse("2024-12").unwrap(),
        title: LocalizedText([("ru".to_owned(), title.to_owned())].into_iter().collect()),
    }
}

#[async_trait]
impl cabinet::adapters::Documents for FileDocuments {
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<cabinet::adapters::DocumentInfo>> {
        Ok(if id.as_str() == "C1" {
            vec![doc_info("X-1", "act", "Акт из учётной системы"), doc_info("X-2", "invoice", "Счёт по ссылке")]
        } else {
            vec![]
        })
    }
    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<cabinet::adapters::DocumentInfo>> {
        Ok(self.documents(id).await?.into_iter().find(|d| d.id == doc_id))
    }
    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<cabinet::adapters::DocumentFile>> {
        use cabinet::adapters::DocumentFile;
        if self.document(id, doc_id).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(match doc_id {
            "X-1" => DocumentFile::Bytes { file_name: "act-X-1.pdf".into(), bytes: b"%PDF-1.7 from the ERP".to_vec() },
            _ => DocumentFile::Url {
                file_name: "invoice.pdf".into(),
                url: "https://files.example.com/invoices/X-2.pdf".into(),
            },
        }))
    }
}

#[tokio::test]
async fn a_document_the_business_has_a_file_of_is_sent_as_it_is() {
    let bot = SandboxedBot::start_with_adapters(Config::default(), fixed(), |store, clock, config| {
        let mut adapters = cabinet::app::builtin(config, store, clock);
        adapters.documents = Arc::new(FileDocuments);
        adapters
    })
    .await
    .unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    say(&bot, &user, "пришли акт").await;
    let sent = documents_sent(&bot, &user);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "act-X-1.pdf");
    assert_eq!(bot.sandbox.file_bytes(&sent[0].1).unwrap(), b"%PDF-1.7 from the ERP");

    say(&bot, &user, "нужен счёт").await;
    let sent = documents_sent(&bot, &user);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].0, "X-2.pdf", "Telegram fetched it from the URL");
    assert_eq!(sent[1].2, "Счёт по ссылке");

    // Both again: by file_id, no new upload.
    say(&bot, &user, "пришли акт").await;
    let sent = documents_sent(&bot, &user);
    assert_eq!(sent[2].1, sent[0].1);
    bot.stop().await;
}

/// A document system whose ids are as long as real backends' (a CRM's prefix and a UUID).
struct LongIdDocuments;

/// Of any shape, too: a path with ':', '/', spaces and Cyrillic.
const LONG_ACT_1: &str = "1С:Бухгалтерия/Акт 0000000000001/3f2b8c1e-9a4d-4e7b-b6f0-1c2d3e4f5a6b";
const LONG_ACT_2: &str = "bitrix24-deal-3f2b8c1e-9a4d-4e7b-b6f0-1c2d3e4f5a6b-act-0000000000002";

#[async_trait]
impl cabinet::adapters::Documents for LongIdDocuments {
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<cabinet::adapters::DocumentInfo>> {
        Ok(if id.as_str() == "C1" {
            vec![doc_info(LONG_ACT_1, "act", "Акт № 1 из CRM"), doc_info(LONG_ACT_2, "act", "Акт № 2 из CRM")]
        } else {
            vec![]
        })
    }
    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<cabinet::adapters::DocumentInfo>> {
        Ok(self.documents(id).await?.into_iter().find(|d| d.id == doc_id))
    }
    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<cabinet::adapters::DocumentFile>> {
        if self.document(id, doc_id).await?.is_none() {
            return Ok(None);
        }
        let bytes = format!("%PDF-1.7 {doc_id}").into_bytes();
        Ok(Some(cabinet::adapters::DocumentFile::Bytes { file_name: "act.pdf".into(), bytes }))
    }
}

/// The data of the newest button in `user`'s chat whose label contains `label`.
fn button_data(bot: &SandboxedBot, user: &SandboxUser, label: &str) -> String {
    match bot.sandbox.find_button(user.id, &|l: &str| l.contains(label)) {
        Some(ButtonRef::Inline { callback_data, .. }) => callback_data,
        other => panic!("no inline button [{label}]: {other:?}"),
    }
}

#[tokio::test]
async fn documents_whose_ids_are_too_long_for_a_button_are_offered_and_sent_by_a_token() {
    assert!(LONG_ACT_2.len() >= 60);
    let bot = SandboxedBot::start_with_adapters(Config::default(), fixed(), |store, clock, config| {
        let mut adapters = cabinet::app::builtin(config, store, clock);
        adapters.documents = Arc::new(LongIdDocuments);
        adapters
    })
    .await
    .unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let replies = say(&bot, &user, "пришли акт за декабрь").await;
    assert!(replies.contains("несколько"), "{}", replies.dump());
    let data = button_data(&bot, &user, "Акт № 2");
    assert!(data.len() <= 64 && data.starts_with('~') && !data.contains("bitrix24"), "{data}");
    let token = data.split('|').next().unwrap().trim_start_matches('~').to_owned();
    let kept = bot.store.button_payload(&token).await.unwrap().expect("the payload is kept server-side");
    assert_eq!((kept.telegram_user_id, kept.payload.as_str()), (user.id, format!("d:{LONG_ACT_2}").as_str()));

    press(&bot, &user, "Акт № 2").await;
    let sent = documents_sent(&bot, &user);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].2, "Акт № 2 из CRM");
    assert_eq!(bot.sandbox.file_bytes(&sent[0].1).unwrap(), format!("%PDF-1.7 {LONG_ACT_2}").into_bytes());

    press(&bot, &user, "Акт № 1").await;
    let sent = documents_sent(&bot, &user);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(bot.sandbox.file_bytes(&sent[1].1).unwrap(), format!("%PDF-1.7 {LONG_ACT_1}").into_bytes());

    // /logout makes it stale like any button; /forget deletes what was kept.
    say(&bot, &user, "/logout").await;
    let replies = press(&bot, &user, "Акт № 1").await;
    assert!(replies.contains("больше не активна"), "{}", replies.dump());
    assert_eq!(documents_sent(&bot, &user).len(), 2);
    say(&bot, &user, "/forget").await;
    assert_eq!(bot.store.button_payload(&token).await.unwrap(), None);
    assert!(
        bot.store.audit_entries(user.id).await.unwrap().iter().all(|e| e.action != "callback.forged"),
        "stale, not forged"
    );
    bot.stop().await;
}

// --- booking reminders --------------------------------------------------------------------------

#[tokio::test]
async fn a_reminder_planned_before_a_restart_is_sent_once_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    let opts = SandboxOptions { database_url: Some(url.clone()), ..fixed() };
    let john = SandboxUser::new(7001, "John", Some("en"));

    // Half an hour before John's 24-hour reminder: the job is planned, not yet due.
    let first = SandboxedBot::start(opts.clone()).await.unwrap();
    identify_as(&first, &john, "+447700900123", "I agree", "Hello").await;
    first.set_now(at("2025-01-12T14:30:00+05:00"));
    first.run_due_jobs().await.unwrap();
    assert!(reminders_in(&first, john.id).is_empty());
    let planned = first.store.jobs_with_prefix("reminder:B-3001:").await.unwrap();
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0].status, "pending");
    first.stop().await;

    // After a restart, at its time, it is sent once, however often the scheduler ticks.
    let second = SandboxedBot::start(opts).await.unwrap();
    say(&second, &john, "hi").await;
    second.set_now(at("2025-01-12T15:00:00+05:00"));
    second.run_due_jobs().await.unwrap();
    second.run_due_jobs().await.unwrap();
    second.set_now(at("2025-01-12T15:10:00+05:00"));
    second.run_due_jobs().await.unwrap();
    let sent = reminders_in(&second, john.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("tomorrow at 15:00"), "{sent:?}");
    let recorded = second.store.reminders("B-3001").await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].answer, None, "no answer yet");

    // The answer is recorded.
    press(&second, &john, "I'll be there").await;
    let recorded = second.store.reminders("B-3001").await.unwrap();
    assert_eq!(recorded[0].answer.as_deref(), Some("confirmed"));
    second.stop().await;
}

#[tokio::test]
async fn a_cancelled_booking_gets_no_reminder_and_the_cancellation_is_recorded() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let olga = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &olga, "+77025556677").await;
    bot.set_now(at("2025-01-13T12:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(reminders_in(&bot, olga.id).len(), 1);
    say(&bot, &olga, "отмените запись").await;
    press(&bot, &olga, "Да, отменить").await;
    assert_eq!(bot.store.reminders("B-2001").await.unwrap()[0].answer.as_deref(), Some("cancelled"));
    // The 2-hour reminder is not sent for a cancelled booking.
    bot.set_now(at("2025-01-14T10:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(reminders_in(&bot, olga.id).len(), 1);
    let actions: Vec<String> = bot.store.audit_entries(olga.id).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"booking.cancel".to_owned()), "{actions:?}");
    bot.stop().await;
}

/// The booking system of the demo, counting how often every customer's upcoming appointments
/// are listed (what reminders are reconciled from).
struct CountingBooking {
    inner: Arc<dyn Booking>,
    upcoming: Arc<AtomicUsize>,
    /// Every call.
    calls: Arc<AtomicUsize>,
}

#[async_trait]
impl Booking for CountingBooking {
    async fn services(&self) -> AdapterResult<Vec<Service>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.services().await
    }
    async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.staff().await
    }
    async fn preferred_staff(&self, id: &CustomerId) -> AdapterResult<Option<String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.preferred_staff(id).await
    }
    async fn free_slots(
        &self,
        service: &str,
        staff: Option<&str>,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> AdapterResult<Vec<Slot>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.free_slots(service, staff, from, to).await
    }
    async fn book(
        &self,
        id: &CustomerId,
        service: &str,
        slot: &Slot,
        idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.book(id, service, slot, idempotency_key).await
    }
    async fn appointments(
        &self,
        id: &CustomerId,
        from: chrono::DateTime<chrono::Utc>,
    ) -> AdapterResult<Vec<Appointment>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.appointments(id, from).await
    }
    async fn appointment(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Appointment>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.appointment(id, booking_id).await
    }
    async fn reschedule(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.reschedule(id, booking_id, slot).await
    }
    async fn cancel(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.cancel(id, booking_id).await
    }
    async fn upcoming(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.upcoming.fetch_add(1, Ordering::SeqCst);
        self.inner.upcoming(from, to).await
    }
}

/// The reminder jobs of a booking: (kind, status), earliest first.
async fn reminder_jobs(bot: &SandboxedBot, booking_id: &str) -> Vec<(String, String)> {
    let jobs = bot.store.jobs_with_prefix(&format!("reminder:{booking_id}:")).await.unwrap();
    jobs.into_iter().map(|j| (j.key.rsplit(':').next().unwrap_or_default().to_owned(), j.status)).collect()
}

/// Pairs of (kind, status) from string literals.
fn kinds(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, s)| ((*k).to_owned(), (*s).to_owned())).collect()
}

#[tokio::test]
async fn the_booking_system_is_asked_for_upcoming_appointments_once_per_reconciliation_not_every_tick() {
    let upcoming = Arc::new(AtomicUsize::new(0));
    let counter = upcoming.clone();
    let bot = SandboxedBot::start_with_adapters(Config::default(), fixed(), move |store, clock, config| {
        let mut adapters = cabinet::app::builtin(config, store, clock);
        adapters.booking =
            Arc::new(CountingBooking { inner: adapters.booking.clone(), upcoming: counter, calls: Arc::default() });
        adapters
    })
    .await
    .unwrap();
    // Two hours of the clock, a tick a minute (the demo starts at 10:00, on the hour): the
    // run at start-up, then one at 11:00 and one at 12:00.
    let start = bot.now();
    let ticks = 120;
    for minute in 1..=ticks {
        bot.set_now(start + chrono::Duration::minutes(minute));
        bot.run_due_jobs().await.unwrap();
    }
    let calls = upcoming.load(Ordering::SeqCst);
    println!("{ticks} ticks: {calls} listings of upcoming appointments");
    assert!((1..=3).contains(&calls), "{calls} listings in {ticks} ticks");
    // One reconciliation job a run, each scheduling the next on the hour.
    let runs: Vec<(String, String)> = bot
        .store
        .jobs_with_prefix("booking.reminders.reconcile:")
        .await
        .unwrap()
        .into_iter()
        .map(|j| {
            (
                j.run_at.with_timezone(&chrono::FixedOffset::east_opt(5 * 3600).unwrap()).format("%H:%M").to_string(),
                j.status,
            )
        })
        .collect();
    // (The one at start-up runs on the first tick: the job loop's at 10:00 or the test's.)
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert_eq!(runs[0].1, "done", "{runs:?}");
    assert_eq!(runs[1..], kinds(&[("11:00", "done"), ("12:00", "done"), ("13:00", "pending")]));
    bot.stop().await;
}

#[tokio::test]
async fn booking_in_the_chat_schedules_its_two_reminders_at_once() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "запишите меня на стрижку к Анне завтра в 12:00").await;
    let replies = press(&bot, &user, "Записаться").await;
    assert!(replies.contains("Вы записаны"), "{}", replies.dump());
    let row = sqlx::query("SELECT id FROM bookings WHERE customer_id = 'C1' AND status = 'confirmed'")
        .fetch_one(bot.store.pool())
        .await
        .unwrap();
    let id: String = sqlx::Row::get(&row, "id");
    // Without a tick of the scheduler: both are planned, at their moments.
    let jobs = bot.store.jobs_with_prefix(&format!("reminder:{id}:")).await.unwrap();
    let planned: Vec<(String, String, chrono::DateTime<chrono::Utc>)> =
        jobs.into_iter().map(|j| (j.key.rsplit(':').next().unwrap().to_owned(), j.status, j.run_at)).collect();
    assert_eq!(
        planned,
        [
            ("24h".to_owned(), "pending".to_owned(), at("2025-01-11T12:00:00+05:00")),
            ("2h".to_owned(), "pending".to_owned(), at("2025-01-12T10:00:00+05:00")),
        ]
    );
    // Sent at its time.
    bot.set_now(at("2025-01-11T12:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let sent = reminders_in(&bot, user.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("завтра в 12:00"), "{sent:?}");
    bot.stop().await;
}

#[tokio::test]
async fn moving_a_booking_replaces_its_reminders_and_cancelling_cancels_them() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let olga = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &olga, "+77025556677").await;
    // Half an hour before Olga's 24-hour reminder (14 January, 12:00): it is planned.
    bot.set_now(at("2025-01-13T11:30:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(reminder_jobs(&bot, "B-2001").await, kinds(&[("24h", "pending")]));

    say(&bot, &olga, "перенесите на пятницу").await;
    press(&bot, &olga, "17 января 11:00").await;
    let replies = press(&bot, &olga, "Перенести").await;
    assert!(replies.contains("Запись перенесена"), "{}", replies.dump());
    // The old time's reminder is cancelled, the new time's two are planned.
    assert_eq!(
        reminder_jobs(&bot, "B-2001").await,
        kinds(&[("24h", "cancelled"), ("24h", "pending"), ("2h", "pending")])
    );
    bot.set_now(at("2025-01-13T12:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert!(reminders_in(&bot, olga.id).is_empty());

    say(&bot, &olga, "отмените запись").await;
    let replies = press(&bot, &olga, "Да, отменить").await;
    assert!(replies.contains("Запись отменена"), "{}", replies.dump());
    assert_eq!(
        reminder_jobs(&bot, "B-2001").await,
        kinds(&[("24h", "cancelled"), ("24h", "cancelled"), ("2h", "cancelled")])
    );
    bot.set_now(at("2025-01-17T10:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert!(reminders_in(&bot, olga.id).is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn a_booking_moved_in_the_chat_and_back_at_the_front_desk_is_reminded_of_again() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let olga = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &olga, "+77025556677").await;
    bot.set_now(at("2025-01-13T11:30:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    say(&bot, &olga, "перенесите на пятницу").await;
    press(&bot, &olga, "17 января 11:00").await;
    press(&bot, &olga, "Перенести").await;
    assert_eq!(reminder_jobs(&bot, "B-2001").await[0], ("24h".to_owned(), "cancelled".to_owned()));
    // The front desk moves it back to 14 January, 12:00, and nobody tells the bot.
    sqlx::query("UPDATE bookings SET start_at = $1 WHERE id = 'B-2001'")
        .bind(cabinet::store::time_to_db(at("2025-01-14T12:00:00+05:00")))
        .execute(bot.store.pool())
        .await
        .unwrap();
    // The reconciliation at 12:00 revives the cancelled reminder, sent at once.
    bot.set_now(at("2025-01-13T12:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let sent = reminders_in(&bot, olga.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("завтра в 12:00"), "{sent:?}");
    // The Friday time's reminders find the appointment at another time and send nothing.
    bot.set_now(at("2025-01-17T10:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(reminders_in(&bot, olga.id).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn an_appointment_made_in_the_business_system_gets_reminders_after_the_reconciliation() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    // Booked at the front desk, bypassing the chat: tomorrow (12 January) at 12:00.
    sqlx::query(
        "INSERT INTO bookings (id, customer_id, service, staff_id, start_at, status, duration_min) \
         VALUES ('B-DESK', 'C1', 'haircut', 'anna', $1, 'confirmed', 60)",
    )
    .bind(cabinet::store::time_to_db(at("2025-01-12T12:00:00+05:00")))
    .execute(bot.store.pool())
    .await
    .unwrap();
    assert!(reminder_jobs(&bot, "B-DESK").await.is_empty());
    // The hourly reconciliation at 11:00 finds it and plans the 24-hour reminder, sent at 12:00.
    bot.set_now(at("2025-01-11T11:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(reminder_jobs(&bot, "B-DESK").await, kinds(&[("24h", "pending")]));
    bot.set_now(at("2025-01-11T12:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let sent = reminders_in(&bot, user.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("завтра в 12:00"), "{sent:?}");
    bot.stop().await;
}

#[tokio::test]
async fn two_customers_confirming_one_time_at_once_get_one_booking() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let erlan = erlan();
    let olga = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &erlan, "+77011234567").await;
    identify(&bot, &olga, "+77025556677").await;
    for user in [&erlan, &olga] {
        say(&bot, user, "запишите меня на стрижку к Анне завтра в 12:00").await;
    }
    // Both press «Записаться» at the same moment.
    let seq = bot.sandbox.event_seq();
    let presses: Vec<(SandboxUser, i32)> = [&erlan, &olga]
        .into_iter()
        .map(|user| {
            let Some(ButtonRef::Inline { message_id, callback_data, .. }) =
                bot.sandbox.find_button(user.id, &|l: &str| l.contains("Записаться"))
            else {
                panic!("no confirm button for {}", user.id)
            };
            (user.clone(), bot.sandbox.press_inline(user, message_id, &callback_data))
        })
        .collect();
    let mut booked = 0;
    let mut taken = 0;
    for (user, update) in presses {
        let replies = collect(&bot, &user, seq, update).await;
        booked += usize::from(replies.contains("Вы записаны"));
        taken += usize::from(replies.contains("только что заняли"));
    }
    assert_eq!((booked, taken), (1, 1));
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM bookings WHERE staff_id = 'anna' AND status <> 'cancelled' AND start_at LIKE '2025-01-12T07:00%'",
    )
    .fetch_one(bot.store.pool())
    .await
    .unwrap();
    assert_eq!(sqlx::Row::get::<i64, _>(&row, "n"), 1);
    bot.stop().await;
}

// --- staff escalation -----------------------------------------------------------------------------

const STAFF: i64 = -1_001_000_000_001;

async fn bot_with_staff() -> SandboxedBot {
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(STAFF);
    config.support.mention = "@support".into();
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    bot.sandbox.add_forum_group(STAFF, "Support");
    bot
}

/// The texts the bot posted into a topic of the staff group.
fn topic_texts(bot: &SandboxedBot, thread: i32) -> Vec<String> {
    bot.sandbox.thread_messages(STAFF, thread).into_iter().map(|m| m.text).collect()
}

/// A staff member writes in a topic of the staff group; what the bot posted there in answer.
async fn staff_says(bot: &SandboxedBot, staff: &SandboxUser, thread: i32, text: &str) -> Vec<String> {
    let driver = driver(bot).with_staff_group(STAFF);
    let sent = driver.send_text(staff, Place::Topic(STAFF, thread), text);
    let replies = driver.collect(&sent).await.unwrap_or_else(|e| panic!("{text:?}: {e}"));
    replies.staff_texts().into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_case_goes_to_a_topic_and_staff_answer_close_and_get_a_rating() {
    let bot = bot_with_staff().await;
    let customer = erlan();
    identify(&bot, &customer, "+77011234567").await;
    say(&bot, &customer, "где мой заказ").await;

    let replies = say(&bot, &customer, "позовите оператора").await;
    assert!(replies.contains("Мы передали ваш вопрос специалисту"), "{}", replies.dump());
    let topics = bot.sandbox.topics(STAFF);
    assert_eq!(topics.len(), 1, "{topics:?}");
    assert!(topics[0].name.contains("Ерлан Ахметов") && topics[0].name.contains("***"), "{:?}", topics[0].name);
    assert!(!topics[0].name.contains("1234567"), "the full phone never reaches staff");
    let thread = topics[0].thread_id;
    let card = topic_texts(&bot, thread).join("\n");
    for part in [
        "Обращение №",
        "Ерлан Ахметов",
        "Баланс: 3\u{a0}450\u{a0}₸",
        "Заказ №78234",
        "клиент попросил оператора",
        "Нормальный",
        "где мой заказ",
    ] {
        assert!(card.contains(part), "{part:?} missing from the card:\n{card}");
    }

    // The customer's messages the bot cannot serve itself are copied into the topic; the bot
    // does not answer them.
    let replies = say(&bot, &customer, "мастер оставил мусор после работы").await;
    assert!(replies.texts().is_empty(), "{}", replies.dump());
    assert!(topic_texts(&bot, thread).iter().any(|t| t == "мастер оставил мусор после работы"));

    // Staff answer: the customer hears who took the case, then the answer, signed.
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_admin(STAFF, &anna);
    let seq = bot.sandbox.event_seq();
    staff_says(&bot, &anna, thread, "/assign").await;
    assert!(topic_texts(&bot, thread).iter().any(|t| t.contains("Обращение взял(а) Анна")));
    staff_says(&bot, &anna, thread, "Курьер будет у вас сегодня до 14:00").await;
    let to_customer: Vec<String> = bot
        .sandbox
        .events_since(seq)
        .into_iter()
        .filter_map(|e| match e {
            SandboxEvent::Sent(m) if m.chat_id == customer.id => Some(m.text),
            _ => None,
        })
        .collect();
    assert_eq!(
        to_customer,
        ["👤 К разговору подключился специалист — Анна.", "Анна: Курьер будет у вас сегодня до 14:00"]
    );

    staff_says(&bot, &anna, thread, "/priority высокий").await;
    assert!(topic_texts(&bot, thread).iter().any(|t| t.contains("Приоритет: 🟠 Высокий")));

    // /close: the customer rates 1–5 once; staff see the rating.
    staff_says(&bot, &anna, thread, "/close").await;
    let rating = press(&bot, &customer, "5").await;
    assert!(rating.contains("Спасибо за оценку"), "{}", rating.dump());
    assert!(topic_texts(&bot, thread).iter().any(|t| t.contains("Клиент оценил помощь: 5 из 5")));
    // After closing, staff messages do not reach the customer, and the bot answers again.
    staff_says(&bot, &anna, thread, "ещё вопрос?").await;
    assert!(
        topic_texts(&bot, thread).iter().any(|t| t.contains("Обращение закрыто — клиент это сообщение не получит"))
    );
    let replies = say(&bot, &customer, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());

    // A second case reuses the topic.
    say(&bot, &customer, "хочу поговорить с человеком").await;
    assert_eq!(bot.sandbox.topics(STAFF).len(), 1);
    bot.stop().await;
}

#[tokio::test]
async fn an_unanswered_case_is_pinged_again_after_its_sla_and_a_deleted_topic_is_recreated() {
    let bot = bot_with_staff().await;
    let customer = erlan();
    identify(&bot, &customer, "+77011234567").await;
    let replies = say(&bot, &customer, "у меня жалоба, верните деньги").await;
    assert!(replies.contains("Мы передали ваш вопрос специалисту"), "{}", replies.dump());
    let thread = bot.sandbox.topics(STAFF)[0].thread_id;
    assert!(topic_texts(&bot, thread).iter().any(|t| t.contains("жалоба") && t.contains("Высокий")));

    // High priority: 60 minutes.
    bot.set_now(at("2025-01-11T10:30:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert!(!topic_texts(&bot, thread).iter().any(|t| t.contains("ждёт ответа")));
    bot.set_now(at("2025-01-11T11:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let pings: Vec<String> = topic_texts(&bot, thread).into_iter().filter(|t| t.contains("ждёт ответа")).collect();
    assert_eq!(pings.len(), 1, "{pings:?}");
    assert!(pings[0].starts_with("@support"), "{pings:?}");

    // Staff delete the topic; the customer writes again: a new topic, the case goes on.
    assert!(bot.sandbox.delete_topic(STAFF, thread));
    say(&bot, &customer, "алло?").await;
    let topics = bot.sandbox.topics(STAFF);
    assert_eq!(topics.len(), 1, "{topics:?}");
    let new_thread = topics[0].thread_id;
    assert_ne!(new_thread, thread);
    let texts = topic_texts(&bot, new_thread);
    assert!(texts.iter().any(|t| t.contains("Тема была удалена")), "{texts:?}");
    assert!(texts.iter().any(|t| t == "алло?"), "{texts:?}");

    // An answer stops the re-pings.
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_admin(STAFF, &anna);
    staff_says(&bot, &anna, new_thread, "Здравствуйте! Разбираемся.").await;
    bot.set_now(at("2025-01-11T13:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert!(!topic_texts(&bot, new_thread).iter().any(|t| t.contains("ждёт ответа")));
    bot.stop().await;
}

#[tokio::test]
async fn only_the_staff_group_acts_as_staff_and_customers_never_reach_each_other() {
    let bot = bot_with_staff().await;
    let erlan = erlan();
    let olga = SandboxUser::new(5002, "Ольга", Some("ru"));
    identify(&bot, &erlan, "+77011234567").await;
    identify(&bot, &olga, "+77025556677").await;
    say(&bot, &erlan, "позовите оператора").await;
    say(&bot, &olga, "позовите оператора").await;
    assert_eq!(bot.sandbox.topics(STAFF).len(), 2, "one topic per customer");

    // A message in another group, even one with topics, does nothing.
    bot.sandbox.add_forum_group(-1_009_999, "Not staff");
    let seq = bot.sandbox.event_seq();
    let id = bot.sandbox.send_group_text(&olga, -1_009_999, "/close");
    assert!(bot.sandbox.wait_handled(id, WAIT).await);
    assert!(bot.sandbox.events_since(seq).into_iter().all(|e| !matches!(e, SandboxEvent::Sent(_))));

    // Ольга's message reaches her topic only.
    say(&bot, &olga, "секретное для Ольги").await;
    let erlan_thread = bot.sandbox.topics(STAFF).into_iter().find(|t| t.name.contains("Ерлан")).unwrap().thread_id;
    assert!(!topic_texts(&bot, erlan_thread).iter().any(|t| t.contains("секретное")));
    assert!(!bot.sandbox.messages(erlan.id).iter().any(|m| m.text.contains("секретное")));

    // A blocked customer is marked in the topic.
    bot.sandbox.set_blocked(erlan.id, true);
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_admin(STAFF, &anna);
    staff_says(&bot, &anna, erlan_thread, "Вы здесь?").await;
    assert!(topic_texts(&bot, erlan_thread).iter().any(|t| t.contains("заблокировал бота")));
    bot.stop().await;
}

#[tokio::test]
async fn staff_get_stats_find_customers_and_alerts() {
    let bot = bot_with_staff().await;
    let erlan = erlan();
    identify(&bot, &erlan, "+77011234567").await;
    say(&bot, &erlan, "баланс").await;
    // Three foreign order numbers within an hour: an alert in the general topic.
    for number in ["78300", "11111", "22222"] {
        say(&bot, &erlan, &format!("что с заказом {number}")).await;
    }
    let general: Vec<String> =
        bot.sandbox.messages(STAFF).into_iter().filter(|m| m.thread_id.is_none()).map(|m| m.text).collect();
    let alerts: Vec<&String> = general.iter().filter(|t| t.contains("чужих или несуществующих")).collect();
    assert_eq!(alerts.len(), 1, "{general:?}");
    assert!(alerts[0].contains("Ерлан") && !alerts[0].contains("1234567"), "{alerts:?}");
    say(&bot, &erlan, "что с заказом 33333").await;
    let again = bot.sandbox.messages(STAFF).into_iter().filter(|m| m.text.contains("чужих или несуществующих")).count();
    assert_eq!(again, 1, "one alert an hour");

    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_admin(STAFF, &anna);
    let staff = driver(&bot).with_staff_group(STAFF);
    let mut posted: Vec<String> = Vec::new();
    for command in ["/stats", "/find ерлан"] {
        let sent = staff.send_text(&anna, Place::Group(STAFF), command);
        let replies = staff.collect(&sent).await.unwrap_or_else(|e| panic!("{command}: {e}"));
        posted.extend(replies.staff_texts().into_iter().map(str::to_owned));
    }
    let stats = posted.iter().find(|t| t.contains("Статистика")).expect("stats");
    assert!(
        stats.contains("Запросов: 5") && stats.contains("Баланс: 1") && stats.contains("Где мой заказ: 4"),
        "{stats}"
    );
    let found = posted.iter().find(|t| t.contains("Найдено")).expect("find");
    assert!(found.contains("Ерлан Ахметов") && found.contains("***") && !found.contains("1234567"), "{found}");
    bot.stop().await;
}

#[tokio::test]
async fn a_staff_group_without_topics_leaves_the_customer_with_the_support_hours() {
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(STAFF);
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    bot.sandbox.add_group(STAFF, "Plain group");
    let customer = erlan();
    identify(&bot, &customer, "+77011234567").await;
    let replies = say(&bot, &customer, "позовите оператора").await;
    assert!(replies.contains("Служба поддержки отвечает"), "{}", replies.dump());
    assert!(!replies.contains("Передал"), "{}", replies.dump());
    // The next message is the bot's again, not stuck in a case nobody sees.
    let replies = say(&bot, &customer, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;
}

#[tokio::test]
async fn a_429_from_the_staff_group_delays_the_posts_in_order_and_loses_none() {
    let bot = bot_with_staff().await;
    let customer = erlan();
    identify(&bot, &customer, "+77011234567").await;
    say(&bot, &customer, "позовите оператора").await;
    let thread = bot.sandbox.topics(STAFF)[0].thread_id;

    // Telegram asks the bot to wait 30 s: the message waits (durably), and so does the next.
    bot.sandbox.fail_next("copyMessage", 429, "Too Many Requests: retry after 30", Some(30));
    let replies = say(&bot, &customer, "первое").await;
    assert!(replies.texts().is_empty(), "{}", replies.dump());
    say(&bot, &customer, "второе").await;
    assert!(!topic_texts(&bot, thread).iter().any(|t| t == "первое" || t == "второе"));
    let waiting = bot.store.jobs_with_prefix("staffpost:").await.unwrap();
    assert_eq!(waiting.iter().filter(|j| j.status == "pending").count(), 2, "{waiting:?}");

    // Not before the pause is over…
    bot.set_now(at("2025-01-11T10:00:20+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert!(!topic_texts(&bot, thread).iter().any(|t| t == "первое"));
    // …then both, in the order they were written.
    bot.set_now(at("2025-01-11T10:00:31+05:00"));
    bot.run_due_jobs().await.unwrap();
    let texts = topic_texts(&bot, thread);
    let first = texts.iter().position(|t| t == "первое").expect("the first message arrived");
    let second = texts.iter().position(|t| t == "второе").expect("the second message arrived");
    assert!(first < second, "{texts:?}");
    bot.stop().await;
}

#[tokio::test]
async fn a_configured_staff_list_decides_who_is_staff_instead_of_the_admins() {
    let mut config = Config::default();
    config.telegram.staff_chat_id = Some(STAFF);
    config.support.staff_user_ids = vec![9001];
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    bot.sandbox.add_forum_group(STAFF, "Support");
    let customer = erlan();
    identify(&bot, &customer, "+77011234567").await;
    say(&bot, &customer, "позовите оператора").await;
    let thread = bot.sandbox.topics(STAFF)[0].thread_id;

    // An administrator who is not on the list is not staff…
    let admin = SandboxUser::new(9003, "Админ", Some("ru"));
    bot.sandbox.add_admin(STAFF, &admin);
    staff_says(&bot, &admin, thread, "Я администратор").await;
    assert!(topic_texts(&bot, thread).iter().any(|t| t.contains("могут только сотрудники")));
    assert!(!bot.sandbox.messages(customer.id).iter().any(|m| m.text.contains("Я администратор")));
    // …and a plain member on the list is.
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_member(STAFF, &anna);
    staff_says(&bot, &anna, thread, "Здравствуйте!").await;
    assert!(bot.sandbox.messages(customer.id).iter().any(|m| m.text == "Анна: Здравствуйте!"));
    bot.stop().await;
}

#[tokio::test]
async fn staff_replies_never_reach_an_account_whose_phone_another_account_proved() {
    let bot = bot_with_staff().await;
    let old = erlan();
    identify(&bot, &old, "+77011234567").await;
    say(&bot, &old, "позовите оператора").await;
    let thread = bot.sandbox.topics(STAFF)[0].thread_id;
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    bot.sandbox.add_admin(STAFF, &anna);
    staff_says(&bot, &anna, thread, "Минуту, проверяю").await;
    assert!(bot.sandbox.messages(old.id).iter().any(|m| m.text.contains("Минуту, проверяю")));

    // Someone else proves the phone: the old chat is told once, and hears nothing more.
    let new = SandboxUser::new(5009, "Ерлан", Some("ru"));
    identify(&bot, &new, "+77011234567").await;
    let told: Vec<String> = bot
        .sandbox
        .messages(old.id)
        .into_iter()
        .map(|m| m.text)
        .filter(|t| t.contains("подтвердили в другом аккаунте"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(topic_texts(&bot, thread).iter().any(|t| t.contains("прежний чат отвязан")));
    let before = bot.sandbox.messages(old.id).len();
    staff_says(&bot, &anna, thread, "Ваш заказ 78234 приедет завтра").await;
    staff_says(&bot, &anna, thread, "/close").await;
    assert_eq!(bot.sandbox.messages(old.id).len(), before, "nothing reaches the old chat");
    assert!(
        !bot.sandbox.messages(new.id).iter().any(|m| m.text.contains("78234 приедет")),
        "nor the new one, which did not ask"
    );
    let audit: Vec<String> = bot.store.audit_entries(old.id).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(audit.contains(&"unbind.replaced".to_owned()), "{audit:?}");
    bot.stop().await;
}

/// A salon: no shop, no deliveries, no appointments in the chat… here, booking, shop and
/// logistics are absent.
fn without_booking_shop_and_logistics() -> Config {
    let mut config = Config::default();
    for absent in [&mut config.backends.booking, &mut config.backends.shop, &mut config.backends.logistics] {
        *absent = "none".to_owned();
    }
    config
}

async fn bot_without_booking_shop_and_logistics(booking_calls: Arc<AtomicUsize>) -> SandboxedBot {
    SandboxedBot::start_with_adapters(without_booking_shop_and_logistics(), fixed(), move |store, clock, config| {
        let mut adapters = cabinet::app::builtin(config, store, clock);
        let inner = adapters.booking.clone();
        adapters.booking = Arc::new(CountingBooking { inner, upcoming: Arc::default(), calls: booking_calls });
        adapters
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn absent_capabilities_leave_the_menu_help_and_commands_and_are_answered_politely_in_russian() {
    let booking_calls = Arc::new(AtomicUsize::new(0));
    let bot = bot_without_booking_shop_and_logistics(booking_calls.clone()).await;
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    let menu = say(&bot, &user, "/menu").await;
    let labels: Vec<&str> = menu.chat.iter().flat_map(|r| r.button_labels()).collect();
    assert_eq!(labels, ["💰 Баланс", "📄 Документы", "📶 Мой тариф", "❓ Помощь"], "{}", menu.dump());

    let help = say(&bot, &user, "/help").await;
    assert!(help.contains("Вот что мы умеем:\n• показать баланс"), "{}", help.dump());
    assert!(
        help.contains("«мои бонусы», «приведи друга».\nКоманды: /balance, /notifications, /language,"),
        "{}",
        help.dump()
    );
    for gone in ["где ваш заказ", "историю заказов", "записать на услугу", "/status", "/orders"]
    {
        assert!(!help.contains(gone), "{gone}: {}", help.dump());
    }

    for asked in
        ["где мой заказ", "хочу записаться на стрижку", "мои записи", "повтори последний заказ", "/status", "/orders"]
    {
        let answer = say(&bot, &user, asked).await;
        assert!(answer.contains("Этого в чате нет — вот что мы можем:"), "{asked}: {}", answer.dump());
        let labels: Vec<&str> = answer.chat.iter().flat_map(|r| r.button_labels()).collect();
        assert!(labels.contains(&"💰 Баланс") && !labels.contains(&"📦 Где мой заказ"), "{asked}: {labels:?}");
    }
    // What is present still works.
    assert!(say(&bot, &user, "баланс").await.contains("Ваш баланс"));

    // The command menu leaves out the orders' commands.
    let registered = |s: &cabinet::sandbox::Sandbox| ["ru", "en"].iter().all(|l| !s.my_commands(Some(l)).is_empty());
    assert!(bot.sandbox.wait_until(WAIT, registered).await);
    for language in ["ru", "en"] {
        let commands: Vec<String> = bot.sandbox.my_commands(Some(language)).into_iter().map(|(c, _)| c).collect();
        assert!(commands.contains(&"balance".to_owned()), "{commands:?}");
        assert!(!commands.contains(&"status".to_owned()) && !commands.contains(&"orders".to_owned()), "{commands:?}");
    }
    // Nor was the booking system asked, not even by the reconciliation of reminders.
    bot.run_due_jobs().await.unwrap();
    assert_eq!(booking_calls.load(Ordering::SeqCst), 0);
    bot.stop().await;
}

#[tokio::test]
async fn absent_capabilities_are_answered_politely_in_english() {
    let booking_calls = Arc::new(AtomicUsize::new(0));
    let bot = bot_without_booking_shop_and_logistics(booking_calls.clone()).await;
    let user = super::support::john();
    identify_as(&bot, &user, "+447700900123", "I agree", "Hello").await;

    let help = say(&bot, &user, "/help").await;
    assert!(help.contains("Here's what we can do:\n• show your balance"), "{}", help.dump());
    assert!(!help.contains("book a service") && !help.contains("where your order is"), "{}", help.dump());

    for asked in ["where is my order", "I want to book a haircut", "/orders"] {
        let answer = say(&bot, &user, asked).await;
        assert!(
            answer.contains("That isn't available in this chat. Here's what we can do:"),
            "{asked}: {}",
            answer.dump()
        );
        let labels: Vec<&str> = answer.chat.iter().flat_map(|r| r.button_labels()).collect();
        assert_eq!(labels, ["💰 Balance", "📄 Documents", "📶 My plan", "❓ Help"], "{asked}");
    }
    assert_eq!(booking_calls.load(Ordering::SeqCst), 0);
    bot.stop().await;
}

#[tokio::test]
async fn with_every_capability_present_help_reads_as_it_always_did() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;
    let help = say(&bot, &user, "/help").await;
    assert!(help.contains("— «повтори последний заказ»;\n• прислать документ"), "{}", help.dump());
    assert!(help.contains(
        "«мои записи».\nКоманды: /balance, /status, /orders, /notifications, /language, /privacy, /logout, /forget."
    ));
    bot.stop().await;
}

#[tokio::test]
async fn an_old_button_of_a_capability_since_switched_off_is_answered_politely() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    let opts = SandboxOptions { database_url: Some(url), ..fixed() };
    let user = erlan();

    // One button key across both runs.
    let signed = "[bot]\ncallback_secret = \"a button key kept across restarts\"\n";
    let config = Config::from_toml(signed, "test.toml").unwrap();

    let bot = SandboxedBot::start_with_config(config.clone(), opts.clone()).await.unwrap();
    identify(&bot, &user, "+77011234567").await;
    say(&bot, &user, "/menu").await;
    let old = button_data(&bot, &user, "Где мой заказ");
    bot.stop().await;

    // The business turns its deliveries off; the button pressed afterwards asks nothing.
    let mut config = config;
    config.backends.logistics = "none".to_owned();
    let bot = SandboxedBot::start_with_config(config, opts).await.unwrap();
    say(&bot, &user, "/menu").await;
    let message_id = match bot.sandbox.find_button(user.id, &|l: &str| l.contains("Баланс")) {
        Some(ButtonRef::Inline { message_id, .. }) => message_id,
        other => panic!("no menu: {other:?}"),
    };
    let driver = driver(&bot);
    let sent = driver.send_with(Some(user.id), |s| s.press_inline(&user, message_id, &old));
    let answer = driver.collect(&sent).await.unwrap();
    assert!(answer.contains("Этого в чате нет"), "{}", answer.dump());
    bot.stop().await;
}

#[tokio::test]
async fn without_a_shop_or_documents_an_order_and_an_offer_carry_no_buttons_for_them() {
    let mut config = Config::default();
    config.backends.shop = "none".to_owned();
    config.backends.documents = "none".to_owned();
    let bot = SandboxedBot::start_with_config(config, fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    say(&bot, &user, "мои заказы").await;
    let details = press(&bot, &user, "78234").await;
    assert!(details.contains("Заказ №78234"), "{}", details.dump());
    let labels: Vec<&str> = details.chat.iter().flat_map(|r| r.button_labels()).collect();
    assert!(
        !labels.is_empty() && !labels.iter().any(|l| l.contains("Повторить") || l.contains("Документы")),
        "{labels:?}"
    );

    // Erlan's personal offer is an item.
    let offer = say(&bot, &user, "есть скидки?").await;
    assert!(offer.contains("Lavazza"), "{}", offer.dump());
    let labels: Vec<&str> = offer.chat.iter().flat_map(|r| r.button_labels()).collect();
    assert!(!offer.is_empty() && !labels.iter().any(|l| l.contains("Заказать")), "{}\n{labels:?}", offer.dump());
    bot.stop().await;
}

#[tokio::test]
async fn a_reminder_planned_before_appointments_were_switched_off_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    let opts = SandboxOptions { database_url: Some(url), ..fixed() };
    let john = SandboxUser::new(7001, "John", Some("en"));

    let first = SandboxedBot::start(opts.clone()).await.unwrap();
    identify_as(&first, &john, "+447700900123", "I agree", "Hello").await;
    first.set_now(at("2025-01-12T14:30:00+05:00"));
    first.run_due_jobs().await.unwrap();
    assert_eq!(first.store.jobs_with_prefix("reminder:B-3001:").await.unwrap().len(), 1);
    first.stop().await;

    let booking_calls = Arc::new(AtomicUsize::new(0));
    let counted = booking_calls.clone();
    let mut config = Config::default();
    config.backends.booking = "none".to_owned();
    let second = SandboxedBot::start_with_adapters(config, opts, move |store, clock, config| {
        let mut adapters = cabinet::app::builtin(config, store, clock);
        let inner = adapters.booking.clone();
        adapters.booking = Arc::new(CountingBooking { inner, upcoming: Arc::default(), calls: counted });
        adapters
    })
    .await
    .unwrap();
    say(&second, &john, "hi").await;
    second.set_now(at("2025-01-12T15:00:00+05:00"));
    second.run_due_jobs().await.unwrap();
    assert!(reminders_in(&second, john.id).is_empty());
    assert_eq!(booking_calls.load(Ordering::SeqCst), 0);
    second.stop().await;
}
