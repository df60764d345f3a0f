//! Step-up verification (F1, F9): before a sensitive change, when configured, a one-time code
//! goes to the customer's phone through the gateway and must be typed back. Codes expire;
//! wrong codes are counted, and after the allowed number the changes lock for a while. Only a
//! hash of the code is stored.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use super::keyboards::{Callback, constant_time_eq};
use super::{StepUpSettings, Turn};
use crate::error::BotError;
use crate::i18n::Arg;
use crate::store::OtpRecord;

/// Digits in a code.
pub(super) const CODE_DIGITS: usize = 6;

/// What checking a typed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Valid,
    /// Wrong; this many tries are left.
    Wrong { left: u32 },
    /// Wrong, and that was the last try: locked until then.
    LockedNow,
    /// Locked by earlier wrong codes.
    Locked { until: DateTime<Utc> },
    Expired,
    /// No code was sent (or it was used).
    NoCode,
}

fn settings(turn: &Turn) -> Option<&StepUpSettings> {
    turn.ctx.settings.step_up.as_ref()
}

/// Whether changes need a code.
pub(super) fn required(turn: &Turn) -> bool {
    settings(turn).is_some() && turn.ctx.otp.is_some()
}

/// The code's hash, bound to the user so a stored hash says nothing about another user's code.
fn hash(turn: &Turn, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"cabinet-otp").expect("HMAC takes any key length");
    mac.update(format!("{}:{code}", turn.user_id).as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// While a lock from wrong codes lasts: until when.
pub(super) async fn locked_until(turn: &Turn) -> Result<Option<DateTime<Utc>>, BotError> {
    let now = turn.ctx.clock.now();
    Ok(turn.ctx.store.otp(turn.user_id).await?.and_then(|r| r.locked_until).filter(|until| *until > now))
}

/// Sends a fresh code to the bound phone and tells the customer. `false` when it could not be
/// sent (the customer was told why).
pub(super) async fn send_code(turn: &Turn, purpose: &str) -> Result<bool, BotError> {
    let (Some(settings), Some(gateway), Some(binding)) = (settings(turn), turn.ctx.otp.clone(), turn.binding.as_ref()) else {
        return Ok(false);
    };
    if let Some(until) = locked_until(turn).await? {
        say_locked(turn, until).await?;
        return Ok(false);
    }
    let phone = binding.phone.clone();
    let code = new_code();
    let now = turn.ctx.clock.now();
    // Wrong tries keep counting across new codes for as long as a lock would last, so asking
    // for a new code does not buy more guesses.
    let attempts = match turn.ctx.store.otp(turn.user_id).await? {
        Some(previous) if now - previous.sent_at < settings.lock => previous.attempts,
        _ => 0,
    };
    let record = OtpRecord {
        code_hash: hash(turn, &code),
        purpose: purpose.to_owned(),
        sent_at: now,
        expires_at: now + settings.code_ttl,
        attempts,
        locked_until: None,
    };
    turn.ctx.store.put_otp(turn.user_id, &record).await?;
    turn.call(gateway.send(&phone, &code, turn.locale)).await?;
    turn.audit("otp.sent", Some(purpose)).await?;
    let minutes = settings.code_ttl.num_minutes().max(1);
    let args = [("phone", Arg::from(phone.masked())), ("minutes", Arg::Num(minutes))];
    let markup = turn.buttons().markup(vec![vec![
        (turn.t("otp-resend-button", &[]), Callback::ResendCode),
        (turn.t("cancel-button", &[]), Callback::CancelChange),
    ]]);
    turn.say_with(turn.t("otp-sent", &args), markup).await?;
    Ok(true)
}

/// Checks a typed code; a valid one is used up.
pub(super) async fn verify(turn: &Turn, typed: &str) -> Result<Verdict, BotError> {
    let Some(settings) = settings(turn) else { return Ok(Verdict::NoCode) };
    let store = &turn.ctx.store;
    let now = turn.ctx.clock.now();
    let Some(mut record) = store.otp(turn.user_id).await? else { return Ok(Verdict::NoCode) };
    if let Some(until) = record.locked_until.filter(|until| *until > now) {
        return Ok(Verdict::Locked { until });
    }
    if record.code_hash.is_empty() {
        return Ok(Verdict::NoCode);
    }
    if record.expires_at <= now {
        record.code_hash.clear();
        store.put_otp(turn.user_id, &record).await?;
        turn.audit("otp.expired", None).await?;
        return Ok(Verdict::Expired);
    }
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if constant_time_eq(hash(turn, &typed).as_bytes(), record.code_hash.as_bytes()) {
        store.delete_otp(turn.user_id).await?;
        turn.audit("otp.valid", None).await?;
        return Ok(Verdict::Valid);
    }
    record.attempts += 1;
    turn.audit("otp.wrong", None).await?;
    let max = i64::from(settings.max_attempts);
    if record.attempts >= max {
        record.locked_until = Some(now + settings.lock);
        record.code_hash.clear();
        store.put_otp(turn.user_id, &record).await?;
        turn.audit("otp.locked", None).await?;
        return Ok(Verdict::LockedNow);
    }
    store.put_otp(turn.user_id, &record).await?;
    Ok(Verdict::Wrong { left: u32::try_from(max - record.attempts).unwrap_or(0) })
}

/// The code is no longer wanted (the change was cancelled); the count of wrong tries stays.
pub(super) async fn discard(turn: &Turn) -> Result<(), BotError> {
    if let Some(mut record) = turn.ctx.store.otp(turn.user_id).await? {
        record.code_hash.clear();
        turn.ctx.store.put_otp(turn.user_id, &record).await?;
    }
    Ok(())
}

/// «Слишком много неверных кодов…»
pub(super) async fn say_locked(turn: &Turn, until: DateTime<Utc>) -> Result<(), BotError> {
    let minutes = (until - turn.ctx.clock.now()).num_minutes().max(1);
    turn.say(turn.t("otp-locked", &[("minutes", Arg::Num(minutes))])).await?;
    Ok(())
}

/// Looks like a typed code: digits only (spaces allowed), a few of them.
pub(super) fn looks_like_code(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    (4..=8).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// Six random digits, never "000000" (so a test can always type a wrong code).
fn new_code() -> String {
    let mut rng = rand::thread_rng();
    loop {
        let code: String = (0..CODE_DIGITS).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect();
        if code != "000000" {
            return code;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_DIGITS);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
            assert_ne!(code, "000000");
        }
    }

    #[test]
    fn only_digit_strings_look_like_codes() {
        assert!(looks_like_code("123456"));
        assert!(looks_like_code("123 456"));
        assert!(!looks_like_code("12"));
        assert!(!looks_like_code("12345a"));
        assert!(!looks_like_code("отмена"));
    }
}
