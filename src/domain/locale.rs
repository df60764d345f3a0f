//! The languages the bot speaks.

use serde::{Deserialize, Serialize};

/// A language cabinet has messages and dialogue data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Ru,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ru, Locale::En];

    /// "ru" / "en".
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ru => "ru",
            Locale::En => "en",
        }
    }

    /// Exactly "ru" or "en" (case-insensitive, region ignored: "en-GB" is En).
    pub fn parse(s: &str) -> Option<Locale> {
        todo!("{s}")
    }

    /// The locale for a Telegram `language_code`: ru and the languages of its neighbours
    /// (uk, be, kk, ky, uz, …) are Ru, en* is En, anything else or none is `default`.
    pub fn from_telegram(code: Option<&str>, default: Locale) -> Locale {
        todo!("{code:?} {default:?}")
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
