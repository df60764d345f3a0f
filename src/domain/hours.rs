//! A business's opening hours as its data states them: `{"mon-fri": "10:00-19:00", "sat":
//! "11:00-16:00", "sun": "off"}`. Days no key covers are days off.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};

/// Opening and closing time per weekday (Monday first); `None` is a day off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkingHours {
    days: [Option<(NaiveTime, NaiveTime)>; 7],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("working hours {key:?}: {message}")]
pub struct HoursError {
    pub key: String,
    pub message: String,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(s: &str) -> Option<usize> {
    DAYS.iter().position(|d| d.eq_ignore_ascii_case(s.trim()))
}

impl WorkingHours {
    /// Every day from `open` to `close`.
    pub fn every_day(open: NaiveTime, close: NaiveTime) -> Self {
        Self { days: [Some((open, close)); 7] }
    }

    pub fn parse(map: &BTreeMap<String, String>) -> Result<Self, HoursError> {
        let mut hours = WorkingHours::default();
        for (key, value) in map {
            let err = |message: &str| HoursError { key: key.clone(), message: message.to_owned() };
            let (first, last) = match key.split_once('-') {
                Some((a, b)) => (day_index(a), day_index(b)),
                None => (day_index(key), day_index(key)),
            };
            let (Some(first), Some(last)) = (first, last) else {
                return Err(err("expected a day (mon … sun) or a range such as mon-fri"));
            };
            let value = value.trim();
            let span = if value.eq_ignore_ascii_case("off") || value == "-" {
                None
            } else {
                let (open, close) = value.split_once('-').ok_or_else(|| err("expected HH:MM-HH:MM or off"))?;
                let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| err("expected HH:MM-HH:MM"));
                let (open, close) = (parse(open)?, parse(close)?);
                if open >= close {
                    return Err(err("opening must come before closing"));
                }
                Some((open, close))
            };
            // A range may wrap the week ("sat-mon").
            let mut i = first;
            loop {
                hours.days[i] = span;
                if i == last {
                    break;
                }
                i = (i + 1) % 7;
            }
        }
        Ok(hours)
    }

    /// Opening and closing time on `day`, `None` on a day off.
    pub fn on(&self, day: Weekday) -> Option<(NaiveTime, NaiveTime)> {
        self.days[day.num_days_from_monday() as usize]
    }

    /// Opening and closing time on `date`, `None` on a day off or one of `holidays`.
    pub fn on_date(&self, date: NaiveDate, holidays: &[NaiveDate]) -> Option<(NaiveTime, NaiveTime)> {
        if holidays.contains(&date) {
            return None;
        }
        self.on(date.weekday())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn ranges_single_days_and_days_off() {
        let hours = WorkingHours::parse(&map(&[("mon-fri", "10:00-19:00"), ("sat", "11:00-16:00"), ("sun", "off")])).unwrap();
        assert_eq!(hours.on(Weekday::Wed), Some((t(10, 0), t(19, 0))));
        assert_eq!(hours.on(Weekday::Sat), Some((t(11, 0), t(16, 0))));
        assert_eq!(hours.on(Weekday::Sun), None);
        let demo = WorkingHours::parse(&map(&[("mon-sun", "10:00-19:00")])).unwrap();
        assert!(Weekday::Mon.num_days_from_monday() == 0 && demo.on(Weekday::Sun).is_some());
    }

    #[test]
    fn uncovered_days_and_holidays_are_off() {
        let hours = WorkingHours::parse(&map(&[("mon-fri", "09:00-18:00")])).unwrap();
        assert_eq!(hours.on(Weekday::Sat), None);
        let holiday = NaiveDate::from_ymd_opt(2025, 3, 10).unwrap(); // a Monday
        assert_eq!(hours.on_date(holiday, &[holiday]), None);
        assert!(hours.on_date(holiday, &[]).is_some());
    }

    #[test]
    fn a_range_may_wrap_the_week() {
        let hours = WorkingHours::parse(&map(&[("fri-mon", "12:00-20:00")])).unwrap();
        for day in [Weekday::Fri, Weekday::Sat, Weekday::Sun, Weekday::Mon] {
            assert!(hours.on(day).is_some(), "{day}");
        }
        assert_eq!(hours.on(Weekday::Tue), None);
    }

    #[test]
    fn malformed_hours_name_their_key() {
        for bad in [("moon", "10:00-19:00"), ("mon", "10-19"), ("mon", "19:00-10:00"), ("mon", "ten")] {
            let err = WorkingHours::parse(&map(&[bad])).unwrap_err();
            assert_eq!(err.key, bad.0);
        }
    }
}
