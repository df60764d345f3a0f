//! Fluent messages from `locales/<lang>/cabinet.ftl`, embedded in the binary (a directory given
//! in the config overrides them). Every user-facing string comes from here.
//! (Stub interface: the full implementation replaces this.)

use std::path::Path;

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

/// All locales' messages.
pub struct I18n {}

impl I18n {
    /// The messages compiled into the binary.
    pub fn embedded() -> Result<I18n, I18nError> {
        todo!()
    }

    /// Messages from `dir/<lang>/cabinet.ftl` for every locale.
    pub fn from_dir(dir: &Path) -> Result<I18n, I18nError> {
        todo!("{dir:?}")
    }

    /// The message `key` in `locale` with `args`; falls back to the other locale, then to
    /// the key itself (logged as a warning), never panics.
    pub fn t(&self, locale: Locale, key: &str, args: &[(&str, Arg)]) -> String {
        todo!("{locale} {key} {}", args.len())
    }

    /// The keys defined for `locale` (for the parity test and for checks at start-up).
    pub fn keys(&self, locale: Locale) -> Vec<String> {
        todo!("{locale}")
    }
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
