//! Muster's native YAML: sections, parameters and `${}` substitution.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muster_template::{Options, Source, plan_stack};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = Source { name: "muster.yaml".into(), content: text.into() };
    let params = Options { parameters: [("env".to_string(), "prod".to_string())].into(), skip_unsupported: false };
    let _ = plan_stack("fuzz", &[source], &params);
});
