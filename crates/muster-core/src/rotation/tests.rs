use super::*;
use jiff::SignedDuration;
use proptest::prelude::*;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

fn hm(s: &str) -> HandOff {
    s.parse().expect("valid time")
}

fn daily(zone: &str, start: &str, times: &[&str], members: &[&str]) -> RotationSpec {
    RotationSpec {
        name: "r".into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        start: ts(start),
        time_zone: zone.into(),
        recurrence: Recurrence::Daily(times.iter().map(|t| hm(t)).collect()),
        recurrence_multiplier: 1,
        number_of_on_calls: 1,
        coverage: BTreeMap::new(),
    }
}

fn handoffs_between(s: &Schedule, from: &str, to: &str) -> Vec<Timestamp> {
    s.shifts(ts(from), ts(to), &[]).expect("shifts").iter().skip(1).map(|x| x.start).collect()
}

#[test]
fn rome_hands_off_at_nine_local_across_spring_forward() {
    let s = daily("Europe/Rome", "2026-03-20T08:00:00Z", &["09:00"], &["ann", "bob"]).schedule().expect("valid");
    let got = handoffs_between(&s, "2026-03-27T12:00:00Z", "2026-03-31T12:00:00Z");
    // 09:00 CET is 08:00Z; from 29 March 09:00 CEST is 07:00Z.
    assert_eq!(
        got,
        [
            ts("2026-03-28T08:00:00Z"),
            ts("2026-03-29T07:00:00Z"),
            ts("2026-03-30T07:00:00Z"),
            ts("2026-03-31T07:00:00Z")
        ]
    );
    for t in &got {
        assert_eq!(s.time_zone().to_datetime(*t).time(), Time::constant(9, 0, 0, 0));
    }
    // The shift that spans the change is 23 hours long, and nobody is on call twice in a row.
    let shifts = s.shifts(ts("2026-03-28T08:00:00Z"), ts("2026-03-30T07:00:00Z"), &[]).expect("shifts");
    assert_eq!(shifts[0].end.duration_since(shifts[0].start), SignedDuration::from_hours(23));
    assert_ne!(shifts[0].contacts, shifts[1].contacts);
}

#[test]
fn new_york_half_past_two_on_the_spring_forward_day_is_three() {
    let s =
        daily("America/New_York", "2026-03-01T12:00:00Z", &["02:30"], &["ann", "bob", "cy"]).schedule().expect("valid");
    let got = handoffs_between(&s, "2026-03-06T12:00:00Z", "2026-03-09T12:00:00Z");
    // 7 March 02:30 EST = 07:30Z; 8 March 02:30 does not exist: the gap ends at 03:00 EDT = 07:00Z;
    // 9 March 02:30 EDT = 06:30Z.
    assert_eq!(got, [ts("2026-03-07T07:30:00Z"), ts("2026-03-08T07:00:00Z"), ts("2026-03-09T06:30:00Z")]);
    // Fall back: 01:30 on 1 November happens twice; the handoff takes the first (EDT, 05:30Z).
    let s = daily("America/New_York", "2026-10-25T12:00:00Z", &["01:30"], &["ann", "bob"]).schedule().expect("valid");
    let got = handoffs_between(&s, "2026-10-31T00:00:00Z", "2026-11-02T12:00:00Z");
    assert_eq!(got, [ts("2026-10-31T05:30:00Z"), ts("2026-11-01T05:30:00Z"), ts("2026-11-02T06:30:00Z")]);
    let shifts = s.shifts(ts("2026-11-01T05:30:00Z"), ts("2026-11-02T06:30:00Z"), &[]).expect("shifts");
    assert_eq!(shifts.len(), 1);
    assert_eq!(shifts[0].end.duration_since(shifts[0].start), SignedDuration::from_hours(25));
}

#[test]
fn lord_howe_half_hour_shift() {
    // Lord Howe Island moves its clocks by 30 minutes: +11:00 in summer, +10:30 in winter.
    let s =
        daily("Australia/Lord_Howe", "2026-03-25T00:00:00Z", &["01:45"], &["ann", "bob"]).schedule().expect("valid");
    let got = handoffs_between(&s, "2026-04-03T00:00:00Z", "2026-04-06T00:00:00Z");
    // 4 April 01:45 +11:00 = 3 April 14:45Z; 5 April 01:45 occurs twice (clocks go 02:00 → 01:30), the
    // first at +11:00 = 4 April 14:45Z; 6 April 01:45 +10:30 = 5 April 15:15Z.
    assert_eq!(got, [ts("2026-04-03T14:45:00Z"), ts("2026-04-04T14:45:00Z"), ts("2026-04-05T15:15:00Z")]);
    let s =
        daily("Australia/Lord_Howe", "2026-09-25T00:00:00Z", &["02:15"], &["ann", "bob"]).schedule().expect("valid");
    let got = handoffs_between(&s, "2026-10-02T00:00:00Z", "2026-10-05T00:00:00Z");
    // 3 October 02:15 +10:30 = 2 October 15:45Z; 4 October 02:15 falls in the 02:00-02:30 gap, which
    // ends at 02:30 +11:00 = 3 October 15:30Z; 5 October 02:15 +11:00 = 4 October 15:15Z.
    assert_eq!(got, [ts("2026-10-02T15:45:00Z"), ts("2026-10-03T15:30:00Z"), ts("2026-10-04T15:15:00Z")]);
}

#[test]
fn kolkata_has_no_dst() {
    let s = daily("Asia/Kolkata", "2026-01-01T00:00:00Z", &["10:00"], &["ann", "bob"]).schedule().expect("valid");
    let shifts = s.shifts(ts("2026-01-02T00:00:00Z"), ts("2026-12-30T00:00:00Z"), &[]).expect("shifts");
    for w in shifts.windows(2).skip(1) {
        assert_eq!(w[0].end.duration_since(w[0].start), SignedDuration::from_hours(24));
    }
}

fn weekday_cover(spec: &mut RotationSpec) {
    for d in [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri] {
        spec.coverage.insert(d, vec![CoverageWindow { start: hm("09:00"), end: hm("17:00") }]);
    }
}

#[test]
fn weekday_business_hours_leave_saturday_uncovered() {
    let mut spec = daily("Europe/Rome", "2026-11-02T08:00:00Z", &["09:00"], &["ann", "bob"]);
    spec.recurrence = Recurrence::Weekly(vec![WeeklyHandOff { day: Day::Mon, at: hm("09:00") }]);
    weekday_cover(&mut spec);
    let s = spec.schedule().expect("valid");
    // Saturday 28 November, all day.
    let mut t = ts("2026-11-27T23:00:00Z");
    while t < ts("2026-11-28T23:00:00Z") {
        assert!(s.on_call(t, &[]).is_empty(), "nobody on Saturday, but {t} has someone");
        t += SignedDuration::from_mins(15);
    }
    assert_eq!(s.on_call(ts("2026-11-27T10:00:00Z"), &[]), ["bob"], "Friday 11:00 in the fourth week");
    assert!(s.on_call(ts("2026-11-27T16:00:00Z"), &[]).is_empty(), "Friday 17:00 is past coverage");
    let week = s.shifts(ts("2026-11-23T00:00:00Z"), ts("2026-11-30T00:00:00Z"), &[]).expect("shifts");
    assert_eq!(week.len(), 5, "one stretch a weekday: {week:?}");
    assert!(week.iter().all(|x| x.end.duration_since(x.start) == SignedDuration::from_hours(8)));
}

#[test]
fn overrides_win_for_exactly_their_window() {
    let s = daily("Europe/Rome", "2026-11-01T08:00:00Z", &["09:00"], &["ann", "bob"]).schedule().expect("valid");
    let o = Override {
        id: "o1".into(),
        contacts: vec!["cy".into()],
        start: ts("2026-11-10T12:00:00Z"),
        end: ts("2026-11-10T14:00:00Z"),
        created_at: ts("2026-11-09T00:00:00Z"),
        created_by: "ann".into(),
    };
    let os = [o];
    let before = s.on_call(ts("2026-11-10T11:59:59Z"), &os);
    assert_eq!(s.on_call(ts("2026-11-10T12:00:00Z"), &os), ["cy"]);
    assert_eq!(s.on_call(ts("2026-11-10T13:59:59Z"), &os), ["cy"]);
    assert_eq!(s.on_call(ts("2026-11-10T14:00:00Z"), &os), before);
    let shifts = s.shifts(ts("2026-11-10T08:00:00Z"), ts("2026-11-11T08:00:00Z"), &os).expect("shifts");
    let kinds: Vec<(bool, Vec<String>)> = shifts.iter().map(|x| (x.overridden, x.contacts.clone())).collect();
    assert_eq!(kinds, [(false, before.clone()), (true, vec!["cy".to_string()]), (false, before)]);
    assert_eq!(shifts[1].start, ts("2026-11-10T12:00:00Z"));
    assert_eq!(shifts[1].end, ts("2026-11-10T14:00:00Z"));
}

#[test]
fn several_on_call_and_multipliers() {
    let mut spec = daily("UTC", "2026-01-01T00:00:00Z", &["00:00"], &["a", "b", "c", "d", "e"]);
    spec.number_of_on_calls = 2;
    spec.recurrence_multiplier = 3;
    let s = spec.schedule().expect("valid");
    assert_eq!(s.on_call(ts("2026-01-01T00:00:00Z"), &[]), ["a", "b"]);
    assert_eq!(s.on_call(ts("2026-01-03T23:59:59Z"), &[]), ["a", "b"]);
    assert_eq!(s.on_call(ts("2026-01-04T00:00:00Z"), &[]), ["c", "d"]);
    assert_eq!(s.on_call(ts("2026-01-07T00:00:00Z"), &[]), ["e", "a"]);
    assert!(s.on_call(ts("2025-12-31T23:59:59Z"), &[]).is_empty(), "nobody before the start");
}

#[test]
fn monthly_handoffs_clamp_to_short_months() {
    let mut spec = daily("Europe/Rome", "2026-01-01T00:00:00Z", &["09:00"], &["a", "b"]);
    spec.recurrence = Recurrence::Monthly(vec![MonthlyHandOff { day: 31, at: hm("09:00") }]);
    let s = spec.schedule().expect("valid");
    let got = handoffs_between(&s, "2026-01-15T00:00:00Z", "2026-05-15T00:00:00Z");
    assert_eq!(
        got,
        [
            ts("2026-01-31T08:00:00Z"),
            ts("2026-02-28T08:00:00Z"),
            ts("2026-03-31T07:00:00Z"),
            ts("2026-04-30T07:00:00Z")
        ]
    );
}

#[test]
fn bad_specs_name_the_field() {
    let base = daily("Europe/Rome", "2026-01-01T00:00:00Z", &["09:00"], &["a", "b"]);
    let field = |f: fn(&mut RotationSpec)| {
        let mut spec = base.clone();
        f(&mut spec);
        spec.validate().expect_err("invalid").field
    };
    assert_eq!(field(|s| s.time_zone = "Mars/Olympus".into()), "timeZone");
    assert_eq!(field(|s| s.members.clear()), "members");
    assert_eq!(field(|s| s.members.push("a".into())), "members[2]");
    assert_eq!(field(|s| s.number_of_on_calls = 3), "numberOfOnCalls");
    assert_eq!(field(|s| s.recurrence_multiplier = 0), "recurrenceMultiplier");
    assert_eq!(field(|s| s.recurrence = Recurrence::Daily(vec![])), "recurrence");
    assert_eq!(
        field(|s| {
            s.coverage.insert(
                Day::Tue,
                vec![CoverageWindow { start: "17:00".parse().expect("t"), end: "09:00".parse().expect("t") }],
            );
        }),
        "coverage.TUE[0]"
    );
    assert!("24:00".parse::<HandOff>().is_err());
    assert!("9:5".parse::<HandOff>().is_err());
    assert_eq!("9:05".parse::<HandOff>().expect("valid").to_string(), "09:05");
    assert_eq!("friday".parse::<Day>().expect("valid"), Day::Fri);
}

const ZONES: &[&str] = &["Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"];
const TIMES: &[&str] = &["00:00", "01:30", "02:00", "02:15", "02:30", "03:00", "09:00", "23:30"];

fn arb_spec() -> impl Strategy<Value = RotationSpec> {
    (
        0..ZONES.len(),
        0..3usize,
        proptest::collection::btree_set(0..TIMES.len(), 1..3),
        proptest::collection::btree_set(0..7usize, 1..3),
        1u32..4,
        1usize..5,
        1u32..4,
        any::<bool>(),
        0i64..400,
    )
        .prop_map(|(zone, kind, times, days, mult, n, k, cover, start_day)| {
            let members: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
            let at: Vec<HandOff> = times.iter().map(|i| hm(TIMES[*i])).collect();
            let recurrence = match kind {
                0 => Recurrence::Daily(at.clone()),
                1 => Recurrence::Weekly(
                    days.iter()
                        .flat_map(|d| at.iter().map(move |a| WeeklyHandOff { day: Day::ALL[*d], at: *a }))
                        .collect(),
                ),
                _ => Recurrence::Monthly(
                    days.iter().map(|d| MonthlyHandOff { day: (*d as u8) * 5 + 1, at: at[0] }).collect(),
                ),
            };
            let mut coverage = BTreeMap::new();
            if cover {
                for d in &days {
                    coverage.insert(
                        Day::ALL[*d],
                        vec![
                            CoverageWindow { start: hm("01:00"), end: hm("02:45") },
                            CoverageWindow { start: hm("09:00"), end: hm("00:00") },
                        ],
                    );
                }
            }
            RotationSpec {
                name: "p".into(),
                members,
                start: ts("2025-10-01T00:00:00Z") + SignedDuration::from_hours(24 * start_day + 7),
                time_zone: ZONES[zone].into(),
                recurrence,
                recurrence_multiplier: mult,
                number_of_on_calls: k.min(n as u32),
                coverage,
            }
        })
}

fn arb_overrides() -> impl Strategy<Value = Vec<Override>> {
    proptest::collection::vec((0i64..60 * 24 * 60, 1i64..3 * 24 * 60, 0usize..3), 0..4).prop_map(|os| {
        os.into_iter()
            .enumerate()
            .map(|(i, (at, len, who))| Override {
                id: format!("o{i}"),
                contacts: vec![format!("x{who}")],
                start: ts("2026-03-01T00:00:00Z") + SignedDuration::from_mins(at),
                end: ts("2026-03-01T00:00:00Z") + SignedDuration::from_mins(at + len),
                created_at: ts("2026-01-01T00:00:00Z") + SignedDuration::from_secs(i as i64),
                created_by: "t".into(),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Shifts tile time, agree with the point query everywhere, hold exactly the configured
    /// number of people inside coverage and nobody outside, and overrides win exactly in their window.
    #[test]
    fn shifts_tile_time_and_agree_with_on_call(spec in arb_spec(), overrides in arb_overrides(), probes in proptest::collection::vec(0i64..70 * 24 * 3600, 40)) {
        let s = spec.schedule().expect("generated specs are valid");
        // Around both DST changes of both hemispheres' springs.
        let from = ts("2026-02-25T00:00:00Z");
        let to = ts("2026-05-05T00:00:00Z");
        let shifts = s.shifts(from, to, &overrides).expect("shifts");
        for w in shifts.windows(2) {
            prop_assert!(w[0].end <= w[1].start, "sorted and disjoint: {:?}", w);
        }
        for x in &shifts {
            prop_assert!(x.start < x.end && from <= x.start && x.end <= to);
        }
        let bare = s.shifts(from, to, &[]).expect("shifts");
        if spec.coverage.is_empty() {
            let lo = from.max(spec.start);
            if lo < to {
                prop_assert_eq!(bare.first().map(|x| x.start), Some(lo));
                prop_assert_eq!(bare.last().map(|x| x.end), Some(to));
                for w in bare.windows(2) {
                    prop_assert_eq!(w[0].end, w[1].start, "no gap");
                }
            }
        }
        let mut instants: Vec<Timestamp> = probes.iter().map(|p| from + SignedDuration::from_secs(*p)).filter(|t| *t < to).collect();
        for x in &shifts {
            instants.push(x.start);
            instants.push(x.end - SignedDuration::from_nanos(1));
        }
        for t in instants {
            let expected = shifts.iter().find(|x| x.start <= t && t < x.end).map(|x| x.contacts.clone()).unwrap_or_default();
            let got = s.on_call(t, &overrides);
            prop_assert_eq!(&got, &expected, "at {}", t);
            let overridden = overrides.iter().any(|o| o.start <= t && t < o.end);
            if overridden {
                prop_assert!(got[0].starts_with('x'), "an override wins in its window");
            } else if t >= spec.start && s.covered(t) {
                prop_assert_eq!(got.len(), spec.number_of_on_calls as usize);
            } else {
                prop_assert!(got.is_empty(), "nobody outside coverage or before the start");
            }
        }
    }
}
