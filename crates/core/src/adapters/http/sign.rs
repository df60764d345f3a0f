//! Request signing: HMAC-SHA256 with the shared secret over
//! `"{timestamp}.{METHOD}.{path_and_query}.{body}"`, sent as `X-Cabinet-Timestamp` (unix
//! seconds) and `X-Cabinet-Signature: v1=<hex>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header with the unix time the request was signed at.
pub const TIMESTAMP_HEADER: &str = "x-cabinet-timestamp";
/// The header with the signature (`v1=` and the lower-case hex HMAC).
pub const SIGNATURE_HEADER: &str = "x-cabinet-signature";
/// How far a request's timestamp may be from the receiver's clock, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> HmacSha256 {
    #[allow(clippy::expect_used)]
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.{}.{path_and_query}.", method.to_ascii_uppercase()).as_bytes());
    mac.update(body);
    mac
}

/// The `X-Cabinet-Signature` value of a request: `v1=` and the hex HMAC-SHA256 of
/// `"{timestamp}.{METHOD}.{path_and_query}.{body}"` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, method, path_and_query, body).finalize().into_bytes();
    let mut out = String::with_capacity(3 + digest.len() * 2);
    out.push_str("v1=");
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Why a signed request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no or malformed signature headers")]
    Missing,
    #[error("the timestamp is too far from now")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// Checks a request's headers against `secret` at unix time `now` (constant-time compare).
pub fn verify(
    secret: &[u8],
    now: i64,
    timestamp: Option<&str>,
    signature_header: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Result<(), VerifyError> {
    let timestamp: i64 = timestamp.and_then(|t| t.trim().parse().ok()).ok_or(VerifyError::Missing)?;
    let hex = signature_header.and_then(|s| s.trim().strip_prefix("v1=")).ok_or(VerifyError::Missing)?;
    let given = decode_hex(hex).ok_or(VerifyError::Missing)?;
    if (now - timestamp).abs() > MAX_SKEW_SECS {
        return Err(VerifyError::Stale);
    }
    mac(secret, timestamp, method, path_and_query, body).verify_slice(&given).map_err(|_| VerifyError::Mismatch)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of `docs/backend-api.yaml` (`tests/it/http_backend.rs` checks that
    /// the contract shows this signature).
    #[test]
    fn the_documented_example_signs_as_documented() {
        let sig = signature(
            b"demo-secret",
            1_736_575_200,
            "POST",
            "/customers/C1/notes",
            br#"{"text":"Asked for a call back"}"#,
        );
        assert_eq!(sig, EXAMPLE_SIGNATURE);
        let ok = verify(
            b"demo-secret",
            1_736_575_200 + 299,
            Some("1736575200"),
            Some(&sig),
            "POST",
            "/customers/C1/notes",
            br#"{"text":"Asked for a call back"}"#,
        );
        assert_eq!(ok, Ok(()));
    }

    const EXAMPLE_SIGNATURE: &str = "v1=8b901482abb1ae8c7d16ef8a99075250381881739e15db2a849e7a3779db5bf1";

    #[test]
    fn a_changed_body_a_stale_time_or_a_missing_header_is_refused() {
        let sig = signature(b"k", 100, "GET", "/business", b"");
        assert_eq!(verify(b"k", 100, Some("100"), Some(&sig), "GET", "/business", b"x"), Err(VerifyError::Mismatch));
        assert_eq!(verify(b"k", 401, Some("100"), Some(&sig), "GET", "/business", b""), Err(VerifyError::Stale));
        assert_eq!(verify(b"k", 100, None, Some(&sig), "GET", "/business", b""), Err(VerifyError::Missing));
        assert_eq!(verify(b"k2", 100, Some("100"), Some(&sig), "GET", "/business", b""), Err(VerifyError::Mismatch));
    }
}
