//! Text measuring and wrapping: the widths come from the font's own advances (`hmtx`), so a
//! wrapped line fits the width it was wrapped to once drawn with the same font and size.

use ttf_parser::Face;

/// Horizontal metrics of one font face, in font units, read with `ttf-parser`.
pub(crate) struct Metrics {
    face: Face<'static>,
    units_per_em: f32,
    ascender: f32,
    descender: f32,
}

impl Metrics {
    /// Reads the face; `None` when the data is not a font.
    pub(crate) fn new(data: &'static [u8]) -> Option<Self> {
        let face = Face::parse(data, 0).ok()?;
        let units_per_em = f32::from(face.units_per_em());
        if units_per_em <= 0.0 {
            return None;
        }
        let ascender = f32::from(face.ascender()) / units_per_em;
        let descender = f32::from(face.descender()) / units_per_em;
        Some(Metrics { face, units_per_em, ascender, descender })
    }

    /// Whether the font has a glyph for `c` (otherwise it is drawn as `.notdef`).
    #[cfg(test)]
    pub(crate) fn covers(&self, c: char) -> bool {
        self.face.glyph_index(c).is_some()
    }

    /// Advance of one character at size 1; a character the font lacks measures as `.notdef`.
    fn advance(&self, c: char) -> f32 {
        let glyph = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        f32::from(self.face.glyph_hor_advance(glyph).unwrap_or(0)) / self.units_per_em
    }

    /// Width of `text` drawn at `size` points, in points.
    pub(crate) fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// Baseline offset from the top of a line box `line_height` high, for text at `size`: the
    /// glyphs' ascender-to-descender span is centred in the box.
    pub(crate) fn baseline(&self, size: f32, line_height: f32) -> f32 {
        let span = (self.ascender - self.descender) * size;
        (line_height - span) / 2.0 + self.ascender * size
    }
}

/// Horizontal alignment inside a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// The x at which text `text_width` wide starts so that it sits in the box `[left, left + box_width]`
/// with the given alignment. Text wider than the box starts at `left` either way.
pub(crate) fn align_x(align: Align, left: f32, box_width: f32, text_width: f32) -> f32 {
    match align {
        Align::Left => left,
        Align::Right => left + (box_width - text_width).max(0.0),
    }
}

/// Replaces what a single drawn line cannot show: tabs and other breaking whitespace become a
/// plain space, other control characters are dropped. No-break spaces are kept.
fn clean(line: &str) -> String {
    line.chars()
        .filter_map(|c| match c {
            '\u{a0}' | '\u{202f}' | '\u{2007}' => Some(c),
            c if c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Marks that belong to the character before them: a line never starts with one.
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF
        | 0xFE20..=0xFE2F | 0x200D | 0xFE00..=0xFE0F)
}

/// Characters after which a word too long for its line is preferably broken.
fn is_break_after(c: char) -> bool {
    matches!(c, '-' | '/' | '\\' | '_' | '.' | ',' | ';' | ':' | '?' | '&' | '=' | '\u{2010}' | '\u{2013}' | '\u{2014}')
}

/// Wraps `text` into lines no wider than `max_width` points at `size`.
///
/// Lines break at plain spaces (never at a no-break space); a `'\n'` starts a new line, and an empty
/// paragraph stays an empty line. A word wider than the whole line is cut, after a hyphen, slash or
/// similar if one falls within the line, otherwise between two characters. Every returned line
/// fits, except a single character wider than `max_width`, which gets a line of its own.
/// Empty text gives no lines.
pub(crate) fn wrap(metrics: &Metrics, text: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    if text.is_empty() {
        return lines;
    }
    let space = metrics.width(" ", size);
    for paragraph in text.split('\n') {
        let paragraph = clean(paragraph);
        let mut current = String::new();
        let mut current_width = 0.0_f32;
        let mut any = false;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            any = true;
            let word_width = metrics.width(word, size);
            if !current.is_empty() && current_width + space + word_width <= max_width {
                current.push(' ');
                current.push_str(word);
                current_width += space + word_width;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            if word_width <= max_width {
                current = word.to_string();
                current_width = word_width;
            } else {
                let mut pieces = break_word(metrics, word, size, max_width);
                let last = pieces.pop().unwrap_or_default();
                lines.extend(pieces);
                current_width = metrics.width(&last, size);
                current = last;
            }
        }
        if !current.is_empty() {
            lines.push(current);
        } else if !any {
            lines.push(String::new());
        }
    }
    lines
}

/// Cuts one word into pieces that each fit `max_width`.
fn break_word(metrics: &Metrics, word: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece: Vec<char> = Vec::new();
    let mut widths: Vec<f32> = Vec::new();
    // Index into `piece` just after the last preferred break character.
    let mut soft_break: Option<usize> = None;
    for c in word.chars() {
        let w = metrics.advance(c) * size;
        let total: f32 = widths.iter().sum();
        if !piece.is_empty() && total + w > max_width && !is_combining(c) {
            let cut = match soft_break {
                Some(at) if at > 0 && at < piece.len() => at,
                _ => piece.len(),
            };
            pieces.push(piece[..cut].iter().collect::<String>());
            piece.drain(..cut);
            widths.drain(..cut);
            soft_break = None;
            // What stayed after a soft break may still be too wide together with `c`.
            while !piece.is_empty() && widths.iter().sum::<f32>() + w > max_width {
                pieces.push(piece.iter().collect::<String>());
                piece.clear();
                widths.clear();
            }
        }
        piece.push(c);
        widths.push(w);
        if is_break_after(c) {
            soft_break = Some(piece.len());
        }
    }
    if !piece.is_empty() {
        pieces.push(piece.into_iter().collect());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::fonts::{BOLD, REGULAR};

    fn regular() -> Metrics {
        Metrics::new(REGULAR).expect("the embedded regular font parses")
    }

    #[test]
    fn widths_add_up_and_scale_with_size() {
        let m = regular();
        let a = m.width("Счёт ", 10.0);
        let b = m.width("№ 17", 10.0);
        assert!(a > 0.0 && b > 0.0);
        assert!((m.width("Счёт № 17", 10.0) - (a + b)).abs() < 1e-3);
        assert!((m.width("Счёт № 17", 20.0) - 2.0 * (a + b)).abs() < 1e-3);
        assert_eq!(m.width("", 12.0), 0.0);
        // A no-break space is as wide as a space, so "3 450 ₸" keeps its look.
        assert!((m.width("\u{a0}", 10.0) - m.width(" ", 10.0)).abs() < 1e-3);
        // Bold is wider than regular for the same text.
        let bold = Metrics::new(BOLD).expect("the embedded bold font parses");
        assert!(bold.width("Итого", 10.0) > m.width("Итого", 10.0));
    }

    #[test]
    fn baseline_sits_inside_the_line_box() {
        let m = regular();
        let b = m.baseline(10.0, 14.0);
        assert!(b > 7.0 && b < 14.0, "baseline {b}");
    }

    #[test]
    fn wraps_at_spaces_within_the_width() {
        let m = regular();
        let text = "Стрижка модельная с укладкой и мытьём головы, консультация мастера";
        let max = 120.0;
        let lines = wrap(&m, text, 10.0, max);
        assert!(lines.len() >= 3, "{lines:?}");
        for l in &lines {
            assert!(m.width(l, 10.0) <= max, "{l:?} is too wide");
            assert!(!l.starts_with(' ') && !l.ends_with(' '));
        }
        // Nothing lost, nothing added: the words come back in order.
        assert_eq!(lines.join(" "), text);
        // Greedy: the first word of each next line would not have fitted on the line before.
        for pair in lines.windows(2) {
            let next_word = pair[1].split(' ').next().unwrap_or_default();
            assert!(m.width(&format!("{} {next_word}", pair[0]), 10.0) > max);
        }
    }

    #[test]
    fn text_that_fits_stays_one_line() {
        let m = regular();
        assert_eq!(wrap(&m, "Итого", 10.0, 200.0), vec!["Итого"]);
        assert_eq!(wrap(&m, "  two   spaces  ", 10.0, 200.0), vec!["two spaces"]);
        assert!(wrap(&m, "", 10.0, 200.0).is_empty());
    }

    #[test]
    fn never_breaks_at_a_no_break_space() {
        let m = regular();
        let amount = "1\u{a0}234\u{a0}567\u{a0}₸";
        let w = m.width(amount, 10.0);
        // Room for the amount but not for "к оплате" plus the amount.
        let lines = wrap(&m, &format!("к оплате {amount}"), 10.0, w + 1.0);
        assert_eq!(lines.last().map(String::as_str), Some(amount), "{lines:?}");
    }

    #[test]
    fn newlines_are_hard_breaks_and_controls_are_dropped() {
        let m = regular();
        let lines = wrap(&m, "первая\n\nтретья\tстрока\u{7}\r", 10.0, 300.0);
        assert_eq!(lines, vec!["первая", "", "третья строка"]);
    }

    #[test]
    fn long_words_are_cut_to_fit() {
        let m = regular();
        let word = "Электроэнергоснабжение".repeat(4);
        let max = 60.0;
        let lines = wrap(&m, &format!("Услуга {word}"), 10.0, max);
        assert!(lines.len() > 3, "{lines:?}");
        for l in &lines {
            assert!(m.width(l, 10.0) <= max, "{l:?} is too wide");
        }
        assert_eq!(lines[0], "Услуга");
        assert_eq!(lines[1..].concat(), word);
    }

    #[test]
    fn long_words_prefer_a_cut_after_a_hyphen_or_slash() {
        let m = regular();
        let text = "https://example.kz/cabinet/documents/act-2024-12-31";
        let max = m.width("https://example.kz/cabinet/", 10.0) + 2.0;
        let lines = wrap(&m, text, 10.0, max);
        assert_eq!(lines[0], "https://example.kz/cabinet/", "{lines:?}");
        assert_eq!(lines.concat(), text);
        for l in &lines {
            assert!(m.width(l, 10.0) <= max);
        }
    }

    #[test]
    fn a_character_wider_than_the_line_gets_its_own_line() {
        let m = regular();
        let lines = wrap(&m, "ШШШ", 10.0, 1.0);
        assert_eq!(lines, vec!["Ш", "Ш", "Ш"]);
    }

    #[test]
    fn combining_marks_stay_with_their_letter() {
        let m = regular();
        // "й" written as "и" plus a combining breve, many times over.
        let word = "и\u{306}".repeat(30);
        let lines = wrap(&m, &word, 10.0, 40.0);
        assert!(lines.len() > 1);
        for l in &lines {
            assert!(!l.starts_with('\u{306}'), "{l:?}");
        }
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn missing_glyphs_measure_as_notdef() {
        let m = regular();
        assert!(!m.covers('😀'));
        assert!(m.width("😀", 10.0) > 0.0);
        let lines = wrap(&m, &"😀".repeat(50), 10.0, 50.0);
        assert!(lines.len() > 1);
    }

    #[test]
    fn right_alignment_puts_the_end_at_the_right_edge() {
        let m = regular();
        let text = "3\u{a0}450\u{a0}₸";
        let w = m.width(text, 9.0);
        let x = align_x(Align::Right, 300.0, 100.0, w);
        assert!((x + w - 400.0).abs() < 1e-3);
        assert_eq!(align_x(Align::Left, 300.0, 100.0, w), 300.0);
        // Too wide for its box: starts at the left edge rather than sticking out on the left.
        assert_eq!(align_x(Align::Right, 300.0, 10.0, 50.0), 300.0);
    }
}
