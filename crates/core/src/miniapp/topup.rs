//! The Mini App's top-up: the chat's own ([`crate::bot::payments::request`]) — a Telegram
//! invoice when a payment provider is configured, else the billing's payment link — sent into
//! the chat, where the payment is made and credited as any other.

use serde::Deserialize;

use super::shop::{refusal, speaker};
use super::*;
use crate::bot::payments::{AmountError, parse_amount, request};

/// The body of `POST balance/top-up`: the amount as text ("500", "1500.50") or a number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopUp {
    amount: Value,
}

/// `POST balance/top-up {amount}`: `{"via": "chat"}` once the invoice or the link is in the
/// chat; `{"via": "link", "url"}` when the link could not be sent there.
pub(super) async fn top_up(State(state): St, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    let caller = authenticate(&state, &headers).await?;
    let ctx = &state.ctx;
    if !ctx.settings.capabilities.billing {
        return Err(ApiError::absent());
    }
    let locale = caller.locale;
    let limits = &ctx.settings.top_up;
    let currency = ctx.settings.currency.as_str();
    let asked: TopUp = serde_json::from_slice(&body).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", "expected {\"amount\": \"500\"}")
    })?;
    let text = match &asked.amount {
        Value::String(s) => s.chars().take(32).collect(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let amount = match parse_amount(&text, limits.min, limits.max) {
        Ok(amount) => amount,
        Err(error) => {
            audit(&state, caller.user_id, Some(&caller), "top_up.invalid", None).await?;
            let args = [
                ("min", Arg::Raw(format_money(Decimal::from(limits.min), currency, locale))),
                ("max", Arg::Raw(format_money(Decimal::from(limits.max), currency, locale))),
            ];
            let key = match error {
                AmountError::TooSmall => "top-up-too-small",
                AmountError::TooLarge => "top-up-too-large",
                AmountError::NotANumber | AmountError::NotPositive => "miniapp-top-up-invalid",
            };
            let message = ctx.i18n.t(locale, key, &args);
            return Ok(refusal(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", message, None));
        }
    };
    let speaker = speaker(&state, &caller).await?;
    let requested = request(&speaker, caller.customer(), amount).await?;
    audit(&state, caller.user_id, Some(&caller), "top_up.request", Some(&requested.reference)).await?;
    match (requested.sent, requested.link) {
        (Ok(()), _) => Ok(Json(json!({ "via": "chat" })).into_response()),
        (Err(error), Some(url)) => {
            tracing::warn!(%error, "the top-up's link could not be sent to the chat; the Mini App opens it");
            Ok(Json(json!({ "via": "link", "url": url })).into_response())
        }
        (Err(error), None) => {
            tracing::warn!(%error, "the top-up's invoice could not be sent to the chat");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "chat_unreachable",
                "the invoice could not be sent to the chat; try again later",
            ))
        }
    }
}
