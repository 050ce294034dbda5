//! Any bytes as an AdmissionReview body: decode, validate, mutate. Must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terway_guard::admission;

fuzz_target!(|data: &[u8]| {
    let settings = admission::Settings::default();
    let Ok(p) = admission::read(data, &settings, &admission::Memo::default()) else { return };
    let (v, _) = admission::validate(&p, None, None, &settings);
    let (m, _) = admission::mutate(&p);
    let _ = v.to_json(&p.request);
    let _ = m.to_json(&p.request);
});
