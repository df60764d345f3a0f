//! Text preparation for recognition: normalisation, tokenisation, script detection and
//! the word-form helpers (stemming, letter-run collapsing) shared by data loading and matching.

use std::borrow::Cow;

use rust_stemmers::{Algorithm, Stemmer};

/// At most this many bytes of a message are looked at.
pub(crate) const MAX_INPUT_BYTES: usize = 4096;
/// At most this many tokens of a message are looked at.
pub(crate) const MAX_TOKENS: usize = 100;
/// Longer words are cut to this many characters.
const MAX_WORD_CHARS: usize = 40;

/// The writing system of a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    Cyrillic,
    Latin,
    Other,
}

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Letters only.
    Word,
    /// Digits, possibly with `.`, `:`, `/` or `-` between digits ("15.01", "16:30").
    Number,
    /// `№` or `#`.
    Symbol,
}

/// One token: a byte range of [`Normalized::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: u32,
    pub end: u32,
    pub kind: Kind,
    pub script: Script,
}

/// A message after normalisation: tokens separated by single spaces.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    pub text: String,
    pub tokens: Vec<Token>,
    /// Letters seen per script over the whole (capped) message.
    pub cyrillic_letters: usize,
    pub latin_letters: usize,
}

impl Normalized {
    /// The text of token `i`.
    pub fn tok(&self, i: usize) -> &str {
        let t = self.tokens[i];
        &self.text[t.start as usize..t.end as usize]
    }
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

/// Characters that carry no meaning and are dropped: zero-width characters, direction
/// controls, soft hyphens, variation selectors, combining marks.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{0300}'..='\u{036F}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '´')
}

/// Latin letters that look like Cyrillic ones, and back.
fn latin_to_cyrillic(c: char) -> char {
    match c {
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'o' => 'о',
        'p' => 'р',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        other => other,
    }
}

fn cyrillic_to_latin(c: char) -> char {
    match c {
        'а' => 'a',
        'в' => 'b',
        'с' => 'c',
        'е' => 'e',
        'н' => 'h',
        'к' => 'k',
        'м' => 'm',
        'о' => 'o',
        'р' => 'p',
        'т' => 't',
        'х' => 'x',
        'у' => 'y',
        other => other,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
}

/// Builds the normalised text token by token.
struct Builder {
    out: Normalized,
    word: String,
    word_chars: usize,
    class: Option<Class>,
    /// A separator between digits seen right after a digit, kept if a digit follows.
    pending_sep: Option<char>,
    last_letter: Option<char>,
    run: usize,
    full: bool,
}

impl Builder {
    fn new(capacity: usize) -> Builder {
        Builder {
            out: Normalized {
                text: String::with_capacity(capacity + 8),
                tokens: Vec::with_capacity(16),
                cyrillic_letters: 0,
                latin_letters: 0,
            },
            word: String::with_capacity(32),
            word_chars: 0,
            class: None,
            pending_sep: None,
            last_letter: None,
            run: 0,
            full: false,
        }
    }

    fn flush(&mut self) {
        self.pending_sep = None;
        self.last_letter = None;
        self.run = 0;
        let Some(class) = self.class.take() else { return };
        if self.word.is_empty() {
            return;
        }
        if self.out.tokens.len() >= MAX_TOKENS {
            self.full = true;
            self.word.clear();
            self.word_chars = 0;
            return;
        }
        let (kind, script) = match class {
            Class::Digit => (Kind::Number, Script::Other),
            Class::Letter => {
                let (mut cyr, mut lat) = (0usize, 0usize);
                for c in self.word.chars() {
                    if is_cyrillic(c) {
                        cyr += 1;
                    } else if c.is_ascii_alphabetic() {
                        lat += 1;
                    }
                }
                let script = if cyr > 0 && cyr >= lat {
                    Script::Cyrillic
                } else if lat > 0 {
                    Script::Latin
                } else {
                    Script::Other
                };
                (Kind::Word, script)
            }
        };
        if !self.out.text.is_empty() {
            self.out.text.push(' ');
        }
        let start = self.out.text.len();
        let mixed = kind == Kind::Word
            && self.word.chars().any(is_cyrillic)
            && self.word.chars().any(|c| c.is_ascii_alphabetic());
        if mixed {
            for c in self.word.chars() {
                self.out.text.push(match script {
                    Script::Cyrillic => latin_to_cyrillic(c),
                    _ => cyrillic_to_latin(c),
                });
            }
        } else {
            self.out.text.push_str(&self.word);
        }
        let end = self.out.text.len();
        // Offsets fit in u32: the input is capped at MAX_INPUT_BYTES.
        self.out.tokens.push(Token { start: start as u32, end: end as u32, kind, script });
        self.word.clear();
        self.word_chars = 0;
    }

    fn push_symbol(&mut self, c: char) {
        self.flush();
        if self.out.tokens.len() >= MAX_TOKENS {
            self.full = true;
            return;
        }
        if !self.out.text.is_empty() {
            self.out.text.push(' ');
        }
        let start = self.out.text.len();
        self.out.text.push(c);
        let end = self.out.text.len();
        self.out.tokens.push(Token { start: start as u32, end: end as u32, kind: Kind::Symbol, script: Script::Other });
    }

    fn push_letter(&mut self, c: char) {
        if self.class != Some(Class::Letter) {
            self.flush();
            self.class = Some(Class::Letter);
        }
        if is_cyrillic(c) {
            self.out.cyrillic_letters += 1;
        } else if c.is_ascii_alphabetic() {
            self.out.latin_letters += 1;
        }
        if self.last_letter == Some(c) {
            self.run += 1;
            // Three or more of the same letter in a row are stretched speech: keep one.
            if self.run >= 2 {
                if self.run == 2 && self.word.ends_with(c) {
                    self.word.pop();
                    self.word_chars -= 1;
                }
                return;
            }
        } else {
            self.last_letter = Some(c);
            self.run = 0;
        }
        if self.word_chars < MAX_WORD_CHARS {
            self.word.push(c);
            self.word_chars += 1;
        }
    }

    fn push_digit(&mut self, c: char) {
        if self.class != Some(Class::Digit) {
            self.flush();
            self.class = Some(Class::Digit);
        }
        if let Some(sep) = self.pending_sep.take() {
            self.word.push(sep);
        }
        if self.word_chars < MAX_WORD_CHARS {
            self.word.push(c);
            self.word_chars += 1;
        }
    }
}

/// Normalises a message: lower case, ё → е, punctuation, emoji and invisible characters
/// removed, runs of three or more equal letters shortened to one, digits kept (with `.:/-`
/// between digits), `№` and `#` kept as tokens, look-alike letters of the other script
/// inside a word replaced, at most [`MAX_TOKENS`] tokens of the first [`MAX_INPUT_BYTES`].
pub(crate) fn normalize(input: &str) -> Normalized {
    let mut cut = input.len().min(MAX_INPUT_BYTES);
    while !input.is_char_boundary(cut) {
        cut -= 1;
    }
    let input = &input[..cut];
    let composed: Cow<str> = if input.chars().any(|c| ('\u{0300}'..='\u{036F}').contains(&c)) {
        use unicode_normalization::UnicodeNormalization;
        Cow::Owned(input.nfc().collect())
    } else {
        Cow::Borrowed(input)
    };
    let mut b = Builder::new(composed.len());
    let mut chars = composed.chars().peekable();
    while let Some(c) = chars.next() {
        if b.full {
            break;
        }
        if is_invisible(c) {
            continue;
        }
        if c.is_alphabetic() {
            for l in c.to_lowercase() {
                let l = if l == 'ё' { 'е' } else { l };
                b.push_letter(l);
            }
            continue;
        }
        let digit = if c.is_ascii_digit() {
            Some(c)
        } else if ('\u{FF10}'..='\u{FF19}').contains(&c) {
            char::from_u32(c as u32 - 0xFF10 + '0' as u32)
        } else {
            None
        };
        if let Some(d) = digit {
            b.push_digit(d);
            continue;
        }
        if b.class == Some(Class::Digit)
            && b.pending_sep.is_none()
            && matches!(c, '.' | ':' | '/' | '-')
            && chars.peek().is_some_and(|n| n.is_ascii_digit())
        {
            b.pending_sep = Some(c);
            continue;
        }
        if b.class == Some(Class::Letter) && is_apostrophe(c) && chars.peek().is_some_and(|n| n.is_alphabetic()) {
            continue;
        }
        if c == '№' || c == '#' {
            b.push_symbol(c);
            continue;
        }
        b.flush();
    }
    b.flush();
    b.out
}

/// The script of a word (majority of its letters).
pub(crate) fn script_of(word: &str) -> Script {
    let (mut cyr, mut lat) = (0usize, 0usize);
    for c in word.chars() {
        if is_cyrillic(c) {
            cyr += 1;
        } else if c.is_ascii_alphabetic() {
            lat += 1;
        }
    }
    if cyr > 0 && cyr >= lat {
        Script::Cyrillic
    } else if lat > 0 {
        Script::Latin
    } else {
        Script::Other
    }
}

/// The word with every run of equal letters shortened to one ("ссылка" → "сылка").
pub(crate) fn collapse_runs(word: &str) -> Cow<'_, str> {
    let mut prev = None;
    let repeated = word.chars().any(|c| {
        let r = prev == Some(c);
        prev = Some(c);
        r
    });
    if !repeated {
        return Cow::Borrowed(word);
    }
    let mut out = String::with_capacity(word.len());
    let mut prev = None;
    for c in word.chars() {
        if prev != Some(c) {
            out.push(c);
        }
        prev = Some(c);
    }
    Cow::Owned(out)
}

/// Snowball stemmers for the scripts the recogniser knows.
pub(crate) struct Stemmers {
    ru: Stemmer,
    en: Stemmer,
}

impl Stemmers {
    pub fn new() -> Stemmers {
        Stemmers { ru: Stemmer::create(Algorithm::Russian), en: Stemmer::create(Algorithm::English) }
    }

    /// The stem of a normalised word, by the word's own script; other words are returned as is.
    pub fn stem<'a>(&self, word: &'a str, script: Script) -> Cow<'a, str> {
        match script {
            Script::Cyrillic => self.ru.stem(word),
            Script::Latin => self.en.stem(word),
            Script::Other => Cow::Borrowed(word),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        let n = normalize(s);
        (0..n.tokens.len()).map(|i| n.tok(i).to_string()).collect()
    }

    #[test]
    fn punctuation_and_case_are_dropped_and_yo_becomes_ye() {
        assert_eq!(toks("Счёт, ПОЖАЛУЙСТА!!! 🙏"), ["счет", "пожалуйста"]);
    }

    #[test]
    fn stretched_letters_are_shortened_but_double_letters_kept() {
        assert_eq!(toks("приивеееет ссылка"), ["приивет", "ссылка"]);
    }

    #[test]
    fn numbers_keep_their_inner_separators() {
        assert_eq!(toks("в 16:30, 15.01. заказ №78234 #99"), ["в", "16:30", "15.01", "заказ", "№", "78234", "#", "99"]);
    }

    #[test]
    fn letters_and_digits_split_into_tokens() {
        assert_eq!(toks("4pm 15-го"), ["4", "pm", "15", "го"]);
    }

    #[test]
    fn apostrophes_inside_words_are_joined() {
        assert_eq!(toks("What's my balance? don’t"), ["whats", "my", "balance", "dont"]);
    }

    #[test]
    fn invisible_and_direction_characters_are_removed() {
        assert_eq!(toks("ба\u{200B}ла\u{202E}нс\u{FEFF}"), ["баланс"]);
    }

    #[test]
    fn look_alike_latin_letters_in_a_russian_word_are_replaced() {
        let n = normalize("зaкaз");
        assert_eq!(n.tok(0), "заказ");
        assert_eq!(n.tokens[0].script, Script::Cyrillic);
    }

    #[test]
    fn very_long_input_is_capped() {
        let long = "слово ".repeat(5000);
        let n = normalize(&long);
        assert_eq!(n.tokens.len(), MAX_TOKENS);
        let one = "а".repeat(10_000);
        let n = normalize(&one);
        assert!(n.tokens.len() <= 1);
    }

    #[test]
    fn decomposed_letters_are_composed() {
        assert_eq!(toks("пои\u{0306}дем"), ["пойдем"]);
    }

    #[test]
    fn collapsing_runs_shortens_double_letters() {
        assert_eq!(collapse_runs("балланс"), "баланс");
        assert_eq!(collapse_runs("заказ"), "заказ");
    }
}
