//! Step-up verification (F1, F9): before a sensitive change, when configured, a one-time code
//! goes to the customer's phone through the gateway and must be typed back. Codes expire;
//! wrong codes are counted, and after the allowed number the changes lock for a while. Only a
//! hash of the code is stored, keyed with a secret of the configuration.
//!
//! The count, the lock and the codes sent belong to the customer, not to the Telegram account:
//! /forget, binding again or another account changes none of them. Codes go at least
//! `resend_after` apart and `sends_per_hour` in an hour at most; asking sooner is told when.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use super::keyboards::constant_time_eq;
use super::subscription::SubscriptionButton;
use super::{StepUpSettings, Turn};
use crate::adapters::CustomerId;
use crate::domain::datetime::format_time;
use crate::error::BotError;
use crate::i18n::Arg;
use crate::store::OtpRecord;

/// Digits in a code.
pub(super) const CODE_DIGITS: usize = 6;

/// What the key for codes is derived with from the configured secret, so that the secret
/// (which may be the button-signing one) never hashes a code itself.
const KEY_LABEL: &[u8] = b"cabinet otp v1";

/// The key one-time codes are hashed with: HMAC-SHA256(secret, "cabinet otp v1").
#[derive(Clone)]
pub struct OtpKey([u8; 32]);

impl OtpKey {
    /// The key derived from a configured secret (see `Config::otp_secret`).
    pub fn derive(secret: &[u8]) -> OtpKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(KEY_LABEL);
        let mut key = [0u8; 32];
        key.copy_from_slice(&mac.finalize().into_bytes());
        OtpKey(key)
    }
}

impl fmt::Debug for OtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpKey(…)")
    }
}

/// What checking a typed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Valid,
    /// Wrong; this many tries are left.
    Wrong {
        left: u32,
    },
    /// Wrong, and that was the last try: locked until then.
    LockedNow,
    /// Locked by earlier wrong codes.
    Locked {
        until: DateTime<Utc>,
    },
    Expired,
    /// No code was sent (or it was used).
    NoCode,
}

/// Why a code cannot be sent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// Too soon after the last code: this many seconds more.
    Seconds(i64),
    /// As many codes as an hour allows: the next one from then.
    Until(DateTime<Utc>),
}

/// The throttle: a code goes at least `gap` after the last one, and at most `per_hour` go in
/// any hour. `sends` are the earlier sends (any order); `None` lets the code go now.
pub(super) fn wait_before_send(
    sends: &[DateTime<Utc>],
    now: DateTime<Utc>,
    gap: Duration,
    per_hour: u32,
) -> Option<Wait> {
    let hour = Duration::hours(1);
    let mut recent: Vec<DateTime<Utc>> = sends.iter().copied().filter(|at| *at > now - hour && *at <= now).collect();
    recent.sort();
    let per_hour = usize::try_from(per_hour.max(1)).unwrap_or(usize::MAX);
    // The hour is full until its oldest sends fall out of it, enough to leave room for one.
    let hourly = recent.len().checked_sub(per_hour).map(|i| recent[i] + hour);
    let gapped = recent.last().map(|last| *last + gap).filter(|at| *at > now);
    let seconds = |at: DateTime<Utc>| ((at - now).num_milliseconds() + 999).div_euclid(1000).max(1);
    match (hourly, gapped) {
        (Some(full), Some(soon)) if soon > full => Some(Wait::Seconds(seconds(soon))),
        (Some(full), _) => Some(Wait::Until(full)),
        (None, Some(soon)) => Some(Wait::Seconds(seconds(soon))),
        (None, None) => None,
    }
}

/// A local time rounded up to the minute (a wait shown as 10:53 is over by then).
fn minute_up(at: NaiveDateTime) -> NaiveDateTime {
    let floor = at.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(at);
    if floor < at { floor + Duration::minutes(1) } else { floor }
}

fn settings(turn: &Turn) -> Option<&StepUpSettings> {
    turn.ctx.settings.step_up.as_ref()
}

/// Whether changes need a code.
pub(super) fn required(turn: &Turn) -> bool {
    settings(turn).is_some() && turn.ctx.otp.is_some()
}

/// The code's hash, bound to the customer so a stored hash says nothing about another
/// customer's code.
fn hash(key: &OtpKey, customer: &CustomerId, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(format!("{customer}:{code}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// While a lock from wrong codes lasts: until when.
pub(super) async fn locked_until(turn: &Turn) -> Result<Option<DateTime<Utc>>, BotError> {
    let Some(customer) = turn.customer_id() else { return Ok(None) };
    let now = turn.ctx.clock.now();
    Ok(turn.ctx.store.otp(&customer).await?.and_then(|r| r.locked_until).filter(|until| *until > now))
}

/// Sends a fresh code to the bound phone and tells the customer. `false` when it could not be
/// sent (the customer was told why: a lock, or a code asked for too soon).
pub(super) async fn send_code(turn: &Turn, purpose: &str) -> Result<bool, BotError> {
    let (Some(settings), Some(gateway), Some(binding)) = (settings(turn), turn.ctx.otp.clone(), turn.binding.as_ref())
    else {
        return Ok(false);
    };
    if let Some(until) = locked_until(turn).await? {
        say_locked(turn, until).await?;
        return Ok(false);
    }
    let customer = &binding.customer_id;
    let store = &turn.ctx.store;
    let now = turn.ctx.clock.now();
    let claim = store
        .claim_otp_send(customer, now, now - Duration::hours(1), |sends| {
            wait_before_send(sends, now, settings.resend_after, settings.sends_per_hour)
        })
        .await?;
    if let Err(wait) = claim {
        turn.audit("otp.throttled", Some(purpose)).await?;
        say_wait(turn, wait).await?;
        return Ok(false);
    }
    let phone = binding.phone.clone();
    let code = new_code();
    // Wrong tries keep counting across new codes for as long as a lock would last, so asking
    // for a new code does not buy more guesses.
    let attempts = match store.otp(customer).await? {
        Some(previous) if now - previous.sent_at < settings.lock => previous.attempts,
        _ => 0,
    };
    let record = OtpRecord {
        code_hash: hash(&settings.key, customer, &code),
        purpose: purpose.to_owned(),
        sent_at: now,
        expires_at: now + settings.code_ttl,
        attempts,
        locked_until: None,
    };
    store.put_otp(customer, &record).await?;
    turn.call(gateway.send(&phone, &code, turn.locale)).await?;
    turn.audit("otp.sent", Some(purpose)).await?;
    let minutes = settings.code_ttl.num_minutes().max(1);
    let args = [("phone", Arg::from(phone.masked())), ("minutes", Arg::Num(minutes))];
    let markup = turn.buttons().markup(vec![vec![
        (turn.t("otp-resend-button", &[]), SubscriptionButton::ResendCode),
        (turn.t("cancel-button", &[]), SubscriptionButton::Cancel),
    ]]);
    turn.say_with(turn.t("otp-sent", &args), markup).await?;
    Ok(true)
}

/// «Новый код можно запросить через 45 с» / «… в 11:00».
async fn say_wait(turn: &Turn, wait: Wait) -> Result<(), BotError> {
    let text = match wait {
        Wait::Seconds(seconds) => turn.t("otp-wait-seconds", &[("seconds", Arg::Num(seconds))]),
        Wait::Until(at) => {
            let time = format_time(minute_up(turn.ctx.to_local(at)));
            turn.t("otp-wait-until", &[("time", Arg::from(time))])
        }
    };
    turn.say(text).await?;
    Ok(())
}

/// Checks a typed code; a valid one is used up.
pub(super) async fn verify(turn: &Turn, typed: &str) -> Result<Verdict, BotError> {
    let (Some(settings), Some(customer)) = (settings(turn), turn.customer_id()) else { return Ok(Verdict::NoCode) };
    let store = &turn.ctx.store;
    let now = turn.ctx.clock.now();
    let Some(record) = store.otp(&customer).await? else { return Ok(Verdict::NoCode) };
    if let Some(until) = record.locked_until.filter(|until| *until > now) {
        return Ok(Verdict::Locked { until });
    }
    if record.code_hash.is_empty() {
        return Ok(Verdict::NoCode);
    }
    if record.expires_at <= now {
        store.clear_otp_code(&customer).await?;
        turn.audit("otp.expired", None).await?;
        return Ok(Verdict::Expired);
    }
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if constant_time_eq(hash(&settings.key, &customer, &typed).as_bytes(), record.code_hash.as_bytes()) {
        store.delete_otp(&customer).await?;
        turn.audit("otp.valid", None).await?;
        return Ok(Verdict::Valid);
    }
    let max = i64::from(settings.max_attempts);
    let Some(record) = store.count_wrong_otp(&customer, max, now + settings.lock).await? else {
        return Ok(Verdict::NoCode);
    };
    turn.audit("otp.wrong", None).await?;
    if record.attempts >= max {
        turn.audit("otp.locked", None).await?;
        return Ok(Verdict::LockedNow);
    }
    Ok(Verdict::Wrong { left: u32::try_from(max - record.attempts).unwrap_or(0) })
}

/// The code is no longer wanted (the change was cancelled); the count of wrong tries stays.
pub(super) async fn discard(turn: &Turn) -> Result<(), BotError> {
    if let Some(customer) = turn.customer_id() {
        turn.ctx.store.clear_otp_code(&customer).await?;
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

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    #[test]
    fn a_code_goes_a_minute_after_the_last_one_at_the_earliest() {
        let gap = Duration::seconds(60);
        let now = at("2025-01-11T05:00:15Z");
        assert_eq!(wait_before_send(&[], now, gap, 5), None);
        let sent = [at("2025-01-11T05:00:00Z")];
        assert_eq!(wait_before_send(&sent, now, gap, 5), Some(Wait::Seconds(45)));
        assert_eq!(wait_before_send(&sent, at("2025-01-11T05:00:59.500Z"), gap, 5), Some(Wait::Seconds(1)));
        assert_eq!(wait_before_send(&sent, at("2025-01-11T05:00:00.500Z"), gap, 5), Some(Wait::Seconds(60)));
        assert_eq!(wait_before_send(&sent, at("2025-01-11T05:01:00Z"), gap, 5), None);
        // No gap configured: only the hourly number counts.
        assert_eq!(wait_before_send(&sent, now, Duration::zero(), 5), None);
    }

    #[test]
    fn a_full_hour_waits_until_its_oldest_send_is_an_hour_old() {
        let gap = Duration::seconds(60);
        let sends: Vec<_> = (0..5).map(|m| at("2025-01-11T05:00:00Z") + Duration::minutes(m * 2)).collect();
        let now = at("2025-01-11T05:10:00Z");
        assert_eq!(wait_before_send(&sends, now, gap, 5), Some(Wait::Until(at("2025-01-11T06:00:00Z"))));
        assert_eq!(wait_before_send(&sends, now, gap, 6), None);
        // In any order; three allowed: the third newest decides.
        let mut shuffled = sends.clone();
        shuffled.reverse();
        assert_eq!(wait_before_send(&shuffled, now, gap, 3), Some(Wait::Until(at("2025-01-11T06:04:00Z"))));
        // The oldest is an hour old: room for one again.
        assert_eq!(wait_before_send(&sends, at("2025-01-11T06:00:00Z"), gap, 5), None);
        // Sends over an hour old do not count.
        let old = [at("2025-01-11T03:00:00Z"), at("2025-01-11T03:30:00Z")];
        assert_eq!(wait_before_send(&old, now, gap, 1), None);
    }

    #[test]
    fn the_later_of_the_gap_and_the_hourly_number_is_the_answer() {
        let sends = [at("2025-01-11T05:00:00Z"), at("2025-01-11T05:59:00Z")];
        // Two an hour: free from 06:00, but the gap of 30 minutes after 05:59 ends later.
        let now = at("2025-01-11T05:59:30Z");
        assert_eq!(wait_before_send(&sends, now, Duration::minutes(30), 2), Some(Wait::Seconds(1770)));
        assert_eq!(
            wait_before_send(&sends, now, Duration::seconds(60), 2),
            Some(Wait::Until(at("2025-01-11T06:00:00Z")))
        );
    }

    #[test]
    fn a_wait_is_shown_rounded_up_to_the_minute() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        assert_eq!(minute_up(t("2025-01-11 10:52:00.0")), t("2025-01-11 10:52:00.0"));
        assert_eq!(minute_up(t("2025-01-11 10:52:00.001")), t("2025-01-11 10:53:00.0"));
        assert_eq!(minute_up(t("2025-01-11 23:59:30.0")), t("2025-01-12 00:00:00.0"));
    }

    #[test]
    fn the_code_key_is_derived_and_codes_hash_per_customer() {
        let key = OtpKey::derive(b"a configured secret, long enough");
        assert_ne!(&key.0[..], &b"a configured secret, long enough"[..32]);
        assert_ne!(key.0, OtpKey::derive(b"another configured secret").0);
        assert_eq!(key.0, OtpKey::derive(b"a configured secret, long enough").0);
        let (c1, c2) = (CustomerId("C1".into()), CustomerId("C2".into()));
        assert_eq!(hash(&key, &c1, "123456"), hash(&key, &c1, "123456"));
        assert_ne!(hash(&key, &c1, "123456"), hash(&key, &c2, "123456"));
        assert_ne!(hash(&key, &c1, "123456"), hash(&OtpKey::derive(b"another configured secret"), &c1, "123456"));
        assert_eq!(hash(&key, &c1, "123456").len(), 64);
        assert_eq!(format!("{key:?}"), "OtpKey(…)");
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
