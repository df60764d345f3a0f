//! Tests of the sandbox driven by a real teloxide `Bot` over HTTP.

use std::time::{Duration, Instant};

use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, KeyboardButton, KeyboardMarkup,
    LabeledPrice, MediaKind, MessageEntityKind, MessageId, MessageKind, ParseMode, ReplyMarkup, UpdateKind,
};
use teloxide::{ApiError, RequestError};

use super::*;

async fn start() -> (Sandbox, Bot) {
    let sandbox = Sandbox::start().await.expect("the sandbox starts");
    let bot = Bot::new(sandbox.token()).set_api_url(sandbox.api_url());
    (sandbox, bot)
}

fn ru(id: i64, name: &str) -> SandboxUser {
    SandboxUser::new(id, name, Some("ru"))
}

/// A user who has written to the bot, so the bot may answer in their chat.
fn open_chat(sandbox: &Sandbox, id: i64) -> SandboxUser {
    let user = ru(id, "Ерлан");
    sandbox.add_user(&user);
    user
}

fn keyboard(rows: &[&[(&str, &str)]]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        rows.iter().map(|row| row.iter().map(|(t, d)| InlineKeyboardButton::callback(*t, *d)).collect::<Vec<_>>()),
    )
}

fn api_error<T: std::fmt::Debug>(result: Result<T, RequestError>) -> ApiError {
    match result {
        Err(RequestError::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn raw_post(sandbox: &Sandbox, method: &str, content_type: &str, body: &str) -> (u16, serde_json::Value) {
    let url = format!("{}bot{}/{method}", sandbox.api_url(), sandbox.token());
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("the request goes through");
    let status = response.status().as_u16();
    (status, response.json().await.expect("the answer is JSON"))
}

async fn updates(bot: &Bot) -> Vec<Update> {
    bot.get_updates().timeout(0).await.expect("getUpdates works")
}

#[tokio::test]
async fn get_me_answers_as_the_demo_bot() {
    let (sandbox, bot) = start().await;
    let me = bot.get_me().await.expect("getMe works");
    assert!(me.user.is_bot);
    assert_eq!(me.username(), "cabinet_demo_bot");
    assert_eq!(sandbox.bot_username(), "cabinet_demo_bot");
    assert_eq!(sandbox.calls().first().map(|c| c.0.as_str()), Some("getMe"));
}

#[tokio::test]
async fn a_wrong_token_gets_401_and_an_unknown_method_404() {
    let (sandbox, _) = start().await;
    let stranger = Bot::new("123:not-the-token").set_api_url(sandbox.api_url());
    assert_eq!(api_error(stranger.get_me().await), ApiError::InvalidToken);

    let response = reqwest::get(format!("{}bot123:nope/getMe", sandbox.api_url())).await.expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body, serde_json::json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));

    let (status, body) = raw_post(&sandbox, "sendPigeon", "application/json", "{}").await;
    assert_eq!(status, 404);
    assert_eq!(body["description"], "Not Found: method not found");
    assert!(sandbox.calls().iter().all(|(m, _)| m != "getMe"), "unauthorized calls are not logged");
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_description() {
    let (sandbox, _) = start().await;
    for body in ["{", "[1,2]", "\"text\"", "{\"chat_id\": {}}", "{\"chat_id\": 1, \"text\": [1]}"] {
        let (status, answer) = raw_post(&sandbox, "sendMessage", "application/json", body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["ok"], false);
        assert!(answer["description"].as_str().is_some_and(|d| d.starts_with("Bad Request: ")), "{answer}");
    }
    let (status, _) = raw_post(&sandbox, "sendMessage", "multipart/form-data; boundary=x", "garbage").await;
    assert_eq!(status, 400);
    let (status, answer) = raw_post(&sandbox, "getMe", "application/json", "").await;
    assert_eq!((status, answer["ok"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn an_html_message_is_stored_as_the_user_reads_it_with_its_buttons() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let sent = bot
        .send_message(ChatId(5001), "<b>Баланс</b>: 3&#160;450 &lt;₸&gt;\n<a href=\"https://example.kz\">Оплатить</a>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard(&[&[("Пополнить", "topup"), ("История", "history")], &[("Назад", "back")]]))
        .await
        .expect("sendMessage works");
    assert_eq!(sent.text(), Some("Баланс: 3\u{a0}450 <₸>\nОплатить"));
    let kinds: Vec<_> = sent.entities().unwrap_or_default().iter().map(|e| e.kind.clone()).collect();
    assert!(matches!(kinds.as_slice(), [MessageEntityKind::Bold, MessageEntityKind::TextLink { .. }]), "{kinds:?}");
    assert_eq!(sent.from.as_ref().map(|u| u.id.0), Some(state::BOT_ID as u64));
    assert!(sent.chat.is_private());
    assert!(sent.reply_markup().is_some());

    let messages = sandbox.messages(user.id);
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.text, "Баланс: 3\u{a0}450 <₸>\nОплатить");
    assert_eq!(m.content, BotContent::Text);
    assert_eq!(m.message_id, sent.id.0);
    let labels: Vec<Vec<&str>> =
        m.inline_keyboard.iter().map(|r| r.iter().map(|b| b.text.as_str()).collect()).collect();
    assert_eq!(labels, vec![vec!["Пополнить", "История"], vec!["Назад"]]);
    assert_eq!(m.inline_keyboard[0][0].callback_data.as_deref(), Some("topup"));
    assert_eq!(sandbox.events_since(0), vec![SandboxEvent::Sent(m.clone())]);
}

#[tokio::test]
async fn message_ids_are_shared_by_the_user_and_the_bot() {
    let (sandbox, bot) = start().await;
    let user = ru(5001, "Ерлан");
    sandbox.send_text(&user, "/start");
    let first = bot.send_message(ChatId(5001), "one").await.expect("send");
    sandbox.send_text(&user, "again");
    let second = bot.send_message(ChatId(5001), "two").await.expect("send");
    assert_eq!((first.id.0, second.id.0), (2, 4));
}

#[tokio::test]
async fn telegram_errors_reach_teloxide_as_api_errors() {
    let (sandbox, bot) = start().await;
    open_chat(&sandbox, 5001);
    let chat = ChatId(5001);

    let e = api_error(bot.send_message(chat, "<b>unclosed").parse_mode(ParseMode::Html).await);
    assert!(matches!(&e, ApiError::CantParseEntities(d) if d.contains("start tag \"b\"")), "{e:?}");
    let e = api_error(bot.send_message(chat, "Tom & Jerry").parse_mode(ParseMode::Html).await);
    assert!(matches!(e, ApiError::CantParseEntities(_)), "{e:?}");
    let e = api_error(bot.send_message(chat, "line<br>break").parse_mode(ParseMode::Html).await);
    assert!(matches!(&e, ApiError::CantParseEntities(d) if d.contains("Unsupported start tag \"br\"")), "{e:?}");

    assert_eq!(api_error(bot.send_message(chat, "  \n").await), ApiError::MessageTextIsEmpty);
    assert_eq!(
        api_error(bot.send_message(chat, "<b> </b>").parse_mode(ParseMode::Html).await),
        ApiError::MessageTextIsEmpty
    );
    assert_eq!(api_error(bot.send_message(chat, "я".repeat(4097)).await), ApiError::MessageIsTooLong);
    // The limit counts what the user reads: 4096 escaped ampersands fit.
    bot.send_message(chat, "&amp;".repeat(4096)).parse_mode(ParseMode::Html).await.expect("4096 characters fit");
    // An emoji is two UTF-16 units.
    assert_eq!(api_error(bot.send_message(chat, "😀".repeat(2049)).await), ApiError::MessageIsTooLong);

    let data_64 = "д".repeat(32);
    bot.send_message(chat, "ok").reply_markup(keyboard(&[&[("a", data_64.as_str())]])).await.expect("64 bytes fit");
    let data_65 = format!("{data_64}x");
    let e = api_error(bot.send_message(chat, "no").reply_markup(keyboard(&[&[("a", data_65.as_str())]])).await);
    assert_eq!(e, ApiError::ButtonDataInvalid);

    assert_eq!(api_error(bot.send_message(ChatId(777), "hi").await), ApiError::ChatNotFound);
    assert_eq!(sandbox.messages(5001).len(), 2, "only the valid messages are stored");
}

#[tokio::test]
async fn edits_change_the_text_and_keyboard_and_identical_edits_are_refused() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let chat = ChatId(5001);
    let sent = bot.send_message(chat, "Выберите").reply_markup(keyboard(&[&[("Да", "yes")]])).await.expect("send");
    let seq = sandbox.event_seq();

    let edited = bot
        .edit_message_text(chat, sent.id, "Вы выбрали <i>да</i>")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard(&[&[("Отменить", "undo")]]))
        .await
        .expect("edit text");
    assert_eq!(edited.text(), Some("Вы выбрали да"));
    assert!(edited.edit_date().is_some());
    let now = &sandbox.messages(user.id)[0];
    assert_eq!(now.text, "Вы выбрали да");
    assert_eq!(now.inline_keyboard[0][0].text, "Отменить");
    assert_eq!(sandbox.events_since(seq), vec![SandboxEvent::Edited(now.clone())]);

    let e = api_error(
        bot.edit_message_text(chat, sent.id, "Вы выбрали <i>да</i>")
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard(&[&[("Отменить", "undo")]]))
            .await,
    );
    assert_eq!(e, ApiError::MessageNotModified);

    bot.edit_message_reply_markup(chat, sent.id).await.expect("remove the keyboard");
    assert!(sandbox.messages(user.id)[0].inline_keyboard.is_empty());
    assert_eq!(api_error(bot.edit_message_reply_markup(chat, sent.id).await), ApiError::MessageNotModified);

    bot.edit_message_reply_markup(chat, sent.id).reply_markup(keyboard(&[&[("Ещё", "more")]])).await.expect("markup");
    // Editing the text without a keyboard takes the keyboard away, as in Telegram.
    bot.edit_message_text(chat, sent.id, "Готово").await.expect("edit");
    assert!(sandbox.messages(user.id)[0].inline_keyboard.is_empty());

    assert_eq!(api_error(bot.edit_message_text(chat, MessageId(999), "x").await), ApiError::MessageToEditNotFound);
    sandbox.send_text(&user, "мой текст");
    let user_message = MessageId(sent.id.0 + 1);
    assert_eq!(api_error(bot.edit_message_text(chat, user_message, "x").await), ApiError::MessageCantBeEdited);
}

#[tokio::test]
async fn answering_a_callback_query_records_the_toast_once() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let sent = bot.send_message(ChatId(5001), "?").reply_markup(keyboard(&[&[("Да", "yes")]])).await.expect("send");
    sandbox.press_inline(&user, sent.id.0, "yes");
    let update = updates(&bot).await.pop().expect("the press arrives");
    let UpdateKind::CallbackQuery(query) = update.kind else { panic!("not a callback query: {update:?}") };
    let seq = sandbox.event_seq();
    bot.answer_callback_query(query.id.clone()).text("Принято").await.expect("answer");
    assert_eq!(
        sandbox.events_since(seq),
        vec![SandboxEvent::CallbackAnswered { chat_id: 5001, text: Some("Принято".into()), show_alert: false }]
    );
    assert_eq!(api_error(bot.answer_callback_query(query.id).await), ApiError::InvalidQueryId);
}

#[tokio::test]
async fn a_document_uploads_from_memory_and_resends_by_file_id() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let pdf = b"%PDF-1.4 act for December".repeat(100);
    let sent = bot
        .send_document(ChatId(5001), InputFile::memory(pdf.clone()).file_name("act-2024-12.pdf"))
        .caption("<b>Акт</b> за декабрь")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard(&[&[("Ещё", "more")]]))
        .await
        .expect("sendDocument works");
    let doc = sent.document().expect("a document message");
    assert_eq!(doc.file_name.as_deref(), Some("act-2024-12.pdf"));
    assert_eq!(doc.file.size as usize, pdf.len());
    assert_eq!(doc.mime_type.as_ref().map(|m| m.essence_str().to_owned()), Some("application/pdf".into()));
    assert_eq!(sent.caption(), Some("Акт за декабрь"));
    let file_id = doc.file.id.0.clone();
    assert_eq!(sandbox.file_bytes(&file_id), Some(pdf.clone()));

    let again = bot.send_document(ChatId(5001), InputFile::file_id(file_id.clone().into())).await.expect("by id");
    let again_doc = again.document().expect("a document");
    assert_eq!(again_doc.file.id.0, file_id);
    assert_eq!(again_doc.file.unique_id, doc.file.unique_id);

    let messages = sandbox.messages(user.id);
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0].content,
        BotContent::Document { file_name: "act-2024-12.pdf".into(), bytes: pdf.len(), file_id: file_id.clone() }
    );
    assert_eq!(messages[0].text, "Акт за декабрь");
    assert_eq!(messages[1].content, messages[0].content);

    let calls: Vec<_> = sandbox.calls().into_iter().filter(|(m, _)| m == "sendDocument").collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1["document"], serde_json::json!({"file_name": "act-2024-12.pdf", "size": pdf.len()}));
    assert_eq!(calls[0].1["chat_id"], "5001");
    assert_eq!(calls[1].1["document"], file_id);

    let e = api_error(bot.send_document(ChatId(5001), InputFile::file_id("nonsense".into())).await);
    assert_eq!(e, ApiError::WrongFileIdOrUrl);
}

#[tokio::test]
async fn a_location_is_sent_and_stored() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let sent = bot.send_location(ChatId(5001), 43.2389, 76.8897).await.expect("sendLocation works");
    let location = sent.location().expect("a location");
    assert!((location.latitude - 43.2389).abs() < 1e-9);
    assert_eq!(sandbox.messages(user.id)[0].content, BotContent::Location { latitude: 43.2389, longitude: 76.8897 });
    assert!(bot.send_location(ChatId(5001), 91.0, 0.0).await.is_err());
}

#[tokio::test]
async fn a_reply_keyboard_goes_up_and_comes_down() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let markup = KeyboardMarkup::new([
        vec![KeyboardButton::new("📱 Поделиться номером").request(ButtonRequest::Contact)],
        vec![KeyboardButton::new("Отмена")],
    ])
    .resize_keyboard();
    bot.send_message(ChatId(5001), "Поделитесь номером").reply_markup(markup).await.expect("send");
    let expected = vec![
        vec![ReplyButton { text: "📱 Поделиться номером".into(), request_contact: true }],
        vec![ReplyButton { text: "Отмена".into(), request_contact: false }],
    ];
    assert_eq!(sandbox.reply_keyboard(user.id), Some(expected.clone()));
    assert_eq!(sandbox.messages(user.id)[0].reply_keyboard, Some(expected));
    assert_eq!(
        sandbox.find_button(user.id, &|l| l.contains("номер")),
        Some(ButtonRef::Reply { text: "📱 Поделиться номером".into(), request_contact: true })
    );

    // A message without markup leaves the keyboard alone.
    bot.send_message(ChatId(5001), "Ждём").await.expect("send");
    assert!(sandbox.reply_keyboard(user.id).is_some());

    bot.send_message(ChatId(5001), "Спасибо").reply_markup(ReplyMarkup::kb_remove()).await.expect("send");
    assert_eq!(sandbox.reply_keyboard(user.id), None);
    assert_eq!(sandbox.messages(user.id)[2].reply_keyboard, Some(vec![]));
}

#[tokio::test]
async fn a_one_time_keyboard_hides_after_it_is_used() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let markup = KeyboardMarkup::new([vec![KeyboardButton::new("Да"), KeyboardButton::new("Нет")]]).one_time_keyboard();
    bot.send_message(ChatId(5001), "?").reply_markup(markup).await.expect("send");
    sandbox.send_text(&user, "может быть");
    assert!(sandbox.reply_keyboard(user.id).is_some(), "typing other text keeps it");
    sandbox.send_text(&user, "Да");
    assert_eq!(sandbox.reply_keyboard(user.id), None);
}

#[tokio::test]
async fn a_long_poll_wakes_when_the_user_writes_and_the_offset_confirms() {
    let (sandbox, bot) = start().await;
    let poller = {
        let bot = bot.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let got = bot.get_updates().timeout(10).await;
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let id = sandbox.send_text(&ru(5001, "Ерлан"), "привет");
    let (got, waited) = poller.await.expect("the poll task");
    let got = got.expect("getUpdates works");
    assert!(waited < Duration::from_secs(3), "woken at once, waited {waited:?}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id.0 as i32, id);

    // Not confirmed yet: delivered again.
    assert_eq!(updates(&bot).await.len(), 1);
    let after = bot.get_updates().offset(got[0].id.as_offset()).timeout(0).await.expect("confirm");
    assert!(after.is_empty());
    assert_eq!(sandbox.pending_updates(), 0);

    // An empty long poll ends at its timeout.
    let started = Instant::now();
    assert!(bot.get_updates().timeout(1).await.expect("poll").is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn get_updates_honours_limit_and_a_negative_offset() {
    let (sandbox, bot) = start().await;
    let user = ru(5001, "Ерлан");
    let ids: Vec<i32> = (0..5).map(|i| sandbox.send_text(&user, &format!("m{i}"))).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    assert_eq!(bot.get_updates().limit(2).timeout(0).await.expect("poll").len(), 2);
    let last = bot.get_updates().offset(-1).timeout(0).await.expect("poll");
    assert_eq!(last.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![5]);
    assert_eq!(sandbox.pending_updates(), 1);
}

#[tokio::test]
async fn every_user_update_deserializes_into_teloxide_types() {
    let (sandbox, bot) = start().await;
    let erlan = ru(5001, "Ерлан");
    let bot_message = {
        sandbox.add_user(&erlan);
        bot.send_message(ChatId(5001), "?").reply_markup(keyboard(&[&[("Да", "yes")]])).await.expect("send")
    };
    let ids = vec![
        sandbox.send_text(&erlan, "/start ref42"),
        sandbox.send_contact(&erlan, "+7 701 123 45 67", Some(5001)),
        sandbox.send_contact(&erlan, "77025556677", Some(9999)),
        sandbox.send_contact(&erlan, "+77030000000", None),
        sandbox.send_sticker(&erlan),
        sandbox.send_photo(&erlan),
        sandbox.send_voice(&erlan),
        sandbox.send_group_text(&erlan, -4_001, "всем привет"),
        sandbox.send_group_text(&erlan, -1_002_000_000_001, "в супергруппе"),
        sandbox.press_inline(&erlan, bot_message.id.0, "yes"),
        sandbox.press_inline(&erlan, 999, "stale"),
    ];
    let got = updates(&bot).await;
    assert_eq!(got.iter().map(|u| u.id.0 as i32).collect::<Vec<_>>(), ids);
    let message = |i: usize| match &got[i].kind {
        UpdateKind::Message(m) => m.clone(),
        other => panic!("update {i} is not a message: {other:?}"),
    };

    let start = message(0);
    assert_eq!(start.text(), Some("/start ref42"));
    assert_eq!(start.chat.id, ChatId(5001));
    assert!(start.chat.is_private());
    let from = start.from.as_ref().expect("a sender");
    assert_eq!((from.id.0, from.language_code.as_deref(), from.is_bot), (5001, Some("ru"), false));
    assert!(matches!(start.entities().unwrap_or_default()[0].kind, MessageEntityKind::BotCommand));

    let own = message(1).contact().cloned().expect("a contact");
    assert_eq!((own.phone_number.as_str(), own.user_id.map(|u| u.0)), ("+7 701 123 45 67", Some(5001)));
    let other = message(2).contact().cloned().expect("a contact");
    assert_eq!((other.phone_number.as_str(), other.user_id.map(|u| u.0)), ("77025556677", Some(9999)));
    assert_eq!(message(3).contact().and_then(|c| c.user_id), None);

    let sticker = message(4).sticker().cloned().expect("a sticker");
    assert!(sticker.is_static() && sticker.is_regular());
    assert_eq!(message(5).photo().map(<[_]>::len), Some(3));
    assert!(message(6).voice().is_some_and(|v| v.duration.seconds() > 0));
    assert!(matches!(message(6).kind, MessageKind::Common(ref c) if matches!(c.media_kind, MediaKind::Voice(_))));

    let group = message(7);
    assert!(group.chat.is_group());
    assert_eq!((group.chat.id, group.text()), (ChatId(-4_001), Some("всем привет")));
    assert!(message(8).chat.is_supergroup());

    let UpdateKind::CallbackQuery(press) = &got[9].kind else { panic!("not a callback query") };
    assert_eq!(press.data.as_deref(), Some("yes"));
    assert_eq!(press.from.id.0, 5001);
    let pressed = press.regular_message().expect("the bot's message");
    assert_eq!((pressed.id, pressed.text()), (bot_message.id, Some("?")));
    assert!(pressed.reply_markup().is_some());
    let UpdateKind::CallbackQuery(stale) = &got[10].kind else { panic!("not a callback query") };
    assert!(stale.regular_message().is_none());
    assert_eq!(stale.message.as_ref().map(|m| m.id()), Some(MessageId(999)));

    // Message ids in the private chat keep counting across user messages and the bot's.
    let ids_in_chat: Vec<i32> = (0..7).map(|i| message(i).id.0).collect();
    assert_eq!(ids_in_chat, (2..=8).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_bot_can_write_into_a_group() {
    let (sandbox, bot) = start().await;
    sandbox.add_group(-4_001, "Операторы");
    let sent = bot.send_message(ChatId(-4_001), "Новый запрос").await.expect("send");
    assert!(sent.chat.is_group());
    assert_eq!(sent.chat.title(), Some("Операторы"));
    assert_eq!(sandbox.messages(-4_001)[0].text, "Новый запрос");
}

#[tokio::test]
async fn wait_handled_wakes_on_the_observer_and_remembers() {
    let (sandbox, _) = start().await;
    let user = ru(5001, "Ерлан");
    let first = sandbox.send_text(&user, "1");
    let second = sandbox.send_text(&user, "2");
    let observer = sandbox.observer();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        observer.handled(first);
    });
    let started = Instant::now();
    assert!(sandbox.wait_handled(first, Duration::from_secs(5)).await);
    assert!(started.elapsed() < Duration::from_secs(2));
    late.await.expect("observer task");
    assert!(sandbox.wait_handled(first, Duration::from_millis(1)).await, "already handled");
    assert!(!sandbox.wait_handled(second, Duration::from_millis(100)).await);
    assert_eq!(sandbox.events_since(0), vec![SandboxEvent::Handled { update_id: first }]);
}

#[tokio::test]
async fn find_button_prefers_newer_messages_then_the_reply_keyboard() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let chat = ChatId(5001);
    bot.send_message(chat, "a")
        .reply_markup(KeyboardMarkup::new([vec![KeyboardButton::new("Согласен (клавиатура)")]]))
        .await
        .expect("send");
    let old = bot.send_message(chat, "b").reply_markup(keyboard(&[&[("Согласен", "old")]])).await.expect("send");
    let link = InlineKeyboardButton::url("Согласен ↗", "https://example.kz".parse().expect("url"));
    let new = bot
        .send_message(chat, "c")
        .reply_markup(InlineKeyboardMarkup::new([vec![link, InlineKeyboardButton::callback("Согласен", "new")]]))
        .await
        .expect("send");
    let found = sandbox.find_button(user.id, &|l| l.contains("Согласен"));
    assert_eq!(
        found,
        Some(ButtonRef::Inline {
            message_id: new.id.0,
            text: "Согласен".into(),
            callback_data: "new".into(),
            pay: false
        })
    );
    let found = sandbox.find_button(user.id, &|l| l == "Согласен");
    assert!(matches!(found, Some(ButtonRef::Inline { message_id, .. }) if message_id == new.id.0));
    bot.delete_message(chat, new.id).await.expect("delete");
    let found = sandbox.find_button(user.id, &|l| l.contains("Согласен"));
    assert!(matches!(found, Some(ButtonRef::Inline { message_id, .. }) if message_id == old.id.0));
    let found = sandbox.find_button(user.id, &|l| l.contains("клавиатура"));
    assert_eq!(found, Some(ButtonRef::Reply { text: "Согласен (клавиатура)".into(), request_contact: false }));
    assert_eq!(sandbox.find_button(user.id, &|l| l == "Нет"), None);
    assert_eq!(sandbox.find_button(404, &|_| true), None);
}

#[tokio::test]
async fn commands_are_kept_per_scope_and_language() {
    use teloxide::types::{BotCommand, BotCommandScope, MenuButton};
    let (sandbox, bot) = start().await;
    let ru_commands = vec![BotCommand::new("start", "Начать"), BotCommand::new("balance", "Баланс")];
    bot.set_my_commands(ru_commands.clone()).language_code("ru").await.expect("set ru");
    bot.set_my_commands(vec![BotCommand::new("start", "Start")]).await.expect("set default");
    assert_eq!(bot.get_my_commands().language_code("ru").await.expect("get"), ru_commands);
    assert_eq!(bot.get_my_commands().await.expect("get").len(), 1);
    assert!(bot.get_my_commands().scope(BotCommandScope::AllGroupChats).await.expect("get").is_empty());
    assert_eq!(sandbox.my_commands(Some("ru"))[1], ("balance".to_owned(), "Баланс".to_owned()));
    bot.delete_my_commands().language_code("ru").await.expect("delete");
    assert!(sandbox.my_commands(Some("ru")).is_empty());
    assert!(bot.set_my_commands(vec![BotCommand::new("Start", "x")]).await.is_err(), "upper case is invalid");

    bot.set_chat_menu_button().menu_button(MenuButton::Commands).await.expect("menu button");
    assert_eq!(bot.get_chat_menu_button().await.expect("get"), MenuButton::Commands);
    let info = bot.get_webhook_info().await.expect("webhook info");
    assert!(info.url.is_none());
    bot.delete_webhook().await.expect("deleteWebhook");
}

#[tokio::test]
async fn form_and_query_parameters_work_like_json() {
    let (sandbox, _) = start().await;
    let user = open_chat(&sandbox, 5001);
    let url = format!(
        "{}bot{}/sendMessage?chat_id=5001&text=%3Cb%3Ehi%3C%2Fb%3E&parse_mode=HTML",
        sandbox.api_url(),
        sandbox.token()
    );
    let answer: serde_json::Value = reqwest::get(url).await.expect("GET").json().await.expect("json");
    assert_eq!(answer["result"]["text"], "hi");
    let body = "chat_id=5001&text=form&reply_markup=%7B%22inline_keyboard%22%3A%5B%5B%7B%22text%22%3A%22A%22%2C%22callback_data%22%3A%22a%22%7D%5D%5D%7D";
    let (status, answer) = raw_post(&sandbox, "sendmessage", "application/x-www-form-urlencoded", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(sandbox.messages(user.id)[1].inline_keyboard[0][0].callback_data.as_deref(), Some("a"));
    let (status, answer) = raw_post(
        &sandbox,
        "sendMessage",
        "application/json",
        r#"{"chat_id":5001,"text":"x","reply_markup":{"inline_keyboard":[[{"text":"plain"}]]}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["description"],
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
    );
    let (status, answer) =
        raw_post(&sandbox, "sendChatAction", "application/json", r#"{"chat_id":5001,"action":"dancing"}"#).await;
    assert_eq!((status, answer["description"].as_str()), (400, Some("Bad Request: wrong parameter action in request")));
}

#[tokio::test]
async fn chat_actions_deletes_and_extra_parameters_are_accepted() {
    use teloxide::types::{LinkPreviewOptions, ReplyParameters};
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let chat = ChatId(5001);
    bot.send_chat_action(chat, teloxide::types::ChatAction::Typing).await.expect("typing");
    let first = bot.send_message(chat, "first").await.expect("send");
    let reply = bot
        .send_message(chat, "second")
        .reply_parameters(ReplyParameters::new(first.id))
        .link_preview_options(LinkPreviewOptions {
            is_disabled: true,
            url: None,
            prefer_small_media: false,
            prefer_large_media: false,
            show_above_text: false,
        })
        .disable_notification(true)
        .protect_content(true)
        .await
        .expect("extra parameters are fine");
    let e = api_error(bot.send_message(chat, "x").reply_parameters(ReplyParameters::new(MessageId(500))).await);
    assert_eq!(e, ApiError::MessageToReplyNotFound);
    bot.delete_message(chat, first.id).await.expect("delete");
    assert_eq!(sandbox.messages(user.id).iter().map(|m| m.message_id).collect::<Vec<_>>(), vec![reply.id.0]);
    assert_eq!(api_error(bot.delete_message(chat, first.id).await), ApiError::MessageToDeleteNotFound);
}

#[tokio::test]
async fn injected_failures_and_blocked_users_look_like_telegram() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    sandbox.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", Some(5));
    match bot.send_message(ChatId(5001), "x").await {
        Err(RequestError::RetryAfter(s)) => assert_eq!(s.seconds(), 5),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    bot.send_message(ChatId(5001), "x").await.expect("only the next call fails");
    sandbox.set_blocked(user.id, true);
    assert_eq!(api_error(bot.send_message(ChatId(5001), "x").await), ApiError::BotBlocked);
    sandbox.set_blocked(user.id, false);
    bot.send_message(ChatId(5001), "x").await.expect("unblocked");
}

#[tokio::test]
async fn a_slow_answer_is_slow_once() {
    let (sandbox, bot) = start().await;
    open_chat(&sandbox, 5001);
    sandbox.slow_next("sendMessage", std::time::Duration::from_secs(30));
    let slow = tokio::time::timeout(std::time::Duration::from_millis(200), bot.send_message(ChatId(5001), "x")).await;
    assert!(slow.is_err(), "the first send waits");
    let fast = tokio::time::timeout(std::time::Duration::from_secs(10), bot.send_message(ChatId(5001), "y")).await;
    assert!(fast.is_ok_and(|sent| sent.is_ok()), "only the next call is slow");
}

#[tokio::test]
async fn many_chats_at_once_keep_their_own_message_ids() {
    let (sandbox, bot) = start().await;
    let mut tasks = Vec::new();
    for id in 1..=20_i64 {
        let user = open_chat(&sandbox, 6000 + id);
        let bot = bot.clone();
        let sandbox = sandbox.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                sandbox.send_text(&user, &format!("q{i}"));
                bot.send_message(ChatId(user.id), format!("a{i}")).await.expect("send");
            }
            sandbox.messages(user.id).iter().map(|m| m.message_id).collect::<Vec<_>>()
        }));
    }
    for task in tasks {
        let ids = task.await.expect("task");
        assert_eq!(ids, (1..=10).map(|i| i * 2).collect::<Vec<_>>());
    }
    assert_eq!(updates(&bot).await.len(), 100, "one batch holds at most 100 updates");
}

/// A tiny bot: echoes text with two inline buttons, shows a contact keyboard on /start,
/// thanks for contacts, answers presses with a toast and an edit, and on /buy sends an
/// invoice whose payments it accepts and confirms.
async fn tiny_bot(sandbox: Sandbox, bot: Bot) {
    let observer = sandbox.observer();
    let mut offset = 0;
    loop {
        let Ok(batch) = bot.get_updates().offset(offset).timeout(5).await else { return };
        for update in batch {
            offset = update.id.as_offset();
            match &update.kind {
                UpdateKind::Message(m) if m.text() == Some("/start") => {
                    let markup = KeyboardMarkup::new([vec![
                        KeyboardButton::new("Поделиться номером").request(ButtonRequest::Contact),
                    ]]);
                    let _ = bot.send_message(m.chat.id, "Здравствуйте!").reply_markup(markup).await;
                }
                UpdateKind::Message(m) if m.text() == Some("/buy") => {
                    let prices = [LabeledPrice::new("Пополнение", 200_000)];
                    let _ = bot
                        .send_invoice(m.chat.id, "Пополнение", "Пополнение баланса", "topup", "KZT", prices)
                        .provider_token(TEST_PROVIDER)
                        .await;
                }
                UpdateKind::Message(m) if m.successful_payment().is_some() => {
                    let amount = m.successful_payment().map(|p| format!("{} {}", p.total_amount, p.currency));
                    let _ =
                        bot.send_message(m.chat.id, format!("Оплата получена: {}", amount.unwrap_or_default())).await;
                }
                UpdateKind::PreCheckoutQuery(q) => {
                    let _ = bot.answer_pre_checkout_query(q.id.clone(), true).await;
                }
                UpdateKind::Message(m) if m.contact().is_some() => {
                    let phone = m.contact().map(|c| c.phone_number.clone()).unwrap_or_default();
                    let owner = m.contact().and_then(|c| c.user_id).map_or(0, |u| u.0);
                    let _ = bot
                        .send_message(m.chat.id, format!("Номер: {phone} (user {owner})"))
                        .reply_markup(ReplyMarkup::kb_remove())
                        .await;
                }
                UpdateKind::Message(m) => {
                    let text = m.text().unwrap_or("?").replace('&', "&amp;").replace('<', "&lt;");
                    let _ = bot
                        .send_message(m.chat.id, format!("Вы написали: <b>{text}</b>"))
                        .parse_mode(ParseMode::Html)
                        .reply_markup(keyboard(&[&[("Согласен", "agree"), ("Нет", "no")]]))
                        .await;
                }
                UpdateKind::CallbackQuery(q) => {
                    let _ = bot.answer_callback_query(q.id.clone()).text("Принято").await;
                    if let Some(m) = q.regular_message() {
                        let data = q.data.clone().unwrap_or_default();
                        let _ = bot.edit_message_text(m.chat.id, m.id, format!("Вы выбрали: {data}")).await;
                    }
                }
                _ => {}
            }
            observer.handled(update.id.0 as i32);
        }
    }
}

/// Runs the terminal chat on `script` against the tiny bot; returns the sandbox and what
/// the chat printed.
async fn terminal_session(script: &str) -> (Sandbox, String) {
    let (sandbox, bot) = start().await;
    let bot_task = tokio::spawn(tiny_bot(sandbox.clone(), bot));
    let mut out: Vec<u8> = Vec::new();
    terminal::run(sandbox.clone(), ru(5001, "Ерлан"), tokio::io::BufReader::new(script.as_bytes()), &mut out)
        .await
        .expect("the chat runs");
    bot_task.abort();
    (sandbox, String::from_utf8(out).expect("utf-8"))
}

#[tokio::test]
async fn the_terminal_chat_numbers_buttons_and_presses_them() {
    let (sandbox, out) = terminal_session(
        "/start\n1\n/phone +77011234567\n1\nпривет\n2\n/contact +77025556677 from 9999\n/help\n/quit\nnever sent\n",
    )
    .await;

    assert!(out.contains("You are Ерлан (Telegram user 5001, language ru)"), "{out}");
    assert!(out.contains("🤖 Здравствуйте!\n⌨  [1] 📱 Поделиться номером"), "{out}");
    assert!(out.contains("Set it with /phone"), "pressing the contact button without a phone hints: {out}");
    assert!(out.contains("🤖 Номер: +77011234567 (user 5001)"), "{out}");
    assert!(out.contains("🤖 Вы написали: привет\n   [1] Согласен  [2] Нет"), "{out}");
    assert!(out.contains("💬 Принято"), "{out}");
    assert!(out.contains("🤖 ✏️ Вы выбрали: no"), "{out}");
    assert!(out.contains("🤖 Номер: +77025556677 (user 9999)"), "{out}");
    assert!(out.contains("/user ID [lang]"), "help is printed: {out}");
    assert!(out.trim_end().ends_with("Bye."), "{out}");
    assert!(!out.contains("did not answer"), "{out}");

    let texts: Vec<String> = sandbox
        .calls()
        .iter()
        .filter(|(m, _)| m == "sendMessage")
        .filter_map(|(_, p)| p["text"].as_str().map(str::to_owned))
        .collect();
    assert!(!texts.iter().any(|t| t.contains("never sent")), "input after /quit is ignored");
}

#[tokio::test]
async fn the_terminal_sends_unknown_commands_and_double_slash_to_the_bot() {
    let (_, out) = terminal_session("/balance\n//help\n/sticker\n7\n").await;
    assert!(out.contains("Вы написали: /balance"), "{out}");
    assert!(out.contains("Вы написали: /help"), "{out}");
    // "7" is not a button number here: it is sent as text.
    assert!(out.contains("Вы написали: 7"), "{out}");
    assert!(out.trim_end().ends_with("Bye."), "{out}");
}

#[tokio::test]
async fn rate_limits_refuse_sends_over_the_limit_with_retry_after() {
    let (sandbox, bot) = start().await;
    for id in 1..=6 {
        open_chat(&sandbox, 7000 + id);
    }
    sandbox.add_group(-500, "Операторы");
    let retry_after = |r: Result<Message, RequestError>| match r {
        Err(RequestError::RetryAfter(s)) => s.seconds(),
        other => panic!("expected 429, got {other:?}"),
    };
    sandbox.set_rate_limits(Some(RateLimits { per_second: 5, per_chat_per_second: 2, per_group_per_minute: 3 }));
    bot.send_message(ChatId(7001), "1").await.expect("first");
    bot.send_message(ChatId(7001), "2").await.expect("second");
    assert_eq!(retry_after(bot.send_message(ChatId(7001), "3").await), 1);
    for id in 7002..=7004 {
        bot.send_message(ChatId(id), "x").await.expect("under the global limit");
    }
    assert_eq!(retry_after(bot.send_message(ChatId(7005), "x").await), 1);
    assert_eq!(sandbox.messages(7001).len(), 2, "refused sends are not delivered");

    sandbox.set_rate_limits(Some(RateLimits { per_second: 100, per_chat_per_second: 100, per_group_per_minute: 3 }));
    for _ in 0..3 {
        bot.send_message(ChatId(-500), "x").await.expect("under the group limit");
    }
    let wait = retry_after(bot.send_message(ChatId(-500), "x").await);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(sandbox.rate_limited(), 3);

    sandbox.set_rate_limits(None);
    bot.send_message(ChatId(-500), "x").await.expect("no limits");
}

#[tokio::test]
async fn a_webhook_gets_the_updates_with_its_secret_and_failed_deliveries_are_retried() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::{HeaderMap, StatusCode};

    let (sandbox, bot) = start().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Option<String>, String)>();
    let refuse = Arc::new(AtomicUsize::new(1));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let refuse = refuse.clone();
            async move {
                let secret =
                    headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
                if refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let _ = tx.send((secret, body));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let elsewhere = bot.set_webhook("https://example.com/hook".parse().expect("url")).await;
    assert!(elsewhere.is_err(), "the sandbox never delivers off this machine");
    let url: reqwest::Url = format!("http://{addr}/hook").parse().expect("url");
    bot.set_webhook(url.clone()).secret_token("s3cret-token").max_connections(4).await.expect("setWebhook");
    assert_eq!(bot.get_webhook_info().await.expect("info").url, Some(url));
    assert!(bot.get_updates().await.is_err(), "getUpdates conflicts with a webhook");

    let user = ru(5001, "Ерлан");
    let mut sent: Vec<u32> = (0..5).map(|i| sandbox.send_text(&user, &format!("m{i}")) as u32).collect();
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let (secret, body) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("delivered in time")
            .expect("channel open");
        assert_eq!(secret.as_deref(), Some("s3cret-token"));
        let update: Update = serde_json::from_str(&body).expect("a teloxide Update");
        assert!(matches!(update.kind, UpdateKind::Message(_)));
        got.push(update.id.0);
    }
    got.sort_unstable();
    sent.sort_unstable();
    assert_eq!(got, sent, "each update once, the refused one again");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sandbox.pending_updates() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sandbox.pending_updates(), 0);

    bot.delete_webhook().await.expect("deleteWebhook");
    sandbox.send_text(&user, "polling again");
    assert_eq!(updates(&bot).await.len(), 1);
    assert!(rx.try_recv().is_err(), "nothing more went to the webhook");
}

#[tokio::test]
async fn a_teloxide_dispatcher_polls_the_sandbox_and_stops_promptly() {
    let (sandbox, bot) = start().await;
    let handler = Update::filter_message().endpoint(|bot: Bot, m: Message| async move {
        bot.send_message(m.chat.id, format!("echo: {}", m.text().unwrap_or_default())).await?;
        respond(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let shutdown = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });

    let user = ru(5001, "Ерлан");
    sandbox.send_text(&user, "привет");
    let deadline = Instant::now() + Duration::from_secs(10);
    while sandbox.messages(user.id).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sandbox.messages(user.id).first().map(|m| m.text.as_str()), Some("echo: привет"));

    let started = Instant::now();
    let stopping = shutdown.shutdown().expect("the dispatcher is running");
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("shutdown completes");
    tokio::time::timeout(Duration::from_secs(10), task).await.expect("dispatch returns").expect("task");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped in {:?}", started.elapsed());
    assert_eq!(sandbox.pending_updates(), 0, "the dispatcher confirmed the update on its way out");
    let methods: Vec<String> = sandbox.calls().into_iter().map(|(m, _)| m).collect();
    assert!(
        methods.contains(&"getWebhookInfo".to_owned()) || methods.contains(&"getUpdates".to_owned()),
        "{methods:?}"
    );
}

// --- Telegram Payments ---

/// The description of an API error teloxide does not know by name.
fn unknown(e: ApiError) -> String {
    match e {
        ApiError::Unknown(description) => description,
        other => panic!("expected an error teloxide does not name, got {other:?}"),
    }
}

fn top_up() -> [LabeledPrice; 1] {
    [LabeledPrice::new("Пополнение", 200_000)]
}

/// The test provider token a bot gets from @BotFather (any non-empty string works here).
const TEST_PROVIDER: &str = "381764678:TEST:100";

#[tokio::test]
async fn an_invoice_is_checked_like_telegram_does() {
    let (sandbox, bot) = start().await;
    open_chat(&sandbox, 5001);
    let chat = ChatId(5001);
    let send = |title: &str, description: &str, payload: &str, currency: &str, prices: Vec<LabeledPrice>| {
        bot.send_invoice(chat, title, description, payload, currency, prices).provider_token(TEST_PROVIDER)
    };
    let cases: Vec<(&str, Result<Message, RequestError>)> = vec![
        ("Bad Request: TITLE_INVALID", send(&"x".repeat(33), "d", "p", "KZT", top_up().into()).await),
        ("Bad Request: DESCRIPTION_INVALID", send("t", &"д".repeat(256), "p", "KZT", top_up().into()).await),
        ("Bad Request: INVOICE_PAYLOAD_INVALID", send("t", "d", &"п".repeat(65), "KZT", top_up().into()).await),
        ("Bad Request: CURRENCY_INVALID", send("t", "d", "p", "kzt", top_up().into()).await),
        ("Bad Request: there must be at least one price", send("t", "d", "p", "KZT", vec![]).await),
        (
            "Bad Request: can't parse labeled price: LabeledPrice label must be non-empty",
            send("t", "d", "p", "KZT", vec![LabeledPrice::new("", 100)]).await,
        ),
        (
            "Bad Request: total price must be positive",
            send("t", "d", "p", "KZT", vec![LabeledPrice::new("x", 0)]).await,
        ),
        (
            "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
            send("t", "d", "p", "KZT", vec![LabeledPrice::new("a", u32::MAX), LabeledPrice::new("b", 1)]).await,
        ),
        ("Bad Request: PAYMENT_PROVIDER_INVALID", bot.send_invoice(chat, "t", "d", "p", "KZT", top_up()).await),
        (
            "Bad Request: REPLY_MARKUP_BUY_EMPTY",
            send("t", "d", "p", "KZT", top_up().into())
                .reply_markup(InlineKeyboardMarkup::new([[
                    InlineKeyboardButton::callback("Отмена", "cancel"),
                    InlineKeyboardButton::pay("Оплатить"),
                ]]))
                .await,
        ),
    ];
    for (expected, result) in cases {
        assert_eq!(unknown(api_error(result)), expected);
    }
    // Exactly at the limits is fine; a 32-character title may be Cyrillic (characters, not bytes).
    send(&"Т".repeat(32), &"d".repeat(255), &"p".repeat(128), "KZT", top_up().into()).await.expect("at the limits");
    // Telegram Stars need no provider.
    bot.send_invoice(chat, "Stars", "d", "p", "XTR", [LabeledPrice::new("x", 100)]).await.expect("stars");

    // Through raw requests: missing parameters and prices that are not JSON.
    let body = |prices: &str| {
        format!(
            "chat_id=5001&title=t&description=d&payload=p&provider_token=x&currency=KZT&prices={}",
            url::form_urlencoded::byte_serialize(prices.as_bytes()).collect::<String>()
        )
    };
    let form = "application/x-www-form-urlencoded";
    for (body, expected) in [
        (
            "chat_id=5001&description=d&payload=p&currency=KZT&prices=[]".to_owned(),
            "Bad Request: parameter \"title\" is required",
        ),
        (body("[{\"label\":\"x\",\"amount\":1"), "Bad Request: can't parse prices JSON object"),
        (body("{\"label\":\"x\",\"amount\":1}"), "Bad Request: expected an Array of labeled prices"),
        (body("[{\"label\":\"x\"}]"), "Bad Request: can't parse labeled price: Can't find field \"amount\""),
        (
            body("[{\"label\":\"x\",\"amount\":1.5}]"),
            "Bad Request: can't parse labeled price: Field \"amount\" must be a valid Number",
        ),
        (body("[7]"), "Bad Request: can't parse labeled price: LabeledPrice must be an Object"),
    ] {
        let (status, answer) = raw_post(&sandbox, "sendInvoice", form, &body).await;
        assert_eq!((status, answer["description"].as_str()), (400, Some(expected)), "{body}");
    }
    // Prices may include a discount, as long as the total is positive.
    let (status, answer) = raw_post(
        &sandbox,
        "sendInvoice",
        form,
        &body("[{\"label\":\"Тариф\",\"amount\":\"500000\"},{\"label\":\"Скидка\",\"amount\":-100000}]"),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["invoice"]["total_amount"], 400_000);
    assert_eq!(sandbox.messages(5001).len(), 3, "only the valid invoices were sent");
}

#[tokio::test]
async fn pay_buttons_belong_to_invoices_only() {
    let (sandbox, bot) = start().await;
    open_chat(&sandbox, 5001);
    let chat = ChatId(5001);
    let pay = InlineKeyboardMarkup::new([[InlineKeyboardButton::pay("Оплатить")]]);
    let e = api_error(bot.send_message(chat, "x").reply_markup(pay.clone()).await);
    assert_eq!(unknown(e), "Bad Request: BUTTON_TYPE_INVALID");

    let own = InlineKeyboardMarkup::new([
        vec![InlineKeyboardButton::pay("Оплатить 2 000 ₸")],
        vec![InlineKeyboardButton::callback("Отмена", "cancel")],
    ]);
    let invoice = bot
        .send_invoice(chat, "Пополнение", "Пополнение баланса", "topup:1", "KZT", top_up())
        .provider_token(TEST_PROVIDER)
        .reply_markup(own)
        .await
        .expect("an invoice with its own pay button");
    let m = &sandbox.messages(5001)[0];
    assert!(m.inline_keyboard[0][0].pay);
    assert_eq!(m.inline_keyboard[1][0].callback_data.as_deref(), Some("cancel"));
    let found = sandbox.find_button(5001, &|l| l.starts_with("Оплатить"));
    assert_eq!(
        found,
        Some(ButtonRef::Inline {
            message_id: invoice.id.0,
            text: "Оплатить 2 000 ₸".into(),
            callback_data: PAY_BUTTON_DATA.into(),
            pay: true,
        })
    );
    assert!(PAY_BUTTON_DATA.len() > 64, "no real callback data can be the pay button's");

    // Editing the keyboard must keep the pay button first; removing it restores the default.
    let cancel_only = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Отмена", "cancel")]]);
    let e = api_error(bot.edit_message_reply_markup(chat, invoice.id).reply_markup(cancel_only).await);
    assert_eq!(unknown(e), "Bad Request: REPLY_MARKUP_BUY_EMPTY");
    bot.edit_message_reply_markup(chat, invoice.id).await.expect("the default keyboard");
    let m = &sandbox.messages(5001)[0];
    let labels: Vec<&str> = m.inline_keyboard.iter().flatten().map(|b| b.text.as_str()).collect();
    assert_eq!(labels, vec!["Pay KZT 2,000.00"]);
    let e = api_error(bot.edit_message_text(chat, invoice.id, "x").await);
    assert_eq!(e, ApiError::Unknown("Bad Request: there is no text in the message to edit".into()));

    // A pay button cannot be added to a text message by editing either.
    let text = bot.send_message(chat, "x").await.expect("send");
    let e = api_error(bot.edit_message_reply_markup(chat, text.id).reply_markup(pay).await);
    assert_eq!(unknown(e), "Bad Request: BUTTON_TYPE_INVALID");
}

#[tokio::test]
async fn paying_an_invoice_goes_through_the_pre_checkout_to_the_successful_payment() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let sent = bot
        .send_invoice(ChatId(5001), "Пополнение", "Пополнение баланса на 2 000 ₸", "topup:5001:42", "KZT", top_up())
        .provider_token(TEST_PROVIDER)
        .start_parameter("topup")
        .photo_url("https://example.kz/logo.png".parse().expect("url"))
        .need_email(false)
        .await
        .expect("sendInvoice works");
    let invoice = sent.invoice().expect("teloxide reads the invoice");
    assert_eq!(
        (invoice.title.as_str(), invoice.description.as_str(), invoice.currency.as_str(), invoice.total_amount),
        ("Пополнение", "Пополнение баланса на 2 000 ₸", "KZT", 200_000)
    );
    assert_eq!(invoice.start_parameter, "topup");

    let m = sandbox.messages(5001).remove(0);
    assert_eq!(
        m.content,
        BotContent::Invoice {
            title: "Пополнение".into(),
            description: "Пополнение баланса на 2 000 ₸".into(),
            currency: "KZT".into(),
            total_amount: 200_000,
            start_parameter: "topup".into(),
        }
    );
    assert_eq!(m.text, "Пополнение\nПополнение баланса на 2 000 ₸\nKZT 2,000.00");
    let button = sandbox.find_button(5001, &|l| l.contains("Pay")).expect("the default pay button");
    let ButtonRef::Inline { message_id, callback_data, pay: true, text } = button else { panic!("{button:?}") };
    assert_eq!((message_id, text.as_str()), (sent.id.0, "Pay KZT 2,000.00"));

    // Pressing the pay button: a pre-checkout query, as teloxide reads it.
    let pre_id = sandbox.press_inline(&user, message_id, &callback_data);
    let batch = updates(&bot).await;
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].id.0, pre_id as u32);
    let UpdateKind::PreCheckoutQuery(query) = &batch[0].kind else { panic!("{:?}", batch[0].kind) };
    assert_eq!(query.from.id.0, 5001);
    assert_eq!((query.currency.as_str(), query.total_amount), ("KZT", 200_000));
    assert_eq!(query.invoice_payload, "topup:5001:42");
    assert_eq!(sandbox.payment_followup(pre_id), None, "nothing follows before the bot answers");

    bot.answer_pre_checkout_query(query.id.clone(), true).await.expect("the bot accepts");
    let followup = sandbox.payment_followup(pre_id).expect("a successful payment follows");
    let batch = bot.get_updates().offset(pre_id + 1).timeout(0).await.expect("getUpdates");
    assert_eq!(batch.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![followup as u32]);
    let UpdateKind::Message(message) = &batch[0].kind else { panic!("{:?}", batch[0].kind) };
    assert_eq!(message.chat.id, ChatId(5001));
    assert_eq!(message.from.as_ref().map(|u| u.id.0), Some(5001));
    let payment = message.successful_payment().expect("teloxide reads the successful payment");
    assert_eq!((payment.currency.as_str(), payment.total_amount), ("KZT", 200_000));
    assert_eq!(payment.invoice_payload, "topup:5001:42");
    assert_eq!(payment.telegram_payment_charge_id.0, "sbx_charge_000001");
    assert_eq!(payment.provider_payment_charge_id, "provider_sbx_charge_000001");
    assert!(sandbox.events_since(0).contains(&SandboxEvent::PreCheckoutAnswered {
        chat_id: 5001,
        update_id: pre_id,
        ok: true,
        error_message: None,
        followup: Some(followup),
    }));

    // The same invoice can be paid again: a new query and a new charge id.
    let again = sandbox.pay_invoice(&user, 5001, message_id).expect("payable");
    let batch = bot.get_updates().offset(followup + 1).timeout(0).await.expect("getUpdates");
    let UpdateKind::PreCheckoutQuery(query) = &batch[0].kind else { panic!("{:?}", batch[0].kind) };
    bot.answer_pre_checkout_query(query.id.clone(), true).await.expect("accepted");
    let second = sandbox.payment_followup(again).expect("follows");
    let batch = bot.get_updates().offset(again + 1).timeout(0).await.expect("getUpdates");
    assert_eq!(batch[0].id.0, second as u32);
    let UpdateKind::Message(message) = &batch[0].kind else { panic!("{:?}", batch[0].kind) };
    let charge = message.successful_payment().map(|p| p.telegram_payment_charge_id.0.clone());
    assert_eq!(charge.as_deref(), Some("sbx_charge_000002"));
}

#[tokio::test]
async fn a_declined_pre_checkout_needs_a_message_and_a_query_is_answered_once() {
    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let sent = bot
        .send_invoice(ChatId(5001), "Пополнение", "Пополнение баланса", "topup:1", "KZT", top_up())
        .provider_token(TEST_PROVIDER)
        .await
        .expect("sendInvoice");
    let pre_id = sandbox.pay_invoice(&user, 5001, sent.id.0).expect("payable");
    let batch = updates(&bot).await;
    let UpdateKind::PreCheckoutQuery(query) = &batch[0].kind else { panic!("{:?}", batch[0].kind) };

    let e = api_error(bot.answer_pre_checkout_query(query.id.clone(), false).await);
    assert_eq!(unknown(e), "Bad Request: parameter \"error_message\" is required");
    bot.answer_pre_checkout_query(query.id.clone(), false)
        .error_message("Пополнение временно недоступно")
        .await
        .expect("the bot declines");
    assert_eq!(sandbox.payment_followup(pre_id), None);
    let declined = SandboxEvent::PreCheckoutAnswered {
        chat_id: 5001,
        update_id: pre_id,
        ok: false,
        error_message: Some("Пополнение временно недоступно".into()),
        followup: None,
    };
    assert!(sandbox.events_since(0).contains(&declined), "{:?}", sandbox.events_since(0));
    assert!(bot.get_updates().offset(pre_id + 1).timeout(0).await.expect("getUpdates").is_empty());

    // A second answer, and an answer to a query that never was, are refused.
    assert_eq!(api_error(bot.answer_pre_checkout_query(query.id.clone(), true).await), ApiError::InvalidQueryId);
    let unknown_id = teloxide::types::PreCheckoutQueryId("12345".into());
    assert_eq!(api_error(bot.answer_pre_checkout_query(unknown_id, true).await), ApiError::InvalidQueryId);

    // Nobody pays what is not an invoice, nor an invoice in someone else's chat.
    let text = bot.send_message(ChatId(5001), "x").await.expect("send");
    assert_eq!(sandbox.pay_invoice(&user, 5001, text.id.0), None);
    assert_eq!(sandbox.pay_invoice(&user, 5001, 999), None);
    assert_eq!(sandbox.pay_invoice(&ru(6002, "Ольга"), 5001, sent.id.0), None);
}

#[tokio::test]
async fn a_successful_payment_can_be_delivered_twice() {
    let (sandbox, bot) = start().await;
    let user = ru(5001, "Ерлан");
    let first = sandbox.send_successful_payment(&user, 5001, "topup:5001:7", "KZT", 150_000, "tg_charge_1");
    let second = sandbox.send_successful_payment(&user, 5001, "topup:5001:7", "KZT", 150_000, "tg_charge_1");
    let stars = sandbox.send_successful_payment(&user, 5001, "stars:1", "XTR", 50, "tg_charge_2");
    let batch = updates(&bot).await;
    assert_eq!(batch.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![first as u32, second as u32, stars as u32]);
    let payments: Vec<_> = batch
        .iter()
        .map(|u| match &u.kind {
            UpdateKind::Message(m) => m.successful_payment().cloned().expect("a successful payment"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(payments[0], payments[1], "the same payment twice");
    assert_eq!(payments[0].telegram_payment_charge_id.0, "tg_charge_1");
    assert_eq!((payments[0].total_amount, payments[0].invoice_payload.as_str()), (150_000, "topup:5001:7"));
    assert_eq!((payments[2].currency.as_str(), payments[2].provider_payment_charge_id.as_str()), ("XTR", ""));
    // The user's messages take message ids in the chat, like any other.
    bot.send_message(ChatId(5001), "ok").await.expect("the chat is open");
    assert_eq!(sandbox.messages(5001)[0].message_id, 4);
}

#[tokio::test]
async fn the_terminal_shows_an_invoice_and_pays_it() {
    let (sandbox, out) = terminal_session("/buy\n1\n").await;
    assert!(
        out.contains("🤖 🧾 Пополнение\n   Пополнение баланса\n   KZT 2,000.00\n   [1] Pay KZT 2,000.00 💳"),
        "{out}"
    );
    assert!(out.contains("💳 (payment accepted)"), "{out}");
    assert!(out.contains("🤖 Оплата получена: 200000 KZT"), "{out}");
    assert!(!out.contains("(no reply)") && !out.contains("did not answer"), "{out}");
    assert_eq!(sandbox.messages(5001).len(), 2);
}

#[tokio::test]
async fn updates_of_kinds_the_bot_did_not_ask_for_are_never_delivered() {
    use teloxide::types::AllowedUpdate;

    let (sandbox, bot) = start().await;
    let user = open_chat(&sandbox, 5001);
    let sent = bot
        .send_invoice(ChatId(5001), "Пополнение", "Пополнение баланса", "topup:1", "KZT", top_up())
        .provider_token(TEST_PROVIDER)
        .await
        .expect("sendInvoice");
    // As teloxide asks for a tree that handles only messages and callback queries.
    let got = bot
        .get_updates()
        .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
        .timeout(0)
        .await
        .expect("getUpdates");
    assert!(got.is_empty());
    let pre_id = sandbox.pay_invoice(&user, 5001, sent.id.0).expect("payable");
    let text_id = sandbox.send_text(&user, "привет");
    let got = updates(&bot).await;
    assert_eq!(got.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![text_id as u32], "the setting is kept");
    assert_eq!(sandbox.not_delivered(pre_id).as_deref(), Some("pre_checkout_query"));
    assert_eq!(sandbox.not_delivered(text_id), None);
    let started = Instant::now();
    assert!(!sandbox.wait_handled(pre_id, Duration::from_secs(10)).await);
    assert!(started.elapsed() < Duration::from_secs(1), "no waiting for an update that never comes");

    // An empty list is Telegram's default again: every kind.
    bot.get_updates().offset(text_id + 1).allowed_updates([]).timeout(0).await.expect("getUpdates");
    let again = sandbox.pay_invoice(&user, 5001, sent.id.0).expect("payable");
    let got = updates(&bot).await;
    assert_eq!(got.iter().map(|u| u.id.0).collect::<Vec<_>>(), vec![again as u32]);
    assert!(matches!(got[0].kind, UpdateKind::PreCheckoutQuery(_)));
}

// --- forums, topics, copies, files -------------------------------------------------------------

const STAFF: i64 = -1_001_000_000_001;

fn thread(id: i32) -> teloxide::types::ThreadId {
    teloxide::types::ThreadId(MessageId(id))
}

fn is_forum(chat: &teloxide::types::Chat) -> bool {
    use teloxide::types::{ChatKind, ChatPublic, PublicChatKind};
    matches!(&chat.kind, ChatKind::Public(ChatPublic { kind: PublicChatKind::Supergroup(s), .. }) if s.is_forum)
}

/// The messages among the pending updates, confirming them.
async fn take_messages(bot: &Bot, after: &mut i32) -> Vec<Message> {
    let got = bot.get_updates().offset(*after + 1).timeout(0).await.expect("getUpdates");
    if let Some(last) = got.last() {
        *after = last.id.0 as i32;
    }
    got.into_iter()
        .filter_map(|u| match u.kind {
            UpdateKind::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn topics_are_created_edited_closed_and_deleted_like_telegram() {
    let (sandbox, bot) = start().await;
    sandbox.add_group(-4_001, "Plain group");
    sandbox.add_forum_group(STAFF, "Support");
    assert_eq!(
        unknown(api_error(bot.create_forum_topic(ChatId(-4_001), "x").await)),
        "Bad Request: the chat is not a forum"
    );
    assert_eq!(api_error(bot.create_forum_topic(ChatId(-1_009), "x").await), ApiError::ChatNotFound);
    let e = api_error(bot.create_forum_topic(ChatId(STAFF), " \n ").await);
    assert_eq!(unknown(e), "Bad Request: title must be non-empty");

    let first = bot.create_forum_topic(ChatId(STAFF), "Ерлан (5001)").await.expect("createForumTopic");
    assert_eq!(first.name, "Ерлан (5001)");
    assert!(forum::TOPIC_COLORS.contains(&first.icon_color.to_u32()), "{:?}", first.icon_color);
    assert!(first.thread_id.0.0 > 1, "id 1 is the General topic's");
    // Telegram cuts a long name to 128 characters.
    let long = bot
        .create_forum_topic(ChatId(STAFF), "я".repeat(200))
        .icon_color(teloxide::types::Rgb::from_u32(0xFB_6F5F))
        .await
        .expect("a long name");
    assert_eq!(long.name.chars().count(), 128);
    assert_eq!(long.icon_color.to_u32(), 0xFB_6F5F);
    assert_eq!(long.thread_id.0.0, first.thread_id.0.0 + 1, "a topic's id is its creation message's id");

    let t = first.thread_id;
    bot.edit_forum_topic(ChatId(STAFF), t).name("Ерлан (5001) — срочно").await.expect("rename");
    let e = api_error(bot.edit_forum_topic(ChatId(STAFF), t).name("Ерлан (5001) — срочно").await);
    assert_eq!(unknown(e), "Bad Request: TOPIC_NOT_MODIFIED");
    bot.close_forum_topic(ChatId(STAFF), t).await.expect("close");
    assert_eq!(unknown(api_error(bot.close_forum_topic(ChatId(STAFF), t).await)), "Bad Request: TOPIC_NOT_MODIFIED");
    assert!(sandbox.topic(STAFF, t.0.0).is_some_and(|info| info.closed));
    // The bot manages topics: it may still write into a closed one.
    bot.send_message(ChatId(STAFF), "закрыто")
        .message_thread_id(t)
        .await
        .expect("a closed topic takes the bot's messages");
    bot.reopen_forum_topic(ChatId(STAFF), t).await.expect("reopen");
    assert_eq!(unknown(api_error(bot.reopen_forum_topic(ChatId(STAFF), t).await)), "Bad Request: TOPIC_NOT_MODIFIED");

    let info = sandbox.topic(STAFF, t.0.0).expect("the topic");
    assert_eq!((info.name.as_str(), info.closed), ("Ерлан (5001) — срочно", false));
    let changes: Vec<TopicChange> = sandbox
        .events_since(0)
        .into_iter()
        .filter_map(|e| match e {
            SandboxEvent::TopicChanged { chat_id: STAFF, topic, change } if topic.thread_id == t.0.0 => Some(change),
            _ => None,
        })
        .collect();
    assert_eq!(changes, [TopicChange::Created, TopicChange::Edited, TopicChange::Closed, TopicChange::Reopened]);

    bot.delete_forum_topic(ChatId(STAFF), t).await.expect("delete");
    assert_eq!(unknown(api_error(bot.delete_forum_topic(ChatId(STAFF), t).await)), "Bad Request: TOPIC_ID_INVALID");
    assert_eq!(unknown(api_error(bot.close_forum_topic(ChatId(STAFF), t).await)), "Bad Request: TOPIC_ID_INVALID");
    assert_eq!(sandbox.topics(STAFF).iter().map(|t| t.thread_id).collect::<Vec<_>>(), vec![long.thread_id.0.0]);
    assert!(sandbox.thread_messages(STAFF, t.0.0).is_empty(), "its messages went with it");
}

#[tokio::test]
async fn sends_go_into_topics_and_a_deleted_topic_is_not_found() {
    let (sandbox, bot) = start().await;
    sandbox.add_forum_group(STAFF, "Support");
    let customer = open_chat(&sandbox, 5001);
    let topic = bot.create_forum_topic(ChatId(STAFF), "Ерлан (5001)").await.expect("topic").thread_id;

    let sent = bot
        .send_message(ChatId(STAFF), "Новое обращение")
        .message_thread_id(topic)
        .reply_markup(keyboard(&[&[("Закрыть", "close")]]))
        .await
        .expect("into the topic");
    assert_eq!(sent.thread_id, Some(topic));
    assert!(sent.is_topic_message);
    assert!(is_forum(&sent.chat));
    let created =
        sent.reply_to_message().and_then(|m| m.forum_topic_created()).expect("replies to the topic's creation");
    assert_eq!(created.name, "Ерлан (5001)");

    let pdf = InputFile::memory(b"%PDF-1.4".to_vec()).file_name("a.pdf");
    let doc = bot.send_document(ChatId(STAFF), pdf).message_thread_id(topic).await.expect("a document into the topic");
    assert_eq!(doc.thread_id, Some(topic));
    let photo = InputFile::memory(vec![0xFF_u8; 2_000]).file_name("p.jpg");
    bot.send_photo(ChatId(STAFF), photo).caption("фото").message_thread_id(topic).await.expect("a photo");
    bot.send_location(ChatId(STAFF), 43.2, 76.9).message_thread_id(topic).await.expect("a location");
    let general = bot.send_message(ChatId(STAFF), "В General").await.expect("the General topic");
    assert_eq!((general.thread_id, general.is_topic_message), (None, false));
    assert!(general.reply_to_message().is_none());

    let in_topic = sandbox.thread_messages(STAFF, topic.0.0);
    assert_eq!(in_topic.len(), 4);
    assert!(in_topic.iter().all(|m| m.thread_id == Some(topic.0.0)));
    assert_eq!(in_topic[0].inline_keyboard[0][0].callback_data.as_deref(), Some("close"));
    assert!(matches!(in_topic[2].content, BotContent::Photo { .. }));
    assert_eq!(sandbox.messages(STAFF).len(), 5);

    let e = api_error(bot.send_message(ChatId(STAFF), "x").message_thread_id(thread(999)).await);
    assert_eq!(unknown(e), "Bad Request: message thread not found");
    // In a private chat Telegram ignores the thread.
    let private = bot.send_message(ChatId(5001), "hi").message_thread_id(thread(999)).await.expect("ignored");
    assert_eq!(private.thread_id, None);

    // Staff delete the topic in the app: the bot learns it from the next send.
    assert!(sandbox.delete_topic(STAFF, topic.0.0));
    assert!(!sandbox.delete_topic(STAFF, topic.0.0));
    let e = api_error(bot.send_message(ChatId(STAFF), "ещё").message_thread_id(topic).await);
    assert_eq!(unknown(e), "Bad Request: message thread not found");
    sandbox.send_text(&customer, "алло");
    let e = api_error(bot.copy_message(ChatId(STAFF), ChatId(5001), MessageId(2)).message_thread_id(topic).await);
    assert_eq!(unknown(e), "Bad Request: message thread not found");
    assert!(sandbox.thread_messages(STAFF, topic.0.0).is_empty());
    assert_eq!(sandbox.messages(STAFF).len(), 1, "only the General message is left");
    assert!(sandbox.events_since(0).iter().any(
        |e| matches!(e, SandboxEvent::TopicChanged { change: TopicChange::Deleted, topic: t, .. } if t.thread_id == topic.0.0)
    ));
}

#[tokio::test]
async fn the_administrators_of_a_group_are_the_bot_and_the_members_made_admins() {
    let (sandbox, bot) = start().await;
    sandbox.add_forum_group(STAFF, "Support");
    let anna = SandboxUser::new(9001, "Анна", Some("ru"));
    let guest = SandboxUser::new(9002, "Гость", Some("ru"));
    sandbox.add_admin(STAFF, &anna);
    sandbox.add_member(STAFF, &guest);
    let ids = |members: Vec<teloxide::types::ChatMember>| members.iter().map(|m| m.user.id.0).collect::<Vec<_>>();
    let admins = bot.get_chat_administrators(ChatId(STAFF)).await.expect("administrators");
    assert!(admins.iter().all(|m| m.is_administrator()), "{admins:?}");
    assert!(
        admins.iter().any(|m| m.user.is_bot
            && matches!(&m.kind, teloxide::types::ChatMemberKind::Administrator(a) if a.can_manage_topics)),
        "{admins:?}"
    );
    assert_eq!(ids(admins).into_iter().filter(|id| *id != 8_000_000_001).collect::<Vec<_>>(), [9001]);
    assert!(sandbox.is_member(STAFF, 9002));
    sandbox.remove_admin(STAFF, 9001);
    let admins = bot.get_chat_administrators(ChatId(STAFF)).await.expect("administrators");
    assert_eq!(ids(admins).len(), 1, "only the bot is left");
    // A private chat has none.
    sandbox.send_text(&anna, "hi");
    assert!(bot.get_chat_administrators(ChatId(9001)).await.is_err());
}

#[tokio::test]
async fn staff_messages_in_topics_reach_the_bot_with_their_thread() {
    let (sandbox, bot) = start().await;
    sandbox.add_forum_group(STAFF, "Support");
    let topic = bot.create_forum_topic(ChatId(STAFF), "Ерлан (5001)").await.expect("topic").thread_id;
    let staff = SandboxUser::new(9001, "Айгерим", Some("ru"));
    sandbox.add_member(STAFF, &staff);
    assert!(sandbox.is_member(STAFF, 9001));
    let ids = [
        sandbox.send_topic_text(&staff, STAFF, topic.0.0, "Здравствуйте! Чем помочь?"),
        sandbox.send_topic_text(&staff, STAFF, topic.0.0, "/priority high"),
        sandbox.send_topic_document(&staff, STAFF, topic.0.0, "прайс.pdf", 2 * 1024 * 1024),
        sandbox.send_topic_photo(&staff, STAFF, topic.0.0),
        sandbox.send_group_text(&staff, STAFF, "всем привет"),
    ];
    let mut offset = 0;
    let got = take_messages(&bot, &mut offset).await;
    assert_eq!(got.len(), ids.len());
    for m in &got[..4] {
        assert_eq!((m.thread_id, m.is_topic_message), (Some(topic), true), "{m:?}");
        assert!(is_forum(&m.chat));
        assert_eq!(m.from.as_ref().map(|u| u.id.0), Some(9001));
        let created = m.reply_to_message().and_then(|r| r.forum_topic_created());
        assert_eq!(created.map(|c| c.name.as_str()), Some("Ерлан (5001)"));
    }
    assert_eq!(got[0].text(), Some("Здравствуйте! Чем помочь?"));
    assert!(matches!(got[1].entities().unwrap_or_default()[0].kind, MessageEntityKind::BotCommand));
    let doc = got[2].document().expect("a document");
    assert_eq!((doc.file_name.as_deref(), doc.file.size), (Some("прайс.pdf"), 2 * 1024 * 1024));
    assert_eq!(got[3].photo().map(<[_]>::len), Some(3));
    assert_eq!((got[4].thread_id, got[4].is_topic_message), (None, false));

    // A button under a message in the topic: the press carries the message with its thread.
    let alert = bot
        .send_message(ChatId(STAFF), "Клиент ждёт 10 минут")
        .message_thread_id(topic)
        .reply_markup(keyboard(&[&[("Беру", "take")]]))
        .await
        .expect("send");
    let found = sandbox.find_button_in(STAFF, Some(topic.0.0), &|l| l == "Беру");
    assert!(matches!(found, Some(ButtonRef::Inline { message_id, .. }) if message_id == alert.id.0));
    assert_eq!(sandbox.find_button_in(STAFF, Some(topic.0.0 + 100), &|l| l == "Беру"), None);
    sandbox.press_inline_in(&staff, STAFF, alert.id.0, "take");
    let got = bot.get_updates().offset(offset + 1).timeout(0).await.expect("getUpdates");
    let UpdateKind::CallbackQuery(press) = &got[0].kind else { panic!("{:?}", got[0].kind) };
    let pressed = press.regular_message().expect("the message");
    assert_eq!((pressed.thread_id, pressed.chat.id), (Some(topic), ChatId(STAFF)));
}

#[tokio::test]
async fn copy_message_relays_both_ways_with_text_photo_document_and_voice() {
    let (sandbox, bot) = start().await;
    sandbox.add_forum_group(STAFF, "Support");
    let customer = ru(5001, "Ерлан");
    let staff = SandboxUser::new(9001, "Айгерим", Some("ru"));
    let topic = bot.create_forum_topic(ChatId(STAFF), "Ерлан (5001)").await.expect("topic").thread_id;
    sandbox.send_text(&customer, "/help мне нужен оператор");
    sandbox.send_photo(&customer);
    sandbox.send_document(&customer, "big.zip", 30 * 1024 * 1024);
    sandbox.send_voice(&customer);
    sandbox.send_sticker(&customer);
    let mut offset = 0;
    let from_customer = take_messages(&bot, &mut offset).await;
    assert_eq!(from_customer.len(), 5);

    let mut copies = Vec::new();
    for m in &from_customer {
        let copy = bot
            .copy_message(ChatId(STAFF), ChatId(5001), m.id)
            .message_thread_id(topic)
            .await
            .expect("copyMessage into the topic");
        copies.push(copy.0);
    }
    let in_topic = sandbox.thread_messages(STAFF, topic.0.0);
    assert_eq!(in_topic.iter().map(|m| m.message_id).collect::<Vec<_>>(), copies);
    assert!(in_topic.iter().zip(&from_customer).all(|(c, m)| c.copied_from == Some((5001, m.id.0))));
    assert_eq!(
        (in_topic[0].content.clone(), in_topic[0].text.as_str()),
        (BotContent::Text, "/help мне нужен оператор")
    );
    let largest = from_customer[1].photo().and_then(|p| p.last()).map(|p| p.file.id.0.clone()).expect("a photo");
    assert_eq!(in_topic[1].content, BotContent::Photo { file_id: largest });
    let doc = from_customer[2].document().expect("a document");
    assert_eq!(
        in_topic[2].content,
        BotContent::Document { file_name: "big.zip".into(), bytes: 30 * 1024 * 1024, file_id: doc.file.id.0.clone() }
    );
    assert!(matches!(&in_topic[3].content, BotContent::Voice { duration: 3, .. }));
    assert!(matches!(&in_topic[4].content, BotContent::Sticker { emoji: Some(_), .. }));

    // A new caption for a copied photo, checked like any caption.
    let e = api_error(
        bot.copy_message(ChatId(STAFF), ChatId(5001), from_customer[1].id)
            .caption("<b>фото")
            .parse_mode(ParseMode::Html)
            .await,
    );
    assert!(matches!(e, ApiError::CantParseEntities(_)), "{e:?}");
    bot.copy_message(ChatId(STAFF), ChatId(5001), from_customer[1].id)
        .caption("<b>Фото</b> от клиента")
        .parse_mode(ParseMode::Html)
        .message_thread_id(topic)
        .await
        .expect("a copy with a new caption");
    assert_eq!(
        sandbox.thread_messages(STAFF, topic.0.0).last().map(|m| m.text.clone()),
        Some("Фото от клиента".into())
    );

    // The other way: what staff write in the topic goes to the customer.
    sandbox.send_topic_text(&staff, STAFF, topic.0.0, "Здравствуйте, Ерлан!");
    sandbox.send_topic_document(&staff, STAFF, topic.0.0, "акт.pdf", 150_000);
    let from_staff = take_messages(&bot, &mut offset).await;
    for m in &from_staff {
        bot.copy_message(ChatId(5001), ChatId(STAFF), m.id).await.expect("copyMessage to the customer");
    }
    let to_customer = sandbox.messages(5001);
    assert_eq!(to_customer.len(), 2);
    assert_eq!(to_customer[0].text, "Здравствуйте, Ерлан!");
    assert_eq!((to_customer[0].thread_id, to_customer[0].copied_from), (None, Some((STAFF, from_staff[0].id.0))));
    assert!(
        matches!(&to_customer[1].content, BotContent::Document { file_name, bytes: 150_000, .. } if file_name == "акт.pdf")
    );
    // The bot's own message can be copied too.
    bot.copy_message(ChatId(STAFF), ChatId(5001), MessageId(to_customer[0].message_id)).await.expect("own message");
    assert_eq!(sandbox.latest_copy_thread(STAFF, 5001), Some(topic.0.0));

    let e = api_error(bot.copy_message(ChatId(STAFF), ChatId(5001), MessageId(999)).await);
    assert_eq!(e, ApiError::MessageToCopyNotFound);
    let e = api_error(bot.copy_message(ChatId(5001), ChatId(STAFF), MessageId(topic.0.0)).await);
    assert_eq!(unknown(e), "Bad Request: message can't be copied", "the topic's creation is a service message");
    sandbox.set_blocked(5001, true);
    let e = api_error(bot.copy_message(ChatId(5001), ChatId(STAFF), from_staff[0].id).await);
    assert_eq!(e, ApiError::BotBlocked);
    // The answer is a bare MessageId, as teloxide expects.
    let (status, answer) = raw_post(
        &sandbox,
        "copyMessage",
        "application/json",
        &format!(r#"{{"chat_id":{STAFF},"from_chat_id":{STAFF},"message_id":{}}}"#, from_staff[0].id.0),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["result"].as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["message_id".into()])
    );
}

#[tokio::test]
async fn get_file_refuses_files_over_twenty_megabytes() {
    let (sandbox, bot) = start().await;
    let customer = ru(5001, "Ерлан");
    sandbox.send_document(&customer, "big.zip", 30 * 1024 * 1024);
    sandbox.send_document(&customer, "scan.pdf", 20 * 1024 * 1024);
    sandbox.send_voice(&customer);
    let mut offset = 0;
    let got = take_messages(&bot, &mut offset).await;
    let id = |i: usize| got[i].document().map(|d| d.file.id.clone()).expect("a document");

    assert_eq!(unknown(api_error(bot.get_file(id(0)).await)), "Bad Request: file is too big");
    let file = bot.get_file(id(1)).await.expect("20 MB exactly can be downloaded");
    assert_eq!(file.size, 20 * 1024 * 1024);
    assert!(file.path.starts_with("documents/") && file.path.ends_with(".pdf"), "{}", file.path);
    let voice = got[2].voice().map(|v| v.file.id.clone()).expect("a voice");
    assert!(bot.get_file(voice).await.expect("a voice").path.starts_with("voice/"));
    let e = api_error(bot.get_file(teloxide::types::FileId("nonsense".into())).await);
    assert_eq!(unknown(e), "Bad Request: invalid file_id");

    // A file the bot uploaded has its real size.
    open_chat(&sandbox, 5002);
    let sent =
        bot.send_document(ChatId(5002), InputFile::memory(vec![1_u8; 4_096]).file_name("a.txt")).await.expect("send");
    let uploaded = sent.document().map(|d| d.file.id.clone()).expect("a document");
    assert_eq!(bot.get_file(uploaded).await.expect("getFile").size, 4_096);
}

#[tokio::test]
async fn photos_upload_with_a_checked_caption_and_resend_by_file_id() {
    let (sandbox, bot) = start().await;
    let customer = open_chat(&sandbox, 5001);
    let jpeg = vec![0xFF_u8; 5_000];
    let sent = bot
        .send_photo(ChatId(5001), InputFile::memory(jpeg).file_name("map.jpg"))
        .caption("<b>Как нас найти</b>")
        .parse_mode(ParseMode::Html)
        .await
        .expect("sendPhoto");
    let sizes = sent.photo().expect("a photo").to_vec();
    assert_eq!(sizes.len(), 3);
    assert_eq!(sizes.last().map(|s| s.file.size), Some(5_000));
    assert_eq!(sent.caption(), Some("Как нас найти"));
    let e = api_error(
        bot.send_photo(ChatId(5001), InputFile::memory(vec![1_u8; 10]))
            .caption("<b>x")
            .parse_mode(ParseMode::Html)
            .await,
    );
    assert!(matches!(e, ApiError::CantParseEntities(_)), "{e:?}");
    let e = api_error(bot.send_photo(ChatId(5001), InputFile::memory(vec![1_u8; 10])).caption("я".repeat(1025)).await);
    assert_eq!(unknown(e), "Bad Request: message caption is too long");

    // A user's photo goes on by its file_id, with all its sizes.
    sandbox.send_photo(&customer);
    let mut offset = 0;
    let got = take_messages(&bot, &mut offset).await;
    let theirs = got[0].photo().expect("a photo").to_vec();
    let again = bot.send_photo(ChatId(5001), InputFile::file_id(theirs[2].file.id.clone())).await.expect("by file_id");
    assert_eq!(
        again.photo().map(|p| p.iter().map(|s| s.file.id.clone()).collect::<Vec<_>>()),
        Some(theirs.iter().map(|s| s.file.id.clone()).collect())
    );
    let by_url = bot.send_photo(ChatId(5001), InputFile::url("https://example.kz/map.jpg".parse().expect("url"))).await;
    assert!(by_url.is_ok_and(|m| m.photo().is_some()));

    // A document's file_id is not a photo, nor the other way round.
    let doc = bot.send_document(ChatId(5001), InputFile::memory(vec![1_u8; 10]).file_name("a.txt")).await.expect("doc");
    let doc_id = doc.document().map(|d| d.file.id.clone()).expect("a document");
    let e = api_error(bot.send_photo(ChatId(5001), InputFile::file_id(doc_id)).await);
    assert_eq!(unknown(e), "Bad Request: type of file mismatch");
    let e = api_error(bot.send_document(ChatId(5001), InputFile::file_id(theirs[0].file.id.clone())).await);
    assert_eq!(unknown(e), "Bad Request: type of file mismatch");
    let photos = sandbox.messages(5001).into_iter().filter(|m| matches!(m.content, BotContent::Photo { .. })).count();
    assert_eq!(photos, 3);
}

/// A relay bot: a customer's first private message opens a topic "NAME (ID)" in the staff
/// forum and is answered "Передал оператору"; every customer message is copied into their
/// topic, and what staff write in a topic is copied to its customer.
async fn relay_bot(sandbox: Sandbox, bot: Bot) {
    let observer = sandbox.observer();
    let mut topics: std::collections::HashMap<i64, teloxide::types::ThreadId> = Default::default();
    let mut offset = 0;
    loop {
        let Ok(batch) = bot.get_updates().offset(offset).timeout(5).await else { return };
        for update in batch {
            offset = update.id.as_offset();
            if let UpdateKind::Message(m) = &update.kind {
                if m.chat.is_private() {
                    let customer = m.chat.id.0;
                    let topic = match topics.get(&customer) {
                        Some(t) => *t,
                        None => {
                            let name =
                                format!("{} ({customer})", m.from.as_ref().map_or("?", |u| u.first_name.as_str()));
                            let Ok(created) = bot.create_forum_topic(ChatId(STAFF), name).await else { continue };
                            topics.insert(customer, created.thread_id);
                            let _ = bot.send_message(m.chat.id, "Передал оператору").await;
                            created.thread_id
                        }
                    };
                    let _ = bot.copy_message(ChatId(STAFF), m.chat.id, m.id).message_thread_id(topic).await;
                } else if let Some(thread) = m.thread_id
                    && let Some((customer, _)) = topics.iter().find(|(_, t)| **t == thread)
                {
                    let _ = bot.copy_message(ChatId(*customer), m.chat.id, m.id).await;
                }
            }
            observer.handled(update.id.0 as i32);
        }
    }
}

#[tokio::test]
async fn the_terminal_acts_as_staff_in_the_topics_of_the_staff_group() {
    let (sandbox, bot) = start().await;
    sandbox.add_forum_group(STAFF, "Support");
    let bot_task = tokio::spawn(relay_bot(sandbox.clone(), bot));
    let script = "/topics\nпозовите оператора\n/staff 9001 Айгерим\n/topics\nЗдравствуйте, чем помочь?\n\
                  /document прайс.pdf 2MB\n/sticker\n/topic 99\n/topic general\nвсем привет\n/customer\n/quit\n";
    let mut out: Vec<u8> = Vec::new();
    let options = terminal::TerminalOptions { time: None, staff_chat: Some(STAFF), events: None };
    terminal::run_with_options(
        sandbox.clone(),
        ru(5001, "Ерлан"),
        options,
        tokio::io::BufReader::new(script.as_bytes()),
        &mut out,
    )
    .await
    .expect("the chat runs");
    bot_task.abort();
    let out = String::from_utf8(out).expect("utf-8");
    let topic = sandbox.topics(STAFF).first().map(|t| t.thread_id).expect("a topic was opened");

    assert!(out.contains("(no topics yet)"), "{out}");
    assert!(out.contains("🤖 Передал оператору"), "{out}");
    assert!(out.contains("You are Айгерим (Telegram user 9001), on the staff."), "{out}");
    assert!(out.contains(&format!("🗂 topic #{topic} «Ерлан (5001)» created")), "{out}");
    assert!(out.contains(&format!("🤖 [#{topic} Ерлан (5001)] позовите оператора")), "{out}");
    assert!(out.contains(&format!("(writing in topic #{topic} «Ерлан (5001)»")), "{out}");
    assert!(out.contains(&format!("* #{topic} Ерлан (5001)")), "{out}");
    assert!(out.contains("↪ to user 5001: Здравствуйте, чем помочь?"), "{out}");
    assert!(out.contains("↪ to user 5001: 📄 прайс.pdf"), "{out}");
    assert!(out.contains("(/sticker is for the customer"), "{out}");
    assert!(out.contains("Usage: /topic N"), "{out}");
    assert!(out.contains("(writing in the General topic"), "{out}");
    assert!(out.contains("You are Ерлан (Telegram user 5001, language ru)."), "{out}");
    // Back as the customer: what staff wrote arrived meanwhile.
    let back = out.rsplit("You are Ерлан").next().unwrap_or_default();
    assert!(back.contains("🤖 Здравствуйте, чем помочь?") && back.contains("📄 прайс.pdf (2048 KB)"), "{out}");
    assert!(!back.contains("saved to"), "a file with no content in the sandbox is not saved: {out}");

    let staff_texts: Vec<(Option<i32>, String)> = sandbox
        .calls()
        .into_iter()
        .filter(|(m, _)| m == "copyMessage")
        .map(|(_, p)| (p["message_thread_id"].as_i64().map(|t| t as i32), p["chat_id"].to_string()))
        .collect();
    assert_eq!(staff_texts.len(), 3, "one copy into the topic, two to the customer: {staff_texts:?}");
    let general: Vec<String> =
        sandbox.messages(STAFF).into_iter().filter(|m| m.thread_id.is_none()).map(|m| m.text).collect();
    assert!(general.is_empty(), "the bot answers nothing in General: {general:?}");
}

#[test]
fn sizes_read_with_binary_units() {
    assert_eq!(parse_size("30MB"), Some(30 * 1024 * 1024));
    assert_eq!(parse_size("30 mb"), Some(30 * 1024 * 1024));
    assert_eq!(parse_size("512KB"), Some(512 * 1024));
    assert_eq!(parse_size("1.5MB"), Some(1_572_864));
    assert_eq!(parse_size("2G"), Some(2 << 30));
    assert_eq!(parse_size("20971520"), Some(20_971_520));
    assert_eq!(parse_size("7B"), Some(7));
    for bad in ["", "MB", "30TB", "1..5MB", ".5MB", "5.MB", "-1MB", "3 0MB", "99999999999999999999GB"] {
        assert_eq!(parse_size(bad), None, "{bad}");
    }
}
