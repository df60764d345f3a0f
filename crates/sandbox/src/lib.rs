//! The sandbox: a local Telegram Bot API emulator (axum, loopback) that the real bot talks to
//! over HTTP exactly as it talks to Telegram, plus a user side that injects messages,
//! contacts and button presses and reads what the bot sent. Used by `cabinet demo`,
//! `cabinet replay`, the tests and the benchmarks. It knows nothing of cabinet itself: the
//! bot tells it when an update is handled through [`Sandbox::observer`].
//!
//! The emulator keeps every chat's messages as the user sees them, queues the user's
//! updates for `getUpdates` (or POSTs them to a loopback webhook after `setWebhook`), and
//! validates the bot's calls the way Telegram does (HTML parse mode, lengths, button data,
//! edits), so mistakes show up here rather than in production. Markdown parse modes are
//! accepted but not parsed. Optional flood limits answer 429 like Telegram, and single
//! failures (any error code, 403 for a blocked user) and slow answers can be injected, for
//! tests of the bot's error handling.
//!
//! Telegram Payments: `sendInvoice` posts an invoice with a pay button; the user pays with
//! [`Sandbox::pay_invoice`] (or by pressing the pay button), which sends the bot a
//! `pre_checkout_query`; when the bot answers it with `ok`, the user's `successful_payment`
//! message follows as the next update ([`Sandbox::payment_followup`] tells its id).
//!
//! Staff groups: [`Sandbox::add_forum_group`] adds a forum supergroup (topics enabled) where
//! the bot manages topics (`createForumTopic`, `editForumTopic`, `closeForumTopic`,
//! `reopenForumTopic`, `deleteForumTopic`) and sends into them with `message_thread_id`;
//! `copyMessage` relays users' and its own messages between chats and topics. Staff write in
//! topics with [`Sandbox::send_topic_text`] and friends, and may delete a topic
//! ([`Sandbox::delete_topic`]). Users' files (photos, voices, documents of any declared size)
//! get file_ids the bot can send again or look up with `getFile`, which refuses files over
//! 20 MB like the Bot API.
//!
//! # Layout
//! - this file: [`Sandbox`] (start, the user side, what the bot sent), users and events.
//! - `server.rs`: the HTTP server (`/bot<token>/<method>`, files); `methods.rs`: the Bot API
//!   methods and their checks; `html.rs` and `markup.rs`: parse modes and keyboards checked as
//!   Telegram does; `media.rs`: files; `forum.rs`: forum topics, administrators and staff;
//!   `webhook.rs`: webhook delivery; `state.rs`: what the emulator remembers.
//! - [`terminal`]: the demo's chat in a terminal.

mod forum;
mod html;
mod markup;
mod media;
mod methods;
mod server;
mod state;
pub mod terminal;
#[cfg(test)]
mod tests;
mod webhook;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value, json};

use media::single;
use methods::Failure;
use state::{Shared, now, user_json};

/// A Telegram user on the customer side of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxUser {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    /// Telegram's `language_code` ("ru", "en").
    pub language_code: Option<String>,
}

impl SandboxUser {
    pub fn new(id: i64, first_name: &str, language_code: Option<&str>) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
            language_code: language_code.map(str::to_owned),
        }
    }
}

/// An inline keyboard button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineButton {
    pub text: String,
    pub callback_data: Option<String>,
    pub url: Option<String>,
    /// A Mini App button's URL.
    pub web_app_url: Option<String>,
    /// A pay button (only invoices carry one, always first).
    pub pay: bool,
}

/// A reply keyboard button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyButton {
    pub text: String,
    pub request_contact: bool,
}

/// What the bot sent.
#[derive(Debug, Clone, PartialEq)]
pub enum BotContent {
    Text,
    /// A document; `bytes` is its size (a user's big file copied by the bot has a size but no
    /// content in the sandbox).
    Document {
        file_name: String,
        bytes: usize,
        file_id: String,
    },
    /// A photo; `file_id` is its largest size's.
    Photo {
        file_id: String,
    },
    /// A voice message (a copy of a user's).
    Voice {
        file_id: String,
        duration: u32,
    },
    /// A sticker (a copy of a user's).
    Sticker {
        file_id: String,
        emoji: Option<String>,
    },
    /// A shared contact (a copy of a user's).
    Contact {
        phone_number: String,
        first_name: String,
    },
    Location {
        latitude: f64,
        longitude: f64,
    },
    /// An invoice; `total_amount` is in the currency's smallest units (tiyn for KZT).
    Invoice {
        title: String,
        description: String,
        currency: String,
        total_amount: i64,
        start_parameter: String,
    },
}

/// A message of the bot as the user sees it now.
#[derive(Debug, Clone, PartialEq)]
pub struct BotMessage {
    pub chat_id: i64,
    pub message_id: i32,
    /// What the user reads: the text (or the caption) with the HTML markup rendered away and
    /// entities unescaped.
    pub text: String,
    pub content: BotContent,
    /// Rows of inline buttons attached to this message.
    pub inline_keyboard: Vec<Vec<InlineButton>>,
    /// The reply keyboard this message put up (`Some(vec![])` if it removed the keyboard).
    pub reply_keyboard: Option<Vec<Vec<ReplyButton>>>,
    /// The forum topic (`message_thread_id`) the message is in; `None` outside topics (in a
    /// forum: the General topic).
    pub thread_id: Option<i32>,
    /// For a `copyMessage` copy: the chat and message it copies.
    pub copied_from: Option<(i64, i32)>,
}

/// What a benchmark records ([`Sandbox::record_timings`]): when each update was first
/// handed to the bot (by `getUpdates` or a webhook POST), and when each message the bot sent
/// arrived, with its chat and text.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Update id → the first moment the bot was handed it.
    pub delivered: std::collections::HashMap<i32, std::time::Instant>,
    /// (chat id, arrival, text) of every message the bot sent, in order.
    pub sent: Vec<(i64, std::time::Instant, String)>,
}

/// A topic of a forum supergroup, as [`Sandbox::topics`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForumTopicInfo {
    /// `message_thread_id`: the id of the message that created the topic.
    pub thread_id: i32,
    pub name: String,
    /// The icon colour (RGB).
    pub icon_color: u32,
    pub icon_custom_emoji_id: Option<String>,
    pub closed: bool,
}

/// Something that happened in the sandbox, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum SandboxEvent {
    /// The bot sent a new message.
    Sent(BotMessage),
    /// The bot edited a message (text or keyboard); carries the message as it is now.
    Edited(BotMessage),
    /// The bot answered a callback query (the toast the user sees, if any).
    CallbackAnswered { chat_id: i64, text: Option<String>, show_alert: bool },
    /// The bot finished handling the update with this id.
    Handled { update_id: i32 },
    /// The bot answered the pre-checkout query of update `update_id`. With `ok`, the user's
    /// `successful_payment` message was queued as update `followup`; otherwise the user sees
    /// `error_message`.
    PreCheckoutAnswered { chat_id: i64, update_id: i32, ok: bool, error_message: Option<String>, followup: Option<i32> },
    /// A forum topic was created, renamed, closed, reopened or deleted (by the bot, or by
    /// staff with [`Sandbox::delete_topic`]); carries the topic as it is after the change
    /// (as it was, for a deletion).
    TopicChanged { chat_id: i64, topic: ForumTopicInfo, change: TopicChange },
}

/// What happened to a forum topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicChange {
    Created,
    /// Its name or icon changed.
    Edited,
    Closed,
    Reopened,
    Deleted,
}

/// Telegram's flood limits on the bot's sends, enforced when set with
/// [`Sandbox::set_rate_limits`]: a send over a limit gets 429 "Too Many Requests" with
/// `retry_after`, and is not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Messages per second across all chats (Telegram: about 30).
    pub per_second: u32,
    /// Messages per second in one private chat (Telegram: about 1, with short bursts).
    pub per_chat_per_second: u32,
    /// Messages per minute in one group chat (Telegram: 20).
    pub per_group_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits { per_second: 30, per_chat_per_second: 3, per_group_per_minute: 20 }
    }
}

/// A button the user can press, as found by [`Sandbox::find_button`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonRef {
    /// An inline button with callback data, or an invoice's pay button (`pay`, with
    /// [`PAY_BUTTON_DATA`] as its data): [`Sandbox::press_inline`] presses either.
    Inline {
        message_id: i32,
        text: String,
        callback_data: String,
        pay: bool,
    },
    Reply {
        text: String,
        request_contact: bool,
    },
}

/// What [`ButtonRef::Inline`] carries as the data of a pay button. It is longer than the 64
/// bytes Telegram allows in callback data, so no real button has it; pressing it with
/// [`Sandbox::press_inline`] pays the invoice.
pub const PAY_BUTTON_DATA: &str = "sandbox:pay-button (pays the invoice; longer than any real callback data)";

/// The running emulator. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    url: reqwest::Url,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.closed.send_replace(true);
    }
}

/// Tells the sandbox when the bot has finished an update (see [`Sandbox::observer`]).
#[derive(Clone)]
pub struct HandledHook(Arc<Shared>);

impl HandledHook {
    /// The bot has finished handling update `update_id`.
    pub fn handled(&self, update_id: i32) {
        {
            let mut st = self.0.lock();
            st.handled.insert(update_id);
            st.push_event(SandboxEvent::Handled { update_id });
        }
        self.0.handled_version.send_modify(|v| *v = v.wrapping_add(1));
    }
}

impl Sandbox {
    /// Starts the emulator on 127.0.0.1 with a free port.
    pub async fn start() -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let secret: String =
            rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(30).map(char::from).collect();
        let shared = Arc::new(Shared::new(format!("{}:SBX{secret}", state::BOT_ID)));
        let url = reqwest::Url::parse(&format!("http://{addr}/")).map_err(std::io::Error::other)?;
        let app = server::router(shared.clone());
        let mut closed = shared.closed.subscribe();
        tokio::spawn(async move {
            let stop = async move {
                let _ = closed.wait_for(|c| *c).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::warn!(error = %e, "the sandbox server stopped");
            }
        });
        Ok(Sandbox { handle: Arc::new(Handle { shared, url }) })
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.handle.shared
    }

    /// The base URL to give teloxide (`Bot::set_api_url`).
    pub fn api_url(&self) -> reqwest::Url {
        self.handle.url.clone()
    }

    /// The bot token the emulator accepts (requests with another token get 401).
    pub fn token(&self) -> &str {
        &self.handle.shared.token
    }

    /// The bot's username (without `@`), as `getMe` reports it.
    pub fn bot_username(&self) -> &str {
        state::BOT_USERNAME
    }

    /// Queues an update built under the lock and wakes the long polls.
    fn queue(&self, build: impl FnOnce(&mut state::State) -> i32) -> i32 {
        let id = build(&mut self.shared().lock());
        self.shared().notify_updates();
        id
    }

    // --- the user side: each call queues an update and returns its update_id ---

    /// Sends a text message in the user's private chat (a leading `/command` gets its
    /// `bot_command` entity).
    pub fn send_text(&self, from: &SandboxUser, text: &str) -> i32 {
        self.queue(|st| queue_text(st, from, text))
    }

    /// Shares a contact with `phone`. `contact_user_id` is the user_id Telegram attaches:
    /// `Some(from.id)` for one's own contact, another id for someone else's, `None` for a
    /// contact without user_id.
    pub fn send_contact(&self, from: &SandboxUser, phone: &str, contact_user_id: Option<i64>) -> i32 {
        self.queue(|st| {
            let chat = st.private_chat(from);
            if chat.keyboard.as_ref().is_some_and(|k| k.one_time && k.rows.iter().flatten().any(|b| b.request_contact))
            {
                chat.keyboard = None;
            }
            let mut contact = Map::new();
            contact.insert("phone_number".to_owned(), json!(phone));
            if contact_user_id == Some(from.id) {
                contact.insert("first_name".to_owned(), json!(from.first_name));
                if let Some(last) = &from.last_name {
                    contact.insert("last_name".to_owned(), json!(last));
                }
            } else {
                contact.insert("first_name".to_owned(), json!("Contact"));
            }
            if let Some(id) = contact_user_id {
                contact.insert("user_id".to_owned(), json!(id));
            }
            let message = user_message(chat, from, single("contact", Value::Object(contact)), None);
            st.push_update("message", message)
        })
    }

    /// Sends a regular static sticker.
    pub fn send_sticker(&self, from: &SandboxUser) -> i32 {
        self.send_media(from, Place::Private, state::State::sticker_content)
    }

    /// Sends a photo (three sizes, as Telegram delivers them).
    pub fn send_photo(&self, from: &SandboxUser) -> i32 {
        self.send_media(from, Place::Private, state::State::photo_content)
    }

    /// Sends a three-second voice message.
    pub fn send_voice(&self, from: &SandboxUser) -> i32 {
        self.send_media(from, Place::Private, state::State::voice_content)
    }

    /// Sends a document of `size_bytes` bytes (its `file_size`) in the user's private chat.
    /// The sandbox keeps no content for it, so a big size costs nothing; the bot can copy it
    /// or send it on by file_id, and `getFile` refuses it over 20 MB as Telegram does.
    pub fn send_document(&self, from: &SandboxUser, file_name: &str, size_bytes: u64) -> i32 {
        self.send_media(from, Place::Private, |st| st.document_content(file_name, size_bytes))
    }

    /// A text message in a group chat (`group_chat_id` negative) the bot is a member of.
    /// A non-negative id is negated (0 becomes -1) so it never collides with a user's chat.
    /// In a forum this is the General topic (no thread id).
    pub fn send_group_text(&self, from: &SandboxUser, group_chat_id: i64, text: &str) -> i32 {
        self.send_media(from, Place::Group { chat_id: group_id(group_chat_id), thread: None }, |_| text_content(text))
    }

    /// A message with the content `build` makes (registering its files) in the user's
    /// private chat or in a group (and topic).
    fn send_media(
        &self,
        from: &SandboxUser,
        place: Place,
        build: impl FnOnce(&mut state::State) -> Map<String, Value>,
    ) -> i32 {
        self.queue(|st| {
            let content = build(st);
            st.register_user(from);
            let (chat, thread) = match place {
                Place::Private => (st.private_chat(from), None),
                Place::Group { chat_id, thread } => {
                    let chat = st.group_chat(chat_id, None);
                    chat.members.insert(from.id);
                    (chat, thread)
                }
            };
            let message = user_message(chat, from, content, thread);
            st.push_update("message", message)
        })
    }

    /// Presses an inline button: a callback query with this data on this message.
    pub fn press_inline(&self, from: &SandboxUser, message_id: i32, callback_data: &str) -> i32 {
        self.press_inline_in(from, from.id, message_id, callback_data)
    }

    /// Presses an inline button on a message of any chat (a group's, for example). With
    /// [`PAY_BUTTON_DATA`] on an invoice, this pays it (see [`Sandbox::pay_invoice`]).
    pub fn press_inline_in(&self, from: &SandboxUser, chat_id: i64, message_id: i32, callback_data: &str) -> i32 {
        if callback_data == PAY_BUTTON_DATA
            && let Some(update_id) = self.pay_invoice(from, chat_id, message_id)
        {
            return update_id;
        }
        let bot = self.shared().bot_json.clone();
        self.queue(|st| {
            let n = st.serial();
            let id = format!("{}", 4_611_686_018_427_387_904_u64.wrapping_add(n));
            st.register_user(from);
            // Another user's private chat the sandbox does not know falls back to the presser's.
            let chat_id = if chat_id < 0 || st.chats.contains_key(&chat_id) { chat_id } else { from.id };
            st.callbacks.insert(id.clone(), chat_id);
            let chat = if chat_id == from.id {
                st.private_chat(from)
            } else if chat_id < 0 {
                st.group_chat(chat_id, None)
            } else {
                st.chats.entry(chat_id).or_insert_with(|| state::Chat::new(json!({ "id": chat_id, "type": "private" })))
            };
            let message = match chat.message_index(message_id) {
                Some(i) => state::message_json(&bot, chat, &chat.messages[i]),
                // Telegram's "inaccessible message": date 0.
                None => json!({ "chat": chat.json, "message_id": message_id, "date": 0 }),
            };
            let query = json!({
                "id": id,
                "from": user_json(from),
                "message": message,
                "chat_instance": format!("{}", chat_id.wrapping_mul(7_919).wrapping_add(1_000_003)),
                "data": callback_data,
            });
            st.push_update("callback_query", query)
        })
    }

    /// Pays the invoice `message_id` of `chat_id` (the user's private chat or a group): the
    /// bot gets a `pre_checkout_query` with the invoice's currency, total and payload, and
    /// this returns that update's id. When the bot accepts it, the user's
    /// `successful_payment` message follows ([`Sandbox::payment_followup`]). `None` when
    /// there is no such invoice the user can see.
    pub fn pay_invoice(&self, from: &SandboxUser, chat_id: i64, message_id: i32) -> Option<i32> {
        let update_id = {
            let mut guard = self.shared().lock();
            let st = &mut *guard;
            if chat_id != from.id && chat_id >= 0 {
                return None;
            }
            let chat = st.chats.get(&chat_id)?;
            let message = &chat.messages[chat.message_index(message_id)?];
            let BotContent::Invoice { currency, total_amount, .. } = &message.view.content else { return None };
            let payload = message.invoice_payload.clone()?;
            let (currency, total_amount) = (currency.clone(), *total_amount);
            st.register_user(from);
            let n = st.serial();
            let id = format!("{}", 2_305_843_009_213_693_952_u64.wrapping_add(n));
            let query = json!({
                "id": id,
                "from": user_json(from),
                "currency": currency,
                "total_amount": total_amount,
                "invoice_payload": payload,
            });
            let update_id = st.push_update("pre_checkout_query", query);
            let pending =
                state::PreCheckout { update_id, chat_id, user: from.clone(), currency, total_amount, payload };
            st.pre_checkouts.insert(id, pending);
            update_id
        };
        self.shared().notify_updates();
        Some(update_id)
    }

    /// The update id of the `successful_payment` message that followed the pre-checkout
    /// query of update `pre_checkout_update_id`, once the bot has accepted it.
    pub fn payment_followup(&self, pre_checkout_update_id: i32) -> Option<i32> {
        self.shared().lock().payment_followups.get(&pre_checkout_update_id).copied()
    }

    /// Delivers a `successful_payment` message from the user in `chat_id` directly, without
    /// an invoice or a pre-checkout query (tests use it to deliver the same payment twice).
    /// `charge_id` is the `telegram_payment_charge_id`.
    pub fn send_successful_payment(
        &self,
        from: &SandboxUser,
        chat_id: i64,
        payload: &str,
        currency: &str,
        total_amount: i64,
        charge_id: &str,
    ) -> i32 {
        let provider_charge_id = if currency == "XTR" { String::new() } else { format!("provider_{charge_id}") };
        let payment = Payment { payload, currency, total_amount, charge_id, provider_charge_id: &provider_charge_id };
        self.queue(|st| queue_successful_payment(st, from, chat_id, &payment))
    }

    /// Opens the user's private chat as if they had started the bot earlier, so the bot
    /// can write first.
    pub fn add_user(&self, user: &SandboxUser) {
        self.shared().lock().private_chat(user);
    }

    /// Adds the bot to a group chat (`chat_id` negative, see [`Sandbox::send_group_text`]).
    pub fn add_group(&self, chat_id: i64, title: &str) {
        self.shared().lock().group_chat(group_id(chat_id), Some(title));
    }

    /// Makes sends to this chat fail with 403 "bot was blocked by the user" (or undoes it).
    pub fn set_blocked(&self, chat_id: i64, blocked: bool) {
        if let Some(chat) = self.shared().lock().chats.get_mut(&chat_id) {
            chat.blocked = blocked;
        }
    }

    /// Makes the next call of `method` fail with this Telegram error, once
    /// (`retry_after` adds `parameters.retry_after`, as a 429 carries).
    pub fn fail_next(&self, method: &str, error_code: u16, description: &str, retry_after: Option<u32>) {
        let failure = Failure { code: error_code, description: description.to_owned(), retry_after };
        self.shared().lock().injected.push((method.to_ascii_lowercase(), failure));
    }

    /// Makes the next call of `method` answer only after `delay`, once (a slow Bot API; an
    /// injected failure of the same call comes after the delay).
    pub fn slow_next(&self, method: &str, delay: std::time::Duration) {
        self.shared().lock().delays.push((method.to_ascii_lowercase(), delay));
    }

    /// Enforces Telegram's flood limits on sends (`None`, the default: no limits).
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        let mut st = self.shared().lock();
        st.rate_limits = limits;
        st.recent_sends.clear();
        for chat in st.chats.values_mut() {
            chat.recent_sends.clear();
        }
    }

    /// How many sends were refused with 429 under the rate limits.
    pub fn rate_limited(&self) -> usize {
        self.shared().lock().rate_limited
    }

    // --- reading what the bot did ---

    /// The chat's messages as they are now, oldest first.
    pub fn messages(&self, chat_id: i64) -> Vec<BotMessage> {
        let st = self.shared().lock();
        st.chats.get(&chat_id).map(|c| c.messages.iter().map(|m| m.view.clone()).collect()).unwrap_or_default()
    }

    /// The reply keyboard currently shown in the chat (rows of buttons), if any.
    pub fn reply_keyboard(&self, chat_id: i64) -> Option<Vec<Vec<ReplyButton>>> {
        let st = self.shared().lock();
        st.chats.get(&chat_id).and_then(|c| c.keyboard.as_ref()).map(|k| k.rows.clone())
    }

    /// The newest button in the chat whose label satisfies `pred`: inline buttons of the
    /// newest messages first, then the reply keyboard.
    pub fn find_button(&self, chat_id: i64, pred: &dyn Fn(&str) -> bool) -> Option<ButtonRef> {
        self.find_button_in(chat_id, None, pred)
    }

    /// The sequence number of the next event (for [`Sandbox::events_since`]).
    pub fn event_seq(&self) -> usize {
        self.shared().lock().event_seq()
    }

    /// Events from sequence number `seq` on, for every chat.
    pub fn events_since(&self, seq: usize) -> Vec<SandboxEvent> {
        self.events_with_seq(seq).0
    }

    /// Events from `seq` on and the sequence number after them, read at once (so nothing
    /// slips between reading the events and the next number).
    pub fn events_with_seq(&self, seq: usize) -> (Vec<SandboxEvent>, usize) {
        let st = self.shared().lock();
        let from = seq.saturating_sub(st.events_base).min(st.events.len());
        (st.events[from..].to_vec(), st.event_seq())
    }

    /// The Bot API methods called so far, in order ("getMe", "setMyCommands", …), with
    /// their JSON parameters.
    pub fn calls(&self) -> Vec<(String, serde_json::Value)> {
        self.shared().lock().calls.clone()
    }

    /// Forgets the recorded events and calls (long runs); sequence numbers keep counting.
    pub fn clear_logs(&self) {
        let mut st = self.shared().lock();
        st.events_base += st.events.len();
        st.events.clear();
        st.calls.clear();
    }

    /// Updates queued and not yet confirmed by the bot.
    /// Starts recording [`Timings`] afresh (benchmarks).
    pub fn record_timings(&self) {
        self.shared().lock().timings = Some(Timings::default());
    }

    /// Stops recording and returns what was recorded.
    pub fn take_timings(&self) -> Timings {
        self.shared().lock().timings.take().unwrap_or_default()
    }

    /// How many messages the bot sent since [`Sandbox::record_timings`].
    pub fn timed_sends(&self) -> usize {
        self.shared().lock().timings.as_ref().map_or(0, |t| t.sent.len())
    }

    /// Keeps (the default) or stops keeping the log of Bot API calls that
    /// [`Sandbox::calls`] returns: a long benchmark does without it.
    pub fn keep_call_log(&self, keep: bool) {
        self.shared().lock().keep_calls = keep;
    }

    /// Queues many text messages at once (one lock, one wake-up): (user, text) each, and
    /// returns their update ids in order.
    pub fn send_texts<'a>(&self, messages: impl IntoIterator<Item = (&'a SandboxUser, &'a str)>) -> Vec<i32> {
        let ids = {
            let mut st = self.shared().lock();
            messages.into_iter().map(|(from, text)| queue_text(&mut st, from, text)).collect()
        };
        self.shared().notify_updates();
        ids
    }

    pub fn pending_updates(&self) -> usize {
        self.shared().lock().pending.len()
    }

    /// The bytes of a file the bot uploaded, by its file_id (users' files have no content in
    /// the sandbox: empty).
    pub fn file_bytes(&self, file_id: &str) -> Option<Vec<u8>> {
        self.shared().lock().files.get(file_id).map(|f| f.bytes.to_vec())
    }

    /// The bot's commands for all private chats and users (the default scope) in this
    /// language (`None`: the commands without a language), as (command, description).
    pub fn my_commands(&self, language_code: Option<&str>) -> Vec<(String, String)> {
        let key = format!("default|{}", language_code.unwrap_or_default());
        let st = self.shared().lock();
        let Some(Value::Array(list)) = st.commands.get(&key) else { return Vec::new() };
        let field = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        list.iter().map(|c| (field(c, "command"), field(c, "description"))).collect()
    }

    /// The menu button the bot set for `chat_id` (`None`: the default of every chat), as the
    /// Bot API's `MenuButton` JSON (`{"type":"web_app","text":…,"web_app":{"url":…}}`); `None`
    /// when the bot has set none there.
    pub fn menu_button(&self, chat_id: Option<i64>) -> Option<Value> {
        self.shared().lock().menu_buttons.get(&chat_id).cloned()
    }

    /// The kind of update `update_id` ("pre_checkout_query", …) when it was never delivered
    /// because the bot's `allowed_updates` left that kind out, as Telegram does.
    pub fn not_delivered(&self, update_id: i32) -> Option<String> {
        self.shared().lock().not_delivered.get(&update_id).cloned()
    }

    /// Waits until the bot has handled the update (see [`Sandbox::observer`]); false on
    /// timeout, and at once for an update that was never delivered
    /// ([`Sandbox::not_delivered`]).
    pub async fn wait_handled(&self, update_id: i32, timeout: Duration) -> bool {
        let mut changes = self.shared().handled_version.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let st = self.shared().lock();
                if st.handled.contains(&update_id) {
                    return true;
                }
                if st.not_delivered.contains_key(&update_id) {
                    return false;
                }
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return self.shared().lock().handled.contains(&update_id),
            }
        }
    }

    /// Waits until `condition` holds of the sandbox, checking it again after every Bot API
    /// call the bot makes and every update it reports handled; false if it still does not
    /// hold after `timeout`. For what a bot without an observer does (a bot in another
    /// process, one that registers its commands in the background).
    pub async fn wait_until(&self, timeout: Duration, condition: impl Fn(&Sandbox) -> bool) -> bool {
        let mut calls = self.shared().calls_version.subscribe();
        let mut handled = self.shared().handled_version.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            calls.mark_unchanged();
            handled.mark_unchanged();
            if condition(self) {
                return true;
            }
            let changed = async {
                tokio::select! {
                    r = calls.changed() => r,
                    r = handled.changed() => r,
                }
            };
            match tokio::time::timeout_at(deadline, changed).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return condition(self),
            }
        }
    }

    /// The hook the bot calls when it has finished an update.
    pub fn observer(&self) -> HandledHook {
        HandledHook(self.shared().clone())
    }
}

/// A size as transcripts and the terminal write it: `30MB`, `512KB`, `1.5 MB`, `20971520`
/// (bytes); units are binary (1 KB = 1024 bytes) and their case does not matter.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "K" => 1 << 10,
        "MB" | "M" => 1 << 20,
        "GB" | "G" => 1 << 30,
        _ => return None,
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    match number.split_once('.') {
        None => number.parse::<u64>().ok()?.checked_mul(factor),
        Some((whole, fraction)) => {
            if fraction.contains('.') || fraction.len() > 6 {
                return None;
            }
            let scale = 10_u64.pow(u32::try_from(fraction.len()).ok()?);
            let value = whole.parse::<u64>().ok()?.checked_mul(scale)?.checked_add(fraction.parse::<u64>().ok()?)?;
            Some(value.checked_mul(factor)? / scale)
        }
    }
}

fn group_id(chat_id: i64) -> i64 {
    match chat_id {
        0 => -1,
        id if id > 0 => -id,
        id => id,
    }
}

/// Where a user's message goes.
#[derive(Debug, Clone, Copy)]
enum Place {
    Private,
    /// A group, and the forum topic in it (`None`: outside topics, the General topic).
    Group {
        chat_id: i64,
        thread: Option<i32>,
    },
}

/// A text message's fields, with the `bot_command` entity Telegram marks on a leading
/// command.
fn text_content(text: &str) -> Map<String, Value> {
    let mut m = single("text", json!(text));
    if text.starts_with('/') {
        let command = text.split(char::is_whitespace).next().unwrap_or_default();
        if command.len() > 1 {
            let length = html::utf16_len(command);
            m.insert("entities".to_owned(), json!([{ "type": "bot_command", "offset": 0, "length": length }]));
        }
    }
    m
}

/// A successful payment, as the user's service message reports it.
struct Payment<'a> {
    payload: &'a str,
    currency: &'a str,
    total_amount: i64,
    /// `telegram_payment_charge_id`.
    charge_id: &'a str,
    /// `provider_payment_charge_id` (empty for Telegram Stars).
    provider_charge_id: &'a str,
}

/// Queues the user's `successful_payment` message in `chat_id` (their private chat, or a
/// group; another user's private chat falls back to their own) and returns its update id.
/// Queues a text message of `from` in their private chat.
fn queue_text(st: &mut state::State, from: &SandboxUser, text: &str) -> i32 {
    let chat = st.private_chat(from);
    if chat.keyboard.as_ref().is_some_and(|k| k.one_time && k.rows.iter().flatten().any(|b| b.text == text)) {
        chat.keyboard = None;
    }
    let message = user_message(chat, from, text_content(text), None);
    st.push_update("message", message)
}

fn queue_successful_payment(st: &mut state::State, from: &SandboxUser, chat_id: i64, payment: &Payment<'_>) -> i32 {
    let chat = if chat_id < 0 {
        st.register_user(from);
        st.group_chat(chat_id, None)
    } else {
        st.private_chat(from)
    };
    let successful_payment = json!({
        "currency": payment.currency,
        "total_amount": payment.total_amount,
        "invoice_payload": payment.payload,
        "telegram_payment_charge_id": payment.charge_id,
        "provider_payment_charge_id": payment.provider_charge_id,
    });
    let message = user_message(chat, from, single("successful_payment", successful_payment), None);
    st.push_update("message", message)
}

/// A message a user sends in `chat` (in forum topic `thread`), with the given content
/// fields. The chat keeps it (the bot may copy it); returns it for the update. Like
/// Telegram, a message in a topic carries the thread id and replies to the topic's creation.
fn user_message(chat: &mut state::Chat, from: &SandboxUser, content: Map<String, Value>, thread: Option<i32>) -> Value {
    let message_id = chat.next_id();
    let service = content.contains_key("successful_payment");
    let mut m = Map::with_capacity(7 + content.len());
    m.insert("message_id".to_owned(), json!(message_id));
    m.insert("from".to_owned(), user_json(from));
    m.insert("chat".to_owned(), chat.json.clone());
    m.insert("date".to_owned(), json!(now()));
    if let Some(thread) = thread {
        m.insert("message_thread_id".to_owned(), json!(thread));
        m.insert("is_topic_message".to_owned(), json!(true));
        if let Some(topic) = chat.topics.get(&thread) {
            m.insert("reply_to_message".to_owned(), topic.created.clone());
        }
    }
    m.extend(content);
    let message = Value::Object(m);
    chat.others.insert(message_id, state::OtherMessage { json: message.clone(), thread_id: thread, service });
    message
}
