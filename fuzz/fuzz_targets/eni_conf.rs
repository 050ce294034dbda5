//! Any text as eni_conf: parsing, every rule, the mutation. Must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terway_guard::config::ConfigObject;
use terway_guard::rules::{Input, Operation, Settings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let cm = ConfigObject {
        name: "eni-config".into(),
        namespace: Some("kube-system".into()),
        data: [("eni_conf".to_string(), text.to_string())].into(),
        ..Default::default()
    };
    let old = ConfigObject { data: [("eni_conf".to_string(), r#"{"vswitches": {"z": ["vsw-a"]}, "service_cidr": "172.16.0.0/16"}"#.to_string())].into(), ..cm.clone() };
    let v = terway_guard::verdict::judge(&Input { operation: Operation::Update, new: Some(&cm), old: Some(&old), base: Some(&old), facts: None, settings: &Settings::default() });
    let _ = serde_json::to_string(&v);
});
