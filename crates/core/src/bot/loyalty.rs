//! F11 bonuses, a personal offer and referrals. The referral link is
//! `t.me/<bot>?start=ref_<code>`; a newcomer who opens it and is identified for the first time
//! ever credits the link's owner once (never themselves, never in a loop), through the loyalty
//! adapter, with an audit entry. Owns [`LoyaltyButton`] (read in [`buttons`]) and what
//! `/start` brings ([`on_start`]).
//!
//! ```text
//! > сколько у меня бонусов
//! < У вас 1 200 бонусных баллов.                 [Персональное предложение] [Пригласить друга]
//! > приведи друга
//! < Ваша ссылка для друзей: https://t.me/cabinet_demo_bot?start=ref_K7M2Q9XA …
//! ```

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

use super::commands::Command;
use super::keyboards::{ButtonKind, pressed, tag_and_arg};
use super::shop::ShopButton;
use super::{HandlerResult, Turn};
use crate::adapters::{CustomerId, ReferralOutcome};
use crate::domain::money::format_count;
use crate::error::BotError;
use crate::i18n::Arg;

/// The start parameter's prefix of a referral link.
const REFERRAL_PREFIX: &str = "ref_";

/// The loyalty buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LoyaltyButton {
    /// The referral link.
    Referral,
    /// The personal offer.
    Offers,
}

impl ButtonKind for LoyaltyButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        &[Capability::Loyalty]
    }

    const TAGS: &'static [&'static str] = &["rf", "of"];

    fn encode(&self) -> String {
        match self {
            LoyaltyButton::Referral => "rf".into(),
            LoyaltyButton::Offers => "of".into(),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("rf", "") => LoyaltyButton::Referral,
            ("of", "") => LoyaltyButton::Offers,
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<LoyaltyButton>().endpoint(|turn: Turn, button: LoyaltyButton| async move {
        match button {
            LoyaltyButton::Referral => referral(&turn).await,
            LoyaltyButton::Offers => offers(&turn).await,
        }
    })
}

/// The bonus balance, with the way to the offer and the referral link.
pub(super) async fn bonuses(turn: &Turn) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let billing = turn.ctx.adapters.billing.clone();
    let Some(account) = turn.call(billing.account(&id)).await? else {
        return turn.say(turn.t("balance-no-account", &[])).await.map(drop);
    };
    turn.audit("bonuses.read", None).await?;
    let markup = turn.buttons().markup(vec![vec![
        (turn.t("offers-button", &[]), LoyaltyButton::Offers),
        (turn.t("referral-button", &[]), LoyaltyButton::Referral),
    ]]);
    turn.say_with(
        turn.t(
            "bonuses",
            &[
                ("points", Arg::Num(account.bonus_points)),
                ("points_text", Arg::from(format_count(account.bonus_points, turn.locale))),
            ],
        ),
        markup,
    )
    .await?;
    Ok(())
}

/// One personal offer, with «Заказать» when it is a product.
pub(super) async fn offers(turn: &Turn) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let loyalty = turn.ctx.adapters.loyalty.clone();
    let offer = turn.call(loyalty.offer(&id)).await?;
    turn.audit("offers.read", None).await?;
    match offer {
        Some(offer) => {
            let text = turn.t("offer", &[("text", Arg::from(offer.text.get(turn.locale)))]);
            // Without a shop the offer is told, not ordered here.
            match offer.sku.filter(|_| turn.ctx.settings.capabilities.shop) {
                Some(sku) => {
                    let markup =
                        turn.buttons().markup(vec![vec![(turn.t("offer-order-button", &[]), ShopButton::Offer(sku))]]);
                    turn.say_with(text, markup).await?;
                }
                None => {
                    turn.say(text).await?;
                }
            }
        }
        None => {
            turn.say(turn.t("offers-none", &[])).await?;
        }
    }
    Ok(())
}

/// The personal referral link.
pub(super) async fn referral(turn: &Turn) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let loyalty = turn.ctx.adapters.loyalty.clone();
    let code = turn.call(loyalty.referral_code(&id)).await?;
    let link = format!("https://t.me/{}?start={REFERRAL_PREFIX}{code}", turn.bot_username);
    turn.audit("referral.link", None).await?;
    turn.say(turn.t("referral-link", &[("link", Arg::from(link))])).await?;
    Ok(())
}

/// The code of a `/start ref_<code>` parameter, when it is one: letters and digits only.
pub(super) fn referral_code(start_parameter: &str) -> Option<&str> {
    let code = start_parameter.trim().strip_prefix(REFERRAL_PREFIX)?;
    (!code.is_empty() && code.len() <= 32 && code.chars().all(|c| c.is_ascii_alphanumeric())).then_some(code)
}

/// Any command: `/start ref_<code>` keeps the code (see [`remember_referral`]).
pub(super) async fn on_start(turn: Turn, command: Command) -> HandlerResult {
    match command {
        Command::Start(parameter) => remember_referral(&turn, &parameter).await,
        _ => Ok(()),
    }
}

/// `/start ref_<code>` from someone not identified yet: the code waits for the
/// identification. From a bound customer it changes nothing.
async fn remember_referral(turn: &Turn, start_parameter: &str) -> HandlerResult {
    if turn.binding.is_some() {
        return Ok(());
    }
    if let Some(code) = referral_code(start_parameter) {
        turn.ctx.store.set_pending_referral(turn.user_id, Some(code)).await?;
    }
    Ok(())
}

/// Just identified as `customer` (onboarding calls this after every binding): the customer is
/// marked as bound, and a waiting referral code credits its owner once, on the customer's
/// first binding ever. A customer coming back — after /logout or /forget, or on another
/// Telegram account — credits nobody, and the link's owner is not told.
pub(super) async fn on_identified(turn: &Turn, customer: &CustomerId) -> HandlerResult {
    let store = &turn.ctx.store;
    let first = store.mark_customer_seen(customer, turn.ctx.clock.now()).await?;
    let Some(code) = store.pending_referral(turn.user_id).await? else { return Ok(()) };
    store.set_pending_referral(turn.user_id, None).await?;
    if !first {
        return turn.audit("referral.returning", Some(&code)).await;
    }
    let loyalty = turn.ctx.adapters.loyalty.clone();
    let outcome = match turn.call(loyalty.credit_referral(&code, customer)).await {
        Ok(outcome) => outcome,
        Err(error) => {
            // The newcomer is identified either way; the reward is not worth an error to them.
            tracing::warn!(chat = turn.chat.0, %error, "crediting a referral failed");
            return Ok(());
        }
    };
    match outcome {
        ReferralOutcome::Credited { referrer, points } => {
            turn.audit("referral.credited", Some(referrer.as_str())).await?;
            for binding in store.bindings_of(&referrer).await? {
                let locale = store
                    .user(binding.telegram_user_id)
                    .await?
                    .and_then(|u| u.locale)
                    .unwrap_or(turn.ctx.settings.default_locale);
                let text = turn.ctx.i18n.t(
                    locale,
                    "referral-credited",
                    &[("points", Arg::Num(points)), ("points_text", Arg::from(format_count(points, locale)))],
                );
                if let Err(error) = turn
                    .bot
                    .send_message(ChatId(binding.chat_id), text)
                    .parse_mode(teloxide::types::ParseMode::Html)
                    .await
                {
                    tracing::info!(%error, "could not tell a referrer about the reward");
                }
            }
        }
        ReferralOutcome::SelfReferral => turn.audit("referral.self", None).await?,
        ReferralOutcome::AlreadyReferred => turn.audit("referral.repeat", None).await?,
        ReferralOutcome::Loop { referrer } => turn.audit("referral.loop", Some(referrer.as_str())).await?,
        ReferralOutcome::UnknownCode => turn.audit("referral.unknown", Some(&code)).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_referral_parameters_are_codes() {
        assert_eq!(referral_code("ref_K7M2Q9XA"), Some("K7M2Q9XA"));
        assert_eq!(referral_code("ref_"), None);
        assert_eq!(referral_code("ref_a b"), None);
        assert_eq!(referral_code("ref_<script>"), None);
        assert_eq!(referral_code("promo_1"), None);
    }
}
