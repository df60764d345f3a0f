//! Phone numbers in E.164.
//!
//! What [`Phone::parse`] accepts:
//! - digits separated by spaces (including no-break and thin spaces), `-`, `.`, `(` and `)`;
//! - an international number: `+` or `00` followed by the country code (not starting with 0)
//!   and the national number, 8 to 15 digits in all;
//! - a number of Kazakhstan or Russia (country code 7) written nationally: 11 digits starting
//!   with the trunk prefix `8` or with `7`, or 10 digits without either;
//! - any other 11 to 15 digits without `+`: taken as international with the country code
//!   (Telegram sends contacts this way: "447700900123").
//!
//! Numbers with country code 7 must have exactly 11 digits. Anything else — letters, a `+`
//! that is not the first character or appears twice, 8 or 9 digits without a country code,
//! fewer than 8 or more than 15 digits — is rejected.

/// A phone number in E.164 form ("+77011234567").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a phone number")]
    Invalid,
}

/// E.164 allows at most 15 digits.
const MAX_DIGITS: usize = 15;
/// Shorter numbers exist only in a few small countries; below this it is more likely garbage.
const MIN_DIGITS: usize = 8;
/// Longer input is rejected before looking at it closely.
const MAX_INPUT_LEN: usize = 64;

impl Phone {
    /// Normalises what people and Telegram send ("8 701 123 45 67", "77011234567",
    /// "+7 (701) 123-45-67", "+44 7700 900123") to E.164; rejects garbage.
    pub fn parse(s: &str) -> Result<Phone, PhoneError> {
        let s = s.trim();
        if s.is_empty() || s.len() > MAX_INPUT_LEN {
            return Err(PhoneError::Invalid);
        }

        let mut plus = false;
        let mut digits = String::with_capacity(MAX_DIGITS);
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => plus = true,
                '-' | '.' | '(' | ')' => {}
                c if c.is_whitespace() => {}
                _ => return Err(PhoneError::Invalid),
            }
        }

        let international = if plus {
            digits
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest.to_owned()
        } else {
            match (digits.len(), digits.as_bytes().first().copied()) {
                (11, Some(b'8')) | (11, Some(b'7')) => format!("7{}", &digits[1..]),
                (10, Some(first)) if first != b'0' => format!("7{digits}"),
                (11..=MAX_DIGITS, _) => digits,
                _ => return Err(PhoneError::Invalid),
            }
        };

        let valid_length = (MIN_DIGITS..=MAX_DIGITS).contains(&international.len());
        let valid_country = !international.starts_with('0');
        let valid_for_seven = !international.starts_with('7') || international.len() == 11;
        if valid_length && valid_country && valid_for_seven {
            Ok(Phone(format!("+{international}")))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as people write it: "+7 701 234 56 78" (country code 7), "+1 555 123 4567"
    /// (country code 1), else the country code and the national number in groups, three
    /// digits at the end twice ("+44 7700 900 123").
    pub fn pretty(&self) -> String {
        let digits = self.0.trim_start_matches('+');
        let (country, national) = digits.split_at(country_code_len(digits).min(digits.len()));
        let n = national.len();
        let cuts: Vec<usize> = match (country, n) {
            ("7", 10) => vec![3, 6, 8],
            ("1", 10) => vec![3, 6],
            (_, n) if n >= 7 => vec![n - 6, n - 3],
            _ => vec![],
        };
        let mut out = format!("+{country}");
        let mut from = 0;
        for cut in cuts.into_iter().chain(std::iter::once(n)) {
            out.push(' ');
            out.push_str(&national[from..cut]);
            from = cut;
        }
        out
    }

    /// The number with its middle digits hidden ("+7 701 ***-**-67"), for staff cards and logs.
    pub fn masked(&self) -> String {
        let digits = self.0.trim_start_matches('+');
        let (country, national) = digits.split_at(country_code_len(digits).min(digits.len()));
        let n = national.len();
        let last = 2.min(n);
        // At least two digits stay hidden however short the national number is.
        let first = 3.min(n.saturating_sub(last + 2));
        let hidden = n - first - last;
        let stars = if hidden >= 4 { format!("{}-**", "*".repeat(hidden - 2)) } else { "*".repeat(hidden) };
        let mut out = format!("+{country} ");
        if first > 0 {
            out.push_str(&national[..first]);
            out.push(' ');
        }
        out.push_str(&stars);
        if last > 0 {
            out.push('-');
            out.push_str(&national[n - last..]);
        }
        out
    }
}

/// How many leading digits of an international number are its country code. Country codes
/// are prefix-free: 1 and 7 are the only one-digit codes, the two-digit ones are listed, the
/// rest have three digits.
fn country_code_len(digits: &str) -> usize {
    const TWO_DIGIT: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pretty_groups_the_digits() {
        let pretty = |s: &str| super::Phone::parse(s).unwrap().pretty();
        assert_eq!(pretty("+77012345678"), "+7 701 234 56 78");
        assert_eq!(pretty("87012345678"), "+7 701 234 56 78");
        assert_eq!(pretty("+447700900123"), "+44 7700 900 123");
        assert_eq!(pretty("+15551234567"), "+1 555 123 4567");
        assert_eq!(pretty("+4930123456"), "+49 30 123 456");
    }

    use super::*;

    fn e164(s: &str) -> String {
        Phone::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}")).as_str().to_owned()
    }

    fn rejected(s: &str) -> bool {
        Phone::parse(s) == Err(PhoneError::Invalid)
    }

    #[test]
    fn a_national_number_with_the_trunk_prefix_eight_and_spaces_is_normalised() {
        assert_eq!(e164("8 701 123 45 67"), "+77011234567");
    }

    #[test]
    fn a_national_number_with_the_trunk_prefix_eight_without_spaces_is_normalised() {
        assert_eq!(e164("87011234567"), "+77011234567");
    }

    #[test]
    fn eleven_digits_starting_with_seven_get_a_plus() {
        assert_eq!(e164("77011234567"), "+77011234567");
    }

    #[test]
    fn a_number_with_plus_brackets_and_dashes_is_normalised() {
        assert_eq!(e164("+7 (701) 123-45-67"), "+77011234567");
    }

    #[test]
    fn ten_national_digits_without_a_trunk_prefix_are_taken_as_country_seven() {
        assert_eq!(e164("7011234567"), "+77011234567");
        assert_eq!(e164("(701) 123-45-67"), "+77011234567");
    }

    #[test]
    fn telegram_contacts_with_and_without_plus_are_the_same_phone() {
        assert_eq!(Phone::parse("77011234567"), Phone::parse("+77011234567"));
        assert_eq!(Phone::parse("447700900123"), Phone::parse("+447700900123"));
    }

    #[test]
    fn a_british_number_with_plus_and_spaces_is_normalised() {
        assert_eq!(e164("+44 7700 900123"), "+447700900123");
    }

    #[test]
    fn a_foreign_number_without_plus_is_taken_as_international() {
        assert_eq!(e164("447700900123"), "+447700900123");
        assert_eq!(e164("14155552671"), "+14155552671");
    }

    #[test]
    fn the_international_prefix_double_zero_is_replaced_by_plus() {
        assert_eq!(e164("00 44 7700 900123"), "+447700900123");
        assert_eq!(e164("0077011234567"), "+77011234567");
    }

    #[test]
    fn no_break_and_thin_spaces_dots_and_surrounding_blanks_are_separators() {
        assert_eq!(e164("+7\u{a0}701\u{a0}123\u{a0}45\u{a0}67"), "+77011234567");
        assert_eq!(e164("8\u{202f}701.123.45.67"), "+77011234567");
        assert_eq!(e164("  +77011234567\n"), "+77011234567");
    }

    #[test]
    fn letters_are_rejected() {
        assert!(rejected("+7 701 CALL ME"));
        assert!(rejected("8701123456a"));
        assert!(rejected("phone"));
    }

    #[test]
    fn an_empty_or_blank_string_is_rejected() {
        assert!(rejected(""));
        assert!(rejected("   "));
    }

    #[test]
    fn only_punctuation_is_rejected() {
        assert!(rejected("+"));
        assert!(rejected("()--.."));
        assert!(rejected("+ ( ) -"));
    }

    #[test]
    fn fewer_than_eight_digits_are_rejected() {
        assert!(rejected("+1234567"));
        assert!(rejected("123-45-67"));
    }

    #[test]
    fn eight_or_nine_digits_without_a_country_code_are_rejected() {
        assert!(rejected("12345678"));
        assert!(rejected("123456789"));
    }

    #[test]
    fn more_than_fifteen_digits_are_rejected() {
        assert!(rejected("+1234567890123456"));
        assert!(rejected("1234567890123456"));
        assert!(rejected(&"7".repeat(500)));
    }

    #[test]
    fn fifteen_digits_with_a_country_code_are_accepted() {
        assert_eq!(e164("+123456789012345"), "+123456789012345");
    }

    #[test]
    fn a_country_code_starting_with_zero_is_rejected() {
        assert!(rejected("+07011234567"));
        assert!(rejected("000447700900123"));
        assert!(rejected("0123456789"));
    }

    #[test]
    fn a_second_plus_or_a_plus_inside_is_rejected() {
        assert!(rejected("++77011234567"));
        assert!(rejected("+7+7011234567"));
        assert!(rejected("7701+1234567"));
    }

    #[test]
    fn a_country_seven_number_of_the_wrong_length_is_rejected() {
        assert!(rejected("+7701123456"));
        assert!(rejected("+770112345678"));
    }

    #[test]
    fn other_separators_and_non_ascii_digits_are_rejected() {
        assert!(rejected("+7/701/1234567"));
        assert!(rejected("+7_701_1234567"));
        assert!(rejected("٨٧٠١١٢٣٤٥٦٧"));
    }

    #[test]
    fn a_kazakh_number_is_masked_with_country_code_first_three_and_last_two_digits() {
        assert_eq!(Phone::parse("87011234567").unwrap().masked(), "+7 701 ***-**-67");
    }

    #[test]
    fn a_british_number_is_masked_after_its_two_digit_country_code() {
        assert_eq!(Phone::parse("+447700900123").unwrap().masked(), "+44 770 ***-**-23");
    }

    #[test]
    fn a_north_american_number_is_masked_after_its_one_digit_country_code() {
        assert_eq!(Phone::parse("+14155552671").unwrap().masked(), "+1 415 ***-**-71");
    }

    #[test]
    fn a_short_number_still_hides_at_least_two_digits() {
        let masked = Phone::parse("+37312345").unwrap().masked();
        assert_eq!(masked, "+373 1 **-45");
        assert_eq!(masked.matches('*').count(), 2);
    }

    #[test]
    fn masking_hides_everything_but_the_shown_digits() {
        let phone = Phone::parse("+998901234567").unwrap();
        let masked = phone.masked();
        assert_eq!(masked, "+998 901 **-**-67");
        let shown: String = masked.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(shown, "99890167");
    }

    #[test]
    fn display_is_the_e164_form() {
        let phone = Phone::parse("8 (701) 123-45-67").unwrap();
        assert_eq!(phone.to_string(), "+77011234567");
    }
}
