//! Any text as a ConfigMap manifest (YAML or JSON). Must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cm) = terway_guard::config::manifest::parse(text) {
        let _ = terway_guard::verdict::judge_objects(&cm, None, None, None, &terway_guard::rules::Settings::default());
    }
});
