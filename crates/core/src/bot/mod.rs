//! The bot: the dptree schema, dialogue state, keyboards and the dialogue handlers.
//!
//! Every update enters [`schema`]: private messages and button presses go to the handlers,
//! everything else (group chats, channel posts, membership changes) is ignored. A handler
//! works through a [`Turn`]: who is writing, in which language, whether they accepted the
//! terms and are bound to a customer, and how to answer them.

pub mod commands;
pub mod jobs;
pub mod keyboards;
pub mod state;

mod account;
mod booking;
mod documents;
mod general;
mod loyalty;
mod onboarding;
mod orders;
mod payments;
mod reminders;
mod shop;
pub mod staff_post;
mod stepup;
mod subscription;
pub mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use dptree::{HandlerDescription, HandlerSignature, di::DependencyMap};
use teloxide::dispatching::dialogue::Dialogue;
use teloxide::dispatching::{DpHandlerDescription, HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{BotCommand, BotCommandScope, ChatId, MessageId, ParseMode, ReplyMarkup, User};
use teloxide::utils::command::BotCommands;

use crate::adapters::{AdapterError, Adapters};
use crate::clock::SharedClock;
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::{Arg, I18n};
use crate::nlu::Nlu;
use crate::nlu::llm::LlmClassifier;
use crate::store::{AuditEntry, Binding, Store, TelegramUser};

use self::commands::Command;
use self::keyboards::{Buttons, CallbackCodec};
use self::state::{State, StoreStorage};
pub use self::stepup::OtpKey;

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
    /// The business currency (ISO 4217).
    pub currency: String,
    /// The business's requisites, printed on documents.
    pub requisites: Vec<String>,
    pub top_up: TopUpSettings,
    /// Step-up verification before sensitive changes; `None` when off.
    pub step_up: Option<StepUpSettings>,
    pub booking: BookingSettings,
}

/// Appointments: when the business works and until when changes are made in the chat.
#[derive(Debug, Clone)]
pub struct BookingSettings {
    pub working_hours: crate::domain::hours::WorkingHours,
    pub holidays: Vec<chrono::NaiveDate>,
    pub horizon_days: u32,
    /// Cancelling or moving closer to the appointment than this goes to a person.
    pub cancel_cutoff: chrono::Duration,
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
    pub support: support::Support,
    pub codec: CallbackCodec,
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

/// The whole update-handling tree. `observer`, when given, is told after each update.
pub fn schema(observer: Option<Arc<dyn UpdateObserver>>) -> UpdateHandler<BotError> {
    let private_message = Update::filter_message()
        .filter(|msg: Message| msg.chat.is_private() && msg.from.as_ref().is_some_and(|u| !u.is_bot))
        .enter_dialogue::<Message, StoreStorage, State>()
        .endpoint(on_message);
    let callback = Update::filter_callback_query()
        .enter_dialogue::<CallbackQuery, StoreStorage, State>()
        .endpoint(on_callback);
    let pre_checkout = Update::filter_pre_checkout_query().endpoint(payments::on_pre_checkout);
    // Only the configured staff group's messages are staff actions; other groups are ignored.
    let staff_message = Update::filter_message()
        .filter(|msg: Message, ctx: Arc<Ctx>| ctx.settings.staff_chat_id == Some(msg.chat.id))
        .endpoint(support::on_staff_message);
    let tree = dptree::entry().branch(private_message).branch(staff_message).branch(callback).branch(pre_checkout);
    match observer {
        Some(observer) => observed(observer).chain(tree),
        None => tree,
    }
}

/// A handler that lets the rest of the tree run, then tells `observer` the update is done.
fn observed(observer: Arc<dyn UpdateObserver>) -> UpdateHandler<BotError> {
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: DependencyMap, cont| {
            let observer = observer.clone();
            async move {
                let update: Arc<Update> = deps.get();
                let result = cont(deps).await;
                observer.handled(update.id.0 as i32);
                result
            }
        },
        HandlerSignature::Other {
            obligations: BTreeMap::new(),
            guaranteed_outcomes: BTreeSet::new(),
            conditional_outcomes: BTreeSet::new(),
            continues: true,
        },
    )
}

/// Registers the command menu in Russian, English and the business's default language.
pub async fn register_commands(bot: &Bot, i18n: &I18n, default_locale: Locale) -> Result<(), teloxide::RequestError> {
    let commands = |locale: Locale| -> Vec<BotCommand> {
        commands::MENU.iter().map(|(cmd, key)| BotCommand::new(*cmd, i18n.t(locale, key, &[]))).collect()
    };
    for locale in Locale::ALL {
        bot.set_my_commands(commands(locale))
            .scope(BotCommandScope::Default)
            .language_code(locale.as_str())
            .await?;
    }
    bot.set_my_commands(commands(default_locale)).await?;
    Ok(())
}

async fn on_message(bot: Bot, msg: Message, me: teloxide::types::Me, ctx: Arc<Ctx>, dialogue: BotDialogue) -> HandlerResult {
    let Some(from) = msg.from.clone() else { return Ok(()) };
    let turn = Turn::begin(ctx, bot, &from, msg.chat.id, dialogue, me.username()).await?;
    let result = route_message(&turn, &msg, me.username()).await;
    turn.finish(result).await
}

async fn route_message(turn: &Turn, msg: &Message, bot_username: &str) -> HandlerResult {
    if let Some(contact) = msg.contact() {
        return onboarding::on_contact(turn, contact).await;
    }
    if let Some(payment) = msg.successful_payment() {
        return payments::on_successful_payment(turn, payment).await;
    }
    // A case with staff is open: the message goes to them (commands still reach the bot).
    let command = msg.text().is_some_and(|t| t.starts_with('/'));
    if turn.has_consent && !command && support::relay_from_customer(turn, msg).await? {
        if let Some(text) = msg.text() {
            turn.ctx.store.log_message(turn.chat.0, "in", text, turn.ctx.clock.now()).await?;
        }
        return Ok(());
    }
    let Some(text) = msg.text() else {
        return general::unsupported_content(turn).await;
    };
    if turn.has_consent {
        turn.ctx.store.log_message(turn.chat.0, "in", text, turn.ctx.clock.now()).await?;
    }
    if text.starts_with('/') {
        if let Ok(command) = Command::parse(text, bot_username) {
            return general::on_command(turn, command).await;
        }
    }
    general::on_text(turn, text).await
}

async fn on_callback(
    bot: Bot,
    q: CallbackQuery,
    me: teloxide::types::Me,
    ctx: Arc<Ctx>,
    dialogue: BotDialogue,
) -> HandlerResult {
    let Some(message) = q.regular_message().cloned().filter(|m| m.chat.is_private()) else {
        answer_button(&bot, &q, None).await;
        return Ok(());
    };
    let turn = Turn::begin(ctx, bot, &q.from, message.chat.id, dialogue, me.username()).await?;
    let result = general::on_button(&turn, &q, &message).await;
    turn.finish(result).await
}

/// Answers a button press (stops the button's spinner, shows `toast`), best effort: Telegram
/// refuses answers to queries older than a few seconds (after downtime or a backlog: 400
/// "query is too old"), may ask to wait (429) or be unreachable, and none of that may keep
/// the press from being acted on.
pub(crate) async fn answer_button(bot: &Bot, q: &CallbackQuery, toast: Option<String>) {
    let mut request = bot.answer_callback_query(q.id.clone());
    if let Some(text) = toast {
        request = request.text(text);
    }
    if let Err(error) = request.await {
        tracing::info!(user = q.from.id.0, %error, "a button press could not be answered; acting on it anyway");
    }
}

/// One update being handled: who, where, in which language, and how to answer.
#[derive(Clone)]
pub struct Turn {
    pub ctx: Arc<Ctx>,
    pub bot: Bot,
    pub chat: ChatId,
    pub user_id: i64,
    pub first_name: String,
    pub user: TelegramUser,
    pub locale: Locale,
    pub has_consent: bool,
    pub binding: Option<Binding>,
    pub dialogue: BotDialogue,
    /// The bot's @username (for t.me links).
    pub bot_username: String,
}

impl Turn {
    async fn begin(
        ctx: Arc<Ctx>,
        bot: Bot,
        from: &User,
        chat: ChatId,
        dialogue: BotDialogue,
        bot_username: &str,
    ) -> Result<Turn, BotError> {
        let user_id = from.id.0 as i64;
        let user = ctx.store.touch_user(user_id, chat.0).await?;
        let locale = user
            .locale
            .unwrap_or_else(|| Locale::from_telegram(from.language_code.as_deref(), ctx.settings.default_locale));
        let has_consent = ctx.store.consent(user_id).await?.is_some();
        let binding = ctx.store.binding(user_id).await?;
        Ok(Turn {
            ctx,
            bot,
            chat,
            user_id,
            first_name: from.first_name.clone(),
            user,
            locale,
            has_consent,
            binding,
            dialogue,
            bot_username: bot_username.to_owned(),
        })
    }

    /// The customer this Telegram account is bound to.
    pub fn customer_id(&self) -> Option<crate::adapters::CustomerId> {
        self.binding.as_ref().map(|b| b.customer_id.clone())
    }

    /// Ends the turn: an error the customer should know about gets a polite answer.
    async fn finish(&self, result: HandlerResult) -> HandlerResult {
        match result {
            Ok(()) => Ok(()),
            Err(BotError::Adapter(e)) => {
                tracing::warn!(chat = self.chat.0, error = %e, "an adapter failed");
                self.say(self.t("error-unavailable", &[])).await?;
                Ok(())
            }
            Err(e) => {
                tracing::error!(chat = self.chat.0, error = %e, "handling an update failed");
                // Best effort: the customer hears that something went wrong rather than silence.
                let _ = self.say(self.t("error-internal", &[])).await;
                Err(e)
            }
        }
    }

    /// The message `key` in this customer's language.
    pub fn t(&self, key: &str, args: &[(&str, Arg)]) -> String {
        self.ctx.i18n.t(self.locale, key, args)
    }

    /// A builder of buttons only this user can press, until their next /logout or /forget.
    pub fn buttons(&self) -> Buttons<'_> {
        Buttons { codec: &self.ctx.codec, epoch: self.user.epoch, user_id: self.user_id }
    }

    pub async fn say(&self, text: String) -> Result<Message, BotError> {
        self.send(text, None).await
    }

    pub async fn say_with(&self, text: String, markup: impl Into<ReplyMarkup>) -> Result<Message, BotError> {
        self.send(text, Some(markup.into())).await
    }

    async fn send(&self, text: String, markup: Option<ReplyMarkup>) -> Result<Message, BotError> {
        let mut request = self.bot.send_message(self.chat, &text).parse_mode(ParseMode::Html);
        if let Some(markup) = markup {
            request = request.reply_markup(markup);
        }
        let sent = request.await?;
        if self.has_consent {
            self.ctx.store.log_message(self.chat.0, "out", &text, self.ctx.clock.now()).await?;
        }
        Ok(sent)
    }

    /// Replaces a message's text and inline keyboard (paging).
    pub async fn edit(
        &self,
        message_id: MessageId,
        text: String,
        markup: teloxide::types::InlineKeyboardMarkup,
    ) -> Result<(), BotError> {
        match self
            .bot
            .edit_message_text(self.chat, message_id, text)
            .parse_mode(ParseMode::Html)
            .reply_markup(markup)
            .await
        {
            Ok(_) => Ok(()),
            // Pressing the same page twice is not an error worth a word.
            Err(teloxide::RequestError::Api(teloxide::ApiError::MessageNotModified)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Records who read or tried to read what.
    pub async fn audit(&self, action: &str, subject: Option<&str>) -> Result<(), BotError> {
        let entry = AuditEntry {
            at: self.ctx.clock.now(),
            telegram_user_id: Some(self.user_id),
            customer_id: self.binding.as_ref().map(|b| b.customer_id.clone()),
            action: action.to_owned(),
            subject: subject.map(str::to_owned),
            channel: "telegram".into(),
        };
        self.ctx.store.audit(&entry).await?;
        support::alert_if_needed(self, action, subject).await
    }

    pub async fn set_state(&self, state: State) -> Result<(), BotError> {
        self.dialogue.update(state).await.map_err(BotError::State)
    }

    pub async fn state(&self) -> Result<State, BotError> {
        Ok(self.dialogue.get_or_default().await.map_err(BotError::State)?)
    }

    /// Runs an adapter call with the configured timeout.
    pub async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, AdapterError>>,
    ) -> Result<T, BotError> {
        Ok(self.ctx.adapters.call(fut).await?)
    }
}
