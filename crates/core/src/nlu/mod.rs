//! Understanding free text: intents and entities (docs/intent-contract.md), driven by the data files in
//! the top-level `dialogues/` folder (embedded in the binary; a directory given in the config
//! overrides them so a business can tune wording without recompiling).
//!
//! A message is normalised and tokenised ([`text`]), each token is looked up in the compiled
//! vocabulary by surface form, stem, word beginning or a small typo ([`lexicon`], [`fuzzy`]),
//! the phrases of the data files are matched over the tokens, and every intent is scored by
//! the weights of its matched words, hints, phrases and patterns plus the entities it likes
//! ([`entities`]). The data files are described in `dialogues/README.md`.
//!
//! The priority words of `priority.toml`, which make a message a complaint for the staff side,
//! are read by [`priority::PriorityRules`].

mod data;
mod entities;
mod fuzzy;
mod lexicon;
pub mod llm;
pub mod priority;
mod text;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::Locale;
use data::{Data, Source};
pub use data::{FaqAnswer, FaqLink, FaqLocation};
use entities::{Extractor, Found, TariffRef, tag_tokens};
use lexicon::{EntityKind, Lexicon, LexiconBuilder, Target};
pub use priority::PriorityRules;

/// The intents, exactly as named in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Balance,
    Bonuses,
    TopUp,
    OrderStatus,
    OrderHistory,
    RepeatOrder,
    OrderCancel,
    Documents,
    Booking,
    BookingList,
    BookingReschedule,
    BookingCancel,
    Subscription,
    Offers,
    Referral,
    Notifications,
    Operator,
    Privacy,
    Language,
    Help,
    Greeting,
    Thanks,
    Faq,
    Unknown,
}

impl Intent {
    pub const ALL: [Intent; 24] = [
        Intent::Balance,
        Intent::Bonuses,
        Intent::TopUp,
        Intent::OrderStatus,
        Intent::OrderHistory,
        Intent::RepeatOrder,
        Intent::OrderCancel,
        Intent::Documents,
        Intent::Booking,
        Intent::BookingList,
        Intent::BookingReschedule,
        Intent::BookingCancel,
        Intent::Subscription,
        Intent::Offers,
        Intent::Referral,
        Intent::Notifications,
        Intent::Operator,
        Intent::Privacy,
        Intent::Language,
        Intent::Help,
        Intent::Greeting,
        Intent::Thanks,
        Intent::Faq,
        Intent::Unknown,
    ];

    /// The contract name ("order_status").
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Balance => "balance",
            Intent::Bonuses => "bonuses",
            Intent::TopUp => "top_up",
            Intent::OrderStatus => "order_status",
            Intent::OrderHistory => "order_history",
            Intent::RepeatOrder => "repeat_order",
            Intent::OrderCancel => "order_cancel",
            Intent::Documents => "documents",
            Intent::Booking => "booking",
            Intent::BookingList => "booking_list",
            Intent::BookingReschedule => "booking_reschedule",
            Intent::BookingCancel => "booking_cancel",
            Intent::Subscription => "subscription",
            Intent::Offers => "offers",
            Intent::Referral => "referral",
            Intent::Notifications => "notifications",
            Intent::Operator => "operator",
            Intent::Privacy => "privacy",
            Intent::Language => "language",
            Intent::Help => "help",
            Intent::Greeting => "greeting",
            Intent::Thanks => "thanks",
            Intent::Faq => "faq",
            Intent::Unknown => "unknown",
        }
    }

    /// The intent with this contract name.
    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Entities found in a message; only those present are serialised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Entities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// act, invoice, receipt, contract, statement
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_kind: Option<String>,
    /// "YYYY-MM"
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// "YYYY-MM-DD"
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// "HH:MM"
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// "HH:MM": the earliest time that suits («после 15», «в обед»).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// change, pause, resume, add_option, remove_option
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_action: Option<String>,
    /// A tariff's code in the catalogue, or "faster" (the next one up from the customer's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tariff: Option<String>,
    /// The key of the business's question-and-answer entry (`dialogues/*/faq.toml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faq: Option<String>,
}

/// The result for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: Intent,
    pub entities: Entities,
    /// 0.0 ..= 1.0
    pub confidence: f32,
    /// The next likeliest intents with their scores, best first (for "did you mean…?").
    #[serde(skip)]
    pub alternatives: Vec<(Intent, f32)>,
    /// The language the message is written in.
    #[serde(skip)]
    pub locale: Locale,
}

/// A named thing of the business's catalogue (a service or a staff member) the customer may
/// mention: its code and its names in every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub code: String,
    pub names: Vec<String>,
}

/// What of the business's catalogue the recogniser must know by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub services: Vec<Named>,
    pub staff: Vec<Named>,
    /// The tariffs, cheapest first.
    pub tariffs: Vec<Named>,
}

/// Why the data files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum NluError {
    /// A mistake in a data file (`file` relative to the data folder, e.g. "ru/intents.toml").
    #[error("{file}:{line}: {message}")]
    Data { file: String, line: usize, message: String },
    /// A data file could not be read.
    #[error("{0}")]
    Io(String),
}

/// The recogniser. Cheap to share (`Arc`), immutable after loading.
pub struct Nlu {
    lexicon: Lexicon,
    /// Per intent (by `Intent as usize`).
    models: Vec<IntentModel>,
    patterns: Option<regex::RegexSet>,
    pattern_intents: Vec<Intent>,
    commands: HashMap<String, Intent>,
    afternoon_hours: Vec<u8>,
    service_codes: Vec<String>,
    staff_codes: Vec<String>,
    tariff_codes: Vec<String>,
    faq_keys: Vec<String>,
    faq_answers: Vec<FaqAnswer>,
}

#[derive(Debug, Clone)]
struct IntentModel {
    boosts: Vec<(EntityKind, f32)>,
    negated: f32,
    background: bool,
}

impl Default for IntentModel {
    fn default() -> IntentModel {
        IntentModel { boosts: Vec::new(), negated: 1.0, background: false }
    }
}

/// The score an intent needs to be chosen.
const THRESHOLD: f32 = 0.75;
/// The weight of a matching pattern.
const PATTERN_WEIGHT: f32 = 1.6;
/// A word found only by forgiving a typo counts this much.
const TYPO_FACTOR: f32 = 0.85;
/// A two-word phrase with its words the other way round counts this much.
const REVERSED_FACTOR: f32 = 0.9;
/// How many alternatives are reported.
const MAX_ALTERNATIVES: usize = 3;

/// How sure a score makes us, before comparing with the other intents.
fn certainty(score: f32) -> f32 {
    1.0 - (-2.2 * score.max(0.0)).exp()
}

impl Nlu {
    /// From the data files compiled into the binary.
    pub fn embedded(catalog: Catalog) -> Result<Nlu, NluError> {
        Nlu::build(&data::embedded_sources(), catalog)
    }

    /// From the data files in `dir` (the same layout as the top-level `dialogues/`:
    /// `ru/intents.toml`, `ru/entities.toml`, `en/intents.toml`, `en/entities.toml`).
    pub fn from_dir(dir: &Path, catalog: Catalog) -> Result<Nlu, NluError> {
        Nlu::build(&data::dir_sources(dir)?, catalog)
    }

    fn build(sources: &[Source], catalog: Catalog) -> Result<Nlu, NluError> {
        let Data { rules, intents, afternoon_hours, faq_keys, faq_answers, aliases } = data::load(sources)?;
        let mut b = LexiconBuilder::new();
        for r in &rules {
            b.add(&r.phrase, r.target);
        }
        type Names<'a> = (&'a [Named], fn(u16) -> Target);
        let lists: [Names; 3] =
            [(&catalog.services, Target::Service), (&catalog.staff, Target::Staff), (&catalog.tariffs, Target::Tariff)];
        for (list, target) in lists {
            for (i, named) in list.iter().take(u16::MAX as usize).enumerate() {
                for name in named.names.iter().chain(std::iter::once(&named.code)) {
                    b.add_name(name, target(i as u16));
                }
                // Other names the data gives for one of its names («Аня» for «Анна»).
                for (alias_of, phrase) in &aliases {
                    if named.names.iter().any(|n| n.to_lowercase() == *alias_of) {
                        b.add(phrase, target(i as u16));
                    }
                }
            }
        }
        let mut models = vec![IntentModel::default(); Intent::ALL.len()];
        let mut pattern_list = Vec::new();
        let mut pattern_intents = Vec::new();
        let mut commands = HashMap::new();
        for extras in intents {
            let m = &mut models[extras.intent.index()];
            m.background |= extras.background;
            if let Some(n) = extras.negated {
                m.negated = n;
            }
            for (kind, w) in extras.boosts {
                match m.boosts.iter_mut().find(|(k, _)| *k == kind) {
                    Some(slot) => slot.1 = w,
                    None => m.boosts.push((kind, w)),
                }
            }
            for p in extras.patterns {
                pattern_list.push(p);
                pattern_intents.push(extras.intent);
            }
            for c in extras.commands {
                commands.insert(c, extras.intent);
            }
        }
        let patterns = if pattern_list.is_empty() {
            None
        } else {
            // Each pattern compiled on its own while loading; a set of them cannot fail
            // except by size, reported like any data error.
            Some(regex::RegexSet::new(&pattern_list).map_err(|e| NluError::Data {
                file: "patterns".to_string(),
                line: 0,
                message: e.to_string(),
            })?)
        };
        Ok(Nlu {
            lexicon: b.finish(),
            models,
            patterns,
            pattern_intents,
            commands,
            afternoon_hours,
            service_codes: catalog.services.into_iter().map(|n| n.code).collect(),
            staff_codes: catalog.staff.into_iter().map(|n| n.code).collect(),
            tariff_codes: catalog.tariffs.into_iter().map(|n| n.code).collect(),
            faq_keys,
            faq_answers,
        })
    }

    /// The business's answer to the question `key` in `locale` (else in any language it is
    /// written in).
    pub fn faq_answer(&self, key: &str, locale: Locale) -> Option<&FaqAnswer> {
        let mut of_key = self.faq_answers.iter().filter(|a| a.key == key);
        of_key.clone().find(|a| a.locale == locale).or_else(|| of_key.next())
    }

    /// The keys of the business's questions.
    pub fn faq_keys(&self) -> &[String] {
        &self.faq_keys
    }

    /// The same recogniser without the business's questions and answers (the built-in ones
    /// are the demo business's).
    pub fn without_faq(mut self) -> Nlu {
        self.faq_answers.clear();
        self
    }

    /// The largest weight any intent gives to an entity of `kind`.
    fn home_boost(&self, kind: EntityKind) -> f32 {
        self.models.iter().flat_map(|m| &m.boosts).filter(|(k, _)| *k == kind).map(|(_, w)| *w).fold(0.0, f32::max)
    }

    /// The intent of a bot command ("/balance", "/help@SomeBot"), if it is one we know.
    fn command(&self, text: &str) -> Option<Intent> {
        let rest = text.trim_start().strip_prefix('/')?;
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '@')
            .take(64)
            .flat_map(char::to_lowercase)
            .collect();
        self.commands.get(&name).copied()
    }

    /// Classifies one message. `now` is the local wall time of the business (relative dates
    /// resolve against it); `hint` is the customer's language, a hint only.
    pub fn classify(&self, text: &str, now: NaiveDateTime, hint: Option<Locale>) -> Classification {
        let norm = text::normalize(text);
        let locale = if norm.cyrillic_letters > norm.latin_letters {
            Locale::Ru
        } else if norm.latin_letters > norm.cyrillic_letters {
            Locale::En
        } else {
            hint.unwrap_or(Locale::Ru)
        };
        let n = norm.tokens.len();
        let resolved = self.lexicon.resolve(&norm);
        let matches = self.lexicon.find_matches(&resolved);
        let tags = tag_tokens(n, &self.lexicon, &matches);
        let extractor = Extractor {
            norm: &norm,
            lexicon: &self.lexicon,
            matches: &matches,
            tags: &tags,
            now,
            afternoon_hours: &self.afternoon_hours,
        };
        let found = extractor.extract();

        let mut scores = [0f32; Intent::ALL.len()];
        let mut covered = found.consumed.clone();
        // Each rule counts once, and so does each stretch of words for an intent (several
        // forms of one word listed for it are one piece of evidence): the heaviest counts.
        let mut counted_rules: Vec<u32> = Vec::with_capacity(matches.len());
        let mut counted_spans: Vec<(Intent, u16, u16, f32)> = Vec::with_capacity(matches.len());
        let mut faq_scores: Vec<(u16, f32)> = Vec::new();
        for m in &matches {
            let target = self.lexicon.rules[m.rule as usize].target;
            let (intent, weight) = match target {
                Target::Intent { intent, weight } => (intent, weight),
                Target::Faq { entry, weight } => {
                    let w = weight * if m.fuzzy { TYPO_FACTOR } else { 1.0 };
                    match faq_scores.iter_mut().find(|(e, _)| *e == entry) {
                        Some(slot) => slot.1 += w,
                        None => faq_scores.push((entry, w)),
                    }
                    (Intent::Faq, weight)
                }
                _ => (Intent::Unknown, 0.0),
            };
            if intent == Intent::Unknown {
                for c in &mut covered[m.start as usize..m.end as usize] {
                    *c = true;
                }
                continue;
            }
            if counted_rules.contains(&m.rule) {
                continue;
            }
            counted_rules.push(m.rule);
            let mut w = weight;
            if m.fuzzy {
                w *= TYPO_FACTOR;
            }
            if m.reversed {
                w *= REVERSED_FACTOR;
            }
            let s = m.start as usize;
            let negated = (s >= 1 && tags[s - 1].negator) || (s >= 2 && tags[s - 2].negator);
            if negated {
                w *= self.models[intent.index()].negated;
            }
            match counted_spans.iter_mut().find(|(i, a, b, _)| *i == intent && *a == m.start && *b == m.end) {
                Some(slot) => {
                    if w > slot.3 {
                        scores[intent.index()] += w - slot.3;
                        slot.3 = w;
                    }
                }
                None => {
                    counted_spans.push((intent, m.start, m.end, w));
                    scores[intent.index()] += w;
                }
            }
            for c in &mut covered[m.start as usize..m.end as usize] {
                *c = true;
            }
        }
        // A pattern of `unknown` (SQL) vetoes every intent.
        let mut vetoed = false;
        if let Some(set) = &self.patterns {
            for idx in set.matches(&norm.text).iter() {
                match self.pattern_intents[idx] {
                    Intent::Unknown => vetoed = true,
                    intent => scores[intent.index()] += PATTERN_WEIGHT,
                }
            }
        }
        let present = |kind: EntityKind| match kind {
            EntityKind::OrderId => found.order_id.is_some(),
            // «ноябрьский счёт»: a word that names a document only in context does when a
            // month goes with it.
            EntityKind::DocKind => {
                found.doc_kind.is_some() || (found.doc_kind_in_context.is_some() && found.period.is_some())
            }
            EntityKind::Period => found.period.is_some(),
            EntityKind::Date => found.date.is_some(),
            EntityKind::Time => found.time.is_some(),
            EntityKind::Service => found.service.is_some(),
            EntityKind::Staff => found.staff.is_some(),
            EntityKind::SubscriptionAction => found.subscription_action.is_some(),
            EntityKind::TimeFrom => found.time_from.is_some(),
            EntityKind::Tariff => found.tariff.is_some(),
        };
        // An entity supports every intent the words already speak for; alone it points only
        // to the intent that likes it most («на маникюр» is a booking, not a cancellation).
        for (i, model) in self.models.iter().enumerate() {
            let spoken_for = scores[i] > 0.0;
            for &(kind, w) in &model.boosts {
                if present(kind) && (spoken_for || w >= self.home_boost(kind)) {
                    scores[i] += w;
                }
            }
        }

        let mut ranked: Vec<(Intent, f32)> = Intent::ALL
            .iter()
            .filter(|i| **i != Intent::Unknown && scores[i.index()] > 0.0)
            .map(|i| (*i, scores[i.index()]))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let pick = |background: bool| {
            ranked.iter().find(|(i, s)| *s >= THRESHOLD && self.models[i.index()].background == background).copied()
        };
        let chosen = if vetoed { None } else { pick(false).or_else(|| pick(true)) };

        let words = norm.tokens.iter().filter(|t| t.kind == text::Kind::Word).count();
        let covered_words = norm.tokens.iter().zip(&covered).filter(|(t, c)| t.kind == text::Kind::Word && **c).count();
        let coverage = if words == 0 { 1.0 } else { covered_words as f32 / words as f32 };

        let (mut intent, mut confidence, best_score) = match chosen {
            Some((intent, s1)) => {
                // Greetings and thanks beside a request do not make it less certain.
                let background = self.models[intent.index()].background;
                let s2 = ranked
                    .iter()
                    .find(|(i, _)| *i != intent && (background || !self.models[i.index()].background))
                    .map_or(0.0, |r| r.1);
                let share = s1 / (s1 + s2);
                (intent, certainty(s1) * (0.7 + 0.3 * coverage) * (0.4 + 0.6 * share), s1)
            }
            None if vetoed => (Intent::Unknown, 1.0, 0.0),
            None => {
                let s1 = ranked.first().map_or(0.0, |r| r.1);
                (Intent::Unknown, 1.0 - certainty(s1), s1)
            }
        };
        if let Some(cmd) = self.command(text) {
            intent = cmd;
            confidence = 1.0;
        }
        let alternatives = ranked
            .iter()
            .filter(|(i, _)| *i != intent && !vetoed)
            .take(MAX_ALTERNATIVES)
            .map(|&(i, s)| {
                let share = if best_score > 0.0 { s / (s + best_score) } else { 1.0 };
                (i, (certainty(s) * (0.4 + 0.6 * share)).clamp(0.0, 1.0))
            })
            .collect();
        let faq = faq_scores.iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(e, _)| *e);
        let mut entities = self.finish_entities(&extractor, &found, intent);
        if intent == Intent::Faq {
            entities.faq = faq.and_then(|e| self.faq_keys.get(e as usize).cloned());
        }
        Classification { intent, entities, confidence: confidence.clamp(0.0, 1.0), alternatives, locale }
    }

    /// The entities to report, once the intent is known.
    fn finish_entities(&self, ex: &Extractor, f: &Found, intent: Intent) -> Entities {
        let order_id =
            f.order_id.clone().or_else(|| if intent == Intent::OrderStatus { ex.bare_order_id(f) } else { None });
        let doc_kind = f.doc_kind.or(if intent == Intent::Documents { f.doc_kind_in_context } else { None });
        Entities {
            order_id,
            doc_kind: doc_kind.map(|d| d.as_str().to_string()),
            period: f.period.map(|(y, m)| format!("{y:04}-{m:02}")),
            date: f.date.map(|d| d.format("%Y-%m-%d").to_string()),
            time: f.time.map(|(h, m)| format!("{h:02}:{m:02}")),
            service: f.service.and_then(|i| self.service_codes.get(i as usize).cloned()),
            staff: f.staff.and_then(|i| self.staff_codes.get(i as usize).cloned()),
            subscription_action: if intent == Intent::Subscription {
                f.subscription_action.map(|a| a.as_str().to_string())
            } else {
                None
            },
            time_from: f.time_from.map(|(h, m)| format!("{h:02}:{m:02}")),
            tariff: f.tariff.and_then(|t| match t {
                TariffRef::Named(i) => self.tariff_codes.get(i as usize).cloned(),
                TariffRef::Cheapest => self.tariff_codes.first().cloned(),
                TariffRef::Faster => Some("faster".to_string()),
            }),
            faq: None,
        }
    }
}

/// The output line of `cabinet classify`.
#[derive(Serialize)]
struct Line<'a> {
    intent: Intent,
    entities: &'a Entities,
    confidence: f32,
}

/// `cabinet classify`: one message per input line, one JSON object per output line, same order.
/// A line that is not valid UTF-8 is read with its bad bytes replaced (and is most likely
/// unknown) rather than stopping the run.
pub fn classify_lines(
    nlu: &Nlu,
    mut input: impl BufRead,
    mut output: impl Write,
    now: NaiveDateTime,
    hint: Option<Locale>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let text = String::from_utf8_lossy(&buf);
        let c = nlu.classify(&text, now, hint);
        let line = Line { intent: c.intent, entities: &c.entities, confidence: (c.confidence * 100.0).round() / 100.0 };
        serde_json::to_writer(&mut output, &line)?;
        output.write_all(b"\n")?;
    }
    output.flush()
}
