//! Dates and times as customers read them, per locale, in the business's time zone.

use chrono::{NaiveDate, NaiveDateTime};

use super::Locale;

/// "15 января" / "January 15".
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    todo!("{date} {locale}")
}

/// "15 января 2024" / "January 15, 2024".
pub fn format_date_with_year(date: NaiveDate, locale: Locale) -> String {
    todo!("{date} {locale}")
}

/// "15 января, 14:30" / "January 15, 14:30" (24-hour in both).
pub fn format_date_time(at: NaiveDateTime, locale: Locale) -> String {
    todo!("{at} {locale}")
}

/// "14:30".
pub fn format_time(at: NaiveDateTime) -> String {
    at.format("%H:%M").to_string()
}
