//! Fluent messages from `locales/<lang>/cabinet.ftl`, embedded in the binary (a directory given
//! in the config overrides them). Every user-facing string comes from here.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::domain::Locale;

/// An argument of a message. String arguments are HTML-escaped when the message is
/// rendered (replies use Telegram's HTML parse mode); `Raw` is inserted as is.
#[derive(Debug, Clone)]
pub enum Arg {
    Str(String),
    Raw(String),
    Num(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Str(s.to_owned())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Str(s)
    }
}
impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Str(s.clone())
    }
}
impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Num(n)
    }
}
impl From<u32> for Arg {
    fn from(n: u32) -> Self {
        Arg::Num(n.into())
    }
}
impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Num(n as i64)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum I18nError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{0}")]
    Io(String),
}

/// The name of the message file of every locale.
const FILE_NAME: &str = "cabinet.ftl";

/// One locale's messages.
struct Messages {
    bundle: FluentBundle<FluentResource>,
    /// Message ids (not terms), each with the file and line that defines it.
    keys: BTreeMap<String, (String, usize)>,
}

impl Messages {
    fn new(locale: Locale) -> Messages {
        let mut bundle = FluentBundle::new_concurrent(vec![language_id(locale)]);
        // Telegram shows Unicode isolation marks around arguments as visible garbage.
        bundle.set_use_isolating(false);
        Messages { bundle, keys: BTreeMap::new() }
    }
}

/// All locales' messages.
pub struct I18n {
    /// One entry per locale, in the order of [`Locale::ALL`].
    messages: Vec<(Locale, Messages)>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (locale, messages) in &self.messages {
            map.entry(&locale.as_str(), &messages.keys.len());
        }
        map.finish()
    }
}

impl I18n {
    /// The messages compiled into the binary.
    pub fn embedded() -> Result<I18n, I18nError> {
        I18n::from_sources(&[
            (Locale::Ru, "locales/ru/cabinet.ftl", include_str!("../../../locales/ru/cabinet.ftl")),
            (Locale::En, "locales/en/cabinet.ftl", include_str!("../../../locales/en/cabinet.ftl")),
        ])
    }

    /// Messages from `dir/<lang>/cabinet.ftl` for every locale.
    pub fn from_dir(dir: &Path) -> Result<I18n, I18nError> {
        let mut files = Vec::with_capacity(Locale::ALL.len());
        for locale in Locale::ALL {
            let path = dir.join(locale.as_str()).join(FILE_NAME);
            let content =
                std::fs::read_to_string(&path).map_err(|e| I18nError::Io(format!("{}: {e}", path.display())))?;
            files.push((locale, path.display().to_string(), content));
        }
        let sources: Vec<(Locale, &str, &str)> =
            files.iter().map(|(locale, file, content)| (*locale, file.as_str(), content.as_str())).collect();
        I18n::from_sources(&sources)
    }

    /// Messages from Fluent sources given as (locale, file name used in errors, content).
    /// A locale may have several sources; a locale without any has no messages of its own.
    /// Syntax errors and keys defined twice in a locale are errors naming the file and line.
    pub fn from_sources(sources: &[(Locale, &str, &str)]) -> Result<I18n, I18nError> {
        let mut messages: Vec<(Locale, Messages)> = Locale::ALL.iter().map(|&l| (l, Messages::new(l))).collect();
        for &(locale, file, content) in sources {
            let Some((_, target)) = messages.iter_mut().find(|(l, _)| *l == locale) else {
                continue;
            };
            add_source(target, file, content)?;
        }
        Ok(I18n { messages })
    }

    /// The message `key` in `locale` with `args`; falls back to the other locale, then to
    /// the key itself (logged as a warning), never panics.
    ///
    /// `Arg::Str` values are HTML-escaped, `Arg::Raw` values are inserted as they are and
    /// `Arg::Num` values are Fluent numbers (plural selectors work on them). Formatting
    /// problems such as a missing argument are logged; the message is still returned.
    pub fn t(&self, locale: Locale, key: &str, args: &[(&str, Arg)]) -> String {
        let order = std::iter::once(locale).chain(Locale::ALL.into_iter().filter(|&l| l != locale));
        for candidate in order {
            let Some(messages) = self.messages(candidate) else {
                continue;
            };
            let Some(pattern) = messages.bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            if candidate != locale {
                tracing::warn!(%locale, key, fallback = %candidate, "message missing in locale");
            }
            let fluent_args = fluent_args(args);
            let mut errors = Vec::new();
            let text = messages.bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            for error in &errors {
                tracing::warn!(locale = %candidate, key, %error, "message formatting problem");
            }
            return text.into_owned();
        }
        tracing::warn!(%locale, key, "message missing in every locale");
        key.to_owned()
    }

    /// The keys defined for `locale` (for the parity test and for checks at start-up).
    pub fn keys(&self, locale: Locale) -> Vec<String> {
        self.messages(locale).map(|m| m.keys.keys().cloned().collect()).unwrap_or_default()
    }

    fn messages(&self, locale: Locale) -> Option<&Messages> {
        self.messages.iter().find(|(l, _)| *l == locale).map(|(_, m)| m)
    }
}

fn language_id(locale: Locale) -> LanguageIdentifier {
    // "ru" and "en" are well-formed language tags; the default (und) only guards the type.
    locale.as_str().parse().unwrap_or_default()
}

fn fluent_args<'a>(args: &'a [(&'a str, Arg)]) -> FluentArgs<'a> {
    let mut out = FluentArgs::with_capacity(args.len());
    for (name, arg) in args {
        let value = match arg {
            Arg::Str(s) => FluentValue::String(Cow::Owned(escape_html(s))),
            Arg::Raw(s) => FluentValue::String(Cow::Borrowed(s.as_str())),
            Arg::Num(n) => FluentValue::from(*n),
        };
        out.set(*name, value);
    }
    out
}

/// Parses `content` and adds it to `target`, reporting the first syntax error or duplicate.
fn add_source(target: &mut Messages, file: &str, content: &str) -> Result<(), I18nError> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let parse_error = |line: usize, message: String| I18nError::Parse {
        file: file.to_owned(),
        message: format!("line {line}: {message}"),
    };

    let resource = match FluentResource::try_new(content.to_owned()) {
        Ok(resource) => resource,
        Err((_, errors)) => {
            let first = errors.iter().min_by_key(|e| e.pos.start);
            return Err(match first {
                Some(e) => parse_error(line_of(content, e.pos.start), e.kind.to_string()),
                None => parse_error(1, "invalid Fluent".to_owned()),
            });
        }
    };

    // The parser keeps no positions, so definitions are found by their lines: in a file
    // that parsed cleanly, every line starting with an identifier (or "-" and one, for a
    // term) begins an entry.
    let mut terms: BTreeMap<&str, usize> = BTreeMap::new();
    let mut new_keys = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let line_no = index + 1;
        let Some((id, is_term)) = entry_id(line) else {
            continue;
        };
        if is_term {
            if let Some(first) = terms.insert(id, line_no) {
                return Err(parse_error(line_no, format!("term -{id} is already defined on line {first}")));
            }
            continue;
        }
        if let Some((first_file, first_line)) = target.keys.get(id) {
            let place = if first_file == file {
                format!("line {first_line}")
            } else {
                format!("{first_file}, line {first_line}")
            };
            return Err(parse_error(line_no, format!("key {id} is already defined on {place}")));
        }
        target.keys.insert(id.to_owned(), (file.to_owned(), line_no));
        new_keys.push(id.to_owned());
    }

    if let Err(errors) = target.bundle.add_resource(resource) {
        // Only a term or message defined in an earlier file of this locale can get here.
        let message = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(I18nError::Parse { file: file.to_owned(), message });
    }
    Ok(())
}

/// The id defined on `line` and whether it is a term, if the line starts an entry.
fn entry_id(line: &str) -> Option<(&str, bool)> {
    let (rest, is_term) = match line.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
    let (id, after) = rest.split_at(end);
    after.trim_start_matches(' ').starts_with('=').then_some((id, is_term))
}

/// The 1-based line of the byte offset `pos` in `source`; an error at the end of the file
/// (an unclosed placeable, say) is on its last line with text.
fn line_of(source: &str, pos: usize) -> usize {
    let end = pos.min(source.trim_end().len());
    source.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Escapes `&`, `<`, `>` and `"` for Telegram's HTML parse mode.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RU: &str = "\
hello = Привет, { $name }!
items =
    { $n ->
        [one] { $n } товар
        [few] { $n } товара
       *[many] { $n } товаров
    }
link = Ссылка: { $url }
only-ru = Только по-русски
-brand = Кабинет
about = О программе { -brand }
";

    const EN: &str = "\
hello = Hello, { $name }!
items =
    { $n ->
        [one] { $n } item
       *[other] { $n } items
    }
link = Link: { $url }
about = About
";

    fn i18n() -> I18n {
        I18n::from_sources(&[(Locale::Ru, "ru.ftl", RU), (Locale::En, "en.ftl", EN)]).unwrap()
    }

    fn parse_error(content: &str) -> (String, String) {
        match I18n::from_sources(&[(Locale::Ru, "locales/ru/cabinet.ftl", content)]) {
            Err(I18nError::Parse { file, message }) => (file, message),
            Err(other) => panic!("not a parse error: {other}"),
            Ok(_) => panic!("{content:?} was accepted"),
        }
    }

    #[test]
    fn the_i18n_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<I18n>();
    }

    #[test]
    fn a_message_is_rendered_with_its_arguments_and_no_isolation_marks() {
        let text = i18n().t(Locale::Ru, "hello", &[("name", "Ерлан".into())]);
        assert_eq!(text, "Привет, Ерлан!");
        assert_eq!(i18n().t(Locale::En, "hello", &[("name", "John".into())]), "Hello, John!");
    }

    #[test]
    fn russian_plurals_follow_one_few_many() {
        let i18n = i18n();
        let items = |n: i64| i18n.t(Locale::Ru, "items", &[("n", n.into())]);
        assert_eq!(items(1), "1 товар");
        assert_eq!(items(2), "2 товара");
        assert_eq!(items(5), "5 товаров");
        assert_eq!(items(11), "11 товаров");
        assert_eq!(items(21), "21 товар");
        assert_eq!(items(22), "22 товара");
        assert_eq!(items(0), "0 товаров");
    }

    #[test]
    fn english_plurals_follow_one_other() {
        let i18n = i18n();
        let items = |n: i64| i18n.t(Locale::En, "items", &[("n", n.into())]);
        assert_eq!(items(1), "1 item");
        assert_eq!(items(2), "2 items");
        assert_eq!(items(21), "21 items");
        assert_eq!(items(0), "0 items");
    }

    #[test]
    fn numbers_are_written_without_grouping() {
        let text = i18n().t(Locale::En, "items", &[("n", 1_234_567i64.into())]);
        assert_eq!(text, "1234567 items");
    }

    #[test]
    fn string_arguments_are_html_escaped() {
        let text = i18n().t(Locale::En, "hello", &[("name", "<b>Tom & \"Jerry\"</b>".into())]);
        assert_eq!(text, "Hello, &lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;!");
    }

    #[test]
    fn raw_arguments_are_inserted_as_they_are() {
        let link = Arg::Raw("<a href=\"https://example.com\">example</a>".to_owned());
        let text = i18n().t(Locale::En, "link", &[("url", link)]);
        assert_eq!(text, "Link: <a href=\"https://example.com\">example</a>");
    }

    #[test]
    fn terms_can_be_referenced_but_are_not_keys() {
        let i18n = i18n();
        assert_eq!(i18n.t(Locale::Ru, "about", &[]), "О программе Кабинет");
        assert!(!i18n.keys(Locale::Ru).iter().any(|k| k.contains("brand")));
    }

    #[test]
    fn a_key_missing_in_a_locale_falls_back_to_the_other_locale() {
        assert_eq!(i18n().t(Locale::En, "only-ru", &[]), "Только по-русски");
    }

    #[test]
    fn a_key_missing_everywhere_is_returned_as_it_is() {
        assert_eq!(i18n().t(Locale::Ru, "no-such-key", &[]), "no-such-key");
        assert_eq!(i18n().t(Locale::En, "", &[]), "");
    }

    #[test]
    fn a_missing_argument_does_not_panic() {
        let text = i18n().t(Locale::En, "hello", &[]);
        assert!(text.starts_with("Hello, "), "{text}");
        assert!(!text.contains("John"));
    }

    #[test]
    fn a_locale_without_sources_uses_the_other_locale() {
        let i18n = I18n::from_sources(&[(Locale::Ru, "ru.ftl", RU)]).unwrap();
        assert!(i18n.keys(Locale::En).is_empty());
        assert_eq!(i18n.t(Locale::En, "only-ru", &[]), "Только по-русски");
    }

    #[test]
    fn keys_are_the_message_ids_of_the_locale() {
        let i18n = i18n();
        assert_eq!(i18n.keys(Locale::Ru), ["about", "hello", "items", "link", "only-ru"]);
        assert_eq!(i18n.keys(Locale::En), ["about", "hello", "items", "link"]);
    }

    #[test]
    fn a_syntax_error_names_the_file_and_its_line() {
        let (file, message) = parse_error("ok = Fine\n\n# comment\nbroken { $x\nalso-ok = Fine\n");
        assert_eq!(file, "locales/ru/cabinet.ftl");
        assert!(message.starts_with("line 4: "), "{message}");
    }

    #[test]
    fn an_unclosed_placeable_on_a_later_line_is_reported_on_that_line() {
        let (_, message) = parse_error("a = A\nb = B\nc = C { $x\n");
        assert!(message.starts_with("line 3: "), "{message}");
    }

    #[test]
    fn a_key_defined_twice_is_an_error_naming_both_lines() {
        let (file, message) = parse_error("greeting = Hi\nother = X\ngreeting = Hello\n");
        assert_eq!(file, "locales/ru/cabinet.ftl");
        assert!(message.starts_with("line 3: "), "{message}");
        assert!(message.contains("greeting"), "{message}");
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn a_key_defined_in_two_files_of_a_locale_is_an_error() {
        let result = I18n::from_sources(&[(Locale::En, "a.ftl", "x = 1\n"), (Locale::En, "b.ftl", "y = 2\nx = 3\n")]);
        match result {
            Err(I18nError::Parse { file, message }) => {
                assert_eq!(file, "b.ftl");
                assert!(message.starts_with("line 2: "), "{message}");
                assert!(message.contains("a.ftl"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_same_key_in_two_locales_is_fine() {
        assert!(I18n::from_sources(&[(Locale::Ru, "r", "x = 1"), (Locale::En, "e", "x = 2")]).is_ok());
    }

    #[test]
    fn a_byte_order_mark_and_windows_line_ends_are_accepted() {
        let i18n = I18n::from_sources(&[(Locale::En, "e", "\u{feff}a = A\r\nb = B\r\n")]).unwrap();
        assert_eq!(i18n.keys(Locale::En), ["a", "b"]);
        assert_eq!(i18n.t(Locale::En, "b", &[]), "B");
    }

    #[test]
    fn messages_are_read_from_a_directory_of_locales() {
        let dir = tempfile::tempdir().unwrap();
        for (lang, text) in [("ru", "hi = Привет"), ("en", "hi = Hi")] {
            std::fs::create_dir_all(dir.path().join(lang)).unwrap();
            std::fs::write(dir.path().join(lang).join("cabinet.ftl"), text).unwrap();
        }
        let i18n = I18n::from_dir(dir.path()).unwrap();
        assert_eq!(i18n.t(Locale::Ru, "hi", &[]), "Привет");
        assert_eq!(i18n.t(Locale::En, "hi", &[]), "Hi");
    }

    #[test]
    fn a_missing_locale_file_in_a_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ru")).unwrap();
        std::fs::write(dir.path().join("ru").join("cabinet.ftl"), "hi = Привет").unwrap();
        match I18n::from_dir(dir.path()) {
            Err(I18nError::Io(message)) => assert!(message.contains("cabinet.ftl"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_syntax_error_in_a_directory_names_the_file_path() {
        let dir = tempfile::tempdir().unwrap();
        for (lang, text) in [("ru", "hi = Привет"), ("en", "hi = { oops")] {
            std::fs::create_dir_all(dir.path().join(lang)).unwrap();
            std::fs::write(dir.path().join(lang).join("cabinet.ftl"), text).unwrap();
        }
        match I18n::from_dir(dir.path()) {
            Err(I18nError::Parse { file, message }) => {
                assert!(file.ends_with("cabinet.ftl") && file.contains("en"), "{file}");
                assert!(message.starts_with("line 1: "), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_embedded_messages_load() {
        let i18n = I18n::embedded().unwrap();
        assert!(!i18n.keys(Locale::Ru).is_empty());
    }

    #[test]
    fn every_locale_has_exactly_the_keys_of_russian() {
        let i18n = I18n::embedded().unwrap();
        let russian: std::collections::BTreeSet<String> = i18n.keys(Locale::Ru).into_iter().collect();
        let mut problems = Vec::new();
        for locale in Locale::ALL.into_iter().filter(|&l| l != Locale::Ru) {
            let keys: std::collections::BTreeSet<String> = i18n.keys(locale).into_iter().collect();
            let missing: Vec<_> = russian.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&russian).collect();
            if !missing.is_empty() {
                problems.push(format!("{locale} lacks {missing:?}"));
            }
            if !extra.is_empty() {
                problems.push(format!("{locale} has keys Russian lacks: {extra:?}"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
