//! The CloudFormation importer: any text (YAML or JSON, with intrinsics) becomes a plan or an
//! error naming a field.
#![no_main]
use libfuzzer_sys::fuzz_target;
use muster_template::{Options, Source, plan_stack};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = Source { name: "template.cfn.yaml".into(), content: text.into() };
    let _ = plan_stack("fuzz", &[source], &Options::default());
});
