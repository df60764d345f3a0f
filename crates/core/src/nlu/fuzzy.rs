//! Typo tolerance: finds the known words within a small edit distance of a token, using an
//! index of deletion variants (symmetric-delete search) so a lookup costs a few dozen hash
//! probes instead of a scan of the vocabulary.

/// Words longer than this (in characters) are not looked up.
const MAX_CHARS: usize = 24;

/// The edit distance allowed between two words, by the length of the shorter one: none
/// below 4 characters, 1 up to 5, 2 beyond.
pub(crate) fn allowed_distance(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=5 => 1,
        _ => 2,
    }
}

fn hash_skipping(chars: &[char], skip_a: usize, skip_b: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &c) in chars.iter().enumerate() {
        if i == skip_a || i == skip_b {
            continue;
        }
        h ^= c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Mix in the length so variants of different lengths rarely share a hash.
    let kept = chars.len() - usize::from(skip_a < chars.len()) - usize::from(skip_b < chars.len());
    h ^ (kept as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Calls `f` with the hash of every variant of `chars` with up to `max` characters deleted.
fn for_each_delete(chars: &[char], max: usize, mut f: impl FnMut(u64)) {
    let n = chars.len();
    let none = usize::MAX;
    f(hash_skipping(chars, none, none));
    if max >= 1 {
        for i in 0..n {
            f(hash_skipping(chars, i, none));
            if max >= 2 {
                for j in i + 1..n {
                    f(hash_skipping(chars, i, j));
                }
            }
        }
    }
}

fn is_vowel(c: char) -> bool {
    "аеиоуыэюяaeiouy".contains(c)
}

/// Both words begin with the same letter, or both with a vowel.
fn same_start(a: &[char], b: &[char]) -> bool {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) => x == y || (is_vowel(*x) && is_vowel(*y)),
        _ => false,
    }
}

/// Optimal-string-alignment distance (adjacent transpositions count as one edit), or
/// `None` when it exceeds `max`.
pub(crate) fn osa_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max || a.len() > MAX_CHARS || b.len() > MAX_CHARS {
        return None;
    }
    let m = b.len();
    let mut prev2 = [0usize; MAX_CHARS + 1];
    let mut prev = [0usize; MAX_CHARS + 1];
    let mut cur = [0usize; MAX_CHARS + 1];
    for (j, p) in prev.iter_mut().enumerate().take(m + 1) {
        *p = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        prev2 = prev;
        prev = cur;
    }
    let d = prev[m];
    (d <= max).then_some(d)
}

/// The vocabulary for typo-tolerant lookups: words with the lexeme each stands for.
#[derive(Default)]
pub(crate) struct FuzzyIndex {
    /// Word, lexeme, the most edits allowed for it.
    words: Vec<(Box<[char]>, u32, usize)>,
    deletes: Vec<(u64, u32)>,
}

impl FuzzyIndex {
    /// Adds a word (ignored when too short or too long to be matched loosely), allowing at
    /// most `cap` edits besides the limit by length.
    pub fn add(&mut self, word: &str, lexeme: u32, cap: usize) {
        let chars: Box<[char]> = word.chars().collect();
        let max = allowed_distance(chars.len()).min(cap);
        if max == 0 || chars.len() > MAX_CHARS {
            return;
        }
        if self.words.iter().any(|(w, l, _)| *l == lexeme && **w == *chars) {
            return;
        }
        let idx = self.words.len() as u32;
        for_each_delete(&chars, max, |h| self.deletes.push((h, idx)));
        self.words.push((chars, lexeme, max));
    }

    /// Makes the index ready for lookups; call once after the last `add`.
    pub fn finish(&mut self) {
        self.deletes.sort_unstable();
        self.deletes.dedup();
        self.deletes.shrink_to_fit();
        self.words.shrink_to_fit();
    }

    /// The lexemes of the closest known words within the allowed distance of `word` and
    /// beginning with the same letter (appended to `out`), and that distance.
    pub fn lookup(&self, word: &str, out: &mut Vec<u32>) -> Option<usize> {
        let mut buf = ['\0'; MAX_CHARS];
        let mut n = 0;
        for c in word.chars() {
            if n == MAX_CHARS {
                return None;
            }
            buf[n] = c;
            n += 1;
        }
        let query = &buf[..n];
        let max = allowed_distance(n);
        if max == 0 {
            return None;
        }
        let mut candidates: Vec<u32> = Vec::new();
        for_each_delete(query, max, |h| {
            let from = self.deletes.partition_point(|&(k, _)| k < h);
            for &(k, w) in &self.deletes[from..] {
                if k != h {
                    break;
                }
                if !candidates.contains(&w) {
                    candidates.push(w);
                }
            }
        });
        let mut best: Option<usize> = None;
        let start = out.len();
        for w in candidates {
            let (chars, lexeme, cap) = &self.words[w as usize];
            let limit = allowed_distance(n.min(chars.len())).min(*cap);
            // A typo in the first letter is rare (but for a vowel heard wrong, «аператор»);
            // accepting any matches too many other words.
            if limit == 0 || !same_start(chars, query) {
                continue;
            }
            // Four-letter words of the same length are too alike ("play", "plan"): only a
            // missing or extra letter is forgiven there ("зака" → "заказ").
            if n.min(chars.len()) == 4 && n == chars.len() {
                continue;
            }
            let Some(d) = osa_distance(query, chars, limit) else { continue };
            match best {
                Some(b) if d > b => {}
                Some(b) if d == b => {
                    if !out[start..].contains(lexeme) {
                        out.push(*lexeme);
                    }
                }
                _ => {
                    best = Some(d);
                    out.truncate(start);
                    out.push(*lexeme);
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn osa_counts_a_swap_of_neighbours_as_one_edit() {
        assert_eq!(osa_distance(&chars("баланс"), &chars("балнас"), 2), Some(1));
        assert_eq!(osa_distance(&chars("документы"), &chars("докуметы"), 2), Some(1));
        assert_eq!(osa_distance(&chars("заказ"), &chars("погода"), 2), None);
    }

    #[test]
    fn a_typo_finds_the_known_word() {
        let mut idx = FuzzyIndex::default();
        idx.add("баланс", 1, 2);
        idx.add("заказ", 2, 2);
        idx.add("документ", 3, 2);
        idx.finish();
        let mut out = Vec::new();
        assert_eq!(idx.lookup("балнс", &mut out), Some(1));
        assert_eq!(out, [1]);
        out.clear();
        assert_eq!(idx.lookup("зака", &mut out), Some(1));
        assert_eq!(out, [2]);
        out.clear();
        assert_eq!(idx.lookup("докуметы", &mut out), Some(2));
        assert_eq!(out, [3]);
    }

    #[test]
    fn four_letter_words_forgive_only_a_missing_or_extra_letter() {
        let mut idx = FuzzyIndex::default();
        idx.add("plan", 1, 2);
        idx.add("hello", 2, 2);
        idx.finish();
        let mut out = Vec::new();
        assert_eq!(idx.lookup("play", &mut out), None);
        assert_eq!(idx.lookup("helo", &mut out), Some(1));
        assert_eq!(out, [2]);
    }

    #[test]
    fn a_wrong_first_letter_is_forgiven_only_between_vowels() {
        let mut idx = FuzzyIndex::default();
        idx.add("оператор", 1, 2);
        idx.add("массаж", 2, 2);
        idx.finish();
        let mut out = Vec::new();
        assert_eq!(idx.lookup("аператор", &mut out), Some(1));
        assert_eq!(idx.lookup("рассаж", &mut out), None);
    }

    #[test]
    fn short_words_and_distant_words_are_not_matched() {
        let mut idx = FuzzyIndex::default();
        idx.add("заказ", 2, 2);
        idx.add("тариф", 4, 2);
        idx.add("скидон", 5, 1);
        idx.finish();
        let mut out = Vec::new();
        assert_eq!(idx.lookup("зак", &mut out), None);
        assert_eq!(idx.lookup("закон", &mut out), None);
        assert_eq!(idx.lookup("погода", &mut out), None);
        assert_eq!(idx.lookup("свидан", &mut out), None);
        assert_eq!(idx.lookup("скидан", &mut out), Some(1));
        out.clear();
        assert!(out.is_empty());
    }
}
