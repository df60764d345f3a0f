//! Forum supergroups: topics (`createForumTopic` … `deleteForumTopic`), `copyMessage` between
//! chats and topics, and the staff side of a forum (members writing in topics).
//!
//! As in Telegram, a topic's id (`message_thread_id`) is the id of the `forum_topic_created`
//! service message that opened it; every message in the topic carries that id with
//! `is_topic_message: true` and, unless it replies to something else, replies to that service
//! message. Messages outside topics are in the General topic and carry no thread id. The bot
//! is an administrator that may manage topics, so it may also write into closed topics.
//! Deleting a topic deletes its messages; later sends into it fail with "message thread not
//! found".

use serde_json::{Map, Value, json};

use super::html::Formatted;
use super::markup;
use super::methods::{Failure, NewMessage, Params, check_caption, format_text, post};
use super::state::{Chat, OtherMessage, Shared, State, Topic, now};
use super::{
    BotContent, BotMessage, ButtonRef, ForumTopicInfo, PAY_BUTTON_DATA, Place, Sandbox, SandboxEvent, SandboxUser,
    TopicChange, group_id, text_content,
};

/// The longest topic name, in characters: Telegram cuts longer names to this.
const MAX_TOPIC_NAME: usize = 128;

/// The icon colours Telegram offers for topics (RGB).
pub const TOPIC_COLORS: [u32; 6] = [0x6F_B9F0, 0xFF_D67E, 0xCB_86DB, 0x8E_EE98, 0xFF_93B2, 0xFB_6F5F];

/// Telegram's answer for a topic id a forum does not have (any more).
fn topic_invalid() -> Failure {
    Failure::bad("TOPIC_ID_INVALID")
}

fn not_modified() -> Failure {
    Failure::bad("TOPIC_NOT_MODIFIED")
}

/// A topic name as Telegram keeps it: control characters as spaces, trimmed, at most 128
/// characters.
fn clean_name(name: &str) -> String {
    let spaced: String = name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.trim().chars().take(MAX_TOPIC_NAME).collect::<String>().trim_end().to_owned()
}

impl Topic {
    fn info(&self, thread_id: i32) -> ForumTopicInfo {
        ForumTopicInfo {
            thread_id,
            name: self.name.clone(),
            icon_color: self.icon_color,
            icon_custom_emoji_id: self.icon_custom_emoji_id.clone(),
            closed: self.closed,
        }
    }

    /// The Bot API `ForumTopic`.
    fn to_json(&self, thread_id: i32) -> Value {
        let mut o = Map::new();
        o.insert("message_thread_id".to_owned(), json!(thread_id));
        o.insert("name".to_owned(), json!(self.name));
        o.insert("icon_color".to_owned(), json!(self.icon_color));
        if let Some(id) = &self.icon_custom_emoji_id {
            o.insert("icon_custom_emoji_id".to_owned(), json!(id));
        }
        Value::Object(o)
    }
}

/// The forum `chat_id` names, checked like Telegram: a known chat that has topics.
fn forum_of<'a>(st: &'a mut State, p: &Params) -> Result<(i64, &'a mut Chat), Failure> {
    let chat_id = p.chat_id()?;
    let chat = st.chats.get_mut(&chat_id).ok_or_else(Failure::chat_not_found)?;
    if !chat.forum {
        return Err(Failure::bad("the chat is not a forum"));
    }
    Ok((chat_id, chat))
}

/// The topic `message_thread_id` names in a forum.
fn topic_id(p: &Params, chat: &Chat) -> Result<i32, Failure> {
    let id = p.thread_id()?.filter(|id| *id > 0);
    let Some(id) = id else { return Err(Failure::bad("invalid message thread identifier specified")) };
    i32::try_from(id).ok().filter(|id| chat.topics.contains_key(id)).ok_or_else(topic_invalid)
}

/// Posts a service message of the bot (`field`: its content) in a topic of the chat.
fn service_message(bot: &Value, chat: &mut Chat, thread_id: i32, field: &str, content: Value) {
    let message_id = chat.next_id();
    let mut m = Map::new();
    m.insert("message_id".to_owned(), json!(message_id));
    m.insert("from".to_owned(), bot.clone());
    m.insert("chat".to_owned(), chat.json.clone());
    m.insert("date".to_owned(), json!(now()));
    m.insert("message_thread_id".to_owned(), json!(thread_id));
    m.insert("is_topic_message".to_owned(), json!(true));
    if let Some(topic) = chat.topics.get(&thread_id) {
        m.insert("reply_to_message".to_owned(), topic.created.clone());
    }
    m.insert(field.to_owned(), content);
    chat.others.insert(message_id, OtherMessage { json: Value::Object(m), thread_id: Some(thread_id), service: true });
}

/// `createForumTopic`: a new topic (its `forum_topic_created` message opens it); answers
/// the `ForumTopic`.
pub(crate) fn create_forum_topic(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let name = clean_name(&p.str("name")?.unwrap_or_default());
    let color = p.int("icon_color")?;
    let emoji = p.str("icon_custom_emoji_id")?.filter(|e| !e.is_empty());
    let mut guard = shared.lock();
    let st = &mut *guard;
    let (chat_id, chat) = forum_of(st, p)?;
    if name.is_empty() {
        return Err(Failure::bad("title must be non-empty"));
    }
    let thread_id = chat.next_id();
    let icon_color = match color {
        Some(c) => u32::try_from(c)
            .ok()
            .filter(|c| *c <= 0xFF_FFFF)
            .ok_or_else(|| Failure::bad("invalid icon color specified"))?,
        None => TOPIC_COLORS[thread_id.unsigned_abs() as usize % TOPIC_COLORS.len()],
    };
    let mut created_info = Map::new();
    created_info.insert("name".to_owned(), json!(name));
    created_info.insert("icon_color".to_owned(), json!(icon_color));
    if let Some(e) = &emoji {
        created_info.insert("icon_custom_emoji_id".to_owned(), json!(e));
    }
    let created = json!({
        "message_id": thread_id,
        "from": shared.bot_json,
        "chat": chat.json,
        "date": now(),
        "message_thread_id": thread_id,
        "is_topic_message": true,
        "forum_topic_created": Value::Object(created_info),
    });
    chat.others.insert(thread_id, OtherMessage { json: created.clone(), thread_id: Some(thread_id), service: true });
    let topic = Topic { name, icon_color, icon_custom_emoji_id: emoji, closed: false, created };
    let answer = topic.to_json(thread_id);
    let info = topic.info(thread_id);
    chat.topics.insert(thread_id, topic);
    st.push_event(SandboxEvent::TopicChanged { chat_id, topic: info, change: TopicChange::Created });
    Ok(answer)
}

/// `editForumTopic`: a new name and/or custom emoji icon (an empty name keeps the name, an
/// empty emoji id removes the icon).
pub(crate) fn edit_forum_topic(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let raw_name = p.str("name")?.unwrap_or_default();
    let name = clean_name(&raw_name);
    let emoji = p.str("icon_custom_emoji_id")?;
    let mut guard = shared.lock();
    let st = &mut *guard;
    let (chat_id, chat) = forum_of(st, p)?;
    let thread_id = topic_id(p, chat)?;
    if !raw_name.is_empty() && name.is_empty() {
        return Err(Failure::bad("title must be non-empty"));
    }
    if raw_name.is_empty() && emoji.is_none() {
        return Ok(json!(true));
    }
    let Some(topic) = chat.topics.get_mut(&thread_id) else { return Err(topic_invalid()) };
    let new_name = if name.is_empty() { topic.name.clone() } else { name };
    let new_emoji = match emoji {
        None => topic.icon_custom_emoji_id.clone(),
        Some(e) if e.is_empty() => None,
        Some(e) => Some(e),
    };
    if new_name == topic.name && new_emoji == topic.icon_custom_emoji_id {
        return Err(not_modified());
    }
    let mut edited = Map::new();
    if new_name != topic.name {
        edited.insert("name".to_owned(), json!(new_name));
    }
    if new_emoji != topic.icon_custom_emoji_id {
        edited.insert("icon_custom_emoji_id".to_owned(), json!(new_emoji.clone().unwrap_or_default()));
    }
    topic.name = new_name;
    topic.icon_custom_emoji_id = new_emoji;
    let info = topic.info(thread_id);
    service_message(&shared.bot_json, chat, thread_id, "forum_topic_edited", Value::Object(edited));
    st.push_event(SandboxEvent::TopicChanged { chat_id, topic: info, change: TopicChange::Edited });
    Ok(json!(true))
}

/// `closeForumTopic` (`close`) and `reopenForumTopic`.
pub(crate) fn close_forum_topic(shared: &Shared, p: &Params, close: bool) -> Result<Value, Failure> {
    let mut guard = shared.lock();
    let st = &mut *guard;
    let (chat_id, chat) = forum_of(st, p)?;
    let thread_id = topic_id(p, chat)?;
    let Some(topic) = chat.topics.get_mut(&thread_id) else { return Err(topic_invalid()) };
    if topic.closed == close {
        return Err(not_modified());
    }
    topic.closed = close;
    let info = topic.info(thread_id);
    let (field, change) = if close {
        ("forum_topic_closed", TopicChange::Closed)
    } else {
        ("forum_topic_reopened", TopicChange::Reopened)
    };
    service_message(&shared.bot_json, chat, thread_id, field, json!({}));
    st.push_event(SandboxEvent::TopicChanged { chat_id, topic: info, change });
    Ok(json!(true))
}

/// `deleteForumTopic`: the topic and all its messages.
pub(crate) fn delete_forum_topic(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let mut guard = shared.lock();
    let st = &mut *guard;
    let (chat_id, chat) = forum_of(st, p)?;
    let thread_id = topic_id(p, chat)?;
    st.remove_topic(chat_id, thread_id);
    Ok(json!(true))
}

impl State {
    /// Deletes a topic with its messages; what it was, if the forum had it.
    pub(crate) fn remove_topic(&mut self, chat_id: i64, thread_id: i32) -> Option<ForumTopicInfo> {
        let chat = self.chats.get_mut(&chat_id)?;
        let topic = chat.topics.remove(&thread_id)?;
        chat.messages.retain(|m| m.view.thread_id != Some(thread_id));
        chat.others.retain(|_, m| m.thread_id != Some(thread_id));
        let info = topic.info(thread_id);
        self.push_event(SandboxEvent::TopicChanged { chat_id, topic: info.clone(), change: TopicChange::Deleted });
        Some(info)
    }
}

/// `copyMessage`: a copy, sent by the bot, of a message it can see (a user's, in a private
/// chat or a group, or its own), into `chat_id` (and topic); answers the copy's `MessageId`.
pub(crate) fn copy_message(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let from_chat_id = p.other_chat_id("from_chat_id")?;
    let message_id = p.message_id()?;
    let caption = match p.str("caption")? {
        Some(_) => {
            let caption = format_text(p, "caption", "parse_mode")?;
            check_caption(&caption)?;
            Some(caption)
        }
        None => None,
    };
    let markup = markup::parse(p.json("reply_markup")?)?;
    let (mut new, is_media) = {
        let st = shared.lock();
        let source = st.chats.get(&from_chat_id).ok_or_else(Failure::chat_not_found)?;
        let not_found = || Failure::bad("message to copy not found");
        let cannot = || Failure::bad("message can't be copied");
        if let Some(i) = source.message_index(message_id) {
            let m = &source.messages[i];
            if matches!(m.view.content, BotContent::Invoice { .. }) {
                return Err(cannot());
            }
            let copy = NewMessage {
                text: m.view.text.clone(),
                entities: m.entities.clone(),
                content: m.view.content.clone(),
                media: m.media.clone(),
                markup: markup::Markup::None,
                invoice_payload: None,
                copied_from: None,
            };
            let is_media =
                m.media.is_some() && !matches!(m.view.content, BotContent::Sticker { .. } | BotContent::Contact { .. });
            (copy, is_media)
        } else {
            let other = source.others.get(&message_id).ok_or_else(not_found)?;
            if other.service {
                return Err(cannot());
            }
            content_of(&other.json).ok_or_else(cannot)?
        }
    };
    if let (Some(caption), true) = (caption, is_media) {
        new.entities = caption.entities_json();
        new.text = caption.text;
    }
    new.markup = markup;
    new.copied_from = Some((from_chat_id, message_id));
    let sent = post(shared, p, chat_id, new)?;
    Ok(json!({ "message_id": sent.get("message_id").cloned().unwrap_or(Value::Null) }))
}

/// What a copy of a user's message carries, and whether it has a caption to replace;
/// `None` for what cannot be copied.
fn content_of(message: &Value) -> Option<(NewMessage, bool)> {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let caption = str_of(message, "caption").unwrap_or_default();
    let caption_entities = message.get("caption_entities").cloned().unwrap_or_else(|| json!([]));
    let new = |text: String, entities: Value, content: BotContent, media: Option<Value>| NewMessage {
        text,
        entities,
        content,
        media,
        markup: markup::Markup::None,
        invoice_payload: None,
        copied_from: None,
    };
    if let Some(text) = str_of(message, "text") {
        let entities = message.get("entities").cloned().unwrap_or_else(|| json!([]));
        return Some((new(text, entities, BotContent::Text, None), false));
    }
    if let Some(photo) = message.get("photo") {
        let file_id = photo.as_array().and_then(|a| a.last()).and_then(|s| str_of(s, "file_id"))?;
        return Some((new(caption, caption_entities, BotContent::Photo { file_id }, Some(photo.clone())), true));
    }
    if let Some(doc) = message.get("document") {
        let content = BotContent::Document {
            file_name: str_of(doc, "file_name").unwrap_or_default(),
            bytes: doc.get("file_size").and_then(Value::as_u64).and_then(|s| usize::try_from(s).ok()).unwrap_or(0),
            file_id: str_of(doc, "file_id")?,
        };
        return Some((new(caption, caption_entities, content, Some(doc.clone())), true));
    }
    if let Some(voice) = message.get("voice") {
        let duration = voice.get("duration").and_then(Value::as_u64).and_then(|d| u32::try_from(d).ok()).unwrap_or(0);
        let content = BotContent::Voice { file_id: str_of(voice, "file_id")?, duration };
        return Some((new(caption, caption_entities, content, Some(voice.clone())), true));
    }
    if let Some(sticker) = message.get("sticker") {
        let content = BotContent::Sticker { file_id: str_of(sticker, "file_id")?, emoji: str_of(sticker, "emoji") };
        return Some((new(String::new(), json!([]), content, Some(sticker.clone())), false));
    }
    if let Some(contact) = message.get("contact") {
        let content = BotContent::Contact {
            phone_number: str_of(contact, "phone_number")?,
            first_name: str_of(contact, "first_name").unwrap_or_default(),
        };
        return Some((new(String::new(), json!([]), content, Some(contact.clone())), false));
    }
    if let Some(location) = message.get("location") {
        let latitude = location.get("latitude").and_then(Value::as_f64)?;
        let longitude = location.get("longitude").and_then(Value::as_f64)?;
        let content = BotContent::Location { latitude, longitude };
        return Some((NewMessage::new(Formatted::default(), content, None, markup::Markup::None), false));
    }
    None
}

/// The staff side: forum groups, their topics and members writing in them.
impl Sandbox {
    /// Adds the bot, as an administrator that manages topics, to a forum supergroup (topics
    /// enabled; created, or an existing group made a forum). Message id 1 is the group's
    /// own (the General topic's), so topics get ids from 2 on.
    pub fn add_forum_group(&self, chat_id: i64, title: &str) {
        let mut st = self.shared().lock();
        let chat = st.forum_chat(group_id(chat_id), title);
        if chat.messages.is_empty() && chat.others.is_empty() {
            let _ = chat.next_id();
        }
    }

    /// Makes `user` a member of the group (messages they send there make them one too).
    pub fn add_member(&self, chat_id: i64, user: &SandboxUser) {
        let mut st = self.shared().lock();
        st.register_user(user);
        st.group_chat(group_id(chat_id), None).members.insert(user.id);
    }

    /// Makes `user` an administrator of the group (and so a member): what the bot's staff
    /// check (`getChatAdministrators`) looks for.
    pub fn add_admin(&self, chat_id: i64, user: &SandboxUser) {
        let mut st = self.shared().lock();
        st.register_user(user);
        let chat = st.group_chat(group_id(chat_id), None);
        chat.members.insert(user.id);
        if !chat.admins.contains(&user.id) {
            chat.admins.push(user.id);
        }
    }

    /// Takes the administrator rights from `user_id` (they stay a member).
    pub fn remove_admin(&self, chat_id: i64, user_id: i64) {
        let mut st = self.shared().lock();
        if let Some(chat) = st.chats.get_mut(&group_id(chat_id)) {
            chat.admins.retain(|id| *id != user_id);
        }
    }

    /// Whether `user_id` is a member of the group.
    pub fn is_member(&self, chat_id: i64, user_id: i64) -> bool {
        self.shared().lock().chats.get(&group_id(chat_id)).is_some_and(|c| c.members.contains(&user_id))
    }

    /// The forum's topics, oldest first (deleted ones are gone).
    pub fn topics(&self, chat_id: i64) -> Vec<ForumTopicInfo> {
        let st = self.shared().lock();
        let Some(chat) = st.chats.get(&chat_id) else { return Vec::new() };
        chat.topics.iter().map(|(id, t)| t.info(*id)).collect()
    }

    /// One topic of the forum, if it has it.
    pub fn topic(&self, chat_id: i64, thread_id: i32) -> Option<ForumTopicInfo> {
        let st = self.shared().lock();
        st.chats.get(&chat_id)?.topics.get(&thread_id).map(|t| t.info(thread_id))
    }

    /// A member of the staff deletes the topic (with its messages), as the Telegram apps
    /// allow admins to; false when there is no such topic. The bot gets no update: later
    /// sends into the topic fail with "message thread not found".
    pub fn delete_topic(&self, chat_id: i64, thread_id: i32) -> bool {
        self.shared().lock().remove_topic(chat_id, thread_id).is_some()
    }

    /// What the bot sent into the topic, as it is now, oldest first.
    pub fn thread_messages(&self, chat_id: i64, thread_id: i32) -> Vec<BotMessage> {
        let st = self.shared().lock();
        let Some(chat) = st.chats.get(&chat_id) else { return Vec::new() };
        chat.messages.iter().filter(|m| m.view.thread_id == Some(thread_id)).map(|m| m.view.clone()).collect()
    }

    /// The topic of the newest message the bot copied into `chat_id` from `from_chat_id`
    /// (for instance, a customer's private chat) that is still there.
    pub fn latest_copy_thread(&self, chat_id: i64, from_chat_id: i64) -> Option<i32> {
        let st = self.shared().lock();
        let chat = st.chats.get(&chat_id)?;
        chat.messages
            .iter()
            .rev()
            .filter(|m| m.view.copied_from.is_some_and(|(from, _)| from == from_chat_id))
            .find_map(|m| m.view.thread_id)
    }

    /// A member writes `text` in a topic of the forum (a leading `/command` gets its
    /// `bot_command` entity). The topic should exist ([`Sandbox::topic`]): Telegram offers
    /// no way to write into a deleted one.
    pub fn send_topic_text(&self, from: &SandboxUser, chat_id: i64, thread_id: i32, text: &str) -> i32 {
        self.send_media(from, topic_place(chat_id, Some(thread_id)), |_| text_content(text))
    }

    /// A member sends a document of `size_bytes` bytes in a topic (see
    /// [`Sandbox::send_document`]).
    pub fn send_topic_document(
        &self,
        from: &SandboxUser,
        chat_id: i64,
        thread_id: i32,
        file_name: &str,
        size_bytes: u64,
    ) -> i32 {
        self.send_media(from, topic_place(chat_id, Some(thread_id)), |st| st.document_content(file_name, size_bytes))
    }

    /// A member sends a photo in a topic.
    pub fn send_topic_photo(&self, from: &SandboxUser, chat_id: i64, thread_id: i32) -> i32 {
        self.send_media(from, topic_place(chat_id, Some(thread_id)), State::photo_content)
    }

    /// A member sends a document outside topics (the General topic of a forum).
    pub fn send_group_document(&self, from: &SandboxUser, chat_id: i64, file_name: &str, size_bytes: u64) -> i32 {
        self.send_media(from, topic_place(chat_id, None), |st| st.document_content(file_name, size_bytes))
    }

    /// A member sends a photo outside topics (the General topic of a forum).
    pub fn send_group_photo(&self, from: &SandboxUser, chat_id: i64) -> i32 {
        self.send_media(from, topic_place(chat_id, None), State::photo_content)
    }

    /// [`Sandbox::find_button`] among the messages of one topic only (`Some`), or of the
    /// whole chat (`None`, with the reply keyboard last).
    pub fn find_button_in(
        &self,
        chat_id: i64,
        thread_id: Option<i32>,
        pred: &dyn Fn(&str) -> bool,
    ) -> Option<ButtonRef> {
        let candidates: Vec<ButtonRef> = {
            let st = self.shared().lock();
            let chat = st.chats.get(&chat_id)?;
            let inline =
                chat.messages.iter().rev().filter(|m| thread_id.is_none() || m.view.thread_id == thread_id).flat_map(
                    |m| {
                        m.view.inline_keyboard.iter().flatten().filter_map(move |b| {
                            let data = if b.pay { Some(PAY_BUTTON_DATA) } else { b.callback_data.as_deref() };
                            data.map(|data| ButtonRef::Inline {
                                message_id: m.view.message_id,
                                text: b.text.clone(),
                                callback_data: data.to_owned(),
                                pay: b.pay,
                            })
                        })
                    },
                );
            let keyboard = chat.keyboard.iter().filter(|_| thread_id.is_none());
            let reply = keyboard
                .flat_map(|k| k.rows.iter().flatten())
                .map(|b| ButtonRef::Reply { text: b.text.clone(), request_contact: b.request_contact });
            inline.chain(reply).collect()
        };
        candidates.into_iter().find(|b| match b {
            ButtonRef::Inline { text, .. } | ButtonRef::Reply { text, .. } => pred(text),
        })
    }
}

fn topic_place(chat_id: i64, thread: Option<i32>) -> Place {
    Place::Group { chat_id: group_id(chat_id), thread }
}

/// `getChatAdministrators`: the bot (an administrator that manages topics) and the members
/// made administrators, as `ChatMember` objects.
pub(crate) fn get_chat_administrators(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    let chat_id = p.chat_id()?;
    let bot = shared.me_json();
    let st = shared.lock();
    let chat = st.chats.get(&chat_id).ok_or_else(Failure::chat_not_found)?;
    if chat.json.get("type").and_then(Value::as_str) == Some("private") {
        return Err(Failure::new(400, "Bad Request: there are no administrators in the private chat"));
    }
    let admin = |user: Value| {
        json!({
            "status": "administrator", "user": user, "can_be_edited": false, "is_anonymous": false,
            "can_manage_chat": true, "can_change_info": true, "can_delete_messages": true,
            "can_manage_video_chats": true, "can_invite_users": true, "can_restrict_members": true,
            "can_pin_messages": true, "can_manage_topics": true, "can_promote_members": false
        })
    };
    let mut members = vec![admin(bot)];
    for id in &chat.admins {
        if let Some(user) = st.users.get(id) {
            members.push(admin(super::state::user_json(user)));
        }
    }
    Ok(Value::Array(members))
}
