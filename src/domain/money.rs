//! Money: `rust_decimal::Decimal` in code, integer minor units in the store, formatted per locale.

use rust_decimal::Decimal;

use super::Locale;

/// "3 450 ₸" (ru: thin/no-break space groups, symbol after) or "₸3,450" (en: comma groups,
/// symbol before); fractions only when not whole ("1 234,50 ₸" / "₸1,234.50"); negative
/// amounts carry a minus sign. Unknown currencies show their code.
pub fn format_money(amount: Decimal, currency: &str, locale: Locale) -> String {
    todo!("{amount} {currency} {locale}")
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

/// [`format_money`] with a "+" before positive amounts (for lists of operations).
pub fn format_money_signed(amount: Decimal, currency: &str, locale: Locale) -> String {
    todo!("{amount} {currency} {locale}")
}
