//! A customer's private chat spoken to outside a chat turn: what the Mini App's actions say
//! in the chat (a booking's confirmation with the chat's own buttons, an order's, a top-up's
//! invoice or link). The chat's own flows speak through it too where they share a message
//! with the Mini App, so the two say the same.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{ChatId, InlineKeyboardMarkup, ParseMode};

use super::keyboards::Buttons;
use super::{Ctx, Turn};
use crate::domain::Locale;
use crate::error::BotError;
use crate::i18n::Arg;

/// Who is spoken to, in which language, and how their buttons are signed.
#[derive(Clone)]
pub struct Speaker {
    pub ctx: Arc<Ctx>,
    pub bot: Bot,
    pub chat: ChatId,
    pub user_id: i64,
    pub locale: Locale,
    /// The user's button epoch: buttons sent are theirs until their next /logout or /forget.
    epoch: i64,
    /// Whether what is sent is kept in the message log (the user accepted the terms).
    log: bool,
}

impl Speaker {
    /// The chat of a turn.
    pub(crate) fn of(turn: &Turn) -> Speaker {
        Speaker {
            ctx: turn.ctx.clone(),
            bot: turn.bot.clone(),
            chat: turn.chat,
            user_id: turn.user_id,
            locale: turn.locale,
            epoch: turn.user.epoch,
            log: turn.has_consent,
        }
    }

    /// The private chat of `user_id` (who accepted the terms), spoken to in `locale`.
    pub async fn private(ctx: Arc<Ctx>, bot: Bot, user_id: i64, locale: Locale) -> Result<Speaker, BotError> {
        let user = ctx.store.user(user_id).await?;
        let (chat, epoch) = user.map_or((user_id, 0), |u| (u.chat_id, u.epoch));
        Ok(Speaker { ctx, bot, chat: ChatId(chat), user_id, locale, epoch, log: true })
    }

    /// The message `key` in this customer's language.
    pub fn t(&self, key: &str, args: &[(&str, Arg)]) -> String {
        self.ctx.i18n.t(self.locale, key, args)
    }

    /// A builder of buttons only this user can press.
    pub(crate) fn buttons(&self) -> Buttons<'_> {
        Buttons { codec: &self.ctx.codec, epoch: self.epoch, user_id: self.user_id }
    }

    /// Sends `text` (HTML) with an inline keyboard, if any (payloads too long for Telegram
    /// kept server-side, as a turn's are).
    pub async fn say(&self, text: String, markup: Option<InlineKeyboardMarkup>) -> Result<Message, BotError> {
        let mut request = self.bot.send_message(self.chat, &text).parse_mode(ParseMode::Html);
        if let Some(markup) = markup {
            request = request.reply_markup(self.buttons().seal(&self.ctx.store, self.ctx.clock.now(), markup).await?);
        }
        let sent = request.await?;
        if self.log {
            self.ctx.store.log_message(self.chat.0, "out", &text, self.ctx.clock.now()).await?;
        }
        Ok(sent)
    }
}
