//! Per-key rate limits for what senders post: a fixed one-minute window per integration, on this
//! node. Past the limit a sender is answered 429 with the seconds until the window ends.

use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

/// Alerts a minute an integration may send when it sets no rate of its own.
pub const DEFAULT_PER_MINUTE: u32 = 600;

#[derive(Default)]
pub struct Limiter {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl Limiter {
    /// Takes `n` from the key's allowance for the minute of `now`, or answers the seconds to wait.
    pub fn take(&self, key: &str, per_minute: u32, n: u32, now: Timestamp) -> Result<(), u64> {
        let minute = now.as_second().div_euclid(60);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(key.to_string()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1.saturating_add(n) > per_minute {
            let retry = 60 - now.as_second().rem_euclid(60);
            return Err(retry.max(1) as u64);
        }
        entry.1 += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_rate_per_minute() {
        let l = Limiter::default();
        let t: Timestamp = "2026-11-30T08:00:10Z".parse().expect("valid");
        assert!(l.take("a", 3, 2, t).is_ok());
        assert!(l.take("a", 3, 1, t).is_ok());
        assert_eq!(l.take("a", 3, 1, t), Err(50));
        assert!(l.take("b", 3, 1, t).is_ok(), "keys are separate");
        let next: Timestamp = "2026-11-30T08:01:00Z".parse().expect("valid");
        assert!(l.take("a", 3, 3, next).is_ok(), "a new minute, a new allowance");
    }
}
