//! A calendar month ("2024-12"): what documents and statements are issued for.

use chrono::NaiveDate;

use super::Locale;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a period (YYYY-MM)")]
pub struct PeriodError;

impl Period {
    pub fn new(year: i32, month: u32) -> Result<Period, PeriodError> {
        todo!("{year} {month}")
    }
    /// "2024-12".
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        todo!("{s}")
    }
    pub fn of_date(date: NaiveDate) -> Period {
        todo!("{date}")
    }
    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u32 {
        self.month
    }
    pub fn previous(self) -> Period {
        todo!()
    }
    pub fn contains(self, date: NaiveDate) -> bool {
        todo!("{date}")
    }
    /// "декабрь 2024" / "December 2024".
    pub fn display(self, locale: Locale) -> String {
        todo!("{locale}")
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}
