//! Probing for other customers' data: three audited refusals in an hour (foreign or unknown
//! order, document or booking ids, forged buttons) — or one foreign contact — raise an alert
//! in the staff group's General topic, once an hour per customer and kind.

use chrono::Duration;

use super::super::{HandlerResult, Turn};
use super::outbox::post_to_general;
use super::{st, staff_chat};
use crate::i18n::{Arg, escape_html};

/// Foreign or unknown ids (or forged buttons) in an hour that raise an alert.
const ALERT_THRESHOLD: i64 = 3;

/// The audited refusals that count toward the probing alert.
/// Audited refusals that count toward the probing alert, in the chat and the Mini App alike:
/// foreign or unknown order, document and booking ids, forged buttons, refused init data.
pub(crate) const PROBING: [&str; 5] =
    ["order.not_found", "document.not_found", "booking.not_found", "callback.forged", crate::miniapp::UNAUTHORIZED];

/// After an audited refusal (a foreign order number, document or booking id, a forged or
/// foreign button, a foreign contact): three in an hour — or one foreign contact — raise an
/// alert in the general topic.
pub(crate) async fn alert_if_needed(turn: &Turn, action: &str, subject: Option<&str>) -> HandlerResult {
    let ctx = &turn.ctx;
    if staff_chat(ctx).is_none() {
        return Ok(());
    }
    let now = ctx.clock.now();
    let (raise, key) = match (action, subject) {
        ("contact.rejected", Some("foreign")) => (true, "support-alert-contact"),
        (action, _) if PROBING.contains(&action) => {
            let n = ctx.store.count_audit(turn.user_id, &PROBING, now - Duration::hours(1)).await?;
            (n >= ALERT_THRESHOLD, "support-alert-ids")
        }
        _ => return Ok(()),
    };
    if !raise || !ctx.store.record_alert(turn.user_id, key, now, Duration::hours(1)).await? {
        return Ok(());
    }
    let who = match &turn.binding {
        Some(b) => format!("{} ({}, {})", escape_html(&b.first_name), b.phone.masked(), b.customer_id),
        None => escape_html(&turn.first_name),
    };
    let text = st(ctx, key, &[("who", Arg::Raw(who)), ("user", Arg::Num(turn.user_id))]);
    if let Err(e) = post_to_general(ctx, &turn.bot, text).await {
        tracing::warn!(error = %e, "could not post an alert to the staff group");
    }
    Ok(())
}
