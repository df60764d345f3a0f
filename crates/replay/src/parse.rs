//! The transcript format (docs/transcripts.md): turns a file's text into a [`Transcript`] of steps,
//! each with its line number, or a [`ParseError`] naming the offending line.
//!
//! One step a line; blank lines and `//` comments are skipped; the first line is the title
//! (`# …`).
//!
//! - Header: `@config KEY=VALUE …`, only before the first user action: `holidays=DATE,…`
//!   (closed dates), `step_up=on|off`
//!   (default off: ask for a one-time code before subscription changes) and
//!   `payments=telegram|link` (default link: top-ups as Telegram invoices or payment links),
//!   `backends=booking:none,shop:none` (capabilities the business lacks),
//!   `miniapp=https://…` (the Mini App's URL, `[miniapp] url`).
//! - Who acts: `@user ID [lang=ru] [name=Ерлан] [phone=+7…]` (`phone` is what contact-request
//!   buttons share).
//! - User actions: `> text`; `> @contact PHONE [from ID | nouser]`; `> @sticker`, `> @photo`,
//!   `> @voice`; `> @group CHAT_ID text`; `> @callback DATA` (raw button data on the newest bot
//!   message); `> @otp` (the last one-time code the bot sent to the phone this user shared as
//!   their own contact) and `> @otp wrong` (six digits that are not that code); `> \@…` sends
//!   text starting with `@`; `[label]` or `[~ regex]` presses a button. Pressing a pay button
//!   pays the invoice: the step's replies are those to the pre-checkout query and to the
//!   successful payment that follows, or the message of a declined payment.
//! - Checks on the replies to the latest action (or `@now`): `< text`, `<~ regex`, `<! text`,
//!   `<!~ regex`, `<doc regex`, `<buttons label`, `<webapp label` (a Mini App button). A named group of a `<~` regex that matched
//!   keeps what it matched: `<~ start=(?P<link>ref_\w+)` then `> /start ${link}` sends it back.
//!   These look at the customer's chat: the customer last chosen with `@user`, also when the
//!   latest action was a staff member's.
//! - The staff side (the business's staff group, a forum with one topic per customer):
//!   `@staff ID [name=Айгерим] [member]` (default name `Staff ID`; an administrator of the
//!   group, which is what makes one staff, unless `member`) makes the following `>` lines
//!   messages of that staff member in the topic of the customer last chosen with `@user` (the
//!   bot tells which topic is theirs), and `[…]` presses act on the staff group's buttons (that
//!   topic's first); `@staff ID general` writes in the group outside topics (the General
//!   topic). `@user …` switches back to the customer (the same customer again keeps the phone
//!   they shared). Staff actions: `> text`, `> @photo`, `> @document NAME SIZE`,
//!   `> @callback DATA`, presses, and `> @delete-topic` (deletes the customer's topic, as staff
//!   can; the bot must open a new one when it next needs it).
//! - `> @document NAME SIZE` sends a document of that size (`30MB`, `512KB`, `1.5MB`, bytes;
//!   binary units): from the customer, or from staff into the topic.
//! - Checks on what the bot sent the staff group (new or edited messages in any topic or the
//!   General topic, and toasts of staff presses) in reply to the latest action or `@now`:
//!   `<staff text`, `<staff~ regex`, `<staff! text`, `<staff!~ regex`.
//! - `@now <RFC 3339>` moves the fixed clock and runs the scheduled jobs due by then (a
//!   reminder, …), sends the notifications due by then and runs the jobs again; what they
//!   sent to the current user's chat becomes the replies the next checks look at (none before
//!   the first `@user`). A staff action also sends the notifications due after it (a confirmed
//!   broadcast's). `@event {json}` posts the event, signed, to
//!   the bot's events API (it must be accepted) and sends the notifications it wrote; what
//!   they sent becomes the replies, as with `@now`.

use std::fmt;

use chrono::{DateTime, Utc};
use regex::Regex;

/// A parsed transcript file.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The text of the `# …` title line, without the marker.
    pub title: String,
    /// How the bot is started for this file (`@config` lines).
    pub config: TranscriptConfig,
    pub steps: Vec<Step>,
}

/// The `@config KEY=VALUE` settings of a transcript: how its bot is started. They may only
/// come before the first user action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TranscriptConfig {
    /// `step_up=on|off` (default off): the bot asks for a one-time code before subscription
    /// changes.
    pub step_up: bool,
    /// `payments=telegram|link` (default link): top-ups are Telegram invoices instead of
    /// payment links.
    pub telegram_payments: bool,
    /// `holidays=2025-01-15,2025-01-16`: dates the business is closed.
    pub holidays: Vec<chrono::NaiveDate>,
    /// `backends=booking:none,shop:none`: the backend of each capability named (`[backends]`).
    pub backends: Vec<(String, String)>,
    /// `miniapp=https://…`: the Mini App page's URL (`[miniapp] url`).
    pub miniapp: Option<String>,
}

/// One step, as written and as understood.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line as written (trailing whitespace removed).
    pub source: String,
    pub kind: StepKind,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `@user 5001 lang=ru name=Ерлан phone=+77011234567`: who acts from now on.
    User(UserSpec),
    /// `@staff 9001 name=Айгерим [general]`: a staff member acts from now on, in the topic of
    /// the current customer (or in the General topic).
    Staff(StaffSpec),
    /// Something the current user (or staff member) does (`> …`, `[…]`).
    Act(Action),
    /// A check on the replies to the most recent action in the customer's chat (`< …`,
    /// `<~ …`, …).
    Expect(Expectation),
    /// A check on what the bot sent the staff group in reply to the most recent action
    /// (`<staff …`, `<staff~ …`, `<staff! …`, `<staff!~ …`).
    ExpectStaff(Expectation),
    /// `@now <RFC 3339>`: move the fixed clock and run the jobs due by then; what they sent
    /// the current user is what the following checks look at.
    Now(DateTime<Utc>),
    /// `@event {json}`: an event for the events API.
    Event(serde_json::Value),
}

/// The user declared by `@user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub id: i64,
    /// Telegram's `language_code`, from `lang=`.
    pub lang: Option<String>,
    /// The first name, from `name=`.
    pub name: Option<String>,
    /// The phone shared when a contact-request button is pressed, from `phone=`.
    pub phone: Option<String>,
}

/// The staff member declared by `@staff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSpec {
    pub id: i64,
    /// The first name, from `name=`.
    pub name: Option<String>,
    /// `general`: writes in the General topic instead of the customer's topic.
    pub general: bool,
    /// `member`: a plain member of the group, not one of its administrators (who are staff).
    pub member: bool,
}

/// Whose contact a `> @contact` step shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactOwner {
    /// The sender's own contact (`user_id` = the sender).
    Me,
    /// Someone else's contact (`from 9999`).
    Other(i64),
    /// A contact without `user_id` (`nouser`).
    NoUser,
}

/// A user action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `> text`
    Text(String),
    /// `> @contact PHONE [from ID | nouser]`
    Contact { phone: String, owner: ContactOwner },
    /// `> @sticker`
    Sticker,
    /// `> @photo`
    Photo,
    /// `> @voice`
    Voice,
    /// `> @document NAME SIZE`: a document of `size` bytes.
    Document { file_name: String, size: u64 },
    /// `> @delete-topic` (staff): the customer's topic is deleted, as staff can do in Telegram.
    DeleteTopic,
    /// `> @group CHAT_ID text`: a message in a group chat.
    GroupText { chat_id: i64, text: String },
    /// `> @callback DATA`: a callback query with raw data on the newest bot message.
    Callback(String),
    /// `> @otp`: types the last one-time code the bot sent to the phone this user shared;
    /// `> @otp wrong`: types a six-digit code that is not that one.
    Otp { wrong: bool },
    /// `[label]` or `[~ regex]`: press a button.
    Press(LabelMatch),
}

/// How a button's label is chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelMatch {
    /// The label contains this, case-insensitively.
    Contains(String),
    /// The label matches this regex.
    Matches(Pattern),
}

impl LabelMatch {
    /// Whether `label` is chosen.
    pub fn is_match(&self, label: &str) -> bool {
        match self {
            LabelMatch::Contains(needle) => contains_ci(label, needle),
            LabelMatch::Matches(re) => re.0.is_match(label),
        }
    }
}

/// A check on the replies to the most recent action.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// `< text`: some reply contains this (case-insensitive).
    Contains(String),
    /// `<~ regex`: some reply matches.
    Matches(Pattern),
    /// `<! text`: no reply contains this (case-insensitive).
    NotContains(String),
    /// `<!~ regex`: no reply matches.
    NotMatches(Pattern),
    /// `<doc regex`: some reply is a document whose file name or caption matches.
    Document(Pattern),
    /// `<buttons label`: some reply carries a button whose label contains this.
    Button(String),
    /// `<webapp label`: some reply carries a Mini App (`web_app`) button whose label
    /// contains this.
    WebApp(String),
}

/// A compiled regex that compares by its source text.
#[derive(Clone)]
pub struct Pattern(pub Regex);

impl Pattern {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/", self.0.as_str())
    }
}

/// Why a transcript could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// `haystack` contains `needle`, ignoring case and the kind of space (the bot writes
/// amounts with no-break spaces, «3 450 ₸»; a transcript writes ordinary ones).
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    fold(haystack).contains(&fold(needle))
}

fn fold(text: &str) -> String {
    text.chars()
        .map(|c| if matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}') { ' ' } else { c })
        .collect::<String>()
        .to_lowercase()
}

impl Transcript {
    /// Whether the transcript has staff steps or checks: its run needs a staff group.
    pub fn uses_staff(&self) -> bool {
        self.steps.iter().any(|s| matches!(s.kind, StepKind::Staff(_) | StepKind::ExpectStaff(_)))
    }
}

impl Action {
    /// Whether a staff member can do this (customers' own actions, such as sharing a
    /// contact, cannot be a staff member's).
    pub fn is_staff_action(&self) -> bool {
        matches!(
            self,
            Action::Text(_)
                | Action::Photo
                | Action::Document { .. }
                | Action::Callback(_)
                | Action::Press(_)
                | Action::DeleteTopic
        )
    }
}

/// Parses a transcript's text.
pub fn parse(text: &str) -> Result<Transcript, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut title: Option<String> = None;
    let mut steps = Vec::new();
    let mut have_user = false;
    // After `@staff` and until the next `@user`: staff members act.
    let mut staff_mode = false;
    let mut have_action = false;
    // An action or `@now`: something whose replies a check can look at.
    let mut have_replies = false;
    let mut config = TranscriptConfig::default();
    let mut configured: Vec<String> = Vec::new();

    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let source = raw.trim_end();
        if source.is_empty() || source.starts_with("//") {
            continue;
        }
        let err = |message: String| ParseError { line, message };

        if title.is_none() {
            match source.strip_prefix('#') {
                Some(rest) if !rest.trim().is_empty() => {
                    title = Some(rest.trim().to_owned());
                    continue;
                }
                _ => return Err(err("the first line must be the title: `# …`".into())),
            }
        }

        if let Some(rest) = keyword(source, "@config") {
            if have_action {
                return Err(err("`@config` is allowed only before the first user action".into()));
            }
            parse_config(rest, &mut config, &mut configured).map_err(err)?;
            continue;
        }

        let kind = parse_step(source).map_err(err)?;
        match &kind {
            StepKind::User(_) => {
                have_user = true;
                staff_mode = false;
            }
            StepKind::Staff(spec) if !spec.general && !have_user => {
                return Err(err(
                    "`@staff` writes in the topic of the customer chosen with `@user`: put an `@user` line \
                     before it, or write `@staff ID general`"
                        .into(),
                ));
            }
            StepKind::Staff(_) => staff_mode = true,
            StepKind::Act(_) if !have_user && !staff_mode => {
                return Err(err("a user action before any `@user` line".into()));
            }
            StepKind::Act(action) if staff_mode && !action.is_staff_action() => {
                return Err(err(format!(
                    "`{}` is not something a staff member does (staff: `> text`, `> @photo`, \
                     `> @document`, `> @callback`, `[button]`); `@user` switches back to the customer",
                    shorten(source)
                )));
            }
            StepKind::Act(_) => {
                have_action = true;
                have_replies = true;
            }
            StepKind::Now(_) | StepKind::Event(_) => have_replies = true,
            StepKind::Expect(_) | StepKind::ExpectStaff(_) if !have_replies => {
                return Err(err("an expectation before any user action, `@now` or `@event`".into()));
            }
            _ => {}
        }
        steps.push(Step { line, source: source.to_owned(), kind });
    }

    match title {
        Some(title) => Ok(Transcript { title, config, steps }),
        None => Err(ParseError { line: 1, message: "the file is empty: no `# title` line".into() }),
    }
}

fn parse_step(source: &str) -> Result<StepKind, String> {
    if source.starts_with('#') {
        return Err("only the first line may be a `# title`".into());
    }
    if let Some(rest) = keyword(source, "@user") {
        return parse_user(rest).map(StepKind::User);
    }
    if let Some(rest) = keyword(source, "@staff") {
        return parse_staff(rest).map(StepKind::Staff);
    }
    if let Some(rest) = keyword(source, "@now") {
        let at = argument(rest, "@now")?;
        return DateTime::parse_from_rfc3339(at)
            .map(|t| StepKind::Now(t.to_utc()))
            .map_err(|e| format!("@now: not an RFC 3339 time with an offset ({e})"));
    }
    if let Some(rest) = keyword(source, "@event") {
        let json = argument(rest, "@event")?;
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("@event: invalid JSON ({e})"))?;
        if !value.is_object() {
            return Err("@event: the JSON must be an object".into());
        }
        return Ok(StepKind::Event(value));
    }
    if source.starts_with('>') {
        return parse_action(source).map(StepKind::Act);
    }
    if source.starts_with('[') {
        return parse_press(source).map(|m| StepKind::Act(Action::Press(m)));
    }
    if source.starts_with('<') {
        return parse_expectation(source);
    }
    Err(format!("unknown step `{}`", shorten(source)))
}

/// What follows `word` when the line starts with it as a whole word.
fn keyword<'a>(source: &'a str, word: &str) -> Option<&'a str> {
    source.strip_prefix(word).filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

/// The argument after a keyword: it must be separated by whitespace and not be empty.
fn argument<'a>(rest: &'a str, keyword: &str) -> Result<&'a str, String> {
    if !rest.starts_with(char::is_whitespace) || rest.trim().is_empty() {
        return Err(format!("{keyword} needs an argument"));
    }
    Ok(rest.trim())
}

fn parse_user(rest: &str) -> Result<UserSpec, String> {
    let rest = argument(rest, "@user")?;
    let mut words = rest.split_whitespace();
    let id_text = words.next().unwrap_or_default();
    let id: i64 = id_text
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("@user: `{id_text}` is not a positive Telegram user id"))?;
    let mut spec = UserSpec { id, lang: None, name: None, phone: None };
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| format!("@user: expected key=value, found `{word}`"))?;
        if value.is_empty() {
            return Err(format!("@user: `{key}=` has no value"));
        }
        let slot = match key {
            "lang" => &mut spec.lang,
            "name" => &mut spec.name,
            "phone" => &mut spec.phone,
            _ => return Err(format!("@user: unknown key `{key}` (known: lang, name, phone)")),
        };
        if slot.is_some() {
            return Err(format!("@user: `{key}` given twice"));
        }
        *slot = Some(value.to_owned());
    }
    Ok(spec)
}

fn parse_staff(rest: &str) -> Result<StaffSpec, String> {
    let rest = argument(rest, "@staff")?;
    let mut words = rest.split_whitespace();
    let id_text = words.next().unwrap_or_default();
    let id: i64 = id_text
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("@staff: `{id_text}` is not a positive Telegram user id"))?;
    let mut spec = StaffSpec { id, name: None, general: false, member: false };
    for word in words {
        if word == "general" || word == "member" {
            let flag = if word == "general" { &mut spec.general } else { &mut spec.member };
            if *flag {
                return Err(format!("@staff: `{word}` given twice"));
            }
            *flag = true;
            continue;
        }
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("@staff: expected name=…, `general` or `member`, found `{word}`"))?;
        match key {
            "name" if value.is_empty() => return Err("@staff: `name=` has no value".into()),
            "name" if spec.name.is_some() => return Err("@staff: `name` given twice".into()),
            "name" => spec.name = Some(value.to_owned()),
            _ => return Err(format!("@staff: unknown key `{key}` (known: name; or the words `general`, `member`)")),
        }
    }
    Ok(spec)
}

/// `@config KEY=VALUE …`: sets `config`; `seen` lists the keys set so far (each once).
fn parse_config(rest: &str, config: &mut TranscriptConfig, seen: &mut Vec<String>) -> Result<(), String> {
    let rest = argument(rest, "@config")?;
    for word in rest.split_whitespace() {
        let (key, value) =
            word.split_once('=').ok_or_else(|| format!("@config: expected KEY=VALUE, found `{word}`"))?;
        if seen.iter().any(|k| k == key) {
            return Err(format!("@config: `{key}` given twice"));
        }
        match key {
            "step_up" => {
                config.step_up = match value {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("@config: step_up is `on` or `off`, not `{value}`")),
                }
            }
            "payments" => {
                config.telegram_payments = match value {
                    "telegram" => true,
                    "link" => false,
                    _ => return Err(format!("@config: payments is `telegram` or `link`, not `{value}`")),
                }
            }
            "holidays" => {
                config.holidays = value
                    .split(',')
                    .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d"))
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        format!("@config: holidays are dates YYYY-MM-DD separated by commas, not `{value}`")
                    })?;
            }
            "backends" => {
                config.backends = value
                    .split(',')
                    .map(|pair| match pair.split_once(':') {
                        Some((name, backend))
                            if ["billing", "logistics", "documents", "shop", "loyalty", "booking"].contains(&name)
                                && ["builtin", "none"].contains(&backend) =>
                        {
                            Ok((name.to_owned(), backend.to_owned()))
                        }
                        _ => Err(format!(
                            "@config: backends are CAPABILITY:builtin|none separated by commas (billing, \
                             logistics, documents, shop, loyalty, booking), not `{pair}`"
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "miniapp" => {
                if !value.starts_with("https://") || url_host(value).is_none() {
                    return Err(format!("@config: miniapp is the Mini App's https:// URL, not `{value}`"));
                }
                config.miniapp = Some(value.to_owned());
            }
            _ => {
                return Err(format!(
                    "@config: unknown key `{key}` (known: step_up, payments, holidays, backends, miniapp)"
                ));
            }
        }
        seen.push(key.to_owned());
    }
    Ok(())
}

fn parse_action(source: &str) -> Result<Action, String> {
    let rest = match source.strip_prefix("> ") {
        Some(rest) => rest,
        None if source == ">" => return Err("`>` needs a message".into()),
        None => return Err(format!("unknown step `{}` (a message is `> text`)", shorten(source))),
    };
    if rest.is_empty() {
        return Err("`>` needs a message".into());
    }
    // `> \@name` sends text that starts with `@`.
    if let Some(text) = rest.strip_prefix("\\@") {
        return Ok(Action::Text(format!("@{text}")));
    }
    let Some(directive) = rest.strip_prefix('@') else {
        return Ok(Action::Text(rest.to_owned()));
    };
    let (word, args) = match directive.split_once(char::is_whitespace) {
        Some((word, args)) => (word, args.trim()),
        None => (directive, ""),
    };
    let no_args = |action: Action| {
        if args.is_empty() { Ok(action) } else { Err(format!("> @{word} takes no arguments")) }
    };
    match word {
        "contact" => parse_contact(args),
        "sticker" => no_args(Action::Sticker),
        "photo" => no_args(Action::Photo),
        "voice" => no_args(Action::Voice),
        "delete-topic" => no_args(Action::DeleteTopic),
        "document" => {
            let usage = "> @document needs a file name and a size: `> @document big.zip 30MB`";
            let (name, size) = args.rsplit_once(char::is_whitespace).ok_or(usage)?;
            let name = name.trim();
            if name.is_empty() {
                return Err(usage.into());
            }
            let size = cabinet_sandbox::parse_size(size)
                .ok_or_else(|| format!("> @document: `{size}` is not a size (30MB, 512KB, 1.5MB or bytes)"))?;
            Ok(Action::Document { file_name: name.to_owned(), size })
        }
        "group" => {
            let (chat, text) = args
                .split_once(char::is_whitespace)
                .ok_or("> @group needs a chat id and a text: `> @group -100500 text`")?;
            let chat_id: i64 = chat
                .parse()
                .ok()
                .filter(|id| *id < 0)
                .ok_or_else(|| format!("> @group: `{chat}` is not a group chat id (negative)"))?;
            let text = text.trim_start();
            if text.is_empty() {
                return Err("> @group needs a text".into());
            }
            Ok(Action::GroupText { chat_id, text: text.to_owned() })
        }
        "callback" => {
            if args.is_empty() {
                return Err("> @callback needs the callback data".into());
            }
            Ok(Action::Callback(args.to_owned()))
        }
        "otp" => match args {
            "" => Ok(Action::Otp { wrong: false }),
            "wrong" => Ok(Action::Otp { wrong: true }),
            _ => Err(format!("> @otp takes nothing or `wrong`, not `{args}`")),
        },
        _ => Err(format!(
            "unknown action `> @{word}` (known: @contact, @sticker, @photo, @voice, @document, @group, \
             @callback, @otp; write `> \\@…` to send text starting with @)"
        )),
    }
}

fn parse_contact(args: &str) -> Result<Action, String> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let (phone_words, owner) = match words.as_slice() {
        [phone @ .., "nouser"] => (phone, ContactOwner::NoUser),
        [phone @ .., "from", id] => {
            let id: i64 = id.parse().map_err(|_| format!("> @contact: `{id}` after `from` is not a user id"))?;
            (phone, ContactOwner::Other(id))
        }
        phone => (phone, ContactOwner::Me),
    };
    if phone_words.is_empty() {
        return Err("> @contact needs a phone number".into());
    }
    Ok(Action::Contact { phone: phone_words.join(" "), owner })
}

fn parse_press(source: &str) -> Result<LabelMatch, String> {
    let inner = source
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or("a button press is `[label]` or `[~ regex]`")?;
    if let Some(re) = inner.strip_prefix('~') {
        let re = re.trim();
        if re.is_empty() {
            return Err("`[~ regex]` needs a regex".into());
        }
        return compile(re).map(LabelMatch::Matches);
    }
    let label = inner.trim();
    if label.is_empty() {
        return Err("`[label]` needs a label".into());
    }
    Ok(LabelMatch::Contains(label.to_owned()))
}

fn parse_expectation(source: &str) -> Result<StepKind, String> {
    // The staff group's checks: `<staff!~`, `<staff!`, `<staff~`, `<staff`.
    const STAFF_MARKERS: [&str; 4] = ["<staff!~", "<staff!", "<staff~", "<staff"];
    for marker in STAFF_MARKERS {
        let Some(rest) = source.strip_prefix(marker) else { continue };
        let arg = match rest.strip_prefix(' ') {
            Some(arg) if !arg.trim().is_empty() => arg,
            Some(_) => return Err(format!("`{marker}` needs an argument")),
            None if rest.is_empty() => return Err(format!("`{marker}` needs an argument")),
            None => continue,
        };
        let expectation = match marker {
            "<staff" => Expectation::Contains(arg.to_owned()),
            "<staff!" => Expectation::NotContains(arg.to_owned()),
            "<staff~" => compile(arg).map(Expectation::Matches)?,
            _ => compile(arg).map(Expectation::NotMatches)?,
        };
        return Ok(StepKind::ExpectStaff(expectation));
    }
    parse_customer_expectation(source).map(StepKind::Expect)
}

fn parse_customer_expectation(source: &str) -> Result<Expectation, String> {
    // Longest markers first: `<!~` before `<!`, `<~` before `<`.
    const MARKERS: [&str; 7] = ["<!~", "<!", "<~", "<doc", "<buttons", "<webapp", "<"];
    for marker in MARKERS {
        let Some(rest) = source.strip_prefix(marker) else { continue };
        let arg = match rest.strip_prefix(' ') {
            Some(arg) if !arg.trim().is_empty() => arg,
            Some(_) => return Err(format!("`{marker}` needs an argument")),
            None if rest.is_empty() => return Err(format!("`{marker}` needs an argument")),
            // e.g. `<docs …` or `<foo`: not this marker.
            None => continue,
        };
        return match marker {
            "<" => Ok(Expectation::Contains(arg.to_owned())),
            "<!" => Ok(Expectation::NotContains(arg.to_owned())),
            "<~" => compile(arg).map(Expectation::Matches),
            "<!~" => compile(arg).map(Expectation::NotMatches),
            "<doc" => compile(arg).map(Expectation::Document),
            "<webapp" => Ok(Expectation::WebApp(arg.trim().to_owned())),
            _ => Ok(Expectation::Button(arg.trim().to_owned())),
        };
    }
    Err(format!(
        "unknown expectation `{}` (known: `< `, `<~ `, `<! `, `<!~ `, `<doc `, `<buttons `, `<webapp `, `<staff `, \
         `<staff~ `, `<staff! `, `<staff!~ `)",
        shorten(source)
    ))
}

/// The host of an `https://host/…` URL, if it names one.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("https://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some(host)
}

fn compile(re: &str) -> Result<Pattern, String> {
    Regex::new(re).map(Pattern).map_err(|e| format!("invalid regex `{re}`: {e}"))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(body: &str) -> Vec<StepKind> {
        let text = format!("# t\n@user 1 lang=ru\n> /start\n{body}\n");
        parse(&text).unwrap().steps.into_iter().skip(2).map(|s| s.kind).collect()
    }

    fn one(line: &str) -> StepKind {
        let mut all = steps(line);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    fn error_of(text: &str) -> ParseError {
        parse(text).unwrap_err()
    }

    fn re(s: &str) -> Pattern {
        Pattern(Regex::new(s).unwrap())
    }

    #[test]
    fn the_spec_sample_parses_with_line_numbers() {
        let text = "# Balance after identification\n\
                    @user 5001 lang=ru\n\
                    > /start\n\
                    \n\
                    // a comment\n\
                    [Согласен]\n\
                    [~ (?i)соглас|agree]\n\
                    > @contact +77011234567\n\
                    < Здравствуйте, Ерлан\n";
        let t = parse(text).unwrap();
        assert_eq!(t.title, "Balance after identification");
        let lines: Vec<usize> = t.steps.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![2, 3, 6, 7, 8, 9]);
        assert_eq!(t.steps[1].source, "> /start");
        assert_eq!(t.steps[1].kind, StepKind::Act(Action::Text("/start".into())));
        assert_eq!(
            t.steps[0].kind,
            StepKind::User(UserSpec { id: 5001, lang: Some("ru".into()), name: None, phone: None })
        );
    }

    #[test]
    fn a_user_line_accepts_name_and_phone() {
        let t = parse("# t\n@user 5001 lang=ru name=Ерлан phone=+77011234567\n").unwrap();
        assert_eq!(
            t.steps[0].kind,
            StepKind::User(UserSpec {
                id: 5001,
                lang: Some("ru".into()),
                name: Some("Ерлан".into()),
                phone: Some("+77011234567".into()),
            })
        );
        assert_eq!(
            parse("# t\n@user 7\n").unwrap().steps[0].kind,
            StepKind::User(UserSpec { id: 7, lang: None, name: None, phone: None })
        );
    }

    #[test]
    fn a_bad_user_line_is_an_error() {
        for bad in
            ["@user", "@user x", "@user -5", "@user 5 lang", "@user 5 age=3", "@user 5 lang=ru lang=en", "@userx 5"]
        {
            let e = error_of(&format!("# t\n{bad}\n"));
            assert_eq!(e.line, 2, "{bad}: {e}");
        }
    }

    #[test]
    fn texts_are_sent_as_written_after_one_space() {
        assert_eq!(one(">  two spaces"), StepKind::Act(Action::Text(" two spaces".into())));
        assert_eq!(one("> где мой заказ?   "), StepKind::Act(Action::Text("где мой заказ?".into())));
        assert_eq!(one("> \\@somebody hi"), StepKind::Act(Action::Text("@somebody hi".into())));
    }

    #[test]
    fn contacts_are_own_foreign_or_without_user() {
        assert_eq!(
            one("> @contact +77011234567"),
            StepKind::Act(Action::Contact { phone: "+77011234567".into(), owner: ContactOwner::Me })
        );
        assert_eq!(
            one("> @contact +77025556677 from 9999"),
            StepKind::Act(Action::Contact { phone: "+77025556677".into(), owner: ContactOwner::Other(9999) })
        );
        assert_eq!(
            one("> @contact +7 702 555 66 77 nouser"),
            StepKind::Act(Action::Contact { phone: "+7 702 555 66 77".into(), owner: ContactOwner::NoUser })
        );
    }

    #[test]
    fn other_user_actions_parse() {
        assert_eq!(one("> @sticker"), StepKind::Act(Action::Sticker));
        assert_eq!(one("> @photo"), StepKind::Act(Action::Photo));
        assert_eq!(one("> @voice"), StepKind::Act(Action::Voice));
        assert_eq!(
            one("> @group -100500 всем привет"),
            StepKind::Act(Action::GroupText { chat_id: -100500, text: "всем привет".into() })
        );
        assert_eq!(one("> @callback order:99999"), StepKind::Act(Action::Callback("order:99999".into())));
        assert_eq!(one("> @otp"), StepKind::Act(Action::Otp { wrong: false }));
        assert_eq!(one("> @otp wrong"), StepKind::Act(Action::Otp { wrong: true }));
    }

    #[test]
    fn bad_user_actions_are_errors() {
        for bad in [
            ">",
            ">text",
            "> @contact",
            "> @contact from 5",
            "> @contact +7701 from x",
            "> @sticker big",
            "> @group 100500 hi",
            "> @group -100500",
            "> @callback",
            "> @contcat +77011234567",
            "> @otp 123456",
            "> @otp wrong twice",
        ] {
            let e = error_of(&format!("# t\n@user 1\n> hi\n{bad}\n"));
            assert_eq!(e.line, 4, "{bad}: {e}");
        }
    }

    #[test]
    fn button_presses_by_label_or_regex() {
        assert_eq!(one("[Согласен]"), StepKind::Act(Action::Press(LabelMatch::Contains("Согласен".into()))));
        assert_eq!(
            one("[~ (?i)соглас|agree]"),
            StepKind::Act(Action::Press(LabelMatch::Matches(re("(?i)соглас|agree"))))
        );
        for bad in ["[]", "[ ]", "[~ ]", "[open", "[~ (]"] {
            let e = error_of(&format!("# t\n@user 1\n{bad}\n"));
            assert_eq!(e.line, 3, "{bad}: {e}");
        }
    }

    #[test]
    fn label_matching_ignores_case_for_contains() {
        assert!(LabelMatch::Contains("согласен".into()).is_match("✅ СОГЛАСЕН"));
        assert!(!LabelMatch::Contains("agree".into()).is_match("Согласен"));
        assert!(LabelMatch::Matches(re("(?i)соглас|agree")).is_match("I agree"));
        assert!(!LabelMatch::Matches(re("^agree")).is_match("I agree"));
    }

    #[test]
    fn every_expectation_kind_parses() {
        assert_eq!(one("< Здравствуйте, Ерлан"), StepKind::Expect(Expectation::Contains("Здравствуйте, Ерлан".into())));
        assert_eq!(one("<  leading"), StepKind::Expect(Expectation::Contains(" leading".into())));
        assert_eq!(
            one(r"<~ 3[ \u00a0\u202f]?450"),
            StepKind::Expect(Expectation::Matches(re(r"3[ \u00a0\u202f]?450")))
        );
        assert_eq!(one("<! Абая"), StepKind::Expect(Expectation::NotContains("Абая".into())));
        assert_eq!(one("<!~ (?i)собира"), StepKind::Expect(Expectation::NotMatches(re("(?i)собира"))));
        assert_eq!(one("<doc (?i)акт"), StepKind::Expect(Expectation::Document(re("(?i)акт"))));
        assert_eq!(one("<buttons Пополнить"), StepKind::Expect(Expectation::Button("Пополнить".into())));
        assert_eq!(one("<webapp Открыть"), StepKind::Expect(Expectation::WebApp("Открыть".into())));
    }

    #[test]
    fn a_bad_regex_is_an_error_with_its_line() {
        let e = error_of("# t\n@user 1\n> hi\n< fine\n<~ 3[450\n");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("invalid regex"), "{e}");
        assert_eq!(error_of("# t\n@user 1\n> hi\n<!~ (\n").line, 4);
        assert_eq!(error_of("# t\n@user 1\n> hi\n<doc *\n").line, 4);
    }

    #[test]
    fn unknown_markers_are_errors_with_their_line() {
        for bad in ["<", "<~", "<foo", "<docs x", "<buttonsX", "hello", "@later 5", "# second title", "! x", "<? x"] {
            let e = error_of(&format!("# t\n@user 1\n> hi\n\n{bad}\n"));
            assert_eq!(e.line, 5, "{bad}: {e}");
        }
    }

    #[test]
    fn an_action_before_any_user_is_an_error() {
        assert_eq!(error_of("# t\n> /start\n").line, 2);
        assert_eq!(error_of("# t\n\n[Согласен]\n").line, 3);
    }

    #[test]
    fn an_expectation_before_any_action_is_an_error() {
        assert_eq!(error_of("# t\n@user 1\n< hello\n").line, 3);
    }

    #[test]
    fn a_missing_title_is_an_error() {
        assert_eq!(error_of("@user 1\n> hi\n").line, 1);
        assert_eq!(error_of("\n\n@user 1\n").line, 3);
        assert_eq!(error_of("#   \n").line, 1);
        assert_eq!(error_of("").line, 1);
        assert_eq!(error_of("// only a comment\n").line, 1);
    }

    #[test]
    fn the_title_may_follow_blank_lines_comments_and_a_bom() {
        let t = parse("\u{feff}// about\n\n#Title here  \n").unwrap();
        assert_eq!(t.title, "Title here");
        assert!(t.steps.is_empty());
    }

    #[test]
    fn now_takes_an_rfc3339_time() {
        let at = DateTime::parse_from_rfc3339("2025-01-12T04:00:00Z").unwrap().to_utc();
        assert_eq!(one("@now 2025-01-12T09:00:00+05:00"), StepKind::Now(at));
        assert_eq!(error_of("# t\n@now 2025-01-12 09:00\n").line, 2);
        assert_eq!(error_of("# t\n@now\n").line, 2);
    }

    #[test]
    fn checks_may_follow_now_even_before_any_user() {
        let t = parse("# t\n@now 2025-01-12T09:00:00+05:00\n<! Reminder\n@config step_up=on\n@user 1\n> hi\n").unwrap();
        assert_eq!(t.steps.len(), 4);
        assert_eq!(t.steps[1].kind, StepKind::Expect(Expectation::NotContains("Reminder".into())));
        assert!(t.config.step_up, "@now is not a user action: @config may follow it");
        assert_eq!(error_of("# t\n@user 1\n< hello\n@now 2025-01-12T09:00:00+05:00\n").line, 3);
    }

    #[test]
    fn event_takes_a_json_object() {
        assert_eq!(
            one(r#"@event {"type":"order_status_changed","order_id":"78234"}"#),
            StepKind::Event(serde_json::json!({"type":"order_status_changed","order_id":"78234"}))
        );
        assert_eq!(error_of("# t\n@event {nope}\n").line, 2);
        assert_eq!(error_of("# t\n@event [1]\n").line, 2);
    }

    #[test]
    fn config_lines_set_up_the_bot_before_the_first_action() {
        let t = parse("# t\n@config step_up=on\n@user 1\n@config payments=telegram\n> hi\n").unwrap();
        assert_eq!(
            t.config,
            TranscriptConfig {
                step_up: true,
                telegram_payments: true,
                holidays: vec![],
                backends: vec![],
                miniapp: None
            }
        );
        assert_eq!(t.steps.len(), 2, "config lines are not steps: {:?}", t.steps);
        let holidays = parse("# t\n@config holidays=2025-01-15,2025-03-08\n").unwrap();
        assert_eq!(holidays.config.holidays.len(), 2);
        assert!(parse("# t\n@config holidays=15.01.2025\n").is_err());
        let salon = parse("# t\n@config backends=booking:builtin,shop:none,logistics:none\n").unwrap();
        let pairs =
            |list: &[(&str, &str)]| list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        assert_eq!(salon.config.backends, pairs(&[("booking", "builtin"), ("shop", "none"), ("logistics", "none")]));
        assert!(parse("# t\n@config backends=crm:none\n").is_err());
        assert!(parse("# t\n@config backends=shop:http\n").is_err());
        let page = parse("# t\n@config miniapp=https://cabinet.example.com/app/\n").unwrap();
        assert_eq!(page.config.miniapp.as_deref(), Some("https://cabinet.example.com/app/"));
        for bad in ["http://cabinet.example.com/app/", "https://", "https:///app", "cabinet.example.com"] {
            assert!(parse(&format!("# t\n@config miniapp={bad}\n")).is_err(), "{bad}");
        }
        let t = parse("# t\n@config step_up=off payments=link\n").unwrap();
        assert_eq!(t.config, TranscriptConfig::default());
        assert_eq!(parse("# t\n@user 1\n> hi\n").unwrap().config, TranscriptConfig::default());
    }

    #[test]
    fn bad_config_lines_are_errors_with_their_line() {
        for (bad, what) in [
            ("@config", "needs an argument"),
            ("@config step_up", "expected KEY=VALUE"),
            ("@config step_up=yes", "`on` or `off`"),
            ("@config payments=stripe", "`telegram` or `link`"),
            ("@config colour=blue", "unknown key `colour`"),
            ("@config step_up=on step_up=off", "given twice"),
        ] {
            let e = error_of(&format!("# t\n@user 1\n{bad}\n"));
            assert_eq!(e.line, 3, "{bad}: {e}");
            assert!(e.message.contains(what), "{bad}: {e}");
        }
        let e = error_of("# t\n@config step_up=on\n@config step_up=off\n");
        assert_eq!(e.line, 3, "{e}");
        let e = error_of("# t\n@user 1\n> hi\n@config payments=telegram\n");
        assert_eq!(e.line, 4);
        assert!(e.message.contains("before the first user action"), "{e}");
    }

    #[test]
    fn staff_lines_name_the_member_and_maybe_the_general_topic() {
        let staff = |line: &str| parse(&format!("# t\n@user 5001\n{line}\n")).unwrap().steps.remove(1).kind;
        assert_eq!(
            staff("@staff 9001"),
            StepKind::Staff(StaffSpec { id: 9001, name: None, general: false, member: false })
        );
        assert_eq!(
            staff("@staff 9001 name=Айгерим general"),
            StepKind::Staff(StaffSpec { id: 9001, name: Some("Айгерим".into()), general: true, member: false })
        );
        assert_eq!(
            staff("@staff 9002 general"),
            StepKind::Staff(StaffSpec { id: 9002, name: None, general: true, member: false })
        );
        assert_eq!(
            staff("@staff 9003 member"),
            StepKind::Staff(StaffSpec { id: 9003, name: None, general: false, member: true })
        );
        for bad in [
            "@staff",
            "@staff x",
            "@staff 0",
            "@staff 5 nick=a",
            "@staff 5 name=",
            "@staff 5 general general",
            "@staff 5 member member",
            "@staff 5 name=a name=b",
            "@staff 5 topic",
        ] {
            let e = error_of(&format!("# t\n@user 1\n{bad}\n"));
            assert_eq!(e.line, 3, "{bad}: {e}");
        }
    }

    #[test]
    fn staff_in_a_customers_topic_needs_a_customer_first() {
        let e = error_of("# t\n@staff 9001\n> hello\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("@staff ID general"), "{e}");
        let t = parse("# t\n@staff 9001 general\n> hello\n< x\n<staff y\n").unwrap();
        assert_eq!(t.steps[1].kind, StepKind::Act(Action::Text("hello".into())));
        assert!(t.uses_staff());
    }

    #[test]
    fn staff_members_do_staff_things_only_until_the_next_user_line() {
        let base = "# t\n@user 5001\n> hi\n@staff 9001\n";
        for ok in ["> hello", "> @photo", "> @document price.pdf 2MB", "> @callback take:1", "[Take]", "> /close"] {
            assert!(parse(&format!("{base}{ok}\n")).is_ok(), "{ok}");
        }
        for bad in ["> @contact +77011234567", "> @otp", "> @sticker", "> @voice", "> @group -100 hi"] {
            let e = error_of(&format!("{base}{bad}\n"));
            assert_eq!(e.line, 5, "{bad}: {e}");
            assert!(e.message.contains("not something a staff member does"), "{bad}: {e}");
        }
        assert!(parse(&format!("{base}@user 5001\n> @contact +77011234567\n")).is_ok());
    }

    #[test]
    fn staff_checks_parse_like_customer_checks() {
        assert_eq!(
            one("<staff Новое обращение"),
            StepKind::ExpectStaff(Expectation::Contains("Новое обращение".into()))
        );
        assert_eq!(one("<staff~ ^New case"), StepKind::ExpectStaff(Expectation::Matches(re("^New case"))));
        assert_eq!(one("<staff! taken"), StepKind::ExpectStaff(Expectation::NotContains("taken".into())));
        assert_eq!(one("<staff!~ (?i)taken"), StepKind::ExpectStaff(Expectation::NotMatches(re("(?i)taken"))));
        // Customer checks that merely mention staff stay customer checks.
        assert_eq!(one("< staff"), StepKind::Expect(Expectation::Contains("staff".into())));
        for bad in ["<staff", "<staff ", "<staff~ (", "<stafff x", "<staff!x", "<staffdoc x"] {
            let e = error_of(&format!("# t\n@user 1\n> hi\n{bad}\n"));
            assert_eq!(e.line, 4, "{bad}: {e}");
        }
        assert_eq!(error_of("# t\n@user 1\n<staff x\n").line, 3, "a check before any action");
    }

    #[test]
    fn staff_delete_a_topic_with_no_arguments() {
        assert_eq!(one("> @delete-topic"), StepKind::Act(Action::DeleteTopic));
        assert!(Action::DeleteTopic.is_staff_action());
        assert_eq!(error_of("# t\n@user 1\n> hi\n> @delete-topic now\n").line, 4);
    }

    #[test]
    fn a_document_has_a_name_and_a_size() {
        assert_eq!(
            one("> @document big.zip 30MB"),
            StepKind::Act(Action::Document { file_name: "big.zip".into(), size: 30 * 1024 * 1024 })
        );
        assert_eq!(
            one("> @document акт за декабрь.pdf 1.5MB"),
            StepKind::Act(Action::Document { file_name: "акт за декабрь.pdf".into(), size: 1_572_864 })
        );
        assert_eq!(
            one("> @document a.txt 120"),
            StepKind::Act(Action::Document { file_name: "a.txt".into(), size: 120 })
        );
        for bad in
            ["> @document", "> @document big.zip", "> @document 30MB", "> @document a.zip 30TB", "> @document a.zip MB"]
        {
            let e = error_of(&format!("# t\n@user 1\n> hi\n{bad}\n"));
            assert_eq!(e.line, 4, "{bad}: {e}");
        }
    }
}
