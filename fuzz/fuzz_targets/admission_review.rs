//! Any bytes as an AdmissionReview body: decode, validate, mutate. Must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terway_guard::admission;

fuzz_target!(|data: &[u8]| {
    let settings = admission::Settings::default();
    let Ok(req) = admission::decode(data) else { return };
    let p = admission::prepare(req, &settings);
    let (v, _) = admission::validate(&p, None, None, &settings);
    let (m, _) = admission::mutate(&p);
    let _ = admission::to_review_json(v);
    let _ = admission::to_review_json(m);
});
