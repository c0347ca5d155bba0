//! Maintenance windows: stretches of time, in a time zone, during which alerts are expected.
//!
//! A window is either one-off, with a `start` and an `end`, or recurring, with a `recurrence`
//! that opens it at a local wall-clock time on chosen weekdays for a number of minutes:
//!
//! ```yaml
//! # One-off. RFC 3339 instants, or local date-times read in timeZone.
//! name: datacenter move
//! timeZone: Europe/Berlin
//! start: 2026-12-01T22:00          # 22:00 Berlin time, 21:00Z
//! end: 2026-12-02T04:00
//! ---
//! # Recurring: every Tuesday and Thursday from 22:00 New York time, for three hours.
//! name: patch night
//! timeZone: America/New_York
//! recurrence:
//!   days: [TUE, THU]               # MON..SUN, any case; leave out (or empty) for every day
//!   startTime: "22:00"             # HH:MM, local; quote it in YAML
//!   durationMinutes: 180           # 1 to 10080 (a week)
//! ```
//!
//! `timeZone` is an IANA zone and defaults to `UTC`. A window holds `[start, end)`: it is active
//! from its start up to, not including, its end.
//!
//! Local times follow the same DST rules as rotations (see ARCHITECTURE.md):
//! - a local time in a spring-forward gap means the instant the gap ends: a window at 02:30 on
//!   the day New York skips from 02:00 to 03:00 opens at 03:00 EDT;
//! - a local time in a fall-back fold means its first occurrence.
//!
//! So a recurring 22:00 window opens at 22:00 local on both sides of a change. It then lasts
//! `durationMinutes` of elapsed time, so one that spans the change closes an hour later or
//! earlier on the wall clock than it would on another night. An occurrence belongs to the day
//! it opens: a Monday 23:00 window of three hours is still open at 01:00 on Tuesday.

use crate::Invalid;
use crate::rotation::{Day, HandOff};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Deserializer, Serialize};
use std::str::FromStr;
use utoipa::ToSchema;

/// Longest recurring window, in minutes: a week.
pub const MAX_DURATION_MINUTES: u32 = 7 * 24 * 60;

/// How far ahead [`MaintenanceWindow::current_or_next`] looks for a recurring window's next
/// occurrence.
const HORIZON: SignedDuration = SignedDuration::from_hours(8 * 24);

/// A maintenance window as people write it; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaintenanceWindow {
    pub name: String,
    /// An IANA time zone, such as `Europe/Berlin`.
    #[serde(default = "utc")]
    #[schema(default = "UTC", example = "Europe/Berlin")]
    pub time_zone: String,
    /// A one-off window's start: an RFC 3339 instant, or a local date-time read in `timeZone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-12-01T22:00")]
    pub start: Option<String>,
    /// A one-off window's end, written as `start` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-12-02T04:00")]
    pub end: Option<String>,
    /// A recurring window's schedule, instead of `start` and `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<MaintenanceRecurrence>,
}

fn utc() -> String {
    "UTC".to_string()
}

/// When a recurring window opens, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaintenanceRecurrence {
    /// The weekdays on which the window opens; empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "days_any_case")]
    pub days: Vec<Day>,
    /// The local time of day at which it opens, `HH:MM`.
    #[schema(example = "22:00", pattern = "^[0-2]?[0-9]:[0-5][0-9]$")]
    pub start_time: String,
    /// How long each occurrence lasts, 1 to 10080 minutes.
    #[schema(minimum = 1, maximum = 10080)]
    pub duration_minutes: u32,
}

/// Reads weekdays written in any case (`mon`, `Mon`, `MON`, `monday`).
fn days_any_case<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Day>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| Day::from_str(s).map_err(|e| serde::de::Error::custom(e.message)))
        .collect()
}

/// A window turned into instants: what the questions are answered from.
#[derive(Debug, Clone)]
enum Plan {
    Once { start: Timestamp, end: Timestamp },
    Weekly { tz: TimeZone, days: [bool; 7], at: Time, length: SignedDuration },
}

impl MaintenanceWindow {
    /// Checks the window, naming the field at fault, and returns it with its name, zone, times
    /// and start time trimmed (`9:00` becomes `09:00`).
    pub fn validate(mut self) -> Result<Self, Invalid> {
        self.name = crate::plan::validate_name("name", &self.name)?;
        self.time_zone = self.time_zone.trim().to_string();
        self.start = self.start.map(|s| s.trim().to_string());
        self.end = self.end.map(|s| s.trim().to_string());
        if let Some(r) = &mut self.recurrence {
            r.start_time = start_time(&r.start_time).map_err(|e| e.within("recurrence"))?.to_string();
        }
        self.plan()?;
        Ok(self)
    }

    fn plan(&self) -> Result<Plan, Invalid> {
        let tz = TimeZone::get(self.time_zone.trim())
            .map_err(|_| Invalid::new("timeZone", format!("{:?} is not an IANA time zone", self.time_zone)))?;
        match (&self.start, &self.end, &self.recurrence) {
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                Err(Invalid::new("recurrence", "give either start and end, or a recurrence, not both"))
            }
            (None, None, None) => Err(Invalid::new("start", "give start and end, or a recurrence")),
            (Some(_), None, None) => Err(Invalid::new("end", "required with start")),
            (None, Some(_), None) => Err(Invalid::new("start", "required with end")),
            (Some(start), Some(end), None) => {
                let start = point(&tz, start).map_err(|e| e.within("start"))?;
                let end = point(&tz, end).map_err(|e| e.within("end"))?;
                if end <= start {
                    return Err(Invalid::new("end", "must be after start"));
                }
                Ok(Plan::Once { start, end })
            }
            (None, None, Some(r)) => r.plan(tz).map_err(|e| e.within("recurrence")),
        }
    }

    /// Whether the window holds `now`. A window that does not validate is never active.
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.current_or_next(now).is_some_and(|(start, end)| start <= now && now < end)
    }

    /// The occurrence that holds `now`, else the next one to open: for a one-off window, the
    /// window until it ends; for a recurring one, an occurrence opening within 8 days. When
    /// recurring occurrences overlap (durations longer than the gap between days), the one
    /// holding `now` that closes last. `None` for a window that does not validate.
    pub fn current_or_next(&self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        match self.plan().ok()? {
            Plan::Once { start, end } => (now < end).then_some((start, end)),
            Plan::Weekly { tz, days, at, length } => {
                let today = tz.to_datetime(now).date();
                let horizon = now.checked_add(HORIZON).unwrap_or(Timestamp::MAX);
                let mut current: Option<(Timestamp, Timestamp)> = None;
                // An occurrence lasts at most a week, so one that holds `now` opened at most 8
                // local dates back (a spring-forward night can stretch it past midnight).
                for offset in -8..=9_i64 {
                    let Some(date) = today.checked_add(offset.days()).ok() else { continue };
                    let Some((start, end)) = occurrence(&tz, &days, at, length, date) else { continue };
                    if start <= now && now < end {
                        if current.is_none_or(|(_, e)| end > e) {
                            current = Some((start, end));
                        }
                    } else if start > now {
                        // Dates ascend and so do their openings: the first after `now` is next.
                        return current.or((start <= horizon).then_some((start, end)));
                    }
                }
                current
            }
        }
    }
}

impl MaintenanceRecurrence {
    fn plan(&self, tz: TimeZone) -> Result<Plan, Invalid> {
        let mut days = [false; 7];
        for (i, d) in self.days.iter().enumerate() {
            let slot = &mut days[*d as usize];
            if *slot {
                return Err(Invalid::new(format!("days[{i}]"), format!("{} is listed twice", d.as_str())));
            }
            *slot = true;
        }
        if self.days.is_empty() {
            days = [true; 7];
        }
        let at = start_time(&self.start_time)?;
        let at =
            Time::new(at.hour as i8, at.minute as i8, 0, 0).map_err(|e| Invalid::new("startTime", e.to_string()))?;
        if !(1..=MAX_DURATION_MINUTES).contains(&self.duration_minutes) {
            return Err(Invalid::new("durationMinutes", format!("must be from 1 to {MAX_DURATION_MINUTES} (a week)")));
        }
        let length = SignedDuration::from_mins(i64::from(self.duration_minutes));
        Ok(Plan::Weekly { tz, days, at, length })
    }
}

/// Parses a recurrence's `startTime`; errors name `startTime`.
fn start_time(s: &str) -> Result<HandOff, Invalid> {
    s.parse::<HandOff>().map_err(|e| e.within("startTime"))
}

/// The occurrence that opens on a local date, if the window opens that weekday.
fn occurrence(
    tz: &TimeZone,
    days: &[bool; 7],
    at: Time,
    length: SignedDuration,
    date: Date,
) -> Option<(Timestamp, Timestamp)> {
    let day = Day::ALL[date.weekday().to_monday_zero_offset() as usize];
    if !days[day as usize] {
        return None;
    }
    let start = local_instant(tz, date.to_datetime(at))?;
    Some((start, start.checked_add(length).ok()?))
}

/// Parses a one-off `start` or `end`: an RFC 3339 instant, or a local date-time in `tz`.
fn point(tz: &TimeZone, s: &str) -> Result<Timestamp, Invalid> {
    let s = s.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        Invalid::new(
            "",
            format!(
                "{s:?} is neither an RFC 3339 instant (2026-12-01T21:00:00Z) nor a local date-time (2026-12-01T22:00)"
            ),
        )
    };
    // A zone annotation without an offset would be ignored by the civil parser: refuse it
    // rather than read the time in another zone than the one written.
    if s.contains('[') {
        return Err(bad());
    }
    let dt = s.parse::<DateTime>().map_err(|_| bad())?;
    local_instant(tz, dt).ok_or_else(bad)
}

/// The instant a local date-time names in a zone: in a spring-forward gap, the instant the gap
/// ends; in a fall-back fold, the first occurrence.
fn local_instant(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the offset in force after the jump, a skipped time lands just before the
            // jump; the next transition is the jump itself, where the gap ends.
            let before_jump = after.to_timestamp(dt).ok()?;
            tz.following(before_jump).next().map(|t| t.timestamp())
        }
        _ => ambiguous.earlier().ok(),
    }
}

/// The first window active at `now`, if any.
pub fn any_active(windows: &[MaintenanceWindow], now: Timestamp) -> Option<&MaintenanceWindow> {
    windows.iter().find(|w| w.active_at(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date};

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    fn once(zone: &str, start: &str, end: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            name: "once".into(),
            time_zone: zone.into(),
            start: Some(start.into()),
            end: Some(end.into()),
            recurrence: None,
        }
    }

    fn weekly(zone: &str, days: &[Day], at: &str, minutes: u32) -> MaintenanceWindow {
        MaintenanceWindow {
            name: "weekly".into(),
            time_zone: zone.into(),
            start: None,
            end: None,
            recurrence: Some(MaintenanceRecurrence {
                days: days.to_vec(),
                start_time: at.into(),
                duration_minutes: minutes,
            }),
        }
    }

    /// The occurrence `current_or_next` gives at `now`.
    fn span(w: &MaintenanceWindow, now: &str) -> (Timestamp, Timestamp) {
        w.current_or_next(ts(now)).expect("an occurrence")
    }

    fn pair(start: &str, end: &str) -> (Timestamp, Timestamp) {
        (ts(start), ts(end))
    }

    fn field(w: MaintenanceWindow) -> String {
        w.validate().expect_err("invalid").field
    }

    #[test]
    fn one_off_instants_hold_from_start_to_before_end() {
        let w = once("UTC", "2026-06-01T10:00:00Z", "2026-06-01T12:00:00+01:00").validate().expect("valid");
        let whole = pair("2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
        assert!(!w.active_at(ts("2026-06-01T09:59:59Z")));
        assert!(w.active_at(ts("2026-06-01T10:00:00Z")));
        assert!(w.active_at(ts("2026-06-01T10:59:59Z")));
        assert!(!w.active_at(ts("2026-06-01T11:00:00Z")));
        assert_eq!(w.current_or_next(ts("2026-05-01T00:00:00Z")), Some(whole));
        assert_eq!(w.current_or_next(ts("2026-06-01T10:30:00Z")), Some(whole));
        assert_eq!(w.current_or_next(ts("2026-06-01T11:00:00Z")), None);
    }

    #[test]
    fn one_off_local_times_are_read_in_the_zone() {
        let w = once("Europe/Berlin", "2026-12-01T22:00", "2026-12-02T04:00").validate().expect("valid");
        assert_eq!(span(&w, "2026-12-01T00:00:00Z"), pair("2026-12-01T21:00:00Z", "2026-12-02T03:00:00Z"));
        // Summer time in New York; a space may separate date and time; instants and local times mix.
        let w = once("America/New_York", "2026-07-04 09:30", "2026-07-04T14:00:00Z").validate().expect("valid");
        assert_eq!(span(&w, "2026-07-04T00:00:00Z"), pair("2026-07-04T13:30:00Z", "2026-07-04T14:00:00Z"));
    }

    #[test]
    fn one_off_local_times_follow_the_dst_rules() {
        // 02:30 on 8 March 2026 does not exist in New York: the gap ends at 03:00 EDT, 07:00Z.
        let w = once("America/New_York", "2026-03-08T02:30", "2026-03-08T04:00").validate().expect("valid");
        assert_eq!(span(&w, "2026-03-01T00:00:00Z"), pair("2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"));
        // 01:30 on 1 November 2026 happens twice: the first, 01:30 EDT, is 05:30Z.
        let w = once("America/New_York", "2026-11-01T01:30", "2026-11-01T03:00").validate().expect("valid");
        assert_eq!(span(&w, "2026-10-01T00:00:00Z"), pair("2026-11-01T05:30:00Z", "2026-11-01T08:00:00Z"));
    }

    #[test]
    fn weekly_windows_open_on_the_chosen_days_only() {
        assert_eq!(date(2026, 5, 5).weekday(), Weekday::Tuesday);
        let w = weekly("UTC", &[Day::Tue, Day::Thu], "22:00", 60).validate().expect("valid");
        assert!(w.active_at(ts("2026-05-05T22:30:00Z")));
        assert!(!w.active_at(ts("2026-05-06T22:30:00Z")));
        assert!(w.active_at(ts("2026-05-07T22:00:00Z")));
        assert!(!w.active_at(ts("2026-05-07T23:00:00Z")));
        assert_eq!(span(&w, "2026-05-06T12:00:00Z"), pair("2026-05-07T22:00:00Z", "2026-05-07T23:00:00Z"));
        assert_eq!(span(&w, "2026-05-07T23:00:00Z"), pair("2026-05-12T22:00:00Z", "2026-05-12T23:00:00Z"));
        assert_eq!(span(&w, "2026-05-05T22:59:00Z"), pair("2026-05-05T22:00:00Z", "2026-05-05T23:00:00Z"));
    }

    #[test]
    fn a_window_from_yesterday_late_evening_is_still_open_after_midnight() {
        // Every day 23:00 Berlin (CEST, +02:00) for three hours.
        let w = weekly("Europe/Berlin", &[], "23:00", 180).validate().expect("valid");
        // 01:00 local on 10 June is 23:00Z on 9 June: inside the window that opened on 9 June.
        assert!(w.active_at(ts("2026-06-09T23:00:00Z")));
        assert_eq!(span(&w, "2026-06-09T23:00:00Z"), pair("2026-06-09T21:00:00Z", "2026-06-10T00:00:00Z"));
        // At 02:00 local it has closed; the next opens at 23:00 local that day.
        assert!(!w.active_at(ts("2026-06-10T00:00:00Z")));
        assert_eq!(span(&w, "2026-06-10T00:00:00Z"), pair("2026-06-10T21:00:00Z", "2026-06-11T00:00:00Z"));
    }

    #[test]
    fn an_occurrence_belongs_to_the_day_it_opens() {
        assert_eq!(date(2026, 5, 4).weekday(), Weekday::Monday);
        let w = weekly("UTC", &[Day::Mon], "23:00", 180).validate().expect("valid");
        assert!(w.active_at(ts("2026-05-05T01:00:00Z")), "Monday's window, on Tuesday morning");
        assert!(!w.active_at(ts("2026-05-04T01:00:00Z")), "Sunday has no window");
        assert!(!w.active_at(ts("2026-05-05T23:30:00Z")), "nor has Tuesday");
    }

    #[test]
    fn new_york_windows_keep_local_time_across_the_march_change() {
        // Clocks go from 02:00 EST to 03:00 EDT on 8 March 2026 (07:00Z).
        let w = weekly("America/New_York", &[], "22:00", 60).validate().expect("valid");
        assert_eq!(span(&w, "2026-03-07T12:00:00Z"), pair("2026-03-08T03:00:00Z", "2026-03-08T04:00:00Z"));
        assert_eq!(span(&w, "2026-03-08T12:00:00Z"), pair("2026-03-09T02:00:00Z", "2026-03-09T03:00:00Z"));
        // A window at 02:30 opens when the gap ends on the day of the change.
        let w = weekly("America/New_York", &[], "02:30", 60).validate().expect("valid");
        assert_eq!(span(&w, "2026-03-07T00:00:00Z"), pair("2026-03-07T07:30:00Z", "2026-03-07T08:30:00Z"));
        assert_eq!(span(&w, "2026-03-08T05:00:00Z"), pair("2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"));
        assert_eq!(span(&w, "2026-03-08T08:00:00Z"), pair("2026-03-09T06:30:00Z", "2026-03-09T07:30:00Z"));
        // Three hours from 01:00 EST are three elapsed hours: until 05:00 EDT.
        let w = weekly("America/New_York", &[], "01:00", 180).validate().expect("valid");
        assert_eq!(span(&w, "2026-03-08T05:00:00Z"), pair("2026-03-08T06:00:00Z", "2026-03-08T09:00:00Z"));
    }

    #[test]
    fn new_york_windows_keep_local_time_across_the_november_change() {
        // Clocks go from 02:00 EDT back to 01:00 EST on 1 November 2026 (06:00Z).
        let w = weekly("America/New_York", &[], "22:00", 60).validate().expect("valid");
        assert_eq!(span(&w, "2026-10-31T12:00:00Z"), pair("2026-11-01T02:00:00Z", "2026-11-01T03:00:00Z"));
        assert_eq!(span(&w, "2026-11-01T12:00:00Z"), pair("2026-11-02T03:00:00Z", "2026-11-02T04:00:00Z"));
        // 01:30 happens twice that night; the window opens at the first, 01:30 EDT.
        let w = weekly("America/New_York", &[], "01:30", 60).validate().expect("valid");
        assert_eq!(span(&w, "2026-11-01T00:00:00Z"), pair("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"));
        assert!(w.active_at(ts("2026-11-01T06:15:00Z")), "01:15 EST, still inside the hour");
        assert!(!w.active_at(ts("2026-11-01T06:45:00Z")), "01:45 EST, the second 01:30 opens nothing");
    }

    #[test]
    fn berlin_windows_keep_local_time_across_the_march_and_october_changes() {
        // Berlin: 02:00 CET to 03:00 CEST on 29 March 2026; 03:00 CEST back to 02:00 CET on
        // 25 October 2026 (Europe changes in October, not November). Both at 01:00Z.
        let w = weekly("Europe/Berlin", &[], "22:00", 60).validate().expect("valid");
        assert_eq!(span(&w, "2026-03-28T12:00:00Z"), pair("2026-03-28T21:00:00Z", "2026-03-28T22:00:00Z"));
        assert_eq!(span(&w, "2026-03-29T12:00:00Z"), pair("2026-03-29T20:00:00Z", "2026-03-29T21:00:00Z"));
        assert_eq!(span(&w, "2026-10-24T12:00:00Z"), pair("2026-10-24T20:00:00Z", "2026-10-24T21:00:00Z"));
        assert_eq!(span(&w, "2026-10-25T12:00:00Z"), pair("2026-10-25T21:00:00Z", "2026-10-25T22:00:00Z"));
        let w = weekly("Europe/Berlin", &[], "02:30", 60).validate().expect("valid");
        // Skipped in March: opens at 03:00 CEST, when the gap ends.
        assert_eq!(span(&w, "2026-03-29T00:00:00Z"), pair("2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"));
        // Doubled in October: opens at the first 02:30, CEST.
        assert_eq!(span(&w, "2026-10-25T00:00:00Z"), pair("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"));
    }

    #[test]
    fn week_long_occurrences_are_found_days_after_they_open() {
        assert_eq!(date(2026, 5, 4).weekday(), Weekday::Monday);
        let w = weekly("UTC", &[Day::Mon], "00:00", MAX_DURATION_MINUTES).validate().expect("valid");
        assert_eq!(span(&w, "2026-05-10T23:59:00Z"), pair("2026-05-04T00:00:00Z", "2026-05-11T00:00:00Z"));
        assert_eq!(span(&w, "2026-05-11T00:00:00Z"), pair("2026-05-11T00:00:00Z", "2026-05-18T00:00:00Z"));
        // Every day for a week: seven occurrences overlap; the one closing last is reported.
        let w = weekly("UTC", &[], "06:00", MAX_DURATION_MINUTES).validate().expect("valid");
        assert_eq!(span(&w, "2026-05-10T12:00:00Z"), pair("2026-05-10T06:00:00Z", "2026-05-17T06:00:00Z"));
    }

    #[test]
    fn an_invalid_zone_is_refused() {
        assert_eq!(field(weekly("Mars/Olympus_Mons", &[], "22:00", 60)), "timeZone");
        assert_eq!(field(once("", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z")), "timeZone");
        let w = weekly("Mars/Olympus_Mons", &[], "22:00", 60);
        assert!(!w.active_at(ts("2026-05-05T22:30:00Z")));
        assert_eq!(w.current_or_next(ts("2026-05-05T22:30:00Z")), None);
    }

    #[test]
    fn validation_names_the_field_at_fault() {
        let mut w = once("UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
        w.name = " ".into();
        assert_eq!(field(w), "name");
        let mut w = once("UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
        w.end = None;
        assert_eq!(field(w), "end");
        let mut w = once("UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
        w.start = None;
        assert_eq!(field(w), "start");
        let mut w = once("UTC", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
        w.recurrence = weekly("UTC", &[], "22:00", 60).recurrence;
        assert_eq!(field(w), "recurrence");
        let mut w = weekly("UTC", &[], "22:00", 60);
        w.recurrence = None;
        assert_eq!(field(w), "start");
        assert_eq!(field(once("UTC", "tomorrow", "2026-06-01T11:00:00Z")), "start");
        assert_eq!(field(once("UTC", "2026-12-01T22:00[Asia/Tokyo]", "2026-12-02T11:00:00Z")), "start");
        assert_eq!(field(once("UTC", "2026-06-01T10:00:00Z", "2026-13-01T00:00")), "end");
        assert_eq!(field(once("UTC", "2026-06-01T10:00:00Z", "2026-06-01T10:00:00Z")), "end");
        // 10:00 in Berlin (CEST) is 08:00Z: an end at that instant is not after the start.
        assert_eq!(field(once("Europe/Berlin", "2026-06-01T10:00", "2026-06-01T08:00:00Z")), "end");
        assert_eq!(field(weekly("UTC", &[], "25:00", 60)), "recurrence.startTime");
        assert_eq!(field(weekly("UTC", &[], "22h", 60)), "recurrence.startTime");
        assert_eq!(field(weekly("UTC", &[], "22:00", 0)), "recurrence.durationMinutes");
        assert_eq!(field(weekly("UTC", &[], "22:00", MAX_DURATION_MINUTES + 1)), "recurrence.durationMinutes");
        assert_eq!(field(weekly("UTC", &[Day::Mon, Day::Fri, Day::Mon], "22:00", 60)), "recurrence.days[2]");
    }

    #[test]
    fn windows_read_json_with_defaults_and_refuse_unknown_fields() {
        let body = r#"{"name": "patch night",
            "recurrence": {"days": ["tue", "Thursday"], "startTime": " 9:00", "durationMinutes": 30}}"#;
        let w: MaintenanceWindow = serde_json::from_str(body).expect("valid window");
        assert_eq!(w.time_zone, "UTC");
        let w = w.validate().expect("valid");
        let r = w.recurrence.as_ref().expect("recurring");
        assert_eq!(r.days, [Day::Tue, Day::Thu]);
        assert_eq!(r.start_time, "09:00");
        assert_eq!(
            serde_json::to_value(&w).expect("serializes"),
            serde_json::json!({"name": "patch night", "timeZone": "UTC",
                "recurrence": {"days": ["TUE", "THU"], "startTime": "09:00", "durationMinutes": 30}})
        );
        assert!(serde_json::from_str::<MaintenanceWindow>(r#"{"name": "x", "until": "2026-01-01"}"#).is_err());
        let nested = r#"{"name": "x", "recurrence": {"startTime": "22:00", "durationMinutes": 30, "every": 2}}"#;
        assert!(serde_json::from_str::<MaintenanceWindow>(nested).is_err());
        let bad_day =
            r#"{"name": "x", "recurrence": {"days": ["someday"], "startTime": "22:00", "durationMinutes": 30}}"#;
        assert!(serde_json::from_str::<MaintenanceWindow>(bad_day).is_err());
    }

    #[test]
    fn any_active_names_the_first_open_window() {
        let mut closed = weekly("UTC", &[], "10:00", 60);
        closed.name = "closed".into();
        let mut first = once("UTC", "2026-05-05T21:00:00Z", "2026-05-06T01:00:00Z");
        first.name = "first".into();
        let mut second = weekly("UTC", &[Day::Tue], "22:00", 60);
        second.name = "second".into();
        let windows = [closed, first, second];
        let now = ts("2026-05-05T22:15:00Z");
        assert_eq!(any_active(&windows, now).map(|w| w.name.as_str()), Some("first"));
        assert_eq!(any_active(&windows[2..], now).map(|w| w.name.as_str()), Some("second"));
        assert!(any_active(&windows, ts("2026-05-06T05:00:00Z")).is_none());
        assert!(any_active(&[], now).is_none());
    }
}
