//! Injected time. Production code asks a [`Clock`]; tests drive a [`ManualClock`] over simulated
//! days in milliseconds.

use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;

/// The source of "now" for everything that decides by time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock, truncated to milliseconds (the precision the store keeps).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate_ms(Timestamp::now())
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self { now: Mutex::new(truncate_ms(start)) }
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = truncate_ms(now.checked_add(by).unwrap_or(*now));
    }

    pub fn set(&self, at: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = truncate_ms(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Drops sub-millisecond precision so values round-trip through storage unchanged.
pub fn truncate_ms(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-03-08T00:00:00Z".parse().expect("valid timestamp");
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(SignedDuration::from_hours(49));
        assert_eq!(clock.now().to_string(), "2026-03-10T01:00:00Z");
    }
}
