//! The fuzz targets' paths (fuzz/fuzz_targets), driven in the normal test
//! suite by a bounded, deterministic mutation of the seeds: no input may
//! panic. The open-ended run is `cargo +nightly fuzz run <target>` (docs/performance.md).

use terway_guard::admission;
use terway_guard::config::{ConfigObject, manifest};
use terway_guard::rules::{Input, Operation, Settings};
use terway_guard::verdict;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = format!("{}/fuzz/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    out
}

/// xorshift: reproducible "random" edits.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

const SPICE: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\u0000",
    b"\\ud800",
    b"null",
    b"-1e999",
    b"18446744073709551616",
    b"\xff\xfe",
    b"#",
    b"vsw-",
    b"\n",
    b"\xe2\x80\xae",
    b"  ",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.next(4) {
        let at = rng.next(v.len() + 1);
        match rng.next(5) {
            0 if !v.is_empty() => v.truncate(at.min(v.len())),
            1 if at < v.len() => {
                v.remove(at);
            }
            2 => {
                let s = SPICE[rng.next(SPICE.len())];
                v.splice(at..at, s.iter().copied());
            }
            3 if at < v.len() => v[at] = rng.next(256) as u8,
            _ => {
                let end = (at + rng.next(64)).min(v.len());
                let chunk = v[at.min(end)..end].to_vec();
                v.splice(at..at, chunk);
            }
        }
    }
    v
}

fn eni_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cm = ConfigObject {
        name: "eni-config".into(),
        data: [("eni_conf".to_string(), text.to_string())].into(),
        ..Default::default()
    };
    let old = ConfigObject {
        data: [(
            "eni_conf".to_string(),
            r#"{"vswitches": {"z": ["vsw-a"]}, "service_cidr": "172.16.0.0/16"}"#.to_string(),
        )]
        .into(),
        ..cm.clone()
    };
    let dynamic = ConfigObject {
        name: "big-pool".into(),
        ..cm.clone()
    };
    for (new, base) in [(&cm, None), (&dynamic, Some(&old))] {
        let v = verdict::judge(&Input {
            operation: Operation::Update,
            new: Some(new),
            old: Some(&old),
            base,
            facts: None,
            settings: &Settings::default(),
        });
        serde_json::to_string(&v).unwrap();
    }
}

fn configmap(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cm) = manifest::parse(text) {
        verdict::judge_objects(&cm, None, None, None, &Settings::default());
    }
}

fn review(data: &[u8]) {
    let settings = admission::Settings::default();
    let Ok(p) = admission::read(data, &settings, &admission::Memo::default()) else {
        return;
    };
    admission::validate(&p, None, None, &settings)
        .0
        .to_json(&p.request);
    admission::mutate(&p).0.to_json(&p.request);
    // The reference path must not panic either.
    if let Ok(req) = admission::reference::decode(data) {
        let p = admission::reference::prepare(req, &settings);
        let info = p.request.clone();
        admission::reference::to_review_json(
            admission::validate(&p, None, None, &settings).0,
            &info,
        );
    }
}

#[test]
fn mutated_seeds_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for (target, run) in [
        ("eni_conf", eni_conf as fn(&[u8])),
        ("configmap", configmap),
        ("admission_review", review),
    ] {
        let seeds = seeds(target);
        assert!(!seeds.is_empty(), "{target} has seeds");
        for i in 0..1500 {
            let input = mutate(&mut rng, &seeds[i % seeds.len()]);
            run(&input);
        }
    }
}

#[test]
fn pathological_inputs_never_panic() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let cases: Vec<String> = vec![
        String::new(),
        "\u{0}".repeat(64),
        deep(100_000),
        format!("{{\"vswitches\": {}}}", deep(10_000)),
        format!(
            "{{\"vswitches\": {{\"z\": [{}\"vsw-a\"]}}}}",
            "\"vsw-a\",".repeat(20_000)
        ),
        "{\"max_pool_size\": 1e999999}".into(),
        "{\"idle_ip_reclaim_after\": \"99999999999999999999h\"}".into(),
        "{\"service_cidr\": \"::/0,0.0.0.0/0\", \"vswitches\": {\"\u{202e}\": [\"vsw-\u{0}\"]}}"
            .into(),
        format!("{{\"eni_tags\": {{\"{}\": \"x\"}}}}", "k".repeat(100_000)),
    ];
    for c in &cases {
        eni_conf(c.as_bytes());
        configmap(c.as_bytes());
        review(c.as_bytes());
    }
}
