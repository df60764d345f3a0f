//! The bot: the dptree schema and the features it routes to.
//!
//! Every update enters [`schema`], the table of contents. A customer's private message or
//! button press enters a [`Turn`] (who is writing, in which language, whether they accepted
//! the terms and are bound to a customer, and how to answer them) and goes down the branches
//! to the handler of its feature; the staff group's messages go to [`staff`]; everything else
//! (other groups, channel posts, membership changes) is ignored.
//!
//! # Layout
//! - this file: [`schema`] and the settings ([`Settings`], [`Ctx`]); `turn.rs`: the [`Turn`]
//!   and the middleware that builds it; `tree.rs`: the few handler pieces besides dptree's.
//! - `onboarding.rs`: consent, the contact, /logout and /forget.
//! - `general.rs`: greeting, help, the main menu, the language, privacy, and their buttons.
//! - `understanding.rs`: free text to an intent to its feature, and "did you mean…?".
//! - one module per feature, each with its buttons (a [`keyboards::ButtonKind`] and its
//!   `buttons()` branch) and, when it asks a question, the state branch's handlers:
//!   `account.rs` (the balance), `payments.rs` (top-ups), `orders.rs`, `documents.rs`,
//!   `shop.rs` (repeat orders, an offer's order), `subscription.rs` (with `stepup.rs`, the
//!   one-time codes), `booking.rs` (with `reminders.rs`, the reminder jobs), `loyalty.rs`
//!   (bonuses, offers, referrals), `notifications.rs` (what notifications a customer receives).
//! - [`staff`]: the staff group — cases, topics, the card, the relay, staff commands, SLA
//!   re-pings, alerts and the group's outbox.
//! - [`speaker`]: a customer's chat spoken to outside a turn (the Mini App's confirmations,
//!   which the chat's own flows share).
//! - [`keyboards`]: signed button data and the checks every press goes through; [`state`]:
//!   the dialogue state and its storage; [`mod@commands`]: the customers' commands; [`jobs`]: the
//!   scheduler's handler of the bot's jobs.
//!
//! A capability the business lacks (`[backends]` set to `"none"`, [`Capabilities`] in the
//! [`Settings`]) keeps its adapter but is never reached: the main menu, `/help`, the
//! registered commands and the staff card leave it out, and its commands, intents and old
//! buttons (each [`keyboards::ButtonKind`] names what it needs) are answered «Этого в чате
//! нет» with the menu.
//!
//! A new feature is its module plus a line in [`schema`]'s buttons (and, when free text
//! asks for it, its intent in `understanding.rs`).

#[macro_use]
mod tree;

pub mod commands;
pub mod jobs;
pub mod keyboards;
pub mod state;

mod account;
pub(crate) mod booking;
pub(crate) mod documents;
mod general;
mod loyalty;
pub(crate) mod notifications;
mod onboarding;
mod orders;
pub(crate) mod payments;
pub mod reminders;
pub(crate) mod shop;
pub mod speaker;
pub mod staff;
mod stepup;
mod subscription;
mod turn;
mod understanding;

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use dptree::case;
use teloxide::dispatching::dialogue::Dialogue;
use teloxide::dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, ChatId};

use crate::adapters::Adapters;
use crate::clock::SharedClock;
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::I18n;
use crate::nlu::Nlu;
use crate::nlu::llm::LlmClassifier;
use crate::store::Store;

use self::commands::Command;
use self::keyboards::{CallbackCodec, Press};
use self::state::{State, StoreStorage};
pub use self::stepup::OtpKey;
pub use self::turn::Turn;

/// A document's PDF as the chat sends it, and its file name (the Mini App serves the same).
pub(crate) use self::documents::{file_name as document_file_name, render as render_document};

/// Told when the bot has finished handling an update (the sandbox uses it to know when a
/// step of a transcript is done).
pub trait UpdateObserver: Send + Sync {
    fn handled(&self, update_id: i32);
}

/// The chat's dialogue handle.
pub type BotDialogue = Dialogue<State, StoreStorage>;

/// What handlers return.
pub type HandlerResult = Result<(), BotError>;

/// The business settings the conversations need.
#[derive(Debug, Clone)]
pub struct Settings {
    pub terms_version: String,
    pub privacy_url: String,
    pub default_locale: Locale,
    pub time_zone: Tz,
    pub support_hours: String,
    pub orders_page_size: u32,
    pub staff_chat_id: Option<ChatId>,
    /// The business's name, printed on documents.
    pub business_name: String,
    /// The number customers may call, written for people ("+7 727 355 00 00"), if any.
    pub business_phone: Option<String>,
    /// The business currency (ISO 4217).
    pub currency: String,
    /// The business's requisites, printed on documents.
    pub requisites: Vec<String>,
    pub top_up: TopUpSettings,
    /// Step-up verification before sensitive changes; `None` when off.
    pub step_up: Option<StepUpSettings>,
    pub booking: BookingSettings,
    /// The business's capabilities: an absent one's menus, help, commands and intents are
    /// answered politely and never reach its adapter.
    pub capabilities: Capabilities,
    /// How notifications are sent ([`crate::notify`]).
    pub notify: crate::notify::NotifySettings,
    /// The Mini App page's HTTPS URL (`[miniapp] url`): the chat's menu button and the main
    /// menu's button open it.
    pub miniapp_url: Option<url::Url>,
}

/// A capability a business may lack (`[backends]` set to `"none"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Balance, top-ups, the plan.
    Billing,
    /// Orders and their delivery.
    Logistics,
    Documents,
    /// Repeat orders, an offer's order.
    Shop,
    /// Bonuses, offers, referrals.
    Loyalty,
    Booking,
}

/// Which capabilities the business has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub billing: bool,
    pub logistics: bool,
    pub documents: bool,
    pub shop: bool,
    pub loyalty: bool,
    pub booking: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::ALL
    }
}

impl Capabilities {
    /// Every capability present.
    pub const ALL: Capabilities =
        Capabilities { billing: true, logistics: true, documents: true, shop: true, loyalty: true, booking: true };

    /// The capabilities `[backends]` leaves present.
    pub fn from_config(backends: &crate::config::BackendsConfig) -> Self {
        use crate::config::BackendsConfig as B;
        Capabilities {
            billing: B::present(&backends.billing),
            logistics: B::present(&backends.logistics),
            documents: B::present(&backends.documents),
            shop: B::present(&backends.shop),
            loyalty: B::present(&backends.loyalty),
            booking: B::present(&backends.booking),
        }
    }

    pub fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::Billing => self.billing,
            Capability::Logistics => self.logistics,
            Capability::Documents => self.documents,
            Capability::Shop => self.shop,
            Capability::Loyalty => self.loyalty,
            Capability::Booking => self.booking,
        }
    }

    /// Whether every one of `needed` is present.
    pub fn has_all(&self, needed: &[Capability]) -> bool {
        needed.iter().all(|c| self.has(*c))
    }

    /// Whether what `intent` asks for is present.
    pub fn serves(&self, intent: crate::nlu::Intent) -> bool {
        self.has_all(needs_of_intent(intent))
    }

    /// Whether the customer's command `name` (without the slash) is served.
    pub fn serves_command(&self, name: &str) -> bool {
        self.has_all(commands::needs(name))
    }
}

/// The capabilities an intent needs.
fn needs_of_intent(intent: crate::nlu::Intent) -> &'static [Capability] {
    use crate::nlu::Intent as I;
    match intent {
        I::Balance | I::TopUp | I::Subscription => &[Capability::Billing],
        I::Bonuses | I::Offers | I::Referral => &[Capability::Loyalty],
        I::Documents => &[Capability::Documents],
        I::RepeatOrder => &[Capability::Shop, Capability::Logistics],
        I::OrderStatus | I::OrderHistory | I::OrderCancel => &[Capability::Logistics],
        I::Booking | I::BookingList | I::BookingReschedule | I::BookingCancel => &[Capability::Booking],
        I::Notifications
        | I::Operator
        | I::Privacy
        | I::Language
        | I::Help
        | I::Greeting
        | I::Thanks
        | I::Faq
        | I::Unknown => &[],
    }
}

/// Appointments: when the business works and until when changes are made in the chat.
#[derive(Debug, Clone)]
pub struct BookingSettings {
    pub working_hours: crate::domain::hours::WorkingHours,
    pub holidays: Vec<chrono::NaiveDate>,
    pub horizon_days: u32,
    /// Cancelling or moving closer to the appointment than this goes to a person.
    pub cancel_cutoff: chrono::Duration,
    /// How often reminders are reconciled with the booking system
    /// ([`reminders::reconcile`]).
    pub reconcile: chrono::Duration,
}

/// Top-up amounts and how payments are taken.
#[derive(Debug, Clone)]
pub struct TopUpSettings {
    /// Offered as buttons, in whole currency units.
    pub amounts: Vec<u32>,
    pub min: u32,
    pub max: u32,
    /// Telegram Payments provider token: invoices instead of payment links.
    pub provider_token: Option<String>,
}

/// One-time codes before sensitive changes.
#[derive(Debug, Clone)]
pub struct StepUpSettings {
    pub code_ttl: chrono::Duration,
    pub max_attempts: u32,
    pub lock: chrono::Duration,
    /// The least time between two codes sent to one customer.
    pub resend_after: chrono::Duration,
    /// Codes sent to one customer in any hour, at most.
    pub sends_per_hour: u32,
    /// The key codes are hashed with.
    pub key: OtpKey,
}

/// Everything a handler may use; one per bot, shared.
pub struct Ctx {
    pub store: Store,
    pub adapters: Adapters,
    pub nlu: Arc<Nlu>,
    /// The optional language-model fallback, asked only about unclear messages.
    pub llm: Option<Arc<LlmClassifier>>,
    pub i18n: Arc<I18n>,
    pub clock: SharedClock,
    pub settings: Settings,
    /// Delivers one-time codes when step-up verification is on.
    pub otp: Option<Arc<dyn crate::adapters::otp::OtpGateway>>,
    /// The staff side: priority rules, the relay's rate, SLAs.
    pub support: staff::Support,
    pub codec: CallbackCodec,
    /// The process's send budget: replies are counted in it, the outbox sends what is left.
    pub budget: Arc<crate::notify::Budget>,
}

impl Ctx {
    /// The business's local wall time.
    pub fn local_now(&self) -> NaiveDateTime {
        self.to_local(self.clock.now())
    }

    pub fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.settings.time_zone).naive_local()
    }
}

/// The whole update-handling tree: the table of contents of the bot. `observer`, when
/// given, is told after each update.
pub fn schema(observer: Option<Arc<dyn UpdateObserver>>) -> UpdateHandler<BotError> {
    let tree = dptree::entry()
        .branch(customer_messages())
        // Only the configured staff group's messages are staff actions; other groups are ignored.
        .branch(staff::schema())
        .branch(staff::group_buttons())
        .branch(button_presses())
        .branch(Update::filter_pre_checkout_query().endpoint(payments::on_pre_checkout));
    let tree = tree::measured().chain(tree);
    match observer {
        Some(observer) => tree::observed(observer).chain(tree),
        None => tree,
    }
}

/// A customer's message in their private chat with the bot.
fn customer_messages() -> UpdateHandler<BotError> {
    Update::filter_message()
        .filter(|msg: Message| msg.chat.is_private())
        .filter_map(|msg: Message| msg.from.filter(|from| !from.is_bot))
        .enter_dialogue::<Message, StoreStorage, State>()
        .chain(Turn::enter())
        .branch(Message::filter_contact().endpoint(onboarding::on_contact))
        .branch(Message::filter_successful_payment().endpoint(payments::on_successful_payment))
        // A case with staff is open: the message goes to them.
        .branch(staff::relay_from_customer())
        .branch(Message::filter_text().chain(texts()))
        .endpoint(turn!(general::unsupported_content))
}

/// A customer's text: a command, or words.
fn texts() -> UpdateHandler<BotError> {
    tree::try_inspect(general::log_incoming)
        .branch(teloxide::filter_command::<Command, _>().chain(commands()))
        // Words: the terms first («принимаю» typed accepts them too), then the contact.
        .branch(not_consented().endpoint(onboarding::on_text_before_consent))
        .branch(unbound().endpoint(onboarding::on_text_before_contact))
        .branch(dptree::filter(understanding::too_long).endpoint(turn!(understanding::say_too_long)))
        // A question the bot asked is answered, unless the customer has moved on.
        .branch(case![State::AwaitingTopUpAmount].filter(payments::answers_amount).endpoint(payments::on_amount))
        .branch(
            case![State::AwaitingCode { key, change }]
                .branch(dptree::filter(subscription::answers_code).endpoint(subscription::on_code))
                .chain(tree::try_inspect(subscription::leave_code)),
        )
        .branch(
            case![State::ChoosingTime { service, staff, moving }]
                .filter(booking::answers_time)
                .endpoint(booking::on_time),
        )
        .endpoint(understanding::understand)
}

/// The customers' commands: some for anyone, the rest after consent and identification.
fn commands() -> UpdateHandler<BotError> {
    // `/start ref_…`: a referral code waits for the identification.
    tree::try_inspect(loyalty::on_start)
        .branch(case![Command::Privacy].endpoint(turn!(general::privacy)))
        .branch(case![Command::Language].endpoint(turn!(general::language_menu)))
        .branch(case![Command::Help].endpoint(turn!(general::help)))
        .branch(case![Command::Forget].endpoint(turn!(onboarding::forget)))
        .branch(not_consented().endpoint(turn!(onboarding::ask_consent)))
        .branch(case![Command::Logout].endpoint(turn!(onboarding::logout)))
        .branch(case![Command::Operator].endpoint(turn!(onboarding::operator_command)))
        .branch(unbound().endpoint(turn!(onboarding::ask_contact_first)))
        .branch(
            dptree::filter(|c: Command| matches!(c, Command::Start(_) | Command::Menu))
                .endpoint(turn!(general::greeting)),
        )
        // A command of a capability the business lacks: «Этого в чате нет».
        .branch(
            dptree::filter(|c: Command, turn: Turn| !turn.ctx.settings.capabilities.has_all(commands::needs_of(&c)))
                .endpoint(turn!(general::absent)),
        )
        .branch(case![Command::Notifications].endpoint(turn!(notifications::settings)))
        .branch(case![Command::Balance].endpoint(turn!(account::balance)))
        .branch(case![Command::Status].endpoint(turn!(orders::active)))
        .branch(case![Command::Orders].endpoint(turn!(orders::first_page)))
}

/// A button pressed in a private chat: its data checked, then read by the feature that
/// issued it.
fn button_presses() -> UpdateHandler<BotError> {
    Update::filter_callback_query()
        .enter_dialogue::<CallbackQuery, StoreStorage, State>()
        .branch(
            dptree::filter_map(keyboards::private_message)
                .map(|q: CallbackQuery| q.from)
                .chain(Turn::enter())
                .map_async(keyboards::check)
                // Forged (audited: it counts as probing) or stale: «кнопка больше не активна».
                .branch(case![Press::Refused(why)].endpoint(keyboards::refused))
                .branch(case![Press::Unreadable(error)].endpoint(keyboards::unreadable))
                .branch(general::buttons())
                .branch(payments::buttons())
                .branch(orders::buttons())
                .branch(documents::buttons())
                .branch(shop::buttons())
                .branch(subscription::buttons())
                .branch(booking::buttons())
                .branch(loyalty::buttons())
                .branch(notifications::buttons())
                .branch(staff::buttons())
                .endpoint(keyboards::unknown),
        )
        .endpoint(keyboards::answer_only)
}

/// Not accepted the terms yet.
fn not_consented() -> UpdateHandler<BotError> {
    dptree::filter(|turn: Turn| !turn.has_consent)
}

/// Accepted the terms, not identified yet.
fn unbound() -> UpdateHandler<BotError> {
    dptree::filter(|turn: Turn| turn.binding.is_none())
}

/// Registers the command menu in Russian, English and the business's default language;
/// the commands of absent capabilities are left out.
pub async fn register_commands(
    bot: &Bot,
    i18n: &I18n,
    default_locale: Locale,
    capabilities: Capabilities,
) -> Result<(), teloxide::RequestError> {
    let commands = |locale: Locale| -> Vec<BotCommand> {
        commands::MENU
            .iter()
            .filter(|(cmd, _)| capabilities.serves_command(cmd))
            .map(|(cmd, key)| BotCommand::new(*cmd, i18n.t(locale, key, &[])))
            .collect()
    };
    for locale in Locale::ALL {
        bot.set_my_commands(commands(locale)).scope(BotCommandScope::Default).language_code(locale.as_str()).await?;
    }
    bot.set_my_commands(commands(default_locale)).await?;
    Ok(())
}

/// Sets the chat menu button to the Mini App at `url`, labelled «Личный кабинет» in `locale`:
/// the default of every chat (`chat` is `None`) or one chat's own.
pub async fn set_miniapp_menu_button(
    bot: &Bot,
    i18n: &I18n,
    locale: Locale,
    url: &url::Url,
    chat: Option<ChatId>,
) -> Result<(), teloxide::RequestError> {
    let button = teloxide::types::MenuButton::WebApp {
        text: i18n.t(locale, "miniapp-menu-button", &[]),
        web_app: teloxide::types::WebAppInfo { url: url.clone() },
    };
    let mut request = bot.set_chat_menu_button().menu_button(button);
    if let Some(chat) = chat {
        request = request.chat_id(chat);
    }
    request.await?;
    Ok(())
}

/// [`set_miniapp_menu_button`] for `turn`'s chat in `locale`: see [`miniapp_menu_for`].
pub(crate) fn miniapp_menu_for_chat(turn: &Turn, locale: Locale) {
    miniapp_menu_for(&turn.ctx, &turn.bot, turn.chat, locale);
}

/// [`set_miniapp_menu_button`] for `chat` in `locale`, when the Mini App is set up, in a
/// task of its own: the chat (or the Mini App's request) never waits for it (Telegram may be
/// slow to refuse), and a failure is logged (the chat works without it).
pub(crate) fn miniapp_menu_for(ctx: &Ctx, bot: &Bot, chat: ChatId, locale: Locale) {
    let Some(url) = ctx.settings.miniapp_url.clone() else { return };
    let (bot, i18n) = (bot.clone(), ctx.i18n.clone());
    tokio::spawn(async move {
        if let Err(error) = set_miniapp_menu_button(&bot, &i18n, locale, &url, Some(chat)).await {
            tracing::warn!(%error, "cannot set the chat's Mini App menu button (setChatMenuButton)");
        }
    });
}
