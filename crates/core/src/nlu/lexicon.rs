//! The compiled vocabulary: every word of the data files and the catalogue as a lexeme
//! (found by surface form, stem, word beginning, letter-run collapsing or a small typo), and
//! every phrase as a rule over lexemes, matched in order with a little slack between words.

use std::collections::HashMap;

use super::Intent;
use super::data::{PhraseSpec, WordSpec};
use super::fuzzy::FuzzyIndex;
use super::text::{Kind, Normalized, Stemmers, collapse_runs, script_of};

/// Up to this many other words may stand between two words of a phrase.
pub(crate) const MAX_GAP: usize = 2;
/// Stop words between two words of a phrase do not count towards [`MAX_GAP`], up to this many
/// («какие данные вы обо мне храните»).
const MAX_STOP_GAP: usize = 3;
/// Stems shorter than this are not used as keys (too many words share them).
const MIN_STEM_CHARS: usize = 3;
/// At most this many unknown words of a message are looked up for typos.
const MAX_TYPO_LOOKUPS: usize = 24;

/// The kinds of entities (as docs/intent-contract.md names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityKind {
    OrderId,
    DocKind,
    Period,
    Date,
    Time,
    Service,
    Staff,
    SubscriptionAction,
    TimeFrom,
    Tariff,
}

impl EntityKind {
    pub fn parse(s: &str) -> Option<EntityKind> {
        Some(match s {
            "order_id" => EntityKind::OrderId,
            "doc_kind" => EntityKind::DocKind,
            "period" => EntityKind::Period,
            "date" => EntityKind::Date,
            "time" => EntityKind::Time,
            "service" => EntityKind::Service,
            "staff" => EntityKind::Staff,
            "subscription_action" => EntityKind::SubscriptionAction,
            "time_from" => EntityKind::TimeFrom,
            "tariff" => EntityKind::Tariff,
            _ => return None,
        })
    }
}

/// Kinds of documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    Act,
    Invoice,
    Receipt,
    Contract,
    Statement,
}

impl DocKind {
    pub const ALL: [DocKind; 5] =
        [DocKind::Act, DocKind::Invoice, DocKind::Receipt, DocKind::Contract, DocKind::Statement];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Act => "act",
            DocKind::Invoice => "invoice",
            DocKind::Receipt => "receipt",
            DocKind::Contract => "contract",
            DocKind::Statement => "statement",
        }
    }
}

/// Changes to a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubAction {
    Change,
    Pause,
    Resume,
    AddOption,
    RemoveOption,
}

impl SubAction {
    pub const ALL: [SubAction; 5] =
        [SubAction::Change, SubAction::Pause, SubAction::Resume, SubAction::AddOption, SubAction::RemoveOption];

    pub fn as_str(self) -> &'static str {
        match self {
            SubAction::Change => "change",
            SubAction::Pause => "pause",
            SubAction::Resume => "resume",
            SubAction::AddOption => "add_option",
            SubAction::RemoveOption => "remove_option",
        }
    }
}

/// Parts of the day that shift an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Daypart {
    Am,
    Pm,
    Morning,
    Afternoon,
    Evening,
    Night,
}

impl Daypart {
    /// am/pm qualify a number as an hour on their own; «утра», «дня» need «в» or «часа».
    pub fn is_strong(self) -> bool {
        matches!(self, Daypart::Am | Daypart::Pm)
    }

    /// The hour on the 24-hour clock.
    pub fn apply(self, hour: u32) -> u32 {
        match self {
            Daypart::Am | Daypart::Morning => {
                if hour == 12 {
                    0
                } else {
                    hour
                }
            }
            Daypart::Pm | Daypart::Afternoon | Daypart::Evening => {
                if hour < 12 {
                    hour + 12
                } else {
                    hour
                }
            }
            Daypart::Night => match hour {
                12 => 0,
                6..=11 => hour + 12,
                _ => hour,
            },
        }
    }
}

/// What a phrase stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Target {
    Intent {
        intent: Intent,
        weight: f32,
    },
    Stop,
    Negator,
    Ordinal,
    YearWord,
    Month(u8),
    MonthContext,
    MonthNeedsContext,
    Weekday(u8),
    DayOffset(i8),
    MonthOffset(i8),
    At,
    /// «на»: introduces an hour, but not before «дня» without «часа» («на 3 дня»).
    AtLoose,
    HourWord,
    MinuteWord,
    Daypart(Daypart),
    NamedTime(u8),
    OrderMarker,
    Doc {
        kind: DocKind,
        in_context: bool,
    },
    Sub(SubAction),
    Service(u16),
    Staff(u16),
    Tariff(u16),
    /// The cheapest tariff («самый дешёвый»).
    CheapestTariff,
    /// A faster tariff than the customer's («побыстрее»).
    FasterTariff,
    /// «после», "after": the time that follows is the earliest that suits.
    After,
    /// «через», "in": the days that follow are counted from today.
    Within,
    /// «неделю», "week": seven days.
    WeekWord,
    /// «дней», "days".
    DayWord,
    /// «на выходных», "weekend": the nearest Saturday (today when it is the weekend).
    Weekend,
    /// «в обед», "lunchtime": from this hour.
    FromHour(u8),
    /// «два», "two": a count of days or weeks.
    Count(u8),
    /// A question of the business's FAQ (`Data::faq_keys[entry]`).
    Faq {
        entry: u16,
        weight: f32,
    },
}

/// A phrase compiled to lexemes: each position lists the lexemes that may stand there.
#[derive(Debug)]
pub(crate) struct Rule {
    pub items: Box<[Box<[u32]>]>,
    pub target: Target,
}

/// Where a rule matched: tokens `start..end`, whether a typo was forgiven on the way, and
/// whether the two words of a two-word phrase came the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub rule: u32,
    pub start: u16,
    pub end: u16,
    pub fuzzy: bool,
    pub reversed: bool,
}

/// The lexemes found for each token of a message.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    /// Per token: a range of `lex`.
    pub spans: Vec<(u32, u32)>,
    pub lex: Vec<u32>,
    /// Per token: found only by forgiving a typo.
    pub fuzzy: Vec<bool>,
}

impl Resolved {
    pub fn lexemes(&self, token: usize) -> &[u32] {
        let (a, b) = self.spans[token];
        &self.lex[a as usize..b as usize]
    }
}

/// The compiled vocabulary and rules.
pub(crate) struct Lexicon {
    stemmers: Stemmers,
    /// Written forms of the data's words.
    exact: HashMap<Box<str>, Vec<u32>>,
    /// Stems of the data's words (not of those marked exact).
    stems: HashMap<Box<str>, Vec<u32>>,
    prefixes: HashMap<Box<str>, Vec<(u32, u8)>>,
    prefix_min: usize,
    prefix_max: usize,
    collapsed: HashMap<Box<str>, Vec<u32>>,
    fuzzy: FuzzyIndex,
    pub rules: Vec<Rule>,
    /// Per lexeme: the rules whose first word it can be.
    starts: Vec<Vec<u32>>,
    /// Per lexeme: the two-word rules whose second word it can be.
    seconds: Vec<Vec<u32>>,
    /// Per lexeme: it is a stop word.
    stop: Vec<bool>,
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// Builds a [`Lexicon`].
pub(crate) struct LexiconBuilder {
    lex: Lexicon,
    interned: HashMap<(String, bool, bool, u8), u32>,
}

impl LexiconBuilder {
    pub fn new() -> LexiconBuilder {
        LexiconBuilder {
            lex: Lexicon {
                stemmers: Stemmers::new(),
                exact: HashMap::new(),
                stems: HashMap::new(),
                prefixes: HashMap::new(),
                prefix_min: usize::MAX,
                prefix_max: 0,
                collapsed: HashMap::new(),
                fuzzy: FuzzyIndex::default(),
                rules: Vec::new(),
                starts: Vec::new(),
                seconds: Vec::new(),
                stop: Vec::new(),
            },
            interned: HashMap::new(),
        }
    }

    /// The lexeme for a word (`max_len` bounds the length of words a beginning matches).
    fn lexeme(&mut self, word: &WordSpec, max_len: u8) -> u32 {
        self.lexeme_as(word, max_len, false)
    }

    /// The lexeme for a word; a catalogue name (`name`) is found by its written form, its
    /// beginnings (added separately) and typos, never by its stem: a short stem of a name
    /// («мар» of «Мария») would catch unrelated words.
    fn lexeme_as(&mut self, word: &WordSpec, max_len: u8, name: bool) -> u32 {
        let key = (word.text.clone(), word.prefix, word.exact || name, max_len);
        if let Some(&id) = self.interned.get(&key) {
            return id;
        }
        let id = self.lex.starts.len() as u32;
        self.lex.starts.push(Vec::new());
        self.lex.seconds.push(Vec::new());
        self.interned.insert(key, id);
        let text = word.text.as_str();
        if word.prefix {
            let n = text.chars().count();
            self.lex.prefix_min = self.lex.prefix_min.min(n);
            self.lex.prefix_max = self.lex.prefix_max.max(n);
            push_unique(self.lex.prefixes.entry(text.into()).or_default(), (id, max_len));
            // A beginning is usually a stem: a typo in a word is then a typo in its stem,
            // looked up with one edit at most (stems are short and alike).
            self.lex.fuzzy.add(text, id, 1);
            return id;
        }
        push_unique(self.lex.exact.entry(text.into()).or_default(), id);
        if word.exact {
            return id;
        }
        let script = script_of(text);
        let stem = self.lex.stemmers.stem(text, script).into_owned();
        let is_word = text.chars().all(char::is_alphabetic);
        if name {
            if is_word {
                self.lex.fuzzy.add(text, id, 2);
            }
            return id;
        }
        if is_word && stem.chars().count() >= MIN_STEM_CHARS {
            push_unique(self.lex.stems.entry(stem.as_str().into()).or_default(), id);
        }
        if is_word {
            let collapsed = collapse_runs(text);
            if collapsed != text {
                push_unique(self.lex.collapsed.entry(collapsed.as_ref().into()).or_default(), id);
            }
            self.lex.fuzzy.add(text, id, 2);
            if stem != text {
                self.lex.fuzzy.add(&stem, id, 1);
            }
        }
        id
    }

    /// Adds a rule for a phrase.
    pub fn add(&mut self, phrase: &PhraseSpec, target: Target) {
        let items: Vec<Box<[u32]>> = phrase
            .items
            .iter()
            .map(|alts| {
                let mut ids: Vec<u32> = Vec::with_capacity(alts.len());
                for a in alts {
                    push_unique(&mut ids, self.lexeme(a, u8::MAX));
                }
                ids.into_boxed_slice()
            })
            .collect();
        self.push_rule(items, target);
    }

    fn push_rule(&mut self, items: Vec<Box<[u32]>>, target: Target) {
        let id = self.lex.rules.len() as u32;
        if let Some(first) = items.first() {
            for &l in first.iter() {
                push_unique(&mut self.lex.starts[l as usize], id);
            }
        }
        if items.len() == 2 {
            for &l in items[1].iter() {
                push_unique(&mut self.lex.seconds[l as usize], id);
            }
        }
        self.lex.rules.push(Rule { items: items.into_boxed_slice(), target });
    }

    /// Adds a rule for a name from the catalogue: each of its words as written, or its
    /// beginning without the final vowel followed by a short ending («Анна» → «Анне»,
    /// «Мария» → «Марией»), forgiving small typos.
    pub fn add_name(&mut self, name: &str, target: Target) {
        let n = normalize_name(name);
        if n.is_empty() {
            return;
        }
        let mut items = Vec::new();
        for word in &n {
            let mut ids =
                vec![self.lexeme_as(&WordSpec { text: word.clone(), prefix: false, exact: false }, u8::MAX, true)];
            let chars: Vec<char> = word.chars().collect();
            if chars.len() >= 3 && chars.iter().all(|c| c.is_alphabetic()) {
                let mut base = chars.clone();
                if base.len() > 3 && base.last().is_some_and(|c| "аеиоуыэюяйьaeiouy".contains(*c)) {
                    base.pop();
                }
                let prefix: String = base.iter().collect();
                let max_len = (chars.len() + 3).min(u8::MAX as usize) as u8;
                push_unique(&mut ids, self.lexeme(&WordSpec { text: prefix, prefix: true, exact: false }, max_len));
            }
            items.push(ids.into_boxed_slice());
        }
        self.push_rule(items, target);
    }

    pub fn finish(mut self) -> Lexicon {
        self.lex.fuzzy.finish();
        self.lex.stop = vec![false; self.lex.starts.len()];
        for rule in &self.lex.rules {
            if let (Target::Stop, [only]) = (rule.target, &rule.items[..]) {
                for &l in only.iter() {
                    self.lex.stop[l as usize] = true;
                }
            }
        }
        // A two-word phrase with a stop word in it is not matched the other way round: "a book"
        // is not "book a".
        let stop = &self.lex.stop;
        let rules = &self.lex.rules;
        let has_stop_item =
            |id: u32| rules[id as usize].items.iter().any(|item| item.iter().all(|&l| stop[l as usize]));
        for seconds in &mut self.lex.seconds {
            seconds.retain(|&id| !has_stop_item(id));
        }
        if self.lex.prefix_min == usize::MAX {
            self.lex.prefix_min = 1;
        }
        self.lex
    }
}

fn normalize_name(name: &str) -> Vec<String> {
    let n = super::text::normalize(name);
    (0..n.tokens.len()).filter(|&i| n.tokens[i].kind != Kind::Symbol).map(|i| n.tok(i).to_string()).collect()
}

impl Lexicon {
    fn lookup(map: &HashMap<Box<str>, Vec<u32>>, key: &str, out: &mut Vec<u32>) {
        if let Some(ids) = map.get(key) {
            for &id in ids {
                push_unique(out, id);
            }
        }
    }

    fn lookup_prefixes(&self, word: &str, out: &mut Vec<u32>) {
        let n = word.chars().count();
        if self.prefixes.is_empty() || n < self.prefix_min {
            return;
        }
        for (k, (idx, c)) in word.char_indices().enumerate() {
            let len = k + 1;
            if len > self.prefix_max {
                break;
            }
            if len < self.prefix_min {
                continue;
            }
            if let Some(ids) = self.prefixes.get(&word[..idx + c.len_utf8()]) {
                for &(id, max_len) in ids {
                    if n <= max_len as usize {
                        push_unique(out, id);
                    }
                }
            }
        }
    }

    /// Finds the lexemes of every token.
    pub fn resolve(&self, norm: &Normalized) -> Resolved {
        let mut r = Resolved {
            spans: Vec::with_capacity(norm.tokens.len()),
            lex: Vec::with_capacity(norm.tokens.len() * 2),
            fuzzy: Vec::with_capacity(norm.tokens.len()),
        };
        let mut found: Vec<u32> = Vec::with_capacity(8);
        let mut typo_lookups = 0;
        for (i, token) in norm.tokens.iter().enumerate() {
            found.clear();
            let word = norm.tok(i);
            let mut fuzzy = false;
            Lexicon::lookup(&self.exact, word, &mut found);
            if token.kind == Kind::Word {
                let stem = self.stemmers.stem(word, token.script);
                Lexicon::lookup(&self.stems, &stem, &mut found);
                self.lookup_prefixes(word, &mut found);
                if found.is_empty() {
                    let collapsed = collapse_runs(word);
                    if collapsed != word {
                        Lexicon::lookup(&self.exact, &collapsed, &mut found);
                        let cstem = self.stemmers.stem(&collapsed, token.script);
                        Lexicon::lookup(&self.stems, &cstem, &mut found);
                        self.lookup_prefixes(&collapsed, &mut found);
                    }
                    if let Some(ids) = self.collapsed.get(collapsed.as_ref()) {
                        for &id in ids {
                            push_unique(&mut found, id);
                        }
                    }
                }
                if found.is_empty() && typo_lookups < MAX_TYPO_LOOKUPS {
                    typo_lookups += 1;
                    let mut hits = Vec::new();
                    let d1 = self.fuzzy.lookup(word, &mut hits);
                    // Short stems are too alike to be guessed at.
                    if stem != word && stem.chars().count() >= 5 {
                        let mut stem_hits = Vec::new();
                        let d2 = self.fuzzy.lookup(&stem, &mut stem_hits);
                        match (d1, d2) {
                            (_, None) => {}
                            (Some(a), Some(b)) if a < b => {}
                            (Some(a), Some(b)) if a == b => hits.extend(stem_hits),
                            _ => hits = stem_hits,
                        }
                    }
                    for id in hits {
                        push_unique(&mut found, id);
                    }
                    fuzzy = !found.is_empty();
                }
            }
            let a = r.lex.len() as u32;
            r.lex.extend_from_slice(&found);
            r.spans.push((a, r.lex.len() as u32));
            r.fuzzy.push(fuzzy);
        }
        r
    }

    /// The first token after `pos` that can be `item`, with at most [`MAX_GAP`] other words
    /// and [`MAX_STOP_GAP`] stop words between.
    fn next_of(&self, r: &Resolved, stop: &[bool], pos: usize, item: &[u32]) -> Option<usize> {
        let (mut words, mut stops) = (0, 0);
        for (j, &is_stop) in stop.iter().enumerate().skip(pos + 1) {
            if r.lexemes(j).iter().any(|x| item.contains(x)) {
                return Some(j);
            }
            if is_stop {
                stops += 1;
            } else {
                words += 1;
            }
            if words > MAX_GAP || stops > MAX_STOP_GAP {
                return None;
            }
        }
        None
    }

    /// Every place a rule matches, in order of their first token.
    pub fn find_matches(&self, r: &Resolved) -> Vec<Match> {
        let n = r.spans.len();
        let stop: Vec<bool> = (0..n).map(|i| r.lexemes(i).iter().any(|&l| self.stop[l as usize])).collect();
        let mut out: Vec<Match> = Vec::new();
        for i in 0..n {
            let first_of_token = out.len();
            for &l in r.lexemes(i) {
                for &rule_id in &self.starts[l as usize] {
                    if out[first_of_token..].iter().any(|m| m.rule == rule_id) {
                        continue;
                    }
                    let rule = &self.rules[rule_id as usize];
                    let mut pos = i;
                    let mut fuzzy = r.fuzzy[i];
                    let mut ok = true;
                    for item in rule.items.iter().skip(1) {
                        match self.next_of(r, &stop, pos, item) {
                            Some(j) => {
                                fuzzy |= r.fuzzy[j];
                                pos = j;
                            }
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    if ok {
                        out.push(Match {
                            rule: rule_id,
                            start: i as u16,
                            end: (pos + 1) as u16,
                            fuzzy,
                            reversed: false,
                        });
                    }
                }
            }
            // Two-word phrases the other way round («запись отменить»).
            for &l in r.lexemes(i) {
                for &rule_id in &self.seconds[l as usize] {
                    if out[first_of_token..].iter().any(|m| m.rule == rule_id) {
                        continue;
                    }
                    let first = &self.rules[rule_id as usize].items[0];
                    if let Some(j) = self.next_of(r, &stop, i, first) {
                        out.push(Match {
                            rule: rule_id,
                            start: i as u16,
                            end: (j + 1) as u16,
                            fuzzy: r.fuzzy[i] || r.fuzzy[j],
                            reversed: true,
                        });
                    }
                }
            }
        }
        out
    }
}
