//! A calendar month ("2024-12"): what documents and statements are issued for.

use chrono::{Datelike, NaiveDate};

use super::Locale;
use super::datetime::month_name;

/// A month of a year between 1900 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a period (YYYY-MM)")]
pub struct PeriodError;

const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 9999;

impl Period {
    /// The first period cabinet represents (January 1900).
    pub const MIN: Period = Period { year: MIN_YEAR, month: 1 };
    /// The last period cabinet represents (December 9999).
    pub const MAX: Period = Period { year: MAX_YEAR, month: 12 };

    /// A month 1–12 of a year 1900–9999.
    pub fn new(year: i32, month: u32) -> Result<Period, PeriodError> {
        if (MIN_YEAR..=MAX_YEAR).contains(&year) && (1..=12).contains(&month) {
            Ok(Period { year, month })
        } else {
            Err(PeriodError)
        }
    }

    /// "2024-12": exactly four digits, a hyphen and two digits, nothing around them.
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        let b = s.as_bytes();
        let shaped = b.len() == 7 && b[4] == b'-' && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit);
        if !shaped {
            return Err(PeriodError);
        }
        // Only ASCII digits are left, so both parse.
        let year = s[..4].parse().map_err(|_| PeriodError)?;
        let month = s[5..].parse().map_err(|_| PeriodError)?;
        Period::new(year, month)
    }

    /// The month `date` falls in; dates before 1900 or after 9999 give [`Period::MIN`] or
    /// [`Period::MAX`].
    pub fn of_date(date: NaiveDate) -> Period {
        Period::new(date.year(), date.month()).unwrap_or(if date.year() < MIN_YEAR { Period::MIN } else { Period::MAX })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// The month before (January → December of the year before); [`Period::MIN`] stays.
    pub fn previous(self) -> Period {
        match self.month {
            1 if self.year == MIN_YEAR => self,
            1 => Period { year: self.year - 1, month: 12 },
            m => Period { year: self.year, month: m - 1 },
        }
    }

    /// The month after (December → January of the year after); [`Period::MAX`] stays.
    pub fn next(self) -> Period {
        match self.month {
            12 if self.year == MAX_YEAR => self,
            12 => Period { year: self.year + 1, month: 1 },
            m => Period { year: self.year, month: m + 1 },
        }
    }

    /// Whether `date` is a day of this month.
    pub fn contains(self, date: NaiveDate) -> bool {
        date.year() == self.year && date.month() == self.month
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        // Every month of 1900–9999 has a first day, so the fallback is never taken.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        let next = self.next();
        if next == self {
            // December 9999.
            return NaiveDate::from_ymd_opt(MAX_YEAR, 12, 31).unwrap_or(NaiveDate::MAX);
        }
        next.first_day().pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// "декабрь 2024" / "December 2024".
    pub fn display(self, locale: Locale) -> String {
        format!("{} {}", month_name(self.month, locale), self.year)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl std::str::FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Period, PeriodError> {
        Period::parse(s)
    }
}

/// Serialised as "YYYY-MM".
impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(year: i32, month: u32) -> Period {
        Period::new(year, month).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn months_one_to_twelve_of_years_1900_to_9999_are_periods() {
        assert_eq!(p(2024, 12).year(), 2024);
        assert_eq!(p(2024, 12).month(), 12);
        assert!(Period::new(1900, 1).is_ok());
        assert!(Period::new(9999, 12).is_ok());
    }

    #[test]
    fn months_or_years_out_of_range_are_not_periods() {
        for (y, m) in [(2024, 0), (2024, 13), (1899, 12), (10000, 1), (-2024, 5), (2024, u32::MAX)] {
            assert_eq!(Period::new(y, m), Err(PeriodError), "{y}-{m}");
        }
    }

    #[test]
    fn a_year_and_month_with_a_hyphen_parse() {
        assert_eq!(Period::parse("2024-12"), Ok(p(2024, 12)));
        assert_eq!(Period::parse("1999-01"), Ok(p(1999, 1)));
        assert_eq!("2025-02".parse::<Period>(), Ok(p(2025, 2)));
    }

    #[test]
    fn parsing_is_strict_about_the_shape() {
        for s in [
            "",
            "2024-1",
            "2024-001",
            "24-12",
            "2024/12",
            "2024-12-01",
            " 2024-12",
            "2024-12 ",
            "2024-1a",
            "+024-12",
            "2024--1",
            "２０２４-12",
            "2024-13",
            "2024-00",
            "0999-12",
        ] {
            assert_eq!(Period::parse(s), Err(PeriodError), "{s:?}");
        }
    }

    #[test]
    fn display_and_parse_round_trip() {
        for period in [p(1900, 1), p(2024, 7), p(9999, 12)] {
            assert_eq!(Period::parse(&period.to_string()), Ok(period));
        }
        assert_eq!(p(2024, 7).to_string(), "2024-07");
    }

    #[test]
    fn a_date_falls_in_its_month() {
        assert_eq!(Period::of_date(date(2025, 1, 11)), p(2025, 1));
        assert_eq!(Period::of_date(date(2024, 2, 29)), p(2024, 2));
    }

    #[test]
    fn dates_outside_the_supported_years_give_the_first_or_last_period() {
        assert_eq!(Period::of_date(date(1812, 9, 7)), Period::MIN);
        assert_eq!(Period::of_date(NaiveDate::MAX), Period::MAX);
    }

    #[test]
    fn the_month_before_january_is_december_of_the_year_before() {
        assert_eq!(p(2025, 1).previous(), p(2024, 12));
        assert_eq!(p(2024, 12).previous(), p(2024, 11));
        assert_eq!(Period::MIN.previous(), Period::MIN);
    }

    #[test]
    fn the_month_after_december_is_january_of_the_year_after() {
        assert_eq!(p(2024, 12).next(), p(2025, 1));
        assert_eq!(p(2024, 3).next(), p(2024, 4));
        assert_eq!(Period::MAX.next(), Period::MAX);
    }

    #[test]
    fn a_period_contains_exactly_the_days_of_its_month() {
        let december = p(2024, 12);
        assert!(december.contains(date(2024, 12, 1)));
        assert!(december.contains(date(2024, 12, 31)));
        assert!(!december.contains(date(2024, 11, 30)));
        assert!(!december.contains(date(2025, 1, 1)));
        assert!(!december.contains(date(2023, 12, 15)));
    }

    #[test]
    fn first_and_last_days_bound_the_month() {
        assert_eq!(p(2024, 2).first_day(), date(2024, 2, 1));
        assert_eq!(p(2024, 2).last_day(), date(2024, 2, 29));
        assert_eq!(p(2023, 2).last_day(), date(2023, 2, 28));
        assert_eq!(p(2024, 12).last_day(), date(2024, 12, 31));
        assert_eq!(Period::MAX.last_day(), date(9999, 12, 31));
    }

    #[test]
    fn a_period_reads_as_month_and_year_in_each_locale() {
        assert_eq!(p(2024, 12).display(Locale::Ru), "декабрь 2024");
        assert_eq!(p(2024, 12).display(Locale::En), "December 2024");
        assert_eq!(p(2025, 5).display(Locale::Ru), "май 2025");
    }

    #[test]
    fn periods_order_by_year_then_month() {
        assert!(p(2024, 12) < p(2025, 1));
        assert!(p(2024, 2) < p(2024, 11));
    }

    #[test]
    fn periods_serialise_as_year_and_month_strings() {
        assert_eq!(serde_json::to_string(&p(2024, 12)).unwrap(), "\"2024-12\"");
        assert_eq!(serde_json::from_str::<Period>("\"2024-03\"").unwrap(), p(2024, 3));
        assert!(serde_json::from_str::<Period>("\"2024-3\"").is_err());
        assert!(serde_json::from_str::<Period>("202403").is_err());
    }
}
