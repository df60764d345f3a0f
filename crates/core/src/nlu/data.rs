//! The `dialogues/` data files: their layout, their TOML schema and their validation, with
//! every error reported at the file and line it comes from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::lexicon::{Daypart, DocKind, EntityKind, SubAction, Target};
use super::text::{Kind, normalize};
use super::{Intent, NluError};
use crate::domain::Locale;

/// One data file: its name relative to the data folder ("ru/intents.toml") and its text.
pub(crate) struct Source {
    pub name: String,
    pub text: String,
}

/// The data files, in the order they are loaded.
pub(crate) const FILES: [&str; 2] = ["intents.toml", "entities.toml"];
/// The business's questions and answers: optional in a folder of data files.
pub(crate) const FAQ_FILE: &str = "faq.toml";

/// The data files compiled into the binary (their FAQ is the demo business's).
pub(crate) fn embedded_sources() -> Vec<Source> {
    let files: [(&str, &str); 6] = [
        ("ru/intents.toml", include_str!("../../../../dialogues/ru/intents.toml")),
        ("ru/entities.toml", include_str!("../../../../dialogues/ru/entities.toml")),
        ("en/intents.toml", include_str!("../../../../dialogues/en/intents.toml")),
        ("en/entities.toml", include_str!("../../../../dialogues/en/entities.toml")),
        ("ru/faq.toml", include_str!("../../../../dialogues/ru/faq.toml")),
        ("en/faq.toml", include_str!("../../../../dialogues/en/faq.toml")),
    ];
    files.iter().map(|(n, t)| Source { name: (*n).to_string(), text: (*t).to_string() }).collect()
}

/// The data files of a folder with the layout of `dialogues/` (`<locale>/<file>.toml`).
pub(crate) fn dir_sources(dir: &Path) -> Result<Vec<Source>, NluError> {
    let mut out = Vec::new();
    for locale in Locale::ALL {
        for file in FILES {
            let name = format!("{}/{file}", locale.as_str());
            let path = dir.join(locale.as_str()).join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| NluError::Io(format!("{}: {e}", path.display())))?;
            out.push(Source { name, text });
        }
        let path = dir.join(locale.as_str()).join(FAQ_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => out.push(Source { name: format!("{}/{FAQ_FILE}", locale.as_str()), text }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(NluError::Io(format!("{}: {e}", path.display()))),
        }
    }
    Ok(out)
}

/// One word of a phrase: a normalised word (in any form with the same stem), the
/// beginning of words when `prefix`, or exactly this form when `exact`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WordSpec {
    pub text: String,
    pub prefix: bool,
    pub exact: bool,
}

/// A phrase: its positions in order, each with its alternatives, and an optional weight.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PhraseSpec {
    pub items: Vec<Vec<WordSpec>>,
    pub weight: Option<f32>,
}

/// A phrase and what it stands for.
#[derive(Debug, Clone)]
pub(crate) struct RuleSpec {
    pub phrase: PhraseSpec,
    pub target: Target,
}

/// The wording of one intent beyond its phrases.
#[derive(Debug, Clone)]
pub(crate) struct IntentExtras {
    pub intent: Intent,
    pub patterns: Vec<String>,
    pub commands: Vec<String>,
    pub boosts: Vec<(EntityKind, f32)>,
    pub negated: Option<f32>,
    pub background: bool,
}

/// A place on the map that goes with an answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqLocation {
    pub latitude: f64,
    pub longitude: f64,
    pub title: String,
    pub address: String,
}

/// A link that goes with an answer: a button with this text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqLink {
    pub text: String,
    pub url: String,
}

/// One answer of the business, in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqAnswer {
    /// The entry's key ("opening_hours").
    pub key: String,
    pub locale: Locale,
    /// Plain text, as the business wrote it.
    pub text: String,
    pub link: Option<FaqLink>,
    pub location: Option<FaqLocation>,
}

/// Everything the data files say.
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub rules: Vec<RuleSpec>,
    pub intents: Vec<IntentExtras>,
    /// The keys of the business's questions, in the order first met (`Target::Faq` indexes it).
    pub faq_keys: Vec<String>,
    pub faq_answers: Vec<FaqAnswer>,
    /// Other names of a catalogue name (lower case): «аня» for «Анна», «постричься» for «Стрижка».
    pub aliases: Vec<(String, PhraseSpec)>,
    /// Hours that mean the afternoon when said without a part of the day ("в 3" → 15:00).
    pub afternoon_hours: Vec<u8>,
}

/// Weights of the intent word lists.
pub(crate) const WORD_WEIGHT: f32 = 1.0;
pub(crate) const HINT_WEIGHT: f32 = 0.4;
pub(crate) const PHRASE_WEIGHT: f32 = 1.6;

type Words = Spanned<Vec<Spanned<String>>>;
type Section = Spanned<BTreeMap<Spanned<String>, Words>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentSection {
    words: Option<Words>,
    hints: Option<Words>,
    phrases: Option<Words>,
    patterns: Option<Words>,
    commands: Option<Words>,
    entities: Option<Spanned<BTreeMap<Spanned<String>, Spanned<f64>>>>,
    negated: Option<Spanned<f64>>,
    background: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntitiesFile {
    stopwords: Option<Words>,
    negators: Option<Words>,
    ordinals: Option<Words>,
    years: Option<Words>,
    month_context: Option<Words>,
    months_needing_context: Option<Words>,
    afternoon_hours: Option<Spanned<Vec<Spanned<i64>>>>,
    order_markers: Option<Words>,
    months: Option<Section>,
    weekdays: Option<Section>,
    days: Option<Section>,
    periods: Option<Section>,
    times: Option<Section>,
    documents: Option<Section>,
    documents_in_context: Option<Section>,
    subscription: Option<Section>,
    relative: Option<Section>,
    counts: Option<Section>,
    tariffs: Option<Section>,
    aliases: Option<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaqSection {
    questions: Option<Words>,
    words: Option<Words>,
    hints: Option<Words>,
    answer: Spanned<String>,
    link: Option<Spanned<FaqLink>>,
    location: Option<Spanned<FaqLocation>>,
}

/// The longest answer a business may write (Telegram's limit for a message is 4096).
const MAX_ANSWER_CHARS: usize = 3500;

/// Reads a file's errors back to lines.
struct Ctx<'a> {
    name: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn err(&self, offset: usize, message: impl Into<String>) -> NluError {
        NluError::Data { file: self.name.to_string(), line: self.line(offset), message: message.into() }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, NluError> {
        toml::from_str(self.text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            self.err(offset, e.message().trim().to_string())
        })
    }

    /// The entries of a list, refusing an empty list.
    fn list<'w>(&self, what: &str, words: &'w Words) -> Result<&'w [Spanned<String>], NluError> {
        if words.get_ref().is_empty() {
            return Err(self.err(words.span().start, format!("`{what}` is an empty list")));
        }
        Ok(words.get_ref())
    }

    fn phrases(
        &self,
        what: &str,
        words: &Words,
        allow_weight: bool,
        mut f: impl FnMut(PhraseSpec),
    ) -> Result<(), NluError> {
        for entry in self.list(what, words)? {
            let phrase = parse_phrase(entry.get_ref(), allow_weight)
                .map_err(|m| self.err(entry.span().start, format!("`{what}`: {m}")))?;
            f(phrase);
        }
        Ok(())
    }
}

/// Parses one phrase: words separated by spaces, `a|b` alternatives, `word*` for any word
/// beginning so, `=word` for exactly this form, and (when allowed) a trailing `^weight`.
pub(crate) fn parse_phrase(raw: &str, allow_weight: bool) -> Result<PhraseSpec, String> {
    let (body, weight) = match raw.rsplit_once('^') {
        Some((body, w)) if allow_weight => {
            let w: f32 = w.trim().parse().map_err(|_| format!("bad weight in {raw:?}"))?;
            if !(w > 0.0 && w <= 10.0) {
                return Err(format!("weight out of range (0, 10] in {raw:?}"));
            }
            (body, Some(w))
        }
        Some(_) => return Err(format!("a weight is not allowed here: {raw:?}")),
        None => (raw, None),
    };
    let mut items = Vec::new();
    for item in body.split_whitespace() {
        let mut alts = Vec::new();
        for alt in item.split('|') {
            let (alt_body, exact) = match alt.strip_prefix('=') {
                Some(w) => (w, true),
                None => (alt, false),
            };
            let (word, prefix) = match alt_body.strip_suffix('*') {
                Some(w) => (w, true),
                None => (alt_body, false),
            };
            if word.contains('*') || word.contains('=') {
                return Err(format!("`*` may only end a word and `=` only begin one: {raw:?}"));
            }
            if exact && prefix {
                return Err(format!("{alt:?}: a word cannot be both exact and a beginning"));
            }
            let n = normalize(word);
            if n.tokens.len() != 1 {
                return Err(format!("{alt:?} is not a single word (in {raw:?})"));
            }
            if prefix && (n.tokens[0].kind != Kind::Word || n.tok(0).chars().count() < 2) {
                return Err(format!("{alt:?}: a word beginning needs two letters or more"));
            }
            alts.push(WordSpec { text: n.tok(0).to_string(), prefix, exact });
        }
        items.push(alts);
    }
    if items.is_empty() {
        return Err("empty phrase".to_string());
    }
    Ok(PhraseSpec { items, weight })
}

fn load_intents(ctx: &Ctx, data: &mut Data) -> Result<(), NluError> {
    let file: BTreeMap<Spanned<String>, Spanned<IntentSection>> = ctx.parse()?;
    for (key, section) in &file {
        let at = key.span().start;
        let intent =
            Intent::parse(key.get_ref()).ok_or_else(|| ctx.err(at, format!("unknown intent `{}`", key.get_ref())))?;
        let s = section.get_ref();
        if intent == Intent::Unknown {
            let wording = s.words.is_some() || s.hints.is_some() || s.phrases.is_some();
            let other = s.commands.is_some() || s.entities.is_some() || s.negated.is_some() || s.background.is_some();
            if wording || other || s.patterns.is_none() {
                return Err(ctx.err(
                    at,
                    "`unknown` is what is left over; it takes only `patterns` (text that is never a request)",
                ));
            }
        }
        if s.words.is_none() && s.hints.is_none() && s.phrases.is_none() && s.patterns.is_none() {
            return Err(ctx.err(at, format!("intent `{intent}` has no words, hints, phrases or patterns")));
        }
        for (what, list, weight) in
            [("words", &s.words, WORD_WEIGHT), ("hints", &s.hints, HINT_WEIGHT), ("phrases", &s.phrases, PHRASE_WEIGHT)]
        {
            if let Some(list) = list {
                ctx.phrases(what, list, true, |phrase| {
                    let w = phrase.weight.unwrap_or(weight);
                    data.rules.push(RuleSpec { phrase, target: Target::Intent { intent, weight: w } });
                })?;
            }
        }
        let mut extras = IntentExtras {
            intent,
            patterns: Vec::new(),
            commands: Vec::new(),
            boosts: Vec::new(),
            negated: None,
            background: s.background.as_ref().is_some_and(|b| *b.get_ref()),
        };
        if let Some(list) = &s.patterns {
            for p in ctx.list("patterns", list)? {
                regex::Regex::new(p.get_ref()).map_err(|e| ctx.err(p.span().start, format!("bad pattern: {e}")))?;
                extras.patterns.push(p.get_ref().clone());
            }
        }
        if let Some(list) = &s.commands {
            for c in ctx.list("commands", list)? {
                let name = c.get_ref().trim_start_matches('/').to_lowercase();
                if name.is_empty() || !name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    return Err(ctx.err(c.span().start, format!("bad command {:?}", c.get_ref())));
                }
                extras.commands.push(name);
            }
        }
        if let Some(boosts) = &s.entities {
            for (name, w) in boosts.get_ref() {
                let kind = EntityKind::parse(name.get_ref())
                    .ok_or_else(|| ctx.err(name.span().start, format!("unknown entity `{}`", name.get_ref())))?;
                let w = *w.get_ref();
                if !(0.0..=10.0).contains(&w) {
                    return Err(ctx.err(name.span().start, "entity weight out of range [0, 10]"));
                }
                extras.boosts.push((kind, w as f32));
            }
        }
        if let Some(n) = &s.negated {
            let v = *n.get_ref();
            if !(0.0..=1.0).contains(&v) {
                return Err(ctx.err(n.span().start, "`negated` must be within [0, 1]"));
            }
            extras.negated = Some(v as f32);
        }
        data.intents.push(extras);
    }
    Ok(())
}

fn section_keys<'s>(
    ctx: &Ctx,
    section_name: &str,
    section: &'s Section,
    keys: &[&str],
) -> Result<Vec<(usize, &'s Words)>, NluError> {
    let mut out = Vec::new();
    for (key, words) in section.get_ref() {
        let idx = keys.iter().position(|k| k == key.get_ref()).ok_or_else(|| {
            ctx.err(
                key.span().start,
                format!("unknown key `{}` in [{section_name}] (expected one of {})", key.get_ref(), keys.join(", ")),
            )
        })?;
        out.push((idx, words));
    }
    Ok(out)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const DAYS: [&str; 4] = ["yesterday", "today", "tomorrow", "day_after_tomorrow"];
const PERIODS: [&str; 3] = ["month_before_last", "last_month", "this_month"];
const TIMES: [&str; 14] = [
    "at",
    "at_loose",
    "hour",
    "minute",
    "am",
    "pm",
    "morning",
    "afternoon",
    "evening",
    "night",
    "noon",
    "midnight",
    "after",
    "lunch",
];
const RELATIVE: [&str; 4] = ["within", "week", "days", "weekend"];
const COUNTS: [&str; 7] = ["one", "two", "three", "four", "five", "six", "seven"];
const TARIFFS: [&str; 2] = ["cheapest", "faster"];

fn load_entities(ctx: &Ctx, data: &mut Data) -> Result<(), NluError> {
    let file: EntitiesFile = ctx.parse()?;
    let mut add = |what: &str, words: &Words, target: Target| {
        ctx.phrases(what, words, false, |phrase| data.rules.push(RuleSpec { phrase, target }))
    };
    let simple = [
        ("stopwords", &file.stopwords, Target::Stop),
        ("negators", &file.negators, Target::Negator),
        ("ordinals", &file.ordinals, Target::Ordinal),
        ("years", &file.years, Target::YearWord),
        ("month_context", &file.month_context, Target::MonthContext),
        ("months_needing_context", &file.months_needing_context, Target::MonthNeedsContext),
        ("order_markers", &file.order_markers, Target::OrderMarker),
    ];
    for (what, words, target) in simple {
        if let Some(words) = words {
            add(what, words, target)?;
        }
    }
    if let Some(s) = &file.months {
        for (i, words) in section_keys(ctx, "months", s, &MONTHS)? {
            add(MONTHS[i], words, Target::Month(i as u8 + 1))?;
        }
    }
    if let Some(s) = &file.weekdays {
        for (i, words) in section_keys(ctx, "weekdays", s, &WEEKDAYS)? {
            add(WEEKDAYS[i], words, Target::Weekday(i as u8))?;
        }
    }
    if let Some(s) = &file.days {
        for (i, words) in section_keys(ctx, "days", s, &DAYS)? {
            add(DAYS[i], words, Target::DayOffset(i as i8 - 1))?;
        }
    }
    if let Some(s) = &file.periods {
        for (i, words) in section_keys(ctx, "periods", s, &PERIODS)? {
            add(PERIODS[i], words, Target::MonthOffset(i as i8 - 2))?;
        }
    }
    if let Some(s) = &file.times {
        for (i, words) in section_keys(ctx, "times", s, &TIMES)? {
            let target = match TIMES[i] {
                "at" => Target::At,
                "at_loose" => Target::AtLoose,
                "hour" => Target::HourWord,
                "minute" => Target::MinuteWord,
                "am" => Target::Daypart(Daypart::Am),
                "pm" => Target::Daypart(Daypart::Pm),
                "morning" => Target::Daypart(Daypart::Morning),
                "afternoon" => Target::Daypart(Daypart::Afternoon),
                "evening" => Target::Daypart(Daypart::Evening),
                "night" => Target::Daypart(Daypart::Night),
                "noon" => Target::NamedTime(12),
                "after" => Target::After,
                "lunch" => Target::FromHour(12),
                _ => Target::NamedTime(0),
            };
            add(TIMES[i], words, target)?;
        }
    }
    let docs: Vec<&str> = DocKind::ALL.iter().map(|d| d.as_str()).collect();
    for (section_name, section, in_context) in
        [("documents", &file.documents, false), ("documents_in_context", &file.documents_in_context, true)]
    {
        if let Some(s) = section {
            for (i, words) in section_keys(ctx, section_name, s, &docs)? {
                add(docs[i], words, Target::Doc { kind: DocKind::ALL[i], in_context })?;
            }
        }
    }
    if let Some(s) = &file.subscription {
        let subs: Vec<&str> = SubAction::ALL.iter().map(|d| d.as_str()).collect();
        for (i, words) in section_keys(ctx, "subscription", s, &subs)? {
            add(subs[i], words, Target::Sub(SubAction::ALL[i]))?;
        }
    }
    if let Some(s) = &file.relative {
        for (i, words) in section_keys(ctx, "relative", s, &RELATIVE)? {
            let target = match RELATIVE[i] {
                "within" => Target::Within,
                "week" => Target::WeekWord,
                "days" => Target::DayWord,
                _ => Target::Weekend,
            };
            add(RELATIVE[i], words, target)?;
        }
    }
    if let Some(s) = &file.counts {
        for (i, words) in section_keys(ctx, "counts", s, &COUNTS)? {
            add(COUNTS[i], words, Target::Count(i as u8 + 1))?;
        }
    }
    if let Some(s) = &file.tariffs {
        for (i, words) in section_keys(ctx, "tariffs", s, &TARIFFS)? {
            add(TARIFFS[i], words, if i == 0 { Target::CheapestTariff } else { Target::FasterTariff })?;
        }
    }
    if let Some(s) = &file.aliases {
        for (name, words) in s.get_ref() {
            let name = name.get_ref().to_lowercase();
            ctx.phrases("aliases", words, false, |phrase| data.aliases.push((name.clone(), phrase)))?;
        }
    }
    if let Some(hours) = &file.afternoon_hours {
        for h in hours.get_ref() {
            let v = *h.get_ref();
            if !(0..=11).contains(&v) {
                return Err(ctx.err(h.span().start, "`afternoon_hours` are hours from 0 to 11"));
            }
            if !data.afternoon_hours.contains(&(v as u8)) {
                data.afternoon_hours.push(v as u8);
            }
        }
    }
    Ok(())
}

fn load_faq(ctx: &Ctx, data: &mut Data) -> Result<(), NluError> {
    let locale = ctx.name.split('/').next().and_then(Locale::parse).unwrap_or(Locale::Ru);
    let file: BTreeMap<Spanned<String>, Spanned<FaqSection>> = ctx.parse()?;
    for (key, section) in &file {
        let at = key.span().start;
        let name = key.get_ref();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(ctx.err(
                at,
                format!("`{name}`: a question's key is written in lower-case latin letters, digits and `_`"),
            ));
        }
        let s = section.get_ref();
        if s.questions.is_none() && s.words.is_none() {
            return Err(ctx.err(at, format!("`{name}` has no questions or words")));
        }
        let text = s.answer.get_ref().trim();
        if text.is_empty() || text.chars().count() > MAX_ANSWER_CHARS {
            return Err(ctx.err(
                s.answer.span().start,
                format!("`{name}`: the answer is empty or longer than {MAX_ANSWER_CHARS} characters"),
            ));
        }
        if let Some(link) = &s.link {
            let url = &link.get_ref().url;
            if !(url.starts_with("https://") || url.starts_with("http://")) || link.get_ref().text.trim().is_empty() {
                return Err(ctx.err(link.span().start, format!("`{name}`: a link needs a text and an http(s) url")));
            }
        }
        if let Some(place) = &s.location {
            let p = place.get_ref();
            if !(-90.0..=90.0).contains(&p.latitude) || !(-180.0..=180.0).contains(&p.longitude) {
                return Err(ctx.err(place.span().start, format!("`{name}`: latitude or longitude out of range")));
            }
        }
        if data.faq_answers.iter().any(|a| a.key == *name && a.locale == locale) {
            return Err(ctx.err(at, format!("`{name}` is written twice")));
        }
        let index = match data.faq_keys.iter().position(|k| k == name) {
            Some(i) => i,
            None => {
                data.faq_keys.push(name.clone());
                data.faq_keys.len() - 1
            }
        };
        let entry = u16::try_from(index).map_err(|_| ctx.err(at, "too many questions"))?;
        for (what, list, weight) in [
            ("questions", &s.questions, PHRASE_WEIGHT),
            ("words", &s.words, WORD_WEIGHT),
            ("hints", &s.hints, HINT_WEIGHT),
        ] {
            if let Some(list) = list {
                ctx.phrases(what, list, true, |phrase| {
                    let weight = phrase.weight.unwrap_or(weight);
                    data.rules.push(RuleSpec { phrase, target: Target::Faq { entry, weight } });
                })?;
            }
        }
        data.faq_answers.push(FaqAnswer {
            key: name.clone(),
            locale,
            text: text.to_string(),
            link: s.link.as_ref().map(|l| l.get_ref().clone()),
            location: s.location.as_ref().map(|l| l.get_ref().clone()),
        });
    }
    Ok(())
}

/// Reads and checks all data files.
pub(crate) fn load(sources: &[Source]) -> Result<Data, NluError> {
    let mut data = Data::default();
    for source in sources {
        let ctx = Ctx { name: &source.name, text: &source.text };
        if source.name.ends_with("intents.toml") {
            load_intents(&ctx, &mut data)?;
        } else if source.name.ends_with(FAQ_FILE) {
            load_faq(&ctx, &mut data)?;
        } else {
            load_entities(&ctx, &mut data)?;
        }
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(name: &str, text: &str) -> Result<Data, NluError> {
        load(&[Source { name: name.to_string(), text: text.to_string() }])
    }

    fn line_of(r: Result<Data, NluError>) -> (usize, String) {
        match r {
            Err(NluError::Data { line, message, .. }) => (line, message),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("loaded"),
        }
    }

    #[test]
    fn the_embedded_files_load() {
        let data = load(&embedded_sources()).expect("embedded data is valid");
        assert!(data.rules.len() > 100);
    }

    #[test]
    fn a_phrase_has_alternatives_prefixes_and_a_weight() {
        let p = parse_phrase("Сколько|скока денег* ^1.5", true).expect("valid");
        assert_eq!(p.weight, Some(1.5));
        assert_eq!(p.items.len(), 2);
        assert_eq!(p.items[0][1].text, "скока");
        assert!(p.items[1][0].prefix);
    }

    #[test]
    fn a_bad_phrase_is_refused() {
        assert!(parse_phrase("", true).is_err());
        assert!(parse_phrase("за*каз", true).is_err());
        assert!(parse_phrase("а*", true).is_err());
        assert!(parse_phrase("заказ ^0", true).is_err());
        assert!(parse_phrase("заказ ^1", false).is_err());
        assert!(parse_phrase("по-русски", true).is_err());
    }

    #[test]
    fn an_unknown_intent_is_reported_at_its_line() {
        let (line, msg) = line_of(load_one(
            "ru/intents.toml",
            "[balance]\nwords = [\"баланс\"]\n\n[weather]\nwords = [\"погода\"]\n",
        ));
        assert_eq!(line, 4);
        assert!(msg.contains("weather"), "{msg}");
    }

    #[test]
    fn an_empty_list_is_reported_at_its_line() {
        let (line, _) = line_of(load_one("en/intents.toml", "[balance]\nwords = [\"balance\"]\nhints = []\n"));
        assert_eq!(line, 3);
    }

    #[test]
    fn a_bad_regex_is_reported_at_its_line() {
        let (line, msg) =
            line_of(load_one("en/intents.toml", "[help]\npatterns = [\n  \"ok\",\n  \"(unclosed\",\n]\n"));
        assert_eq!(line, 4);
        assert!(msg.contains("pattern"), "{msg}");
    }

    #[test]
    fn broken_toml_is_reported_at_its_line() {
        let (line, _) = line_of(load_one("ru/intents.toml", "[balance]\nwords = [\"баланс\"]\nhints = [\"деньги\"\n"));
        assert!(line >= 3, "{line}");
        let (line, msg) = line_of(load_one(
            "ru/entities.toml",
            "stopwords = [\"и\"]\n[months]\njanuary = [\"январ*\"]\nsmarch = [\"март\"]\n",
        ));
        assert_eq!(line, 4);
        assert!(msg.contains("smarch"), "{msg}");
    }

    #[test]
    fn an_unknown_field_is_reported() {
        let (line, msg) = line_of(load_one("ru/intents.toml", "[balance]\nwords = [\"баланс\"]\nwordz = [\"x\"]\n"));
        assert_eq!(line, 3);
        assert!(msg.contains("wordz"), "{msg}");
    }

    #[test]
    fn a_question_and_its_answer_are_loaded_and_checked() {
        let ok = "[opening_hours]\nquestions = [\"до скольки работаете\"]\nanswer = \"С 10 до 19\"\n\
                  link = { text = \"Сайт\", url = \"https://example.com\" }\n";
        let data = load_one("ru/faq.toml", ok).expect("loads");
        assert_eq!(data.faq_keys, vec!["opening_hours".to_string()]);
        assert_eq!(data.faq_answers[0].locale, Locale::Ru);
        assert!(data.rules.iter().any(|r| matches!(r.target, Target::Faq { entry: 0, .. })));
        let (line, msg) = line_of(load_one("en/faq.toml", "[hours]\nquestions = [\"opening hours\"]\nanswer = \"\"\n"));
        assert_eq!(line, 3);
        assert!(msg.contains("empty"), "{msg}");
        let (line, msg) = line_of(load_one(
            "en/faq.toml",
            "[hours]\nquestions = [\"hours\"]\nanswer = \"9-5\"\nlink = { text = \"x\", url = \"javascript:alert(1)\" }\n",
        ));
        assert_eq!(line, 4);
        assert!(msg.contains("http"), "{msg}");
        let (line, _) =
            line_of(load_one("en/faq.toml", "[Opening Hours]\nquestions = [\"hours\"]\nanswer = \"9-5\"\n"));
        assert_eq!(line, 1);
        let (_, msg) = line_of(load_one("en/faq.toml", "[hours]\nanswer = \"9-5\"\n"));
        assert!(msg.contains("no questions"), "{msg}");
    }

    #[test]
    fn a_folder_without_faq_files_loads_and_one_with_them_reads_them() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (name, source) in embedded_sources().iter().map(|s| (&s.name, &s.text)) {
            if name.ends_with(FAQ_FILE) {
                continue;
            }
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("created");
            std::fs::write(path, source).expect("written");
        }
        let sources = dir_sources(dir.path()).expect("read");
        assert!(load(&sources).expect("loads").faq_answers.is_empty());
        std::fs::write(dir.path().join("en").join(FAQ_FILE), "[wifi]\nwords = [\"wifi\"]\nanswer = \"Restart it.\"\n")
            .expect("written");
        let data = load(&dir_sources(dir.path()).expect("read")).expect("loads");
        assert_eq!(data.faq_answers.len(), 1);
        assert_eq!(data.faq_answers[0].locale, Locale::En);
    }
}
