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
        match primary_subtag(s)?.as_str() {
            "ru" => Some(Locale::Ru),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The locale for a Telegram `language_code`: ru and the languages of its neighbours
    /// (uk, be, kk, ky, uz, …) are Ru, en* is En, anything else or none is `default`.
    pub fn from_telegram(code: Option<&str>, default: Locale) -> Locale {
        let Some(lang) = code.and_then(primary_subtag) else {
            return default;
        };
        match lang.as_str() {
            "en" => Locale::En,
            l if RUSSIAN_SPEAKING.contains(&l) => Locale::Ru,
            _ => default,
        }
    }
}

/// Languages whose speakers are served in Russian: Russian itself and the languages of
/// the countries around it where Russian is widely read.
const RUSSIAN_SPEAKING: [&str; 9] = ["ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az"];

/// The language part of a tag ("en-GB", "EN_us" → "en"), lowercased; `None` when empty
/// or not made of ASCII letters.
fn primary_subtag(tag: &str) -> Option<String> {
    let lang = tag.trim().split(['-', '_']).next()?;
    if lang.is_empty() || lang.len() > 8 || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(lang.to_ascii_lowercase())
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_codes_parse() {
        assert_eq!(Locale::parse("ru"), Some(Locale::Ru));
        assert_eq!(Locale::parse("en"), Some(Locale::En));
    }

    #[test]
    fn codes_parse_in_any_case() {
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("Ru"), Some(Locale::Ru));
    }

    #[test]
    fn a_region_is_ignored() {
        assert_eq!(Locale::parse("en-GB"), Some(Locale::En));
        assert_eq!(Locale::parse("ru_KZ"), Some(Locale::Ru));
    }

    #[test]
    fn other_languages_and_garbage_do_not_parse() {
        for s in ["", "de", "eng", "russian", "-en", "e n", "ру", "en!"] {
            assert_eq!(Locale::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn as_str_round_trips_through_parse() {
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.as_str()), Some(l));
            assert_eq!(l.to_string(), l.as_str());
        }
    }

    #[test]
    fn russian_and_its_neighbours_on_telegram_are_russian() {
        for code in ["ru", "uk", "be", "kk", "ky", "uz", "tg", "hy", "az", "KK", "ru-RU"] {
            assert_eq!(Locale::from_telegram(Some(code), Locale::En), Locale::Ru, "{code}");
        }
    }

    #[test]
    fn any_english_on_telegram_is_english() {
        for code in ["en", "en-US", "en-gb", "EN"] {
            assert_eq!(Locale::from_telegram(Some(code), Locale::Ru), Locale::En, "{code}");
        }
    }

    #[test]
    fn other_or_missing_telegram_languages_get_the_default() {
        for default in Locale::ALL {
            assert_eq!(Locale::from_telegram(None, default), default);
            assert_eq!(Locale::from_telegram(Some("de"), default), default);
            assert_eq!(Locale::from_telegram(Some(""), default), default);
            assert_eq!(Locale::from_telegram(Some("zh-hans"), default), default);
        }
    }

    #[test]
    fn locales_serialise_as_their_codes() {
        assert_eq!(serde_json::to_string(&Locale::Ru).unwrap(), "\"ru\"");
        assert_eq!(serde_json::from_str::<Locale>("\"en\"").unwrap(), Locale::En);
    }
}
