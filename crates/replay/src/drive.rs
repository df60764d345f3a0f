//! Driving a bot in the sandbox as its users do: a user writes, shares a contact or presses
//! a button, and what the bot answered is collected once it has handled the update. The
//! transcript runner ([`super::run`]) and the integration tests both act through a
//! [`Driver`], so the two agree on what an action is and on which replies belong to it.
//!
//! ```ignore
//! let driver = Driver::new(&bot.sandbox).with_staff_group(STAFF_CHAT_ID);
//! let replies = driver.say(&user, "/start").await?;
//! assert!(replies.contains("Здравствуйте"), "{}", replies.dump());
//! let replies = driver.press(&user, "Согласен").await?;
//! let replies = driver.share_contact(&user, "+77011234567").await?;
//! let to_staff = replies.staff_texts();
//! ```

use std::fmt;
use std::time::Duration;

use cabinet_sandbox::{BotMessage, ButtonRef, Sandbox, SandboxEvent, SandboxUser};

/// How long the bot may take to handle one update before the step fails.
pub const HANDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Something the bot showed the user in reply to an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A message the bot sent (`edited: false`) or edited (`edited: true`), as it was then.
    Message { edited: bool, message: BotMessage },
    /// The toast of a callback answer.
    Toast { text: String, show_alert: bool },
    /// The bot declined a payment at the pre-checkout step; the user sees its message.
    PaymentDeclined { text: String },
}

impl Reply {
    /// The text the user reads: the message text or caption, or the toast.
    pub fn text(&self) -> &str {
        match self {
            Reply::Message { message, .. } => &message.text,
            Reply::Toast { text, .. } | Reply::PaymentDeclined { text } => text,
        }
    }

    /// Every button label this reply carries: its inline buttons and the reply keyboard it
    /// put up.
    pub fn button_labels(&self) -> Vec<&str> {
        let Reply::Message { message, .. } = self else { return Vec::new() };
        let inline = message.inline_keyboard.iter().flatten().map(|b| b.text.as_str());
        let reply = message.reply_keyboard.iter().flatten().flatten().map(|b| b.text.as_str());
        inline.chain(reply).collect()
    }
}

/// The replies for `chat` among sandbox events: messages sent or edited there, the callback
/// toasts of that chat and the messages of declined payments.
pub fn replies_in(events: Vec<SandboxEvent>, chat: i64) -> Vec<Reply> {
    events
        .into_iter()
        .filter_map(|event| match event {
            SandboxEvent::Sent(message) if message.chat_id == chat => Some(Reply::Message { edited: false, message }),
            SandboxEvent::Edited(message) if message.chat_id == chat => Some(Reply::Message { edited: true, message }),
            SandboxEvent::CallbackAnswered { chat_id, text: Some(text), show_alert }
                if chat_id == chat && !text.is_empty() =>
            {
                Some(Reply::Toast { text, show_alert })
            }
            SandboxEvent::PreCheckoutAnswered { chat_id, ok: false, error_message: Some(text), .. }
                if chat_id == chat =>
            {
                Some(Reply::PaymentDeclined { text })
            }
            _ => None,
        })
        .collect()
}

/// Where a user writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The user's private chat with the bot.
    Private,
    /// A group chat, outside topics (in a forum: the General topic).
    Group(i64),
    /// A topic of a forum group: the chat and the topic's `message_thread_id`.
    Topic(i64, i32),
}

impl Place {
    /// The chat written in: the user's own for [`Place::Private`].
    pub fn chat(self, user: &SandboxUser) -> i64 {
        match self {
            Place::Private => user.id,
            Place::Group(chat) | Place::Topic(chat, _) => chat,
        }
    }
}

/// An update sent on a user's behalf, whose replies are yet to be collected
/// ([`Driver::collect`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The sandbox's event sequence number before it was sent ([`Sandbox::event_seq`]):
    /// its replies are among the events from there on.
    pub since: usize,
    pub update_id: i32,
    /// The chat whose replies are collected as the user's (`None`: none, only the staff
    /// group's, when the driver has one).
    pub chat: Option<i64>,
    /// It paid an invoice: the successful payment that follows an accepted pre-checkout
    /// query is part of it.
    pub payment: bool,
    /// The phone it shared as the user's own contact.
    pub shared_phone: Option<String>,
}

impl Sent {
    /// An update sent straight through the sandbox (several at once, for example), whose
    /// replies are the events in `chat` from sequence number `since` on.
    pub fn update(since: usize, update_id: i32, chat: i64) -> Sent {
        Sent { since, update_id, chat: Some(chat), payment: false, shared_phone: None }
    }
}

/// Why a button was not pressed (nothing was sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPressed {
    /// No button whose label matches.
    NoButton,
    /// The pay button of an invoice that cannot be paid; its label.
    Unpayable(String),
    /// A button that shares the user's contact, and no phone was given to share; its label.
    NoPhone(String),
}

impl fmt::Display for NotPressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotPressed::NoButton => write!(f, "no button whose label matches"),
            NotPressed::Unpayable(label) => write!(f, "the invoice of the pay button [{label}] cannot be paid"),
            NotPressed::NoPhone(label) => write!(f, "no phone to share with the contact button [{label}]"),
        }
    }
}

impl std::error::Error for NotPressed {}

/// The replies to one update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replies {
    /// In the chat of [`Sent::chat`]: messages sent or edited there, toasts, declined
    /// payments ([`replies_in`]).
    pub chat: Vec<Reply>,
    /// What the bot sent the staff group (any topic), when the driver has one.
    pub staff: Option<Vec<Reply>>,
}

impl Replies {
    /// The texts of the replies in the chat, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.chat.iter().map(Reply::text).collect()
    }

    /// The texts of what the bot sent the staff group, in order.
    pub fn staff_texts(&self) -> Vec<&str> {
        self.staff.iter().flatten().map(Reply::text).collect()
    }

    /// Whether some reply in the chat contains `needle` (case-sensitive).
    pub fn contains(&self, needle: &str) -> bool {
        self.chat.iter().any(|r| r.text().contains(needle))
    }

    /// No reply in the chat.
    pub fn is_empty(&self) -> bool {
        self.chat.is_empty()
    }

    /// The texts of the replies in the chat, for a failure message.
    pub fn dump(&self) -> String {
        self.texts().join("\n---\n")
    }
}

/// The bot did not finish handling an update in time, or never got it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unhandled {
    /// Why, in words.
    pub problem: String,
    /// The replies collected anyway.
    pub replies: Replies,
}

impl fmt::Display for Unhandled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; the replies so far:\n{}", self.problem, self.replies.dump())
    }
}

impl std::error::Error for Unhandled {}

/// Why pressing a button and collecting the replies failed.
#[derive(Debug, Clone, PartialEq)]
pub enum DriveError {
    NotPressed(NotPressed),
    Unhandled(Unhandled),
}

impl fmt::Display for DriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriveError::NotPressed(e) => e.fmt(f),
            DriveError::Unhandled(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DriveError {}

impl From<NotPressed> for DriveError {
    fn from(e: NotPressed) -> Self {
        DriveError::NotPressed(e)
    }
}

impl From<Unhandled> for DriveError {
    fn from(e: Unhandled) -> Self {
        DriveError::Unhandled(e)
    }
}

/// Acts on the bot in `sandbox` for its users, and collects the replies: in the chat acted
/// in and, when given one, in the staff group.
#[derive(Clone, Copy)]
pub struct Driver<'a> {
    sandbox: &'a Sandbox,
    staff_chat: Option<i64>,
    timeout: Duration,
}

impl fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("staff_chat", &self.staff_chat)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'a> Driver<'a> {
    /// A driver without a staff group that gives the bot [`HANDLE_TIMEOUT`] per update.
    pub fn new(sandbox: &'a Sandbox) -> Driver<'a> {
        Driver { sandbox, staff_chat: None, timeout: HANDLE_TIMEOUT }
    }

    /// Also collects what the bot sends this group ([`Replies::staff`]).
    pub fn with_staff_group(self, chat_id: i64) -> Driver<'a> {
        Driver { staff_chat: Some(chat_id), ..self }
    }

    /// Gives the bot `timeout` to handle each update.
    pub fn with_timeout(self, timeout: Duration) -> Driver<'a> {
        Driver { timeout, ..self }
    }

    pub fn sandbox(&self) -> &'a Sandbox {
        self.sandbox
    }

    // --- sending: each returns at once with what to collect ---

    /// Sends an update some other way: `send` queues it in the sandbox and returns its id;
    /// the replies are collected from `chat`.
    pub fn send_with(&self, chat: Option<i64>, send: impl FnOnce(&Sandbox) -> i32) -> Sent {
        let since = self.sandbox.event_seq();
        let update_id = send(self.sandbox);
        Sent { since, update_id, chat, payment: false, shared_phone: None }
    }

    /// `user` writes `text` in `place`.
    pub fn send_text(&self, user: &SandboxUser, place: Place, text: &str) -> Sent {
        self.send_with(Some(place.chat(user)), |sandbox| match place {
            Place::Private => sandbox.send_text(user, text),
            Place::Group(chat) => sandbox.send_group_text(user, chat, text),
            Place::Topic(chat, thread) => sandbox.send_topic_text(user, chat, thread, text),
        })
    }

    /// `user` shares a contact with `phone` in their private chat; `contact_user_id` is the
    /// user id Telegram attaches (`Some(user.id)`: their own contact; see
    /// [`Sandbox::send_contact`]).
    pub fn send_contact(&self, user: &SandboxUser, phone: &str, contact_user_id: Option<i64>) -> Sent {
        let mut sent = self.send_with(Some(user.id), |sandbox| sandbox.send_contact(user, phone, contact_user_id));
        if contact_user_id == Some(user.id) {
            sent.shared_phone = Some(phone.to_owned());
        }
        sent
    }

    /// `user` presses the newest button in `place` whose label satisfies `label`: an inline
    /// button (a callback query), an invoice's pay button (the payment), a reply-keyboard
    /// button (its label as text), or, in the private chat, a contact button (shares
    /// `phone` as the user's own contact). In a topic, its buttons are looked for first,
    /// then the whole chat's.
    pub fn press_button(
        &self,
        user: &SandboxUser,
        place: Place,
        label: &dyn Fn(&str) -> bool,
        phone: Option<&str>,
    ) -> Result<Sent, NotPressed> {
        let sandbox = self.sandbox;
        let chat = place.chat(user);
        let found = match place {
            Place::Private => sandbox.find_button(chat, label),
            Place::Group(_) => sandbox.find_button_in(chat, None, label),
            Place::Topic(_, thread) => {
                sandbox.find_button_in(chat, Some(thread), label).or_else(|| sandbox.find_button_in(chat, None, label))
            }
        };
        match found.ok_or(NotPressed::NoButton)? {
            ButtonRef::Inline { message_id, pay: true, text, .. } => {
                let since = sandbox.event_seq();
                let update_id = sandbox.pay_invoice(user, chat, message_id).ok_or(NotPressed::Unpayable(text))?;
                Ok(Sent { since, update_id, chat: Some(chat), payment: true, shared_phone: None })
            }
            ButtonRef::Inline { message_id, callback_data, .. } => {
                Ok(self.send_with(Some(chat), |s| s.press_inline_in(user, chat, message_id, &callback_data)))
            }
            ButtonRef::Reply { request_contact: true, text } if place == Place::Private => {
                let phone = phone.ok_or(NotPressed::NoPhone(text))?;
                Ok(self.send_contact(user, phone, Some(user.id)))
            }
            ButtonRef::Reply { text, .. } => Ok(self.send_text(user, place, &text)),
        }
    }

    // --- collecting ---

    /// Waits until the bot has handled what was sent (for a payment, also the successful
    /// payment that followed it), then gathers the replies since it was sent: in its chat,
    /// and in the staff group when the driver has one. Fails after the driver's timeout,
    /// or at once for an update the bot never gets, with the replies so far.
    pub async fn collect(&self, sent: &Sent) -> Result<Replies, Unhandled> {
        let sandbox = self.sandbox;
        let mut problem = None;
        if !sandbox.wait_handled(sent.update_id, self.timeout).await {
            problem = Some(self.unfinished(sent.update_id, "the update"));
        } else if sent.payment
            && let Some(followup) = sandbox.payment_followup(sent.update_id)
            && !sandbox.wait_handled(followup, self.timeout).await
        {
            problem = Some(self.unfinished(followup, "the successful payment that followed"));
        }
        let events = sandbox.events_since(sent.since);
        let staff = self.staff_chat.map(|chat| replies_in(events.clone(), chat));
        let chat = sent.chat.map(|chat| replies_in(events, chat)).unwrap_or_default();
        let replies = Replies { chat, staff };
        match problem {
            Some(problem) => Err(Unhandled { problem, replies }),
            None => Ok(replies),
        }
    }

    /// Why the bot has not handled update `update_id` (`what`, in words).
    fn unfinished(&self, update_id: i32, what: &str) -> String {
        match self.sandbox.not_delivered(update_id) {
            Some(kind) => format!(
                "the bot never got {what}: it does not ask Telegram for {kind} updates (getUpdates allowed_updates)"
            ),
            None => format!("the bot did not finish handling {what} within {} s", self.timeout.as_secs_f32()),
        }
    }

    // --- both: act, then collect ---

    /// `user` writes `text` in their private chat; the replies.
    pub async fn say(&self, user: &SandboxUser, text: &str) -> Result<Replies, Unhandled> {
        self.collect(&self.send_text(user, Place::Private, text)).await
    }

    /// `user` shares their own contact with `phone`; the replies.
    pub async fn share_contact(&self, user: &SandboxUser, phone: &str) -> Result<Replies, Unhandled> {
        self.collect(&self.send_contact(user, phone, Some(user.id))).await
    }

    /// `user` presses the newest button in their private chat whose label contains `label`
    /// (see [`Driver::press_button`]; a contact button finds no phone to share); the
    /// replies.
    pub async fn press(&self, user: &SandboxUser, label: &str) -> Result<Replies, DriveError> {
        let sent = self.press_button(user, Place::Private, &|l: &str| l.contains(label), None)?;
        Ok(self.collect(&sent).await?)
    }
}
