//! Plays a parsed transcript against a running sandbox: performs the user's actions, collects
//! the bot's replies to each, checks the expectations, and describes the first failure.

use std::fmt::{self, Write as _};
use std::time::Duration;

use futures::future::BoxFuture;

use cabinet_core::adapters::otp::MemoryGateway;
use cabinet_core::clock::FixedClock;
use cabinet_core::domain::Phone;
use cabinet_core::jobs::Scheduler;
use cabinet_sandbox::{BotContent, BotMessage, Sandbox, SandboxUser};

use super::drive::{Driver, HANDLE_TIMEOUT, NotPressed, Place, Replies, Reply, Sent, Unhandled, replies_in};
use super::parse::{Action, ContactOwner, Expectation, Step, StepKind, Transcript, UserSpec, contains_ci};

/// The replies of one action (or of the jobs an `@now` ran): what it was and what the bot
/// answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionReplies {
    /// The line of the action step (or of the `@now`).
    pub line: usize,
    /// The action (or the `@now`) as written.
    pub source: String,
    /// The replies in the customer's chat (the customer last chosen with `@user`).
    pub replies: Vec<Reply>,
    /// What the bot sent the staff group (any topic), when the run has a staff side.
    pub staff_replies: Option<Vec<Reply>>,
}

/// The first failed step of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The line of the failed step.
    pub line: usize,
    /// The step as written.
    pub step: String,
    /// What was expected (`expected: …`), or why the step could not be done.
    pub problem: String,
    /// The replies the step was checked against: those of the most recent action (the
    /// failed step itself when the bot was sent it).
    pub checked: Option<ActionReplies>,
    /// For a press that found no button: the buttons the chat shows now.
    pub shown: Vec<Reply>,
}

impl Failure {
    /// A readable report of this failure, indented for a listing under the file name.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "  line {}: {}", self.line, self.step);
        let _ = writeln!(out, "  {}", self.problem);
        match &self.checked {
            None => {
                let _ = writeln!(out, "  no user action yet");
            }
            Some(checked) => {
                let _ = writeln!(out, "  bot replies to line {} ({}):", checked.line, checked.source);
                out.push_str(&render_replies(&checked.replies, "    "));
                if let Some(staff) = &checked.staff_replies {
                    let _ = writeln!(out, "  in the staff group:");
                    out.push_str(&render_replies(staff, "    "));
                }
            }
        }
        if !self.shown.is_empty() {
            let _ = writeln!(out, "  buttons in the chat now:");
            out.push_str(&render_replies(&self.shown, "    "));
        }
        out
    }
}

/// Renders replies one per item: texts, buttons in `[brackets]`, documents by name.
pub fn render_replies(replies: &[Reply], indent: &str) -> String {
    let mut out = String::new();
    if replies.is_empty() {
        let _ = writeln!(out, "{indent}(none)");
        return out;
    }
    for (i, reply) in replies.iter().enumerate() {
        let head = format!("{indent}{}. ", i + 1);
        let more = " ".repeat(head.chars().count());
        let mut lines: Vec<String> = Vec::new();
        match reply {
            Reply::Toast { text, show_alert } => {
                let kind = if *show_alert { "alert" } else { "toast" };
                lines.push(format!("({kind}) {text}"));
            }
            Reply::PaymentDeclined { text } => lines.push(format!("(payment declined) {text}")),
            Reply::Message { edited, message } => {
                let mut first = String::new();
                if let Some(topic) = message.thread_id {
                    let _ = write!(first, "(topic {topic}) ");
                }
                if *edited {
                    first.push_str("(edited) ");
                }
                match &message.content {
                    BotContent::Text => {}
                    BotContent::Document { file_name, .. } => {
                        let _ = write!(first, "(document {file_name}) ");
                    }
                    BotContent::Location { latitude, longitude } => {
                        let _ = write!(first, "(location {latitude}, {longitude}) ");
                    }
                    BotContent::Photo { .. } => first.push_str("(photo) "),
                    BotContent::Voice { duration, .. } => {
                        let _ = write!(first, "(voice {duration} s) ");
                    }
                    BotContent::Sticker { emoji, .. } => {
                        let _ = write!(first, "(sticker {}) ", emoji.as_deref().unwrap_or_default());
                    }
                    BotContent::Contact { phone_number, first_name } => {
                        let _ = write!(first, "(contact {first_name} {phone_number}) ");
                    }
                    BotContent::Invoice { .. } => first.push_str("(invoice) "),
                }
                let mut text_lines = message.text.lines();
                first.push_str(text_lines.next().unwrap_or_default());
                lines.push(first.trim_end().to_owned());
                lines.extend(text_lines.map(str::to_owned));
                for row in &message.inline_keyboard {
                    let row: Vec<String> = row
                        .iter()
                        .map(|b| match &b.web_app_url {
                            Some(url) => format!("[{} (Mini App {url})]", b.text),
                            None => format!("[{}]", b.text),
                        })
                        .collect();
                    lines.push(row.join(" "));
                }
                match &message.reply_keyboard {
                    None => {}
                    Some(rows) if rows.is_empty() => lines.push("(keyboard removed)".into()),
                    Some(rows) => {
                        for row in rows {
                            let row: Vec<String> = row
                                .iter()
                                .map(|b| {
                                    if b.request_contact {
                                        format!("[{} (shares contact)]", b.text)
                                    } else {
                                        format!("[{}]", b.text)
                                    }
                                })
                                .collect();
                            lines.push(format!("keyboard: {}", row.join(" ")));
                        }
                    }
                }
            }
        }
        for (j, line) in lines.iter().enumerate() {
            let prefix = if j == 0 { &head } else { &more };
            let _ = writeln!(out, "{prefix}{line}");
        }
    }
    out
}

/// Checks one expectation against the replies; on failure, says what was expected.
pub fn check(expectation: &Expectation, replies: &[Reply]) -> Result<(), String> {
    let holds = match expectation {
        Expectation::Contains(needle) => replies.iter().any(|r| contains_ci(r.text(), needle)),
        Expectation::Matches(re) => replies.iter().any(|r| re.0.is_match(r.text())),
        Expectation::NotContains(needle) => {
            if let Some(i) = replies.iter().position(|r| contains_ci(r.text(), needle)) {
                return Err(format!("expected: no reply contains «{needle}», but reply {} does", i + 1));
            }
            true
        }
        Expectation::NotMatches(re) => {
            if let Some(i) = replies.iter().position(|r| re.0.is_match(r.text())) {
                return Err(format!("expected: no reply matches /{}/, but reply {} does", re.as_str(), i + 1));
            }
            true
        }
        Expectation::Document(re) => replies.iter().any(|r| match r {
            Reply::Message { message, .. } => match &message.content {
                BotContent::Document { file_name, .. } => re.0.is_match(file_name) || re.0.is_match(&message.text),
                _ => false,
            },
            Reply::Toast { .. } | Reply::PaymentDeclined { .. } => false,
        }),
        Expectation::Button(label) => replies.iter().any(|r| r.button_labels().iter().any(|l| contains_ci(l, label))),
        Expectation::WebApp(label) => replies.iter().any(|r| match r {
            Reply::Message { message, .. } => {
                message.inline_keyboard.iter().flatten().any(|b| b.web_app_url.is_some() && contains_ci(&b.text, label))
            }
            _ => false,
        }),
    };
    if holds { Ok(()) } else { Err(format!("expected: {}", describe(expectation))) }
}

/// What an expectation asks for, in words.
pub fn describe(expectation: &Expectation) -> String {
    match expectation {
        Expectation::Contains(s) => format!("some reply contains «{s}»"),
        Expectation::Matches(re) => format!("some reply matches /{}/", re.as_str()),
        Expectation::NotContains(s) => format!("no reply contains «{s}»"),
        Expectation::NotMatches(re) => format!("no reply matches /{}/", re.as_str()),
        Expectation::Document(re) => {
            format!("some reply is a document whose file name or caption matches /{}/", re.as_str())
        }
        Expectation::Button(s) => format!("some reply carries a button whose label contains «{s}»"),
        Expectation::WebApp(s) => format!("some reply carries a Mini App button whose label contains «{s}»"),
    }
}

/// The staff side of a run: the business's staff group (a forum supergroup in the sandbox,
/// one topic per customer) and how to find a customer's topic there.
///
/// `topic_of` answers, for a customer's Telegram user id, the `message_thread_id` of their
/// topic as the bot keeps it (`None`: the bot has opened none yet). The bot under test owns
/// that mapping, so whoever starts the bot provides the lookup, for instance over its store
/// (the future owns what it needs, here a clone of the store):
///
/// ```ignore
/// let lookup = move |customer: i64| -> BoxFuture<'static, Option<i32>> {
///     let store = store.clone();
///     Box::pin(async move { store.staff_topic_of(customer).await.ok().flatten() })
/// };
/// let staff = StaffSide { chat_id: STAFF_CHAT_ID, topic_of: &lookup };
/// ```
pub struct StaffSide<'a> {
    /// The staff group's chat id.
    pub chat_id: i64,
    /// The topic of a customer (by Telegram user id) in the staff group.
    pub topic_of: &'a (dyn Fn(i64) -> BoxFuture<'static, Option<i32>> + Sync),
}

impl fmt::Debug for StaffSide<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffSide").field("chat_id", &self.chat_id).finish_non_exhaustive()
    }
}

/// Plays `transcript` against `sandbox` (whose bot must be running); `clock` is the fixed
/// clock `@now` moves, when the bot runs on one; `otp` holds the one-time codes the bot
/// sent, which `> @otp` types; `jobs` is the bot's scheduler, whose due jobs `@now` runs
/// (without one, `@now` only moves the clock); `staff` is the staff group, needed by `@staff`
/// steps and `<staff` checks (with it, every step also collects what the bot sent there).
/// Stops at the first failed step. (The transcript's `@config` is for whoever starts the bot.)
pub async fn run_transcript(
    transcript: &Transcript,
    sandbox: &Sandbox,
    clock: Option<&FixedClock>,
    otp: Option<&MemoryGateway>,
    jobs: Option<&Scheduler>,
    staff: Option<&StaffSide<'_>>,
    events: Option<&dyn EventPoster>,
) -> Result<(), Failure> {
    play(transcript, sandbox, clock, otp, jobs, staff, events, HANDLE_TIMEOUT).await
}

/// What `@event` needs of the bot: its events API, and its notifications' sender.
#[async_trait::async_trait]
pub trait EventPoster: Send + Sync {
    /// Posts the event, signed; the status and the JSON answer.
    async fn post_event(&self, event: &serde_json::Value) -> anyhow::Result<(u16, serde_json::Value)>;
    /// Sends the notifications due now.
    async fn send_notifications(&self) -> anyhow::Result<()>;
}

struct Actor {
    spec: UserSpec,
    user: SandboxUser,
    /// The phone this user last shared as their own contact.
    shared_phone: Option<String>,
}

/// A staff member acting (after `@staff`).
struct StaffActor {
    user: SandboxUser,
    /// Writing in the General topic rather than the customer's topic.
    general: bool,
}

/// [`run_transcript`] with a chosen handling timeout.
#[allow(clippy::too_many_arguments)] // the bot's optional parts, as `run_transcript` takes them
pub(crate) async fn play(
    transcript: &Transcript,
    sandbox: &Sandbox,
    clock: Option<&FixedClock>,
    otp: Option<&MemoryGateway>,
    jobs: Option<&Scheduler>,
    staff: Option<&StaffSide<'_>>,
    events: Option<&dyn EventPoster>,
    timeout: Duration,
) -> Result<(), Failure> {
    let mut driver = Driver::new(sandbox).with_timeout(timeout);
    if let Some(side) = staff {
        driver = driver.with_staff_group(side.chat_id);
    }
    let mut actor: Option<Actor> = None;
    // Set from `@staff` until the next `@user`.
    let mut staff_actor: Option<StaffActor> = None;
    let mut last: Option<ActionReplies> = None;
    // Named groups of `<~` regexes that matched: `${name}` in later `>` lines.
    let mut vars: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

    for step in &transcript.steps {
        let fail = |problem: String, checked: Option<ActionReplies>| Failure {
            line: step.line,
            step: step.source.clone(),
            problem,
            checked,
            shown: Vec::new(),
        };
        match &step.kind {
            StepKind::User(spec) => {
                let name = spec.name.as_deref().unwrap_or("User");
                let user = SandboxUser::new(spec.id, name, spec.lang.as_deref());
                // The same customer again keeps the phone they shared.
                let shared_phone = actor.take().filter(|a| a.spec.id == spec.id).and_then(|a| a.shared_phone);
                actor = Some(Actor { spec: spec.clone(), user, shared_phone });
                staff_actor = None;
            }
            StepKind::Staff(spec) => {
                let Some(side) = staff else {
                    return Err(fail(NO_STAFF.into(), last));
                };
                let name = spec.name.clone().unwrap_or_else(|| format!("Staff {}", spec.id));
                let lang = actor.as_ref().and_then(|a| a.user.language_code.clone());
                let user = SandboxUser::new(spec.id, &name, lang.as_deref());
                if spec.member {
                    sandbox.add_member(side.chat_id, &user);
                } else {
                    sandbox.add_admin(side.chat_id, &user);
                }
                staff_actor = Some(StaffActor { user, general: spec.general });
            }
            StepKind::Now(at) => {
                let Some(clock) = clock else {
                    return Err(fail("@now: this bot does not run on a fixed clock".into(), last));
                };
                match now(*at, clock, jobs, events, sandbox, actor.as_ref(), staff).await {
                    Ok((replies, staff_replies)) => {
                        let source = step.source.clone();
                        last = Some(ActionReplies { line: step.line, source, replies, staff_replies });
                    }
                    Err(problem) => return Err(fail(problem, last)),
                }
            }
            StepKind::Event(event) => {
                let Some(poster) = events else {
                    return Err(fail("@event: this bot has no events API".into(), last));
                };
                match post_event(event, poster, sandbox, actor.as_ref(), staff).await {
                    Ok((replies, staff_replies)) => {
                        let source = step.source.clone();
                        last = Some(ActionReplies { line: step.line, source, replies, staff_replies });
                    }
                    Err(problem) => return Err(fail(problem, last)),
                }
            }
            StepKind::Expect(expectation) => {
                let replies = last.as_ref().map(|l| l.replies.as_slice()).unwrap_or_default();
                if let Err(expected) = check(expectation, replies) {
                    return Err(fail(expected, last));
                }
                if let Expectation::Matches(re) = expectation {
                    capture(&re.0, replies, &mut vars);
                }
            }
            StepKind::ExpectStaff(expectation) => {
                if staff.is_none() {
                    return Err(fail(NO_STAFF.into(), last));
                }
                let replies = last.as_ref().and_then(|l| l.staff_replies.as_deref()).unwrap_or_default();
                if let Err(expected) = check(expectation, replies) {
                    return Err(fail(format!("{expected} (in the staff group)"), last));
                }
                if let Expectation::Matches(re) = expectation {
                    capture(&re.0, replies, &mut vars);
                }
            }
            StepKind::Act(action) => {
                let substituted;
                let action = match action {
                    Action::Text(text) if text.contains("${") => match substitute(text, &vars) {
                        Ok(text) => {
                            substituted = Action::Text(text);
                            &substituted
                        }
                        Err(problem) => return Err(fail(problem, last)),
                    },
                    other => other,
                };
                let done = match (&staff_actor, staff) {
                    (Some(member), Some(side)) => {
                        act_as_staff(step, action, member, actor.as_ref(), side, &driver, events).await
                    }
                    (Some(_), None) => return Err(fail(NO_STAFF.into(), last)),
                    (None, _) => {
                        let Some(actor) = actor.as_mut() else {
                            return Err(fail("a user action needs an `@user` line before it".into(), last));
                        };
                        act(step, action, actor, &driver, otp).await
                    }
                };
                match done {
                    Ok(replies) => last = Some(replies),
                    Err(ActFailure::NotSent { problem, shown }) => {
                        return Err(Failure { shown, ..fail(problem, last) });
                    }
                    Err(ActFailure::Sent { problem, replies, staff_replies }) => {
                        let checked =
                            ActionReplies { line: step.line, source: step.source.clone(), replies, staff_replies };
                        return Err(fail(problem, Some(checked)));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Why a staff step cannot run.
const NO_STAFF: &str = "this run has no staff group (the runner was given no staff side)";

/// `@now`: moves the clock to `at`, runs the jobs due by then, sends the notifications due by
/// then (when the bot has a sender) and runs the jobs again (a broadcast's progress sees what
/// was sent), and returns what they sent to the current user's chat (nothing before the first
/// `@user`) and to the staff group. Jobs and the sender send without an update to wait for:
/// once their ticks have returned, everything they sent is in the sandbox.
async fn now(
    at: chrono::DateTime<chrono::Utc>,
    clock: &FixedClock,
    jobs: Option<&Scheduler>,
    notifications: Option<&dyn EventPoster>,
    sandbox: &Sandbox,
    actor: Option<&Actor>,
    staff: Option<&StaffSide<'_>>,
) -> Result<(Vec<Reply>, Option<Vec<Reply>>), String> {
    let seq = sandbox.event_seq();
    clock.set(at);
    if let Some(jobs) = jobs {
        jobs.run_due().await.map_err(|e| format!("@now: running the jobs due by then failed: {e:#}"))?;
    }
    if let Some(sender) = notifications {
        sender.send_notifications().await.map_err(|e| format!("@now: sending the notifications failed: {e:#}"))?;
        if let Some(jobs) = jobs {
            jobs.run_due().await.map_err(|e| format!("@now: running the jobs due by then failed: {e:#}"))?;
        }
    }
    let events = sandbox.events_since(seq);
    let staff_replies = staff.map(|side| replies_in(events.clone(), side.chat_id));
    let replies = match actor {
        Some(actor) => replies_in(events, actor.user.id),
        None => Vec::new(),
    };
    Ok((replies, staff_replies))
}

/// `@event`: posts the event to the bot's events API (it must be accepted) and sends the
/// notifications it wrote; what the bot sent then is the step's replies.
async fn post_event(
    event: &serde_json::Value,
    poster: &dyn EventPoster,
    sandbox: &Sandbox,
    actor: Option<&Actor>,
    staff: Option<&StaffSide<'_>>,
) -> Result<(Vec<Reply>, Option<Vec<Reply>>), String> {
    let seq = sandbox.event_seq();
    let (status, answer) = poster.post_event(event).await.map_err(|e| format!("@event: cannot post it: {e:#}"))?;
    if !(200..300).contains(&status) {
        return Err(format!("@event: the events API answered {status}: {answer}"));
    }
    poster.send_notifications().await.map_err(|e| format!("@event: sending the notifications failed: {e:#}"))?;
    let events = sandbox.events_since(seq);
    let staff_replies = staff.map(|side| replies_in(events.clone(), side.chat_id));
    let replies = match actor {
        Some(actor) => replies_in(events, actor.user.id),
        None => Vec::new(),
    };
    Ok((replies, staff_replies))
}

/// Keeps the named groups of the first reply `re` matches.
pub(crate) fn capture(re: &regex::Regex, replies: &[Reply], vars: &mut std::collections::BTreeMap<String, String>) {
    let Some(caps) = replies.iter().find_map(|r| re.captures(r.text())) else { return };
    for name in re.capture_names().flatten() {
        if let Some(m) = caps.name(name) {
            vars.insert(name.to_owned(), m.as_str().to_owned());
        }
    }
}

/// `${name}` replaced by what a `<~` named group captured.
pub(crate) fn substitute(text: &str, vars: &std::collections::BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("`${{` without a closing `}}` in «{text}»"));
        };
        let name = &after[..end];
        let value = vars
            .get(name)
            .ok_or_else(|| format!("${{{name}}} was not captured by an earlier `<~` (?P<{name}>…) group"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Why an action failed.
enum ActFailure {
    /// Nothing was sent to the bot; `shown` is what the chat offers instead.
    NotSent { problem: String, shown: Vec<Reply> },
    /// The update was sent; the bot's replies so far (the customer's and the staff group's).
    Sent { problem: String, replies: Vec<Reply>, staff_replies: Option<Vec<Reply>> },
}

/// Performs one user action and collects the replies to it.
async fn act(
    step: &Step,
    action: &Action,
    actor: &mut Actor,
    driver: &Driver<'_>,
    otp: Option<&MemoryGateway>,
) -> Result<ActionReplies, ActFailure> {
    let user = &actor.user.clone();
    let private = user.id;
    let not_sent = |problem: String| ActFailure::NotSent { problem, shown: Vec::new() };
    let sent = match action {
        Action::Text(text) => driver.send_text(user, Place::Private, text),
        Action::Contact { phone, owner } => {
            let contact_user = match owner {
                ContactOwner::Me => Some(user.id),
                ContactOwner::Other(id) => Some(*id),
                ContactOwner::NoUser => None,
            };
            driver.send_contact(user, phone, contact_user)
        }
        Action::Otp { wrong } => {
            let code = last_code(actor, otp).map_err(not_sent)?;
            let code = if *wrong { wrong_code(&code) } else { code };
            driver.send_text(user, Place::Private, &code)
        }
        Action::Sticker => driver.send_with(Some(private), |s| s.send_sticker(user)),
        Action::Photo => driver.send_with(Some(private), |s| s.send_photo(user)),
        Action::Voice => driver.send_with(Some(private), |s| s.send_voice(user)),
        Action::Document { file_name, size } => {
            driver.send_with(Some(private), |s| s.send_document(user, file_name, *size))
        }
        Action::DeleteTopic => return Err(not_sent("only staff delete topics: `@staff ID` first".into())),
        Action::GroupText { chat_id, text } => driver.send_text(user, Place::Group(*chat_id), text),
        Action::Callback(data) => {
            let Some(newest) = driver.sandbox().messages(private).pop() else {
                return Err(not_sent("no bot message in the chat to attach the callback to".into()));
            };
            driver.send_with(Some(private), |s| s.press_inline(user, newest.message_id, data))
        }
        Action::Press(label) => {
            match driver.press_button(user, Place::Private, &|l| label.is_match(l), actor.spec.phone.as_deref()) {
                Ok(sent) => sent,
                Err(NotPressed::NoButton) => {
                    return Err(ActFailure::NotSent {
                        problem: format!("no button in the chat whose label {}", describe_label(label)),
                        shown: visible_buttons(driver.sandbox(), private, None),
                    });
                }
                Err(unpayable @ NotPressed::Unpayable(_)) => return Err(not_sent(unpayable.to_string())),
                Err(NotPressed::NoPhone(text)) => {
                    return Err(not_sent(format!(
                        "no phone to share with the contact button [{text}]: add `phone=…` to the `@user` line"
                    )));
                }
            }
        }
    };
    if let Some(phone) = &sent.shared_phone {
        actor.shared_phone = Some(phone.clone());
    }
    collect(step, driver, &sent).await
}

/// Performs one action of a staff member (in the current customer's topic, or in the General
/// topic) and collects the replies to it; with a notifications' sender, the notifications the
/// action wrote (a confirmed broadcast) are sent, and count among its replies.
async fn act_as_staff(
    step: &Step,
    action: &Action,
    member: &StaffActor,
    customer: Option<&Actor>,
    side: &StaffSide<'_>,
    driver: &Driver<'_>,
    notifications: Option<&dyn EventPoster>,
) -> Result<ActionReplies, ActFailure> {
    let not_sent = |problem: String| ActFailure::NotSent { problem, shown: Vec::new() };
    let sandbox = driver.sandbox();
    let group = side.chat_id;
    let topic = if member.general {
        None
    } else {
        let Some(customer) = customer else {
            return Err(not_sent("`@staff` needs a customer chosen with `@user` (or `@staff ID general`)".into()));
        };
        let id = customer.user.id;
        let Some(topic) = (side.topic_of)(id).await else {
            return Err(not_sent(format!("customer {id} has no topic in the staff group yet")));
        };
        if sandbox.topic(group, topic).is_none() {
            return Err(not_sent(format!(
                "the topic of customer {id} (message_thread_id {topic}) is not in the staff group: it was deleted \
                 or never created"
            )));
        }
        Some(topic)
    };
    let place = match topic {
        Some(t) => Place::Topic(group, t),
        None => Place::Group(group),
    };
    let user = &member.user;
    if *action == Action::DeleteTopic {
        let Some(t) = topic else { return Err(not_sent("the General topic cannot be deleted".into())) };
        sandbox.delete_topic(group, t);
        return Ok(ActionReplies {
            line: step.line,
            source: step.source.clone(),
            replies: Vec::new(),
            staff_replies: Some(Vec::new()),
        });
    }
    let sent = match action {
        Action::Text(text) => driver.send_text(user, place, text),
        Action::Photo => driver.send_with(None, |s| match topic {
            Some(t) => s.send_topic_photo(user, group, t),
            None => s.send_group_photo(user, group),
        }),
        Action::Document { file_name, size } => driver.send_with(None, |s| match topic {
            Some(t) => s.send_topic_document(user, group, t, file_name, *size),
            None => s.send_group_document(user, group, file_name, *size),
        }),
        Action::Callback(data) => {
            let newest = match topic {
                Some(t) => sandbox.thread_messages(group, t).pop(),
                None => sandbox.messages(group).into_iter().rev().find(|m| m.thread_id.is_none()),
            };
            let Some(newest) = newest else {
                return Err(not_sent("no bot message in the staff topic to attach the callback to".into()));
            };
            driver.send_with(None, |s| s.press_inline_in(user, group, newest.message_id, data))
        }
        Action::Press(label) => match driver.press_button(user, place, &|l| label.is_match(l), None) {
            Ok(sent) => sent,
            Err(NotPressed::NoButton) => {
                return Err(ActFailure::NotSent {
                    problem: format!("no button in the staff group whose label {}", describe_label(label)),
                    shown: visible_buttons(sandbox, group, topic),
                });
            }
            Err(other) => return Err(not_sent(other.to_string())),
        },
        other => return Err(not_sent(format!("a staff member cannot do this ({other:?}); `@user` switches back"))),
    };
    // The customer's chat is the one whose replies count as theirs.
    let sent = Sent { chat: customer.map(|c| c.user.id), ..sent };
    let collected = collect(step, driver, &sent).await?;
    let Some(sender) = notifications else { return Ok(collected) };
    if let Err(e) = sender.send_notifications().await {
        return Err(ActFailure::Sent {
            problem: format!("sending the notifications due after this step failed: {e:#}"),
            replies: collected.replies,
            staff_replies: collected.staff_replies,
        });
    }
    // Everything since the action: its replies, and what the sender sent after it.
    let events = sandbox.events_since(sent.since);
    let staff_replies = Some(replies_in(events.clone(), group));
    let replies = sent.chat.map(|chat| replies_in(events, chat)).unwrap_or_default();
    Ok(ActionReplies { replies, staff_replies, ..collected })
}

/// Waits for the bot to handle what a step sent, and gathers its replies.
async fn collect(step: &Step, driver: &Driver<'_>, sent: &Sent) -> Result<ActionReplies, ActFailure> {
    match driver.collect(sent).await {
        Ok(Replies { chat, staff }) => {
            Ok(ActionReplies { line: step.line, source: step.source.clone(), replies: chat, staff_replies: staff })
        }
        Err(Unhandled { problem, replies: Replies { chat, staff } }) => {
            Err(ActFailure::Sent { problem, replies: chat, staff_replies: staff })
        }
    }
}

/// The last one-time code the bot sent to the phone `actor` shared, for `> @otp`.
fn last_code(actor: &Actor, otp: Option<&MemoryGateway>) -> Result<String, String> {
    let Some(otp) = otp else { return Err("> @otp: this bot keeps no one-time codes to read".into()) };
    let Some(shared) = actor.shared_phone.as_deref() else {
        return Err("> @otp: this user has not shared their phone yet (`> @contact +7…` or a contact button)".into());
    };
    let phone =
        Phone::parse(shared).map_err(|_| format!("> @otp: the shared contact `{shared}` is not a phone number"))?;
    otp.last_code(&phone).ok_or_else(|| format!("> @otp: the bot has sent no one-time code to {shared}"))
}

/// A six-digit code that differs from `code`: its first digit moved on by one (any six digits
/// differ from a code that is not six digits).
fn wrong_code(code: &str) -> String {
    let digits = code.as_bytes();
    match digits.first() {
        Some(&first) if digits.len() == 6 && digits.iter().all(u8::is_ascii_digit) => {
            let changed = char::from(b'0' + (first - b'0' + 1) % 10);
            format!("{changed}{}", &code[1..])
        }
        _ => "000000".to_owned(),
    }
}

fn describe_label(label: &super::parse::LabelMatch) -> String {
    match label {
        super::parse::LabelMatch::Contains(s) => format!("contains «{s}»"),
        super::parse::LabelMatch::Matches(re) => format!("matches /{}/", re.as_str()),
    }
}

/// For a failed press: the newest messages that carry buttons (in the topic first, when
/// given) and the reply keyboard shown now, as replies to list.
fn visible_buttons(sandbox: &Sandbox, chat: i64, topic: Option<i32>) -> Vec<Reply> {
    const NEWEST: usize = 3;
    let mut messages = sandbox.messages(chat);
    if let Some(t) = topic {
        // The topic's messages last, so the newest shown are theirs when they have buttons.
        messages.sort_by_key(|m| (m.thread_id == Some(t), m.message_id));
    }
    let mut shown: Vec<Reply> = messages
        .into_iter()
        .rev()
        .filter(|m| !m.inline_keyboard.is_empty())
        .take(NEWEST)
        .map(|message| Reply::Message { edited: false, message })
        .collect();
    shown.reverse();
    if let Some(keyboard) = sandbox.reply_keyboard(chat).filter(|k| !k.is_empty()) {
        shown.push(Reply::Message {
            edited: false,
            message: BotMessage {
                chat_id: chat,
                message_id: 0,
                text: "(the reply keyboard shown now)".into(),
                content: BotContent::Text,
                inline_keyboard: Vec::new(),
                reply_keyboard: Some(keyboard),
                thread_id: None,
                copied_from: None,
            },
        });
    }
    shown
}
