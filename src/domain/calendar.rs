//! The working calendar and stage deadlines: limits in calendar minutes, working
//! hours or working days; holidays and make-up working days (调休); traffic
//! lights (green < 80 % of the limit used, yellow 80–100 %, red overdue).

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("working period {0}–{1} is empty or reversed")]
    BadPeriod(NaiveTime, NaiveTime),
    #[error("working periods overlap or are out of order")]
    UnorderedPeriods,
    #[error("the calendar has no working time within ten years")]
    NoWorkingTime,
}

/// Working days and hours in the city's time zone.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    zone: FixedOffset,
    /// Working periods of a working day, in order, e.g. 08:30–12:00 and 14:00–17:30.
    periods: Vec<(NaiveTime, NaiveTime)>,
    weekend: Vec<Weekday>,
    holidays: HashSet<NaiveDate>,
    /// Make-up working days (调休): working even on a weekend.
    workdays: HashSet<NaiveDate>,
}

impl WorkCalendar {
    pub fn new(
        zone: FixedOffset,
        periods: Vec<(NaiveTime, NaiveTime)>,
        weekend: Vec<Weekday>,
        holidays: impl IntoIterator<Item = NaiveDate>,
        workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        for &(a, b) in &periods {
            if a >= b {
                return Err(CalendarError::BadPeriod(a, b));
            }
        }
        if periods.windows(2).any(|w| w[0].1 > w[1].0) {
            return Err(CalendarError::UnorderedPeriods);
        }
        Ok(Self {
            zone,
            periods,
            weekend,
            holidays: holidays.into_iter().collect(),
            workdays: workdays.into_iter().collect(),
        })
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        !self.holidays.contains(&date) && !self.weekend.contains(&date.weekday())
    }

    /// Minutes of work in one working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.periods
            .iter()
            .map(|(a, b)| (*b - *a).num_minutes())
            .sum()
    }

    fn at(&self, date: NaiveDate, t: NaiveTime) -> DateTime<FixedOffset> {
        // A fixed offset has exactly one instant per local time.
        self.zone
            .from_local_datetime(&date.and_time(t))
            .single()
            .unwrap_or_else(|| self.zone.from_utc_datetime(&date.and_time(t)))
    }

    /// The instant `minutes` of working time after `start`.
    pub fn add_working_minutes(
        &self,
        start: DateTime<FixedOffset>,
        minutes: i64,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let start = start.with_timezone(&self.zone);
        let mut remaining = Duration::minutes(minutes.max(0));
        let mut date = start.date_naive();
        let mut from = start.time();
        for _ in 0..3660 {
            if self.is_working_day(date) {
                for &(a, b) in &self.periods {
                    let seg_start = from.max(a);
                    if seg_start >= b {
                        continue;
                    }
                    let available = b - seg_start;
                    if remaining <= available {
                        return Ok(self.at(date, seg_start) + remaining);
                    }
                    remaining -= available;
                }
            }
            date = date.succ_opt().ok_or(CalendarError::NoWorkingTime)?;
            from = NaiveTime::MIN;
        }
        Err(CalendarError::NoWorkingTime)
    }

    /// Working minutes between two instants (0 if `to` is not after `from`).
    pub fn working_minutes_between(
        &self,
        from: DateTime<FixedOffset>,
        to: DateTime<FixedOffset>,
    ) -> i64 {
        let (from, to) = (from.with_timezone(&self.zone), to.with_timezone(&self.zone));
        if to <= from {
            return 0;
        }
        let mut total = Duration::zero();
        let mut date = from.date_naive();
        while date <= to.date_naive() {
            if self.is_working_day(date) {
                for &(a, b) in &self.periods {
                    let (s, e) = (self.at(date, a).max(from), self.at(date, b).min(to));
                    if e > s {
                        total += e - s;
                    }
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        total.num_minutes()
    }
}

/// A stage's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "unit", content = "amount")]
pub enum TimeLimit {
    /// Wall-clock minutes (filing and dispatch: 10 min urgent, 30 min normal).
    Minutes(i64),
    WorkingHours(i64),
    /// A working day is the calendar's working minutes of one day: "1 working
    /// day" from Monday 15:00 is Tuesday 15:00.
    WorkingDays(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl TimeLimit {
    fn working_minutes(self, cal: &WorkCalendar) -> Option<i64> {
        match self {
            TimeLimit::Minutes(_) => None,
            TimeLimit::WorkingHours(h) => Some(h * 60),
            TimeLimit::WorkingDays(d) => Some(d * cal.minutes_per_day()),
        }
    }

    /// When a stage started at `start` is due.
    pub fn due(
        self,
        cal: &WorkCalendar,
        start: DateTime<FixedOffset>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        match self.working_minutes(cal) {
            None => Ok(start
                + Duration::minutes(match self {
                    TimeLimit::Minutes(m) => m,
                    _ => 0,
                })),
            Some(m) => cal.add_working_minutes(start, m),
        }
    }

    /// The stage's light at `now`: the share of its limit used, measured the way
    /// the limit is (wall clock or working time).
    pub fn light(
        self,
        cal: &WorkCalendar,
        start: DateTime<FixedOffset>,
        due: DateTime<FixedOffset>,
        now: DateTime<FixedOffset>,
    ) -> Light {
        if now > due {
            return Light::Red;
        }
        let (used, total) = match self.working_minutes(cal) {
            None => (
                (now - start).num_seconds() as f64,
                (due - start).num_seconds() as f64,
            ),
            Some(_) => (
                cal.working_minutes_between(start, now) as f64,
                cal.working_minutes_between(start, due) as f64,
            ),
        };
        if total <= 0.0 || used >= 0.8 * total {
            Light::Yellow
        } else {
            Light::Green
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn at(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(y, m, day, h, min, 0)
            .unwrap()
    }

    /// Weekdays 08:30–12:00 and 14:00–17:30 (7 h); 2026-10-01..07 National Day
    /// holiday; Sunday 2026-09-27 and Saturday 2026-10-10 make-up working days.
    fn cal() -> WorkCalendar {
        WorkCalendar::new(
            FixedOffset::east_opt(8 * 3600).unwrap(),
            vec![(t(8, 30), t(12, 0)), (t(14, 0), t(17, 30))],
            vec![Weekday::Sat, Weekday::Sun],
            (1..=7).map(|day| d(2026, 10, day)),
            [d(2026, 9, 27), d(2026, 10, 10)],
        )
        .unwrap()
    }

    #[test]
    fn working_hours_skip_lunch_and_the_weekend() {
        let c = cal();
        // Friday 2026-11-20 16:30 + 4 working hours: 1 h on Friday, 3 h on Monday.
        assert_eq!(
            TimeLimit::WorkingHours(4)
                .due(&c, at(2026, 11, 20, 16, 30))
                .unwrap(),
            at(2026, 11, 23, 11, 30)
        );
        // Across lunch: 11:00 + 2 h = 15:00.
        assert_eq!(
            TimeLimit::WorkingHours(2)
                .due(&c, at(2026, 11, 23, 11, 0))
                .unwrap(),
            at(2026, 11, 23, 15, 0)
        );
        // Reported at night: the clock starts at 08:30.
        assert_eq!(
            TimeLimit::WorkingHours(1)
                .due(&c, at(2026, 11, 23, 22, 0))
                .unwrap(),
            at(2026, 11, 24, 9, 30)
        );
    }

    #[test]
    fn holidays_and_make_up_days() {
        let c = cal();
        assert!(c.is_working_day(d(2026, 9, 27)), "make-up Sunday");
        assert!(!c.is_working_day(d(2026, 10, 2)), "National Day");
        // Wednesday 2026-09-30 15:00 + 1 working day: the holiday and the weekend
        // pass, Thursday 8th is the next working day.
        assert_eq!(
            TimeLimit::WorkingDays(1)
                .due(&c, at(2026, 9, 30, 15, 0))
                .unwrap(),
            at(2026, 10, 8, 15, 0)
        );
        // Friday 9th + 1 working day = the make-up Saturday 10th.
        assert_eq!(
            TimeLimit::WorkingDays(1)
                .due(&c, at(2026, 10, 9, 10, 0))
                .unwrap(),
            at(2026, 10, 10, 10, 0)
        );
    }

    #[test]
    fn wall_clock_minutes_ignore_the_calendar() {
        let c = cal();
        assert_eq!(
            TimeLimit::Minutes(30)
                .due(&c, at(2026, 11, 21, 23, 50))
                .unwrap(),
            at(2026, 11, 22, 0, 20)
        );
    }

    #[test]
    fn traffic_lights() {
        let c = cal();
        let start = at(2026, 11, 23, 9, 0);
        let limit = TimeLimit::WorkingHours(10);
        let due = limit.due(&c, start).unwrap();
        assert_eq!(due, at(2026, 11, 24, 12, 0));
        assert_eq!(
            limit.light(&c, start, due, at(2026, 11, 23, 17, 0)),
            Light::Green
        ); // 6 of 10 h used
        assert_eq!(
            limit.light(&c, start, due, at(2026, 11, 24, 10, 0)),
            Light::Yellow
        ); // 8 of 10 h used
        assert_eq!(
            limit.light(&c, start, due, at(2026, 11, 24, 12, 1)),
            Light::Red
        );
        // Overnight costs no working time: 6.5 h used at 08:00 next day.
        assert_eq!(
            c.working_minutes_between(start, at(2026, 11, 24, 8, 0)),
            390
        );
    }

    #[test]
    fn bad_calendars_are_refused() {
        let z = FixedOffset::east_opt(0).unwrap();
        assert!(WorkCalendar::new(z, vec![(t(12, 0), t(9, 0))], vec![], [], []).is_err());
        assert!(
            WorkCalendar::new(
                z,
                vec![(t(8, 0), t(12, 0)), (t(11, 0), t(13, 0))],
                vec![],
                [],
                []
            )
            .is_err()
        );
        let every_day = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let never = WorkCalendar::new(z, vec![(t(8, 0), t(9, 0))], every_day, [], []).unwrap();
        assert_eq!(
            never.add_working_minutes(at(2026, 1, 1, 0, 0), 10),
            Err(CalendarError::NoWorkingTime)
        );
    }
}
