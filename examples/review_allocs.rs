//! Allocations per admission review, by phase: a deterministic companion to
//! `scripts/bench.sh`, whose req/s swing with the machine's neighbours.
//! Run: `cargo run --release --example review_allocs`.
//!
//! `--repeat N` also judges each review N more times, silently, to count
//! instructions per review with valgrind (as deterministic as allocations):
//! `valgrind --tool=callgrind target/release/examples/review_allocs --repeat 200`,
//! minus the same with `--repeat 0`, divided by 2 × 200. `--floor N` does
//! the same for the parse-and-echo floor's work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use terway_guard::admission::{self, Settings};
use terway_guard::inventory::StaticInventory;

struct Counting;
static CALLS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed unchanged to the system allocator; this only
// counts them.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(l.size() as u64, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(n as u64, Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn count<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let (c, b) = (CALLS.load(Relaxed), BYTES.load(Relaxed));
    let t = f();
    (t, CALLS.load(Relaxed) - c, BYTES.load(Relaxed) - b)
}

fn main() {
    let inv = StaticInventory::parse(include_str!("inventory.yaml")).expect("inventory");
    let settings = Settings::default();
    // As the server does: the stored config (every review's oldObject) is
    // read, parsed and judged once while its text stays the same.
    let memo = admission::Memo::default();
    let args: Vec<String> = std::env::args().collect();
    let (repeat, floor): (usize, bool) = match &args[1..] {
        [] => (0, false),
        [flag, n] if flag == "--repeat" || flag == "--floor" => {
            (n.parse().expect("N"), flag == "--floor")
        }
        _ => panic!("usage: review_allocs [--repeat N | --floor N]"),
    };
    println!(
        "| review | decode | eni_conf parses | query | facts | rules + response | encode | total | bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in ["denied", "allowed"] {
        let body = std::fs::read(format!(
            "{}/examples/review-{name}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("review");
        let (p, d, db) = count(|| admission::read(&body, &settings, &memo).expect("decode"));
        let (_, pa, pab) = count(|| {
            for o in p.new.iter().chain(p.old.as_deref()) {
                o.eni_conf();
            }
        });
        let (q, qn, qb) = count(|| admission::query(&p));
        let (facts, f, fb) = count(|| inv.snapshot(&q));
        let ((resp, _), v, vb) = count(|| admission::validate(&p, Some(&facts), None, &settings));
        let (_, e, eb) = count(|| resp.to_json(&p.request));
        // The floor's work, for comparison: parse into a Value, echo the uid.
        for _ in 0..repeat * usize::from(floor) {
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            let answer = serde_json::to_vec(&serde_json::json!({
                "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": v["request"]["uid"], "allowed": true}}));
            std::hint::black_box(answer.expect("json"));
        }
        for _ in 0..repeat * usize::from(!floor) {
            let p = admission::read(&body, &settings, &memo).expect("decode");
            let facts = inv.snapshot(&admission::query(&p));
            let (resp, _) = admission::validate(&p, Some(&facts), None, &settings);
            std::hint::black_box(resp.to_json(&p.request));
        }
        println!(
            "| {name} | {d} | {pa} | {qn} | {f} | {v} | {e} | {} | {} |",
            d + pa + qn + f + v + e,
            db + pab + qb + fb + vb + eb
        );
    }
}
