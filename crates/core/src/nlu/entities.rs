//! Entity extraction (docs/intent-contract.md): order numbers, document kinds, periods, dates, times,
//! catalogue services and staff, subscription actions, read from the tokens and the rule
//! matches of a message and resolved against the business's local time.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use super::lexicon::{Daypart, DocKind, Lexicon, Match, SubAction, Target};
use super::text::{Kind, Normalized};

/// What each token is, as far as entities are concerned (from one-word rules starting there).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tags {
    pub stop: bool,
    pub negator: bool,
    ordinal: bool,
    year_word: bool,
    month: Option<u8>,
    month_context: bool,
    month_needs_context: bool,
    weekday: Option<u8>,
    at: bool,
    at_loose: bool,
    hour_word: bool,
    minute_word: bool,
    daypart: Option<Daypart>,
    order_marker: bool,
    after: bool,
    within: bool,
    week_word: bool,
    day_word: bool,
    count: Option<u8>,
}

/// The tags of every token.
pub(crate) fn tag_tokens(n: usize, lexicon: &Lexicon, matches: &[Match]) -> Vec<Tags> {
    let mut tags = vec![Tags::default(); n];
    for m in matches {
        let t = &mut tags[m.start as usize];
        match lexicon.rules[m.rule as usize].target {
            Target::Stop => t.stop = true,
            Target::Negator => t.negator = true,
            Target::Ordinal => t.ordinal = true,
            Target::YearWord => t.year_word = true,
            Target::Month(k) => t.month = Some(k),
            Target::MonthContext => t.month_context = true,
            Target::MonthNeedsContext => t.month_needs_context = true,
            Target::Weekday(k) => t.weekday = Some(k),
            Target::At => t.at = true,
            Target::AtLoose => t.at_loose = true,
            Target::HourWord => t.hour_word = true,
            Target::MinuteWord => t.minute_word = true,
            Target::Daypart(d) => t.daypart = Some(d),
            Target::OrderMarker => t.order_marker = true,
            Target::After => t.after = true,
            Target::Within => t.within = true,
            Target::WeekWord => t.week_word = true,
            Target::DayWord => t.day_word = true,
            Target::Count(k) => t.count = Some(k),
            _ => {}
        }
    }
    tags
}

/// Entities found before the intent is known; some are kept only for certain intents.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub order_id: Option<String>,
    pub doc_kind: Option<DocKind>,
    /// A document kind named by a word that means it only when documents are being asked for.
    pub doc_kind_in_context: Option<DocKind>,
    pub period: Option<(i32, u32)>,
    pub date: Option<NaiveDate>,
    pub time: Option<(u32, u32)>,
    pub service: Option<u16>,
    pub staff: Option<u16>,
    pub subscription_action: Option<SubAction>,
    /// The earliest time that suits («после 15», «в обед»).
    pub time_from: Option<(u32, u32)>,
    pub tariff: Option<TariffRef>,
    /// The token the time was read from.
    time_at: Option<usize>,
    /// Tokens already read as part of a date, time or period.
    pub consumed: Vec<bool>,
}

/// A tariff the message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TariffRef {
    /// By its name in the catalogue.
    Named(u16),
    /// The cheapest one.
    Cheapest,
    /// A faster one than the customer's.
    Faster,
}

/// The longest match of rules whose target `pick` accepts (the earliest among equals).
fn best<T>(lexicon: &Lexicon, matches: &[Match], pick: impl Fn(Target) -> Option<T>) -> Option<(T, Match)> {
    let mut out: Option<(T, Match)> = None;
    for m in matches {
        if let Some(v) = pick(lexicon.rules[m.rule as usize].target) {
            let better = match &out {
                None => true,
                Some((_, o)) => (m.end - m.start) > (o.end - o.start),
            };
            if better {
                out = Some((v, *m));
            }
        }
    }
    out
}

/// The number in a token of digits only.
fn plain_number(norm: &Normalized, i: usize) -> Option<(&str, u64)> {
    let t = norm.tokens.get(i)?;
    if t.kind != Kind::Number {
        return None;
    }
    let s = norm.tok(i);
    if !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 12 {
        return None;
    }
    Some((s, s.parse().ok()?))
}

fn year_of(v: u64, digits: usize) -> Option<i32> {
    match digits {
        4 if (1900..=2100).contains(&v) => Some(v as i32),
        2 => Some(2000 + v as i32),
        _ => None,
    }
}

/// A month and day without a year: this year's, or next year's if this year's has passed.
fn upcoming(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), month, day);
    match this {
        Some(d) if d >= today => Some(d),
        _ => NaiveDate::from_ymd_opt(today.year() + 1, month, day),
    }
}

/// A month without a year: its most recent occurrence not after today.
fn recent_month(today: NaiveDate, month: u32) -> (i32, u32) {
    if month <= today.month() { (today.year(), month) } else { (today.year() - 1, month) }
}

fn shift_month(today: NaiveDate, by: i32) -> (i32, u32) {
    let total = today.year() * 12 + today.month0() as i32 + by;
    (total.div_euclid(12), total.rem_euclid(12) as u32 + 1)
}

pub(crate) struct Extractor<'a> {
    pub norm: &'a Normalized,
    pub lexicon: &'a Lexicon,
    pub matches: &'a [Match],
    pub tags: &'a [Tags],
    pub now: NaiveDateTime,
    pub afternoon_hours: &'a [u8],
}

impl Extractor<'_> {
    fn n(&self) -> usize {
        self.norm.tokens.len()
    }

    fn tag(&self, i: usize) -> Tags {
        self.tags.get(i).copied().unwrap_or_default()
    }

    /// The hour on the 24-hour clock: a part of the day shifts it; without one, the hours
    /// the data marks as afternoon hours are read as such unless written with a leading zero.
    fn hour24(&self, hour: u32, daypart: Option<Daypart>, leading_zero: bool) -> Option<u32> {
        let h = match daypart {
            Some(d) => d.apply(hour),
            None if !leading_zero && self.afternoon_hours.contains(&(hour as u8)) => hour + 12,
            None => hour,
        };
        match h {
            24 => Some(0),
            0..=23 => Some(h),
            _ => None,
        }
    }

    /// Finds everything the message says.
    pub fn extract(&self) -> Found {
        let n = self.n();
        let today = self.now.date();
        let mut f = Found { consumed: vec![false; n], ..Found::default() };

        self.numeric_shapes(&mut f, today);
        self.day_and_month(&mut f, today);

        if f.period.is_none()
            && let Some((by, m)) = best(self.lexicon, self.matches, |t| match t {
                Target::MonthOffset(k) => Some(k),
                _ => None,
            })
        {
            f.period = Some(shift_month(today, by as i32));
            mark(&mut f.consumed, m);
        }
        self.days_ahead(&mut f, today);
        if f.date.is_none()
            && let Some((_, m)) = best(self.lexicon, self.matches, |t| match t {
                Target::Weekend => Some(()),
                _ => None,
            })
        {
            // The nearest Saturday; today when it is already the weekend.
            let ahead = match today.weekday().num_days_from_monday() {
                5 | 6 => 0,
                d => 5 - d as i64,
            };
            f.date = today.checked_add_signed(Duration::days(ahead));
            mark(&mut f.consumed, m);
        }
        if f.date.is_none()
            && let Some((by, m)) = best(self.lexicon, self.matches, |t| match t {
                Target::DayOffset(k) => Some(k),
                _ => None,
            })
        {
            f.date = today.checked_add_signed(Duration::days(by as i64));
            mark(&mut f.consumed, m);
        }
        if f.date.is_none()
            && let Some(i) = (0..n).find(|&i| self.tag(i).weekday.is_some())
        {
            let wanted = self.tag(i).weekday.unwrap_or(0) as i64;
            let current = today.weekday().num_days_from_monday() as i64;
            let mut ahead = (wanted - current).rem_euclid(7);
            if ahead == 0 {
                ahead = 7;
            }
            f.date = today.checked_add_signed(Duration::days(ahead));
            f.consumed[i] = true;
        }

        self.hours(&mut f);
        if f.time.is_none()
            && let Some((h, m)) = best(self.lexicon, self.matches, |t| match t {
                Target::NamedTime(h) => Some(h),
                _ => None,
            })
        {
            f.time = Some((h as u32, 0));
            f.time_at = Some(m.start as usize);
            mark(&mut f.consumed, m);
        }
        // «после 15»: the time is the earliest that suits.
        if let Some(i) = f.time_at
            && (self.tag(i.wrapping_sub(1)).after || (i >= 2 && self.tag(i - 2).after && self.tag(i - 1).at))
        {
            f.time_from = f.time.take();
        }
        if f.time_from.is_none()
            && f.time.is_none()
            && let Some((h, m)) = best(self.lexicon, self.matches, |t| match t {
                Target::FromHour(h) => Some(h),
                _ => None,
            })
        {
            // «в обед» is from its hour; «после обеда» two hours later.
            let after = m.start >= 1 && self.tag(m.start as usize - 1).after;
            f.time_from = Some((h as u32 + if after { 2 } else { 0 }, 0));
            mark(&mut f.consumed, m);
        }
        f.tariff = best(self.lexicon, self.matches, |t| match t {
            Target::Tariff(k) => Some(TariffRef::Named(k)),
            _ => None,
        })
        .or_else(|| {
            best(self.lexicon, self.matches, |t| match t {
                Target::CheapestTariff => Some(TariffRef::Cheapest),
                Target::FasterTariff => Some(TariffRef::Faster),
                _ => None,
            })
        })
        .map(|(k, _)| k);

        self.order_id(&mut f);

        f.doc_kind = best(self.lexicon, self.matches, |t| match t {
            Target::Doc { kind, in_context: false } => Some(kind),
            _ => None,
        })
        .map(|(k, _)| k);
        f.doc_kind_in_context = best(self.lexicon, self.matches, |t| match t {
            Target::Doc { kind, in_context: true } => Some(kind),
            _ => None,
        })
        .map(|(k, _)| k);
        f.subscription_action = best(self.lexicon, self.matches, |t| match t {
            Target::Sub(a) => Some(a),
            _ => None,
        })
        .map(|(k, _)| k);
        f.service = best(self.lexicon, self.matches, |t| match t {
            Target::Service(k) => Some(k),
            _ => None,
        })
        .map(|(k, _)| k);
        f.staff = best(self.lexicon, self.matches, |t| match t {
            Target::Staff(k) => Some(k),
            _ => None,
        })
        .map(|(k, _)| k);
        f
    }

    /// "15.01", "15.01.2025", "2025-01-15", "12.2024", "2024-12", "16:30", "10.30".
    fn numeric_shapes(&self, f: &mut Found, today: NaiveDate) {
        for i in 0..self.n() {
            if self.norm.tokens[i].kind != Kind::Number {
                continue;
            }
            let s = self.norm.tok(i);
            let Some(sep) = s.chars().find(|c| !c.is_ascii_digit()) else { continue };
            let parts: Vec<&str> = s.split(['.', ':', '/', '-']).collect();
            if parts.iter().any(|p| p.is_empty() || p.len() > 4) {
                continue;
            }
            let v: Vec<u64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
            if v.len() != parts.len() {
                continue;
            }
            let next = self.tag(i + 1);
            let timeish = next.hour_word || next.daypart.is_some();
            match (parts.len(), sep) {
                (2, ':') if f.time.is_none() && parts[1].len() == 2 => {
                    self.set_time(f, i, v[0], v[1], parts[0].starts_with('0') && parts[0].len() == 2);
                }
                (2, ':') => {}
                (2, _) if parts[0].len() <= 2 && parts[1].len() <= 2 => {
                    let is_date =
                        !timeish && v[1] >= 1 && v[1] <= 12 && upcoming(today, v[1] as u32, v[0] as u32).is_some();
                    if is_date {
                        if f.date.is_none() {
                            f.date = upcoming(today, v[1] as u32, v[0] as u32);
                            f.consumed[i] = true;
                        }
                    } else if f.time.is_none() && parts[1].len() == 2 {
                        self.set_time(f, i, v[0], v[1], parts[0].starts_with('0') && parts[0].len() == 2);
                    }
                }
                (2, _) => {
                    // A month and a year, either way round.
                    let (m, y) = if parts[1].len() == 4 && parts[0].len() <= 2 {
                        (v[0], year_of(v[1], 4))
                    } else if parts[0].len() == 4 && parts[1].len() <= 2 {
                        (v[1], year_of(v[0], 4))
                    } else {
                        continue;
                    };
                    if let Some(y) = y
                        && (1..=12).contains(&m)
                        && f.period.is_none()
                    {
                        f.period = Some((y, m as u32));
                        f.consumed[i] = true;
                    }
                }
                (3, _) if sep != ':' => {
                    let (d, m, y) = if parts[0].len() == 4 {
                        (v[2], v[1], year_of(v[0], 4))
                    } else {
                        (v[0], v[1], year_of(v[2], parts[2].len()))
                    };
                    if let Some(y) = y
                        && let Some(date) = NaiveDate::from_ymd_opt(y, m as u32, d as u32)
                        && f.date.is_none()
                    {
                        f.date = Some(date);
                        f.consumed[i] = true;
                    }
                }
                _ => {}
            }
        }
    }

    fn set_time(&self, f: &mut Found, i: usize, h: u64, m: u64, leading_zero: bool) {
        if h > 24 || m > 59 {
            return;
        }
        let daypart = self.tag(i + 1).daypart;
        if let Some(h) = self.hour24(h as u32, daypart, leading_zero) {
            f.time = Some((h, m as u32));
            f.time_at = Some(i);
            f.consumed[i] = true;
        }
    }

    /// «через неделю», «через 3 дня», "in two days", "in a week".
    fn days_ahead(&self, f: &mut Found, today: NaiveDate) {
        for i in 0..self.n() {
            if !self.tag(i).within || f.date.is_some() {
                continue;
            }
            let mut j = i + 1;
            if self.tag(j).stop && !self.tag(j).week_word && !self.tag(j).day_word {
                j += 1;
            }
            let mut count = None;
            if let Some(k) = self.tag(j).count {
                count = Some(u32::from(k));
                j += 1;
            } else if let Some((s, v)) = plain_number(self.norm, j)
                && s.len() <= 2
                && (1..=60).contains(&v)
            {
                count = Some(v as u32);
                j += 1;
            }
            let days = if self.tag(j).week_word {
                7 * count.unwrap_or(1)
            } else if self.tag(j).day_word && count.is_some() {
                count.unwrap_or(1)
            } else {
                continue;
            };
            f.date = today.checked_add_signed(Duration::days(i64::from(days)));
            for c in &mut f.consumed[i..=j.min(self.n() - 1)] {
                *c = true;
            }
        }
    }

    /// A day number next to a month name ("15 января", "January 15th"), or a month name
    /// alone ("за декабрь", "December 2023").
    fn day_and_month(&self, f: &mut Found, today: NaiveDate) {
        let n = self.n();
        for i in 0..n {
            let Some(month) = self.tag(i).month else { continue };
            if f.consumed[i] {
                continue;
            }
            let day_at = |j: usize| -> Option<u32> {
                let (s, v) = plain_number(self.norm, j)?;
                (s.len() <= 2 && (1..=31).contains(&v)).then_some(v as u32)
            };
            // Day before the month, possibly with an ordinal word between ("15-го января").
            let mut day = None;
            let mut first = i;
            let mut last = i;
            if i >= 1
                && let Some(d) = day_at(i - 1)
            {
                day = Some(d);
                first = i - 1;
            } else if i >= 2
                && self.tag(i - 1).ordinal
                && let Some(d) = day_at(i - 2)
            {
                day = Some(d);
                first = i - 2;
            } else if i >= 3
                && self.tag(i - 1).ordinal
                && self.tag(i - 2).ordinal
                && let Some(d) = day_at(i - 3)
            {
                // "15th of January"
                day = Some(d);
                first = i - 3;
            } else if let Some(d) = day_at(i + 1) {
                day = Some(d);
                last = i + 1;
                if self.tag(i + 2).ordinal {
                    last = i + 2;
                }
            } else if self.tag(i + 1).ordinal || self.tag(i + 1).stop {
                // "January the 15th"
                if let Some(d) = day_at(i + 2) {
                    day = Some(d);
                    last = i + 2;
                }
            }
            let year =
                plain_number(self.norm, last + 1).and_then(|(s, v)| year_of(v, s.len()).filter(|_| s.len() == 4));
            if year.is_some() {
                last += 1;
                if self.tag(last + 1).year_word {
                    last += 1;
                }
            }
            if self.tag(i).month_needs_context
                && day.is_none()
                && year.is_none()
                && !(i >= 1 && self.tag(i - 1).month_context)
            {
                continue;
            }
            let ok = match day {
                Some(d) => {
                    if f.date.is_some() {
                        continue;
                    }
                    let date = match year {
                        Some(y) => NaiveDate::from_ymd_opt(y, month as u32, d),
                        None => upcoming(today, month as u32, d),
                    };
                    f.date = date;
                    date.is_some()
                }
                None => {
                    if f.period.is_some() {
                        continue;
                    }
                    f.period = Some(match year {
                        Some(y) => (y, month as u32),
                        None => recent_month(today, month as u32),
                    });
                    true
                }
            };
            if ok {
                for c in &mut f.consumed[first..=last.min(n - 1)] {
                    *c = true;
                }
            }
        }
    }

    /// "в 12", "в 3 часа дня", "к 10 утра", "at 4 pm", "4pm", "в 9 вечера".
    fn hours(&self, f: &mut Found) {
        if f.time.is_some() {
            return;
        }
        for i in 0..self.n() {
            if f.consumed[i] {
                continue;
            }
            let Some((s, h)) = plain_number(self.norm, i) else { continue };
            if s.len() > 2 || h > 24 {
                continue;
            }
            let prev = if i >= 1 { self.tag(i - 1) } else { Tags::default() };
            let mut j = i + 1;
            let hour_word = self.tag(j).hour_word;
            let mut minutes = 0;
            if hour_word {
                j += 1;
                if let Some((ms, m)) = plain_number(self.norm, j)
                    && ms.len() <= 2
                    && m <= 59
                    && self.tag(j + 1).minute_word
                {
                    minutes = m as u32;
                    j += 2;
                }
            }
            let daypart = self.tag(j).daypart;
            let strong_part = daypart.is_some_and(Daypart::is_strong);
            let loose_ok = prev.at_loose && (hour_word || daypart.is_none() || strong_part);
            let qualified = prev.at || prev.after || loose_ok || hour_word || strong_part;
            if !qualified || self.tag(i + 1).month.is_some() {
                continue;
            }
            let leading_zero = s.len() == 2 && s.starts_with('0');
            if let Some(h24) = self.hour24(h as u32, daypart, leading_zero) {
                f.time = Some((h24, minutes));
                f.time_at = Some(i);
                f.consumed[i] = true;
                return;
            }
        }
    }

    /// The digits after an order marker ("заказ №78234", "order #12345").
    fn order_id(&self, f: &mut Found) {
        for i in 0..self.n() {
            if !self.tag(i).order_marker {
                continue;
            }
            for j in i + 1..(i + 4).min(self.n()) {
                if self.norm.tokens[j].kind == Kind::Number {
                    if let Some((s, _)) = plain_number(self.norm, j)
                        && s.len() >= 4
                        && !f.consumed[j]
                    {
                        f.order_id = Some(s.to_string());
                        return;
                    }
                    break;
                }
            }
        }
    }

    /// A bare number of 5 to 10 digits, read as an order number when the message is about
    /// an order.
    pub fn bare_order_id(&self, f: &Found) -> Option<String> {
        (0..self.n()).find_map(|i| {
            let (s, _) = plain_number(self.norm, i)?;
            ((5..=10).contains(&s.len()) && !f.consumed[i]).then(|| s.to_string())
        })
    }
}

fn mark(consumed: &mut [bool], m: Match) {
    for c in consumed.iter_mut().take(m.end as usize).skip(m.start as usize) {
        *c = true;
    }
}
