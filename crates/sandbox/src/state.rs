//! The sandbox's shared state: chats and their messages, queued updates, the event and call
//! logs, uploaded files and bot settings, plus the Bot API JSON shapes built from them.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::methods::Failure;
use super::{BotContent, BotMessage, RateLimits, ReplyButton, SandboxEvent, SandboxUser};

/// The bot's Telegram user id in the sandbox.
pub(crate) const BOT_ID: i64 = 8_000_000_001;
/// The bot's first name.
pub(crate) const BOT_NAME: &str = "Cabinet Demo";
/// The bot's username.
pub(crate) const BOT_USERNAME: &str = "cabinet_demo_bot";

/// State shared by the HTTP server, the user side and the observer.
pub(crate) struct Shared {
    pub token: String,
    /// The bot as a Bot API `User`.
    pub bot_json: Value,
    pub state: Mutex<State>,
    /// Bumped whenever an update is queued (wakes long polls).
    pub updates_version: watch::Sender<u64>,
    /// Bumped whenever the bot reports an update handled.
    pub handled_version: watch::Sender<u64>,
    /// Bumped whenever a Bot API call has been answered.
    pub calls_version: watch::Sender<u64>,
    /// Set when the last [`super::Sandbox`] handle is dropped: the server stops.
    pub closed: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn new(token: String) -> Shared {
        Shared {
            token,
            bot_json: json!({
                "id": BOT_ID,
                "is_bot": true,
                "first_name": BOT_NAME,
                "username": BOT_USERNAME,
            }),
            state: Mutex::new(State::new()),
            updates_version: watch::Sender::new(0),
            handled_version: watch::Sender::new(0),
            calls_version: watch::Sender::new(0),
            closed: watch::Sender::new(false),
        }
    }

    /// Locks the state. Every critical section leaves the state consistent before it could
    /// panic, so a poisoned lock is still usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `getMe` answer.
    pub(crate) fn me_json(&self) -> Value {
        let mut me = self.bot_json.clone();
        if let Some(obj) = me.as_object_mut() {
            for (k, v) in [
                ("can_join_groups", true),
                ("can_read_all_group_messages", false),
                ("supports_inline_queries", false),
                ("can_connect_to_business", false),
                ("has_main_web_app", false),
            ] {
                obj.insert(k.to_owned(), Value::Bool(v));
            }
        }
        me
    }

    /// Wakes long polls after updates were queued.
    pub(crate) fn notify_updates(&self) {
        self.updates_version.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A reply keyboard shown in a chat.
#[derive(Debug, Clone)]
pub(crate) struct Keyboard {
    pub rows: Vec<Vec<ReplyButton>>,
    pub one_time: bool,
}

/// A message the bot sent, as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub view: BotMessage,
    pub date: i64,
    pub edit_date: Option<i64>,
    /// The text's (or caption's) entities as a JSON array.
    pub entities: Value,
    /// The inline keyboard rows as echoed in `reply_markup` (`Null` without a keyboard).
    pub markup: Value,
    /// The media object of a media message, as its field carries it: the `Document` of a
    /// document, the `PhotoSize` array of a photo, the `Voice`, `Sticker` or `Contact`.
    pub media: Option<Value>,
    /// The message this one replies to (`reply_parameters`), when it was given.
    pub reply_to: Option<i32>,
    /// An invoice's payload: the bot's own data, never shown to the user, handed back in the
    /// pre-checkout query and the successful payment.
    pub invoice_payload: Option<String>,
}

/// A chat the bot can write to.
#[derive(Debug)]
pub(crate) struct Chat {
    /// The Bot API `Chat` object.
    pub json: Value,
    next_message_id: i32,
    /// The bot's messages, oldest first (ids increase).
    pub messages: Vec<StoredMessage>,
    /// Messages the bot did not send with a send method, by id: the users' messages and
    /// service messages (a topic created, closed, …).
    pub others: HashMap<i32, OtherMessage>,
    /// A forum supergroup (topics enabled).
    pub forum: bool,
    /// A forum's topics by thread id (deleted topics are gone).
    pub topics: BTreeMap<i32, Topic>,
    /// Users known to be members (a group's).
    pub members: HashSet<i64>,
    /// The members who are the group's administrators (besides the bot), in the order they
    /// were made administrators.
    pub admins: Vec<i64>,
    pub keyboard: Option<Keyboard>,
    /// The user blocked the bot: sends fail with 403.
    pub blocked: bool,
    /// When the bot's latest sends here happened (for the rate limits).
    pub recent_sends: VecDeque<Instant>,
}

impl Chat {
    pub(crate) fn new(json: Value) -> Chat {
        Chat {
            json,
            next_message_id: 1,
            messages: Vec::new(),
            others: HashMap::new(),
            forum: false,
            topics: BTreeMap::new(),
            members: HashSet::new(),
            admins: Vec::new(),
            keyboard: None,
            blocked: false,
            recent_sends: VecDeque::new(),
        }
    }

    /// The next message id of this chat (shared by user and bot messages).
    pub(crate) fn next_id(&mut self) -> i32 {
        let id = self.next_message_id;
        self.next_message_id = self.next_message_id.saturating_add(1);
        id
    }

    pub(crate) fn message_index(&self, message_id: i32) -> Option<usize> {
        self.messages.binary_search_by_key(&message_id, |m| m.view.message_id).ok()
    }

    pub(crate) fn has_message(&self, message_id: i32) -> bool {
        self.message_index(message_id).is_some() || self.others.contains_key(&message_id)
    }

    /// Whether `thread_id` names a topic of this forum.
    pub(crate) fn has_topic(&self, thread_id: i32) -> bool {
        self.forum && self.topics.contains_key(&thread_id)
    }

    /// The message a message sent with `message_thread_id` goes to: `Ok(None)` outside a
    /// thread (and in private chats, where Telegram ignores the parameter), the topic when
    /// this forum has it, else Telegram's "message thread not found".
    pub(crate) fn thread_for(&self, thread_id: Option<i64>) -> Result<Option<i32>, Failure> {
        let Some(thread_id) = thread_id else { return Ok(None) };
        if self.json.get("type").and_then(Value::as_str) == Some("private") {
            return Ok(None);
        }
        match i32::try_from(thread_id) {
            Ok(id) if self.has_topic(id) => Ok(Some(id)),
            _ => Err(Failure::bad("message thread not found")),
        }
    }

    /// The Bot API `Message` JSON of any message of this chat (one level: without the
    /// message it replies to), for `reply_to_message`.
    pub(crate) fn shallow_message_json(&self, bot: &Value, message_id: i32) -> Option<Value> {
        if let Some(i) = self.message_index(message_id) {
            return Some(message_json_with(bot, self, &self.messages[i], false));
        }
        let mut json = self.others.get(&message_id)?.json.clone();
        if let Some(obj) = json.as_object_mut() {
            obj.remove("reply_to_message");
        }
        Some(json)
    }
}

/// A message of a chat that the bot did not send with a send method.
#[derive(Debug, Clone)]
pub(crate) struct OtherMessage {
    /// The Bot API `Message` as it was delivered (or would have been).
    pub json: Value,
    /// The forum topic it is in.
    pub thread_id: Option<i32>,
    /// A service message (a topic created, a payment, …): it cannot be copied.
    pub service: bool,
}

/// A forum topic.
#[derive(Debug, Clone)]
pub(crate) struct Topic {
    pub name: String,
    pub icon_color: u32,
    pub icon_custom_emoji_id: Option<String>,
    pub closed: bool,
    /// The `forum_topic_created` service message that opened it (its id is the thread id):
    /// messages in the topic reply to it.
    pub created: Value,
}

/// What kind of file a file_id names (Telegram refuses to send one kind as another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Document,
    Photo,
    Voice,
    Sticker,
}

impl FileKind {
    /// The folder of `file_path` in a `getFile` answer.
    pub(crate) fn folder(self) -> &'static str {
        match self {
            FileKind::Document => "documents",
            FileKind::Photo => "photos",
            FileKind::Voice => "voice",
            FileKind::Sticker => "stickers",
        }
    }
}

/// A file the sandbox knows: uploaded by the bot, or sent by a user.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub kind: FileKind,
    pub file_id: String,
    pub file_unique_id: String,
    pub file_name: String,
    pub mime_type: String,
    /// The content: what the bot uploaded; users' files have a size but no content (empty).
    pub bytes: Bytes,
    /// The size in bytes (`file_size`).
    pub size: u64,
    /// For one size of a photo: the whole `PhotoSize` array it belongs to.
    pub photo: Option<Value>,
}

impl StoredFile {
    pub(crate) fn document_json(&self) -> Value {
        json!({
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.size,
        })
    }
}

/// A pre-checkout query the bot has not answered yet.
#[derive(Debug, Clone)]
pub(crate) struct PreCheckout {
    /// The update that carried the query.
    pub update_id: i32,
    /// The chat of the invoice: the successful payment message goes there.
    pub chat_id: i64,
    pub user: SandboxUser,
    pub currency: String,
    pub total_amount: i64,
    pub payload: String,
}

/// Everything the sandbox remembers, behind one lock.
pub(crate) struct State {
    next_update_id: i32,
    /// Updates not yet confirmed by `getUpdates`' offset: id and serialized JSON.
    pub pending: VecDeque<(i32, Arc<str>)>,
    pub users: HashMap<i64, SandboxUser>,
    pub chats: HashMap<i64, Chat>,
    pub events: Vec<SandboxEvent>,
    /// The sequence number of `events[0]` (earlier events were forgotten).
    pub events_base: usize,
    pub calls: Vec<(String, Value)>,
    pub handled: HashSet<i32>,
    /// Unanswered callback queries: id → chat id.
    pub callbacks: HashMap<String, i64>,
    /// Unanswered pre-checkout queries by id.
    pub pre_checkouts: HashMap<String, PreCheckout>,
    /// The update id of the successful payment each accepted pre-checkout query (by its
    /// update id) led to.
    pub payment_followups: HashMap<i32, i32>,
    next_charge: u64,
    next_serial: u64,
    pub files: HashMap<String, StoredFile>,
    /// Bot commands by "scope|language".
    pub commands: HashMap<String, Value>,
    /// Menu buttons by chat (`None`: the default).
    pub menu_buttons: HashMap<Option<i64>, Value>,
    /// Failures to return on the next calls of a method (lower-case name).
    pub injected: Vec<(String, Failure)>,
    /// Delays before the next calls of methods (lower-case method, delay), each used once.
    pub delays: Vec<(String, std::time::Duration)>,
    pub rate_limits: Option<RateLimits>,
    /// When the bot's sends of the last second happened, all chats together.
    pub recent_sends: VecDeque<Instant>,
    /// Sends refused with 429.
    pub rate_limited: usize,
    pub webhook: Option<super::webhook::Webhook>,
    /// Bumped by every `setWebhook`/`deleteWebhook`.
    pub webhook_generation: u64,
    /// Updates being POSTed to the webhook.
    pub in_flight: HashSet<i32>,
    /// The update kinds the bot asked for with `allowed_updates` (`None`: Telegram's default,
    /// which includes every kind the sandbox makes).
    pub allowed_updates: Option<HashSet<String>>,
    /// Updates never delivered because the bot did not ask for their kind: id → kind.
    pub not_delivered: HashMap<i32, String>,
    /// When updates were handed out and replies arrived, while a benchmark records them.
    pub timings: Option<super::Timings>,
    /// Whether Bot API calls are kept in `calls` (a benchmark turns this off).
    pub keep_calls: bool,
}

impl State {
    fn new() -> State {
        State {
            next_update_id: 1,
            pending: VecDeque::new(),
            users: HashMap::new(),
            chats: HashMap::new(),
            events: Vec::new(),
            events_base: 0,
            calls: Vec::new(),
            handled: HashSet::new(),
            callbacks: HashMap::new(),
            pre_checkouts: HashMap::new(),
            payment_followups: HashMap::new(),
            next_charge: 1,
            next_serial: 1,
            files: HashMap::new(),
            commands: HashMap::new(),
            menu_buttons: HashMap::new(),
            injected: Vec::new(),
            delays: Vec::new(),
            rate_limits: None,
            recent_sends: VecDeque::new(),
            rate_limited: 0,
            webhook: None,
            webhook_generation: 0,
            in_flight: HashSet::new(),
            allowed_updates: None,
            not_delivered: HashMap::new(),
            timings: None,
            keep_calls: true,
        }
    }

    /// Counts a send to `chat_id` against the rate limits, or refuses it with 429.
    pub(crate) fn rate_check(&mut self, chat_id: i64) -> Result<(), Failure> {
        let Some(limits) = self.rate_limits else { return Ok(()) };
        let Some(chat) = self.chats.get_mut(&chat_id) else { return Ok(()) };
        let now = Instant::now();
        let (chat_window, chat_max) = if chat_id < 0 {
            (Duration::from_secs(60), limits.per_group_per_minute)
        } else {
            (Duration::from_secs(1), limits.per_chat_per_second)
        };
        let wait = [
            window_wait(&mut self.recent_sends, now, Duration::from_secs(1), limits.per_second),
            window_wait(&mut chat.recent_sends, now, chat_window, chat_max),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            self.rate_limited += 1;
            let secs = u32::try_from(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).unwrap_or(u32::MAX).max(1);
            return Err(Failure {
                code: 429,
                description: format!("Too Many Requests: retry after {secs}"),
                retry_after: Some(secs),
            });
        }
        chat.recent_sends.push_back(now);
        self.recent_sends.push_back(now);
        Ok(())
    }

    /// A fresh number for ids (files, callback queries).
    pub(crate) fn serial(&mut self) -> u64 {
        let n = self.next_serial;
        self.next_serial += 1;
        n
    }

    /// A fresh Telegram payment charge id ("sbx_charge_000001").
    pub(crate) fn charge_id(&mut self) -> String {
        let n = self.next_charge;
        self.next_charge += 1;
        format!("sbx_charge_{n:06}")
    }

    /// The sequence number the next event gets.
    pub(crate) fn event_seq(&self) -> usize {
        self.events_base + self.events.len()
    }

    pub(crate) fn push_event(&mut self, event: SandboxEvent) {
        if let (Some(timings), SandboxEvent::Sent(message)) = (self.timings.as_mut(), &event) {
            timings.sent.push((message.chat_id, Instant::now(), message.text.clone()));
        }
        self.events.push(event);
    }

    /// Queues an update (`kind` is the field name: "message", "callback_query") and
    /// returns its id. The caller wakes long polls after unlocking. Like Telegram, an update
    /// of a kind the bot's `allowed_updates` leaves out is not queued at all.
    /// Notes the first time each of these updates is handed to the bot, while timings are
    /// recorded.
    pub(crate) fn note_delivered(&mut self, ids: impl Iterator<Item = i32>) {
        if let Some(timings) = self.timings.as_mut() {
            let now = Instant::now();
            for id in ids {
                timings.delivered.entry(id).or_insert(now);
            }
        }
    }

    pub(crate) fn push_update(&mut self, kind: &str, payload: Value) -> i32 {
        let id = self.next_update_id;
        self.next_update_id = self.next_update_id.saturating_add(1);
        if self.allowed_updates.as_ref().is_some_and(|allowed| !allowed.contains(kind)) {
            self.not_delivered.insert(id, kind.to_owned());
            return id;
        }
        let mut update = Map::with_capacity(2);
        update.insert("update_id".to_owned(), json!(id));
        update.insert(kind.to_owned(), payload);
        self.pending.push_back((id, Arc::from(Value::Object(update).to_string())));
        id
    }

    /// Applies the `allowed_updates` parameter of `getUpdates` or `setWebhook`, when given
    /// (an empty list is Telegram's default).
    pub(crate) fn set_allowed_updates(&mut self, allowed: Option<Value>) -> Result<(), Failure> {
        let Some(allowed) = allowed else { return Ok(()) };
        let Value::Array(kinds) = allowed else {
            return Err(Failure::bad("can't parse allowed_updates JSON object"));
        };
        let kinds: HashSet<String> = kinds.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        self.allowed_updates = (!kinds.is_empty()).then_some(kinds);
        Ok(())
    }

    /// Remembers the user (refreshing their private chat if it exists).
    pub(crate) fn register_user(&mut self, user: &SandboxUser) {
        if self.users.get(&user.id) != Some(user) {
            self.users.insert(user.id, user.clone());
            if let Some(chat) = self.chats.get_mut(&user.id) {
                chat.json = private_chat_json(user);
            }
        }
    }

    /// The user's private chat with the bot, opened if needed.
    pub(crate) fn private_chat(&mut self, user: &SandboxUser) -> &mut Chat {
        self.register_user(user);
        self.chats.entry(user.id).or_insert_with(|| Chat::new(private_chat_json(user)))
    }

    /// A group chat the bot is a member of, created with `title` if new.
    pub(crate) fn group_chat(&mut self, chat_id: i64, title: Option<&str>) -> &mut Chat {
        let chat = self.chats.entry(chat_id).or_insert_with(|| {
            let title = title.map_or_else(|| format!("Group {}", chat_id.unsigned_abs()), str::to_owned);
            Chat::new(group_chat_json(chat_id, &title, false))
        });
        if let Some(title) = title {
            chat.json = group_chat_json(chat_id, title, chat.forum);
        }
        chat
    }

    /// A forum supergroup the bot administers (it may manage topics), created or made a
    /// forum with `title`.
    pub(crate) fn forum_chat(&mut self, chat_id: i64, title: &str) -> &mut Chat {
        let chat = self.group_chat(chat_id, Some(title));
        chat.forum = true;
        chat.json = group_chat_json(chat_id, title, true);
        chat
    }
}

/// Drops sends older than `window`; if `max` are left, how long until the oldest expires.
fn window_wait(sends: &mut VecDeque<Instant>, now: Instant, window: Duration, max: u32) -> Option<Duration> {
    while sends.front().is_some_and(|t| now.duration_since(*t) >= window) {
        sends.pop_front();
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    (sends.len() >= max).then(|| sends.front().map_or(window, |t| window.saturating_sub(now.duration_since(*t))))
}

pub(crate) fn user_json(user: &SandboxUser) -> Value {
    let mut o = Map::new();
    o.insert("id".to_owned(), json!(user.id));
    o.insert("is_bot".to_owned(), json!(false));
    o.insert("first_name".to_owned(), json!(user.first_name));
    if let Some(v) = &user.last_name {
        o.insert("last_name".to_owned(), json!(v));
    }
    if let Some(v) = &user.username {
        o.insert("username".to_owned(), json!(v));
    }
    if let Some(v) = &user.language_code {
        o.insert("language_code".to_owned(), json!(v));
    }
    Value::Object(o)
}

fn private_chat_json(user: &SandboxUser) -> Value {
    let mut o = Map::new();
    o.insert("id".to_owned(), json!(user.id));
    o.insert("type".to_owned(), json!("private"));
    o.insert("first_name".to_owned(), json!(user.first_name));
    if let Some(v) = &user.last_name {
        o.insert("last_name".to_owned(), json!(v));
    }
    if let Some(v) = &user.username {
        o.insert("username".to_owned(), json!(v));
    }
    Value::Object(o)
}

/// Supergroups have ids below -10^12 (Telegram's `-100…` ids); other negative ids are groups.
/// A forum is always a supergroup.
fn group_chat_json(chat_id: i64, title: &str, forum: bool) -> Value {
    if forum {
        return json!({ "id": chat_id, "type": "supergroup", "title": title, "is_forum": true });
    }
    let kind = if chat_id <= -1_000_000_000_000 { "supergroup" } else { "group" };
    json!({ "id": chat_id, "type": kind, "title": title })
}

/// The Bot API `Message` object for a bot message as it is now.
pub(crate) fn message_json(bot: &Value, chat: &Chat, m: &StoredMessage) -> Value {
    message_json_with(bot, chat, m, true)
}

/// [`message_json`], with or without `reply_to_message` (Telegram nests one level only).
fn message_json_with(bot: &Value, chat: &Chat, m: &StoredMessage, with_reply: bool) -> Value {
    let mut o = Map::new();
    o.insert("message_id".to_owned(), json!(m.view.message_id));
    o.insert("from".to_owned(), bot.clone());
    o.insert("chat".to_owned(), chat.json.clone());
    o.insert("date".to_owned(), json!(m.date));
    if let Some(d) = m.edit_date {
        o.insert("edit_date".to_owned(), json!(d));
    }
    if let Some(thread) = m.view.thread_id {
        o.insert("message_thread_id".to_owned(), json!(thread));
        o.insert("is_topic_message".to_owned(), json!(true));
    }
    if with_reply {
        // An explicit reply, else (in a topic) the topic's creation, as Telegram shows it.
        let reply = m
            .reply_to
            .and_then(|id| chat.shallow_message_json(bot, id))
            .or_else(|| m.view.thread_id.and_then(|t| chat.topics.get(&t)).map(|t| t.created.clone()));
        if let Some(reply) = reply {
            o.insert("reply_to_message".to_owned(), reply);
        }
    }
    let has_entities = m.entities.as_array().is_some_and(|a| !a.is_empty());
    let caption = |o: &mut Map<String, Value>| {
        if !m.view.text.is_empty() {
            o.insert("caption".to_owned(), json!(m.view.text));
            if has_entities {
                o.insert("caption_entities".to_owned(), m.entities.clone());
            }
        }
    };
    let media = || m.media.clone().unwrap_or(Value::Null);
    match &m.view.content {
        BotContent::Text => {
            o.insert("text".to_owned(), json!(m.view.text));
            if has_entities {
                o.insert("entities".to_owned(), m.entities.clone());
            }
        }
        BotContent::Document { .. } => {
            o.insert("document".to_owned(), media());
            caption(&mut o);
        }
        BotContent::Photo { .. } => {
            o.insert("photo".to_owned(), media());
            caption(&mut o);
        }
        BotContent::Voice { .. } => {
            o.insert("voice".to_owned(), media());
            caption(&mut o);
        }
        BotContent::Sticker { .. } => {
            o.insert("sticker".to_owned(), media());
        }
        BotContent::Contact { .. } => {
            o.insert("contact".to_owned(), media());
        }
        BotContent::Location { latitude, longitude } => {
            o.insert("location".to_owned(), json!({ "latitude": latitude, "longitude": longitude }));
        }
        BotContent::Invoice { title, description, currency, total_amount, start_parameter } => {
            o.insert(
                "invoice".to_owned(),
                json!({
                    "title": title,
                    "description": description,
                    "start_parameter": start_parameter,
                    "currency": currency,
                    "total_amount": total_amount,
                }),
            );
        }
    }
    if !m.markup.is_null() {
        o.insert("reply_markup".to_owned(), json!({ "inline_keyboard": m.markup }));
    }
    Value::Object(o)
}
