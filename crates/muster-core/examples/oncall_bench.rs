//! On-call benchmarks: `cargo run --release -p muster-core --example oncall_bench`.
//! Prints a table of median timings; nothing here is asserted.

use jiff::{SignedDuration, Timestamp};
use muster_core::rotation::{
    CoverageWindow, Day, MonthlyHandOff, Override, Recurrence, RotationSpec, Schedule, WeeklyHandOff,
};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const ZONES: &[&str] =
    &["Europe/Rome", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC", "America/Los_Angeles"];

fn spec(i: usize) -> RotationSpec {
    let at = format!("{:02}:{:02}", i % 24, (i * 7) % 60).parse().expect("time");
    let recurrence = match i % 3 {
        0 => Recurrence::Daily(vec![at]),
        1 => Recurrence::Weekly(vec![WeeklyHandOff { day: Day::ALL[i % 7], at }]),
        _ => Recurrence::Monthly(vec![MonthlyHandOff { day: (i % 28 + 1) as u8, at }]),
    };
    let mut coverage = BTreeMap::new();
    if i.is_multiple_of(2) {
        for d in [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri] {
            coverage.insert(
                d,
                vec![CoverageWindow { start: "09:00".parse().expect("t"), end: "17:00".parse().expect("t") }],
            );
        }
    }
    RotationSpec {
        name: format!("r{i}"),
        members: (0..(i % 8 + 2)).map(|m| format!("m{m}")).collect(),
        start: "2024-01-01T00:00:00Z".parse::<Timestamp>().expect("valid")
            + SignedDuration::from_hours((i % 500) as i64),
        time_zone: ZONES[i % ZONES.len()].into(),
        recurrence,
        recurrence_multiplier: (i % 3 + 1) as u32,
        number_of_on_calls: 1,
        coverage,
    }
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let at: Timestamp = "2026-11-23T10:00:00Z".parse().expect("valid");
    let specs: Vec<RotationSpec> = (0..10_000).map(spec).collect();
    let schedules: Vec<Schedule> = specs.iter().map(|s| s.schedule().expect("valid")).collect();

    let who = median(
        || {
            for s in &schedules {
                black_box(s.on_call(at, &[]));
            }
        },
        21,
    );
    let compile_and_who = median(
        || {
            for sp in &specs {
                black_box(sp.schedule().expect("valid").on_call(at, &[]));
            }
        },
        11,
    );

    let mut weekly = spec(1);
    weekly.recurrence = Recurrence::Weekly(vec![WeeklyHandOff { day: Day::Mon, at: "09:00".parse().expect("t") }]);
    for d in [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri] {
        weekly
            .coverage
            .insert(d, vec![CoverageWindow { start: "09:00".parse().expect("t"), end: "17:00".parse().expect("t") }]);
    }
    weekly.time_zone = "Europe/Rome".into();
    let schedule = weekly.schedule().expect("valid");
    let year_from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid");
    let year_to = year_from + SignedDuration::from_hours(24 * 365);
    let overrides: Vec<Override> = (0..24)
        .map(|i| Override {
            id: format!("o{i}"),
            contacts: vec!["cover".into()],
            start: year_from + SignedDuration::from_hours(24 * 15 * i + 10),
            end: year_from + SignedDuration::from_hours(24 * 15 * i + 14),
            created_at: year_from,
            created_by: "bench".into(),
        })
        .collect();
    let mut count = 0;
    let year = median(
        || {
            let shifts = schedule.shifts(year_from, year_to, &overrides).expect("shifts");
            count = shifts.len();
            black_box(shifts);
        },
        51,
    );

    println!("| measure | median | target |");
    println!("|---|---|---|");
    println!("| who is on call, 10,000 rotations at one instant | {:.2} ms | < 10 ms |", who.as_secs_f64() * 1e3);
    println!(
        "| the same, compiling each rotation from its spec first | {:.2} ms | |",
        compile_and_who.as_secs_f64() * 1e3
    );
    println!(
        "| a year of shifts, weekly rotation, weekday coverage, 24 overrides ({count} shifts) | {:.2} ms | < 5 ms |",
        year.as_secs_f64() * 1e3
    );
}
