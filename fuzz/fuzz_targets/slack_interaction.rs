//! Slack interactivity bodies (form-encoded, with a JSON payload).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = muster_core::interaction::parse_interaction(data);
});
