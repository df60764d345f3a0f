//! Money: `rust_decimal::Decimal` in code, integer minor units in the store, formatted per locale.

use rust_decimal::Decimal;

use super::Locale;

/// "3 450 ₸" (ru: thin/no-break space groups, symbol after) or "₸3,450" (en: comma groups,
/// symbol before); fractions only when not whole ("1 234,50 ₸" / "₸1,234.50"); negative
/// amounts carry a minus sign. Unknown currencies show their code.
///
/// Amounts are rounded to kopecks/cents first (half away from zero). The Russian form uses
/// U+00A0 NO-BREAK SPACE between digit groups and before the symbol; a currency without a
/// symbol shows its code after the number in both locales ("100 XYZ", also with U+00A0).
/// Currency codes are case-insensitive.
pub fn format_money(amount: Decimal, currency: &str, locale: Locale) -> String {
    format_with_sign(amount, currency, locale, false)
}

/// Like [`format_money`], with "+" before positive amounts ("+3 450 ₸", "+₸3,450"), for
/// lists of transactions. Zero has no sign.
pub fn format_money_signed(amount: Decimal, currency: &str, locale: Locale) -> String {
    format_with_sign(amount, currency, locale, true)
}

const NBSP: char = '\u{a0}';

/// The sign of a currency cabinet knows, by its ISO 4217 code.
fn currency_symbol(code: &str) -> Option<&'static str> {
    Some(match code {
        "KZT" => "₸",
        "RUB" => "₽",
        "USD" => "$",
        "EUR" => "€",
        "GBP" => "£",
        _ => return None,
    })
}

fn format_with_sign(amount: Decimal, currency: &str, locale: Locale, plus: bool) -> String {
    let rounded = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let sign = if rounded.is_zero() {
        ""
    } else if rounded.is_sign_negative() {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };

    // `rounded` has at most two decimal places, so this only pads the fraction.
    let plain = format!("{:.2}", rounded.abs());
    let (int_part, frac_part) = plain.split_once('.').unwrap_or((plain.as_str(), "00"));
    let (group_sep, decimal_sep) = match locale {
        Locale::Ru => (NBSP, ','),
        Locale::En => (',', '.'),
    };
    let mut number = group_digits(int_part, group_sep);
    if frac_part != "00" {
        number.push(decimal_sep);
        number.push_str(frac_part);
    }

    let code = currency.trim().to_ascii_uppercase();
    match (currency_symbol(&code), locale) {
        (Some(symbol), Locale::En) => format!("{sign}{symbol}{number}"),
        (Some(symbol), Locale::Ru) => format!("{sign}{number}{NBSP}{symbol}"),
        (None, _) if code.is_empty() => format!("{sign}{number}"),
        (None, _) => format!("{sign}{number}{NBSP}{code}"),
    }
}

/// A count of things (bonus points) grouped like money: "1 200" (no-break space) / "1,200".
pub fn format_count(n: i64, locale: Locale) -> String {
    let sep = match locale {
        Locale::Ru => NBSP,
        Locale::En => ',',
    };
    let grouped = group_digits(&n.unsigned_abs().to_string(), sep);
    if n < 0 { format!("-{grouped}") } else { grouped }
}

/// "1234567" → "1 234 567" with `sep` between groups of three digits.
fn group_digits(digits: &str, sep: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * sep.len_utf8());
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Decimal → minor units (2 decimal places, rounded half away from zero).
pub fn to_minor(amount: Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (amount * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(if amount.is_sign_negative() { i64::MIN } else { i64::MAX })
}

/// Minor units → Decimal with its scale normalised ("345000" → 3450).
pub fn from_minor(minor: i64) -> Decimal {
    Decimal::new(minor, 2).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn counts_are_grouped_like_money() {
        assert_eq!(format_count(1200, Locale::Ru), "1\u{a0}200");
        assert_eq!(format_count(1200, Locale::En), "1,200");
        assert_eq!(format_count(999, Locale::En), "999");
        assert_eq!(format_count(1_234_567, Locale::En), "1,234,567");
        assert_eq!(format_count(-1500, Locale::Ru), "-1\u{a0}500");
        assert_eq!(format_count(0, Locale::Ru), "0");
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// Writes U+00A0 as "_" so that expectations are readable.
    fn ru(amount: &str, currency: &str) -> String {
        format_money(d(amount), currency, Locale::Ru).replace('\u{a0}', "_")
    }

    fn en(amount: &str, currency: &str) -> String {
        format_money(d(amount), currency, Locale::En)
    }

    #[test]
    fn russian_amounts_group_thousands_with_no_break_spaces_and_put_the_symbol_after() {
        assert_eq!(format_money(d("3450"), "KZT", Locale::Ru), "3\u{a0}450\u{a0}₸");
        assert_eq!(ru("89990", "KZT"), "89_990_₸");
        assert_eq!(ru("1000000", "KZT"), "1_000_000_₸");
    }

    #[test]
    fn english_amounts_group_thousands_with_commas_and_put_the_symbol_before() {
        assert_eq!(en("3450", "KZT"), "₸3,450");
        assert_eq!(en("89990", "KZT"), "₸89,990");
        assert_eq!(en("1000000", "KZT"), "₸1,000,000");
    }

    #[test]
    fn small_amounts_have_no_group_separator() {
        assert_eq!(ru("890", "KZT"), "890_₸");
        assert_eq!(en("999", "KZT"), "₸999");
        assert_eq!(en("1000", "KZT"), "₸1,000");
    }

    #[test]
    fn whole_amounts_show_no_fraction_even_with_a_scale() {
        assert_eq!(ru("3450.00", "KZT"), "3_450_₸");
        assert_eq!(en("3450.000", "KZT"), "₸3,450");
        assert_eq!(en(&from_minor(345000).to_string(), "KZT"), "₸3,450");
    }

    #[test]
    fn fractional_amounts_show_two_digits_with_the_locale_decimal_separator() {
        assert_eq!(ru("1234.5", "KZT"), "1_234,50_₸");
        assert_eq!(en("1234.5", "KZT"), "₸1,234.50");
        assert_eq!(en("0.07", "USD"), "$0.07");
    }

    #[test]
    fn fractions_are_rounded_to_two_digits_half_away_from_zero() {
        assert_eq!(en("1.005", "USD"), "$1.01");
        assert_eq!(en("-1.005", "USD"), "-$1.01");
        assert_eq!(en("9.999", "USD"), "$10");
    }

    #[test]
    fn negative_amounts_carry_an_ascii_minus() {
        assert_eq!(ru("-890", "KZT"), "-890_₸");
        assert_eq!(en("-890", "KZT"), "-₸890");
        assert_eq!(en("-1234.5", "EUR"), "-€1,234.50");
    }

    #[test]
    fn zero_and_amounts_rounding_to_zero_have_no_sign() {
        assert_eq!(ru("0", "KZT"), "0_₸");
        assert_eq!(en("0", "KZT"), "₸0");
        assert_eq!(ru("-0.001", "KZT"), "0_₸");
        assert_eq!(format_money_signed(d("0"), "KZT", Locale::En), "₸0");
    }

    #[test]
    fn known_currencies_have_their_symbols() {
        for (code, symbol) in [("KZT", "₸"), ("RUB", "₽"), ("USD", "$"), ("EUR", "€"), ("GBP", "£")] {
            assert_eq!(en("5", code), format!("{symbol}5"));
            assert_eq!(ru("5", code), format!("5_{symbol}"));
        }
    }

    #[test]
    fn currency_codes_are_case_insensitive() {
        assert_eq!(en("5", "kzt"), "₸5");
        assert_eq!(ru("5", " rub "), "5_₽");
    }

    #[test]
    fn unknown_currencies_show_their_code_after_the_number_in_both_locales() {
        assert_eq!(ru("100", "XYZ"), "100_XYZ");
        assert_eq!(en("100", "XYZ").replace('\u{a0}', "_"), "100_XYZ");
        assert_eq!(en("-1234.5", "usdt").replace('\u{a0}', "_"), "-1,234.50_USDT");
    }

    #[test]
    fn an_empty_currency_shows_the_number_alone() {
        assert_eq!(ru("1500", ""), "1_500");
        assert_eq!(en("1500", ""), "1,500");
    }

    #[test]
    fn signed_amounts_put_a_plus_before_positive_amounts() {
        let ru_signed = |s| format_money_signed(d(s), "KZT", Locale::Ru).replace('\u{a0}', "_");
        assert_eq!(ru_signed("3450"), "+3_450_₸");
        assert_eq!(ru_signed("-890"), "-890_₸");
        assert_eq!(format_money_signed(d("3450"), "KZT", Locale::En), "+₸3,450");
        assert_eq!(format_money_signed(d("-890"), "KZT", Locale::En), "-₸890");
    }

    #[test]
    fn the_largest_decimal_is_formatted_without_panicking() {
        let max = en(&Decimal::MAX.to_string(), "KZT");
        assert!(max.starts_with("₸79,228,162,514,"), "{max}");
        let min = ru(&Decimal::MIN.to_string(), "KZT");
        assert!(min.starts_with("-79_228_162_514_"), "{min}");
    }

    #[test]
    fn minor_units_round_trip() {
        assert_eq!(to_minor(d("3450")), 345000);
        assert_eq!(to_minor(d("12.345")), 1235);
        assert_eq!(to_minor(d("-12.345")), -1235);
        assert_eq!(from_minor(345000), d("3450"));
        assert_eq!(from_minor(to_minor(d("1234.5"))), d("1234.5"));
    }
}
