//! EventBridge patterns: a JSON array `[pattern, event]`; parsing must refuse or compile, and
//! matching must answer, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Array(pair)) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let (Some(pattern), event) = (pair.first(), pair.get(1)) else { return };
    if let Ok(p) = muster_core::pattern::EventPattern::parse(pattern) {
        let _ = p.matches(event.unwrap_or(&serde_json::Value::Null));
    }
});
