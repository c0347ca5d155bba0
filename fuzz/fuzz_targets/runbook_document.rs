//! Runbook documents: parsing, the script-safety check, and binding parameters.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(json) = muster_template::to_json(text) else { return };
    let Ok(doc) = muster_core::runbook::parse_document(&json) else { return };
    let _ = muster_core::runbook::check_script_safety(&doc);
    let _ = doc.unsupported_steps();
    let _ = muster_core::runbook::bind_parameters(&doc, &serde_json::Map::new());
});
