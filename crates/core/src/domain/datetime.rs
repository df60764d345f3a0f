//! Dates and times as customers read them, per locale, in the business's time zone.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::Locale;

const RU_NOMINATIVE: [&str; 12] = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
];

const RU_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

const EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The name of `month` (1–12) on its own: "декабрь" (lowercase, nominative) / "December".
/// Months outside 1–12 give an empty string.
pub fn month_name(month: u32, locale: Locale) -> &'static str {
    let table = match locale {
        Locale::Ru => &RU_NOMINATIVE,
        Locale::En => &EN,
    };
    month_in(table, month)
}

/// The name of `month` (1–12) after a day number: "января" (genitive) / "January".
/// Months outside 1–12 give an empty string.
pub fn month_name_after_day(month: u32, locale: Locale) -> &'static str {
    let table = match locale {
        Locale::Ru => &RU_GENITIVE,
        Locale::En => &EN,
    };
    month_in(table, month)
}

fn month_in(table: &[&'static str; 12], month: u32) -> &'static str {
    month.checked_sub(1).and_then(|i| table.get(i as usize)).copied().unwrap_or("")
}

/// "15 января" / "January 15".
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    let (day, month) = (date.day(), month_name_after_day(date.month(), locale));
    match locale {
        Locale::Ru => format!("{day} {month}"),
        Locale::En => format!("{month} {day}"),
    }
}

/// "15 января 2024" / "January 15, 2024".
pub fn format_date_with_year(date: NaiveDate, locale: Locale) -> String {
    let year = date.year();
    match locale {
        Locale::Ru => format!("{} {year}", format_date(date, locale)),
        Locale::En => format!("{}, {year}", format_date(date, locale)),
    }
}

/// "15 января, 14:30" / "January 15, 14:30" (24-hour in both).
pub fn format_date_time(at: NaiveDateTime, locale: Locale) -> String {
    format!("{}, {}", format_date(at.date(), locale), format_time(at))
}

/// "14:30".
pub fn format_time(at: NaiveDateTime) -> String {
    at.format("%H:%M").to_string()
}

/// «сегодня», «завтра», «послезавтра», else «пн, 13 января» / "Mon, January 13": how a day
/// near `today` is named in a list of times.
pub fn day_label(date: NaiveDate, today: NaiveDate, locale: Locale) -> String {
    match ((date - today).num_days(), locale) {
        (0, Locale::Ru) => "сегодня".into(),
        (1, Locale::Ru) => "завтра".into(),
        (2, Locale::Ru) => "послезавтра".into(),
        (0, Locale::En) => "today".into(),
        (1, Locale::En) => "tomorrow".into(),
        _ => format!("{}, {}", weekday_short(date.weekday(), locale), format_date(date, locale)),
    }
}

/// A day named once with its date: «завтра (12 января)», "tomorrow (January 12)" for the days
/// [`day_label`] names in words, else its «пн, 13 января» / "Mon, January 13" as it is.
pub fn day_with_date(date: NaiveDate, today: NaiveDate, locale: Locale) -> String {
    let label = day_label(date, today, locale);
    let dated = format_date(date, locale);
    if label.contains(&dated) { label } else { format!("{label} ({dated})") }
}

/// A short span for staff: «12 мин», «40 с» / "12 min", "40 s" (whole minutes from one
/// minute on, else seconds).
pub fn format_duration(d: chrono::Duration, locale: Locale) -> String {
    let (min, sec) = match locale {
        Locale::Ru => ("мин", "с"),
        Locale::En => ("min", "s"),
    };
    let minutes = d.num_minutes();
    if minutes >= 1 { format!("{minutes}\u{a0}{min}") } else { format!("{}\u{a0}{sec}", d.num_seconds().max(0)) }
}

/// «пн» / "Mon".
pub fn weekday_short(day: chrono::Weekday, locale: Locale) -> &'static str {
    const RU: [&str; 7] = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = day.num_days_from_monday() as usize;
    match locale {
        Locale::Ru => RU[i],
        Locale::En => EN[i],
    }
}

/// «в декабре»: the Russian month after «в», for titles that use it.
const RU_PREPOSITIONAL: [&str; 12] = [
    "январе",
    "феврале",
    "марте",
    "апреле",
    "мае",
    "июне",
    "июле",
    "августе",
    "сентябре",
    "октябре",
    "ноябре",
    "декабре",
];

/// `text` with every month it names moved by `months`, each in the same language, case form
/// and capitalisation, and the year written after it moved along: «Акт за декабрь 2024»
/// moved by 23 months is «Акт за ноябрь 2026», "Invoice for January 2025" by 1 is "Invoice for
/// February 2025", «Тариф, январь» by -1 is «Тариф, декабрь». A year is recognised right
/// after the month («декабрь 2024», «31 декабря 2024», "December 2024") or after its day
/// ("December 31, 2024"); the day itself is left as it is. English names count only when
/// capitalised ("may" is a verb); Russian ones in the nominative, genitive and prepositional.
pub fn shift_month_names(text: &str, months: i32) -> String {
    if months == 0 {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(char::is_alphabetic) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        rest = after;
        let Some((table, month0)) = month_word(word) else {
            out.push_str(word);
            continue;
        };
        let year = year_after(after);
        let index = i64::from(year.map_or(0, |(y, _, _)| y)) * 12 + month0 as i64 + i64::from(months);
        let name = table[index.rem_euclid(12) as usize];
        out.push_str(&same_case(word, name));
        if let Some((_, from, to)) = year {
            let year = index.div_euclid(12);
            out.push_str(&after[..from]);
            out.push_str(&year.to_string());
            rest = &after[to..];
        }
    }
    out.push_str(rest);
    out
}

/// The month a word names and the table of its form.
fn month_word(word: &str) -> Option<(&'static [&'static str; 12], usize)> {
    let lower = word.to_lowercase();
    for table in [&RU_NOMINATIVE, &RU_GENITIVE, &RU_PREPOSITIONAL] {
        if let Some(i) = table.iter().position(|n| *n == lower) {
            return Some((table, i));
        }
    }
    let capitalised = word.chars().next().is_some_and(char::is_uppercase);
    let i = EN.iter().position(|n| n.to_lowercase() == lower)?;
    capitalised.then_some((&EN, i))
}

/// The year written after a month: " 2024" or " 31, 2024" → (year, its start, its end).
fn year_after(after: &str) -> Option<(i32, usize, usize)> {
    let spaces = |s: &str, from: usize| from + s[from..].len() - s[from..].trim_start_matches([' ', '\u{a0}']).len();
    let four_digits = |from: usize| {
        let digits = after[from..].bytes().take_while(u8::is_ascii_digit).count();
        (digits == 4).then(|| after[from..from + 4].parse().ok()).flatten().map(|y| (y, from, from + 4))
    };
    let first = spaces(after, 0);
    if first == 0 {
        return None;
    }
    if let Some(year) = four_digits(first) {
        return Some(year);
    }
    // "December 31, 2024".
    let digits = after[first..].bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) || !after[first + digits..].starts_with(',') {
        return None;
    }
    let second = spaces(after, first + digits + 1);
    if second == first + digits + 1 {
        return None;
    }
    four_digits(second)
}

/// `name` written like `like`: all capitals, a capital first letter, or as it is in the table
/// otherwise lowercase.
fn same_case(like: &str, name: &str) -> String {
    let mut chars = like.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    if first_upper && like.chars().count() > 1 && chars.all(char::is_uppercase) {
        return name.to_uppercase();
    }
    let lower = name.to_lowercase();
    if !first_upper {
        return lower;
    }
    let mut out = String::with_capacity(lower.len());
    let mut letters = lower.chars();
    if let Some(c) = letters.next() {
        out.extend(c.to_uppercase());
    }
    out.extend(letters);
    out
}

/// The wall-clock time in `tz` of the instant `at`, for the formatters above.
pub fn local(at: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        date(y, m, d).and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn a_russian_date_is_the_day_and_the_month_in_the_genitive() {
        assert_eq!(format_date(date(2024, 1, 15), Locale::Ru), "15 января");
        assert_eq!(format_date(date(2024, 5, 1), Locale::Ru), "1 мая");
        assert_eq!(format_date(date(2024, 12, 31), Locale::Ru), "31 декабря");
    }

    #[test]
    fn an_english_date_is_the_month_and_the_day() {
        assert_eq!(format_date(date(2024, 1, 15), Locale::En), "January 15");
        assert_eq!(format_date(date(2024, 3, 2), Locale::En), "March 2");
    }

    #[test]
    fn dates_with_a_year_follow_each_locale() {
        assert_eq!(format_date_with_year(date(2024, 1, 15), Locale::Ru), "15 января 2024");
        assert_eq!(format_date_with_year(date(2024, 1, 15), Locale::En), "January 15, 2024");
    }

    #[test]
    fn date_and_time_are_joined_by_a_comma_in_24_hour_time() {
        assert_eq!(format_date_time(at(2024, 1, 15, 14, 30), Locale::Ru), "15 января, 14:30");
        assert_eq!(format_date_time(at(2024, 1, 15, 14, 30), Locale::En), "January 15, 14:30");
        assert_eq!(format_date_time(at(2024, 8, 3, 9, 5), Locale::En), "August 3, 09:05");
    }

    #[test]
    fn near_days_have_names_and_later_ones_a_weekday_and_date() {
        let today = date(2025, 1, 11);
        assert_eq!(day_label(today, today, Locale::Ru), "сегодня");
        assert_eq!(day_label(date(2025, 1, 12), today, Locale::Ru), "завтра");
        assert_eq!(day_label(date(2025, 1, 13), today, Locale::Ru), "послезавтра");
        assert_eq!(day_label(date(2025, 1, 14), today, Locale::Ru), "вт, 14 января");
        assert_eq!(day_label(date(2025, 1, 12), today, Locale::En), "tomorrow");
        assert_eq!(day_label(date(2025, 1, 13), today, Locale::En), "Mon, January 13");
    }

    #[test]
    fn durations_are_in_the_readers_language() {
        let d = chrono::Duration::seconds;
        assert_eq!(format_duration(d(0), Locale::Ru), "0\u{a0}с");
        assert_eq!(format_duration(d(45), Locale::En), "45\u{a0}s");
        assert_eq!(format_duration(d(125), Locale::Ru), "2\u{a0}мин");
        assert_eq!(format_duration(d(3600), Locale::En), "60\u{a0}min");
    }

    #[test]
    fn a_day_with_its_date_names_the_date_once() {
        let today = date(2025, 1, 11);
        assert_eq!(day_with_date(date(2025, 1, 12), today, Locale::Ru), "завтра (12 января)");
        assert_eq!(day_with_date(date(2025, 1, 14), today, Locale::Ru), "вт, 14 января");
        assert_eq!(day_with_date(today, today, Locale::En), "today (January 11)");
        assert_eq!(day_with_date(date(2025, 1, 13), today, Locale::En), "Mon, January 13");
    }

    #[test]
    fn times_have_two_digit_hours_and_minutes() {
        assert_eq!(format_time(at(2024, 1, 15, 0, 0)), "00:00");
        assert_eq!(format_time(at(2024, 1, 15, 23, 59)), "23:59");
    }

    #[test]
    fn every_month_has_distinct_names_in_every_form() {
        for locale in Locale::ALL {
            let names: std::collections::BTreeSet<_> = (1..=12).map(|m| month_name(m, locale)).collect();
            assert_eq!(names.len(), 12, "{locale}");
            let after_day: std::collections::BTreeSet<_> = (1..=12).map(|m| month_name_after_day(m, locale)).collect();
            assert_eq!(after_day.len(), 12, "{locale}");
        }
        assert_eq!(month_name(12, Locale::Ru), "декабрь");
        assert_eq!(month_name_after_day(12, Locale::Ru), "декабря");
        assert_eq!(month_name(2, Locale::En), "February");
    }

    #[test]
    fn month_names_in_a_text_move_with_their_years() {
        assert_eq!(
            shift_month_names("Акт выполненных работ за декабрь 2024", 23),
            "Акт выполненных работ за ноябрь 2026"
        );
        assert_eq!(
            shift_month_names("Certificate of completion, December 2024", 23),
            "Certificate of completion, November 2026"
        );
        assert_eq!(shift_month_names("Invoice for January 2025", -1), "Invoice for December 2024");
        assert_eq!(shift_month_names("Тариф «Оптимальный», январь", 23), "Тариф «Оптимальный», декабрь");
        assert_eq!(shift_month_names("Optimal plan, January", 1), "Optimal plan, February");
        assert_eq!(shift_month_names("от 31 декабря 2024", 1), "от 31 января 2025");
        assert_eq!(shift_month_names("Оплата в мае", 7), "Оплата в декабре");
        assert_eq!(shift_month_names("Paid on December 31, 2024", 2), "Paid on February 31, 2025");
        assert_eq!(shift_month_names("Январь 2025 и МАЙ", 12), "Январь 2026 и МАЙ");
        assert_eq!(shift_month_names("ДЕКАБРЬ 2024", 1), "ЯНВАРЬ 2025");
        // Not months: a verb, a longer word, a number that is not a year, no shift.
        assert_eq!(shift_month_names("you may pay", 3), "you may pay");
        assert_eq!(shift_month_names("Мартышка, декабрь 20245", 1), "Мартышка, январь 20245");
        assert_eq!(shift_month_names("Договор №2023-0615", 23), "Договор №2023-0615");
        assert_eq!(shift_month_names("декабрь 2024", 0), "декабрь 2024");
    }

    #[test]
    fn months_out_of_range_have_no_name() {
        assert_eq!(month_name(0, Locale::Ru), "");
        assert_eq!(month_name(13, Locale::En), "");
        assert_eq!(month_name_after_day(u32::MAX, Locale::Ru), "");
    }

    #[test]
    fn an_instant_is_shown_in_the_business_time_zone() {
        let instant = date(2024, 1, 15).and_hms_opt(23, 30, 0).unwrap().and_utc();
        let moscow = local(instant, chrono_tz::Europe::Moscow);
        assert_eq!(format_date_time(moscow, Locale::Ru), "16 января, 02:30");
        let london = local(instant, chrono_tz::Europe::London);
        assert_eq!(format_date_time(london, Locale::En), "January 15, 23:30");
    }
}
