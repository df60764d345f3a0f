//! The sandbox: a local Telegram Bot API emulator (axum, loopback) that the real bot talks to
//! over HTTP exactly as it talks to Telegram, plus a user side that injects messages,
//! contacts and button presses and reads what the bot sent. Used by `cabinet demo`,
//! `cabinet replay`, the tests and the benchmarks.
//! (Stub interface: the full implementation replaces this.)

pub mod terminal;

use std::sync::Arc;
use std::time::Duration;

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
    Document { file_name: String, bytes: usize, file_id: String },
    Location { latitude: f64, longitude: f64 },
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
}

/// A button the user can press, as found by [`Sandbox::find_button`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonRef {
    Inline { message_id: i32, text: String, callback_data: String },
    Reply { text: String, request_contact: bool },
}

/// The running emulator. Cheap to clone.
#[derive(Clone)]
pub struct Sandbox {}

impl Sandbox {
    /// Starts the emulator on 127.0.0.1 with a free port.
    pub async fn start() -> std::io::Result<Sandbox> {
        todo!()
    }
    /// The base URL to give teloxide (`Bot::set_api_url`).
    pub fn api_url(&self) -> reqwest::Url {
        todo!()
    }
    /// The bot token the emulator accepts (requests with another token get 401).
    pub fn token(&self) -> &str {
        todo!()
    }

    // --- the user side: each call queues an update and returns its update_id ---
    pub fn send_text(&self, from: &SandboxUser, text: &str) -> i32 {
        todo!("{from:?} {text}")
    }
    /// Shares a contact with `phone`. `contact_user_id` is the user_id Telegram attaches:
    /// `Some(from.id)` for one's own contact, another id for someone else's, `None` for a
    /// contact without user_id.
    pub fn send_contact(&self, from: &SandboxUser, phone: &str, contact_user_id: Option<i64>) -> i32 {
        todo!("{from:?} {phone} {contact_user_id:?}")
    }
    pub fn send_sticker(&self, from: &SandboxUser) -> i32 {
        todo!("{from:?}")
    }
    pub fn send_photo(&self, from: &SandboxUser) -> i32 {
        todo!("{from:?}")
    }
    pub fn send_voice(&self, from: &SandboxUser) -> i32 {
        todo!("{from:?}")
    }
    /// A text message in a group chat (`group_chat_id` negative) the bot is a member of.
    pub fn send_group_text(&self, from: &SandboxUser, group_chat_id: i64, text: &str) -> i32 {
        todo!("{from:?} {group_chat_id} {text}")
    }
    /// Presses an inline button: a callback query with this data on this message.
    pub fn press_inline(&self, from: &SandboxUser, message_id: i32, callback_data: &str) -> i32 {
        todo!("{from:?} {message_id} {callback_data}")
    }

    // --- reading what the bot did ---
    /// The chat's messages as they are now, oldest first.
    pub fn messages(&self, chat_id: i64) -> Vec<BotMessage> {
        todo!("{chat_id}")
    }
    /// The reply keyboard currently shown in the chat (rows of buttons), if any.
    pub fn reply_keyboard(&self, chat_id: i64) -> Option<Vec<Vec<ReplyButton>>> {
        todo!("{chat_id}")
    }
    /// The newest button in the chat whose label satisfies `pred`: inline buttons of the
    /// newest messages first, then the reply keyboard.
    pub fn find_button(&self, chat_id: i64, pred: &dyn Fn(&str) -> bool) -> Option<ButtonRef> {
        let _ = pred;
        todo!("{chat_id}")
    }
    /// The sequence number of the next event (for [`Sandbox::events_since`]).
    pub fn event_seq(&self) -> usize {
        todo!()
    }
    /// Events from sequence number `seq` on, for every chat.
    pub fn events_since(&self, seq: usize) -> Vec<SandboxEvent> {
        todo!("{seq}")
    }
    /// The Bot API methods called so far, in order ("getMe", "setMyCommands", …), with
    /// their JSON parameters.
    pub fn calls(&self) -> Vec<(String, serde_json::Value)> {
        todo!()
    }
    /// Waits until the bot has handled the update (see [`Sandbox::observer`]); false on timeout.
    pub async fn wait_handled(&self, update_id: i32, timeout: Duration) -> bool {
        todo!("{update_id} {timeout:?}")
    }
    /// The hook the bot calls when it has finished an update.
    pub fn observer(&self) -> Arc<dyn crate::bot::UpdateObserver> {
        todo!()
    }
}
