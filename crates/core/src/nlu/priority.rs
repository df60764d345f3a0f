//! Priority words: what in a customer's message makes it a complaint and raises its case's
//! priority (critical, then high), from `dialogues/*/priority.toml` — embedded, or from a
//! configured dialogues directory. The message is read in lower case with «ё» as «е»; a phrase
//! matches consecutive words that begin with its words.

use serde::Deserialize;

use crate::store::CasePriority;

/// Words that raise a case's priority, from `dialogues/*/priority.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PriorityRules {
    #[serde(default)]
    critical: Vec<String>,
    #[serde(default)]
    high: Vec<String>,
}

impl PriorityRules {
    /// The built-in rules of every language.
    pub fn embedded() -> Result<PriorityRules, toml::de::Error> {
        let mut rules = PriorityRules::default();
        for text in [
            include_str!("../../../../dialogues/ru/priority.toml"),
            include_str!("../../../../dialogues/en/priority.toml"),
        ] {
            let more: PriorityRules = toml::from_str(text)?;
            rules.critical.extend(more.critical);
            rules.high.extend(more.high);
        }
        Ok(rules)
    }

    /// The rules in `dir/*/priority.toml` (a configured dialogues directory).
    pub fn from_dir(dir: &std::path::Path) -> Result<PriorityRules, String> {
        let mut rules = PriorityRules::default();
        for lang in ["ru", "en"] {
            let path = dir.join(lang).join("priority.toml");
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let more: PriorityRules = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            rules.critical.extend(more.critical);
            rules.high.extend(more.high);
        }
        Ok(rules)
    }

    /// The priority the words of `text` call for, if they raise it.
    pub fn priority_of(&self, text: &str) -> Option<CasePriority> {
        let normal: String = text.to_lowercase().replace('ё', "е");
        let words: Vec<&str> = normal.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
        let hit = |phrases: &[String]| {
            phrases.iter().any(|phrase| {
                let parts: Vec<&str> = phrase.split_whitespace().collect();
                !parts.is_empty()
                    && words.windows(parts.len()).any(|window| window.iter().zip(&parts).all(|(w, p)| w.starts_with(p)))
            })
        };
        if hit(&self.critical) {
            Some(CasePriority::Critical)
        } else if hit(&self.high) {
            Some(CasePriority::High)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PriorityRules {
        PriorityRules {
            critical: vec!["мошенни".into(), "верните деньги".into()], high: vec!["жалоб".into()]
        }
    }

    #[test]
    fn phrases_match_word_beginnings_in_order() {
        assert_eq!(rules().priority_of("Это МОШЕННИЧЕСТВО!"), Some(CasePriority::Critical));
        assert_eq!(rules().priority_of("верните мне деньги"), None);
        assert_eq!(rules().priority_of("Верните деньги, пожалуйста"), Some(CasePriority::Critical));
        assert_eq!(rules().priority_of("у меня жалоба"), Some(CasePriority::High));
        assert_eq!(rules().priority_of("где мой заказ"), None);
    }

    #[test]
    fn the_embedded_rules_load() {
        assert!(PriorityRules::embedded().is_ok());
    }
}
