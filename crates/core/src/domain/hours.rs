//! A business's opening hours as its data states them: `{"mon-fri": "10:00-19:00", "sat":
//! "11:00-16:00", "sun": "off"}`. Days no entry covers are days off. The built-in booking
//! adapter computes free times from them; the bot explains with them why a time is not free.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

/// Opening and closing of a day, in minutes after midnight (closing 1440 is midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub open: u32,
    pub close: u32,
}

/// The opening hours of each weekday, Monday first; `None` is a day off.
pub type Week = [Option<Hours>; 7];

/// `working_hours` as a week: keys "mon".."sun" (or full names), ranges "mon-fri" (also
/// across the week's end, "fri-mon"), lists "sat,sun"; values "HH:MM-HH:MM" or "off". A day
/// takes the narrowest entry that covers it ({"mon-sun": "10:00-19:00", "sun": "off"}: Sunday
/// is off); days no entry covers are off. Keys starting with `_` are comments.
pub fn parse_week(map: &BTreeMap<String, String>) -> Result<Week, String> {
    let mut week: Week = [None; 7];
    let mut span = [usize::MAX; 7];
    for (key, value) in map {
        if key.starts_with('_') {
            continue;
        }
        let hours = parse_hours(value).map_err(|e| format!("working_hours.{key}: {e}"))?;
        for part in key.split(',') {
            let days = parse_days(part).ok_or_else(|| format!("working_hours.{key}: not a day nor a range of days"))?;
            for &day in &days {
                if days.len() < span[day] {
                    span[day] = days.len();
                    week[day] = hours;
                }
            }
        }
    }
    Ok(week)
}

/// "mon" or "mon-fri" as weekday indexes (Monday 0).
fn parse_days(s: &str) -> Option<Vec<usize>> {
    let day = |s: &str| s.trim().parse::<Weekday>().ok().map(|d| d.num_days_from_monday() as usize);
    match s.split_once('-') {
        None => Some(vec![day(s)?]),
        Some((a, b)) => {
            let (a, b) = (day(a)?, day(b)?);
            let len = (b + 7 - a) % 7 + 1;
            Some((0..len).map(|i| (a + i) % 7).collect())
        }
    }
}

/// "10:00-19:00" (closing may be "24:00") or "off".
fn parse_hours(s: &str) -> Result<Option<Hours>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("closed") {
        return Ok(None);
    }
    let bad = || format!("expected \"HH:MM-HH:MM\" or \"off\", not {s:?}");
    let (open, close) = s.split_once('-').ok_or_else(bad)?;
    let (open, close) = (minutes_of(open).ok_or_else(bad)?, minutes_of(close).ok_or_else(bad)?);
    if open >= close {
        return Err(format!("closes before it opens ({s:?})"));
    }
    Ok(Some(Hours { open, close }))
}

/// "HH:MM" as minutes after midnight, up to "24:00".
fn minutes_of(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h.checked_mul(60)?.checked_add(m)?;
    (m < 60 && minutes <= 24 * 60).then_some(minutes)
}

impl Hours {
    /// "10:00"
    pub fn open_text(self) -> String {
        hh_mm(self.open)
    }

    /// "19:00"
    pub fn close_text(self) -> String {
        hh_mm(self.close)
    }

    /// Whether a time of day (minutes after midnight) is within the opening hours.
    pub fn contains(self, minutes: u32) -> bool {
        (self.open..self.close).contains(&minutes)
    }
}

fn hh_mm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The parsed week, with the business's closed dates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkingHours {
    week: Week,
}

impl WorkingHours {
    pub fn parse(map: &BTreeMap<String, String>) -> Result<WorkingHours, String> {
        Ok(WorkingHours { week: parse_week(map)? })
    }

    /// The opening hours on `date`; `None` on a day off or one of `holidays`.
    pub fn on_date(&self, date: NaiveDate, holidays: &[NaiveDate]) -> Option<Hours> {
        if holidays.contains(&date) {
            return None;
        }
        self.week[date.weekday().num_days_from_monday() as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_looked_up_by_date_with_holidays_off() {
        let map: BTreeMap<String, String> =
            [("mon-fri".to_owned(), "10:00-19:00".to_owned()), ("sat".to_owned(), "11:00-24:00".to_owned())].into();
        let hours = WorkingHours::parse(&map).unwrap();
        let monday = NaiveDate::from_ymd_opt(2025, 1, 13).unwrap();
        let open = hours.on_date(monday, &[]).unwrap();
        assert_eq!((open.open_text(), open.close_text()), ("10:00".to_owned(), "19:00".to_owned()));
        assert!(open.contains(10 * 60) && open.contains(18 * 60 + 59) && !open.contains(19 * 60));
        assert_eq!(hours.on_date(monday, &[monday]), None);
        assert_eq!(hours.on_date(NaiveDate::from_ymd_opt(2025, 1, 12).unwrap(), &[]), None, "Sunday is not covered");
        assert_eq!(hours.on_date(NaiveDate::from_ymd_opt(2025, 1, 11).unwrap(), &[]).unwrap().close_text(), "24:00");
    }
}
