//! The [`Turn`]: one customer update being handled — who is writing, in which language,
//! whether they accepted the terms and are bound to a customer, and how to answer them — and
//! [`Turn::enter`], the middleware that builds it for the branches of the schema and ends it
//! when they are done.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::panic::Location;
use std::sync::{Arc, Mutex};

use dptree::di::DependencyMap;
use dptree::{HandlerDescription, HandlerSignature, Type};
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{ChatId, Me, MessageId, ParseMode, ReplyMarkup, User};

use super::keyboards::Buttons;
use super::state::State;
use super::{BotDialogue, Ctx, HandlerResult, staff};
use crate::adapters::AdapterError;
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::store::{AuditEntry, Binding, KnownUser, TelegramUser, TurnWrite};

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
    /// The dialogue state, read once when the update entered (by teloxide's dialogue
    /// middleware) and kept up to date by [`Turn::set_state`]: one read per turn.
    pub(super) state: Arc<Mutex<State>>,
    /// The turn's records not written yet (the incoming message, the request, audit
    /// entries): written together, in one transaction, before the next reply goes out, before
    /// anything reads them, and at the latest when the turn ends ([`Turn::flush`]).
    pub(super) pending: Arc<Mutex<Vec<TurnWrite>>>,
}

impl Turn {
    /// The middleware every customer update enters (after its sender, as a [`User`], and its
    /// chat's [`Message`] — for a button, the message the button is on): it builds the turn,
    /// puts it among the dependencies of the branches below, and, when one of them has
    /// handled the update, ends the turn ([`Turn::finish`]). An update none of them handles
    /// goes on to the schema's next branch.
    #[track_caller]
    pub(super) fn enter() -> UpdateHandler<BotError> {
        let here = Location::caller();
        let needs = [
            Type::of::<Arc<Ctx>>(),
            Type::of::<Bot>(),
            Type::of::<Me>(),
            Type::of::<BotDialogue>(),
            Type::of::<User>(),
            Type::of::<Message>(),
            Type::of::<State>(),
        ];
        dptree::from_fn_with_description(
            DpHandlerDescription::entry(),
            |deps: DependencyMap, cont| async move {
                let (ctx, bot, me) = (deps.get::<Arc<Ctx>>(), deps.get::<Bot>(), deps.get::<Me>());
                let (dialogue, from, msg) = (deps.get::<BotDialogue>(), deps.get::<User>(), deps.get::<Message>());
                let state = (*deps.get::<State>()).clone();
                let begun = Turn::begin(
                    (*ctx).clone(),
                    (*bot).clone(),
                    &from,
                    msg.chat.id,
                    (*dialogue).clone(),
                    state,
                    me.username(),
                )
                .await;
                let turn = match begun {
                    Ok(turn) => turn,
                    Err(e) => return ControlFlow::Break(Err(e)),
                };
                let mut inner = deps.clone();
                inner.insert(turn.clone());
                match cont(inner).await {
                    ControlFlow::Break(result) => ControlFlow::Break(turn.finish(result).await),
                    ControlFlow::Continue(_) => ControlFlow::Continue(deps),
                }
            },
            HandlerSignature::Other {
                obligations: needs.into_iter().map(|ty| (ty, here)).collect(),
                guaranteed_outcomes: BTreeSet::from([Type::of::<Turn>()]),
                conditional_outcomes: BTreeSet::new(),
                continues: true,
            },
        )
    }

    async fn begin(
        ctx: Arc<Ctx>,
        bot: Bot,
        from: &User,
        chat: ChatId,
        dialogue: BotDialogue,
        state: State,
        bot_username: &str,
    ) -> Result<Turn, BotError> {
        let user_id = from.id.0 as i64;
        // A reply is (about to be) sent: it counts against the rate first, the outbox sends
        // what is left.
        ctx.budget.reply(ctx.clock.now());
        let telegram_locale = from.language_code.as_deref();
        // Written to a moment ago, from the same chat in the same language: nothing to
        // upsert, nothing to read again (the store forgets a user whose records change).
        let known = match ctx.store.known_user(user_id, chat.0, telegram_locale) {
            Some(known) => known,
            None => {
                let generation = ctx.store.known_generation();
                // One read; the writes only when something changed.
                let snapshot = ctx.store.user_snapshot(user_id).await?;
                let (user, has_consent, binding) = match snapshot {
                    Some(s) if s.is_current(chat.0, telegram_locale) => (s.user, s.has_consent, s.binding),
                    snapshot => {
                        let user = ctx.store.touch_user(user_id, chat.0).await?;
                        // Writing to the bot: reachable again, in the language Telegram says.
                        crate::notify::seen(&ctx.store, user_id, telegram_locale, ctx.clock.now()).await?;
                        match snapshot {
                            Some(s) => (user, s.has_consent, s.binding),
                            // No row of theirs yet: their consent and binding are read
                            // apart (a binding made outside the chat has no row).
                            None => {
                                let has_consent = ctx.store.consent(user_id).await?.is_some();
                                (user, has_consent, ctx.store.binding(user_id).await?)
                            }
                        }
                    }
                };
                let known =
                    KnownUser { user, telegram_locale: telegram_locale.map(str::to_owned), has_consent, binding };
                ctx.store.remember_user(generation, known.clone());
                known
            }
        };
        let KnownUser { user, has_consent, binding, .. } = known;
        let locale = user.locale.unwrap_or_else(|| Locale::from_telegram(telegram_locale, ctx.settings.default_locale));
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
            state: Arc::new(Mutex::new(state)),
            pending: Arc::default(),
        })
    }

    /// The customer this Telegram account is bound to.
    pub fn customer_id(&self) -> Option<crate::adapters::CustomerId> {
        self.binding.as_ref().map(|b| b.customer_id.clone())
    }

    /// Ends the turn: an error the customer should know about gets a polite answer.
    async fn finish(&self, result: HandlerResult) -> HandlerResult {
        // What the handler left to write is written whatever the outcome, as it was written
        // as it went before.
        if let Err(e) = self.flush().await {
            tracing::error!(chat = self.chat.0, error = %e, "writing the turn's records failed");
            if result.is_ok() {
                let _ = self.say(self.t("error-internal", &[])).await;
                return Err(e);
            }
        }
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

    /// The keyboard as it may be sent: payloads too long for Telegram kept server-side.
    async fn seal(
        &self,
        markup: teloxide::types::InlineKeyboardMarkup,
    ) -> Result<teloxide::types::InlineKeyboardMarkup, BotError> {
        self.buttons().seal(&self.ctx.store, self.ctx.clock.now(), markup).await
    }

    pub async fn say(&self, text: String) -> Result<Message, BotError> {
        self.send(text, None).await
    }

    pub async fn say_with(&self, text: String, markup: impl Into<ReplyMarkup>) -> Result<Message, BotError> {
        self.send(text, Some(markup.into())).await
    }

    async fn send(&self, text: String, markup: Option<ReplyMarkup>) -> Result<Message, BotError> {
        self.flush().await?;
        let mut request = self.bot.send_message(self.chat, &text).parse_mode(ParseMode::Html);
        if let Some(markup) = markup {
            let markup = match markup {
                ReplyMarkup::InlineKeyboard(keyboard) => ReplyMarkup::InlineKeyboard(self.seal(keyboard).await?),
                other => other,
            };
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
        self.flush().await?;
        let markup = self.seal(markup).await?;
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
        self.defer(TurnWrite::Audit(entry));
        // Written before the reply it is about can go out, and before the alerts count it.
        self.flush().await?;
        staff::alert_if_needed(self, action, subject).await
    }

    /// Keeps `write` to be written with the turn's other records ([`Turn::flush`]).
    fn defer(&self, write: TurnWrite) {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(write);
    }

    /// The incoming text, kept in the chat history once the terms are accepted (written with
    /// the turn's next records).
    pub fn log_incoming(&self, text: &str) {
        if self.has_consent {
            let at = self.ctx.clock.now();
            self.defer(TurnWrite::Message { chat_id: self.chat.0, direction: "in", text: text.to_owned(), at });
        }
    }

    /// Records the request the bot handled (written with the turn's next records).
    pub fn log_request(&self, intent: &str, escalated: bool) {
        let at = self.ctx.clock.now();
        self.defer(TurnWrite::Request { at, telegram_user_id: self.user_id, intent: intent.to_owned(), escalated });
    }

    /// This chat as a [`super::speaker::Speaker`] (which logs what it sends itself): the
    /// turn's records are written first, so the history keeps its order.
    pub(crate) async fn speaker(&self) -> Result<super::speaker::Speaker, BotError> {
        self.flush().await?;
        Ok(super::speaker::Speaker::of(self))
    }

    /// Writes the turn's records kept so far, in the order they were made, in one
    /// transaction.
    pub async fn flush(&self) -> Result<(), BotError> {
        let writes = std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if writes.is_empty() {
            return Ok(());
        }
        Ok(self.ctx.store.write_all(&writes).await?)
    }

    pub async fn set_state(&self, state: State) -> Result<(), BotError> {
        self.dialogue.update(state.clone()).await.map_err(BotError::State)?;
        *self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = state;
        Ok(())
    }

    /// Forgets the dialogue state (back to the start).
    pub async fn exit_dialogue(&self) -> Result<(), BotError> {
        self.dialogue.exit().await.map_err(BotError::State)?;
        *self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = State::default();
        Ok(())
    }

    /// The dialogue state as the turn left it (read from the store once, when it began).
    pub async fn state(&self) -> Result<State, BotError> {
        Ok(self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// Awaits an adapter call, its error as a [`BotError`]. The timeout, retries and breaker
    /// are the adapters' own (`adapters::guard`): nothing here to remember.
    pub async fn call<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, AdapterError>>,
    ) -> Result<T, BotError> {
        Ok(fut.await?)
    }
}
