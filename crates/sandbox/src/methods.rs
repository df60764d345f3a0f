//! The Bot API methods the sandbox implements, with Telegram's validation and errors.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Map, Value, json};

use super::html::{self, Formatted};
use super::markup::{self, Markup};
use super::media::{self, guess_mime};
use super::state::{FileKind, Keyboard, Shared, StoredFile, StoredMessage, message_json, now};
use super::webhook;
use super::{BotContent, BotMessage, InlineButton, Payment, SandboxEvent, queue_successful_payment};

/// The longest text of a message, in UTF-16 code units.
const MAX_TEXT: usize = 4096;
/// The longest caption, in UTF-16 code units.
const MAX_CAPTION: usize = 1024;
/// The longest `getUpdates` long poll Telegram allows.
const MAX_POLL_SECONDS: u64 = 50;
/// Telegram's answer to a callback or pre-checkout query it does not know (or that was
/// already answered), as the Bot API words `QUERY_ID_INVALID`.
const QUERY_ID_INVALID: &str = "query is too old and response timeout expired or query id is invalid";
/// The longest invoice title, in characters.
const MAX_INVOICE_TITLE: usize = 32;
/// The longest invoice description, in characters.
const MAX_INVOICE_DESCRIPTION: usize = 255;
/// The longest invoice payload, in bytes.
const MAX_INVOICE_PAYLOAD: usize = 128;
/// Telegram Stars: the one currency invoiced without a payment provider.
const STARS: &str = "XTR";

/// A Bot API error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u32>,
}

impl Failure {
    pub(crate) fn new(code: u16, description: impl Into<String>) -> Failure {
        Failure { code, description: description.into(), retry_after: None }
    }

    /// A 400 `Bad Request: …`.
    pub(crate) fn bad(what: impl Display) -> Failure {
        Failure::new(400, format!("Bad Request: {what}"))
    }

    pub(crate) fn chat_not_found() -> Failure {
        Failure::bad("chat not found")
    }

    /// The response body Telegram sends.
    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({ "ok": false, "error_code": self.code, "description": self.description });
        if let (Some(secs), Some(obj)) = (self.retry_after, v.as_object_mut()) {
            obj.insert("parameters".to_owned(), json!({ "retry_after": secs }));
        }
        v
    }
}

/// A successful answer: a JSON result, or a result already serialized.
pub(crate) enum Answer {
    Value(Value),
    Raw(String),
}

/// A file part of a multipart request.
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub file_name: String,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// The parameters of a call, whatever way they came (JSON, form, multipart, query).
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub map: Map<String, Value>,
    /// Multipart file parts by field name.
    pub files: HashMap<String, Upload>,
}

impl Params {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn wrong_type(key: &str) -> Failure {
        Failure::bad(format!("wrong type of the parameter \"{key}\""))
    }

    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(Self::wrong_type(key)),
        }
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| Self::wrong_type(key)),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| Self::wrong_type(key)),
            Some(_) => Err(Self::wrong_type(key)),
        }
    }

    pub(crate) fn float(&self, key: &str) -> Result<Option<f64>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| Self::wrong_type(key)),
            Some(_) => Err(Self::wrong_type(key)),
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, Failure> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            Some(Value::String(s)) => match s.trim() {
                "true" | "True" | "1" => Ok(Some(true)),
                "false" | "False" | "0" | "" => Ok(Some(false)),
                _ => Err(Self::wrong_type(key)),
            },
            Some(_) => Err(Self::wrong_type(key)),
        }
    }

    /// An object or array parameter (sent as JSON text in forms).
    pub(crate) fn json(&self, key: &str) -> Result<Option<Value>, Failure> {
        let cant_parse = || {
            if key == "reply_markup" {
                Failure::bad("can't parse reply keyboard markup JSON object")
            } else {
                Failure::bad(format!("can't parse {key} JSON object"))
            }
        };
        match self.get(key) {
            None => Ok(None),
            Some(v @ (Value::Object(_) | Value::Array(_))) => Ok(Some(v.clone())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => Ok(Some(v)),
                _ => Err(cant_parse()),
            },
            Some(_) => Err(cant_parse()),
        }
    }

    /// `chat_id`: a number (usernames are not known in the sandbox).
    pub(crate) fn chat_id(&self) -> Result<i64, Failure> {
        match self.get("chat_id") {
            None => Err(Failure::bad("chat_id is empty")),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(Failure::chat_not_found),
            Some(Value::String(s)) if s.trim().is_empty() => Err(Failure::bad("chat_id is empty")),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| Failure::chat_not_found()),
            Some(_) => Err(Failure::chat_not_found()),
        }
    }

    /// `message_thread_id`, when given.
    pub(crate) fn thread_id(&self) -> Result<Option<i64>, Failure> {
        self.int("message_thread_id")
    }

    /// A chat id parameter other than `chat_id` (`from_chat_id`).
    pub(crate) fn other_chat_id(&self, key: &str) -> Result<i64, Failure> {
        match self.get(key) {
            None => Err(Failure::bad(format!("{key} is empty"))),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(Failure::chat_not_found),
            Some(Value::String(s)) if s.trim().is_empty() => Err(Failure::bad(format!("{key} is empty"))),
            Some(Value::String(s)) => s.trim().parse().map_err(|_| Failure::chat_not_found()),
            Some(_) => Err(Failure::chat_not_found()),
        }
    }

    pub(crate) fn message_id(&self) -> Result<i32, Failure> {
        let id = self.int("message_id")?.ok_or_else(|| Failure::bad("message identifier is not specified"))?;
        i32::try_from(id).map_err(|_| Failure::bad("MESSAGE_ID_INVALID"))
    }
}

/// Runs one Bot API method (`name` as in the URL; Telegram ignores its case).
pub(crate) async fn call(shared: &Arc<Shared>, name: &str, p: Params) -> Result<Answer, Failure> {
    let Some(known) = canonical(name) else {
        return Err(Failure::new(404, "Not Found: method not found"));
    };
    let method = known.to_ascii_lowercase();
    let delay = {
        let mut st = shared.lock();
        st.delays.iter().position(|(m, _)| *m == method).map(|at| st.delays.remove(at).1)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    {
        let mut st = shared.lock();
        if let Some(at) = st.injected.iter().position(|(m, _)| *m == method) {
            return Err(st.injected.remove(at).1);
        }
    }
    let value = match method.as_str() {
        "getupdates" => return get_updates(shared, &p).await,
        "getme" => shared.me_json(),
        "getwebhookinfo" => {
            let st = shared.lock();
            let mut info =
                json!({ "url": "", "has_custom_certificate": false, "pending_update_count": st.pending.len() });
            if let (Some(hook), Some(obj)) = (&st.webhook, info.as_object_mut()) {
                obj.insert("url".to_owned(), json!(hook.url));
                obj.insert("max_connections".to_owned(), json!(hook.max_connections));
            }
            info
        }
        "setwebhook" => webhook::set_webhook(shared, &p)?,
        "deletewebhook" => webhook::delete_webhook(shared, &p)?,
        "setmycommands" => set_my_commands(shared, &p)?,
        "getmycommands" => {
            let key = commands_key(&p)?;
            shared.lock().commands.get(&key).cloned().unwrap_or_else(|| json!([]))
        }
        "deletemycommands" => {
            let key = commands_key(&p)?;
            shared.lock().commands.remove(&key);
            json!(true)
        }
        "setchatmenubutton" => set_chat_menu_button(shared, &p)?,
        "getchatmenubutton" => {
            let chat = p.int("chat_id")?;
            let st = shared.lock();
            let button = chat.and_then(|c| st.menu_buttons.get(&Some(c))).or_else(|| st.menu_buttons.get(&None));
            button.cloned().unwrap_or_else(|| json!({ "type": "default" }))
        }
        "setmydescription" | "setmyshortdescription" | "setmyname" => json!(true),
        "sendmessage" => send_message(shared, &p)?,
        "senddocument" => send_document(shared, &p)?,
        "sendphoto" => send_photo(shared, &p)?,
        "copymessage" => super::forum::copy_message(shared, &p)?,
        "getfile" => media::get_file(shared, &p)?,
        "createforumtopic" => super::forum::create_forum_topic(shared, &p)?,
        "editforumtopic" => super::forum::edit_forum_topic(shared, &p)?,
        "closeforumtopic" => super::forum::close_forum_topic(shared, &p, true)?,
        "reopenforumtopic" => super::forum::close_forum_topic(shared, &p, false)?,
        "deleteforumtopic" => super::forum::delete_forum_topic(shared, &p)?,
        "getchatadministrators" => super::forum::get_chat_administrators(shared, &p)?,
        "sendlocation" => send_location(shared, &p)?,
        "sendinvoice" => send_invoice(shared, &p)?,
        "answerprecheckoutquery" => answer_pre_checkout_query(shared, &p)?,
        "editmessagetext" => {
            let text = format_text(&p, "text", "parse_mode")?;
            check_text(&text)?;
            edit(shared, &p, Edit::Text(text))?
        }
        "editmessagecaption" => {
            let caption = format_text(&p, "caption", "parse_mode")?;
            check_caption(&caption)?;
            edit(shared, &p, Edit::Caption(caption))?
        }
        "editmessagereplymarkup" => edit(shared, &p, Edit::Markup)?,
        "answercallbackquery" => answer_callback_query(shared, &p)?,
        "sendchataction" => send_chat_action(shared, &p)?,
        "deletemessage" => delete_message(shared, &p)?,
        _ => return Err(Failure::new(404, "Not Found: method not found")),
    };
    Ok(Answer::Value(value))
}

/// The methods the sandbox knows, spelled as in the Bot API documentation.
const KNOWN: &[&str] = &[
    "getUpdates",
    "getMe",
    "getWebhookInfo",
    "setWebhook",
    "deleteWebhook",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "getChatMenuButton",
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "copyMessage",
    "getFile",
    "createForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "deleteForumTopic",
    "getChatAdministrators",
    "sendLocation",
    "sendInvoice",
    "answerPreCheckoutQuery",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "sendChatAction",
    "deleteMessage",
];

/// The documented spelling of a known method (Telegram ignores the case of method names).
pub(crate) fn canonical(name: &str) -> Option<&'static str> {
    KNOWN.iter().copied().find(|k| k.eq_ignore_ascii_case(name))
}

async fn get_updates(shared: &Arc<Shared>, p: &Params) -> Result<Answer, Failure> {
    let offset = p.int("offset")?;
    let limit = match p.int("limit")? {
        Some(l) if l > 0 => usize::try_from(l.min(100)).unwrap_or(100),
        _ => 100,
    };
    let timeout = u64::try_from(p.int("timeout")?.unwrap_or(0)).unwrap_or(0).min(MAX_POLL_SECONDS);
    // Subscribe before looking at the queue so an update queued in between still wakes us.
    let mut updates = shared.updates_version.subscribe();
    let mut closed = shared.closed.subscribe();
    let allowed = p.json("allowed_updates")?;
    {
        let mut st = shared.lock();
        if st.webhook.is_some() {
            return Err(Failure::new(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            ));
        }
        st.set_allowed_updates(allowed)?;
        match offset {
            Some(o) if o < 0 => {
                let keep = usize::try_from(o.unsigned_abs()).unwrap_or(usize::MAX);
                let drop = st.pending.len().saturating_sub(keep);
                st.pending.drain(..drop);
            }
            Some(o) => {
                while st.pending.front().is_some_and(|(id, _)| i64::from(*id) < o) {
                    st.pending.pop_front();
                }
            }
            None => {}
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let batch: Vec<Arc<str>> = {
            let mut st = shared.lock();
            let batch = st.pending.iter().take(limit).map(|(_, u)| u.clone()).collect();
            if st.timings.is_some() {
                let ids: Vec<i32> = st.pending.iter().take(limit).map(|(id, _)| *id).collect();
                st.note_delivered(ids.into_iter());
            }
            batch
        };
        if !batch.is_empty() || tokio::time::Instant::now() >= deadline || *closed.borrow() {
            let mut body = String::with_capacity(2 + batch.iter().map(|u| u.len() + 1).sum::<usize>());
            body.push('[');
            for (i, u) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(u);
            }
            body.push(']');
            return Ok(Answer::Raw(body));
        }
        tokio::select! {
            changed = updates.changed() => if changed.is_err() { return Ok(Answer::Raw("[]".to_owned())) },
            _ = closed.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// Text or caption with the parse mode applied and whitespace trimmed.
pub(crate) fn format_text(p: &Params, key: &str, mode_key: &str) -> Result<Formatted, Failure> {
    let text = p.str(key)?.unwrap_or_default();
    let mode = p.str(mode_key)?.unwrap_or_default();
    let formatted = match mode.to_ascii_lowercase().as_str() {
        "" => Formatted::plain(&text),
        "html" => html::parse_html(&text).map_err(|e| Failure::new(400, e))?,
        // Markdown modes are passed through unparsed.
        "markdown" | "markdownv2" => Formatted::plain(&text),
        _ => return Err(Failure::bad("unsupported parse_mode")),
    };
    Ok(formatted.trimmed())
}

fn check_text(text: &Formatted) -> Result<(), Failure> {
    if text.text.is_empty() {
        return Err(Failure::bad("message text is empty"));
    }
    if text.utf16_len() > MAX_TEXT {
        return Err(Failure::bad("message is too long"));
    }
    Ok(())
}

pub(crate) fn check_caption(caption: &Formatted) -> Result<(), Failure> {
    if caption.utf16_len() > MAX_CAPTION {
        return Err(Failure::bad("message caption is too long"));
    }
    Ok(())
}

/// What a new bot message carries.
pub(crate) struct NewMessage {
    /// The text or caption the user reads.
    pub text: String,
    /// Its entities as a JSON array.
    pub entities: Value,
    pub content: BotContent,
    /// The media object (see [`StoredMessage::media`]).
    pub media: Option<Value>,
    pub markup: Markup,
    pub invoice_payload: Option<String>,
    /// For a copy: the chat and message it copies.
    pub copied_from: Option<(i64, i32)>,
}

impl NewMessage {
    pub(crate) fn new(text: Formatted, content: BotContent, media: Option<Value>, markup: Markup) -> NewMessage {
        NewMessage {
            entities: text.entities_json(),
            text: text.text,
            content,
            media,
            markup,
            invoice_payload: None,
            copied_from: None,
        }
    }
}

fn send_message(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let text = format_text(p, "text", "parse_mode")?;
    check_text(&text)?;
    let markup = markup::parse(p.json("reply_markup")?)?;
    post(shared, p, chat_id, NewMessage::new(text, BotContent::Text, None, markup))
}

fn send_location(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let latitude = p.float("latitude")?.filter(|l| (-90.0..=90.0).contains(l));
    let longitude = p.float("longitude")?.filter(|l| (-180.0..=180.0).contains(l));
    let (Some(latitude), Some(longitude)) = (latitude, longitude) else {
        return Err(Failure::bad("wrong latitude or longitude specified"));
    };
    let markup = markup::parse(p.json("reply_markup")?)?;
    let content = BotContent::Location { latitude, longitude };
    post(shared, p, chat_id, NewMessage::new(Formatted::default(), content, None, markup))
}

fn send_document(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let caption = format_text(p, "caption", "parse_mode")?;
    check_caption(&caption)?;
    let markup = markup::parse(p.json("reply_markup")?)?;
    let file = resolve_document(shared, p)?;
    let content = BotContent::Document {
        file_name: file.file_name.clone(),
        bytes: usize::try_from(file.size).unwrap_or(usize::MAX),
        file_id: file.file_id.clone(),
    };
    let document = Some(file.document_json());
    post(shared, p, chat_id, NewMessage::new(caption, content, document, markup))
}

/// `sendPhoto`: an upload, a known photo's file_id or an HTTP URL, with a caption.
fn send_photo(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let caption = format_text(p, "caption", "parse_mode")?;
    check_caption(&caption)?;
    let markup = markup::parse(p.json("reply_markup")?)?;
    let sizes = resolve_photo(shared, p)?;
    let largest = sizes.as_array().and_then(|a| a.last()).and_then(|s| s.get("file_id")).and_then(Value::as_str);
    let content = BotContent::Photo { file_id: largest.unwrap_or_default().to_owned() };
    post(shared, p, chat_id, NewMessage::new(caption, content, Some(sizes), markup))
}

/// The largest photo Telegram accepts from a bot: 10 MB.
const MAX_PHOTO: usize = 10 * 1024 * 1024;

/// The `PhotoSize` array of the photo a `sendPhoto` call refers to.
fn resolve_photo(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let upload = match p.files.get("photo") {
        Some(upload) => upload,
        None => {
            let Some(reference) = p.str("photo")? else {
                return Err(Failure::bad("there is no photo in the request"));
            };
            match reference.strip_prefix("attach://") {
                Some(name) => p.files.get(name).ok_or_else(|| Failure::bad("can't find attached file"))?,
                None => {
                    let file = known_or_url_file(shared, &reference, FileKind::Photo)?;
                    return Ok(match file.photo {
                        Some(sizes) => sizes,
                        None => shared.lock().new_photo(Bytes::new(), 48_000),
                    });
                }
            }
        }
    };
    if upload.bytes.is_empty() {
        return Err(Failure::bad("file must be non-empty"));
    }
    if upload.bytes.len() > MAX_PHOTO {
        return Err(Failure::bad("PHOTO_INVALID_DIMENSIONS"));
    }
    let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
    Ok(shared.lock().new_photo(upload.bytes.clone(), size))
}

/// The file a `sendDocument` call refers to: an upload (stored under a new file_id), a
/// known file_id, or an HTTP URL.
fn resolve_document(shared: &Shared, p: &Params) -> Result<StoredFile, Failure> {
    let upload = match p.files.get("document") {
        Some(upload) => Some(upload),
        None => {
            let Some(reference) = p.str("document")? else {
                return Err(Failure::bad("there is no document in the request"));
            };
            if let Some(name) = reference.strip_prefix("attach://") {
                Some(p.files.get(name).ok_or_else(|| Failure::bad("can't find attached file"))?)
            } else {
                return known_or_url_file(shared, &reference, FileKind::Document);
            }
        }
    };
    let Some(upload) = upload else { return Err(Failure::bad("there is no document in the request")) };
    if upload.bytes.is_empty() {
        return Err(Failure::bad("file must be non-empty"));
    }
    let file_name = if upload.file_name.trim().is_empty() { "document".to_owned() } else { upload.file_name.clone() };
    let mime_type = upload
        .content_type
        .as_deref()
        .filter(|t| is_mime(t) && *t != "application/octet-stream")
        .map_or_else(|| guess_mime(&file_name).to_owned(), str::to_owned);
    let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
    Ok(shared.lock().new_file(FileKind::Document, "Doc", &file_name, &mime_type, upload.bytes.clone(), size))
}

/// A file sent by file_id (of the right kind: Telegram refuses a photo's id as a document
/// and the other way round) or by HTTP URL.
fn known_or_url_file(shared: &Shared, reference: &str, kind: FileKind) -> Result<StoredFile, Failure> {
    let reference = reference.trim();
    let mut st = shared.lock();
    if let Some(file) = st.files.get(reference) {
        if file.kind != kind {
            return Err(Failure::bad("type of file mismatch"));
        }
        return Ok(file.clone());
    }
    let url = url::Url::parse(reference).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
    let Some(url) = url else { return Err(Failure::bad("wrong file identifier/HTTP URL specified")) };
    // The sandbox has no network: a URL becomes an empty file named after its last segment.
    let file_name = url
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "document".to_owned());
    Ok(st.new_file(kind, "Url", &file_name, guess_mime(&file_name), Bytes::new(), 0))
}

fn is_mime(t: &str) -> bool {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    matches!(t.split_once('/'), Some((a, b)) if token(a) && token(b))
}

/// `reply_parameters.message_id` (or the older `reply_to_message_id`), and whether a
/// missing target is allowed.
fn reply_target(p: &Params) -> Result<Option<(i64, bool)>, Failure> {
    if let Some(rp) = p.json("reply_parameters")? {
        let id = rp.get("message_id").and_then(Value::as_i64);
        let allow = rp.get("allow_sending_without_reply").and_then(Value::as_bool).unwrap_or(false);
        return Ok(id.map(|id| (id, allow)));
    }
    let allow = p.boolean("allow_sending_without_reply")?.unwrap_or(false);
    Ok(p.int("reply_to_message_id")?.map(|id| (id, allow)))
}

/// Stores a new bot message in the chat (in the topic `message_thread_id` names) and returns
/// its `Message` JSON.
pub(crate) fn post(shared: &Shared, p: &Params, chat_id: i64, new: NewMessage) -> Result<Value, Failure> {
    let is_invoice = matches!(new.content, BotContent::Invoice { .. });
    if let Markup::Inline { rows, .. } = &new.markup
        && !is_invoice
        && markup::has_pay_button(rows)
    {
        return Err(pay_button_misplaced());
    }
    let reply_to = reply_target(p)?;
    let thread = p.thread_id()?;
    let mut guard = shared.lock();
    let st = &mut *guard;
    let chat = st.chats.get_mut(&chat_id).ok_or_else(Failure::chat_not_found)?;
    if chat.blocked {
        return Err(Failure::new(403, "Forbidden: bot was blocked by the user"));
    }
    let thread_id = chat.thread_for(thread)?;
    let mut reply_to_id = None;
    if let Some((id, allow)) = reply_to {
        let target = i32::try_from(id).ok().filter(|id| chat.has_message(*id));
        if target.is_none() && !allow {
            return Err(Failure::bad("message to be replied not found"));
        }
        reply_to_id = target;
    }
    st.rate_check(chat_id)?;
    let Some(chat) = st.chats.get_mut(&chat_id) else { return Err(Failure::chat_not_found()) };
    let message_id = chat.next_id();
    let (inline_keyboard, markup_json, reply_keyboard) = match new.markup {
        Markup::Inline { rows, json } => (rows, json, None),
        Markup::Reply { rows, one_time } => {
            chat.keyboard = Some(Keyboard { rows: rows.clone(), one_time });
            (Vec::new(), Value::Null, Some(rows))
        }
        Markup::Remove => {
            chat.keyboard = None;
            (Vec::new(), Value::Null, Some(Vec::new()))
        }
        Markup::None | Markup::ForceReply => (Vec::new(), Value::Null, None),
    };
    let stored = StoredMessage {
        view: BotMessage {
            chat_id,
            message_id,
            text: new.text,
            content: new.content,
            inline_keyboard,
            reply_keyboard,
            thread_id,
            copied_from: new.copied_from,
        },
        date: now(),
        edit_date: None,
        entities: new.entities,
        markup: markup_json,
        media: new.media,
        reply_to: reply_to_id,
        invoice_payload: new.invoice_payload,
    };
    let json = message_json(&shared.bot_json, chat, &stored);
    let view = stored.view.clone();
    chat.messages.push(stored);
    st.push_event(SandboxEvent::Sent(view));
    Ok(json)
}

enum Edit {
    Text(Formatted),
    Caption(Formatted),
    Markup,
}

fn edit(shared: &Shared, p: &Params, what: Edit) -> Result<Value, Failure> {
    if p.get("inline_message_id").is_some() && p.get("chat_id").is_none() {
        return Err(Failure::bad("MESSAGE_ID_INVALID"));
    }
    let chat_id = p.chat_id()?;
    let message_id = p.message_id()?;
    let (rows, markup_json) = match markup::parse(p.json("reply_markup")?)? {
        Markup::Inline { rows, json } => (rows, json),
        Markup::None => (Vec::new(), Value::Null),
        _ => return Err(Failure::bad("inline keyboard expected")),
    };
    let mut guard = shared.lock();
    let st = &mut *guard;
    let chat = st.chats.get_mut(&chat_id).ok_or_else(Failure::chat_not_found)?;
    if chat.blocked {
        return Err(Failure::new(403, "Forbidden: bot was blocked by the user"));
    }
    let Some(index) = chat.message_index(message_id) else {
        return Err(if chat.others.contains_key(&message_id) {
            Failure::bad("message can't be edited")
        } else {
            Failure::bad("message to edit not found")
        });
    };
    let m = &mut chat.messages[index];
    let is_text = matches!(m.view.content, BotContent::Text);
    let (rows, markup_json) = match &m.view.content {
        BotContent::Invoice { currency, total_amount, .. } => {
            if rows.is_empty() {
                (default_pay_rows(currency, *total_amount), Value::Null)
            } else if !first_is_pay(&rows) {
                return Err(Failure::bad("REPLY_MARKUP_BUY_EMPTY"));
            } else {
                (rows, markup_json)
            }
        }
        _ if markup::has_pay_button(&rows) => return Err(pay_button_misplaced()),
        _ => (rows, markup_json),
    };
    let new_text = match what {
        Edit::Text(text) if is_text => Some(text),
        Edit::Text(_) => return Err(Failure::bad("there is no text in the message to edit")),
        Edit::Caption(caption) if has_caption(&m.view.content) => Some(caption),
        Edit::Caption(_) => return Err(Failure::bad("there is no caption in the message to edit")),
        Edit::Markup => None,
    };
    let same_text = new_text.as_ref().is_none_or(|t| t.text == m.view.text && t.entities_json() == m.entities);
    if same_text && markup_json == m.markup {
        return Err(Failure::bad(
            "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        ));
    }
    if let Some(text) = new_text {
        m.entities = text.entities_json();
        m.view.text = text.text;
    }
    m.view.inline_keyboard = rows;
    m.markup = markup_json;
    m.edit_date = Some(now());
    let view = m.view.clone();
    let json = message_json(&shared.bot_json, chat, &chat.messages[index]);
    st.push_event(SandboxEvent::Edited(view));
    Ok(json)
}

fn answer_callback_query(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let id = p.str("callback_query_id")?.unwrap_or_default();
    let text = p.str("text")?.filter(|t| !t.is_empty());
    if text.as_deref().is_some_and(|t| t.chars().count() > 200) {
        return Err(Failure::bad("MESSAGE_TOO_LONG"));
    }
    let show_alert = p.boolean("show_alert")?.unwrap_or(false);
    let mut st = shared.lock();
    let Some(chat_id) = st.callbacks.remove(&id) else {
        return Err(Failure::bad(QUERY_ID_INVALID));
    };
    st.push_event(SandboxEvent::CallbackAnswered { chat_id, text, show_alert });
    Ok(json!(true))
}

/// Whether messages with this content carry a caption.
fn has_caption(content: &BotContent) -> bool {
    matches!(content, BotContent::Document { .. } | BotContent::Photo { .. } | BotContent::Voice { .. })
}

/// A pay button outside an invoice.
fn pay_button_misplaced() -> Failure {
    Failure::bad("BUTTON_TYPE_INVALID")
}

/// Whether the first button of the first row is a pay button, as an invoice's keyboard
/// must have it.
fn first_is_pay(rows: &[Vec<InlineButton>]) -> bool {
    rows.first().and_then(|row| row.first()).is_some_and(|b| b.pay)
}

/// The pay button Telegram apps show under an invoice sent without a keyboard.
fn default_pay_rows(currency: &str, total_amount: i64) -> Vec<Vec<InlineButton>> {
    vec![vec![InlineButton {
        text: format!("Pay {}", format_amount(currency, total_amount)),
        callback_data: None,
        url: None,
        web_app_url: None,
        pay: true,
    }]]
}

/// How many digits of an amount in `currency` are after the decimal point (ISO 4217; Telegram
/// counts amounts in the smallest units).
fn currency_exponent(currency: &str) -> u32 {
    match currency {
        "XTR" | "JPY" | "KRW" | "CLP" | "VND" | "ISK" | "UGX" | "PYG" | "IDR" | "HUF" | "TWD" => 0,
        _ => 2,
    }
}

/// An amount as Telegram apps show it: "KZT 2,000.00", "⭐️ 100".
pub(crate) fn format_amount(currency: &str, amount: i64) -> String {
    let exponent = currency_exponent(currency);
    let unit = 10_i64.pow(exponent);
    let (whole, fraction) = (amount.unsigned_abs() / unit.unsigned_abs(), amount.unsigned_abs() % unit.unsigned_abs());
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    let number = if exponent == 0 {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction:0width$}", width = exponent as usize)
    };
    if currency == STARS { format!("⭐️ {number}") } else { format!("{currency} {number}") }
}

/// A string parameter that must be present and non-empty.
fn required_str(p: &Params, key: &str) -> Result<String, Failure> {
    match p.str(key)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(Failure::bad(format!("parameter \"{key}\" is required"))),
    }
}

/// The sum of an invoice's `prices` (an array of `LabeledPrice`), checked as Telegram does.
fn invoice_total(prices: Value) -> Result<i64, Failure> {
    let Value::Array(items) = prices else { return Err(Failure::bad("expected an Array of labeled prices")) };
    let bad = |what: &str| Failure::bad(format!("can't parse labeled price: {what}"));
    let mut total: i64 = 0;
    for item in &items {
        let Value::Object(price) = item else { return Err(bad("LabeledPrice must be an Object")) };
        match price.get("label") {
            Some(Value::String(label)) if label.is_empty() => return Err(bad("LabeledPrice label must be non-empty")),
            Some(Value::String(_)) => {}
            None => return Err(bad("Can't find field \"label\"")),
            Some(_) => return Err(bad("Field \"label\" must be of type String")),
        }
        let amount = match price.get("amount") {
            None => return Err(bad("Can't find field \"amount\"")),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        let amount = amount.ok_or_else(|| bad("Field \"amount\" must be a valid Number"))?;
        total = total.checked_add(amount).ok_or_else(|| Failure::bad("CURRENCY_TOTAL_AMOUNT_INVALID"))?;
    }
    if items.is_empty() {
        return Err(Failure::bad("there must be at least one price"));
    }
    if total <= 0 {
        return Err(Failure::bad("total price must be positive"));
    }
    if total > i64::from(u32::MAX) {
        return Err(Failure::bad("CURRENCY_TOTAL_AMOUNT_INVALID"));
    }
    Ok(total)
}

fn send_invoice(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let title = required_str(p, "title")?;
    let description = required_str(p, "description")?;
    let payload = required_str(p, "payload")?;
    let currency = required_str(p, "currency")?;
    let prices = p.json("prices")?.ok_or_else(|| Failure::bad("parameter \"prices\" is required"))?;
    let total_amount = invoice_total(prices)?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Failure::bad("CURRENCY_INVALID"));
    }
    let provider_token = p.str("provider_token")?.unwrap_or_default();
    if provider_token.trim().is_empty() && currency != STARS {
        return Err(Failure::bad("PAYMENT_PROVIDER_INVALID"));
    }
    if title.trim().is_empty() || title.chars().count() > MAX_INVOICE_TITLE {
        return Err(Failure::bad("TITLE_INVALID"));
    }
    if description.trim().is_empty() || description.chars().count() > MAX_INVOICE_DESCRIPTION {
        return Err(Failure::bad("DESCRIPTION_INVALID"));
    }
    if payload.len() > MAX_INVOICE_PAYLOAD {
        return Err(Failure::bad("INVOICE_PAYLOAD_INVALID"));
    }
    let start_parameter = p.str("start_parameter")?.unwrap_or_default();
    let markup = match markup::parse(p.json("reply_markup")?)? {
        Markup::None => Markup::Inline { rows: default_pay_rows(&currency, total_amount), json: Value::Null },
        Markup::Inline { rows, json } if first_is_pay(&rows) => Markup::Inline { rows, json },
        _ => return Err(Failure::bad("REPLY_MARKUP_BUY_EMPTY")),
    };
    // What the user reads in the invoice: the title, the description and the price.
    let text = Formatted::plain(&format!("{title}\n{description}\n{}", format_amount(&currency, total_amount)));
    let content = BotContent::Invoice { title, description, currency, total_amount, start_parameter };
    let new = NewMessage { invoice_payload: Some(payload), ..NewMessage::new(text, content, None, markup) };
    post(shared, p, chat_id, new)
}

fn answer_pre_checkout_query(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let id = p.str("pre_checkout_query_id")?.unwrap_or_default();
    let ok = p.boolean("ok")?.unwrap_or(false);
    let error_message = if ok { None } else { Some(required_str(p, "error_message")?) };
    let mut guard = shared.lock();
    let st = &mut *guard;
    let Some(query) = st.pre_checkouts.remove(&id) else {
        return Err(Failure::bad(QUERY_ID_INVALID));
    };
    let followup = if ok {
        let charge_id = st.charge_id();
        let provider_charge_id = if query.currency == STARS { String::new() } else { format!("provider_{charge_id}") };
        let payment = Payment {
            payload: &query.payload,
            currency: &query.currency,
            total_amount: query.total_amount,
            charge_id: &charge_id,
            provider_charge_id: &provider_charge_id,
        };
        let followup = queue_successful_payment(st, &query.user, query.chat_id, &payment);
        st.payment_followups.insert(query.update_id, followup);
        Some(followup)
    } else {
        None
    };
    st.push_event(SandboxEvent::PreCheckoutAnswered {
        chat_id: query.chat_id,
        update_id: query.update_id,
        ok,
        error_message,
        followup,
    });
    drop(guard);
    if followup.is_some() {
        shared.notify_updates();
    }
    Ok(json!(true))
}

const CHAT_ACTIONS: &[&str] = &[
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
];

fn send_chat_action(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let action = p.str("action")?.unwrap_or_default();
    if !CHAT_ACTIONS.contains(&action.as_str()) {
        return Err(Failure::bad("wrong parameter action in request"));
    }
    let st = shared.lock();
    let chat = st.chats.get(&chat_id).ok_or_else(Failure::chat_not_found)?;
    if chat.blocked {
        return Err(Failure::new(403, "Forbidden: bot was blocked by the user"));
    }
    Ok(json!(true))
}

fn delete_message(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let message_id = p.message_id()?;
    let mut st = shared.lock();
    let chat = st.chats.get_mut(&chat_id).ok_or_else(Failure::chat_not_found)?;
    if let Some(index) = chat.message_index(message_id) {
        chat.messages.remove(index);
    } else if chat.others.remove(&message_id).is_none() {
        return Err(Failure::bad("message to delete not found"));
    }
    Ok(json!(true))
}

/// The key bot commands are kept under: their scope and language.
fn commands_key(p: &Params) -> Result<String, Failure> {
    let scope = p.json("scope")?;
    let lang = p.str("language_code")?.unwrap_or_default();
    let scope_key = match &scope {
        None => "default".to_owned(),
        Some(s) => {
            let kind = s.get("type").and_then(Value::as_str).unwrap_or_default();
            let id = |k: &str| s.get(k).map(|v| v.to_string().trim_matches('"').to_owned()).unwrap_or_default();
            match kind {
                "default" | "all_private_chats" | "all_group_chats" | "all_chat_administrators" => kind.to_owned(),
                "chat" | "chat_administrators" => format!("{kind}:{}", id("chat_id")),
                "chat_member" => format!("{kind}:{}:{}", id("chat_id"), id("user_id")),
                _ => return Err(Failure::bad("can't parse BotCommandScope JSON object")),
            }
        }
    };
    Ok(format!("{scope_key}|{lang}"))
}

fn set_my_commands(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let key = commands_key(p)?;
    let Some(Value::Array(commands)) = p.json("commands")? else {
        return Err(Failure::bad("parameter \"commands\" must be an Array"));
    };
    if commands.len() > 100 {
        return Err(Failure::bad("BOT_COMMANDS_TOO_MUCH"));
    }
    let mut list = Vec::with_capacity(commands.len());
    for c in &commands {
        let command = c.get("command").and_then(Value::as_str).unwrap_or_default();
        let description = c.get("description").and_then(Value::as_str).unwrap_or_default();
        let command_ok = (1..=32).contains(&command.len())
            && command.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !command_ok {
            return Err(Failure::bad("BOT_COMMAND_INVALID"));
        }
        if description.trim().is_empty() || description.chars().count() > 256 {
            return Err(Failure::bad("BOT_COMMAND_DESCRIPTION_INVALID"));
        }
        list.push(json!({ "command": command, "description": description }));
    }
    let mut st = shared.lock();
    if list.is_empty() {
        st.commands.remove(&key);
    } else {
        st.commands.insert(key, Value::Array(list));
    }
    Ok(json!(true))
}

fn set_chat_menu_button(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat = p.int("chat_id")?;
    let button = p.json("menu_button")?.unwrap_or_else(|| json!({ "type": "default" }));
    let kind = button.get("type").and_then(Value::as_str).unwrap_or_default();
    let button = match kind {
        "default" | "commands" => json!({ "type": kind }),
        "web_app" => {
            let text = button.get("text").and_then(Value::as_str).unwrap_or_default();
            let url = button.get("web_app").and_then(|w| w.get("url")).and_then(Value::as_str).unwrap_or_default();
            if text.trim().is_empty() || url::Url::parse(url).is_err() {
                return Err(Failure::bad("can't parse menu button JSON object"));
            }
            json!({ "type": "web_app", "text": text, "web_app": { "url": url } })
        }
        _ => return Err(Failure::bad("can't parse menu button JSON object")),
    };
    let mut st = shared.lock();
    if let Some(c) = chat
        && !st.chats.contains_key(&c)
    {
        return Err(Failure::chat_not_found());
    }
    st.menu_buttons.insert(chat, button);
    Ok(json!(true))
}
