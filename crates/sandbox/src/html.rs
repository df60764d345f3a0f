//! Telegram's text formatting as the sandbox applies it: the HTML parse mode (what the user
//! reads plus message entities, rejecting what Telegram rejects), trimming, and UTF-16 lengths.

use serde_json::{Value, json};

/// A formatting entity over the text, offsets and lengths in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entity {
    pub kind: EntityKind,
    pub offset: usize,
    pub length: usize,
}

/// The kinds of entities the HTML parse mode produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntityKind {
    Bold,
    Italic,
    Underline,
    Strikethrough,
    Spoiler,
    Code,
    Pre { language: Option<String> },
    TextLink { url: String },
    Blockquote,
    ExpandableBlockquote,
    CustomEmoji { id: String },
}

impl Entity {
    /// The entity as a Bot API `MessageEntity` object.
    pub(crate) fn to_json(&self) -> Value {
        let (kind, extra): (&str, Option<(&str, &str)>) = match &self.kind {
            EntityKind::Bold => ("bold", None),
            EntityKind::Italic => ("italic", None),
            EntityKind::Underline => ("underline", None),
            EntityKind::Strikethrough => ("strikethrough", None),
            EntityKind::Spoiler => ("spoiler", None),
            EntityKind::Code => ("code", None),
            EntityKind::Pre { language } => ("pre", language.as_deref().map(|l| ("language", l))),
            EntityKind::TextLink { url } => ("text_link", Some(("url", url.as_str()))),
            EntityKind::Blockquote => ("blockquote", None),
            EntityKind::ExpandableBlockquote => ("expandable_blockquote", None),
            EntityKind::CustomEmoji { id } => ("custom_emoji", Some(("custom_emoji_id", id.as_str()))),
        };
        let mut v = json!({ "type": kind, "offset": self.offset, "length": self.length });
        if let (Some((key, value)), Some(obj)) = (extra, v.as_object_mut()) {
            obj.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        v
    }
}

/// Text as the user reads it, with its entities.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Formatted {
    pub text: String,
    pub entities: Vec<Entity>,
}

impl Formatted {
    /// Plain text without entities.
    pub(crate) fn plain(text: &str) -> Formatted {
        Formatted { text: text.to_owned(), entities: Vec::new() }
    }

    /// The length Telegram counts: UTF-16 code units.
    pub(crate) fn utf16_len(&self) -> usize {
        utf16_len(&self.text)
    }

    /// The entities as a JSON array.
    pub(crate) fn entities_json(&self) -> Value {
        Value::Array(self.entities.iter().map(Entity::to_json).collect())
    }

    /// Strips leading and trailing whitespace as Telegram does, moving and clipping the
    /// entities; entities left empty are dropped.
    pub(crate) fn trimmed(self) -> Formatted {
        let start_trimmed = self.text.trim_start();
        let lead = utf16_len(&self.text[..self.text.len() - start_trimmed.len()]);
        let text = start_trimmed.trim_end().to_owned();
        let total = utf16_len(&text);
        let entities = self
            .entities
            .into_iter()
            .filter_map(|e| {
                let start = e.offset.saturating_sub(lead).min(total);
                let end = (e.offset + e.length).saturating_sub(lead).min(total);
                (end > start).then_some(Entity { kind: e.kind, offset: start, length: end - start })
            })
            .collect();
        Formatted { text, entities }
    }
}

/// UTF-16 code units in `s`.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

const TAGS: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "blockquote",
    "tg-emoji",
];

struct Open {
    tag: String,
    /// How many tags were opened before this one (orders entities over the same range).
    order: usize,
    /// href, code language, span class, or custom emoji id.
    argument: String,
    expandable: bool,
    start: usize,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

/// Decodes an HTML entity starting at `pos` (which holds `&`): the character and the
/// position after the entity, or `None` if it is not an entity Telegram knows.
fn decode_entity(s: &[u8], pos: usize) -> Option<(char, usize)> {
    let mut end = pos + 1;
    let code: u32;
    if s.get(end) == Some(&b'#') {
        end += 1;
        let hex = matches!(s.get(end), Some(b'x' | b'X'));
        if hex {
            end += 1;
        }
        let digits_start = end;
        let mut value: u32 = 0;
        while let Some(&b) = s.get(end) {
            let digit = if hex { (b as char).to_digit(16) } else { (b as char).to_digit(10) };
            let Some(digit) = digit else { break };
            value = value.checked_mul(if hex { 16 } else { 10 })?.checked_add(digit)?;
            if value >= 0x10ffff {
                return None;
            }
            end += 1;
        }
        if end == digits_start {
            return None;
        }
        code = value;
    } else {
        let name_start = end;
        while s.get(end).is_some_and(u8::is_ascii_alphabetic) {
            end += 1;
        }
        code = match &s[name_start..end] {
            b"lt" => u32::from(b'<'),
            b"gt" => u32::from(b'>'),
            b"amp" => u32::from(b'&'),
            b"quot" => u32::from(b'"'),
            _ => return None,
        };
    }
    let ch = char::from_u32(code).filter(|&c| c != '\0')?;
    if s.get(end) == Some(&b';') {
        end += 1;
    }
    Some((ch, end))
}

fn cant_parse(reason: String) -> String {
    format!("Bad Request: can't parse entities: {reason}")
}

/// A link target Telegram would keep: absolute http(s)/tg/mailto URLs, or a bare host
/// that becomes `http://…`. `None` drops the link (the text stays).
fn link_url(href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let ok = |u: &url::Url| matches!(u.scheme(), "http" | "https" | "tg" | "mailto" | "ton");
    match url::Url::parse(href) {
        Ok(u) if ok(&u) => Some(u.to_string()),
        Ok(_) => None,
        Err(_) => url::Url::parse(&format!("http://{href}")).ok().filter(|u| u.host().is_some()).map(|u| u.to_string()),
    }
}

/// Parses text in Telegram's HTML parse mode. The error is the full Bot API description
/// (`Bad Request: can't parse entities: …`).
pub(crate) fn parse_html(html: &str) -> Result<Formatted, String> {
    let s = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut utf16 = 0usize;
    let mut stack: Vec<Open> = Vec::new();
    let mut entities: Vec<(usize, Entity)> = Vec::new();
    let mut opened = 0usize;
    let mut languages: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0usize;
    while i < s.len() {
        match s[i] {
            b'&' => {
                let Some((ch, next)) = decode_entity(s, i) else {
                    return Err(cant_parse(format!(
                        "Character '&' is reserved and must be escaped as \"&amp;\" at byte offset {i}"
                    )));
                };
                out.push(ch);
                utf16 += ch.len_utf16();
                i = next;
            }
            b'<' if s.get(i + 1) == Some(&b'/') => {
                let begin = i;
                let Some(open) = stack.pop() else {
                    return Err(cant_parse(format!("Unexpected end tag at byte offset {begin}")));
                };
                let mut j = i + 2;
                while j < s.len() && !is_space(s[j]) && s[j] != b'>' {
                    j += 1;
                }
                let end_name = html[i + 2..j].to_ascii_lowercase();
                while j < s.len() && is_space(s[j]) {
                    j += 1;
                }
                if j >= s.len() || s[j] != b'>' {
                    return Err(cant_parse(format!("Unclosed end tag at byte offset {begin}")));
                }
                if !end_name.is_empty() && end_name != open.tag {
                    return Err(cant_parse(format!(
                        "Unmatched end tag at byte offset {begin}, expected \"</{}>\", found \"</{end_name}>\"",
                        open.tag
                    )));
                }
                close_entity(open, utf16, &mut entities, &mut languages);
                i = j + 1;
            }
            b'<' => {
                let (open, next) = parse_start_tag(html, i, utf16, opened)?;
                opened += 1;
                stack.push(open);
                i = next;
            }
            _ => {
                let end = s[i..].iter().position(|&b| b == b'<' || b == b'&').map_or(s.len(), |p| i + p);
                // `<` and `&` are ASCII, so `i..end` lies on character boundaries.
                let chunk = &html[i..end];
                out.push_str(chunk);
                utf16 += utf16_len(chunk);
                i = end;
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(cant_parse(format!("Can't find end tag corresponding to start tag \"{}\"", open.tag)));
    }
    entities.retain(|(_, e)| e.length > 0);
    entities.sort_by(|(oa, a), (ob, b)| a.offset.cmp(&b.offset).then(b.length.cmp(&a.length)).then(oa.cmp(ob)));
    Ok(Formatted { text: out, entities: entities.into_iter().map(|(_, e)| e).collect() })
}

/// Parses the start tag at `begin` (which holds `<`); returns the open tag and the
/// position after `>`.
fn parse_start_tag(html: &str, begin: usize, utf16: usize, order: usize) -> Result<(Open, usize), String> {
    let s = html.as_bytes();
    let mut i = begin + 1;
    while i < s.len() && !is_space(s[i]) && s[i] != b'>' {
        i += 1;
    }
    if i >= s.len() {
        return Err(cant_parse(format!("Unclosed start tag at byte offset {begin}")));
    }
    let tag = html[begin + 1..i].to_ascii_lowercase();
    if !TAGS.contains(&tag.as_str()) {
        return Err(cant_parse(format!("Unsupported start tag \"{tag}\" at byte offset {begin}")));
    }
    let mut open = Open { tag, order, argument: String::new(), expandable: false, start: utf16 };
    loop {
        while i < s.len() && is_space(s[i]) {
            i += 1;
        }
        if i >= s.len() {
            return Err(cant_parse(format!("Unclosed start tag at byte offset {begin}")));
        }
        if s[i] == b'>' {
            break;
        }
        let name_start = i;
        while i < s.len() && !is_space(s[i]) && s[i] != b'=' && s[i] != b'>' {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        if name.is_empty() {
            return Err(cant_parse(format!("Empty attribute name in the tag \"{}\" at byte offset {begin}", open.tag)));
        }
        while i < s.len() && is_space(s[i]) {
            i += 1;
        }
        if s.get(i) != Some(&b'=') {
            if open.tag == "blockquote" && name == "expandable" {
                open.expandable = true;
                continue;
            }
            return Err(cant_parse(format!(
                "Expected equal sign in declaration of an attribute of the tag \"{}\" at byte offset {begin}",
                open.tag
            )));
        }
        i += 1;
        while i < s.len() && is_space(s[i]) {
            i += 1;
        }
        if i >= s.len() {
            return Err(cant_parse(format!("Unclosed start tag at byte offset {begin}")));
        }
        let mut value = String::new();
        if s[i] == b'"' || s[i] == b'\'' {
            let quote = s[i];
            i += 1;
            while i < s.len() && s[i] != quote {
                if s[i] == b'&'
                    && let Some((ch, next)) = decode_entity(s, i)
                {
                    value.push(ch);
                    i = next;
                    continue;
                }
                let end = s[i..].iter().position(|&b| b == quote || b == b'&').map_or(s.len(), |p| i + p);
                let end = if end == i { i + 1 } else { end };
                // Stops only at ASCII bytes (or one past a lone `&`), so on character boundaries.
                value.push_str(&html[i..end]);
                i = end;
            }
            if i >= s.len() {
                return Err(cant_parse(format!("Unclosed start tag at byte offset {begin}")));
            }
            i += 1;
        } else {
            let token_start = i;
            while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.' || s[i] == b'-') {
                i += 1;
            }
            value = html[token_start..i].to_ascii_lowercase();
            if i >= s.len() || (!is_space(s[i]) && s[i] != b'>') {
                return Err(cant_parse(format!("Unexpected end of name token at byte offset {token_start}")));
            }
        }
        match (open.tag.as_str(), name.as_str()) {
            ("a", "href") | ("tg-emoji", "emoji-id") => open.argument = value,
            ("code", "class") if value.starts_with("language-") => {
                open.argument = value["language-".len()..].to_owned();
            }
            ("span", "class") => open.argument = value,
            _ => {}
        }
    }
    if open.tag == "span" && open.argument != "tg-spoiler" {
        return Err(cant_parse(format!("Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}")));
    }
    Ok((open, i + 1))
}

fn close_entity(
    open: Open,
    end: usize,
    entities: &mut Vec<(usize, Entity)>,
    languages: &mut Vec<(usize, usize, String)>,
) {
    let (offset, length) = (open.start, end - open.start);
    let kind = match open.tag.as_str() {
        "b" | "strong" => EntityKind::Bold,
        "i" | "em" => EntityKind::Italic,
        "u" | "ins" => EntityKind::Underline,
        "s" | "strike" | "del" => EntityKind::Strikethrough,
        "span" | "tg-spoiler" => EntityKind::Spoiler,
        "code" => {
            if !open.argument.is_empty() {
                languages.push((offset, length, open.argument));
            }
            EntityKind::Code
        }
        "blockquote" if open.expandable => EntityKind::ExpandableBlockquote,
        "blockquote" => EntityKind::Blockquote,
        "pre" => {
            // `<pre><code class="language-x">…</code></pre>` is one pre block in language x.
            let same = |o: usize, l: usize| o == offset && l == length;
            let mut language = None;
            if let Some(at) = entities.iter().position(|(_, e)| same(e.offset, e.length) && e.kind == EntityKind::Code)
            {
                entities.remove(at);
                language = languages.iter().position(|(o, l, _)| same(*o, *l)).map(|at| languages.remove(at).2);
            }
            EntityKind::Pre { language }
        }
        "a" => match link_url(&open.argument) {
            Some(url) => EntityKind::TextLink { url },
            None => return,
        },
        "tg-emoji" => {
            if open.argument.is_empty() {
                return;
            }
            EntityKind::CustomEmoji { id: open.argument }
        }
        _ => return,
    };
    entities.push((open.order, Entity { kind, offset, length }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        parse_html(html).map(|f| f.text).unwrap_or_else(|e| panic!("{html}: {e}"))
    }

    fn error(html: &str) -> String {
        match parse_html(html) {
            Ok(f) => panic!("{html} parsed as {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn markup_is_rendered_away_and_entities_unescaped() {
        assert_eq!(
            text("<b>Баланс</b>: 3&#160;450 &lt;₸&gt; &amp; &quot;ok&quot; &#x41;"),
            "Баланс: 3\u{a0}450 <₸> & \"ok\" A"
        );
        assert_eq!(text("<a href=\"https://example.com/?a=1&amp;b=2\">site</a>"), "site");
        assert_eq!(text("<span class=\"tg-spoiler\">x</span><tg-spoiler>y</tg-spoiler>"), "xy");
        assert_eq!(text("<blockquote expandable>q</blockquote>"), "q");
        assert_eq!(text("a > b"), "a > b");
    }

    #[test]
    fn entities_carry_utf16_offsets() {
        let f = parse_html("😀 <b>жирный</b> <i><u>x</u></i>").unwrap_or_default();
        assert_eq!(f.text, "😀 жирный x");
        let kinds: Vec<_> = f.entities.iter().map(|e| (e.kind.clone(), e.offset, e.length)).collect();
        assert_eq!(kinds, vec![(EntityKind::Bold, 3, 6), (EntityKind::Italic, 10, 1), (EntityKind::Underline, 10, 1)]);
    }

    #[test]
    fn a_pre_block_takes_the_language_of_its_code() {
        let f = parse_html("<pre><code class=\"language-rust\">fn main() {}</code></pre>").unwrap_or_default();
        assert_eq!(f.entities.len(), 1);
        assert_eq!(f.entities[0].kind, EntityKind::Pre { language: Some("rust".into()) });
    }

    #[test]
    fn links_keep_valid_urls_and_drop_broken_ones() {
        let f = parse_html("<a href='example.com'>a</a> <a href=\"\">b</a> <a href=\"https://x.kz/p\">c</a>")
            .unwrap_or_default();
        let urls: Vec<_> = f
            .entities
            .iter()
            .map(|e| match &e.kind {
                EntityKind::TextLink { url } => url.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(urls, vec!["http://example.com/", "https://x.kz/p"]);
    }

    #[test]
    fn telegram_rejects_what_is_not_its_html() {
        assert!(error("<br>").contains("Unsupported start tag \"br\" at byte offset 0"));
        assert!(error("<p>x</p>").contains("Unsupported start tag \"p\""));
        assert!(error("a < b").contains("Unsupported start tag \"\" at byte offset 2"));
        assert!(error("<b>bold").contains("Can't find end tag corresponding to start tag \"b\""));
        assert!(
            error("<b><i>x</b></i>").contains("Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\"")
        );
        assert!(error("x</b>").contains("Unexpected end tag at byte offset 1"));
        assert!(error("Tom & Jerry").contains("Character '&' is reserved"));
        assert!(error("&nbsp;").contains("Character '&'"));
        assert!(error("<b").contains("Unclosed start tag"));
        assert!(error("<span>x</span>").contains("must have class \"tg-spoiler\""));
        assert!(error("<b>x</b").contains("Unclosed end tag"));
        assert!(error("<a href=\"x>y</a>").contains("Unclosed start tag"));
        for e in [error("<i>"), error("&")] {
            assert!(e.starts_with("Bad Request: can't parse entities: "), "{e}");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        for html in [
            "<",
            "&",
            "&#",
            "&#x",
            "&#99999999999;",
            "<a href=",
            "<a href='",
            "<a b",
            "</",
            "<b>\u{0}</b>",
            "<a href=é>x</a>",
            "<b \u{444}>",
            "&#xd800;",
        ] {
            let _ = parse_html(html);
        }
    }

    #[test]
    fn random_text_never_panics_and_plain_text_survives() {
        use rand::{Rng, SeedableRng};
        let alphabet: Vec<char> = "<>&/;#x\"'= abпр😀\nbiuspreacodhf-".chars().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let len = rng.gen_range(0..24);
            let s: String = (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
            if let Ok(f) = parse_html(&s) {
                let total = f.utf16_len();
                assert!(f.entities.iter().all(|e| e.offset + e.length <= total), "{s:?} → {f:?}");
            }
        }
        let plain = "Баланс 3 450 ₸ 😀";
        assert_eq!(text(plain), plain);
    }

    #[test]
    fn trimming_moves_and_clips_entities() {
        let f = parse_html("\n  <b>  hi </b>\n").unwrap_or_default().trimmed();
        assert_eq!(f.text, "hi");
        assert_eq!(f.entities, vec![Entity { kind: EntityKind::Bold, offset: 0, length: 2 }]);
        let empty = parse_html("<b> </b>").unwrap_or_default().trimmed();
        assert!(empty.text.is_empty() && empty.entities.is_empty());
    }
}
