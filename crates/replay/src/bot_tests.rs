//! Runner tests against the real sandbox driven by a tiny teloxide bot (not the cabinet
//! bot), so that the matching of actions, replies and failures is checked end to end.
//!
//! The tiny bot: `/start` → a welcome with an inline [I agree] button; pressing it edits the
//! welcome, answers with a toast and puts up a reply keyboard [Share my phone number
//! (contact)] [Menu]; a contact → "Hello, NAME! Phone PHONE, owner OWNER"; `Menu` → inline
//! [Balance] [Documents]; `doc` → a PDF document; `time` → the fixed clock's time; `hang` →
//! never reports the update handled; an unknown callback → a "stale" toast; anything not
//! text → "only text"; other text → "You said: TEXT" (in groups too).
//!
//! Codes: `send code` sends a one-time code to the phone of the last own contact (through a
//! [`MemoryGateway`]); six digits then → "Code accepted" or "Wrong code".
//! Payments: `buy` → an invoice for KZT 2,000.00 (`buy refused`: one the bot declines at the
//! pre-checkout with "Top-ups are paused"); the pre-checkout says "Checking KZT 200000" and
//! accepts; a successful payment → "Paid AMOUNT CURRENCY for PAYLOAD (CHARGE)"; `buy hang`: an
//! invoice whose successful payment is never reported handled.
//! Jobs: `remind me` schedules a job an hour later (by the fixed clock) that sends "Reminder:
//! your haircut" to the chat, and answers "Reminder set for TIME"; the tiny bot's scheduler
//! runs jobs by sending their payload's `text` to their `chat`.
//! Staff: `operator` opens a case: a topic "NAME (ID)" in the staff forum [`STAFF`], the
//! message copied into it, "New case from NAME" with a [Take] button posted there, and "An
//! operator will answer here" to the customer. From then on the customer's messages are copied
//! into the topic (a document over 20 MB adds "File too big to download: NAME"; a deleted
//! topic is opened again, with "Case continues"), and what staff write in the topic is copied
//! to the customer (a blocked customer: "The customer blocked the bot"); `/close` closes the
//! topic, tells the customer "Your case is closed" and the topic "Case closed by NAME".
//! [Take] answers "Taken" and edits the case message to "… — taken by NAME". In the General
//! topic the bot answers "Please write in the customer's topic".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use teloxide::dispatching::DefaultKey;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::*;
use teloxide::stop::StopToken;
use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup,
    KeyboardRemove, LabeledPrice, MessageId, ThreadId, UpdateKind,
};
use teloxide::update_listeners::{Polling, UpdateListener as _};
use teloxide::{ApiError, RequestError};

use super::parse;
use super::run::{Failure, StaffSide, play};
use cabinet_core::adapters::otp::{MemoryGateway, OtpGateway};
use cabinet_core::bot::UpdateObserver;
use cabinet_core::clock::{Clock, FixedClock};
use cabinet_core::domain::{Locale, Phone};
use cabinet_core::jobs::{Job, JobError, JobHandler, NewJob, Scheduler};
use cabinet_core::store::Store;
use cabinet_sandbox::Sandbox;

/// The tiny bot's memory: the phone each chat shared and the code sent to it.
#[derive(Default)]
struct Memory {
    phones: HashMap<ChatId, Phone>,
    codes: HashMap<ChatId, String>,
    sent: u32,
}

/// The tiny bot's staff group.
const STAFF: i64 = super::STAFF_CHAT_ID;

#[derive(Clone)]
struct Env {
    clock: Arc<FixedClock>,
    otp: Arc<MemoryGateway>,
    memory: Arc<Mutex<Memory>>,
    store: Store,
    /// Each customer's topic in the staff group.
    topics: Arc<Mutex<HashMap<i64, i32>>>,
}

struct TinyBot {
    sandbox: Sandbox,
    clock: Arc<FixedClock>,
    otp: Arc<MemoryGateway>,
    store: Store,
    scheduler: Arc<Scheduler>,
    topics: Arc<Mutex<HashMap<i64, i32>>>,
    dispatching: Dispatching,
}

/// Runs the tiny bot's jobs: sends the payload's `text` to its `chat`.
struct SendJobs {
    bot: Bot,
}

#[async_trait]
impl JobHandler for SendJobs {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let (Some(chat), Some(text)) = (job.payload["chat"].as_i64(), job.payload["text"].as_str()) else {
            return Err(JobError::Fail("a payload without chat or text".into()));
        };
        self.bot.send_message(ChatId(chat), text).await.map_err(|e| JobError::Fail(e.to_string()))?;
        Ok(())
    }
}

/// A job the tiny bot's scheduler runs: `text` to `chat` at `at`.
fn send_job(key: &str, chat: i64, text: &str, at: chrono::DateTime<chrono::Utc>) -> NewJob {
    NewJob {
        key: key.to_owned(),
        kind: "send".to_owned(),
        payload: serde_json::json!({ "chat": chat, "text": text }),
        run_at: at,
    }
}

impl TinyBot {
    async fn start() -> TinyBot {
        let sandbox = Sandbox::start().await.unwrap();
        let clock = FixedClock::new(DateTime::parse_from_rfc3339("2025-01-11T10:00:00+05:00").unwrap().to_utc());
        let otp = Arc::new(MemoryGateway::default());
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        cabinet_core::adapters::builtin::migrate(&store).await.unwrap();
        sandbox.add_forum_group(STAFF, "Support");
        let topics: Arc<Mutex<HashMap<i64, i32>>> = Arc::default();
        let env = Env {
            clock: clock.clone(),
            otp: otp.clone(),
            memory: Arc::default(),
            store: store.clone(),
            topics: topics.clone(),
        };
        let bot = Bot::new(sandbox.token()).set_api_url(sandbox.api_url());
        let handler = Arc::new(SendJobs { bot: bot.clone() });
        let scheduler = Arc::new(Scheduler::new(store.clone(), clock.clone(), handler));
        let observer: Arc<dyn UpdateObserver> = crate::harness::observer(&sandbox);
        let handler =
            dptree::endpoint(|bot: Bot, update: Update, observer: Arc<dyn UpdateObserver>, env: Env| async move {
                let hang = respond(&bot, &update, &env).await;
                if !hang {
                    observer.handled(update.id.0 as i32);
                }
                Ok::<(), teloxide::RequestError>(())
            });
        let dispatcher = Dispatcher::builder(bot.clone(), handler).dependencies(dptree::deps![observer, env]).build();
        let dispatching = Dispatching::start(dispatcher, bot);
        TinyBot { sandbox, clock, otp, store, scheduler, topics, dispatching }
    }

    /// Plays a transcript; one with staff steps gets the staff group, whose topics the tiny
    /// bot's own map tells.
    async fn run(&self, text: &str, timeout_secs: u64) -> Result<(), Failure> {
        let transcript = parse(text).unwrap();
        let timeout = Duration::from_secs(timeout_secs);
        let topics = self.topics.clone();
        let topic_of = move |customer: i64| -> futures::future::BoxFuture<'static, Option<i32>> {
            let topic = topics.lock().unwrap().get(&customer).copied();
            Box::pin(async move { topic })
        };
        let side = StaffSide { chat_id: STAFF, topic_of: &topic_of };
        let staff = transcript.uses_staff().then_some(&side);
        play(
            &transcript,
            &self.sandbox,
            Some(&self.clock),
            Some(&self.otp),
            Some(&self.scheduler),
            staff,
            None,
            timeout,
        )
        .await
    }

    /// Stops the dispatcher and waits for it to end.
    async fn stop(self) {
        self.dispatching.stop().await;
    }
}

/// A dispatcher polling the sandbox in a task of its own.
///
/// It is stopped with its listener's stop token: teloxide's shutdown token is refused
/// before the dispatcher has started and can go unnoticed while it is between updates,
/// while the listener checks its token whenever it is polled.
struct Dispatching {
    stop_polling: StopToken,
    task: tokio::task::JoinHandle<()>,
}

impl Dispatching {
    fn start(mut dispatcher: Dispatcher<Bot, RequestError, DefaultKey>, bot: Bot) -> Dispatching {
        let mut listener = Polling::builder(bot).timeout(Duration::from_secs(10)).build();
        let stop_polling = listener.stop_token();
        let task = tokio::spawn(async move {
            dispatcher.dispatch_with_listener(listener, LoggingErrorHandler::new()).await;
        });
        Dispatching { stop_polling, task }
    }

    /// Stops polling and waits until the updates in hand are finished (a failure after
    /// ten seconds: a handler that never returns).
    async fn stop(self) {
        let Dispatching { stop_polling, mut task } = self;
        stop_polling.stop();
        if tokio::time::timeout(Duration::from_secs(10), &mut task).await.is_err() {
            task.abort();
            panic!("the dispatcher did not stop within 10 s");
        }
    }
}

/// Answers one update; true when the update is to be left unreported ("hang").
async fn respond(bot: &Bot, update: &Update, env: &Env) -> bool {
    let result = match &update.kind {
        UpdateKind::Message(message) => {
            let paid_hang = message.successful_payment().is_some_and(|p| p.invoice_payload.starts_with("hang"));
            if message.text() == Some("hang") || paid_hang {
                return true;
            }
            on_message(bot, message, env).await
        }
        UpdateKind::CallbackQuery(query) => on_callback(bot, query).await,
        UpdateKind::PreCheckoutQuery(query) => on_pre_checkout(bot, query).await,
        _ => Ok(()),
    };
    if let Err(e) = result {
        panic!("the tiny bot failed to reply: {e}");
    }
    false
}

async fn on_message(bot: &Bot, message: &Message, env: &Env) -> Result<(), teloxide::RequestError> {
    let chat = message.chat.id;
    if chat.0 == STAFF {
        return on_staff_message(bot, message, env).await;
    }
    if chat.is_user() {
        let has_case = env.topics.lock().unwrap().contains_key(&chat.0);
        if message.text() == Some("operator") {
            return open_case(bot, message, env).await;
        }
        if has_case {
            return relay_to_staff(bot, message, env).await;
        }
    }
    if let Some(payment) = message.successful_payment() {
        let text = format!(
            "Paid {} {} for {} ({})",
            payment.total_amount, payment.currency, payment.invoice_payload, payment.telegram_payment_charge_id
        );
        bot.send_message(chat, text).await?;
        return Ok(());
    }
    if let Some(contact) = message.contact() {
        if contact.user_id == message.from.as_ref().map(|u| u.id)
            && let Ok(phone) = Phone::parse(&contact.phone_number)
        {
            env.memory.lock().unwrap().phones.insert(chat, phone);
        }
        let owner = contact.user_id.map_or("none".to_owned(), |id| id.0.to_string());
        let first = message.from.as_ref().map_or("?", |u| u.first_name.as_str());
        bot.send_message(chat, format!("Hello, {first}! Phone {}, owner {owner}", contact.phone_number))
            .reply_markup(KeyboardRemove::new())
            .await?;
        return Ok(());
    }
    let Some(text) = message.text() else {
        bot.send_message(chat, "only text, please").await?;
        return Ok(());
    };
    match text {
        "/start" => {
            bot.send_message(chat, "Welcome! Press to agree.")
                .reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("I agree", "agree")]]))
                .await?;
        }
        "Menu" => {
            bot.send_message(chat, "Main menu")
                .reply_markup(InlineKeyboardMarkup::new([[
                    InlineKeyboardButton::callback("Balance", "balance"),
                    InlineKeyboardButton::callback("Documents", "documents"),
                ]]))
                .await?;
        }
        "doc" => {
            let pdf = InputFile::memory(b"%PDF-1.4 tiny".to_vec()).file_name("act-2024-12.pdf");
            bot.send_document(chat, pdf).caption("Act for December").await?;
        }
        "time" => {
            bot.send_message(chat, format!("Now: {}", env.clock.now().to_rfc3339())).await?;
        }
        "remind me" => {
            let at = env.clock.now() + chrono::Duration::hours(1);
            let job = send_job(&format!("remind:{}", chat.0), chat.0, "Reminder: your haircut", at);
            env.store.schedule_job(&job).await.expect("the job is scheduled");
            bot.send_message(chat, format!("Reminder set for {}", at.to_rfc3339())).await?;
        }
        "send code" => {
            let to = {
                let mut memory = env.memory.lock().unwrap();
                memory.sent += 1;
                let code = format!("{:06}", (482_913 + memory.sent * 104_729) % 1_000_000);
                let phone = memory.phones.get(&chat).cloned();
                if phone.is_some() {
                    memory.codes.insert(chat, code.clone());
                }
                phone.map(|p| (p, code))
            };
            match to {
                Some((phone, code)) => {
                    env.otp.send(&phone, &code, Locale::En).await.expect("the memory gateway keeps codes");
                    bot.send_message(chat, "Code sent").await?;
                }
                None => {
                    bot.send_message(chat, "Share your phone first").await?;
                }
            }
        }
        code if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) => {
            let expected = env.memory.lock().unwrap().codes.get(&chat).cloned();
            let answer = if expected.as_deref() == Some(code) { "Code accepted" } else { "Wrong code" };
            bot.send_message(chat, answer).await?;
        }
        "buy" | "buy refused" | "buy hang" => {
            let payload = match text {
                "buy" => "topup:2000",
                "buy refused" => "refuse:2000",
                _ => "hang:2000",
            };
            bot.send_invoice(chat, "Top-up", "Balance top-up", payload, "KZT", [LabeledPrice::new("Top-up", 200_000)])
                .provider_token("381764678:TEST:100")
                .await?;
        }
        other => {
            bot.send_message(chat, format!("You said: {other}")).await?;
        }
    }
    Ok(())
}

fn first_name(message: &Message) -> String {
    message.from.as_ref().map_or_else(|| "?".to_owned(), |u| u.first_name.clone())
}

fn thread(id: i32) -> ThreadId {
    ThreadId(MessageId(id))
}

/// The customer's topic, opened ("NAME (ID)") if they have none.
async fn topic_for(bot: &Bot, message: &Message, env: &Env) -> Result<i32, teloxide::RequestError> {
    let customer = message.chat.id.0;
    if let Some(topic) = env.topics.lock().unwrap().get(&customer).copied() {
        return Ok(topic);
    }
    let created = bot.create_forum_topic(ChatId(STAFF), format!("{} ({customer})", first_name(message))).await?;
    let topic = created.thread_id.0.0;
    env.topics.lock().unwrap().insert(customer, topic);
    Ok(topic)
}

async fn open_case(bot: &Bot, message: &Message, env: &Env) -> Result<(), teloxide::RequestError> {
    let topic = topic_for(bot, message, env).await?;
    bot.copy_message(ChatId(STAFF), message.chat.id, message.id).message_thread_id(thread(topic)).await?;
    let take = InlineKeyboardButton::callback("Take", format!("take:{}", message.chat.id.0));
    bot.send_message(ChatId(STAFF), format!("New case from {}", first_name(message)))
        .message_thread_id(thread(topic))
        .reply_markup(InlineKeyboardMarkup::new([[take]]))
        .await?;
    bot.send_message(message.chat.id, "An operator will answer here").await?;
    Ok(())
}

/// Copies a customer's message into their topic, opening a new one when staff deleted it.
async fn relay_to_staff(bot: &Bot, message: &Message, env: &Env) -> Result<(), teloxide::RequestError> {
    let topic = topic_for(bot, message, env).await?;
    let copied = bot.copy_message(ChatId(STAFF), message.chat.id, message.id).message_thread_id(thread(topic)).await;
    let topic = match copied {
        Err(RequestError::Api(ApiError::Unknown(d))) if d.contains("message thread not found") => {
            env.topics.lock().unwrap().remove(&message.chat.id.0);
            let topic = topic_for(bot, message, env).await?;
            bot.send_message(ChatId(STAFF), "Case continues").message_thread_id(thread(topic)).await?;
            bot.copy_message(ChatId(STAFF), message.chat.id, message.id).message_thread_id(thread(topic)).await?;
            topic
        }
        Err(e) => return Err(e),
        Ok(_) => topic,
    };
    if let Some(doc) = message.document() {
        match bot.get_file(doc.file.id.clone()).await {
            Err(RequestError::Api(ApiError::Unknown(d))) if d.contains("file is too big") => {
                let name = doc.file_name.clone().unwrap_or_default();
                bot.send_message(ChatId(STAFF), format!("File too big to download: {name}"))
                    .message_thread_id(thread(topic))
                    .await?;
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Ok(())
}

async fn on_staff_message(bot: &Bot, message: &Message, env: &Env) -> Result<(), teloxide::RequestError> {
    let Some(topic) = message.thread_id.map(|t| t.0.0) else {
        bot.send_message(message.chat.id, "Please write in the customer's topic").await?;
        return Ok(());
    };
    let customer = env.topics.lock().unwrap().iter().find(|(_, t)| **t == topic).map(|(c, _)| *c);
    let Some(customer) = customer else { return Ok(()) };
    if message.text() == Some("/close") {
        bot.close_forum_topic(message.chat.id, thread(topic)).await?;
        bot.send_message(ChatId(customer), "Your case is closed").await?;
        bot.send_message(message.chat.id, format!("Case closed by {}", first_name(message)))
            .message_thread_id(thread(topic))
            .await?;
        return Ok(());
    }
    match bot.copy_message(ChatId(customer), message.chat.id, message.id).await {
        Err(RequestError::Api(ApiError::BotBlocked)) => {
            bot.send_message(message.chat.id, "The customer blocked the bot").message_thread_id(thread(topic)).await?;
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    Ok(())
}

async fn on_pre_checkout(bot: &Bot, query: &PreCheckoutQuery) -> Result<(), teloxide::RequestError> {
    if query.invoice_payload.starts_with("refuse") {
        bot.answer_pre_checkout_query(query.id.clone(), false).error_message("Top-ups are paused").await?;
        return Ok(());
    }
    let chat = ChatId(i64::try_from(query.from.id.0).unwrap_or_default());
    bot.send_message(chat, format!("Checking {} {}", query.currency, query.total_amount)).await?;
    bot.answer_pre_checkout_query(query.id.clone(), true).await?;
    Ok(())
}

async fn on_callback(bot: &Bot, query: &CallbackQuery) -> Result<(), teloxide::RequestError> {
    let message = query.regular_message();
    match (query.data.as_deref(), message) {
        (Some("agree"), Some(message)) => {
            bot.answer_callback_query(query.id.clone()).text("Thanks!").await?;
            bot.edit_message_text(message.chat.id, message.id, "Agreed.").await?;
            let keyboard = KeyboardMarkup::new([[
                KeyboardButton::new("Share my phone number").request(ButtonRequest::Contact),
                KeyboardButton::new("Menu"),
            ]]);
            bot.send_message(message.chat.id, "Share your phone").reply_markup(keyboard).await?;
        }
        (Some("balance"), Some(message)) => {
            bot.answer_callback_query(query.id.clone()).await?;
            bot.send_message(message.chat.id, "Balance: 3\u{a0}450 ₸").await?;
        }
        (Some(data), Some(message)) if data.starts_with("take:") && message.chat.id.0 == STAFF => {
            bot.answer_callback_query(query.id.clone()).text("Taken").await?;
            let text = format!("{} — taken by {}", message.text().unwrap_or_default(), query.from.first_name);
            bot.edit_message_text(message.chat.id, message.id, text).await?;
        }
        _ => {
            bot.answer_callback_query(query.id.clone()).text("This button is stale").await?;
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_using_every_step_kind_passes() {
    let bot = TinyBot::start().await;
    let result = bot
        .run(
            "# Every step kind\n\
             @user 5001 lang=en name=Erlan phone=+77011234567\n\
             > /start\n\
             < welcome\n\
             <buttons agree\n\
             <! Agreed\n\
             [Agree]\n\
             < thanks!\n\
             <~ ^Agreed\\.$\n\
             <buttons share my phone\n\
             <buttons Menu\n\
             [~ ^Share]\n\
             < Hello, Erlan! Phone +77011234567, owner 5001\n\
             > @contact +77025556677 from 9999\n\
             < owner 9999\n\
             > @contact +77025556677 nouser\n\
             < owner none\n\
             > @contact +77011234567\n\
             < owner 5001\n\
             > Menu\n\
             [balance]\n\
             <~ 3[ \\u00a0\\u202f]?450\n\
             <!~ (?i)you said\n\
             > doc\n\
             <doc ^act-2024-12\\.pdf$\n\
             <doc (?i)december\n\
             > @sticker\n\
             < only text\n\
             > @photo\n\
             < only text\n\
             > @voice\n\
             < only text\n\
             > @callback forged:1\n\
             < stale\n\
             @now 2025-01-12T09:00:00+05:00\n\
             > time\n\
             < 2025-01-12T04:00:00\n\
             @user 6002 lang=ru\n\
             > hi there\n\
             < You said: hi there\n\
             > @group -100500 hello group\n\
             < You said: hello group\n",
            10,
        )
        .await;
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_expectation_reports_its_line_and_the_replies() {
    let bot = TinyBot::start().await;
    let failure =
        bot.run("# Fails\n@user 5001\n> /start\n< welcome\n< goodbye\n< never reached\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 5);
    assert_eq!(failure.step, "< goodbye");
    let report = failure.render();
    assert!(report.contains("expected: some reply contains «goodbye»"), "{report}");
    assert!(report.contains("bot replies to line 3 (> /start)"), "{report}");
    assert!(report.contains("1. Welcome! Press to agree."), "{report}");
    assert!(report.contains("[I agree]"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_another_user_or_an_earlier_step_are_not_counted() {
    let bot = TinyBot::start().await;
    let failure =
        bot.run("# Chats\n@user 5001\n> /start\n@user 6002\n> hello\n<buttons agree\n", 10).await.unwrap_err();
    let failure2 = bot.run("# Steps\n@user 7003\n> /start\n> again\n< welcome\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 6, "{}", failure.render());
    assert_eq!(failure2.line, 5, "{}", failure2.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_a_missing_button_lists_the_buttons_shown() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Press\n@user 5001\n> /start\n[Disagree]\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 4);
    let report = failure.render();
    assert!(report.contains("no button in the chat whose label contains «Disagree»"), "{report}");
    assert!(report.contains("buttons in the chat now:"), "{report}");
    assert!(report.contains("[I agree]"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_button_needs_a_phone_on_the_user_line() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Phone\n@user 5001\n> /start\n[agree]\n[Share]\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 5);
    assert!(failure.problem.contains("phone="), "{}", failure.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_reply_button_sends_its_label() {
    let bot = TinyBot::start().await;
    let result = bot.run("# Menu\n@user 5001\n> /start\n[agree]\n[menu]\n< Main menu\n<buttons documents\n", 10).await;
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_the_bot_never_finishes_fails_the_step() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Hang\n@user 5001\n> hang\n< anything\n", 1).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 3);
    assert!(failure.problem.contains("the bot did not finish handling"), "{}", failure.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_with_no_bot_message_fails_clearly() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Callback\n@user 5001\n> @callback x\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 3);
    assert!(failure.problem.contains("no bot message"), "{}", failure.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_step_needs_an_events_api() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Event\n@user 5001\n> hi\n@event {\"type\":\"news\"}\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 4);
    assert_eq!(failure.problem, "@event: this bot has no events API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_without_a_fixed_clock_fails() {
    let bot = TinyBot::start().await;
    let transcript = parse("# Clock\n@now 2025-01-12T09:00:00+05:00\n").unwrap();
    let failure =
        play(&transcript, &bot.sandbox, None, None, None, None, None, Duration::from_secs(1)).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 2);
    assert!(failure.problem.contains("fixed clock"), "{}", failure.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pay_button_pays_and_the_step_sees_the_pre_checkout_and_the_payment() {
    let bot = TinyBot::start().await;
    let result = bot
        .run(
            "# Pay\n\
             @user 5001 name=Erlan\n\
             > buy\n\
             < Top-up\n\
             < KZT 2,000.00\n\
             <buttons Pay KZT 2,000.00\n\
             [Pay]\n\
             < Checking KZT 200000\n\
             < Paid 200000 KZT for topup:2000 (sbx_charge_000001)\n\
             > buy refused\n\
             [~ ^Pay]\n\
             < Top-ups are paused\n\
             <! Checking\n\
             <! Paid\n\
             > buy\n\
             [Pay]\n\
             < (sbx_charge_000002)\n",
            10,
        )
        .await;
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_is_reported_as_such() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Declined\n@user 5001\n> buy refused\n[Pay]\n< Paid\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 5);
    let report = failure.render();
    assert!(report.contains("bot replies to line 4 ([Pay])"), "{report}");
    assert!(report.contains("1. (payment declined) Top-ups are paused"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_the_bot_never_finishes_fails_the_step() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Hang\n@user 5001\n> buy hang\n[Pay]\n", 1).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 4);
    assert!(failure.problem.contains("the successful payment that followed"), "{}", failure.render());
    let replies = failure.checked.map(|c| c.replies).unwrap_or_default();
    assert!(replies.iter().any(|r| r.text().contains("Checking")), "{replies:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_types_the_last_code_sent_to_the_shared_phone() {
    let bot = TinyBot::start().await;
    let result = bot
        .run(
            "# Codes\n\
             @user 5001\n\
             > @contact +7 701 123-45-67\n\
             > send code\n\
             < Code sent\n\
             > @otp wrong\n\
             < Wrong code\n\
             > send code\n\
             > @otp\n\
             < Code accepted\n\
             @user 6002 phone=+77025556677\n\
             > /start\n\
             [agree]\n\
             [Share my phone]\n\
             > send code\n\
             > @otp\n\
             < Code accepted\n",
            10,
        )
        .await;
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_fails_clearly_when_there_is_no_code_to_type() {
    let bot = TinyBot::start().await;
    let no_phone =
        bot.run("# No phone\n@user 5001\n> @contact +77025556677 from 9999\n> @otp\n", 10).await.unwrap_err();
    let no_code = bot.run("# No code\n@user 5002\n> @contact +77011112233\n> @otp wrong\n", 10).await.unwrap_err();
    let transcript = parse("# No gateway\n@user 5003\n> @contact +77011112244\n> send code\n> @otp\n").unwrap();
    let no_gateway = play(&transcript, &bot.sandbox, Some(&bot.clock), None, None, None, None, Duration::from_secs(10))
        .await
        .unwrap_err();
    bot.stop().await;
    assert_eq!(no_phone.line, 4);
    assert!(no_phone.problem.contains("has not shared their phone"), "{}", no_phone.render());
    assert_eq!(no_code.line, 4);
    assert!(no_code.problem.contains("no one-time code to +77011112233"), "{}", no_code.render());
    assert_eq!(no_gateway.line, 5);
    assert!(no_gateway.problem.contains("keeps no one-time codes"), "{}", no_gateway.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_that_does_not_ask_for_pre_checkout_queries_fails_the_payment_clearly() {
    // A bot whose tree handles messages only: teloxide asks Telegram for messages only.
    let sandbox = Sandbox::start().await.unwrap();
    let bot = Bot::new(sandbox.token()).set_api_url(sandbox.api_url());
    let observer: Arc<dyn UpdateObserver> = crate::harness::observer(&sandbox);
    let handler = Update::filter_message().endpoint(
        |bot: Bot, update: Update, m: Message, observer: Arc<dyn UpdateObserver>| async move {
            bot.send_invoice(
                m.chat.id,
                "Top-up",
                "Balance top-up",
                "topup:1",
                "KZT",
                [LabeledPrice::new("Top-up", 200_000)],
            )
            .provider_token("381764678:TEST:100")
            .await?;
            observer.handled(update.id.0 as i32);
            Ok::<(), teloxide::RequestError>(())
        },
    );
    let dispatcher = Dispatcher::builder(bot.clone(), handler).dependencies(dptree::deps![observer]).build();
    let dispatching = Dispatching::start(dispatcher, bot);

    let transcript = parse("# Pay\n@user 5001\n> buy\n[Pay]\n").unwrap();
    let failure = play(&transcript, &sandbox, None, None, None, None, None, Duration::from_secs(10)).await.unwrap_err();
    dispatching.stop().await;
    assert_eq!(failure.line, 4);
    assert!(failure.problem.contains("does not ask Telegram for pre_checkout_query updates"), "{}", failure.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_runs_the_due_jobs_and_checks_what_they_sent_the_current_user() {
    let bot = TinyBot::start().await;
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    // Someone else, who has talked to the bot (Telegram only delivers to such chats), has a
    // reminder due before the first `@now`.
    if let Err(failure) = bot.run("# Other\n@user 6002\n> hi\n", 10).await {
        panic!("{}", failure.render());
    }
    let reminder = send_job("other", 6002, "Reminder for someone else", at("2025-01-11T10:15:00+05:00"));
    bot.store.schedule_job(&reminder).await.unwrap();
    let result = bot
        .run(
            "# Reminders\n\
             @now 2025-01-11T10:30:00+05:00\n\
             <! Reminder\n\
             @user 5001\n\
             > remind me\n\
             < Reminder set for 2025-01-11T06:30:00\n\
             <! your haircut\n\
             @now 2025-01-11T11:29:59+05:00\n\
             <! Reminder\n\
             @now 2025-01-11T11:30:00+05:00\n\
             < Reminder: your haircut\n\
             <! someone else\n\
             @now 2025-01-11T12:00:00+05:00\n\
             <! Reminder\n\
             > time\n\
             < 2025-01-11T07:00:00\n",
            10,
        )
        .await;
    let other = bot.sandbox.messages(6002);
    let jobs = bot.store.jobs_with_prefix("").await.unwrap();
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
    // The other user's reminder was sent (at the first `@now`) but was nobody's reply.
    let texts: Vec<&str> = other.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["You said: hi", "Reminder for someone else"]);
    assert!(jobs.iter().all(|j| j.status == "done" && j.attempts == 1), "{jobs:?}");
    assert_eq!(jobs.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_check_after_now_reports_what_the_jobs_sent() {
    let bot = TinyBot::start().await;
    let failure = bot
        .run("# Now\n@user 5001\n> remind me\n@now 2025-01-11T11:00:00+05:00\n< See you tomorrow\n", 10)
        .await
        .unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 5);
    let report = failure.render();
    assert!(report.contains("bot replies to line 4 (@now 2025-01-11T11:00:00+05:00)"), "{report}");
    assert!(report.contains("1. Reminder: your haircut"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_fails_when_the_due_jobs_cannot_be_run() {
    let bot = TinyBot::start().await;
    bot.store.close().await;
    let failure = bot.run("# Closed\n@user 5001\n@now 2025-01-11T11:00:00+05:00\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 3);
    assert!(failure.problem.starts_with("@now: running the jobs due by then failed"), "{}", failure.render());
}

// --- the staff side -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_steps_relay_between_a_customer_and_their_topic() {
    let bot = TinyBot::start().await;
    let result = bot
        .run(
            "# Staff relay\n\
             @user 5001 lang=en name=Erlan\n\
             > operator\n\
             < An operator will answer here\n\
             <staff New case from Erlan\n\
             <staff~ ^operator$\n\
             <staff! taken\n\
             @staff 9001 name=Aigerim\n\
             > Hello Erlan, how can I help?\n\
             < Hello Erlan, how can I help?\n\
             <staff! Hello\n\
             [Take]\n\
             <staff New case from Erlan — taken by Aigerim\n\
             <staff~ ^Taken$\n\
             <! taken\n\
             > @document price.pdf 2MB\n\
             <doc ^price\\.pdf$\n\
             > @photo\n\
             <!~ .\n\
             @user 5001 lang=en name=Erlan\n\
             > my order is late\n\
             <! You said\n\
             <staff my order is late\n\
             > @document big.zip 30MB\n\
             <staff File too big to download: big.zip\n\
             > @document small.pdf 19MB\n\
             <staff!~ too big\n\
             @staff 9001\n\
             > /close\n\
             < Your case is closed\n\
             <staff Case closed by Staff 9001\n\
             @staff 9002 general name=Dana\n\
             > anyone here?\n\
             <staff Please write in the customer's topic\n\
             <! Please\n",
            10,
        )
        .await;
    let topic = bot.topics.lock().unwrap().get(&5001).copied().expect("a topic");
    let info = bot.sandbox.topic(STAFF, topic);
    let in_topic = bot.sandbox.thread_messages(STAFF, topic);
    let members = (bot.sandbox.is_member(STAFF, 9001), bot.sandbox.is_member(STAFF, 9002));
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
    assert!(info.is_some_and(|t| t.closed && t.name == "Erlan (5001)"));
    // The customer's texts and documents were copied into the topic.
    let copies: Vec<String> = in_topic
        .iter()
        .filter(|m| m.copied_from.is_some())
        .map(|m| match &m.content {
            cabinet_sandbox::BotContent::Document { file_name, .. } => file_name.clone(),
            _ => m.text.clone(),
        })
        .collect();
    assert_eq!(copies, ["operator", "my order is late", "big.zip", "small.pdf"]);
    assert_eq!(members, (true, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_step_for_a_customer_without_a_topic_fails_clearly() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# No topic\n@user 5001\n> hi\n@staff 9001\n> hello\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 5);
    assert_eq!(failure.problem, "customer 5001 has no topic in the staff group yet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_staff_check_renders_both_reply_lists() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Both\n@user 5001 name=Erlan\n> operator\n<staff Nobody home\n", 10).await.unwrap_err();
    let customer_check = bot.run("# Customer\n@user 5002 name=Olga\n> operator\n< New case\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 4);
    let report = failure.render();
    assert!(report.contains("expected: some reply contains «Nobody home» (in the staff group)"), "{report}");
    assert!(report.contains("bot replies to line 3 (> operator):\n    1. An operator will answer here"), "{report}");
    assert!(report.contains("in the staff group:\n"), "{report}");
    assert!(report.contains(") operator\n"), "the copy, with its topic: {report}");
    assert!(report.contains("2. (topic 2) New case from Erlan\n       [Take]"), "{report}");
    // `<` looks at the customer's chat only, even though the staff group got "New case".
    assert_eq!(customer_check.line, 4, "{}", customer_check.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_topic_fails_staff_steps_until_the_bot_opens_a_new_one() {
    let bot = TinyBot::start().await;
    if let Err(failure) = bot.run("# Open\n@user 5001 name=Erlan\n> operator\n", 10).await {
        panic!("{}", failure.render());
    }
    let old = bot.topics.lock().unwrap().get(&5001).copied().expect("a topic");
    assert!(bot.sandbox.delete_topic(STAFF, old), "staff delete the topic in the app");
    let gone = bot.run("# Gone\n@user 5001 name=Erlan\n@staff 9001\n> still there?\n", 10).await.unwrap_err();
    let again = bot
        .run(
            "# Again\n@user 5001 name=Erlan\n> hello?\n<staff Case continues\n<staff hello?\n@staff 9001\n> Yes, here\n< Yes, here\n",
            10,
        )
        .await;
    let new = bot.topics.lock().unwrap().get(&5001).copied();
    bot.stop().await;
    assert_eq!(gone.line, 4);
    assert!(
        gone.problem
            .contains(&format!("the topic of customer 5001 (message_thread_id {old}) is not in the staff group")),
        "{}",
        gone.render()
    );
    if let Err(failure) = again {
        panic!("{}", failure.render());
    }
    assert!(new.is_some_and(|t| t != old));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_press_without_the_button_lists_the_staff_groups_buttons() {
    let bot = TinyBot::start().await;
    let failure = bot.run("# Press\n@user 5001 name=Erlan\n> operator\n@staff 9001\n[Refuse]\n", 10).await.unwrap_err();
    bot.stop().await;
    assert_eq!(failure.line, 5);
    let report = failure.render();
    assert!(report.contains("no button in the staff group whose label contains «Refuse»"), "{report}");
    assert!(report.contains("buttons in the chat now:"), "{report}");
    assert!(report.contains("[Take]"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_steps_need_a_staff_side() {
    let bot = TinyBot::start().await;
    let transcript = parse("# No side\n@user 5001\n> hi\n<staff anything\n").unwrap();
    let check =
        play(&transcript, &bot.sandbox, None, None, None, None, None, Duration::from_secs(10)).await.unwrap_err();
    let transcript = parse("# No side\n@staff 9001 general\n> hi\n").unwrap();
    let act = play(&transcript, &bot.sandbox, None, None, None, None, None, Duration::from_secs(10)).await.unwrap_err();
    bot.stop().await;
    assert_eq!((check.line, act.line), (4, 2));
    assert!(check.problem.contains("no staff group") && act.problem.contains("no staff group"), "{check:?} {act:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_collects_what_the_jobs_sent_the_staff_group_too() {
    let bot = TinyBot::start().await;
    let at = DateTime::parse_from_rfc3339("2025-01-11T10:30:00+05:00").unwrap().to_utc();
    bot.store.schedule_job(&send_job("staff", STAFF, "Daily report: 3 open cases", at)).await.unwrap();
    let result = bot
        .run(
            "# Now\n@user 5001\n> hi\n<staff! report\n@now 2025-01-11T10:30:00+05:00\n<staff Daily report\n<! report\n",
            10,
        )
        .await;
    bot.stop().await;
    if let Err(failure) = result {
        panic!("{}", failure.render());
    }
}
