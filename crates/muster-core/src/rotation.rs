//! On-call rotations: who is on call at an instant, and the shifts between two instants.
//!
//! A rotation hands off at local wall-clock times in its IANA zone. The handoff points come from a
//! recurrence (daily, weekly or monthly times) repeated every `recurrenceMultiplier` days, weeks or
//! months, counted from the rotation's start. Shift 0 runs from the start to the first handoff
//! after it; shift `s` ends where shift `s + 1` begins, so shifts tile time by construction.
//!
//! DST rules (also in ARCHITECTURE.md):
//! - A handoff whose local time falls in a spring-forward gap happens when the gap ends, the first
//!   instant after it: 02:30 on the day New York skips 02:00-03:00 is 03:00 EDT (07:00Z).
//! - A handoff whose local time occurs twice in a fall-back hour happens at the first occurrence.
//! - So handoffs never run backwards: two that land on the same instant (02:15 and 03:00 on a
//!   spring-forward day) make an empty shift, which listings leave out.
//! - Coverage windows are local times of day, turned into instants by the same two rules.
//!
//! Everything here is a pure function of the rotation, its overrides and the instants asked about.

use crate::Invalid;
use crate::error::text;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Most shifts a single listing may produce.
pub const MAX_SHIFTS: usize = 20_000;

/// A local time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandOff {
    pub hour: u8,
    pub minute: u8,
}

impl HandOff {
    pub fn new(hour: u8, minute: u8) -> Result<Self, Invalid> {
        if hour > 23 || minute > 59 {
            return Err(Invalid::new("", format!("{hour:02}:{minute:02} is not a time of day (00:00 to 23:59)")));
        }
        Ok(Self { hour, minute })
    }

    fn time(self) -> Time {
        Time::constant(self.hour as i8, self.minute as i8, 0, 0)
    }

    fn minutes(self) -> u32 {
        u32::from(self.hour) * 60 + u32::from(self.minute)
    }
}

impl FromStr for HandOff {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("", format!("{s:?} is not a time of day; write HH:MM"));
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        HandOff::new(h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?)
    }
}

impl fmt::Display for HandOff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl Serialize for HandOff {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HandOff {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: Invalid| serde::de::Error::custom(e.message))
    }
}

impl utoipa::PartialSchema for HandOff {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-2]?[0-9]:[0-5][0-9]$"))
            .description(Some("A local time of day, HH:MM"))
            .into()
    }
}

impl ToSchema for HandOff {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub const ALL: [Day; 7] = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri, Day::Sat, Day::Sun];

    fn index(self) -> usize {
        self as usize
    }

    fn of(w: Weekday) -> Day {
        Day::ALL[w.to_monday_zero_offset() as usize]
    }
}

impl FromStr for Day {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        Ok(match s.trim().to_ascii_uppercase().as_str() {
            "MON" | "MONDAY" => Day::Mon,
            "TUE" | "TUESDAY" => Day::Tue,
            "WED" | "WEDNESDAY" => Day::Wed,
            "THU" | "THURSDAY" => Day::Thu,
            "FRI" | "FRIDAY" => Day::Fri,
            "SAT" | "SATURDAY" => Day::Sat,
            "SUN" | "SUNDAY" => Day::Sun,
            _ => return Err(Invalid::new("", format!("{s:?} is not a day; use MON, TUE, WED, THU, FRI, SAT or SUN"))),
        })
    }
}

impl Day {
    pub fn as_str(self) -> &'static str {
        ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"][self.index()]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHandOff {
    pub day: Day,
    pub at: HandOff,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthlyHandOff {
    /// 1 to 31; in a shorter month, the last day.
    pub day: u8,
    pub at: HandOff,
}

/// When shifts hand off, in the rotation's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Recurrence {
    /// Every day (every `recurrenceMultiplier` days) at these times.
    Daily(Vec<HandOff>),
    /// Every week (every `recurrenceMultiplier` weeks) on these days at these times.
    Weekly(Vec<WeeklyHandOff>),
    /// Every month (every `recurrenceMultiplier` months) on these days of the month.
    Monthly(Vec<MonthlyHandOff>),
}

/// A window of a day during which someone is on call. An `end` of `00:00` means midnight at the
/// end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageWindow {
    pub start: HandOff,
    pub end: HandOff,
}

impl CoverageWindow {
    fn end_minutes(self) -> u32 {
        if self.end.minutes() == 0 { 24 * 60 } else { self.end.minutes() }
    }
}

/// A rotation as people write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationSpec {
    pub name: String,
    /// Contact aliases, in rotation order.
    pub members: Vec<String>,
    /// When the rotation takes effect; nobody is on call before.
    pub start: Timestamp,
    /// An IANA time zone, such as `Europe/Rome`.
    pub time_zone: String,
    pub recurrence: Recurrence,
    /// Hand off every this many days, weeks or months (1 to 100).
    #[serde(default = "one")]
    pub recurrence_multiplier: u32,
    /// How many members are on call at once.
    #[serde(default = "one")]
    pub number_of_on_calls: u32,
    /// Hours per weekday when someone is on call; empty means always.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub coverage: BTreeMap<Day, Vec<CoverageWindow>>,
}

fn one() -> u32 {
    1
}

/// A stored rotation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub id: String,
    #[serde(flatten)]
    pub spec: RotationSpec,
    /// The stack that manages this rotation, if any.
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The secret in the rotation's calendar feed URL.
    #[serde(skip)]
    pub calendar_token: String,
}

/// An override: these people are on call instead, for exactly this window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub id: String,
    pub contacts: Vec<String>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub created_at: Timestamp,
    pub created_by: String,
}

/// Checks an override's window and contacts.
pub fn validate_override(contacts: &[String], start: Timestamp, end: Timestamp) -> Result<Vec<String>, Invalid> {
    if end <= start {
        return Err(Invalid::new("end", "must be after start"));
    }
    if end.duration_since(start) > jiff::SignedDuration::from_hours(24 * 366) {
        return Err(Invalid::new("end", "an override lasts at most a year"));
    }
    if contacts.is_empty() {
        return Err(Invalid::new("contacts", "name at least one contact"));
    }
    let mut out = Vec::new();
    for (i, c) in contacts.iter().enumerate() {
        let c = text(&format!("contacts[{i}]"), c, 100)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// A stretch of time with the same people on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Aliases of the people on call.
    pub contacts: Vec<String>,
    /// True when an override replaced the scheduled people.
    pub overridden: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_id: Option<String>,
    /// The rotation's shift number (0 from the start), absent for an override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift_number: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy)]
struct Point {
    /// Days from the period's first day (daily, weekly), or the day of the month (monthly).
    day: i64,
    time: Time,
}

/// A validated rotation, ready to answer questions quickly.
#[derive(Debug, Clone)]
pub struct Schedule {
    members: Vec<String>,
    tz: TimeZone,
    start: Timestamp,
    unit: Unit,
    multiplier: i64,
    on_calls: usize,
    points: Vec<Point>,
    period0: Date,
    /// Handoffs at or before the start, which begin no shift.
    skipped: i64,
    coverage: [Vec<(u32, u32)>; 7],
    has_coverage: bool,
}

/// The instant a local date and time names in a zone, by the DST rules above.
fn instant(tz: &TimeZone, dt: DateTime) -> Timestamp {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    let resolved = match ambiguous.offset() {
        // In a gap: the instant the gap ends, when the clock jumps past this local time. Any
        // later rule (such as shifting by the gap's length) could put a handoff after one that
        // is later on the wall clock, and shifts would no longer tile.
        AmbiguousOffset::Gap { after, .. } => {
            after.to_timestamp(dt).ok().and_then(|before_jump| tz.following(before_jump).next().map(|t| t.timestamp()))
        }
        // In a fold: the first occurrence.
        _ => ambiguous.earlier().ok(),
    };
    resolved.unwrap_or(Timestamp::MIN)
}

impl RotationSpec {
    /// Validates the spec and compiles it.
    pub fn schedule(&self) -> Result<Schedule, Invalid> {
        Schedule::new(self)
    }

    /// The spec with its name and members trimmed and checked, and its schedule.
    pub fn validate(mut self) -> Result<(Self, Schedule), Invalid> {
        self.name = crate::plan::validate_name("name", &self.name)?;
        let mut members = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            let m = text(&format!("members[{i}]"), m, 100)?;
            if members.contains(&m) {
                return Err(Invalid::new(format!("members[{i}]"), format!("{m} is listed twice")));
            }
            members.push(m);
        }
        self.members = members;
        let schedule = Schedule::new(&self)?;
        Ok((self, schedule))
    }
}

impl Schedule {
    pub fn new(spec: &RotationSpec) -> Result<Self, Invalid> {
        if spec.members.is_empty() {
            return Err(Invalid::new("members", "a rotation needs at least one member"));
        }
        let tz = TimeZone::get(spec.time_zone.trim())
            .map_err(|_| Invalid::new("timeZone", format!("{:?} is not an IANA time zone", spec.time_zone)))?;
        if !(1..=100).contains(&spec.recurrence_multiplier) {
            return Err(Invalid::new("recurrenceMultiplier", "must be from 1 to 100"));
        }
        let n = spec.members.len();
        if spec.number_of_on_calls == 0 || spec.number_of_on_calls as usize > n {
            return Err(Invalid::new("numberOfOnCalls", format!("must be from 1 to the number of members ({n})")));
        }
        let (unit, mut points) = match &spec.recurrence {
            Recurrence::Daily(times) => {
                (Unit::Day, times.iter().map(|t| Point { day: 0, time: t.time() }).collect::<Vec<_>>())
            }
            Recurrence::Weekly(w) => {
                (Unit::Week, w.iter().map(|h| Point { day: h.day.index() as i64, time: h.at.time() }).collect())
            }
            Recurrence::Monthly(m) => {
                for (i, h) in m.iter().enumerate() {
                    if !(1..=31).contains(&h.day) {
                        return Err(Invalid::new(format!("recurrence.monthly[{i}].day"), "must be from 1 to 31"));
                    }
                }
                (Unit::Month, m.iter().map(|h| Point { day: i64::from(h.day), time: h.at.time() }).collect())
            }
        };
        if points.is_empty() {
            return Err(Invalid::new("recurrence", "name at least one handoff time"));
        }
        points.sort_by_key(|p| (p.day, p.time));
        let before = points.len();
        points.dedup_by_key(|p| (p.day, p.time));
        if points.len() != before {
            return Err(Invalid::new("recurrence", "a handoff time is listed twice"));
        }
        let mut coverage: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, windows) in &spec.coverage {
            let mut spans: Vec<(u32, u32)> = Vec::new();
            for (i, w) in windows.iter().enumerate() {
                let (s, e) = (w.start.minutes(), w.end_minutes());
                if e <= s {
                    return Err(Invalid::new(
                        format!("coverage.{}[{i}]", day.as_str()),
                        "end must be after start (00:00 as end means midnight)",
                    ));
                }
                spans.push((s, e));
            }
            spans.sort();
            for pair in spans.windows(2) {
                if pair[1].0 < pair[0].1 {
                    return Err(Invalid::new(format!("coverage.{}", day.as_str()), "windows overlap"));
                }
            }
            coverage[day.index()] = spans;
        }
        let has_coverage = !spec.coverage.is_empty();
        if has_coverage && coverage.iter().all(Vec::is_empty) {
            return Err(Invalid::new("coverage", "names no window; leave it out for round-the-clock cover"));
        }
        let start_date = tz.to_datetime(spec.start).date();
        let period0 = match unit {
            Unit::Day => start_date,
            Unit::Week => start_date
                .checked_sub((start_date.weekday().to_monday_zero_offset() as i64).days())
                .map_err(|e| Invalid::new("start", e.to_string()))?,
            Unit::Month => start_date.first_of_month(),
        };
        let mut schedule = Schedule {
            members: spec.members.clone(),
            tz,
            start: spec.start,
            unit,
            multiplier: i64::from(spec.recurrence_multiplier),
            on_calls: spec.number_of_on_calls as usize,
            points,
            period0,
            skipped: 0,
            coverage,
            has_coverage,
        };
        schedule.skipped = schedule.count_le(spec.start);
        Ok(schedule)
    }

    pub fn members(&self) -> &[String] {
        &self.members
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    fn period_start(&self, p: i64) -> Option<Date> {
        let n = p * self.multiplier;
        match self.unit {
            Unit::Day => self.period0.checked_add(n.days()).ok(),
            Unit::Week => self.period0.checked_add((n * 7).days()).ok(),
            Unit::Month => self.period0.checked_add(n.months()).ok(),
        }
    }

    /// The `j`-th handoff of period `p` (periods count from 0 at the start's period).
    fn handoff(&self, p: i64, j: usize) -> Option<Timestamp> {
        let first = self.period_start(p)?;
        let pt = self.points[j];
        let date = match self.unit {
            Unit::Day | Unit::Week => first.checked_add(pt.day.days()).ok()?,
            Unit::Month => {
                let day = pt.day.min(i64::from(first.days_in_month())) as i8;
                Date::new(first.year(), first.month(), day).ok()?
            }
        };
        Some(instant(&self.tz, date.to_datetime(pt.time)))
    }

    fn period_of(&self, date: Date) -> i64 {
        let units = match self.unit {
            Unit::Day => days_between(self.period0, date),
            Unit::Week => days_between(self.period0, date).div_euclid(7),
            Unit::Month => {
                (i64::from(date.year()) * 12 + i64::from(date.month()))
                    - (i64::from(self.period0.year()) * 12 + i64::from(self.period0.month()))
            }
        };
        units.div_euclid(self.multiplier)
    }

    /// How many handoffs (from period 0 on) happen at or before `t`.
    fn count_le(&self, t: Timestamp) -> i64 {
        let h = self.points.len() as i64;
        let p = self.period_of(self.tz.to_datetime(t).date());
        if p < -1 {
            return 0;
        }
        // Periods before p - 1 are wholly before t and periods after p + 1 wholly after it; the
        // three around p are counted one by one, which stays right however DST bends a day.
        let mut count = (p - 1).max(0) * h;
        for q in (p - 1).max(0)..=p + 1 {
            for j in 0..self.points.len() {
                if self.handoff(q, j).is_some_and(|x| x <= t) {
                    count += 1;
                }
            }
        }
        count
    }

    /// The handoff with this ordinal (0-based, counted from period 0).
    fn handoff_at(&self, ordinal: i64) -> Option<Timestamp> {
        let h = self.points.len() as i64;
        self.handoff(ordinal.div_euclid(h), ordinal.rem_euclid(h) as usize)
    }

    /// The shift number at `t`, or `None` before the rotation starts.
    pub fn shift_number(&self, t: Timestamp) -> Option<u64> {
        (t >= self.start).then(|| (self.count_le(t) - self.skipped).max(0) as u64)
    }

    pub fn shift_bounds(&self, s: u64) -> (Timestamp, Timestamp) {
        let s = s as i64;
        let start = if s == 0 { self.start } else { self.handoff_at(self.skipped + s - 1).unwrap_or(Timestamp::MAX) };
        let end = self.handoff_at(self.skipped + s).unwrap_or(Timestamp::MAX);
        (start, end)
    }

    /// Who is on call in shift `s`, before coverage and overrides.
    pub fn shift_members(&self, s: u64) -> Vec<String> {
        let n = self.members.len() as u64;
        let k = self.on_calls as u64;
        (0..k).map(|i| self.members[((s * k + i) % n) as usize].clone()).collect()
    }

    /// The coverage windows of a local date, as instants.
    fn windows_of(&self, date: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let day = Day::of(date.weekday()).index();
        self.coverage[day].iter().filter_map(move |&(s, e)| {
            let at = |m: u32| -> Option<Timestamp> {
                let dt = if m == 24 * 60 {
                    date.checked_add(1.day()).ok()?.to_datetime(Time::midnight())
                } else {
                    date.to_datetime(Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).ok()?)
                };
                Some(instant(&self.tz, dt))
            };
            let (a, b) = (at(s)?, at(e)?);
            (b > a).then_some((a, b))
        })
    }

    /// Whether `t` is inside the rotation's coverage (always, when it has none).
    pub fn covered(&self, t: Timestamp) -> bool {
        if !self.has_coverage {
            return true;
        }
        let date = self.tz.to_datetime(t).date();
        [date.yesterday().ok(), Some(date), date.tomorrow().ok()]
            .into_iter()
            .flatten()
            .any(|d| self.windows_of(d).any(|(a, b)| a <= t && t < b))
    }

    /// Who is on call at `t`: an override's people during its window (the newest override wins),
    /// else nobody before the start or outside coverage, else the shift's members.
    pub fn on_call(&self, t: Timestamp, overrides: &[Override]) -> Vec<String> {
        if let Some(o) = winning_override(overrides, t) {
            return o.contacts.clone();
        }
        match self.shift_number(t) {
            Some(s) if self.covered(t) => self.shift_members(s),
            _ => Vec::new(),
        }
    }

    /// The shifts between `from` and `to`, cut to coverage, with overrides laid over them.
    pub fn shifts(&self, from: Timestamp, to: Timestamp, overrides: &[Override]) -> Result<Vec<Shift>, Invalid> {
        if to <= from {
            return Err(Invalid::new("to", "must be after from"));
        }
        let mut base = Vec::new();
        let lo = from.max(self.start);
        if lo < to {
            let mut s = self.shift_number(lo).unwrap_or(0);
            loop {
                let (a, b) = self.shift_bounds(s);
                if a >= to {
                    break;
                }
                let (a, b) = (a.max(lo), b.min(to));
                if b > a {
                    base.push(Shift {
                        start: a,
                        end: b,
                        contacts: self.shift_members(s),
                        overridden: false,
                        override_id: None,
                        shift_number: Some(s),
                    });
                    if base.len() > MAX_SHIFTS {
                        return Err(Invalid::new(
                            "to",
                            format!("the range holds more than {MAX_SHIFTS} shifts; ask for less"),
                        ));
                    }
                }
                s += 1;
            }
        }
        if self.has_coverage && !base.is_empty() {
            base = self.cut_to_coverage(base, lo, to)?;
        }
        Ok(lay_overrides(base, overrides, from, to))
    }

    fn cut_to_coverage(&self, base: Vec<Shift>, lo: Timestamp, to: Timestamp) -> Result<Vec<Shift>, Invalid> {
        let mut windows: Vec<(Timestamp, Timestamp)> = Vec::new();
        let mut date = self.tz.to_datetime(lo).date().yesterday().map_err(|e| Invalid::new("from", e.to_string()))?;
        let last = self.tz.to_datetime(to).date().tomorrow().map_err(|e| Invalid::new("to", e.to_string()))?;
        while date <= last {
            for (a, b) in self.windows_of(date) {
                let (a, b) = (a.max(lo), b.min(to));
                if b > a {
                    match windows.last_mut() {
                        Some(prev) if a <= prev.1 => prev.1 = prev.1.max(b),
                        _ => windows.push((a, b)),
                    }
                }
            }
            date = date.tomorrow().map_err(|e| Invalid::new("to", e.to_string()))?;
        }
        let mut out = Vec::new();
        let mut w = 0;
        for shift in base {
            while w < windows.len() && windows[w].1 <= shift.start {
                w += 1;
            }
            let mut i = w;
            while i < windows.len() && windows[i].0 < shift.end {
                let (a, b) = (windows[i].0.max(shift.start), windows[i].1.min(shift.end));
                if b > a {
                    out.push(Shift { start: a, end: b, ..shift.clone() });
                    if out.len() > MAX_SHIFTS {
                        return Err(Invalid::new(
                            "to",
                            format!("the range holds more than {MAX_SHIFTS} shifts; ask for less"),
                        ));
                    }
                }
                i += 1;
            }
        }
        Ok(out)
    }
}

fn days_between(a: Date, b: Date) -> i64 {
    b.duration_since(a).as_secs().div_euclid(86_400)
}

/// The override in force at `t`: of those whose window holds `t`, the newest.
fn winning_override(overrides: &[Override], t: Timestamp) -> Option<&Override> {
    overrides
        .iter()
        .filter(|o| o.start <= t && t < o.end)
        .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
}

/// Lays overrides over scheduled shifts within `[from, to)`: where an override is in force, its
/// people replace the schedule's, also before the start and outside coverage.
fn lay_overrides(base: Vec<Shift>, overrides: &[Override], from: Timestamp, to: Timestamp) -> Vec<Shift> {
    let relevant: Vec<&Override> = overrides.iter().filter(|o| o.start < to && o.end > from).collect();
    if relevant.is_empty() {
        return base;
    }
    let mut cuts: Vec<Timestamp> = vec![from, to];
    for o in &relevant {
        cuts.push(o.start.max(from));
        cuts.push(o.end.min(to));
    }
    for s in &base {
        cuts.push(s.start);
        cuts.push(s.end);
    }
    cuts.sort();
    cuts.dedup();
    let owned: Vec<Override> = relevant.iter().map(|o| (*o).clone()).collect();
    let mut out: Vec<Shift> = Vec::new();
    let mut b = 0;
    for pair in cuts.windows(2) {
        let (a, z) = (pair[0], pair[1]);
        let piece = match winning_override(&owned, a) {
            Some(o) => Some(Shift {
                start: a,
                end: z,
                contacts: o.contacts.clone(),
                overridden: true,
                override_id: Some(o.id.clone()),
                shift_number: None,
            }),
            None => {
                while b < base.len() && base[b].end <= a {
                    b += 1;
                }
                base.get(b).filter(|s| s.start <= a && z <= s.end).map(|s| Shift { start: a, end: z, ..s.clone() })
            }
        };
        if let Some(piece) = piece {
            match out.last_mut() {
                Some(prev)
                    if prev.end == piece.start
                        && prev.override_id == piece.override_id
                        && prev.shift_number == piece.shift_number
                        && prev.contacts == piece.contacts =>
                {
                    prev.end = piece.end
                }
                _ => out.push(piece),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
