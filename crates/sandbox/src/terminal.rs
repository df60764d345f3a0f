//! The interactive terminal chat of `cabinet demo`: the person at the keyboard is a customer
//! of the demo business talking to the real bot through the sandbox, or (with `/staff`) a
//! member of the business's staff writing in the staff group's forum topics. Its own short
//! texts (help, hints) are English and live here.

use std::io::Write;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use super::{
    BotContent, BotMessage, InlineButton, ReplyButton, Sandbox, SandboxEvent, SandboxUser, TopicChange, parse_size,
};

/// A staff member, the staff group and the topic they write in (`None`: General).
type StaffPlace = (SandboxUser, i64, Option<i32>);
/// How long a step waits for the bot to finish handling it.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

const HELP: &str = "\
Type a message and press Enter to send it. Commands:
  N                          press button [N] (a 💳 button pays the invoice)
  /contact +77011234567      share your own contact
  /contact +7... from 9999   share someone else's contact (user 9999)
  /phone +77011234567        the phone that \"share contact\" buttons send
  /user ID [lang] [name]     write as another customer (e.g. /user 5002 ru Ольга)
  /now [+2h | +1d | TIME]    show or move the demo clock (RFC 3339 TIME); what falls due
                             (booking reminders) is sent
  /event [NAME]              the business's system reports something (order_shipped,
                             payment_received, payment_due, balance_low, booking_moved):
                             the bot tells the customer first
  /sticker  /photo  /voice   send one of those
  /document NAME SIZE        send a document (e.g. /document big.zip 30MB)
  /staff ID [name]           write as a staff member in the staff group (a forum)
  /topics  /topic N          list the staff group's topics, write in topic N
  /topic general             write in the General topic (outside topics)
  /customer                  back to the customer
  //start                    send /start (any //command goes to the bot as /command)
  /help                      this list
  /quit                      leave
Other /commands (/start, /balance, ...) are sent to the bot.";

/// What a numbered button does.
#[derive(Debug, Clone)]
enum Choice {
    Callback { chat_id: i64, message_id: i32, callback_data: String },
    Pay { message_id: i32 },
    Link(String),
    WebApp(String),
    Inert,
    Reply(ReplyButton),
}

/// Moves the demo's clock and runs what falls due (booking reminders).
#[async_trait::async_trait]
pub trait TimeTravel: Send + Sync {
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
    /// Sets the clock and runs the jobs due by then.
    async fn set_now(&self, at: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()>;
}

/// Sample events of the business's systems for `/event`.
#[async_trait::async_trait]
pub trait EventSource: Send + Sync {
    /// The names of the samples.
    fn samples(&self) -> Vec<&'static str>;
    /// Posts the sample `name` and sends what it makes the bot say; a line about what
    /// happened (accepted, refused).
    async fn post(&self, name: &str) -> anyhow::Result<String>;
}

/// How the terminal chat runs.
#[derive(Clone, Default)]
pub struct TerminalOptions {
    /// Moves the demo's clock with `/now` (`None`: the clock is the real one).
    pub time: Option<std::sync::Arc<dyn TimeTravel>>,
    /// The staff group (a forum supergroup) `/staff` writes in (`None`: no staff side).
    pub staff_chat: Option<i64>,
    /// The business's events `/event` posts (`None`: no events API).
    pub events: Option<std::sync::Arc<dyn EventSource>>,
}

/// Acting as a staff member.
struct Staff {
    user: SandboxUser,
    /// The topic written in (`None`: the General topic).
    topic: Option<i32>,
}

struct Terminal<W> {
    time: Option<std::sync::Arc<dyn TimeTravel>>,
    events: Option<std::sync::Arc<dyn EventSource>>,
    sandbox: Sandbox,
    user: SandboxUser,
    phone: Option<String>,
    out: W,
    /// The next event sequence number not yet looked at in the customer's chat.
    seen: usize,
    /// The staff group, and the next event not yet looked at there.
    staff_chat: Option<i64>,
    staff_seen: usize,
    /// Set while acting as a staff member.
    staff: Option<Staff>,
    /// Inline buttons of the latest replies that had any, numbered from 1.
    inline: Vec<Choice>,
    /// The reply keyboard's buttons, numbered after the inline ones.
    reply: Vec<Choice>,
    /// The reply keyboard last printed.
    shown_keyboard: Option<Vec<Vec<ReplyButton>>>,
}

enum Flow {
    Continue,
    Quit,
}

/// Runs the chat until end of input or `/quit`. Commands: plain text is sent; a number
/// presses the numbered button; `/contact +7…` shares one's own contact; `/user ID [lang]`
/// switches the customer; `/sticker`, `/photo`, `/voice` send those; `/help` lists these.
pub async fn run(
    sandbox: Sandbox,
    user: SandboxUser,
    input: impl tokio::io::AsyncBufRead + Unpin,
    output: impl std::io::Write,
) -> std::io::Result<()> {
    run_with_time(sandbox, user, None, input, output).await
}

/// [`run`] with `/now`, which moves the demo's clock.
pub async fn run_with_time(
    sandbox: Sandbox,
    user: SandboxUser,
    time: Option<std::sync::Arc<dyn TimeTravel>>,
    input: impl tokio::io::AsyncBufRead + Unpin,
    output: impl std::io::Write,
) -> std::io::Result<()> {
    run_with_options(sandbox, user, TerminalOptions { time, staff_chat: None, events: None }, input, output).await
}

/// [`run`] with the clock of `/now` and the staff group of `/staff`, when given.
pub async fn run_with_options(
    sandbox: Sandbox,
    user: SandboxUser,
    options: TerminalOptions,
    input: impl tokio::io::AsyncBufRead + Unpin,
    output: impl std::io::Write,
) -> std::io::Result<()> {
    let seen = sandbox.event_seq();
    let mut t = Terminal {
        time: options.time,
        events: options.events,
        sandbox,
        user,
        phone: None,
        out: output,
        seen,
        staff_chat: options.staff_chat,
        staff_seen: seen,
        staff: None,
        inline: Vec::new(),
        reply: Vec::new(),
        shown_keyboard: None,
    };
    t.introduce()?;
    writeln!(t.out, "Type a message, a button number, or /help.")?;
    let mut lines = input.lines();
    loop {
        match &t.staff {
            None => write!(t.out, "> ")?,
            Some(Staff { topic: Some(topic), .. }) => write!(t.out, "staff #{topic}> ")?,
            Some(Staff { topic: None, .. }) => write!(t.out, "staff general> ")?,
        }
        t.out.flush()?;
        let Some(line) = lines.next_line().await? else {
            writeln!(t.out)?;
            break;
        };
        if let Flow::Quit = t.handle(line.trim()).await? {
            break;
        }
    }
    writeln!(t.out, "Bye.")?;
    t.out.flush()
}

impl<W: Write> Terminal<W> {
    fn introduce(&mut self) -> std::io::Result<()> {
        let lang = self.user.language_code.as_deref().map(|l| format!(", language {l}")).unwrap_or_default();
        writeln!(self.out, "You are {} (Telegram user {}{lang}).", self.user.first_name, self.user.id)
    }

    async fn handle(&mut self, line: &str) -> std::io::Result<Flow> {
        if line.is_empty() {
            return Ok(Flow::Continue);
        }
        if let Some(command) = line.strip_prefix("//") {
            return self.send_text(&format!("/{command}")).await.map(|()| Flow::Continue);
        }
        let (command, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match command {
            "/quit" | "/exit" => return Ok(Flow::Quit),
            "/help" => writeln!(self.out, "{HELP}")?,
            "/staff" => self.become_staff(rest)?,
            "/customer" => self.back_to_customer()?,
            "/topics" => self.list_topics()?,
            "/topic" => self.choose_topic(rest)?,
            "/document" => self.document(rest).await?,
            "/contact" | "/phone" | "/sticker" | "/voice" if self.staff.is_some() => {
                writeln!(self.out, "({command} is for the customer: /customer goes back)")?;
            }
            "/contact" => self.contact(rest).await?,
            "/phone" if rest.is_empty() => writeln!(self.out, "Usage: /phone +77011234567")?,
            "/phone" => {
                self.phone = Some(rest.to_owned());
                writeln!(self.out, "Your phone is now {rest}.")?;
            }
            "/user" => match parse_user(rest) {
                Some(user) => {
                    self.user = user;
                    self.staff = None;
                    self.phone = None;
                    self.inline.clear();
                    self.reply.clear();
                    self.shown_keyboard = None;
                    self.seen = self.sandbox.event_seq();
                    self.introduce()?;
                }
                None => writeln!(self.out, "Usage: /user ID [lang] [first name]")?,
            },
            "/now" => self.now(rest).await?,
            "/event" => self.event(rest).await?,
            "/sticker" => {
                let id = self.sandbox.send_sticker(&self.user);
                self.step(id).await?;
            }
            "/photo" => match self.staff_place() {
                None => {
                    let id = self.sandbox.send_photo(&self.user);
                    self.step(id).await?;
                }
                Some(Err(())) => {}
                Some(Ok((staff, chat, Some(topic)))) => {
                    let id = self.sandbox.send_topic_photo(&staff, chat, topic);
                    self.step(id).await?;
                }
                Some(Ok((staff, chat, None))) => {
                    let id = self.sandbox.send_group_photo(&staff, chat);
                    self.step(id).await?;
                }
            },
            "/voice" => {
                let id = self.sandbox.send_voice(&self.user);
                self.step(id).await?;
            }
            _ => match self.button_number(line) {
                Some(index) => self.press(index).await?,
                None => self.send_text(line).await?,
            },
        }
        Ok(Flow::Continue)
    }

    /// Sends text as the customer, or as the staff member in their topic.
    async fn send_text(&mut self, text: &str) -> std::io::Result<()> {
        let id = match self.staff_place() {
            None => self.sandbox.send_text(&self.user, text),
            Some(Err(())) => return Ok(()),
            Some(Ok((staff, chat, Some(topic)))) => self.sandbox.send_topic_text(&staff, chat, topic, text),
            Some(Ok((staff, chat, None))) => self.sandbox.send_group_text(&staff, chat, text),
        };
        self.step(id).await
    }

    /// Where a staff member writes: `None` as the customer; `Some(Err)` when their topic is
    /// gone (said so); else the member, the group and the topic.
    fn staff_place(&mut self) -> Option<Result<StaffPlace, ()>> {
        let staff = self.staff.as_ref()?;
        let chat = self.staff_chat?;
        if let Some(topic) = staff.topic
            && self.sandbox.topic(chat, topic).is_none()
        {
            let _ = writeln!(self.out, "(topic #{topic} is gone: /topics lists the others)");
            return Some(Err(()));
        }
        Some(Ok((staff.user.clone(), chat, staff.topic)))
    }

    /// `/document NAME SIZE`: a document from the customer, or from staff into their topic.
    async fn document(&mut self, rest: &str) -> std::io::Result<()> {
        let parsed =
            rest.rsplit_once(char::is_whitespace).and_then(|(name, size)| Some((name.trim(), parse_size(size)?)));
        let Some((name, size)) = parsed.filter(|(name, _)| !name.is_empty()) else {
            return writeln!(self.out, "Usage: /document NAME SIZE (e.g. /document big.zip 30MB)");
        };
        let id = match self.staff_place() {
            None => self.sandbox.send_document(&self.user, name, size),
            Some(Err(())) => return Ok(()),
            Some(Ok((staff, chat, Some(topic)))) => self.sandbox.send_topic_document(&staff, chat, topic, name, size),
            Some(Ok((staff, chat, None))) => self.sandbox.send_group_document(&staff, chat, name, size),
        };
        self.step(id).await
    }

    /// `/staff ID [name]`: writes as a member of the staff group from now on, in the newest
    /// topic (if any), and shows what the bot posted there since the last look.
    fn become_staff(&mut self, rest: &str) -> std::io::Result<()> {
        let Some(chat) = self.staff_chat else {
            return writeln!(self.out, "(this demo has no staff group)");
        };
        let mut words = rest.split_whitespace();
        let Some(id) = words.next().and_then(|w| w.parse::<i64>().ok()).filter(|id| *id > 0) else {
            return writeln!(self.out, "Usage: /staff ID [name]");
        };
        let name: Vec<&str> = words.collect();
        let name = if name.is_empty() { format!("Staff {id}") } else { name.join(" ") };
        let user = SandboxUser::new(id, &name, self.user.language_code.as_deref());
        self.sandbox.add_admin(chat, &user);
        let topic = match self.staff.take() {
            Some(previous) => previous.topic,
            None => self.sandbox.topics(chat).last().map(|t| t.thread_id),
        };
        writeln!(self.out, "You are {name} (Telegram user {id}), on the staff.")?;
        self.staff = Some(Staff { user, topic });
        self.say_topic()?;
        self.inline.clear();
        self.show_new()?;
        Ok(())
    }

    fn say_topic(&mut self) -> std::io::Result<()> {
        let (Some(chat), Some(staff)) = (self.staff_chat, &self.staff) else { return Ok(()) };
        match staff.topic.and_then(|t| self.sandbox.topic(chat, t)) {
            Some(topic) => {
                writeln!(self.out, "(writing in topic #{} «{}»; /topics lists them)", topic.thread_id, topic.name)
            }
            None => writeln!(self.out, "(writing in the General topic; /topics lists the topics)"),
        }
    }

    /// `/customer`: back to the customer, with what the bot sent them meanwhile.
    fn back_to_customer(&mut self) -> std::io::Result<()> {
        if self.staff.take().is_none() {
            return writeln!(self.out, "(you are the customer already)");
        }
        self.inline.clear();
        self.introduce()?;
        self.show_new()?;
        Ok(())
    }

    /// `/topics`: the staff group's topics; the one written in is marked.
    fn list_topics(&mut self) -> std::io::Result<()> {
        let Some(chat) = self.staff_chat else {
            return writeln!(self.out, "(this demo has no staff group)");
        };
        let current = self.staff.as_ref().and_then(|s| s.topic);
        let topics = self.sandbox.topics(chat);
        if topics.is_empty() {
            return writeln!(self.out, "(no topics yet)");
        }
        for t in topics {
            let mark = if current == Some(t.thread_id) { "*" } else { " " };
            let closed = if t.closed { " (closed)" } else { "" };
            writeln!(self.out, "{mark} #{} {}{closed}", t.thread_id, t.name)?;
        }
        Ok(())
    }

    /// `/topic N` or `/topic general`: where staff write.
    fn choose_topic(&mut self, rest: &str) -> std::io::Result<()> {
        let Some(chat) = self.staff_chat else {
            return writeln!(self.out, "(this demo has no staff group)");
        };
        if self.staff.is_none() {
            return writeln!(self.out, "(become staff first: /staff ID [name])");
        }
        let topic = match rest.trim_start_matches('#') {
            "general" | "General" => None,
            n => match n.parse::<i32>().ok().filter(|t| self.sandbox.topic(chat, *t).is_some()) {
                Some(t) => Some(t),
                None => return writeln!(self.out, "Usage: /topic N | /topic general (/topics lists them)"),
            },
        };
        if let Some(staff) = self.staff.as_mut() {
            staff.topic = topic;
        }
        self.say_topic()
    }

    /// `/now`: shows the clock, or moves it (`+2h`, `+1d`, `+30m`, or an RFC 3339 time) and
    /// shows what the jobs that fell due sent.
    async fn now(&mut self, rest: &str) -> std::io::Result<()> {
        let Some(time) = self.time.clone() else {
            return writeln!(self.out, "(the clock is the real one here: /now needs the demo's fixed clock)");
        };
        let current = time.now();
        if rest.is_empty() {
            return writeln!(self.out, "(now: {})", current.to_rfc3339());
        }
        let Some(at) = parse_when(rest, current) else {
            return writeln!(self.out, "Usage: /now +2h | +1d | +30m | 2025-01-12T15:00:00+05:00");
        };
        if at < current {
            return writeln!(self.out, "(the clock only moves forward)");
        }
        if let Err(error) = time.set_now(at).await {
            writeln!(self.out, "(the scheduled jobs failed: {error})")?;
        }
        writeln!(self.out, "(now: {})", at.to_rfc3339())?;
        self.show_new()?;
        Ok(())
    }

    /// `/event NAME`: a sample event of the business's systems, posted to the bot.
    async fn event(&mut self, rest: &str) -> std::io::Result<()> {
        let Some(events) = self.events.clone() else {
            return writeln!(self.out, "(no events API here)");
        };
        let samples = events.samples();
        if !samples.contains(&rest) {
            return writeln!(self.out, "Usage: /event {}", samples.join(" | "));
        }
        match events.post(rest).await {
            Ok(line) => writeln!(self.out, "({line})")?,
            Err(error) => writeln!(self.out, "(the event could not be posted: {error:#})")?,
        }
        self.show_new().map(drop)
    }

    /// The button a line of digits names, if there is one with that number.
    fn button_number(&self, line: &str) -> Option<usize> {
        if !line.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: usize = line.parse().ok()?;
        (1..=self.inline.len() + self.reply.len()).contains(&n).then(|| n - 1)
    }

    async fn contact(&mut self, rest: &str) -> std::io::Result<()> {
        let words: Vec<&str> = rest.split_whitespace().collect();
        let (phone, owner) = match words.as_slice() {
            [phone @ .., "from", id] if !phone.is_empty() => match id.parse::<i64>() {
                Ok(id) => (phone.join(" "), id),
                Err(_) => (rest.to_owned(), self.user.id),
            },
            [] => match &self.phone {
                Some(p) => (p.clone(), self.user.id),
                None => {
                    writeln!(self.out, "Usage: /contact +77011234567 [from USER_ID]")?;
                    return Ok(());
                }
            },
            _ => (rest.to_owned(), self.user.id),
        };
        let id = self.sandbox.send_contact(&self.user, &phone, Some(owner));
        self.step(id).await
    }

    async fn press(&mut self, index: usize) -> std::io::Result<()> {
        let choice = self.inline.get(index).or_else(|| self.reply.get(index - self.inline.len())).cloned();
        match choice {
            Some(Choice::Callback { chat_id, message_id, callback_data }) => {
                let still_there = self.sandbox.messages(chat_id).iter().any(|m| {
                    m.message_id == message_id
                        && m.inline_keyboard.iter().flatten().any(|b| b.callback_data.as_ref() == Some(&callback_data))
                });
                if !still_there {
                    return writeln!(self.out, "(that button is gone)");
                }
                let presser = self.staff.as_ref().map_or_else(|| self.user.clone(), |s| s.user.clone());
                let id = self.sandbox.press_inline_in(&presser, chat_id, message_id, &callback_data);
                self.step(id).await
            }
            Some(Choice::Pay { message_id }) => match self.sandbox.pay_invoice(&self.user, self.user.id, message_id) {
                Some(id) => {
                    self.step(id).await?;
                    // Once the bot accepted the payment, its confirmation message follows.
                    match self.sandbox.payment_followup(id) {
                        Some(followup) => self.step(followup).await,
                        None => Ok(()),
                    }
                }
                None => writeln!(self.out, "(that invoice is gone)"),
            },
            Some(Choice::Link(url)) => writeln!(self.out, "🔗 {url}"),
            Some(Choice::WebApp(url)) => writeln!(self.out, "🧩 Mini App: {url}"),
            Some(Choice::Inert) | None => writeln!(self.out, "(that button does nothing here)"),
            Some(Choice::Reply(button)) if button.request_contact => match self.phone.clone() {
                Some(phone) => {
                    let id = self.sandbox.send_contact(&self.user, &phone, Some(self.user.id));
                    self.step(id).await
                }
                None => writeln!(
                    self.out,
                    "This button shares your phone. Set it with /phone +77011234567, or type /contact +77011234567."
                ),
            },
            Some(Choice::Reply(button)) => self.send_text(&button.text).await,
        }
    }

    /// Waits for the bot to handle the update, then prints what it did in this chat.
    async fn step(&mut self, update_id: i32) -> std::io::Result<()> {
        let answered = self.sandbox.wait_handled(update_id, ANSWER_TIMEOUT).await;
        let printed = self.show_new()?;
        if let Some(kind) = self.sandbox.not_delivered(update_id) {
            writeln!(self.out, "(the bot does not receive {kind} updates: its allowed_updates leave them out)")?;
        } else if !answered {
            writeln!(self.out, "(the bot did not answer within {} s)", ANSWER_TIMEOUT.as_secs())?;
        } else if !printed {
            writeln!(self.out, "(no reply)")?;
        }
        Ok(())
    }

    /// The chat shown now: the customer's, or the staff group.
    fn view(&self) -> i64 {
        match (&self.staff, self.staff_chat) {
            (Some(_), Some(chat)) => chat,
            _ => self.user.id,
        }
    }

    /// Prints the bot's new and edited messages and toasts in the chat shown (the user's, or
    /// the staff group with each message's topic) since the last look there, numbering their
    /// buttons; tells whether there was anything to print.
    fn show_new(&mut self) -> std::io::Result<bool> {
        let chat = self.view();
        let staff_view = chat != self.user.id;
        let seen = if staff_view { &mut self.staff_seen } else { &mut self.seen };
        let (events, next) = self.sandbox.events_with_seq(*seen);
        *seen = next;
        // Each message once, where it first appeared, in its latest state.
        let mut messages: Vec<(bool, BotMessage)> = Vec::new();
        let mut items: Vec<Item> = Vec::new();
        for event in events {
            match event {
                // Seen from the staff group: what the bot sent customers (relayed answers).
                SandboxEvent::Sent(m) if staff_view && m.chat_id > 0 => {
                    let first = m.text.lines().next().unwrap_or_default().to_owned();
                    let what = match &m.content {
                        BotContent::Text => first,
                        BotContent::Document { file_name, .. } => format!("📄 {file_name} {first}"),
                        BotContent::Photo { .. } => format!("🖼 {first}"),
                        _ => format!("({}) {first}", content_kind(&m.content)),
                    };
                    items.push(Item::Relay(format!("   ↪ to user {}: {}", m.chat_id, what.trim_end())));
                }
                SandboxEvent::Sent(m) | SandboxEvent::Edited(m) if m.chat_id != chat => {}
                SandboxEvent::Sent(m) => {
                    items.push(Item::Message(messages.len()));
                    messages.push((false, m));
                }
                SandboxEvent::Edited(m) => match messages.iter_mut().find(|(_, old)| old.message_id == m.message_id) {
                    Some(slot) => slot.1 = m,
                    None => {
                        items.push(Item::Message(messages.len()));
                        messages.push((true, m));
                    }
                },
                SandboxEvent::CallbackAnswered { chat_id, text: Some(text), show_alert } if chat_id == chat => {
                    items.push(Item::Toast(text, show_alert));
                }
                SandboxEvent::PreCheckoutAnswered { chat_id, ok, error_message, .. } if chat_id == chat => {
                    items.push(Item::Checkout(ok, error_message));
                }
                SandboxEvent::TopicChanged { chat_id, topic, change } if chat_id == chat => {
                    let what = match change {
                        TopicChange::Created => "created",
                        TopicChange::Edited => "renamed",
                        TopicChange::Closed => "closed",
                        TopicChange::Reopened => "reopened",
                        TopicChange::Deleted => "deleted",
                    };
                    items.push(Item::Topic(format!("🗂 topic #{} «{}» {what}", topic.thread_id, topic.name)));
                }
                _ => {}
            }
        }
        let has_inline = messages.iter().any(|(_, m)| !m.inline_keyboard.is_empty());
        if has_inline {
            self.inline.clear();
        }
        for item in &items {
            match item {
                Item::Message(i) => {
                    let (edited, m) = &messages[*i];
                    self.print_message(m, *edited)?;
                }
                Item::Toast(text, alert) => {
                    let mark = if *alert { "⚠️" } else { "💬" };
                    writeln!(self.out, "   {mark} {text}")?;
                }
                Item::Checkout(true, _) => writeln!(self.out, "   💳 (payment accepted)")?,
                Item::Checkout(false, error) => {
                    writeln!(self.out, "   ⚠️ payment declined: {}", error.as_deref().unwrap_or_default())?;
                }
                Item::Topic(line) | Item::Relay(line) => writeln!(self.out, "{line}")?,
            }
        }
        let keyboard = self.sandbox.reply_keyboard(chat);
        let first = self.inline.len() + 1;
        self.reply = keyboard.iter().flatten().flatten().map(|b| Choice::Reply(b.clone())).collect();
        if let Some(rows) = &keyboard
            && (!items.is_empty() || self.shown_keyboard.as_ref() != Some(rows))
        {
            let mut n = first;
            for row in rows {
                let mut labels = Vec::with_capacity(row.len());
                for b in row {
                    let phone = if b.request_contact && !b.text.contains('📱') { "📱 " } else { "" };
                    labels.push(format!("[{n}] {phone}{}", b.text));
                    n += 1;
                }
                writeln!(self.out, "⌨  {}", labels.join("  "))?;
            }
        }
        self.shown_keyboard = keyboard;
        Ok(!items.is_empty())
    }

    /// Keeps a document the bot sent in the temporary directory, so the demo's PDFs can be
    /// opened; `None` when it cannot be written or has no content (a user's file relayed).
    fn save(&self, file_id: &str, file_name: &str) -> Option<std::path::PathBuf> {
        let bytes = self.sandbox.file_bytes(file_id).filter(|b| !b.is_empty())?;
        let dir = std::env::temp_dir().join("cabinet-demo");
        std::fs::create_dir_all(&dir).ok()?;
        // Only the name's last component, so a file name can never point elsewhere.
        let name = std::path::Path::new(file_name).file_name()?.to_owned();
        let path = dir.join(name);
        std::fs::write(&path, bytes).ok()?;
        Some(path)
    }

    fn print_message(&mut self, m: &BotMessage, edited: bool) -> std::io::Result<()> {
        let mut mark = if edited { "🤖 ✏️ ".to_owned() } else { "🤖 ".to_owned() };
        if m.chat_id < 0 && Some(m.chat_id) == self.staff_chat {
            let topic = m.thread_id.map(|t| match self.sandbox.topic(m.chat_id, t) {
                Some(info) => format!("#{t} {}", info.name),
                None => format!("#{t}"),
            });
            mark.push_str(&format!("[{}] ", topic.as_deref().unwrap_or("General")));
        }
        let mut lines: Vec<String> = Vec::new();
        match &m.content {
            BotContent::Text => lines.extend(m.text.lines().map(str::to_owned)),
            BotContent::Document { file_name, bytes, file_id } => {
                lines.push(format!("📄 {file_name} ({} KB)", bytes.div_ceil(1024)));
                lines.extend(m.text.lines().map(str::to_owned));
                if let Some(path) = self.save(file_id, file_name) {
                    lines.push(format!("saved to {}", path.display()));
                }
            }
            BotContent::Photo { .. } => {
                lines.push("🖼 (photo)".to_owned());
                lines.extend(m.text.lines().map(str::to_owned));
            }
            BotContent::Voice { duration, .. } => {
                lines.push(format!("🎤 (voice, {duration} s)"));
                lines.extend(m.text.lines().map(str::to_owned));
            }
            BotContent::Sticker { emoji, .. } => lines.push(format!("{} (sticker)", emoji.as_deref().unwrap_or("🏷"))),
            BotContent::Contact { phone_number, first_name } => lines.push(format!("👤 {first_name} {phone_number}")),
            BotContent::Location { latitude, longitude } => lines.push(format!("📍 {latitude}, {longitude}")),
            BotContent::Invoice { .. } => {
                let mut text = m.text.lines();
                lines.push(format!("🧾 {}", text.next().unwrap_or_default()));
                lines.extend(text.map(str::to_owned));
            }
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        for (i, line) in lines.iter().enumerate() {
            let prefix = if i == 0 { mark.as_str() } else { "   " };
            writeln!(self.out, "{prefix}{line}")?;
        }
        for row in &m.inline_keyboard {
            let mut labels = Vec::with_capacity(row.len());
            for b in row {
                self.inline.push(choice_of(m.chat_id, m.message_id, b));
                labels.push(format!("[{}] {}", self.inline.len(), button_label(b)));
            }
            writeln!(self.out, "   {}", labels.join("  "))?;
        }
        Ok(())
    }
}

enum Item {
    Message(usize),
    Toast(String, bool),
    /// A pre-checkout answer: accepted, or declined with the bot's message.
    Checkout(bool, Option<String>),
    /// A topic of the staff group changed.
    Topic(String),
    /// Seen from the staff group: a message the bot sent a customer.
    Relay(String),
}

fn content_kind(content: &BotContent) -> &'static str {
    match content {
        BotContent::Text => "text",
        BotContent::Document { .. } => "document",
        BotContent::Photo { .. } => "photo",
        BotContent::Voice { .. } => "voice",
        BotContent::Sticker { .. } => "sticker",
        BotContent::Contact { .. } => "contact",
        BotContent::Location { .. } => "location",
        BotContent::Invoice { .. } => "invoice",
    }
}

fn button_label(b: &InlineButton) -> String {
    if b.pay {
        format!("{} 💳", b.text)
    } else if b.url.is_some() {
        format!("{} ↗", b.text)
    } else if b.web_app_url.is_some() {
        format!("{} 🧩", b.text)
    } else {
        b.text.clone()
    }
}

fn choice_of(chat_id: i64, message_id: i32, b: &InlineButton) -> Choice {
    if b.pay {
        Choice::Pay { message_id }
    } else if let Some(data) = &b.callback_data {
        Choice::Callback { chat_id, message_id, callback_data: data.clone() }
    } else if let Some(url) = &b.url {
        Choice::Link(url.clone())
    } else if let Some(url) = &b.web_app_url {
        Choice::WebApp(url.clone())
    } else {
        Choice::Inert
    }
}

/// `ID [lang] [first name]`: the language is a 2–3 letter code (optionally with a region).
fn parse_user(rest: &str) -> Option<SandboxUser> {
    let mut words = rest.split_whitespace();
    let id: i64 = words.next()?.parse().ok().filter(|id| *id > 0)?;
    let mut remaining: Vec<&str> = words.collect();
    let is_lang = |w: &str| {
        let base = w.split(['-', '_']).next().unwrap_or_default();
        (2..=3).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_lowercase())
    };
    let lang = match remaining.first() {
        Some(w) if is_lang(w) => Some(remaining.remove(0).to_owned()),
        _ => None,
    };
    let name = if remaining.is_empty() { format!("User {id}") } else { remaining.join(" ") };
    Some(SandboxUser::new(id, &name, lang.as_deref()))
}

/// `+2h`, `+1d`, `+30m` after `now`, or an RFC 3339 time.
fn parse_when(s: &str, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Some(offset) = s.strip_prefix('+') {
        let (n, unit) = offset.split_at(offset.len().checked_sub(1)?);
        let n: i64 = n.parse().ok().filter(|n| (0..=10_000).contains(n))?;
        let delta = match unit {
            "m" => chrono::Duration::minutes(n),
            "h" => chrono::Duration::hours(n),
            "d" => chrono::Duration::days(n),
            _ => return None,
        };
        return Some(now + delta);
    }
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_line_takes_an_id_a_language_and_a_name() {
        let u = parse_user("5002 ru Ольга Ким").unwrap_or_else(|| SandboxUser::new(0, "", None));
        assert_eq!((u.id, u.language_code.as_deref(), u.first_name.as_str()), (5002, Some("ru"), "Ольга Ким"));
        let u = parse_user("5003 John").unwrap_or_else(|| SandboxUser::new(0, "", None));
        assert_eq!((u.id, u.language_code.as_deref(), u.first_name.as_str()), (5003, None, "John"));
        let u = parse_user("5004").unwrap_or_else(|| SandboxUser::new(0, "", None));
        assert_eq!(u.first_name, "User 5004");
        assert!(parse_user("abc").is_none());
        assert!(parse_user("").is_none());
    }

    #[test]
    fn now_takes_offsets_or_a_time() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-01-11T10:00:00+05:00").unwrap().to_utc();
        assert_eq!(parse_when("+2h", now), Some(now + chrono::Duration::hours(2)));
        assert_eq!(parse_when("+1d", now), Some(now + chrono::Duration::days(1)));
        assert_eq!(parse_when("+30m", now), Some(now + chrono::Duration::minutes(30)));
        let at = chrono::DateTime::parse_from_rfc3339("2025-01-12T15:00:00+05:00").unwrap().to_utc();
        assert_eq!(parse_when("2025-01-12T15:00:00+05:00", now), Some(at));
        for bad in ["+", "+2", "+2y", "+-1h", "tomorrow", "+99999d"] {
            assert_eq!(parse_when(bad, now), None, "{bad}");
        }
    }
}
