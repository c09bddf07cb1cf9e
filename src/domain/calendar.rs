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

/// `calendar.toml`: the city's working calendar as configured.
///
/// ```toml
/// timezone = "+08:00"
/// working_hours = ["08:30-12:00", "14:00-17:30"]
/// weekend = ["sat", "sun"]
/// holidays = ["2026-10-01..2026-10-07"]
/// workdays = ["2026-09-20", "2026-10-10"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    pub timezone: String,
    pub working_hours: Vec<String>,
    #[serde(default)]
    pub weekend: Vec<String>,
    /// Dates or inclusive ranges `FROM..TO`.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Make-up working days (调休), dates or ranges.
    #[serde(default)]
    pub workdays: Vec<String>,
}

impl Default for CalendarConfig {
    /// Monday to Friday, 08:30–12:00 and 14:00–17:30, China Standard Time.
    fn default() -> Self {
        Self {
            timezone: "+08:00".into(),
            working_hours: vec!["08:30-12:00".into(), "14:00-17:30".into()],
            weekend: vec!["sat".into(), "sun".into()],
            holidays: vec![],
            workdays: vec![],
        }
    }
}

fn parse_dates(items: &[String], what: &str) -> Result<Vec<NaiveDate>, String> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{what}: {s:?} is not a date YYYY-MM-DD"))
    };
    let mut out = Vec::new();
    for item in items {
        match item.split_once("..") {
            Some((a, b)) => {
                let (a, b) = (date(a)?, date(b)?);
                if b < a || (b - a).num_days() > 366 {
                    return Err(format!(
                        "{what}: range {item:?} is reversed or longer than a year"
                    ));
                }
                out.extend(a.iter_days().take_while(|d| *d <= b));
            }
            None => out.push(date(item)?),
        }
    }
    Ok(out)
}

impl CalendarConfig {
    /// The calendar, or a message naming the first bad entry.
    pub fn build(&self) -> Result<WorkCalendar, String> {
        let zone: FixedOffset = self
            .timezone
            .parse()
            .map_err(|_| format!("timezone {:?} must be an offset like +08:00", self.timezone))?;
        let mut periods = Vec::new();
        for p in &self.working_hours {
            let parsed = p.split_once('-').and_then(|(a, b)| {
                Some((
                    NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?,
                    NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?,
                ))
            });
            periods
                .push(parsed.ok_or_else(|| format!("working_hours: {p:?} must be HH:MM-HH:MM"))?);
        }
        if periods.is_empty() {
            return Err("working_hours is empty".into());
        }
        let mut weekend = Vec::new();
        for d in &self.weekend {
            weekend.push(
                d.parse::<Weekday>()
                    .map_err(|_| format!("weekend: {d:?} is not a weekday (mon … sun)"))?,
            );
        }
        let holidays = parse_dates(&self.holidays, "holidays")?;
        let workdays = parse_dates(&self.workdays, "workdays")?;
        WorkCalendar::new(zone, periods, weekend, holidays, workdays).map_err(|e| e.to_string())
    }
}

impl WorkCalendar {
    pub fn zone(&self) -> FixedOffset {
        self.zone
    }
}

/// A stage's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "unit", content = "amount")]
pub enum TimeLimit {
    /// Wall-clock minutes (filing and dispatch: 10 min urgent, 30 min normal).
    Minutes(i64),
    WorkingHours(i64),
    /// A working day is the calendar's working minutes of one day: "1 working
    /// day" from Monday 15:00 is Tuesday 15:00.
    WorkingDays(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl TimeLimit {
    /// From `sla.csv`'s amount and unit (`minutes`, `working_hours`, `working_days`).
    pub fn parse(amount: i64, unit: &str) -> Option<Self> {
        if amount <= 0 {
            return None;
        }
        match unit {
            "minutes" => Some(TimeLimit::Minutes(amount)),
            "working_hours" => Some(TimeLimit::WorkingHours(amount)),
            "working_days" => Some(TimeLimit::WorkingDays(amount)),
            _ => None,
        }
    }

    pub fn amount(self) -> i64 {
        match self {
            TimeLimit::Minutes(n) | TimeLimit::WorkingHours(n) | TimeLimit::WorkingDays(n) => n,
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            TimeLimit::Minutes(_) => "minutes",
            TimeLimit::WorkingHours(_) => "working_hours",
            TimeLimit::WorkingDays(_) => "working_days",
        }
    }

    /// Counted on the working calendar rather than the wall clock.
    pub fn is_working_time(self) -> bool {
        !matches!(self, TimeLimit::Minutes(_))
    }

    /// The new due time of a stage that was paused from `paused` to `resumed`:
    /// the clock stood still, so the time that was left is left again.
    pub fn resume_due(
        self,
        cal: &WorkCalendar,
        due: DateTime<FixedOffset>,
        paused: DateTime<FixedOffset>,
        resumed: DateTime<FixedOffset>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        if resumed <= paused {
            return Ok(due);
        }
        if due <= paused {
            // Already overdue when paused: it stays overdue by as much.
            return Ok(due + (resumed - paused));
        }
        if self.is_working_time() {
            cal.add_working_minutes(resumed, cal.working_minutes_between(paused, due))
        } else {
            Ok(resumed + (due - paused))
        }
    }

    /// A deadline moved by an approved extension of `hours`.
    pub fn extend(
        self,
        cal: &WorkCalendar,
        due: DateTime<FixedOffset>,
        hours: i64,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        if self.is_working_time() {
            cal.add_working_minutes(due, hours * 60)
        } else {
            Ok(due + Duration::hours(hours))
        }
    }
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

    /// The first instant at which [`TimeLimit::light`] of a stage started at
    /// `start` and due at `due` turns yellow: 80 % of it used, measured the way
    /// the limit is. Kept with the stage, so the map can tell each case's light
    /// without the calendar.
    pub fn warn_at(
        self,
        cal: &WorkCalendar,
        start: DateTime<FixedOffset>,
        due: DateTime<FixedOffset>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        match self.working_minutes(cal) {
            None => {
                let total = (due - start).num_seconds().max(0) as f64;
                Ok(start + Duration::seconds((0.8 * total).ceil() as i64))
            }
            Some(_) => {
                let total = cal.working_minutes_between(start, due) as f64;
                cal.add_working_minutes(start, (0.8 * total).ceil() as i64)
            }
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
        // Yellow from the instant 8 of the 10 h are used, not a second before.
        let warn = limit.warn_at(&c, start, due).unwrap();
        assert_eq!(warn, at(2026, 11, 24, 10, 0));
        let second = Duration::seconds(1);
        assert_eq!(limit.light(&c, start, due, warn - second), Light::Green);
        assert_eq!(limit.light(&c, start, due, warn), Light::Yellow);
        // Wall-clock limits: 80 % of the minutes, nights included.
        let minutes = TimeLimit::Minutes(50);
        let due = minutes.due(&c, start).unwrap();
        let warn = minutes.warn_at(&c, start, due).unwrap();
        assert_eq!(warn, at(2026, 11, 23, 9, 40));
        assert_eq!(minutes.light(&c, start, due, warn - second), Light::Green);
        assert_eq!(minutes.light(&c, start, due, warn), Light::Yellow);
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

    #[test]
    fn the_configured_calendar_is_the_one_tested_above() {
        let config: CalendarConfig = toml::from_str(
            r#"
            timezone = "+08:00"
            working_hours = ["08:30-12:00", "14:00-17:30"]
            weekend = ["sat", "sun"]
            holidays = ["2026-10-01..2026-10-07"]
            workdays = ["2026-09-27", "2026-10-10"]
            "#,
        )
        .unwrap();
        let c = config.build().unwrap();
        let reference = cal();
        for day in 0..60 {
            let date = d(2026, 9, 15) + Duration::days(day);
            assert_eq!(
                c.is_working_day(date),
                reference.is_working_day(date),
                "{date}"
            );
        }
        assert_eq!(c.minutes_per_day(), 420);
        let bad: [(fn(&mut CalendarConfig), &str); 5] = [
            (|c| c.timezone = "Asia/Shanghai".into(), "timezone"),
            (|c| c.working_hours = vec!["8-12".into()], "working_hours"),
            (|c| c.weekend = vec!["caturday".into()], "weekend"),
            (
                |c| c.holidays = vec!["2026-10-07..2026-10-01".into()],
                "holidays",
            ),
            (|c| c.workdays = vec!["2026-13-01".into()], "workdays"),
        ];
        for (spoil, needle) in bad {
            let mut cfg = config.clone();
            spoil(&mut cfg);
            let err = cfg.build().unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn a_paused_stage_keeps_the_time_it_had_left() {
        let c = cal();
        let limit = TimeLimit::WorkingHours(4);
        // Due Monday 11:30; paused Friday 17:00 with 1.5 h left (Fri 0.5 h + Mon 3 h … )
        let due = at(2026, 11, 23, 11, 30);
        let paused = at(2026, 11, 20, 17, 0);
        let left = c.working_minutes_between(paused, due);
        assert_eq!(left, 30 + 180);
        // Resumed Tuesday 09:00: the same 3.5 h from then.
        let resumed = at(2026, 11, 24, 9, 0);
        assert_eq!(
            limit.resume_due(&c, due, paused, resumed).unwrap(),
            at(2026, 11, 24, 14, 30)
        );
        // Wall-clock limits shift by the pause.
        let m = TimeLimit::Minutes(30);
        assert_eq!(
            m.resume_due(
                &c,
                at(2026, 11, 20, 10, 30),
                at(2026, 11, 20, 10, 10),
                at(2026, 11, 20, 12, 0)
            )
            .unwrap(),
            at(2026, 11, 20, 12, 20)
        );
    }

    #[test]
    fn extensions_add_working_hours() {
        let c = cal();
        // Due Friday 17:00, extended by 2 working hours: Monday 10:00.
        assert_eq!(
            TimeLimit::WorkingDays(1)
                .extend(&c, at(2026, 11, 20, 17, 0), 2)
                .unwrap(),
            at(2026, 11, 23, 10, 0)
        );
    }
}
