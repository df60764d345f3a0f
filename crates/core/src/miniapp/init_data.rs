//! Telegram's Mini App init data, validated as Telegram documents it
//! (<https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app>):
//! the `hash` field is the hex HMAC-SHA256 of the other fields — sorted by name, `name=value`
//! joined by `\n` — under the key HMAC-SHA256(key = "WebAppData", message = bot token).
//!
//! Written here (some thirty lines over `hmac` and `sha2`, already in the tree) rather than
//! taken from a crate: the freshness rule reads cabinet's injected clock (tests and the demo
//! run on a fixed one), which the published validators do not take, and the one answer this
//! module must give beyond "valid" — which user the data claims to be, for the probing
//! alert — is not in their error types.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far in the future an `auth_date` may be (clocks differ a little).
pub const FUTURE_SKEW: Duration = Duration::seconds(60);

/// The longest init data accepted, in bytes (Telegram's is well under 4 KiB).
pub const MAX_LEN: usize = 8 * 1024;

/// The Telegram user the init data is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebAppUser {
    /// The Telegram user id.
    pub id: i64,
    /// Their first name.
    #[serde(default)]
    pub first_name: String,
    /// Their Telegram client's language ("ru", "en-US").
    #[serde(default)]
    pub language_code: Option<String>,
}

/// Init data whose signature and age were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitData {
    /// Who opened the Mini App.
    pub user: WebAppUser,
    /// When Telegram signed it.
    pub auth_date: DateTime<Utc>,
}

/// Why init data is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No `Authorization: tma …` header.
    Missing,
    /// Not a query string of the expected fields.
    Malformed,
    /// The hash does not match: forged or altered data, or another bot's.
    BadHash,
    /// Older than the allowed age.
    Stale,
    /// Signed later than now (beyond [`FUTURE_SKEW`]).
    FromTheFuture,
}

impl Reason {
    /// The code in the JSON error and the audit entry's subject.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::Malformed => "malformed",
            Reason::BadHash => "bad_hash",
            Reason::Stale => "stale",
            Reason::FromTheFuture => "from_the_future",
        }
    }
}

/// A refusal, with the user id the data claims when it could be read (unverified: it only
/// keys the probing count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub claimed_user: Option<i64>,
}

/// Checks `raw` (the query string `Telegram.WebApp.initData`) signed for `bot_token`, not
/// older than `max_age` at `now`.
pub fn validate(raw: &str, bot_token: &str, now: DateTime<Utc>, max_age: Duration) -> Result<InitData, Refusal> {
    let refuse = |reason, claimed_user| Refusal { reason, claimed_user };
    if raw.is_empty() || raw.len() > MAX_LEN {
        return Err(refuse(Reason::Malformed, None));
    }
    let mut fields: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    fields.sort();
    if fields.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(refuse(Reason::Malformed, None));
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let user: Option<WebAppUser> = field("user").and_then(|u| serde_json::from_str(u).ok());
    let claimed = user.as_ref().map(|u| u.id);
    let Some(hash) = field("hash").and_then(decode_hex) else {
        return Err(refuse(Reason::Malformed, claimed));
    };
    let check: Vec<String> = fields.iter().filter(|(k, _)| k != "hash").map(|(k, v)| format!("{k}={v}")).collect();
    if signature(bot_token, &check.join("\n")).verify_slice(&hash).is_err() {
        return Err(refuse(Reason::BadHash, claimed));
    }
    // Signed: what it says is Telegram's word from here on.
    let auth_date = field("auth_date")
        .and_then(|d| d.parse::<i64>().ok())
        .and_then(|d| DateTime::from_timestamp(d, 0))
        .ok_or(refuse(Reason::Malformed, claimed))?;
    let Some(user) = user else { return Err(refuse(Reason::Malformed, None)) };
    if now - auth_date > max_age {
        return Err(refuse(Reason::Stale, claimed));
    }
    if auth_date - now > FUTURE_SKEW {
        return Err(refuse(Reason::FromTheFuture, claimed));
    }
    Ok(InitData { user, auth_date })
}

/// The MAC of `data_check_string` for `bot_token`, not finalized (verify it in constant time).
fn signature(bot_token: &str, data_check_string: &str) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)]
    let mut secret = Hmac::<Sha256>::new_from_slice(b"WebAppData").expect("any key length");
    secret.update(bot_token.as_bytes());
    let key = secret.finalize().into_bytes();
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(data_check_string.as_bytes());
    mac
}

/// Signs `fields` for `bot_token` as Telegram does: the query string with its `hash`. For
/// the demo's development URL and tests; the fields are URL-encoded here.
pub fn sign(fields: &[(&str, &str)], bot_token: &str) -> String {
    let mut sorted: Vec<(&str, &str)> = fields.iter().copied().filter(|(k, _)| *k != "hash").collect();
    sorted.sort();
    let check: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let hash = signature(bot_token, &check.join("\n")).finalize().into_bytes();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &sorted {
        query.append_pair(k, v);
    }
    query.append_pair("hash", &hex);
    query.finish()
}

/// 64 hex digits (either case) as 32 bytes.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:TEST-token-for-init-data";
    /// Signed once by `tests/miniapp/sign_init_data.py` (Python's hmac and hashlib, as
    /// Telegram documents the scheme): `python3 tests/miniapp/sign_init_data.py --token
    /// 123456:TEST-token-for-init-data --auth-date 1736575200 --user-id 5001 --first-name
    /// Ерлан --language ru --query-id AAHdF6IQAAAAAN0XohDhrOrc`.
    const VECTOR: &str = "auth_date=1736575200&query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22first_name%22%3A%22%D0%95%D1%80%D0%BB%D0%B0%D0%BD%22%2C%22id%22%3A5001%2C%22language_code%22%3A%22ru%22%7D&hash=2dcd7e6f74027f3a24c6d260f4154fd3d34294c00c3373bce68096f2ad7a8bf3";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn a_vector_signed_by_the_independent_script_is_valid() {
        let data = validate(VECTOR, TOKEN, at(1_736_575_200 + 10), Duration::days(1)).unwrap();
        assert_eq!(data.user, WebAppUser { id: 5001, first_name: "Ерлан".into(), language_code: Some("ru".into()) });
        assert_eq!(data.auth_date, at(1_736_575_200));
        // Our signer agrees with the script byte for byte on the hash.
        let hash = VECTOR.rsplit_once("hash=").unwrap().1;
        let fields: Vec<(String, String)> =
            url::form_urlencoded::parse(VECTOR.as_bytes()).into_owned().filter(|(k, _)| k != "hash").collect();
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert!(sign(&pairs, TOKEN).ends_with(&format!("hash={hash}")));
    }

    #[test]
    fn altered_another_bots_stale_future_and_malformed_data_are_refused() {
        let now = at(1_736_575_200 + 10);
        let day = Duration::days(1);
        let refused = |raw: &str, token: &str, now| validate(raw, token, now, day).unwrap_err();
        let tampered = VECTOR.replace("5001", "5002");
        assert_eq!(refused(&tampered, TOKEN, now), Refusal { reason: Reason::BadHash, claimed_user: Some(5002) });
        assert_eq!(refused(VECTOR, "654321:another-bot", now).reason, Reason::BadHash);
        let late = at(1_736_575_200) + day + Duration::seconds(1);
        assert_eq!(refused(VECTOR, TOKEN, late), Refusal { reason: Reason::Stale, claimed_user: Some(5001) });
        let early = at(1_736_575_200) - Duration::seconds(61);
        assert_eq!(refused(VECTOR, TOKEN, early).reason, Reason::FromTheFuture);
        assert!(validate(VECTOR, TOKEN, at(1_736_575_200) - Duration::seconds(59), day).is_ok(), "a minute's skew");
        for raw in ["", "hash=zz", "auth_date=1&auth_date=2&hash=00", "user=%7B&hash=", &"a".repeat(MAX_LEN + 1)] {
            assert_eq!(refused(raw, TOKEN, now).reason, Reason::Malformed, "{raw}");
        }
        let no_hash = VECTOR.split("&hash=").next().unwrap();
        assert_eq!(refused(no_hash, TOKEN, now).reason, Reason::Malformed);
        // Signed but with no user: refused (nobody to answer for).
        let anonymous = sign(&[("auth_date", "1736575200")], TOKEN);
        assert_eq!(refused(&anonymous, TOKEN, now), Refusal { reason: Reason::Malformed, claimed_user: None });
    }
}
